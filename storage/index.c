/*
 * storage/index.c - the SQLite index (see index.h).
 *
 * Schema (every table WITHOUT ROWID where a natural key exists, so rows are
 * clustered by the order the engine reads them in):
 *   meta(name, value)                 set id, master key check value
 *   tenants(id, name, created)
 *   access_keys(access_key, tenant_id, secret, read_only, created)
 *   buckets(id, tenant_id, name, region, created)
 *   objects(bucket_id, key, version_id, size, etag, mtime_ms, cks_algo,
 *           cks, cks_composite, nparts, headers)       key is a BLOB:
 *                                                      listings sort by bytes
 *   segments(version_id, seq, data_id, part, size, wrapped, missing,
 *            inline_data)              the data of an object version
 *   uploads(upload_id, bucket_id, key, created_ms, cks_algo, headers)
 *   parts(upload_id, part, data_id, size, etag, md5, cks, mtime_ms,
 *         wrapped, missing, inline_data)
 *   heal_queue(data_id, queued_ms)     segments with missing/bad shards
 *   delete_queue(data_id, queued_ms)   segments no row refers to any more,
 *                                      whose files are still to be removed
 *   bucket_usage(bucket_id, objects, bytes)   (schema version 1)
 * A data id is in at most one of segments/parts at a time, or in
 * delete_queue: that is the invariant GC relies on.
 *
 * Schema versions live in PRAGMA user_version: 0 is coffer 0.1.0's (it
 * recorded none), 1 adds bucket_usage. Opening migrates an older index in
 * one transaction; an index newer than this build is refused.
 *
 * bucket_usage holds each bucket's object count and bytes, kept by
 * triggers on objects and buckets, so it changes in the same transaction
 * as the object row and is exact after any crash, whichever code path
 * wrote the row. INSERT OR REPLACE removes the replaced row through the
 * REPLACE conflict rule, which fires delete triggers only with
 * recursive_triggers on: the connection always sets it. The cost is one
 * more row update per object commit (the bucket's row, hot in the cache).
 *
 * Group commit. The connection runs with synchronous=NORMAL: a commit
 * appends its frames to <db>-wal with write() and does not fsync (SQLite
 * still fsyncs around checkpoints and WAL restarts, and stays consistent
 * after power loss). Durability is ours: we keep a second fd on the WAL
 * file and fdatasync it outside the index mutex, so writers keep
 * appending while one fdatasync runs, and the next fdatasync covers all of
 * them at once.
 *
 *   - The commit hook marks the current locked section as having written.
 *   - idx_unlock_durable, still under the index mutex, takes a ticket:
 *     ++committed for a section that wrote, the current committed for one
 *     that did not (everything it could have read). Then it releases the
 *     mutex and waits until synced >= ticket.
 *   - A waiter that finds no fdatasync in flight becomes the syncer: it
 *     reads target = committed, drops sync_lock, fdatasyncs, then sets
 *     synced = target and wakes everyone. The others wait on sync_cond and
 *     re-check; a waiter whose ticket is above what the running fdatasync
 *     covers starts the next one.
 *
 * Invariant: the WAL bytes of every commit with seq <= target were
 * written (write() inside sqlite3_step, under the index mutex) before
 * `committed` reached seq (also under the index mutex, then sync_lock),
 * and the syncer reads target under sync_lock before it calls fdatasync;
 * so that fdatasync covers them. The WAL file is never replaced while our
 * connection is open (SQLite deletes it only when the last connection
 * closes; a WAL restart rewrites it in place), so our fd stays valid.
 *
 * Lock order: lock, then sync_lock. The syncer holds neither while it
 * fdatasyncs.
 */
#include "storage/index.h"

#include "common/fsutil.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IDX_STMT_SLOTS 256

typedef struct stmt_slot {
    const char *sql;
    sqlite3_stmt *st;
} stmt_slot;

struct idx {
    sqlite3 *db;
    pthread_mutex_t lock;
    bool section_wrote;              /* under lock: set by the commit hook */
    uint64_t commits;                /* under lock: commit hook calls */
    stmt_slot slots[IDX_STMT_SLOTS];
    char wal_path[PATH_MAX];
    int wal_fd;                      /* -1 until the WAL file is open */
    pthread_mutex_t sync_lock;       /* guards everything below */
    pthread_cond_t sync_cond;
    uint64_t committed;              /* tickets handed to writing sections */
    uint64_t synced;                 /* every ticket <= this is on disk */
    bool syncing;                    /* an fdatasync is in flight */
    int sync_errno;                  /* sticky: the first failed fdatasync */
    uint64_t wal_syncs;
    double sync_seconds;             /* time spent in them */
    uint64_t sync_buckets[IDX_SYNC_NBOUNDS + 1];
};

static const double sync_bounds[IDX_SYNC_NBOUNDS] = IDX_SYNC_BOUNDS;

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS tenants(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS access_keys(access_key TEXT PRIMARY KEY,"
    " tenant_id INTEGER NOT NULL, secret BLOB NOT NULL, read_only INTEGER NOT NULL,"
    " created INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS access_keys_by_tenant ON access_keys(tenant_id);"
    "CREATE TABLE IF NOT EXISTS buckets(id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL,"
    " name TEXT NOT NULL, region TEXT NOT NULL, created INTEGER NOT NULL,"
    " UNIQUE(tenant_id, name));"
    "CREATE TABLE IF NOT EXISTS objects(bucket_id INTEGER NOT NULL, key BLOB NOT NULL,"
    " version_id BLOB NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,"
    " mtime_ms INTEGER NOT NULL, cks_algo INTEGER NOT NULL, cks TEXT,"
    " cks_composite INTEGER NOT NULL, nparts INTEGER NOT NULL, headers TEXT,"
    " PRIMARY KEY(bucket_id, key)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS segments(version_id BLOB NOT NULL, seq INTEGER NOT NULL,"
    " data_id BLOB NOT NULL, part INTEGER NOT NULL, size INTEGER NOT NULL,"
    " wrapped BLOB NOT NULL, missing INTEGER NOT NULL, inline_data BLOB,"
    " PRIMARY KEY(version_id, seq)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS segments_by_data ON segments(data_id);"
    "CREATE TABLE IF NOT EXISTS uploads(upload_id BLOB PRIMARY KEY, bucket_id INTEGER NOT NULL,"
    " key BLOB NOT NULL, created_ms INTEGER NOT NULL, cks_algo INTEGER NOT NULL,"
    " headers TEXT) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads(bucket_id, key, upload_id);"
    "CREATE TABLE IF NOT EXISTS parts(upload_id BLOB NOT NULL, part INTEGER NOT NULL,"
    " data_id BLOB NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL, md5 BLOB NOT NULL,"
    " cks TEXT, mtime_ms INTEGER NOT NULL, wrapped BLOB NOT NULL, missing INTEGER NOT NULL,"
    " inline_data BLOB, PRIMARY KEY(upload_id, part)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS parts_by_data ON parts(data_id);"
    "CREATE TABLE IF NOT EXISTS heal_queue(data_id BLOB PRIMARY KEY,"
    " queued_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS delete_queue(data_id BLOB PRIMARY KEY,"
    " queued_ms INTEGER NOT NULL) WITHOUT ROWID;";

#define IDX_SCHEMA_VERSION 1

/* Version 0 -> 1: per-bucket usage, counted from what is stored now. */
static const char *const usage_sql =
    "CREATE TABLE bucket_usage(bucket_id INTEGER PRIMARY KEY,"
    " objects INTEGER NOT NULL, bytes INTEGER NOT NULL);"
    "INSERT INTO bucket_usage SELECT b.id, count(o.key), coalesce(sum(o.size), 0)"
    " FROM buckets b LEFT JOIN objects o ON o.bucket_id = b.id GROUP BY b.id;"
    "CREATE TRIGGER bucket_usage_new AFTER INSERT ON buckets BEGIN"
    " INSERT INTO bucket_usage VALUES (NEW.id, 0, 0); END;"
    "CREATE TRIGGER bucket_usage_gone AFTER DELETE ON buckets BEGIN"
    " DELETE FROM bucket_usage WHERE bucket_id = OLD.id; END;"
    "CREATE TRIGGER bucket_usage_put AFTER INSERT ON objects BEGIN"
    " UPDATE bucket_usage SET objects = objects + 1, bytes = bytes + NEW.size"
    " WHERE bucket_id = NEW.bucket_id; END;"
    "CREATE TRIGGER bucket_usage_drop AFTER DELETE ON objects BEGIN"
    " UPDATE bucket_usage SET objects = objects - 1, bytes = bytes - OLD.size"
    " WHERE bucket_id = OLD.bucket_id; END;"
    "CREATE TRIGGER bucket_usage_change AFTER UPDATE OF bucket_id, size ON objects BEGIN"
    " UPDATE bucket_usage SET objects = objects - 1, bytes = bytes - OLD.size"
    " WHERE bucket_id = OLD.bucket_id;"
    " UPDATE bucket_usage SET objects = objects + 1, bytes = bytes + NEW.size"
    " WHERE bucket_id = NEW.bucket_id; END;";

static int db_fail(idx *x, cf_err *err, const char *what)
{
    int rc = sqlite3_extended_errcode(x->db);
    cf_code code = (rc & 0xff) == SQLITE_FULL ? CF_ENOSPC
                 : (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB
                   ? CF_ECORRUPT : CF_EIO;
    return cf_fail(err, code, "index: %s: %s", what, sqlite3_errmsg(x->db));
}

static int exec_plain(idx *x, const char *sql, cf_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(x->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        cf_fail(err, CF_EIO, "index: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Runs inside sqlite3_step of a COMMIT (or an autocommit write), under
 * the index mutex. Returning 0 lets the commit go ahead. */
static int on_commit(void *arg)
{
    idx *x = arg;
    x->section_wrote = true;
    x->commits++;
    return 0;
}

static int open_wal_fd(idx *x)
{
    if (x->wal_fd < 0)
        x->wal_fd = open(x->wal_path, O_RDWR | O_CLOEXEC);
    return x->wal_fd < 0 ? errno : 0;
}

/* Bring the schema to IDX_SCHEMA_VERSION, each step in one transaction. */
static int migrate(idx *x, cf_err *err)
{
    sqlite3_stmt *st = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(x->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version < 0)
        return db_fail(x, err, "schema version");
    if (version > IDX_SCHEMA_VERSION)
        return cf_fail(err, CF_ECONFIG, "index: schema version %d is newer than this "
                       "build understands (%d); run a newer cofferd", version,
                       IDX_SCHEMA_VERSION);
    if (version == 0 &&
        (exec_plain(x, "BEGIN IMMEDIATE", err) < 0 || exec_plain(x, usage_sql, err) < 0 ||
         exec_plain(x, "PRAGMA user_version=1; COMMIT", err) < 0)) {
        idx_rollback(x);
        return -1;
    }
    return 0;
}

/* Schema creation runs with synchronous=FULL, so it is durable (WAL and,
 * for a new WAL file, its directory entry) before we switch to NORMAL and
 * our own syncing. */
static int open_schema(idx *x, cf_err *err)
{
    if (exec_plain(x, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                      "PRAGMA foreign_keys=OFF; PRAGMA recursive_triggers=ON;", err) < 0 ||
        exec_plain(x, schema_sql, err) < 0 || migrate(x, err) < 0 ||
        exec_plain(x, "PRAGMA synchronous=NORMAL;", err) < 0)
        return -1;
    int e = open_wal_fd(x);
    if (e != 0)
        return cf_fail_errno(err, CF_EIO, e, "index: open %s", x->wal_path);
    x->section_wrote = false;
    x->commits = 0;
    return fsu_fsync_parent(x->wal_path, err);
}

int idx_open(const char *meta_dir, idx **out, cf_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/index.db", meta_dir);
    idx *x = calloc(1, sizeof *x);
    if (!x)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    x->wal_fd = -1;
    if ((size_t)snprintf(x->wal_path, sizeof x->wal_path, "%s-wal", path) >=
        sizeof x->wal_path) {
        free(x);
        return cf_fail(err, CF_EINVAL, "index: metadata path too long");
    }
    pthread_mutex_init(&x->lock, NULL);
    pthread_mutex_init(&x->sync_lock, NULL);
    pthread_cond_init(&x->sync_cond, NULL);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &x->db, flags, NULL) != SQLITE_OK) {
        cf_fail(err, CF_EIO, "index %s: %s", path,
                x->db ? sqlite3_errmsg(x->db) : "cannot open");
        idx_close(x);
        return -1;
    }
    sqlite3_busy_timeout(x->db, 5000);
    sqlite3_commit_hook(x->db, on_commit, x);
    if (open_schema(x, err) < 0) {
        idx_close(x);
        return -1;
    }
    *out = x;
    return 0;
}

void idx_close(idx *x)
{
    if (!x)
        return;
    for (int i = 0; i < IDX_STMT_SLOTS; i++)
        sqlite3_finalize(x->slots[i].st);
    if (x->wal_fd >= 0)
        close(x->wal_fd);
    sqlite3_close(x->db);   /* checkpoints (with fsyncs) and removes the WAL */
    pthread_mutex_destroy(&x->lock);
    pthread_mutex_destroy(&x->sync_lock);
    pthread_cond_destroy(&x->sync_cond);
    free(x);
}

void idx_lock(idx *x)
{
    pthread_mutex_lock(&x->lock);
}

void idx_unlock(idx *x)
{
    assert(!x->section_wrote && "a section that commits must end with idx_unlock_durable");
#ifdef NDEBUG
    if (x->section_wrote) {      /* never silently lose durability */
        cf_err err;
        if (idx_unlock_durable(x, &err) < 0)
            fprintf(stderr, "coffer: %s\n", err.msg);
        return;
    }
#endif
    pthread_mutex_unlock(&x->lock);
}

/* One fdatasync of the WAL, as the syncer: called and returns with
 * sync_lock held, drops it around the system call. */
static void sync_round(idx *x)
{
    uint64_t target = x->committed;
    x->syncing = true;
    pthread_mutex_unlock(&x->sync_lock);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int e = open_wal_fd(x);
    if (e == 0 && fdatasync(x->wal_fd) != 0)
        e = errno;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    pthread_mutex_lock(&x->sync_lock);
    x->syncing = false;
    x->wal_syncs++;
    x->sync_seconds += took;
    size_t b = 0;
    while (b < IDX_SYNC_NBOUNDS && took > sync_bounds[b])
        b++;
    x->sync_buckets[b]++;
    if (e != 0 && x->sync_errno == 0) {
        x->sync_errno = e;
        fprintf(stderr, "coffer: index: fdatasync %s: %s; refusing further writes "
                "until restart\n", x->wal_path, strerror(e));
    }
    if (e == 0 && target > x->synced)
        x->synced = target;
    pthread_cond_broadcast(&x->sync_cond);
}

int idx_unlock_durable(idx *x, cf_err *err)
{
    pthread_mutex_lock(&x->sync_lock);
    uint64_t ticket = x->section_wrote ? ++x->committed : x->committed;
    x->section_wrote = false;
    pthread_mutex_unlock(&x->lock);
    while (x->synced < ticket && x->sync_errno == 0) {
        if (x->syncing)
            pthread_cond_wait(&x->sync_cond, &x->sync_lock);
        else
            sync_round(x);
    }
    int e = x->synced < ticket ? x->sync_errno : 0;
    pthread_mutex_unlock(&x->sync_lock);
    if (e != 0)
        return cf_fail_errno(err, CF_EIO, e, "index: commit not durable: WAL fdatasync "
                             "failed");
    return 0;
}

void idx_unlock_nowait(idx *x)
{
    pthread_mutex_lock(&x->sync_lock);
    if (x->section_wrote)
        ++x->committed;
    x->section_wrote = false;
    pthread_mutex_unlock(&x->sync_lock);
    pthread_mutex_unlock(&x->lock);
}

void idx_get_stats(idx *x, idx_stats *out)
{
    pthread_mutex_lock(&x->lock);
    out->commits = x->commits;
    pthread_mutex_lock(&x->sync_lock);
    out->wal_syncs = x->wal_syncs;
    out->wal_sync_seconds = x->sync_seconds;
    memcpy(out->wal_sync_buckets, x->sync_buckets, sizeof out->wal_sync_buckets);
    out->wal_failed = x->sync_errno != 0;
    pthread_mutex_unlock(&x->sync_lock);
    pthread_mutex_unlock(&x->lock);
}

/* The cached statement for a literal, preparing it on first use. */
static sqlite3_stmt *prepared(idx *x, const char *sql, cf_err *err)
{
    size_t h = ((uintptr_t)sql >> 3) % IDX_STMT_SLOTS;
    for (size_t n = 0; n < IDX_STMT_SLOTS; n++, h = (h + 1) % IDX_STMT_SLOTS) {
        stmt_slot *s = &x->slots[h];
        if (s->sql == sql)
            return s->st;
        if (s->sql)
            continue;
        if (sqlite3_prepare_v3(x->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st,
                               NULL) != SQLITE_OK) {
            db_fail(x, err, "prepare");
            sqlite3_finalize(s->st);
            s->st = NULL;
            return NULL;
        }
        s->sql = sql;
        return s->st;
    }
    cf_fail(err, CF_EINTERNAL, "index: statement cache full");
    return NULL;
}

static int bind_all(idx *x, sqlite3_stmt *st, const char *fmt, va_list ap,
                    cf_err *err)
{
    int rc = SQLITE_OK;
    for (int i = 1; *fmt && rc == SQLITE_OK; fmt++, i++) {
        if (*fmt == 'i') {
            rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
        } else if (*fmt == 't') {
            const char *t = va_arg(ap, const char *);
            rc = t ? sqlite3_bind_text(st, i, t, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(st, i);
        } else if (*fmt == 'b') {
            const void *b = va_arg(ap, const void *);
            size_t len = va_arg(ap, size_t);
            rc = b ? sqlite3_bind_blob64(st, i, b, len, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(st, i);
        } else {
            return cf_fail(err, CF_EINTERNAL, "index: bad bind format '%c'", *fmt);
        }
    }
    return rc == SQLITE_OK ? 0 : db_fail(x, err, "bind");
}

static sqlite3_stmt *start(idx *x, cf_err *err, const char *sql, const char *fmt,
                           va_list ap)
{
    sqlite3_stmt *st = prepared(x, sql, err);
    if (!st)
        return NULL;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (bind_all(x, st, fmt, ap, err) < 0)
        return NULL;
    return st;
}

int idx_run(idx *x, int *changes, cf_err *err, const char *sql, const char *fmt,
            ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = start(x, err, sql, fmt, ap);
    va_end(ap);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        if ((sqlite3_extended_errcode(x->db) & 0xff) == SQLITE_CONSTRAINT)
            return cf_fail(err, CF_EEXISTS, "index: %s", sqlite3_errmsg(x->db));
        return db_fail(x, err, "write");
    }
    if (changes)
        *changes = sqlite3_changes(x->db);
    return 0;
}

sqlite3_stmt *idx_query(idx *x, cf_err *err, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = start(x, err, sql, fmt, ap);
    va_end(ap);
    return st;
}

int idx_next(idx *x, sqlite3_stmt *st, cf_err *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_fail(x, err, "read");
}

void idx_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
}

int idx_begin(idx *x, cf_err *err)
{
    return idx_run(x, NULL, err, "BEGIN IMMEDIATE", "");
}

int idx_commit(idx *x, cf_err *err)
{
    if (idx_run(x, NULL, err, "COMMIT", "") < 0) {
        idx_rollback(x);
        return -1;
    }
    return 0;
}

void idx_rollback(idx *x)
{
    if (!sqlite3_get_autocommit(x->db))
        sqlite3_exec(x->db, "ROLLBACK", NULL, NULL, NULL);
}

const char *idx_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

int idx_blob(sqlite3_stmt *st, int col, void *out, size_t len)
{
    const void *b = sqlite3_column_blob(st, col);
    if ((size_t)sqlite3_column_bytes(st, col) != len || (len && !b))
        return -1;
    memcpy(out, b, len);
    return 0;
}

int64_t idx_int(sqlite3_stmt *st, int col)
{
    return sqlite3_column_int64(st, col);
}

/* Copy the live database into a new file with SQLite's backup API. */
static int backup_into(idx *x, const char *tmp, cf_err *err)
{
    sqlite3 *dst = NULL;
    unlink(tmp);
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        cf_fail(err, CF_EIO, "snapshot %s: %s", tmp, dst ? sqlite3_errmsg(dst) : "open");
        sqlite3_close(dst);
        return -1;
    }
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", x->db, "main");
    int rc = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
    if (b)
        sqlite3_backup_finish(b);
    int out = rc == SQLITE_DONE ? 0
            : cf_fail(err, (rc & 0xff) == SQLITE_FULL ? CF_ENOSPC : CF_EIO,
                      "snapshot %s: %s", tmp, sqlite3_errmsg(dst));
    sqlite3_close(dst);
    return out;
}

int idx_snapshot_to(idx *x, const char *path, cf_err *err)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return cf_fail(err, CF_EINVAL, "snapshot path too long");
    idx_lock(x);
    int rc = backup_into(x, tmp, err);
    /* the copy must not hold a commit the index itself could still lose */
    if (idx_unlock_durable(x, rc == 0 ? err : &(cf_err){0}) < 0)
        rc = -1;
    int fd = rc == 0 ? open(tmp, O_RDONLY | O_CLOEXEC) : -1;
    if (rc == 0 && (fd < 0 || fsync(fd) != 0))
        rc = cf_fail_errno(err, CF_EIO, errno, "snapshot %s", tmp);
    if (fd >= 0)
        close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = cf_fail_errno(err, CF_EIO, errno, "snapshot %s", path);
    if (rc < 0) {
        unlink(tmp);
        return -1;
    }
    return fsu_fsync_parent(path, err);
}
