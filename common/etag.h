/*
 * common/etag.h - comparing entity tags as S3 does: the one copy of the
 * rule, used by the front end (If-Match and If-None-Match on reads, the
 * x-amz-copy-source-if-* conditions) and by the engine (conditional
 * writes, the parts a CompleteMultipartUpload lists).
 *
 * Contract: a stored ETag is quoted ("\"hex\"" or "\"hex-N\""). A given
 * one may come with or without its quotes; etag_list_matches also takes a
 * comma-separated list whose items may carry a weak prefix (W/) and where
 * "*" matches any ETag. Pure functions: thread-safe, no allocation.
 */
#ifndef CF_ETAG_H
#define CF_ETAG_H

#include <stdbool.h>
#include <stddef.h>

/* Is given (quotes optional, exactly one ETag) the stored one? */
bool etag_equal(const char *stored, const char *given);
/* Does the If-Match style list contain the stored ETag (or "*")? */
bool etag_list_matches(const char *list, const char *stored);

#endif
