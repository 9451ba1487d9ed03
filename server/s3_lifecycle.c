/*
 * server/s3_lifecycle.c - the lifecycle feature's S3 operations:
 * Put/Get/DeleteBucketLifecycleConfiguration, Put/Get/DeleteObjectTagging
 * and RestoreObject.
 *
 * A lifecycle configuration is validated in full (server/lcxml.c, then
 * every Transition's and NoncurrentVersionTransition's StorageClass must
 * be a tier, directly or through
 * lifecycle.storage_class_map) before it is stored, and stored as sent;
 * the lifecycle worker reads it with the same parser. Tag sets are
 * checked against S3's limits before the engine sees them. RestoreObject
 * records the request (202, or 200 when a local copy exists and only its
 * days change, 409 while one is on its way) and wakes the lifecycle
 * worker, which brings the copy back. Tagging and RestoreObject act on
 * the version a versionId names (any version, current or noncurrent; a
 * delete marker has no tags and no data: MethodNotAllowed), else on the
 * current one; a tagging answer for a named version carries x-amz-version-id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/lcxml.h"
#include "server/s3_common.h"
#include "server/s3_ops.h"
#include "server/sched.h"
#include "server/xml.h"
#include "storage/lifecycle.h"

/* ---- bucket lifecycle configuration --------------------------------------------- */

/* A transition's StorageClass names a tier (or a class mapped to one):
 * 1 yes, 0 answered (InvalidArgument naming the rule and the action). */
static int class_is_tier(s3_req *r, const lcxml_rule *rule, const char *action,
                         const char *sc)
{
    const char *tier = config_map_class(&r->srv->cfg->lifecycle, sc);
    st_tier t;
    cf_err err;
    if (st_tier_get(r->srv->engine, tier, 0, false, &t, &err) == 0) {
        st_tier_clear(&t);
        return 1;
    }
    if (err.code != CF_ENOTFOUND) {
        resp_cf(r, &err);
        return 0;
    }
    char *msg = pool_printf(r->pool, "Rule %s: the %s's StorageClass %s is not a tier of "
                            "this server (coffer tier list)", rule->name, action, sc);
    resp_error(r, S3E_InvalidArgument, msg);
    return 0;
}

/* Every Transition and NoncurrentVersionTransition names a tier. */
static int check_classes(s3_req *r, const lcxml_config *cfg)
{
    for (size_t i = 0; i < cfg->nrules; i++) {
        const lcxml_rule *rule = &cfg->rules[i];
        for (size_t j = 0; j < rule->ntransitions; j++)
            if (!class_is_tier(r, rule, "Transition", rule->transitions[j].storage_class))
                return -1;
        for (size_t j = 0; j < rule->nnc_transitions; j++)
            if (!class_is_tier(r, rule, "NoncurrentVersionTransition",
                               rule->nc_transitions[j].storage_class))
                return -1;
    }
    return 0;
}

static void put_lifecycle_run(s3_req *r)
{
    st_bucket_info binfo;
    cf_err err;
    if (s3_check_body_digest(r) < 0 || s3_bucket_load(r, &binfo) < 0)
        return;
    lcxml_config cfg;
    lcxml_err lerr;
    const char *body = r->body.p ? r->body.p : "";
    if (lcxml_lifecycle_parse(body, r->body.len, r->pool, &r->xmldoc, &cfg, &lerr) < 0) {
        s3_lcxml_refused(r, &lerr);
        return;
    }
    if (check_classes(r, &cfg) < 0)
        return;
    if (st_lifecycle_put(r->srv->engine, r->tenant, r->bucket, body, r->body.len,
                         &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    sched_wake(r->srv->jobs, "lifecycle");
    resp_status(r, 200);
}

static void get_lifecycle_run(s3_req *r)
{
    char *xml;
    size_t len;
    cf_err err;
    if (st_lifecycle_get(r->srv->engine, r->tenant, r->bucket, &xml, &len, &err) < 0) {
        if (err.code == CF_ENOTFOUND)
            resp_error(r, S3E_NoSuchLifecycleConfiguration, NULL);
        else
            resp_cf(r, &err);
        return;
    }
    sbuf_add(&r->resp, xml, len);
    free(xml);
    resp_xml(r, 200);
}

static void delete_lifecycle_run(s3_req *r)
{
    cf_err err;
    if (st_lifecycle_delete(r->srv->engine, r->tenant, r->bucket, &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    resp_status(r, 204);
}

/* ---- object tagging ---------------------------------------------------------------- */

/* S3 names the version an answer is about when the request named one. */
static void named_version(s3_req *r, const char *version)
{
    if (version)
        resp_header(r, "x-amz-version-id", version);
}

static void put_tagging_run(s3_req *r)
{
    st_header *tags;
    size_t n;
    lcxml_err lerr;
    cf_err err;
    const char *version;
    if (s3_version_param(r, &version) < 0 || s3_check_body_digest(r) < 0)
        return;
    if (lcxml_tagging_parse(r->body.p ? r->body.p : "", r->body.len, r->pool, &r->xmldoc,
                            &tags, &n, &lerr) < 0) {
        s3_lcxml_refused(r, &lerr);
        return;
    }
    if (st_tags_put(r->srv->engine, r->tenant, r->bucket, r->key, version, tags, n,
                    &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    named_version(r, version);
    resp_status(r, 200);
}

static void get_tagging_run(s3_req *r)
{
    st_header *tags;
    size_t n;
    cf_err err;
    const char *version;
    if (s3_version_param(r, &version) < 0)
        return;
    if (st_tags_get(r->srv->engine, r->tenant, r->bucket, r->key, version, &tags, &n,
                    &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    named_version(r, version);
    xml_begin(&r->resp, "Tagging");
    xml_open(&r->resp, "TagSet");
    for (size_t i = 0; i < n; i++) {
        xml_open(&r->resp, "Tag");
        xml_elem(&r->resp, "Key", tags[i].name);
        xml_elem(&r->resp, "Value", tags[i].value);
        xml_close(&r->resp, "Tag");
    }
    xml_close(&r->resp, "TagSet");
    xml_close(&r->resp, "Tagging");
    st_tags_free(tags, n);
    resp_xml(r, 200);
}

static void delete_tagging_run(s3_req *r)
{
    cf_err err;
    const char *version;
    if (s3_version_param(r, &version) < 0)
        return;
    if (st_tags_put(r->srv->engine, r->tenant, r->bucket, r->key, version, NULL, 0,
                    &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    named_version(r, version);
    resp_status(r, 204);
}

/* ---- restore ------------------------------------------------------------------------ */

static void restore_run(s3_req *r)
{
    int days;
    lcxml_err lerr;
    cf_err err;
    const char *version;
    if (s3_version_param(r, &version) < 0)
        return;
    if (lcxml_restore_parse(r->body.p ? r->body.p : "", r->body.len, &r->xmldoc, &days,
                            &lerr) < 0) {
        s3_lcxml_refused(r, &lerr);
        return;
    }
    st_restore_result res;
    int64_t day_ms = r->srv->cfg->lifecycle.day_seconds * 1000;
    if (st_restore_request(r->srv->engine, r->tenant, r->bucket, r->key, version, days,
                           day_ms, &res, &err) < 0) {
        resp_cf(r, &err);
        return;
    }
    if (res == ST_RESTORE_IN_PROGRESS) {
        resp_error(r, S3E_RestoreAlreadyInProgress, NULL);
        return;
    }
    sched_wake(r->srv->jobs, "lifecycle");
    resp_status(r, res == ST_RESTORE_STARTED ? 202 : 200);
}

const s3_op op_put_bucket_lifecycle = {"PutBucketLifecycleConfiguration", BODY_BUFFER, true,
                                       NULL, NULL, put_lifecycle_run};
const s3_op op_get_bucket_lifecycle = {"GetBucketLifecycleConfiguration", BODY_NONE, false,
                                       NULL, NULL, get_lifecycle_run};
const s3_op op_delete_bucket_lifecycle = {"DeleteBucketLifecycle", BODY_NONE, true, NULL,
                                          NULL, delete_lifecycle_run};
const s3_op op_put_object_tagging = {"PutObjectTagging", BODY_BUFFER, true, NULL, NULL,
                                     put_tagging_run};
const s3_op op_get_object_tagging = {"GetObjectTagging", BODY_NONE, false, NULL, NULL,
                                     get_tagging_run};
const s3_op op_delete_object_tagging = {"DeleteObjectTagging", BODY_NONE, true, NULL, NULL,
                                        delete_tagging_run};
const s3_op op_restore_object = {"RestoreObject", BODY_BUFFER, true, NULL, NULL, restore_run};
