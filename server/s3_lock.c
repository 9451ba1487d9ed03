/*
 * server/s3_lock.c - object lock (doc/design.md, "Object lock"):
 * Put/GetObjectLockConfiguration, Put/GetObjectRetention,
 * Put/GetObjectLegalHold, the x-amz-object-lock-* headers of a PUT or copy
 * and those of a GET/HEAD answer.
 *
 * Every rule about what may change is the engine's (st_bucket_set_lock,
 * st_object_set_retention, st_object_set_legal_hold, and destroy in
 * object.c); this file parses, maps the errors S3 gives and writes the
 * answers. A bucket without object lock answers these with 400
 * InvalidRequest, as S3 does, not with the engine's InvalidBucketState.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server/perm.h"
#include "server/s3_common.h"
#include "server/s3_ops.h"
#include "server/xml.h"
#include "server/xmlreq.h"

static const char *mode_name(int mode)
{
    return mode == ST_LOCK_COMPLIANCE ? "COMPLIANCE" : "GOVERNANCE";
}

void s3_lock_failed(s3_req *r, const cf_err *err)
{
    if (err->code == CF_EBUCKETSTATE || err->code == CF_EINVAL)
        resp_error(r, err->code == CF_EINVAL ? S3E_InvalidArgument : S3E_InvalidRequest,
                   err->msg);
    else
        resp_cf(r, err);
}

int s3_lock_headers(s3_req *r, st_write_opts *opts)
{
    const char *mode = req_header(r, "x-amz-object-lock-mode");
    const char *until = req_header(r, "x-amz-object-lock-retain-until-date");
    const char *hold = req_header(r, "x-amz-object-lock-legal-hold");
    if (mode && !(opts->lock_mode = xmlreq_lock_mode(mode))) {
        resp_error(r, S3E_InvalidArgument, "Unknown wormMode directive.");
        return -1;
    }
    if (until && xmlreq_iso8601(until, &opts->retain_until_ms) < 0) {
        resp_error(r, S3E_InvalidArgument, "The retain until date must be provided in "
                   "ISO 8601 format");
        return -1;
    }
    if (!mode != !until) {
        resp_error(r, S3E_InvalidArgument, "x-amz-object-lock-retain-until-date and "
                   "x-amz-object-lock-mode must both be supplied");
        return -1;
    }
    if (hold && strcmp(hold, "ON") != 0 && strcmp(hold, "OFF") != 0) {
        resp_error(r, S3E_InvalidArgument, "Legal Hold must be either of 'ON' or 'OFF'");
        return -1;
    }
    opts->legal_hold = !hold ? ST_HOLD_UNSET : strcmp(hold, "ON") == 0 ? ST_HOLD_ON
                                                                       : ST_HOLD_OFF;
    return 0;
}

void s3_lock_answer_headers(s3_req *r, const st_object_info *o)
{
    if (o->lock_mode != ST_LOCK_NONE) {
        char date[32];
        xml_iso_time_ms(o->retain_until_ms, date);
        resp_header(r, "x-amz-object-lock-mode", mode_name(o->lock_mode));
        resp_header(r, "x-amz-object-lock-retain-until-date", date);
    }
    if (o->legal_hold != ST_HOLD_UNSET)
        resp_header(r, "x-amz-object-lock-legal-hold",
                    o->legal_hold == ST_HOLD_ON ? "ON" : "OFF");
}

/* ---- bucket: Put/GetObjectLockConfiguration --------------------------- */

static void put_lock_config_run(s3_req *r)
{
    xmlreq_lock_config c;
    cf_err err;
    if (xmlreq_lock_config_parse(r->body.p ? r->body.p : "", r->body.len, &r->xmldoc, &c,
                                 &err) < 0) {
        s3_xml_refused(r, &err);
        return;
    }
    if (c.has_rule && c.days == 0 && c.years == 0) {
        resp_error(r, S3E_InvalidArgument, "Default retention period must be a positive "
                   "integer value");
        return;
    }
    if (st_bucket_set_lock(r->srv->engine, r->tenant, r->bucket,
                           c.has_rule ? c.mode : ST_LOCK_NONE, c.has_rule ? c.days : 0,
                           c.has_rule ? c.years : 0, &err) < 0) {
        if (err.code == CF_EBUCKETSTATE)
            resp_error(r, S3E_InvalidBucketState, err.msg);
        else
            s3_lock_failed(r, &err);
        return;
    }
    resp_status(r, 200);
}

static void get_lock_config_run(s3_req *r)
{
    st_bucket_info b;
    if (s3_bucket_load(r, &b) < 0)
        return;
    if (!b.object_lock) {
        resp_error(r, S3E_ObjectLockConfigurationNotFoundError, NULL);
        return;
    }
    xml_begin(&r->resp, "ObjectLockConfiguration");
    xml_elem(&r->resp, "ObjectLockEnabled", "Enabled");
    if (b.lock_mode != ST_LOCK_NONE) {
        xml_open(&r->resp, "Rule");
        xml_open(&r->resp, "DefaultRetention");
        xml_elem(&r->resp, "Mode", mode_name(b.lock_mode));
        xml_elem_u64(&r->resp, b.lock_days ? "Days" : "Years",
                     b.lock_days ? b.lock_days : b.lock_years);
        xml_close(&r->resp, "DefaultRetention");
        xml_close(&r->resp, "Rule");
    }
    xml_close(&r->resp, "ObjectLockConfiguration");
    resp_xml(r, 200);
}

/* ---- object: retention and legal hold --------------------------------- */

/* The version the request names, through HEAD (its lock fields). */
static int head_named(s3_req *r, const char **version, st_object_info *o)
{
    cf_err err;
    if (s3_version_param(r, version) < 0)
        return -1;
    if (st_head_version(r->srv->engine, r->tenant, r->bucket, r->key, *version, o,
                        &err) < 0) {
        resp_cf(r, &err);
        return -1;
    }
    st_object_info_clear(o);
    return 0;
}

static void put_retention_run(s3_req *r)
{
    const char *version;
    int mode;
    int64_t until;
    cf_err err;
    if (s3_version_param(r, &version) < 0)
        return;
    if (xmlreq_retention_parse(r->body.p ? r->body.p : "", r->body.len, &r->xmldoc, &mode,
                               &until, &err) < 0) {
        s3_xml_refused(r, &err);
        return;
    }
    const char *h = req_header(r, "x-amz-bypass-governance-retention");
    bool bypass = h && strcasecmp(h, "true") == 0 && perm_may(r, ST_PERM_BYPASS_GOVERNANCE);
    if (st_object_set_retention(r->srv->engine, r->tenant, r->bucket, r->key, version, mode,
                                until, bypass, &err) < 0) {
        s3_lock_failed(r, &err);
        return;
    }
    resp_status(r, 200);
}

static void get_retention_run(s3_req *r)
{
    const char *version;
    st_object_info o;
    if (head_named(r, &version, &o) < 0)
        return;
    if (o.lock_mode == ST_LOCK_NONE) {
        resp_error(r, S3E_NoSuchObjectLockConfiguration,
                   "The specified object does not have a ObjectLock configuration");
        return;
    }
    char date[32];
    xml_iso_time_ms(o.retain_until_ms, date);
    xml_begin(&r->resp, "Retention");
    xml_elem(&r->resp, "Mode", mode_name(o.lock_mode));
    xml_elem(&r->resp, "RetainUntilDate", date);
    xml_close(&r->resp, "Retention");
    resp_xml(r, 200);
}

static void put_legal_hold_run(s3_req *r)
{
    const char *version;
    int hold;
    cf_err err;
    if (s3_version_param(r, &version) < 0)
        return;
    if (xmlreq_legal_hold_parse(r->body.p ? r->body.p : "", r->body.len, &r->xmldoc, &hold,
                                &err) < 0) {
        s3_xml_refused(r, &err);
        return;
    }
    if (hold == ST_HOLD_OFF && perm_require(r, ST_PERM_DELETE) < 0)
        return;                      /* lifting a hold is a delete's first step */
    if (st_object_set_legal_hold(r->srv->engine, r->tenant, r->bucket, r->key, version, hold,
                                 &err) < 0) {
        s3_lock_failed(r, &err);
        return;
    }
    resp_status(r, 200);
}

static void get_legal_hold_run(s3_req *r)
{
    const char *version;
    st_object_info o;
    if (head_named(r, &version, &o) < 0)
        return;
    if (o.legal_hold == ST_HOLD_UNSET) {
        resp_error(r, S3E_NoSuchObjectLockConfiguration,
                   "The specified object does not have a ObjectLock configuration");
        return;
    }
    xml_begin(&r->resp, "LegalHold");
    xml_elem(&r->resp, "Status", o.legal_hold == ST_HOLD_ON ? "ON" : "OFF");
    xml_close(&r->resp, "LegalHold");
    resp_xml(r, 200);
}

const s3_op op_put_lock_config = {"PutObjectLockConfiguration", BODY_BUFFER, ACT_CONFIG,
                                  NULL, NULL, put_lock_config_run};
const s3_op op_get_lock_config = {"GetObjectLockConfiguration", BODY_NONE, ACT_READ, NULL,
                                  NULL, get_lock_config_run};
const s3_op op_put_retention = {"PutObjectRetention", BODY_BUFFER, ACT_WRITE, NULL, NULL,
                                put_retention_run};
const s3_op op_get_retention = {"GetObjectRetention", BODY_NONE, ACT_READ, NULL, NULL,
                                get_retention_run};
const s3_op op_put_legal_hold = {"PutObjectLegalHold", BODY_BUFFER, ACT_WRITE, NULL, NULL,
                                 put_legal_hold_run};
const s3_op op_get_legal_hold = {"GetObjectLegalHold", BODY_NONE, ACT_READ, NULL, NULL,
                                 get_legal_hold_run};
