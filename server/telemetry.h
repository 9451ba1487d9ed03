/*
 * server/telemetry.h - cofferd's metrics: the families it exports, the
 * per-request hook, and GET /metrics.
 *
 * Contract:
 *  - telemetry_new registers every family and collector (see telemetry.c
 *    for the list) in a registry of its own (server/metrics.h) and keeps
 *    a pointer to the server to read the engine, jobs and counters at
 *    scrape time. Free it after the HTTP daemon stopped.
 *  - telemetry_request is called once per request, at completion, from
 *    the request's thread: requests by tenant, operation and status class,
 *    duration by operation, bytes received and sent by tenant. It never
 *    blocks on another request thread. Labels are bounded: the tenant is
 *    the authenticated tenant, "" for requests without one (unsigned,
 *    failed before a key was found, or the admin credential), so the set
 *    is at most the tenants this process has seen; the operation is one
 *    of the router's fixed names ("-" when routing failed); bucket and key
 *    are never labels.
 *  - telemetry_op_metrics serves GET /metrics: 200 with the exposition
 *    text when metrics.public is set or the request carries
 *    "Authorization: Bearer TOKEN" with the configured token (compared in
 *    constant time), 401 with WWW-Authenticate otherwise, 404 when metrics
 *    are off (no token configured, not public). The response never holds
 *    a secret, bucket or key.
 *  - telemetry_login counts console logins (accepted or refused);
 *    telemetry_totals gives the running totals the console samples.
 */
#ifndef SRV_TELEMETRY_H
#define SRV_TELEMETRY_H

#include <stdbool.h>

#include "server/metrics.h"
#include "server/request.h"
#include "server/server.h"

typedef struct telemetry telemetry;

telemetry *telemetry_new(server *s);
void telemetry_free(telemetry *t);

/* status: the HTTP status sent, 0 if the response never completed. */
void telemetry_request(telemetry *t, const s3_req *r, int status, double seconds);
void telemetry_login(telemetry *t, bool accepted);

typedef struct telemetry_totals {
    double requests, client_errors, server_errors;   /* 4xx, 5xx */
    double bytes_received, bytes_sent;
} telemetry_totals;
void telemetry_totals_get(telemetry *t, telemetry_totals *out);

extern const s3_op telemetry_op_metrics;

#endif
