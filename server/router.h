/*
 * server/router.h - from a raw request URI and Host header to "which S3
 * operation on which bucket and key".
 *
 * Contract: router_route fills r->raw_path, r->raw_query, r->params
 * (percent-decoded; '+' in the query means space), r->bucket, r->key
 * (percent-decoded, validated: a bucket follows the S3 naming rules, a key
 * is 1..1024 bytes of valid UTF-8 without NUL) and r->s3op (which S3
 * operation; s3_ops.h gives its s3_op). Virtual-host
 * style applies when the Host header is "<bucket>.<vhost_domain>".
 * Anything it cannot place gets an S3 error response (InvalidBucketName,
 * KeyTooLongError, InvalidArgument, NotImplemented for sub-resources coffer
 * does not implement, MethodNotAllowed) and returns -1.
 * ADMIN_PREFIX/... (common/adminapi.h) sets r->admin instead of an op.
 */
#ifndef SRV_ROUTER_H
#define SRV_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "server/request.h"

int router_route(s3_req *r);

/* Percent-decode s[0..n) into the pool with auth_percent_decode (the
 * decoder the signature check uses); NULL on a malformed escape or an
 * encoded NUL. plus_space: '+' decodes to ' ' (query strings). */
char *url_decode(pool *p, const char *s, size_t n, bool plus_space);

#endif
