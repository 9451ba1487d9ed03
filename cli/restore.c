/*
 * cli/restore.c - `coffer restore-index (-c FILE | --var DIR) [--from
 * DISK|FILE]`: put an index snapshot back into a stopped cofferd's
 * metadata directory; `coffer rebuild-index (-c FILE | --var DIR)
 * [--dry-run]`: rebuild it from the disks when no snapshot is left.
 *
 * Unlike every other command this one does not talk to cofferd: the
 * index is restored while cofferd is stopped (it refuses to start without
 * its index). So it reads cofferd's own configuration with cofferd's own
 * loader (server/libcofferd.a: config_load, config_embedded_default) and
 * calls the engine directly (storage/libstorage.a: st_restore_index),
 * which does every check and writes the report; this file only prints.
 * Layering stays one way: cli -> server (configuration) -> storage.
 */
#include "cli/restore.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli/progress.h"
#include "server/config.h"
#include "storage/engine.h"

/* cofferd's configuration, as cofferd loads it. */
static int load_config(const char *config_file, const char *var_dir, coffer_config *cfg)
{
    cf_err err;
    struct stat st;
    memset(cfg, 0, sizeof *cfg);
    if (var_dir && stat(var_dir, &st) != 0) {
        fprintf(stderr, "coffer: --var %s: %s\n", var_dir, strerror(errno));
        return -1;
    }
    if (var_dir && !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "coffer: --var %s: not a directory\n", var_dir);
        return -1;
    }
    int rc = config_file ? config_load(config_file, cfg, &err)
                         : config_embedded_default(var_dir, cfg, &err);
    if (rc < 0)
        fprintf(stderr, "coffer: %s\n", err.msg);
    return rc;
}

/* Where an offline command's lines and progress go. */
typedef struct offline_out {
    progress pr;
    FILE *lines;
} offline_out;

static void offline_line(void *ctx, const char *line)
{
    offline_out *o = ctx;
    progress_end(&o->pr);
    fprintf(o->lines, "%s\n", line);
}

static void offline_progress(void *ctx, uint64_t done, uint64_t total, uint64_t bytes,
                             const char *phase)
{
    progress_show(&((offline_out *)ctx)->pr, done, total, bytes, phase);
}

/* One offline command's work on the loaded configuration: 0 done (with
 * *doc its JSON report when asked for one), -1 failed (err filled). */
typedef int (*offline_fn)(const st_config *cfg, void *arg, offline_out *o, json_t **doc,
                          cf_err *err);

/* The frame both commands share: load the configuration, run fn with its
 * lines on stdout (stderr with json) and progress on stderr, print the
 * JSON report or the error. Returns the exit status. */
static int offline_run(const char *name, const char *config_file, const char *var_dir,
                       bool json, offline_fn fn, void *arg)
{
    coffer_config cfg;
    cf_err err;
    if (load_config(config_file, var_dir, &cfg) < 0) {
        config_free(&cfg);
        return 1;
    }
    offline_out o = {.lines = json ? stderr : stdout};
    progress_init(&o.pr, name, stderr);
    json_t *doc = NULL;
    int rc = fn(&cfg.storage, arg, &o, json ? &doc : NULL, &err);
    progress_end(&o.pr);
    if (rc == 0 && doc) {
        json_dumpf(doc, stdout, JSON_INDENT(2));
        putchar('\n');
    }
    json_decref(doc);
    if (rc < 0)
        fprintf(stderr, "coffer: %s: %s\n", name, err.msg);
    config_free(&cfg);
    return rc < 0 ? 1 : 0;
}

static int restore_fn(const st_config *cfg, void *arg, offline_out *o, json_t **doc,
                      cf_err *err)
{
    st_restore_report r;
    if (st_restore_index(cfg, arg, offline_line, offline_progress, o, &r, err) < 0)
        return -1;
    if (doc)
        *doc = json_pack(
            "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
            "s:i}",
            "snapshot", r.snapshot, "index", r.index, "moved_aside", r.moved_aside,
            "taken", (json_int_t)(r.taken_ms / 1000), "commit", (json_int_t)r.commit,
            "objects", (json_int_t)r.objects, "bytes", (json_int_t)r.bytes,
            "buckets", (json_int_t)r.buckets, "tenants", (json_int_t)r.tenants,
            "keys", (json_int_t)r.keys, "uploads", (json_int_t)r.uploads,
            "segments", (json_int_t)r.segments, "segments_short",
            (json_int_t)r.segments_short, "files_not_in_index",
            (json_int_t)r.files_not_in_index, "bytes_scanned", (json_int_t)r.bytes_scanned,
            "rejected", r.rejected);
    return 0;
}

int restore_index_run(const char *config_file, const char *var_dir, const char *from,
                      bool json)
{
    return offline_run("restore-index", config_file, var_dir, json, restore_fn,
                       (void *)from);
}

static int rebuild_fn(const st_config *cfg, void *arg, offline_out *o, json_t **doc,
                      cf_err *err)
{
    bool dry_run = *(const bool *)arg;
    st_rebuild_report r;
    if (st_rebuild_index(cfg, dry_run, offline_line, offline_progress, o, &r, err) < 0)
        return -1;
    if (doc)
        *doc = json_pack(
            "{s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
            "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
            "index", r.index, "dry_run", dry_run, "beside", r.beside,
            "commit", (json_int_t)r.commit, "tenants", (json_int_t)r.tenants,
            "keys", (json_int_t)r.keys, "buckets", (json_int_t)r.buckets,
            "objects", (json_int_t)r.objects, "versions", (json_int_t)r.versions,
            "markers", (json_int_t)r.markers, "bytes", (json_int_t)r.bytes,
            "uploads", (json_int_t)r.uploads, "parts", (json_int_t)r.parts,
            "shard_files", (json_int_t)r.shard_files, "manifests", (json_int_t)r.manifests,
            "bytes_scanned", (json_int_t)r.bytes_scanned,
            "journal_files", (json_int_t)r.journal_files,
            "journal_records", (json_int_t)r.journal_records,
            "keys_exact", (json_int_t)r.keys_exact, "keys_guessed", (json_int_t)r.keys_guessed,
            "tiered", (json_int_t)r.tiered, "tagged", (json_int_t)r.tagged,
            "removed", (json_int_t)r.removed, "unplaced", (json_int_t)r.unplaced,
            "no_data", (json_int_t)r.no_data, "torn", (json_int_t)r.torn,
            "newer", (json_int_t)r.newer);
    return 0;
}

int rebuild_index_run(const char *config_file, const char *var_dir, bool dry_run, bool json)
{
    return offline_run("rebuild-index", config_file, var_dir, json, rebuild_fn, &dry_run);
}
