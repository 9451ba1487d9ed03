/*
 * contrib/bench/s3req.h - an S3 endpoint and the signed headers of one
 * request to it, for coffer-bench. Signing is auth/'s SigV4 signer, the
 * same code cofferd verifies with and the cold-tier client signs with.
 *
 * Requests are path-style ("/bucket/key"); the caller passes paths and
 * queries already percent-encoded. Every header sent is signed except
 * Content-Length, Content-Type and Expect (curl manages those), since
 * cofferd refuses unsigned x-amz-* headers.
 */
#ifndef BM_S3REQ_H
#define BM_S3REQ_H

#include <curl/curl.h>
#include <stdint.h>

#include "auth/sigv4.h"
#include "common/error.h"

typedef struct s3_endpoint {
    char url[512];                   /* "http://host:port", no trailing '/' */
    char host[300];                  /* the Host header: "host:port" as given */
    char access_key[128];
    char secret[128];
    char region[64];
    sigv4_credentials cred;          /* points into the fields above */
} s3_endpoint;

/* url: http[s]://host[:port] (a trailing '/' is dropped; no path). */
int s3_endpoint_init(s3_endpoint *ep, const char *url, const char *access_key,
                     const char *secret, const char *region, cf_err *err);

typedef struct s3_signed {
    char url[2048];                  /* full URL to hand to curl */
    struct curl_slist *headers;      /* owned: s3_signed_free */
    sigv4_auth state;                /* what chunk signing needs */
} s3_signed;

/* Sign method path?query with payload_hash (hex SHA-256, UNSIGNED-PAYLOAD
 * or STREAMING-AWS4-HMAC-SHA256-PAYLOAD; for streaming, decoded_length is
 * the body's size before framing, else -1). */
int s3_sign(const s3_endpoint *ep, const char *method, const char *path,
            const char *query, const char *payload_hash, int64_t decoded_length,
            s3_signed *out, cf_err *err);
void s3_signed_free(s3_signed *s);

#endif
