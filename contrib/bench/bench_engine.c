/*
 * contrib/bench/bench_engine.c - `make bench-engine`: how close the object
 * engine comes, in one thread, to what this machine can do at all.
 *
 * First the machine's single-pass limits, each over the same generated
 * 1 MiB blocks the engine will get, one thread, nothing but the work:
 *
 *   put_pipeline_mib_s   MD5 + AES-256-GCM seal + Reed-Solomon 4+2 encode +
 *                        CRC32C of all six shards, in memory: the CPU price
 *                        of a PUT, in plaintext MiB/s.
 *   get_pipeline_mib_s   CRC32C of the four data shards + AES-GCM open. The
 *                        sealed stripes it opens cycle through 72 MiB, more
 *                        than the caches hold, because the engine's GET
 *                        reads its shards from memory (the page cache),
 *                        not from a warm cache. (The PUT pipeline's input
 *                        is warm, like the engine's: a body buffer just
 *                        filled.)
 *   disk_write_mib_s     BENCH_DISK_OBJECTS (1) objects of the object's
 *                        size, one after the other, each written as the
 *                        engine writes a large object: six files, one per
 *                        disk directory, written shard by shard as a 4+2
 *                        PUT lays them out, write-back started every
 *                        SEG_WRITEBACK_BYTES per file, then each file
 *                        fdatasync'd: raw bytes per second over the whole
 *                        volume (disk_write_volume_mib), so that a limit
 *                        for a workload that writes N objects is measured
 *                        over the bytes it writes, not over a burst the
 *                        page cache absorbs.
 *   disk_write_plain_mib_s  the same rate in plaintext bytes (the files
 *                        hold (k+m)/k times the plaintext plus CRCs).
 *   put_limit_mib_s      the lower of put_pipeline and disk_write_plain
 *                        (the single-threaded engine's limit).
 *   cores                the online CPUs (nproc).
 *   put_pipeline_all_cores_mib_s  the PUT pipeline in `cores` threads at once,
 *                        each with its own contexts, over the object's size
 *                        each: the sum of the threads' rates (each over its
 *                        own time, as below), i.e. what a server using every
 *                        core could seal and encode.
 *   put_limit_all_cores_mib_s  the lower of put_pipeline_all_cores and
 *                        disk_write_plain: the end-to-end PUT limit of a
 *                        server with several streams (make bench's).
 *   fsync_ops            4 KiB appended to one file, then fdatasync, in a
 *                        loop for BENCH_FSYNC_SECONDS (2): durable small
 *                        writes per second. Appending (not overwriting in
 *                        place) makes every fdatasync also write the file's
 *                        new size, as a log or a new small object does.
 *   fsync_group_ops      the same 4 KiB appends to one file by
 *                        BENCH_FSYNC_THREADS (32) threads for as long, made
 *                        durable by group commit as the index does it
 *                        (storage/index.c): a writer appends under a lock,
 *                        then waits until an fdatasync covers its append;
 *                        if none is running it runs one itself, with the
 *                        lock dropped so others keep appending. Durable
 *                        small commits per second from concurrent writers:
 *                        the limit for small PUTs at many connections.
 *   mid_put_limit_ops    objects of BENCH_MID_KIB (256) written by
 *                        BENCH_MID_THREADS (32) threads at once for
 *                        BENCH_MID_SECONDS (5), each as the engine writes an
 *                        object above the inline limit with packing off
 *                        (storage.pack_shard_max_bytes 0): per shard (six), a
 *                        file created in tmp/, the shard and its CRC
 *                        written after the 4 KiB header, the header, one
 *                        fdatasync, close, a rename into objects/XX/ and an
 *                        fsync of that directory; then the index commit
 *                        below. What the disks allow for mid-size PUTs in
 *                        the shard-file layout, with every fsync it needs.
 *   mid_put_limit_mib_s  the same in plaintext MiB/s.
 *   mid_put_pack_limit_ops  the same objects, threads and time, each as the
 *                        engine writes a packed one (the default: segwrite.c
 *                        pack_out, pack.c): per disk one record of
 *                        mid_put_pack_limit_record_bytes (PACK_REC_PREFIX +
 *                        the 4 KiB shard header + the shard + its CRC, as
 *                        pack.h lays it out) written at the end of that
 *                        disk's one pack file under its lock (the file
 *                        grows: no preallocation, as the engine's packs);
 *                        then, disk after disk, the wait until a
 *                        group-committed fdatasync of that pack covers the
 *                        record; then the index commit. Pack rolls (one new
 *                        file per 64 MiB per disk) are left out.
 *   mid_put_pack_limit_mib_s  the same in plaintext MiB/s.
 *   mid_put_pack_limit_objects_per_round  objects per index sync round: how
 *                        many commits one round's fsyncs carried.
 *                        The index commit of both phases (index.c's group
 *                        commit and journal.c's sync hook): under one lock
 *                        (the index mutex), MID_WAL_FRAMES (6) WAL frames of
 *                        24 + 4096 bytes written to a WAL-like file (zeros
 *                        written first, MID_WAL_SPAN 4 MiB of them, and
 *                        rewritten from the start when full, as a WAL
 *                        restarts after a checkpoint) and a MID_JRN_RECORD
 *                        (512) byte record appended to each of six
 *                        journal-like files (one per disk, each growing by
 *                        the append, as journal.c's do); then the wait for a sync
 *                        round that started after it, run by one of the
 *                        waiters with the lock dropped: fdatasync of the
 *                        WAL, then of each journal file, one after the
 *                        other (index.c sync_round, journal.c jrn_sync).
 *                        Left out: SQLite's CPU, its checkpoints (their
 *                        fsyncs of the database file), the journal's
 *                        rotation. No encryption or coding (the CPU is not
 *                        the limit here). The WAL file is in the bench
 *                        directory, the others in the disk directories
 *                        (the engine's meta directory and DISK/journal,
 *                        DISK/packs are on the same filesystems).
 *
 * Then the engine, opened 4+2 on six directories under the data directory,
 * putting one BENCH_SIZE_MIB object in 256 KiB writes (the size of a front
 * end's body buffer) and reading it back in BENCH_READ_KIB reads (1024, as
 * cofferd's GET reader does: reads of whole 1 MiB blocks skip a copy):
 *
 *   engine_put_mib_s     st_put_begin .. st_put_finish: the object is
 *                        durable (fdatasync'd, renamed) and committed.
 *   engine_put_ratio     engine_put_mib_s / put_limit_mib_s.  Target >= 0.7.
 *   engine_get_mib_s     st_get_open .. st_get_close. The shard files were
 *                        just written, so they are read from the page
 *                        cache and the limit is the CPU:
 *   engine_get_ratio     engine_get_mib_s / get_pipeline_mib_s. Target >= 0.8.
 *   engine_degraded_get_ratio  the same read after deleting m = 2 shard
 *                        files, data shards 0 and 1 (the worst case: every
 *                        block is rebuilt from parity), / engine_get_mib_s.
 *                        Target >= 0.8.
 *   engine_*_cpu_s_per_gib  user + system CPU seconds per GiB of plaintext
 *                        for that operation (the pipelines' are printed too).
 *   engine_put_cpu_ratio, engine_get_cpu_ratio  pipeline CPU per GiB /
 *                        engine CPU per GiB: the share of the engine's CPU
 *                        that is the irreducible work; the time ratios
 *                        cannot exceed it unless the engine overlaps work.
 *   engine_peak_rss_mib  the process's peak RSS from just before the engine
 *                        is opened (the high-water mark is reset there) to
 *                        the end; it includes this tool's own ~2.5 MiB of
 *                        buffers. Target < 64.
 *   engine_small_put_ops, engine_small_get_ops  4 KiB objects, one after
 *                        the other, one thread: BENCH_SMALL_OPS of them or
 *                        BENCH_SMALL_SECONDS of putting, whichever ends
 *                        first, then each read back once. By default such
 *                        objects live inline in the index (one SQLite commit
 *                        each, no shard files);
 *   engine_small_put_ops_sharded, engine_small_get_ops_sharded  the same
 *                        with st_config.no_inline: k+m shard files, k+m
 *                        fdatasyncs and renames per object.
 *   rebuild_objects, rebuild_inline_mib, rebuild_s, rebuild_objects_s
 *                        BENCH_REBUILD_INLINE_MIB (128) more MiB put as
 *                        60 KiB objects (inline: their bytes live in the
 *                        index and the journal), then coffer rebuild-index
 *                        (st_rebuild_index, a dry run: everything but the
 *                        rename) over the whole set, timed.
 *   rebuild_peak_rss_mib the rebuild's peak RSS (the mark reset just
 *                        before it). It keeps the journal's JSON and the
 *                        segment list, not the inline bytes, which it reads
 *                        again one record at a time: Target < 64 whatever
 *                        BENCH_REBUILD_INLINE_MIB is.
 *
 * The pipelines and the engine's gets run BENCH_REPEAT times (3) and the
 * fastest pass counts, which filters out passes slowed by other processes;
 * the put runs once (repeating it would write gigabytes more), so its
 * ratio is if anything understated.
 *
 * Every rate is bytes over the phase's own time: wall-clock time less the
 * time this (single-threaded) tool spent ready to run but waiting for a CPU
 * another process held (/proc/thread-self/schedstat). On an idle machine
 * the two are the same; on a shared one this keeps other people's load out
 * of the figures, while time blocked on the disk still counts. load_1m
 * (start and end) and runq_wait_pct (the share of the run's wall-clock
 * time that was subtracted) say how busy the machine was.
 *
 * Ratios are printed with "meets" or "falls short" and their target.
 * Every line is "name: value".
 *
 * BENCH_LIMITS_ONLY=1 stops after the machine's limits (everything above
 * the engine's figures): make bench takes them from here.
 *
 * Environment: BENCH_DIR (default: the current directory; a fresh
 * bench-engine.XXXXXX directory is made in it and removed afterwards; it
 * should be a real disk, not tmpfs), BENCH_SIZE_MIB (1024), BENCH_READ_KIB
 * (1024), BENCH_REPEAT (3), BENCH_SMALL_OPS (2000), BENCH_SMALL_SECONDS (5),
 * BENCH_FSYNC_SECONDS (2), BENCH_FSYNC_THREADS (32), BENCH_DISK_OBJECTS (1),
 * BENCH_MID_KIB (256),
 * BENCH_MID_THREADS (32), BENCH_MID_SECONDS (5), BENCH_REBUILD_INLINE_MIB (128),
 * BENCH_LIMITS_ONLY (0).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/error.h"
#include "contrib/bench/measure.h"
#include "common/checksum.h"
#include "common/clock.h"
#include "storage/crypto.h"
#include "storage/engine.h"
#include "storage/gsync.h"
#include "storage/pack.h"
#include "storage/rs.h"
#include "common/fsutil.h"
#include "storage/segment.h"
#include "storage/shard.h"

#define K 4
#define M 2
#define NDISKS (K + M)
#define BLOCK (1u << 20)             /* the engine's default block size */
#define CHUNK (256u << 10)           /* bytes per st_put_write */
#define SRC_LEN (2u * BLOCK)         /* generated bytes all data is cut from */
#define GET_STRIPES 48               /* sealed stripes the GET pipeline cycles:
                                        72 MiB, twice the L3 cache */
#define SMALL_SIZE 4096u
#define REBUILD_SIZE (60u << 10)     /* inline (below the 64 KiB default) */
#define TENANT "bench"
#define BUCKET "bench"
#define BIG_KEY "big"
#define MIB (1024.0 * 1024.0)
#define GIB (MIB * 1024.0)

typedef struct bench {
    uint64_t size;                   /* bytes of the large object */
    uint64_t repeat;                 /* passes of the repeatable phases */
    uint64_t small_ops;
    uint64_t rebuild_inline_mib;
    double small_secs, fsync_secs;
    uint64_t fsync_threads;          /* writers of the group-commit limit */
    uint64_t disk_objects;           /* objects the disk limit writes */
    uint32_t mid_size;               /* the mid-size limit's objects */
    uint64_t mid_threads;
    double mid_secs;
    bool limits_only;
    char root[PATH_MAX - 64];        /* our scratch directory */
    char disk[NDISKS][PATH_MAX];
    char meta[PATH_MAX];
    char keyfile[PATH_MAX];
    st_config cfg;
    uint8_t *src;                    /* SRC_LEN generated bytes */
    size_t read_len;                 /* bytes per st_get_read */
    uint8_t *rbuf;                   /* read_len bytes to read into */
    double put_pipe, get_pipe;       /* the pipelines' MiB/s */
    double put_pipe_cpu, get_pipe_cpu; /* and their CPU s/GiB */
    double disk_plain;               /* MiB/s of plaintext the disks take */
    double put_pipe_all;             /* the PUT pipeline on every core */
} bench;

/* A result the compiler cannot prove unused. */
static volatile uint32_t sink;

/* ---- output -------------------------------------------------------------- */

static void put_value(const char *name, double v)
{
    printf("%s: %.2f\n", name, v);
    fflush(stdout);
}

static void put_target(const char *name, double v, double target, bool below)
{
    bool ok = below ? v < target : v >= target;
    printf("%s: %.3f %s (target %s %.2f)\n", name, v, ok ? "meets" : "falls short",
           below ? "<" : ">=", target);
    fflush(stdout);
}

/* ---- timing a phase ----------------------------------------------------- */

typedef struct phase {
    double t0, c0, w0;               /* wall, CPU, run-queue wait */
} phase;

typedef struct rate {
    double mib_s;
    double cpu_per_gib;
} rate;

static phase phase_start(void)
{
    return (phase){clock_mono_s(), bm_cpu_self(), bm_runq_wait()};
}

/* Rates are over the phase's own time: wall-clock time less the time it
 * waited for a CPU another process held (time blocked on a disk counts). */
static rate phase_stop(phase p, uint64_t bytes)
{
    double dt = clock_mono_s() - p.t0 - (bm_runq_wait() - p.w0), dc = bm_cpu_self() - p.c0;
    if (dt <= 0)
        dt = 1e-9;
    return (rate){(double)bytes / MIB / dt, dc / ((double)bytes / GIB)};
}

/* Bytes of the source buffer for the i-th block or chunk of len bytes:
 * offsets wander so consecutive pieces differ. */
static const uint8_t *src_at(const bench *b, uint64_t i, size_t len)
{
    return b->src + (i * 65599u) % (SRC_LEN - len + 1);
}

/* Run a phase over the object's size b->repeat times; keep the fastest. */
typedef int (*phase_fn)(bench *b, void *ctx, cf_err *err);

static int best_of(bench *b, phase_fn fn, void *ctx, rate *best, cf_err *err)
{
    for (uint64_t i = 0; i < b->repeat; i++) {
        phase p = phase_start();
        if (fn(b, ctx, err) < 0)
            return -1;
        rate r = phase_stop(p, b->size);
        if (i == 0 || r.mib_s > best->mib_s)
            *best = r;
    }
    return 0;
}

/* ---- the in-memory pipelines ------------------------------------------- */

/* What both pipelines need, made once: contexts are never fetched per block. */
typedef struct kit {
    rs_codec *rs;
    crypt_ctx *cc;
    cks_state *md5;
    uint32_t s;                      /* shard length of a full block */
    uint8_t key[CRYPT_KEY_LEN];
    uint8_t data_id[CRYPT_DATA_ID_LEN];
    uint8_t *stripes;                /* GET_STRIPES stripes of (k+m)*s */
    uint8_t *out;                    /* one plaintext block */
    uint32_t acc;                    /* results, so the work is not elided */
} kit;

static void kit_free(kit *t)
{
    rs_free(t->rs);
    crypt_ctx_free(t->cc);
    cks_free(t->md5);
    free(t->stripes);
    free(t->out);
}

static int kit_init(kit *t, cf_err *err)
{
    memset(t, 0, sizeof *t);
    t->s = shard_len_for(BLOCK, K);
    if (!(t->rs = rs_new(K, M, err)) || !(t->cc = crypt_ctx_new(err)) ||
        !(t->md5 = cks_new(CKS_MD5, err)) ||
        crypt_random(t->key, sizeof t->key, err) < 0 ||
        crypt_random(t->data_id, sizeof t->data_id, err) < 0)
        return -1;
    t->stripes = malloc((size_t)GET_STRIPES * NDISKS * t->s);
    t->out = malloc(BLOCK);
    if (!t->stripes || !t->out)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    return 0;
}

static uint8_t *kit_stripe(const kit *t, int i)
{
    return t->stripes + (size_t)i * NDISKS * t->s;
}

/* Seal block blk of plaintext pt into stripe and add the parity shards. */
static int seal_stripe(kit *t, const uint8_t *pt, uint64_t blk, uint8_t *stripe,
                       cf_err *err)
{
    crypt_pos pos = {t->data_id, 0, blk, false};
    memset(stripe + BLOCK + CRYPT_TAG_LEN, 0,
           (size_t)t->s * K - BLOCK - CRYPT_TAG_LEN);
    if (crypt_seal_block(t->cc, t->key, &pos, pt, BLOCK, stripe, stripe + BLOCK,
                         err) < 0)
        return -1;
    uint8_t *sh[NDISKS];
    for (int i = 0; i < NDISKS; i++)
        sh[i] = stripe + (size_t)i * t->s;
    rs_encode(t->rs, t->s, sh, sh + K);
    return 0;
}

static uint32_t crc_shards(const kit *t, const uint8_t *stripe, int n)
{
    uint32_t x = 0;
    for (int i = 0; i < n; i++)
        x ^= cks_crc32c(0, stripe + (size_t)i * t->s, t->s);
    return x;
}

/* One pass of the PUT pipeline over the object's size. */
static int pipeline_put(bench *b, void *ctx, cf_err *err)
{
    kit *t = ctx;
    uint64_t nblocks = b->size / BLOCK;
    uint8_t *stripe = kit_stripe(t, 0), md5[CKS_MAX_RAW];
    cks_reset(t->md5);
    for (uint64_t blk = 0; blk < nblocks; blk++) {
        const uint8_t *pt = src_at(b, blk, BLOCK);
        cks_update(t->md5, pt, BLOCK);
        if (seal_stripe(t, pt, blk, stripe, err) < 0)
            return -1;
        t->acc ^= crc_shards(t, stripe, NDISKS);
    }
    cks_final(t->md5, md5);
    t->acc ^= md5[0];
    return 0;
}

static int seal_get_stripes(const bench *b, kit *t, cf_err *err)
{
    for (int i = 0; i < GET_STRIPES; i++)
        if (seal_stripe(t, src_at(b, (uint64_t)i, BLOCK), (uint64_t)i,
                        kit_stripe(t, i), err) < 0)
            return -1;
    return 0;
}

/* One pass of the GET pipeline over the object's size. */
static int pipeline_get(bench *b, void *ctx, cf_err *err)
{
    kit *t = ctx;
    uint64_t nblocks = b->size / BLOCK;
    for (uint64_t blk = 0; blk < nblocks; blk++) {
        int i = (int)(blk % GET_STRIPES);
        const uint8_t *stripe = kit_stripe(t, i);
        crypt_pos pos = {t->data_id, 0, (uint64_t)i, false};
        t->acc ^= crc_shards(t, stripe, K);
        if (crypt_open_block(t->cc, t->key, &pos, stripe, BLOCK, stripe + BLOCK,
                             t->out, err) < 0)
            return -1;
    }
    return 0;
}

static int measure_pipelines(bench *b, cf_err *err)
{
    kit t;
    rate put, get;
    int rc = kit_init(&t, err);
    if (rc == 0)
        rc = best_of(b, pipeline_put, &t, &put, err);
    if (rc == 0)
        rc = seal_get_stripes(b, &t, err);
    if (rc == 0)
        rc = best_of(b, pipeline_get, &t, &get, err);
    sink ^= t.acc;
    kit_free(&t);
    if (rc < 0)
        return -1;
    b->put_pipe = put.mib_s;
    b->get_pipe = get.mib_s;
    b->put_pipe_cpu = put.cpu_per_gib;
    b->get_pipe_cpu = get.cpu_per_gib;
    put_value("put_pipeline_mib_s", put.mib_s);
    put_value("get_pipeline_mib_s", get.mib_s);
    put_value("put_pipeline_cpu_s_per_gib", put.cpu_per_gib);
    put_value("get_pipeline_cpu_s_per_gib", get.cpu_per_gib);
    return 0;
}

/* ---- the disks' write rate ---------------------------------------------- */

static void raw_path(char *out, size_t outsz, const bench *b, int disk, uint64_t obj)
{
    snprintf(out, outsz, "%s/raw-%llu.bench", b->disk[disk], (unsigned long long)obj);
}

static int close_raw(int *fd)
{
    int rc = 0;
    for (int i = 0; i < NDISKS; i++) {
        if (fd[i] >= 0 && close(fd[i]) != 0)
            rc = -errno;
        fd[i] = -1;
    }
    return rc;
}

static int open_raw(const bench *b, uint64_t obj, int *fd, cf_err *err)
{
    for (int i = 0; i < NDISKS; i++)
        fd[i] = -1;
    for (int i = 0; i < NDISKS; i++) {
        char path[PATH_MAX + 32];
        raw_path(path, sizeof path, b, i, obj);
        fd[i] = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd[i] < 0)
            return cf_fail_errno(err, CF_EIO, errno, "create %s", path);
    }
    return 0;
}

/* One object as the engine writes it: shard-sized writes to six files,
 * round robin, write-back started every SEG_WRITEBACK_BYTES per file,
 * then each file fdatasync'd. */
static int write_raw(const bench *b, const int *fd, uint64_t obj, uint64_t *bytes,
                     cf_err *err)
{
    uint32_t s = shard_len_for(BLOCK, K) + SHARD_CRC_LEN;
    uint64_t nblocks = b->size / BLOCK, unsynced = 0;
    for (uint64_t blk = 0; blk < nblocks; blk++) {
        for (int i = 0; i < NDISKS; i++) {
            uint64_t piece = (obj * nblocks + blk) * NDISKS + (uint64_t)i;
            int rc = fsu_write_all(fd[i], src_at(b, piece, s), s);
            if (rc < 0)
                return cf_fail_errno(err, CF_EIO, -rc, "write in %s", b->disk[i]);
        }
        unsynced += s;
        if (unsynced >= SEG_WRITEBACK_BYTES) {
            unsynced = 0;
            for (int i = 0; i < NDISKS; i++)
                sync_file_range(fd[i], 0, 0, SYNC_FILE_RANGE_WRITE);
        }
    }
    for (int i = 0; i < NDISKS; i++)
        if (fdatasync(fd[i]) != 0)
            return cf_fail_errno(err, CF_EIO, errno, "fdatasync in %s", b->disk[i]);
    *bytes += nblocks * s * NDISKS;
    return 0;
}

static int measure_disks(bench *b, cf_err *err)
{
    int fd[NDISKS];
    uint64_t bytes = 0, obj;
    int rc = 0;
    phase p = phase_start();
    for (obj = 0; rc == 0 && obj < b->disk_objects; obj++) {
        rc = open_raw(b, obj, fd, err);
        if (rc == 0)
            rc = write_raw(b, fd, obj, &bytes, err);
        int crc = close_raw(fd);
        if (rc == 0 && crc < 0)
            rc = cf_fail_errno(err, CF_EIO, -crc, "close in %s", b->root);
    }
    rate raw = phase_stop(p, bytes);
    for (uint64_t o = 0; o < obj; o++)       /* the files stay until the end, */
        for (int i = 0; i < NDISKS; i++) {    /* as a workload's objects do */
            char path[PATH_MAX + 32];
            raw_path(path, sizeof path, b, i, o);
            unlink(path);
        }
    if (rc < 0)
        return -1;
    b->disk_plain = raw.mib_s * (double)(b->size * b->disk_objects) / (double)bytes;
    put_value("disk_write_objects", (double)b->disk_objects);
    put_value("disk_write_volume_mib", (double)bytes / MIB);
    put_value("disk_write_mib_s", raw.mib_s);
    put_value("disk_write_plain_mib_s", b->disk_plain);
    return 0;
}

/* ---- the PUT pipeline on every core ------------------------------------- */

typedef struct core_run {
    bench *b;
    pthread_t tid;
    bool started;
    int rc;
    cf_err err;
    rate r;
    uint32_t acc;
} core_run;

/* One thread: its own contexts, one pass of the PUT pipeline, timed over
 * the thread's own time (run-queue wait is per thread). */
static void *core_main(void *arg)
{
    core_run *c = arg;
    kit t;
    c->rc = kit_init(&t, &c->err);
    if (c->rc == 0) {
        phase p = phase_start();
        c->rc = pipeline_put(c->b, &t, &c->err);
        c->r = phase_stop(p, c->b->size);
        c->acc = t.acc;
    }
    kit_free(&t);
    return NULL;
}

static int measure_all_cores(bench *b, cf_err *err)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > 256)
        n = 256;
    core_run *c = calloc((size_t)n, sizeof *c);
    if (!c)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    int rc = 0;
    for (long i = 0; i < n; i++) {
        c[i].b = b;
        if (pthread_create(&c[i].tid, NULL, core_main, &c[i]) != 0) {
            rc = cf_fail(err, CF_EINTERNAL, "pthread_create failed");
            break;
        }
        c[i].started = true;
    }
    double sum = 0;
    for (long i = 0; i < n; i++) {
        if (!c[i].started)
            continue;
        pthread_join(c[i].tid, NULL);
        sink ^= c[i].acc;
        if (c[i].rc < 0 && rc == 0) {
            *err = c[i].err;
            rc = -1;
        }
        sum += c[i].r.mib_s;
    }
    free(c);
    if (rc < 0)
        return -1;
    b->put_pipe_all = sum;
    put_value("cores", (double)n);
    put_value("put_pipeline_all_cores_mib_s", sum);
    return 0;
}

/* ---- durable small writes ------------------------------------------------ */

/* 4 KiB appended to one file and fdatasync'd, for fsync_secs. */
static int measure_fsync(const bench *b, cf_err *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/fsync.bench", b->disk[0]);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return cf_fail_errno(err, CF_EIO, errno, "create %s", path);
    uint64_t n = 0;
    double t0 = clock_mono_s(), dt = 0;
    int rc = 0;
    do {
        int w = fsu_write_all(fd, src_at(b, n, SMALL_SIZE), SMALL_SIZE);
        if (w < 0) {
            rc = cf_fail_errno(err, CF_EIO, -w, "write %s", path);
            break;
        }
        if (fdatasync(fd) != 0) {
            rc = cf_fail_errno(err, CF_EIO, errno, "fdatasync %s", path);
            break;
        }
        n++;
        dt = clock_mono_s() - t0;
    } while (dt < b->fsync_secs);
    close(fd);
    unlink(path);
    if (rc < 0)
        return -1;
    put_value("fsync_ops", (double)n / dt);
    return 0;
}

/* ---- group commit ---------------------------------------------------------
 *
 * The engine's own (storage/gsync.h, as index.c and pack.c use it):
 * appends under the gsync lock advance `written`; a writer whose append
 * is ticket t waits until a sync covers t, one syncer at a time with the
 * lock dropped. */

/* fdatasync of *(int *)fd: 0 or its errno. */
static int sync_fd(void *fd)
{
    return fdatasync(*(int *)fd) == 0 ? 0 : errno;
}

/* ---- durable small writes, group-committed -------------------------------- */

typedef struct fsync_group {
    const bench *b;
    int fd;
    gsync g;                         /* written: appends made */
    double until;
    uint64_t ops;
} fsync_group;

/* One writer: append, then wait until an fdatasync covers the append. */
static void *group_main(void *arg)
{
    fsync_group *f = arg;
    gsync *g = &f->g;
    gsync_lock(g);
    while (g->err == 0 && clock_mono_s() < f->until) {
        int w = fsu_write_all(f->fd, src_at(f->b, g->written, SMALL_SIZE), SMALL_SIZE);
        if (w < 0) {
            g->err = -w;
            break;
        }
        if (gsync_wait(g, ++g->written) == 0)
            f->ops++;
    }
    gsync_unlock(g);
    return NULL;
}

static int measure_fsync_group(const bench *b, cf_err *err)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/fsync-group.bench", b->disk[0]);
    fsync_group g = {.b = b};
    g.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (g.fd < 0)
        return cf_fail_errno(err, CF_EIO, errno, "create %s", path);
    gsync_init(&g.g, 0, sync_fd, NULL, &g.fd);
    pthread_t *tid = calloc(b->fsync_threads, sizeof *tid);
    uint64_t started = 0;
    double t0 = clock_mono_s();
    g.until = t0 + b->fsync_secs;
    while (tid && started < b->fsync_threads &&
           pthread_create(&tid[started], NULL, group_main, &g) == 0)
        started++;
    for (uint64_t i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    double dt = clock_mono_s() - t0;
    free(tid);
    close(g.fd);
    unlink(path);
    gsync_destroy(&g.g);
    if (started < b->fsync_threads)
        return cf_fail(err, CF_EINTERNAL, "could not start %llu writer threads",
                       (unsigned long long)b->fsync_threads);
    if (g.g.err != 0)
        return cf_fail_errno(err, CF_EIO, g.g.err, "append+fdatasync %s", path);
    put_value("fsync_group_threads", (double)b->fsync_threads);
    put_value("fsync_group_ops", (double)g.ops / dt);
    return 0;
}

/* ---- mid-size objects as the engine writes them -------------------------- */

typedef struct mid_pack mid_pack;

typedef struct mid_run {
    const bench *b;
    mid_pack *mp;                    /* the pack phase's shared files */
    unsigned id;
    double until;                    /* clock_mono_s() at which to stop */
    pthread_t tid;
    bool started;
    int rc;
    cf_err err;
    uint64_t ops;
} mid_run;

/* ---- mid-size objects as the engine packs them ----------------------------- */

#define MID_WAL_FRAMES 6u            /* WAL frames (pages) per index commit */
#define MID_WAL_FRAME (24u + 4096u)  /* SQLite's frame header + a 4 KiB page */
#define MID_WAL_SPAN (4u << 20)      /* ~1000 pages: where a WAL restarts */
#define MID_JRN_RECORD 512u          /* a PUT's journal record (JSON, no data) */

struct mid_pack {
    struct {
        int fd;
        gsync g;                     /* written = the pack's end offset */
    } pack[NDISKS];
    gsync ix;                        /* the index commit: lock = index mutex */
    int wal_fd, jrn_fd[NDISKS];      /* -1: not open */
    uint64_t wal_off, jrn_end[NDISKS];
    uint32_t rec_len;                /* a record: prefix, shard header, shard + CRC */
    uint64_t rounds;                 /* index sync rounds run */
    char path[NDISKS * 2 + 1][PATH_MAX + 32];   /* pack, journal per disk; WAL */
    int *fds[NDISKS * 2 + 1];                    /* the same order */
};

/* len bytes of zeros at the start of fd (len a multiple of 64 KiB): the
 * WAL-like file's span, written once before the run. */
static int mid_zeros(int fd, uint64_t len)
{
    static const uint8_t zero[64u << 10];
    for (uint64_t off = 0; off < len; off += sizeof zero) {
        int rc = fsu_pwrite_all(fd, zero, sizeof zero, (off_t)off);
        if (rc < 0)
            return -rc;
    }
    return 0;
}

/* The index's sync round (index.c sync_round): the WAL's fdatasync, then
 * the sync hook's (journal.c jrn_sync) of every disk's journal file. */
static int mid_round(void *arg)
{
    mid_pack *mp = arg;
    int e = fdatasync(mp->wal_fd) == 0 ? 0 : errno;
    for (int i = 0; i < NDISKS; i++)
        if (fdatasync(mp->jrn_fd[i]) != 0 && e == 0)
            e = errno;
    mp->rounds++;                    /* one syncer at a time */
    return e;
}

/* One PUT's index commit: its WAL frames and journal records written
 * under the index mutex, then the wait for a sync round covering them. */
static int mid_commit(mid_run *r, uint64_t n)
{
    mid_pack *mp = r->mp;
    gsync *g = &mp->ix;
    uint32_t wal = MID_WAL_FRAMES * MID_WAL_FRAME;
    gsync_lock(g);
    if (mp->wal_off + wal > MID_WAL_SPAN)
        mp->wal_off = 32;            /* a WAL restart: rewritten in place */
    int e = -fsu_pwrite_all(mp->wal_fd, src_at(r->b, n, wal), wal, (off_t)mp->wal_off);
    mp->wal_off += wal;
    for (int i = 0; e == 0 && i < NDISKS; i++) {
        e = -fsu_pwrite_all(mp->jrn_fd[i], src_at(r->b, n + 3u, MID_JRN_RECORD),
                            MID_JRN_RECORD, (off_t)mp->jrn_end[i]);
        mp->jrn_end[i] += MID_JRN_RECORD;
    }
    if (e == 0)
        e = gsync_wait(g, ++g->written);
    gsync_unlock(g);
    return e;
}

/* Object after object as put.c writes a packed one (segwrite.c pack_out):
 * a record appended to each disk's pack under its lock, then each pack's
 * group-committed fdatasync in disk order, then the index commit. */
static void *mid_pack_main(void *arg)
{
    mid_run *r = arg;
    mid_pack *mp = r->mp;
    for (uint64_t n = 0; r->rc == 0 && clock_mono_s() < r->until; n++) {
        uint64_t end[NDISKS];
        int e = 0;
        for (int i = 0; e == 0 && i < NDISKS; i++) {
            gsync *g = &mp->pack[i].g;
            gsync_lock(g);
            e = -fsu_pwrite_all(mp->pack[i].fd, src_at(r->b, n + (uint64_t)i, mp->rec_len),
                                mp->rec_len, (off_t)g->written);
            end[i] = g->written += mp->rec_len;
            gsync_unlock(g);
        }
        for (int i = 0; e == 0 && i < NDISKS; i++) {
            gsync *g = &mp->pack[i].g;
            gsync_lock(g);
            e = gsync_wait(g, end[i]);
            gsync_unlock(g);
        }
        if (e == 0)
            e = mid_commit(r, n);
        if (e != 0)
            r->rc = cf_fail_errno(&r->err, CF_EIO, e, "pack, WAL or journal: write or fdatasync");
        else
            r->ops++;
    }
    return NULL;
}

/* Open (create) path into *fd with its first len bytes written (zeros
 * for the WAL, as it is reused in place; a pack file's header; nothing
 * for a journal, which grows by its appends) and synced, with its
 * directory entry. */
static int mid_file(const bench *b, const char *path, int *fd, uint64_t len, cf_err *err)
{
    *fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (*fd < 0)
        return cf_fail_errno(err, CF_EIO, errno, "create %s", path);
    int e = len == PACK_FILE_HEADER ? -fsu_pwrite_all(*fd, src_at(b, 5, len), len, 0)
                                    : mid_zeros(*fd, len);
    if (e == 0 && fdatasync(*fd) != 0)
        e = errno;
    if (e != 0)
        return cf_fail_errno(err, CF_EIO, e, "write %s", path);
    return fsu_fsync_parent(path, err);
}

/* Create the phase's files: each disk's journal file and the WAL, and
 * with packs each disk's pack file. */
static int mid_open(const bench *b, mid_pack *mp, bool packs, cf_err *err)
{
    *mp = (mid_pack){.wal_fd = -1, .wal_off = 32,
                     .rec_len = PACK_REC_PREFIX + SHARD_HEADER_SIZE +
                                shard_len_for(b->mid_size, K) + SHARD_CRC_LEN};
    gsync_init(&mp->ix, 0, mid_round, NULL, mp);
    for (int i = 0; i < NDISKS; i++) {
        gsync_init(&mp->pack[i].g, PACK_FILE_HEADER, sync_fd, NULL, &mp->pack[i].fd);
        mp->pack[i].fd = mp->jrn_fd[i] = -1;
        snprintf(mp->path[2 * i], sizeof mp->path[0], "%s/pack.bench", b->disk[i]);
        snprintf(mp->path[2 * i + 1], sizeof mp->path[0], "%s/journal.bench", b->disk[i]);
        mp->fds[2 * i] = &mp->pack[i].fd;
        mp->fds[2 * i + 1] = &mp->jrn_fd[i];
    }
    snprintf(mp->path[2 * NDISKS], sizeof mp->path[0], "%s/wal.bench", b->root);
    mp->fds[2 * NDISKS] = &mp->wal_fd;
    for (int f = 0; f < 2 * NDISKS + 1; f++)
        if ((packs || f % 2 == 1 || f == 2 * NDISKS) &&
            mid_file(b, mp->path[f], mp->fds[f],
                     f == 2 * NDISKS ? MID_WAL_SPAN : f % 2 ? 0 : PACK_FILE_HEADER, err) < 0)
            return -1;
    return 0;
}

static void mid_close(mid_pack *mp)
{
    gsync_destroy(&mp->ix);
    for (int i = 0; i < NDISKS; i++)
        gsync_destroy(&mp->pack[i].g);
    for (int f = 0; f < 2 * NDISKS + 1; f++)
        if (*mp->fds[f] >= 0) {
            close(*mp->fds[f]);
            unlink(mp->path[f]);
        }
}

/* One shard file of object n of thread t on disk i, as segment.c writes
 * it: tmp file, shard + CRC after the header, header, fdatasync, close,
 * rename into objects/XX/, fsync of that directory. */
static int mid_shard(const mid_run *r, uint64_t n, int i, cf_err *err)
{
    const bench *b = r->b;
    uint32_t s = shard_len_for(b->mid_size, K) + SHARD_CRC_LEN;
    char tmp[PATH_MAX + 64], dst[PATH_MAX + 64];
    unsigned long long u = (unsigned long long)n;
    snprintf(tmp, sizeof tmp, "%s/tmp/mid-%u-%llu", b->disk[i], r->id, u);
    snprintf(dst, sizeof dst, "%s/objects/%02x/mid-%u-%llu", b->disk[i],
             (unsigned)((n * 131u + r->id * 7u) & 0xffu), r->id, u);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return cf_fail_errno(err, CF_EIO, errno, "create %s", tmp);
    int rc = fsu_pwrite_all(fd, src_at(b, n + (uint64_t)i, s), s, SHARD_HEADER_SIZE);
    if (rc == 0)
        rc = fsu_pwrite_all(fd, src_at(b, n + 7u, SHARD_HEADER_SIZE), SHARD_HEADER_SIZE, 0);
    if (rc == 0 && fdatasync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, dst) != 0)
        rc = -errno;
    if (rc < 0)
        return cf_fail_errno(err, CF_EIO, -rc, "write %s", tmp);
    return fsu_fsync_parent(dst, err);
}

static void *mid_main(void *arg)
{
    mid_run *r = arg;
    for (uint64_t n = 0; r->rc == 0 && clock_mono_s() < r->until; n++) {
        for (int i = 0; r->rc == 0 && i < NDISKS; i++)
            r->rc = mid_shard(r, n, i, &r->err);
        int e = r->rc == 0 ? mid_commit(r, n) : 0;
        if (e != 0)
            r->rc = cf_fail_errno(&r->err, CF_EIO, e, "index commit: write or fdatasync");
        else if (r->rc == 0)
            r->ops++;
    }
    return NULL;
}

/* mid_threads threads of fn for mid_secs: *ops objects in *dt seconds. */
static int mid_threads_run(const bench *b, void *(*fn)(void *), mid_pack *mp,
                           uint64_t *ops, double *dt, cf_err *err)
{
    mid_run *r = calloc(b->mid_threads, sizeof *r);
    if (!r)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    double t0 = clock_mono_s();
    int rc = 0;
    for (uint64_t i = 0; i < b->mid_threads; i++) {
        r[i] = (mid_run){.b = b, .mp = mp, .id = (unsigned)i, .until = t0 + b->mid_secs};
        if (pthread_create(&r[i].tid, NULL, fn, &r[i]) != 0) {
            rc = cf_fail(err, CF_EINTERNAL, "pthread_create failed");
            break;
        }
        r[i].started = true;
    }
    *ops = 0;
    for (uint64_t i = 0; i < b->mid_threads; i++) {
        if (!r[i].started)
            continue;
        pthread_join(r[i].tid, NULL);
        *ops += r[i].ops;
        if (r[i].rc < 0 && rc == 0) {
            *err = r[i].err;
            rc = -1;
        }
    }
    *dt = clock_mono_s() - t0;
    free(r);
    return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    return remove(path) == 0 ? 0 : -1;
}

/* The fan-out directories the engine makes when it formats a disk. */
static int mid_dirs(const bench *b, cf_err *err)
{
    for (int i = 0; i < NDISKS; i++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/tmp", b->disk[i]);
        if (fsu_mkdir_p(path, err) < 0)
            return -1;
        for (unsigned x = 0; x < 256; x++) {
            snprintf(path, sizeof path, "%s/objects/%02x", b->disk[i], x);
            if (fsu_mkdir_p(path, err) < 0)
                return -1;
        }
    }
    return 0;
}

/* One mid-size phase: its files made, the threads run, the files removed. */
static int mid_phase(const bench *b, mid_pack *mp, bool packs, uint64_t *ops, double *dt,
                     cf_err *err)
{
    int rc = mid_open(b, mp, packs, err);
    if (rc == 0)
        rc = mid_threads_run(b, packs ? mid_pack_main : mid_main, mp, ops, dt, err);
    mid_close(mp);
    return rc;
}

static int measure_mid(const bench *b, cf_err *err)
{
    if (mid_dirs(b, err) < 0)
        return -1;
    static mid_pack mp;
    uint64_t ops = 0;
    double dt = 0;
    int rc = mid_phase(b, &mp, false, &ops, &dt, err);
    for (int i = 0; i < NDISKS; i++) {       /* leave the disks as they were */
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/objects", b->disk[i]);
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        snprintf(path, sizeof path, "%s/tmp", b->disk[i]);
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (rc < 0)
        return -1;
    put_value("mid_put_limit_object_kib", (double)(b->mid_size >> 10));
    put_value("mid_put_limit_threads", (double)b->mid_threads);
    put_value("mid_put_limit_ops", (double)ops / dt);
    put_value("mid_put_limit_mib_s", (double)ops * b->mid_size / MIB / dt);
    return 0;
}

static int measure_mid_pack(const bench *b, cf_err *err)
{
    static mid_pack mp;
    uint64_t ops = 0;
    double dt = 0;
    int rc = mid_phase(b, &mp, true, &ops, &dt, err);
    if (rc < 0)
        return -1;
    put_value("mid_put_pack_limit_record_bytes", (double)mp.rec_len);
    put_value("mid_put_pack_limit_ops", (double)ops / dt);
    put_value("mid_put_pack_limit_mib_s", (double)ops * b->mid_size / MIB / dt);
    put_value("mid_put_pack_limit_objects_per_round", mp.rounds ? (double)ops / mp.rounds : 0);
    return 0;
}

/* ---- the engine ----------------------------------------------------------- */

static int engine_open(bench *b, bool no_inline, st_engine **e, cf_err *err)
{
    b->cfg.no_inline = no_inline;
    return st_open(&b->cfg, e, err);
}

/* PUT size bytes of source data, starting at piece `first`. */
static int put_object(const bench *b, st_engine *e, const char *key, uint64_t size,
                      uint64_t first, cf_err *err)
{
    st_put_args a = {.tenant = TENANT, .bucket = BUCKET, .key = key,
                     .expected_size = (int64_t)size};
    st_put *p;
    if (st_put_begin(e, &a, &p, err) < 0)
        return -1;
    for (uint64_t off = 0, i = first; off < size; i++) {
        size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
        if (st_put_write(p, src_at(b, i, n), n, err) < 0) {
            st_put_abort(p);
            return -1;
        }
        off += n;
    }
    st_object_info info;
    if (st_put_finish(p, NULL, &info, err) < 0)
        return -1;
    st_object_info_clear(&info);
    return 0;
}

/* Read a whole object sequentially; it must have `size` bytes. */
static int get_object(const bench *b, st_engine *e, const char *key, uint64_t size,
                      cf_err *err)
{
    st_object_info info;
    st_get *g;
    if (st_get_open(e, TENANT, BUCKET, key, &info, &g, err) < 0)
        return -1;
    st_object_info_clear(&info);
    uint64_t off = 0;
    size_t n;
    int rc;
    while ((rc = st_get_read(g, off, b->rbuf, b->read_len, &n, err)) == 0 && n > 0)
        off += n;
    st_get_close(g);
    if (rc == 0 && off != size)
        rc = cf_fail(err, CF_EINTERNAL, "%s: read %llu bytes, stored %llu", key,
                     (unsigned long long)off, (unsigned long long)size);
    return rc;
}

/* The 32-hex name of the only shard file on a disk (the large object's). */
static int only_shard_name(const char *disk, char name[NAME_MAX + 1], cf_err *err)
{
    int found = 0;
    for (int x = 0; x < 256; x++) {
        char dir[PATH_MAX + 16];
        snprintf(dir, sizeof dir, "%s/objects/%02x", disk, x);
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL)
            if (de->d_name[0] != '.' && found++ == 0)
                snprintf(name, NAME_MAX + 1, "%s", de->d_name);
        if (d)
            closedir(d);
    }
    if (found != 1)
        return cf_fail(err, CF_EINTERNAL, "%s holds %d shard files, expected 1", disk,
                       found);
    return 0;
}

/* Delete the large object's shard files on disks 0 .. count-1. */
static int remove_shards(const bench *b, int count, cf_err *err)
{
    char name[NAME_MAX + 1];
    if (only_shard_name(b->disk[0], name, err) < 0)
        return -1;
    for (int i = 0; i < count; i++) {
        char path[PATH_MAX + 128];
        snprintf(path, sizeof path, "%s/objects/%.2s/%s", b->disk[i], name, name);
        if (unlink(path) != 0)
            return cf_fail_errno(err, CF_EIO, errno, "unlink %s", path);
    }
    return 0;
}

static int get_large(bench *b, void *engine, cf_err *err)
{
    return get_object(b, engine, BIG_KEY, b->size, err);
}

/* The large object: put once, get, then get with m shards gone. */
static int bench_large(bench *b, st_engine *e, cf_err *err)
{
    phase p = phase_start();
    if (put_object(b, e, BIG_KEY, b->size, 0, err) < 0)
        return -1;
    rate put = phase_stop(p, b->size);
    put_value("engine_put_mib_s", put.mib_s);
    double limit = b->put_pipe < b->disk_plain ? b->put_pipe : b->disk_plain;
    put_value("put_limit_mib_s", limit);
    put_target("engine_put_ratio", put.mib_s / limit, 0.7, false);
    rate get, deg;
    if (best_of(b, get_large, e, &get, err) < 0)
        return -1;
    put_value("engine_get_mib_s", get.mib_s);
    put_target("engine_get_ratio", get.mib_s / b->get_pipe, 0.8, false);
    if (remove_shards(b, M, err) < 0)
        return -1;
    if (best_of(b, get_large, e, &deg, err) < 0)
        return -1;
    put_value("engine_degraded_get_mib_s", deg.mib_s);
    put_target("engine_degraded_get_ratio", deg.mib_s / get.mib_s, 0.8, false);
    put_value("engine_put_cpu_s_per_gib", put.cpu_per_gib);
    put_value("engine_get_cpu_s_per_gib", get.cpu_per_gib);
    put_value("engine_degraded_get_cpu_s_per_gib", deg.cpu_per_gib);
    put_value("engine_put_cpu_ratio", b->put_pipe_cpu / put.cpu_per_gib);
    put_value("engine_get_cpu_ratio", b->get_pipe_cpu / get.cpu_per_gib);
    return 0;
}

/* 4 KiB objects under prefix: put for a while, then read each back. */
static int bench_small(const bench *b, st_engine *e, const char *suffix,
                       cf_err *err)
{
    char key[64], name[64];
    uint64_t n = 0;
    double t0 = clock_mono_s(), dt;
    do {
        snprintf(key, sizeof key, "small%s/%08llu", suffix, (unsigned long long)n);
        if (put_object(b, e, key, SMALL_SIZE, n, err) < 0)
            return -1;
        n++;
        dt = clock_mono_s() - t0;
    } while (n < b->small_ops && dt < b->small_secs);
    snprintf(name, sizeof name, "engine_small_put_ops%s", suffix);
    put_value(name, (double)n / dt);
    t0 = clock_mono_s();
    for (uint64_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "small%s/%08llu", suffix, (unsigned long long)i);
        if (get_object(b, e, key, SMALL_SIZE, err) < 0)
            return -1;
    }
    snprintf(name, sizeof name, "engine_small_get_ops%s", suffix);
    put_value(name, (double)n / (clock_mono_s() - t0));
    return 0;
}

/* Everything the engine does, with the memory high-water mark reset first. */
static int bench_engine(bench *b, cf_err *err)
{
    st_engine *e = NULL;
    bool reset = bm_rss_reset(0);
    int rc = engine_open(b, false, &e, err);
    if (rc == 0)
        rc = st_tenant_create(e, TENANT, err);
    if (rc == 0)
        rc = st_bucket_create(e, TENANT, BUCKET, "us-east-1", false, err);
    if (rc == 0)
        rc = bench_large(b, e, err);
    if (rc == 0)
        rc = bench_small(b, e, "", err);
    st_close(e);
    e = NULL;
    if (rc == 0)
        rc = engine_open(b, true, &e, err);
    if (rc == 0)
        rc = bench_small(b, e, "_sharded", err);
    st_close(e);
    if (rc < 0)
        return -1;
    if (!reset)
        fprintf(stderr, "bench-engine: could not reset the peak RSS; it covers "
                        "the whole run\n");
    put_target("engine_peak_rss_mib", bm_rss_peak_mib(0), 64, true);
    return 0;
}

static void rebuild_line(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

/* Inline objects added to the set, then the rebuild over all of it. */
static int bench_rebuild(bench *b, cf_err *err)
{
    st_engine *e = NULL;
    char key[64];
    uint64_t total = b->rebuild_inline_mib << 20, n = 0;
    int rc = engine_open(b, false, &e, err);
    for (uint64_t off = 0; rc == 0 && off < total; off += REBUILD_SIZE, n++) {
        snprintf(key, sizeof key, "rebuild/%08llu", (unsigned long long)n);
        rc = put_object(b, e, key, REBUILD_SIZE, n, err);
    }
    st_close(e);
    if (rc < 0)
        return -1;
    bool reset = bm_rss_reset(0);
    st_rebuild_report rep;
    double t0 = clock_mono_s();
    if (st_rebuild_index(&b->cfg, true, rebuild_line, NULL, NULL, &rep, err) < 0)
        return -1;
    double dt = clock_mono_s() - t0;
    if (!reset)
        fprintf(stderr, "bench-engine: could not reset the peak RSS; the rebuild's "
                        "covers the whole run\n");
    put_value("rebuild_objects", (double)rep.objects);
    put_value("rebuild_inline_mib", (double)(n * REBUILD_SIZE) / MIB);
    put_value("rebuild_s", dt);
    put_value("rebuild_objects_s", (double)rep.objects / dt);
    put_target("rebuild_peak_rss_mib", bm_rss_peak_mib(0), 64, true);
    return 0;
}

/* ---- set-up ------------------------------------------------------------- */

static void bench_free(bench *b)
{
    if (b->root[0])
        nftw(b->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(b->src);
    free(b->rbuf);
}

/* A fresh scratch directory with six disk directories and a metadata one. */
static int make_dirs(bench *b, cf_err *err)
{
    const char *base = getenv("BENCH_DIR");
    snprintf(b->root, sizeof b->root, "%s/bench-engine.XXXXXX",
             base && *base ? base : ".");
    if (!mkdtemp(b->root)) {
        int e = errno;
        b->root[0] = '\0';
        return cf_fail_errno(err, CF_EIO, e, "mkdtemp under %s", base ? base : ".");
    }
    struct statfs sf;
    if (statfs(b->root, &sf) == 0 && sf.f_type == TMPFS_MAGIC)
        fprintf(stderr, "bench-engine: %s is on tmpfs: the disk figures will be "
                        "memory figures (set BENCH_DIR)\n", b->root);
    for (int i = 0; i < NDISKS; i++) {
        snprintf(b->disk[i], sizeof b->disk[i], "%s/d%d", b->root, i);
        if (fsu_mkdir_p(b->disk[i], err) < 0)
            return -1;
    }
    snprintf(b->meta, sizeof b->meta, "%s/meta", b->root);
    snprintf(b->keyfile, sizeof b->keyfile, "%s/master.key", b->root);
    b->cfg = (st_config){.ndisks = NDISKS, .k = K, .m = M, .meta_dir = b->meta,
                         .master_key_file = b->keyfile, .create_master_key = true};
    for (int i = 0; i < NDISKS; i++)
        b->cfg.disks[i] = b->disk[i];
    return 0;
}

static int bench_init(bench *b, cf_err *err)
{
    b->size = bm_env_u64("BENCH_SIZE_MIB", 1024, 1, ST_MAX_PUT_SIZE >> 20) << 20;
    b->repeat = bm_env_u64("BENCH_REPEAT", 3, 1, 100);
    b->small_ops = bm_env_u64("BENCH_SMALL_OPS", 2000, 1, UINT32_MAX);
    b->small_secs = (double)bm_env_u64("BENCH_SMALL_SECONDS", 5, 1, 3600);
    b->fsync_secs = (double)bm_env_u64("BENCH_FSYNC_SECONDS", 2, 1, 3600);
    b->fsync_threads = bm_env_u64("BENCH_FSYNC_THREADS", 32, 1, 256);
    b->disk_objects = bm_env_u64("BENCH_DISK_OBJECTS", 1, 1, 64);
    b->mid_size = (uint32_t)bm_env_u64("BENCH_MID_KIB", 256, 65, 1024) << 10;
    b->mid_threads = bm_env_u64("BENCH_MID_THREADS", 32, 1, 256);
    b->mid_secs = (double)bm_env_u64("BENCH_MID_SECONDS", 5, 1, 3600);
    b->limits_only = bm_env_u64("BENCH_LIMITS_ONLY", 0, 0, 1) == 1;
    b->rebuild_inline_mib = bm_env_u64("BENCH_REBUILD_INLINE_MIB", 128, 1, 1 << 20);
    b->src = malloc(SRC_LEN);
    b->read_len = (size_t)bm_env_u64("BENCH_READ_KIB", 1024, 1, 65536) << 10;
    b->rbuf = malloc(b->read_len);
    if (!b->src || !b->rbuf)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    bm_fill(0xC0FFE5, b->src, SRC_LEN);
    return make_dirs(b, err);
}

int main(void)
{
    static bench b;
    cf_err err;
    double t0 = clock_mono_s(), w0 = bm_runq_wait();
    int rc = bench_init(&b, &err);
    if (rc == 0) {
        printf("bench_dir: %s\nlayout: %d+%d\nblock_kib: %u\nread_kib: %zu\n", b.root,
               K, M, BLOCK >> 10, b.read_len >> 10);
        put_value("bench_size_mib", (double)(b.size >> 20));
        put_value("load_1m", bm_loadavg());
        rc = measure_pipelines(&b, &err);
    }
    if (rc == 0)
        rc = measure_all_cores(&b, &err);
    if (rc == 0)
        rc = measure_disks(&b, &err);
    if (rc == 0) {
        put_value("put_limit_all_cores_mib_s",
                  b.put_pipe_all < b.disk_plain ? b.put_pipe_all : b.disk_plain);
        rc = measure_fsync(&b, &err);
    }
    if (rc == 0)
        rc = measure_fsync_group(&b, &err);
    if (rc == 0)
        rc = measure_mid(&b, &err);
    if (rc == 0)
        rc = measure_mid_pack(&b, &err);
    if (rc == 0 && !b.limits_only)
        rc = bench_engine(&b, &err);
    if (rc == 0 && !b.limits_only)
        rc = bench_rebuild(&b, &err);
    if (rc == 0) {
        put_value("load_1m_end", bm_loadavg());
        put_value("runq_wait_pct", 100 * (bm_runq_wait() - w0) / (clock_mono_s() - t0));
    }
    else
        fprintf(stderr, "bench-engine: %s\n", err.msg);
    bench_free(&b);
    return rc == 0 ? 0 : 1;
}
