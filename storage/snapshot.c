/*
 * storage/snapshot.c - index snapshot generations on the disks (see
 * snapshot.h for the layout and the retention rules) and st_snapshot.
 *
 * Taking a snapshot: the index writes one consistent copy (index.c:
 * idx_snapshot_to, which numbers it) into the first online disk's
 * snapshots/ directory; it is renamed to its generation name there and
 * then copied file by file to every other online disk (temp file, fsync,
 * rename, directory fsync), so the index lock is held for one copy only.
 * After each disk's copy, that disk is pruned. A round with no commit
 * since the last snapshot writes nothing.
 *
 * Reading snapshots never changes them: they are kept in rollback-journal
 * mode and opened immutable (idx_probe), so listing the snapshots of a
 * set whose start is being refused leaves every disk as it was.
 */
#include "storage/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fio.h"
#include "common/fsutil.h"
#include "common/hex.h"
#include "storage/engine_int.h"
#include "storage/identity.h"

#define SNAP_DIR "snapshots"
#define SNAP_LEGACY "index.snapshot"
#define SNAP_PREFIX "index-"
#define SNAP_SUFFIX ".db"
#define SNAP_TMP_SUFFIX ".tmp"
#define SNAP_COMMIT_DIGITS 12
#define SNAP_NAME_LEN (sizeof SNAP_PREFIX - 1 + 32 + 1 + SNAP_COMMIT_DIGITS + \
                       sizeof SNAP_SUFFIX - 1)
#define SNAP_MUCH_LARGER 2           /* "much larger": more than twice the objects */
#define DAY_MS (86400LL * 1000)

void snap_path(char out[PATH_MAX], const char *disk, const uint8_t lineage[16],
               uint64_t commit)
{
    char hex[33];
    hex_encode(lineage, 16, hex, sizeof hex);
    snprintf(out, PATH_MAX, "%s/" SNAP_DIR "/" SNAP_PREFIX "%s-%0*llu" SNAP_SUFFIX, disk,
             hex, SNAP_COMMIT_DIGITS, (unsigned long long)commit);
}

/* Parse a generation's file name; false if name is not one. */
static bool parse_name(const char *name, uint8_t lineage[16], uint64_t *commit)
{
    size_t plen = sizeof SNAP_PREFIX - 1;
    if (strlen(name) != SNAP_NAME_LEN || strncmp(name, SNAP_PREFIX, plen) != 0 ||
        name[plen + 32] != '-' || strcmp(name + SNAP_NAME_LEN - 3, SNAP_SUFFIX) != 0)
        return false;
    char hex[33];
    memcpy(hex, name + plen, 32);
    hex[32] = '\0';
    size_t len = 0;
    if (hex_decode(hex, lineage, 16, &len) < 0 || len != 16)
        return false;
    const char *digits = name + plen + 33;
    *commit = 0;
    for (int i = 0; i < SNAP_COMMIT_DIGITS; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return false;
        *commit = *commit * 10 + (uint64_t)(digits[i] - '0');
    }
    return true;
}

static snap_entry *list_push(snap_list *l, cf_err *err)
{
    snap_entry *grown = realloc(l->v, (l->n + 1) * sizeof *l->v);
    if (!grown) {
        cf_fail(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    l->v = grown;
    snap_entry *e = &l->v[l->n++];
    memset(e, 0, sizeof *e);
    return e;
}

/* Describe the file at path as an entry (unreadable ones say why). */
static int add_entry(snap_list *l, const char *path, bool legacy, cf_err *err)
{
    snap_entry *e = list_push(l, err);
    if (!e)
        return -1;
    snprintf(e->path, sizeof e->path, "%s", path);
    e->legacy = legacy;
    cf_err perr;
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(e->why, sizeof e->why, "%s", strerror(errno));
    } else if (idx_probe(path, false, &e->id, &perr) < 0) {
        snprintf(e->why, sizeof e->why, "%s", perr.msg);
    } else if (!e->id.has_set) {
        snprintf(e->why, sizeof e->why, "it records no disk set");
    } else {
        e->readable = true;
        e->taken_ms = e->id.snapshot_ms > 0
            ? e->id.snapshot_ms
            : (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    }
    return 0;
}

int snap_list_file(const char *path, snap_list *l, cf_err *err)
{
    return add_entry(l, path, strcmp(strrchr(path, '/') ? strrchr(path, '/') + 1 : path,
                                     SNAP_LEGACY) == 0, err);
}

int snap_list_dir(const char *disk, snap_list *l, cf_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/" SNAP_LEGACY, disk);
    if (access(path, F_OK) == 0 && add_entry(l, path, true, err) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/" SNAP_DIR, disk);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        uint8_t lineage[16];
        uint64_t commit;
        if (!parse_name(de->d_name, lineage, &commit))
            continue;
        char file[PATH_MAX];
        snprintf(file, sizeof file, "%s/" SNAP_DIR "/%s", disk, de->d_name);
        rc = add_entry(l, file, false, err);
    }
    closedir(d);
    return rc;
}

int snap_list_set(const ds_set *set, snap_list *l, cf_err *err)
{
    for (int i = 0; i < set->n; i++)
        if (set->disks[i].online && snap_list_dir(set->disks[i].path, l, err) < 0)
            return -1;
    return 0;
}

void snap_list_free(snap_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

bool snap_matches(const snap_entry *e, const ds_set *set)
{
    if (!e->readable || memcmp(e->id.set_id, set->set_id, 16) != 0)
        return false;
    return !e->id.has_lineage || !set->has_lineage ||
           memcmp(e->id.lineage, set->lineage, 16) == 0;
}

const snap_entry *snap_newest(const snap_list *l, const ds_set *set)
{
    const snap_entry *best = NULL;
    for (size_t i = 0; i < l->n; i++) {
        const snap_entry *e = &l->v[i];
        if (snap_matches(e, set) &&
            (!best || e->taken_ms > best->taken_ms ||
             (e->taken_ms == best->taken_ms && e->id.commit > best->id.commit)))
            best = e;
    }
    return best;
}

uint64_t snap_max_commit(const snap_list *l, const ds_set *set)
{
    uint64_t max = 0;
    for (size_t i = 0; i < l->n; i++)
        if (snap_matches(&l->v[i], set) && l->v[i].id.commit > max)
            max = l->v[i].id.commit;
    return max;
}

/* ---- pruning ------------------------------------------------------------- */

typedef struct generation {
    char name[SNAP_NAME_LEN + 1];
    uint64_t commit;
    int64_t taken_ms, objects;
    bool keep;
} generation;

static int by_commit_desc(const void *a, const void *b)
{
    const generation *x = a, *y = b;
    return x->commit < y->commit ? 1 : x->commit > y->commit ? -1 : 0;
}

/* The readable generations of lineage in dir, newest first; leftover
 * temp files are removed on the way. */
static int read_generations(const char *dir, const uint8_t lineage[16], generation **out,
                            size_t *n)
{
    DIR *d = opendir(dir);
    *out = NULL;
    *n = 0;
    if (!d)
        return 0;
    struct dirent *de;
    size_t cap = 0;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        char path[PATH_MAX];
        uint8_t lin[16];
        uint64_t commit;
        size_t len = strlen(de->d_name);
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
            continue;
        if (len > 4 && strcmp(de->d_name + len - 4, SNAP_TMP_SUFFIX) == 0) {
            unlink(path);
            continue;
        }
        idx_ident id;
        cf_err err;
        if (!parse_name(de->d_name, lin, &commit) || memcmp(lin, lineage, 16) != 0 ||
            idx_probe(path, false, &id, &err) < 0 || id.snapshot_ms <= 0)
            continue;                 /* not ours, or unreadable: never pruned */
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            generation *grown = realloc(*out, cap * sizeof **out);
            if (!grown) {
                rc = -1;
                break;
            }
            *out = grown;
        }
        generation *g = &(*out)[(*n)++];
        memcpy(g->name, de->d_name, sizeof g->name);   /* parse_name: exactly this long */
        g->commit = commit;
        g->taken_ms = id.snapshot_ms;
        g->objects = id.objects;
        g->keep = false;
    }
    closedir(d);
    if (rc == 0 && *n > 1)
        qsort(*out, *n, sizeof **out, by_commit_desc);
    return rc;
}

int snap_prune(const char *disk, const uint8_t lineage[16], int keep, int days,
               int64_t now_ms)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/" SNAP_DIR, disk);
    generation *g;
    size_t n;
    if (read_generations(dir, lineage, &g, &n) < 0 || n == 0) {
        free(g);
        return 0;
    }
    for (size_t i = 0; i < n && i < (size_t)keep; i++)
        g[i].keep = true;
    int64_t today = now_ms / DAY_MS, last_day = INT64_MIN;
    for (size_t i = 0; i < n; i++) {      /* newest first: the first of each day */
        int64_t day = g[i].taken_ms / DAY_MS;
        if (today - day < days && day != last_day)
            g[i].keep = true;
        last_day = day;
    }
    for (size_t i = 1; g[0].objects >= 0 && i < n; i++)
        if (g[i].objects > SNAP_MUCH_LARGER * g[0].objects) {
            g[i].keep = true;            /* the way back from a shrunken index */
            break;
        }
    int removed = 0;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (!g[i].keep && snprintf(path, sizeof path, "%s/%s", dir, g[i].name) <
            (int)sizeof path && unlink(path) == 0)
            removed++;
    }
    free(g);
    cf_err err;
    if (removed)
        fsu_fsync_dir(dir, &err);
    return removed;
}

/* ---- across restarts ----------------------------------------------------- */

int snap_resume(st_engine *e, const ident_state *s, cf_err *err)
{
    const idx_ident *ix = &s->index;
    if (ix->clean_close == 0)
        return 0;
    bool unchanged = ix->clean_close == ix->commit &&
                     ident_own_max_commit(s, &e->set) == ix->commit;
    if (idx_mark_clean(e->ix, 0, err) < 0)
        return -1;
    if (unchanged)
        e->last_snapshot = idx_commit_number(e->ix);
    return 0;
}

void snap_mark_clean(st_engine *e)
{
    cf_err err;
    uint64_t n = idx_commit_number(e->ix);
    if (n > 0 && n == e->last_snapshot)
        idx_mark_clean(e->ix, n, &err);   /* best effort: else the next start snapshots */
}

/* ---- taking one ---------------------------------------------------------- */

/* Write the new generation on the first disk that takes it; returns its
 * disk index (-1 if none did), with its path and identity. */
static int take_first(st_engine *e, int64_t now, char path[PATH_MAX], idx_ident *id,
                      cf_err *err)
{
    for (int i = 0; i < e->set.n; i++) {
        const char *disk = e->set.disks[i].path;
        char dir[PATH_MAX], tmp[PATH_MAX];
        if (!e->set.disks[i].online)
            continue;
        snprintf(dir, sizeof dir, "%s/" SNAP_DIR, disk);
        if (snprintf(tmp, sizeof tmp, "%s/index.db" SNAP_TMP_SUFFIX, dir) >=
            (int)sizeof tmp) {
            cf_fail(err, CF_EINVAL, "%s: path too long", dir);
            continue;
        }
        if (fsu_mkdir_p(dir, err) < 0 || idx_snapshot_to(e->ix, tmp, now, id, err) < 0)
            continue;
        snap_path(path, disk, e->set.lineage, id->commit);
        if (chmod(tmp, 0600) != 0 || fio_rename(tmp, path) != 0) {
            cf_fail_errno(err, CF_EIO, errno, "snapshot %s", path);
            unlink(tmp);
            continue;
        }
        if (fsu_fsync_dir(dir, err) < 0)
            continue;
        return i;
    }
    return -1;
}

int st_snapshot(st_engine *e, int *copies, cf_err *err)
{
    *copies = 0;
    pthread_mutex_lock(&e->snap_lock);
    int rc = 0;
    if (idx_commit_number(e->ix) != e->last_snapshot) {
        int64_t now = eng_now_ms();
        char src[PATH_MAX];
        idx_ident id;
        cf_err last = {0};
        int first = take_first(e, now, src, &id, &last);
        for (int i = first; first >= 0 && i < e->set.n; i++) {
            const char *disk = e->set.disks[i].path;
            char dst[PATH_MAX], dir[PATH_MAX];
            snprintf(dir, sizeof dir, "%s/" SNAP_DIR, disk);
            snap_path(dst, disk, e->set.lineage, id.commit);
            if (i > first && (!e->set.disks[i].online || fsu_mkdir_p(dir, &last) < 0 ||
                              fsu_copy_atomic(src, dst, 0600, &last) < 0))
                continue;
            (*copies)++;
            snap_prune(disk, e->set.lineage, e->snap_keep, e->snap_days, now);
        }
        if (*copies > 0) {
            e->last_snapshot = id.commit;
            jrn_rotate(e->jrn, id.commit, jrnrec_keep, e);
        }
        else if (last.code)
            rc = (*err = last, -1);
        else
            rc = cf_fail(err, CF_EQUORUM, "no disk is online");
    }
    pthread_mutex_unlock(&e->snap_lock);
    return rc;
}
