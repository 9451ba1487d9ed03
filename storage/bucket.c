/*
 * storage/bucket.c - buckets: the buckets table (st_bucket_* and the
 * (tenant, bucket) -> row id lookup every object and upload operation
 * starts with) and its versioning state and object lock configuration. A
 * bucket name is unique per tenant; it can be deleted only while it holds
 * no version or delete marker (object.c); uploads still in progress are
 * aborted with it (upload.c), as S3 does. The default encryption record
 * (PutBucketEncryption) is kept in the bucket's row.
 */
#include "storage/engine_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int bucket_id_locked(st_engine *e, const char *tenant, const char *bucket, int64_t *id,
                     cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT b.id FROM buckets b JOIN tenants t ON t.id = b.tenant_id "
        "WHERE t.name = ? AND b.name = ?", "tt", tenant, bucket);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        *id = idx_int(st, 0);
        idx_done(st);
        return 0;
    }
    return rc < 0 ? -1 : cf_fail(err, CF_ENOBUCKET, "no bucket named %s", bucket);
}

int bucket_ensure_locked(st_engine *e, int64_t tenant_id, const char *tenant,
                         const char *bucket, int64_t *id, cf_err *err)
{
    idx_assert_held(e->ix);
    if (strlen(bucket) < 1 || strlen(bucket) > ST_MAX_BUCKET)
        return cf_fail(err, CF_ECORRUPT, "bucket name length out of range");
    cf_err miss = {0};
    if (bucket_id_locked(e, tenant, bucket, id, &miss) == 0)
        return 0;
    if (miss.code != CF_ENOBUCKET)
        return cf_fail(err, miss.code, "%s", miss.msg);
    if (idx_run(e->ix, NULL, err, "INSERT INTO buckets(tenant_id, name, region, created, "
                "versioning, object_lock) VALUES (?, ?, 'us-east-1', ?, ?, 0)", "itii",
                tenant_id, bucket, (int64_t)time(NULL), (int64_t)ST_VERSIONING_OFF) < 0)
        return -1;
    return bucket_id_locked(e, tenant, bucket, id, err);
}

int bucket_names_locked(st_engine *e, int64_t id, char tenant[ST_MAX_TENANT + 1],
                        char bucket[ST_MAX_BUCKET + 1], cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT t.name, b.name FROM buckets b JOIN tenants t ON t.id = b.tenant_id "
        "WHERE b.id = ?", "i", id);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        snprintf(tenant, ST_MAX_TENANT + 1, "%s", idx_text(st, 0));
        snprintf(bucket, ST_MAX_BUCKET + 1, "%s", idx_text(st, 1));
        idx_done(st);
        return 0;
    }
    return rc < 0 ? -1 : cf_fail(err, CF_ENOBUCKET, "no bucket with id %lld", (long long)id);
}

int st_bucket_create(st_engine *e, const char *tenant, const char *bucket,
                     const char *region, bool object_lock, cf_err *err)
{
    if (strlen(bucket) < 1 || strlen(bucket) > ST_MAX_BUCKET)
        return cf_fail(err, CF_EINVAL, "bucket name length out of range");
    int64_t tid;
    idx_lock(e->ix);
    int rc = tenant_id_locked(e, tenant, &tid, err);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err,
                     "INSERT INTO buckets(tenant_id, name, region, created, versioning, "
                     "object_lock) VALUES (?, ?, ?, ?, ?, ?)", "ittiii", tid, bucket,
                     region ? region : "us-east-1", (int64_t)time(NULL),
                     (int64_t)(object_lock ? ST_VERSIONING_ENABLED : ST_VERSIONING_OFF),
                     (int64_t)object_lock);
    rc = eng_unlock_durable(e, rc, err);
    if (rc < 0 && err->code == CF_EEXISTS)
        cf_fail(err, CF_EBUCKETEXISTS, "bucket %s already exists", bucket);
    if (rc == 0)
        eng_catalog_changed(e);
    return rc;
}

int st_bucket_delete(st_engine *e, const char *tenant, const char *bucket,
                     cf_err *err)
{
    int64_t id;
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, tenant, bucket, &id, err);
    if (rc == 0)
        rc = obj_bucket_empty_locked(e, id, bucket, err);
    if (rc == 0 && (rc = idx_begin(e->ix, err)) == 0) {
        rc = upload_drop_bucket_locked(e, id, err);
        if (rc == 0)
            rc = lcconf_bucket_gone_locked(e, id, err);
        if (rc == 0)
            rc = idx_run(e->ix, NULL, err, "DELETE FROM buckets WHERE id = ?", "i", id);
        rc = rc == 0 ? idx_commit(e->ix, err) : (idx_rollback(e->ix), -1);
    }
    rc = eng_unlock_durable(e, rc, err);
    if (rc == 0) {
        deleteq_drain(e);
        eng_catalog_changed(e);
    }
    return rc;
}

int st_bucket_set_sse(st_engine *e, const char *tenant, const char *bucket,
                      const char *algo, bool bucket_key, cf_err *err)
{
    if (algo && strcmp(algo, "AES256") != 0)
        return cf_fail(err, CF_EINVAL, "only AES256 is a default encryption");
    int64_t id;
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, tenant, bucket, &id, err);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err,
                     "UPDATE buckets SET sse_algo = ?, sse_bucket_key = ? WHERE id = ?",
                     "tii", algo, (int64_t)(algo && bucket_key), id);
    return eng_catalog_saved(e, eng_unlock_durable(e, rc, err));
}

int bucket_any_locked(st_engine *e, int64_t tenant_id, bool *any, cf_err *err)
{
    idx_assert_held(e->ix);
    int rc = idx_exists(e->ix, err, "SELECT 1 FROM buckets WHERE tenant_id = ? LIMIT 1", "i",
                        tenant_id);
    *any = rc == 1;
    return rc < 0 ? -1 : 0;
}

static void fill_bucket_info(sqlite3_stmt *st, st_bucket_info *b)
{
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", idx_text(st, 0));
    snprintf(b->region, sizeof b->region, "%s", idx_text(st, 1));
    b->created = idx_int(st, 2);
    b->versioning = (int)idx_int(st, 3);
    b->object_lock = idx_int(st, 4) != 0;
    b->lock_mode = (int)idx_int(st, 5);
    b->lock_days = (uint32_t)idx_int(st, 6);
    b->lock_years = (uint32_t)idx_int(st, 7);
    snprintf(b->sse_algo, sizeof b->sse_algo, "%s", idx_text(st, 8));
    b->sse_bucket_key = idx_int(st, 9) != 0;
}

#define BUCKET_COLUMNS "b.name, b.region, b.created, b.versioning, b.object_lock, " \
                       "b.lock_mode, b.lock_days, b.lock_years, b.sse_algo, " \
                       "b.sse_bucket_key"

int bucket_state_locked(st_engine *e, int64_t bucket_id, bucket_lock *out, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err, "SELECT versioning, object_lock, lock_mode, "
                                 "lock_days, lock_years FROM buckets WHERE id = ?",
                                 "i", bucket_id);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        out->versioning = (int)idx_int(st, 0);
        out->object_lock = idx_int(st, 1) != 0;
        out->mode = (int)idx_int(st, 2);
        out->days = idx_int(st, 3);
        out->years = idx_int(st, 4);
        idx_done(st);
        return 0;
    }
    return rc < 0 ? -1 : cf_fail(err, CF_ENOBUCKET, "bucket gone");
}

int st_bucket_set_lock(st_engine *e, const char *tenant, const char *bucket, int mode,
                       uint32_t days, uint32_t years, cf_err *err)
{
    bool none = mode == ST_LOCK_NONE && days == 0 && years == 0;
    bool rule = (mode == ST_LOCK_GOVERNANCE || mode == ST_LOCK_COMPLIANCE) &&
                ((days >= 1 && days <= ST_LOCK_MAX_DAYS && years == 0) ||
                 (years >= 1 && years <= ST_LOCK_MAX_YEARS && days == 0));
    if (!none && !rule)
        return cf_fail(err, CF_EINVAL, "Default retention period must be a positive "
                       "integer value");
    int64_t id;
    bucket_lock b;
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, tenant, bucket, &id, err);
    if (rc == 0)
        rc = bucket_state_locked(e, id, &b, err);
    if (rc == 0 && b.versioning != ST_VERSIONING_ENABLED)
        rc = cf_fail(err, CF_EBUCKETSTATE, "Versioning must be 'Enabled' on the bucket to "
                     "apply a Object Lock configuration");
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "UPDATE buckets SET object_lock = 1, lock_mode = ?, "
                     "lock_days = ?, lock_years = ? WHERE id = ?", "iiii", (int64_t)mode,
                     (int64_t)days, (int64_t)years, id);
    return eng_catalog_saved(e, eng_unlock_durable(e, rc, err));
}

int st_bucket_set_versioning(st_engine *e, const char *tenant, const char *bucket,
                             int state, cf_err *err)
{
    if (state != ST_VERSIONING_ENABLED && state != ST_VERSIONING_SUSPENDED)
        return cf_fail(err, CF_EINVAL, "versioning is Enabled or Suspended");
    int64_t id;
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, tenant, bucket, &id, err);
    int locked = rc == 0 && state == ST_VERSIONING_SUSPENDED
        ? idx_exists(e->ix, err, "SELECT 1 FROM buckets WHERE id = ? AND object_lock <> 0",
                     "i", id) : 0;
    if (locked != 0)
        rc = locked < 0 ? -1 : cf_fail(err, CF_EBUCKETSTATE, "An Object Lock configuration "
             "is present on this bucket, so the versioning state cannot be changed.");
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "UPDATE buckets SET versioning = ? WHERE id = ?",
                     "ii", (int64_t)state, id);
    return eng_catalog_saved(e, eng_unlock_durable(e, rc, err));
}

int st_bucket_get(st_engine *e, const char *tenant, const char *bucket,
                  st_bucket_info *info, cf_err *err)
{
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT " BUCKET_COLUMNS " FROM buckets b "
        "JOIN tenants t ON t.id = b.tenant_id WHERE t.name = ? AND b.name = ?",
        "tt", tenant, bucket);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        fill_bucket_info(st, info);
        idx_done(st);
        rc = 0;
    } else if (rc == 0) {
        rc = cf_fail(err, CF_ENOBUCKET, "no bucket named %s", bucket);
    }
    idx_unlock(e->ix);
    return rc;
}

typedef struct bucket_each {
    st_bucket_cb cb;
    void *ctx;
} bucket_each;

static int bucket_row(void *ctx, sqlite3_stmt *st, cf_err *err)
{
    (void)err;
    bucket_each *l = ctx;
    st_bucket_info b;
    fill_bucket_info(st, &b);
    return l->cb(l->ctx, &b) != 0;
}

int st_bucket_list(st_engine *e, const char *tenant, st_bucket_cb cb, void *ctx,
                   cf_err *err)
{
    bucket_each l = {cb, ctx};
    idx_lock(e->ix);
    int rc = idx_each(e->ix, idx_query(e->ix, err,
        "SELECT " BUCKET_COLUMNS " FROM buckets b "
        "JOIN tenants t ON t.id = b.tenant_id WHERE t.name = ? ORDER BY b.name",
        "t", tenant), bucket_row, &l, err);
    idx_unlock(e->ix);
    return rc;
}
