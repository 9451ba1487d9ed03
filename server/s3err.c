/*
 * server/s3err.c - one table, indexed by s3_error, so a code, its status
 * and its default message can never drift apart.
 */
#include "server/s3err.h"

#include "server/xml.h"

static const struct {
    const char *code;
    int status;
    const char *message;
} table[S3E_COUNT] = {
    [S3E_AccessDenied] = {"AccessDenied", 403, "Access Denied"},
    [S3E_AuthorizationHeaderMalformed] = {"AuthorizationHeaderMalformed", 400,
        "The authorization header is malformed"},
    [S3E_AuthorizationQueryParametersError] = {"AuthorizationQueryParametersError", 400,
        "The authorization query parameters are malformed"},
    [S3E_BadDigest] = {"BadDigest", 400,
        "The digest you specified did not match what we received"},
    [S3E_BucketAlreadyOwnedByYou] = {"BucketAlreadyOwnedByYou", 409,
        "Your previous request to create the named bucket succeeded and you already own it"},
    [S3E_BucketNotEmpty] = {"BucketNotEmpty", 409,
        "The bucket you tried to delete is not empty"},
    [S3E_ConditionalRequestConflict] = {"ConditionalRequestConflict", 409,
        "The conditional request cannot succeed due to a conflicting operation against "
        "this resource."},
    [S3E_EntityTooLarge] = {"EntityTooLarge", 400,
        "Your proposed upload exceeds the maximum allowed object size"},
    [S3E_EntityTooSmall] = {"EntityTooSmall", 400,
        "Your proposed upload is smaller than the minimum allowed object size"},
    [S3E_IllegalLocationConstraintException] = {"IllegalLocationConstraintException", 400,
        "The location constraint is not valid for this server"},
    [S3E_IncompleteBody] = {"IncompleteBody", 400,
        "You did not provide the number of bytes specified by the Content-Length HTTP header"},
    [S3E_InsufficientStorage] = {"InsufficientStorage", 507,
        "The server has no room left to store the object"},
    [S3E_InternalError] = {"InternalError", 500,
        "We encountered an internal error. Please try again."},
    [S3E_InvalidAccessKeyId] = {"InvalidAccessKeyId", 403,
        "The AWS Access Key Id you provided does not exist in our records"},
    [S3E_InvalidArgument] = {"InvalidArgument", 400, "Invalid Argument"},
    [S3E_InvalidBucketState] = {"InvalidBucketState", 409,
        "The request is not valid with the current state of the bucket"},
    [S3E_InvalidBucketName] = {"InvalidBucketName", 400,
        "The specified bucket is not valid"},
    [S3E_InvalidDigest] = {"InvalidDigest", 400,
        "The Content-MD5 you specified is not valid"},
    [S3E_InvalidEncryptionAlgorithmError] = {"InvalidEncryptionAlgorithmError", 400,
        "The Encryption request you specified is not valid. Supported value: AES256."},
    [S3E_InvalidObjectState] = {"InvalidObjectState", 403,
        "The operation is not valid for the object's storage class"},
    [S3E_InvalidPart] = {"InvalidPart", 400,
        "One or more of the specified parts could not be found, or its entity tag did not match"},
    [S3E_InvalidPartNumber] = {"InvalidPartNumber", 416,
                               "The requested partnumber is not satisfiable"},
    [S3E_InvalidPartOrder] = {"InvalidPartOrder", 400,
        "The list of parts was not in ascending order"},
    [S3E_InvalidRange] = {"InvalidRange", 416,
        "The requested range is not satisfiable"},
    [S3E_InvalidRequest] = {"InvalidRequest", 400, "Invalid Request"},
    [S3E_InvalidStorageClass] = {"InvalidStorageClass", 400,
        "The storage class you specified is not valid"},
    [S3E_InvalidTag] = {"InvalidTag", 400, "The tag provided was not a valid tag"},
    [S3E_KeyTooLongError] = {"KeyTooLongError", 400, "Your key is too long"},
    [S3E_MalformedXML] = {"MalformedXML", 400,
        "The XML you provided was not well-formed or did not validate against our published schema"},
    [S3E_MaxMessageLengthExceeded] = {"MaxMessageLengthExceeded", 400,
        "Your request was too big"},
    [S3E_MetadataTooLarge] = {"MetadataTooLarge", 400,
        "Your metadata headers exceed the maximum allowed metadata size"},
    [S3E_MethodNotAllowed] = {"MethodNotAllowed", 405,
        "The specified method is not allowed against this resource"},
    [S3E_MissingContentLength] = {"MissingContentLength", 411,
        "You must provide the Content-Length HTTP header"},
    [S3E_MissingSecurityHeader] = {"MissingSecurityHeader", 400,
        "Your request is missing a required header"},
    [S3E_NoSuchBucket] = {"NoSuchBucket", 404, "The specified bucket does not exist"},
    [S3E_NoSuchKey] = {"NoSuchKey", 404, "The specified key does not exist"},
    [S3E_NoSuchObjectLockConfiguration] = {"NoSuchObjectLockConfiguration", 404,
        "The specified object does not have a ObjectLock configuration"},
    [S3E_NoSuchLifecycleConfiguration] = {"NoSuchLifecycleConfiguration", 404,
        "The lifecycle configuration does not exist"},
    [S3E_NoSuchUpload] = {"NoSuchUpload", 404,
        "The specified multipart upload does not exist"},
    [S3E_NoSuchVersion] = {"NoSuchVersion", 404,
        "The specified version does not exist"},
    [S3E_NotImplemented] = {"NotImplemented", 501,
        "A header or query you provided implies functionality that is not implemented"},
    [S3E_NotModified] = {"NotModified", 304, "Not Modified"},
    [S3E_ObjectLockConfigurationNotFoundError] = {"ObjectLockConfigurationNotFoundError", 404,
        "Object Lock configuration does not exist for this bucket"},
    [S3E_PreconditionFailed] = {"PreconditionFailed", 412,
        "At least one of the preconditions you specified did not hold"},
    /* Not an AWS code (AWS has no storage quotas): Ceph RGW's, which
     * issue 13 asks for and clients show as an ordinary 403 */
    [S3E_QuotaExceeded] = {"QuotaExceeded", 403,
        "The write would take the tenant or bucket past its storage quota"},
    [S3E_RequestTimeTooSkewed] = {"RequestTimeTooSkewed", 403,
        "The difference between the request time and the server's time is too large"},
    [S3E_RestoreAlreadyInProgress] = {"RestoreAlreadyInProgress", 409,
        "Object restore is already in progress"},
    [S3E_ServiceUnavailable] = {"ServiceUnavailable", 503,
        "The service is temporarily unavailable. Please retry."},
    [S3E_SignatureDoesNotMatch] = {"SignatureDoesNotMatch", 403,
        "The request signature we calculated does not match the signature you provided"},
    [S3E_SlowDown] = {"SlowDown", 503, "Please reduce your request rate."},
    [S3E_XAmzContentSHA256Mismatch] = {"XAmzContentSHA256Mismatch", 400,
        "The provided 'x-amz-content-sha256' header does not match what was computed"},
};

const char *s3err_code(s3_error e)
{
    return table[e].code;
}

int s3err_status(s3_error e)
{
    return table[e].status;
}

const char *s3err_message(s3_error e)
{
    return table[e].message;
}

s3_error s3err_from_cf(cf_code code)
{
    switch (code) {
    case CF_EINVAL: return S3E_InvalidArgument;
    case CF_ENOBUCKET: return S3E_NoSuchBucket;
    case CF_EBUCKETEXISTS: return S3E_BucketAlreadyOwnedByYou;
    case CF_ENOTEMPTY: return S3E_BucketNotEmpty;
    case CF_ENOKEY: return S3E_NoSuchKey;
    case CF_ENOUPLOAD: return S3E_NoSuchUpload;
    case CF_EBADPART: return S3E_InvalidPart;
    case CF_EPARTORDER: return S3E_InvalidPartOrder;
    case CF_ETOOSMALL: return S3E_EntityTooSmall;
    case CF_ERANGE: return S3E_InvalidRange;
    case CF_EDIGEST: return S3E_BadDigest;
    case CF_ETOOLARGE: return S3E_EntityTooLarge;
    case CF_EPRECOND: return S3E_PreconditionFailed;
    case CF_ECONFLICT: return S3E_ConditionalRequestConflict;
    case CF_ENEEDKEY: return S3E_InvalidRequest;
    case CF_EBADKEY: return S3E_AccessDenied;
    case CF_EDENIED: return S3E_AccessDenied;
    case CF_ELOCKED: return S3E_AccessDenied;
    case CF_ENOVERSION: return S3E_NoSuchVersion;
    case CF_EMARKER: return S3E_MethodNotAllowed;
    case CF_EBUCKETSTATE: return S3E_InvalidBucketState;
    case CF_ESTATE: return S3E_InvalidObjectState;
    case CF_EQUOTA: return S3E_QuotaExceeded;
    case CF_ENOSPC: return S3E_InsufficientStorage;
    case CF_EQUORUM: return S3E_ServiceUnavailable;
    default: return S3E_InternalError;
    }
}

void s3err_xml(sbuf *b, s3_error e, const char *message, const char *resource,
               const char *request_id)
{
    s3err_xml_region(b, e, message, resource, request_id, NULL);
}

void s3err_xml_region(sbuf *b, s3_error e, const char *message, const char *resource,
                      const char *request_id, const char *region)
{
    if (!message || !*message)
        message = table[e].message;
    sbuf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
    xml_elem(b, "Code", table[e].code);
    xml_elem(b, "Message", message);
    if (region)
        xml_elem(b, "Region", region);
    xml_elem(b, "Resource", resource);
    xml_elem(b, "RequestId", request_id);
    sbuf_puts(b, "</Error>");
}
