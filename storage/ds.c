/*
 * storage/ds.c - formatting and checking the disk directories.
 *
 * A disk's identity is its format.json. ds_open reads every disk first and
 * decides without writing: all blank -> a fresh set (new set id and
 * lineage); otherwise the first formatted disk defines the set and every
 * other disk must agree with it. ds_format writes what is missing.
 * format.json is written as a temp file, fsynced, renamed, and the
 * directory fsynced, so a crash never leaves a half-written identity.
 */
#include "storage/ds.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/checksum.h"
#include "storage/crypto.h"
#include "common/fsutil.h"
#include "common/hex.h"

#define DS_DEFAULT_BLOCK (1u << 20)
#define DS_FORMAT_MAX 4096

typedef struct disk_format {
    ds_state state;
    uint8_t set_id[DS_SET_ID_LEN];
    bool has_lineage;
    uint8_t lineage[DS_LINEAGE_LEN];
    int index, count, k, m;
    uint32_t block_size;
} disk_format;

static int json_int(json_t *root, const char *name, int lo, long long hi,
                    long long *out)
{
    json_t *v = json_object_get(root, name);
    if (!json_is_integer(v))
        return -1;
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

/* A 16-byte id written as 32 hex characters; -1 if not exactly that. */
static int hex_id(const char *hex, uint8_t out[16])
{
    size_t len = 0;
    return hex && hex_decode(hex, out, 16, &len) == 0 && len == 16 ? 0 : -1;
}

/* Parse format.json text; on failure says which field is wrong. */
static int parse_format(const char *path, const char *text, size_t len,
                        disk_format *f, cf_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return cf_fail(err, CF_ECONFIG, "%s: not a coffer format file (%s)",
                       path, root ? "not an object" : jerr.text);
    }
    const char *bad = NULL;
    bool newer = false;
    long long idx = 0, cnt = 0, k = 0, m = 0, bs = 0, ver = 0;
    const char *fmt = json_string_value(json_object_get(root, "format"));
    const char *sid = json_string_value(json_object_get(root, "set_id"));
    json_t *lin = json_object_get(root, "lineage");
    bool has_lineage = lin != NULL;     /* version 2 requires it */
    if (!fmt || strcmp(fmt, "coffer-disk") != 0)
        bad = "format";
    else if (json_int(root, "version", 1, INT_MAX, &ver) < 0)
        bad = "version";
    else if (ver > DS_FORMAT_VERSION)
        newer = true;                /* its other fields may mean something else */
    else if (hex_id(sid, f->set_id) < 0)
        bad = "set_id";
    else if ((ver >= 2 || has_lineage) &&
             hex_id(json_string_value(lin), f->lineage) < 0)
        bad = "lineage";
    else if (json_int(root, "disk_count", 1, RS_MAX_SHARDS, &cnt) < 0)
        bad = "disk_count";
    else if (json_int(root, "disk_index", 0, cnt - 1, &idx) < 0)
        bad = "disk_index";
    else if (json_int(root, "k", 1, cnt, &k) < 0)
        bad = "k";
    else if (json_int(root, "m", 0, cnt - k, &m) < 0 || k + m != cnt)
        bad = "m";
    else if (json_int(root, "block_size", 4096, 64 << 20, &bs) < 0 || bs % 64)
        bad = "block_size";
    json_decref(root);
    if (newer)
        return cf_fail(err, CF_ECONFIG, "%s: disk format version %lld is newer than this "
                       "cofferd %s (knows up to %d)", path, ver, PACKAGE_VERSION,
                       DS_FORMAT_VERSION);
    if (bad)
        return cf_fail(err, CF_ECONFIG, "%s: field \"%s\" is missing or invalid",
                       path, bad);
    f->state = DS_FORMATTED;
    f->has_lineage = has_lineage;
    f->index = (int)idx;
    f->count = (int)cnt;
    f->k = (int)k;
    f->m = (int)m;
    f->block_size = (uint32_t)bs;
    return 0;
}

/* Read one disk's format; a missing directory or file is blank (the caller
 * decides whether blank is acceptable), an unreadable directory offline. */
static int read_format(const char *dir, disk_format *f, cf_err *err)
{
    char path[PATH_MAX];
    memset(f, 0, sizeof *f);
    snprintf(path, sizeof path, "%s/format.json", dir);
    struct stat st;
    if (stat(dir, &st) != 0) {
        f->state = errno == ENOENT ? DS_BLANK : DS_OFFLINE;
        return 0;
    }
    if (!S_ISDIR(st.st_mode))
        return cf_fail(err, CF_ECONFIG, "disk %s is not a directory", dir);
    char text[DS_FORMAT_MAX];
    size_t len = 0;
    int rc = fsu_read_small(path, text, sizeof text, &len);
    if (rc == -ENOENT) {
        f->state = DS_BLANK;
        return 0;
    }
    if (rc == -EFBIG)
        return cf_fail(err, CF_ECONFIG, "%s: too large to be a format file", path);
    if (rc < 0) {
        f->state = DS_OFFLINE;
        return 0;
    }
    return parse_format(path, text, len, f, err);
}

static int make_layout_dirs(const char *dir, cf_err *err)
{
    char path[PATH_MAX];
    if (fsu_mkdir_p(dir, err) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/tmp", dir);
    if (fsu_mkdir_p(path, err) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/snapshots", dir);
    if (fsu_mkdir_p(path, err) < 0)
        return -1;
    for (int i = 0; i < 256; i++) {
        snprintf(path, sizeof path, "%s/objects/%02x", dir, i);
        if (fsu_mkdir_p(path, err) < 0)
            return -1;
    }
    return 0;
}

static void replacing_path(const ds_disk *d, char *out, size_t cap)
{
    snprintf(out, cap, "%s/" DS_REPLACING_FILE, d->path);
}

static int write_format(const ds_set *set, int i, cf_err *err)
{
    const char *dir = set->disks[i].path;
    char sid[2 * DS_SET_ID_LEN + 1], lin[2 * DS_LINEAGE_LEN + 1];
    hex_encode(set->set_id, DS_SET_ID_LEN, sid, sizeof sid);
    hex_encode(set->lineage, DS_LINEAGE_LEN, lin, sizeof lin);
    json_t *root = json_pack("{s:s, s:i, s:s, s:s, s:i, s:i, s:i, s:i, s:i}",
                             "format", "coffer-disk", "version", DS_FORMAT_VERSION,
                             "set_id", sid, "lineage", lin, "disk_index", i,
                             "disk_count", set->n, "k", set->k, "m", set->m,
                             "block_size", (json_int_t)set->block_size);
    char *text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    if (!text)
        return cf_fail(err, CF_ENOMEM, "cannot build format.json for %s", dir);
    int rc = make_layout_dirs(dir, err);
    if (rc == 0) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/format.json", dir);
        rc = fsu_write_atomic(path, text, strlen(text), 0644, err);
    }
    free(text);
    return rc;
}

/* Check a formatted disk against the set's reference format. */
static int check_member(const ds_set *set, int i, const disk_format *f,
                        cf_err *err)
{
    const char *dir = set->disks[i].path;
    if (memcmp(f->set_id, set->set_id, DS_SET_ID_LEN) != 0)
        return cf_fail(err, CF_ECONFIG,
                       "disk %s belongs to another disk set (its set id differs)",
                       dir);
    if (f->count != set->n || f->k != set->k || f->m != set->m ||
        f->block_size != set->block_size)
        return cf_fail(err, CF_ECONFIG,
                       "disk %s has layout %d disks %d+%d block %u, the set has "
                       "%d disks %d+%d block %u", dir, f->count, f->k, f->m,
                       f->block_size, set->n, set->k, set->m, set->block_size);
    if (f->index != i)
        return cf_fail(err, CF_ECONFIG,
                       "disk %s is disk %d of its set but is configured in "
                       "position %d", dir, f->index, i);
    if (f->has_lineage && set->has_lineage &&
        memcmp(f->lineage, set->lineage, DS_LINEAGE_LEN) != 0)
        return cf_fail(err, CF_ECONFIG,
                       "disk %s records another index lineage than the other disks "
                       "of its set", dir);
    return 0;
}

/* The first formatted disk defines the set; explicit k/m must match it. */
static int adopt_reference(ds_set *set, const disk_format *ref, const char *dir,
                           int want_k, int want_m, cf_err *err)
{
    if (ref->count != set->n)
        return cf_fail(err, CF_ECONFIG,
                       "disk %s was formatted for a set of %d disks, %d are "
                       "configured", dir, ref->count, set->n);
    if ((want_k && want_k != ref->k) || (want_m && want_m != ref->m))
        return cf_fail(err, CF_ECONFIG,
                       "configured layout %d+%d differs from the formatted %d+%d "
                       "(disk %s); the layout is fixed when a set is formatted",
                       want_k, want_m, ref->k, ref->m, dir);
    memcpy(set->set_id, ref->set_id, DS_SET_ID_LEN);
    set->k = ref->k;
    set->m = ref->m;
    set->block_size = ref->block_size;
    return 0;
}

static int choose_new_layout(ds_set *set, int want_k, int want_m,
                             uint32_t block_size, cf_err *err)
{
    if (want_k || want_m) {
        if (want_k < 1 || want_m < 0 || want_k + want_m != set->n)
            return cf_fail(err, CF_ECONFIG,
                           "layout %d+%d does not fit %d disks (k + m must equal "
                           "the disk count)", want_k, want_m, set->n);
        set->k = want_k;
        set->m = want_m;
    } else if (rs_default_layout(set->n, &set->k, &set->m) < 0) {
        return cf_fail(err, CF_ECONFIG, "no layout for %d disks", set->n);
    }
    set->block_size = block_size ? block_size : DS_DEFAULT_BLOCK;
    if (set->block_size < 4096 || set->block_size > (64u << 20) ||
        set->block_size % 64)
        return cf_fail(err, CF_ECONFIG,
                       "block size %u must be a multiple of 64 in 4 KiB..64 MiB",
                       set->block_size);
    set->fresh = true;
    set->has_lineage = true;
    if (crypt_random(set->set_id, DS_SET_ID_LEN, err) < 0)
        return -1;
    return crypt_random(set->lineage, DS_LINEAGE_LEN, err);
}

/* Check every formatted disk against the reference; the lineage comes
 * from the first disk that records one. */
static int check_members(ds_set *set, const disk_format *fmt, cf_err *err)
{
    for (int i = 0; i < set->n && !set->has_lineage; i++)
        if (fmt[i].state == DS_FORMATTED && fmt[i].has_lineage) {
            memcpy(set->lineage, fmt[i].lineage, DS_LINEAGE_LEN);
            set->has_lineage = true;
        }
    for (int i = 0; i < set->n; i++) {
        set->disks[i].state = fmt[i].state;
        set->disks[i].has_lineage = fmt[i].has_lineage;
        set->disks[i].online = fmt[i].state == DS_FORMATTED;
        if (fmt[i].state == DS_FORMATTED && check_member(set, i, &fmt[i], err) < 0)
            return -1;
    }
    return 0;
}

int ds_open(ds_set *set, const char *const *paths, int n, int want_k, int want_m,
            uint32_t block_size, cf_err *err)
{
    memset(set, 0, sizeof *set);
    if (n < 1 || n > RS_MAX_SHARDS)
        return cf_fail(err, CF_ECONFIG, "%d disks configured; 1 to %d are supported",
                       n, RS_MAX_SHARDS);
    set->n = n;
    disk_format fmt[RS_MAX_SHARDS];
    int ref = -1;
    for (int i = 0; i < n; i++) {
        set->disks[i].path = strdup(paths[i]);
        if (!set->disks[i].path) {
            ds_close(set);
            return cf_fail(err, CF_ENOMEM, "out of memory");
        }
        if (read_format(paths[i], &fmt[i], err) < 0) {
            ds_close(set);
            return -1;
        }
        if (ref < 0 && fmt[i].state == DS_FORMATTED)
            ref = i;
        char mark[PATH_MAX];
        replacing_path(&set->disks[i], mark, sizeof mark);
        atomic_init(&set->disks[i].replacing,
                    fmt[i].state == DS_FORMATTED && access(mark, F_OK) == 0);
    }
    int rc = ref >= 0
        ? adopt_reference(set, &fmt[ref], paths[ref], want_k, want_m, err)
        : choose_new_layout(set, want_k, want_m, block_size, err);
    if (rc == 0)
        rc = check_members(set, fmt, err);
    if (rc < 0)
        ds_close(set);
    return rc;
}

/* Mark a replacement before it is formatted (so a crash in between leaves
 * it blank, a replacement again). */
static int mark_replacing(ds_disk *d, cf_err *err)
{
    char path[PATH_MAX];
    static const char note[] = "formatted as a replacement; heal --all has not filled it "
                               "yet\n";
    if (fsu_mkdir_p(d->path, err) < 0)
        return -1;
    replacing_path(d, path, sizeof path);
    if (fsu_write_atomic(path, note, sizeof note - 1, 0644, err) < 0)
        return -1;
    atomic_store(&d->replacing, true);
    return 0;
}

void ds_replaced_filled(ds_set *set)
{
    for (int i = 0; i < set->n; i++) {
        ds_disk *d = &set->disks[i];
        if (!atomic_load(&d->replacing))
            continue;
        char path[PATH_MAX];
        replacing_path(d, path, sizeof path);
        cf_err err;
        if ((unlink(path) == 0 || errno == ENOENT) && fsu_fsync_dir(d->path, &err) == 0) {
            atomic_store(&d->replacing, false);
            fprintf(stderr, "coffer: disk %d (%s): replacement filled by heal\n", i,
                    d->path);
        }
    }
}

int ds_format(ds_set *set, cf_err *err)
{
    if (!set->has_lineage)
        return cf_fail(err, CF_EINTERNAL, "disk set: no lineage to format with");
    for (int i = 0; i < set->n; i++) {
        ds_disk *d = &set->disks[i];
        bool write = d->state == DS_BLANK || (d->state == DS_FORMATTED && !d->has_lineage);
        if (!write)
            continue;
        cf_err werr;
        bool replacement = d->state == DS_BLANK && !set->fresh;
        if ((!replacement || mark_replacing(d, &werr) == 0) &&
            write_format(set, i, &werr) == 0) {
            d->state = DS_FORMATTED;
            d->has_lineage = true;
            d->online = true;
            if (replacement)
                fprintf(stderr, "coffer: disk %d (%s) was empty: formatted as disk %d of "
                        "the set, a replacement; heal --all rebuilds its shards\n", i,
                        d->path, i);
        } else if (set->fresh || d->state == DS_FORMATTED) {
            *err = werr;              /* a new set, or a disk we could read */
            return -1;
        }                             /* else: a replacement we cannot use */
    }
    if (ds_online_count(set) < set->k)
        return cf_fail(err, CF_EQUORUM,
                       "only %d of %d disks are readable; at least k = %d are needed",
                       ds_online_count(set), set->n, set->k);
    return 0;
}

/* An empty directory, or one holding only a fresh file system's lost+found. */
static bool dir_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return false;
    bool empty = true;
    struct dirent *de;
    while (empty && (de = readdir(d)))
        empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
                strcmp(de->d_name, "lost+found") == 0;
    closedir(d);
    return empty;
}

int ds_replace(ds_set *set, int i, cf_err *err)
{
    ds_disk *d = &set->disks[i];
    switch (ds_probe(set, i)) {
    case DS_PROBE_OK:
        return cf_fail(err, CF_EEXISTS, "disk %d (%s) is a disk of this set; to replace it, "
                       "put an empty directory in its place first", i, d->path);
    case DS_PROBE_FOREIGN:
        return cf_fail(err, CF_ECONFIG, "disk %d (%s) holds another set's format.json (or "
                       "a malformed one): refused, never formatted", i, d->path);
    case DS_PROBE_UNREADABLE:
        return cf_fail(err, CF_EIO, "disk %d (%s) cannot be read", i, d->path);
    case DS_PROBE_MISSING:
        break;
    }
    struct stat st;
    if (stat(d->path, &st) != 0 || !S_ISDIR(st.st_mode))
        return cf_fail(err, CF_EIO, "disk %d (%s) is not there: mount or create the new "
                       "disk's directory first", i, d->path);
    if (!dir_empty(d->path))
        return cf_fail(err, CF_ENOTEMPTY, "disk %d (%s) is not empty: a replacement is an "
                       "empty directory", i, d->path);
    if (mark_replacing(d, err) < 0 || write_format(set, i, err) < 0)
        return -1;
    d->state = DS_FORMATTED;
    d->has_lineage = true;
    atomic_store(&d->wfault, DS_WF_NONE);
    atomic_store(&d->online, true);
    fprintf(stderr, "coffer: disk %d (%s) was empty: formatted as disk %d of the set, a "
            "replacement (coffer disks replace); heal --all rebuilds its shards\n", i,
            d->path, i);
    return 0;
}

int ds_online_count(const ds_set *set)
{
    int c = 0;
    for (int i = 0; i < set->n; i++)
        c += set->disks[i].online;
    return c;
}

void ds_note(const ds_set *set, int i, ds_error kind)
{
    /* the set is shared read-only; its counters are atomics meant to move */
    ds_disk *d = (ds_disk *)&set->disks[i];
    atomic_fetch_add_explicit(&d->errors[kind], 1, memory_order_relaxed);
}

void ds_note_direct(const ds_set *set)
{
    atomic_fetch_add_explicit(&((ds_set *)set)->direct_files, 1, memory_order_relaxed);
}

uint64_t ds_errors(const ds_set *set, int i, ds_error kind)
{
    return atomic_load_explicit(&set->disks[i].errors[kind], memory_order_relaxed);
}

static ds_wfault wfault_of(int errnum)
{
    switch (errnum) {
    case EROFS: case EACCES: case EPERM: return DS_WF_READONLY;
    case ENOSPC: case EDQUOT: return DS_WF_FULL;
    default: return DS_WF_FAILING;
    }
}

static void leave_write_set(const ds_set *set, int i, ds_wfault f, const char *why)
{
    ds_disk *d = (ds_disk *)&set->disks[i];
    atomic_store(&d->wretry_ms, clock_mono_ms() + DS_WRITE_RETRY_MS);
    if (atomic_exchange(&d->wfault, (int)f) != (int)f)
        fprintf(stderr, "coffer: disk %d (%s): %s: out of the write set, %s; its missing "
                "shards are queued for heal\n", i, d->path, why, ds_wfault_name(f));
}

void ds_write_failed(const ds_set *set, int i, int errnum)
{
    char why[128];
    snprintf(why, sizeof why, "a shard write failed (%s)", strerror(errnum));
    leave_write_set(set, i, wfault_of(errnum), why);
}

void ds_write_ok(const ds_set *set, int i)
{
    ds_disk *d = (ds_disk *)&set->disks[i];
    if (atomic_exchange(&d->wfault, DS_WF_NONE) != DS_WF_NONE)
        fprintf(stderr, "coffer: disk %d (%s): a shard was written: back in the write "
                "set\n", i, d->path);
}

bool ds_write_skip(const ds_set *set, int i)
{
    ds_disk *d = (ds_disk *)&set->disks[i];
    if (atomic_load(&d->wfault) == DS_WF_NONE)
        return false;
    int_fast64_t due = atomic_load(&d->wretry_ms), now = clock_mono_ms();
    /* one caller wins the retry; the others keep leaving the disk out */
    if (due > now ||
        !atomic_compare_exchange_strong(&d->wretry_ms, &due, now + DS_WRITE_RETRY_MS))
        return true;
    return ds_probe_leave(set, i) != DS_PROBE_OK;  /* swapped or gone: not yet */
}

ds_probe_result ds_probe_leave(const ds_set *set, int i)
{
    ds_probe_result r = ds_probe(set, i);
    if (set->disks[i].online && (r == DS_PROBE_MISSING || r == DS_PROBE_FOREIGN))
        leave_write_set(set, i, DS_WF_FAILING,
                        r == DS_PROBE_MISSING ? "its format.json is gone"
                                              : "its format.json is another set's");
    return r;
}

ds_wfault ds_write_fault(const ds_set *set, int i)
{
    return (ds_wfault)atomic_load(&set->disks[i].wfault);
}

const char *ds_wfault_name(ds_wfault f)
{
    static const char *const names[] = {"", "readonly", "full", "failing"};
    return names[f];
}

ds_probe_result ds_probe(const ds_set *set, int i)
{
    disk_format f;
    cf_err err;
    if (read_format(set->disks[i].path, &f, &err) < 0)
        return DS_PROBE_FOREIGN;      /* malformed: not this set's format.json */
    if (f.state == DS_BLANK)
        return DS_PROBE_MISSING;
    if (f.state == DS_OFFLINE)
        return DS_PROBE_UNREADABLE;
    return check_member(set, i, &f, &err) < 0 ? DS_PROBE_FOREIGN : DS_PROBE_OK;
}

void ds_close(ds_set *set)
{
    for (int i = 0; i < RS_MAX_SHARDS; i++) {
        free(set->disks[i].path);
        set->disks[i].path = NULL;
    }
}
