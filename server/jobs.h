/*
 * server/jobs.h - cofferd's background jobs: which there are, their
 * defaults and coffer.json keys, and what each run does (server/jobs.c),
 * run by the scheduler (server/sched.h).
 *
 *   heal      every 5 min: rewrite the shards of segments on the heal queue;
 *             triggered with {"all":true[,"tenant","bucket"]} every
 *             segment's shard files (and manifests) are checked and what is
 *             missing written again (st_heal_all)
 *   scrub     a whole pass every 30 days, in `slices` (30) runs spread over
 *             them (a random first one), `deep` (0) as configured: every
 *             shard of every block read and CRC-checked, bad shards
 *             rewritten; the last slice reports the pass. Triggered with
 *             {"deep","tenant","bucket","no_repair"}: a whole pass at once
 *   gc        every 5 min: finish queued deletions, remove orphan shard
 *             files older than grace_seconds (3600) within GC's bound
 *   snapshot  every 5 min: a new index snapshot generation on every disk
 *   drill     every 7 days, spread: read `sample` (100) objects back through
 *             cofferd's own front end as a client would (client/drill.h),
 *             each tenant with a read-only key made for the drill and
 *             revoked after it; triggered with {"tenant","bucket","sample"}
 *             or {"all":true}. endpoint and cacert say where cofferd is
 *             reached when its listen address and certificate do not.
 *   lifecycle every lifecycle.interval_seconds (coffer.json(5)), at once
 *             after start (it recovers interrupted transitions) and when
 *             woken (sched_wake: a lifecycle configuration put, a restore
 *             asked): one lifecycle pass (server/lifecycle.h), its counts
 *             as progress and report; triggered with {"tenant","bucket"}
 *             only those rules are walked; sched_stop cancels a pass in
 *             progress.
 *   compact   every hour: the live records of each sealed pack more than
 *             storage.pack_compact_dead_ratio (0.5) dead are copied into
 *             the disk's open pack and the old pack unlinked (st_compact);
 *             paced by bytes_per_second over the bytes copied, progress in
 *             packs; reports what it copied and reclaimed
 *
 * jobs_register keeps what the jobs run against in one static place: one
 * scheduler per process.
 *
 * jobs_check_config runs before the disks are touched: every name under
 * coffer.json "jobs" must be one of these, with only interval_seconds,
 * bytes_per_second and the job's own keys.
 */
#ifndef SRV_JOBS_H
#define SRV_JOBS_H

#include "common/error.h"
#include "server/config.h"
#include "server/sched.h"
#include "storage/engine.h"

int jobs_check_config(const coffer_config *cfg, cf_err *err);
/* Are opts (a trigger's JSON object) options job `name` takes, each of its
 * type? CF_ENOTFOUND: no such job; CF_EINVAL: says which option. */
int jobs_check_options(const char *name, json_t *opts, cf_err *err);
struct lifecycle;
/* Register every job with s, its configuration from cfg; lc NULL: no
 * lifecycle job. */
int jobs_register(sched *s, st_engine *e, const coffer_config *cfg, struct lifecycle *lc,
                  cf_err *err);
/* After sched_start: a disk formatted as a replacement (storage/ds.h) gets
 * a heal --all at once, which fills it and lifts its "replacing" state. */
int jobs_heal_replacements(sched *s, st_engine *e, cf_err *err);

#endif
