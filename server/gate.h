/*
 * server/gate.h - the connection gate in front of libmicrohttpd: it owns
 * the listening socket, accepts every connection itself, and decides
 * whether libmicrohttpd gets it. What libmicrohttpd 0.9.75 lacks and the
 * gate adds (issue 17):
 *
 *   - A per-address limit that answers. MHD_OPTION_PER_IP_CONNECTION_LIMIT
 *     closes the new connection without a word; the gate answers a plain
 *     HTTP connection over limits.max_connections_per_ip, or over
 *     limits.max_connections plus the health reserve, with an immediate
 *     503 SlowDown (Connection: close), written before the client has sent
 *     anything, then reads and drops what it sends for a moment so that
 *     the close does not reset the answer away. Over TLS such a connection
 *     is closed at once: answering would need the TLS handshake the limit
 *     is there to avoid.
 *   - A health reserve: past limits.max_connections, GATE_HEALTH_RESERVE
 *     more connections are admitted "health only": GET /health,
 *     /health/live and /health/ready answer (builtin_is_health), anything
 *     else gets 503 SlowDown and the connection is closed. So a load
 *     balancer or an orchestrator's probes still see the server while it
 *     is full.
 *   - A deadline for the request headers. libmicrohttpd's connection
 *     timeout restarts at every byte, so a client sending one header byte
 *     a second holds its connection forever. The gate gives each request
 *     limits.header_timeout_seconds from the connection's accept (TLS
 *     handshake included) or from the end of the previous request on a
 *     kept-alive connection, until its headers are complete; past it the
 *     socket is shut down and libmicrohttpd closes the connection. (So an
 *     idle kept-alive connection is also closed after that time.)
 * The body and the response are covered by libmicrohttpd's own
 * inactivity timeout (limits.idle_timeout_seconds).
 *
 * Threads and locks: one gate thread accepts, answers refusals and sweeps
 * the deadlines (four times a second). The gate_conn_* calls come from
 * libmicrohttpd's threads. One mutex guards the connection table; nothing
 * blocks while holding it. A socket is shut down only while its table
 * entry is live under that mutex, and libmicrohttpd reports a connection
 * closed (gate_conn_closed) before it closes the socket, so the gate never
 * touches a descriptor number that was reused for another connection.
 */
#ifndef SRV_GATE_H
#define SRV_GATE_H

#include <stdbool.h>

#include "common/error.h"

struct MHD_Daemon;

#define GATE_HEALTH_RESERVE 8

typedef struct gate_config {
    int max_connections;             /* admitted normally */
    int max_per_ip;                  /* from one client address */
    int header_timeout_s;
    bool tls;                        /* refusals cannot be answered in clear */
} gate_config;

typedef struct gate gate;
typedef struct gate_conn gate_conn;

/* Listen on addr (a bound, listening, non-blocking socket the gate takes
 * over) and hand admitted connections to d (started with
 * MHD_USE_NO_LISTEN_SOCKET). */
int gate_start(int listen_fd, struct MHD_Daemon *d, const gate_config *cfg, gate **out,
               cf_err *err);
/* Stop accepting (the listening socket is closed: new connections are
 * refused) and end the gate thread; connections already admitted stay
 * with libmicrohttpd. gate_free after MHD_stop_daemon. */
void gate_stop(gate *g);
void gate_free(gate *g);

/* libmicrohttpd's connection-start notification for socket fd: the
 * connection's entry, or NULL if the gate did not admit it. */
gate_conn *gate_conn_started(gate *g, int fd);
/* The connection is closing (before its socket is closed). */
void gate_conn_closed(gate *g, gate_conn *c);
/* A request's headers are complete: its header deadline no longer applies. */
void gate_headers_done(gate *g, gate_conn *c);
/* A request completed: the next one's headers get a fresh deadline. */
void gate_request_done(gate *g, gate_conn *c);
/* Admitted from the health reserve: only GET /health may be served. */
bool gate_health_only(const gate_conn *c);

#endif
