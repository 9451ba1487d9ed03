/*
 * server/gate.c - accept, limit, answer refusals, enforce header deadlines
 * (contract in gate.h).
 *
 * The connection table is a fixed array of max_connections +
 * GATE_HEALTH_RESERVE entries: an entry is PENDING from accept until
 * libmicrohttpd reports the connection started (found by its socket), LIVE
 * until it reports it closed. Counting one address's connections is a scan
 * of the table, which is a few microseconds at the sizes configured and
 * keeps the gate free of a second structure to keep in step.
 *
 * Refused plain-HTTP connections get the canned 503 in one non-blocking
 * send (it fits any socket buffer), a shutdown of the write side, and a
 * place on the linger list: the gate reads and drops what the client sends
 * until it closes or GATE_LINGER_S pass, then closes. Without that, a
 * close with the client's request unread makes the kernel send a reset,
 * and the client may see "connection reset" instead of the 503. The list
 * is bounded; past it a refusal is closed at once.
 */
#include "server/gate.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "server/request.h"
#include "server/s3err.h"
#include "server/sbuf.h"

#define GATE_SWEEP_MS 250
#define GATE_LINGER_S 2.0
#define GATE_LINGER_MAX 64
#define GATE_PENDING_S 10.0          /* an entry never started: MHD dropped it */
#define GATE_LOG_EVERY_S 10.0

typedef enum conn_state { CONN_FREE, CONN_PENDING, CONN_LIVE } conn_state;

typedef struct addr_key {
    int family;                      /* AF_INET (v4-mapped v6 too) or AF_INET6 */
    unsigned char a[16];
} addr_key;

struct gate_conn {
    conn_state state;
    int fd;
    addr_key addr;
    double since;                    /* accept time */
    double deadline;                 /* for the current request's headers */
    bool headers_done, shut, health_only;
};

typedef struct lingering_fd {
    int fd;
    double until;
} lingering_fd;

struct gate {
    gate_config cfg;
    struct MHD_Daemon *daemon;
    int listen_fd, wake[2];
    pthread_t thread;
    bool running;
    pthread_mutex_t mu;
    gate_conn *conns;
    size_t nconns;
    lingering_fd lingering[GATE_LINGER_MAX];
    size_t nlinger;
    unsigned long refused;           /* since the last log line */
    double last_log;
};

static addr_key key_of(const struct sockaddr_storage *ss)
{
    addr_key k;
    memset(&k, 0, sizeof k);
    if (ss->ss_family == AF_INET) {
        k.family = AF_INET;
        memcpy(k.a, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            k.family = AF_INET;
            memcpy(k.a, a6->s6_addr + 12, 4);
        } else {
            k.family = AF_INET6;
            memcpy(k.a, a6->s6_addr, 16);
        }
    }
    return k;
}

static bool same_addr(const addr_key *x, const addr_key *y)
{
    return x->family == y->family && memcmp(x->a, y->a, sizeof x->a) == 0;
}

/* ---- refusals --------------------------------------------------------- */

static void add_linger(gate *g, int fd)
{
    if (g->nlinger == GATE_LINGER_MAX) {
        close(fd);
        return;
    }
    g->lingering[g->nlinger++] = (lingering_fd){fd, clock_mono_s() + GATE_LINGER_S};
}

static void refuse(gate *g, int fd, const char *why)
{
    g->refused++;
    double t = clock_mono_s();
    if (t - g->last_log >= GATE_LOG_EVERY_S) {
        fprintf(stderr, "cofferd: refusing connections: %s (%lu since the last notice)\n",
                why, g->refused);
        g->last_log = t;
        g->refused = 0;
    }
    if (g->cfg.tls) {
        close(fd);
        return;
    }
    char id[17];
    req_id_new(id);
    sbuf body, msg;
    sbuf_init(&body, 0);
    sbuf_init(&msg, 0);
    s3err_xml(&body, S3E_SlowDown, why, "/", id);
    sbuf_printf(&msg, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n"
                "Content-Length: %zu\r\nConnection: close\r\nRetry-After: 1\r\n"
                "x-amz-request-id: %s\r\nServer: coffer\r\n\r\n", body.len, id);
    sbuf_add(&msg, body.p, body.len);
    if (!msg.failed && send(fd, msg.p, msg.len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0 &&
        shutdown(fd, SHUT_WR) == 0)
        add_linger(g, fd);
    else
        close(fd);
    sbuf_free(&body);
    sbuf_free(&msg);
}

/* Read and drop what refused clients send; close each at EOF, error or
 * the end of its time. */
static void drain_lingering(gate *g, const struct pollfd *pfd, double t)
{
    size_t o = 0;
    for (size_t i = 0; i < g->nlinger; i++) {
        lingering_fd *l = &g->lingering[i];
        bool done = t >= l->until;
        if (!done && pfd && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) {
            char buf[4096];
            ssize_t n = recv(l->fd, buf, sizeof buf, MSG_DONTWAIT);
            done = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
        }
        if (done)
            close(l->fd);
        else
            g->lingering[o++] = *l;
    }
    g->nlinger = o;
}

/* ---- admission -------------------------------------------------------- */

static void admit(gate *g, int fd, const struct sockaddr_storage *ss, socklen_t sslen)
{
    addr_key k = key_of(ss);
    double t = clock_mono_s();
    size_t used = 0, from_addr = 0;
    gate_conn *slot = NULL;
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < g->nconns; i++) {
        gate_conn *c = &g->conns[i];
        if (c->state != CONN_FREE && c->fd == fd)
            c->state = CONN_FREE;    /* stale: the number was free to reuse */
        if (c->state == CONN_FREE) {
            if (!slot)
                slot = c;
            continue;
        }
        used++;
        from_addr += same_addr(&c->addr, &k);
    }
    const char *why = NULL;
    if (from_addr >= (size_t)g->cfg.max_per_ip)
        why = "too many connections from your address (limits.max_connections_per_ip)";
    else if (!slot)
        why = "too many connections (limits.max_connections)";
    if (!why) {
        *slot = (gate_conn){.state = CONN_PENDING, .fd = fd, .addr = k, .since = t,
                            .deadline = t + g->cfg.header_timeout_s,
                            .health_only = used >= (size_t)g->cfg.max_connections};
    }
    pthread_mutex_unlock(&g->mu);
    if (why) {
        refuse(g, fd, why);
        return;
    }
    /* On failure libmicrohttpd has closed fd; nobody else can have been
     * given the same number meanwhile (only this thread accepts). */
    if (MHD_add_connection(g->daemon, fd, (const struct sockaddr *)ss, sslen) != MHD_YES) {
        pthread_mutex_lock(&g->mu);
        if (slot->state == CONN_PENDING && slot->fd == fd)
            slot->state = CONN_FREE;
        pthread_mutex_unlock(&g->mu);
    }
}

static void accept_all(gate *g)
{
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(g->listen_fd, (struct sockaddr *)&ss, &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                fprintf(stderr, "cofferd: accept: %s\n", strerror(errno));
            return;
        }
        admit(g, fd, &ss, len);
    }
}

/* Shut down connections whose headers are late, forget entries
 * libmicrohttpd never started. */
static void sweep(gate *g, double t)
{
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < g->nconns; i++) {
        gate_conn *c = &g->conns[i];
        if (c->state == CONN_PENDING && t - c->since > GATE_PENDING_S)
            c->state = CONN_FREE;
        else if (c->state == CONN_LIVE && !c->headers_done && !c->shut && t > c->deadline) {
            shutdown(c->fd, SHUT_RDWR);
            c->shut = true;
        }
    }
    pthread_mutex_unlock(&g->mu);
}

static void *gate_main(void *arg)
{
    gate *g = arg;
    struct pollfd pfd[2 + GATE_LINGER_MAX];
    double last_sweep = 0;
    for (;;) {
        pfd[0] = (struct pollfd){.fd = g->listen_fd, .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = g->wake[0], .events = POLLIN};
        for (size_t i = 0; i < g->nlinger; i++)
            pfd[2 + i] = (struct pollfd){.fd = g->lingering[i].fd, .events = POLLIN};
        int n = poll(pfd, 2 + g->nlinger, GATE_SWEEP_MS);
        if (n < 0 && errno != EINTR)
            break;
        if (pfd[1].revents)
            break;
        double t = clock_mono_s();
        drain_lingering(g, n > 0 ? pfd + 2 : NULL, t);
        if (n > 0 && (pfd[0].revents & POLLIN))
            accept_all(g);
        if (t - last_sweep >= GATE_SWEEP_MS / 1000.0) {
            sweep(g, t);
            last_sweep = t;
        }
    }
    for (size_t i = 0; i < g->nlinger; i++)
        close(g->lingering[i].fd);
    g->nlinger = 0;
    return NULL;
}

/* ---- lifecycle and libmicrohttpd's notifications --------------------- */

int gate_start(int listen_fd, struct MHD_Daemon *d, const gate_config *cfg, gate **out,
               cf_err *err)
{
    gate *g = calloc(1, sizeof *g);
    if (!g) {
        close(listen_fd);
        return cf_fail(err, CF_ENOMEM, "out of memory");
    }
    g->cfg = *cfg;
    g->daemon = d;
    g->listen_fd = listen_fd;
    g->wake[0] = g->wake[1] = -1;
    g->nconns = (size_t)cfg->max_connections + GATE_HEALTH_RESERVE;
    pthread_mutex_init(&g->mu, NULL);
    /* published before the thread runs: the connections it admits reach
     * libmicrohttpd's callbacks, which look the gate up through *out */
    *out = g;
    if (!(g->conns = calloc(g->nconns, sizeof *g->conns)) ||
        pipe2(g->wake, O_CLOEXEC) != 0 ||
        pthread_create(&g->thread, NULL, gate_main, g) != 0) {
        *out = NULL;
        gate_free(g);
        return cf_fail(err, CF_ENOMEM, "cannot start the connection gate");
    }
    g->running = true;
    return 0;
}

void gate_stop(gate *g)
{
    if (!g || !g->running)
        return;
    if (write(g->wake[1], "x", 1) < 0)
        fprintf(stderr, "cofferd: cannot wake the connection gate: %s\n", strerror(errno));
    pthread_join(g->thread, NULL);
    g->running = false;
    close(g->listen_fd);
    g->listen_fd = -1;
}

void gate_free(gate *g)
{
    if (!g)
        return;
    gate_stop(g);
    if (g->listen_fd >= 0)
        close(g->listen_fd);
    for (int i = 0; i < 2; i++)
        if (g->wake[i] >= 0)
            close(g->wake[i]);
    pthread_mutex_destroy(&g->mu);
    free(g->conns);
    free(g);
}

gate_conn *gate_conn_started(gate *g, int fd)
{
    gate_conn *found = NULL;
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < g->nconns && !found; i++)
        if (g->conns[i].state == CONN_PENDING && g->conns[i].fd == fd)
            found = &g->conns[i];
    if (found)
        found->state = CONN_LIVE;
    pthread_mutex_unlock(&g->mu);
    return found;
}

void gate_conn_closed(gate *g, gate_conn *c)
{
    pthread_mutex_lock(&g->mu);
    c->state = CONN_FREE;
    pthread_mutex_unlock(&g->mu);
}

void gate_headers_done(gate *g, gate_conn *c)
{
    pthread_mutex_lock(&g->mu);
    c->headers_done = true;
    pthread_mutex_unlock(&g->mu);
}

void gate_request_done(gate *g, gate_conn *c)
{
    pthread_mutex_lock(&g->mu);
    c->headers_done = false;
    c->deadline = clock_mono_s() + g->cfg.header_timeout_s;
    pthread_mutex_unlock(&g->mu);
}

bool gate_health_only(const gate_conn *c)
{
    return c->health_only;
}
