/*
 * server/jobs.c - the jobs (see jobs.h). Each run function turns the
 * engine's result into the scheduler's one-line summary and a report
 * (kept in the job's history), and says on stderr only what an operator
 * must see: a GC scan held by the orphan bound every time, orphans kept
 * for being older than the index when their number changes, heal and GC
 * work that changed something.
 */
#include "server/jobs.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client/drill.h"
#include "common/names.h"
#include "server/lifecycle.h"

#define JOB_ROUND_S 300
#define JOB_GRACE_S 3600
#define JOB_MIN_GRACE_S 60            /* younger files may be a PUT being committed */
#define JOB_DRILL_S (7 * 86400)
#define JOB_DRILL_SAMPLE 100
#define JOB_MAX_FINDINGS 1000         /* named in a report; the counts are complete */

/* What the jobs run against: the engine, for the drill the address
 * cofferd serves on, and the lifecycle pass (NULL: no lifecycle job). */
typedef struct jobs_env {
    st_engine *e;
    const coffer_config *cfg;
    lifecycle *lc;
} jobs_env;

/* ---- whole-store checks: heal --all and scrub ------------------------------ */

#define JOB_SCRUB_S (30 * 86400)
#define JOB_SCRUB_SLICES 30

/* A check's findings, collected for its report (bounded) and said on
 * stderr as they come. */
typedef struct check_run {
    sched_ctl *ctl;
    const char *job;
    json_t *findings, *lost;
    uint64_t nfound;
} check_run;

static void on_finding(void *ctx, const st_finding *f)
{
    check_run *r = ctx;
    r->nfound++;
    fprintf(stderr, "cofferd: %s: %s/%s/%s%s%s part %u%s%d: %s%s\n", r->job, f->tenant,
            f->bucket, f->key, f->upload_id ? " upload " : "",
            f->upload_id ? f->upload_id : "", f->part, f->disk >= 0 ? " disk " : "",
            f->disk >= 0 ? f->disk : 0, f->what,
            f->repaired ? " (repaired)" : f->lost ? " (BEYOND REPAIR)" : "");
    if (json_array_size(r->findings) < JOB_MAX_FINDINGS)
        json_array_append_new(r->findings, json_pack(
            "{s:s, s:s, s:s, s:s?, s:i, s:i, s:s, s:b, s:b}", "tenant", f->tenant,
            "bucket", f->bucket, "key", f->key, "upload_id", f->upload_id,
            "part", (int)f->part, "disk", f->disk, "what", f->what,
            "repaired", f->repaired, "lost", f->lost));
    if (f->lost && json_array_size(r->lost) < JOB_MAX_FINDINGS)
        json_array_append_new(r->lost, json_pack("{s:s, s:s, s:s}", "tenant", f->tenant,
                                                 "bucket", f->bucket, "key", f->key));
}

static int pace_job(void *ctx, uint64_t bytes)
{
    return !sched_pace(ctx, bytes);
}

/* heal and scrub pace by the bytes they read: those are the status's too */
static int pace_read(void *ctx, uint64_t bytes)
{
    sched_bytes(ctx, bytes);
    return !sched_pace(ctx, bytes);
}

static void progress_job(void *ctx, uint64_t done, uint64_t total)
{
    sched_progress(ctx, done, total);
}

/* gc: the sizes of the files its scan saw */
static void bytes_job(void *ctx, uint64_t bytes)
{
    sched_bytes(ctx, bytes);
}

#define ADD(field) (json_int_t)(a->field + b->field)
/* The counts of a check as JSON (a + b: a scrub pass adds up its slices). */
static json_t *check_json(const st_check_stats *a, const st_check_stats *b)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
                     " s:I, s:I, s:I, s:I, s:I, s:I}",
                     "objects", ADD(objects), "upload_parts", ADD(uploads_parts),
                     "tiered", ADD(tiered),
                     "segments", ADD(segments), "inline_segments", ADD(inline_segments),
                     "bytes", ADD(bytes), "shard_bytes", ADD(shard_bytes),
                     "shards_missing", ADD(shards_missing), "shards_bad", ADD(shards_bad),
                     "crc_errors", ADD(crc_errors), "gcm_failures", ADD(gcm_failures),
                     "parity_errors", ADD(parity_errors),
                     "digest_mismatches", ADD(digest_mismatches),
                     "manifests_missing", ADD(manifests_missing),
                     "segments_repaired", ADD(segments_repaired),
                     "shards_rewritten", ADD(shards_rewritten),
                     "manifests_rewritten", ADD(manifests_rewritten),
                     "repair_failures", ADD(repair_failures),
                     "lost_objects", ADD(lost_objects), "orphans", ADD(orphans));
}
#undef ADD

/* The counts back from a report (a scrub pass in progress, in the job's
 * state). */
static void check_from_json(json_t *j, st_check_stats *s)
{
#define GET(field, name) s->field = (uint64_t)json_integer_value(json_object_get(j, name))
    GET(objects, "objects");
    GET(uploads_parts, "upload_parts");
    GET(tiered, "tiered");
    GET(segments, "segments");
    GET(inline_segments, "inline_segments");
    GET(bytes, "bytes");
    GET(shard_bytes, "shard_bytes");
    GET(shards_missing, "shards_missing");
    GET(shards_bad, "shards_bad");
    GET(crc_errors, "crc_errors");
    GET(gcm_failures, "gcm_failures");
    GET(parity_errors, "parity_errors");
    GET(digest_mismatches, "digest_mismatches");
    GET(manifests_missing, "manifests_missing");
    GET(segments_repaired, "segments_repaired");
    GET(shards_rewritten, "shards_rewritten");
    GET(manifests_rewritten, "manifests_rewritten");
    GET(repair_failures, "repair_failures");
    GET(lost_objects, "lost_objects");
    GET(orphans, "orphans");
#undef GET
}

static uint64_t problems(const st_check_stats *s)
{
    return s->shards_missing + s->shards_bad + s->digest_mismatches + s->manifests_missing +
           s->lost_objects;
}

static void check_summary(sched_ctl *ctl, const char *what, const st_check_stats *s)
{
    uint64_t fixed = s->segments_repaired + s->manifests_rewritten;
    sched_summary(ctl, "%s %llu objects and %llu upload parts (%llu bytes): %llu problems, "
                  "%llu repaired, %llu beyond repair, %llu orphan files; %llu tiered "
                  "versions left to their tier%s", what,
                  (unsigned long long)s->objects, (unsigned long long)s->uploads_parts,
                  (unsigned long long)s->bytes, (unsigned long long)problems(s),
                  (unsigned long long)fixed, (unsigned long long)s->lost_objects,
                  (unsigned long long)s->orphans, (unsigned long long)s->tiered,
                  s->stopped ? " (stopped early)" : "");
}

/* The options of a triggered heal or scrub. */
static int check_opts(const json_t *opts, st_check_opts *o, cf_err *err)
{
    o->tenant = json_string_value(json_object_get(opts, "tenant"));
    o->bucket = json_string_value(json_object_get(opts, "bucket"));
    o->deep = json_is_true(json_object_get(opts, "deep"));
    o->no_repair = json_is_true(json_object_get(opts, "no_repair"));
    if (o->bucket && !o->tenant)
        return cf_fail(err, CF_EINVAL, "a bucket is named with its tenant");
    return 0;
}

/* heal --all or a scrub run as a whole, its report kept. */
static int whole_check(sched_ctl *ctl, const char *job, const json_t *opts, cf_err *err,
                       st_engine *e, bool heal)
{
    st_check_opts o = {0};
    if (check_opts(opts, &o, err) < 0)
        return -1;
    check_run run = {.ctl = ctl, .job = job, .findings = json_array(), .lost = json_array()};
    st_pacer pacer = {.pace = pace_read, .progress = progress_job, .ctx = ctl};
    o.pacer = &pacer;
    o.found = on_finding;
    o.ctx = &run;
    st_check_stats st, zero = {0};
    sched_phase(ctl, "%s%s%s%s%s", heal ? "checking every shard file" : o.deep
                ? "deep scrub" : "scrub", o.tenant ? " of " : "", o.tenant ? o.tenant : "",
                o.bucket ? "/" : "", o.bucket ? o.bucket : "");
    int rc = heal ? st_heal_all(e, &o, &st, err) : st_scrub(e, &o, &st, err);
    if (rc < 0) {
        json_decref(run.findings);
        json_decref(run.lost);
        return -1;
    }
    check_summary(ctl, heal ? "checked" : o.deep ? "deep-scrubbed" : "scrubbed", &st);
    json_t *r = check_json(&st, &zero);
    json_object_set_new(r, "kind", json_string(heal ? "heal --all" : o.deep ? "deep scrub"
                                                                            : "scrub"));
    json_object_set_new(r, "stopped", json_boolean(st.stopped));
    json_object_set_new(r, "findings", run.findings);
    json_object_set_new(r, "unrecoverable", run.lost);
    sched_report(ctl, r);
    return 0;
}

/* A scheduled scrub: the next slice of the pass the job's state holds;
 * the last slice's run reports the whole pass. */
static int scrub_slice(sched_ctl *ctl, st_engine *e, cf_err *err)
{
    int slices = (int)sched_config_int(ctl, "slices", JOB_SCRUB_SLICES);
    json_t *state = sched_state(ctl);
    int slice = (int)json_integer_value(json_object_get(state, "slice"));
    if (slice < 0 || slice >= slices)
        slice = 0;
    json_t *pass = json_object_get(state, "pass");
    if (slice == 0 || !json_is_object(pass)) {
        pass = json_pack("{s:I}", "started", (json_int_t)time(NULL));
        json_object_set_new(state, "pass", pass);
        json_object_set_new(pass, "findings", json_array());
        json_object_set_new(pass, "unrecoverable", json_array());
    }
    st_check_stats before;
    check_from_json(pass, &before);
    check_run run = {.ctl = ctl, .job = "scrub",
                     .findings = json_object_get(pass, "findings"),
                     .lost = json_object_get(pass, "unrecoverable")};
    st_pacer pacer = {.pace = pace_read, .progress = progress_job, .ctx = ctl};
    st_check_opts o = {.deep = sched_config_int(ctl, "deep", 0) != 0,
                       .slice = slice, .slices = slices, .pacer = &pacer,
                       .found = on_finding, .ctx = &run};
    st_check_stats st;
    sched_phase(ctl, "slice %d of %d", slice + 1, slices);
    if (st_scrub(e, &o, &st, err) < 0)
        return -1;
    json_t *sum = check_json(&before, &st);
    json_object_update(pass, sum);
    json_decref(sum);
    if (st.stopped) {                /* the same slice again next time */
        check_summary(ctl, "scrubbed (part of a slice)", &st);
        return 0;
    }
    st_check_stats total;
    check_from_json(pass, &total);
    if (slice + 1 < slices) {
        json_object_set_new(state, "slice", json_integer(slice + 1));
        sched_summary(ctl, "slice %d of %d: %llu objects, %llu problems so far this pass",
                      slice + 1, slices, (unsigned long long)st.objects,
                      (unsigned long long)problems(&total));
        return 0;
    }
    json_object_set_new(state, "slice", json_integer(0));
    json_object_set_new(pass, "kind", json_string(o.deep ? "deep scrub" : "scrub"));
    json_object_set_new(pass, "slices", json_integer(slices));
    json_object_set_new(pass, "ended", json_integer((json_int_t)time(NULL)));
    check_summary(ctl, "a whole pass scrubbed", &total);
    sched_report(ctl, json_incref(pass));
    json_object_del(state, "pass");
    return 0;
}

static int scrub_run(void *arg, sched_ctl *ctl, const json_t *opts, cf_err *err)
{
    st_engine *e = ((jobs_env *)arg)->e;
    return opts ? whole_check(ctl, "scrub", opts, err, e, false) : scrub_slice(ctl, e, err);
}

/* ---- heal ------------------------------------------------------------------ */

static int heal_run(void *arg, sched_ctl *ctl, const json_t *opts, cf_err *err)
{
    st_engine *e = ((jobs_env *)arg)->e;
    if (json_is_true(json_object_get(opts, "all")))
        return whole_check(ctl, "heal", opts, err, e, true);
    st_gc_stats st = {0};
    if (st_heal(e, &st, err) < 0)
        return -1;
    uint64_t pending = 0;
    cf_err perr;
    st_heal_pending(e, &pending, &perr);
    sched_summary(ctl, "%llu segments healed, %llu could not be, %llu still queued",
                  (unsigned long long)st.healed_segments,
                  (unsigned long long)st.heal_failures, (unsigned long long)pending);
    if (st.healed_segments || st.heal_failures)
        fprintf(stderr, "cofferd: heal: %llu segments healed, %llu could not be\n",
                (unsigned long long)st.healed_segments,
                (unsigned long long)st.heal_failures);
    if (opts || st.healed_segments || st.heal_failures)
        sched_report(ctl, json_pack("{s:I, s:I, s:I}", "healed_segments",
                                    (json_int_t)st.healed_segments, "heal_failures",
                                    (json_int_t)st.heal_failures, "pending",
                                    (json_int_t)pending));
    return 0;
}

/* ---- gc --------------------------------------------------------------------- */

static void say_gc(sched_ctl *ctl, const st_gc_stats *st)
{
    json_t *state = sched_state(ctl);
    uint64_t said = (uint64_t)json_integer_value(json_object_get(state, "older_reported"));
    if (st->held)
        fprintf(stderr, "cofferd: GC HELD: %llu orphan shard files (more than the bound "
                "of %llu for %llu files) were NOT deleted. That many files no index row "
                "names means the index may not match the disks; check with coffer "
                "status and cofferd(8), \"Recovering the index\". If they are garbage, "
                "coffer gc --force-orphans deletes them.\n",
                (unsigned long long)st->orphans_held, (unsigned long long)st->orphan_bound,
                (unsigned long long)st->files_scanned);
    if (st->orphans_older_than_index != said)
        fprintf(stderr, "cofferd: gc: %llu shard files no index row names are older than "
                "this index; they are kept, never deleted (cofferd(8), \"Recovering the "
                "index\")\n", (unsigned long long)st->orphans_older_than_index);
    json_object_set_new(state, "older_reported",
                        json_integer((json_int_t)st->orphans_older_than_index));
    if (st->orphan_files)
        fprintf(stderr, "cofferd: gc: %llu orphan shard files removed\n",
                (unsigned long long)st->orphan_files);
}

static int gc_run(void *arg, sched_ctl *ctl, const json_t *opts, cf_err *err)
{
    st_engine *e = ((jobs_env *)arg)->e;
    json_t *g = json_object_get(opts, "grace_s");
    st_pacer pacer = {.pace = pace_job, .progress = progress_job, .bytes = bytes_job,
                      .ctx = ctl};
    sched_phase(ctl, "directories scanned (bytes: the files seen)");
    st_gc_opts o = {.grace_s = g ? json_integer_value(g)
                                 : sched_config_int(ctl, "grace_seconds", JOB_GRACE_S),
                    .force_orphans = json_is_true(json_object_get(opts, "force_orphans")),
                    .pacer = &pacer};
    st_gc_stats st = {0};
    if (st_gc(e, &o, &st, err) < 0)
        return -1;
    say_gc(ctl, &st);
    sched_summary(ctl, "%llu deletions finished, %llu orphan files removed%s",
                  (unsigned long long)st.deleted_segments,
                  (unsigned long long)st.orphan_files, st.held ? "; HELD by the bound" : "");
    if (opts || st.held || st.orphan_files)
        sched_report(ctl, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
                                    "deleted_segments", (json_int_t)st.deleted_segments,
                                    "orphan_files", (json_int_t)st.orphan_files,
                                    "files_scanned", (json_int_t)st.files_scanned,
                                    "bytes_scanned", (json_int_t)st.bytes_scanned,
                                    "orphans_held", (json_int_t)st.orphans_held,
                                    "orphans_older_than_index",
                                    (json_int_t)st.orphans_older_than_index,
                                    "foreign_files", (json_int_t)st.foreign_files,
                                    "orphan_bound", (json_int_t)st.orphan_bound,
                                    "held", st.held));
    return 0;
}

/* ---- compact ------------------------------------------------------------- */

#define JOB_COMPACT_S 3600

/* Rewrite the live records of mostly dead packs (st_compact); paced and
 * counted by the record bytes it copies, its progress in packs. */
static int compact_run(void *arg, sched_ctl *ctl, const json_t *opts, cf_err *err)
{
    st_engine *e = ((jobs_env *)arg)->e;
    st_pacer pacer = {.pace = pace_read, .progress = progress_job, .ctx = ctl};
    st_compact_stats st;
    sched_phase(ctl, "packs compacted");
    if (st_compact(e, &(st_compact_opts){.pacer = &pacer}, &st, err) < 0)
        return -1;
    sched_summary(ctl, "%llu of %llu sealed packs compacted, %llu removed, %llu bytes "
                  "copied, %llu bytes reclaimed%s",
                  (unsigned long long)st.packs_compacted,
                  (unsigned long long)st.packs_scanned, (unsigned long long)st.packs_removed,
                  (unsigned long long)st.bytes_copied, (unsigned long long)st.bytes_reclaimed,
                  st.stopped ? " (stopped early)" : "");
    if (st.records_bad)
        fprintf(stderr, "cofferd: compact: %llu pack records did not verify: left in place "
                "and queued for heal\n", (unsigned long long)st.records_bad);
    if (opts || st.packs_removed || st.records_bad)
        sched_report(ctl, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
                                    "s:b}",
                                    "packs_scanned", (json_int_t)st.packs_scanned,
                                    "packs_compacted", (json_int_t)st.packs_compacted,
                                    "packs_removed", (json_int_t)st.packs_removed,
                                    "packs_left_for_readers",
                                    (json_int_t)st.packs_left_for_readers,
                                    "records_copied", (json_int_t)st.records_copied,
                                    "bytes_copied", (json_int_t)st.bytes_copied,
                                    "records_superseded", (json_int_t)st.records_superseded,
                                    "records_changed", (json_int_t)st.records_changed,
                                    "records_bad", (json_int_t)st.records_bad,
                                    "bytes_reclaimed", (json_int_t)st.bytes_reclaimed,
                                    "stopped", st.stopped));
    return 0;
}

/* ---- snapshot ------------------------------------------------------------- */

static int snapshot_run(void *arg, sched_ctl *ctl, const json_t *opts, cf_err *err)
{
    int copies = 0;
    if (st_snapshot(((jobs_env *)arg)->e, &copies, err) < 0)
        return -1;
    if (copies > 0)
        sched_summary(ctl, "a new generation on %d disks", copies);
    else
        sched_summary(ctl, "nothing committed since the last snapshot");
    return 0;
}

/* ---- lifecycle ---------------------------------------------------------------- */

/* The pass's counts as its progress: objects examined (of a total not
 * known in advance), the moves in the phase. */
static void lifecycle_progress(void *ctx, const lifecycle_stats *st)
{
    sched_progress(ctx, st->examined, 0);
    sched_phase(ctx, "examined; %llu transitioned, %llu expired, %llu bytes moved",
                (unsigned long long)st->transitioned, (unsigned long long)st->expired,
                (unsigned long long)st->bytes_moved);
}

/* One lifecycle pass (server/lifecycle.h): it keeps its own rate limits
 * and cursor; a remote's failure is the tier's last error (coffer tier)
 * and counted in the report, not the run's. A report is kept for a pass
 * that was asked for or did something. */
static int lifecycle_run(void *arg, sched_ctl *ctl, const json_t *opts, cf_err *err)
{
    lifecycle_pass_ctl run = {
        .tenant = json_string_value(json_object_get(opts, "tenant")),
        .bucket = json_string_value(json_object_get(opts, "bucket")),
        .progress = lifecycle_progress, .ctx = ctl};
    const lifecycle_stats *st = &run.stats;
    lifecycle_progress(ctl, st);
    if (lifecycle_pass(((jobs_env *)arg)->lc, &run, err) < 0)
        return -1;
    char locked[64] = "";
    if (st->locked_kept)
        snprintf(locked, sizeof locked, "; %llu versions under object lock kept",
                 (unsigned long long)st->locked_kept);
    sched_summary(ctl, "%llu objects examined, %llu transitioned, %llu expired, %llu bytes "
                  "moved, %llu failed%s", (unsigned long long)st->examined,
                  (unsigned long long)st->transitioned, (unsigned long long)st->expired,
                  (unsigned long long)st->bytes_moved, (unsigned long long)st->failures,
                  locked);
    if (opts || st->expired || st->transitioned || st->restored || st->remote_deletes ||
        st->uploads_aborted || st->failures)
        sched_report(ctl, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s?, "
                                    "s:s?}",
                                    "examined", (json_int_t)st->examined,
                                    "transitioned", (json_int_t)st->transitioned,
                                    "expired", (json_int_t)st->expired,
                                    "restored", (json_int_t)st->restored,
                                    "bytes_moved", (json_int_t)st->bytes_moved,
                                    "remote_deletes", (json_int_t)st->remote_deletes,
                                    "uploads_aborted", (json_int_t)st->uploads_aborted,
                                    "locked_kept", (json_int_t)st->locked_kept,
                                    "failures", (json_int_t)st->failures,
                                    "tenant", run.tenant, "bucket", run.bucket));
    return 0;
}

static void lifecycle_stop(void *arg)
{
    lifecycle_cancel(((jobs_env *)arg)->lc);
}

/* ---- drill ------------------------------------------------------------------ */

/* A drill reads through cofferd's own front end, as a client: over its
 * listen address (a wildcard one reached on loopback), trusting its own
 * certificate, unless jobs.drill.endpoint and .cacert say otherwise. */
static void drill_endpoint(sched_ctl *ctl, const coffer_config *cfg, char *out, size_t cap,
                           const char **cacert)
{
    const char *ep = sched_config_str(ctl, "endpoint");
    *cacert = sched_config_str(ctl, "cacert");
    if (!*cacert)
        *cacert = cfg->tls_cert_file;
    if (ep) {
        snprintf(out, cap, "%s", ep);
        return;
    }
    const char *host = cfg->listen_addr;
    bool v6 = strchr(host, ':') != NULL;
    if (strcmp(host, "0.0.0.0") == 0)
        host = "127.0.0.1";
    else if (strcmp(host, "::") == 0)
        host = "::1";
    snprintf(out, cap, "%s://%s%s%s:%d", cfg->tls_cert_file ? "https" : "http",
             v6 ? "[" : "", host, v6 ? "]" : "", cfg->port);
}

typedef struct drill_run_ctx {
    sched_ctl *ctl;
    const char *tenant;
    json_t *findings;
    uint64_t done_before, total_before;
    uint64_t tenant_bytes;           /* of this tenant's, counted in the status */
} drill_run_ctx;

static void drill_found(void *ctx, const drill_finding *f)
{
    drill_run_ctx *d = ctx;
    if (json_array_size(d->findings) < JOB_MAX_FINDINGS)
        json_array_append_new(d->findings, json_pack("{s:s, s:s, s:s, s:b, s:s}", "tenant",
                                                     d->tenant, "bucket", f->bucket, "key",
                                                     f->key, "mismatch", f->mismatch,
                                                     "what", f->what));
    fprintf(stderr, "cofferd: drill: %s %s/%s/%s: %s\n",
            f->mismatch ? "MISMATCH" : "READ ERROR", d->tenant, f->bucket, f->key, f->what);
}

static void drill_progress(void *ctx, const drill_stats *st, uint64_t to_read)
{
    drill_run_ctx *d = ctx;
    sched_progress(d->ctl, d->done_before + st->objects,
                   to_read ? d->total_before + to_read : 0);
    sched_bytes(d->ctl, st->bytes - d->tenant_bytes);
    d->tenant_bytes = st->bytes;
}

static bool drill_stop(void *ctx)
{
    return sched_stopping(((drill_run_ctx *)ctx)->ctl);
}

#define DRILL_KEY_PREFIX "CFDRILL"

static int revoke_leftover(void *ctx, const st_key_info *k)
{
    cf_err err;
    if (strncmp(k->access_key, DRILL_KEY_PREFIX, strlen(DRILL_KEY_PREFIX)) == 0)
        st_key_revoke(ctx, k->access_key, &err);
    return 0;
}

/* A read-only key of the tenant for one drill, named so that one left by
 * a crash is recognised and revoked by the next drill. */
static int drill_key(st_engine *e, const char *tenant, char ak[ST_ACCESS_KEY_MAX],
                     char sk[ST_SECRET_KEY_MAX], cf_err *err)
{
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint8_t r[13 + 40];
    if (st_key_list(e, tenant, revoke_leftover, e, err) < 0)
        return -1;
    if (RAND_bytes(r, sizeof r) != 1)
        return cf_fail(err, CF_ECRYPTO, "no random bytes for a drill key");
    char want_ak[ST_ACCESS_KEY_MAX], want_sk[ST_SECRET_KEY_MAX];
    size_t pl = strlen(DRILL_KEY_PREFIX);
    memcpy(want_ak, DRILL_KEY_PREFIX, pl);
    for (int i = 0; i < 13; i++)
        want_ak[pl + (size_t)i] = alnum[r[i] % 36];
    want_ak[pl + 13] = '\0';
    for (int i = 0; i < 40; i++)
        want_sk[i] = alnum[r[13 + i] % 36];
    want_sk[40] = '\0';
    const st_key_policy read_only = {.perms = ST_PERM_READ};
    int rc = st_key_create(e, tenant, &read_only, want_ak, want_sk, ak, sk, err);
    OPENSSL_cleanse(want_sk, sizeof want_sk);
    OPENSSL_cleanse(r, sizeof r);
    return rc;
}

typedef struct name_list {
    char (*v)[ST_MAX_TENANT + 1];    /* tenant or bucket names */
    size_t n, cap;
    const char *only;                /* keep only this name */
} name_list;

static int add_name(name_list *l, const char *name)
{
    if (l->only && strcmp(l->only, name) != 0)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        void *g = realloc(l->v, cap * sizeof *l->v);
        if (!g)
            return -1;
        l->v = g;
        l->cap = cap;
    }
    snprintf(l->v[l->n++], sizeof l->v[0], "%s", name);
    return 0;
}

static int add_tenant(void *ctx, const st_tenant_info *t)
{
    return add_name(ctx, t->name);
}

static int add_bucket(void *ctx, const st_bucket_info *b)
{
    return add_name(ctx, b->name);
}

/* Drill one tenant's buckets with a key of its own; adds to tot. */
static int drill_tenant(jobs_env *env, sched_ctl *ctl, const char *tenant,
                        const char *bucket, uint64_t sample, drill_run_ctx *dc,
                        drill_stats *tot, int *nbuckets, cf_err *err)
{
    name_list bl = {.only = bucket};
    if (st_bucket_list(env->e, tenant, add_bucket, &bl, err) < 0)
        return -1;
    *nbuckets += (int)bl.n;
    if (bl.n == 0) {
        free(bl.v);
        return 0;
    }
    char ak[ST_ACCESS_KEY_MAX], sk[ST_SECRET_KEY_MAX], endpoint[128];
    const char *cacert;
    if (drill_key(env->e, tenant, ak, sk, err) < 0) {
        free(bl.v);
        return -1;
    }
    drill_endpoint(ctl, env->cfg, endpoint, sizeof endpoint, &cacert);
    s3c_config sc = {.endpoint = endpoint, .region = env->cfg->region, .access_key = ak,
                     .secret_key = sk, .cacert = cacert, .max_attempts = 3,
                     .max_bytes_per_s = (uint64_t)sched_config_int(ctl, "bytes_per_second",
                                                                   0)};
    s3c_client *c = s3c_client_new(&sc, err);
    OPENSSL_cleanse(sk, sizeof sk);
    const char **names = calloc(bl.n, sizeof *names);
    int rc = c && names ? 0 : -1;
    if (c && !names)
        cf_fail(err, CF_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < bl.n; i++)
        names[i] = bl.v[i];
    drill_stats st = {0};
    dc->tenant = tenant;
    dc->tenant_bytes = 0;
    drill_opts o = {.buckets = names, .nbuckets = bl.n, .sample = sample,
                    .found = drill_found, .progress = drill_progress, .stop = drill_stop,
                    .ctx = dc};
    if (rc == 0) {
        sched_phase(ctl, "read back from tenant %s", tenant);
        rc = drill_run(c, &o, &st, err);
    }
    s3c_client_free(c);
    cf_err rerr;
    st_key_revoke(env->e, ak, &rerr);
    free(names);
    free(bl.v);
    tot->listed += st.listed;
    tot->objects += st.objects;
    tot->bytes += st.bytes;
    tot->ok += st.ok;
    tot->mismatches += st.mismatches;
    tot->errors += st.errors;
    dc->done_before += st.objects;
    dc->total_before += st.objects;
    return rc;
}

static int drill_job(void *arg, sched_ctl *ctl, const json_t *opts, cf_err *err)
{
    jobs_env *env = arg;
    const char *tenant = json_string_value(json_object_get(opts, "tenant"));
    const char *bucket = json_string_value(json_object_get(opts, "bucket"));
    json_t *js = json_object_get(opts, "sample");
    uint64_t sample = json_is_true(json_object_get(opts, "all")) ? 0
                    : js ? (uint64_t)json_integer_value(js)
                         : (uint64_t)sched_config_int(ctl, "sample", JOB_DRILL_SAMPLE);
    name_list tl = {.only = tenant};
    if (st_tenant_list(env->e, add_tenant, &tl, err) < 0)
        return -1;
    drill_run_ctx dc = {.ctl = ctl, .findings = json_array()};
    drill_stats tot = {0};
    int nbuckets = 0, rc = 0;
    for (size_t i = 0; rc == 0 && i < tl.n && !sched_stopping(ctl); i++)
        rc = drill_tenant(env, ctl, tl.v[i], bucket, sample, &dc, &tot, &nbuckets, err);
    json_t *names = json_array();
    for (size_t i = 0; i < tl.n; i++)
        json_array_append_new(names, json_string(tl.v[i]));
    free(tl.v);
    if (rc < 0) {
        json_decref(dc.findings);
        json_decref(names);
        return -1;
    }
    bool stopped = sched_stopping(ctl);
    sched_summary(ctl, "%llu objects (%llu bytes) read back: %llu match, %llu mismatch, "
                  "%llu could not be read%s", (unsigned long long)tot.objects,
                  (unsigned long long)tot.bytes, (unsigned long long)tot.ok,
                  (unsigned long long)tot.mismatches, (unsigned long long)tot.errors,
                  stopped ? " (stopped early)" : "");
    sched_report(ctl, json_pack("{s:o, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:o}",
                                "tenants", names, "buckets", nbuckets,
                                "sample", (json_int_t)sample, "listed", (json_int_t)tot.listed,
                                "objects", (json_int_t)tot.objects,
                                "bytes", (json_int_t)tot.bytes, "ok", (json_int_t)tot.ok,
                                "mismatches", (json_int_t)tot.mismatches,
                                "errors", (json_int_t)tot.errors, "stopped", stopped,
                                "findings", dc.findings));
    return 0;
}

/* ---- the table -------------------------------------------------------------- */

typedef struct job_spec {
    const char *name;
    sched_run_fn run;
    int64_t interval_s;
    int runs_per_interval;
    bool spread;
    const char *const *keys;         /* its own coffer.json keys, NULL-terminated */
    const char *const *opts;         /* what a trigger may pass, NULL-terminated */
} job_spec;

static const char *const gc_keys[] = {"grace_seconds", NULL};
static const char *const drill_keys[] = {"sample", "endpoint", "cacert", NULL};
static const char *const scrub_keys[] = {"slices", "deep", NULL};
static const char *const heal_opts[] = {"all", "tenant", "bucket", NULL};
static const char *const gc_opts[] = {"grace_s", "force_orphans", NULL};
static const char *const scrub_opts[] = {"deep", "tenant", "bucket", "no_repair", NULL};
static const char *const drill_opts_keys[] = {"tenant", "bucket", "sample", "all", NULL};
static const char *const lifecycle_opts[] = {"tenant", "bucket", NULL};
static const char *const no_keys[] = {NULL};

static const job_spec specs[] = {
    {"heal", heal_run, JOB_ROUND_S, 1, false, no_keys, heal_opts},
    {"gc", gc_run, JOB_ROUND_S, 1, false, gc_keys, gc_opts},
    {"snapshot", snapshot_run, JOB_ROUND_S, 1, false, no_keys, no_keys},
    {"scrub", scrub_run, JOB_SCRUB_S, JOB_SCRUB_SLICES, true, scrub_keys, scrub_opts},
    {"drill", drill_job, JOB_DRILL_S, 1, true, drill_keys, drill_opts_keys},
    {"lifecycle", lifecycle_run, 0, 1, false, no_keys, lifecycle_opts},
    {"compact", compact_run, JOB_COMPACT_S, 1, false, no_keys, no_keys},
};
#define NSPECS (sizeof specs / sizeof specs[0])

static const job_spec *find_spec(const char *name)
{
    for (size_t i = 0; i < NSPECS; i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    return NULL;
}

static bool known_key(const job_spec *s, const char *key)
{
    if (strcmp(key, "interval_seconds") == 0 || strcmp(key, "bytes_per_second") == 0)
        return true;
    for (size_t i = 0; s->keys[i]; i++)
        if (strcmp(s->keys[i], key) == 0)
            return true;
    return false;
}

int jobs_check_config(const coffer_config *cfg, cf_err *err)
{
    const char *name, *key;
    json_t *job, *v;
    json_object_foreach(cfg->jobs, name, job) {
        const job_spec *s = find_spec(name);
        if (!s) {
            char names[128] = "";
            for (size_t i = 0; i < NSPECS; i++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         i ? ", " : "", specs[i].name);
            return cf_fail(err, CF_ECONFIG, "coffer.json: jobs.%s: no such job (there "
                           "are: %s)", name, names);
        }
        json_object_foreach(job, key, v)
            if (!known_key(s, key))
                return cf_fail(err, CF_ECONFIG, "coffer.json: jobs.%s.%.40s: unknown key",
                               name, key);
    }
    json_t *sl = json_object_get(json_object_get(cfg->jobs, "scrub"), "slices");
    if (sl && (!json_is_integer(sl) || json_integer_value(sl) < 1 ||
               json_integer_value(sl) > 256))
        return cf_fail(err, CF_ECONFIG, "coffer.json: jobs.scrub.slices: must be 1..256");
    if (json_object_get(json_object_get(cfg->jobs, "lifecycle"), "interval_seconds"))
        return cf_fail(err, CF_ECONFIG, "coffer.json: jobs.lifecycle.interval_seconds: the "
                       "lifecycle pass's interval is lifecycle.interval_seconds");
    json_t *g = json_object_get(json_object_get(cfg->jobs, "gc"), "grace_seconds");
    if (g && (!json_is_integer(g) || json_integer_value(g) < JOB_MIN_GRACE_S))
        return cf_fail(err, CF_ECONFIG, "coffer.json: jobs.gc.grace_seconds: must be at "
                       "least %d (younger files may belong to a PUT in flight)",
                       JOB_MIN_GRACE_S);
    return 0;
}

/* The type each trigger option must have. */
static bool option_ok(const char *key, json_t *v)
{
    if (strcmp(key, "tenant") == 0)
        return json_is_string(v) && names_tenant_ok(json_string_value(v));
    if (strcmp(key, "bucket") == 0)
        return json_is_string(v) && json_string_length(v) >= 1 &&
               json_string_length(v) <= ST_MAX_BUCKET;
    if (strcmp(key, "sample") == 0)
        return json_is_integer(v) && json_integer_value(v) >= 1 &&
               json_integer_value(v) <= 1000000;
    if (strcmp(key, "grace_s") == 0)
        return json_is_integer(v) && json_integer_value(v) >= JOB_MIN_GRACE_S;
    return json_is_boolean(v);
}

int jobs_check_options(const char *name, json_t *opts, cf_err *err)
{
    const job_spec *s = find_spec(name);
    if (!s)
        return cf_fail(err, CF_ENOTFOUND, "no job named %.32s", name);
    const char *key;
    json_t *v;
    json_object_foreach(opts, key, v) {
        size_t i = 0;
        while (s->opts[i] && strcmp(s->opts[i], key) != 0)
            i++;
        if (!s->opts[i])
            return cf_fail(err, CF_EINVAL, "job %s takes no option \"%.40s\"", name, key);
        if (!option_ok(key, v))
            return cf_fail(err, CF_EINVAL, "job %s: option %s has a wrong type or value",
                           name, key);
    }
    if (json_object_get(opts, "bucket") && !json_object_get(opts, "tenant") &&
        strcmp(name, "drill") != 0)
        return cf_fail(err, CF_EINVAL, "job %s: a bucket is named with its tenant", name);
    return 0;
}

int jobs_register(sched *s, st_engine *e, const coffer_config *cfg, lifecycle *lc,
                  cf_err *err)
{
    static jobs_env env;
    env = (jobs_env){.e = e, .cfg = cfg, .lc = lc};
    for (size_t i = 0; i < NSPECS; i++) {
        bool is_lc = specs[i].run == lifecycle_run;
        if (is_lc && !lc)
            continue;
        json_t *conf = json_object_get(cfg->jobs, specs[i].name);
        json_t *slices = json_object_get(conf, "slices");
        sched_job_def def = {.name = specs[i].name, .run = specs[i].run, .arg = &env,
                             .interval_s = specs[i].interval_s,
                             .runs_per_interval = json_is_integer(slices)
                                                      ? (int)json_integer_value(slices)
                                                      : specs[i].runs_per_interval,
                             .spread = specs[i].spread};
        if (is_lc) {
            /* lifecycle.interval_seconds; the first pass at once: it
             * recovers what a crash interrupted */
            def.interval_s = cfg->lifecycle.interval_s > 0 ? cfg->lifecycle.interval_s : 1;
            def.at_start = true;
            def.cancel = lifecycle_stop;
        }
        if (sched_add(s, &def, json_object_get(cfg->jobs, specs[i].name), err) < 0)
            return -1;
    }
    return 0;
}

int jobs_heal_replacements(sched *s, st_engine *e, cf_err *err)
{
    int n = 0;
    for (int i = 0; i < st_disk_count(e); i++) {
        st_disk_info d;
        st_disk_get(e, i, &d);
        n += d.online && d.replacing;
    }
    if (n == 0)
        return 0;
    fprintf(stderr, "cofferd: %d replacement disk%s: heal --all starts now to fill %s "
            "(coffer disks, coffer jobs heal)\n", n, n == 1 ? "" : "s",
            n == 1 ? "it" : "them");
    json_t *opts = json_pack("{s:b}", "all", 1);
    int rc = sched_trigger(s, "heal", opts, NULL, err);
    json_decref(opts);                /* sched_trigger holds its own reference */
    return rc;
}
