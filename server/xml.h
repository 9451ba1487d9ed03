/*
 * server/xml.h - S3 XML in and out.
 *
 * Out: documents are written straight into an sbuf with escaping done
 * here, so no handler ever concatenates unescaped client data into XML.
 * Keys and prefixes go through xml_elem_key, which applies the
 * encoding-type=url transformation when the client asked for it.
 *
 * In: xml_parse accepts a request body only if it is at most XML_MAX_BODY
 * bytes, has no DOCTYPE or entity declarations (refused before parsing),
 * parses without network access or entity substitution, and has the
 * expected root element (namespace ignored, as S3 does). Text is read from
 * text and CDATA children only, never through entity references.
 */
#ifndef SRV_XML_H
#define SRV_XML_H

#include <stdbool.h>
#include <libxml/tree.h>

#include "server/pool.h"
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

/* Parse a request body; NULL if refused or malformed (caller answers
 * MalformedXML). The caller frees the document with xmlFreeDoc. */
xmlDocPtr xml_parse(const char *body, size_t len, const char *root);
bool xml_is(const xmlNode *n, const char *name);
/* Concatenated text of n's direct text/CDATA children, in the pool. */
char *xml_node_text(pool *p, const xmlNode *n);
/* Text of the first child element named `name`, or NULL. */
char *xml_child_text(pool *p, const xmlNode *parent, const char *name);

/* Process-wide libxml2 setup/teardown (called from main). */
void xml_init(void);
void xml_cleanup(void);

#endif
