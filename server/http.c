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
 * Connections reach libmicrohttpd through the gate (gate.c), which owns
 * the listening socket, the connection limits and the header deadline;
 * this file tells it when a connection starts and closes and when a
 * request's headers are complete. Before anything else a request's framing
 * is checked (check_framing): what a proxy could frame differently is
 * refused and the connection closed.
 *
 * Responses are queued at the end of the body, or on the first call for an
 * error found from the headers alone when the client waits for "100
 * Continue", the body is too big to read, or the connection must be closed
 * (see answer_before_body). An
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

#include "common/numparse.h"
#include "server/accesslog.h"
#include "server/admin.h"
#include "server/gate.h"
#include "server/request.h"
#include "server/router.h"
#include "server/s3auth.h"
#include "server/xml.h"
#include "storage/crypto.h"

/* GET bodies are produced in engine blocks (1 MiB): a read that covers a
 * whole block is decrypted straight into libmicrohttpd's buffer, with no
 * copy through the engine's block buffer. One such buffer per response. */
#define READER_BLOCK (1u << 20)
#define CONN_MEMORY (128u << 10)
#define DISCARD_MAX (64u << 20)      /* largest refused body we still read */

/* ---- small helpers -------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void http_request_id(char out[17])
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

/* ---- built-in operations: health and the admin API ------------------- */

static void health_run(s3_req *r)
{
    resp_status(r, 200);
    sbuf_puts(&r->resp, "ok\n");
    resp_header(r, "Content-Type", "text/plain");
}

static const s3_op op_health = {
    .name = "Health", .body = BODY_NONE, .run = health_run,
};

static void admin_run(s3_req *r)
{
    int status = 500;
    char *json = NULL;
    const char *path = r->raw_path + strlen("/admin/v1");
    int rc = admin_handle(r->srv->engine, r->srv->jobs, r->method, path, r->raw_query,
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

/* Refuse (400, connection closed) what two HTTP parsers could frame
 * differently, so that nothing in front of cofferd can smuggle a request
 * past it: Content-Length together with Transfer-Encoding (libmicrohttpd
 * lets chunked win), Content-Lengths that differ (it takes the first), a
 * Transfer-Encoding other than exactly one "chunked", and on HTTP/1.1 a
 * missing or repeated Host. Sets r->content_length from Content-Length,
 * parsed strictly (common/numparse.h); a length over 5 GiB, the largest
 * body S3 accepts, is refused at once, so a 2^63 or 2^64-1 length can
 * never be read as negative or waited for. */
static int check_framing(s3_req *r)
{
    const char *cl = NULL, *te = NULL, *why = NULL;
    size_t nte = 0, nhost = 0;
    for (size_t i = 0; i < r->nhdrs; i++) {
        const char *name = r->hdrs[i].name, *v = r->hdrs[i].value;
        if (strcmp(name, "content-length") == 0) {
            if (cl && strcmp(cl, v) != 0)
                why = "Conflicting Content-Length headers";
            cl = v;
        } else if (strcmp(name, "transfer-encoding") == 0) {
            te = v;
            nte++;
        } else if (strcmp(name, "host") == 0) {
            nhost++;
        }
    }
    if (!why && cl && te)
        why = "Content-Length and Transfer-Encoding cannot both be sent";
    else if (!why && te && (nte > 1 || strcasecmp(te, "chunked") != 0))
        why = "Transfer-Encoding must be chunked, once";
    else if (!why && (nhost > 1 || (nhost == 0 && strcmp(r->version, "HTTP/1.0") != 0)))
        why = "HTTP/1.1 needs exactly one Host header";
    r->has_length = cl || te;
    uint64_t len = 0;
    cf_err err;
    if (!why && cl && numparse_str(cl, UINT64_MAX, 0, &len, &err) < 0)
        why = "Content-Length is not a number";
    if (why) {
        resp_error(r, S3E_InvalidRequest, why);
        r->close = true;
        return -1;
    }
    if (cl && len > ST_MAX_PUT_SIZE) {
        resp_error(r, S3E_EntityTooLarge, NULL);
        r->close = true;
        return -1;
    }
    r->content_length = cl ? (int64_t)len : -1;
    return 0;
}

/* What the operation needs of the body's length; r->content_length is the
 * payload length when known (s3auth replaces it for aws-chunked). */
static int check_length(s3_req *r)
{
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
    if (check_framing(r) < 0)
        return;
    /* unsigned only: a signed GET /health lists a bucket named "health" */
    if ((strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) &&
        strcmp(r->raw_uri, "/health") == 0 && !req_header(r, "authorization")) {
        r->op = &op_health;
        return;
    }
    conn_ctx *cc = connection_ctx(r->conn);
    if (cc && cc->gate && gate_health_only(cc->gate)) {
        resp_error(r, S3E_SlowDown, "The server is at limits.max_connections; "
                   "this connection may only ask for /health");
        r->close = true;
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
    if (r->close || (expect && strcasestr(expect, "100-continue")))
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
    if (cc->gate)
        gate_headers_done(s->gate, cc->gate);
    r->pool = p;
    r->srv = s;
    r->conn = conn;
    r->t_start = now_s();
    r->content_length = -1;
    http_request_id(r->id);
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
    conn_ctx *cc = connection_ctx(conn);
    if (cc && cc->gate)
        gate_request_done(s->gate, cc->gate);
    if (r->put)
        st_put_abort(r->put);
    if (r->get)
        st_get_close(r->get);
    if (r->info_set)
        st_object_info_clear(&r->info);
    xmlread_free(r->xmldoc);
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
