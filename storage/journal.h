/*
 * storage/journal.h - the index changes no shard file records, on every
 * disk (storage/ only).
 *
 * An object kept inline lives in the index alone (doc/design.md, "Small
 * objects"), and a delete leaves no file behind. So that an index rebuilt
 * from the disks (coffer rebuild-index, planned) loses neither, every
 * commit that writes an inline object or part, or starts or ends an
 * upload, also appends a record to the journal of every online disk.
 * Removed versions are not recorded yet (JRN_GONE is reserved): they
 * arrived with versioning in the same release, and their records (delete,
 * overwrite, delete marker, demotion) come with rebuild-index, which is
 * what reads the journal:
 *
 *   DISK/journal/<lineage hex>-<first commit, 12 digits>-<ms>.log
 *   record: "CJR1" | payload length (4) | CRC32C of the payload (4) | payload
 *   payload: type (1) | commit number (8) | JSON length (4) | JSON | data
 *
 * JSON holds the row's fields (names as in the index; ids and keys in
 * hex); data is an inline object's or part's sealed bytes. Records are
 * appended under the index lock right after their commit, so each file
 * holds them in commit order; a crash can leave a torn last record, which
 * a reader stops at (and a new file is begun at every open).
 *
 * Durability: the index's group commit syncs the journals too (its sync
 * hook, index.h): a waiter returns once the WAL and every journal written
 * before its commit are on disk. A journal that cannot be written or
 * synced is dropped for that disk (logged once, counted in jrn_stats) and
 * never fails the commit: the index in the metadata directory already
 * holds it; the journal guards against losing that directory. So is the
 * journal of a disk out of the write set (storage/ds.h), at the next
 * append or sync, so that an open file does not keep a failed file system
 * from being unmounted; rotation leaves such a disk out too.
 *
 * Files: a new one per disk at every open and every index snapshot (the
 * first commit it can hold is in its name); after a snapshot, files whose
 * records are all covered by the disk's second-newest snapshot are
 * removed, so the journal spans the newest two generations.
 *
 * Threading: appends run under the index lock; the sync hook and
 * rotation from any thread; jrn's own mutex guards its descriptors.
 */
#ifndef ST_JOURNAL_H
#define ST_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "storage/ds.h"

#define JRN_DIR "journal"

typedef enum jrn_type {
    JRN_PUT = 1,                     /* an inline object version */
    JRN_GONE = 2,                    /* reserved: a version removed (not written yet) */
    JRN_UPLOAD = 3,                  /* a multipart upload started */
    JRN_PART = 4,                    /* an inline part */
    JRN_UPLOAD_END = 5,              /* an upload completed or aborted */
} jrn_type;

typedef struct jrn jrn;

/* Begin a new file on every online disk (its records start after commit). */
jrn *jrn_open(const ds_set *set, uint64_t commit, cf_err *err);
void jrn_close(jrn *j);

/* Append one record to every disk; the caller holds the index lock, right
 * after the commit numbered `commit`. fields is borrowed; data may be NULL. */
void jrn_append(jrn *j, jrn_type type, uint64_t commit, json_t *fields,
                       const void *data, size_t len);
/* The index's sync hook: fdatasync every journal written since the last
 * call. */
void jrn_sync(void *j);
/* After a snapshot of commit `commit`: begin new files, sync and close the
 * old ones, and prune each disk (see the top). */
void jrn_rotate(jrn *j, uint64_t commit);

typedef struct jrn_stats {
    uint64_t records, bytes;         /* appended since open (per disk) */
    int disks;                       /* disks whose journal is being written */
    uint64_t failures;               /* disks dropped for a write or sync error */
} jrn_stats;
void jrn_get_stats(jrn *j, jrn_stats *out);

/* ---- the engine's records (jrnrec.c) ------------------------------------ */

/* Each appends its record for the commit just made by the caller, who
 * holds the index lock; nothing happens when the engine has no journal.
 * Keys are raw bytes (stored in hex), ids 16 bytes, wrapped keys
 * CRYPT_WRAPPED_LEN bytes, sealed the inline bytes as the index keeps
 * them. */
struct st_engine;
typedef struct jrnrec_object {
    const char *tenant, *bucket, *key;
    const uint8_t *version_id, *data_id, *wrapped;
    uint64_t size;
    const char *etag;
    int64_t mtime_ms;
    int cks_algo;
    const char *cks;                 /* NULL: none */
    const char *headers;             /* stored headers JSON, or NULL */
    const uint8_t *sealed;
    size_t sealed_len;
} jrnrec_object;
void jrnrec_put_locked(struct st_engine *e, const jrnrec_object *o);
void jrnrec_upload_locked(struct st_engine *e, const char *tenant, const char *bucket,
                          const char *key, const uint8_t upload_id[16], int64_t created_ms,
                          int algo, const char *headers);
typedef struct jrnrec_part {
    const uint8_t *upload_id, *data_id, *wrapped, *md5;
    uint32_t part;
    uint64_t size;
    const char *etag, *cks;
    int64_t mtime_ms;
    const uint8_t *sealed;
    size_t sealed_len;
} jrnrec_part;
void jrnrec_part_locked(struct st_engine *e, const jrnrec_part *p);
void jrnrec_upload_end_locked(struct st_engine *e, const uint8_t upload_id[16]);

/* ---- reading (rebuild) ------------------------------------------------- */

typedef struct jrn_record {
    jrn_type type;
    uint64_t commit;
    json_t *fields;
    const uint8_t *data;
    size_t len;
} jrn_record;

/* Every record of this set's lineage on the online disks with a commit
 * number above `after`, each once (copies on several disks are one), in
 * commit order. cb returns nonzero to stop. *files gets how many journal
 * files were read, *torn how many ended in a torn or damaged record. */
int jrn_replay(const ds_set *set, uint64_t after, int (*cb)(void *ctx,
               const jrn_record *r), void *ctx, int *files, int *torn, cf_err *err);

#endif
