/*
 * tests/unit/test_lcxml.c - lifecycle configurations, tag sets and restore
 * requests (server/lcxml.c): what clients send, each S3 validation error
 * with the code S3 gives and a message naming the rule, the hostile
 * documents of issue 10 (deep nesting, huge documents, bad dates, 1,001
 * rules, duplicate IDs), and the rules model the worker evaluates.
 */
#include "server/lcxml.h"
#include "tests/unit/test.h"

#include <stdint.h>

#define NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

/* The document the last lc() parsed: cfg's strings point into it until
 * the next call (or lc_done). */
static xmlread_doc *last_doc;

static void lc_done(void)
{
    xmlread_free(last_doc);
    last_doc = NULL;
}

/* Parse; 0 and the config, or -1 with the error in *e. */
static int lc(const char *doc, size_t len, pool *p, lcxml_config *cfg, lcxml_err *e)
{
    lc_done();
    return lcxml_lifecycle_parse(doc, len, p, &last_doc, cfg, e);
}

static int lcs(const char *doc, pool *p, lcxml_config *cfg, lcxml_err *e)
{
    return lc(doc, strlen(doc), p, cfg, e);
}

/* The document must be refused with code, its message holding needle. */
static void refused(const char *doc, lcxml_code code, const char *needle)
{
    pool *p = pool_new();
    lcxml_config cfg;
    lcxml_err e = {0};
    int rc = lcs(doc, p, &cfg, &e);
    if (rc == 0 || e.code != code || (needle && !strstr(e.msg, needle))) {
        fprintf(stderr, "  refused(): rc %d code %d (want %d) msg \"%s\" (want \"%s\")\n"
                "  for %s\n", rc, (int)e.code, (int)code, e.msg, needle ? needle : "",
                doc);
        test_current_failed = 1;
    }
    lc_done();
    pool_free(p);
}

static void what_clients_send(void)
{
    pool *p = pool_new();
    lcxml_config cfg;
    lcxml_err e;
    /* boto3's shape, with the namespace */
    REQUIRE(lcs("<?xml version=\"1.0\" encoding=\"UTF-8\"?><LifecycleConfiguration " NS ">"
                "<Rule><ID>restic-data</ID><Filter><Prefix>data/</Prefix></Filter>"
                "<Status>Enabled</Status><Transition><Days>30</Days>"
                "<StorageClass>COLD</StorageClass></Transition></Rule>"
                "<Rule><ID>old</ID><Filter><And><Prefix>logs/</Prefix><Tag><Key>k</Key>"
                "<Value>v</Value></Tag><Tag><Key>k2</Key><Value></Value></Tag>"
                "<ObjectSizeGreaterThan>1024</ObjectSizeGreaterThan>"
                "<ObjectSizeLessThan>1048576</ObjectSizeLessThan></And></Filter>"
                "<Status>Disabled</Status><Expiration><Date>2030-01-01T00:00:00.000Z</Date>"
                "</Expiration></Rule>"
                "<Rule><Prefix>tmp/</Prefix><Status>Enabled</Status>"
                "<AbortIncompleteMultipartUpload><DaysAfterInitiation>7"
                "</DaysAfterInitiation></AbortIncompleteMultipartUpload>"
                "<Expiration><Days>3</Days></Expiration></Rule>"
                "</LifecycleConfiguration>", p, &cfg, &e) == 0);
    REQUIRE(cfg.nrules == 3);
    const lcxml_rule *r = &cfg.rules[0];
    CHECK_EQ_STR(r->id, "restic-data");
    CHECK(r->enabled);
    CHECK_EQ_STR(r->filter.prefix, "data/");
    REQUIRE(r->ntransitions == 1);
    CHECK_EQ_STR(r->transitions[0].storage_class, "COLD");
    CHECK_EQ_INT(r->transitions[0].when.days, 30);
    r = &cfg.rules[1];
    CHECK(!r->enabled);
    CHECK_EQ_STR(r->filter.prefix, "logs/");
    CHECK_EQ_INT(r->filter.ntags, 2);
    CHECK_EQ_STR(r->filter.tags[1].name, "k2");
    CHECK_EQ_STR(r->filter.tags[1].value, "");
    CHECK(r->filter.has_gt && r->filter.size_gt == 1024);
    CHECK(r->filter.has_lt && r->filter.size_lt == 1048576);
    CHECK(r->expiration.by_date && r->expiration.date_s == 1893456000);
    r = &cfg.rules[2];
    CHECK_EQ_STR(r->id, "");
    CHECK_EQ_STR(r->name, "#3");
    CHECK_EQ_STR(r->filter.prefix, "tmp/");
    CHECK_EQ_INT(r->abort_days, 7);
    CHECK_EQ_INT(r->expiration.days, 3);
    /* without the namespace; an empty filter selects everything; dates
     * without a time, with +00:00 */
    REQUIRE(lcs("<LifecycleConfiguration><Rule><Filter></Filter><Status>Enabled</Status>"
                "<Transition><Date>2031-06-01</Date><StorageClass>A</StorageClass>"
                "</Transition><Transition><Date>2032-06-01T00:00:00+00:00</Date>"
                "<StorageClass>B</StorageClass></Transition></Rule>"
                "</LifecycleConfiguration>", p, &cfg, &e) == 0);
    CHECK_EQ_STR(cfg.rules[0].filter.prefix, "");
    CHECK_EQ_INT(cfg.rules[0].ntransitions, 2);
    REQUIRE(lcs("<LifecycleConfiguration><Rule><Filter/><Status>Enabled</Status>"
                "<Transition><Days>0</Days><StorageClass>COLD</StorageClass></Transition>"
                "</Rule></LifecycleConfiguration>", p, &cfg, &e) == 0);
    CHECK_EQ_INT(cfg.rules[0].transitions[0].when.days, 0);
    lc_done();
    pool_free(p);
}

#define RULE(body) "<LifecycleConfiguration><Rule><ID>r1</ID>" body "</Rule>" \
                   "</LifecycleConfiguration>"
#define F "<Filter><Prefix>a/</Prefix></Filter><Status>Enabled</Status>"

static void s3_errors(void)
{
    refused(RULE(F), LCXML_INVALID_REQUEST, "Rule 'r1': At least one action");
    refused(RULE("<Filter/><Expiration><Days>1</Days></Expiration>"), LCXML_MALFORMED,
            "Status");
    refused(RULE("<Filter/><Status>On</Status><Expiration><Days>1</Days></Expiration>"),
            LCXML_MALFORMED, "Rule 'r1'");
    refused(RULE("<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"),
            LCXML_MALFORMED, "Filter");
    refused(RULE("<Prefix>x</Prefix>" F "<Expiration><Days>1</Days></Expiration>"),
            LCXML_MALFORMED, "Prefix and Filter");
    refused(RULE(F "<Expiration><Days>0</Days></Expiration>"), LCXML_INVALID_ARGUMENT,
            "'Days' for Expiration action must be a positive integer");
    refused(RULE(F "<Expiration><Days>-1</Days></Expiration>"), LCXML_INVALID_ARGUMENT,
            "Rule 'r1'");
    refused(RULE(F "<Expiration><Days>1</Days><Date>2030-01-01</Date></Expiration>"),
            LCXML_MALFORMED, "not both");
    refused(RULE(F "<Expiration></Expiration>"), LCXML_MALFORMED, "Expiration takes");
    refused(RULE(F "<Transition><Days>1</Days></Transition>"), LCXML_MALFORMED,
            "StorageClass");
    refused(RULE(F "<Transition><StorageClass>C</StorageClass></Transition>"),
            LCXML_MALFORMED, "Days or Date");
    refused(RULE(F "<Transition><Days>1</Days><StorageClass>C</StorageClass></Transition>"
                   "<Transition><Days>2</Days><StorageClass>C</StorageClass></Transition>"),
            LCXML_INVALID_ARGUMENT, "must be different");
    refused(RULE(F "<Transition><Days>1</Days><StorageClass>C</StorageClass></Transition>"
                   "<Transition><Date>2030-01-01</Date><StorageClass>D</StorageClass>"
                   "</Transition>"), LCXML_INVALID_REQUEST, "mixed");
    refused(RULE(F "<Transition><Days>9</Days><StorageClass>C</StorageClass></Transition>"
                   "<Expiration><Days>5</Days></Expiration>"), LCXML_INVALID_ARGUMENT,
            "Expiration");
    refused(RULE("<Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key>"
                 "<Value>2</Value></Tag></And></Filter><Status>Enabled</Status>"
                 "<Expiration><Days>1</Days></Expiration>"), LCXML_INVALID_REQUEST,
            "Duplicate Tag Keys");
    refused(RULE("<Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan>"
                 "<ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter>"
                 "<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"),
            LCXML_INVALID_REQUEST, "ObjectSizeGreaterThan must be less");
    refused(RULE("<Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag>"
                 "</Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"),
            LCXML_MALFORMED, "Filter holds one of");
    refused(RULE("<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>"
                 "<Status>Enabled</Status><AbortIncompleteMultipartUpload>"
                 "<DaysAfterInitiation>1</DaysAfterInitiation>"
                 "</AbortIncompleteMultipartUpload>"), LCXML_INVALID_REQUEST,
            "cannot be specified with Tags");
    refused(RULE(F "<AbortIncompleteMultipartUpload><DaysAfterInitiation>0"
                   "</DaysAfterInitiation></AbortIncompleteMultipartUpload>"),
            LCXML_INVALID_ARGUMENT, "DaysAfterInitiation");
    refused(RULE(F "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
                   "</NoncurrentVersionExpiration>"), LCXML_NOT_IMPLEMENTED,
            "NoncurrentVersionExpiration");
    refused(RULE(F "<Expiration><Days>1</Days></Expiration><Bogus/>"), LCXML_MALFORMED,
            "Bogus");
    refused("<LifecycleConfiguration><Rule><ID>same</ID>" F "<Expiration><Days>1</Days>"
            "</Expiration></Rule><Rule><ID>same</ID>" F "<Expiration><Days>2</Days>"
            "</Expiration></Rule></LifecycleConfiguration>", LCXML_INVALID_ARGUMENT,
            "Rule ID must be unique");
    refused("<LifecycleConfiguration></LifecycleConfiguration>", LCXML_MALFORMED,
            "at least one Rule");
    refused("<Lifecycle><Rule/></Lifecycle>", LCXML_MALFORMED, NULL);
    /* rules without an ID are named by their position */
    refused("<LifecycleConfiguration><Rule>" F "<Expiration><Days>1</Days></Expiration>"
            "</Rule><Rule>" F "</Rule></LifecycleConfiguration>", LCXML_INVALID_REQUEST,
            "Rule #2");
    char id[300];
    memset(id, 'i', 256);
    id[256] = '\0';
    char doc[1024];
    snprintf(doc, sizeof doc, "<LifecycleConfiguration><Rule><ID>%s</ID>" F
             "<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>", id);
    refused(doc, LCXML_INVALID_ARGUMENT, "ID length");
}

static void bad_dates(void)
{
    static const char *const bad[] = {
        "2030-13-01", "2030-02-30", "2030-1-01", "30-01-01", "2030-01-01T00:00:00",
        "2030-01-01T00:00Z", "2030-01-01T00:00:00+01:00", "2030-01-01 00:00:00Z",
        "tomorrow", "", "1969-12-31", "2030-01-01T00:00:00.Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char doc[512];
        snprintf(doc, sizeof doc, RULE(F "<Expiration><Date>%s</Date></Expiration>"), bad[i]);
        refused(doc, LCXML_MALFORMED, "ISO 8601");
    }
    refused(RULE(F "<Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration>"),
            LCXML_INVALID_ARGUMENT, "midnight");
    refused(RULE(F "<Expiration><Date>2030-01-01T00:00:00.001Z</Date></Expiration>"),
            LCXML_INVALID_ARGUMENT, "midnight");
}

/* n copies of unit between prefix and suffix (malloc'd). */
static char *repeat(const char *prefix, const char *unit, size_t n, const char *suffix,
                    size_t *len)
{
    size_t pl = strlen(prefix), ul = strlen(unit), sl = strlen(suffix);
    char *b = malloc(pl + n * ul + sl + 1);
    memcpy(b, prefix, pl);
    for (size_t i = 0; i < n; i++)
        memcpy(b + pl + i * ul, unit, ul);
    memcpy(b + pl + n * ul, suffix, sl + 1);
    *len = pl + n * ul + sl;
    return b;
}

static void hostile_documents(void)
{
    pool *p = pool_new();
    lcxml_config cfg;
    lcxml_err e;
    size_t len;
    /* 1,000 rules are fine, 1,001 are not */
    char *b = repeat("<LifecycleConfiguration>", "<Rule>" F "<Expiration><Days>1</Days>"
                     "</Expiration></Rule>", 1000, "</LifecycleConfiguration>", &len);
    CHECK_EQ_INT(lc(b, len, p, &cfg, &e), 0);
    CHECK_EQ_INT(cfg.nrules, 1000);
    free(b);
    b = repeat("<LifecycleConfiguration>", "<Rule>" F "<Expiration><Days>1</Days>"
               "</Expiration></Rule>", 1001, "</LifecycleConfiguration>", &len);
    CHECK_EQ_INT(lc(b, len, p, &cfg, &e), -1);
    CHECK_EQ_INT(e.code, LCXML_INVALID_REQUEST);
    CHECK(strstr(e.msg, "at most 1000 rules") != NULL);
    free(b);
    /* far more rules: refused by the reader's bound, not read to the end */
    b = repeat("<LifecycleConfiguration>", "<Rule/>", 500000, "</LifecycleConfiguration>",
               &len);
    CHECK_EQ_INT(lc(b, len, p, &cfg, &e), -1);
    CHECK_EQ_INT(e.code, LCXML_MALFORMED);
    free(b);
    /* deep nesting */
    b = repeat("<LifecycleConfiguration><Rule>", "<Filter>", 100000, "", &len);
    CHECK_EQ_INT(lc(b, len, p, &cfg, &e), -1);
    CHECK_EQ_INT(e.code, LCXML_MALFORMED);
    free(b);
    /* a huge prefix */
    b = repeat("<LifecycleConfiguration><Rule><Filter><Prefix>", "x", 3000000,
               "</Prefix></Filter><Status>Enabled</Status></Rule></LifecycleConfiguration>",
               &len);
    CHECK_EQ_INT(lc(b, len, p, &cfg, &e), -1);
    CHECK_EQ_INT(e.code, LCXML_MALFORMED);
    free(b);
    /* entities are refused, not expanded */
    refused("<!DOCTYPE x [<!ENTITY a \"aaaa\">]><LifecycleConfiguration/>", LCXML_MALFORMED,
            NULL);
    refused(RULE("<Filter><Prefix>&a;</Prefix></Filter><Status>Enabled</Status>"),
            LCXML_MALFORMED, NULL);
    refused(RULE(F "<Expiration><Days>99999999999999999999</Days></Expiration>"),
            LCXML_INVALID_ARGUMENT, NULL);
    refused(RULE("<Filter><ObjectSizeLessThan>x</ObjectSizeLessThan></Filter>"
                 "<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"),
            LCXML_INVALID_ARGUMENT, NULL);
    lc_done();
    pool_free(p);
}

static void rules_model(void)
{
    pool *p = pool_new();
    lcxml_config cfg;
    lcxml_err e;
    REQUIRE(lcs(RULE("<Filter><And><Prefix>data/</Prefix><Tag><Key>t</Key><Value>1</Value>"
                     "</Tag><ObjectSizeGreaterThan>100</ObjectSizeGreaterThan></And>"
                     "</Filter><Status>Enabled</Status><Expiration><Days>2</Days>"
                     "</Expiration>"), p, &cfg, &e) == 0);
    const lcxml_filter *f = &cfg.rules[0].filter;
    st_header tag = {"t", "1"}, other = {"t", "2"};
    CHECK(lcxml_match(f, "data/x", 101, &tag, 1));
    CHECK(!lcxml_match(f, "data/x", 100, &tag, 1));      /* strictly greater */
    CHECK(!lcxml_match(f, "index/x", 101, &tag, 1));
    CHECK(!lcxml_match(f, "data/x", 101, &other, 1));
    CHECK(!lcxml_match(f, "data/x", 101, NULL, 0));
    const lcxml_when *w = &cfg.rules[0].expiration;
    CHECK_EQ_INT(lcxml_due_ms(w, 1000, 5000), 11000);
    lcxml_when never = {0};
    CHECK(lcxml_due_ms(&never, 0, 1) == INT64_MAX);
    lcxml_when by_date = {.set = true, .by_date = true, .date_s = 10};
    CHECK_EQ_INT(lcxml_due_ms(&by_date, 999999, 1), 10000);
    lcxml_when huge = {.set = true, .days = INT64_MAX / 2};
    CHECK(lcxml_due_ms(&huge, 1000, 86400000) == INT64_MAX);
    lc_done();
    pool_free(p);
}

static void tagging(void)
{
    pool *p = pool_new();
    xmlread_doc *d = NULL;
    st_header *tags;
    size_t n;
    lcxml_err e;
    const char *two = "<Tagging " NS "><TagSet><Tag><Key>a b</Key><Value>1</Value></Tag>"
                      "<Tag><Key>c</Key><Value></Value></Tag></TagSet></Tagging>";
    REQUIRE(lcxml_tagging_parse(two, strlen(two), p, &d, &tags, &n, &e) == 0);
    REQUIRE(n == 2);
    CHECK_EQ_STR(tags[0].name, "a b");
    CHECK_EQ_STR(tags[1].value, "");
    xmlread_free(d);
    d = NULL;
    const char *eleven = "<Tagging><TagSet><Tag><Key>1</Key><Value/></Tag><Tag><Key>2</Key>"
        "<Value/></Tag><Tag><Key>3</Key><Value/></Tag><Tag><Key>4</Key><Value/></Tag><Tag>"
        "<Key>5</Key><Value/></Tag><Tag><Key>6</Key><Value/></Tag><Tag><Key>7</Key><Value/>"
        "</Tag><Tag><Key>8</Key><Value/></Tag><Tag><Key>9</Key><Value/></Tag><Tag><Key>10"
        "</Key><Value/></Tag><Tag><Key>11</Key><Value/></Tag></TagSet></Tagging>";
    CHECK_EQ_INT(lcxml_tagging_parse(eleven, strlen(eleven), p, &d, &tags, &n, &e), -1);
    CHECK_EQ_INT(e.code, LCXML_INVALID_TAG);
    CHECK(strstr(e.msg, "greater than 10") != NULL);
    xmlread_free(d);
    d = NULL;
    const char *dup = "<Tagging><TagSet><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k"
                      "</Key><Value>2</Value></Tag></TagSet></Tagging>";
    CHECK_EQ_INT(lcxml_tagging_parse(dup, strlen(dup), p, &d, &tags, &n, &e), -1);
    CHECK_EQ_INT(e.code, LCXML_INVALID_TAG);
    xmlread_free(d);
    d = NULL;
    const char *nokey = "<Tagging><TagSet><Tag><Value>2</Value></Tag></TagSet></Tagging>";
    CHECK_EQ_INT(lcxml_tagging_parse(nokey, strlen(nokey), p, &d, &tags, &n, &e), -1);
    CHECK_EQ_INT(e.code, LCXML_MALFORMED);
    xmlread_free(d);
    d = NULL;
    /* the header form */
    CHECK_EQ_INT(lcxml_tagging_header("a=1&b%20c=d%26e&f=&g", p, &tags, &n, &e), 0);
    REQUIRE(n == 4);
    CHECK_EQ_STR(tags[1].name, "b c");
    CHECK_EQ_STR(tags[1].value, "d&e");
    CHECK_EQ_STR(tags[2].value, "");
    CHECK_EQ_STR(tags[3].name, "g");
    CHECK_EQ_INT(lcxml_tagging_header("", p, &tags, &n, &e), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(lcxml_tagging_header("a=%zz", p, &tags, &n, &e), -1);
    CHECK_EQ_INT(e.code, LCXML_INVALID_ARGUMENT);
    CHECK_EQ_INT(lcxml_tagging_header("aws:x=1", p, &tags, &n, &e), -1);
    CHECK_EQ_INT(e.code, LCXML_INVALID_TAG);
    char key[200];
    memset(key, 'k', 129);
    strcpy(key + 129, "=v");
    CHECK_EQ_INT(lcxml_tagging_header(key, p, &tags, &n, &e), -1);
    CHECK(strstr(e.msg, "TagKey") != NULL);
    /* 128 characters of three bytes each are fine */
    char wide[1300] = "";
    for (int i = 0; i < 128; i++)
        strcat(wide, "%E4%B8%AD");
    strcat(wide, "=v");
    CHECK_EQ_INT(lcxml_tagging_header(wide, p, &tags, &n, &e), 0);
    pool_free(p);
}

static void restore_requests(void)
{
    xmlread_doc *d = NULL;
    int days;
    lcxml_err e;
    const char *ok = "<RestoreRequest " NS "><Days>3</Days><GlacierJobParameters><Tier>"
                     "Standard</Tier></GlacierJobParameters></RestoreRequest>";
    CHECK_EQ_INT(lcxml_restore_parse(ok, strlen(ok), &d, &days, &e), 0);
    CHECK_EQ_INT(days, 3);
    xmlread_free(d);
    d = NULL;
    const char *zero = "<RestoreRequest><Days>0</Days></RestoreRequest>";
    CHECK_EQ_INT(lcxml_restore_parse(zero, strlen(zero), &d, &days, &e), -1);
    CHECK_EQ_INT(e.code, LCXML_INVALID_ARGUMENT);
    xmlread_free(d);
    d = NULL;
    const char *none = "<RestoreRequest></RestoreRequest>";
    CHECK_EQ_INT(lcxml_restore_parse(none, strlen(none), &d, &days, &e), -1);
    CHECK_EQ_INT(e.code, LCXML_MALFORMED);
    xmlread_free(d);
    d = NULL;
    const char *sel = "<RestoreRequest><Type>SELECT</Type></RestoreRequest>";
    CHECK_EQ_INT(lcxml_restore_parse(sel, strlen(sel), &d, &days, &e), -1);
    CHECK_EQ_INT(e.code, LCXML_NOT_IMPLEMENTED);
    xmlread_free(d);
}

TEST_MAIN("lcxml",
          T(what_clients_send),
          T(s3_errors),
          T(bad_dates),
          T(hostile_documents),
          T(rules_model),
          T(tagging),
          T(restore_requests))
