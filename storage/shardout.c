/*
 * storage/shardout.c - a shard file's byte stream, O_DIRECT through an
 * aligned staging buffer, or buffered (see shardout.h).
 *
 * In direct mode stage[0] always sits at an aligned file offset (at): it
 * starts at SHARD_HEADER_SIZE (4096) and moves on by whole stages. An
 * append copies into the stage and writes it out each time it is full;
 * the copy is the one the page cache made before, without the page
 * cache's bookkeeping and write-back. The staging buffer is a recycled
 * big buffer (common/bigbuf.h), allocated at open.
 */
#include "storage/shardout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/bigbuf.h"
#include "common/fio.h"
#include "common/fsutil.h"

_Static_assert(SHARD_HEADER_SIZE % SHARDOUT_ALIGN == 0, "blocks start aligned");
_Static_assert(SHARDOUT_STAGE % SHARDOUT_ALIGN == 0, "whole stages stay aligned");

static void say_buffered(const char *path)
{
    static atomic_bool said;
    if (!atomic_exchange(&said, true))
        fprintf(stderr, "coffer: %s: O_DIRECT refused by the file system: shard files "
                "are written through the page cache\n", path);
}

/* Turn O_DIRECT off on the descriptor (the staging goes on, buffered). */
static int go_buffered(shard_out *o)
{
    int fl = fcntl(o->fd, F_GETFL);
    if (fl < 0 || fcntl(o->fd, F_SETFL, fl & ~O_DIRECT) < 0)
        return -1;
    o->direct = false;
    return 0;
}

int shardout_open(shard_out *o, const char *path, bool want_direct)
{
    const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
    memset(o, 0, sizeof *o);
    o->at = SHARD_HEADER_SIZE;
    o->fd = -1;
    if (want_direct && (o->stage = bigbuf_alloc(SHARDOUT_STAGE))) {
        o->fd = fio_open(path, flags | O_DIRECT, 0600);
        o->direct = o->fd >= 0;
        if (o->fd < 0 && errno != EINVAL)
            goto fail;
        if (o->fd < 0) {
            say_buffered(path);
            bigbuf_free(o->stage, SHARDOUT_STAGE);
            o->stage = NULL;
        }
    }
    if (o->fd < 0 && (o->fd = fio_open(path, flags, 0600)) < 0)
        goto fail;
    if (!o->stage && lseek(o->fd, SHARD_HEADER_SIZE, SEEK_SET) < 0)
        goto fail;
    return 0;
fail:;
    int e = errno;
    shardout_close(o);
    errno = e;
    return -1;
}

/* Write the staged bytes at o->at (with O_DIRECT a whole stage, or the
 * last piece once it is off); a file system that refuses the O_DIRECT
 * write (EINVAL) gets it, and the rest of the file, buffered. */
static int put_stage(shard_out *o)
{
    ssize_t wr = fio_pwrite(o->fd, o->stage, o->fill, (off_t)o->at);
    if (wr < 0 && errno == EINVAL && o->direct) {
        say_buffered("a shard file");
        if (go_buffered(o) < 0)
            return -1;
        wr = fio_pwrite(o->fd, o->stage, o->fill, (off_t)o->at);
    }
    if (wr != (ssize_t)o->fill) {
        if (wr >= 0)
            errno = ENOSPC;
        return -1;
    }
    o->at += o->fill;
    o->fill = 0;
    return 0;
}

int shardout_append(shard_out *o, const struct iovec *iov, int n)
{
    if (!o->stage) {                 /* buffered: as without direct mode */
        size_t len = 0;
        for (int i = 0; i < n; i++)
            len += iov[i].iov_len;
        ssize_t wr = fio_writev(o->fd, iov, n);
        if (wr == (ssize_t)len)
            return 0;
        if (wr >= 0)
            errno = ENOSPC;
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t left = iov[i].iov_len;
        while (left > 0) {
            size_t room = SHARDOUT_STAGE - o->fill, c = left < room ? left : room;
            memcpy(o->stage + o->fill, p, c);
            o->fill += c;
            p += c;
            left -= c;
            if (o->fill == SHARDOUT_STAGE && put_stage(o) < 0)
                return -1;
        }
    }
    return 0;
}

int shardout_finish(shard_out *o, const uint8_t hdr[SHARD_HEADER_SIZE])
{
    if (o->direct && go_buffered(o) < 0)
        return -1;
    if (o->stage && o->fill > 0 && put_stage(o) < 0)
        return -1;
    int rc = fsu_pwrite_all(o->fd, hdr, SHARD_HEADER_SIZE, 0);
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return 0;
}

int shardout_close(shard_out *o)
{
    int rc = 0;
    if (o->fd >= 0)
        rc = close(o->fd);
    o->fd = -1;
    bigbuf_free(o->stage, SHARDOUT_STAGE);
    o->stage = NULL;
    o->direct = false;
    return rc;
}
