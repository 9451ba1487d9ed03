/*
 * common/md5sha.h - MD5 and SHA-256 over the same bytes in one pass, for the
 * PUT bodies that need both (the ETag's MD5 and a signed payload's or chunk
 * signature's SHA-256). Used through common/checksum.h (cks_update2); see
 * md5sha.c for why and how.
 *
 * Contract:
 *  - md5sha_available(): true where the fast code runs (x86-64 with the SHA
 *    extensions, SSSE3, SSE4.1). Where false, nothing else here may be
 *    called: use OpenSSL.
 *  - A context is plain memory: md5sha_init starts an MD5 or a SHA-256
 *    value, md5sha_update adds bytes, md5sha_final writes the digest (16 or
 *    32 bytes, returned) and leaves the context to be initialised again.
 *  - md5sha_update_both(md5, sha, ...) equals md5sha_update on each, for any
 *    lengths and any bytes already in either: whole blocks of both are
 *    hashed interleaved, the rest one after the other.
 *  - md5sha_update_copy and md5sha_update_both_copy also copy the bytes to
 *    dst, in the same loop where MD5 runs (it leaves the store ports idle).
 *  - No locks, no allocation; a context belongs to one thread at a time.
 */
#ifndef CF_MD5SHA_H
#define CF_MD5SHA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct md5sha_ctx {
    uint32_t h[8];          /* MD5 uses h[0..3] */
    uint64_t bytes;         /* hashed or buffered so far */
    uint8_t buf[64];        /* bytes % 64 of them, not yet hashed */
    bool sha256;
} md5sha_ctx;

bool md5sha_available(void);
void md5sha_init(md5sha_ctx *c, bool sha256);
void md5sha_update(md5sha_ctx *c, const void *data, size_t len);
/* md5sha_update, and data copied to dst (len bytes, not overlapping data):
 * for MD5 in the same loop, for SHA-256 copied first. */
void md5sha_update_copy(md5sha_ctx *c, void *dst, const void *data, size_t len);
void md5sha_update_both(md5sha_ctx *md5, md5sha_ctx *sha, const void *data, size_t len);
/* The same, and data is copied to dst (len bytes, not overlapping data) in
 * the same pass: the body's copy into the engine's block rides along. */
void md5sha_update_both_copy(md5sha_ctx *md5, md5sha_ctx *sha, void *dst, const void *data,
                             size_t len);
size_t md5sha_final(md5sha_ctx *c, uint8_t out[32]);

#endif
