/*
 * server/http.c - libmicrohttpd glue: the daemon, its callbacks and the
 * connection's context. The request itself is request.c's (what it holds
 * and answers) and dispatch.c's (what it does); this file only translates
 * between them and libmicrohttpd.
 *
 * One s3_req per request, created at the access handler's first call from
 * the raw URI saved by the URI-log callback (the only place that sees it
 * before libmicrohttpd decodes it), driven through the access handler's
 * three kinds of calls (headers; body pieces; end of body) and released in
 * the completion callback, which also ends it in dispatch.c (access-log
 * line, an unfinished upload aborted, so a dropped connection never leaves
 * a partial object).
 *
 * Connections reach libmicrohttpd through the gate (gate.c), which owns
 * the listening socket, the connection limits and the header deadline;
 * this file tells it when a connection starts and closes and when a
 * request's headers are complete.
 *
 * Responses are queued at the end of the body, or on the first call for an
 * error found from the headers alone when dispatch_answer_now says so. An
 * error found before or in the middle of a body marks the request
 * `discard`: the rest of the body is read and dropped, then the error is
 * sent on a connection that stays usable. Streamed bodies are served from
 * a content-reader callback (resp_stream_read), so a GET never holds more
 * than one reader block per connection; one whose bytes were all read
 * before the status (resp_stream_take_whole) is sent from their buffer.
 */
#include "server/http.h"

#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/dispatch.h"
#include "server/gate.h"
#include "server/request.h"
#include "server/sbuf.h"

/* GET bodies are produced in engine blocks (1 MiB): a read that covers a
 * whole block is decrypted straight into libmicrohttpd's buffer, with no
 * copy through the engine's block buffer. One such buffer per response,
 * no larger than what is left of the body after the bytes read before the
 * status (a body those hold whole is sent from them: no reader buffer). */
#define READER_BLOCK (1u << 20)
#define CONN_MEMORY (128u << 10)

/* ---- the connection's context ---------------------------------------- */

/* The raw URI reaches us only through the URI-log callback, which runs
 * before libmicrohttpd has validated the request. A request it then
 * refuses by itself (bad version, oversize headers...) never reaches the
 * access handler nor the completion callback, so nothing may be allocated
 * per request here: the URI is parked in the connection's context and
 * picked up by the first access-handler call, from which on completion is
 * guaranteed. The connection context is freed when the connection closes. */
typedef struct conn_ctx {
    char *uri;
    gate_conn *gate;                 /* the gate's entry for this connection */
} conn_ctx;

static conn_ctx *connection_ctx(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* ---- headers ---------------------------------------------------------- */

typedef struct hdr_collect {
    s3_req *r;
    size_t cap;
} hdr_collect;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind,
                                    const char *key, size_t klen,
                                    const char *value, size_t vlen)
{
    (void)kind; (void)key; (void)klen; (void)value; (void)vlen;
    ((hdr_collect *)cls)->cap++;
    return MHD_YES;
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind,
                                  const char *key, size_t klen,
                                  const char *value, size_t vlen)
{
    (void)kind;
    hdr_collect *hc = cls;
    s3_req *r = hc->r;
    if (r->nhdrs == hc->cap)
        return MHD_NO;
    char *name = pool_strndup(r->pool, key, klen);
    if (!name)
        return MHD_NO;
    for (char *p = name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    char *val;
    if (value && req_header_is_secret(name)) {
        /* ours is wiped by req_free; libmicrohttpd's (in its connection
         * buffer, reused and never cleared) is wiped now: nothing reads
         * it after this copy */
        if (!(val = req_secret_alloc(r, vlen + 1)))
            return MHD_NO;
        memcpy(val, value, vlen);
        val[vlen] = 0;
        explicit_bzero((char *)value, vlen);
    } else if (!(val = pool_strndup(r->pool, value ? value : "", value ? vlen : 0))) {
        return MHD_NO;
    }
    r->hdrs[r->nhdrs].name = name;
    r->hdrs[r->nhdrs].value = val;
    r->nhdrs++;
    return MHD_YES;
}

static int collect_headers(s3_req *r)
{
    hdr_collect hc = {r, 0};
    MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, count_header, &hc);
    if (hc.cap == 0)
        return 0;
    r->hdrs = pool_alloc(r->pool, hc.cap * sizeof(*r->hdrs));
    if (!r->hdrs)
        return -1;
    MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, add_header, &hc);
    return r->nhdrs == hc.cap ? 0 : -1;
}

/* ---- responses ------------------------------------------------------- */

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
    ssize_t n = resp_stream_read(cls, pos, buf, max);
    return n > 0 ? n : n == 0 ? MHD_CONTENT_READER_END_OF_STREAM
                              : MHD_CONTENT_READER_END_WITH_ERROR;
}

/* A whole body read before the status, sent from its own buffer. */
typedef struct whole_body {
    void *p;
    size_t cap;
} whole_body;

static void free_whole(void *cls)
{
    whole_body *w = cls;
    resp_stream_free_whole(w->p, w->cap);
    free(w);
}

static struct MHD_Response *streamed_response(s3_req *r)
{
    size_t len, cap;
    void *p = resp_stream_take_whole(r, &len, &cap);
    if (p) {
        whole_body *w = malloc(sizeof *w);
        if (!w) {
            resp_stream_free_whole(p, cap);
            return NULL;
        }
        *w = (whole_body){p, cap};
        struct MHD_Response *resp =
            MHD_create_response_from_buffer_with_free_callback_cls(len, p, free_whole, w);
        if (!resp)
            free_whole(w);
        return resp;
    }
    /* the reader buffer: a HEAD reads no body */
    size_t block = strcmp(r->method, "HEAD") == 0 ? 4096
                   : r->obj_length < READER_BLOCK ? (size_t)r->obj_length + 1 : READER_BLOCK;
    return MHD_create_response_from_callback(r->obj_length, block, read_stream, r, NULL);
}

static struct MHD_Response *build_response(s3_req *r)
{
    if (r->streamed)
        return streamed_response(r);
    if (r->resp.len == 0)
        return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->resp.len, r->resp.p, MHD_RESPMEM_MUST_FREE);
    if (resp) {
        r->bytes_out += r->resp.len;
        sbuf_init(&r->resp, 0);       /* libmicrohttpd owns the bytes now */
    }
    return resp;
}

static enum MHD_Result send_response(s3_req *r)
{
    if (strcmp(r->method, "HEAD") == 0 && !r->streamed)
        r->bytes_out = 0;
    struct MHD_Response *resp = build_response(r);
    if (!resp) {
        req_log(r, "cannot allocate the response");
        return MHD_NO;
    }
    /* libmicrohttpd refuses a header with an empty value, but S3 sends one
     * (user metadata stored empty): a single space is the same field value
     * on the wire (RFC 9110 5.5: clients strip the surrounding white space). */
    for (size_t i = 0; i < r->nresp_hdrs; i++)
        MHD_add_response_header(resp, r->resp_hdrs[i].name,
                                *r->resp_hdrs[i].value ? r->resp_hdrs[i].value : " ");
    MHD_add_response_header(resp, "x-amz-request-id", r->id);
    MHD_add_response_header(resp, "x-amz-id-2", r->id);
    MHD_add_response_header(resp, "Server", "coffer");
    if (r->close)
        MHD_add_response_header(resp, "Connection", "close");
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    r->queued = true;
    return rc;
}

/* ---- libmicrohttpd callbacks ----------------------------------------- */

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_ctx *cc = calloc(1, sizeof(conn_ctx));
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (cc && ci)
            cc->gate = gate_conn_started(s->gate, ci->connect_fd);
        *socket_ctx = cc;
        return;
    }
    conn_ctx *cc = *socket_ctx;
    if (cc) {
        if (cc->gate)
            gate_conn_closed(s->gate, cc->gate);
        free(cc->uri);
        free(cc);
    }
    *socket_ctx = NULL;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    conn_ctx *cc = connection_ctx(conn);
    if (cc) {
        free(cc->uri);
        cc->uri = strdup(uri);
    }
    return NULL;
}

static s3_req *request_new(server *s, struct MHD_Connection *conn)
{
    conn_ctx *cc = connection_ctx(conn);
    if (!cc || !cc->uri)
        return NULL;
    s3_req *r = req_new(s, cc->uri);
    if (!r)
        return NULL;
    free(cc->uri);
    cc->uri = NULL;
    if (cc->gate)
        gate_headers_done(s->gate, cc->gate);
    r->conn = conn;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    r->peer = ci ? ci->client_addr : NULL;
    atomic_fetch_add(&s->inflight, 1);
    return r;
}

/* The request's first call: headers are in. */
static void start(s3_req *r)
{
    if (collect_headers(r) < 0) {
        resp_error(r, S3E_InternalError, NULL);
        req_log(r, "out of memory reading headers");
        return;
    }
    conn_ctx *cc = connection_ctx(r->conn);
    dispatch_headers(r, cc && cc->gate && gate_health_only(cc->gate));
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *data,
                                 size_t *size, void **req_cls)
{
    (void)url;
    s3_req *r = *req_cls;
    if (!r) {
        if (!(r = request_new(cls, conn)))
            return MHD_NO;
        *req_cls = r;
        r->method = pool_strdup(r->pool, method);
        r->version = pool_strdup(r->pool, version);
        if (!r->method || !r->version)
            return MHD_NO;
        start(r);
        if (r->resp_set && !dispatch_answer_now(r)) {
            r->discard = true;
            return MHD_YES;
        }
        return r->resp_set ? send_response(r) : MHD_YES;
    }
    if (r->queued) {                 /* early response: drop the body */
        *size = 0;
        return MHD_YES;
    }
    if (*size) {
        dispatch_body(r, data, *size);
        *size = 0;
        return MHD_YES;
    }
    if (!r->resp_set)
        dispatch_end(r);
    return send_response(r);
}

static void on_complete(void *cls, struct MHD_Connection *conn, void **req_cls,
                        enum MHD_RequestTerminationCode toe)
{
    server *s = cls;
    s3_req *r = *req_cls;
    if (!r)
        return;
    dispatch_done(r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK || r->queued);
    conn_ctx *cc = connection_ctx(conn);
    if (cc && cc->gate)
        gate_request_done(s->gate, cc->gate);
    req_free(r);
    *req_cls = NULL;
    atomic_fetch_sub(&s->inflight, 1);
}

/* ---- daemon ---------------------------------------------------------- */

static char *read_file(const char *path, cf_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cf_fail_errno(err, CF_ECONFIG, errno, "cannot open %s", path);
        return NULL;
    }
    sbuf b;
    sbuf_init(&b, 1u << 20);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        sbuf_add(&b, chunk, n);
    bool bad = ferror(f) || b.failed || b.len == 0;
    fclose(f);
    if (bad) {
        sbuf_free(&b);
        cf_fail(err, CF_ECONFIG, "cannot read %s (empty, unreadable or over 1 MiB)", path);
        return NULL;
    }
    return b.p;
}

static int resolve(const coffer_config *cfg, struct sockaddr_storage *ss, cf_err *err)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char port[8];
    snprintf(port, sizeof(port), "%d", cfg->port);
    const char *host = cfg->listen_addr[0] ? cfg->listen_addr : NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        return cf_fail(err, CF_ECONFIG, "cannot resolve listen address %s: %s",
                       host ? host : "*", gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

/* The listening socket, bound and non-blocking, for the gate. */
static int listen_socket(const coffer_config *cfg, int *out, cf_err *err)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (resolve(cfg, &ss, err) < 0)
        return -1;
    socklen_t len = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                             : sizeof(struct sockaddr_in);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        (ss.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return cf_fail_errno(err, CF_ECONFIG, e, "cannot listen on %s:%d",
                             cfg->listen_addr, cfg->port);
    }
    *out = fd;
    return 0;
}

int http_start(server *s, cf_err *err)
{
    const coffer_config *cfg = s->cfg;
    /* poll(), not epoll: libmicrohttpd 0.9.75's epoll mode can miss a client
     * closing in the middle of an upload, leaving the request "in flight"
     * until the connection timeout (and SIGTERM draining waiting on it).
     * No listening socket: the gate accepts and hands connections over. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_USE_POLL | MHD_USE_NO_LISTEN_SOCKET;
    int lfd = -1;
    if (listen_socket(cfg, &lfd, err) < 0)
        return -1;
    char *cert = NULL, *key = NULL;
    if (cfg->tls_cert_file) {
        cert = read_file(cfg->tls_cert_file, err);
        key = cert ? read_file(cfg->tls_key_file, err) : NULL;
        if (!key) {
            free(cert);
            close(lfd);
            return -1;
        }
        flags |= MHD_USE_TLS;
    }
    unsigned threads = (unsigned)(cfg->threads > 0 ? cfg->threads : 16);
    /* The gate keeps the count; libmicrohttpd's own limit (split between
     * its threads) only needs room for the gate's, and the moment between
     * a close being reported and its slot being reused. */
    unsigned mhd_limit = (unsigned)cfg->max_connections + GATE_HEALTH_RESERVE + 4 * threads;
    struct MHD_OptionItem tls[] = {
        {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
        {MHD_OPTION_END, 0, NULL},
    };
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, s,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->idle_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_complete, s,
        MHD_OPTION_ARRAY, tls,
        MHD_OPTION_END);
    free(cert);
    if (key) {
        explicit_bzero(key, strlen(key));
        free(key);
    }
    if (!s->daemon) {
        close(lfd);
        return cf_fail(err, CF_ECONFIG, "cannot serve on %s:%d (bad TLS files?)",
                       cfg->listen_addr, cfg->port);
    }
    gate_config gc = {.max_connections = cfg->max_connections,
                      .max_per_ip = cfg->max_connections_per_ip,
                      .header_timeout_s = cfg->header_timeout_s,
                      .tls = cfg->tls_cert_file != NULL};
    if (gate_start(lfd, s->daemon, &gc, &s->gate, err) < 0) {
        MHD_stop_daemon(s->daemon);
        s->daemon = NULL;
        return -1;
    }
    return 0;
}

void http_stop(server *s, int drain_s)
{
    if (!s->daemon)
        return;
    atomic_store(&s->draining, true);
    gate_stop(s->gate);              /* closes the listening socket */
    for (int i = 0; i < drain_s * 10 && atomic_load(&s->inflight) > 0; i++)
        usleep(100000);
    if (atomic_load(&s->inflight) > 0)
        fprintf(stderr, "cofferd: %d requests still running after %d s; closing them\n",
                atomic_load(&s->inflight), drain_s);
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    gate_free(s->gate);
    s->gate = NULL;
}
