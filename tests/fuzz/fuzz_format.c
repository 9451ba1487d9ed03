/*
 * tests/fuzz/fuzz_format.c - format.json, as ds_open reads it from a disk
 * directory: the input is written as the only disk's format.json in a
 * scratch directory per process, and the disk set opened. Whatever opens
 * must describe a layout the engine can use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/ds.h"
#include "tests/fuzz/fuzz.h"

static char dir[256], file[300];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/coffer-fuzz-format-%d",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
        mkdir(dir, 0700);
        snprintf(file, sizeof file, "%s/format.json", dir);
    }
    FILE *f = fopen(file, "w");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    const char *paths[1] = {dir};
    ds_set set;
    cf_err err;
    memset(&set, 0, sizeof set);
    if (ds_open(&set, paths, 1, 0, 0, 0, &err) == 0) {
        FUZZ_ASSERT(set.n == 1 && set.k >= 1 && set.k + set.m == set.n);
        FUZZ_ASSERT(set.block_size >= 4096);
        ds_close(&set);
    }
    return 0;
}
