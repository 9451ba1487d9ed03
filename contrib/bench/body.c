/* contrib/bench/body.c - see body.h. */
#include "contrib/bench/body.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contrib/bench/measure.h"

#define FRAME_HEAD_MAX 96           /* "%x;chunk-signature=<64>\r\n" */

static EVP_MD *sha256_md;
static EVP_MD_CTX *sha256_ctx;

/* The process's one SHA-256 context, set up on first use. */
static EVP_MD_CTX *hasher(cf_err *err)
{
    if (!sha256_ctx) {
        sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
        sha256_ctx = sha256_md ? EVP_MD_CTX_new() : NULL;
        if (!sha256_ctx) {
            cf_fail(err, CF_ECRYPTO, "cannot set up SHA-256");
            return NULL;
        }
    }
    if (EVP_DigestInit_ex(sha256_ctx, sha256_md, NULL) != 1) {
        cf_fail(err, CF_ECRYPTO, "SHA-256 init failed");
        return NULL;
    }
    return sha256_ctx;
}

uint8_t *body_pattern_new(uint64_t seed)
{
    uint8_t *p = malloc(BODY_PATTERN_LEN);
    if (p)
        bm_fill(seed, p, BODY_PATTERN_LEN);
    return p;
}

void gen_init(gen_body *g, const uint8_t *pat, uint64_t seed, uint64_t id,
              uint64_t off, uint64_t size)
{
    uint64_t shift = (seed * 0x9E3779B97F4A7C15ULL) ^ (id * 0xBF58476D1CE4E5B9ULL);
    g->pat = pat;
    g->start = (shift + off) % BODY_PATTERN_LEN;
    g->size = size;
    g->pos = 0;
}

/* Where byte off of the body sits in the pattern, and how many bytes
 * follow it there before the wrap. */
static const uint8_t *pattern_at(const gen_body *g, uint64_t off, size_t *run)
{
    uint64_t at = (g->start + off) % BODY_PATTERN_LEN;
    *run = (size_t)(BODY_PATTERN_LEN - at);
    return g->pat + at;
}

size_t gen_read(gen_body *g, uint8_t *out, size_t n)
{
    size_t done = 0;
    while (done < n && g->pos < g->size) {
        size_t run, want = n - done;
        const uint8_t *p = pattern_at(g, g->pos, &run);
        if (want > run)
            want = run;
        if (want > g->size - g->pos)
            want = (size_t)(g->size - g->pos);
        memcpy(out + done, p, want);
        done += want;
        g->pos += want;
    }
    return done;
}

bool gen_matches(const gen_body *g, uint64_t off, const uint8_t *data, size_t n)
{
    if (off + n > g->size)
        return false;
    while (n > 0) {
        size_t run;
        const uint8_t *p = pattern_at(g, off, &run);
        size_t take = n < run ? n : run;
        if (memcmp(p, data, take) != 0)
            return false;
        data += take;
        off += take;
        n -= take;
    }
    return true;
}

static void to_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int final_hex(EVP_MD_CTX *h, char hex[65], cf_err *err)
{
    uint8_t md[32];
    if (EVP_DigestFinal_ex(h, md, NULL) != 1)
        return cf_fail(err, CF_ECRYPTO, "SHA-256 failed");
    to_hex(md, sizeof md, hex);
    return 0;
}

int body_sha256_hex(const gen_body *g, char hex[65], cf_err *err)
{
    EVP_MD_CTX *h = hasher(err);
    if (!h)
        return -1;
    for (uint64_t off = 0; off < g->size;) {
        size_t run;
        const uint8_t *p = pattern_at(g, off, &run);
        if (run > g->size - off)
            run = (size_t)(g->size - off);
        EVP_DigestUpdate(h, p, run);
        off += run;
    }
    return final_hex(h, hex, err);
}

int sha256_hex(const void *data, size_t n, char hex[65], cf_err *err)
{
    EVP_MD_CTX *h = hasher(err);
    if (!h)
        return -1;
    EVP_DigestUpdate(h, data, n);
    return final_hex(h, hex, err);
}

/* ---- aws-chunked ------------------------------------------------------- */

static uint64_t frame_length(uint64_t data_len)
{
    char head[32];
    int hex = snprintf(head, sizeof head, "%llx", (unsigned long long)data_len);
    /* size ";chunk-signature=" sig "\r\n" data "\r\n" */
    return (uint64_t)hex + 17 + SIGV4_SIG_HEX_LEN + 2 + data_len + 2;
}

uint64_t chunked_wire_length(uint64_t size)
{
    uint64_t full = size / BODY_CHUNK, rest = size % BODY_CHUNK;
    uint64_t n = full * frame_length(BODY_CHUNK) + frame_length(0);
    return rest ? n + frame_length(rest) : n;
}

int chunk_enc_init(chunk_enc *c, const gen_body *src, const sigv4_auth *state,
                   cf_err *err)
{
    memset(c, 0, sizeof *c);
    c->src = *src;
    c->state = *state;
    memcpy(c->prev, state->signature, sizeof c->prev);
    c->buf = malloc(FRAME_HEAD_MAX + BODY_CHUNK + 2);
    if (!c->buf)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    return 0;
}

/* Frame the next chunk (the zero-size one after the data) into c->buf. */
static int next_frame(chunk_enc *c, cf_err *err)
{
    uint8_t *data = c->buf + FRAME_HEAD_MAX;
    size_t n = gen_read(&c->src, data, BODY_CHUNK);
    EVP_MD_CTX *h = hasher(err);
    uint8_t md[32];
    char sig[SIGV4_SIG_HEX_LEN + 1], head[FRAME_HEAD_MAX];
    if (!h)
        return -1;
    EVP_DigestUpdate(h, data, n);
    if (EVP_DigestFinal_ex(h, md, NULL) != 1 ||
        sigv4_sign_chunk(&c->state, c->prev, md, sig) < 0)
        return cf_fail(err, CF_ECRYPTO, "cannot sign a chunk");
    /* the head goes right before the data, so the data is never moved */
    int hl = snprintf(head, sizeof head, "%zx;chunk-signature=%s\r\n", n, sig);
    memcpy(data - hl, head, (size_t)hl);
    memcpy(data + n, "\r\n", 2);
    c->pos = FRAME_HEAD_MAX - (size_t)hl;
    c->len = FRAME_HEAD_MAX + n + 2;
    memcpy(c->prev, sig, sizeof sig);
    c->finished = n == 0;
    return 0;
}

int chunk_enc_read(chunk_enc *c, uint8_t *out, size_t n, size_t *got, cf_err *err)
{
    *got = 0;
    while (*got < n) {
        if (c->pos == c->len) {
            if (c->finished)
                break;
            if (next_frame(c, err) < 0)
                return -1;
        }
        size_t take = c->len - c->pos;
        if (take > n - *got)
            take = n - *got;
        memcpy(out + *got, c->buf + c->pos, take);
        c->pos += take;
        *got += take;
    }
    return 0;
}

void chunk_enc_free(chunk_enc *c)
{
    free(c->buf);
    c->buf = NULL;
    sigv4_auth_clear(&c->state);
}
