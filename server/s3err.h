/*
 * server/s3err.h - the S3 error vocabulary: every error code cofferd sends,
 * its HTTP status and a default message, plus the mapping from engine error
 * codes (common/error.h) to S3 codes.
 *
 * Contract: the message sent is never empty (Debian's aws cli 2.9 crashes
 * on an empty <Message>); s3err_xml writes the whole error document with
 * Code, Message, Resource and RequestId.
 */
#ifndef SRV_S3ERR_H
#define SRV_S3ERR_H

#include "common/error.h"
#include "server/sbuf.h"

typedef enum s3_error {
    S3E_AccessDenied,
    S3E_AuthorizationHeaderMalformed,
    S3E_AuthorizationQueryParametersError,
    S3E_BadDigest,
    S3E_BucketAlreadyOwnedByYou,
    S3E_BucketNotEmpty,
    S3E_ConditionalRequestConflict,
    S3E_EntityTooLarge,
    S3E_EntityTooSmall,
    S3E_IllegalLocationConstraintException,
    S3E_IncompleteBody,
    S3E_InsufficientStorage,
    S3E_InternalError,
    S3E_InvalidAccessKeyId,
    S3E_InvalidArgument,
    S3E_InvalidBucketState,
    S3E_InvalidBucketName,
    S3E_InvalidDigest,
    S3E_InvalidEncryptionAlgorithmError,
    S3E_InvalidObjectState,
    S3E_InvalidPart,
    S3E_InvalidPartNumber,
    S3E_InvalidPartOrder,
    S3E_InvalidRange,
    S3E_InvalidRequest,
    S3E_InvalidStorageClass,
    S3E_InvalidTag,
    S3E_KeyTooLongError,
    S3E_MalformedXML,
    S3E_MaxMessageLengthExceeded,
    S3E_MetadataTooLarge,
    S3E_MethodNotAllowed,
    S3E_MissingContentLength,
    S3E_MissingSecurityHeader,
    S3E_NoSuchBucket,
    S3E_NoSuchKey,
    S3E_NoSuchObjectLockConfiguration,
    S3E_NoSuchLifecycleConfiguration,
    S3E_NoSuchUpload,
    S3E_NoSuchVersion,
    S3E_NotImplemented,
    S3E_NotModified,
    S3E_ObjectLockConfigurationNotFoundError,
    S3E_PreconditionFailed,
    S3E_QuotaExceeded,
    S3E_RequestTimeTooSkewed,
    S3E_RestoreAlreadyInProgress,
    S3E_ServiceUnavailable,
    S3E_SignatureDoesNotMatch,
    S3E_SlowDown,
    S3E_XAmzContentSHA256Mismatch,
    S3E_COUNT
} s3_error;

const char *s3err_code(s3_error e);
int s3err_status(s3_error e);
const char *s3err_message(s3_error e);
/* The S3 error for an engine failure; S3E_InternalError for anything that
 * is not the client's fault (the caller logs those). */
s3_error s3err_from_cf(cf_code code);
void s3err_xml(sbuf *b, s3_error e, const char *message, const char *resource,
               const char *request_id);
/* The same with <Region> after the Message, as S3 adds to
 * AuthorizationHeaderMalformed: s3cmd re-signs for that region. */
void s3err_xml_region(sbuf *b, s3_error e, const char *message, const char *resource,
                      const char *request_id, const char *region);

#endif
