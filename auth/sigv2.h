/*
 * auth/sigv2.h - AWS Signature Version 2 for S3 (HMAC-SHA1), verify and
 * sign. Older clients still use it: aws cli v1 presigns URLs with it
 * (AWSAccessKeyId, Signature, Expires) and s3cmd can sign with it.
 *
 * Same two phases as SigV4 (auth/sigv4.h): sigv2_parse finds the access
 * key and the signature in "Authorization: AWS <key>:<base64 sig>" or in
 * the presigned query; sigv2_check, given the secret, checks the time (15
 * minutes of skew for Date/x-amz-date; Expires for presigned URLs, at most
 * 7 days ahead) and the signature, compared in constant time.
 *
 * String to sign:
 *     METHOD \n Content-MD5 \n Content-Type \n Date \n
 *     x-amz-* headers, sorted, "name:v1,v2\n" each
 *     resource
 * Date is the Date header, empty when x-amz-date is sent (which then
 * appears among the x-amz-* lines), or Expires for presigned URLs. The
 * resource is the raw path as sent, prefixed with "/<bucket>" for
 * virtual-hosted requests (pass the bucket; NULL for path style), then
 * the S3 sub-resources present in the query (acl, uploads, uploadId,
 * partNumber, versionId, response-* overrides, ...), sorted by name, with
 * decoded values.
 */
#ifndef AUTH_SIGV2_H
#define AUTH_SIGV2_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "auth/auth.h"

#define SIGV2_MAX_SKEW 900
#define SIGV2_MAX_EXPIRES 604800
#define SIGV2_SIG_B64_LEN 28        /* base64 of 20 bytes */
#define SIGV2_EXPIRES_LIMIT 999999999999ULL /* a presigned Expires above: malformed */

typedef struct sigv2_auth {
    bool presigned;
    char access_key[128];
    char signature[SIGV2_SIG_B64_LEN + 1];
    time_t time;                    /* Date / x-amz-date; presigned: Expires */
} sigv2_auth;

int sigv2_parse(const auth_request *req, sigv2_auth *a, auth_err *err);

int sigv2_check(const auth_request *req, const sigv2_auth *a,
                const char *virtual_bucket, const char *secret, time_t now,
                auth_err *err);

/* The string to sign; expires > 0 makes it the presigned form. *out is
 * malloc'd. */
int sigv2_string_to_sign(const auth_request *req, const char *virtual_bucket,
                         int64_t expires, char **out, auth_err *err);

/* "AWS <key>:<sig>" for req, which must carry Date or x-amz-date. */
int sigv2_sign(const auth_request *req, const char *virtual_bucket,
               const char *access_key, const char *secret, char *authz,
               size_t authz_cap, auth_err *err);

/* req->query (raw, may be NULL) followed by AWSAccessKeyId, Signature and
 * Expires (an absolute Unix time). *query is malloc'd. */
int sigv2_presign(const auth_request *req, const char *virtual_bucket,
                  const char *access_key, const char *secret,
                  int64_t expires, char **query, auth_err *err);

#endif
