/*
 * server/jobs.c - the jobs (see jobs.h). Each run function turns the
 * engine's result into the scheduler's one-line summary and a report
 * (kept in the job's history), and says on stderr only what an operator
 * must see: a GC scan held by the orphan bound every time, orphans kept
 * for being older than the index when their number changes, heal and GC
 * work that changed something.
 */
#include "server/jobs.h"

#include <stdio.h>
#include <string.h>

#define JOB_ROUND_S 300
#define JOB_GRACE_S 3600
#define JOB_MIN_GRACE_S 60            /* younger files may be a PUT being committed */

/* ---- heal ------------------------------------------------------------------ */

static int heal_run(void *arg, sched_ctl *ctl, const json_t *opts, cf_err *err)
{
    st_engine *e = arg;
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
    st_engine *e = arg;
    json_t *g = json_object_get(opts, "grace_s");
    st_gc_opts o = {.grace_s = g ? json_integer_value(g)
                                 : sched_config_int(ctl, "grace_seconds", JOB_GRACE_S),
                    .force_orphans = json_is_true(json_object_get(opts, "force_orphans"))};
    st_gc_stats st = {0};
    if (st_gc(e, &o, &st, err) < 0)
        return -1;
    say_gc(ctl, &st);
    sched_summary(ctl, "%llu deletions finished, %llu orphan files removed%s",
                  (unsigned long long)st.deleted_segments,
                  (unsigned long long)st.orphan_files, st.held ? "; HELD by the bound" : "");
    if (opts || st.held || st.orphan_files)
        sched_report(ctl, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
                                    "deleted_segments", (json_int_t)st.deleted_segments,
                                    "orphan_files", (json_int_t)st.orphan_files,
                                    "files_scanned", (json_int_t)st.files_scanned,
                                    "orphans_held", (json_int_t)st.orphans_held,
                                    "orphans_older_than_index",
                                    (json_int_t)st.orphans_older_than_index,
                                    "foreign_files", (json_int_t)st.foreign_files,
                                    "orphan_bound", (json_int_t)st.orphan_bound,
                                    "held", st.held));
    return 0;
}

/* ---- snapshot ------------------------------------------------------------- */

static int snapshot_run(void *arg, sched_ctl *ctl, const json_t *opts, cf_err *err)
{
    int copies = 0;
    if (st_snapshot(arg, &copies, err) < 0)
        return -1;
    if (copies > 0)
        sched_summary(ctl, "a new generation on %d disks", copies);
    else
        sched_summary(ctl, "nothing committed since the last snapshot");
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
} job_spec;

static const char *const gc_keys[] = {"grace_seconds", NULL};
static const char *const no_keys[] = {NULL};

static const job_spec specs[] = {
    {"heal", heal_run, JOB_ROUND_S, 1, false, no_keys},
    {"gc", gc_run, JOB_ROUND_S, 1, false, gc_keys},
    {"snapshot", snapshot_run, JOB_ROUND_S, 1, false, no_keys},
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
    json_t *g = json_object_get(json_object_get(cfg->jobs, "gc"), "grace_seconds");
    if (g && (!json_is_integer(g) || json_integer_value(g) < JOB_MIN_GRACE_S))
        return cf_fail(err, CF_ECONFIG, "coffer.json: jobs.gc.grace_seconds: must be at "
                       "least %d (younger files may belong to a PUT in flight)",
                       JOB_MIN_GRACE_S);
    return 0;
}

int jobs_register(sched *s, st_engine *e, const coffer_config *cfg, cf_err *err)
{
    for (size_t i = 0; i < NSPECS; i++) {
        sched_job_def def = {.name = specs[i].name, .run = specs[i].run, .arg = e,
                             .interval_s = specs[i].interval_s,
                             .runs_per_interval = specs[i].runs_per_interval,
                             .spread = specs[i].spread};
        if (sched_add(s, &def, json_object_get(cfg->jobs, specs[i].name), err) < 0)
            return -1;
    }
    return 0;
}
