/*
 * server/s3_bucket.c - bucket operations: ListBuckets, CreateBucket (naming
 * rules are checked by the router; LocationConstraint must name this
 * server's region), DeleteBucket, HeadBucket, GetBucketLocation,
 * Get/PutBucketVersioning (Enabled or Suspended, never back: the engine's
 * rule), a minimal GET ?acl (the owner has FULL_CONTROL, which is the
 * only access model coffer has; clients such as s3cmd ask) and the
 * default encryption (Get/Put/DeleteBucketEncryption): every object is
 * encrypted at rest with AES256 whatever is set, so the configuration is
 * AES256 (the default, as S3 answers since 2023, or as set with its
 * BucketKeyEnabled); SSE-KMS is refused (NotImplemented).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server/perm.h"
#include "server/s3_common.h"
#include "server/s3_ops.h"
#include "server/xml.h"
#include "server/xmlreq.h"

/* ListBuckets paging (prefix, bucket-region, max-buckets,
 * continuation-token), applied to the engine's sorted bucket list. */
typedef struct bucket_page {
    s3_req *r;
    const char *prefix, *region, *after;
    long max, count;
    const char *last;                /* last name written */
    bool truncated;
} bucket_page;

static int add_bucket(void *ctx, const st_bucket_info *b)
{
    bucket_page *pg = ctx;
    s3_req *r = pg->r;
    if (!perm_bucket(r, b->name) ||
        (pg->prefix && strncmp(b->name, pg->prefix, strlen(pg->prefix)) != 0) ||
        (pg->region && strcmp(b->region, pg->region) != 0) ||
        (pg->after && strcmp(b->name, pg->after) <= 0))
        return 0;
    if (pg->count == pg->max) {
        pg->truncated = true;
        return 0;
    }
    pg->count++;
    pg->last = pool_strdup(r->pool, b->name);
    xml_open(&r->resp, "Bucket");
    xml_elem(&r->resp, "Name", b->name);
    xml_elem_time_ms(&r->resp, "CreationDate", (long long)b->created * 1000);
    xml_elem(&r->resp, "BucketRegion", b->region);
    xml_close(&r->resp, "Bucket");
    return 0;
}

static void list_buckets_run(s3_req *r)
{
    cf_err err;
    bucket_page pg = {.r = r, .prefix = req_param(r, "prefix"),
                      .region = req_param(r, "bucket-region")};
    const char *token = req_param(r, "continuation-token");
    if (s3_int_param(r, "max-buckets", 1, 10000, 10000, &pg.max) < 0 ||
        (token && s3_token_decode(r, token, &pg.after) < 0))
        return;
    xml_begin(&r->resp, "ListAllMyBucketsResult");
    s3_write_owner(r, "Owner");
    xml_open(&r->resp, "Buckets");
    if (st_bucket_list(r->srv->engine, r->tenant, add_bucket, &pg, &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    xml_close(&r->resp, "Buckets");
    if (pg.truncated && pg.last)
        xml_elem(&r->resp, "ContinuationToken", s3_token_encode(r->pool, pg.last));
    if (pg.prefix)
        xml_elem(&r->resp, "Prefix", pg.prefix);
    xml_close(&r->resp, "ListAllMyBucketsResult");
    resp_xml(r, 200);
}

static void create_bucket_run(s3_req *r)
{
    const char *region;
    const char *ours = r->srv->cfg->region;
    const char *lock = req_header(r, "x-amz-bucket-object-lock-enabled");
    if (lock && strcasecmp(lock, "true") != 0 && strcasecmp(lock, "false") != 0) {
        resp_error(r, S3E_InvalidArgument, "x-amz-bucket-object-lock-enabled is true or "
                   "false");
        return;
    }
    if (s3_check_acl_headers(r) < 0)
        return;
    cf_err err;
    if (xmlreq_location_parse(r->body.p ? r->body.p : "", r->body.len, &r->xmldoc, &region,
                              &err) < 0) {
        s3_xml_refused(r, &err);
        return;
    }
    if (*region && strcmp(region, ours) != 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "The location constraint must be empty or %s", ours);
        resp_error(r, S3E_IllegalLocationConstraintException, msg);
        return;
    }
    /* us-east-1 answers 200 to the owner re-creating a bucket (legacy
     * behaviour S3 keeps there); every other region 409 */
    if (st_bucket_create(r->srv->engine, r->tenant, r->bucket, ours,
                         lock && strcasecmp(lock, "true") == 0, &err) < 0 &&
        !(err.code == CF_EBUCKETEXISTS && strcmp(ours, "us-east-1") == 0)) {
        resp_cf(r, &err);
        return;
    }
    char *loc = pool_printf(r->pool, "/%s", r->bucket);
    if (loc)
        resp_header(r, "Location", loc);
    resp_status(r, 200);
}

static void delete_bucket_run(s3_req *r)
{
    cf_err err;
    if (st_bucket_delete(r->srv->engine, r->tenant, r->bucket, &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    resp_status(r, 204);
}

static void head_bucket_run(s3_req *r)
{
    st_bucket_info info;
    if (s3_bucket_load(r, &info) < 0)
        return;
    resp_header(r, "x-amz-bucket-region", info.region);
    resp_status(r, 200);
}

static void get_location_run(s3_req *r)
{
    st_bucket_info info;
    if (s3_bucket_load(r, &info) < 0)
        return;
    xml_begin(&r->resp, "LocationConstraint");
    if (strcmp(info.region, "us-east-1") != 0)
        xml_text(&r->resp, info.region);
    xml_close(&r->resp, "LocationConstraint");
    resp_xml(r, 200);
}

/* Never configured: the empty configuration, as S3 answers. */
static void get_versioning_run(s3_req *r)
{
    st_bucket_info info;
    if (s3_bucket_load(r, &info) < 0)
        return;
    xml_begin(&r->resp, "VersioningConfiguration");
    if (info.versioning != ST_VERSIONING_OFF)
        xml_elem(&r->resp, "Status", info.versioning == ST_VERSIONING_ENABLED ? "Enabled"
                                                                            : "Suspended");
    xml_close(&r->resp, "VersioningConfiguration");
    resp_xml(r, 200);
}

static void put_versioning_run(s3_req *r)
{
    int state;
    cf_err err;
    if (xmlreq_versioning_parse(r->body.p ? r->body.p : "", r->body.len, &r->xmldoc, &state,
                                &err) < 0) {
        if (err.code == CF_ENOTFOUND)
            resp_error(r, S3E_NotImplemented, err.msg);
        else
            s3_xml_refused(r, &err);
        return;
    }
    if (st_bucket_set_versioning(r->srv->engine, r->tenant, r->bucket, state, &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    resp_status(r, 200);
}

static void write_acl(s3_req *r)
{
    xml_begin(&r->resp, "AccessControlPolicy");
    s3_write_owner(r, "Owner");
    sbuf_puts(&r->resp, "<AccessControlList><Grant><Grantee "
              "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
              "xsi:type=\"CanonicalUser\">");
    xml_elem(&r->resp, "ID", r->tenant);
    xml_elem(&r->resp, "DisplayName", r->tenant);
    sbuf_puts(&r->resp, "</Grantee><Permission>FULL_CONTROL</Permission></Grant>"
              "</AccessControlList>");
    xml_close(&r->resp, "AccessControlPolicy");
    resp_xml(r, 200);
}

static void get_bucket_acl_run(s3_req *r)
{
    st_bucket_info info;
    if (s3_bucket_load(r, &info) < 0)
        return;
    write_acl(r);
}

static void get_object_acl_run(s3_req *r)
{
    cf_err err;
    if (st_head(r->srv->engine, r->tenant, r->bucket, r->key, &r->info, &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    r->info_set = true;
    write_acl(r);
}

/* ---- default encryption ---------------------------------------------- */

static void get_encryption_run(s3_req *r)
{
    st_bucket_info info;
    if (s3_bucket_load(r, &info) < 0)
        return;
    xml_begin(&r->resp, "ServerSideEncryptionConfiguration");
    xml_open(&r->resp, "Rule");
    xml_open(&r->resp, "ApplyServerSideEncryptionByDefault");
    xml_elem(&r->resp, "SSEAlgorithm", "AES256");
    xml_close(&r->resp, "ApplyServerSideEncryptionByDefault");
    xml_elem_bool(&r->resp, "BucketKeyEnabled", info.sse_bucket_key);
    xml_close(&r->resp, "Rule");
    xml_close(&r->resp, "ServerSideEncryptionConfiguration");
    resp_xml(r, 200);
}

static void put_encryption_run(s3_req *r)
{
    xmlreq_encryption enc;
    cf_err err;
    if (s3_check_body_digest(r) < 0)
        return;
    if (xmlreq_encryption_parse(r->body.p ? r->body.p : "", r->body.len, &r->xmldoc, &enc,
                                &err) < 0) {
        s3_xml_refused(r, &err);
        return;
    }
    if (strcmp(enc.algorithm, "AES256") != 0) {
        resp_error(r, S3E_NotImplemented, "coffer does not implement SSE-KMS: every object "
                   "is encrypted at rest with AES256 (SSE-S3)");
        return;
    }
    if (enc.kms_key) {
        resp_error(r, S3E_InvalidArgument, "a KMSMasterKeyID is not applicable if the "
                   "default sse algorithm is not aws:kms or aws:kms:dsse");
        return;
    }
    if (st_bucket_set_sse(r->srv->engine, r->tenant, r->bucket, "AES256", enc.bucket_key,
                          &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    resp_status(r, 200);
}

static void delete_encryption_run(s3_req *r)
{
    cf_err err;
    if (st_bucket_set_sse(r->srv->engine, r->tenant, r->bucket, NULL, false, &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    resp_status(r, 204);
}

const s3_op op_get_bucket_encryption = {"GetBucketEncryption", BODY_NONE, ACT_READ, NULL, NULL,
                                        get_encryption_run};
const s3_op op_put_bucket_encryption = {"PutBucketEncryption", BODY_BUFFER, ACT_CONFIG, NULL, NULL,
                                        put_encryption_run};
const s3_op op_delete_bucket_encryption = {"DeleteBucketEncryption", BODY_NONE, ACT_CONFIG, NULL,
                                           NULL, delete_encryption_run};
const s3_op op_list_buckets = {"ListBuckets", BODY_NONE, ACT_READ, NULL, NULL, list_buckets_run};
const s3_op op_create_bucket = {"CreateBucket", BODY_BUFFER, ACT_WRITE, NULL, NULL,
                                create_bucket_run};
const s3_op op_delete_bucket = {"DeleteBucket", BODY_NONE, ACT_DELETE, NULL, NULL, delete_bucket_run};
const s3_op op_head_bucket = {"HeadBucket", BODY_NONE, ACT_READ, NULL, NULL, head_bucket_run};
const s3_op op_get_bucket_location = {"GetBucketLocation", BODY_NONE, ACT_READ, NULL, NULL,
                                      get_location_run};
const s3_op op_get_bucket_versioning = {"GetBucketVersioning", BODY_NONE, ACT_READ, NULL, NULL,
                                        get_versioning_run};
const s3_op op_put_bucket_versioning = {"PutBucketVersioning", BODY_BUFFER, ACT_CONFIG, NULL,
                                        NULL, put_versioning_run};
const s3_op op_get_bucket_acl = {"GetBucketAcl", BODY_NONE, ACT_READ, NULL, NULL,
                                 get_bucket_acl_run};
const s3_op op_get_object_acl = {"GetObjectAcl", BODY_NONE, ACT_READ, NULL, NULL,
                                 get_object_acl_run};
