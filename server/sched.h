/*
 * server/sched.h - cofferd's one home for background work: a scheduler of
 * named jobs (heal, gc, snapshot, scrub, drill, lifecycle), the way Redis keeps its periodic
 * work in one cron-like place.
 *
 * What it promises:
 *  - Each job runs on a thread of its own, never two runs of one job at
 *    once, every `interval_seconds` (coffer.json jobs.NAME, or the job's
 *    default; 0: only when asked), and at once when triggered (the admin
 *    API). A job whose work is spread over its interval (scrub: a whole
 *    pass per interval, in slices) says so with runs_per_interval.
 *  - Foreground traffic first: job threads run at nice 10 and the lowest
 *    best-effort I/O priority, and a job that moves data calls
 *    sched_pace, which holds it to `bytes_per_second` (0: no limit).
 *  - State for the admin API (sched_status): idle or running, progress
 *    (done/total, bytes and what it is doing), the last run (start, end,
 *    bytes, result, one-line summary), the next run, the counts of runs, the last report
 *    and the last ones kept (history).
 *  - The last run, the history and each job's own state (sched_state, e.g.
 *    scrub's slice cursor) survive restarts: STATE_DIR/NAME.json, written
 *    after every run (temp file, fsync, rename). A job that never ran is
 *    first due one interval after start, or at a random point of its
 *    first interval when it asks to be spread (so that a fleet started
 *    together does not scrub together).
 *  - sched_stop asks running jobs to stop (sched_pace and sched_stopping
 *    then say so, and a job's cancel function is called), waits for them
 *    and joins every thread.
 *
 * Locking: one mutex per scheduler guards every job's state; it is never
 * held while a job runs, so status is always answered at once. Any thread
 * may call sched_trigger, sched_wait and sched_status; sched_add and
 * sched_start come from one thread before anything else.
 *
 * Adding a job (a sketch):
 *
 *     static int lifecycle_run(void *arg, sched_ctl *ctl, const json_t *opts,
 *                              cf_err *err)
 *     {
 *         st_engine *e = arg;
 *         while (there is work) {
 *             ... one piece, n bytes moved ...
 *             sched_progress(ctl, done, total);
 *             if (!sched_pace(ctl, n))          // rate limit; false: stopping
 *                 break;
 *         }
 *         sched_summary(ctl, "%llu objects moved", moved);
 *         return 0;                             // -1 with err: the run failed
 *     }
 *
 * and one row in server/jobs.c's table (name, function, default interval,
 * the extra coffer.json keys it reads with sched_config_int).
 */
#ifndef SRV_SCHED_H
#define SRV_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"

#define SCHED_MAX_JOBS 16
#define SCHED_NAME_MAX 24
#define SCHED_KEEP_REPORTS 10        /* history kept per job */

typedef struct sched sched;
typedef struct sched_ctl sched_ctl;

/* One run. opts: the trigger's options (a JSON object; an empty one when
 * there were none), or NULL for a scheduled run. Return 0 (also when it stopped early because cofferd is
 * stopping), or -1 with err: the run failed (its message is kept as the
 * last result). */
typedef int (*sched_run_fn)(void *arg, sched_ctl *ctl, const json_t *opts, cf_err *err);

typedef struct sched_job_def {
    const char *name;                /* [a-z_]{1,23} */
    sched_run_fn run;
    void *arg;
    int64_t interval_s;              /* default; coffer.json overrides */
    uint64_t bytes_per_s;            /* default; 0: no limit */
    int runs_per_interval;           /* 0 or 1: one run per interval */
    bool spread;                     /* first run at a random point of the interval */
    bool at_start;                   /* first run at once after every start */
    void (*cancel)(void *arg);       /* NULL, or: make a run in progress end soon
                                      * (sched_stop calls it; any thread) */
} sched_job_def;

/* state_dir: where each job's state file lives (created if missing). */
sched *sched_new(const char *state_dir, cf_err *err);
/* Register a job before sched_start. config: the job's coffer.json object
 * (jobs.NAME: interval_seconds, bytes_per_second and the job's own keys),
 * or NULL; the scheduler keeps a reference. */
int sched_add(sched *s, const sched_job_def *def, json_t *config, cf_err *err);
/* Read the state files and start every job's thread. */
int sched_start(sched *s, cf_err *err);
/* Stop and join everything, then free (NULL is fine). */
void sched_stop(sched *s);

/* Run a job now with opts (a JSON object, referenced; NULL: an empty one).
 * CF_ENOTFOUND: no such job; CF_EEXISTS: it is running or already asked
 * to. *run_id (if not NULL) names the run, for sched_wait. */
int sched_trigger(sched *s, const char *name, json_t *opts, uint64_t *run_id,
                  cf_err *err);
/* Run a job soon, and once more after a run in progress: for work that
 * new input makes due (a lifecycle configuration put, a restore asked).
 * No options; nothing if there is no such job or cofferd is stopping. */
void sched_wake(sched *s, const char *name);
/* Wait until run run_id of the job has ended; its result in *ok and
 * summary (cap bytes) or the failure's message. -1 if cofferd stops first. */
int sched_wait(sched *s, const char *name, uint64_t run_id, bool *ok, char *summary,
               size_t cap);
/* The job's status (a new JSON object; NULL: no such job); with full, its
 * last report, history and own state too. */
json_t *sched_status(sched *s, const char *name, bool full);
/* Every job's status, as an array. */
json_t *sched_status_all(sched *s);
/* The last report of a job (a new reference) and when its run ended (unix
 * ms); NULL when it has none. */
json_t *sched_last_report(sched *s, const char *name, int64_t *ended_ms);

/* ---- inside a run ---------------------------------------------------- */

/* Charge bytes against bytes_per_second, sleeping while over it. False
 * once cofferd is stopping: the job should return soon. */
bool sched_pace(sched_ctl *c, uint64_t bytes);
bool sched_stopping(sched_ctl *c);
/* What is done so far of a total (any unit; the job's report says which). */
void sched_progress(sched_ctl *c, uint64_t done, uint64_t total);
/* Add bytes read (or written) to the run's byte count, for the status. */
void sched_bytes(sched_ctl *c, uint64_t bytes);
/* What the job is doing now, for the status ("slice 3 of 30"). */
void sched_phase(sched_ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The one-line result of this run. */
void sched_summary(sched_ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Keep report (stolen) as the last report and in the history. */
void sched_report(sched_ctl *c, json_t *report);
/* The job's own persistent state (a JSON object it may change; saved after
 * the run; starts empty). */
json_t *sched_state(sched_ctl *c);
/* A key of the job's coffer.json object, or fallback. */
int64_t sched_config_int(sched_ctl *c, const char *key, int64_t fallback);
const char *sched_config_str(sched_ctl *c, const char *key);
/* This run's period: the interval divided by runs_per_interval. */
int64_t sched_period(sched_ctl *c);

#endif
