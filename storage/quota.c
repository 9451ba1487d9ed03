/*
 * storage/quota.c - quotas: the quotas table (st_quota_*) and the one
 * admission rule every write that can grow what a tenant stores goes
 * through (quota_admit_locked).
 *
 * A row limits a tenant (bucket_id 0) or one of its buckets; a NULL limit
 * is none. Triggers of the schema (index.c, step 4 -> 5) drop the rows of a
 * deleted tenant or bucket in the same transaction.
 *
 * Exactness: usage is bucket_usage (tenant.c), kept by triggers in each
 * object commit. The PUT path (put.c) and multipart completion (upload.c)
 * call quota_admit_locked inside the transaction that writes the object
 * row, under the index lock: commits are serialised, so each one is
 * judged against the usage every earlier commit left, and racing writers
 * can never together pass a limit. The same call at st_put_begin (size
 * known) refuses a write before its data is read; that early answer can
 * be overtaken by a concurrent commit, which the commit-time check
 * catches.
 *
 * Cost: a write into a tenant without any quota pays two primary-key probes
 * of quotas, the tenant's and the bucket's (no row: done). With a quota, the key's current size and the
 * usage of each limited scope: one row for a bucket, one per bucket for a
 * tenant.
 */
#include "storage/engine_int.h"

#include <stdio.h>
#include <string.h>

/* A limit that applies to a write: the tenant's own (bucket_id 0) or its
 * bucket's. */
typedef struct quota_scope {
    int64_t tenant_id, bucket_id;
    int64_t max_bytes, max_objects;  /* ST_QUOTA_NONE: none */
} quota_scope;

typedef struct scopes {
    quota_scope s[2];
    int n;
} scopes;

static int scope_row(void *ctx, sqlite3_stmt *st, cf_err *err)
{
    (void)err;
    scopes *l = ctx;
    if (l->n == 2)
        return 1;
    l->s[l->n++] = (quota_scope){idx_int(st, 0), idx_int(st, 1), idx_int(st, 2),
                                 idx_int(st, 3)};
    return 0;
}

/* Two primary-key probes, the tenant's row first, and nothing else: no
 * ephemeral B-tree (a pager of its own) built at every run, twice per
 * PUT (1.3% of cofferd's CPU at 32 connections). test_index checks the
 * plan. Why the UNION ALL repeats its select list and join:
 *   - `q.bucket_id IN (0, b.id)`, a join against two constant rows
 *     (VALUES, a UNION ALL subquery, a recursive CTE) and one against a
 *     subquery holding ?1 are all materialised as an ephemeral table;
 *     `q.bucket_id = 0 OR q.bucket_id = b.id` opens one too (SQLite
 *     3.40, EXPLAIN).
 *   - The one copy-free form that plans clean, two LEFT JOINs of quotas
 *     from the bucket's row, must read FROM buckets, which only bucket.c
 *     may (tests/layering.txt); here buckets is joined, to resolve the
 *     bucket's tenant. */
const char quota_probe_sql[] =
    "SELECT q.tenant_id, q.bucket_id, coalesce(q.max_bytes, -1),"
    " coalesce(q.max_objects, -1) FROM quotas q"
    " JOIN buckets b ON b.tenant_id = q.tenant_id AND q.bucket_id = 0"
    " WHERE b.id = ?1 UNION ALL "
    "SELECT q.tenant_id, q.bucket_id, coalesce(q.max_bytes, -1),"
    " coalesce(q.max_objects, -1) FROM quotas q"
    " JOIN buckets b ON b.tenant_id = q.tenant_id AND q.bucket_id = b.id"
    " WHERE b.id = ?1";

/* CF_EQUOTA, naming the scope, its limit, what it holds and what the
 * write adds (no names: the client knows its own tenant and bucket). */
static int refuse(cf_err *err, const quota_scope *q, const char *what, int64_t limit,
                  int64_t have, int64_t add)
{
    return cf_fail(err, CF_EQUOTA, "the %s quota of %lld %s would be exceeded: "
                   "%lld stored, this write adds %lld",
                   q->bucket_id ? "bucket's" : "tenant's", (long long)limit, what,
                   (long long)have, (long long)add);
}

int quota_admit_locked(st_engine *e, int64_t bucket_id, const char *key, uint64_t size,
                       cf_err *err)
{
    idx_assert_held(e->ix);
    scopes l = {.n = 0};
    if (idx_each(e->ix, idx_query(e->ix, err, quota_probe_sql, "i", bucket_id),
                 scope_row, &l, err) < 0)
        return -1;
    if (l.n == 0)
        return 0;
    /* In a bucket that has had versioning, the current version stays as a
     * noncurrent one, which bucket_usage counts (as S3 bills it): nothing
     * is replaced. (Suspended: only a null current version would be, and
     * counting it as kept errs on the side of the limit.) */
    bucket_lock b;
    if (bucket_state_locked(e, bucket_id, &b, err) < 0)
        return -1;
    sqlite3_stmt *st;
    int found = b.versioning != ST_VERSIONING_OFF ? 0
                                                  : obj_select_locked(e, bucket_id, key, &st, err);
    if (found < 0)
        return -1;
    int64_t old = 0;
    if (found) {
        st_object_info cur;
        int rc = obj_fill_info(st, &cur, false, err);
        idx_done(st);
        if (rc < 0)
            return -1;
        old = (int64_t)cur.size;
    }
    int64_t add_bytes = (int64_t)size - old, add_objects = found ? 0 : 1;
    for (int i = 0; i < l.n; i++) {
        const quota_scope *q = &l.s[i];
        int64_t objects, bytes;
        if (tenant_usage_locked(e, q->tenant_id, q->bucket_id, &objects, &bytes, err) < 0)
            return -1;
        if (q->max_bytes >= 0 && add_bytes > 0 && bytes + add_bytes > q->max_bytes)
            return refuse(err, q, "bytes", q->max_bytes, bytes, add_bytes);
        if (q->max_objects >= 0 && add_objects > 0 && objects + add_objects > q->max_objects)
            return refuse(err, q, "objects", q->max_objects, objects, add_objects);
    }
    return 0;
}

int quota_limits_locked(st_engine *e, int64_t tenant_id, int64_t bucket_id,
                        int64_t *max_bytes, int64_t *max_objects, cf_err *err)
{
    idx_assert_held(e->ix);
    *max_bytes = *max_objects = ST_QUOTA_NONE;
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT coalesce(max_bytes, -1), coalesce(max_objects, -1) FROM quotas"
        " WHERE tenant_id = ? AND bucket_id = ?", "ii", tenant_id, bucket_id);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        *max_bytes = idx_int(st, 0);
        *max_objects = idx_int(st, 1);
        idx_done(st);
    }
    return rc < 0 ? -1 : 0;
}

/* The (tenant, bucket) a quota call names: bucket NULL or "" is the
 * tenant's own (row id 0). */
static int scope_ids_locked(st_engine *e, const char *tenant, const char *bucket,
                            int64_t *tid, int64_t *bid, cf_err *err)
{
    idx_assert_held(e->ix);
    *bid = 0;
    if (tenant_id_locked(e, tenant, tid, err) < 0)
        return -1;
    return bucket && *bucket ? bucket_id_locked(e, tenant, bucket, bid, err) : 0;
}

static bool limit_ok(int64_t v)
{
    return v >= 0 || v == ST_QUOTA_NONE || v == ST_QUOTA_KEEP;
}

int st_quota_set(st_engine *e, const char *tenant, const char *bucket,
                 int64_t max_bytes, int64_t max_objects, cf_err *err)
{
    if (!limit_ok(max_bytes) || !limit_ok(max_objects))
        return cf_fail(err, CF_EINVAL, "a quota limit is a count of at least 0");
    int64_t tid, bid, have_bytes, have_objects;
    idx_lock(e->ix);
    int rc = scope_ids_locked(e, tenant, bucket, &tid, &bid, err);
    if (rc == 0)
        rc = quota_limits_locked(e, tid, bid, &have_bytes, &have_objects, err);
    if (rc == 0) {
        if (max_bytes == ST_QUOTA_KEEP)
            max_bytes = have_bytes;
        if (max_objects == ST_QUOTA_KEEP)
            max_objects = have_objects;
        rc = max_bytes < 0 && max_objects < 0
            ? idx_run(e->ix, NULL, err,
                      "DELETE FROM quotas WHERE tenant_id = ? AND bucket_id = ?", "ii",
                      tid, bid)
            : idx_run(e->ix, NULL, err,
                      "INSERT OR REPLACE INTO quotas VALUES (?, ?, nullif(?, -1),"
                      " nullif(?, -1))", "iiii", tid, bid, max_bytes, max_objects);
    }
    return eng_catalog_saved(e, eng_unlock_durable(e, rc, err));
}

int st_quota_clear(st_engine *e, const char *tenant, const char *bucket,
                   bool *removed, cf_err *err)
{
    int64_t tid, bid;
    int changes = 0;
    idx_lock(e->ix);
    int rc = scope_ids_locked(e, tenant, bucket, &tid, &bid, err);
    if (rc == 0)
        rc = idx_run(e->ix, &changes, err,
                     "DELETE FROM quotas WHERE tenant_id = ? AND bucket_id = ?", "ii",
                     tid, bid);
    *removed = changes > 0;
    return eng_catalog_saved(e, eng_unlock_durable(e, rc, err));
}

typedef struct quota_each {
    st_engine *e;
    st_quota_cb cb;
    void *ctx;
} quota_each;

static int quota_row(void *ctx, sqlite3_stmt *st, cf_err *err)
{
    quota_each *l = ctx;
    st_quota q = {.max_bytes = idx_int(st, 4), .max_objects = idx_int(st, 5)};
    snprintf(q.tenant, sizeof q.tenant, "%s", idx_text(st, 2));
    snprintf(q.bucket, sizeof q.bucket, "%s", idx_text(st, 3));
    int64_t objects, bytes;
    if (tenant_usage_locked(l->e, idx_int(st, 0), idx_int(st, 1), &objects, &bytes,
                            err) < 0)
        return -1;
    q.objects = (uint64_t)objects;
    q.bytes = (uint64_t)bytes;
    return l->cb(l->ctx, &q) != 0;
}

int st_quota_list(st_engine *e, const char *tenant, st_quota_cb cb, void *ctx,
                  cf_err *err)
{
    quota_each l = {e, cb, ctx};
    idx_lock(e->ix);
    int rc = idx_each(e->ix, idx_query(e->ix, err,
                      "SELECT q.tenant_id, q.bucket_id, t.name, coalesce(b.name, ''),"
                      " coalesce(q.max_bytes, -1), coalesce(q.max_objects, -1)"
                      " FROM quotas q JOIN tenants t ON t.id = q.tenant_id"
                      " LEFT JOIN buckets b ON b.id = q.bucket_id"
                      " WHERE ?1 IS NULL OR t.name = ?1"
                      " ORDER BY t.name, q.bucket_id != 0, b.name", "t", tenant),
                      quota_row, &l, err);
    idx_unlock(e->ix);
    return rc;
}
