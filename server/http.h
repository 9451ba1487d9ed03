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
 * closes everything (setting s->draining first). Health, metrics and
 * console requests go to builtin.h's operations; the health checks answer
 * also while the server is at limits.max_connections. Ambiguous framing is
 * refused with 400 and the connection closed. Every request that reaches
 * the access handler writes one access-log line and updates the request
 * metrics (telemetry.h) when it completes.
 */
#ifndef SRV_HTTP_H
#define SRV_HTTP_H

#include <stdint.h>

#include "common/error.h"
#include "server/server.h"

int http_start(server *s, cf_err *err);
void http_stop(server *s, int drain_s);

/* A fresh RequestId: 16 uppercase hex digits. */
void http_request_id(char out[17]);

/* RFC 1123 dates for Last-Modified and friends. */
void http_date(int64_t unix_s, char out[32]);
/* Parse an HTTP date (RFC 1123, RFC 850 or asctime); -1 if malformed. */
int http_parse_date(const char *s, int64_t *unix_s);

#endif
