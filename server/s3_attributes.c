/*
 * server/s3_attributes.c - GetObjectAttributes (GET ?attributes): what
 * x-amz-object-attributes asks for of the current object, in one XML
 * document: ETag (unquoted, as S3 writes it here), Checksum (value and
 * type), ObjectParts (a multipart object's parts, numbered 1..N, paged by
 * x-amz-max-parts and x-amz-part-number-marker), StorageClass and
 * ObjectSize. An SSE-C object needs its key, as for HEAD.
 */
#include <stdio.h>
#include <string.h>

#include "common/hdrlist.h"
#include "common/numparse.h"
#include "server/s3_common.h"
#include "server/s3_ops.h"
#include "server/xml.h"

#define PARTS_MAX 1000

static const char *const attr_names[] = {
    [S3_ATTR_ETAG] = "ETag", [S3_ATTR_CHECKSUM] = "Checksum",
    [S3_ATTR_OBJECT_PARTS] = "ObjectParts", [S3_ATTR_STORAGE_CLASS] = "StorageClass",
    [S3_ATTR_OBJECT_SIZE] = "ObjectSize",
};

int s3_attributes_parse(const char *v, unsigned *mask)
{
    *mask = 0;
    const char *t;
    size_t tl;
    while (hdrlist_next(&v, &t, &tl)) {
        size_t i = 0;
        while (i < S3_ATTR_COUNT &&
               !(strlen(attr_names[i]) == tl && memcmp(attr_names[i], t, tl) == 0))
            i++;
        if (i == S3_ATTR_COUNT)
            return -1;
        *mask |= 1u << i;
    }
    return *mask ? 0 : -1;
}

/* A number from a header, digits only, at most max; dflt when absent. */
static int header_number(s3_req *r, const char *name, uint64_t max, uint64_t dflt,
                         uint64_t *out)
{
    const char *v = req_header(r, name);
    cf_err err;
    *out = dflt;
    if (!v || numparse_str(v, max, NUMPARSE_LEADING_ZEROS, out, &err) == 0)
        return 0;
    char *msg = pool_printf(r->pool, "The %s header must be an integer from 0 to %llu",
                            name, (unsigned long long)max);
    resp_error(r, S3E_InvalidArgument, msg);
    return -1;
}

typedef struct parts_out {
    sbuf items;
    cks_algo algo;
    uint32_t last;
} parts_out;

static int on_part(void *ctx, const st_object_part *p)
{
    parts_out *o = ctx;
    o->last = p->number;
    xml_open(&o->items, "Part");
    s3_checksum_xml(&o->items, p->checksum_b64, o->algo);
    xml_elem_u64(&o->items, "PartNumber", p->number);
    xml_elem_u64(&o->items, "Size", p->size);
    xml_close(&o->items, "Part");
    return 0;
}

/* <ObjectParts> of a multipart object: the page after the marker. */
static int write_parts(s3_req *r, uint64_t marker, uint64_t max)
{
    parts_out o = {.algo = r->info.checksum_algo};
    bool truncated = false;
    cf_err err;
    sbuf_init(&o.items, 0);
    if (st_object_parts(r->srv->engine, r->info.version_id, (uint32_t)marker, (int)max,
                        on_part, &o, &truncated, &err) < 0) {
        sbuf_free(&o.items);
        resp_cf(r, &err);
        return -1;
    }
    xml_open(&r->resp, "ObjectParts");
    xml_elem_u64(&r->resp, "PartsCount", (unsigned long long)r->info.nparts);
    xml_elem_u64(&r->resp, "PartNumberMarker", marker);
    if (truncated)
        xml_elem_u64(&r->resp, "NextPartNumberMarker", o.last);
    xml_elem_u64(&r->resp, "MaxParts", max);
    xml_elem_bool(&r->resp, "IsTruncated", truncated);
    sbuf_add(&r->resp, o.items.p ? o.items.p : "", o.items.len);
    if (o.items.failed)
        r->resp.failed = true;
    sbuf_free(&o.items);
    xml_close(&r->resp, "ObjectParts");
    return 0;
}

static void attributes_run(s3_req *r)
{
    unsigned want;
    uint64_t max, marker;
    s3_ssec k;
    cf_err err;
    const char *version;
    if (s3_version_param(r, &version) < 0 || s3_ssec_request(r, false, &k) < 0)
        return;
    const char *list = req_header(r, "x-amz-object-attributes");
    if (!list || !*list) {
        resp_error(r, S3E_InvalidArgument, "The x-amz-object-attributes header specifying "
                   "the attributes to be retrieved is either missing or empty");
        return;
    }
    if (s3_attributes_parse(list, &want) < 0) {
        resp_error(r, S3E_InvalidArgument, "Invalid attribute name specified.");
        return;
    }
    if (header_number(r, "x-amz-max-parts", 2147483647u, PARTS_MAX, &max) < 0 ||
        header_number(r, "x-amz-part-number-marker", ST_MAX_PARTS, 0, &marker) < 0)
        return;
    if (max > PARTS_MAX)
        max = PARTS_MAX;
    if (st_head_ssec(r->srv->engine, r->tenant, r->bucket, r->key, version,
                     k.present ? k.key : NULL, &r->info, &err) < 0) {
        s3_ssec_failed(r, &err, &k, false);
        if (r->info.delete_marker)
            s3_version_headers(r, &r->info, true);
        return;
    }
    r->info_set = true;
    s3_version_headers(r, &r->info, version != NULL);
    char date[32];
    req_http_date(r->info.mtime_ms / 1000, date);
    resp_header(r, "Last-Modified", date);
    xml_begin(&r->resp, "GetObjectAttributesResponse");
    if (want & (1u << S3_ATTR_ETAG)) {
        size_t n = strlen(r->info.etag);
        char *bare = pool_strndup(r->pool, r->info.etag + 1, n >= 2 ? n - 2 : 0);
        xml_elem(&r->resp, "ETag", bare ? bare : "");
    }
    if ((want & (1u << S3_ATTR_CHECKSUM)) && r->info.checksum_algo != CKS_NONE) {
        xml_open(&r->resp, "Checksum");
        s3_checksum_xml(&r->resp, r->info.checksum_b64, r->info.checksum_algo);
        xml_elem(&r->resp, "ChecksumType", s3_checksum_type(&r->info));
        xml_close(&r->resp, "Checksum");
    }
    if ((want & (1u << S3_ATTR_OBJECT_PARTS)) && r->info.nparts > 0 &&
        write_parts(r, marker, max) < 0)
        return;
    if (want & (1u << S3_ATTR_STORAGE_CLASS))
        xml_elem(&r->resp, "StorageClass",
                 r->info.storage_class[0] ? r->info.storage_class : "STANDARD");
    if (want & (1u << S3_ATTR_OBJECT_SIZE))
        xml_elem_u64(&r->resp, "ObjectSize", r->info.size);
    xml_close(&r->resp, "GetObjectAttributesResponse");
    resp_xml(r, 200);
}

const s3_op op_get_object_attributes = {"GetObjectAttributes", BODY_NONE, ACT_READ, NULL,
                                        NULL, attributes_run};
