/*
 * tier/shared.h - what the tier types (tier/s3.c, tier/azure.c) share:
 * a pool of idle clients per tier, a remote object's name from the tier's
 * prefix, an upload's source read as bodies of any range, a stream (a
 * ranged GET pulled at the reader's pace on a pooled client) and the
 * probe's object name and messages.
 *
 * Contract: a pool is thread-safe (its own lock, held only to take or
 * give a client); a part belongs to the one thread that uploads it.
 */
#ifndef TIER_SHARED_H
#define TIER_SHARED_H

#include <jansson.h>
#include <pthread.h>

#include "client/s3c.h"
#include "tier/pull.h"
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

/* What a tier type's clients do, for its pool: make builds a client (no
 * bandwidth cap) for the owner (the type's tier), quiet abandons what one
 * has in flight, destroy frees it; resume and run drive a client's
 * transfer for a stream's pull (tier/pull.h). */
typedef struct tier_client_ops {
    void *(*make)(void *owner, cf_err *err);
    void (*quiet)(void *client);
    void (*destroy)(void *client);
    void (*resume)(void *client);
    int (*run)(void *client, int timeout_ms, cf_err *err);
} tier_client_ops;

/* Idle clients of one tier, so that reads reuse connections. */
typedef struct tier_pool {
    const tier_client_ops *ops;
    void *owner;
    pthread_mutex_t lock;                /* guards idle */
    void *idle[TIER_POOL_MAX];
    int nidle;
} tier_pool;

void tier_pool_init(tier_pool *p, const tier_client_ops *ops, void *owner);
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

/* ---- streams (a type's stream_open, stream_read, stream_close) ---- */

/* A ranged GET of name (after the tier's prefix) pulled at the reader's
 * pace, on a client from pool. */
typedef struct tier_stream {
    tier_pull pull;
    tier_pool *pool;
    void *client;                        /* the pool's */
    char *name;                          /* prefix + name */
} tier_stream;

/* A stream of len bytes with its client and name; the type then starts
 * its GET on s->client with tier_pull_sink into &s->pull, and on failure
 * closes the stream. */
int tier_stream_begin(tier_pool *pool, const char *prefix, const char *name, uint64_t len,
                      tier_stream **s, cf_err *err);
/* A tier_type's stream_read and stream_close for a tier_stream. */
int tier_stream_read(void *stream, uint8_t *buf, size_t n, cf_err *err);
void tier_stream_close(void *stream);   /* NULL is fine */

/* ---- the probe (a type's probe) ---- */

#define TIER_PROBE_BYTES 4096
#define TIER_PROBE_NAME 64

/* Random bytes to write, and a name for them no upload will take. */
int tier_probe_data(uint8_t data[TIER_PROBE_BYTES], char name[TIER_PROBE_NAME], cf_err *err);
/* rc of the probe's step `what` ("write", "read back", "delete"), its
 * failure said with where the probe ran ("in bucket B at E"). */
int tier_probe_step(int rc, const char *what, const char *where, cf_err *err);

#endif
