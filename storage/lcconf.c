/*
 * storage/lcconf.c - buckets' lifecycle configurations (the
 * bucket_lifecycle table) and the walk over a bucket's objects that the
 * lifecycle worker evaluates rules on (lifecycle.h).
 *
 * A configuration is kept as the XML the client sent, after the front end
 * validated it: GetBucketLifecycleConfiguration returns it as sent and the
 * worker parses it with the same parser each pass, so there is one reading
 * of a rule, not a second stored form that could drift from it. Each row
 * also keeps the key the worker's pass over the bucket got to, so that a
 * restart resumes the pass instead of starting over.
 */
#include "storage/engine_int.h"
#include "storage/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int st_lifecycle_put(st_engine *e, const char *tenant, const char *bucket,
                     const char *xml, size_t len, cf_err *err)
{
    int64_t bid;
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, tenant, bucket, &bid, err);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err,
                     "INSERT OR REPLACE INTO bucket_lifecycle VALUES (?, ?, ?, NULL)", "ibi",
                     bid, xml, len, eng_now_ms());
    return eng_catalog_saved(e, eng_unlock_durable(e, rc, err));
}

int st_lifecycle_get(st_engine *e, const char *tenant, const char *bucket, char **xml,
                     size_t *len, cf_err *err)
{
    int64_t bid;
    *xml = NULL;
    *len = 0;
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, tenant, bucket, &bid, err);
    sqlite3_stmt *st = rc == 0 ? idx_query(e->ix, err,
        "SELECT config FROM bucket_lifecycle WHERE bucket_id = ?", "i", bid) : NULL;
    int found = rc == 0 && st ? idx_next(e->ix, st, err) : rc == 0 ? -1 : 0;
    if (found < 0)
        rc = -1;
    else if (rc == 0 && found == 0)
        rc = cf_fail(err, CF_ENOTFOUND, "The lifecycle configuration does not exist");
    if (found == 1) {
        int n = sqlite3_column_bytes(st, 0);
        if ((*xml = malloc((size_t)n + 1)) != NULL) {
            if (n)
                memcpy(*xml, sqlite3_column_blob(st, 0), (size_t)n);
            (*xml)[n] = '\0';
            *len = (size_t)n;
        } else {
            rc = cf_fail(err, CF_ENOMEM, "out of memory");
        }
        idx_done(st);
    }
    idx_unlock(e->ix);
    return rc;
}

int st_lifecycle_delete(st_engine *e, const char *tenant, const char *bucket,
                        cf_err *err)
{
    int64_t bid;
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, tenant, bucket, &bid, err);
    if (rc == 0)
        rc = lcconf_bucket_gone_locked(e, bid, err);
    return eng_catalog_saved(e, eng_unlock_durable(e, rc, err));
}

int lcconf_bucket_gone_locked(st_engine *e, int64_t bucket_id, cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_run(e->ix, NULL, err, "DELETE FROM bucket_lifecycle WHERE bucket_id = ?",
                   "i", bucket_id);
}

typedef struct lc_row {
    st_lifecycle_bucket b;
    char *xml, *cursor;
} lc_row;

int st_lifecycle_buckets(st_engine *e, st_lifecycle_bucket_cb cb, void *ctx, cf_err *err)
{
    lc_row *rows = NULL;
    size_t n = 0, cap = 0;
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT t.name, b.name, l.config, ifnull(l.cursor, '') FROM bucket_lifecycle l "
        "JOIN buckets b ON b.id = l.bucket_id JOIN tenants t ON t.id = b.tenant_id "
        "ORDER BY l.bucket_id", "");
    int rc = st ? 0 : -1;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            lc_row *grown = realloc(rows, cap * sizeof *rows);
            if (!grown) {
                idx_done(st);
                rc = cf_fail(err, CF_ENOMEM, "out of memory");
                break;
            }
            rows = grown;
        }
        lc_row *r = &rows[n];
        memset(r, 0, sizeof *r);
        snprintf(r->b.tenant, sizeof r->b.tenant, "%s", idx_text(st, 0));
        snprintf(r->b.bucket, sizeof r->b.bucket, "%s", idx_text(st, 1));
        int xl = sqlite3_column_bytes(st, 2), cl = sqlite3_column_bytes(st, 3);
        r->xml = malloc((size_t)xl + 1);
        r->cursor = malloc((size_t)cl + 1);
        if (!r->xml || !r->cursor) {
            free(r->xml);
            free(r->cursor);
            idx_done(st);
            rc = cf_fail(err, CF_ENOMEM, "out of memory");
            break;
        }
        if (xl)
            memcpy(r->xml, sqlite3_column_blob(st, 2), (size_t)xl);
        r->xml[xl] = '\0';
        if (cl)
            memcpy(r->cursor, sqlite3_column_blob(st, 3), (size_t)cl);
        r->cursor[cl] = '\0';
        r->b.xml = r->xml;
        r->b.len = (size_t)xl;
        r->b.cursor = r->cursor;
        n++;
    }
    idx_unlock(e->ix);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (cb(ctx, &rows[i].b) != 0)
            break;
    for (size_t i = 0; i < n; i++) {
        free(rows[i].xml);
        free(rows[i].cursor);
    }
    free(rows);
    return rc < 0 ? -1 : 0;
}

int st_lifecycle_cursor(st_engine *e, const char *tenant, const char *bucket,
                        const char *cursor, cf_err *err)
{
    int64_t bid;
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, tenant, bucket, &bid, err);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err,
                     "UPDATE bucket_lifecycle SET cursor = ? WHERE bucket_id = ?", "bi",
                     *cursor ? cursor : NULL, *cursor ? strlen(cursor) : (size_t)0, bid);
    idx_unlock_nowait(e->ix);   /* a position: lost, the pass redoes a little */
    return rc;
}

/* One object row of the walk, copied out so that the callback runs
 * without the index lock (it may delete or transition the object). */
typedef struct lc_obj {
    st_lifecycle_object o;
    char key[ST_MAX_KEY + 1];
    st_header *tags;
} lc_obj;

static int walk_batch_locked(st_engine *e, int64_t bid, const char *prefix,
                             const char *after, int64_t after_seq, int max, lc_obj *out,
                             int *n, cf_err *err)
{
    idx_assert_held(e->ix);
    size_t plen = strlen(prefix), alen = strlen(after);
    /* from the later of (after, after_seq) and the prefix, in byte order */
    int c = memcmp(after, prefix, plen < alen ? plen : alen);
    bool use_after = alen && (c > 0 || (c == 0 && alen >= plen));
    sqlite3_stmt *st = use_after
        ? obj_version_page_locked(e, bid, after, alen, after_seq, max, err)
        : obj_version_page_locked(e, bid, prefix, plen, INT64_MAX, max, err);
    int rc = st ? 0 : -1;
    *n = 0;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        lc_obj *x = &out[*n];
        st_object_info info;
        if (obj_fill_info(st, &info, false, err) < 0) {
            idx_done(st);
            return -1;
        }
        if (strncmp(info.key, prefix, plen) != 0) {
            idx_done(st);
            break;
        }
        memcpy(x->key, info.key, sizeof x->key);
        x->o = (st_lifecycle_object){
            .key = x->key, .seq = obj_row_seq(st), .size = info.size,
            .mtime_ms = info.mtime_ms, .noncurrent_ms = obj_row_noncurrent_ms(st),
            .current = info.latest && !info.delete_marker, .marker = info.delete_marker,
            .latest = info.latest, .lock_mode = info.lock_mode,
            .retain_until_ms = info.retain_until_ms, .legal_hold = info.legal_hold,
        };
        memcpy(x->o.version_id, info.version_id, sizeof x->o.version_id);
        (*n)++;
    }
    for (int i = 0; rc >= 0 && i < *n; i++) {
        uint8_t vid[16];
        eng_id_from_hex(out[i].o.version_id, vid);
        rc = tiering_state_locked(e, vid, &out[i].o.tier_state, err);
        if (rc >= 0 && !out[i].o.marker)
            rc = tags_load_locked(e, vid, &out[i].tags, &out[i].o.ntags, err);
        out[i].o.tags = out[i].tags;
    }
    return rc < 0 ? -1 : 0;
}

int st_lifecycle_objects(st_engine *e, const char *tenant, const char *bucket,
                         const char *prefix, const char *after, int64_t after_seq, int max,
                         st_lifecycle_object_cb cb, void *ctx, bool *more, cf_err *err)
{
    *more = false;
    if (max < 1)
        return 0;
    lc_obj *objs = calloc((size_t)max, sizeof *objs);
    if (!objs)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    int64_t bid;
    int n = 0;
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, tenant, bucket, &bid, err);
    if (rc == 0)
        rc = walk_batch_locked(e, bid, prefix ? prefix : "", after ? after : "", after_seq,
                               max, objs, &n, err);
    idx_unlock(e->ix);
    *more = rc == 0 && n == max;
    for (int i = 0; rc == 0 && i < n; i++)
        if (cb(ctx, &objs[i].o) != 0) {
            *more = false;
            break;
        }
    for (int i = 0; i < max; i++)
        headers_free(objs[i].tags, objs[i].o.ntags);
    free(objs);
    return rc;
}
