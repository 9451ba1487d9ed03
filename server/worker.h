/*
 * server/worker.h - cofferd's background maintenance: one thread that,
 * every interval, rewrites shards of segments on the heal queue (st_heal)
 * and then finishes queued deletions and removes orphan shard files older
 * than the grace period (st_gc, which deletes only what this index could
 * have left, and holds a scan that finds too many: reported loudly), and
 * then writes a snapshot generation of the index to every disk
 * (st_snapshot). Foreground requests never wait on it; it
 * takes the index lock only in short steps, like any request.
 *
 * Start it after the signal mask is set (it must not receive SIGTERM) and
 * stop it before the engine closes: worker_stop wakes the thread, waits for
 * the round in progress to end, and joins it.
 */
#ifndef SERVER_WORKER_H
#define SERVER_WORKER_H

#include <stdint.h>

#include "common/error.h"
#include "storage/engine.h"

#define WORKER_DEFAULT_INTERVAL_S 300
#define WORKER_DEFAULT_GRACE_S 3600

typedef struct worker worker;

int worker_start(st_engine *e, int interval_s, int64_t grace_s, worker **out,
                 cf_err *err);
void worker_stop(worker *w);

#endif
