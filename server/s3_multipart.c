/*
 * server/s3_multipart.c - multipart uploads: Create, UploadPart (the same
 * streamed path as PutObject, see s3_object.c), UploadPartCopy (a source
 * range read from the engine and written as a part, through one bounded
 * buffer), Complete and Abort. Part and ordering rules (InvalidPart,
 * InvalidPartOrder, EntityTooSmall) are the engine's; this file parses and
 * answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/range.h"
#include "server/s3_common.h"
#include "server/s3_ops.h"
#include "server/xml.h"
#include "server/xmlreq.h"

#define COPY_BUF (256u << 10)

static int part_number(s3_req *r, uint32_t *out)
{
    long n;
    if (!req_param(r, "partNumber")) {
        resp_error(r, S3E_InvalidArgument, "partNumber is required");
        return -1;
    }
    if (s3_int_param(r, "partNumber", 1, ST_MAX_PARTS, 0, &n) < 0)
        return -1;
    *out = (uint32_t)n;
    return 0;
}

static void create_run(s3_req *r)
{
    st_header *meta;
    size_t nmeta;
    char upload_id[ST_ID_HEX];
    cf_err err;
    cks_algo algo = CKS_NONE;
    const char *want = req_header(r, "x-amz-checksum-algorithm");
    st_object_attrs attrs;
    if (s3_check_write_headers(r) < 0 || s3_request_meta(r, &meta, &nmeta) < 0 ||
        s3_object_attrs(r, false, &attrs) < 0)
        return;
    if (want && ((algo = cks_algo_from_name(want)) == CKS_NONE || algo == CKS_MD5)) {
        resp_error(r, S3E_InvalidRequest, "Unsupported x-amz-checksum-algorithm");
        return;
    }
    if (st_upload_create(r->srv->engine, r->tenant, r->bucket, r->key, meta, nmeta,
                         algo, &attrs, upload_id, &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    xml_begin(&r->resp, "InitiateMultipartUploadResult");
    xml_elem(&r->resp, "Bucket", r->bucket);
    xml_elem(&r->resp, "Key", r->key);
    xml_elem(&r->resp, "UploadId", upload_id);
    xml_close(&r->resp, "InitiateMultipartUploadResult");
    resp_header(r, "x-amz-server-side-encryption", "AES256");
    if (algo != CKS_NONE)
        resp_header(r, "x-amz-checksum-algorithm", cks_algo_name(algo));
    resp_xml(r, 200);
}

static void part_begin(s3_req *r)
{
    uint32_t part;
    if (part_number(r, &part) == 0)
        s3_put_begin(r, req_param(r, "uploadId"), part);
}

static void part_run(s3_req *r)
{
    if (s3_put_finish(r) == 0)
        resp_status(r, 200);
}

/* x-amz-copy-source-range: bytes=first-last, inside the source. */
static int copy_range(s3_req *r, uint64_t size, uint64_t *off, uint64_t *len)
{
    switch (range_parse(req_header(r, "x-amz-copy-source-range"), RANGE_COPY_SOURCE, size,
                        off, len)) {
    case RANGE_MALFORMED:
        resp_error(r, S3E_InvalidArgument, "The x-amz-copy-source-range value must be "
                   "of the form bytes=first-last");
        return -1;
    case RANGE_UNSATISFIABLE:
        resp_error(r, S3E_InvalidRange,
                   "The x-amz-copy-source-range is outside the source object");
        return -1;
    default:
        return 0;
    }
}

/* Copy [off, off+len) of r->get into r->put through one bounded buffer. */
static int pump(s3_req *r, uint64_t off, uint64_t len)
{
    char *buf = malloc(COPY_BUF);
    cf_err err;
    if (!buf) {
        resp_error(r, S3E_InternalError, NULL);
        return -1;
    }
    int rc = 0;
    while (len > 0 && rc == 0) {
        size_t n = 0, want = len < COPY_BUF ? (size_t)len : COPY_BUF;
        rc = st_get_read(r->get, off, buf, want, &n, &err);
        if (rc == 0 && n == 0)
            rc = cf_fail(&err, CF_EINTERNAL, "copy source ended at %llu",
                         (unsigned long long)off);
        if (rc == 0)
            rc = st_put_write(r->put, buf, n, &err);
        off += n;
        len -= n;
    }
    free(buf);
    if (rc < 0)
        resp_cf(r, &err);
    return rc;
}

static void part_copy_run(s3_req *r)
{
    uint32_t part;
    char *sb, *sk;
    cf_err err;
    uint64_t off, len;
    if (part_number(r, &part) < 0 || s3_copy_source(r, &sb, &sk) < 0)
        return;
    if (st_get_open(r->srv->engine, r->tenant, sb, sk, &r->info, &r->get, &err) < 0) {
        r->get = NULL;
        resp_cf(r, &err);
        return;
    }
    r->info_set = true;
    if (s3_copy_conditions(r, &r->info) < 0 || copy_range(r, r->info.size, &off, &len) < 0)
        return;
    if (len > ST_MAX_PUT_SIZE) {
        resp_error(r, S3E_EntityTooLarge, NULL);
        return;
    }
    st_object_info_clear(&r->info);
    r->info_set = false;
    r->content_length = (int64_t)len;
    if (s3_put_begin(r, req_param(r, "uploadId"), part) < 0 || pump(r, off, len) < 0 ||
        s3_put_finish(r) < 0)
        return;
    xml_begin(&r->resp, "CopyPartResult");
    xml_elem_time_ms(&r->resp, "LastModified", r->info.mtime_ms);
    xml_elem(&r->resp, "ETag", r->info.etag);
    xml_close(&r->resp, "CopyPartResult");
    resp_xml(r, 200);
}

static void complete_run(s3_req *r)
{
    st_complete_part *parts;
    size_t nparts;
    cf_err err;
    if (s3_check_write_headers(r) < 0)
        return;
    if (xmlreq_complete_parse(r->body.p, r->body.len, r->pool, &r->xmldoc, &parts, &nparts,
                              &err) < 0) {
        s3_xml_refused(r, &err);
        return;
    }
    if (st_upload_complete(r->srv->engine, r->tenant, r->bucket, r->key,
                           req_param(r, "uploadId"), parts, nparts, &r->info, &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    r->info_set = true;
    const char *host = req_header(r, "host");
    xml_begin(&r->resp, "CompleteMultipartUploadResult");
    char *loc = pool_printf(r->pool, "http://%s/%s/%s", host ? host : "localhost",
                            r->bucket, r->key);
    xml_elem(&r->resp, "Location", loc ? loc : "");
    xml_elem(&r->resp, "Bucket", r->bucket);
    xml_elem(&r->resp, "Key", r->key);
    xml_elem(&r->resp, "ETag", r->info.etag);
    s3_checksum_xml(r, r->info.checksum_b64, r->info.checksum_algo);
    xml_close(&r->resp, "CompleteMultipartUploadResult");
    resp_header(r, "x-amz-server-side-encryption", "AES256");
    resp_xml(r, 200);
}

static void abort_run(s3_req *r)
{
    cf_err err;
    if (st_upload_abort(r->srv->engine, r->tenant, r->bucket, r->key,
                        req_param(r, "uploadId"), &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    resp_status(r, 204);
}

const s3_op op_create_upload = {"CreateMultipartUpload", BODY_NONE, true, NULL, NULL,
                                create_run};
const s3_op op_upload_part = {"UploadPart", BODY_STREAM, true, part_begin, s3_put_data,
                              part_run};
const s3_op op_upload_part_copy = {"UploadPartCopy", BODY_NONE, true, NULL, NULL,
                                   part_copy_run};
const s3_op op_complete_upload = {"CompleteMultipartUpload", BODY_BUFFER, true, NULL, NULL,
                                  complete_run};
const s3_op op_abort_upload = {"AbortMultipartUpload", BODY_NONE, true, NULL, NULL, abort_run};
