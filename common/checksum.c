/*
 * common/checksum.c - streaming digests behind one small interface.
 *
 * A cks_state is either a CRC (kept as a 32/64-bit running value) or an
 * OpenSSL digest (an EVP_MD fetched once when the state is made, plus one
 * EVP_MD_CTX that cks_reset re-initialises in place). Nothing is allocated
 * after cks_new, so a state can be reset for every block or object cheaply.
 *
 * CRC values are kept "finalised" between updates (the value you would get if
 * the stream stopped here); each update undoes the final inversion, runs the
 * raw CRC, and inverts again. That makes every CRC chainable from 0.
 *
 *  - MD5 and SHA-256 come from common/md5sha.c where the CPU has the SHA
 *    extensions (so that cks_update2 can hash a signed body and its ETag in
 *    one pass), from OpenSSL elsewhere; a state never mixes the two.
 *  - CRC32 (IEEE, reflected) and CRC32C (Castagnoli) come from ISA-L.
 *  - CRC-64/NVME is not in ISA-L 2.30, so it is computed here slice-by-16:
 *    table t maps a byte to its CRC contribution when followed by t more
 *    bytes, so each step folds sixteen input bytes with sixteen independent
 *    lookups instead of one byte at a time. Tables are built once, on
 *    first use.
 *
 * Combining (cks_crc_combine): for these CRCs (reflected, init and final
 * xor all ones) crc(A || B) = crc(A) * x^(8 len(B)) mod P  xor  crc(B),
 * the identity zlib's crc32_combine uses. Multiplication modulo P is done
 * bit by bit in the reflected representation, and x^(8n) by squaring:
 * a table of x^(2^k) mod P per algorithm (64 entries), so a combination
 * costs O(log n) multiplications whatever the length.
 *
 * Raw outputs are big-endian, the byte order S3 base64-encodes for its
 * x-amz-checksum-* headers. The base64 helpers are strict: they accept
 * only the canonical encoding of exactly the expected number of bytes.
 */
#include "common/checksum.h"
#include "common/md5sha.h"

#include <isa-l/crc.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cks_state {
    cks_algo algo;
    uint64_t crc;           /* CRC algorithms: finalised value so far */
    EVP_MD *md;             /* digest algorithms: fetched once */
    EVP_MD_CTX *mdctx;
    bool fast;              /* MD5/SHA-256 in fastctx instead */
    md5sha_ctx fastctx;
};

typedef struct algo_info {
    const char *name;
    const char *header;
    const char *evp_name;   /* NULL for the CRCs */
    size_t raw_len;
} algo_info;

static const algo_info algos[CKS_ALGO_COUNT] = {
    [CKS_CRC32] = {"CRC32", "x-amz-checksum-crc32", NULL, 4},
    [CKS_CRC32C] = {"CRC32C", "x-amz-checksum-crc32c", NULL, 4},
    [CKS_CRC64NVME] = {"CRC64NVME", "x-amz-checksum-crc64nvme", NULL, 8},
    [CKS_SHA1] = {"SHA1", "x-amz-checksum-sha1", "SHA1", 20},
    [CKS_SHA256] = {"SHA256", "x-amz-checksum-sha256", "SHA256", 32},
    [CKS_MD5] = {"MD5", NULL, "MD5", 16},
};

static bool algo_is_valid(cks_algo algo)
{
    return algo > CKS_NONE && algo < CKS_ALGO_COUNT;
}

/* ---- CRC-64/NVME, slice-by-16 ---- */

#define CRC64NVME_POLY_REFLECTED 0x9a6c9329ac4bc9b5ULL

static uint64_t crc64_table[16][256];
static pthread_once_t crc64_table_once = PTHREAD_ONCE_INIT;

static void crc64_build_tables(void)
{
    for (int i = 0; i < 256; i++) {
        uint64_t c = (uint64_t)i;
        for (int bit = 0; bit < 8; bit++)
            c = (c & 1) ? (c >> 1) ^ CRC64NVME_POLY_REFLECTED : c >> 1;
        crc64_table[0][i] = c;
    }
    for (int t = 1; t < 16; t++)
        for (int i = 0; i < 256; i++) {
            uint64_t prev = crc64_table[t - 1][i];
            crc64_table[t][i] = (prev >> 8) ^ crc64_table[0][prev & 0xff];
        }
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Fold the eight bytes of v through tables base+7 (lowest byte, farthest
 * from the end) down to base (highest byte). */
static inline uint64_t crc64_fold8(uint64_t v, int base)
{
    const uint64_t(*t)[256] = crc64_table + base;
    return t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^
           t[4][(v >> 24) & 0xff] ^ t[3][(v >> 32) & 0xff] ^
           t[2][(v >> 40) & 0xff] ^ t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
}

/* The raw reflected CRC register update, without init or final inversion. */
static uint64_t crc64_raw(uint64_t crc, const uint8_t *p, size_t len)
{
    while (len >= 16) {
        crc = crc64_fold8(load_le64(p) ^ crc, 8) ^
              crc64_fold8(load_le64(p + 8), 0);
        p += 16;
        len -= 16;
    }
    while (len--)
        crc = crc64_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

static uint64_t crc64nvme(uint64_t crc, const void *data, size_t len)
{
    pthread_once(&crc64_table_once, crc64_build_tables);
    return ~crc64_raw(~crc, data, len);
}

/* ---- CRC32 and CRC32C via ISA-L ---- */

uint32_t cks_crc32c(uint32_t crc, const void *data, size_t len)
{
    /* crc32_iscsi neither pre- nor post-inverts, and takes an int length. */
    const uint8_t *p = data;
    uint32_t reg = ~crc;
    while (len > 0) {
        size_t n = len > INT_MAX ? INT_MAX : len;
        reg = crc32_iscsi((unsigned char *)p, (int)n, reg);
        p += n;
        len -= n;
    }
    return ~reg;
}

/* ---- combining CRCs ---- */

typedef struct crc_field {
    uint64_t poly;          /* reflected polynomial */
    int width;              /* 32 or 64 */
    uint64_t x2n[64];       /* x^(2^k) mod poly, reflected */
} crc_field;

static crc_field crc_fields[3] = {
    {0xEDB88320u, 32, {0}},                 /* CRC32 (IEEE) */
    {0x82F63B78u, 32, {0}},                 /* CRC32C (Castagnoli) */
    {CRC64NVME_POLY_REFLECTED, 64, {0}},    /* CRC-64/NVME */
};
static pthread_once_t crc_fields_once = PTHREAD_ONCE_INIT;

/* a * b modulo the field's polynomial, both reflected (bit width-1 is x^0). */
static uint64_t multmodp(const crc_field *f, uint64_t a, uint64_t b)
{
    uint64_t m = 1ULL << (f->width - 1), p = 0;
    while (m && a) {
        if (a & m) {
            p ^= b;
            a &= ~m;
        }
        m >>= 1;
        b = (b & 1) ? (b >> 1) ^ f->poly : b >> 1;
    }
    return p;
}

static void crc_fields_build(void)
{
    for (size_t i = 0; i < sizeof crc_fields / sizeof crc_fields[0]; i++) {
        crc_field *f = &crc_fields[i];
        uint64_t p = 1ULL << (f->width - 2);    /* x^1 */
        f->x2n[0] = p;
        for (int k = 1; k < 64; k++)
            f->x2n[k] = p = multmodp(f, p, p);
    }
}

/* x^(8 n) modulo the field's polynomial. */
static uint64_t x8nmodp(const crc_field *f, uint64_t n)
{
    uint64_t p = 1ULL << (f->width - 1);        /* x^0 */
    for (int k = 3; n; n >>= 1, k++)
        if (n & 1)
            p = multmodp(f, f->x2n[k & 63], p);
    return p;
}

static uint64_t load_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void store_be(uint64_t v, uint8_t *out, size_t n);

bool cks_is_crc(cks_algo algo)
{
    return algo == CKS_CRC32 || algo == CKS_CRC32C || algo == CKS_CRC64NVME;
}

int cks_crc_combine(cks_algo algo, const uint8_t *crc_a, const uint8_t *crc_b,
                    uint64_t len_b, uint8_t *out)
{
    if (!cks_is_crc(algo))
        return -1;
    pthread_once(&crc_fields_once, crc_fields_build);
    const crc_field *f = &crc_fields[algo - CKS_CRC32];
    size_t n = algos[algo].raw_len;
    uint64_t a = load_be(crc_a, n), b = load_be(crc_b, n);
    store_be(multmodp(f, x8nmodp(f, len_b), a) ^ b, out, n);
    return 0;
}

/* ---- states ---- */

cks_state *cks_new(cks_algo algo, cf_err *err)
{
    if (!algo_is_valid(algo)) {
        cf_fail(err, CF_EINVAL, "unknown checksum algorithm %d", (int)algo);
        return NULL;
    }
    cks_state *s = calloc(1, sizeof *s);
    if (!s) {
        cf_fail(err, CF_ENOMEM, "out of memory for a checksum state");
        return NULL;
    }
    s->algo = algo;
    const char *evp_name = algos[algo].evp_name;
    if ((algo == CKS_MD5 || algo == CKS_SHA256) && md5sha_available()) {
        s->fast = true;
        md5sha_init(&s->fastctx, algo == CKS_SHA256);
    } else if (evp_name) {
        s->md = EVP_MD_fetch(NULL, evp_name, NULL);
        s->mdctx = EVP_MD_CTX_new();
        if (!s->md || !s->mdctx ||
            !EVP_DigestInit_ex2(s->mdctx, s->md, NULL)) {
            cf_fail(err, CF_ECRYPTO, "cannot set up the %s digest",
                    algos[algo].name);
            cks_free(s);
            return NULL;
        }
    }
    return s;
}

void cks_free(cks_state *s)
{
    if (!s)
        return;
    EVP_MD_CTX_free(s->mdctx);       /* clears what it held */
    EVP_MD_free(s->md);
    OPENSSL_cleanse(s, sizeof(*s));  /* fastctx holds the last block hashed */
    free(s);
}

void cks_reset(cks_state *s)
{
    s->crc = 0;
    if (s->fast)
        md5sha_init(&s->fastctx, s->algo == CKS_SHA256);
    else if (s->mdctx)
        EVP_DigestInit_ex2(s->mdctx, NULL, NULL);
}

void cks_update(cks_state *s, const void *data, size_t len)
{
    switch (s->algo) {
    case CKS_CRC32:
        s->crc = crc32_gzip_refl((uint32_t)s->crc, data, len);
        break;
    case CKS_CRC32C:
        s->crc = cks_crc32c((uint32_t)s->crc, data, len);
        break;
    case CKS_CRC64NVME:
        s->crc = crc64nvme(s->crc, data, len);
        break;
    default:
        if (s->fast)
            md5sha_update(&s->fastctx, data, len);
        else
            EVP_DigestUpdate(s->mdctx, data, len);
        break;
    }
}

void cks_update2(cks_state *a, cks_state *b, const void *data, size_t len)
{
    cks_update2_copy(a, b, NULL, data, len);
}

void cks_update2_copy(cks_state *a, cks_state *b, void *dst, const void *data, size_t len)
{
    if (b && a->fast && b->fast && a->algo != b->algo) {
        cks_state *md5 = a->algo == CKS_MD5 ? a : b;
        md5sha_update_both_copy(&md5->fastctx, &(md5 == a ? b : a)->fastctx, dst, data,
                                len);
        return;
    }
    if (!b && a->fast) {
        md5sha_update_copy(&a->fastctx, dst, data, len);
        return;
    }
    if (dst) {                       /* copy first, hash the copy while it is hot */
        memcpy(dst, data, len);
        data = dst;
    }
    cks_update(a, data, len);
    if (b)
        cks_update(b, data, len);
}

static void store_be(uint64_t v, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

size_t cks_final(cks_state *s, uint8_t out[CKS_MAX_RAW])
{
    size_t n = algos[s->algo].raw_len;
    if (s->fast) {
        md5sha_final(&s->fastctx, out);
    } else if (s->mdctx) {
        unsigned int got = 0;
        if (!EVP_DigestFinal_ex(s->mdctx, out, &got) || got != n)
            memset(out, 0, n);
    } else {
        store_be(s->crc, out, n);
    }
    return n;
}

cks_algo cks_state_algo(const cks_state *s)
{
    return s->algo;
}

size_t cks_raw_len(cks_algo algo)
{
    return algo_is_valid(algo) ? algos[algo].raw_len : 0;
}

const char *cks_algo_name(cks_algo algo)
{
    return algo_is_valid(algo) ? algos[algo].name : NULL;
}

cks_algo cks_algo_from_name(const char *name)
{
    if (!name)
        return CKS_NONE;
    for (int a = CKS_NONE + 1; a < CKS_ALGO_COUNT; a++)
        if (strcasecmp(name, algos[a].name) == 0)
            return (cks_algo)a;
    return CKS_NONE;
}

const char *cks_header_name(cks_algo algo)
{
    return algo_is_valid(algo) ? algos[algo].header : NULL;
}

/* ---- base64 (RFC 4648, padded) ---- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t cks_to_base64(const uint8_t *raw, size_t len, char *out, size_t outsz)
{
    size_t need = (len + 2) / 3 * 4;
    if (outsz < need + 1)
        return 0;
    char *o = out;
    for (size_t i = 0; i < len; i += 3) {
        size_t left = len - i;
        uint32_t v = (uint32_t)raw[i] << 16;
        if (left > 1)
            v |= (uint32_t)raw[i + 1] << 8;
        if (left > 2)
            v |= raw[i + 2];
        *o++ = b64_alphabet[(v >> 18) & 63];
        *o++ = b64_alphabet[(v >> 12) & 63];
        *o++ = left > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
        *o++ = left > 2 ? b64_alphabet[v & 63] : '=';
    }
    *o = '\0';
    return need;
}

static int b64_value(char c)
{
    const char *hit = c ? strchr(b64_alphabet, c) : NULL;
    return hit ? (int)(hit - b64_alphabet) : -1;
}

long cks_base64_decode(const char *b64, size_t len, uint8_t *out, size_t cap)
{
    if (len == 0 || len % 4 != 0)
        return -1;
    size_t pad = 0;
    while (pad < 2 && b64[len - 1 - pad] == '=')
        pad++;
    size_t decoded = len / 4 * 3 - pad;
    if (decoded > cap)
        return -1;
    uint32_t acc = 0;
    size_t bits = 0, o = 0;
    for (size_t i = 0; i < len - pad; i++) {
        int v = b64_value(b64[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits beside padding must be zero in the canonical form. */
    if (acc & ((1u << bits) - 1))
        return -1;
    return (long)o;
}

int cks_from_base64(const char *b64, uint8_t *out, size_t outsz,
                    size_t *outlen)
{
    long n = cks_base64_decode(b64, strlen(b64), out, outsz);
    if (n < 0 || (size_t)n != outsz)
        return -1;
    if (outlen)
        *outlen = (size_t)n;
    return 0;
}
