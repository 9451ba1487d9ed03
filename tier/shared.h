/*
 * tier/shared.h - what the tier types (tier/s3.c, tier/azure.c) share:
 * a pool of idle clients per tier, a remote object's name from the tier's
 * prefix, and an upload's source read as bodies of any range.
 *
 * Contract: a pool is thread-safe (its own lock, held only to take or
 * give a client); a part belongs to the one thread that uploads it.
 */
#ifndef TIER_SHARED_H
#define TIER_SHARED_H

#include <jansson.h>
#include <pthread.h>

#include "client/s3c.h"
#include "tier/tier.h"

#define TIER_POOL_MAX 8

/* ---- settings (a type's configure and open) ---- */

/* The settings object, every key one of fields (NULL-terminated); what
 * names the type in messages ("an S3 tier"). NULL and CF_EINVAL if not. */
json_t *tier_settings_load(const char *in_json, const char *const *fields, const char *what,
                           cf_err *err);
/* Setting `name`: absent is fine unless required; present, a string of at
 * most max bytes (not empty if required) that ok (if any) accepts. */
int tier_settings_string(json_t *doc, const char *name, bool required, size_t max,
                         bool (*ok)(const char *), const char *what, cf_err *err);
/* The settings to store: compact, keys sorted (the caller frees doc). */
int tier_settings_dump(json_t *doc, char **out, cf_err *err);
/* A malloc'd copy of string setting name, else of dflt (NULL: NULL). */
char *tier_settings_dup(json_t *doc, const char *name, const char *dflt);
/* At most max bytes, each printable ASCII but space. */
bool tier_printable(const char *s, size_t max);
bool tier_ok_endpoint(const char *s);   /* http:// or https://, at most 300 */
bool tier_ok_prefix(const char *s);     /* no leading '/', at most 512 */
bool tier_ok_pem(const char *s);        /* holds a PEM certificate */

/* ---- clients, names, sources ---- */

/* Idle clients of one tier, so that reads reuse connections. make builds
 * a client (no bandwidth cap), quiet abandons what one has in flight,
 * destroy frees it; each gets the owner (the type's tier). */
typedef struct tier_pool {
    void *(*make)(void *owner, cf_err *err);
    void (*quiet)(void *client);
    void (*destroy)(void *client);
    void *owner;
    pthread_mutex_t lock;                /* guards idle */
    void *idle[TIER_POOL_MAX];
    int nidle;
} tier_pool;

void tier_pool_init(tier_pool *p);       /* make, quiet, destroy, owner set */
/* Frees the idle clients; none may be out. */
void tier_pool_clear(tier_pool *p);
/* An idle client, or a new one (NULL and err if it cannot be made). */
void *tier_pool_take(tier_pool *p, cf_err *err);
/* Back to the pool, quieted (freed if the pool is full); NULL is fine. */
void tier_pool_give(tier_pool *p, void *client);

/* prefix + name, malloc'd (NULL and err if out of memory). */
char *tier_remote_name(const char *prefix, const char *name, cf_err *err);

/* Bytes [base, base + len) of an upload's source through a reader of its
 * own, as a client body that rewinds. */
typedef struct tier_part {
    const tier_src *src;
    void *rd;
    uint64_t base, len, pos;
    s3c_body body;
} tier_part;

int tier_part_open(tier_part *p, const tier_src *src, uint64_t base, uint64_t len,
                   cf_err *err);
void tier_part_close(tier_part *p);     /* safe to call twice */
/* A first pass over the part: its MD5, raw, hex and base64. */
int tier_part_md5(tier_part *p, uint8_t raw[16], char hex[33], char b64[32], cf_err *err);

#endif
