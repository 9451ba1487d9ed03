/*
 * server/s3auth.c - glue between a request and auth/: build the
 * auth_request view of it, verify the signature with the secret of the
 * access key it names, and keep the per-request payload state (aws-chunked
 * decoder, or a SHA-256 of the body when the payload hash was signed).
 *
 * Key rules (DESIGN.md §7): the tenant of the key decides everything;
 * the admin credential from the configuration signs only /admin/v1 calls,
 * and tenant keys never do. Secrets live on this function's stack only as
 * long as the check needs them and are wiped afterwards.
 */
#include "server/s3auth.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/chunked.h"
#include "auth/sigv2.h"
#include "auth/sigv4.h"
#include "common/checksum.h"
#include "common/hex.h"

struct s3auth_state {
    chunked_decoder *dec;            /* aws-chunked body */
    cks_state *sha;                  /* signed payload: hash of the body */
    uint8_t want_sha[32];
    s3auth_sink sink;                /* current sink, for the decoder */
    s3_req *r;
};

static s3_error map_auth(auth_code c)
{
    switch (c) {
    case AUTH_INVALID_ACCESS_KEY_ID: return S3E_InvalidAccessKeyId;
    case AUTH_SIGNATURE_DOES_NOT_MATCH: return S3E_SignatureDoesNotMatch;
    case AUTH_REQUEST_TIME_TOO_SKEWED: return S3E_RequestTimeTooSkewed;
    case AUTH_HEADER_MALFORMED: return S3E_AuthorizationHeaderMalformed;
    case AUTH_QUERY_PARAMETERS_ERROR: return S3E_AuthorizationQueryParametersError;
    case AUTH_MISSING_SECURITY_HEADER: return S3E_MissingSecurityHeader;
    case AUTH_INVALID_ARGUMENT: return S3E_InvalidArgument;
    case AUTH_INVALID_REQUEST: return S3E_InvalidRequest;
    case AUTH_MISSING_CONTENT_LENGTH: return S3E_MissingContentLength;
    case AUTH_INCOMPLETE_BODY: return S3E_IncompleteBody;
    case AUTH_CONTENT_SHA256_MISMATCH: return S3E_XAmzContentSHA256Mismatch;
    case AUTH_INTERNAL: return S3E_InternalError;
    default: return S3E_AccessDenied;
    }
}

static int auth_failed(s3_req *r, const auth_err *err)
{
    s3_error e = map_auth(err->code);
    if (e == S3E_InternalError)
        req_log(r, "authentication: %s", err->msg);
    resp_error(r, e, e == S3E_InternalError ? NULL : err->msg);
    return -1;
}

static int build_view(s3_req *r, auth_request *ar)
{
    auth_pair *h = pool_alloc(r->pool, (r->nhdrs + 1) * sizeof(*h));
    if (!h) {
        resp_error(r, S3E_InternalError, NULL);
        return -1;
    }
    for (size_t i = 0; i < r->nhdrs; i++) {
        h[i].name = r->hdrs[i].name;
        h[i].value = r->hdrs[i].value;
    }
    auth_pair *q = pool_alloc(r->pool, (r->nparams + 1) * sizeof(*q));
    if (!q) {
        resp_error(r, S3E_InternalError, NULL);
        return -1;
    }
    for (size_t i = 0; i < r->nparams; i++) {
        q[i].name = r->params[i].name;
        q[i].value = r->params[i].value;
    }
    memset(ar, 0, sizeof(*ar));
    ar->method = r->method;
    ar->path = r->raw_path;
    ar->params = q;                  /* decoded once, by the router: what */
    ar->nparams = r->nparams;        /* is signed is what handlers read */
    ar->headers = h;
    ar->nheaders = r->nhdrs;
    return 0;
}

static char **copy_names(pool *p, char *const *v, size_t n)
{
    char **out = n ? pool_alloc(p, n * sizeof *out) : NULL;
    for (size_t i = 0; out && i < n; i++)
        if (!(out[i] = pool_strdup(p, v[i])))
            return NULL;
    return n && !out ? NULL : out;
}

/* The key's policy into r->perm, its arrays copied to the pool. */
static int copy_policy(s3_req *r, const st_key_policy *k)
{
    r->perm = (st_key_policy){.perms = k->perms, .nbuckets = k->nbuckets,
                             .nprefixes = k->nprefixes};
    r->perm.buckets = copy_names(r->pool, k->buckets, k->nbuckets);
    r->perm.delete_prefixes = copy_names(r->pool, k->delete_prefixes, k->nprefixes);
    return (k->nbuckets && !r->perm.buckets) || (k->nprefixes && !r->perm.delete_prefixes)
               ? -1 : 0;
}

/* The secret for the request's key, and the identity it grants. */
static int find_secret(s3_req *r, const char *access_key, char secret[ST_SECRET_KEY_MAX])
{
    const coffer_config *cfg = r->srv->cfg;
    bool is_admin_key = cfg->admin_access_key[0] &&
                        strcmp(access_key, cfg->admin_access_key) == 0;
    if (r->admin) {
        if (!is_admin_key) {
            resp_error(r, S3E_AccessDenied, "The admin API needs the admin credential");
            return -1;
        }
        memcpy(secret, cfg->admin_secret_key, ST_SECRET_KEY_MAX);
        strcpy(r->tenant, "admin");
        return 0;
    }
    if (is_admin_key) {
        resp_error(r, S3E_AccessDenied, "The admin credential is only valid for the admin API");
        return -1;
    }
    st_key_info info;
    cf_err err;
    if (st_key_lookup(r->srv->engine, access_key, &info, secret, &err) < 0) {
        if (err.code == CF_ENOTFOUND) {
            resp_error(r, S3E_InvalidAccessKeyId, NULL);
            return -1;
        }
        resp_cf(r, &err);
        return -1;
    }
    memcpy(r->tenant, info.tenant, sizeof(r->tenant));
    int rc = copy_policy(r, &info.policy);
    st_key_info_clear(&info);
    if (rc < 0) {
        explicit_bzero(secret, ST_SECRET_KEY_MAX);
        resp_error(r, S3E_InternalError, NULL);
    }
    return rc;
}

static int decoded_sink(void *ctx, const void *data, size_t len, cks_state *hash,
                        auth_err *err)
{
    struct s3auth_state *st = ctx;
    st->sink(st->r, data, len, hash);
    if (st->r->resp_set)
        return auth_fail(err, AUTH_INTERNAL, "request refused while streaming");
    return 0;
}

static int setup_payload(s3_req *r, const sigv4_auth *a)
{
    struct s3auth_state *st = pool_alloc(r->pool, sizeof(*st));
    auth_err aerr;
    cf_err err;
    if (!st) {
        resp_error(r, S3E_InternalError, NULL);
        return -1;
    }
    st->r = r;
    r->auth = st;
    if (sigv4_payload_is_streaming(a->payload)) {
        st->dec = chunked_new(a, decoded_sink, st, &aerr);
        if (!st->dec)
            return auth_failed(r, &aerr);
        r->content_length = a->decoded_length;
    } else if (a->payload == SIGV4_PAYLOAD_SIGNED) {
        size_t n = 0;
        if (hex_decode(a->payload_hash, st->want_sha, sizeof(st->want_sha), &n) < 0 ||
            n != 32) {
            resp_error(r, S3E_InvalidArgument, "x-amz-content-sha256 must be 64 hex digits");
            return -1;
        }
        if (!(st->sha = cks_new(CKS_SHA256, &err))) {
            resp_cf(r, &err);
            return -1;
        }
    }
    return 0;
}

static int auth_v4(s3_req *r, const auth_request *ar)
{
    auth_err aerr;
    sigv4_auth a;
    char secret[ST_SECRET_KEY_MAX];
    memset(&a, 0, sizeof(a));
    if (sigv4_parse(ar, r->srv->cfg->region, "s3", &a, &aerr) < 0)
        return auth_failed(r, &aerr);
    int rc = find_secret(r, a.access_key, secret);
    if (rc == 0 && sigv4_check(ar, &a, secret, time(NULL), &aerr) < 0)
        rc = auth_failed(r, &aerr);
    explicit_bzero(secret, sizeof(secret));
    if (rc == 0)
        rc = setup_payload(r, &a);
    sigv4_auth_clear(&a);
    return rc;
}

/* SigV2 (aws cli v1 presigned URLs, s3cmd with signature_v2): the body is
 * never signed, so there is no payload state. */
static int auth_v2(s3_req *r, const auth_request *ar)
{
    auth_err aerr;
    sigv2_auth a;
    char secret[ST_SECRET_KEY_MAX];
    memset(&a, 0, sizeof(a));
    if (sigv2_parse(ar, &a, &aerr) < 0)
        return auth_failed(r, &aerr);
    int rc = find_secret(r, a.access_key, secret);
    if (rc == 0 && sigv2_check(ar, &a, r->vhost ? r->bucket : NULL, secret, time(NULL),
                               &aerr) < 0)
        rc = auth_failed(r, &aerr);
    explicit_bzero(secret, sizeof(secret));
    return rc;
}

int s3auth_authenticate(s3_req *r)
{
    auth_request ar;
    if (build_view(r, &ar) < 0)
        return -1;
    switch (auth_detect_scheme(&ar)) {
    case AUTH_SCHEME_SIGV4:
        return auth_v4(r, &ar);
    case AUTH_SCHEME_SIGV2:
        if (!r->srv->cfg->sigv2) {
            resp_error(r, S3E_AccessDenied, "SigV2 signatures are disabled on this "
                       "server (auth.sigv2): sign with AWS4-HMAC-SHA256");
            return -1;
        }
        return auth_v2(r, &ar);
    case AUTH_SCHEME_UNKNOWN:
        resp_error(r, S3E_AuthorizationHeaderMalformed, "Unsupported Authorization scheme");
        return -1;
    case AUTH_SCHEME_NONE:
    default:
        resp_error(r, S3E_AccessDenied, "Anonymous requests are not allowed");
        return -1;
    }
}

int s3auth_feed(s3_req *r, const char *p, size_t n, s3auth_sink sink)
{
    struct s3auth_state *st = r->auth;
    auth_err aerr;
    if (st && st->dec) {
        st->sink = sink;
        if (chunked_feed(st->dec, p, n, &aerr) < 0)
            return r->resp_set ? -1 : auth_failed(r, &aerr);
        return 0;
    }
    sink(r, p, n, st ? st->sha : NULL);
    return r->resp_set ? -1 : 0;
}

int s3auth_finish(s3_req *r)
{
    struct s3auth_state *st = r->auth;
    auth_err aerr;
    if (!st)
        return 0;
    if (st->dec && chunked_finish(st->dec, &aerr) < 0)
        return auth_failed(r, &aerr);
    if (st->sha) {
        uint8_t got[CKS_MAX_RAW];
        cks_final(st->sha, got);
        if (memcmp(got, st->want_sha, 32) != 0) {
            resp_error(r, S3E_XAmzContentSHA256Mismatch, NULL);
            return -1;
        }
    }
    return 0;
}

const char *s3auth_trailer(const s3_req *r, const char *lname)
{
    const struct s3auth_state *st = r->auth;
    if (!st || !st->dec)
        return NULL;
    const char *name = chunked_trailer_name(st->dec);
    return name && strcasecmp(name, lname) == 0 ? chunked_trailer_value(st->dec) : NULL;
}

void s3auth_free(s3_req *r)
{
    struct s3auth_state *st = r->auth;
    if (!st)
        return;
    chunked_free(st->dec);
    if (st->sha)
        cks_free(st->sha);
    r->auth = NULL;
}
