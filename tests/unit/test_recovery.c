/*
 * tests/unit/test_recovery.c - a missing or wrong index never destroys a
 * set (issue 8), on real directories:
 *   - every start without the disks' own index is refused with
 *     CF_ENOINDEX and advice naming the newest snapshot, and changes no
 *     file anywhere under the fixture (the whole tree is digested before
 *     and after); blank disks under another set's index are not
 *     formatted; a missing master key is refused, never regenerated;
 *   - st_restore_index brings a set back from its newest snapshot (every
 *     object it held reads back byte for byte), keeps the files written
 *     after it, and refuses what it must not replace;
 *   - GC deletes only orphans newer than the index, holds a burst above
 *     the bound until force_orphans;
 *   - snapshot generations: the newest few, one a day, the much larger
 *     one and other lineages' files survive rounds and restarts.
 */
#include "tests/unit/test.h"
#include "tests/unit/engine_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define B (1u << 20)

/* ---- helpers ---------------------------------------------------------- */

static int sql(const char *db_path, const char *stmt)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(db_path, &db) == SQLITE_OK
           ? sqlite3_exec(db, stmt, NULL, NULL, NULL) : SQLITE_ERROR;
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}
static void age_file(const char *path, int64_t seconds)
{
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= seconds;
    ts[1] = ts[0];
    utimensat(AT_FDCWD, path, ts, 0);
}

/* Digest of a whole tree: every entry's path, type, size, mode and mtime,
 * and every file's content. */
static char **tree_lines;
static size_t tree_n, tree_cap;
static size_t tree_root_len;

static uint64_t fnv_file(const char *path)
{
    uint64_t h = 1469598103934665603ULL;
    FILE *f = fopen(path, "rb");
    int c;
    while (f && (c = getc(f)) != EOF)
        h = (h ^ (uint64_t)c) * 1099511628211ULL;
    if (f)
        fclose(f);
    return h;
}

static int tree_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    char line[1200];
    snprintf(line, sizeof line, "%s %d %lld %o %lld.%09ld %llx", path + tree_root_len, type,
             (long long)st->st_size, (unsigned)st->st_mode, (long long)st->st_mtim.tv_sec,
             st->st_mtim.tv_nsec,
             (unsigned long long)(S_ISREG(st->st_mode) ? fnv_file(path) : 0));
    if (tree_n == tree_cap) {
        tree_cap = tree_cap ? 2 * tree_cap : 1024;
        tree_lines = realloc(tree_lines, tree_cap * sizeof *tree_lines);
    }
    tree_lines[tree_n++] = strdup(line);
    return 0;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint64_t tree_digest(const char *root)
{
    tree_n = 0;
    tree_root_len = strlen(root);
    nftw(root, tree_visit, 32, FTW_PHYS);
    qsort(tree_lines, tree_n, sizeof *tree_lines, by_string);
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < tree_n; i++) {
        for (const char *p = tree_lines[i]; *p; p++)
            h = (h ^ (uint8_t)*p) * 1099511628211ULL;
        h = (h ^ '\n') * 1099511628211ULL;
        free(tree_lines[i]);
    }
    return h;
}

static st_engine *setup(eng_fixture *f, int ndisks, int k, int m)
{
    return fixture_setup(f, test_tmpdir(), ndisks, k, m, false);
}

static int snapshot(st_engine *e)
{
    int copies = 0;
    cf_err err;
    if (st_snapshot(e, &copies, &err) < 0)
        fprintf(stderr, "snapshot: %s\n", err.msg);
    return copies;
}

/* Generation files (index-*.db) in DISK/snapshots. */
static int count_generations(const char *disk)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/snapshots", disk);
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d)) != NULL)
        n += strncmp(de->d_name, "index-", 6) == 0;
    if (d)
        closedir(d);
    return n;
}

/* The path of the only (or first) generation of disk with commit number
 * `commit`, or of any generation when commit is 0. */
static bool find_generation(const char *disk, uint64_t commit, char out[800])
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/snapshots", disk);
    DIR *d = opendir(dir);
    struct dirent *de;
    bool found = false;
    while (!found && d && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (strncmp(de->d_name, "index-", 6) != 0 || len < 16)
            continue;
        if (commit && strtoull(de->d_name + len - 15, NULL, 10) != commit)
            continue;
        found = snprintf(out, 800, "%s/%s", dir, de->d_name) < 800;
    }
    if (d)
        closedir(d);
    return found;
}

static uint64_t commit_number(st_engine *e)
{
    st_index_stats s;
    st_index_stats_get(e, &s);
    return s.commit_number;
}

/* ---- refused starts ------------------------------------------------------ */

/* st_open must refuse with CF_ENOINDEX and `why`, change nothing under the
 * fixture, and its advice must name the snapshot and the restore. */
static void expect_refused(eng_fixture *f, const char *why, const char *snapshot)
{
    uint64_t before = tree_digest(f->root);
    st_engine *e = NULL;
    cf_err err;
    CHECK_EQ_INT(st_open(&f->cfg, &e, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOINDEX);
    if (!strstr(err.msg, why)) {
        fprintf(stderr, "  refusal \"%s\" lacks \"%s\"\n", err.msg, why);
        test_current_failed = 1;
    }
    char *advice = st_recovery_advice(&f->cfg, "-c /etc/coffer.json", &err);
    CHECK(advice != NULL);
    if (advice && snapshot) {
        CHECK(strstr(advice, strrchr(snapshot, '/')) != NULL);   /* on some disk */
        CHECK(strstr(advice, "coffer restore-index -c /etc/coffer.json") != NULL);
        CHECK(strstr(advice, "rebuild-index") != NULL);
    }
    free(advice);
    CHECK(tree_digest(f->root) == before);
}

static void refused_without_the_disks_own_index(void)
{
    eng_fixture f, g;
    st_engine *e = setup(&f, 4, 2, 2);
    REQUIRE(e);
    cf_err err;
    REQUIRE(put_gen(e, "b", "small", 3000, 1, NULL, &err) == 0);
    REQUIRE(put_gen(e, "b", "big", 2 * B + 1, 2, NULL, &err) == 0);
    REQUIRE(snapshot(e) == 4);
    char snap[800];
    REQUIRE(find_generation(f.disks[3], 0, snap));
    REQUIRE(put_gen(e, "b", "later", 10, 3, NULL, &err) == 0);
    st_close(e);
    e = setup(&g, 4, 2, 2);
    REQUIRE(e);
    st_close(e);
    REQUIRE(test_sh("cp -a '%s' '%s.saved'", f.meta, f.meta) == 0);
#define RESET() \
    REQUIRE(test_sh("rm -rf '%s' && cp -a '%s.saved' '%s'", f.meta, f.meta, f.meta) == 0)

    REQUIRE(test_sh("rm -rf '%s'", f.meta) == 0);                  /* deleted */
    expect_refused(&f, "is missing", snap);
    CHECK(access(f.meta, F_OK) != 0);
    REQUIRE(mkdir(f.meta, 0700) == 0);                        /* an empty directory */
    expect_refused(&f, "is missing", snap);
    char index[800];
    snprintf(index, sizeof index, "%s/index.db", f.meta);
    write_text(index, "");                                    /* an empty file */
    expect_refused(&f, "is empty", snap);
    write_text(index, "not a database, but a file someone left here\n");
    expect_refused(&f, "not a readable database", snap);
    RESET();                                                  /* another set's */
    REQUIRE(test_sh("cp '%s/index.db' '%s/index.db'", g.meta, f.meta) == 0);
    expect_refused(&f, "index of disk set", snap);
    RESET();                                                  /* a hand copy */
    REQUIRE(test_sh("cp '%s' '%s/index.db'", snap, f.meta) == 0);
    expect_refused(&f, "snapshot copied", snap);
    RESET();                                                  /* another lineage */
    REQUIRE(sql(index, "UPDATE meta SET value = zeroblob(16) WHERE name = 'lineage'") == 0);
    expect_refused(&f, "another lineage", snap);
    RESET();

    /* older than a snapshot of its own: an old copy of meta_dir */
    e = fixture_open(&f);
    REQUIRE(e);
    REQUIRE(put_gen(e, "b", "newer", 10, 4, NULL, &err) == 0);
    REQUIRE(snapshot(e) == 4);
    st_close(e);
    REQUIRE(test_sh("mv '%s' '%s.new' && cp -a '%s.saved' '%s'", f.meta, f.meta, f.meta,
               f.meta) == 0);
    expect_refused(&f, "older than a snapshot", NULL);
    REQUIRE(test_sh("rm -rf '%s' && mv '%s.new' '%s'", f.meta, f.meta, f.meta) == 0);
#undef RESET

    /* and the disks' own index still opens, everything intact */
    e = fixture_open(&f);
    REQUIRE(e);
    CHECK_EQ_INT(check_gen(e, "b", "small", 3000, 1, &err), 1);
    CHECK_EQ_INT(check_gen(e, "b", "big", 2 * B + 1, 2, &err), 1);
    CHECK_EQ_INT(check_gen(e, "b", "later", 10, 3, &err), 1);
    CHECK_EQ_INT(check_gen(e, "b", "newer", 10, 4, &err), 1);
    st_close(e);
}

static void blank_disks_under_a_sets_index_are_not_formatted(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 4, 2, 2);
    REQUIRE(e);
    st_close(e);
    for (int i = 0; i < 4; i++)              /* the disks did not mount */
        REQUIRE(test_sh("mv '%s' '%s.away'", f.disks[i], f.disks[i]) == 0);
    expect_refused(&f, "none is formatted", NULL);
    for (int i = 0; i < 4; i++) {
        CHECK(access(f.disks[i], F_OK) != 0);
        REQUIRE(mkdir(f.disks[i], 0700) == 0);  /* empty mount points */
    }
    expect_refused(&f, "none is formatted", NULL);
    char path[800];
    snprintf(path, sizeof path, "%s/format.json", f.disks[0]);
    CHECK(access(path, F_OK) != 0);
}

static void missing_master_key_is_refused_never_regenerated(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 4, 2, 2);
    REQUIRE(e);
    st_close(e);
    REQUIRE(test_sh("mv '%s' '%s.backup'", f.keyfile, f.keyfile) == 0);
    uint64_t before = tree_digest(f.root);
    cf_err err;
    CHECK(f.cfg.create_master_key);
    CHECK_EQ_INT(st_open(&f.cfg, &e, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECRYPTO);
    CHECK(strstr(err.msg, "master key file") && strstr(err.msg, "missing"));
    CHECK(access(f.keyfile, F_OK) != 0);
    CHECK(tree_digest(f.root) == before);
    REQUIRE(test_sh("mv '%s.backup' '%s'", f.keyfile, f.keyfile) == 0);
    e = fixture_open(&f);
    CHECK(e != NULL);
    st_close(e);
}

/* ---- restore-index ------------------------------------------------------- */

static void collect(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "  restore: %s\n", line);
}

static void restore_brings_the_set_back(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 6, 4, 2);
    REQUIRE(e);
    cf_err err;
    REQUIRE(put_gen(e, "b", "inline", 5000, 1, NULL, &err) == 0);
    REQUIRE(put_gen(e, "b", "sharded", 3 * B + 17, 2, NULL, &err) == 0);
    REQUIRE(put_gen(e, "b", "empty", 0, 3, NULL, &err) == 0);
    REQUIRE(snapshot(e) == 6);
    REQUIRE(put_gen(e, "b", "after", 300000, 4, NULL, &err) == 0);   /* 6 shard files */
    st_close(e);
    int files = count_shard_files(&f, 6);
    REQUIRE(test_sh("rm -rf '%s'", f.meta) == 0);

    st_restore_report rep;
    REQUIRE(st_restore_index(&f.cfg, NULL, collect, NULL, NULL, &rep, &err) == 0);
    CHECK_EQ_INT(rep.objects, 3);
    CHECK_EQ_INT(rep.buckets, 1);
    CHECK_EQ_INT(rep.tenants, 1);
    CHECK_EQ_INT(rep.segments, 1);
    CHECK_EQ_INT(rep.segments_short, 0);
    CHECK_EQ_INT(rep.files_not_in_index, 6);
    CHECK(strstr(rep.snapshot, "/snapshots/index-") != NULL);

    e = fixture_open(&f);
    REQUIRE(e);
    CHECK_EQ_INT(check_gen(e, "b", "inline", 5000, 1, &err), 1);
    CHECK_EQ_INT(check_gen(e, "b", "sharded", 3 * B + 17, 2, &err), 1);
    CHECK_EQ_INT(check_gen(e, "b", "empty", 0, 3, &err), 1);
    st_object_info info;
    CHECK_EQ_INT(st_head(e, "t1", "b", "after", &info, &err), -1);
    /* the files of "after" are older than the restored index: kept */
    st_gc_stats gs = {0};
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 0, .force_orphans = true}, &gs, &err) == 0);
    CHECK_EQ_INT(gs.orphan_files, 0);
    CHECK_EQ_INT(gs.orphans_older_than_index, 6);
    CHECK_EQ_INT(count_shard_files(&f, 6), files);
    /* it goes on: writes, snapshots numbered above every earlier one */
    REQUIRE(put_gen(e, "b", "new", 100, 5, NULL, &err) == 0);
    REQUIRE(snapshot(e) == 6);
    st_close(e);
    e = fixture_open(&f);
    REQUIRE(e);
    CHECK_EQ_INT(check_gen(e, "b", "new", 100, 5, &err), 1);
    st_close(e);

    /* the current index is never replaced */
    CHECK_EQ_INT(st_restore_index(&f.cfg, NULL, collect, NULL, NULL, &rep, &err), -1);
    CHECK_EQ_INT(err.code, CF_EEXISTS);
}

static void restore_checks_what_it_restores(void)
{
    eng_fixture f, g;
    st_engine *e = setup(&f, 4, 2, 2);
    REQUIRE(e);
    cf_err err;
    REQUIRE(put_gen(e, "b", "x", 2 * B, 1, NULL, &err) == 0);
    REQUIRE(snapshot(e) == 4);
    st_close(e);
    e = setup(&g, 4, 2, 2);
    REQUIRE(e);
    st_close(e);
    char good[800], broken[800], index[800];
    REQUIRE(find_generation(f.disks[1], 0, good));
    snprintf(broken, sizeof broken, "%s/broken.db", f.root);
    snprintf(index, sizeof index, "%s/index.db", f.meta);
    REQUIRE(test_sh("head -c 3000 '%s' >'%s'", good, broken) == 0);
    REQUIRE(test_sh("rm -rf '%s'", f.meta) == 0);
    st_restore_report rep;

    /* another master key: no snapshot is usable, nothing is written */
    st_config other = f.cfg;
    other.master_key_hex = "00000000000000000000000000000000000000000000000000000000000000ff";
    CHECK_EQ_INT(st_restore_index(&other, NULL, collect, NULL, NULL, &rep, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOTFOUND);
    CHECK_EQ_INT(rep.rejected, 4);
    CHECK(access(index, F_OK) != 0);
    /* --from a damaged file, then --from a good one */
    CHECK_EQ_INT(st_restore_index(&f.cfg, broken, collect, NULL, NULL, &rep, &err), -1);
    CHECK(access(index, F_OK) != 0);
    REQUIRE(st_restore_index(&f.cfg, good, collect, NULL, NULL, &rep, &err) == 0);
    CHECK_EQ_STR(rep.snapshot, good);
    e = fixture_open(&f);
    REQUIRE(e);
    CHECK_EQ_INT(check_gen(e, "b", "x", 2 * B, 1, &err), 1);
    st_close(e);

    /* another set's index in meta_dir is not overwritten */
    REQUIRE(test_sh("cp '%s/index.db' '%s'", g.meta, index) == 0);
    uint64_t before = tree_digest(f.meta);
    CHECK_EQ_INT(st_restore_index(&f.cfg, NULL, collect, NULL, NULL, &rep, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    CHECK(tree_digest(f.meta) == before);
    /* a damaged index.db is moved aside, not deleted */
    write_text(index, "garbage");
    REQUIRE(st_restore_index(&f.cfg, NULL, collect, NULL, NULL, &rep, &err) == 0);
    CHECK(rep.moved_aside[0] != '\0' && access(rep.moved_aside, F_OK) == 0);
}

/* ---- GC ---------------------------------------------------------------- */

static void orphan(const eng_fixture *f, int disk, const char *sub, const char *name,
                   char out[800])
{
    snprintf(out, 800, "%s/%s/%s", f->disks[disk], sub, name);
    write_text(out, "left over");
}

static void gc_deletes_only_what_this_index_could_have_left(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 4, 2, 2);
    REQUIRE(e);
    cf_err err;
    REQUIRE(put_gen(e, "b", "x", 200000, 1, NULL, &err) == 0);
    char young[800], old[800], foreign[800], tmp_young[800], tmp_old[800];
    orphan(&f, 0, "objects/ab", "abababababababababababababababab", young);
    orphan(&f, 1, "objects/cd", "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", old);
    orphan(&f, 2, "objects/ef", "notes.txt", foreign);
    orphan(&f, 3, "tmp", "01010101010101010101010101010101", tmp_young);
    orphan(&f, 3, "tmp", "02020202020202020202020202020202", tmp_old);
    age_file(old, 86400);                    /* written before this index */
    age_file(tmp_old, 86400);
    st_gc_stats gs = {0};
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 0, .force_orphans = true}, &gs, &err) == 0);
    CHECK_EQ_INT(gs.orphan_files, 2);
    CHECK_EQ_INT(gs.orphans_older_than_index, 2);
    CHECK_EQ_INT(gs.foreign_files, 1);
    CHECK_EQ_INT(gs.files_scanned, 4 + 5);
    CHECK(access(young, F_OK) != 0 && access(tmp_young, F_OK) != 0);
    CHECK(access(old, F_OK) == 0 && access(tmp_old, F_OK) == 0);
    CHECK(access(foreign, F_OK) == 0);
    CHECK_EQ_INT(check_gen(e, "b", "x", 200000, 1, &err), 1);
    st_close(e);
}

static void gc_holds_a_burst_of_orphans(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 4, 2, 2);
    REQUIRE(e);
    cf_err err;
    REQUIRE(put_gen(e, "b", "x", 200000, 1, NULL, &err) == 0);
    enum { BURST = ST_GC_MIN_ORPHAN_BOUND + 50 };
    char paths[BURST][800];
    for (int i = 0; i < BURST; i++) {
        char name[40], sub[16];
        snprintf(name, sizeof name, "%02x%030x", i, i);
        snprintf(sub, sizeof sub, "objects/%02x", i);
        orphan(&f, i % 4, sub, name, paths[i]);
    }
    st_gc_stats gs = {0}, last;
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 0}, &gs, &err) == 0);
    CHECK(gs.held);
    CHECK_EQ_INT(gs.orphans_held, BURST);
    CHECK_EQ_INT(gs.orphan_files, 0);
    CHECK_EQ_INT(gs.orphan_bound, ST_GC_MIN_ORPHAN_BOUND);
    int left = 0;
    for (int i = 0; i < BURST; i++)
        left += access(paths[i], F_OK) == 0;
    CHECK_EQ_INT(left, BURST);
    CHECK(st_gc_last(e, &last) > 0 && last.held && last.orphans_held == BURST);
    /* the operator confirms */
    memset(&gs, 0, sizeof gs);
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 0, .force_orphans = true}, &gs, &err) == 0);
    CHECK(!gs.held);
    CHECK_EQ_INT(gs.orphan_files, BURST);
    CHECK(st_gc_last(e, &last) > 0 && !last.held);
    CHECK_EQ_INT(count_shard_files(&f, 4), 4);
    CHECK_EQ_INT(check_gen(e, "b", "x", 200000, 1, &err), 1);
    st_close(e);

    /* a configured bound below the floor holds sooner */
    f.cfg.gc_max_orphans = 10;
    e = fixture_open(&f);
    REQUIRE(e);
    for (int i = 0; i < 11; i++) {
        char name[40];
        snprintf(name, sizeof name, "ab%030x", i);
        orphan(&f, 0, "objects/ab", name, paths[i]);
    }
    memset(&gs, 0, sizeof gs);
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 0}, &gs, &err) == 0);
    CHECK(gs.held && gs.orphan_bound == 10 && gs.orphan_files == 0);
    st_close(e);
}

/* ---- snapshot generations ---------------------------------------------- */

/* A copy of generation src named for commit, its time set back by days. */
static void forge_generation(const char *src, const char *disk, const char *lineage_hex,
                             uint64_t commit, int days, char out[800])
{
    snprintf(out, 800, "%s/snapshots/index-%s-%012llu.db", disk, lineage_hex,
             (unsigned long long)commit);
    if (test_sh("cp '%s' '%s'", src, out) != 0)
        return;
    char stmt[200];
    snprintf(stmt, sizeof stmt, "UPDATE meta SET value = value - %lld WHERE name = "
             "'snapshot_ms'", (long long)days * 86400000LL);
    if (sql(out, stmt) != 0)
        fprintf(stderr, "forge: cannot update %s\n", out);
}

static void snapshot_generations_keep_history(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 2, 1, 1);
    REQUIRE(e);
    cf_err err;
    /* rounds and restarts: the newest three stay */
    for (int round = 0; round < 6; round++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", round);
        REQUIRE(put_gen(e, "b", key, 100, (uint64_t)round, NULL, &err) == 0);
        CHECK_EQ_INT(snapshot(e), 2);
        if (round % 2) {
            st_close(e);
            e = fixture_open(&f);
            REQUIRE(e);
        }
    }
    CHECK_EQ_INT(count_generations(f.disks[0]), 3);
    CHECK_EQ_INT(count_generations(f.disks[1]), 3);
    /* a round without a commit writes nothing, after a clean restart too */
    CHECK_EQ_INT(snapshot(e), 0);
    char path[800];
    REQUIRE(find_generation(f.disks[0], 0, path));

    /* older days, another lineage's newest, a much larger index */
    st_index_stats ix;
    st_index_stats_get(e, &ix);
    char d1[800], d3[800], d10[800], foreign[800];
    forge_generation(path, f.disks[0], ix.lineage, 1, 1, d1);
    forge_generation(path, f.disks[0], ix.lineage, 2, 3, d3);
    forge_generation(path, f.disks[0], ix.lineage, 3, 10, d10);
    forge_generation(path, f.disks[0], "0123456789abcdef0123456789abcdef", 999999, 0,
                     foreign);
    for (int i = 0; i < 30; i++) {
        char key[16];
        snprintf(key, sizeof key, "bulk%d", i);
        REQUIRE(put_gen(e, "b", key, 10, 7, NULL, &err) == 0);
    }
    REQUIRE(snapshot(e) == 2);
    uint64_t large = commit_number(e);
    for (int i = 0; i < 30; i++) {
        char key[16];
        snprintf(key, sizeof key, "bulk%d", i);
        REQUIRE(st_delete(e, "t1", "b", key, &err) == 0);
    }
    for (int round = 0; round < 4; round++) {
        REQUIRE(put_gen(e, "b", "tick", 10, (uint64_t)round, NULL, &err) == 0);
        REQUIRE(snapshot(e) == 2);
        st_close(e);
        e = fixture_open(&f);
        REQUIRE(e);
    }
    CHECK(access(d1, F_OK) == 0);            /* one a day for a week */
    CHECK(access(d3, F_OK) == 0);
    CHECK(access(d10, F_OK) != 0);
    CHECK(access(foreign, F_OK) == 0);       /* never another lineage's */
    CHECK(find_generation(f.disks[0], large, path));  /* the way back */
    CHECK(find_generation(f.disks[1], large, path));
    /* newest three + the large one on disk 1; plus two days and the
     * foreign file on disk 0 */
    CHECK_EQ_INT(count_generations(f.disks[1]), 4);
    CHECK_EQ_INT(count_generations(f.disks[0]), 7);
    st_close(e);
}

TEST_MAIN("recovery",
          T(refused_without_the_disks_own_index),
          T(blank_disks_under_a_sets_index_are_not_formatted),
          T(missing_master_key_is_refused_never_regenerated),
          T(restore_brings_the_set_back),
          T(restore_checks_what_it_restores),
          T(gc_deletes_only_what_this_index_could_have_left),
          T(gc_holds_a_burst_of_orphans),
          T(snapshot_generations_keep_history))
