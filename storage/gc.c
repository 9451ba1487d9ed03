/*
 * storage/gc.c - giving space back and repairing shards.
 *
 * Deletion is two-phase. Phase one, inside the transaction that drops a
 * segment's last reference, moves its data id to delete_queue. Phase two,
 * after the commit, unlinks its shard files and removes the queue row;
 * it skips entries queued after the oldest live reader opened (that reader
 * may still be reading them). A crash between the phases leaves queue rows
 * that the next drain finishes. Files no row knows about at all (a crash
 * after shards were written but before the index commit) are orphans: the
 * GC scan removes them once they are older than a grace period.
 *
 * Heal reads each segment on the heal queue and rewrites its missing or
 * bad shard files from the good ones (segment.c: seg_heal).
 *
 * Snapshots copy the index to every disk, so that losing the metadata
 * directory loses at most what was committed since the last snapshot.
 */
#include "storage/engine_int.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GC_BATCH 256

int eng_queue_data_delete_locked(st_engine *e, const uint8_t data_id[16], cf_err *err)
{
    atomic_store_explicit(&e->deletes_pending, true, memory_order_relaxed);
    return idx_run(e->ix, NULL, err, "INSERT OR IGNORE INTO delete_queue VALUES (?, ?)",
                   "bi", data_id, (size_t)16, eng_now_ms());
}

int eng_queue_version_delete_locked(st_engine *e, const uint8_t version_id[16],
                                    cf_err *err)
{
    atomic_store_explicit(&e->deletes_pending, true, memory_order_relaxed);
    int rc = idx_run(e->ix, NULL, err,
                     "INSERT OR IGNORE INTO delete_queue SELECT data_id, ? FROM segments "
                     "WHERE version_id = ?", "ib", eng_now_ms(), version_id, (size_t)16);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "DELETE FROM segments WHERE version_id = ?", "b",
                     version_id, (size_t)16);
    return rc;
}

int eng_queue_upload_delete_locked(st_engine *e, const uint8_t upload_id[16],
                                   cf_err *err)
{
    atomic_store_explicit(&e->deletes_pending, true, memory_order_relaxed);
    return idx_run(e->ix, NULL, err,
                   "INSERT OR IGNORE INTO delete_queue SELECT data_id, ? FROM parts "
                   "WHERE upload_id = ?", "ib", eng_now_ms(), upload_id, (size_t)16);
}

/* With nothing eligible to drain: clear the pending hint if the queue is
 * empty (entries kept for live readers keep it set). Under the lock, so
 * it cannot hide an entry queued by a commit. */
static void note_queue_empty_locked(st_engine *e)
{
    cf_err err;
    sqlite3_stmt *st = idx_query(e->ix, &err, "SELECT 1 FROM delete_queue LIMIT 1", "");
    int rc = st ? idx_next(e->ix, st, &err) : -1;
    if (rc == 1)
        idx_done(st);
    else if (rc == 0)
        atomic_store_explicit(&e->deletes_pending, false, memory_order_relaxed);
}

static int64_t oldest_reader_ms(st_engine *e)
{
    int64_t oldest = INT64_MAX;
    pthread_mutex_lock(&e->readers_lock);
    for (int i = 0; i < ENG_MAX_READERS; i++)
        if (e->reader_open_ms[i] && e->reader_open_ms[i] < oldest)
            oldest = e->reader_open_ms[i];
    pthread_mutex_unlock(&e->readers_lock);
    return oldest;
}

/* One batch of phase two; returns how many entries were finished. */
static int drain_batch(st_engine *e, uint64_t *done, cf_err *err)
{
    uint8_t ids[GC_BATCH][16];
    int n = 0, rc = 0;
    /* most PUTs replace nothing: no lock, no reader scan, no query */
    if (!atomic_load_explicit(&e->deletes_pending, memory_order_relaxed))
        return 0;
    int64_t before = oldest_reader_ms(e);
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT data_id FROM delete_queue WHERE queued_ms < ? LIMIT ?", "ii", before,
        (int64_t)GC_BATCH);
    while (st && n < GC_BATCH && (rc = idx_next(e->ix, st, err)) == 1)
        if (idx_blob(st, 0, ids[n], 16) == 0)
            n++;
    if (st && rc == 1)
        idx_done(st);
    /* The queueing commits we read may not be on disk yet; unlinking
     * before they are could leave a version whose files are gone after a
     * power loss. Wait only when there is something to unlink. */
    if (n == 0) {
        if (st && rc == 0)
            note_queue_empty_locked(e);
        idx_unlock(e->ix);
        return !st || rc < 0 ? -1 : 0;
    }
    if (eng_unlock_durable(e, rc < 0 ? -1 : 0, err) < 0)
        return -1;
    for (int i = 0; i < n; i++)
        seg_unlink(&e->set, ids[i]);
    idx_lock(e->ix);
    for (int i = 0; rc >= 0 && i < n; i++)
        rc = idx_run(e->ix, NULL, err, "DELETE FROM delete_queue WHERE data_id = ?", "b",
                     ids[i], (size_t)16);
    idx_unlock_nowait(e->ix);   /* if lost, the next drain unlinks again */
    if (done)
        *done += (uint64_t)n;
    return rc < 0 ? -1 : n;
}

void eng_drain_deletes(st_engine *e)
{
    cf_err err;
    while (drain_batch(e, NULL, &err) == GC_BATCH)
        ;
}

void eng_queue_heal(st_engine *e, const uint8_t data_id[16])
{
    cf_err err;
    idx_lock(e->ix);
    idx_run(e->ix, NULL, &err, "INSERT OR IGNORE INTO heal_queue VALUES (?, ?)", "bi",
            data_id, (size_t)16, eng_now_ms());
    eng_unlock_durable(e, 0, &err);
}

/* ---- orphan scan -------------------------------------------------------- */

static bool data_id_referenced(st_engine *e, const uint8_t id[16], cf_err *err)
{
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT 1 FROM segments WHERE data_id = ?1 UNION ALL "
        "SELECT 1 FROM parts WHERE data_id = ?1 UNION ALL "
        "SELECT 1 FROM delete_queue WHERE data_id = ?1 LIMIT 1", "b", id, (size_t)16);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1)
        idx_done(st);
    idx_unlock(e->ix);
    return rc != 0;  /* on error, keep the file */
}

/* Remove unreferenced shard files in dir older than the cutoff. */
static void scan_dir(st_engine *e, const char *dir, bool all_orphans, time_t cutoff,
                     uint64_t *removed, cf_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint8_t id[16];
        char path[PATH_MAX];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_mtime > cutoff)
            continue;
        bool known = shard_name_to_id(de->d_name, id);
        if (known && !all_orphans && data_id_referenced(e, id, err))
            continue;
        if (unlink(path) == 0)
            (*removed)++;
    }
    closedir(d);
}

static void scan_disk(st_engine *e, const char *disk, time_t cutoff, uint64_t *removed,
                      cf_err *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/tmp", disk);
    scan_dir(e, dir, true, cutoff, removed, err);
    for (int i = 0; i < 256; i++) {
        snprintf(dir, sizeof dir, "%s/objects/%02x", disk, i);
        scan_dir(e, dir, false, cutoff, removed, err);
    }
}

int st_gc(st_engine *e, int64_t grace_s, st_gc_stats *stats, cf_err *err)
{
    st_gc_stats local = {0};
    if (!stats)
        stats = &local;
    int n;
    while ((n = drain_batch(e, &stats->deleted_segments, err)) == GC_BATCH)
        ;
    if (n < 0)
        return -1;
    time_t cutoff = time(NULL) - (time_t)grace_s;
    if (grace_s == 0)
        cutoff = (time_t)INT64_MAX;
    for (int i = 0; i < e->set.n; i++)
        if (e->set.disks[i].online)
            scan_disk(e, e->set.disks[i].path, cutoff, &stats->orphan_files, err);
    return 0;
}

/* ---- heal --------------------------------------------------------------- */

typedef struct heal_item {
    uint8_t data_id[16];
    uint8_t object_id[16];
    uint8_t wrapped[CRYPT_WRAPPED_LEN];
    uint32_t part;
    uint64_t size;
    char tenant[ST_MAX_TENANT + 1], bucket[ST_MAX_BUCKET + 1], key[ST_MAX_KEY + 1];
} heal_item;

/* Where a queued segment belongs: an object version or an upload's part.
 * 1 found, 0 no longer referenced, -1 error. */
static int heal_resolve_locked(st_engine *e, heal_item *h, cf_err *err)
{
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT s.version_id, s.part, s.size, s.wrapped, t.name, b.name, o.key "
        "FROM segments s JOIN objects o ON o.version_id = s.version_id "
        "JOIN buckets b ON b.id = o.bucket_id JOIN tenants t ON t.id = b.tenant_id "
        "WHERE s.data_id = ?1 AND s.inline_data IS NULL UNION ALL "
        "SELECT p.upload_id, p.part, p.size, p.wrapped, t.name, b.name, u.key "
        "FROM parts p JOIN uploads u ON u.upload_id = p.upload_id "
        "JOIN buckets b ON b.id = u.bucket_id JOIN tenants t ON t.id = b.tenant_id "
        "WHERE p.data_id = ?1 AND p.inline_data IS NULL LIMIT 1", "b", h->data_id,
        (size_t)16);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc != 1)
        return rc;
    int klen = sqlite3_column_bytes(st, 6);
    if (idx_blob(st, 0, h->object_id, 16) < 0 ||
        idx_blob(st, 3, h->wrapped, CRYPT_WRAPPED_LEN) < 0 || klen > ST_MAX_KEY) {
        idx_done(st);
        return cf_fail(err, CF_ECORRUPT, "index: malformed segment row");
    }
    h->part = (uint32_t)idx_int(st, 1);
    h->size = (uint64_t)idx_int(st, 2);
    snprintf(h->tenant, sizeof h->tenant, "%s", idx_text(st, 4));
    snprintf(h->bucket, sizeof h->bucket, "%s", idx_text(st, 5));
    memcpy(h->key, sqlite3_column_blob(st, 6), (size_t)klen);
    h->key[klen] = '\0';
    idx_done(st);
    return 1;
}

static int heal_one(st_engine *e, heal_item *h, st_gc_stats *stats, cf_err *err)
{
    idx_lock(e->ix);
    int found = heal_resolve_locked(e, h, err);
    idx_unlock(e->ix);
    if (found < 0)
        return -1;
    int rc = 0, rewritten = 0;
    if (found == 1) {
        seg_desc d;
        rc = eng_segment_desc(e, h->tenant, h->bucket, h->key, h->object_id, h->part,
                              h->data_id, h->wrapped, &d, err);
        if (rc == 0)
            rc = seg_heal(&d, h->size, &rewritten, err);
        crypt_wipe(d.dk, sizeof d.dk);
    }
    if (rc < 0) {
        stats->heal_failures++;
        return 0;
    }
    stats->healed_segments += rewritten > 0;
    idx_lock(e->ix);
    rc = idx_run(e->ix, NULL, err, "DELETE FROM heal_queue WHERE data_id = ?", "b",
                 h->data_id, (size_t)16);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "UPDATE segments SET missing = 0 WHERE data_id = ?",
                     "b", h->data_id, (size_t)16);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "UPDATE parts SET missing = 0 WHERE data_id = ?",
                     "b", h->data_id, (size_t)16);
    return eng_unlock_durable(e, rc, err);
}

int st_heal(st_engine *e, st_gc_stats *stats, cf_err *err)
{
    st_gc_stats local = {0};
    if (!stats)
        stats = &local;
    /* one pass over what is queued now; failures stay queued for next time */
    uint8_t (*ids)[16] = NULL;
    size_t n = 0, cap = 0;
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
                                 "SELECT data_id FROM heal_queue ORDER BY queued_ms", "");
    int rc = st ? 0 : -1;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            void *grown = realloc(ids, cap * sizeof *ids);
            if (!grown) {
                idx_done(st);
                rc = cf_fail(err, CF_ENOMEM, "out of memory");
                break;
            }
            ids = grown;
        }
        if (idx_blob(st, 0, ids[n], 16) == 0)
            n++;
    }
    idx_unlock(e->ix);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        heal_item h = {0};
        memcpy(h.data_id, ids[i], 16);
        rc = heal_one(e, &h, stats, err);
    }
    free(ids);
    return rc;
}

/* ---- index snapshots ---------------------------------------------------- */

int st_snapshot(st_engine *e, int *copies, cf_err *err)
{
    *copies = 0;
    cf_err last = {0};
    for (int i = 0; i < e->set.n; i++) {
        char path[PATH_MAX];
        if (!e->set.disks[i].online)
            continue;
        snprintf(path, sizeof path, "%s/index.snapshot", e->set.disks[i].path);
        if (idx_snapshot_to(e->ix, path, &last) == 0)
            (*copies)++;
    }
    if (*copies > 0)
        return 0;
    *err = last;
    return last.code ? -1 : cf_fail(err, CF_EQUORUM, "no disk is online");
}

/* The one number a count(*) query answers. */
static int count_rows(st_engine *e, const char *sql, uint64_t *n, cf_err *err)
{
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err, sql, "");
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        *n = (uint64_t)idx_int(st, 0);
        idx_done(st);
        rc = 0;
    }
    idx_unlock(e->ix);
    return rc < 0 ? -1 : 0;
}

int st_heal_pending(st_engine *e, uint64_t *n, cf_err *err)
{
    return count_rows(e, "SELECT count(*) FROM heal_queue", n, err);
}

int st_delete_pending(st_engine *e, uint64_t *n, cf_err *err)
{
    return count_rows(e, "SELECT count(*) FROM delete_queue", n, err);
}

void st_index_stats_get(st_engine *e, st_index_stats *out)
{
    _Static_assert(ST_SYNC_NBOUNDS == IDX_SYNC_NBOUNDS, "one set of sync buckets");
    idx_stats s;
    idx_get_stats(e->ix, &s);
    out->commits = s.commits;
    out->wal_syncs = s.wal_syncs;
    out->wal_sync_seconds = s.wal_sync_seconds;
    memcpy(out->wal_sync_buckets, s.wal_sync_buckets, sizeof out->wal_sync_buckets);
    out->wal_failed = s.wal_failed;
}

const double *st_sync_bounds(void)
{
    static const double bounds[IDX_SYNC_NBOUNDS] = IDX_SYNC_BOUNDS;
    return bounds;
}
