/*
 * server/worker.c - the maintenance thread (see worker.h). It sleeps on a
 * condition variable so that stopping never waits out an interval, and it
 * reports a round on stderr only when it changed something, with two
 * exceptions: a GC scan held by the orphan bound is reported loudly every
 * round, and orphans kept for being older than the index whenever their
 * number changes.
 */
#include "server/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct worker {
    st_engine *e;
    int interval_s;
    int64_t grace_s;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    uint64_t older_reported;         /* orphans older than the index, last said */
};

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
    st_gc_stats stats = {0};
    cf_err err;
    if (st_heal(w->e, &stats, &err) < 0)
        fprintf(stderr, "cofferd: heal: %s\n", err.msg);
    st_gc_opts opts = {.grace_s = w->grace_s};
    if (st_gc(w->e, &opts, &stats, &err) < 0)
        fprintf(stderr, "cofferd: gc: %s\n", err.msg);
    else
        report_gc(w, &stats);
    int copies;
    if (st_snapshot(w->e, &copies, &err) < 0)
        fprintf(stderr, "cofferd: index snapshot: %s\n", err.msg);
    if (stats.healed_segments || stats.heal_failures || stats.orphan_files)
        fprintf(stderr, "cofferd: maintenance: %llu segments healed, %llu could not "
                "be, %llu orphan shard files removed\n",
                (unsigned long long)stats.healed_segments,
                (unsigned long long)stats.heal_failures,
                (unsigned long long)stats.orphan_files);
}

/* Sleep one interval; false once stopping. */
static bool wait_interval(worker *w)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += w->interval_s;
    pthread_mutex_lock(&w->lock);
    int rc = 0;
    while (!w->stopping && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->wake, &w->lock, &until);
    bool go_on = !w->stopping;
    pthread_mutex_unlock(&w->lock);
    return go_on;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    while (wait_interval(w))
        run_round(w);
    return NULL;
}

int worker_start(st_engine *e, int interval_s, int64_t grace_s, worker **out,
                 cf_err *err)
{
    worker *w = calloc(1, sizeof *w);
    if (!w)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    w->e = e;
    w->interval_s = interval_s > 0 ? interval_s : WORKER_DEFAULT_INTERVAL_S;
    w->grace_s = grace_s;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc != 0) {
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
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
