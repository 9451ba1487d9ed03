/*
 * contrib/bench/body.h - the bytes coffer-bench sends and expects back,
 * made on the fly from a seeded pattern (never read from a file), and the
 * aws-chunked framing of them.
 *
 * Pattern: one buffer of BODY_PATTERN_LEN pseudo-random bytes is made from
 * the seed at start. Object `id` is the pattern read from offset
 * shift(seed, id), wrapping around, so every object differs, any byte of
 * any object is known without storing it (GETs can be verified), and
 * making a body costs a memcpy. The pattern length is odd-sized so object
 * data does not repeat on 1 MiB block boundaries.
 *
 * aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD): the body is cut into
 * BODY_CHUNK-byte chunks, each sent as "<hex size>;chunk-signature=<sig>
 * \r\n<data>\r\n", every signature chaining from the previous one (the
 * first from the request's seed signature), ending with a zero-size
 * chunk. Each chunk is generated into a buffer, hashed (SHA-256), signed
 * with auth/'s sigv4_sign_chunk and then handed out; memory is one chunk.
 *
 * One SHA-256 context (fetched once) serves the whole process: coffer-bench
 * is single-threaded.
 */
#ifndef BM_BODY_H
#define BM_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/sigv4.h"
#include "common/error.h"

#define BODY_PATTERN_LEN ((4u << 20) + 4093u)
#define BODY_CHUNK (64u << 10)

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
/* True if data equals bytes [off, off + n) of the body. */
bool gen_matches(const gen_body *g, uint64_t off, const uint8_t *data, size_t n);

/* SHA-256 of the whole body as 64 hex chars (for signed payloads). */
int body_sha256_hex(const gen_body *g, char hex[65], cf_err *err);
/* SHA-256 of a buffer as 64 hex chars. */
int sha256_hex(const void *data, size_t n, char hex[65], cf_err *err);

/* The aws-chunked encoder of one body. */
typedef struct chunk_enc {
    gen_body src;
    sigv4_auth state;                /* from sigv4_sign: key, scope, seed */
    char prev[SIGV4_SIG_HEX_LEN + 1];
    uint8_t *buf;                    /* one framed chunk */
    size_t len, pos;
    bool finished;                   /* the zero-size chunk was framed */
} chunk_enc;

/* Bytes on the wire for a body of size bytes. */
uint64_t chunked_wire_length(uint64_t size);
int chunk_enc_init(chunk_enc *c, const gen_body *src, const sigv4_auth *state,
                   cf_err *err);
/* Up to n next wire bytes into out; *got 0 at the end. */
int chunk_enc_read(chunk_enc *c, uint8_t *out, size_t n, size_t *got, cf_err *err);
void chunk_enc_free(chunk_enc *c);

#endif
