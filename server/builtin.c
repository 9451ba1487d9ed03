/*
 * server/builtin.c - routing to cofferd's own endpoints and the health
 * checks (contract in builtin.h).
 *
 * Readiness is decided from what a request would need: the index must
 * still take commits (a failed WAL fdatasync makes it refuse them until a
 * restart), at least k disks must be writable now (st_disk_get looks at
 * each disk when asked: a PUT needs k data shards to be written), and a
 * draining cofferd takes no new work. A probe therefore costs a statvfs
 * and an access() per disk, no index query.
 */
#include "server/builtin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/console.h"
#include "server/telemetry.h"

static void health_run(s3_req *r)
{
    resp_text(r, 200, "ok\n");
}

static void live_run(s3_req *r)
{
    resp_text(r, 200, "live\n");
}

static void ready_run(s3_req *r)
{
    server *s = r->srv;
    char why[512] = "";
    size_t n = 0;
    if (atomic_load(&s->draining))
        n += (size_t)snprintf(why + n, sizeof why - n, "; draining (SIGTERM)");
    st_index_stats ix;
    st_index_stats_get(s->engine, &ix);
    if (ix.wal_failed && n < sizeof why)
        n += (size_t)snprintf(why + n, sizeof why - n,
                              "; the index refuses writes (a WAL fdatasync failed)");
    int k, m, writable = 0, total = st_disk_count(s->engine);
    uint32_t bs;
    st_layout(s->engine, &k, &m, &bs);
    for (int i = 0; i < total; i++) {
        st_disk_info d;
        st_disk_get(s->engine, i, &d);
        writable += d.writable;
    }
    if (writable < k && n < sizeof why)
        snprintf(why + n, sizeof why - n, "; %d of %d disks writable, %d needed",
                 writable, total, k);
    if (!why[0]) {
        resp_text(r, 200, "ready\n");
        return;
    }
    char text[600];
    snprintf(text, sizeof text, "not ready: %s\n", why + 2);
    resp_text(r, 503, text);
}

static const s3_op op_health = {.name = "Health", .body = BODY_NONE, .run = health_run};
static const s3_op op_live = {.name = "HealthLive", .body = BODY_NONE, .run = live_run};
static const s3_op op_ready = {.name = "HealthReady", .body = BODY_NONE, .run = ready_run};

bool builtin_is_health(const s3_op *op)
{
    return op == &op_health || op == &op_live || op == &op_ready;
}

/* An AWS-signed request, or one with a query string, is S3's. */
static bool is_s3_request(const s3_req *r)
{
    const char *auth = req_header(r, "authorization");
    return strchr(r->raw_uri, '?') || (auth && strncasecmp(auth, "Bearer ", 7) != 0);
}

const s3_op *builtin_route(const s3_req *r)
{
    if (is_s3_request(r))
        return NULL;
    const char *u = r->raw_uri;
    if (strcmp(u, "/console") == 0 || strncmp(u, "/console/", 9) == 0)
        return console_route(r);
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
        return NULL;
    if (strcmp(u, "/health") == 0)
        return &op_health;
    if (strcmp(u, "/health/live") == 0)
        return &op_live;
    if (strcmp(u, "/health/ready") == 0)
        return &op_ready;
    if (strcmp(u, "/metrics") == 0)
        return &telemetry_op_metrics;
    return NULL;
}
