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
 * Concurrency: one connection guarded by one mutex, the index lock.
 * Callers hold it (idx_lock ... unlock) around every sequence of calls
 * that must be atomic, and idx_begin/idx_commit around writes of more than
 * one row. Each declaration below says what it needs:
 *   [lock held]   the caller holds the index lock (idx_assert_held checks
 *                 it in debug and sanitizer builds: the engine's *_locked
 *                 functions call it first thing);
 *   [takes lock]  takes and releases it itself: never call it holding it;
 *   [no lock]     touches no shared state of an open index.
 * The schema is in index.c; doc/design.md describes it. Which file may
 * run SQL on which table: storage/engine_int.h (one file per table).
 *
 * Schema versions: the index records its version (PRAGMA user_version).
 * idx_open creates a new index at the newest version, migrates an older
 * one (after copying it to META/index.db.pre-vN, N the newest version) in
 * one transaction that either reaches the newest version or leaves the
 * old one untouched, and refuses a newer one (CF_ECONFIG, naming both
 * versions). Release 0.1.0 recorded no version: its index is version 1.
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
 *
 * Identity: the meta table records which disk set the index belongs to
 * (set id, lineage), a check value of the master key, when this index
 * began to rule the disks (created with the set, or restored: GC deletes
 * no file older than that) and the commit number of its last snapshot.
 * A snapshot copy also records when it was taken and what it holds. Only
 * this file reads or writes meta (idx_ident_*, idx_probe, snapshots).
 *
 * Commit numbers: commit_base + commits since open. The number is
 * persisted by each snapshot (idx_snapshot_to), so every snapshot of one
 * index history carries a larger number than the one before it.
 *
 * Invariant: commit numbers never go backwards, across any restart, kill
 * or crash: every number this index gives (and so every journal record's,
 * journal.h) is below the ceiling in meta (META_CEILING), and a run starts
 * at or above the ceiling of the run before it. idx_open sets commit_base
 * to the larger of the snapshot number and the ceiling, then reserves
 * IDX_COMMIT_RESERVE numbers above it durably (synchronous=FULL) before
 * anything can commit; a writing section that ends within half a reserve
 * of the ceiling moves it up another reserve (its own commit, made durable
 * with the section's). So the reserve's second half is the margin a bump
 * has to become durable in: every writing section but idx_unlock_nowait's
 * waits for a WAL fdatasync, and it would take IDX_COMMIT_RESERVE / 2
 * commits with none to outrun it. Cost per commit: one comparison (and one
 * meta write per IDX_COMMIT_RESERVE / 2 commits). Asserted where a number
 * is given (idx_commit_number_locked).
 */
#define IDX_COMMIT_RESERVE 65536u
#ifndef ST_INDEX_H
#define ST_INDEX_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct idx idx;

/* Open META/index.db, creating it (and its schema) if missing [no lock:
 * nothing else can reach the index before it returns]. */
int idx_open(const char *meta_dir, idx **out, cf_err *err);
/* The schema version this build creates and migrates to [no lock]. */
int idx_schema_version(void);
/* Test seam, NULL outside tests: called inside the migration transaction
 * after the step that reaches `version` (also when a new index is being
 * created); nonzero fails the migration there, as a failing step would. */
extern int (*idx_migrate_fault)(int version);
/* [no lock: nothing may use x any more] */
void idx_close(idx *x);

/* What an index file says about itself. Fields without their has_ flag
 * set are absent (an index made by coffer 0.1.0 has no lineage, created
 * time or commit number). */
typedef struct idx_ident {
    bool present;                    /* the file exists */
    bool has_set;                    /* it names a disk set; else it is empty */
    uint8_t set_id[16];
    bool has_lineage;
    uint8_t lineage[16];
    bool has_master_check;
    uint8_t master_check[32];
    int64_t created_ms;              /* 0: not recorded */
    bool has_commit;
    uint64_t commit;                 /* commit number (of the snapshot, for one) */
    uint64_t ceiling;                /* > 0: every number the index gave is below
                                        it (see "Invariant" above) */
    uint64_t clean_close;            /* > 0: closed cleanly at this commit number,
                                        with nothing committed since its last
                                        snapshot (idx_mark_clean) */
    int64_t snapshot_ms;             /* > 0: a snapshot copy taken then */
    int64_t objects;                 /* a snapshot's object count; -1 unknown */
    int64_t bytes;                   /* a snapshot's object bytes; -1 unknown */
} idx_ident;

/* Read the identity of the index file at path: a missing file is
 * !present, a database without identity !has_set, a file that is not a
 * SQLite database CF_ECORRUPT. The file is opened immutable (no locks,
 * no WAL or journal file is made or touched: nothing next to it changes),
 * which reads the database file alone. with_wal and a WAL file present
 * (after a crash, or while cofferd runs): opened normally instead, so
 * that the WAL's commits count, and closed without a checkpoint; that
 * touches the -shm file's time. Snapshots never have a WAL. [no lock: a
 * file, not an open index] */
int idx_probe(const char *path, bool with_wal, idx_ident *out, cf_err *err);
/* Whether path-wal exists [no lock]. */
bool idx_wal_exists(const char *path);

/* Record the fields of id whose has_ flag is set (set id, lineage, master
 * check, commit number; created_ms when > 0), durably [takes lock]. The
 * commit number takes effect at the next open; it is written only for an
 * index that must start above a lost history's (coffer rebuild-index):
 * snapshots persist it otherwise. */
int idx_ident_write(idx *x, const idx_ident *id, cf_err *err);

/* The current commit number [takes lock]. */
uint64_t idx_commit_number(idx *x);
/* Record that the index is closed with nothing committed since the
 * snapshot of number `commit`; 0 clears the record (done at open, so that
 * a crash later is never taken for a clean close). Durable [takes lock]. */
int idx_mark_clean(idx *x, uint64_t commit, cf_err *err);

/* What an index or snapshot holds (for reports): read-only counts of
 * every table, the one query of index.c on the engine's tables [idx_count:
 * takes lock; idx_count_file: no lock, a file]. */
typedef struct idx_contents {
    int64_t objects, bytes, buckets, tenants, keys, uploads;
} idx_contents;
int idx_count(idx *x, idx_contents *out, cf_err *err);
int idx_count_file(const char *path, idx_contents *out, cf_err *err);

/* SQLite's own consistency check of a file (read-only): CF_ECORRUPT with
 * its first complaint if it fails [no lock]. */
int idx_check_file(const char *path, cf_err *err);

/* Take the index lock (not recursive). */
void idx_lock(idx *x);
/* [lock held] Does the calling thread hold x's lock? Asserts it does, in
 * debug and sanitizer builds (a thread-local record, set by idx_lock and
 * cleared by every unlock); nothing under NDEBUG. */
#ifdef NDEBUG
#define idx_assert_held(x) ((void)(x))
#else
void idx_assert_held(const idx *x);
#endif
/* [lock held, released] End a section that committed nothing (asserted). */
void idx_unlock(idx *x);
/* [lock held, released] End a section and wait until its commits, and
 * every commit made before it, are on disk (see the top comment). -1 with CF_EIO if that cannot be
 * proved; the section's commits may then be visible but not durable. */
int idx_unlock_durable(idx *x, cf_err *err);
/* [no lock] A function the group commit calls after each WAL fdatasync,
 * outside every lock, before it wakes the waiters: the journals
 * (journal.h) are made durable with the WAL, so a waiter's commit is in
 * both. Set it before other threads use the index. */
void idx_set_sync_hook(idx *x, void (*hook)(void *ctx), void *ctx);
/* [lock held] The commit number of the last commit. */
uint64_t idx_commit_number_locked(idx *x);

/* [lock held, released] End a section whose commits may be lost in a
 * power failure without
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
/* [takes lock] */
void idx_get_stats(idx *x, idx_stats *out);

/* [lock held] A transaction, inside one locked section. */
int idx_begin(idx *x, cf_err *err);
int idx_commit(idx *x, cf_err *err);
void idx_rollback(idx *x);

/* [lock held; idx_open's migration steps run before anyone else can lock]
 * Execute a statement that returns no rows. *changes (if not NULL) gets
 * the number of rows it changed. */
int idx_run(idx *x, int *changes, cf_err *err, const char *sql, const char *fmt,
            ...);
/* [lock held, until the query is done] Start a query; then call idx_next
 * until it returns 0 (done) or -1, or idx_done it. */
sqlite3_stmt *idx_query(idx *x, cf_err *err, const char *sql, const char *fmt,
                        ...);
/* [lock held] Does the query return a row? 1 yes, 0 no, -1 error (the
 * statement is reset either way). */
int idx_exists(idx *x, cf_err *err, const char *sql, const char *fmt, ...);
/* [lock held] The one integer a query answers (its first row's first
 * column, as a count(*) does): 0, or -1 (err filled) when it fails or
 * returns no row. */
int idx_scalar(idx *x, int64_t *out, cf_err *err, const char *sql, const char *fmt, ...);
/* [lock held] Call row for each row of st (a query just started, NULL if
 * starting it failed: -1): row returns 0 to go on, 1 to stop, -1 to fail
 * (err filled). 0 when every row was taken or row stopped, else -1; the
 * statement is reset either way. */
typedef int (*idx_row_cb)(void *ctx, sqlite3_stmt *st, cf_err *err);
int idx_each(idx *x, sqlite3_stmt *st, idx_row_cb row, void *ctx, cf_err *err);
/* 1: a row is ready; 0: no more rows (statement reset); -1: error (reset). */
int idx_next(idx *x, sqlite3_stmt *st, cf_err *err);
/* Reset a query that is abandoned before idx_next returned 0. */
void idx_done(sqlite3_stmt *st);

/* [lock held] The lock clock's high-water mark (doc/design.md "The lock
 * clock"): the largest time a transaction has acted on for object lock, 0
 * before the first. Raising it keeps the larger of the two values, in the
 * caller's transaction (or as its own commit outside one), so the mark
 * never moves back. */
int idx_clock_hw_locked(idx *x, int64_t *out, cf_err *err);
int idx_clock_hw_raise_locked(idx *x, int64_t ms, cf_err *err);

/* Take a snapshot into tmp: persist the commit number (and count this
 * commit), copy the whole database with SQLite's backup API, wait until
 * everything it holds is durable, then mark the copy as a snapshot
 * (taken_ms, commit, object count and bytes; rollback-journal mode, so
 * that reading it needs no WAL files) and fsync it [takes lock]. The
 * caller renames tmp into place. out: the copy's identity. */
int idx_snapshot_to(idx *x, const char *tmp, int64_t taken_ms, idx_ident *out,
                    cf_err *err);

/* Copy the snapshot src into dst (a new file, fsynced) as a live index:
 * the snapshot marks are dropped, and lineage (when the snapshot has
 * none), created_ms and the commit number are set from id [no lock:
 * files, with no index open on dst]. */
int idx_restore_copy(const char *src, const char *dst, const idx_ident *id,
                     cf_err *err);

/* Whole tables as JSON, for the catalog every disk keeps (catalog.h):
 * {TABLE: {"columns":[names], "rows":[[values]]}, ...}, integers as
 * numbers, text as strings, blobs as {"hex":"..."}, NULL as null. Table
 * names must be the engine's own (never client input). dump [takes the
 * lock] reads every table under one hold of the lock (so the copy is
 * consistent) and gives the commit number it saw; load [lock held]
 * inserts one table's rows, the columns the table has (others are
 * ignored, missing ones get their defaults), in the caller's
 * transaction. */
struct json_t;
int idx_tables_dump(idx *x, const char *const *tables, size_t n, struct json_t **out,
                    uint64_t *commit, cf_err *err);
int idx_table_load(idx *x, const char *table, struct json_t *dump, cf_err *err);

/* Column helpers [lock held, as for the query's rows]: text never NULL
 * ("" instead); blob copies exactly len bytes or fails (returns -1) when
 * the stored length differs. */
const char *idx_text(sqlite3_stmt *st, int col);
int idx_blob(sqlite3_stmt *st, int col, void *out, size_t len);
int64_t idx_int(sqlite3_stmt *st, int col);

#endif
