/*
 * tests/integration/s3c_live.c - the outgoing S3 client (client/s3c.h)
 * against a real cofferd, directly and through the fault-injecting proxy
 * (faultproxy.py), both started by tests/integration/client.sh, which
 * passes them in the environment:
 *
 *   COFFER_ENDPOINT, COFFER_ACCESS_KEY, COFFER_SECRET_KEY   cofferd
 *   S3C_VHOST_ENDPOINT   the same cofferd as http://localhost:PORT, whose
 *                        virtual-host domain is localhost
 *   S3C_PROXY            http://127.0.0.1:PORT, the proxy to cofferd
 *   S3C_CONTROL          http://127.0.0.1:PORT, the proxy's control port
 *
 * Every operation, ranged and resumed GETs, multipart, listing, the
 * remote's errors as cf_err, and then, through the proxy: 5xx retried
 * with backoff until they succeed, 4xx not retried, non-replayable bodies
 * and non-idempotent requests not resent, timeouts, corrupted bytes in
 * both directions refused, and the bandwidth cap holding.
 */
#include "tests/unit/test.h"

#include "client/s3c.h"
#include "common/checksum.h"
#include "common/clock.h"
#include "tests/integration/live.h"

#define BUCKET "s3c-live"

/* A client to endpoint (cofferd by default) with cfg's knobs. */
static s3c_client *client_to(const char *endpoint, s3c_config cfg)
{
    cf_err err;
    cfg.endpoint = endpoint ? endpoint : live_env("COFFER_ENDPOINT");
    cfg.access_key = cfg.access_key ? cfg.access_key : live_env("COFFER_ACCESS_KEY");
    cfg.secret_key = cfg.secret_key ? cfg.secret_key : live_env("COFFER_SECRET_KEY");
    s3c_client *c = s3c_client_new(&cfg, &err);
    if (!c)
        fprintf(stderr, "s3c_client_new: %s\n", err.msg);
    return c;
}

static s3c_client *direct(void)
{
    return client_to(NULL, (s3c_config){0});
}

/* ---- bodies and checks ---------------------------------------------------- */

static int put_gen(s3c_client *c, const char *key, uint64_t seed, uint64_t size,
                   s3c_payload pay, s3c_checksum cks, s3c_result *res, cf_err *err)
{
    gen g = {.seed = seed, .size = size};
    s3c_body b = gen_body(&g);
    s3c_op op = {.kind = S3C_PUT_OBJECT, .bucket = BUCKET, .key = key, .body = &b,
                 .payload = pay, .checksum = cks};
    return s3c_exec(c, &op, res, err);
}

/* GET [from, from + len) (len 0: all) of key, checked against seed. */
static int get_check(s3c_client *c, const char *key, uint64_t seed, uint64_t from,
                     uint64_t len, bool verify, check *k, s3c_result *res, cf_err *err)
{
    *k = (check){.seed = seed, .from = from, .same = true};
    s3c_op op = {.kind = S3C_GET_OBJECT, .bucket = BUCKET, .key = key, .sink = check_sink,
                 .sink_ctx = k, .range = len > 0, .range_start = from, .range_len = len,
                 .verify = verify};
    return s3c_exec(c, &op, res, err);
}

static void simple(s3c_client *c, s3c_kind kind, const char *key, s3c_result *res,
                   int want_rc, cf_err *err)
{
    s3c_op op = {.kind = kind, .bucket = BUCKET, .key = key};
    int rc = s3c_exec(c, &op, res, err);
    if (rc != want_rc)
        fprintf(stderr, "  op %d on %s: rc %d: %s\n", kind, key ? key : "-", rc,
                rc < 0 ? err->msg : "");
    CHECK_EQ_INT(rc, want_rc);
}

/* ---- the proxy ------------------------------------------------------------ */

static s3c_client *via_proxy(s3c_config cfg)
{
    return client_to(live_env("S3C_PROXY"), cfg);
}

/* ---- operations ------------------------------------------------------------ */

static void setup_bucket(void)
{
    s3c_client *c = direct();
    REQUIRE(c);
    s3c_result res;
    cf_err err;
    simple(c, S3C_CREATE_BUCKET, NULL, &res, 0, &err);
    s3c_result_free(&res);
    simple(c, S3C_CREATE_BUCKET, NULL, &res, 0, &err);   /* already ours: fine */
    s3c_result_free(&res);
    s3c_client_free(c);
}

static void every_payload_mode_round_trips(void)
{
    s3c_client *c = direct();
    REQUIRE(c);
    const s3c_payload modes[] = {S3C_UNSIGNED, S3C_SIGNED, S3C_STREAMING};
    const uint64_t sizes[] = {0, 1, S3C_CHUNK, 200000, 3 * MiB + 7};
    for (size_t m = 0; m < 3; m++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            s3c_result res;
            cf_err err;
            check k;
            char key[64];
            snprintf(key, sizeof key, "mode%zu/size%llu", m, (unsigned long long)sizes[i]);
            int rc = put_gen(c, key, m * 10 + i, sizes[i], modes[m], S3C_CKS_NONE, &res, &err);
            if (rc < 0)
                fprintf(stderr, "  put %s: %s\n", key, err.msg);
            CHECK_EQ_INT(rc, 0);
            CHECK(res.etag[0] == '"');
            s3c_result_free(&res);
            CHECK_EQ_INT(get_check(c, key, m * 10 + i, 0, 0, false, &k, &res, &err), 0);
            CHECK(k.same);
            CHECK_EQ_INT(k.got, sizes[i]);
            CHECK_EQ_INT(res.size, (int64_t)sizes[i]);
            s3c_result_free(&res);
        }
    }
    s3c_client_free(c);
}

static void put_checksums_head_ranges_delete(void)
{
    s3c_client *c = direct();
    REQUIRE(c);
    s3c_result res;
    cf_err err;
    check k;
    uint64_t size = 5 * MiB + 123;
    /* CRC32C computed by a first pass, sent, confirmed by the remote */
    REQUIRE(put_gen(c, "obj/crc", 77, size, S3C_UNSIGNED, S3C_CKS_CRC32C, &res, &err) == 0);
    CHECK(res.crc32c[0] != '\0');
    char crc[16];
    snprintf(crc, sizeof crc, "%s", res.crc32c);
    s3c_result_free(&res);
    /* Content-MD5, signed payload: the remote's ETag is the MD5 sent */
    CHECK_EQ_INT(put_gen(c, "obj/md5", 78, size, S3C_SIGNED, S3C_CKS_MD5, &res, &err), 0);
    CHECK_EQ_INT(strlen(res.etag), 34);
    s3c_result_free(&res);
    /* a given checksum that is wrong: the remote refuses, nothing stored */
    gen g = {.seed = 79, .size = 1000};
    s3c_body b = gen_body(&g);
    s3c_op bad = {.kind = S3C_PUT_OBJECT, .bucket = BUCKET, .key = "obj/bad", .body = &b,
                  .checksum = S3C_CKS_CRC32C, .checksum_value = "AAAAAA=="};
    CHECK_EQ_INT(s3c_exec(c, &bad, &res, &err), -1);
    CHECK_EQ_INT(err.code, CF_EDIGEST);
    CHECK_EQ_INT(res.attempts, 1);
    s3c_result_free(&res);
    simple(c, S3C_HEAD_OBJECT, "obj/bad", &res, -1, &err);
    CHECK_EQ_INT(err.code, CF_ENOKEY);
    s3c_result_free(&res);

    simple(c, S3C_HEAD_OBJECT, "obj/crc", &res, 0, &err);
    CHECK_EQ_INT(res.size, (int64_t)size);
    CHECK_EQ_STR(res.crc32c, crc);
    CHECK(res.etag[0] == '"' && res.last_modified[0]);
    s3c_result_free(&res);
    /* whole object with its checksum verified, then ranges */
    CHECK_EQ_INT(get_check(c, "obj/crc", 77, 0, 0, true, &k, &res, &err), 0);
    CHECK(k.same && k.got == size);
    s3c_result_free(&res);
    const uint64_t ranges[][2] = {{0, 1}, {65536, 65536}, {MiB - 3, 2 * MiB}, {size - 10, 10}};
    for (size_t i = 0; i < 4; i++) {
        CHECK_EQ_INT(get_check(c, "obj/crc", 77, ranges[i][0], ranges[i][1], false, &k,
                               &res, &err), 0);
        CHECK(k.same);
        CHECK_EQ_INT(k.got, ranges[i][1]);
        CHECK_EQ_INT(res.status, 206);
        CHECK_EQ_INT(res.size, (int64_t)size);
        s3c_result_free(&res);
    }
    CHECK_EQ_INT(get_check(c, "obj/crc", 77, size, 5, false, &k, &res, &err), -1);
    CHECK_EQ_INT(err.code, CF_ERANGE);
    s3c_result_free(&res);
    /* GET into memory when there is no sink */
    s3c_op mem = {.kind = S3C_GET_OBJECT, .bucket = BUCKET, .key = "obj/crc", .range = true,
                  .range_start = 10, .range_len = 100};
    CHECK_EQ_INT(s3c_exec(c, &mem, &res, &err), 0);
    CHECK(res.body && res.body_len == 100 && (uint8_t)res.body[0] == live_byte(77, 10));
    s3c_result_free(&res);

    simple(c, S3C_DELETE_OBJECT, "obj/crc", &res, 0, &err);
    s3c_result_free(&res);
    simple(c, S3C_DELETE_OBJECT, "obj/crc", &res, 0, &err);   /* gone already: fine */
    s3c_result_free(&res);
    simple(c, S3C_HEAD_OBJECT, "obj/crc", &res, -1, &err);
    CHECK_EQ_INT(err.code, CF_ENOKEY);
    CHECK_EQ_INT(res.status, 404);
    s3c_result_free(&res);
    s3c_client_free(c);
}

typedef struct part_done {
    int rc;
    char etag[S3C_ETAG_MAX];
    char crc32c[16];
    bool finished;
} part_done;

static void on_part(void *ctx, int rc, const cf_err *err, s3c_result *res)
{
    part_done *p = ctx;
    p->rc = rc;
    p->finished = true;
    if (rc < 0)
        fprintf(stderr, "  part: %s\n", err->msg);
    snprintf(p->etag, sizeof p->etag, "%s", res->etag);
    snprintf(p->crc32c, sizeof p->crc32c, "%s", res->crc32c);
}

static void multipart_in_parallel(void)
{
    s3c_client *c = direct();
    REQUIRE(c);
    s3c_result res;
    cf_err err;
    s3c_op create = {.kind = S3C_MPU_CREATE, .bucket = BUCKET, .key = "mpu/one",
                     .checksum = S3C_CKS_CRC32C};
    REQUIRE(s3c_exec(c, &create, &res, &err) == 0);
    char id[S3C_UPLOAD_ID_MAX];
    snprintf(id, sizeof id, "%s", res.upload_id);
    CHECK(id[0] != '\0');
    s3c_result_free(&res);
    /* three parts at once; the sizes make the object 10 MiB + 1 KiB */
    enum { NP = 3 };
    const uint64_t psize[NP] = {5 * MiB, 5 * MiB, 1024};
    gen g[NP];
    s3c_body b[NP];
    part_done done[NP] = {{0}};
    for (uint32_t i = 0; i < NP; i++) {
        g[i] = (gen){.seed = 500 + i, .size = psize[i]};
        b[i] = gen_body(&g[i]);
        s3c_op part = {.kind = S3C_MPU_PART, .bucket = BUCKET, .key = "mpu/one",
                       .upload_id = id, .part_number = i + 1, .body = &b[i],
                       .payload = i == 1 ? S3C_STREAMING : S3C_UNSIGNED,
                       .checksum = S3C_CKS_CRC32C};
        REQUIRE(s3c_start(c, &part, on_part, &done[i], &err) == 0);
    }
    CHECK_EQ_INT(s3c_active(c), NP);
    while (s3c_active(c))
        REQUIRE(s3c_run(c, 1000, &err) == 0);
    s3c_part parts[NP];
    for (uint32_t i = 0; i < NP; i++) {
        CHECK(done[i].finished && done[i].rc == 0 && done[i].crc32c[0]);
        parts[i] = (s3c_part){.number = i + 1, .etag = done[i].etag, .crc32c = done[i].crc32c};
    }
    /* a wrong ETag: InvalidPart */
    s3c_part wrong[NP];
    memcpy(wrong, parts, sizeof wrong);
    wrong[1].etag = "\"00000000000000000000000000000000\"";
    s3c_op complete = {.kind = S3C_MPU_COMPLETE, .bucket = BUCKET, .key = "mpu/one",
                       .upload_id = id, .parts = wrong, .nparts = NP};
    CHECK_EQ_INT(s3c_exec(c, &complete, &res, &err), -1);
    CHECK_EQ_INT(err.code, CF_EBADPART);
    CHECK_EQ_STR(res.remote_code, "InvalidPart");
    s3c_result_free(&res);
    complete.parts = parts;
    CHECK_EQ_INT(s3c_exec(c, &complete, &res, &err), 0);
    CHECK(strstr(res.etag, "-3") != NULL);
    s3c_result_free(&res);
    simple(c, S3C_HEAD_OBJECT, "mpu/one", &res, 0, &err);
    CHECK_EQ_INT(res.size, 10 * MiB + 1024);
    s3c_result_free(&res);
    /* each part's bytes where they belong */
    check k;
    uint64_t off = 0;
    for (uint32_t i = 0; i < NP; i++) {
        s3c_op part_get = {.kind = S3C_GET_OBJECT, .bucket = BUCKET, .key = "mpu/one",
                           .range = true, .range_start = off, .range_len = psize[i],
                           .sink = check_sink, .sink_ctx = &k};
        k = (check){.seed = 500 + i, .from = 0, .same = true};
        CHECK_EQ_INT(s3c_exec(c, &part_get, &res, &err), 0);
        CHECK(k.same && k.got == psize[i]);
        s3c_result_free(&res);
        off += psize[i];
    }
    /* an upload aborted, then gone */
    REQUIRE(s3c_exec(c, &create, &res, &err) == 0);
    snprintf(id, sizeof id, "%s", res.upload_id);
    s3c_result_free(&res);
    s3c_op abort_op = {.kind = S3C_MPU_ABORT, .bucket = BUCKET, .key = "mpu/one",
                       .upload_id = id};
    CHECK_EQ_INT(s3c_exec(c, &abort_op, &res, &err), 0);
    s3c_result_free(&res);
    CHECK_EQ_INT(s3c_exec(c, &abort_op, &res, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOUPLOAD);
    CHECK_EQ_STR(res.remote_code, "NoSuchUpload");
    s3c_result_free(&res);
    s3c_client_free(c);
}

static void listing_pages_and_odd_keys(void)
{
    s3c_client *c = direct();
    REQUIRE(c);
    static const char *const keys[] = {
        "list/a b", "list/a+b", "list/caf\xc3\xa9", "list/d/1", "list/d/2",
        "list/pct%41", "list/z&<>\"'"};
    enum { NK = sizeof keys / sizeof keys[0] };
    s3c_result res;
    cf_err err;
    for (size_t i = 0; i < NK; i++) {
        REQUIRE(put_gen(c, keys[i], i, i, S3C_UNSIGNED, S3C_CKS_NONE, &res, &err) == 0);
        s3c_result_free(&res);
    }
    /* pages of three, walked by continuation token */
    char token[1024] = "";
    size_t seen = 0, pages = 0;
    for (;;) {
        s3c_op op = {.kind = S3C_LIST_OBJECTS, .bucket = BUCKET, .prefix = "list/",
                     .max_keys = 3, .continuation = token[0] ? token : NULL};
        REQUIRE(s3c_exec(c, &op, &res, &err) == 0);
        s3c_listing *l = res.listing;
        REQUIRE(l);
        pages++;
        for (size_t i = 0; i < l->nobjects && seen < NK; i++, seen++) {
            CHECK_EQ_STR(l->objects[i].key, keys[seen]);
            CHECK_EQ_INT(l->objects[i].size, seen);
        }
        bool more = l->truncated;
        if (more)
            snprintf(token, sizeof token, "%s", l->next_continuation);
        s3c_result_free(&res);
        if (!more)
            break;
    }
    CHECK_EQ_INT(seen, NK);
    CHECK_EQ_INT(pages, 3);
    /* a delimiter rolls list/d/ up */
    s3c_op op = {.kind = S3C_LIST_OBJECTS, .bucket = BUCKET, .prefix = "list/",
                 .delimiter = "/", .start_after = "list/a+b"};
    REQUIRE(s3c_exec(c, &op, &res, &err) == 0);
    CHECK_EQ_INT(res.listing->nprefixes, 1);
    CHECK_EQ_STR(res.listing->prefixes[0], "list/d/");
    CHECK_EQ_INT(res.listing->nobjects, 3);      /* café, pct%41, z&<>"' */
    s3c_result_free(&res);
    s3c_client_free(c);
}

static void remote_errors_become_cf_err(void)
{
    s3c_client *c = direct();
    REQUIRE(c);
    s3c_result res;
    cf_err err;
    simple(c, S3C_GET_OBJECT, "no/such/key", &res, -1, &err);
    CHECK_EQ_INT(err.code, CF_ENOKEY);
    CHECK_EQ_STR(res.remote_code, "NoSuchKey");
    CHECK(res.remote_message[0] && strstr(err.msg, res.remote_message));
    CHECK(strstr(err.msg, "NoSuchKey") && strstr(err.msg, "HTTP 404"));
    CHECK_EQ_INT(res.attempts, 1);
    s3c_result_free(&res);
    s3c_op nb = {.kind = S3C_PUT_OBJECT, .bucket = "no-such-bucket-s3c", .key = "k"};
    CHECK_EQ_INT(s3c_exec(c, &nb, &res, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOBUCKET);
    CHECK_EQ_STR(res.remote_code, "NoSuchBucket");
    s3c_result_free(&res);
    s3c_op np = {.kind = S3C_MPU_PART, .bucket = BUCKET, .key = "k", .upload_id = "nope",
                 .part_number = 1};
    CHECK_EQ_INT(s3c_exec(c, &np, &res, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOUPLOAD);
    s3c_result_free(&res);
    s3c_client_free(c);
    /* a wrong secret: the remote's refusal, never the secret itself */
    const char *secret = "this-secret-must-not-leak-0123456789";
    c = client_to(NULL, (s3c_config){.secret_key = secret});
    REQUIRE(c);
    simple(c, S3C_HEAD_OBJECT, "k", &res, -1, &err);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    s3c_result_free(&res);
    simple(c, S3C_GET_OBJECT, "k", &res, -1, &err);
    CHECK_EQ_STR(res.remote_code, "SignatureDoesNotMatch");
    CHECK(!strstr(err.msg, secret) && !strstr(err.msg, "Signature="));
    s3c_result_free(&res);
    s3c_client_free(c);
    /* nobody listening: CF_EIO after the attempts, saying where */
    c = client_to("http://127.0.0.1:1", (s3c_config){.max_attempts = 2, .backoff_base_ms = 10});
    REQUIRE(c);
    simple(c, S3C_HEAD_OBJECT, "k", &res, -1, &err);
    CHECK_EQ_INT(err.code, CF_EIO);
    CHECK(strstr(err.msg, "cannot reach http://127.0.0.1:1") != NULL);
    CHECK_EQ_INT(res.attempts, 2);
    s3c_result_free(&res);
    s3c_client_free(c);
}

static void virtual_host_addressing(void)
{
    s3c_client *c = client_to(live_env("S3C_VHOST_ENDPOINT"), (s3c_config){.virtual_host = true});
    REQUIRE(c);
    s3c_result res;
    cf_err err;
    check k;
    REQUIRE(put_gen(c, "vhost/x y", 9, 70000, S3C_STREAMING, S3C_CKS_MD5, &res, &err) == 0);
    s3c_result_free(&res);
    s3c_client_free(c);
    c = direct();       /* the same object, path-style */
    CHECK_EQ_INT(get_check(c, "vhost/x y", 9, 0, 0, false, &k, &res, &err), 0);
    CHECK(k.same && k.got == 70000);
    s3c_result_free(&res);
    s3c_client_free(c);
}

/* ---- through the proxy ---------------------------------------------------- */

static void server_errors_are_retried_with_backoff(void)
{
    s3c_client *c = via_proxy((s3c_config){.backoff_base_ms = 100, .max_attempts = 6});
    REQUIRE(c);
    s3c_result res;
    cf_err err;
    faults("[{\"action\": \"status\", \"status\": 503, \"count\": 3, \"method\": \"PUT\"},"
           " {\"action\": \"status\", \"status\": 500, \"code\": \"InternalError\","
           "  \"method\": \"PUT\"}]");
    CHECK_EQ_INT(put_gen(c, "retry/put", 1, 300000, S3C_STREAMING, S3C_CKS_MD5, &res, &err), 0);
    CHECK_EQ_INT(res.attempts, 5);
    s3c_result_free(&res);
    json_t *log = proxy_log();
    CHECK_EQ_INT(logged(log, "PUT", "/" BUCKET "/retry/put"), 5);
    /* gaps within the cap of each retry (full jitter: 0..100, 200, 400,
     * 800 ms), and not all ~0 */
    double prev = -1, longest = 0;
    size_t i, n = 0;
    json_t *e;
    json_array_foreach(log, i, e) {
        double t = json_real_value(json_object_get(e, "t"));
        if (prev >= 0) {
            double gap = t - prev, cap = 0.1 * (double)(1u << n);
            if (gap > cap + 0.3)
                fprintf(stderr, "  retry %zu came after %.3f s, cap %.3f s\n", n, gap, cap);
            CHECK(gap <= cap + 0.3);
            longest = gap > longest ? gap : longest;
            n++;
        }
        prev = t;
    }
    CHECK(longest >= 0.01);
    json_decref(log);
    /* the object arrived whole */
    check k;
    CHECK_EQ_INT(get_check(c, "retry/put", 1, 0, 0, false, &k, &res, &err), 0);
    CHECK(k.same && k.got == 300000);
    s3c_result_free(&res);
    /* attempts run out: the last answer's error */
    faults("[{\"action\": \"status\", \"status\": 503, \"count\": 10}]");
    s3c_client_free(c);
    c = via_proxy((s3c_config){.backoff_base_ms = 10, .max_attempts = 3});
    simple(c, S3C_HEAD_OBJECT, "retry/put", &res, -1, &err);
    CHECK_EQ_INT(res.attempts, 3);
    CHECK_EQ_INT(err.code, CF_EIO);
    s3c_result_free(&res);
    simple(c, S3C_GET_OBJECT, "retry/put", &res, -1, &err);
    CHECK(strstr(err.msg, "SlowDown: injected by faultproxy") != NULL);
    s3c_result_free(&res);
    s3c_client_free(c);
}

static void client_errors_are_not_retried(void)
{
    s3c_client *c = via_proxy((s3c_config){.backoff_base_ms = 10});
    REQUIRE(c);
    s3c_result res;
    cf_err err;
    faults("[{\"action\": \"status\", \"status\": 403, \"code\": \"AccessDenied\"}]");
    simple(c, S3C_GET_OBJECT, "retry/put", &res, -1, &err);
    CHECK_EQ_INT(res.attempts, 1);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    CHECK_EQ_STR(res.remote_code, "AccessDenied");
    s3c_result_free(&res);
    json_t *log = proxy_log();
    CHECK_EQ_INT(json_array_size(log), 1);
    json_decref(log);
    /* a body that cannot rewind is sent once, even on a 503 */
    faults("[{\"action\": \"status\", \"status\": 503, \"method\": \"PUT\"}]");
    gen g = {.seed = 2, .size = 1000, .no_rewind = true};
    s3c_body b = gen_body(&g);
    s3c_op put = {.kind = S3C_PUT_OBJECT, .bucket = BUCKET, .key = "retry/once", .body = &b};
    CHECK_EQ_INT(s3c_exec(c, &put, &res, &err), -1);
    CHECK_EQ_INT(res.attempts, 1);
    s3c_result_free(&res);
    /* a broken connection: a non-idempotent request is not resent, an
     * idempotent one is. (libcurl itself sends a request once more on a
     * fresh connection when a reused one died before answering: hence
     * the resets come in threes.) */
    faults("[{\"action\": \"reset\", \"count\": 3, \"method\": \"POST\"}]");
    s3c_op create = {.kind = S3C_MPU_CREATE, .bucket = BUCKET, .key = "retry/mpu"};
    CHECK_EQ_INT(s3c_exec(c, &create, &res, &err), -1);
    CHECK_EQ_INT(res.attempts, 1);
    CHECK_EQ_INT(err.code, CF_EIO);
    s3c_result_free(&res);
    faults("[{\"action\": \"reset\", \"count\": 2}]");
    simple(c, S3C_HEAD_OBJECT, "retry/put", &res, 0, &err);
    CHECK(res.attempts >= 2);
    s3c_result_free(&res);
    log = proxy_log();
    CHECK_EQ_INT(logged(log, "HEAD", NULL), 3);
    json_decref(log);
    s3c_client_free(c);
}

static void broken_get_resumes_where_it_stopped(void)
{
    s3c_client *c = via_proxy((s3c_config){.backoff_base_ms = 10});
    REQUIRE(c);
    s3c_result res;
    cf_err err;
    check k;
    faults("[]");
    REQUIRE(put_gen(c, "resume/big", 31, 3 * MiB, S3C_UNSIGNED, S3C_CKS_CRC32C, &res, &err) == 0);
    s3c_result_free(&res);
    faults("[{\"action\": \"cut\", \"after\": 100000, \"method\": \"GET\"},"
           " {\"action\": \"cut\", \"after\": 700000, \"method\": \"GET\"}]");
    CHECK_EQ_INT(get_check(c, "resume/big", 31, 0, 0, true, &k, &res, &err), 0);
    CHECK(k.same && k.got == 3 * MiB);
    CHECK_EQ_INT(res.attempts, 3);
    s3c_result_free(&res);
    json_t *log = proxy_log();
    CHECK_EQ_INT(logged(log, "GET", NULL), 3);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(log, 1), "range")),
                 "bytes=100000-");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(log, 2), "range")),
                 "bytes=800000-");
    json_decref(log);
    /* a ranged GET resumes inside its range */
    faults("[{\"action\": \"cut\", \"after\": 5000, \"method\": \"GET\"}]");
    CHECK_EQ_INT(get_check(c, "resume/big", 31, 1000000, 20000, false, &k, &res, &err), 0);
    CHECK(k.same && k.got == 20000);
    s3c_result_free(&res);
    log = proxy_log();
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(log, 1), "range")),
                 "bytes=1005000-1019999");
    json_decref(log);
    s3c_client_free(c);
}

static void timeouts_fire(void)
{
    s3c_result res;
    cf_err err;
    /* a remote that stops sending: the low-speed limit ends it */
    s3c_client *c = via_proxy((s3c_config){.low_speed_bytes = 1000, .low_speed_ms = 1000,
                                           .max_attempts = 2, .backoff_base_ms = 10});
    REQUIRE(c);
    faults("[{\"action\": \"stall_body\", \"after\": 1000, \"seconds\": 20, \"count\": 2,"
           "  \"method\": \"GET\"}]");
    check k;
    double t0 = clock_mono_s();
    CHECK_EQ_INT(get_check(c, "resume/big", 31, 0, 0, false, &k, &res, &err), -1);
    double took = clock_mono_s() - t0;
    CHECK_EQ_INT(err.code, CF_EIO);
    CHECK_EQ_INT(res.attempts, 2);   /* no ETag-less resume: it had one */
    CHECK(took >= 1.5 && took < 10);
    s3c_result_free(&res);
    s3c_client_free(c);
    /* a remote that never answers: the request timeout ends it */
    c = via_proxy((s3c_config){.timeout_ms = 500, .max_attempts = 1});
    REQUIRE(c);
    faults("[{\"action\": \"stall\", \"seconds\": 20}]");
    t0 = clock_mono_s();
    simple(c, S3C_HEAD_OBJECT, "resume/big", &res, -1, &err);
    took = clock_mono_s() - t0;
    CHECK(took >= 0.4 && took < 5);
    CHECK(strstr(err.msg, "timed out") || strstr(err.msg, "Timeout"));
    s3c_result_free(&res);
    s3c_client_free(c);
}

static void corrupted_bytes_are_refused(void)
{
    s3c_client *c = via_proxy((s3c_config){.backoff_base_ms = 10});
    REQUIRE(c);
    s3c_result res;
    cf_err err;
    check k;
    /* the answer corrupted: the checksum the remote stored says so */
    faults("[{\"action\": \"corrupt\", \"at\": 123456, \"method\": \"GET\"}]");
    CHECK_EQ_INT(get_check(c, "resume/big", 31, 0, 0, true, &k, &res, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    s3c_result_free(&res);
    /* the upload corrupted: the remote checks the Content-MD5 and refuses */
    faults("[{\"action\": \"corrupt\", \"side\": \"request\", \"at\": 5000, "
           "\"method\": \"PUT\"}]");
    CHECK_EQ_INT(put_gen(c, "corrupt/put", 3, 100000, S3C_UNSIGNED, S3C_CKS_MD5, &res,
                         &err), -1);
    CHECK_EQ_INT(err.code, CF_EDIGEST);
    CHECK_EQ_STR(res.remote_code, "BadDigest");
    s3c_result_free(&res);
    simple(c, S3C_HEAD_OBJECT, "corrupt/put", &res, -1, &err);
    CHECK_EQ_INT(err.code, CF_ENOKEY);
    s3c_result_free(&res);
    s3c_client_free(c);
}

typedef struct counter {
    int done, failed;
} counter;

static void on_counted(void *ctx, int rc, const cf_err *err, s3c_result *res)
{
    counter *n = ctx;
    n->done++;
    if (rc < 0) {
        n->failed++;
        fprintf(stderr, "  capped transfer: %s\n", err->msg);
    }
}

static void bandwidth_cap_is_shared(void)
{
    const uint64_t cap = 2 * MiB, each = 1536 * 1024;
    enum { N = 4 };
    s3c_client *c = client_to(NULL, (s3c_config){.max_bytes_per_s = cap});
    REQUIRE(c);
    cf_err err;
    gen g[N];
    s3c_body b[N];
    check k[N];
    counter n = {0};
    char keys[N][32];
    double t0 = clock_mono_s();
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "cap/%d", i);
        g[i] = (gen){.seed = 900 + i, .size = each};
        b[i] = gen_body(&g[i]);
        s3c_op op = {.kind = S3C_PUT_OBJECT, .bucket = BUCKET, .key = keys[i], .body = &b[i]};
        REQUIRE(s3c_start(c, &op, on_counted, &n, &err) == 0);
    }
    while (s3c_active(c))
        REQUIRE(s3c_run(c, 1000, &err) == 0);
    double up = clock_mono_s() - t0;
    t0 = clock_mono_s();
    for (int i = 0; i < N; i++) {
        k[i] = (check){.seed = 900 + i, .same = true};
        s3c_op op = {.kind = S3C_GET_OBJECT, .bucket = BUCKET, .key = keys[i],
                     .sink = check_sink, .sink_ctx = &k[i]};
        REQUIRE(s3c_start(c, &op, on_counted, &n, &err) == 0);
    }
    while (s3c_active(c))
        REQUIRE(s3c_run(c, 1000, &err) == 0);
    double down = clock_mono_s() - t0;
    CHECK_EQ_INT(n.done, 2 * N);
    CHECK_EQ_INT(n.failed, 0);
    for (int i = 0; i < N; i++)
        CHECK(k[i].same && k[i].got == each);
    double total = (double)(N * each);
    fprintf(stderr, "  capped at %.1f MiB/s: up %.2f MiB/s, down %.2f MiB/s\n",
            (double)cap / MiB, total / up / MiB, total / down / MiB);
    /* within the cap (with a generous margin for the burst), yet moving */
    CHECK(total / up <= 1.25 * (double)cap && total / up >= 0.3 * (double)cap);
    CHECK(total / down <= 1.25 * (double)cap && total / down >= 0.3 * (double)cap);
    s3c_client_free(c);
}

static void big_bodies_stream(void)
{
    s3c_client *c = direct();
    REQUIRE(c);
    s3c_result res;
    cf_err err;
    check k;
    const uint64_t size = 64ull * MiB + 5;
    CHECK_EQ_INT(put_gen(c, "big/stream", 4242, size, S3C_STREAMING, S3C_CKS_NONE, &res,
                         &err), 0);
    s3c_result_free(&res);
    CHECK_EQ_INT(get_check(c, "big/stream", 4242, 0, 0, false, &k, &res, &err), 0);
    CHECK(k.same && k.got == size);
    s3c_result_free(&res);
    s3c_client_free(c);
}

static void global_setup(void)
{
    REQUIRE(live_setup("S3C_CONTROL") == 0);
}

static void global_teardown(void)
{
    live_teardown();
}

TEST_MAIN("s3c_live",
          T(global_setup),
          T(setup_bucket),
          T(every_payload_mode_round_trips),
          T(put_checksums_head_ranges_delete),
          T(multipart_in_parallel),
          T(listing_pages_and_odd_keys),
          T(remote_errors_become_cf_err),
          T(virtual_host_addressing),
          T(server_errors_are_retried_with_backoff),
          T(client_errors_are_not_retried),
          T(broken_get_resumes_where_it_stopped),
          T(timeouts_fire),
          T(corrupted_bytes_are_refused),
          T(bandwidth_cap_is_shared),
          T(big_bodies_stream),
          T(global_teardown))
