/*
 * storage/gc.c - garbage collection (st_gc, st_gc_last): drain the delete
 * queue (deleteq.c), then scan the disks for orphans.
 *
 * Orphans: files no row knows about at all (a crash after shards were
 * written but before the index commit), and pack files (packs/) no
 * pack_shards row names and no writer holds (packidx.c). GC deletes only what this index
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
 * The scan checks each file against the index one locked section at a
 * time, so it never holds the index lock across directory I/O. Its pacer
 * is charged ST_GC_SCAN_COST for each directory and each file it reads
 * (the I/O a scan costs is in inodes, not in data), so that a job's
 * bytes_per_second bounds it; a stop does not cut a scan short (it only
 * ends the sleeping); after each directory it is told the sizes of the
 * files in it (bytes_scanned: the progress line's bytes). Unlinks go
 * through common/fio (the fault hook's unlink class): one that fails
 * leaves the file for the next scan, or its delete-queue row queued.
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

#include "common/fio.h"
#include "common/hex.h"

/* Does any row name data id id (a segment, a part, a queue entry)? On an
 * error, yes: the file is kept. */
static bool data_id_referenced(st_engine *e, const uint8_t id[16], cf_err *err)
{
    idx_lock(e->ix);
    int rc = obj_references_locked(e, id, err);
    if (rc == 0)
        rc = upload_references_locked(e, id, err);
    if (rc == 0)
        rc = deleteq_references_locked(e, id, err);
    if (rc == 0)
        rc = heal_references_locked(e, id, err);
    idx_unlock(e->ix);
    return rc != 0;
}

/* Is the pack named by a row or held by a writer? On an error, yes. */
static bool pack_referenced(st_engine *e, const uint8_t id[PACK_ID_LEN], cf_err *err)
{
    if (pack_set_busy(&e->packs, id))
        return true;
    idx_lock(e->ix);
    int rc = packidx_references_locked(e, id, err);
    idx_unlock(e->ix);
    return rc != 0;
}

#define FAN_TMP (-1)                 /* tmp/ */
#define FAN_PACKS (-2)               /* packs/ */

/* A file the scan may delete. */
typedef struct orphan {
    uint8_t id[16];                  /* a data id, or a pack id (FAN_PACKS) */
    int16_t disk;
    int16_t fan;                     /* objects/XX, FAN_TMP or FAN_PACKS */
} orphan;

typedef struct gc_scan {
    st_engine *e;
    const st_gc_opts *opts;
    int64_t cutoff_ms;               /* files modified after this are too young */
    st_gc_stats *stats;
    orphan *cand;                    /* collected (not when deleting at once) */
    size_t n, cap;
    uint64_t found;                  /* candidates, collected or not */
    uint64_t dirs_done, dirs;        /* progress */
    cf_err *err;
} gc_scan;

static void orphan_path(const gc_scan *g, const orphan *o, char path[PATH_MAX])
{
    char hex[33];
    const char *disk = g->e->set.disks[o->disk].path;
    hex_encode(o->id, 16, hex, sizeof hex);
    if (o->fan == FAN_PACKS)
        pack_path(path, PATH_MAX, disk, o->id);
    else if (o->fan == FAN_TMP)
        snprintf(path, PATH_MAX, "%s/tmp/%s", disk, hex);
    else
        snprintf(path, PATH_MAX, "%s/objects/%02x/%s", disk, o->fan, hex);
}

static void delete_orphan(gc_scan *g, const orphan *o)
{
    char path[PATH_MAX];
    if (o->fan == FAN_PACKS) {       /* checked again there */
        g->stats->orphan_files += packidx_unlink_if_dead(g->e, o->disk, o->id);
        return;
    }
    orphan_path(g, o, path);
    /* an orphan whose unlink fails stays: the next scan finds it again */
    if ((o->fan < 0 || !data_id_referenced(g->e, o->id, g->err)) && fio_unlink(path) == 0)
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
    g->stats->bytes_scanned += (uint64_t)st.st_size;
    if (fan == FAN_PACKS ? !pack_name_to_id(name, o.id) : !shard_name_to_id(name, o.id)) {
        g->stats->foreign_files++;   /* nothing this index writes */
        return;
    }
    int64_t mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    bool older = mtime_ms < g->e->created_ms;
    if ((!older && mtime_ms > g->cutoff_ms) ||
        (fan >= 0 && data_id_referenced(g->e, o.id, g->err)) ||
        (fan == FAN_PACKS && pack_referenced(g->e, o.id, g->err)))
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
    uint64_t read = 1, bytes0 = g->stats->bytes_scanned;
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            char path[PATH_MAX];
            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            scan_file(g, disk, fan, path, de->d_name);
            read++;
        }
        closedir(d);
    }
    const st_pacer *p = g->opts->pacer;
    if (p && p->bytes && g->stats->bytes_scanned > bytes0)
        p->bytes(p->ctx, g->stats->bytes_scanned - bytes0);
    if (p && p->pace)
        (void)p->pace(p->ctx, read * ST_GC_SCAN_COST);
}

static void scan_disk(gc_scan *g, int disk)
{
    char dir[PATH_MAX];
    const char *path = g->e->set.disks[disk].path;
    snprintf(dir, sizeof dir, "%s/tmp", path);
    scan_dir(g, disk, FAN_TMP, dir);
    snprintf(dir, sizeof dir, "%s/packs", path);
    scan_dir(g, disk, FAN_PACKS, dir);
    for (int i = 0; i < 256; i++) {
        snprintf(dir, sizeof dir, "%s/objects/%02x", path, i);
        scan_dir(g, disk, i, dir);
        const st_pacer *p = g->opts->pacer;
        if (p && p->progress && (++g->dirs_done % 16 == 0 || g->dirs_done == g->dirs))
            p->progress(p->ctx, g->dirs_done, g->dirs);
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
        g.dirs += e->set.disks[i].online ? 256 : 0;
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
           (n = deleteq_drain_batch(e, &stats->deleted_segments, err)) == DELETEQ_BATCH)
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
