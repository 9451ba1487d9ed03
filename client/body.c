/*
 * client/body.c - request bodies: memory bodies, the first pass that
 * hashes a body before it is sent, and aws-chunked framing.
 *
 * aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD): the body is cut into
 * S3C_CHUNK-byte chunks, each sent as "<hex size>;chunk-signature=<sig>
 * \r\n<data>\r\n", every signature chaining from the previous one (the
 * first from the request's seed signature), ending with a zero-size
 * chunk. Each chunk is read from the source into a buffer, hashed, signed
 * with auth/'s sigv4_sign_chunk and then handed out: memory is one chunk.
 * The chunk's head is written right before its data, so data is never
 * moved.
 */
#include "client/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"

#define FRAME_HEAD_MAX 96           /* "%x;chunk-signature=<64>\r\n" */
#define DIGEST_BUF (256u << 10)

static int mem_read(void *ctx, uint8_t *buf, size_t cap, size_t *got, cf_err *err)
{
    s3c_mem *m = ctx;
    size_t n = m->len - m->pos < cap ? m->len - m->pos : cap;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    *got = n;
    return 0;
}

static int mem_rewind(void *ctx, cf_err *err)
{
    ((s3c_mem *)ctx)->pos = 0;
    return 0;
}

void s3c_body_mem(s3c_body *b, s3c_mem *m, const void *data, size_t len)
{
    *m = (s3c_mem){.data = data, .len = len};
    *b = (s3c_body){.read = mem_read, .rewind = mem_rewind, .ctx = m, .length = len};
}

int s3c_body_read_full(const s3c_body *b, uint8_t *buf, size_t n, size_t *got, cf_err *err)
{
    *got = 0;
    while (*got < n) {
        size_t k = 0;
        if (b->read(b->ctx, buf + *got, n - *got, &k, err) < 0)
            return -1;
        if (k == 0)
            break;
        *got += k;
    }
    return 0;
}

int s3c_body_digest(const s3c_body *b, cks_state *sha, char sha_hex[65],
                    cks_state *other, char *b64, size_t b64_cap, cf_err *err)
{
    if (!b->rewind)
        return cf_fail(err, CF_EINVAL, "the body must rewind to be hashed before sending");
    uint8_t *buf = malloc(DIGEST_BUF);
    if (!buf)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    if (sha)
        cks_reset(sha);
    if (other)
        cks_reset(other);
    uint64_t total = 0;
    size_t n = 0;
    int rc = b->rewind(b->ctx, err);
    while (rc == 0 && (rc = s3c_body_read_full(b, buf, DIGEST_BUF, &n, err)) == 0 && n > 0) {
        if (sha)
            cks_update(sha, buf, n);
        if (other)
            cks_update(other, buf, n);
        total += n;
    }
    free(buf);
    if (rc == 0 && total != b->length)
        rc = cf_fail(err, CF_EINVAL, "the body gave %llu bytes, not the %llu announced",
                     (unsigned long long)total, (unsigned long long)b->length);
    if (rc == 0)
        rc = b->rewind(b->ctx, err);
    uint8_t raw[CKS_MAX_RAW];
    if (rc == 0 && sha)
        hex_encode(raw, cks_final(sha, raw), sha_hex, 65);
    if (rc == 0 && other)
        cks_to_base64(raw, cks_final(other, raw), b64, b64_cap);
    return rc;
}

/* ---- aws-chunked ------------------------------------------------------- */

static uint64_t frame_length(uint64_t data_len)
{
    char head[32];
    int hex = snprintf(head, sizeof head, "%llx", (unsigned long long)data_len);
    /* size ";chunk-signature=" sig "\r\n" data "\r\n" */
    return (uint64_t)hex + 17 + SIGV4_SIG_HEX_LEN + 2 + data_len + 2;
}

uint64_t s3c_chunked_length(uint64_t size)
{
    uint64_t full = size / S3C_CHUNK, rest = size % S3C_CHUNK;
    uint64_t n = full * frame_length(S3C_CHUNK) + frame_length(0);
    return rest ? n + frame_length(rest) : n;
}

int s3c_chunker_start(s3c_chunker *k, const s3c_body *src, cks_state *sha,
                      const sigv4_auth *state, cf_err *err)
{
    uint8_t *buf = k->buf;
    memset(k, 0, sizeof *k);
    k->buf = buf ? buf : malloc(FRAME_HEAD_MAX + S3C_CHUNK + 2);
    if (!k->buf)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    k->src = src;
    k->sha = sha;
    k->state = *state;
    memcpy(k->prev, state->signature, sizeof k->prev);
    return 0;
}

/* Frame the next chunk (the zero-size one after the data) into k->buf. */
static int next_frame(s3c_chunker *k, cf_err *err)
{
    uint8_t *data = k->buf + FRAME_HEAD_MAX, md[CKS_MAX_RAW];
    size_t n = 0;
    char sig[SIGV4_SIG_HEX_LEN + 1], head[FRAME_HEAD_MAX];
    if (s3c_body_read_full(k->src, data, S3C_CHUNK, &n, err) < 0)
        return -1;
    cks_reset(k->sha);
    cks_update(k->sha, data, n);
    cks_final(k->sha, md);
    if (sigv4_sign_chunk(&k->state, k->prev, md, sig) < 0)
        return cf_fail(err, CF_ECRYPTO, "cannot sign a chunk");
    int hl = snprintf(head, sizeof head, "%zx;chunk-signature=%s\r\n", n, sig);
    memcpy(data - hl, head, (size_t)hl);
    memcpy(data + n, "\r\n", 2);
    k->pos = FRAME_HEAD_MAX - (size_t)hl;
    k->len = FRAME_HEAD_MAX + n + 2;
    memcpy(k->prev, sig, sizeof sig);
    k->finished = n == 0;
    return 0;
}

int s3c_chunker_read(s3c_chunker *k, uint8_t *out, size_t n, size_t *got, cf_err *err)
{
    *got = 0;
    while (*got < n) {
        if (k->pos == k->len) {
            if (k->finished)
                break;
            if (next_frame(k, err) < 0)
                return -1;
        }
        size_t take = k->len - k->pos;
        if (take > n - *got)
            take = n - *got;
        memcpy(out + *got, k->buf + k->pos, take);
        k->pos += take;
        *got += take;
    }
    return 0;
}

void s3c_chunker_free(s3c_chunker *k)
{
    free(k->buf);
    k->buf = NULL;
    sigv4_auth_clear(&k->state);
}
