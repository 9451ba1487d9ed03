/*
 * server/main.c - cofferd: read the configuration (a file with -c, or the
 * embedded default under ./var), open the engine, serve S3 over HTTP until
 * SIGTERM or SIGINT, then drain: stop accepting, let in-flight requests
 * finish (bounded), stop the background jobs (server/sched.h), snapshot
 * the index to the disks, close the engine. Under systemd (Type=notify)
 * it reports READY=1 once it listens and STOPPING=1 when the signal came.
 *
 * A start the engine refuses because meta_dir does not hold the disks'
 * own index exits 1 before anything is served or written, with the
 * engine's advice: the newest snapshot and the restore command.
 *
 * Signals are blocked before any thread starts, so every libmicrohttpd
 * thread inherits the mask and only main's sigwait() sees them.
 */
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/s3c.h"
#include "server/accesslog.h"
#include "server/config.h"
#include "server/console.h"
#include "server/http.h"
#include "server/jobs.h"
#include "server/lifecycle.h"
#include "server/notify.h"
#include "server/sched.h"
#include "server/server.h"
#include "server/telemetry.h"
#include "tier/tier.h"

#define DRAIN_SECONDS 30

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cofferd [-c FILE] [--var DIR] [--listen HOST:PORT] [--access-log FILE]\n"
            "               [--virtual-host-domain DOMAIN] [--sse-c-http-loopback]\n"
            "               [--tls-cert FILE --tls-key FILE]\n"
            "  -c, --config FILE   configuration file (coffer.json(5))\n"
            "      --var DIR       embedded default data directory (default ./var)\n"
            "  -l, --listen ADDR   listen address, overrides the configuration\n"
            "      --access-log F  JSON-lines access log file (\"-\": stdout),\n"
            "                      overrides the configuration\n"
            "      --tls-cert FILE, --tls-key FILE\n"
            "                      serve HTTPS with this PEM certificate chain and\n"
            "                      key, overrides the configuration\n"
            "      --virtual-host-domain D\n"
            "                      serve BUCKET.D as virtual-host style, overrides\n"
            "                      the configuration\n"
            "      --sse-c-http-loopback\n"
            "                      accept customer keys (SSE-C) over plain HTTP on a\n"
            "                      loopback listen address (for tests)\n"
            "  -h, --help          this help\n"
            "      --version       print the version\n");
}

typedef struct options {
    const char *config, *var, *listen, *access_log, *vhost, *tls_cert, *tls_key;
    bool ssec_http;
} options;

static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"var", required_argument, NULL, 'v'},
        {"listen", required_argument, NULL, 'l'},
        {"access-log", required_argument, NULL, 'a'},
        {"virtual-host-domain", required_argument, NULL, 'd'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},
        {"sse-c-http-loopback", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof(*o));
    o->var = "var";
    while ((c = getopt_long(argc, argv, "c:l:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'v': o->var = optarg; break;
        case 'l': o->listen = optarg; break;
        case 'a': o->access_log = optarg; break;
        case 'd': o->vhost = optarg; break;
        case 'C': o->tls_cert = optarg; break;
        case 'K': o->tls_key = optarg; break;
        case 'S': o->ssec_http = true; break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("cofferd %s\n", PACKAGE_VERSION); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind != argc || !o->tls_cert != !o->tls_key) {
        usage(stderr);
        return -1;
    }
    return 0;
}

static int replace_string(char **field, const char *value, cf_err *err)
{
    char *copy = strdup(value);
    if (!copy)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    free(*field);
    *field = copy;
    return 0;
}

static int load_config(const options *o, coffer_config *cfg, cf_err *err)
{
    int rc = o->config ? config_load(o->config, cfg, err)
                       : config_embedded_default(o->var, cfg, err);
    if (rc == 0 && o->listen)
        rc = config_set_listen(cfg, o->listen, err);
    if (rc == 0 && o->access_log)
        rc = replace_string(&cfg->access_log, o->access_log, err);
    if (rc == 0 && o->vhost)
        rc = replace_string(&cfg->vhost_domain, o->vhost, err);
    if (rc == 0 && o->tls_cert)
        rc = replace_string(&cfg->tls_cert_file, o->tls_cert, err);
    if (rc == 0 && o->tls_key)
        rc = replace_string(&cfg->tls_key_file, o->tls_key, err);
    if (o->ssec_http)
        cfg->sse_c_http_loopback = true;
    if (rc == 0)
        rc = config_check_listen(cfg, err);
    return rc;
}

static int serve(server *s, const coffer_config *cfg, cf_err *err)
{
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    const lifecycle_config *lc = &cfg->lifecycle;
    tier_limits lim = {.multipart_threshold = lc->multipart_threshold,
                       .part_size = lc->part_size, .parallel_parts = lc->parallel_parts,
                       .max_bytes_per_s = lc->max_bytes_per_s / (uint64_t)lc->transitions,
                       .recheck_ms = (int64_t)lc->recheck_s * 1000};
    if (tier_set_new(s->engine, &lim, &s->tiers, err) < 0 ||
        lifecycle_new(s->engine, s->tiers, lc, &s->lifecycle, err) < 0)
        return -1;
    char state_dir[PATH_MAX];
    snprintf(state_dir, sizeof state_dir, "%s/jobs", cfg->storage.meta_dir);
    if (!(s->jobs = sched_new(state_dir, err)) ||
        jobs_register(s->jobs, s->engine, cfg, s->lifecycle, err) < 0 ||
        sched_start(s->jobs, err) < 0 ||
        jobs_heal_replacements(s->jobs, s->engine, err) < 0) {
        sched_stop(s->jobs);
        s->jobs = NULL;
        return -1;
    }
    if (!(s->console = console_new(s, err)) || http_start(s, err) < 0) {
        console_free(s->console);
        s->console = NULL;
        sched_stop(s->jobs);
        s->jobs = NULL;
        return -1;
    }
    fprintf(stderr, "cofferd: listening on %s:%d (%s)\n", cfg->listen_addr, cfg->port,
            cfg->tls_cert_file ? "https" : "http");
    notify_send("READY=1\nSTATUS=serving");
    sigwait(&set, &sig);
    notify_send("STOPPING=1\nSTATUS=draining requests");
    fprintf(stderr, "cofferd: %s received, draining requests\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    http_stop(s, DRAIN_SECONDS);
    console_free(s->console);
    s->console = NULL;
    sched_stop(s->jobs);
    s->jobs = NULL;
    int copies = 0;
    if (st_snapshot(s->engine, &copies, err) < 0)
        fprintf(stderr, "cofferd: index snapshot: %s\n", err->msg);
    else if (copies > 0)
        fprintf(stderr, "cofferd: index snapshot written to %d disks\n", copies);
    return 0;
}

/* After a refusal for the index: what happened and how to recover. */
static void print_recovery(const options *o, const coffer_config *cfg)
{
    char how[PATH_MAX + 16];
    cf_err err;
    snprintf(how, sizeof how, "%s %s", o->config ? "-c" : "--var",
             o->config ? o->config : cfg->var_dir);
    char *text = st_recovery_advice(&cfg->storage, how, &err);
    if (text)
        fputs(text, stderr);
    else
        fprintf(stderr, "cofferd: %s\n", err.msg);
    free(text);
}

static int run(const options *o)
{
    coffer_config cfg;
    server s;
    cf_err err;
    int rc = -1;
    memset(&cfg, 0, sizeof(cfg));
    memset(&s, 0, sizeof(s));
    s.cfg = &cfg;
    if (load_config(o, &cfg, &err) < 0 || jobs_check_config(&cfg, &err) < 0)
        goto out;
    if (st_open(&cfg.storage, &s.engine, &err) < 0)
        goto out;
    if ((cfg.embedded && config_embedded_finish(s.engine, &cfg, &err) < 0) ||
        (cfg.access_log && accesslog_open(cfg.access_log, &err) < 0))
        goto out;
    if (!(s.telemetry = telemetry_new(&s))) {
        cf_fail(&err, CF_ENOMEM, "out of memory for the metrics");
        goto out;
    }
    rc = serve(&s, &cfg, &err);
out:
    if (rc < 0)
        fprintf(stderr, "cofferd: %s\n", err.msg);
    if (rc < 0 && err.code == CF_ENOINDEX)
        print_recovery(o, &cfg);
    lifecycle_free(s.lifecycle);
    tier_set_free(s.tiers);
    telemetry_free(s.telemetry);
    if (s.engine)
        st_close(s.engine);
    accesslog_close();
    config_free(&cfg);
    return rc;
}

/* Every request holds buffers of 1 to 1.5 MiB (an engine block, a stripe,
 * a response buffer). Served from glibc's per-thread arenas they stay
 * mapped after the request: 16 busy threads kept ~100 MiB resident when
 * idle. Served by mmap they go back at once (idle 17 MiB, peak under
 * 16 connections 137 -> 76 MiB); the cost is a map, page faults and an
 * unmap per buffer, which the segment writer's blocks and stripes, taken
 * by every PUT above the inline limit, avoid through common/bigbuf. */
#define BIG_BUFFER_MMAP_THRESHOLD (256 * 1024)

int main(int argc, char **argv)
{
    mallopt(M_MMAP_THRESHOLD, BIG_BUFFER_MMAP_THRESHOLD);
    options o;
    cf_err err;
    if (parse_args(argc, argv, &o) < 0)
        return 2;
    /* libcurl (the tiers' and the drill's client) sets itself up once,
     * before any thread */
    if (s3c_global_init(&err) < 0) {
        fprintf(stderr, "cofferd: %s\n", err.msg);
        return 1;
    }
    int rc = run(&o) < 0 ? 1 : 0;
    s3c_global_cleanup();
    return rc;
}
