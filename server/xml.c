/*
 * server/xml.c - XML writing by hand (escaping is the only subtle part, and
 * it lives here) and reading with libxml2 under hostile-input rules: size
 * cap, DTDs refused outright, XML_PARSE_NONET, no XML_PARSE_NOENT, and a
 * text accessor that ignores entity reference nodes.
 */
#include "server/xml.h"

#include <libxml/parser.h>
#include <string.h>
#include <time.h>

void xml_begin(sbuf *b, const char *root)
{
    sbuf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s xmlns=\"%s\">",
                root, S3_XMLNS);
}

void xml_open(sbuf *b, const char *name)
{
    sbuf_printf(b, "<%s>", name);
}

void xml_close(sbuf *b, const char *name)
{
    sbuf_printf(b, "</%s>", name);
}

void xml_text(sbuf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        char num[8];
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default:
            if (c < 0x20 && c != '\t' && c != '\n') {
                snprintf(num, sizeof(num), "&#x%X;", c);
                rep = num;
            }
        }
        if (rep) {
            sbuf_add(b, run, (size_t)(s - run));
            sbuf_puts(b, rep);
            run = s + 1;
        }
    }
    sbuf_add(b, run, (size_t)(s - run));
}

void xml_elem(sbuf *b, const char *name, const char *text)
{
    xml_open(b, name);
    xml_text(b, text ? text : "");
    xml_close(b, name);
}

void xml_elem_u64(sbuf *b, const char *name, unsigned long long v)
{
    sbuf_printf(b, "<%s>%llu</%s>", name, v, name);
}

void xml_elem_bool(sbuf *b, const char *name, bool v)
{
    xml_elem(b, name, v ? "true" : "false");
}

static bool url_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
           c == '~' || c == '/';
}

void xml_elem_key(sbuf *b, const char *name, const char *text, bool url)
{
    if (!url) {
        xml_elem(b, name, text);
        return;
    }
    xml_open(b, name);
    for (const unsigned char *s = (const unsigned char *)(text ? text : ""); *s; s++) {
        if (url_unreserved(*s))
            sbuf_add(b, s, 1);
        else
            sbuf_printf(b, "%%%02X", *s);
    }
    xml_close(b, name);
}

void xml_elem_time_ms(sbuf *b, const char *name, long long unix_ms)
{
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    char buf[32];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    sbuf_printf(b, "<%s>%s.%03dZ</%s>", name, buf, (int)(unix_ms % 1000), name);
}

static bool contains(const char *body, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (body[i] == '<' && memcmp(body + i, needle, n) == 0)
            return true;
    return false;
}

xmlDocPtr xml_parse(const char *body, size_t len, const char *root)
{
    if (len == 0 || len > XML_MAX_BODY || contains(body, len, "<!DOCTYPE") ||
        contains(body, len, "<!ENTITY"))
        return NULL;
    xmlDocPtr doc = xmlReadMemory(body, (int)len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR |
                                  XML_PARSE_NOWARNING);
    if (!doc)
        return NULL;
    xmlNodePtr top = xmlDocGetRootElement(doc);
    if (!top || doc->intSubset || doc->extSubset || !xml_is(top, root)) {
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

bool xml_is(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE &&
           strcmp((const char *)n->name, name) == 0;
}

char *xml_node_text(pool *p, const xmlNode *n)
{
    size_t len = 0;
    for (const xmlNode *c = n->children; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            len += strlen((const char *)c->content);
    char *out = pool_alloc(p, len + 1);
    if (!out)
        return NULL;
    size_t at = 0;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
            size_t l = strlen((const char *)c->content);
            memcpy(out + at, c->content, l);
            at += l;
        }
    }
    out[at] = '\0';
    return out;
}

char *xml_child_text(pool *p, const xmlNode *parent, const char *name)
{
    for (const xmlNode *c = parent->children; c; c = c->next)
        if (xml_is(c, name))
            return xml_node_text(p, c);
    return NULL;
}

static void quiet_errors(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

void xml_init(void)
{
    xmlInitParser();
    xmlSetGenericErrorFunc(NULL, quiet_errors);
}

void xml_cleanup(void)
{
    xmlCleanupParser();
}
