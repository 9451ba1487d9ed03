/*
 * storage/put.c - the PUT path: st_put_* (a plain PUT and an UploadPart
 * alike) and st_copy, a PUT fed from a GET.
 *
 * A PUT streams into a segment writer (segwrite.c) while MD5 (the ETag)
 * and the client's checksum algorithm are computed over the same bytes (a
 * signed payload's SHA-256 is the front end's check: it covers every
 * request body, but st_put_write_hashed takes the front end's hash state
 * so that MD5 and SHA-256 read each slice of the body together, while it
 * is in cache, in one stitched pass: common/md5sha.c; the same loop stores
 * the bytes into the segment writer's block, segw_write_pass). At finish the digests are checked, the shards made
 * durable, and then one index transaction makes the new version (or part)
 * visible and moves what it replaces to the delete queue: that
 * transaction is the commit point, and the quotas (quota.c) are decided
 * in it; with a declared size they are also asked before any data is
 * read, so a PUT over quota is refused without taking its body. Until it
 * commits, nothing is visible; if it fails, the new shards are removed. The rows are written by their
 * tables' files (object.c, upload.c); nothing here holds the index lock
 * across disk I/O.
 *
 * A conditional PUT (If-None-Match / If-Match) is checked twice: at begin,
 * so that a write that cannot succeed is refused before its body, and
 * again inside the commit transaction, which is what decides: of racing
 * writers only the condition seen at the commit counts. An SSE-C PUT (or
 * a part of an SSE-C upload) wraps its data key under the key derived
 * from the customer's (eng_ssec_kek) and gets an opaque ETag.
 *
 * For rebuild-index: the shard headers carry the version's (or part's)
 * metadata (shard.h: shard_meta; its time is the row's mtime, taken once
 * before the headers are written), and the commit of an inline object or
 * part appends its journal record (journal.h) under the same lock hold.
 */
#include "storage/engine_int.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/checksum.h"
#include "common/hex.h"

struct st_put {
    st_engine *e;
    char tenant[ST_MAX_TENANT + 1];
    char bucket[ST_MAX_BUCKET + 1];
    char key[ST_MAX_KEY + 1];
    int64_t bucket_id;
    uint8_t object_id[16];           /* new version id, or the upload id */
    uint8_t data_id[CRYPT_DATA_ID_LEN];
    uint8_t wrapped[CRYPT_WRAPPED_LEN];
    uint32_t part;                   /* 0 for a plain PUT */
    int64_t expected;
    int64_t begin_ms;                /* when the PUT began (conditional writes) */
    st_write_cond cond;              /* if_match: a copy, owned */
    cks_algo algo;                   /* the checksum computed (a part: the upload's) */
    char *headers_json;
    st_write_opts opts;
    bool null_version;               /* the commit made the key's null version */
    bool versioned_bucket;           /* ... in a bucket whose versioning was set */
    tiering_attrs attrs;             /* storage class, tags (not for parts) */
    seg_writer *w;
    cks_state *md5, *cks;
    bool has_ssec;                   /* SSE-C: ssec is stored, ssec_kek wraps */
    uint8_t ssec[CRYPT_SSEC_LEN];
    uint8_t ssec_kek[CRYPT_KEY_LEN];
    int64_t mtime_ms;                /* the version's (or part's) time */
    /* a part: its upload's */
    int64_t upload_created_ms;
    cks_algo upload_algo;
    char *upload_headers;
};

static void put_free(st_put *p)
{
    segw_abort(p->w);
    cks_free(p->md5);
    cks_free(p->cks);
    free(p->headers_json);
    free((char *)p->cond.if_match);
    crypt_wipe(p->ssec_kek, sizeof p->ssec_kek);
    free(p->upload_headers);
    tiering_attrs_clear(&p->attrs);
    free(p);
}

static void lowercase(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* A part takes its upload's checksum algorithm; another one is refused as
 * S3 refuses it. */
static int part_algo(st_put *p, cks_algo upload, cks_algo given, cf_err *err)
{
    if (upload != CKS_NONE && given != CKS_NONE && given != upload) {
        char want[16], got[16];
        snprintf(want, sizeof want, "%s", cks_algo_name(upload));
        snprintf(got, sizeof got, "%s", cks_algo_name(given));
        lowercase(want);
        lowercase(got);
        return cf_fail(err, CF_EINVAL, "Checksum Type mismatch occurred, expected "
                       "checksum Type: %s, actual checksum Type: %s", want, got);
    }
    p->algo = upload != CKS_NONE ? upload : given;
    return 0;
}

/* Do the quotas admit `size` bytes for this PUT? A part counts with the
 * upload's other parts: together they become the object. */
static int put_admit_locked(st_put *p, uint64_t size, cf_err *err)
{
    st_engine *e = p->e;
    idx_assert_held(e->ix);
    uint64_t others = 0;
    if (p->part && upload_bytes_locked(e, p->object_id, p->part, &others, err) < 0)
        return -1;
    return quota_admit_locked(e, p->bucket_id, p->key, others + size, err);
}

/* S3's rule: data that will be under object lock comes with a digest the
 * client computed (Content-MD5 or an x-amz-checksum-*), so what is kept
 * for years is what was sent. Asked only of a request without one. */
static int put_digest_check_locked(st_put *p, const st_put_args *a, bool upload_locked,
                                   cf_err *err)
{
    idx_assert_held(p->e->ix);
    bucket_lock b;
    bool asked = !p->part && (a->opts.lock_mode != ST_LOCK_NONE ||
                              a->opts.legal_hold != ST_HOLD_UNSET);
    if (!asked && !upload_locked) {
        if (bucket_state_locked(p->e, p->bucket_id, &b, err) < 0)
            return -1;
        if (!b.object_lock || b.mode == ST_LOCK_NONE)
            return 0;
    }
    return cf_fail(err, CF_EBUCKETSTATE, "Content-MD5 OR x-amz-checksum- HTTP header is "
                   "required for %s requests with Object Lock parameters",
                   p->part ? "Put Part" : "Put Object");
}

/* Under the index lock, before any data is read: the bucket, the upload
 * (a part; and the customer key against the upload's) or the condition
 * and no_overwrite (a PUT), a digest where object lock asks for one, and
 * with a known size the quotas. */
static int put_resolve(st_put *p, const st_put_args *a, cf_err *err)
{
    st_engine *e = p->e;
    upload_ref ref = {0};
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, a->tenant, a->bucket, &p->bucket_id, err);
    if (rc == 0 && p->part) {
        rc = upload_check_locked(e, p->object_id, p->bucket_id, p->key, &ref, err);
        if (rc == 0)
            rc = part_algo(p, ref.algo, a->checksum_algo, err);
        if (rc == 0)
            rc = eng_ssec_kek(e, a->tenant, ref.has_ssec ? ref.ssec : NULL, a->ssec_key,
                              p->ssec_kek, &p->has_ssec, err);
    } else if (rc == 0) {
        p->algo = a->checksum_algo;
        rc = obj_check_cond_locked(e, p->bucket_id, p->key, &p->cond, INT64_MAX, err);
    }
    if (rc == 0 && a->no_digest)
        rc = put_digest_check_locked(p, a, ref.locked, err);
    if (rc == 0 && a->expected_size >= 0)
        rc = put_admit_locked(p, (uint64_t)a->expected_size, err);
    sqlite3_stmt *st;
    int found = rc == 0 && !p->part && p->opts.no_overwrite
                    ? obj_select_locked(e, p->bucket_id, p->key, &st, err) : 0;
    if (found == 1) {              /* refused before the body; the commit checks again */
        idx_done(st);
        rc = cf_fail(err, CF_EDENIED, "Access Denied: this access key may not overwrite "
                     "an existing object");
    } else if (found < 0) {
        rc = -1;
    }
    if (rc == 0 && p->part)
        rc = upload_info_locked(e, p->object_id, &p->upload_created_ms, &p->upload_algo,
                                &p->upload_headers, err);
    idx_unlock(e->ix);
    if (rc == 0 && !p->part && a->ssec_key) {
        rc = crypt_ssec_new(a->ssec_key, p->ssec, err);
        if (rc == 0)
            rc = eng_ssec_kek(e, a->tenant, p->ssec, a->ssec_key, p->ssec_kek,
                              &p->has_ssec, err);
    }
    return rc;
}

static int put_prepare(st_put *p, const st_put_args *a, cf_err *err)
{
    if (obj_check_key(a->key, err) < 0)
        return -1;
    if (strlen(a->tenant) > ST_MAX_TENANT || strlen(a->bucket) > ST_MAX_BUCKET)
        return cf_fail(err, CF_EINVAL, "tenant or bucket name too long");
    if (a->expected_size > (int64_t)ST_MAX_PUT_SIZE)
        return cf_fail(err, CF_ETOOLARGE, "objects and parts are at most 5 GiB");
    snprintf(p->tenant, sizeof p->tenant, "%s", a->tenant);
    snprintf(p->bucket, sizeof p->bucket, "%s", a->bucket);
    snprintf(p->key, sizeof p->key, "%s", a->key);
    p->expected = a->expected_size;
    p->begin_ms = eng_now_ms();
    p->cond.if_none_match = a->cond.if_none_match;
    if (a->cond.if_match && !(p->cond.if_match = strdup(a->cond.if_match)))
        return cf_fail(err, CF_ENOMEM, "out of memory");
    p->opts = a->opts;
    if (a->upload_id) {
        if (a->part_number < 1 || a->part_number > ST_MAX_PARTS)
            return cf_fail(err, CF_EINVAL, "part numbers are 1 to %d", ST_MAX_PARTS);
        if (eng_id_from_hex(a->upload_id, p->object_id) < 0)
            return cf_fail(err, CF_ENOUPLOAD, "no such upload");
        p->part = a->part_number;
    } else {
        if (headers_check(a->headers, a->nheaders, err) < 0 ||
            !(p->headers_json = headers_to_json(a->headers, a->nheaders, err)) ||
            crypt_random(p->object_id, sizeof p->object_id, err) < 0 ||
            tiering_attrs_prepare(p->e, &a->attrs, a->ssec_key != NULL, &p->attrs, err) < 0)
            return -1;
    }
    if (put_resolve(p, a, err) < 0 || crypt_random(p->data_id, sizeof p->data_id, err) < 0)
        return -1;
    if (!(p->md5 = cks_new(CKS_MD5, err)) ||
        (p->algo != CKS_NONE && !(p->cks = cks_new(p->algo, err))))
        return -1;
    seg_desc d;
    if (eng_segment_desc(p->e, a->tenant, a->bucket, a->key, p->object_id, p->part,
                         p->data_id, NULL, p->has_ssec ? p->ssec_kek : NULL, &d, err) < 0)
        return -1;
    memcpy(p->wrapped, d.header.wrapped, sizeof p->wrapped);
    p->w = segw_new(&d, p->e->inline_max, err);
    crypt_wipe(d.dk, sizeof d.dk);
    return p->w ? 0 : -1;
}

int st_put_begin(st_engine *e, const st_put_args *args, st_put **out, cf_err *err)
{
    st_put *p = calloc(1, sizeof *p);
    if (!p)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    p->e = e;
    if (put_prepare(p, args, err) < 0) {
        put_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

/* The body's digests, taken in the pass that copies it into the block:
 * MD5 (the ETag) with the chunk's or payload's SHA-256 in one loop that
 * also stores the bytes, then the S3 checksum over the copy while it is in
 * cache. */
typedef struct put_pass_ctx {
    st_put *p;
    cks_state *also;
} put_pass_ctx;

static void put_pass(void *ctx, void *dst, const void *src, size_t n)
{
    put_pass_ctx *pc = ctx;
    cks_update2_copy(pc->p->md5, pc->also, dst, src, n);
    if (pc->p->cks)
        cks_update(pc->p->cks, dst ? dst : src, n);
}

int st_put_write_hashed(st_put *p, const void *data, size_t len, cks_state *also,
                        cf_err *err)
{
    uint64_t total = segw_size(p->w) + len;
    if (total > ST_MAX_PUT_SIZE || (p->expected >= 0 && total > (uint64_t)p->expected))
        return cf_fail(err, CF_ETOOLARGE, "body is larger than %s",
                       p->expected >= 0 ? "its declared length" : "5 GiB");
    put_pass_ctx pc = {p, also};
    return segw_write_pass(p->w, data, len, put_pass, &pc, err);
}

int st_put_write(st_put *p, const void *data, size_t len, cf_err *err)
{
    return st_put_write_hashed(p, data, len, NULL, err);
}

typedef struct put_digests {
    uint8_t md5[16];                 /* the ETag's bytes: the MD5, or SSE-C's opaque tag */
    char etag[ST_ETAG_MAX];
    char cks_b64[CKS_MAX_B64];
} put_digests;

/* Finalise the digests and compare them with what the client declared. */
static int put_verify(st_put *p, const st_put_expect *x, put_digests *dg, cf_err *err)
{
    uint8_t raw[CKS_MAX_RAW];
    char hex[33];
    cks_final(p->md5, raw);
    memcpy(dg->md5, raw, 16);
    if (p->expected >= 0 && segw_size(p->w) != (uint64_t)p->expected)
        return cf_fail(err, CF_EINVAL, "body has %llu bytes, %lld were declared",
                       (unsigned long long)segw_size(p->w), (long long)p->expected);
    if (x && x->content_md5 && CRYPTO_memcmp(x->content_md5, dg->md5, 16) != 0)
        return cf_fail(err, CF_EDIGEST, "Content-MD5 does not match the body");
    if (p->has_ssec)
        crypt_ssec_etag(p->ssec_kek, raw, dg->md5);
    hex_encode(dg->md5, 16, hex, sizeof hex);
    snprintf(dg->etag, sizeof dg->etag, "\"%s\"", hex);
    if (p->cks) {
        size_t n = cks_final(p->cks, raw);
        cks_to_base64(raw, n, dg->cks_b64, sizeof dg->cks_b64);
        if (x && x->checksum_b64 && strcmp(x->checksum_b64, dg->cks_b64) != 0)
            return cf_fail(err, CF_EDIGEST, "the %s checksum does not match the body",
                           cks_algo_name(cks_state_algo(p->cks)));
    }
    return 0;
}

/* The commit point of a plain PUT: the new version replaces the key's
 * current one, whose segments go to the delete queue. */
static int commit_object_locked(st_put *p, const put_digests *dg,
                                const seg_result *res, cf_err *err)
{
    st_engine *e = p->e;
    idx_assert_held(e->ix);
    obj_row o = {
        .bucket_id = p->bucket_id, .key = p->key, .version_id = p->object_id,
        .size = res->size, .etag = dg->etag, .mtime_ms = p->mtime_ms,
        .algo = p->algo, .checksum_b64 = p->cks ? dg->cks_b64 : NULL,
        .headers_json = p->headers_json, .ssec = p->has_ssec ? p->ssec : NULL,
    };
    int rc = idx_begin(e->ix, err);
    if (rc == 0)
        rc = obj_check_cond_locked(e, p->bucket_id, p->key, &p->cond, p->begin_ms, err);
    if (rc == 0)
        rc = put_admit_locked(p, res->size, err);
    if (rc == 0)
        rc = obj_publish_locked(e, &o, &p->opts, &p->null_version,
                                &p->versioned_bucket, err);
    if (rc == 0)
        rc = obj_insert_segment_locked(e, p->object_id, 0, p->data_id, 0, p->wrapped, res,
                                       err);
    if (rc == 0)
        rc = tiering_attrs_store_locked(e, p->object_id, &p->attrs, err);
    if (rc == 0)
        return idx_commit(e->ix, err);
    idx_rollback(e->ix);
    return -1;
}

/* The commit point of an UploadPart: replaces an earlier upload of the part. */
static int commit_part_locked(st_put *p, const put_digests *dg, const seg_result *res,
                              cf_err *err)
{
    st_engine *e = p->e;
    idx_assert_held(e->ix);
    upload_part_row r = {
        .upload_id = p->object_id, .part = p->part, .data_id = p->data_id,
        .size = res->size, .etag = dg->etag, .md5 = dg->md5,
        .checksum_b64 = p->cks ? dg->cks_b64 : NULL, .mtime_ms = p->mtime_ms,
        .wrapped = p->wrapped, .res = res,
    };
    int rc = idx_begin(e->ix, err);
    if (rc == 0)
        rc = upload_check_locked(e, p->object_id, p->bucket_id, p->key, NULL, err);
    if (rc == 0)
        rc = put_admit_locked(p, res->size, err);
    if (rc == 0)
        rc = upload_put_part_locked(e, &r, err);
    if (rc == 0)
        return idx_commit(e->ix, err);
    idx_rollback(e->ix);
    return -1;
}

static void put_fill_info(const st_put *p, const put_digests *dg, const seg_result *res,
                          st_object_info *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->key, sizeof info->key, "%s", p->key);
    eng_id_to_hex(p->object_id, info->version_id);
    info->null_version = p->null_version;
    info->versioned_bucket = p->versioned_bucket;
    info->latest = true;
    info->size = res->size;
    snprintf(info->etag, sizeof info->etag, "%s", dg->etag);
    info->mtime_ms = p->mtime_ms;
    info->checksum_algo = p->algo;
    snprintf(info->checksum_b64, sizeof info->checksum_b64, "%s", dg->cks_b64);
    info->ssec = p->has_ssec;
}

/* What the shard headers carry of the object (or the part and its
 * upload), for rebuild-index. */
static void put_meta(st_put *p, const put_digests *dg)
{
    shard_meta m = {.mtime_ms = p->mtime_ms, .upload_created_ms = p->upload_created_ms};
    snprintf(m.etag, sizeof m.etag, "%s", dg->etag);
    if (p->cks)
        snprintf(m.cks_b64, sizeof m.cks_b64, "%s", dg->cks_b64);
    m.cks_algo = (uint8_t)(p->part ? p->upload_algo
                                   : p->cks ? cks_state_algo(p->cks) : CKS_NONE);
    const char *headers = p->part ? p->upload_headers : p->headers_json;
    if (headers && strlen(headers) > SHARD_META_HEADERS_MAX)
        m.headers_cut = true;
    else if (headers)
        snprintf(m.headers, sizeof m.headers, "%s", headers);
    segw_set_meta(p->w, &m);
}

/* The journal's record of the commit just made (journal.h). */
static void put_journal_locked(st_put *p, const put_digests *dg, const seg_result *res)
{
    st_engine *e = p->e;
    idx_assert_held(e->ix);
    if (p->part && res->inline_data) {
        jrnrec_part r = {.upload_id = p->object_id, .data_id = p->data_id,
                         .wrapped = p->wrapped, .md5 = dg->md5, .part = p->part,
                         .size = res->size, .etag = dg->etag,
                         .cks = p->cks ? dg->cks_b64 : NULL, .mtime_ms = p->mtime_ms,
                         .sealed = res->inline_data, .sealed_len = res->inline_len};
        jrnrec_part_locked(e, &r);
        return;
    }
    if (p->part)
        return;
    if (res->inline_data) {
        jrnrec_object o = {.tenant = p->tenant, .bucket = p->bucket, .key = p->key,
                           .version_id = p->object_id, .data_id = p->data_id,
                           .wrapped = p->wrapped, .size = res->size, .etag = dg->etag,
                           .mtime_ms = p->mtime_ms,
                           .cks_algo = p->cks ? (int)cks_state_algo(p->cks) : CKS_NONE,
                           .cks = p->cks ? dg->cks_b64 : NULL, .headers = p->headers_json,
                           .sealed = res->inline_data, .sealed_len = res->inline_len};
        jrnrec_put_locked(e, &o);
    }
}

int st_put_finish(st_put *p, const st_put_expect *expect, st_object_info *info,
                  cf_err *err)
{
    put_digests dg = {0};
    seg_result res = {0};
    st_engine *e = p->e;
    int rc = put_verify(p, expect, &dg, err);
    if (rc == 0) {
        p->mtime_ms = eng_now_ms();
        put_meta(p, &dg);
        rc = segw_finish(p->w, &res, err);
        p->w = NULL;
    }
    if (rc == 0) {
        idx_lock(e->ix);
        rc = p->part ? commit_part_locked(p, &dg, &res, err)
                     : commit_object_locked(p, &dg, &res, err);
        if (rc == 0)
            put_journal_locked(p, &dg, &res);
        /* Only a commit that failed may take its shards with it: one that
         * committed but could not be made durable may be visible now. */
        if (rc < 0 && !res.inline_data)
            seg_unlink(&e->set, p->data_id);
        rc = eng_unlock_durable(e, rc, err);
    }
    if (rc == 0) {
        if (info)
            put_fill_info(p, &dg, &res, info);
        deleteq_drain(e);
    }
    seg_result_done(&res);
    put_free(p);
    return rc;
}

void st_put_abort(st_put *p)
{
    if (p)
        put_free(p);
}

/* ---- COPY --------------------------------------------------------------- */

#define COPY_CHUNK (1u << 20)

static int copy_stream(st_get *g, st_put *p, uint64_t size, cf_err *err)
{
    uint8_t *buf = malloc(COPY_CHUNK);
    if (!buf)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    int rc = 0;
    for (uint64_t off = 0; rc == 0 && off < size;) {
        size_t n = 0;
        rc = st_get_read(g, off, buf, COPY_CHUNK, &n, err);
        if (rc == 0 && n == 0)
            rc = cf_fail(err, CF_EINTERNAL, "source ended early");
        if (rc == 0)
            rc = st_put_write(p, buf, n, err);
        off += n;
    }
    free(buf);
    return rc;
}

int st_copy(st_engine *e, const st_copy_args *a, st_object_info *info, cf_err *err)
{
    st_object_info src;
    st_get *g = NULL;
    if (st_get_open_ssec(e, a->dst.tenant, a->src_bucket, a->src_key, a->src_version,
                         a->src_ssec_key, &src, &g, err) < 0)
        return -1;
    st_put_args d = a->dst;
    if (!d.headers) {
        d.headers = src.headers;
        d.nheaders = src.nheaders;
    }
    d.upload_id = NULL;
    d.expected_size = (int64_t)src.size;
    st_put *p = NULL;
    int rc = st_put_begin(e, &d, &p, err);
    if (rc == 0 && p->attrs.keep_tags) {     /* x-amz-tagging-directive COPY */
        idx_lock(e->ix);
        rc = tags_json_locked(e, g->version_id, &p->attrs.tags_json, err);
        idx_unlock(e->ix);
    }
    st_get_range_hint(g, 0, src.size);
    if (rc == 0)
        rc = copy_stream(g, p, src.size, err);
    if (rc == 0) {
        rc = st_put_finish(p, NULL, info, err);
        p = NULL;
    }
    st_put_abort(p);
    st_get_close(g);
    st_object_info_clear(&src);
    return rc;
}
