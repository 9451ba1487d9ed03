/*
 * tests/unit/test_worker.c - the maintenance worker's job table
 * (server/worker.h) on a real engine: with a one-second interval every
 * maintenance job runs (the lifecycle job only with a lifecycle: the tier
 * tests run it through cofferd), and its status says when, how long, that it succeeded and
 * and what it did, round after round.
 */
#include "server/worker.h"
#include "tests/unit/test.h"
#include "tests/unit/engine_util.h"

#include <time.h>
#include <unistd.h>

/* Wait (at most ~10 s) until every job finished at least `runs` runs. */
static bool wait_runs(worker *w, uint64_t runs, worker_job_status st[WORKER_JOBS])
{
    int interval;
    for (int i = 0; i < 200; i++) {
        worker_status(w, st, &interval);
        bool all = true;
        for (int j = 0; j < WORKER_LIFECYCLE; j++)
            all &= st[j].runs_ok + st[j].runs_failed >= runs && !st[j].running;
        if (all)
            return true;
        usleep(50000);
    }
    return false;
}

static void jobs_report_their_runs(void)
{
    eng_fixture f;
    fixture_init(&f, test_tmpdir(), 3, 2, 1);
    st_engine *e = fixture_open(&f);
    REQUIRE(e);
    worker *w;
    cf_err err;
    double before = (double)time(NULL) - 1;
    REQUIRE(worker_start(e, 1, 3600, NULL, 0, &w, &err) == 0);
    worker_job_status st[WORKER_JOBS];
    int interval;
    worker_status(w, st, &interval);
    CHECK_EQ_INT(interval, 1);
    CHECK_EQ_STR(st[WORKER_HEAL].name, "heal");
    CHECK_EQ_STR(st[WORKER_GC].name, "gc");
    CHECK_EQ_STR(st[WORKER_SNAPSHOT].name, "snapshot");
    CHECK_EQ_STR(st[WORKER_LIFECYCLE].name, "lifecycle");
    REQUIRE(wait_runs(w, 1, st));
    /* no lifecycle given: its job never runs, and a wake changes nothing */
    worker_wake_lifecycle(w);
    CHECK_EQ_INT(st[WORKER_LIFECYCLE].runs_ok + st[WORKER_LIFECYCLE].runs_failed, 0);
    for (int j = 0; j < WORKER_LIFECYCLE; j++) {
        CHECK(st[j].last_ok);
        CHECK_EQ_STR(st[j].last_error, "");
        CHECK(st[j].last_start >= before && st[j].last_start <= (double)time(NULL) + 1);
        CHECK(st[j].last_duration >= 0 && st[j].last_duration < 10);
        CHECK_EQ_INT(st[j].runs_failed, 0);
    }
    CHECK_EQ_INT(st[WORKER_SNAPSHOT].last_copies, 3);
    uint64_t first = st[WORKER_HEAL].runs_ok;
    REQUIRE(wait_runs(w, first + 1, st));          /* and again next interval */
    CHECK(st[WORKER_HEAL].runs_ok > first);
    worker_stop(w);
    st_close(e);
}

TEST_MAIN("worker", T(jobs_report_their_runs))
