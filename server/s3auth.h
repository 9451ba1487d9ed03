/*
 * server/s3auth.h - who is asking, and is the body what they signed.
 *
 * Contract:
 *  - s3auth_authenticate(r) runs once the headers are in: it finds the
 *    signature (SigV4 header or presigned query; SigV2 likewise), looks the
 *    access key up (unknown: InvalidAccessKeyId), verifies the signature
 *    with the key's secret, and sets r->tenant and r->perm (its policy,
 *    server/perm.h). Requests
 *    to /admin/v1 are accepted only with the admin credential from the
 *    configuration; the admin credential is refused for S3 calls.
 *    Anonymous requests get AccessDenied. On failure the error response is
 *    set and -1 returned. It also records the body framing: aws-chunked
 *    bodies (r->content_length becomes the decoded length) and the claimed
 *    payload SHA-256.
 *  - s3auth_feed(r, ...) takes raw body bytes and passes the payload bytes
 *    (aws-chunked framing and chunk signatures removed and verified) to
 *    sink, with the payload hash they must go into (a chunk's or a signed
 *    payload's SHA-256; NULL when nothing is signed): the sink feeds it
 *    (cks_update, or cks_update2 in one pass with its own MD5), s3auth
 *    never reads the bytes a second time. s3auth_finish(r) checks the end of the body: the final chunk,
 *    the trailer and its signature, the payload hash
 *    (XAmzContentSHA256Mismatch) and the decoded length (IncompleteBody).
 *  - s3auth_trailer(r, "x-amz-checksum-crc32") gives a trailing header's
 *    value after s3auth_finish, or NULL.
 *  - s3auth_free(r) wipes and frees the state (signing keys included).
 */
#ifndef SRV_S3AUTH_H
#define SRV_S3AUTH_H

#include <stddef.h>

#include "server/request.h"

typedef void (*s3auth_sink)(s3_req *r, const char *p, size_t n, cks_state *hash);

int s3auth_authenticate(s3_req *r);
int s3auth_feed(s3_req *r, const char *p, size_t n, s3auth_sink sink);
int s3auth_finish(s3_req *r);
const char *s3auth_trailer(const s3_req *r, const char *lname);
void s3auth_free(s3_req *r);

#endif
