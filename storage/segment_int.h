/*
 * storage/segment_int.h - what the three files of the segment pipeline
 * share (segwrite.c, segread.c, segment.c). Not for use outside them:
 * everything else goes through segment.h.
 *
 * An encoded block ("stripe") lives in one buffer of (k + m) * shard_len
 * bytes: the k data shards first, back to back, so AES-GCM writes the
 * ciphertext and tag straight into them and reads decrypt straight out of
 * them; the m parity shards follow. Each shard goes to disk with writev /
 * preadv as two pieces, data and CRC32C, so nothing is copied twice.
 *
 * Threads: a writer or reader belongs to one request thread; the writer's
 * I/O thread (segwrite.c) is its own and stopped before the writer is
 * used for anything but appending (segw_complete_files drains it).
 */
#ifndef ST_SEGMENT_INT_H
#define ST_SEGMENT_INT_H

#include <pthread.h>

#include "storage/segment.h"
#include "storage/shardout.h"

static inline int seg_shards(const seg_desc *d)
{
    return rs_k(d->rs) + rs_m(d->rs);
}

static inline uint8_t *stripe_shard(uint8_t *stripe, uint32_t s, int i)
{
    return stripe + (size_t)s * (size_t)i;
}

static inline void seg_pos(const seg_desc *d, uint64_t b, bool last, crypt_pos *pos)
{
    pos->data_id = d->data_id;
    pos->part = d->part;
    pos->block = b;
    pos->last = last;
}

/* ---- the writer (segwrite.c) ------------------------------------------- */

struct seg_writer {
    seg_desc d;
    uint32_t inline_max;
    uint32_t bsize;
    uint8_t *block;                  /* held-back plaintext */
    uint32_t block_cap;              /* bytes allocated at block */
    uint32_t held;
    uint64_t blocks_out;             /* blocks already written to shards */
    uint64_t size;
    uint8_t *stripe;
    shard_out out[RS_MAX_SHARDS];    /* the temp files (fd -1: none) */
    uint16_t failed;                 /* shards that could not be written */
    bool files_open;
    uint64_t unsynced;
    int quorum;                      /* live shards needed to go on */
    bool skip_out;                   /* leave disks out of the write set out (ds.h);
                                      * heal clears it: it is how a disk comes back */
    crypt_ctx *cc;
    /* the I/O thread (see the top of this file) */
    uint8_t *spare;                  /* the stripe not being sealed into */
    bool io_running;
    pthread_t io;
    pthread_mutex_t io_lock;
    pthread_cond_t io_cv;
    uint8_t *io_stripe;              /* handed to the I/O thread; NULL: idle */
    uint32_t io_s;
    bool io_stop;
    int io_rc;
    cf_err io_err;
    shard_meta *meta;                /* carried by the headers, or NULL */
};

/* Shards still being written. */
int segw_live_shards(const seg_writer *w);
/* Open a temp file per live shard (a disk that fails drops out). */
int segw_open_files(seg_writer *w, cf_err *err);
/* Room for a need-byte plaintext block at w->block. */
int segw_block_room(seg_writer *w, uint32_t need, cf_err *err);
/* The stripe buffer, allocated on first use. */
int segw_ensure_stripe(seg_writer *w, cf_err *err);
/* Pad the sealed block of n plaintext bytes in the stripe's data shards,
 * add parity, hand it to the I/O thread. */
int segw_stripe_out(seg_writer *w, uint32_t n, cf_err *err);
/* Append shard i of a block (shard length s), with its CRC, to each live
 * file. */
int segw_append_shards(seg_writer *w, uint8_t *const *shards, uint32_t s, cf_err *err);
/* After the write phase ended with rc: let the I/O thread finish, then
 * seal and publish the shard files. Returns the first failure. */
int segw_complete_files(seg_writer *w, int rc, cf_err *err);

/* ---- the reader (segread.c) -------------------------------------------- */

enum { SHARD_UNOPENED = 0, SHARD_OPEN, SHARD_BAD };

struct seg_reader {
    seg_desc d;
    uint64_t size;
    uint8_t *inl;
    size_t inl_len;
    int fd[RS_MAX_SHARDS];
    uint64_t base[RS_MAX_SHARDS];    /* where shard i starts in fd[i] (pack.h) */
    uint8_t state[RS_MAX_SHARDS];
    uint8_t *stripe;
    bool degraded;
    uint16_t behind_crc;             /* shards found changed behind their CRCs */
    crypt_ctx *cc;
    uint8_t *plain;                  /* segr_read_sealed's scratch (a block) */
    /* The stripe holds block sealed_b as opened sealed bytes (its tag held):
     * set by segr_read_sealed, cleared by anything that writes the stripe
     * (segr_read_shard), so a tier upload reading a block in small pieces
     * reads and opens it once; sealed_len is its sealed length. */
    bool sealed_valid;
    uint64_t sealed_b;
    uint32_t sealed_len;
};

/* Open shard i (its shard file, or else its pack record) and check that
 * its header is this segment's shard i. */
bool segr_open_shard(seg_reader *r, int i);
/* Shard i of the block at off (shard length s) into the stripe, its CRC
 * checked; false if it cannot be read or is wrong. */
bool segr_read_shard(seg_reader *r, int i, uint64_t off, uint32_t s);
/* Rebuild the data shards of block b from the shards not in skip (read
 * fresh from disk: a rebuild overwrites the stripe) and open it into out;
 * false if too few are readable or the tag fails. */
bool segr_open_without(seg_reader *r, uint64_t b, uint16_t skip, uint8_t *out,
                       uint32_t *len);

/* ---- checking (segcheck.c) ---------------------------------------------- */

/* The parity shards of a stripe (shard length s) that differ from the
 * parity of its data shards; tmp has room for m shards. */
uint16_t seg_parity_differs(const rs_codec *rs, uint8_t *stripe, uint32_t s, uint8_t *tmp);

#endif
