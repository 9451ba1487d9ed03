/*
 * storage/get.c - the GET path (st_get_open, st_get_read, st_get_close)
 * and the reader registry.
 *
 * A GET resolves the version and its segments once, at open (one locked
 * section), and then reads them block by block without the index lock,
 * holding one decoded block: a missing or bad shard is rebuilt from parity
 * (segread.c) and the segment queued for heal. Whole-block reads from a
 * block boundary are decrypted straight into the caller's buffer.
 *
 * Readers register before they resolve a version (reader_enter, under
 * readers_lock): the delete queue (deleteq.c) keeps every entry queued
 * after the oldest live reader opened, so a reader never loses the files
 * it is reading, even if the object is overwritten or deleted meanwhile.
 *
 * An SSE-C object is opened only with its customer key, checked at open
 * against the version's record; the key derived from it (which unwraps
 * the segments' data keys) lives in the handle until close.
 */
#include "storage/engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bigbuf.h"

/* ---- the reader registry ------------------------------------------------ */

int get_reader_enter(st_engine *e, cf_err *err)
{
    int slot = -1;
    pthread_mutex_lock(&e->readers_lock);
    for (int i = 0; i < ENG_MAX_READERS && slot < 0; i++)
        if (e->reader_open_ms[i] == 0) {
            e->reader_open_ms[i] = eng_now_ms();
            slot = i;
        }
    pthread_mutex_unlock(&e->readers_lock);
    if (slot < 0)
        cf_fail(err, CF_ENOMEM, "too many objects open for reading");
    return slot;
}

void get_reader_leave(st_engine *e, int slot)
{
    pthread_mutex_lock(&e->readers_lock);
    e->reader_open_ms[slot] = 0;
    pthread_mutex_unlock(&e->readers_lock);
}

int64_t get_oldest_reader_ms(st_engine *e)
{
    int64_t oldest = INT64_MAX;
    pthread_mutex_lock(&e->readers_lock);
    for (int i = 0; i < ENG_MAX_READERS; i++)
        if (e->reader_open_ms[i] && e->reader_open_ms[i] < oldest)
            oldest = e->reader_open_ms[i];
    pthread_mutex_unlock(&e->readers_lock);
    return oldest;
}

/* ---- open, read, close -------------------------------------------------- */

/* Append one segment row to g's list (obj_segments_locked's callback). */
static int add_segment(void *ctx, const obj_segment *row, cf_err *err)
{
    st_get *g = ctx;
    if (g->nsegs == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 4;
        get_segment *n = realloc(g->segs, cap * sizeof *n);
        if (!n)
            return cf_fail(err, CF_ENOMEM, "out of memory");
        g->segs = n;
        g->cap = cap;
    }
    get_segment *s = &g->segs[g->nsegs];
    memset(s, 0, sizeof *s);
    s->start = g->nsegs ? g->segs[g->nsegs - 1].start + g->segs[g->nsegs - 1].size : 0;
    s->sealed_start = g->nsegs ? g->segs[g->nsegs - 1].sealed_start +
                                     eng_sealed_size(g->e, g->segs[g->nsegs - 1].size)
                               : 0;
    s->size = row->size;
    s->part = row->part;
    memcpy(s->data_id, row->data_id, 16);
    memcpy(s->wrapped, row->wrapped, CRYPT_WRAPPED_LEN);
    snprintf(s->cks, sizeof s->cks, "%s", row->cks);
    g->nsegs++;
    if (row->is_inline) {
        s->inline_len = row->inline_len;
        s->inline_data = malloc(s->inline_len ? s->inline_len : 1);
        if (!s->inline_data)
            return cf_fail(err, CF_ENOMEM, "out of memory");
        memcpy(s->inline_data, row->inline_data, s->inline_len);
    }
    return 0;
}

static int load_segments_locked(st_get *g, cf_err *err)
{
    idx_assert_held(g->e->ix);
    int rc = obj_segments_locked(g->e, g->version_id, 0, -1, add_segment, g, err);
    uint64_t end = g->nsegs ? g->segs[g->nsegs - 1].start + g->segs[g->nsegs - 1].size : 0;
    if (rc == 0 && end != g->size)
        rc = cf_fail(err, CF_ECORRUPT, "index: segments add up to %llu bytes, the "
                     "object has %llu", (unsigned long long)end,
                     (unsigned long long)g->size);
    if (rc == 0 && g->nsegs == 0)
        rc = cf_fail(err, CF_ECORRUPT, "index: object has no segments");
    return rc;
}

static int get_resolve(st_get *g, const char *version, const uint8_t *ssec_key,
                       st_object_info *info, cf_err *err)
{
    st_engine *e = g->e;
    int64_t bid;
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, g->tenant, g->bucket, &bid, err);
    uint8_t ssec[CRYPT_SSEC_LEN];
    if (rc == 0)
        rc = obj_resolve_locked(e, bid, g->key, version, info, g->version_id, ssec, err);
    if (rc == 0)
        rc = eng_ssec_kek(e, g->tenant, info->ssec ? ssec : NULL, ssec_key, g->ssec_kek,
                          &g->has_ssec, err);
    g->size = info->size;
    if (rc == 0)
        rc = load_segments_locked(g, err);
    tiering_remote remote = {0};
    if (rc == 0)
        rc = tiering_object_attrs_locked(e, g->version_id, true, info, err);
    if (rc == 0)
        rc = tiering_remote_locked(e, g->version_id, &remote, err);
    idx_unlock(e->ix);
    if (rc == 0 && remote.active) {
        const get_segment *last = &g->segs[g->nsegs - 1];
        g->rr = tierread_new(e, &remote, last->sealed_start + eng_sealed_size(e, last->size),
                             err);
        if (!g->rr)
            rc = -1;
    }
    return rc;
}

int st_get_open_ssec(st_engine *e, const char *tenant, const char *bucket,
                     const char *key, const char *version, const uint8_t *ssec_key,
                     st_object_info *info, st_get **out, cf_err *err)
{
    memset(info, 0, sizeof *info);
    st_get *g = calloc(1, sizeof *g);
    if (!g)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    g->e = e;
    snprintf(g->tenant, sizeof g->tenant, "%s", tenant);
    snprintf(g->bucket, sizeof g->bucket, "%s", bucket);
    snprintf(g->key, sizeof g->key, "%s", key);
    g->reader_slot = get_reader_enter(e, err);
    int rc = g->reader_slot < 0 ? -1 : get_resolve(g, version, ssec_key, info, err);
    if (rc < 0) {
        st_object_info_clear(info);   /* a marker's fields stay: no headers */
        st_get_close(g);
        return -1;
    }
    *out = g;
    return 0;
}

int st_get_open(st_engine *e, const char *tenant, const char *bucket, const char *key,
                st_object_info *info, st_get **out, cf_err *err)
{
    return st_get_open_ssec(e, tenant, bucket, key, NULL, NULL, info, out, err);
}

int st_get_open_version(st_engine *e, const char *tenant, const char *bucket,
                        const char *key, const char *version, st_object_info *info,
                        st_get **out, cf_err *err)
{
    return st_get_open_ssec(e, tenant, bucket, key, version, NULL, info, out, err);
}

int st_get_part(const st_get *g, uint32_t n, st_object_part *out, cf_err *err)
{
    if (n < 1 || n > g->nsegs)
        return cf_fail(err, CF_ERANGE, "the object has %zu part%s", g->nsegs,
                       g->nsegs == 1 ? "" : "s");
    const get_segment *s = &g->segs[n - 1];
    memset(out, 0, sizeof *out);
    out->number = n;
    out->offset = s->start;
    out->size = s->size;
    snprintf(out->checksum_b64, sizeof out->checksum_b64, "%s", s->cks);
    return 0;
}

/* The segment holding offset (binary search over start offsets). */
static size_t find_segment(const st_get *g, uint64_t offset)
{
    size_t lo = 0, hi = g->nsegs - 1;
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;
        if (g->segs[mid].start <= offset)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* A read of the open segment needed parity: queue it for heal, once, and
 * again when it found another shard changed behind its CRC (heal is told
 * which: it cannot find those by CRC). */
static void queue_heal(st_get *g)
{
    uint16_t named = segr_behind_crc(g->r);
    if (segr_degraded(g->r) && (!g->heal_queued || named != g->heal_named)) {
        heal_queue(g->e, g->segs[g->open_seg].data_id, named);
        g->heal_queued = true;
        g->heal_named = named;
    }
}

void get_close_reader(st_get *g)
{
    if (!g->r)
        return;
    queue_heal(g);
    segr_free(g->r);
    g->r = NULL;
}

int get_open_id(st_engine *e, const char *tenant, const char *bucket, const char *key,
                const char *version_id, st_get **out, cf_err *err)
{
    st_object_info info;
    if (st_get_open_version(e, tenant, bucket, key, version_id, &info, out, err) < 0)
        return err->code == CF_ENOVERSION || err->code == CF_EMARKER
                   ? cf_fail(err, CF_ENOKEY, "the object has no version %s now", version_id)
                   : -1;
    st_object_info_clear(&info);
    return 0;
}

int get_open_reader(st_get *g, size_t i, cf_err *err)
{
    if (g->r && g->open_seg == i)
        return 0;
    get_close_reader(g);
    get_segment *s = &g->segs[i];
    seg_desc d;
    if (eng_segment_desc(g->e, g->tenant, g->bucket, g->key, g->version_id, s->part,
                         s->data_id, s->wrapped, g->has_ssec ? g->ssec_kek : NULL, &d,
                         err) < 0)
        return -1;
    g->r = segr_new(&d, s->size, s->inline_data, s->inline_len, err);
    crypt_wipe(d.dk, sizeof d.dk);
    g->open_seg = i;
    g->heal_queued = false;
    g->heal_named = 0;
    return g->r ? 0 : -1;
}

/* Block b of tiered segment i, from the remote. */
static int remote_block(st_get *g, size_t i, uint64_t b, uint8_t *dst, uint32_t *len,
                        cf_err *err)
{
    get_segment *s = &g->segs[i];
    if (!g->rr_desc_valid || g->rr_seg != i) {
        crypt_wipe(&g->rr_desc, sizeof g->rr_desc);
        g->rr_desc_valid = false;
        if (eng_segment_desc(g->e, g->tenant, g->bucket, g->key, g->version_id, s->part,
                             s->data_id, s->wrapped, g->has_ssec ? g->ssec_kek : NULL,
                             &g->rr_desc, err) < 0)
            return -1;
        g->rr_seg = i;
        g->rr_desc_valid = true;
    }
    return tierread_block(g->rr, &g->rr_desc, s->size, s->sealed_start, b, dst, len, err);
}

/* Decode block b of segment i into dst (room for the block's bytes);
 * a read that needed parity queues the segment for heal. */
static int decode_block(st_get *g, size_t i, uint64_t b, uint8_t *dst,
                        uint32_t *len, cf_err *err)
{
    if (g->rr && !g->segs[i].inline_data)
        return remote_block(g, i, b, dst, len, err);
    if (get_open_reader(g, i, err) < 0 || segr_read_block(g->r, b, dst, len, err) < 0)
        return -1;
    queue_heal(g);
    return 0;
}

/* Decode the block holding offset into g->block (if not there already). */
static int load_block(st_get *g, uint64_t offset, cf_err *err)
{
    size_t i = find_segment(g, offset);
    uint64_t b = (offset - g->segs[i].start) / g->e->set.block_size;
    if (g->block_valid && g->block_seg == i && g->block_index == b)
        return 0;
    g->block_valid = false;
    /* allocated on first use: whole-block reads (read_direct), which is
     * every read of a small object, never need it; recycled (common/bigbuf),
     * so that range GETs do not fault in a fresh block each */
    if (!g->block && !(g->block = bigbuf_alloc(g->e->set.block_size)))
        return cf_fail(err, CF_ENOMEM, "out of memory");
    if (decode_block(g, i, b, g->block, &g->block_len, err) < 0)
        return -1;
    g->block_seg = i;
    g->block_index = b;
    g->block_valid = true;
    return 0;
}

/* Copy what the caller wants of the block holding offset out of g->block. */
static int read_copy(st_get *g, uint64_t offset, uint8_t *out, size_t len,
                     size_t *took, cf_err *err)
{
    if (load_block(g, offset, err) < 0)
        return -1;
    const get_segment *s = &g->segs[g->block_seg];
    uint64_t block_start = s->start + g->block_index * g->e->set.block_size;
    size_t in_block = (size_t)(offset - block_start);
    *took = g->block_len - in_block;
    if (*took > len)
        *took = len;
    memcpy(out, g->block + in_block, *took);
    return 0;
}

/* A read from the start of a block that wants at least the whole block is
 * decrypted straight into the caller's buffer: one copy of every byte
 * fewer (about 7% of a GET's CPU). *took is 0 if the read does not
 * qualify. */
static int read_direct(st_get *g, uint64_t offset, uint8_t *out, size_t len,
                       size_t *took, cf_err *err)
{
    size_t i = find_segment(g, offset);
    const get_segment *s = &g->segs[i];
    uint32_t bs = g->e->set.block_size, n;
    uint64_t rel = offset - s->start, b = rel / bs;
    *took = 0;
    if (rel % bs != 0 || len < shard_block_plain(s->size, bs, b))
        return 0;
    if (decode_block(g, i, b, out, &n, err) < 0)
        return -1;
    *took = n;
    return 0;
}

int st_get_read(st_get *g, uint64_t offset, void *buf, size_t len, size_t *n,
                cf_err *err)
{
    uint8_t *out = buf;
    *n = 0;
    while (len > 0 && offset < g->size) {
        size_t took;
        if (read_direct(g, offset, out, len, &took, err) < 0 ||
            (took == 0 && read_copy(g, offset, out, len, &took, err) < 0))
            return -1;
        out += took;
        offset += took;
        len -= took;
        *n += took;
    }
    return 0;
}

void st_get_range_hint(st_get *g, uint64_t offset, uint64_t length)
{
    if (!g->rr || length == 0 || offset >= g->size)
        return;
    uint32_t bs = g->e->set.block_size;
    uint64_t last = offset + length - 1 < g->size ? offset + length - 1 : g->size - 1;
    const get_segment *a = &g->segs[find_segment(g, offset)];
    const get_segment *z = &g->segs[find_segment(g, last)];
    uint64_t from = a->sealed_start + (offset - a->start) / bs * ((uint64_t)bs + CRYPT_TAG_LEN);
    uint64_t zb = (last - z->start) / bs;
    uint64_t to = z->sealed_start + zb * ((uint64_t)bs + CRYPT_TAG_LEN) +
                  shard_block_plain(z->size, bs, zb) + CRYPT_TAG_LEN;
    tierread_window(g->rr, from, to);
}

void st_get_close(st_get *g)
{
    if (!g)
        return;
    tierread_free(g->rr);
    crypt_wipe(&g->rr_desc, sizeof g->rr_desc);
    get_close_reader(g);
    for (size_t i = 0; i < g->nsegs; i++)
        free(g->segs[i].inline_data);
    free(g->segs);
    bigbuf_free(g->block, g->e->set.block_size);
    crypt_wipe(g->ssec_kek, sizeof g->ssec_kek);
    if (g->reader_slot >= 0)
        get_reader_leave(g->e, g->reader_slot);
    free(g);
}
