/* tests/unit/test_router.c - request placement: decoding, naming rules,
 * path and virtual-host style, operation choice and refusals. */
#include "common/names.h"
#include "common/utf8.h"
#include "common/names.h"
#include "server/router.h"
#include "tests/unit/test.h"

static coffer_config cfg;
static server srv = {.cfg = &cfg};

/* A request as http.c would hand it to the router. */
static s3_req *req(const char *method, const char *uri, const char *host)
{
    pool *p = pool_new();
    s3_req *r = pool_alloc(p, sizeof(*r));
    r->pool = p;
    r->srv = &srv;
    r->method = method;
    r->raw_uri = pool_strdup(p, uri);
    r->hdrs = pool_alloc(p, 2 * sizeof(*r->hdrs));
    r->hdrs[0].name = "host";
    r->hdrs[0].value = (char *)host;
    r->nhdrs = 1;
    sbuf_init(&r->resp, 0);
    return r;
}

static void done(s3_req *r)
{
    sbuf_free(&r->resp);
    pool_free(r->pool);
}

static void decode_rules(void)
{
    pool *p = pool_new();
    CHECK_EQ_STR(url_decode(p, "a%20b%2Fc", 9, false), "a b/c");
    CHECK_EQ_STR(url_decode(p, "a+b", 3, false), "a+b");
    CHECK_EQ_STR(url_decode(p, "a+b", 3, true), "a b");
    CHECK(url_decode(p, "%zz", 3, false) == NULL);
    CHECK(url_decode(p, "ab%2", 4, false) == NULL);
    CHECK(url_decode(p, "a%00b", 5, false) == NULL);
    pool_free(p);
}

static void utf8_rules(void)
{
    CHECK(utf8_valid("plain", 5));
    CHECK(utf8_valid("\xc3\xbc\xe6\x97\xa5\xf0\x9f\x98\x80", 9));
    CHECK(!utf8_valid("\xff", 1));
    CHECK(!utf8_valid("\xc0\xaf", 2));          /* overlong '/' */
    CHECK(!utf8_valid("\xed\xa0\x80", 3));      /* surrogate */
    CHECK(!utf8_valid("\xe6\x97", 2));          /* truncated */
}

static void bucket_names(void)
{
    CHECK(names_bucket_ok("abc"));
    CHECK(names_bucket_ok("my.bucket-1"));
    CHECK(!names_bucket_ok("ab"));
    CHECK(!names_bucket_ok("Abc"));
    CHECK(!names_bucket_ok("a_b"));
    CHECK(!names_bucket_ok("a..b"));
    CHECK(!names_bucket_ok("a.-b"));
    CHECK(!names_bucket_ok("-ab"));
    CHECK(!names_bucket_ok("ab-"));
    CHECK(!names_bucket_ok("10.0.0.1"));
    CHECK(!names_bucket_ok("xn--abc"));
    CHECK(!names_bucket_ok("abc-s3alias"));
    char long_name[65];
    memset(long_name, 'a', 64);
    long_name[64] = 0;
    CHECK(!names_bucket_ok(long_name));
    long_name[63] = 0;
    CHECK(names_bucket_ok(long_name));
}

static void path_style(void)
{
    s3_req *r = req("GET", "/bkt/dir/a%20b//c?prefix=x%2By&delimiter=%2F", "h:1");
    CHECK_EQ_INT(router_route(r), 0);
    CHECK_EQ_STR(r->bucket, "bkt");
    CHECK_EQ_STR(r->key, "dir/a b//c");
    CHECK(r->s3op == S3OP_GET_OBJECT);
    CHECK_EQ_STR(req_param(r, "prefix"), "x+y");
    CHECK_EQ_STR(r->raw_path, "/bkt/dir/a%20b//c");
    done(r);
    r = req("GET", "/bkt?list-type=2", "h");
    CHECK_EQ_INT(router_route(r), 0);
    CHECK(r->s3op == S3OP_LIST_OBJECTS_V2 && r->key == NULL);
    done(r);
    r = req("GET", "/bkt/", "h");
    CHECK_EQ_INT(router_route(r), 0);
    CHECK(r->s3op == S3OP_LIST_OBJECTS_V1);
    done(r);
    r = req("GET", "/", "h");
    CHECK_EQ_INT(router_route(r), 0);
    CHECK(r->s3op == S3OP_LIST_BUCKETS);
    done(r);
}

static void virtual_host_style(void)
{
    cfg.vhost_domain = "s3.example.com";
    s3_req *r = req("PUT", "/k/x", "bkt.s3.example.com:9000");
    CHECK_EQ_INT(router_route(r), 0);
    CHECK(r->vhost);
    CHECK_EQ_STR(r->bucket, "bkt");
    CHECK_EQ_STR(r->key, "k/x");
    CHECK(r->s3op == S3OP_PUT_OBJECT);
    done(r);
    r = req("GET", "/", "BKT.S3.Example.COM");
    CHECK_EQ_INT(router_route(r), 0);
    CHECK_EQ_STR(r->bucket, "bkt");
    CHECK(r->s3op == S3OP_LIST_OBJECTS_V1);
    done(r);
    r = req("GET", "/bkt", "s3.example.com");
    CHECK_EQ_INT(router_route(r), 0);
    CHECK(!r->vhost);
    CHECK_EQ_STR(r->bucket, "bkt");
    done(r);
    cfg.vhost_domain = NULL;
}

static void operation_choice(void)
{
    static const struct {
        const char *method, *uri;
        s3_op_id op;
    } cases[] = {
        {"GET", "/b1b?location", S3OP_GET_BUCKET_LOCATION},
        {"GET", "/b1b?versioning", S3OP_GET_BUCKET_VERSIONING},
        {"GET", "/b1b?versions&prefix=a", S3OP_LIST_OBJECT_VERSIONS},
        {"GET", "/b1b?uploads", S3OP_LIST_UPLOADS},
        {"POST", "/b1b?delete", S3OP_DELETE_OBJECTS},
        {"HEAD", "/b1b", S3OP_HEAD_BUCKET},
        {"PUT", "/b1b", S3OP_CREATE_BUCKET},
        {"DELETE", "/b1b", S3OP_DELETE_BUCKET},
        {"POST", "/b1b/k?uploads", S3OP_CREATE_UPLOAD},
        {"PUT", "/b1b/k?partNumber=1&uploadId=u", S3OP_UPLOAD_PART},
        {"POST", "/b1b/k?uploadId=u", S3OP_COMPLETE_UPLOAD},
        {"DELETE", "/b1b/k?uploadId=u", S3OP_ABORT_UPLOAD},
        {"GET", "/b1b/k?uploadId=u", S3OP_LIST_PARTS},
        {"GET", "/b1b/k?response-content-type=a&X-Amz-Signature=s", S3OP_GET_OBJECT},
        {"DELETE", "/b1b/k", S3OP_DELETE_OBJECT},
        {"HEAD", "/b1b/k", S3OP_HEAD_OBJECT},
        {"PUT", "/b1b?lifecycle", S3OP_PUT_BUCKET_LIFECYCLE},
        {"GET", "/b1b?lifecycle", S3OP_GET_BUCKET_LIFECYCLE},
        {"DELETE", "/b1b?lifecycle", S3OP_DELETE_BUCKET_LIFECYCLE},
        {"PUT", "/b1b/k?tagging", S3OP_PUT_OBJECT_TAGGING},
        {"GET", "/b1b/k?tagging&versionId=null", S3OP_GET_OBJECT_TAGGING},
        {"DELETE", "/b1b/k?tagging", S3OP_DELETE_OBJECT_TAGGING},
        {"POST", "/b1b/k?restore", S3OP_RESTORE_OBJECT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s3_req *r = req(cases[i].method, cases[i].uri, "h");
        CHECK_EQ_INT(router_route(r), 0);
        if (r->s3op != cases[i].op)
            fprintf(stderr, "case %s %s chose operation %d\n", cases[i].method,
                    cases[i].uri, (int)r->s3op);
        CHECK(r->s3op == cases[i].op);
        done(r);
    }
}

static void refusals(void)
{
    static const struct {
        const char *method, *uri;
        s3_error e;
    } cases[] = {
        {"GET", "/b1b?policy", S3E_NotImplemented},
        {"PUT", "/b1b?acl", S3E_NotImplemented},
        {"PUT", "/b1b?website", S3E_NotImplemented},
        {"POST", "/b1b/k?retention", S3E_NotImplemented},
        {"POST", "/b1b?lifecycle", S3E_NotImplemented},
        {"POST", "/b1b/k?tagging", S3E_NotImplemented},
        {"PATCH", "/b1b/k", S3E_MethodNotAllowed},
        {"POST", "/b1b/k", S3E_MethodNotAllowed},
        {"GET", "/BAD/k", S3E_InvalidBucketName},
        {"GET", "/b1b/%ff", S3E_InvalidArgument},
        {"GET", "/b1b/a%00b", S3E_InvalidArgument},
        {"GET", "/b1b?prefix=%zz", S3E_InvalidArgument},
        {"GET", "*", S3E_InvalidArgument},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s3_req *r = req(cases[i].method, cases[i].uri, "h");
        CHECK_EQ_INT(router_route(r), -1);
        CHECK(r->is_error && r->error == cases[i].e);
        done(r);
    }
    char uri[1100] = "/b1b/";
    memset(uri + 5, 'k', 1025);
    uri[1030] = 0;
    s3_req *r = req("GET", uri, "h");
    CHECK_EQ_INT(router_route(r), -1);
    CHECK(r->error == S3E_KeyTooLongError);
    done(r);
}

static void admin_paths(void)
{
    s3_req *r = req("GET", "/admin/v1/status", "h");
    CHECK_EQ_INT(router_route(r), 0);
    CHECK(r->admin && r->op == NULL);
    done(r);
}

TEST_MAIN("router",
          T(decode_rules),
          T(utf8_rules),
          T(bucket_names),
          T(path_style),
          T(virtual_host_style),
          T(operation_choice),
          T(refusals),
          T(admin_paths))
