/*
 * storage/crypto.h - keys and authenticated encryption for coffer's data.
 *
 * Key hierarchy (DESIGN.md §5):
 *   master key (32 bytes, key file mode 0600)
 *     -> tenant KEK = HKDF-SHA256(master, salt "coffer-kek-v1", info tenant)
 *        -> per segment data key (random 32 bytes), stored only wrapped:
 *           wrapped = nonce(12) || AES-256-GCM(kek, dk)(32) || tag(16) = 60 bytes,
 *           with AAD "cofferK1" || data id binding the segment's data id, so
 *           a wrapped key cannot be moved to another segment.
 *   SSE-C (a customer-provided key, never stored): the segment data keys
 *   of such an object are wrapped the same way, but under
 *      ssec KEK = HKDF-SHA256(ikm = tenant KEK || customer key,
 *                             salt = the object's random 16-byte salt,
 *                             info "coffer-ssec-kek-v1"),
 *   so reading needs both the master key and the customer's key. The index
 *   keeps only salt || HMAC-SHA256(customer key, "coffer-ssec-check-v1" ||
 *   salt) to tell a wrong key from a right one.
 *   A "segment" is one separately written run of blocks: a single PUT's
 *   data, or one multipart part (each part upload gets its own data key, so a
 *   re-uploaded part can never reuse a nonce under the same key).
 *
 * Blocks: AES-256-GCM with a 96-bit nonce = part number (4, big-endian) ||
 * block index (8, big-endian): unique per (data key, part, block). The AAD is
 * "cofferB1" || data id (16) || part (4) || block index (8) || last flag (1),
 * so reordering, truncating, or splicing blocks across segments fails the tag.
 *
 * Contexts: a crypt_ctx caches the EVP cipher and context, and for the
 * VAES path (storage/gcm.h) the last key's expanded schedule; make one per
 * stream/thread and reuse it for every block. crypt_ctx_free wipes it. Nothing here logs; errors
 * never contain key material.
 */
#ifndef ST_CRYPTO_H
#define ST_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define CRYPT_KEY_LEN 32
#define CRYPT_TAG_LEN 16
#define CRYPT_NONCE_LEN 12
#define CRYPT_WRAPPED_LEN 60
#define CRYPT_DATA_ID_LEN 16

/* Where a block sits; everything the AAD and nonce bind. */
typedef struct crypt_pos {
    const uint8_t *data_id;     /* CRYPT_DATA_ID_LEN bytes */
    uint32_t part;              /* 0 for a single PUT, else the part number */
    uint64_t block;             /* block index within the segment */
    bool last;                  /* the segment's final block */
} crypt_pos;

typedef struct crypt_ctx crypt_ctx;

crypt_ctx *crypt_ctx_new(cf_err *err);
void crypt_ctx_free(crypt_ctx *c);

/* Encrypt len bytes pt -> ct (may alias), tag out. */
int crypt_seal_block(crypt_ctx *c, const uint8_t key[CRYPT_KEY_LEN],
                     const crypt_pos *pos, const uint8_t *pt, size_t len,
                     uint8_t *ct, uint8_t tag[CRYPT_TAG_LEN], cf_err *err);
/* Decrypt and authenticate; CF_ECORRUPT if the tag does not verify (then the
 * output buffer content is unspecified and must not be used). */
int crypt_open_block(crypt_ctx *c, const uint8_t key[CRYPT_KEY_LEN],
                     const crypt_pos *pos, const uint8_t *ct, size_t len,
                     const uint8_t tag[CRYPT_TAG_LEN], uint8_t *pt, cf_err *err);

/* Fill buf with n cryptographically random bytes. */
int crypt_random(void *buf, size_t n, cf_err *err);

/* Master key file: 64 hex characters (optionally followed by a newline).
 * Load refuses a file accessible by group/other, not a regular file, of the
 * wrong size, or with non-hex content, naming the file and the reason
 * (CF_ECONFIG). Symlinks are followed (secret mounts use them). Generate creates the file
 * with mode 0600 (O_EXCL: never overwrites) and fsyncs it and its directory. */
int crypt_master_load(const char *path, uint8_t key[CRYPT_KEY_LEN], cf_err *err);
int crypt_master_generate(const char *path, uint8_t key[CRYPT_KEY_LEN], cf_err *err);
/* Parse 64 hex chars (from the environment, say). */
int crypt_master_from_hex(const char *hex, uint8_t key[CRYPT_KEY_LEN], cf_err *err);

/* A value stored in the index that proves the master key is the one the data
 * set was made with, without revealing it: HMAC-SHA256(master, "coffer-check-v1"). */
void crypt_master_check(const uint8_t master[CRYPT_KEY_LEN], uint8_t out[32]);

/* tenant KEK = HKDF-SHA256(master, "coffer-kek-v1", tenant) */
int crypt_derive_kek(const uint8_t master[CRYPT_KEY_LEN], const char *tenant,
                     uint8_t kek[CRYPT_KEY_LEN], cf_err *err);

/* Wrap/unwrap a data key under a KEK, bound to the segment's data id. */
int crypt_wrap_key(crypt_ctx *c, const uint8_t kek[CRYPT_KEY_LEN],
                   const uint8_t data_id[CRYPT_DATA_ID_LEN],
                   const uint8_t dk[CRYPT_KEY_LEN],
                   uint8_t wrapped[CRYPT_WRAPPED_LEN], cf_err *err);
int crypt_unwrap_key(crypt_ctx *c, const uint8_t kek[CRYPT_KEY_LEN],
                     const uint8_t data_id[CRYPT_DATA_ID_LEN],
                     const uint8_t wrapped[CRYPT_WRAPPED_LEN],
                     uint8_t dk[CRYPT_KEY_LEN], cf_err *err);

/* SSE-C (see the top). What the index keeps of a customer key: a fresh
 * salt and its check value (CRYPT_SSEC_LEN bytes). */
#define CRYPT_SSEC_SALT_LEN 16
#define CRYPT_SSEC_LEN (CRYPT_SSEC_SALT_LEN + 32)
int crypt_ssec_new(const uint8_t ckey[CRYPT_KEY_LEN], uint8_t stored[CRYPT_SSEC_LEN],
                   cf_err *err);
/* Is ckey the key stored was made from? (constant time) */
bool crypt_ssec_match(const uint8_t ckey[CRYPT_KEY_LEN],
                      const uint8_t stored[CRYPT_SSEC_LEN]);
/* The key that wraps the object's data keys (the caller wipes it). */
int crypt_ssec_kek(const uint8_t kek[CRYPT_KEY_LEN], const uint8_t ckey[CRYPT_KEY_LEN],
                   const uint8_t stored[CRYPT_SSEC_LEN], uint8_t out[CRYPT_KEY_LEN],
                   cf_err *err);
/* The ETag bytes of SSE-C data with plaintext MD5 md5: the first 16 bytes
 * of HMAC-SHA256(ssec KEK, "coffer-ssec-etag-v1" || md5). S3's ETags of
 * SSE-C objects are not the MD5 of the data, and a plain MD5 would let
 * anyone who may list the bucket test guesses of the plaintext. */
void crypt_ssec_etag(const uint8_t ssec_kek[CRYPT_KEY_LEN], const uint8_t md5[16],
                     uint8_t out[16]);

/* Secret access keys at rest: AES-256-GCM under a key derived from the master
 * key (HKDF salt and info both "coffer-secrets-v1", so no tenant id can
 * derive it as a KEK), AAD = "cofferS1" || the access key id.
 * Output: nonce || ct || tag, length len + 28. The engine derives the
 * secrets key once (crypt_derive_secrets_key) and passes it to seal/open. */
int crypt_derive_secrets_key(const uint8_t master[CRYPT_KEY_LEN],
                             uint8_t skey[CRYPT_KEY_LEN], cf_err *err);
int crypt_seal_secret(crypt_ctx *c, const uint8_t skey[CRYPT_KEY_LEN],
                      const char *access_key, const char *secret,
                      uint8_t *out, size_t outsz, size_t *outlen, cf_err *err);
int crypt_open_secret(crypt_ctx *c, const uint8_t skey[CRYPT_KEY_LEN],
                      const char *access_key, const uint8_t *in, size_t inlen,
                      char *secret, size_t secretsz, cf_err *err);

/* Sealed blobs (the cold tier's remote object headers): random nonce ||
 * AES-256-GCM ciphertext || tag, CRYPT_BLOB_OVERHEAD bytes more than the
 * plaintext, AAD = an 8-byte domain ("cofferT1", "cofferM1") || aad, so a
 * blob of one kind or bound to one object never opens as another.
 * out may not alias pt/in. Open fails with CF_ECORRUPT on a bad tag. */
#define CRYPT_BLOB_OVERHEAD (CRYPT_NONCE_LEN + CRYPT_TAG_LEN)
int crypt_seal_blob(crypt_ctx *c, const uint8_t key[CRYPT_KEY_LEN], const char domain[8],
                    const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t len,
                    uint8_t *out, cf_err *err);
int crypt_open_blob(crypt_ctx *c, const uint8_t key[CRYPT_KEY_LEN], const char domain[8],
                    const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t inlen,
                    uint8_t *out, cf_err *err);
/* The key that seals a remote object's outer header (the part that names
 * its tenant): HKDF-SHA256(master, salt and info "coffer-tier-v1"), so the
 * master key alone opens it; no tenant id can derive it as a KEK. */
int crypt_derive_tier_key(const uint8_t master[CRYPT_KEY_LEN], uint8_t key[CRYPT_KEY_LEN],
                          cf_err *err);

/* Overwrite key material before freeing/returning (not optimised away). */
void crypt_wipe(void *p, size_t n);

#endif
