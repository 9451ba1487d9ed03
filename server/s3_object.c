/*
 * server/s3_object.c - single-object operations: PutObject (streamed into
 * the engine as the body arrives), GetObject and HeadObject (ranges,
 * conditionals, response-* overrides; the body is read from the engine
 * through resp_stream as the HTTP layer sends it), DeleteObject,
 * DeleteObjects and
 * CopyObject.
 *
 * A PUT is checked in three places: headers (size, metadata, checksum and
 * Content-MD5 syntax, unsupported features) before a single body byte is
 * accepted; each body piece (the engine refuses growth past the declared
 * size or 5 GiB); and the end, where the engine verifies Content-MD5 and
 * the x-amz-checksum value (from a header or the aws-chunked trailer)
 * before anything becomes visible. Any failure leaves the old object, if
 * there was one, untouched: the st_put is aborted (here or at request
 * completion). Conditional writes (If-None-Match: *, If-Match) are the
 * engine's to decide at its commit point; a customer key (SSE-C) is
 * checked here and handed to the engine.
 *
 * GET and HEAD with partNumber serve one part of the object (206, its
 * Content-Range, x-amz-mp-parts-count), numbered 1..N as the engine
 * numbers them (storage/engine.h: st_object_part).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/perm.h"
#include "server/range.h"
#include "common/etag.h"
#include "common/utf8.h"
#include "server/router.h"
#include "server/s3_common.h"
#include "server/s3_ops.h"
#include "server/xml.h"
#include "server/xmlreq.h"
#include "storage/lifecycle.h"

/* ---- PutObject -------------------------------------------------------- */

typedef struct put_state {
    s3_checksum_req ck;
    uint8_t md5[16];
    bool has_md5;
    s3_ssec ssec;
    bool part;
} put_state;

/* Map an engine failure during a body to the S3 error: a size mismatch at
 * finish means the body was shorter than declared. */
static void put_failed(s3_req *r, const cf_err *err, bool at_finish)
{
    if (at_finish && err->code == CF_EINVAL)
        resp_error(r, S3E_IncompleteBody, NULL);
    else
        resp_cf(r, err);
}

/* st_put_begin's refusals: the customer key's and, for a part, a checksum
 * algorithm other than the upload's (InvalidRequest, as S3 answers). */
static void begin_failed(s3_req *r, const put_state *ps, const cf_err *err)
{
    if (err->code == CF_EINVAL && ps->part)
        resp_error(r, S3E_InvalidRequest, err->msg);
    else if (err->code == CF_ENEEDKEY || err->code == CF_EBADKEY)
        s3_ssec_failed(r, err, &ps->ssec, ps->part);
    else
        s3_lock_failed(r, err);
}

/* Shared by PutObject and UploadPart: header checks and st_put_begin. */
int s3_put_begin(s3_req *r, const char *upload_id, uint32_t part)
{
    put_state *ps = pool_alloc(r->pool, sizeof(*ps));
    if (!ps) {
        resp_error(r, S3E_InternalError, NULL);
        return -1;
    }
    r->op_state = ps;
    if (r->content_length > (int64_t)ST_MAX_PUT_SIZE) {
        resp_error(r, S3E_EntityTooLarge, NULL);
        return -1;
    }
    st_header *meta = NULL;
    size_t nmeta = 0;
    st_write_cond cond = {0};
    ps->part = upload_id != NULL;
    st_write_opts opts = {.no_overwrite = !perm_may(r, ST_PERM_OVERWRITE)};
    if (s3_check_write_headers(r) < 0 || s3_checksum_request(r, &ps->ck) < 0 ||
        s3_content_md5(r, ps->md5, &ps->has_md5) < 0 ||
        s3_ssec_request(r, false, &ps->ssec) < 0 ||
        (!upload_id && (s3_request_meta(r, &meta, &nmeta) < 0 ||
                        s3_write_cond(r, &cond) < 0 || s3_lock_headers(r, &opts) < 0)))
        return -1;
    st_put_args a = {
        .tenant = r->tenant, .bucket = r->bucket, .key = r->key,
        .headers = meta, .nheaders = nmeta, .checksum_algo = ps->ck.algo,
        .ssec_key = ps->ssec.present ? ps->ssec.key : NULL, .cond = cond,
        .upload_id = upload_id, .part_number = part,
        .expected_size = r->content_length, .opts = opts,
        .no_digest = !ps->has_md5 && ps->ck.algo == CKS_NONE,  /* object lock wants one */
    };
    if (!upload_id && s3_object_attrs(r, false, &a.attrs) < 0)
        return -1;
    cf_err err;
    if (st_put_begin(r->srv->engine, &a, &r->put, &err) < 0) {
        r->put = NULL;
        begin_failed(r, ps, &err);
        return -1;
    }
    return 0;
}

void s3_put_data(s3_req *r, const char *p, size_t n, cks_state *hash)
{
    cf_err err;
    if (st_put_write_hashed(r->put, p, n, hash, &err) < 0)
        put_failed(r, &err, false);
}

/* Finish the PUT; on success r->info describes the stored object/part. */
int s3_put_finish(s3_req *r)
{
    put_state *ps = r->op_state;
    st_put_expect ex = {
        .content_md5 = ps->has_md5 ? ps->md5 : NULL,
        .checksum_b64 = s3_checksum_value(r, &ps->ck),
    };
    if (ps->ck.trailer && !ex.checksum_b64) {
        resp_error(r, S3E_InvalidRequest, "The announced checksum trailer was not sent");
        return -1;
    }
    cf_err err;
    st_put *p = r->put;
    r->put = NULL;                   /* finish frees it either way */
    if (st_put_finish(p, &ex, &r->info, &err) < 0) {
        if (err.code == CF_EBUCKETSTATE)
            s3_lock_failed(r, &err);
        else
            put_failed(r, &err, true);
        return -1;
    }
    r->info_set = true;
    resp_header(r, "ETag", r->info.etag);
    s3_sse_headers(r, &ps->ssec);
    /* a part answers its checksum; an object its type too (2025 SDKs) */
    s3_checksum_headers(r, r->info.checksum_algo, r->info.checksum_b64,
                        ps->part ? NULL : "FULL_OBJECT");
    return 0;
}

static void put_begin(s3_req *r)
{
    s3_put_begin(r, NULL, 0);
}

static void put_run(s3_req *r)
{
    if (s3_put_finish(r) < 0)
        return;
    s3_version_headers(r, &r->info, false);
    resp_status(r, 200);
}

/* ---- GetObject / HeadObject ------------------------------------------ */

/* RFC 7232 order: If-Match, If-Unmodified-Since, If-None-Match,
 * If-Modified-Since. */
static int check_conditions(s3_req *r, const st_object_info *o)
{
    const char *im = req_header(r, "if-match");
    const char *ius = req_header(r, "if-unmodified-since");
    const char *inm = req_header(r, "if-none-match");
    const char *ims = req_header(r, "if-modified-since");
    int64_t mtime = o->mtime_ms / 1000, t;
    if (im ? !etag_list_matches(im, o->etag)
           : (ius && req_parse_http_date(ius, &t) == 0 && mtime > t)) {
        resp_error(r, S3E_PreconditionFailed, NULL);
        return -1;
    }
    if (inm ? etag_list_matches(inm, o->etag)
            : (ims && req_parse_http_date(ims, &t) == 0 && mtime <= t)) {
        resp_error(r, S3E_NotModified, NULL);
        resp_header(r, "ETag", o->etag);
        return -1;
    }
    return 0;
}

static int read_object(s3_req *r, uint64_t offset, void *buf, size_t len, size_t *n,
                       cf_err *err)
{
    if (!r->get)                     /* HEAD: libmicrohttpd reads no body */
        return cf_fail(err, CF_EINTERNAL, "no object is open for reading");
    return st_get_read(r->get, offset, buf, len, n, err);
}

/* The body [off, off+len) of r->get (HEAD: its length, nothing read). A
 * GET reads its first piece up to the engine's next block boundary before
 * the status is sent, so that the reads after it stay block-aligned
 * (whole-block reads skip a copy in the engine). */
static void send_object(s3_req *r, int status, uint64_t off, uint64_t len)
{
    int k, m;
    uint32_t bs;
    st_layout(r->srv->engine, &k, &m, &bs);
    uint64_t to_boundary = bs ? bs - off % bs : (1u << 20);
    if (r->get && len > 0)           /* a tiered object fetches just the range's blocks */
        st_get_range_hint(r->get, off, len);
    resp_stream(r, status, off, len, r->get ? (size_t)to_boundary : 0,
                bs ? bs : (1u << 20), read_object);
}

/* partNumber: that part's range of the object (206), with its checksum
 * when asked for (the object's own for a single PUT). The object must be
 * open (r->get). */
static int serve_part(s3_req *r, long n, const s3_ssec *k, uint64_t *off, uint64_t *len)
{
    st_object_part p;
    cf_err err;
    if (st_get_part(r->get, (uint32_t)n, &p, &err) < 0) {
        resp_error(r, S3E_InvalidPartNumber, NULL);
        return -1;
    }
    *off = p.offset;
    *len = p.size;
    s3_object_headers(r, &r->info, r->info.nparts == 0, k);
    const char *mode = req_header(r, "x-amz-checksum-mode");
    if (r->info.nparts > 0 && mode && strcasecmp(mode, "ENABLED") == 0)
        s3_checksum_headers(r, r->info.checksum_algo, p.checksum_b64, NULL);
    if (r->info.nparts > 0) {
        char *count = pool_printf(r->pool, "%d", r->info.nparts);
        if (count)
            resp_header(r, "x-amz-mp-parts-count", count);
    }
    if (p.size == 0)
        return 0;
    char *cr = pool_printf(r->pool, "bytes %llu-%llu/%llu", (unsigned long long)p.offset,
                           (unsigned long long)(p.offset + p.size - 1),
                           (unsigned long long)r->info.size);
    if (cr)
        resp_header(r, "Content-Range", cr);
    return 1;
}

static void serve_object(s3_req *r, bool get)
{
    cf_err err;
    const char *version;
    s3_ssec key_hdrs, *k = &key_hdrs;
    if (s3_version_param(r, &version) < 0 || s3_ssec_request(r, false, k) < 0)
        return;
    long part = 0;
    if (s3_int_param(r, "partNumber", 1, ST_MAX_PARTS, 0, &part) < 0)
        return;
    if (part && req_header(r, "range")) {
        resp_error(r, S3E_InvalidRequest,
                   "Cannot specify both Range header and partNumber query parameter");
        return;
    }
    memset(&r->info, 0, sizeof r->info);
    /* a part read needs the object's segments: HEAD opens it too (and
     * reads nothing) */
    const uint8_t *key = k->present ? k->key : NULL;
    int rc = get || part ? st_get_open_ssec(r->srv->engine, r->tenant, r->bucket, r->key,
                                            version, key, &r->info, &r->get, &err)
                         : st_head_ssec(r->srv->engine, r->tenant, r->bucket, r->key,
                                        version, key, &r->info, &err);
    if (rc < 0) {
        r->get = NULL;
        s3_ssec_failed(r, &err, k, false);
        if (r->info.delete_marker) {     /* 404 or 405: name the marker */
            char date[32];
            req_http_date(r->info.mtime_ms / 1000, date);
            s3_version_headers(r, &r->info, true);
            resp_header(r, "Last-Modified", date);
        }
        return;
    }
    r->info_set = true;
    s3_version_headers(r, &r->info, version != NULL);
    s3_lock_answer_headers(r, &r->info);
    if (check_conditions(r, &r->info) < 0)
        return;
    uint64_t off, len;
    if (part) {
        int ranged = serve_part(r, part, k, &off, &len);
        if (ranged < 0)
            return;
        if (!get) {                  /* HEAD: the length only */
            st_get_close(r->get);
            r->get = NULL;
        }
        send_object(r, ranged ? 206 : 200, off, len);
        return;
    }
    range_result range = range_parse(req_header(r, "range"), RANGE_GET, r->info.size, &off,
                                     &len);
    if (range == RANGE_UNSATISFIABLE) {
        resp_error(r, S3E_InvalidRange, NULL);
        char *cr = pool_printf(r->pool, "bytes */%llu", (unsigned long long)r->info.size);
        if (cr)
            resp_header(r, "Content-Range", cr);
        return;
    }
    s3_object_headers(r, &r->info, range == RANGE_WHOLE, k);
    if (range == RANGE_PART) {
        char *cr = pool_printf(r->pool, "bytes %llu-%llu/%llu", (unsigned long long)off,
                               (unsigned long long)(off + len - 1),
                               (unsigned long long)r->info.size);
        if (cr)
            resp_header(r, "Content-Range", cr);
    }
    send_object(r, range == RANGE_PART ? 206 : 200, off, len);
}

static void get_run(s3_req *r)
{
    serve_object(r, true);
}

static void head_run(s3_req *r)
{
    serve_object(r, false);
}

/* ---- DeleteObject ----------------------------------------------------- */

/* x-amz-bypass-governance-retention: true, from a key allowed to. */
static bool bypass_governance(s3_req *r)
{
    const char *h = req_header(r, "x-amz-bypass-governance-retention");
    return h && strcasecmp(h, "true") == 0 && perm_may(r, ST_PERM_BYPASS_GOVERNANCE);
}

static void delete_run(s3_req *r)
{
    cf_err err;
    const char *version;
    st_delete_result res;
    if (s3_version_param(r, &version) < 0)
        return;
    if (st_delete_version(r->srv->engine, r->tenant, r->bucket, r->key, version,
                          req_header(r, "if-match"), bypass_governance(r), &res, &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    if (res.delete_marker)
        resp_header(r, "x-amz-delete-marker", "true");
    if (res.versioned)
        resp_header(r, "x-amz-version-id", res.version_id);
    resp_status(r, 204);
}

/* ---- DeleteObjects ---------------------------------------------------- */

static void deleted_entry(s3_req *r, const char *key, const char *version,
                          const st_delete_result *res, bool quiet)
{
    if (quiet)
        return;
    xml_open(&r->resp, "Deleted");
    xml_elem(&r->resp, "Key", key);
    if (version)
        xml_elem(&r->resp, "VersionId", version);
    if (res->delete_marker) {
        xml_elem(&r->resp, "DeleteMarker", "true");
        if (!version)
            xml_elem(&r->resp, "DeleteMarkerVersionId", res->version_id);
    }
    xml_close(&r->resp, "Deleted");
}

static void error_entry(s3_req *r, const char *key, const char *version, s3_error e)
{
    xml_open(&r->resp, "Error");
    xml_elem(&r->resp, "Key", key);
    if (version)
        xml_elem(&r->resp, "VersionId", version);
    xml_elem(&r->resp, "Code", s3err_code(e));
    xml_elem(&r->resp, "Message", s3err_message(e));
    xml_close(&r->resp, "Error");
}

static void delete_one(s3_req *r, const char *key, const char *version, bool quiet)
{
    size_t klen = strlen(key);
    cf_err err;
    st_delete_result res;
    if (klen == 0 || !utf8_valid(key, klen))
        error_entry(r, key, version, S3E_InvalidArgument);
    else if (klen > ST_MAX_KEY)
        error_entry(r, key, version, S3E_KeyTooLongError);
    else if (!perm_delete(r, key))
        error_entry(r, key, version, S3E_AccessDenied);
    else if (version && !st_version_name_ok(version))
        error_entry(r, key, version, S3E_InvalidArgument);
    else if (st_delete_version(r->srv->engine, r->tenant, r->bucket, key, version, NULL,
                               bypass_governance(r), &res, &err) < 0) {
        s3_error e = s3err_from_cf(err.code);
        if (e == S3E_InternalError)
            req_log(r, "delete failed: %s: %s", cf_code_name(err.code), err.msg);
        error_entry(r, key, version, e);
    } else
        deleted_entry(r, key, version, &res, quiet);
}

static void delete_objects_run(s3_req *r)
{
    st_bucket_info binfo;
    cf_err err;
    if (s3_check_body_digest(r) < 0 || s3_bucket_load(r, &binfo) < 0)
        return;
    xmlreq_delete del;
    if (xmlreq_delete_parse(r->body.p, r->body.len, r->pool, &r->xmldoc, &del, &err) < 0) {
        s3_xml_refused(r, &err);
        return;
    }
    xml_begin(&r->resp, "DeleteResult");
    for (size_t i = 0; i < del.nobjects; i++)
        delete_one(r, del.objects[i].key, del.objects[i].version_id, del.quiet);
    xml_close(&r->resp, "DeleteResult");
    resp_xml(r, 200);
}

/* ---- CopyObject ------------------------------------------------------- */

static void copy_run(s3_req *r)
{
    char *sb, *sk;
    const char *sv;
    st_object_info src;
    cf_err err;
    s3_ssec src_key, dst_key;
    st_write_cond cond;
    memset(&src, 0, sizeof(src));
    if (s3_check_write_headers(r) < 0 || s3_copy_source(r, &sb, &sk, &sv) < 0 ||
        s3_ssec_request(r, true, &src_key) < 0 || s3_ssec_request(r, false, &dst_key) < 0 ||
        s3_write_cond(r, &cond) < 0)
        return;
    const char *dir = req_header(r, "x-amz-metadata-directive");
    bool replace = dir && strcmp(dir, "REPLACE") == 0;
    if (dir && !replace && strcmp(dir, "COPY") != 0) {
        resp_error(r, S3E_InvalidArgument, "Unknown metadata directive");
        return;
    }
    st_header *meta = NULL;
    size_t nmeta = 0;
    st_object_attrs attrs;
    if ((replace && s3_request_meta(r, &meta, &nmeta) < 0) ||
        s3_object_attrs(r, true, &attrs) < 0)
        return;
    const uint8_t *skey = src_key.present ? src_key.key : NULL;
    if (st_head_ssec(r->srv->engine, r->tenant, sb, sk, sv, skey, &src, &err) < 0) {
        s3_copy_source_failed(r, &err, &src_key);
        return;
    }
    char src_version[ST_ID_HEX];
    snprintf(src_version, sizeof src_version, "%s", st_version_name(&src));
    cks_algo algo = src.checksum_algo;
    const char *want = req_header(r, "x-amz-checksum-algorithm");
    int rc = s3_copy_conditions(r, &src);
    if (rc == 0 && src.size > ST_MAX_PUT_SIZE) {
        resp_error(r, S3E_InvalidRequest, "The copy source is larger than 5 GiB: "
                   "use multipart upload with UploadPartCopy");
        rc = -1;
    }
    st_object_info_clear(&src);
    if (rc < 0)
        return;
    /* a change of customer key (or to or from one) changes the object */
    bool same_keys = src_key.present == dst_key.present &&
                     (!src_key.present || memcmp(src_key.key, dst_key.key, 32) == 0);
    if (!replace && !want && !sv && same_keys && !attrs.storage_class && attrs.keep_tags &&
        strcmp(sb, r->bucket) == 0 && strcmp(sk, r->key) == 0) {
        resp_error(r, S3E_InvalidRequest, "This copy request is illegal because it is "
                   "trying to copy an object to itself without changing the object's "
                   "metadata, storage class, website redirect location or encryption "
                   "attributes.");
        return;
    }
    if (want && ((algo = cks_algo_from_name(want)) == CKS_NONE || algo == CKS_MD5)) {
        resp_error(r, S3E_InvalidRequest, "Unsupported x-amz-checksum-algorithm");
        return;
    }
    st_copy_args ca = {
        .src_bucket = sb, .src_key = sk, .src_version = sv, .src_ssec_key = skey,
        .dst = {.tenant = r->tenant, .bucket = r->bucket, .key = r->key,
                .headers = replace ? meta : NULL, .nheaders = nmeta, .attrs = attrs,
                .opts = {.no_overwrite = !perm_may(r, ST_PERM_OVERWRITE)},
                .checksum_algo = algo, .cond = cond,
                .ssec_key = dst_key.present ? dst_key.key : NULL},
    };
    if (s3_lock_headers(r, &ca.dst.opts) < 0)
        return;
    if (st_copy(r->srv->engine, &ca, &r->info, &err) < 0) {
        if (err.code == CF_ENEEDKEY || err.code == CF_EBADKEY)
            s3_ssec_failed(r, &err, &src_key, false);
        else
            s3_lock_failed(r, &err);
        return;
    }
    r->info_set = true;
    s3_version_headers(r, &r->info, false);
    if (sv)
        resp_header(r, "x-amz-copy-source-version-id", src_version);
    xml_begin(&r->resp, "CopyObjectResult");
    xml_elem_time_ms(&r->resp, "LastModified", r->info.mtime_ms);
    xml_elem(&r->resp, "ETag", r->info.etag);
    s3_checksum_xml(&r->resp, r->info.checksum_b64, r->info.checksum_algo);
    if (r->info.checksum_algo != CKS_NONE)
        xml_elem(&r->resp, "ChecksumType", "FULL_OBJECT");
    xml_close(&r->resp, "CopyObjectResult");
    s3_sse_headers(r, &dst_key);
    resp_xml(r, 200);
}

const s3_op op_put_object = {"PutObject", BODY_STREAM, ACT_WRITE, put_begin, s3_put_data, put_run};
const s3_op op_get_object = {"GetObject", BODY_NONE, ACT_READ, NULL, NULL, get_run};
const s3_op op_head_object = {"HeadObject", BODY_NONE, ACT_READ, NULL, NULL, head_run};
const s3_op op_delete_object = {"DeleteObject", BODY_NONE, ACT_DELETE, NULL, NULL, delete_run};
const s3_op op_delete_objects = {"DeleteObjects", BODY_BUFFER, ACT_DELETE, NULL, NULL,
                                 delete_objects_run};
const s3_op op_copy_object = {"CopyObject", BODY_NONE, ACT_WRITE, NULL, NULL, copy_run};
