/*
 * auth/util.c - crypto, text and time helpers for auth/ (see internal.h).
 *
 * The OpenSSL algorithm objects are fetched once under pthread_once and kept
 * for the life of the process; they are immutable and safe to share between
 * threads. Contexts made from them belong to one thread at a time.
 */
#include "auth/internal.h"
#include "common/hex.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;
static EVP_MAC *hmac_mac;

static void fetch_algorithms(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

const EVP_MD *auth_md_sha256(void)
{
    pthread_once(&fetch_once, fetch_algorithms);
    return sha256_md;
}

static EVP_MAC *hmac_algorithm(void)
{
    pthread_once(&fetch_once, fetch_algorithms);
    return hmac_mac;
}

EVP_MAC_CTX *auth_hmac_new(const char *digest, const void *key, size_t keylen)
{
    EVP_MAC *mac = hmac_algorithm();
    if (!mac) return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    if (!ctx) return NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!EVP_MAC_init(ctx, key, keylen, params)) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int auth_hmac_run(EVP_MAC_CTX *ctx, const void *data, size_t len,
                  unsigned char *out, size_t outcap)
{
    size_t outlen = 0;
    /* A NULL key re-initialises with the key the context already holds. */
    if (!EVP_MAC_init(ctx, NULL, 0, NULL) || !EVP_MAC_update(ctx, data, len) ||
        !EVP_MAC_final(ctx, out, &outlen, outcap))
        return -1;
    return (int)outlen;
}

int auth_hmac_once(const char *digest, const void *key, size_t keylen,
                   const void *data, size_t len, unsigned char *out,
                   size_t outcap)
{
    EVP_MAC_CTX *ctx = auth_hmac_new(digest, key, keylen);
    if (!ctx) return -1;
    size_t outlen = 0;
    int ok = EVP_MAC_update(ctx, data, len) &&
             EVP_MAC_final(ctx, out, &outlen, outcap);
    EVP_MAC_CTX_free(ctx);
    return ok ? (int)outlen : -1;
}

int auth_sha256(const void *data, size_t len, unsigned char out[AUTH_SHA256_LEN])
{
    const EVP_MD *md = auth_md_sha256();
    return md && EVP_Digest(data, len, out, NULL, md, NULL) ? 0 : -1;
}

void auth_hex(const unsigned char *in, size_t n, char *out)
{
    hex_encode(in, n, out, 2 * n + 1);
}

int auth_compare_strings(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

bool auth_is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[n] == 0;
}

bool auth_signature_equal(const char *received, const char *computed)
{
    size_t n = strlen(computed);
    if (strlen(received) != n) return false;
    return CRYPTO_memcmp(received, computed, n) == 0;
}

static int buf_grow(auth_buf *b, size_t extra)
{
    if (b->failed) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *s = malloc(cap);          /* not realloc: the old copy is wiped */
    if (!s) {
        b->failed = true;
        return -1;
    }
    if (b->s) {
        memcpy(s, b->s, b->len + 1);
        OPENSSL_cleanse(b->s, b->cap);
        free(b->s);
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

int auth_buf_add(auth_buf *b, const char *s, size_t n)
{
    if (buf_grow(b, n) < 0) return -1;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
    return 0;
}

int auth_buf_str(auth_buf *b, const char *s)
{
    return auth_buf_add(b, s, strlen(s));
}

int auth_buf_char(auth_buf *b, char c)
{
    return auth_buf_add(b, &c, 1);
}

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

int auth_buf_uri_encode(auth_buf *b, const char *s, size_t n, bool keep_slash)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            if (auth_buf_char(b, (char)c) < 0) return -1;
        } else {
            char esc[4] = {'%'};
            hex_encode_upper(&c, 1, esc + 1, 3);
            if (auth_buf_add(b, esc, 3) < 0) return -1;
        }
    }
    return 0;
}

char *auth_uri_encode(const char *s, bool keep_slash)
{
    auth_buf b = {0};
    if (auth_buf_str(&b, "") < 0 || auth_buf_uri_encode(&b, s, strlen(s), keep_slash) < 0) {
        auth_buf_free(&b);
        return NULL;
    }
    return b.s;
}

bool auth_buf_ok(const auth_buf *b)
{
    return !b->failed;
}

void auth_buf_free(auth_buf *b)
{
    if (b->s)
        OPENSSL_cleanse(b->s, b->cap);
    free(b->s);
    memset(b, 0, sizeof *b);
}

ptrdiff_t auth_percent_decode(const char *s, size_t n, bool plus_space, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = n - i >= 3 ? hex_value(s[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
            if (lo < 0 || (hi | lo) == 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        out[o++] = c;
    }
    out[o] = 0;
    return (ptrdiff_t)o;
}

int auth_parse_iso8601_basic(const char *s, time_t *out)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
    if (strlen(s) != 16 || !end || *end) return -1;
    *out = timegm(&tm);
    return 0;
}

int auth_parse_http_date(const char *s, time_t *out)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S", &tm);
    if (!end) return -1;
    while (*end == ' ') end++;
    if (strcmp(end, "GMT") != 0 && strcmp(end, "+0000") != 0 &&
        strcmp(end, "UTC") != 0 && strcmp(end, "Z") != 0)
        return -1;
    *out = timegm(&tm);
    return 0;
}
