/*
 * auth/auth.c - the shared pieces of auth/: S3 error codes, scheme
 * detection, header lookup and the decoded view of the query string.
 */
#include "auth/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *s3_name;
    int status;
} code_table[AUTH_CODE_COUNT] = {
    [AUTH_OK] = {"OK", 200},
    [AUTH_ACCESS_DENIED] = {"AccessDenied", 403},
    [AUTH_INVALID_ACCESS_KEY_ID] = {"InvalidAccessKeyId", 403},
    [AUTH_SIGNATURE_DOES_NOT_MATCH] = {"SignatureDoesNotMatch", 403},
    [AUTH_REQUEST_TIME_TOO_SKEWED] = {"RequestTimeTooSkewed", 403},
    [AUTH_HEADER_MALFORMED] = {"AuthorizationHeaderMalformed", 400},
    [AUTH_QUERY_PARAMETERS_ERROR] = {"AuthorizationQueryParametersError", 400},
    [AUTH_MISSING_SECURITY_HEADER] = {"MissingSecurityHeader", 400},
    [AUTH_INVALID_ARGUMENT] = {"InvalidArgument", 400},
    [AUTH_INVALID_REQUEST] = {"InvalidRequest", 400},
    [AUTH_MISSING_CONTENT_LENGTH] = {"MissingContentLength", 411},
    [AUTH_INCOMPLETE_BODY] = {"IncompleteBody", 400},
    [AUTH_CONTENT_SHA256_MISMATCH] = {"XAmzContentSHA256Mismatch", 400},
    [AUTH_INTERNAL] = {"InternalError", 500},
};

int auth_fail(auth_err *err, auth_code code, const char *fmt, ...)
{
    if (!err) return -1;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

const char *auth_code_s3_name(auth_code code)
{
    return (unsigned)code < AUTH_CODE_COUNT ? code_table[code].s3_name
                                            : "InternalError";
}

int auth_code_http_status(auth_code code)
{
    return (unsigned)code < AUTH_CODE_COUNT ? code_table[code].status : 500;
}

const char *auth_request_header(const auth_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

/* The scheme named by the query's signature parameters, if any. */
static auth_scheme query_scheme(const auth_request *req)
{
    auth_query q;
    if (auth_query_load(req, &q, NULL) < 0) return AUTH_SCHEME_UNKNOWN;
    size_t v4a, v4s, v2k, v2s;
    auth_query_get(&q, "X-Amz-Algorithm", &v4a);
    auth_query_get(&q, "X-Amz-Signature", &v4s);
    auth_query_get(&q, "AWSAccessKeyId", &v2k);
    auth_query_get(&q, "Signature", &v2s);
    auth_query_free(&q);
    if (v4a || v4s) return AUTH_SCHEME_SIGV4;
    if (v2k || v2s) return AUTH_SCHEME_SIGV2;
    return AUTH_SCHEME_NONE;
}

auth_scheme auth_detect_scheme(const auth_request *req)
{
    const char *authz = auth_request_header(req, "authorization");
    if (!authz) return query_scheme(req);
    if (strncmp(authz, "AWS4-HMAC-SHA256 ", 17) == 0) return AUTH_SCHEME_SIGV4;
    if (strncmp(authz, "AWS ", 4) == 0) return AUTH_SCHEME_SIGV2;
    return AUTH_SCHEME_UNKNOWN;
}

/* A decoded copy of s[0..n), or NULL (*bad set for a malformed escape). */
static char *decode(const char *s, size_t n, bool *bad)
{
    char *out = malloc(n + 1);
    if (out && auth_percent_decode(s, n, true, out) < 0) {
        free(out);
        *bad = true;
        return NULL;
    }
    return out;
}

/* -1 on ENOMEM, -2 for a query that is not correctly percent-encoded. */
static int query_add(auth_query *q, size_t cap, const char *name, size_t nlen,
                     const char *value, size_t vlen)
{
    if (q->n == cap) return -1;
    bool bad = false;
    char *n = decode(name, nlen, &bad);
    char *v = n ? decode(value, vlen, &bad) : NULL;
    if (!n || !v) {
        free(n);
        free(v);
        return bad ? -2 : -1;
    }
    q->pairs[q->n].name = n;
    q->pairs[q->n].value = v;
    q->n++;
    return 0;
}

/* Split a raw query on '&' and the first '=' of each piece, decoding both. */
static int query_load_raw(const char *raw, auth_query *q)
{
    size_t cap = 1;
    for (const char *p = raw; *p; p++) cap += *p == '&';
    q->pairs = calloc(cap, sizeof *q->pairs);
    if (!q->pairs) return -1;
    for (const char *p = raw; *p;) {
        size_t len = strcspn(p, "&");
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            size_t nlen = eq ? (size_t)(eq - p) : len;
            const char *v = eq ? eq + 1 : p + len;
            size_t vlen = eq ? len - nlen - 1 : 0;
            int rc = query_add(q, cap, p, nlen, v, vlen);
            if (rc < 0) return rc;
        }
        p += len + (p[len] == '&');
    }
    return 0;
}

static char *copy_string(const char *s)
{
    return s ? strdup(s) : strdup("");
}

static int query_load_params(const auth_request *req, auth_query *q)
{
    q->pairs = calloc(req->nparams ? req->nparams : 1, sizeof *q->pairs);
    if (!q->pairs) return -1;
    for (size_t i = 0; i < req->nparams; i++) {
        char *n = copy_string(req->params[i].name);
        char *v = copy_string(req->params[i].value);
        q->pairs[q->n].name = n;
        q->pairs[q->n].value = v;
        q->n++;
        if (!n || !v) return -1;
    }
    return 0;
}

int auth_query_load(const auth_request *req, auth_query *q, auth_err *err)
{
    q->pairs = NULL;
    q->n = 0;
    int rc = req->query ? query_load_raw(req->query, q) : query_load_params(req, q);
    if (rc < 0) {
        auth_query_free(q);
        return rc == -2 ? auth_fail(err, AUTH_INVALID_ARGUMENT,
                                    "the query string is not correctly URL-encoded")
                        : auth_fail(err, AUTH_INTERNAL, "out of memory decoding the query");
    }
    return 0;
}

void auth_query_free(auth_query *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free((char *)q->pairs[i].name);
        free((char *)q->pairs[i].value);
    }
    free(q->pairs);
    q->pairs = NULL;
    q->n = 0;
}

const char *auth_query_get(const auth_query *q, const char *name, size_t *count)
{
    const char *found = NULL;
    size_t c = 0;
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->pairs[i].name, name) == 0) {
            found = q->pairs[i].value;
            c++;
        }
    if (count) *count = c;
    return found;
}
