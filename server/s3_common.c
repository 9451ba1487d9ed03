/*
 * server/s3_common.c - shared handler helpers (see the header). The stored
 * header set is deliberately small and lowercase: the six standard
 * representation headers plus user metadata, which is all S3 round-trips.
 */
#include "server/s3_common.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/etag.h"
#include "common/hdrlist.h"
#include "common/hex.h"
#include "common/names.h"
#include "common/numparse.h"
#include "common/rfc2047.h"
#include "server/lcxml.h"
#include "storage/lifecycle.h"
#include "common/utf8.h"
#include "common/names.h"
#include "server/perm.h"
#include "server/router.h"
#include "server/s3auth.h"
#include "server/xml.h"

static const char *const stored_headers[] = {
    "content-type", "content-encoding", "content-disposition",
    "content-language", "cache-control", "expires",
};
#define NSTORED (sizeof(stored_headers) / sizeof(stored_headers[0]))

void s3_write_owner(s3_req *r, const char *elem)
{
    xml_open(&r->resp, elem);
    xml_elem(&r->resp, "ID", r->tenant);
    xml_elem(&r->resp, "DisplayName", r->tenant);
    xml_close(&r->resp, elem);
}

static bool is_stored(const char *lname)
{
    if (strncmp(lname, "x-amz-meta-", 11) == 0)
        return lname[11] != '\0';
    for (size_t i = 0; i < NSTORED; i++)
        if (strcmp(lname, stored_headers[i]) == 0)
            return true;
    return false;
}

/* Content-Encoding without the aws-chunked token (NULL if nothing left). */
static char *strip_aws_chunked(pool *p, const char *v)
{
    char *out = pool_alloc(p, strlen(v) + 1);
    if (!out)
        return NULL;
    size_t o = 0, tl;
    const char *t;
    while (hdrlist_next(&v, &t, &tl)) {
        if (tl == 11 && strncasecmp(t, "aws-chunked", 11) == 0)
            continue;
        if (o)
            out[o++] = ',';
        memcpy(out + o, t, tl);
        o += tl;
    }
    out[o] = '\0';
    return o ? out : NULL;
}

int s3_request_meta(s3_req *r, st_header **out, size_t *n)
{
    st_header *h = pool_alloc(r->pool, (r->nhdrs + 1) * sizeof(*h));
    if (!h) {
        resp_error(r, S3E_InternalError, NULL);
        return -1;
    }
    size_t count = 0, user = 0;
    for (size_t i = 0; i < r->nhdrs; i++) {
        const char *name = r->hdrs[i].name;
        char *value = r->hdrs[i].value;
        bool meta = strncmp(name, "x-amz-meta-", 11) == 0;
        if (!is_stored(name) || (!*value && !meta))
            continue;                /* an empty standard header stores nothing */
        if (strcmp(name, "content-encoding") == 0 &&
            !(value = strip_aws_chunked(r->pool, value)))
            continue;
        if (meta) {
            size_t len = strlen(value);
            char *text = pool_alloc(r->pool, 2 * len + 1);
            if (!text || rfc2047_decode(value, len, text, 2 * len + 1) < 0) {
                resp_error(r, S3E_InternalError, NULL);
                return -1;
            }
            value = text;
            user += strlen(name) - 11 + strlen(value);
        }
        h[count].name = (char *)name;
        h[count].value = value;
        count++;
    }
    if (user > ST_MAX_USERMETA) {
        resp_error(r, S3E_MetadataTooLarge, NULL);
        return -1;
    }
    *out = h;
    *n = count;
    return 0;
}

const char *s3_checksum_type(const st_object_info *info)
{
    return info->checksum_composite ? "COMPOSITE" : "FULL_OBJECT";
}

void s3_checksum_headers(s3_req *r, cks_algo algo, const char *b64, const char *type)
{
    if (algo == CKS_NONE || !b64 || !*b64)
        return;
    resp_header(r, cks_header_name(algo), b64);
    if (type)
        resp_header(r, "x-amz-checksum-type", type);
}

void s3_object_headers(s3_req *r, const st_object_info *info, bool send_checksum,
                       const s3_ssec *k)
{
    char date[32];
    req_http_date(info->mtime_ms / 1000, date);
    resp_header(r, "ETag", info->etag);
    resp_header(r, "Last-Modified", date);
    resp_header(r, "Accept-Ranges", "bytes");
    s3_sse_headers(r, info->ssec ? k : NULL);
    for (size_t i = 0; i < NSTORED; i++) {
        char param[40];
        snprintf(param, sizeof(param), "response-%s", stored_headers[i]);
        const char *v = req_param(r, param);
        if (!v)
            v = st_object_header(info, stored_headers[i]);
        if (!v && i == 0)
            v = "binary/octet-stream";
        if (v)
            resp_header(r, stored_headers[i], v);
    }
    for (size_t i = 0; i < info->nheaders; i++) {
        const char *v = info->headers[i].value;
        if (strncmp(info->headers[i].name, "x-amz-meta-", 11) != 0)
            continue;
        if (rfc2047_needs_encoding(v)) {
            size_t cap = RFC2047_ENCODED_MAX(strlen(v));
            char *enc = pool_alloc(r->pool, cap);
            if (!enc || rfc2047_encode(v, enc, cap) < 0)
                continue;
            v = enc;
        }
        resp_header(r, info->headers[i].name, v);
    }
    if (info->storage_class[0])
        resp_header(r, "x-amz-storage-class", info->storage_class);
    if (info->restore == 1) {
        resp_header(r, "x-amz-restore", "ongoing-request=\"true\"");
    } else if (info->restore == 2) {
        char until[32], *v;
        req_http_date(info->restore_expiry_ms / 1000, until);
        if ((v = pool_printf(r->pool, "ongoing-request=\"false\", expiry-date=\"%s\"",
                             until)) != NULL)
            resp_header(r, "x-amz-restore", v);
    }
    if (info->ntags > 0) {
        char n[16];
        snprintf(n, sizeof n, "%d", info->ntags);
        resp_header(r, "x-amz-tagging-count", n);
    }
    const char *mode = req_header(r, "x-amz-checksum-mode");
    if (send_checksum && mode && strcasecmp(mode, "ENABLED") == 0)
        s3_checksum_headers(r, info->checksum_algo, info->checksum_b64,
                            s3_checksum_type(info));
}

void s3_checksum_xml(sbuf *b, const char *b64, cks_algo algo)
{
    if (algo == CKS_NONE || !b64 || !*b64)
        return;
    char elem[32];
    const char *name = cks_algo_name(algo);
    snprintf(elem, sizeof(elem), "Checksum%s", name);
    xml_elem(b, elem, b64);
}

static bool valid_checksum_b64(cks_algo algo, const char *v)
{
    uint8_t raw[CKS_MAX_RAW];
    return cks_from_base64(v, raw, cks_raw_len(algo), NULL) == 0;
}

static const cks_algo s3_algos[] = {
    CKS_CRC32, CKS_CRC32C, CKS_CRC64NVME, CKS_SHA1, CKS_SHA256,
};
#define NALGOS (sizeof(s3_algos) / sizeof(s3_algos[0]))

static cks_algo algo_of_header(const char *lname)
{
    for (size_t i = 0; i < NALGOS; i++)
        if (strcasecmp(lname, cks_header_name(s3_algos[i])) == 0)
            return s3_algos[i];
    return CKS_NONE;
}

int s3_checksum_request(s3_req *r, s3_checksum_req *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < NALGOS; i++) {
        const char *v = req_header(r, cks_header_name(s3_algos[i]));
        if (!v)
            continue;
        if (out->algo != CKS_NONE) {
            resp_error(r, S3E_InvalidRequest, "Expecting a single x-amz-checksum- header");
            return -1;
        }
        if (!valid_checksum_b64(s3_algos[i], v)) {
            resp_error(r, S3E_InvalidRequest,
                       "Value for the x-amz-checksum- header is invalid");
            return -1;
        }
        out->algo = s3_algos[i];
        out->value = v;
    }
    const char *trailer = req_header(r, "x-amz-trailer");
    if (trailer && out->algo == CKS_NONE) {
        out->algo = algo_of_header(trailer);
        if (out->algo == CKS_NONE) {
            resp_error(r, S3E_InvalidRequest,
                       "The x-amz-trailer header names no supported checksum");
            return -1;
        }
        out->trailer = cks_header_name(out->algo);
    }
    const char *sdk = req_header(r, "x-amz-sdk-checksum-algorithm");
    if (sdk && out->algo == CKS_NONE) {
        out->algo = cks_algo_from_name(sdk);
        if (out->algo == CKS_NONE || out->algo == CKS_MD5) {
            resp_error(r, S3E_InvalidRequest, "Unsupported x-amz-sdk-checksum-algorithm");
            return -1;
        }
    }
    return 0;
}

const char *s3_checksum_value(s3_req *r, const s3_checksum_req *c)
{
    if (c->value)
        return c->value;
    if (!c->trailer)
        return NULL;
    return s3auth_trailer(r, c->trailer);
}

int s3_bucket_load(s3_req *r, st_bucket_info *info)
{
    cf_err err;
    if (st_bucket_get(r->srv->engine, r->tenant, r->bucket, info, &err) < 0) {
        resp_cf(r, &err);
        return -1;
    }
    return 0;
}

int s3_check_body_digest(s3_req *r)
{
    uint8_t want[CKS_MAX_RAW], got[CKS_MAX_RAW];
    bool has_md5;
    s3_checksum_req ck;
    if (s3_content_md5(r, want, &has_md5) < 0 || s3_checksum_request(r, &ck) < 0)
        return -1;
    const char *value = s3_checksum_value(r, &ck);
    if (!has_md5 && !value) {
        resp_error(r, S3E_InvalidRequest,
                   "Missing required header for this request: Content-MD5");
        return -1;
    }
    cks_algo algo = has_md5 ? CKS_MD5 : ck.algo;
    size_t wlen = cks_raw_len(algo);
    if (!has_md5 && cks_from_base64(value, want, wlen, NULL) < 0) {
        resp_error(r, S3E_InvalidRequest, "Value for the x-amz-checksum- header is invalid");
        return -1;
    }
    cf_err err;
    cks_state *s = cks_new(algo, &err);
    if (!s) {
        resp_cf(r, &err);
        return -1;
    }
    cks_update(s, r->body.p ? r->body.p : "", r->body.len);
    size_t glen = cks_final(s, got);
    cks_free(s);
    if (glen != wlen || memcmp(got, want, glen) != 0) {
        resp_error(r, S3E_BadDigest, NULL);
        return -1;
    }
    return 0;
}

int s3_content_md5(s3_req *r, uint8_t md5[16], bool *present)
{
    const char *v = req_header(r, "content-md5");
    *present = v != NULL;
    if (!v)
        return 0;
    if (cks_from_base64(v, md5, 16, NULL) < 0) {
        resp_error(r, S3E_InvalidDigest, NULL);
        return -1;
    }
    return 0;
}

void s3_xml_refused(s3_req *r, const cf_err *err)
{
    if (err->code == CF_ENOMEM) {
        req_log(r, "%s", err->msg);
        resp_error(r, S3E_InternalError, NULL);
        return;
    }
    resp_error(r, S3E_MalformedXML, err->msg);
}

int s3_int_param(s3_req *r, const char *name, long lo, long hi, long dflt, long *out)
{
    const char *v = req_param(r, name);
    if (!v) {
        *out = dflt;
        return 0;
    }
    uint64_t x;
    cf_err err;
    if (numparse_str(v, (uint64_t)hi, NUMPARSE_LEADING_ZEROS, &x, &err) < 0 ||
        x < (uint64_t)lo) {
        char msg[128];
        snprintf(msg, sizeof(msg), "Argument %s must be an integer between %ld and %ld",
                 name, lo, hi);
        resp_error(r, S3E_InvalidArgument, msg);
        return -1;
    }
    *out = (long)x;
    return 0;
}

int s3_encoding_url(s3_req *r, bool *url)
{
    const char *v = req_param(r, "encoding-type");
    *url = false;
    if (!v)
        return 0;
    if (strcmp(v, "url") != 0) {
        resp_error(r, S3E_InvalidArgument, "Invalid Encoding Method specified in Request");
        return -1;
    }
    *url = true;
    return 0;
}

int s3_copy_source(s3_req *r, char **bucket, char **key, const char **version)
{
    const char *src = req_header(r, "x-amz-copy-source");
    if (src[0] == '/')
        src++;
    size_t n = strcspn(src, "?");
    static const char vq[] = "?versionId=";
    *version = NULL;
    if (src[n] == '?') {
        *version = strncmp(src + n, vq, sizeof vq - 1) == 0 ? src + n + sizeof vq - 1 : "";
        if (!st_version_name_ok(*version)) {
            resp_error(r, S3E_InvalidArgument, "Invalid version id specified");
            return -1;
        }
    }
    const char *slash = memchr(src, '/', n);
    if (!slash) {
        resp_error(r, S3E_InvalidArgument, "Invalid copy source: expected bucket/key");
        return -1;
    }
    *bucket = url_decode(r->pool, src, (size_t)(slash - src), false);
    *key = url_decode(r->pool, slash + 1, n - (size_t)(slash - src) - 1, false);
    if (!*bucket || !*key || !**key || !names_bucket_ok(*bucket) ||
        strlen(*key) > ST_MAX_KEY || !utf8_valid(*key, strlen(*key))) {
        resp_error(r, S3E_InvalidArgument, "Invalid copy source bucket or key");
        return -1;
    }
    if (!perm_bucket(r, *bucket)) {
        resp_error(r, S3E_AccessDenied,
                   "Access Denied: this access key may not use the copy source's bucket");
        return -1;
    }
    return perm_require(r, ST_PERM_READ);
}

void s3_copy_source_failed(s3_req *r, const cf_err *err, const s3_ssec *k)
{
    if (err->code == CF_EMARKER)
        resp_error(r, S3E_InvalidRequest, "The source of a copy request may not "
                   "specifically refer to a delete marker by version id.");
    else
        s3_ssec_failed(r, err, k, false);
}

static bool date_after(const char *h, int64_t mtime_s, bool *valid)
{
    int64_t t;
    *valid = req_parse_http_date(h, &t) == 0;
    return *valid && mtime_s > t;
}

int s3_copy_conditions(s3_req *r, const st_object_info *src)
{
    const char *im = req_header(r, "x-amz-copy-source-if-match");
    const char *inm = req_header(r, "x-amz-copy-source-if-none-match");
    const char *ims = req_header(r, "x-amz-copy-source-if-modified-since");
    const char *ius = req_header(r, "x-amz-copy-source-if-unmodified-since");
    int64_t mtime = src->mtime_ms / 1000;
    bool valid, ok = true;
    if (im)
        ok = etag_list_matches(im, src->etag);
    else if (ius && date_after(ius, mtime, &valid))
        ok = false;
    if (ok && inm)
        ok = !etag_list_matches(inm, src->etag);
    else if (ok && ims && !date_after(ims, mtime, &valid) && valid)
        ok = false;
    if (!ok) {
        resp_error(r, S3E_PreconditionFailed, NULL);
        return -1;
    }
    return 0;
}

int s3_version_param(s3_req *r, const char **version)
{
    *version = req_param(r, "versionId");
    if (*version && !st_version_name_ok(*version)) {
        resp_error(r, S3E_InvalidArgument, "Invalid version id specified");
        return -1;
    }
    return 0;
}

void s3_version_headers(s3_req *r, const st_object_info *o, bool asked)
{
    if (o->delete_marker)
        resp_header(r, "x-amz-delete-marker", "true");
    if (asked || !o->null_version || o->delete_marker || o->versioned_bucket)
        resp_header(r, "x-amz-version-id", st_version_name(o));
}

int s3_check_acl_headers(s3_req *r)
{
    static const char *const owner_only[] = {
        "private", "bucket-owner-full-control", "bucket-owner-read",
    };
    const char *acl = req_header(r, "x-amz-acl");
    bool ok = acl == NULL;
    for (size_t i = 0; acl && i < sizeof(owner_only) / sizeof(owner_only[0]); i++)
        ok = ok || strcmp(acl, owner_only[i]) == 0;
    for (size_t i = 0; ok && i < r->nhdrs; i++)
        ok = strncmp(r->hdrs[i].name, "x-amz-grant-", 12) != 0;
    if (!ok) {
        resp_error(r, S3E_NotImplemented, "coffer grants access to the owner only: "
                   "canned ACLs other than private and x-amz-grant-* are not implemented");
        return -1;
    }
    return 0;
}

int s3_check_write_headers(s3_req *r)
{
    static const char *const refused[] = {
        "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-server-side-encryption-context",
        "x-amz-website-redirect-location",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (req_header(r, refused[i])) {
            char *msg = pool_printf(r->pool, "Header %s is not implemented by coffer",
                                    refused[i]);
            resp_error(r, S3E_NotImplemented, msg);
            return -1;
        }
    }
    if (s3_check_acl_headers(r) < 0)
        return -1;
    const char *sse = req_header(r, "x-amz-server-side-encryption");
    if (sse && strncmp(sse, "aws:kms", 7) == 0) {
        resp_error(r, S3E_NotImplemented, "coffer does not implement SSE-KMS: every "
                   "object is encrypted at rest with AES256 (SSE-S3); use AES256 or "
                   "customer-provided keys (SSE-C)");
        return -1;
    }
    if (sse && strcmp(sse, "AES256") != 0) {
        resp_error(r, S3E_InvalidArgument, "The encryption method specified is not "
                   "supported");
        return -1;
    }
    if (sse && req_header(r, "x-amz-server-side-encryption-customer-algorithm")) {
        resp_error(r, S3E_InvalidArgument, "Server Side Encryption with Customer provided "
                   "key is incompatible with the encryption method specified");
        return -1;
    }
    return 0;
}

void s3_lcxml_refused(s3_req *r, const lcxml_err *e)
{
    static const s3_error codes[] = {
        [LCXML_MALFORMED] = S3E_MalformedXML,
        [LCXML_INVALID_ARGUMENT] = S3E_InvalidArgument,
        [LCXML_INVALID_REQUEST] = S3E_InvalidRequest,
        [LCXML_INVALID_TAG] = S3E_InvalidTag,
        [LCXML_NOT_IMPLEMENTED] = S3E_NotImplemented,
        [LCXML_NO_MEMORY] = S3E_InternalError,
    };
    if (e->code == LCXML_NO_MEMORY)
        req_log(r, "%s", e->msg);
    resp_error(r, codes[e->code], e->code == LCXML_NO_MEMORY ? NULL : e->msg);
}

int s3_object_attrs(s3_req *r, bool copy, st_object_attrs *out)
{
    memset(out, 0, sizeof *out);
    const char *sc = req_header(r, "x-amz-storage-class");
    if (sc && strcmp(sc, "STANDARD") != 0) {
        const char *tier = config_map_class(&r->srv->cfg->lifecycle, sc);
        st_tier t;
        cf_err err;
        if (strcmp(tier, "STANDARD") == 0) {
            sc = NULL;
        } else if (st_tier_get(r->srv->engine, tier, 0, false, &t, &err) < 0) {
            if (err.code != CF_ENOTFOUND) {
                resp_cf(r, &err);
                return -1;
            }
            char *msg = pool_printf(r->pool, "The storage class %s is neither STANDARD nor "
                                    "a tier of this server", sc);
            resp_error(r, S3E_InvalidStorageClass, msg);
            return -1;
        } else {
            st_tier_clear(&t);
            sc = tier;
        }
    }
    out->storage_class = sc;
    const char *dir = req_header(r, "x-amz-tagging-directive");
    if (copy && dir && strcmp(dir, "COPY") != 0 && strcmp(dir, "REPLACE") != 0) {
        resp_error(r, S3E_InvalidArgument, "Unknown tagging directive");
        return -1;
    }
    out->keep_tags = copy && !(dir && strcmp(dir, "REPLACE") == 0);
    const char *tagging = req_header(r, "x-amz-tagging");
    if (out->keep_tags || !tagging)
        return 0;
    lcxml_err e;
    st_header *tags;
    if (lcxml_tagging_header(tagging, r->pool, &tags, &out->ntags, &e) < 0) {
        s3_lcxml_refused(r, &e);
        return -1;
    }
    out->tags = tags;
    return 0;
}

int s3_write_cond(s3_req *r, st_write_cond *c)
{
    const char *inm = req_header(r, "if-none-match");
    const char *im = req_header(r, "if-match");
    memset(c, 0, sizeof(*c));
    if (inm && strcmp(inm, "*") != 0) {
        resp_error(r, S3E_NotImplemented, "If-None-Match on a write takes only *");
        return -1;
    }
    if (inm && im) {
        resp_error(r, S3E_NotImplemented, "If-None-Match and If-Match cannot be used "
                   "together on a write");
        return -1;
    }
    c->if_none_match = inm != NULL;
    c->if_match = im;
    return 0;
}

/* ---- customer keys (SSE-C) --------------------------------------------- */

static bool secure_enough(const s3_req *r)
{
    const coffer_config *cfg = r->srv->cfg;
    return cfg->tls_cert_file != NULL || cfg->sse_c_http_loopback;
}

int s3_ssec_request(s3_req *r, bool copy_source, s3_ssec *k)
{
    const char *prefix = copy_source ? "x-amz-copy-source-server-side-encryption-customer-"
                                     : "x-amz-server-side-encryption-customer-";
    char name[80];
    snprintf(name, sizeof(name), "%salgorithm", prefix);
    const char *algo = req_header(r, name);
    snprintf(name, sizeof(name), "%skey", prefix);
    const char *key = req_header(r, name);
    snprintf(name, sizeof(name), "%skey-md5", prefix);
    const char *md5 = req_header(r, name);
    memset(k, 0, sizeof(*k));
    if (!algo && !key && !md5)
        return 0;
    if (!(k->key = req_secret_alloc(r, ST_SSEC_KEY_LEN))) {
        resp_error(r, S3E_InternalError, NULL);
        return -1;
    }
    const char *why = NULL;
    uint8_t want[16], got[CKS_MAX_RAW];
    if (algo && strcmp(algo, "AES256") != 0) {
        resp_error(r, S3E_InvalidEncryptionAlgorithmError, NULL);
        return -1;
    }
    if (!algo)
        why = "Requests specifying Server Side Encryption with Customer provided keys "
              "must provide a valid encryption algorithm.";
    else if (!key)
        why = "Requests specifying Server Side Encryption with Customer provided keys "
              "must provide an appropriate secret key.";
    else if (!md5)
        why = "Requests specifying Server Side Encryption with Customer provided keys "
              "must provide the client calculated MD5 of the secret key.";
    else if (cks_from_base64(key, k->key, ST_SSEC_KEY_LEN, NULL) < 0)
        why = "The secret key was invalid for the specified algorithm.";
    else if (cks_from_base64(md5, want, sizeof(want), NULL) < 0)
        why = "The calculated MD5 hash of the key did not match the hash that was provided.";
    if (!why) {
        cf_err err;
        cks_state *s = cks_new(CKS_MD5, &err);
        if (!s) {
            resp_cf(r, &err);
            return -1;
        }
        cks_update(s, k->key, ST_SSEC_KEY_LEN);
        cks_final(s, got);
        cks_free(s);
        if (memcmp(got, want, 16) != 0)
            why = "The calculated MD5 hash of the key did not match the hash that was "
                  "provided.";
    }
    if (why) {
        resp_error(r, S3E_InvalidArgument, why);
        return -1;
    }
    if (!secure_enough(r)) {
        resp_error(r, S3E_InvalidRequest, "Requests specifying Server Side Encryption with "
                   "Customer provided keys must be made over a secure connection.");
        return -1;
    }
    snprintf(k->key_md5, sizeof(k->key_md5), "%s", md5);
    k->present = true;
    return 0;
}

void s3_ssec_failed(s3_req *r, const cf_err *err, const s3_ssec *k, bool upload)
{
    if (err->code == CF_ENEEDKEY && k && k->present)
        resp_error(r, S3E_InvalidRequest, upload
                   ? "The multipart upload was not initiated with customer-provided "
                     "encryption keys; its parts cannot use them."
                   : "The encryption parameters are not applicable to this object.");
    else if (err->code == CF_ENEEDKEY)
        resp_error(r, S3E_InvalidRequest, upload
                   ? "The multipart upload initiate requested encryption. Subsequent part "
                     "requests must include the appropriate encryption parameters."
                   : "The object was stored using a form of Server Side Encryption. The "
                     "correct parameters must be provided to retrieve the object.");
    else if (err->code == CF_EBADKEY && upload)
        resp_error(r, S3E_InvalidRequest, "The provided encryption parameters did not "
                   "match the ones used originally.");
    else
        resp_cf(r, err);
}

void s3_sse_headers(s3_req *r, const s3_ssec *k)
{
    if (k && k->present) {
        resp_header(r, "x-amz-server-side-encryption-customer-algorithm", "AES256");
        resp_header(r, "x-amz-server-side-encryption-customer-key-MD5", k->key_md5);
    } else {
        resp_header(r, "x-amz-server-side-encryption", "AES256");
    }
}

char *s3_token_encode(pool *p, const char *key)
{
    size_t n = strlen(key);
    char *out = pool_alloc(p, 2 * n + 1);
    if (out)
        hex_encode((const uint8_t *)key, n, out, 2 * n + 1);
    return out;
}

int s3_token_decode(s3_req *r, const char *tok, const char **key)
{
    size_t n = strlen(tok), len = n / 2;
    uint8_t *raw = pool_alloc(r->pool, len + 1);
    if (!raw || n == 0 || n % 2 || len > ST_MAX_KEY ||
        hex_decode(tok, raw, len, NULL) < 0 || memchr(raw, '\0', len)) {
        resp_error(r, S3E_InvalidArgument, "The continuation token provided is incorrect");
        return -1;
    }
    raw[len] = '\0';
    *key = (const char *)raw;
    return 0;
}
