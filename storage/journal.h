/*
 * storage/journal.h - the index changes no shard file records, on every
 * disk (storage/ only).
 *
 * An object kept inline lives in the index alone (doc/design.md, "Small
 * objects"), a delete leaves no file behind, and what a version is to its
 * key (its seq, whether it is the null version or a delete marker, its
 * object lock) is in no shard header. So that an index rebuilt from the
 * disks loses none of it, every commit that writes an inline object or
 * part, starts or ends an upload, changes a key's versions (a version
 * added, a delete marker, a version removed, a retention or legal hold
 * set) or queues a remote object for deletion or takes it off that queue
 * also appends a record to the journal of every online disk:
 *
 *   DISK/journal/<lineage hex>-<first commit, 12 digits>-<ms>.log
 *   record: "CJR1" | payload length (4) | CRC32C of the payload (4) | payload
 *   payload: type (1) | commit number (8) | JSON length (4) | JSON | data
 *
 * Record versions: the JSON's "rv" is the record version, JRN_RECORD_VERSION
 * for what this code writes; a record without it is version 1 (coffer
 * before JRN_KEY: PUT, UPLOAD, PART and UPLOAD_END only, with the same
 * fields), read as before. A record of a newer version than the reader's
 * is skipped and counted (jrn_replay's *newer), never guessed at.
 * Version 2 added JRN_KEY and JRN_UPLOAD's "ssec" and "cks_full"; version
 * 3 adds to each version of a JRN_KEY its "tags" (object_tags' JSON text,
 * or null) and its "tier" (null, or its version_tier row by column, but
 * changed_ms, with "tier" the tier's name and, once the version is TIERED, RESTORING or
 * RESTORED, "segments": [{data_id, part, size, wrapped}] of a single PUT,
 * whose local files are freed; a multipart version's are in its manifest),
 * and to JRN_UPLOAD the upload's object lock ("lock_mode",
 * "retain_until_ms", "legal_hold"), its "tags" and the "tier_id" of its
 * storage class (0: STANDARD). Version 4 adds JRN_REMOTE_DELETE, the
 * state of one remote object on the remote delete queue after a commit
 * that queued it or took it off: "remote_id" and "queued", its
 * remote_deletes row ("tier" by name, "tier_id", "upload_id" or null,
 * "queued_ms", "recheck") or null once the remote said it is gone; the
 * newest record of a remote id is its truth, as JRN_KEY's is a key's. A
 * reader takes a field a record lacks as
 * the older version left it: absent (no tags, no tier, no lock). No
 * record holds a secret: a tier is named, its settings and secret are in
 * the catalog (catalog.h).
 *
 * JRN_KEY is the key's state after the commit: "tenant", "bucket", "key"
 * (hex) and "versions", every version of the key newest first, each with
 * the index's columns (seq, version_id, null_version, marker, current,
 * noncurrent_ms, size, etag, mtime_ms, cks*, nparts, headers, lock_mode,
 * retain_until_ms, legal_hold, upload_id, ssec; blobs in hex). The newest
 * JRN_KEY of a key is the truth about it: a version it does not list was
 * removed (so JRN_GONE, reserved in version 1 for removals, is never
 * written: the state record says it in the one shape), an empty list is a
 * key with no version left. Its cost is a key's version count per write
 * to it, which backup clients (new names, few versions) keep small.
 * Sections record the keys they change (jrnrec_touch_locked; a change of
 * a version's tags or tier row too, obj_journal_version_locked) and the
 * records are appended when the section ends (eng_unlock_durable calls
 * jrnrec_flush_locked), read back from the index then, so a section that
 * failed and rolled back journals the unchanged state.
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
 * removed, but first the records in them that are still live are carried
 * (byte for byte, their commit numbers kept) into the new files: a PUT
 * whose version the index still holds, the JRN_KEY that still is its
 * key's state (not one a later record replaced, nor one of a key with no
 * version left), an UPLOAD or PART of an upload still in progress, a
 * REMOTE_DELETE whose remote object is still queued. So the
 * journal holds every live inline object and every key's state however
 * old (a rebuild from the disks alone needs them), and what is gone leaves
 * it within two generations (a removed object's pack records may outlive
 * its last JRN_KEY: rebuild-index never makes a key of them alone). Commit
 * numbers never go backwards across restarts (index.h, "Invariant"), so
 * the newest record of a key is always the one written last. Its size follows the index's inline bytes
 * and keys, as the index's own does.
 *
 * Threading: appends run under the index lock; the sync hook and
 * rotation from any thread; jrn's own mutex guards its descriptors.
 */
#ifndef ST_JOURNAL_H
#define ST_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "storage/ds.h"

#define JRN_DIR "journal"

typedef enum jrn_type {
    JRN_PUT = 1,                     /* an inline object version */
    JRN_GONE = 2,                    /* reserved, never written (see JRN_KEY) */
    JRN_UPLOAD = 3,                  /* a multipart upload started */
    JRN_PART = 4,                    /* an inline part */
    JRN_UPLOAD_END = 5,              /* an upload completed or aborted */
    JRN_KEY = 6,                     /* a key's versions after a commit (rv 2) */
    JRN_REMOTE_DELETE = 7,           /* a remote object queued for deletion, or
                                      * gone (rv 4) */
} jrn_type;

#define JRN_RECORD_VERSION 4         /* the "rv" this code writes (see the top) */

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
 * old ones, and prune each disk (see the top): the records of the files
 * pruned for which keep returns nonzero (still needed by a rebuild from
 * the disks alone) are carried into the new files, durably, first. keep
 * is called without jrn's lock, the caller's locks as at the call. */
typedef struct jrn_record jrn_record;
typedef int (*jrn_keep_cb)(void *ctx, const jrn_record *r);
void jrn_rotate(jrn *j, uint64_t commit, jrn_keep_cb keep, void *ctx);

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
typedef struct jrnrec_upload {
    const char *tenant, *bucket, *key;
    const uint8_t *upload_id;
    int64_t created_ms;
    int algo;
    const char *headers;             /* stored headers JSON, or NULL */
    bool cks_full;
    const uint8_t *ssec;             /* CRYPT_SSEC_LEN bytes, or NULL (rv 2) */
    int lock_mode, legal_hold;       /* the create's object lock (rv 3) */
    int64_t retain_until_ms;
    const char *tags;                /* object_tags' JSON text, or NULL (rv 3) */
    int64_t tier_id;                 /* its storage class's tier, 0 none (rv 3) */
} jrnrec_upload;
void jrnrec_upload_locked(struct st_engine *e, const jrnrec_upload *u);
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
/* The caller's section changes the versions of (bucket_id, key): a JRN_KEY
 * record of it is appended when the section ends (see the top). */
void jrnrec_touch_locked(struct st_engine *e, int64_t bucket_id, const char *key);
/* The caller's section adds or removes remote_id's row of the remote
 * delete queue: its JRN_REMOTE_DELETE record (the row then, or null) is
 * appended when the section ends, with the JRN_KEY records. */
void jrnrec_remote_touch_locked(struct st_engine *e, const char *remote_id);
/* jrn_rotate's keep (ctx: the engine; takes the index lock): whether a
 * record of a file being pruned is still live (see the top). */
int jrnrec_keep(void *engine, const jrn_record *r);
/* Append the JRN_KEY record of every key touched since the last call,
 * and the JRN_REMOTE_DELETE of every remote id (eng_unlock_durable calls
 * it, under the index lock). */
void jrnrec_flush_locked(struct st_engine *e);

/* ---- reading (rebuild) ------------------------------------------------- */

struct jrn_record {
    jrn_type type;
    int version;                     /* "rv": 1 when absent */
    uint64_t commit;
    json_t *fields;
    const uint8_t *data;             /* NULL from jrn_replay: see jrn_read_data */
    size_t len;                      /* the data's length */
    const char *path;                /* the file it was read from (during the call) */
    uint64_t offset;                 /* and where its frame starts there */
};

/* Every record of this set's lineage on the online disks with a commit
 * number above `after`, each once (copies on several disks are one), in
 * commit order. cb returns nonzero to stop. *files gets how many journal
 * files were read, *torn how many ended in a torn or damaged record (or
 * held one whose JSON does not parse), *newer how many records of a
 * record version above JRN_RECORD_VERSION were skipped.
 * Memory: the records' JSON only; their data (an inline object's bytes)
 * stays in the files, and a reader that needs it reads it with
 * jrn_read_data, one record at a time. */
int jrn_replay(const ds_set *set, uint64_t after, int (*cb)(void *ctx,
               const jrn_record *r), void *ctx, int *files, int *torn, int *newer,
               cf_err *err);
/* The data of the record whose frame starts at offset in path (a
 * jrn_record's path and offset), checked against the record's CRC again:
 * *data malloc'd (NULL when it has none). CF_EIO, CF_ECORRUPT (the file
 * changed since). */
int jrn_read_data(const char *path, uint64_t offset, uint8_t **data, size_t *len,
                  cf_err *err);

#endif
