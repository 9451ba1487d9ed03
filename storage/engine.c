/*
 * storage/engine.c - the engine object: opening and closing it, its
 * layout and index counters, and what every other engine file derives
 * from it (clocks, version and upload ids in hex, segment descriptors).
 *
 * Opening reads before it writes: the disk set (ds.c: ds_open), then
 * whether meta_dir holds the disks' own index (identity.c: a start may
 * create an index only with a fresh set), then the master key (generated
 * only for a fresh set) against the index's stored HMAC check value, so a
 * wrong key is refused up front and never turns into garbage reads. Only
 * then are format files written (ds_format), the index opened and its
 * identity recorded (a new set, or a set formatted by coffer 0.1.0 that
 * gets its lineage now).
 *
 * The engine's state is shared by every request thread; each part has its
 * own lock (engine_int.h says which), and nothing here takes the index
 * lock but what it calls.
 */
#include "storage/engine_int.h"

#include <errno.h>
#include <stdarg.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/hex.h"
#include "storage/catalog.h"
#include "storage/identity.h"

void eng_say(st_say_cb cb, void *ctx, const char *fmt, ...)
{
    char line[2 * PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (cb)
        cb(ctx, line);
}

int64_t eng_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t eng_file_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void eng_id_to_hex(const uint8_t id[16], char out[ST_ID_HEX])
{
    hex_encode(id, 16, out, ST_ID_HEX);
}

int eng_id_from_hex(const char *hex, uint8_t id[16])
{
    return hex && hex_decode(hex, id, 16, NULL) == 0 ? 0 : -1;
}

/* ---- open / close ------------------------------------------------------ */

int eng_load_master(const st_config *cfg, const ds_set *set, bool create,
                    uint8_t key[CRYPT_KEY_LEN], cf_err *err)
{
    if (cfg->master_key_hex)
        return crypt_master_from_hex(cfg->master_key_hex, key, err);
    if (!cfg->master_key_file)
        return cf_fail(err, CF_ECONFIG, "no master key configured");
    if (access(cfg->master_key_file, F_OK) != 0 && errno == ENOENT) {
        char sid[33];
        hex_encode(set->set_id, DS_SET_ID_LEN, sid, sizeof sid);
        if (!set->fresh)
            return cf_fail(err, CF_ECRYPTO,
                           "refusing to start: the master key file %s is missing, but "
                           "the disks hold coffer set %.8s; put the backed-up key back "
                           "(a new key could never read this data, so none is made)",
                           cfg->master_key_file, sid);
        if (create)
            return crypt_master_generate(cfg->master_key_file, key, err);
    }
    return crypt_master_load(cfg->master_key_file, key, err);
}

static int check_master(const st_engine *e, const idx_ident *ix, cf_err *err)
{
    uint8_t want[32];
    crypt_master_check(e->master, want);
    if (ix->has_master_check && CRYPTO_memcmp(ix->master_check, want, sizeof want) != 0)
        return cf_fail(err, CF_ECRYPTO,
                       "the master key does not match the one this data was written "
                       "with; refusing to start");
    return 0;
}

/* The lineage the disks get: the index's when the disks (from coffer
 * 0.1.0) record none, a new one when neither does. */
static int adopt_lineage(st_engine *e, const ident_state *s, cf_err *err)
{
    if (e->set.has_lineage)
        return 0;
    if (s->index.has_lineage)
        memcpy(e->set.lineage, s->index.lineage, DS_LINEAGE_LEN);
    else if (crypt_random(e->set.lineage, DS_LINEAGE_LEN, err) < 0)
        return -1;
    e->set.has_lineage = true;
    return 0;
}

/* Record what the index does not know yet (all of it for a new set; the
 * lineage and creation time for an index of coffer 0.1.0). */
static int record_identity(st_engine *e, const idx_ident *ix, cf_err *err)
{
    idx_ident w = {0};
    if (!ix->has_set) {
        w.has_set = true;
        memcpy(w.set_id, e->set.set_id, DS_SET_ID_LEN);
    }
    if (!ix->has_lineage) {
        w.has_lineage = true;
        memcpy(w.lineage, e->set.lineage, DS_LINEAGE_LEN);
    }
    if (!ix->has_master_check) {
        w.has_master_check = true;
        crypt_master_check(e->master, w.master_check);
    }
    if (ix->created_ms > 0)
        e->created_ms = ix->created_ms;
    else
        e->created_ms = w.created_ms = eng_file_clock_ms();
    if (!w.has_set && !w.has_lineage && !w.has_master_check && w.created_ms == 0)
        return 0;
    return idx_ident_write(e->ix, &w, err);
}

static void apply_limits(st_engine *e, const st_config *cfg)
{
    e->inline_max = cfg->no_inline ? 0
                  : cfg->inline_max ? cfg->inline_max : ENG_DEFAULT_INLINE_MAX;
    e->pack_max = cfg->pack_shard_max;
    e->compact_ratio = cfg->pack_compact_dead_ratio > 0 ? cfg->pack_compact_dead_ratio
                                                        : ST_COMPACT_DEFAULT_DEAD_RATIO;
    e->gc_max_orphans = cfg->gc_max_orphans > 0 ? cfg->gc_max_orphans
                                                : ST_GC_DEFAULT_MAX_ORPHANS;
    e->gc_max_orphan_percent = cfg->gc_max_orphan_percent > 0 &&
                               cfg->gc_max_orphan_percent <= 100
                             ? cfg->gc_max_orphan_percent
                             : ST_GC_DEFAULT_MAX_ORPHAN_PERCENT;
    e->snap_keep = cfg->snapshot_keep > 0 ? cfg->snapshot_keep : SNAP_DEFAULT_KEEP;
    e->snap_days = cfg->snapshot_days > 0 ? cfg->snapshot_days : SNAP_DEFAULT_DAYS;
}

int st_open(const st_config *cfg, st_engine **out, cf_err *err)
{
    st_engine *e = calloc(1, sizeof *e);
    if (!e)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    pthread_mutex_init(&e->readers_lock, NULL);
    pthread_mutex_init(&e->kek_lock, NULL);
    pthread_mutex_init(&e->key_lock, NULL);
    pthread_mutex_init(&e->gc_lock, NULL);
    pthread_mutex_init(&e->gc_last_lock, NULL);
    pthread_mutex_init(&e->snap_lock, NULL);
    pthread_mutex_init(&e->cat_lock, NULL);
    pthread_mutex_init(&e->drain_lock, NULL);
    pthread_mutex_init(&e->compact_lock, NULL);
    atomic_init(&e->deletes_pending, true);
    apply_limits(e, cfg);
    ident_state s;
    memset(&s, 0, sizeof s);
    bool assessed = false;
    int rc = cfg->meta_dir ? 0 : cf_fail(err, CF_ECONFIG, "no metadata directory configured");
    if (rc == 0)
        rc = ds_open(&e->set, cfg->disks, cfg->ndisks, cfg->k, cfg->m,
                     cfg->block_size, err);
    e->set.direct_io = !cfg->buffered_io;
    /* nothing is written before this point decides that it may be */
    if (rc == 0 && (rc = ident_assess(&e->set, cfg->meta_dir, &s, err)) == 0) {
        assessed = true;
        if (!ident_opens(s.verdict))
            rc = ident_refuse(&e->set, &s, err);
    }
    if (rc == 0)
        rc = eng_load_master(cfg, &e->set, cfg->create_master_key, e->master, err);
    if (rc == 0)
        rc = check_master(e, &s.index, err);
    if (rc == 0)
        rc = crypt_derive_secrets_key(e->master, e->secrets_key, err);
    if (rc == 0)
        rc = adopt_lineage(e, &s, err);
    if (rc == 0)
        rc = ds_format(&e->set, err);
    if (rc == 0 && !(e->rs = rs_new(e->set.k, e->set.m, err)))
        rc = -1;
    if (rc == 0) {
        const char *paths[RS_MAX_SHARDS];
        for (int i = 0; i < e->set.n; i++)
            paths[i] = e->set.disks[i].path;
        pack_set_init(&e->packs, e->set.n, paths, 0);
        e->packs_ready = true;
    }
    if (rc == 0 && (rc = fsu_mkdir_p(cfg->meta_dir, err)) == 0)
        rc = idx_open(cfg->meta_dir, &e->ix, err);
    if (rc == 0)
        rc = record_identity(e, &s.index, err);
    if (rc == 0 && !(e->jrn = jrn_open(&e->set, idx_commit_number(e->ix), err)))
        rc = -1;
    if (rc == 0)
        idx_set_sync_hook(e->ix, jrn_sync, e->jrn);
    if (rc == 0)
        rc = snap_resume(e, &s, err);
    if (rc == 0)
        eng_catalog_changed(e);      /* every disk holds the current catalog */
    if (assessed)
        ident_free(&s);
    if (rc < 0) {
        st_close(e);
        return -1;
    }
    e->opened = true;
    *out = e;
    return 0;
}

void st_close(st_engine *e)
{
    if (!e)
        return;
    if (e->opened)
        snap_mark_clean(e);
    idx_close(e->ix);
    jrn_close(e->jrn);
    for (size_t i = 0; i < e->n_touched; i++)
        free(e->touched[i].key);
    free(e->touched);
    for (size_t i = 0; i < e->n_touched_remote; i++)
        free(e->touched_remote[i]);
    free(e->touched_remote);
    rs_free(e->rs);
    if (e->packs_ready)
        pack_set_close(&e->packs);
    ds_close(&e->set);
    crypt_wipe(e->master, sizeof e->master);
    kek_wipe(e);
    key_cache_wipe(e);
    crypt_wipe(e->secrets_key, sizeof e->secrets_key);
    pthread_mutex_destroy(&e->readers_lock);
    pthread_mutex_destroy(&e->kek_lock);
    pthread_mutex_destroy(&e->key_lock);
    pthread_mutex_destroy(&e->gc_lock);
    pthread_mutex_destroy(&e->gc_last_lock);
    pthread_mutex_destroy(&e->snap_lock);
    pthread_mutex_destroy(&e->cat_lock);
    pthread_mutex_destroy(&e->drain_lock);
    pthread_mutex_destroy(&e->compact_lock);
    free(e);
}

uint64_t eng_sealed_size(const st_engine *e, uint64_t size)
{
    return size + CRYPT_TAG_LEN * shard_block_count(size, e->set.block_size);
}

void st_layout(const st_engine *e, int *k, int *m, uint32_t *block_size)
{
    *k = e->set.k;
    *m = e->set.m;
    *block_size = e->set.block_size;
}

unsigned st_direct_files(st_engine *e)
{
    return atomic_load(&e->set.direct_files);
}

void st_index_stats_get(st_engine *e, st_index_stats *out)
{
    _Static_assert(ST_SYNC_NBOUNDS == IDX_SYNC_NBOUNDS, "one set of sync buckets");
    idx_stats s;
    idx_get_stats(e->ix, &s);
    out->commits = s.commits;
    out->wal_syncs = s.wal_syncs;
    out->wal_sync_seconds = s.wal_sync_seconds;
    memcpy(out->wal_sync_buckets, s.wal_sync_buckets, sizeof out->wal_sync_buckets);
    out->wal_failed = s.wal_failed;
    out->commit_number = idx_commit_number(e->ix);
    out->created_ms = e->created_ms;
    hex_encode(e->set.lineage, DS_LINEAGE_LEN, out->lineage, sizeof out->lineage);
    hex_encode(e->set.set_id, DS_SET_ID_LEN, out->set_id, sizeof out->set_id);
}

const double *st_sync_bounds(void)
{
    static const double bounds[IDX_SYNC_NBOUNDS] = IDX_SYNC_BOUNDS;
    return bounds;
}

/* ---- segment descriptors ---------------------------------------------- */

int eng_segment_layout(st_engine *e, const char *tenant, const char *bucket,
                       const char *key, const uint8_t object_id[16], uint32_t part,
                       const uint8_t data_id[CRYPT_DATA_ID_LEN],
                       const uint8_t wrapped[CRYPT_WRAPPED_LEN], seg_desc *d, cf_err *err)
{
    memset(d, 0, sizeof *d);
    d->set = &e->set;
    d->rs = e->rs;
    d->packs = e->pack_max ? &e->packs : NULL;
    d->pack_max = e->pack_max;
    d->part = part;
    memcpy(d->data_id, data_id, CRYPT_DATA_ID_LEN);
    shard_header *h = &d->header;
    memcpy(h->set_id, e->set.set_id, sizeof h->set_id);
    memcpy(h->data_id, data_id, CRYPT_DATA_ID_LEN);
    memcpy(h->object_id, object_id, 16);
    h->block_size = e->set.block_size;
    h->part = part;
    h->k = (uint8_t)e->set.k;
    h->m = (uint8_t)e->set.m;
    snprintf(h->tenant, sizeof h->tenant, "%s", tenant);
    snprintf(h->bucket, sizeof h->bucket, "%s", bucket);
    snprintf(h->key, sizeof h->key, "%s", key);
    if (!wrapped)
        return 0;
    memcpy(h->wrapped, wrapped, CRYPT_WRAPPED_LEN);
    return packidx_locate(e, d, err);
}

int eng_segment_desc(st_engine *e, const char *tenant, const char *bucket,
                     const char *key, const uint8_t object_id[16], uint32_t part,
                     const uint8_t data_id[CRYPT_DATA_ID_LEN],
                     const uint8_t *wrapped, const uint8_t *ssec_kek, seg_desc *d,
                     cf_err *err)
{
    if (eng_segment_layout(e, tenant, bucket, key, object_id, part, data_id, wrapped, d,
                           err) < 0)
        return -1;
    shard_header *h = &d->header;
    uint8_t kek[CRYPT_KEY_LEN];
    crypt_ctx *cc = crypt_ctx_new(err);
    int rc = !cc ? -1 : ssec_kek ? (memcpy(kek, ssec_kek, sizeof kek), 0)
                                 : kek_get(e, tenant, kek, err);
    if (rc == 0 && wrapped) {
        rc = crypt_unwrap_key(cc, kek, data_id, wrapped, d->dk, err);
    } else if (rc == 0) {
        rc = crypt_random(d->dk, sizeof d->dk, err);
        if (rc == 0)
            rc = crypt_wrap_key(cc, kek, data_id, d->dk, h->wrapped, err);
    }
    crypt_wipe(kek, sizeof kek);
    crypt_ctx_free(cc);
    return rc;
}

int eng_ssec_kek(st_engine *e, const char *tenant, const uint8_t *stored,
                 const uint8_t *key, uint8_t kek[CRYPT_KEY_LEN], bool *has, cf_err *err)
{
    *has = false;
    if (!stored && !key)
        return 0;
    if (!stored)
        return cf_fail(err, CF_ENEEDKEY, "the object is not stored with a customer key");
    if (!key)
        return cf_fail(err, CF_ENEEDKEY, "the object is stored with a customer key");
    if (!crypt_ssec_match(key, stored))
        return cf_fail(err, CF_EBADKEY, "the customer key is not the object's");
    uint8_t tk[CRYPT_KEY_LEN];
    int rc = kek_get(e, tenant, tk, err);
    if (rc == 0)
        rc = crypt_ssec_kek(tk, key, stored, kek, err);
    crypt_wipe(tk, sizeof tk);
    *has = rc == 0;
    return rc;
}

/* ---- rows that several tables' files read ------------------------------- */

int eng_seg_loc_read(st_engine *e, sqlite3_stmt *st, eng_seg_loc *loc, cf_err *err)
{
    idx_assert_held(e->ix);
    int rc = idx_next(e->ix, st, err);
    if (rc != 1)
        return rc;
    memset(loc, 0, sizeof *loc);
    int klen = sqlite3_column_bytes(st, 6);
    if (idx_blob(st, 0, loc->object_id, 16) < 0 ||
        idx_blob(st, 3, loc->wrapped, CRYPT_WRAPPED_LEN) < 0 || klen > ST_MAX_KEY) {
        idx_done(st);
        return cf_fail(err, CF_ECORRUPT, "index: malformed segment row");
    }
    loc->part = (uint32_t)idx_int(st, 1);
    loc->size = (uint64_t)idx_int(st, 2);
    snprintf(loc->tenant, sizeof loc->tenant, "%s", idx_text(st, 4));
    snprintf(loc->bucket, sizeof loc->bucket, "%s", idx_text(st, 5));
    memcpy(loc->key, sqlite3_column_blob(st, 6), (size_t)klen);
    loc->key[klen] = '\0';
    idx_done(st);
    return 1;
}

int eng_ids_read(st_engine *e, sqlite3_stmt *st, uint8_t ids[][16], int max, cf_err *err)
{
    idx_assert_held(e->ix);
    int n = 0, rc = 0;
    while (st && n < max && (rc = idx_next(e->ix, st, err)) == 1)
        if (idx_blob(st, 0, ids[n], 16) == 0)
            n++;
    if (st && rc == 1)
        idx_done(st);
    return !st || rc < 0 ? -1 : n;
}

int eng_catalog_saved(st_engine *e, int rc)
{
    if (rc == 0)
        eng_catalog_changed(e);
    return rc;
}

void eng_catalog_changed(st_engine *e)
{
    int copies;
    cf_err err;
    if (cat_save(e, &copies, &err) < 0)
        fprintf(stderr, "coffer: catalog: tenants, keys and buckets could not be written "
                "to any disk (%s); an index rebuilt from the disks now would lack the "
                "latest change\n", err.msg);
}
