/*
 * storage/gcm.h - AES-256-GCM with VAES and VPCLMULQDQ on 512-bit registers.
 *
 * The same algorithm as OpenSSL's AES-256-GCM with a 96-bit nonce (NIST SP
 * 800-38D): byte for byte the same ciphertext and tag, so data sealed by
 * either opens with the other. storage/crypto.c uses it when
 * gcm_fast_available() and OpenSSL EVP otherwise; nothing else calls it.
 *
 * A gcm_key caches one key's expanded AES schedule and the powers of its
 * hash key H. Seal and open take the raw key and expand it only when it
 * differs from the cached one (the engine seals every block of a segment
 * under one data key), wiping the old schedule first. A gcm_key belongs to
 * one thread at a time (it lives in a crypt_ctx); zero it before first use
 * and gcm_fast_wipe() it before freeing.
 *
 * Lengths: len <= GCM_FAST_MAX_LEN (the GCM limit, 2^36 - 32 bytes; the
 * caller sends longer input to OpenSSL, which refuses it). in and out may
 * be the same buffer, or must not overlap. Nothing here logs.
 */
#ifndef ST_GCM_H
#define ST_GCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GCM_FAST_MAX_LEN ((1ULL << 36) - 32)

typedef struct gcm_key {
    bool set;                  /* key/rk/hpow hold a key */
    uint8_t key[32];           /* the raw key the schedule was made from */
    uint8_t rk[15][16];        /* AES-256 round keys */
    /* (H^16 .. H^1) * x, byte-reflected, then 16 zero entries: loading 16
     * entries from hpow[16 - n] gives the factors of an n-block tail */
    uint8_t hpow[32][16];
} gcm_key;

/* Does this CPU (and OS: zmm state enabled) run the fast path? cpuid and
 * xgetbv are read once. */
bool gcm_fast_available(void);

/* Encrypt len bytes in -> out and write the 16-byte tag. */
void gcm_fast_seal(gcm_key *k, const uint8_t key[32], const uint8_t iv[12],
                   const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
                   uint8_t *out, uint8_t tag[16]);
/* Decrypt len bytes in -> out; true only if tag verifies (compared in
 * constant time). On false out holds unauthenticated bytes: the caller must
 * not use them. */
bool gcm_fast_open(gcm_key *k, const uint8_t key[32], const uint8_t iv[12],
                   const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
                   const uint8_t tag[16], uint8_t *out);

/* Overwrite the cached key and schedule. */
void gcm_fast_wipe(gcm_key *k);

#endif
