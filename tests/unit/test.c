/*
 * tests/unit/test.c - runner for the unit tests (see test.h). A test name
 * given on the command line runs only the tests whose names contain it.
 */
#include "tests/unit/test.h"

#include <ftw.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdint.h>
#include <unistd.h>

int test_current_failed;

static char tmp_root[512];

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

static void remove_tmp_root(void)
{
    if (tmp_root[0] && !getenv("KEEP_TMP"))
        nftw(tmp_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *test_tmpdir(void)
{
    static char dir[600];
    static unsigned counter;
    if (!tmp_root[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmp_root, sizeof tmp_root, "%s/coffer-test-XXXXXX",
                 base && *base ? base : "/tmp");
        if (!mkdtemp(tmp_root)) {
            perror("mkdtemp");
            exit(2);
        }
        atexit(remove_tmp_root);
    }
    snprintf(dir, sizeof dir, "%s/%u", tmp_root, counter++);
    if (mkdir(dir, 0700) != 0) {
        perror("mkdir");
        exit(2);
    }
    return dir;
}

void test_fill_random(void *buf, size_t n, unsigned long long seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
    uint8_t *p = buf;
    while (n >= 8) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        memcpy(p, &x, 8);
        p += 8; n -= 8;
    }
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    memcpy(p, &x, n);
}

int test_sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

int test_run_all(const char *suite, const test_case *cases, size_t n, int argc,
                 char **argv)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (argc > 1 && !strstr(cases[i].name, argv[1]))
            continue;
        test_current_failed = 0;
        cases[i].fn();
        printf("%s %s/%s\n", test_current_failed ? "FAIL" : "ok  ", suite,
               cases[i].name);
        fflush(stdout);
        if (test_current_failed)
            failed++;
        else
            passed++;
    }
    printf("%s: %d passed, %d failed\n", suite, passed, failed);
    return failed ? 1 : 0;
}
