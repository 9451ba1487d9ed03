/*
 * storage/gc.c - giving space back and repairing shards.
 *
 * Deletion is two-phase. Phase one, inside the transaction that drops a
 * segment's last reference, moves its data id to delete_queue. Phase two,
 * after the commit, unlinks its shard files and removes the queue row;
 * it skips entries queued after the oldest live reader opened (that reader
 * may still be reading them). A crash between the phases leaves queue rows
 * that the next drain finishes.
 *
 * Orphans: files no row knows about at all (a crash after shards were
 * written but before the index commit). GC deletes only what this index
 * could have left, so a wrong index can never make it destroy a set:
 *   - a file is a candidate only if its name is a data id, no segment,
 *     part, delete-queue or heal-queue row names it, it is older than the
 *     grace period, and it was written after this index was created (or
 *     restored: e->created_ms); an older one is counted, never deleted;
 *   - a scan that finds more candidates than the bound (st_config) deletes
 *     none of them and says so in its stats (and st_gc_last) until it is
 *     run with force_orphans.
 * Candidates are collected during the scan (at most the bound plus one)
 * and deleted after it, each checked once more against the index.
 *
 * Heal reads each segment on the heal queue and rewrites its missing or
 * bad shard files from the good ones (segment.c: seg_heal).
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

#include "common/checksum.h"

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
        "SELECT 1 FROM delete_queue WHERE data_id = ?1 UNION ALL "
        "SELECT 1 FROM heal_queue WHERE data_id = ?1 LIMIT 1", "b", id, (size_t)16);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1)
        idx_done(st);
    idx_unlock(e->ix);
    return rc != 0;  /* on error, keep the file */
}

/* A file the scan may delete. */
typedef struct orphan {
    uint8_t id[16];
    int16_t disk;
    int16_t fan;                     /* objects/XX, or -1 for tmp/ */
} orphan;

typedef struct gc_scan {
    st_engine *e;
    const st_gc_opts *opts;
    int64_t cutoff_ms;               /* files modified after this are too young */
    st_gc_stats *stats;
    orphan *cand;                    /* collected (not when deleting at once) */
    size_t n, cap;
    uint64_t found;                  /* candidates, collected or not */
    cf_err *err;
} gc_scan;

static void orphan_path(const gc_scan *g, const orphan *o, char path[PATH_MAX])
{
    char hex[33];
    const char *disk = g->e->set.disks[o->disk].path;
    cks_to_hex(o->id, 16, hex, sizeof hex);
    if (o->fan < 0)
        snprintf(path, PATH_MAX, "%s/tmp/%s", disk, hex);
    else
        snprintf(path, PATH_MAX, "%s/objects/%02x/%s", disk, o->fan, hex);
}

static void delete_orphan(gc_scan *g, const orphan *o)
{
    char path[PATH_MAX];
    orphan_path(g, o, path);
    if ((o->fan < 0 || !data_id_referenced(g->e, o->id, g->err)) && unlink(path) == 0)
        g->stats->orphan_files++;
}

/* One file: count it, and keep it or make it a candidate. */
static void scan_file(gc_scan *g, int disk, int fan, const char *path, const char *name)
{
    struct stat st;
    orphan o = {.disk = (int16_t)disk, .fan = (int16_t)fan};
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    g->stats->files_scanned++;
    if (!shard_name_to_id(name, o.id)) {
        g->stats->foreign_files++;   /* nothing this index writes */
        return;
    }
    int64_t mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    bool older = mtime_ms < g->e->created_ms;
    if ((!older && mtime_ms > g->cutoff_ms) ||
        (fan >= 0 && data_id_referenced(g->e, o.id, g->err)))
        return;                      /* maybe a PUT in flight, or live */
    if (older) {
        g->stats->orphans_older_than_index++;
        return;
    }
    g->found++;
    if (g->opts->dry_run)
        return;
    if (g->opts->force_orphans) {
        delete_orphan(g, &o);
        return;
    }
    if (g->n == g->cap && g->cap <= g->stats->orphan_bound) {
        size_t cap = g->cap ? 2 * g->cap : 64;
        orphan *grown = realloc(g->cand, cap * sizeof *grown);
        if (!grown)
            return;                  /* not collected: kept */
        g->cand = grown;
        g->cap = cap;
    }
    if (g->n < g->cap)
        g->cand[g->n++] = o;
}

static void scan_dir(gc_scan *g, int disk, int fan, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char path[PATH_MAX];
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        scan_file(g, disk, fan, path, de->d_name);
    }
    closedir(d);
}

static void scan_disk(gc_scan *g, int disk)
{
    char dir[PATH_MAX];
    const char *path = g->e->set.disks[disk].path;
    snprintf(dir, sizeof dir, "%s/tmp", path);
    scan_dir(g, disk, -1, dir);
    for (int i = 0; i < 256; i++) {
        snprintf(dir, sizeof dir, "%s/objects/%02x", path, i);
        scan_dir(g, disk, i, dir);
    }
}

/* How many orphans a scan may delete without force: at most max_orphans
 * and at most max_orphan_percent of the files, but never fewer than
 * ST_GC_MIN_ORPHAN_BOUND (the leftovers of a crash of a small set). */
static uint64_t orphan_bound(const st_engine *e, uint64_t files)
{
    uint64_t by_share = files * (uint64_t)e->gc_max_orphan_percent / 100;
    if (by_share < ST_GC_MIN_ORPHAN_BOUND)
        by_share = ST_GC_MIN_ORPHAN_BOUND;
    return by_share < (uint64_t)e->gc_max_orphans ? by_share : (uint64_t)e->gc_max_orphans;
}

static void orphan_scan(st_engine *e, const st_gc_opts *opts, st_gc_stats *stats,
                        cf_err *err)
{
    gc_scan g = {.e = e, .opts = opts, .stats = stats, .err = err,
                 .cutoff_ms = opts->grace_s == 0 ? INT64_MAX
                                                 : eng_now_ms() - opts->grace_s * 1000};
    /* collect at most max_orphans + 1: more is held whatever the share */
    stats->orphan_bound = (uint64_t)e->gc_max_orphans;
    for (int i = 0; i < e->set.n; i++)
        if (e->set.disks[i].online)
            scan_disk(&g, i);
    stats->orphan_bound = orphan_bound(e, stats->files_scanned);
    if (opts->dry_run || opts->force_orphans) {
        stats->orphans_held = opts->dry_run ? g.found : 0;
    } else if (g.found > stats->orphan_bound || g.found > g.n) {
        stats->held = true;          /* too many to be a crash's leftovers */
        stats->orphans_held = g.found;
    } else {
        for (size_t i = 0; i < g.n; i++)
            delete_orphan(&g, &g.cand[i]);
    }
    free(g.cand);
}

int st_gc(st_engine *e, const st_gc_opts *opts, st_gc_stats *stats, cf_err *err)
{
    st_gc_stats local = {0};
    if (!stats)
        stats = &local;
    pthread_mutex_lock(&e->gc_lock);
    int n = 0;
    while (!opts->dry_run &&
           (n = drain_batch(e, &stats->deleted_segments, err)) == GC_BATCH)
        ;
    if (n >= 0) {
        orphan_scan(e, opts, stats, err);
        if (!opts->dry_run) {
            pthread_mutex_lock(&e->gc_last_lock);
            e->gc_last = *stats;
            e->gc_last_ms = eng_now_ms();
            pthread_mutex_unlock(&e->gc_last_lock);
        }
    }
    pthread_mutex_unlock(&e->gc_lock);
    return n < 0 ? -1 : 0;
}

int64_t st_gc_last(st_engine *e, st_gc_stats *out)
{
    pthread_mutex_lock(&e->gc_last_lock);
    *out = e->gc_last;
    int64_t when = e->gc_last_ms;
    pthread_mutex_unlock(&e->gc_last_lock);
    return when;
}

/* ---- shard presence (after a restore) ----------------------------------- */

/* The next batch of sharded data ids after `after` in segments (parts
 * when of_parts); returns how many. */
static int sharded_batch(st_engine *e, bool of_parts, const uint8_t after[16],
                         uint8_t ids[][16], cf_err *err)
{
    int n = 0, rc = 0;
    idx_lock(e->ix);
    sqlite3_stmt *st = of_parts
        ? idx_query(e->ix, err, "SELECT data_id FROM parts WHERE inline_data IS NULL "
                    "AND data_id > ? ORDER BY data_id LIMIT ?", "bi", after, (size_t)16,
                    (int64_t)GC_BATCH)
        : idx_query(e->ix, err, "SELECT data_id FROM segments WHERE inline_data IS NULL "
                    "AND data_id > ? ORDER BY data_id LIMIT ?", "bi", after, (size_t)16,
                    (int64_t)GC_BATCH);
    while (st && (rc = idx_next(e->ix, st, err)) == 1)
        if (idx_blob(st, 0, ids[n], 16) == 0)
            n++;
    idx_unlock(e->ix);
    return !st || rc < 0 ? -1 : n;
}

int eng_check_segments(st_engine *e, uint64_t *segments, uint64_t *short_of_files,
                       cf_err *err)
{
    *segments = *short_of_files = 0;
    for (int table = 0; table < 2; table++) {
        uint8_t after[16] = {0}, ids[GC_BATCH][16];
        int n;
        while ((n = sharded_batch(e, table == 1, after, ids, err)) > 0) {
            for (int i = 0; i < n; i++) {
                int present = 0;
                for (int d = 0; d < e->set.n; d++) {
                    char path[PATH_MAX];
                    shard_path(path, sizeof path, e->set.disks[d].path, ids[i]);
                    present += e->set.disks[d].online && access(path, F_OK) == 0;
                }
                (*segments)++;
                *short_of_files += present < e->set.k;
            }
            memcpy(after, ids[n - 1], 16);
        }
        if (n < 0)
            return -1;
    }
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
    out->commit_number = idx_commit_number(e->ix);
    out->created_ms = e->created_ms;
    cks_to_hex(e->set.lineage, DS_LINEAGE_LEN, out->lineage, sizeof out->lineage);
    cks_to_hex(e->set.set_id, DS_SET_ID_LEN, out->set_id, sizeof out->set_id);
}

const double *st_sync_bounds(void)
{
    static const double bounds[IDX_SYNC_NBOUNDS] = IDX_SYNC_BOUNDS;
    return bounds;
}
