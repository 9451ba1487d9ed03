/*
 * storage/segwrite.c - the segment writer (segment.h: segw_*) and its I/O
 * thread.
 *
 * Bytes stream in; every full block is sealed (AES-256-GCM) straight into
 * the stripe's data shards, extended by parity, and appended with its
 * CRC32C to one temp file per disk. One plaintext block is always held
 * back so that the last one can be sealed with the "last" flag. At finish
 * the headers are written, every shard fdatasynced and renamed into
 * objects/, and the directories fsynced; a segment that ends within
 * inline_max bytes never touches a disk (seal_inline), and one that ends
 * within its first block with shards of at most pack_max bytes goes to
 * the disks' open packs instead of files (pack_out: one record per disk,
 * then each pack's shared fdatasync; pack.h).
 *
 * A writer that reaches the disks starts an I/O thread and a second
 * stripe: the request thread seals and encodes block n + 1 while the I/O
 * thread computes the CRCs of block n and writes its shards (through the
 * page cache, or with storage.direct_io through each file's O_DIRECT
 * staging buffer, shardout.h: a fifth of a PUT's CPU time). Only the I/O
 * thread touches the shard files and the failed-shard mask while it runs;
 * the request thread waits for it to finish (io_drain) before it seals,
 * publishes or removes them. Segments kept inline never start it.
 */
#include "storage/segment_int.h"
#include "common/le.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/bigbuf.h"
#include "common/checksum.h"
#include "common/fio.h"
#include "common/fsutil.h"

int segw_live_shards(const seg_writer *w)
{
    int n = 0;
    for (int i = 0; i < seg_shards(&w->d); i++)
        n += !(w->failed & (1u << i));
    return n;
}

static void drop_shard(seg_writer *w, int i)
{
    char path[PATH_MAX];
    shardout_close(&w->out[i]);
    w->failed |= (uint16_t)(1u << i);
    shard_tmp_path(path, sizeof path, w->d.set->disks[i].path, w->d.data_id);
    unlink(path);
}

/* Shard i could not be written (errnum): count it against its disk, take
 * the disk out of the write set (ds.h), give the shard up. */
static void fail_shard(seg_writer *w, int i, int errnum)
{
    ds_note(w->d.set, i, DS_ERR_WRITE);
    ds_write_failed(w->d.set, i, errnum);
    drop_shard(w, i);
}

static int check_quorum(seg_writer *w, int errnum, cf_err *err)
{
    if (segw_live_shards(w) >= w->quorum)
        return 0;
    return cf_fail_errno(err, CF_EQUORUM, errnum,
                         "only %d shards writable, %d needed", segw_live_shards(w),
                         w->quorum);
}

/* The disks out of the write set (ds.h) a new segment leaves out: only
 * while the others keep a disk of margin over the write quorum, so that
 * leaving a disk out never makes a PUT fail that trying it would have
 * let complete. Else every disk is tried: one may be back, and if not,
 * its error says why the write is refused (ENOSPC: 507). */
static uint16_t left_out(seg_writer *w)
{
    uint16_t out = 0;
    int usable = 0;
    for (int i = 0; w->skip_out && i < seg_shards(&w->d); i++) {
        if ((w->failed & (1u << i)) || !w->d.set->disks[i].online)
            continue;
        if (ds_write_skip(w->d.set, i))
            out |= (uint16_t)(1u << i);
        else
            usable++;
    }
    return usable > w->quorum ? out : 0;
}

/* Give up the shards of disks offline or left out of the write set. */
static void choose_shards(seg_writer *w)
{
    uint16_t out = left_out(w);
    for (int i = 0; i < seg_shards(&w->d); i++)
        if (!(w->failed & (1u << i)) && (!w->d.set->disks[i].online || (out & (1u << i))))
            w->failed |= (uint16_t)(1u << i);
}

int segw_open_files(seg_writer *w, cf_err *err)
{
    int last_errno = EIO;
    choose_shards(w);
    for (int i = 0; i < seg_shards(&w->d); i++) {
        char path[PATH_MAX];
        if (w->failed & (1u << i))
            continue;
        shard_tmp_path(path, sizeof path, w->d.set->disks[i].path, w->d.data_id);
        if (shardout_open(&w->out[i], path, w->d.set->direct_io) < 0) {
            last_errno = errno;
            fail_shard(w, i, last_errno);
        } else if (w->out[i].direct) {
            ds_note_direct(w->d.set);
        }
    }
    w->files_open = true;
    return check_quorum(w, last_errno, err);
}

static size_t stripe_bytes(const seg_writer *w)
{
    return (size_t)shard_len_for(w->bsize, rs_k(w->d.rs)) * seg_shards(&w->d);
}

/* The held-back block starts at 64 KiB (every inline object fits) and
 * grows to the block size only when a body needs it: a small PUT then
 * never allocates a whole block. A whole block, and every stripe, is a
 * recycled buffer (common/bigbuf.h): a fresh one would be an mmap with a
 * page fault per page and an munmap, per request. */
#define SEG_BLOCK_START (64u << 10)

static void block_free(seg_writer *w)
{
    if (w->block_cap == w->bsize)
        bigbuf_free(w->block, w->block_cap);
    else
        free(w->block);
    w->block = NULL;
    w->block_cap = 0;
}

int segw_block_room(seg_writer *w, uint32_t need, cf_err *err)
{
    if (need <= w->block_cap && w->block)
        return 0;
    uint32_t start = SEG_BLOCK_START < w->bsize ? SEG_BLOCK_START : w->bsize;
    uint32_t cap = need <= start ? start : w->bsize;
    uint8_t *b = cap == w->bsize ? bigbuf_alloc(cap) : malloc(cap);
    if (!b)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    if (w->held)
        memcpy(b, w->block, w->held);
    block_free(w);
    w->block = b;
    w->block_cap = cap;
    return 0;
}

seg_writer *segw_new(const seg_desc *d, uint32_t inline_max, cf_err *err)
{
    seg_writer *w = calloc(1, sizeof *w);
    if (!w) {
        cf_fail(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    w->d = *d;
    w->bsize = d->set->block_size;
    w->inline_max = inline_max < w->bsize ? inline_max : w->bsize;
    w->quorum = rs_m(d->rs) == 0 ? rs_k(d->rs) : rs_k(d->rs) + 1;
    w->skip_out = true;
    for (int i = 0; i < RS_MAX_SHARDS; i++)
        w->out[i].fd = -1;
    pthread_mutex_init(&w->io_lock, NULL);
    pthread_cond_init(&w->io_cv, NULL);
    w->cc = crypt_ctx_new(err);
    if (!w->cc || segw_block_room(w, 1, err) < 0) {
        segw_abort(w);
        return NULL;
    }
    return w;
}

uint64_t segw_size(const seg_writer *w)
{
    return w->size;
}

void segw_set_meta(seg_writer *w, const shard_meta *m)
{
    if (!w->meta)
        w->meta = malloc(sizeof *w->meta);
    if (w->meta)
        *w->meta = *m;
}

static void start_writeback(seg_writer *w, uint32_t s)
{
    w->unsynced += s;
    if (w->unsynced < SEG_WRITEBACK_BYTES)
        return;
    w->unsynced = 0;
    for (int i = 0; i < seg_shards(&w->d); i++)
        if (w->out[i].fd >= 0 && !w->out[i].direct)
            sync_file_range(w->out[i].fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

static void *io_main(void *arg)
{
    seg_writer *w = arg;
    pthread_mutex_lock(&w->io_lock);
    for (;;) {
        while (!w->io_stripe && !w->io_stop)
            pthread_cond_wait(&w->io_cv, &w->io_lock);
        if (!w->io_stripe)
            break;
        uint8_t *stripe = w->io_stripe;
        uint32_t s = w->io_s;
        pthread_mutex_unlock(&w->io_lock);
        uint8_t *shards[RS_MAX_SHARDS];
        for (int i = 0; i < seg_shards(&w->d); i++)
            shards[i] = stripe_shard(stripe, s, i);
        cf_err e;
        int rc = segw_append_shards(w, shards, s, &e);
        pthread_mutex_lock(&w->io_lock);
        if (rc < 0 && w->io_rc == 0) {
            w->io_rc = -1;
            w->io_err = e;
        }
        w->io_stripe = NULL;
        pthread_cond_broadcast(&w->io_cv);
    }
    pthread_mutex_unlock(&w->io_lock);
    return NULL;
}

static int io_start(seg_writer *w, cf_err *err)
{
    if (!(w->spare = bigbuf_alloc(stripe_bytes(w))))
        return cf_fail(err, CF_ENOMEM, "out of memory");
    int rc = pthread_create(&w->io, NULL, io_main, w);
    if (rc != 0)
        return cf_fail_errno(err, CF_EINTERNAL, rc, "cannot start a shard I/O thread");
    w->io_running = true;
    return 0;
}

/* Hand the current stripe (shard length s) to the I/O thread once it is
 * idle, and take the other one to seal into next. */
static int io_submit(seg_writer *w, uint32_t s, cf_err *err)
{
    if (!w->io_running && io_start(w, err) < 0)
        return -1;
    pthread_mutex_lock(&w->io_lock);
    while (w->io_stripe)
        pthread_cond_wait(&w->io_cv, &w->io_lock);
    int rc = w->io_rc;
    if (rc < 0) {
        *err = w->io_err;
    } else {
        w->io_stripe = w->stripe;
        w->io_s = s;
        pthread_cond_broadcast(&w->io_cv);
    }
    pthread_mutex_unlock(&w->io_lock);
    uint8_t *next = w->spare;
    w->spare = w->stripe;
    w->stripe = next;
    return rc;
}

/* Wait for the last stripe to reach the files and stop the I/O thread;
 * its first error, if any, comes back here. */
static int io_drain(seg_writer *w, cf_err *err)
{
    if (!w->io_running)
        return 0;
    pthread_mutex_lock(&w->io_lock);
    w->io_stop = true;
    pthread_cond_broadcast(&w->io_cv);
    pthread_mutex_unlock(&w->io_lock);
    pthread_join(w->io, NULL);
    w->io_running = false;
    if (w->io_rc < 0) {
        *err = w->io_err;
        return -1;
    }
    return 0;
}

/* Pad the sealed block of n bytes in the stripe's data shards and add
 * parity; the shard length. */
static uint32_t stripe_encode(seg_writer *w, uint32_t n)
{
    int k = rs_k(w->d.rs), m = rs_m(w->d.rs);
    uint32_t s = shard_len_for(n, k);
    memset(w->stripe + n + CRYPT_TAG_LEN, 0, (size_t)s * k - n - CRYPT_TAG_LEN);
    uint8_t *shards[RS_MAX_SHARDS];
    for (int i = 0; i < k + m; i++)
        shards[i] = stripe_shard(w->stripe, s, i);
    if (m > 0)
        rs_encode(w->d.rs, s, shards, shards + k);
    return s;
}

/* Pad the sealed block in the stripe's data shards, add parity, append. */
int segw_stripe_out(seg_writer *w, uint32_t n, cf_err *err)
{
    if (!w->files_open && segw_open_files(w, err) < 0)
        return -1;
    uint32_t s = stripe_encode(w, n);
    w->blocks_out++;
    return io_submit(w, s, err);
}

/* The stripe is allocated when the first block leaves for the disks, so a
 * segment kept inline never pays for it. */
int segw_ensure_stripe(seg_writer *w, cf_err *err)
{
    if (!w->stripe && !(w->stripe = bigbuf_alloc(stripe_bytes(w))))
        return cf_fail(err, CF_ENOMEM, "out of memory");
    return 0;
}

/* Seal block number blocks_out of n bytes into the stripe's data shards. */
static int seal_block(seg_writer *w, const uint8_t *pt, uint32_t n, bool last, cf_err *err)
{
    if (segw_ensure_stripe(w, err) < 0)
        return -1;
    crypt_pos pos;
    seg_pos(&w->d, w->blocks_out, last, &pos);
    return crypt_seal_block(w->cc, w->d.dk, &pos, pt, n, w->stripe, w->stripe + n, err);
}

/* Seal, encode and append one block to every live shard file. */
static int write_block(seg_writer *w, const uint8_t *pt, uint32_t n, bool last,
                       cf_err *err)
{
    if (seal_block(w, pt, n, last, err) < 0)
        return -1;
    return segw_stripe_out(w, n, err);
}

/* Append shard i of the current block, with its CRC, to each live file. */
int segw_append_shards(seg_writer *w, uint8_t *const *shards, uint32_t s, cf_err *err)
{
    int last_errno = 0;
    for (int i = 0; i < seg_shards(&w->d); i++) {
        if (w->out[i].fd < 0)
            continue;
        uint8_t crc[SHARD_CRC_LEN];
        le_put(crc, cks_crc32c(0, shards[i], s), SHARD_CRC_LEN);
        struct iovec iov[2] = {{shards[i], s}, {crc, sizeof crc}};
        if (shardout_append(&w->out[i], iov, 2) < 0) {
            last_errno = errno;
            fail_shard(w, i, last_errno);
        }
    }
    start_writeback(w, s);
    return check_quorum(w, last_errno, err);
}

int segw_write(seg_writer *w, const void *data, size_t len, cf_err *err)
{
    return segw_write_pass(w, data, len, NULL, NULL, err);
}

int segw_write_pass(seg_writer *w, const void *data, size_t len, segw_pass_fn pass,
                    void *ctx, cf_err *err)
{
    const uint8_t *p = data;
    while (len > 0) {
        if (w->held == w->bsize) {
            if (write_block(w, w->block, w->held, false, err) < 0)
                return -1;
            w->held = 0;
        }
        if (w->held == 0 && len > w->bsize) {
            /* a whole block with more behind it: seal it in place */
            if (pass)
                pass(ctx, NULL, p, w->bsize);
            if (write_block(w, p, w->bsize, false, err) < 0)
                return -1;
            p += w->bsize;
            len -= w->bsize;
            w->size += w->bsize;
            continue;
        }
        size_t n = w->bsize - w->held;
        if (n > len)
            n = len;
        if (segw_block_room(w, w->held + (uint32_t)n, err) < 0)
            return -1;
        if (pass)
            pass(ctx, w->block + w->held, p, n);
        else
            memcpy(w->block + w->held, p, n);
        w->held += (uint32_t)n;
        p += n;
        len -= n;
        w->size += n;
    }
    return 0;
}

static int seal_inline(seg_writer *w, seg_result *res, cf_err *err)
{
    crypt_pos pos;
    seg_pos(&w->d, 0, true, &pos);
    res->inline_len = (size_t)w->held + CRYPT_TAG_LEN;
    res->inline_data = malloc(res->inline_len);
    if (!res->inline_data)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    if (crypt_seal_block(w->cc, w->d.dk, &pos, w->block, w->held,
                         res->inline_data, res->inline_data + w->held, err) < 0) {
        free(res->inline_data);
        res->inline_data = NULL;
        return -1;
    }
    return 0;
}

/* The header of shard i, as its file or pack record holds it. */
static void shard_hdr(const seg_writer *w, int i, uint8_t hdr[SHARD_HEADER_SIZE])
{
    shard_header h = w->d.header;
    h.size = w->size;
    h.shard_index = (uint8_t)i;
    shard_header_encode(&h, hdr);
    if (w->meta)
        shard_meta_put(hdr, w->meta);
}

/* Header, fdatasync, close each live temp file. */
static int seal_shard_files(seg_writer *w, cf_err *err)
{
    uint8_t hdr[SHARD_HEADER_SIZE];
    int last_errno = 0;
    for (int i = 0; i < seg_shards(&w->d); i++) {
        if (w->out[i].fd < 0)
            continue;
        shard_hdr(w, i, hdr);
        int rc = shardout_finish(&w->out[i], hdr) < 0 ? -errno : 0;
        if (rc == 0 && fio_fdatasync(w->out[i].fd) != 0)
            rc = -errno;
        if (shardout_close(&w->out[i]) != 0 && rc == 0)
            rc = -errno;
        if (rc != 0) {
            last_errno = -rc;
            fail_shard(w, i, last_errno);
        }
    }
    return check_quorum(w, last_errno, err);
}

/* Rename temp files into objects/ and fsync those directories. */
static int publish_shard_files(seg_writer *w, cf_err *err)
{
    int last_errno = 0;
    for (int i = 0; i < seg_shards(&w->d); i++) {
        if (w->failed & (1u << i))
            continue;
        char tmp[PATH_MAX], dst[PATH_MAX];
        const char *disk = w->d.set->disks[i].path;
        shard_tmp_path(tmp, sizeof tmp, disk, w->d.data_id);
        shard_path(dst, sizeof dst, disk, w->d.data_id);
        cf_err e2;
        if (fio_rename(tmp, dst) != 0) {
            last_errno = errno;
            fail_shard(w, i, last_errno);
        } else if (fsu_fsync_parent(dst, &e2) < 0) {
            last_errno = EIO;
            ds_note(w->d.set, i, DS_ERR_WRITE);
            ds_write_failed(w->d.set, i, EIO);
            unlink(dst);
            w->failed |= (uint16_t)(1u << i);
        } else {
            ds_write_ok(w->d.set, i);
        }
    }
    return check_quorum(w, last_errno, err);
}

/* After the write phase ended with rc: let the I/O thread finish, then
 * seal and publish the shard files. Returns the first failure. */
int segw_complete_files(seg_writer *w, int rc, cf_err *err)
{
    cf_err later;
    if (io_drain(w, rc == 0 ? err : &later) < 0)
        rc = -1;
    if (rc == 0)
        rc = seal_shard_files(w, err);
    if (rc == 0)
        rc = publish_shard_files(w, err);
    return rc;
}

/* A one-block segment whose shards fit the pack limit. */
static bool packable(const seg_writer *w)
{
    return w->d.packs && w->blocks_out == 0 &&
           (uint64_t)shard_len_for(w->held, rs_k(w->d.rs)) + SHARD_CRC_LEN <= w->d.pack_max;
}

static int cf_errno_of(const cf_err *e)
{
    return e->code == CF_ENOSPC ? ENOSPC : EIO;
}

/* The segment's one block, sealed, as a record in each live disk's open
 * pack; then every pack's (shared) fdatasync. A disk whose append or sync
 * fails drops out as a shard file's would. */
static int pack_out(seg_writer *w, seg_result *res, cf_err *err)
{
    if (seal_block(w, w->block, w->held, true, err) < 0)
        return -1;
    uint32_t s = stripe_encode(w, w->held);
    w->blocks_out = 1;
    choose_shards(w);
    int rc = check_quorum(w, EIO, err), last_errno = 0;
    cf_err e2;
    for (int i = 0; rc == 0 && i < seg_shards(&w->d); i++) {
        if (w->failed & (1u << i))
            continue;
        uint8_t hdr[SHARD_HEADER_SIZE], crc[SHARD_CRC_LEN];
        uint8_t *shard = stripe_shard(w->stripe, s, i);
        le_put(crc, cks_crc32c(0, shard, s), SHARD_CRC_LEN);
        struct iovec body[2] = {{shard, s}, {crc, sizeof crc}};
        shard_hdr(w, i, hdr);
        if (pack_set_append(w->d.packs, i, hdr, body, 2, &res->pack[i], &e2) == 0) {
            res->packed |= (uint16_t)(1u << i);
        } else {
            last_errno = cf_errno_of(&e2);
            fail_shard(w, i, last_errno);
        }
    }
    for (int i = 0; rc == 0 && i < seg_shards(&w->d); i++) {
        if (!(res->packed & (1u << i)))
            continue;
        if (pack_ref_commit(&res->pack[i], &e2) == 0) {
            ds_write_ok(w->d.set, i);
            continue;
        }
        last_errno = cf_errno_of(&e2);
        fail_shard(w, i, last_errno);
        pack_ref_release(&res->pack[i]);
        res->packed &= (uint16_t)~(1u << i);
    }
    if (rc == 0)
        rc = check_quorum(w, last_errno, err);
    return rc;
}

void seg_result_done(seg_result *res)
{
    for (int i = 0; i < RS_MAX_SHARDS; i++)
        pack_ref_release(&res->pack[i]);
    res->packed = 0;
    free(res->inline_data);
    res->inline_data = NULL;
}

int segw_finish(seg_writer *w, seg_result *res, cf_err *err)
{
    memset(res, 0, sizeof *res);
    int rc;
    if (w->blocks_out == 0 && w->held <= w->inline_max && w->inline_max > 0) {
        rc = seal_inline(w, res, err);
    } else if (packable(w)) {
        rc = pack_out(w, res, err);
        if (rc < 0)
            seg_result_done(res);
    } else {
        rc = write_block(w, w->block, w->held, true, err);
        rc = segw_complete_files(w, rc, err);
        if (rc < 0 && w->files_open)
            seg_unlink(w->d.set, w->d.data_id);
    }
    res->size = w->size;
    res->missing = w->failed;
    segw_abort(w);
    return rc;
}

void segw_abort(seg_writer *w)
{
    if (!w)
        return;
    cf_err ignored;
    io_drain(w, &ignored);
    pthread_cond_destroy(&w->io_cv);
    pthread_mutex_destroy(&w->io_lock);
    for (int i = 0; i < RS_MAX_SHARDS; i++)
        if (w->out[i].fd >= 0)
            drop_shard(w, i);
    crypt_wipe(w->d.dk, sizeof w->d.dk);
    crypt_ctx_free(w->cc);
    block_free(w);
    bigbuf_free(w->stripe, stripe_bytes(w));
    bigbuf_free(w->spare, stripe_bytes(w));
    free(w->meta);
    free(w);
}
