/*
 * storage/scrub.c - checking the whole store: st_heal_all (is every shard
 * file there, whole?) and st_scrub (is every byte right?), one walk for
 * both (engine.h).
 *
 * The walk takes object versions in (bucket, key) order and then the parts
 * of unfinished uploads, a batch at a time under the index lock, and
 * checks each without it: registered as a reader first, so that a segment
 * deleted meanwhile keeps its files until the check is done (deleteq.c).
 * For each segment, seg_check (segcheck.c) says which shards are missing
 * or bad and whether a block is lost; bad shards are rewritten by
 * seg_heal from the good ones. A deep scrub also recomputes each object's
 * ETag and stored checksum from its plaintext, as the drill does over HTTP
 * (client/drill.c): MD5 and the checksum of a single PUT, the MD5 of part
 * MD5s and the checksum of part checksums of a multipart object. A
 * multipart object's manifest (manifest.h) is checked on every disk and
 * written again where it is missing or damaged. A version a cold tier
 * holds (TIERED, RESTORING: lifecycle.h) has no local shards to check: it
 * is counted as tiered, not as a problem (heal.c skips it too). Every
 * problem is reported through the caller's callback as it is found; the
 * stats count them.
 */
#include "storage/engine_int.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/checksum.h"
#include "common/fsutil.h"
#include "common/hex.h"
#include "storage/manifest.h"

#define CHECK_BATCH 64

typedef struct check {
    st_engine *e;
    const st_check_opts *o;
    st_check_stats *st;
    seg_check_mode mode;
    int64_t only_bucket;
    uint64_t done, total;
    bool stop;
} check;

static int pace_cb(void *ctx, uint64_t bytes)
{
    check *c = ctx;
    c->st->shard_bytes += bytes;
    const st_pacer *p = c->o->pacer;
    if (p && p->pace && p->pace(p->ctx, bytes) != 0)
        c->stop = true;
    return c->stop;
}

static void progress(check *c)
{
    const st_pacer *p = c->o->pacer;
    if (p && p->progress)
        p->progress(p->ctx, c->done, c->total);
}

/* Where a problem is: the object or upload part being checked. */
typedef struct place {
    const char *tenant, *bucket, *key;
    const char *upload_hex;          /* NULL: an object */
    uint32_t part;
} place;

static void found(check *c, const place *p, int disk, const char *what, bool repaired,
                  bool lost)
{
    if (!c->o->found)
        return;
    st_finding f = {.tenant = p->tenant, .bucket = p->bucket, .key = p->key,
                    .upload_id = p->upload_hex, .part = p->part, .disk = disk,
                    .what = what, .repaired = repaired, .lost = lost};
    c->o->found(c->o->ctx, &f);
}

static bool in_slice(const check *c, const uint8_t id[16])
{
    int n = c->o->slices;
    return n <= 1 || (int)((unsigned)id[0] * (unsigned)n / 256u) == c->o->slice;
}

/* ---- one segment ----------------------------------------------------------- */

typedef struct seg_item {
    uint8_t data_id[16];
    uint32_t part;
    uint64_t size;
    uint8_t wrapped[CRYPT_WRAPPED_LEN];
    uint8_t *inline_data;            /* owned, NULL: sharded */
    size_t inline_len;
} seg_item;

/* Take a repaired segment off the heal queue and mark its shards complete. */
static void healed(st_engine *e, const uint8_t data_id[16])
{
    cf_err err;
    idx_lock(e->ix);
    int rc = heal_done_locked(e, data_id, &err);
    if (rc == 0)
        rc = obj_segment_healed_locked(e, data_id, &err);
    if (rc == 0)
        rc = upload_part_healed_locked(e, data_id, &err);
    eng_unlock_durable(e, rc, &err);
}

static void repair(check *c, const place *p, const seg_desc *d, const seg_item *s,
                   const seg_check_result *r)
{
    uint16_t problems = r->missing | r->bad;
    if (!problems || r->lost || c->o->no_repair)
        return;
    int rewritten = 0;
    cf_err err;
    if (seg_heal(d, s->size, r->bad, &rewritten, &err) < 0) {
        c->st->repair_failures++;
        char what[CF_ERRMSG_MAX + 32];
        snprintf(what, sizeof what, "could not be repaired: %s", err.msg);
        found(c, p, -1, what, false, false);
        return;
    }
    c->st->segments_repaired++;
    c->st->shards_rewritten += (uint64_t)rewritten;
    healed(c->e, s->data_id);
}

/* Check one segment, digesting its plaintext into md5/cks (deep); *lost
 * if it is beyond repair. An SSE-C segment (ssec) cannot be opened without
 * its customer's key: it gets the CRC check at most. */
static int check_segment(check *c, const place *p, const uint8_t object_id[16],
                         const seg_item *s, bool ssec, cks_state *md5, cks_state *cks,
                         bool *lost, cf_err *err)
{
    seg_desc d;
    if (ssec) {
        if (eng_segment_layout(c->e, p->tenant, p->bucket, p->key, object_id, s->part,
                               s->data_id, s->wrapped, &d, err) < 0)
            return -1;
    } else if (eng_segment_desc(c->e, p->tenant, p->bucket, p->key, object_id, s->part,
                              s->data_id, s->wrapped, NULL, &d, err) < 0)
        return -1;
    seg_check_opts so = {.mode = ssec && c->mode == SEG_CHECK_DEEP ? SEG_CHECK_CRC : c->mode,
                         .md5 = ssec ? NULL : md5, .cks = ssec ? NULL : cks,
                         .pace = pace_cb, .ctx = c};
    seg_check_result r;
    int rc = seg_check(&d, s->size, s->inline_data, s->inline_len, &so, &r, err);
    if (rc == 0) {
        c->st->segments++;
        c->st->inline_segments += s->inline_data != NULL;
        c->st->crc_errors += r.crc_errors;
        c->st->gcm_failures += r.gcm_failures;
        c->st->parity_errors += r.parity_errors;
        bool fixable = !r.lost && !c->o->no_repair;
        for (int i = 0; i < d.set->n; i++) {
            if (r.missing & (1u << i)) {
                c->st->shards_missing++;
                found(c, p, i, "shard file missing, foreign or short", fixable, false);
            } else if (r.bad & (1u << i)) {
                c->st->shards_bad++;
                found(c, p, i, r.gcm_failures || r.parity_errors
                                   ? "shard changed behind an intact CRC (GCM tag or parity)"
                                   : "shard block fails its CRC32C", fixable, false);
            }
        }
        if (r.lost) {
            *lost = true;
            found(c, p, -1, s->inline_data ? "inline data fails its GCM tag"
                                           : "a block cannot be rebuilt: too few good shards",
                  false, true);
        }
        repair(c, p, &d, s, &r);
        c->stop |= r.stopped;
    }
    crypt_wipe(d.dk, sizeof d.dk);
    return rc;
}

/* ---- objects --------------------------------------------------------------- */

typedef struct seg_list {
    seg_item *v;
    size_t n, cap;
} seg_list;

static void seg_list_free(seg_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].inline_data);
    free(l->v);
}

static int add_seg(void *ctx, const obj_segment *s, cf_err *err)
{
    seg_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        seg_item *g = realloc(l->v, cap * sizeof *g);
        if (!g)
            return cf_fail(err, CF_ENOMEM, "out of memory");
        l->v = g;
        l->cap = cap;
    }
    seg_item *it = &l->v[l->n];
    memset(it, 0, sizeof *it);
    memcpy(it->data_id, s->data_id, 16);
    memcpy(it->wrapped, s->wrapped, CRYPT_WRAPPED_LEN);
    it->part = s->part;
    it->size = s->size;
    if (s->is_inline) {
        if (!(it->inline_data = malloc(s->inline_len ? s->inline_len : 1)))
            return cf_fail(err, CF_ENOMEM, "out of memory");
        memcpy(it->inline_data, s->inline_data, s->inline_len);
        it->inline_len = s->inline_len;
    }
    l->n++;
    return 0;
}

/* The upload id a multipart object's shards name: from a good manifest,
 * else the first segment's shard header (its file, or its pack record). */
static void upload_of(check *c, const obj_walk_item *it, const seg_list *l, uint8_t uid[16])
{
    memset(uid, 0, 16);
    for (int i = 0; i < c->e->set.n; i++) {
        char path[PATH_MAX];
        cf_err err;
        shard_path(path, sizeof path, c->e->set.disks[i].path, it->version_id);
        json_t *m = c->e->set.disks[i].online ? man_read(path, &err) : NULL;
        const char *u = json_string_value(json_object_get(m, "upload_id"));
        bool ok = u && hex_decode(u, uid, 16, NULL) == 0;
        json_decref(m);
        if (ok)
            return;
    }
    seg_desc d;                      /* where the segment's packed shards are */
    cf_err lerr;
    memset(&d, 0, sizeof d);
    if (l->n > 0) {
        memcpy(d.data_id, l->v[0].data_id, 16);
        if (packidx_locate(c->e, &d, &lerr) < 0)
            memset(d.loc, 0, sizeof d.loc);
    }
    for (int i = 0; l->n > 0 && i < c->e->set.n; i++) {
        char path[PATH_MAX];
        uint8_t hdr[SHARD_HEADER_SIZE];
        shard_header h;
        cf_err err;
        off_t base = 0;
        shard_path(path, sizeof path, c->e->set.disks[i].path, l->v[0].data_id);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && d.loc[i].packed) {
            pack_path(path, sizeof path, c->e->set.disks[i].path, d.loc[i].pack_id);
            fd = open(path, O_RDONLY | O_CLOEXEC);
            base = (off_t)pack_shard_base(d.loc[i].off);
        }
        bool ok = fd >= 0 && fsu_pread_all(fd, hdr, sizeof hdr, base) == 0 &&
                  shard_header_decode(hdr, &h, &err) == 0;
        if (fd >= 0)
            close(fd);
        if (ok) {
            memcpy(uid, h.object_id, 16);
            return;
        }
    }
}

/* A multipart object's manifest on every online disk. */
static void check_manifests(check *c, const place *p, const obj_walk_item *it,
                            const seg_list *l)
{
    char vid_hex[33];
    hex_encode(it->version_id, 16, vid_hex, sizeof vid_hex);
    uint8_t uid[16];
    bool have_uid = false;
    for (int i = 0; i < c->e->set.n; i++) {
        char path[PATH_MAX];
        cf_err err;
        if (!c->e->set.disks[i].online)
            continue;
        shard_path(path, sizeof path, c->e->set.disks[i].path, it->version_id);
        json_t *m = man_read(path, &err);
        const char *v = json_string_value(json_object_get(m, "version_id"));
        bool good = v && strcmp(v, vid_hex) == 0;
        json_decref(m);
        if (good)
            continue;
        c->st->manifests_missing++;
        int copies = 0;
        if (!have_uid) {
            upload_of(c, it, l, uid);
            have_uid = true;
        }
        bool fixed = !c->o->no_repair &&
                     man_write(c->e, it->version_id, uid, i, &copies, &err) == 0;
        c->st->manifests_rewritten += fixed;
        found(c, p, i, "manifest missing or damaged", fixed, false);
    }
}

static void digest_hex(cks_state *s, char out[33])
{
    uint8_t raw[CKS_MAX_RAW];
    cks_final(s, raw);
    hex_encode(raw, 16, out, 33);
}

/* Deep: the ETag and stored checksum recomputed from the plaintext. */
typedef struct digests {
    cks_state *md5, *cks;            /* per segment */
    cks_state *outer_md5, *outer_cks;   /* multipart: over the parts' */
} digests;

static void digests_free(digests *g)
{
    cks_free(g->md5);
    cks_free(g->cks);
    cks_free(g->outer_md5);
    cks_free(g->outer_cks);
}

static int digests_new(digests *g, cks_algo algo, bool multipart, cf_err *err)
{
    memset(g, 0, sizeof *g);
    if (!(g->md5 = cks_new(CKS_MD5, err)) ||
        (algo != CKS_NONE && !(g->cks = cks_new(algo, err))) ||
        (multipart && !(g->outer_md5 = cks_new(CKS_MD5, err))) ||
        (multipart && algo != CKS_NONE && !(g->outer_cks = cks_new(algo, err)))) {
        digests_free(g);
        return -1;
    }
    return 0;
}

/* After a segment of a multipart object: fold its digests into the outer. */
static void fold_part(digests *g)
{
    uint8_t raw[CKS_MAX_RAW];
    cks_final(g->md5, raw);
    cks_update(g->outer_md5, raw, 16);
    cks_reset(g->md5);
    if (g->cks) {
        size_t n = cks_final(g->cks, raw);
        cks_update(g->outer_cks, raw, n);
        cks_reset(g->cks);
    }
}

static void compare_digests(check *c, const place *p, const st_object_info *o, digests *g)
{
    char hex[33], want[64], b64[CKS_MAX_B64 + 8] = "", what[256];
    bool multi = o->nparts > 0;
    digest_hex(multi ? g->outer_md5 : g->md5, hex);
    if (multi)
        snprintf(want, sizeof want, "\"%s-%d\"", hex, o->nparts);
    else
        snprintf(want, sizeof want, "\"%s\"", hex);
    cks_state *cs = multi ? g->outer_cks : g->cks;
    if (cs) {
        uint8_t raw[CKS_MAX_RAW];
        cks_to_base64(raw, cks_final(cs, raw), b64, CKS_MAX_B64);
        if (multi)
            snprintf(b64 + strlen(b64), 8, "-%d", o->nparts);
    }
    if (strcmp(want, o->etag) != 0) {
        snprintf(what, sizeof what, "the data gives ETag %s, the index holds %s", want,
                 o->etag);
    } else if (cs && strcmp(b64, o->checksum_b64) != 0) {
        snprintf(what, sizeof what, "the data gives %s %s, the index holds %s",
                 cks_algo_name(o->checksum_algo), b64, o->checksum_b64);
    } else {
        return;
    }
    c->st->digest_mismatches++;
    found(c, p, -1, what, false, true);
}

static int check_object(check *c, const obj_walk_item *it, cf_err *err)
{
    place p = {.tenant = it->tenant, .bucket = it->bucket, .key = it->info.key};
    seg_list l = {0};
    int slot = get_reader_enter(c->e, err);
    if (slot < 0)
        return -1;
    idx_lock(c->e->ix);
    tiering_remote remote = {0};
    int rc = tiering_remote_locked(c->e, it->version_id, &remote, err);
    if (rc == 0 && !remote.active)
        rc = obj_segments_locked(c->e, it->version_id, 0, -1, add_seg, &l, err);
    idx_unlock(c->e->ix);
    if (rc == 0 && remote.active) {  /* the tier holds it: no local shards */
        c->st->tiered++;
        get_reader_leave(c->e, slot);
        return 0;
    }
    bool deep = c->mode == SEG_CHECK_DEEP && !it->info.ssec, lost = false;
    digests g = {0};
    if (rc == 0 && deep)
        rc = digests_new(&g, it->info.checksum_algo, it->info.nparts > 0, err);
    for (size_t i = 0; rc == 0 && i < l.n && !c->stop; i++) {
        p.part = l.v[i].part;
        rc = check_segment(c, &p, it->version_id, &l.v[i], it->info.ssec,
                           deep ? g.md5 : NULL, deep ? g.cks : NULL, &lost, err);
        if (rc == 0 && deep && it->info.nparts > 0)
            fold_part(&g);
    }
    p.part = 0;
    if (rc == 0 && l.n > 0 && it->info.nparts > 0 && !c->stop)
        check_manifests(c, &p, it, &l);
    if (rc == 0 && deep && l.n > 0 && !lost && !c->stop)
        compare_digests(c, &p, &it->info, &g);
    if (rc == 0 && l.n > 0) {
        c->st->objects++;
        c->st->bytes += it->info.size;
        c->st->lost_objects += lost;
    }
    digests_free(&g);
    seg_list_free(&l);
    get_reader_leave(c->e, slot);
    return rc;
}

static int walk_objects(check *c, cf_err *err)
{
    obj_walk_item *batch = malloc(CHECK_BATCH * sizeof *batch);
    if (!batch)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    int64_t after_bucket = 0;
    char after_key[ST_MAX_KEY + 1] = "";
    int n, rc = 0;
    do {
        idx_lock(c->e->ix);
        n = obj_walk_locked(c->e, c->only_bucket, after_bucket, after_key, batch,
                            CHECK_BATCH, err);
        idx_unlock(c->e->ix);
        for (int i = 0; rc == 0 && i < n && !c->stop; i++) {
            const obj_walk_item *it = &batch[i];
            after_bucket = it->bucket_id;
            snprintf(after_key, sizeof after_key, "%s", it->info.key);
            if ((c->o->tenant && strcmp(c->o->tenant, it->tenant) != 0) ||
                !in_slice(c, it->version_id))
                continue;
            rc = check_object(c, it, err);
            c->done += it->info.size;
            progress(c);
        }
    } while (rc == 0 && n == CHECK_BATCH && !c->stop);
    free(batch);
    return n < 0 ? -1 : rc;
}

/* ---- parts of unfinished uploads -------------------------------------------- */

static int check_part(check *c, upload_walk_item *it, cf_err *err)
{
    char uhex[33];
    hex_encode(it->loc.object_id, 16, uhex, sizeof uhex);
    place p = {.tenant = it->loc.tenant, .bucket = it->loc.bucket, .key = it->loc.key,
               .upload_hex = uhex, .part = it->loc.part};
    seg_item s = {.part = it->loc.part, .size = it->loc.size,
                  .inline_data = it->inline_data, .inline_len = it->inline_len};
    memcpy(s.data_id, it->data_id, 16);
    memcpy(s.wrapped, it->loc.wrapped, CRYPT_WRAPPED_LEN);
    bool deep = c->mode == SEG_CHECK_DEEP && !it->ssec, lost = false;
    digests g = {0};
    int slot = get_reader_enter(c->e, err);
    int rc = slot < 0 ? -1 : deep ? digests_new(&g, it->algo, false, err) : 0;
    if (rc == 0)
        rc = check_segment(c, &p, it->loc.object_id, &s, it->ssec, deep ? g.md5 : NULL,
                           deep ? g.cks : NULL, &lost, err);
    if (rc == 0 && deep && !lost && !c->stop) {
        st_object_info o = {.nparts = 0, .checksum_algo = it->cks[0] ? it->algo : CKS_NONE};
        snprintf(o.etag, sizeof o.etag, "%s", it->etag);
        snprintf(o.checksum_b64, sizeof o.checksum_b64, "%s", it->cks);
        if (!it->cks[0]) {
            cks_free(g.cks);
            g.cks = NULL;
        }
        compare_digests(c, &p, &o, &g);
    }
    if (rc == 0) {
        c->st->uploads_parts++;
        c->st->lost_objects += lost;
    }
    digests_free(&g);
    if (slot >= 0)
        get_reader_leave(c->e, slot);
    return rc;
}

static int walk_parts(check *c, cf_err *err)
{
    upload_walk_item *batch = malloc(CHECK_BATCH * sizeof *batch);
    if (!batch)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    uint8_t after[16] = {0};
    uint32_t after_part = 0;
    int n, rc = 0;
    do {
        idx_lock(c->e->ix);
        n = upload_walk_locked(c->e, c->only_bucket, after, after_part, batch, CHECK_BATCH,
                               err);
        idx_unlock(c->e->ix);
        for (int i = 0; i < n; i++) {
            upload_walk_item *it = &batch[i];
            memcpy(after, it->loc.object_id, 16);
            after_part = it->loc.part;
            if (rc == 0 && !c->stop &&
                (!c->o->tenant || strcmp(c->o->tenant, it->loc.tenant) == 0) &&
                in_slice(c, it->loc.object_id))
                rc = check_part(c, it, err);
            free(it->inline_data);
        }
    } while (rc == 0 && n == CHECK_BATCH && !c->stop);
    free(batch);
    return n < 0 ? -1 : rc;
}

/* ---- entry points ------------------------------------------------------------ */

static int walk(st_engine *e, const st_check_opts *o, st_check_stats *st,
                seg_check_mode mode, cf_err *err)
{
    memset(st, 0, sizeof *st);
    check c = {.e = e, .o = o, .st = st, .mode = mode};
    if (o->bucket) {
        if (!o->tenant)
            return cf_fail(err, CF_EINVAL, "a bucket is named within a tenant");
        idx_lock(e->ix);
        int rc = bucket_id_locked(e, o->tenant, o->bucket, &c.only_bucket, err);
        idx_unlock(e->ix);
        if (rc < 0)
            return -1;
    }
    idx_contents contents;
    if (idx_count(e->ix, &contents, err) < 0)
        return -1;
    c.total = (uint64_t)contents.bytes;
    if (o->slices > 1)
        c.total /= (uint64_t)o->slices;
    progress(&c);
    int rc = walk_objects(&c, err);
    if (rc == 0 && !c.stop)
        rc = walk_parts(&c, err);
    st->stopped = c.stop;
    return rc;
}

int st_heal_all(st_engine *e, const st_check_opts *o, st_check_stats *st, cf_err *err)
{
    int rc = walk(e, o, st, SEG_CHECK_PRESENCE, err);
    if (rc == 0 && !st->stopped && !o->tenant && !o->bucket && !o->no_repair &&
        o->slices <= 1 && st->repair_failures == 0)
        ds_replaced_filled(&e->set);  /* every shard a replacement lacked is written */
    return rc;
}

int st_scrub(st_engine *e, const st_check_opts *o, st_check_stats *st, cf_err *err)
{
    int rc = walk(e, o, st, o->deep ? SEG_CHECK_DEEP : SEG_CHECK_CRC, err);
    bool everything = !o->tenant && !o->bucket && (o->slices <= 1 ||
                                                   o->slice == o->slices - 1);
    if (rc == 0 && !st->stopped && everything) {
        st_gc_opts g = {.grace_s = 3600, .dry_run = true};
        st_gc_stats gs = {0};
        if (st_gc(e, &g, &gs, err) < 0)
            return -1;
        st->orphans = gs.orphans_held;
    }
    return rc;
}
