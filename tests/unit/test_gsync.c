/*
 * tests/unit/test_gsync.c - the group commit (storage/gsync.h) when an
 * fdatasync fails, for the helper itself and for its two users, the pack
 * files (pack.c) and the index's WAL (index.c), with the fault injected
 * through common/fio.h into the real fdatasync of a real file. Needs a
 * build configured with --enable-fault-injection (skipped otherwise).
 *
 *  - Writers whose tickets one fdatasync covers, all waiting on it when
 *    it fails: every one gets its errno; a later ticket gets it without
 *    any fdatasync running; a ticket an earlier fdatasync covered stays
 *    durable.
 *  - A pack whose fdatasync fails under concurrent appenders: no append
 *    or commit after it succeeds, not even the commit of bytes an earlier
 *    fdatasync covered (the pack takes no more).
 *  - Index sections queued behind a failing WAL fdatasync: none is
 *    acknowledged, and the index says it failed.
 *  - (Debug builds) gsync_wait without the lock held aborts.
 */
#include "common/fio.h"
#include "common/fsutil.h"
#include "storage/gsync.h"
#include "storage/index.h"
#include "storage/pack.h"
#include "tests/unit/test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAITERS 6

typedef struct file_sync {
    int fd;
    atomic_int queued;               /* waiters that took their ticket */
    atomic_int want;                 /* the sync waits for this many */
    atomic_bool gave_up;
} file_sync;

/* The sync: once `want` waiters are queued (so they all wait on this
 * round), the file's fdatasync. */
static int sync_file(void *arg)
{
    file_sync *s = arg;
    for (int i = 0; atomic_load(&s->queued) < atomic_load(&s->want); i++) {
        if (i == 10000) {            /* 10 s: something never queued */
            atomic_store(&s->gave_up, true);
            break;
        }
        usleep(1000);
    }
    return fio_fdatasync(s->fd) == 0 ? 0 : errno;
}

typedef struct waiter {
    gsync *g;
    file_sync *s;
    uint64_t ticket;
    int rc;
} waiter;

static void *wait_ticket(void *arg)
{
    waiter *w = arg;
    gsync_lock(w->g);
    atomic_fetch_add(&w->s->queued, 1);
    w->rc = gsync_wait(w->g, w->ticket);
    gsync_unlock(w->g);
    return NULL;
}

static void a_failed_sync_fails_every_ticket_it_covered_and_every_later_one(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/gsync.file", test_tmpdir());
    file_sync s = {.fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)};
    REQUIRE(s.fd >= 0);
    gsync g;
    gsync_init(&g, 0, sync_file, NULL, &s);
    uint8_t rec[4096] = {1};
    /* one write, synced: durable */
    gsync_lock(&g);
    REQUIRE(fsu_write_all(s.fd, rec, sizeof rec) == 0);
    uint64_t first = ++g.written;
    CHECK_EQ_INT(gsync_wait(&g, first), 0);
    /* WAITERS writes, all before the next sync starts, so it covers them */
    for (int i = 0; i < WAITERS; i++)
        REQUIRE(fsu_write_all(s.fd, rec, sizeof rec) == 0);
    g.written += WAITERS;
    gsync_unlock(&g);
    REQUIRE(fio_fault_set("fsync@1=EIO:gsync.file") == 0);
    atomic_store(&s.want, WAITERS);
    pthread_t t[WAITERS];
    waiter w[WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        w[i] = (waiter){&g, &s, first + 1 + (uint64_t)i, -1};
        REQUIRE(pthread_create(&t[i], NULL, wait_ticket, &w[i]) == 0);
    }
    for (int i = 0; i < WAITERS; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(w[i].rc, EIO);
    }
    CHECK(fio_fault_fired());
    CHECK(!atomic_load(&s.gave_up));
    fio_fault_set(NULL);
    /* a later write: refused, and no fdatasync runs for it */
    gsync_lock(&g);
    uint64_t syncs = fio_count(FIO_FSYNC);
    REQUIRE(fsu_write_all(s.fd, rec, sizeof rec) == 0);
    CHECK_EQ_INT(gsync_wait(&g, ++g.written), EIO);
    CHECK(fio_count(FIO_FSYNC) == syncs);
    /* what the first fdatasync covered stays durable */
    CHECK_EQ_INT(gsync_wait(&g, first), 0);
    gsync_unlock(&g);
    gsync_destroy(&g);
    close(s.fd);
}

typedef struct appender {
    pack_writer *w;
    int id;
    int ok;
} appender;

static void *append_commit(void *arg)
{
    appender *a = arg;
    uint8_t hdr[SHARD_HEADER_SIZE] = {0}, body[2048];
    for (int i = 0; i < 8; i++) {
        uint64_t off, end;
        cf_err err;
        memset(body, a->id * 8 + i, sizeof body);
        if (pack_append(a->w, hdr, body, sizeof body, &off, &end, &err) == 0 &&
            pack_commit(a->w, end, &err) == 0)
            a->ok++;
    }
    return NULL;
}

static void a_failed_pack_sync_refuses_every_later_append_and_commit(void)
{
    pack_writer w;
    cf_err err;
    REQUIRE(pack_create(test_tmpdir(), &w, &err) == 0);
    uint8_t hdr[SHARD_HEADER_SIZE] = {0}, body[2048] = {7};
    uint64_t off, end;
    REQUIRE(pack_append(&w, hdr, body, sizeof body, &off, &end, &err) == 0);
    REQUIRE(pack_commit(&w, end, &err) == 0);
    REQUIRE(fio_fault_set("fsync@1=EIO:.pack") == 0);
    pthread_t t[4];
    appender a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (appender){&w, i, 0};
        REQUIRE(pthread_create(&t[i], NULL, append_commit, &a[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(a[i].ok, 0);    /* no fdatasync after the failed one */
    }
    CHECK(fio_fault_fired());
    fio_fault_set(NULL);
    CHECK_EQ_INT(pack_commit(&w, end, &err), -1);   /* durable, but the pack is done */
    CHECK_EQ_INT(err.code, CF_EIO);
    CHECK_EQ_INT(pack_append(&w, hdr, body, sizeof body, &off, &end, &err), -1);
    pack_close(&w);
}

#define IX_THREADS 6

typedef struct section {
    idx *x;
    int id;
    int rc;
} section;

static void slow_hook(void *ctx)
{
    (void)ctx;
    usleep(20 * 1000);               /* the others queue behind this round */
}

static void *commit_one(void *arg)
{
    section *s = arg;
    char k[32];
    cf_err err;
    snprintf(k, sizeof k, "gs-%d", s->id);
    idx_lock(s->x);
    int rc = idx_run(s->x, NULL, &err, "INSERT INTO meta VALUES (?1, 1)", "t", k);
    s->rc = idx_unlock_durable(s->x, rc == 0 ? &err : &(cf_err){0}) < 0 || rc < 0 ? -1 : 0;
    return NULL;
}

static void index_sections_behind_a_failed_wal_sync_all_fail(void)
{
    idx *x;
    cf_err err;
    REQUIRE(idx_open(test_tmpdir(), &x, &err) == 0);
    idx_set_sync_hook(x, slow_hook, NULL);
    idx_stats before, after;
    idx_get_stats(x, &before);
    REQUIRE(fio_fault_set("walsync@1=EIO") == 0);
    pthread_t t[IX_THREADS];
    section s[IX_THREADS];
    for (int i = 0; i < IX_THREADS; i++) {
        s[i] = (section){x, i, 0};
        REQUIRE(pthread_create(&t[i], NULL, commit_one, &s[i]) == 0);
    }
    for (int i = 0; i < IX_THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(s[i].rc, -1);   /* never acknowledged */
    }
    CHECK(fio_fault_fired());
    fio_fault_set(NULL);
    idx_get_stats(x, &after);
    CHECK(after.wal_failed);
    CHECK(after.wal_syncs - before.wal_syncs == 1);   /* no round after the failed one */
    idx_close(x);
}

#ifndef NDEBUG
/* gsync_wait without the lock is a bug that could lose a wakeup: it must
 * abort (in a child process). */
static int never_called(void *arg)
{
    (void)arg;
    return 0;
}

static void waiting_without_the_lock_aborts(void)
{
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        gsync g;
        gsync_init(&g, 0, never_called, NULL, NULL);
        if (freopen("/dev/null", "w", stderr) == NULL)
            _exit(2);
        gsync_wait(&g, 0);          /* even one with nothing to wait for */
        _exit(0);
    }
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}
#endif

int main(int argc, char **argv)
{
    if (!fio_faults_built()) {
        fprintf(stderr, "SKIP: built without --enable-fault-injection\n");
        return 77;
    }
    static const test_case cases[] = {
        T(a_failed_sync_fails_every_ticket_it_covered_and_every_later_one),
        T(a_failed_pack_sync_refuses_every_later_append_and_commit),
        T(index_sections_behind_a_failed_wal_sync_all_fail),
#ifndef NDEBUG
        T(waiting_without_the_lock_aborts),
#endif
    };
    return test_run_all("gsync", cases, sizeof cases / sizeof cases[0], argc, argv);
}
