/*
 * tests/unit/test_journal.c - the per-disk journal's record versions and
 * its reader against hostile files (storage/journal.h):
 *   - a record as version 1 wrote it (no "rv") is read as version 1, one
 *     of version 2 as 2 and of 3 as 3, one of a newer version is skipped
 *     and counted; a record's data is not held by the replay but read
 *     again (jrn_read_data), and a file changed since is refused;
 *   - a torn tail or a flipped byte on some disks loses no record (the
 *     other disks' copies are read) and is counted; on every disk the
 *     damaged record and what follows it in that file are skipped and
 *     counted, the records before it still read; garbage and an empty
 *     file are counted, never a crash;
 *   - a JRN_KEY record follows each change of a key's versions with the
 *     whole version list (a removed version is absent; a key with none
 *     left has an empty list), and of a version's tags (record version 3:
 *     each version's "tags" and "tier"); JRN_UPLOAD carries the upload's
 *     object lock and tags;
 *   - a version 2 JRN_KEY that still is its key's state is carried when
 *     its file is pruned (compared without what version 3 added);
 *   - the committed fixture tests/fixtures/journal-v3/journal.log (a
 *     journal file record version 3 wrote: a tiered version, tags, a
 *     locked upload) reads as it was written, every record version 3;
 *   - the committed fixture tests/fixtures/journal-v4/journal.log (record
 *     version 4: remote deletes of deleted tiered versions, one queued,
 *     one done) reads as it was written;
 *   - st_rebuild_index from the disks alone (index and snapshots gone)
 *     puts back a tiered version (TIERED in its tier, its local files
 *     freed), tags, an inline object's bytes (read again from the
 *     journal), an upload in progress with its object lock, and the
 *     remote delete of a deleted tiered version still to be done (not the
 *     one done).
 */
#include "tests/unit/test.h"

#include <dirent.h>
#include <stdlib.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/hex.h"
#include "storage/crypto.h"
#include "storage/ds.h"
#include "storage/journal.h"
#include "storage/lifecycle.h"
#include "tests/unit/engine_util.h"

#define BASE 1000000u                 /* far above the engine's own commits */

typedef struct seen {
    int n, versions[8];
    jrn_type types[8];
    uint64_t commits[8];
    char data[8][16];
} seen;

static int collect(void *ctx, const jrn_record *r)
{
    seen *s = ctx;
    if (r->commit <= BASE || s->n >= 8)
        return 0;
    s->versions[s->n] = r->version;
    s->types[s->n] = r->type;
    s->commits[s->n] = r->commit;
    uint8_t *data = NULL;
    size_t len = 0;
    cf_err err;
    CHECK(r->data == NULL);             /* not held: read again */
    CHECK(r->len == 0 || jrn_read_data(r->path, r->offset, &data, &len, &err) == 0);
    CHECK(len == r->len);
    snprintf(s->data[s->n], sizeof s->data[0], "%.*s", (int)len, (const char *)data);
    free(data);
    s->n++;
    return 0;
}

/* A set of 3 disks, its engine closed, with records of our own: version
 * 1 (as coffer before rv wrote them), 2, 3 and a newer one. */
static void three_records(eng_fixture *f, ds_set *set)
{
    st_engine *e = fixture_setup(f, test_tmpdir(), 3, 2, 1, false);
    REQUIRE(e);
    st_close(e);
    cf_err err;
    const char *paths[3] = {f->disks[0], f->disks[1], f->disks[2]};
    REQUIRE(ds_open(set, paths, 3, 2, 1, 0, &err) == 0);
    jrn *j = jrn_open(set, BASE, &err);
    REQUIRE(j);
    json_t *v1 = json_pack("{s:s, s:s, s:s}", "tenant", "t1", "bucket", "b", "key", "6b");
    json_t *v2 = json_pack("{s:i, s:s, s:s, s:s, s:[]}", "rv", 2, "tenant", "t1",
                           "bucket", "b", "key", "6b", "versions");
    json_t *v3 = json_pack("{s:i, s:s, s:s, s:s, s:[{s:s, s:n}]}", "rv", 3,
                           "tenant", "t1", "bucket", "b", "key", "6b", "versions",
                           "tags", "[[\"k\",\"v\"]]", "tier");
    json_t *v4 = json_pack("{s:i, s:s}", "rv", JRN_RECORD_VERSION + 1, "what", "future");
    jrn_append(j, JRN_PUT, BASE + 1, v1, "one", 3);
    jrn_append(j, JRN_KEY, BASE + 2, v2, NULL, 0);
    jrn_append(j, JRN_KEY, BASE + 3, v4, "three", 5);
    jrn_append(j, JRN_PUT, BASE + 4, v1, "four", 4);
    jrn_append(j, JRN_KEY, BASE + 5, v3, NULL, 0);
    json_decref(v1);
    json_decref(v2);
    json_decref(v3);
    json_decref(v4);
    jrn_close(j);
}

/* Disk i's journal file that begins at BASE. */
static void our_file(const eng_fixture *f, int i, char out[PATH_MAX])
{
    char dir[600], want[32];
    snprintf(dir, sizeof dir, "%s/" JRN_DIR, f->disks[i]);
    snprintf(want, sizeof want, "-%012u-", BASE);
    out[0] = '\0';
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (strstr(de->d_name, want))
            snprintf(out, PATH_MAX, "%.600s/%.255s", dir, de->d_name);
    if (d)
        closedir(d);
}

static void flip(const char *path, off_t off)
{
    int fd = open(path, O_RDWR);
    unsigned char c;
    if (fd >= 0 && pread(fd, &c, 1, off) == 1) {
        c ^= 0x20;
        CHECK(pwrite(fd, &c, 1, off) == 1);
    }
    if (fd >= 0)
        close(fd);
}

static void replay(ds_set *set, seen *s, int *torn, int *newer)
{
    int files;
    cf_err err;
    memset(s, 0, sizeof *s);
    CHECK(jrn_replay(set, BASE, collect, s, &files, torn, newer, &err) == 0);
}

static void test_record_versions(void)
{
    eng_fixture f;
    ds_set set;
    seen s;
    int torn, newer;
    three_records(&f, &set);
    replay(&set, &s, &torn, &newer);
    CHECK_EQ_INT(s.n, 4);
    CHECK_EQ_INT(torn, 0);
    CHECK_EQ_INT(newer, 1);
    CHECK_EQ_INT(s.versions[0], 1);
    CHECK_EQ_INT(s.types[0], JRN_PUT);
    CHECK_EQ_STR(s.data[0], "one");
    CHECK_EQ_INT(s.versions[1], 2);
    CHECK_EQ_INT(s.types[1], JRN_KEY);
    CHECK_EQ_INT(s.commits[2], BASE + 4);
    CHECK_EQ_STR(s.data[2], "four");
    CHECK_EQ_INT(s.versions[3], 3);
    CHECK_EQ_INT(s.types[3], JRN_KEY);
    ds_close(&set);
}

/* A record's place, for the re-read below. */
typedef struct place { char path[PATH_MAX]; uint64_t offset; size_t len; } place;

static int find_four(void *ctx, const jrn_record *r)
{
    place *p = ctx;
    if (r->commit == BASE + 4) {
        snprintf(p->path, sizeof p->path, "%s", r->path);
        p->offset = r->offset;
        p->len = r->len;
    }
    return 0;
}

static void test_reread(void)
{
    eng_fixture f;
    ds_set set;
    place pl = {0};
    int files, torn, newer;
    cf_err err;
    uint8_t *data;
    size_t len;
    three_records(&f, &set);
    REQUIRE(jrn_replay(&set, BASE, find_four, &pl, &files, &torn, &newer, &err) == 0);
    REQUIRE(pl.path[0]);
    CHECK_EQ_INT((int)pl.len, 4);
    REQUIRE(jrn_read_data(pl.path, pl.offset, &data, &len, &err) == 0);
    CHECK(len == 4 && memcmp(data, "four", 4) == 0);
    free(data);
    /* a byte of its data changed since the replay: refused, never other bytes */
    struct stat st;
    REQUIRE(stat(pl.path, &st) == 0);
    flip(pl.path, (off_t)pl.offset + 12 + 13 + 2);
    data = (uint8_t *)"x";
    CHECK(jrn_read_data(pl.path, pl.offset, &data, &len, &err) < 0);
    CHECK(data == NULL);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    /* an offset past the end, or into the middle of a record */
    CHECK(jrn_read_data(pl.path, (uint64_t)st.st_size + 100, &data, &len, &err) < 0);
    CHECK(jrn_read_data(pl.path, pl.offset + 5, &data, &len, &err) < 0);
    ds_close(&set);
}

static void test_hostile_files(void)
{
    eng_fixture f;
    ds_set set;
    seen s;
    int torn, newer;
    char p[3][PATH_MAX];
    three_records(&f, &set);
    for (int i = 0; i < 3; i++) {
        our_file(&f, i, p[i]);
        REQUIRE(p[i][0]);
    }
    struct stat st;
    REQUIRE(stat(p[0], &st) == 0);
    /* a torn tail on disk 0, a flipped byte in the first record on disk 1 */
    REQUIRE(truncate(p[0], st.st_size - 3) == 0);
    flip(p[1], 20);
    replay(&set, &s, &torn, &newer);
    CHECK_EQ_INT(s.n, 4);
    CHECK_EQ_INT(torn, 2);
    CHECK_EQ_STR(s.data[2], "four");
    /* the first record damaged on every disk: the rest of each file is
     * skipped, nothing is delivered wrong */
    flip(p[0], 20);
    flip(p[2], 20);
    replay(&set, &s, &torn, &newer);
    CHECK_EQ_INT(s.n, 0);
    CHECK_EQ_INT(torn, 3);
    /* garbage, an empty file, a huge length: counted */
    char g[PATH_MAX + 16];
    snprintf(g, sizeof g, "%.*s.garbage.log", PATH_MAX - 16, p[2]);
    unsigned char junk[300];
    test_fill_random(junk, sizeof junk, 7);
    memcpy(junk, "CJR1\xff\xff\xff\x7f", 8);
    write_text(g, "");
    replay(&set, &s, &torn, &newer);
    CHECK_EQ_INT(torn, 3);
    int fd = open(g, O_WRONLY | O_TRUNC);
    REQUIRE(fd >= 0);
    CHECK(write(fd, junk, sizeof junk) == (ssize_t)sizeof junk);
    close(fd);
    replay(&set, &s, &torn, &newer);
    CHECK_EQ_INT(torn, 4);
    CHECK_EQ_INT(s.n, 0);
    ds_close(&set);
}

/* The newest JRN_KEY of t1/b/key "k" and its JRN_UPLOAD. */
typedef struct key_seen {
    int n;                              /* its version count (-1: none) */
    char tags[64], second_tags[64];     /* its newest two versions' "tags" */
    int rv;
    json_t *upload;                     /* the newest JRN_UPLOAD's fields */
} key_seen;

static int key_versions(void *ctx, const jrn_record *r)
{
    key_seen *ks = ctx;
    const char *k = json_string_value(json_object_get(r->fields, "key"));
    if (r->type == JRN_KEY && k && strcmp(k, "6b") == 0) {
        json_t *v = json_object_get(r->fields, "versions");
        const char *t = json_string_value(json_object_get(json_array_get(v, 0), "tags"));
        const char *t2 = json_string_value(json_object_get(json_array_get(v, 1), "tags"));
        ks->n = (int)json_array_size(v);
        snprintf(ks->tags, sizeof ks->tags, "%s", t ? t : "");
        snprintf(ks->second_tags, sizeof ks->second_tags, "%s", t2 ? t2 : "");
        ks->rv = r->version;
    }
    if (r->type == JRN_UPLOAD && k && strcmp(k, "6b") == 0) {
        json_decref(ks->upload);
        ks->upload = json_incref(r->fields);
    }
    return 0;
}

static int newest_key(const eng_fixture *f, key_seen *ks)
{
    ds_set set;
    cf_err err;
    int files, torn, newer;
    json_decref(ks->upload);
    memset(ks, 0, sizeof *ks);
    ks->n = -1;
    const char *paths[3] = {f->disks[0], f->disks[1], f->disks[2]};
    if (ds_open(&set, paths, 3, 2, 1, 0, &err) < 0)
        return -2;
    if (jrn_replay(&set, 0, key_versions, ks, &files, &torn, &newer, &err) < 0 || torn)
        ks->n = -3;
    ds_close(&set);
    return ks->n;
}

static int newest_key_state(const eng_fixture *f)
{
    key_seen ks = {0};
    int n = newest_key(f, &ks);
    json_decref(ks.upload);
    return n;
}

static void test_key_state(void)
{
    eng_fixture f;
    cf_err err;
    st_object_info info;
    st_delete_result del;
    st_engine *e = fixture_setup(&f, test_tmpdir(), 3, 2, 1, false);
    REQUIRE(e);
    REQUIRE(st_bucket_set_versioning(e, "t1", "b", ST_VERSIONING_ENABLED, &err) == 0);
    REQUIRE(put_gen(e, "b", "k", 100, 1, &info, &err) == 0);
    char first[ST_ID_HEX];
    snprintf(first, sizeof first, "%s", info.version_id);
    REQUIRE(put_gen(e, "b", "k", 200000, 2, &info, &err) == 0);
    char second[ST_ID_HEX];
    snprintf(second, sizeof second, "%s", info.version_id);
    CHECK_EQ_INT(newest_key_state(&f), 2);
    REQUIRE(st_delete_version(e, "t1", "b", "k", NULL, NULL, false, &del, &err) == 0);
    CHECK(del.delete_marker);
    CHECK_EQ_INT(newest_key_state(&f), 3);
    REQUIRE(st_delete_version(e, "t1", "b", "k", first, NULL, false, &del, &err) == 0);
    CHECK_EQ_INT(newest_key_state(&f), 2);          /* the removed one is absent */
    /* PutObjectTagging and DeleteObjectTagging (of the noncurrent version
     * under the marker) journal the key again */
    key_seen ks = {0};
    st_header tag = {.name = "colour", .value = "blue"};
    REQUIRE(st_tags_put(e, "t1", "b", "k", second, &tag, 1, &err) == 0);
    CHECK_EQ_INT(newest_key(&f, &ks), 2);
    CHECK_EQ_INT(ks.rv, JRN_RECORD_VERSION);
    CHECK_EQ_STR(ks.tags, "");             /* the marker has none */
    CHECK(strstr(ks.second_tags, "colour") != NULL);
    REQUIRE(st_tags_put(e, "t1", "b", "k", second, NULL, 0, &err) == 0);
    CHECK_EQ_INT(newest_key(&f, &ks), 2);
    CHECK_EQ_STR(ks.second_tags, "");
    /* an upload's object lock and tags are in its JRN_UPLOAD */
    REQUIRE(st_bucket_create(e, "t1", "locked", NULL, true, &err) == 0);
    st_upload_args ua = {.tenant = "t1", .bucket = "locked", .key = "k"};
    ua.lock.lock_mode = ST_LOCK_GOVERNANCE;
    ua.lock.retain_until_ms = 4102444800000;
    ua.lock.legal_hold = ST_HOLD_ON;
    ua.attrs.tags = &tag;
    ua.attrs.ntags = 1;
    char uid[ST_ID_HEX];
    REQUIRE(st_upload_create(e, &ua, uid, &err) == 0);
    newest_key(&f, &ks);
    REQUIRE(ks.upload);
    CHECK_EQ_INT((int)json_integer_value(json_object_get(ks.upload, "rv")), JRN_RECORD_VERSION);
    CHECK_EQ_INT((int)json_integer_value(json_object_get(ks.upload, "lock_mode")),
                 ST_LOCK_GOVERNANCE);
    CHECK(json_integer_value(json_object_get(ks.upload, "retain_until_ms")) ==
          4102444800000);
    CHECK_EQ_INT((int)json_integer_value(json_object_get(ks.upload, "legal_hold")),
                 ST_HOLD_ON);
    CHECK_EQ_STR(json_string_value(json_object_get(ks.upload, "tags")),
                 "[[\"colour\",\"blue\"]]");
    json_decref(ks.upload);
    st_close(e);
}

/* The newest JRN_KEY of key "old" (hex 6f6c64), the records' top commit
 * and whether a version 2 one of it is there. */
typedef struct old_seen {
    json_t *newest;
    uint64_t top;
    int v2;
} old_seen;

static int old_collect(void *ctx, const jrn_record *r)
{
    old_seen *o = ctx;
    const char *k = json_string_value(json_object_get(r->fields, "key"));
    if (r->commit > o->top)
        o->top = r->commit;
    if (r->type == JRN_KEY && k && strcmp(k, "6f6c64") == 0) {
        json_decref(o->newest);
        o->newest = json_incref(r->fields);
        o->v2 += r->version == 2;
    }
    return 0;
}

static void replay_old(const eng_fixture *f, old_seen *o)
{
    ds_set set;
    cf_err err;
    int files, torn, newer;
    const char *paths[3] = {f->disks[0], f->disks[1], f->disks[2]};
    json_decref(o->newest);
    memset(o, 0, sizeof *o);
    REQUIRE(ds_open(&set, paths, 3, 2, 1, 0, &err) == 0);
    CHECK(jrn_replay(&set, 0, old_collect, o, &files, &torn, &newer, &err) == 0);
    ds_close(&set);
}

static void test_v2_key_carried(void)
{
    eng_fixture f;
    cf_err err;
    st_object_info info;
    old_seen o = {0};
    st_engine *e = fixture_setup(&f, test_tmpdir(), 3, 2, 1, false);
    REQUIRE(e);
    REQUIRE(put_gen(e, "b", "old", 100, 1, &info, &err) == 0);
    st_close(e);
    /* the key's state as coffer before record version 3 wrote it, in a
     * file of its own that later snapshots cover */
    replay_old(&f, &o);
    REQUIRE(o.newest);
    json_t *v2 = json_deep_copy(o.newest);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(v2, "versions"), i, v) {
        json_object_del(v, "tags");
        json_object_del(v, "tier");
    }
    json_object_set_new(v2, "rv", json_integer(2));
    ds_set set;
    const char *paths[3] = {f.disks[0], f.disks[1], f.disks[2]};
    REQUIRE(ds_open(&set, paths, 3, 2, 1, 0, &err) == 0);
    jrn *j = jrn_open(&set, o.top + 1, &err);
    REQUIRE(j);
    jrn_append(j, JRN_KEY, o.top + 1, v2, NULL, 0);
    jrn_close(j);
    ds_close(&set);
    json_decref(v2);
    char mine[64];
    snprintf(mine, sizeof mine, "-%012llu-", (unsigned long long)o.top + 1);
    /* writes and snapshots until that file is pruned */
    e = fixture_open(&f);
    REQUIRE(e);
    int copies;
    for (int n = 0; n < 6; n++) {           /* until a later file is covered */
        char key[32];
        snprintf(key, sizeof key, "other%d", n);
        REQUIRE(put_gen(e, "b", key, 100, 2, &info, &err) == 0);
        REQUIRE(st_snapshot(e, &copies, &err) == 0);
    }
    st_close(e);
    REQUIRE(test_sh("ls '%s/" JRN_DIR "' | grep -q -- '%s' && exit 1; exit 0", f.disks[0],
                    mine) == 0);                   /* pruned */
    replay_old(&f, &o);
    CHECK_EQ_INT(o.v2, 1);                         /* and its record carried */
    json_decref(o.newest);
}

/* What the v3 fixture's records say. */
typedef struct v3_seen {
    int records, v3;
    json_t *cold, *small, *upload;      /* the newest of each */
    size_t put_len;
    char put_data_ok;
} v3_seen;

static int v3_collect(void *ctx, const jrn_record *r)
{
    v3_seen *v = ctx;
    const char *k = json_string_value(json_object_get(r->fields, "key"));
    json_t **slot = !k ? NULL : r->type == JRN_UPLOAD ? &v->upload
                  : r->type != JRN_KEY ? NULL : strcmp(k, "636f6c64") == 0 ? &v->cold
                  : strcmp(k, "736d616c6c") == 0 ? &v->small : NULL;
    if (!strstr(r->path, "fixture-v3"))
        return 0;                       /* the set's own records */
    v->records++;
    v->v3 += r->version == 3;
    if (slot) {
        json_decref(*slot);
        *slot = json_incref(r->fields);
    }
    if (r->type == JRN_PUT) {
        uint8_t *data = NULL;
        size_t len = 0;
        cf_err err;
        v->put_data_ok = jrn_read_data(r->path, r->offset, &data, &len, &err) == 0 &&
                         len == r->len && len > 100;
        v->put_len = len;
        free(data);
    }
    return 0;
}

/* A set of 3 disks, its engine closed, holding the committed fixture
 * tests/fixtures/journal-NAME/journal.log as its file on disk 0 (a journal
 * file is named by its lineage; the records are the fixture's), its path
 * holding "fixture-NAME". */
static int fixture_journal(eng_fixture *f, ds_set *set, const char *name)
{
    cf_err err;
    st_engine *e = fixture_setup(f, test_tmpdir(), 3, 2, 1, false);
    if (!e)
        return -1;
    st_close(e);
    const char *paths[3] = {f->disks[0], f->disks[1], f->disks[2]};
    if (ds_open(set, paths, 3, 2, 1, 0, &err) < 0)
        return -1;
    char lineage[33];
    hex_encode(set->lineage, DS_LINEAGE_LEN, lineage, sizeof lineage);
    const char *src = getenv("srcdir");
    return test_sh("cp '%s/tests/fixtures/journal-%s/journal.log' "
                   "'%s/" JRN_DIR "/%s-000000000001-0-fixture-%s.log'", src ? src : "..",
                   name, f->disks[0], lineage, name);
}

static void test_fixture_v3(void)
{
    eng_fixture f;
    ds_set set;
    cf_err err;
    int files, torn, newer;
    REQUIRE(fixture_journal(&f, &set, "v3") == 0);
    v3_seen v = {0};
    REQUIRE(jrn_replay(&set, 0, v3_collect, &v, &files, &torn, &newer, &err) == 0);
    CHECK_EQ_INT(torn, 0);
    CHECK_EQ_INT(newer, 0);
    CHECK_EQ_INT(v.records, 7);
    CHECK_EQ_INT(v.v3, 7);
    json_t *cold = json_array_get(json_object_get(v.cold, "versions"), 0);
    json_t *tier = json_object_get(cold, "tier");
    CHECK_EQ_STR(json_string_value(json_object_get(tier, "tier")), "COLD");
    CHECK_EQ_INT((int)json_integer_value(json_object_get(tier, "state")), ST_TIER_TIERED);
    CHECK_EQ_STR(json_string_value(json_object_get(tier, "remote_etag")), "\"remote-etag\"");
    json_t *seg = json_array_get(json_object_get(tier, "segments"), 0);
    CHECK_EQ_INT((int)json_integer_value(json_object_get(seg, "size")), 300000);
    CHECK_EQ_INT((int)strlen(json_string_value(json_object_get(seg, "wrapped"))),
                 2 * CRYPT_WRAPPED_LEN);
    json_t *small = json_array_get(json_object_get(v.small, "versions"), 0);
    CHECK_EQ_STR(json_string_value(json_object_get(small, "tags")),
                 "[[\"colour\",\"blue\"]]");
    CHECK(json_is_null(json_object_get(small, "tier")));
    CHECK_EQ_INT((int)json_integer_value(json_object_get(v.upload, "lock_mode")),
                 ST_LOCK_COMPLIANCE);
    CHECK_EQ_INT((int)json_integer_value(json_object_get(v.upload, "legal_hold")),
                 ST_HOLD_ON);
    CHECK(json_integer_value(json_object_get(v.upload, "retain_until_ms")) ==
          4102444800000);
    CHECK(v.put_data_ok);
    json_decref(v.cold);
    json_decref(v.small);
    json_decref(v.upload);
    ds_close(&set);
}

/* What the v4 fixture's records say: each remote id's newest
 * JRN_REMOTE_DELETE. */
typedef struct v4_seen {
    int records, v4, remote;
    json_t *queued, *gone;
} v4_seen;

static int v4_collect(void *ctx, const jrn_record *r)
{
    v4_seen *v = ctx;
    if (!strstr(r->path, "fixture-v4"))
        return 0;                       /* the set's own records */
    v->records++;
    v->v4 += r->version == 4;
    if (r->type != JRN_REMOTE_DELETE)
        return 0;
    v->remote++;
    const char *id = json_string_value(json_object_get(r->fields, "remote_id"));
    json_t **slot = id && strcmp(id, "12601ddc8fe0ceb19fde62766e012609") == 0 ? &v->queued
                  : id && strcmp(id, "3db9d175ef450d8e32fb181b330cf51b") == 0 ? &v->gone
                  : NULL;
    if (slot) {
        json_decref(*slot);
        *slot = json_incref(r->fields);
    }
    return 0;
}

/* The committed fixture tests/fixtures/journal-v4/journal.log (record
 * version 4: test_rebuild_keeps' disk 0 before its rebuild) reads as it
 * was written: two tiered versions deleted, the remote delete of one
 * still queued (tier COLD), the other's queued and then done. */
static void test_fixture_v4(void)
{
    eng_fixture f;
    ds_set set;
    cf_err err;
    int files, torn, newer;
    REQUIRE(fixture_journal(&f, &set, "v4") == 0);
    v4_seen v = {0};
    REQUIRE(jrn_replay(&set, 0, v4_collect, &v, &files, &torn, &newer, &err) == 0);
    CHECK_EQ_INT(torn, 0);
    CHECK_EQ_INT(newer, 0);
    CHECK_EQ_INT(v.records, 18);
    CHECK_EQ_INT(v.v4, 18);
    CHECK_EQ_INT(v.remote, 3);
    json_t *q = json_object_get(v.queued, "queued");
    CHECK_EQ_STR(json_string_value(json_object_get(q, "tier")), "COLD");
    CHECK(json_is_null(json_object_get(q, "upload_id")));
    CHECK_EQ_INT((int)json_integer_value(json_object_get(q, "recheck")), 0);
    CHECK(json_integer_value(json_object_get(q, "queued_ms")) > 0);
    CHECK(v.gone && json_is_null(json_object_get(v.gone, "queued")));
    json_decref(v.queued);
    json_decref(v.gone);
    ds_close(&set);
}

static void quiet(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

/* The remote deletes due now: their count, the remote ids of the first
 * two. */
typedef struct due_seen { int n; char ids[2][ST_REMOTE_ID_HEX]; } due_seen;

static int due_cb(void *ctx, const st_remote_delete *d)
{
    due_seen *s = ctx;
    if (s->n < 2)
        snprintf(s->ids[s->n], sizeof s->ids[0], "%s", d->remote_id);
    s->n++;
    return 0;
}

static void due_now(st_engine *e, due_seen *s)
{
    cf_err err;
    memset(s, 0, sizeof *s);
    CHECK(st_remote_deletes_due(e, 16, due_cb, s, &err) == 0);
}

/* Move key (just PUT, info) to the tier and delete it: its remote object
 * is queued for deletion. */
static void tier_and_delete(st_engine *e, const char *key, int64_t tier_id)
{
    cf_err err;
    st_object_info info;
    REQUIRE(put_gen(e, "b", key, 200000, 9, &info, &err) == 0);
    st_transition t;
    REQUIRE(st_transition_begin(e, "t1", "b", key, info.version_id, tier_id, &t, &err) == 0);
    REQUIRE(st_transition_commit(e, &t, "\"remote-etag\"", &err) == 0);
    st_transition_clear(&t);
    REQUIRE(st_delete(e, "t1", "b", key, &err) == 0);
    usleep(2000);                       /* due: queued before now */
}

static void test_rebuild_keeps(void)
{
    eng_fixture f;
    cf_err err;
    st_object_info info;
    st_engine *e = fixture_setup(&f, test_tmpdir(), 3, 2, 1, false);
    REQUIRE(e);
    st_tier tier;
    REQUIRE(st_tier_add(e, "COLD", "s3", "{\"endpoint\":\"http://127.0.0.1:1\","
                        "\"bucket\":\"cold\"}", "s3cr3t", &err) == 0);
    REQUIRE(st_tier_get(e, "COLD", 0, false, &tier, &err) == 0);
    int64_t tier_id = tier.id;
    st_tier_clear(&tier);
    /* a sharded version moved to the tier (its local files freed) */
    REQUIRE(put_gen(e, "b", "cold", 300000, 5, &info, &err) == 0);
    st_transition t;
    REQUIRE(st_transition_begin(e, "t1", "b", "cold", info.version_id, tier_id, &t,
                                &err) == 0);
    REQUIRE(st_transition_commit(e, &t, "\"remote-etag\"", &err) == 0);
    st_transition_clear(&t);
    CHECK_EQ_INT(count_shard_files(&f, 3), 0);
    /* tags on an inline object */
    st_header tag = {.name = "colour", .value = "blue"};
    REQUIRE(put_gen(e, "b", "small", 100, 6, &info, &err) == 0);
    REQUIRE(st_tags_put(e, "t1", "b", "small", NULL, &tag, 1, &err) == 0);
    /* a locked upload in progress */
    REQUIRE(st_bucket_create(e, "t1", "locked", NULL, true, &err) == 0);
    st_upload_args ua = {.tenant = "t1", .bucket = "locked", .key = "mp"};
    ua.lock.lock_mode = ST_LOCK_COMPLIANCE;
    ua.lock.retain_until_ms = 4102444800000;
    ua.lock.legal_hold = ST_HOLD_ON;
    char uid[ST_ID_HEX];
    REQUIRE(st_upload_create(e, &ua, uid, &err) == 0);
    /* two tiered versions deleted (record version 4): the remote delete
     * of one still queued (the tier is down), the other's done */
    due_seen due;
    tier_and_delete(e, "gone", tier_id);
    due_now(e, &due);
    REQUIRE(due.n == 1);
    char queued[ST_REMOTE_ID_HEX];
    snprintf(queued, sizeof queued, "%s", due.ids[0]);
    tier_and_delete(e, "done", tier_id);
    due_now(e, &due);
    REQUIRE(due.n == 2);
    const char *done = strcmp(due.ids[0], queued) == 0 ? due.ids[1] : due.ids[0];
    REQUIRE(st_remote_delete_done(e, done, 0, &err) == 0);
    due_now(e, &due);
    CHECK(due.n == 1 && strcmp(due.ids[0], queued) == 0);
    st_close(e);
    /* every index copy and snapshot gone */
    REQUIRE(test_sh("rm -rf '%s' %s/snapshots %s/snapshots %s/snapshots", f.meta, f.disks[0],
               f.disks[1], f.disks[2]) == 0);
    REQUIRE(test_sh("mkdir -p '%s'", f.meta) == 0);
    st_rebuild_report rep;
    REQUIRE(st_rebuild_index(&f.cfg, false, quiet, NULL, NULL, &rep, &err) == 0);
    CHECK_EQ_INT((int)rep.no_data, 0);
    CHECK_EQ_INT((int)rep.tiered, 1);
    CHECK_EQ_INT((int)rep.tagged, 1);
    CHECK_EQ_INT((int)rep.remote_deletes, 1);
    e = fixture_open(&f);
    REQUIRE(e);
    /* the remote delete still to be done is queued again, the done one not */
    due_now(e, &due);
    CHECK_EQ_INT(due.n, 1);
    CHECK_EQ_STR(due.ids[0], queued);
    REQUIRE(st_head(e, "t1", "b", "cold", &info, &err) == 0);
    CHECK_EQ_STR(info.storage_class, "COLD");
    st_object_info_clear(&info);
    st_tier_usage u = {0};
    REQUIRE(st_tier_usage_get(e, tier_id, &u, &err) == 0);
    CHECK_EQ_INT((int)u.objects, 1);
    /* its bytes are the tier's: without a tier client, a clean error */
    CHECK_EQ_INT(check_gen(e, "b", "cold", 300000, 5, &err), -1);
    CHECK_EQ_INT(err.code, CF_EIO);
    CHECK_EQ_INT(check_gen(e, "b", "small", 100, 6, &err), 1);
    st_header *tags = NULL;
    size_t n = 0;
    REQUIRE(st_tags_get(e, "t1", "b", "small", NULL, &tags, &n, &err) == 0);
    CHECK(n == 1 && strcmp(tags[0].name, "colour") == 0 && strcmp(tags[0].value, "blue") == 0);
    st_tags_free(tags, n);
    char etag[ST_ETAG_MAX];
    REQUIRE(put_part_gen(e, "locked", "mp", uid, 1, 1000, 8, etag, &err) == 0);
    st_complete_part part = {.part_number = 1, .etag = etag};
    st_complete_args ca = {.tenant = "t1", .bucket = "locked", .key = "mp", .upload_id = uid,
                           .parts = &part, .nparts = 1, .expected_size = -1};
    REQUIRE(st_upload_complete(e, &ca, &info, &err) == 0);
    st_object_info_clear(&info);
    REQUIRE(st_head(e, "t1", "locked", "mp", &info, &err) == 0);
    CHECK_EQ_INT(info.lock_mode, ST_LOCK_COMPLIANCE);
    CHECK(info.retain_until_ms == 4102444800000);
    CHECK_EQ_INT(info.legal_hold, ST_HOLD_ON);
    st_object_info_clear(&info);
    st_close(e);
}

TEST_MAIN("journal", T(test_record_versions), T(test_reread), T(test_hostile_files),
          T(test_key_state), T(test_v2_key_carried), T(test_fixture_v3),
          T(test_fixture_v4),
          T(test_rebuild_keeps))
