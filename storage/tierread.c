/*
 * storage/tierread.c - reading a tiered version's blocks from its remote
 * object, for st_get (object.c).
 *
 * The remote object holds the version's sealed stream after its header,
 * so block b of a segment whose sealed bytes start at S is at remote
 * offset data_offset + S + b * (block_size + 16), plain_len(b) + 16 bytes
 * long. A reader keeps one ranged stream from the tier module's
 * st_remote_ops open: reads that follow one another continue it; a read
 * elsewhere closes it and opens another, from the block needed to the end
 * of the window the GET announced (st_get_range_hint) or, without one, to
 * the end of the stream. So a ranged GET fetches only the blocks it needs,
 * and a whole GET is one remote request whose bytes flow while earlier
 * blocks are decrypted.
 *
 * Every block is opened with its data key at its own position (the nonce
 * and AAD bind data id, part, block index and the last flag), so bytes the
 * remote corrupted, truncated, reordered or took from another object fail
 * the tag: CF_ECORRUPT, never wrong bytes. Memory: one sealed block.
 */
#include "storage/engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tierread {
    st_engine *e;
    tiering_remote r;
    uint64_t sealed_len;
    uint64_t win_from, win_to;       /* the announced window, sealed offsets */
    void *stream;                    /* the open ranged read, or NULL */
    uint64_t pos;                    /* sealed offset its next byte is at */
    uint64_t end;                    /* where it stops */
    uint8_t *buf;                    /* one sealed block */
    crypt_ctx *cc;
};

tierread *tierread_new(st_engine *e, const tiering_remote *r, uint64_t sealed_len,
                             cf_err *err)
{
    tierread *rr = calloc(1, sizeof *rr);
    if (!rr) {
        cf_fail(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    rr->e = e;
    rr->r = *r;
    rr->sealed_len = sealed_len;
    rr->win_to = sealed_len;
    if (!(rr->cc = crypt_ctx_new(err))) {
        free(rr);
        return NULL;
    }
    return rr;
}

void tierread_window(tierread *rr, uint64_t from, uint64_t to)
{
    rr->win_from = from;
    rr->win_to = to < rr->sealed_len ? to : rr->sealed_len;
}

static void close_stream(tierread *rr)
{
    if (rr->stream)
        rr->e->remote->close(rr->stream);
    rr->stream = NULL;
}

/* A stream positioned at sealed offset off with at least need bytes. */
static int position(tierread *rr, uint64_t off, uint64_t need, cf_err *err)
{
    if (rr->stream && rr->pos == off && rr->end >= off + need)
        return 0;
    close_stream(rr);
    const st_remote_ops *ops = rr->e->remote;
    if (!ops)
        return cf_fail(err, CF_EIO, "the object is in a tier and no tier client is running");
    uint64_t end = off >= rr->win_from && off + need <= rr->win_to ? rr->win_to
                                                                    : rr->sealed_len;
    if (off + need > end)
        return cf_fail(err, CF_ECORRUPT, "index: a block lies past the remote object's end");
    if (ops->open(ops->ctx, rr->r.tier_id, rr->r.remote_id, rr->r.data_offset + off,
                  end - off, &rr->stream, err) < 0) {
        rr->stream = NULL;
        return -1;
    }
    rr->pos = off;
    rr->end = end;
    return 0;
}

int tierread_block(tierread *rr, const seg_desc *d, uint64_t seg_size,
                   uint64_t seg_sealed, uint64_t b, uint8_t *out, uint32_t *len,
                   cf_err *err)
{
    uint32_t bs = rr->e->set.block_size;
    uint32_t n = shard_block_plain(seg_size, bs, b);
    uint64_t off = seg_sealed + b * ((uint64_t)bs + CRYPT_TAG_LEN);
    size_t need = (size_t)n + CRYPT_TAG_LEN;
    if (!rr->buf && !(rr->buf = malloc((size_t)bs + CRYPT_TAG_LEN)))
        return cf_fail(err, CF_ENOMEM, "out of memory");
    if (position(rr, off, need, err) < 0)
        return -1;
    if (rr->e->remote->read(rr->stream, rr->buf, need, err) < 0) {
        close_stream(rr);
        return -1;
    }
    rr->pos += need;
    if (seg_open_block(d, rr->cc, seg_size, b, rr->buf, out, len, err) < 0) {
        close_stream(rr);
        return cf_fail(err, CF_ECORRUPT, "block %llu of remote object %s fails its "
                       "authentication tag: the tier returned other bytes than were sent",
                       (unsigned long long)b, rr->r.remote_id);
    }
    return 0;
}

void tierread_free(tierread *rr)
{
    if (!rr)
        return;
    close_stream(rr);
    crypt_ctx_free(rr->cc);
    free(rr->buf);
    free(rr);
}

void st_remote_set(st_engine *e, const st_remote_ops *ops)
{
    e->remote = ops;
}
