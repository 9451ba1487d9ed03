/*
 * contrib/bench/bench_tree.c - bench-tree DIR NFILES BYTES [SEED]: the
 * file tree make bench backs up with restic and copies with rclone.
 *
 * NFILES files totalling exactly BYTES, of exponentially distributed sizes
 * (many small, a few large; every 97th empty), spread over 7 x 13 nested
 * directories as tests/integration/lib.sh's it_gen_tree spreads them, with
 * the content of each file its own stream of the seeded generator
 * (measure.h): incompressible, and no two files or chunks alike, so
 * neither compression nor restic's deduplication shortens the work. The
 * same SEED gives the same tree. It writes at the disk's speed (Python's
 * generator would take longer than the backup being measured).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contrib/bench/measure.h"

#define BUF (1u << 20)

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int mkdirs(const char *root, uint64_t i, char *dir, size_t dirsz)
{
    snprintf(dir, dirsz, "%s/d%llu", root, (unsigned long long)(i % 7));
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return -1;
    size_t n = strlen(dir);
    snprintf(dir + n, dirsz - n, "/e%llu", (unsigned long long)(i % 13));
    return mkdir(dir, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static int write_file(const char *path, uint64_t size, uint64_t seed, uint8_t *buf)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    for (uint64_t off = 0, part = 0; off < size; part++) {
        size_t n = size - off < BUF ? (size_t)(size - off) : BUF;
        bm_fill(seed * 1000003u + part, buf, n);
        for (size_t done = 0; done < n;) {
            ssize_t w = write(fd, buf + done, n - done);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                close(fd);
                return -1;
            }
            done += (size_t)w;
        }
        off += n;
    }
    return close(fd);
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: bench-tree DIR NFILES BYTES [SEED]\n");
        return 2;
    }
    const char *root = argv[1];
    uint64_t nfiles = strtoull(argv[2], NULL, 10), total = strtoull(argv[3], NULL, 10);
    uint64_t seed = argc == 5 ? strtoull(argv[4], NULL, 10) : 1, rng = seed;
    if (nfiles == 0 || nfiles > 10000000) {
        fprintf(stderr, "bench-tree: NFILES must be 1 .. 10000000\n");
        return 2;
    }
    double *w = calloc(nfiles, sizeof *w);
    uint64_t *size = calloc(nfiles, sizeof *size);
    uint8_t *buf = malloc(BUF);
    if (!w || !size || !buf) {
        fprintf(stderr, "bench-tree: out of memory\n");
        return 1;
    }
    double sum = 0;
    for (uint64_t i = 0; i < nfiles; i++) {
        double u = ((double)(next(&rng) >> 11) + 0.5) / 9007199254740992.0;
        w[i] = i % 97 == 0 ? 0 : -log(u);
        sum += w[i];
    }
    uint64_t given = 0, big = 0;
    for (uint64_t i = 0; i < nfiles; i++) {
        size[i] = sum > 0 ? (uint64_t)(w[i] / sum * (double)total) : 0;
        given += size[i];
        if (size[i] > size[big])
            big = i;
    }
    size[big] += total - given;      /* rounding: the sizes add up exactly */
    if (mkdir(root, 0755) != 0 && errno != EEXIST) {
        perror(root);
        return 1;
    }
    for (uint64_t i = 0; i < nfiles; i++) {
        char dir[PATH_MAX], path[PATH_MAX + 32];
        if (mkdirs(root, i, dir, sizeof dir - 8) < 0) {
            perror(dir);
            return 1;
        }
        snprintf(path, sizeof path, "%s/file-%05llu.bin", dir, (unsigned long long)i);
        if (write_file(path, size[i], seed * 0x100000000ULL + i, buf) < 0) {
            perror(path);
            return 1;
        }
    }
    free(w);
    free(size);
    free(buf);
    return 0;
}
