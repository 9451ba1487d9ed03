/* tests/unit/test_xml.c - XML output escaping and the hostile-input rules
 * of the request parser. */
#include "server/xml.h"
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

static const char *parse_text(pool *p, const char *doc, const char *root, const char *child)
{
    xmlDocPtr d = xml_parse(doc, strlen(doc), root);
    if (!d)
        return NULL;
    const char *t = xml_child_text(p, xmlDocGetRootElement(d), child);
    xmlFreeDoc(d);
    return t;
}

static void parsing(void)
{
    pool *p = pool_new();
    CHECK_EQ_STR(parse_text(p, "<Delete xmlns=\"" S3_XMLNS "\"><Quiet>true</Quiet></Delete>",
                            "Delete", "Quiet"), "true");
    CHECK_EQ_STR(parse_text(p, "<Delete><Quiet><![CDATA[x<y]]></Quiet></Delete>",
                            "Delete", "Quiet"), "x<y");
    CHECK(parse_text(p, "<Other/>", "Delete", "Quiet") == NULL);
    CHECK(parse_text(p, "<Delete><Quiet>", "Delete", "Quiet") == NULL);
    CHECK(parse_text(p, "", "Delete", "Quiet") == NULL);
    CHECK(parse_text(p, "<!DOCTYPE d [<!ENTITY e \"boom\">]><Delete><Quiet>&e;</Quiet></Delete>",
                     "Delete", "Quiet") == NULL);
    CHECK(parse_text(p, "<?xml version=\"1.0\"?><!DOCTYPE Delete SYSTEM "
                     "\"http://127.0.0.1:1/x.dtd\"><Delete/>", "Delete", "Quiet") == NULL);
    pool_free(p);
}

static void size_limit(void)
{
    size_t n = XML_MAX_BODY + 100;
    char *big = malloc(n + 1);
    REQUIRE(big);
    memset(big, ' ', n);
    memcpy(big, "<Delete>", 8);
    memcpy(big + n - 9, "</Delete>", 9);
    big[n] = 0;
    CHECK(xml_parse(big, n, "Delete") == NULL);
    free(big);
}

TEST_MAIN("xml",
          T(escaping),
          T(parsing),
          T(size_limit))
