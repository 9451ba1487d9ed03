/*
 * storage/identity.h - which index rules which disks (storage/ only).
 *
 * The invariant: a start can create an index only with a fresh set (no
 * disk had format.json); every other start needs the disks' own index:
 * same set id, same lineage, not older than a snapshot of its own on the
 * disks, and not a snapshot copied into place by hand. ident_assess reads
 * META/index.db and every snapshot on the online disks without changing
 * anything and names the situation; the engine (st_open), the refusal
 * advice (st_recovery_advice) and coffer restore-index (restore.c) all
 * decide from it, so each of them refuses the same cases the same way.
 */
#ifndef ST_IDENTITY_H
#define ST_IDENTITY_H

#include <limits.h>
#include <stddef.h>

#include "common/error.h"
#include "storage/ds.h"
#include "storage/index.h"
#include "storage/snapshot.h"

typedef enum ident_verdict {
    IDENT_OK,            /* the disks' own index */
    IDENT_NEW,           /* a fresh set with no index (or an empty one): create */
    IDENT_MIGRATE,       /* coffer 0.1.0 disks and index: record a lineage */
    IDENT_NO_INDEX,      /* formatted disks, no index.db */
    IDENT_EMPTY,         /* formatted disks, an index.db naming no set */
    IDENT_FOREIGN,       /* the index of another disk set */
    IDENT_OTHER_LINEAGE, /* this set's id, another index history */
    IDENT_SNAPSHOT,      /* a snapshot copied to index.db by hand */
    IDENT_STALE,         /* older than a snapshot of its own on the disks */
    IDENT_BLANK_DISKS,   /* no disk formatted, but the index names a set */
} ident_verdict;

typedef struct ident_state {
    char index_path[PATH_MAX];       /* META/index.db */
    idx_ident index;
    bool index_damaged;              /* index.db exists but is no database */
    char damage[CF_ERRMSG_MAX];
    snap_list snaps;                 /* every snapshot on the online disks */
    const snap_entry *newest;        /* the newest one of this set, or NULL */
    ident_verdict verdict;
} ident_state;

/* Read and decide (writes nothing). Fails only when something cannot be
 * read at all. */
int ident_assess(const ds_set *set, const char *meta_dir, ident_state *s, cf_err *err);
void ident_free(ident_state *s);
/* Whether the verdict lets the engine open. */
bool ident_opens(ident_verdict v);
/* For a verdict that does not open: fail with CF_ENOINDEX (one line). */
int ident_refuse(const ds_set *set, const ident_state *s, cf_err *err);

/* The largest commit number of a snapshot of the index's own lineage on
 * the disks. */
uint64_t ident_own_max_commit(const ident_state *s, const ds_set *set);

/* "2026-12-06 20:57:00 UTC (2 h 5 min ago)" into out. */
void ident_format_time(int64_t ms, int64_t now_ms, char *out, size_t cap);

#endif
