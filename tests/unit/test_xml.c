/* tests/unit/test_xml.c - XML output escaping, and the request-body
 * parsers of server/xmlreq.c (the reader's own rules and bounds are
 * tests/unit/test_xmlread.c). */
#include "server/xml.h"
#include "server/xmlreq.h"
#include "tests/unit/test.h"

static void escaping(void)
{
    sbuf b;
    sbuf_init(&b, 0);
    xml_elem(&b, "Key", "a<b>&\"c'\x01\n");
    CHECK_EQ_STR(b.p, "<Key>a&lt;b&gt;&amp;&quot;c&apos;&#x1;\n</Key>");
    sbuf_free(&b);
    sbuf_init(&b, 0);
    xml_elem_key(&b, "Key", "sp ace/\xc3\xbc+&~", true);
    CHECK_EQ_STR(b.p, "<Key>sp%20ace/%C3%BC%2B%26~</Key>");
    sbuf_free(&b);
    sbuf_init(&b, 0);
    xml_elem_time_ms(&b, "T", 1700000000123LL);
    CHECK_EQ_STR(b.p, "<T>2023-11-14T22:13:20.123Z</T>");
    sbuf_free(&b);
}

/* DeleteObjects: the keys in order, Quiet, and S3's 1,000-object limit. */
static void delete_bodies(void)
{
    pool *p = pool_new();
    xmlread_doc *doc;
    xmlreq_delete del;
    cf_err err;
    const char *body = "<Delete xmlns=\"" S3_XMLNS "\"><Quiet>true</Quiet>"
                       "<Object><Key>a</Key></Object>"
                       "<Object><Key>b&amp;c</Key><VersionId>null</VersionId></Object></Delete>";
    REQUIRE(xmlreq_delete_parse(body, strlen(body), p, &doc, &del, &err) == 0);
    CHECK(del.quiet);
    CHECK_EQ_INT(del.nobjects, 2);
    CHECK_EQ_STR(del.objects[0].key, "a");
    CHECK(del.objects[0].version_id == NULL);
    CHECK_EQ_STR(del.objects[1].key, "b&c");
    CHECK_EQ_STR(del.objects[1].version_id, "null");
    xmlread_free(doc);
    static const char *const bad[] = {
        "<Delete/>", "<Delete><Quiet>true</Quiet></Delete>",
        "<Delete><Object><VersionId>x</VersionId></Object></Delete>", "<Other/>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(xmlreq_delete_parse(bad[i], strlen(bad[i]), p, &doc, &del, &err) < 0);
        xmlread_free(doc);
    }
    /* 1,000 objects are fine, 1,001 are refused */
    sbuf b;
    sbuf_init(&b, 0);
    sbuf_puts(&b, "<Delete>");
    for (int i = 0; i < 1000; i++)
        sbuf_printf(&b, "<Object><Key>k%d</Key></Object>", i);
    size_t at1000 = b.len;
    sbuf_puts(&b, "</Delete>");
    REQUIRE(xmlreq_delete_parse(b.p, b.len, p, &doc, &del, &err) == 0);
    CHECK_EQ_INT(del.nobjects, 1000);
    xmlread_free(doc);
    b.len = at1000;
    sbuf_puts(&b, "<Object><Key>one-more</Key></Object></Delete>");
    CHECK(xmlreq_delete_parse(b.p, b.len, p, &doc, &del, &err) < 0);
    CHECK(strstr(err.msg, "1000") != NULL);
    xmlread_free(doc);
    sbuf_free(&b);
    pool_free(p);
}

static void complete_bodies(void)
{
    pool *p = pool_new();
    xmlread_doc *doc;
    st_complete_part *parts;
    size_t n;
    cf_err err;
    const char *body = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
                       "<ETag>\"e1\"</ETag></Part><Part><ETag>e2</ETag>"
                       "<ChecksumCRC32>AAAAAA==</ChecksumCRC32><PartNumber>0002</PartNumber>"
                       "</Part></CompleteMultipartUpload>";
    REQUIRE(xmlreq_complete_parse(body, strlen(body), p, &doc, &parts, &n, &err) == 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(parts[0].part_number, 1);
    CHECK_EQ_STR(parts[0].etag, "\"e1\"");
    CHECK(parts[0].checksum_b64 == NULL);
    CHECK_EQ_INT(parts[1].part_number, 2);
    CHECK_EQ_STR(parts[1].checksum_b64, "AAAAAA==");
    xmlread_free(doc);
    static const char *const bad[] = {
        "<CompleteMultipartUpload/>",
        "<CompleteMultipartUpload><Part><ETag>e</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>e</ETag></Part>"
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>e</ETag></Part>"
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>e</ETag></Part>"
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber> 1</PartNumber><ETag>e</ETag></Part>"
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(xmlreq_complete_parse(bad[i], strlen(bad[i]), p, &doc, &parts, &n, &err) < 0);
        xmlread_free(doc);
    }
    /* 10,000 parts are fine, 10,001 are refused */
    sbuf b;
    sbuf_init(&b, 0);
    sbuf_puts(&b, "<CompleteMultipartUpload>");
    for (int i = 1; i <= 10000; i++)
        sbuf_printf(&b, "<Part><PartNumber>%d</PartNumber><ETag>e</ETag></Part>", i);
    size_t at = b.len;
    sbuf_puts(&b, "</CompleteMultipartUpload>");
    REQUIRE(xmlreq_complete_parse(b.p, b.len, p, &doc, &parts, &n, &err) == 0);
    CHECK_EQ_INT(n, 10000);
    xmlread_free(doc);
    b.len = at;
    sbuf_puts(&b, "<Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>"
              "</CompleteMultipartUpload>");
    CHECK(xmlreq_complete_parse(b.p, b.len, p, &doc, &parts, &n, &err) < 0);
    xmlread_free(doc);
    sbuf_free(&b);
    pool_free(p);
}

static void location_bodies(void)
{
    xmlread_doc *doc;
    const char *region;
    cf_err err;
    CHECK(xmlreq_location_parse("", 0, &doc, &region, &err) == 0);
    CHECK_EQ_STR(region, "");
    CHECK(xmlreq_location_parse(" \r\n", 3, &doc, &region, &err) == 0);
    CHECK(doc == NULL);
    const char *body = "<CreateBucketConfiguration xmlns=\"" S3_XMLNS "\">"
                       "<LocationConstraint>eu-west-1</LocationConstraint>"
                       "</CreateBucketConfiguration>";
    REQUIRE(xmlreq_location_parse(body, strlen(body), &doc, &region, &err) == 0);
    CHECK_EQ_STR(region, "eu-west-1");
    xmlread_free(doc);
    CHECK(xmlreq_location_parse("<Delete/>", 9, &doc, &region, &err) < 0);
    CHECK(xmlreq_location_parse("<!DOCTYPE x><CreateBucketConfiguration/>", 40, &doc,
                                &region, &err) < 0);
}

/* Parse with fn, free the document; the result. */
#define PARSE(call) (doc = NULL, rc_ = (call), xmlread_free(doc), doc = NULL, rc_)

static void versioning_bodies(void)
{
    xmlread_doc *doc = NULL;
    cf_err err;
    int st, rc_;
    const char *on = "<VersioningConfiguration xmlns=\"" S3_XMLNS "\"><Status>Enabled"
                     "</Status></VersioningConfiguration>";
    CHECK(PARSE(xmlreq_versioning_parse(on, strlen(on), &doc, &st, &err)) == 0);
    CHECK_EQ_INT(st, ST_VERSIONING_ENABLED);
    const char *off = "<VersioningConfiguration><Status>Suspended</Status>"
                      "<MfaDelete>Disabled</MfaDelete></VersioningConfiguration>";
    CHECK(PARSE(xmlreq_versioning_parse(off, strlen(off), &doc, &st, &err)) == 0);
    CHECK_EQ_INT(st, ST_VERSIONING_SUSPENDED);
    const char *mfa = "<VersioningConfiguration><Status>Enabled</Status>"
                      "<MfaDelete>Enabled</MfaDelete></VersioningConfiguration>";
    CHECK(PARSE(xmlreq_versioning_parse(mfa, strlen(mfa), &doc, &st, &err)) < 0);
    CHECK_EQ_INT(err.code, CF_ENOTFOUND);
    static const char *const bad[] = {
        "<VersioningConfiguration/>",                       /* no Status */
        "<VersioningConfiguration><Status>enabled</Status></VersioningConfiguration>",
        "<VersioningConfiguration><Status>Disabled</Status></VersioningConfiguration>",
        "<VersioningConfiguration><Status>Enabled</Status><Status>Suspended</Status>"
        "</VersioningConfiguration>",
        "<VersioningConfiguration><Staus>Enabled</Staus></VersioningConfiguration>",
        "<VersioningConfiguration><Status><X/></Status></VersioningConfiguration>",
        "<Versioning><Status>Enabled</Status></Versioning>",
        "<!DOCTYPE v [<!ENTITY e \"Enabled\">]><VersioningConfiguration><Status>&e;"
        "</Status></VersioningConfiguration>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(PARSE(xmlreq_versioning_parse(bad[i], strlen(bad[i]), &doc, &st, &err)) < 0);
        CHECK(err.code == CF_EINVAL || err.code == CF_ETOOLARGE);
    }
}

static void lock_config_bodies(void)
{
    xmlread_doc *doc = NULL;
    cf_err err;
    int rc_;
    xmlreq_lock_config c;
    const char *on = "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
                     "</ObjectLockConfiguration>";
    CHECK(PARSE(xmlreq_lock_config_parse(on, strlen(on), &doc, &c, &err)) == 0);
    CHECK(!c.has_rule);
    const char *days = "<ObjectLockConfiguration xmlns=\"" S3_XMLNS "\"><ObjectLockEnabled>"
                       "Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE"
                       "</Mode><Days>30</Days></DefaultRetention></Rule>"
                       "</ObjectLockConfiguration>";
    CHECK(PARSE(xmlreq_lock_config_parse(days, strlen(days), &doc, &c, &err)) == 0);
    CHECK(c.has_rule && c.mode == ST_LOCK_COMPLIANCE && c.days == 30 && c.years == 0);
    const char *years = "<ObjectLockConfiguration><ObjectLockEnabled>Enabled"
                        "</ObjectLockEnabled><Rule><DefaultRetention><Years>2</Years>"
                        "<Mode>GOVERNANCE</Mode></DefaultRetention></Rule>"
                        "</ObjectLockConfiguration>";
    CHECK(PARSE(xmlreq_lock_config_parse(years, strlen(years), &doc, &c, &err)) == 0);
    CHECK(c.mode == ST_LOCK_GOVERNANCE && c.years == 2 && c.days == 0);
#define LOCK(rest) "<ObjectLockConfiguration><ObjectLockEnabled>Enabled" \
                   "</ObjectLockEnabled>" rest "</ObjectLockConfiguration>"
    static const char *const bad[] = {
        "<ObjectLockConfiguration/>",
        "<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled>"
        "</ObjectLockConfiguration>",
        LOCK("<Rule/>"),
        LOCK("<Rule><DefaultRetention><Mode>COMPLIANCE</Mode></DefaultRetention></Rule>"),
        LOCK("<Rule><DefaultRetention><Days>1</Days></DefaultRetention></Rule>"),
        LOCK("<Rule><DefaultRetention><Mode>compliance</Mode><Days>1</Days>"
             "</DefaultRetention></Rule>"),
        LOCK("<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days><Years>1</Years>"
             "</DefaultRetention></Rule>"),
        LOCK("<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>-1</Days>"
             "</DefaultRetention></Rule>"),
        LOCK("<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>1e3</Days>"
             "</DefaultRetention></Rule>"),
        LOCK("<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>99999999999</Days>"
             "</DefaultRetention></Rule>"),
        LOCK("<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days>"
             "</DefaultRetention><DefaultRetention><Mode>COMPLIANCE</Mode><Days>2</Days>"
             "</DefaultRetention></Rule>"),
        LOCK("<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days><a><b/></a>"
             "</DefaultRetention></Rule>"),
        LOCK("<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days>"
             "</DefaultRetention></Rule><Rule/>"),
    };
#undef LOCK
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(PARSE(xmlreq_lock_config_parse(bad[i], strlen(bad[i]), &doc, &c, &err)) < 0);
        CHECK(err.code == CF_EINVAL || err.code == CF_ETOOLARGE);
    }
    /* 0 days parses: its InvalidArgument is the handler's */
    const char *zero = "<ObjectLockConfiguration><ObjectLockEnabled>Enabled"
                       "</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode>"
                       "<Days>0</Days></DefaultRetention></Rule></ObjectLockConfiguration>";
    CHECK(PARSE(xmlreq_lock_config_parse(zero, strlen(zero), &doc, &c, &err)) == 0);
    CHECK(c.days == 0 && c.years == 0 && c.has_rule);
}

static void retention_and_legal_hold_bodies(void)
{
    xmlread_doc *doc = NULL;
    cf_err err;
    int mode, rc_;
    int64_t until;
    /* as boto3 sends it, and as Veeam does (no namespace, no declaration) */
    const char *boto = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Retention xmlns=\""
                       S3_XMLNS "\"><Mode>COMPLIANCE</Mode><RetainUntilDate>"
                       "2030-01-02T03:04:05.678Z</RetainUntilDate></Retention>";
    CHECK(PARSE(xmlreq_retention_parse(boto, strlen(boto), &doc, &mode, &until, &err)) == 0);
    CHECK_EQ_INT(mode, ST_LOCK_COMPLIANCE);
    CHECK_EQ_INT(until, 1893553445678LL);
    const char *veeam = "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>"
                        "2030-01-02T03:04:05Z</RetainUntilDate></Retention>";
    CHECK(PARSE(xmlreq_retention_parse(veeam, strlen(veeam), &doc, &mode, &until, &err)) ==
          0);
    CHECK(mode == ST_LOCK_GOVERNANCE && until == 1893553445000LL);
    const char *prefixed = "<s3:Retention xmlns:s3=\"" S3_XMLNS "\"><s3:Mode>COMPLIANCE"
                           "</s3:Mode><s3:RetainUntilDate>2030-01-02T03:04:05Z"
                           "</s3:RetainUntilDate></s3:Retention>";
    CHECK(PARSE(xmlreq_retention_parse(prefixed, strlen(prefixed), &doc, &mode, &until,
                                       &err)) == 0);
    CHECK(mode == ST_LOCK_COMPLIANCE);
    CHECK(PARSE(xmlreq_retention_parse("<Retention/>", 12, &doc, &mode, &until, &err)) == 0);
    CHECK_EQ_INT(mode, ST_LOCK_NONE);
    static const char *const bad[] = {
        "<Retention><Mode>COMPLIANCE</Mode></Retention>",
        "<Retention><RetainUntilDate>2030-01-02T03:04:05Z</RetainUntilDate></Retention>",
        "<Retention><Mode>FOREVER</Mode><RetainUntilDate>2030-01-02T03:04:05Z"
        "</RetainUntilDate></Retention>",
        "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-02</RetainUntilDate>"
        "</Retention>",
        "<Retention><Mode>COMPLIANCE</Mode><Mode>GOVERNANCE</Mode><RetainUntilDate>"
        "2030-01-02T03:04:05Z</RetainUntilDate></Retention>",
        "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-02T03:04:05Z"
        "</RetainUntilDate><Extra/></Retention>",
        "<ObjectRetention><Mode>COMPLIANCE</Mode></ObjectRetention>",
        "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-02T03:04:05Z"
        "</RetainUntilDate></Retention><Retention/>",
        "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-02T03:04:05Z"
        "</RetainUntilDate><a/><b/><c/><d/><e/><f/><g/></Retention>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(PARSE(xmlreq_retention_parse(bad[i], strlen(bad[i]), &doc, &mode, &until,
                                           &err)) < 0);
    int hold;
    const char *on = "<LegalHold xmlns=\"" S3_XMLNS "\"><Status>ON</Status></LegalHold>";
    CHECK(PARSE(xmlreq_legal_hold_parse(on, strlen(on), &doc, &hold, &err)) == 0);
    CHECK_EQ_INT(hold, ST_HOLD_ON);
    const char *off = "<LegalHold><Status>OFF</Status></LegalHold>";
    CHECK(PARSE(xmlreq_legal_hold_parse(off, strlen(off), &doc, &hold, &err)) == 0);
    CHECK_EQ_INT(hold, ST_HOLD_OFF);
    static const char *const bad_hold[] = {
        "<LegalHold/>", "<LegalHold><Status>on</Status></LegalHold>",
        "<LegalHold><Status>ON</Status><Status>OFF</Status></LegalHold>",
        "<Hold><Status>ON</Status></Hold>",
    };
    for (size_t i = 0; i < sizeof bad_hold / sizeof bad_hold[0]; i++)
        CHECK(PARSE(xmlreq_legal_hold_parse(bad_hold[i], strlen(bad_hold[i]), &doc, &hold,
                                            &err)) < 0);
}

static void iso8601_dates(void)
{
    int64_t t;
    CHECK(xmlreq_iso8601("1970-01-01T00:00:00Z", &t) == 0 && t == 0);
    CHECK(xmlreq_iso8601("2024-02-29T23:59:59.999Z", &t) == 0 && t == 1709251199999LL);
    CHECK(xmlreq_iso8601("2024-03-01T01:00:00+01:00", &t) == 0 && t == 1709251200000LL);
    CHECK(xmlreq_iso8601("2024-02-29T23:00:00-01:00", &t) == 0 && t == 1709251200000LL);
    CHECK(xmlreq_iso8601("2030-01-02T03:04:05.1Z", &t) == 0 && t == 1893553445100LL);
    CHECK(xmlreq_iso8601("2030-01-02T03:04:05.123456789Z", &t) == 0 &&
          t == 1893553445123LL);
    CHECK(xmlreq_iso8601("9999-12-31T23:59:59Z", &t) == 0);
    static const char *const bad[] = {
        "", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-00-10T00:00:00Z",
        "2024-01-32T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z",
        "2024-01-01T00:00:60Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00",
        "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00.1234567890Z", "2024-1-01T00:00:00Z",
        "1969-12-31T23:59:59Z", "2024-01-01T00:00:00Zjunk", "2024-01-01T00:00:00+2:00",
        "+2024-01-01T00:00:00Z", "2024-01-01T00:00:00+24:00", "1970-01-01T00:30:00+01:00",
        "20240101T000000Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(xmlreq_iso8601(bad[i], &t) < 0);
        if (xmlreq_iso8601(bad[i], &t) == 0)
            fprintf(stderr, "accepted %s\n", bad[i]);
    }
}

TEST_MAIN("xml",
          T(escaping),
          T(delete_bodies),
          T(complete_bodies),
          T(location_bodies),
          T(versioning_bodies),
          T(lock_config_bodies),
          T(retention_and_legal_hold_bodies),
          T(iso8601_dates))
