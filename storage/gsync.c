/*
 * storage/gsync.c - group commit (the contract is in gsync.h): tickets
 * under one mutex, one syncer at a time with the mutex dropped, a
 * broadcast after every sync.
 *
 * Lock ownership is checked as index.c checks its own (common/held.h):
 * in debug builds a thread-local chain of the gsync locks this thread
 * holds, kept by gsync_lock / gsync_unlock and around every place
 * gsync_wait drops the lock.
 */
#include "storage/gsync.h"

#include "common/held.h"

#include <assert.h>
#include <stddef.h>

#ifndef NDEBUG
static _Thread_local held_chain held_top;

#define mark_held(g) held_push(&held_top, &(g)->held)
#define mark_released(g) held_pop(&held_top, &(g)->held)

void gsync_assert_held(const gsync *g)
{
    assert(held_has(held_top, &g->held) && "the caller must hold the gsync lock");
}
#else
#define mark_held(g) ((void)(g))
#define mark_released(g) ((void)(g))
#endif

void gsync_init(gsync *g, uint64_t start, gsync_sync_fn *sync, gsync_done_fn *done,
                void *arg)
{
    *g = (gsync){.written = start, .synced = start, .sync = sync, .done = done, .arg = arg};
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cv, NULL);
}

void gsync_destroy(gsync *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->lock);
}

void gsync_lock(gsync *g)
{
    pthread_mutex_lock(&g->lock);
    mark_held(g);
}

void gsync_unlock(gsync *g)
{
    mark_released(g);
    pthread_mutex_unlock(&g->lock);
}

/* As the syncer: one sync covering every ticket handed out so far. */
static void round_run(gsync *g)
{
    uint64_t target = g->written;
    g->syncing = true;
    gsync_unlock(g);
    int e = g->sync(g->arg);
    gsync_lock(g);
    g->syncing = false;
    if (g->done)
        g->done(g->arg, e);
    if (e != 0)
        g->err = e;
    else if (target > g->synced)
        g->synced = target;
    pthread_cond_broadcast(&g->cv);
}

int gsync_wait(gsync *g, uint64_t ticket)
{
    gsync_assert_held(g);
    while (g->synced < ticket && g->err == 0) {
        if (g->syncing) {
            mark_released(g);
            pthread_cond_wait(&g->cv, &g->lock);
            mark_held(g);
        } else {
            round_run(g);
        }
    }
    return g->synced < ticket ? g->err : 0;
}
