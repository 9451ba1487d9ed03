/*
 * storage/segread.c - the segment reader (segment.h: segr_*).
 *
 * Block b is read from the k data shards, each CRC-checked (a shard
 * file's or pack record's header is checked once, when it is first
 * opened; a packed shard is read as its file would be, at the record's
 * shard base, and a shard file healed since wins over the record); a missing,
 * short, corrupt or foreign shard is replaced by parity and the reader
 * flagged degraded, so that its caller queues the segment for heal. The
 * block is then opened with AES-GCM straight out of the stripe, so wrong
 * bytes are never returned; a tag that fails with every CRC intact (a
 * shard changed behind its CRC) is tried again leaving out one shard at a
 * time (segr_open_without, which the deep scrub uses too), and the one
 * whose leaving out opened it is remembered for heal (segr_behind_crc).
 * An inline segment is one sealed block held in memory. segr_read_sealed
 * gives a block as sealed, for the cold tier, once it has opened it (and
 * again, without reading or opening it twice, while the stripe holds it).
 */
#include "storage/segment_int.h"
#include "common/le.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/bigbuf.h"
#include "common/checksum.h"
#include "common/fio.h"
#include "common/fsutil.h"

/* The stripe is a recycled buffer (common/bigbuf.h), the size of the
 * writer's: a fresh one would be an mmap with a page fault per page
 * touched and an munmap, per GET. */
static size_t stripe_bytes(const seg_reader *r)
{
    return (size_t)shard_len_for(r->d.set->block_size, rs_k(r->d.rs)) * seg_shards(&r->d);
}

seg_reader *segr_new(const seg_desc *d, uint64_t size, const uint8_t *inline_data,
                     size_t inline_len, cf_err *err)
{
    seg_reader *r = calloc(1, sizeof *r);
    if (!r) {
        cf_fail(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    r->d = *d;
    r->size = size;
    for (int i = 0; i < RS_MAX_SHARDS; i++)
        r->fd[i] = -1;
    r->cc = crypt_ctx_new(err);
    if (inline_data) {
        r->inl = malloc(inline_len ? inline_len : 1);
        if (r->inl)
            memcpy(r->inl, inline_data, inline_len);
        r->inl_len = inline_len;
    } else {
        r->stripe = bigbuf_alloc(stripe_bytes(r));
    }
    if (!r->cc || (inline_data ? !r->inl : !r->stripe)) {
        if (r->cc)
            cf_fail(err, CF_ENOMEM, "out of memory");
        segr_free(r);
        return NULL;
    }
    return r;
}

/* Open shard file i and check that its header is this segment's shard i. */
bool segr_open_shard(seg_reader *r, int i)
{
    if (r->state[i] != SHARD_UNOPENED)
        return r->state[i] == SHARD_OPEN;
    r->state[i] = SHARD_BAD;
    if (!r->d.set->disks[i].online)
        return false;
    char path[PATH_MAX];
    const char *disk = r->d.set->disks[i].path;
    const seg_loc *loc = &r->d.loc[i];
    shard_path(path, sizeof path, disk, r->d.data_id);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint64_t base = 0;
    if (fd < 0 && loc->packed) {     /* no healed shard file: the record */
        pack_path(path, sizeof path, disk, loc->pack_id);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        base = pack_shard_base(loc->off);
    }
    if (fd < 0) {
        ds_note(r->d.set, i, DS_ERR_READ);
        return false;
    }
    uint8_t hdr[SHARD_HEADER_SIZE];
    shard_header h;
    cf_err e;
    if (fsu_pread_all(fd, hdr, sizeof hdr, (off_t)base) != 0) {
        ds_note(r->d.set, i, DS_ERR_READ);
        close(fd);
        return false;
    }
    if (shard_header_decode(hdr, &h, &e) != 0 ||
        memcmp(h.data_id, r->d.data_id, CRYPT_DATA_ID_LEN) != 0 ||
        h.shard_index != i || h.size != r->size || h.part != r->d.part ||
        h.k != rs_k(r->d.rs) || h.m != rs_m(r->d.rs) ||
        h.block_size != r->d.set->block_size) {
        ds_note(r->d.set, i, DS_ERR_CRC);
        close(fd);
        return false;
    }
    r->fd[i] = fd;
    r->base[i] = base;
    r->state[i] = SHARD_OPEN;
    return true;
}

/* Read shard i of the block at off (s bytes) and check its CRC. */
bool segr_read_shard(seg_reader *r, int i, uint64_t off, uint32_t s)
{
    r->sealed_valid = false;
    if (!segr_open_shard(r, i))
        return false;
    uint8_t *dst = stripe_shard(r->stripe, s, i);
    uint8_t crc[SHARD_CRC_LEN];
    struct iovec iov[2] = {{dst, s}, {crc, sizeof crc}};
    ssize_t n = fio_preadv(r->fd[i], iov, 2, (off_t)(r->base[i] + off));
    if (n != (ssize_t)(s + SHARD_CRC_LEN)) {
        ds_note(r->d.set, i, DS_ERR_READ);
        return false;
    }
    uint32_t want = (uint32_t)le_get(crc, SHARD_CRC_LEN);
    if (cks_crc32c(0, dst, s) == want)
        return true;
    ds_note(r->d.set, i, DS_ERR_CRC);
    return false;
}

static int open_inline(seg_reader *r, uint64_t b, uint8_t *out, uint32_t *len,
                       cf_err *err)
{
    if (b != 0 || r->inl_len < CRYPT_TAG_LEN ||
        r->inl_len - CRYPT_TAG_LEN != r->size)
        return cf_fail(err, CF_ECORRUPT, "inline object data has the wrong size");
    crypt_pos pos;
    seg_pos(&r->d, 0, true, &pos);
    uint32_t n = (uint32_t)r->size;
    if (crypt_open_block(r->cc, r->d.dk, &pos, r->inl, n, r->inl + n, out, err) < 0)
        return -1;
    *len = n;
    return 0;
}

/* Fetch k good shards of block b into the stripe, rebuilding data shards
 * from parity where needed. present[] tells which shards were read. */
static int gather_block(seg_reader *r, uint64_t off, uint32_t s, bool *present,
                        cf_err *err)
{
    int k = rs_k(r->d.rs), total = seg_shards(&r->d), good = 0;
    bool data_missing = false;
    for (int i = 0; i < total && good < k; i++) {
        present[i] = segr_read_shard(r, i, off, s);
        good += present[i];
        if (!present[i]) {
            r->degraded = true;
            data_missing |= i < k;
        }
    }
    if (good < k)
        return cf_fail(err, CF_EQUORUM,
                       "only %d of the %d shards needed are readable", good, k);
    if (!data_missing)
        return 0;
    uint8_t *shards[RS_MAX_SHARDS];
    for (int i = 0; i < total; i++)
        shards[i] = stripe_shard(r->stripe, s, i);
    return rs_reconstruct(r->d.rs, s, shards, present, err);
}

int segr_read_block(seg_reader *r, uint64_t b, uint8_t *out, uint32_t *len,
                    cf_err *err)
{
    if (r->inl)
        return open_inline(r, b, out, len, err);
    uint64_t nblocks = shard_block_count(r->size, r->d.set->block_size);
    if (b >= nblocks)
        return cf_fail(err, CF_EINVAL, "block %llu beyond the segment",
                       (unsigned long long)b);
    uint32_t n = shard_block_plain(r->size, r->d.set->block_size, b);
    uint32_t s = shard_len_for(n, rs_k(r->d.rs));
    uint64_t off = shard_block_offset(r->d.set->block_size, rs_k(r->d.rs), b);
    bool present[RS_MAX_SHARDS] = {0};
    if (gather_block(r, off, s, present, err) < 0)
        return -1;
    crypt_pos pos;
    seg_pos(&r->d, b, b + 1 == nblocks, &pos);
    if (crypt_open_block(r->cc, r->d.dk, &pos, r->stripe, n, r->stripe + n, out,
                         err) < 0) {
        /* every shard's CRC held, yet the tag fails: one was changed
         * behind its CRC. The block opens without it; the caller names it
         * to heal (segr_behind_crc), whose CRCs cannot find it. */
        for (int j = 0; j < seg_shards(&r->d); j++)
            if (segr_open_without(r, b, (uint16_t)(1u << j), out, len)) {
                ds_note(r->d.set, j, DS_ERR_CRC);
                r->degraded = true;
                r->behind_crc |= (uint16_t)(1u << j);
                return 0;
            }
        return -1;
    }
    *len = n;
    return 0;
}

bool segr_open_without(seg_reader *r, uint64_t b, uint16_t skip, uint8_t *out,
                       uint32_t *len)
{
    int k = rs_k(r->d.rs), total = seg_shards(&r->d);
    uint32_t bs = r->d.set->block_size, n = shard_block_plain(r->size, bs, b);
    uint32_t s = shard_len_for(n, k);
    uint64_t off = shard_block_offset(bs, k, b);
    bool present[RS_MAX_SHARDS] = {0};
    int good = 0;
    for (int i = 0; i < total && good < k; i++)
        if (!(skip & (1u << i)) && segr_read_shard(r, i, off, s))
            good += present[i] = true;
    if (good < k)
        return false;
    uint8_t *shards[RS_MAX_SHARDS];
    for (int i = 0; i < total; i++)
        shards[i] = stripe_shard(r->stripe, s, i);
    cf_err e;
    bool data_missing = false;
    for (int i = 0; i < k; i++)
        data_missing |= !present[i];
    if (data_missing && rs_reconstruct(r->d.rs, s, shards, present, &e) < 0)
        return false;
    crypt_pos pos;
    seg_pos(&r->d, b, b + 1 == shard_block_count(r->size, bs), &pos);
    if (crypt_open_block(r->cc, r->d.dk, &pos, r->stripe, n, r->stripe + n, out, &e) < 0)
        return false;
    *len = n;
    return true;
}


bool segr_degraded(const seg_reader *r)
{
    return r->degraded;
}

uint16_t segr_behind_crc(const seg_reader *r)
{
    return r->behind_crc;
}

void segr_free(seg_reader *r)
{
    if (!r)
        return;
    for (int i = 0; i < RS_MAX_SHARDS; i++)
        if (r->fd[i] >= 0)
            close(r->fd[i]);
    crypt_wipe(r->d.dk, sizeof r->d.dk);
    crypt_ctx_free(r->cc);
    if (r->plain)
        crypt_wipe(r->plain, r->d.set->block_size);
    free(r->plain);
    free(r->inl);
    bigbuf_free(r->stripe, stripe_bytes(r));
    free(r);
}

int segr_read_sealed(seg_reader *r, uint64_t b, const uint8_t **sealed, uint32_t *len,
                     cf_err *err)
{
    /* Opened first, into scratch: a block is never handed on as sealed
     * unless its tag holds. A shard changed behind its CRC is left out as
     * for a GET (the stripe then holds the block rebuilt without it), so a
     * tier upload, after which the local shards are freed, never carries
     * such a change away as the only copy. Asked again for the same block
     * (a caller reading it in pieces), the stripe still holds it opened. */
    if (!r->sealed_valid || r->sealed_b != b) {
        if (!r->plain && !(r->plain = malloc(r->d.set->block_size)))
            return cf_fail(err, CF_ENOMEM, "out of memory");
        uint32_t n;
        if (segr_read_block(r, b, r->plain, &n, err) < 0)
            return -1;
        r->sealed_len = n + CRYPT_TAG_LEN;
        r->sealed_valid = true;
        r->sealed_b = b;
    }
    *sealed = r->inl ? r->inl : r->stripe;
    *len = r->sealed_len;
    return 0;
}
