/*
 * server/lifecycle.h - the lifecycle worker: one background job, with its
 * own interval (lifecycle.interval_seconds) and rate limits, that applies
 * buckets' lifecycle rules and keeps the cold tiers in step. It is kept
 * apart from the maintenance thread (worker.h) so that it becomes one job
 * among the others when a common job scheduler arrives.
 *
 * A pass:
 *   1. remote objects queued for deletion are deleted (retried with
 *      backoff while a remote refuses);
 *   2. restored copies whose days are over are dropped; requested restores
 *      are brought back;
 *   3. each bucket with a configuration is walked from where the last pass
 *      stopped (the cursor is in the index): expired objects are deleted,
 *      due transitions run (lifecycle.transitions at once), stale
 *      multipart uploads are aborted;
 *   4. versions whose storage class at PUT named a tier are moved there.
 * At start, transitions a crash interrupted are aborted first (their
 * remote objects queued for deletion), so nothing half-tiered survives a
 * restart and no remote object is left that the index does not know.
 *
 * Rate limits: at most lifecycle.objects_per_s actions (an expiration, a
 * transition or restore started, a remote delete) per second, and uploads
 * share lifecycle.max_bytes_per_s, so foreground requests keep their
 * throughput. Days are lifecycle.day_seconds long (86,400 by default;
 * tests use a few seconds).
 *
 * Threading: one thread, plus up to lifecycle.transitions transfer
 * threads during a batch. lifecycle_wake may be called from any thread
 * (a new configuration, a restore request). Start after the signal mask
 * is set; stop before the engine closes (waits for the running batch).
 */
#ifndef SRV_LIFECYCLE_H
#define SRV_LIFECYCLE_H

#include "common/error.h"
#include "server/config.h"
#include "storage/engine.h"
#include "tier/tier.h"

typedef struct lifecycle lifecycle;

int lifecycle_start(st_engine *e, tier_set *tiers, const lifecycle_config *cfg,
                    lifecycle **out, cf_err *err);
/* Run a pass soon instead of at the end of the interval (NULL: nothing). */
void lifecycle_wake(lifecycle *lc);
void lifecycle_stop(lifecycle *lc);

#endif
