/*
 * tier/tier.h - cold tiers: the remote stores that lifecycle rules move
 * object versions to (libtier.a). The engine keeps the tiers' registry
 * and every version's tiered state (storage/lifecycle.h); this module
 * moves the bytes: it uploads a version's remote object, verifies that the
 * remote holds exactly what was sent, reads ranges of it back for GETs and
 * restores, and deletes remote objects.
 *
 * A tier has a type with a small interface (tier_type): S3 (tier/s3.c:
 * AWS, Wasabi, Backblaze B2, GCS interoperability, Ceph RGW, another
 * coffer) and Azure Blob Storage (tier/azure.c) are built, with the same
 * operations (Azure's alone has `online`, for its Archive access tier);
 * what they share is tier/shared.h. Every operation that talks to a
 * remote goes through the one outgoing client for its protocol
 * (client/s3c.h for S3, client/azb.h for Azure).
 *
 * What a remote sees: objects named by the tier's prefix and a random id,
 * holding ciphertext and a sealed header (storage/tierfmt.c). No tenant,
 * bucket, key, metadata or plaintext ever reaches a remote in a name, a
 * body or a header; errors from a remote never carry the tier's secret.
 *
 * Threading: a tier_set is shared by request threads (reads) and the
 * lifecycle worker (uploads, deletes, restores); every function here is
 * thread-safe. A stream belongs to one thread.
 */
#ifndef TIER_TIER_H
#define TIER_TIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "storage/engine.h"
#include "storage/lifecycle.h"

#define TIER_ETAG_MAX 128
#define TIER_CURSOR_MAX 1025             /* a listing page's cursor, NUL included */

/* How uploads are cut and paced (coffer.json's lifecycle section). */
typedef struct tier_limits {
    uint64_t multipart_threshold;        /* objects above this go in parts */
    uint64_t part_size;                  /* >= 5 MiB (grown to fit 10,000 parts) */
    int parallel_parts;                  /* parts in flight per upload */
    uint64_t max_bytes_per_s;            /* per upload; 0: no cap */
    int64_t recheck_ms;                  /* a given-up upload's second delete */
} tier_limits;

/* What an upload sends: length bytes, read at any offset, by one reader
 * per part in flight (so parts go in parallel). on_upload_id records a
 * multipart upload's id (durably) before its first part is sent. */
typedef struct tier_src {
    int (*open)(void *ctx, void **rd, cf_err *err);
    int (*read)(void *rd, uint64_t off, uint8_t *buf, size_t len, cf_err *err);
    void (*close)(void *rd);
    int (*on_upload_id)(void *ctx, const char *upload_id, cf_err *err);
    void *ctx;
    uint64_t length;
} tier_src;

/* One object a tier lists: its name without the tier's prefix. */
typedef struct tier_listed {
    const char *name;
    uint64_t size;
    const char *etag;
} tier_listed;
typedef int (*tier_list_cb)(void *ctx, const tier_listed *o, cf_err *err);

/* A type of tier. Settings are the type's JSON (no secret); names are
 * the remote ids the engine hands out, which the type prefixes. */
typedef struct tier_type {
    const char *name;                    /* "s3" */
    /* Check settings from the admin API (an object of the type's fields)
     * and give back the JSON to store; CF_EINVAL naming the field. */
    int (*configure)(const char *in_json, char **config_json, cf_err *err);
    int (*open)(const st_tier *t, const tier_limits *lim, void **impl, cf_err *err);
    void (*close)(void *impl);
    /* Write, read back and delete a probe object: the remote's own error
     * message if a step fails. */
    int (*probe)(void *impl, cf_err *err);
    /* Upload src as object `name`, then prove the remote holds exactly
     * those bytes: every request carries Content-MD5 (the remote checks it
     * before it keeps a byte), every answer's ETag must be that MD5 (or
     * the multipart ETag built from the parts' MD5s), and a HEAD must show
     * the length and ETag. The ETag into etag. */
    int (*put)(void *impl, const char *name, const tier_src *src, char etag[TIER_ETAG_MAX],
               cf_err *err);
    /* A ranged read: bytes [off, off + len) of object `name`; read gives
     * exactly n more (CF_ECORRUPT if the object ends early). */
    int (*stream_open)(void *impl, const char *name, uint64_t off, uint64_t len,
                       void **stream, cf_err *err);
    int (*stream_read)(void *stream, uint8_t *buf, size_t n, cf_err *err);
    void (*stream_close)(void *stream);
    /* Delete object `name` (absent is fine) and abort upload_id if given;
     * with sweep, also every unfinished multipart upload of the name (a
     * crash may have left one whose id was never recorded). */
    int (*del)(void *impl, const char *name, const char *upload_id, bool sweep,
               cf_err *err);
    /* For remotes that keep objects offline (Azure's Archive tier): with
     * online, make object `name` readable: 1 if it is, 0 if that has
     * started or is still going (ask again later); without, send it back
     * offline once its local copy is restored (1). NULL: every object is
     * always readable. */
    int (*online)(void *impl, const char *name, bool online, cf_err *err);
    /* One page of the objects under the tier's prefix, in name order,
     * from cursor `after` ("": the first page; else a `next` this gave
     * back: a name for S3, Azure's opaque marker); next is "" after the
     * last page. NULL if the type cannot list (then tier_recover refuses). */
    int (*list)(void *impl, const char *after, tier_list_cb cb, void *ctx,
                char next[TIER_CURSOR_MAX], cf_err *err);
} tier_type;

extern const tier_type tier_type_s3;
extern const tier_type tier_type_azure;
/* The type named `name`, or NULL. */
const tier_type *tier_type_find(const char *name);

/* ---- the tiers of one engine ----------------------------------------------------- */

typedef struct tier_set tier_set;

/* Opens tiers from the engine's registry on first use and registers the
 * remote reader with the engine (st_remote_set). */
int tier_set_new(st_engine *e, const tier_limits *lim, tier_set **out, cf_err *err);
/* Unregisters the reader first; no read may be running (stop serving). */
void tier_set_free(tier_set *s);

/* Validate new settings and probe the remote (admin POST /tiers), then
 * add the tier to the registry. */
int tier_add(tier_set *s, const char *name, const char *type, const char *settings_json,
             const char *secret, cf_err *err);

/* Bytes per second moved to and from the tier lately (about 10 s). */
uint64_t tier_rate(tier_set *s, int64_t tier_id);

/* ---- moving versions (the lifecycle worker calls these) ------------------------------ */

/* Move one version to tier_id: intent, upload, verify, commit; on any
 * failure the intent is aborted (the remote object queued for deletion)
 * and the version stays local. CF_ENOKEY/CF_EEXISTS: nothing to do. */
int tier_transition(tier_set *s, const st_tier_candidate *c, int64_t tier_id, cf_err *err);
/* Bring a RESTORING version's local copy back (day_ms: a restore day).
 * If the remote keeps the object offline (an Archive blob), this first
 * starts making it readable and returns 0 with the version still
 * RESTORING (x-amz-restore: ongoing-request="true"): a later call, the
 * worker's next pass, copies it once it is readable, then sends the
 * remote object back offline. */
int tier_restore(tier_set *s, const st_tier_candidate *c, int64_t day_ms, cf_err *err);
/* Delete one queued remote object; on failure it is retried later. */
int tier_remote_delete(tier_set *s, const st_remote_delete *d, cf_err *err);

/* ---- coffer tier recover --------------------------------------------------------- */

typedef struct tier_recover_report {
    uint64_t listed;                     /* objects this page listed */
    uint64_t added;                      /* versions back in the index */
    uint64_t present;                    /* known to the index already */
    uint64_t key_taken;                  /* their key has another version here */
    uint64_t other;                      /* not named like a remote object (a probe's,
                                            another program's): left alone */
    uint64_t unreadable;                 /* named like one, but no header this master
                                            key opens: left alone */
    char unreadable_msg[320];            /* the first such object's reason */
    char next[TIER_CURSOR_MAX];          /* where the next page starts; "" at the end */
} tier_recover_report;
/* Put the versions that one page of tier `name`'s objects (from cursor
 * `after`: "" for the first page, else the previous page's next) hold back into the index, from their
 * headers and the master key alone (st_tier_adopt). Nothing is written
 * to or deleted from the remote. CF_ENOTFOUND: no such tier. */
int tier_recover(tier_set *s, const char *name, const char *after,
                 tier_recover_report *rep, cf_err *err);

#endif
