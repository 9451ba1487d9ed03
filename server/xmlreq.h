/*
 * server/xmlreq.h - the XML request bodies cofferd accepts, each parsed by
 * the hardened reader (common/xmlread.h) under bounds fitted to its
 * operation, into plain structs the handlers use:
 *
 *   DeleteObjects           <Delete>: at most 1,000 <Object>s (S3's limit)
 *   CompleteMultipartUpload <CompleteMultipartUpload>: 1..10,000 <Part>s
 *   CreateBucket            <CreateBucketConfiguration>: the region
 *   PutBucketEncryption     <ServerSideEncryptionConfiguration>: one rule
 *   PutBucketVersioning     <VersioningConfiguration>: Enabled or Suspended
 *   PutObjectLockConfiguration <ObjectLockConfiguration>: a default retention
 *   PutObjectRetention      <Retention>: a mode and a date, or neither
 *   PutObjectLegalHold      <LegalHold>: ON or OFF
 *
 * Namespaces are ignored (the reader strips prefixes and declarations), so
 * every body is accepted with or without S3's (Veeam sends retention with
 * none). Values are checked for their form here (MalformedXML); ranges
 * that have their own S3 error (a retention date in the past, a default
 * of 0 days) are the handler's.
 *
 * The bounds (elements, depth, text per element) are enforced while
 * parsing, so a body over them is refused at the byte that crosses them
 * (see the "limits and hostile input" table in doc/design.md). Every
 * refusal is CF_EINVAL or CF_ETOOLARGE with a message (the caller answers
 * MalformedXML for both, as S3 does), or CF_ENOMEM. Strings point into *doc, which the caller keeps until it
 * is done with them and frees with xmlread_free (on any return, *doc is
 * either NULL or a document to free); arrays come from the pool.
 */
#ifndef SRV_XMLREQ_H
#define SRV_XMLREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/xmlread.h"
#include "server/pool.h"
#include "storage/engine.h"

#define XMLREQ_DELETE_MAX 1000           /* objects in one DeleteObjects */

typedef struct xmlreq_object {
    const char *key;                     /* as sent: length and UTF-8 unchecked */
    const char *version_id;              /* NULL if absent */
} xmlreq_object;

typedef struct xmlreq_delete {
    bool quiet;
    xmlreq_object *objects;
    size_t nobjects;                     /* 1..XMLREQ_DELETE_MAX */
} xmlreq_delete;

int xmlreq_delete_parse(const char *body, size_t len, pool *p, xmlread_doc **doc,
                        xmlreq_delete *out, cf_err *err);

/* Parts in document order; part numbers 1..ST_MAX_PARTS (ordering and
 * ETags are the engine's to check). */
int xmlreq_complete_parse(const char *body, size_t len, pool *p, xmlread_doc **doc,
                          st_complete_part **parts, size_t *nparts, cf_err *err);

/* The default encryption rule: SSEAlgorithm AES256, aws:kms or
 * aws:kms:dsse (the caller refuses the KMS ones), its KMSMasterKeyID (or
 * NULL) and BucketKeyEnabled. */
typedef struct xmlreq_encryption {
    const char *algorithm;
    const char *kms_key;
    bool bucket_key;
} xmlreq_encryption;
int xmlreq_encryption_parse(const char *body, size_t len, xmlread_doc **doc,
                            xmlreq_encryption *out, cf_err *err);

/* The LocationConstraint, "" if absent or if the body is empty (only white
 * space): a CreateBucket without configuration. */
int xmlreq_location_parse(const char *body, size_t len, xmlread_doc **doc,
                          const char **region, cf_err *err);

/* Status Enabled or Suspended (ST_VERSIONING_*); MfaDelete may be sent
 * only as Disabled (coffer has no MFA: CF_ENOTFOUND for Enabled, which the
 * caller answers NotImplemented). */
int xmlreq_versioning_parse(const char *body, size_t len, xmlread_doc **doc, int *status,
                            cf_err *err);

typedef struct xmlreq_lock_config {
    bool has_rule;                       /* a default retention is given */
    int mode;                            /* ST_LOCK_GOVERNANCE or _COMPLIANCE */
    uint32_t days, years;                /* exactly one is set (> 0 unchecked) */
} xmlreq_lock_config;
/* ObjectLockEnabled must be Enabled; a Rule holds one DefaultRetention
 * with a Mode and exactly one of Days and Years (digits, < 2^31). */
int xmlreq_lock_config_parse(const char *body, size_t len, xmlread_doc **doc,
                             xmlreq_lock_config *out, cf_err *err);

/* A Mode (ST_LOCK_*) and a RetainUntilDate (unix ms), both or neither
 * (mode ST_LOCK_NONE: the retention is to be removed). */
int xmlreq_retention_parse(const char *body, size_t len, xmlread_doc **doc, int *mode,
                           int64_t *until_ms, cf_err *err);

/* Status ON or OFF (ST_HOLD_ON, ST_HOLD_OFF). */
int xmlreq_legal_hold_parse(const char *body, size_t len, xmlread_doc **doc, int *hold,
                            cf_err *err);

/* GOVERNANCE or COMPLIANCE (case as S3: upper) -> ST_LOCK_*; 0 if neither. */
int xmlreq_lock_mode(const char *s);

/* An ISO 8601 date and time as S3 sends them in retention (XML and
 * x-amz-object-lock-retain-until-date): YYYY-MM-DDTHH:MM:SS, optional
 * fraction (1..9 digits, kept to the millisecond), then Z or +HH:MM /
 * -HH:MM; years 1970..9999. -1 if it is anything else. */
int xmlreq_iso8601(const char *s, int64_t *unix_ms);

#endif
