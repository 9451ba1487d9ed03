/*
 * server/builtin.h - cofferd's own endpoints beside S3 and the admin API,
 * for orchestrators, monitoring and the browser:
 *
 *   GET|HEAD /health        200 "ok" while cofferd serves (as always)
 *   GET|HEAD /health/live   200 "live": the process answers HTTP
 *   GET|HEAD /health/ready  200 "ready" when the index takes writes, at
 *                           least k disks are writable and cofferd is not
 *                           draining (SIGTERM); else 503 "not ready: ..."
 *                           naming every reason
 *   GET|HEAD /metrics       Prometheus metrics (telemetry.h)
 *   /console, /console/...  the web console (console.h)
 *
 * Only requests that are not S3 requests reach them: no query string and
 * no AWS signature (an Authorization header other than "Bearer ..."). So a
 * signed GET /health still lists a bucket named "health", and a bucket
 * named "console" or "metrics" works as any other for S3 clients.
 *
 * builtin_route picks the operation from the headers alone (phase 1 of
 * request.h, run by dispatch.c before routing); it allocates nothing.
 * Their replies are request.h's resp_text and resp_json.
 */
#ifndef SRV_BUILTIN_H
#define SRV_BUILTIN_H

#include <stdbool.h>

#include "server/request.h"

/* The built-in operation for r, or NULL: route it as S3. */
const s3_op *builtin_route(const s3_req *r);
/* Whether op is one of the three health checks: the only requests a
 * connection admitted from the gate's health reserve may make (gate.h). */
bool builtin_is_health(const s3_op *op);

#endif
