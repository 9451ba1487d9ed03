/*
 * storage/journal.c - the per-disk journal (see journal.h).
 *
 * Writing: a record is built once and written to each disk's current file
 * with a loop of fio_write (so the fault hook reaches it); a disk whose
 * write fails is dropped (its file closed) and counted. The sync hook
 * takes a duplicate of every dirty descriptor under the mutex and
 * fdatasyncs them outside it, so a rotation that closes the originals
 * meanwhile does no harm.
 *
 * Reading: every file of the lineage on every online disk is read,
 * record by record, until the first bad one; each record's CRC is checked
 * and its JSON kept (its data is not: it is read again from the file when
 * wanted, so memory follows the records' count, not the inline bytes);
 * records are sorted by (commit, payload CRC, JSON) and delivered once
 * each (the same record on several disks has the same payload).
 */
#include "storage/journal.h"
#include "common/le.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/checksum.h"
#include "common/hex.h"
#include "common/fio.h"
#include "common/fsutil.h"
#include "storage/snapshot.h"

#define JRN_MAGIC "CJR1"
#define JRN_HEAD 12                  /* magic, length, CRC */
#define JRN_MAX_PAYLOAD (64u << 20)

struct jrn {
    pthread_mutex_t lock;
    const ds_set *set;
    char lineage[33];
    int fd[RS_MAX_SHARDS];
    bool dirty[RS_MAX_SHARDS];
    bool dropped[RS_MAX_SHARDS];     /* said once */
    uint64_t records, bytes, failures;
};

static int open_file(jrn *j, int i, uint64_t commit, int64_t now)
{
    char dir[PATH_MAX], path[PATH_MAX];
    cf_err err;
    snprintf(dir, sizeof dir, "%s/" JRN_DIR, j->set->disks[i].path);
    if ((size_t)snprintf(path, sizeof path, "%s/%s-%012llu-%lld.log", dir, j->lineage,
                         (unsigned long long)commit, (long long)now) >= sizeof path ||
        fsu_mkdir_p(dir, &err) < 0)
        return -1;
    int fd = fio_open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0 && fsu_fsync_dir(dir, &err) < 0) {
        fio_close(fd);
        return -1;
    }
    return fd;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

jrn *jrn_open(const ds_set *set, uint64_t commit, cf_err *err)
{
    jrn *j = calloc(1, sizeof *j);
    if (!j) {
        cf_fail(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&j->lock, NULL);
    j->set = set;
    hex_encode(set->lineage, DS_LINEAGE_LEN, j->lineage, sizeof j->lineage);
    int64_t now = wall_ms();
    for (int i = 0; i < RS_MAX_SHARDS; i++)
        j->fd[i] = i < set->n && set->disks[i].online ? open_file(j, i, commit, now) : -1;
    return j;
}

void jrn_close(jrn *j)
{
    if (!j)
        return;
    jrn_sync(j);
    for (int i = 0; i < RS_MAX_SHARDS; i++)
        if (j->fd[i] >= 0)
            fio_close(j->fd[i]);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

/* Close disk i's file after an error, or once the disk left the write
 * set (storage/ds.h: its file system failed; an open file would keep it
 * from being unmounted and repaired). Under the lock. */
static void drop_disk(jrn *j, int i, const char *why)
{
    if (j->fd[i] >= 0)
        fio_close(j->fd[i]);
    j->fd[i] = -1;
    j->dirty[i] = false;
    j->failures++;
    if (!j->dropped[i])
        fprintf(stderr, "coffer: journal on %s: %s; it is no longer written until the "
                "next snapshot or restart (the index and the other disks' journals "
                "still hold every change)\n", j->set->disks[i].path, why);
    j->dropped[i] = true;
}

static void drop_if_out(jrn *j, int i)
{
    if (j->fd[i] >= 0 && i < j->set->n && ds_write_fault(j->set, i) != DS_WF_NONE)
        drop_disk(j, i, "the disk is out of the write set");
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = fio_write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Write one whole record (frame and payload) to every disk's file. */
static void append_framed(jrn *j, const uint8_t *rec, size_t len)
{
    pthread_mutex_lock(&j->lock);
    for (int i = 0; i < RS_MAX_SHARDS; i++) {
        drop_if_out(j, i);
        if (j->fd[i] < 0)
            continue;
        int e = write_all(j->fd[i], rec, len);
        if (e)
            drop_disk(j, i, strerror(e));
        else
            j->dirty[i] = true;
    }
    j->records++;
    j->bytes += len;
    pthread_mutex_unlock(&j->lock);
}

void jrn_append(jrn *j, jrn_type type, uint64_t commit, json_t *fields,
                       const void *data, size_t len)
{
    char *text = json_dumps(fields, JSON_COMPACT);
    if (!text)
        return;
    size_t tl = strlen(text), payload = 1 + 8 + 4 + tl + len;
    uint8_t *rec = malloc(JRN_HEAD + payload);
    if (!rec) {
        free(text);
        return;
    }
    uint8_t *p = rec + JRN_HEAD;
    p[0] = (uint8_t)type;
    le_put(p + 1, commit, 8);
    le_put(p + 9, tl, 4);
    memcpy(p + 13, text, tl);
    if (len)
        memcpy(p + 13 + tl, data, len);
    memcpy(rec, JRN_MAGIC, 4);
    le_put(rec + 4, payload, 4);
    le_put(rec + 8, cks_crc32c(0, p, payload), 4);
    free(text);
    append_framed(j, rec, JRN_HEAD + payload);
    free(rec);
}

void jrn_sync(void *arg)
{
    jrn *j = arg;
    int dup_fd[RS_MAX_SHARDS], disk[RS_MAX_SHARDS], n = 0;
    pthread_mutex_lock(&j->lock);
    for (int i = 0; i < RS_MAX_SHARDS; i++)
        drop_if_out(j, i);           /* at every commit, journaled or not */
    for (int i = 0; i < RS_MAX_SHARDS; i++)
        if (j->fd[i] >= 0 && j->dirty[i] && (dup_fd[n] = dup(j->fd[i])) >= 0) {
            j->dirty[i] = false;
            disk[n++] = i;
        }
    pthread_mutex_unlock(&j->lock);
    for (int k = 0; k < n; k++) {
        int e = fio_fdatasync(dup_fd[k]) == 0 ? 0 : errno;
        close(dup_fd[k]);
        if (e) {
            pthread_mutex_lock(&j->lock);
            drop_disk(j, disk[k], strerror(e));
            pthread_mutex_unlock(&j->lock);
        }
    }
}

/* The commit of the disk's second-newest snapshot of this lineage, 0 if
 * it has fewer than two. */
static uint64_t second_newest(const jrn *j, const char *disk)
{
    snap_list l = {0};
    cf_err err;
    uint64_t a = 0, b = 0;
    if (snap_list_dir(disk, &l, &err) == 0)
        for (size_t i = 0; i < l.n; i++) {
            const snap_entry *s = &l.v[i];
            if (!s->readable || s->legacy || !s->id.has_lineage ||
                memcmp(s->id.lineage, j->set->lineage, DS_LINEAGE_LEN) != 0)
                continue;
            if (s->id.commit > a) {
                b = a;
                a = s->id.commit;
            } else if (s->id.commit > b && s->id.commit < a) {
                b = s->id.commit;
            }
        }
    snap_list_free(&l);
    return b;
}

void jrn_get_stats(jrn *j, jrn_stats *out)
{
    pthread_mutex_lock(&j->lock);
    out->records = j->records;
    out->bytes = j->bytes;
    out->failures = j->failures;
    out->disks = 0;
    for (int i = 0; i < RS_MAX_SHARDS; i++)
        out->disks += j->fd[i] >= 0;
    pthread_mutex_unlock(&j->lock);
}

/* ---- reading -------------------------------------------------------------- */

typedef struct raw_rec {
    uint64_t commit;
    uint32_t crc;
    uint8_t *head;                   /* owned: the payload up to its JSON's end */
    size_t head_len;
    size_t len;                      /* the whole payload's */
    size_t file;                     /* in rec_set's paths */
    uint64_t off;                    /* where its frame starts */
} raw_rec;

typedef struct rec_set {
    raw_rec *v;
    size_t n, cap;
    char **paths;                    /* the files read, owned */
    size_t npaths, cap_paths;
} rec_set;

/* The frame at off in fd: 1 and *payload (malloc'd, its CRC checked) with
 * *len, 0 at the end of the file, -1 torn or damaged. */
static int read_frame(int fd, uint64_t off, uint8_t **payload, size_t *len)
{
    uint8_t head[JRN_HEAD];
    int rc = fsu_pread_all(fd, head, sizeof head, (off_t)off);
    if (rc == -ENODATA) {
        struct stat st;
        return fstat(fd, &st) == 0 && (uint64_t)st.st_size == off ? 0 : -1;
    }
    size_t n = (size_t)le_get(head + 4, 4);
    if (rc < 0 || memcmp(head, JRN_MAGIC, 4) != 0 || n < 13 || n > JRN_MAX_PAYLOAD)
        return -1;
    uint8_t *p = malloc(n);
    if (!p || fsu_pread_all(fd, p, n, (off_t)(off + JRN_HEAD)) < 0 ||
        cks_crc32c(0, p, n) != (uint32_t)le_get(head + 8, 4) || 13 + le_get(p + 9, 4) > n) {
        free(p);
        return -1;
    }
    *payload = p;
    *len = n;
    return 1;
}

/* Read one file's records above `after` into rs, each without its data
 * (read again when needed: jrn_read_data, carry); 1 if it ended torn. */
static int read_file(const char *path, uint64_t after, rec_set *rs)
{
    if (rs->npaths == rs->cap_paths) {
        size_t cap = rs->cap_paths ? 2 * rs->cap_paths : 16;
        char **g = realloc(rs->paths, cap * sizeof *g);
        if (!g)
            return 1;
        rs->paths = g;
        rs->cap_paths = cap;
    }
    if (!(rs->paths[rs->npaths] = strdup(path)))
        return 1;
    size_t file = rs->npaths++;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    int torn = 0;
    for (uint64_t off = 0;;) {
        uint8_t *p;
        size_t len;
        int rc = read_frame(fd, off, &p, &len);
        if (rc <= 0) {
            torn = rc < 0;
            break;
        }
        uint64_t at = off, commit = le_get(p + 1, 8);
        uint32_t crc = cks_crc32c(0, p, len);
        off += JRN_HEAD + len;
        if (commit <= after) {
            free(p);
            continue;
        }
        size_t head_len = 13 + (size_t)le_get(p + 9, 4);
        uint8_t *h = realloc(p, head_len);   /* the data stays in the file */
        if (h)
            p = h;
        if (rs->n == rs->cap) {
            size_t cap = rs->cap ? 2 * rs->cap : 256;
            raw_rec *g = realloc(rs->v, cap * sizeof *g);
            if (!g) {
                free(p);
                torn = 1;
                break;
            }
            rs->v = g;
            rs->cap = cap;
        }
        rs->v[rs->n++] = (raw_rec){commit, crc, p, head_len, len, file, at};
    }
    close(fd);
    return torn;
}

/* The payload of the record whose frame is at off in path, read and
 * checked again (malloc'd), or NULL. */
static uint8_t *reread(const char *path, uint64_t off, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t *p = NULL;
    if (fd >= 0 && read_frame(fd, off, &p, len) != 1)
        p = NULL;
    if (fd >= 0)
        close(fd);
    return p;
}

int jrn_read_data(const char *path, uint64_t offset, uint8_t **data, size_t *len,
                  cf_err *err)
{
    size_t n;
    *data = NULL;
    *len = 0;
    uint8_t *p = reread(path, offset, &n);
    if (!p)
        return cf_fail(err, CF_ECORRUPT, "journal %s: the record at %llu cannot be read "
                       "again (the file changed, or a read failed)", path,
                       (unsigned long long)offset);
    size_t head = 13 + (size_t)le_get(p + 9, 4);
    if (n > head) {
        memmove(p, p + head, n - head);
        *data = p;
        *len = n - head;
    } else {
        free(p);
    }
    return 0;
}

static int cmp_rec(const void *a, const void *b)
{
    const raw_rec *x = a, *y = b;
    if (x->commit != y->commit)
        return x->commit < y->commit ? -1 : 1;
    if (x->crc != y->crc)
        return x->crc < y->crc ? -1 : 1;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    if (x->head_len != y->head_len)
        return x->head_len < y->head_len ? -1 : 1;
    return memcmp(x->head, y->head, x->head_len);
}

static void rec_set_free(rec_set *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->v[i].head);
    for (size_t i = 0; i < rs->npaths; i++)
        free(rs->paths[i]);
    free(rs->v);
    free(rs->paths);
    memset(rs, 0, sizeof *rs);
}

/* Sort rs by (commit, CRC, length, JSON) and drop the copies of one
 * record (the same record from several disks; the CRC covers the data):
 * how many are left. */
static size_t sort_unique(rec_set *rs)
{
    if (rs->n > 1)
        qsort(rs->v, rs->n, sizeof *rs->v, cmp_rec);
    size_t o = 0;
    for (size_t i = 0; i < rs->n; i++) {
        if (o > 0 && cmp_rec(&rs->v[o - 1], &rs->v[i]) == 0) {
            free(rs->v[i].head);
            continue;
        }
        rs->v[o++] = rs->v[i];
    }
    return rs->n = o;
}

/* A raw record's parts: 1, 0 a newer record version, -1 damaged (its
 * JSON does not parse, or "rv" is malformed). r->fields is a new
 * reference when 1. */
static int parse_rec(const raw_rec *raw, jrn_record *r)
{
    const uint8_t *p = raw->head;
    size_t tl = (size_t)le_get(p + 9, 4);
    json_error_t jerr;
    json_t *fields = json_loadb((const char *)p + 13, tl, JSON_REJECT_DUPLICATES, &jerr);
    json_t *rv = json_object_get(fields, "rv");
    json_int_t version = rv ? (json_is_integer(rv) ? json_integer_value(rv) : -1) : 1;
    if (!json_is_object(fields) || version < 1 || version > JRN_RECORD_VERSION) {
        int rc = json_is_object(fields) && version > JRN_RECORD_VERSION ? 0 : -1;
        json_decref(fields);
        return rc;
    }
    *r = (jrn_record){.type = (jrn_type)p[0], .version = (int)version, .commit = raw->commit,
                      .fields = fields, .len = raw->len - raw->head_len};
    return 1;
}

int jrn_replay(const ds_set *set, uint64_t after, int (*cb)(void *ctx,
               const jrn_record *r), void *ctx, int *files, int *torn, int *newer,
               cf_err *err)
{
    char lineage[33];
    hex_encode(set->lineage, DS_LINEAGE_LEN, lineage, sizeof lineage);
    size_t ll = strlen(lineage);
    rec_set rs = {0};
    *files = *torn = *newer = 0;
    for (int i = 0; i < set->n; i++) {
        char dir[PATH_MAX];
        if (!set->disks[i].online)
            continue;
        snprintf(dir, sizeof dir, "%s/" JRN_DIR, set->disks[i].path);
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            char path[PATH_MAX];
            if (strncmp(de->d_name, lineage, ll) != 0 || de->d_name[ll] != '-' ||
                (size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path)
                continue;
            (*files)++;
            *torn += read_file(path, after, &rs);
        }
        if (d)
            closedir(d);
    }
    int rc = 0;
    for (size_t i = sort_unique(&rs); i > 0 && rc == 0; i--) {
        jrn_record r;
        const raw_rec *raw = &rs.v[rs.n - i];
        int ok = parse_rec(raw, &r);
        r.path = ok == 1 ? rs.paths[raw->file] : NULL;
        r.offset = raw->off;
        if (ok < 0)
            (*torn)++;
        else if (ok == 0)
            (*newer)++;
        else if (cb(ctx, &r) != 0)
            rc = cf_fail(err, CF_EINTERNAL, "journal replay stopped");
        json_decref(ok == 1 ? r.fields : NULL);
    }
    rec_set_free(&rs);
    return rc;
}

/* ---- rotation: pruning with carry-forward ------------------------------ */

typedef struct old_files {
    char (*path)[PATH_MAX];
    size_t n, cap;
} old_files;

/* Add disk's files of the lineage whose records are all at or below
 * `covered` (a later file begins at or below it) to out. */
static void covered_files(jrn *j, const char *disk, uint64_t covered, old_files *out)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/" JRN_DIR, disk);
    DIR *d = opendir(dir);
    if (!d)
        return;
    typedef struct { uint64_t first; char name[NAME_MAX + 1]; } ent;
    ent *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    size_t ll = strlen(j->lineage);
    while ((de = readdir(d)) != NULL) {
        unsigned long long first;
        if (strncmp(de->d_name, j->lineage, ll) != 0 || de->d_name[ll] != '-' ||
            sscanf(de->d_name + ll + 1, "%12llu-", &first) != 1)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            ent *g = realloc(v, cap * sizeof *g);
            if (!g)
                break;
            v = g;
        }
        v[n].first = first;
        snprintf(v[n].name, sizeof v[n].name, "%s", de->d_name);
        n++;
    }
    closedir(d);
    for (size_t a = 0; a < n; a++) {
        bool later = false;            /* a file after this one begins <= covered */
        for (size_t b = 0; b < n && !later; b++)
            later = b != a && v[b].first > v[a].first && v[b].first <= covered;
        if (!later)
            continue;
        if (out->n == out->cap) {
            size_t c = out->cap ? 2 * out->cap : 16;
            char (*g)[PATH_MAX] = realloc(out->path, c * sizeof *g);
            if (!g)
                break;
            out->path = g;
            out->cap = c;
        }
        if ((size_t)snprintf(out->path[out->n], PATH_MAX, "%s/%s", dir, v[a].name) <
            PATH_MAX)
            out->n++;
    }
    free(v);
}

void jrn_rotate(jrn *j, uint64_t commit, jrn_keep_cb keep, void *ctx)
{
    int64_t now = wall_ms();
    int fresh[RS_MAX_SHARDS];
    for (int i = 0; i < RS_MAX_SHARDS; i++)
        fresh[i] = i < j->set->n && j->set->disks[i].online &&
                   ds_write_fault(j->set, i) == DS_WF_NONE ? open_file(j, i, commit + 1, now)
                                                           : -1;
    jrn_sync(j);
    pthread_mutex_lock(&j->lock);
    for (int i = 0; i < RS_MAX_SHARDS; i++) {
        if (j->fd[i] >= 0) {
            if (j->dirty[i])
                fio_fdatasync(j->fd[i]);    /* what was appended since the sync above */
            fio_close(j->fd[i]);
        }
        j->fd[i] = fresh[i];
        j->dirty[i] = false;
        j->dropped[i] = false;
    }
    pthread_mutex_unlock(&j->lock);
    /* The files to prune, their records read once (copies on several
     * disks are one), the live ones carried into the new files and made
     * durable before any old file goes. A file that cannot be read whole
     * is kept. */
    old_files old = {0};
    for (int i = 0; i < j->set->n; i++)
        if (j->set->disks[i].online)
            covered_files(j, j->set->disks[i].path, second_newest(j, j->set->disks[i].path),
                          &old);
    if (old.n == 0)
        return;
    pthread_mutex_lock(&j->lock);
    uint64_t failures = j->failures;
    pthread_mutex_unlock(&j->lock);
    rec_set rs = {0};
    bool *torn = calloc(old.n, sizeof *torn);
    /* rs.paths[f] is old.path[f]: a file read_file could not note (out of
     * memory) stops the pruning (every old file is kept) */
    for (size_t f = 0; torn && f < old.n; f++)
        if ((torn[f] = read_file(old.path[f], 0, &rs) != 0) && rs.npaths != f + 1) {
            free(torn);
            torn = NULL;
        }
    size_t n = torn ? sort_unique(&rs) : 0;
    for (size_t i = 0; i < n; i++) {
        jrn_record r;
        if (parse_rec(&rs.v[i], &r) != 1)
            continue;
        const raw_rec *raw = &rs.v[i];
        if (keep(ctx, &r)) {
            size_t len;                /* the record byte for byte, data included */
            uint8_t *payload = reread(rs.paths[raw->file], raw->off, &len);
            uint8_t *framed = payload ? malloc(JRN_HEAD + len) : NULL;
            if (framed) {
                memcpy(framed, JRN_MAGIC, 4);
                le_put(framed + 4, len, 4);
                le_put(framed + 8, raw->crc, 4);
                memcpy(framed + JRN_HEAD, payload, len);
                append_framed(j, framed, JRN_HEAD + len);
            } else {
                torn[raw->file] = true;   /* not carried: its file stays */
            }
            free(framed);
            free(payload);
        }
        json_decref(r.fields);
    }
    rec_set_free(&rs);
    jrn_sync(j);
    pthread_mutex_lock(&j->lock);
    bool carried = j->failures == failures;   /* else keep every old file */
    pthread_mutex_unlock(&j->lock);
    for (size_t f = 0; torn && carried && f < old.n; f++) {
        if (torn[f])
            continue;
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", old.path[f]);
        char *slash = strrchr(dir, '/');
        cf_err err;
        if (fio_unlink(old.path[f]) == 0 && slash) {
            *slash = '\0';
            fsu_fsync_dir(dir, &err);
        }
    }
    free(torn);
    free(old.path);
}
