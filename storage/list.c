/*
 * storage/list.c - listing a bucket (st_list) and its versions
 * (st_list_versions).
 *
 * The walk reads the bucket's objects in key order from a cursor, in
 * batches of 256 rows (object.c: obj_page_locked), under the index lock
 * for the whole page (the callback runs under it too, engine.h). With a
 * delimiter, a key whose remainder after the prefix holds the delimiter
 * rolls up into a common prefix; the walk then jumps past every key with
 * that prefix (to its byte successor) instead of reading them, so a page
 * costs one indexed query per common prefix plus one per batch.
 *
 * The versions walk is the same walk over (key, newest first) rows of
 * both version tables (object.c: obj_version_page_locked); its cursor is a
 * key and a seq: the rows after it are the key's older ones (seq below),
 * then the later keys.
 */
#include <stdint.h>
#include "storage/engine_int.h"

#include <stdio.h>
#include <string.h>

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
    bool versions;                   /* the versions walk */
    int64_t after_seq;               /* ... its cursor inside `after` */
    char *last_version;              /* ... the last version delivered */
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
 * inclusive one, whichever is higher. */
static sqlite3_stmt *query_batch(list_walk *w, int batch, cf_err *err)
{
    size_t alen = strlen(w->after);
    bool after = w->has_after && key_cmp(w->after, alen, w->from, w->from_len) >= 0;
    if (w->versions)
        return after ? obj_version_page_locked(w->e, w->bucket_id, w->after, alen,
                                               w->after_seq, batch, err)
                     : obj_version_page_locked(w->e, w->bucket_id, w->from, w->from_len,
                                               INT64_MAX, batch, err);
    if (after)
        return obj_page_locked(w->e, w->bucket_id, w->after, alen, false, batch, err);
    return obj_page_locked(w->e, w->bucket_id, w->from, w->from_len, true, batch, err);
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
        if (obj_fill_info(st, &info, false, err) < 0) {
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
        uint8_t vid[16];
        if (!cpl && (idx_blob(st, 1, vid, 16) < 0 ||
                     tiering_object_attrs_locked(w->e, vid, false, &info, err) < 0)) {
            idx_done(st);
            return -1;
        }
        w->delivered++;
        if (cpl) {
            info.key[cpl] = '\0';
            snprintf(w->last, ST_MAX_KEY + 1, "%s", info.key);
            if (w->last_version)
                w->last_version[0] = '\0';
            idx_done(st);
            if (w->cb(w->ctx, NULL, info.key) != 0)
                return 0;
            return skip_prefix(w, info.key, cpl) ? 1 : 0;
        }
        snprintf(w->last, ST_MAX_KEY + 1, "%s", info.key);
        snprintf(w->after, sizeof w->after, "%s", info.key);
        w->has_after = true;
        w->after_seq = obj_row_seq(st);
        if (w->last_version)
            snprintf(w->last_version, ST_ID_HEX, "%s", st_version_name(&info));
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

/* Both walks; a versions walk may start inside start_after's versions. */
static int list_run(list_walk *w, const char *version_marker, bool *truncated, cf_err *err)
{
    st_engine *e = w->e;
    const st_list_args *args = w->a;
    *truncated = false;
    w->last[0] = '\0';
    w->plen = args->prefix ? strlen(args->prefix) : 0;
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, args->tenant, args->bucket, &w->bucket_id, err);
    bool go = rc == 0 && args->max_keys > 0 && list_start(w);
    if (go && version_marker && args->start_after && *args->start_after) {
        int found = obj_version_seq_locked(e, w->bucket_id, args->start_after,
                                           version_marker, &w->after_seq, err);
        if (found <= 0)
            rc = found < 0 ? -1 : cf_fail(err, CF_EINVAL, "Invalid version id specified");
        go = found == 1;
    }
    if (go)
        while ((rc = list_batch(w, truncated, err)) == 1)
            ;
    idx_unlock(e->ix);
    return rc < 0 ? -1 : 0;
}

int st_list(st_engine *e, const st_list_args *args, st_list_cb cb, void *ctx,
            bool *truncated, char next_marker[ST_MAX_KEY + 1], cf_err *err)
{
    list_walk w = {.e = e, .a = args, .cb = cb, .ctx = ctx, .last = next_marker};
    return list_run(&w, NULL, truncated, err);
}

int st_list_versions(st_engine *e, const st_list_args *args, const char *version_marker,
                     st_list_cb cb, void *ctx, bool *truncated,
                     char next_marker[ST_MAX_KEY + 1], char next_version[ST_ID_HEX],
                     cf_err *err)
{
    list_walk w = {.e = e, .a = args, .cb = cb, .ctx = ctx, .last = next_marker,
                   .versions = true, .last_version = next_version};
    next_version[0] = '\0';
    return list_run(&w, version_marker, truncated, err);
}
