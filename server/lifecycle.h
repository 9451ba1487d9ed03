/*
 * server/lifecycle.h - the lifecycle pass: one background job, with its
 * own interval (lifecycle.interval_seconds) and rate limits, that applies
 * buckets' lifecycle rules and keeps the cold tiers in step. It runs as
 * the scheduler's "lifecycle" job (server/jobs.c, server/sched.h), which
 * calls lifecycle_pass every interval, at once after start, and sooner
 * when woken (sched_wake: a new configuration, a restore request).
 *
 * A pass:
 *   1. remote objects queued for deletion are deleted (retried with
 *      backoff while a remote refuses);
 *   2. restored copies whose days are over are dropped; requested restores
 *      are brought back;
 *   3. each bucket with a configuration is walked from where the last pass
 *      stopped (the cursor is in the index), every version of each key:
 *      expired objects are deleted (in a versioned bucket: a delete
 *      marker is added, as S3 does), noncurrent versions expire or move
 *      to a tier NoncurrentDays after they became noncurrent (keeping the
 *      newest NewerNoncurrentVersions), a delete marker left as its key's
 *      only version goes (ExpiredObjectDeleteMarker), due transitions run
 *      (lifecycle.transitions at once), stale multipart uploads are
 *      aborted. A version under object lock (retention in force, legal
 *      hold) is never destroyed: it is skipped and counted;
 *   4. versions whose storage class at PUT named a tier are moved there.
 * The first pass first aborts the transitions a crash interrupted (their
 * remote objects queued for deletion), so nothing half-tiered survives a
 * restart and no remote object is left that the index does not know.
 *
 * Rate limits: at most lifecycle.objects_per_s actions (an expiration, a
 * transition or restore started, a remote delete) per second, and uploads
 * share lifecycle.max_bytes_per_s, so foreground requests keep their
 * throughput. Days are lifecycle.day_seconds long (86,400 by default;
 * tests use a few seconds).
 *
 * Threading: lifecycle_pass runs on the job's thread, plus up to
 * lifecycle.transitions transfer threads during a batch (started and
 * joined inside the pass). lifecycle_cancel may be called from any thread:
 * the pass in progress (or the next) ends at its next step, its rate-limit
 * sleeps end at once (sched_stop calls it). Free it after the scheduler
 * stopped.
 */
#ifndef SRV_LIFECYCLE_H
#define SRV_LIFECYCLE_H

#include <stdint.h>

#include "common/error.h"
#include "server/config.h"
#include "storage/engine.h"
#include "tier/tier.h"

typedef struct lifecycle lifecycle;

int lifecycle_new(st_engine *e, tier_set *tiers, const lifecycle_config *cfg,
                  lifecycle **out, cf_err *err);
/* One pass (above). -1 with err when the index failed (the pass ends; the
 * next one goes on); a remote's failure is the tier's last error, not the
 * pass's. */
int lifecycle_pass(lifecycle *lc, cf_err *err);
/* How many versions the last pass left because of object lock (each
 * rule's days were past). On the job's thread, after lifecycle_pass. */
uint64_t lifecycle_locked_kept(const lifecycle *lc);
void lifecycle_cancel(lifecycle *lc);
void lifecycle_free(lifecycle *lc);

#endif
