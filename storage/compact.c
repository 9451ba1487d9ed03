/*
 * storage/compact.c - pack compaction: st_compact (contract in engine.h;
 * doc/design.md, "Compaction").
 *
 * A pass lists the packs of every online disk and takes those that are
 * sealed (pack_set_busy false: not the disk's open pack and no PUT holds a
 * record of it; a sealed pack never becomes busy again, so no row can come
 * to name it after this check), written since this index began to rule
 * the disks (an older one may hold records the index does not know: kept,
 * as gc keeps older files) and more than dead_ratio dead. For each, in
 * this order, with what a kill at that point leaves:
 *
 *   1. open the pack for reading (a drain that unlinks it meanwhile does
 *      not stop the copy: the descriptor keeps reading), read its rows
 *      (those of data ids queued for deletion are not copied: they die);
 *   2. for each row, without the index lock: a shard file of its data id
 *      on that disk (heal wrote it; it wins over the record) means the
 *      row is only dropped; otherwise read and verify the record whole
 *      (pack_read_record) and append it to the disk's open pack
 *      (pack_set_append: the copy's pack is held busy until step 4 ends,
 *      so no drain, gc or other pass can unlink it under us);
 *   3. pack_ref_commit each copy: one fdatasync of the open pack (shared
 *      with the PUTs appending to it);
 *      - killed up to here: every row still names its old record; the
 *        copies are bytes no row names (dead, or a pack gc takes);
 *   4. one transaction repoints each row to its copy, or drops it,
 *      *only if it still names the old record* (packidx_move_locked: a
 *      compare-and-set under the index lock), committed durable;
 *      - killed after it: every row names a durable copy; the old pack
 *        has no row, and gc's orphan scan or the next pass unlinks it;
 *      - a row a DELETE's drain or an overwrite's drain removed or
 *        changed between 1 and 4 is left as that drain left it: its copy
 *        is dead bytes; a drain that ran after 4 finds the new pack
 *        busy (held) or, later, unnamed, and unlinks it as any pack;
 *   5. release the copies; wait (bounded) until every reader registered
 *      before the commit (get.c: GET, scrub, heal) has left, since one
 *      may have taken the old location into its descriptor, then unlink
 *      the old pack if it is still unnamed and not busy
 *      (packidx_unlink_if_dead). A reader still there after the wait
 *      leaves the pack to the next pass (it has no row: it is then taken
 *      as a pack no row names, the same way).
 *
 * A record that does not verify is not copied: its row stays (so the
 * pack stays) and its segment is queued for heal, which writes the shard
 * as a file; the next pass then drops the row.
 *
 * Locks: compact_lock for the pass (one at a time); the index lock for
 * steps 1 (rows) and 4, never across pack I/O; the pack set's own locks
 * inside pack_set_*. rebuild-index, which may find a record both in the
 * old and the new pack after a kill between 4 and 5, keeps the copy in
 * the pack written last (rebuild.c; both are byte-identical shards).
 */
#include "storage/engine_int.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define COMPACT_READER_WAIT_MS 2000  /* then the pack waits for the next pass */

typedef struct cand {
    int disk;
    uint8_t id[PACK_ID_LEN];
    uint64_t size, live;
} cand;

typedef struct cand_list {
    cand *v;
    size_t n, cap;
} cand_list;

static int cand_add(cand_list *l, const cand *c)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        void *v = realloc(l->v, cap * sizeof *l->v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *c;
    return 0;
}

/* The sealed packs of disk i past the ratio (or with no row). */
static int list_disk(st_engine *e, int i, double ratio, cand_list *l, st_compact_stats *s,
                     cf_err *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/packs", e->set.disks[i].path);
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : cf_fail_errno(err, CF_EIO, errno, "%s", dir);
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        cand c = {.disk = i};
        struct stat st;
        if (!pack_name_to_id(de->d_name, c.id) || pack_set_busy(&e->packs, c.id) ||
            fstatat(dirfd(d), de->d_name, &st, 0) != 0)
            continue;
        if ((int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000 < e->created_ms)
            continue;                /* older than this index: kept (gc.c's rule) */
        s->packs_scanned++;
        c.size = (uint64_t)st.st_size;
        idx_lock(e->ix);
        rc = packidx_live_bytes_locked(e, c.id, &c.live, err);
        idx_unlock(e->ix);
        uint64_t body = c.size > PACK_FILE_HEADER ? c.size - PACK_FILE_HEADER : 0;
        uint64_t dead = body > c.live ? body - c.live : 0;
        if (rc == 0 && (c.live == 0 || (double)dead > ratio * (double)body) &&
            cand_add(l, &c) < 0)
            rc = cf_fail(err, CF_ENOMEM, "out of memory");
    }
    closedir(d);
    return rc;
}

/* What step 2 decided for a row. */
enum { ROW_LEAVE, ROW_COPY, ROW_DROP };

/* Steps 2 and 3: copy or drop what[] says for each row; returns how far
 * it got (rows after it are left). */
static size_t copy_rows(st_engine *e, const cand *c, int fd, const packidx_row *rows,
                        size_t n, uint8_t *what, pack_ref *refs, const st_compact_opts *o,
                        st_compact_stats *s)
{
    const char *disk = e->set.disks[c->disk].path;
    size_t i = 0;
    for (; i < n && !s->stopped; i++) {
        char path[PATH_MAX];
        shard_path(path, sizeof path, disk, rows[i].data_id);
        if (access(path, F_OK) == 0) {
            what[i] = ROW_DROP;      /* heal's shard file wins: the record is unread */
            continue;
        }
        uint8_t hdr[SHARD_HEADER_SIZE], *body;
        size_t blen;
        cf_err e2;
        if (pack_read_record(fd, rows[i].off, rows[i].len, hdr, &body, &blen, &e2) < 0) {
            if (e2.code != CF_ECORRUPT)
                break;               /* unreadable or no memory: the rest waits */
            s->records_bad++;
            heal_queue(e, rows[i].data_id, (uint16_t)(1u << rows[i].shard));
            continue;
        }
        struct iovec v = {body, blen};
        int rc = pack_set_append(&e->packs, c->disk, hdr, &v, 1, &refs[i], &e2);
        free(body);
        if (rc < 0)
            break;                   /* the disk's open pack takes nothing now */
        assert(memcmp(refs[i].id, c->id, PACK_ID_LEN) != 0);  /* never into itself */
        what[i] = ROW_COPY;
        if (o->pacer && o->pacer->pace && o->pacer->pace(o->pacer->ctx, rows[i].len))
            s->stopped = true;
    }
    for (size_t j = 0; j < i; j++) {
        cf_err e2;
        if (what[j] == ROW_COPY && pack_ref_commit(&refs[j], &e2) < 0) {
            pack_ref_release(&refs[j]);
            what[j] = ROW_LEAVE;
        }
    }
    return i;
}

/* Step 4: one transaction repointing (or dropping) what was copied. */
static int repoint(st_engine *e, const cand *c, const packidx_row *rows, size_t n,
                   const uint8_t *what, const pack_ref *refs, st_compact_stats *s,
                   cf_err *err)
{
    uint64_t copied = 0, nc = 0, changed = 0, superseded = 0;
    idx_lock(e->ix);
    int rc = idx_begin(e->ix, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int ch = 0;
        if (what[i] == ROW_LEAVE)
            continue;
        rc = packidx_move_locked(e, c->id, &rows[i], what[i] == ROW_COPY ? &refs[i] : NULL,
                                 &ch, err);
        if (rc == 0 && !ch)
            changed++;
        else if (rc == 0 && what[i] == ROW_DROP)
            superseded++;
        else if (rc == 0) {
            nc++;
            copied += refs[i].len;
        }
    }
    if (rc == 0)
        rc = idx_commit(e->ix, err);
    else
        idx_rollback(e->ix);
    rc = eng_unlock_durable(e, rc, err);
    if (rc == 0) {
        s->records_copied += nc;
        s->bytes_copied += copied;
        s->records_changed += changed;
        s->records_superseded += superseded;
        atomic_fetch_add(&e->compact_copied, copied);
    }
    return rc;
}

/* Steps 1-4 for a pack with live rows. */
static int compact_live(st_engine *e, const cand *c, const st_compact_opts *o,
                        st_compact_stats *s, cf_err *err)
{
    char path[PATH_MAX];
    pack_path(path, sizeof path, e->set.disks[c->disk].path, c->id);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)                      /* a drain took it since the listing */
        return errno == ENOENT ? 0 : cf_fail_errno(err, CF_EIO, errno, "%s", path);
    packidx_row *rows;
    size_t n, kept = 0;
    idx_lock(e->ix);
    int rc = packidx_rows_of_locked(e, c->id, &rows, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int q = deleteq_queued_locked(e, rows[i].data_id, err);
        if (q < 0)
            rc = -1;
        else if (q == 0)             /* a queued one dies: not copied */
            rows[kept++] = rows[i];
    }
    n = kept;
    idx_unlock(e->ix);
    /* sealed: no writer can have gained a reference since the listing */
    assert(!pack_set_busy(&e->packs, c->id));
    uint8_t *what = rc == 0 ? calloc(n ? n : 1, 1) : NULL;
    pack_ref *refs = rc == 0 ? calloc(n ? n : 1, sizeof *refs) : NULL;
    if (rc == 0 && (!what || !refs))
        rc = cf_fail(err, CF_ENOMEM, "out of memory");
    if (rc == 0) {
        copy_rows(e, c, fd, rows, n, what, refs, o, s);
        rc = repoint(e, c, rows, n, what, refs, s, err);
        for (size_t i = 0; i < n; i++)
            pack_ref_release(&refs[i]);
        s->packs_compacted += rc == 0;
    }
    close(fd);
    free(rows);
    free(what);
    free(refs);
    return rc;
}

/* Step 5: has every reader registered at or before t left (bounded)? */
static bool readers_gone(st_engine *e, int64_t t, int64_t wait_ms)
{
    for (int64_t waited = 0;; waited += 10) {
        if (get_oldest_reader_ms(e) > t)
            return true;
        if (waited >= wait_ms)
            return false;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
}

static int compact_pack(st_engine *e, const cand *c, const st_compact_opts *o,
                        st_compact_stats *s, cf_err *err)
{
    if (c->live > 0 && compact_live(e, c, o, s, err) < 0)
        return -1;
    uint64_t live = 0;
    idx_lock(e->ix);
    int rc = packidx_live_bytes_locked(e, c->id, &live, err);
    idx_unlock(e->ix);
    if (rc < 0 || live > 0)
        return rc;                   /* bad records, or stopped: the pack stays */
    int64_t t = eng_now_ms();        /* after the commit that took its last row */
    if (!readers_gone(e, t, o->reader_wait_ms > 0 ? o->reader_wait_ms
                                                  : COMPACT_READER_WAIT_MS)) {
        s->packs_left_for_readers++;
        return 0;
    }
    if (packidx_unlink_if_dead(e, c->disk, c->id)) {
        s->packs_removed++;
        s->bytes_reclaimed += c->size;
        atomic_fetch_add(&e->compact_reclaimed, c->size);
    }
    return 0;
}

int st_compact(st_engine *e, const st_compact_opts *o, st_compact_stats *out, cf_err *err)
{
    memset(out, 0, sizeof *out);
    double ratio = o->dead_ratio > 0 ? o->dead_ratio : e->compact_ratio;
    if (ratio > 1)
        return cf_fail(err, CF_EINVAL, "compaction: dead ratio %g is above 1", ratio);
    pthread_mutex_lock(&e->compact_lock);
    cand_list l = {0};
    int rc = 0;
    for (int i = 0; rc == 0 && i < e->set.n; i++)
        if (e->set.disks[i].online)
            rc = list_disk(e, i, ratio, &l, out, err);
    for (size_t i = 0; rc == 0 && i < l.n && !out->stopped; i++) {
        if (o->pacer && o->pacer->progress)
            o->pacer->progress(o->pacer->ctx, i, l.n);
        rc = compact_pack(e, &l.v[i], o, out, err);
    }
    if (rc == 0 && o->pacer && o->pacer->progress && !out->stopped)
        o->pacer->progress(o->pacer->ctx, l.n, l.n);
    free(l.v);
    pthread_mutex_unlock(&e->compact_lock);
    return rc;
}
