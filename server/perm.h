/*
 * server/perm.h - what the request's access key may do (doc/design.md,
 * "Keys that cannot destroy"): the one place that reads a key's
 * permissions, its bucket scope and its delete prefixes (r->perm, set by
 * s3auth.c).
 *
 * Contract: perm_check runs in the dispatcher after authentication, for
 * every S3 operation: the operation's class (s3_op.act) against the key's
 * permissions, its bucket (and a DeleteObject's key) against the scope.
 * Handlers that act on more than the request line names (DeleteObjects'
 * keys, a copy's source, a PutObjectLegalHold that clears a hold, a
 * retention change that bypasses governance) ask the finer functions
 * below. Whether a write overwrites is not decided here: the engine
 * decides it in the write's commit (st_write_opts.no_overwrite, from
 * perm_may(r, ST_PERM_OVERWRITE)). Every refusal is 403 AccessDenied set
 * here, before anything changed.
 */
#ifndef SRV_PERM_H
#define SRV_PERM_H

#include <stdbool.h>

#include "server/request.h"

/* The operation's class and bucket scope; -1 with AccessDenied. */
int perm_check(s3_req *r);
/* Does the key hold every permission in perms? */
bool perm_may(const s3_req *r, unsigned perms);
/* Is bucket within the key's scope? */
bool perm_bucket(const s3_req *r, const char *bucket);
/* May the key delete key (the delete permission, or one of its delete
 * prefixes)? */
bool perm_delete(const s3_req *r, const char *key);
/* Refuse (AccessDenied naming what is missing) unless the key holds
 * perms: 0, or -1 with the response set. */
int perm_require(s3_req *r, unsigned perms);

#endif
