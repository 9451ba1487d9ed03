/*
 * tests/unit/test_faults.c - disk trouble mid-PUT (issue 12 points 8 and
 * 9), driven through the fault-injection hook (common/fio.h) over every N
 * of a workload, the way SQLite tests its I/O error paths. Needs a build
 * configured with --enable-fault-injection (make check-faults); without
 * the hook it is skipped (exit 77).
 *
 *  - One disk dies mid-PUT (its N-th write, fsync or rename fails with
 *    EIO, ENOSPC or EROFS, and every later one): the PUT still completes
 *    on the remaining quorum, reads back byte for byte, the disk's write
 *    error counter says so, and once the disk is back heal restores full
 *    redundancy (heal --all then finds no shard missing).
 *  - The N-th write, fsync or rename of the whole process fails once: the
 *    PUT either succeeds and reads back exactly, or fails and leaves
 *    nothing visible; the objects acknowledged before it are untouched.
 *  - The same two for a PUT whose shards go to pack files (pack.h), and a
 *    kill at each operation on a pack before the index commit: nothing
 *    visible, the dead appends' packs taken by gc; and a kill at each
 *    file operation of a pack compaction: no live shard lost.
 *  - The N-th WAL fdatasync fails: the index refuses further writes (the
 *    sticky path) rather than acknowledge what may not be durable; after
 *    a restart every acknowledged object reads back and the refused one is
 *    whole or absent.
 *  - Beyond PUT: a disk failing its reads mid-GET (the GET stays exact,
 *    the segment is queued; m + 1 failing disks refuse it); a failure on
 *    the disk a heal fills (the segment stays queued, the next heal
 *    restores it); a read failing mid-scrub (rewritten, nothing lost); a
 *    failure mid-snapshot (it lands on the other disks); a failure
 *    mid-completion of a multipart upload (completed, or the upload left
 *    for a retry); a failed unlink mid-GC (the file stays for the next
 *    GC, nothing live is touched).
 *  - An O_DIRECT write of a shard file refused (EINVAL): that file goes on
 *    buffered, the PUT completes with no disk error.
 */
#include "common/fio.h"
#include "tests/unit/test.h"
#include "tests/unit/engine_util.h"
#include "storage/shardout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OBJ_SIZE (3u << 20)          /* several blocks, several writes per shard */
#define MAX_N 400                     /* a bound, far above a PUT's operations */
#define PACKED_SIZE (200u << 10)     /* one block: its shards go to pack files */

static const char *const classes[] = {"write", "fsync", "rename"};
static const char *const errnos[] = {"EIO", "ENOSPC", "EROFS"};

static int heal_all(st_engine *e, st_check_stats *hs)
{
    cf_err err;
    st_check_opts o = {0};
    int rc = st_heal_all(e, &o, hs, &err);
    if (rc < 0)
        fprintf(stderr, "  heal --all: %s\n", err.msg);
    return rc;
}

/* Open the fixture with pack files on (pack: every one-block PUT packed). */
static st_engine *setup_packing(eng_fixture *f, bool pack)
{
    st_engine *e = fixture_setup(f, test_tmpdir(), 6, 4, 2, true);
    if (!e || !pack)
        return e;
    st_close(e);
    f->cfg.pack_shard_max = 1u << 20;
    return fixture_open(f);
}

/* Classes a PUT of size bytes goes through: a packed one renames nothing. */
static size_t classes_for(bool pack)
{
    return pack ? 2 : sizeof classes / sizeof classes[0];
}

/* The path part that names disk i of the fixture in a rule: its whole
 * directory and a slash. Its name alone ("d3/") would not do: d3 is also a
 * fan-out directory of every disk (objects/d3/), so for a shard whose id
 * starts with d3 (one segment in 256) the rule would fail its rename, reads
 * and unlinks on all six disks: a PUT "with one disk dying" then failed. */
#define PART_MAX (sizeof ((eng_fixture *)0)->disks[0] + 1)
#define RULE_MAX (PART_MAX + 64)

static void disk_part(const eng_fixture *f, int i, char out[PART_MAX])
{
    snprintf(out, PART_MAX, "%s/", f->disks[i]);
}

static void one_disk_dying(uint64_t size, bool pack)
{
    eng_fixture f;
    st_engine *e = setup_packing(&f, pack);
    REQUIRE(e);
    char part[PART_MAX];
    disk_part(&f, 3, part);
    cf_err err;
    int fired_total = 0;
    for (size_t c = 0; c < classes_for(pack); c++) {
        int fired_class = 0;
        for (int n = 1; n <= MAX_N; n++) {
            char rule[RULE_MAX], key[64];
            const char *en = errnos[(size_t)n % 3];
            snprintf(rule, sizeof rule, "%s@%d+=%s:%s", classes[c], n, en, part);
            snprintf(key, sizeof key, "%s-%d", classes[c], n);
            st_disk_info before;
            st_disk_get(e, 3, &before);
            REQUIRE(fio_fault_set(rule) == 0);
            st_object_info info;
            int rc = put_gen(e, "b", key, size, (uint64_t)n * 7 + c, &info, &err);
            bool fired = fio_fault_fired();
            fio_fault_set(NULL);
            if (rc != 0) {
                fprintf(stderr, "  %s: PUT failed with one disk down: %s\n", rule, err.msg);
                test_current_failed = 1;
                break;
            }
            CHECK_EQ_INT(check_gen(e, "b", key, size, (uint64_t)n * 7 + c, &err), 1);
            if (!fired)
                break;                /* past the PUT's last operation on that disk */
            fired_total++;
            fired_class++;
            st_disk_info after;
            st_disk_get(e, 3, &after);
            st_gc_stats hs = {0};
            CHECK_EQ_INT(st_heal(e, &hs, &err), 0);
            st_check_stats cs;
            REQUIRE(heal_all(e, &cs) == 0);
            if (cs.shards_missing != 0 || cs.lost_objects != 0) {
                fprintf(stderr, "  %s: after heal %llu shards missing, %llu objects lost "
                        "(write errors %llu -> %llu)\n", rule,
                        (unsigned long long)cs.shards_missing,
                        (unsigned long long)cs.lost_objects,
                        (unsigned long long)before.write_errors,
                        (unsigned long long)after.write_errors);
                test_current_failed = 1;
            }
        }
        CHECK(fired_class > 0);       /* the sweep really hit the disk */
        fprintf(stderr, "  %s: the disk died at each of %d operations\n", classes[c],
                fired_class);
    }
    /* the shard writes that failed were counted against disk 3 */
    st_disk_info d3;
    st_disk_get(e, 3, &d3);
    CHECK(d3.write_errors > 0);
    fprintf(stderr, "  %d PUTs survived a disk dying at one of their operations\n",
            fired_total);
    st_close(e);
}

static void one_disk_dying_mid_put_leaves_the_put_whole_on_the_others(void)
{
    one_disk_dying(OBJ_SIZE, false);
}

/* The same for a PUT whose shards are pack records: a disk whose append or
 * shared fdatasync fails drops out of that PUT; heal writes its shard. */
static void one_disk_dying_mid_packed_put_leaves_it_whole_on_the_others(void)
{
    one_disk_dying(PACKED_SIZE, true);
}

static void single_failure(uint64_t size, bool pack)
{
    eng_fixture f;
    st_engine *e = setup_packing(&f, pack);
    REQUIRE(e);
    cf_err err;
    st_object_info info;
    REQUIRE(put_gen(e, "b", "kept", size, 99, &info, &err) == 0);
    int failed = 0, ok = 0;
    for (size_t c = 0; c < classes_for(pack); c++) {
        for (int n = 1; n <= MAX_N; n++) {
            char rule[96], key[64];
            snprintf(rule, sizeof rule, "%s@%d=%s", classes[c], n, errnos[(size_t)n % 3]);
            snprintf(key, sizeof key, "%s-%d", classes[c], n);
            REQUIRE(fio_fault_set(rule) == 0);
            int rc = put_gen(e, "b", key, size, (uint64_t)n, &info, &err);
            bool fired = fio_fault_fired();
            fio_fault_set(NULL);
            if (rc == 0) {
                ok++;
                CHECK_EQ_INT(check_gen(e, "b", key, size, (uint64_t)n, &err), 1);
            } else {
                failed++;
                st_object_info h;
                cf_err herr;
                if (st_head(e, "t1", "b", key, &h, &herr) != -1 || herr.code != CF_ENOKEY) {
                    fprintf(stderr, "  %s: a failed PUT left %s visible\n", rule, key);
                    test_current_failed = 1;
                }
            }
            if (!fired)
                break;
        }
    }
    CHECK_EQ_INT(check_gen(e, "b", "kept", size, 99, &err), 1);
    /* nothing left behind: GC with no grace finds the failed PUTs' files
     * gone already or removes them, and heal --all finds every object whole */
    st_gc_stats gs = {0};
    CHECK_EQ_INT(st_gc(e, &(st_gc_opts){.grace_s = 0}, &gs, &err), 0);
    st_gc_stats hs = {0};
    CHECK_EQ_INT(st_heal(e, &hs, &err), 0);
    st_check_stats cs;
    REQUIRE(heal_all(e, &cs) == 0);
    CHECK_EQ_INT(cs.lost_objects, 0);
    CHECK_EQ_INT(cs.shards_missing, 0);
    CHECK(ok > 0 && failed > 0);    /* both paths ran */
    fprintf(stderr, "  one failed operation per PUT: %d PUTs completed, %d failed cleanly\n",
            ok, failed);
    st_close(e);
}

static void a_single_failure_anywhere_fails_the_put_cleanly_or_not_at_all(void)
{
    single_failure(OBJ_SIZE, false);
}

static void a_single_failure_in_a_packed_put_fails_it_cleanly_or_not_at_all(void)
{
    single_failure(PACKED_SIZE, true);
}

/* Killed at each operation on a pack file (the creations, the appends,
 * the shared fdatasyncs), all before the index commit: the PUT is not
 * visible, what was acknowledged before reads back, and gc takes the
 * packs no row names (the bytes appended for the PUT that died). */
static void a_kill_between_pack_append_and_commit_leaves_no_object(void)
{
    eng_fixture f;
    st_engine *e = setup_packing(&f, true);
    REQUIRE(e);
    cf_err err;
    REQUIRE(put_gen(e, "b", "kept", PACKED_SIZE, 1, NULL, &err) == 0);
    st_close(e);
    int killed = 0;
    for (int n = 1; n <= MAX_N; n++) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            char rule[64];
            snprintf(rule, sizeof rule, "kill@%d:.pack", n);
            st_engine *c = fixture_open(&f);
            if (!c || fio_fault_set(rule) != 0)
                _exit(2);
            _exit(put_gen(c, "b", "dies", PACKED_SIZE, 2, NULL, &err) == 0 ? 0 : 3);
        }
        int status;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        int code = WEXITSTATUS(status);
        e = fixture_open(&f);
        REQUIRE(e);
        st_object_info h;
        cf_err herr;
        if (code == 0) {              /* past the PUT's last pack operation */
            CHECK_EQ_INT(check_gen(e, "b", "dies", PACKED_SIZE, 2, &herr), 1);
            st_close(e);
            break;
        }
        killed++;
        CHECK_EQ_INT(code, FIO_POWERCUT_STATUS);   /* the kill, not a failure */
        if (st_head(e, "t1", "b", "dies", &h, &herr) != -1 || herr.code != CF_ENOKEY) {
            fprintf(stderr, "  kill@%d: the PUT that died is visible\n", n);
            test_current_failed = 1;
        }
        CHECK_EQ_INT(check_gen(e, "b", "kept", PACKED_SIZE, 1, &err), 1);
        st_gc_stats gs = {0};
        CHECK_EQ_INT(st_gc(e, &(st_gc_opts){.grace_s = 0}, &gs, &err), 0);
        CHECK_EQ_INT(count_pack_files(&f, 6), 6);   /* "kept"'s: the dead PUT's are gone */
        st_close(e);
    }
    CHECK(killed >= 6 * 3);           /* every disk's creation, append and sync */
    fprintf(stderr, "  killed at %d operations on packs before the commit\n", killed);
}

/* One compaction from the disks saved at f->root.before, killed at its
 * n-th write or sync on a path containing `where`, for n = 1, 2, ... until
 * one runs to its end: every surviving object ("c0", "c2") reads back
 * exactly and no deleted one comes back, after the kill and again after
 * gc (which leaves exactly the packs the index names) and a compaction
 * that finishes the work. *killed gets the number of kills. */
static void compaction_kill_loop(eng_fixture *f, const char *where, int *killed)
{
    bool done = false;
    *killed = 0;
    cf_err err;
    for (int n = 1; n <= MAX_N && !done; n++) {
        REQUIRE(test_sh("rm -rf '%s' && cp -a '%s.before' '%s'", f->root, f->root,
                        f->root) == 0);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            char rule[64];
            snprintf(rule, sizeof rule, "kill@%d:%s", n, where);
            st_engine *c = fixture_open(f);
            if (!c || fio_fault_set(rule) != 0)
                _exit(2);
            st_compact_stats cs;
            _exit(st_compact(c, &(st_compact_opts){.dead_ratio = 0.4}, &cs, &err) == 0 &&
                  cs.packs_removed == 6 ? 0 : 3);
        }
        int status;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        int code = WEXITSTATUS(status);
        done = code == 0;                /* past the compaction's last one */
        if (!done) {
            (*killed)++;
            CHECK_EQ_INT(code, FIO_POWERCUT_STATUS);
        }
        st_engine *e = fixture_open(f);
        REQUIRE(e);
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < 4; i++) {
                char key[16];
                snprintf(key, sizeof key, "c%d", i);
                st_object_info h;
                cf_err herr;
                int ok = i % 2 == 0
                             ? check_gen(e, "b", key, PACKED_SIZE, (uint64_t)i, &herr) == 1
                             : st_head(e, "t1", "b", key, &h, &herr) == -1;
                if (!ok) {
                    fprintf(stderr, "  kill@%d:%s, pass %d: %s %s\n", n, where, pass, key,
                            i % 2 == 0 ? "does not read back" : "came back");
                    test_current_failed = 1;
                }
            }
            if (pass == 1)
                break;
            CHECK_EQ_INT(st_gc(e, &(st_gc_opts){.grace_s = 0}, NULL, &err), 0);
            CHECK_EQ_INT(count_pack_files(f, 6), expected_pack_files(f));
            st_compact_stats cs;
            CHECK_EQ_INT(st_compact(e, &(st_compact_opts){.dead_ratio = 0.4}, &cs, &err), 0);
        }
        st_close(e);
        CHECK_EQ_INT(count_pack_files(f, 6), 6);    /* one per disk: the copies' */
    }
    CHECK(done);
}

/* Killed at each write and sync of a compaction on the packs (the
 * copies' pack creations, appends and fdatasync) and on the index WAL
 * (the commit that repoints the rows): no live shard is lost (above). */
static void a_kill_at_each_compaction_step_loses_no_live_shard(void)
{
    eng_fixture f;
    st_engine *e = setup_packing(&f, true);
    REQUIRE(e);
    cf_err err;
    for (int i = 0; i < 4; i++) {
        char key[16];
        snprintf(key, sizeof key, "c%d", i);
        REQUIRE(put_gen(e, "b", key, PACKED_SIZE, (uint64_t)i, NULL, &err) == 0);
    }
    for (int i = 1; i < 4; i += 2) {
        char key[16];
        snprintf(key, sizeof key, "c%d", i);
        REQUIRE(st_delete(e, "t1", "b", key, &err) == 0);
    }
    st_close(e);                      /* the packs are sealed */
    e = fixture_open(&f);
    REQUIRE(e);
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 3600}, NULL, &err) == 0);  /* drained */
    st_close(e);
    REQUIRE(test_sh("cp -a '%s' '%s.before'", f.root, f.root) == 0);
    int on_packs, on_wal;
    compaction_kill_loop(&f, ".pack", &on_packs);
    compaction_kill_loop(&f, "index.db-wal", &on_wal);
    CHECK(on_packs >= 6 * 3);         /* each disk's creation, append and sync */
    CHECK(on_wal >= 1);               /* the commit */
    test_sh("rm -rf '%s.before'", f.root);
    fprintf(stderr, "  killed at %d writes and syncs of a compaction on packs, %d on the "
            "WAL\n", on_packs, on_wal);
}

static void a_failed_wal_sync_refuses_writes_until_restart(void)
{
    eng_fixture f;
    st_engine *e = fixture_setup(&f, test_tmpdir(), 6, 4, 2, true);
    REQUIRE(e);
    cf_err err;
    st_object_info info;
    REQUIRE(put_gen(e, "b", "before", OBJ_SIZE, 5, &info, &err) == 0);
    REQUIRE(fio_fault_set("walsync@1=EIO") == 0);
    int rc = put_gen(e, "b", "during", OBJ_SIZE, 6, &info, &err);
    bool fired = fio_fault_fired();
    fio_fault_set(NULL);
    CHECK(fired);
    CHECK_EQ_INT(rc, -1);             /* never acknowledged */
    /* sticky: the next write is refused too, though the disk is fine now */
    CHECK_EQ_INT(put_gen(e, "b", "after", 1000, 7, &info, &err), -1);
    st_close(e);
    e = fixture_open(&f);
    REQUIRE(e);
    CHECK_EQ_INT(check_gen(e, "b", "before", OBJ_SIZE, 5, &err), 1);
    int seen = check_gen(e, "b", "during", OBJ_SIZE, 6, &err);
    CHECK(seen == 1 || (seen == -1 && err.code == CF_ENOKEY));
    CHECK_EQ_INT(put_gen(e, "b", "after", 1000, 7, &info, &err), 0);
    st_close(e);
}

static uint64_t heal_pending(st_engine *e)
{
    uint64_t n = 0;
    cf_err err;
    CHECK_EQ_INT(st_heal_pending(e, &n, &err), 0);
    return n;
}

/* GET with a disk failing its reads (EIO at its N-th read and every later
 * one), for every N of the GET: the bytes are exact, the disk's read
 * errors count it, the segment is queued and heal takes it off; with
 * m + 1 disks failing the GET fails, never returns wrong bytes. */
static void a_disk_failing_reads_mid_get_leaves_the_get_exact(void)
{
    eng_fixture f;
    st_engine *e = fixture_setup(&f, test_tmpdir(), 6, 4, 2, true);
    REQUIRE(e);
    cf_err err;
    st_object_info info;
    REQUIRE(put_gen(e, "b", "r", OBJ_SIZE, 41, &info, &err) == 0);
    char part[PART_MAX];
    disk_part(&f, 2, part);
    int fired_n = 0;
    for (int n = 1; n <= MAX_N; n++) {
        char rule[RULE_MAX];
        snprintf(rule, sizeof rule, "read@%d+=EIO:%s", n, part);
        st_disk_info before, after;
        st_disk_get(e, 2, &before);
        REQUIRE(fio_fault_set(rule) == 0);
        int rc = check_gen(e, "b", "r", OBJ_SIZE, 41, &err);
        bool fired = fio_fault_fired();
        fio_fault_set(NULL);
        CHECK_EQ_INT(rc, 1);
        if (!fired)
            break;
        fired_n++;
        st_disk_get(e, 2, &after);
        CHECK(after.read_errors > before.read_errors);
        CHECK(heal_pending(e) >= 1);
        st_gc_stats hs = {0};
        CHECK_EQ_INT(st_heal(e, &hs, &err), 0);
        CHECK_EQ_INT(heal_pending(e), 0);
    }
    CHECK(fired_n > 0);
    char rule[3 * RULE_MAX], p0[PART_MAX], p1[PART_MAX];
    disk_part(&f, 0, p0);
    disk_part(&f, 1, p1);
    snprintf(rule, sizeof rule, "read@1+=EIO:%s,read@1+=EIO:%s,read@1+=EIO:%s", p0, p1,
             part);
    REQUIRE(fio_fault_set(rule) == 0);
    CHECK_EQ_INT(check_gen(e, "b", "r", OBJ_SIZE, 41, &err), -1);
    fio_fault_set(NULL);
    CHECK_EQ_INT(check_gen(e, "b", "r", OBJ_SIZE, 41, &err), 1);
    fprintf(stderr, "  a disk failed at each of the %d reads of a GET on it: every GET "
            "exact; 3 of 6 failing: refused\n", fired_n);
    st_close(e);
}

/* Heal with the N-th write, fsync or rename on the disk it fills failing,
 * for every N of a heal: the segment stays queued (or was healed), the
 * object reads back, and the next heal restores full redundancy. */
static void a_failure_mid_heal_keeps_the_segment_queued(void)
{
    eng_fixture f;
    st_engine *e = fixture_setup(&f, test_tmpdir(), 6, 4, 2, true);
    REQUIRE(e);
    char part[PART_MAX];
    disk_part(&f, 4, part);
    cf_err err;
    int fired_total = 0, kept = 0;
    for (size_t c = 0; c < sizeof classes / sizeof classes[0]; c++) {
        for (int n = 1; n <= MAX_N; n++) {
            char rule[RULE_MAX], key[64];
            snprintf(key, sizeof key, "h-%s-%d", classes[c], n);
            snprintf(rule, sizeof rule, "write@1+=EIO:%s", part);
            REQUIRE(fio_fault_set(rule) == 0);   /* the PUT misses disk 4 */
            st_object_info info;
            REQUIRE(put_gen(e, "b", key, OBJ_SIZE, (uint64_t)n + 500 * c, &info, &err) == 0);
            fio_fault_set(NULL);
            REQUIRE(heal_pending(e) == 1);
            snprintf(rule, sizeof rule, "%s@%d=%s:%s", classes[c], n, errnos[(size_t)n % 3],
                     part);
            REQUIRE(fio_fault_set(rule) == 0);
            st_gc_stats hs = {0};
            CHECK_EQ_INT(st_heal(e, &hs, &err), 0);
            bool fired = fio_fault_fired();
            fio_fault_set(NULL);
            if (fired && hs.heal_failures > 0) {
                kept++;
                CHECK_EQ_INT(heal_pending(e), 1);
            }
            CHECK_EQ_INT(check_gen(e, "b", key, OBJ_SIZE, (uint64_t)n + 500 * c, &err), 1);
            CHECK_EQ_INT(st_heal(e, &hs, &err), 0);
            CHECK_EQ_INT(heal_pending(e), 0);
            if (!fired)
                break;
            fired_total++;
        }
    }
    st_check_stats cs;
    REQUIRE(heal_all(e, &cs) == 0);
    CHECK_EQ_INT(cs.shards_missing, 0);
    CHECK_EQ_INT(cs.lost_objects, 0);
    CHECK(kept > 0);
    fprintf(stderr, "  %d heals hit a failure on the disk they filled: %d kept the segment "
            "queued, the next heal restored every one\n", fired_total, kept);
    st_close(e);
}

/* Scrub with the N-th shard read failing (EIO, any disk), for every N of
 * a scrub: nothing is lost, what it could not read it rewrites, and a
 * second scrub finds the store clean. */
static void a_read_failure_mid_scrub_is_repaired(void)
{
    eng_fixture f;
    st_engine *e = fixture_setup(&f, test_tmpdir(), 6, 4, 2, true);
    REQUIRE(e);
    cf_err err;
    st_object_info info;
    REQUIRE(put_gen(e, "b", "s1", OBJ_SIZE, 61, &info, &err) == 0);
    REQUIRE(put_gen(e, "b", "s2", 1u << 20, 62, &info, &err) == 0);
    int fired_n = 0, repaired = 0;
    for (int n = 1; n <= MAX_N; n++) {
        char rule[64];
        snprintf(rule, sizeof rule, "read@%d=EIO", n);
        REQUIRE(fio_fault_set(rule) == 0);
        st_check_stats cs = {0};
        CHECK_EQ_INT(st_scrub(e, &(st_check_opts){0}, &cs, &err), 0);
        bool fired = fio_fault_fired();
        fio_fault_set(NULL);
        CHECK_EQ_INT(cs.lost_objects, 0);
        repaired += cs.segments_repaired > 0;
        st_check_stats again = {0};
        CHECK_EQ_INT(st_scrub(e, &(st_check_opts){0}, &again, &err), 0);
        CHECK_EQ_INT(again.shards_bad + again.shards_missing + again.repair_failures, 0);
        if (!fired)
            break;
        fired_n++;
    }
    CHECK_EQ_INT(check_gen(e, "b", "s1", OBJ_SIZE, 61, &err), 1);
    CHECK_EQ_INT(check_gen(e, "b", "s2", 1u << 20, 62, &err), 1);
    CHECK(fired_n > 0);
    fprintf(stderr, "  a read failed at each of %d reads of a scrub: %d scrubs rewrote the "
            "shard, 0 objects lost, every second scrub clean\n", fired_n, repaired);
    st_close(e);
}

/* Index snapshot with the N-th write, fsync or rename failing, for every
 * N of a snapshot: it lands on the other disks (or, failing everywhere,
 * reports it), and the next one lands on all six. */
static void a_failure_mid_snapshot_costs_one_copy(void)
{
    eng_fixture f;
    st_engine *e = fixture_setup(&f, test_tmpdir(), 6, 4, 2, true);
    REQUIRE(e);
    cf_err err;
    int fired_total = 0, short_copies = 0;
    for (size_t c = 0; c < sizeof classes / sizeof classes[0]; c++) {
        for (int n = 1; n <= MAX_N; n++) {
            char rule[64], key[64];
            snprintf(key, sizeof key, "snap-%s-%d", classes[c], n);
            st_object_info info;
            REQUIRE(put_gen(e, "b", key, 100, (uint64_t)n, &info, &err) == 0);
            snprintf(rule, sizeof rule, "%s@%d=%s", classes[c], n, errnos[(size_t)n % 3]);
            REQUIRE(fio_fault_set(rule) == 0);
            int copies = 0;
            int rc = st_snapshot(e, &copies, &err);
            bool fired = fio_fault_fired();
            fio_fault_set(NULL);
            CHECK_EQ_INT(rc, 0);
            if (fired && copies < 6)
                short_copies++;
            if (!fired) {
                CHECK_EQ_INT(copies, 6);
                break;
            }
            fired_total++;
            CHECK(copies >= 5);
            REQUIRE(put_gen(e, "b", key, 100, (uint64_t)n + 1, &info, &err) == 0);
            CHECK_EQ_INT(st_snapshot(e, &copies, &err), 0);
            CHECK_EQ_INT(copies, 6);
        }
    }
    CHECK(short_copies > 0);
    fprintf(stderr, "  %d snapshots hit a failure: %d landed on 5 of 6 disks, each next "
            "one on all 6\n", fired_total, short_copies);
    st_close(e);
}

/* The write set (storage/ds.h): on 4+3 a disk whose write failed is left
 * out of the next PUTs (the other six keep a disk of margin over the
 * quorum of five), its state says why, and heal puts it back. On 4+2 it
 * is tried again (without it no margin is left): see the sweeps above. */
static void a_failed_disk_leaves_the_write_set_until_heal_writes_it(void)
{
    eng_fixture f;
    st_engine *e = fixture_setup(&f, test_tmpdir(), 7, 4, 3, true);
    REQUIRE(e);
    char part[PART_MAX], rule[RULE_MAX];
    disk_part(&f, 5, part);
    snprintf(rule, sizeof rule, "write@1+=EIO:%s", part);
    cf_err err;
    st_object_info info;
    REQUIRE(fio_fault_set(rule) == 0);
    REQUIRE(put_gen(e, "b", "w1", OBJ_SIZE, 71, &info, &err) == 0);
    CHECK(fio_fault_fired());
    st_disk_info d;
    st_disk_get(e, 5, &d);
    CHECK_EQ_STR(st_disk_state(&d), "failing");
    uint64_t werr = d.write_errors;
    REQUIRE(fio_fault_set(rule) == 0);          /* still dead, counted afresh */
    REQUIRE(put_gen(e, "b", "w2", OBJ_SIZE, 72, &info, &err) == 0);
    CHECK(!fio_fault_fired());                  /* not even tried */
    fio_fault_set(NULL);
    st_disk_get(e, 5, &d);
    CHECK_EQ_INT(d.write_errors, werr);
    CHECK_EQ_INT(heal_pending(e), 2);
    st_gc_stats hs = {0};
    CHECK_EQ_INT(st_heal(e, &hs, &err), 0);
    CHECK_EQ_INT(heal_pending(e), 0);
    st_disk_get(e, 5, &d);
    CHECK_EQ_STR(st_disk_state(&d), "online");
    CHECK_EQ_INT(check_gen(e, "b", "w2", OBJ_SIZE, 72, &err), 1);
    st_close(e);
}

/* CompleteMultipartUpload with the N-th write, fsync or rename anywhere
 * failing, for every N of a completion: it succeeds and the object reads
 * back, or it fails, the key stays absent and the upload open, and a
 * retried completion then succeeds. heal --all finds every manifest. */
static void a_failure_mid_complete_completes_or_leaves_the_upload(void)
{
    eng_fixture f;
    st_engine *e = fixture_setup(&f, test_tmpdir(), 6, 4, 2, true);
    REQUIRE(e);
    cf_err err;
    const uint64_t P = 5ull << 20;
    int ok = 0, failed = 0;
    for (size_t c = 0; c < sizeof classes / sizeof classes[0]; c++) {
        for (int n = 1; n <= MAX_N; n++) {
            char key[64], uid[ST_ID_HEX], etag[2][ST_ETAG_MAX], rule[64];
            snprintf(key, sizeof key, "mp-%s-%d", classes[c], n);
            uint64_t seed = (uint64_t)n * 3 + c * 1000;
            st_upload_args ua = {.tenant = "t1", .bucket = "b", .key = key};
            REQUIRE(st_upload_create(e, &ua, uid, &err) == 0);
            REQUIRE(put_part_gen(e, "b", key, uid, 1, P, seed, etag[0], &err) == 0);
            REQUIRE(put_part_gen(e, "b", key, uid, 2, 1000, seed + 1, etag[1], &err) == 0);
            st_complete_part parts[] = {{1, etag[0], NULL}, {2, etag[1], NULL}};
            st_complete_args a = {.tenant = "t1", .bucket = "b", .key = key, .upload_id = uid,
                                  .parts = parts, .nparts = 2, .expected_size = -1};
            snprintf(rule, sizeof rule, "%s@%d=%s", classes[c], n, errnos[(size_t)n % 3]);
            REQUIRE(fio_fault_set(rule) == 0);
            st_object_info info;
            int rc = st_upload_complete(e, &a, &info, &err);
            bool fired = fio_fault_fired();
            fio_fault_set(NULL);
            if (rc == 0) {
                ok++;
                st_object_info_clear(&info);
            } else {
                failed++;
                st_object_info h;
                cf_err herr;
                if (st_head(e, "t1", "b", key, &h, &herr) != -1 || herr.code != CF_ENOKEY) {
                    fprintf(stderr, "  %s: a failed completion left %s visible\n", rule, key);
                    test_current_failed = 1;
                }
                REQUIRE(st_upload_complete(e, &a, &info, &err) == 0);   /* the retry */
                st_object_info_clear(&info);
            }
            CHECK_EQ_INT(check_range(e, "b", key, seed, 0, P, &err), 1);
            if (!fired)
                break;
        }
    }
    st_gc_stats hs = {0};
    CHECK_EQ_INT(st_heal(e, &hs, &err), 0);
    st_check_stats cs;
    REQUIRE(heal_all(e, &cs) == 0);
    CHECK_EQ_INT(cs.lost_objects, 0);
    st_check_stats again;
    REQUIRE(heal_all(e, &again) == 0);
    CHECK_EQ_INT(again.manifests_missing + again.shards_missing, 0);
    CHECK(ok > 0 && failed > 0);
    fprintf(stderr, "  one failed operation per completion: %d completed, %d failed and "
            "completed on retry\n", ok, failed);
    st_close(e);
}

/* GC with the N-th unlink failing (EIO or EROFS), for every N of a GC
 * that drains three deleted segments and removes one orphan: it returns,
 * every live object reads back, the file it could not remove is still
 * there (its delete-queue row or the orphan kept), and the next GC
 * leaves exactly the files the index refers to. A disk refusing every
 * unlink does not make GC loop: it ends, and the next GC finishes. */
static int gc_now(st_engine *e, st_gc_stats *gs)
{
    cf_err err;
    memset(gs, 0, sizeof *gs);
    int rc = st_gc(e, &(st_gc_opts){.grace_s = 0}, gs, &err);
    if (rc < 0)
        fprintf(stderr, "  gc: %s\n", err.msg);
    return rc;
}

/* Three deleted segments left queued (gc-a's last and first, gc-b: a GET
 * open while they were deleted keeps the PUT's own drain off them) and
 * one orphan file. */
static void make_garbage(eng_fixture *f, st_engine *e, int n)
{
    cf_err err;
    st_object_info info;
    char orphan[800];
    st_object_info ginfo;
    st_get *g;
    REQUIRE(st_get_open(e, "t1", "b", "kept", &ginfo, &g, &err) == 0);
    REQUIRE(put_gen(e, "b", "gc-a", 200000, (uint64_t)n, &info, &err) == 0);
    REQUIRE(put_gen(e, "b", "gc-a", 200000, (uint64_t)n + 1, &info, &err) == 0);
    REQUIRE(put_gen(e, "b", "gc-b", 300000, (uint64_t)n, &info, &err) == 0);
    REQUIRE(st_delete(e, "t1", "b", "gc-b", &err) == 0);
    st_get_close(g);
    st_object_info_clear(&ginfo);
    snprintf(orphan, sizeof orphan, "%s/objects/ab/ab%030d", f->disks[n % 6], n);
    write_text(orphan, "left by a crash");
}

static void a_failed_unlink_mid_gc_leaves_the_file_for_the_next(void)
{
    eng_fixture f;
    st_engine *e = fixture_setup(&f, test_tmpdir(), 6, 4, 2, true);
    REQUIRE(e);
    cf_err err;
    st_object_info info;
    st_gc_stats gs;
    REQUIRE(put_gen(e, "b", "kept", OBJ_SIZE, 99, &info, &err) == 0);
    int fired_n = 0, left = 0;
    for (int n = 1; n <= MAX_N; n++) {
        make_garbage(&f, e, n);
        char rule[64];
        snprintf(rule, sizeof rule, "unlink@%d=%s", n, n % 2 ? "EIO" : "EROFS");
        REQUIRE(fio_fault_set(rule) == 0);
        int rc = gc_now(e, &gs);
        bool fired = fio_fault_fired();
        fio_fault_set(NULL);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(check_gen(e, "b", "kept", OBJ_SIZE, 99, &err), 1);
        CHECK_EQ_INT(check_gen(e, "b", "gc-a", 200000, (uint64_t)n + 1, &err), 1);
        int want = expected_shard_files(&f, 6), have = count_shard_files(&f, 6);
        if (!fired) {
            CHECK_EQ_INT(have, want);
            break;
        }
        fired_n++;
        left += have > want;
        uint64_t pending = 0;
        CHECK_EQ_INT(st_delete_pending(e, &pending, &err), 0);
        /* a segment's row kept (its file left, or the failed unlink was of
         * an absent temp file), or the orphan left */
        bool row_kept = pending == 1 && gs.orphan_files == 1 && have - want <= 1;
        bool orphan_left = pending == 0 && gs.orphan_files == 0 && have == want + 1;
        if (!row_kept && !orphan_left) {
            fprintf(stderr, "  %s: %d files for %d referenced, %llu deletes pending, "
                    "%llu orphans deleted\n", rule, have, want, (unsigned long long)pending,
                    (unsigned long long)gs.orphan_files);
            test_current_failed = 1;
        }
        CHECK_EQ_INT(gc_now(e, &gs), 0);
        CHECK_EQ_INT(count_shard_files(&f, 6), expected_shard_files(&f, 6));
        CHECK_EQ_INT(st_delete_pending(e, &pending, &err), 0);
        CHECK_EQ_INT(pending, 0);
    }
    CHECK(fired_n > 10);
    /* one disk refusing every unlink: GC ends, keeps the rows, loses nothing */
    make_garbage(&f, e, 1000);
    char part[PART_MAX], rule[RULE_MAX];
    disk_part(&f, 2, part);
    snprintf(rule, sizeof rule, "unlink@1+=EROFS:%s", part);
    REQUIRE(fio_fault_set(rule) == 0);
    CHECK_EQ_INT(gc_now(e, &gs), 0);
    fio_fault_set(NULL);
    uint64_t pending = 0;
    CHECK_EQ_INT(st_delete_pending(e, &pending, &err), 0);
    CHECK_EQ_INT(pending, 3);                   /* gc-a twice over, gc-b */
    CHECK_EQ_INT(check_gen(e, "b", "kept", OBJ_SIZE, 99, &err), 1);
    CHECK_EQ_INT(gc_now(e, &gs), 0);
    CHECK_EQ_INT(count_shard_files(&f, 6), expected_shard_files(&f, 6));
    fprintf(stderr, "  a failed unlink at each of %d unlinks of a GC: %d left a file for "
            "the next GC, which removed it; 0 objects lost\n", fired_n, left);
    st_close(e);
}

/* A file system that refuses an O_DIRECT write of a shard file mid-file
 * (EINVAL: storage/shardout.h) gets that file, from that write on,
 * buffered: the refused write is made again through the page cache, no
 * disk counts an error, and the object reads back. At each O_DIRECT write
 * of a 3 MiB PUT's shard file on one disk. */
static void a_refused_direct_write_falls_back_to_buffered(void)
{
    eng_fixture f;
    st_engine *e = fixture_setup(&f, test_tmpdir(), 6, 4, 2, true);
    REQUIRE(e);
    bool direct = !f.cfg.buffered_io;
    char part[PART_MAX];
    disk_part(&f, 2, part);
    cf_err err;
    int fired = 0;
    /* the O_DIRECT writes of the shard file on disk 2: its whole stages (its
     * last piece and header are buffered writes, which never say EINVAL) */
    int stages = (int)(3 * (shard_len_for(1u << 20, 4) + SHARD_CRC_LEN) / SHARDOUT_STAGE);
    for (int n = 1; n <= stages; n++) {
        char rule[RULE_MAX + 8], key[32];
        snprintf(rule, sizeof rule, "write@%d=EINVAL:%stmp/", n, part);
        snprintf(key, sizeof key, "einval-%d", n);
        REQUIRE(fio_fault_set(rule) == 0);
        int rc = put_gen(e, "b", key, OBJ_SIZE, (uint64_t)n, NULL, &err);
        bool hit = fio_fault_fired();
        REQUIRE(fio_fault_set("") == 0);
        fired += hit;
        if (rc == 0)
            CHECK_EQ_INT(check_gen(e, "b", key, OBJ_SIZE, (uint64_t)n, &err), 1);
        else
            fprintf(stderr, "  write %d refused: %s\n", n, err.msg);
        if (direct && st_direct_files(e) > 0)
            CHECK_EQ_INT(rc, 0);
    }
    CHECK(fired > 0);
    for (int i = 0; i < 6 && direct && st_direct_files(e) > 0; i++) {
        st_disk_info d;
        st_disk_get(e, i, &d);
        CHECK_EQ_INT(d.write_errors, 0);
    }
    st_close(e);
}

int main(int argc, char **argv)
{
    if (!fio_faults_built()) {
        fprintf(stderr, "SKIP: built without --enable-fault-injection\n");
        return 77;
    }
    static const test_case cases[] = {
        T(one_disk_dying_mid_put_leaves_the_put_whole_on_the_others),
        T(one_disk_dying_mid_packed_put_leaves_it_whole_on_the_others),
        T(a_single_failure_anywhere_fails_the_put_cleanly_or_not_at_all),
        T(a_single_failure_in_a_packed_put_fails_it_cleanly_or_not_at_all),
        T(a_kill_between_pack_append_and_commit_leaves_no_object),
        T(a_kill_at_each_compaction_step_loses_no_live_shard),
        T(a_failed_wal_sync_refuses_writes_until_restart),
        T(a_disk_failing_reads_mid_get_leaves_the_get_exact),
        T(a_failure_mid_heal_keeps_the_segment_queued),
        T(a_read_failure_mid_scrub_is_repaired),
        T(a_failure_mid_snapshot_costs_one_copy),
        T(a_failed_disk_leaves_the_write_set_until_heal_writes_it),
        T(a_failure_mid_complete_completes_or_leaves_the_upload),
        T(a_failed_unlink_mid_gc_leaves_the_file_for_the_next),
        T(a_refused_direct_write_falls_back_to_buffered),
    };
    return test_run_all("faults", cases, sizeof cases / sizeof cases[0], argc, argv);
}
