/*
 * storage/segment.c - what is built from a segment's writer and reader
 * (segment.h: seg_*): heal (read every shard, rebuild the bad ones from
 * the good, write them as a writer would), the import of a sealed stream
 * (every block proven by its tag before it is striped), opening an inline
 * segment's sealed bytes, and removing a segment's files.
 *
 * The writer is segwrite.c, the reader segread.c; segment_int.h is what
 * the three share.
 */
#include "storage/segment_int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/fio.h"
#include "common/fsutil.h"

int seg_unlink(const ds_set *set, const uint8_t data_id[CRYPT_DATA_ID_LEN])
{
    char path[PATH_MAX];
    int rc = 0;
    for (int i = 0; i < set->n; i++) {
        shard_path(path, sizeof path, set->disks[i].path, data_id);
        if (fio_unlink(path) != 0 && errno != ENOENT)
            rc = -1;
        shard_tmp_path(path, sizeof path, set->disks[i].path, data_id);
        if (fio_unlink(path) != 0 && errno != ENOENT)
            rc = -1;
    }
    return rc;
}

/* ---- heal -------------------------------------------------------------- */

/* Shards of a stored segment that are missing or hold any bad block. */
static uint16_t find_bad_shards(seg_reader *r)
{
    int k = rs_k(r->d.rs), total = seg_shards(&r->d);
    uint32_t bs = r->d.set->block_size;
    uint16_t bad = 0;
    for (int i = 0; i < total; i++)
        if (!segr_open_shard(r, i))
            bad |= (uint16_t)(1u << i);
    uint64_t nblocks = shard_block_count(r->size, bs);
    for (uint64_t b = 0; b < nblocks; b++) {
        uint32_t s = shard_len_for(shard_block_plain(r->size, bs, b), k);
        uint64_t off = shard_block_offset(bs, k, b);
        for (int i = 0; i < total; i++)
            if (!(bad & (1u << i)) && !segr_read_shard(r, i, off, s))
                bad |= (uint16_t)(1u << i);
    }
    return bad;
}

/* The rewritten shards carry the object metadata of a good one's header. */
static void keep_meta(seg_reader *r, uint16_t bad, seg_writer *w)
{
    for (int i = 0; i < seg_shards(&r->d); i++) {
        uint8_t hdr[SHARD_HEADER_SIZE];
        shard_meta m;
        cf_err e;
        if (!(bad & (1u << i)) && r->fd[i] >= 0 &&
            fsu_pread_all(r->fd[i], hdr, sizeof hdr, (off_t)r->base[i]) == 0 &&
            shard_meta_get(hdr, &m, &e) == 1) {
            segw_set_meta(w, &m);
            return;
        }
    }
}

/* Rebuild block b from the good shards and append the rebuilt ones. With
 * agree (room for m shards: a shard was bad behind its CRC, so others may
 * be too), every other shard is read as well and the stripe must agree
 * with itself (parity from data) before anything is written: a shard
 * rebuilt from one changed behind its CRC would carry that change into a
 * block where it was right, with a CRC to match. */
static int heal_block(seg_reader *r, seg_writer *w, uint16_t bad, uint64_t b,
                      uint8_t *agree, cf_err *err)
{
    int k = rs_k(r->d.rs), total = seg_shards(&r->d);
    uint32_t bs = r->d.set->block_size;
    uint32_t s = shard_len_for(shard_block_plain(r->size, bs, b), k);
    uint64_t off = shard_block_offset(bs, k, b);
    bool present[RS_MAX_SHARDS] = {0};
    uint8_t *shards[RS_MAX_SHARDS];
    int good = 0;
    for (int i = 0; i < total; i++) {
        shards[i] = stripe_shard(r->stripe, s, i);
        if ((good < k || agree) && !(bad & (1u << i)))
            good += present[i] = segr_read_shard(r, i, off, s);
    }
    if (good < k)
        return cf_fail(err, CF_EQUORUM, "block %llu: only %d good shards of %d",
                       (unsigned long long)b, good, k);
    if (rs_reconstruct(r->d.rs, s, shards, present, err) < 0)
        return -1;
    if (agree && seg_parity_differs(r->d.rs, r->stripe, s, agree) != 0)
        return cf_fail(err, CF_ECORRUPT, "block %llu: the shards left do not agree (another "
                       "is changed behind its CRC): nothing rewritten", (unsigned long long)b);
    return segw_append_shards(w, shards, s, err);
}

/* A shard rewritten because it was bad behind its CRC was rebuilt from
 * shards no CRC can vouch for either: read the segment back and check
 * that all its shards agree (parity from data), as they do only when the
 * rewritten one is exact. */
static int verify_rewritten(const seg_desc *d, uint64_t size, cf_err *err)
{
    seg_check_opts o = {.mode = SEG_CHECK_PARITY};
    seg_check_result res;
    if (seg_check(d, size, NULL, 0, &o, &res, err) < 0)
        return -1;
    if (res.missing || res.bad || res.lost)
        return cf_fail(err, CF_ECORRUPT, "the rewritten shards do not agree with the "
                       "others read back (missing %#x, bad %#x): another shard is bad "
                       "behind its CRC", (unsigned)res.missing, (unsigned)res.bad);
    return 0;
}

int seg_heal(const seg_desc *d, uint64_t size, uint16_t force_bad, int *rewritten,
             cf_err *err)
{
    *rewritten = 0;
    seg_reader *r = segr_new(d, size, NULL, 0, err);
    if (!r)
        return -1;
    uint16_t by_crc = find_bad_shards(r), bad = by_crc | force_bad;
    int total = seg_shards(d), rc = 0;
    uint16_t todo = 0;
    for (int i = 0; i < total; i++)
        if ((bad & (1u << i)) && d->set->disks[i].online &&
            ds_probe_leave(d->set, i) == DS_PROBE_OK)   /* never into a swapped disk */
            todo |= (uint16_t)(1u << i);
    /* a shard bad behind its CRC: the rest are checked against each other */
    uint8_t *agree = todo && (force_bad & ~by_crc)
                     ? malloc((size_t)shard_len_for(d->set->block_size, rs_k(d->rs)) *
                              (size_t)(rs_m(d->rs) ? rs_m(d->rs) : 1)) : NULL;
    seg_writer *w = todo ? segw_new(d, 0, err) : NULL;
    if (todo && !w)
        rc = -1;
    if (w && (force_bad & ~by_crc) && !agree)
        rc = cf_fail(err, CF_ENOMEM, "out of memory");
    if (w)
        keep_meta(r, bad, w);
    if (w && rc == 0) {
        w->quorum = 1;
        w->skip_out = false;
        w->failed = (uint16_t)~todo;
        w->size = size;
        rc = segw_open_files(w, err);
        uint64_t nblocks = shard_block_count(size, d->set->block_size);
        for (uint64_t b = 0; rc == 0 && b < nblocks; b++)
            rc = heal_block(r, w, bad, b, agree, err);
        rc = segw_complete_files(w, rc, err);
        if (rc == 0)
            *rewritten = segw_live_shards(w);
    }
    segw_abort(w);
    free(agree);
    segr_free(r);
    if (rc == 0 && bad != todo)
        return cf_fail(err, CF_EIO, "some shards sit on offline disks");
    if (rc == 0 && (force_bad & ~by_crc))
        rc = verify_rewritten(d, size, err);
    return rc;
}

/* Read one sealed block from src into the writer's stripe and prove it
 * (the GCM tag must verify at its position) before it is striped. */
static int import_block(seg_writer *w, uint64_t size, uint64_t b, st_source src,
                        void *ctx, cf_err *err)
{
    uint32_t n = shard_block_plain(size, w->bsize, b);
    bool last = b + 1 == shard_block_count(size, w->bsize);
    crypt_pos pos;
    seg_pos(&w->d, b, last, &pos);
    if (segw_ensure_stripe(w, err) < 0 || segw_block_room(w, n, err) < 0 ||
        src(ctx, w->stripe, (size_t)n + CRYPT_TAG_LEN, err) < 0)
        return -1;
    if (crypt_open_block(w->cc, w->d.dk, &pos, w->stripe, n, w->stripe + n, w->block,
                         err) < 0)
        return -1;
    return segw_stripe_out(w, n, err);
}

int seg_import(const seg_desc *d, uint64_t size, st_source src, void *ctx, cf_err *err)
{
    seg_writer *w = segw_new(d, 0, err);
    if (!w)
        return -1;
    w->size = size;
    int rc = 0;
    uint64_t nblocks = shard_block_count(size, w->bsize);
    for (uint64_t b = 0; rc == 0 && b < nblocks; b++)
        rc = import_block(w, size, b, src, ctx, err);
    rc = segw_complete_files(w, rc, err);
    segw_abort(w);
    return rc;
}

int seg_open_block(const seg_desc *d, crypt_ctx *cc, uint64_t size, uint64_t b,
                   const uint8_t *sealed, uint8_t *out, uint32_t *len, cf_err *err)
{
    uint32_t bs = d->set->block_size;
    uint64_t nblocks = shard_block_count(size, bs);
    if (b >= nblocks)
        return cf_fail(err, CF_EINVAL, "block beyond the segment");
    uint32_t n = shard_block_plain(size, bs, b);
    crypt_pos pos;
    seg_pos(d, b, b + 1 == nblocks, &pos);
    if (crypt_open_block(cc, d->dk, &pos, sealed, n, sealed + n, out, err) < 0)
        return -1;
    *len = n;
    return 0;
}

int seg_open_sealed(const seg_desc *d, const uint8_t *sealed, uint32_t n, uint8_t *out,
                    cf_err *err)
{
    crypt_ctx *cc = crypt_ctx_new(err);
    if (!cc)
        return -1;
    uint32_t got;
    int rc = seg_open_block(d, cc, n, 0, sealed, out, &got, err);
    crypt_ctx_free(cc);
    return rc;
}
