/*
 * storage/tiering.c - an object version's place in a tier: the
 * version_tier table and its state machine (lifecycle.h draws it), the
 * attributes a write sets (storage class, tags), restores, and the
 * reader that feeds a transition's upload.
 *
 * Every change of state is one index transaction, made durable before
 * the step it allows: the intent (UPLOADING, with the remote id) before
 * any byte is sent; the remote multipart upload id before its first part;
 * TIERED, with the local shard files queued for deletion, only after the
 * caller verified the remote copy. A remote id leaves version_tier only
 * in the transaction that moves it to remote_deletes (tier.c), so after
 * any crash every remote object the tier may hold is named by one of the
 * two tables: st_tier_recover aborts the UPLOADING rows, the tier module
 * drains remote_deletes, and nothing is left that the index does not know.
 *
 * A restore writes the version's shard files back under their own data
 * ids (same data keys: the remote holds exactly the sealed blocks) after
 * taking those ids off the delete queue under the drain lock (gc.c), so
 * that no drain can unlink what the restore writes.
 *
 * Each of those transactions also journals the version's key (journal.h:
 * its JRN_KEY lists the version's row here, and a tiered version's
 * segments, whose local files are freed), so that rebuild-index puts a
 * tiered version back without asking the tier.
 */
#include "storage/engine_int.h"
#include "storage/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/checksum.h"

/* ---- attributes of a write ------------------------------------------------------ */

int tiering_attrs_prepare(st_engine *e, const st_object_attrs *a, bool ssec,
                          tiering_attrs *out, cf_err *err)
{
    memset(out, 0, sizeof *out);
    if (!a)
        return 0;
    out->keep_tags = a->keep_tags;
    const char *sc = a->storage_class;
    if (sc && *sc && strcmp(sc, "STANDARD") != 0) {
        if (ssec)
            return cf_fail(err, CF_EINVAL, "An object encrypted with a customer-provided "
                           "key (SSE-C) cannot have the storage class %s: coffer's "
                           "lifecycle worker has no key to move it", sc);
        idx_lock(e->ix);
        int rc = tier_id_locked(e, sc, &out->tier_id, err);
        idx_unlock(e->ix);
        if (rc < 0)
            return err && err->code == CF_ENOTFOUND
                ? cf_fail(err, CF_ENOTFOUND, "the storage class %s is not a tier of this "
                          "server", sc)
                : -1;
    }
    return a->keep_tags ? 0 : tags_to_json(a->tags, a->ntags, &out->tags_json, err);
}

void tiering_attrs_clear(tiering_attrs *a)
{
    free(a->tags_json);
    a->tags_json = NULL;
}

int tiering_attrs_store_locked(st_engine *e, const uint8_t owner[16], const tiering_attrs *a,
                               cf_err *err)
{
    idx_assert_held(e->ix);
    int rc = a->tags_json ? tags_set_locked(e, owner, a->tags_json, err) : 0;
    if (rc == 0 && a->tier_id)
        rc = idx_run(e->ix, NULL, err,
                     "INSERT OR REPLACE INTO version_tier VALUES (?, ?, ?, 1, NULL, NULL, "
                     "0, 0, NULL, ?, 0, 0)", "biii", owner, (size_t)16, a->tier_id,
                     (int64_t)ST_TIER_PENDING, eng_now_ms());
    return rc;
}

int tiering_attrs_adopt_locked(st_engine *e, const uint8_t upload_id[16],
                               const uint8_t version_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    int rc = tags_move_locked(e, upload_id, version_id, err);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err,
                     "UPDATE version_tier SET version_id = ? WHERE version_id = ?", "bb",
                     version_id, (size_t)16, upload_id, (size_t)16);
    return rc;
}

int tiering_attrs_drop_locked(st_engine *e, const uint8_t owner[16], cf_err *err)
{
    idx_assert_held(e->ix);
    int rc = tags_set_locked(e, owner, NULL, err);
    sqlite3_stmt *st = rc == 0 ? idx_query(e->ix, err,
        "SELECT tier_id, state, ifnull(remote_id, '') FROM version_tier "
        "WHERE version_id = ?", "b", owner, (size_t)16) : NULL;
    int found = st ? idx_next(e->ix, st, err) : -1;
    if (rc < 0 || found <= 0)
        return rc < 0 || found < 0 ? -1 : 0;
    int64_t tier_id = idx_int(st, 0), state = idx_int(st, 1);
    char remote_id[ST_REMOTE_ID_HEX];
    snprintf(remote_id, sizeof remote_id, "%s", idx_text(st, 2));
    idx_done(st);
    if (state == ST_TIER_UPLOADING)
        return 0;                    /* its transition (or recovery) finishes it */
    if (state != ST_TIER_PENDING)
        rc = tier_remote_delete_queue_locked(e, tier_id, remote_id, NULL, false, err);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "DELETE FROM version_tier WHERE version_id = ?", "b",
                     owner, (size_t)16);
    return rc;
}

int tiering_object_attrs_locked(st_engine *e, const uint8_t vid[16], bool with_tags,
                                st_object_info *info, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT t.name, v.state, v.restore_until_ms FROM version_tier v "
        "JOIN tiers t ON t.id = v.tier_id WHERE v.version_id = ?", "b", vid, (size_t)16);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        snprintf(info->storage_class, sizeof info->storage_class, "%s", idx_text(st, 0));
        int64_t state = idx_int(st, 1);
        info->restore = state == ST_TIER_RESTORING ? 1 : state == ST_TIER_RESTORED ? 2 : 0;
        info->restore_expiry_ms = state == ST_TIER_RESTORED ? idx_int(st, 2) : 0;
        idx_done(st);
    }
    if (rc < 0 || !with_tags)
        return rc < 0 ? -1 : 0;
    st_header *tags = NULL;
    size_t n = 0;
    if (tags_load_locked(e, vid, &tags, &n, err) < 0)
        return -1;
    info->ntags = (int)n;
    headers_free(tags, n);
    return 0;
}

int tiering_state_locked(st_engine *e, const uint8_t vid[16], int *state, cf_err *err)
{
    idx_assert_held(e->ix);
    *state = 0;
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT state FROM version_tier WHERE version_id = ?", "b", vid, (size_t)16);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        *state = (int)idx_int(st, 0);
        idx_done(st);
    }
    return rc < 0 ? -1 : 0;
}

int tiering_remote_locked(st_engine *e, const uint8_t vid[16], tiering_remote *r,
                          cf_err *err)
{
    idx_assert_held(e->ix);
    memset(r, 0, sizeof *r);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT tier_id, state, ifnull(remote_id, ''), data_offset FROM version_tier "
        "WHERE version_id = ?", "b", vid, (size_t)16);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc != 1)
        return rc;
    int64_t state = idx_int(st, 1);
    r->active = state == ST_TIER_TIERED || state == ST_TIER_RESTORING;
    r->tier_id = idx_int(st, 0);
    snprintf(r->remote_id, sizeof r->remote_id, "%s", idx_text(st, 2));
    r->data_offset = (uint64_t)idx_int(st, 3);
    idx_done(st);
    return 0;
}

int tiering_adopt_locked(st_engine *e, const uint8_t vid[16], int64_t tier_id,
                         const char *remote_id, uint64_t remote_size, uint64_t data_offset,
                         const char *remote_etag, cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_run(e->ix, NULL, err,
                   "INSERT INTO version_tier VALUES (?, ?, ?, 0, ?, NULL, ?, ?, ?, ?, 0, 0)",
                   "biitiiti", vid, (size_t)16, tier_id, (int64_t)ST_TIER_TIERED, remote_id,
                   (int64_t)remote_size, (int64_t)data_offset, remote_etag, eng_now_ms());
}

json_t *tiering_row_json_locked(st_engine *e, const uint8_t vid[16], cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT v.tier_id, t.name, v.state, v.requested, v.remote_id, v.upload_id, "
        "v.remote_size, v.data_offset, v.remote_etag, v.restore_until_ms, "
        "v.restore_days FROM version_tier v JOIN tiers t ON t.id = v.tier_id "
        "WHERE v.version_id = ?", "b", vid, (size_t)16);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc <= 0)
        return rc < 0 ? NULL : json_null();
    json_t *row = json_object();
    for (int c = 0; row && c < sqlite3_column_count(st); c++) {
        json_t *x = sqlite3_column_type(st, c) == SQLITE_INTEGER ? json_integer(idx_int(st, c))
                    : sqlite3_column_type(st, c) == SQLITE_TEXT ? json_string(idx_text(st, c))
                                                                : json_null();
        if (json_object_set_new(row, c == 1 ? "tier" : sqlite3_column_name(st, c), x) < 0) {
            json_decref(row);
            row = NULL;
        }
    }
    idx_done(st);
    return row ? row : (cf_fail(err, CF_ENOMEM, "out of memory"), NULL);
}

/* ---- counts for tier.c -------------------------------------------------------------- */

int tiering_versions_locked(st_engine *e, int64_t tier_id, uint64_t *n, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT count(*) FROM version_tier WHERE tier_id = ?", "i", tier_id);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc != 1)
        return -1;
    *n = (uint64_t)idx_int(st, 0);
    idx_done(st);
    return 0;
}

int tiering_usage_locked(st_engine *e, int64_t tier_id, st_tier_usage *u, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT state, count(*), sum(remote_size) FROM version_tier WHERE tier_id = ? "
        "GROUP BY state", "i", tier_id);
    int rc = st ? 0 : -1;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        int64_t state = idx_int(st, 0);
        uint64_t count = (uint64_t)idx_int(st, 1), bytes = (uint64_t)idx_int(st, 2);
        if (state == ST_TIER_PENDING)
            u->pending += count;
        else if (state == ST_TIER_UPLOADING)
            u->uploading += count;
        else {
            u->objects += count;
            u->bytes += bytes;
            u->restoring += state == ST_TIER_RESTORING ? count : 0;
            u->restored += state == ST_TIER_RESTORED ? count : 0;
        }
    }
    return rc < 0 ? -1 : 0;
}

/* ---- transitions -------------------------------------------------------------------- */

void st_transition_clear(st_transition *t)
{
    free(t->header);
    t->header = NULL;
}

/* The version's segments, as the header records them. */
typedef struct seg_list {
    tierfmt_seg *segs;
    size_t n, cap;
} seg_list;

static int seg_list_add(void *ctx, const obj_segment *s, cf_err *err)
{
    seg_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 4;
        tierfmt_seg *grown = realloc(l->segs, cap * sizeof *grown);
        if (!grown)
            return cf_fail(err, CF_ENOMEM, "out of memory");
        l->segs = grown;
        l->cap = cap;
    }
    tierfmt_seg *m = &l->segs[l->n++];
    memcpy(m->data_id, s->data_id, 16);
    m->part = s->part;
    m->size = s->size;
    memcpy(m->wrapped, s->wrapped, CRYPT_WRAPPED_LEN);
    return 0;
}

/* Everything the header needs, under the lock; the intent row after it. */
static int begin_locked(st_engine *e, st_transition *t, const uint8_t want[16],
                        cf_err *err)
{
    idx_assert_held(e->ix);
    st_object_info info;
    uint8_t vid[16], rid[16];
    seg_list sl = {0};
    char *tags = NULL;
    int64_t requested = 0;
    int rc = obj_named_locked(e, t->tenant, t->bucket, t->key, t->version_id, &info, vid,
                              err);
    if (rc < 0)
        return err->code == CF_ENOVERSION || err->code == CF_EMARKER
                   ? cf_fail(err, CF_ENOKEY, "the version is gone") : -1;
    if (memcmp(vid, want, 16) != 0)
        rc = cf_fail(err, CF_ENOKEY, "the object has another version now");
    else if (info.ssec)         /* its data keys need the customer's key */
        rc = cf_fail(err, CF_ENEEDKEY, "the object is stored with a customer key");
    sqlite3_stmt *st = rc == 0 ? idx_query(e->ix, err,
        "SELECT state, requested FROM version_tier WHERE version_id = ?", "b", vid,
        (size_t)16) : NULL;
    int found = rc == 0 && st ? idx_next(e->ix, st, err) : rc == 0 ? -1 : 0;
    if (found < 0)
        rc = -1;
    if (found == 1) {
        int64_t state = idx_int(st, 0);
        requested = idx_int(st, 1);
        idx_done(st);
        if (state != ST_TIER_PENDING)
            rc = cf_fail(err, CF_EEXISTS, "the version is in a tier already");
    }
    if (rc == 0)
        rc = obj_segments_locked(e, vid, 0, -1, seg_list_add, &sl, err);
    if (rc == 0)
        rc = tags_json_locked(e, vid, &tags, err) < 0 ? -1 : 0;
    if (rc == 0)
        rc = crypt_random(rid, sizeof rid, err);
    if (rc == 0) {
        eng_id_to_hex(rid, t->remote_id);
        rc = tierfmt_header(e, t->remote_id, t->tenant, t->bucket, &info, vid, sl.segs,
                            sl.n, tags, &t->header, &t->header_len, err);
    }
    t->size = info.size;
    t->sealed_len = 0;
    for (size_t i = 0; i < sl.n; i++)
        t->sealed_len += eng_sealed_size(e, sl.segs[i].size);
    t->total_len = t->header_len + t->sealed_len;
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err,
                     "INSERT OR REPLACE INTO version_tier VALUES (?, ?, ?, ?, ?, NULL, ?, ?, "
                     "NULL, ?, 0, 0)", "biiitiii", vid, (size_t)16, t->tier_id,
                     (int64_t)ST_TIER_UPLOADING, requested, t->remote_id,
                     (int64_t)t->total_len, (int64_t)t->header_len, eng_now_ms());
    if (rc == 0)
        obj_journal_version_locked(e, vid);
    st_object_info_clear(&info);
    free(sl.segs);
    free(tags);
    return rc;
}

int st_transition_begin(st_engine *e, const char *tenant, const char *bucket,
                        const char *key, const char *version_id, int64_t tier_id,
                        st_transition *t, cf_err *err)
{
    memset(t, 0, sizeof *t);
    uint8_t want[16];
    if (eng_id_from_hex(version_id, want) < 0)
        return cf_fail(err, CF_EINVAL, "bad version id");
    snprintf(t->tenant, sizeof t->tenant, "%s", tenant);
    snprintf(t->bucket, sizeof t->bucket, "%s", bucket);
    snprintf(t->key, sizeof t->key, "%s", key);
    snprintf(t->version_id, sizeof t->version_id, "%s", version_id);
    t->tier_id = tier_id;
    st_tier tier;
    if (st_tier_get(e, NULL, tier_id, false, &tier, err) < 0)
        return -1;
    st_tier_clear(&tier);
    idx_lock(e->ix);
    int rc = begin_locked(e, t, want, err);
    rc = eng_unlock_durable(e, rc, err);
    if (rc < 0)
        st_transition_clear(t);
    return rc;
}

int st_transition_uploading(st_engine *e, const st_transition *t, const char *upload_id,
                            cf_err *err)
{
    uint8_t vid[16];
    if (eng_id_from_hex(t->version_id, vid) < 0)
        return cf_fail(err, CF_EINVAL, "bad version id");
    int changes = 0;
    idx_lock(e->ix);
    int rc = idx_run(e->ix, &changes, err,
                     "UPDATE version_tier SET upload_id = ? WHERE version_id = ? AND "
                     "remote_id = ? AND state = ?", "tbti", upload_id, vid, (size_t)16,
                     t->remote_id, (int64_t)ST_TIER_UPLOADING);
    if (rc == 0)
        obj_journal_version_locked(e, vid);
    rc = eng_unlock_durable(e, rc, err);
    if (rc == 0 && changes == 0)
        return cf_fail(err, CF_ENOKEY, "the transition's intent is gone");
    return rc;
}

/* Forget an UPLOADING row: its remote id (and upload) to remote_deletes,
 * to be deleted twice when its upload's fate is unknown (recheck); back
 * to PENDING if the version still exists and its storage class asked for
 * the tier, else gone. */
static int abort_row_locked(st_engine *e, const uint8_t vid[16], int64_t tier_id,
                            const char *remote_id, const char *upload_id, bool requested,
                            bool recheck, cf_err *err)
{
    idx_assert_held(e->ix);
    obj_journal_version_locked(e, vid);
    int rc = tier_remote_delete_queue_locked(e, tier_id, remote_id, upload_id, recheck, err);
    int exists = rc == 0 ? obj_version_exists_locked(e, vid, err) : -1;
    if (exists < 0)
        return -1;
    if (exists && requested)
        return idx_run(e->ix, NULL, err,
                       "UPDATE version_tier SET state = ?, remote_id = NULL, upload_id = NULL, "
                       "remote_size = 0, data_offset = 0, changed_ms = ? WHERE version_id = ?",
                       "iib", (int64_t)ST_TIER_PENDING, eng_now_ms(), vid, (size_t)16);
    return idx_run(e->ix, NULL, err, "DELETE FROM version_tier WHERE version_id = ?", "b",
                   vid, (size_t)16);
}

/* The UPLOADING row of t, if it still is: 1 (requested, upload id out), 0. */
static int intent_locked(st_engine *e, const st_transition *t, const uint8_t vid[16],
                         bool *requested, char *upload_id, size_t cap, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT requested, ifnull(upload_id, '') FROM version_tier WHERE version_id = ? "
        "AND remote_id = ? AND state = ?", "bti", vid, (size_t)16, t->remote_id,
        (int64_t)ST_TIER_UPLOADING);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        *requested = idx_int(st, 0) != 0;
        snprintf(upload_id, cap, "%s", idx_text(st, 1));
        idx_done(st);
    }
    return rc;
}

static int commit_locked(st_engine *e, const st_transition *t, const uint8_t vid[16],
                         const char *etag, bool *gone, cf_err *err)
{
    idx_assert_held(e->ix);
    bool requested = false;
    char upload_id[1024];
    int rc = idx_begin(e->ix, err);
    int have = rc == 0 ? intent_locked(e, t, vid, &requested, upload_id, sizeof upload_id,
                                       err) : -1;
    if (have < 0)
        rc = -1;
    else if (have == 0)      /* recovered away meanwhile: it queued the remote id */
        rc = cf_fail(err, CF_ENOKEY, "the transition's intent is gone");
    /* the version may have become noncurrent: it tiers all the same */
    int cur_rc = rc == 0 ? obj_version_exists_locked(e, vid, err) : 1;
    if (rc == 0 && cur_rc <= 0) {
        if (cur_rc < 0)
            rc = -1;
        else {
            *gone = true;
            /* the upload was verified complete: nothing is still arriving */
            rc = abort_row_locked(e, vid, t->tier_id, t->remote_id, NULL, false, false, err);
        }
    } else if (rc == 0) {
        rc = idx_run(e->ix, NULL, err,
                     "UPDATE version_tier SET state = ?, upload_id = NULL, remote_etag = ?, "
                     "changed_ms = ? WHERE version_id = ?", "itib",
                     (int64_t)ST_TIER_TIERED, etag, eng_now_ms(), vid, (size_t)16);
        if (rc == 0)
            rc = deleteq_version_files_locked(e, vid, err);
        if (rc == 0)
            obj_journal_version_locked(e, vid);
    }
    if (rc == 0)
        return idx_commit(e->ix, err);
    idx_rollback(e->ix);
    return -1;
}

int st_transition_commit(st_engine *e, const st_transition *t, const char *remote_etag,
                         cf_err *err)
{
    uint8_t vid[16];
    bool gone = false;
    if (eng_id_from_hex(t->version_id, vid) < 0)
        return cf_fail(err, CF_EINVAL, "bad version id");
    idx_lock(e->ix);
    int rc = commit_locked(e, t, vid, remote_etag, &gone, err);
    rc = eng_unlock_durable(e, rc, err);
    if (rc < 0)
        return -1;
    if (gone)
        return cf_fail(err, CF_ENOKEY, "the version was deleted or overwritten during "
                       "its transition; its remote copy is queued for deletion");
    deleteq_drain(e);
    return 0;
}

int st_transition_abort(st_engine *e, const st_transition *t, cf_err *err)
{
    uint8_t vid[16];
    bool requested = false;
    char upload_id[1024];
    if (eng_id_from_hex(t->version_id, vid) < 0)
        return cf_fail(err, CF_EINVAL, "bad version id");
    idx_lock(e->ix);
    int rc = idx_begin(e->ix, err);
    int have = rc == 0 ? intent_locked(e, t, vid, &requested, upload_id, sizeof upload_id,
                                       err) : -1;
    if (have < 0)
        rc = -1;
    else if (have == 1)
        rc = abort_row_locked(e, vid, t->tier_id, t->remote_id, upload_id, requested, true,
                              err);
    rc = rc == 0 ? idx_commit(e->ix, err) : (idx_rollback(e->ix), -1);
    return eng_unlock_durable(e, rc, err);
}

int st_tier_recover(st_engine *e, uint64_t *aborted, cf_err *err)
{
    *aborted = 0;
    for (;;) {
        uint8_t vid[16];
        char remote_id[ST_REMOTE_ID_HEX], upload_id[1024];
        idx_lock(e->ix);
        sqlite3_stmt *st = idx_query(e->ix, err,
            "SELECT version_id, tier_id, remote_id, ifnull(upload_id, ''), requested "
            "FROM version_tier WHERE state = ? LIMIT 1", "i", (int64_t)ST_TIER_UPLOADING);
        int found = st ? idx_next(e->ix, st, err) : -1;
        int rc = found < 0 ? -1 : 0;
        if (found == 1) {
            int64_t tier_id = idx_int(st, 1);
            bool requested = idx_int(st, 4) != 0;
            rc = idx_blob(st, 0, vid, 16);
            snprintf(remote_id, sizeof remote_id, "%s", idx_text(st, 2));
            snprintf(upload_id, sizeof upload_id, "%s", idx_text(st, 3));
            idx_done(st);
            if (rc == 0 && (rc = idx_begin(e->ix, err)) == 0) {
                rc = abort_row_locked(e, vid, tier_id, remote_id, upload_id, requested, true,
                                      err);
                rc = rc == 0 ? idx_commit(e->ix, err) : (idx_rollback(e->ix), -1);
            }
        }
        rc = eng_unlock_durable(e, rc, err);
        if (rc < 0)
            return -1;
        if (found == 0)
            return 0;
        (*aborted)++;
    }
}

/* Candidates joined with their versions, current or noncurrent: PENDING
 * or RESTORING ones. */
static int candidates(st_engine *e, int state, int max, st_candidate_cb cb, void *ctx,
                      cf_err *err)
{
    st_tier_candidate *c = calloc(max > 0 ? (size_t)max : 1, sizeof *c);
    if (!c)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    size_t n = 0;
    idx_lock(e->ix);
    /* current versions (objects) and noncurrent ones (versions) alike */
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT v.version_id, v.tier_id, o.key, o.size, b.name, t.name, v.changed_ms "
        "FROM version_tier v JOIN objects o ON o.version_id = v.version_id "
        "JOIN buckets b ON b.id = o.bucket_id JOIN tenants t ON t.id = b.tenant_id "
        "WHERE v.state = ?1 UNION ALL "
        "SELECT v.version_id, v.tier_id, o.key, o.size, b.name, t.name, v.changed_ms "
        "FROM version_tier v JOIN versions o ON o.version_id = v.version_id "
        "AND o.marker = 0 JOIN buckets b ON b.id = o.bucket_id "
        "JOIN tenants t ON t.id = b.tenant_id WHERE v.state = ?1 ORDER BY 7 LIMIT ?2",
        "ii", (int64_t)state, (int64_t)max);
    int rc = st ? 0 : -1;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        uint8_t vid[16];
        int klen = sqlite3_column_bytes(st, 2);
        if (idx_blob(st, 0, vid, 16) < 0 || klen > ST_MAX_KEY)
            continue;
        st_tier_candidate *x = &c[n++];
        eng_id_to_hex(vid, x->version_id);
        x->tier_id = idx_int(st, 1);
        memcpy(x->key, sqlite3_column_blob(st, 2), (size_t)klen);
        x->key[klen] = '\0';
        x->size = (uint64_t)idx_int(st, 3);
        snprintf(x->bucket, sizeof x->bucket, "%s", idx_text(st, 4));
        snprintf(x->tenant, sizeof x->tenant, "%s", idx_text(st, 5));
    }
    idx_unlock(e->ix);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (cb(ctx, &c[i]) != 0)
            break;
    free(c);
    return rc < 0 ? -1 : 0;
}

int st_tier_pending(st_engine *e, int max, st_candidate_cb cb, void *ctx, cf_err *err)
{
    return candidates(e, ST_TIER_PENDING, max, cb, ctx, err);
}

/* ---- the transition's source ------------------------------------------------------- */

struct st_tobj {
    const st_transition *t;
    st_get *g;
};

int st_tobj_open(st_engine *e, const st_transition *t, st_tobj **out, cf_err *err)
{
    st_tobj *r = calloc(1, sizeof *r);
    if (!r)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    r->t = t;
    int rc = get_open_id(e, t->tenant, t->bucket, t->key, t->version_id, &r->g, err);
    if (rc < 0) {
        st_tobj_close(r);
        return -1;
    }
    *out = r;
    return 0;
}

int st_tobj_read(st_tobj *r, uint64_t off, uint8_t *buf, size_t len, cf_err *err)
{
    const st_transition *t = r->t;
    if (off + len > t->total_len)
        return cf_fail(err, CF_EINVAL, "read past the remote object's end");
    if (off < t->header_len) {
        size_t n = t->header_len - off < len ? (size_t)(t->header_len - off) : len;
        memcpy(buf, t->header + off, n);
        buf += n;
        off += n;
        len -= n;
    }
    if (len == 0)
        return 0;
    size_t got = 0;
    if (st_get_sealed_read(r->g, off - t->header_len, buf, len, &got, err) < 0)
        return -1;
    return got == len ? 0 : cf_fail(err, CF_EINTERNAL, "sealed stream ended early");
}

void st_tobj_close(st_tobj *r)
{
    if (!r)
        return;
    st_get_close(r->g);
    free(r);
}

/* ---- restores ------------------------------------------------------------------------ */

int st_restore_request(st_engine *e, const char *tenant, const char *bucket,
                       const char *key, const char *version, int days, int64_t day_ms,
                       st_restore_result *res, cf_err *err)
{
    if (days < 1)
        return cf_fail(err, CF_EINVAL, "Days must be a positive number");
    uint8_t vid[16];
    idx_lock(e->ix);
    int rc = obj_named_locked(e, tenant, bucket, key, version, NULL, vid, err);
    sqlite3_stmt *st = rc == 0 ? idx_query(e->ix, err,
        "SELECT state FROM version_tier WHERE version_id = ?", "b", vid, (size_t)16) : NULL;
    int found = rc == 0 && st ? idx_next(e->ix, st, err) : rc == 0 ? -1 : 0;
    int64_t state = found == 1 ? idx_int(st, 0) : 0;
    if (found == 1)
        idx_done(st);
    if (found < 0)
        rc = -1;
    else if (rc == 0 && state != ST_TIER_TIERED && state != ST_TIER_RESTORING &&
             state != ST_TIER_RESTORED)
        rc = cf_fail(err, CF_ESTATE, "Restore is not allowed for the object's current "
                     "storage class");
    if (rc == 0 && state == ST_TIER_TIERED) {
        *res = ST_RESTORE_STARTED;
        rc = idx_run(e->ix, NULL, err,
                     "UPDATE version_tier SET state = ?, restore_days = ?, changed_ms = ? "
                     "WHERE version_id = ?", "iiib", (int64_t)ST_TIER_RESTORING,
                     (int64_t)days, eng_now_ms(), vid, (size_t)16);
    } else if (rc == 0 && state == ST_TIER_RESTORING) {
        *res = ST_RESTORE_IN_PROGRESS;
    } else if (rc == 0) {
        *res = ST_RESTORE_EXTENDED;
        rc = idx_run(e->ix, NULL, err,
                     "UPDATE version_tier SET restore_days = ?, restore_until_ms = ? "
                     "WHERE version_id = ?", "iib", (int64_t)days,
                     eng_now_ms() + (int64_t)days * day_ms, vid, (size_t)16);
    }
    if (rc == 0 && *res != ST_RESTORE_IN_PROGRESS)
        obj_journal_version_locked(e, vid);
    return eng_unlock_durable(e, rc, err);
}

int st_restore_due(st_engine *e, int max, st_candidate_cb cb, void *ctx, cf_err *err)
{
    return candidates(e, ST_TIER_RESTORING, max, cb, ctx, err);
}

int st_restore_later(st_engine *e, const char *version_id, cf_err *err)
{
    uint8_t vid[16];
    if (eng_id_from_hex(version_id, vid) < 0)
        return cf_fail(err, CF_EINVAL, "bad version id");
    idx_lock(e->ix);
    int rc = idx_run(e->ix, NULL, err,
                     "UPDATE version_tier SET changed_ms = ? WHERE version_id = ? AND state = ?",
                     "ibi", eng_now_ms(), vid, (size_t)16, (int64_t)ST_TIER_RESTORING);
    idx_unlock_nowait(e->ix);   /* an order: lost, a pass looks at it sooner */
    return rc;
}

int st_tier_locate(st_engine *e, const char *version_id, char remote_id[ST_REMOTE_ID_HEX],
                   uint64_t *data_offset, uint64_t *sealed_len, cf_err *err)
{
    uint8_t vid[16];
    if (eng_id_from_hex(version_id, vid) < 0)
        return cf_fail(err, CF_EINVAL, "bad version id");
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT ifnull(remote_id, ''), data_offset, remote_size FROM version_tier "
        "WHERE version_id = ? AND state IN (?, ?, ?)", "biii", vid, (size_t)16,
        (int64_t)ST_TIER_TIERED, (int64_t)ST_TIER_RESTORING, (int64_t)ST_TIER_RESTORED);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        snprintf(remote_id, ST_REMOTE_ID_HEX, "%s", idx_text(st, 0));
        *data_offset = (uint64_t)idx_int(st, 1);
        *sealed_len = (uint64_t)idx_int(st, 2) - *data_offset;
        idx_done(st);
        rc = 0;
    } else if (rc == 0) {
        rc = cf_fail(err, CF_ENOKEY, "the version is not in a tier");
    }
    idx_unlock(e->ix);
    return rc;
}

int st_restore_import(st_engine *e, const st_tier_candidate *c, int64_t day_ms,
                      st_source src, void *ctx, cf_err *err)
{
    uint8_t vid[16];
    if (eng_id_from_hex(c->version_id, vid) < 0)
        return cf_fail(err, CF_EINVAL, "bad version id");
    if (deleteq_unqueue_version(e, vid, err) < 0 ||
        st_sealed_import(e, c->tenant, c->bucket, c->key, c->version_id, src, ctx, err) < 0)
        return -1;
    int changes = 0;
    idx_lock(e->ix);
    int rc = idx_run(e->ix, &changes, err,
                     "UPDATE version_tier SET state = ?, restore_until_ms = ? + restore_days "
                     "* ?, changed_ms = ? WHERE version_id = ? AND state = ?", "iiiibi",
                     (int64_t)ST_TIER_RESTORED, eng_now_ms(), day_ms, eng_now_ms(), vid,
                     (size_t)16, (int64_t)ST_TIER_RESTORING);
    if (rc == 0)
        obj_journal_version_locked(e, vid);
    rc = eng_unlock_durable(e, rc, err);
    if (rc == 0 && changes == 0)
        return cf_fail(err, CF_ENOKEY, "the version left the tier during its restore");
    return rc;
}

int st_restore_expire(st_engine *e, uint64_t *expired, cf_err *err)
{
    *expired = 0;
    for (;;) {
        uint8_t vid[16];
        idx_lock(e->ix);
        sqlite3_stmt *st = idx_query(e->ix, err,
            "SELECT version_id FROM version_tier WHERE state = ? AND restore_until_ms <= ? "
            "LIMIT 1", "ii", (int64_t)ST_TIER_RESTORED, eng_now_ms());
        int found = st ? idx_next(e->ix, st, err) : -1;
        int rc = found < 0 ? -1 : 0;
        if (found == 1) {
            rc = idx_blob(st, 0, vid, 16);
            idx_done(st);
            if (rc == 0 && (rc = idx_begin(e->ix, err)) == 0) {
                rc = idx_run(e->ix, NULL, err,
                             "UPDATE version_tier SET state = ?, restore_until_ms = 0, "
                             "changed_ms = ? WHERE version_id = ?", "iib",
                             (int64_t)ST_TIER_TIERED, eng_now_ms(), vid, (size_t)16);
                if (rc == 0)
                    rc = deleteq_version_files_locked(e, vid, err);
                if (rc == 0)
                    obj_journal_version_locked(e, vid);
                rc = rc == 0 ? idx_commit(e->ix, err) : (idx_rollback(e->ix), -1);
            }
        }
        rc = eng_unlock_durable(e, rc, err);
        if (rc < 0)
            return -1;
        if (found == 0)
            break;
        (*expired)++;
    }
    if (*expired)
        deleteq_drain(e);
    return 0;
}
