/* tests/unit/test_gcm.c - the VAES AES-256-GCM (storage/gcm.c) against
 * OpenSSL EVP: random keys, nonces, AADs and lengths around every register
 * and 256-byte boundary, in place and not; NIST known answers; tampering;
 * the key cache. On a CPU without VAES/AVX-512 there is no fast path to
 * test and each case says so. */
#include "storage/gcm.h"
#include "tests/unit/test.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

static bool have_fast(void)
{
    if (!gcm_fast_available())
        fprintf(stderr, "no VAES/VPCLMULQDQ/AVX-512 here: nothing to test\n");
    return gcm_fast_available();
}

static bool evp_seal(const uint8_t key[32], const uint8_t iv[12], const uint8_t *aad,
                     size_t aadlen, const uint8_t *pt, size_t len, uint8_t *ct,
                     uint8_t tag[16])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    bool ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv) &&
              EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) &&
              EVP_EncryptUpdate(ctx, ct, &n, pt, (int)len) &&
              EVP_EncryptFinal_ex(ctx, ct + n, &n) &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

static uint8_t *buf(size_t len, unsigned long long seed)
{
    uint8_t *p = malloc(len ? len : 1);
    if (p)
        test_fill_random(p, len, seed);
    return p;
}

/* Seal len bytes with one random key/nonce/AAD both ways and compare; open
 * it again, in place and not; flip a bit of tag, ciphertext, AAD. */
static void one_case(gcm_key *k, size_t len, size_t aadlen, unsigned long long seed)
{
    uint8_t key[32], iv[12], tag[16], reftag[16], tag2[16];
    test_fill_random(key, sizeof key, seed);
    test_fill_random(iv, sizeof iv, seed + 1);
    uint8_t *aad = buf(aadlen, seed + 2), *pt = buf(len, seed + 3);
    uint8_t *ref = buf(len, 0), *ct = buf(len, 0), *inpl = buf(len, 0), *back = buf(len, 0);
    REQUIRE(aad && pt && ref && ct && inpl && back);

    REQUIRE(evp_seal(key, iv, aad, aadlen, pt, len, ref, reftag));
    gcm_fast_seal(k, key, iv, aad, aadlen, pt, len, ct, tag);
    if (memcmp(ct, ref, len) != 0 || memcmp(tag, reftag, 16) != 0) {
        fprintf(stderr, "mismatch at len %zu aad %zu\n", len, aadlen);
        CHECK(false);
    }
    memcpy(inpl, pt, len);
    gcm_fast_seal(k, key, iv, aad, aadlen, inpl, len, inpl, tag2);
    CHECK(memcmp(inpl, ref, len) == 0);
    CHECK(memcmp(tag2, reftag, 16) == 0);

    CHECK(gcm_fast_open(k, key, iv, aad, aadlen, ref, len, reftag, back));
    CHECK(memcmp(back, pt, len) == 0);
    CHECK(gcm_fast_open(k, key, iv, aad, aadlen, inpl, len, reftag, inpl));
    CHECK(memcmp(inpl, pt, len) == 0);

    reftag[seed % 16] ^= 0x80;
    CHECK(!gcm_fast_open(k, key, iv, aad, aadlen, ref, len, reftag, back));
    reftag[seed % 16] ^= 0x80;
    if (len) {
        ref[seed % len] ^= 1;
        CHECK(!gcm_fast_open(k, key, iv, aad, aadlen, ref, len, reftag, back));
        ref[seed % len] ^= 1;
    }
    if (aadlen) {
        aad[seed % aadlen] ^= 4;
        CHECK(!gcm_fast_open(k, key, iv, aad, aadlen, ref, len, reftag, back));
        aad[seed % aadlen] ^= 4;
    }
    iv[11] ^= 1;
    CHECK(!gcm_fast_open(k, key, iv, aad, aadlen, ref, len, reftag, back));
    free(aad), free(pt), free(ref), free(ct), free(inpl), free(back);
}

static void matches_openssl_at_every_boundary(void)
{
    if (!have_fast())
        return;
    static const size_t lens[] = {0,   1,   15,  16,  17,  31,   32,   33,   47,   63,
                                  64,  65,  127, 128, 129, 191,  192,  193,  239,  240,
                                  241, 255, 256, 257, 271, 511,  512,  513,  767,  1000,
                                  4095, 4096, 4097, 65536 + 7, 65536 + 256,
                                  (1 << 20) + 17};
    static const size_t aads[] = {0, 1, 12, 16, 17, 37, 64, 255, 256, 257, 300, 1024};
    gcm_key k = {0};
    unsigned long long seed = 100;
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        for (size_t j = 0; j < sizeof aads / sizeof aads[0]; j += lens[i] > 4096 ? 4 : 1)
            one_case(&k, lens[i], aads[j], seed += 7);
    gcm_fast_wipe(&k);
}

static void matches_openssl_on_random_sizes(void)
{
    if (!have_fast())
        return;
    gcm_key k = {0};
    uint8_t r[4];
    for (unsigned long long s = 1; s <= 300; s++) {
        test_fill_random(r, sizeof r, s * 977);
        one_case(&k, ((size_t)r[0] << 4 | r[1]) % 5000, r[2] % 100, s * 31);
    }
    gcm_fast_wipe(&k);
}

static void hex(const char *h, uint8_t *out)
{
    for (size_t i = 0; h[2 * i]; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

/* The AES-256 cases of the GCM specification (McGrew & Viega, test cases
 * 13 to 16). */
static void known_answers(void)
{
    if (!have_fast())
        return;
    static const struct {
        const char *key, *iv, *pt, *aad, *ct, *tag;
    } v[] = {
        {"0000000000000000000000000000000000000000000000000000000000000000",
         "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
        {"0000000000000000000000000000000000000000000000000000000000000000",
         "000000000000000000000000", "00000000000000000000000000000000", "",
         "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
        {"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
         "cafebabefacedbaddecaf888",
         "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
         "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
         "",
         "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
         "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
         "b094dac5d93471bdec1a502270e3cc6c"},
        {"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
         "cafebabefacedbaddecaf888",
         "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
         "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
         "feedfacedeadbeeffeedfacedeadbeefabaddad2",
         "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
         "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
         "76fc6ece0f4e1768cddf8853bb2d551b"},
    };
    gcm_key k = {0};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t key[32], iv[12], pt[64], aad[20], ct[64], tag[16], want[64], wtag[16];
        size_t len = strlen(v[i].pt) / 2, aadlen = strlen(v[i].aad) / 2;
        hex(v[i].key, key), hex(v[i].iv, iv), hex(v[i].pt, pt), hex(v[i].aad, aad);
        hex(v[i].ct, want), hex(v[i].tag, wtag);
        gcm_fast_seal(&k, key, iv, aad, aadlen, pt, len, ct, tag);
        CHECK(memcmp(ct, want, len) == 0);
        CHECK(memcmp(tag, wtag, 16) == 0);
        CHECK(gcm_fast_open(&k, key, iv, aad, aadlen, want, len, wtag, ct));
        CHECK(memcmp(ct, pt, len) == 0);
    }
    gcm_fast_wipe(&k);
}

/* One gcm_key used with two keys in turn re-expands each time: every
 * result still matches OpenSSL under the key it was given. */
static void key_cache_follows_the_key(void)
{
    if (!have_fast())
        return;
    gcm_key k = {0};
    uint8_t keys[2][32], iv[12] = {0}, pt[300], ct[300], ref[300], tag[16], reftag[16];
    test_fill_random(keys[0], 32, 1);
    memcpy(keys[1], keys[0], 32);
    keys[1][31] ^= 1; /* differs in the last byte only */
    test_fill_random(pt, sizeof pt, 3);
    for (int i = 0; i < 8; i++) {
        const uint8_t *key = keys[i % 2];
        iv[0] = (uint8_t)i;
        REQUIRE(evp_seal(key, iv, pt, 20, pt, sizeof pt, ref, reftag));
        gcm_fast_seal(&k, key, iv, pt, 20, pt, sizeof pt, ct, tag);
        CHECK(memcmp(ct, ref, sizeof ct) == 0 && memcmp(tag, reftag, 16) == 0);
        CHECK(k.set && memcmp(k.key, key, 32) == 0);
        /* the other key does not open it */
        CHECK(!gcm_fast_open(&k, keys[(i + 1) % 2], iv, pt, 20, ref, sizeof ref, reftag,
                             ct));
    }
    gcm_fast_wipe(&k);
    static const gcm_key zero;
    CHECK(memcmp(&k, &zero, sizeof k) == 0);
}

TEST_MAIN("gcm",
          T(matches_openssl_at_every_boundary),
          T(matches_openssl_on_random_sizes),
          T(known_answers),
          T(key_cache_follows_the_key))
