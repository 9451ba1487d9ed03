/*
 * server/http.c - libmicrohttpd glue. One s3_req per request, created at
 * the access handler's first call from the raw URI saved by the URI-log
 * callback (the only place that sees it before libmicrohttpd decodes it),
 * driven through the access handler's three kinds of calls (headers;
 * body pieces; end of body) and destroyed in the completion callback,
 * which also writes the access-log line and releases whatever the request
 * still holds (an unfinished upload is aborted there, so a dropped
 * connection never leaves a partial object).
 *
 * Responses are queued at the end of the body, or on the first call for an
 * error found from the headers alone when the client waits for "100
 * Continue" or the body is too big to read (see answer_before_body). An
 * error found before or in the middle of a body marks the request
 * `discard`: the rest of the body is read and dropped, then the error is
 * sent on a connection that stays usable. Object bodies are served from a
 * content-reader callback reading the engine at the requested offset, so a
 * GET never holds more than one reader block per connection.
 */
#include "server/http.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/tree.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/accesslog.h"
#include "server/admin.h"
#include "server/builtin.h"
#include "server/request.h"
#include "server/router.h"
#include "server/s3auth.h"
#include "server/telemetry.h"
#include "server/xml.h"
#include "storage/crypto.h"

/* GET bodies are produced in engine blocks (1 MiB): a read that covers a
 * whole block is decrypted straight into libmicrohttpd's buffer, with no
 * copy through the engine's block buffer. One such buffer per response. */
#define READER_BLOCK (1u << 20)
#define CONN_MEMORY (128u << 10)
#define CONN_TIMEOUT_S 300
#define DISCARD_MAX (64u << 20)      /* largest refused body we still read */

/* ---- small helpers -------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_id(char out[17])
{
    uint8_t raw[8];
    if (crypt_random(raw, sizeof(raw), NULL) < 0) {
        static atomic_ullong fallback;
        unsigned long long v = atomic_fetch_add(&fallback, 1) ^ (unsigned long long)time(NULL);
        memcpy(raw, &v, sizeof(raw));
    }
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02X", raw[i]);
}

void http_date(int64_t unix_s, char out[32])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

int http_parse_date(const char *s, int64_t *unix_s)
{
    static const char *const formats[] = {
        "%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
        "%a %b %e %H:%M:%S %Y",
    };
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *end = strptime(s, formats[i], &tm);
        if (end && *end == '\0') {
            *unix_s = (int64_t)timegm(&tm);
            return 0;
        }
    }
    return -1;
}

/* ---- request accessors and response builders (request.h) ------------ */

const char *req_header(const s3_req *r, const char *lname)
{
    for (size_t i = 0; i < r->nhdrs; i++)
        if (strcmp(r->hdrs[i].name, lname) == 0)
            return r->hdrs[i].value;
    return NULL;
}

const char *req_param(const s3_req *r, const char *name)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (strcmp(r->params[i].name, name) == 0)
            return r->params[i].value;
    return NULL;
}

bool req_has_param(const s3_req *r, const char *name)
{
    return req_param(r, name) != NULL;
}

void req_log(const s3_req *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "cofferd: error: request %s (%s): %s\n", r->id,
            r->op ? r->op->name : "-", msg);
}

void resp_header(s3_req *r, const char *name, const char *value)
{
    if (r->nresp_hdrs == r->cap_resp_hdrs) {
        size_t cap = r->cap_resp_hdrs ? r->cap_resp_hdrs * 2 : 16;
        s3_hdr *h = pool_alloc(r->pool, cap * sizeof(*h));
        if (!h)
            return;
        if (r->nresp_hdrs)
            memcpy(h, r->resp_hdrs, r->nresp_hdrs * sizeof(*h));
        r->resp_hdrs = h;
        r->cap_resp_hdrs = cap;
    }
    char *n = pool_strdup(r->pool, name), *v = pool_strdup(r->pool, value);
    if (!n || !v)
        return;
    r->resp_hdrs[r->nresp_hdrs].name = n;
    r->resp_hdrs[r->nresp_hdrs].value = v;
    r->nresp_hdrs++;
}

void resp_status(s3_req *r, int status)
{
    if (r->resp_set)
        return;
    r->resp_set = true;
    r->status = status;
}

void resp_xml(s3_req *r, int status)
{
    if (r->resp_set)
        return;
    if (r->resp.failed) {
        resp_error(r, S3E_InternalError, NULL);
        req_log(r, "out of memory building the response");
        return;
    }
    r->resp_set = true;
    r->status = status;
    resp_header(r, "Content-Type", "application/xml");
}

void resp_error(s3_req *r, s3_error e, const char *message)
{
    if (r->resp_set)
        return;
    r->resp_set = true;
    r->is_error = true;
    r->error = e;
    r->status = s3err_status(e);
    r->nresp_hdrs = 0;
    r->resp_object = false;
    sbuf_free(&r->resp);
    sbuf_init(&r->resp, 0);
    if (e == S3E_NotModified)
        return;
    const char *resource = r->raw_path ? r->raw_path : r->raw_uri;
    s3err_xml_region(&r->resp, e, message, resource, r->id,
                     e == S3E_AuthorizationHeaderMalformed ? r->srv->cfg->region : NULL);
    resp_header(r, "Content-Type", "application/xml");
}

void resp_cf(s3_req *r, const cf_err *err)
{
    s3_error e = s3err_from_cf(err->code);
    if (e == S3E_InternalError || e == S3E_ServiceUnavailable ||
        e == S3E_InsufficientStorage) {
        req_log(r, "%s: %s", cf_code_name(err->code), err->msg);
        resp_error(r, e, NULL);
        return;
    }
    resp_error(r, e, NULL);
}

void resp_object(s3_req *r, int status, uint64_t offset, uint64_t length)
{
    if (r->resp_set)
        return;
    if (r->get && length > 0) {
        /* up to the next engine block boundary, so that the reads after it
         * stay block-aligned */
        int k, m;
        uint32_t bs;
        st_layout(r->srv->engine, &k, &m, &bs);
        uint64_t to_boundary = bs ? bs - offset % bs : READER_BLOCK;
        size_t want = (size_t)(length < to_boundary ? length : to_boundary);
        cf_err err;
        if (!(r->head = malloc(want))) {
            resp_error(r, S3E_InternalError, NULL);
            return;
        }
        int rc = st_get_read(r->get, offset, r->head, want, &r->head_len, &err);
        if (rc == 0 && r->head_len == 0)
            rc = cf_fail(&err, CF_ECORRUPT, "object ended early at offset %llu",
                         (unsigned long long)offset);
        if (rc < 0) {
            resp_cf(r, &err);
            return;
        }
    }
    r->resp_set = true;
    r->status = status;
    r->resp_object = true;
    r->obj_offset = offset;
    r->obj_length = length;
}

/* ---- the admin API ----------------------------------------------------- */

static void admin_run(s3_req *r)
{
    int status = 500;
    char *json = NULL;
    const char *path = r->raw_path + strlen("/admin/v1");
    int rc = admin_handle(r->srv->engine, r->method, path, r->raw_query,
                          r->body.p ? r->body.p : "", r->body.len, &status, &json);
    if (rc < 0 && !json) {
        req_log(r, "admin request failed");
        resp_error(r, S3E_InternalError, NULL);
        return;
    }
    resp_status(r, status);
    if (json) {
        sbuf_puts(&r->resp, json);
        free(json);
    }
    resp_header(r, "Content-Type", "application/json");
}

static const s3_op op_admin = {
    .name = "Admin", .body = BODY_BUFFER, .write = true, .run = admin_run,
};

/* ---- phase 1: headers ------------------------------------------------ */

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
    char *val = pool_strndup(r->pool, value ? value : "", value ? vlen : 0);
    if (!name || !val)
        return MHD_NO;
    for (char *p = name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
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

/* Content-Length, or chunked transfer encoding; r->content_length is the
 * payload length when known (s3auth replaces it for aws-chunked). */
static int check_length(s3_req *r)
{
    const char *cl = req_header(r, "content-length");
    const char *te = req_header(r, "transfer-encoding");
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(cl, &end, 10);
        if (errno || end == cl || *end || cl[0] == '-') {
            resp_error(r, S3E_InvalidArgument, "Content-Length is not a number");
            return -1;
        }
        r->content_length = (int64_t)v;
        r->has_length = true;
    } else if (te && strcasestr(te, "chunked")) {
        r->has_length = true;
    }
    if (r->op->body == BODY_STREAM && !r->has_length) {
        resp_error(r, S3E_MissingContentLength, NULL);
        return -1;
    }
    if (r->op->body == BODY_BUFFER && r->content_length > (int64_t)XML_MAX_BODY) {
        resp_error(r, S3E_MaxMessageLengthExceeded, NULL);
        return -1;
    }
    return 0;
}

static void start(s3_req *r)
{
    if (collect_headers(r) < 0) {
        resp_error(r, S3E_InternalError, NULL);
        req_log(r, "out of memory reading headers");
        return;
    }
    /* health, metrics, console: never for a signed request (builtin.h) */
    if ((r->op = builtin_route(r))) {
        check_length(r);
        return;
    }
    if (router_route(r) < 0)
        return;
    if (r->admin)
        r->op = &op_admin;
    /* framing first: authentication replaces the length for aws-chunked */
    if (check_length(r) < 0 || s3auth_authenticate(r) < 0)
        return;
    if (r->op->write && r->read_only) {
        resp_error(r, S3E_AccessDenied, "This access key is read-only");
        return;
    }
    if (r->op->begin)
        r->op->begin(r);
}

/* ---- phase 2: body --------------------------------------------------- */

static void sink(s3_req *r, const char *p, size_t n)
{
    if (r->op->body == BODY_STREAM)
        r->op->data(r, p, n);
    else if (r->op->body == BODY_BUFFER)
        sbuf_add(&r->body, p, n);
}

static void feed(s3_req *r, const char *p, size_t n)
{
    r->bytes_in += n;
    if (r->discard || r->resp_set) {
        r->discard = true;
        return;
    }
    s3auth_feed(r, p, n, sink);
    if (r->resp_set)
        r->discard = true;
}

/* ---- phase 3: end of body -------------------------------------------- */

static void finish(s3_req *r)
{
    if (s3auth_finish(r) < 0)
        return;
    if (r->op->body == BODY_BUFFER && r->body.failed) {
        resp_error(r, S3E_MaxMessageLengthExceeded, NULL);
        return;
    }
    r->op->run(r);
    if (!r->resp_set) {
        req_log(r, "handler set no response");
        resp_error(r, S3E_InternalError, NULL);
    }
}

/* An error found from the headers alone: answer now, or first read (and
 * drop) the body? Answering now makes libmicrohttpd close the connection
 * unread, and a client still writing its body then sees a broken pipe
 * instead of the error. So answer now only when the client is waiting for
 * "100 Continue" (it sends nothing more) or the body is too big to be worth
 * reading; otherwise take the body, keep the connection, then answer. */
static bool answer_before_body(const s3_req *r)
{
    const char *expect = req_header(r, "expect");
    if (expect && strcasestr(expect, "100-continue"))
        return true;
    return r->content_length > (int64_t)DISCARD_MAX;
}

static ssize_t read_object(void *cls, uint64_t pos, char *buf, size_t max)
{
    s3_req *r = cls;
    if (pos >= r->obj_length)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (!r->get)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    uint64_t left = r->obj_length - pos;
    size_t want = left < max ? (size_t)left : max;
    if (r->head && pos < r->head_len) {
        size_t n = r->head_len - (size_t)pos < want ? r->head_len - (size_t)pos : want;
        memcpy(buf, r->head + pos, n);
        r->bytes_out += n;
        if (pos + n == r->head_len) {    /* served: give the memory back */
            free(r->head);
            r->head = NULL;
        }
        return (ssize_t)n;
    }
    size_t n = 0;
    cf_err err;
    if (st_get_read(r->get, r->obj_offset + pos, buf, want, &n, &err) < 0) {
        req_log(r, "read failed at offset %llu: %s: %s",
                (unsigned long long)(r->obj_offset + pos), cf_code_name(err.code), err.msg);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (n == 0) {
        req_log(r, "object ended early at offset %llu",
                (unsigned long long)(r->obj_offset + pos));
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    r->bytes_out += n;
    return (ssize_t)n;
}

static struct MHD_Response *build_response(s3_req *r)
{
    if (r->resp_object)
        return MHD_create_response_from_callback(r->obj_length, READER_BLOCK,
                                                 read_object, r, NULL);
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
    if (strcmp(r->method, "HEAD") == 0 && !r->resp_object)
        r->bytes_out = 0;
    struct MHD_Response *resp = build_response(r);
    if (!resp) {
        req_log(r, "cannot allocate the response");
        return MHD_NO;
    }
    for (size_t i = 0; i < r->nresp_hdrs; i++)
        MHD_add_response_header(resp, r->resp_hdrs[i].name, r->resp_hdrs[i].value);
    MHD_add_response_header(resp, "x-amz-request-id", r->id);
    MHD_add_response_header(resp, "x-amz-id-2", r->id);
    MHD_add_response_header(resp, "Server", "coffer");
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    r->queued = true;
    return rc;
}

/* ---- libmicrohttpd callbacks ----------------------------------------- */

/* The raw URI reaches us only through the URI-log callback, which runs
 * before libmicrohttpd has validated the request. A request it then
 * refuses by itself (bad version, oversize headers...) never reaches the
 * access handler nor the completion callback, so nothing may be allocated
 * per request here: the URI is parked in the connection's context and
 * picked up by the first access-handler call, from which on completion is
 * guaranteed. The connection context is freed when the connection closes. */
typedef struct conn_ctx {
    char *uri;
} conn_ctx;

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls; (void)conn;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_ctx = calloc(1, sizeof(conn_ctx));
        return;
    }
    conn_ctx *cc = *socket_ctx;
    if (cc) {
        free(cc->uri);
        free(cc);
    }
    *socket_ctx = NULL;
}

static conn_ctx *connection_ctx(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
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
    pool *p = pool_new();
    if (!p)
        return NULL;
    s3_req *r = pool_alloc(p, sizeof(*r));
    if (!r || !(r->raw_uri = pool_strdup(p, cc->uri))) {
        pool_free(p);
        return NULL;
    }
    free(cc->uri);
    cc->uri = NULL;
    r->pool = p;
    r->srv = s;
    r->conn = conn;
    r->t_start = now_s();
    r->content_length = -1;
    make_id(r->id);
    sbuf_init(&r->body, XML_MAX_BODY);
    sbuf_init(&r->resp, 0);
    atomic_fetch_add(&s->inflight, 1);
    return r;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *data,
                                 size_t *size, void **req_cls)
{
    (void)url; (void)version;
    s3_req *r = *req_cls;
    if (!r) {
        if (!(r = request_new(cls, conn)))
            return MHD_NO;
        *req_cls = r;
        r->method = pool_strdup(r->pool, method);
        if (!r->method)
            return MHD_NO;
        start(r);
        if (r->resp_set && !answer_before_body(r)) {
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
        feed(r, data, *size);
        *size = 0;
        return MHD_YES;
    }
    if (!r->resp_set)
        finish(r);
    return send_response(r);
}

static void on_complete(void *cls, struct MHD_Connection *conn, void **req_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    server *s = cls;
    s3_req *r = *req_cls;
    if (!r)
        return;
    accesslog_entry e = {
        .request_id = r->id,
        .tenant = r->tenant[0] ? r->tenant : "-",
        .op = r->op ? r->op->name : "-",
        .bucket = r->bucket ? r->bucket : "-",
        .key = r->key ? r->key : "-",
        .status = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK || r->queued ? r->status : 0,
        .bytes_in = r->bytes_in,
        .bytes_out = r->bytes_out,
        .duration_ms = (now_s() - r->t_start) * 1000.0,
    };
    accesslog_write(&e);
    telemetry_request(s->telemetry, r, e.status, e.duration_ms / 1000.0);
    if (r->put)
        st_put_abort(r->put);
    if (r->get)
        st_get_close(r->get);
    if (r->info_set)
        st_object_info_clear(&r->info);
    if (r->xmldoc)
        xmlFreeDoc(r->xmldoc);
    free(r->head);
    s3auth_free(r);
    sbuf_free(&r->body);
    sbuf_free(&r->resp);
    pool_free(r->pool);
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

int http_start(server *s, cf_err *err)
{
    const coffer_config *cfg = s->cfg;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (resolve(cfg, &ss, err) < 0)
        return -1;
    /* poll(), not epoll: libmicrohttpd 0.9.75's epoll mode can miss a client
     * closing in the middle of an upload, leaving the request "in flight"
     * until the connection timeout (and SIGTERM draining waiting on it). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_USE_POLL;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    char *cert = NULL, *key = NULL;
    if (cfg->tls_cert_file) {
        cert = read_file(cfg->tls_cert_file, err);
        key = cert ? read_file(cfg->tls_key_file, err) : NULL;
        if (!key) {
            free(cert);
            return -1;
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls[] = {
        {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
        {MHD_OPTION_END, 0, NULL},
    };
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_access, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads > 0 ? cfg->threads : 16),
        MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(cfg->max_connections > 0 ? cfg->max_connections : 1024),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
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
    if (!s->daemon)
        return cf_fail(err, CF_ECONFIG, "cannot listen on %s:%d (address in use, "
                       "bad TLS files, or no permission)",
                       cfg->listen_addr, cfg->port);
    return 0;
}

void http_stop(server *s, int drain_s)
{
    if (!s->daemon)
        return;
    atomic_store(&s->draining, true);
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    for (int i = 0; i < drain_s * 10 && atomic_load(&s->inflight) > 0; i++)
        usleep(100000);
    if (atomic_load(&s->inflight) > 0)
        fprintf(stderr, "cofferd: %d requests still running after %d s; closing them\n",
                atomic_load(&s->inflight), drain_s);
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
}
