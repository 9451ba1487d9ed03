/*
 * tests/unit/test_jobs.c - cofferd's maintenance jobs (server/jobs.h) on
 * the scheduler (server/sched.h) and a real engine: with one-second
 * intervals heal, gc and snapshot each run by themselves, and their
 * status says when, how long, that they succeeded and what they did,
 * round after round; a triggered gc counts the bytes of the files its scan
 * saw, in its status (what coffer gc's progress line shows) and report.
 */
#include "server/jobs.h"
#include "server/sched.h"
#include "tests/unit/test.h"
#include "tests/unit/engine_util.h"

#include <jansson.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const round_jobs[] = {"heal", "gc", "snapshot"};

/* Wait (at most ~10 s) until every round job finished at least `runs`
 * runs; its status in st[]. */
static bool wait_runs(sched *s, json_int_t runs, json_t *st[3])
{
    for (int i = 0; i < 200; i++) {
        bool all = true;
        for (int j = 0; j < 3; j++) {
            json_decref(st[j]);
            st[j] = sched_status(s, round_jobs[j], false);
            json_int_t n = json_integer_value(json_object_get(st[j], "runs_ok")) +
                           json_integer_value(json_object_get(st[j], "runs_failed"));
            all &= n >= runs &&
                   strcmp(json_string_value(json_object_get(st[j], "state")), "idle") == 0;
        }
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
    cf_err err;
    coffer_config cfg = {.jobs = json_pack("{s:{s:i}, s:{s:i}, s:{s:i}}", "heal",
                                           "interval_seconds", 1, "gc", "interval_seconds",
                                           1, "snapshot", "interval_seconds", 1)};
    REQUIRE(jobs_check_config(&cfg, &err) == 0);
    char state[PATH_MAX];
    snprintf(state, sizeof state, "%s/jobs", test_tmpdir());
    sched *s = sched_new(state, &err);
    REQUIRE(s);
    REQUIRE(jobs_register(s, e, &cfg, NULL, &err) == 0);
    double before = (double)time(NULL) - 1;
    REQUIRE(sched_start(s, &err) == 0);
    json_t *all = sched_status_all(s);
    CHECK_EQ_INT(json_array_size(all), 6);   /* heal gc snapshot scrub drill compact */
    json_decref(all);
    CHECK(sched_status(s, "lifecycle", false) == NULL);   /* no lifecycle given */
    sched_wake(s, "lifecycle");                           /* and waking it is nothing */
    json_t *st[3] = {NULL, NULL, NULL};
    REQUIRE(wait_runs(s, 1, st));
    for (int j = 0; j < 3; j++) {
        json_t *last = json_object_get(st[j], "last_run");
        CHECK_EQ_INT(json_integer_value(json_object_get(st[j], "interval_seconds")), 1);
        CHECK(json_is_true(json_object_get(last, "ok")));
        double start = (double)json_integer_value(json_object_get(last, "start"));
        double took = json_real_value(json_object_get(last, "duration_seconds"));
        CHECK(start >= before && start <= (double)time(NULL) + 1);
        CHECK(took >= 0 && took < 10);
        CHECK_EQ_INT(json_integer_value(json_object_get(st[j], "runs_failed")), 0);
    }
    /* a snapshot run writes a generation on each of the 3 disks, or says
     * there was nothing new */
    json_t *snap = json_object_get(st[2], "last_run");
    const char *sum = json_string_value(json_object_get(snap, "summary"));
    CHECK(strcmp(sum, "a new generation on 3 disks") == 0 ||
          strcmp(sum, "nothing committed since the last snapshot") == 0);
    json_int_t first = json_integer_value(json_object_get(st[0], "runs_ok"));
    REQUIRE(wait_runs(s, first + 1, st));            /* and again next interval */
    CHECK(json_integer_value(json_object_get(st[0], "runs_ok")) > first);
    for (int j = 0; j < 3; j++)
        json_decref(st[j]);
    sched_stop(s);
    json_decref(cfg.jobs);
    st_close(e);
}

static void gc_counts_the_bytes_of_the_files_it_scanned(void)
{
    eng_fixture f;
    st_engine *e = fixture_setup(&f, test_tmpdir(), 3, 2, 1, true);
    REQUIRE(e);
    cf_err err;
    REQUIRE(put_gen(e, "b", "one", 300000, 1, NULL, &err) == 0);
    REQUIRE(put_gen(e, "b", "two", 70000, 2, NULL, &err) == 0);
    coffer_config cfg = {.jobs = json_object()};
    char state[PATH_MAX];
    snprintf(state, sizeof state, "%s/jobs", test_tmpdir());
    sched *s = sched_new(state, &err);
    REQUIRE(s);
    REQUIRE(jobs_register(s, e, &cfg, NULL, &err) == 0);
    REQUIRE(sched_start(s, &err) == 0);
    uint64_t id;
    bool ok = false;
    char summary[256];
    json_t *opts = json_pack("{s:i}", "grace_s", 3600);
    REQUIRE(sched_trigger(s, "gc", opts, &id, &err) == 0);
    json_decref(opts);
    REQUIRE(sched_wait(s, "gc", id, &ok, summary, sizeof summary) == 0);
    CHECK(ok);
    uint64_t want = disk_file_bytes(&f, 3);
    CHECK(want >= 3 * (300000 + 70000) / 2);         /* k = 2 of 3: 1.5 x the data */
    json_t *st = sched_status(s, "gc", true);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(st, "last_run"),
                                                    "bytes")), (json_int_t)want);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(st, "last_report"),
                                                    "bytes_scanned")), (json_int_t)want);
    json_decref(st);
    sched_stop(s);
    json_decref(cfg.jobs);
    st_close(e);
}

/* The lifecycle pass's interval has one home: lifecycle.interval_seconds. */
static void lifecycle_interval_is_not_a_jobs_key(void)
{
    cf_err err;
    coffer_config cfg = {.jobs = json_pack("{s:{s:i}}", "lifecycle", "interval_seconds", 60)};
    CHECK_EQ_INT(jobs_check_config(&cfg, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    CHECK(strstr(err.msg, "lifecycle.interval_seconds") != NULL);
    json_decref(cfg.jobs);
}

TEST_MAIN("jobs", T(jobs_report_their_runs), T(gc_counts_the_bytes_of_the_files_it_scanned),
          T(lifecycle_interval_is_not_a_jobs_key))
