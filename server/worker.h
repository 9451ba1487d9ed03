/*
 * server/worker.h - cofferd's background maintenance: one thread that,
 * every interval, rewrites shards of segments on the heal queue (st_heal)
 * and then finishes queued deletions and removes orphan shard files older
 * than the grace period (st_gc, which deletes only what this index could
 * have left, and holds a scan that finds too many: reported loudly), and
 * then writes a snapshot generation of the index to every disk
 * (st_snapshot); and, on its own interval (lifecycle.interval_seconds)
 * or sooner when woken, runs the lifecycle pass (lifecycle.h: rules,
 * expirations, transitions to cold tiers, restores, remote deletes). One
 * job runs at a time. Foreground requests never wait on it; it takes the
 * index lock only in short steps, like any request.
 *
 * Start it after the signal mask is set (it must not receive SIGTERM) and
 * stop it before the engine closes: worker_stop wakes the thread, cancels
 * a lifecycle pass in progress (lifecycle_cancel), waits for the job in
 * progress to end, and joins it.
 *
 * Status: each step of a round is a job (heal, gc, snapshot, lifecycle) whose state
 * worker_status reports for metrics and the console: running now, when it
 * last started and how long it took, whether it succeeded (and the
 * engine's message if not: engine messages hold no secrets), what it did,
 * and how many runs ended each way. Any thread may call it; it takes the
 * worker's status lock for a copy.
 */
#ifndef SERVER_WORKER_H
#define SERVER_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "server/lifecycle.h"
#include "storage/engine.h"

#define WORKER_DEFAULT_INTERVAL_S 300
#define WORKER_DEFAULT_GRACE_S 3600

typedef struct worker worker;

typedef enum worker_job {
    WORKER_HEAL, WORKER_GC, WORKER_SNAPSHOT, WORKER_LIFECYCLE, WORKER_JOBS
} worker_job;

typedef struct worker_job_status {
    const char *name;                /* "heal", "gc", "snapshot", "lifecycle" */
    bool running;
    double last_start;               /* unix seconds; 0: never ran */
    double last_duration;            /* seconds */
    bool last_ok;
    char last_error[CF_ERRMSG_MAX];  /* "" unless !last_ok */
    st_gc_stats last_stats;          /* what the last run did (heal, gc) */
    int last_copies;                 /* snapshot: disks holding it */
    uint64_t runs_ok, runs_failed;
} worker_job_status;

/* lc NULL: no lifecycle job (it never runs); else its pass runs at once
 * and then every lc_interval_s seconds. */
int worker_start(st_engine *e, int interval_s, int64_t grace_s, lifecycle *lc,
                 int lc_interval_s, worker **out, cf_err *err);
void worker_stop(worker *w);
/* Run the lifecycle pass soon instead of at the end of its interval
 * (after the job in progress); any thread; w NULL: nothing. */
void worker_wake_lifecycle(worker *w);
/* A copy of every job's status; the interval in *interval_s. */
void worker_status(worker *w, worker_job_status out[WORKER_JOBS], int *interval_s);

#endif
