/*
 * storage/catalog.c - the catalog on every disk (see catalog.h).
 *
 * A save dumps CAT_TABLES from the index (idx_tables_dump: one lock hold),
 * wraps them with the set's identity and the commit number seen, and
 * writes the same text to each online disk in turn; a disk that fails is
 * skipped and counted (the next save tries it again). Reading checks the
 * format, the set id and the lineage, and takes the highest commit.
 */
#include "storage/catalog.h"

#include <stdio.h>
#include <string.h>

#include "common/checksum.h"
#include "common/hex.h"
#include "common/fsutil.h"
#include "storage/engine_int.h"

static const char *const tables[] = CAT_TABLES;
#define NTABLES (sizeof tables / sizeof tables[0])

int cat_save(st_engine *e, int *copies, cf_err *err)
{
    json_t *t;
    uint64_t commit;
    *copies = 0;
    pthread_mutex_lock(&e->cat_lock);
    if (idx_tables_dump(e->ix, tables, NTABLES, &t, &commit, err) < 0) {
        pthread_mutex_unlock(&e->cat_lock);
        return -1;
    }
    char sid[33], lin[33];
    hex_encode(e->set.set_id, DS_SET_ID_LEN, sid, sizeof sid);
    hex_encode(e->set.lineage, DS_LINEAGE_LEN, lin, sizeof lin);
    json_t *doc = json_pack("{s:s, s:i, s:s, s:s, s:I, s:I, s:o}", "format",
                            "coffer-catalog", "version", 1, "set_id", sid, "lineage", lin,
                            "commit", (json_int_t)commit, "written_ms",
                            (json_int_t)eng_now_ms(), "tables", t);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    int rc = text ? 0 : cf_fail(err, CF_ENOMEM, "out of memory");
    cf_err last;
    cf_err_clear(&last);
    for (int i = 0; rc == 0 && i < e->set.n; i++) {
        char path[PATH_MAX];
        if (!e->set.disks[i].online)
            continue;
        snprintf(path, sizeof path, "%s/%s", e->set.disks[i].path, CAT_FILE);
        if (fsu_write_atomic(path, text, strlen(text), 0600, &last) == 0)
            (*copies)++;
    }
    free(text);
    if (rc == 0 && *copies == 0) {
        *err = last;
        rc = -1;
    }
    if (rc == 0) {
        e->cat_saved_ms = eng_now_ms();
        e->cat_copies = *copies;
    }
    pthread_mutex_unlock(&e->cat_lock);
    return rc;
}

/* One disk's catalog, if it is this set's and lineage's. */
static json_t *read_one(const ds_set *set, const char *path, uint64_t *commit)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    const char *fmt = json_string_value(json_object_get(doc, "format"));
    const char *sid = json_string_value(json_object_get(doc, "set_id"));
    const char *lin = json_string_value(json_object_get(doc, "lineage"));
    uint8_t want_sid[16], want_lin[16];
    size_t n;
    bool ok = fmt && strcmp(fmt, "coffer-catalog") == 0 &&
              json_integer_value(json_object_get(doc, "version")) == 1 && sid && lin &&
              hex_decode(sid, want_sid, 16, &n) == 0 && n == 16 &&
              memcmp(want_sid, set->set_id, 16) == 0 &&
              hex_decode(lin, want_lin, 16, &n) == 0 && n == 16 &&
              memcmp(want_lin, set->lineage, 16) == 0 &&
              json_is_object(json_object_get(doc, "tables"));
    if (!ok) {
        json_decref(doc);
        return NULL;
    }
    *commit = (uint64_t)json_integer_value(json_object_get(doc, "commit"));
    json_t *t = json_incref(json_object_get(doc, "tables"));
    json_decref(doc);
    return t;
}

json_t *cat_newest(const ds_set *set, uint64_t *commit, char path[PATH_MAX])
{
    json_t *best = NULL;
    *commit = 0;
    path[0] = '\0';
    for (int i = 0; i < set->n; i++) {
        char p[PATH_MAX];
        uint64_t c = 0;
        if (!set->disks[i].online)
            continue;
        snprintf(p, sizeof p, "%s/%s", set->disks[i].path, CAT_FILE);
        json_t *t = read_one(set, p, &c);
        if (t && (!best || c > *commit)) {
            json_decref(best);
            best = t;
            *commit = c;
            memcpy(path, p, PATH_MAX);
        } else {
            json_decref(t);
        }
    }
    return best;
}

int cat_load(idx *x, json_t *t, cf_err *err)
{
    for (size_t i = 0; i < NTABLES; i++) {
        json_t *dump = json_object_get(t, tables[i]);
        if (dump && idx_table_load(x, tables[i], dump, err) < 0)
            return -1;
    }
    return 0;
}
