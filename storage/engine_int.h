/*
 * storage/engine_int.h - what the engine's own files share (engine.c,
 * object.c, multipart.c, gc.c). Not for use outside storage/.
 *
 * Locking: e->ix's mutex serialises all index access; functions named
 * *_locked expect the caller to hold it. Disk I/O for object data is done
 * without it. A section that writes ends with eng_unlock_durable (group
 * commit, see index.h); one that only reads with idx_unlock.
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
#include "storage/diskset.h"
#include "storage/engine.h"
#include "storage/erasure.h"
#include "storage/index.h"
#include "storage/lifecycle.h"
#include "storage/segment.h"

#define ENG_DEFAULT_INLINE_MAX (64u << 10)
#define ENG_MAX_READERS 4096
#define ENG_KEK_SLOTS 64

/* A tenant's KEK, derived once (HKDF is ~15% of a small GET's CPU). */
typedef struct eng_kek_slot {
    bool used;
    char tenant[ST_MAX_TENANT + 1];
    uint8_t kek[CRYPT_KEY_LEN];
} eng_kek_slot;

struct st_engine {
    ds_set set;
    rs_codec *rs;
    idx *ix;
    uint8_t master[CRYPT_KEY_LEN];
    uint8_t secrets_key[CRYPT_KEY_LEN];  /* derived from master at open */
    uint32_t inline_max;
    pthread_mutex_t readers_lock;
    int64_t reader_open_ms[ENG_MAX_READERS]; /* 0 = free slot */
    pthread_mutex_t kek_lock;        /* guards the KEK cache */
    eng_kek_slot keks[ENG_KEK_SLOTS];
    unsigned kek_next;               /* next slot to replace when full */
    /* Hint: the delete queue may hold entries. Set (under the index lock)
     * by whatever queues; cleared only by a drain that found the queue
     * empty under the lock. Lets a PUT that replaced nothing skip the
     * drain without touching the index. */
    atomic_bool deletes_pending;
    /* When this index began to rule the disks (created with the set or
     * restored): GC never deletes a file older than that. */
    int64_t created_ms;
    pthread_mutex_t gc_lock;         /* one st_gc at a time; guards gc_last* */
    int gc_max_orphans, gc_max_orphan_percent;
    st_gc_stats gc_last;
    int64_t gc_last_ms;              /* 0: no scan yet */
    pthread_mutex_t snap_lock;       /* one st_snapshot at a time; guards below */
    uint64_t last_snapshot;          /* commit number of the last one taken */
    int snap_keep, snap_days;
    bool opened;                     /* st_open succeeded */
    /* Held by a drain from reading queued ids to deleting them, and by a
     * restore taking its ids off the queue (gc.c). */
    pthread_mutex_t drain_lock;
    /* The tier module's remote reader (lifecycle.h), NULL if none; set
     * before serving, read by request threads. */
    const st_remote_ops *remote;
};

int64_t eng_now_ms(void);
/* The clock file systems stamp files with (coarse): a file written after
 * a time taken from it never has an earlier mtime. */
int64_t eng_file_clock_ms(void);

/* End a locked section that may have written: release the index lock and
 * wait until its commits are on disk. Returns rc (the section's result,
 * whose error stays in err), or -1 with CF_EIO when rc was 0 but the
 * commit could not be made durable. */
static inline int eng_unlock_durable(st_engine *e, int rc, cf_err *err)
{
    cf_err later;
    if (idx_unlock_durable(e->ix, rc == 0 ? err : &later) < 0)
        return -1;
    return rc;
}

/* The master key from cfg. A missing key file is generated (with create)
 * only for a fresh set: over disks that hold data a new key could never
 * read anything, so that is refused (CF_ECRYPTO). */
int eng_load_master(const st_config *cfg, const ds_set *set, bool create,
                    uint8_t key[CRYPT_KEY_LEN], cf_err *err);

/* Count the sharded segments (of objects and of uploads) and those with
 * fewer than k of their shard files on the online disks. */
int eng_check_segments(st_engine *e, uint64_t *segments, uint64_t *short_of_files,
                       cf_err *err);

/* A bucket's row id for (tenant, bucket); CF_ENOBUCKET if absent. */
int eng_bucket_id_locked(st_engine *e, const char *tenant, const char *bucket,
                         int64_t *id, cf_err *err);

/* Fill a segment descriptor. With wrapped == NULL a fresh data key is made
 * and wrapped into d->header.wrapped; otherwise the given one is unwrapped. */
int eng_segment_desc(st_engine *e, const char *tenant, const char *bucket,
                     const char *key, const uint8_t object_id[16], uint32_t part,
                     const uint8_t data_id[CRYPT_DATA_ID_LEN],
                     const uint8_t *wrapped, seg_desc *d, cf_err *err);

/* Stored headers <-> JSON text ([[name, value], ...]). */
char *eng_headers_to_json(const st_header *h, size_t n, cf_err *err);
int eng_headers_from_json(const char *json, st_header **h, size_t *n, cf_err *err);
void eng_headers_free(st_header *h, size_t n);
/* Validate names/values and the user-metadata size limit. */
int eng_headers_check(const st_header *h, size_t n, cf_err *err);

/* Move every segment of an object version to the delete queue (in the
 * caller's transaction). */
int eng_queue_version_delete_locked(st_engine *e, const uint8_t version_id[16],
                                    cf_err *err);
int eng_queue_data_delete_locked(st_engine *e, const uint8_t data_id[16],
                                 cf_err *err);
/* Every part of an upload (in the caller's transaction). */
int eng_queue_upload_delete_locked(st_engine *e, const uint8_t upload_id[16],
                                   cf_err *err);
/* Unlink the files of queued segments no live reader can still need. */
void eng_drain_deletes(st_engine *e);

/* Reader registry for deferred deletion. */
int eng_reader_enter(st_engine *e, cf_err *err);   /* returns a slot */
void eng_reader_leave(st_engine *e, int slot);

/* Queue a segment for heal (best effort; errors are ignored). */
void eng_queue_heal(st_engine *e, const uint8_t data_id[16]);

void eng_id_to_hex(const uint8_t id[16], char out[ST_ID_HEX]);
int eng_id_from_hex(const char *hex, uint8_t id[16]);

/* The tenant's KEK (cached; the caller wipes kek). */
int eng_tenant_kek(st_engine *e, const char *tenant, uint8_t kek[CRYPT_KEY_LEN],
                   cf_err *err);
/* When the oldest live reader opened (INT64_MAX: none). */
int64_t eng_oldest_reader_ms(st_engine *e);

/* ---- objects (object.c), for the lifecycle files ---- */

/* The key's current version id: CF_ENOBUCKET, CF_ENOKEY. */
int eng_current_version_locked(st_engine *e, const char *tenant, const char *bucket,
                               const char *key, uint8_t vid[16], cf_err *err);
/* The key's current row with its headers (st_object_info_clear frees). */
int eng_object_get_locked(st_engine *e, const char *tenant, const char *bucket,
                          const char *key, st_object_info *info, uint8_t vid[16],
                          cf_err *err);
/* Does an object row have this version id? 1 yes, 0 no, -1 error. */
int eng_version_exists_locked(st_engine *e, const uint8_t vid[16], cf_err *err);

/* A segment as the remote object's header records it. */
typedef struct eng_seg_meta {
    uint8_t data_id[16];
    uint32_t part;
    uint64_t size;
    uint8_t wrapped[CRYPT_WRAPPED_LEN];
} eng_seg_meta;
/* The version's segments in order (malloc'd array). */
int eng_segments_load_locked(st_engine *e, const uint8_t vid[16], eng_seg_meta **segs,
                             size_t *n, cf_err *err);
/* Bytes of the sealed stream of a segment of `size` plaintext bytes. */
uint64_t eng_sealed_size(const st_engine *e, uint64_t size);

/* ---- the delete queue (gc.c), for tiering ---- */

/* Queue the local shard files of a version's sharded segments (the rows
 * stay: a tiered version keeps its keys); drop them from the heal queue. */
int eng_queue_version_files_locked(st_engine *e, const uint8_t vid[16], cf_err *err);
/* Take the version's data ids off the delete queue, excluding any drain
 * in progress, so that files a restore writes are not unlinked. */
int eng_unqueue_version_files(st_engine *e, const uint8_t vid[16], cf_err *err);

/* ---- lifecycle attributes (tiering.c, tags.c) ---- */

/* A write's attributes, resolved before its commit. */
typedef struct eng_attrs {
    int64_t tier_id;                 /* 0: STANDARD */
    char *tags_json;                 /* NULL: no tags */
    bool keep_tags;
} eng_attrs;
int eng_attrs_prepare(st_engine *e, const st_object_attrs *a, eng_attrs *out,
                      cf_err *err);
void eng_attrs_clear(eng_attrs *a);
/* In the transaction that creates the version (or the upload). */
int eng_attrs_store_locked(st_engine *e, const uint8_t owner[16], const eng_attrs *a,
                           cf_err *err);
/* Multipart completion: the upload's attributes become the version's. */
int eng_attrs_adopt_locked(st_engine *e, const uint8_t upload_id[16],
                           const uint8_t version_id[16], cf_err *err);
/* A version (or upload) is dropped: its tags go, a tiered version's
 * remote object is queued for deletion (an UPLOADING row stays until its
 * transition ends). */
int eng_attrs_drop_locked(st_engine *e, const uint8_t owner[16], cf_err *err);
/* Storage class, restore state (and the tag count if with_tags). */
int eng_object_attrs_locked(st_engine *e, const uint8_t vid[16], bool with_tags,
                            st_object_info *info, cf_err *err);

/* tags.c */
int eng_tags_json(const st_header *tags, size_t n, char **json, cf_err *err);
int eng_tags_set_locked(st_engine *e, const uint8_t owner[16], const char *json,
                        cf_err *err);
int eng_tags_load_locked(st_engine *e, const uint8_t owner[16], st_header **tags,
                         size_t *n, cf_err *err);
int eng_tags_json_locked(st_engine *e, const uint8_t owner[16], char **json,
                         cf_err *err);
int eng_tags_move_locked(st_engine *e, const uint8_t from[16], const uint8_t to[16],
                         cf_err *err);

/* tier.c */
int eng_tier_id_locked(st_engine *e, const char *name, int64_t *id, cf_err *err);
/* recheck: the remote object may still be arriving (an upload given up
 * or cut by a crash): delete it a second time later (tier.c). */
int eng_remote_delete_queue_locked(st_engine *e, int64_t tier_id, const char *remote_id,
                                   const char *upload_id, bool recheck, cf_err *err);
/* tiering.c, for tier.c: versions living in or waiting for a tier */
struct st_tier_usage;
int eng_tier_versions_locked(st_engine *e, int64_t tier_id, uint64_t *n, cf_err *err);
int eng_tier_usage_locked(st_engine *e, int64_t tier_id, struct st_tier_usage *u,
                          cf_err *err);

/* lcconf.c: a deleted bucket's lifecycle configuration goes with it */
int eng_lifecycle_bucket_gone_locked(st_engine *e, int64_t bucket_id, cf_err *err);

/* tierfmt.c: the remote object's header (malloc'd into *out). */
int eng_tier_header(st_engine *e, const char *remote_id, const char *tenant,
                    const char *bucket, const st_object_info *info,
                    const uint8_t version_id[16], const eng_seg_meta *segs, size_t nsegs,
                    const char *tags_json, uint8_t **out, size_t *out_len, cf_err *err);

/* ---- reading a tiered version (tierread.c) ---- */

typedef struct eng_remote {
    bool active;                     /* TIERED or RESTORING: read the remote */
    int64_t tier_id;
    char remote_id[33];
    uint64_t data_offset;            /* where the sealed stream starts */
} eng_remote;
int eng_remote_state_locked(st_engine *e, const uint8_t vid[16], eng_remote *r,
                            cf_err *err);

/* The remote side of one st_get: one ranged stream at a time. */
typedef struct eng_rreader eng_rreader;
eng_rreader *eng_rreader_new(st_engine *e, const eng_remote *r, uint64_t sealed_len,
                             cf_err *err);
/* Reads will stay in sealed bytes [from, to) of the stream. */
void eng_rreader_window(eng_rreader *rr, uint64_t from, uint64_t to);
/* Block b of a segment whose sealed bytes start at seg_sealed; d's data
 * key opens it (CF_ECORRUPT: the remote's bytes are not what was sent). */
int eng_rreader_block(eng_rreader *rr, const seg_desc *d, uint64_t seg_size,
                      uint64_t seg_sealed, uint64_t b, uint8_t *out, uint32_t *len,
                      cf_err *err);
void eng_rreader_free(eng_rreader *rr);

#endif
