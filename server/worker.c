/*
 * server/worker.c - the background thread (see worker.h). It sleeps on a
 * condition variable until the next job is due (a maintenance round every
 * interval, a lifecycle pass every lifecycle interval or when woken), so
 * that stopping never waits out an interval, and it
 * reports a round on stderr only when it changed something, with two
 * exceptions: a GC scan held by the orphan bound is reported loudly every
 * round, and orphans kept for being older than the index whenever their
 * number changes. Each step is timed and its outcome kept in the job
 * status table, under status_lock (never held across engine work).
 */
#include "server/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct worker {
    st_engine *e;
    int interval_s;
    int64_t grace_s;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    lifecycle *lc;                   /* NULL: no lifecycle job */
    int lc_interval_s;
    bool lc_woken;                   /* under lock */
    double next_round, next_lc;      /* wall seconds when each is due */
    pthread_mutex_t status_lock;
    worker_job_status jobs[WORKER_JOBS];
    uint64_t older_reported;         /* orphans older than the index, last said */
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void job_begin(worker *w, worker_job j)
{
    pthread_mutex_lock(&w->status_lock);
    w->jobs[j].running = true;
    w->jobs[j].last_start = wall_now();
    pthread_mutex_unlock(&w->status_lock);
}

/* Record the end of job j (rc from the engine call, err if it failed). */
static void job_end(worker *w, worker_job j, int rc, const cf_err *err,
                    const st_gc_stats *stats, int copies)
{
    worker_job_status *s = &w->jobs[j];
    if (rc < 0)
        fprintf(stderr, "cofferd: %s: %s\n", s->name, err->msg);
    pthread_mutex_lock(&w->status_lock);
    s->running = false;
    s->last_duration = wall_now() - s->last_start;
    s->last_ok = rc == 0;
    snprintf(s->last_error, sizeof s->last_error, "%s", rc == 0 ? "" : err->msg);
    if (stats)
        s->last_stats = *stats;
    s->last_copies = copies;
    if (rc == 0)
        s->runs_ok++;
    else
        s->runs_failed++;
    pthread_mutex_unlock(&w->status_lock);
}

static void report_gc(worker *w, const st_gc_stats *st)
{
    if (st->held)
        fprintf(stderr, "cofferd: GC HELD: %llu orphan shard files (more than the bound "
                "of %llu for %llu files) were NOT deleted. That many files no index row "
                "names means the index may not match the disks; check with coffer "
                "status and cofferd(8), \"Recovering the index\". If they are garbage, "
                "coffer gc --force-orphans deletes them.\n",
                (unsigned long long)st->orphans_held, (unsigned long long)st->orphan_bound,
                (unsigned long long)st->files_scanned);
    if (st->orphans_older_than_index != w->older_reported)
        fprintf(stderr, "cofferd: gc: %llu shard files no index row names are older than "
                "this index; they are kept, never deleted (cofferd(8), \"Recovering the "
                "index\")\n", (unsigned long long)st->orphans_older_than_index);
    w->older_reported = st->orphans_older_than_index;
}

static void run_round(worker *w)
{
    st_gc_stats stats = {0}, heal = {0}, gc = {0};
    cf_err err;
    job_begin(w, WORKER_HEAL);
    int rc = st_heal(w->e, &heal, &err);
    job_end(w, WORKER_HEAL, rc, &err, &heal, 0);
    job_begin(w, WORKER_GC);
    st_gc_opts opts = {.grace_s = w->grace_s};
    rc = st_gc(w->e, &opts, &gc, &err);
    job_end(w, WORKER_GC, rc, &err, &gc, 0);
    if (rc == 0)
        report_gc(w, &gc);
    int copies = 0;
    job_begin(w, WORKER_SNAPSHOT);
    rc = st_snapshot(w->e, &copies, &err);
    job_end(w, WORKER_SNAPSHOT, rc, &err, NULL, copies);
    stats.healed_segments = heal.healed_segments;
    stats.heal_failures = heal.heal_failures;
    stats.orphan_files = gc.orphan_files;
    if (stats.healed_segments || stats.heal_failures || stats.orphan_files)
        fprintf(stderr, "cofferd: maintenance: %llu segments healed, %llu could not "
                "be, %llu orphan shard files removed\n",
                (unsigned long long)stats.healed_segments,
                (unsigned long long)stats.heal_failures,
                (unsigned long long)stats.orphan_files);
}

static void run_lifecycle(worker *w)
{
    cf_err err;
    job_begin(w, WORKER_LIFECYCLE);
    int rc = lifecycle_pass(w->lc, &err);
    job_end(w, WORKER_LIFECYCLE, rc, &err, NULL, 0);
}

/* Sleep until a job is due (the lifecycle pass also when woken); which
 * are in *round, *lc. false once stopping. */
static bool wait_due(worker *w, bool *round, bool *lc)
{
    pthread_mutex_lock(&w->lock);
    for (;;) {
        double now = wall_now();
        *round = now >= w->next_round;
        *lc = w->lc && (w->lc_woken || now >= w->next_lc);
        if (w->stopping || *round || *lc)
            break;
        double next = w->lc && w->next_lc < w->next_round ? w->next_lc : w->next_round;
        struct timespec until = {.tv_sec = (time_t)next,
                                 .tv_nsec = (long)((next - (double)(time_t)next) * 1e9)};
        pthread_cond_timedwait(&w->wake, &w->lock, &until);
    }
    if (*lc) {
        w->lc_woken = false;
        w->next_lc = wall_now() + w->lc_interval_s;
    }
    if (*round)
        w->next_round = wall_now() + w->interval_s;
    bool go_on = !w->stopping;
    pthread_mutex_unlock(&w->lock);
    return go_on;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    bool round, lc;
    while (wait_due(w, &round, &lc)) {
        if (lc)
            run_lifecycle(w);
        if (round)
            run_round(w);
    }
    return NULL;
}

int worker_start(st_engine *e, int interval_s, int64_t grace_s, lifecycle *lc,
                 int lc_interval_s, worker **out, cf_err *err)
{
    worker *w = calloc(1, sizeof *w);
    if (!w)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    w->e = e;
    w->interval_s = interval_s > 0 ? interval_s : WORKER_DEFAULT_INTERVAL_S;
    w->grace_s = grace_s;
    w->lc = lc;
    w->lc_interval_s = lc_interval_s > 0 ? lc_interval_s : 1;
    w->next_round = wall_now() + w->interval_s;
    w->next_lc = wall_now();         /* the first pass at once: it recovers */
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_mutex_init(&w->status_lock, NULL);
    static const char *const names[WORKER_JOBS] = {"heal", "gc", "snapshot", "lifecycle"};
    for (int j = 0; j < WORKER_JOBS; j++)
        w->jobs[j].name = names[j];
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc != 0) {
        pthread_mutex_destroy(&w->status_lock);
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return cf_fail_errno(err, CF_EINTERNAL, rc, "cannot start the maintenance thread");
    }
    *out = w;
    return 0;
}

void worker_stop(worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    lifecycle_cancel(w->lc);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->status_lock);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

void worker_wake_lifecycle(worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->lc_woken = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

void worker_status(worker *w, worker_job_status out[WORKER_JOBS], int *interval_s)
{
    pthread_mutex_lock(&w->status_lock);
    memcpy(out, w->jobs, sizeof w->jobs);
    pthread_mutex_unlock(&w->status_lock);
    *interval_s = w->interval_s;
}
