/*
 * storage/snapshot.h - index snapshots on the disks (storage/ only).
 *
 * Every disk keeps generations of index snapshots:
 *
 *   DISK/snapshots/index-<lineage, 32 hex>-<commit number, 12 digits>.db
 *   DISK/snapshots/<name>.tmp       (being written; a leftover is removed)
 *   DISK/index.snapshot             (coffer 0.1.0's single copy, read only)
 *
 * A generation is never overwritten: each snapshot is a new file, and
 * pruning removes only generations of the index's own lineage that no
 * rule keeps. Kept per disk: the newest `keep`; the newest of each of the
 * last `days` days (UTC); and the newest generation holding more than
 * twice the objects of the newest one, so that an index that lost most
 * of its rows never prunes the way back. Files of another lineage, files
 * that cannot be read and 0.1.0's index.snapshot are never removed.
 *
 * Not thread-safe: one snapshot at a time (the engine serialises them).
 */
#ifndef ST_SNAPSHOT_H
#define ST_SNAPSHOT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "storage/ds.h"
#include "storage/index.h"

#define SNAP_DEFAULT_KEEP 3
#define SNAP_DEFAULT_DAYS 7

typedef struct snap_entry {
    char path[PATH_MAX];
    bool legacy;                     /* DISK/index.snapshot of coffer 0.1.0 */
    bool readable;                   /* id is valid; else why says what failed */
    char why[CF_ERRMSG_MAX];
    idx_ident id;                    /* what the file says about itself */
    int64_t taken_ms;                /* id.snapshot_ms, or the file's mtime */
} snap_entry;

typedef struct snap_list {
    snap_entry *v;
    size_t n;
} snap_list;

/* Append the snapshots of one disk directory (generations and the 0.1.0
 * file) to l, reading each without changing anything. */
int snap_list_dir(const char *disk, snap_list *l, cf_err *err);
/* Append one file given by path. */
int snap_list_file(const char *path, snap_list *l, cf_err *err);
/* Every online disk of the set. */
int snap_list_set(const ds_set *set, snap_list *l, cf_err *err);
void snap_list_free(snap_list *l);

/* Is e a readable snapshot of this set (and, where both record one, of
 * this lineage)? */
bool snap_matches(const snap_entry *e, const ds_set *set);
/* The newest matching entry (by time taken, then commit), or NULL. */
const snap_entry *snap_newest(const snap_list *l, const ds_set *set);
/* The largest commit number of a matching entry (0 if none). */
uint64_t snap_max_commit(const snap_list *l, const ds_set *set);

/* Skipping a snapshot after a restart: a round writes nothing when no
 * commit was made since the last snapshot. After a clean close with
 * nothing new (st_close marks it), the first round after the next open
 * writes nothing either; after a crash it always writes. */
struct st_engine;
struct ident_state;
int snap_resume(struct st_engine *e, const struct ident_state *s, cf_err *err);
void snap_mark_clean(struct st_engine *e);

/* Path of generation `commit` of `lineage` on disk. */
void snap_path(char out[PATH_MAX], const char *disk, const uint8_t lineage[16],
               uint64_t commit);
/* Remove generations of lineage on disk that no rule keeps, and leftover
 * temp files; returns how many generations were removed. */
int snap_prune(const char *disk, const uint8_t lineage[16], int keep, int days,
               int64_t now_ms);

#endif
