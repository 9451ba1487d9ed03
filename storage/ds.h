/*
 * storage/ds.h - the set of data directories an engine writes shards to.
 *
 * Each disk directory holds format.json: {"format":"coffer-disk",
 * "version":2, "set_id":"<32 hex>", "lineage":"<32 hex>", "disk_index":i,
 * "disk_count":n, "k":k, "m":m, "block_size":B}, plus objects/XX/ (256
 * fan-out directories for shard files), tmp/ (shards being written) and
 * snapshots/ (index snapshots, storage/snapshot.h). Version 1 (coffer
 * 0.1.0) is the same without "lineage"; it is read as is and rewritten as
 * version 2 by ds_format once the engine knows the lineage.
 *
 * The set id names the disks; the lineage names the index history that
 * rules them (created with the set, kept by a restore from a snapshot).
 * The engine refuses an index whose set id or lineage differs.
 *
 * Opening is two steps, so that a refused start writes nothing:
 *
 *   ds_open reads and checks every disk and writes nothing. If no disk is
 *   formatted, the set is fresh: a new set id and lineage are chosen (the
 *   directories may not even exist yet). Otherwise every formatted disk
 *   must carry the same set id, count and layout (and, where recorded, the
 *   same lineage) and sit in its own position; a reachable blank disk is a
 *   replacement, a disk that cannot be read is offline. Refused, naming the
 *   disk and the reason: a disk of another set, of another lineage or in
 *   another position, an unreadable or malformed format.json, a layout that
 *   differs from an explicitly configured one.
 *
 *   ds_format then writes format.json where it is missing (a fresh set, a
 *   replacement disk, which heal fills) or lacks the lineage, and refuses
 *   a set with fewer than k disks online.
 *
 * A format.json of a newer version than DS_FORMAT_VERSION is refused (named
 * with both versions) before any other field of it is read.
 *
 * Bump DS_FORMAT_VERSION when a cofferd that knows only the old format
 * would misread a disk of the new one: a field it must understand, or a
 * new shard header version (shard.h), which an older cofferd would take
 * for a corrupt shard. A field an older cofferd can safely ignore needs no
 * bump. Reading an older version stays supported (doc/design.md).
 */
#ifndef ST_DISKSET_H
#define ST_DISKSET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "storage/rs.h"

#define DS_SET_ID_LEN 16
#define DS_FORMAT_VERSION 2          /* format.json "version" */
#define DS_LINEAGE_LEN 16

typedef enum ds_state { DS_BLANK, DS_FORMATTED, DS_OFFLINE } ds_state;

/* Errors a disk gave since the set was opened, counted where they are
 * detected (segread.c, segwrite.c): a shard file that could not be
 * opened, read or was short (read), could not be created, written, synced
 * or renamed (write), or held a block or header that failed its CRC32C or
 * names another segment (crc). */
typedef enum ds_error { DS_ERR_READ, DS_ERR_WRITE, DS_ERR_CRC, DS_NERRORS } ds_error;

/* The write set. A disk whose shard write failed (it turned read-only,
 * filled up, or gave EIO) leaves the write set: for DS_WRITE_RETRY_MS new
 * segments do not try it, so writers neither wait on it nor count its
 * errors again, and their missing shards are queued for heal like any
 * other. Then one writer (the one that moves the retry time on) tries it
 * again; the first shard published on it, by a writer or by heal, puts it
 * back. A disk is left out only while the others keep a disk of margin
 * over the write quorum (segwrite.c): on 4+2 (quorum 5) a disk out is
 * still tried, on 4+3 or 8+4 one or more are left out. Heal always tries
 * (it is how a disk that is back gets its shards). */
typedef enum ds_wfault {
    DS_WF_NONE,                      /* in the write set */
    DS_WF_READONLY,                  /* EROFS, EACCES, EPERM */
    DS_WF_FULL,                      /* ENOSPC, EDQUOT */
    DS_WF_FAILING                    /* EIO and anything else */
} ds_wfault;
#define DS_WRITE_RETRY_MS 10000

typedef struct ds_disk {
    char *path;
    ds_state state;                  /* what ds_open found */
    bool has_lineage;                /* its format.json records one */
    atomic_bool online;              /* formatted and readable (ds_replace sets it
                                      * while cofferd runs) */
    atomic_uint_fast64_t errors[DS_NERRORS]; /* relaxed counters, see ds_note */
    atomic_bool replacing;           /* a replacement heal has not filled yet */
    atomic_int wfault;               /* ds_wfault */
    atomic_int_fast64_t wretry_ms;   /* clock_mono_ms() of the next try */
} ds_disk;

typedef struct ds_set {
    int n, k, m;
    uint32_t block_size;
    uint8_t set_id[DS_SET_ID_LEN];
    /* The lineage: recorded by some disk (all that record one agree), or
     * chosen for a fresh set. The engine sets it for a set formatted by
     * 0.1.0 (no disk records one) before ds_format. */
    uint8_t lineage[DS_LINEAGE_LEN];
    bool has_lineage;
    bool fresh;                      /* no disk was formatted: a new set */
    /* Shard files are written with O_DIRECT where the file system takes it
     * (storage/shardout.h); set by the engine (st_config.buffered_io). */
    bool direct_io;
    atomic_uint direct_files;        /* shard files opened with O_DIRECT (tests) */
    ds_disk disks[RS_MAX_SHARDS];
} ds_set;

/* Read and check the disks; writes nothing. want_k/want_m 0 = default for
 * n (or whatever the set was formatted with); block_size 0 = 1 MiB (or the
 * formatted one). */
int ds_open(ds_set *set, const char *const *paths, int n, int want_k, int want_m,
            uint32_t block_size, cf_err *err);
/* Write format.json (version 2) to every blank disk and every disk that
 * does not record the lineage (set->has_lineage must be true); then at
 * least k disks must be online (CF_EQUORUM). A fresh set fails if any disk
 * cannot be formatted; a replacement that cannot be is left offline.
 *
 * Replacement: a blank disk of a set that is not fresh (an empty directory
 * put in a missing disk's place) is formatted into its position, said on
 * stderr, and marked replacing: DISK/replacing is written before its
 * format.json, so the mark outlives a restart until ds_replaced_filled
 * (after a whole heal --all) removes it. ds_open reads the mark back. */
int ds_format(ds_set *set, cf_err *err);
#define DS_REPLACING_FILE "replacing"
/* Replacement while the set is in use (coffer disks replace N): disk i's
 * directory must exist and be empty (a lost+found is allowed: a fresh
 * file system's) and hold no format.json; it is then marked replacing,
 * formatted into position i (as ds_format does at start-up), put online
 * and back in the write set. Refused, writing nothing: a disk that is
 * the set's own (CF_EEXISTS), of another set (CF_ECONFIG: never
 * formatted), not empty (CF_ENOTEMPTY), absent or unreadable (CF_EIO). */
int ds_replace(ds_set *set, int i, cf_err *err);
/* A whole-store heal filled every replacing disk: drop the marks. */
void ds_replaced_filled(ds_set *set);
void ds_close(ds_set *set);
int ds_online_count(const ds_set *set);

/* Count an error of disk i. Readers of a set hold it const; the counters
 * are the one part they change, so this takes a const set. */
void ds_note(const ds_set *set, int i, ds_error kind);
uint64_t ds_errors(const ds_set *set, int i, ds_error kind);
/* Count a shard file opened with O_DIRECT (direct_files; const as above). */
void ds_note_direct(const ds_set *set);

/* The write set (see ds_wfault). ds_write_failed: a shard write to disk i
 * failed with errnum; ds_write_ok: one was published there. Both take a
 * const set for the reason ds_note does. ds_write_skip: a new segment
 * should leave disk i out (true until the retry time, then false for the
 * one caller that moves it on). ds_write_fault: why it is out, if it is;
 * ds_wfault_name: "readonly", "full", "failing" ("" for DS_WF_NONE). */
void ds_write_failed(const ds_set *set, int i, int errnum);
void ds_write_ok(const ds_set *set, int i);
bool ds_write_skip(const ds_set *set, int i);
ds_wfault ds_write_fault(const ds_set *set, int i);
const char *ds_wfault_name(ds_wfault f);

/* What disk i's directory holds now, looked at when asked (the set was
 * checked at open; a directory can be swapped or removed while cofferd
 * runs): DS_PROBE_OK, DS_PROBE_MISSING (the directory or its format.json
 * is gone), DS_PROBE_FOREIGN (format.json of another set, lineage or
 * position), DS_PROBE_UNREADABLE. Writes nothing. */
typedef enum ds_probe_result {
    DS_PROBE_OK, DS_PROBE_MISSING, DS_PROBE_FOREIGN, DS_PROBE_UNREADABLE
} ds_probe_result;
ds_probe_result ds_probe(const ds_set *set, int i);
/* ds_probe, and a disk found missing or foreign leaves the write set (as
 * failing): shards must not go into another set's directory, or into an
 * empty one in place of the disk. A writer whose retry is due probes too. */
ds_probe_result ds_probe_leave(const ds_set *set, int i);

#endif
