/*
 * tests/unit/test_journal.c - the per-disk journal's record versions and
 * its reader against hostile files (storage/journal.h):
 *   - a record as version 1 wrote it (no "rv") is read as version 1, one
 *     of version 2 as 2, one of a newer version is skipped and counted;
 *   - a torn tail or a flipped byte on some disks loses no record (the
 *     other disks' copies are read) and is counted; on every disk the
 *     damaged record and what follows it in that file are skipped and
 *     counted, the records before it still read; garbage and an empty
 *     file are counted, never a crash;
 *   - a JRN_KEY record follows each change of a key's versions with the
 *     whole version list (a removed version is absent; a key with none
 *     left has an empty list).
 */
#include "tests/unit/test.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/hex.h"
#include "storage/ds.h"
#include "storage/journal.h"
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
    snprintf(s->data[s->n], sizeof s->data[0], "%.*s", (int)r->len, (const char *)r->data);
    s->n++;
    return 0;
}

/* A set of 3 disks, its engine closed, with three records of our own:
 * version 1 (as coffer before rv wrote them), 2 and a newer one. */
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
    json_t *v3 = json_pack("{s:i, s:s}", "rv", JRN_RECORD_VERSION + 1, "what", "future");
    jrn_append(j, JRN_PUT, BASE + 1, v1, "one", 3);
    jrn_append(j, JRN_KEY, BASE + 2, v2, NULL, 0);
    jrn_append(j, JRN_KEY, BASE + 3, v3, "three", 5);
    jrn_append(j, JRN_PUT, BASE + 4, v1, "four", 4);
    json_decref(v1);
    json_decref(v2);
    json_decref(v3);
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
    CHECK_EQ_INT(s.n, 3);
    CHECK_EQ_INT(torn, 0);
    CHECK_EQ_INT(newer, 1);
    CHECK_EQ_INT(s.versions[0], 1);
    CHECK_EQ_INT(s.types[0], JRN_PUT);
    CHECK_EQ_STR(s.data[0], "one");
    CHECK_EQ_INT(s.versions[1], 2);
    CHECK_EQ_INT(s.types[1], JRN_KEY);
    CHECK_EQ_INT(s.commits[2], BASE + 4);
    CHECK_EQ_STR(s.data[2], "four");
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
    CHECK_EQ_INT(s.n, 3);
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

/* The newest JRN_KEY of t1/b/key "k": its version count (-1: none). */
static int key_versions(void *ctx, const jrn_record *r)
{
    int *n = ctx;
    const char *k = json_string_value(json_object_get(r->fields, "key"));
    if (r->type == JRN_KEY && k && strcmp(k, "6b") == 0)
        *n = (int)json_array_size(json_object_get(r->fields, "versions"));
    return 0;
}

static int newest_key_state(const eng_fixture *f)
{
    ds_set set;
    cf_err err;
    int n = -1, files, torn, newer;
    const char *paths[3] = {f->disks[0], f->disks[1], f->disks[2]};
    if (ds_open(&set, paths, 3, 2, 1, 0, &err) < 0)
        return -2;
    if (jrn_replay(&set, 0, key_versions, &n, &files, &torn, &newer, &err) < 0 || torn)
        n = -3;
    ds_close(&set);
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
    CHECK_EQ_INT(newest_key_state(&f), 2);
    REQUIRE(st_delete_version(e, "t1", "b", "k", NULL, NULL, false, &del, &err) == 0);
    CHECK(del.delete_marker);
    CHECK_EQ_INT(newest_key_state(&f), 3);
    REQUIRE(st_delete_version(e, "t1", "b", "k", first, NULL, false, &del, &err) == 0);
    CHECK_EQ_INT(newest_key_state(&f), 2);          /* the removed one is absent */
    st_close(e);
}

TEST_MAIN("journal", T(test_record_versions), T(test_hostile_files), T(test_key_state))
