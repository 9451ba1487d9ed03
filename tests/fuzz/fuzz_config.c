/*
 * tests/fuzz/fuzz_config.c - the configuration loader (jansson plus every
 * typed getter and section check of server/config.c) on arbitrary files:
 * it must refuse or accept, never crash, and what it accepts must be in
 * range. The input is written to one scratch file per process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"
#include "tests/fuzz/fuzz.h"

static char path[256];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        snprintf(path, sizeof path, "%s/coffer-fuzz-config-%d.json",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
        unsetenv("COFFER_MASTER_KEY");
    }
    FILE *f = fopen(path, "w");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    coffer_config cfg;
    cf_err err;
    if (config_load(path, &cfg, &err) == 0) {
        FUZZ_ASSERT(cfg.port >= 1 && cfg.port <= 65535);
        FUZZ_ASSERT(cfg.storage.ndisks >= 1 && cfg.storage.ndisks <= ST_MAX_DISKS);
        FUZZ_ASSERT(cfg.header_timeout_s >= 1 && cfg.max_connections_per_ip >= 1);
        config_free(&cfg);
    }
    return 0;
}
