/*
 * storage/heal.c - repairing shards: the heal_queue table and st_heal.
 *
 * A segment is queued (heal_queue_locked, in the transaction that commits
 * it) when a PUT could not write all of its shards, and (heal_queue) when
 * a GET needed parity to read it, naming the shards it found changed
 * behind an intact CRC (bad): a CRC check cannot find those, so heal takes
 * them as bad (and from them nothing), and checks the shards it wrote
 * against the others. st_heal takes one pass over what is
 * queued: it finds where each segment belongs (object.c, upload.c),
 * rewrites its missing or bad shard files from the good ones (segment.c:
 * seg_heal) and takes it off the queue; a failure stays queued for the
 * next round. The cold tier's import (sealed.c) takes a segment off the
 * queue too, since it rewrites every shard.
 */
#include "storage/engine_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/shard.h"

int heal_queue_locked(st_engine *e, const uint8_t data_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_run(e->ix, NULL, err, "INSERT OR IGNORE INTO heal_queue VALUES (?, ?, 0)",
                   "bi", data_id, (size_t)16, eng_now_ms());
}

void heal_queue(st_engine *e, const uint8_t data_id[16], uint16_t bad)
{
    cf_err err;
    idx_lock(e->ix);
    idx_run(e->ix, NULL, &err, "INSERT INTO heal_queue VALUES (?, ?, ?) ON CONFLICT(data_id) "
            "DO UPDATE SET bad = bad | excluded.bad", "bii", data_id, (size_t)16,
            eng_now_ms(), (int64_t)bad);
    eng_unlock_durable(e, 0, &err);
}

/* The shards named bad for a queued segment (0: none, or not queued). */
static int named_bad_locked(st_engine *e, const uint8_t data_id[16], uint16_t *bad,
                            cf_err *err)
{
    idx_assert_held(e->ix);
    int64_t v = 0;
    int rc = idx_scalar(e->ix, &v, err, "SELECT ifnull(max(bad), 0) FROM heal_queue "
                        "WHERE data_id = ?", "b", data_id, (size_t)16);
    *bad = (uint16_t)v;
    return rc;
}

int heal_done_locked(st_engine *e, const uint8_t data_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_run(e->ix, NULL, err, "DELETE FROM heal_queue WHERE data_id = ?", "b",
                   data_id, (size_t)16);
}

int heal_drop_version_locked(st_engine *e, const uint8_t version_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_run(e->ix, NULL, err,
                   "DELETE FROM heal_queue WHERE data_id IN (SELECT data_id FROM segments "
                   "WHERE version_id = ?)", "b", version_id, (size_t)16);
}

int heal_references_locked(st_engine *e, const uint8_t data_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_exists(e->ix, err, "SELECT 1 FROM heal_queue WHERE data_id = ? LIMIT 1", "b",
                      data_id, (size_t)16);
}

/* Heal one queued segment: where it belongs (an object version or an
 * upload's part; neither: nothing to do), rewrite its bad shards, then
 * take it off the queue. A failure leaves it queued for the next round. */
static int heal_one(st_engine *e, const uint8_t data_id[16], st_gc_stats *stats,
                    cf_err *err)
{
    eng_seg_loc loc, *h = &loc;
    uint16_t bad = 0;
    idx_lock(e->ix);
    int found = named_bad_locked(e, data_id, &bad, err) < 0 ? -1
              : obj_locate_segment_locked(e, data_id, h, err);
    tiering_remote remote = {0};
    if (found == 1 && tiering_remote_locked(e, h->object_id, &remote, err) < 0)
        found = -1;
    if (found == 1 && remote.active)
        found = 0;                   /* its local files are freed: the tier holds it */
    if (found == 0)
        found = upload_locate_part_locked(e, data_id, h, err);
    idx_unlock(e->ix);
    if (found < 0)
        return -1;
    int rc = 0, rewritten = 0;
    if (found == 1) {
        /* heal rebuilds shards from shards: no data key (an SSE-C
         * segment's could not be unwrapped without its customer) */
        seg_desc d;
        /* a reader as a GET is: compaction keeps the packs it locates */
        int slot = get_reader_enter(e, err);
        rc = slot < 0 ? -1 : eng_segment_layout(e, h->tenant, h->bucket, h->key,
                                                h->object_id, h->part, data_id, h->wrapped,
                                                &d, err);
        if (rc == 0)
            rc = seg_heal(&d, h->size, bad, &rewritten, err);
        if (slot >= 0)
            get_reader_leave(e, slot);
    }
    if (rc < 0) {
        stats->heal_failures++;
        return 0;
    }
    stats->healed_segments += rewritten > 0;
    idx_lock(e->ix);
    rc = heal_done_locked(e, data_id, err);
    if (rc == 0)
        rc = obj_segment_healed_locked(e, data_id, err);
    if (rc == 0)
        rc = upload_part_healed_locked(e, data_id, err);
    return eng_unlock_durable(e, rc, err);
}

/* The data ids on the heal queue, oldest first, at most max (0: all). */
static int queued_ids(st_engine *e, size_t max, uint8_t (**out)[16], size_t *count,
                      cf_err *err)
{
    uint8_t (*ids)[16] = NULL;
    size_t n = 0, cap = 0;
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
                                 "SELECT data_id FROM heal_queue ORDER BY queued_ms", "");
    int rc = st ? 0 : -1;
    bool abandoned = false;          /* left before idx_next said done */
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        if (max > 0 && n == max) {
            abandoned = true;
            rc = 0;
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            void *grown = realloc(ids, cap * sizeof *ids);
            if (!grown) {
                abandoned = true;
                rc = cf_fail(err, CF_ENOMEM, "out of memory");
                break;
            }
            ids = grown;
        }
        if (idx_blob(st, 0, ids[n], 16) == 0)
            n++;
    }
    if (abandoned)
        idx_done(st);
    idx_unlock(e->ix);
    if (rc < 0) {
        free(ids);
        return -1;
    }
    *out = ids;
    *count = n;
    return 0;
}

int st_heal(st_engine *e, st_gc_stats *stats, cf_err *err)
{
    st_gc_stats local = {0};
    if (!stats)
        stats = &local;
    /* one pass over what is queued now; failures stay queued for next time */
    uint8_t (*ids)[16] = NULL;
    size_t n = 0;
    int rc = queued_ids(e, 0, &ids, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = heal_one(e, ids[i], stats, err);
    free(ids);
    return rc;
}

int st_heal_pending_disks(st_engine *e, uint64_t per_disk[], bool *exact, cf_err *err)
{
    uint8_t (*ids)[16] = NULL;
    size_t n = 0;
    if (queued_ids(e, ST_HEAL_DISK_SCAN + 1, &ids, &n, err) < 0)
        return -1;
    *exact = n <= ST_HEAL_DISK_SCAN;
    for (int d = 0; d < e->set.n; d++)
        per_disk[d] = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n && i < ST_HEAL_DISK_SCAN; i++) {
        uint16_t present = 0;
        rc = packidx_shards_present(e, ids[i], &present, err);
        for (int d = 0; rc == 0 && d < e->set.n; d++)
            per_disk[d] += !(present & (1u << d));
    }
    free(ids);
    return rc;
}

int st_heal_pending(st_engine *e, uint64_t *n, cf_err *err)
{
    int64_t v = 0;
    idx_lock(e->ix);
    int rc = idx_scalar(e->ix, &v, err, "SELECT count(*) FROM heal_queue", "");
    idx_unlock(e->ix);
    *n = (uint64_t)v;
    return rc;
}
