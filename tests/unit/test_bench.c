/*
 * tests/unit/test_bench.c - the benchmark tools' own pieces: histogram
 * quantiles, the seeded body generator, and coffer-bench's signed
 * aws-chunked bodies, checked by the server side of auth/ (sigv4_check and
 * the chunked decoder) exactly as cofferd would check them.
 */
#include "tests/unit/test.h"

#include <time.h>

#include "auth/chunked.h"
#include "contrib/bench/body.h"
#include "contrib/bench/histo.h"
#include "contrib/bench/s3req.h"

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

/* Split "name: value" header lines back into pairs. */
static size_t pairs_from(const struct curl_slist *l, auth_pair *out, char lines[][2200])
{
    size_t n = 0;
    for (; l; l = l->next) {
        char *colon;
        snprintf(lines[n], 2200, "%s", l->data);
        if (!(colon = strchr(lines[n], ':')) || colon[1] == '\0')
            continue;               /* "Expect:" */
        *colon = '\0';
        out[n].name = lines[n];
        out[n].value = colon + 2;
        n++;
    }
    return n;
}

typedef struct sink_ctx {
    gen_body g;
    uint64_t got;
    bool same;
} sink_ctx;

static int collect(void *ctx, const void *data, size_t len, auth_err *err)
{
    sink_ctx *c = ctx;
    c->same = c->same && gen_matches(&c->g, c->got, data, len);
    c->got += len;
    return 0;
}

/* Sign a streaming PUT as coffer-bench does, verify it as cofferd does,
 * then feed the encoder's output in odd slices to the chunked decoder. */
static int chunked_round_trip(const s3_endpoint *ep, const uint8_t *pat, uint64_t size)
{
    s3_signed sig;
    cf_err err;
    auth_err aerr;
    auth_pair h[8];
    char lines[8][2200];
    if (s3_sign(ep, "PUT", "/b/k", NULL, SIGV4_STREAMING_PAYLOAD, (int64_t)size, &sig,
                &err) < 0)
        return -1;
    auth_request req = {.method = "PUT", .path = "/b/k", .headers = h,
                        .nheaders = pairs_from(sig.headers, h, lines)};
    sigv4_auth a;
    int rc = sigv4_parse(&req, "us-east-1", "s3", &a, &aerr) == 0 &&
             sigv4_check(&req, &a, "sekrit", time(NULL), &aerr) == 0 ? 0 : -2;
    sink_ctx ctx = {.same = true};
    gen_body g;
    gen_init(&g, pat, 1, 9, 0, size);
    ctx.g = g;
    chunk_enc enc;
    memset(&enc, 0, sizeof enc);
    chunked_decoder *d = rc == 0 ? chunked_new(&a, collect, &ctx, &aerr) : NULL;
    if (rc == 0 && (!d || chunk_enc_init(&enc, &g, &sig.state, &err) < 0))
        rc = -3;
    uint8_t buf[9973];
    size_t n = 0;
    uint64_t wire = 0;
    while (rc == 0 && chunk_enc_read(&enc, buf, sizeof buf, &n, &err) == 0 && n > 0) {
        wire += n;
        rc = chunked_feed(d, buf, n, &aerr) == 0 ? 0 : -4;
    }
    if (rc == 0 && (chunked_finish(d, &aerr) < 0 || wire != chunked_wire_length(size) ||
                    ctx.got != size || !ctx.same))
        rc = -5;
    if (d)
        chunked_free(d);
    chunk_enc_free(&enc);
    sigv4_auth_clear(&a);
    s3_signed_free(&sig);
    return rc;
}

static void chunked_bodies_pass_the_servers_checks(void)
{
    s3_endpoint ep;
    cf_err err;
    REQUIRE(s3_endpoint_init(&ep, "http://127.0.0.1:9000/", "AKID", "sekrit", "us-east-1",
                             &err) == 0);
    CHECK_EQ_STR(ep.host, "127.0.0.1:9000");
    uint8_t *pat = body_pattern_new(1);
    REQUIRE(pat);
    const uint64_t sizes[] = {1, BODY_CHUNK - 1, BODY_CHUNK, BODY_CHUNK + 1, 200000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int rc = chunked_round_trip(&ep, pat, sizes[i]);
        if (rc != 0)
            fprintf(stderr, "size %llu: step %d\n", (unsigned long long)sizes[i], -rc);
        CHECK_EQ_INT(rc, 0);
    }
    CHECK(s3_endpoint_init(&ep, "ftp://x", "a", "b", "r", &err) < 0);
    CHECK(s3_endpoint_init(&ep, "http://x/path", "a", "b", "r", &err) < 0);
    free(pat);
}

TEST_MAIN("bench",
          T(histogram_quantiles_are_within_two_percent),
          T(generated_bodies_are_stable_and_distinct),
          T(chunked_bodies_pass_the_servers_checks))
