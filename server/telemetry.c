/*
 * server/telemetry.c - the metrics cofferd exports (contract in
 * telemetry.h), on the registry of server/metrics.c.
 *
 * Two kinds of families. Request metrics are updated by each request
 * thread at completion (telemetry_request) in that thread's own metrics
 * shard. Everything else is read when scraped, by collectors: the engine
 * (tenant usage from the index's per-bucket totals, disks, index commit
 * counters, queues, the last GC scan), the scheduler's jobs
 * (server/sched.h), the process (from /proc/self), and a few constants. A
 * scrape therefore costs one index query per bucket-row group (usage), one
 * count per queue and a statvfs per disk: nothing proportional to the
 * objects stored.
 *
 * Names follow the Prometheus conventions: one coffer_ prefix, base units
 * (seconds, bytes), _total for counters, _info for the build. The process
 * metrics use the standard process_* names every Prometheus client
 * library exports, so existing dashboards and alerts apply unchanged.
 */
#include "server/telemetry.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <jansson.h>

#include "server/sched.h"

struct telemetry {
    server *srv;
    mx_registry *reg;
    double start_time;
    /* updated per request */
    mx_family *requests, *duration, *received, *sent, *logins;
    /* collected */
    mx_family *build_info, *in_flight;
    mx_family *tenant_bytes, *tenant_objects, *tenant_buckets;
    mx_family *quota_bytes, *quota_objects;
    mx_family *disk_capacity, *disk_used, *disk_available, *disk_state;
    mx_family *disk_read_errors, *disk_write_errors, *disk_crc_errors;
    mx_family *index_commits, *index_syncs, *index_sync_seconds, *index_writable;
    mx_family *heal_queue, *delete_queue, *gc_held, *pack_files, *pack_bytes,
        *pack_reclaimed, *pack_copied;
    mx_family *job_running, *job_last_start, *job_last_duration, *job_last_success,
        *job_runs;
    mx_family *cpu, *rss, *vsize, *fds, *max_fds, *start;
};

static const double request_bounds[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
};

/* ---- collectors ---------------------------------------------------------- */

static void collect_server(void *ctx, mx_sink *k)
{
    telemetry *t = ctx;
    mx_set(k, t->build_info, (const char *[]){PACKAGE_VERSION}, 1);
    mx_set(k, t->in_flight, NULL, atomic_load(&t->srv->inflight));
}

typedef struct usage_ctx {
    telemetry *t;
    mx_sink *k;
} usage_ctx;

static int usage_row(void *ctx, const st_usage *u)
{
    usage_ctx *c = ctx;
    const char *labels[] = {u->tenant};
    mx_set(c->k, c->t->tenant_bytes, labels, (double)u->bytes);
    mx_set(c->k, c->t->tenant_objects, labels, (double)u->objects);
    mx_set(c->k, c->t->tenant_buckets, labels, (double)u->buckets);
    if (u->max_bytes != ST_QUOTA_NONE)         /* only tenants with a limit */
        mx_set(c->k, c->t->quota_bytes, labels, (double)u->max_bytes);
    if (u->max_objects != ST_QUOTA_NONE)
        mx_set(c->k, c->t->quota_objects, labels, (double)u->max_objects);
    return 0;
}

static void collect_disks(telemetry *t, mx_sink *k)
{
    static const char *const states[] = ST_DISK_STATES;
    st_engine *e = t->srv->engine;
    for (int i = 0; i < st_disk_count(e); i++) {
        st_disk_info d;
        st_disk_get(e, i, &d);
        char num[12];
        snprintf(num, sizeof num, "%d", i);
        const char *labels[] = {num, d.path};
        mx_set(k, t->disk_capacity, labels, (double)d.capacity_bytes);
        mx_set(k, t->disk_used, labels, (double)d.used_bytes);
        mx_set(k, t->disk_available, labels, (double)d.available_bytes);
        mx_set(k, t->disk_read_errors, labels, (double)d.read_errors);
        mx_set(k, t->disk_write_errors, labels, (double)d.write_errors);
        mx_set(k, t->disk_crc_errors, labels, (double)d.crc_errors);
        const char *now = st_disk_state(&d);
        for (size_t s = 0; s < sizeof states / sizeof states[0]; s++)
            mx_set(k, t->disk_state, (const char *[]){num, d.path, states[s]},
                   strcmp(states[s], now) == 0);
    }
}

static void collect_engine(void *ctx, mx_sink *k)
{
    telemetry *t = ctx;
    st_engine *e = t->srv->engine;
    cf_err err;
    usage_ctx uc = {t, k};
    if (st_usage_list(e, NULL, usage_row, &uc, &err) < 0)
        fprintf(stderr, "cofferd: metrics: tenant usage: %s\n", err.msg);
    collect_disks(t, k);
    st_index_stats ix;
    st_index_stats_get(e, &ix);
    mx_set(k, t->index_commits, NULL, (double)ix.commits);
    mx_set(k, t->index_syncs, NULL, (double)ix.wal_syncs);
    mx_set_histogram(k, t->index_sync_seconds, NULL, ix.wal_sync_buckets,
                     ix.wal_sync_seconds);
    mx_set(k, t->index_writable, NULL, !ix.wal_failed);
    uint64_t n;
    if (st_heal_pending(e, &n, &err) == 0)
        mx_set(k, t->heal_queue, NULL, (double)n);
    if (st_delete_pending(e, &n, &err) == 0)
        mx_set(k, t->delete_queue, NULL, (double)n);
    st_pack_usage pu;
    if (st_pack_usage_get(e, &pu, &err) == 0) {
        mx_set(k, t->pack_files, NULL, (double)pu.files);
        mx_set(k, t->pack_bytes, (const char *[]){"live"}, (double)pu.live_bytes);
        mx_set(k, t->pack_bytes, (const char *[]){"dead"},
               pu.bytes > pu.live_bytes ? (double)(pu.bytes - pu.live_bytes) : 0);
        mx_set(k, t->pack_reclaimed, NULL, (double)pu.compact_reclaimed_bytes);
        mx_set(k, t->pack_copied, NULL, (double)pu.compact_copied_bytes);
    }
    st_gc_stats gc;
    st_gc_last(e, &gc);
    mx_set(k, t->gc_held, NULL, gc.held ? (double)gc.orphans_held : 0);
}

/* Every job of the scheduler, from its status (server/sched.h). */
static void collect_jobs(void *ctx, mx_sink *k)
{
    telemetry *t = ctx;
    if (!t->srv->jobs)
        return;
    json_t *all = sched_status_all(t->srv->jobs);
    size_t i;
    json_t *j;
    json_array_foreach(all, i, j) {
        const char *name = json_string_value(json_object_get(j, "name"));
        const char *labels[] = {name};
        json_t *last = json_object_get(j, "last_run");
        mx_set(k, t->job_running, labels,
               strcmp(json_string_value(json_object_get(j, "state")), "running") == 0);
        mx_set(k, t->job_runs, (const char *[]){name, "ok"},
               (double)json_integer_value(json_object_get(j, "runs_ok")));
        mx_set(k, t->job_runs, (const char *[]){name, "failed"},
               (double)json_integer_value(json_object_get(j, "runs_failed")));
        if (!json_is_object(last))
            continue;                /* no finished run to describe yet */
        mx_set(k, t->job_last_start, labels,
               (double)json_integer_value(json_object_get(last, "start")));
        mx_set(k, t->job_last_duration, labels,
               json_real_value(json_object_get(last, "duration_seconds")));
        mx_set(k, t->job_last_success, labels, json_is_true(json_object_get(last, "ok")));
    }
    json_decref(all);
}

/* utime + stime (clock ticks) and vsize, rss (pages) from /proc/self/stat. */
static int read_proc_stat(double *cpu_s, double *vsize, double *rss)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');   /* the command name may hold spaces */
    unsigned long utime, stime, vs;
    long pages;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu "
                     "%*d %*d %*d %*d %*d %*d %*u %lu %ld", &utime, &stime, &vs,
                     &pages) != 4)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    *cpu_s = (double)(utime + stime) / (double)(hz > 0 ? hz : 100);
    *vsize = (double)vs;
    *rss = (double)pages * (double)sysconf(_SC_PAGESIZE);
    return 0;
}

static void collect_process(void *ctx, mx_sink *k)
{
    telemetry *t = ctx;
    double cpu, vsize, rss;
    if (read_proc_stat(&cpu, &vsize, &rss) == 0) {
        mx_set(k, t->cpu, NULL, cpu);
        mx_set(k, t->vsize, NULL, vsize);
        mx_set(k, t->rss, NULL, rss);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        long n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
            n += de->d_name[0] != '.';
        closedir(d);
        mx_set(k, t->fds, NULL, (double)(n - 1));   /* minus opendir's own */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        mx_set(k, t->max_fds, NULL, (double)rl.rlim_cur);
    mx_set(k, t->start, NULL, t->start_time);
}

/* ---- setup --------------------------------------------------------------- */

static bool register_families(telemetry *t)
{
    mx_registry *g = t->reg;
    t->build_info = mx_gauge(g, "coffer_build_info",
                             "Always 1; the version label names the build.", "version");
    t->requests = mx_counter(g, "coffer_requests_total",
                             "Requests answered, by tenant, operation and status class.",
                             "tenant,operation,status_class");
    t->duration = mx_histogram(g, "coffer_request_duration_seconds",
                               "Time from the first header to the last byte sent.",
                               "operation", request_bounds,
                               sizeof request_bounds / sizeof request_bounds[0]);
    t->received = mx_counter(g, "coffer_received_bytes_total",
                             "Request body bytes received, by tenant.", "tenant");
    t->sent = mx_counter(g, "coffer_sent_bytes_total",
                         "Response body bytes sent, by tenant.", "tenant");
    t->in_flight = mx_gauge(g, "coffer_requests_in_flight",
                            "Requests between their first header and completion.", NULL);
    t->tenant_bytes = mx_gauge(g, "coffer_tenant_stored_bytes",
                               "Bytes of the objects a tenant stores.", "tenant");
    t->tenant_objects = mx_gauge(g, "coffer_tenant_objects",
                                 "Objects a tenant stores.", "tenant");
    t->tenant_buckets = mx_gauge(g, "coffer_tenant_buckets",
                                 "Buckets a tenant owns.", "tenant");
    t->quota_bytes = mx_gauge(g, "coffer_tenant_quota_bytes",
                              "The tenant's quota on stored bytes (tenants with one).",
                              "tenant");
    t->quota_objects = mx_gauge(g, "coffer_tenant_quota_objects",
                                "The tenant's quota on objects (tenants with one).",
                                "tenant");
    t->disk_capacity = mx_gauge(g, "coffer_disk_capacity_bytes",
                                "Size of the file system holding the disk directory.",
                                "disk,path");
    t->disk_used = mx_gauge(g, "coffer_disk_used_bytes",
                            "Bytes used on the disk's file system.", "disk,path");
    t->disk_available = mx_gauge(g, "coffer_disk_available_bytes",
                                 "Bytes cofferd can still write on the disk's file system.",
                                 "disk,path");
    t->disk_state = mx_gauge(g, "coffer_disk_state",
                             "1 for the disk's current state: online, readonly "
                             "(cannot take new shards) or offline.",
                             "disk,path,state");
    t->disk_read_errors = mx_counter(g, "coffer_disk_read_errors_total",
                                     "Shard files that could not be opened or read.",
                                     "disk,path");
    t->disk_write_errors = mx_counter(g, "coffer_disk_write_errors_total",
                                      "Shard files that could not be written, synced "
                                      "or renamed.", "disk,path");
    t->disk_crc_errors = mx_counter(g, "coffer_disk_crc_errors_total",
                                    "Shard blocks or headers that failed their CRC32C.",
                                    "disk,path");
    t->index_commits = mx_counter(g, "coffer_index_commits_total",
                                  "Index transactions committed.", NULL);
    t->index_syncs = mx_counter(g, "coffer_index_wal_fsyncs_total",
                                "WAL fdatasyncs that made commits durable (group commit).",
                                NULL);
    t->index_sync_seconds = mx_histogram(g, "coffer_index_wal_fsync_duration_seconds",
                                         "Duration of the WAL fdatasyncs.", NULL,
                                         st_sync_bounds(), ST_SYNC_NBOUNDS);
    t->index_writable = mx_gauge(g, "coffer_index_writable",
                                 "0 after a WAL fdatasync failed (writes refused "
                                 "until restart).", NULL);
    t->heal_queue = mx_gauge(g, "coffer_heal_queue_segments",
                             "Segments waiting for heal.", NULL);
    t->delete_queue = mx_gauge(g, "coffer_delete_queue_segments",
                               "Segments whose files are still to be removed.", NULL);
    t->pack_files = mx_gauge(g, "coffer_pack_files",
                             "Pack files on the online disks.", NULL);
    t->pack_bytes = mx_gauge(g, "coffer_pack_bytes",
                             "Bytes of the pack files: live (records an index row names) "
                             "and dead (given back only with the whole pack).", "state");
    t->pack_reclaimed = mx_counter(g, "coffer_pack_compact_reclaimed_bytes_total",
                                   "Bytes of pack files compaction unlinked.", NULL);
    t->pack_copied = mx_counter(g, "coffer_pack_compact_copied_bytes_total",
                                "Bytes of live records compaction copied to do so.", NULL);
    t->gc_held = mx_gauge(g, "coffer_gc_orphans_held",
                          "Orphan shard files the last GC scan kept because they were "
                          "more than its bound (GC HELD); 0 when not held.", NULL);
    t->job_running = mx_gauge(g, "coffer_job_running",
                              "1 while the background job runs.", "job");
    t->job_last_start = mx_gauge(g, "coffer_job_last_run_timestamp_seconds",
                                 "When the job's last finished run started.", "job");
    t->job_last_duration = mx_gauge(g, "coffer_job_last_duration_seconds",
                                    "How long the job's last finished run took.", "job");
    t->job_last_success = mx_gauge(g, "coffer_job_last_success",
                                   "1 if the job's last run succeeded.", "job");
    t->job_runs = mx_counter(g, "coffer_job_runs_total",
                             "Finished runs of the job, by result.", "job,result");
    t->logins = mx_counter(g, "coffer_console_logins_total",
                           "Console logins, by result (accepted, refused).", "result");
    t->cpu = mx_counter(g, "process_cpu_seconds_total",
                        "User and system CPU time spent.", NULL);
    t->rss = mx_gauge(g, "process_resident_memory_bytes", "Resident memory size.", NULL);
    t->vsize = mx_gauge(g, "process_virtual_memory_bytes", "Virtual memory size.", NULL);
    t->fds = mx_gauge(g, "process_open_fds", "Open file descriptors.", NULL);
    t->max_fds = mx_gauge(g, "process_max_fds", "Limit of open file descriptors.", NULL);
    t->start = mx_gauge(g, "process_start_time_seconds",
                        "Start time of the process, unix seconds.", NULL);
    mx_family *all[] = {
        t->build_info, t->requests, t->duration, t->received, t->sent, t->in_flight,
        t->tenant_bytes, t->tenant_objects, t->tenant_buckets, t->quota_bytes,
        t->quota_objects, t->disk_capacity,
        t->disk_used, t->disk_available, t->disk_state, t->disk_read_errors,
        t->disk_write_errors, t->disk_crc_errors, t->index_commits, t->index_syncs,
        t->index_sync_seconds, t->index_writable, t->heal_queue, t->delete_queue,
        t->gc_held, t->pack_files, t->pack_bytes,
        t->job_running, t->job_last_start, t->job_last_duration, t->job_last_success,
        t->job_runs, t->logins, t->cpu, t->rss, t->vsize, t->fds, t->max_fds, t->start,
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!all[i])
            return false;
    return mx_collector(g, collect_server, t) == 0 &&
           mx_collector(g, collect_engine, t) == 0 &&
           mx_collector(g, collect_jobs, t) == 0 &&
           mx_collector(g, collect_process, t) == 0;
}

telemetry *telemetry_new(server *s)
{
    telemetry *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->srv = s;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    t->start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    if (!(t->reg = mx_new()) || !register_families(t)) {
        telemetry_free(t);
        return NULL;
    }
    return t;
}

void telemetry_free(telemetry *t)
{
    if (!t)
        return;
    mx_free(t->reg);
    free(t);
}

/* ---- updates ------------------------------------------------------------- */

void telemetry_request(telemetry *t, const s3_req *r, int status, double seconds)
{
    static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    if (!t)
        return;
    const char *tenant = r->admin ? "" : r->tenant;
    const char *op = r->op ? r->op->name : "-";
    const char *cls = status >= 100 && status < 600 ? classes[status / 100 - 1] : "aborted";
    mx_add(t->requests, (const char *[]){tenant, op, cls}, 1);
    mx_observe(t->duration, (const char *[]){op}, seconds);
    mx_add(t->received, (const char *[]){tenant}, (double)r->bytes_in);
    mx_add(t->sent, (const char *[]){tenant}, (double)r->bytes_out);
}

void telemetry_login(telemetry *t, bool accepted)
{
    mx_add(t->logins, (const char *[]){accepted ? "accepted" : "refused"}, 1);
}

void telemetry_totals_get(telemetry *t, telemetry_totals *out)
{
    out->requests = mx_total(t->requests, -1, NULL);
    out->client_errors = mx_total(t->requests, 2, "4xx");
    out->server_errors = mx_total(t->requests, 2, "5xx");
    out->bytes_received = mx_total(t->received, -1, NULL);
    out->bytes_sent = mx_total(t->sent, -1, NULL);
}

/* ---- GET /metrics --------------------------------------------------------- */

static bool bearer_ok(const s3_req *r)
{
    const char *auth = req_header(r, "authorization");
    const char *want = r->srv->cfg->metrics_token;
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *got = auth + 7;
    size_t n = strlen(want);
    return strlen(got) == n && CRYPTO_memcmp(got, want, n) == 0;
}

static void metrics_run(s3_req *r)
{
    const coffer_config *cfg = r->srv->cfg;
    if (!cfg->metrics_public && !cfg->metrics_token[0]) {
        resp_text(r, 404, "metrics are off: set metrics.bearer_token_file or "
                             "metrics.public in coffer.json (coffer.json(5))\n");
        return;
    }
    if (!cfg->metrics_public && !bearer_ok(r)) {
        resp_text(r, 401, "a bearer token is required (metrics.bearer_token_file)\n");
        resp_header(r, "WWW-Authenticate", "Bearer realm=\"coffer metrics\"");
        return;
    }
    size_t len = 0;
    char *text = r->srv->telemetry ? mx_render(r->srv->telemetry->reg, &len) : NULL;
    if (!text) {
        req_log(r, "cannot render the metrics (out of memory)");
        resp_text(r, 500, "cannot render the metrics\n");
        return;
    }
    resp_status(r, 200);
    sbuf_add(&r->resp, text, len);
    free(text);
    resp_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    resp_header(r, "Cache-Control", "no-store");
}

const s3_op telemetry_op_metrics = {
    .name = "Metrics", .body = BODY_NONE, .run = metrics_run,
};
