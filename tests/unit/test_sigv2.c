/*
 * tests/unit/test_sigv2.c - SigV2 signing and verification: the S3
 * documentation's GET example, botocore-generated vectors (header auth with
 * sub-resources and x-amz-meta headers, a bucket ACL read, an aws-cli-v1
 * style presigned URL), and hostile input.
 */
#include "auth/internal.h"
#include "auth/sigv2.h"
#include "tests/unit/test.h"
#include "tests/unit/vectors.h"

#define DOC_KEY "AKIAIOSFODNN7EXAMPLE"
#define DOC_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define VECTOR_TIME 1440938160      /* Sun, 30 Aug 2015 12:36:00 GMT */

/* GET /photos/puppy.jpg on the virtual-hosted bucket johnsmith. */
static void documented_get_object(void)
{
    auth_pair h[3] = {{"host", "johnsmith.s3.amazonaws.com"},
                      {"date", "Tue, 27 Mar 2007 19:36:42 +0000"}};
    auth_request req = {"GET", "/photos/puppy.jpg", NULL, NULL, 0, h, 2};
    char *sts = NULL;
    CHECK_EQ_INT(sigv2_string_to_sign(&req, "johnsmith", 0, &sts, NULL), 0);
    CHECK_EQ_STR(sts, "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg");
    free(sts);
    char authz[128];
    CHECK_EQ_INT(sigv2_sign(&req, "johnsmith", DOC_KEY, DOC_SECRET, authz, sizeof authz, NULL), 0);
    CHECK_EQ_STR(authz, "AWS " DOC_KEY ":bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
    h[2] = (auth_pair){"authorization", authz};
    req.nheaders = 3;
    sigv2_auth a;
    auth_err err;
    time_t t;
    auth_parse_http_date(h[1].value, &t);
    CHECK_EQ_INT(sigv2_parse(&req, &a, &err), 0);
    CHECK_EQ_STR(a.access_key, DOC_KEY);
    CHECK_EQ_INT(sigv2_check(&req, &a, "johnsmith", DOC_SECRET, t, &err), 0);
    CHECK_EQ_INT(sigv2_check(&req, &a, NULL, DOC_SECRET, t, &err), -1);
    CHECK_EQ_INT(err.code, AUTH_SIGNATURE_DOES_NOT_MATCH);
}

static void botocore_header_vectors_sign_and_verify(void)
{
    /* Each vector, a query with other sub-resources (must fail) and one
     * with the same sub-resources plus an ordinary parameter (must pass). */
    static const struct { const char *name, *changed, *extended; } cases[] = {
        {"botocore-put-part", "uploadId=abc&partNumber=4", "partNumber=3&x-id=UploadPart&uploadId=abc"},
        {"botocore-get-acl", "acl&versionId=1", "prefix=x&acl"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        vector v;
        REQUIRE(vector_load(&v, "sigv2", cases[i].name) == 0);
        char authz[128];
        CHECK_EQ_INT(sigv2_sign(&v.req, NULL, DOC_KEY, DOC_SECRET, authz, sizeof authz, NULL), 0);
        CHECK_EQ_STR(authz, v.expected);
        vector_add_header(&v, "authorization", v.expected);
        sigv2_auth a;
        auth_err err;
        CHECK_EQ_INT(sigv2_parse(&v.req, &a, &err), 0);
        CHECK_EQ_INT(sigv2_check(&v.req, &a, NULL, DOC_SECRET, VECTOR_TIME + 5, &err), 0);
        CHECK_EQ_INT(sigv2_check(&v.req, &a, NULL, "bad", VECTOR_TIME, &err), -1);
        CHECK_EQ_INT(err.code, AUTH_SIGNATURE_DOES_NOT_MATCH);
        v.req.query = cases[i].changed;
        CHECK_EQ_INT(sigv2_check(&v.req, &a, NULL, DOC_SECRET, VECTOR_TIME, &err), -1);
        v.req.query = cases[i].extended;
        CHECK_EQ_INT(sigv2_check(&v.req, &a, NULL, DOC_SECRET, VECTOR_TIME, &err), 0);
        vector_free(&v);
    }
}

static void botocore_presigned_url_verifies_and_expires(void)
{
    vector v;
    REQUIRE(vector_load(&v, "sigv2", "botocore-presign") == 0);
    sigv2_auth a;
    auth_err err;
    CHECK_EQ_INT(sigv2_parse(&v.req, &a, &err), 0);
    CHECK(a.presigned);
    time_t expires = 1440941760;
    CHECK_EQ_INT(sigv2_check(&v.req, &a, NULL, DOC_SECRET, expires - 3600, &err), 0);
    CHECK_EQ_INT(sigv2_check(&v.req, &a, NULL, DOC_SECRET, expires + 1, &err), -1);
    CHECK_EQ_INT(err.code, AUTH_ACCESS_DENIED);
    CHECK_EQ_STR(err.msg, "Request has expired");
    CHECK_EQ_INT(sigv2_check(&v.req, &a, NULL, DOC_SECRET, expires - 604801, &err), -1);
    CHECK_EQ_INT(err.code, AUTH_QUERY_PARAMETERS_ERROR);
    v.req.path = "/bucket/other.txt";
    CHECK_EQ_INT(sigv2_check(&v.req, &a, NULL, DOC_SECRET, expires - 10, &err), -1);
    CHECK_EQ_INT(err.code, AUTH_SIGNATURE_DOES_NOT_MATCH);
    /* Our presigner produces botocore's URL. */
    v.req.path = "/bucket/my%20key.txt";
    v.req.query = "response-content-disposition=attachment";
    char *query = NULL;
    CHECK_EQ_INT(sigv2_presign(&v.req, NULL, DOC_KEY, DOC_SECRET, expires, &query, NULL), 0);
    CHECK_EQ_STR(query, strchr(v.expected, '?') + 1);
    free(query);
    vector_free(&v);
}

/* A form decoder (libmicrohttpd) turns the signature's '+' into ' '. */
static void decoded_params_with_plus_as_space_verify(void)
{
    auth_pair h = {"host", "127.0.0.1:9000"};
    auth_request req = {"GET", "/b/k", NULL, NULL, 0, &h, 1};
    char *query = NULL;
    int64_t expires = 0;
    char sig[64] = "";
    for (int64_t e = 2000000000; e < 2000000100 && !strchr(sig, '+'); e++) {
        free(query);
        REQUIRE(sigv2_presign(&req, NULL, "AK", "secret", e, &query, NULL) == 0);
        auth_query q;
        auth_request parsed = req;
        parsed.query = query;
        REQUIRE(auth_query_load(&parsed, &q, NULL) == 0);
        snprintf(sig, sizeof sig, "%s", auth_query_get(&q, "Signature", NULL));
        auth_query_free(&q);
        expires = e;
    }
    free(query);
    REQUIRE(strchr(sig, '+') != NULL);
    for (char *p = sig; *p; p++) if (*p == '+') *p = ' ';
    char exp_text[24];
    snprintf(exp_text, sizeof exp_text, "%lld", (long long)expires);
    auth_pair params[] = {{"AWSAccessKeyId", "AK"}, {"Signature", sig}, {"Expires", exp_text}};
    req.params = params;
    req.nparams = 3;
    sigv2_auth a;
    auth_err err;
    CHECK_EQ_INT(sigv2_parse(&req, &a, &err), 0);
    CHECK_EQ_INT(sigv2_check(&req, &a, NULL, "secret", expires - 60, &err), 0);
}

/* Also: x-amz-* names are lowercased and merged whatever their case. */
static void x_amz_date_replaces_the_date_line(void)
{
    auth_pair h[] = {{"host", "h"}, {"x-amz-date", "Sun, 30 Aug 2015 12:36:00 GMT"},
                     {"date", "ignored"}, {"content-type", " text/plain "},
                     {"X-Amz-Meta-A", "1"}, {"x-amz-meta-a", " 2 "}};
    auth_request req = {"PUT", "/b/k", NULL, NULL, 0, h, 6};
    char *sts = NULL;
    CHECK_EQ_INT(sigv2_string_to_sign(&req, NULL, 0, &sts, NULL), 0);
    CHECK_EQ_STR(sts, "PUT\n\ntext/plain\n\nx-amz-date:Sun, 30 Aug 2015 12:36:00 GMT\n"
                      "x-amz-meta-a:1,2\n/b/k");
    free(sts);
}

typedef struct bad_case {
    const char *authz;
    const char *date;
    const char *query;
    auth_code want;
} bad_case;

#define SIG "bWq2s1WEIj+Ydj0vQ697zp+IXMU="
#define GOOD_DATE "Sun, 30 Aug 2015 12:36:00 GMT"

static const bad_case bad_cases[] = {
    {"AWS", GOOD_DATE, NULL, AUTH_INVALID_ARGUMENT},
    {"AWS AKID", GOOD_DATE, NULL, AUTH_INVALID_ARGUMENT},
    {"AWS :" SIG, GOOD_DATE, NULL, AUTH_INVALID_ARGUMENT},
    {"AWS AKID:", GOOD_DATE, NULL, AUTH_INVALID_ARGUMENT},
    {"AWS AKID:bWq2s1WEIj", GOOD_DATE, NULL, AUTH_INVALID_ARGUMENT},
    {"AWS AKID:bWq2s1WEIj*Ydj0vQ697zp+IXMU=", GOOD_DATE, NULL, AUTH_INVALID_ARGUMENT},
    {"AWS AKID:bWq2s1WEIj+Ydj0vQ697zp+IXMUx", GOOD_DATE, NULL, AUTH_INVALID_ARGUMENT},
    {"AWS AKID:" SIG "==", GOOD_DATE, NULL, AUTH_INVALID_ARGUMENT},
    {"AWS AKID:" SIG, NULL, NULL, AUTH_ACCESS_DENIED},
    {"AWS AKID:" SIG, "yesterday", NULL, AUTH_ACCESS_DENIED},
    {"AWS AKID:" SIG, "Sun, 30 Aug 2015 12:36:00 CEST", NULL, AUTH_ACCESS_DENIED},
    {NULL, NULL, "AWSAccessKeyId=AK&Expires=1", AUTH_ACCESS_DENIED},
    {NULL, NULL, "AWSAccessKeyId=AK&Signature=" SIG, AUTH_ACCESS_DENIED},
    {NULL, NULL, "AWSAccessKeyId=AK&Signature=" SIG "&Signature=" SIG "&Expires=1", AUTH_QUERY_PARAMETERS_ERROR},
    {NULL, NULL, "AWSAccessKeyId=AK&Signature=" SIG "&Expires=soon", AUTH_QUERY_PARAMETERS_ERROR},
    {NULL, NULL, "AWSAccessKeyId=AK&Signature=" SIG "&Expires=", AUTH_QUERY_PARAMETERS_ERROR},
    {NULL, NULL, "AWSAccessKeyId=AK&Signature=" SIG "&Expires=99999999999999999", AUTH_QUERY_PARAMETERS_ERROR},
    {NULL, NULL, "AWSAccessKeyId=&Signature=" SIG "&Expires=1", AUTH_QUERY_PARAMETERS_ERROR},
    {NULL, NULL, "AWSAccessKeyId=AK&Signature=%00&Expires=1", AUTH_INVALID_ARGUMENT},
};

static void hostile_input_is_refused_with_its_s3_code(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        const bad_case *c = &bad_cases[i];
        auth_pair h[3] = {{"host", "h"}};
        size_t n = 1;
        if (c->authz) h[n++] = (auth_pair){"authorization", c->authz};
        if (c->date) h[n++] = (auth_pair){"date", c->date};
        auth_request req = {"GET", "/", c->query, NULL, 0, h, n};
        sigv2_auth a;
        auth_err err = {0};
        int rc = sigv2_parse(&req, &a, &err);
        if (rc == 0 || err.code != c->want)
            fprintf(stderr, "bad case %zu: rc %d %s (%s)\n", i, rc,
                    auth_code_s3_name(err.code), err.msg);
        CHECK_EQ_INT(rc, -1);
        CHECK_EQ_INT(err.code, c->want);
    }
}

static void clock_skew_over_15_minutes_is_refused(void)
{
    vector v;
    REQUIRE(vector_load(&v, "sigv2", "botocore-get-acl") == 0);
    vector_add_header(&v, "authorization", v.expected);
    sigv2_auth a;
    auth_err err;
    REQUIRE(sigv2_parse(&v.req, &a, &err) == 0);
    CHECK_EQ_INT(sigv2_check(&v.req, &a, NULL, DOC_SECRET, VECTOR_TIME + 900, &err), 0);
    CHECK_EQ_INT(sigv2_check(&v.req, &a, NULL, DOC_SECRET, VECTOR_TIME + 901, &err), -1);
    CHECK_EQ_INT(err.code, AUTH_REQUEST_TIME_TOO_SKEWED);
    CHECK_EQ_INT(sigv2_check(&v.req, &a, NULL, DOC_SECRET, VECTOR_TIME - 901, &err), -1);
    CHECK_EQ_INT(err.code, AUTH_REQUEST_TIME_TOO_SKEWED);
    vector_free(&v);
}

TEST_MAIN("sigv2",
          T(documented_get_object),
          T(botocore_header_vectors_sign_and_verify),
          T(botocore_presigned_url_verifies_and_expires),
          T(decoded_params_with_plus_as_space_verify),
          T(x_amz_date_replaces_the_date_line),
          T(hostile_input_is_refused_with_its_s3_code),
          T(clock_skew_over_15_minutes_is_refused))
