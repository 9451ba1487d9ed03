/*
 * storage/object.c - objects: PUT (also used for multipart parts), GET,
 * HEAD, DELETE, server-side copy and listing.
 *
 * A PUT streams into a segment writer while MD5 (the ETag) and the client's
 * checksum algorithm are computed over the same bytes (a signed payload's
 * SHA-256 is the front end's check: it covers every request body). At
 * finish the digests are checked, the shards made durable (segment.c),
 * and then one index transaction makes the new
 * version visible and moves the version it replaces to the delete queue:
 * that transaction is the commit point. Until it commits, nothing is
 * visible; if it fails, the new shards are removed.
 *
 * A GET resolves the version and its segments once, at open, and reads
 * them block by block, holding one decoded block. It registers as a
 * reader first, so segments it resolved are not unlinked under it.
 */
#include "storage/engine_int.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/checksum.h"

/* ---- object rows -------------------------------------------------------- */

#define OBJ_COLUMNS "key, version_id, size, etag, mtime_ms, cks_algo, cks, " \
                    "cks_composite, nparts, headers"

/* Fill info from a row selected with OBJ_COLUMNS; headers only if asked. */
static int fill_object_info(sqlite3_stmt *st, st_object_info *info, bool headers,
                            cf_err *err)
{
    memset(info, 0, sizeof *info);
    int klen = sqlite3_column_bytes(st, 0);
    if (klen > ST_MAX_KEY)
        return cf_fail(err, CF_ECORRUPT, "index: stored key too long");
    memcpy(info->key, sqlite3_column_blob(st, 0), (size_t)klen);
    info->key[klen] = '\0';
    uint8_t vid[16];
    if (idx_blob(st, 1, vid, sizeof vid) < 0)
        return cf_fail(err, CF_ECORRUPT, "index: bad version id");
    eng_id_to_hex(vid, info->version_id);
    info->size = (uint64_t)idx_int(st, 2);
    snprintf(info->etag, sizeof info->etag, "%s", idx_text(st, 3));
    info->mtime_ms = idx_int(st, 4);
    int64_t algo = idx_int(st, 5);
    info->checksum_algo = algo > CKS_NONE && algo < CKS_MD5 ? (cks_algo)algo : CKS_NONE;
    snprintf(info->checksum_b64, sizeof info->checksum_b64, "%s", idx_text(st, 6));
    info->checksum_composite = idx_int(st, 7) != 0;
    info->nparts = (int)idx_int(st, 8);
    if (!headers)
        return 0;
    return eng_headers_from_json(idx_text(st, 9), &info->headers, &info->nheaders, err);
}

void st_object_info_clear(st_object_info *info)
{
    eng_headers_free(info->headers, info->nheaders);
    info->headers = NULL;
    info->nheaders = 0;
}

const char *st_object_header(const st_object_info *info, const char *name)
{
    for (size_t i = 0; i < info->nheaders; i++)
        if (strcmp(info->headers[i].name, name) == 0)
            return info->headers[i].value;
    return NULL;
}

/* Look up the current row of (bucket_id, key): 1 found, 0 absent, -1 error.
 * On 1 the statement is left on the row; the caller calls idx_done. */
static int select_object_locked(st_engine *e, int64_t bucket_id, const char *key,
                                sqlite3_stmt **out, cf_err *err)
{
    *out = idx_query(e->ix, err,
                     "SELECT " OBJ_COLUMNS " FROM objects WHERE bucket_id = ? AND key = ?",
                     "ib", bucket_id, key, strlen(key));
    return *out ? idx_next(e->ix, *out, err) : -1;
}

static int check_key(const char *key, cf_err *err)
{
    size_t n = strlen(key);
    if (n == 0)
        return cf_fail(err, CF_EINVAL, "object keys may not be empty");
    if (n > ST_MAX_KEY)
        return cf_fail(err, CF_ETOOLARGE, "object key is %zu bytes; at most %d",
                       n, ST_MAX_KEY);
    return 0;
}

/* ---- PUT ---------------------------------------------------------------- */

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
    char *headers_json;
    seg_writer *w;
    cks_state *md5, *cks;
};

static void put_free(st_put *p)
{
    segw_abort(p->w);
    cks_free(p->md5);
    cks_free(p->cks);
    free(p->headers_json);
    free(p);
}

/* For a part: the upload must exist in this bucket for this key. */
static int check_upload_locked(st_engine *e, const st_put *p, cf_err *err)
{
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT 1 FROM uploads WHERE upload_id = ? AND bucket_id = ? AND key = ?",
        "bib", p->object_id, (size_t)16, p->bucket_id, p->key, strlen(p->key));
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        idx_done(st);
        return 0;
    }
    return rc < 0 ? -1 : cf_fail(err, CF_ENOUPLOAD, "no such upload");
}

static int put_resolve(st_put *p, const st_put_args *a, cf_err *err)
{
    st_engine *e = p->e;
    idx_lock(e->ix);
    int rc = eng_bucket_id_locked(e, a->tenant, a->bucket, &p->bucket_id, err);
    if (rc == 0 && p->part)
        rc = check_upload_locked(e, p, err);
    idx_unlock(e->ix);
    return rc;
}

static int put_prepare(st_put *p, const st_put_args *a, cf_err *err)
{
    if (check_key(a->key, err) < 0)
        return -1;
    if (strlen(a->tenant) > ST_MAX_TENANT || strlen(a->bucket) > ST_MAX_BUCKET)
        return cf_fail(err, CF_EINVAL, "tenant or bucket name too long");
    if (a->expected_size > (int64_t)ST_MAX_PUT_SIZE)
        return cf_fail(err, CF_ETOOLARGE, "objects and parts are at most 5 GiB");
    snprintf(p->tenant, sizeof p->tenant, "%s", a->tenant);
    snprintf(p->bucket, sizeof p->bucket, "%s", a->bucket);
    snprintf(p->key, sizeof p->key, "%s", a->key);
    p->expected = a->expected_size;
    if (a->upload_id) {
        if (a->part_number < 1 || a->part_number > ST_MAX_PARTS)
            return cf_fail(err, CF_EINVAL, "part numbers are 1 to %d", ST_MAX_PARTS);
        if (eng_id_from_hex(a->upload_id, p->object_id) < 0)
            return cf_fail(err, CF_ENOUPLOAD, "no such upload");
        p->part = a->part_number;
    } else {
        if (eng_headers_check(a->headers, a->nheaders, err) < 0 ||
            !(p->headers_json = eng_headers_to_json(a->headers, a->nheaders, err)) ||
            crypt_random(p->object_id, sizeof p->object_id, err) < 0)
            return -1;
    }
    if (put_resolve(p, a, err) < 0 || crypt_random(p->data_id, sizeof p->data_id, err) < 0)
        return -1;
    if (!(p->md5 = cks_new(CKS_MD5, err)) ||
        (a->checksum_algo != CKS_NONE && !(p->cks = cks_new(a->checksum_algo, err))))
        return -1;
    seg_desc d;
    if (eng_segment_desc(p->e, a->tenant, a->bucket, a->key, p->object_id, p->part,
                         p->data_id, NULL, &d, err) < 0)
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

int st_put_write(st_put *p, const void *data, size_t len, cf_err *err)
{
    uint64_t total = segw_size(p->w) + len;
    if (total > ST_MAX_PUT_SIZE || (p->expected >= 0 && total > (uint64_t)p->expected))
        return cf_fail(err, CF_ETOOLARGE, "body is larger than %s",
                       p->expected >= 0 ? "its declared length" : "5 GiB");
    cks_update(p->md5, data, len);
    if (p->cks)
        cks_update(p->cks, data, len);
    return segw_write(p->w, data, len, err);
}

typedef struct put_digests {
    uint8_t md5[16];
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
    cks_to_hex(dg->md5, 16, hex, sizeof hex);
    snprintf(dg->etag, sizeof dg->etag, "\"%s\"", hex);
    if (p->expected >= 0 && segw_size(p->w) != (uint64_t)p->expected)
        return cf_fail(err, CF_EINVAL, "body has %llu bytes, %lld were declared",
                       (unsigned long long)segw_size(p->w), (long long)p->expected);
    if (x && x->content_md5 && CRYPTO_memcmp(x->content_md5, dg->md5, 16) != 0)
        return cf_fail(err, CF_EDIGEST, "Content-MD5 does not match the body");
    if (p->cks) {
        size_t n = cks_final(p->cks, raw);
        cks_to_base64(raw, n, dg->cks_b64, sizeof dg->cks_b64);
        if (x && x->checksum_b64 && strcmp(x->checksum_b64, dg->cks_b64) != 0)
            return cf_fail(err, CF_EDIGEST, "the %s checksum does not match the body",
                           cks_algo_name(cks_state_algo(p->cks)));
    }
    return 0;
}

static int insert_segment_locked(st_engine *e, const uint8_t version_id[16], int seq,
                                 const uint8_t data_id[16], uint32_t part,
                                 uint64_t size, const uint8_t wrapped[60],
                                 const seg_result *res, cf_err *err)
{
    int rc = idx_run(e->ix, NULL, err,
                     "INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "bibiibib",
                     version_id, (size_t)16, (int64_t)seq, data_id, (size_t)16,
                     (int64_t)part, (int64_t)size, wrapped, (size_t)CRYPT_WRAPPED_LEN,
                     (int64_t)res->missing, res->inline_data, res->inline_len);
    if (rc == 0 && res->missing)
        rc = idx_run(e->ix, NULL, err, "INSERT OR IGNORE INTO heal_queue VALUES (?, ?)",
                     "bi", data_id, (size_t)16, eng_now_ms());
    return rc;
}

/* The commit point of a plain PUT. */
static int commit_object_locked(st_put *p, const put_digests *dg,
                                const seg_result *res, cf_err *err)
{
    st_engine *e = p->e;
    sqlite3_stmt *st;
    int rc = idx_begin(e->ix, err);
    int found = rc == 0 ? select_object_locked(e, p->bucket_id, p->key, &st, err) : -1;
    if (found == 1) {
        uint8_t old[16];
        rc = idx_blob(st, 1, old, sizeof old) < 0
            ? cf_fail(err, CF_ECORRUPT, "index: bad version id") : 0;
        idx_done(st);
        if (rc == 0)
            rc = eng_queue_version_delete_locked(e, old, err);
    } else if (found < 0) {
        rc = -1;
    }
    cks_algo algo = p->cks ? cks_state_algo(p->cks) : CKS_NONE;
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err,
                     "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?)",
                     "ibbitiitt", p->bucket_id, p->key, strlen(p->key), p->object_id,
                     (size_t)16, (int64_t)res->size, dg->etag, eng_now_ms(),
                     (int64_t)algo, p->cks ? dg->cks_b64 : NULL, p->headers_json);
    if (rc == 0)
        rc = insert_segment_locked(e, p->object_id, 0, p->data_id, 0, res->size,
                                   p->wrapped, res, err);
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
    int rc = idx_begin(e->ix, err);
    if (rc == 0)
        rc = check_upload_locked(e, p, err);
    sqlite3_stmt *st = rc == 0 ? idx_query(e->ix, err,
        "SELECT data_id FROM parts WHERE upload_id = ? AND part = ?", "bi",
        p->object_id, (size_t)16, (int64_t)p->part) : NULL;
    int found = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 0 && found == 1) {
        uint8_t old[16];
        rc = idx_blob(st, 0, old, sizeof old);
        idx_done(st);
        if (rc == 0)
            rc = eng_queue_data_delete_locked(e, old, err);
    } else if (rc == 0 && found < 0) {
        rc = -1;
    }
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err,
                     "INSERT OR REPLACE INTO parts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     "bibitbtibib", p->object_id, (size_t)16, (int64_t)p->part,
                     p->data_id, (size_t)16, (int64_t)res->size, dg->etag, dg->md5,
                     (size_t)16, p->cks ? dg->cks_b64 : NULL, eng_now_ms(), p->wrapped,
                     (size_t)CRYPT_WRAPPED_LEN, (int64_t)res->missing,
                     res->inline_data, res->inline_len);
    if (rc == 0 && res->missing)
        rc = idx_run(e->ix, NULL, err, "INSERT OR IGNORE INTO heal_queue VALUES (?, ?)",
                     "bi", p->data_id, (size_t)16, eng_now_ms());
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
    info->size = res->size;
    snprintf(info->etag, sizeof info->etag, "%s", dg->etag);
    info->mtime_ms = eng_now_ms();
    info->checksum_algo = p->cks ? cks_state_algo(p->cks) : CKS_NONE;
    snprintf(info->checksum_b64, sizeof info->checksum_b64, "%s", dg->cks_b64);
}

int st_put_finish(st_put *p, const st_put_expect *expect, st_object_info *info,
                  cf_err *err)
{
    put_digests dg = {0};
    seg_result res = {0};
    st_engine *e = p->e;
    int rc = put_verify(p, expect, &dg, err);
    if (rc == 0) {
        rc = segw_finish(p->w, &res, err);
        p->w = NULL;
    }
    if (rc == 0) {
        idx_lock(e->ix);
        rc = p->part ? commit_part_locked(p, &dg, &res, err)
                     : commit_object_locked(p, &dg, &res, err);
        /* Only a commit that failed may take its shards with it: one that
         * committed but could not be made durable may be visible now. */
        if (rc < 0 && !res.inline_data)
            seg_unlink(&e->set, p->data_id);
        rc = eng_unlock_durable(e, rc, err);
    }
    if (rc == 0) {
        if (info)
            put_fill_info(p, &dg, &res, info);
        eng_drain_deletes(e);
    }
    free(res.inline_data);
    put_free(p);
    return rc;
}

void st_put_abort(st_put *p)
{
    if (p)
        put_free(p);
}

/* ---- HEAD / DELETE ------------------------------------------------------ */

int st_head(st_engine *e, const char *tenant, const char *bucket, const char *key,
            st_object_info *info, cf_err *err)
{
    int64_t bid;
    sqlite3_stmt *st = NULL;
    idx_lock(e->ix);
    int rc = eng_bucket_id_locked(e, tenant, bucket, &bid, err);
    if (rc == 0) {
        int found = select_object_locked(e, bid, key, &st, err);
        if (found == 1) {
            rc = fill_object_info(st, info, true, err);
            idx_done(st);
        } else {
            rc = found < 0 ? -1 : cf_fail(err, CF_ENOKEY, "no such key");
        }
    }
    idx_unlock(e->ix);
    return rc;
}

int st_delete(st_engine *e, const char *tenant, const char *bucket, const char *key,
              cf_err *err)
{
    int64_t bid;
    sqlite3_stmt *st = NULL;
    idx_lock(e->ix);
    int rc = eng_bucket_id_locked(e, tenant, bucket, &bid, err);
    if (rc == 0)
        rc = idx_begin(e->ix, err);
    if (rc == 0) {
        int found = select_object_locked(e, bid, key, &st, err);
        uint8_t vid[16];
        if (found == 1) {
            rc = idx_blob(st, 1, vid, sizeof vid);
            idx_done(st);
            if (rc == 0)
                rc = eng_queue_version_delete_locked(e, vid, err);
            if (rc == 0)
                rc = idx_run(e->ix, NULL, err,
                             "DELETE FROM objects WHERE bucket_id = ? AND key = ?", "ib",
                             bid, key, strlen(key));
        } else if (found < 0) {
            rc = -1;
        }
        rc = rc == 0 ? idx_commit(e->ix, err) : (idx_rollback(e->ix), -1);
    }
    rc = eng_unlock_durable(e, rc, err);
    if (rc == 0)
        eng_drain_deletes(e);
    return rc;
}

/* ---- GET ---------------------------------------------------------------- */

typedef struct get_segment {
    uint64_t start, size;
    uint8_t data_id[16];
    uint32_t part;
    uint8_t wrapped[CRYPT_WRAPPED_LEN];
    uint8_t *inline_data;
    size_t inline_len;
} get_segment;

struct st_get {
    st_engine *e;
    int reader_slot;
    char tenant[ST_MAX_TENANT + 1], bucket[ST_MAX_BUCKET + 1], key[ST_MAX_KEY + 1];
    uint8_t version_id[16];
    uint64_t size;
    get_segment *segs;
    size_t nsegs;
    size_t open_seg;                 /* index of r's segment */
    seg_reader *r;
    uint8_t *block;                  /* last decoded block */
    size_t block_seg;
    uint64_t block_index;
    uint32_t block_len;
    bool block_valid;
    bool heal_queued;
    size_t sealed_seg;               /* sealed stream cursor */
    uint64_t sealed_block;
};

static int load_segments_locked(st_get *g, cf_err *err)
{
    st_engine *e = g->e;
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT data_id, part, size, wrapped, inline_data FROM segments "
        "WHERE version_id = ? ORDER BY seq", "b", g->version_id, (size_t)16);
    int rc = st ? 0 : -1;
    size_t cap = 0;
    uint64_t start = 0;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        if (g->nsegs == cap) {
            cap = cap ? cap * 2 : 4;
            get_segment *n = realloc(g->segs, cap * sizeof *n);
            if (!n) {
                idx_done(st);
                return cf_fail(err, CF_ENOMEM, "out of memory");
            }
            g->segs = n;
        }
        get_segment *s = &g->segs[g->nsegs];
        memset(s, 0, sizeof *s);
        s->start = start;
        s->size = (uint64_t)idx_int(st, 2);
        s->part = (uint32_t)idx_int(st, 1);
        g->nsegs++;
        if (idx_blob(st, 0, s->data_id, 16) < 0 ||
            idx_blob(st, 3, s->wrapped, CRYPT_WRAPPED_LEN) < 0) {
            idx_done(st);
            return cf_fail(err, CF_ECORRUPT, "index: malformed segment row");
        }
        if (sqlite3_column_type(st, 4) == SQLITE_BLOB) {
            s->inline_len = (size_t)sqlite3_column_bytes(st, 4);
            s->inline_data = malloc(s->inline_len ? s->inline_len : 1);
            if (!s->inline_data) {
                idx_done(st);
                return cf_fail(err, CF_ENOMEM, "out of memory");
            }
            memcpy(s->inline_data, sqlite3_column_blob(st, 4), s->inline_len);
        }
        start += s->size;
    }
    if (rc == 0 && start != g->size)
        rc = cf_fail(err, CF_ECORRUPT, "index: segments add up to %llu bytes, the "
                     "object has %llu", (unsigned long long)start,
                     (unsigned long long)g->size);
    if (rc == 0 && g->nsegs == 0)
        rc = cf_fail(err, CF_ECORRUPT, "index: object has no segments");
    return rc;
}

static int get_resolve(st_get *g, st_object_info *info, cf_err *err)
{
    st_engine *e = g->e;
    int64_t bid;
    sqlite3_stmt *st = NULL;
    idx_lock(e->ix);
    int rc = eng_bucket_id_locked(e, g->tenant, g->bucket, &bid, err);
    if (rc == 0) {
        int found = select_object_locked(e, bid, g->key, &st, err);
        if (found == 1) {
            rc = fill_object_info(st, info, true, err);
            if (rc == 0 && idx_blob(st, 1, g->version_id, 16) < 0)
                rc = cf_fail(err, CF_ECORRUPT, "index: bad version id");
            idx_done(st);
        } else {
            rc = found < 0 ? -1 : cf_fail(err, CF_ENOKEY, "no such key");
        }
    }
    g->size = info->size;
    if (rc == 0)
        rc = load_segments_locked(g, err);
    idx_unlock(e->ix);
    return rc;
}

int st_get_open(st_engine *e, const char *tenant, const char *bucket, const char *key,
                st_object_info *info, st_get **out, cf_err *err)
{
    memset(info, 0, sizeof *info);
    st_get *g = calloc(1, sizeof *g);
    if (!g)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    g->e = e;
    snprintf(g->tenant, sizeof g->tenant, "%s", tenant);
    snprintf(g->bucket, sizeof g->bucket, "%s", bucket);
    snprintf(g->key, sizeof g->key, "%s", key);
    g->reader_slot = eng_reader_enter(e, err);
    int rc = g->reader_slot < 0 ? -1 : get_resolve(g, info, err);
    if (rc < 0) {
        st_object_info_clear(info);
        st_get_close(g);
        return -1;
    }
    *out = g;
    return 0;
}

/* The segment holding offset (binary search over start offsets). */
static size_t find_segment(const st_get *g, uint64_t offset)
{
    size_t lo = 0, hi = g->nsegs - 1;
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;
        if (g->segs[mid].start <= offset)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static void close_reader(st_get *g)
{
    if (!g->r)
        return;
    if (segr_degraded(g->r) && !g->heal_queued) {
        eng_queue_heal(g->e, g->segs[g->open_seg].data_id);
        g->heal_queued = true;
    }
    segr_free(g->r);
    g->r = NULL;
}

static int open_reader(st_get *g, size_t i, cf_err *err)
{
    if (g->r && g->open_seg == i)
        return 0;
    close_reader(g);
    get_segment *s = &g->segs[i];
    seg_desc d;
    if (eng_segment_desc(g->e, g->tenant, g->bucket, g->key, g->version_id, s->part,
                         s->data_id, s->wrapped, &d, err) < 0)
        return -1;
    g->r = segr_new(&d, s->size, s->inline_data, s->inline_len, err);
    crypt_wipe(d.dk, sizeof d.dk);
    g->open_seg = i;
    g->heal_queued = false;
    return g->r ? 0 : -1;
}

/* Decode block b of segment i into dst (room for the block's bytes);
 * a read that needed parity queues the segment for heal. */
static int decode_block(st_get *g, size_t i, uint64_t b, uint8_t *dst,
                        uint32_t *len, cf_err *err)
{
    if (open_reader(g, i, err) < 0 || segr_read_block(g->r, b, dst, len, err) < 0)
        return -1;
    if (segr_degraded(g->r) && !g->heal_queued) {
        eng_queue_heal(g->e, g->segs[i].data_id);
        g->heal_queued = true;
    }
    return 0;
}

/* Decode the block holding offset into g->block (if not there already). */
static int load_block(st_get *g, uint64_t offset, cf_err *err)
{
    size_t i = find_segment(g, offset);
    uint64_t b = (offset - g->segs[i].start) / g->e->set.block_size;
    if (g->block_valid && g->block_seg == i && g->block_index == b)
        return 0;
    g->block_valid = false;
    /* allocated on first use: whole-block reads (read_direct), which is
     * every read of a small object, never need it */
    if (!g->block && !(g->block = malloc(g->e->set.block_size)))
        return cf_fail(err, CF_ENOMEM, "out of memory");
    if (decode_block(g, i, b, g->block, &g->block_len, err) < 0)
        return -1;
    g->block_seg = i;
    g->block_index = b;
    g->block_valid = true;
    return 0;
}

/* Copy what the caller wants of the block holding offset out of g->block. */
static int read_copy(st_get *g, uint64_t offset, uint8_t *out, size_t len,
                     size_t *took, cf_err *err)
{
    if (load_block(g, offset, err) < 0)
        return -1;
    const get_segment *s = &g->segs[g->block_seg];
    uint64_t block_start = s->start + g->block_index * g->e->set.block_size;
    size_t in_block = (size_t)(offset - block_start);
    *took = g->block_len - in_block;
    if (*took > len)
        *took = len;
    memcpy(out, g->block + in_block, *took);
    return 0;
}

/* A read from the start of a block that wants at least the whole block is
 * decrypted straight into the caller's buffer: one copy of every byte
 * fewer (about 7% of a GET's CPU). *took is 0 if the read does not
 * qualify. */
static int read_direct(st_get *g, uint64_t offset, uint8_t *out, size_t len,
                       size_t *took, cf_err *err)
{
    size_t i = find_segment(g, offset);
    const get_segment *s = &g->segs[i];
    uint32_t bs = g->e->set.block_size, n;
    uint64_t rel = offset - s->start, b = rel / bs;
    *took = 0;
    if (rel % bs != 0 || len < shard_block_plain(s->size, bs, b))
        return 0;
    if (decode_block(g, i, b, out, &n, err) < 0)
        return -1;
    *took = n;
    return 0;
}

int st_get_read(st_get *g, uint64_t offset, void *buf, size_t len, size_t *n,
                cf_err *err)
{
    uint8_t *out = buf;
    *n = 0;
    while (len > 0 && offset < g->size) {
        size_t took;
        if (read_direct(g, offset, out, len, &took, err) < 0 ||
            (took == 0 && read_copy(g, offset, out, len, &took, err) < 0))
            return -1;
        out += took;
        offset += took;
        len -= took;
        *n += took;
    }
    return 0;
}

void st_get_close(st_get *g)
{
    if (!g)
        return;
    close_reader(g);
    for (size_t i = 0; i < g->nsegs; i++)
        free(g->segs[i].inline_data);
    free(g->segs);
    free(g->block);
    if (g->reader_slot >= 0)
        eng_reader_leave(g->e, g->reader_slot);
    free(g);
}

int st_get_part(const st_get *g, uint32_t n, uint64_t *offset, uint64_t *length,
                uint32_t *count, cf_err *err)
{
    *count = (uint32_t)g->nsegs;
    if (n < 1 || n > g->nsegs)
        return cf_fail(err, CF_ERANGE, "the object has %zu parts", g->nsegs);
    *offset = g->segs[n - 1].start;
    *length = g->segs[n - 1].size;
    return 0;
}

/* ---- sealed streams ----------------------------------------------------- */

uint64_t st_get_sealed_length(const st_get *g)
{
    uint64_t len = 0;
    for (size_t i = 0; i < g->nsegs; i++)
        len += g->segs[i].size +
               CRYPT_TAG_LEN * shard_block_count(g->segs[i].size, g->e->set.block_size);
    return len;
}

int st_get_sealed_next(st_get *g, const uint8_t **data, size_t *len, cf_err *err)
{
    *len = 0;
    while (g->sealed_seg < g->nsegs) {
        const get_segment *s = &g->segs[g->sealed_seg];
        if (g->sealed_block < shard_block_count(s->size, g->e->set.block_size))
            break;
        g->sealed_seg++;
        g->sealed_block = 0;
    }
    if (g->sealed_seg == g->nsegs)
        return 0;
    uint32_t n;
    if (open_reader(g, g->sealed_seg, err) < 0 ||
        segr_read_sealed(g->r, g->sealed_block, data, &n, err) < 0)
        return -1;
    g->block_valid = false;
    g->sealed_block++;
    *len = n;
    return 0;
}

/* An inline segment: check the sealed bytes and store them back. */
static int import_inline(st_get *g, get_segment *s, const seg_desc *d, st_source src,
                         void *ctx, cf_err *err)
{
    size_t n = (size_t)s->size + CRYPT_TAG_LEN;
    uint8_t *sealed = malloc(n), *plain = malloc(n);
    int rc = sealed && plain ? src(ctx, sealed, n, err)
                             : cf_fail(err, CF_ENOMEM, "out of memory");
    if (rc == 0)
        rc = seg_open_sealed(d, sealed, (uint32_t)s->size, plain, err);
    if (rc == 0) {
        idx_lock(g->e->ix);
        rc = idx_run(g->e->ix, NULL, err,
                     "UPDATE segments SET inline_data = ? WHERE data_id = ?", "bb",
                     sealed, n, s->data_id, (size_t)16);
        rc = eng_unlock_durable(g->e, rc, err);
    }
    free(sealed);
    free(plain);
    return rc;
}

static int import_segment(st_get *g, size_t i, st_source src, void *ctx, cf_err *err)
{
    get_segment *s = &g->segs[i];
    seg_desc d;
    if (eng_segment_desc(g->e, g->tenant, g->bucket, g->key, g->version_id, s->part,
                         s->data_id, s->wrapped, &d, err) < 0)
        return -1;
    int rc = s->inline_data ? import_inline(g, s, &d, src, ctx, err)
                            : seg_import(&d, s->size, src, ctx, err);
    crypt_wipe(d.dk, sizeof d.dk);
    if (rc == 0 && !s->inline_data) {
        idx_lock(g->e->ix);
        rc = idx_run(g->e->ix, NULL, err, "DELETE FROM heal_queue WHERE data_id = ?", "b",
                     s->data_id, (size_t)16);
        if (rc == 0)
            rc = idx_run(g->e->ix, NULL, err,
                         "UPDATE segments SET missing = 0 WHERE data_id = ?", "b",
                         s->data_id, (size_t)16);
        rc = eng_unlock_durable(g->e, rc, err);
    }
    return rc;
}

int st_sealed_import(st_engine *e, const char *tenant, const char *bucket,
                     const char *key, const char *version_id, st_source src, void *ctx,
                     cf_err *err)
{
    st_object_info info;
    st_get *g;
    if (st_get_open(e, tenant, bucket, key, &info, &g, err) < 0)
        return -1;
    int rc = strcmp(info.version_id, version_id) == 0 ? 0
           : cf_fail(err, CF_ENOKEY, "the object has another version now");
    st_object_info_clear(&info);
    for (size_t i = 0; rc == 0 && i < g->nsegs; i++)
        rc = import_segment(g, i, src, ctx, err);
    st_get_close(g);
    return rc;
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

int st_copy(st_engine *e, const char *tenant, const char *src_bucket,
            const char *src_key, const char *dst_bucket, const char *dst_key,
            const st_header *headers, size_t nheaders, cks_algo checksum_algo,
            st_object_info *info, cf_err *err)
{
    st_object_info src;
    st_get *g = NULL;
    if (st_get_open(e, tenant, src_bucket, src_key, &src, &g, err) < 0)
        return -1;
    st_put_args a = {
        .tenant = tenant, .bucket = dst_bucket, .key = dst_key,
        .headers = headers ? headers : src.headers,
        .nheaders = headers ? nheaders : src.nheaders,
        .checksum_algo = checksum_algo, .expected_size = (int64_t)src.size,
    };
    st_put *p = NULL;
    int rc = st_put_begin(e, &a, &p, err);
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

/* ---- LIST --------------------------------------------------------------- */

/* Listing walks the objects of a bucket in key order from a cursor. With a
 * delimiter, a key whose remainder after the prefix holds the delimiter
 * rolls up into a common prefix; the walk then jumps past every key with
 * that prefix (to its byte successor) instead of reading them. */

typedef struct list_walk {
    st_engine *e;
    const st_list_args *a;
    int64_t bucket_id;
    size_t plen;
    char after[ST_MAX_KEY + 2];      /* exclusive lower bound ("" = none) */
    bool has_after;
    char from[ST_MAX_KEY + 2];       /* inclusive lower bound */
    size_t from_len;
    int delivered;
    st_list_cb cb;
    void *ctx;
    char *last;                      /* last key or prefix delivered */
} list_walk;

/* Length of the common prefix key rolls up into, or 0 if none. */
static size_t rollup_len(const list_walk *w, const char *key)
{
    const char *d = w->a->delimiter;
    if (!d || !*d)
        return 0;
    const char *hit = strstr(key + w->plen, d);
    return hit ? (size_t)(hit - key) + strlen(d) : 0;
}

/* Smallest byte string greater than every string starting with p[0..n). */
static bool successor(const char *p, size_t n, char *out, size_t *outlen)
{
    while (n > 0 && (unsigned char)p[n - 1] == 0xff)
        n--;
    if (n == 0)
        return false;
    memcpy(out, p, n);
    out[n - 1] = (char)((unsigned char)out[n - 1] + 1);
    out[n] = '\0';
    *outlen = n;
    return true;
}

static bool skip_prefix(list_walk *w, const char *cp, size_t n)
{
    w->has_after = false;
    return successor(cp, n, w->from, &w->from_len);
}

/* Byte order of keys, as SQLite compares the blobs they are bound as. */
static int key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* The rows from the cursor on: after the exclusive bound or from the
 * inclusive one, whichever is higher. One bound per query, so that SQLite
 * seeks the primary key to it; a query with both (or with an "?2 IS NULL
 * OR" around one) scans from the lower bound, and a listing's last page
 * then costs as much as all the pages before it. */
static sqlite3_stmt *query_batch(list_walk *w, int batch, cf_err *err)
{
    size_t alen = strlen(w->after);
    if (w->has_after && key_cmp(w->after, alen, w->from, w->from_len) >= 0)
        return idx_query(w->e->ix, err,
            "SELECT " OBJ_COLUMNS " FROM objects WHERE bucket_id = ?1 "
            "AND key > ?2 ORDER BY key LIMIT ?3",
            "ibi", w->bucket_id, w->after, alen, (int64_t)batch);
    return idx_query(w->e->ix, err,
        "SELECT " OBJ_COLUMNS " FROM objects WHERE bucket_id = ?1 "
        "AND key >= ?2 ORDER BY key LIMIT ?3",
        "ibi", w->bucket_id, w->from, w->from_len, (int64_t)batch);
}

/* One batch from the cursor. Returns 1 to go on, 0 when done, -1 error. */
static int list_batch(list_walk *w, bool *truncated, cf_err *err)
{
    const int batch = 256;
    sqlite3_stmt *st = query_batch(w, batch, err);
    if (!st)
        return -1;
    int rows = 0, rc;
    while ((rc = idx_next(w->e->ix, st, err)) == 1) {
        rows++;
        st_object_info info;
        if (fill_object_info(st, &info, false, err) < 0) {
            idx_done(st);
            return -1;
        }
        const char *prefix = w->a->prefix ? w->a->prefix : "";
        if (strncmp(info.key, prefix, w->plen) != 0) {
            idx_done(st);
            return 0;
        }
        if (w->delivered == w->a->max_keys) {
            *truncated = true;
            idx_done(st);
            return 0;
        }
        size_t cpl = rollup_len(w, info.key);
        w->delivered++;
        if (cpl) {
            info.key[cpl] = '\0';
            snprintf(w->last, ST_MAX_KEY + 1, "%s", info.key);
            idx_done(st);
            if (w->cb(w->ctx, NULL, info.key) != 0)
                return 0;
            return skip_prefix(w, info.key, cpl) ? 1 : 0;
        }
        snprintf(w->last, ST_MAX_KEY + 1, "%s", info.key);
        snprintf(w->after, sizeof w->after, "%s", info.key);
        w->has_after = true;
        if (w->cb(w->ctx, &info, NULL) != 0) {
            idx_done(st);
            return 0;
        }
    }
    return rc < 0 ? -1 : rows == batch ? 1 : 0;
}

/* Start after start_after; if it sits inside a common prefix, after that
 * whole prefix (it was delivered on an earlier page). */
static bool list_start(list_walk *w)
{
    const char *prefix = w->a->prefix ? w->a->prefix : "";
    snprintf(w->from, sizeof w->from, "%s", prefix);
    w->from_len = strlen(w->from);
    const char *sa = w->a->start_after;
    if (!sa || !*sa)
        return true;
    snprintf(w->after, sizeof w->after, "%s", sa);
    w->has_after = true;
    if (strncmp(sa, prefix, w->plen) != 0)
        return true;
    size_t cpl = rollup_len(w, sa);
    return cpl ? skip_prefix(w, sa, cpl) : true;
}

int st_list(st_engine *e, const st_list_args *args, st_list_cb cb, void *ctx,
            bool *truncated, char next_marker[ST_MAX_KEY + 1], cf_err *err)
{
    list_walk w = {.e = e, .a = args, .cb = cb, .ctx = ctx, .last = next_marker};
    *truncated = false;
    next_marker[0] = '\0';
    w.plen = args->prefix ? strlen(args->prefix) : 0;
    idx_lock(e->ix);
    int rc = eng_bucket_id_locked(e, args->tenant, args->bucket, &w.bucket_id, err);
    if (rc == 0 && args->max_keys > 0 && list_start(&w))
        while ((rc = list_batch(&w, truncated, err)) == 1)
            ;
    idx_unlock(e->ix);
    return rc < 0 ? -1 : 0;
}
