/*
 * storage/segcheck.c - checking a stored segment (segment.h: seg_check),
 * for heal --all and scrub.
 *
 * Presence: every shard file (or pack record) opens with this segment's
 * header and has the length its geometry gives (a record: fits its pack). CRC: every block of every shard is read and
 * its CRC32C checked. Deep: each block is also rebuilt where it must be
 * and opened with AES-GCM, its plaintext fed to the caller's digests; a
 * tag that fails while every shard's CRC held means a shard was changed
 * together with its CRC (or before it was computed): each shard in turn is
 * left out and the block rebuilt from the others until the tag holds,
 * which names the bad one; a block that opened from its data shards also
 * has its parity computed again and compared with the parity shards read,
 * which finds a changed parity shard. Parity (heal's check of what it
 * wrote, no key needed): CRC, and every block's parity computed again from
 * its data shards and compared. The shard files are dropped from the page
 * cache as they are finished, so a scrub does not push out what clients
 * read.
 */
#include "storage/segment_int.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The length a complete shard file of this segment has. */
static uint64_t shard_file_len(const seg_desc *d, uint64_t size)
{
    uint32_t bs = d->set->block_size;
    int k = rs_k(d->rs);
    uint64_t n = shard_block_count(size, bs);
    return shard_block_offset(bs, k, n - 1) +
           shard_len_for(shard_block_plain(size, bs, n - 1), k) + SHARD_CRC_LEN;
}

static uint16_t presence(seg_reader *r)
{
    uint16_t missing = 0;
    uint64_t want = shard_file_len(&r->d, r->size);
    for (int i = 0; i < seg_shards(&r->d); i++) {
        struct stat st;
        /* a shard file has exactly its length; a record at least fits its pack */
        if (!segr_open_shard(r, i) || fstat(r->fd[i], &st) != 0 ||
            (r->base[i] == 0 ? (uint64_t)st.st_size != want
                             : (uint64_t)st.st_size < r->base[i] + want))
            missing |= (uint16_t)(1u << i);
    }
    return missing;
}

/* Deep: open block b (the shards known bad left out); if the tag fails,
 * look for the one shard whose leaving out makes it hold. */
static int deep_block(seg_reader *r, uint64_t b, uint16_t *bad, uint8_t *out, uint32_t *len,
                      seg_check_result *res)
{
    if (segr_open_without(r, b, *bad, out, len))
        return 0;
    res->gcm_failures++;
    for (int j = 0; j < seg_shards(&r->d); j++) {
        uint16_t skip = (uint16_t)(*bad | (1u << j));
        if (!(*bad & (1u << j)) && segr_open_without(r, b, skip, out, len)) {
            *bad = skip;
            return 0;
        }
    }
    return -1;
}

/* Deep, after block b opened from its k data shards as read (the stripe
 * still holds the parity shards read by the CRC pass): a parity shard
 * that differs from the parity of the data is bad. */
uint16_t seg_parity_differs(const rs_codec *rs, uint8_t *stripe, uint32_t s, uint8_t *tmp)
{
    int k = rs_k(rs), m = rs_m(rs);
    uint8_t *data[RS_MAX_SHARDS], *parity[RS_MAX_SHARDS];
    for (int i = 0; i < k; i++)
        data[i] = stripe_shard(stripe, s, i);
    for (int j = 0; j < m; j++)
        parity[j] = tmp + (size_t)j * s;
    rs_encode(rs, s, data, parity);
    uint16_t differ = 0;
    for (int j = 0; j < m; j++)
        if (memcmp(parity[j], stripe_shard(stripe, s, k + j), s) != 0)
            differ |= (uint16_t)(1u << (k + j));
    return differ;
}

static void check_parity(seg_reader *r, uint64_t b, uint16_t *bad, uint8_t *tmp,
                         seg_check_result *res)
{
    uint32_t bs = r->d.set->block_size;
    uint32_t s = shard_len_for(shard_block_plain(r->size, bs, b), rs_k(r->d.rs));
    uint16_t differ = seg_parity_differs(r->d.rs, r->stripe, s, tmp) & (uint16_t)~*bad;
    for (int i = 0; i < RS_MAX_SHARDS; i++)
        res->parity_errors += (differ >> i) & 1u;
    *bad |= differ;
}

static void drop_cache(seg_reader *r)
{
    for (int i = 0; i < RS_MAX_SHARDS; i++)
        if (r->fd[i] >= 0)
            posix_fadvise(r->fd[i], (off_t)r->base[i],
                          r->base[i] ? (off_t)shard_file_len(&r->d, r->size) : 0,
                          POSIX_FADV_DONTNEED);
}

static int check_inline(const seg_desc *d, uint64_t size, const uint8_t *inl, size_t len,
                        const seg_check_opts *o, seg_check_result *res, cf_err *err)
{
    if (o->mode != SEG_CHECK_DEEP)
        return 0;
    seg_reader *r = segr_new(d, size, inl, len, err);
    uint8_t *out = r ? malloc(size ? size : 1) : NULL;
    int rc = out ? 0 : -1;
    uint32_t n = 0;
    if (r && !out)
        cf_fail(err, CF_ENOMEM, "out of memory");
    if (rc == 0 && segr_read_block(r, 0, out, &n, err) < 0) {
        res->gcm_failures++;
        res->lost = true;
    } else if (rc == 0) {
        if (o->md5)
            cks_update(o->md5, out, n);
        if (o->cks)
            cks_update(o->cks, out, n);
    }
    free(out);
    segr_free(r);
    return rc;
}

int seg_check(const seg_desc *d, uint64_t size, const uint8_t *inline_data,
              size_t inline_len, const seg_check_opts *o, seg_check_result *res,
              cf_err *err)
{
    memset(res, 0, sizeof *res);
    if (inline_data)
        return check_inline(d, size, inline_data, inline_len, o, res, err);
    seg_reader *r = segr_new(d, size, NULL, 0, err);
    if (!r)
        return -1;
    int k = rs_k(d->rs), total = seg_shards(d), rc = 0;
    res->missing = presence(r);
    uint16_t bad = res->missing;
    bool deep = o->mode == SEG_CHECK_DEEP, parity = deep || o->mode == SEG_CHECK_PARITY;
    uint8_t *out = deep ? malloc(d->set->block_size) : NULL;
    uint8_t *tmp = parity ? malloc((size_t)shard_len_for(d->set->block_size, k) *
                                   (size_t)(rs_m(d->rs) + 1)) : NULL;
    if ((deep && !out) || (parity && !tmp))
        rc = cf_fail(err, CF_ENOMEM, "out of memory");
    uint32_t bs = d->set->block_size;
    uint64_t nblocks = shard_block_count(size, bs);
    for (uint64_t b = 0; rc == 0 && o->mode != SEG_CHECK_PRESENCE && b < nblocks; b++) {
        uint32_t n = shard_block_plain(size, bs, b), s = shard_len_for(n, k);
        uint64_t off = shard_block_offset(bs, k, b);
        int good = 0;
        for (int i = 0; i < total; i++) {
            if (res->missing & (1u << i))
                continue;
            res->bytes += s + SHARD_CRC_LEN;
            if (segr_read_shard(r, i, off, s)) {
                good++;
            } else {
                res->crc_errors++;
                bad |= (uint16_t)(1u << i);
            }
        }
        uint32_t len = 0;
        uint16_t before = bad;
        if (good < k)
            res->lost = true;
        else if (!deep && parity && good == total)
            check_parity(r, b, &bad, tmp, res);
        else if (deep && deep_block(r, b, &bad, out, &len, res) < 0)
            res->lost = true;
        else if (deep) {
            if (before == bad && !(bad & ((1u << k) - 1)))
                check_parity(r, b, &bad, tmp, res);
            if (o->md5)
                cks_update(o->md5, out, len);
            if (o->cks)
                cks_update(o->cks, out, len);
        }
        if (o->pace && o->pace(o->ctx, (uint64_t)(s + SHARD_CRC_LEN) * (uint64_t)good) != 0) {
            res->stopped = true;
            break;
        }
    }
    res->bad = (uint16_t)(bad & ~res->missing);
    drop_cache(r);
    free(out);
    free(tmp);
    segr_free(r);
    return rc;
}
