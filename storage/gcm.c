/*
 * storage/gcm.c - AES-256-GCM on VAES + VPCLMULQDQ (contract in gcm.h).
 *
 * Why: OpenSSL 3.0 has no VAES path for AES-GCM; on the 2.1 GHz Xeon it
 * runs ~2.7 GB/s, a seventh of a large PUT's server CPU and about half of
 * a large GET's. With 512-bit VAES and VPCLMULQDQ one instruction works on
 * four 16-byte blocks.
 *
 * Layout of one iteration (256 bytes, 16 blocks, four zmm registers):
 *   - CTR: the counter blocks are kept byte-reversed, so inc32 (the last
 *     four bytes, big-endian, mod 2^32) is a 32-bit add on dword 0 of each
 *     lane; they are reversed back and run through the 14 AES rounds, the
 *     round keys broadcast to all four lanes.
 *   - GHASH: the ciphertext blocks (byte-reversed) are multiplied by
 *     H^16 .. H^1 (the running hash folded into the first), the 256-bit
 *     products summed unreduced across all 16 blocks, and reduced once.
 *   The ciphertext is hashed from the registers it was just made in (or,
 *   opening, loaded into), so each byte is read and written once. The AES
 *   of one iteration and the GHASH of the previous overlap in the
 *   out-of-order core.
 *
 * Field arithmetic: GCM's bit-reflected GF(2^128), modulus
 * x^128 + x^7 + x^2 + x + 1. A block byte-reversed into an integer has
 * x^0 in bit 127; in that form a carry-less product is the field product
 * read backwards, and the reduction is Montgomery's: two multiplies by the
 * constant 0xc2000000_00000000 clear the low 128 bits, which divides by
 * y^128 (y: the reversed variable). The stored powers are H^i times y (the
 * reversed H shifted left one bit, reduced), which cancels the y^-1 that
 * Montgomery leaves, so (block * stored power) reduces to block * H^i.
 * The reduction is linear, so 16 products are summed before it.
 *
 * The tail (< 256 bytes) takes the same path with byte-masked loads and
 * stores (AVX512BW), zero-filled; an n-block tail is multiplied by
 * H^n .. H^1 by loading the powers n entries before their end, the table
 * being followed by zeros. AAD goes through the same GHASH step, and the
 * length block last (times H).
 *
 * Dispatch: x86-64 with AES-NI, PCLMUL, AVX2, AVX512F/BW/VL, VAES and
 * VPCLMULQDQ (cpuid) and the OS saving zmm state (xgetbv), checked once;
 * each function carries its own target attribute, the rest of the build
 * stays generic. Compared with OpenSSL in tests/unit/test_gcm.c.
 */
#include "storage/gcm.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GCM_X86 1
#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>
#endif

void gcm_fast_wipe(gcm_key *k)
{
    OPENSSL_cleanse(k, sizeof *k);
}

#ifdef GCM_X86

#define GCM_TARGET                                                                 \
    __attribute__((target("aes,pclmul,avx2,avx512f,avx512bw,avx512vl,vaes,"     \
                          "vpclmulqdq")))

/* ---- AES-256 ---- */

/* Each word of k xored with all the words before it, then with w. */
GCM_TARGET static inline __m128i sched_fold(__m128i k, __m128i w)
{
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    return _mm_xor_si128(k, w);
}

GCM_TARGET static inline __m128i sched_even(__m128i k, __m128i assist)
{
    return sched_fold(k, _mm_shuffle_epi32(assist, 0xff));
}

GCM_TARGET static inline __m128i sched_odd(__m128i k, __m128i even)
{
    return sched_fold(k, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(even, 0), 0xaa));
}

/* Round key 2i from 2i-2 and the keygenassist of 2i-1 (RotWord, SubWord,
 * rcon), and round key 2i+1 from 2i-1 and SubWord of 2i (FIPS 197 5.2). */
#define SCHED_PAIR(i, rcon)                                                        \
    rk[i] = sched_even(rk[(i) - 2], _mm_aeskeygenassist_si128(rk[(i) - 1], rcon)); \
    rk[(i) + 1] = sched_odd(rk[(i) - 1], rk[i])

GCM_TARGET static inline __m128i aes_block(const gcm_key *k, __m128i b)
{
    b = _mm_xor_si128(b, _mm_loadu_si128((const __m128i *)k->rk[0]));
    for (int r = 1; r < 14; r++)
        b = _mm_aesenc_si128(b, _mm_loadu_si128((const __m128i *)k->rk[r]));
    return _mm_aesenclast_si128(b, _mm_loadu_si128((const __m128i *)k->rk[14]));
}

/* ---- GHASH ---- */

/* Montgomery reduction of the 256-bit lo + mi*y^64 + hi*y^128. */
GCM_TARGET static inline __m128i ghash_reduce(__m128i lo, __m128i mi, __m128i hi)
{
    const __m128i poly = _mm_set_epi64x((long long)0xc200000000000000ULL, 1);
    __m128i t = _mm_clmulepi64_si128(lo, poly, 0x10);
    mi = _mm_xor_si128(mi, _mm_xor_si128(t, _mm_shuffle_epi32(lo, 0x4e)));
    t = _mm_clmulepi64_si128(mi, poly, 0x10);
    return _mm_xor_si128(hi, _mm_xor_si128(t, _mm_shuffle_epi32(mi, 0x4e)));
}

GCM_TARGET static inline __m128i ghash_mul(__m128i a, __m128i b)
{
    __m128i mi = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01),
                               _mm_clmulepi64_si128(a, b, 0x10));
    return ghash_reduce(_mm_clmulepi64_si128(a, b, 0x00), mi,
                        _mm_clmulepi64_si128(a, b, 0x11));
}

GCM_TARGET static inline __m128i xor_lanes(__m512i v)
{
    __m256i t = _mm256_xor_si256(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
    return _mm_xor_si128(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
}

/* y = (y ^ x[0]) * pw[0] ^ x[1] * pw[1] ^ ... ^ x[15] * pw[15] (x: 16
 * byte-reversed blocks in four registers; pw: 16 stored powers). */
GCM_TARGET static inline __m128i ghash16(__m128i y, __m512i x0, __m512i x1, __m512i x2,
                                         __m512i x3, const uint8_t (*pw)[16])
{
    x0 = _mm512_xor_si512(x0, _mm512_zextsi128_si512(y));
    __m512i h0 = _mm512_loadu_si512(pw[0]), h1 = _mm512_loadu_si512(pw[4]);
    __m512i h2 = _mm512_loadu_si512(pw[8]), h3 = _mm512_loadu_si512(pw[12]);
    __m512i lo = _mm512_xor_si512(
        _mm512_xor_si512(_mm512_clmulepi64_epi128(x0, h0, 0x00),
                         _mm512_clmulepi64_epi128(x1, h1, 0x00)),
        _mm512_xor_si512(_mm512_clmulepi64_epi128(x2, h2, 0x00),
                         _mm512_clmulepi64_epi128(x3, h3, 0x00)));
    __m512i hi = _mm512_xor_si512(
        _mm512_xor_si512(_mm512_clmulepi64_epi128(x0, h0, 0x11),
                         _mm512_clmulepi64_epi128(x1, h1, 0x11)),
        _mm512_xor_si512(_mm512_clmulepi64_epi128(x2, h2, 0x11),
                         _mm512_clmulepi64_epi128(x3, h3, 0x11)));
    __m512i mi = _mm512_xor_si512(
        _mm512_xor_si512(_mm512_clmulepi64_epi128(x0, h0, 0x01),
                         _mm512_clmulepi64_epi128(x1, h1, 0x01)),
        _mm512_xor_si512(_mm512_clmulepi64_epi128(x2, h2, 0x01),
                         _mm512_clmulepi64_epi128(x3, h3, 0x01)));
    mi = _mm512_xor_si512(
        mi, _mm512_xor_si512(_mm512_xor_si512(_mm512_clmulepi64_epi128(x0, h0, 0x10),
                                              _mm512_clmulepi64_epi128(x1, h1, 0x10)),
                             _mm512_xor_si512(_mm512_clmulepi64_epi128(x2, h2, 0x10),
                                              _mm512_clmulepi64_epi128(x3, h3, 0x10))));
    return ghash_reduce(xor_lanes(lo), xor_lanes(mi), xor_lanes(hi));
}

/* ---- key setup ---- */

GCM_TARGET static void key_setup(gcm_key *k, const uint8_t key[32])
{
    __m128i rk[15];
    rk[0] = _mm_loadu_si128((const __m128i *)key);
    rk[1] = _mm_loadu_si128((const __m128i *)(key + 16));
    SCHED_PAIR(2, 0x01);
    SCHED_PAIR(4, 0x02);
    SCHED_PAIR(6, 0x04);
    SCHED_PAIR(8, 0x08);
    SCHED_PAIR(10, 0x10);
    SCHED_PAIR(12, 0x20);
    rk[14] = sched_even(rk[12], _mm_aeskeygenassist_si128(rk[13], 0x40));
    for (int i = 0; i < 15; i++)
        _mm_storeu_si128((__m128i *)k->rk[i], rk[i]);
    OPENSSL_cleanse(rk, sizeof rk);

    /* H = E(0), reversed; stored powers carry a factor y: shift left one
     * bit and fold bit 128 back with the reversed modulus (no branch on
     * the key-dependent bit). */
    const __m128i rev = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m128i h = _mm_shuffle_epi8(aes_block(k, _mm_setzero_si128()), rev);
    uint64_t lo = (uint64_t)_mm_cvtsi128_si64(h), hi = (uint64_t)_mm_extract_epi64(h, 1);
    uint64_t fold = 0 - (hi >> 63);
    hi = ((hi << 1) | (lo >> 63)) ^ (fold & 0xc200000000000000ULL);
    lo = (lo << 1) ^ (fold & 1);
    __m128i h1 = _mm_set_epi64x((long long)hi, (long long)lo), p = h1;
    for (int i = 15; i >= 0; i--) {
        _mm_storeu_si128((__m128i *)k->hpow[i], p);
        p = ghash_mul(p, h1);
    }
    memset(k->hpow[16], 0, 16 * sizeof k->hpow[0]);
}

static void key_load(gcm_key *k, const uint8_t key[32])
{
    if (k->set && CRYPTO_memcmp(k->key, key, 32) == 0)
        return;
    gcm_fast_wipe(k);
    key_setup(k, key);
    memcpy(k->key, key, 32);
    k->set = true;
}

/* ---- CTR + GHASH ---- */

/* The bytes of register i (of four) that lie within the first len. */
static inline __mmask64 part_mask(size_t len, unsigned i)
{
    size_t off = 64u * i;
    if (len <= off)
        return 0;
    return len - off >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (len - off)) - 1);
}

GCM_TARGET static inline __m512i load_part(const uint8_t *p, size_t len, unsigned i)
{
    __mmask64 m = part_mask(len, i);
    return m ? _mm512_maskz_loadu_epi8(m, p + 64u * i) : _mm512_setzero_si512();
}

/* GHASH of len bytes (zero-padded to a whole block) into y. */
GCM_TARGET static __m128i ghash_bytes(const gcm_key *k, __m128i y, const uint8_t *p,
                                      size_t len, __m512i rev)
{
    for (; len >= 256; p += 256, len -= 256)
        y = ghash16(y, _mm512_shuffle_epi8(_mm512_loadu_si512(p), rev),
                    _mm512_shuffle_epi8(_mm512_loadu_si512(p + 64), rev),
                    _mm512_shuffle_epi8(_mm512_loadu_si512(p + 128), rev),
                    _mm512_shuffle_epi8(_mm512_loadu_si512(p + 192), rev), k->hpow);
    if (len)
        y = ghash16(y, _mm512_shuffle_epi8(load_part(p, len, 0), rev),
                    _mm512_shuffle_epi8(load_part(p, len, 1), rev),
                    _mm512_shuffle_epi8(load_part(p, len, 2), rev),
                    _mm512_shuffle_epi8(load_part(p, len, 3), rev),
                    k->hpow + 16 - (len + 15) / 16);
    return y;
}

#define AES_ROUND4(f, r)                                                           \
    b0 = f(b0, r);                                                                 \
    b1 = f(b1, r);                                                                 \
    b2 = f(b2, r);                                                                 \
    b3 = f(b3, r)

/* Encrypt (enc) or decrypt in -> out and compute the tag. */
GCM_TARGET static void gcm_crypt(const gcm_key *k, const uint8_t iv[12], const uint8_t *aad,
                                 size_t aadlen, const uint8_t *in, size_t len, uint8_t *out,
                                 bool enc, uint8_t tag[16])
{
    const __m128i rev1 =
        _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i rev = _mm512_broadcast_i32x4(rev1);
    const __m512i inc4 = _mm512_broadcast_i32x4(_mm_set_epi32(0, 0, 0, 4));
    __m512i rkz[15];
    for (int r = 0; r < 15; r++)
        rkz[r] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)k->rk[r]));

    /* J0 = iv || 1; the data's counters start at J0 + 1 */
    uint8_t j0b[16];
    memcpy(j0b, iv, 12);
    memcpy(j0b + 12, "\0\0\0\1", 4);
    __m128i j0 = _mm_loadu_si128((const __m128i *)j0b);
    __m128i ekj0 = aes_block(k, j0);
    __m512i ctr = _mm512_add_epi32(_mm512_broadcast_i32x4(_mm_shuffle_epi8(j0, rev1)),
                                   _mm512_set_epi32(0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1));

    __m128i y = ghash_bytes(k, _mm_setzero_si128(), aad, aadlen, rev);
    size_t total = len;
    /* the previous iteration's ciphertext, hashed in the next one: written
     * first, its GHASH enters the out-of-order window before this
     * iteration's AES and overlaps it */
    __m512i x0 = _mm512_setzero_si512(), x1 = x0, x2 = x0, x3 = x0;
    const uint8_t (*xpw)[16] = NULL;
    while (len > 0) {
        if (xpw)
            y = ghash16(y, x0, x1, x2, x3, xpw);
        __m512i b0 = ctr, b1 = _mm512_add_epi32(b0, inc4);
        __m512i b2 = _mm512_add_epi32(b1, inc4), b3 = _mm512_add_epi32(b2, inc4);
        ctr = _mm512_add_epi32(b3, inc4);
        b0 = _mm512_xor_si512(_mm512_shuffle_epi8(b0, rev), rkz[0]);
        b1 = _mm512_xor_si512(_mm512_shuffle_epi8(b1, rev), rkz[0]);
        b2 = _mm512_xor_si512(_mm512_shuffle_epi8(b2, rev), rkz[0]);
        b3 = _mm512_xor_si512(_mm512_shuffle_epi8(b3, rev), rkz[0]);
        for (int r = 1; r < 14; r++) {
            AES_ROUND4(_mm512_aesenc_epi128, rkz[r]);
        }
        AES_ROUND4(_mm512_aesenclast_epi128, rkz[14]);

        __m512i d0, d1, d2, d3;
        const uint8_t (*pw)[16] = k->hpow;
        if (len >= 256) {
            d0 = _mm512_loadu_si512(in);
            d1 = _mm512_loadu_si512(in + 64);
            d2 = _mm512_loadu_si512(in + 128);
            d3 = _mm512_loadu_si512(in + 192);
            b0 = _mm512_xor_si512(b0, d0);
            b1 = _mm512_xor_si512(b1, d1);
            b2 = _mm512_xor_si512(b2, d2);
            b3 = _mm512_xor_si512(b3, d3);
            _mm512_storeu_si512(out, b0);
            _mm512_storeu_si512(out + 64, b1);
            _mm512_storeu_si512(out + 128, b2);
            _mm512_storeu_si512(out + 192, b3);
            in += 256;
            out += 256;
            len -= 256;
        } else {
            __mmask64 m0 = part_mask(len, 0), m1 = part_mask(len, 1);
            __mmask64 m2 = part_mask(len, 2), m3 = part_mask(len, 3);
            d0 = load_part(in, len, 0);
            d1 = load_part(in, len, 1);
            d2 = load_part(in, len, 2);
            d3 = load_part(in, len, 3);
            /* zero past len, so the ciphertext hashed is zero-padded */
            b0 = _mm512_maskz_mov_epi8(m0, _mm512_xor_si512(b0, d0));
            b1 = _mm512_maskz_mov_epi8(m1, _mm512_xor_si512(b1, d1));
            b2 = _mm512_maskz_mov_epi8(m2, _mm512_xor_si512(b2, d2));
            b3 = _mm512_maskz_mov_epi8(m3, _mm512_xor_si512(b3, d3));
            _mm512_mask_storeu_epi8(out, m0, b0);
            if (m1)
                _mm512_mask_storeu_epi8(out + 64, m1, b1);
            if (m2)
                _mm512_mask_storeu_epi8(out + 128, m2, b2);
            if (m3)
                _mm512_mask_storeu_epi8(out + 192, m3, b3);
            pw = k->hpow + 16 - (len + 15) / 16;
            len = 0;
        }
        x0 = _mm512_shuffle_epi8(enc ? b0 : d0, rev);
        x1 = _mm512_shuffle_epi8(enc ? b1 : d1, rev);
        x2 = _mm512_shuffle_epi8(enc ? b2 : d2, rev);
        x3 = _mm512_shuffle_epi8(enc ? b3 : d3, rev);
        xpw = pw;
    }
    if (xpw)
        y = ghash16(y, x0, x1, x2, x3, xpw);

    /* the length block, bit counts big-endian: reversed, aad's is the high
     * half */
    __m128i lens = _mm_set_epi64x((long long)((uint64_t)aadlen * 8), (long long)((uint64_t)total * 8));
    __m512i z = _mm512_setzero_si512();
    y = ghash16(y, _mm512_zextsi128_si512(lens), z, z, z, k->hpow + 15);
    _mm_storeu_si128((__m128i *)tag, _mm_xor_si128(_mm_shuffle_epi8(y, rev1), ekj0));
    OPENSSL_cleanse(rkz, sizeof rkz);
}

static bool cpu_ok;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static void cpu_check(void)
{
    unsigned a, b, c, d, xlo, xhi;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_AES) || !(c & bit_PCLMUL) ||
        !(c & bit_OSXSAVE) || !(c & bit_AVX))
        return;
    /* XCR0: SSE, AVX, opmask, upper zmm0-15, zmm16-31 state enabled */
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    (void)xhi;
    if ((xlo & 0xe6) != 0xe6 || __get_cpuid_max(0, NULL) < 7)
        return;
    __cpuid_count(7, 0, a, b, c, d);
    cpu_ok = (b & bit_AVX2) && (b & bit_AVX512F) && (b & bit_AVX512BW) &&
             (b & bit_AVX512VL) && (c & bit_VAES) && (c & bit_VPCLMULQDQ);
}

bool gcm_fast_available(void)
{
    pthread_once(&cpu_once, cpu_check);
    return cpu_ok;
}

void gcm_fast_seal(gcm_key *k, const uint8_t key[32], const uint8_t iv[12],
                   const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
                   uint8_t *out, uint8_t tag[16])
{
    key_load(k, key);
    gcm_crypt(k, iv, aad, aadlen, in, len, out, true, tag);
}

bool gcm_fast_open(gcm_key *k, const uint8_t key[32], const uint8_t iv[12],
                   const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
                   const uint8_t tag[16], uint8_t *out)
{
    uint8_t got[16];
    key_load(k, key);
    gcm_crypt(k, iv, aad, aadlen, in, len, out, false, got);
    bool ok = CRYPTO_memcmp(got, tag, 16) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return ok;
}

#else /* not x86-64: gcm_fast_available() is false and crypto.c uses
       * OpenSSL; seal and open exist only so that it links */

bool gcm_fast_available(void)
{
    return false;
}

void gcm_fast_seal(gcm_key *k, const uint8_t key[32], const uint8_t iv[12],
                   const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
                   uint8_t *out, uint8_t tag[16])
{
    abort();
}

bool gcm_fast_open(gcm_key *k, const uint8_t key[32], const uint8_t iv[12],
                   const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
                   const uint8_t tag[16], uint8_t *out)
{
    abort();
}

#endif
