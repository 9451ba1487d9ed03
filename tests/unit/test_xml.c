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

TEST_MAIN("xml",
          T(escaping),
          T(delete_bodies),
          T(complete_bodies),
          T(location_bodies))
