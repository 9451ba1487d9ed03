/* tests/unit/test_pool.c - per-request memory (pool), growable buffers
 * (sbuf) and recycled large buffers (common/bigbuf): alignment, zeroing,
 * large blocks, limits and the sticky failure flag; a buffer given back is
 * handed out again for its size only, and no more are kept than the
 * limits allow. Run under ASan, this also proves pool_free releases
 * everything. */
#include <stdint.h>
#include <string.h>

#include "common/bigbuf.h"
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

static void bigbuf_recycling(void)
{
    size_t mib = (size_t)1 << 20, kept0 = bigbuf_kept();
    unsigned char *a = bigbuf_alloc(mib);
    REQUIRE(a);
    CHECK_EQ_INT((uintptr_t)a % 4096, 0);
    memset(a, 0x5A, mib);                    /* all of it is ours */
    bigbuf_free(a, mib);
    CHECK_EQ_INT(bigbuf_kept(), kept0 + 1);
    unsigned char *b = bigbuf_alloc(mib + 4096);      /* another size: a new one */
    REQUIRE(b);
    CHECK(b != a);
    unsigned char *c = bigbuf_alloc(mib);             /* the same size: recycled */
    CHECK(c == a);
    CHECK_EQ_INT(bigbuf_kept(), kept0);
    bigbuf_free(b, mib + 4096);
    bigbuf_free(c, mib);
    bigbuf_free(NULL, mib);

    /* past BIGBUF_KEEP_BYTES a buffer is freed, not kept */
    size_t before = bigbuf_kept();
    unsigned char *huge = bigbuf_alloc(BIGBUF_KEEP_BYTES + 1);
    REQUIRE(huge);
    bigbuf_free(huge, BIGBUF_KEEP_BYTES + 1);
    CHECK_EQ_INT(bigbuf_kept(), before);

    /* never more than BIGBUF_KEEP buffers */
    void *many[BIGBUF_KEEP + 4];
    for (size_t i = 0; i < BIGBUF_KEEP + 4; i++)
        REQUIRE((many[i] = bigbuf_alloc(300 * 1024)));
    for (size_t i = 0; i < BIGBUF_KEEP + 4; i++)
        bigbuf_free(many[i], 300 * 1024);
    CHECK(bigbuf_kept() <= BIGBUF_KEEP);
}

TEST_MAIN("pool",
          T(pool_allocations),
          T(sbuf_growth_and_limit),
          T(bigbuf_recycling))
