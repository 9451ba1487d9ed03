/*
 * server/s3_list.c - the listing operations: ListObjects (V1), ListObjectsV2,
 * ListObjectVersions (versions and delete markers, in the engine's key and
 * newest-first order), ListMultipartUploads and ListParts.
 *
 * The engine does the key walk and the delimiter roll-up (st_list,
 * st_list_versions); this
 * file only turns arguments into st_list_args and entries into XML. Entries
 * are gathered into side buffers first because the paging fields
 * (IsTruncated, NextMarker...) precede them in the document but are known
 * only after the walk. A truncated page always carries its resume point:
 * NextMarker in V1 (rclone and aws-sdk-go rely on it with a delimiter),
 * NextContinuationToken in V2 (restic breaks without it); continuation
 * tokens come from s3_token_encode.
 */
#include <stdio.h>
#include <string.h>

#include "server/s3_common.h"
#include "server/s3_ops.h"
#include "server/xml.h"

#define LIST_MAX 1000

typedef struct list_ctx {
    s3_req *r;
    sbuf items, prefixes;
    bool url, owner, versions;
    int count;
} list_ctx;

static void ctx_init(list_ctx *c, s3_req *r)
{
    memset(c, 0, sizeof(*c));
    c->r = r;
    sbuf_init(&c->items, 0);
    sbuf_init(&c->prefixes, 0);
}

static void ctx_free(list_ctx *c)
{
    sbuf_free(&c->items);
    sbuf_free(&c->prefixes);
}

static void write_owner(list_ctx *c, sbuf *b)
{
    if (!c->owner)
        return;
    xml_open(b, "Owner");
    xml_elem(b, "ID", c->r->tenant);
    xml_elem(b, "DisplayName", c->r->tenant);
    xml_close(b, "Owner");
}

static void write_entry(list_ctx *c, const st_object_info *o)
{
    sbuf *b = &c->items;
    const char *elem = !c->versions ? "Contents" : o->delete_marker ? "DeleteMarker"
                                                                    : "Version";
    xml_open(b, elem);
    xml_elem_key(b, "Key", o->key, c->url);
    if (c->versions) {
        xml_elem(b, "VersionId", st_version_name(o));
        xml_elem_bool(b, "IsLatest", o->latest);
    }
    xml_elem_time_ms(b, "LastModified", o->mtime_ms);
    if (o->delete_marker) {
        write_owner(c, b);
        xml_close(b, elem);
        return;
    }
    xml_elem(b, "ETag", o->etag);
    xml_elem_u64(b, "Size", o->size);
    if (o->checksum_algo != CKS_NONE && !c->versions) {
        xml_elem(b, "ChecksumAlgorithm", cks_algo_name(o->checksum_algo));
        xml_elem(b, "ChecksumType", s3_checksum_type(o));
    }
    xml_elem(b, "StorageClass", o->storage_class[0] ? o->storage_class : "STANDARD");
    write_owner(c, b);
    xml_close(b, elem);
}

static void write_prefix(sbuf *b, const char *prefix, bool url)
{
    xml_open(b, "CommonPrefixes");
    xml_elem_key(b, "Prefix", prefix, url);
    xml_close(b, "CommonPrefixes");
}

static int on_entry(void *ctx, const st_object_info *obj, const char *common_prefix)
{
    list_ctx *c = ctx;
    c->count++;
    if (obj)
        write_entry(c, obj);
    else
        write_prefix(&c->prefixes, common_prefix, c->url);
    return 0;
}

/* Shared by the three object listings: read prefix, delimiter, max-keys
 * and encoding-type into args/c. */
static int common_args(s3_req *r, list_ctx *c, st_list_args *a)
{
    long max;
    if (s3_encoding_url(r, &c->url) < 0 ||
        s3_int_param(r, "max-keys", 0, 2147483647L, LIST_MAX, &max) < 0)
        return -1;
    memset(a, 0, sizeof(*a));
    a->tenant = r->tenant;
    a->bucket = r->bucket;
    a->prefix = req_param(r, "prefix");
    a->delimiter = req_param(r, "delimiter");
    a->max_keys = max > LIST_MAX ? LIST_MAX : (int)max;
    return 0;
}

static void head_fields(s3_req *r, const list_ctx *c, const st_list_args *a)
{
    xml_elem(&r->resp, "Name", r->bucket);
    xml_elem_key(&r->resp, "Prefix", a->prefix ? a->prefix : "", c->url);
    if (a->delimiter && *a->delimiter)
        xml_elem_key(&r->resp, "Delimiter", a->delimiter, c->url);
    xml_elem_u64(&r->resp, "MaxKeys", (unsigned long long)a->max_keys);
    if (c->url)
        xml_elem(&r->resp, "EncodingType", "url");
}

static void finish_listing(s3_req *r, list_ctx *c, const char *root)
{
    sbuf_add(&r->resp, c->items.p ? c->items.p : "", c->items.len);
    sbuf_add(&r->resp, c->prefixes.p ? c->prefixes.p : "", c->prefixes.len);
    if (c->items.failed || c->prefixes.failed)
        r->resp.failed = true;
    xml_close(&r->resp, root);
    resp_xml(r, 200);
}

static int run_list(s3_req *r, list_ctx *c, const st_list_args *a, bool *truncated,
                    char *next)
{
    cf_err err;
    if (st_list(r->srv->engine, a, on_entry, c, truncated, next, &err) < 0) {
        resp_cf(r, &err);
        return -1;
    }
    return 0;
}

static void list_v1_run(s3_req *r)
{
    list_ctx c;
    st_list_args a;
    bool truncated = false;
    char *next = pool_alloc(r->pool, ST_MAX_KEY + 1);
    ctx_init(&c, r);
    c.owner = true;
    if (next && common_args(r, &c, &a) == 0) {
        const char *marker = req_param(r, "marker");
        a.start_after = marker && *marker ? marker : NULL;
        if (run_list(r, &c, &a, &truncated, next) == 0) {
            xml_begin(&r->resp, "ListBucketResult");
            head_fields(r, &c, &a);
            xml_elem_key(&r->resp, "Marker", marker ? marker : "", c.url);
            xml_elem_bool(&r->resp, "IsTruncated", truncated);
            if (truncated)
                xml_elem_key(&r->resp, "NextMarker", next, c.url);
            finish_listing(r, &c, "ListBucketResult");
        }
    } else if (!next) {
        resp_error(r, S3E_InternalError, NULL);
    }
    ctx_free(&c);
}

static void list_v2_run(s3_req *r)
{
    list_ctx c;
    st_list_args a;
    bool truncated = false;
    char *next = pool_alloc(r->pool, ST_MAX_KEY + 1);
    const char *token = req_param(r, "continuation-token");
    const char *start_after = req_param(r, "start-after");
    const char *fetch = req_param(r, "fetch-owner");
    ctx_init(&c, r);
    c.owner = fetch && strcmp(fetch, "true") == 0;
    if (!next) {
        resp_error(r, S3E_InternalError, NULL);
    } else if (common_args(r, &c, &a) == 0) {
        const char *from = start_after && *start_after ? start_after : NULL;
        if ((!token || s3_token_decode(r, token, &from) == 0)) {
            a.start_after = from;
            if (run_list(r, &c, &a, &truncated, next) == 0) {
                xml_begin(&r->resp, "ListBucketResult");
                head_fields(r, &c, &a);
                xml_elem_u64(&r->resp, "KeyCount", (unsigned long long)c.count);
                xml_elem_bool(&r->resp, "IsTruncated", truncated);
                if (token)
                    xml_elem(&r->resp, "ContinuationToken", token);
                if (truncated)
                    xml_elem(&r->resp, "NextContinuationToken", s3_token_encode(r->pool, next));
                if (start_after)
                    xml_elem_key(&r->resp, "StartAfter", start_after, c.url);
                finish_listing(r, &c, "ListBucketResult");
            }
        }
    }
    ctx_free(&c);
}

/* version-id-marker: only with a key-marker, and a well-formed id. */
static int version_marker(s3_req *r, const char *key_marker, const char **out)
{
    *out = req_param(r, "version-id-marker");
    if (*out && !**out)
        *out = NULL;
    if (*out && !(key_marker && *key_marker)) {
        resp_error(r, S3E_InvalidArgument, "A version-id marker cannot be specified "
                   "without a key marker.");
        return -1;
    }
    if (*out && !st_version_name_ok(*out)) {
        resp_error(r, S3E_InvalidArgument, "Invalid version id specified");
        return -1;
    }
    return 0;
}

static void list_versions_run(s3_req *r)
{
    list_ctx c;
    st_list_args a;
    cf_err err;
    bool truncated = false;
    char *next = pool_alloc(r->pool, ST_MAX_KEY + 1);
    char next_version[ST_ID_HEX];
    const char *marker = req_param(r, "key-marker"), *vmarker;
    ctx_init(&c, r);
    c.owner = true;
    c.versions = true;
    if (!next) {
        resp_error(r, S3E_InternalError, NULL);
    } else if (common_args(r, &c, &a) == 0 && version_marker(r, marker, &vmarker) == 0) {
        a.start_after = marker && *marker ? marker : NULL;
        if (st_list_versions(r->srv->engine, &a, vmarker, on_entry, &c, &truncated, next,
                             next_version, &err) < 0) {
            resp_cf(r, &err);
        } else {
            xml_begin(&r->resp, "ListVersionsResult");
            head_fields(r, &c, &a);
            xml_elem_key(&r->resp, "KeyMarker", marker ? marker : "", c.url);
            xml_elem(&r->resp, "VersionIdMarker", vmarker ? vmarker : "");
            xml_elem_bool(&r->resp, "IsTruncated", truncated);
            if (truncated) {
                xml_elem_key(&r->resp, "NextKeyMarker", next, c.url);
                if (next_version[0])
                    xml_elem(&r->resp, "NextVersionIdMarker", next_version);
            }
            finish_listing(r, &c, "ListVersionsResult");
        }
    }
    ctx_free(&c);
}

/* ---- multipart listings ---------------------------------------------- */

typedef struct upload_ctx {
    s3_req *r;
    list_ctx *c;
    const char *prefix, *delimiter;
    char *last_prefix;               /* last CommonPrefix written */
    const char *last_key, *last_id;
} upload_ctx;

static int on_upload(void *ctx, const st_upload_info *u)
{
    upload_ctx *uc = ctx;
    s3_req *r = uc->r;
    size_t plen = uc->prefix ? strlen(uc->prefix) : 0;
    uc->last_key = pool_strdup(r->pool, u->key);
    uc->last_id = pool_strdup(r->pool, u->upload_id);
    if (uc->delimiter && *uc->delimiter) {
        const char *d = strstr(u->key + plen, uc->delimiter);
        if (d) {
            size_t cut = (size_t)(d - u->key) + strlen(uc->delimiter);
            if (!uc->last_prefix || strlen(uc->last_prefix) != cut ||
                memcmp(uc->last_prefix, u->key, cut) != 0) {
                uc->last_prefix = pool_strndup(r->pool, u->key, cut);
                if (uc->last_prefix)
                    write_prefix(&uc->c->prefixes, uc->last_prefix, uc->c->url);
            }
            return 0;
        }
    }
    sbuf *b = &uc->c->items;
    xml_open(b, "Upload");
    xml_elem_key(b, "Key", u->key, uc->c->url);
    xml_elem(b, "UploadId", u->upload_id);
    xml_open(b, "Initiator");
    xml_elem(b, "ID", r->tenant);
    xml_elem(b, "DisplayName", r->tenant);
    xml_close(b, "Initiator");
    xml_open(b, "Owner");
    xml_elem(b, "ID", r->tenant);
    xml_elem(b, "DisplayName", r->tenant);
    xml_close(b, "Owner");
    xml_elem(b, "StorageClass", "STANDARD");
    xml_elem_time_ms(b, "Initiated", u->created_ms);
    if (u->checksum_algo != CKS_NONE) {
        xml_elem(b, "ChecksumAlgorithm", cks_algo_name(u->checksum_algo));
        xml_elem(b, "ChecksumType", u->checksum_full ? "FULL_OBJECT" : "COMPOSITE");
    }
    xml_close(b, "Upload");
    return 0;
}

static void list_uploads_body(s3_req *r, list_ctx *c)
{
    long max;
    bool truncated = false;
    cf_err err;
    if (s3_encoding_url(r, &c->url) < 0 ||
        s3_int_param(r, "max-uploads", 0, 2147483647L, LIST_MAX, &max) < 0)
        return;
    if (max > LIST_MAX)
        max = LIST_MAX;
    const char *km = req_param(r, "key-marker"), *um = req_param(r, "upload-id-marker");
    upload_ctx uc = {.r = r, .c = c, .prefix = req_param(r, "prefix"),
                     .delimiter = req_param(r, "delimiter")};
    if (st_upload_list(r->srv->engine, r->tenant, r->bucket, uc.prefix,
                       km && *km ? km : NULL, um && *um ? um : NULL, (int)max,
                       on_upload, &uc, &truncated, &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    xml_begin(&r->resp, "ListMultipartUploadsResult");
    xml_elem(&r->resp, "Bucket", r->bucket);
    xml_elem_key(&r->resp, "KeyMarker", km ? km : "", c->url);
    xml_elem(&r->resp, "UploadIdMarker", um ? um : "");
    if (truncated && uc.last_key) {
        xml_elem_key(&r->resp, "NextKeyMarker", uc.last_key, c->url);
        xml_elem(&r->resp, "NextUploadIdMarker", uc.last_id);
    }
    xml_elem_key(&r->resp, "Prefix", uc.prefix ? uc.prefix : "", c->url);
    if (uc.delimiter && *uc.delimiter)
        xml_elem_key(&r->resp, "Delimiter", uc.delimiter, c->url);
    xml_elem_u64(&r->resp, "MaxUploads", (unsigned long long)max);
    if (c->url)
        xml_elem(&r->resp, "EncodingType", "url");
    xml_elem_bool(&r->resp, "IsTruncated", truncated);
    finish_listing(r, c, "ListMultipartUploadsResult");
}

static void list_uploads_run(s3_req *r)
{
    list_ctx c;
    ctx_init(&c, r);
    list_uploads_body(r, &c);
    ctx_free(&c);
}

typedef struct parts_ctx {
    list_ctx *c;
    uint32_t last;
    const st_upload_info *up;        /* filled before the first part */
} parts_ctx;

static int on_part(void *ctx, const st_part_info *p)
{
    parts_ctx *pc = ctx;
    sbuf *b = &pc->c->items;
    pc->last = p->part_number;
    xml_open(b, "Part");
    xml_elem_u64(b, "PartNumber", p->part_number);
    xml_elem_time_ms(b, "LastModified", p->mtime_ms);
    xml_elem(b, "ETag", p->etag);
    xml_elem_u64(b, "Size", p->size);
    s3_checksum_xml(b, p->checksum_b64, pc->up->checksum_algo);
    xml_close(b, "Part");
    return 0;
}

static void list_parts_body(s3_req *r, list_ctx *c)
{
    long max, marker;
    bool truncated = false;
    cf_err err;
    if (s3_int_param(r, "max-parts", 0, 2147483647L, LIST_MAX, &max) < 0 ||
        s3_int_param(r, "part-number-marker", 0, ST_MAX_PARTS, 0, &marker) < 0)
        return;
    if (max > LIST_MAX)
        max = LIST_MAX;
    const char *upload_id = req_param(r, "uploadId");
    st_upload_info up;
    parts_ctx pc = {.c = c, .up = &up};
    if (st_upload_list_parts(r->srv->engine, r->tenant, r->bucket, r->key, upload_id,
                             (uint32_t)marker, (int)max, on_part, &pc, &truncated, &up,
                             &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    xml_begin(&r->resp, "ListPartsResult");
    xml_elem(&r->resp, "Bucket", r->bucket);
    xml_elem(&r->resp, "Key", r->key);
    xml_elem(&r->resp, "UploadId", upload_id);
    xml_elem_u64(&r->resp, "PartNumberMarker", (unsigned long long)marker);
    if (truncated)
        xml_elem_u64(&r->resp, "NextPartNumberMarker", pc.last);
    xml_elem_u64(&r->resp, "MaxParts", (unsigned long long)max);
    xml_elem_bool(&r->resp, "IsTruncated", truncated);
    s3_write_owner(r, "Initiator");
    s3_write_owner(r, "Owner");
    xml_elem(&r->resp, "StorageClass", "STANDARD");
    if (up.checksum_algo != CKS_NONE) {
        xml_elem(&r->resp, "ChecksumAlgorithm", cks_algo_name(up.checksum_algo));
        xml_elem(&r->resp, "ChecksumType", up.checksum_full ? "FULL_OBJECT" : "COMPOSITE");
    }
    finish_listing(r, c, "ListPartsResult");
}

static void list_parts_run(s3_req *r)
{
    list_ctx c;
    ctx_init(&c, r);
    list_parts_body(r, &c);
    ctx_free(&c);
}

const s3_op op_list_objects_v1 = {"ListObjects", BODY_NONE, ACT_READ, NULL, NULL, list_v1_run};
const s3_op op_list_objects_v2 = {"ListObjectsV2", BODY_NONE, ACT_READ, NULL, NULL, list_v2_run};
const s3_op op_list_object_versions = {"ListObjectVersions", BODY_NONE, ACT_READ, NULL, NULL,
                                       list_versions_run};
const s3_op op_list_uploads = {"ListMultipartUploads", BODY_NONE, ACT_READ, NULL, NULL,
                               list_uploads_run};
const s3_op op_list_parts = {"ListParts", BODY_NONE, ACT_READ, NULL, NULL, list_parts_run};
