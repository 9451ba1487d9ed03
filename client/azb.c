/*
 * client/azb.c - the Azure Blob protocol on the client's transport: what
 * an azb_op means in HTTP (path, query, x-ms- headers, the checksum the
 * service checks, the block list), fixed when it starts; its Shared Key
 * signature, made anew for each attempt (or the SAS token in the URL);
 * the answer's Azure headers; and what an answer means (success per op,
 * Azure's error code and message, echoed checksums, a verified GET).
 * Then azb_upload, which streams a body as one Put Blob or as parallel
 * blocks and a block list, and checks the result.
 *
 * Each operation is an xfer (xfer.c: attempts, retries, resume, the cap)
 * whose protocol state, a `call`, lives in the same allocation, so that
 * nothing outlives or leaks from a transfer whichever way it ends.
 * Azure's answers are read into the call's azb_result as they arrive;
 * the transport's own result (status, ETag, sizes, body) is added when
 * the operation ends. Error bodies are parsed for Code and Message and
 * then dropped: they may quote the request.
 */
#include "client/internal.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_BLOCK (4u << 20)
#define DEFAULT_PARALLEL 4
#define PASS_CHUNK (256u << 10)          /* a part's first pass reads this at a time */

struct azb_client {
    s3c_client *t;                   /* the transport */
    char account[32];
    char prefix[40];                 /* the endpoint's path: "" or "/ACCOUNT" */
    uint8_t key[AZAUTH_KEY_MAX];
    size_t key_len;
    char *sas;                       /* the token, or NULL: Shared Key */
};

/* One operation's Azure side (xfer->proto_ctx). */
typedef struct call {
    azb_client *c;
    azb_op op;
    azb_done_fn done;
    void *ctx;
    azb_result res;                  /* Azure's headers of the last answer */
    char reason[128];                /* its status line's text */
    char error_code[S3C_CODE_MAX];   /* its x-ms-error-code */
    char sent[CKS_MAX_B64];          /* the checksum header value sent */
} call;

static const char *const tier_names[AZB_TIER_COUNT] = {
    [AZB_TIER_HOT] = "Hot", [AZB_TIER_COOL] = "Cool", [AZB_TIER_COLD] = "Cold",
    [AZB_TIER_ARCHIVE] = "Archive"};

const char *azb_tier_name(azb_tier t)
{
    return t > AZB_TIER_DEFAULT && t < AZB_TIER_COUNT ? tier_names[t] : NULL;
}

azb_tier azb_tier_from_name(const char *name)
{
    for (int t = AZB_TIER_HOT; name && t < AZB_TIER_COUNT; t++)
        if (strcasecmp(name, tier_names[t]) == 0)
            return (azb_tier)t;
    return AZB_TIER_COUNT;
}

void azb_block_id(uint32_t i, char out[AZB_BLOCK_ID_MAX])
{
    char raw[16];
    snprintf(raw, sizeof raw, "coffer%06u", (unsigned)(i % 1000000));
    cks_to_base64((const uint8_t *)raw, 12, out, AZB_BLOCK_ID_MAX);
}

/* ---- the client ---------------------------------------------------------- */

static bool valid_account(const char *a)
{
    size_t n = a ? strlen(a) : 0;
    return n >= 3 && n <= 24 && strspn(a, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

/* scheme://authority into base, the path (one segment or none) into prefix. */
static int split_endpoint(azb_client *c, const char *url, char *base, size_t cap,
                          cf_err *err)
{
    const char *rest = strstr(url, "://");
    const char *path = rest ? strchr(rest + 3, '/') : NULL;
    size_t n = path ? (size_t)(path - url) : strlen(url);
    size_t seg = path ? strcspn(path + 1, "/") : 0;
    if (!rest || n >= cap ||
        (path && (strspn(path + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-._~") != seg ||
                  seg >= sizeof c->prefix - 1 ||
                  (path[1 + seg] && strcmp(path + 1 + seg, "/") != 0))))
        return cf_fail(err, CF_EINVAL, "endpoint %s: expected http[s]://host[:port] with at "
                       "most one path segment (an emulator's /ACCOUNT)", url);
    snprintf(base, cap, "%.*s", (int)n, url);
    snprintf(c->prefix, sizeof c->prefix, "%s%.*s", seg ? "/" : "", (int)seg,
             path ? path + 1 : "");
    return 0;
}

azb_client *azb_client_new(const azb_config *cfg, cf_err *err)
{
    azb_client *c = calloc(1, sizeof *c);
    char endpoint[320], base[320];
    if (!c) {
        cf_fail(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    if (!valid_account(cfg->account)) {
        cf_fail(err, CF_EINVAL, "the account name must be 3 to 24 lowercase letters and "
                "digits");
        goto fail;
    }
    snprintf(c->account, sizeof c->account, "%s", cfg->account);
    if (!cfg->account_key == !cfg->sas_token) {
        cf_fail(err, CF_EINVAL, "give an account key or a SAS token (one of them)");
        goto fail;
    }
    if (cfg->endpoint)
        snprintf(endpoint, sizeof endpoint, "%s", cfg->endpoint);
    else
        snprintf(endpoint, sizeof endpoint, "https://%s.blob.core.windows.net", c->account);
    if (split_endpoint(c, endpoint, base, sizeof base, err) < 0)
        goto fail;
    if (cfg->account_key ? azauth_key_decode(cfg->account_key, c->key, &c->key_len, err) < 0
                         : !(c->sas = azauth_sas_copy(cfg->sas_token, err)))
        goto fail;
    s3c_config t = {.endpoint = base, .cacert = cfg->cacert,
                    .cacert_pem = cfg->cacert_pem,
                    .connect_timeout_ms = cfg->connect_timeout_ms,
                    .timeout_ms = cfg->timeout_ms, .low_speed_bytes = cfg->low_speed_bytes,
                    .low_speed_ms = cfg->low_speed_ms, .max_attempts = cfg->max_attempts,
                    .backoff_base_ms = cfg->backoff_base_ms,
                    .backoff_max_ms = cfg->backoff_max_ms,
                    .max_bytes_per_s = cfg->max_bytes_per_s,
                    .max_response = cfg->max_response};
    if (!(c->t = s3c_transport_new(&t, err)))
        goto fail;
    return c;
fail:
    azb_client_free(c);
    return NULL;
}

void azb_client_free(azb_client *c)
{
    if (!c)
        return;
    s3c_client_free(c->t);
    OPENSSL_cleanse(c->key, sizeof c->key);
    if (c->sas) {
        OPENSSL_cleanse(c->sas, strlen(c->sas));
        free(c->sas);
    }
    free(c);
}

int azb_run(azb_client *c, int timeout_ms, cf_err *err)
{
    return s3c_run(c->t, timeout_ms, err);
}

size_t azb_active(const azb_client *c)
{
    return s3c_active(c->t);
}

void azb_resume(azb_client *c)
{
    s3c_resume(c->t);
}

void azb_abort(azb_client *c)
{
    s3c_abort(c->t);
}

void azb_result_free(azb_result *res)
{
    free(res->body);
    azb_listing_free(res->listing);
    res->body = NULL;
    res->listing = NULL;
}

/* ---- an operation's request ------------------------------------------------ */

static const char *const kind_method[AZB_KIND_COUNT] = {
    [AZB_CREATE_CONTAINER] = "PUT", [AZB_DELETE_CONTAINER] = "DELETE",
    [AZB_PUT_BLOB] = "PUT", [AZB_PUT_BLOCK] = "PUT", [AZB_PUT_BLOCK_LIST] = "PUT",
    [AZB_GET_BLOB] = "GET", [AZB_GET_PROPERTIES] = "HEAD", [AZB_DELETE_BLOB] = "DELETE",
    [AZB_SET_TIER] = "PUT", [AZB_LIST_BLOBS] = "GET"};

static bool kind_has_blob(azb_kind k)
{
    return k != AZB_CREATE_CONTAINER && k != AZB_DELETE_CONTAINER && k != AZB_LIST_BLOBS;
}

/* The operations that take If-Match / If-None-Match. */
static bool kind_conditional(azb_kind k)
{
    return k == AZB_PUT_BLOB || k == AZB_PUT_BLOCK_LIST || k == AZB_GET_BLOB ||
           k == AZB_GET_PROPERTIES || k == AZB_DELETE_BLOB;
}

static int build_query(xfer *x, const azb_op *op, cf_err *err)
{
    char num[24], id[AZB_BLOCK_ID_MAX];
    int rc = 0;
    switch (op->kind) {
    case AZB_CREATE_CONTAINER:
    case AZB_DELETE_CONTAINER:
        return s3c_query_param(&x->query, "restype", "container", err);
    case AZB_LIST_BLOBS:
        rc = s3c_query_param(&x->query, "restype", "container", err);
        if (rc == 0)
            rc = s3c_query_param(&x->query, "comp", "list", err);
        if (rc == 0 && op->prefix)
            rc = s3c_query_param(&x->query, "prefix", op->prefix, err);
        if (rc == 0 && op->marker)
            rc = s3c_query_param(&x->query, "marker", op->marker, err);
        snprintf(num, sizeof num, "%d", op->max_results);
        if (rc == 0 && op->max_results > 0)
            rc = s3c_query_param(&x->query, "maxresults", num, err);
        return rc;
    case AZB_PUT_BLOCK:
        if (op->block >= AZB_MAX_BLOCKS)
            return cf_fail(err, CF_EINVAL, "block %u: a blob has blocks 0..%u", op->block,
                           AZB_MAX_BLOCKS - 1);
        azb_block_id(op->block, id);
        rc = s3c_query_param(&x->query, "comp", "block", err);
        return rc < 0 ? -1 : s3c_query_param(&x->query, "blockid", id, err);
    case AZB_PUT_BLOCK_LIST:
        return s3c_query_param(&x->query, "comp", "blocklist", err);
    case AZB_SET_TIER:
        return s3c_query_param(&x->query, "comp", "tier", err);
    default:
        return 0;
    }
}

/* Path, Host and the URLs: messages show x->url, curl fetches wire_url. */
static int build_target(xfer *x, call *k, cf_err *err)
{
    const azb_op *op = &k->op;
    azb_client *c = k->c;
    if (!op->container || !*op->container || strchr(op->container, '/') ||
        (kind_has_blob(op->kind) && (!op->blob || !*op->blob)))
        return cf_fail(err, CF_EINVAL, "the operation needs a container%s",
                       kind_has_blob(op->kind) ? " and a blob" : "");
    char *blob = kind_has_blob(op->kind) ? auth_uri_encode(op->blob, true) : NULL;
    size_t n = strlen(c->prefix) + strlen(op->container) + (blob ? strlen(blob) : 0) + 3;
    if ((kind_has_blob(op->kind) && !blob) || !(x->path = malloc(n))) {
        free(blob);
        return cf_fail(err, CF_ENOMEM, "out of memory");
    }
    snprintf(x->path, n, "%s/%s%s%s", c->prefix, op->container, blob ? "/" : "",
             blob ? blob : "");
    free(blob);
    snprintf(x->host, sizeof x->host, "%s", c->t->authority);
    x->method = kind_method[op->kind];
    if (!(x->url = s3c_url(c->t, x->host, x->path, x->query)))
        return cf_fail(err, CF_ENOMEM, "out of memory");
    if (c->sas) {
        size_t w = strlen(x->url) + strlen(c->sas) + 2;
        if (!(x->wire_url = malloc(w)))
            return cf_fail(err, CF_ENOMEM, "out of memory");
        snprintf(x->wire_url, w, "%s%s%s", x->url, x->query ? "&" : "?", c->sas);
    }
    return 0;
}

/* A CRC-64 in cks_final's big-endian base64 turned into Azure's
 * little-endian base64, in place. */
static void crc64_to_le(char *b64, size_t cap)
{
    uint8_t raw[8], le[8];
    if (cks_from_base64(b64, raw, sizeof raw, NULL) < 0)
        return;
    for (int i = 0; i < 8; i++)
        le[i] = raw[7 - i];
    cks_to_base64(le, sizeof le, b64, cap);
}

/* The checksum header: the given value or a first pass over the body. */
static int build_checksum(xfer *x, call *k, cf_err *err)
{
    const azb_op *op = &k->op;
    if (op->checksum == AZB_CKS_NONE || (op->kind != AZB_PUT_BLOB && op->kind != AZB_PUT_BLOCK))
        return 0;
    bool md5 = op->checksum == AZB_CKS_MD5;
    if (op->checksum_value) {
        if (snprintf(k->sent, sizeof k->sent, "%s", op->checksum_value) >= (int)sizeof k->sent)
            return cf_fail(err, CF_EINVAL, "the checksum value is too long");
    } else if (x->body) {
        cks_state *s = cks_new(md5 ? CKS_MD5 : CKS_CRC64NVME, err);
        int rc = s ? s3c_body_digest(x->body, NULL, NULL, s, k->sent, sizeof k->sent, err) : -1;
        cks_free(s);
        if (rc < 0)
            return -1;
        if (!md5)
            crc64_to_le(k->sent, sizeof k->sent);
    } else {
        snprintf(k->sent, sizeof k->sent, "%s", md5 ? "1B2M2Y8AsgTpgAmY7PhCfg==" : "AAAAAAAAAAA=");
    }
    return s3c_xfer_header(x, md5 ? "content-md5" : "x-ms-content-crc64", k->sent, err);
}

/* Put Block List's body: blocks 0..n-1, each the latest version. */
static int build_block_list(xfer *x, const azb_op *op, cf_err *err)
{
    static const char head[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
    static const char tail[] = "</BlockList>";
    if (op->nblocks == 0 || op->nblocks > AZB_MAX_BLOCKS)
        return cf_fail(err, CF_EINVAL, "a block list has 1..%u blocks", AZB_MAX_BLOCKS);
    size_t cap = sizeof head + sizeof tail + (size_t)op->nblocks * (17 + AZB_BLOCK_ID_MAX);
    if (!(x->post = malloc(cap)))
        return cf_fail(err, CF_ENOMEM, "out of memory");
    size_t len = (size_t)snprintf(x->post, cap, "%s", head);
    for (uint32_t i = 0; i < op->nblocks; i++) {
        char id[AZB_BLOCK_ID_MAX];
        azb_block_id(i, id);
        len += (size_t)snprintf(x->post + len, cap - len, "<Latest>%s</Latest>", id);
    }
    len += (size_t)snprintf(x->post + len, cap - len, "%s", tail);
    s3c_body_mem(&x->post_body, &x->post_mem, x->post, len);
    x->body = &x->post_body;
    return 0;
}

static int build_headers(xfer *x, call *k, cf_err *err)
{
    const azb_op *op = &k->op;
    const char *tier = azb_tier_name(op->tier);
    int rc = 0;
    if (op->tier >= AZB_TIER_COUNT || op->tier < 0)
        return cf_fail(err, CF_EINVAL, "unknown access tier");
    if ((op->if_match || op->if_none_match) && !kind_conditional(op->kind))
        return cf_fail(err, CF_EINVAL, "this operation takes no If-Match or If-None-Match");
    if (op->if_match)
        rc = s3c_xfer_header(x, "if-match", op->if_match, err);
    if (rc == 0 && op->if_none_match)
        rc = s3c_xfer_header(x, "if-none-match", op->if_none_match, err);
    switch (op->kind) {
    case AZB_PUT_BLOB:
        if (op->body && op->body->length > AZB_PUT_BLOB_MAX)
            return cf_fail(err, CF_ETOOLARGE, "a Put Blob holds at most %llu bytes: use blocks",
                           (unsigned long long)AZB_PUT_BLOB_MAX);
        if (rc == 0)
            rc = s3c_xfer_header(x, "x-ms-blob-type", "BlockBlob", err);
        /* fall through */
    case AZB_PUT_BLOCK_LIST:
        if (rc == 0 && tier)
            rc = s3c_xfer_header(x, "x-ms-access-tier", tier, err);
        if (rc == 0 && op->kind == AZB_PUT_BLOCK_LIST && op->blob_md5)
            rc = s3c_xfer_header(x, "x-ms-blob-content-md5", op->blob_md5, err);
        return rc;
    case AZB_PUT_BLOCK:
        if (op->body && op->body->length > AZB_BLOCK_MAX)
            return cf_fail(err, CF_ETOOLARGE, "a block holds at most %llu bytes",
                           (unsigned long long)AZB_BLOCK_MAX);
        return rc;
    case AZB_GET_BLOB:
        if (op->range && op->range_len == 0)
            return cf_fail(err, CF_EINVAL, "an empty range");
        if (rc == 0 && op->verify && op->range && op->range_len <= AZB_RANGE_MD5_MAX)
            rc = s3c_xfer_header(x, "x-ms-range-get-content-md5", "true", err);
        return rc;
    case AZB_SET_TIER:
        if (!tier)
            return cf_fail(err, CF_EINVAL, "Set Blob Tier needs a tier");
        rc = s3c_xfer_header(x, "x-ms-access-tier", tier, err);
        if (rc == 0 && op->priority != AZB_PRIORITY_DEFAULT)
            rc = s3c_xfer_header(x, "x-ms-rehydrate-priority",
                                 op->priority == AZB_PRIORITY_HIGH ? "High" : "Standard", err);
        return rc;
    default:
        return rc;
    }
}

static const s3c_proto azb_proto;

static void on_call_done(void *ctx, int rc, const cf_err *err, s3c_result *r);

static xfer *start(azb_client *c, const azb_op *op, azb_done_fn done, void *ctx,
                   cf_err *err)
{
    if (op->kind < 0 || op->kind >= AZB_KIND_COUNT) {
        cf_fail(err, CF_EINVAL, "unknown operation");
        return NULL;
    }
    xfer *x = s3c_xfer_new(c->t, &azb_proto, on_call_done, NULL, sizeof(call), err);
    if (!x)
        return NULL;
    call *k = x->proto_ctx;
    *k = (call){.c = c, .op = *op, .done = done, .ctx = ctx};
    k->res.size = k->res.content_length = -1;
    x->ctx = k;
    x->op = (s3c_op){.kind = S3C_REQUEST, .range = op->kind == AZB_GET_BLOB && op->range,
                     .range_start = op->range_start, .range_len = op->range_len,
                     .sink = op->sink, .sink_ctx = op->sink_ctx};
    x->getting = op->kind == AZB_GET_BLOB;
    x->idempotent = true;                /* every Blob operation here is */
    if (x->op.range)
        x->first_byte = op->range_start;
    if (op->kind == AZB_PUT_BLOB || op->kind == AZB_PUT_BLOCK)
        x->body = op->body;
    int rc = build_query(x, op, err);
    if (rc == 0)
        rc = build_target(x, k, err);
    if (rc == 0 && op->kind == AZB_PUT_BLOCK_LIST)
        rc = build_block_list(x, op, err);
    if (rc == 0)
        rc = build_headers(x, k, err);
    if (rc == 0)
        rc = build_checksum(x, k, err);
    if (rc == 0 && op->kind == AZB_GET_BLOB && op->verify && !(x->verify = cks_new(CKS_MD5, err)))
        rc = -1;
    if (rc < 0) {
        s3c_xfer_destroy(x);
        return NULL;
    }
    return s3c_xfer_begin(x, err) == 0 ? x : NULL;
}

int azb_start(azb_client *c, const azb_op *op, azb_done_fn done, void *ctx, cf_err *err)
{
    return start(c, op, done, ctx, err) ? 0 : -1;
}

/* ---- signing and answers ------------------------------------------------------ */

/* RFC 1123, in English whatever the locale. */
static void http_date(time_t t, char out[64])
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 64, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int azb_sign(xfer *x, auth_pair *h, size_t *nh, char *authz, size_t cap,
                    cf_err *err)
{
    call *k = x->proto_ctx;
    azb_client *c = k->c;
    http_date(time(NULL), x->stamp);
    h[(*nh)++] = (auth_pair){"x-ms-date", x->stamp};
    h[(*nh)++] = (auth_pair){"x-ms-version", AZB_VERSION};
    if (c->sas)
        return 0;
    return azauth_sign(c->key, c->key_len, c->account, x->method, x->path, x->query, h, *nh,
                       x->body ? x->body->length : 0, authz, cap, err);
}

static void azb_header(xfer *x, const char *line, size_t n)
{
    call *k = x->proto_ctx;
    azb_result *r = &k->res;
    char v[16];
    if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
        r->request_id[0] = r->content_md5[0] = r->crc64[0] = r->blob_type[0] = '\0';
        r->access_tier[0] = r->archive_status[0] = r->rehydrate_priority[0] = '\0';
        r->tier_inferred = false;
        k->error_code[0] = '\0';
        /* "HTTP/1.1 404 The specified blob does not exist.\r\n" */
        const char *end = line + n, *sp = memchr(line, ' ', n);
        const char *text = sp ? memchr(sp + 1, ' ', (size_t)(end - sp - 1)) : NULL;
        size_t len = text ? (size_t)(end - ++text) : 0;
        while (len > 0 && (text[len - 1] == '\r' || text[len - 1] == '\n'))
            len--;
        snprintf(k->reason, sizeof k->reason, "%.*s", (int)len, text ? text : "");
        return;
    }
    if (s3c_header_value(line, n, "x-ms-access-tier-inferred", v, sizeof v))
        r->tier_inferred = strcasecmp(v, "true") == 0;
    else if (!s3c_header_value(line, n, "x-ms-request-id", r->request_id, sizeof r->request_id) &&
             !s3c_header_value(line, n, "content-md5", r->content_md5, sizeof r->content_md5) &&
             !s3c_header_value(line, n, "x-ms-content-crc64", r->crc64, sizeof r->crc64) &&
             !s3c_header_value(line, n, "x-ms-blob-type", r->blob_type, sizeof r->blob_type) &&
             !s3c_header_value(line, n, "x-ms-access-tier", r->access_tier,
                               sizeof r->access_tier) &&
             !s3c_header_value(line, n, "x-ms-archive-status", r->archive_status,
                               sizeof r->archive_status) &&
             !s3c_header_value(line, n, "x-ms-rehydrate-priority", r->rehydrate_priority,
                               sizeof r->rehydrate_priority))
        s3c_header_value(line, n, "x-ms-error-code", k->error_code, sizeof k->error_code);
}

static const struct {
    const char *code;
    cf_code cf;
} code_map[] = {
    {"BlobNotFound", CF_ENOKEY}, {"ResourceNotFound", CF_ENOKEY}, {"NotFound", CF_ENOKEY},
    {"ContainerNotFound", CF_ENOBUCKET}, {"ContainerAlreadyExists", CF_EBUCKETEXISTS},
    {"ContainerBeingDeleted", CF_EBUCKETEXISTS}, {"BlobAlreadyExists", CF_EEXISTS},
    {"ConditionNotMet", CF_EPRECOND}, {"PreconditionFailed", CF_EPRECOND},
    {"BlobArchived", CF_ESTATE}, {"Md5Mismatch", CF_EDIGEST}, {"Crc64Mismatch", CF_EDIGEST}, {"InvalidMd5", CF_EDIGEST},
    {"InvalidRange", CF_ERANGE}, {"InvalidBlockList", CF_EBADPART},
    {"InvalidBlockId", CF_EBADPART}, {"RequestBodyTooLarge", CF_ETOOLARGE},
    {"BlockCountExceedsLimit", CF_ETOOLARGE}, {"BlockListTooLong", CF_ETOOLARGE},
    {"AuthenticationFailed", CF_ECONFIG}, {"AuthorizationFailure", CF_ECONFIG},
    {"AuthorizationPermissionMismatch", CF_ECONFIG},
    {"AuthorizationResourceTypeMismatch", CF_ECONFIG},
    {"AuthorizationServiceMismatch", CF_ECONFIG},
    {"InsufficientAccountPermissions", CF_ECONFIG}, {"AccountIsDisabled", CF_ECONFIG},
    {"Forbidden", CF_ECONFIG},
};

static cf_code map_code(const char *code, long status)
{
    for (size_t i = 0; i < sizeof code_map / sizeof code_map[0]; i++)
        if (strcmp(code, code_map[i].code) == 0)
            return code_map[i].cf;
    return status >= 500 ? CF_EIO : CF_EINVAL;
}

/* Replace every occurrence of secret in s (cap bytes) by "[redacted]". */
static void redact(char *s, size_t cap, const char *secret, size_t n)
{
    static const char mark[] = "[redacted]";
    const size_t m = sizeof mark - 1;
    char *p, *from = s;
    if (n < 4)
        return;
    while ((p = memmem(from, strlen(from), secret, n)) != NULL) {
        if ((size_t)(p - s) + m >= cap) {       /* no room for the mark: cut here */
            *p = '\0';
            return;
        }
        size_t tail = strlen(p + n);
        if ((size_t)(p - s) + m + tail >= cap)
            tail = cap - 1 - (size_t)(p - s) - m;
        memmove(p + m, p + n, tail);
        p[m + tail] = '\0';
        memcpy(p, mark, m);
        from = p + m;                           /* never inside the mark itself */
    }
}

/* The SAS signature, as sent and decoded, is never quoted back. */
static void redact_sas(const azb_client *c, char *s, size_t cap)
{
    const char *sig = c->sas ? strstr(c->sas, "sig=") : NULL;
    while (sig && sig != c->sas && sig[-1] != '&')
        sig = strstr(sig + 1, "sig=");
    if (!sig)
        return;
    sig += 4;
    size_t n = strcspn(sig, "&");
    char plain[256];
    snprintf(plain, sizeof plain, "%.*s", (int)(n < sizeof plain ? n : sizeof plain - 1), sig);
    size_t pn = s3c_unescape(plain, false);
    redact(s, cap, sig, n);
    redact(s, cap, plain, pn);
    OPENSSL_cleanse(plain, sizeof plain);
}

/* Azure's error as res and err say it: the XML's Code and Message (its
 * first line: RequestId and Time follow), else x-ms-error-code and the
 * status line's text. */
static int remote_error(xfer *x, call *k, cf_err *err)
{
    s3c_result *r = &x->res;
    if (!x->ebuf || !s3c_xml_error(x->ebuf, x->elen, r->remote_code, sizeof r->remote_code,
                                   r->remote_message, sizeof r->remote_message)) {
        snprintf(r->remote_code, sizeof r->remote_code, "%s",
                 k->error_code[0] ? k->error_code : s3c_status_code(r->status));
        snprintf(r->remote_message, sizeof r->remote_message, "%s", k->reason);
    }
    r->remote_message[strcspn(r->remote_message, "\r\n")] = '\0';
    redact_sas(k->c, r->remote_message, sizeof r->remote_message);
    redact_sas(k->c, r->remote_code, sizeof r->remote_code);
    if ((k->op.kind == AZB_CREATE_CONTAINER &&
         strcmp(r->remote_code, "ContainerAlreadyExists") == 0) ||
        (k->op.kind == AZB_DELETE_BLOB && strcmp(r->remote_code, "BlobNotFound") == 0))
        return 0;
    return s3c_fail_remote(x, map_code(r->remote_code, r->status), err);
}

/* What the service echoed against what was sent; a verified GET. */
static int check_body(xfer *x, call *k, cf_err *err)
{
    const azb_op *op = &k->op;
    const azb_result *r = &k->res;
    if (k->sent[0] && op->checksum == AZB_CKS_MD5 && r->content_md5[0] &&
        strcmp(r->content_md5, k->sent) != 0)
        return cf_fail(err, CF_EDIGEST, "Azure computed MD5 %s, not the %s sent (%s %s)",
                       r->content_md5, k->sent, x->method, x->url);
    if (k->sent[0] && op->checksum == AZB_CKS_CRC64 && r->crc64[0] &&
        strcmp(r->crc64, k->sent) != 0)
        return cf_fail(err, CF_EDIGEST, "Azure computed CRC64 %s, not the %s sent (%s %s)",
                       r->crc64, k->sent, x->method, x->url);
    if (x->verify && r->content_md5[0]) {
        uint8_t raw[CKS_MAX_RAW];
        char got[CKS_MAX_B64];
        cks_to_base64(raw, cks_final(x->verify, raw), got, sizeof got);
        if (strcmp(got, r->content_md5) != 0)
            return cf_fail(err, CF_ECORRUPT, "the body's MD5 is %s, Azure's %s (GET %s)", got,
                           r->content_md5, x->url);
    }
    return 0;
}

static int azb_check(xfer *x, cf_err *err)
{
    call *k = x->proto_ctx;
    if (x->res.status < 200 || x->res.status > 299)
        return remote_error(x, k, err);
    if (k->op.kind == AZB_LIST_BLOBS)
        return s3c_xml_blob_list(x->buf, x->len, &k->res.listing, err);
    return check_body(x, k, err);
}

static const s3c_proto azb_proto = {azb_sign, azb_header, azb_check, "x-ms-range"};

/* The transport's result joins Azure's; then the caller's callback. */
static void on_call_done(void *ctx, int rc, const cf_err *err, s3c_result *r)
{
    call *k = ctx;
    azb_result *a = &k->res;
    a->status = r->status;
    a->attempts = r->attempts;
    snprintf(a->code, sizeof a->code, "%s", r->remote_code);
    snprintf(a->message, sizeof a->message, "%s", r->remote_message);
    snprintf(a->etag, sizeof a->etag, "%s", r->etag);
    snprintf(a->last_modified, sizeof a->last_modified, "%s", r->last_modified);
    a->size = r->size;
    a->content_length = r->content_length;
    a->bytes_sent = r->bytes_sent;
    a->bytes_received = r->bytes_received;
    if (r->status >= 200 && r->status <= 299 && k->op.kind == AZB_GET_BLOB) {
        a->body = r->body;
        a->body_len = r->body_len;
        r->body = NULL;
    }
    if (k->done)
        k->done(k->ctx, rc, err, a);
    azb_result_free(a);
}

/* ---- running one to its end ------------------------------------------------- */

typedef struct waiter {
    s3c_waiter end;
    azb_result *res;
} waiter;

static void on_exec_done(void *ctx, int rc, const cf_err *err, azb_result *res)
{
    waiter *w = ctx;
    s3c_waiter_end(&w->end, rc, err);
    *w->res = *res;
    res->body = NULL;
    res->listing = NULL;
}

int azb_exec(azb_client *c, const azb_op *op, azb_result *res, cf_err *err)
{
    waiter w = {.res = res};
    memset(res, 0, sizeof *res);
    res->size = res->content_length = -1;
    return s3c_xfer_wait(c->t, start(c, op, on_exec_done, &w, err), &w.end, err);
}

/* ---- whole uploads ------------------------------------------------------------ */

static cks_state *digest_new(azb_checksum cks, cf_err *err)
{
    return cks_new(cks == AZB_CKS_CRC64 ? CKS_CRC64NVME : CKS_MD5, err);
}

/* s's value as Azure expects it (the CRC-64 little-endian); frees s. */
static void digest_end(cks_state *s, azb_checksum cks, char out[AZB_DIGEST_MAX])
{
    uint8_t raw[CKS_MAX_RAW];
    cks_to_base64(raw, cks_final(s, raw), out, AZB_DIGEST_MAX);
    cks_free(s);
    if (cks == AZB_CKS_CRC64)
        crc64_to_le(out, AZB_DIGEST_MAX);
}

int azb_digest(azb_checksum cks, const void *data, size_t len, char out[AZB_DIGEST_MAX],
               cf_err *err)
{
    cks_state *s = digest_new(cks, err);
    if (!s)
        return -1;
    cks_update(s, data, len);
    digest_end(s, cks, out);
    return 0;
}

typedef struct uploader uploader;

/* A block in flight: its part of the source and its checksum. */
typedef struct slot {
    uploader *u;
    const s3c_body *part;            /* open while the block is */
    char cks[AZB_DIGEST_MAX];
    bool busy;
} slot;

struct uploader {
    const azb_parts *src;
    uint8_t *chunk;                  /* the first passes' buffer */
    slot *slots;
    int nslots;
    size_t inflight;
    bool failed;
    cf_err err;
    long status;
    char code[S3C_CODE_MAX], message[256];
};

static void slot_close(slot *s)
{
    if (s->part)
        s->u->src->close(s->u->src->ctx, s->part);
    s->part = NULL;
}

static void uploader_free(uploader *u)
{
    for (int i = 0; i < u->nslots; i++)
        slot_close(&u->slots[i]);
    free(u->chunk);
    free(u->slots);
    free(u);
}

/* The first pass over a part: its checksum and the whole blob's MD5
 * (parts come in order); then back to its start for sending. */
static int first_pass(const s3c_body *b, azb_checksum cks, cks_state *whole, uint8_t *chunk,
                      char out[AZB_DIGEST_MAX], cf_err *err)
{
    cks_state *s = digest_new(cks, err);
    uint64_t total = 0;
    size_t n = 0;
    int rc = s && b->rewind ? b->rewind(b->ctx, err)
                            : s ? cf_fail(err, CF_EINVAL, "a part must rewind") : -1;
    while (rc == 0 && (rc = s3c_body_read_full(b, chunk, PASS_CHUNK, &n, err)) == 0 && n > 0) {
        cks_update(s, chunk, n);
        if (whole)
            cks_update(whole, chunk, n);
        total += n;
    }
    if (rc == 0 && total != b->length)
        rc = cf_fail(err, CF_EINVAL, "a part gave %llu bytes, not the %llu announced",
                     (unsigned long long)total, (unsigned long long)b->length);
    if (rc == 0)
        rc = b->rewind(b->ctx, err);
    if (rc == 0)
        digest_end(s, cks, out);
    else
        cks_free(s);
    return rc;
}

static void on_block(void *ctx, int rc, const cf_err *err, azb_result *res)
{
    slot *s = ctx;
    uploader *u = s->u;
    s->busy = false;
    slot_close(s);
    u->inflight--;
    if (rc < 0 && !u->failed) {
        u->failed = true;
        u->err = *err;
        u->status = res->status;
        snprintf(u->code, sizeof u->code, "%s", res->code);
        snprintf(u->message, sizeof u->message, "%s", res->message);
    }
}

/* Open, digest and start the next block in a free slot; false when none
 * is free. */
static bool start_block(azb_client *c, const azb_op *tmpl, uploader *u, uint64_t bs,
                        uint32_t index, cks_state *whole)
{
    slot *s = NULL;
    for (int i = 0; i < u->nslots && !s; i++)
        if (!u->slots[i].busy)
            s = &u->slots[i];
    if (!s)
        return false;
    uint64_t off = (uint64_t)index * bs;
    uint64_t n = u->src->length - off < bs ? u->src->length - off : bs;
    cf_err err;
    int rc = u->src->open(u->src->ctx, off, n, &s->part, &err);
    if (rc == 0)
        rc = first_pass(s->part, tmpl->checksum, whole, u->chunk, s->cks, &err);
    if (rc == 0) {
        azb_op op = *tmpl;
        op.body = s->part;
        op.block = index;
        op.checksum_value = s->cks;
        rc = azb_start(c, &op, on_block, s, &err);
    }
    if (rc < 0) {
        slot_close(s);
        u->failed = true;
        u->err = err;
        return true;
    }
    s->busy = true;
    u->inflight++;
    return true;
}

/* Put Blocks, `parallel` at a time, then the block list. */
static int put_blocks(azb_client *c, const char *container, const char *blob,
                      const azb_parts *src, const azb_upload_opts *o, uint64_t bs,
                      char md5[CKS_MAX_B64], azb_result *res, cf_err *err)
{
    uint64_t nblocks = (src->length + bs - 1) / bs;
    if (nblocks > AZB_MAX_BLOCKS)
        return cf_fail(err, CF_ETOOLARGE, "%llu bytes need more than %u blocks of %llu bytes",
                       (unsigned long long)src->length, AZB_MAX_BLOCKS,
                       (unsigned long long)bs);
    int par = o->parallel > 0 ? o->parallel : DEFAULT_PARALLEL;
    uploader *u = calloc(1, sizeof *u);
    cks_state *whole = NULL;
    if (!u || !(u->slots = calloc((size_t)par, sizeof *u->slots)) ||
        !(u->chunk = malloc(PASS_CHUNK)) ||
        (o->checksum == AZB_CKS_MD5 && !(whole = cks_new(CKS_MD5, err)))) {
        if (u)
            uploader_free(u);
        return cf_fail(err, CF_ENOMEM, "out of memory");
    }
    u->src = src;
    u->nslots = par;
    for (int i = 0; i < par; i++)
        u->slots[i].u = u;
    azb_op tmpl = {.kind = AZB_PUT_BLOCK, .container = container, .blob = blob,
                   .checksum = o->checksum};
    uint32_t next = 0;
    cf_err run_err;
    bool broken = false;
    for (;;) {
        while (!u->failed && next < nblocks && start_block(c, &tmpl, u, bs, next, whole))
            next += !u->failed;
        if (u->inflight == 0)
            break;
        if (azb_run(c, 1000, &run_err) < 0) {
            broken = true;
            break;
        }
    }
    if (broken) {                        /* the parts are the caller's: end them now */
        azb_abort(c);
        uploader_free(u);
        cks_free(whole);
        return cf_fail(err, run_err.code, "%s", run_err.msg);
    }
    bool failed = u->failed;
    if (failed) {
        *err = u->err;
        res->status = u->status;
        snprintf(res->code, sizeof res->code, "%s", u->code);
        snprintf(res->message, sizeof res->message, "%s", u->message);
    }
    uploader_free(u);
    if (whole) {
        uint8_t raw[CKS_MAX_RAW];
        cks_to_base64(raw, cks_final(whole, raw), md5, CKS_MAX_B64);
        cks_free(whole);
    }
    if (failed)
        return -1;
    azb_op commit = {.kind = AZB_PUT_BLOCK_LIST, .container = container, .blob = blob,
                     .nblocks = (uint32_t)nblocks, .blob_md5 = md5[0] ? md5 : NULL,
                     .tier = o->tier, .if_none_match = o->if_none_match};
    int rc = azb_exec(c, &commit, res, err);
    azb_result_free(res);
    return rc;
}

/* One Put Blob of the one part. */
static int put_single(azb_client *c, const char *container, const char *blob,
                      const azb_parts *src, const azb_upload_opts *o, char md5[CKS_MAX_B64],
                      azb_result *res, cf_err *err)
{
    uint8_t *chunk = malloc(PASS_CHUNK);
    const s3c_body *part = NULL;
    char cks[AZB_DIGEST_MAX];
    if (!chunk)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    int rc = src->open(src->ctx, 0, src->length, &part, err);
    if (rc == 0)
        rc = first_pass(part, o->checksum, NULL, chunk, cks, err);
    if (rc == 0) {
        if (o->checksum == AZB_CKS_MD5)
            snprintf(md5, CKS_MAX_B64, "%s", cks);
        azb_op op = {.kind = AZB_PUT_BLOB, .container = container, .blob = blob, .body = part,
                     .checksum = o->checksum, .checksum_value = cks, .tier = o->tier,
                     .if_none_match = o->if_none_match};
        rc = azb_exec(c, &op, res, err);
        azb_result_free(res);
    }
    if (part)
        src->close(src->ctx, part);
    free(chunk);
    return rc;
}

int azb_upload(azb_client *c, const char *container, const char *blob, const azb_parts *src,
               const azb_upload_opts *opts, azb_result *res, cf_err *err)
{
    azb_upload_opts o = opts ? *opts : (azb_upload_opts){0};
    uint64_t bs = o.block_size ? o.block_size : DEFAULT_BLOCK;
    char md5[CKS_MAX_B64] = "";
    memset(res, 0, sizeof *res);
    res->size = res->content_length = -1;
    if (o.checksum == AZB_CKS_NONE)
        o.checksum = AZB_CKS_MD5;
    if (bs > AZB_BLOCK_MAX || bs > SIZE_MAX / 2)
        return cf_fail(err, CF_EINVAL, "a block holds at most %llu bytes",
                       (unsigned long long)AZB_BLOCK_MAX);
    int rc = src->length <= bs ? put_single(c, container, blob, src, &o, md5, res, err)
                               : put_blocks(c, container, blob, src, &o, bs, md5, res, err);
    if (rc < 0)
        return -1;
    /* what Azure holds now: the size sent, and the MD5 if there is one */
    azb_op head = {.kind = AZB_GET_PROPERTIES, .container = container, .blob = blob};
    if (azb_exec(c, &head, res, err) < 0)
        return -1;
    if (res->size == (int64_t)src->length && (!md5[0] || !res->content_md5[0] ||
                                               strcmp(md5, res->content_md5) == 0))
        return 0;
    rc = cf_fail(err, CF_EDIGEST, "Azure holds %lld bytes (MD5 %s) for %s/%s, not the %llu "
                 "sent (MD5 %s): deleted", (long long)res->size,
                 res->content_md5[0] ? res->content_md5 : "none", container, blob,
                 (unsigned long long)src->length, md5[0] ? md5 : "none");
    azb_result gone;
    cf_err ignored;
    azb_op del = {.kind = AZB_DELETE_BLOB, .container = container, .blob = blob};
    azb_exec(c, &del, &gone, &ignored);
    azb_result_free(&gone);
    return rc;
}
