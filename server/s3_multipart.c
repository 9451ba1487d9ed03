/*
 * server/s3_multipart.c - multipart uploads: Create, UploadPart (the same
 * streamed path as PutObject, see s3_object.c), UploadPartCopy (a source
 * range read from the engine and written as a part, through one bounded
 * buffer), Complete and Abort. Part and ordering rules (InvalidPart,
 * InvalidPartOrder, EntityTooSmall), the checksum types (FULL_OBJECT,
 * COMPOSITE) and conditional completes are the engine's; this file parses
 * and answers. A customer key given at create is needed by every part;
 * UploadPartCopy reads its source with the copy-source key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/numparse.h"
#include "server/perm.h"
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

/* x-amz-checksum-type: FULL_OBJECT or COMPOSITE; InvalidRequest otherwise. */
static int checksum_type(s3_req *r, st_cks_type *out)
{
    const char *t = req_header(r, "x-amz-checksum-type");
    *out = ST_CKS_TYPE_UNSAID;
    if (!t)
        return 0;
    if (strcmp(t, "FULL_OBJECT") == 0)
        *out = ST_CKS_FULL_OBJECT;
    else if (strcmp(t, "COMPOSITE") == 0)
        *out = ST_CKS_COMPOSITE;
    else {
        resp_error(r, S3E_InvalidRequest, "Value for x-amz-checksum-type header is "
                   "invalid; use FULL_OBJECT or COMPOSITE");
        return -1;
    }
    return 0;
}

static void create_run(s3_req *r)
{
    st_header *meta;
    size_t nmeta;
    char upload_id[ST_ID_HEX];
    cf_err err;
    cks_algo algo = CKS_NONE;
    st_cks_type type;
    s3_ssec k;
    const char *want = req_header(r, "x-amz-checksum-algorithm");
    st_write_opts opts = {0};
    st_object_attrs attrs;
    if (s3_check_write_headers(r) < 0 || s3_request_meta(r, &meta, &nmeta) < 0 ||
        s3_lock_headers(r, &opts) < 0 || s3_object_attrs(r, false, &attrs) < 0 ||
        s3_ssec_request(r, false, &k) < 0 || checksum_type(r, &type) < 0)
        return;
    if (want && ((algo = cks_algo_from_name(want)) == CKS_NONE || algo == CKS_MD5)) {
        resp_error(r, S3E_InvalidRequest, "Unsupported x-amz-checksum-algorithm");
        return;
    }
    /* S3's defaults: CRC64NVME is always FULL_OBJECT, the others COMPOSITE */
    st_upload_args a = {
        .tenant = r->tenant, .bucket = r->bucket, .key = r->key,
        .headers = meta, .nheaders = nmeta, .attrs = attrs, .checksum_algo = algo,
        .checksum_full = type == ST_CKS_FULL_OBJECT ||
                         (type == ST_CKS_TYPE_UNSAID && algo == CKS_CRC64NVME),
        .ssec_key = k.present ? k.key : NULL, .lock = opts,
    };
    if (st_upload_create(r->srv->engine, &a, upload_id, &err) < 0) {
        bool lock = opts.lock_mode != ST_LOCK_NONE || opts.legal_hold != ST_HOLD_UNSET;
        if (lock && (err.code == CF_EINVAL || err.code == CF_EBUCKETSTATE))
            s3_lock_failed(r, &err);
        else if (err.code == CF_EINVAL)
            resp_error(r, S3E_InvalidRequest, err.msg);
        else
            resp_cf(r, &err);
        return;
    }
    xml_begin(&r->resp, "InitiateMultipartUploadResult");
    xml_elem(&r->resp, "Bucket", r->bucket);
    xml_elem(&r->resp, "Key", r->key);
    xml_elem(&r->resp, "UploadId", upload_id);
    xml_close(&r->resp, "InitiateMultipartUploadResult");
    s3_sse_headers(r, &k);
    if (algo != CKS_NONE) {
        resp_header(r, "x-amz-checksum-algorithm", cks_algo_name(algo));
        resp_header(r, "x-amz-checksum-type", a.checksum_full ? "FULL_OBJECT" : "COMPOSITE");
    }
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
    const char *sv;
    cf_err err;
    uint64_t off, len;
    s3_ssec src;
    if (part_number(r, &part) < 0 || s3_copy_source(r, &sb, &sk, &sv) < 0 ||
        s3_ssec_request(r, true, &src) < 0)
        return;
    if (st_get_open_ssec(r->srv->engine, r->tenant, sb, sk, sv, src.present ? src.key : NULL,
                         &r->info, &r->get, &err) < 0) {
        r->get = NULL;
        s3_copy_source_failed(r, &err, &src);
        return;
    }
    r->info_set = true;
    if (sv)
        resp_header(r, "x-amz-copy-source-version-id", st_version_name(&r->info));
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
    s3_checksum_xml(&r->resp, r->info.checksum_b64, r->info.checksum_algo);
    xml_close(&r->resp, "CopyPartResult");
    resp_xml(r, 200);
}

/* A composite value is "base64-N": s3_checksum_request checks a header
 * holds one checksum's base64, so a Complete's is read here. */
static int complete_headers(s3_req *r, st_complete_args *a)
{
    static const cks_algo algos[] = {CKS_CRC32, CKS_CRC32C, CKS_CRC64NVME, CKS_SHA1,
                                     CKS_SHA256};
    for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++) {
        const char *v = req_header(r, cks_header_name(algos[i]));
        if (!v)
            continue;
        if (a->checksum_b64) {
            resp_error(r, S3E_InvalidRequest, "Expecting a single x-amz-checksum- header");
            return -1;
        }
        a->checksum_algo = algos[i];
        a->checksum_b64 = v;
    }
    const char *size = req_header(r, "x-amz-mp-object-size");
    uint64_t n;
    cf_err err;
    a->expected_size = -1;
    if (size && numparse_str(size, INT64_MAX, 0, &n, &err) < 0) {
        resp_error(r, S3E_InvalidRequest, "Value for x-amz-mp-object-size header is invalid");
        return -1;
    }
    if (size)
        a->expected_size = (int64_t)n;
    return checksum_type(r, &a->checksum_type);
}

static void complete_failed(s3_req *r, const cf_err *err, const s3_ssec *k)
{
    if (err->code == CF_EINVAL)
        resp_error(r, S3E_InvalidRequest, err->msg);
    else
        s3_ssec_failed(r, err, k, true);
}

static void complete_run(s3_req *r)
{
    st_complete_args a = {.tenant = r->tenant, .bucket = r->bucket, .key = r->key,
                          .upload_id = req_param(r, "uploadId")};
    st_complete_part *parts;
    cf_err err;
    s3_ssec k;
    if (s3_check_write_headers(r) < 0 || s3_write_cond(r, &a.cond) < 0 ||
        s3_ssec_request(r, false, &k) < 0 || complete_headers(r, &a) < 0)
        return;
    if (xmlreq_complete_parse(r->body.p, r->body.len, r->pool, &r->xmldoc, &parts,
                              &a.nparts, &err) < 0) {
        s3_xml_refused(r, &err);
        return;
    }
    a.parts = parts;
    a.ssec_key = k.present ? k.key : NULL;
    a.no_overwrite = !perm_may(r, ST_PERM_OVERWRITE);
    if (st_upload_complete(r->srv->engine, &a, &r->info, &err) < 0) {
        complete_failed(r, &err, &k);
        return;
    }
    r->info_set = true;
    s3_version_headers(r, &r->info, false);
    const char *host = req_header(r, "host");
    xml_begin(&r->resp, "CompleteMultipartUploadResult");
    char *loc = pool_printf(r->pool, "http://%s/%s/%s", host ? host : "localhost",
                            r->bucket, r->key);
    xml_elem(&r->resp, "Location", loc ? loc : "");
    xml_elem(&r->resp, "Bucket", r->bucket);
    xml_elem(&r->resp, "Key", r->key);
    xml_elem(&r->resp, "ETag", r->info.etag);
    s3_checksum_xml(&r->resp, r->info.checksum_b64, r->info.checksum_algo);
    if (r->info.checksum_algo != CKS_NONE)
        xml_elem(&r->resp, "ChecksumType", s3_checksum_type(&r->info));
    xml_close(&r->resp, "CompleteMultipartUploadResult");
    if (r->info.ssec && !k.present)  /* the key is optional here: no MD5 to echo */
        resp_header(r, "x-amz-server-side-encryption-customer-algorithm", "AES256");
    else
        s3_sse_headers(r, &k);
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

const s3_op op_create_upload = {"CreateMultipartUpload", BODY_NONE, ACT_WRITE, NULL, NULL,
                                create_run};
const s3_op op_upload_part = {"UploadPart", BODY_STREAM, ACT_WRITE, part_begin, s3_put_data,
                              part_run};
const s3_op op_upload_part_copy = {"UploadPartCopy", BODY_NONE, ACT_WRITE, NULL, NULL,
                                   part_copy_run};
const s3_op op_complete_upload = {"CompleteMultipartUpload", BODY_BUFFER, ACT_WRITE, NULL, NULL,
                                  complete_run};
const s3_op op_abort_upload = {"AbortMultipartUpload", BODY_NONE, ACT_WRITE, NULL, NULL, abort_run};
