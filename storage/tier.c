/*
 * storage/tier.c - the tier registry (the tiers table) and the queue of
 * remote objects to delete (remote_deletes); lifecycle.h has the
 * contract.
 *
 * A tier is a name clients use as a storage class, a type ("s3") and the
 * type's settings as opaque JSON, which only the tier module reads. Its
 * secret is sealed like a tenant's secret access key (crypto.h: AES-GCM
 * under the secrets key derived from the master key), with "tier/NAME" as
 * the id it is bound to: no access key id has a '/', so a tier's sealed
 * secret can never be opened as an access key's, or the other way round.
 *
 * A remote object leaves the index only through remote_deletes: a row is
 * added in the same transaction that forgets the version (or gives up a
 * transition), and removed only after the remote said the object is gone.
 * The object of a transition given up (or cut short by a crash) may still
 * be arriving: a request whose sender gave up or died can still complete
 * at the remote after our DELETE (a PUT received in full, a multipart
 * completion the remote takes minutes over), and its multipart upload
 * may exist without the index ever having learnt its id (a crash right
 * after the remote created it). Such a row is marked `recheck` (2): each
 * of its deletes also aborts every unfinished upload of the name, and its
 * first successful delete only schedules a second one (1),
 * lifecycle.recheck_seconds later; the second removes the row.
 * Each row's coming and going is journaled (journal.h: JRN_REMOTE_DELETE,
 * record version 4), so that rebuild-index queues again what was still to
 * be deleted when the index was lost.
 * Entries queued after the oldest live reader opened are held back, as the
 * local delete queue holds back shard files: a GET streaming a tiered
 * object keeps its remote object until it is done.
 */
#include "storage/engine_int.h"
#include "storage/lifecycle.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* AWS's storage class names: a tier may not take one (clients that send
 * them mean AWS's, and lifecycle.storage_class_map maps them). */
static void secret_id(const char *name, char out[ST_TIER_NAME_MAX + 8])
{
    snprintf(out, ST_TIER_NAME_MAX + 8, "tier/%s", name);
}

int st_tier_add(st_engine *e, const char *name, const char *type, const char *config,
                const char *secret, cf_err *err)
{
    if (!names_tier_ok(name))
        return cf_fail(err, CF_EINVAL, "a tier name is 1 to %d characters of A-Z, 0-9, "
                       "_ and -, and not an AWS storage class (STANDARD, GLACIER, ...)",
                       ST_TIER_NAME_MAX);
    size_t tl = strlen(type);
    if (tl < 1 || tl > ST_TIER_TYPE_MAX || strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789") != tl)
        return cf_fail(err, CF_EINVAL, "bad tier type");
    json_t *cfg = json_loads(config, JSON_REJECT_DUPLICATES, NULL);
    bool is_obj = json_is_object(cfg);
    json_decref(cfg);
    if (!is_obj)
        return cf_fail(err, CF_EINVAL, "a tier's settings must be a JSON object");
    if (strlen(secret) > ST_TIER_SECRET_MAX)
        return cf_fail(err, CF_EINVAL, "the tier's secret is longer than %d bytes",
                       ST_TIER_SECRET_MAX);
    char sid[ST_TIER_NAME_MAX + 8];
    secret_id(name, sid);
    uint8_t sealed[ST_TIER_SECRET_MAX + 64];
    size_t sealed_len = 0;
    crypt_ctx *cc = crypt_ctx_new(err);
    int rc = cc ? crypt_seal_secret(cc, e->secrets_key, sid, secret, sealed,
                                    sizeof sealed, &sealed_len, err) : -1;
    crypt_ctx_free(cc);
    if (rc < 0)
        return -1;
    idx_lock(e->ix);
    rc = idx_run(e->ix, NULL, err,
                 "INSERT INTO tiers(name, type, config, secret, created, last_error, "
                 "last_error_ms) VALUES (?, ?, ?, ?, ?, NULL, 0)", "tttbi", name, type,
                 config, sealed, sealed_len, (int64_t)time(NULL));
    rc = eng_catalog_saved(e, eng_unlock_durable(e, rc, err));
    crypt_wipe(sealed, sizeof sealed);
    if (rc < 0 && err && err->code == CF_EEXISTS)
        cf_fail(err, CF_EEXISTS, "a tier named %s exists already", name);
    return rc;
}

void st_tier_clear(st_tier *t)
{
    free(t->config);
    crypt_wipe(t, sizeof *t);
}

#define TIER_COLUMNS "id, name, type, config, created, ifnull(last_error, ''), " \
                     "last_error_ms, secret"

static int fill_tier(sqlite3_stmt *st, st_tier *t, cf_err *err)
{
    memset(t, 0, sizeof *t);
    t->id = idx_int(st, 0);
    snprintf(t->name, sizeof t->name, "%s", idx_text(st, 1));
    snprintf(t->type, sizeof t->type, "%s", idx_text(st, 2));
    t->created = idx_int(st, 4);
    snprintf(t->last_error, sizeof t->last_error, "%s", idx_text(st, 5));
    t->last_error_ms = idx_int(st, 6);
    if (!(t->config = strdup(idx_text(st, 3))))
        return cf_fail(err, CF_ENOMEM, "out of memory");
    return 0;
}

int st_tier_get(st_engine *e, const char *name, int64_t id, bool with_secret,
                st_tier *out, cf_err *err)
{
    uint8_t sealed[ST_TIER_SECRET_MAX + 64];
    int sealed_len = 0;
    memset(out, 0, sizeof *out);
    idx_lock(e->ix);
    sqlite3_stmt *st = name
        ? idx_query(e->ix, err, "SELECT " TIER_COLUMNS " FROM tiers WHERE name = ?", "t",
                    name)
        : idx_query(e->ix, err, "SELECT " TIER_COLUMNS " FROM tiers WHERE id = ?", "i", id);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        rc = fill_tier(st, out, err);
        sealed_len = sqlite3_column_bytes(st, 7);
        if (sealed_len > (int)sizeof sealed)
            sealed_len = 0;
        else
            memcpy(sealed, sqlite3_column_blob(st, 7), (size_t)sealed_len);
        idx_done(st);
    } else if (rc == 0) {
        rc = name ? cf_fail(err, CF_ENOTFOUND, "no tier named %s", name)
                  : cf_fail(err, CF_ENOTFOUND, "no tier with id %lld", (long long)id);
    }
    idx_unlock(e->ix);
    if (rc == 0 && with_secret) {
        char sid[ST_TIER_NAME_MAX + 8];
        secret_id(out->name, sid);
        crypt_ctx *cc = crypt_ctx_new(err);
        rc = cc ? crypt_open_secret(cc, e->secrets_key, sid, sealed, (size_t)sealed_len,
                                    out->secret, sizeof out->secret, err) : -1;
        crypt_ctx_free(cc);
    }
    crypt_wipe(sealed, sizeof sealed);
    if (rc < 0)
        st_tier_clear(out);
    return rc < 0 ? -1 : 0;
}

int st_tier_list(st_engine *e, st_tier_cb cb, void *ctx, cf_err *err)
{
    /* copied out first: the callback may call back into the engine */
    st_tier *all = NULL;
    size_t n = 0, cap = 0;
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
                                 "SELECT " TIER_COLUMNS " FROM tiers ORDER BY name", "");
    int rc = st ? 0 : -1;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            st_tier *grown = realloc(all, cap * sizeof *all);
            if (!grown) {
                idx_done(st);
                rc = cf_fail(err, CF_ENOMEM, "out of memory");
                break;
            }
            all = grown;
        }
        if (fill_tier(st, &all[n], err) < 0) {
            idx_done(st);
            rc = -1;
            break;
        }
        n++;
    }
    idx_unlock(e->ix);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (cb(ctx, &all[i]) != 0)
            break;
    for (size_t i = 0; i < n; i++)
        st_tier_clear(&all[i]);
    free(all);
    return rc < 0 ? -1 : 0;
}

int tier_id_locked(st_engine *e, const char *name, int64_t *id, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err, "SELECT id FROM tiers WHERE name = ?", "t",
                                 name);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        *id = idx_int(st, 0);
        idx_done(st);
        return 0;
    }
    return rc < 0 ? -1 : cf_fail(err, CF_ENOTFOUND, "no tier named %s", name);
}

int st_tier_remove(st_engine *e, const char *name, cf_err *err)
{
    int64_t id = 0;
    uint64_t live = 0, queued = 0;
    idx_lock(e->ix);
    int rc = tier_id_locked(e, name, &id, err);
    if (rc == 0)
        rc = tiering_versions_locked(e, id, &live, err);
    sqlite3_stmt *st = rc == 0 ? idx_query(e->ix, err,
        "SELECT count(*) FROM remote_deletes WHERE tier_id = ?", "i", id) : NULL;
    if (rc == 0 && (!st || idx_next(e->ix, st, err) != 1))
        rc = -1;
    if (rc == 0) {
        queued = (uint64_t)idx_int(st, 0);
        idx_done(st);
    }
    if (rc == 0 && (live || queued))
        rc = cf_fail(err, CF_ENOTEMPTY, "tier %s still holds or waits for %llu object "
                     "versions and has %llu remote objects to delete", name,
                     (unsigned long long)live, (unsigned long long)queued);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "DELETE FROM tiers WHERE id = ?", "i", id);
    return eng_catalog_saved(e, eng_unlock_durable(e, rc, err));
}

void st_tier_note_error(st_engine *e, int64_t tier_id, const char *msg)
{
    cf_err err;
    idx_lock(e->ix);
    int rc = idx_run(e->ix, NULL, &err,
                     "UPDATE tiers SET last_error = ?, last_error_ms = ? WHERE id = ?", "tii",
                     msg, msg ? eng_now_ms() : (int64_t)0, tier_id);
    idx_unlock_nowait(e->ix);   /* a status note: losing it in a power cut is fine */
    (void)rc;
}

int st_tier_usage_get(st_engine *e, int64_t tier_id, st_tier_usage *u, cf_err *err)
{
    memset(u, 0, sizeof *u);
    idx_lock(e->ix);
    int rc = tiering_usage_locked(e, tier_id, u, err);
    sqlite3_stmt *st = rc == 0 ? idx_query(e->ix, err,
        "SELECT count(*) FROM remote_deletes WHERE tier_id = ?", "i", tier_id) : NULL;
    if (rc == 0 && (!st || idx_next(e->ix, st, err) != 1))
        rc = -1;
    if (rc == 0) {
        u->remote_deletes = (uint64_t)idx_int(st, 0);
        idx_done(st);
    }
    idx_unlock(e->ix);
    return rc;
}

/* ---- remote deletes ---------------------------------------------------------- */

int tier_remote_delete_queue_locked(st_engine *e, int64_t tier_id, const char *remote_id,
                                    const char *upload_id, bool recheck, cf_err *err)
{
    idx_assert_held(e->ix);
    jrnrec_remote_touch_locked(e, remote_id);
    return idx_run(e->ix, NULL, err,
                   "INSERT OR IGNORE INTO remote_deletes VALUES (?, ?, ?, ?, 0, 0, NULL, ?)",
                   "titii", remote_id, tier_id, upload_id && *upload_id ? upload_id : NULL,
                   eng_now_ms(), (int64_t)(recheck ? 2 : 0));
}

json_t *tier_remote_delete_json_locked(st_engine *e, const char *remote_id, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT t.name, r.tier_id, r.upload_id, r.queued_ms, r.recheck FROM remote_deletes r "
        "JOIN tiers t ON t.id = r.tier_id WHERE r.remote_id = ?", "t", remote_id);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc <= 0)
        return rc < 0 ? NULL : json_null();
    json_t *row = json_pack("{s:s, s:I, s:o, s:I, s:I}", "tier", idx_text(st, 0),
                            "tier_id", (json_int_t)idx_int(st, 1),
                            "upload_id", sqlite3_column_type(st, 2) == SQLITE_TEXT
                                         ? json_string(idx_text(st, 2)) : json_null(),
                            "queued_ms", (json_int_t)idx_int(st, 3),
                            "recheck", (json_int_t)idx_int(st, 4));
    idx_done(st);
    return row ? row : (cf_fail(err, CF_ENOMEM, "out of memory"), NULL);
}

int st_remote_deletes_due(st_engine *e, int max, st_remote_delete_cb cb, void *ctx,
                          cf_err *err)
{
    st_remote_delete *due = calloc(max > 0 ? (size_t)max : 1, sizeof *due);
    if (!due)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    int64_t before = get_oldest_reader_ms(e);
    size_t n = 0;
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT remote_id, tier_id, ifnull(upload_id, ''), attempts, recheck "
        "FROM remote_deletes "
        "WHERE next_ms <= ? AND queued_ms < ? ORDER BY next_ms LIMIT ?", "iii",
        eng_now_ms(), before, (int64_t)max);
    int rc = st ? 0 : -1;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        st_remote_delete *d = &due[n++];
        snprintf(d->remote_id, sizeof d->remote_id, "%s", idx_text(st, 0));
        d->tier_id = idx_int(st, 1);
        snprintf(d->upload_id, sizeof d->upload_id, "%s", idx_text(st, 2));
        d->attempts = (int)idx_int(st, 3);
        d->uncertain = idx_int(st, 4) != 0;
    }
    idx_unlock(e->ix);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (cb(ctx, &due[i]) != 0)
            break;
    free(due);
    return rc < 0 ? -1 : 0;
}

int st_remote_delete_done(st_engine *e, const char *remote_id, int64_t recheck_ms,
                          cf_err *err)
{
    int changes = 0;
    idx_lock(e->ix);
    int rc = idx_run(e->ix, &changes, err,
                     "UPDATE remote_deletes SET recheck = 1, attempts = 0, next_ms = ? "
                     "WHERE remote_id = ? AND recheck = 2", "it", eng_now_ms() + recheck_ms,
                     remote_id);
    if (rc == 0 && changes == 0) {
        rc = idx_run(e->ix, NULL, err, "DELETE FROM remote_deletes WHERE remote_id = ?",
                     "t", remote_id);
        jrnrec_remote_touch_locked(e, remote_id);   /* gone: a rebuild must not queue it */
    }
    jrnrec_flush_locked(e);
    idx_unlock_nowait(e->ix);   /* if lost, the next pass (or a rebuild) deletes again:
                                 * harmless */
    return rc;
}

int st_remote_delete_retry(st_engine *e, const char *remote_id, int64_t next_ms,
                           const char *msg, cf_err *err)
{
    idx_lock(e->ix);
    int rc = idx_run(e->ix, NULL, err,
                     "UPDATE remote_deletes SET attempts = attempts + 1, next_ms = ?, "
                     "last_error = ? WHERE remote_id = ?", "itt", next_ms, msg, remote_id);
    idx_unlock_nowait(e->ix);
    return rc;
}
