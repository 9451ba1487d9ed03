/*
 * auth/auth.h - what every auth/ module shares: the plain description of a
 * request that the verifiers and signers read, the S3 error codes they
 * report, and a detector that tells which scheme a request uses.
 *
 * auth/ knows nothing of HTTP libraries or disks. The caller (the S3 front
 * end, or a client such as the cold-tier uploader) fills an auth_request
 * with pointers into its own memory; nothing here keeps them after a call
 * returns.
 *
 * Errors follow the project pattern (common/error.h): functions return 0 on
 * success, -1 on failure and fill an auth_err. Its code is an S3 error code
 * (auth_code_s3_name gives the XML <Code>, auth_code_http_status the status);
 * its message is safe to send to the client: it never holds a secret key,
 * a signing key or a signature we computed.
 */
#ifndef AUTH_AUTH_H
#define AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>

/* One header or one query parameter. */
typedef struct auth_pair {
    const char *name;
    const char *value;
} auth_pair;

/*
 * A request as received (verify) or about to be sent (sign).
 *   method   "GET", "PUT", ...
 *   path     the raw path as on the request line, still percent-encoded,
 *            without the query ("/bucket/my%20key"). Not normalised: S3
 *            keys may contain "//" and "..".
 *   query    the raw query string without '?', still percent-encoded
 *            ("list-type=2&prefix=a%2Fb"), or NULL; decoded here with
 *            auth_percent_decode ('+' is a space).
 *   params   alternatively, already decoded query parameters; used only
 *            when query is NULL. The S3 front end passes the parameters
 *            its handlers use, so the signature covers exactly them.
 *            A parameter without '=' has value "" (not NULL).
 *   headers  every request header, values as sent; a repeated header
 *            appears once per occurrence, in order. Must include "host".
 *            Verifiers match names in any case; signers sign the names
 *            as given, so clients pass them in lowercase.
 */
typedef struct auth_request {
    const char *method;
    const char *path;
    const char *query;
    const auth_pair *params;
    size_t nparams;
    const auth_pair *headers;
    size_t nheaders;
} auth_request;

/* Percent-decode s[0..n) into out, which has room for n + 1 bytes (the
 * result is never longer; it is NUL-terminated). With plus_space a '+'
 * means a space, as S3 reads a query string, and signs it: "a+b" and
 * "a%20b" are one value, "a%2Bb" another. Returns the decoded length, or
 * -1 for a malformed escape or an encoded NUL. This is the one decoder of
 * request escapes: the S3 front end's router uses it too, so the
 * parameters that are signed are decoded exactly as the ones handlers
 * use (the server passes its decoded parameters in auth_request.params). */
ptrdiff_t auth_percent_decode(const char *s, size_t n, bool plus_space, char *out);

/* The S3 errors auth/ can report. */
typedef enum auth_code {
    AUTH_OK = 0,
    AUTH_ACCESS_DENIED,             /* 403 AccessDenied (also expired presign) */
    AUTH_INVALID_ACCESS_KEY_ID,     /* 403 InvalidAccessKeyId (the caller's) */
    AUTH_SIGNATURE_DOES_NOT_MATCH,  /* 403 SignatureDoesNotMatch */
    AUTH_REQUEST_TIME_TOO_SKEWED,   /* 403 RequestTimeTooSkewed */
    AUTH_HEADER_MALFORMED,          /* 400 AuthorizationHeaderMalformed */
    AUTH_QUERY_PARAMETERS_ERROR,    /* 400 AuthorizationQueryParametersError */
    AUTH_MISSING_SECURITY_HEADER,   /* 400 MissingSecurityHeader */
    AUTH_INVALID_ARGUMENT,          /* 400 InvalidArgument */
    AUTH_INVALID_REQUEST,           /* 400 InvalidRequest */
    AUTH_MISSING_CONTENT_LENGTH,    /* 411 MissingContentLength */
    AUTH_INCOMPLETE_BODY,           /* 400 IncompleteBody */
    AUTH_CONTENT_SHA256_MISMATCH,   /* 400 XAmzContentSHA256Mismatch (caller's) */
    AUTH_INTERNAL,                  /* 500 InternalError (allocation, crypto) */
    AUTH_CODE_COUNT
} auth_code;

#define AUTH_ERRMSG_MAX 256

typedef struct auth_err {
    auth_code code;
    char msg[AUTH_ERRMSG_MAX];
} auth_err;

/* Record an error in err (which may be NULL) and return -1. */
int auth_fail(auth_err *err, auth_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The S3 <Code> for a code, e.g. "SignatureDoesNotMatch". */
const char *auth_code_s3_name(auth_code code);

/* The HTTP status S3 answers with for a code, e.g. 403. */
int auth_code_http_status(auth_code code);

/* Which scheme a request is signed with. */
typedef enum auth_scheme {
    AUTH_SCHEME_NONE,       /* anonymous: no Authorization, no signature params */
    AUTH_SCHEME_SIGV4,      /* "AWS4-HMAC-SHA256 ..." header or X-Amz-Algorithm */
    AUTH_SCHEME_SIGV2,      /* "AWS AKID:sig" header or AWSAccessKeyId+Signature */
    AUTH_SCHEME_UNKNOWN,    /* an Authorization header we do not understand */
} auth_scheme;

auth_scheme auth_detect_scheme(const auth_request *req);

/* The first value of a header (name matched in any case), or NULL. */
const char *auth_request_header(const auth_request *req, const char *name);

/* s percent-encoded as SigV4 canonicalises it (RFC 3986 unreserved bytes
 * bare, '/' too when keep_slash, everything else %XX): how clients spell
 * keys in paths and values in queries. malloc'd; NULL on ENOMEM. */
char *auth_uri_encode(const char *s, bool keep_slash);

#endif
