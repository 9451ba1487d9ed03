/*
 * storage/sealed.c - sealed streams, for the cold tier: an object's blocks
 * exactly as sealed (for each segment, each block's ciphertext and tag),
 * read through an st_get (st_get_sealed_length, st_get_sealed_next), and
 * taken back for the same version (st_sealed_import).
 *
 * A remote tier holding the stream never sees plaintext or keys: the
 * wrapped data keys stay in the index. On import every block is opened
 * with its data key at its position before the segment's shard files are
 * replaced (segment.c: seg_import), so a corrupt or spliced remote copy is
 * refused and the local state is unchanged; an inline segment's sealed
 * bytes are checked and stored back in its row.
 */
#include "storage/engine_int.h"

#include <stdlib.h>
#include <string.h>

uint64_t st_get_sealed_length(const st_get *g)
{
    uint64_t len = 0;
    for (size_t i = 0; i < g->nsegs; i++)
        len += eng_sealed_size(g->e, g->segs[i].size);
    return len;
}

int st_get_sealed_next(st_get *g, const uint8_t **data, size_t *len, cf_err *err)
{
    *len = 0;
    while (g->sealed_seg < g->nsegs) {
        const get_segment *s = &g->segs[g->sealed_seg];
        if (g->sealed_block < shard_block_count(s->size, g->e->set.block_size))
            break;
        g->sealed_seg++;
        g->sealed_block = 0;
    }
    if (g->sealed_seg == g->nsegs)
        return 0;
    uint32_t n;
    if (get_open_reader(g, g->sealed_seg, err) < 0 ||
        segr_read_sealed(g->r, g->sealed_block, data, &n, err) < 0)
        return -1;
    g->block_valid = false;
    g->sealed_block++;
    *len = n;
    return 0;
}

int st_get_sealed_read(st_get *g, uint64_t offset, void *buf, size_t len, size_t *n,
                       cf_err *err)
{
    uint8_t *out = buf;
    uint32_t bs = g->e->set.block_size, sb = bs + CRYPT_TAG_LEN;
    *n = 0;
    size_t i = 0;
    while (len > 0) {
        while (i < g->nsegs && offset >= g->segs[i].sealed_start +
                                             eng_sealed_size(g->e, g->segs[i].size))
            i++;
        if (i == g->nsegs)
            return 0;
        const get_segment *s = &g->segs[i];
        uint64_t rel = offset - s->sealed_start, b = rel / sb;
        const uint8_t *data;
        uint32_t got;
        if (get_open_reader(g, i, err) < 0 ||
            segr_read_sealed(g->r, b, &data, &got, err) < 0)
            return -1;
        g->block_valid = false;
        size_t in = (size_t)(rel - b * sb), take = got - in < len ? got - in : len;
        memcpy(out, data + in, take);
        out += take;
        offset += take;
        len -= take;
        *n += take;
    }
    return 0;
}

/* An inline segment: check the sealed bytes and store them back. */
static int import_inline(st_get *g, get_segment *s, const seg_desc *d, st_source src,
                         void *ctx, cf_err *err)
{
    size_t n = (size_t)s->size + CRYPT_TAG_LEN;
    uint8_t *sealed = malloc(n), *plain = malloc(n);
    int rc = sealed && plain ? src(ctx, sealed, n, err)
                             : cf_fail(err, CF_ENOMEM, "out of memory");
    if (rc == 0)
        rc = seg_open_sealed(d, sealed, (uint32_t)s->size, plain, err);
    if (rc == 0) {
        idx_lock(g->e->ix);
        rc = obj_segment_set_inline_locked(g->e, s->data_id, sealed, n, err);
        rc = eng_unlock_durable(g->e, rc, err);
    }
    free(sealed);
    free(plain);
    return rc;
}

static int import_segment(st_get *g, size_t i, st_source src, void *ctx, cf_err *err)
{
    get_segment *s = &g->segs[i];
    seg_desc d;
    if (eng_segment_desc(g->e, g->tenant, g->bucket, g->key, g->version_id, s->part,
                         s->data_id, s->wrapped, g->has_ssec ? g->ssec_kek : NULL, &d,
                         err) < 0)
        return -1;
    int rc = s->inline_data ? import_inline(g, s, &d, src, ctx, err)
                            : seg_import(&d, s->size, src, ctx, err);
    crypt_wipe(d.dk, sizeof d.dk);
    if (rc == 0 && !s->inline_data) {
        idx_lock(g->e->ix);
        rc = heal_done_locked(g->e, s->data_id, err);
        if (rc == 0)
            rc = obj_segment_healed_locked(g->e, s->data_id, err);
        rc = eng_unlock_durable(g->e, rc, err);
    }
    return rc;
}

int st_sealed_import(st_engine *e, const char *tenant, const char *bucket,
                     const char *key, const char *version_id, st_source src, void *ctx,
                     cf_err *err)
{
    st_get *g;
    if (get_open_id(e, tenant, bucket, key, version_id, &g, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < g->nsegs; i++)
        rc = import_segment(g, i, src, ctx, err);
    st_get_close(g);
    return rc;
}
