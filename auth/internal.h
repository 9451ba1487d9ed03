/*
 * auth/internal.h - helpers shared by the auth/ modules; not for callers
 * outside auth/.
 *
 * Crypto: the SHA-256/SHA-1 digests and the HMAC algorithm are fetched from
 * OpenSSL once per process (the first use), because an implicit fetch on
 * every call costs more than hashing a short string. An HMAC context keeps
 * its key, so code that signs many messages with one key (the chunk
 * decoder) makes one context and reuses it.
 *
 * Text: a growable string buffer, hex, the S3 flavour of percent-encoding,
 * and the decoded view of a request's query string.
 */
#ifndef AUTH_INTERNAL_H
#define AUTH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "auth/auth.h"

#define AUTH_SHA256_LEN 32
#define AUTH_SHA1_LEN 20

/* The cached digests; NULL only if OpenSSL lacks them. */
const EVP_MD *auth_md_sha256(void);

/* A new HMAC context keyed with key, for digest "SHA256" or "SHA1". */
EVP_MAC_CTX *auth_hmac_new(const char *digest, const void *key, size_t keylen);

/* HMAC of data under the context's key; returns the MAC length or -1. */
int auth_hmac_run(EVP_MAC_CTX *ctx, const void *data, size_t len,
                  unsigned char *out, size_t outcap);

/* One-shot HMAC; returns the MAC length or -1. */
int auth_hmac_once(const char *digest, const void *key, size_t keylen,
                   const void *data, size_t len, unsigned char *out,
                   size_t outcap);

/* SHA-256 of data; 0 or -1. */
int auth_sha256(const void *data, size_t len, unsigned char out[AUTH_SHA256_LEN]);

/* Lowercase hex of n bytes into out (2n+1 bytes): common/hex.h's
 * hex_encode with auth's buffer convention. */
void auth_hex(const unsigned char *in, size_t n, char *out);

/* qsort comparator for an array of const char * (strcmp order). */
int auth_compare_strings(const void *x, const void *y);

/* True if s is exactly n lowercase hex digits. */
bool auth_is_lower_hex(const char *s, size_t n);

/* Compare a received signature with a computed one in constant time. */
bool auth_signature_equal(const char *received, const char *computed);

/* A growable NUL-terminated string, wiped when it grows and when freed (a
 * canonical request holds signed header values, a customer key among
 * them). Appends fail (return -1) on ENOMEM and
 * leave the buffer marked failed; check once at the end with auth_buf_ok. */
typedef struct auth_buf {
    char *s;
    size_t len, cap;
    bool failed;
} auth_buf;

int auth_buf_add(auth_buf *b, const char *s, size_t n);
int auth_buf_str(auth_buf *b, const char *s);
int auth_buf_char(auth_buf *b, char c);
/* Append bytes percent-encoded: RFC 3986 unreserved kept, everything else
 * %XX (uppercase); '/' kept when keep_slash. */
int auth_buf_uri_encode(auth_buf *b, const char *s, size_t n, bool keep_slash);
bool auth_buf_ok(const auth_buf *b);
void auth_buf_free(auth_buf *b);

/* The request's query as decoded pairs (from req->query or req->params).
 * Strings are owned by the list; free with auth_query_free. */
typedef struct auth_query {
    auth_pair *pairs;
    size_t n;
} auth_query;

int auth_query_load(const auth_request *req, auth_query *q, auth_err *err);
void auth_query_free(auth_query *q);
/* The value of the only parameter called name (exact case); NULL if absent.
 * *count receives how many parameters have that name. */
const char *auth_query_get(const auth_query *q, const char *name, size_t *count);

/* Parse "YYYYMMDDTHHMMSSZ"; 0 or -1. */
int auth_parse_iso8601_basic(const char *s, time_t *out);
/* Parse an HTTP date (RFC 1123 "Sun, 06 Nov 1994 08:49:37 GMT" or with
 * "+0000"); 0 or -1. */
int auth_parse_http_date(const char *s, time_t *out);



/* ----- shared by sigv4.c and chunked.c ----- */
struct sigv4_auth;

#define AUTH_CHUNK_STS_MAX 512

/* The string to sign for a chunk or trailer: kind "\n" amz_date "\n" scope
 * "\n" prev "\n" tail. Returns its length, or -1 if it does not fit. */
int auth_chunk_string_to_sign(const struct sigv4_auth *a, const char *kind,
                              const char *prev, const char *tail, char *out,
                              size_t cap);
#endif
