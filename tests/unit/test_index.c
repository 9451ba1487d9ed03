/*
 * tests/unit/test_index.c - the index's schema versions and migrations.
 *
 * The old index is the real thing: release 0.1.0's meta/index.db,
 * extracted from the committed fixture (tests/fixtures/v0.1.0). Each test
 * checks the outcome through a separate SQLite connection: the recorded
 * version (user_version), the schema (every row of sqlite_master), and a
 * digest of every row of every table, so "all data kept" is checked byte
 * for byte. Tables a step derives from the others (bucket_usage) are left
 * out of that digest and checked instead against a count of what they
 * summarise. A crash in the middle of a migration is a child process
 * SIGKILLed by the migration's fault hook inside the transaction; a failed
 * step is the same hook returning an error.
 *
 * One query plan is checked here against the newest schema: the quota
 * probe every PUT runs (quota.c), which must stay primary-key searches
 * with no ephemeral table built at each run.
 */
#include "tests/unit/test.h"

#include "storage/engine_int.h"
#include "storage/index.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct db_state {
    int version;
    uint64_t schema;            /* digest of sqlite_master */
    uint64_t rows;              /* digest of every table's rows */
    int nrows;
    bool has_release;           /* meta has a schema_release row */
    bool has_usage;             /* a bucket_usage table (schema version 3) */
    bool usage_exact;           /* ... holding what its buckets store */
    int64_t usage_objects;      /* its total of objects */
} db_state;

/* Tables a migration step fills from the others: not "data kept". */
static bool derived_table(const char *name)
{
    return strcmp(name, "bucket_usage") == 0;
}

/* bucket_usage against a count of the objects: both ways of EXCEPT empty. */
static int check_usage(sqlite3 *db, db_state *s)
{
    static const char count[] =
        "SELECT b.id, count(o.key), coalesce(sum(o.size), 0) FROM buckets b"
        " LEFT JOIN objects o ON o.bucket_id = b.id GROUP BY b.id";
    char sql[600];
    snprintf(sql, sizeof sql,
             "SELECT (SELECT count(*) FROM (%s EXCEPT SELECT * FROM bucket_usage)) +"
             " (SELECT count(*) FROM (SELECT * FROM bucket_usage EXCEPT %s)),"
             " (SELECT coalesce(sum(objects), 0) FROM bucket_usage)", count, count);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
    if (rc == 0) {
        s->usage_exact = sqlite3_column_int(st, 0) == 0;
        s->usage_objects = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Columns a migration step adds to an existing table (step 7: S3
 * conformance). On a migrated row they hold the step's default (NULL or
 * 0), which is no data; any other value is folded into the digest, so a
 * step that filled them would show. */
static bool added_default(const char *table, sqlite3_stmt *st, int c)
{
    static const char *const added[] = {"upload_id", "ssec", "etag", "cks", "cks_full",
                                        "sse_algo", "sse_bucket_key", NULL};
    const char *name = sqlite3_column_name(st, c);
    if (!table || !name || strcmp(table, "parts") == 0)
        return false;                        /* parts.etag, parts.cks: version 1 */
    if (strcmp(table, "objects") != 0 && strcmp(table, "segments") != 0 &&
        strcmp(table, "uploads") != 0 && strcmp(table, "buckets") != 0)
        return false;
    bool is_added = false;
    for (int i = 0; added[i]; i++)
        is_added |= strcmp(name, added[i]) == 0;
    int type = sqlite3_column_type(st, c);
    return is_added && (type == SQLITE_NULL ||
                        (type == SQLITE_INTEGER && sqlite3_column_int64(st, c) == 0));
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* Digest of every row a query returns: each column's type and bytes. The
 * row of meta that the migration adds is skipped when skip_release; the
 * columns of table that a step added, while they hold its default. */
static int digest_query(sqlite3 *db, const char *table, const char *sql,
                        bool skip_release, uint64_t *h, int *nrows, bool *release)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *c0 = sqlite3_column_text(st, 0);
        if (skip_release && c0 && strcmp((const char *)c0, "schema_release") == 0) {
            *release = true;
            continue;
        }
        /* every open moves the commit ceiling up (index.h, "Invariant") */
        if (skip_release && c0 && strcmp((const char *)c0, "commit_ceiling") == 0)
            continue;
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            if (table && added_default(table, st, c))
                continue;
            int type = sqlite3_column_type(st, c);
            const void *p = type == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, c)
                                                : sqlite3_column_blob(st, c);
            int n = sqlite3_column_bytes(st, c);
            *h = fnv(*h, &type, sizeof type);
            *h = fnv(*h, &n, sizeof n);
            if (n > 0)
                *h = fnv(*h, p, (size_t)n);
        }
        (*nrows)++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int read_state(const char *dbpath, db_state *s)
{
    memset(s, 0, sizeof *s);
    s->schema = s->rows = 0xcbf29ce484222325ULL;
    sqlite3 *db;
    int schema_rows = 0;
    bool unused = false;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        s->version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    rc = digest_query(db, NULL, "SELECT type, name, tbl_name, sql FROM sqlite_master "
                      "ORDER BY type, name", false, &s->schema, &schema_rows, &unused);
    if (rc == 0 &&
        sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' "
                           "ORDER BY name", -1, &st, NULL) == SQLITE_OK) {
        while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
            char sql[200];
            const char *name = (const char *)sqlite3_column_text(st, 0);
            if (derived_table(name)) {
                s->has_usage = true;
                rc = check_usage(db, s);
                continue;
            }
            /* a table contributes its name only when it has rows, so that
             * the empty tables a step adds keep the digest of the rows */
            int before = s->nrows;
            uint64_t h = fnv(s->rows, name, strlen(name));
            snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", name);
            rc = digest_query(db, name, sql, strcmp(name, "meta") == 0, &h, &s->nrows,
                              &s->has_release);
            if (s->nrows > before)
                s->rows = h;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return rc;
}

/* The digest of every row of the tables of ref (release 0.1.0's index),
 * restricted to the columns ref has: what a migration must keep byte for
 * byte (later steps add columns and tables). */
static int read_v1_rows(const char *dbpath, const char *ref, uint64_t *h, int *nrows)
{
    sqlite3 *db, *rdb;
    *h = 0xcbf29ce484222325ULL;
    *nrows = 0;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_open_v2(ref, &rdb, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_stmt *st, *ci;
    int rc = sqlite3_prepare_v2(rdb, "SELECT name FROM sqlite_master WHERE type = 'table' "
                                "ORDER BY name", -1, &st, NULL) == SQLITE_OK ? 0 : -1;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        char sql[600], cols[400] = "";
        snprintf(sql, sizeof sql, "SELECT name FROM pragma_table_info('%s') ORDER BY cid",
                 name);
        if (sqlite3_prepare_v2(rdb, sql, -1, &ci, NULL) != SQLITE_OK) {
            rc = -1;
            break;
        }
        while (sqlite3_step(ci) == SQLITE_ROW) {
            size_t n = strlen(cols);
            snprintf(cols + n, sizeof cols - n, "%s\"%s\"", n ? ", " : "",
                     (const char *)sqlite3_column_text(ci, 0));
        }
        sqlite3_finalize(ci);
        snprintf(sql, sizeof sql, "SELECT %s FROM \"%s\"", cols, name);
        bool unused;
        int before = *nrows;         /* a table's name counts if it has rows, as in read_state */
        uint64_t th = fnv(*h, name, strlen(name));
        rc = digest_query(db, name, sql, strcmp(name, "meta") == 0, &th, nrows, &unused);
        if (*nrows > before)
            *h = th;
    }
    sqlite3_finalize(st);
    sqlite3_close(rdb);
    sqlite3_close(db);
    return rc;
}

/* One integer a query on the file returns (-1 if none). */
static long long query_int(const char *dbpath, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void exec_sql(const char *dbpath, const char *sql)
{
    sqlite3 *db;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "exec_sql %s: %s\n", sql, sqlite3_errmsg(db));
        test_current_failed = 1;
    }
    sqlite3_close(db);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A scratch meta directory (into dir, 600 bytes) holding release 0.1.0's
 * index (its path into db). */
static int v1_dir(char *dir, char *db, size_t n)
{
    snprintf(dir, 600, "%s", test_tmpdir());
    const char *src = getenv("srcdir");
    char cmd[2000];
    snprintf(cmd, sizeof cmd,
             "tar -xzf '%s/tests/fixtures/v0.1.0/var.tar.gz' -C '%s' var/meta/index.db "
             "&& mv '%s/var/meta/index.db' '%s/index.db' && rm -r '%s/var'",
             src ? src : ".", dir, dir, dir, dir);
    snprintf(db, n, "%s/index.db", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int open_close(const char *dir, cf_err *err)
{
    idx *x;
    if (idx_open(dir, &x, err) < 0)
        return -1;
    idx_close(x);
    return 0;
}

static void backup_path(char *out, size_t n, const char *dir)
{
    snprintf(out, n, "%s/index.db.pre-v%d", dir, idx_schema_version());
}

static void there_is_a_first_migration(void)
{
    CHECK(idx_schema_version() >= 2);
}

static void fresh_index_is_created_at_the_newest_version(void)
{
    const char *dir = test_tmpdir();
    char db[1024], backup[1024];
    cf_err err;
    REQUIRE(open_close(dir, &err) == 0);
    snprintf(db, sizeof db, "%s/index.db", dir);
    db_state s;
    REQUIRE(read_state(db, &s) == 0);
    CHECK_EQ_INT(s.version, idx_schema_version());
    CHECK(s.has_release);
    backup_path(backup, sizeof backup, dir);
    CHECK(!exists(backup));                 /* nothing to keep */
}

static void release_0_1_0_index_migrates_keeping_every_row(void)
{
    char db[1024], backup[1024], fresh_db[1024];
    char keep[600];
    REQUIRE(v1_dir(keep, db, sizeof db) == 0);
    db_state before, after, copy, fresh;
    REQUIRE(read_state(db, &before) == 0);
    CHECK_EQ_INT(before.version, 0);        /* 0.1.0 recorded none */
    REQUIRE(before.nrows > 20);
    char v1copy[1100];
    snprintf(v1copy, sizeof v1copy, "%s.v1", db);
    char cmd[2300];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", db, v1copy);
    REQUIRE(system(cmd) == 0);
    cf_err err;
    REQUIRE(open_close(keep, &err) == 0);
    REQUIRE(read_state(db, &after) == 0);
    CHECK_EQ_INT(after.version, idx_schema_version());
    CHECK(after.has_release);
    /* every row and every column of 0.1.0 kept */
    uint64_t v1_rows;
    int v1_n;
    REQUIRE(read_v1_rows(db, v1copy, &v1_rows, &v1_n) == 0);
    CHECK_EQ_INT(v1_n, before.nrows);
    CHECK(v1_rows == before.rows);
    /* step 2 -> 3 counted what each bucket stores */
    CHECK(!before.has_usage);
    CHECK(after.has_usage && after.usage_exact);
    CHECK(after.usage_objects > 0);
    /* step 4 -> 5: a read-only key keeps read, the others get the four
     * write and read permissions (not bypass-governance) */
    CHECK(query_int(db, "SELECT count(*) FROM access_keys") > 0);
    CHECK_EQ_INT(query_int(db, "SELECT count(*) FROM access_keys WHERE perms <> "
                           "CASE WHEN read_only <> 0 THEN 1 ELSE 15 END "
                           "OR buckets IS NOT NULL OR delete_prefixes IS NOT NULL"), 0);
    /* a migrated index has exactly the schema of a new one */
    const char *fdir = test_tmpdir();
    REQUIRE(open_close(fdir, &err) == 0);
    snprintf(fresh_db, sizeof fresh_db, "%s/index.db", fdir);
    REQUIRE(read_state(fresh_db, &fresh) == 0);
    CHECK(after.schema == fresh.schema);
    CHECK(after.schema != before.schema);
    /* and the old one was kept as it was */
    backup_path(backup, sizeof backup, keep);
    REQUIRE(read_state(backup, &copy) == 0);
    CHECK_EQ_INT(copy.version, 0);
    CHECK(copy.schema == before.schema);
    CHECK(copy.rows == before.rows);
}

/* Step 9 -> 10: a segment queued for heal stays queued, naming no shard
 * bad behind its CRC (what every row queued before meant). */
static void a_queued_heal_keeps_its_place_naming_no_shard(void)
{
    char dir[600], db[1024];
    REQUIRE(v1_dir(dir, db, sizeof db) == 0);
    exec_sql(db, "INSERT INTO heal_queue VALUES (x'00112233445566778899aabbccddeeff', 1234)");
    cf_err err;
    REQUIRE(open_close(dir, &err) == 0);
    CHECK_EQ_INT(query_int(db, "SELECT count(*) FROM heal_queue WHERE data_id = "
                           "x'00112233445566778899aabbccddeeff' AND queued_ms = 1234 "
                           "AND bad = 0"), 1);
}

static void reopening_a_current_index_changes_nothing(void)
{
    char db[1024], backup[1024];
    char keep[600];
    REQUIRE(v1_dir(keep, db, sizeof db) == 0);
    cf_err err;
    REQUIRE(open_close(keep, &err) == 0);
    db_state first, again;
    REQUIRE(read_state(db, &first) == 0);
    backup_path(backup, sizeof backup, keep);
    REQUIRE(unlink(backup) == 0);
    REQUIRE(open_close(keep, &err) == 0);
    REQUIRE(open_close(keep, &err) == 0);
    REQUIRE(read_state(db, &again) == 0);
    CHECK(!exists(backup));                 /* no second migration */
    CHECK_EQ_INT(again.version, first.version);
    CHECK(again.schema == first.schema);
    CHECK(again.rows == first.rows);
}

static void newer_index_is_refused_naming_both_versions(void)
{
    const char *dir = test_tmpdir();
    char db[700], sql[100], want[200];
    cf_err err;
    REQUIRE(open_close(dir, &err) == 0);
    snprintf(db, sizeof db, "%s/index.db", dir);
    int newer = idx_schema_version() + 3;
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", newer);
    exec_sql(db, sql);
    exec_sql(db, "UPDATE meta SET value = '9.1.0' WHERE name = 'schema_release'");
    db_state before, after;
    REQUIRE(read_state(db, &before) == 0);
    CHECK_EQ_INT(open_close(dir, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    snprintf(want, sizeof want, "index schema version %d is newer than this cofferd "
             PACKAGE_VERSION " (knows up to %d): run cofferd 9.1.0 or newer", newer,
             idx_schema_version());
    CHECK_EQ_STR(err.msg, want);
    REQUIRE(read_state(db, &after) == 0);
    CHECK_EQ_INT(after.version, newer);
    CHECK(after.schema == before.schema && after.rows == before.rows);
    /* a newer index that did not say which release wrote it */
    exec_sql(db, "DELETE FROM meta WHERE name = 'schema_release'");
    CHECK_EQ_INT(open_close(dir, &err), -1);
    CHECK(strstr(err.msg, "newer than this cofferd") != NULL);
    CHECK(strstr(err.msg, "run cofferd of the release that wrote it") != NULL);
}

static void a_database_that_is_not_an_index_is_refused(void)
{
    const char *dir = test_tmpdir();
    char db[700];
    cf_err err;
    snprintf(db, sizeof db, "%s/index.db", dir);
    exec_sql(db, "CREATE TABLE photos(id INTEGER PRIMARY KEY)");
    CHECK_EQ_INT(open_close(dir, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    CHECK(strstr(err.msg, "not those of release 0.1.0") != NULL);
    exec_sql(db, "PRAGMA user_version = -4");
    CHECK_EQ_INT(open_close(dir, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    /* 0.1.0's tables with one column changed are not 0.1.0's */
    char v1[1024], keep[600];
    REQUIRE(v1_dir(keep, v1, sizeof v1) == 0);
    exec_sql(v1, "ALTER TABLE tenants ADD COLUMN quota INTEGER");
    CHECK_EQ_INT(open_close(keep, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
}

static int fault_at;
static int fault_calls;

static int fail_step(int version)
{
    fault_calls++;
    return version == fault_at ? -1 : 0;
}

static int kill_step(int version)
{
    if (version == fault_at)
        raise(SIGKILL);
    return 0;
}

/* The old index after a failed or killed migration: exactly as before. */
static void check_unchanged(const char *db, const db_state *before)
{
    db_state now;
    REQUIRE(read_state(db, &now) == 0);
    CHECK_EQ_INT(now.version, before->version);
    CHECK(now.schema == before->schema);
    CHECK(now.rows == before->rows);
    CHECK(!now.has_release);
    CHECK(!now.has_usage);
}

/* ... and the next open migrates it. */
static void check_migrates_now(const char *dir, const char *db, const db_state *before)
{
    char v1copy[1100], cmd[2300];
    snprintf(v1copy, sizeof v1copy, "%s.v1", db);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", db, v1copy);
    REQUIRE(system(cmd) == 0);
    cf_err err;
    REQUIRE(open_close(dir, &err) == 0);
    db_state after;
    REQUIRE(read_state(db, &after) == 0);
    CHECK_EQ_INT(after.version, idx_schema_version());
    uint64_t v1_rows;
    int v1_n;
    REQUIRE(read_v1_rows(db, v1copy, &v1_rows, &v1_n) == 0);
    CHECK(v1_rows == before->rows);
    CHECK(after.has_usage && after.usage_exact);
}

/* A migration failed in process at fault_at. */
static void fail_at_step(const char *dir)
{
    cf_err err;
    idx_migrate_fault = fail_step;
    CHECK_EQ_INT(open_close(dir, &err), -1);
    idx_migrate_fault = NULL;
    char want[80];
    snprintf(want, sizeof want, "schema version %d -> %d failed, the index is unchanged",
             fault_at - 1, fault_at);
    CHECK(strstr(err.msg, want) != NULL);
}

/* A migrating process SIGKILLed at fault_at. */
static void kill_at_step(const char *dir)
{
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        cf_err err;
        idx_migrate_fault = kill_step;
        open_close(dir, &err);
        _exit(0);                           /* the hook did not run: a failure */
    }
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* Release 0.1.0's index interrupted after each step in turn is left as it
 * was, and then migrates. */
static void interrupt_each_step(void (*interrupt)(const char *dir))
{
    char db[1024], keep[600];
    REQUIRE(v1_dir(keep, db, sizeof db) == 0);
    db_state before;
    REQUIRE(read_state(db, &before) == 0);
    for (fault_at = 2; fault_at <= idx_schema_version(); fault_at++) {
        interrupt(keep);
        check_unchanged(db, &before);
    }
    check_migrates_now(keep, db, &before);
}

static void failed_step_leaves_the_old_version(void)
{
    interrupt_each_step(fail_at_step);
}

static void killed_migration_leaves_the_old_version(void)
{
    interrupt_each_step(kill_at_step);
}

static void failed_creation_leaves_an_empty_file_that_opens_later(void)
{
    const char *dir = test_tmpdir();
    char db[700];
    cf_err err;
    fault_at = idx_schema_version();
    fault_calls = 0;
    idx_migrate_fault = fail_step;
    CHECK_EQ_INT(open_close(dir, &err), -1);
    idx_migrate_fault = NULL;
    CHECK_EQ_INT(fault_calls, idx_schema_version() - 1);   /* every step ran */
    snprintf(db, sizeof db, "%s/index.db", dir);
    db_state s;
    REQUIRE(read_state(db, &s) == 0);
    CHECK_EQ_INT(s.version, 0);
    CHECK_EQ_INT(s.nrows, 0);
    REQUIRE(open_close(dir, &err) == 0);
    REQUIRE(read_state(db, &s) == 0);
    CHECK_EQ_INT(s.version, idx_schema_version());
}

/* Each row of `EXPLAIN QUERY PLAN` (detail, column 3) or of `EXPLAIN`
 * (opcode, column 1) of sql on a fresh index, into out (one a line). */
static int explain(const char *dir, const char *how, const char *sql, int col, char *out,
                   size_t n)
{
    char db[700], q[2048];
    snprintf(db, sizeof db, "%s/index.db", dir);
    snprintf(q, sizeof q, "%s %s", how, sql);
    sqlite3 *h;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    size_t len = 0;
    out[0] = 0;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, q, -1, &st, NULL) == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && len < n)
            len += (size_t)snprintf(out + len, n - len, "%s\n",
                                    (const char *)sqlite3_column_text(st, col));
        rc = rc == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return rc;
}

static int count_lines_with(const char *text, const char *word)
{
    int n = 0;
    for (const char *l = text, *end; (end = strchr(l, '\n')) != NULL; l = end + 1) {
        const char *w = strstr(l, word);
        n += w && w < end;
    }
    return n;
}

/* The quota probe: every search by a whole primary key (the bucket's
 * rowid, the tenant's and the bucket's quota rows), no scan, and no
 * ephemeral table (an IN list or a join against constant rows would
 * build one, a pager of its own, at every PUT). */
static void quota_probe_is_primary_key_searches_only(void)
{
    const char *dir = test_tmpdir();
    cf_err err;
    REQUIRE(open_close(dir, &err) == 0);
    char plan[4096], ops[16384];
    REQUIRE(explain(dir, "EXPLAIN QUERY PLAN", quota_probe_sql, 3, plan, sizeof plan) == 0);
    REQUIRE(explain(dir, "EXPLAIN", quota_probe_sql, 1, ops, sizeof ops) == 0);
    int searches = count_lines_with(plan, "SEARCH ");
    CHECK(searches >= 3);
    CHECK_EQ_INT(count_lines_with(plan, "USING INTEGER PRIMARY KEY (rowid=?)") +
                 count_lines_with(plan, "USING PRIMARY KEY (tenant_id=? AND bucket_id=?)"),
                 searches);
    CHECK_EQ_INT(count_lines_with(plan, "SEARCH q USING PRIMARY KEY (tenant_id=? AND "
                                        "bucket_id=?)"), 2);
    CHECK_EQ_INT(count_lines_with(plan, "SCAN"), 0);
    CHECK_EQ_INT(count_lines_with(ops, "OpenEphemeral"), 0);
    CHECK_EQ_INT(count_lines_with(ops, "OpenAutoindex"), 0);
    if (test_current_failed)
        fprintf(stderr, "plan:\n%s", plan);
}

TEST_MAIN("index",
          T(there_is_a_first_migration),
          T(fresh_index_is_created_at_the_newest_version),
          T(release_0_1_0_index_migrates_keeping_every_row),
          T(a_queued_heal_keeps_its_place_naming_no_shard),
          T(reopening_a_current_index_changes_nothing),
          T(newer_index_is_refused_naming_both_versions),
          T(a_database_that_is_not_an_index_is_refused),
          T(failed_step_leaves_the_old_version),
          T(killed_migration_leaves_the_old_version),
          T(failed_creation_leaves_an_empty_file_that_opens_later),
          T(quota_probe_is_primary_key_searches_only))
