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
 *  - The N-th WAL fdatasync fails: the index refuses further writes (the
 *    sticky path) rather than acknowledge what may not be durable; after
 *    a restart every acknowledged object reads back and the refused one is
 *    whole or absent.
 */
#include "common/fio.h"
#include "tests/unit/test.h"
#include "tests/unit/engine_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define OBJ_SIZE (3u << 20)          /* several blocks, several writes per shard */
#define MAX_N 400                     /* a bound, far above a PUT's operations */

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

static void one_disk_dying_mid_put_leaves_the_put_whole_on_the_others(void)
{
    eng_fixture f;
    st_engine *e = fixture_setup(&f, test_tmpdir(), 6, 4, 2, true);
    REQUIRE(e);
    char part[64];
    snprintf(part, sizeof part, "%s/", strrchr(f.disks[3], '/') + 1);
    cf_err err;
    int fired_total = 0;
    for (size_t c = 0; c < sizeof classes / sizeof classes[0]; c++) {
        int fired_class = 0;
        for (int n = 1; n <= MAX_N; n++) {
            char rule[128], key[64];
            const char *en = errnos[(size_t)n % 3];
            snprintf(rule, sizeof rule, "%s@%d+=%s:%s", classes[c], n, en, part);
            snprintf(key, sizeof key, "%s-%d", classes[c], n);
            st_disk_info before;
            st_disk_get(e, 3, &before);
            REQUIRE(fio_fault_set(rule) == 0);
            st_object_info info;
            int rc = put_gen(e, "b", key, OBJ_SIZE, (uint64_t)n * 7 + c, &info, &err);
            bool fired = fio_fault_fired();
            fio_fault_set(NULL);
            if (rc != 0) {
                fprintf(stderr, "  %s: PUT failed with one disk down: %s\n", rule, err.msg);
                test_current_failed = 1;
                break;
            }
            CHECK_EQ_INT(check_gen(e, "b", key, OBJ_SIZE, (uint64_t)n * 7 + c, &err), 1);
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

static void a_single_failure_anywhere_fails_the_put_cleanly_or_not_at_all(void)
{
    eng_fixture f;
    st_engine *e = fixture_setup(&f, test_tmpdir(), 6, 4, 2, true);
    REQUIRE(e);
    cf_err err;
    st_object_info info;
    REQUIRE(put_gen(e, "b", "kept", OBJ_SIZE, 99, &info, &err) == 0);
    int failed = 0, ok = 0;
    for (size_t c = 0; c < sizeof classes / sizeof classes[0]; c++) {
        for (int n = 1; n <= MAX_N; n++) {
            char rule[96], key[64];
            snprintf(rule, sizeof rule, "%s@%d=%s", classes[c], n, errnos[(size_t)n % 3]);
            snprintf(key, sizeof key, "%s-%d", classes[c], n);
            REQUIRE(fio_fault_set(rule) == 0);
            int rc = put_gen(e, "b", key, OBJ_SIZE, (uint64_t)n, &info, &err);
            bool fired = fio_fault_fired();
            fio_fault_set(NULL);
            if (rc == 0) {
                ok++;
                CHECK_EQ_INT(check_gen(e, "b", key, OBJ_SIZE, (uint64_t)n, &err), 1);
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
    CHECK_EQ_INT(check_gen(e, "b", "kept", OBJ_SIZE, 99, &err), 1);
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

int main(int argc, char **argv)
{
    if (!fio_faults_built()) {
        fprintf(stderr, "SKIP: built without --enable-fault-injection\n");
        return 77;
    }
    static const test_case cases[] = {
        T(one_disk_dying_mid_put_leaves_the_put_whole_on_the_others),
        T(a_single_failure_anywhere_fails_the_put_cleanly_or_not_at_all),
        T(a_failed_wal_sync_refuses_writes_until_restart),
    };
    return test_run_all("faults", cases, sizeof cases / sizeof cases[0], argc, argv);
}
