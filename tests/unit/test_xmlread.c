/* tests/unit/test_xmlread.c - the hardened XML reader: what S3 request
 * bodies look like, every well-formedness rule, and the bounds, including
 * issue 17's bombs (300,000 attributes, 200,000 elements), which must be
 * refused at the byte that crosses the bound, not after reading on. */
#include "common/xmlread.h"
#include "tests/unit/test.h"

static const xmlread_limits lim = {.max_elements = 100, .max_depth = 4, .max_text = 64};

/* 0 if parsed (doc in *out), else -code; *at gets the failing byte. */
static int parse_lim(const char *s, size_t n, const char *root, const xmlread_limits *l,
                     xmlread_doc **out, size_t *at)
{
    cf_err err;
    xmlread_doc *d;
    if (xmlread_parse(s, n, root, l, &d, &err) == 0) {
        if (out)
            *out = d;
        else
            xmlread_free(d);
        return 0;
    }
    const char *b = strstr(err.msg, "at byte ");
    if (at)
        *at = b ? strtoul(b + 8, NULL, 10) : (size_t)-1;
    return -(int)err.code;
}

static int parse(const char *s, xmlread_doc **out)
{
    return parse_lim(s, strlen(s), "Delete", &lim, out, NULL);
}

static void s3_documents(void)
{
    xmlread_doc *d;
    REQUIRE(parse("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
                  "  <Object><Key>a&amp;b &lt;&#x4E2D;&#65;</Key></Object>\n"
                  "  <Object><Key><![CDATA[x<y]]>z</Key><VersionId>null</VersionId></Object>\n"
                  "  <Quiet>true</Quiet>\n"
                  "</Delete>\n", &d) == 0);
    const xmlread_node *root = xmlread_root(d);
    CHECK_EQ_STR(root->name, "Delete");
    CHECK_EQ_STR(root->text, "");
    CHECK_EQ_STR(xmlread_child_text(root, "Quiet"), "true");
    const xmlread_node *o = xmlread_child(root, "Object");
    REQUIRE(o);
    CHECK_EQ_STR(xmlread_child_text(o, "Key"), "a&b <\xe4\xb8\xad" "A");
    REQUIRE(o->next);
    CHECK_EQ_STR(xmlread_child_text(o->next, "Key"), "x<yz");
    CHECK_EQ_STR(xmlread_child_text(o->next, "VersionId"), "null");
    CHECK(xmlread_child(o, "VersionId") == NULL);
    CHECK(xmlread_is(o->next->next, "Quiet"));
    CHECK(o->next->next->next == NULL);
    xmlread_free(d);
    /* prefixes are declared and stripped; comments and PIs are skipped */
    REQUIRE(parse("\xEF\xBB\xBF<!-- hi --><s3:Delete xmlns:s3=\"urn:x\">"
                  "<?pi stuff?><s3:Quiet>\r\nx\r</s3:Quiet></s3:Delete><!-- bye -->", &d) == 0);
    CHECK_EQ_STR(xmlread_child_text(xmlread_root(d), "Quiet"), "\nx\n");
    xmlread_free(d);
    REQUIRE(parse("<Delete/>", &d) == 0);
    CHECK(xmlread_root(d)->children == NULL);
    xmlread_free(d);
}

static void malformed_documents(void)
{
    static const char *const bad[] = {
        "", "   ", "<Other/>", "<Delete>", "<Delete></Delet>", "<Delete/><Delete/>",
        "<Delete/>x", "x<Delete/>", "<Delete><a></b></Delete>", "<Delete a=\"1\"/>",
        "<Delete xmlns=\"a\" xmlns=\"b\"/>", "<Delete xmlns:p=\"u\"><q:a/></Delete>",
        "<p:Delete/>", "<Delete xmlns:xml=\"u\"/>",
        "<!DOCTYPE d [<!ENTITY e \"boom\">]><Delete>&e;</Delete>",
        "<?xml version=\"1.0\"?><!DOCTYPE Delete SYSTEM \"http://127.0.0.1:1/x.dtd\"><Delete/>",
        "<Delete>&e;</Delete>", "<Delete>&#0;</Delete>", "<Delete>&#x110000;</Delete>",
        "<Delete>&#xD800;</Delete>", "<Delete>&amp</Delete>", "<Delete>a]]>b</Delete>",
        "<Delete>\x01</Delete>", "<Delete>\xff</Delete>", "<Delete>\xc0\xaf</Delete>",
        "<Delete><Quiet>t</Quiet>junk</Delete>", "<Delete>junk<Quiet/></Delete>",
        "<Delete><!-- a -- b --></Delete>", "<Delete><!-- open</Delete>",
        "<Delete><![CDATA[open</Delete>", "<Delete><?xml version=\"1.0\"?></Delete>",
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Delete/>",
        "<Delete xmlns=\"a\"xmlns:b=\"c\"/>", "<Delete xmlns=a/>", "<Delete xmlns=\"a/>",
        "<1Delete/>", "<Delete:/>", "<:Delete/>",
        "<Delete xmlns=\"<\"/>", "</Delete>", "<Delete></Delete></Delete>",
        "<Delete/ >", "<Delete", "<Delete><a>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse_lim(bad[i], strlen(bad[i]), "Delete", &lim, NULL, NULL);
        if (rc == 0)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK(rc == -CF_EINVAL || rc == -CF_ETOOLARGE);
    }
    /* embedded NUL: the length says 18 bytes */
    CHECK_EQ_INT(parse_lim("<Delete>\0</Delete>", 18, "Delete", &lim, NULL, NULL),
                 -CF_EINVAL);
}

static void bounds(void)
{
    char buf[4096];
    size_t at;
    /* depth 4 is allowed, 5 is not */
    CHECK_EQ_INT(parse("<Delete><a><b><c/></b></a></Delete>", NULL), 0);
    CHECK_EQ_INT(parse_lim("<Delete><a><b><c><d/></c></b></a></Delete>", 42, "Delete",
                           &lim, NULL, &at), -CF_ETOOLARGE);
    /* text: 64 bytes allowed, 65 not; entities count decoded */
    snprintf(buf, sizeof buf, "<Delete><Key>%064d</Key></Delete>", 0);
    CHECK_EQ_INT(parse(buf, NULL), 0);
    snprintf(buf, sizeof buf, "<Delete><Key>%065d</Key></Delete>", 0);
    CHECK_EQ_INT(parse(buf, NULL), -CF_ETOOLARGE);
    /* names */
    snprintf(buf, sizeof buf, "<Delete><%s/></Delete>",
             "a123456789012345678901234567890123456789012345678901234567890123");
    CHECK_EQ_INT(parse(buf, NULL), 0);
    snprintf(buf, sizeof buf, "<Delete><%s/></Delete>",
             "a1234567890123456789012345678901234567890123456789012345678901234");
    CHECK_EQ_INT(parse(buf, NULL), -CF_ETOOLARGE);
    /* elements: 100 with the root */
    size_t o = (size_t)sprintf(buf, "<Delete>");
    for (int i = 0; i < 99; i++)
        o += (size_t)sprintf(buf + o, "<a/>");
    strcpy(buf + o, "</Delete>");
    CHECK_EQ_INT(parse(buf, NULL), 0);
    strcpy(buf + o, "<a/></Delete>");
    CHECK_EQ_INT(parse(buf, NULL), -CF_ETOOLARGE);
    /* namespace declarations: four */
    CHECK_EQ_INT(parse("<Delete xmlns=\"a\" xmlns:b=\"b\" xmlns:c=\"c\" xmlns:d=\"d\"/>", NULL), 0);
    CHECK_EQ_INT(parse("<Delete xmlns=\"a\" xmlns:b=\"b\" xmlns:c=\"c\" xmlns:d=\"d\" "
                       "xmlns:e=\"e\"/>", NULL), -CF_ETOOLARGE);
}

/* A buffer of prefix + n copies of unit + suffix. */
static char *repeat(const char *prefix, const char *unit, size_t n, const char *suffix,
                    size_t *len)
{
    size_t pl = strlen(prefix), ul = strlen(unit), sl = strlen(suffix);
    char *b = malloc(pl + ul * n + sl + 1);
    memcpy(b, prefix, pl);
    for (size_t i = 0; i < n; i++)
        memcpy(b + pl + i * ul, unit, ul);
    memcpy(b + pl + ul * n, suffix, sl + 1);
    *len = pl + ul * n + sl;
    return b;
}

/* issue 17: 300,000 attributes on <Delete> (3.4 MB) took libxml2 more than
 * ten minutes; here the fifth namespace declaration ends it. Attributes
 * that are not namespace declarations end it at the first. */
static void attribute_bomb(void)
{
    size_t len, at;
    char *b = repeat("<Delete", " a00000=\"x\"", 300000, "/>", &len);
    REQUIRE(len > 3000000);
    CHECK_EQ_INT(parse_lim(b, len, "Delete", &lim, NULL, &at), -CF_EINVAL);
    CHECK(at < 64);
    free(b);
    b = repeat("<Delete", " xmlns:a=\"\"", 300000, "/>", &len);
    CHECK_EQ_INT(parse_lim(b, len, "Delete", &lim, NULL, &at), -CF_EINVAL);  /* repeated */
    CHECK(at < 64);
    free(b);
}

/* issue 17: 200,000 <Quiet> elements (3.8 MB) raised RSS by 56 MB that
 * stayed; here the element bound of the operation ends it, and what was
 * allocated is two blocks sized by that bound. */
static void element_bomb(void)
{
    size_t len, at;
    xmlread_limits l = {.max_elements = 6002, .max_depth = 3, .max_text = 1024};
    char *b = repeat("<Delete>", "<Quiet>true</Quiet>", 200000, "</Delete>", &len);
    REQUIRE(len > 3800000);
    CHECK_EQ_INT(parse_lim(b, len, "Delete", &l, NULL, &at), -CF_ETOOLARGE);
    CHECK(at < 8 + 6002 * 19);
    free(b);
    /* nesting bomb */
    b = repeat("<Delete>", "<a>", 200000, "", &len);
    CHECK_EQ_INT(parse_lim(b, len, "Delete", &l, NULL, &at), -CF_ETOOLARGE);
    CHECK(at < 32);
    free(b);
    /* one huge text */
    b = repeat("<Delete><Key>", "x", 3000000, "</Key></Delete>", &len);
    CHECK_EQ_INT(parse_lim(b, len, "Delete", &l, NULL, &at), -CF_ETOOLARGE);
    CHECK(at < 2048);
    free(b);
    /* white space between elements is not text and costs nothing */
    b = repeat("<Delete>", " ", 3000000, "<Quiet>true</Quiet></Delete>", &len);
    CHECK_EQ_INT(parse_lim(b, len, "Delete", &l, NULL, &at), 0);
    free(b);
}

/* A remote's answers may carry attributes (Azure: Encoded="true" on a
 * blob's Name): kept only where the caller allows them, decoded, bounded
 * per element, refused where it does not. */
static void kept_attributes(void)
{
    const xmlread_limits al = {.max_elements = 100, .max_depth = 4, .max_text = 64,
                               .max_attrs = 2};
    const char *doc = "<EnumerationResults xmlns:x=\"urn:x\" ServiceEndpoint=\"h&amp;p\" "
                      "x:ContainerName='c'><Name Encoded=\"true\">a%20b</Name>"
                      "</EnumerationResults>";
    xmlread_doc *d = NULL;
    REQUIRE(parse_lim(doc, strlen(doc), "EnumerationResults", &al, &d, NULL) == 0);
    const xmlread_node *root = xmlread_root(d);
    CHECK_EQ_INT(root->nattrs, 2);
    CHECK_EQ_STR(xmlread_attribute(root, "ServiceEndpoint"), "h&p");
    CHECK_EQ_STR(xmlread_attribute(root, "ContainerName"), "c");
    CHECK(xmlread_attribute(root, "xmlns") == NULL);
    const xmlread_node *name = xmlread_child(root, "Name");
    CHECK_EQ_STR(xmlread_attribute(name, "Encoded"), "true");
    CHECK_EQ_STR(name->text, "a%20b");
    xmlread_free(d);
    size_t at;
    /* not allowed: the request bodies' rule */
    CHECK_EQ_INT(parse_lim(doc, strlen(doc), "EnumerationResults", &lim, NULL, &at),
                 -CF_EINVAL);
    /* one more than allowed, repeated, an undeclared prefix, a bad value */
    const char *three = "<R a=\"1\" b=\"2\" c=\"3\"/>";
    CHECK_EQ_INT(parse_lim(three, strlen(three), "R", &al, NULL, &at), -CF_ETOOLARGE);
    const char *twice = "<R a=\"1\" a=\"2\"/>";
    CHECK_EQ_INT(parse_lim(twice, strlen(twice), "R", &al, NULL, &at), -CF_EINVAL);
    const char *undeclared = "<R p:a=\"1\"/>";
    CHECK_EQ_INT(parse_lim(undeclared, strlen(undeclared), "R", &al, NULL, &at), -CF_EINVAL);
    const char *entity = "<R a=\"&bomb;\"/>";
    CHECK_EQ_INT(parse_lim(entity, strlen(entity), "R", &al, NULL, &at), -CF_EINVAL);
    /* more than XMLREAD_ATTRS_MAX is a caller's mistake */
    const xmlread_limits toomany = {.max_elements = 2, .max_depth = 2, .max_text = 1,
                                    .max_attrs = XMLREAD_ATTRS_MAX + 1};
    CHECK_EQ_INT(parse_lim("<R/>", 4, "R", &toomany, NULL, &at), -CF_EINTERNAL);
}

TEST_MAIN("xmlread",
          T(s3_documents),
          T(malformed_documents),
          T(bounds),
          T(attribute_bomb),
          T(element_bomb),
          T(kept_attributes))
