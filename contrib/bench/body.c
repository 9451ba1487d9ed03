/* contrib/bench/body.c - see body.h. */
#include "contrib/bench/body.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "contrib/bench/measure.h"

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

static int gen_body_read(void *ctx, uint8_t *buf, size_t cap, size_t *got, cf_err *err)
{
    *got = gen_read(ctx, buf, cap);
    return 0;
}

static int gen_body_rewind(void *ctx, cf_err *err)
{
    ((gen_body *)ctx)->pos = 0;
    return 0;
}

void gen_as_body(gen_body *g, s3c_body *b)
{
    *b = (s3c_body){.read = gen_body_read, .rewind = gen_body_rewind, .ctx = g,
                    .length = g->size};
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

static int final_hex(EVP_MD_CTX *h, char hex[65], cf_err *err)
{
    uint8_t md[32];
    if (EVP_DigestFinal_ex(h, md, NULL) != 1)
        return cf_fail(err, CF_ECRYPTO, "SHA-256 failed");
    hex_encode(md, sizeof md, hex, 65);
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
