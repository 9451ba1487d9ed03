/*
 * storage/engine.c - opening the engine, and the small things every other
 * engine file needs: tenants, access keys, buckets, segment descriptors,
 * stored headers, the reader registry.
 *
 * Opening reads before it writes: the disk set (diskset.c: ds_open), then
 * whether meta_dir holds the disks' own index (identity.c: a start may
 * create an index only with a fresh set), then the master key (generated
 * only for a fresh set) against the index's stored HMAC check value, so a
 * wrong key is refused up front and never turns into garbage reads. Only
 * then are format files written (ds_format), the index opened and its
 * identity recorded (a new set, or a set formatted by coffer 0.1.0 that
 * gets its lineage now).
 *
 * Tenant KEKs are derived from the master key once and cached in a small
 * fixed table (ENG_KEK_SLOTS, replaced round-robin when full), wiped on
 * close and when the tenant is deleted.
 */
#include "storage/engine_int.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>

#include "common/checksum.h"
#include "storage/catalog.h"
#include "storage/identity.h"
#include "common/fsutil.h"

int64_t eng_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t eng_file_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void eng_id_to_hex(const uint8_t id[16], char out[ST_ID_HEX])
{
    cks_to_hex(id, 16, out, ST_ID_HEX);
}

int eng_id_from_hex(const char *hex, uint8_t id[16])
{
    size_t len = 0;
    if (!hex || strlen(hex) != 32 || cks_from_hex(hex, id, 16, &len) < 0 || len != 16)
        return -1;
    return 0;
}

/* ---- open / close ------------------------------------------------------ */

int eng_load_master(const st_config *cfg, const ds_set *set, bool create,
                    uint8_t key[CRYPT_KEY_LEN], cf_err *err)
{
    if (cfg->master_key_hex)
        return crypt_master_from_hex(cfg->master_key_hex, key, err);
    if (!cfg->master_key_file)
        return cf_fail(err, CF_ECONFIG, "no master key configured");
    if (access(cfg->master_key_file, F_OK) != 0 && errno == ENOENT) {
        char sid[33];
        cks_to_hex(set->set_id, DS_SET_ID_LEN, sid, sizeof sid);
        if (!set->fresh)
            return cf_fail(err, CF_ECRYPTO,
                           "refusing to start: the master key file %s is missing, but "
                           "the disks hold coffer set %.8s; put the backed-up key back "
                           "(a new key could never read this data, so none is made)",
                           cfg->master_key_file, sid);
        if (create)
            return crypt_master_generate(cfg->master_key_file, key, err);
    }
    return crypt_master_load(cfg->master_key_file, key, err);
}

static int check_master(const st_engine *e, const idx_ident *ix, cf_err *err)
{
    uint8_t want[32];
    crypt_master_check(e->master, want);
    if (ix->has_master_check && CRYPTO_memcmp(ix->master_check, want, sizeof want) != 0)
        return cf_fail(err, CF_ECRYPTO,
                       "the master key does not match the one this data was written "
                       "with; refusing to start");
    return 0;
}

/* The lineage the disks get: the index's when the disks (from coffer
 * 0.1.0) record none, a new one when neither does. */
static int adopt_lineage(st_engine *e, const ident_state *s, cf_err *err)
{
    if (e->set.has_lineage)
        return 0;
    if (s->index.has_lineage)
        memcpy(e->set.lineage, s->index.lineage, DS_LINEAGE_LEN);
    else if (crypt_random(e->set.lineage, DS_LINEAGE_LEN, err) < 0)
        return -1;
    e->set.has_lineage = true;
    return 0;
}

/* Record what the index does not know yet (all of it for a new set; the
 * lineage and creation time for an index of coffer 0.1.0). */
static int record_identity(st_engine *e, const idx_ident *ix, cf_err *err)
{
    idx_ident w = {0};
    if (!ix->has_set) {
        w.has_set = true;
        memcpy(w.set_id, e->set.set_id, DS_SET_ID_LEN);
    }
    if (!ix->has_lineage) {
        w.has_lineage = true;
        memcpy(w.lineage, e->set.lineage, DS_LINEAGE_LEN);
    }
    if (!ix->has_master_check) {
        w.has_master_check = true;
        crypt_master_check(e->master, w.master_check);
    }
    if (ix->created_ms > 0)
        e->created_ms = ix->created_ms;
    else
        e->created_ms = w.created_ms = eng_file_clock_ms();
    if (!w.has_set && !w.has_lineage && !w.has_master_check && w.created_ms == 0)
        return 0;
    return idx_ident_write(e->ix, &w, err);
}

static void apply_limits(st_engine *e, const st_config *cfg)
{
    e->inline_max = cfg->no_inline ? 0
                  : cfg->inline_max ? cfg->inline_max : ENG_DEFAULT_INLINE_MAX;
    e->gc_max_orphans = cfg->gc_max_orphans > 0 ? cfg->gc_max_orphans
                                                : ST_GC_DEFAULT_MAX_ORPHANS;
    e->gc_max_orphan_percent = cfg->gc_max_orphan_percent > 0 &&
                               cfg->gc_max_orphan_percent <= 100
                             ? cfg->gc_max_orphan_percent
                             : ST_GC_DEFAULT_MAX_ORPHAN_PERCENT;
    e->snap_keep = cfg->snapshot_keep > 0 ? cfg->snapshot_keep : SNAP_DEFAULT_KEEP;
    e->snap_days = cfg->snapshot_days > 0 ? cfg->snapshot_days : SNAP_DEFAULT_DAYS;
}

int st_open(const st_config *cfg, st_engine **out, cf_err *err)
{
    st_engine *e = calloc(1, sizeof *e);
    if (!e)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    pthread_mutex_init(&e->readers_lock, NULL);
    pthread_mutex_init(&e->kek_lock, NULL);
    pthread_mutex_init(&e->gc_lock, NULL);
    pthread_mutex_init(&e->snap_lock, NULL);
    pthread_mutex_init(&e->cat_lock, NULL);
    atomic_init(&e->deletes_pending, true);
    apply_limits(e, cfg);
    ident_state s;
    memset(&s, 0, sizeof s);
    bool assessed = false;
    int rc = cfg->meta_dir ? 0 : cf_fail(err, CF_ECONFIG, "no metadata directory configured");
    if (rc == 0)
        rc = ds_open(&e->set, cfg->disks, cfg->ndisks, cfg->k, cfg->m,
                     cfg->block_size, err);
    /* nothing is written before this point decides that it may be */
    if (rc == 0 && (rc = ident_assess(&e->set, cfg->meta_dir, &s, err)) == 0) {
        assessed = true;
        if (!ident_opens(s.verdict))
            rc = ident_refuse(&e->set, &s, err);
    }
    if (rc == 0)
        rc = eng_load_master(cfg, &e->set, cfg->create_master_key, e->master, err);
    if (rc == 0)
        rc = check_master(e, &s.index, err);
    if (rc == 0)
        rc = crypt_derive_secrets_key(e->master, e->secrets_key, err);
    if (rc == 0)
        rc = adopt_lineage(e, &s, err);
    if (rc == 0)
        rc = ds_format(&e->set, err);
    if (rc == 0 && !(e->rs = rs_new(e->set.k, e->set.m, err)))
        rc = -1;
    if (rc == 0 && (rc = fsu_mkdir_p(cfg->meta_dir, err)) == 0)
        rc = idx_open(cfg->meta_dir, &e->ix, err);
    if (rc == 0)
        rc = record_identity(e, &s.index, err);
    if (rc == 0 && !(e->jrn = jrn_open(&e->set, idx_commit_number(e->ix), err)))
        rc = -1;
    if (rc == 0)
        idx_set_sync_hook(e->ix, jrn_sync, e->jrn);
    if (rc == 0)
        rc = snap_resume(e, &s, err);
    if (rc == 0)
        eng_catalog_changed(e);      /* every disk holds the current catalog */
    if (assessed)
        ident_free(&s);
    if (rc < 0) {
        st_close(e);
        return -1;
    }
    e->opened = true;
    *out = e;
    return 0;
}

void st_close(st_engine *e)
{
    if (!e)
        return;
    if (e->opened)
        snap_mark_clean(e);
    idx_close(e->ix);
    jrn_close(e->jrn);
    rs_free(e->rs);
    ds_close(&e->set);
    crypt_wipe(e->master, sizeof e->master);
    crypt_wipe(e->keks, sizeof e->keks);
    crypt_wipe(e->secrets_key, sizeof e->secrets_key);
    pthread_mutex_destroy(&e->readers_lock);
    pthread_mutex_destroy(&e->kek_lock);
    pthread_mutex_destroy(&e->gc_lock);
    pthread_mutex_destroy(&e->snap_lock);
    pthread_mutex_destroy(&e->cat_lock);
    free(e);
}

/* ---- tenant KEK cache -------------------------------------------------- */

static eng_kek_slot *kek_find_locked(st_engine *e, const char *tenant)
{
    for (int i = 0; i < ENG_KEK_SLOTS; i++)
        if (e->keks[i].used && strcmp(e->keks[i].tenant, tenant) == 0)
            return &e->keks[i];
    return NULL;
}

/* The tenant's KEK into kek (the caller wipes it), derived on a miss. */
static int tenant_kek(st_engine *e, const char *tenant, uint8_t kek[CRYPT_KEY_LEN],
                      cf_err *err)
{
    pthread_mutex_lock(&e->kek_lock);
    eng_kek_slot *s = kek_find_locked(e, tenant);
    if (s)
        memcpy(kek, s->kek, CRYPT_KEY_LEN);
    pthread_mutex_unlock(&e->kek_lock);
    if (s)
        return 0;
    if (crypt_derive_kek(e->master, tenant, kek, err) < 0)
        return -1;
    if (strlen(tenant) > ST_MAX_TENANT)
        return 0;                    /* too long for a slot: not cached */
    pthread_mutex_lock(&e->kek_lock);
    if (!kek_find_locked(e, tenant)) {
        s = &e->keks[e->kek_next++ % ENG_KEK_SLOTS];
        s->used = true;
        snprintf(s->tenant, sizeof s->tenant, "%s", tenant);
        memcpy(s->kek, kek, CRYPT_KEY_LEN);
    }
    pthread_mutex_unlock(&e->kek_lock);
    return 0;
}

static void kek_forget(st_engine *e, const char *tenant)
{
    pthread_mutex_lock(&e->kek_lock);
    eng_kek_slot *s = kek_find_locked(e, tenant);
    if (s) {
        crypt_wipe(s, sizeof *s);
        s->used = false;
    }
    pthread_mutex_unlock(&e->kek_lock);
}

void st_layout(const st_engine *e, int *k, int *m, uint32_t *block_size)
{
    *k = e->set.k;
    *m = e->set.m;
    *block_size = e->set.block_size;
}

/* ---- tenants ----------------------------------------------------------- */

static bool valid_tenant_name(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > ST_MAX_TENANT)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '-'))
            return false;
    return true;
}

static int tenant_id_locked(st_engine *e, const char *name, int64_t *id, cf_err *err)
{
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

int st_tenant_create(st_engine *e, const char *name, cf_err *err)
{
    if (!valid_tenant_name(name))
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
    idx_lock(e->ix);
    int rc = tenant_id_locked(e, name, &id, err);
    sqlite3_stmt *st = rc == 0 ? idx_query(e->ix, err,
        "SELECT 1 FROM buckets WHERE tenant_id = ? LIMIT 1", "i", id) : NULL;
    if (rc == 0 && !st)
        rc = -1;
    if (rc == 0 && (rc = idx_next(e->ix, st, err)) == 1) {
        idx_done(st);
        rc = cf_fail(err, CF_ENOTEMPTY, "tenant %s still owns buckets", name);
    }
    if (rc == 0 && (rc = idx_begin(e->ix, err)) == 0) {
        rc = idx_run(e->ix, NULL, err, "DELETE FROM access_keys WHERE tenant_id = ?",
                     "i", id);
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

int st_tenant_list(st_engine *e, st_tenant_cb cb, void *ctx, cf_err *err)
{
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
                                 "SELECT name, created FROM tenants ORDER BY name", "");
    int rc = st ? 0 : -1;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        st_tenant_info t = {.created = idx_int(st, 1)};
        snprintf(t.name, sizeof t.name, "%s", idx_text(st, 0));
        if (cb(ctx, &t) != 0) {
            idx_done(st);
            rc = 0;
            break;
        }
    }
    idx_unlock(e->ix);
    return rc;
}

/* ---- access keys ------------------------------------------------------- */

static int random_string(char *out, size_t n, const char *alphabet, cf_err *err)
{
    size_t alen = strlen(alphabet);
    uint8_t r[64];
    if (n > sizeof r || crypt_random(r, n, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[r[i] % alen];
    out[n] = '\0';
    crypt_wipe(r, sizeof r);
    return 0;
}

static bool valid_key_text(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return false;
    return true;
}

int st_key_create(st_engine *e, const char *tenant, bool read_only,
                  const char *access_key, const char *secret,
                  char ak_out[ST_ACCESS_KEY_MAX], char sk_out[ST_SECRET_KEY_MAX],
                  cf_err *err)
{
    if (access_key && secret) {
        if (!valid_key_text(access_key, 3, ST_ACCESS_KEY_MAX - 1) ||
            !valid_key_text(secret, 8, ST_SECRET_KEY_MAX - 1))
            return cf_fail(err, CF_EINVAL, "access key or secret has a bad form");
        snprintf(ak_out, ST_ACCESS_KEY_MAX, "%s", access_key);
        snprintf(sk_out, ST_SECRET_KEY_MAX, "%s", secret);
    } else if (random_string(ak_out, 20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", err) < 0 ||
               random_string(sk_out, 40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                             "qrstuvwxyz0123456789+/", err) < 0) {
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

int st_key_list(st_engine *e, const char *tenant, st_key_cb cb, void *ctx,
                cf_err *err)
{
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT k.access_key, t.name, k.read_only, k.created "
        "FROM access_keys k JOIN tenants t ON t.id = k.tenant_id "
        "WHERE ?1 IS NULL OR t.name = ?1 ORDER BY t.name, k.access_key", "t", tenant);
    int rc = st ? 0 : -1;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        st_key_info k;
        fill_key_info(st, &k);
        if (cb(ctx, &k) != 0) {
            idx_done(st);
            rc = 0;
            break;
        }
    }
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

/* ---- buckets ----------------------------------------------------------- */

int eng_bucket_id_locked(st_engine *e, const char *tenant, const char *bucket,
                         int64_t *id, cf_err *err)
{
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

int st_bucket_create(st_engine *e, const char *tenant, const char *bucket,
                     const char *region, cf_err *err)
{
    if (strlen(bucket) < 1 || strlen(bucket) > ST_MAX_BUCKET)
        return cf_fail(err, CF_EINVAL, "bucket name length out of range");
    int64_t tid;
    idx_lock(e->ix);
    int rc = tenant_id_locked(e, tenant, &tid, err);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err,
                     "INSERT INTO buckets(tenant_id, name, region, created) "
                     "VALUES (?, ?, ?, ?)", "itti", tid, bucket,
                     region ? region : "us-east-1", (int64_t)time(NULL));
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
    int rc = eng_bucket_id_locked(e, tenant, bucket, &id, err);
    sqlite3_stmt *st = rc == 0 ? idx_query(e->ix, err,
        "SELECT 1 FROM objects WHERE bucket_id = ?1 UNION ALL "
        "SELECT 1 FROM uploads WHERE bucket_id = ?1 LIMIT 1", "i", id) : NULL;
    if (rc == 0 && !st)
        rc = -1;
    if (rc == 0 && (rc = idx_next(e->ix, st, err)) == 1) {
        idx_done(st);
        rc = cf_fail(err, CF_ENOTEMPTY, "bucket %s is not empty", bucket);
    }
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "DELETE FROM buckets WHERE id = ?", "i", id);
    rc = eng_unlock_durable(e, rc, err);
    if (rc == 0)
        eng_catalog_changed(e);
    return rc;
}

static void fill_bucket_info(sqlite3_stmt *st, st_bucket_info *b)
{
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", idx_text(st, 0));
    snprintf(b->region, sizeof b->region, "%s", idx_text(st, 1));
    b->created = idx_int(st, 2);
}

int st_bucket_get(st_engine *e, const char *tenant, const char *bucket,
                  st_bucket_info *info, cf_err *err)
{
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT b.name, b.region, b.created FROM buckets b "
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

int st_bucket_list(st_engine *e, const char *tenant, st_bucket_cb cb, void *ctx,
                   cf_err *err)
{
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT b.name, b.region, b.created FROM buckets b "
        "JOIN tenants t ON t.id = b.tenant_id WHERE t.name = ? ORDER BY b.name",
        "t", tenant);
    int rc = st ? 0 : -1;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        st_bucket_info b;
        fill_bucket_info(st, &b);
        if (cb(ctx, &b) != 0) {
            idx_done(st);
            rc = 0;
            break;
        }
    }
    idx_unlock(e->ix);
    return rc;
}

/* ---- segments, headers, readers --------------------------------------- */

int eng_segment_desc(st_engine *e, const char *tenant, const char *bucket,
                     const char *key, const uint8_t object_id[16], uint32_t part,
                     const uint8_t data_id[CRYPT_DATA_ID_LEN],
                     const uint8_t *wrapped, seg_desc *d, cf_err *err)
{
    memset(d, 0, sizeof *d);
    d->set = &e->set;
    d->rs = e->rs;
    d->part = part;
    memcpy(d->data_id, data_id, CRYPT_DATA_ID_LEN);
    shard_header *h = &d->header;
    memcpy(h->set_id, e->set.set_id, sizeof h->set_id);
    memcpy(h->data_id, data_id, CRYPT_DATA_ID_LEN);
    memcpy(h->object_id, object_id, 16);
    h->block_size = e->set.block_size;
    h->part = part;
    h->k = (uint8_t)e->set.k;
    h->m = (uint8_t)e->set.m;
    snprintf(h->tenant, sizeof h->tenant, "%s", tenant);
    snprintf(h->bucket, sizeof h->bucket, "%s", bucket);
    snprintf(h->key, sizeof h->key, "%s", key);
    uint8_t kek[CRYPT_KEY_LEN];
    crypt_ctx *cc = crypt_ctx_new(err);
    int rc = cc ? tenant_kek(e, tenant, kek, err) : -1;
    if (rc == 0 && wrapped) {
        memcpy(h->wrapped, wrapped, CRYPT_WRAPPED_LEN);
        rc = crypt_unwrap_key(cc, kek, data_id, wrapped, d->dk, err);
    } else if (rc == 0) {
        rc = crypt_random(d->dk, sizeof d->dk, err);
        if (rc == 0)
            rc = crypt_wrap_key(cc, kek, data_id, d->dk, h->wrapped, err);
    }
    crypt_wipe(kek, sizeof kek);
    crypt_ctx_free(cc);
    return rc;
}

int eng_headers_check(const st_header *h, size_t n, cf_err *err)
{
    size_t user = 0;
    for (size_t i = 0; i < n; i++) {
        if (!h[i].name || !h[i].value || !*h[i].name)
            return cf_fail(err, CF_EINVAL, "empty header name or value");
        if (strncmp(h[i].name, "x-amz-meta-", 11) == 0)
            user += strlen(h[i].name) - 11 + strlen(h[i].value);
        else if (strlen(h[i].value) > 8192)
            return cf_fail(err, CF_ETOOLARGE, "header %s is too long", h[i].name);
    }
    if (user > ST_MAX_USERMETA)
        return cf_fail(err, CF_ETOOLARGE,
                       "user metadata is %zu bytes; at most %d are allowed", user,
                       ST_MAX_USERMETA);
    return 0;
}

char *eng_headers_to_json(const st_header *h, size_t n, cf_err *err)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *pair = json_pack("[s, s]", h[i].name, h[i].value);
        if (!pair || json_array_append_new(arr, pair) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (!text)
        cf_fail(err, CF_EINVAL, "headers are not valid UTF-8 text");
    return text;
}

void eng_headers_free(st_header *h, size_t n)
{
    for (size_t i = 0; h && i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
}

int eng_headers_from_json(const char *text, st_header **out, size_t *n, cf_err *err)
{
    *out = NULL;
    *n = 0;
    json_t *arr = json_loads(text ? text : "[]", 0, NULL);
    if (!json_is_array(arr)) {
        json_decref(arr);
        return cf_fail(err, CF_ECORRUPT, "index: stored headers are not a JSON array");
    }
    size_t count = json_array_size(arr);
    st_header *h = calloc(count ? count : 1, sizeof *h);
    int rc = h ? 0 : cf_fail(err, CF_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < count; i++) {
        json_t *pair = json_array_get(arr, i);
        const char *name = json_string_value(json_array_get(pair, 0));
        const char *value = json_string_value(json_array_get(pair, 1));
        if (!name || !value)
            rc = cf_fail(err, CF_ECORRUPT, "index: malformed stored header");
        else if (!(h[i].name = strdup(name)) || !(h[i].value = strdup(value)))
            rc = cf_fail(err, CF_ENOMEM, "out of memory");
    }
    json_decref(arr);
    if (rc < 0) {
        eng_headers_free(h, count);
        return -1;
    }
    *out = h;
    *n = count;
    return 0;
}

void eng_catalog_changed(st_engine *e)
{
    int copies;
    cf_err err;
    if (cat_save(e, &copies, &err) < 0)
        fprintf(stderr, "coffer: catalog: tenants, keys and buckets could not be written "
                "to any disk (%s); an index rebuilt from the disks now would lack the "
                "latest change\n", err.msg);
}

int eng_reader_enter(st_engine *e, cf_err *err)
{
    int slot = -1;
    pthread_mutex_lock(&e->readers_lock);
    for (int i = 0; i < ENG_MAX_READERS && slot < 0; i++)
        if (e->reader_open_ms[i] == 0) {
            e->reader_open_ms[i] = eng_now_ms();
            slot = i;
        }
    pthread_mutex_unlock(&e->readers_lock);
    if (slot < 0)
        cf_fail(err, CF_ENOMEM, "too many objects open for reading");
    return slot;
}

void eng_reader_leave(st_engine *e, int slot)
{
    pthread_mutex_lock(&e->readers_lock);
    e->reader_open_ms[slot] = 0;
    pthread_mutex_unlock(&e->readers_lock);
}
