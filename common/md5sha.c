/*
 * common/md5sha.c - MD5 and SHA-256 over the same bytes in one pass (contract
 * in md5sha.h).
 *
 * Why: a chunk-signed or payload-signed PUT must hash every body byte with
 * SHA-256 (the signature) and with MD5 (the ETag). Run one after the other,
 * OpenSSL takes ~1.45 + ~0.6 CPU s/GiB here. MD5 is one long dependency
 * chain: each step needs the previous one, so the core's other ports sit
 * idle; SHA-256 with the SHA extensions runs mostly in the SHA unit. Stitched
 * together, four MD5 steps beside each group of four SHA-256 rounds of the
 * same 64-byte block, the out-of-order core overlaps them and the pair costs
 * about what MD5 alone does (~1.4-1.5 s/GiB).
 *
 * MD5 (RFC 1321) is plain C: the step is written "a += x + k; a += f(b,c,d)"
 * so that the message word and constant are added off the critical path, and
 * G as (b & d) + (c & ~d), whose two halves do not depend on each other; this
 * runs a little faster than OpenSSL's assembly (1.39-1.43 against 1.47 s/GiB
 * on this machine). SHA-256 (FIPS 180-4) uses the SHA-NI instructions in the
 * usual layout (state as ABEF/CDGH, message schedule with sha256msg1/2).
 *
 * Only x86-64 with SHA-NI, SSSE3 and SSE4.1 (cpuid, checked once) takes this
 * path; elsewhere md5sha_available() is false and callers use OpenSSL. Both
 * are checked against OpenSSL in tests/unit/test_checksum.c.
 */
#include "common/md5sha.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MD5SHA_X86 1
#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>
#endif

#ifdef MD5SHA_X86

#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
#define MD5_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MD5_G(x, y, z) (((x) & (z)) + ((y) & ~(z)))
#define MD5_H(x, y, z) ((x) ^ (y) ^ (z))
#define MD5_I(x, y, z) ((y) ^ ((x) | ~(z)))
#define MD5_STEP(f, a, b, c, d, x, k, s)                                      \
    (a) += (x) + (k);                                                         \
    (a) += f((b), (c), (d));                                                  \
    (a) = ROL((a), (s)) + (b)

/* MD5's 64 steps, four per group of SHA-256 rounds: step i uses message word
 * i, (5i+1), (3i+5), (7i) mod 16 in rounds 1-4, the constant
 * floor(|sin(i+1)| * 2^32) and the shifts of RFC 1321. */
#define MD5_STEPS_0 \
    MD5_STEP(MD5_F, a, b, c, d, m[0], 0xd76aa478u, 7); \
    MD5_STEP(MD5_F, d, a, b, c, m[1], 0xe8c7b756u, 12); \
    MD5_STEP(MD5_F, c, d, a, b, m[2], 0x242070dbu, 17); \
    MD5_STEP(MD5_F, b, c, d, a, m[3], 0xc1bdceeeu, 22);
#define MD5_STEPS_1 \
    MD5_STEP(MD5_F, a, b, c, d, m[4], 0xf57c0fafu, 7); \
    MD5_STEP(MD5_F, d, a, b, c, m[5], 0x4787c62au, 12); \
    MD5_STEP(MD5_F, c, d, a, b, m[6], 0xa8304613u, 17); \
    MD5_STEP(MD5_F, b, c, d, a, m[7], 0xfd469501u, 22);
#define MD5_STEPS_2 \
    MD5_STEP(MD5_F, a, b, c, d, m[8], 0x698098d8u, 7); \
    MD5_STEP(MD5_F, d, a, b, c, m[9], 0x8b44f7afu, 12); \
    MD5_STEP(MD5_F, c, d, a, b, m[10], 0xffff5bb1u, 17); \
    MD5_STEP(MD5_F, b, c, d, a, m[11], 0x895cd7beu, 22);
#define MD5_STEPS_3 \
    MD5_STEP(MD5_F, a, b, c, d, m[12], 0x6b901122u, 7); \
    MD5_STEP(MD5_F, d, a, b, c, m[13], 0xfd987193u, 12); \
    MD5_STEP(MD5_F, c, d, a, b, m[14], 0xa679438eu, 17); \
    MD5_STEP(MD5_F, b, c, d, a, m[15], 0x49b40821u, 22);
#define MD5_STEPS_4 \
    MD5_STEP(MD5_G, a, b, c, d, m[1], 0xf61e2562u, 5); \
    MD5_STEP(MD5_G, d, a, b, c, m[6], 0xc040b340u, 9); \
    MD5_STEP(MD5_G, c, d, a, b, m[11], 0x265e5a51u, 14); \
    MD5_STEP(MD5_G, b, c, d, a, m[0], 0xe9b6c7aau, 20);
#define MD5_STEPS_5 \
    MD5_STEP(MD5_G, a, b, c, d, m[5], 0xd62f105du, 5); \
    MD5_STEP(MD5_G, d, a, b, c, m[10], 0x02441453u, 9); \
    MD5_STEP(MD5_G, c, d, a, b, m[15], 0xd8a1e681u, 14); \
    MD5_STEP(MD5_G, b, c, d, a, m[4], 0xe7d3fbc8u, 20);
#define MD5_STEPS_6 \
    MD5_STEP(MD5_G, a, b, c, d, m[9], 0x21e1cde6u, 5); \
    MD5_STEP(MD5_G, d, a, b, c, m[14], 0xc33707d6u, 9); \
    MD5_STEP(MD5_G, c, d, a, b, m[3], 0xf4d50d87u, 14); \
    MD5_STEP(MD5_G, b, c, d, a, m[8], 0x455a14edu, 20);
#define MD5_STEPS_7 \
    MD5_STEP(MD5_G, a, b, c, d, m[13], 0xa9e3e905u, 5); \
    MD5_STEP(MD5_G, d, a, b, c, m[2], 0xfcefa3f8u, 9); \
    MD5_STEP(MD5_G, c, d, a, b, m[7], 0x676f02d9u, 14); \
    MD5_STEP(MD5_G, b, c, d, a, m[12], 0x8d2a4c8au, 20);
#define MD5_STEPS_8 \
    MD5_STEP(MD5_H, a, b, c, d, m[5], 0xfffa3942u, 4); \
    MD5_STEP(MD5_H, d, a, b, c, m[8], 0x8771f681u, 11); \
    MD5_STEP(MD5_H, c, d, a, b, m[11], 0x6d9d6122u, 16); \
    MD5_STEP(MD5_H, b, c, d, a, m[14], 0xfde5380cu, 23);
#define MD5_STEPS_9 \
    MD5_STEP(MD5_H, a, b, c, d, m[1], 0xa4beea44u, 4); \
    MD5_STEP(MD5_H, d, a, b, c, m[4], 0x4bdecfa9u, 11); \
    MD5_STEP(MD5_H, c, d, a, b, m[7], 0xf6bb4b60u, 16); \
    MD5_STEP(MD5_H, b, c, d, a, m[10], 0xbebfbc70u, 23);
#define MD5_STEPS_10 \
    MD5_STEP(MD5_H, a, b, c, d, m[13], 0x289b7ec6u, 4); \
    MD5_STEP(MD5_H, d, a, b, c, m[0], 0xeaa127fau, 11); \
    MD5_STEP(MD5_H, c, d, a, b, m[3], 0xd4ef3085u, 16); \
    MD5_STEP(MD5_H, b, c, d, a, m[6], 0x04881d05u, 23);
#define MD5_STEPS_11 \
    MD5_STEP(MD5_H, a, b, c, d, m[9], 0xd9d4d039u, 4); \
    MD5_STEP(MD5_H, d, a, b, c, m[12], 0xe6db99e5u, 11); \
    MD5_STEP(MD5_H, c, d, a, b, m[15], 0x1fa27cf8u, 16); \
    MD5_STEP(MD5_H, b, c, d, a, m[2], 0xc4ac5665u, 23);
#define MD5_STEPS_12 \
    MD5_STEP(MD5_I, a, b, c, d, m[0], 0xf4292244u, 6); \
    MD5_STEP(MD5_I, d, a, b, c, m[7], 0x432aff97u, 10); \
    MD5_STEP(MD5_I, c, d, a, b, m[14], 0xab9423a7u, 15); \
    MD5_STEP(MD5_I, b, c, d, a, m[5], 0xfc93a039u, 21);
#define MD5_STEPS_13 \
    MD5_STEP(MD5_I, a, b, c, d, m[12], 0x655b59c3u, 6); \
    MD5_STEP(MD5_I, d, a, b, c, m[3], 0x8f0ccc92u, 10); \
    MD5_STEP(MD5_I, c, d, a, b, m[10], 0xffeff47du, 15); \
    MD5_STEP(MD5_I, b, c, d, a, m[1], 0x85845dd1u, 21);
#define MD5_STEPS_14 \
    MD5_STEP(MD5_I, a, b, c, d, m[8], 0x6fa87e4fu, 6); \
    MD5_STEP(MD5_I, d, a, b, c, m[15], 0xfe2ce6e0u, 10); \
    MD5_STEP(MD5_I, c, d, a, b, m[6], 0xa3014314u, 15); \
    MD5_STEP(MD5_I, b, c, d, a, m[13], 0x4e0811a1u, 21);
#define MD5_STEPS_15 \
    MD5_STEP(MD5_I, a, b, c, d, m[4], 0xf7537e82u, 6); \
    MD5_STEP(MD5_I, d, a, b, c, m[11], 0xbd3af235u, 10); \
    MD5_STEP(MD5_I, c, d, a, b, m[2], 0x2ad7d2bbu, 15); \
    MD5_STEP(MD5_I, b, c, d, a, m[9], 0xeb86d391u, 21);

#define MD5_ALL                                                               \
    MD5_STEPS_0 MD5_STEPS_1 MD5_STEPS_2 MD5_STEPS_3 MD5_STEPS_4 MD5_STEPS_5   \
    MD5_STEPS_6 MD5_STEPS_7 MD5_STEPS_8 MD5_STEPS_9 MD5_STEPS_10 MD5_STEPS_11 \
    MD5_STEPS_12 MD5_STEPS_13 MD5_STEPS_14 MD5_STEPS_15

static const uint32_t k256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* Four SHA-256 rounds: message words 4g..4g+3 (computed from the previous
 * sixteen when g >= 4, in the ring w[0..3]). */
#define SHA_GROUP(g)                                                          \
    do {                                                                      \
        if ((g) >= 4)                                                         \
            w[(g) & 3] = _mm_sha256msg2_epu32(                                \
                _mm_add_epi32(_mm_sha256msg1_epu32(w[(g) & 3], w[((g) + 1) & 3]), \
                              _mm_alignr_epi8(w[((g) + 3) & 3], w[((g) + 2) & 3], 4)), \
                w[((g) + 3) & 3]);                                            \
        __m128i t_ = _mm_add_epi32(w[(g) & 3],                                \
                                   _mm_loadu_si128((const __m128i *)&k256[4 * (g)])); \
        s1 = _mm_sha256rnds2_epu32(s1, s0, t_);                               \
        t_ = _mm_shuffle_epi32(t_, 0x0E);                                     \
        s0 = _mm_sha256rnds2_epu32(s0, s1, t_);                               \
    } while (0)

#define SHA_LOAD(p)                                                           \
    do {                                                                      \
        const __m128i bswap_ = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL); \
        for (int j_ = 0; j_ < 4; j_++)                                        \
            w[j_] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)((p) + 16 * j_)), bswap_); \
    } while (0)

#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* h[0..7] = A..H  <->  s0 = ABEF, s1 = CDGH, as sha256rnds2 wants them. */
SHA_TARGET static void sha_state_in(const uint32_t h[8], __m128i *s0, __m128i *s1)
{
    __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);
    __m128i u = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B);
    *s0 = _mm_alignr_epi8(t, u, 8);
    *s1 = _mm_blend_epi16(u, t, 0xF0);
}

SHA_TARGET static void sha_state_out(uint32_t h[8], __m128i s0, __m128i s1)
{
    __m128i t = _mm_shuffle_epi32(s0, 0x1B);
    s1 = _mm_shuffle_epi32(s1, 0xB1);
    _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(t, s1, 0xF0));
    _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(s1, t, 8));
}

SHA_TARGET static void sha256_blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
    __m128i s0, s1, w[4];
    sha_state_in(h, &s0, &s1);
    for (; n; n--, p += 64) {
        __m128i a0 = s0, a1 = s1;
        SHA_LOAD(p);
        SHA_GROUP(0); SHA_GROUP(1); SHA_GROUP(2); SHA_GROUP(3);
        SHA_GROUP(4); SHA_GROUP(5); SHA_GROUP(6); SHA_GROUP(7);
        SHA_GROUP(8); SHA_GROUP(9); SHA_GROUP(10); SHA_GROUP(11);
        SHA_GROUP(12); SHA_GROUP(13); SHA_GROUP(14); SHA_GROUP(15);
        s0 = _mm_add_epi32(s0, a0);
        s1 = _mm_add_epi32(s1, a1);
    }
    sha_state_out(h, s0, s1);
}

/* n blocks of MD5; with dst, each block is also stored there. */
static void md5_blocks_copy(uint32_t h[8], const uint8_t *p, uint8_t *dst, size_t n)
{
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    for (; n; n--, p += 64) {
        uint32_t m[16];
        memcpy(m, p, sizeof m);            /* little-endian words */
        if (dst) {
            memcpy(dst, m, sizeof m);
            dst += 64;
        }
        uint32_t a0 = a, b0 = b, c0 = c, d0 = d;
        MD5_ALL
        a += a0; b += b0; c += c0; d += d0;
    }
    h[0] = a; h[1] = b; h[2] = c; h[3] = d;
}

/* n blocks of MD5 from pm and of SHA-256 from ps, interleaved; with dst,
 * each MD5 block is also stored there (MD5's dependency chain leaves the
 * load and store ports idle, so the copy costs next to nothing). */
SHA_TARGET static void both_blocks(uint32_t mh[8], const uint8_t *pm, uint32_t sh[8],
                                   const uint8_t *ps, uint8_t *dst, size_t n)
{
    uint32_t a = mh[0], b = mh[1], c = mh[2], d = mh[3];
    __m128i s0, s1, w[4];
    sha_state_in(sh, &s0, &s1);
    for (; n; n--, pm += 64, ps += 64) {
        uint32_t m[16];
        memcpy(m, pm, sizeof m);
        if (dst) {
            memcpy(dst, m, sizeof m);
            dst += 64;
        }
        uint32_t a0 = a, b0 = b, c0 = c, d0 = d;
        __m128i x0 = s0, x1 = s1;
        SHA_LOAD(ps);
        SHA_GROUP(0); MD5_STEPS_0 SHA_GROUP(1); MD5_STEPS_1
        SHA_GROUP(2); MD5_STEPS_2 SHA_GROUP(3); MD5_STEPS_3
        SHA_GROUP(4); MD5_STEPS_4 SHA_GROUP(5); MD5_STEPS_5
        SHA_GROUP(6); MD5_STEPS_6 SHA_GROUP(7); MD5_STEPS_7
        SHA_GROUP(8); MD5_STEPS_8 SHA_GROUP(9); MD5_STEPS_9
        SHA_GROUP(10); MD5_STEPS_10 SHA_GROUP(11); MD5_STEPS_11
        SHA_GROUP(12); MD5_STEPS_12 SHA_GROUP(13); MD5_STEPS_13
        SHA_GROUP(14); MD5_STEPS_14 SHA_GROUP(15); MD5_STEPS_15
        a += a0; b += b0; c += c0; d += d0;
        s0 = _mm_add_epi32(s0, x0);
        s1 = _mm_add_epi32(s1, x1);
    }
    mh[0] = a; mh[1] = b; mh[2] = c; mh[3] = d;
    sha_state_out(sh, s0, s1);
}

static bool cpu_ok;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static void cpu_check(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
        return;
    if (__get_cpuid_max(0, NULL) < 7)
        return;
    __cpuid_count(7, 0, a, b, c, d);
    cpu_ok = (b & bit_SHA) != 0;
}

bool md5sha_available(void)
{
    pthread_once(&cpu_once, cpu_check);
    return cpu_ok;
}

#else /* not x86-64: no fast path, callers use OpenSSL; the block functions
       * below only let the shared code link, md5sha_available() being false
       * nothing reaches them */

bool md5sha_available(void)
{
    return false;
}

static void md5_blocks_copy(uint32_t h[8], const uint8_t *p, uint8_t *dst, size_t n)
{
    (void)h, (void)p, (void)dst, (void)n;
}

static void sha256_blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
    (void)h, (void)p, (void)n;
}

static void both_blocks(uint32_t mh[8], const uint8_t *pm, uint32_t sh[8],
                        const uint8_t *ps, uint8_t *dst, size_t n)
{
    (void)mh, (void)pm, (void)sh, (void)ps, (void)dst, (void)n;
}

#endif

static void md5_blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
    md5_blocks_copy(h, p, NULL, n);
}

/* ---- buffering, padding, the pair -------------------------------------- */

typedef void (*blocks_fn)(uint32_t h[8], const uint8_t *p, size_t n);

static blocks_fn blocks_of(const md5sha_ctx *c)
{
    return c->sha256 ? sha256_blocks : md5_blocks;
}

void md5sha_init(md5sha_ctx *c, bool sha256)
{
    static const uint32_t md5_iv[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    static const uint32_t sha_iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memset(c, 0, sizeof *c);
    c->sha256 = sha256;
    if (sha256)
        memcpy(c->h, sha_iv, sizeof sha_iv);
    else
        memcpy(c->h, md5_iv, sizeof md5_iv);
}

/* Complete a partly filled block from p; returns the bytes taken. */
static size_t top_up(md5sha_ctx *c, const uint8_t *p, size_t len)
{
    size_t have = (size_t)(c->bytes % 64);
    if (have == 0)
        return 0;
    size_t n = 64 - have < len ? 64 - have : len;
    memcpy(c->buf + have, p, n);
    c->bytes += n;
    if (have + n == 64)
        blocks_of(c)(c->h, c->buf, 1);
    return n;
}

void md5sha_update(md5sha_ctx *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t used = top_up(c, p, len);
    p += used;
    len -= used;
    if (len >= 64) {
        blocks_of(c)(c->h, p, len / 64);
        c->bytes += len / 64 * 64;
        p += len / 64 * 64;
        len %= 64;
    }
    memcpy(c->buf, p, len);
    c->bytes += len;
}

void md5sha_update_copy(md5sha_ctx *c, void *dst, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint8_t *q = dst;
    if (c->sha256 || !q) {
        if (q)
            memcpy(q, p, len);
        md5sha_update(c, p, len);
        return;
    }
    size_t used = top_up(c, p, len);
    memcpy(q, p, used);
    size_t n = (len - used) / 64;
    if (n > 0) {
        md5_blocks_copy(c->h, p + used, q + used, n);
        c->bytes += 64 * n;
        used += 64 * n;
    }
    memcpy(q + used, p + used, len - used);
    md5sha_update(c, p + used, len - used);
}

void md5sha_update_both(md5sha_ctx *md5, md5sha_ctx *sha, const void *data, size_t len)
{
    md5sha_update_both_copy(md5, sha, NULL, data, len);
}

void md5sha_update_both_copy(md5sha_ctx *md5, md5sha_ctx *sha, void *dst, const void *data,
                             size_t len)
{
    const uint8_t *p = data;
    uint8_t *q = dst;
    size_t om = top_up(md5, p, len), os = top_up(sha, p, len);
    size_t nm = (len - om) / 64, ns = (len - os) / 64;
    size_t n = nm < ns ? nm : ns;
    size_t copied = 0;               /* q[0..copied) written by both_blocks */
    if (md5->bytes % 64 == 0 && sha->bytes % 64 == 0 && n > 0) {
        if (q) {
            memcpy(q, p, om);
            copied = om + 64 * n;
        }
        both_blocks(md5->h, p + om, sha->h, p + os, q ? q + om : NULL, n);
        md5->bytes += 64 * n;
        sha->bytes += 64 * n;
        om += 64 * n;
        os += 64 * n;
    }
    if (q)
        memcpy(q + copied, p + copied, len - copied);
    md5sha_update(md5, p + om, len - om);
    md5sha_update(sha, p + os, len - os);
}

size_t md5sha_final(md5sha_ctx *c, uint8_t out[32])
{
    uint64_t bits = c->bytes * 8;
    uint8_t pad[72] = {0x80};
    size_t have = (size_t)(c->bytes % 64);
    size_t padlen = (have < 56 ? 56 : 120) - have;
    for (int i = 0; i < 8; i++)
        pad[padlen + i] = (uint8_t)(c->sha256 ? bits >> (56 - 8 * i) : bits >> (8 * i));
    md5sha_update(c, pad, padlen + 8);
    size_t words = c->sha256 ? 8 : 4;
    for (size_t i = 0; i < words; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + (size_t)j] = (uint8_t)(c->sha256 ? c->h[i] >> (24 - 8 * j)
                                                         : c->h[i] >> (8 * j));
    return 4 * words;
}
