/*
 * client/s3c.c - the client (the transport's state, which azb.c's Azure
 * client shares) and what an S3 operation means in HTTP: the path
 * (path-style or virtual-host), the query, the op's headers and payload
 * mode, fixed when the operation starts; its SigV4 signature, made anew
 * for each attempt; and what an answer means: which statuses are success
 * for which op, the remote's error XML turned into a cf_err, the op's XML
 * answer into the result, and the checksums the remote confirmed compared
 * with those that were sent. Sending, retrying and the event loop are
 * xfer.c's.
 */
#include "client/internal.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hex.h"

#define DEFAULT_REGION "us-east-1"

int s3c_global_init(cf_err *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return cf_fail(err, CF_EINTERNAL, "cannot initialise libcurl");
    return 0;
}

void s3c_global_cleanup(void)
{
    curl_global_cleanup();
}

/* ---- the client ---------------------------------------------------------- */

static int copy(char *dst, size_t cap, const char *src, const char *what, cf_err *err)
{
    if (!src || !*src)
        return cf_fail(err, CF_EINVAL, "no %s given", what);
    if (strlen(src) >= cap)
        return cf_fail(err, CF_EINVAL, "the %s is too long", what);
    strcpy(dst, src);
    return 0;
}

/* http[s]://host[:port] with at most a trailing '/'. */
static int parse_endpoint(s3c_client *c, const char *url, cf_err *err)
{
    const char *rest = NULL;
    if (url && strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (url && strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    size_t n = rest ? strcspn(rest, "/?#") : 0;
    if (!rest || n == 0 || n >= sizeof c->authority || memchr(rest, '@', n) || (rest[n] && strcmp(rest + n, "/") != 0))
        return cf_fail(err, CF_EINVAL, "endpoint %s: expected http[s]://host[:port] "
                       "with no path", url ? url : "(none)");
    snprintf(c->scheme, sizeof c->scheme, "%.*s", (int)(rest - url - 3), url);
    snprintf(c->authority, sizeof c->authority, "%.*s", (int)n, rest);
    snprintf(c->endpoint, sizeof c->endpoint, "%s://%s", c->scheme, c->authority);
    return 0;
}

static long or_default(long v, long def)
{
    return v ? v : def;
}

s3c_client *s3c_transport_new(const s3c_config *cfg, cf_err *err)
{
    s3c_client *c = calloc(1, sizeof *c);
    if (!c) {
        cf_fail(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    if (parse_endpoint(c, cfg->endpoint, err) < 0)
        goto fail;
    c->connect_timeout_ms = or_default(cfg->connect_timeout_ms, 10000);
    c->timeout_ms = cfg->timeout_ms;
    c->low_speed_bytes = or_default(cfg->low_speed_bytes, 1);
    c->low_speed_ms = or_default(cfg->low_speed_ms, 60000);
    c->max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : 5;
    c->backoff_base_ms = or_default(cfg->backoff_base_ms, 100);
    c->backoff_max_ms = or_default(cfg->backoff_max_ms, 20000);
    c->max_response = cfg->max_response ? cfg->max_response : 8u << 20;
    c->rate = (double)cfg->max_bytes_per_s;
    /* a burst of 20 ms of the rate, and at least one chunk, so that tokens
     * are never too few for the next read */
    c->burst = c->rate / 50 > 65536 ? c->rate / 50 : 65536;
    c->tokens = c->burst;
    c->refilled_at = clock_mono_s();
    c->rng = ((uint64_t)time(NULL) << 20 ^ (uint64_t)getpid() ^ (uintptr_t)c) | 1;
    if ((cfg->cacert && !(c->cacert = strdup(cfg->cacert))) ||
        (cfg->cacert_pem && !(c->cacert_pem = strdup(cfg->cacert_pem)))) {
        cf_fail(err, CF_ENOMEM, "out of memory");
        goto fail;
    }
    if (!(c->sha = cks_new(CKS_SHA256, err)))
        goto fail;
    if (!(c->multi = curl_multi_init())) {
        cf_fail(err, CF_ENOMEM, "curl_multi_init failed");
        goto fail;
    }
    return c;
fail:
    s3c_client_free(c);
    return NULL;
}

s3c_client *s3c_client_new(const s3c_config *cfg, cf_err *err)
{
    s3c_client *c = s3c_transport_new(cfg, err);
    if (c && (copy(c->access_key, sizeof c->access_key, cfg->access_key, "access key",
                   err) < 0 ||
              copy(c->secret, sizeof c->secret, cfg->secret_key, "secret key", err) < 0 ||
              copy(c->region, sizeof c->region, cfg->region ? cfg->region : DEFAULT_REGION,
                   "region", err) < 0)) {
        s3c_client_free(c);
        return NULL;
    }
    if (c) {
        c->cred = (sigv4_credentials){c->access_key, c->secret, c->region, "s3"};
        c->virtual_host = cfg->virtual_host;
    }
    return c;
}

void s3c_client_free(s3c_client *c)
{
    if (!c)
        return;
    s3c_abort(c);
    for (size_t i = 0; i < c->nidle; i++)
        curl_easy_cleanup(c->idle[i]);
    free(c->idle);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    cks_free(c->sha);
    free(c->cacert);
    free(c->cacert_pem);
    OPENSSL_cleanse(c->secret, sizeof c->secret);
    free(c);
}

size_t s3c_active(const s3c_client *c)
{
    return c->nactive;
}

void s3c_result_free(s3c_result *res)
{
    free(res->body);
    s3c_listing_free(res->listing);
    res->body = NULL;
    res->listing = NULL;
}

/* ---- an operation's request ---------------------------------------------- */

int s3c_xfer_header(xfer *x, const char *name, const char *value, cf_err *err)
{
    size_t n = strlen(value) + 1;
    if (x->nhdr == S3C_MAX_HEADERS || x->text_len + n > sizeof x->text)
        return cf_fail(err, CF_EINVAL, "too many or too long headers");
    char *v = memcpy(x->text + x->text_len, value, n);
    x->text_len += n;
    x->hdr[x->nhdr++] = (auth_pair){name, v};
    return 0;
}

int s3c_query_param(char **q, const char *name, const char *value, cf_err *err)
{
    char *enc = value ? auth_uri_encode(value, false) : NULL;
    size_t have = *q ? strlen(*q) : 0;
    size_t need = have + strlen(name) + (enc ? strlen(enc) + 1 : 0) + 2;
    char *grown = (value && !enc) ? NULL : realloc(*q, need);
    if (!grown) {
        free(enc);
        return cf_fail(err, CF_ENOMEM, "out of memory");
    }
    snprintf(grown + have, need - have, "%s%s%s%s", have ? "&" : "", name,
             enc ? "=" : "", enc ? enc : "");
    *q = grown;
    free(enc);
    return 0;
}

static const char *const kind_method[S3C_KIND_COUNT] = {
    [S3C_CREATE_BUCKET] = "PUT", [S3C_DELETE_BUCKET] = "DELETE",
    [S3C_PUT_OBJECT] = "PUT", [S3C_GET_OBJECT] = "GET", [S3C_HEAD_OBJECT] = "HEAD",
    [S3C_DELETE_OBJECT] = "DELETE", [S3C_MPU_CREATE] = "POST",
    [S3C_MPU_PART] = "PUT", [S3C_MPU_COMPLETE] = "POST", [S3C_MPU_ABORT] = "DELETE",
    [S3C_LIST_UPLOADS] = "GET", [S3C_LIST_OBJECTS] = "GET"};

static bool kind_has_key(s3c_kind k)
{
    return k != S3C_REQUEST && k != S3C_CREATE_BUCKET && k != S3C_DELETE_BUCKET &&
           k != S3C_LIST_OBJECTS && k != S3C_LIST_UPLOADS;
}

/* Path, Host and URL: path-style /BUCKET/KEY or virtual-host BUCKET.host/KEY. */
static int build_target(xfer *x, cf_err *err)
{
    const s3c_op *op = &x->op;
    s3c_client *c = x->c;
    char *key = NULL;
    snprintf(x->host, sizeof x->host, "%s", c->authority);
    if (op->kind == S3C_REQUEST) {
        if (!op->method || !op->path || op->path[0] != '/')
            return cf_fail(err, CF_EINVAL, "a request needs a method and a path");
        x->method = op->method;
        x->path = strdup(op->path);
        x->query = op->query && *op->query ? strdup(op->query) : NULL;
        if (!x->path || (op->query && *op->query && !x->query))
            return cf_fail(err, CF_ENOMEM, "out of memory");
    } else {
        if (!op->bucket || !*op->bucket || strchr(op->bucket, '/') ||
            (kind_has_key(op->kind) && (!op->key || !*op->key)))
            return cf_fail(err, CF_EINVAL, "the operation needs a bucket%s",
                           kind_has_key(op->kind) ? " and a key" : "");
        x->method = kind_method[op->kind];
        if (op->key && kind_has_key(op->kind) && !(key = auth_uri_encode(op->key, true)))
            return cf_fail(err, CF_ENOMEM, "out of memory");
        size_t n = strlen(op->bucket) + (key ? strlen(key) : 0) + 3;
        if (!(x->path = malloc(n))) {
            free(key);
            return cf_fail(err, CF_ENOMEM, "out of memory");
        }
        if (c->virtual_host) {
            snprintf(x->path, n, "/%s", key ? key : "");
            snprintf(x->host, sizeof x->host, "%s.%s", op->bucket, c->authority);
        } else {
            snprintf(x->path, n, "/%s%s%s", op->bucket, key ? "/" : "", key ? key : "");
        }
        free(key);
    }
    if (!(x->url = s3c_url(c, x->host, x->path, x->query)))
        return cf_fail(err, CF_ENOMEM, "out of memory");
    return 0;
}

char *s3c_url(const s3c_client *c, const char *host, const char *path, const char *query)
{
    size_t n = strlen(c->scheme) + strlen(host) + strlen(path) +
               (query ? strlen(query) : 0) + 8;
    char *url = malloc(n);
    if (url)
        snprintf(url, n, "%s://%s%s%s%s", c->scheme, host, path, query ? "?" : "",
                 query ? query : "");
    return url;
}

static int build_query(xfer *x, cf_err *err)
{
    const s3c_op *op = &x->op;
    char num[24];
    int rc = 0;
    switch (op->kind) {
    case S3C_MPU_CREATE:
        return s3c_query_param(&x->query, "uploads", NULL, err);
    case S3C_MPU_PART:
        if (op->part_number < 1 || op->part_number > 10000 || !op->upload_id)
            return cf_fail(err, CF_EINVAL, "UploadPart needs an upload id and a part "
                           "number 1..10000");
        snprintf(num, sizeof num, "%u", op->part_number);
        rc = s3c_query_param(&x->query, "partNumber", num, err);
        /* fall through */
    case S3C_MPU_COMPLETE:
    case S3C_MPU_ABORT:
        if (!op->upload_id || !*op->upload_id)
            return cf_fail(err, CF_EINVAL, "the operation needs an upload id");
        return rc < 0 ? -1 : s3c_query_param(&x->query, "uploadId", op->upload_id, err);
    case S3C_LIST_UPLOADS:
        rc = s3c_query_param(&x->query, "uploads", NULL, err);
        if (rc == 0)
            rc = s3c_query_param(&x->query, "encoding-type", "url", err);
        if (rc == 0 && op->prefix)
            rc = s3c_query_param(&x->query, "prefix", op->prefix, err);
        return rc;
    case S3C_LIST_OBJECTS:
        rc = s3c_query_param(&x->query, "list-type", "2", err);
        if (rc == 0)
            rc = s3c_query_param(&x->query, "encoding-type", "url", err);
        if (rc == 0 && op->prefix)
            rc = s3c_query_param(&x->query, "prefix", op->prefix, err);
        if (rc == 0 && op->delimiter)
            rc = s3c_query_param(&x->query, "delimiter", op->delimiter, err);
        if (rc == 0 && op->start_after)
            rc = s3c_query_param(&x->query, "start-after", op->start_after, err);
        if (rc == 0 && op->continuation)
            rc = s3c_query_param(&x->query, "continuation-token", op->continuation, err);
        snprintf(num, sizeof num, "%d", op->max_keys);
        if (rc == 0 && op->max_keys > 0)
            rc = s3c_query_param(&x->query, "max-keys", num, err);
        return rc;
    case S3C_GET_OBJECT:
    case S3C_HEAD_OBJECT:
        if (op->part_number > 10000)
            return cf_fail(err, CF_EINVAL, "part numbers are 1..10000");
        snprintf(num, sizeof num, "%u", op->part_number);
        return op->part_number ? s3c_query_param(&x->query, "partNumber", num, err) : 0;
    default:
        return 0;
    }
}

/* The XML body some operations send. */
static int build_post(xfer *x, cf_err *err)
{
    const s3c_op *op = &x->op;
    size_t cap, len = 0;
    if (op->kind == S3C_CREATE_BUCKET && strcmp(x->c->region, DEFAULT_REGION) != 0) {
        cap = 160 + strlen(x->c->region);
        if (!(x->post = malloc(cap)))
            return cf_fail(err, CF_ENOMEM, "out of memory");
        len = (size_t)snprintf(x->post, cap, "<CreateBucketConfiguration><LocationConstraint>"
                               "%s</LocationConstraint></CreateBucketConfiguration>",
                               x->c->region);
    } else if (op->kind == S3C_MPU_COMPLETE) {
        if (op->nparts == 0 || op->nparts > 10000)
            return cf_fail(err, CF_EINVAL, "CompleteMultipartUpload needs 1..10000 parts");
        cap = 64 + op->nparts * (96 + S3C_ETAG_MAX + 40);
        if (!(x->post = malloc(cap)))
            return cf_fail(err, CF_ENOMEM, "out of memory");
        len += (size_t)snprintf(x->post, cap, "<CompleteMultipartUpload>");
        for (size_t i = 0; i < op->nparts; i++) {
            const s3c_part *p = &op->parts[i];
            if (!p->etag || strlen(p->etag) >= S3C_ETAG_MAX || strpbrk(p->etag, "<&") ||
                (p->crc32c && (strlen(p->crc32c) > 12 || strpbrk(p->crc32c, "<&"))))
                return cf_fail(err, CF_EINVAL, "part %u: a bad ETag or checksum", p->number);
            len += (size_t)snprintf(x->post + len, cap - len,
                                    "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag>",
                                    p->number, p->etag);
            if (p->crc32c)
                len += (size_t)snprintf(x->post + len, cap - len,
                                        "<ChecksumCRC32C>%s</ChecksumCRC32C>", p->crc32c);
            len += (size_t)snprintf(x->post + len, cap - len, "</Part>");
        }
        len += (size_t)snprintf(x->post + len, cap - len, "</CompleteMultipartUpload>");
    } else {
        return 0;
    }
    s3c_body_mem(&x->post_body, &x->post_mem, x->post, len);
    x->body = &x->post_body;
    return 0;
}

static bool kind_uploads(s3c_kind k)
{
    return k == S3C_PUT_OBJECT || k == S3C_MPU_PART || k == S3C_REQUEST;
}

/* The payload hash, the checksum header and the framing headers. */
static int build_payload(xfer *x, cf_err *err)
{
    const s3c_op *op = &x->op;
    s3c_client *c = x->c;
    bool upload = kind_uploads(op->kind) && x->body;
    bool want_sha = x->body && op->payload == S3C_SIGNED && !op->payload_sha256;
    bool want_cks = upload && op->checksum != S3C_CKS_NONE && op->kind != S3C_REQUEST;
    cks_state *other = NULL;
    char sha[65];
    if (want_cks && op->checksum_value) {
        if (snprintf(x->sent_cks, sizeof x->sent_cks, "%s", op->checksum_value) >=
            (int)sizeof x->sent_cks)
            return cf_fail(err, CF_EINVAL, "the checksum value is too long");
    } else if (want_cks &&
               !(other = cks_new(op->checksum == S3C_CKS_MD5 ? CKS_MD5 : CKS_CRC32C, err))) {
        return -1;
    }
    if ((want_sha || other) &&
        s3c_body_digest(x->body, want_sha ? c->sha : NULL, sha, other, x->sent_cks,
                        sizeof x->sent_cks, err) < 0) {
        cks_free(other);
        return -1;
    }
    cks_free(other);
    if (want_cks && s3c_xfer_header(x, op->checksum == S3C_CKS_MD5 ? "content-md5"
                                                              : "x-amz-checksum-crc32c",
                               x->sent_cks, err) < 0)
        return -1;
    const char *hash = SIGV4_UNSIGNED_PAYLOAD;
    if (op->payload == S3C_SIGNED)
        hash = !x->body ? SIGV4_EMPTY_SHA256 : op->payload_sha256 ? op->payload_sha256 : sha;
    else if (op->payload == S3C_STREAMING && x->body)
        hash = SIGV4_STREAMING_PAYLOAD;
    snprintf(x->payload_hash, sizeof x->payload_hash, "%s", hash);
    x->streaming = op->payload == S3C_STREAMING && x->body;
    if (x->streaming) {
        char n[24];
        snprintf(n, sizeof n, "%llu", (unsigned long long)x->body->length);
        if (s3c_xfer_header(x, "content-encoding", "aws-chunked", err) < 0 ||
            s3c_xfer_header(x, "x-amz-decoded-content-length", n, err) < 0)
            return -1;
    }
    return 0;
}

static int build_headers(xfer *x, cf_err *err)
{
    const s3c_op *op = &x->op;
    int rc = 0;
    if (op->content_type && (op->kind == S3C_PUT_OBJECT || op->kind == S3C_REQUEST ||
                             op->kind == S3C_MPU_CREATE))
        rc = s3c_xfer_header(x, "content-type", op->content_type, err);
    if (rc == 0 && op->kind == S3C_GET_OBJECT && op->range && op->range_len == 0)
        return cf_fail(err, CF_EINVAL, "an empty range");
    if (rc == 0 && ((op->kind == S3C_GET_OBJECT && op->verify) || op->kind == S3C_HEAD_OBJECT))
        rc = s3c_xfer_header(x, "x-amz-checksum-mode", "ENABLED", err);
    if (rc == 0 && op->kind == S3C_MPU_CREATE && op->checksum == S3C_CKS_CRC32C)
        rc = s3c_xfer_header(x, "x-amz-checksum-algorithm", "CRC32C", err);
    for (size_t i = 0; rc == 0 && i < op->nheaders; i++)
        rc = s3c_xfer_header(x, op->headers[i].name, op->headers[i].value, err);
    return rc;
}

static bool kind_idempotent(const s3c_op *op)
{
    return op->kind == S3C_REQUEST ? op->idempotent : op->kind != S3C_MPU_CREATE;
}

static const s3c_proto s3_proto;

static xfer *start(s3c_client *c, const s3c_op *op, s3c_done_fn done, void *ctx,
                   cf_err *err)
{
    if (op->kind < 0 || op->kind >= S3C_KIND_COUNT) {
        cf_fail(err, CF_EINVAL, "unknown operation");
        return NULL;
    }
    xfer *x = s3c_xfer_new(c, &s3_proto, done, ctx, 0, err);
    if (!x)
        return NULL;
    x->op = *op;
    x->body = kind_uploads(op->kind) ? op->body : NULL;
    x->idempotent = kind_idempotent(op);
    x->getting = op->kind == S3C_GET_OBJECT;
    if (op->kind == S3C_GET_OBJECT && op->range)
        x->first_byte = op->range_start;
    int rc = build_query(x, err);
    if (rc == 0)
        rc = build_target(x, err);
    if (rc == 0)
        rc = build_post(x, err);
    if (rc == 0)
        rc = build_headers(x, err);
    if (rc == 0)
        rc = build_payload(x, err);
    if (rc == 0 && op->kind == S3C_GET_OBJECT && op->verify &&
        !(x->verify = cks_new(CKS_CRC32C, err)))
        rc = -1;
    if (rc < 0) {
        s3c_xfer_destroy(x);
        return NULL;
    }
    return s3c_xfer_begin(x, err) == 0 ? x : NULL;
}

int s3c_start(s3c_client *c, const s3c_op *op, s3c_done_fn done, void *ctx, cf_err *err)
{
    return start(c, op, done, ctx, err) ? 0 : -1;
}

/* ---- answers ---------------------------------------------------------------- */

static const struct {
    const char *code;
    cf_code cf;
} code_map[] = {
    {"NoSuchKey", CF_ENOKEY}, {"NotFound", CF_ENOKEY}, {"NoSuchBucket", CF_ENOBUCKET},
    {"NoSuchUpload", CF_ENOUPLOAD}, {"InvalidPart", CF_EBADPART},
    {"InvalidPartOrder", CF_EPARTORDER}, {"EntityTooSmall", CF_ETOOSMALL},
    {"EntityTooLarge", CF_ETOOLARGE}, {"InvalidRange", CF_ERANGE},
    {"BadDigest", CF_EDIGEST}, {"InvalidDigest", CF_EDIGEST},
    {"XAmzContentSHA256Mismatch", CF_EDIGEST}, {"XAmzContentChecksumMismatch", CF_EDIGEST},
    {"PreconditionFailed", CF_EPRECOND}, {"BucketAlreadyExists", CF_EBUCKETEXISTS},
    {"BucketAlreadyOwnedByYou", CF_EBUCKETEXISTS}, {"BucketNotEmpty", CF_ENOTEMPTY},
    {"AccessDenied", CF_ECONFIG}, {"Forbidden", CF_ECONFIG},
    {"InvalidAccessKeyId", CF_ECONFIG},
    {"SignatureDoesNotMatch", CF_ECONFIG}, {"AuthorizationHeaderMalformed", CF_ECONFIG},
    {"InvalidBucketName", CF_EINVAL}, {"KeyTooLongError", CF_ETOOLARGE},
};

static cf_code map_code(const char *code, long status)
{
    for (size_t i = 0; i < sizeof code_map / sizeof code_map[0]; i++)
        if (strcmp(code, code_map[i].code) == 0)
            return code_map[i].cf;
    return status >= 500 ? CF_EIO : CF_EINVAL;
}

const char *s3c_status_code(long status)
{
    switch (status) {
    case 400: return "BadRequest";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 409: return "Conflict";
    case 412: return "PreconditionFailed";
    case 416: return "InvalidRange";
    case 503: return "ServiceUnavailable";
    default: return status >= 500 ? "InternalError" : "UnexpectedStatus";
    }
}

/* The remote's error in res and err (code and message are the remote's). */
static int remote_error(xfer *x, const char *body, size_t len, cf_err *err)
{
    s3c_result *r = &x->res;
    if (!body || !s3c_xml_error(body, len, r->remote_code,
                                   sizeof r->remote_code, r->remote_message,
                                   sizeof r->remote_message)) {
        snprintf(r->remote_code, sizeof r->remote_code, "%s", s3c_status_code(r->status));
        r->remote_message[0] = '\0';
    }
    return s3c_fail_remote(x, map_code(r->remote_code, r->status), err);
}

int s3c_fail_remote(xfer *x, cf_code code, cf_err *err)
{
    const s3c_result *r = &x->res;
    return cf_fail(err, code, "%s%s%s (HTTP %ld from %s %s)", r->remote_code,
                   r->remote_message[0] ? ": " : "", r->remote_message, r->status,
                   x->method, x->url);
}

/* An ETag that is the plain MD5 of the body: 32 hex digits in quotes. */
static bool etag_is_md5(const char *etag, char hex[33])
{
    size_t n = strlen(etag);
    if (n == 34 && etag[0] == '"' && etag[33] == '"')
        etag++, n -= 2;
    if (n != 32 || strspn(etag, "0123456789abcdefABCDEF") != 32)
        return false;
    for (int i = 0; i < 32; i++)
        hex[i] = (char)(etag[i] | 0x20);
    hex[32] = '\0';
    return true;
}

/* What the remote confirmed against what was sent. */
static int check_confirmed(xfer *x, cf_err *err)
{
    const s3c_op *op = &x->op;
    s3c_result *r = &x->res;
    if (op->checksum == S3C_CKS_MD5 && x->sent_cks[0]) {
        uint8_t raw[16];
        char sent[33], got[33];
        if (cks_from_base64(x->sent_cks, raw, sizeof raw, NULL) == 0 &&
            etag_is_md5(r->etag, got)) {
            hex_encode(raw, sizeof raw, sent, sizeof sent);
            if (strcmp(sent, got) != 0)
                return cf_fail(err, CF_EDIGEST, "the remote stored MD5 %s, not the %s "
                               "sent (%s %s)", got, sent, x->method, x->url);
        }
    }
    if (op->checksum == S3C_CKS_CRC32C && x->sent_cks[0] && r->crc32c[0] &&
        strcmp(r->crc32c, x->sent_cks) != 0)
        return cf_fail(err, CF_EDIGEST, "the remote stored CRC32C %s, not the %s sent "
                       "(%s %s)", r->crc32c, x->sent_cks, x->method, x->url);
    if (x->verify && r->status == 200 && r->crc32c[0] && !strstr(r->crc32c, "-")) {
        uint8_t raw[CKS_MAX_RAW];
        char got[CKS_MAX_B64];
        cks_to_base64(raw, cks_final(x->verify, raw), got, sizeof got);
        if (strcmp(got, r->crc32c) != 0)
            return cf_fail(err, CF_ECORRUPT, "the body's CRC32C is %s, the remote's "
                           "%s (GET %s)", got, r->crc32c, x->url);
    }
    return 0;
}

static int s3_check(xfer *x, cf_err *err)
{
    s3c_result *r = &x->res;
    s3c_kind k = x->op.kind;
    if (r->status < 200 || r->status > 299) {
        int rc = remote_error(x, x->ebuf, x->elen, err);
        bool fine = (k == S3C_CREATE_BUCKET && strcmp(r->remote_code,
                                                       "BucketAlreadyOwnedByYou") == 0) ||
                    (k == S3C_DELETE_OBJECT && strcmp(r->remote_code, "NoSuchKey") == 0);
        return fine ? 0 : rc;
    }
    switch (k) {
    case S3C_MPU_CREATE:
        return s3c_xml_upload_id(x->buf, x->len, r->upload_id, sizeof r->upload_id, err);
    case S3C_MPU_COMPLETE:
        /* a completion may fail after its 200 was sent: an <Error> body */
        if (x->buf && s3c_xml_error(x->buf, x->len, r->remote_code, sizeof r->remote_code,
                                    r->remote_message, sizeof r->remote_message))
            return remote_error(x, x->buf, x->len, err);
        return s3c_xml_complete(x->buf, x->len, r, err);
    case S3C_LIST_OBJECTS:
        return s3c_xml_listing(x->buf, x->len, &r->listing, err);
    case S3C_LIST_UPLOADS:
        return s3c_xml_uploads(x->buf, x->len, &r->listing, err);
    default:
        return check_confirmed(x, err);
    }
}

/* ---- SigV4 and the S3 answer headers ------------------------------------------ */

static int s3_sign(xfer *x, auth_pair *h, size_t *nh, char *authz, size_t cap,
                   cf_err *err)
{
    s3c_client *c = x->c;
    time_t now = time(NULL);
    sigv4_format_time(now, x->stamp);
    h[(*nh)++] = (auth_pair){"host", x->host};
    h[(*nh)++] = (auth_pair){"x-amz-content-sha256", x->payload_hash};
    h[(*nh)++] = (auth_pair){"x-amz-date", x->stamp};
    auth_request req = {.method = x->method, .path = x->path, .query = x->query,
                        .headers = h, .nheaders = *nh};
    sigv4_auth state;
    auth_err aerr;
    if (sigv4_sign(&req, &c->cred, now, x->payload_hash, authz, cap,
                   x->streaming ? &state : NULL, &aerr) < 0)
        return cf_fail(err, CF_EINVAL, "cannot sign %s %s: %s", x->method, x->url, aerr.msg);
    int rc = 0;
    if (x->streaming) {
        rc = s3c_chunker_start(&x->chunk, x->body, c->sha, &state, err);
        sigv4_auth_clear(&state);
    }
    return rc;
}

/* x-amz-checksum-ALGO: VALUE (not -mode, -type or -algorithm) into r. */
static void checksum_header(s3c_result *r, const char *line, size_t n)
{
    static const char prefix[] = "x-amz-checksum-";
    const size_t pl = sizeof prefix - 1;
    const char *colon = memchr(line, ':', n);
    size_t al = colon ? (size_t)(colon - line) - pl : 0;
    if (!colon || (size_t)(colon - line) <= pl || strncasecmp(line, prefix, pl) != 0 ||
        al >= sizeof r->checksum_algo)
        return;
    char algo[sizeof r->checksum_algo];
    for (size_t i = 0; i < al; i++)
        algo[i] = (char)tolower((unsigned char)line[pl + i]);
    algo[al] = '\0';
    if (strcmp(algo, "mode") == 0 || strcmp(algo, "type") == 0 ||
        strcmp(algo, "algorithm") == 0)
        return;
    char name[64];
    snprintf(name, sizeof name, "%s%s", prefix, algo);
    if (s3c_header_value(line, n, name, r->checksum, sizeof r->checksum))
        memcpy(r->checksum_algo, algo, al + 1);
}

static void s3_header(xfer *x, const char *line, size_t n)
{
    s3c_result *r = &x->res;
    char v[16];
    if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
        r->crc32c[0] = r->request_id[0] = r->checksum_algo[0] = r->checksum[0] = '\0';
        r->parts_count = 0;
    } else if (s3c_header_value(line, n, "x-amz-mp-parts-count", v, sizeof v)) {
        r->parts_count = atoi(v);
    } else if (!s3c_header_value(line, n, "x-amz-checksum-crc32c", r->crc32c,
                                 sizeof r->crc32c) &&
               !s3c_header_value(line, n, "x-amz-request-id", r->request_id,
                                 sizeof r->request_id)) {
        checksum_header(r, line, n);
        return;
    }
    if (r->crc32c[0] && !r->checksum_algo[0]) {
        snprintf(r->checksum_algo, sizeof r->checksum_algo, "crc32c");
        snprintf(r->checksum, sizeof r->checksum, "%s", r->crc32c);
    }
}

static const s3c_proto s3_proto = {s3_sign, s3_header, s3_check, "range"};

void s3c_xfer_finish(xfer *x, int rc, const cf_err *err)
{
    s3c_client *c = x->c;
    c->nactive--;
    c->finished++;
    bool error_answer = x->res.status < 200 || x->res.status > 299;
    char **keep = error_answer ? &x->ebuf : &x->buf;
    if (*keep) {
        x->res.body = *keep;
        x->res.body_len = error_answer ? x->elen : x->len;
        *keep = NULL;
    }
    if (x->done)
        x->done(x->ctx, rc, err, &x->res);
    s3c_result_free(&x->res);
    s3c_xfer_destroy(x);
}

/* ---- running one to its end ------------------------------------------------- */

typedef struct waiter {
    s3c_waiter end;
    s3c_result *res;
} waiter;

static void on_exec_done(void *ctx, int rc, const cf_err *err, s3c_result *res)
{
    waiter *w = ctx;
    s3c_waiter_end(&w->end, rc, err);
    *w->res = *res;
    res->body = NULL;
    res->listing = NULL;
}

int s3c_exec(s3c_client *c, const s3c_op *op, s3c_result *res, cf_err *err)
{
    waiter w = {.res = res};
    memset(res, 0, sizeof *res);
    res->size = res->content_length = -1;
    return s3c_xfer_wait(c, start(c, op, on_exec_done, &w, err), &w.end, err);
}
