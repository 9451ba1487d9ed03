/*
 * tests/unit/test_admin.c - the admin API against a real engine on scratch
 * directories, and the embedded default's finish step. Every reply must be
 * a JSON object with the documented status; hostile bodies must get a 400,
 * never a crash or a 500.
 */
#include "server/admin.h"
#include "server/config.h"
#include "common/credfile.h"
#include "server/jobs.h"
#include "tests/unit/test.h"

#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEST_MASTER_HEX "000102030405060708090a0b0c0d0e0f" \
                        "101112131415161718191a1b1c1d1e1f"

/* The jobs of the engine open_engine opened (POST /heal, /gc and /jobs
 * run through them, as in cofferd). */
static sched *jobs;

/* Stop the jobs, then close the engine. */
static void close_engine(st_engine *e)
{
    sched_stop(jobs);
    jobs = NULL;
    st_close(e);
}

static st_engine *open_engine(void)
{
    const char *dir = test_tmpdir();
    static char disk[2][700], meta[700];
    snprintf(disk[0], sizeof disk[0], "%s/d1", dir);
    snprintf(disk[1], sizeof disk[1], "%s/d2", dir);
    snprintf(meta, sizeof meta, "%s/meta", dir);
    mkdir(disk[0], 0700);
    mkdir(disk[1], 0700);
    mkdir(meta, 0700);
    st_config cfg = {.disks = {disk[0], disk[1]}, .ndisks = 2, .meta_dir = meta,
                     .master_key_hex = TEST_MASTER_HEX};
    st_engine *e = NULL;
    cf_err err;
    if (st_open(&cfg, &e, &err) < 0) {
        fprintf(stderr, "  st_open: %s\n", err.msg);
        return NULL;
    }
    char state[800];
    coffer_config none = {0};
    snprintf(state, sizeof state, "%s/jobs", meta);
    if (!(jobs = sched_new(state, &err)) || jobs_register(jobs, e, &none, NULL, &err) < 0 ||
        sched_start(jobs, &err) < 0) {
        fprintf(stderr, "  jobs: %s\n", err.msg);
        close_engine(e);
        return NULL;
    }
    return e;
}

/* One admin call; returns the reply (a JSON object, else the test fails)
 * and its status in *status. */
static json_t *call(st_engine *e, const char *method, const char *path,
                    const char *query, const char *body, int *status)
{
    char *out = NULL;
    *status = 0;
    int rc = admin_handle(&(admin_env){.engine = e, .jobs = jobs}, method, path, query, body,
                          body ? strlen(body) : 0,
                          status, &out);
    CHECK_EQ_INT(rc, 0);
    json_t *doc = out ? json_loads(out, 0, NULL) : NULL;
    if (!json_is_object(doc)) {
        fprintf(stderr, "  %s %s: reply is not a JSON object: %s\n", method, path,
                out ? out : "(null)");
        test_current_failed = 1;
    }
    free(out);
    return doc;
}

/* The call must fail with this status and error code. */
static void expect_error(st_engine *e, const char *method, const char *path,
                         const char *query, const char *body, int want_status,
                         const char *want_code)
{
    int status;
    json_t *doc = call(e, method, path, query, body, &status);
    const char *code = json_string_value(json_object_get(doc, "error"));
    if (status != want_status || !code || strcmp(code, want_code) != 0) {
        fprintf(stderr, "  %s %s %.60s: got %d %s, want %d %s\n", method, path,
                body ? body : "", status, code ? code : "(none)", want_status,
                want_code);
        test_current_failed = 1;
    }
    CHECK(json_is_string(json_object_get(doc, "message")));
    json_decref(doc);
}

static int expect_status(st_engine *e, const char *method, const char *path,
                         const char *query, const char *body, int want,
                         json_t **doc_out)
{
    int status;
    json_t *doc = call(e, method, path, query, body, &status);
    if (status != want) {
        char *text = doc ? json_dumps(doc, 0) : NULL;
        fprintf(stderr, "  %s %s: got %d, want %d: %s\n", method, path, status,
                want, text ? text : "");
        free(text);
        test_current_failed = 1;
    }
    if (doc_out)
        *doc_out = doc;
    else
        json_decref(doc);
    return status;
}

static void tenants_lifecycle(void)
{
    st_engine *e = open_engine();
    REQUIRE(e != NULL);
    json_t *doc;
    expect_status(e, "POST", "/tenants", NULL, "{\"name\":\"acme\"}", 201, &doc);
    CHECK_EQ_STR(json_string_value(json_object_get(doc, "name")), "acme");
    json_decref(doc);
    expect_status(e, "POST", "/tenants", NULL, "{\"name\":\"beta-2\"}", 201, NULL);
    expect_error(e, "POST", "/tenants", NULL, "{\"name\":\"acme\"}", 409, "TenantExists");

    expect_status(e, "GET", "/tenants", NULL, NULL, 200, &doc);
    json_t *list = json_object_get(doc, "tenants");
    CHECK_EQ_INT(json_array_size(list), 2);
    bool found = false;
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t) {
        if (strcmp(json_string_value(json_object_get(t, "name")), "acme") == 0)
            found = json_integer_value(json_object_get(t, "created")) > 0;
    }
    CHECK(found);
    json_decref(doc);

    cf_err err;
    REQUIRE(st_bucket_create(e, "acme", "backups", "us-east-1", false, &err) == 0);
    expect_error(e, "DELETE", "/tenants/acme", NULL, NULL, 409, "TenantNotEmpty");
    REQUIRE(st_bucket_delete(e, "acme", "backups", &err) == 0);
    expect_status(e, "DELETE", "/tenants/acme", NULL, NULL, 200, NULL);
    expect_error(e, "DELETE", "/tenants/acme", NULL, NULL, 404, "NoSuchTenant");
    expect_error(e, "DELETE", "/tenants/ACME", NULL, NULL, 400, "InvalidRequest");
    close_engine(e);
}

static void keys_lifecycle(void)
{
    st_engine *e = open_engine();
    REQUIRE(e != NULL);
    expect_status(e, "POST", "/tenants", NULL, "{\"name\":\"acme\"}", 201, NULL);
    json_t *doc;
    expect_status(e, "POST", "/keys", NULL, "{\"tenant\":\"acme\"}", 201, &doc);
    char ak[ST_ACCESS_KEY_MAX], sk[ST_SECRET_KEY_MAX];
    snprintf(ak, sizeof ak, "%s", json_string_value(json_object_get(doc, "access_key")));
    snprintf(sk, sizeof sk, "%s", json_string_value(json_object_get(doc, "secret_key")));
    CHECK(json_is_false(json_object_get(doc, "read_only")));
    json_decref(doc);

    st_key_info info;
    char secret[ST_SECRET_KEY_MAX];
    cf_err err;
    REQUIRE(st_key_lookup(e, ak, &info, secret, &err) == 0);
    CHECK_EQ_STR(secret, sk);
    CHECK_EQ_STR(info.tenant, "acme");
    CHECK_EQ_INT(info.policy.perms, ST_PERM_DEFAULT);
    st_key_info_clear(&info);

    expect_status(e, "POST", "/keys", NULL,
                  "{\"tenant\":\"acme\",\"read_only\":true}", 201, &doc);
    CHECK(json_is_true(json_object_get(doc, "read_only")));
    json_decref(doc);
    expect_error(e, "POST", "/keys", NULL, "{\"tenant\":\"nobody\"}", 404,
                 "NoSuchTenant");
    expect_error(e, "POST", "/keys", NULL, "{\"tenant\":\"acme\",\"read_only\":1}",
                 400, "InvalidRequest");

    /* an append-only key that may delete under locks/, in one bucket */
    expect_status(e, "POST", "/keys", NULL,
                  "{\"tenant\":\"acme\",\"permissions\":[\"read\",\"write-new\"],"
                  "\"buckets\":[\"backups\"],\"allow_delete_prefixes\":[\"locks/\"]}",
                  201, &doc);
    CHECK(json_is_false(json_object_get(doc, "read_only")));
    CHECK_EQ_INT(json_array_size(json_object_get(doc, "permissions")), 2);
    char ak3[ST_ACCESS_KEY_MAX];
    snprintf(ak3, sizeof ak3, "%s", json_string_value(json_object_get(doc, "access_key")));
    json_decref(doc);
    REQUIRE(st_key_lookup(e, ak3, &info, secret, &err) == 0);
    CHECK_EQ_INT(info.policy.perms, ST_PERM_READ | ST_PERM_WRITE_NEW);
    REQUIRE(info.policy.nbuckets == 1 && info.policy.nprefixes == 1);
    CHECK_EQ_STR(info.policy.buckets[0], "backups");
    CHECK_EQ_STR(info.policy.delete_prefixes[0], "locks/");
    st_key_info_clear(&info);
    static const char *const bad_policies[] = {
        "{\"tenant\":\"acme\",\"permissions\":[]}",
        "{\"tenant\":\"acme\",\"permissions\":[\"rm-rf\"]}",
        "{\"tenant\":\"acme\",\"permissions\":\"read\"}",
        "{\"tenant\":\"acme\",\"permissions\":[\"read\"],\"read_only\":true}",
        "{\"tenant\":\"acme\",\"buckets\":[\"Not_A_Bucket\"]}",
        "{\"tenant\":\"acme\",\"buckets\":[7]}",
        "{\"tenant\":\"acme\",\"allow_delete_prefixes\":[\"\"]}",
        "{\"tenant\":\"acme\",\"allow_delete_prefixes\":{}}",
    };
    for (size_t b = 0; b < sizeof bad_policies / sizeof bad_policies[0]; b++)
        expect_error(e, "POST", "/keys", NULL, bad_policies[b], 400, "InvalidRequest");

    expect_status(e, "GET", "/keys", "tenant=acme", NULL, 200, &doc);
    json_t *keys = json_object_get(doc, "keys");
    CHECK_EQ_INT(json_array_size(keys), 3);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        CHECK(json_object_get(k, "secret_key") == NULL);
        CHECK_EQ_STR(json_string_value(json_object_get(k, "tenant")), "acme");
    }
    json_decref(doc);
    expect_status(e, "GET", "/keys", NULL, NULL, 200, &doc);
    CHECK_EQ_INT(json_array_size(json_object_get(doc, "keys")), 3);
    bool saw_scoped = false;
    json_array_foreach(json_object_get(doc, "keys"), i, k) {
        json_t *b = json_object_get(k, "buckets");
        if (json_is_array(b)) {
            saw_scoped = true;
            CHECK_EQ_STR(json_string_value(json_array_get(b, 0)), "backups");
            CHECK_EQ_STR(json_string_value(json_array_get(
                             json_object_get(k, "allow_delete_prefixes"), 0)), "locks/");
        } else {
            CHECK(json_is_null(b));
        }
    }
    CHECK(saw_scoped);
    json_decref(doc);
    expect_error(e, "GET", "/keys", "tenant=A%20B", NULL, 400, "InvalidRequest");
    expect_error(e, "GET", "/keys", "owner=acme", NULL, 400, "InvalidRequest");

    char path[64];
    snprintf(path, sizeof path, "/keys/%s", ak);
    expect_status(e, "DELETE", path, NULL, NULL, 200, NULL);
    CHECK_EQ_INT(st_key_lookup(e, ak, &info, secret, &err), -1);
    expect_error(e, "DELETE", path, NULL, NULL, 404, "NoSuchAccessKey");
    expect_error(e, "DELETE", "/keys/not..valid", NULL, NULL, 400, "InvalidRequest");
    close_engine(e);
}

/* st_key_lookup keeps what it found (key.c): a second lookup answers the
 * same key, policy and secret, and every write of access_keys (a revoke, a
 * tenant's deletion) takes effect on the very next lookup. */
static void key_cache_follows_every_write(void)
{
    st_engine *e = open_engine();
    REQUIRE(e != NULL);
    expect_status(e, "POST", "/tenants", NULL, "{\"name\":\"acme\"}", 201, NULL);
    char ak[2][ST_ACCESS_KEY_MAX], sk[2][ST_SECRET_KEY_MAX];
    for (int i = 0; i < 2; i++) {
        json_t *doc;
        expect_status(e, "POST", "/keys", NULL,
                      "{\"tenant\":\"acme\",\"permissions\":[\"read\",\"write-new\"],"
                      "\"buckets\":[\"backups\",\"logs\"],"
                      "\"allow_delete_prefixes\":[\"locks/\"]}", 201, &doc);
        snprintf(ak[i], sizeof ak[i], "%s",
                 json_string_value(json_object_get(doc, "access_key")));
        snprintf(sk[i], sizeof sk[i], "%s",
                 json_string_value(json_object_get(doc, "secret_key")));
        json_decref(doc);
    }
    st_key_info info;
    char secret[ST_SECRET_KEY_MAX];
    cf_err err;
    for (int round = 0; round < 3; round++)          /* a miss, then hits */
        for (int i = 0; i < 2; i++) {
            REQUIRE(st_key_lookup(e, ak[i], &info, secret, &err) == 0);
            CHECK_EQ_STR(secret, sk[i]);
            CHECK_EQ_STR(info.access_key, ak[i]);
            CHECK_EQ_STR(info.tenant, "acme");
            CHECK_EQ_INT(info.policy.perms, ST_PERM_READ | ST_PERM_WRITE_NEW);
            REQUIRE(info.policy.nbuckets == 2 && info.policy.nprefixes == 1);
            CHECK_EQ_STR(info.policy.buckets[1], "logs");
            CHECK_EQ_STR(info.policy.delete_prefixes[0], "locks/");
            st_key_info_clear(&info);
        }
    char path[64];
    snprintf(path, sizeof path, "/keys/%s", ak[0]);
    expect_status(e, "DELETE", path, NULL, NULL, 200, NULL);
    CHECK_EQ_INT(st_key_lookup(e, ak[0], &info, secret, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOTFOUND);
    REQUIRE(st_key_lookup(e, ak[1], &info, secret, &err) == 0);
    CHECK_EQ_STR(secret, sk[1]);
    st_key_info_clear(&info);
    expect_status(e, "DELETE", "/tenants/acme", NULL, NULL, 200, NULL);
    CHECK_EQ_INT(st_key_lookup(e, ak[1], &info, secret, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOTFOUND);
    close_engine(e);
}

static void status_reports_layout_and_counts(void)
{
    st_engine *e = open_engine();
    REQUIRE(e != NULL);
    expect_status(e, "POST", "/tenants", NULL, "{\"name\":\"acme\"}", 201, NULL);
    expect_status(e, "POST", "/keys", NULL, "{\"tenant\":\"acme\"}", 201, NULL);
    json_t *doc;
    expect_status(e, "GET", "/status", NULL, NULL, 200, &doc);
    json_t *layout = json_object_get(doc, "layout");
    CHECK_EQ_INT(json_integer_value(json_object_get(layout, "k")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(layout, "m")), 1);
    CHECK(json_integer_value(json_object_get(layout, "block_size")) > 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(doc, "heal_pending")), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(doc, "tenants")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(doc, "keys")), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(doc, "version")), PACKAGE_VERSION);
    /* the engine's open writes meta rows, plus a tenant and a key here */
    json_t *ix = json_object_get(doc, "index");
    CHECK(json_integer_value(json_object_get(ix, "commits")) >= 2);
    CHECK(json_integer_value(json_object_get(ix, "wal_syncs")) >= 2);
    json_decref(doc);
    close_engine(e);
}

static void usage_and_disks(void)
{
    st_engine *e = open_engine();
    REQUIRE(e != NULL);
    cf_err err;
    expect_status(e, "POST", "/tenants", NULL, "{\"name\":\"acme\"}", 201, NULL);
    expect_status(e, "POST", "/tenants", NULL, "{\"name\":\"zeta\"}", 201, NULL);
    REQUIRE(st_bucket_create(e, "acme", "b1", NULL, false, &err) == 0);
    REQUIRE(st_bucket_create(e, "acme", "b2", NULL, false, &err) == 0);
    st_put_args a = {.tenant = "acme", .bucket = "b1", .key = "k", .expected_size = 11};
    st_put *p;
    st_object_info info;
    REQUIRE(st_put_begin(e, &a, &p, &err) == 0);
    REQUIRE(st_put_write(p, "hello world", 11, &err) == 0);
    REQUIRE(st_put_finish(p, NULL, &info, &err) == 0);
    json_t *doc;
    expect_status(e, "GET", "/usage", NULL, NULL, 200, &doc);
    json_t *rows = json_object_get(doc, "usage");
    CHECK_EQ_INT(json_array_size(rows), 2);
    json_t *acme = json_array_get(rows, 0);
    CHECK_EQ_STR(json_string_value(json_object_get(acme, "tenant")), "acme");
    CHECK_EQ_INT(json_integer_value(json_object_get(acme, "buckets")), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(acme, "objects")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(acme, "bytes")), 11);
    CHECK(json_is_null(json_object_get(acme, "quota")));
    json_t *zeta = json_array_get(rows, 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(zeta, "buckets")), 0);
    json_decref(doc);
    expect_status(e, "GET", "/usage", "tenant=zeta", NULL, 200, &doc);
    CHECK_EQ_INT(json_array_size(json_object_get(doc, "usage")), 1);
    json_decref(doc);
    expect_status(e, "GET", "/usage", "tenant=nobody", NULL, 200, &doc);
    CHECK_EQ_INT(json_array_size(json_object_get(doc, "usage")), 0);
    json_decref(doc);
    expect_error(e, "GET", "/usage", "tenant=BAD!", NULL, 400, "InvalidRequest");
    expect_error(e, "GET", "/usage", "other=1", NULL, 400, "InvalidRequest");
    expect_error(e, "POST", "/usage", NULL, "{}", 405, "MethodNotAllowed");

    /* quotas: set, merge, list, the usage row, refusals, clear */
    REQUIRE(st_bucket_create(e, "acme", "photos", NULL, false, &err) == 0);
    expect_status(e, "POST", "/quotas", NULL, "{\"tenant\":\"acme\",\"max_bytes\":5}",
                  200, &doc);
    CHECK_EQ_INT(json_integer_value(json_object_get(doc, "max_bytes")), 5);
    CHECK(json_is_null(json_object_get(doc, "max_objects")));
    CHECK(json_is_null(json_object_get(doc, "bucket")));
    CHECK_EQ_INT(json_integer_value(json_object_get(doc, "bytes")), 11);
    json_decref(doc);
    expect_status(e, "POST", "/quotas", NULL, "{\"tenant\":\"acme\",\"max_objects\":9}",
                  200, &doc);
    CHECK_EQ_INT(json_integer_value(json_object_get(doc, "max_bytes")), 5);  /* kept */
    json_decref(doc);
    expect_status(e, "POST", "/quotas", NULL,
                  "{\"tenant\":\"acme\",\"bucket\":\"photos\",\"max_bytes\":1}", 200, NULL);
    expect_status(e, "GET", "/quotas", "tenant=acme", NULL, 200, &doc);
    rows = json_object_get(doc, "quotas");
    REQUIRE(json_array_size(rows) == 2);
    CHECK(json_is_null(json_object_get(json_array_get(rows, 0), "bucket")));
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(rows, 1), "bucket")), "photos");
    json_decref(doc);
    expect_status(e, "GET", "/usage", "tenant=acme", NULL, 200, &doc);
    json_t *q = json_object_get(json_array_get(json_object_get(doc, "usage"), 0), "quota");
    CHECK_EQ_INT(json_integer_value(json_object_get(q, "bytes")), 5);
    CHECK_EQ_INT(json_integer_value(json_object_get(q, "objects")), 9);
    json_decref(doc);
    a.key = "k2";
    REQUIRE(st_put_begin(e, &a, &p, &err) == -1);     /* 11 + 11 bytes > 5 */
    CHECK_EQ_INT(err.code, CF_EQUOTA);
    static const char *const bad_quota[] = {
        "{\"tenant\":\"acme\",\"max_bytes\":-1}",
        "{\"tenant\":\"acme\",\"max_bytes\":\"5\"}",
        "{\"tenant\":\"acme\",\"max_bytes\":1.5}",
        "{\"tenant\":\"acme\",\"max_bytes\":true}",
        "{\"tenant\":\"acme\",\"bucket\":\"A_B\",\"max_bytes\":1}",
        "{\"tenant\":\"acme\",\"bucket\":7,\"max_bytes\":1}",
        "{\"tenant\":\"acme\",\"max_bytes\":1,\"extra\":1}",
        "{\"max_bytes\":1}",
    };
    for (size_t i = 0; i < sizeof bad_quota / sizeof bad_quota[0]; i++)
        expect_error(e, "POST", "/quotas", NULL, bad_quota[i], 400, "InvalidRequest");
    expect_error(e, "POST", "/quotas", NULL, "{\"tenant\":\"nobody\",\"max_bytes\":1}",
                 404, "NoSuchTenant");
    expect_error(e, "POST", "/quotas", NULL,
                 "{\"tenant\":\"acme\",\"bucket\":\"nob\",\"max_bytes\":1}", 404,
                 "NoSuchBucket");
    expect_error(e, "DELETE", "/quotas/acme", "bucket=A_B", NULL, 400, "InvalidRequest");
    expect_error(e, "DELETE", "/quotas/acme", "other=x", NULL, 400, "InvalidRequest");
    expect_error(e, "DELETE", "/quotas/nobody", NULL, NULL, 404, "NoSuchTenant");
    expect_status(e, "DELETE", "/quotas/acme", "bucket=photos", NULL, 200, &doc);
    CHECK(json_is_true(json_object_get(doc, "removed")));
    json_decref(doc);
    expect_status(e, "POST", "/quotas", NULL,
                  "{\"tenant\":\"acme\",\"max_bytes\":null,\"max_objects\":null}", 200,
                  &doc);                                 /* no limit left: removed */
    CHECK(json_is_null(json_object_get(doc, "max_bytes")));
    json_decref(doc);
    expect_status(e, "DELETE", "/quotas/acme", NULL, NULL, 200, &doc);
    CHECK(json_is_false(json_object_get(doc, "removed")));
    json_decref(doc);
    expect_status(e, "GET", "/quotas", NULL, NULL, 200, &doc);
    CHECK_EQ_INT(json_array_size(json_object_get(doc, "quotas")), 0);
    json_decref(doc);

    expect_status(e, "GET", "/disks", NULL, NULL, 200, &doc);
    json_t *disks = json_object_get(doc, "disks");
    REQUIRE(json_array_size(disks) == 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *d = json_array_get(disks, i);
        CHECK_EQ_INT(json_integer_value(json_object_get(d, "index")), (long long)i);
        CHECK_EQ_STR(json_string_value(json_object_get(d, "state")), "online");
        CHECK(json_is_true(json_object_get(d, "writable")));
        CHECK(json_integer_value(json_object_get(d, "capacity_bytes")) > 0);
        CHECK_EQ_INT(json_integer_value(json_object_get(d, "crc_errors")), 0);
    }
    char tmp[800], off[810];
    snprintf(tmp, sizeof tmp, "%s/tmp",
             json_string_value(json_object_get(json_array_get(disks, 1), "path")));
    snprintf(off, sizeof off, "%s.off", tmp);
    json_decref(doc);
    REQUIRE(rename(tmp, off) == 0);
    expect_status(e, "GET", "/disks", NULL, NULL, 200, &doc);
    json_t *d1 = json_array_get(json_object_get(doc, "disks"), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(d1, "state")), "readonly");
    CHECK(json_is_false(json_object_get(d1, "writable")));
    json_decref(doc);
    REQUIRE(rename(off, tmp) == 0);
    st_close(e);
}

static void heal_and_gc_run_on_demand(void)
{
    st_engine *e = open_engine();
    REQUIRE(e != NULL);
    json_t *doc;
    expect_status(e, "POST", "/heal", NULL, "{}", 200, &doc);
    CHECK_EQ_INT(json_integer_value(json_object_get(doc, "healed_segments")), 0);
    CHECK(json_is_integer(json_object_get(doc, "heal_failures")));
    json_decref(doc);
    expect_status(e, "POST", "/gc", NULL, "{\"grace_s\":3600}", 200, &doc);
    CHECK(json_is_integer(json_object_get(doc, "orphan_files")));
    CHECK(json_is_integer(json_object_get(doc, "deleted_segments")));
    json_decref(doc);
    expect_status(e, "POST", "/gc", NULL, "{}", 200, NULL);
    expect_error(e, "POST", "/gc", NULL, "{\"grace_s\":0}", 400, "InvalidRequest");
    expect_error(e, "POST", "/gc", NULL, "{\"grace_s\":\"x\"}", 400, "InvalidRequest");
    expect_error(e, "POST", "/heal", NULL, "{\"now\":true}", 400, "InvalidRequest");
    close_engine(e);
}

static void jobs_are_listed_and_run_on_demand(void)
{
    st_engine *e = open_engine();
    REQUIRE(e != NULL);
    json_t *doc;
    expect_status(e, "GET", "/jobs", NULL, NULL, 200, &doc);
    json_t *list = json_object_get(doc, "jobs");
    CHECK_EQ_INT(json_array_size(list), 6);  /* heal, gc, snapshot, scrub, drill, compact */
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(list, 0), "name")), "heal");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(list, 0), "state")), "idle");
    json_decref(doc);
    expect_status(e, "POST", "/jobs/snapshot", NULL, "{}", 202, &doc);
    CHECK_EQ_INT(json_integer_value(json_object_get(doc, "run_id")), 1);
    json_decref(doc);
    for (int i = 0; i < 100; i++) {                 /* it ends within 10 s */
        expect_status(e, "GET", "/jobs/snapshot", NULL, NULL, 200, &doc);
        bool done = json_is_object(json_object_get(doc, "last_run"));
        if (done)
            CHECK(json_is_true(json_object_get(json_object_get(doc, "last_run"), "ok")));
        json_decref(doc);
        if (done)
            break;
        usleep(100000);
    }
    expect_error(e, "POST", "/jobs/nosuch", NULL, "{}", 404, "NoSuchJob");
    expect_error(e, "GET", "/jobs/nosuch", NULL, NULL, 404, "NoSuchJob");
    expect_error(e, "POST", "/jobs/gc", NULL, "[]", 400, "MalformedJSON");
    close_engine(e);
}

static void unknown_routes_and_methods(void)
{
    st_engine *e = open_engine();
    REQUIRE(e != NULL);
    expect_error(e, "GET", "/nope", NULL, NULL, 404, "NoSuchRoute");
    expect_error(e, "GET", "", NULL, NULL, 404, "NoSuchRoute");
    expect_error(e, "GET", "/", NULL, NULL, 404, "NoSuchRoute");
    expect_error(e, "GET", "/tenants/a/b", NULL, NULL, 404, "NoSuchRoute");
    expect_error(e, "GET", "/tenants/", NULL, NULL, 404, "NoSuchRoute");
    expect_error(e, "GET", "/status/x", NULL, NULL, 404, "NoSuchRoute");
    expect_error(e, "PUT", "/tenants", NULL, NULL, 405, "MethodNotAllowed");
    expect_error(e, "GET", "/tenants/acme", NULL, NULL, 405, "MethodNotAllowed");
    expect_error(e, "POST", "/status", NULL, "{}", 405, "MethodNotAllowed");
    close_engine(e);
}

static void hostile_bodies_get_400(void)
{
    st_engine *e = open_engine();
    REQUIRE(e != NULL);
    static const char *const bad[] = {
        "", "not json", "{", "[]", "\"acme\"", "null", "{\"name\":7}",
        "{\"name\":\"\"}", "{\"name\":\"Acme\"}", "{\"name\":\"a/b\"}",
        "{\"name\":\"acme\",\"name\":\"beta\"}", "{\"name\":\"acme\",\"x\":1}",
        "{\"name\":\"\xff\xfe\"}", "{\"name\":\"ac\\u0000me\"}",
        "{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int status;
        json_t *doc = call(e, "POST", "/tenants", NULL, bad[i], &status);
        if (status != 400) {
            fprintf(stderr, "  body #%zu got %d\n", i, status);
            test_current_failed = 1;
        }
        json_decref(doc);
    }
    /* deep nesting (under the size limit), an oversized body, a body with
     * no terminating NUL */
    size_t n = ADMIN_MAX_BODY + 1;
    char *deep = malloc(n + 1);
    REQUIRE(deep != NULL);
    memset(deep, '[', n - 1);
    deep[n - 1] = '\0';
    expect_error(e, "POST", "/keys", NULL, deep, 400, "MalformedJSON");
    memset(deep, ' ', n);
    deep[n] = '\0';
    memcpy(deep, "{\"name\":\"acme\"}", 15);
    expect_error(e, "POST", "/tenants", NULL, deep, 400, "InvalidRequest");
    free(deep);
    char *out = NULL;
    int status = 0;
    CHECK_EQ_INT(admin_handle(&(admin_env){.engine = e, .jobs = jobs}, "POST", "/tenants",
                              NULL, "{\"name\":\"ok\"}xx", 13,
                              &status, &out), 0);
    CHECK_EQ_INT(status, 201);
    free(out);
    expect_error(e, "POST", "/tenants", NULL, NULL, 400, "MalformedJSON");
    close_engine(e);
}

static void random_bodies_never_crash(void)
{
    st_engine *e = open_engine();
    REQUIRE(e != NULL);
    const char *paths[] = {"/tenants", "/keys"};
    char body[256];
    for (unsigned i = 0; i < 3000; i++) {
        size_t len = i % sizeof body;
        test_fill_random(body, len, i);
        if (i % 3 == 0 && len > 2) {    /* mostly-JSON noise too */
            body[0] = '{';
            for (size_t j = 1; j < len; j++)
                body[j] = "{}[]\":,\\ntrue01"[(unsigned char)body[j] % 16];
        }
        char *out = NULL;
        int status = 0;
        int rc = admin_handle(&(admin_env){.engine = e, .jobs = jobs}, "POST", paths[i % 2],
                              NULL, body, len, &status, &out);
        json_t *doc = rc == 0 ? json_loads(out, 0, NULL) : NULL;
        if (rc != 0 || status != 400 || !json_is_object(doc)) {
            fprintf(stderr, "  random body %u: rc %d status %d\n", i, rc, status);
            test_current_failed = 1;
        }
        json_decref(doc);
        free(out);
    }
    close_engine(e);
}

static mode_t file_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_mode & 0777 : 0;
}

/* Start the embedded default once: config, st_open, finish. */
static bool embedded_start(const char *var, coffer_config *cfg, st_engine **e)
{
    cf_err err;
    *e = NULL;
    if (config_embedded_default(var, cfg, &err) < 0 ||
        st_open(&cfg->storage, e, &err) < 0 ||
        config_embedded_finish(*e, cfg, &err) < 0) {
        fprintf(stderr, "  embedded start: %s\n", err.msg);
        if (*e)
            st_close(*e);
        config_free(cfg);
        return false;
    }
    return true;
}

static void embedded_finish_creates_then_reuses_dev(void)
{
    char var[700], path[800], key[800];
    snprintf(var, sizeof var, "%s/var", test_tmpdir());
    snprintf(path, sizeof path, "%s/dev-credentials", var);
    snprintf(key, sizeof key, "%s/master.key", var);
    coffer_config cfg;
    st_engine *e;
    REQUIRE(embedded_start(var, &cfg, &e));
    CHECK(cfg.new_master_key);
    CHECK_EQ_INT(file_mode(key), 0600);
    CHECK_EQ_INT(file_mode(path), 0600);
    char admin_path[800], admin_ak[ST_ACCESS_KEY_MAX], admin_sk[ST_SECRET_KEY_MAX];
    snprintf(admin_path, sizeof admin_path, "%s/admin-credentials", var);
    CHECK_EQ_INT(file_mode(admin_path), 0600);      /* written once the engine opened */
    char token_path[800];
    snprintf(token_path, sizeof token_path, "%s/metrics-token", var);
    CHECK_EQ_INT(file_mode(token_path), 0600);      /* so is the metrics token */
    snprintf(admin_ak, sizeof admin_ak, "%s", cfg.admin_access_key);
    snprintf(admin_sk, sizeof admin_sk, "%s", cfg.admin_secret_key);
    char ak[ST_ACCESS_KEY_MAX], sk[ST_SECRET_KEY_MAX], secret[ST_SECRET_KEY_MAX];
    st_key_info info;
    cf_err err;
    REQUIRE(credfile_read(path, ak, sk, &err) == 0);
    REQUIRE(st_key_lookup(e, ak, &info, secret, &err) == 0);
    CHECK_EQ_STR(info.tenant, CONFIG_EMBEDDED_TENANT);
    CHECK_EQ_STR(secret, sk);
    st_key_info_clear(&info);
    st_close(e);
    config_free(&cfg);

    /* second start: same keys, no new master key */
    REQUIRE(embedded_start(var, &cfg, &e));
    CHECK(!cfg.new_master_key);
    CHECK(!cfg.new_admin_credential);
    CHECK_EQ_STR(cfg.admin_access_key, admin_ak);
    CHECK_EQ_STR(cfg.admin_secret_key, admin_sk);
    char ak2[ST_ACCESS_KEY_MAX], sk2[ST_SECRET_KEY_MAX];
    REQUIRE(credfile_read(path, ak2, sk2, &err) == 0);
    CHECK_EQ_STR(ak2, ak);
    CHECK_EQ_STR(sk2, sk);
    /* a revoked dev key is replaced on the next start */
    REQUIRE(st_key_revoke(e, ak, &err) == 0);
    st_close(e);
    config_free(&cfg);
    REQUIRE(embedded_start(var, &cfg, &e));
    REQUIRE(credfile_read(path, ak2, sk2, &err) == 0);
    CHECK(strcmp(ak2, ak) != 0);
    CHECK_EQ_INT(st_key_lookup(e, ak2, &info, secret, &err), 0);
    st_key_info_clear(&info);
    st_close(e);
    config_free(&cfg);
}

TEST_MAIN("admin",
          T(tenants_lifecycle),
          T(keys_lifecycle),
          T(key_cache_follows_every_write),
          T(status_reports_layout_and_counts),
          T(usage_and_disks),
          T(heal_and_gc_run_on_demand),
          T(jobs_are_listed_and_run_on_demand),
          T(unknown_routes_and_methods),
          T(hostile_bodies_get_400),
          T(random_bodies_never_crash),
          T(embedded_finish_creates_then_reuses_dev))
