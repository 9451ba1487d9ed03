/*
 * storage/index.h - the metadata index: one SQLite database (WAL,
 * synchronous=NORMAL plus our own group commit) in the metadata directory,
 * the engine's single commit point.
 *
 * The engine talks SQL through three calls: idx_run (a statement with no
 * rows), idx_query + idx_next (rows), each taking the SQL text and a
 * binding format. SQL texts must be string literals: prepared statements
 * are cached by the literal's address for the life of the index.
 *
 * Binding format, one letter per parameter:
 *   i int64_t     t const char * (NULL binds NULL)
 *   b const void *, size_t (blob; NULL binds NULL)
 *
 * Concurrency: one connection guarded by one mutex. Callers hold the lock
 * (idx_lock ... unlock) around every sequence of calls that must be
 * atomic, and idx_begin/idx_commit around writes of more than one row.
 * The schema is in index.c; doc/design.md describes it.
 *
 * Durability (group commit): a commit inside a locked section reaches the
 * WAL but not the disk. A section that wrote must end with
 * idx_unlock_durable, which releases the lock and returns once a WAL
 * fdatasync that started after the commit has finished; concurrent
 * writers share one fdatasync. idx_unlock is for sections that committed
 * nothing: it asserts so. A section that only read, but whose result
 * drives an irreversible step outside the index (unlinking files named by
 * the delete queue), also ends with idx_unlock_durable: it then waits
 * until every commit it could have seen is on disk.
 *
 * A failed WAL fdatasync is sticky: after one, the kernel may have dropped
 * the dirty pages it could not write, so no later fdatasync can prove the
 * commit durable. That group's writers and every later idx_unlock_durable
 * that has something to wait for fail with CF_EIO (the failure is written
 * to stderr once); reopen the index (restart) after fixing the disk.
 */
#ifndef ST_INDEX_H
#define ST_INDEX_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct idx idx;

int idx_open(const char *meta_dir, idx **out, cf_err *err);
void idx_close(idx *x);

void idx_lock(idx *x);
/* End a section that committed nothing (asserted). */
void idx_unlock(idx *x);
/* End a section and wait until its commits, and every commit made before
 * it, are on disk (see the top comment). -1 with CF_EIO if that cannot be
 * proved; the section's commits may then be visible but not durable. */
int idx_unlock_durable(idx *x, cf_err *err);
/* End a section whose commits may be lost in a power failure without
 * harm, because they are redone (the delete queue's bookkeeping): they
 * are counted, so the next WAL fdatasync covers them, but nobody waits. */
void idx_unlock_nowait(idx *x);

/* Upper bounds (seconds) of the WAL fdatasync duration buckets. */
#define IDX_SYNC_NBOUNDS 12
#define IDX_SYNC_BOUNDS \
    {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5}

/* Counters since open: commits counted by the commit hook (one per
 * committed transaction), and WAL fdatasyncs done for group commit, their
 * total duration and how many fell in each bucket (the last: above every
 * bound); wal_failed once an fdatasync failed (sticky, see above). */
typedef struct idx_stats {
    uint64_t commits;
    uint64_t wal_syncs;
    double wal_sync_seconds;
    uint64_t wal_sync_buckets[IDX_SYNC_NBOUNDS + 1];
    bool wal_failed;
} idx_stats;
void idx_get_stats(idx *x, idx_stats *out);

int idx_begin(idx *x, cf_err *err);
int idx_commit(idx *x, cf_err *err);
void idx_rollback(idx *x);

/* Execute a statement that returns no rows. *changes (if not NULL) gets
 * the number of rows it changed. */
int idx_run(idx *x, int *changes, cf_err *err, const char *sql, const char *fmt,
            ...);
/* Start a query; then call idx_next until it returns 0 (done) or -1. */
sqlite3_stmt *idx_query(idx *x, cf_err *err, const char *sql, const char *fmt,
                        ...);
/* 1: a row is ready; 0: no more rows (statement reset); -1: error (reset). */
int idx_next(idx *x, sqlite3_stmt *st, cf_err *err);
/* Reset a query that is abandoned before idx_next returned 0. */
void idx_done(sqlite3_stmt *st);

/* Write a consistent copy of the whole database to path (via path.tmp,
 * fsync, rename, directory fsync). Takes the lock itself. */
int idx_snapshot_to(idx *x, const char *path, cf_err *err);

/* Column helpers: text never NULL ("" instead); blob copies exactly len
 * bytes or fails (returns -1) when the stored length differs. */
const char *idx_text(sqlite3_stmt *st, int col);
int idx_blob(sqlite3_stmt *st, int col, void *out, size_t len);
int64_t idx_int(sqlite3_stmt *st, int col);

#endif
