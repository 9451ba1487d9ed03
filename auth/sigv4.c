/*
 * auth/sigv4.c - SigV4 verification and signing (contract in sigv4.h).
 *
 * Both directions meet in compute_signature(): it builds the canonical
 * request from the request and the signed-header list, hashes it into the
 * string to sign and MACs that with the signing key. The verifier fills a
 * sigv4_auth from what the client sent and compares; the signer fills one
 * from its credentials and formats the result. The canonical request is the
 * only place that knows S3's encoding rules, so the two cannot drift.
 *
 * Parsing is strict and bounded: every field has a fixed-size home in
 * sigv4_auth, and anything longer, missing, repeated or malformed is an
 * error naming the field (never echoing secrets).
 */
#include "auth/sigv4.h"
#include "auth/internal.h"
#include "common/hex.h"
#include "common/numparse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"

bool sigv4_payload_is_streaming(sigv4_payload p)
{
    return p == SIGV4_PAYLOAD_STREAMING || p == SIGV4_PAYLOAD_STREAMING_TRAILER ||
           p == SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
}

/* ----- canonical request ----- */

/* Decode each escape of the raw path and re-encode every byte once; a '/'
 * that arrived escaped stays escaped, so "a%2Fb" never signs as "a/b". */
static void add_canonical_uri(auth_buf *b, const char *path)
{
    if (!path || !*path) {
        auth_buf_char(b, '/');
        return;
    }
    for (const char *p = path; *p; p++) {
        char c = *p;
        int hi, lo;
        if (c == '%' && (hi = hex_value(p[1])) >= 0 &&
            (lo = hex_value(p[2])) >= 0) {
            c = (char)(hi << 4 | lo);
            p += 2;
            auth_buf_uri_encode(b, &c, 1, false);
        } else {
            auth_buf_uri_encode(b, &c, 1, true);
        }
    }
}

typedef struct encoded_pair {
    char *name, *value;
} encoded_pair;

static int compare_pairs(const void *x, const void *y)
{
    const encoded_pair *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    return c ? c : strcmp(a->value, b->value);
}

static char *encode_string(const char *s)
{
    auth_buf b = {0};
    auth_buf_uri_encode(&b, s, strlen(s), false);
    if (!auth_buf_ok(&b) || !b.s) {
        free(b.s);
        return b.failed ? NULL : strdup("");
    }
    return b.s;
}

static void free_pairs(encoded_pair *pairs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(pairs[i].name);
        free(pairs[i].value);
    }
    free(pairs);
}

/* Encode the decoded parameters, sort them, join with '&'. */
static int add_canonical_query(auth_buf *b, const auth_query *q, bool presigned)
{
    encoded_pair *pairs = calloc(q->n ? q->n : 1, sizeof *pairs);
    if (!pairs) return -1;
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < q->n && rc == 0; i++) {
        if (presigned && strcmp(q->pairs[i].name, "X-Amz-Signature") == 0) continue;
        pairs[n].name = encode_string(q->pairs[i].name);
        pairs[n].value = encode_string(q->pairs[i].value);
        n++;
        if (!pairs[n - 1].name || !pairs[n - 1].value) rc = -1;
    }
    if (rc == 0) {
        qsort(pairs, n, sizeof *pairs, compare_pairs);
        for (size_t i = 0; i < n; i++) {
            if (i) auth_buf_char(b, '&');
            auth_buf_str(b, pairs[i].name);
            auth_buf_char(b, '=');
            auth_buf_str(b, pairs[i].value);
        }
    }
    free_pairs(pairs, n);
    return rc;
}

/* A header value trimmed, with each run of spaces/tabs collapsed to one. */
static void add_trimmed_value(auth_buf *b, const char *v)
{
    while (*v == ' ' || *v == '\t') v++;
    bool pending_space = false;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            pending_space = true;
            continue;
        }
        if (pending_space) auth_buf_char(b, ' ');
        pending_space = false;
        auth_buf_char(b, *v);
    }
}

/* "name:v1,v2\n" for one signed header; -1 if the request lacks it. */
static int add_canonical_header(auth_buf *b, const auth_request *req,
                                const char *name, size_t len)
{
    bool found = false;
    auth_buf_add(b, name, len);
    auth_buf_char(b, ':');
    for (size_t i = 0; i < req->nheaders; i++) {
        const auth_pair *h = &req->headers[i];
        if (strlen(h->name) != len || strncasecmp(h->name, name, len) != 0) continue;
        if (found) auth_buf_char(b, ',');
        add_trimmed_value(b, h->value);
        found = true;
    }
    auth_buf_char(b, '\n');
    return found ? 0 : -1;
}

int sigv4_canonical_request(const auth_request *req, const char *signed_headers,
                            const char *payload_hash, bool presigned,
                            char **out, auth_err *err)
{
    auth_query q;
    if (auth_query_load(req, &q, err) < 0) return -1;
    auth_buf b = {0};
    auth_buf_str(&b, req->method);
    auth_buf_char(&b, '\n');
    add_canonical_uri(&b, req->path);
    auth_buf_char(&b, '\n');
    int rc = add_canonical_query(&b, &q, presigned);
    auth_query_free(&q);
    auth_buf_char(&b, '\n');
    for (const char *p = signed_headers; rc == 0 && *p;) {
        size_t len = strcspn(p, ";");
        if (add_canonical_header(&b, req, p, len) < 0) {
            auth_buf_free(&b);
            return auth_fail(err, AUTH_SIGNATURE_DOES_NOT_MATCH,
                             "signed header '%.*s' is not in the request",
                             (int)(len > 64 ? 64 : len), p);
        }
        p += len + (p[len] == ';');
    }
    auth_buf_char(&b, '\n');
    auth_buf_str(&b, signed_headers);
    auth_buf_char(&b, '\n');
    auth_buf_str(&b, payload_hash);
    if (rc < 0 || !auth_buf_ok(&b)) {
        auth_buf_free(&b);
        return auth_fail(err, AUTH_INTERNAL, "out of memory building the canonical request");
    }
    *out = b.s;
    return 0;
}

/* ----- signature ----- */

/* The last signing key this thread derived, and what it came from (the
 * secret, scope date, region and service, NUL-separated): a client signs
 * a day's requests with one key, and deriving it is four HMACs, each
 * with an OpenSSL context of its own (1.3% of cofferd's CPU in an rclone
 * copy, two requests per file). Per thread, so no lock; a longer input
 * than fits is derived every time. */
#define SIGNING_FROM_MAX 320
static _Thread_local struct {
    size_t len;                      /* 0: none */
    char from[SIGNING_FROM_MAX];
    unsigned char key[SIGV4_KEY_LEN];
} last_key;

static int derive_signing_key(sigv4_auth *a, const char *secret)
{
    char from[SIGNING_FROM_MAX];
    int n = snprintf(from, sizeof from, "%s%c%s%c%s%c%s", secret, 0, a->scope_date, 0,
                     a->region, 0, a->service);
    size_t flen = n > 0 && (size_t)n < sizeof from ? (size_t)n : 0;
    if (flen && last_key.len == flen && CRYPTO_memcmp(last_key.from, from, flen) == 0) {
        memcpy(a->signing_key, last_key.key, sizeof a->signing_key);
        OPENSSL_cleanse(from, sizeof from);
        return 0;
    }
    size_t slen = strlen(secret);
    unsigned char *k0 = malloc(slen + 4);
    if (!k0) return -1;
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, slen);
    unsigned char k[SIGV4_KEY_LEN];
    const char *steps[] = {a->scope_date, a->region, a->service, TERMINATOR};
    int rc = auth_hmac_once("SHA256", k0, slen + 4, steps[0], strlen(steps[0]),
                            k, sizeof k);
    for (int i = 1; i < 4 && rc > 0; i++)
        rc = auth_hmac_once("SHA256", k, sizeof k, steps[i], strlen(steps[i]),
                            k, sizeof k);
    OPENSSL_cleanse(k0, slen + 4);
    free(k0);
    if (rc > 0) {
        memcpy(a->signing_key, k, sizeof k);
        last_key.len = flen;
        memcpy(last_key.from, from, flen);
        memcpy(last_key.key, k, sizeof k);
    }
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(from, sizeof from);
    return rc > 0 ? 0 : -1;
}

static int hmac_hex(const sigv4_auth *a, const char *msg, size_t len,
                    char out[SIGV4_SIG_HEX_LEN + 1])
{
    unsigned char mac[SIGV4_KEY_LEN];
    if (auth_hmac_once("SHA256", a->signing_key, sizeof a->signing_key, msg,
                       len, mac, sizeof mac) < 0)
        return -1;
    auth_hex(mac, sizeof mac, out);
    return 0;
}

/* Canonical request -> string to sign -> hex signature, with a's key. */
static int compute_signature(const auth_request *req, const sigv4_auth *a,
                             char out[SIGV4_SIG_HEX_LEN + 1], auth_err *err)
{
    char *creq;
    if (sigv4_canonical_request(req, a->signed_headers, a->payload_hash,
                                a->presigned, &creq, err) < 0)
        return -1;
    unsigned char digest[AUTH_SHA256_LEN];
    char digest_hex[2 * AUTH_SHA256_LEN + 1];
    size_t clen = strlen(creq);
    int rc = auth_sha256(creq, clen, digest);
    OPENSSL_cleanse(creq, clen);     /* signed headers may hold a customer key */
    free(creq);
    auth_hex(digest, sizeof digest, digest_hex);
    char sts[512];
    int len = snprintf(sts, sizeof sts, ALGORITHM "\n%s\n%s\n%s", a->amz_date,
                       a->scope, digest_hex);
    if (rc < 0 || len < 0 || (size_t)len >= sizeof sts ||
        hmac_hex(a, sts, (size_t)len, out) < 0)
        return auth_fail(err, AUTH_INTERNAL, "could not compute the signature");
    return 0;
}

int auth_chunk_string_to_sign(const sigv4_auth *a, const char *kind,
                              const char *prev, const char *tail, char *out,
                              size_t cap)
{
    int len = snprintf(out, cap, "%s\n%s\n%s\n%s\n%s", kind, a->amz_date,
                       a->scope, prev, tail);
    return len < 0 || (size_t)len >= cap ? -1 : len;
}

int sigv4_sign_chunk(const sigv4_auth *state, const char *prev_signature,
                     const unsigned char data_sha256[32],
                     char out[SIGV4_SIG_HEX_LEN + 1])
{
    char tail[2 * 64 + 2];
    memcpy(tail, SIGV4_EMPTY_SHA256 "\n", 65);
    auth_hex(data_sha256, 32, tail + 65);
    char sts[AUTH_CHUNK_STS_MAX];
    int len = auth_chunk_string_to_sign(state, "AWS4-HMAC-SHA256-PAYLOAD",
                                        prev_signature, tail, sts, sizeof sts);
    return len < 0 ? -1 : hmac_hex(state, sts, (size_t)len, out);
}

int sigv4_sign_trailer(const sigv4_auth *state, const char *prev_signature,
                       const char *canonical_trailers,
                       char out[SIGV4_SIG_HEX_LEN + 1])
{
    unsigned char digest[AUTH_SHA256_LEN];
    char tail[2 * AUTH_SHA256_LEN + 1];
    if (auth_sha256(canonical_trailers, strlen(canonical_trailers), digest) < 0)
        return -1;
    auth_hex(digest, sizeof digest, tail);
    char sts[AUTH_CHUNK_STS_MAX];
    int len = auth_chunk_string_to_sign(state, "AWS4-HMAC-SHA256-TRAILER",
                                        prev_signature, tail, sts, sizeof sts);
    return len < 0 ? -1 : hmac_hex(state, sts, (size_t)len, out);
}

/* ----- parsing ----- */

/* Copy src[0..n) into a fixed field; -1 if empty or too long. */
static int copy_field(char *dst, size_t cap, const char *src, size_t n)
{
    if (n == 0 || n >= cap) return -1;
    memcpy(dst, src, n);
    dst[n] = 0;
    return 0;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return n > 0;
}

/* "AKID/20130524/us-east-1/s3/aws4_request" */
static int parse_credential(sigv4_auth *a, const char *cred, const char *region,
                            const char *service, auth_code bad, auth_err *err)
{
    const char *parts[5];
    size_t lens[5];
    const char *p = cred;
    for (int i = 0; i < 5; i++) {
        parts[i] = p;
        lens[i] = strcspn(p, "/");
        p += lens[i];
        if (i < 4 && *p++ != '/')
            return auth_fail(err, bad, "the Credential must have the form "
                             "<key>/<date>/<region>/<service>/aws4_request");
    }
    if (*p || copy_field(a->access_key, sizeof a->access_key, parts[0], lens[0]) < 0)
        return auth_fail(err, bad, "the Credential is malformed");
    if (lens[1] != 8 || !all_digits(parts[1], 8) ||
        copy_field(a->scope_date, sizeof a->scope_date, parts[1], 8) < 0)
        return auth_fail(err, bad, "the Credential date is malformed");
    if (copy_field(a->region, sizeof a->region, parts[2], lens[2]) < 0 ||
        copy_field(a->service, sizeof a->service, parts[3], lens[3]) < 0)
        return auth_fail(err, bad, "the Credential region or service is malformed");
    if (lens[4] != strlen(TERMINATOR) || strncmp(parts[4], TERMINATOR, lens[4]) != 0)
        return auth_fail(err, bad, "the Credential must end in aws4_request");
    if (strcmp(a->region, region) != 0)
        return auth_fail(err, bad, "the region '%s' is wrong; expecting '%s'",
                         a->region, region);
    if (strcmp(a->service, service) != 0)
        return auth_fail(err, bad, "the service '%s' is wrong; expecting '%s'",
                         a->service, service);
    snprintf(a->scope, sizeof a->scope, "%s/%s/%s/" TERMINATOR, a->scope_date,
             a->region, a->service);
    return 0;
}

/* A ';' list of lowercase header names that includes host. */
static int parse_signed_headers(sigv4_auth *a, const char *s, size_t n,
                                auth_code bad, auth_err *err)
{
    if (copy_field(a->signed_headers, sizeof a->signed_headers, s, n) < 0)
        return auth_fail(err, bad, "SignedHeaders is empty or too long");
    bool has_host = false;
    for (const char *p = a->signed_headers; *p;) {
        size_t len = strcspn(p, ";");
        if (len == 0)
            return auth_fail(err, bad, "SignedHeaders has an empty name");
        for (size_t i = 0; i < len; i++)
            if (isupper((unsigned char)p[i]) || isspace((unsigned char)p[i]))
                return auth_fail(err, bad, "SignedHeaders must be lowercase names");
        has_host |= len == 4 && memcmp(p, "host", 4) == 0;
        p += len;
        if (*p == ';' && !*++p)
            return auth_fail(err, bad, "SignedHeaders has an empty name");
    }
    if (!has_host)
        return auth_fail(err, bad, "SignedHeaders must include host");
    return 0;
}

static int parse_signature(sigv4_auth *a, const char *s, size_t n,
                           auth_code bad, auth_err *err)
{
    if (n != SIGV4_SIG_HEX_LEN)
        return auth_fail(err, bad, "the Signature must be 64 hex digits");
    memcpy(a->signature, s, n);
    a->signature[n] = 0;
    if (!auth_is_lower_hex(a->signature, n))
        return auth_fail(err, bad, "the Signature must be 64 lowercase hex digits");
    return 0;
}

/* x-amz-date, or failing that the Date header, as the request time. */
static int parse_request_time(sigv4_auth *a, const char *amz_date,
                              const char *http_date, auth_code bad, auth_err *err)
{
    time_t t;
    if (amz_date) {
        if (auth_parse_iso8601_basic(amz_date, &t) < 0)
            return auth_fail(err, bad, "X-Amz-Date must have the form YYYYMMDDTHHMMSSZ");
    } else if (!http_date) {
        return auth_fail(err, AUTH_ACCESS_DENIED,
                         "AWS authentication requires a valid Date or x-amz-date header");
    } else if (auth_parse_http_date(http_date, &t) < 0) {
        return auth_fail(err, AUTH_ACCESS_DENIED, "the Date header is malformed");
    }
    a->time = t;
    sigv4_format_time(t, a->amz_date);
    if (strncmp(a->amz_date, a->scope_date, 8) != 0)
        return auth_fail(err, bad, "the Credential date '%s' does not match the request date",
                         a->scope_date);
    return 0;
}

static const struct {
    const char *literal;
    sigv4_payload mode;
} payload_literals[] = {
    {SIGV4_UNSIGNED_PAYLOAD, SIGV4_PAYLOAD_UNSIGNED},
    {SIGV4_STREAMING_PAYLOAD, SIGV4_PAYLOAD_STREAMING},
    {SIGV4_STREAMING_PAYLOAD_TRAILER, SIGV4_PAYLOAD_STREAMING_TRAILER},
    {SIGV4_STREAMING_UNSIGNED_TRAILER, SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER},
};

static int parse_decoded_length(sigv4_auth *a, const char *v, auth_err *err)
{
    if (!v)
        return auth_fail(err, AUTH_MISSING_CONTENT_LENGTH,
                         "aws-chunked uploads need x-amz-decoded-content-length");
    uint64_t n;
    cf_err cerr;
    if (numparse_str(v, INT64_MAX, 0, &n, &cerr) < 0)
        return auth_fail(err, AUTH_INVALID_ARGUMENT,
                         "x-amz-decoded-content-length is not a valid length");
    a->decoded_length = (int64_t)n;
    return 0;
}

static int parse_payload(sigv4_auth *a, const auth_request *req, auth_err *err)
{
    const char *v = auth_request_header(req, "x-amz-content-sha256");
    a->decoded_length = -1;
    if (!v && a->presigned) v = SIGV4_UNSIGNED_PAYLOAD;
    if (!v)
        return auth_fail(err, AUTH_MISSING_SECURITY_HEADER,
                         "Missing required header for this request: x-amz-content-sha256");
    if (strlen(v) >= sizeof a->payload_hash)
        return auth_fail(err, AUTH_INVALID_ARGUMENT, "x-amz-content-sha256 is not valid");
    strcpy(a->payload_hash, v);
    if (auth_is_lower_hex(v, SIGV4_SIG_HEX_LEN)) {
        a->payload = SIGV4_PAYLOAD_SIGNED;
        return 0;
    }
    for (size_t i = 0; i < sizeof payload_literals / sizeof payload_literals[0]; i++) {
        if (strcmp(v, payload_literals[i].literal) != 0) continue;
        a->payload = payload_literals[i].mode;
        if (!sigv4_payload_is_streaming(a->payload)) return 0;
        if (a->presigned)
            return auth_fail(err, AUTH_INVALID_REQUEST,
                             "presigned requests cannot use aws-chunked payloads");
        return parse_decoded_length(a, auth_request_header(req, "x-amz-decoded-content-length"), err);
    }
    return auth_fail(err, AUTH_INVALID_ARGUMENT,
                     "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* "
                     "value or a lowercase hex SHA-256");
}

/* One "Key=value" component of the Authorization header. */
typedef struct header_component {
    const char *key;
    const char *value;
    size_t len;
} header_component;

/* Split "Credential=..., SignedHeaders=..., Signature=..." into comps. */
static int split_authorization(const char *s, header_component comps[3], auth_err *err)
{
    static const char *keys[3] = {"Credential", "SignedHeaders", "Signature"};
    for (int i = 0; i < 3; i++) comps[i] = (header_component){keys[i], NULL, 0};
    while (*s) {
        while (*s == ' ' || *s == ',') s++;
        if (!*s) break;
        size_t len = strcspn(s, ",");
        const char *eq = memchr(s, '=', len);
        if (!eq)
            return auth_fail(err, AUTH_HEADER_MALFORMED,
                             "the authorization header is malformed: '%.*s' has no '='",
                             (int)(len > 40 ? 40 : len), s);
        size_t klen = (size_t)(eq - s), vlen = len - klen - 1;
        while (vlen && eq[vlen] == ' ') vlen--;
        int i = 0;
        while (i < 3 && !(strlen(keys[i]) == klen && strncmp(s, keys[i], klen) == 0)) i++;
        if (i == 3 || comps[i].value)
            return auth_fail(err, AUTH_HEADER_MALFORMED,
                             "the authorization header has an unknown or repeated "
                             "component '%.*s'", (int)(klen > 40 ? 40 : klen), s);
        comps[i].value = eq + 1;
        comps[i].len = vlen;
        s += len;
    }
    for (int i = 0; i < 3; i++)
        if (!comps[i].value)
            return auth_fail(err, AUTH_HEADER_MALFORMED,
                             "the authorization header is missing %s", keys[i]);
    return 0;
}

static int parse_header_auth(const auth_request *req, const char *authz,
                             const char *region, const char *service,
                             sigv4_auth *a, auth_err *err)
{
    const auth_code bad = AUTH_HEADER_MALFORMED;
    if (strncmp(authz, ALGORITHM " ", strlen(ALGORITHM) + 1) != 0)
        return auth_fail(err, bad, "the authorization header must start with " ALGORITHM);
    header_component c[3];
    if (split_authorization(authz + strlen(ALGORITHM) + 1, c, err) < 0) return -1;
    char cred[512];
    if (copy_field(cred, sizeof cred, c[0].value, c[0].len) < 0)
        return auth_fail(err, bad, "the Credential is empty or too long");
    if (parse_credential(a, cred, region, service, bad, err) < 0 ||
        parse_signed_headers(a, c[1].value, c[1].len, bad, err) < 0 ||
        parse_signature(a, c[2].value, c[2].len, bad, err) < 0)
        return -1;
    return parse_request_time(a, auth_request_header(req, "x-amz-date"),
                              auth_request_header(req, "date"), bad, err);
}

/* The one value of a presigned parameter; -1 if missing or repeated. */
static const char *presign_param(const auth_query *q, const char *name, auth_err *err)
{
    size_t count;
    const char *v = auth_query_get(q, name, &count);
    if (count == 1) return v;
    auth_fail(err, AUTH_QUERY_PARAMETERS_ERROR,
              count ? "the query parameter %s is repeated"
                    : "the query parameter %s is missing", name);
    return NULL;
}

static int parse_expires(sigv4_auth *a, const char *v, auth_err *err)
{
    uint64_t n;
    cf_err cerr;
    if (numparse_str(v, SIGV4_MAX_EXPIRES, NUMPARSE_LEADING_ZEROS, &n, &cerr) == 0) {
        a->expires = (int64_t)n;
        return 0;
    }
    if (cerr.code != CF_ETOOLARGE)
        return auth_fail(err, AUTH_QUERY_PARAMETERS_ERROR,
                         "X-Amz-Expires should be a number");
    return auth_fail(err, AUTH_QUERY_PARAMETERS_ERROR,
                     "X-Amz-Expires must be less than a week (in seconds) that is; "
                     "the maximum expires is 604800 seconds");
}

static int parse_presigned(const auth_query *q, const char *region,
                           const char *service, sigv4_auth *a, auth_err *err)
{
    const auth_code bad = AUTH_QUERY_PARAMETERS_ERROR;
    const char *alg = presign_param(q, "X-Amz-Algorithm", err);
    const char *cred = alg ? presign_param(q, "X-Amz-Credential", err) : NULL;
    const char *date = cred ? presign_param(q, "X-Amz-Date", err) : NULL;
    const char *exp = date ? presign_param(q, "X-Amz-Expires", err) : NULL;
    const char *sh = exp ? presign_param(q, "X-Amz-SignedHeaders", err) : NULL;
    const char *sig = sh ? presign_param(q, "X-Amz-Signature", err) : NULL;
    if (!sig) return -1;
    if (strcmp(alg, ALGORITHM) != 0)
        return auth_fail(err, bad, "X-Amz-Algorithm only supports \"" ALGORITHM "\"");
    if (parse_credential(a, cred, region, service, bad, err) < 0 ||
        parse_signed_headers(a, sh, strlen(sh), bad, err) < 0 ||
        parse_signature(a, sig, strlen(sig), bad, err) < 0 ||
        parse_expires(a, exp, err) < 0)
        return -1;
    return parse_request_time(a, date, NULL, bad, err);
}

int sigv4_parse(const auth_request *req, const char *region,
                const char *service, sigv4_auth *a, auth_err *err)
{
    memset(a, 0, sizeof *a);
    const char *authz = auth_request_header(req, "authorization");
    if (authz) {
        if (parse_header_auth(req, authz, region, service, a, err) < 0) return -1;
    } else {
        auth_query q;
        if (auth_query_load(req, &q, err) < 0) return -1;
        a->presigned = true;
        int rc = parse_presigned(&q, region, service, a, err);
        auth_query_free(&q);
        if (rc < 0) return -1;
    }
    return parse_payload(a, req, err);
}

/* ----- checking ----- */

static int check_time(const sigv4_auth *a, time_t now, auth_err *err)
{
    if (!a->presigned) {
        if (a->time > now + SIGV4_MAX_SKEW || a->time < now - SIGV4_MAX_SKEW)
            return auth_fail(err, AUTH_REQUEST_TIME_TOO_SKEWED,
                             "The difference between the request time and the "
                             "current time is too large.");
        return 0;
    }
    if (a->time > now + SIGV4_MAX_SKEW)
        return auth_fail(err, AUTH_ACCESS_DENIED, "Request is not valid yet");
    if (now > a->time + a->expires)
        return auth_fail(err, AUTH_ACCESS_DENIED, "Request has expired");
    return 0;
}

/* True if name is one of the ';'-separated names in list. */
static bool list_contains(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ";");
        if (len == n && strncasecmp(p, name, n) == 0) return true;
        p += len + (p[len] == ';');
    }
    return false;
}

/* Every x-amz-* header must be signed, or a holder of a presigned URL (or
 * a replayed request) could add metadata, ACLs or copy sources. The one
 * exception is x-amz-content-sha256: its value is the canonical request's
 * last line, so it is covered either way. */
static int check_amz_headers_signed(const auth_request *req, const sigv4_auth *a,
                                    auth_err *err)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *name = req->headers[i].name;
        if (strncasecmp(name, "x-amz-", 6) != 0 ||
            strcasecmp(name, "x-amz-content-sha256") == 0 ||
            list_contains(a->signed_headers, name))
            continue;
        return auth_fail(err, AUTH_ACCESS_DENIED,
                         "There were headers present in the request which were "
                         "not signed: %.64s", name);
    }
    return 0;
}

int sigv4_check(const auth_request *req, sigv4_auth *a, const char *secret,
                time_t now, auth_err *err)
{
    if (check_time(a, now, err) < 0 || check_amz_headers_signed(req, a, err) < 0)
        return -1;
    if (derive_signing_key(a, secret) < 0)
        return auth_fail(err, AUTH_INTERNAL, "could not derive the signing key");
    char expected[SIGV4_SIG_HEX_LEN + 1];
    if (compute_signature(req, a, expected, err) < 0) return -1;
    if (!auth_signature_equal(a->signature, expected))
        return auth_fail(err, AUTH_SIGNATURE_DOES_NOT_MATCH,
                         "The request signature we calculated does not match the "
                         "signature you provided. Check your key and signing method.");
    return 0;
}

void sigv4_auth_clear(sigv4_auth *a)
{
    OPENSSL_cleanse(a, sizeof *a);
}

/* ----- signing ----- */

void sigv4_format_time(time_t t, char out[SIGV4_AMZ_DATE_LEN + 1])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

/* Every header name of req, sorted, without repeats, joined with ';'. */
static int list_signed_headers(const auth_request *req, sigv4_auth *a, auth_err *err)
{
    const char **names = calloc(req->nheaders ? req->nheaders : 1, sizeof *names);
    if (!names) return auth_fail(err, AUTH_INTERNAL, "out of memory");
    for (size_t i = 0; i < req->nheaders; i++) names[i] = req->headers[i].name;
    qsort(names, req->nheaders, sizeof *names, auth_compare_strings);
    size_t len = 0;
    int rc = 0;
    for (size_t i = 0; i < req->nheaders && rc == 0; i++) {
        if (i && strcmp(names[i], names[i - 1]) == 0) continue;
        int n = snprintf(a->signed_headers + len, sizeof a->signed_headers - len,
                         "%s%s", len ? ";" : "", names[i]);
        if (n < 0 || (size_t)n >= sizeof a->signed_headers - len) rc = -1;
        else len += (size_t)n;
    }
    free(names);
    if (rc < 0) return auth_fail(err, AUTH_INVALID_ARGUMENT, "too many headers to sign");
    return 0;
}

/* Fill the scope, date and signing key for signing at time now. */
static int prepare_signer(sigv4_auth *a, const sigv4_credentials *cred,
                          time_t now, const char *payload_hash, auth_err *err)
{
    memset(a, 0, sizeof *a);
    a->time = now;
    sigv4_format_time(now, a->amz_date);
    memcpy(a->scope_date, a->amz_date, 8);
    if (copy_field(a->access_key, sizeof a->access_key, cred->access_key, strlen(cred->access_key)) < 0 ||
        copy_field(a->region, sizeof a->region, cred->region, strlen(cred->region)) < 0 ||
        copy_field(a->service, sizeof a->service, cred->service, strlen(cred->service)) < 0 ||
        copy_field(a->payload_hash, sizeof a->payload_hash, payload_hash, strlen(payload_hash)) < 0)
        return auth_fail(err, AUTH_INVALID_ARGUMENT, "a credential field is empty or too long");
    snprintf(a->scope, sizeof a->scope, "%s/%s/%s/" TERMINATOR, a->scope_date,
             a->region, a->service);
    if (derive_signing_key(a, cred->secret) < 0)
        return auth_fail(err, AUTH_INTERNAL, "could not derive the signing key");
    return 0;
}

int sigv4_sign(const auth_request *req, const sigv4_credentials *cred,
               time_t now, const char *payload_hash, char *authz,
               size_t authz_cap, sigv4_auth *state, auth_err *err)
{
    sigv4_auth a;
    if (prepare_signer(&a, cred, now, payload_hash, err) < 0 ||
        list_signed_headers(req, &a, err) < 0 ||
        compute_signature(req, &a, a.signature, err) < 0) {
        sigv4_auth_clear(&a);
        return -1;
    }
    int n = snprintf(authz, authz_cap,
                     ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                     a.access_key, a.scope, a.signed_headers, a.signature);
    if (state) *state = a;
    sigv4_auth_clear(&a);
    if (n < 0 || (size_t)n >= authz_cap)
        return auth_fail(err, AUTH_INVALID_ARGUMENT, "the Authorization buffer is too small");
    return 0;
}

/* Append "&name=" and value percent-encoded to the query being built. */
static void add_query_param(auth_buf *b, const char *name, const char *value)
{
    if (b->len) auth_buf_char(b, '&');
    auth_buf_str(b, name);
    auth_buf_char(b, '=');
    auth_buf_uri_encode(b, value, strlen(value), false);
}

int sigv4_presign(const auth_request *req, const sigv4_credentials *cred,
                  time_t now, int64_t expires, char **query, auth_err *err)
{
    if (expires < 1 || expires > SIGV4_MAX_EXPIRES)
        return auth_fail(err, AUTH_INVALID_ARGUMENT, "expires must be 1..604800 seconds");
    sigv4_auth a;
    if (prepare_signer(&a, cred, now, SIGV4_UNSIGNED_PAYLOAD, err) < 0 ||
        list_signed_headers(req, &a, err) < 0) {
        sigv4_auth_clear(&a);
        return -1;
    }
    a.presigned = true;
    char credential[sizeof a.access_key + sizeof a.scope + 1], exp[24];
    snprintf(credential, sizeof credential, "%s/%s", a.access_key, a.scope);
    snprintf(exp, sizeof exp, "%lld", (long long)expires);
    auth_buf b = {0};
    if (req->query && *req->query) auth_buf_str(&b, req->query);
    add_query_param(&b, "X-Amz-Algorithm", ALGORITHM);
    add_query_param(&b, "X-Amz-Credential", credential);
    add_query_param(&b, "X-Amz-Date", a.amz_date);
    add_query_param(&b, "X-Amz-Expires", exp);
    add_query_param(&b, "X-Amz-SignedHeaders", a.signed_headers);
    auth_request signed_req = *req;
    signed_req.query = b.s;
    int rc = auth_buf_ok(&b) ? compute_signature(&signed_req, &a, a.signature, err)
                             : auth_fail(err, AUTH_INTERNAL, "out of memory");
    if (rc == 0) add_query_param(&b, "X-Amz-Signature", a.signature);
    sigv4_auth_clear(&a);
    if (rc == 0 && !auth_buf_ok(&b)) rc = auth_fail(err, AUTH_INTERNAL, "out of memory");
    if (rc < 0) {
        auth_buf_free(&b);
        return -1;
    }
    *query = b.s;
    return 0;
}
