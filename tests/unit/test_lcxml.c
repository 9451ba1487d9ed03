/*
 * tests/unit/test_lcxml.c - lifecycle configurations, tag sets and restore
 * requests (server/lcxml.c): what clients send, each S3 validation error
 * with the code S3 gives and a message naming the rule, the hostile
 * documents of issue 10 (deep nesting, huge documents, bad dates, 1,001
 * rules, duplicate IDs), the actions on versions (issue 11.3) with theirs,
 * and the rules model the worker evaluates.
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

/* The actions on versions: what clients send (boto3's shape for a
 * versioned backup bucket), each S3 error, and hostile variants. */
#define NVE(body) "<NoncurrentVersionExpiration>" body "</NoncurrentVersionExpiration>"
#define NVT(body) "<NoncurrentVersionTransition>" body "</NoncurrentVersionTransition>"
#define ND(n) "<NoncurrentDays>" n "</NoncurrentDays>"
#define NN(n) "<NewerNoncurrentVersions>" n "</NewerNoncurrentVersions>"
#define SC(c) "<StorageClass>" c "</StorageClass>"

static void version_actions(void)
{
    pool *p = pool_new();
    lcxml_config cfg;
    lcxml_err e;
    REQUIRE(lcs("<LifecycleConfiguration " NS "><Rule><ID>versions</ID><Filter><Prefix>"
                "data/</Prefix></Filter><Status>Enabled</Status>"
                NVT(ND("7") SC("COLD")) NVT(ND("30") NN("2") SC("DEEP"))
                NVE(ND("90") NN("5")) "</Rule><Rule><ID>markers</ID><Filter/>"
                "<Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true"
                "</ExpiredObjectDeleteMarker></Expiration></Rule><Rule><ID>off</ID>"
                "<Prefix></Prefix><Status>Enabled</Status><Expiration>"
                "<ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration>"
                NVE(ND("1")) "</Rule></LifecycleConfiguration>", p, &cfg, &e) == 0);
    REQUIRE(cfg.nrules == 3);
    const lcxml_rule *r = &cfg.rules[0];
    CHECK(!r->expiration.set && !r->expire_marker && r->ntransitions == 0);
    REQUIRE(r->nnc_transitions == 2);
    CHECK_EQ_STR(r->nc_transitions[0].storage_class, "COLD");
    CHECK_EQ_INT(r->nc_transitions[0].when.days, 7);
    CHECK_EQ_INT(r->nc_transitions[0].keep, 0);
    CHECK_EQ_STR(r->nc_transitions[1].storage_class, "DEEP");
    CHECK_EQ_INT(r->nc_transitions[1].keep, 2);
    CHECK(r->nc_expiration.when.set);
    CHECK_EQ_INT(r->nc_expiration.when.days, 90);
    CHECK_EQ_INT(r->nc_expiration.keep, 5);
    r = &cfg.rules[1];
    CHECK(r->expire_marker && !r->expiration.set && !r->nc_expiration.when.set);
    r = &cfg.rules[2];
    CHECK(!r->expire_marker);                 /* false: no action on markers */
    CHECK_EQ_INT(r->nc_expiration.when.days, 1);
    /* the bounds themselves are accepted */
    REQUIRE(lcs(RULE(F NVE(ND("2147483647") NN("100"))), p, &cfg, &e) == 0);
    CHECK_EQ_INT(cfg.rules[0].nc_expiration.keep, 100);
    REQUIRE(lcs(RULE(F NVE(ND("01") NN("1"))), p, &cfg, &e) == 0);
    CHECK_EQ_INT(cfg.rules[0].nc_expiration.when.days, 1);

    /* S3's errors */
    refused(RULE(F NVE(ND("0"))), LCXML_INVALID_ARGUMENT,
            "Rule 'r1': 'NoncurrentDays' for NoncurrentVersionExpiration action must be "
            "a positive integer");
    refused(RULE(F NVT(ND("0") SC("C"))), LCXML_INVALID_ARGUMENT,
            "'NoncurrentDays' for NoncurrentVersionTransition");
    refused(RULE(F NVE(ND("-1"))), LCXML_INVALID_ARGUMENT, "NoncurrentDays");
    refused(RULE(F NVE(ND("2147483648"))), LCXML_INVALID_ARGUMENT, "NoncurrentDays");
    refused(RULE(F NVE(ND("1") NN("0"))), LCXML_INVALID_ARGUMENT,
            "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a "
            "positive integer up to 100");
    refused(RULE(F NVE(ND("1") NN("101"))), LCXML_INVALID_ARGUMENT,
            "NewerNoncurrentVersions");
    refused(RULE(F NVT(ND("1") NN("101") SC("C"))), LCXML_INVALID_ARGUMENT,
            "NewerNoncurrentVersions");
    refused(RULE(F NVE(ND("1") NN("1x"))), LCXML_INVALID_ARGUMENT,
            "NewerNoncurrentVersions");
    refused(RULE(F NVE(NN("3"))), LCXML_MALFORMED, "needs NoncurrentDays");
    refused(RULE(F NVE("")), LCXML_MALFORMED, "needs NoncurrentDays");
    refused(RULE(F NVT(ND("1"))), LCXML_MALFORMED, "needs a StorageClass");
    refused(RULE(F NVT(ND("1") SC(""))), LCXML_MALFORMED, "needs a StorageClass");
    refused(RULE(F NVT(ND("1") SC("C")) NVT(ND("2") SC("C"))), LCXML_INVALID_ARGUMENT,
            "'StorageClass' must be different for 'NoncurrentVersionTransition'");
    refused(RULE(F NVT(ND("9") SC("C")) NVE(ND("9"))), LCXML_INVALID_ARGUMENT,
            "must be later than 'NoncurrentDays' in the NoncurrentVersionTransition");
    refused(RULE(F NVE(ND("1")) NVE(ND("2"))), LCXML_MALFORMED, "appears twice");
    refused(RULE(F NVE(ND("1") ND("2"))), LCXML_MALFORMED, "appears twice");
    refused(RULE(F NVT(ND("1") SC("C") SC("D"))), LCXML_MALFORMED, "appears twice");
    refused(RULE(F NVE(ND("1") "<Days>1</Days>")), LCXML_MALFORMED, "may not hold Days");
    refused(RULE(F NVE(ND("1") SC("C"))), LCXML_MALFORMED, "may not hold StorageClass");
    refused(RULE(F NVT("<Days>1</Days>" SC("C"))), LCXML_MALFORMED, "may not hold Days");
    refused(RULE(F "<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true"
                   "</ExpiredObjectDeleteMarker></Expiration>"), LCXML_MALFORMED,
            "one of Days, Date and ExpiredObjectDeleteMarker");
    refused(RULE(F "<Expiration><Date>2030-01-01</Date><ExpiredObjectDeleteMarker>false"
                   "</ExpiredObjectDeleteMarker></Expiration>"), LCXML_MALFORMED,
            "one of Days, Date and ExpiredObjectDeleteMarker");
    refused(RULE(F "<Expiration><ExpiredObjectDeleteMarker>yes"
                   "</ExpiredObjectDeleteMarker></Expiration>"), LCXML_MALFORMED,
            "true or false");
    refused(RULE(F "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
                   "<ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
                   "</Expiration>"), LCXML_MALFORMED, "appears twice");
    refused(RULE("<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled"
                 "</Status><Expiration><ExpiredObjectDeleteMarker>true"
                 "</ExpiredObjectDeleteMarker></Expiration>"), LCXML_INVALID_REQUEST,
            "ExpiredObjectDeleteMarker cannot be specified with Tags");

    /* hostile: nesting inside an action, a value as character references,
     * a huge number, 1,000 noncurrent transitions in one rule */
    refused(RULE(F NVE("<NoncurrentDays><NoncurrentDays>1</NoncurrentDays>"
                       "</NoncurrentDays>")), LCXML_INVALID_ARGUMENT, "NoncurrentDays");
    REQUIRE(lcs(RULE(F NVE(ND("&#x33;&#48;"))), p, &cfg, &e) == 0);
    CHECK_EQ_INT(cfg.rules[0].nc_expiration.when.days, 30);
    refused(RULE(F NVE(ND("99999999999999999999999999"))), LCXML_INVALID_ARGUMENT,
            "NoncurrentDays");
    refused(RULE(F NVE(ND(" 1"))), LCXML_INVALID_ARGUMENT, "NoncurrentDays");
    for (size_t round = 0; round < 2; round++) {
        /* 1,000 transitions to distinct classes parse; 22,000 go over the
         * reader's element bound */
        size_t n = round ? 22000 : 1000, cap = n * 160 + 256, len = 0;
        char *big = malloc(cap);
        REQUIRE(big);
        len += (size_t)snprintf(big + len, cap - len, "<LifecycleConfiguration><Rule>%s", F);
        for (size_t i = 0; i < n; i++)
            len += (size_t)snprintf(big + len, cap - len, NVT(ND("1") "<StorageClass>C%zu"
                                    "</StorageClass>"), i);
        len += (size_t)snprintf(big + len, cap - len, "</Rule></LifecycleConfiguration>");
        REQUIRE(len < cap);
        lcxml_err be = {0};
        int rc = lc(big, len, p, &cfg, &be);
        if (round == 0) {
            CHECK_EQ_INT(rc, 0);
            CHECK_EQ_INT(rc == 0 ? cfg.rules[0].nnc_transitions : 0, 1000);
        } else {
            CHECK_EQ_INT(rc, -1);
            CHECK_EQ_INT(be.code, LCXML_MALFORMED);
        }
        free(big);
    }
    lc_done();
    pool_free(p);
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
    /* noncurrent: days from when the version became noncurrent, and only
     * once NewerNoncurrentVersions newer ones exist */
    REQUIRE(lcs(RULE(F NVE(ND("3") NN("2"))), p, &cfg, &e) == 0);
    const lcxml_noncurrent *nc = &cfg.rules[0].nc_expiration;
    CHECK_EQ_INT(lcxml_noncurrent_due_ms(nc, 500, 2, 1000), 3500);
    CHECK_EQ_INT(lcxml_noncurrent_due_ms(nc, 500, 7, 1000), 3500);
    CHECK(lcxml_noncurrent_due_ms(nc, 500, 1, 1000) == INT64_MAX);  /* one of the kept */
    lcxml_noncurrent unset = {0};
    CHECK(lcxml_noncurrent_due_ms(&unset, 500, 5, 1000) == INT64_MAX);
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
          T(version_actions),
          T(bad_dates),
          T(hostile_documents),
          T(rules_model),
          T(tagging),
          T(restore_requests))
