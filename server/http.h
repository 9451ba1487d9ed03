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
 * closes everything. GET /health answers 200 without authentication, also
 * while the server is at limits.max_connections. Ambiguous framing is
 * refused with 400 and the connection closed (dispatch.h). Every request
 * that reaches the access handler writes one access-log line when it
 * completes.
 */
#ifndef SRV_HTTP_H
#define SRV_HTTP_H

#include "common/error.h"
#include "server/server.h"

int http_start(server *s, cf_err *err);
void http_stop(server *s, int drain_s);

#endif
