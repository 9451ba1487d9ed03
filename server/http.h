/*
 * server/http.h - the HTTP layer: libmicrohttpd with its own polling thread
 * and a thread pool (request threads may block on disk I/O), keep-alive,
 * Expect: 100-continue (answered only after the headers were accepted, so
 * a refused upload never sends its body), chunked request bodies, and
 * bodies streamed to the engine in pieces bounded by the per-connection
 * memory limit.
 *
 * Contract: http_start listens on cfg->listen_addr:port (TLS when a
 * certificate is configured; connections pass the gate, server/gate.h,
 * under the limits.* settings) and serves until http_stop, which stops
 * accepting, lets in-flight requests finish (up to drain_s seconds), then
 * closes everything (setting s->draining first, so /health/ready
 * answers 503). Requests are driven through dispatch.h: cofferd's own
 * endpoints (health, metrics, console; the health checks answer also
 * while the server is at limits.max_connections), ambiguous framing
 * refused with 400 and the connection closed, and at completion one
 * access-log line and the request metrics.
 */
#ifndef SRV_HTTP_H
#define SRV_HTTP_H

#include "common/error.h"
#include "server/server.h"

int http_start(server *s, cf_err *err);
void http_stop(server *s, int drain_s);

#endif
