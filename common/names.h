/*
 * common/names.h - the shape of the names and secrets every module checks:
 * tenant names, bucket names, access key ids, secret keys, bearer tokens
 * and tier names. One copy of each rule, so that the engine (which stores
 * them), cofferd's router, configuration and admin API, the credential
 * files and `coffer` all accept exactly the same.
 *
 *   tenant      1..64 characters [a-z0-9-]
 *   bucket      S3's rules: 3..63 characters [a-z0-9.-], a letter or digit
 *               at both ends, no "..", ".-" or "-.", not an IPv4 address,
 *               no "xn--" prefix nor "-s3alias" suffix
 *   access key  16..32 characters [A-Za-z0-9] (AWS: at least 16 word
 *               characters; 32 is what the index keeps)
 *   secret      16..64 printable ASCII characters, no space
 *   token       16..128 characters [A-Za-z0-9-._~+/=] (a bearer token:
 *               RFC 6750's b64token; the metrics token)
 *   tier        1..32 characters [A-Z0-9_-], not one of AWS's storage
 *               class names (a tier's name is a storage class clients send)
 *   bucket      S3's rules: 3..63 characters [a-z0-9.-], a letter or digit
 *               first and last, no ".." or ".-" or "-.", not an IPv4
 *               address, no "xn--" prefix or "-s3alias" suffix (the S3
 *               front end and the admin API's quotas)
 *
 * Pure functions: thread-safe.
 */
#ifndef CF_NAMES_H
#define CF_NAMES_H

#include <stdbool.h>

#define NAMES_TENANT_MAX 64
#define NAMES_BUCKET_MAX 63
#define NAMES_AK_MIN 16
#define NAMES_AK_MAX 32
#define NAMES_SK_MIN 16
#define NAMES_SK_MAX 64
#define NAMES_TOKEN_MIN 16
#define NAMES_TOKEN_MAX 128
#define NAMES_TIER_MAX 32
#define NAMES_BUCKET_MAX 63

bool names_tenant_ok(const char *s);
bool names_bucket_ok(const char *s);
bool names_access_key_ok(const char *s);
bool names_secret_ok(const char *s);
bool names_token_ok(const char *s);
bool names_tier_ok(const char *s);

#endif
