/*
 * server/xml.c - XML writing by hand: escaping is the only subtle part,
 * and it lives here. (Request bodies are read by common/xmlread.c through
 * server/xmlreq.c.)
 */
#include "server/xml.h"

#include <stdio.h>
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

void xml_iso_time_ms(long long unix_ms, char out[32])
{
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    char buf[24];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", buf, (int)(unix_ms % 1000));
}

void xml_elem_time_ms(sbuf *b, const char *name, long long unix_ms)
{
    char buf[32];
    xml_iso_time_ms(unix_ms, buf);
    xml_elem(b, name, buf);
}
