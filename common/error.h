/*
 * common/error.h - the one way coffer reports errors.
 *
 * Every function that can fail returns int: 0 on success, -1 on failure, and
 * fills the caller's `cf_err` with a code and a human message. The code is
 * what callers branch on (the S3 front end maps it to an S3 error); the
 * message is for people and logs. Messages never contain secrets: callers
 * must not format key material, secret keys or plaintext into them.
 *
 * Pattern:
 *     if (thing(..., err) < 0) return -1;            // pass it up unchanged
 *     return cf_fail(err, CF_EINVAL, "bad %s", x);    // raise a new one
 */
#ifndef CF_ERROR_H
#define CF_ERROR_H

#include <stddef.h>

typedef enum cf_code {
    CF_OK = 0,
    CF_EINVAL,      /* caller passed something malformed */
    CF_ENOMEM,      /* allocation failed */
    CF_EIO,         /* an I/O error on a disk or the index */
    CF_ENOSPC,      /* a disk or the index is full */
    CF_ECORRUPT,    /* data failed a CRC, a GCM tag or a structural check */
    CF_EQUORUM,     /* too few disks/shards to read or write */
    CF_ECONFIG,     /* configuration or on-disk format refused */
    CF_ECRYPTO,     /* a crypto library call failed, or wrong master key */
    CF_ENOBUCKET,   /* bucket does not exist (for this tenant) */
    CF_EBUCKETEXISTS, /* bucket already exists for this tenant */
    CF_ENOTEMPTY,   /* bucket is not empty */
    CF_ENOKEY,      /* object does not exist */
    CF_ENOUPLOAD,   /* multipart upload does not exist */
    CF_EBADPART,    /* a listed part is missing or its ETag differs */
    CF_EPARTORDER,  /* parts not in ascending order */
    CF_ETOOSMALL,   /* a non-last part is below the minimum size */
    CF_ERANGE,      /* requested range not satisfiable */
    CF_EDIGEST,     /* a client-supplied digest or checksum did not match */
    CF_ETOOLARGE,   /* object, part, key or metadata over a limit */
    CF_EEXISTS,     /* generic "already exists" (tenants, keys) */
    CF_ENOTFOUND,   /* generic "not found" (tenants, keys) */
    CF_EPRECOND,    /* a precondition (If-Match...) failed */
    CF_EDENIED,     /* the access key's permissions do not allow it */
    CF_ELOCKED,     /* the version is under object lock (retention, legal hold) */
    CF_ENOVERSION,  /* no such version of the object */
    CF_EMARKER,     /* the version is a delete marker */
    CF_EBUCKETSTATE, /* the bucket's configuration does not allow it */
    CF_ESTATE,      /* the object is not in the state the operation needs
                       (RestoreObject of an object in no tier) */
    CF_EINTERNAL,   /* a broken invariant: a bug */
    CF_ENOINDEX,    /* the index is missing, empty or not the disks' own */
    CF_ECONFLICT,   /* a conditional write met another write to the same key */
    CF_ENEEDKEY,    /* the object needs a customer key (SSE-C), or got one it does not use */
    CF_EBADKEY,     /* the customer key is not the one the object was stored with */
    CF_EQUOTA,      /* a write would take a tenant or bucket past its quota */
    CF_CODE_COUNT
} cf_code;

#define CF_ERRMSG_MAX 256

typedef struct cf_err {
    cf_code code;
    char msg[CF_ERRMSG_MAX];
} cf_err;

/* Record an error in `err` (which may be NULL) and return -1. */
int cf_fail(cf_err *err, cf_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like cf_fail, appending ": strerror(errnum)". Maps ENOSPC/EDQUOT to CF_ENOSPC. */
int cf_fail_errno(cf_err *err, cf_code code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A stable short name for a code, e.g. "ECORRUPT". */
const char *cf_code_name(cf_code code);

/* Reset an error to CF_OK with an empty message. */
void cf_err_clear(cf_err *err);

#endif
