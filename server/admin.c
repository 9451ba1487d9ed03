/*
 * server/admin.c - the admin API (contract and routes in admin.h).
 *
 * A request goes through three steps: the path is split into a resource
 * and an optional argument and matched against a small route table (no
 * match: 404, match with another method: 405); a POST body is parsed with
 * jansson and checked to be an object holding only the fields the route
 * knows; then the route's handler calls the engine and builds the reply as
 * a jansson object. Handlers return NULL only when memory runs out, so the
 * caller can tell "could not even say what went wrong" from a reply.
 *
 * Engine errors map to HTTP statuses in one place (engine_error); the names
 * arriving in paths, bodies and queries are checked before they reach the
 * engine, so malformed input is a clear 400 instead of whatever the engine
 * would make of it.
 */
#include "server/admin.h"

#include "server/jobs.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "storage/lifecycle.h"
#include "tier/tier.h"
#include "common/names.h"
#include "server/jsonobj.h"

typedef struct admin_req {
    st_engine *e;
    sched *jobs;
    tier_set *tiers;
    const char *arg;        /* path segment after the resource, or NULL */
    const char *query;      /* raw query string, or NULL */
    json_t *body;           /* parsed POST body, else NULL */
    int status;             /* set by the handler */
} admin_req;

typedef json_t *(*admin_fn)(admin_req *r);

/* ---- replies ------------------------------------------------------------ */

/* Messages may quote client input or engine text; keep them printable
 * ASCII so the reply is valid JSON (and a terminal-safe CLI message). */
static json_t *error_reply(admin_req *r, int status, const char *code,
                           const char *message)
{
    char clean[CF_ERRMSG_MAX];
    size_t i = 0;
    for (; message[i] && i + 1 < sizeof clean; i++)
        clean[i] = message[i] >= ' ' && message[i] < 0x7f ? message[i] : '?';
    clean[i] = '\0';
    r->status = status;
    return json_pack("{s:s, s:s}", "error", code, "message", clean);
}

/* Map an engine failure; notfound names what was missing. */
static json_t *engine_error(admin_req *r, const cf_err *err, const char *notfound)
{
    switch (err->code) {
    case CF_EINVAL:
        return error_reply(r, 400, "InvalidRequest", err->msg);
    case CF_ENOTFOUND:
        return error_reply(r, 404, notfound, err->msg);
    case CF_EEXISTS:
        return error_reply(r, 409, "TenantExists", err->msg);
    case CF_ENOTEMPTY:
        return error_reply(r, 409, "TenantNotEmpty", err->msg);
    default:
        return error_reply(r, 500, "InternalError", err->msg);
    }
}

/* ---- input checks ------------------------------------------------------- */

static json_t *body_error(admin_req *r, const char *const *allowed)
{
    const char *other = jsonobj_unknown_key(r->body, allowed);
    if (!other)
        return NULL;
    char msg[160];
    snprintf(msg, sizeof msg, "unknown field \"%.64s\"", other);
    return error_reply(r, 400, "InvalidRequest", msg);
}

/* The tenant named by the string field `name` of the body, or NULL. */
static const char *body_tenant(admin_req *r, const char *name)
{
    const char *s = json_string_value(json_object_get(r->body, name));
    return s && names_tenant_ok(s) ? s : NULL;
}

static json_t *bad_tenant(admin_req *r)
{
    return error_reply(r, 400, "InvalidRequest",
                       "tenant name must be 1..64 characters [a-z0-9-]");
}

/* ---- tenants ------------------------------------------------------------ */

static json_t *tenant_create(admin_req *r)
{
    static const char *const fields[] = {"name", NULL};
    json_t *bad = body_error(r, fields);
    if (bad)
        return bad;
    const char *name = body_tenant(r, "name");
    if (!name)
        return bad_tenant(r);
    cf_err err;
    if (st_tenant_create(r->e, name, &err) < 0)
        return engine_error(r, &err, "NoSuchTenant");
    r->status = 201;
    return json_pack("{s:s}", "name", name);
}

/* Listing callbacks append to an array; `oom` records a failed append. */
typedef struct list_ctx {
    json_t *items;
    bool oom;
} list_ctx;

static int add_item(list_ctx *l, json_t *item)
{
    if (!item || json_array_append_new(l->items, item) != 0) {
        l->oom = true;
        return -1;
    }
    return 0;
}

static int tenant_item(void *ctx, const st_tenant_info *t)
{
    return add_item(ctx, json_pack("{s:s, s:I}", "name", t->name, "created",
                                   (json_int_t)t->created));
}

#define WRITE_PERMS (ST_PERM_WRITE_NEW | ST_PERM_OVERWRITE | ST_PERM_DELETE)

/* A key's policy as its JSON fields: "permissions" (names), "buckets"
 * (null: all), "allow_delete_prefixes", and "read_only" (no write
 * permission), the field of release 0.1.0. */
static json_t *policy_json(const st_key_policy *p)
{
    json_t *perms = json_array();
    for (unsigned bit = 1; perms && bit <= ST_PERM_ALL; bit <<= 1)
        if ((p->perms & bit) &&
            json_array_append_new(perms, json_string(st_perm_name(bit))) != 0) {
            json_decref(perms);
            perms = NULL;
        }
    json_t *buckets = p->nbuckets ? jsonobj_string_array((const char *const *)p->buckets, p->nbuckets) : json_null();
    json_t *prefixes = jsonobj_string_array((const char *const *)p->delete_prefixes,
                                              p->nprefixes);
    if (!perms || !buckets || !prefixes) {
        json_decref(perms);
        json_decref(buckets);
        json_decref(prefixes);
        return NULL;
    }
    return json_pack("{s:o, s:o, s:o, s:b}", "permissions", perms, "buckets", buckets,
                     "allow_delete_prefixes", prefixes, "read_only",
                     !(p->perms & WRITE_PERMS));
}

/* Merge the policy fields into obj (a new reference; NULL on no memory). */
static json_t *with_policy(json_t *obj, const st_key_policy *p)
{
    json_t *pol = obj ? policy_json(p) : NULL;
    if (!pol || json_object_update(obj, pol) < 0) {
        json_decref(obj);
        obj = NULL;
    }
    json_decref(pol);
    return obj;
}

static int key_item(void *ctx, const st_key_info *k)
{
    return add_item(ctx, with_policy(json_pack("{s:s, s:s, s:I}", "access_key",
                                               k->access_key, "tenant", k->tenant,
                                               "created", (json_int_t)k->created),
                                     &k->policy));
}

/* Wrap a finished listing as {field: [...]}, or map its failure. */
static json_t *list_reply(admin_req *r, list_ctx *l, int rc, const cf_err *err,
                          const char *field)
{
    if (l->oom) {
        json_decref(l->items);
        return NULL;
    }
    if (rc < 0) {
        json_decref(l->items);
        return engine_error(r, err, "NoSuchTenant");
    }
    r->status = 200;
    return json_pack("{s:o}", field, l->items);
}

static json_t *tenant_list(admin_req *r)
{
    list_ctx l = {.items = json_array()};
    if (!l.items)
        return NULL;
    cf_err err;
    int rc = st_tenant_list(r->e, tenant_item, &l, &err);
    return list_reply(r, &l, rc, &err, "tenants");
}

static json_t *tenant_delete(admin_req *r)
{
    if (!names_tenant_ok(r->arg))
        return bad_tenant(r);
    cf_err err;
    if (st_tenant_delete(r->e, r->arg, &err) < 0)
        return engine_error(r, &err, "NoSuchTenant");
    r->status = 200;
    return json_pack("{s:s, s:b}", "name", r->arg, "deleted", 1);
}

/* ---- keys --------------------------------------------------------------- */

/* An array of strings of the body into v (pointing into the body), at
 * most ST_KEY_SCOPE_MAX of them; false if it is something else. */
static bool body_names(admin_req *r, const char *field, const char **v, size_t *n)
{
    json_t *a = json_object_get(r->body, field);
    *n = 0;
    if (!a)
        return true;
    if (!json_is_array(a) || json_array_size(a) > ST_KEY_SCOPE_MAX)
        return false;
    size_t i;
    json_t *item;
    json_array_foreach(a, i, item) {
        if (!(v[i] = json_string_value(item)))
            return false;
    }
    *n = json_array_size(a);
    return true;
}

/* The policy of a POST /keys body: "permissions" (names; absent: every
 * permission but bypass-governance, or only read with "read_only": true),
 * "buckets" and "allow_delete_prefixes" (arrays of strings). NULL if all
 * is well, else the error reply. */
static json_t *body_policy(admin_req *r, st_key_policy *p, const char **buckets,
                           const char **prefixes)
{
    json_t *ro = json_object_get(r->body, "read_only");
    json_t *perms = json_object_get(r->body, "permissions");
    if (ro && !json_is_boolean(ro))
        return error_reply(r, 400, "InvalidRequest", "read_only must be true or false");
    if (ro && perms)
        return error_reply(r, 400, "InvalidRequest",
                           "give read_only or permissions, not both");
    p->perms = json_is_true(ro) ? ST_PERM_READ : perms ? 0 : ST_PERM_DEFAULT;
    if (perms && (!json_is_array(perms) || json_array_size(perms) == 0))
        return error_reply(r, 400, "InvalidRequest",
                           "permissions must be a non-empty list of names");
    size_t i;
    json_t *item;
    json_array_foreach(perms, i, item) {
        const char *name = json_string_value(item);
        unsigned bit = name ? st_perm_from_name(name) : 0;
        if (!bit)
            return error_reply(r, 400, "InvalidRequest", "permissions are read, "
                               "write-new, overwrite, delete and bypass-governance");
        p->perms |= bit;
    }
    char msg[96];
    if (!body_names(r, "buckets", buckets, &p->nbuckets)) {
        snprintf(msg, sizeof msg, "buckets must be a list of at most %d names",
                 ST_KEY_SCOPE_MAX);
        return error_reply(r, 400, "InvalidRequest", msg);
    }
    if (!body_names(r, "allow_delete_prefixes", prefixes, &p->nprefixes)) {
        snprintf(msg, sizeof msg, "allow_delete_prefixes must be a list of at most %d "
                 "strings", ST_KEY_SCOPE_MAX);
        return error_reply(r, 400, "InvalidRequest", msg);
    }
    p->buckets = (char **)buckets;
    p->delete_prefixes = (char **)prefixes;
    return NULL;
}

static json_t *key_create(admin_req *r)
{
    static const char *const fields[] = {"tenant", "read_only", "permissions", "buckets",
                                         "allow_delete_prefixes", NULL};
    json_t *bad = body_error(r, fields);
    if (bad)
        return bad;
    const char *tenant = body_tenant(r, "tenant");
    if (!tenant)
        return bad_tenant(r);
    const char *buckets[ST_KEY_SCOPE_MAX], *prefixes[ST_KEY_SCOPE_MAX];
    st_key_policy policy = {0};
    if ((bad = body_policy(r, &policy, buckets, prefixes)))
        return bad;
    char ak[ST_ACCESS_KEY_MAX], sk[ST_SECRET_KEY_MAX];
    cf_err err;
    if (st_key_create(r->e, tenant, &policy, NULL, NULL, ak, sk, &err) < 0)
        return engine_error(r, &err, "NoSuchTenant");
    r->status = 201;
    json_t *reply = with_policy(json_pack("{s:s, s:s, s:s}", "access_key", ak,
                                          "secret_key", sk, "tenant", tenant), &policy);
    OPENSSL_cleanse(sk, sizeof sk);
    return reply;
}

/* The only query parameter is tenant=NAME (names need no %-encoding):
 * *tenant gets it or NULL; an error reply if the query is malformed. */
static json_t *tenant_query(admin_req *r, const char **tenant)
{
    static const char param[] = "tenant=";
    *tenant = NULL;
    if (r->query && *r->query) {
        if (strncmp(r->query, param, sizeof param - 1) != 0)
            return error_reply(r, 400, "InvalidRequest",
                               "the only query parameter is tenant=NAME");
        *tenant = r->query + sizeof param - 1;
    }
    if (*tenant && !names_tenant_ok(*tenant))
        return bad_tenant(r);
    return NULL;
}

/* A listing narrowed by ?tenant= (all tenants without it), as {field:[...]}. */
typedef int (*tenant_lister)(st_engine *e, const char *tenant, list_ctx *l, cf_err *err);

static json_t *tenant_listing(admin_req *r, tenant_lister fn, const char *field)
{
    const char *tenant;
    json_t *bad = tenant_query(r, &tenant);
    if (bad)
        return bad;
    list_ctx l = {.items = json_array()};
    if (!l.items)
        return NULL;
    cf_err err;
    int rc = fn(r->e, tenant, &l, &err);
    return list_reply(r, &l, rc, &err, field);
}

static int list_keys(st_engine *e, const char *tenant, list_ctx *l, cf_err *err)
{
    return st_key_list(e, tenant, key_item, l, err);
}

static json_t *key_list(admin_req *r)
{
    return tenant_listing(r, list_keys, "keys");
}

static json_t *key_revoke(admin_req *r)
{
    if (!names_access_key_ok(r->arg))
        return error_reply(r, 400, "InvalidRequest", "malformed access key");
    cf_err err;
    if (st_key_revoke(r->e, r->arg, &err) < 0)
        return engine_error(r, &err, "NoSuchAccessKey");
    r->status = 200;
    return json_pack("{s:s, s:b}", "access_key", r->arg, "deleted", 1);
}

/* ---- status ------------------------------------------------------------- */

static int count_tenant(void *ctx, const st_tenant_info *t)
{
    (*(json_int_t *)ctx)++;
    return 0;
}

static int count_key(void *ctx, const st_key_info *k)
{
    (*(json_int_t *)ctx)++;
    return 0;
}

/* The last GC scan, or null before the first one. */
static json_t *gc_status(st_engine *e)
{
    st_gc_stats g;
    int64_t when = st_gc_last(e, &g);
    if (when == 0)
        return json_null();
    return json_pack("{s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "last_run",
                     (json_int_t)(when / 1000), "held", g.held, "orphans_held",
                     (json_int_t)g.orphans_held, "orphan_bound", (json_int_t)g.orphan_bound,
                     "orphan_files", (json_int_t)g.orphan_files,
                     "orphans_older_than_index", (json_int_t)g.orphans_older_than_index,
                     "foreign_files", (json_int_t)g.foreign_files, "files_scanned",
                     (json_int_t)g.files_scanned);
}

static json_t *status_get(admin_req *r)
{
    int k, m;
    uint32_t block_size;
    uint64_t heal = 0;
    json_int_t tenants = 0, keys = 0;
    cf_err err;
    st_layout(r->e, &k, &m, &block_size);
    if (st_heal_pending(r->e, &heal, &err) < 0 ||
        st_tenant_list(r->e, count_tenant, &tenants, &err) < 0 ||
        st_key_list(r->e, NULL, count_key, &keys, &err) < 0)
        return engine_error(r, &err, "InternalError");
    st_index_stats ix;
    st_index_stats_get(r->e, &ix);
    r->status = 200;
    json_t *doc = json_pack("{s:s, s:{s:i, s:i, s:I}, s:I, s:I, s:I,"
                     " s:{s:I, s:I, s:I, s:I, s:s, s:s}, s:o}",
                     "version", PACKAGE_VERSION, "layout", "k", k, "m", m,
                     "block_size", (json_int_t)block_size, "heal_pending",
                     (json_int_t)heal, "tenants", tenants, "keys", keys, "index",
                     "commits", (json_int_t)ix.commits, "wal_syncs",
                     (json_int_t)ix.wal_syncs, "commit_number",
                     (json_int_t)ix.commit_number, "created",
                     (json_int_t)(ix.created_ms / 1000), "set_id", ix.set_id,
                     "lineage", ix.lineage, "gc", gc_status(r->e));
    /* the last scrub and drill: what a backup's owner checks first */
    static const char *const checks[] = {"scrub", "drill"};
    for (size_t i = 0; doc && i < 2; i++) {
        json_t *st = r->jobs ? sched_status(r->jobs, checks[i], false) : NULL;
        json_t *last = json_object_get(st, "last_run");
        char field[16];
        snprintf(field, sizeof field, "last_%s", checks[i]);
        json_object_set_new(doc, field, last ? json_incref(last) : json_null());
        json_decref(st);
    }
    return doc;
}

/* ---- usage and disks ---------------------------------------------------- */

/* A limit as JSON: a number, or null for none. */
static json_t *limit_json(int64_t v)
{
    return v == ST_QUOTA_NONE ? json_null() : json_integer((json_int_t)v);
}

static int usage_item(void *ctx, const st_usage *u)
{
    json_t *quota = u->max_bytes == ST_QUOTA_NONE && u->max_objects == ST_QUOTA_NONE
        ? json_null()
        : json_pack("{s:o, s:o}", "bytes", limit_json(u->max_bytes), "objects",
                    limit_json(u->max_objects));
    return add_item(ctx, json_pack("{s:s, s:I, s:I, s:I, s:o}", "tenant", u->tenant,
                                   "buckets", (json_int_t)u->buckets, "objects",
                                   (json_int_t)u->objects, "bytes",
                                   (json_int_t)u->bytes, "quota", quota));
}

static int list_usage(st_engine *e, const char *tenant, list_ctx *l, cf_err *err)
{
    return st_usage_list(e, tenant, usage_item, l, err);
}

/* GET /usage: every tenant; the query tenant=NAME narrows it to one. */
static json_t *usage_get(admin_req *r)
{
    return tenant_listing(r, list_usage, "usage");
}

/* ---- quotas ------------------------------------------------------------- */

static json_t *quota_json(const st_quota *q)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:I, s:I}", "tenant", q->tenant, "bucket",
                     q->bucket[0] ? json_string(q->bucket) : json_null(), "max_bytes",
                     limit_json(q->max_bytes), "max_objects", limit_json(q->max_objects),
                     "objects", (json_int_t)q->objects, "bytes", (json_int_t)q->bytes);
}

static int quota_item(void *ctx, const st_quota *q)
{
    return add_item(ctx, quota_json(q));
}

static int list_quotas(st_engine *e, const char *tenant, list_ctx *l, cf_err *err)
{
    return st_quota_list(e, tenant, quota_item, l, err);
}

/* GET /quotas: every quota; the query tenant=NAME narrows it to one tenant. */
static json_t *quota_list(admin_req *r)
{
    return tenant_listing(r, list_quotas, "quotas");
}

/* Map a quota call's failure: a missing tenant or bucket is a 404. */
static json_t *quota_error(admin_req *r, const cf_err *err)
{
    if (err->code == CF_ENOBUCKET)
        return error_reply(r, 404, "NoSuchBucket", err->msg);
    return engine_error(r, err, "NoSuchTenant");
}

/* A limit field: absent keeps it, null drops it, else a count >= 0. */
static bool body_limit(admin_req *r, const char *name, int64_t *out)
{
    json_t *v = json_object_get(r->body, name);
    if (!v || json_is_null(v)) {
        *out = v ? ST_QUOTA_NONE : ST_QUOTA_KEEP;
        return true;
    }
    *out = (int64_t)json_integer_value(v);
    return json_is_integer(v) && *out >= 0;
}

/* The optional string field "bucket": NULL when absent; false if it is
 * not a valid bucket name. */
static bool body_bucket(admin_req *r, const char **bucket)
{
    json_t *v = json_object_get(r->body, "bucket");
    *bucket = json_string_value(v);
    return !v || (*bucket && names_bucket_ok(*bucket));
}

/* The reply to a change: the scope's quota as GET /quotas lists it, with
 * null limits once it is gone. */
typedef struct quota_find {
    const char *bucket;
    st_quota found;
    bool have;
} quota_find;

static int quota_match(void *ctx, const st_quota *q)
{
    quota_find *f = ctx;
    if (strcmp(q->bucket, f->bucket ? f->bucket : "") != 0)
        return 0;
    f->found = *q;
    f->have = true;
    return 1;
}

static json_t *quota_reply(admin_req *r, const char *tenant, const char *bucket)
{
    quota_find f = {.bucket = bucket};
    cf_err err;
    if (st_quota_list(r->e, tenant, quota_match, &f, &err) < 0)
        return engine_error(r, &err, "NoSuchTenant");
    if (!f.have) {
        snprintf(f.found.tenant, sizeof f.found.tenant, "%s", tenant);
        snprintf(f.found.bucket, sizeof f.found.bucket, "%s", bucket ? bucket : "");
        f.found.max_bytes = f.found.max_objects = ST_QUOTA_NONE;
    }
    r->status = 200;
    return quota_json(&f.found);
}

static json_t *quota_set(admin_req *r)
{
    static const char *const fields[] = {"tenant", "bucket", "max_bytes", "max_objects",
                                         NULL};
    json_t *bad = body_error(r, fields);
    if (bad)
        return bad;
    const char *tenant = body_tenant(r, "tenant"), *bucket;
    int64_t max_bytes, max_objects;
    if (!tenant)
        return bad_tenant(r);
    if (!body_bucket(r, &bucket))
        return error_reply(r, 400, "InvalidRequest", "bucket must be a valid bucket name");
    if (!body_limit(r, "max_bytes", &max_bytes) ||
        !body_limit(r, "max_objects", &max_objects))
        return error_reply(r, 400, "InvalidRequest",
                           "max_bytes and max_objects are integers >= 0, or null for none");
    cf_err err;
    if (st_quota_set(r->e, tenant, bucket, max_bytes, max_objects, &err) < 0)
        return quota_error(r, &err);
    return quota_reply(r, tenant, bucket);
}

/* DELETE /quotas/TENANT[?bucket=NAME] */
static json_t *quota_clear(admin_req *r)
{
    static const char param[] = "bucket=";
    if (!names_tenant_ok(r->arg))
        return bad_tenant(r);
    const char *bucket = NULL;
    if (r->query && *r->query) {
        bucket = strncmp(r->query, param, sizeof param - 1) == 0
            ? r->query + sizeof param - 1 : NULL;
        if (!bucket || !names_bucket_ok(bucket))
            return error_reply(r, 400, "InvalidRequest",
                               "the only query parameter is bucket=NAME");
    }
    bool removed;
    cf_err err;
    if (st_quota_clear(r->e, r->arg, bucket, &removed, &err) < 0)
        return quota_error(r, &err);
    r->status = 200;
    return json_pack("{s:s, s:o, s:b}", "tenant", r->arg, "bucket",
                     bucket ? json_string(bucket) : json_null(), "removed", removed);
}

static json_t *disks_get(admin_req *r)
{
    list_ctx l = {.items = json_array()};
    if (!l.items)
        return NULL;
    uint64_t pending = 0, per_disk[ST_MAX_DISKS] = {0};
    bool exact = true;
    cf_err err;
    int rc = st_heal_pending(r->e, &pending, &err);
    if (rc == 0)
        rc = st_heal_pending_disks(r->e, per_disk, &exact, &err);
    for (int i = 0; rc == 0 && i < st_disk_count(r->e); i++) {
        st_disk_info d;
        st_disk_get(r->e, i, &d);
        if (add_item(&l, json_pack("{s:i, s:s, s:s, s:b, s:b, s:b, s:s, s:I, s:I, s:I, "
                                   "s:I, s:I, s:I, s:I}", "index", i, "path", d.path,
                                   "state", st_disk_state(&d), "online", d.online,
                                   "writable", d.writable, "replacing", d.replacing,
                                   "write_fault", d.write_fault,
                                   "capacity_bytes", (json_int_t)d.capacity_bytes,
                                   "used_bytes", (json_int_t)d.used_bytes,
                                   "available_bytes", (json_int_t)d.available_bytes,
                                   "read_errors", (json_int_t)d.read_errors,
                                   "write_errors", (json_int_t)d.write_errors,
                                   "crc_errors", (json_int_t)d.crc_errors,
                                   "heal_pending", (json_int_t)per_disk[i])) < 0)
            break;
    }
    json_t *reply = list_reply(r, &l, rc, &err, "disks");
    if (reply && rc == 0) {
        json_object_set_new(reply, "heal_pending", json_integer((json_int_t)pending));
        json_object_set_new(reply, "heal_pending_exact", json_boolean(exact));
    }
    return reply;
}

/* POST /disks/N: replace disk N (coffer disks replace N): format the empty
 * directory in its place, then start heal --all to fill it. The reply
 * names that heal's run (run_id null when a heal was running already: the
 * disk stays "replacing" until a heal --all has filled it). */
static json_t *disk_replace(admin_req *r)
{
    static const char *const allowed[] = {NULL};
    json_t *bad = r->body ? body_error(r, allowed) : NULL;
    if (bad)
        return bad;
    char *end = NULL;
    long i = strtol(r->arg, &end, 10);
    if (end == r->arg || *end || i < 0 || i >= st_disk_count(r->e))
        return error_reply(r, 404, "NoSuchDisk", "no such disk");
    cf_err err;
    if (st_disk_replace(r->e, (int)i, &err) < 0) {
        bool refused = err.code == CF_EEXISTS || err.code == CF_ENOTEMPTY ||
                       err.code == CF_ECONFIG || err.code == CF_EIO;
        return error_reply(r, refused ? 409 : 500,
                           refused ? "DiskNotReplaceable" : "InternalError", err.msg);
    }
    uint64_t id = 0;
    json_t *opts = json_pack("{s:b}", "all", 1);
    int rc = opts ? sched_trigger(r->jobs, "heal", opts, &id, &err) : -1;
    json_decref(opts);
    r->status = 200;
    return json_pack("{s:i, s:s, s:o}", "index", (int)i, "state", "replacing", "run_id",
                     rc == 0 ? json_integer((json_int_t)id) : json_null());
}

/* ---- jobs (server/sched.h) ----------------------------------------------- */

static json_t *no_job(admin_req *r)
{
    return error_reply(r, 404, "NoSuchJob", "no such job");
}

static json_t *jobs_list(admin_req *r)
{
    json_t *all = sched_status_all(r->jobs);
    r->status = 200;
    return all ? json_pack("{s:o}", "jobs", all) : NULL;
}

static json_t *job_get(admin_req *r)
{
    json_t *st = sched_status(r->jobs, r->arg, true);
    if (!st)
        return no_job(r);
    r->status = 200;
    return st;
}

/* Start a run of job `name` with the body as its options: 202 with the
 * run's id, 409 while it runs. */
static json_t *trigger(admin_req *r, const char *name, uint64_t *id)
{
    cf_err err;
    if (jobs_check_options(name, r->body, &err) < 0)
        return err.code == CF_ENOTFOUND ? no_job(r)
                                        : error_reply(r, 400, "InvalidRequest", err.msg);
    if (sched_trigger(r->jobs, name, r->body, id, &err) == 0)
        return NULL;
    if (err.code == CF_ENOTFOUND)
        return no_job(r);
    if (err.code == CF_EEXISTS)
        return error_reply(r, 409, "JobRunning", err.msg);
    return error_reply(r, 503, "ServiceUnavailable", err.msg);
}

static json_t *job_run(admin_req *r)
{
    uint64_t id;
    json_t *bad = trigger(r, r->arg, &id);
    if (bad)
        return bad;
    r->status = 202;
    return json_pack("{s:s, s:I}", "name", r->arg, "run_id", (json_int_t)id);
}

/* Run a job now and answer with its report when it ends (POST /heal,
 * /gc: the synchronous forms). */
static json_t *run_and_report(admin_req *r, const char *name)
{
    uint64_t id;
    json_t *bad = trigger(r, name, &id);
    if (bad)
        return bad;
    bool ok = false;
    char summary[CF_ERRMSG_MAX];
    if (sched_wait(r->jobs, name, id, &ok, summary, sizeof summary) < 0)
        return error_reply(r, 503, "ServiceUnavailable", "cofferd is stopping");
    if (!ok)
        return error_reply(r, 500, "InternalError", summary);
    json_t *report = sched_last_report(r->jobs, name, NULL);
    r->status = 200;
    return report ? report : json_pack("{s:s}", "summary", summary);
}

static json_t *heal_run(admin_req *r)
{
    return run_and_report(r, "heal");
}

static json_t *gc_run(admin_req *r)
{
    return run_and_report(r, "gc");
}

/* ---- tiers -------------------------------------------------------------- */

static json_t *tier_error(admin_req *r, const cf_err *err)
{
    switch (err->code) {
    case CF_EINVAL:
        return error_reply(r, 400, "InvalidRequest", err->msg);
    case CF_ENOTFOUND:
        return error_reply(r, 404, "NoSuchTier", err->msg);
    case CF_EEXISTS:
        return error_reply(r, 409, "TierExists", err->msg);
    case CF_ENOTEMPTY:
        return error_reply(r, 409, "TierNotEmpty", err->msg);
    default:
        return error_reply(r, 500, "InternalError", err->msg);
    }
}

/* A tier's settings (no secret: the type's JSON never holds one), usage
 * and recent rate. */
static json_t *tier_status(admin_req *r, const st_tier *t)
{
    st_tier_usage u;
    cf_err err;
    if (st_tier_usage_get(r->e, t->id, &u, &err) < 0)
        return NULL;
    json_t *doc = json_loads(t->config, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = json_object();
    }
    if (json_object_get(doc, "cacert_pem")) {
        json_object_del(doc, "cacert_pem");
        json_object_set_new(doc, "cacert", json_true());
    }
    json_t *st = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
        "name", t->name, "type", t->type, "created", (json_int_t)t->created,
        "objects", (json_int_t)u.objects, "bytes", (json_int_t)u.bytes,
        "pending", (json_int_t)u.pending, "uploading", (json_int_t)u.uploading,
        "restoring", (json_int_t)u.restoring, "restored", (json_int_t)u.restored,
        "remote_deletes", (json_int_t)u.remote_deletes,
        "queue", (json_int_t)(u.pending + u.uploading + u.restoring + u.remote_deletes),
        "bytes_per_s", (json_int_t)(r->tiers ? tier_rate(r->tiers, t->id) : 0));
    if (!doc || !st || json_object_update(doc, st) < 0) {
        json_decref(doc);
        json_decref(st);
        return NULL;
    }
    json_decref(st);
    if (t->last_error[0]) {
        json_object_set_new(doc, "last_error", json_string(t->last_error));
        json_object_set_new(doc, "last_error_time",
                            json_integer((json_int_t)(t->last_error_ms / 1000)));
    }
    return doc;
}

static json_t *tier_create(admin_req *r)
{
    if (!r->tiers)
        return error_reply(r, 503, "NoTiers", "this server runs no tier client");
    const char *name = json_string_value(json_object_get(r->body, "name"));
    const char *type = json_string_value(json_object_get(r->body, "type"));
    const char *secret = json_string_value(json_object_get(r->body, "secret_key"));
    if (!name || !secret || !*secret || (json_object_get(r->body, "type") && !type))
        return error_reply(r, 400, "InvalidRequest",
                           "a tier needs a \"name\" and a \"secret_key\" (strings)");
    json_t *settings = json_deep_copy(r->body);
    if (!settings)
        return NULL;
    json_object_del(settings, "name");
    json_object_del(settings, "type");
    json_object_del(settings, "secret_key");
    char *text = json_dumps(settings, JSON_COMPACT);
    json_decref(settings);
    if (!text)
        return NULL;
    char tname[ST_TIER_NAME_MAX + 1];
    snprintf(tname, sizeof tname, "%s", name);
    cf_err err;
    int rc = tier_add(r->tiers, name, type ? type : "s3", text, secret, &err);
    free(text);
    if (rc < 0) {
        if (err.code == CF_EINVAL || err.code == CF_EEXISTS)
            return tier_error(r, &err);
        return error_reply(r, 400, "TierProbeFailed", err.msg);
    }
    st_tier t;
    if (st_tier_get(r->e, tname, 0, false, &t, &err) < 0)
        return tier_error(r, &err);
    json_t *doc = tier_status(r, &t);
    st_tier_clear(&t);
    r->status = 201;
    return doc;
}

typedef struct tier_list_ctx {
    admin_req *r;
    list_ctx l;
} tier_list_ctx;

static int tier_item(void *ctx, const st_tier *t)
{
    tier_list_ctx *tl = ctx;
    return add_item(&tl->l, tier_status(tl->r, t));
}

static json_t *tier_list(admin_req *r)
{
    tier_list_ctx tl = {.r = r, .l = {.items = json_array()}};
    if (!tl.l.items)
        return NULL;
    cf_err err;
    int rc = st_tier_list(r->e, tier_item, &tl, &err);
    if (tl.l.oom || rc < 0) {
        json_decref(tl.l.items);
        return tl.l.oom ? NULL : tier_error(r, &err);
    }
    r->status = 200;
    return json_pack("{s:o}", "tiers", tl.l.items);
}

static json_t *tier_get(admin_req *r)
{
    st_tier t;
    cf_err err;
    if (!names_tier_ok(r->arg))
        return error_reply(r, 400, "InvalidRequest", "malformed tier name");
    if (st_tier_get(r->e, r->arg, 0, false, &t, &err) < 0)
        return tier_error(r, &err);
    json_t *doc = tier_status(r, &t);
    st_tier_clear(&t);
    r->status = 200;
    return doc;
}

static json_t *tier_delete(admin_req *r)
{
    cf_err err;
    if (!names_tier_ok(r->arg))
        return error_reply(r, 400, "InvalidRequest", "malformed tier name");
    if (st_tier_remove(r->e, r->arg, &err) < 0)
        return tier_error(r, &err);
    r->status = 200;
    return json_pack("{s:s, s:b}", "name", r->arg, "deleted", 1);
}

/* POST /tiers/NAME {"recover": true, "after": ID}: one page of coffer tier
 * recover. */
static json_t *tier_action(admin_req *r)
{
    if (!r->tiers)
        return error_reply(r, 503, "NoTiers", "this server runs no tier client");
    if (!names_tier_ok(r->arg))
        return error_reply(r, 400, "InvalidRequest", "malformed tier name");
    json_t *after = json_object_get(r->body, "after");
    const char *key;
    json_t *v;
    json_object_foreach(r->body, key, v)
        if (strcmp(key, "recover") != 0 && strcmp(key, "after") != 0)
            return error_reply(r, 400, "InvalidRequest", "a tier's action takes only "
                               "\"recover\" and \"after\"");
    if (!json_is_true(json_object_get(r->body, "recover")) ||
        (after && (!json_is_string(after) || json_string_length(after) >= TIER_CURSOR_MAX)))
        return error_reply(r, 400, "InvalidRequest", "the only action is "
                           "{\"recover\": true, \"after\": \"ID\"}");
    tier_recover_report rep;
    cf_err err;
    if (tier_recover(r->tiers, r->arg, after ? json_string_value(after) : "", &rep,
                     &err) < 0)
        return tier_error(r, &err);
    r->status = 200;
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "listed",
                     (json_int_t)rep.listed, "added", (json_int_t)rep.added, "present",
                     (json_int_t)rep.present, "key_taken", (json_int_t)rep.key_taken,
                     "other", (json_int_t)rep.other, "unreadable",
                     (json_int_t)rep.unreadable, "unreadable_message", rep.unreadable_msg,
                     "next", rep.next);
}

/* ---- routing ------------------------------------------------------------ */

static const struct route {
    const char *method;
    const char *resource;
    bool with_arg;          /* /resource/ARG rather than /resource */
    admin_fn fn;
} routes[] = {
    {"POST", "tenants", false, tenant_create},
    {"GET", "tenants", false, tenant_list},
    {"DELETE", "tenants", true, tenant_delete},
    {"POST", "keys", false, key_create},
    {"GET", "keys", false, key_list},
    {"DELETE", "keys", true, key_revoke},
    {"GET", "status", false, status_get},
    {"GET", "usage", false, usage_get},
    {"POST", "quotas", false, quota_set},
    {"GET", "quotas", false, quota_list},
    {"DELETE", "quotas", true, quota_clear},
    {"GET", "disks", false, disks_get},
    {"POST", "disks", true, disk_replace},
    {"POST", "heal", false, heal_run},
    {"POST", "gc", false, gc_run},
    {"GET", "jobs", false, jobs_list},
    {"GET", "jobs", true, job_get},
    {"POST", "jobs", true, job_run},
    {"POST", "tiers", false, tier_create},
    {"GET", "tiers", false, tier_list},
    {"GET", "tiers", true, tier_get},
    {"DELETE", "tiers", true, tier_delete},
    {"POST", "tiers", true, tier_action},
};

/* Split "/resource[/arg]" into buffers; false if the path has another shape. */
static bool split_path(const char *path, char resource[16], char arg[80])
{
    if (!path || path[0] != '/')
        return false;
    const char *p = path + 1;
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= 16)
        return false;
    memcpy(resource, p, n);
    resource[n] = '\0';
    arg[0] = '\0';
    if (!p[n])
        return true;
    const char *a = p + n + 1;
    size_t alen = strlen(a);
    if (alen == 0 || alen >= 80 || strchr(a, '/'))
        return false;
    memcpy(arg, a, alen + 1);
    return true;
}

static const struct route *find_route(const char *method, const char *resource,
                                      bool with_arg, bool *path_known)
{
    *path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(routes[i].resource, resource) != 0 ||
            routes[i].with_arg != with_arg)
            continue;
        *path_known = true;
        if (strcmp(routes[i].method, method) == 0)
            return &routes[i];
    }
    return NULL;
}

/* Parse a POST body into r->body, or return an error reply. */
static json_t *parse_body(admin_req *r, const char *body, size_t len)
{
    if (len > ADMIN_MAX_BODY)
        return error_reply(r, 400, "InvalidRequest", "request body too large");
    json_error_t jerr;
    r->body = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!r->body) {
        char msg[CF_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        return error_reply(r, 400, "MalformedJSON", msg);
    }
    if (!json_is_object(r->body))
        return error_reply(r, 400, "MalformedJSON", "the body must be a JSON object");
    return NULL;
}

static json_t *dispatch(admin_req *r, const char *method, const char *path,
                        const char *body, size_t body_len)
{
    char resource[16], arg[80];
    bool known;
    const struct route *rt = NULL;
    if (split_path(path, resource, arg))
        rt = find_route(method, resource, arg[0] != '\0', &known);
    else
        known = false;
    if (!known)
        return error_reply(r, 404, "NoSuchRoute", "no such admin resource");
    if (!rt)
        return error_reply(r, 405, "MethodNotAllowed",
                           "method not allowed on this resource");
    r->arg = rt->with_arg ? arg : NULL;
    json_t *bad = strcmp(method, "POST") == 0 ? parse_body(r, body, body_len) : NULL;
    return bad ? bad : rt->fn(r);
}

int admin_handle(const admin_env *env, const char *method, const char *path,
                 const char *query, const char *body, size_t body_len,
                 int *http_status, char **json_out)
{
    admin_req r = {.e = env->engine, .jobs = env->jobs, .tiers = env->tiers, .query = query};
    json_t *reply = dispatch(&r, method ? method : "", path, body, body_len);
    json_decref(r.body);
    if (!reply)
        return -1;
    char *text = json_dumps(reply, JSON_COMPACT);
    json_decref(reply);
    if (!text)
        return -1;
    *http_status = r.status;
    *json_out = text;
    return 0;
}
