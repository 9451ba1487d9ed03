/*
 * client/xml.c - the XML a remote answers with: <Error> (S3's and
 * Azure's have the same Code and Message), ListObjectsV2's
 * <ListBucketResult>, <InitiateMultipartUploadResult>,
 * <CompleteMultipartUploadResult>, and Azure's List Blobs
 * <EnumerationResults>.
 *
 * A remote is not trusted more than a client: documents are parsed with
 * libxml2 without network access or entity substitution, a DOCTYPE or
 * entity declaration is refused before parsing, the size is capped by the
 * caller (the client keeps at most max_response bytes of an answer), and
 * text is read only from an element's own text and CDATA children, cut to
 * the caller's buffer. Listings ask for encoding-type=url, so keys are
 * percent-decoded here and may hold any byte but NUL; Azure encodes a
 * blob's name only when it must (Encoded="true"), and so is it decoded.
 */
#include "client/internal.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

static bool has_markup(const char *body, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (body[i] == '<' && memcmp(body + i, needle, n) == 0)
            return true;
    return false;
}

/* The document if it parses under the rules above with root `root`. */
static xmlDocPtr parse(const char *body, size_t len, const char *root)
{
    if (len == 0 || len > INT32_MAX || has_markup(body, len, "<!DOCTYPE") ||
        has_markup(body, len, "<!ENTITY"))
        return NULL;
    xmlDocPtr doc = xmlReadMemory(body, (int)len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR |
                                  XML_PARSE_NOWARNING);
    xmlNodePtr top = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!top || doc->intSubset || doc->extSubset ||
        strcmp((const char *)top->name, root) != 0) {
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

static bool is_elem(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* n's own text, cut to cap - 1 bytes; the full length is returned. */
static size_t text_of(const xmlNode *n, char *out, size_t cap)
{
    size_t at = 0, total = 0;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) || !c->content)
            continue;
        size_t l = strlen((const char *)c->content);
        size_t take = at + l < cap ? l : cap - 1 - at;
        memcpy(out + at, c->content, take);
        at += take;
        total += l;
    }
    out[at] = '\0';
    return total;
}

/* Text of parent's first child element `name` into out; false if absent. */
static bool child_text(const xmlNode *parent, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    for (const xmlNode *c = parent->children; c; c = c->next)
        if (is_elem(c, name)) {
            text_of(c, out, cap);
            return true;
        }
    return false;
}

/* A malloc'd copy of a child's text, percent-decoded if url. */
static char *child_dup(const xmlNode *parent, const char *name, bool url)
{
    for (const xmlNode *c = parent->children; c; c = c->next) {
        if (!is_elem(c, name))
            continue;
        char probe[1];
        size_t len = text_of(c, probe, sizeof probe);
        char *s = malloc(len + 1);
        if (!s)
            return NULL;
        text_of(c, s, len + 1);
        if (url)
            s3c_unescape(s, true);
        return s;
    }
    return NULL;
}

size_t s3c_unescape(char *s, bool plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; s[i]; i++) {
        unsigned hi, lo;
        if (s[i] == '%' && sscanf(s + i + 1, "%1x%1x", &hi, &lo) == 2 && (hi | lo) != 0) {
            s[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            s[o++] = plus_is_space && s[i] == '+' ? ' ' : s[i];
        }
    }
    s[o] = '\0';
    return o;
}

bool s3c_xml_error(const char *body, size_t len, char *code, size_t code_cap,
                   char *msg, size_t msg_cap)
{
    xmlDocPtr doc = parse(body, len, "Error");
    if (!doc)
        return false;
    xmlNodePtr top = xmlDocGetRootElement(doc);
    child_text(top, "Code", code, code_cap);
    child_text(top, "Message", msg, msg_cap);
    xmlFreeDoc(doc);
    return code[0] != '\0';
}

int s3c_xml_upload_id(const char *body, size_t len, char *out, size_t cap, cf_err *err)
{
    xmlDocPtr doc = parse(body, len, "InitiateMultipartUploadResult");
    bool ok = doc && child_text(xmlDocGetRootElement(doc), "UploadId", out, cap) && out[0];
    xmlFreeDoc(doc);
    return ok ? 0 : cf_fail(err, CF_EIO, "the remote's CreateMultipartUpload answer "
                            "has no UploadId");
}

int s3c_xml_complete(const char *body, size_t len, s3c_result *res, cf_err *err)
{
    xmlDocPtr doc = parse(body, len, "CompleteMultipartUploadResult");
    if (!doc)
        return cf_fail(err, CF_EIO, "the remote's CompleteMultipartUpload answer "
                       "is not a CompleteMultipartUploadResult");
    xmlNodePtr top = xmlDocGetRootElement(doc);
    child_text(top, "ETag", res->etag, sizeof res->etag);
    child_text(top, "ChecksumCRC32C", res->crc32c, sizeof res->crc32c);
    xmlFreeDoc(doc);
    return 0;
}

void s3c_listing_free(s3c_listing *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nobjects; i++)
        free(l->objects[i].key);
    for (size_t i = 0; i < l->nprefixes; i++)
        free(l->prefixes[i]);
    free(l->objects);
    free(l->prefixes);
    free(l->next_continuation);
    free(l);
}

static int add_object(s3c_listing *l, const xmlNode *n, bool url)
{
    s3c_object o = {0};
    char size[32];
    if (!(o.key = child_dup(n, "Key", url)))
        return -1;
    child_text(n, "Size", size, sizeof size);
    o.size = strtoull(size, NULL, 10);
    child_text(n, "ETag", o.etag, sizeof o.etag);
    child_text(n, "StorageClass", o.storage_class, sizeof o.storage_class);
    child_text(n, "LastModified", o.last_modified, sizeof o.last_modified);
    s3c_object *grown = realloc(l->objects, (l->nobjects + 1) * sizeof *grown);
    if (!grown) {
        free(o.key);
        return -1;
    }
    l->objects = grown;
    l->objects[l->nobjects++] = o;
    return 0;
}

static int add_prefix(s3c_listing *l, const xmlNode *n, bool url)
{
    char *p = child_dup(n, "Prefix", url);
    char **grown = p ? realloc(l->prefixes, (l->nprefixes + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(p);
        return -1;
    }
    l->prefixes = grown;
    l->prefixes[l->nprefixes++] = p;
    return 0;
}

int s3c_xml_listing(const char *body, size_t len, s3c_listing **out, cf_err *err)
{
    *out = NULL;
    xmlDocPtr doc = parse(body, len, "ListBucketResult");
    if (!doc)
        return cf_fail(err, CF_EIO, "the remote's listing is not a ListBucketResult");
    xmlNodePtr top = xmlDocGetRootElement(doc);
    s3c_listing *l = calloc(1, sizeof *l);
    char flag[16], enc[16];
    child_text(top, "EncodingType", enc, sizeof enc);
    bool url = strcmp(enc, "url") == 0;
    int rc = l ? 0 : -1;
    for (const xmlNode *c = top->children; c && rc == 0; c = c->next) {
        if (is_elem(c, "Contents"))
            rc = add_object(l, c, url);
        else if (is_elem(c, "CommonPrefixes"))
            rc = add_prefix(l, c, url);
    }
    if (rc == 0) {
        child_text(top, "IsTruncated", flag, sizeof flag);
        l->truncated = strcmp(flag, "true") == 0;
        l->next_continuation = child_dup(top, "NextContinuationToken", false);
        if (l->truncated && !l->next_continuation)
            rc = cf_fail(err, CF_EIO, "the remote's truncated listing has no "
                         "NextContinuationToken");
    } else {
        cf_fail(err, CF_ENOMEM, "out of memory");
    }
    xmlFreeDoc(doc);
    if (rc < 0) {
        s3c_listing_free(l);
        return -1;
    }
    *out = l;
    return 0;
}

/* ---- Azure: List Blobs ------------------------------------------------------- */

void azb_listing_free(azb_listing *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nblobs; i++)
        free(l->blobs[i].name);
    free(l->blobs);
    free(l->next_marker);
    free(l);
}

static const xmlNode *child(const xmlNode *parent, const char *name)
{
    for (const xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
        if (is_elem(c, name))
            return c;
    return NULL;
}

static int add_blob(azb_listing *l, const xmlNode *n)
{
    azb_blob b = {0};
    const xmlNode *name = child(n, "Name"), *props = child(n, "Properties");
    xmlChar *enc = name ? xmlGetProp(name, (const xmlChar *)"Encoded") : NULL;
    bool url = enc && strcmp((const char *)enc, "true") == 0;
    xmlFree(enc);
    char size[32] = "";
    if (!(b.name = child_dup(n, "Name", false)))
        return -1;
    if (url)
        s3c_unescape(b.name, false);
    if (props) {
        child_text(props, "Content-Length", size, sizeof size);
        child_text(props, "Etag", b.etag, sizeof b.etag);
        child_text(props, "Content-MD5", b.content_md5, sizeof b.content_md5);
        child_text(props, "AccessTier", b.access_tier, sizeof b.access_tier);
        child_text(props, "ArchiveStatus", b.archive_status, sizeof b.archive_status);
        child_text(props, "Last-Modified", b.last_modified, sizeof b.last_modified);
    }
    b.size = strtoull(size, NULL, 10);
    azb_blob *grown = realloc(l->blobs, (l->nblobs + 1) * sizeof *grown);
    if (!grown) {
        free(b.name);
        return -1;
    }
    l->blobs = grown;
    l->blobs[l->nblobs++] = b;
    return 0;
}

int s3c_xml_blob_list(const char *body, size_t len, azb_listing **out, cf_err *err)
{
    *out = NULL;
    xmlDocPtr doc = parse(body, len, "EnumerationResults");
    if (!doc)
        return cf_fail(err, CF_EIO, "the remote's listing is not an EnumerationResults");
    const xmlNode *top = xmlDocGetRootElement(doc), *blobs = child(top, "Blobs");
    azb_listing *l = calloc(1, sizeof *l);
    int rc = l ? 0 : -1;
    for (const xmlNode *c = blobs ? blobs->children : NULL; c && rc == 0; c = c->next)
        if (is_elem(c, "Blob") && !child(c, "Name"))
            rc = -2;
        else if (is_elem(c, "Blob"))
            rc = add_blob(l, c);
    if (rc == 0 && child(top, "NextMarker")) {
        char probe[1];
        if (text_of(child(top, "NextMarker"), probe, sizeof probe) > 0 &&
            !(l->next_marker = child_dup(top, "NextMarker", false)))
            rc = -1;
    }
    xmlFreeDoc(doc);
    if (rc < 0) {
        azb_listing_free(l);
        return rc == -2 ? cf_fail(err, CF_EIO, "the remote's listing has a Blob without a Name")
                        : cf_fail(err, CF_ENOMEM, "out of memory");
    }
    *out = l;
    return 0;
}
