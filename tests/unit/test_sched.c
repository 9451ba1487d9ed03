/*
 * tests/unit/test_sched.c - the job scheduler (server/sched.h): a triggered
 * job runs once with its options and reports; a second trigger while it
 * runs is refused; an interval runs it again by itself; status shows
 * running, progress (with the bytes counted) and the last result (with
 * the run's bytes); pacing holds a job to its bytes_per_second; a stop
 * ends a job that is pacing; the last run (its bytes too), the history
 * (bounded) and the job's own state survive a restart.
 */
#include "common/clock.h"
#include "server/sched.h"
#include "tests/unit/test.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

typedef struct probe {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int runs;
    bool hold;                       /* the job waits while this is set */
    bool holding;
    char last_opt[32];
    uint64_t pace_bytes;             /* bytes to pace through, in 64 KiB steps */
    double paced_s;
    bool stopped_early;
    bool fail;
    bool cancelled;                  /* the cancel hook was called */
} probe;

static int probe_run(void *arg, sched_ctl *ctl, const json_t *opts, cf_err *err)
{
    probe *p = arg;
    sched_progress(ctl, 5, 10);                  /* what the status shows while held */
    sched_bytes(ctl, 4096);
    sched_bytes(ctl, 4096);
    pthread_mutex_lock(&p->lock);
    p->runs++;
    const char *o = json_string_value(json_object_get(opts, "opt"));
    snprintf(p->last_opt, sizeof p->last_opt, "%s", opts ? (o ? o : "") : "scheduled");
    p->holding = p->hold;
    pthread_cond_broadcast(&p->cond);
    while (p->hold)
        pthread_cond_wait(&p->cond, &p->lock);
    p->holding = false;
    uint64_t total = p->pace_bytes;
    bool fail = p->fail;
    pthread_mutex_unlock(&p->lock);
    sched_phase(ctl, "step %d", 1);
    double t0 = clock_mono_s();
    for (uint64_t done = 0; done < total; done += 65536) {
        sched_progress(ctl, done, total);
        if (!sched_pace(ctl, 65536)) {
            p->stopped_early = true;
            break;
        }
    }
    p->paced_s = clock_mono_s() - t0;
    json_t *st = sched_state(ctl);
    json_object_set_new(st, "count", json_integer(json_integer_value(
                                         json_object_get(st, "count")) + 1));
    sched_report(ctl, json_pack("{s:i}", "run", p->runs));
    if (fail)
        return cf_fail(err, CF_EIO, "the probe failed on purpose");
    sched_summary(ctl, "run %d done", p->runs);
    return 0;
}

static sched *start(const char *dir, probe *p, json_t *config, int64_t interval_s)
{
    cf_err err;
    sched *s = sched_new(dir, &err);
    if (!s)
        return NULL;
    sched_job_def def = {.name = "probe", .run = probe_run, .arg = p,
                         .interval_s = interval_s};
    if (sched_add(s, &def, config, &err) < 0 || sched_start(s, &err) < 0) {
        fprintf(stderr, "sched: %s\n", err.msg);
        sched_stop(s);
        return NULL;
    }
    return s;
}

static void probe_init(probe *p)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
}

static const char *state_of(sched *s)
{
    static char buf[16];
    json_t *st = sched_status(s, "probe", false);
    snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(st, "state")));
    json_decref(st);
    return buf;
}

static void a_trigger_runs_the_job_once_with_its_options(void)
{
    probe p;
    probe_init(&p);
    sched *s = start(test_tmpdir(), &p, NULL, 0);
    REQUIRE(s);
    cf_err err;
    uint64_t id = 0;
    json_t *opts = json_pack("{s:s}", "opt", "deep");
    CHECK_EQ_INT(sched_trigger(s, "probe", opts, &id, &err), 0);
    json_decref(opts);
    bool ok = false;
    char summary[64];
    CHECK_EQ_INT(sched_wait(s, "probe", id, &ok, summary, sizeof summary), 0);
    CHECK(ok);
    CHECK_EQ_STR(summary, "run 1 done");
    CHECK_EQ_STR(p.last_opt, "deep");
    CHECK_EQ_INT(p.runs, 1);
    CHECK_EQ_INT(sched_trigger(s, "nosuch", NULL, NULL, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOTFOUND);
    json_t *st = sched_status(s, "probe", true);
    CHECK_EQ_STR(json_string_value(json_object_get(st, "state")), "idle");
    CHECK(json_is_true(json_object_get(json_object_get(st, "last_run"), "ok")));
    /* the bytes the run counted (2 x 4096) stay with its last run */
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(st, "last_run"),
                                                    "bytes")), 8192);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(st, "last_report"),
                                                    "run")), 1);
    CHECK(json_is_null(json_object_get(st, "next_run")));   /* interval 0 */
    json_decref(st);
    sched_stop(s);
}

static void a_running_job_refuses_a_second_trigger_and_shows_progress(void)
{
    probe p;
    probe_init(&p);
    p.hold = true;
    sched *s = start(test_tmpdir(), &p, NULL, 0);
    REQUIRE(s);
    cf_err err;
    uint64_t id;
    REQUIRE(sched_trigger(s, "probe", NULL, &id, &err) == 0);
    pthread_mutex_lock(&p.lock);
    while (!p.holding)
        pthread_cond_wait(&p.cond, &p.lock);
    pthread_mutex_unlock(&p.lock);
    CHECK_EQ_STR(state_of(s), "running");
    json_t *run = sched_status(s, "probe", false), *pr = json_object_get(run, "progress");
    CHECK_EQ_INT(json_integer_value(json_object_get(pr, "done")), 5);
    CHECK_EQ_INT(json_integer_value(json_object_get(pr, "total")), 10);
    CHECK_EQ_INT(json_integer_value(json_object_get(pr, "bytes")), 8192);
    json_decref(run);
    CHECK_EQ_INT(sched_trigger(s, "probe", NULL, NULL, &err), -1);
    CHECK_EQ_INT(err.code, CF_EEXISTS);
    pthread_mutex_lock(&p.lock);
    p.hold = false;
    p.fail = true;
    pthread_cond_broadcast(&p.cond);
    pthread_mutex_unlock(&p.lock);
    bool ok = true;
    char summary[64];
    CHECK_EQ_INT(sched_wait(s, "probe", id, &ok, summary, sizeof summary), 0);
    CHECK(!ok);
    CHECK_EQ_STR(summary, "the probe failed on purpose");
    json_t *st = sched_status(s, "probe", false);
    CHECK_EQ_INT(json_integer_value(json_object_get(st, "runs_failed")), 1);
    json_decref(st);
    sched_stop(s);
}

static void probe_cancel(void *arg)
{
    probe *p = arg;
    pthread_mutex_lock(&p->lock);
    p->cancelled = true;
    pthread_mutex_unlock(&p->lock);
}

/* The lifecycle job's kind: at once after start, woken (also while it
 * runs: once more after), cancelled by sched_stop. */
static void at_start_wake_and_cancel(void)
{
    probe p;
    probe_init(&p);
    p.hold = true;
    cf_err err;
    sched *s = sched_new(test_tmpdir(), &err);
    REQUIRE(s);
    sched_job_def def = {.name = "probe", .run = probe_run, .arg = &p, .interval_s = 3600,
                         .at_start = true, .cancel = probe_cancel};
    REQUIRE(sched_add(s, &def, NULL, &err) == 0 && sched_start(s, &err) == 0);
    pthread_mutex_lock(&p.lock);
    while (!p.holding)                /* run 1: at start, not an hour later */
        pthread_cond_wait(&p.cond, &p.lock);
    pthread_mutex_unlock(&p.lock);
    sched_wake(s, "probe");           /* while it runs */
    sched_wake(s, "probe");           /* a second wake asks nothing more */
    sched_wake(s, "nosuch");
    pthread_mutex_lock(&p.lock);
    p.hold = false;
    pthread_cond_broadcast(&p.cond);
    pthread_mutex_unlock(&p.lock);
    int runs_ok = 0;
    for (int i = 0; i < 500 && runs_ok < 2; i++) {
        json_t *st = sched_status(s, "probe", false);
        runs_ok = (int)json_integer_value(json_object_get(st, "runs_ok"));
        json_decref(st);
        if (runs_ok < 2)
            usleep(10000);
    }
    CHECK_EQ_INT(runs_ok, 2);
    usleep(50000);
    CHECK_EQ_INT(p.runs, 2);
    CHECK(!p.cancelled);
    sched_stop(s);
    CHECK(p.cancelled);
}

static void an_interval_runs_the_job_by_itself(void)
{
    probe p;
    probe_init(&p);
    json_t *config = json_pack("{s:i}", "interval_seconds", 1);
    sched *s = start(test_tmpdir(), &p, config, 3600);
    json_decref(config);
    REQUIRE(s);
    for (int i = 0; i < 60; i++) {          /* two runs within ~3 s */
        pthread_mutex_lock(&p.lock);
        int runs = p.runs;
        pthread_mutex_unlock(&p.lock);
        if (runs >= 2)
            break;
        usleep(100000);
    }
    sched_stop(s);
    CHECK(p.runs >= 2);
    CHECK_EQ_STR(p.last_opt, "scheduled");
}

static void pacing_holds_a_job_to_its_rate_and_a_stop_ends_it(void)
{
    probe p;
    probe_init(&p);
    p.pace_bytes = 3u << 20;                 /* 1 MiB burst, then 2 MiB at 4 MiB/s */
    json_t *config = json_pack("{s:i}", "bytes_per_second", 4 << 20);
    sched *s = start(test_tmpdir(), &p, config, 0);
    REQUIRE(s);
    cf_err err;
    uint64_t id;
    REQUIRE(sched_trigger(s, "probe", NULL, &id, &err) == 0);
    bool ok;
    char summary[64];
    REQUIRE(sched_wait(s, "probe", id, &ok, summary, sizeof summary) == 0);
    CHECK(p.paced_s > 0.35);                 /* never faster than the rate */
    CHECK(!p.stopped_early);
    p.pace_bytes = 1u << 30;                 /* would take minutes */
    REQUIRE(sched_trigger(s, "probe", NULL, &id, &err) == 0);
    usleep(300000);
    sched_stop(s);                           /* the pacing job sees it and ends */
    json_decref(config);
    CHECK(p.stopped_early);
}

static void the_last_run_history_and_state_survive_a_restart(void)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    probe p;
    probe_init(&p);
    sched *s = start(dir, &p, NULL, 0);
    REQUIRE(s);
    cf_err err;
    for (int i = 0; i < SCHED_KEEP_REPORTS + 3; i++) {
        uint64_t id;
        bool ok;
        char summary[64];
        REQUIRE(sched_trigger(s, "probe", NULL, &id, &err) == 0);
        REQUIRE(sched_wait(s, "probe", id, &ok, summary, sizeof summary) == 0);
    }
    sched_stop(s);
    s = start(dir, &p, NULL, 0);
    REQUIRE(s);
    json_t *st = sched_status(s, "probe", true);
    json_t *h = json_object_get(st, "history");
    CHECK_EQ_INT(json_array_size(h), SCHED_KEEP_REPORTS);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(h, SCHED_KEEP_REPORTS - 1),
                                                    "run")), SCHED_KEEP_REPORTS + 3);
    CHECK_EQ_INT(json_integer_value(json_object_get(st, "runs_ok")), SCHED_KEEP_REPORTS + 3);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(st, "last_run"),
                                                   "summary")), "run 13 done");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(st, "last_run"),
                                                    "bytes")), 8192);
    json_decref(st);
    uint64_t id;
    bool ok;
    char summary[64];
    REQUIRE(sched_trigger(s, "probe", NULL, &id, &err) == 0);
    REQUIRE(sched_wait(s, "probe", id, &ok, summary, sizeof summary) == 0);
    sched_stop(s);
    /* the job's own state counted every run, across the restart */
    s = start(dir, &p, NULL, 0);
    REQUIRE(s);
    st = sched_status(s, "probe", true);
    CHECK_EQ_INT(json_integer_value(json_object_get(st, "runs_ok")), SCHED_KEEP_REPORTS + 4);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(st, "job_state"), "count")),
                 SCHED_KEEP_REPORTS + 4);
    json_decref(st);
    sched_stop(s);
}

TEST_MAIN("sched",
          T(a_trigger_runs_the_job_once_with_its_options),
          T(a_running_job_refuses_a_second_trigger_and_shows_progress),
          T(at_start_wake_and_cancel),
          T(an_interval_runs_the_job_by_itself),
          T(pacing_holds_a_job_to_its_rate_and_a_stop_ends_it),
          T(the_last_run_history_and_state_survive_a_restart))
