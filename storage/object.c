/*
 * storage/object.c - object rows and the version model: the objects,
 * versions and segments tables, HEAD and DELETE.
 *
 * An object is one row of `objects` per (bucket, key): its current
 * version (a random version id), size, ETag, checksum and stored headers.
 * Every other version of the key, noncurrent ones and delete markers, is
 * a row of `versions` (doc/design.md, "The version model"): a write or
 * delete in a versioned bucket moves the current row there (demote), and
 * destroying the latest version moves the next newest back (settle). Only
 * destroy_locked removes a version, and it refuses one under object lock.
 * A version's data is an ordered list of `segments` rows (one for a PUT,
 * one per part for a completed multipart upload), each naming the data id
 * of its shard files (or holding the sealed bytes inline), the part number
 * that keys its nonces and its wrapped data key. Invariant: a data id is
 * in at most one row of segments or parts, or in the delete queue.
 *
 * Replacing or deleting a version moves its segments to the delete queue
 * in the same transaction (obj_publish_locked; deleteq.c unlinks the files
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
#include <time.h>

#include "common/etag.h"
#include "common/hex.h"

/* ---- object rows -------------------------------------------------------- */

/* Every version query returns these columns, in this order: obj_fill_info
 * and read_ref read them by position. */
#define OBJ_COLUMNS "key, version_id, size, etag, mtime_ms, cks_algo, cks, " \
                    "cks_composite, nparts, headers, null_version, lock_mode, " \
                    "retain_until_ms, legal_hold, upload_id, ssec"
/* ... then marker, latest, seq and whether the row is in objects. */
#define OBJ_ROW OBJ_COLUMNS ", 0 AS marker, 1 AS latest, seq, 1 AS current"
#define VER_LATEST "(NOT EXISTS (SELECT 1 FROM objects o WHERE o.bucket_id = v.bucket_id " \
                   "AND o.key = v.key) AND NOT EXISTS (SELECT 1 FROM versions w WHERE " \
                   "w.bucket_id = v.bucket_id AND w.key = v.key AND w.seq > v.seq))"
#define VER_ROW OBJ_COLUMNS ", marker, " VER_LATEST " AS latest, seq, 0 AS current"
/* What a row moved between the two tables keeps. */
/* How many columns OBJ_ROW and VER_ROW have. */
#define OBJ_NCOLS 20
/* What a key's JRN_KEY record holds of each version (journal.h). */
#define STATE_COLUMNS "seq, version_id, null_version, size, etag, mtime_ms, cks_algo, " \
                      "cks, cks_composite, nparts, headers, lock_mode, retain_until_ms, " \
                      "legal_hold, upload_id, ssec"
#define MOVE_COLUMNS "bucket_id, key, seq, version_id, null_version, size, etag, " \
                     "mtime_ms, cks_algo, cks, cks_composite, nparts, headers, " \
                     "lock_mode, retain_until_ms, legal_hold, upload_id, ssec"

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
    info->null_version = idx_int(st, 10) != 0;
    info->lock_mode = (int)idx_int(st, 11);
    info->retain_until_ms = idx_int(st, 12);
    info->legal_hold = (int)idx_int(st, 13);
    info->ssec = sqlite3_column_type(st, 15) == SQLITE_BLOB;
    info->delete_marker = idx_int(st, 16) != 0;
    info->latest = idx_int(st, 17) != 0;
    if (!headers || info->delete_marker)     /* a marker has none */
        return 0;
    return headers_from_json(idx_text(st, 9), &info->headers, &info->nheaders, err);
}

int obj_row_ssec(sqlite3_stmt *st, uint8_t out[CRYPT_SSEC_LEN])
{
    return sqlite3_column_type(st, 15) == SQLITE_BLOB &&
           idx_blob(st, 15, out, CRYPT_SSEC_LEN) == 0;
}

void st_object_info_clear(st_object_info *info)
{
    headers_free(info->headers, info->nheaders);
    info->headers = NULL;
    info->nheaders = 0;
}

const char *st_version_name(const st_object_info *info)
{
    return info->null_version ? "null" : info->version_id;
}

bool st_version_name_ok(const char *v)
{
    if (strcmp(v, "null") == 0)
        return true;
    size_t n = strspn(v, "0123456789abcdef");
    return n == ST_ID_HEX - 1 && v[n] == '\0';
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
                     "SELECT " OBJ_ROW " FROM objects WHERE bucket_id = ? AND key = ?",
                     "ib", bucket_id, key, strlen(key));
    return *out ? idx_next(e->ix, *out, err) : -1;
}

int obj_walk_locked(st_engine *e, int64_t only_bucket, int64_t after_bucket,
                    const char *after_key, obj_walk_item *out, int max, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT o.*, t.name, b.name FROM (SELECT " OBJ_ROW ", bucket_id FROM objects "
        "WHERE (bucket_id, key) > (?1, ?2) AND (?3 = 0 OR bucket_id = ?3) "
        "ORDER BY bucket_id, key LIMIT ?4) o JOIN buckets b ON b.id = o.bucket_id "
        "JOIN tenants t ON t.id = b.tenant_id ORDER BY o.bucket_id, o.key", "ibii",
        after_bucket, after_key, strlen(after_key), only_bucket, (int64_t)max);
    int n = 0, rc = st ? 0 : -1;
    while (st && n < max && (rc = idx_next(e->ix, st, err)) == 1) {
        obj_walk_item *it = &out[n];
        if (obj_fill_info(st, &it->info, false, err) < 0 ||
            idx_blob(st, 1, it->version_id, 16) < 0) {
            idx_done(st);
            return cf_fail(err, CF_ECORRUPT, "index: malformed object row");
        }
        it->bucket_id = idx_int(st, OBJ_NCOLS);
        snprintf(it->tenant, sizeof it->tenant, "%s", idx_text(st, OBJ_NCOLS + 1));
        snprintf(it->bucket, sizeof it->bucket, "%s", idx_text(st, OBJ_NCOLS + 2));
        n++;
    }
    if (st && rc == 1)
        idx_done(st);
    return rc < 0 ? -1 : n;
}

int obj_version_locked(st_engine *e, const uint8_t version_id[16], obj_version *v,
                       cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT o.*, t.name, b.name FROM (SELECT " OBJ_ROW ", bucket_id FROM objects "
        "WHERE version_id = ?) o JOIN buckets b ON b.id = o.bucket_id "
        "JOIN tenants t ON t.id = b.tenant_id", "b", version_id, (size_t)16);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc != 1)
        return rc;
    rc = obj_fill_info(st, &v->info, false, err);
    snprintf(v->tenant, sizeof v->tenant, "%s", idx_text(st, OBJ_NCOLS + 1));
    snprintf(v->bucket, sizeof v->bucket, "%s", idx_text(st, OBJ_NCOLS + 2));
    v->headers_json = NULL;
    if (rc == 0 && sqlite3_column_type(st, 9) != SQLITE_NULL &&
        !(v->headers_json = strdup(idx_text(st, 9))))
        rc = cf_fail(err, CF_ENOMEM, "out of memory");
    idx_done(st);
    return rc < 0 ? -1 : 1;
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
            "SELECT " OBJ_ROW " FROM objects WHERE bucket_id = ?1 "
            "AND key >= ?2 ORDER BY key LIMIT ?3",
            "ibi", bucket_id, bound, bound_len, (int64_t)limit);
    return idx_query(e->ix, err,
        "SELECT " OBJ_ROW " FROM objects WHERE bucket_id = ?1 "
        "AND key > ?2 ORDER BY key LIMIT ?3",
        "ibi", bucket_id, bound, bound_len, (int64_t)limit);
}

sqlite3_stmt *obj_version_page_locked(st_engine *e, int64_t bucket_id, const char *bound,
                                      size_t bound_len, int64_t seq_below, int limit,
                                      cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_query(e->ix, err,
        "SELECT * FROM (SELECT " OBJ_ROW ", 0 AS noncurrent_ms FROM objects WHERE "
        "bucket_id = ?1 AND key >= ?2 AND (key > ?2 OR seq < ?3) UNION ALL SELECT " VER_ROW
        ", noncurrent_ms FROM versions v WHERE bucket_id = ?1 AND key >= ?2 AND "
        "(key > ?2 OR seq < ?3)) ORDER BY key, seq DESC LIMIT ?4",
        "ibii", bucket_id, bound, bound_len, seq_below, (int64_t)limit);
}

int64_t obj_row_seq(sqlite3_stmt *st)
{
    return idx_int(st, 18);
}

int64_t obj_row_noncurrent_ms(sqlite3_stmt *st)
{
    return idx_int(st, OBJ_NCOLS);
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

/* ---- versions ----------------------------------------------------------- */

/* A version found by find_locked or obj_select_locked: what destroying it
 * needs. */
typedef struct ver_ref {
    uint8_t vid[16];
    bool null_version, marker, latest, current;
    bool multipart;                  /* a completed upload: it has a manifest */
    int64_t seq;
    int lock_mode, legal_hold;
    int64_t retain_until_ms;
} ver_ref;

static int read_ref(sqlite3_stmt *st, ver_ref *r, cf_err *err)
{
    if (idx_blob(st, 1, r->vid, sizeof r->vid) < 0)
        return cf_fail(err, CF_ECORRUPT, "index: bad version id");
    r->multipart = idx_int(st, 8) > 0;
    r->null_version = idx_int(st, 10) != 0;
    r->lock_mode = (int)idx_int(st, 11);
    r->retain_until_ms = idx_int(st, 12);
    r->legal_hold = (int)idx_int(st, 13);
    r->marker = idx_int(st, 16) != 0;
    r->latest = idx_int(st, 17) != 0;
    r->seq = idx_int(st, 18);
    r->current = idx_int(st, 19) != 0;
    return 0;
}

/* A key's version by S3's id (version "null": its null version), the
 * statement left on the row: 1 found, 0 not, -1 error (CF_EINVAL for a
 * malformed id). */
static int find_locked(st_engine *e, int64_t bucket_id, const char *key, const char *version,
                       sqlite3_stmt **out, cf_err *err)
{
    idx_assert_held(e->ix);
    uint8_t vid[16];
    bool null = strcmp(version, "null") == 0;
    if (!st_version_name_ok(version) || (!null && eng_id_from_hex(version, vid) < 0))
        return cf_fail(err, CF_EINVAL, "Invalid version id specified");
    *out = idx_query(e->ix, err,
        "SELECT " OBJ_ROW " FROM objects WHERE bucket_id = ?1 AND key = ?2 AND "
        "(?3 IS NULL AND null_version = 1 OR version_id = ?3) UNION ALL SELECT " VER_ROW
        " FROM versions v WHERE bucket_id = ?1 AND key = ?2 AND "
        "(?3 IS NULL AND null_version = 1 OR version_id = ?3) LIMIT 1",
        "ibb", bucket_id, key, strlen(key), null ? NULL : vid, (size_t)16);
    return *out ? idx_next(e->ix, *out, err) : -1;
}

/* find_locked, read into r: 1, 0, -1. */
static int find_ref_locked(st_engine *e, int64_t bucket_id, const char *key,
                           const char *version, ver_ref *r, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st;
    int found = find_locked(e, bucket_id, key, version, &st, err);
    if (found == 1) {
        found = read_ref(st, r, err) < 0 ? -1 : 1;
        idx_done(st);
    }
    return found;
}

int obj_version_seq_locked(st_engine *e, int64_t bucket_id, const char *key,
                           const char *version, int64_t *seq, cf_err *err)
{
    idx_assert_held(e->ix);
    ver_ref r;
    int found = find_ref_locked(e, bucket_id, key, version, &r, err);
    if (found == 1)
        *seq = r.seq;
    return found;
}

/* The seq a new version of the key gets: one more than its newest. */
static int next_seq_locked(st_engine *e, int64_t bucket_id, const char *key, int64_t *seq,
                           cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_scalar(e->ix, seq, err,
        "SELECT coalesce(max(s), 0) + 1 FROM (SELECT seq AS s FROM objects WHERE "
        "bucket_id = ?1 AND key = ?2 UNION ALL SELECT max(seq) FROM versions WHERE "
        "bucket_id = ?1 AND key = ?2)", "ib", bucket_id, key, strlen(key));
}

/* The lock clock (design.md "The lock clock"): the larger of the system
 * clock and the index's high-water mark, so a clock set backwards neither
 * ends a retention nor dates a default retention earlier than a time the
 * index has already acted on. lock_clock_keep_locked records a time used
 * as the new mark, in the caller's transaction. */
static int lock_clock_locked(st_engine *e, int64_t *now_ms, cf_err *err)
{
    idx_assert_held(e->ix);
    int64_t hw, t = eng_now_ms();
    if (idx_clock_hw_locked(e->ix, &hw, err) < 0)
        return -1;
    *now_ms = t > hw ? t : hw;
    return 0;
}

static int lock_clock_keep_locked(st_engine *e, int64_t now_ms, cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_clock_hw_raise_locked(e->ix, now_ms, err);
}

/* Why a bucket that is not empty is: its versions under object lock (the
 * latest retention in effect at the lock clock, a legal hold), if any. A
 * scan of the bucket's versions, made only for a refused deletion. */
static int lock_extent_locked(st_engine *e, int64_t bucket_id, int64_t *until_ms,
                              bool *held, cf_err *err)
{
    idx_assert_held(e->ix);
    int64_t now;
    if (lock_clock_locked(e, &now, err) < 0)
        return -1;
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT coalesce(max(CASE WHEN lock_mode != 0 AND retain_until_ms > ?2 "
        "THEN retain_until_ms END), 0), coalesce(max(legal_hold = ?3), 0) FROM ("
        "SELECT lock_mode, retain_until_ms, legal_hold FROM objects WHERE bucket_id = ?1 "
        "UNION ALL SELECT lock_mode, retain_until_ms, legal_hold FROM versions "
        "WHERE bucket_id = ?1)", "iii", bucket_id, now, (int64_t)ST_HOLD_ON);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        *until_ms = idx_int(st, 0);
        *held = idx_int(st, 1) != 0;
        idx_done(st);
    }
    return rc < 0 ? -1 : 0;
}

int obj_bucket_empty_locked(st_engine *e, int64_t bucket_id, const char *bucket,
                            cf_err *err)
{
    idx_assert_held(e->ix);
    bucket_lock b;
    int rc = idx_exists(e->ix, err, "SELECT 1 FROM objects WHERE bucket_id = ?1 UNION ALL "
                        "SELECT 1 FROM versions WHERE bucket_id = ?1 LIMIT 1", "i",
                        bucket_id);
    if (rc <= 0)
        return rc;
    int64_t until = 0;
    bool held = false;
    if (bucket_state_locked(e, bucket_id, &b, err) < 0 ||
        (b.object_lock && lock_extent_locked(e, bucket_id, &until, &held, err) < 0))
        return -1;
    if (!until && !held)
        return cf_fail(err, CF_ENOTEMPTY, "bucket %s is not empty", bucket);
    char date[32] = "";
    time_t t = (time_t)(until / 1000);
    struct tm tm;
    if (until && gmtime_r(&t, &tm))
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return cf_fail(err, CF_ENOTEMPTY, "bucket %s is not empty: it holds versions under "
                   "object lock%s%s%s", bucket, until ? ", retained until " : "", date,
                   held ? (until ? " or under a legal hold" : ", under a legal hold") : "");
}

/* Under object lock at the lock clock: retention not yet ended (unless
 * only GOVERNANCE and bypassed) or a legal hold. */
static bool is_protected(const ver_ref *r, int64_t now_ms, bool bypass_governance)
{
    if (r->legal_hold == ST_HOLD_ON)
        return true;
    if (r->lock_mode == ST_LOCK_NONE || r->retain_until_ms <= now_ms)
        return false;
    return !(r->lock_mode == ST_LOCK_GOVERNANCE && bypass_governance);
}

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

int obj_named_locked(st_engine *e, const char *tenant, const char *bucket, const char *key,
                     const char *version, st_object_info *info, uint8_t vid[16],
                     cf_err *err)
{
    idx_assert_held(e->ix);
    if (!version)
        return obj_current_locked(e, tenant, bucket, key, info, vid, err);
    int64_t bid;
    st_object_info tmp, *in = info ? info : &tmp;
    memset(in, 0, sizeof *in);
    if (bucket_id_locked(e, tenant, bucket, &bid, err) < 0)
        return -1;
    int rc = obj_resolve_locked(e, bid, key, version, in, vid, NULL, err);
    if (rc < 0 || !info)
        st_object_info_clear(in);
    return rc;
}

int obj_version_exists_locked(st_engine *e, const uint8_t vid[16], cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_exists(e->ix, err, "SELECT 1 FROM objects WHERE version_id = ?1 UNION ALL "
                      "SELECT 1 FROM versions WHERE version_id = ?1 AND marker = 0 LIMIT 1",
                      "b", vid, (size_t)16);
}

void obj_journal_version_locked(st_engine *e, const uint8_t vid[16])
{
    idx_assert_held(e->ix);
    cf_err err;
    char key[ST_MAX_KEY + 1];
    sqlite3_stmt *st = e->jrn ? idx_query(e->ix, &err,
        "SELECT bucket_id, key FROM objects WHERE version_id = ?1 UNION ALL "
        "SELECT bucket_id, key FROM versions WHERE version_id = ?1 LIMIT 1", "b", vid,
        (size_t)16) : NULL;
    if (!st || idx_next(e->ix, st, &err) != 1)
        return;                      /* the index still holds it (journal.h) */
    int64_t bid = idx_int(st, 0);
    int n = sqlite3_column_bytes(st, 1);
    if (n > 0 && n <= ST_MAX_KEY) {
        memcpy(key, sqlite3_column_blob(st, 1), (size_t)n);
        key[n] = '\0';
    }
    idx_done(st);
    if (n > 0 && n <= ST_MAX_KEY)
        jrnrec_touch_locked(e, bid, key);
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

/* A version's data: its segments and, for a completed upload, the
 * manifest named by its id (manifest.h), to the delete queue. */
static int drop_version_data_locked(st_engine *e, const ver_ref *r, cf_err *err)
{
    idx_assert_held(e->ix);
    int rc = drop_segments_locked(e, r->vid, err);
    if (rc == 0 && r->multipart)
        rc = deleteq_data_locked(e, r->vid, err);
    return rc;
}

/* The key's current row, if any, becomes noncurrent (moves to versions,
 * as the latest marker does), in the caller's transaction. */
static int demote_locked(st_engine *e, int64_t bucket_id, const char *key, int64_t now_ms,
                         cf_err *err)
{
    idx_assert_held(e->ix);
    size_t klen = strlen(key);
    int rc = idx_run(e->ix, NULL, err, "UPDATE versions SET noncurrent_ms = ?3 WHERE "
                     "bucket_id = ?1 AND key = ?2 AND noncurrent_ms = 0", "ibi",
                     bucket_id, key, klen, now_ms);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "INSERT INTO versions(" MOVE_COLUMNS ", marker, "
                     "noncurrent_ms) SELECT " MOVE_COLUMNS ", 0, ?3 FROM objects WHERE "
                     "bucket_id = ?1 AND key = ?2", "ibi", bucket_id, key, klen, now_ms);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "DELETE FROM objects WHERE bucket_id = ? AND key = ?",
                     "ib", bucket_id, key, klen);
    return rc;
}

/* After the latest version went: the next newest becomes the latest (an
 * object version back into objects, a marker current again). */
static int settle_locked(st_engine *e, int64_t bucket_id, const char *key, cf_err *err)
{
    idx_assert_held(e->ix);
    size_t klen = strlen(key);
    sqlite3_stmt *st = idx_query(e->ix, err, "SELECT marker, seq FROM versions WHERE "
                                 "bucket_id = ? AND key = ? ORDER BY seq DESC LIMIT 1",
                                 "ib", bucket_id, key, klen);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc <= 0)
        return rc;
    bool marker = idx_int(st, 0) != 0;
    int64_t seq = idx_int(st, 1);
    idx_done(st);
    if (marker)
        return idx_run(e->ix, NULL, err, "UPDATE versions SET noncurrent_ms = 0 WHERE "
                       "bucket_id = ? AND key = ? AND seq = ?", "ibi", bucket_id, key,
                       klen, seq);
    rc = idx_run(e->ix, NULL, err, "INSERT INTO objects(" MOVE_COLUMNS ") SELECT "
                 MOVE_COLUMNS " FROM versions WHERE bucket_id = ?1 AND key = ?2 AND "
                 "seq = ?3", "ibi", bucket_id, key, klen, seq);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "DELETE FROM versions WHERE bucket_id = ? AND "
                     "key = ? AND seq = ?", "ibi", bucket_id, key, klen, seq);
    return rc;
}

/* The one way a version is removed: refused (CF_ELOCKED) under object
 * lock; its segments to the delete queue; with settle, the next newest
 * takes its place when it was the latest. */
static int destroy_locked(st_engine *e, int64_t bucket_id, const char *key, const ver_ref *r,
                          bool bypass_governance, bool settle, cf_err *err)
{
    idx_assert_held(e->ix);
    int64_t now = 0;                 /* only a retention needs the clock */
    if (r->lock_mode != ST_LOCK_NONE && lock_clock_locked(e, &now, err) < 0)
        return -1;
    if (is_protected(r, now, bypass_governance))
        return cf_fail(err, CF_ELOCKED, "Access Denied because object protected by "
                       "object lock.");
    /* allowed because a retention ended: that time is the mark from now on */
    int rc = r->lock_mode != ST_LOCK_NONE ? lock_clock_keep_locked(e, now, err) : 0;
    size_t klen = strlen(key);
    if (rc == 0 && !r->marker)
        rc = drop_version_data_locked(e, r, err);
    if (rc == 0 && r->current)
        rc = idx_run(e->ix, NULL, err, "DELETE FROM objects WHERE bucket_id = ? AND key = ?",
                     "ib", bucket_id, key, klen);
    else if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "DELETE FROM versions WHERE bucket_id = ? AND "
                     "key = ? AND seq = ?", "ibi", bucket_id, key, klen, r->seq);
    if (rc == 0 && settle && r->latest)
        rc = settle_locked(e, bucket_id, key, err);
    if (rc == 0)
        jrnrec_touch_locked(e, bucket_id, key);
    return rc;
}

/* Suspended: the key's null version, wherever it is, is destroyed. */
static int destroy_null_locked(st_engine *e, int64_t bucket_id, const char *key,
                               cf_err *err)
{
    idx_assert_held(e->ix);
    ver_ref r;
    int found = find_ref_locked(e, bucket_id, key, "null", &r, err);
    return found <= 0 ? found : destroy_locked(e, bucket_id, key, &r, false, false, err);
}

/* Unversioned: the key's current version, if any, is destroyed (with
 * delete_row its objects row goes too; else the caller replaces it). */
static int retire_locked(st_engine *e, int64_t bucket_id, const char *key, bool delete_row,
                         cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st;
    int found = obj_select_locked(e, bucket_id, key, &st, err);
    if (found <= 0)
        return found;
    ver_ref r;
    int rc = read_ref(st, &r, err);
    idx_done(st);
    if (rc == 0 && delete_row)
        rc = destroy_locked(e, bucket_id, key, &r, false, false, err);
    else if (rc == 0)
        rc = drop_version_data_locked(e, &r, err);
    return rc;
}

/* Before a new latest version of the key (write or marker) in a bucket in
 * state: what it replaces is destroyed or demoted; *null says whether the
 * new one is the null version. */
static int make_room_locked(st_engine *e, int64_t bucket_id, const char *key, int state,
                            bool delete_row, bool *null, cf_err *err)
{
    idx_assert_held(e->ix);
    *null = state != ST_VERSIONING_ENABLED;
    if (state == ST_VERSIONING_OFF)
        return retire_locked(e, bucket_id, key, delete_row, err) < 0 ? -1 : 0;
    if (state == ST_VERSIONING_SUSPENDED && destroy_null_locked(e, bucket_id, key, err) < 0)
        return -1;
    return demote_locked(e, bucket_id, key, eng_now_ms(), err);
}

json_t *obj_key_state_locked(st_engine *e, int64_t bucket_id, const char *key, cf_err *err)
{
    idx_assert_held(e->ix);
    size_t klen = strlen(key);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT " STATE_COLUMNS ", 0 AS marker, 0 AS noncurrent_ms, 1 AS current "
        "FROM objects WHERE bucket_id = ?1 AND key = ?2 UNION ALL "
        "SELECT " STATE_COLUMNS ", marker, noncurrent_ms, 0 FROM versions "
        "WHERE bucket_id = ?1 AND key = ?2 ORDER BY seq DESC", "ib", bucket_id, key, klen);
    json_t *all = st ? json_array() : NULL;
    int rc = all ? 1 : -1;
    while (all && (rc = idx_next(e->ix, st, err)) == 1) {
        json_t *v = json_object();
        for (int c = 0; v && c < sqlite3_column_count(st); c++) {
            json_t *x;
            char *h = NULL;
            int n = sqlite3_column_bytes(st, c);
            switch (sqlite3_column_type(st, c)) {
            case SQLITE_INTEGER:
                x = json_integer(idx_int(st, c));
                break;
            case SQLITE_TEXT:
                x = json_string(idx_text(st, c));
                break;
            case SQLITE_BLOB:
                h = malloc(2 * (size_t)n + 1);
                if (h)
                    hex_encode(sqlite3_column_blob(st, c), (size_t)n, h, 2 * (size_t)n + 1);
                x = h ? json_pack("{s:s}", "hex", h) : NULL;
                free(h);
                break;
            default:
                x = json_null();
            }
            if (!x || json_object_set_new(v, sqlite3_column_name(st, c), x) < 0) {
                json_decref(v);
                v = NULL;
            }
        }
        if (!v || json_array_append_new(all, v) < 0) {
            idx_done(st);
            rc = cf_fail(err, CF_ENOMEM, "out of memory");
            break;
        }
    }
    if (rc < 0) {
        json_decref(all);
        return NULL;
    }
    return all;
}

static int new_lock(const bucket_lock *b, const st_write_opts *opts, int64_t now_ms,
                    ver_ref *out, cf_err *err);

int obj_publish_locked(st_engine *e, const obj_row *o, const st_write_opts *opts,
                       bool *null_version, bool *versioned_bucket, cf_err *err)
{
    idx_assert_held(e->ix);
    if (opts && opts->no_overwrite) {
        sqlite3_stmt *st;
        int found = obj_select_locked(e, o->bucket_id, o->key, &st, err);
        if (found == 1)
            idx_done(st);
        if (found != 0)
            return found < 0 ? -1 : cf_fail(err, CF_EDENIED, "Access Denied: this access "
                                            "key may not overwrite an existing object");
    }
    bucket_lock b;
    int64_t seq;
    bool null;
    ver_ref lock = {0};
    int64_t now = 0;                 /* new_lock dates only in a bucket with lock */
    if (bucket_state_locked(e, o->bucket_id, &b, err) < 0 ||
        (b.object_lock && lock_clock_locked(e, &now, err) < 0) ||
        new_lock(&b, opts, now, &lock, err) < 0 ||
        (lock.lock_mode != ST_LOCK_NONE && lock_clock_keep_locked(e, now, err) < 0) ||
        next_seq_locked(e, o->bucket_id, o->key, &seq, err) < 0 ||
        make_room_locked(e, o->bucket_id, o->key, b.versioning, false, &null, err) < 0)
        return -1;
    if (null_version)
        *null_version = null;
    if (versioned_bucket)
        *versioned_bucket = b.versioning != ST_VERSIONING_OFF;
    jrnrec_touch_locked(e, o->bucket_id, o->key);
    return idx_run(e->ix, NULL, err,
                   "INSERT OR REPLACE INTO objects(bucket_id, key, version_id, size, etag, "
                   "mtime_ms, cks_algo, cks, cks_composite, nparts, headers, seq, "
                   "null_version, lock_mode, retain_until_ms, legal_hold, upload_id, ssec) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   "ibbitiitiitiiiiibb", o->bucket_id, o->key, strlen(o->key), o->version_id,
                   (size_t)16, (int64_t)o->size, o->etag, o->mtime_ms, (int64_t)o->algo,
                   o->checksum_b64, (int64_t)o->composite, (int64_t)o->nparts,
                   o->headers_json, seq, (int64_t)null, (int64_t)lock.lock_mode,
                   lock.retain_until_ms, (int64_t)lock.legal_hold, o->upload_id, (size_t)16,
                   o->ssec, (size_t)CRYPT_SSEC_LEN);
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
    bool ours = sqlite3_column_type(st, 14) == SQLITE_BLOB &&
                idx_blob(st, 14, made_by, 16) == 0 && memcmp(made_by, upload_id, 16) == 0 &&
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

/* ---- object lock -------------------------------------------------------- */

static int no_lock_config(cf_err *err)
{
    return cf_fail(err, CF_EBUCKETSTATE, "Bucket is missing Object Lock Configuration");
}

/* The lock of a new version: the write's own, else the bucket's default
 * retention counted from now. */
static int new_lock(const bucket_lock *b, const st_write_opts *opts, int64_t now_ms,
                    ver_ref *out, cf_err *err)
{
    bool asked = opts && (opts->lock_mode != ST_LOCK_NONE || opts->legal_hold != ST_HOLD_UNSET);
    if (asked && !b->object_lock)
        return no_lock_config(err);
    if (opts && opts->lock_mode != ST_LOCK_NONE) {
        if (opts->retain_until_ms <= now_ms)
            return cf_fail(err, CF_EINVAL, "The retain until date must be in the future!");
        out->lock_mode = opts->lock_mode;
        out->retain_until_ms = opts->retain_until_ms;
    } else if (b->object_lock && b->mode != ST_LOCK_NONE) {
        out->lock_mode = b->mode;
        out->retain_until_ms = now_ms + (b->days ? b->days : b->years * 365) * 86400000LL;
    }
    out->legal_hold = opts ? opts->legal_hold : ST_HOLD_UNSET;
    return 0;
}

int obj_lock_check_locked(st_engine *e, int64_t bucket_id, const st_write_opts *opts,
                          cf_err *err)
{
    idx_assert_held(e->ix);
    bucket_lock b;
    ver_ref lock = {0};
    int64_t now;
    return bucket_state_locked(e, bucket_id, &b, err) < 0 ||
                   lock_clock_locked(e, &now, err) < 0 || new_lock(&b, opts, now, &lock, err) < 0
               ? -1 : 0;
}

/* May a version's retention become (mode, until)? */
static int retention_change_ok(const ver_ref *r, int mode, int64_t until_ms, int64_t now_ms,
                               bool bypass, cf_err *err)
{
    bool retained = r->lock_mode != ST_LOCK_NONE && r->retain_until_ms > now_ms;
    if (mode != ST_LOCK_NONE && until_ms <= now_ms)
        return cf_fail(err, CF_EINVAL, "The retain until date must be in the future!");
    if (!retained)
        return 0;
    bool extends = mode != ST_LOCK_NONE && until_ms >= r->retain_until_ms;
    if (r->lock_mode == ST_LOCK_COMPLIANCE && extends && mode == ST_LOCK_COMPLIANCE)
        return 0;
    if (r->lock_mode == ST_LOCK_GOVERNANCE && (extends || bypass))
        return 0;
    return cf_fail(err, CF_ELOCKED, "Access Denied because object protected by object lock.");
}

/* Set a version's retention (retention) or legal hold, in one section. */
static int set_lock(st_engine *e, const char *tenant, const char *bucket, const char *key,
                    const char *version, bool retention, int mode, int64_t until_ms,
                    int hold, bool bypass, cf_err *err)
{
    int64_t bid;
    bucket_lock b;
    st_object_info info;
    uint8_t vid[16];
    memset(&info, 0, sizeof info);
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, tenant, bucket, &bid, err);
    if (rc == 0)
        rc = bucket_state_locked(e, bid, &b, err);
    if (rc == 0 && !b.object_lock)
        rc = no_lock_config(err);
    if (rc == 0)
        rc = obj_resolve_locked(e, bid, key, version, &info, vid, NULL, err);
    st_object_info_clear(&info);
    ver_ref r = {.lock_mode = info.lock_mode, .retain_until_ms = info.retain_until_ms};
    int64_t now = 0;
    if (rc == 0 && retention && (rc = lock_clock_locked(e, &now, err)) == 0)
        rc = retention_change_ok(&r, mode, until_ms, now, bypass, err);
    bool began = rc == 0 && (rc = idx_begin(e->ix, err)) == 0;
    if (began)
        jrnrec_touch_locked(e, bid, key);
    if (began && retention)
        rc = lock_clock_keep_locked(e, now, err);
    for (int t = 0; rc == 0 && t < 2; t++)
        rc = idx_run(e->ix, NULL, err, t == 0
                     ? "UPDATE objects SET lock_mode = ?1, retain_until_ms = ?2, "
                       "legal_hold = ?3 WHERE version_id = ?4"
                     : "UPDATE versions SET lock_mode = ?1, retain_until_ms = ?2, "
                       "legal_hold = ?3 WHERE version_id = ?4",
                     "iiib", (int64_t)(retention ? mode : info.lock_mode),
                     retention ? (mode ? until_ms : 0) : info.retain_until_ms,
                     (int64_t)(retention ? info.legal_hold : hold), vid, (size_t)16);
    if (began)
        rc = rc == 0 ? idx_commit(e->ix, err) : (idx_rollback(e->ix), -1);
    return eng_unlock_durable(e, rc, err);
}

int st_object_set_retention(st_engine *e, const char *tenant, const char *bucket,
                            const char *key, const char *version, int mode,
                            int64_t until_ms, bool bypass_governance, cf_err *err)
{
    return set_lock(e, tenant, bucket, key, version, true, mode, until_ms, ST_HOLD_UNSET,
                    bypass_governance, err);
}

int st_object_set_legal_hold(st_engine *e, const char *tenant, const char *bucket,
                             const char *key, const char *version, int hold, cf_err *err)
{
    if (hold != ST_HOLD_ON && hold != ST_HOLD_OFF)
        return cf_fail(err, CF_EINVAL, "the legal hold is ON or OFF");
    return set_lock(e, tenant, bucket, key, version, false, ST_LOCK_NONE, 0, hold, false,
                    err);
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
    if (rc == 0 && res->packed)
        rc = packidx_insert_locked(e, data_id, res, err);
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
        "FROM segments s JOIN (SELECT bucket_id, key, version_id FROM objects UNION ALL "
        "SELECT bucket_id, key, version_id FROM versions) o ON o.version_id = s.version_id "
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
    /* a version id names its manifest file (manifest.h) */
    return idx_exists(e->ix, err, "SELECT 1 FROM segments WHERE data_id = ?1 UNION ALL "
                      "SELECT 1 FROM objects WHERE version_id = ?1 LIMIT 1", "b",
                      data_id, (size_t)16);
}

/* ---- HEAD / DELETE / parts ---------------------------------------------- */

int obj_resolve_locked(st_engine *e, int64_t bucket_id, const char *key, const char *version,
                       st_object_info *info, uint8_t vid[16], uint8_t *ssec, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st;
    int found = version ? find_locked(e, bucket_id, key, version, &st, err)
                        : obj_select_locked(e, bucket_id, key, &st, err);
    if (found == 0 && !version)      /* the latest may be a marker */
        found = (st = idx_query(e->ix, err, "SELECT " VER_ROW " FROM versions v WHERE "
                                "bucket_id = ? AND key = ? ORDER BY seq DESC LIMIT 1",
                                "ib", bucket_id, key, strlen(key)))
                    ? idx_next(e->ix, st, err) : -1;
    if (found <= 0)
        return found < 0 ? -1 : version ? cf_fail(err, CF_ENOVERSION, "The specified "
                                                  "version does not exist.")
                                        : cf_fail(err, CF_ENOKEY, "no such key");
    int rc = obj_fill_info(st, info, true, err);
    if (rc == 0 && idx_blob(st, 1, vid, 16) < 0)
        rc = cf_fail(err, CF_ECORRUPT, "index: bad version id");
    if (rc == 0 && ssec && info->ssec && obj_row_ssec(st, ssec) != 1)
        rc = cf_fail(err, CF_ECORRUPT, "index: bad customer key check");
    idx_done(st);
    bucket_lock b;
    if (rc == 0 && (rc = bucket_state_locked(e, bucket_id, &b, err)) == 0)
        info->versioned_bucket = b.versioning != ST_VERSIONING_OFF;
    if (rc == 0 && info->delete_marker)
        rc = version ? cf_fail(err, CF_EMARKER, "The specified method is not allowed "
                               "against this resource.")
                     : cf_fail(err, CF_ENOKEY, "no such key");
    return rc;
}

int st_head_ssec(st_engine *e, const char *tenant, const char *bucket, const char *key,
                 const char *version, const uint8_t *ssec_key, st_object_info *info,
                 cf_err *err)
{
    int64_t bid;
    uint8_t vid[16], ssec[CRYPT_SSEC_LEN], kek[CRYPT_KEY_LEN];
    bool has;
    memset(info, 0, sizeof *info);
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, tenant, bucket, &bid, err);
    if (rc == 0)
        rc = obj_resolve_locked(e, bid, key, version, info, vid, ssec, err);
    if (rc == 0)
        rc = eng_ssec_kek(e, tenant, info->ssec ? ssec : NULL, ssec_key, kek, &has, err);
    crypt_wipe(kek, sizeof kek);
    if (rc == 0)
        rc = tiering_object_attrs_locked(e, vid, true, info, err);
    idx_unlock(e->ix);
    if (rc < 0)
        st_object_info_clear(info);   /* a marker's fields stay: no headers */
    return rc;
}

int st_head_version(st_engine *e, const char *tenant, const char *bucket, const char *key,
                    const char *version, st_object_info *info, cf_err *err)
{
    return st_head_ssec(e, tenant, bucket, key, version, NULL, info, err);
}

int st_head(st_engine *e, const char *tenant, const char *bucket, const char *key,
            st_object_info *info, cf_err *err)
{
    return st_head_ssec(e, tenant, bucket, key, NULL, NULL, info, err);
}

/* A new delete marker as the key's latest version. */
static int add_marker_locked(st_engine *e, int64_t bucket_id, const char *key, int64_t seq,
                             bool null, char vid_hex[ST_ID_HEX], cf_err *err)
{
    idx_assert_held(e->ix);
    uint8_t vid[16];
    if (crypt_random(vid, sizeof vid, err) < 0)
        return -1;
    eng_id_to_hex(vid, vid_hex);
    jrnrec_touch_locked(e, bucket_id, key);
    return idx_run(e->ix, NULL, err,
                   "INSERT INTO versions(" MOVE_COLUMNS ", marker, noncurrent_ms) VALUES "
                   "(?, ?, ?, ?, ?, 0, '', ?, 0, NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL, 1, 0)",
                   "ibibii", bucket_id, key, strlen(key), seq, vid, (size_t)16,
                   (int64_t)null, eng_now_ms());
}

/* DELETE without a version id, as the bucket's state says. */
static int delete_latest_locked(st_engine *e, int64_t bucket_id, const char *key,
                                st_delete_result *res, cf_err *err)
{
    idx_assert_held(e->ix);
    bucket_lock b;
    int64_t seq;
    bool null;
    if (bucket_state_locked(e, bucket_id, &b, err) < 0 ||
        next_seq_locked(e, bucket_id, key, &seq, err) < 0 ||
        make_room_locked(e, bucket_id, key, b.versioning, true, &null, err) < 0)
        return -1;
    res->versioned = b.versioning != ST_VERSIONING_OFF;
    if (!res->versioned)
        return 0;
    res->delete_marker = true;
    if (add_marker_locked(e, bucket_id, key, seq, null, res->version_id, err) < 0)
        return -1;
    if (null)
        snprintf(res->version_id, sizeof res->version_id, "null");
    return 0;
}

/* DELETE of one version: an unknown one is success. */
static int delete_one_locked(st_engine *e, int64_t bucket_id, const char *key,
                             const char *version, bool bypass, st_delete_result *res,
                             cf_err *err)
{
    idx_assert_held(e->ix);
    ver_ref r;
    res->versioned = true;
    snprintf(res->version_id, sizeof res->version_id, "%s", version);
    int found = find_ref_locked(e, bucket_id, key, version, &r, err);
    if (found <= 0)
        return found;
    res->delete_marker = r.marker;
    return destroy_locked(e, bucket_id, key, &r, bypass, true, err);
}

/* The key's current version is vid: 1, 0 (another, a marker or none), -1. */
static int current_is_locked(st_engine *e, int64_t bucket_id, const char *key,
                             const uint8_t vid[16], cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st;
    int found = obj_select_locked(e, bucket_id, key, &st, err);
    if (found <= 0)
        return found;
    uint8_t cur[16];
    int rc = idx_blob(st, 1, cur, sizeof cur) < 0
        ? cf_fail(err, CF_ECORRUPT, "index: bad version id") : memcmp(cur, vid, 16) == 0;
    idx_done(st);
    return rc;
}

/* What a lifecycle expiration was decided on, checked again in the
 * delete's transaction: the key's current version is vid (EXP_CURRENT);
 * vid is still noncurrent since noncurrent_ms with at least keep newer
 * noncurrent object versions (EXP_NONCURRENT); vid is a marker and the
 * key's only version (EXP_MARKER). */
typedef struct expire_cond {
    enum { EXP_CURRENT, EXP_NONCURRENT, EXP_MARKER } kind;
    uint8_t vid[16];
    int64_t noncurrent_ms, keep;
} expire_cond;

/* 1 the condition holds, 0 not, -1. */
static int expire_cond_locked(st_engine *e, int64_t bucket_id, const char *key,
                              const expire_cond *c, cf_err *err)
{
    idx_assert_held(e->ix);
    size_t klen = strlen(key);
    int64_t seq = 0, n = 0;
    int rc;
    switch (c->kind) {
    case EXP_CURRENT:
        return current_is_locked(e, bucket_id, key, c->vid, err);
    case EXP_NONCURRENT:
        rc = idx_scalar(e->ix, &seq, err, "SELECT coalesce(max(seq), 0) FROM versions "
                        "WHERE bucket_id = ? AND key = ? AND version_id = ? AND "
                        "noncurrent_ms = ?", "ibbi", bucket_id, key, klen, c->vid,
                        (size_t)16, c->noncurrent_ms);
        if (rc < 0 || seq == 0)
            return rc < 0 ? -1 : 0;
        if (c->keep && idx_scalar(e->ix, &n, err, "SELECT count(*) FROM versions WHERE "
                                  "bucket_id = ? AND key = ? AND seq > ? AND marker = 0 "
                                  "AND noncurrent_ms > 0", "ibi", bucket_id, key, klen,
                                  seq) < 0)
            return -1;
        return n >= c->keep;
    case EXP_MARKER:
        rc = idx_exists(e->ix, err, "SELECT 1 FROM objects WHERE bucket_id = ?1 AND "
                        "key = ?2 UNION ALL SELECT 1 FROM versions WHERE bucket_id = ?1 "
                        "AND key = ?2 AND (marker = 0 OR version_id IS NOT ?3) LIMIT 1",
                        "ibb", bucket_id, key, klen, c->vid, (size_t)16);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
        rc = idx_exists(e->ix, err, "SELECT 1 FROM versions WHERE bucket_id = ? AND "
                        "key = ? AND version_id = ?", "ibb", bucket_id, key, klen, c->vid,
                        (size_t)16);
        return rc;
    }
    return 0;
}

/* One delete in its own transaction: of a version (S3's id), or of the
 * latest (version NULL) as the bucket's versioning says; with only, when
 * the lifecycle condition still holds (expire_cond). Every version it
 * removes goes through destroy_locked. 1 done, 0 not (only), -1. */
static int delete_object(st_engine *e, const char *tenant, const char *bucket,
                         const char *key, const char *version, const expire_cond *only,
                         const char *if_match, bool bypass, st_delete_result *res,
                         cf_err *err)
{
    int64_t bid;
    st_write_cond c = {.if_match = if_match};
    int done = 1;
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, tenant, bucket, &bid, err);
    if (rc == 0)
        rc = idx_begin(e->ix, err);
    if (rc == 0) {
        if (only && (done = expire_cond_locked(e, bid, key, only, err)) < 0)
            rc = -1;
        else if (done)
            rc = obj_check_cond_locked(e, bid, key, &c, INT64_MAX, err);
        if (rc == 0 && done)
            rc = version ? delete_one_locked(e, bid, key, version, bypass, res, err)
                         : delete_latest_locked(e, bid, key, res, err);
        rc = rc == 0 ? idx_commit(e->ix, err) : (idx_rollback(e->ix), -1);
    }
    rc = eng_unlock_durable(e, rc, err);
    if (rc == 0)
        deleteq_drain(e);
    return rc < 0 ? -1 : done;
}

int st_delete_version(st_engine *e, const char *tenant, const char *bucket, const char *key,
                      const char *version, const char *if_match, bool bypass_governance,
                      st_delete_result *res, cf_err *err)
{
    st_delete_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    if (version && !st_version_name_ok(version))
        return cf_fail(err, CF_EINVAL, "Invalid version id specified");
    return delete_object(e, tenant, bucket, key, version, NULL, if_match, bypass_governance,
                         res, err) < 0 ? -1 : 0;
}

int st_delete(st_engine *e, const char *tenant, const char *bucket, const char *key,
              cf_err *err)
{
    return st_delete_version(e, tenant, bucket, key, NULL, NULL, false, NULL, err);
}

/* A lifecycle expiration: of the latest (EXP_CURRENT, as a DELETE without
 * a version id) or of the version itself. */
static int expire(st_engine *e, const char *tenant, const char *bucket, const char *key,
                  const char *version_id, expire_cond *c, cf_err *err)
{
    st_delete_result res;
    if (eng_id_from_hex(version_id, c->vid) < 0)
        return cf_fail(err, CF_EINVAL, "bad version id");
    memset(&res, 0, sizeof res);
    return delete_object(e, tenant, bucket, key, c->kind == EXP_CURRENT ? NULL : version_id,
                         c, NULL, false, &res, err);
}

int st_expire(st_engine *e, const char *tenant, const char *bucket, const char *key,
              const char *version_id, cf_err *err)
{
    expire_cond c = {.kind = EXP_CURRENT};
    return expire(e, tenant, bucket, key, version_id, &c, err);
}

int st_expire_noncurrent(st_engine *e, const char *tenant, const char *bucket,
                         const char *key, const char *version_id, int64_t noncurrent_ms,
                         int64_t keep, cf_err *err)
{
    expire_cond c = {.kind = EXP_NONCURRENT, .noncurrent_ms = noncurrent_ms, .keep = keep};
    return expire(e, tenant, bucket, key, version_id, &c, err);
}

int st_expire_marker(st_engine *e, const char *tenant, const char *bucket, const char *key,
                     const char *version_id, cf_err *err)
{
    expire_cond c = {.kind = EXP_MARKER};
    return expire(e, tenant, bucket, key, version_id, &c, err);
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

int st_object_parts(st_engine *e, const char *version_id, uint32_t marker, int max,
                    st_object_part_cb cb, void *ctx, bool *truncated, cf_err *err)
{
    uint8_t vid[16];
    *truncated = false;
    if (eng_id_from_hex(version_id, vid) < 0)
        return cf_fail(err, CF_ENOKEY, "no such version");
    idx_lock(e->ix);
    /* any version (st_head_ssec found it); gone since: removed meanwhile */
    int found = obj_version_exists_locked(e, vid, err), rc = found < 0 ? -1 : 0;
    if (found == 0)
        rc = cf_fail(err, CF_ENOKEY, "the version was removed");
    parts_page pg = {.cb = cb, .ctx = ctx, .max = max, .truncated = truncated};
    if (rc == 0)
        rc = obj_segments_locked(e, vid, (int)marker, max + 1, part_of_segment, &pg, err);
    idx_unlock(e->ix);
    return rc;
}
