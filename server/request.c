/*
 * server/request.c - the request/response API of request.h: an s3_req's
 * creation and release, header and query accessors, the response
 * builders, streamed bodies, RequestIds and HTTP dates.
 *
 * Nothing here knows libmicrohttpd (http.c drives requests and sends what
 * is built here) or the engine: a streamed body comes from a reader the
 * handler passes (GetObject's reads the engine), so that the router and
 * its test link this file without the engine, SQLite or libmicrohttpd.
 *
 * Secrets a request carries (the SSE-C customer keys: the header's text
 * and the decoded key) live in memory registered with req_secret_alloc,
 * and req_free wipes it before the pool goes; libmicrohttpd's own copy of
 * such a header is wiped by http.c as soon as it is copied.
 *
 * The first rule of the builders: the first response set wins. A later
 * resp_* call is ignored, so a handler that failed halfway can always just
 * set its error and return. resp_error replaces whatever headers and body
 * were being built, so no half-built success leaks into an error.
 */
#include "server/request.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bigbuf.h"
#include "common/clock.h"
#include "common/hex.h"
#include "server/xml.h"

/* ---- life ------------------------------------------------------------ */

/* How much of a worker's stack a request with a secret wipes at its end:
 * far more than the deepest request path uses (about 10 KiB measured). */
#define REQ_STACK_WIPE (64 * 1024)

/* RequestIds: a counter, offset by a value drawn once per process from
 * the DRBG, through a bijective mix (splitmix64's finaliser), so ids never
 * repeat within a process and differ between processes. They are not
 * secret and claim no more: the mix is public and invertible, so two ids
 * of one process show how many requests came between them, which nothing
 * relies on hiding. One atomic add per request: RAND_bytes for each (the
 * DRBG's lock and its cipher) was a visible share of a small request's CPU. */
static uint64_t req_id_key;
static pthread_once_t req_id_once = PTHREAD_ONCE_INIT;

static void req_id_seed(void)
{
    uint8_t raw[8];
    if (RAND_bytes(raw, sizeof(raw)) == 1)
        memcpy(&req_id_key, raw, sizeof(raw));
    else
        req_id_key = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull;
}

void req_id_new(char out[17])
{
    static atomic_ullong next;
    pthread_once(&req_id_once, req_id_seed);
    uint64_t z = req_id_key + (uint64_t)atomic_fetch_add(&next, 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    uint8_t raw[8];
    for (int i = 0; i < 8; i++)
        raw[i] = (uint8_t)(z >> (56 - 8 * i));
    hex_encode_upper(raw, sizeof(raw), out, 17);
}

s3_req *req_new(server *s, const char *raw_uri)
{
    pool *p = pool_new();
    if (!p)
        return NULL;
    s3_req *r = pool_alloc(p, sizeof(*r));
    if (!r || !(r->raw_uri = pool_strdup(p, raw_uri))) {
        pool_free(p);
        return NULL;
    }
    r->pool = p;
    r->srv = s;
    r->t_start = clock_mono_s();
    r->content_length = -1;
    req_id_new(r->id);
    sbuf_init(&r->body, XML_MAX_BODY);
    sbuf_init(&r->resp, 0);
    return r;
}

double req_elapsed_ms(const s3_req *r)
{
    return (clock_mono_s() - r->t_start) * 1000.0;
}

void *req_secret_alloc(s3_req *r, size_t n)
{
    req_secret *s = pool_alloc(r->pool, sizeof(*s));
    void *p = s ? pool_alloc(r->pool, n) : NULL;
    if (!p)
        return NULL;
    *s = (req_secret){p, n, r->secrets};
    r->secrets = s;
    return p;
}

bool req_header_is_secret(const char *lname)
{
    return strcmp(lname, "x-amz-server-side-encryption-customer-key") == 0 ||
           strcmp(lname, "x-amz-copy-source-server-side-encryption-customer-key") == 0;
}

/* Zero REQ_STACK_WIPE bytes of this thread's stack below the caller's
 * frame, where the request's handlers ran: they copy key material into
 * locals (derived keys, hash and cipher block buffers inside OpenSSL, the
 * text of a canonical request) that no one function can promise to
 * clear. Called at the end of a request that held a secret. */
static __attribute__((noinline)) void wipe_stack_below(void)
{
    unsigned char area[REQ_STACK_WIPE];
    OPENSSL_cleanse(area, sizeof(area));
}

void req_free(s3_req *r)
{
    for (req_secret *s = r->secrets; s; s = s->next)
        OPENSSL_cleanse(s->p, s->n);
    if (r->secrets)
        wipe_stack_below();
    xmlread_free(r->xmldoc);
    bigbuf_free(r->head, r->head_cap);
    sbuf_free(&r->body);
    sbuf_free(&r->resp);
    pool_free(r->pool);
}

/* ---- request accessors ----------------------------------------------- */

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

/* ---- response builders ----------------------------------------------- */

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

void resp_text(s3_req *r, int status, const char *text)
{
    if (r->resp_set)
        return;
    resp_status(r, status);
    sbuf_puts(&r->resp, text);
    resp_header(r, "Content-Type", "text/plain; charset=utf-8");
}

void resp_json(s3_req *r, int status, char *json)
{
    if (r->resp_set) {
        free(json);
        return;
    }
    if (!json) {
        req_log(r, "out of memory building a reply");
        resp_text(r, 500, "out of memory\n");
        return;
    }
    resp_status(r, status);
    sbuf_puts(&r->resp, json);
    free(json);
    resp_header(r, "Content-Type", "application/json");
    resp_header(r, "Cache-Control", "no-store");
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
    r->streamed = false;
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
    if (e == S3E_QuotaExceeded) {    /* an operator wants to see these */
        req_log(r, "%s", err->msg);
        resp_error(r, e, err->msg);
        return;
    }
    /* the engine says why an object lock, a permission or the bucket's
     * state refused the request (only of the caller's own objects) */
    bool why = err->code == CF_ELOCKED || err->code == CF_EDENIED ||
               err->code == CF_EBUCKETSTATE || err->code == CF_ENOTEMPTY;
    resp_error(r, e, why ? err->msg : NULL);
}

/* ---- streamed bodies ------------------------------------------------- */

void resp_stream(s3_req *r, int status, uint64_t offset, uint64_t length, size_t first,
                 size_t cap, resp_reader read)
{
    if (r->resp_set)
        return;
    if (length > 0 && first > 0) {
        size_t want = (size_t)(length < first ? length : first);
        cf_err err;
        if (want > cap || !(r->head = bigbuf_alloc(cap))) {
            resp_error(r, S3E_InternalError, NULL);
            return;
        }
        r->head_cap = cap;
        int rc = read(r, offset, r->head, want, &r->head_len, &err);
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
    r->streamed = true;
    r->read = read;
    r->obj_offset = offset;
    r->obj_length = length;
}

void *resp_stream_take_whole(s3_req *r, size_t *len, size_t *cap)
{
    if (!r->streamed || !r->head || r->head_len != r->obj_length)
        return NULL;
    void *p = r->head;
    *len = r->head_len;
    *cap = r->head_cap;
    r->bytes_out += r->head_len;
    r->head = NULL;
    r->head_len = r->head_cap = 0;
    return p;
}

void resp_stream_free_whole(void *p, size_t cap)
{
    bigbuf_free(p, cap);
}

ssize_t resp_stream_read(s3_req *r, uint64_t pos, char *buf, size_t max)
{
    if (pos >= r->obj_length)
        return 0;
    uint64_t left = r->obj_length - pos;
    size_t want = left < max ? (size_t)left : max;
    if (r->head && pos < r->head_len) {
        size_t n = r->head_len - (size_t)pos < want ? r->head_len - (size_t)pos : want;
        memcpy(buf, r->head + pos, n);
        r->bytes_out += n;
        if (pos + n == r->head_len) {    /* served: give the memory back */
            bigbuf_free(r->head, r->head_cap);
            r->head = NULL;
        }
        return (ssize_t)n;
    }
    size_t n = 0;
    cf_err err;
    if (r->read(r, r->obj_offset + pos, buf, want, &n, &err) < 0) {
        req_log(r, "read failed at offset %llu: %s: %s",
                (unsigned long long)(r->obj_offset + pos), cf_code_name(err.code), err.msg);
        return -1;
    }
    if (n == 0) {
        req_log(r, "object ended early at offset %llu",
                (unsigned long long)(r->obj_offset + pos));
        return -1;
    }
    r->bytes_out += n;
    return (ssize_t)n;
}

/* ---- HTTP dates ------------------------------------------------------ */

void req_http_date(int64_t unix_s, char out[32])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

int req_parse_http_date(const char *s, int64_t *unix_s)
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
