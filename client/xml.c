/*
 * client/xml.c - the XML a remote answers with: <Error> (S3's and
 * Azure's have the same Code and Message), ListObjectsV2's
 * <ListBucketResult>, <InitiateMultipartUploadResult>,
 * <CompleteMultipartUploadResult>, and Azure's List Blobs
 * <EnumerationResults>.
 *
 * A remote is not trusted more than a client: its answers go through the
 * same bounded reader as request bodies (common/xmlread.h: no DOCTYPE, no
 * entities but the predefined ones, UTF-8 only, every bound checked at the
 * byte that crosses it), with bounds sized for the largest answer each
 * document can be: a listing page of 1,000 keys and 1,000 common
 * prefixes, a List Blobs page of 5,000 blobs (the service's largest), an
 * error document of at most S3C_ERROR_BODY_MAX bytes. The
 * size is also capped by the caller (the client keeps at most
 * max_response bytes of an answer). Text is an element's own text, cut to
 * the caller's buffer. Listings ask for encoding-type=url, so keys are
 * percent-decoded here and may hold any byte but NUL (%00 stays as it is
 * written); Azure encodes a blob's name only when it must (the Name
 * element's Encoded="true", the one attribute read; up to four a remote
 * adds per element are allowed and ignored), and so is it decoded.
 */
#include "client/internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "common/xmlread.h"

/* A listing page: 1,000 <Contents> of at most 14 elements each (Key,
 * LastModified, ETag, ChecksumAlgorithm, ChecksumType, Size, StorageClass,
 * Owner with ID and DisplayName, RestoreStatus with two children),
 * 1,000 <CommonPrefixes> with their <Prefix>, and the page's own fields.
 * Text: a key of 1,024 bytes is at most 3,072 once percent-encoded. */
static const xmlread_limits listing_limits = {
    .max_elements = 1000 * 14 + 1000 * 2 + 64, .max_depth = 4, .max_text = 8192,
    .max_attrs = 4,
};
/* Azure's List Blobs: up to 5,000 <Blob>, each a Name, a Properties of at
 * most 40 children (the service documents about 30), Metadata and Tags
 * (counted in the same bound); the root carries ServiceEndpoint and
 * ContainerName attributes and a Name its Encoded flag. */
static const xmlread_limits blob_list_limits = {
    .max_elements = 5000 * 48 + 64, .max_depth = 5, .max_text = 8192, .max_attrs = 4,
};
/* <Error>: Code, Message and the fields a remote adds (Resource,
 * RequestId, HostId, a signature mismatch's StringToSign and
 * CanonicalRequest...), each as long as the whole kept body at most. */
static const xmlread_limits error_limits = {
    .max_elements = 64, .max_depth = 3, .max_text = S3C_ERROR_BODY_MAX, .max_attrs = 4,
};
/* The multipart answers: Location, Bucket, Key, UploadId, ETag and the
 * checksums. */
static const xmlread_limits multipart_limits = {
    .max_elements = 32, .max_depth = 2, .max_text = 8192, .max_attrs = 4,
};

/* The document if it is a well-formed answer with root `root`. */
static xmlread_doc *parse(const char *body, size_t len, const char *root,
                          const xmlread_limits *lim)
{
    xmlread_doc *doc = NULL;
    cf_err err;
    if (!body || len == 0 || xmlread_parse(body, len, root, lim, &doc, &err) < 0)
        return NULL;
    return doc;
}

/* A child's text into out, cut to cap - 1 bytes; false if there is no
 * such child. */
static bool child_text(const xmlread_node *parent, const char *name, char *out,
                       size_t cap)
{
    const xmlread_node *c = xmlread_child(parent, name);
    out[0] = '\0';
    if (!c)
        return false;
    size_t take = c->text_len < cap ? c->text_len : cap - 1;
    memcpy(out, c->text, take);
    out[take] = '\0';
    return true;
}

/* A child's decimal size: 0 if absent; false unless 1-20 digits that fit. */
static bool child_size(const xmlread_node *parent, const char *name, uint64_t *out)
{
    const xmlread_node *c = xmlread_child(parent, name);
    *out = 0;
    if (!c)
        return true;
    if (c->text_len == 0 || c->text_len > 20 || strspn(c->text, "0123456789") != c->text_len)
        return false;
    for (size_t i = 0; i < c->text_len; i++) {
        uint64_t d = (uint64_t)(c->text[i] - '0');
        if (*out > (UINT64_MAX - d) / 10)
            return false;
        *out = *out * 10 + d;
    }
    return true;
}

size_t s3c_unescape(char *s, bool plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; s[i]; i++) {
        int hi = s[i] == '%' ? hex_value(s[i + 1]) : -1;
        int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
        if (lo >= 0 && (hi | lo) != 0) {
            s[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            s[o++] = plus_is_space && s[i] == '+' ? ' ' : s[i];
        }
    }
    s[o] = '\0';
    return o;
}

/* A malloc'd copy of a child's text, percent-decoded if url; NULL if the
 * child is absent or memory ran out. */
static char *child_dup(const xmlread_node *parent, const char *name, bool url)
{
    const xmlread_node *c = xmlread_child(parent, name);
    char *s = c ? strdup(c->text) : NULL;
    if (s && url)
        s3c_unescape(s, true);
    return s;
}

bool s3c_xml_error(const char *body, size_t len, char *code, size_t code_cap,
                   char *msg, size_t msg_cap)
{
    xmlread_doc *doc = parse(body, len, "Error", &error_limits);
    if (!doc)
        return false;
    const xmlread_node *top = xmlread_root(doc);
    child_text(top, "Code", code, code_cap);
    child_text(top, "Message", msg, msg_cap);
    xmlread_free(doc);
    return code[0] != '\0';
}

int s3c_xml_upload_id(const char *body, size_t len, char *out, size_t cap, cf_err *err)
{
    xmlread_doc *doc = parse(body, len, "InitiateMultipartUploadResult", &multipart_limits);
    bool ok = doc && child_text(xmlread_root(doc), "UploadId", out, cap) && out[0];
    xmlread_free(doc);
    return ok ? 0 : cf_fail(err, CF_EIO, "the remote's CreateMultipartUpload answer "
                            "has no UploadId");
}

int s3c_xml_complete(const char *body, size_t len, s3c_result *res, cf_err *err)
{
    xmlread_doc *doc = parse(body, len, "CompleteMultipartUploadResult", &multipart_limits);
    if (!doc)
        return cf_fail(err, CF_EIO, "the remote's CompleteMultipartUpload answer "
                       "is not a CompleteMultipartUploadResult");
    const xmlread_node *top = xmlread_root(doc);
    child_text(top, "ETag", res->etag, sizeof res->etag);
    child_text(top, "ChecksumCRC32C", res->crc32c, sizeof res->crc32c);
    xmlread_free(doc);
    return 0;
}

void s3c_listing_free(s3c_listing *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nobjects; i++) {
        free(l->objects[i].key);
        free(l->objects[i].upload_id);
    }
    for (size_t i = 0; i < l->nprefixes; i++)
        free(l->prefixes[i]);
    free(l->objects);
    free(l->prefixes);
    free(l->next_continuation);
    free(l);
}

static int add_object(s3c_listing *l, const xmlread_node *n, bool url)
{
    s3c_object o = {0};
    if (!child_size(n, "Size", &o.size))
        return -2;
    if (!(o.key = child_dup(n, "Key", url)))
        return -1;
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

static int add_prefix(s3c_listing *l, const xmlread_node *n, bool url)
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

/* A ListBucketResult (Contents, CommonPrefixes, the continuation token)
 * or, with uploads, a ListMultipartUploadsResult (each Upload's Key and
 * UploadId). */
static int listing_parse(const char *body, size_t len, bool uploads, s3c_listing **out,
                         cf_err *err)
{
    const char *root = uploads ? "ListMultipartUploadsResult" : "ListBucketResult";
    *out = NULL;
    xmlread_doc *doc = parse(body, len, root, &listing_limits);
    if (!doc)
        return cf_fail(err, CF_EIO, "the remote's listing is not a %s", root);
    const xmlread_node *top = xmlread_root(doc);
    s3c_listing *l = calloc(1, sizeof *l);
    char flag[16], enc[16];
    child_text(top, "EncodingType", enc, sizeof enc);
    bool url = strcmp(enc, "url") == 0;
    int rc = l ? 0 : -1;
    for (const xmlread_node *c = top->children; c && rc == 0; c = c->next) {
        if (uploads && xmlread_is(c, "Upload")) {
            rc = add_object(l, c, url);
            if (rc == 0 && !(l->objects[l->nobjects - 1].upload_id =
                                 child_dup(c, "UploadId", false)))
                rc = -1;
        } else if (!uploads && xmlread_is(c, "Contents")) {
            rc = add_object(l, c, url);
        } else if (!uploads && xmlread_is(c, "CommonPrefixes")) {
            rc = add_prefix(l, c, url);
        }
    }
    if (rc == 0) {
        child_text(top, "IsTruncated", flag, sizeof flag);
        l->truncated = strcmp(flag, "true") == 0;
        l->next_continuation = uploads ? NULL : child_dup(top, "NextContinuationToken", false);
        if (!uploads && l->truncated && !l->next_continuation)
            rc = cf_fail(err, CF_EIO, "the remote's truncated listing has no "
                         "NextContinuationToken");
    } else if (rc == -2) {
        cf_fail(err, CF_EIO, "the remote's listing has a Size that is not a number");
    } else {
        cf_fail(err, CF_ENOMEM, "out of memory (or an Upload without an UploadId)");
    }
    xmlread_free(doc);
    if (rc < 0) {
        s3c_listing_free(l);
        return -1;
    }
    *out = l;
    return 0;
}

int s3c_xml_listing(const char *body, size_t len, s3c_listing **out, cf_err *err)
{
    return listing_parse(body, len, false, out, err);
}

int s3c_xml_uploads(const char *body, size_t len, s3c_listing **out, cf_err *err)
{
    return listing_parse(body, len, true, out, err);
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

static int add_blob(azb_listing *l, const xmlread_node *n)
{
    azb_blob b = {0};
    const xmlread_node *name = xmlread_child(n, "Name");
    const xmlread_node *props = xmlread_child(n, "Properties");
    const char *enc = xmlread_attribute(name, "Encoded");
    if (props && !child_size(props, "Content-Length", &b.size))
        return -2;
    if (!(b.name = child_dup(n, "Name", false)))
        return -1;
    if (enc && strcmp(enc, "true") == 0)
        s3c_unescape(b.name, false);
    if (props) {
        child_text(props, "Etag", b.etag, sizeof b.etag);
        child_text(props, "Content-MD5", b.content_md5, sizeof b.content_md5);
        child_text(props, "AccessTier", b.access_tier, sizeof b.access_tier);
        child_text(props, "ArchiveStatus", b.archive_status, sizeof b.archive_status);
        child_text(props, "Last-Modified", b.last_modified, sizeof b.last_modified);
    }
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
    xmlread_doc *doc = parse(body, len, "EnumerationResults", &blob_list_limits);
    if (!doc)
        return cf_fail(err, CF_EIO, "the remote's listing is not an EnumerationResults");
    const xmlread_node *top = xmlread_root(doc), *blobs = xmlread_child(top, "Blobs");
    azb_listing *l = calloc(1, sizeof *l);
    int rc = l ? 0 : -1;
    bool named = true;
    for (const xmlread_node *c = blobs ? blobs->children : NULL; c && rc == 0; c = c->next)
        if (xmlread_is(c, "Blob") && !xmlread_child(c, "Name"))
            rc = -2, named = false;
        else if (xmlread_is(c, "Blob"))
            rc = add_blob(l, c);
    const xmlread_node *next = xmlread_child(top, "NextMarker");
    if (rc == 0 && next && next->text_len > 0 && !(l->next_marker = strdup(next->text)))
        rc = -1;
    xmlread_free(doc);
    if (rc < 0) {
        azb_listing_free(l);
        return rc == -1 ? cf_fail(err, CF_ENOMEM, "out of memory")
             : named    ? cf_fail(err, CF_EIO, "the remote's listing has a Content-Length "
                                  "that is not a number")
                        : cf_fail(err, CF_EIO, "the remote's listing has a Blob without a Name");
    }
    *out = l;
    return 0;
}
