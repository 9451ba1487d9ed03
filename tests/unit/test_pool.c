/* tests/unit/test_pool.c - per-request memory (pool) and growable buffers
 * (sbuf): alignment, zeroing, large blocks, limits and the sticky failure
 * flag. Run under ASan, this also proves pool_free releases everything. */
#include <stdint.h>

#include "server/pool.h"
#include "server/sbuf.h"
#include "tests/unit/test.h"

static void pool_allocations(void)
{
    pool *p = pool_new();
    REQUIRE(p);
    for (int i = 0; i < 2000; i++) {
        unsigned char *x = pool_alloc(p, (size_t)(i % 97) + 1);
        REQUIRE(x);
        CHECK_EQ_INT((uintptr_t)x % 16, 0);
        CHECK_EQ_INT(x[0], 0);
        x[0] = 0xAA;
    }
    unsigned char *big = pool_alloc(p, 1 << 20);
    REQUIRE(big);
    CHECK_EQ_INT(big[(1 << 20) - 1], 0);
    CHECK(pool_alloc(p, SIZE_MAX - 3) == NULL);
    CHECK_EQ_STR(pool_strndup(p, "abcdef", 3), "abc");
    CHECK_EQ_STR(pool_printf(p, "%s-%d", "k", 42), "k-42");
    pool_free(p);
    pool_free(NULL);
}

static void sbuf_growth_and_limit(void)
{
    sbuf b;
    sbuf_init(&b, 0);
    for (int i = 0; i < 10000; i++)
        sbuf_printf(&b, "%04d", i % 10000);
    CHECK_EQ_INT(b.len, 40000);
    CHECK(!b.failed);
    CHECK_EQ_INT(b.p[b.len], '\0');
    sbuf_free(&b);

    sbuf_init(&b, 10);
    sbuf_puts(&b, "0123456789");
    CHECK(!b.failed);
    sbuf_puts(&b, "x");
    CHECK(b.failed);
    sbuf_puts(&b, "");
    CHECK_EQ_INT(b.len, 10);
    CHECK_EQ_STR(b.p, "0123456789");
    sbuf_free(&b);
}

TEST_MAIN("pool",
          T(pool_allocations),
          T(sbuf_growth_and_limit))
