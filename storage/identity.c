/*
 * storage/identity.c - deciding whether meta_dir's index is the disks'
 * own (identity.h), the one-line refusal, and the longer advice that
 * cofferd prints with it (st_recovery_advice).
 *
 * Why this exists: the index is the only record of which shard file
 * belongs to which object. An empty index over a populated set makes every
 * file an orphan, and garbage collection would delete them all; so no
 * start may create an index unless the disks are fresh, and a start over
 * formatted disks must find their own index. Everything here only reads:
 * the index file is probed without checkpointing it, snapshots are opened
 * immutable.
 */
#include "storage/identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hex.h"
#include "storage/engine_int.h"

#define HEX_ID 33

static void hex16(const uint8_t id[16], char out[HEX_ID])
{
    hex_encode(id, 16, out, HEX_ID);
}

uint64_t ident_own_max_commit(const ident_state *s, const ds_set *set)
{
    uint64_t max = 0;
    for (size_t i = 0; i < s->snaps.n; i++) {
        const snap_entry *e = &s->snaps.v[i];
        if (e->readable && e->id.has_lineage && e->id.commit > max &&
            memcmp(e->id.set_id, set->set_id, 16) == 0 &&
            memcmp(e->id.lineage, s->index.lineage, 16) == 0)
            max = e->id.commit;
    }
    return max;
}

static ident_verdict decide(const ds_set *set, const ident_state *s)
{
    const idx_ident *ix = &s->index;
    if (s->index_damaged)
        return IDENT_EMPTY;
    if (set->fresh)
        return ix->has_set ? IDENT_BLANK_DISKS : IDENT_NEW;
    if (!ix->present)
        return IDENT_NO_INDEX;
    if (!ix->has_set)
        return IDENT_EMPTY;
    if (memcmp(ix->set_id, set->set_id, DS_SET_ID_LEN) != 0)
        return IDENT_FOREIGN;
    if (ix->snapshot_ms > 0)
        return IDENT_SNAPSHOT;
    if (set->has_lineage &&
        (!ix->has_lineage || memcmp(ix->lineage, set->lineage, DS_LINEAGE_LEN) != 0))
        return IDENT_OTHER_LINEAGE;
    if (!ix->has_lineage)
        return IDENT_MIGRATE;
    if (ident_own_max_commit(s, set) > ix->commit)
        return IDENT_STALE;
    return IDENT_OK;
}

/* Read META/index.db into s (with its WAL or without). */
static int probe_index(ident_state *s, bool with_wal, cf_err *err)
{
    cf_err perr;
    s->index_damaged = false;
    if (idx_probe(s->index_path, with_wal, &s->index, &perr) == 0)
        return 0;
    if (perr.code != CF_ECORRUPT) {
        *err = perr;
        return -1;
    }
    s->index.present = true;
    s->index_damaged = true;          /* there, but no database we can read */
    snprintf(s->damage, sizeof s->damage, "%s", perr.msg);
    return 0;
}

int ident_assess(const ds_set *set, const char *meta_dir, ident_state *s, cf_err *err)
{
    memset(s, 0, sizeof *s);
    if ((size_t)snprintf(s->index_path, sizeof s->index_path, "%s/index.db", meta_dir) >=
        sizeof s->index_path)
        return cf_fail(err, CF_ECONFIG, "%s: path too long", meta_dir);
    if (probe_index(s, false, err) < 0 || snap_list_set(set, &s->snaps, err) < 0) {
        ident_free(s);
        return -1;
    }
    s->newest = snap_newest(&s->snaps, set);
    s->verdict = decide(set, s);
    /* The database file alone is enough to accept (identity rows never
     * change once written). Anything else is decided on the exact state,
     * its WAL included, when it has one. */
    if (s->verdict != IDENT_OK && idx_wal_exists(s->index_path)) {
        if (probe_index(s, true, err) < 0) {
            ident_free(s);
            return -1;
        }
        s->verdict = decide(set, s);
    }
    return 0;
}

void ident_free(ident_state *s)
{
    snap_list_free(&s->snaps);
    s->newest = NULL;
}

bool ident_opens(ident_verdict v)
{
    return v == IDENT_OK || v == IDENT_NEW || v == IDENT_MIGRATE;
}

int ident_refuse(const ds_set *set, const ident_state *s, cf_err *err)
{
    char sid[HEX_ID], other[HEX_ID];
    const char *ip = s->index_path;
    hex16(set->set_id, sid);
    hex16(s->index.set_id, other);
    switch (s->verdict) {
    case IDENT_NO_INDEX:
        return cf_fail(err, CF_ENOINDEX, "refusing to start: the disks hold coffer set "
                       "%.8s, but its index %s is missing", sid, ip);
    case IDENT_EMPTY:
        return cf_fail(err, CF_ENOINDEX, "refusing to start: the disks hold coffer set "
                       "%.8s, but its index %s is %s", sid, ip,
                       s->index_damaged ? "not a readable database" : "empty");
    case IDENT_FOREIGN:
        return cf_fail(err, CF_ENOINDEX, "refusing to start: %s is the index of disk set "
                       "%.8s, the disks are set %.8s", ip, other, sid);
    case IDENT_OTHER_LINEAGE:
        return cf_fail(err, CF_ENOINDEX, "refusing to start: %s is an index of set %.8s "
                       "but of another lineage than its disks", ip, sid);
    case IDENT_SNAPSHOT:
        return cf_fail(err, CF_ENOINDEX, "refusing to start: %s is a snapshot copied into "
                       "place by hand; restore snapshots with coffer restore-index", ip);
    case IDENT_STALE:
        return cf_fail(err, CF_ENOINDEX, "refusing to start: %s (commit %llu) is older "
                       "than a snapshot of it on the disks (commit %llu)", ip,
                       (unsigned long long)s->index.commit,
                       (unsigned long long)ident_own_max_commit(s, set));
    case IDENT_BLANK_DISKS:
        return cf_fail(err, CF_ENOINDEX, "refusing to format the disks: none is formatted, "
                       "but %s is the index of disk set %.8s (are the disks mounted?)",
                       ip, other);
    default:
        return cf_fail(err, CF_EINTERNAL, "identity: no refusal for verdict %d",
                       (int)s->verdict);
    }
}

void ident_format_time(int64_t ms, int64_t now_ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char when[32];
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    int64_t age = (now_ms - ms) / 1000;
    if (age < 0)
        snprintf(out, cap, "%s (in the future: check the clock)", when);
    else if (age < 3600)
        snprintf(out, cap, "%s (%lld min ago)", when, (long long)(age / 60));
    else if (age < 86400)
        snprintf(out, cap, "%s (%lld h %lld min ago)", when, (long long)(age / 3600),
                 (long long)(age % 3600 / 60));
    else
        snprintf(out, cap, "%s (%lld days ago)", when, (long long)(age / 86400));
}

/* ---- advice --------------------------------------------------------------- */

static void say_situation(FILE *f, const ds_set *set, const ident_state *s)
{
    char sid[HEX_ID], other[HEX_ID], lin[HEX_ID];
    hex16(set->set_id, sid);
    hex16(s->index.set_id, other);
    hex16(set->lineage, lin);
    switch (s->verdict) {
    case IDENT_NO_INDEX:
    case IDENT_EMPTY:
        fprintf(f, "The disks hold coffer set %s, but its index is not there:\n"
                "%s is %s.\n", sid, s->index_path,
                s->verdict == IDENT_NO_INDEX ? "missing"
                : s->index_damaged ? s->damage : "empty (it names no disk set)");
        fprintf(f, "The index is the only record of which shard file belongs to which "
                "object.\nStarting now would create an empty one, every object on the "
                "disks would look like\ngarbage, and garbage collection would delete it.\n");
        break;
    case IDENT_FOREIGN:
        fprintf(f, "%s is the index of disk set %s,\nbut the configured disks are set %s. "
                "meta_dir or the list of disks points at\nanother installation.\n",
                s->index_path, other, sid);
        break;
    case IDENT_OTHER_LINEAGE:
        fprintf(f, "%s is an index of disk set %s, but not of the\nhistory its disks "
                "record (lineage %s): it was made by another\nindex of this set, and "
                "objects the disks' own index committed would be garbage to it.\n",
                s->index_path, sid, lin);
        break;
    case IDENT_SNAPSHOT:
        fprintf(f, "%s is a snapshot that was copied into place by hand.\nA restored "
                "snapshot must not take files written after it for garbage;\ncoffer "
                "restore-index marks it so (it also checks it against the disks and the\n"
                "master key).\n", s->index_path);
        break;
    case IDENT_STALE:
        fprintf(f, "%s (commit %llu) is older than a snapshot of this index on the\n"
                "disks: it is an old copy, and what was committed after it would be "
                "garbage to it.\n", s->index_path, (unsigned long long)s->index.commit);
        break;
    case IDENT_BLANK_DISKS:
        fprintf(f, "None of the configured disks is formatted, but %s is the\nindex of "
                "disk set %s. The disks are probably not mounted (or the list of\n"
                "disks is wrong); cofferd does not format blank disks while another "
                "set's index\nis in place.\n", s->index_path, other);
        return;
    default:
        return;
    }
}

static void say_newest(FILE *f, const ds_set *set, const ident_state *s)
{
    size_t usable = 0;
    for (size_t i = 0; i < s->snaps.n; i++)
        usable += snap_matches(&s->snaps.v[i], set);
    const snap_entry *n = s->newest;
    if (!n) {
        fprintf(f, "No snapshot of this set's index was found on the disks (cofferd "
                "writes one every\nfive minutes and when it stops, to DISK/snapshots/).\n");
        return;
    }
    char when[96];
    ident_format_time(n->taken_ms, eng_now_ms(), when, sizeof when);
    idx_contents c = {.objects = n->id.objects, .bytes = n->id.bytes};
    cf_err err;
    if (c.objects < 0 && idx_count_file(n->path, &c, &err) < 0)
        c.objects = c.bytes = -1;
    fprintf(f, "Newest index snapshot on the disks (of %zu):\n  %s\n  taken %s, ", usable,
            n->path, when);
    if (c.objects >= 0)
        fprintf(f, "%lld objects (%lld bytes)", (long long)c.objects, (long long)c.bytes);
    else
        fprintf(f, "object count unknown");
    if (n->id.has_commit)
        fprintf(f, ", commit %llu", (unsigned long long)n->id.commit);
    fputc('\n', f);
}

static void say_recovery(FILE *f, const ident_state *s, const char *how)
{
    if (s->verdict == IDENT_BLANK_DISKS) {
        fprintf(f, "To recover: mount the disks (or fix the list of disks) and start "
                "again. To make a\nnew, empty set on these disks instead, point meta_dir "
                "at an empty directory.\n");
        return;
    }
    bool elsewhere = s->verdict == IDENT_FOREIGN || s->verdict == IDENT_OTHER_LINEAGE;
    fprintf(f, "To recover, with cofferd stopped:\n"
            "  1. If meta_dir points at the wrong place, or the file system holding it "
            "is not\n     mounted, fix that and start again.\n");
    if (elsewhere)
        fprintf(f, "  2. If this set's own index is really lost, move %s aside\n"
                "     and restore the newest snapshot:\n", s->index_path);
    else if (s->index.present)
        fprintf(f, "  2. Otherwise put the newest snapshot back (%s\n     is moved aside, "
                "not deleted):\n", s->index_path);
    else
        fprintf(f, "  2. Otherwise put the newest snapshot back:\n");
    fprintf(f, "         coffer restore-index %s\n"
            "     (add --from DISK to take another disk's snapshot). What was committed "
            "after\n     the snapshot is not in it: its shard files stay on the disks "
            "(GC never\n     deletes files older than the index). If no snapshot is "
            "left, rebuild the\n     index from the disks instead: coffer rebuild-index %s\n"
            "See \"Recovering the index\" in cofferd(8). Nothing was changed.\n", how, how);
}

char *st_recovery_advice(const st_config *cfg, const char *how, cf_err *err)
{
    ds_set set;
    if (!cfg->meta_dir) {
        cf_fail(err, CF_ECONFIG, "no metadata directory configured");
        return NULL;
    }
    if (ds_open(&set, cfg->disks, cfg->ndisks, cfg->k, cfg->m, cfg->block_size, err) < 0)
        return NULL;
    ident_state s;
    char *text = NULL;
    size_t len = 0;
    if (ident_assess(&set, cfg->meta_dir, &s, err) == 0) {
        FILE *f = open_memstream(&text, &len);
        if (f) {
            say_situation(f, &set, &s);
            if (s.verdict != IDENT_BLANK_DISKS)
                say_newest(f, &set, &s);
            say_recovery(f, &s, how);
            fclose(f);
        } else {
            cf_fail(err, CF_ENOMEM, "out of memory");
        }
        ident_free(&s);
    }
    ds_close(&set);
    return text;
}
