/*
 * storage/deleteq.c - giving space back: the delete_queue table.
 *
 * Deletion is two-phase. Phase one, inside the transaction that drops a
 * segment's last reference, moves its data id to delete_queue
 * (deleteq_*_locked, called by object.c, upload.c). Phase two, after the
 * commit, unlinks its shard files and removes the queue row and its pack
 * rows, then unlinks each pack no row names any more (packidx.c)
 * (deleteq_drain); it skips entries queued after the oldest live reader
 * opened (get.c: that reader may still be reading them). A crash between
 * the phases leaves queue rows that the next drain finishes;
 * st_delete_pending counts them.
 *
 * The engine keeps a hint that the queue may be non-empty
 * (e->deletes_pending), set by whatever queues and cleared only by a drain
 * that finds it empty under the index lock, so the PUTs that replace
 * nothing skip the drain without touching the index.
 */
#include "storage/engine_int.h"

#include <stdint.h>

int deleteq_data_locked(st_engine *e, const uint8_t data_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    atomic_store_explicit(&e->deletes_pending, true, memory_order_relaxed);
    return idx_run(e->ix, NULL, err, "INSERT OR IGNORE INTO delete_queue VALUES (?, ?)",
                   "bi", data_id, (size_t)16, eng_now_ms());
}

int deleteq_version_locked(st_engine *e, const uint8_t version_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    atomic_store_explicit(&e->deletes_pending, true, memory_order_relaxed);
    return idx_run(e->ix, NULL, err,
                   "INSERT OR IGNORE INTO delete_queue SELECT data_id, ? FROM segments "
                   "WHERE version_id = ?", "ib", eng_now_ms(), version_id, (size_t)16);
}

int deleteq_version_files_locked(st_engine *e, const uint8_t version_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    atomic_store_explicit(&e->deletes_pending, true, memory_order_relaxed);
    int rc = idx_run(e->ix, NULL, err,
                     "INSERT OR IGNORE INTO delete_queue SELECT data_id, ? FROM segments "
                     "WHERE version_id = ? AND inline_data IS NULL", "ib", eng_now_ms(),
                     version_id, (size_t)16);
    return rc == 0 ? heal_drop_version_locked(e, version_id, err) : -1;
}

int deleteq_queued_locked(st_engine *e, const uint8_t data_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_exists(e->ix, err, "SELECT 1 FROM delete_queue WHERE data_id = ?", "b",
                      data_id, (size_t)16);
}

int deleteq_unqueue_version(st_engine *e, const uint8_t version_id[16], cf_err *err)
{
    pthread_mutex_lock(&e->drain_lock);
    idx_lock(e->ix);
    int rc = idx_run(e->ix, NULL, err,
                     "DELETE FROM delete_queue WHERE data_id IN (SELECT data_id FROM "
                     "segments WHERE version_id = ?)", "b", version_id, (size_t)16);
    rc = eng_unlock_durable(e, rc, err);
    pthread_mutex_unlock(&e->drain_lock);
    return rc;
}

int deleteq_upload_locked(st_engine *e, const uint8_t upload_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
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
    idx_assert_held(e->ix);
    cf_err err;
    if (idx_exists(e->ix, &err, "SELECT 1 FROM delete_queue LIMIT 1", "") == 0)
        atomic_store_explicit(&e->deletes_pending, false, memory_order_relaxed);
}

static int drain_batch_held(st_engine *e, uint64_t *done, cf_err *err);

/* One batch of phase two; returns how many entries it took. Under
 * the drain lock from reading the ids to deleting their rows, so that a
 * restore (deleteq_unqueue_version) never has its files unlinked. */
int deleteq_drain_batch(st_engine *e, uint64_t *done, cf_err *err)
{
    /* most PUTs replace nothing: no lock, no reader scan, no query */
    if (!atomic_load_explicit(&e->deletes_pending, memory_order_relaxed))
        return 0;
    pthread_mutex_lock(&e->drain_lock);
    int n = drain_batch_held(e, done, err);
    pthread_mutex_unlock(&e->drain_lock);
    return n;
}

static int drain_batch_held(st_engine *e, uint64_t *done, cf_err *err)
{
    uint8_t ids[DELETEQ_BATCH][16];
    int n = 0, rc = 0;
    int64_t before = get_oldest_reader_ms(e);
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT data_id FROM delete_queue WHERE queued_ms < ? LIMIT ?", "ii", before,
        (int64_t)DELETEQ_BATCH);
    while (st && n < DELETEQ_BATCH && (rc = idx_next(e->ix, st, err)) == 1)
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
    /* A segment a file of which could not be unlinked (EIO, EROFS) keeps
     * its rows: the next drain tries again (ENOENT for what is gone). */
    bool gone[DELETEQ_BATCH];
    int removed = 0;
    for (int i = 0; i < n; i++) {
        gone[i] = seg_unlink(&e->set, ids[i]) == 0;
        removed += gone[i];
    }
    packidx_list packs = {0};
    idx_lock(e->ix);
    for (int i = 0; rc >= 0 && i < n; i++) {
        if (!gone[i])
            continue;
        rc = packidx_drop_locked(e, ids[i], &packs, err);
        if (rc >= 0)
            rc = idx_run(e->ix, NULL, err, "DELETE FROM delete_queue WHERE data_id = ?",
                         "b", ids[i], (size_t)16);
    }
    /* if lost, the next drain unlinks again (a pack row lost with it names
     * a segment still queued, so nothing reads it, and commits are ordered:
     * the queue row cannot be gone while its pack rows come back) */
    idx_unlock_nowait(e->ix);
    packidx_reclaim(e, &packs);
    if (done)
        *done += (uint64_t)removed;
    if (rc < 0)
        return -1;
    /* a batch none of whose files would go ends this drain: the same rows
     * would come back at once */
    return removed == 0 ? 0 : n;
}

void deleteq_drain(st_engine *e)
{
    cf_err err;
    while (deleteq_drain_batch(e, NULL, &err) == DELETEQ_BATCH)
        ;
}

int deleteq_references_locked(st_engine *e, const uint8_t data_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_exists(e->ix, err, "SELECT 1 FROM delete_queue WHERE data_id = ? LIMIT 1", "b",
                      data_id, (size_t)16);
}

int st_delete_pending(st_engine *e, uint64_t *n, cf_err *err)
{
    int64_t v = 0;
    idx_lock(e->ix);
    int rc = idx_scalar(e->ix, &v, err, "SELECT count(*) FROM delete_queue", "");
    idx_unlock(e->ix);
    *n = (uint64_t)v;
    return rc;
}
