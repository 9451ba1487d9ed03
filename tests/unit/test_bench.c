/*
 * tests/unit/test_bench.c - the benchmark tools' own pieces: histogram
 * quantiles and the seeded body generator (also as a client body; the
 * client's aws-chunked framing is tested in test_s3c).
 */
#include "tests/unit/test.h"

#include "contrib/bench/body.h"
#include "contrib/bench/histo.h"

static void histogram_quantiles_are_within_two_percent(void)
{
    static histo h;
    memset(&h, 0, sizeof h);
    CHECK_EQ_INT(histo_quantile(&h, 0.5), 0);
    for (uint64_t v = 1; v <= 100000; v++)
        histo_add(&h, v);
    uint64_t p50 = histo_quantile(&h, 0.5), p99 = histo_quantile(&h, 0.99);
    CHECK(p50 >= 50000 && p50 <= 51000);
    CHECK(p99 >= 99000 && p99 <= 100000);
    CHECK_EQ_INT(histo_quantile(&h, 1.0), 100000);
    CHECK_EQ_INT(h.max_us, 100000);
    memset(&h, 0, sizeof h);
    for (uint64_t v = 0; v < 128; v++)
        histo_add(&h, v);
    CHECK_EQ_INT(histo_quantile(&h, 0.5), 63);    /* exact below 128 */
}

static void generated_bodies_are_stable_and_distinct(void)
{
    uint8_t *pat = body_pattern_new(7);
    REQUIRE(pat);
    uint64_t size = 2ull * BODY_PATTERN_LEN + 12345;  /* wraps twice */
    uint8_t *buf = malloc(size), part[5000];
    gen_body a, b;
    gen_init(&a, pat, 7, 3, 0, size);
    size_t got = 0, n;
    while ((n = gen_read(&a, buf + got, 777777)) > 0)
        got += n;
    CHECK_EQ_INT(got, size);
    gen_init(&a, pat, 7, 3, 0, size);
    CHECK(gen_matches(&a, 0, buf, size));
    CHECK(!gen_matches(&a, 1, buf, 100));
    gen_init(&b, pat, 7, 3, BODY_PATTERN_LEN - 10, sizeof part);
    CHECK_EQ_INT(gen_read(&b, part, sizeof part), sizeof part);
    CHECK(memcmp(part, buf + BODY_PATTERN_LEN - 10, sizeof part) == 0);
    gen_init(&b, pat, 7, 4, 0, size);
    CHECK(!gen_matches(&b, 0, buf, 4096));
    free(buf);
    free(pat);
}

/* The client reads a generated body through s3c_body, and rewinds it
 * for a retry: the bytes are the same both times. */
static void generated_bodies_serve_the_client(void)
{
    uint8_t *pat = body_pattern_new(3);
    REQUIRE(pat);
    gen_body g;
    s3c_body b;
    gen_init(&g, pat, 3, 5, 100, 70000);
    gen_as_body(&g, &b);
    CHECK_EQ_INT(b.length, 70000);
    uint8_t buf[4096];
    cf_err err;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t off = 0;
        size_t n;
        bool same = true;
        while (b.read(b.ctx, buf, sizeof buf, &n, &err) == 0 && n > 0) {
            same = same && gen_matches(&g, off, buf, n);
            off += n;
        }
        CHECK(same);
        CHECK_EQ_INT(off, 70000);
        CHECK_EQ_INT(b.rewind(b.ctx, &err), 0);
    }
    free(pat);
}

TEST_MAIN("bench",
          T(histogram_quantiles_are_within_two_percent),
          T(generated_bodies_are_stable_and_distinct),
          T(generated_bodies_serve_the_client))
