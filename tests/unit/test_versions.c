/*
 * tests/unit/test_versions.c - the engine's version model, object lock and
 * the overwrite rule of keys that cannot destroy (doc/design.md, "Versions,
 * object lock and keys that cannot destroy"), on real disks and a real
 * index.
 */
#include "tests/unit/test.h"

#include "tests/unit/engine_util.h"
#include "storage/index.h"

#include <time.h>

static st_engine *setup(eng_fixture *f)
{
    return fixture_setup(f, test_tmpdir(), 2, 0, 0, false);
}

/* A PUT of text, begun and left open for the caller to finish. */
static int put_open(st_engine *e, const char *key, const char *text, bool no_overwrite,
                    st_put **p, cf_err *err)
{
    st_put_args a = {.tenant = "t1", .bucket = "b", .key = key,
                     .expected_size = (int64_t)strlen(text),
                     .opts = {.no_overwrite = no_overwrite}};
    if (st_put_begin(e, &a, p, err) < 0)
        return -1;
    if (st_put_write(*p, text, strlen(text), err) < 0) {
        st_put_abort(*p);
        return -1;
    }
    return 0;
}

/* 1 if the key's current version reads back as text. */
static int holds(st_engine *e, const char *key, const char *text, cf_err *err)
{
    st_object_info info;
    st_get *g;
    if (st_get_open(e, "t1", "b", key, &info, &g, err) < 0)
        return -1;
    char buf[256];
    size_t n = 0;
    int rc = st_get_read(g, 0, buf, sizeof buf, &n, err);
    st_get_close(g);
    st_object_info_clear(&info);
    return rc < 0 ? -1 : n == strlen(text) && memcmp(buf, text, n) == 0;
}

static void no_overwrite_is_decided_in_the_commit(void)
{
    eng_fixture f;
    st_engine *e = setup(&f);
    REQUIRE(e);
    cf_err err;
    st_put *first, *second, *third;
    /* two writers of a new key, both begun before either commits */
    REQUIRE(put_open(e, "k", "first", true, &first, &err) == 0);
    REQUIRE(put_open(e, "k", "second", true, &second, &err) == 0);
    REQUIRE(st_put_finish(first, NULL, NULL, &err) == 0);
    CHECK_EQ_INT(st_put_finish(second, NULL, NULL, &err), -1);
    CHECK_EQ_INT(err.code, CF_EDENIED);
    CHECK_EQ_INT(holds(e, "k", "first", &err), 1);
    /* refused at the start once the key exists */
    CHECK_EQ_INT(put_open(e, "k", "third", true, &third, &err), -1);
    CHECK_EQ_INT(err.code, CF_EDENIED);
    /* a copy over it, and a completed upload over it, are refused too */
    st_write_opts no = {.no_overwrite = true};
    REQUIRE(put_gen(e, "b", "src", 10, 3, NULL, &err) == 0);
    st_object_info info;
    CHECK_EQ_INT(st_copy(e, &(st_copy_args){.src_bucket = "b", .src_key = "src",
                         .dst = {.tenant = "t1", .bucket = "b", .key = "k",
                         .attrs = {.keep_tags = true}, .opts = no}}, &info, &err),
                 -1);
    CHECK_EQ_INT(err.code, CF_EDENIED);
    char uid[ST_ID_HEX];
    REQUIRE(st_upload_create(e, &(st_upload_args){.tenant = "t1", .bucket = "b", .key = "k"},
                             uid, &err) == 0);
    st_put_args pa = {.tenant = "t1", .bucket = "b", .key = "k", .upload_id = uid,
                      .part_number = 1, .expected_size = 4};
    st_put *part;
    REQUIRE(st_put_begin(e, &pa, &part, &err) == 0);
    REQUIRE(st_put_write(part, "part", 4, &err) == 0);
    st_object_info pinfo;
    REQUIRE(st_put_finish(part, NULL, &pinfo, &err) == 0);
    st_complete_part cp = {.part_number = 1, .etag = pinfo.etag};
    CHECK_EQ_INT(st_upload_complete(e, &(st_complete_args){.tenant = "t1", .bucket = "b",
                                    .key = "k", .upload_id = uid, .parts = &cp, .nparts = 1,
                                    .expected_size = -1, .no_overwrite = true}, &info, &err),
                                    -1);
    CHECK_EQ_INT(err.code, CF_EDENIED);
    CHECK_EQ_INT(holds(e, "k", "first", &err), 1);
    /* the upload is still there: it completes for a key that may overwrite */
    REQUIRE(st_upload_complete(e, &(st_complete_args){.tenant = "t1", .bucket = "b", .key = "k",
                               .upload_id = uid, .parts = &cp, .nparts = 1,
                               .expected_size = -1}, &info, &err) == 0);
    CHECK_EQ_INT(holds(e, "k", "part", &err), 1);
    st_close(e);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A PUT of text with write options; the new version's S3 id into vid. */
static int put_text(st_engine *e, const char *bucket, const char *key, const char *text,
                    const st_write_opts *opts, char vid[ST_ID_HEX], cf_err *err)
{
    st_put_args a = {.tenant = "t1", .bucket = bucket, .key = key,
                     .expected_size = (int64_t)strlen(text)};
    if (opts)
        a.opts = *opts;
    st_put *p;
    st_object_info info;
    if (st_put_begin(e, &a, &p, err) < 0)
        return -1;
    if (st_put_write(p, text, strlen(text), err) < 0) {
        st_put_abort(p);
        return -1;
    }
    if (st_put_finish(p, NULL, &info, err) < 0)
        return -1;
    snprintf(vid, ST_ID_HEX, "%s", st_version_name(&info));
    return 0;
}

/* Enabled and Suspended, markers and promotion, in the engine. */
static void the_version_state_machine(void)
{
    eng_fixture f;
    st_engine *e = setup(&f);
    REQUIRE(e);
    cf_err err;
    char v0[ST_ID_HEX], v1[ST_ID_HEX], v2[ST_ID_HEX];
    st_object_info info;
    st_delete_result res;
    REQUIRE(put_text(e, "b", "k", "zero", NULL, v0, &err) == 0);
    CHECK(strcmp(v0, "null") == 0);
    CHECK_EQ_INT(st_bucket_set_versioning(e, "t1", "b", ST_VERSIONING_OFF, &err), -1);
    CHECK_EQ_INT(err.code, CF_EINVAL);
    REQUIRE(st_bucket_set_versioning(e, "t1", "b", ST_VERSIONING_ENABLED, &err) == 0);
    REQUIRE(put_text(e, "b", "k", "one", NULL, v1, &err) == 0);
    REQUIRE(put_text(e, "b", "k", "two", NULL, v2, &err) == 0);
    CHECK(st_version_name_ok(v1) && strcmp(v1, "null") != 0 && strcmp(v1, v2) != 0);
    CHECK_EQ_INT(holds(e, "k", "two", &err), 1);
    REQUIRE(st_delete_version(e, "t1", "b", "k", NULL, NULL, false, &res, &err) == 0);
    CHECK(res.delete_marker && res.versioned);
    CHECK_EQ_INT(st_head(e, "t1", "b", "k", &info, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOKEY);
    CHECK(info.delete_marker);
    CHECK_EQ_INT(st_head_version(e, "t1", "b", "k", res.version_id, &info, &err), -1);
    CHECK_EQ_INT(err.code, CF_EMARKER);
    CHECK_EQ_INT(st_head_version(e, "t1", "b", "k", "0123456789abcdef0123456789abcdef",
                                 &info, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOVERSION);
    CHECK_EQ_INT(st_head_version(e, "t1", "b", "k", "NULL", &info, &err), -1);
    CHECK_EQ_INT(err.code, CF_EINVAL);
    /* removing the marker, then the current version, promotes */
    char marker[ST_ID_HEX];
    snprintf(marker, sizeof marker, "%s", res.version_id);
    REQUIRE(st_delete_version(e, "t1", "b", "k", marker, NULL, false, &res, &err) == 0);
    CHECK(res.delete_marker);
    CHECK_EQ_INT(holds(e, "k", "two", &err), 1);
    REQUIRE(st_delete_version(e, "t1", "b", "k", v2, NULL, false, &res, &err) == 0);
    CHECK_EQ_INT(holds(e, "k", "one", &err), 1);
    REQUIRE(st_head_version(e, "t1", "b", "k", "null", &info, &err) == 0);
    CHECK(info.null_version && !info.latest);
    st_object_info_clear(&info);
    /* suspended: the null version is replaced, v1 kept */
    REQUIRE(st_bucket_set_versioning(e, "t1", "b", ST_VERSIONING_SUSPENDED, &err) == 0);
    REQUIRE(put_text(e, "b", "k", "three", NULL, v2, &err) == 0);
    CHECK(strcmp(v2, "null") == 0);
    REQUIRE(st_head_version(e, "t1", "b", "k", v1, &info, &err) == 0);
    st_object_info_clear(&info);
    st_close(e);
}

/* What object lock refuses, in the engine. */
static void locked_versions_are_not_destroyed(void)
{
    eng_fixture f;
    st_engine *e = setup(&f);
    REQUIRE(e);
    cf_err err;
    char vc[ST_ID_HEX], vg[ST_ID_HEX], vh[ST_ID_HEX];
    int64_t later = now_ms() + 3600 * 1000;
    st_write_opts comp = {.lock_mode = ST_LOCK_COMPLIANCE, .retain_until_ms = later};
    st_write_opts gov = {.lock_mode = ST_LOCK_GOVERNANCE, .retain_until_ms = later};
    st_write_opts hold = {.legal_hold = ST_HOLD_ON};
    /* no lock on a bucket without it */
    CHECK_EQ_INT(put_text(e, "b", "x", "x", &comp, vc, &err), -1);
    CHECK_EQ_INT(err.code, CF_EBUCKETSTATE);
    CHECK_EQ_INT(st_bucket_set_lock(e, "t1", "b", ST_LOCK_NONE, 0, 0, &err), -1);
    CHECK_EQ_INT(err.code, CF_EBUCKETSTATE);
    REQUIRE(st_bucket_create(e, "t1", "w", NULL, true, &err) == 0);
    CHECK_EQ_INT(st_bucket_set_versioning(e, "t1", "w", ST_VERSIONING_SUSPENDED, &err), -1);
    CHECK_EQ_INT(err.code, CF_EBUCKETSTATE);
    REQUIRE(put_text(e, "w", "c", "c", &comp, vc, &err) == 0);
    REQUIRE(put_text(e, "w", "g", "g", &gov, vg, &err) == 0);
    REQUIRE(put_text(e, "w", "h", "h", &hold, vh, &err) == 0);
    CHECK_EQ_INT(st_delete_version(e, "t1", "w", "c", vc, NULL, true, NULL, &err), -1);
    CHECK_EQ_INT(err.code, CF_ELOCKED);
    CHECK_EQ_INT(st_object_set_retention(e, "t1", "w", "c", vc, ST_LOCK_COMPLIANCE,
                                         later - 1000, true, &err), -1);
    CHECK_EQ_INT(err.code, CF_ELOCKED);
    CHECK_EQ_INT(st_object_set_retention(e, "t1", "w", "c", vc, ST_LOCK_GOVERNANCE,
                                         later + 1000, true, &err), -1);
    CHECK_EQ_INT(st_object_set_retention(e, "t1", "w", "c", vc, ST_LOCK_NONE, 0, true,
                                         &err), -1);
    REQUIRE(st_object_set_retention(e, "t1", "w", "c", vc, ST_LOCK_COMPLIANCE,
                                    later + 1000, false, &err) == 0);
    CHECK_EQ_INT(st_delete_version(e, "t1", "w", "g", vg, NULL, false, NULL, &err), -1);
    CHECK_EQ_INT(err.code, CF_ELOCKED);
    CHECK_EQ_INT(st_delete_version(e, "t1", "w", "h", vh, NULL, true, NULL, &err), -1);
    CHECK_EQ_INT(err.code, CF_ELOCKED);
    CHECK_EQ_INT(st_bucket_delete(e, "t1", "w", &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOTEMPTY);
    REQUIRE(st_delete_version(e, "t1", "w", "g", vg, NULL, true, NULL, &err) == 0);
    REQUIRE(st_object_set_legal_hold(e, "t1", "w", "h", vh, ST_HOLD_OFF, &err) == 0);
    REQUIRE(st_delete_version(e, "t1", "w", "h", vh, NULL, false, NULL, &err) == 0);
    st_object_info info;
    REQUIRE(st_head_version(e, "t1", "w", "c", vc, &info, &err) == 0);
    CHECK_EQ_INT(info.lock_mode, ST_LOCK_COMPLIANCE);
    CHECK(info.retain_until_ms == later + 1000);
    st_object_info_clear(&info);
    /* a default retention applies to a new version */
    REQUIRE(st_bucket_set_lock(e, "t1", "w", ST_LOCK_GOVERNANCE, 2, 0, &err) == 0);
    REQUIRE(put_text(e, "w", "d", "d", NULL, vg, &err) == 0);
    REQUIRE(st_head_version(e, "t1", "w", "d", vg, &info, &err) == 0);
    CHECK_EQ_INT(info.lock_mode, ST_LOCK_GOVERNANCE);
    CHECK(info.retain_until_ms > now_ms() + 2 * 86400000LL - 60000);
    st_object_info_clear(&info);
    CHECK_EQ_INT(st_bucket_set_lock(e, "t1", "w", ST_LOCK_GOVERNANCE, 2, 1, &err), -1);
    CHECK_EQ_INT(err.code, CF_EINVAL);
    st_close(e);
}

/* The lock clock's high-water mark, read or raised on the index file of a
 * closed engine. */
static int64_t clock_mark(eng_fixture *f, int64_t raise_to)
{
    idx *x;
    cf_err err;
    int64_t hw = -1;
    if (idx_open(f->meta, &x, &err) < 0)
        return -1;
    idx_lock(x);
    int rc = raise_to ? idx_clock_hw_raise_locked(x, raise_to, &err) : 0;
    if (raise_to) {
        rc = idx_unlock_durable(x, &err) < 0 ? -1 : rc;
        idx_lock(x);
    }
    if (rc < 0 || idx_clock_hw_locked(x, &hw, &err) < 0)
        hw = -1;
    idx_unlock(x);
    idx_close(x);
    return hw;
}

/* A clock set backwards: the index has acted on a time ten days later
 * than the system clock now says. Nothing is dated from the earlier time:
 * a retention date before the mark is in the past, a default retention is
 * counted from the mark, and the mark never moves back. */
static void a_clock_set_backwards_dates_nothing_earlier(void)
{
    eng_fixture f;
    st_engine *e = setup(&f);
    REQUIRE(e);
    cf_err err;
    char v[ST_ID_HEX];
    int64_t day = 86400000LL, t0 = now_ms();
    REQUIRE(st_bucket_create(e, "t1", "w", NULL, true, &err) == 0);
    REQUIRE(st_bucket_set_lock(e, "t1", "w", ST_LOCK_COMPLIANCE, 1, 0, &err) == 0);
    REQUIRE(put_text(e, "w", "first", "1", NULL, v, &err) == 0);
    st_close(e);
    /* the default retention's commit recorded the time it used */
    int64_t first = clock_mark(&f, 0);
    CHECK(first >= t0 && first <= now_ms());
    int64_t mark = now_ms() + 10 * day;
    CHECK(clock_mark(&f, mark) == mark);
    CHECK(clock_mark(&f, first) == mark);                   /* never back */
    e = fixture_open(&f);
    REQUIRE(e);
    st_write_opts soon = {.lock_mode = ST_LOCK_COMPLIANCE, .retain_until_ms = now_ms() + day};
    CHECK_EQ_INT(put_text(e, "w", "k", "k", &soon, v, &err), -1);
    CHECK_EQ_INT(err.code, CF_EINVAL);
    REQUIRE(put_text(e, "w", "k", "k", NULL, v, &err) == 0);
    st_object_info info;
    REQUIRE(st_head_version(e, "t1", "w", "k", v, &info, &err) == 0);
    CHECK_EQ_INT(info.lock_mode, ST_LOCK_COMPLIANCE);
    CHECK(info.retain_until_ms == mark + day);
    st_object_info_clear(&info);
    CHECK_EQ_INT(st_object_set_retention(e, "t1", "w", "k", v, ST_LOCK_COMPLIANCE,
                                         now_ms() + 2 * day, false, &err), -1);
    CHECK_EQ_INT(st_delete_version(e, "t1", "w", "k", v, NULL, true, NULL, &err), -1);
    CHECK_EQ_INT(err.code, CF_ELOCKED);
    st_close(e);
    CHECK(clock_mark(&f, 0) == mark);
}

TEST_MAIN("versions",
          T(no_overwrite_is_decided_in_the_commit),
          T(the_version_state_machine),
          T(locked_versions_are_not_destroyed),
          T(a_clock_set_backwards_dates_nothing_earlier))
