/*
 * cli/restore.c - `coffer restore-index (-c FILE | --var DIR) [--from
 * DISK|FILE]`: put an index snapshot back into a stopped cofferd's
 * metadata directory.
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

#include "server/config.h"
#include "storage/engine.h"

static void say_line(void *ctx, const char *line)
{
    fprintf((FILE *)ctx, "%s\n", line);
}

static void print_json(const st_restore_report *r)
{
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}",
        "snapshot", r->snapshot, "index", r->index, "moved_aside", r->moved_aside,
        "taken", (json_int_t)(r->taken_ms / 1000), "commit", (json_int_t)r->commit,
        "objects", (json_int_t)r->objects, "bytes", (json_int_t)r->bytes,
        "buckets", (json_int_t)r->buckets, "tenants", (json_int_t)r->tenants,
        "keys", (json_int_t)r->keys, "uploads", (json_int_t)r->uploads,
        "segments", (json_int_t)r->segments, "segments_short",
        (json_int_t)r->segments_short, "files_not_in_index",
        (json_int_t)r->files_not_in_index, "rejected", r->rejected);
    if (doc) {
        json_dumpf(doc, stdout, JSON_INDENT(2));
        putchar('\n');
    }
    json_decref(doc);
}

int restore_index_run(const char *config_file, const char *var_dir, const char *from,
                      bool json)
{
    coffer_config cfg;
    cf_err err;
    struct stat st;
    memset(&cfg, 0, sizeof cfg);
    if (var_dir && stat(var_dir, &st) != 0) {
        fprintf(stderr, "coffer: --var %s: %s\n", var_dir, strerror(errno));
        return 1;
    }
    if (var_dir && !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "coffer: --var %s: not a directory\n", var_dir);
        return 1;
    }
    int rc = config_file ? config_load(config_file, &cfg, &err)
                         : config_embedded_default(var_dir, &cfg, &err);
    st_restore_report rep;
    if (rc == 0)
        rc = st_restore_index(&cfg.storage, from, say_line, json ? stderr : stdout, &rep,
                              &err);
    if (rc == 0 && json)
        print_json(&rep);
    if (rc < 0)
        fprintf(stderr, "coffer: restore-index: %s\n", err.msg);
    config_free(&cfg);
    return rc < 0 ? 1 : 0;
}
