/*
 * server/xml.h - S3 XML in and out.
 *
 * Out: documents are written straight into an sbuf with escaping done
 * here, so no handler ever concatenates unescaped client data into XML.
 * Keys and prefixes go through xml_elem_key, which applies the
 * encoding-type=url transformation when the client asked for it.
 *
 * In: request bodies are buffered up to XML_MAX_BODY bytes (http.c) and
 * parsed by server/xmlreq.c.
 */
#ifndef SRV_XML_H
#define SRV_XML_H

#include <stdbool.h>

#include "server/sbuf.h"

#define XML_MAX_BODY (4u << 20)
#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"

/* <?xml ...?><root xmlns="S3_XMLNS"> */
void xml_begin(sbuf *b, const char *root);
void xml_open(sbuf *b, const char *name);
void xml_close(sbuf *b, const char *name);
void xml_text(sbuf *b, const char *s);            /* escaped */
void xml_elem(sbuf *b, const char *name, const char *text);
void xml_elem_u64(sbuf *b, const char *name, unsigned long long v);
void xml_elem_bool(sbuf *b, const char *name, bool v);
/* A key-like value: URL-encoded when url is set (encoding-type=url). */
void xml_elem_key(sbuf *b, const char *name, const char *text, bool url);
/* ISO 8601 with milliseconds: 2006-02-03T16:45:09.000Z */
void xml_elem_time_ms(sbuf *b, const char *name, long long unix_ms);
/* The same time as text: 2026-12-07T01:02:03.004Z. */
void xml_iso_time_ms(long long unix_ms, char out[32]);

#endif
