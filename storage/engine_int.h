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
#include "storage/journal.h"
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
    jrn *jrn;                        /* the disks' journals (journal.h), or NULL */
    pthread_mutex_t cat_lock;        /* one catalog save at a time (catalog.h) */
    int64_t cat_saved_ms;            /* under cat_lock: the last save, 0: none */
    int cat_copies;                  /* under cat_lock: disks that took it */
    bool opened;                     /* st_open succeeded */
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

/* After a change to a table the catalog copies (tenants, keys, buckets):
 * write the catalog to every disk before the change is acknowledged. A
 * failure is logged, never returned: the index already committed it, and
 * the next save (or open) writes it again. */
void eng_catalog_changed(st_engine *e);

/* Queue a segment for heal (best effort; errors are ignored). */
void eng_queue_heal(st_engine *e, const uint8_t data_id[16]);

void eng_id_to_hex(const uint8_t id[16], char out[ST_ID_HEX]);
int eng_id_from_hex(const char *hex, uint8_t id[16]);

#endif
