/*
 * storage/key.c - access keys: the access_keys table (st_key_*). Secrets
 * are stored sealed with AES-256-GCM under a key derived from the master
 * key (crypto.c: crypt_seal_secret, AAD bound to the access key id) and
 * opened only to verify a signature (st_key_lookup); generated pairs and
 * the shape of given ones come from common/credfile.h and common/names.h.
 * Keys belong to a tenant and go when it goes (key_drop_tenant_locked).
 */
#include "storage/engine_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/credfile.h"
#include "common/names.h"

int st_key_create(st_engine *e, const char *tenant, bool read_only,
                  const char *access_key, const char *secret,
                  char ak_out[ST_ACCESS_KEY_MAX], char sk_out[ST_SECRET_KEY_MAX],
                  cf_err *err)
{
    if (access_key && secret) {
        if (!names_access_key_ok(access_key) || !names_secret_ok(secret))
            return cf_fail(err, CF_EINVAL, "access key or secret has a bad form");
        snprintf(ak_out, ST_ACCESS_KEY_MAX, "%s", access_key);
        snprintf(sk_out, ST_SECRET_KEY_MAX, "%s", secret);
    } else if (credfile_generate(ak_out, sk_out, err) < 0) {
        return -1;
    }
    uint8_t sealed[ST_SECRET_KEY_MAX + 64];
    size_t sealed_len = 0;
    crypt_ctx *cc = crypt_ctx_new(err);
    int rc = cc ? crypt_seal_secret(cc, e->secrets_key, ak_out, sk_out, sealed,
                                    sizeof sealed, &sealed_len, err) : -1;
    crypt_ctx_free(cc);
    int64_t tid = 0;
    idx_lock(e->ix);
    if (rc == 0)
        rc = tenant_id_locked(e, tenant, &tid, err);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err,
                     "INSERT INTO access_keys VALUES (?, ?, ?, ?, ?)", "tibii", ak_out, tid, sealed, sealed_len,
                     (int64_t)read_only, (int64_t)time(NULL));
    rc = eng_unlock_durable(e, rc, err);
    if (rc < 0 && err->code == CF_EEXISTS)
        cf_fail(err, CF_EEXISTS, "access key %s already exists", ak_out);
    if (rc < 0)
        crypt_wipe(sk_out, ST_SECRET_KEY_MAX);
    else
        eng_catalog_changed(e);
    return rc;
}

static void fill_key_info(sqlite3_stmt *st, st_key_info *k)
{
    memset(k, 0, sizeof *k);
    snprintf(k->access_key, sizeof k->access_key, "%s", idx_text(st, 0));
    snprintf(k->tenant, sizeof k->tenant, "%s", idx_text(st, 1));
    k->read_only = idx_int(st, 2) != 0;
    k->created = idx_int(st, 3);
}

int st_key_lookup(st_engine *e, const char *access_key, st_key_info *info,
                  char secret_out[ST_SECRET_KEY_MAX], cf_err *err)
{
    uint8_t sealed[ST_SECRET_KEY_MAX + 64];
    int sealed_len = 0;
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT k.access_key, t.name, k.read_only, k.created, k.secret "
        "FROM access_keys k JOIN tenants t ON t.id = k.tenant_id "
        "WHERE k.access_key = ?", "t", access_key);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        fill_key_info(st, info);
        sealed_len = sqlite3_column_bytes(st, 4);
        if (sealed_len > (int)sizeof sealed)
            sealed_len = 0;
        else
            memcpy(sealed, sqlite3_column_blob(st, 4), (size_t)sealed_len);
        idx_done(st);
        rc = 0;
    } else if (rc == 0) {
        rc = cf_fail(err, CF_ENOTFOUND, "unknown access key");
    }
    idx_unlock(e->ix);
    if (rc < 0)
        return -1;
    crypt_ctx *cc = crypt_ctx_new(err);
    rc = cc ? crypt_open_secret(cc, e->secrets_key, access_key, sealed, (size_t)sealed_len,
                                secret_out, ST_SECRET_KEY_MAX, err) : -1;
    crypt_ctx_free(cc);
    return rc;
}

typedef struct key_each {
    st_key_cb cb;
    void *ctx;
} key_each;

static int key_row(void *ctx, sqlite3_stmt *st, cf_err *err)
{
    (void)err;
    key_each *l = ctx;
    st_key_info k;
    fill_key_info(st, &k);
    return l->cb(l->ctx, &k) != 0;
}

int st_key_list(st_engine *e, const char *tenant, st_key_cb cb, void *ctx,
                cf_err *err)
{
    key_each l = {cb, ctx};
    idx_lock(e->ix);
    int rc = idx_each(e->ix, idx_query(e->ix, err,
        "SELECT k.access_key, t.name, k.read_only, k.created "
        "FROM access_keys k JOIN tenants t ON t.id = k.tenant_id "
        "WHERE ?1 IS NULL OR t.name = ?1 ORDER BY t.name, k.access_key", "t", tenant),
        key_row, &l, err);
    idx_unlock(e->ix);
    return rc;
}

int st_key_revoke(st_engine *e, const char *access_key, cf_err *err)
{
    int changes = 0;
    idx_lock(e->ix);
    int rc = idx_run(e->ix, &changes, err, "DELETE FROM access_keys WHERE access_key = ?",
                     "t", access_key);
    rc = eng_unlock_durable(e, rc, err);
    if (rc == 0 && changes == 0)
        return cf_fail(err, CF_ENOTFOUND, "unknown access key");
    if (rc == 0)
        eng_catalog_changed(e);
    return rc;
}

int key_drop_tenant_locked(st_engine *e, int64_t tenant_id, cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_run(e->ix, NULL, err, "DELETE FROM access_keys WHERE tenant_id = ?", "i",
                   tenant_id);
}
