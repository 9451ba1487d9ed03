/*
 * storage/lifecycle.h - the engine's side of lifecycle rules and cold
 * tiers: the tier registry, an object version's place in a tier (its
 * state machine), the remote objects to delete, restores, object tags and
 * each bucket's lifecycle configuration. Part of the engine's contract
 * (with engine.h); like the rest of the engine it knows nothing of HTTP:
 * moving bytes to and from a remote is the tier module's (tier/), which
 * drives the calls below and plugs a remote reader into the engine.
 *
 * Threading: every function is thread-safe (the index lock, held in short
 * sections). An st_tobj belongs to one thread at a time.
 *
 * The tiered state machine, per object version (version_tier rows, keyed
 * by version id, so versions of one key tier independently):
 *
 *   (none) --PUT with a tier's storage class--> PENDING
 *   PENDING or (none) --st_transition_begin--> UPLOADING   intent, durable
 *   UPLOADING --st_transition_commit--> TIERED             local shards freed
 *   UPLOADING --st_transition_abort / st_tier_recover--> PENDING or (none),
 *             the remote id to remote_deletes
 *   TIERED --st_restore_request--> RESTORING --st_restore_import--> RESTORED
 *   RESTORED --st_restore_expire (after the days)--> TIERED  local freed again
 *   TIERED/RESTORING/RESTORED --delete or overwrite--> (none), the remote
 *             id to remote_deletes (drained by the tier module, retried)
 *
 * An UPLOADING row whose version was deleted or overwritten meanwhile
 * stays until its transition ends (commit then fails with CF_ENOKEY and
 * queues the remote id) or st_tier_recover cleans it after a restart: so
 * every remote id the index ever handed out is in version_tier or
 * remote_deletes until the remote object is gone (deleted a second time a
 * while later when its upload may still have been completing), and no
 * crash leaves a remote object the index does not know (doc/design.md).
 *
 * Reads: PENDING/UPLOADING/RESTORED read local shards; TIERED/RESTORING
 * read the remote through the registered st_remote_ops (ranged: only the
 * sealed blocks a read needs). Inline segments (small objects kept in the
 * index) have no shards to free and are always read locally.
 */
#ifndef ST_LIFECYCLE_H
#define ST_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/names.h"
#include "storage/engine.h"

/* ---- tiers ---------------------------------------------------------------- */

#define ST_TIER_NAME_MAX NAMES_TIER_MAX  /* common/names.h: names_tier_ok */
#define ST_TIER_TYPE_MAX 15
#define ST_TIER_SECRET_MAX 256
#define ST_REMOTE_ID_HEX 33              /* 32 hex chars + NUL */

typedef struct st_tier {
    int64_t id;
    char name[ST_TIER_NAME_MAX + 1];
    char type[ST_TIER_TYPE_MAX + 1];     /* "s3" */
    char *config;                        /* the type's settings, JSON text (no secret) */
    char secret[ST_TIER_SECRET_MAX + 1]; /* "" unless asked for */
    int64_t created;                     /* unix seconds */
    char last_error[256];                /* "" if none */
    int64_t last_error_ms;
} st_tier;

/* Add a tier; the secret is sealed under the master key as access keys
 * are. CF_EINVAL (name, type, config not a JSON object, secret too long),
 * CF_EEXISTS. */
int st_tier_add(st_engine *e, const char *name, const char *type, const char *config,
                const char *secret, cf_err *err);
/* By name or by id (name NULL); the secret only if with_secret. Free with
 * st_tier_clear. CF_ENOTFOUND. */
int st_tier_get(st_engine *e, const char *name, int64_t id, bool with_secret,
                st_tier *out, cf_err *err);
void st_tier_clear(st_tier *t);
typedef int (*st_tier_cb)(void *ctx, const st_tier *t);   /* no secret */
int st_tier_list(st_engine *e, st_tier_cb cb, void *ctx, cf_err *err);
/* Refused with CF_ENOTEMPTY while versions live there or wait for it, or
 * remote objects wait to be deleted from it. */
int st_tier_remove(st_engine *e, const char *name, cf_err *err);
/* The last error seen talking to a tier (a message without secrets);
 * NULL clears it. Best effort. */
void st_tier_note_error(st_engine *e, int64_t tier_id, const char *msg);

typedef struct st_tier_usage {
    uint64_t objects, bytes;             /* TIERED, RESTORING, RESTORED versions */
    uint64_t pending, uploading, restoring;
    uint64_t restored;                   /* with a local copy for now */
    uint64_t remote_deletes;             /* remote objects waiting to be deleted */
} st_tier_usage;
int st_tier_usage_get(st_engine *e, int64_t tier_id, st_tier_usage *u, cf_err *err);

/* ---- transitions ------------------------------------------------------------ */

enum {
    ST_TIER_NONE = 0, ST_TIER_PENDING = 1, ST_TIER_UPLOADING = 2, ST_TIER_TIERED = 3,
    ST_TIER_RESTORING = 4, ST_TIER_RESTORED = 5,
};

/* One version on its way to a tier: what st_transition_begin fixed. The
 * remote object is header (header_len bytes) || the sealed stream
 * (sealed_len bytes); see doc/design.md for the header. */
typedef struct st_transition {
    char tenant[ST_MAX_TENANT + 1];
    char bucket[ST_MAX_BUCKET + 1];
    char key[ST_MAX_KEY + 1];
    char version_id[ST_ID_HEX];
    int64_t tier_id;
    char remote_id[ST_REMOTE_ID_HEX];    /* random; the tier prefixes it */
    uint8_t *header;                     /* malloc'd */
    size_t header_len;
    uint64_t sealed_len;
    uint64_t total_len;                  /* header_len + sealed_len */
    uint64_t size;                       /* the object's plaintext size */
} st_transition;

/* Record the intent (durable, before any byte leaves): the version (the
 * key's current one or a noncurrent one) must exist (CF_ENOKEY otherwise)
 * and not be in a tier already (CF_EEXISTS); CF_ENOTFOUND for an unknown
 * tier. Builds the header. */
int st_transition_begin(st_engine *e, const char *tenant, const char *bucket,
                        const char *key, const char *version_id, int64_t tier_id,
                        st_transition *t, cf_err *err);
/* Record the remote multipart upload id (durable) before its first part,
 * so that a crash aborts it. */
int st_transition_uploading(st_engine *e, const st_transition *t, const char *upload_id,
                            cf_err *err);
/* The remote holds exactly the object (the caller verified it): the
 * version becomes TIERED and its local shards go to the delete queue, in
 * one transaction (a version that became noncurrent meanwhile tiers all
 * the same). CF_ENOKEY when the version was destroyed meanwhile (deleted,
 * or overwritten in an unversioned bucket): the remote id is then queued
 * for deletion instead. */
int st_transition_commit(st_engine *e, const st_transition *t, const char *remote_etag,
                         cf_err *err);
/* Give up: the remote id (and upload id) go to remote_deletes; a version
 * whose storage class asked for the tier goes back to PENDING. */
int st_transition_abort(st_engine *e, const st_transition *t, cf_err *err);
void st_transition_clear(st_transition *t);
/* After a restart: abort every UPLOADING row (no upload of the previous
 * process can still be running). */
int st_tier_recover(st_engine *e, uint64_t *aborted, cf_err *err);

/* Reads the remote object's bytes for the upload: random access, so that
 * parts can be sent in parallel, each with its own reader. */
typedef struct st_tobj st_tobj;
int st_tobj_open(st_engine *e, const st_transition *t, st_tobj **out, cf_err *err);
/* Exactly len bytes at off (off + len <= total_len). */
int st_tobj_read(st_tobj *r, uint64_t off, uint8_t *buf, size_t len, cf_err *err);
void st_tobj_close(st_tobj *r);

/* What a transition needs to know of a candidate. */
typedef struct st_tier_candidate {
    char tenant[ST_MAX_TENANT + 1];
    char bucket[ST_MAX_BUCKET + 1];
    char key[ST_MAX_KEY + 1];
    char version_id[ST_ID_HEX];
    int64_t tier_id;
    uint64_t size;
} st_tier_candidate;
typedef int (*st_candidate_cb)(void *ctx, const st_tier_candidate *c);
/* PENDING versions (a tier's storage class at PUT), oldest first. */
int st_tier_pending(st_engine *e, int max, st_candidate_cb cb, void *ctx, cf_err *err);

/* ---- remote deletes ----------------------------------------------------------- */

typedef struct st_remote_delete {
    char remote_id[ST_REMOTE_ID_HEX];
    int64_t tier_id;
    char upload_id[1024];                /* "" if none */
    int attempts;
    bool uncertain;                      /* an upload given up or cut short: it may
                                            have left an upload the index does not
                                            name; abort every one of the name */
} st_remote_delete;
typedef int (*st_remote_delete_cb)(void *ctx, const st_remote_delete *d);
/* Due entries (next try reached; queued before the oldest live reader
 * opened, so a GET streaming the remote object keeps it). */
int st_remote_deletes_due(st_engine *e, int max, st_remote_delete_cb cb, void *ctx,
                          cf_err *err);
/* The remote said the object is gone. An entry whose upload was given up
 * or cut by a crash is kept for one more delete recheck_ms from now (the
 * upload may still complete at the remote after this delete); otherwise,
 * or after that, it goes. */
int st_remote_delete_done(st_engine *e, const char *remote_id, int64_t recheck_ms,
                          cf_err *err);
/* Failed: try again at next_ms; msg is remembered (no secrets). */
int st_remote_delete_retry(st_engine *e, const char *remote_id, int64_t next_ms,
                           const char *msg, cf_err *err);

/* ---- reading tiered versions ---------------------------------------------------- */

/* The tier module's remote reader, registered once at start. open starts
 * a ranged read of bytes [off, off + len) of a remote object; read gives
 * exactly the next n bytes (CF_ECORRUPT / CF_EIO when the remote cannot).
 * Called from request threads: must be thread-safe. */
typedef struct st_remote_ops {
    int (*open)(void *ctx, int64_t tier_id, const char *remote_id, uint64_t off,
                uint64_t len, void **stream, cf_err *err);
    int (*read)(void *stream, uint8_t *buf, size_t n, cf_err *err);
    void (*close)(void *stream);
    void *ctx;
} st_remote_ops;
/* Before serving; NULL unregisters (reads of tiered data then fail with
 * CF_EIO). */
void st_remote_set(st_engine *e, const st_remote_ops *ops);

/* The reads that follow on g stay within [offset, offset + length): a
 * tiered object is then fetched with one ranged request for the blocks
 * they need, instead of one to the end of the object. */
void st_get_range_hint(st_get *g, uint64_t offset, uint64_t length);

/* ---- restores ------------------------------------------------------------------- */

typedef enum st_restore_result {
    ST_RESTORE_STARTED,                  /* 202: a local copy is on its way */
    ST_RESTORE_EXTENDED,                 /* 200: already restored; days from now */
    ST_RESTORE_IN_PROGRESS,              /* 409: already on its way */
} st_restore_result;
/* RestoreObject: keep a local copy of the key's version (S3's version
 * id; NULL: the current one) for days * day_ms. CF_ESTATE if it is not
 * in a tier (or not yet); CF_ENOVERSION, CF_EMARKER. */
int st_restore_request(st_engine *e, const char *tenant, const char *bucket,
                       const char *key, const char *version, int days, int64_t day_ms,
                       st_restore_result *res, cf_err *err);
/* RESTORING versions, oldest first (by request, or by the last look). */
int st_restore_due(st_engine *e, int max, st_candidate_cb cb, void *ctx, cf_err *err);
/* A RESTORING version the remote is still making readable (an Archive
 * blob rehydrating): to the back of st_restore_due's order, so that a
 * pass looks at others first. */
int st_restore_later(st_engine *e, const char *version_id, cf_err *err);
/* Bring the version's sealed stream back from src (every block checked
 * against its tag before it is kept) and make it RESTORED until
 * day_ms * its days from now. CF_ENOKEY if the version is gone. */
int st_restore_import(st_engine *e, const st_tier_candidate *c, int64_t day_ms,
                      st_source src, void *ctx, cf_err *err);
/* Where the sealed stream of a TIERED/RESTORING version starts in its
 * remote object, and the remote id. */
int st_tier_locate(st_engine *e, const char *version_id, char remote_id[ST_REMOTE_ID_HEX],
                   uint64_t *data_offset, uint64_t *sealed_len, cf_err *err);
/* Drop the local copies whose days are over (back to TIERED). */
int st_restore_expire(st_engine *e, uint64_t *expired, cf_err *err);

/* ---- lifecycle configurations and the objects rules look at ------------------------ */

/* A bucket's lifecycle configuration is stored as the XML the client sent
 * (validated by the front end). Get: CF_ENOTFOUND if none. */
int st_lifecycle_put(st_engine *e, const char *tenant, const char *bucket,
                     const char *xml, size_t len, cf_err *err);
int st_lifecycle_get(st_engine *e, const char *tenant, const char *bucket, char **xml,
                     size_t *len, cf_err *err);
int st_lifecycle_delete(st_engine *e, const char *tenant, const char *bucket,
                        cf_err *err);

typedef struct st_lifecycle_bucket {
    char tenant[ST_MAX_TENANT + 1];
    char bucket[ST_MAX_BUCKET + 1];
    const char *xml;
    size_t len;
    const char *cursor;                  /* "" at the start of a pass */
} st_lifecycle_bucket;
typedef int (*st_lifecycle_bucket_cb)(void *ctx, const st_lifecycle_bucket *b);
int st_lifecycle_buckets(st_engine *e, st_lifecycle_bucket_cb cb, void *ctx, cf_err *err);
/* Where the pass over a bucket got to ("" starts the next pass over). */
int st_lifecycle_cursor(st_engine *e, const char *tenant, const char *bucket,
                        const char *cursor, cf_err *err);

/* A version as rules see it: the key's current version, a noncurrent
 * version or a delete marker (the latest or a noncurrent one). */
typedef struct st_lifecycle_object {
    const char *key;
    char version_id[ST_ID_HEX];
    int64_t seq;                         /* the key's versions, newest highest */
    uint64_t size;                       /* 0 for a marker */
    int64_t mtime_ms;
    int64_t noncurrent_ms;               /* when it became noncurrent; 0: it is the
                                            latest (the current version or marker) */
    bool current;                        /* the key's current version (not a marker) */
    bool marker;                         /* a delete marker */
    bool latest;                         /* the key's newest version (object or marker) */
    int lock_mode;                       /* ST_LOCK_*, retain_until_ms, legal_hold as */
    int64_t retain_until_ms;             /* st_object_info has them */
    int legal_hold;
    const st_header *tags;               /* name: tag key */
    size_t ntags;
    int tier_state;                      /* ST_TIER_* */
} st_lifecycle_object;
typedef int (*st_lifecycle_object_cb)(void *ctx, const st_lifecycle_object *o);
/* Up to max versions of the bucket with keys starting with prefix, in
 * (key, newest first) order, from after `after` ("" from the start):
 * the key's versions older than after_seq (INT64_MAX: all of its
 * versions, 0: none of them), then later keys; *more says whether the
 * walk stopped at max. An unversioned bucket has one version per key. */
int st_lifecycle_objects(st_engine *e, const char *tenant, const char *bucket,
                         const char *prefix, const char *after, int64_t after_seq, int max,
                         st_lifecycle_object_cb cb, void *ctx, bool *more, cf_err *err);
/* Expiration of the current version, only if version_id is still the
 * key's current version (a newer PUT is not expired by an older one's
 * age): deleted as a DELETE without a version id is (a versioned bucket
 * gets a delete marker; a suspended one a null marker in place of its
 * null version). 1 done, 0 not (changed or gone), -1 (CF_ELOCKED: a null
 * version under object lock stays). */
int st_expire(st_engine *e, const char *tenant, const char *bucket, const char *key,
              const char *version_id, cf_err *err);
/* NoncurrentVersionExpiration: destroy the version only if it is still
 * noncurrent since noncurrent_ms and at least keep noncurrent object
 * versions of its key are newer. 1, 0, -1 as st_expire (CF_ELOCKED:
 * under object lock, it stays). */
int st_expire_noncurrent(st_engine *e, const char *tenant, const char *bucket,
                         const char *key, const char *version_id, int64_t noncurrent_ms,
                         int64_t keep, cf_err *err);
/* ExpiredObjectDeleteMarker: remove the marker only if it is its key's
 * only version. 1, 0, -1 as st_expire. */
int st_expire_marker(st_engine *e, const char *tenant, const char *bucket, const char *key,
                     const char *version_id, cf_err *err);

/* ---- recovery: a remote object with the master key alone -------------------------------- */

/* What a remote object's header says (storage/tierfmt.c, doc/design.md). */
typedef struct st_remote_header {
    char tenant[ST_MAX_TENANT + 1];
    char version_id[ST_ID_HEX];
    char *meta;                          /* the version's metadata, JSON */
    uint64_t data_offset;                /* where the sealed stream starts */
} st_remote_header;
/* Open the header at the start of remote object remote_id (buf holds at
 * least its first data_offset bytes). CF_ECORRUPT if it does not open. */
int st_remote_header_open(const uint8_t master[32], const char *remote_id,
                          const uint8_t *buf, size_t len, st_remote_header *out,
                          cf_err *err);
void st_remote_header_clear(st_remote_header *h);
/* How many bytes of a remote object's start hold its header, from its
 * first 16: CF_ECORRUPT if they are not a coffer remote object's. */
int st_remote_header_len(const uint8_t preamble[16], uint64_t *len, cf_err *err);

/* coffer tier recover (storage/tieradopt.c): put the version a remote
 * object of tier_id holds back into the index, from the object's header
 * (head: its first st_remote_header_len bytes) and the master key alone:
 * tenant and bucket (created if missing), the version as its key's
 * current one, segments, tags, and TIERED in the tier. Nothing the index
 * holds is changed: a version it knows (by version id) is PRESENT, a
 * key that has another version is KEY_TAKEN (the remote object stays as
 * it is). CF_ECORRUPT: not a coffer remote object, or not this master
 * key's, or its length is not what its header describes. */
typedef enum st_adopt_result {
    ST_ADOPT_ADDED, ST_ADOPT_PRESENT, ST_ADOPT_KEY_TAKEN,
} st_adopt_result;
typedef struct st_adopt_info {
    st_adopt_result result;
    char tenant[ST_MAX_TENANT + 1];
    char bucket[ST_MAX_BUCKET + 1];
    char key[ST_MAX_KEY + 1];
} st_adopt_info;
int st_tier_adopt(st_engine *e, int64_t tier_id, const char *remote_id,
                  const uint8_t *head, size_t len, uint64_t remote_size,
                  const char *remote_etag, st_adopt_info *out, cf_err *err);

/* ---- tags ---------------------------------------------------------------------------- */

#define ST_MAX_TAGS 10
#define ST_MAX_TAG_KEY 128                /* characters */
#define ST_MAX_TAG_VALUE 256

/* A version's tags (name = key); *n 0 if none. version: S3's version id,
 * NULL for the current version. Free with st_tags_free. */
int st_tags_get(st_engine *e, const char *tenant, const char *bucket, const char *key,
                const char *version, st_header **tags, size_t *n, cf_err *err);
/* Replace them (n 0: delete them). CF_ENOKEY, CF_ENOVERSION, CF_EMARKER
 * (a delete marker has no tags). */
int st_tags_put(st_engine *e, const char *tenant, const char *bucket, const char *key,
                const char *version, const st_header *tags, size_t n, cf_err *err);
void st_tags_free(st_header *tags, size_t n);
/* S3's rules for a tag set: at most 10, keys 1..128 and values 0..256
 * characters of UTF-8 without control characters, unique keys, none
 * starting with "aws:". CF_EINVAL with S3's message (InvalidTag). */
int st_tags_check(const st_header *tags, size_t n, cf_err *err);

#endif
