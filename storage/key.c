/*
 * storage/key.c - access keys: the access_keys table (st_key_*). Secrets
 * are stored sealed with AES-256-GCM under a key derived from the master
 * key (crypto.c: crypt_seal_secret, AAD bound to the access key id) and
 * opened only to verify a signature (st_key_lookup); generated pairs and
 * the shape of given ones come from common/credfile.h and common/names.h.
 * Keys belong to a tenant and go when it goes (key_drop_tenant_locked).
 *
 * The lookup cache: every request looks its key up, which took the index
 * lock (a wait behind commits at 32 connections), read two rows, parsed
 * the policy's JSON and opened the sealed secret (an AES-GCM context):
 * about 4% of cofferd's CPU in an rclone copy, which makes two requests
 * per file. So st_key_lookup keeps what it found in a small table
 * (ENG_KEY_SLOTS, replaced round-robin) under its own mutex, key_lock,
 * taken after the index lock when both are held. It is correct only
 * because every write of access_keys is in this file and invalidates the
 * table under the index lock, right after its statement (key_changed_locked:
 * the generation goes up and every slot is wiped): so a request that
 * starts after a revoke (or a tenant's deletion) returned finds no slot
 * and reads the index, where the row is gone. A lookup that read the row
 * before such a write and finishes after it sees the generation it read
 * under the index lock move, and keeps nothing. Nothing else writes
 * access_keys while cofferd runs: `coffer key` goes through the admin API
 * (this process), and restore-index and rebuild-index run on a stopped
 * cofferd and put a new index file in place (cofferd, started again,
 * opens it with an empty cache). Unknown keys are never cached. The
 * secrets held are wiped on invalidation, replacement and close.
 *
 * A key's policy (engine.h, st_key_policy): `perms` is the permission bit
 * set; `buckets` and `delete_prefixes` are JSON arrays of strings, NULL
 * when empty (every bucket; no delete prefix). read_only, the column of
 * release 0.1.0, is kept true exactly when the key has no write
 * permission, so the two never disagree.
 */
#include "storage/engine_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <stdlib.h>

#include "common/credfile.h"
#include "common/names.h"
#include "common/utf8.h"

#define WRITE_PERMS (ST_PERM_WRITE_NEW | ST_PERM_OVERWRITE | ST_PERM_DELETE)

static const struct {
    unsigned bit;
    const char *name;
} perm_names[] = {
    {ST_PERM_READ, "read"},
    {ST_PERM_WRITE_NEW, "write-new"},
    {ST_PERM_OVERWRITE, "overwrite"},
    {ST_PERM_DELETE, "delete"},
    {ST_PERM_BYPASS_GOVERNANCE, "bypass-governance"},
};

const char *st_perm_name(unsigned bit)
{
    for (size_t i = 0; i < sizeof perm_names / sizeof perm_names[0]; i++)
        if (perm_names[i].bit == bit)
            return perm_names[i].name;
    return NULL;
}

unsigned st_perm_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof perm_names / sizeof perm_names[0]; i++)
        if (strcmp(perm_names[i].name, name) == 0)
            return perm_names[i].bit;
    return 0;
}

static int policy_check(const st_key_policy *p, cf_err *err)
{
    if (p->perms == 0 || (p->perms & ~ST_PERM_ALL))
        return cf_fail(err, CF_EINVAL, "a key needs at least one permission, and only "
                       "read, write-new, overwrite, delete and bypass-governance exist");
    if (p->nbuckets > ST_KEY_SCOPE_MAX || p->nprefixes > ST_KEY_SCOPE_MAX)
        return cf_fail(err, CF_EINVAL, "a key names at most %d buckets and %d delete "
                       "prefixes", ST_KEY_SCOPE_MAX, ST_KEY_SCOPE_MAX);
    for (size_t i = 0; i < p->nbuckets; i++)
        if (!names_bucket_ok(p->buckets[i]))
            return cf_fail(err, CF_EINVAL, "not a bucket name: %.64s", p->buckets[i]);
    for (size_t i = 0; i < p->nprefixes; i++) {
        size_t n = strlen(p->delete_prefixes[i]);
        if (n == 0 || n > ST_MAX_KEY || !utf8_valid(p->delete_prefixes[i], n))
            return cf_fail(err, CF_EINVAL, "a delete prefix is 1 to %d bytes of UTF-8",
                           ST_MAX_KEY);
    }
    return 0;
}

/* A list of names as JSON text (malloc'd), or NULL for an empty list. */
static int names_to_json(char *const *v, size_t n, char **out, cf_err *err)
{
    *out = NULL;
    if (n == 0)
        return 0;
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    *out = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return *out ? 0 : cf_fail(err, CF_ENOMEM, "out of memory");
}

static void names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The stored list back (NULL text: empty). */
static int names_from_json(const char *text, char ***out, size_t *n, cf_err *err)
{
    *out = NULL;
    *n = 0;
    if (!text || !*text)
        return 0;
    json_t *a = json_loads(text, 0, NULL);
    size_t count = json_is_array(a) ? json_array_size(a) : 0;
    char **v = count ? calloc(count, sizeof *v) : NULL;
    int rc = json_is_array(a) && (count == 0 || v) ? 0
           : cf_fail(err, json_is_array(a) ? CF_ENOMEM : CF_ECORRUPT,
                     "index: malformed key policy");
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s)
            rc = cf_fail(err, CF_ECORRUPT, "index: malformed key policy");
        else if (!(v[i] = strdup(s)))
            rc = cf_fail(err, CF_ENOMEM, "out of memory");
    }
    json_decref(a);
    if (rc < 0) {
        names_free(v, count);
        return -1;
    }
    *out = v;
    *n = count;
    return 0;
}

void st_key_info_clear(st_key_info *info)
{
    names_free(info->policy.buckets, info->policy.nbuckets);
    names_free(info->policy.delete_prefixes, info->policy.nprefixes);
    memset(&info->policy, 0, sizeof info->policy);
}

/* ---- the lookup cache (key_lock) ---- */

static int names_copy(char *const *v, size_t n, char ***out, cf_err *err)
{
    *out = n ? calloc(n, sizeof **out) : NULL;
    if (n && !*out)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (!((*out)[i] = strdup(v[i]))) {
            names_free(*out, n);
            *out = NULL;
            return cf_fail(err, CF_ENOMEM, "out of memory");
        }
    return 0;
}

/* A copy of from whose policy arrays to owns; on failure nothing to clear. */
static int info_copy(const st_key_info *from, st_key_info *to, cf_err *err)
{
    *to = *from;
    int rc = names_copy(from->policy.buckets, from->policy.nbuckets, &to->policy.buckets,
                        err);
    if (rc == 0 && names_copy(from->policy.delete_prefixes, from->policy.nprefixes,
                              &to->policy.delete_prefixes, err) < 0) {
        names_free(to->policy.buckets, from->policy.nbuckets);
        rc = -1;
    }
    if (rc < 0)
        memset(&to->policy, 0, sizeof to->policy);
    return rc;
}

static void slot_wipe(eng_key_slot *s)
{
    if (s->used)
        st_key_info_clear(&s->info);
    crypt_wipe(s, sizeof *s);
}

/* The slot of access_key, or NULL [key_lock held]. */
static eng_key_slot *slot_find(st_engine *e, const char *access_key)
{
    for (int i = 0; i < ENG_KEY_SLOTS; i++)
        if (e->key_slots[i].used && strcmp(e->key_slots[i].info.access_key, access_key) == 0)
            return &e->key_slots[i];
    return NULL;
}

/* 1 and the cached key, 0 not cached, -1 out of memory [takes key_lock]. */
static int cache_get(st_engine *e, const char *access_key, st_key_info *info,
                     char secret_out[ST_SECRET_KEY_MAX], cf_err *err)
{
    pthread_mutex_lock(&e->key_lock);
    eng_key_slot *s = slot_find(e, access_key);
    int rc = s ? info_copy(&s->info, info, err) : 0;
    if (s && rc == 0) {
        memcpy(secret_out, s->secret, ST_SECRET_KEY_MAX);
        rc = 1;
    }
    pthread_mutex_unlock(&e->key_lock);
    return rc;
}

/* The generation a lookup reads under the index lock [index lock held]. */
static uint64_t cache_gen_locked(st_engine *e)
{
    idx_assert_held(e->ix);
    pthread_mutex_lock(&e->key_lock);
    uint64_t g = e->key_gen;
    pthread_mutex_unlock(&e->key_lock);
    return g;
}

/* Keep a key read at generation gen, unless access_keys changed since
 * [takes key_lock]. A copy that cannot be made is not kept. */
static void cache_put(st_engine *e, uint64_t gen, const st_key_info *info,
                      const char *secret)
{
    cf_err err;
    pthread_mutex_lock(&e->key_lock);
    if (e->key_gen == gen && !slot_find(e, info->access_key)) {
        eng_key_slot *s = &e->key_slots[e->key_next++ % ENG_KEY_SLOTS];
        slot_wipe(s);
        if (info_copy(info, &s->info, &err) == 0) {
            snprintf(s->secret, sizeof s->secret, "%s", secret);
            s->used = true;
        }
    }
    pthread_mutex_unlock(&e->key_lock);
}

/* access_keys was written in this section: no cached key outlives it
 * [index lock held; takes key_lock]. */
static void key_changed_locked(st_engine *e)
{
    idx_assert_held(e->ix);
    pthread_mutex_lock(&e->key_lock);
    e->key_gen++;
    for (int i = 0; i < ENG_KEY_SLOTS; i++)
        slot_wipe(&e->key_slots[i]);
    pthread_mutex_unlock(&e->key_lock);
}

void key_cache_wipe(st_engine *e)
{
    for (int i = 0; i < ENG_KEY_SLOTS; i++)
        slot_wipe(&e->key_slots[i]);
}

int st_key_create(st_engine *e, const char *tenant, const st_key_policy *policy,
                  const char *access_key, const char *secret,
                  char ak_out[ST_ACCESS_KEY_MAX], char sk_out[ST_SECRET_KEY_MAX],
                  cf_err *err)
{
    const st_key_policy dflt = {.perms = ST_PERM_DEFAULT};
    const st_key_policy *p = policy ? policy : &dflt;
    char *buckets = NULL, *prefixes = NULL;
    if (policy_check(p, err) < 0 ||
        names_to_json(p->buckets, p->nbuckets, &buckets, err) < 0 ||
        names_to_json(p->delete_prefixes, p->nprefixes, &prefixes, err) < 0) {
        free(buckets);
        return -1;
    }
    int rc = 0;
    if (access_key && secret) {
        if (!names_access_key_ok(access_key) || !names_secret_ok(secret))
            rc = cf_fail(err, CF_EINVAL, "access key or secret has a bad form");
        snprintf(ak_out, ST_ACCESS_KEY_MAX, "%s", access_key);
        snprintf(sk_out, ST_SECRET_KEY_MAX, "%s", secret);
    } else {
        rc = credfile_generate(ak_out, sk_out, err);
    }
    uint8_t sealed[ST_SECRET_KEY_MAX + 64];
    size_t sealed_len = 0;
    crypt_ctx *cc = rc == 0 ? crypt_ctx_new(err) : NULL;
    if (rc == 0)
        rc = cc ? crypt_seal_secret(cc, e->secrets_key, ak_out, sk_out, sealed,
                                    sizeof sealed, &sealed_len, err) : -1;
    crypt_ctx_free(cc);
    int64_t tid = 0;
    idx_lock(e->ix);
    if (rc == 0)
        rc = tenant_id_locked(e, tenant, &tid, err);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err,
                     "INSERT INTO access_keys(access_key, tenant_id, secret, read_only, "
                     "created, perms, buckets, delete_prefixes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     "tibiiitt", ak_out, tid, sealed, sealed_len,
                     (int64_t)!(p->perms & WRITE_PERMS), (int64_t)time(NULL),
                     (int64_t)p->perms, buckets, prefixes);
    key_changed_locked(e);
    rc = eng_unlock_durable(e, rc, err);
    free(buckets);
    free(prefixes);
    if (rc < 0 && err->code == CF_EEXISTS)
        cf_fail(err, CF_EEXISTS, "access key %s already exists", ak_out);
    if (rc < 0)
        crypt_wipe(sk_out, ST_SECRET_KEY_MAX);
    else
        eng_catalog_changed(e);
    return rc;
}

#define KEY_COLUMNS "k.access_key, t.name, k.perms, k.created, k.buckets, k.delete_prefixes"

/* A row of KEY_COLUMNS; on failure nothing is left to clear. */
static int fill_key_info(sqlite3_stmt *st, st_key_info *k, cf_err *err)
{
    memset(k, 0, sizeof *k);
    snprintf(k->access_key, sizeof k->access_key, "%s", idx_text(st, 0));
    snprintf(k->tenant, sizeof k->tenant, "%s", idx_text(st, 1));
    k->policy.perms = (unsigned)idx_int(st, 2) & ST_PERM_ALL;
    k->created = idx_int(st, 3);
    const char *b = sqlite3_column_type(st, 4) == SQLITE_NULL ? NULL : idx_text(st, 4);
    const char *d = sqlite3_column_type(st, 5) == SQLITE_NULL ? NULL : idx_text(st, 5);
    if (names_from_json(b, &k->policy.buckets, &k->policy.nbuckets, err) < 0 ||
        names_from_json(d, &k->policy.delete_prefixes, &k->policy.nprefixes, err) < 0) {
        st_key_info_clear(k);
        return -1;
    }
    return 0;
}

int st_key_lookup(st_engine *e, const char *access_key, st_key_info *info,
                  char secret_out[ST_SECRET_KEY_MAX], cf_err *err)
{
    uint8_t sealed[ST_SECRET_KEY_MAX + 64];
    int sealed_len = 0;
    int hit = cache_get(e, access_key, info, secret_out, err);
    if (hit != 0)
        return hit < 0 ? -1 : 0;
    idx_lock(e->ix);
    uint64_t gen = cache_gen_locked(e);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT " KEY_COLUMNS ", k.secret "
        "FROM access_keys k JOIN tenants t ON t.id = k.tenant_id "
        "WHERE k.access_key = ?", "t", access_key);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        rc = fill_key_info(st, info, err);
        sealed_len = sqlite3_column_bytes(st, 6);
        if (sealed_len > (int)sizeof sealed)
            sealed_len = 0;
        else
            memcpy(sealed, sqlite3_column_blob(st, 6), (size_t)sealed_len);
        idx_done(st);
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
    if (rc < 0)
        st_key_info_clear(info);
    else
        cache_put(e, gen, info, secret_out);
    return rc;
}

typedef struct key_each {
    st_key_cb cb;
    void *ctx;
} key_each;

static int key_row(void *ctx, sqlite3_stmt *st, cf_err *err)
{
    key_each *l = ctx;
    st_key_info k;
    if (fill_key_info(st, &k, err) < 0)
        return -1;
    int rc = l->cb(l->ctx, &k) != 0;
    st_key_info_clear(&k);
    return rc;
}

int st_key_list(st_engine *e, const char *tenant, st_key_cb cb, void *ctx,
                cf_err *err)
{
    key_each l = {cb, ctx};
    idx_lock(e->ix);
    int rc = idx_each(e->ix, idx_query(e->ix, err,
        "SELECT " KEY_COLUMNS " FROM access_keys k JOIN tenants t ON t.id = k.tenant_id "
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
    key_changed_locked(e);
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
    int rc = idx_run(e->ix, NULL, err, "DELETE FROM access_keys WHERE tenant_id = ?", "i",
                     tenant_id);
    key_changed_locked(e);
    return rc;
}
