/*
 * tier/s3.c - the S3 tier type: AWS, Wasabi, Backblaze B2, GCS's S3
 * interoperability, Ceph RGW, another coffer. Everything goes through the
 * outgoing S3 client (client/s3c.h).
 *
 * Uploads. An object up to the multipart threshold is one PUT; a larger
 * one a multipart upload whose parts (part_size, grown so that 10,000
 * suffice) go parallel_parts at a time, each from its own source reader.
 * Every request carries the Content-MD5 of its body, computed here in a
 * first pass over it, so the remote refuses bytes damaged on the way
 * (BadDigest) and keeps only what was sent; every answer's ETag must be
 * that MD5 (a part's, or the multipart ETag: the MD5 of the parts' MD5s
 * and "-N"; Ceph RGW 16 answers a completion with an empty one), and a
 * final HEAD must show the length and the ETag. A remote
 * whose ETags are not MD5s (SSE-KMS, SSE-C buckets) cannot confirm what
 * it holds and is refused. The upload's client carries the worker's
 * bandwidth cap.
 *
 * Reads. A stream is one ranged GET pulled at the reader's pace
 * (tier/pull.h: at most TIER_PULL_SPILL bytes beyond the read are kept,
 * then the transfer pauses, so memory stays bounded).
 * Streams take clients from the tier's pool (tier/shared.h) so that
 * connections are reused across GETs.
 */
#include "tier/tier.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/s3c.h"
#include "common/checksum.h"
#include "common/hex.h"
#include "storage/crypto.h"
#include "tier/pull.h"
#include "tier/shared.h"

#define MAX_PARTS 10000u

typedef struct s3_tier {
    char *endpoint, *bucket, *prefix, *region, *access_key, *storage_class, *cacert_pem;
    bool virtual_host;
    char secret[ST_TIER_SECRET_MAX + 1];
    tier_limits lim;
    tier_pool pool;                  /* clients for reads and deletes */
} s3_tier;

/* ---- settings ------------------------------------------------------------------ */

static const char *const fields[] = {
    "endpoint", "bucket", "prefix", "region", "access_key", "storage_class",
    "cacert_pem", "virtual_host", NULL,
};

static bool ok_bucket(const char *s)
{
    return *s && !strchr(s, '/') && tier_printable(s, 255);
}

static bool ok_word(const char *s)
{
    return tier_printable(s, 255);
}

static bool ok_class(const char *s)
{
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == strlen(s);
}

#define WHAT "an S3 tier"

static int s3_configure(const char *in_json, char **config_json, cf_err *err)
{
    *config_json = NULL;
    json_t *doc = tier_settings_load(in_json, fields, WHAT, err);
    int rc = doc ? 0 : -1;
    if (rc == 0 &&
        (tier_settings_string(doc, "endpoint", true, 300, tier_ok_endpoint, WHAT, err) < 0 ||
         tier_settings_string(doc, "bucket", true, 255, ok_bucket, WHAT, err) < 0 ||
         tier_settings_string(doc, "prefix", false, 512, tier_ok_prefix, WHAT, err) < 0 ||
         tier_settings_string(doc, "region", false, 63, ok_word, WHAT, err) < 0 ||
         tier_settings_string(doc, "access_key", true, 255, ok_word, WHAT, err) < 0 ||
         tier_settings_string(doc, "storage_class", false, 32, ok_class, WHAT, err) < 0 ||
         tier_settings_string(doc, "cacert_pem", false, 65536, tier_ok_pem, WHAT, err) < 0))
        rc = -1;
    json_t *vh = json_object_get(doc, "virtual_host");
    if (rc == 0 && vh && !json_is_boolean(vh))
        rc = cf_fail(err, CF_EINVAL, "the tier's \"virtual_host\" is true or false");
    if (rc == 0)
        rc = tier_settings_dump(doc, config_json, err);
    json_decref(doc);
    return rc;
}

static void s3_close(void *impl)
{
    s3_tier *t = impl;
    if (!t)
        return;
    tier_pool_clear(&t->pool);
    free(t->endpoint);
    free(t->bucket);
    free(t->prefix);
    free(t->region);
    free(t->access_key);
    free(t->storage_class);
    free(t->cacert_pem);
    crypt_wipe(t->secret, sizeof t->secret);
    free(t);
}

static const tier_client_ops client_ops;

static int s3_open(const st_tier *st, const tier_limits *lim, void **impl, cf_err *err)
{
    s3_tier *t = calloc(1, sizeof *t);
    if (!t)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    tier_pool_init(&t->pool, &client_ops, t);
    json_t *doc = json_loads(st->config, 0, NULL);
    t->endpoint = tier_settings_dup(doc, "endpoint", NULL);
    t->bucket = tier_settings_dup(doc, "bucket", NULL);
    t->prefix = tier_settings_dup(doc, "prefix", "");
    t->region = tier_settings_dup(doc, "region", "us-east-1");
    t->access_key = tier_settings_dup(doc, "access_key", NULL);
    t->storage_class = tier_settings_dup(doc, "storage_class", NULL);
    t->cacert_pem = tier_settings_dup(doc, "cacert_pem", NULL);
    t->virtual_host = json_is_true(json_object_get(doc, "virtual_host"));
    json_decref(doc);
    snprintf(t->secret, sizeof t->secret, "%s", st->secret);
    t->lim = *lim;
    if (!t->endpoint || !t->bucket || !t->prefix || !t->region || !t->access_key) {
        s3_close(t);
        return cf_fail(err, CF_ECONFIG, "tier %s: its stored settings are incomplete",
                       st->name);
    }
    *impl = t;
    return 0;
}

/* ---- clients ------------------------------------------------------------------- */

static s3c_client *new_client(s3_tier *t, uint64_t cap, cf_err *err)
{
    s3c_config cfg = {.endpoint = t->endpoint, .region = t->region,
                      .access_key = t->access_key, .secret_key = t->secret,
                      .virtual_host = t->virtual_host, .cacert_pem = t->cacert_pem,
                      .max_bytes_per_s = cap};
    return s3c_client_new(&cfg, err);
}

static void *pool_make(void *owner, cf_err *err)
{
    return new_client(owner, 0, err);
}

static void pool_quiet(void *c)
{
    s3c_abort(c);
}

static void pool_destroy(void *c)
{
    s3c_client_free(c);
}

static void pool_resume(void *c)
{
    s3c_resume(c);
}

static int pool_run(void *c, int timeout_ms, cf_err *err)
{
    return s3c_run(c, timeout_ms, err);
}

static const tier_client_ops client_ops = {.make = pool_make, .quiet = pool_quiet,
                                           .destroy = pool_destroy, .resume = pool_resume,
                                           .run = pool_run};

static char *object_key(const s3_tier *t, const char *name, cf_err *err)
{
    return tier_remote_name(t->prefix, name, err);
}

/* ---- uploads ------------------------------------------------------------------- */

/* The inside of an ETag ("\"abc\"" -> "abc"), lowercased. */
static void etag_inner(const char *etag, char *out, size_t cap)
{
    size_t n = strlen(etag);
    if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"')
        etag++, n -= 2;
    snprintf(out, cap, "%.*s", (int)n, etag);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
}

static int etag_is(const char *etag, const char *want, const char *what, cf_err *err)
{
    char got[TIER_ETAG_MAX];
    etag_inner(etag, got, sizeof got);
    if (strcmp(got, want) == 0)
        return 0;
    return cf_fail(err, CF_EDIGEST, "the remote answered %s with ETag %s, not the %s that "
                   "was sent: it cannot confirm what it holds (an SSE-KMS or SSE-C bucket?)",
                   what, got, want);
}

/* Size and ETag of what the remote holds now. */
static int verify_head(s3_tier *t, s3c_client *c, const char *key, uint64_t len,
                       const char *want_etag, char etag[TIER_ETAG_MAX], cf_err *err)
{
    s3c_op op = {.kind = S3C_HEAD_OBJECT, .bucket = t->bucket, .key = key};
    s3c_result res;
    int rc = s3c_exec(c, &op, &res, err);
    if (rc == 0 && (res.size < 0 || (uint64_t)res.size != len))
        rc = cf_fail(err, CF_EDIGEST, "the remote holds %lld bytes, not the %llu sent",
                     (long long)res.size, (unsigned long long)len);
    if (rc == 0)
        rc = etag_is(res.etag, want_etag, "HEAD", err);
    if (rc == 0)
        snprintf(etag, TIER_ETAG_MAX, "%s", res.etag);
    s3c_result_free(&res);
    return rc;
}

static void class_header(const s3_tier *t, s3c_header *h, size_t *n)
{
    *n = 0;
    if (t->storage_class && *t->storage_class) {
        h[0] = (s3c_header){"x-amz-storage-class", t->storage_class};
        *n = 1;
    }
}

static int put_single(s3_tier *t, s3c_client *c, const char *key, const tier_src *src,
                      char etag[TIER_ETAG_MAX], cf_err *err)
{
    tier_part b;
    uint8_t raw[16];
    char hex[33], b64[32];
    if (tier_part_open(&b, src, 0, src->length, err) < 0)
        return -1;
    int rc = tier_part_md5(&b, raw, hex, b64, err);
    s3c_header h[1];
    size_t nh;
    class_header(t, h, &nh);
    s3c_op op = {.kind = S3C_PUT_OBJECT, .bucket = t->bucket, .key = key, .body = &b.body,
                 .payload = S3C_UNSIGNED, .checksum = S3C_CKS_MD5, .checksum_value = b64,
                 .content_type = "application/octet-stream", .headers = h, .nheaders = nh};
    s3c_result res;
    if (rc == 0) {
        rc = s3c_exec(c, &op, &res, err);
        if (rc == 0)
            rc = etag_is(res.etag, hex, "PUT", err);
        s3c_result_free(&res);
    }
    tier_part_close(&b);
    return rc == 0 ? verify_head(t, c, key, src->length, hex, etag, err) : -1;
}

typedef struct mpu_part {
    struct mpu *m;
    uint32_t number;
    tier_part body;
    char b64[32];
    uint8_t md5[16];
    char etag[TIER_ETAG_MAX];
    bool running, done;
} mpu_part;

typedef struct mpu {
    s3_tier *t;
    s3c_client *c;
    const tier_src *src;
    const char *key;
    char upload_id[S3C_UPLOAD_ID_MAX];
    mpu_part *parts;
    uint32_t nparts, next, running;
    uint64_t part_size;
    int rc;
    cf_err err;
} mpu;

static void part_done(void *ctx, int rc, const cf_err *err, s3c_result *res)
{
    mpu_part *p = ctx;
    mpu *m = p->m;
    char hex[33];
    hex_encode(p->md5, 16, hex, sizeof hex);
    cf_err local;
    if (rc == 0 && etag_is(res->etag, hex, "an UploadPart", &local) < 0) {
        rc = -1;
        err = &local;
    }
    if (rc == 0)
        snprintf(p->etag, sizeof p->etag, "%s", res->etag);
    if (rc < 0 && m->rc == 0) {
        m->rc = -1;
        m->err = *err;
    }
    tier_part_close(&p->body);
    p->running = false;
    p->done = true;
    m->running--;
}

/* Start the next part: its reader, its MD5, its request. */
static int start_part(mpu *m, cf_err *err)
{
    mpu_part *p = &m->parts[m->next];
    p->m = m;
    p->number = m->next + 1;
    uint64_t base = (uint64_t)m->next * m->part_size;
    uint64_t len = m->src->length - base < m->part_size ? m->src->length - base
                                                        : m->part_size;
    char hex[33];
    if (tier_part_open(&p->body, m->src, base, len, err) < 0 ||
        tier_part_md5(&p->body, p->md5, hex, p->b64, err) < 0) {
        tier_part_close(&p->body);
        return -1;
    }
    s3c_op op = {.kind = S3C_MPU_PART, .bucket = m->t->bucket, .key = m->key,
                 .upload_id = m->upload_id, .part_number = p->number, .body = &p->body.body,
                 .payload = S3C_UNSIGNED, .checksum = S3C_CKS_MD5, .checksum_value = p->b64};
    if (s3c_start(m->c, &op, part_done, p, err) < 0) {
        tier_part_close(&p->body);
        return -1;
    }
    p->running = true;
    m->running++;
    m->next++;
    return 0;
}

/* The multipart ETag S3 computes: MD5 of the parts' MD5s, "-N". */
static void multipart_etag(const mpu *m, char out[48])
{
    cf_err err;
    uint8_t raw[CKS_MAX_RAW] = {0};
    char hex[33];
    cks_state *md5 = cks_new(CKS_MD5, &err);
    for (uint32_t i = 0; md5 && i < m->nparts; i++)
        cks_update(md5, m->parts[i].md5, 16);
    if (md5)
        cks_final(md5, raw);
    cks_free(md5);
    hex_encode(raw, 16, hex, sizeof hex);
    snprintf(out, 48, "%s-%u", hex, m->nparts);
}

static int run_parts(mpu *m, int parallel, cf_err *err)
{
    while (m->rc == 0 && (m->next < m->nparts || m->running > 0)) {
        while (m->rc == 0 && m->next < m->nparts && m->running < (uint32_t)parallel)
            if (start_part(m, err) < 0)
                return -1;
        if (s3c_run(m->c, 1000, err) < 0)
            return -1;
    }
    if (m->rc < 0) {
        *err = m->err;
        return -1;
    }
    return 0;
}

static int complete(mpu *m, char etag[TIER_ETAG_MAX], cf_err *err)
{
    s3c_part *list = calloc(m->nparts, sizeof *list);
    if (!list)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < m->nparts; i++)
        list[i] = (s3c_part){.number = i + 1, .etag = m->parts[i].etag};
    s3c_op op = {.kind = S3C_MPU_COMPLETE, .bucket = m->t->bucket, .key = m->key,
                 .upload_id = m->upload_id, .parts = list, .nparts = m->nparts};
    s3c_result res;
    char want[48];
    multipart_etag(m, want);
    int rc = s3c_exec(m->c, &op, &res, err);
    /* Ceph RGW 16 answers an empty ETag here: the HEAD below checks it */
    if (rc == 0 && res.etag[0])
        rc = etag_is(res.etag, want, "CompleteMultipartUpload", err);
    s3c_result_free(&res);
    free(list);
    return rc == 0 ? verify_head(m->t, m->c, m->key, m->src->length, want, etag, err) : -1;
}

static int put_multipart(s3_tier *t, s3c_client *c, const char *key, const tier_src *src,
                         char etag[TIER_ETAG_MAX], cf_err *err)
{
    mpu m = {.t = t, .c = c, .src = src, .key = key};
    uint64_t need = (src->length + MAX_PARTS - 1) / MAX_PARTS;
    m.part_size = t->lim.part_size > need ? t->lim.part_size : need;
    m.part_size = (m.part_size + (1u << 20) - 1) / (1u << 20) * (1u << 20);
    m.nparts = (uint32_t)((src->length + m.part_size - 1) / m.part_size);
    if (!(m.parts = calloc(m.nparts, sizeof *m.parts)))
        return cf_fail(err, CF_ENOMEM, "out of memory");
    s3c_header h[1];
    size_t nh;
    class_header(t, h, &nh);
    s3c_op op = {.kind = S3C_MPU_CREATE, .bucket = t->bucket, .key = key,
                 .content_type = "application/octet-stream", .headers = h, .nheaders = nh};
    s3c_result res;
    int rc = s3c_exec(c, &op, &res, err);
    if (rc == 0)
        snprintf(m.upload_id, sizeof m.upload_id, "%s", res.upload_id);
    s3c_result_free(&res);
    if (rc == 0 && src->on_upload_id)
        rc = src->on_upload_id(src->ctx, m.upload_id, err);
    if (rc == 0)
        rc = run_parts(&m, t->lim.parallel_parts > 0 ? t->lim.parallel_parts : 1, err);
    if (rc == 0)
        rc = complete(&m, etag, err);
    s3c_abort(c);                /* parts still in flight after a failure */
    for (uint32_t i = 0; i < m.nparts; i++)
        tier_part_close(&m.parts[i].body);
    free(m.parts);
    return rc;
}

static int s3_put(void *impl, const char *name, const tier_src *src,
                  char etag[TIER_ETAG_MAX], cf_err *err)
{
    s3_tier *t = impl;
    char *key = object_key(t, name, err);
    s3c_client *c = key ? new_client(t, t->lim.max_bytes_per_s, err) : NULL;
    int rc = !c ? -1
           : src->length > t->lim.multipart_threshold ? put_multipart(t, c, key, src, etag, err)
                                                      : put_single(t, c, key, src, etag, err);
    s3c_client_free(c);
    free(key);
    return rc;
}

/* ---- reads ---------------------------------------------------------------------- */

static void stream_done(void *ctx, int rc, const cf_err *err, s3c_result *res)
{
    (void)res;
    tier_pull_done(&((tier_stream *)ctx)->pull, rc, err);
}

static int s3_stream_open(void *impl, const char *name, uint64_t off, uint64_t len,
                          void **stream, cf_err *err)
{
    s3_tier *t = impl;
    tier_stream *s;
    if (tier_stream_begin(&t->pool, t->prefix, name, len, &s, err) < 0)
        return -1;
    s3c_op op = {.kind = S3C_GET_OBJECT, .bucket = t->bucket, .key = s->name, .range = true,
                 .range_start = off, .range_len = len, .sink = tier_pull_sink,
                 .sink_ctx = &s->pull};
    if (s3c_start(s->client, &op, stream_done, s, err) < 0) {
        tier_stream_close(s);
        return -1;
    }
    *stream = s;
    return 0;
}

/* ---- deletes and the probe ------------------------------------------------------------ */

static int abort_upload(s3_tier *t, s3c_client *c, const char *key, const char *upload_id,
                        cf_err *err)
{
    s3c_result res;
    s3c_op op = {.kind = S3C_MPU_ABORT, .bucket = t->bucket, .key = key,
                 .upload_id = upload_id};
    int rc = s3c_exec(c, &op, &res, err);
    if (rc < 0 && err->code == CF_ENOUPLOAD)
        rc = 0;                      /* completed or aborted already */
    s3c_result_free(&res);
    return rc;
}

/* Abort every unfinished upload of exactly this key. */
static int sweep_uploads(s3_tier *t, s3c_client *c, const char *key, cf_err *err)
{
    s3c_result res;
    s3c_op op = {.kind = S3C_LIST_UPLOADS, .bucket = t->bucket, .prefix = key};
    int rc = s3c_exec(c, &op, &res, err);
    for (size_t i = 0; rc == 0 && res.listing && i < res.listing->nobjects; i++)
        if (strcmp(res.listing->objects[i].key, key) == 0)
            rc = abort_upload(t, c, key, res.listing->objects[i].upload_id, err);
    s3c_result_free(&res);
    return rc;
}

static int s3_del(void *impl, const char *name, const char *upload_id, bool sweep,
                  cf_err *err)
{
    s3_tier *t = impl;
    char *key = object_key(t, name, err);
    s3c_client *c = key ? tier_pool_take(&t->pool, err) : NULL;
    int rc = c ? 0 : -1;
    s3c_result res;
    if (rc == 0 && upload_id && *upload_id)
        rc = abort_upload(t, c, key, upload_id, err);
    if (rc == 0 && sweep)
        rc = sweep_uploads(t, c, key, err);
    if (rc == 0) {
        s3c_op op = {.kind = S3C_DELETE_OBJECT, .bucket = t->bucket, .key = key};
        rc = s3c_exec(c, &op, &res, err);
        s3c_result_free(&res);
    }
    tier_pool_give(&t->pool, c);
    free(key);
    return rc;
}

/* The cursor is the last name of the page (ListObjectsV2's start-after). */
static int s3_list(void *impl, const char *after, tier_list_cb cb, void *ctx,
                   char next[TIER_CURSOR_MAX], cf_err *err)
{
    s3_tier *t = impl;
    next[0] = '\0';
    char *start = object_key(t, after, err);
    s3c_client *c = start ? tier_pool_take(&t->pool, err) : NULL;
    int rc = c ? 0 : -1;
    s3c_result res = {0};
    s3c_op op = {.kind = S3C_LIST_OBJECTS, .bucket = t->bucket, .prefix = t->prefix,
                 .start_after = *after ? start : NULL};
    if (rc == 0)
        rc = s3c_exec(c, &op, &res, err);
    size_t plen = strlen(t->prefix);
    for (size_t i = 0; rc == 0 && res.listing && i < res.listing->nobjects; i++) {
        const s3c_object *o = &res.listing->objects[i];
        if (strncmp(o->key, t->prefix, plen) != 0)
            continue;
        tier_listed l = {.name = o->key + plen, .size = o->size, .etag = o->etag};
        rc = cb(ctx, &l, err);
        if (rc == 0 && res.listing->truncated &&
            snprintf(next, TIER_CURSOR_MAX, "%s", l.name) >= TIER_CURSOR_MAX)
            rc = cf_fail(err, CF_EIO, "the remote lists a name longer than %d bytes",
                         TIER_CURSOR_MAX - 1);
    }
    s3c_result_free(&res);
    tier_pool_give(&t->pool, c);
    free(start);
    return rc;
}

static int s3_probe(void *impl, cf_err *err)
{
    s3_tier *t = impl;
    uint8_t data[TIER_PROBE_BYTES];
    char name[TIER_PROBE_NAME], where[CF_ERRMSG_MAX / 2], *key = NULL;
    if (tier_probe_data(data, name, err) < 0)
        return -1;
    snprintf(where, sizeof where, "in bucket %s at %s", t->bucket, t->endpoint);
    s3c_client *c = (key = object_key(t, name, err)) ? tier_pool_take(&t->pool, err) : NULL;
    if (!c) {
        free(key);
        return -1;
    }
    s3c_body body;
    s3c_mem mem;
    s3c_body_mem(&body, &mem, data, sizeof data);
    s3c_op put = {.kind = S3C_PUT_OBJECT, .bucket = t->bucket, .key = key, .body = &body,
                  .payload = S3C_SIGNED, .checksum = S3C_CKS_MD5,
                  .content_type = "application/octet-stream"};
    s3c_result res;
    int rc = tier_probe_step(s3c_exec(c, &put, &res, err), "write", where, err);
    s3c_result_free(&res);
    if (rc == 0) {
        s3c_op get = {.kind = S3C_GET_OBJECT, .bucket = t->bucket, .key = key};
        rc = tier_probe_step(s3c_exec(c, &get, &res, err), "read back", where, err);
        if (rc == 0 && (res.body_len != sizeof data || memcmp(res.body, data, sizeof data)))
            rc = cf_fail(err, CF_ECORRUPT, "the tier's probe read back other bytes than it "
                         "wrote %s", where);
        s3c_result_free(&res);
        s3c_op del = {.kind = S3C_DELETE_OBJECT, .bucket = t->bucket, .key = key};
        cf_err derr;
        int drc = tier_probe_step(s3c_exec(c, &del, &res, &derr), "delete", where, &derr);
        s3c_result_free(&res);
        if (rc == 0 && drc < 0) {
            *err = derr;
            rc = -1;
        }
    }
    tier_pool_give(&t->pool, c);
    free(key);
    return rc;
}

const tier_type tier_type_s3 = {
    .name = "s3",
    .configure = s3_configure,
    .open = s3_open,
    .close = s3_close,
    .probe = s3_probe,
    .put = s3_put,
    .stream_open = s3_stream_open,
    .stream_read = tier_stream_read,
    .stream_close = tier_stream_close,
    .del = s3_del,
    .list = s3_list,
};
