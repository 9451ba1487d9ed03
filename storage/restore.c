/*
 * storage/restore.c - coffer restore-index (contract: st_restore_index in
 * engine.h; cofferd(8), "Recovering the index", for the operator's side).
 *
 * Offline, on a stopped cofferd's configuration:
 *   1. read the disks and meta_dir as a start would (identity.c) and
 *      refuse when meta_dir holds the disks' own current index or
 *      another set's;
 *   2. try the snapshots newest first and take the first that is usable:
 *      readable, SQLite's quick_check passes, this set, this lineage, this
 *      master key (loaded, never generated), and newer than an old index
 *      it would replace;
 *   3. move an index.db it replaces aside (with its -wal and -shm), copy
 *      the snapshot to META/index.db.restore.tmp as a live index that
 *      counts as created now (so GC keeps every file written before the
 *      restore) with a commit number above every snapshot and journal
 *      record on the disks,
 *      fsync, rename, fsync the directory;
 *   4. open the engine on it exactly as cofferd would, and report what it
 *      holds, how old it is, how many of its sharded segments lack shard
 *      files, and how many shard files it does not name (written after
 *      the snapshot: kept; coffer rebuild-index indexes them too).
 */
#include "storage/engine_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/fio.h"
#include "common/fsutil.h"
#include "storage/identity.h"

typedef struct restore_ctx {
    const st_config *cfg;
    st_say_cb say;
    st_progress_cb progress;
    void *say_ctx;
    st_restore_report *rep;
    ds_set set;
    ident_state state;
    snap_list from;                  /* --from's snapshots (else state.snaps) */
    uint8_t check[32];               /* master key check value */
} restore_ctx;

#define say(r, ...) eng_say((r)->say, (r)->say_ctx, __VA_ARGS__)

/* Step 1: what meta_dir holds now, and may it be replaced? */
static int check_target(restore_ctx *r, cf_err *err)
{
    const ident_state *s = &r->state;
    switch (s->verdict) {
    case IDENT_OK:
    case IDENT_MIGRATE:
        return cf_fail(err, CF_EEXISTS, "%s is this set's current index: there is nothing "
                       "to restore (move it aside first to replace it with a snapshot)",
                       s->index_path);
    case IDENT_FOREIGN:
    case IDENT_OTHER_LINEAGE:
        return cf_fail(err, CF_ECONFIG, "%s is the index of another disk set or lineage; "
                       "check meta_dir (move that file aside to restore here anyway)",
                       s->index_path);
    case IDENT_NEW:
    case IDENT_BLANK_DISKS:
        return cf_fail(err, CF_ECONFIG, "none of the configured disks holds a coffer set: "
                       "there is nothing to restore an index for");
    default:
        return 0;   /* missing, empty, damaged, a hand copy, older: replace it */
    }
}

static int by_newest(const void *a, const void *b)
{
    const snap_entry *x = *(const snap_entry *const *)a, *y = *(const snap_entry *const *)b;
    if (x->taken_ms != y->taken_ms)
        return x->taken_ms < y->taken_ms ? 1 : -1;
    return x->id.commit < y->id.commit ? 1 : x->id.commit > y->id.commit ? -1 : 0;
}

/* Why snapshot e cannot be restored, or NULL if it can. */
static const char *unusable(restore_ctx *r, const snap_entry *e, char *buf, size_t cap)
{
    const idx_ident *ix = &r->state.index;
    cf_err err;
    if (!e->readable)
        snprintf(buf, cap, "unreadable: %s", e->why);
    else if (memcmp(e->id.set_id, r->set.set_id, DS_SET_ID_LEN) != 0)
        snprintf(buf, cap, "of another disk set");
    else if (!snap_matches(e, &r->set))
        snprintf(buf, cap, "of another lineage");
    else if (!e->id.has_master_check ||
             CRYPTO_memcmp(e->id.master_check, r->check, sizeof r->check) != 0)
        snprintf(buf, cap, "written under another master key");
    else if (r->state.verdict == IDENT_STALE && e->id.has_lineage &&
             e->id.commit <= ix->commit)
        snprintf(buf, cap, "not newer than the index it would replace");
    else if (idx_check_file(e->path, &err) < 0)
        snprintf(buf, cap, "%s", err.msg);
    else
        return NULL;
    return buf;
}

/* Step 2: the newest usable snapshot. */
static const snap_entry *choose(restore_ctx *r, cf_err *err)
{
    const snap_list *l = r->from.v ? &r->from : &r->state.snaps;
    const snap_entry **order = calloc(l->n ? l->n : 1, sizeof *order);
    if (!order) {
        cf_fail(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < l->n; i++)
        order[i] = &l->v[i];
    qsort(order, l->n, sizeof *order, by_newest);
    const snap_entry *pick = NULL;
    for (size_t i = 0; i < l->n && !pick; i++) {
        char why[2 * CF_ERRMSG_MAX];
        if (unusable(r, order[i], why, sizeof why)) {
            say(r, "  skipped %s: %s", order[i]->path, why);
            r->rep->rejected++;
        } else {
            pick = order[i];
        }
    }
    free(order);
    if (!pick)
        cf_fail(err, CF_ENOTFOUND, "no usable index snapshot of this set was found%s "
                "(coffer rebuild-index rebuilds the index from the disks)",
                l->n ? " (see above)" : " on the disks");
    return pick;
}

/* Rename path (if it exists) to path.replaced-STAMP. */
static int move_aside(const char *path, const char *stamp, char *moved, size_t cap,
                      cf_err *err)
{
    char dst[PATH_MAX];
    if (access(path, F_OK) != 0)
        return 0;
    snprintf(dst, sizeof dst, "%s.replaced-%s", path, stamp);
    if (fio_rename(path, dst) != 0)
        return cf_fail_errno(err, CF_EIO, errno, "cannot move %s aside", path);
    if (moved)
        snprintf(moved, cap, "%s", dst);
    return 0;
}

static int raise_top(void *ctx, const jrn_record *rec)
{
    uint64_t *top = ctx;
    if (rec->commit > *top)
        *top = rec->commit;
    return 0;
}

/* Raise *top to the newest journal record on the disks: the records the
 * lost index wrote after the snapshot carry numbers above it, and the
 * restored index's must sort after them (index.h, "Invariant"). */
static int journal_top(const ds_set *set, uint64_t *top, cf_err *err)
{
    int files, torn, newer;
    return jrn_replay(set, *top, raise_top, top, &files, &torn, &newer, err);
}

/* Step 3: put the snapshot in place. */
static int install(restore_ctx *r, const snap_entry *pick, cf_err *err)
{
    const char *index = r->state.index_path;
    char tmp[PATH_MAX + 16], stamp[32], wal[PATH_MAX + 8], shm[PATH_MAX + 8];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(tmp, sizeof tmp, "%s.restore.tmp", index);
    snprintf(wal, sizeof wal, "%s-wal", index);
    snprintf(shm, sizeof shm, "%s-shm", index);
    idx_ident id = {.has_lineage = r->set.has_lineage || pick->id.has_lineage,
                    .created_ms = eng_file_clock_ms()};
    memcpy(id.lineage, r->set.has_lineage ? r->set.lineage : pick->id.lineage,
           DS_LINEAGE_LEN);
    uint64_t top = snap_max_commit(&r->state.snaps, &r->set);
    uint64_t from_top = snap_max_commit(&r->from, &r->set);
    if (from_top > top)
        top = from_top;
    if (r->state.index.has_commit && r->state.index.commit > top)
        top = r->state.index.commit;
    if (r->state.index.ceiling > top)          /* the numbers it gave (index.h) */
        top = r->state.index.ceiling;
    if (journal_top(&r->set, &top, err) < 0)
        return -1;
    id.commit = top + 1;
    if (fsu_mkdir_p(r->cfg->meta_dir, err) < 0 ||
        idx_restore_copy(pick->path, tmp, &id, err) < 0)
        return -1;
    int rc = move_aside(index, stamp, r->rep->moved_aside, sizeof r->rep->moved_aside,
                        err);
    if (rc == 0)
        rc = move_aside(wal, stamp, NULL, 0, err);
    if (rc == 0)
        rc = move_aside(shm, stamp, NULL, 0, err);
    if (rc == 0 && fio_rename(tmp, index) != 0)
        rc = cf_fail_errno(err, CF_EIO, errno, "cannot rename %s to %s", tmp, index);
    if (rc == 0)
        rc = fsu_fsync_dir(r->cfg->meta_dir, err);
    if (rc < 0) {
        unlink(tmp);
        return -1;
    }
    if (r->rep->moved_aside[0])
        say(r, "moved the old %s aside to %s", index, r->rep->moved_aside);
    r->rep->commit = pick->id.commit;
    return 0;
}

#define CHECK_BATCH 256

/* The next batch of sharded data ids after `after` in segments (parts
 * when of_parts); returns how many. */
static int sharded_batch(st_engine *e, bool of_parts, const uint8_t after[16],
                         uint8_t ids[][16], cf_err *err)
{
    idx_lock(e->ix);
    int n = of_parts ? upload_sharded_after_locked(e, after, ids, CHECK_BATCH, err)
                     : obj_sharded_after_locked(e, after, ids, CHECK_BATCH, err);
    idx_unlock(e->ix);
    return n;
}

static void show(restore_ctx *r, uint64_t done, uint64_t total, uint64_t bytes,
                 const char *phase)
{
    if (r->progress)
        r->progress(r->say_ctx, done, total, bytes, phase);
}

static void gc_progress(void *ctx, uint64_t done, uint64_t total)
{
    restore_ctx *r = ctx;
    show(r, done, total, r->rep->bytes_scanned,
         "counting shard and pack files it does not name (bytes: the files seen)");
}

static void gc_bytes(void *ctx, uint64_t bytes)
{
    ((restore_ctx *)ctx)->rep->bytes_scanned += bytes;
}

/* Count the sharded segments (of objects and of uploads) and those with
 * fewer than k of their shards (files or pack records) on the online disks. */
static int check_segments(restore_ctx *r, st_engine *e, uint64_t *segments,
                          uint64_t *short_of_files, cf_err *err)
{
    *segments = *short_of_files = 0;
    for (int table = 0; table < 2; table++) {
        uint8_t after[16] = {0}, ids[CHECK_BATCH][16];
        int n;
        while ((n = sharded_batch(e, table == 1, after, ids, err)) > 0) {
            for (int i = 0; i < n; i++) {
                int present = 0;
                uint16_t on = 0;     /* shard files, or pack records (packidx.c) */
                if (packidx_shards_present(e, ids[i], &on, err) < 0)
                    return -1;
                for (int d = 0; d < e->set.n; d++)
                    present += e->set.disks[d].online && (on & (1u << d));
                (*segments)++;
                *short_of_files += present < e->set.k;
            }
            memcpy(after, ids[n - 1], 16);
            show(r, *segments, 0, 0, "checking sharded segments");
        }
        if (n < 0)
            return -1;
    }
    return 0;
}

/* Step 4: open it as cofferd would and look at what it holds. */
static int verify(restore_ctx *r, cf_err *err)
{
    st_config cfg = *r->cfg;
    cfg.create_master_key = false;
    st_engine *e;
    if (st_open(&cfg, &e, err) < 0)
        return -1;
    idx_contents c;
    st_restore_report *rep = r->rep;
    int rc = idx_count(e->ix, &c, err);
    if (rc == 0) {
        rep->objects = c.objects;
        rep->bytes = c.bytes;
        rep->buckets = c.buckets;
        rep->tenants = c.tenants;
        rep->keys = c.keys;
        rep->uploads = c.uploads;
        say(r, "checking its sharded segments against the disks...");
        rc = check_segments(r, e, &rep->segments, &rep->segments_short, err);
    }
    st_gc_stats gs = {0};
    st_pacer pacer = {.progress = gc_progress, .bytes = gc_bytes, .ctx = r};
    st_gc_opts scan = {.grace_s = 0, .dry_run = true, .pacer = &pacer};
    if (rc == 0) {
        say(r, "counting shard and pack files it does not name...");
        rc = st_gc(e, &scan, &gs, err);
    }
    rep->files_not_in_index = gs.orphans_older_than_index + gs.orphans_held;
    st_close(e);
    return rc;
}

static void report(restore_ctx *r)
{
    const st_restore_report *p = r->rep;
    char when[96];
    ident_format_time(p->taken_ms, eng_now_ms(), when, sizeof when);
    say(r, "restored  %s", p->snapshot);
    say(r, "into      %s", p->index);
    say(r, "taken     %s, commit %llu", when, (unsigned long long)p->commit);
    say(r, "holds     %lld objects (%lld bytes), %lld buckets, %lld tenants, %lld access "
        "keys, %lld uploads in progress", (long long)p->objects, (long long)p->bytes,
        (long long)p->buckets, (long long)p->tenants, (long long)p->keys,
        (long long)p->uploads);
    say(r, "checked   set, lineage and master key match; %llu of %llu sharded segments "
        "have their shard files", (unsigned long long)(p->segments - p->segments_short),
        (unsigned long long)p->segments);
    if (p->segments_short)
        say(r, "WARNING   %llu segments lack shard files (deleted after the snapshot was "
            "taken, or disks are missing):\n          reading their objects fails; delete "
            "those objects", (unsigned long long)p->segments_short);
    say(r, "newer     %llu shard or pack files on the disks are not in it (written after the "
        "snapshot). They are kept:\n          GC never deletes files older than this "
        "index. coffer rebuild-index\n          (cofferd stopped) builds an index from "
        "the disks that holds their objects\n          too, beside this one.",
        (unsigned long long)p->files_not_in_index);
    say(r, "start cofferd again to serve it.");
}

static int from_list(restore_ctx *r, const char *from, cf_err *err)
{
    struct stat st;
    if (stat(from, &st) != 0)
        return cf_fail_errno(err, CF_ECONFIG, errno, "--from %s", from);
    int rc = S_ISDIR(st.st_mode) ? snap_list_dir(from, &r->from, err)
                                 : snap_list_file(from, &r->from, err);
    if (rc == 0 && r->from.n == 0)
        rc = cf_fail(err, CF_ENOTFOUND, "--from %s: no index snapshot there", from);
    return rc;
}

int st_restore_index(const st_config *cfg, const char *from, st_say_cb say_cb,
                     st_progress_cb progress, void *ctx, st_restore_report *rep,
                     cf_err *err)
{
    restore_ctx r = {.cfg = cfg, .say = say_cb, .progress = progress, .say_ctx = ctx,
                     .rep = rep};
    uint8_t key[CRYPT_KEY_LEN];
    memset(rep, 0, sizeof *rep);
    if (!cfg->meta_dir)
        return cf_fail(err, CF_ECONFIG, "no metadata directory configured");
    if (ds_open(&r.set, cfg->disks, cfg->ndisks, cfg->k, cfg->m, cfg->block_size, err) < 0)
        return -1;
    int rc = ident_assess(&r.set, cfg->meta_dir, &r.state, err);
    bool assessed = rc == 0;
    if (rc == 0)
        rc = check_target(&r, err);
    if (rc == 0 && from)
        rc = from_list(&r, from, err);
    if (rc == 0)
        rc = eng_load_master(cfg, &r.set, false, key, err);
    if (rc == 0) {
        crypt_master_check(key, r.check);
        crypt_wipe(key, sizeof key);
        say(&r, "looking for index snapshots%s%s...", from ? " in " : " on the disks",
            from ? from : "");
    }
    const snap_entry *pick = rc == 0 ? choose(&r, err) : NULL;
    if (rc == 0 && !pick)
        rc = -1;
    if (rc == 0) {
        snprintf(rep->snapshot, sizeof rep->snapshot, "%s", pick->path);
        snprintf(rep->index, sizeof rep->index, "%s", r.state.index_path);
        rep->taken_ms = pick->taken_ms;
        rc = install(&r, pick, err);
    }
    if (assessed)
        ident_free(&r.state);
    snap_list_free(&r.from);
    ds_close(&r.set);
    if (rc == 0)
        rc = verify(&r, err);
    if (rc == 0)
        report(&r);
    return rc;
}
