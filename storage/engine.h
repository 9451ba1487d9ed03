/*
 * storage/engine.h - the object engine's contract. This is the only storage
 * header the S3 front end includes. The engine knows nothing of HTTP: it
 * stores tenants, access keys, buckets, objects and multipart uploads, keeps
 * every byte encrypted (AES-256-GCM), erasure-coded (Reed-Solomon k+m) and
 * CRC32C-checked on a set of disk directories, with a SQLite index as the
 * single commit point.
 *
 * Threading: an st_engine is shared by all request threads; every function
 * here is thread-safe. A stream object (st_put, st_get) belongs to one
 * thread at a time.
 *
 * Memory: streams hold a bounded buffer (about two blocks, block size 1 MiB
 * by default) whatever the object size.
 *
 * Errors: every function returns 0 / -1 with cf_err filled (common/error.h).
 * Codes a front end must map: CF_ENOBUCKET, CF_EBUCKETEXISTS, CF_ENOTEMPTY,
 * CF_ENOKEY, CF_ENOUPLOAD, CF_EBADPART, CF_EPARTORDER, CF_ETOOSMALL,
 * CF_ERANGE, CF_EDIGEST, CF_ETOOLARGE, CF_EINVAL, CF_EEXISTS, CF_ENOTFOUND;
 * anything else is an internal error (500) whose message is logged.
 *
 * Names: tenant names are [a-z0-9-]{1,64}. Bucket and key validity (S3
 * naming rules, UTF-8) is checked by the front end; the engine checks only
 * lengths (bucket <= 63, key <= 1024 bytes) and treats keys as bytes.
 * Listings sort keys by their bytes (memcmp order).
 */
#ifndef ST_ENGINE_H
#define ST_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/checksum.h"

#define ST_MAX_DISKS 16
#define ST_MAX_KEY 1024
#define ST_MAX_BUCKET 63
#define ST_MAX_TENANT 64
#define ST_MAX_USERMETA 2048          /* sum of user metadata names + values */
#define ST_MAX_PUT_SIZE (5ULL << 30)  /* single PUT / part */
#define ST_MIN_PART_SIZE (5ULL << 20) /* every part but the last */
#define ST_MAX_PARTS 10000
#define ST_ETAG_MAX 48                /* quoted hex MD5 + "-NNNNN" + NUL */
#define ST_ID_HEX 33                  /* 32 hex chars + NUL (version/upload ids) */
#define ST_ACCESS_KEY_MAX 33
#define ST_CHECKSUM_MAX (CKS_MAX_B64 + 8) /* base64 value + "-NNNNN" (composite) */
#define ST_SECRET_KEY_MAX 65

typedef struct st_engine st_engine;

typedef struct st_config {
    const char *disks[ST_MAX_DISKS]; /* data directories, in set order */
    int ndisks;
    const char *meta_dir;            /* SQLite index lives here */
    const char *master_key_file;     /* 64 hex chars, mode 0600 */
    const char *master_key_hex;      /* alternative (e.g. from env); wins if set */
    bool create_master_key;          /* generate master_key_file if missing */
    int k, m;                        /* 0, 0 = default for ndisks */
    uint32_t block_size;             /* 0 = 1 MiB; fixed at format time */
    uint32_t inline_max;             /* objects up to this size live in the
                                        index (0 = default, see doc/design.md) */
    bool no_inline;                  /* force shard files even for tiny objects */
} st_config;

/* Open (formatting fresh directories on first use). Refuses, naming the disk
 * and the reason: a disk from another set, a disk in another position,
 * fewer than k readable disks, a wrong master key. */
int st_open(const st_config *cfg, st_engine **out, cf_err *err);
void st_close(st_engine *e);
void st_layout(const st_engine *e, int *k, int *m, uint32_t *block_size);

/* ---- tenants and access keys -------------------------------------- */

typedef struct st_tenant_info {
    char name[ST_MAX_TENANT + 1];
    int64_t created;                 /* unix seconds */
} st_tenant_info;

typedef struct st_key_info {
    char access_key[ST_ACCESS_KEY_MAX];
    char tenant[ST_MAX_TENANT + 1];
    bool read_only;
    int64_t created;
} st_key_info;

int st_tenant_create(st_engine *e, const char *name, cf_err *err);   /* CF_EEXISTS */
/* Refuses (CF_ENOTEMPTY) while the tenant owns buckets; revokes its keys. */
int st_tenant_delete(st_engine *e, const char *name, cf_err *err);   /* CF_ENOTFOUND */
typedef int (*st_tenant_cb)(void *ctx, const st_tenant_info *t);
int st_tenant_list(st_engine *e, st_tenant_cb cb, void *ctx, cf_err *err);

/* Create a key pair for a tenant. If access_key/secret are given (non-NULL)
 * they are used as is (the embedded default's dev key), else random ones
 * are generated (AK: 20 chars [A-Z0-9], SK: 40 chars base64-ish). The secret
 * is stored encrypted under the master key. */
int st_key_create(st_engine *e, const char *tenant, bool read_only,
                  const char *access_key, const char *secret,
                  char ak_out[ST_ACCESS_KEY_MAX], char sk_out[ST_SECRET_KEY_MAX],
                  cf_err *err);
/* Look a key up for signature checking: CF_ENOTFOUND if unknown/revoked. */
int st_key_lookup(st_engine *e, const char *access_key, st_key_info *info,
                  char secret_out[ST_SECRET_KEY_MAX], cf_err *err);
typedef int (*st_key_cb)(void *ctx, const st_key_info *k);
int st_key_list(st_engine *e, const char *tenant /* NULL: all */, st_key_cb cb,
                void *ctx, cf_err *err);
int st_key_revoke(st_engine *e, const char *access_key, cf_err *err);

/* ---- buckets ---------------------------------------------------------- */

typedef struct st_bucket_info {
    char name[ST_MAX_BUCKET + 1];
    char region[32];
    int64_t created;                 /* unix seconds */
} st_bucket_info;

int st_bucket_create(st_engine *e, const char *tenant, const char *bucket,
                     const char *region, cf_err *err);   /* CF_EBUCKETEXISTS */
int st_bucket_delete(st_engine *e, const char *tenant, const char *bucket,
                     cf_err *err);                      /* CF_ENOTEMPTY */
int st_bucket_get(st_engine *e, const char *tenant, const char *bucket,
                  st_bucket_info *info, cf_err *err);   /* CF_ENOBUCKET */
typedef int (*st_bucket_cb)(void *ctx, const st_bucket_info *b);
int st_bucket_list(st_engine *e, const char *tenant, st_bucket_cb cb, void *ctx,
                   cf_err *err);   /* sorted by name */

/* ---- objects ---------------------------------------------------------- */

/* Metadata headers stored with an object, opaque to the engine: the front
 * end decides names (e.g. "content-type", "x-amz-meta-mtime",
 * "cache-control"), lowercase, and order. */
typedef struct st_header {
    char *name;
    char *value;
} st_header;

typedef struct st_object_info {
    char key[ST_MAX_KEY + 1];
    char version_id[ST_ID_HEX];
    uint64_t size;
    char etag[ST_ETAG_MAX];          /* quoted: "\"hex\"" or "\"hex-N\"" */
    int64_t mtime_ms;                /* unix milliseconds */
    cks_algo checksum_algo;          /* CKS_NONE if none stored */
    char checksum_b64[ST_CHECKSUM_MAX]; /* full-object value, or composite "...-N" */
    bool checksum_composite;         /* multipart: checksum of part checksums */
    int nparts;                      /* 0 for a single PUT */
    st_header *headers;              /* owned; st_object_info_clear frees */
    size_t nheaders;
} st_object_info;

void st_object_info_clear(st_object_info *info);
/* Value of a stored header by lowercase name, or NULL. */
const char *st_object_header(const st_object_info *info, const char *name);

/* What a PUT (or a part) carries besides its body. */
typedef struct st_put_args {
    const char *tenant, *bucket, *key;
    const st_header *headers;        /* copied; ignored for parts */
    size_t nheaders;
    cks_algo checksum_algo;          /* compute this while streaming */
    /* for a part: */
    const char *upload_id;           /* NULL for a plain PUT */
    uint32_t part_number;            /* 1..10000 */
    int64_t expected_size;           /* -1 if unknown (then <= 5 GiB enforced) */
} st_put_args;

/* Checks made at st_put_finish, before anything becomes visible. */
typedef struct st_put_expect {
    const uint8_t *content_md5;      /* 16 raw bytes, or NULL */
    const char *checksum_b64;        /* value the client sent, or NULL */
} st_put_expect;

typedef struct st_put st_put;

/* Begin a PUT: CF_ENOBUCKET, CF_ENOUPLOAD, CF_ETOOLARGE (expected size). */
int st_put_begin(st_engine *e, const st_put_args *args, st_put **out, cf_err *err);
/* Stream body bytes in; CF_ETOOLARGE past expected_size or 5 GiB. */
int st_put_write(st_put *p, const void *data, size_t len, cf_err *err);
/* Verify (CF_EDIGEST on mismatch; size != expected_size is CF_EINVAL), make
 * durable, commit. On success fills info (etag, size, checksum, version) and
 * frees p. On failure the PUT leaves nothing visible; p is freed too. */
int st_put_finish(st_put *p, const st_put_expect *expect, st_object_info *info,
                  cf_err *err);
/* Give up: removes temporary data, frees p. */
void st_put_abort(st_put *p);

/* HEAD: CF_ENOBUCKET, CF_ENOKEY. */
int st_head(st_engine *e, const char *tenant, const char *bucket, const char *key,
            st_object_info *info, cf_err *err);

typedef struct st_get st_get;
/* Open for reading; fills info. The object stays readable through this
 * handle even if it is overwritten or deleted meanwhile. */
int st_get_open(st_engine *e, const char *tenant, const char *bucket,
                const char *key, st_object_info *info, st_get **out, cf_err *err);
/* Read up to len bytes at offset (any offset; sequential reads are fastest).
 * Returns bytes read in *n (0 at end). Verifies every CRC and GCM tag; a
 * missing or corrupt shard is rebuilt from parity (and queued for heal);
 * beyond repair: CF_ECORRUPT or CF_EQUORUM, never wrong bytes (on failure
 * buf's content is unspecified and must not be sent). Reads of whole
 * blocks from a block boundary skip a copy: read in multiples of the
 * block size where you can. */
int st_get_read(st_get *g, uint64_t offset, void *buf, size_t len, size_t *n,
                cf_err *err);
void st_get_close(st_get *g);

/* Delete: deleting a missing key is success (S3 semantics) unless the
 * bucket is missing (CF_ENOBUCKET). */
int st_delete(st_engine *e, const char *tenant, const char *bucket,
              const char *key, cf_err *err);

/* Server-side copy (re-encrypts under a new version). If headers is NULL the
 * source's headers are kept (COPY), else replaced (REPLACE). */
int st_copy(st_engine *e, const char *tenant, const char *src_bucket,
            const char *src_key, const char *dst_bucket, const char *dst_key,
            const st_header *headers, size_t nheaders, cks_algo checksum_algo,
            st_object_info *info, cf_err *err);

/* Listing. Entries arrive in key byte order, each either an object or (when
 * delimiter is set) a common prefix, rolled up as S3 does. At most max_keys
 * entries (objects + prefixes) are delivered; *truncated says whether more
 * exist, *next_marker is the last key or prefix delivered (for NextMarker /
 * continuation). start_after is exclusive. */
typedef struct st_list_args {
    const char *tenant, *bucket;
    const char *prefix;              /* NULL or "" = all */
    const char *delimiter;           /* NULL or "" = none */
    const char *start_after;         /* NULL = from the start */
    int max_keys;                    /* 0..1000 (0 delivers nothing) */
} st_list_args;
typedef int (*st_list_cb)(void *ctx, const st_object_info *obj /* NULL for a prefix */,
                          const char *common_prefix /* NULL for an object */);
int st_list(st_engine *e, const st_list_args *args, st_list_cb cb, void *ctx,
            bool *truncated, char next_marker[ST_MAX_KEY + 1], cf_err *err);

/* ---- multipart -------------------------------------------------------- */

int st_upload_create(st_engine *e, const char *tenant, const char *bucket,
                     const char *key, const st_header *headers, size_t nheaders,
                     cks_algo checksum_algo, char upload_id[ST_ID_HEX], cf_err *err);

typedef struct st_part_info {
    uint32_t part_number;
    uint64_t size;
    char etag[ST_ETAG_MAX];
    char checksum_b64[CKS_MAX_B64];
    int64_t mtime_ms;
} st_part_info;

typedef struct st_complete_part {
    uint32_t part_number;
    const char *etag;                /* as the client sent it, quotes optional */
    const char *checksum_b64;        /* NULL if not sent */
} st_complete_part;

/* Complete: parts must be ascending (CF_EPARTORDER), exist with matching
 * ETags (CF_EBADPART), and all but the last be >= 5 MiB (CF_ETOOSMALL).
 * No data is copied. The upload's key must equal `key` (else CF_ENOUPLOAD). */
int st_upload_complete(st_engine *e, const char *tenant, const char *bucket,
                       const char *key, const char *upload_id,
                       const st_complete_part *parts, size_t nparts,
                       st_object_info *info, cf_err *err);
int st_upload_abort(st_engine *e, const char *tenant, const char *bucket,
                    const char *key, const char *upload_id, cf_err *err);

typedef struct st_upload_info {
    char key[ST_MAX_KEY + 1];
    char upload_id[ST_ID_HEX];
    int64_t created_ms;
    cks_algo checksum_algo;
} st_upload_info;

/* Parts after part_marker, at most max_parts, ascending. */
typedef int (*st_part_cb)(void *ctx, const st_part_info *p);
int st_upload_list_parts(st_engine *e, const char *tenant, const char *bucket,
                         const char *key, const char *upload_id,
                         uint32_t part_marker, int max_parts, st_part_cb cb,
                         void *ctx, bool *truncated, cf_err *err);
/* Uploads ordered by (key, upload id), after (key_marker, upload_id_marker). */
typedef int (*st_upload_cb)(void *ctx, const st_upload_info *u);
int st_upload_list(st_engine *e, const char *tenant, const char *bucket,
                   const char *prefix, const char *key_marker,
                   const char *upload_id_marker, int max_uploads,
                   st_upload_cb cb, void *ctx, bool *truncated, cf_err *err);

/* ---- sealed streams (cold tier) --------------------------------------- */

/* An object's data exactly as stored, before erasure coding: for every
 * segment in order, every block's ciphertext || GCM tag. A remote tier
 * holding this stream never sees plaintext or keys; the data keys stay in
 * the index (wrapped). Open with st_get_open, then: */

/* Total bytes of the sealed stream (size + 16 per block per segment). */
uint64_t st_get_sealed_length(const st_get *g);
/* Next piece of the sealed stream: *data valid until the next call; *len 0
 * at the end. Shards are CRC-checked and rebuilt like a normal read. */
int st_get_sealed_next(st_get *g, const uint8_t **data, size_t *len, cf_err *err);

/* Exactly len bytes of a sealed stream into buf, or an error. */
typedef int (*st_source)(void *ctx, uint8_t *buf, size_t len, cf_err *err);
/* Take a sealed stream back for the object's current version, which must
 * be version_id (CF_ENOKEY otherwise): every block is checked against its
 * GCM tag at its position (CF_ECORRUPT: nothing replaced for that
 * segment), then the segment's shard files are rewritten in place (same
 * data id and data key). */
int st_sealed_import(st_engine *e, const char *tenant, const char *bucket,
                     const char *key, const char *version_id, st_source src,
                     void *ctx, cf_err *err);

/* ---- maintenance ------------------------------------------------------ */

typedef struct st_gc_stats {
    uint64_t deleted_segments;       /* from the delete queue */
    uint64_t orphan_files;           /* shard/temp files no row refers to */
    uint64_t healed_segments;
    uint64_t heal_failures;
} st_gc_stats;

/* Drain the delete queue and remove orphan shard/temp files older than
 * grace_s seconds (0: all orphans; only safe when no PUT is in flight). */
int st_gc(st_engine *e, int64_t grace_s, st_gc_stats *stats, cf_err *err);
/* Rewrite missing/bad shards of every segment on the heal queue. */
int st_heal(st_engine *e, st_gc_stats *stats, cf_err *err);
/* Copy the index to DISK/index.snapshot on every online disk (a
 * consistent copy; see doc/design.md for recovery from it). *copies gets
 * how many disks hold the new snapshot; fails only if none does. */
int st_snapshot(st_engine *e, int *copies, cf_err *err);
/* Number of segments waiting on the heal queue. */
int st_heal_pending(st_engine *e, uint64_t *n, cf_err *err);

/* Segments waiting on the delete queue (files still to be unlinked). */
int st_delete_pending(st_engine *e, uint64_t *n, cf_err *err);

/* Index commit counters since open: committed transactions, and the WAL
 * fdatasyncs that made them durable (group commit: concurrent writers
 * share one, so wal_syncs stays well below commits under load), the time
 * they took in all and per bucket of st_sync_bounds() (the last bucket:
 * slower than every bound); wal_failed once one failed (the index then
 * refuses writes until restart). */
#define ST_SYNC_NBOUNDS 12
typedef struct st_index_stats {
    uint64_t commits;
    uint64_t wal_syncs;
    double wal_sync_seconds;
    uint64_t wal_sync_buckets[ST_SYNC_NBOUNDS + 1];
    bool wal_failed;
} st_index_stats;
void st_index_stats_get(st_engine *e, st_index_stats *out);
/* Upper bounds, in seconds, of the fdatasync duration buckets. */
const double *st_sync_bounds(void);

/* ---- observability (storage/stats.c) ---------------------------------- */

/* What a tenant stores: exact, kept in the same index commit as every
 * object row (doc/design.md). Objects and bytes of completed objects;
 * parts of unfinished multipart uploads are not counted. */
typedef struct st_usage {
    char tenant[ST_MAX_TENANT + 1];
    uint64_t buckets, objects, bytes;
} st_usage;
typedef int (*st_usage_cb)(void *ctx, const st_usage *u);
/* Every tenant (or only `tenant`), by name; cost: one row per bucket. */
int st_usage_list(st_engine *e, const char *tenant, st_usage_cb cb, void *ctx,
                  cf_err *err);

/* A disk of the set as it is now. The file system figures come from
 * statvfs (0 if it fails); disk directories that share a file system
 * each report all of it. writable: the disk is online and its tmp/
 * directory takes new files (exists, not on a read-only mount, space
 * left). The error counters count since open (see storage/diskset.h). */
typedef struct st_disk_info {
    const char *path;                /* valid while the engine is open */
    bool online;                     /* usable when the engine opened */
    bool writable;
    uint64_t capacity_bytes, used_bytes, available_bytes;
    uint64_t read_errors, write_errors, crc_errors;
} st_disk_info;
int st_disk_count(const st_engine *e);
void st_disk_get(const st_engine *e, int i, st_disk_info *out);

#endif
