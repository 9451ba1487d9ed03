/*
 * storage/index.c - the SQLite index (see index.h).
 *
 * Schema (every table WITHOUT ROWID where a natural key exists, so rows are
 * clustered by the order the engine reads them in):
 *   meta(name, value)                 set id, lineage, master key check
 *                                      value, commit base, clean close,
 *                                      schema_release; snapshot copies add
 *                                      their time and totals
 *   tenants(id, name, created)
 *   access_keys(access_key, tenant_id, secret, read_only, created, perms,
 *           buckets, delete_prefixes)   perms: engine.h ST_PERM_*; buckets,
 *                                      delete_prefixes: JSON arrays or NULL
 *   buckets(id, tenant_id, name, region, created, versioning, object_lock,
 *           lock_mode, lock_days, lock_years, sse_algo, sse_bucket_key)
 *                                      sse_*: PutBucketEncryption's default;
 *                                      versioning: engine.h
 *                                      ST_VERSIONING_*; the default retention
 *   objects(bucket_id, key, version_id, size, etag, mtime_ms, cks_algo,
 *           cks, cks_composite, nparts, headers, seq, null_version,
 *           lock_mode, retain_until_ms, legal_hold, upload_id, ssec)
 *                                      a key's latest version when it is not
 *                                      a delete marker; key is a BLOB:
 *                                      listings sort by bytes; also by
 *                                      version_id. upload_id: the upload
 *                                      completed into it (NULL: a PUT);
 *                                      ssec: salt || check of an SSE-C
 *                                      customer key (NULL: none)
 *   versions(bucket_id, key, seq, version_id, marker, null_version, size,
 *           etag, mtime_ms, cks_algo, cks, cks_composite, nparts, headers,
 *           lock_mode, retain_until_ms, legal_hold, noncurrent_ms, upload_id,
 *           ssec)
 *                                      every other version: noncurrent ones
 *                                      and delete markers, newest seq first;
 *                                      also by version_id
 *   segments(version_id, seq, data_id, part, size, wrapped, missing,
 *            inline_data, etag, cks) the data of an object version; etag
 *                                      and cks: the part's (multipart only)
 *   uploads(upload_id, bucket_id, key, created_ms, cks_algo, headers,
 *           lock_mode, retain_until_ms, legal_hold, cks_full, ssec)
 *                                      cks_full: a FULL_OBJECT checksum
 *   parts(upload_id, part, data_id, size, etag, md5, cks, mtime_ms,
 *         wrapped, missing, inline_data)
 *   heal_queue(data_id, queued_ms, bad)   segments with missing/bad shards;
 *                                      bad: shards found changed behind their
 *                                      CRCs, bit i shard i (schema version 10)
 *   delete_queue(data_id, queued_ms)   segments no row refers to any more,
 *                                      whose files are still to be removed
 *   pack_shards(data_id, shard, pack_id, offset, length)   shards kept as
 *                                      pack records (storage/pack.h), not
 *                                      shard files (schema version 9)
 *   bucket_usage(bucket_id, objects, bytes)   each bucket's object
 *                                      versions (current and noncurrent,
 *                                      not markers) and their bytes (schema
 *                                      version 3; noncurrent ones from 6)
 *   tiers(id, name, type, config, secret, created, last_error,
 *         last_error_ms)                cold tiers; secret sealed (master key)
 *   version_tier(version_id, tier_id, state, requested, remote_id,
 *         upload_id, remote_size, data_offset, remote_etag, changed_ms,
 *         restore_until_ms, restore_days)
 *                                      an object version's (or an upload's,
 *                                      keyed by upload id) place in a tier
 *   remote_deletes(remote_id, tier_id, upload_id, queued_ms, attempts,
 *         next_ms, last_error, recheck) remote objects still to be deleted
 *   object_tags(owner_id, tags)        a version's (or an upload's) tags
 *   bucket_lifecycle(bucket_id, config, updated_ms, cursor)
 *                                      lifecycle XML; the pass's position
 *   quotas(tenant_id, bucket_id, max_bytes, max_objects)   limits (NULL:
 *                                      none); bucket_id 0 is the tenant's
 *                                      own (schema version 5)
 * A data id is in at most one of segments/parts at a time, or in
 * delete_queue: that is the invariant GC relies on. One exception: the
 * segments of a tiered version keep their rows (the data keys, the AAD)
 * while their local files are freed through delete_queue.
 *
 * bucket_usage is kept by triggers on objects, versions and buckets, so it changes
 * in the same transaction as the object row and is exact after any crash,
 * whichever code path wrote the row. INSERT OR REPLACE removes the
 * replaced row through the REPLACE conflict rule, which fires delete
 * triggers only with recursive_triggers on: the connection always sets it.
 * The cost is one more row update per object commit (the bucket's row, hot
 * in the cache).
 *
 * Schema versions. The version is SQLite's user_version, in the database
 * header: readable before any table is, 0 in every file that never set it
 * (a new one, or release 0.1.0's, told apart by its tables), and written in
 * the same transaction as the change it records. The schema is schema_v1
 * (0.1.0's, frozen) plus the steps in `steps`; a new index runs all of
 * them, an older one the steps it lacks, always in one BEGIN IMMEDIATE
 * transaction with synchronous=FULL, so a crash leaves the old version.
 *
 * Group commit. The connection runs with synchronous=NORMAL: a commit
 * appends its frames to <db>-wal with write() and does not fsync (SQLite
 * still fsyncs around checkpoints and WAL restarts, and stays consistent
 * after power loss). Durability is ours: we keep a second fd on the WAL
 * file and fdatasync it outside the index mutex, so writers keep
 * appending while one fdatasync runs, and the next fdatasync covers all of
 * them at once. The scheme is storage/gsync.h's (x->gs); here:
 *
 *   - The commit hook marks the current locked section as having written.
 *   - idx_unlock_durable, still under the index mutex, takes the gsync
 *     lock and a ticket: ++written for a section that wrote, the current
 *     written for one that did not (everything it could have read). Then
 *     it releases the index mutex and waits (gsync_wait) for the ticket.
 *   - A round (wal_round, run by gsync's syncer with no lock held) is the
 *     WAL's fdatasync, then the sync hook (the journals'); wal_round_done
 *     counts it in the stats under the gsync lock.
 *
 * Invariant: the WAL bytes of every commit with ticket <= target were
 * written (write() inside sqlite3_step, under the index mutex) before
 * `written` reached the ticket (also under the index mutex, then the
 * gsync lock), and the syncer reads target under the gsync lock before it
 * calls fdatasync; so that fdatasync covers them. The WAL file is never
 * replaced while our connection is open (SQLite deletes it only when the
 * last connection closes; a WAL restart rewrites it in place), so our fd
 * stays valid. A failed fdatasync is sticky (gsync.h): every commit it
 * did not cover fails, and so does every later one, until a restart.
 *
 * Lock order: lock, then the gsync lock. The syncer holds neither while
 * it fdatasyncs.
 */
#include "storage/index.h"

#include "common/clock.h"
#include "common/fio.h"
#include "common/fsutil.h"
#include "common/held.h"
#include "common/hex.h"
#include "storage/fvfs.h"
#include "storage/gsync.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
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
    uint64_t commit_base;            /* under lock: commit number at open */
    uint64_t ceiling;                /* under lock: META_CEILING as last written */
    stmt_slot slots[IDX_STMT_SLOTS];
    char path[PATH_MAX];             /* index.db, for messages */
    char wal_path[PATH_MAX];
    int wal_fd;                      /* -1 until the WAL file is open */
    gsync gs;                        /* written: tickets of writing sections */
    double round_took;               /* the syncer's: its round's fdatasync */
    void (*sync_hook)(void *ctx);    /* also made durable by each round */
    void *sync_ctx;
    uint64_t wal_syncs;              /* under gs.lock, and what follows */
    double sync_seconds;             /* time spent in them */
    uint64_t sync_buckets[IDX_SYNC_NBOUNDS + 1];
#ifndef NDEBUG
    held_link held;                  /* under lock: in this thread's chain */
#endif
};

#ifndef NDEBUG
/* The index locks this thread holds (common/held.h). */
static _Thread_local held_chain held_top;

#define mark_held(x) held_push(&held_top, &(x)->held)
#define mark_released(x) held_pop(&held_top, &(x)->held)

void idx_assert_held(const idx *x)
{
    assert(held_has(held_top, &x->held) &&
           "the caller must hold the index lock (a *_locked function)");
}
#else
#define mark_held(x) ((void)(x))
#define mark_released(x) ((void)(x))
#endif

static const double sync_bounds[IDX_SYNC_NBOUNDS] = IDX_SYNC_BOUNDS;

/* Version 1: the schema of release 0.1.0 (which recorded no version), kept
 * exactly as it shipped; never edit it: a change is a new step below. */
static const char *const schema_v1 =
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;"
    "CREATE TABLE tenants(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE access_keys(access_key TEXT PRIMARY KEY,"
    " tenant_id INTEGER NOT NULL, secret BLOB NOT NULL, read_only INTEGER NOT NULL,"
    " created INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX access_keys_by_tenant ON access_keys(tenant_id);"
    "CREATE TABLE buckets(id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL,"
    " name TEXT NOT NULL, region TEXT NOT NULL, created INTEGER NOT NULL,"
    " UNIQUE(tenant_id, name));"
    "CREATE TABLE objects(bucket_id INTEGER NOT NULL, key BLOB NOT NULL,"
    " version_id BLOB NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,"
    " mtime_ms INTEGER NOT NULL, cks_algo INTEGER NOT NULL, cks TEXT,"
    " cks_composite INTEGER NOT NULL, nparts INTEGER NOT NULL, headers TEXT,"
    " PRIMARY KEY(bucket_id, key)) WITHOUT ROWID;"
    "CREATE TABLE segments(version_id BLOB NOT NULL, seq INTEGER NOT NULL,"
    " data_id BLOB NOT NULL, part INTEGER NOT NULL, size INTEGER NOT NULL,"
    " wrapped BLOB NOT NULL, missing INTEGER NOT NULL, inline_data BLOB,"
    " PRIMARY KEY(version_id, seq)) WITHOUT ROWID;"
    "CREATE INDEX segments_by_data ON segments(data_id);"
    "CREATE TABLE uploads(upload_id BLOB PRIMARY KEY, bucket_id INTEGER NOT NULL,"
    " key BLOB NOT NULL, created_ms INTEGER NOT NULL, cks_algo INTEGER NOT NULL,"
    " headers TEXT) WITHOUT ROWID;"
    "CREATE INDEX uploads_by_key ON uploads(bucket_id, key, upload_id);"
    "CREATE TABLE parts(upload_id BLOB NOT NULL, part INTEGER NOT NULL,"
    " data_id BLOB NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL, md5 BLOB NOT NULL,"
    " cks TEXT, mtime_ms INTEGER NOT NULL, wrapped BLOB NOT NULL, missing INTEGER NOT NULL,"
    " inline_data BLOB, PRIMARY KEY(upload_id, part)) WITHOUT ROWID;"
    "CREATE INDEX parts_by_data ON parts(data_id);"
    "CREATE TABLE heal_queue(data_id BLOB PRIMARY KEY,"
    " queued_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE delete_queue(data_id BLOB PRIMARY KEY,"
    " queued_ms INTEGER NOT NULL) WITHOUT ROWID;";

/* One schema change, from version `from` to from + 1: its SQL, then its C
 * function (either may be NULL; the function sees the index open inside
 * the migration transaction and must not commit), and what it does in one
 * line, printed while migrating. */
typedef struct idx_step {
    int from;
    const char *sql;
    int (*fn)(idx *x, cf_err *err);
    const char *what;
} idx_step;

/* The schema's history after version 1, oldest first: the one place a
 * format change goes (doc/design.md, "Schema versions and migrations").
 * Append a step; never edit or remove one that has shipped. A fresh index
 * runs schema_v1 and then every step, so a table's SQL is this file's
 * version 1 plus its steps, and a change missing here is missing from
 * every index, new ones included. */
static const idx_step steps[] = {
    {1, "CREATE INDEX objects_by_version ON objects(version_id);", NULL,
     "record the schema version; index objects by version id (heal scanned "
     "every object to find a segment's)"},
    {2,
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
     " WHERE bucket_id = NEW.bucket_id; END;",
     NULL,
     "keep each bucket's object count and bytes in bucket_usage, counted now "
     "from the stored objects and then by triggers in every commit"},
    {3,
     "CREATE TABLE tiers(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
     " type TEXT NOT NULL, config TEXT NOT NULL, secret BLOB NOT NULL,"
     " created INTEGER NOT NULL, last_error TEXT, last_error_ms INTEGER NOT NULL);"
     "CREATE TABLE version_tier(version_id BLOB PRIMARY KEY, tier_id INTEGER NOT NULL,"
     " state INTEGER NOT NULL, requested INTEGER NOT NULL, remote_id TEXT,"
     " upload_id TEXT, remote_size INTEGER NOT NULL, data_offset INTEGER NOT NULL,"
     " remote_etag TEXT, changed_ms INTEGER NOT NULL, restore_until_ms INTEGER NOT NULL,"
     " restore_days INTEGER NOT NULL) WITHOUT ROWID;"
     "CREATE INDEX version_tier_by_state ON version_tier(state, changed_ms);"
     "CREATE INDEX version_tier_by_tier ON version_tier(tier_id, state);"
     "CREATE TABLE remote_deletes(remote_id TEXT PRIMARY KEY, tier_id INTEGER NOT NULL,"
     " upload_id TEXT, queued_ms INTEGER NOT NULL, attempts INTEGER NOT NULL,"
     " next_ms INTEGER NOT NULL, last_error TEXT, recheck INTEGER NOT NULL) WITHOUT ROWID;"
     "CREATE INDEX remote_deletes_by_tier ON remote_deletes(tier_id);"
     "CREATE TABLE object_tags(owner_id BLOB PRIMARY KEY, tags TEXT NOT NULL)"
     " WITHOUT ROWID;"
     "CREATE TABLE bucket_lifecycle(bucket_id INTEGER PRIMARY KEY, config BLOB NOT NULL,"
     " updated_ms INTEGER NOT NULL, cursor BLOB);",
     NULL,
     "cold tiers, lifecycle rules and object tags: tiers, version_tier, "
     "remote_deletes, object_tags, bucket_lifecycle"},
    {4,
     "CREATE TABLE quotas(tenant_id INTEGER NOT NULL, bucket_id INTEGER NOT NULL,"
     " max_bytes INTEGER, max_objects INTEGER,"
     " PRIMARY KEY(tenant_id, bucket_id)) WITHOUT ROWID;"
     "CREATE TRIGGER quotas_tenant_gone AFTER DELETE ON tenants BEGIN"
     " DELETE FROM quotas WHERE tenant_id = OLD.id; END;"
     "CREATE TRIGGER quotas_bucket_gone AFTER DELETE ON buckets BEGIN"
     " DELETE FROM quotas WHERE tenant_id = OLD.tenant_id AND bucket_id = OLD.id; END;",
     NULL,
     "add the quotas table (a tenant's and a bucket's limits on bytes and "
     "objects), dropped with its tenant or bucket by triggers"},
    {5,
     "ALTER TABLE access_keys ADD COLUMN perms INTEGER NOT NULL DEFAULT 15;"
     "ALTER TABLE access_keys ADD COLUMN buckets TEXT;"
     "ALTER TABLE access_keys ADD COLUMN delete_prefixes TEXT;"
     "UPDATE access_keys SET perms = 1 WHERE read_only <> 0;",
     NULL,
     "access keys gain permissions (read, write-new, overwrite, delete, "
     "bypass-governance), a bucket list and delete prefixes; read-only keys "
     "keep read"},
    {6,
     "ALTER TABLE buckets ADD COLUMN versioning INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE buckets ADD COLUMN object_lock INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE buckets ADD COLUMN lock_mode INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE buckets ADD COLUMN lock_days INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE buckets ADD COLUMN lock_years INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE objects ADD COLUMN seq INTEGER NOT NULL DEFAULT 1;"
     "ALTER TABLE objects ADD COLUMN null_version INTEGER NOT NULL DEFAULT 1;"
     "ALTER TABLE objects ADD COLUMN lock_mode INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE objects ADD COLUMN retain_until_ms INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE objects ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;"
     "CREATE TABLE versions(bucket_id INTEGER NOT NULL, key BLOB NOT NULL,"
     " seq INTEGER NOT NULL, version_id BLOB NOT NULL, marker INTEGER NOT NULL,"
     " null_version INTEGER NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,"
     " mtime_ms INTEGER NOT NULL, cks_algo INTEGER NOT NULL, cks TEXT,"
     " cks_composite INTEGER NOT NULL, nparts INTEGER NOT NULL, headers TEXT,"
     " lock_mode INTEGER NOT NULL, retain_until_ms INTEGER NOT NULL,"
     " legal_hold INTEGER NOT NULL, noncurrent_ms INTEGER NOT NULL,"
     " PRIMARY KEY(bucket_id, key, seq DESC)) WITHOUT ROWID;"
     "CREATE INDEX versions_by_version ON versions(version_id);"
     "ALTER TABLE uploads ADD COLUMN lock_mode INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE uploads ADD COLUMN retain_until_ms INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE uploads ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;"
     "CREATE TRIGGER bucket_usage_version_put AFTER INSERT ON versions"
     " WHEN NEW.marker = 0 BEGIN"
     " UPDATE bucket_usage SET objects = objects + 1, bytes = bytes + NEW.size"
     " WHERE bucket_id = NEW.bucket_id; END;"
     "CREATE TRIGGER bucket_usage_version_drop AFTER DELETE ON versions"
     " WHEN OLD.marker = 0 BEGIN"
     " UPDATE bucket_usage SET objects = objects - 1, bytes = bytes - OLD.size"
     " WHERE bucket_id = OLD.bucket_id; END;",
     NULL,
     "versioning and object lock: buckets gain their versioning state and lock "
     "configuration, objects their seq, null-version flag and lock fields (every "
     "existing object is its key's null version, seq 1), uploads the lock of the "
     "object they complete, noncurrent versions and delete markers get the "
     "versions table, and bucket_usage counts noncurrent versions too"},
    {7,
     "ALTER TABLE objects ADD COLUMN upload_id BLOB;"
     "ALTER TABLE objects ADD COLUMN ssec BLOB;"
     "ALTER TABLE versions ADD COLUMN upload_id BLOB;"
     "ALTER TABLE versions ADD COLUMN ssec BLOB;"
     "ALTER TABLE segments ADD COLUMN etag TEXT;"
     "ALTER TABLE segments ADD COLUMN cks TEXT;"
     "ALTER TABLE uploads ADD COLUMN cks_full INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE uploads ADD COLUMN ssec BLOB;"
     "ALTER TABLE buckets ADD COLUMN sse_algo TEXT;"
     "ALTER TABLE buckets ADD COLUMN sse_bucket_key INTEGER NOT NULL DEFAULT 0;",
     NULL,
     "S3 as current SDKs speak it: the upload a version was completed from "
     "(retried completes), each part's ETag and checksum in the version "
     "(partNumber reads, object attributes), full-object checksums, SSE-C "
     "key checks (kept by noncurrent versions too), bucket default encryption"},
    {8,
     "CREATE TABLE pack_shards(data_id BLOB NOT NULL, shard INTEGER NOT NULL,"
     " pack_id BLOB NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL,"
     " PRIMARY KEY(data_id, shard)) WITHOUT ROWID;"
     "CREATE INDEX pack_shards_by_pack ON pack_shards(pack_id);",
     NULL,
     "pack files (issue 14 point 1): pack_shards names the shards kept as "
     "records in a disk's pack file (pack id, record offset and length); "
     "every existing shard stays a shard file"},
    {9, "ALTER TABLE heal_queue ADD COLUMN bad INTEGER NOT NULL DEFAULT 0;", NULL,
     "heal_queue names the shards a read found changed behind their CRCs (bad, a "
     "bit per shard), which heal rewrites: it cannot find them by CRC"},
};

#define IDX_SCHEMA_VERSION (1 + (int)(sizeof steps / sizeof steps[0]))

int (*idx_migrate_fault)(int version);

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
#define META_CEILING "commit_ceiling"    /* int, above every number given (index.h) */
#define META_CLEAN "clean_close"         /* int, between a clean close and the next open */
#define META_SNAPSHOT "snapshot_ms"      /* int, snapshot copies only */
#define META_OBJECTS "snapshot_objects"  /* int, snapshot copies only */
#define META_BYTES "snapshot_bytes"      /* int, snapshot copies only */
#define META_CLOCK_HW "clock_hw_ms"      /* int, the lock clock's high-water mark */

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
        } else if (strcmp(name, META_CEILING) == 0)
            id->ceiling = (uint64_t)v;
        else if (strcmp(name, META_SNAPSHOT) == 0)
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

/* [lock held, or in idx_open] Move the ceiling a reserve above the
 * current number (index.h, "Invariant"), as its own commit. */
static int reserve_commits(idx *x, cf_err *err)
{
    uint64_t top = x->commit_base + x->commits + IDX_COMMIT_RESERVE;
    if (meta_put(x->db, x->path, META_CEILING, (int64_t)top, NULL, 0, err) < 0)
        return -1;
    x->ceiling = top;
    return 0;
}

/* [lock held] A writing section ends: move the ceiling up once the number
 * is within half a reserve of it. A failure is logged, and tried again by
 * the next section; the half reserve left is the margin. */
static void reserve_if_near(idx *x)
{
    if (x->commit_base + x->commits + IDX_COMMIT_RESERVE / 2 < x->ceiling)
        return;
    cf_err err;
    if (reserve_commits(x, &err) < 0)
        fprintf(stderr, "coffer: index: cannot reserve commit numbers: %s\n", err.msg);
}

static int open_wal_fd(idx *x)
{
    if (x->wal_fd < 0)
        x->wal_fd = open(x->wal_path, O_RDWR | O_CLOEXEC);
    return x->wal_fd < 0 ? errno : 0;
}

/* ---- schema versions ---------------------------------------------------- */

int idx_schema_version(void)
{
    return IDX_SCHEMA_VERSION;
}

static int read_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

static const char *const schema_rows =
    "SELECT type, name, tbl_name, ifnull(sql, '') FROM sqlite_master ORDER BY type, name";

/* Whether the database holds exactly schema_v1 (every table and index, and
 * the SQL that made it), compared with a copy built in memory: 1 yes, 0 no. */
static int is_v1(idx *x, cf_err *err)
{
    sqlite3 *ref = NULL;
    sqlite3_stmt *a = NULL, *b = NULL;
    int same = -1, ra = SQLITE_ERROR, rb = SQLITE_ERROR;
    if (sqlite3_open_v2(":memory:", &ref, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        NULL) == SQLITE_OK &&
        sqlite3_exec(ref, schema_v1, NULL, NULL, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(ref, schema_rows, -1, &a, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(x->db, schema_rows, -1, &b, NULL) == SQLITE_OK) {
        same = 1;
        while (same == 1 && (ra = sqlite3_step(a)) == (rb = sqlite3_step(b)) &&
               ra == SQLITE_ROW)
            for (int c = 0; c < 4; c++)
                if (strcmp((const char *)sqlite3_column_text(a, c),
                           (const char *)sqlite3_column_text(b, c)) != 0)
                    same = 0;
        if (same == 1 && ra != rb)
            same = 0;
        if (rb != SQLITE_DONE && rb != SQLITE_ROW)
            same = -1;
    }
    if (same < 0)
        db_fail(x, err, "read its schema");
    sqlite3_finalize(a);
    sqlite3_finalize(b);
    sqlite3_close(ref);
    return same;
}

/* The index's schema version: PRAGMA user_version, which is 0 both for a
 * new, empty file and for release 0.1.0's index, recognised as version 1
 * by its exact schema. */
static int schema_version(idx *x, int *out, cf_err *err)
{
    int v = 0, objects = 0;
    if (read_int(x->db, "PRAGMA user_version", &v) != SQLITE_OK ||
        read_int(x->db, "SELECT count(*) FROM sqlite_master", &objects) != SQLITE_OK)
        return db_fail(x, err, "read its schema version");
    if (v < 0)
        return cf_fail(err, CF_ECORRUPT, "index: schema version %d is not one of "
                       "coffer's; not a coffer index?", v);
    if (v == 0 && objects > 0) {
        int r = is_v1(x, err);
        if (r < 0)
            return -1;
        if (r == 0)
            return cf_fail(err, CF_ECORRUPT, "index: no schema version is recorded and "
                           "its tables are not those of release 0.1.0; not a coffer "
                           "index?");
        v = 1;
    }
    *out = v;
    return 0;
}

/* Refuse an index a newer release wrote, naming the release that set its
 * version when it recorded itself. */
static int refuse_newer(idx *x, int have, cf_err *err)
{
    char by[48] = "";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(x->db, "SELECT value FROM meta WHERE name = 'schema_release'",
                           -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        for (size_t i = 0; t && t[i] && i < sizeof by - 1; i++)
            by[i] = t[i] > ' ' && t[i] < 127 ? (char)t[i] : '?';
    }
    sqlite3_finalize(st);
    return cf_fail(err, CF_ECONFIG, "index schema version %d is newer than this cofferd "
                   "%s (knows up to %d): run cofferd %s%s", have, PACKAGE_VERSION,
                   IDX_SCHEMA_VERSION, by[0] ? by : "of the release that wrote it",
                   by[0] ? " or newer" : "");
}

static int set_version(idx *x, cf_err *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d;", IDX_SCHEMA_VERSION);
    if (exec_plain(x, sql, err) < 0)
        return -1;
    return idx_run(x, NULL, err, "INSERT OR REPLACE INTO meta VALUES ('schema_release', ?)",
                   "t", PACKAGE_VERSION);
}

static int run_step(idx *x, const idx_step *s, cf_err *err)
{
    if ((s->sql && exec_plain(x, s->sql, err) < 0) || (s->fn && s->fn(x, err) < 0))
        return -1;
    if (idx_migrate_fault && idx_migrate_fault(s->from + 1) != 0)
        return cf_fail(err, CF_EIO, "injected fault");
    return 0;
}

/* Bring the index from version `have` (0: a new file) to the newest: one
 * transaction runs schema_v1 for a new file, then every step from `have`
 * on, and records the version. An existing index is first copied to
 * PATH.pre-vN, so an operator can go back to the release that wrote it. */
static int copy_index_to(idx *x, const char *path, cf_err *err);

static int migrate(idx *x, const char *path, int have, cf_err *err)
{
    for (int i = 0; i < IDX_SCHEMA_VERSION - 1; i++)
        if (steps[i].from != i + 1)
            return cf_fail(err, CF_EINTERNAL, "index: schema step %d migrates from "
                           "version %d, not %d", i, steps[i].from, i + 1);
    if (have > 0) {
        char copy[PATH_MAX];
        if ((size_t)snprintf(copy, sizeof copy, "%s.pre-v%d", path, IDX_SCHEMA_VERSION) >=
            sizeof copy)
            return cf_fail(err, CF_EINVAL, "index: metadata path too long");
        fprintf(stderr, "coffer: index: migrating schema version %d to %d; the old index "
                "is kept in %s\n", have, IDX_SCHEMA_VERSION, copy);
        if (copy_index_to(x, copy, err) < 0)
            return -1;
    }
    if (idx_begin(x, err) < 0)
        return -1;
    int rc = have == 0 ? exec_plain(x, schema_v1, err) : 0;
    for (int v = have > 0 ? have : 1; rc == 0 && v < IDX_SCHEMA_VERSION; v++) {
        if (have > 0)
            fprintf(stderr, "coffer: index: schema version %d -> %d: %s\n", v, v + 1,
                    steps[v - 1].what);
        if (run_step(x, &steps[v - 1], err) < 0) {
            char why[CF_ERRMSG_MAX];
            snprintf(why, sizeof why, "%s", err ? err->msg : "");
            rc = cf_fail(err, err ? err->code : CF_EIO, "index: schema version %d -> %d "
                         "failed, the index is unchanged: %s", v, v + 1, why);
        }
    }
    if (rc == 0)
        rc = set_version(x, err);
    if (rc == 0)
        return idx_commit(x, err);
    idx_rollback(x);
    return -1;
}

/* Schema creation and migration run with synchronous=FULL, so they are
 * durable (WAL and, for a new WAL file, its directory entry) before we
 * switch to NORMAL and our own syncing. */
static int open_schema(idx *x, const char *path, cf_err *err)
{
    int have = 0;
    if (schema_version(x, &have, err) < 0)
        return -1;
    if (have > IDX_SCHEMA_VERSION)
        return refuse_newer(x, have, err);
    if (exec_plain(x, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                      "PRAGMA foreign_keys=OFF; PRAGMA recursive_triggers=ON;", err) < 0 ||
        (have < IDX_SCHEMA_VERSION && migrate(x, path, have, err) < 0))
        return -1;
    idx_ident id;
    ident_init(&id);
    if (meta_read(x->db, x->path, &id, err) < 0)
        return -1;
    /* start above every number an earlier run gave, and reserve this
     * run's first numbers while synchronous=FULL makes that durable */
    x->commit_base = id.commit > id.ceiling ? id.commit : id.ceiling;
    x->commits = 0;
    if (reserve_commits(x, err) < 0 || exec_plain(x, "PRAGMA synchronous=NORMAL;", err) < 0)
        return -1;
    int e = open_wal_fd(x);
    if (e != 0)
        return cf_fail_errno(err, CF_EIO, e, "index: open %s", x->wal_path);
    x->section_wrote = false;
    return fsu_fsync_parent(x->wal_path, err);
}

/* A group-commit round, as gsync's syncer (no lock held): the WAL's
 * fdatasync, then the sync hook. A failure is logged here: it is the
 * only one (gsync.h: no round runs after it). */
static int wal_round(void *arg)
{
    idx *x = arg;
    double t0 = clock_mono_s();
    int e = open_wal_fd(x);
    if (e == 0 && fio_walsync(x->wal_fd) != 0)
        e = errno;
    x->round_took = clock_mono_s() - t0;
    if (x->sync_hook)
        x->sync_hook(x->sync_ctx);
    if (e != 0)
        fprintf(stderr, "coffer: index: fdatasync %s: %s; refusing further writes "
                "until restart\n", x->wal_path, strerror(e));
    return e;
}

/* Under the gsync lock, after a round: its count and time in the stats. */
static void wal_round_done(void *arg, int e)
{
    (void)e;
    idx *x = arg;
    x->wal_syncs++;
    x->sync_seconds += x->round_took;
    size_t b = 0;
    while (b < IDX_SYNC_NBOUNDS && x->round_took > sync_bounds[b])
        b++;
    x->sync_buckets[b]++;
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
    gsync_init(&x->gs, 0, wal_round, wal_round_done, x);
    fvfs_install();
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &x->db, flags, NULL) != SQLITE_OK) {
        cf_fail(err, CF_EIO, "index %s: %s", path,
                x->db ? sqlite3_errmsg(x->db) : "cannot open");
        idx_close(x);
        return -1;
    }
    sqlite3_busy_timeout(x->db, 5000);
    sqlite3_commit_hook(x->db, on_commit, x);
    if (open_schema(x, path, err) < 0) {
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
    gsync_destroy(&x->gs);
    free(x);
}

void idx_lock(idx *x)
{
    pthread_mutex_lock(&x->lock);
    mark_held(x);
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
    mark_released(x);
    pthread_mutex_unlock(&x->lock);
}

int idx_unlock_durable(idx *x, cf_err *err)
{
    if (x->section_wrote)
        reserve_if_near(x);
    gsync_lock(&x->gs);
    uint64_t ticket = x->section_wrote ? ++x->gs.written : x->gs.written;
    x->section_wrote = false;
    mark_released(x);
    pthread_mutex_unlock(&x->lock);
    int e = gsync_wait(&x->gs, ticket);
    gsync_unlock(&x->gs);
    if (e != 0)
        return cf_fail_errno(err, CF_EIO, e, "index: commit not durable: WAL fdatasync "
                             "failed");
    return 0;
}

void idx_unlock_nowait(idx *x)
{
    if (x->section_wrote)
        reserve_if_near(x);
    gsync_lock(&x->gs);
    if (x->section_wrote)
        ++x->gs.written;
    x->section_wrote = false;
    gsync_unlock(&x->gs);
    mark_released(x);
    pthread_mutex_unlock(&x->lock);
}

void idx_get_stats(idx *x, idx_stats *out)
{
    pthread_mutex_lock(&x->lock);
    out->commits = x->commits;
    gsync_lock(&x->gs);
    out->wal_syncs = x->wal_syncs;
    out->wal_sync_seconds = x->sync_seconds;
    memcpy(out->wal_sync_buckets, x->sync_buckets, sizeof out->wal_sync_buckets);
    out->wal_failed = x->gs.err != 0;
    gsync_unlock(&x->gs);
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

int idx_scalar(idx *x, int64_t *out, cf_err *err, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = start(x, err, sql, fmt, ap);
    va_end(ap);
    int rc = st ? idx_next(x, st, err) : -1;
    if (rc == 0)
        return cf_fail(err, CF_EIO, "index: a query that answers one value gave none");
    if (rc < 0)
        return -1;
    *out = idx_int(st, 0);
    idx_done(st);
    return 0;
}

int idx_exists(idx *x, cf_err *err, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = start(x, err, sql, fmt, ap);
    va_end(ap);
    int rc = st ? idx_next(x, st, err) : -1;
    if (rc == 1)
        idx_done(st);
    return rc;
}

int idx_each(idx *x, sqlite3_stmt *st, idx_row_cb row, void *ctx, cf_err *err)
{
    if (!st)
        return -1;
    int rc;
    while ((rc = idx_next(x, st, err)) == 1) {
        int r = row(ctx, st, err);
        if (r != 0) {
            idx_done(st);
            return r < 0 ? -1 : 0;
        }
    }
    return rc;
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

int idx_clock_hw_locked(idx *x, int64_t *out, cf_err *err)
{
    idx_assert_held(x);
    return idx_scalar(x, out, err, "SELECT coalesce(max(value), 0) FROM meta WHERE name = ?",
                      "t", META_CLOCK_HW);
}

int idx_clock_hw_raise_locked(idx *x, int64_t ms, cf_err *err)
{
    idx_assert_held(x);
    return idx_run(x, NULL, err, "INSERT INTO meta VALUES (?1, ?2) ON CONFLICT(name) DO "
                   "UPDATE SET value = max(value, excluded.value)", "ti", META_CLOCK_HW, ms);
}

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
    if (rc == 0 && id->has_commit)
        rc = meta_put(x->db, x->path, META_COMMIT, (int64_t)id->commit, NULL, 0, err);
    rc = rc == 0 ? idx_commit(x, err) : (idx_rollback(x), -1);
    cf_err later;
    if (idx_unlock_durable(x, rc == 0 ? err : &later) < 0)
        return -1;
    return rc;
}

void idx_set_sync_hook(idx *x, void (*hook)(void *ctx), void *ctx)
{
    x->sync_hook = hook;
    x->sync_ctx = ctx;
}

uint64_t idx_commit_number_locked(idx *x)
{
    idx_assert_held(x);
    assert(x->commit_base + x->commits < x->ceiling &&
           "commit numbers stay below the durable ceiling (index.h, Invariant)");
    return x->commit_base + x->commits;
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
    int rc = fd >= 0 && fio_fsync(fd) == 0 ? 0
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

/* A plain durable copy of the index at path (temp file, fsync, rename,
 * directory fsync), as it is: the copy kept before a migration. Runs at
 * open, before any other thread can use x. */
static int copy_index_to(idx *x, const char *path, cf_err *err)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return cf_fail(err, CF_EINVAL, "index: metadata path too long");
    int rc = backup_db(x->db, tmp, err);
    if (rc == 0)
        rc = fsync_file(tmp, err);
    if (rc == 0 && fio_rename(tmp, path) != 0)
        rc = cf_fail_errno(err, CF_EIO, errno, "rename %s", path);
    if (rc < 0) {
        unlink(tmp);
        return -1;
    }
    return fsu_fsync_parent(path, err);
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

/* ---- whole tables as JSON (the catalog) --------------------------------- */

static json_t *column_json(sqlite3_stmt *st, int c)
{
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(st, c));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(st, c));
    case SQLITE_TEXT:
        return json_stringn((const char *)sqlite3_column_text(st, c),
                            (size_t)sqlite3_column_bytes(st, c));
    case SQLITE_BLOB: {
        size_t n = (size_t)sqlite3_column_bytes(st, c);
        const uint8_t *b = sqlite3_column_blob(st, c);
        char *hex = malloc(2 * n + 1);
        if (!hex)
            return NULL;
        for (size_t i = 0; i < n; i++)
            snprintf(hex + 2 * i, 3, "%02x", b[i]);
        hex[2 * n] = '\0';
        json_t *v = json_pack("{s:s}", "hex", hex);
        free(hex);
        return v;
    }
    default:
        return json_null();
    }
}

/* One table into {"columns", "rows"}; under the lock. */
static int dump_table_locked(idx *x, const char *table, json_t **out, cf_err *err)
{
    idx_assert_held(x);
    char sql[96];
    sqlite3_stmt *st = NULL;
    *out = NULL;
    if ((size_t)snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", table) >= sizeof sql)
        return cf_fail(err, CF_EINVAL, "index: table name too long");
    int rc = sqlite3_prepare_v2(x->db, sql, -1, &st, NULL) == SQLITE_OK ? 0
           : db_fail(x, err, "dump");
    json_t *cols = json_array(), *rows = json_array();
    int n = st ? sqlite3_column_count(st) : 0, step = SQLITE_DONE;
    for (int c = 0; rc == 0 && c < n; c++)
        json_array_append_new(cols, json_string(sqlite3_column_name(st, c)));
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_array();
        for (int c = 0; row && c < n; c++)
            if (json_array_append_new(row, column_json(st, c)) < 0) {
                json_decref(row);
                row = NULL;
            }
        if (!row || json_array_append_new(rows, row) < 0)
            rc = cf_fail(err, CF_ENOMEM, "out of memory");
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = db_fail(x, err, "dump");
    sqlite3_finalize(st);
    if (rc == 0 && !(*out = json_pack("{s:o, s:o}", "columns", cols, "rows", rows)))
        rc = cf_fail(err, CF_ENOMEM, "out of memory");
    if (rc < 0 && !*out) {
        json_decref(cols);
        json_decref(rows);
    }
    return rc;
}

int idx_tables_dump(idx *x, const char *const *tables, size_t n, json_t **out,
                    uint64_t *commit, cf_err *err)
{
    *out = json_object();
    if (!*out)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    int rc = 0;
    idx_lock(x);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *t;
        rc = dump_table_locked(x, tables[i], &t, err);
        if (rc == 0 && json_object_set_new(*out, tables[i], t) < 0)
            rc = cf_fail(err, CF_ENOMEM, "out of memory");
    }
    *commit = x->commit_base + x->commits;
    idx_unlock(x);
    if (rc < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* Whether table has a column named name. */
static bool has_column(idx *x, const char *table, const char *name)
{
    char sql[96];
    sqlite3_stmt *st = NULL;
    bool found = false;
    snprintf(sql, sizeof sql, "PRAGMA table_info(\"%s\")", table);
    if (sqlite3_prepare_v2(x->db, sql, -1, &st, NULL) == SQLITE_OK)
        while (!found && sqlite3_step(st) == SQLITE_ROW)
            found = strcmp((const char *)sqlite3_column_text(st, 1), name) == 0;
    sqlite3_finalize(st);
    return found;
}

static int bind_json(sqlite3_stmt *st, int i, json_t *v)
{
    if (json_is_integer(v))
        return sqlite3_bind_int64(st, i, json_integer_value(v));
    if (json_is_real(v))
        return sqlite3_bind_double(st, i, json_real_value(v));
    if (json_is_string(v))
        return sqlite3_bind_text(st, i, json_string_value(v), (int)json_string_length(v),
                                 SQLITE_TRANSIENT);
    const char *hex = json_string_value(json_object_get(v, "hex"));
    if (!hex)
        return sqlite3_bind_null(st, i);
    size_t n = strlen(hex) / 2;
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return SQLITE_NOMEM;
    if (n > 0 && hex_decode(hex, b, n, NULL) < 0) {   /* linear: a blob may be an
                                                         inline object's bytes */
        free(b);
        return SQLITE_MISMATCH;
    }
    int rc = sqlite3_bind_blob64(st, i, b, n, SQLITE_TRANSIENT);
    free(b);
    return rc;
}

int idx_table_load(idx *x, const char *table, json_t *dump, cf_err *err)
{
    idx_assert_held(x);
    json_t *cols = json_object_get(dump, "columns"), *rows = json_object_get(dump, "rows");
    if (!json_is_array(cols) || !json_is_array(rows))
        return cf_fail(err, CF_ECORRUPT, "catalog: table %s is malformed", table);
    size_t nc = json_array_size(cols);
    bool use[64] = {false};
    if (nc > 64)
        return cf_fail(err, CF_ECORRUPT, "catalog: table %s has too many columns", table);
    char sql[2048], vals[256];
    size_t o = (size_t)snprintf(sql, sizeof sql, "INSERT INTO \"%s\"(", table), vo = 0;
    int used = 0;
    for (size_t c = 0; c < nc; c++) {
        const char *name = json_string_value(json_array_get(cols, c));
        if (!name || strlen(name) > 40 || strspn(name, "abcdefghijklmnopqrstuvwxyz_0123456789") !=
            strlen(name) || !has_column(x, table, name))
            continue;
        use[c] = true;
        o += (size_t)snprintf(sql + o, sizeof sql - o, "%s%s", used ? ", " : "", name);
        vo += (size_t)snprintf(vals + vo, sizeof vals - vo, "%s?", used ? ", " : "");
        used++;
    }
    if (used == 0 || o + vo + 16 >= sizeof sql)
        return cf_fail(err, CF_ECORRUPT, "catalog: table %s has no known column", table);
    snprintf(sql + o, sizeof sql - o, ") VALUES (%s)", vals);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(x->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(x, err, "load");
    int rc = 0;
    size_t r;
    json_t *row;
    json_array_foreach(rows, r, row) {
        if (!json_is_array(row) || json_array_size(row) != nc) {
            rc = cf_fail(err, CF_ECORRUPT, "catalog: a row of %s is malformed", table);
            break;
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        int b = 1, brc = SQLITE_OK;
        for (size_t c = 0; c < nc && brc == SQLITE_OK; c++)
            if (use[c])
                brc = bind_json(st, b++, json_array_get(row, c));
        if (brc != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
            rc = db_fail(x, err, "load");
            break;
        }
    }
    sqlite3_finalize(st);
    return rc;
}
