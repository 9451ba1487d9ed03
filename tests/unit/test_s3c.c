/*
 * tests/unit/test_s3c.c - the outgoing S3 client's pieces that need no
 * server: its aws-chunked bodies, checked by the server side of auth/
 * (sigv4_check and the chunked decoder) exactly as cofferd checks them;
 * the readers of a remote's XML under hostile input; the first-pass
 * digests; and the configuration it refuses. The client against a real
 * cofferd and the fault proxy is tests/integration/s3c_live.c.
 */
#include "tests/unit/test.h"

#include <time.h>

#include "auth/chunked.h"
#include "client/internal.h"

typedef struct sink_ctx {
    const uint8_t *want;
    uint64_t got;
    bool same;
} sink_ctx;

static int collect(void *ctx, const void *data, size_t len, cks_state *hash, auth_err *err)
{
    sink_ctx *c = ctx;
    if (hash)
        cks_update(hash, data, len);
    c->same = c->same && memcmp(c->want + c->got, data, len) == 0;
    c->got += len;
    return 0;
}

/* Sign a streaming PUT as the client does, verify it as cofferd does, then
 * feed the encoder's output in odd slices to the chunked decoder. */
static int chunked_round_trip(const uint8_t *data, uint64_t size, cks_state *sha)
{
    char date[SIGV4_AMZ_DATE_LEN + 1], decoded[24], authz[1024];
    time_t now = time(NULL);
    sigv4_format_time(now, date);
    snprintf(decoded, sizeof decoded, "%llu", (unsigned long long)size);
    auth_pair h[6] = {{"content-encoding", "aws-chunked"}, {"host", "127.0.0.1:9000"},
                      {"x-amz-content-sha256", SIGV4_STREAMING_PAYLOAD},
                      {"x-amz-date", date}, {"x-amz-decoded-content-length", decoded}};
    auth_request req = {.method = "PUT", .path = "/b/k", .headers = h, .nheaders = 5};
    sigv4_credentials cred = {"AKID", "sekrit", "us-east-1", "s3"};
    sigv4_auth state, a;
    auth_err aerr;
    cf_err err;
    if (sigv4_sign(&req, &cred, now, SIGV4_STREAMING_PAYLOAD, authz, sizeof authz, &state,
                   &aerr) < 0)
        return -1;
    h[5] = (auth_pair){"authorization", authz};
    req.nheaders = 6;
    int rc = sigv4_parse(&req, "us-east-1", "s3", &a, &aerr) == 0 &&
             sigv4_check(&req, &a, "sekrit", now, &aerr) == 0 ? 0 : -2;
    sink_ctx ctx = {.want = data, .same = true};
    s3c_mem m;
    s3c_body body;
    s3c_body_mem(&body, &m, data, (size_t)size);
    s3c_chunker k = {0};
    chunked_decoder *d = rc == 0 ? chunked_new(&a, collect, &ctx, &aerr) : NULL;
    if (rc == 0 && (!d || s3c_chunker_start(&k, &body, sha, &state, &err) < 0))
        rc = -3;
    uint8_t buf[9973];
    size_t n = 0;
    uint64_t wire = 0;
    while (rc == 0 && s3c_chunker_read(&k, buf, sizeof buf, &n, &err) == 0 && n > 0) {
        wire += n;
        rc = chunked_feed(d, buf, n, &aerr) == 0 ? 0 : -4;
    }
    if (rc == 0 && (chunked_finish(d, &aerr) < 0 || wire != s3c_chunked_length(size) ||
                    ctx.got != size || !ctx.same))
        rc = -5;
    if (d)
        chunked_free(d);
    s3c_chunker_free(&k);
    sigv4_auth_clear(&a);
    sigv4_auth_clear(&state);
    return rc;
}

static void chunked_bodies_pass_the_servers_checks(void)
{
    cf_err err;
    cks_state *sha = cks_new(CKS_SHA256, &err);
    REQUIRE(sha);
    const uint64_t sizes[] = {0, 1, S3C_CHUNK - 1, S3C_CHUNK, S3C_CHUNK + 1, 200000};
    uint8_t *data = malloc(200000);
    REQUIRE(data);
    test_fill_random(data, 200000, 5);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int rc = chunked_round_trip(data, sizes[i], sha);
        if (rc != 0)
            fprintf(stderr, "size %llu: step %d\n", (unsigned long long)sizes[i], -rc);
        CHECK_EQ_INT(rc, 0);
    }
    free(data);
    cks_free(sha);
}

static void first_pass_digests_and_rewinds(void)
{
    cf_err err;
    cks_state *sha = cks_new(CKS_SHA256, &err), *md5 = cks_new(CKS_MD5, &err);
    REQUIRE(sha && md5);
    s3c_mem m;
    s3c_body b;
    char hex[65], b64[CKS_MAX_B64];
    s3c_body_mem(&b, &m, "hello", 5);
    m.pos = 3;                                   /* rewound before hashing */
    REQUIRE(s3c_body_digest(&b, sha, hex, md5, b64, sizeof b64, &err) == 0);
    CHECK_EQ_STR(hex, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    CHECK_EQ_STR(b64, "XUFAKrxLKna5cZ2REBfFkg==");
    CHECK_EQ_INT(m.pos, 0);                      /* and after */
    b.length = 6;                                /* a body shorter than announced */
    CHECK_EQ_INT(s3c_body_digest(&b, sha, hex, NULL, NULL, 0, &err), -1);
    b.rewind = NULL;
    CHECK_EQ_INT(s3c_body_digest(&b, sha, hex, NULL, NULL, 0, &err), -1);
    cks_free(sha);
    cks_free(md5);
}

static bool error_of(const char *xml, char *code, char *msg)
{
    return s3c_xml_error(xml, strlen(xml), code, 64, msg, 256);
}

static void error_xml_is_read_and_hostile_xml_refused(void)
{
    char code[64], msg[256];
    CHECK(error_of("<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The "
                   "specified key does not exist.</Message><Key>a&amp;b</Key></Error>",
                   code, msg));
    CHECK_EQ_STR(code, "NoSuchKey");
    CHECK_EQ_STR(msg, "The specified key does not exist.");
    /* entities are not expanded, DTDs and foreign roots refused */
    CHECK(!error_of("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]>"
                    "<Error><Code>&a;</Code></Error>", code, msg));
    CHECK(!error_of("<!DOCTYPE Error SYSTEM \"http://127.0.0.1:1/x.dtd\"><Error><Code>X"
                    "</Code></Error>", code, msg));
    CHECK(!error_of("<Other><Code>X</Code></Other>", code, msg));
    CHECK(!error_of("<Error><Code>X</Code>", code, msg));
    CHECK(!error_of("", code, msg));
    CHECK(!error_of("<Error></Error>", code, msg));
    /* long text is cut to the buffer */
    char big[2000];
    int n = snprintf(big, sizeof big, "<Error><Code>");
    memset(big + n, 'C', 500);
    snprintf(big + n + 500, sizeof big - (size_t)n - 500, "</Code></Error>");
    CHECK(error_of(big, code, msg));
    CHECK_EQ_INT(strlen(code), 63);
    /* deep nesting: refused by libxml2's own depth limit or read, never a crash */
    size_t depth = 100000, len = 0;
    char *deep = malloc(depth * 7 + 64);
    REQUIRE(deep);
    len += (size_t)sprintf(deep, "<Error>");
    for (size_t i = 0; i < depth; i++)
        len += (size_t)sprintf(deep + len, "<a>");
    CHECK(!s3c_xml_error(deep, len, code, sizeof code, msg, sizeof msg));
    free(deep);
}

static void listings_decode_keys(void)
{
    const char *xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>b</Name><Prefix>p%2F</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
        "<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
        "<NextContinuationToken>tok+en</NextContinuationToken>"
        "<Contents><Key>p/a+b%20c%26%00</Key><Size>12</Size><ETag>&quot;e1&quot;</ETag>"
        "<StorageClass>STANDARD</StorageClass>"
        "<LastModified>2026-01-02T03:04:05.000Z</LastModified></Contents>"
        "<Contents><Key>p/caf%C3%A9</Key><Size>0</Size></Contents>"
        "<CommonPrefixes><Prefix>p/d%2F</Prefix></CommonPrefixes></ListBucketResult>";
    s3c_listing *l;
    cf_err err;
    REQUIRE(s3c_xml_listing(xml, strlen(xml), &l, &err) == 0);
    REQUIRE(l->nobjects == 2 && l->nprefixes == 1);
    CHECK_EQ_STR(l->objects[0].key, "p/a b c&%00");     /* %00 is never a NUL */
    CHECK_EQ_INT(l->objects[0].size, 12);
    CHECK_EQ_STR(l->objects[0].etag, "\"e1\"");
    CHECK_EQ_STR(l->objects[0].storage_class, "STANDARD");
    CHECK_EQ_STR(l->objects[1].key, "p/caf\xc3\xa9");
    CHECK_EQ_STR(l->prefixes[0], "p/d/");
    CHECK(l->truncated);
    CHECK_EQ_STR(l->next_continuation, "tok+en");
    s3c_listing_free(l);
    const char *no_token = "<ListBucketResult><IsTruncated>true</IsTruncated>"
                           "</ListBucketResult>";
    CHECK_EQ_INT(s3c_xml_listing(no_token, strlen(no_token), &l, &err), -1);
    CHECK_EQ_INT(s3c_xml_listing("<Error/>", 8, &l, &err), -1);
    /* a Size that is not a plain decimal that fits: the listing is refused */
    const char *sizes[] = {"-1", "", "12abc", " 12", "0x10", "18446744073709551616",
                           "000000000000000000001"};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char bad[256];
        snprintf(bad, sizeof bad, "<ListBucketResult><Contents><Key>k</Key><Size>%s</Size>"
                 "</Contents></ListBucketResult>", sizes[i]);
        CHECK_EQ_INT(s3c_xml_listing(bad, strlen(bad), &l, &err), -1);
        CHECK(l == NULL && strstr(err.msg, "Size"));
    }
    const char *max = "<ListBucketResult><Contents><Key>k</Key><Size>18446744073709551615"
                      "</Size></Contents></ListBucketResult>";
    REQUIRE(s3c_xml_listing(max, strlen(max), &l, &err) == 0);
    CHECK(l->objects[0].size == UINT64_MAX);
    s3c_listing_free(l);
}

static void multipart_answers(void)
{
    char id[S3C_UPLOAD_ID_MAX];
    cf_err err;
    const char *init = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                       "<UploadId>abc~123</UploadId></InitiateMultipartUploadResult>";
    CHECK_EQ_INT(s3c_xml_upload_id(init, strlen(init), id, sizeof id, &err), 0);
    CHECK_EQ_STR(id, "abc~123");
    const char *empty = "<InitiateMultipartUploadResult><UploadId></UploadId>"
                        "</InitiateMultipartUploadResult>";
    CHECK_EQ_INT(s3c_xml_upload_id(empty, strlen(empty), id, sizeof id, &err), -1);
    s3c_result res = {0};
    const char *done = "<CompleteMultipartUploadResult><ETag>\"x-2\"</ETag>"
                       "<ChecksumCRC32C>AAAAAA==-2</ChecksumCRC32C>"
                       "</CompleteMultipartUploadResult>";
    CHECK_EQ_INT(s3c_xml_complete(done, strlen(done), &res, &err), 0);
    CHECK_EQ_STR(res.etag, "\"x-2\"");
    CHECK_EQ_STR(res.crc32c, "AAAAAA==-2");
}

static void bad_configurations_are_refused(void)
{
    const char *const endpoints[] = {NULL, "", "ftp://h", "http://", "http://h/path",
                                     "http://user:pw@h", "https://h?x"};
    cf_err err;
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
        s3c_config cfg = {.endpoint = endpoints[i], .access_key = "a",
                          .secret_key = "super-secret-value"};
        s3c_client *c = s3c_client_new(&cfg, &err);
        CHECK(c == NULL);
        CHECK_EQ_INT(err.code, CF_EINVAL);
        CHECK(strstr(err.msg, "super-secret-value") == NULL);
    }
    s3c_config ok = {.endpoint = "http://127.0.0.1:9000/", .access_key = "a",
                     .secret_key = "s"};
    s3c_client *c = s3c_client_new(&ok, &err);
    REQUIRE(c);
    CHECK_EQ_STR(c->endpoint, "http://127.0.0.1:9000");
    /* operations missing what they need are refused before any request */
    s3c_op nokey = {.kind = S3C_GET_OBJECT, .bucket = "b"};
    s3c_result res;
    CHECK_EQ_INT(s3c_exec(c, &nokey, &res, &err), -1);
    s3c_op part = {.kind = S3C_MPU_PART, .bucket = "b", .key = "k", .upload_id = "u"};
    CHECK_EQ_INT(s3c_exec(c, &part, &res, &err), -1);
    s3c_op complete = {.kind = S3C_MPU_COMPLETE, .bucket = "b", .key = "k", .upload_id = "u"};
    CHECK_EQ_INT(s3c_exec(c, &complete, &res, &err), -1);
    CHECK_EQ_INT(s3c_active(c), 0);
    s3c_client_free(c);
    ok.secret_key = NULL;
    CHECK(s3c_client_new(&ok, &err) == NULL);
}

static void setup(void)
{
    cf_err err;
    REQUIRE(s3c_global_init(&err) == 0);
}

static void teardown(void)
{
    s3c_global_cleanup();
}

TEST_MAIN("s3c",
          T(setup),
          T(chunked_bodies_pass_the_servers_checks),
          T(first_pass_digests_and_rewinds),
          T(error_xml_is_read_and_hostile_xml_refused),
          T(listings_decode_keys),
          T(multipart_answers),
          T(bad_configurations_are_refused),
          T(teardown))
