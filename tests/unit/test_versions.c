/*
 * tests/unit/test_versions.c - the engine's version model, object lock and
 * the overwrite rule of keys that cannot destroy (doc/design.md, "Versions,
 * object lock and keys that cannot destroy"), on real disks and a real
 * index.
 */
#include "tests/unit/test.h"

#include "tests/unit/engine_util.h"

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
    CHECK_EQ_INT(st_copy(e, "t1", "b", "src", "b", "k", NULL, 0, CKS_NONE, &no, &info, &err),
                 -1);
    CHECK_EQ_INT(err.code, CF_EDENIED);
    char uid[ST_ID_HEX];
    REQUIRE(st_upload_create(e, "t1", "b", "k", NULL, 0, CKS_NONE, uid, &err) == 0);
    st_put_args pa = {.tenant = "t1", .bucket = "b", .key = "k", .upload_id = uid,
                      .part_number = 1, .expected_size = 4};
    st_put *part;
    REQUIRE(st_put_begin(e, &pa, &part, &err) == 0);
    REQUIRE(st_put_write(part, "part", 4, &err) == 0);
    st_object_info pinfo;
    REQUIRE(st_put_finish(part, NULL, &pinfo, &err) == 0);
    st_complete_part cp = {.part_number = 1, .etag = pinfo.etag};
    CHECK_EQ_INT(st_upload_complete(e, "t1", "b", "k", uid, &cp, 1, true, &info, &err), -1);
    CHECK_EQ_INT(err.code, CF_EDENIED);
    CHECK_EQ_INT(holds(e, "k", "first", &err), 1);
    /* the upload is still there: it completes for a key that may overwrite */
    REQUIRE(st_upload_complete(e, "t1", "b", "k", uid, &cp, 1, false, &info, &err) == 0);
    CHECK_EQ_INT(holds(e, "k", "part", &err), 1);
    st_close(e);
}

TEST_MAIN("versions",
          T(no_overwrite_is_decided_in_the_commit))
