/*
 * server/s3_common.h - pieces several S3 handlers share: the owner element,
 * request metadata headers -> stored headers, stored object -> response
 * headers, checksum and Content-MD5 request headers, integer arguments,
 * conditional-write headers, customer keys (SSE-C), body digests. Each
 * helper that can refuse the request sets the S3 error response itself
 * and returns -1, so handlers just return.
 */
#ifndef SRV_S3_COMMON_H
#define SRV_S3_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "server/request.h"
#include "common/checksum.h"

/* <Owner><ID>tenant</ID><DisplayName>tenant</DisplayName></Owner> */
void s3_write_owner(s3_req *r, const char *elem);

/* A customer key (SSE-C) as the request gave it. */
typedef struct s3_ssec {
    bool present;
    uint8_t *key;                    /* ST_SSEC_KEY_LEN bytes, req_secret_alloc'd */
    char key_md5[25];                /* base64 MD5 of the key, as sent */
} s3_ssec;

/* Content-Type, Content-Encoding (minus aws-chunked), Content-Disposition,
 * Content-Language, Cache-Control, Expires and x-amz-meta-* from the
 * request, as engine headers in the pool. User metadata values are stored
 * as UTF-8 text, RFC 2047 encoded words decoded (common/rfc2047.h); an
 * empty one is kept. MetadataTooLarge over 2 KiB of user metadata. */
int s3_request_meta(s3_req *r, st_header **out, size_t *n);

/* Headers describing a stored object: ETag, Last-Modified, Content-Type,
 * the stored metadata (response-* query overrides win; user metadata that
 * is not ASCII as RFC 2047 encoded words), the encryption (AES256, or the
 * customer key's algorithm and MD5 from k), Accept-Ranges,
 * x-amz-storage-class (a tier's name; none for STANDARD, as S3),
 * x-amz-restore, x-amz-tagging-count and, when send_checksum and the
 * client sent x-amz-checksum-mode: ENABLED, the checksum and its type (a
 * range gets none: the stored checksum covers the whole object). */
void s3_object_headers(s3_req *r, const st_object_info *info, bool send_checksum,
                       const s3_ssec *k);
/* x-amz-checksum-ALGO and, type not NULL, x-amz-checksum-type; nothing for
 * CKS_NONE or an empty value. */
void s3_checksum_headers(s3_req *r, cks_algo algo, const char *b64, const char *type);
/* "FULL_OBJECT" or "COMPOSITE" for a stored object. */
const char *s3_checksum_type(const st_object_info *info);
/* <ChecksumCRC32>...</ChecksumCRC32> etc. into b; nothing if none. */
void s3_checksum_xml(sbuf *b, const char *b64, cks_algo algo);

/* What checksum the client asked for: a value in a header, a trailer
 * announced by x-amz-trailer (value known after the body), or just an
 * algorithm (x-amz-sdk-checksum-algorithm). *trailer is the trailer's
 * header name when the value comes later. */
typedef struct s3_checksum_req {
    cks_algo algo;
    const char *value;               /* base64, from a header */
    const char *trailer;             /* lowercase header name */
} s3_checksum_req;
int s3_checksum_request(s3_req *r, s3_checksum_req *out);
/* The value to verify once the body is complete (header or trailer). */
const char *s3_checksum_value(s3_req *r, const s3_checksum_req *c);

/* Content-MD5: *present false if absent; InvalidDigest if malformed. */
int s3_content_md5(s3_req *r, uint8_t md5[16], bool *present);
/* A buffered body (DeleteObjects, PutBucketEncryption,
 * PutBucketLifecycleConfiguration, PutObjectTagging) must carry
 * Content-MD5 or an x-amz-checksum-* and match it: InvalidRequest when
 * neither was sent, BadDigest when it differs. */
int s3_check_body_digest(s3_req *r);

/* The request's bucket: 0 with *info filled, or -1 after answering with
 * the engine's error (NoSuchBucket, ...). */
int s3_bucket_load(s3_req *r, st_bucket_info *info);

/* A request body the XML reader or its operation's parser refused:
 * MalformedXML saying why, or InternalError when memory ran out. */
void s3_xml_refused(s3_req *r, const cf_err *err);

/* Integer query argument in [lo, hi] (0 <= lo <= hi), parsed by
 * common/numparse (digits only: no sign, space or overflow); default when
 * absent. InvalidArgument if malformed or out of range. */
int s3_int_param(s3_req *r, const char *name, long lo, long hi, long dflt, long *out);

/* "encoding-type": true for "url"; InvalidArgument for anything else. */
int s3_encoding_url(s3_req *r, bool *url);

/* x-amz-copy-source ("[/]bucket/key[?versionId=ID]", URL-encoded) into
 * decoded bucket and key and the version (NULL: the latest);
 * InvalidArgument if malformed, AccessDenied if the key may not read that
 * bucket. */
int s3_copy_source(s3_req *r, char **bucket, char **key, const char **version);
/* The x-amz-copy-source-if-* conditions against the source object;
 * PreconditionFailed if one fails. */
int s3_copy_conditions(s3_req *r, const st_object_info *src);
/* The versionId parameter (NULL if absent): "null" or 32 hex digits, else
 * InvalidArgument. */
int s3_version_param(s3_req *r, const char **version);
/* x-amz-version-id (when asked for, the version is not the null one, or
 * it is the null one of a bucket whose versioning was ever configured:
 * "null", as S3) and x-amz-delete-marker for a marker. */
void s3_version_headers(s3_req *r, const st_object_info *o, bool asked);
/* The storage class and tags a write sets (lifecycle.h), into out with
 * pool memory: x-amz-storage-class is STANDARD, a tier's name, or an AWS
 * class lifecycle.storage_class_map maps to one (else
 * InvalidStorageClass); x-amz-tagging is checked against S3's limits
 * (InvalidTag). copy: x-amz-tagging-directive COPY (the default) keeps
 * the source's tags, REPLACE takes x-amz-tagging. */
int s3_object_attrs(s3_req *r, bool copy, st_object_attrs *out);

/* A refused lifecycle, tagging or restore document (server/lcxml.h). */
struct lcxml_err;
void s3_lcxml_refused(s3_req *r, const struct lcxml_err *e);

/* Refuse SSE-KMS, website redirects and non-owner ACLs on writes
 * (NotImplemented): never store an object without what was asked.
 * x-amz-server-side-encryption may only be AES256 (InvalidArgument for an
 * unknown one), and not beside a customer key. (Storage classes and tags:
 * s3_object_attrs; object lock: s3_lock_headers.) */
int s3_check_write_headers(s3_req *r);
/* The conditional-write headers of a PutObject, CopyObject (for the
 * destination) or CompleteMultipartUpload: If-None-Match: * and If-Match:
 * ETAG (pointing into the request). If-None-Match with anything but "*",
 * or both at once: NotImplemented. */
int s3_write_cond(s3_req *r, st_write_cond *c);

/* The SSE-C headers (x-amz-server-side-encryption-customer-algorithm, -key,
 * -key-MD5; copy_source: the x-amz-copy-source-... variants) into k,
 * checked as S3 checks them: algorithm AES256
 * (InvalidEncryptionAlgorithmError), a base64 key of 32 bytes whose MD5 is
 * the one sent (InvalidArgument), and only over HTTPS (InvalidRequest)
 * unless sse_c.allow_http_on_loopback (coffer.json(5)). k->present is
 * false when none of them was sent. */
int s3_ssec_request(s3_req *r, bool copy_source, s3_ssec *k);
/* An engine failure of a call that was given k (CF_ENEEDKEY, CF_EBADKEY:
 * S3's answers, 400 and 403; an upload's part with another key than the
 * upload's: 400); anything else as resp_cf. */
void s3_ssec_failed(s3_req *r, const cf_err *err, const s3_ssec *k, bool upload);
/* Open or HEAD of a copy source failed: its error (a delete marker named
 * by version id is InvalidRequest, as S3 says; the rest as s3_ssec_failed
 * with k, the copy source's customer key). */
void s3_copy_source_failed(s3_req *r, const cf_err *err, const s3_ssec *k);
/* The answer headers of a write that used k: the customer key's
 * algorithm and MD5, or x-amz-server-side-encryption: AES256. */
void s3_sse_headers(s3_req *r, const s3_ssec *k);
/* x-amz-acl other than an owner-only canned ACL, or x-amz-grant-*:
 * NotImplemented (coffer has no grants to give). */
int s3_check_acl_headers(s3_req *r);

/* Continuation tokens: the hex of the last name delivered, opaque to
 * clients, free of characters that need escaping, checked on the way back
 * in (InvalidArgument if it is not one of ours). */
char *s3_token_encode(pool *p, const char *name);
int s3_token_decode(s3_req *r, const char *token, const char **name);

#endif
