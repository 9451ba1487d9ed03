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
 * orphans, no temp files).
 *
 * Lock changes are in the same loop, on a bucket with object lock in a
 * second tenant (its own usage): PutObjectRetention on NLOCK versions
 * (always a later date: key 0 COMPLIANCE, the others GOVERNANCE),
 * PutObjectLegalHold ON/OFF, and the bucket's default retention
 * (PutObjectLockConfiguration: none, or a mode and days). After each kill
 * every version's retention and hold and the bucket's default are the
 * last acknowledged ones or those of the change in flight: never a
 * retention earlier than acknowledged, a hold lost, or anything else.
 * So are versioned PUTs and deletes (delete markers) on NVER keys of a
 * bucket with versioning Enabled in that tenant: each key's whole version
 * history (objects by generation, markers) is the acknowledged one, or
 * that and the write in flight on its top.
 * And exactly the pack files the index names. Iterations: CRASH_ITERS
 * (default 200, the count issue 11 asks of versioned writes and lock
 * changes; make soak runs 2,000). With COFFER_TEST_PACK_SHARD_MAX
 * (engine_util.h) the one-block PUTs and parts go to pack files
 * (tests/unit/crash_packed.sh).
 */
#include "tests/unit/test.h"
#include "tests/unit/engine_util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NKEYS 6
#define NLOCK 3                      /* versions whose lock the loop changes */
#define NVER 2                       /* keys with versioned PUTs and deletes */
#define MAXV 1024                    /* versions of one of them, at most */
#define MIB (1u << 20)

typedef struct key_state {
    bool present;
    uint64_t gen;
} key_state;

/* What the loop changes of object lock: each version's retain-until and
 * legal hold, and the bucket's default retention (mode, days). */
typedef struct lock_state {
    int64_t until[NLOCK];
    int hold[NLOCK];
    int mode, days;
} lock_state;

/* A key's versions, oldest first: a generation, 0 for a delete marker. */
typedef struct ver_hist {
    uint64_t v[MAXV];
    int n;
} ver_hist;

static eng_fixture fx;
static char logpath[700];
static char lock_vid[NLOCK][ST_ID_HEX];
static int64_t lock_t0;              /* retentions are lock_t0 + counter ms */

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

static int lock_mode_of(int key)
{
    return key == 0 ? ST_LOCK_COMPLIANCE : ST_LOCK_GOVERNANCE;
}

/* A lock change numbered counter: its value is a function of the counter,
 * so the parent can tell which one it sees. */
static void lock_apply(lock_state *s, char op, int key, uint64_t counter)
{
    if (op == 'R')
        s->until[key] = lock_t0 + (int64_t)counter;
    else if (op == 'H')
        s->hold[key] = counter & 1 ? ST_HOLD_ON : ST_HOLD_OFF;
    else if (counter % 4 == 0) {     /* no default retention */
        s->mode = ST_LOCK_NONE;
        s->days = 0;
    } else {
        s->mode = counter & 1 ? ST_LOCK_COMPLIANCE : ST_LOCK_GOVERNANCE;
        s->days = 1 + (int)(counter % 365);
    }
}

static int child_lock(st_engine *e, char op, int key, uint64_t counter, cf_err *err)
{
    lock_state s;
    lock_apply(&s, op, key, counter);
    char name[16];
    snprintf(name, sizeof name, "lock%d", key);
    if (op == 'R')
        return st_object_set_retention(e, "t2", "lb", name, lock_vid[key], lock_mode_of(key),
                                       s.until[key], false, err);
    if (op == 'H')
        return st_object_set_legal_hold(e, "t2", "lb", name, lock_vid[key], s.hold[key],
                                        err);
    return st_bucket_set_lock(e, "t2", "lb", s.mode, (uint32_t)s.days, 0, err);
}

static uint64_t small_size(uint64_t gen)      /* an inline object's */
{
    return 1 + gen % 64;
}

/* A versioned PUT ('V': a small object of generation counter) or DELETE
 * ('X': a delete marker) in the versioned bucket. */
static int child_version(st_engine *e, char op, int key, uint64_t counter, cf_err *err)
{
    char name[16], gs[24];
    snprintf(name, sizeof name, "ver%d", key);
    if (op == 'X')
        return st_delete(e, "t2", "vb", name, err);
    snprintf(gs, sizeof gs, "%llu", (unsigned long long)counter);
    st_header h[] = {{"x-amz-meta-gen", gs}};
    st_put_args a = {.tenant = "t2", .bucket = "vb", .key = name, .headers = h,
                     .nheaders = 1, .expected_size = (int64_t)small_size(counter)};
    return put_gen_args(e, &a, counter, NULL, err);
}

static void child_main(uint64_t seed, uint64_t counter)
{
    st_engine *e = fixture_open(&fx);
    int fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (!e || fd < 0)
        _exit(2);
    for (;; counter++) {
        uint64_t r = rnd(&seed);
        char op = "PPPPDDMRRRHHLLVVVXX"[(r >> 8) % 19];
        int key = (int)(r % (strchr("RHL", op) ? NLOCK : strchr("VX", op) ? NVER : NKEYS));
        char name[16];
        snprintf(name, sizeof name, "key%d", key);
        cf_err err;
        logf_line(fd, "A %llu %c %d\n", counter, op, key);
        int rc = op == 'P' ? child_put(e, name, counter, &err)
               : op == 'D' ? st_delete(e, "t1", "b", name, &err)
               : op == 'M' ? child_multipart(e, name, counter, &err)
               : strchr("VX", op) ? child_version(e, op, key, counter, &err)
               : child_lock(e, op, key, counter, &err);
        if (rc < 0) {
            fprintf(stderr, "child: %c %s: %s\n", op, name, err.msg);
            _exit(4);
        }
        logf_line(fd, "K %llu %c %d\n", counter, op, key);
    }
}

static void hist_push(ver_hist *h, uint64_t v)
{
    if (h->n < MAXV)
        h->v[h->n] = v;
    h->n++;                          /* past MAXV: compared as too long */
}

/* Replay this iteration's log into the states each key may now be in; the
 * lock state: *lacked after the acknowledged changes, *linflight with the
 * one in flight too (equal to *lacked when none was); the version
 * histories after the acknowledged writes, and the one in flight (*vkey
 * -1: none). */
static void allowed_states(key_state *acked, key_state *inflight, bool *has_inflight,
                           lock_state *lacked, lock_state *linflight, ver_hist *vacked,
                           int *vkey, uint64_t *ventry)
{
    FILE *f = fopen(logpath, "r");
    char kind, op;
    unsigned long long counter;
    int key;
    key_state pending = {0};
    int pending_key = -1;
    *linflight = *lacked;
    *vkey = -1;
    while (f && fscanf(f, " %c %llu %c %d", &kind, &counter, &op, &key) == 4) {
        if (strchr("VX", op)) {
            if (key < 0 || key >= NVER)
                continue;
            uint64_t v = op == 'V' ? counter : 0;
            if (kind == 'A') {
                *vkey = key;
                *ventry = v;
            } else {
                hist_push(&vacked[key], v);
                *vkey = -1;
            }
            continue;
        }
        if (strchr("RHL", op)) {
            if (key < 0 || key >= NLOCK)
                continue;
            *linflight = *lacked;
            lock_apply(kind == 'A' ? linflight : lacked, op, key, counter);
            if (kind == 'K')
                *linflight = *lacked;
            pending_key = -1;
            continue;
        }
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

/* The lock state now, from the engine. */
static int observe_lock(st_engine *e, lock_state *seen)
{
    cf_err err;
    for (int i = 0; i < NLOCK; i++) {
        char name[16];
        snprintf(name, sizeof name, "lock%d", i);
        st_object_info info;
        if (st_head_version(e, "t2", "lb", name, lock_vid[i], &info, &err) < 0) {
            fprintf(stderr, "%s: %s\n", name, err.msg);
            return -1;
        }
        if (info.lock_mode != lock_mode_of(i))
            seen->until[i] = -1;     /* matches nothing */
        else
            seen->until[i] = info.retain_until_ms;
        seen->hold[i] = info.legal_hold;
        st_object_info_clear(&info);
    }
    st_bucket_info b;
    if (st_bucket_get(e, "t2", "lb", &b, &err) < 0)
        return -1;
    seen->mode = b.lock_mode;
    seen->days = (int)b.lock_days;
    return 0;
}

typedef struct ver_seen {            /* the versions listing, newest first per key */
    char name[MAXV * NVER][ST_ID_HEX];
    int key[MAXV * NVER];
    bool marker[MAXV * NVER];
    int n;
} ver_seen;

static int take_version(void *ctx, const st_object_info *obj, const char *prefix)
{
    ver_seen *s = ctx;
    (void)prefix;
    int k;
    if (!obj || sscanf(obj->key, "ver%d", &k) != 1 || k < 0 || k >= NVER ||
        s->n >= MAXV * NVER)
        return -1;
    snprintf(s->name[s->n], ST_ID_HEX, "%s", st_version_name(obj));
    s->key[s->n] = k;
    s->marker[s->n++] = obj->delete_marker;
    return 0;
}

/* Each key's version history now (oldest first), from the engine. */
static int observe_versions(st_engine *e, ver_hist *seen)
{
    static ver_seen s;
    cf_err err;
    bool trunc;
    char next[ST_MAX_KEY + 1], next_version[ST_ID_HEX];
    st_list_args a = {.tenant = "t2", .bucket = "vb", .max_keys = MAXV * NVER};
    s.n = 0;
    if (st_list_versions(e, &a, NULL, take_version, &s, &trunc, next, next_version,
                         &err) < 0 || trunc)
        return -1;
    for (int k = 0; k < NVER; k++)
        seen[k].n = 0;
    for (int i = s.n - 1; i >= 0; i--) {
        uint64_t gen = 0;
        if (!s.marker[i]) {
            char name[16];
            snprintf(name, sizeof name, "ver%d", s.key[i]);
            st_object_info info;
            if (st_head_version(e, "t2", "vb", name, s.name[i], &info, &err) < 0)
                return -1;
            const char *g = st_object_header(&info, "x-amz-meta-gen");
            gen = g ? strtoull(g, NULL, 10) : 0;
            if (!g || info.size != small_size(gen))
                gen = UINT64_MAX;    /* matches nothing */
            st_object_info_clear(&info);
        }
        hist_push(&seen[s.key[i]], gen);
    }
    return 0;
}

static bool same_hist(const ver_hist *a, const ver_hist *b)
{
    return a->n == b->n && a->n <= MAXV &&
           memcmp(a->v, b->v, (size_t)a->n * sizeof a->v[0]) == 0;
}

static bool same_lock(const lock_state *a, const lock_state *b)
{
    for (int i = 0; i < NLOCK; i++)
        if (a->until[i] != b->until[i] || a->hold[i] != b->hold[i])
            return false;
    return a->mode == b->mode && a->days == b->days;
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
    /* the versions whose lock the children change, locked from the start */
    lock_t0 = (int64_t)time(NULL) * 1000 + 10 * 86400000LL;
    lock_state lstate = {.mode = ST_LOCK_NONE};
    REQUIRE(st_tenant_create(e, "t2", &err) == 0);
    REQUIRE(st_bucket_create(e, "t2", "lb", NULL, true, &err) == 0);
    for (int i = 0; i < NLOCK; i++) {
        char name[16];
        snprintf(name, sizeof name, "lock%d", i);
        st_put_args a = {.tenant = "t2", .bucket = "lb", .key = name, .expected_size = 1,
                         .opts = {.lock_mode = lock_mode_of(i), .retain_until_ms = lock_t0}};
        st_object_info info;
        REQUIRE(put_gen_args(e, &a, (uint64_t)i, &info, &err) == 0);
        snprintf(lock_vid[i], ST_ID_HEX, "%s", st_version_name(&info));
        lstate.until[i] = lock_t0;
    }
    REQUIRE(st_bucket_create(e, "t2", "vb", NULL, false, &err) == 0);
    REQUIRE(st_bucket_set_versioning(e, "t2", "vb", ST_VERSIONING_ENABLED, &err) == 0);
    static ver_hist vstate[NVER], vacked[NVER], vseen[NVER];
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
        lock_state lacked = lstate, linflight, lseen;
        int vkey;
        uint64_t ventry = 0;
        memcpy(vacked, vstate, sizeof vacked);
        allowed_states(acked, inflight, has_inflight, &lacked, &linflight, vacked, &vkey,
                       &ventry);
        e = fixture_open(&fx);
        REQUIRE(e);
        REQUIRE(observe_versions(e, vseen) == 0);
        for (int k = 0; k < NVER; k++) {
            bool ok = same_hist(&vseen[k], &vacked[k]);
            if (!ok && vkey == k) {
                hist_push(&vacked[k], ventry);
                ok = same_hist(&vseen[k], &vacked[k]);
            }
            if (!ok) {
                fprintf(stderr, "iteration %d ver%d: %d versions, %d acknowledged%s\n", iter,
                        k, vseen[k].n, vacked[k].n, vkey == k ? " with the one in flight" : "");
                bad = 1;
            }
        }
        memcpy(vstate, vseen, sizeof vstate);
        if (observe_lock(e, &lseen) < 0 ||
            !(same_lock(&lseen, &lacked) || same_lock(&lseen, &linflight))) {
            fprintf(stderr, "iteration %d: the lock state is neither the acknowledged one "
                    "nor the one in flight\n", iter);
            for (int i = 0; i < NLOCK; i++)
                fprintf(stderr, "  lock%d: until %lld hold %d (acked %lld %d, in flight "
                        "%lld %d)\n", i, (long long)lseen.until[i], lseen.hold[i],
                        (long long)lacked.until[i], lacked.hold[i],
                        (long long)linflight.until[i], linflight.hold[i]);
            fprintf(stderr, "  default: mode %d days %d (acked %d %d, in flight %d %d)\n",
                    lseen.mode, lseen.days, lacked.mode, lacked.days, linflight.mode,
                    linflight.days);
            bad = 1;
        }
        lstate = lseen;
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
        int want = expected_shard_files(&fx, 6), have = count_shard_files(&fx, 6);
        if (want != have) {
            fprintf(stderr, "iteration %d: %d shard files, the index refers to %d\n",
                    iter, have, want);
            bad = 1;
        }
        want = expected_pack_files(&fx);
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
