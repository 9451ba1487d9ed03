/*
 * auth/sigv2.c - SigV2 verification and signing (contract in sigv2.h).
 *
 * The string to sign is built in one place, sigv2_string_to_sign, for both
 * verifying and signing; the signature is base64(HMAC-SHA1(secret, sts)).
 */
#include "auth/sigv2.h"
#include "auth/internal.h"
#include "common/numparse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The query parameters S3 counts as part of the resource, sorted. */
static const char *const subresources[] = {
    "accelerate", "acl", "analytics", "cors", "delete", "encryption",
    "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "location",
    "logging", "metrics", "notification", "object-lock", "ownershipControls",
    "partNumber", "policy", "publicAccessBlock", "replication",
    "requestPayment", "response-cache-control", "response-content-disposition",
    "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires", "restore", "retention",
    "select", "select-type", "storageClass", "tagging", "torrent", "uploadId",
    "uploads", "versionId", "versioning", "versions", "website",
};

/* A header value without leading and trailing spaces. */
static void add_trimmed(auth_buf *b, const char *v)
{
    while (*v == ' ') v++;
    size_t n = strlen(v);
    while (n && v[n - 1] == ' ') n--;
    auth_buf_add(b, v, n);
}

static void add_line(auth_buf *b, const char *v)
{
    if (v) add_trimmed(b, v);
    auth_buf_char(b, '\n');
}

static int compare_names_nocase(const void *x, const void *y)
{
    return strcasecmp(*(const char *const *)x, *(const char *const *)y);
}

/* "x-amz-name:v1,v2\n" for each distinct x-amz-* header, sorted, names in
 * lowercase whatever case the HTTP layer handed over. */
static int add_amz_headers(auth_buf *b, const auth_request *req)
{
    const char **names = calloc(req->nheaders ? req->nheaders : 1, sizeof *names);
    if (!names) return -1;
    size_t n = 0;
    for (size_t i = 0; i < req->nheaders; i++)
        if (strncasecmp(req->headers[i].name, "x-amz-", 6) == 0)
            names[n++] = req->headers[i].name;
    qsort(names, n, sizeof *names, compare_names_nocase);
    for (size_t i = 0; i < n; i++) {
        if (i && strcasecmp(names[i], names[i - 1]) == 0) continue;
        for (const char *c = names[i]; *c; c++)
            auth_buf_char(b, (char)tolower((unsigned char)*c));
        auth_buf_char(b, ':');
        bool first = true;
        for (size_t j = 0; j < req->nheaders; j++) {
            if (strcasecmp(req->headers[j].name, names[i]) != 0) continue;
            if (!first) auth_buf_char(b, ',');
            first = false;
            add_trimmed(b, req->headers[j].value);
        }
        auth_buf_char(b, '\n');
    }
    free(names);
    return 0;
}

/* Path (with the virtual-host bucket) and the sub-resources, in order. */
static void add_resource(auth_buf *b, const auth_request *req, const auth_query *q,
                         const char *virtual_bucket)
{
    if (virtual_bucket) {
        auth_buf_char(b, '/');
        auth_buf_str(b, virtual_bucket);
    }
    auth_buf_str(b, req->path && *req->path ? req->path : "/");
    char sep = '?';
    for (size_t s = 0; s < sizeof subresources / sizeof *subresources; s++)
        for (size_t i = 0; i < q->n; i++) {
            if (strcmp(q->pairs[i].name, subresources[s]) != 0) continue;
            auth_buf_char(b, sep);
            sep = '&';
            auth_buf_str(b, q->pairs[i].name);
            if (q->pairs[i].value[0]) {
                auth_buf_char(b, '=');
                auth_buf_str(b, q->pairs[i].value);
            }
        }
}

int sigv2_string_to_sign(const auth_request *req, const char *virtual_bucket,
                         int64_t expires, char **out, auth_err *err)
{
    auth_query q;
    if (auth_query_load(req, &q, err) < 0) return -1;
    auth_buf b = {0};
    char expires_text[24];
    snprintf(expires_text, sizeof expires_text, "%lld", (long long)expires);
    const char *date = expires > 0 ? expires_text
                     : auth_request_header(req, "x-amz-date") ? ""
                     : auth_request_header(req, "date");
    auth_buf_str(&b, req->method);
    auth_buf_char(&b, '\n');
    add_line(&b, auth_request_header(req, "content-md5"));
    add_line(&b, auth_request_header(req, "content-type"));
    add_line(&b, date);
    int rc = add_amz_headers(&b, req);
    add_resource(&b, req, &q, virtual_bucket);
    auth_query_free(&q);
    if (rc < 0 || !auth_buf_ok(&b)) {
        auth_buf_free(&b);
        return auth_fail(err, AUTH_INTERNAL, "out of memory building the string to sign");
    }
    *out = b.s;
    return 0;
}

/* base64(HMAC-SHA1(secret, string to sign)). */
static int compute_signature(const auth_request *req, const char *virtual_bucket,
                             int64_t expires, const char *secret,
                             char out[SIGV2_SIG_B64_LEN + 1], auth_err *err)
{
    char *sts;
    if (sigv2_string_to_sign(req, virtual_bucket, expires, &sts, err) < 0) return -1;
    unsigned char mac[AUTH_SHA1_LEN];
    int rc = auth_hmac_once("SHA1", secret, strlen(secret), sts, strlen(sts), mac,
                            sizeof mac);
    free(sts);
    if (rc != AUTH_SHA1_LEN)
        return auth_fail(err, AUTH_INTERNAL, "could not compute the signature");
    EVP_EncodeBlock((unsigned char *)out, mac, sizeof mac);
    return 0;
}

static bool is_base64_signature(const char *s)
{
    if (strlen(s) != SIGV2_SIG_B64_LEN || s[SIGV2_SIG_B64_LEN - 1] != '=') return false;
    for (size_t i = 0; i < SIGV2_SIG_B64_LEN - 1; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '/') return false;
    return true;
}

/* Store a signature; a '+' that a form decoder turned into ' ' is restored. */
static int store_signature(sigv2_auth *a, const char *sig, auth_code bad, auth_err *err)
{
    if (strlen(sig) != SIGV2_SIG_B64_LEN)
        return auth_fail(err, bad, "the signature must be 28 base64 characters");
    for (size_t i = 0; i <= SIGV2_SIG_B64_LEN; i++)
        a->signature[i] = sig[i] == ' ' ? '+' : sig[i];
    if (!is_base64_signature(a->signature))
        return auth_fail(err, bad, "the signature must be 28 base64 characters");
    return 0;
}

static int store_access_key(sigv2_auth *a, const char *s, size_t n, auth_code bad,
                            auth_err *err)
{
    if (n == 0 || n >= sizeof a->access_key)
        return auth_fail(err, bad, "the access key id is empty or too long");
    memcpy(a->access_key, s, n);
    a->access_key[n] = 0;
    return 0;
}

static int parse_header_time(sigv2_auth *a, const auth_request *req, auth_err *err)
{
    const char *v = auth_request_header(req, "x-amz-date");
    if (!v) v = auth_request_header(req, "date");
    if (!v || (auth_parse_http_date(v, &a->time) < 0 &&
               auth_parse_iso8601_basic(v, &a->time) < 0))
        return auth_fail(err, AUTH_ACCESS_DENIED,
                         "AWS authentication requires a valid Date or x-amz-date header");
    return 0;
}

/* "AWS AKID:signature" */
static int parse_header(sigv2_auth *a, const auth_request *req, const char *authz,
                        auth_err *err)
{
    const auth_code bad = AUTH_INVALID_ARGUMENT;
    if (strncmp(authz, "AWS ", 4) != 0)
        return auth_fail(err, bad, "the authorization header must start with \"AWS \"");
    const char *colon = strrchr(authz + 4, ':');
    if (!colon)
        return auth_fail(err, bad, "AWS authorization header is invalid. "
                         "Expected AwsAccessKeyId:signature");
    if (store_access_key(a, authz + 4, (size_t)(colon - authz - 4), bad, err) < 0 ||
        store_signature(a, colon + 1, bad, err) < 0)
        return -1;
    return parse_header_time(a, req, err);
}

static const char *query_param(const auth_query *q, const char *name, auth_err *err)
{
    size_t count;
    const char *v = auth_query_get(q, name, &count);
    if (count == 1) return v;
    if (count > 1)
        auth_fail(err, AUTH_QUERY_PARAMETERS_ERROR, "the query parameter %s is repeated", name);
    else
        auth_fail(err, AUTH_ACCESS_DENIED, "Query-string authentication requires the "
                  "Signature, Expires and AWSAccessKeyId parameters");
    return NULL;
}

static int parse_query(sigv2_auth *a, const auth_query *q, auth_err *err)
{
    const auth_code bad = AUTH_QUERY_PARAMETERS_ERROR;
    const char *key = query_param(q, "AWSAccessKeyId", err);
    const char *sig = key ? query_param(q, "Signature", err) : NULL;
    const char *exp = sig ? query_param(q, "Expires", err) : NULL;
    if (!exp) return -1;
    uint64_t t;
    cf_err cerr;
    if (numparse_str(exp, SIGV2_EXPIRES_LIMIT, NUMPARSE_LEADING_ZEROS, &t, &cerr) < 0)
        return auth_fail(err, bad, "Expires must be a Unix time in seconds");
    a->presigned = true;
    a->time = (time_t)t;
    if (store_access_key(a, key, strlen(key), bad, err) < 0) return -1;
    return store_signature(a, sig, bad, err);
}

int sigv2_parse(const auth_request *req, sigv2_auth *a, auth_err *err)
{
    memset(a, 0, sizeof *a);
    const char *authz = auth_request_header(req, "authorization");
    if (authz) return parse_header(a, req, authz, err);
    auth_query q;
    if (auth_query_load(req, &q, err) < 0) return -1;
    int rc = parse_query(a, &q, err);
    auth_query_free(&q);
    return rc;
}

static int check_time(const sigv2_auth *a, time_t now, auth_err *err)
{
    if (!a->presigned) {
        if (a->time > now + SIGV2_MAX_SKEW || a->time < now - SIGV2_MAX_SKEW)
            return auth_fail(err, AUTH_REQUEST_TIME_TOO_SKEWED,
                             "The difference between the request time and the "
                             "current time is too large.");
        return 0;
    }
    if (now > a->time) return auth_fail(err, AUTH_ACCESS_DENIED, "Request has expired");
    if (a->time > now + SIGV2_MAX_EXPIRES)
        return auth_fail(err, AUTH_QUERY_PARAMETERS_ERROR,
                         "Expires must be less than a week (604800 seconds) in the future");
    return 0;
}

int sigv2_check(const auth_request *req, const sigv2_auth *a,
                const char *virtual_bucket, const char *secret, time_t now,
                auth_err *err)
{
    if (check_time(a, now, err) < 0) return -1;
    char expected[SIGV2_SIG_B64_LEN + 1];
    if (compute_signature(req, virtual_bucket, a->presigned ? (int64_t)a->time : 0,
                          secret, expected, err) < 0)
        return -1;
    if (!auth_signature_equal(a->signature, expected))
        return auth_fail(err, AUTH_SIGNATURE_DOES_NOT_MATCH,
                         "The request signature we calculated does not match the "
                         "signature you provided. Check your key and signing method.");
    return 0;
}

int sigv2_sign(const auth_request *req, const char *virtual_bucket,
               const char *access_key, const char *secret, char *authz,
               size_t authz_cap, auth_err *err)
{
    char sig[SIGV2_SIG_B64_LEN + 1];
    if (compute_signature(req, virtual_bucket, 0, secret, sig, err) < 0) return -1;
    int n = snprintf(authz, authz_cap, "AWS %s:%s", access_key, sig);
    if (n < 0 || (size_t)n >= authz_cap)
        return auth_fail(err, AUTH_INVALID_ARGUMENT, "the Authorization buffer is too small");
    return 0;
}

int sigv2_presign(const auth_request *req, const char *virtual_bucket,
                  const char *access_key, const char *secret,
                  int64_t expires, char **query, auth_err *err)
{
    char sig[SIGV2_SIG_B64_LEN + 1];
    if (expires <= 0)
        return auth_fail(err, AUTH_INVALID_ARGUMENT, "expires must be a Unix time");
    if (compute_signature(req, virtual_bucket, expires, secret, sig, err) < 0) return -1;
    auth_buf b = {0};
    if (req->query && *req->query) {
        auth_buf_str(&b, req->query);
        auth_buf_char(&b, '&');
    }
    auth_buf_str(&b, "AWSAccessKeyId=");
    auth_buf_uri_encode(&b, access_key, strlen(access_key), false);
    auth_buf_str(&b, "&Signature=");
    auth_buf_uri_encode(&b, sig, strlen(sig), false);
    char tail[40];
    snprintf(tail, sizeof tail, "&Expires=%lld", (long long)expires);
    auth_buf_str(&b, tail);
    if (!auth_buf_ok(&b)) {
        auth_buf_free(&b);
        return auth_fail(err, AUTH_INTERNAL, "out of memory");
    }
    *query = b.s;
    return 0;
}
