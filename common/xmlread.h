/*
 * common/xmlread.h - the hardened reader for XML a client sends
 * (DeleteObjects, CompleteMultipartUpload, CreateBucketConfiguration, and
 * later lifecycle, tagging, retention, versioning bodies).
 *
 * Every bound is enforced while parsing, at the byte that crosses it, so a
 * hostile document costs at most one pass over the bytes before the bound
 * and never more memory than the bound allows:
 *   - elements in the document (the caller's xmlread_limits.max_elements,
 *     fitted to the operation: DeleteObjects 1,000 objects, Complete...
 *     10,000 parts, lifecycle 1,000 rules);
 *   - nesting depth (max_depth, at most XMLREAD_DEPTH_MAX);
 *   - decoded text in one element (max_text);
 *   - names: XMLREAD_NAME_MAX bytes of ASCII name characters, at most one
 *     ':' (a namespace prefix, which must be declared);
 *   - attributes: namespace declarations (xmlns, xmlns:p), at most
 *     XMLREAD_NS_MAX per element, and other attributes only where the
 *     caller allows them (max_attrs per element, at most XMLREAD_ATTRS_MAX:
 *     S3 request documents carry none, a remote's answers a few, such as
 *     Azure's Encoded="true"); values at most XMLREAD_ATTR_VALUE_MAX bytes.
 * Refused outright: DOCTYPE (so no entity can be declared, let alone
 * expanded), references other than the five predefined entities and
 * character references, text that is not UTF-8 or not XML characters,
 * an encoding other than UTF-8, text mixed with child elements, and
 * anything after the root element but comments, processing instructions
 * and white space.
 *
 * The result is a small tree: the root, each element's local name (the
 * namespace prefix stripped: S3 ignores namespaces), its kept attributes
 * (local names, values decoded), and the text of each element without
 * child elements (entities decoded, CDATA included, line ends normalised
 * to "\n"). Memory: one array of nodes (at most max_elements), one of
 * attributes (only when max_attrs > 0; at most one per five input bytes)
 * and one string area no larger than the input, all freed whole by
 * xmlread_free; nothing else is allocated, whatever the input.
 *
 * Errors (common/error.h): CF_EINVAL for a document that is not
 * well-formed or breaks a rule above, CF_ETOOLARGE for one over a bound
 * (callers answer MalformedXML for both, as S3 does), CF_ENOMEM. The
 * message names the rule and the byte offset. No global state:
 * thread-safe.
 */
#ifndef CF_XMLREAD_H
#define CF_XMLREAD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define XMLREAD_DEPTH_MAX 32
#define XMLREAD_NAME_MAX 64
#define XMLREAD_NS_MAX 4
#define XMLREAD_ATTR_VALUE_MAX 512
#define XMLREAD_ATTRS_MAX 8

typedef struct xmlread_limits {
    size_t max_elements;             /* elements, root included (>= 1) */
    size_t max_depth;                /* root = 1; <= XMLREAD_DEPTH_MAX */
    size_t max_text;                 /* decoded bytes of text per element */
    size_t max_attrs;                /* other attributes kept per element,
                                        <= XMLREAD_ATTRS_MAX; 0: refused */
} xmlread_limits;

typedef struct xmlread_attr {
    const char *name;                /* local name */
    const char *value;               /* decoded, NUL-terminated, no NUL inside */
} xmlread_attr;

typedef struct xmlread_node {
    const char *name;                /* local name, NUL-terminated */
    const char *text;                /* leaf text ("" for an element with children) */
    size_t text_len;                 /* text holds no NUL (XML cannot encode one) */
    struct xmlread_node *children;   /* first child element, or NULL */
    struct xmlread_node *next;       /* next sibling element, or NULL */
    const xmlread_attr *attrs;       /* kept attributes (max_attrs > 0) */
    size_t nattrs;
} xmlread_node;

typedef struct xmlread_doc xmlread_doc;

/* Parse buf[0..len) whose root element must be named root (local name). */
int xmlread_parse(const char *buf, size_t len, const char *root,
                  const xmlread_limits *lim, xmlread_doc **out, cf_err *err);
const xmlread_node *xmlread_root(const xmlread_doc *doc);
void xmlread_free(xmlread_doc *doc);

bool xmlread_is(const xmlread_node *n, const char *name);
/* The first child element named name, or NULL. */
const xmlread_node *xmlread_child(const xmlread_node *n, const char *name);
/* Its text, or NULL if there is no such child. */
const char *xmlread_child_text(const xmlread_node *n, const char *name);
/* The value of n's attribute name (local name), or NULL. */
const char *xmlread_attribute(const xmlread_node *n, const char *name);

#endif
