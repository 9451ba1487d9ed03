/*
 * server/router.c - request placement. The raw URI (before any decoding by
 * libmicrohttpd) is split here so that the signature code sees exactly
 * what the client signed and the handlers see exactly what the client
 * meant. An operation is chosen from (method, level, sub-resource), where
 * the level is service, bucket or object and the sub-resource is the first
 * query parameter that is not an ordinary argument (listing options,
 * presign fields, response-* overrides...). A sub-resource coffer does not
 * implement is answered NotImplemented, never served as something else.
 *
 * The choice is an s3_op_id, not a handler: which code runs it is
 * s3_ops.c's business, so routing (and test_router) needs neither the
 * handlers nor the engine behind them.
 */
#include "common/names.h"
#include "server/router.h"

#include <string.h>
#include <strings.h>

#include "auth/auth.h"
#include "common/adminapi.h"
#include "common/names.h"
#include "common/utf8.h"

char *url_decode(pool *p, const char *s, size_t n, bool plus_space)
{
    char *out = pool_alloc(p, n + 1);
    return out && auth_percent_decode(s, n, plus_space, out) >= 0 ? out : NULL;
}

/* ---- query ---------------------------------------------------------- */

static int parse_query(s3_req *r)
{
    const char *q = r->raw_query;
    if (!q || !*q)
        return 0;
    size_t count = 1;
    for (const char *p = q; *p; p++)
        count += *p == '&';
    r->params = pool_alloc(r->pool, count * sizeof(*r->params));
    if (!r->params)
        return -1;
    while (*q) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        size_t nlen = eq ? (size_t)(eq - q) : len;
        if (nlen > 0) {
            s3_param *pm = &r->params[r->nparams];
            pm->name = url_decode(r->pool, q, nlen, true);
            pm->value = eq ? url_decode(r->pool, eq + 1, len - nlen - 1, true)
                           : pool_strdup(r->pool, "");
            if (!pm->name || !pm->value)
                return -1;
            r->nparams++;
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return 0;
}

/* Query parameters that are arguments, not sub-resources. */
static bool is_argument(const char *name)
{
    static const char *const args[] = {
        "prefix", "delimiter", "marker", "max-keys", "encoding-type",
        "list-type", "continuation-token", "start-after", "fetch-owner",
        "key-marker", "version-id-marker", "upload-id-marker", "max-uploads",
        "max-parts", "part-number-marker", "partNumber", "uploadId",
        "versionId", "x-id", "AWSAccessKeyId", "Signature", "Expires",
        "max-buckets", "bucket-region",
    };
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
        if (strcmp(name, args[i]) == 0)
            return true;
    return strncasecmp(name, "x-amz-", 6) == 0 ||
           strncmp(name, "response-", 9) == 0;
}

static const char *subresource(const s3_req *r)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (!is_argument(r->params[i].name))
            return r->params[i].name;
    return "";
}

/* ---- path and host -------------------------------------------------- */

static int split_uri(s3_req *r)
{
    const char *qm = strchr(r->raw_uri, '?');
    size_t plen = qm ? (size_t)(qm - r->raw_uri) : strlen(r->raw_uri);
    r->raw_path = pool_strndup(r->pool, r->raw_uri, plen);
    if (qm)
        r->raw_query = pool_strdup(r->pool, qm + 1);
    return r->raw_path && (!qm || r->raw_query) ? 0 : -1;
}

/* The bucket named by a virtual-host Host header, or NULL. */
static char *vhost_bucket(s3_req *r)
{
    const char *domain = r->srv->cfg->vhost_domain;
    const char *host = req_header(r, "host");
    if (!domain || !*domain || !host)
        return NULL;
    size_t hlen = strcspn(host, ":");
    if (host[0] == '[')
        return NULL;
    size_t dlen = strlen(domain);
    if (hlen <= dlen + 1 || host[hlen - dlen - 1] != '.' ||
        strncasecmp(host + hlen - dlen, domain, dlen) != 0)
        return NULL;
    char *b = pool_strndup(r->pool, host, hlen - dlen - 1);
    for (char *c = b; c && *c; c++)          /* host names ignore case */
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    return b;
}

static int set_key(s3_req *r, const char *raw, size_t n)
{
    if (n == 0)
        return 0;
    r->key = url_decode(r->pool, raw, n, false);
    if (!r->key) {
        resp_error(r, S3E_InvalidArgument, "The object key is not correctly URL-encoded");
        return -1;
    }
    size_t klen = strlen(r->key);
    if (klen > ST_MAX_KEY) {
        resp_error(r, S3E_KeyTooLongError, NULL);
        return -1;
    }
    if (!utf8_valid(r->key, klen)) {
        resp_error(r, S3E_InvalidArgument, "Object key is not valid UTF-8");
        return -1;
    }
    return 0;
}

static int place(s3_req *r)
{
    const char *path = r->raw_path;
    if (path[0] != '/') {
        resp_error(r, S3E_InvalidArgument, "The request path must begin with '/'");
        return -1;
    }
    path++;
    char *vb = vhost_bucket(r);
    if (vb) {
        r->vhost = true;
        r->bucket = vb;
        return set_key(r, path, strlen(path));
    }
    size_t blen = strcspn(path, "/");
    if (blen == 0)
        return 0;
    r->bucket = url_decode(r->pool, path, blen, false);
    if (!r->bucket) {
        resp_error(r, S3E_InvalidBucketName, NULL);
        return -1;
    }
    path += blen;
    if (*path == '/')
        path++;
    return set_key(r, path, strlen(path));
}

/* ---- operation choice ----------------------------------------------- */

static s3_op_id service_op(const char *m, const char *sub)
{
    if (strcmp(m, "GET") == 0 && !*sub)
        return S3OP_LIST_BUCKETS;
    return S3OP_NONE;
}

static s3_op_id bucket_op(const s3_req *r, const char *m, const char *sub)
{
    if (strcmp(m, "GET") == 0) {
        if (!*sub) {
            const char *lt = req_param(r, "list-type");
            return lt && strcmp(lt, "2") == 0 ? S3OP_LIST_OBJECTS_V2
                                              : S3OP_LIST_OBJECTS_V1;
        }
        if (strcmp(sub, "location") == 0) return S3OP_GET_BUCKET_LOCATION;
        if (strcmp(sub, "versioning") == 0) return S3OP_GET_BUCKET_VERSIONING;
        if (strcmp(sub, "versions") == 0) return S3OP_LIST_OBJECT_VERSIONS;
        if (strcmp(sub, "uploads") == 0) return S3OP_LIST_UPLOADS;
        if (strcmp(sub, "acl") == 0) return S3OP_GET_BUCKET_ACL;
        if (strcmp(sub, "encryption") == 0) return S3OP_GET_BUCKET_ENCRYPTION;
        if (strcmp(sub, "object-lock") == 0) return S3OP_GET_LOCK_CONFIG;
        if (strcmp(sub, "lifecycle") == 0) return S3OP_GET_BUCKET_LIFECYCLE;
        return S3OP_NONE;
    }
    if (strcmp(sub, "encryption") == 0)
        return strcmp(m, "PUT") == 0 ? S3OP_PUT_BUCKET_ENCRYPTION
             : strcmp(m, "DELETE") == 0 ? S3OP_DELETE_BUCKET_ENCRYPTION : S3OP_NONE;
    if (strcmp(m, "PUT") == 0 && strcmp(sub, "versioning") == 0)
        return S3OP_PUT_BUCKET_VERSIONING;
    if (strcmp(m, "PUT") == 0 && strcmp(sub, "object-lock") == 0)
        return S3OP_PUT_LOCK_CONFIG;
    if (strcmp(sub, "lifecycle") == 0)
        return strcmp(m, "PUT") == 0      ? S3OP_PUT_BUCKET_LIFECYCLE
             : strcmp(m, "DELETE") == 0   ? S3OP_DELETE_BUCKET_LIFECYCLE : S3OP_NONE;
    if (*sub)
        return strcmp(m, "POST") == 0 && strcmp(sub, "delete") == 0
                   ? S3OP_DELETE_OBJECTS : S3OP_NONE;
    if (strcmp(m, "HEAD") == 0) return S3OP_HEAD_BUCKET;
    if (strcmp(m, "PUT") == 0) return S3OP_CREATE_BUCKET;
    if (strcmp(m, "DELETE") == 0) return S3OP_DELETE_BUCKET;
    return S3OP_NONE;
}

static s3_op_id object_op(const s3_req *r, const char *m, const char *sub)
{
    bool upload = req_has_param(r, "uploadId");
    bool copy = req_header(r, "x-amz-copy-source") != NULL;
    if (strcmp(m, "GET") == 0 && strcmp(sub, "acl") == 0)
        return S3OP_GET_OBJECT_ACL;
    bool get = strcmp(m, "GET") == 0, put = strcmp(m, "PUT") == 0;
    if (get && strcmp(sub, "attributes") == 0)
        return S3OP_GET_OBJECT_ATTRIBUTES;
    if ((get || put) && strcmp(sub, "retention") == 0)
        return get ? S3OP_GET_RETENTION : S3OP_PUT_RETENTION;
    if ((get || put) && strcmp(sub, "legal-hold") == 0)
        return get ? S3OP_GET_LEGAL_HOLD : S3OP_PUT_LEGAL_HOLD;
    if (strcmp(m, "POST") == 0 && strcmp(sub, "uploads") == 0)
        return S3OP_CREATE_UPLOAD;
    if (strcmp(m, "POST") == 0 && strcmp(sub, "restore") == 0)
        return S3OP_RESTORE_OBJECT;
    if (strcmp(sub, "tagging") == 0)
        return strcmp(m, "GET") == 0      ? S3OP_GET_OBJECT_TAGGING
             : strcmp(m, "PUT") == 0      ? S3OP_PUT_OBJECT_TAGGING
             : strcmp(m, "DELETE") == 0   ? S3OP_DELETE_OBJECT_TAGGING : S3OP_NONE;
    if (*sub)
        return S3OP_NONE;
    if (strcmp(m, "GET") == 0) return upload ? S3OP_LIST_PARTS : S3OP_GET_OBJECT;
    if (strcmp(m, "HEAD") == 0) return upload ? S3OP_NONE : S3OP_HEAD_OBJECT;
    if (strcmp(m, "DELETE") == 0) return upload ? S3OP_ABORT_UPLOAD : S3OP_DELETE_OBJECT;
    if (strcmp(m, "POST") == 0) return upload ? S3OP_COMPLETE_UPLOAD : S3OP_NONE;
    if (strcmp(m, "PUT") == 0) {
        if (upload)
            return copy ? S3OP_UPLOAD_PART_COPY : S3OP_UPLOAD_PART;
        return copy ? S3OP_COPY_OBJECT : S3OP_PUT_OBJECT;
    }
    return S3OP_NONE;
}

static bool known_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 ||
           strcmp(m, "PUT") == 0 || strcmp(m, "POST") == 0 ||
           strcmp(m, "DELETE") == 0;
}

int router_route(s3_req *r)
{
    if (split_uri(r) < 0 || parse_query(r) < 0) {
        resp_error(r, S3E_InvalidArgument, "The request URI is not correctly URL-encoded");
        return -1;
    }
    size_t alen = strlen(ADMIN_PREFIX);
    if (strncmp(r->raw_path, ADMIN_PREFIX, alen) == 0 &&
        (r->raw_path[alen] == '/' || r->raw_path[alen] == '\0')) {
        r->admin = true;
        return 0;
    }
    if (place(r) < 0)
        return -1;
    if (r->bucket && !names_bucket_ok(r->bucket)) {
        resp_error(r, S3E_InvalidBucketName, NULL);
        return -1;
    }
    if (!known_method(r->method)) {
        resp_error(r, S3E_MethodNotAllowed, NULL);
        return -1;
    }
    const char *sub = subresource(r);
    if (!r->bucket)
        r->s3op = service_op(r->method, sub);
    else if (!r->key)
        r->s3op = bucket_op(r, r->method, sub);
    else
        r->s3op = object_op(r, r->method, sub);
    if (r->s3op == S3OP_NONE) {
        resp_error(r, *sub ? S3E_NotImplemented : S3E_MethodNotAllowed,
                   *sub ? "This sub-resource is not implemented by coffer" : NULL);
        return -1;
    }
    return 0;
}
