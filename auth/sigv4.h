/*
 * auth/sigv4.h - AWS Signature Version 4 for S3: verify (server side) and
 * sign (client side), sharing one canonical-request builder.
 *
 * Verifying is two calls, because the secret depends on the access key:
 *
 *     sigv4_auth a;
 *     if (sigv4_parse(&req, "us-east-1", "s3", &a, &err) < 0) -> S3 error
 *     secret = lookup(a.access_key)  (none -> AUTH_INVALID_ACCESS_KEY_ID)
 *     if (sigv4_check(&req, &a, secret, time(NULL), &err) < 0) -> S3 error
 *
 * sigv4_parse reads either the Authorization header or the presigned query
 * (X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders,
 * -Signature), checks their syntax, the credential scope (wrong region ->
 * AuthorizationHeaderMalformed naming the expected region), the payload
 * mode from x-amz-content-sha256, and x-amz-decoded-content-length for
 * streaming uploads. sigv4_check enforces the time (15 minutes of skew for
 * headers; X-Amz-Expires, at most 7 days, for presigned URLs), derives the
 * signing key, rebuilds the signature and compares it in constant time.
 *
 * After a successful check, the sigv4_auth holds what the body needs:
 *   SIGV4_PAYLOAD_SIGNED: payload_hash is the SHA-256 (hex) the client
 *       claimed; the caller hashes the body and answers
 *       XAmzContentSHA256Mismatch if they differ.
 *   SIGV4_PAYLOAD_STREAMING*: the body is aws-chunked; hand the sigv4_auth
 *       to chunked_new (auth/chunked.h), which uses signature (the seed),
 *       signing_key, amz_date and scope to verify each chunk.
 *
 * Canonical form (S3 rules): the path is percent-decoded and re-encoded
 * once with only RFC 3986 unreserved bytes and '/' left bare (an escaped
 * "%2F" stays escaped); it is not normalised. The query is decoded, each
 * name and value re-encoded, and sorted by name then value. Header values
 * are trimmed, runs of spaces collapse to one, repeated headers are joined
 * with ','.
 *
 * sigv4_auth holds the derived signing key after sigv4_check: treat it as a
 * secret (never log it) and clear it with sigv4_auth_clear when done.
 */
#ifndef AUTH_SIGV4_H
#define AUTH_SIGV4_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "auth/auth.h"

#define SIGV4_MAX_SKEW 900          /* seconds of clock skew allowed */
#define SIGV4_MAX_EXPIRES 604800    /* presigned URLs: at most 7 days */
#define SIGV4_KEY_LEN 32
#define SIGV4_SIG_HEX_LEN 64
#define SIGV4_AMZ_DATE_LEN 16       /* "YYYYMMDDTHHMMSSZ" */

#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_STREAMING_PAYLOAD "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
#define SIGV4_STREAMING_PAYLOAD_TRAILER "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
#define SIGV4_STREAMING_UNSIGNED_TRAILER "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
#define SIGV4_EMPTY_SHA256 \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef enum sigv4_payload {
    SIGV4_PAYLOAD_UNSIGNED,             /* UNSIGNED-PAYLOAD (and presigned) */
    SIGV4_PAYLOAD_SIGNED,               /* hex SHA-256 of the whole body */
    SIGV4_PAYLOAD_STREAMING,            /* aws-chunked, signed chunks */
    SIGV4_PAYLOAD_STREAMING_TRAILER,    /* signed chunks + signed trailer */
    SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER, /* plain chunks + trailer */
} sigv4_payload;

/* True for the three aws-chunked modes. */
bool sigv4_payload_is_streaming(sigv4_payload p);

typedef struct sigv4_auth {
    bool presigned;
    char access_key[128];
    char scope[160];                /* "20130524/us-east-1/s3/aws4_request" */
    char scope_date[9];             /* "20130524" */
    char region[64];
    char service[32];
    char amz_date[SIGV4_AMZ_DATE_LEN + 1];
    time_t time;                    /* amz_date as a time */
    int64_t expires;                /* presigned: X-Amz-Expires; else 0 */
    char signed_headers[1024];      /* "host;x-amz-date", as sent */
    char signature[SIGV4_SIG_HEX_LEN + 1];   /* sent; the chunk seed */
    sigv4_payload payload;
    char payload_hash[80];          /* the x-amz-content-sha256 value used */
    int64_t decoded_length;         /* streaming: decoded size; else -1 */
    unsigned char signing_key[SIGV4_KEY_LEN]; /* set by sigv4_check */
} sigv4_auth;

/* Phase 1: parse and check the syntax of the signature pieces. region and
 * service are what this server expects in the credential scope. */
int sigv4_parse(const auth_request *req, const char *region,
                const char *service, sigv4_auth *a, auth_err *err);

/* Phase 2: time checks and the signature itself, given the secret. */
int sigv4_check(const auth_request *req, sigv4_auth *a, const char *secret,
                time_t now, auth_err *err);

/* Wipe the signing key and the rest of a. */
void sigv4_auth_clear(sigv4_auth *a);

/* ----- signing (clients) ----- */

typedef struct sigv4_credentials {
    const char *access_key;
    const char *secret;
    const char *region;
    const char *service;            /* "s3" */
} sigv4_credentials;

/* "YYYYMMDDTHHMMSSZ" for t (UTC) into out. */
void sigv4_format_time(time_t t, char out[SIGV4_AMZ_DATE_LEN + 1]);

/*
 * The Authorization header value for req, signing every header in req.
 * The caller puts "host", "x-amz-date" (sigv4_format_time(now)) and, for
 * S3, "x-amz-content-sha256" = payload_hash in req->headers first.
 * payload_hash is a hex SHA-256 or one of the literal modes above.
 * If state is not NULL it receives what chunk signing needs (the seed
 * signature, signing key, date and scope) for sigv4_sign_chunk.
 */
int sigv4_sign(const auth_request *req, const sigv4_credentials *cred,
               time_t now, const char *payload_hash, char *authz,
               size_t authz_cap, sigv4_auth *state, auth_err *err);

/*
 * A presigned URL's query string: req->query (raw, may be NULL; params are
 * not used) followed by the X-Amz-* parameters and X-Amz-Signature. Signs
 * the headers in req (normally only "host"); payload UNSIGNED-PAYLOAD.
 * *query is malloc'd; free it.
 */
int sigv4_presign(const auth_request *req, const sigv4_credentials *cred,
                  time_t now, int64_t expires, char **query, auth_err *err);

/* The signature of one aws-chunked chunk whose data hashes to data_sha256,
 * following prev_signature; state from sigv4_sign or sigv4_check. */
int sigv4_sign_chunk(const sigv4_auth *state, const char *prev_signature,
                     const unsigned char data_sha256[32],
                     char out[SIGV4_SIG_HEX_LEN + 1]);

/* The signature of the trailer block: canonical_trailers is
 * "name:value\n" per trailing header, sorted by name. */
int sigv4_sign_trailer(const sigv4_auth *state, const char *prev_signature,
                       const char *canonical_trailers,
                       char out[SIGV4_SIG_HEX_LEN + 1]);

/* ----- pieces, exposed for tests and for error responses ----- */

/* The canonical request for req, signed_headers ("a;b;c") and payload_hash.
 * With presigned, X-Amz-Signature is left out of the query. *out is
 * malloc'd. Fails with SignatureDoesNotMatch if a signed header is absent. */
int sigv4_canonical_request(const auth_request *req, const char *signed_headers,
                            const char *payload_hash, bool presigned,
                            char **out, auth_err *err);

#endif
