/*
 * server/worker.h - cofferd's background maintenance: one thread that,
 * every interval, rewrites shards of segments on the heal queue (st_heal)
 * and then finishes queued deletions and removes orphan shard files older
 * than the grace period (st_gc, which deletes only what this index could
 * have left, and holds a scan that finds too many: reported loudly), and
 * then writes a snapshot generation of the index to every disk
 * (st_snapshot). Foreground requests never wait on it; it
 * takes the index lock only in short steps, like any request.
 *
 * Start it after the signal mask is set (it must not receive SIGTERM) and
 * stop it before the engine closes: worker_stop wakes the thread, waits for
 * the round in progress to end, and joins it.
 *
 * Status: each step of a round is a job (heal, gc, snapshot) whose state
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
#include "storage/engine.h"

#define WORKER_DEFAULT_INTERVAL_S 300
#define WORKER_DEFAULT_GRACE_S 3600

typedef struct worker worker;

typedef enum worker_job { WORKER_HEAL, WORKER_GC, WORKER_SNAPSHOT, WORKER_JOBS } worker_job;

typedef struct worker_job_status {
    const char *name;                /* "heal", "gc", "snapshot" */
    bool running;
    double last_start;               /* unix seconds; 0: never ran */
    double last_duration;            /* seconds */
    bool last_ok;
    char last_error[CF_ERRMSG_MAX];  /* "" unless !last_ok */
    st_gc_stats last_stats;          /* what the last run did (heal, gc) */
    int last_copies;                 /* snapshot: disks holding it */
    uint64_t runs_ok, runs_failed;
} worker_job_status;

int worker_start(st_engine *e, int interval_s, int64_t grace_s, worker **out,
                 cf_err *err);
void worker_stop(worker *w);
/* A copy of every job's status; the interval in *interval_s. */
void worker_status(worker *w, worker_job_status out[WORKER_JOBS], int *interval_s);

#endif
