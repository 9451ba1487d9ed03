/*
 * storage/object.c - object rows and the version model: the objects and
 * segments tables, HEAD and DELETE.
 *
 * An object is one row of `objects` per (bucket, key): its current
 * version (a random version id), size, ETag, checksum and stored headers.
 * A version's data is an ordered list of `segments` rows (one for a PUT,
 * one per part for a completed multipart upload), each naming the data id
 * of its shard files (or holding the sealed bytes inline), the part number
 * that keys its nonces and its wrapped data key. Invariant: a data id is
 * in at most one row of segments or parts, or in the delete queue.
 *
 * Replacing or deleting a version moves its segments to the delete queue
 * in the same transaction (obj_retire_locked; deleteq.c unlinks the files
 * after the commit, once no reader needs them). Every statement on these
 * two tables is in this file; the PUT path (put.c), multipart completion
 * (upload.c), GET (get.c), listing (list.c), heal (heal.c), GC (gc.c) and
 * the sealed import (sealed.c) call the functions below, each under the
 * index lock (engine_int.h).
 *
 * A version made by CompleteMultipartUpload records the upload's id, and
 * each of its segments the part's ETag and checksum: that is what lets a
 * retried completion be recognised (obj_completed_locked) and the parts
 * be read back one by one (partNumber reads, GetObjectAttributes). An
 * SSE-C version keeps its customer key's salt and check value (ssec).
 */
#include "storage/engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/etag.h"

/* ---- object rows -------------------------------------------------------- */

#define OBJ_COLUMNS "key, version_id, size, etag, mtime_ms, cks_algo, cks, " \
                    "cks_composite, nparts, headers, upload_id, ssec"

int obj_fill_info(sqlite3_stmt *st, st_object_info *info, bool headers, cf_err *err)
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
    info->ssec = sqlite3_column_type(st, 11) == SQLITE_BLOB;
    if (!headers)
        return 0;
    return headers_from_json(idx_text(st, 9), &info->headers, &info->nheaders, err);
}

int obj_row_ssec(sqlite3_stmt *st, uint8_t out[CRYPT_SSEC_LEN])
{
    return sqlite3_column_type(st, 11) == SQLITE_BLOB &&
           idx_blob(st, 11, out, CRYPT_SSEC_LEN) == 0;
}

void st_object_info_clear(st_object_info *info)
{
    headers_free(info->headers, info->nheaders);
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

int obj_select_locked(st_engine *e, int64_t bucket_id, const char *key,
                      sqlite3_stmt **out, cf_err *err)
{
    idx_assert_held(e->ix);
    *out = idx_query(e->ix, err,
                     "SELECT " OBJ_COLUMNS " FROM objects WHERE bucket_id = ? AND key = ?",
                     "ib", bucket_id, key, strlen(key));
    return *out ? idx_next(e->ix, *out, err) : -1;
}

sqlite3_stmt *obj_page_locked(st_engine *e, int64_t bucket_id, const char *bound,
                              size_t bound_len, bool inclusive, int limit, cf_err *err)
{
    idx_assert_held(e->ix);
    /* One bound per query, so that SQLite seeks the primary key to it; a
     * query with both bounds (or an "?2 IS NULL OR" around one) scans from
     * the lower one, and a listing's last page then costs as much as all
     * the pages before it. */
    if (inclusive)
        return idx_query(e->ix, err,
            "SELECT " OBJ_COLUMNS " FROM objects WHERE bucket_id = ?1 "
            "AND key >= ?2 ORDER BY key LIMIT ?3",
            "ibi", bucket_id, bound, bound_len, (int64_t)limit);
    return idx_query(e->ix, err,
        "SELECT " OBJ_COLUMNS " FROM objects WHERE bucket_id = ?1 "
        "AND key > ?2 ORDER BY key LIMIT ?3",
        "ibi", bucket_id, bound, bound_len, (int64_t)limit);
}

int obj_check_key(const char *key, cf_err *err)
{
    size_t n = strlen(key);
    if (n == 0)
        return cf_fail(err, CF_EINVAL, "object keys may not be empty");
    if (n > ST_MAX_KEY)
        return cf_fail(err, CF_ETOOLARGE, "object key is %zu bytes; at most %d",
                       n, ST_MAX_KEY);
    return 0;
}

int obj_any_locked(st_engine *e, int64_t bucket_id, bool *any, cf_err *err)
{
    idx_assert_held(e->ix);
    int rc = idx_exists(e->ix, err, "SELECT 1 FROM objects WHERE bucket_id = ? LIMIT 1", "i",
                        bucket_id);
    *any = rc == 1;
    return rc < 0 ? -1 : 0;
}

/* ---- versions ----------------------------------------------------------- */

int obj_current_locked(st_engine *e, const char *tenant, const char *bucket,
                       const char *key, st_object_info *info, uint8_t vid[16], cf_err *err)
{
    idx_assert_held(e->ix);
    int64_t bid;
    sqlite3_stmt *st = NULL;
    if (bucket_id_locked(e, tenant, bucket, &bid, err) < 0)
        return -1;
    int found = obj_select_locked(e, bid, key, &st, err);
    if (found <= 0)
        return found < 0 ? -1 : cf_fail(err, CF_ENOKEY, "no such key");
    int rc = info ? obj_fill_info(st, info, true, err) : 0;
    if (rc == 0 && idx_blob(st, 1, vid, 16) < 0)
        rc = cf_fail(err, CF_ECORRUPT, "index: bad version id");
    idx_done(st);
    if (rc < 0 && info)
        st_object_info_clear(info);
    return rc;
}

int obj_version_exists_locked(st_engine *e, const uint8_t vid[16], cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_exists(e->ix, err, "SELECT 1 FROM objects WHERE version_id = ?", "b", vid,
                      (size_t)16);
}

/* Move every segment of a version to the delete queue and drop its rows. */
static int drop_segments_locked(st_engine *e, const uint8_t version_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    int rc = deleteq_version_locked(e, version_id, err);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "DELETE FROM segments WHERE version_id = ?", "b",
                     version_id, (size_t)16);
    if (rc == 0)
        rc = tiering_attrs_drop_locked(e, version_id, err);
    return rc;
}

/* obj_retire_locked, of the current version only if it is `only` (non-NULL). */
static int retire_version_locked(st_engine *e, int64_t bucket_id, const char *key,
                                 const uint8_t *only, bool delete_row, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st;
    int found = obj_select_locked(e, bucket_id, key, &st, err);
    if (found <= 0)
        return found;
    uint8_t old[16];
    int rc = idx_blob(st, 1, old, sizeof old) < 0
        ? cf_fail(err, CF_ECORRUPT, "index: bad version id") : 0;
    idx_done(st);
    if (rc == 0 && only && memcmp(only, old, 16) != 0)
        return 0;
    if (rc == 0)
        rc = drop_segments_locked(e, old, err);
    if (rc == 0 && delete_row)
        rc = idx_run(e->ix, NULL, err, "DELETE FROM objects WHERE bucket_id = ? AND key = ?",
                     "ib", bucket_id, key, strlen(key));
    return rc < 0 ? -1 : 1;
}

int obj_retire_locked(st_engine *e, int64_t bucket_id, const char *key, bool delete_row,
                      cf_err *err)
{
    idx_assert_held(e->ix);
    return retire_version_locked(e, bucket_id, key, NULL, delete_row, err);
}

int obj_insert_locked(st_engine *e, const obj_row *o, cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_run(e->ix, NULL, err,
                   "INSERT OR REPLACE INTO objects (bucket_id, key, version_id, size, etag, "
                   "mtime_ms, cks_algo, cks, cks_composite, nparts, headers, upload_id, ssec) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   "ibbitiitiitbb", o->bucket_id, o->key, strlen(o->key), o->version_id,
                   (size_t)16, (int64_t)o->size, o->etag, o->mtime_ms, (int64_t)o->algo,
                   o->checksum_b64, (int64_t)o->composite, (int64_t)o->nparts,
                   o->headers_json, o->upload_id, (size_t)16, o->ssec,
                   (size_t)CRYPT_SSEC_LEN);
}

/* The current row's ETag and commit time: 1, 0 no object, -1. */
static int current_etag_locked(st_engine *e, int64_t bucket_id, const char *key,
                               char etag[ST_ETAG_MAX], int64_t *mtime_ms, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st;
    int found = obj_select_locked(e, bucket_id, key, &st, err);
    if (found == 1) {
        snprintf(etag, ST_ETAG_MAX, "%s", idx_text(st, 3));
        *mtime_ms = idx_int(st, 4);
        idx_done(st);
    }
    return found;
}

int obj_check_cond_locked(st_engine *e, int64_t bucket_id, const char *key,
                          const st_write_cond *c, int64_t begin_ms, cf_err *err)
{
    idx_assert_held(e->ix);
    if (!c || (!c->if_none_match && !c->if_match))
        return 0;
    char etag[ST_ETAG_MAX];
    int64_t mtime = 0;
    int found = current_etag_locked(e, bucket_id, key, etag, &mtime, err);
    if (found < 0)
        return -1;
    bool ok = true;
    if (c->if_none_match && found)
        ok = false;
    if (ok && c->if_match) {
        if (!found)
            return cf_fail(err, CF_ENOKEY, "If-Match: the key has no object");
        ok = strcmp(c->if_match, "*") == 0 || etag_equal(etag, c->if_match);
    }
    if (ok)
        return 0;
    if (mtime >= begin_ms)
        return cf_fail(err, CF_ECONFLICT, "another write to the key was committed "
                       "while this one was in progress");
    return cf_fail(err, CF_EPRECOND, "%s", c->if_none_match && found
                   ? "If-None-Match: the key already has an object"
                   : "If-Match: the object's ETag is another");
}

typedef struct completed_check {
    const st_complete_part *parts;
    size_t nparts, seen;
    bool same;
} completed_check;

static int completed_segment(void *ctx, const obj_segment *s, cf_err *err)
{
    (void)err;
    completed_check *c = ctx;
    if (c->seen >= c->nparts || c->parts[c->seen].part_number != s->part ||
        !etag_equal(s->etag, c->parts[c->seen].etag))
        c->same = false;
    c->seen++;
    return c->same ? 0 : 1;
}

int obj_completed_locked(st_engine *e, int64_t bucket_id, const char *key,
                         const uint8_t upload_id[16], const st_complete_part *parts,
                         size_t nparts, st_object_info *info, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st;
    int found = obj_select_locked(e, bucket_id, key, &st, err);
    if (found <= 0)
        return found;
    uint8_t made_by[16], vid[16];
    bool ours = sqlite3_column_type(st, 10) == SQLITE_BLOB &&
                idx_blob(st, 10, made_by, 16) == 0 && memcmp(made_by, upload_id, 16) == 0 &&
                idx_blob(st, 1, vid, 16) == 0 && idx_int(st, 8) == (int64_t)nparts;
    int rc = ours ? obj_fill_info(st, info, true, err) : 0;
    idx_done(st);
    if (!ours || rc < 0)
        return rc < 0 ? -1 : 0;
    completed_check c = {.parts = parts, .nparts = nparts, .same = true};
    rc = obj_segments_locked(e, vid, 0, -1, completed_segment, &c, err);
    if (rc == 0 && c.same && c.seen == nparts)
        return 1;
    st_object_info_clear(info);
    return rc < 0 ? -1 : 0;
}

/* ---- segments ----------------------------------------------------------- */

int obj_insert_segment_locked(st_engine *e, const uint8_t version_id[16], int seq,
                              const uint8_t data_id[16], uint32_t part,
                              const uint8_t wrapped[CRYPT_WRAPPED_LEN],
                              const seg_result *res, cf_err *err)
{
    idx_assert_held(e->ix);
    int rc = idx_run(e->ix, NULL, err,
                     "INSERT INTO segments (version_id, seq, data_id, part, size, wrapped, "
                     "missing, inline_data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "bibiibib",
                     version_id, (size_t)16, (int64_t)seq, data_id, (size_t)16,
                     (int64_t)part, (int64_t)res->size, wrapped, (size_t)CRYPT_WRAPPED_LEN,
                     (int64_t)res->missing, res->inline_data, res->inline_len);
    if (rc == 0 && res->missing)
        rc = heal_queue_locked(e, data_id, err);
    return rc;
}

int obj_segment_from_part_locked(st_engine *e, const uint8_t version_id[16], int seq,
                                 const uint8_t upload_id[16], uint32_t part, cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_run(e->ix, NULL, err,
                   "INSERT INTO segments (version_id, seq, data_id, part, size, wrapped, "
                   "missing, inline_data, etag, cks) SELECT ?, ?, data_id, part, size, "
                   "wrapped, missing, inline_data, etag, cks FROM parts "
                   "WHERE upload_id = ? AND part = ?",
                   "bibi", version_id, (size_t)16, (int64_t)seq, upload_id, (size_t)16,
                   (int64_t)part);
}

int obj_segments_locked(st_engine *e, const uint8_t version_id[16], int from, int limit,
                        obj_segment_cb cb, void *ctx, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT data_id, part, size, wrapped, inline_data, seq, etag, cks FROM segments "
        "WHERE version_id = ? AND seq >= ? ORDER BY seq LIMIT ?", "bii", version_id,
        (size_t)16, (int64_t)from, (int64_t)limit);
    int rc = st ? 0 : -1;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        obj_segment s = {.part = (uint32_t)idx_int(st, 1),
                         .size = (uint64_t)idx_int(st, 2), .seq = (int)idx_int(st, 5),
                         .etag = idx_text(st, 6), .cks = idx_text(st, 7)};
        if (idx_blob(st, 0, s.data_id, 16) < 0 ||
            idx_blob(st, 3, s.wrapped, CRYPT_WRAPPED_LEN) < 0) {
            idx_done(st);
            return cf_fail(err, CF_ECORRUPT, "index: malformed segment row");
        }
        if (sqlite3_column_type(st, 4) == SQLITE_BLOB) {
            s.inline_data = sqlite3_column_blob(st, 4);
            s.inline_len = (size_t)sqlite3_column_bytes(st, 4);
            s.is_inline = true;
        }
        int out = cb(ctx, &s, err);
        if (out != 0) {
            idx_done(st);
            return out < 0 ? -1 : 0;
        }
    }
    return rc;
}

int obj_segment_set_inline_locked(st_engine *e, const uint8_t data_id[16],
                                  const uint8_t *sealed, size_t n, cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_run(e->ix, NULL, err, "UPDATE segments SET inline_data = ? WHERE data_id = ?",
                   "bb", sealed, n, data_id, (size_t)16);
}

int obj_segment_healed_locked(st_engine *e, const uint8_t data_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_run(e->ix, NULL, err, "UPDATE segments SET missing = 0 WHERE data_id = ?",
                   "b", data_id, (size_t)16);
}

int obj_locate_segment_locked(st_engine *e, const uint8_t data_id[16], eng_seg_loc *loc,
                              cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT s.version_id, s.part, s.size, s.wrapped, t.name, b.name, o.key "
        "FROM segments s JOIN objects o ON o.version_id = s.version_id "
        "JOIN buckets b ON b.id = o.bucket_id JOIN tenants t ON t.id = b.tenant_id "
        "WHERE s.data_id = ? AND s.inline_data IS NULL LIMIT 1", "b", data_id,
        (size_t)16);
    return st ? eng_seg_loc_read(e, st, loc, err) : -1;
}

int obj_sharded_after_locked(st_engine *e, const uint8_t after[16], uint8_t ids[][16],
                             int max, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT data_id FROM segments WHERE inline_data IS NULL "
        "AND data_id > ? ORDER BY data_id LIMIT ?", "bi", after, (size_t)16,
        (int64_t)max);
    return eng_ids_read(e, st, ids, max, err);
}

int obj_references_locked(st_engine *e, const uint8_t data_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_exists(e->ix, err, "SELECT 1 FROM segments WHERE data_id = ? LIMIT 1", "b",
                      data_id, (size_t)16);
}

/* ---- HEAD / DELETE / parts ---------------------------------------------- */

/* The current row of (tenant, bucket, key), checked against the customer
 * key: 0 with info filled, or -1 (CF_ENOBUCKET, CF_ENOKEY, CF_ENEEDKEY,
 * CF_EBADKEY). With vid, the version id too. */
static int head_locked(st_engine *e, const char *tenant, const char *bucket,
                       const char *key, const uint8_t *ssec_key, st_object_info *info,
                       uint8_t *vid, cf_err *err)
{
    idx_assert_held(e->ix);
    int64_t bid;
    sqlite3_stmt *st = NULL;
    if (bucket_id_locked(e, tenant, bucket, &bid, err) < 0)
        return -1;
    int found = obj_select_locked(e, bid, key, &st, err);
    if (found <= 0)
        return found < 0 ? -1 : cf_fail(err, CF_ENOKEY, "no such key");
    uint8_t ssec[CRYPT_SSEC_LEN], kek[CRYPT_KEY_LEN];
    bool has_ssec = obj_row_ssec(st, ssec) == 1, has;
    int rc = eng_ssec_kek(e, tenant, has_ssec ? ssec : NULL, ssec_key, kek, &has, err);
    crypt_wipe(kek, sizeof kek);
    if (rc == 0 && vid && idx_blob(st, 1, vid, 16) < 0)
        rc = cf_fail(err, CF_ECORRUPT, "index: bad version id");
    if (rc == 0)
        rc = obj_fill_info(st, info, true, err);
    idx_done(st);
    return rc;
}

int st_head_ssec(st_engine *e, const char *tenant, const char *bucket, const char *key,
                 const uint8_t *ssec_key, st_object_info *info, cf_err *err)
{
    idx_lock(e->ix);
    uint8_t vid[16];
    int rc = head_locked(e, tenant, bucket, key, ssec_key, info, vid, err);
    if (rc == 0)
        rc = tiering_object_attrs_locked(e, vid, true, info, err);
    idx_unlock(e->ix);
    return rc;
}

int st_head(st_engine *e, const char *tenant, const char *bucket, const char *key,
            st_object_info *info, cf_err *err)
{
    return st_head_ssec(e, tenant, bucket, key, NULL, info, err);
}

/* Delete the key's current version, or only if it is `only` (non-NULL), and
 * only if its ETag is if_match (non-NULL): 1 a version went, 0 none, -1
 * error. */
static int delete_object(st_engine *e, const char *tenant, const char *bucket,
                         const char *key, const uint8_t *only, const char *if_match,
                         cf_err *err)
{
    int64_t bid;
    st_write_cond c = {.if_match = if_match};
    int gone = 0;
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, tenant, bucket, &bid, err);
    if (rc == 0)
        rc = idx_begin(e->ix, err);
    if (rc == 0) {
        rc = obj_check_cond_locked(e, bid, key, &c, INT64_MAX, err);
        if (rc == 0) {
            gone = retire_version_locked(e, bid, key, only, true, err);
            rc = gone < 0 ? -1 : 0;
        }
        rc = rc == 0 ? idx_commit(e->ix, err) : (idx_rollback(e->ix), -1);
    }
    rc = eng_unlock_durable(e, rc, err);
    if (rc == 0)
        deleteq_drain(e);
    return rc < 0 ? -1 : gone;
}

int st_delete_if(st_engine *e, const char *tenant, const char *bucket, const char *key,
                 const char *if_match, cf_err *err)
{
    return delete_object(e, tenant, bucket, key, NULL, if_match, err) < 0 ? -1 : 0;
}

int st_expire(st_engine *e, const char *tenant, const char *bucket, const char *key,
              const char *version_id, cf_err *err)
{
    uint8_t vid[16];
    if (eng_id_from_hex(version_id, vid) < 0)
        return cf_fail(err, CF_EINVAL, "bad version id");
    return delete_object(e, tenant, bucket, key, vid, NULL, err);
}

int st_delete(st_engine *e, const char *tenant, const char *bucket, const char *key,
              cf_err *err)
{
    return st_delete_if(e, tenant, bucket, key, NULL, err);
}

typedef struct parts_page {
    st_object_part_cb cb;
    void *ctx;
    int max, n;
    bool *truncated;
} parts_page;

static int part_of_segment(void *ctx, const obj_segment *s, cf_err *err)
{
    (void)err;
    parts_page *pg = ctx;
    if (pg->n++ == pg->max) {
        *pg->truncated = true;
        return 1;
    }
    st_object_part p = {.number = (uint32_t)s->seq + 1, .size = s->size};
    snprintf(p.checksum_b64, sizeof p.checksum_b64, "%s", s->cks);
    return pg->cb(pg->ctx, &p) != 0;
}

int st_object_parts(st_engine *e, const char *tenant, const char *bucket, const char *key,
                    const char *version_id, uint32_t marker, int max,
                    st_object_part_cb cb, void *ctx, bool *truncated, cf_err *err)
{
    uint8_t want[16], vid[16];
    int64_t bid;
    sqlite3_stmt *st = NULL;
    *truncated = false;
    if (eng_id_from_hex(version_id, want) < 0)
        return cf_fail(err, CF_ENOKEY, "no such version");
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, tenant, bucket, &bid, err);
    if (rc == 0) {
        int found = obj_select_locked(e, bid, key, &st, err);
        if (found == 1) {
            if (idx_blob(st, 1, vid, 16) < 0 || memcmp(vid, want, 16) != 0)
                rc = cf_fail(err, CF_ENOKEY, "the object changed");
            idx_done(st);
        } else {
            rc = found < 0 ? -1 : cf_fail(err, CF_ENOKEY, "no such key");
        }
    }
    parts_page pg = {.cb = cb, .ctx = ctx, .max = max, .truncated = truncated};
    if (rc == 0)
        rc = obj_segments_locked(e, vid, (int)marker, max + 1, part_of_segment, &pg, err);
    idx_unlock(e->ix);
    return rc;
}
