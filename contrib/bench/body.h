/*
 * contrib/bench/body.h - the bytes coffer-bench sends and expects back,
 * made on the fly from a seeded pattern (never read from a file), as
 * bodies for the outgoing S3 client (client/s3c.h), which frames them
 * for aws-chunked uploads itself.
 *
 * Pattern: one buffer of BODY_PATTERN_LEN pseudo-random bytes is made from
 * the seed at start. Object `id` is the pattern read from offset
 * shift(seed, id), wrapping around, so every object differs, any byte of
 * any object is known without storing it (GETs can be verified), and
 * making a body costs a memcpy. The pattern length is odd-sized so object
 * data does not repeat on 1 MiB block boundaries.
 *
 * One SHA-256 context (fetched once) serves the whole process: coffer-bench
 * is single-threaded.
 */
#ifndef BM_BODY_H
#define BM_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/s3c.h"
#include "common/error.h"

#define BODY_PATTERN_LEN ((4u << 20) + 4093u)

/* Make the pattern for seed (BODY_PATTERN_LEN bytes, malloc'd). */
uint8_t *body_pattern_new(uint64_t seed);

/* A byte range of a generated object. */
typedef struct gen_body {
    const uint8_t *pat;
    uint64_t start;                  /* pattern offset of byte 0 */
    uint64_t size;
    uint64_t pos;                    /* bytes handed out so far */
} gen_body;

/* Bytes [off, off + size) of object id. */
void gen_init(gen_body *g, const uint8_t *pat, uint64_t seed, uint64_t id,
              uint64_t off, uint64_t size);
/* Copy up to n next bytes to out; returns how many (0 at the end). */
size_t gen_read(gen_body *g, uint8_t *out, size_t n);
/* g as a client body (rewinds); g must outlive the request. */
void gen_as_body(gen_body *g, s3c_body *b);
/* True if data equals bytes [off, off + n) of the body. */
bool gen_matches(const gen_body *g, uint64_t off, const uint8_t *data, size_t n);

/* SHA-256 of the whole body as 64 hex chars (for signed payloads). */
int body_sha256_hex(const gen_body *g, char hex[65], cf_err *err);

#endif
