/*
 * storage/gsync.h - group commit: many writers, one sync at a time, each
 * sync covering every write made before it started. The one copy of the
 * scheme behind the index's durable commit (index.c idx_unlock_durable:
 * the WAL), the pack files' commit (pack.c pack_commit) and the bench's
 * model of both (contrib/bench/bench_engine.c).
 *
 * Tickets. `written` is a counter the caller advances, under the lock,
 * once the bytes it stands for are written (write() has returned): the
 * index counts writing sections, a pack its end offset. A write's ticket
 * is the value `written` had just after it; it is durable once
 * `synced` >= ticket. A ticket of the current `written` (no write of its
 * own) waits for everything written so far.
 *
 * gsync_wait: a waiter that finds no sync running becomes the syncer: it
 * takes target = written, drops the lock, runs sync(arg), takes the lock
 * again, runs done(arg, errno) if given, sets synced = target on success,
 * and wakes every waiter. The others sleep on the condition variable and
 * look again; one whose ticket lies past what the finished sync covered
 * starts the next. So writers keep appending while a sync runs, and the
 * next sync covers all of them at once.
 *
 * Errors: a failed sync's errno is sticky (err): every waiter whose
 * ticket it did not cover gets it, the ones waiting then and every later
 * one, and no sync runs again (after a failed fdatasync nothing is known
 * of the file's unsynced bytes). A ticket an earlier sync covered stays
 * durable: gsync_wait returns 0 for it. A caller that must refuse
 * everything after a failure (a pack) checks err as well.
 *
 * No lost wakeup: target is read, and synced, syncing and err are set,
 * under the lock, and every finished sync broadcasts under it; a waiter
 * checks its condition under the lock before it sleeps, so a sync that
 * ends between its check and its sleep cannot happen.
 *
 * Lock: the gsync's own mutex guards every field; take it with
 * gsync_lock. gsync_wait and any read or change of written, synced or
 * err need it held (asserted in debug builds); gsync_wait returns with it
 * held, having dropped it while it slept or synced. sync runs with it
 * dropped and must not take it; done runs with it held. Lock order: a
 * caller's own locks (the index mutex) before this one.
 */
#ifndef ST_GSYNC_H
#define ST_GSYNC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/held.h"

/* Make durable every write counted so far: 0, or an errno. Lock dropped. */
typedef int gsync_sync_fn(void *arg);
/* The finished sync's result (0 or its errno), before waiters wake. Lock
 * held. */
typedef void gsync_done_fn(void *arg, int err);

typedef struct gsync {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    uint64_t written;                /* [lock] tickets handed out (see above) */
    uint64_t synced;                 /* [lock] every ticket <= this is durable */
    bool syncing;                    /* [lock] a sync is running */
    int err;                         /* [lock] sticky: the failed sync's errno */
    gsync_sync_fn *sync;
    gsync_done_fn *done;             /* NULL: none */
    void *arg;
#ifndef NDEBUG
    held_link held;                  /* [lock] in the holder's chain (held.h) */
#endif
} gsync;

/* written = synced = start (bytes already durable, or 0). */
void gsync_init(gsync *g, uint64_t start, gsync_sync_fn *sync, gsync_done_fn *done,
                void *arg);
void gsync_destroy(gsync *g);

void gsync_lock(gsync *g);
void gsync_unlock(gsync *g);

#ifdef NDEBUG
#define gsync_assert_held(g) ((void)(g))
#else
/* Abort unless this thread holds g's lock. */
void gsync_assert_held(const gsync *g);
#endif

/* [lock held] Return once ticket is durable (0), or with err if a sync
 * failed before covering it. */
int gsync_wait(gsync *g, uint64_t ticket);

#endif
