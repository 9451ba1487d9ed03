/*
 * tests/unit/test_crash.c - crash safety by SIGKILL (DESIGN.md §4).
 *
 * A child process opens the engine and loops over random operations on a
 * few keys: small (inline) and sharded PUTs, overwrites, deletes, and
 * multipart uploads completed from two parts. Before each operation it
 * logs "A counter op key", after each success "K counter" (plain writes to
 * an O_APPEND file survive SIGKILL). The parent kills it at a random
 * moment, reopens the engine and checks, for every key:
 *   - what is visible is either the result of the last acknowledged
 *     operation on that key or of the one operation in flight, never
 *     anything else, and never partly: every visible object is read back
 *     whole and compared byte for byte with the data of its generation;
 * that the tenant's usage (bucket_usage, kept in each object commit)
 * equals the count and bytes of what is listed; then runs GC with no grace
 * period and heal --all (which writes a manifest a kill left unwritten)
 * and checks that exactly the shard files of the segments the index
 * references and the manifests of its multipart objects remain (no
 * orphans, no temp files), and exactly the pack files the index names.
 * Iterations: CRASH_ITERS (default 200). With COFFER_TEST_PACK_SHARD_MAX
 * (engine_util.h) the one-block PUTs and parts go to pack files
 * (tests/unit/crash_packed.sh).
 */
#include "tests/unit/test.h"
#include "tests/unit/engine_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NKEYS 6
#define MIB (1u << 20)

typedef struct key_state {
    bool present;
    uint64_t gen;
} key_state;

static eng_fixture fx;
static char logpath[700];

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint64_t size_of_gen(uint64_t gen, char op)
{
    uint64_t h = gen * 0x9E3779B97F4A7C15ULL;
    if (op == 'M')
        return 5 * MIB + (h >> 40) % 100000;
    return (h >> 33) % 4 == 0 ? (h >> 20) % 5000 : (h >> 20) % (3 * MIB);
}

static void logf_line(int fd, const char *fmt, uint64_t counter, char op, int key)
{
    char line[64];
    int n = snprintf(line, sizeof line, fmt, (unsigned long long)counter, op, key);
    if (write(fd, line, (size_t)n) != n)
        _exit(3);
}

/* Stream [off, off+len) of generation gen into p. */
static int write_gen(st_put *p, uint64_t gen, uint64_t off, uint64_t len, cf_err *err)
{
    static uint8_t buf[256 * 1024];
    while (len > 0) {
        size_t n = len < sizeof buf ? (size_t)len : sizeof buf;
        gen_bytes(gen, off, buf, n);
        if (st_put_write(p, buf, n, err) < 0)
            return -1;
        off += n;
        len -= n;
    }
    return 0;
}

static int child_put(st_engine *e, const char *key, uint64_t gen, cf_err *err)
{
    char gs[24];
    snprintf(gs, sizeof gs, "%llu", (unsigned long long)gen);
    st_header h[] = {{"x-amz-meta-gen", gs}};
    uint64_t size = size_of_gen(gen, 'P');
    st_put_args a = {.tenant = "t1", .bucket = "b", .key = key, .headers = h,
                     .nheaders = 1, .expected_size = (int64_t)size};
    st_put *p;
    if (st_put_begin(e, &a, &p, err) < 0)
        return -1;
    if (write_gen(p, gen, 0, size, err) < 0) {
        st_put_abort(p);
        return -1;
    }
    st_object_info info;
    int rc = st_put_finish(p, NULL, &info, err);
    return rc;
}

static int child_part(st_engine *e, const char *key, const char *uid, uint32_t n,
                      uint64_t gen, uint64_t off, uint64_t len, char etag[ST_ETAG_MAX],
                      cf_err *err)
{
    st_put_args a = {.tenant = "t1", .bucket = "b", .key = key, .upload_id = uid,
                     .part_number = n, .expected_size = (int64_t)len};
    st_put *p;
    st_object_info info;
    if (st_put_begin(e, &a, &p, err) < 0)
        return -1;
    if (write_gen(p, gen, off, len, err) < 0) {
        st_put_abort(p);
        return -1;
    }
    if (st_put_finish(p, NULL, &info, err) < 0)
        return -1;
    snprintf(etag, ST_ETAG_MAX, "%s", info.etag);
    return 0;
}

static int child_multipart(st_engine *e, const char *key, uint64_t gen, cf_err *err)
{
    char gs[24], uid[ST_ID_HEX], e1[ST_ETAG_MAX], e2[ST_ETAG_MAX];
    snprintf(gs, sizeof gs, "%llu", (unsigned long long)gen);
    st_header h[] = {{"x-amz-meta-gen", gs}};
    uint64_t size = size_of_gen(gen, 'M');
    st_upload_args ua = {.tenant = "t1", .bucket = "b", .key = key, .headers = h,
                         .nheaders = 1};
    if (st_upload_create(e, &ua, uid, err) < 0 ||
        child_part(e, key, uid, 2, gen, 5 * MIB, size - 5 * MIB, e2, err) < 0 ||
        child_part(e, key, uid, 1, gen, 0, 5 * MIB, e1, err) < 0)
        return -1;
    st_complete_part parts[] = {{1, e1, NULL}, {2, e2, NULL}};
    st_object_info info;
    st_complete_args ca = {.tenant = "t1", .bucket = "b", .key = key, .upload_id = uid,
                           .parts = parts, .nparts = 2, .expected_size = -1};
    return st_upload_complete(e, &ca, &info, err);
}

static void child_main(uint64_t seed, uint64_t counter)
{
    st_engine *e = fixture_open(&fx);
    int fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (!e || fd < 0)
        _exit(2);
    for (;; counter++) {
        uint64_t r = rnd(&seed);
        int key = (int)(r % NKEYS);
        char op = "PPPPDDM"[(r >> 8) % 7];
        char name[16];
        snprintf(name, sizeof name, "key%d", key);
        cf_err err;
        logf_line(fd, "A %llu %c %d\n", counter, op, key);
        int rc = op == 'P' ? child_put(e, name, counter, &err)
               : op == 'D' ? st_delete(e, "t1", "b", name, &err)
               : child_multipart(e, name, counter, &err);
        if (rc < 0) {
            fprintf(stderr, "child: %c %s: %s\n", op, name, err.msg);
            _exit(4);
        }
        logf_line(fd, "K %llu %c %d\n", counter, op, key);
    }
}

/* Replay this iteration's log into the states each key may now be in. */
static void allowed_states(key_state *acked, key_state *inflight, bool *has_inflight)
{
    FILE *f = fopen(logpath, "r");
    char kind, op;
    unsigned long long counter;
    int key;
    key_state pending = {0};
    int pending_key = -1;
    while (f && fscanf(f, " %c %llu %c %d", &kind, &counter, &op, &key) == 4) {
        if (key < 0 || key >= NKEYS)
            continue;
        key_state s = {op != 'D', op != 'D' ? counter : 0};
        if (kind == 'A') {
            pending = s;
            pending_key = key;
        } else {
            acked[key] = s;
            pending_key = -1;
        }
    }
    if (f)
        fclose(f);
    for (int i = 0; i < NKEYS; i++)
        has_inflight[i] = i == pending_key;
    if (pending_key >= 0)
        inflight[pending_key] = pending;
}

static bool same_state(key_state a, key_state b)
{
    return a.present == b.present && (!a.present || a.gen == b.gen);
}

/* What is visible for key i, checked byte for byte against its generation. */
static bool observe(st_engine *e, int i, key_state *seen)
{
    char name[16];
    snprintf(name, sizeof name, "key%d", i);
    st_object_info info;
    cf_err err;
    seen->present = false;
    if (st_head(e, "t1", "b", name, &info, &err) < 0)
        return err.code == CF_ENOKEY;
    const char *g = st_object_header(&info, "x-amz-meta-gen");
    seen->present = true;
    seen->gen = g ? strtoull(g, NULL, 10) : 0;
    uint64_t size = info.size;
    char op = info.nparts ? 'M' : 'P';
    st_object_info_clear(&info);
    if (!g || size != size_of_gen(seen->gen, op))
        return false;
    int rc = check_range(e, "b", name, seen->gen, 0, size, &err);
    if (rc != 1)
        fprintf(stderr, "key%d gen %llu: %s\n", i, (unsigned long long)seen->gen,
                rc < 0 ? err.msg : "content differs");
    return rc == 1;
}

/* Files the index refers to: (k + m - missing - packed) per sharded
 * segment, and a manifest on every disk per multipart object; *packs: the
 * pack files it names (after gc, every other one is gone: an orphan, or
 * one whose records were all deleted). */
static int expected_files(int shards, int *packs)
{
    char path[700];
    snprintf(path, sizeof path, "%s/index.db", fx.meta);
    sqlite3 *db;
    sqlite3_stmt *st;
    int total = -1;
    *packs = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_prepare_v2(db,
            "SELECT missing, (SELECT count(*) FROM pack_shards p WHERE p.data_id = s.data_id)"
            " FROM segments s WHERE inline_data IS NULL UNION ALL "
            "SELECT missing, (SELECT count(*) FROM pack_shards p WHERE p.data_id = u.data_id)"
            " FROM parts u WHERE inline_data IS NULL UNION ALL "
            "SELECT 0, 0 FROM objects WHERE nparts > 0 UNION ALL "
            "SELECT -1, count(DISTINCT pack_id) FROM pack_shards", -1, &st, NULL) == SQLITE_OK) {
        total = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            int missing = sqlite3_column_int(st, 0), n = sqlite3_column_int(st, 1);
            if (missing < 0)
                *packs = n;
            else
                total += shards - __builtin_popcount((unsigned)missing) - n;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return total;
}

static int take_usage(void *ctx, const st_usage *u)
{
    *(st_usage *)ctx = *u;
    return 0;
}

/* The tenant's usage (kept in each object commit) equals what is listed. */
static bool usage_exact(st_engine *e, int iter)
{
    uint64_t listed[2];
    st_usage u = {0};
    cf_err err;
    if (list_totals(e, "b", &listed[0], &listed[1], &err) < 0 ||
        st_usage_list(e, "t1", take_usage, &u, &err) < 0)
        return false;
    if (u.objects == listed[0] && u.bytes == listed[1])
        return true;
    fprintf(stderr, "iteration %d: usage says %llu objects, %llu bytes; listed %llu, %llu\n",
            iter, (unsigned long long)u.objects, (unsigned long long)u.bytes,
            (unsigned long long)listed[0], (unsigned long long)listed[1]);
    return false;
}

static void kill_at_random_moments(void)
{
    const char *it = getenv("CRASH_ITERS");
    int iters = it ? atoi(it) : 200;
    fixture_init(&fx, test_tmpdir(), 6, 4, 2);
    snprintf(logpath, sizeof logpath, "%s/ops.log", fx.root);
    st_engine *e = fixture_open(&fx);
    cf_err err;
    REQUIRE(e);
    REQUIRE(st_tenant_create(e, "t1", &err) == 0);
    REQUIRE(st_bucket_create(e, "t1", "b", NULL, false, &err) == 0);
    st_close(e);
    key_state state[NKEYS] = {0};
    uint64_t seed = (uint64_t)time(NULL) | 1;
    fprintf(stderr, "crash test seed %llu\n", (unsigned long long)seed);
    int bad = 0;
    for (int iter = 0; iter < iters && !bad; iter++) {
        unlink(logpath);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0)
            child_main(seed + (uint64_t)iter * 7919, (uint64_t)(iter + 1) * 1000000);
        struct timespec ts = {0, (long)(1 + rnd(&seed) % 80) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status));
        key_state acked[NKEYS], inflight[NKEYS] = {{0}};
        bool has_inflight[NKEYS];
        memcpy(acked, state, sizeof acked);
        allowed_states(acked, inflight, has_inflight);
        e = fixture_open(&fx);
        REQUIRE(e);
        for (int i = 0; i < NKEYS; i++) {
            key_state seen;
            bool whole = observe(e, i, &seen);
            bool allowed = same_state(seen, acked[i]) ||
                           (has_inflight[i] && same_state(seen, inflight[i]));
            if (!whole || !allowed) {
                fprintf(stderr, "iteration %d key%d: seen %s gen %llu, acked %s gen %llu\n",
                        iter, i, seen.present ? "present" : "absent",
                        (unsigned long long)seen.gen, acked[i].present ? "present" : "absent",
                        (unsigned long long)acked[i].gen);
                bad = 1;
            }
            state[i] = seen;
        }
        if (!usage_exact(e, iter))
            bad = 1;
        st_gc_stats stats = {0};
        CHECK_EQ_INT(st_gc(e, &(st_gc_opts){.grace_s = 0}, &stats, &err), 0);
        /* a kill between a completion's commit and its manifests leaves
         * some missing: heal --all writes them (and nothing else) */
        st_check_opts ho = {0};
        st_check_stats hs;
        CHECK_EQ_INT(st_heal_all(e, &ho, &hs, &err), 0);
        CHECK_EQ_INT(hs.shards_missing, 0);
        st_close(e);
        int packs, want = expected_files(6, &packs), have = count_shard_files(&fx, 6);
        if (want != have) {
            fprintf(stderr, "iteration %d: %d shard files, the index refers to %d\n",
                    iter, have, want);
            bad = 1;
        }
        want = packs;
        have = count_pack_files(&fx, 6);
        if (want != have) {
            fprintf(stderr, "iteration %d: %d pack files, the index refers to %d\n",
                    iter, have, want);
            bad = 1;
        }
    }
    CHECK(!bad);
}

TEST_MAIN("crash", T(kill_at_random_moments))
