/*
 * storage/segment.c - the block pipeline (see segment.h for the contract).
 *
 * An encoded block ("stripe") lives in one buffer of (k + m) * shard_len
 * bytes: the k data shards first, back to back, so AES-GCM writes the
 * ciphertext and tag straight into them and reads decrypt straight out of
 * them; the m parity shards follow. Each shard goes to disk with writev /
 * preadv as two pieces, data and CRC32C, so nothing is copied twice.
 *
 * A writer that reaches the disks starts an I/O thread and a second
 * stripe: the request thread seals and encodes block n + 1 while the I/O
 * thread computes the CRCs of block n and copies its shards into the page
 * cache (a fifth of a PUT's CPU time). Only the I/O thread touches the
 * shard files and the failed-shard mask while it runs; the request thread
 * waits for it to finish (io_drain) before it seals, publishes or removes
 * them. Segments kept inline never start it.
 */
#include "storage/segment.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/checksum.h"
#include "common/fio.h"
#include "common/fsutil.h"

static int seg_shards(const seg_desc *d)
{
    return rs_k(d->rs) + rs_m(d->rs);
}

static uint8_t *stripe_shard(uint8_t *stripe, uint32_t s, int i)
{
    return stripe + (size_t)s * (size_t)i;
}

static void seg_pos(const seg_desc *d, uint64_t b, bool last, crypt_pos *pos)
{
    pos->data_id = d->data_id;
    pos->part = d->part;
    pos->block = b;
    pos->last = last;
}

/* ---- writer ------------------------------------------------------------ */

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
    int fd[RS_MAX_SHARDS];
    uint16_t failed;                 /* shards that could not be written */
    bool files_open;
    uint64_t unsynced;
    int quorum;                      /* live shards needed to go on */
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

static int live_shards(const seg_writer *w)
{
    int n = 0;
    for (int i = 0; i < seg_shards(&w->d); i++)
        n += !(w->failed & (1u << i));
    return n;
}

static void drop_shard(seg_writer *w, int i)
{
    char path[PATH_MAX];
    if (w->fd[i] >= 0)
        close(w->fd[i]);
    w->fd[i] = -1;
    w->failed |= (uint16_t)(1u << i);
    shard_tmp_path(path, sizeof path, w->d.set->disks[i].path, w->d.data_id);
    unlink(path);
}

static int check_quorum(seg_writer *w, int errnum, cf_err *err)
{
    if (live_shards(w) >= w->quorum)
        return 0;
    return cf_fail_errno(err, CF_EQUORUM, errnum,
                         "only %d shards writable, %d needed", live_shards(w),
                         w->quorum);
}

static int open_shard_files(seg_writer *w, cf_err *err)
{
    int last_errno = EIO;
    for (int i = 0; i < seg_shards(&w->d); i++) {
        char path[PATH_MAX];
        if (w->failed & (1u << i))
            continue;
        if (!w->d.set->disks[i].online) {
            w->failed |= (uint16_t)(1u << i);
            continue;
        }
        shard_tmp_path(path, sizeof path, w->d.set->disks[i].path, w->d.data_id);
        w->fd[i] = fio_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (w->fd[i] < 0 || lseek(w->fd[i], SHARD_HEADER_SIZE, SEEK_SET) < 0) {
            last_errno = errno;
            drop_shard(w, i);
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
 * never allocates a whole block, which cofferd's malloc would serve by
 * mmap (a map, page faults and an unmap per request). */
#define SEG_BLOCK_START (64u << 10)

static int block_room(seg_writer *w, uint32_t need, cf_err *err)
{
    if (need <= w->block_cap && w->block)
        return 0;
    uint32_t start = SEG_BLOCK_START < w->bsize ? SEG_BLOCK_START : w->bsize;
    uint32_t cap = need <= start ? start : w->bsize;
    uint8_t *b = realloc(w->block, cap);
    if (!b)
        return cf_fail(err, CF_ENOMEM, "out of memory");
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
    for (int i = 0; i < RS_MAX_SHARDS; i++)
        w->fd[i] = -1;
    pthread_mutex_init(&w->io_lock, NULL);
    pthread_cond_init(&w->io_cv, NULL);
    w->cc = crypt_ctx_new(err);
    if (!w->cc || block_room(w, 1, err) < 0) {
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
        if (w->fd[i] >= 0)
            sync_file_range(w->fd[i], 0, 0, SYNC_FILE_RANGE_WRITE);
}

static int append_shards(seg_writer *w, uint8_t *const *shards, uint32_t s,
                         cf_err *err);

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
        int rc = append_shards(w, shards, s, &e);
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
    if (!(w->spare = malloc(stripe_bytes(w))))
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

/* Pad the sealed block in the stripe's data shards, add parity, append. */
static int stripe_out(seg_writer *w, uint32_t n, cf_err *err)
{
    if (!w->files_open && open_shard_files(w, err) < 0)
        return -1;
    int k = rs_k(w->d.rs), m = rs_m(w->d.rs);
    uint32_t s = shard_len_for(n, k);
    memset(w->stripe + n + CRYPT_TAG_LEN, 0, (size_t)s * k - n - CRYPT_TAG_LEN);
    uint8_t *shards[RS_MAX_SHARDS];
    for (int i = 0; i < k + m; i++)
        shards[i] = stripe_shard(w->stripe, s, i);
    if (m > 0)
        rs_encode(w->d.rs, s, shards, shards + k);
    w->blocks_out++;
    return io_submit(w, s, err);
}

/* The stripe is allocated when the first block leaves for the disks, so a
 * segment kept inline never pays for it. */
static int ensure_stripe(seg_writer *w, cf_err *err)
{
    if (!w->stripe && !(w->stripe = malloc(stripe_bytes(w))))
        return cf_fail(err, CF_ENOMEM, "out of memory");
    return 0;
}

/* Seal, encode and append one block to every live shard file. */
static int write_block(seg_writer *w, const uint8_t *pt, uint32_t n, bool last,
                       cf_err *err)
{
    if (ensure_stripe(w, err) < 0)
        return -1;
    crypt_pos pos;
    seg_pos(&w->d, w->blocks_out, last, &pos);
    if (crypt_seal_block(w->cc, w->d.dk, &pos, pt, n, w->stripe, w->stripe + n,
                         err) < 0)
        return -1;
    return stripe_out(w, n, err);
}

/* Append shard i of the current block, with its CRC, to each live file. */
static int append_shards(seg_writer *w, uint8_t *const *shards, uint32_t s,
                         cf_err *err)
{
    int last_errno = 0;
    for (int i = 0; i < seg_shards(&w->d); i++) {
        if (w->fd[i] < 0)
            continue;
        uint8_t crc[SHARD_CRC_LEN];
        uint32_t c = cks_crc32c(0, shards[i], s);
        for (int j = 0; j < 4; j++)
            crc[j] = (uint8_t)(c >> (8 * j));
        struct iovec iov[2] = {{shards[i], s}, {crc, sizeof crc}};
        ssize_t wr = fio_writev(w->fd[i], iov, 2);
        if (wr != (ssize_t)(s + SHARD_CRC_LEN)) {
            last_errno = wr < 0 ? errno : ENOSPC;
            drop_shard(w, i);
        }
    }
    start_writeback(w, s);
    return check_quorum(w, last_errno, err);
}

int segw_write(seg_writer *w, const void *data, size_t len, cf_err *err)
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
        if (block_room(w, w->held + (uint32_t)n, err) < 0)
            return -1;
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

/* Header, fdatasync, close each live temp file. */
static int seal_shard_files(seg_writer *w, cf_err *err)
{
    uint8_t hdr[SHARD_HEADER_SIZE];
    shard_header h = w->d.header;
    h.size = w->size;
    int last_errno = 0;
    for (int i = 0; i < seg_shards(&w->d); i++) {
        if (w->fd[i] < 0)
            continue;
        h.shard_index = (uint8_t)i;
        shard_header_encode(&h, hdr);
        if (w->meta)
            shard_meta_put(hdr, w->meta);
        int rc = fsu_pwrite_all(w->fd[i], hdr, sizeof hdr, 0);
        if (rc == 0 && fio_fdatasync(w->fd[i]) != 0)
            rc = -errno;
        if (rc == 0 && close(w->fd[i]) != 0)
            rc = -errno;
        else if (rc != 0)
            close(w->fd[i]);
        w->fd[i] = -1;
        if (rc != 0) {
            last_errno = -rc;
            drop_shard(w, i);
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
            drop_shard(w, i);
        } else if (fsu_fsync_parent(dst, &e2) < 0) {
            last_errno = EIO;
            unlink(dst);
            w->failed |= (uint16_t)(1u << i);
        }
    }
    return check_quorum(w, last_errno, err);
}

/* After the write phase ended with rc: let the I/O thread finish, then
 * seal and publish the shard files. Returns the first failure. */
static int complete_shard_files(seg_writer *w, int rc, cf_err *err)
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

int segw_finish(seg_writer *w, seg_result *res, cf_err *err)
{
    memset(res, 0, sizeof *res);
    int rc;
    if (w->blocks_out == 0 && w->held <= w->inline_max && w->inline_max > 0) {
        rc = seal_inline(w, res, err);
    } else {
        rc = write_block(w, w->block, w->held, true, err);
        rc = complete_shard_files(w, rc, err);
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
        if (w->fd[i] >= 0)
            drop_shard(w, i);
    crypt_wipe(w->d.dk, sizeof w->d.dk);
    crypt_ctx_free(w->cc);
    free(w->block);
    free(w->stripe);
    free(w->spare);
    free(w->meta);
    free(w);
}

/* ---- reader ------------------------------------------------------------ */

enum { SHARD_UNOPENED = 0, SHARD_OPEN, SHARD_BAD };

struct seg_reader {
    seg_desc d;
    uint64_t size;
    uint8_t *inl;
    size_t inl_len;
    int fd[RS_MAX_SHARDS];
    uint8_t state[RS_MAX_SHARDS];
    uint8_t *stripe;
    bool degraded;
    crypt_ctx *cc;
};

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
        size_t stripe = (size_t)shard_len_for(d->set->block_size, rs_k(d->rs)) *
                        seg_shards(d);
        r->stripe = malloc(stripe);
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
static bool open_shard(seg_reader *r, int i)
{
    if (r->state[i] != SHARD_UNOPENED)
        return r->state[i] == SHARD_OPEN;
    r->state[i] = SHARD_BAD;
    if (!r->d.set->disks[i].online)
        return false;
    char path[PATH_MAX];
    shard_path(path, sizeof path, r->d.set->disks[i].path, r->d.data_id);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    uint8_t hdr[SHARD_HEADER_SIZE];
    shard_header h;
    cf_err e;
    if (fsu_pread_all(fd, hdr, sizeof hdr, 0) != 0 ||
        shard_header_decode(hdr, &h, &e) != 0 ||
        memcmp(h.data_id, r->d.data_id, CRYPT_DATA_ID_LEN) != 0 ||
        h.shard_index != i || h.size != r->size || h.part != r->d.part ||
        h.k != rs_k(r->d.rs) || h.m != rs_m(r->d.rs) ||
        h.block_size != r->d.set->block_size) {
        close(fd);
        return false;
    }
    r->fd[i] = fd;
    r->state[i] = SHARD_OPEN;
    return true;
}

/* Read shard i of the block at off (s bytes) and check its CRC. */
static bool read_shard(seg_reader *r, int i, uint64_t off, uint32_t s)
{
    if (!open_shard(r, i))
        return false;
    uint8_t *dst = stripe_shard(r->stripe, s, i);
    uint8_t crc[SHARD_CRC_LEN];
    struct iovec iov[2] = {{dst, s}, {crc, sizeof crc}};
    ssize_t n = preadv(r->fd[i], iov, 2, (off_t)off);
    if (n != (ssize_t)(s + SHARD_CRC_LEN))
        return false;
    uint32_t want = (uint32_t)crc[0] | (uint32_t)crc[1] << 8 |
                    (uint32_t)crc[2] << 16 | (uint32_t)crc[3] << 24;
    return cks_crc32c(0, dst, s) == want;
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
        present[i] = read_shard(r, i, off, s);
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
                         err) < 0)
        return -1;
    *len = n;
    return 0;
}

bool segr_degraded(const seg_reader *r)
{
    return r->degraded;
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
    free(r->inl);
    free(r->stripe);
    free(r);
}

void seg_unlink(const ds_set *set, const uint8_t data_id[CRYPT_DATA_ID_LEN])
{
    char path[PATH_MAX];
    for (int i = 0; i < set->n; i++) {
        shard_path(path, sizeof path, set->disks[i].path, data_id);
        unlink(path);
        shard_tmp_path(path, sizeof path, set->disks[i].path, data_id);
        unlink(path);
    }
}

/* ---- heal -------------------------------------------------------------- */

/* Shards of a stored segment that are missing or hold any bad block. */
static uint16_t find_bad_shards(seg_reader *r)
{
    int k = rs_k(r->d.rs), total = seg_shards(&r->d);
    uint32_t bs = r->d.set->block_size;
    uint16_t bad = 0;
    for (int i = 0; i < total; i++)
        if (!open_shard(r, i))
            bad |= (uint16_t)(1u << i);
    uint64_t nblocks = shard_block_count(r->size, bs);
    for (uint64_t b = 0; b < nblocks; b++) {
        uint32_t s = shard_len_for(shard_block_plain(r->size, bs, b), k);
        uint64_t off = shard_block_offset(bs, k, b);
        for (int i = 0; i < total; i++)
            if (!(bad & (1u << i)) && !read_shard(r, i, off, s))
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
            fsu_pread_all(r->fd[i], hdr, sizeof hdr, 0) == 0 &&
            shard_meta_get(hdr, &m, &e) == 1) {
            segw_set_meta(w, &m);
            return;
        }
    }
}

/* Rebuild block b from the good shards and append the rebuilt ones. */
static int heal_block(seg_reader *r, seg_writer *w, uint16_t bad, uint64_t b,
                      cf_err *err)
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
        if (good < k && !(bad & (1u << i)))
            good += present[i] = read_shard(r, i, off, s);
    }
    if (good < k)
        return cf_fail(err, CF_EQUORUM, "block %llu: only %d good shards of %d",
                       (unsigned long long)b, good, k);
    if (rs_reconstruct(r->d.rs, s, shards, present, err) < 0)
        return -1;
    return append_shards(w, shards, s, err);
}

int seg_heal(const seg_desc *d, uint64_t size, int *rewritten, cf_err *err)
{
    *rewritten = 0;
    seg_reader *r = segr_new(d, size, NULL, 0, err);
    if (!r)
        return -1;
    uint16_t bad = find_bad_shards(r);
    int total = seg_shards(d), rc = 0;
    uint16_t todo = 0;
    for (int i = 0; i < total; i++)
        if ((bad & (1u << i)) && d->set->disks[i].online)
            todo |= (uint16_t)(1u << i);
    seg_writer *w = todo ? segw_new(d, 0, err) : NULL;
    if (todo && !w)
        rc = -1;
    if (w)
        keep_meta(r, bad, w);
    if (w) {
        w->quorum = 1;
        w->failed = (uint16_t)~todo;
        w->size = size;
        rc = open_shard_files(w, err);
        uint64_t nblocks = shard_block_count(size, d->set->block_size);
        for (uint64_t b = 0; rc == 0 && b < nblocks; b++)
            rc = heal_block(r, w, bad, b, err);
        rc = complete_shard_files(w, rc, err);
        if (rc == 0)
            *rewritten = live_shards(w);
        segw_abort(w);
    }
    segr_free(r);
    if (rc == 0 && bad != todo)
        return cf_fail(err, CF_EIO, "some shards sit on offline disks");
    return rc;
}

/* ---- sealed blocks (cold tier) ---------------------------------------- */

int segr_read_sealed(seg_reader *r, uint64_t b, const uint8_t **sealed, uint32_t *len,
                     cf_err *err)
{
    if (r->inl) {
        if (b != 0 || r->inl_len != r->size + CRYPT_TAG_LEN)
            return cf_fail(err, CF_ECORRUPT, "inline object data has the wrong size");
        *sealed = r->inl;
        *len = (uint32_t)r->inl_len;
        return 0;
    }
    uint32_t bs = r->d.set->block_size;
    int k = rs_k(r->d.rs);
    if (b >= shard_block_count(r->size, bs))
        return cf_fail(err, CF_EINVAL, "block beyond the segment");
    uint32_t n = shard_block_plain(r->size, bs, b);
    bool present[RS_MAX_SHARDS] = {0};
    if (gather_block(r, shard_block_offset(bs, k, b), shard_len_for(n, k), present,
                     err) < 0)
        return -1;
    *sealed = r->stripe;
    *len = n + CRYPT_TAG_LEN;
    return 0;
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
    if (ensure_stripe(w, err) < 0 || block_room(w, n, err) < 0 ||
        src(ctx, w->stripe, (size_t)n + CRYPT_TAG_LEN, err) < 0)
        return -1;
    if (crypt_open_block(w->cc, w->d.dk, &pos, w->stripe, n, w->stripe + n, w->block,
                         err) < 0)
        return -1;
    return stripe_out(w, n, err);
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
    rc = complete_shard_files(w, rc, err);
    segw_abort(w);
    return rc;
}

int seg_open_sealed(const seg_desc *d, const uint8_t *sealed, uint32_t n, uint8_t *out,
                    cf_err *err)
{
    crypt_ctx *cc = crypt_ctx_new(err);
    if (!cc)
        return -1;
    crypt_pos pos;
    seg_pos(d, 0, true, &pos);
    int rc = crypt_open_block(cc, d->dk, &pos, sealed, n, sealed + n, out, err);
    crypt_ctx_free(cc);
    return rc;
}
