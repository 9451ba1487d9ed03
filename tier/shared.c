/*
 * tier/shared.c - the pieces every tier type uses (contract in
 * tier/shared.h). The pool is a small stack of idle clients under a
 * mutex: clients are made outside the lock, and one given back to a full
 * pool is freed. A part reads its range of the source at the offset the
 * transport asks for, so a body can be read twice (a digest first, then
 * sent) without holding a byte of it.
 */
#include "tier/shared.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/checksum.h"
#include "common/hex.h"
#include "storage/crypto.h"

#define MD5_CHUNK (1u << 20)

json_t *tier_settings_load(const char *in_json, const char *const *fields, const char *what,
                           cf_err *err)
{
    json_t *doc = json_loads(in_json, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        cf_fail(err, CF_EINVAL, "tier settings must be a JSON object");
        return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v) {
        size_t i = 0;
        while (fields[i] && strcmp(fields[i], key) != 0)
            i++;
        if (!fields[i]) {
            cf_fail(err, CF_EINVAL, "%s has no setting \"%.40s\"", what, key);
            json_decref(doc);
            return NULL;
        }
    }
    return doc;
}

int tier_settings_string(json_t *doc, const char *name, bool required, size_t max,
                         bool (*ok)(const char *), const char *what, cf_err *err)
{
    json_t *v = json_object_get(doc, name);
    if (!v)
        return required ? cf_fail(err, CF_EINVAL, "%s needs \"%s\"", what, name) : 0;
    const char *s = json_string_value(v);
    if (!s || (required && !*s) || strlen(s) > max || (ok && !ok(s)))
        return cf_fail(err, CF_EINVAL, "the tier's \"%s\" is not valid", name);
    return 0;
}

int tier_settings_dump(json_t *doc, char **out, cf_err *err)
{
    *out = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    return *out ? 0 : cf_fail(err, CF_ENOMEM, "out of memory");
}

char *tier_settings_dup(json_t *doc, const char *name, const char *dflt)
{
    const char *s = json_string_value(json_object_get(doc, name));
    return s ? strdup(s) : dflt ? strdup(dflt) : NULL;
}

bool tier_printable(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < '!' || (unsigned char)s[i] > '~')
            return false;
    return true;
}

bool tier_ok_endpoint(const char *s)
{
    return (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) &&
           tier_printable(s, 300);
}

bool tier_ok_prefix(const char *s)
{
    return s[0] != '/' && tier_printable(s, 512);
}

bool tier_ok_pem(const char *s)
{
    return strstr(s, "-----BEGIN CERTIFICATE-----") != NULL;
}

void tier_pool_init(tier_pool *p, const tier_client_ops *ops, void *owner)
{
    p->ops = ops;
    p->owner = owner;
    pthread_mutex_init(&p->lock, NULL);
    p->nidle = 0;
}

void tier_pool_clear(tier_pool *p)
{
    for (int i = 0; i < p->nidle; i++)
        p->ops->destroy(p->idle[i]);
    p->nidle = 0;
    pthread_mutex_destroy(&p->lock);
}

void *tier_pool_take(tier_pool *p, cf_err *err)
{
    pthread_mutex_lock(&p->lock);
    void *c = p->nidle ? p->idle[--p->nidle] : NULL;
    pthread_mutex_unlock(&p->lock);
    return c ? c : p->ops->make(p->owner, err);
}

void tier_pool_give(tier_pool *p, void *c)
{
    if (!c)
        return;
    p->ops->quiet(c);
    pthread_mutex_lock(&p->lock);
    if (p->nidle < TIER_POOL_MAX) {
        p->idle[p->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    if (c)
        p->ops->destroy(c);
}

char *tier_remote_name(const char *prefix, const char *name, cf_err *err)
{
    size_t n = strlen(prefix) + strlen(name) + 1;
    char *k = malloc(n);
    if (!k)
        cf_fail(err, CF_ENOMEM, "out of memory");
    else
        snprintf(k, n, "%s%s", prefix, name);
    return k;
}

static int part_read(void *ctx, uint8_t *buf, size_t cap, size_t *got, cf_err *err)
{
    tier_part *p = ctx;
    size_t n = p->len - p->pos < cap ? (size_t)(p->len - p->pos) : cap;
    if (n && p->src->read(p->rd, p->base + p->pos, buf, n, err) < 0)
        return -1;
    p->pos += n;
    *got = n;
    return 0;
}

static int part_rewind(void *ctx, cf_err *err)
{
    (void)err;
    ((tier_part *)ctx)->pos = 0;
    return 0;
}

int tier_part_open(tier_part *p, const tier_src *src, uint64_t base, uint64_t len,
                   cf_err *err)
{
    *p = (tier_part){.src = src, .base = base, .len = len};
    p->body = (s3c_body){.read = part_read, .rewind = part_rewind, .ctx = p, .length = len};
    return src->open(src->ctx, &p->rd, err);
}

void tier_part_close(tier_part *p)
{
    if (p->rd)
        p->src->close(p->rd);
    p->rd = NULL;
}

int tier_part_md5(tier_part *p, uint8_t raw[16], char hex[33], char b64[32], cf_err *err)
{
    cks_state *md5 = cks_new(CKS_MD5, err);
    uint8_t *buf = malloc(MD5_CHUNK);
    int rc = md5 && buf ? 0 : cf_fail(err, CF_ENOMEM, "out of memory");
    for (uint64_t off = 0; rc == 0 && off < p->len;) {
        size_t n = p->len - off < MD5_CHUNK ? (size_t)(p->len - off) : MD5_CHUNK;
        rc = p->src->read(p->rd, p->base + off, buf, n, err);
        if (rc == 0)
            cks_update(md5, buf, n);
        off += n;
    }
    if (rc == 0) {
        uint8_t full[CKS_MAX_RAW];
        cks_final(md5, full);
        memcpy(raw, full, 16);
        hex_encode(raw, 16, hex, 33);
        cks_to_base64(raw, 16, b64, 32);
    }
    cks_free(md5);
    free(buf);
    return rc;
}

int tier_stream_begin(tier_pool *pool, const char *prefix, const char *name, uint64_t len,
                      tier_stream **out, cf_err *err)
{
    tier_stream *s = calloc(1, sizeof *s);
    if (!s)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    s->pool = pool;
    if (!(s->name = tier_remote_name(prefix, name, err)) ||
        !(s->client = tier_pool_take(pool, err))) {
        tier_stream_close(s);
        return -1;
    }
    s->pull = (tier_pull){.name = s->name, .want = len, .resume = pool->ops->resume,
                          .run = pool->ops->run, .client = s->client};
    *out = s;
    return 0;
}

int tier_stream_read(void *stream, uint8_t *buf, size_t n, cf_err *err)
{
    return tier_pull_read(&((tier_stream *)stream)->pull, buf, n, err);
}

void tier_stream_close(void *stream)
{
    tier_stream *s = stream;
    if (!s)
        return;
    tier_pool_give(s->pool, s->client);
    tier_pull_clear(&s->pull);
    free(s->name);
    free(s);
}

int tier_probe_data(uint8_t data[TIER_PROBE_BYTES], char name[TIER_PROBE_NAME], cf_err *err)
{
    uint8_t rid[16];
    if (crypt_random(data, TIER_PROBE_BYTES, err) < 0 ||
        crypt_random(rid, sizeof rid, err) < 0)
        return -1;
    int n = snprintf(name, TIER_PROBE_NAME, "coffer-probe-");
    hex_encode(rid, sizeof rid, name + n, TIER_PROBE_NAME - (size_t)n);
    return 0;
}

int tier_probe_step(int rc, const char *what, const char *where, cf_err *err)
{
    if (rc == 0)
        return 0;
    char why[CF_ERRMSG_MAX];
    snprintf(why, sizeof why, "%s", err->msg);
    return cf_fail(err, err->code, "the tier's probe could not %s its test object %s: %s", what, where, why);
}
