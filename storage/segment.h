/*
 * storage/segment.h - writing and reading one segment's blocks: the data
 * path of DESIGN.md §3 between plaintext and shard files.
 *
 * Writer: bytes stream in; every full block is sealed (AES-256-GCM),
 * split into k shards, extended by m parity shards, and each shard plus
 * its CRC32C appended to a temp file on its disk. One block is always
 * held back so the final block can be sealed with the "last" flag. A
 * segment that ends within inline_max bytes never touches a disk: finish
 * returns its sealed bytes for the index to keep (see doc/design.md).
 * finish writes headers, fdatasyncs every shard, renames them into
 * objects/ and fsyncs the directories; only then may the caller commit
 * the index row. A one-block segment under the descriptor's pack_max
 * is appended as one record per disk to the disks' open packs (pack.h)
 * and their shared fdatasync waited for instead; the index row then
 * names the records (seg_result.pack). A disk that fails while writing drops out; the segment
 * still succeeds while write quorum (k + 1, or k when m = 0) shards are
 * durable, and reports the missing ones for the heal queue.
 *
 * Reader: reads block b by fetching the k data shards (CRC-checked); a
 * missing, short or corrupt shard is replaced by parity and the segment
 * flagged degraded; the block is then opened with AES-GCM, so wrong bytes
 * are never returned: beyond repair is CF_EQUORUM / CF_ECORRUPT.
 *
 * Memory: a writer holds one plaintext block and one encoded stripe
 * ((k + m) * shard_len); a reader one stripe. Neither depends on the
 * segment size.
 *
 * Files: segwrite.c (segw_*, the writer and its I/O thread), segread.c
 * (segr_*), segment.c (seg_*: heal, import, unlink); segment_int.h is
 * what they share. No lock: a writer or reader belongs to one thread.
 */
#ifndef ST_SEGMENT_H
#define ST_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "storage/crypto.h"
#include "storage/ds.h"
#include "storage/pack.h"
#include "storage/rs.h"
#include "storage/shard.h"

/* A writer starts write-back (sync_file_range, not waiting) of each shard
 * file every this many bytes, so the final fdatasync is short and dirty
 * pages stay bounded. (contrib/bench/bench_engine.c writes its disk limit
 * the same way.) */
#define SEG_WRITEBACK_BYTES (8u << 20)

/* Where shard i of a stored segment is: its own shard file, or a record
 * in a pack (pack.h) of its disk. A healed shard is a shard file even
 * when the index still names its old record: a shard file wins. */
typedef struct seg_loc {
    bool packed;
    uint8_t pack_id[PACK_ID_LEN];
    uint64_t off;                    /* the record's offset in the pack */
} seg_loc;

/* Everything fixed about a segment while it is written or read. */
typedef struct seg_desc {
    const ds_set *set;
    const rs_codec *rs;
    uint8_t data_id[CRYPT_DATA_ID_LEN];
    uint32_t part;
    uint8_t dk[CRYPT_KEY_LEN];       /* the data key, in the clear */
    shard_header header;             /* template: names, ids, wrapped key */
    /* writing: a one-block segment whose shards (CRC included) are at
     * most pack_max bytes goes to the disks' open packs (NULL: never) */
    pack_set *packs;
    uint32_t pack_max;
    seg_loc loc[RS_MAX_SHARDS];      /* reading: where each shard is */
} seg_desc;

typedef struct seg_writer seg_writer;

/* inline_max: largest segment kept inline (0: never inline). */
seg_writer *segw_new(const seg_desc *d, uint32_t inline_max, cf_err *err);
int segw_write(seg_writer *w, const void *data, size_t len, cf_err *err);
/* segw_write with the copy into the block done by pass(ctx, dst, src, n):
 * pass must copy n bytes from src to dst, or only read them where dst is
 * NULL (a whole block sealed in place from src). Every byte of data goes
 * through pass once, in order, before it is sealed: the PUT hashes the body
 * in the same pass as that copy (storage/put.c). */
typedef void (*segw_pass_fn)(void *ctx, void *dst, const void *src, size_t n);
int segw_write_pass(seg_writer *w, const void *data, size_t len, segw_pass_fn pass,
                    void *ctx, cf_err *err);
uint64_t segw_size(const seg_writer *w);
/* The object metadata the shard headers carry (shard.h: shard_meta);
 * set it before segw_finish (copied). */
void segw_set_meta(seg_writer *w, const shard_meta *m);

typedef struct seg_result {
    uint64_t size;
    uint16_t missing;                /* bit i: shard i not written (heal) */
    uint8_t *inline_data;            /* sealed bytes if kept inline (malloc'd) */
    size_t inline_len;
    uint16_t packed;                 /* bit i: shard i is the record pack[i] */
    pack_ref pack[RS_MAX_SHARDS];
} seg_result;

/* Seal the last block; make the shards durable (or produce the inline
 * bytes). On success the shard files (or pack records: res->packed) are
 * in place, *not yet referenced by the index*: the caller commits or
 * queues them for deletion, then calls seg_result_done. On failure every
 * temp file is removed (pack records left are bytes no row names). Frees
 * w either way. */
int segw_finish(seg_writer *w, seg_result *res, cf_err *err);
/* After the commit that names res's records (or its failure): drop the
 * pack references (their packs may be sealed and unlinked now) and free
 * the inline bytes. */
void seg_result_done(seg_result *res);
/* Remove temp files and free. */
void segw_abort(seg_writer *w);

typedef struct seg_reader seg_reader;

/* inline_data (len inline_len) if the segment is inline, else NULL. */
seg_reader *segr_new(const seg_desc *d, uint64_t size, const uint8_t *inline_data,
                     size_t inline_len, cf_err *err);
/* Decrypt block b into out, which has room for its plaintext (at most
 * block_size bytes); *len its size. On failure out's content is garbage. */
int segr_read_block(seg_reader *r, uint64_t b, uint8_t *out, uint32_t *len,
                    cf_err *err);
/* True once any read needed parity (the caller queues a heal). */
bool segr_degraded(const seg_reader *r);
/* The shards a read found changed behind an intact CRC (a block's tag
 * failed and opened without that one): the caller names them to heal,
 * which cannot find them by CRC (heal_queue's bad). */
uint16_t segr_behind_crc(const seg_reader *r);
void segr_free(seg_reader *r);

/* Rewrite every shard of a stored segment whose file is missing, has a bad
 * header, or holds a bad block, from the others, and the shards in
 * force_bad too (found bad by a deep check or a read though their CRCs
 * hold; never read from). When one of those held its CRCs, the segment is
 * read back after the rewrite and every block's parity checked against its data: a
 * mismatch (another shard bad behind its CRC) fails with CF_ECORRUPT.
 * *rewritten counts shard files written. */
int seg_heal(const seg_desc *d, uint64_t size, uint16_t force_bad, int *rewritten,
             cf_err *err);

/* Check a stored segment (segcheck.c). Presence: each shard file is there
 * with this segment's header and its full length. CRC: also every block
 * of every shard is read and CRC-checked. Deep: also every block is opened
 * (GCM) and its plaintext fed to md5/cks (either NULL), a shard changed
 * behind an intact CRC is found by leaving shards out in turn, and parity
 * is checked against the data. pace is called after each block with the
 * bytes read; nonzero stops the check (res->stopped). inline_data: an
 * inline segment (deep only: it is opened and digested). */
typedef enum seg_check_mode {
    SEG_CHECK_PRESENCE, SEG_CHECK_CRC, SEG_CHECK_DEEP,
    SEG_CHECK_PARITY                 /* CRC, and each block's parity against its data */
} seg_check_mode;
typedef struct seg_check_opts {
    seg_check_mode mode;
    struct cks_state *md5, *cks;
    int (*pace)(void *ctx, uint64_t bytes);
    void *ctx;
} seg_check_opts;
typedef struct seg_check_result {
    uint16_t missing;                /* shard files absent, foreign or short */
    uint16_t bad;                    /* shards with a bad block (CRC, GCM, parity) */
    uint64_t bytes;                  /* shard bytes read */
    uint64_t crc_errors;             /* shard blocks whose CRC failed */
    uint64_t gcm_failures;           /* blocks whose tag failed as first read */
    uint64_t parity_errors;          /* parity shard blocks that differ */
    bool lost;                       /* a block cannot be rebuilt or opened */
    bool stopped;
} seg_check_result;
int seg_check(const seg_desc *d, uint64_t size, const uint8_t *inline_data,
              size_t inline_len, const seg_check_opts *o, seg_check_result *res,
              cf_err *err);

/* Sealed blocks, for the cold tier: block b's ciphertext || tag
 * (plain_len + 16 bytes), valid until the next call on r. The block is
 * read and opened as by segr_read_block (into scratch, wiped at
 * segr_free), so only bytes whose tag holds are given: a shard changed
 * behind its CRC is left out and named (segr_behind_crc), and a block
 * that cannot be opened is an error, never sealed bytes. Needs the data
 * key, as a read does. */
int segr_read_sealed(seg_reader *r, uint64_t b, const uint8_t **sealed, uint32_t *len,
                     cf_err *err);

/* Rewrite a stored segment's shard files (same data id, same data key)
 * from its sealed blocks as seg_read_sealed gave them. Each block must
 * pass its GCM tag at its position before anything is written; files are
 * replaced only when every block was good. */
int seg_import(const seg_desc *d, uint64_t size, st_source src, void *ctx, cf_err *err);
/* Open sealed block b (its plaintext bytes + 16) of a segment of size
 * plaintext bytes into out; *len its plaintext length. CF_ECORRUPT if
 * its tag does not verify at that position. */
int seg_open_block(const seg_desc *d, crypt_ctx *cc, uint64_t size, uint64_t b,
                   const uint8_t *sealed, uint8_t *out, uint32_t *len, cf_err *err);
/* Check an inline segment's sealed bytes (n plaintext bytes) decrypt;
 * out receives the plaintext. */
int seg_open_sealed(const seg_desc *d, const uint8_t *sealed, uint32_t n, uint8_t *out,
                    cf_err *err);

/* Remove the segment's shard files (and temp files) from every disk
 * (missing ones are fine). 0, or -1 if a file is still there (an unlink
 * failed, errno other than ENOENT): the caller keeps what would find it
 * again, e.g. its delete-queue row. */
int seg_unlink(const ds_set *set, const uint8_t data_id[CRYPT_DATA_ID_LEN]);

#endif
