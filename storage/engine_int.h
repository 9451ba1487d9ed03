/*
 * storage/engine_int.h - what the engine's own files share. Not for use
 * outside storage/ (tests/layering.txt: the rest of coffer sees
 * storage/engine.h only).
 *
 * Files, each one concern, its internal functions named after it:
 *   engine.c   open/close, layout, clocks, ids, segment descriptors (eng_)
 *   kek.c      the tenant KEK cache (kek_)
 *   tenant.c   tenants table (tenant_), what each stores (bucket_usage)
 *   quota.c    quotas table: limits and the admission rule (quota_)
 *   key.c      access_keys (key_)
 *   bucket.c   buckets table (bucket_)      headers.c stored headers (headers_)
 *   object.c   objects and segments tables: rows, versions, HEAD, DELETE (obj_)
 *   put.c      the PUT path and copy        get.c     the GET path, readers (get_)
 *   list.c     listing                      sealed.c  sealed streams (cold tier)
 *   upload.c   uploads and parts tables: multipart (upload_)
 *   deleteq.c  delete_queue table: queueing and draining (deleteq_)
 *   packidx.c  pack_shards table: packed shards, unlinking dead packs (packidx_)
 *   heal.c     heal_queue table and st_heal (heal_)
 *   gc.c       st_gc: drain, then the orphan scan
 *   compact.c  st_compact: rewriting the live records of mostly dead packs
 *   stats.c    each disk's state and error counters (st_disk_*)
 * and beside them index.c (idx_), identity.c (ident_), snapshot.c (snap_),
 * restore.c, and the layers below: segwrite/segread/segment.c, shard.c,
 * ds.c, rs.c, crypto.c. Every SQL statement on a table is in that table's
 * file (index.c keeps meta and the schema, and so bucket_usage's
 * triggers).
 *
 * Locking. e->ix's mutex (the index lock) serialises all index access.
 *   [index lock]  the caller holds it: every function named *_locked; each
 *                 asserts so (idx_assert_held) in debug and sanitizer builds.
 *   [takes it]    locks and unlocks it itself; never called with it held.
 *   [no lock]     touches no shared state, or only under the lock named.
 * Disk I/O for object data is done without the index lock. A section that
 * writes ends with eng_unlock_durable (group commit, see index.h); one
 * that only reads with idx_unlock. Other locks, never held with the index
 * lock held except where said: readers_lock (get.c), kek_lock (kek.c),
 * gc_lock (gc.c; gc_last_lock, taken under it, guards the last scan's
 * stats), snap_lock (snapshot.c), compact_lock (compact.c: the index lock
 * and the pack set's are taken under it, never it under them).
 *
 * Deferred deletion: an overwritten or deleted segment is moved to
 * delete_queue in the same transaction that drops its last reference.
 * Its files are unlinked only when no st_get handle opened before the
 * queueing is still alive (readers keep reading what they opened).
 */
#ifndef ST_ENGINE_INT_H
#define ST_ENGINE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "storage/crypto.h"
#include "storage/ds.h"
#include "storage/engine.h"
#include "storage/index.h"
#include "storage/journal.h"
#include "storage/lifecycle.h"
#include "storage/rs.h"
#include "storage/segment.h"

#define ENG_DEFAULT_INLINE_MAX (64u << 10)
#define ENG_MAX_READERS 4096
#define ENG_KEK_SLOTS 64
#define DELETEQ_BATCH 256

/* A tenant's KEK, derived once (HKDF is ~15% of a small GET's CPU). */
typedef struct eng_kek_slot {
    bool used;
    char tenant[ST_MAX_TENANT + 1];
    uint8_t kek[CRYPT_KEY_LEN];
} eng_kek_slot;

/* An access key as st_key_lookup found it (key.c): its row and its opened
 * secret, so that a request neither takes the index lock nor opens the
 * sealed secret again. */
#define ENG_KEY_SLOTS 32
typedef struct eng_key_slot {
    bool used;
    st_key_info info;                /* the policy's arrays owned by the slot */
    char secret[ST_SECRET_KEY_MAX];
} eng_key_slot;

struct st_engine {
    ds_set set;
    rs_codec *rs;
    idx *ix;
    uint8_t master[CRYPT_KEY_LEN];
    uint8_t secrets_key[CRYPT_KEY_LEN];  /* derived from master at open */
    uint32_t inline_max;
    uint32_t pack_max;               /* pack_shard_max_bytes (0: no packing) */
    pack_set packs;                  /* each disk's open pack (pack.h) */
    double compact_ratio;            /* pack_compact_dead_ratio (compact.c) */
    pthread_mutex_t compact_lock;    /* one st_compact at a time */
    atomic_uint_fast64_t compact_reclaimed, compact_copied;  /* bytes, since open */
    bool packs_ready;                /* packs initialised (st_close) */
    pthread_mutex_t readers_lock;
    int64_t reader_open_ms[ENG_MAX_READERS]; /* 0 = free slot */
    pthread_mutex_t kek_lock;        /* guards the KEK cache */
    eng_kek_slot keks[ENG_KEK_SLOTS];
    unsigned kek_next;               /* next slot to replace when full */
    pthread_mutex_t key_lock;        /* guards the access key cache (key.c) */
    eng_key_slot key_slots[ENG_KEY_SLOTS];
    unsigned key_next;               /* next slot to replace when full */
    uint64_t key_gen;                /* under key_lock: bumped by every write of
                                        access_keys, with the index lock held */
    /* Hint: the delete queue may hold entries. Set (under the index lock)
     * by whatever queues; cleared only by a drain that found the queue
     * empty under the lock. Lets a PUT that replaced nothing skip the
     * drain without touching the index. */
    atomic_bool deletes_pending;
    /* When this index began to rule the disks (created with the set or
     * restored): GC never deletes a file older than that. */
    int64_t created_ms;
    pthread_mutex_t gc_lock;         /* one st_gc at a time */
    int gc_max_orphans, gc_max_orphan_percent;
    pthread_mutex_t gc_last_lock;    /* guards gc_last*, never held for long, so
                                      * st_gc_last (status, metrics) never waits
                                      * for a scan */
    st_gc_stats gc_last;
    int64_t gc_last_ms;              /* 0: no scan yet */
    pthread_mutex_t snap_lock;       /* one st_snapshot at a time; guards below */
    uint64_t last_snapshot;          /* commit number of the last one taken */
    int snap_keep, snap_days;
    jrn *jrn;                        /* the disks' journals (journal.h), or NULL */
    /* Under the index lock: keys whose versions the section holding it
     * changed, journaled when it ends (jrnrec_touch_locked). */
    struct jrn_touched { int64_t bucket_id; char *key; } *touched;
    size_t n_touched, cap_touched;
    /* ... and remote ids whose remote_deletes row it added or removed
     * (jrnrec_remote_touch_locked) */
    char **touched_remote;
    size_t n_touched_remote, cap_touched_remote;
    pthread_mutex_t cat_lock;        /* one catalog save at a time (catalog.h) */
    int64_t cat_saved_ms;            /* under cat_lock: the last save, 0: none */
    int cat_copies;                  /* under cat_lock: disks that took it */
    bool opened;                     /* st_open succeeded */
    /* Held by a drain from reading queued ids to deleting them, and by a
     * restore taking its ids off the queue (gc.c). */
    pthread_mutex_t drain_lock;
    /* The tier module's remote reader (lifecycle.h), NULL if none; set
     * before serving, read by request threads. */
    const st_remote_ops *remote;
};

/* ---- engine.c [no lock] ------------------------------------------------- */

int64_t eng_now_ms(void);
/* The clock file systems stamp files with (coarse): a file written after
 * a time taken from it never has an earlier mtime. */
int64_t eng_file_clock_ms(void);

void eng_id_to_hex(const uint8_t id[16], char out[ST_ID_HEX]);
/* One line of an offline command's report to cb (may be NULL). */
void eng_say(st_say_cb cb, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int eng_id_from_hex(const char *hex, uint8_t id[16]);

/* End a locked section that may have written [index lock, released]:
 * release the lock and wait until its commits are on disk. Returns rc (the
 * section's result, whose error stays in err), or -1 with CF_EIO when rc
 * was 0 but the commit could not be made durable. */
static inline int eng_unlock_durable(st_engine *e, int rc, cf_err *err)
{
    cf_err later;
    jrnrec_flush_locked(e);
    if (idx_unlock_durable(e->ix, rc == 0 ? err : &later) < 0)
        return -1;
    return rc;
}

/* The master key from cfg. A missing key file is generated (with create)
 * only for a fresh set: over disks that hold data a new key could never
 * read anything, so that is refused (CF_ECRYPTO). */
int eng_load_master(const st_config *cfg, const ds_set *set, bool create,
                    uint8_t key[CRYPT_KEY_LEN], cf_err *err);

/* Fill a segment descriptor [takes kek_lock]. With wrapped == NULL a fresh
 * data key is made and wrapped into d->header.wrapped; otherwise the given
 * one is unwrapped. The wrapping key is ssec_kek when given (an SSE-C
 * object's, eng_ssec_kek), else the tenant's KEK. The caller wipes d->dk. */
int eng_segment_desc(st_engine *e, const char *tenant, const char *bucket,
                     const char *key, const uint8_t object_id[16], uint32_t part,
                     const uint8_t data_id[CRYPT_DATA_ID_LEN],
                     const uint8_t *wrapped, const uint8_t *ssec_kek, seg_desc *d,
                     cf_err *err);
/* The same without any key: names, ids and geometry, the wrapped key
 * copied as stored, d->dk zero. Enough for what never decrypts (heal
 * rebuilds shards from shards). With wrapped (a stored segment) also
 * where its shards are (packidx_locate) [takes the index lock]; without,
 * [no lock]. */
int eng_segment_layout(st_engine *e, const char *tenant, const char *bucket,
                       const char *key, const uint8_t object_id[16], uint32_t part,
                       const uint8_t data_id[CRYPT_DATA_ID_LEN],
                       const uint8_t wrapped[CRYPT_WRAPPED_LEN], seg_desc *d, cf_err *err);
/* SSE-C [takes kek_lock]: check key against what the index keeps of the
 * object's or upload's customer key (stored NULL: it has none) and derive
 * the key that wraps its data keys into kek (the caller wipes it).
 * CF_ENEEDKEY: no key for one that has one, or a key for one that has
 * none; CF_EBADKEY: another key. With neither, returns 0 and *has false. */
int eng_ssec_kek(st_engine *e, const char *tenant, const uint8_t *stored,
                 const uint8_t *key, uint8_t kek[CRYPT_KEY_LEN], bool *has, cf_err *err);

/* After a change to a table the catalog copies (tenants, keys, buckets):
 * write the catalog to every disk before the change is acknowledged
 * [takes the index lock and cat_lock]. A failure is logged, never
 * returned: the index already committed it, and the next save (or open)
 * writes it again. */
void eng_catalog_changed(st_engine *e);
/* eng_catalog_changed when rc is 0 (a setting changed); returns rc. */
int eng_catalog_saved(st_engine *e, int rc);

/* A stored (sharded) segment and where it belongs: an object version or
 * an upload (object_id), its part, size and key, for heal. */
typedef struct eng_seg_loc {
    uint8_t object_id[16];
    uint8_t wrapped[CRYPT_WRAPPED_LEN];
    uint32_t part;
    uint64_t size;
    char tenant[ST_MAX_TENANT + 1], bucket[ST_MAX_BUCKET + 1], key[ST_MAX_KEY + 1];
} eng_seg_loc;
/* Read the row of a locate query (object_id, part, size, wrapped, tenant,
 * bucket, key) into loc [index lock]: 1 found, 0 none, -1 error. */
int eng_seg_loc_read(st_engine *e, sqlite3_stmt *st, eng_seg_loc *loc, cf_err *err);
/* Read up to max data ids (column 0) of query st into ids [index lock];
 * returns how many, or -1 (st NULL counts as an error). */
int eng_ids_read(st_engine *e, sqlite3_stmt *st, uint8_t ids[][16], int max, cf_err *err);

/* ---- kek.c [takes kek_lock; may be called with the index lock held] ---- */

/* The tenant's KEK into kek (the caller wipes it), derived on a miss. */
int kek_get(st_engine *e, const char *tenant, uint8_t kek[CRYPT_KEY_LEN], cf_err *err);
/* Wipe the tenant's slot (the tenant was deleted). */
void kek_forget(st_engine *e, const char *tenant);
/* Wipe the whole cache (close; no lock: nothing else runs). */
void kek_wipe(st_engine *e);

/* ---- headers.c [no lock] ------------------------------------------------ */

/* Validate names/values and the user-metadata size limit. */
int headers_check(const st_header *h, size_t n, cf_err *err);
/* Stored headers <-> JSON text ([[name, value], ...]). */
char *headers_to_json(const st_header *h, size_t n, cf_err *err);
int headers_from_json(const char *json, st_header **h, size_t *n, cf_err *err);
void headers_free(st_header *h, size_t n);

/* ---- tenant.c, key.c, bucket.c [index lock] ----------------------------- */

/* A tenant's row id; CF_ENOTFOUND if there is no such tenant. */
int tenant_id_locked(st_engine *e, const char *name, int64_t *id, cf_err *err);
/* The tenant's row id, creating the tenant (no keys) if it is missing
 * (coffer tier recover). */
int tenant_ensure_locked(st_engine *e, const char *name, int64_t *id, cf_err *err);
/* Delete every access key of a tenant (in the caller's transaction). */
int key_drop_tenant_locked(st_engine *e, int64_t tenant_id, cf_err *err);
/* Empty the access key cache, wiping its secrets (close; no lock: nothing
 * else runs). */
void key_cache_wipe(st_engine *e);
/* A bucket's row id for (tenant, bucket); CF_ENOBUCKET if absent. */
int bucket_id_locked(st_engine *e, const char *tenant, const char *bucket, int64_t *id,
                     cf_err *err);
/* The bucket's row id, creating it (unversioned, no lock) if missing. */
int bucket_ensure_locked(st_engine *e, int64_t tenant_id, const char *tenant,
                         const char *bucket, int64_t *id, cf_err *err);
/* The tenant's and bucket's names of bucket id. */
int bucket_names_locked(st_engine *e, int64_t id, char tenant[ST_MAX_TENANT + 1],
                        char bucket[ST_MAX_BUCKET + 1], cf_err *err);
/* Does the tenant own any bucket? */
int bucket_any_locked(st_engine *e, int64_t tenant_id, bool *any, cf_err *err);
/* What a bucket (bucket_id != 0) or the whole tenant (bucket_id 0) stores:
 * completed objects and their bytes, from bucket_usage (exact: kept in
 * every object commit). A missing bucket stores nothing. */
int tenant_usage_locked(st_engine *e, int64_t tenant_id, int64_t bucket_id,
                        int64_t *objects, int64_t *bytes, cf_err *err);

/* A bucket's versioning state (ST_VERSIONING_*) and object lock. */
typedef struct bucket_lock {
    int versioning;
    bool object_lock;
    int mode;                        /* default retention: ST_LOCK_* */
    int64_t days, years;
} bucket_lock;
int bucket_state_locked(st_engine *e, int64_t bucket_id, bucket_lock *out,
                             cf_err *err);

/* ---- quota.c: quotas [index lock] ---------------------------------------- */

/* May the key in bucket_id come to hold an object of `size` bytes (what
 * it holds now, if anything, is replaced)? 0 yes; CF_EQUOTA if that would
 * take the bucket or its tenant past a limit, in bytes or objects, while
 * growing it. Called in the transaction that commits the object (exact),
 * and before a write's data is read when its size is known. */
int quota_admit_locked(st_engine *e, int64_t bucket_id, const char *key, uint64_t size,
                       cf_err *err);
/* The query quota_admit_locked runs at every write: the quota rows of
 * bucket ?1's tenant and of the bucket, the tenant's first (exposed for
 * test_index, which checks its plan). */
extern const char quota_probe_sql[];
/* The limits of the tenant's own quota (bucket_id 0) or a bucket's;
 * ST_QUOTA_NONE for each when there is none. */
int quota_limits_locked(st_engine *e, int64_t tenant_id, int64_t bucket_id,
                        int64_t *max_bytes, int64_t *max_objects, cf_err *err);

/* ---- object.c: objects and segments [index lock] ------------------------ */

/* Fill info from a row of obj_select_locked / obj_page_locked /
 * obj_version_page_locked; the stored headers only if asked [no lock:
 * reads the row]. */
int obj_fill_info(sqlite3_stmt *st, st_object_info *info, bool headers, cf_err *err);
/* The row's SSE-C record into out: 1 it has one, 0 none [no lock]. */
int obj_row_ssec(sqlite3_stmt *st, uint8_t out[CRYPT_SSEC_LEN]);
/* The current row of (bucket_id, key): 1 found (the statement is left on
 * the row: idx_done it), 0 absent, -1 error. */
int obj_select_locked(st_engine *e, int64_t bucket_id, const char *key,
                      sqlite3_stmt **out, cf_err *err);
/* A version by its id, wherever it is: its row (info without stored
 * headers), tenant and bucket names, and the stored headers JSON
 * (malloc'd, NULL if none): 1 found, 0 not, -1 error. */
typedef struct obj_version {
    st_object_info info;
    char tenant[ST_MAX_TENANT + 1], bucket[ST_MAX_BUCKET + 1];
    char *headers_json;
} obj_version;
int obj_version_locked(st_engine *e, const uint8_t version_id[16], obj_version *v,
                       cf_err *err);
/* A walk over every object version (scrub.c: heal --all, scrub), in
 * (bucket id, key) order after the cursor; one bucket (only_bucket > 0)
 * or all. Returns how many of max it filled (0: the end), -1 error. */
typedef struct obj_walk_item {
    int64_t bucket_id;
    uint8_t version_id[16];
    st_object_info info;             /* without stored headers */
    char tenant[ST_MAX_TENANT + 1], bucket[ST_MAX_BUCKET + 1];
} obj_walk_item;
int obj_walk_locked(st_engine *e, int64_t only_bucket, int64_t after_bucket,
                    const char *after_key, obj_walk_item *out, int max, cf_err *err);
/* Up to limit rows of a bucket in key order from bound (key >= bound when
 * inclusive, else key > bound); iterate with idx_next, idx_done if left
 * early. */
sqlite3_stmt *obj_page_locked(st_engine *e, int64_t bucket_id, const char *bound,
                              size_t bound_len, bool inclusive, int limit, cf_err *err);
/* Up to limit versions and markers of a bucket in (key, newest first)
 * order from (bound, seq_below): rows with key > bound, or key = bound
 * and seq < seq_below (INT64_MAX: all of bound's, 0: none of them). */
sqlite3_stmt *obj_version_page_locked(st_engine *e, int64_t bucket_id, const char *bound,
                                      size_t bound_len, int64_t seq_below, int limit,
                                      cf_err *err);
/* The seq of a listed row (obj_version_page_locked) [no lock]. */
int64_t obj_row_seq(sqlite3_stmt *st);
/* When a listed row (obj_version_page_locked) became noncurrent: 0 for
 * the current version and the latest marker [no lock]. */
int64_t obj_row_noncurrent_ms(sqlite3_stmt *st);
/* The version GET and HEAD read (version: S3's id; NULL: the latest),
 * into info (with its headers) and its internal id into vid; the errors
 * of st_head_version (engine.h), info filled for a marker. With ssec
 * (CRYPT_SSEC_LEN bytes, may be NULL), an SSE-C version's key check. */
int obj_resolve_locked(st_engine *e, int64_t bucket_id, const char *key, const char *version,
                       st_object_info *info, uint8_t vid[16], uint8_t *ssec, cf_err *err);
/* The seq of a key's version by S3's id: 1 found, 0 not, -1 error. */
int obj_version_seq_locked(st_engine *e, int64_t bucket_id, const char *key,
                           const char *version, int64_t *seq, cf_err *err);
/* An object key's length rules [no lock]. */
int obj_check_key(const char *key, cf_err *err);
/* 0 if the bucket holds no version and no delete marker, else CF_ENOTEMPTY
 * saying so, and, when versions are under object lock, until when (the
 * latest retention in effect) or that a legal hold keeps them. */
int obj_bucket_empty_locked(st_engine *e, int64_t bucket_id, const char *bucket,
                            cf_err *err);
/* Does the key's current object meet c (conditional writes, engine.h)?
 * begin_ms: when the write began; a current version committed at or
 * after it makes a failed condition CF_ECONFLICT, else CF_EPRECOND
 * (INT64_MAX: never a conflict). 0, or -1 with CF_EPRECOND, CF_ECONFLICT,
 * CF_ENOKEY (If-Match without an object). */
int obj_check_cond_locked(st_engine *e, int64_t bucket_id, const char *key,
                          const st_write_cond *c, int64_t begin_ms, cf_err *err);
/* A retried CompleteMultipartUpload: is the key's current version the one
 * upload_id completed into, from exactly these parts (numbers and ETags)?
 * 1 yes (info filled, headers included), 0 no, -1 error. */
int obj_completed_locked(st_engine *e, int64_t bucket_id, const char *key,
                         const uint8_t upload_id[16], const st_complete_part *parts,
                         size_t nparts, st_object_info *info, cf_err *err);
/* An objects row, as written by a PUT and a completed upload. */
typedef struct obj_row {
    int64_t bucket_id;
    const char *key;
    const uint8_t *version_id;       /* 16 bytes */
    uint64_t size;
    const char *etag;
    int64_t mtime_ms;
    cks_algo algo;
    const char *checksum_b64;        /* NULL: none */
    bool composite;
    int nparts;                      /* 0 for a PUT */
    const char *headers_json;
    const uint8_t *upload_id;        /* 16 bytes: the upload completed; NULL: a PUT */
    const uint8_t *ssec;             /* CRYPT_SSEC_LEN bytes, or NULL */
} obj_row;
/* The key's versions, newest first, as a JSON array of objects named by
 * their columns (blobs in hex), the current one with "current": 1; an
 * empty array when it has none (the journal's JRN_KEY, journal.h). */
json_t *obj_key_state_locked(st_engine *e, int64_t bucket_id, const char *key, cf_err *err);
/* Make o the key's current version (in the caller's transaction), as the
 * bucket's versioning state says (doc/design.md, "The version model"):
 * the version it replaces is destroyed (its segments to the delete queue)
 * or becomes noncurrent; *null_version (if not NULL) says whether o is the
 * key's null version, *versioned_bucket (if not NULL) whether the bucket's
 * versioning was ever configured (S3 then names a null version "null"). With opts->no_overwrite and a current version
 * there: CF_EDENIED; a null version to replace that is under object lock:
 * CF_ELOCKED; nothing changed then. */
int obj_publish_locked(st_engine *e, const obj_row *o, const st_write_opts *opts,
                       bool *null_version, bool *versioned_bucket, cf_err *err);
/* Would a write into the bucket with opts' lock be accepted now (the
 * refusals obj_publish_locked gives, decided at the lock clock)? */
int obj_lock_check_locked(st_engine *e, int64_t bucket_id, const st_write_opts *opts,
                          cf_err *err);
/* A version's segment seq, from a segment writer's result; queued for heal
 * when shards are missing. */
int obj_insert_segment_locked(st_engine *e, const uint8_t version_id[16], int seq,
                              const uint8_t data_id[16], uint32_t part,
                              const uint8_t wrapped[CRYPT_WRAPPED_LEN],
                              const seg_result *res, cf_err *err);
/* A version's segment seq, taken over from an upload's part (its parts
 * row is then the caller's to delete). */
int obj_segment_from_part_locked(st_engine *e, const uint8_t version_id[16], int seq,
                                 const uint8_t upload_id[16], uint32_t part, cf_err *err);
/* A version's segments in order, one callback each (inline_data valid
 * only during the call). */
typedef struct obj_segment {
    uint8_t data_id[16];
    int seq;                         /* 0..N-1: its place in the version */
    uint32_t part;
    uint64_t size;
    uint8_t wrapped[CRYPT_WRAPPED_LEN];
    bool is_inline;
    const void *inline_data;
    size_t inline_len;
    const char *etag, *cks;          /* the part's, "" for a PUT's segment */
} obj_segment;
typedef int (*obj_segment_cb)(void *ctx, const obj_segment *s, cf_err *err);
/* From seq `from` on, at most limit of them (-1: all); the callback
 * returns 1 to stop early. */
int obj_segments_locked(st_engine *e, const uint8_t version_id[16], int from, int limit,
                        obj_segment_cb cb, void *ctx, cf_err *err);
/* An inline segment's sealed bytes (the sealed import). */
int obj_segment_set_inline_locked(st_engine *e, const uint8_t data_id[16],
                                  const uint8_t *sealed, size_t n, cf_err *err);
/* Every shard of the segment is present again. */
int obj_segment_healed_locked(st_engine *e, const uint8_t data_id[16], cf_err *err);
/* The object version a sharded segment belongs to: 1, 0 none, -1. */
int obj_locate_segment_locked(st_engine *e, const uint8_t data_id[16], eng_seg_loc *loc,
                              cf_err *err);
/* Up to max sharded data ids after `after`, in order (restore's check). */
int obj_sharded_after_locked(st_engine *e, const uint8_t after[16], uint8_t ids[][16],
                             int max, cf_err *err);
/* Does a segment row name the data id? 1, 0, -1. */
int obj_references_locked(st_engine *e, const uint8_t data_id[16], cf_err *err);

/* ---- upload.c: uploads and parts [index lock] --------------------------- */

/* What a part's PUT needs of its upload. */
typedef struct upload_ref {
    cks_algo algo;
    bool locked;                     /* created with x-amz-object-lock-* headers */
    bool has_ssec;
    uint8_t ssec[CRYPT_SSEC_LEN];
} upload_ref;
/* The upload exists in this bucket for this key (else CF_ENOUPLOAD); ref
 * (may be NULL) gets its checksum algorithm, lock and SSE-C record. */
int upload_check_locked(st_engine *e, const uint8_t upload_id[16], int64_t bucket_id,
                        const char *key, upload_ref *ref, cf_err *err);
/* What a part's shard headers carry of its upload (shard.h: shard_meta):
 * its start, checksum algorithm and stored headers (malloc'd). */
int upload_info_locked(st_engine *e, const uint8_t upload_id[16], int64_t *created_ms,
                       cks_algo *algo, char **headers_json, cf_err *err);
/* A walk over every part of every upload (scrub.c), in (upload id, part)
 * order after the cursor; one bucket (only_bucket > 0) or all. Returns
 * how many of max it filled, -1 error. inline_data is malloc'd (the caller
 * frees), NULL for a sharded part. */
typedef struct upload_walk_item {
    eng_seg_loc loc;                 /* object_id: the upload id */
    uint8_t data_id[16];
    char etag[ST_ETAG_MAX];
    char cks[ST_CHECKSUM_MAX];
    cks_algo algo;                   /* the upload's */
    bool ssec;                       /* the upload has a customer key */
    uint8_t *inline_data;
    size_t inline_len;
} upload_walk_item;
int upload_walk_locked(st_engine *e, int64_t only_bucket, const uint8_t after_upload[16],
                       uint32_t after_part, upload_walk_item *out, int max, cf_err *err);
/* A parts row, as an UploadPart commits it. */
typedef struct upload_part_row {
    const uint8_t *upload_id, *data_id, *md5, *wrapped;
    uint32_t part;
    uint64_t size;
    const char *etag, *checksum_b64; /* checksum NULL: none */
    int64_t mtime_ms;
    const seg_result *res;
} upload_part_row;
/* Record a part; an earlier upload of the same part number goes to the
 * delete queue, and a part with missing shards to the heal queue. */
int upload_put_part_locked(st_engine *e, const upload_part_row *p, cf_err *err);
/* The bytes of an upload's parts, but part except_part (0: all). */
int upload_bytes_locked(st_engine *e, const uint8_t upload_id[16], uint32_t except_part,
                        uint64_t *bytes, cf_err *err);
/* Abort every upload of the bucket (in the caller's transaction). */
int upload_drop_bucket_locked(st_engine *e, int64_t bucket_id, cf_err *err);
/* The upload a sharded part belongs to: 1, 0 none, -1. */
int upload_locate_part_locked(st_engine *e, const uint8_t data_id[16], eng_seg_loc *loc,
                              cf_err *err);
int upload_part_healed_locked(st_engine *e, const uint8_t data_id[16], cf_err *err);
int upload_sharded_after_locked(st_engine *e, const uint8_t after[16], uint8_t ids[][16],
                                int max, cf_err *err);
int upload_references_locked(st_engine *e, const uint8_t data_id[16], cf_err *err);

/* ---- deleteq.c: delete_queue -------------------------------------------- */

/* Queue one data id, a version's segments, an upload's parts [index
 * lock; in the caller's transaction]. */
int deleteq_data_locked(st_engine *e, const uint8_t data_id[16], cf_err *err);
int deleteq_version_locked(st_engine *e, const uint8_t version_id[16], cf_err *err);
int deleteq_upload_locked(st_engine *e, const uint8_t upload_id[16], cf_err *err);
/* Is the data id queued? [index lock] 1, 0, -1. */
int deleteq_references_locked(st_engine *e, const uint8_t data_id[16], cf_err *err);
/* One batch of phase two [takes it; and readers_lock]: unlink the files of
 * queued segments no live reader can still need, then drop their rows
 * (a row whose files could not all be unlinked stays, for the next drain;
 * *done counts the rows dropped). Returns how many rows it took
 * (DELETEQ_BATCH: maybe more), 0 when none or none could be dropped, -1
 * on error. */
int deleteq_drain_batch(st_engine *e, uint64_t *done, cf_err *err);
/* Drain until the queue holds only what live readers need [takes it]. */
void deleteq_drain(st_engine *e);
/* Is the data id queued for deletion? 1, 0, -1 [index lock]. */
int deleteq_queued_locked(st_engine *e, const uint8_t data_id[16], cf_err *err);

/* ---- packidx.c: pack_shards ---------------------------------------------- */

/* The pack rows of a segment just written (res->packed) [index lock; in
 * the caller's transaction]. */
int packidx_insert_locked(st_engine *e, const uint8_t data_id[16], const seg_result *res,
                          cf_err *err);
/* Fill d->loc from the rows of d->data_id [takes it]. */
int packidx_locate(st_engine *e, seg_desc *d, cf_err *err);
/* Which disks hold a shard of the data id, as a shard file or in the
 * pack its row names (bit d: disk d) [takes it]. */
int packidx_shards_present(st_engine *e, const uint8_t data_id[16], uint16_t *present,
                           cf_err *err);
/* Does a row name the pack? [index lock] 1, 0, -1. */
int packidx_references_locked(st_engine *e, const uint8_t pack_id[PACK_ID_LEN], cf_err *err);
/* Packs touched by a drain, to unlink once no row names them. */
typedef struct packidx_list {
    struct { int disk; uint8_t id[PACK_ID_LEN]; } *v;
    size_t n, cap;
} packidx_list;
/* Drop the rows of a data id whose space is given back, adding their
 * packs to l [index lock]. */
int packidx_drop_locked(st_engine *e, const uint8_t data_id[16], packidx_list *l,
                        cf_err *err);
/* Unlink the pack if no writer holds it and no row names it [takes it];
 * true if it was unlinked. */
bool packidx_unlink_if_dead(st_engine *e, int disk, const uint8_t id[PACK_ID_LEN]);
/* packidx_unlink_if_dead for each of l, then empty l [takes it]. */
void packidx_reclaim(st_engine *e, packidx_list *l);
/* The bytes of the rows naming a pack (its live bytes) [index lock]. */
int packidx_live_bytes_locked(st_engine *e, const uint8_t pack_id[PACK_ID_LEN],
                              uint64_t *live, cf_err *err);
/* A row naming a pack, for the compactor (compact.c). */
typedef struct packidx_row {
    uint8_t data_id[16];
    int shard;
    uint64_t off, len;
} packidx_row;
/* The rows naming a pack, in record order (*rows malloc'd; the caller
 * frees it) [index lock]. */
int packidx_rows_of_locked(st_engine *e, const uint8_t pack_id[PACK_ID_LEN],
                           packidx_row **rows, size_t *n, cf_err *err);
/* Repoint row r of pack from_id to the record to (to == NULL: drop the
 * row), only if it still names that record: *changed gets 1 if it did,
 * 0 if it had been deleted or replaced [index lock; the caller's
 * transaction]. */
int packidx_move_locked(st_engine *e, const uint8_t from_id[PACK_ID_LEN],
                        const packidx_row *r, const pack_ref *to, int *changed,
                        cf_err *err);

/* ---- heal.c: heal_queue -------------------------------------------------- */

/* Queue a segment for heal [index lock; in the caller's transaction]. */
int heal_queue_locked(st_engine *e, const uint8_t data_id[16], cf_err *err);
/* The same on its own, naming the shards found changed behind their CRCs
 * (bad: bit i shard i; added to any named before) [takes it]; best
 * effort, errors are ignored. */
void heal_queue(st_engine *e, const uint8_t data_id[16], uint16_t bad);
/* Take a segment off the queue; is it on it? [index lock] */
int heal_done_locked(st_engine *e, const uint8_t data_id[16], cf_err *err);
int heal_references_locked(st_engine *e, const uint8_t data_id[16], cf_err *err);

/* ---- get.c [no index lock] ------------------------------------------------ */

/* The reader registry for deferred deletion [takes readers_lock]. */
int get_reader_enter(st_engine *e, cf_err *err);   /* returns a slot */
void get_reader_leave(st_engine *e, int slot);
/* When the oldest live reader opened (INT64_MAX: none). */
int64_t get_oldest_reader_ms(st_engine *e);

/* One segment of an open GET. */
typedef struct get_segment {
    uint64_t start, size;
    uint64_t sealed_start;           /* its first byte in the sealed stream */
    uint8_t data_id[16];
    uint32_t part;
    uint8_t wrapped[CRYPT_WRAPPED_LEN];
    uint8_t *inline_data;
    size_t inline_len;
    char cks[CKS_MAX_B64];           /* the part's checksum, "" if none */
} get_segment;

/* An open GET (engine.h: st_get), shared with sealed.c. */
struct st_get {
    st_engine *e;
    int reader_slot;
    char tenant[ST_MAX_TENANT + 1], bucket[ST_MAX_BUCKET + 1], key[ST_MAX_KEY + 1];
    uint8_t version_id[16];
    uint64_t size;
    bool has_ssec;                   /* SSE-C: data keys wrapped under ssec_kek */
    uint8_t ssec_kek[CRYPT_KEY_LEN];
    get_segment *segs;
    size_t nsegs, cap;
    size_t open_seg;                 /* index of r's segment */
    seg_reader *r;
    uint8_t *block;                  /* last decoded block */
    size_t block_seg;
    uint64_t block_index;
    uint32_t block_len;
    bool block_valid;
    bool heal_queued;
    uint16_t heal_named;             /* the shards heal was told are bad */
    size_t sealed_seg;               /* sealed stream cursor */
    uint64_t sealed_block;
    /* a tiered version: its blocks come from the remote (tierread.c) */
    struct tierread *rr;
    size_t rr_seg;                   /* whose key rr_desc holds */
    bool rr_desc_valid;
    seg_desc rr_desc;
};

/* The segment reader of segment i (opened on first use, the previous one
 * closed, a degraded one queued for heal [takes the index lock then]). */
int get_open_reader(st_get *g, size_t i, cf_err *err);
/* A read of the key's version version_id (internal id, hex), current or
 * noncurrent: CF_ENOKEY if that version is gone (the tier files' reads). */
int get_open_id(st_engine *e, const char *tenant, const char *bucket, const char *key,
                const char *version_id, st_get **out, cf_err *err);
void get_close_reader(st_get *g);

/* ---- engine.c, for the tier files [no lock] ---------------------------- */

/* Bytes of the sealed stream of a segment of `size` plaintext bytes. */
uint64_t eng_sealed_size(const st_engine *e, uint64_t size);

/* ---- object.c, for the tier files [index lock] ------------------------- */

/* The key's current version id, and its row with headers if info is not
 * NULL (st_object_info_clear frees): CF_ENOBUCKET, CF_ENOKEY. */
int obj_current_locked(st_engine *e, const char *tenant, const char *bucket,
                       const char *key, st_object_info *info, uint8_t vid[16], cf_err *err);
/* The key's version `version` (S3's id, or an internal id in hex; NULL:
 * obj_current_locked): its id, its row if info is not NULL. The errors
 * of obj_resolve_locked (CF_ENOVERSION, CF_EMARKER for a delete marker). */
int obj_named_locked(st_engine *e, const char *tenant, const char *bucket, const char *key,
                     const char *version, st_object_info *info, uint8_t vid[16],
                     cf_err *err);
/* Does an object row have this version id? 1 yes, 0 no, -1 error. */
int obj_version_exists_locked(st_engine *e, const uint8_t vid[16], cf_err *err);
/* The caller's section changed what the index holds about version vid
 * (its tier row, its tags): journal its key (jrnrec_touch_locked). A
 * version no row names (a delete marker's, or one gone) is skipped. */
void obj_journal_version_locked(st_engine *e, const uint8_t vid[16]);

/* ---- deleteq.c, heal.c, for tiering ------------------------------------ */

/* Queue the local shard files of a version's sharded segments (the rows
 * stay: a tiered version keeps its keys); drop them from the heal queue
 * [index lock; in the caller's transaction]. */
int deleteq_version_files_locked(st_engine *e, const uint8_t version_id[16], cf_err *err);
/* Take the version's data ids off the delete queue, excluding any drain
 * in progress, so that files a restore writes are not unlinked [takes it]. */
int deleteq_unqueue_version(st_engine *e, const uint8_t version_id[16], cf_err *err);
/* Take a version's segments off the heal queue [index lock]. */
int heal_drop_version_locked(st_engine *e, const uint8_t version_id[16], cf_err *err);

/* ---- lifecycle attributes (tiering.c, tags.c) ---- */

/* A write's attributes, resolved before its commit. ssec: the write has a
 * customer key; a tier's class is then CF_EINVAL, since the lifecycle
 * worker, which moves and restores it, never has the key. */
typedef struct tiering_attrs {
    int64_t tier_id;                 /* 0: STANDARD */
    char *tags_json;                 /* NULL: no tags */
    bool keep_tags;
} tiering_attrs;
int tiering_attrs_prepare(st_engine *e, const st_object_attrs *a, bool ssec,
                          tiering_attrs *out, cf_err *err);
void tiering_attrs_clear(tiering_attrs *a);
/* In the transaction that creates the version (or the upload). */
int tiering_attrs_store_locked(st_engine *e, const uint8_t owner[16], const tiering_attrs *a,
                               cf_err *err);
/* Multipart completion: the upload's attributes become the version's. */
int tiering_attrs_adopt_locked(st_engine *e, const uint8_t upload_id[16],
                               const uint8_t version_id[16], cf_err *err);
/* A version (or upload) is dropped: its tags go, a tiered version's
 * remote object is queued for deletion (an UPLOADING row stays until its
 * transition ends). */
int tiering_attrs_drop_locked(st_engine *e, const uint8_t owner[16], cf_err *err);
/* Storage class, restore state (and the tag count if with_tags). */
int tiering_object_attrs_locked(st_engine *e, const uint8_t vid[16], bool with_tags,
                                st_object_info *info, cf_err *err);

/* tags.c */
int tags_to_json(const st_header *tags, size_t n, char **json, cf_err *err);
int tags_set_locked(st_engine *e, const uint8_t owner[16], const char *json,
                    cf_err *err);
int tags_load_locked(st_engine *e, const uint8_t owner[16], st_header **tags,
                     size_t *n, cf_err *err);
int tags_json_locked(st_engine *e, const uint8_t owner[16], char **json,
                     cf_err *err);
int tags_move_locked(st_engine *e, const uint8_t from[16], const uint8_t to[16],
                     cf_err *err);

/* tier.c */
int tier_id_locked(st_engine *e, const char *name, int64_t *id, cf_err *err);
/* recheck: the remote object may still be arriving (an upload given up
 * or cut by a crash): delete it a second time later (tier.c). */
int tier_remote_delete_queue_locked(st_engine *e, int64_t tier_id, const char *remote_id,
                                    const char *upload_id, bool recheck, cf_err *err);
/* The remote delete queue's row of remote_id as JRN_REMOTE_DELETE records
 * it (journal.h: tier by name and id, upload_id, queued_ms, recheck),
 * json null when none, NULL on error. */
json_t *tier_remote_delete_json_locked(st_engine *e, const char *remote_id, cf_err *err);
/* tiering.c, for tier.c: versions living in or waiting for a tier */
struct st_tier_usage;
int tiering_versions_locked(st_engine *e, int64_t tier_id, uint64_t *n, cf_err *err);
int tiering_usage_locked(st_engine *e, int64_t tier_id, struct st_tier_usage *u,
                         cf_err *err);

/* lcconf.c: a deleted bucket's lifecycle configuration goes with it */
int lcconf_bucket_gone_locked(st_engine *e, int64_t bucket_id, cf_err *err);

/* tierfmt.c: a segment as the remote object's header records it, and the
 * header itself (malloc'd into *out). */
typedef struct tierfmt_seg {
    uint8_t data_id[16];
    uint32_t part;
    uint64_t size;
    uint8_t wrapped[CRYPT_WRAPPED_LEN];
} tierfmt_seg;
int tierfmt_header(st_engine *e, const char *remote_id, const char *tenant,
                   const char *bucket, const st_object_info *info,
                   const uint8_t version_id[16], const tierfmt_seg *segs, size_t nsegs,
                   const char *tags_json, uint8_t **out, size_t *out_len, cf_err *err);

/* tiering.c, for tieradopt.c: a version recovered from a tier is TIERED
 * there, in remote object remote_id (remote_size bytes, the sealed stream
 * from data_offset). */
int tiering_adopt_locked(st_engine *e, const uint8_t vid[16], int64_t tier_id,
                         const char *remote_id, uint64_t remote_size, uint64_t data_offset,
                         const char *remote_etag, cf_err *err);

/* tiering.c, for the journal (jrnrec.c): version vid's version_tier row
 * as a JSON object by column ("tier": the tier's name beside tier_id;
 * without changed_ms, the workers' order, which moves unjournaled),
 * json_null() if it has none, NULL on error. */
json_t *tiering_row_json_locked(st_engine *e, const uint8_t vid[16], cf_err *err);

/* ---- reading a tiered version (tierread.c) ---- */

typedef struct tiering_remote {
    bool active;                     /* TIERED or RESTORING: read the remote */
    int64_t tier_id;
    char remote_id[33];
    uint64_t data_offset;            /* where the sealed stream starts */
} tiering_remote;
/* A version's tier state (lifecycle.h: ST_TIER_*; 0 none). */
int tiering_state_locked(st_engine *e, const uint8_t vid[16], int *state, cf_err *err);
int tiering_remote_locked(st_engine *e, const uint8_t vid[16], tiering_remote *r,
                          cf_err *err);

/* The remote side of one st_get: one ranged stream at a time. */
typedef struct tierread tierread;
tierread *tierread_new(st_engine *e, const tiering_remote *r, uint64_t sealed_len,
                             cf_err *err);
/* Reads will stay in sealed bytes [from, to) of the stream. */
void tierread_window(tierread *rr, uint64_t from, uint64_t to);
/* Block b of a segment whose sealed bytes start at seg_sealed; d's data
 * key opens it (CF_ECORRUPT: the remote's bytes are not what was sent). */
int tierread_block(tierread *rr, const seg_desc *d, uint64_t seg_size,
                   uint64_t seg_sealed, uint64_t b, uint8_t *out, uint32_t *len,
                   cf_err *err);
void tierread_free(tierread *rr);

#endif
