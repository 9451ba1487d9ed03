/*
 * server/sched.c - the job scheduler (contract in sched.h).
 *
 * Each job has a runner thread that sleeps on the scheduler's condition
 * variable until its run is due, it is triggered or the scheduler stops;
 * every state change broadcasts, and each sleeper re-checks only its own
 * job. A run copies what it needs under the lock, runs without it, and
 * records its end under it; the state file is written after the lock is
 * dropped, from a copy, so a slow disk never stalls a status request.
 *
 * Pacing is a token bucket per job (one tenth of a second of burst, at
 * least 1 MiB): sched_pace refills it by the time elapsed, takes the
 * bytes, and sleeps the debt away in steps of at most 100 ms so that a
 * stop is seen quickly.
 */
#include "server/sched.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/clock.h"

#define SCHED_NICE 10
#define IOPRIO_CLASS_BE 2
#define IOPRIO_LOWEST 7
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_VALUE(cls, data) (((cls) << 13) | (data))

typedef struct sched_job {
    sched *s;
    sched_job_def def;
    json_t *config;
    int64_t interval_s;
    uint64_t bytes_per_s;
    pthread_t thread;
    bool started;
    /* under s->lock */
    bool running, triggered;
    json_t *trigger_opts;
    uint64_t next_run_id;            /* the id the next run gets */
    uint64_t last_run_id;            /* the last run that ended; 0: none */
    int64_t next_due_ms;             /* 0: never (interval 0) */
    int64_t started_ms;
    uint64_t done, total, bytes;
    char phase[96];
    int64_t last_start_ms, last_end_ms;
    uint64_t last_bytes;             /* the bytes count of the last run */
    bool last_ok;
    char last_summary[256];
    uint64_t runs_ok, runs_failed;
    json_t *state;                   /* the job's own, persistent */
    json_t *history;                 /* reports, oldest first */
} sched_job;

struct sched {
    char dir[PATH_MAX - 2 * SCHED_NAME_MAX];  /* room for /NAME.json */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
    sched_job jobs[SCHED_MAX_JOBS];
    int njobs;
};

struct sched_ctl {
    sched_job *j;
    char summary[256];
    json_t *state;                   /* the run's working copy */
    json_t *reports;                 /* added during the run */
    double tokens;
    int64_t refilled_ns;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static sched_job *find_job(sched *s, const char *name)
{
    for (int i = 0; i < s->njobs; i++)
        if (strcmp(s->jobs[i].def.name, name) == 0)
            return &s->jobs[i];
    return NULL;
}

static int64_t period_ms(const sched_job *j)
{
    int per = j->def.runs_per_interval > 1 ? j->def.runs_per_interval : 1;
    int64_t p = j->interval_s * 1000 / per;
    return p > 0 ? p : 1000;
}

/* ---- state files ---------------------------------------------------------- */

static void state_path(const sched_job *j, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s/%s.json", j->s->dir, j->def.name);
}

static json_t *state_doc_locked(const sched_job *j)
{
    return json_pack("{s:I, s:I, s:I, s:b, s:s, s:I, s:I, s:O, s:O}",
                     "last_start", (json_int_t)j->last_start_ms,
                     "last_end", (json_int_t)j->last_end_ms,
                     "last_bytes", (json_int_t)j->last_bytes, "last_ok", j->last_ok,
                     "last_summary", j->last_summary, "runs_ok", (json_int_t)j->runs_ok,
                     "runs_failed", (json_int_t)j->runs_failed, "state", j->state,
                     "history", j->history);
}

static void save_state(const sched_job *j, json_t *doc)
{
    char path[PATH_MAX];
    cf_err err;
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    state_path(j, path);
    if (!text || fsu_write_atomic(path, text, strlen(text), 0600, &err) < 0)
        fprintf(stderr, "cofferd: job %s: cannot save its state to %s: %s\n",
                j->def.name, path, text ? err.msg : "out of memory");
    free(text);
}

static void load_state(sched_job *j)
{
    char path[PATH_MAX];
    state_path(j, path);
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        if (access(path, F_OK) == 0)
            fprintf(stderr, "cofferd: job %s: ignoring unreadable state %s: %s\n",
                    j->def.name, path, jerr.text);
        return;
    }
    j->last_start_ms = json_integer_value(json_object_get(doc, "last_start"));
    j->last_end_ms = json_integer_value(json_object_get(doc, "last_end"));
    j->last_bytes = (uint64_t)json_integer_value(json_object_get(doc, "last_bytes"));
    j->last_ok = json_is_true(json_object_get(doc, "last_ok"));
    const char *summary = json_string_value(json_object_get(doc, "last_summary"));
    snprintf(j->last_summary, sizeof j->last_summary, "%s", summary ? summary : "");
    j->runs_ok = (uint64_t)json_integer_value(json_object_get(doc, "runs_ok"));
    j->runs_failed = (uint64_t)json_integer_value(json_object_get(doc, "runs_failed"));
    json_t *st = json_object_get(doc, "state"), *h = json_object_get(doc, "history");
    if (json_is_object(st)) {
        json_decref(j->state);
        j->state = json_incref(st);
    }
    if (json_is_array(h)) {
        json_decref(j->history);
        j->history = json_incref(h);
    }
    json_decref(doc);
}

/* ---- runs ------------------------------------------------------------------ */

static void lower_priority(void)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);
    if (setpriority(PRIO_PROCESS, (id_t)tid, SCHED_NICE) != 0) {
        /* not allowed here: run at the normal priority */
    }
#ifdef SYS_ioprio_set
    syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, (int)tid,
            IOPRIO_VALUE(IOPRIO_CLASS_BE, IOPRIO_LOWEST));
#endif
}

static void first_due_locked(sched_job *j)
{
    if (j->def.at_start) {
        j->next_due_ms = now_ms();
        return;
    }
    if (j->interval_s <= 0) {
        j->next_due_ms = 0;
        return;
    }
    int64_t p = period_ms(j), now = now_ms();
    if (j->last_end_ms > 0)
        j->next_due_ms = j->last_end_ms + p > now ? j->last_end_ms + p : now + 1000;
    else if (j->def.spread)
        j->next_due_ms = now + (int64_t)((uint64_t)random() % (uint64_t)p);
    else
        j->next_due_ms = now + p;
}

static bool due_locked(const sched_job *j)
{
    return j->triggered || (j->next_due_ms > 0 && now_ms() >= j->next_due_ms);
}

static void wait_locked(sched *s, const sched_job *j)
{
    if (j->next_due_ms == 0) {
        pthread_cond_wait(&s->cond, &s->lock);
        return;
    }
    struct timespec until = {.tv_sec = j->next_due_ms / 1000,
                             .tv_nsec = (j->next_due_ms % 1000) * 1000000};
    pthread_cond_timedwait(&s->cond, &s->lock, &until);
}

/* Trim the history to its bound, newest kept. */
static void keep_reports(json_t *history)
{
    while (json_array_size(history) > SCHED_KEEP_REPORTS)
        json_array_remove(history, 0);
}

static void run_once_locked(sched_job *j)
{
    sched *s = j->s;
    sched_ctl c = {.j = j, .refilled_ns = clock_mono_ns()};
    json_t *opts = j->trigger_opts;
    j->trigger_opts = NULL;
    j->triggered = false;
    j->running = true;
    uint64_t id = j->next_run_id++;
    j->started_ms = j->last_start_ms = now_ms();
    j->done = j->total = j->bytes = 0;
    j->phase[0] = '\0';
    c.state = json_deep_copy(j->state);
    c.reports = json_array();
    pthread_mutex_unlock(&s->lock);

    cf_err err;
    cf_err_clear(&err);
    int rc = c.state && c.reports ? j->def.run(j->def.arg, &c, opts, &err)
                                  : cf_fail(&err, CF_ENOMEM, "out of memory");
    json_decref(opts);

    pthread_mutex_lock(&s->lock);
    j->running = false;
    j->last_end_ms = now_ms();
    j->last_bytes = j->bytes;
    j->last_ok = rc == 0;
    snprintf(j->last_summary, sizeof j->last_summary, "%s", rc == 0 ? c.summary : err.msg);
    if (rc == 0)
        j->runs_ok++;
    else
        j->runs_failed++;
    if (c.state) {
        json_decref(j->state);
        j->state = c.state;
    }
    size_t i;
    json_t *r;
    json_array_foreach(c.reports, i, r)
        json_array_append(j->history, r);
    keep_reports(j->history);
    json_decref(c.reports);
    j->last_run_id = id;
    if (j->interval_s > 0)
        j->next_due_ms = j->last_end_ms + period_ms(j);
    json_t *doc = state_doc_locked(j);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    if (rc < 0)
        fprintf(stderr, "cofferd: job %s failed: %s\n", j->def.name, err.msg);
    save_state(j, doc);
    pthread_mutex_lock(&s->lock);
}

static void *runner(void *arg)
{
    sched_job *j = arg;
    sched *s = j->s;
    lower_priority();
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        if (due_locked(j))
            run_once_locked(j);
        else
            wait_locked(s, j);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- the scheduler --------------------------------------------------------- */

sched *sched_new(const char *state_dir, cf_err *err)
{
    sched *s = calloc(1, sizeof *s);
    if (!s) {
        cf_fail(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    if ((size_t)snprintf(s->dir, sizeof s->dir, "%s", state_dir) >= sizeof s->dir ||
        fsu_mkdir_p(s->dir, err) < 0) {
        if (strlen(state_dir) >= sizeof s->dir)
            cf_fail(err, CF_EINVAL, "job state directory path too long");
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    return s;
}

static bool valid_name(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    return len >= 1 && len < SCHED_NAME_MAX && strspn(n, "abcdefghijklmnopqrstuvwxyz_") == len;
}

int sched_add(sched *s, const sched_job_def *def, json_t *config, cf_err *err)
{
    if (!valid_name(def->name) || !def->run)
        return cf_fail(err, CF_EINVAL, "job: bad definition");
    if (find_job(s, def->name))
        return cf_fail(err, CF_EEXISTS, "job %s is registered twice", def->name);
    if (s->njobs == SCHED_MAX_JOBS)
        return cf_fail(err, CF_EINVAL, "too many jobs (at most %d)", SCHED_MAX_JOBS);
    sched_job *j = &s->jobs[s->njobs];
    memset(j, 0, sizeof *j);
    j->s = s;
    j->def = *def;
    j->config = config ? json_incref(config) : NULL;
    json_t *iv = json_object_get(config, "interval_seconds");
    json_t *bps = json_object_get(config, "bytes_per_second");
    j->interval_s = json_is_integer(iv) ? json_integer_value(iv) : def->interval_s;
    j->bytes_per_s = json_is_integer(bps) ? (uint64_t)json_integer_value(bps)
                                          : def->bytes_per_s;
    j->state = json_object();
    j->history = json_array();
    j->next_run_id = 1;
    if (!j->state || !j->history) {
        json_decref(j->state);
        json_decref(j->history);
        json_decref(j->config);
        return cf_fail(err, CF_ENOMEM, "out of memory");
    }
    s->njobs++;
    return 0;
}

int sched_start(sched *s, cf_err *err)
{
    srandom((unsigned)(now_ms() ^ getpid()));
    for (int i = 0; i < s->njobs; i++) {
        sched_job *j = &s->jobs[i];
        load_state(j);
        first_due_locked(j);
    }
    for (int i = 0; i < s->njobs; i++) {
        int rc = pthread_create(&s->jobs[i].thread, NULL, runner, &s->jobs[i]);
        if (rc != 0)
            return cf_fail_errno(err, CF_EINTERNAL, rc, "cannot start the thread of job %s",
                                 s->jobs[i].def.name);
        s->jobs[i].started = true;
    }
    return 0;
}

void sched_stop(sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < s->njobs; i++)
        if (s->jobs[i].def.cancel)
            s->jobs[i].def.cancel(s->jobs[i].def.arg);
    for (int i = 0; i < s->njobs; i++) {
        sched_job *j = &s->jobs[i];
        if (j->started)
            pthread_join(j->thread, NULL);
        json_decref(j->trigger_opts);
        json_decref(j->state);
        json_decref(j->history);
        json_decref(j->config);
    }
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int sched_trigger(sched *s, const char *name, json_t *opts, uint64_t *run_id,
                  cf_err *err)
{
    sched_job *j = find_job(s, name);
    if (!j)
        return cf_fail(err, CF_ENOTFOUND, "no job named %s", name);
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    if (s->stopping)
        rc = cf_fail(err, CF_EQUORUM, "cofferd is stopping");
    else if (j->running || j->triggered)
        rc = cf_fail(err, CF_EEXISTS, "job %s is %s", name,
                     j->running ? "running" : "about to run");
    if (rc == 0) {
        j->triggered = true;
        j->trigger_opts = opts ? json_incref(opts) : json_object();
        if (run_id)
            *run_id = j->next_run_id;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void sched_wake(sched *s, const char *name)
{
    sched_job *j = s ? find_job(s, name) : NULL;
    if (!j)
        return;
    pthread_mutex_lock(&s->lock);
    if (!s->stopping && !j->triggered) {
        j->triggered = true;
        j->trigger_opts = json_object();
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
}

int sched_wait(sched *s, const char *name, uint64_t run_id, bool *ok, char *summary,
               size_t cap)
{
    sched_job *j = find_job(s, name);
    if (!j)
        return -1;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping && j->last_run_id < run_id)
        pthread_cond_wait(&s->cond, &s->lock);
    int rc = j->last_run_id >= run_id ? 0 : -1;
    *ok = j->last_ok;
    snprintf(summary, cap, "%s", j->last_summary);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static json_t *time_or_null(int64_t ms)
{
    return ms > 0 ? json_integer(ms / 1000) : json_null();
}

static json_t *status_locked(const sched_job *j, bool full)
{
    json_t *progress = j->running
        ? json_pack("{s:I, s:I, s:I, s:s, s:I}", "done", (json_int_t)j->done, "total",
                    (json_int_t)j->total, "bytes", (json_int_t)j->bytes, "phase", j->phase,
                    "started", (json_int_t)(j->started_ms / 1000))
        : json_null();
    json_t *last = j->last_end_ms > 0
        ? json_pack("{s:o, s:o, s:f, s:I, s:b, s:s, s:I}", "start",
                    time_or_null(j->last_start_ms), "end", time_or_null(j->last_end_ms),
                    "duration_seconds", (double)(j->last_end_ms - j->last_start_ms) / 1000.0,
                    "bytes", (json_int_t)j->last_bytes, "ok", j->last_ok, "summary",
                    j->last_summary, "run_id", (json_int_t)j->last_run_id)
        : json_null();
    json_t *doc = json_pack("{s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:I, s:I, s:I}",
                            "name", j->def.name, "state", j->running ? "running" : "idle",
                            "interval_seconds", (json_int_t)j->interval_s,
                            "bytes_per_second", (json_int_t)j->bytes_per_s,
                            "progress", progress, "last_run", last,
                            "next_run", time_or_null(j->triggered ? now_ms()
                                                                  : j->next_due_ms),
                            "runs_ok", (json_int_t)j->runs_ok, "runs_failed",
                            (json_int_t)j->runs_failed, "next_run_id",
                            (json_int_t)j->next_run_id);
    if (doc && full) {
        size_t n = json_array_size(j->history);
        json_object_set_new(doc, "last_report",
                            n ? json_deep_copy(json_array_get(j->history, n - 1))
                              : json_null());
        json_object_set_new(doc, "history", json_deep_copy(j->history));
        json_object_set_new(doc, "job_state", json_deep_copy(j->state));
    }
    return doc;
}

json_t *sched_status(sched *s, const char *name, bool full)
{
    sched_job *j = find_job(s, name);
    if (!j)
        return NULL;
    pthread_mutex_lock(&s->lock);
    json_t *doc = status_locked(j, full);
    pthread_mutex_unlock(&s->lock);
    return doc;
}

json_t *sched_status_all(sched *s)
{
    json_t *all = json_array();
    pthread_mutex_lock(&s->lock);
    for (int i = 0; all && i < s->njobs; i++)
        json_array_append_new(all, status_locked(&s->jobs[i], false));
    pthread_mutex_unlock(&s->lock);
    return all;
}

json_t *sched_last_report(sched *s, const char *name, int64_t *ended_ms)
{
    sched_job *j = find_job(s, name);
    if (!j)
        return NULL;
    pthread_mutex_lock(&s->lock);
    size_t n = json_array_size(j->history);
    json_t *r = n ? json_deep_copy(json_array_get(j->history, n - 1)) : NULL;
    if (ended_ms)
        *ended_ms = j->last_end_ms;
    pthread_mutex_unlock(&s->lock);
    return r;
}

/* ---- inside a run ---------------------------------------------------------- */

bool sched_stopping(sched_ctl *c)
{
    pthread_mutex_lock(&c->j->s->lock);
    bool stop = c->j->s->stopping;
    pthread_mutex_unlock(&c->j->s->lock);
    return stop;
}

bool sched_pace(sched_ctl *c, uint64_t bytes)
{
    uint64_t rate = c->j->bytes_per_s;
    if (rate == 0)
        return !sched_stopping(c);
    double burst = rate / 10.0 > (1 << 20) ? rate / 10.0 : (double)(1 << 20);
    int64_t t = clock_mono_ns();
    c->tokens += (double)(t - c->refilled_ns) / 1e9 * (double)rate;
    if (c->tokens > burst)
        c->tokens = burst;
    c->refilled_ns = t;
    c->tokens -= (double)bytes;
    sched *s = c->j->s;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping && c->tokens < 0) {
        double wait_s = -c->tokens / (double)rate;
        if (wait_s > 0.1)
            wait_s = 0.1;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + (int64_t)(wait_s * 1e9);
        until.tv_sec += ns / 1000000000;
        until.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&s->cond, &s->lock, &until);
        t = clock_mono_ns();
        c->tokens += (double)(t - c->refilled_ns) / 1e9 * (double)rate;
        c->refilled_ns = t;
    }
    bool go_on = !s->stopping;
    pthread_mutex_unlock(&s->lock);
    return go_on;
}

void sched_progress(sched_ctl *c, uint64_t done, uint64_t total)
{
    pthread_mutex_lock(&c->j->s->lock);
    c->j->done = done;
    c->j->total = total;
    pthread_mutex_unlock(&c->j->s->lock);
}

void sched_bytes(sched_ctl *c, uint64_t bytes)
{
    pthread_mutex_lock(&c->j->s->lock);
    c->j->bytes += bytes;
    pthread_mutex_unlock(&c->j->s->lock);
}

void sched_phase(sched_ctl *c, const char *fmt, ...)
{
    char buf[sizeof c->j->phase];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&c->j->s->lock);
    memcpy(c->j->phase, buf, sizeof buf);
    pthread_mutex_unlock(&c->j->s->lock);
}

void sched_summary(sched_ctl *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->summary, sizeof c->summary, fmt, ap);
    va_end(ap);
}

void sched_report(sched_ctl *c, json_t *report)
{
    if (report)
        json_array_append_new(c->reports, report);
}

json_t *sched_state(sched_ctl *c)
{
    return c->state;
}

int64_t sched_config_int(sched_ctl *c, const char *key, int64_t fallback)
{
    json_t *v = json_object_get(c->j->config, key);
    return json_is_integer(v) ? json_integer_value(v) : fallback;
}

const char *sched_config_str(sched_ctl *c, const char *key)
{
    return json_string_value(json_object_get(c->j->config, key));
}

int64_t sched_period(sched_ctl *c)
{
    return period_ms(c->j) / 1000;
}
