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
 * A data id is in at most one of segments/parts at a time, or in
 * delete_queue: that is the invariant GC relies on.
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
#include <sys/stat.h>
#include <unistd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    uint64_t commit_base;            /* under lock: commit number at open */
    stmt_slot slots[IDX_STMT_SLOTS];
    char path[PATH_MAX];             /* index.db, for messages */
    char wal_path[PATH_MAX];
    int wal_fd;                      /* -1 until the WAL file is open */
    pthread_mutex_t sync_lock;       /* guards everything below */
    pthread_cond_t sync_cond;
    uint64_t committed;              /* tickets handed to writing sections */
    uint64_t synced;                 /* every ticket <= this is on disk */
    bool syncing;                    /* an fdatasync is in flight */
    int sync_errno;                  /* sticky: the first failed fdatasync */
    uint64_t wal_syncs;
};

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

/* ---- the meta table (every statement on it is here) ------------------- */

#define META_SET_ID "set_id"             /* blob 16 */
#define META_LINEAGE "lineage"           /* blob 16 */
#define META_MASTER_CHECK "master_check" /* blob 32 */
#define META_CREATED "created_ms"        /* int */
#define META_COMMIT "commit_base"        /* int */
#define META_CLEAN "clean_close"         /* int, between a clean close and the next open */
#define META_SNAPSHOT "snapshot_ms"      /* int, snapshot copies only */
#define META_OBJECTS "snapshot_objects"  /* int, snapshot copies only */
#define META_BYTES "snapshot_bytes"      /* int, snapshot copies only */

static int raw_fail(sqlite3 *db, const char *path, cf_err *err)
{
    int rc = sqlite3_extended_errcode(db) & 0xff;
    cf_code code = rc == SQLITE_FULL ? CF_ENOSPC
                 : rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? CF_ECORRUPT : CF_EIO;
    return cf_fail(err, code, "%s: %s", path, sqlite3_errmsg(db));
}

/* name = an integer (blob NULL) or a blob, on any connection. */
static int meta_put(sqlite3 *db, const char *path, const char *name, int64_t v,
                    const void *blob, size_t len, cf_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta VALUES (?, ?)", -1,
                                &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = blob ? sqlite3_bind_blob64(st, 2, blob, len, SQLITE_STATIC)
                  : sqlite3_bind_int64(st, 2, v);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE ? 0 : raw_fail(db, path, err);
    sqlite3_finalize(st);
    return out;
}

static int meta_blob(sqlite3_stmt *st, const char *path, const char *name, void *out,
                     size_t len, bool *has, cf_err *err)
{
    if ((size_t)sqlite3_column_bytes(st, 1) != len)
        return cf_fail(err, CF_ECORRUPT, "%s: the index's %s record is malformed",
                       path, name);
    memcpy(out, sqlite3_column_blob(st, 1), len);
    *has = true;
    return 0;
}

/* Every meta row of db into id (which the caller zeroed). */
static int meta_read(sqlite3 *db, const char *path, idx_ident *id, cf_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT name, value FROM meta", -1, &st, NULL) !=
        SQLITE_OK)
        return raw_fail(db, path, err);
    int rc, out = 0;
    while (out == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int64_t v = sqlite3_column_int64(st, 1);
        if (!name)
            continue;
        if (strcmp(name, META_SET_ID) == 0)
            out = meta_blob(st, path, name, id->set_id, 16, &id->has_set, err);
        else if (strcmp(name, META_LINEAGE) == 0)
            out = meta_blob(st, path, name, id->lineage, 16, &id->has_lineage, err);
        else if (strcmp(name, META_MASTER_CHECK) == 0)
            out = meta_blob(st, path, name, id->master_check, 32,
                            &id->has_master_check, err);
        else if (strcmp(name, META_CREATED) == 0)
            id->created_ms = v;
        else if (strcmp(name, META_CLEAN) == 0)
            id->clean_close = (uint64_t)v;
        else if (strcmp(name, META_COMMIT) == 0) {
            id->has_commit = true;
            id->commit = (uint64_t)v;
        } else if (strcmp(name, META_SNAPSHOT) == 0)
            id->snapshot_ms = v;
        else if (strcmp(name, META_OBJECTS) == 0)
            id->objects = v;
        else if (strcmp(name, META_BYTES) == 0)
            id->bytes = v;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = raw_fail(db, path, err);
    sqlite3_finalize(st);
    return out;
}

static void ident_init(idx_ident *id)
{
    memset(id, 0, sizeof *id);
    id->objects = id->bytes = -1;
}

/* ---- opening files that are not the live index ------------------------ */

/* A file: URI for path with every byte outside [A-Za-z0-9/._~-] escaped. */
static int file_uri(const char *path, char *out, size_t cap, cf_err *err)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    const char *prefix = "file:";
    for (const char *p = prefix; *p && o < cap; p++)
        out[o++] = *p;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("/._~-", *p);
        if (o + 4 >= cap)
            return cf_fail(err, CF_EINVAL, "%s: path too long", path);
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    const char *suffix = "?immutable=1";
    if (o + strlen(suffix) >= cap)
        return cf_fail(err, CF_EINVAL, "%s: path too long", path);
    strcpy(out + o, suffix);
    return 0;
}

/* Open an existing database file. immutable: read-only, no locks and no
 * WAL or journal files (a snapshot nothing writes); else read-write
 * without creating it and without the checkpoint SQLite does on close,
 * so that probing a live index changes nothing in it. */
static int open_existing(const char *path, bool immutable, sqlite3 **db, cf_err *err)
{
    char uri[PATH_MAX * 3 + 32];
    int rc;
    *db = NULL;
    if (immutable) {
        if (file_uri(path, uri, sizeof uri, err) < 0)
            return -1;
        rc = sqlite3_open_v2(uri, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
    } else {
        rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE, NULL);
    }
    if (rc != SQLITE_OK) {
        int out = *db ? raw_fail(*db, path, err)
                      : cf_fail(err, CF_ENOMEM, "%s: cannot open", path);
        sqlite3_close(*db);
        *db = NULL;
        return out;
    }
    sqlite3_busy_timeout(*db, 5000);
    if (!immutable)
        sqlite3_db_config(*db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    return 0;
}

/* 1 if db has a meta table, 0 if not (an empty database), -1 if the file
 * is no database at all. */
static int has_meta(sqlite3 *db, const char *path, cf_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                "AND name = 'meta'", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int out = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (out < 0) {
        if ((sqlite3_extended_errcode(db) & 0xff) == SQLITE_NOTADB)
            cf_fail(err, CF_ECORRUPT, "%s is not a SQLite database", path);
        else
            raw_fail(db, path, err);
    }
    sqlite3_finalize(st);
    return out;
}

bool idx_wal_exists(const char *path)
{
    char wal[PATH_MAX];
    return (size_t)snprintf(wal, sizeof wal, "%s-wal", path) < sizeof wal &&
           access(wal, F_OK) == 0;
}

int idx_probe(const char *path, bool with_wal, idx_ident *out, cf_err *err)
{
    ident_init(out);
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? 0 : cf_fail_errno(err, CF_EIO, errno, "%s", path);
    out->present = true;
    sqlite3 *db;
    if (open_existing(path, !(with_wal && idx_wal_exists(path)), &db, err) < 0)
        return -1;
    int rc = has_meta(db, path, err);
    if (rc == 1)
        rc = meta_read(db, path, out, err);
    sqlite3_close(db);
    return rc < 0 ? -1 : 0;
}

/* What a database holds; the only aggregate over the data tables. */
static int count_contents(sqlite3 *db, const char *path, idx_contents *c, cf_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
        "SELECT (SELECT count(*) FROM objects), (SELECT coalesce(sum(size), 0) FROM objects),"
        " (SELECT count(*) FROM buckets), (SELECT count(*) FROM tenants),"
        " (SELECT count(*) FROM access_keys), (SELECT count(*) FROM uploads)", -1, &st,
        NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int out = rc == SQLITE_ROW ? 0 : raw_fail(db, path, err);
    if (out == 0)
        *c = (idx_contents){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                            sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
                            sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5)};
    sqlite3_finalize(st);
    return out;
}

int idx_count_file(const char *path, idx_contents *out, cf_err *err)
{
    sqlite3 *db;
    if (open_existing(path, true, &db, err) < 0)
        return -1;
    int rc = count_contents(db, path, out, err);
    sqlite3_close(db);
    return rc;
}

int idx_check_file(const char *path, cf_err *err)
{
    sqlite3 *db;
    if (open_existing(path, true, &db, err) < 0)
        return -1;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int out;
    if (rc != SQLITE_ROW)
        out = raw_fail(db, path, err);
    else if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
        out = cf_fail(err, CF_ECORRUPT, "%s: damaged: %s", path,
                      (const char *)sqlite3_column_text(st, 0));
    else
        out = 0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
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

/* Schema creation runs with synchronous=FULL, so it is durable (WAL and,
 * for a new WAL file, its directory entry) before we switch to NORMAL and
 * our own syncing. */
static int open_schema(idx *x, cf_err *err)
{
    if (exec_plain(x, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                      "PRAGMA foreign_keys=OFF;", err) < 0 ||
        exec_plain(x, schema_sql, err) < 0 ||
        exec_plain(x, "PRAGMA synchronous=NORMAL;", err) < 0)
        return -1;
    int e = open_wal_fd(x);
    if (e != 0)
        return cf_fail_errno(err, CF_EIO, e, "index: open %s", x->wal_path);
    idx_ident id;
    ident_init(&id);
    if (meta_read(x->db, x->path, &id, err) < 0)
        return -1;
    x->commit_base = id.commit;
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
    snprintf(x->path, sizeof x->path, "%s", path);
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
    int e = open_wal_fd(x);
    if (e == 0 && fdatasync(x->wal_fd) != 0)
        e = errno;
    pthread_mutex_lock(&x->sync_lock);
    x->syncing = false;
    x->wal_syncs++;
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

/* ---- identity of the live index ----------------------------------------- */

int idx_ident_write(idx *x, const idx_ident *id, cf_err *err)
{
    idx_lock(x);
    int rc = idx_begin(x, err);
    if (rc == 0 && id->has_set)
        rc = meta_put(x->db, x->path, META_SET_ID, 0, id->set_id, 16, err);
    if (rc == 0 && id->has_lineage)
        rc = meta_put(x->db, x->path, META_LINEAGE, 0, id->lineage, 16, err);
    if (rc == 0 && id->has_master_check)
        rc = meta_put(x->db, x->path, META_MASTER_CHECK, 0, id->master_check, 32, err);
    if (rc == 0 && id->created_ms > 0)
        rc = meta_put(x->db, x->path, META_CREATED, id->created_ms, NULL, 0, err);
    rc = rc == 0 ? idx_commit(x, err) : (idx_rollback(x), -1);
    cf_err later;
    if (idx_unlock_durable(x, rc == 0 ? err : &later) < 0)
        return -1;
    return rc;
}

uint64_t idx_commit_number(idx *x)
{
    idx_lock(x);
    uint64_t n = x->commit_base + x->commits;
    idx_unlock(x);
    return n;
}

int idx_mark_clean(idx *x, uint64_t commit, cf_err *err)
{
    idx_lock(x);
    int rc;
    if (commit > 0) {
        rc = meta_put(x->db, x->path, META_CLEAN, (int64_t)commit, NULL, 0, err);
    } else {
        rc = sqlite3_exec(x->db, "DELETE FROM meta WHERE name = '" META_CLEAN "'", NULL,
                          NULL, NULL) == SQLITE_OK ? 0 : raw_fail(x->db, x->path, err);
    }
    cf_err later;
    if (idx_unlock_durable(x, rc == 0 ? err : &later) < 0)
        return -1;
    return rc;
}

int idx_count(idx *x, idx_contents *out, cf_err *err)
{
    idx_lock(x);
    int rc = count_contents(x->db, x->path, out, err);
    idx_unlock(x);
    return rc;
}

/* ---- snapshots ------------------------------------------------------------ */

/* Copy db into a new file at dst with SQLite's backup API, leaving the
 * copy in rollback-journal mode (readable without WAL files). */
static int backup_db(sqlite3 *src, const char *dst_path, cf_err *err)
{
    sqlite3 *dst = NULL;
    unlink(dst_path);
    if (sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        NULL) != SQLITE_OK) {
        cf_fail(err, CF_EIO, "%s: %s", dst_path, dst ? sqlite3_errmsg(dst) : "open");
        sqlite3_close(dst);
        return -1;
    }
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    int rc = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
    if (b)
        sqlite3_backup_finish(b);
    int out = rc == SQLITE_DONE ? 0 : raw_fail(dst, dst_path, err);
    if (out == 0 && sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) !=
        SQLITE_OK)
        out = raw_fail(dst, dst_path, err);
    sqlite3_close(dst);
    return out;
}

static int fsync_file(const char *path, cf_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0
           : cf_fail_errno(err, CF_EIO, errno, "fsync %s", path);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Record what the copy at path is and holds; fill out from it. */
static int mark_snapshot(const char *path, int64_t taken_ms, idx_ident *out,
                         cf_err *err)
{
    sqlite3 *db;
    if (open_existing(path, false, &db, err) < 0)
        return -1;
    idx_contents c;
    int rc = count_contents(db, path, &c, err);
    if (rc == 0)
        rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0
           : raw_fail(db, path, err);
    if (rc == 0)
        rc = meta_put(db, path, META_SNAPSHOT, taken_ms, NULL, 0, err);
    if (rc == 0)
        rc = meta_put(db, path, META_OBJECTS, c.objects, NULL, 0, err);
    if (rc == 0)
        rc = meta_put(db, path, META_BYTES, c.bytes, NULL, 0, err);
    if (rc == 0)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0
           : raw_fail(db, path, err);
    if (rc == 0) {
        ident_init(out);
        out->present = true;
        rc = meta_read(db, path, out, err);
    }
    sqlite3_close(db);
    return rc;
}

int idx_snapshot_to(idx *x, const char *tmp, int64_t taken_ms, idx_ident *out,
                    cf_err *err)
{
    idx_lock(x);
    /* this write is a commit too: persist the number it will bring */
    int rc = meta_put(x->db, x->path, META_COMMIT,
                      (int64_t)(x->commit_base + x->commits + 1), NULL, 0, err);
    if (rc == 0)
        rc = backup_db(x->db, tmp, err);
    /* the copy must not hold a commit the index itself could still lose */
    cf_err later;
    if (idx_unlock_durable(x, rc == 0 ? err : &later) < 0)
        rc = -1;
    if (rc == 0)
        rc = mark_snapshot(tmp, taken_ms, out, err);
    if (rc == 0)
        rc = fsync_file(tmp, err);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int idx_restore_copy(const char *src, const char *dst, const idx_ident *id,
                     cf_err *err)
{
    sqlite3 *from, *db;
    if (open_existing(src, true, &from, err) < 0)
        return -1;
    int rc = backup_db(from, dst, err);
    sqlite3_close(from);
    if (rc < 0 || open_existing(dst, false, &db, err) < 0) {
        unlink(dst);
        return -1;
    }
    rc = sqlite3_exec(db, "BEGIN; DELETE FROM meta WHERE name IN ('" META_SNAPSHOT "', '"
                      META_OBJECTS "', '" META_BYTES "', '" META_CLEAN "')", NULL, NULL,
                      NULL) == SQLITE_OK
       ? 0 : raw_fail(db, dst, err);
    if (rc == 0 && id->has_lineage)
        rc = meta_put(db, dst, META_LINEAGE, 0, id->lineage, 16, err);
    if (rc == 0)
        rc = meta_put(db, dst, META_CREATED, id->created_ms, NULL, 0, err);
    if (rc == 0)
        rc = meta_put(db, dst, META_COMMIT, (int64_t)id->commit, NULL, 0, err);
    if (rc == 0)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0
           : raw_fail(db, dst, err);
    sqlite3_close(db);
    if (rc == 0)
        rc = fsync_file(dst, err);
    if (rc < 0)
        unlink(dst);
    return rc;
}
