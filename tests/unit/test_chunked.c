/*
 * tests/unit/test_chunked.c - the aws-chunked decoder.
 *
 * The signed case is the S3 documentation's chunked upload example
 * (examplebucket/chunkObject.txt, 65 KiB of 'a' in a 64 KiB and a 1 KiB
 * chunk, seed and chunk signatures as published). The trailer modes are
 * built with our own chunk/trailer signer and the stream is fed in slices
 * of many sizes, so that every framing line gets split across feeds. The
 * unsigned-trailer body botocore sends by default comes from botocore
 * itself (data/chunked/, made by data/botocore-gen.py).
 */
#include "auth/chunked.h"
#include "auth/internal.h"
#include "tests/unit/test.h"
#include "tests/unit/vectors.h"

#define DOC_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define SEED "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define SIG1 "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
#define SIG2 "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
#define SIG3 "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
#define DOC_TIME 1369353600   /* 20130524T000000Z */

typedef struct output {
    unsigned char *data;
    size_t len, cap;
    int fail_after;             /* > 0: the sink fails on that call */
    int calls;
} output;

static int collect(void *ctx, const void *data, size_t len, cks_state *hash, auth_err *err)
{
    output *o = ctx;
    if (hash)
        cks_update(hash, data, len);
    if (++o->calls == o->fail_after)
        return auth_fail(err, AUTH_INTERNAL, "sink refused");
    if (o->len + len > o->cap) {
        o->cap = (o->len + len) * 2;
        o->data = realloc(o->data, o->cap);
    }
    memcpy(o->data + o->len, data, len);
    o->len += len;
    return 0;
}

/* The documented request: its Authorization verifies to the seed. */
static int documented_auth(sigv4_auth *a, const char *payload_mode)
{
    auth_pair h[9] = {
        {"host", "s3.amazonaws.com"},
        {"x-amz-date", "20130524T000000Z"},
        {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
        {"x-amz-content-sha256", payload_mode},
        {"content-encoding", "aws-chunked"},
        {"x-amz-decoded-content-length", "66560"},
        {"content-length", "66824"},
    };
    auth_request req = {"PUT", "/examplebucket/chunkObject.txt", NULL, NULL, 0, h, 7};
    sigv4_credentials cred = {"AKIAIOSFODNN7EXAMPLE", DOC_SECRET, "us-east-1", "s3"};
    char authz[512];
    if (sigv4_sign(&req, &cred, DOC_TIME, payload_mode, authz, sizeof authz, NULL, NULL) < 0)
        return -1;
    h[7] = (auth_pair){"authorization", authz};
    req.nheaders = 8;
    if (sigv4_parse(&req, "us-east-1", "s3", a, NULL) < 0) return -1;
    return sigv4_check(&req, a, DOC_SECRET, DOC_TIME, NULL);
}

static size_t append(char *buf, size_t at, const char *s, size_t n)
{
    memcpy(buf + at, s, n);
    return at + n;
}

/* The documented body: 0x10000 and 0x400 bytes of 'a', then the end. */
static size_t documented_body(char *buf)
{
    static char a[65536];
    memset(a, 'a', sizeof a);
    size_t n = 0;
    n = append(buf, n, "10000;chunk-signature=" SIG1 "\r\n", 88);
    n = append(buf, n, a, 65536);
    n = append(buf, n, "\r\n400;chunk-signature=" SIG2 "\r\n", 88);
    n = append(buf, n, a, 1024);
    n = append(buf, n, "\r\n0;chunk-signature=" SIG3 "\r\n\r\n", 88);
    return n;
}

/* Feed body in slices of step bytes; returns finish's result. */
static int decode(const sigv4_auth *a, const char *body, size_t len, size_t step,
                  output *out, chunked_decoder **keep, auth_err *err)
{
    chunked_decoder *d = chunked_new(a, collect, out, err);
    if (!d) return -1;
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0; off += step)
        rc = chunked_feed(d, body + off, len - off < step ? len - off : step, err);
    if (rc == 0) rc = chunked_finish(d, err);
    if (keep) *keep = d;
    else chunked_free(d);
    return rc;
}

static void documented_seed_and_chunk_signatures(void)
{
    sigv4_auth a;
    REQUIRE(documented_auth(&a, SIGV4_STREAMING_PAYLOAD) == 0);
    CHECK_EQ_STR(a.signature, SEED);
    CHECK_EQ_INT(a.payload, SIGV4_PAYLOAD_STREAMING);
    CHECK_EQ_INT(a.decoded_length, 66560);
    unsigned char digest[32];
    char sig[65], block[65536];
    memset(block, 'a', sizeof block);
    auth_sha256(block, 65536, digest);
    CHECK_EQ_INT(sigv4_sign_chunk(&a, SEED, digest, sig), 0);
    CHECK_EQ_STR(sig, SIG1);
    auth_sha256(block, 1024, digest);
    sigv4_sign_chunk(&a, SIG1, digest, sig);
    CHECK_EQ_STR(sig, SIG2);
    auth_sha256("", 0, digest);
    sigv4_sign_chunk(&a, SIG2, digest, sig);
    CHECK_EQ_STR(sig, SIG3);
}

static void documented_body_decodes_in_any_slicing(void)
{
    sigv4_auth a;
    REQUIRE(documented_auth(&a, SIGV4_STREAMING_PAYLOAD) == 0);
    static char body[70000];
    size_t len = documented_body(body);
    CHECK_EQ_INT(len, 66824);
    const size_t steps[] = {1, 2, 7, 87, 88, 89, 4096, 65536, 70000};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        output out = {0};
        auth_err err;
        int rc = decode(&a, body, len, steps[i], &out, NULL, &err);
        if (rc < 0) fprintf(stderr, "step %zu: %s\n", steps[i], err.msg);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(out.len, 66560);
        size_t as = 0;
        while (as < out.len && out.data[as] == 'a') as++;
        CHECK_EQ_INT(as, 66560);
        free(out.data);
    }
}

/* Decode body after flipping one byte at pos; expect code (AUTH_OK: any). */
static void expect_tamper_fails(const sigv4_auth *a, const char *body, size_t len,
                                size_t pos, auth_code code)
{
    static char copy[70000];
    memcpy(copy, body, len);
    copy[pos] ^= 1;
    output out = {0};
    auth_err err = {0};
    CHECK_EQ_INT(decode(a, copy, len, 1000, &out, NULL, &err), -1);
    if (code != AUTH_OK) CHECK_EQ_INT(err.code, code);
    free(out.data);
}

static void tampered_chunks_fail_their_signature(void)
{
    sigv4_auth a;
    REQUIRE(documented_auth(&a, SIGV4_STREAMING_PAYLOAD) == 0);
    static char body[70000];
    size_t len = documented_body(body);
    expect_tamper_fails(&a, body, len, 100, AUTH_SIGNATURE_DOES_NOT_MATCH);     /* data 1 */
    expect_tamper_fails(&a, body, len, 88 + 65538 + 90, AUTH_SIGNATURE_DOES_NOT_MATCH); /* data 2 */
    expect_tamper_fails(&a, body, len, 30, AUTH_INVALID_ARGUMENT);   /* sig 1 'a'->'`' */
    expect_tamper_fails(&a, body, len, 31, AUTH_SIGNATURE_DOES_NOT_MATCH); /* '8'->'9' */
    expect_tamper_fails(&a, body, len, len - 10, AUTH_SIGNATURE_DOES_NOT_MATCH); /* final */
    /* A different seed (another request's signature) breaks the chain. */
    sigv4_auth other = a;
    other.signature[0] = '5';
    output out = {0};
    auth_err err;
    CHECK_EQ_INT(decode(&other, body, len, len, &out, NULL, &err), -1);
    CHECK_EQ_INT(err.code, AUTH_SIGNATURE_DOES_NOT_MATCH);
    free(out.data);
}

/* Every single-byte change in a signed stream must be refused: all of the
 * first chunk header, all of the final chunk, and random data bytes. */
static void any_flipped_byte_is_refused(void)
{
    sigv4_auth a;
    REQUIRE(documented_auth(&a, SIGV4_STREAMING_PAYLOAD) == 0);
    static char body[70000];
    size_t len = documented_body(body);
    for (size_t pos = 0; pos < 88; pos++) {
        expect_tamper_fails(&a, body, len, pos, AUTH_OK);
        expect_tamper_fails(&a, body, len, len - 1 - pos, AUTH_OK);
    }
    unsigned short picks[50];
    test_fill_random(picks, sizeof picks, 42);
    for (size_t i = 0; i < 50; i++)
        expect_tamper_fails(&a, body, len, (size_t)picks[i] * len / 65536, AUTH_OK);
}

static void random_garbage_is_refused(void)
{
    for (int mode = 0; mode < 3; mode++) {
        sigv4_auth a;
        REQUIRE(documented_auth(&a, SIGV4_STREAMING_PAYLOAD) == 0);
        a.payload = mode == 0 ? SIGV4_PAYLOAD_STREAMING : mode == 1
                  ? SIGV4_PAYLOAD_STREAMING_TRAILER : SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
        a.decoded_length = -1;
        for (unsigned seed = 0; seed < 300; seed++) {
            char junk[300];
            test_fill_random(junk, sizeof junk, seed);
            if (seed % 2) memcpy(junk, "1f\r\n", 4);   /* a plausible start */
            output out = {0};
            auth_err err;
            CHECK_EQ_INT(decode(&a, junk, sizeof junk, 1 + seed % 50, &out, NULL, &err), -1);
            free(out.data);
        }
    }
}

/* An auth for the trailer modes without a full request: our own signer. */
static void trailer_auth(sigv4_auth *a, sigv4_payload mode, int64_t decoded_length)
{
    REQUIRE(documented_auth(a, SIGV4_STREAMING_PAYLOAD) == 0);
    a->payload = mode;
    a->decoded_length = decoded_length;
}

/* Build a signed-trailer body for data with a crc32 trailer value. */
static size_t signed_trailer_body(const sigv4_auth *a, const char *data, const char *crc,
                                  char *buf)
{
    unsigned char digest[32];
    char sig1[65], sig0[65], tsig[65], trailer[128];
    auth_sha256(data, strlen(data), digest);
    sigv4_sign_chunk(a, a->signature, digest, sig1);
    auth_sha256("", 0, digest);
    sigv4_sign_chunk(a, sig1, digest, sig0);
    snprintf(trailer, sizeof trailer, "x-amz-checksum-crc32:%s\n", crc);
    sigv4_sign_trailer(a, sig0, trailer, tsig);
    return (size_t)sprintf(buf, "%zx;chunk-signature=%s\r\n%s\r\n0;chunk-signature=%s\r\n"
                           "x-amz-checksum-crc32:%s\r\nx-amz-trailer-signature:%s\r\n\r\n",
                           strlen(data), sig1, data, sig0, crc, tsig);
}

static void signed_trailer_verifies_and_exposes_the_checksum(void)
{
    sigv4_auth a;
    trailer_auth(&a, SIGV4_PAYLOAD_STREAMING_TRAILER, 11);
    char body[1024];
    size_t len = signed_trailer_body(&a, "hello world", "DUoRhQ==", body);
    for (size_t step = 1; step <= len; step += 13) {
        output out = {0};
        chunked_decoder *d = NULL;
        auth_err err;
        CHECK_EQ_INT(decode(&a, body, len, step, &out, &d, &err), 0);
        REQUIRE(d != NULL);
        CHECK_EQ_STR(chunked_trailer_name(d), "x-amz-checksum-crc32");
        CHECK_EQ_STR(chunked_trailer_value(d), "DUoRhQ==");
        CHECK_EQ_INT(chunked_decoded_bytes(d), 11);
        CHECK(out.len == 11 && memcmp(out.data, "hello world", 11) == 0);
        chunked_free(d);
        free(out.data);
    }
    /* The trailer value is covered by the trailer signature. */
    char *v = strstr(body, "DUoRhQ==");
    v[0] = 'E';
    output out = {0};
    auth_err err;
    CHECK_EQ_INT(decode(&a, body, len, len, &out, NULL, &err), -1);
    CHECK_EQ_INT(err.code, AUTH_SIGNATURE_DOES_NOT_MATCH);
    free(out.data);
}

static void signed_trailer_without_its_signature_is_refused(void)
{
    sigv4_auth a;
    trailer_auth(&a, SIGV4_PAYLOAD_STREAMING_TRAILER, 11);
    char body[1024];
    size_t len = signed_trailer_body(&a, "hello world", "DUoRhQ==", body);
    char *sig = strstr(body, "x-amz-trailer-signature:");
    memcpy(sig, "\r\n", 3);
    len = strlen(body);
    output out = {0};
    auth_err err;
    CHECK_EQ_INT(decode(&a, body, len, len, &out, NULL, &err), -1);
    CHECK_EQ_INT(err.code, AUTH_INVALID_ARGUMENT);
    free(out.data);
}

/* ----- unsigned trailer mode and hostile framing ----- */

typedef struct framing_case {
    const char *body;
    int64_t decoded_length;
    auth_code want;            /* AUTH_OK: must decode */
} framing_case;

#define CRC "x-amz-checksum-crc32:NhCmhg==\r\n"

static const framing_case framing_cases[] = {
    {"5\r\nhello\r\n0\r\n" CRC "\r\n", 5, AUTH_OK},
    {"5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n", 8, AUTH_OK},
    {"0\r\n" CRC "\r\n", 0, AUTH_OK},
    {"5\r\nhello\r\n0\r\n" CRC, 5, AUTH_INCOMPLETE_BODY},
    {"5\r\nhello\r\n0\r\n", 5, AUTH_INCOMPLETE_BODY},
    {"5\r\nhel", 5, AUTH_INCOMPLETE_BODY},
    {"", 5, AUTH_INCOMPLETE_BODY},
    {"5\r\nhello\r\n0\r\n\r\n", 6, AUTH_INCOMPLETE_BODY},
    {"5\r\nhello\r\n0\r\n\r\n", 4, AUTH_INVALID_ARGUMENT},
    {"5\r\nhelloXY0\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
    {"5\r\nhello\n0\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
    {"5\nhello\r\n0\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
    {"zz\r\nhello\r\n0\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
    {"\r\nhello\r\n0\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
    {"-5\r\nhello\r\n0\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
    {"FFFFFFFFFFFFFFFFF\r\n", -1, AUTH_INVALID_ARGUMENT},
    {"10000000000000005\r\nhello\r\n", -1, AUTH_INVALID_ARGUMENT},
    {"140000001\r\n", -1, AUTH_INVALID_ARGUMENT},
    {"5;chunk-signature=00\r\nhello\r\n0\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
    {"5 \r\nhello\r\n0\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
    {"+5\r\nhello\r\n0\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
    {" 5\r\nhello\r\n0\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
    {"0x5\r\nhello\r\n0\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
    {"0005\r\nhello\r\n0\r\n\r\n", 5, AUTH_OK},           /* padding is a number */
    {"5\r\nhello\r\n0\r\nx-amz-meta-evil:1\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
    {"5\r\nhello\r\n0\r\n" CRC CRC "\r\n", 5, AUTH_INVALID_ARGUMENT},
    {"5\r\nhello\r\n0\r\nx-amz-checksum-crc32\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
    {"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
    {"5\r\nhello\r\n0\r\nx-amz-trailer-signature:" SEED "\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
    {"5\r\nhello\r\n0\r\n\r\nextra", 5, AUTH_INVALID_ARGUMENT},
    {"5\r\nhel\0o\r\n0\r\n\r\n", -1, AUTH_INCOMPLETE_BODY},
    {"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:a\rb\r\n\r\n", 5, AUTH_INVALID_ARGUMENT},
};

static void unsigned_trailer_framing(void)
{
    for (size_t i = 0; i < sizeof framing_cases / sizeof *framing_cases; i++) {
        const framing_case *c = &framing_cases[i];
        sigv4_auth a;
        trailer_auth(&a, SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER, c->decoded_length);
        size_t len = strlen(c->body);
        for (size_t step = 1; step <= (len ? len : 1); step += 3) {
            output out = {0};
            auth_err err = {0};
            int rc = decode(&a, c->body, len, step, &out, NULL, &err);
            if ((rc == 0) != (c->want == AUTH_OK) || (rc < 0 && err.code != c->want))
                fprintf(stderr, "framing case %zu step %zu: rc %d %s: %s\n", i, step, rc,
                        auth_code_s3_name(err.code), err.msg);
            CHECK_EQ_INT(rc, c->want == AUTH_OK ? 0 : -1);
            if (rc < 0) CHECK_EQ_INT(err.code, c->want);
            free(out.data);
        }
    }
}

static void botocore_unsigned_trailer_body_decodes(void)
{
    size_t len;
    char *body = vector_read_file("chunked", "botocore-unsigned-trailer", ".req", &len);
    char *expect = vector_read_file("chunked", "botocore-unsigned-trailer", ".authz", NULL);
    REQUIRE(body && expect);
    long long decoded = 0;
    char trailer[128] = "";
    CHECK_EQ_INT(sscanf(expect, "%lld %127s", &decoded, trailer), 2);
    /* The request botocore sends with this body, verified for real. */
    vector v;
    REQUIRE(vector_load(&v, "sigv4", "botocore-s3-put-trailer") == 0);
    vector_add_header(&v, "authorization", v.expected);
    sigv4_auth a;
    auth_err err;
    REQUIRE(sigv4_parse(&v.req, "us-east-1", "s3", &a, &err) == 0);
    REQUIRE(sigv4_check(&v.req, &a, DOC_SECRET, 1440938160, &err) == 0);
    vector_free(&v);
    CHECK_EQ_INT(a.payload, SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER);
    CHECK_EQ_INT(a.decoded_length, decoded);
    for (size_t step = 1; step < len; step = step * 3 + 1) {
        output out = {0};
        chunked_decoder *d = NULL;
        CHECK_EQ_INT(decode(&a, body, len, step, &out, &d, &err), 0);
        REQUIRE(d != NULL);
        CHECK_EQ_INT(out.len, decoded);
        size_t same = 0;
        while (same < out.len && out.data[same] == (unsigned char)(same * 7 % 251)) same++;
        CHECK_EQ_INT(same, decoded);
        char got[256];
        snprintf(got, sizeof got, "%s:%s", chunked_trailer_name(d), chunked_trailer_value(d));
        CHECK_EQ_STR(got, trailer);
        chunked_free(d);
        free(out.data);
    }
    free(body);
    free(expect);
}

static void long_header_line_is_refused_without_buffering(void)
{
    sigv4_auth a;
    trailer_auth(&a, SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER, -1);
    char line[CHUNKED_LINE_MAX + 10];
    memset(line, '0', sizeof line);
    output out = {0};
    auth_err err;
    chunked_decoder *d = chunked_new(&a, collect, &out, &err);
    REQUIRE(d != NULL);
    CHECK_EQ_INT(chunked_feed(d, line, sizeof line, &err), -1);
    CHECK_EQ_INT(err.code, AUTH_INVALID_ARGUMENT);
    CHECK_EQ_INT(chunked_feed(d, "\r\n", 2, &err), -1);   /* stays failed */
    CHECK_EQ_INT(chunked_finish(d, &err), -1);
    chunked_free(d);
}

static void sink_errors_stop_decoding(void)
{
    sigv4_auth a;
    trailer_auth(&a, SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER, 8);
    const char *body = "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n";
    output out = {.fail_after = 2};
    auth_err err;
    CHECK_EQ_INT(decode(&a, body, strlen(body), 100, &out, NULL, &err), -1);
    CHECK_EQ_INT(err.code, AUTH_INTERNAL);
    CHECK_EQ_STR(err.msg, "sink refused");
    free(out.data);
}

static void non_streaming_auth_is_refused(void)
{
    sigv4_auth a;
    trailer_auth(&a, SIGV4_PAYLOAD_SIGNED, -1);
    auth_err err;
    CHECK(chunked_new(&a, collect, NULL, &err) == NULL);
    CHECK_EQ_INT(err.code, AUTH_INVALID_REQUEST);
}

TEST_MAIN("chunked",
          T(documented_seed_and_chunk_signatures),
          T(documented_body_decodes_in_any_slicing),
          T(tampered_chunks_fail_their_signature),
          T(any_flipped_byte_is_refused),
          T(random_garbage_is_refused),
          T(signed_trailer_verifies_and_exposes_the_checksum),
          T(signed_trailer_without_its_signature_is_refused),
          T(unsigned_trailer_framing),
          T(botocore_unsigned_trailer_body_decodes),
          T(long_header_line_is_refused_without_buffering),
          T(sink_errors_stop_decoding),
          T(non_streaming_auth_is_refused))
