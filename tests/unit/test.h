/*
 * tests/unit/test.h - the unit-test harness: one executable per module,
 * each a list of test functions run by TEST_MAIN. A failed CHECK prints the
 * file, line and expression and marks the current test failed; the run ends
 * with "N passed, N failed" and exits non-zero if anything failed (automake
 * then reports the program as FAIL).
 *
 * Helpers for tests that need scratch space: test_tmpdir() makes a fresh
 * directory under $TMPDIR (removed at exit unless KEEP_TMP is set).
 */
#ifndef TEST_H
#define TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int test_current_failed;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                      \
            test_current_failed = 1;                                       \
        }                                                                  \
    } while (0)

/* Stop the current test function if cond is false. */
#define REQUIRE(cond)                                                      \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__,       \
                    __LINE__, #cond);                                      \
            test_current_failed = 1;                                       \
            return;                                                        \
        }                                                                  \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                 \
    do {                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                \
        if (a_ != b_) {                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", \
                    __FILE__, __LINE__, #a, #b, a_, b_);                   \
            test_current_failed = 1;                                       \
        }                                                                  \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                 \
    do {                                                                   \
        const char *a_ = (a), *b_ = (b);                                   \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", \
                    __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)",        \
                    b_ ? b_ : "(null)");                                   \
            test_current_failed = 1;                                       \
        }                                                                  \
    } while (0)

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

int test_run_all(const char *suite, const test_case *cases, size_t n, int argc,
                 char **argv);
/* A fresh scratch directory (static buffer valid until the next call). */
const char *test_tmpdir(void);
/* Fill buf with deterministic pseudo-random bytes from seed. */
void test_fill_random(void *buf, size_t n, unsigned long long seed);
/* Run a shell command made like printf's; its system() status. */
int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define TEST_MAIN(suite, ...)                                              \
    int main(int argc, char **argv)                                        \
    {                                                                      \
        static const test_case cases_[] = {__VA_ARGS__};                   \
        return test_run_all(suite, cases_, sizeof cases_ / sizeof cases_[0], \
                            argc, argv);                                   \
    }
#define T(fn) {#fn, fn}

#endif
