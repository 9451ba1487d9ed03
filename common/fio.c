/*
 * common/fio.c - durable-I/O calls and their fault-injection hook (see
 * fio.h for the contract and the rule syntax).
 *
 * Each wrapper is written once: it asks gate() whether the operation may
 * run (which, in a fault build, counts it, applies the rules and may cut
 * the power), tells the power-loss log what it is about to do, and makes
 * the system call. Without COFFER_FAULTS gate() and the log are empty
 * inline functions, so a release build pays nothing.
 *
 * The power-loss log (fault builds, only while a powercut rule is armed):
 *   - per inode written through us: a descriptor of our own on it (opened
 *     read-write through /proc/self/fd), its size at the last successful
 *     sync, and the old bytes of every synced region overwritten since;
 *   - per directory operation (create, rename, unlink): what it did, the
 *     directory that must be fsynced to keep it, and for a rename over a
 *     file or an unlink a hard link that keeps the old file;
 *   - an fsync of a file clears its undo data; an fsync of a directory
 *     makes its pending operations durable.
 * The cut undoes, newest first, every directory operation still pending,
 * then restores each inode's overwritten bytes and truncates it to its
 * synced size, and _exits. One mutex guards the log and the rules.
 */
#include "common/fio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef COFFER_FAULTS

#include <pthread.h>
#include <stdatomic.h>

#define FIO_MAX_RULES 8
#define FIO_ANY FIO_NCLASSES

enum { ACT_FAIL, ACT_POWERCUT, ACT_KILL };

typedef struct fio_rule {
    int cls;                     /* fio_class, or FIO_ANY */
    uint64_t n;                  /* 1-based */
    bool sticky;
    int err;
    int action;
    char path[PATH_MAX];         /* "" : every path */
    uint64_t seen;               /* matching operations so far */
} fio_rule;

typedef struct undo_bytes {
    off_t off;
    size_t len;
    uint8_t *old;
} undo_bytes;

typedef struct inode_log {
    dev_t dev;
    ino_t ino;
    int fd;                      /* ours, read-write */
    off_t synced;                /* size at the last sync */
    undo_bytes *undo;
    size_t nundo, capundo;
} inode_log;

enum { DOP_CREATE, DOP_RENAME, DOP_UNLINK };

typedef struct dir_op {
    int kind;
    char path[PATH_MAX];         /* created / rename target / unlinked */
    char from[PATH_MAX];         /* rename source */
    char saved[PATH_MAX];        /* link to the replaced or unlinked file, or "" */
    char dir[PATH_MAX];          /* the directory whose fsync keeps it */
} dir_op;

static pthread_mutex_t fio_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fio_once = PTHREAD_ONCE_INIT;
static fio_rule rules[FIO_MAX_RULES];
static atomic_int nrules;
static atomic_bool armed_power;  /* a powercut rule exists: keep the log */
static atomic_uint_fast64_t counts[FIO_NCLASSES];
static atomic_bool fired;
static inode_log *inodes;
static size_t ninodes, capinodes;
static dir_op *dirops;
static size_t ndirops, capdirops;
static uint64_t save_seq;

static const char *const class_names[FIO_NCLASSES + 1] = {
    "write", "fsync", "rename", "walsync", "read", "unlink", "any"};

static int errno_by_name(const char *s, size_t n)
{
    static const struct { const char *name; int e; } names[] = {
        {"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EROFS", EROFS}, {"EDQUOT", EDQUOT},
        {"EINVAL", EINVAL}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n && strncmp(s, names[i].name, n) == 0)
            return names[i].e;
    return 0;
}

/* One rule of the list: CLASS@N[+][=ERRNO][:PATH] | powercut@N | kill@N. */
static int parse_rule(const char *s, size_t len, fio_rule *r)
{
    memset(r, 0, sizeof *r);
    r->err = EIO;
    const char *at = memchr(s, '@', len);
    if (!at)
        return -1;
    size_t cl = (size_t)(at - s);
    r->cls = -1;
    for (int c = 0; c <= FIO_ANY; c++)
        if (strlen(class_names[c]) == cl && strncmp(s, class_names[c], cl) == 0)
            r->cls = c;
    if (cl == 8 && strncmp(s, "powercut", 8) == 0) {
        r->cls = FIO_ANY;
        r->action = ACT_POWERCUT;
    } else if (cl == 4 && strncmp(s, "kill", 4) == 0) {
        r->cls = FIO_ANY;
        r->action = ACT_KILL;
    }
    if (r->cls < 0)
        return -1;
    const char *p = at + 1, *end = s + len;
    while (p < end && *p >= '0' && *p <= '9') {
        if (r->n > UINT64_MAX / 10 - 10)
            return -1;
        r->n = r->n * 10 + (uint64_t)(*p++ - '0');
    }
    if (r->n == 0)
        return -1;
    if (p < end && *p == '+' && r->action == ACT_FAIL) {
        r->sticky = true;
        p++;
    }
    if (p < end && *p == '=' && r->action == ACT_FAIL) {
        const char *q = ++p;
        while (p < end && *p != ':')
            p++;
        if (!(r->err = errno_by_name(q, (size_t)(p - q))))
            return -1;
    }
    if (p < end && *p == ':') {
        size_t n = (size_t)(end - ++p);
        if (n == 0 || n >= sizeof r->path)
            return -1;
        memcpy(r->path, p, n);
        p = end;
    }
    return p == end ? 0 : -1;
}

static int set_rules_locked(const char *spec)
{
    static fio_rule parsed[FIO_MAX_RULES];   /* under the lock (or the once) */
    memset(parsed, 0, sizeof parsed);
    int n = 0;
    while (spec && *spec) {
        size_t len = strcspn(spec, ",");
        if (len > 0) {
            if (n == FIO_MAX_RULES || parse_rule(spec, len, &parsed[n]) < 0)
                return -1;
            n++;
        }
        spec += len + (spec[len] == ',');
    }
    memcpy(rules, parsed, sizeof parsed);
    bool power = false;
    for (int i = 0; i < n; i++)
        power |= parsed[i].action == ACT_POWERCUT;
    atomic_store(&nrules, n);
    atomic_store(&armed_power, power);
    for (int c = 0; c < FIO_NCLASSES; c++)
        atomic_store(&counts[c], 0);
    atomic_store(&fired, false);
    return 0;
}

static void write_counts(void)
{
    const char *file = getenv("COFFER_FIO_COUNTS");
    FILE *f = file && *file ? fopen(file, "w") : NULL;
    if (!f)
        return;
    for (int c = 0; c < FIO_NCLASSES; c++)
        fprintf(f, "%s %llu\n", class_names[c],
                (unsigned long long)atomic_load(&counts[c]));
    fclose(f);
}

static void init_once(void)
{
    const char *spec = getenv("COFFER_FAULTS");
    if (spec && set_rules_locked(spec) < 0) {
        fprintf(stderr, "coffer: COFFER_FAULTS: malformed rule list \"%s\"\n", spec);
        _exit(2);
    }
    atexit(write_counts);
}

static void path_of_fd(int fd, char *out, size_t cap)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, cap - 1);
    out[n > 0 ? n : 0] = '\0';
}

/* ---- the power-loss log ------------------------------------------------- */

static inode_log *inode_find_locked(int fd, bool add)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return NULL;
    for (size_t i = 0; i < ninodes; i++)
        if (inodes[i].dev == st.st_dev && inodes[i].ino == st.st_ino)
            return &inodes[i];
    if (!add)
        return NULL;
    if (ninodes == capinodes) {
        size_t cap = capinodes ? 2 * capinodes : 64;
        inode_log *grown = realloc(inodes, cap * sizeof *grown);
        if (!grown)
            return NULL;
        inodes = grown;
        capinodes = cap;
    }
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    int own = open(link, O_RDWR | O_CLOEXEC);
    if (own < 0)
        return NULL;
    inode_log *l = &inodes[ninodes++];
    memset(l, 0, sizeof *l);
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    l->fd = own;
    l->synced = st.st_size;      /* what was there before we wrote is kept */
    return l;
}

/* A file first seen at creation holds nothing durable yet. */
static void note_created_locked(int fd)
{
    inode_log *l = inode_find_locked(fd, true);
    if (l)
        l->synced = 0;
}

static void note_write_locked(int fd, off_t off, size_t len)
{
    inode_log *l = inode_find_locked(fd, true);
    if (!l || off >= l->synced || len == 0)
        return;
    size_t n = (size_t)(l->synced - off) < len ? (size_t)(l->synced - off) : len;
    if (l->nundo == l->capundo) {
        size_t cap = l->capundo ? 2 * l->capundo : 8;
        undo_bytes *grown = realloc(l->undo, cap * sizeof *grown);
        if (!grown)
            return;
        l->undo = grown;
        l->capundo = cap;
    }
    uint8_t *old = malloc(n);
    if (!old || pread(l->fd, old, n, off) != (ssize_t)n) {
        free(old);
        return;
    }
    l->undo[l->nundo++] = (undo_bytes){off, n, old};
}

static void note_sync_locked(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        size_t kept = 0;
        for (size_t i = 0; i < ndirops; i++) {
            struct stat ds;
            dir_op *d = &dirops[i];
            if (stat(d->dir, &ds) == 0 && ds.st_dev == st.st_dev &&
                ds.st_ino == st.st_ino) {
                if (d->saved[0])
                    unlink(d->saved);    /* durable: the old file is gone for good */
                continue;
            }
            if (kept != i)
                dirops[kept] = *d;
            kept++;
        }
        ndirops = kept;
        return;
    }
    /* everything in the file is durable now: nothing to undo, so it is
     * forgotten (a later write finds it again, synced at its size then) */
    inode_log *l = inode_find_locked(fd, false);
    if (!l)
        return;
    for (size_t i = 0; i < l->nundo; i++)
        free(l->undo[i].old);
    free(l->undo);
    close(l->fd);
    *l = inodes[--ninodes];
}

static void parent_of(const char *path, char *out)
{
    snprintf(out, PATH_MAX, "%s", path);
    char *slash = strrchr(out, '/');
    if (!slash)
        snprintf(out, PATH_MAX, ".");
    else if (slash == out)
        slash[1] = '\0';
    else
        *slash = '\0';
}

static dir_op *dirop_add_locked(int kind, const char *path)
{
    if (ndirops == capdirops) {
        size_t cap = capdirops ? 2 * capdirops : 64;
        dir_op *grown = realloc(dirops, cap * sizeof *grown);
        if (!grown)
            return NULL;
        dirops = grown;
        capdirops = cap;
    }
    dir_op *d = &dirops[ndirops++];
    memset(d, 0, sizeof *d);
    d->kind = kind;
    snprintf(d->path, sizeof d->path, "%s", path);
    parent_of(path, d->dir);
    return d;
}

/* Keep the file at path under a hidden name beside it, so a lost unlink
 * or rename over it can bring it back. */
static void save_link_locked(const char *path, char saved[PATH_MAX])
{
    saved[0] = '\0';
    if (access(path, F_OK) != 0)
        return;
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.fio-saved-%d-%llu", path, (int)getpid(),
                         (unsigned long long)++save_seq) < sizeof tmp &&
        link(path, tmp) == 0)
        memcpy(saved, tmp, sizeof tmp);
}

static void power_cut_locked(void)
{
    for (size_t i = ndirops; i-- > 0;) {
        dir_op *d = &dirops[i];
        if (d->kind == DOP_CREATE) {
            unlink(d->path);
        } else if (d->kind == DOP_RENAME) {
            rename(d->path, d->from);
            if (d->saved[0])
                rename(d->saved, d->path);
        } else if (d->saved[0]) {
            rename(d->saved, d->path);
        }
    }
    for (size_t i = 0; i < ninodes; i++) {
        inode_log *l = &inodes[i];
        for (size_t u = l->nundo; u-- > 0;)
            if (pwrite(l->fd, l->undo[u].old, l->undo[u].len, l->undo[u].off) < 0)
                break;
        if (ftruncate(l->fd, l->synced) != 0)
            continue;
    }
    write_counts();
    _exit(FIO_POWERCUT_STATUS);
}

/* ---- the gate ------------------------------------------------------------- */

static bool path_matches(const fio_rule *r, int fd, const char *path)
{
    if (!r->path[0])
        return true;
    char buf[PATH_MAX];
    if (!path) {
        path_of_fd(fd, buf, sizeof buf);
        path = buf;
    }
    return strstr(path, r->path) != NULL;
}

/* Count the operation; 0 to go ahead, else the errno to fail with. */
static int gate(fio_class cls, int fd, const char *path)
{
    pthread_once(&fio_once, init_once);
    atomic_fetch_add(&counts[cls], 1);
    if (atomic_load(&nrules) == 0)
        return 0;
    int err = 0;
    pthread_mutex_lock(&fio_lock);
    for (int i = 0; i < nrules; i++) {
        fio_rule *r = &rules[i];
        if ((r->cls != FIO_ANY && r->cls != (int)cls) ||
            (r->cls == FIO_ANY && (cls == FIO_READ || cls == FIO_UNLINK)) ||
            !path_matches(r, fd, path))
            continue;
        r->seen++;
        if (r->seen == r->n || (r->sticky && r->seen > r->n)) {
            if (r->action == ACT_POWERCUT)
                power_cut_locked();
            if (r->action == ACT_KILL) {
                write_counts();
                _exit(FIO_POWERCUT_STATUS);
            }
            err = r->err;
        }
    }
    pthread_mutex_unlock(&fio_lock);
    if (err)
        atomic_store(&fired, true);
    return err;
}

#define LOGGING() (armed_power)
#define LOG_LOCK() pthread_mutex_lock(&fio_lock)
#define LOG_UNLOCK() pthread_mutex_unlock(&fio_lock)

void fio_note_write(int fd, off_t off, size_t len)
{
    if (!LOGGING())
        return;
    LOG_LOCK();
    note_write_locked(fd, off, len);
    LOG_UNLOCK();
}

void fio_note_sync(int fd)
{
    if (!LOGGING())
        return;
    LOG_LOCK();
    note_sync_locked(fd);
    LOG_UNLOCK();
}

void fio_note_open(int fd, const char *path, bool created)
{
    if (!LOGGING() || fd < 0)
        return;
    LOG_LOCK();
    if (created) {
        note_created_locked(fd);
        dirop_add_locked(DOP_CREATE, path);
    } else {
        inode_find_locked(fd, true);
    }
    LOG_UNLOCK();
}

void fio_note_close(int fd)
{
    (void)fd;                    /* our own descriptors outlive the caller's */
}

/* Before a rename over `to` or an unlink of it: keep the old file (saved
 * gets the link, or ""); after: record the operation if it happened, else
 * drop the link. */
static void note_replace(const char *to, char saved[PATH_MAX])
{
    saved[0] = '\0';
    if (!LOGGING())
        return;
    LOG_LOCK();
    save_link_locked(to, saved);
    LOG_UNLOCK();
}

static void note_replaced(int kind, const char *from, const char *to,
                          const char saved[PATH_MAX], bool done)
{
    if (!LOGGING())
        return;
    LOG_LOCK();
    dir_op *d = done ? dirop_add_locked(kind, to) : NULL;
    if (d) {
        snprintf(d->from, sizeof d->from, "%s", from ? from : "");
        memcpy(d->saved, saved, PATH_MAX);
    } else if (saved[0]) {
        unlink(saved);
    }
    LOG_UNLOCK();
}

int fio_check(fio_class cls, const char *path)
{
    return gate(cls, -1, path);
}

int fio_fault_set(const char *spec)
{
    pthread_once(&fio_once, init_once);
    pthread_mutex_lock(&fio_lock);
    int rc = set_rules_locked(spec);
    pthread_mutex_unlock(&fio_lock);
    if (rc < 0)
        errno = EINVAL;
    return rc;
}

uint64_t fio_count(fio_class cls)
{
    return atomic_load(&counts[cls]);
}

bool fio_fault_fired(void)
{
    return atomic_load(&fired);
}

bool fio_faults_built(void)
{
    return true;
}

#else /* no fault hook: direct system calls */

static inline int gate(fio_class cls, int fd, const char *path)
{
    (void)cls, (void)fd, (void)path;
    return 0;
}

enum { DOP_RENAME, DOP_UNLINK };

static inline void note_replace(const char *to, char saved[PATH_MAX])
{
    (void)to;
    saved[0] = '\0';
}

static inline void note_replaced(int kind, const char *from, const char *to,
                                 const char saved[PATH_MAX], bool done)
{
    (void)kind, (void)from, (void)to, (void)saved, (void)done;
}

void fio_note_write(int fd, off_t off, size_t len)
{
    (void)fd, (void)off, (void)len;
}

void fio_note_sync(int fd)
{
    (void)fd;
}

void fio_note_open(int fd, const char *path, bool created)
{
    (void)fd, (void)path, (void)created;
}

void fio_note_close(int fd)
{
    (void)fd;
}

int fio_check(fio_class cls, const char *path)
{
    return gate(cls, -1, path);
}

int fio_fault_set(const char *spec)
{
    if (!spec || !*spec)
        return 0;
    errno = ENOSYS;
    return -1;
}

uint64_t fio_count(fio_class cls)
{
    (void)cls;
    return 0;
}

bool fio_fault_fired(void)
{
    return false;
}

bool fio_faults_built(void)
{
    return false;
}

#endif

/* ---- the wrappers (one copy for both builds) ---------------------------- */

#define GATE(cls, fd, path)                                                    \
    do {                                                                       \
        int gate_err_ = gate((cls), (fd), (path));                            \
        if (gate_err_) {                                                       \
            errno = gate_err_;                                                 \
            return -1;                                                         \
        }                                                                      \
    } while (0)

int fio_open(const char *path, int flags, mode_t mode)
{
    bool existed = !(flags & O_CREAT) || access(path, F_OK) == 0;
    int fd = open(path, flags, mode);
    if (fd >= 0 && (flags & (O_WRONLY | O_RDWR)))
        fio_note_open(fd, path, !existed);
    return fd;
}

int fio_close(int fd)
{
    fio_note_close(fd);
    return close(fd);
}

ssize_t fio_write(int fd, const void *buf, size_t len)
{
    GATE(FIO_WRITE, fd, NULL);
    off_t at = lseek(fd, 0, SEEK_CUR);
    if (at >= 0)
        fio_note_write(fd, at, len);
    return write(fd, buf, len);
}

ssize_t fio_pwrite(int fd, const void *buf, size_t len, off_t off)
{
    GATE(FIO_WRITE, fd, NULL);
    fio_note_write(fd, off, len);
    return pwrite(fd, buf, len, off);
}

ssize_t fio_writev(int fd, const struct iovec *iov, int n)
{
    GATE(FIO_WRITE, fd, NULL);
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += iov[i].iov_len;
    off_t at = lseek(fd, 0, SEEK_CUR);
    if (at >= 0)
        fio_note_write(fd, at, len);
    return writev(fd, iov, n);
}

int fio_ftruncate(int fd, off_t len)
{
    GATE(FIO_WRITE, fd, NULL);
    struct stat st;
    if (fstat(fd, &st) == 0 && len < st.st_size)
        fio_note_write(fd, len, (size_t)(st.st_size - len));
    return ftruncate(fd, len);
}

int fio_fsync(int fd)
{
    GATE(FIO_FSYNC, fd, NULL);
    int rc = fsync(fd);
    if (rc == 0)
        fio_note_sync(fd);
    return rc;
}

int fio_fdatasync(int fd)
{
    GATE(FIO_FSYNC, fd, NULL);
    int rc = fdatasync(fd);
    if (rc == 0)
        fio_note_sync(fd);
    return rc;
}

int fio_walsync(int fd)
{
    GATE(FIO_WALSYNC, fd, NULL);
    int rc = fdatasync(fd);
    if (rc == 0)
        fio_note_sync(fd);
    return rc;
}

int fio_rename(const char *from, const char *to)
{
    GATE(FIO_RENAME, -1, to);
    char saved[PATH_MAX];
    note_replace(to, saved);
    int rc = rename(from, to);
    note_replaced(DOP_RENAME, from, to, saved, rc == 0);
    return rc;
}

ssize_t fio_preadv(int fd, const struct iovec *iov, int n, off_t off)
{
    GATE(FIO_READ, fd, NULL);
    return preadv(fd, iov, n, off);
}

int fio_unlink(const char *path)
{
    GATE(FIO_UNLINK, -1, path);
    char saved[PATH_MAX];
    note_replace(path, saved);
    int rc = unlink(path);
    note_replaced(DOP_UNLINK, NULL, path, saved, rc == 0);
    return rc;
}
