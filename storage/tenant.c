/*
 * storage/tenant.c - tenants: the tenants table (st_tenant_* and the
 * name -> row id lookup the other tables use), and what each stores
 * (st_usage_list and tenant_usage_locked, from bucket_usage; the
 * quotas that bound it are quota.c's). A tenant owns access keys
 * (key.c) and buckets (bucket.c); it can be deleted only while it owns no
 * bucket, and its keys go with it in the same transaction. Names follow
 * common/names.h.
 */
#include "storage/engine_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/names.h"

int tenant_id_locked(st_engine *e, const char *name, int64_t *id, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err, "SELECT id FROM tenants WHERE name = ?",
                                 "t", name);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        *id = idx_int(st, 0);
        idx_done(st);
        return 0;
    }
    return rc < 0 ? -1 : cf_fail(err, CF_ENOTFOUND, "no tenant named %s", name);
}

int tenant_ensure_locked(st_engine *e, const char *name, int64_t *id, cf_err *err)
{
    idx_assert_held(e->ix);
    if (!names_tenant_ok(name))
        return cf_fail(err, CF_ECORRUPT, "tenant name %s is not one coffer makes", name);
    cf_err miss = {0};
    if (tenant_id_locked(e, name, id, &miss) == 0)
        return 0;
    if (miss.code != CF_ENOTFOUND)
        return cf_fail(err, miss.code, "%s", miss.msg);
    if (idx_run(e->ix, NULL, err, "INSERT INTO tenants(name, created) VALUES (?, ?)", "ti",
                name, (int64_t)time(NULL)) < 0)
        return -1;
    return tenant_id_locked(e, name, id, err);
}

int st_tenant_create(st_engine *e, const char *name, cf_err *err)
{
    if (!names_tenant_ok(name))
        return cf_fail(err, CF_EINVAL,
                       "tenant names are 1 to 64 characters of a-z, 0-9 and -");
    idx_lock(e->ix);
    int rc = idx_run(e->ix, NULL, err, "INSERT INTO tenants(name, created) VALUES (?, ?)",
                     "ti", name, (int64_t)time(NULL));
    rc = eng_unlock_durable(e, rc, err);
    if (rc < 0 && err->code == CF_EEXISTS)
        cf_fail(err, CF_EEXISTS, "tenant %s already exists", name);
    if (rc == 0)
        eng_catalog_changed(e);
    return rc;
}

int st_tenant_delete(st_engine *e, const char *name, cf_err *err)
{
    int64_t id;
    bool owns = false;
    idx_lock(e->ix);
    int rc = tenant_id_locked(e, name, &id, err);
    if (rc == 0)
        rc = bucket_any_locked(e, id, &owns, err);
    if (rc == 0 && owns)
        rc = cf_fail(err, CF_ENOTEMPTY, "tenant %s still owns buckets", name);
    if (rc == 0 && (rc = idx_begin(e->ix, err)) == 0) {
        rc = key_drop_tenant_locked(e, id, err);
        if (rc == 0)
            rc = idx_run(e->ix, NULL, err, "DELETE FROM tenants WHERE id = ?", "i", id);
        rc = rc == 0 ? idx_commit(e->ix, err) : (idx_rollback(e->ix), -1);
    }
    rc = eng_unlock_durable(e, rc, err);
    if (rc == 0) {
        kek_forget(e, name);
        eng_catalog_changed(e);
    }
    return rc;
}

typedef struct tenant_each {
    st_tenant_cb cb;
    void *ctx;
} tenant_each;

static int tenant_row(void *ctx, sqlite3_stmt *st, cf_err *err)
{
    (void)err;
    tenant_each *l = ctx;
    st_tenant_info t = {.created = idx_int(st, 1)};
    snprintf(t.name, sizeof t.name, "%s", idx_text(st, 0));
    return l->cb(l->ctx, &t) != 0;
}

int st_tenant_list(st_engine *e, st_tenant_cb cb, void *ctx, cf_err *err)
{
    tenant_each l = {cb, ctx};
    idx_lock(e->ix);
    int rc = idx_each(e->ix, idx_query(e->ix, err,
                      "SELECT name, created FROM tenants ORDER BY name", ""),
                      tenant_row, &l, err);
    idx_unlock(e->ix);
    return rc;
}

/* A tenant's usage is the sum of its buckets' rows in bucket_usage, which
 * triggers keep in step with the objects table inside every object commit
 * (the migration step in index.c), so this costs one row per bucket and
 * is exact whenever it runs. */
int tenant_usage_locked(st_engine *e, int64_t tenant_id, int64_t bucket_id,
                        int64_t *objects, int64_t *bytes, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = bucket_id
        ? idx_query(e->ix, err, "SELECT objects, bytes FROM bucket_usage"
                    " WHERE bucket_id = ?", "i", bucket_id)
        : idx_query(e->ix, err, "SELECT coalesce(sum(u.objects), 0),"
                    " coalesce(sum(u.bytes), 0) FROM bucket_usage u"
                    " JOIN buckets b ON b.id = u.bucket_id WHERE b.tenant_id = ?",
                    "i", tenant_id);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    *objects = *bytes = 0;
    if (rc == 1) {
        *objects = idx_int(st, 0);
        *bytes = idx_int(st, 1);
        idx_done(st);
    }
    return rc < 0 ? -1 : 0;
}

typedef struct usage_each {
    st_engine *e;
    st_usage_cb cb;
    void *ctx;
} usage_each;

static int usage_row(void *ctx, sqlite3_stmt *st, cf_err *err)
{
    usage_each *l = ctx;
    st_usage u = {
        .buckets = (uint64_t)idx_int(st, 1),
        .objects = (uint64_t)idx_int(st, 2),
        .bytes = (uint64_t)idx_int(st, 3),
    };
    snprintf(u.tenant, sizeof u.tenant, "%s", idx_text(st, 0));
    if (quota_limits_locked(l->e, idx_int(st, 4), 0, &u.max_bytes, &u.max_objects,
                            err) < 0)
        return -1;
    return l->cb(l->ctx, &u) != 0;
}

int st_usage_list(st_engine *e, const char *tenant, st_usage_cb cb, void *ctx,
                  cf_err *err)
{
    usage_each l = {e, cb, ctx};
    idx_lock(e->ix);
    int rc = idx_each(e->ix, idx_query(e->ix, err,
                      "SELECT t.name, count(b.id), coalesce(sum(u.objects), 0),"
                      " coalesce(sum(u.bytes), 0), t.id FROM tenants t"
                      " LEFT JOIN buckets b ON b.tenant_id = t.id"
                      " LEFT JOIN bucket_usage u ON u.bucket_id = b.id"
                      " WHERE ?1 IS NULL OR t.name = ?1 GROUP BY t.id ORDER BY t.name",
                      "t", tenant),
                      usage_row, &l, err);
    idx_unlock(e->ix);
    return rc;
}
