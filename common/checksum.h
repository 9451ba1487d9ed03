/*
 * common/checksum.h - streaming digests: MD5 (ETags), the five S3 checksum
 * algorithms (CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256), and the CRC32C that
 * guards every shard block.
 *
 * Contract:
 *  - A cks_state is created once and reused: cks_reset() starts a new value
 *    without reallocating (hash contexts are fetched once per state, never
 *    per call: one-shot EVP_Digest per call costs ~3x here).
 *  - Values are the standard ones S3 returns: CRC32 is the IEEE/gzip CRC,
 *    CRC32C the Castagnoli CRC, CRC64NVME the CRC-64/NVME (Rocksoft) CRC; all
 *    finalised and emitted big-endian in cks_final's raw output, so base64 of
 *    the raw bytes is exactly the x-amz-checksum-* header value.
 *  - Not thread-safe per state; independent states may be used concurrently.
 */
#ifndef CF_CHECKSUM_H
#define CF_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef enum cks_algo {
    CKS_NONE = 0,
    CKS_CRC32,
    CKS_CRC32C,
    CKS_CRC64NVME,
    CKS_SHA1,
    CKS_SHA256,
    CKS_MD5,        /* not an S3 checksum algorithm; used for ETags */
    CKS_ALGO_COUNT
} cks_algo;

#define CKS_MAX_RAW 32      /* largest raw digest (SHA-256) */
#define CKS_MAX_B64 45      /* base64 of 32 bytes + NUL */
#define CKS_MAX_HEX 65      /* hex of 32 bytes + NUL */

typedef struct cks_state cks_state;

/* Allocate a state for `algo` (not CKS_NONE). NULL on failure, with err set. */
cks_state *cks_new(cks_algo algo, cf_err *err);
void cks_free(cks_state *s);
void cks_reset(cks_state *s);
void cks_update(cks_state *s, const void *data, size_t len);
/* The same bytes into a and b (b may be NULL): equal to cks_update on each,
 * but an MD5 and a SHA-256 state go through the data together, in one pass
 * that costs about what MD5 alone does (common/md5sha.h), where the CPU
 * allows; otherwise one after the other. */
void cks_update2(cks_state *a, cks_state *b, const void *data, size_t len);
/* cks_update2, and the bytes copied to dst (may be NULL: no copy; must not
 * overlap data) in the same pass where the stitched code runs. */
void cks_update2_copy(cks_state *a, cks_state *b, void *dst, const void *data, size_t len);
/* Write the raw digest to out (cks_raw_len(algo) bytes); the state must be
 * reset before reuse. Returns the length written. */
size_t cks_final(cks_state *s, uint8_t out[CKS_MAX_RAW]);
cks_algo cks_state_algo(const cks_state *s);

size_t cks_raw_len(cks_algo algo);
/* "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "MD5"; NULL for CKS_NONE. */
const char *cks_algo_name(cks_algo algo);
/* Case-insensitive parse of the names above; CKS_NONE if unknown. */
cks_algo cks_algo_from_name(const char *name);
/* The S3 header for the algorithm: "x-amz-checksum-crc32" etc. (lowercase);
 * NULL for CKS_NONE and CKS_MD5 (not an S3 checksum). */
const char *cks_header_name(cks_algo algo);

/* The CRC algorithms (CRC32, CRC32C, CRC64NVME): their values combine. */
bool cks_is_crc(cks_algo algo);
/* The CRC of A || B from the CRC of A, the CRC of B and the length of B,
 * each CRC in the raw big-endian form cks_final writes (cks_raw_len bytes):
 * what S3 computes for a multipart upload's full-object checksum from its
 * parts' checksums. out may alias a or b. -1 if algo is not a CRC. */
int cks_crc_combine(cks_algo algo, const uint8_t *crc_a, const uint8_t *crc_b,
                    uint64_t len_b, uint8_t *out);

/* Standard CRC32C (Castagnoli), chainable: crc = cks_crc32c(crc, p, n) with
 * crc = 0 to start. Value equals the finalised CRC of everything so far. */
uint32_t cks_crc32c(uint32_t crc, const void *data, size_t len);

/* Base64 (hex is common/hex.h). Returns the length written (excluding
 * NUL), or 0 if the output buffer is too small. Decoding (returns 0, or
 * -1) rejects bad characters, bad or non-canonical padding, empty input,
 * and any decoded length other than exactly outsz (the size the caller
 * expects); *outlen (may be NULL) then receives outsz. */
size_t cks_to_base64(const uint8_t *raw, size_t len, char *out, size_t outsz);
int cks_from_base64(const char *b64, uint8_t *out, size_t outsz, size_t *outlen);
/* The same rule for a run of len characters (no NUL needed) of any decoded
 * length up to cap: the number of bytes written, or -1. */
long cks_base64_decode(const char *b64, size_t len, uint8_t *out, size_t cap);

#endif
