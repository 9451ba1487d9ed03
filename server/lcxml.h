/*
 * server/lcxml.h - the lifecycle feature's client documents, read by the
 * hardened XML reader (common/xmlread.h) under their own bounds:
 *
 *   LifecycleConfiguration  PutBucketLifecycleConfiguration: up to 1,000
 *                           rules, validated as S3 validates them, with
 *                           the actions on versions (noncurrent expiration
 *                           and transitions, ExpiredObjectDeleteMarker)
 *   Tagging                 PutObjectTagging
 *   RestoreRequest          RestoreObject
 *   x-amz-tagging           the tag set of PUT, copy and multipart create
 *                           (URL-query encoded: k1=v1&k2=v2)
 *
 * and the rules model the lifecycle worker evaluates (lcxml_match and
 * lcxml_due), so that a configuration is read one way only, whether it is
 * being stored or applied.
 *
 * A refused document gets the S3 error the caller answers with (code)
 * and a message that names the rule ("Rule 'old-packs': ..."; rules
 * without an ID are named by their position). Strings point into *doc
 * (free it with xmlread_free on any return; NULL or a document) or into
 * the pool; arrays come from the pool. No global state: thread-safe.
 */
#ifndef SRV_LCXML_H
#define SRV_LCXML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/xmlread.h"
#include "server/pool.h"
#include "storage/engine.h"

#define LCXML_MAX_RULES 1000
#define LCXML_MAX_ID 255

/* The S3 error a refused document gets. */
typedef enum lcxml_code {
    LCXML_MALFORMED,                     /* MalformedXML */
    LCXML_INVALID_ARGUMENT,              /* InvalidArgument */
    LCXML_INVALID_REQUEST,               /* InvalidRequest */
    LCXML_INVALID_TAG,                   /* InvalidTag */
    LCXML_NOT_IMPLEMENTED,               /* NotImplemented */
    LCXML_NO_MEMORY,                     /* InternalError */
} lcxml_code;

typedef struct lcxml_err {
    lcxml_code code;
    char msg[CF_ERRMSG_MAX];
} lcxml_err;

/* When an action applies: after days since the object's creation (days
 * counted in lifecycle.day_seconds), or from a date (midnight UTC). */
typedef struct lcxml_when {
    bool set;
    bool by_date;
    int64_t days;
    int64_t date_s;                      /* unix seconds */
} lcxml_when;

typedef struct lcxml_transition {
    lcxml_when when;
    const char *storage_class;           /* a tier's name (checked by the caller) */
} lcxml_transition;

/* NoncurrentVersionExpiration or one NoncurrentVersionTransition: when
 * (NoncurrentDays after the version became noncurrent) and how many of
 * the newest noncurrent versions are kept all the same. */
typedef struct lcxml_noncurrent {
    lcxml_when when;                     /* days only (never a date) */
    int64_t keep;                        /* NewerNoncurrentVersions; 0: none kept */
    const char *storage_class;           /* transitions: a tier's name */
} lcxml_noncurrent;

typedef struct lcxml_filter {
    const char *prefix;                  /* "" matches every key */
    st_header *tags;                     /* every one must be on the object */
    size_t ntags;
    bool has_gt, has_lt;
    uint64_t size_gt, size_lt;           /* strict bounds */
} lcxml_filter;

typedef struct lcxml_rule {
    const char *id;                      /* "" if none was given */
    char name[LCXML_MAX_ID + 16];        /* for messages: 'id' or #N */
    bool enabled;
    lcxml_filter filter;
    lcxml_when expiration;
    lcxml_transition *transitions;
    size_t ntransitions;
    int64_t abort_days;                  /* AbortIncompleteMultipartUpload; 0: none */
    bool expire_marker;                  /* ExpiredObjectDeleteMarker true */
    lcxml_noncurrent nc_expiration;      /* .when.set: NoncurrentVersionExpiration */
    lcxml_noncurrent *nc_transitions;    /* NoncurrentVersionTransition, several */
    size_t nnc_transitions;
} lcxml_rule;

typedef struct lcxml_config {
    lcxml_rule *rules;
    size_t nrules;
} lcxml_config;

/* PutBucketLifecycleConfiguration's body, with or without S3's namespace. */
int lcxml_lifecycle_parse(const char *body, size_t len, pool *p, xmlread_doc **doc,
                          lcxml_config *out, lcxml_err *err);

/* Does the rule's filter select this object? */
bool lcxml_match(const lcxml_filter *f, const char *key, uint64_t size,
                 const st_header *tags, size_t ntags);
/* When an action applies to an object created at mtime_ms (unix ms), with
 * a day of day_ms; INT64_MAX if never. */
int64_t lcxml_due_ms(const lcxml_when *w, int64_t mtime_ms, int64_t day_ms);
/* When a noncurrent action applies to a version that became noncurrent at
 * noncurrent_ms and has `newer` noncurrent object versions newer than it;
 * INT64_MAX if never (not set, or the version is one of those kept). */
int64_t lcxml_noncurrent_due_ms(const lcxml_noncurrent *n, int64_t noncurrent_ms,
                                int64_t newer, int64_t day_ms);

/* <Tagging><TagSet><Tag><Key/><Value/></Tag>...: checked against S3's
 * limits (InvalidTag) as well. */
int lcxml_tagging_parse(const char *body, size_t len, pool *p, xmlread_doc **doc,
                        st_header **tags, size_t *ntags, lcxml_err *err);
/* x-amz-tagging: "k1=v1&k2=v2", URL-encoded ("" is no tags). */
int lcxml_tagging_header(const char *value, pool *p, st_header **tags, size_t *ntags,
                         lcxml_err *err);

/* <RestoreRequest><Days>N</Days>...: the days (>= 1). SELECT requests
 * are NotImplemented. */
int lcxml_restore_parse(const char *body, size_t len, xmlread_doc **doc, int *days,
                        lcxml_err *err);

#endif
