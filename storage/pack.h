/*
 * storage/pack.h - the per-disk pack file (issue 14 point 1): many shards
 * of mid-size objects appended to one file per disk instead of a file per
 * shard, with one fdatasync shared by every PUT that appended since the
 * last one (group commit, storage/gsync.h, as for the index's WAL).
 *
 * A pack file DISK/packs/<32 hex pack id>.pack is
 *
 *     [ file header: PACK_FILE_HEADER bytes ]
 *     [ record ] [ record ] ...
 *
 * File header (little-endian): magic "COFPACK1" (its last character is
 * the pack format version), format version (u32, PACK_FORMAT_VERSION),
 * the pack id (16 bytes), zero padding, CRC32C of the first 60 bytes at 60.
 *
 * Record: a prefix of PACK_REC_PREFIX bytes, then a shard exactly as a
 * shard file holds it (shard.h): its SHARD_HEADER_SIZE header, encoded
 * and decoded by the same functions, then its blocks each followed by
 * its CRC32C. So a record's shard starts at record offset +
 * PACK_REC_PREFIX ("the shard base") and block b of it at
 * base + shard_block_offset(...): every reader of shard files reads a
 * packed shard by adding the base.
 *
 * Record prefix: magic "CFPR", flags (u32, 0), body length (u64: the
 * shard's blocks with their CRCs, after its header), CRC32C of the body
 * (u32), zero padding, CRC32C of the prefix's first 28 bytes at 28.
 * A record is self-describing (the shard header names its set, data id,
 * object, tenant, bucket, key, part, index, k, m), so `coffer
 * rebuild-index` can scan packs as it scans shard files (pack_scan).
 *
 * Crash safety: appends are not durable until pack_commit returns for
 * the record's end; the index row that points at a record is committed
 * only after that, so the index is still the commit point and a crash
 * leaves at most bytes no row references at a pack's tail. pack_open
 * scans an existing pack and cuts it after the last record that
 * verifies (a torn tail).
 *
 * Thread-safety: a pack_writer may be shared by threads; its gsync's
 * lock (storage/gsync.h) orders appends (written under the lock, so every
 * byte before gs.written is written) and one thread at a time runs the
 * fdatasync that others wait on. pack_scan and pack_read_header touch only their own descriptors.
 */
#ifndef ST_PACK_H
#define ST_PACK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <sys/uio.h>

#include "common/error.h"
#include "storage/gsync.h"
#include "storage/rs.h"
#include "storage/shard.h"

#define PACK_FORMAT_VERSION 1u
#define PACK_FILE_HEADER 64u
#define PACK_REC_PREFIX 32u
#define PACK_ID_LEN 16u

typedef struct pack_writer {
    gsync gs;            /* its lock orders appends; written: the end (every byte
                          * before it written); err: the pack takes no more */
    int fd;
    uint8_t id[PACK_ID_LEN];
    char path[PATH_MAX];
} pack_writer;

/* "DISK/packs/<32 hex>.pack" (a buffer of PATH_MAX). */
void pack_path(char *out, size_t outsz, const char *disk, const uint8_t id[PACK_ID_LEN]);
/* Parse "<32 hex>.pack" into a pack id. */
bool pack_name_to_id(const char *name, uint8_t id[PACK_ID_LEN]);

/* Create a new, empty pack on disk (DISK/packs made if missing; the
 * header and the directory entry synced) and open it for appending. */
int pack_create(const char *disk, pack_writer *w, cf_err *err);
/* Open an existing pack for appending: its header checked
 * (CF_ECONFIG for a newer format version, CF_ECORRUPT for a bad one),
 * its records scanned and a torn tail after the last one that verifies
 * cut off and synced. */
int pack_open(const char *path, pack_writer *w, cf_err *err);
void pack_close(pack_writer *w);

/* Append one shard: hdr (an encoded shard header) and body (its blocks
 * with their CRCs, body_len bytes). *rec_off gets the record's offset
 * and *rec_end the offset after it (what pack_commit waits for). Not
 * durable until pack_commit. */
int pack_append(pack_writer *w, const uint8_t hdr[SHARD_HEADER_SIZE], const void *body,
                size_t body_len, uint64_t *rec_off, uint64_t *rec_end, cf_err *err);
/* The same with the body in nbody (at most PACK_BODY_IOV) pieces. */
#define PACK_BODY_IOV 4
int pack_appendv(pack_writer *w, const uint8_t hdr[SHARD_HEADER_SIZE],
                 const struct iovec *body, int nbody, uint64_t *rec_off, uint64_t *rec_end,
                 cf_err *err);
/* Return once every byte before upto is durable: one fdatasync covers
 * every append made before it started (group commit). */
int pack_commit(pack_writer *w, uint64_t upto, cf_err *err);

/* Where a record's shard starts (add to shard-file offsets). */
static inline uint64_t pack_shard_base(uint64_t rec_off) { return rec_off + PACK_REC_PREFIX; }

/* Read the record at off, len bytes with its prefix (as a pack_shards
 * row names it), from fd (a pack open for reading) and verify it whole:
 * hdr gets its shard header, *body (malloc'd; the caller frees it) its
 * blocks with their CRCs, *body_len their length. CF_ECORRUPT: the bytes
 * there are not one verified record of len bytes; CF_EIO: unreadable.
 * The compactor copies a live record with it (storage/compact.c). */
int pack_read_record(int fd, uint64_t off, uint64_t len, uint8_t hdr[SHARD_HEADER_SIZE],
                     uint8_t **body, size_t *body_len, cf_err *err);

/* One record pack_scan found whole and verified. */
typedef struct pack_rec {
    uint64_t off;        /* record offset */
    uint64_t body_len;
    shard_header h;
    int has_meta;
    shard_meta meta;
} pack_rec;
/* Read every record of the pack at path in order, verifying prefix,
 * header and body CRCs; fn (non-zero return stops the scan with that
 * value) gets each. *valid_end (optional) gets the offset after the last
 * record that verified: what follows is a torn tail or damage. Returns
 * 0, fn's value, or -1 (the file header is bad or unreadable). */
typedef int (*pack_scan_fn)(const pack_rec *r, void *arg);
int pack_scan(const char *path, pack_scan_fn fn, void *arg, uint64_t *valid_end,
              cf_err *err);

/* ---- the packs a set writes to (the engine's, shared by every PUT) ----
 *
 * One open pack per disk, created on the first append to the disk and
 * rolled (a new one created, the old one sealed: never appended to again)
 * once it holds roll_bytes or its fdatasync failed. A pack stays "busy"
 * while it is open or while some writer still holds a reference to a
 * record in it (pack_ref: taken at the append, dropped after the index
 * commit that names the record, or its failure). Only a pack that is not
 * busy may be unlinked when no index row names it (gc): a sealed pack
 * gains no record, so once it is not busy, no row can come to name it.
 * Packs of an earlier run are never reopened: each run starts new ones.
 *
 * Lock: the set's mutex guards the open packs and the busy list; it is
 * held for a pack creation but never across an append or a sync (those
 * take the writer's own mutex). */
typedef struct pack_slot pack_slot;
typedef struct pack_set {
    pthread_mutex_t mu;
    int n;
    const char *disks[RS_MAX_SHARDS];  /* not owned */
    pack_slot *open[RS_MAX_SHARDS];
    pack_slot *busy;                    /* every live slot, open ones too */
    uint64_t roll_bytes;
} pack_set;

typedef struct pack_ref {
    pack_set *ps;
    pack_slot *slot;                    /* NULL: none held */
    uint8_t id[PACK_ID_LEN];
    uint64_t off;                       /* the record's offset */
    uint64_t len;                       /* its bytes, prefix included */
} pack_ref;

#define PACK_DEFAULT_ROLL_BYTES (64ull << 20)   /* small: a pack empties sooner */

void pack_set_init(pack_set *ps, int n, const char *const *disks, uint64_t roll_bytes);
/* Close every pack (no writer may be running). */
void pack_set_close(pack_set *ps);
/* Append a record to disk's open pack; *ref holds it (busy) until
 * pack_ref_release. */
int pack_set_append(pack_set *ps, int disk, const uint8_t hdr[SHARD_HEADER_SIZE],
                    const struct iovec *body, int nbody, pack_ref *ref, cf_err *err);
/* Make the record durable (group commit, pack_commit). */
int pack_ref_commit(pack_ref *ref, cf_err *err);
/* Drop the reference (a no-op for one not held). */
void pack_ref_release(pack_ref *ref);
/* Seal disk's open pack (the disk was replaced: the next append creates
 * one on the new disk). */
void pack_set_roll(pack_set *ps, int disk);
/* Whether the pack is open or referenced by a writer. */
bool pack_set_busy(pack_set *ps, const uint8_t id[PACK_ID_LEN]);

#endif
