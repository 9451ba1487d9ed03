/*
 * storage/packidx.c - the pack_shards table: which shards of which
 * segments are records in a pack file (pack.h) rather than shard files,
 * and giving a pack's space back once none of its records is live.
 *
 * A row (data id, shard, pack id, record offset, record length) is
 * written in the transaction that commits the segment or part row
 * (obj_insert_segment_locked, upload_put_part_locked), after the pack's
 * fdatasync: the index stays the commit point, and a record no row names
 * is dead bytes (a crash before the commit, a failed commit). Rows go
 * when the delete queue's drain gives the segment's space back
 * (deleteq.c); the drain then unlinks each pack it touched that no row
 * names any more and that no writer holds (pack_set_busy: a pack open
 * for appends, or one a PUT appended to and has not committed yet),
 * unless it was last written before this index began to rule the disks
 * (restored or rebuilt: such a pack may hold records the index does not
 * know, and is kept as gc keeps older shard files).
 * The live bytes of a pack are the sum of its rows' lengths; the rest of
 * the file is dead. A pack left behind with no row (a crash between the
 * drain's commit and its unlink, or after appends never committed) is an
 * orphan for gc's scan (gc.c), under the same rules as shard files.
 * Readers take the rows of a segment into its descriptor (packidx_locate)
 * when they build it (eng_segment_layout). st_pack_usage_get counts the
 * packs' bytes and the live ones for /metrics. The compactor (compact.c)
 * reads a pack's rows and repoints them here (packidx_rows_of_locked,
 * packidx_move_locked): a compare-and-set on the record a row names.
 */
#include "storage/engine_int.h"

#include "common/fio.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

int packidx_insert_locked(st_engine *e, const uint8_t data_id[16], const seg_result *res,
                          cf_err *err)
{
    idx_assert_held(e->ix);
    int rc = 0;
    for (int i = 0; rc == 0 && i < RS_MAX_SHARDS; i++)
        if (res->packed & (1u << i))
            rc = idx_run(e->ix, NULL, err,
                         "INSERT OR REPLACE INTO pack_shards (data_id, shard, pack_id, "
                         "offset, length) VALUES (?, ?, ?, ?, ?)", "bibii",
                         data_id, (size_t)16, (int64_t)i, res->pack[i].id,
                         (size_t)PACK_ID_LEN, (int64_t)res->pack[i].off,
                         (int64_t)res->pack[i].len);
    return rc;
}

int packidx_locate(st_engine *e, seg_desc *d, cf_err *err)
{
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT shard, pack_id, offset FROM pack_shards WHERE data_id = ?", "b",
        d->data_id, (size_t)16);
    int rc = st ? 0 : -1;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        int64_t i = idx_int(st, 0);
        if (i < 0 || i >= RS_MAX_SHARDS)
            continue;
        seg_loc *l = &d->loc[i];
        if (idx_blob(st, 1, l->pack_id, PACK_ID_LEN) == 0) {
            l->packed = true;
            l->off = (uint64_t)idx_int(st, 2);
        }
    }
    idx_unlock(e->ix);
    return rc < 0 ? -1 : 0;
}

int packidx_shards_present(st_engine *e, const uint8_t data_id[16], uint16_t *present,
                           cf_err *err)
{
    seg_desc sd;
    memset(&sd, 0, sizeof sd);
    memcpy(sd.data_id, data_id, sizeof sd.data_id);
    *present = 0;
    if (packidx_locate(e, &sd, err) < 0)
        return -1;
    for (int d = 0; d < e->set.n; d++) {
        char path[PATH_MAX];
        shard_path(path, sizeof path, e->set.disks[d].path, data_id);
        bool there = access(path, F_OK) == 0;
        if (!there && sd.loc[d].packed) {
            pack_path(path, sizeof path, e->set.disks[d].path, sd.loc[d].pack_id);
            there = access(path, F_OK) == 0;
        }
        *present |= (uint16_t)(there << d);
    }
    return 0;
}

int packidx_references_locked(st_engine *e, const uint8_t pack_id[PACK_ID_LEN], cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_exists(e->ix, err, "SELECT 1 FROM pack_shards WHERE pack_id = ? LIMIT 1", "b",
                      pack_id, (size_t)PACK_ID_LEN);
}

static int list_add(packidx_list *l, int disk, const uint8_t id[PACK_ID_LEN])
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].disk == disk && memcmp(l->v[i].id, id, PACK_ID_LEN) == 0)
            return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        void *v = realloc(l->v, cap * sizeof *l->v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n].disk = disk;
    memcpy(l->v[l->n].id, id, PACK_ID_LEN);
    l->n++;
    return 0;
}

int packidx_drop_locked(st_engine *e, const uint8_t data_id[16], packidx_list *l,
                        cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT shard, pack_id FROM pack_shards WHERE data_id = ?", "b", data_id, (size_t)16);
    int rc = st ? 0 : -1;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        uint8_t id[PACK_ID_LEN];
        if (idx_blob(st, 1, id, sizeof id) == 0 && list_add(l, (int)idx_int(st, 0), id) < 0) {
            idx_done(st);
            return cf_fail(err, CF_ENOMEM, "out of memory");
        }
    }
    if (rc < 0)
        return -1;
    return idx_run(e->ix, NULL, err, "DELETE FROM pack_shards WHERE data_id = ?", "b",
                   data_id, (size_t)16);
}

int st_pack_usage_get(st_engine *e, st_pack_usage *out, cf_err *err)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < e->set.n; i++) {
        char dir[PATH_MAX];
        if (!e->set.disks[i].online)
            continue;
        snprintf(dir, sizeof dir, "%s/packs", e->set.disks[i].path);
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            uint8_t id[PACK_ID_LEN];
            struct stat st;
            if (pack_name_to_id(de->d_name, id) && fstatat(dirfd(d), de->d_name, &st, 0) == 0) {
                out->files++;
                out->bytes += (uint64_t)st.st_size;
            }
        }
        if (d)
            closedir(d);
    }
    int64_t live = 0;
    idx_lock(e->ix);
    int rc = idx_scalar(e->ix, &live, err,
                        "SELECT coalesce(sum(length), 0) FROM pack_shards", "");
    idx_unlock(e->ix);
    out->live_bytes = (uint64_t)live;
    out->compact_reclaimed_bytes = atomic_load(&e->compact_reclaimed);
    out->compact_copied_bytes = atomic_load(&e->compact_copied);
    return rc;
}

bool packidx_unlink_if_dead(st_engine *e, int disk, const uint8_t id[PACK_ID_LEN])
{
    cf_err err;
    if (disk < 0 || disk >= e->set.n || !e->set.disks[disk].online)
        return false;
    /* busy first: a pack that is not busy gains no row after this */
    if (pack_set_busy(&e->packs, id))
        return false;
    idx_lock(e->ix);
    int rc = packidx_references_locked(e, id, &err);
    idx_unlock(e->ix);
    if (rc != 0)
        return false;                /* live, or unknown: kept */
    char path[PATH_MAX];
    struct stat st;
    pack_path(path, sizeof path, e->set.disks[disk].path, id);
    if (stat(path, &st) != 0 ||
        (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000 < e->created_ms)
        return false;                /* written before this index ruled: may hold
                                      * records it does not know (gc.c's rule) */
    return fio_unlink(path) == 0;   /* through the fault hook, as gc's */
}

void packidx_reclaim(st_engine *e, packidx_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        packidx_unlink_if_dead(e, l->v[i].disk, l->v[i].id);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int packidx_live_bytes_locked(st_engine *e, const uint8_t pack_id[PACK_ID_LEN],
                              uint64_t *live, cf_err *err)
{
    idx_assert_held(e->ix);
    int64_t v = 0;
    int rc = idx_scalar(e->ix, &v, err,
                        "SELECT coalesce(sum(length), 0) FROM pack_shards WHERE pack_id = ?",
                        "b", pack_id, (size_t)PACK_ID_LEN);
    *live = v > 0 ? (uint64_t)v : 0;
    return rc;
}

int packidx_rows_of_locked(st_engine *e, const uint8_t pack_id[PACK_ID_LEN],
                           packidx_row **rows, size_t *n, cf_err *err)
{
    idx_assert_held(e->ix);
    *rows = NULL;
    *n = 0;
    size_t cap = 0;
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT data_id, shard, offset, length FROM pack_shards WHERE pack_id = ? "
        "ORDER BY offset", "b",
        pack_id, (size_t)PACK_ID_LEN);
    int rc = st ? 0 : -1;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            void *v = realloc(*rows, cap * sizeof **rows);
            if (!v) {
                idx_done(st);
                rc = cf_fail(err, CF_ENOMEM, "out of memory");
                break;
            }
            *rows = v;
        }
        packidx_row *r = &(*rows)[*n];
        int64_t shard = idx_int(st, 1), off = idx_int(st, 2), len = idx_int(st, 3);
        if (idx_blob(st, 0, r->data_id, 16) == 0 && shard >= 0 && shard < RS_MAX_SHARDS &&
            off >= 0 && len > 0) {
            r->shard = (int)shard;
            r->off = (uint64_t)off;
            r->len = (uint64_t)len;
            (*n)++;
        }
    }
    if (rc < 0) {
        free(*rows);
        *rows = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

int packidx_move_locked(st_engine *e, const uint8_t from_id[PACK_ID_LEN],
                        const packidx_row *r, const pack_ref *to, int *changed,
                        cf_err *err)
{
    idx_assert_held(e->ix);
    *changed = 0;
    if (!to)
        return idx_run(e->ix, changed, err,
                       "DELETE FROM pack_shards WHERE data_id = ? AND shard = ? AND "
                       "pack_id = ? AND offset = ?", "bibi", r->data_id, (size_t)16,
                       (int64_t)r->shard, from_id, (size_t)PACK_ID_LEN, (int64_t)r->off);
    return idx_run(e->ix, changed, err,
                   "UPDATE pack_shards SET pack_id = ?, offset = ?, length = ? WHERE "
                   "data_id = ? AND shard = ? AND pack_id = ? AND offset = ?", "biibibi",
                   to->id, (size_t)PACK_ID_LEN, (int64_t)to->off, (int64_t)to->len,
                   r->data_id, (size_t)16, (int64_t)r->shard, from_id, (size_t)PACK_ID_LEN,
                   (int64_t)r->off);
}
