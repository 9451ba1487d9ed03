/*
 * tier/azure.c - the Azure Blob Storage tier type: a container of a
 * storage account (or Azurite), reached through the outgoing Azure client
 * (client/azb.h), with Shared Key or a SAS token as the tier's secret.
 *
 * Uploads. azb_upload does the work: up to one block (the tier's
 * part_size) is one Put Blob, larger objects Put Blocks, parallel_parts at
 * a time, then Put Block List. Every Put Blob and Put Block carries the
 * Content-MD5 of its body, so Azure refuses bytes damaged on the way; the
 * digest is a first pass over the block through a source reader of its
 * own (tier/shared.h), then the block is sent from the source again, so
 * no block is held in memory (as the S3 type's parts). The
 * whole blob's MD5 is set by the commit, and Get Blob Properties must show
 * the size and that MD5 before the upload counts (a blob that fails it is
 * deleted). If-None-Match: * keeps an upload from replacing a blob. The
 * ETag recorded is the blob's. There is no upload id to record: blocks
 * of an upload that never committed (a crash) are invisible, and the
 * sweeping delete replaces them with an empty blob before deleting it.
 * The access tier (Hot, Cool, Cold or Archive) is set by the upload.
 *
 * Archive. An archived blob cannot be read (409 BlobArchived: a GET of
 * its object is 403 InvalidObjectState) until it is rehydrated. A
 * restore asks az_online first: Get Blob Properties; an archived blob
 * with no rehydration going gets Set Blob Tier Hot (202: Azure takes up
 * to hours), and while x-ms-archive-status says rehydrate-pending the
 * answer is "not yet", so the version stays RESTORING and the worker
 * asks again on its next pass. Once the blob is Hot the local copy is
 * restored and the blob set back to Archive, so it costs what the tier
 * costs; reads go to the local copy for the restore's days. The probe's
 * blob is written Hot (an archived one could not be read back).
 *
 * Reads. A stream is one Get Blob with x-ms-range pulled at the reader's
 * pace (tier/pull.h), as the S3 type's. Clients are pooled (tier/shared.h).
 */
#include "tier/tier.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/azb.h"
#include "storage/crypto.h"
#include "tier/pull.h"
#include "tier/shared.h"

#define LIST_PAGE 1000

typedef struct az_tier {
    char *account, *container, *prefix, *endpoint, *cacert_pem;
    bool sas;
    azb_tier access_tier;
    char secret[ST_TIER_SECRET_MAX + 1];
    tier_limits lim;
    tier_pool pool;                  /* clients for reads, listings and deletes */
} az_tier;

/* ---- settings ------------------------------------------------------------------ */

static const char *const fields[] = {
    "account", "container", "prefix", "endpoint", "cacert_pem", "access_tier", "auth", NULL,
};

static bool ok_account(const char *s)
{
    size_t n = strlen(s);
    return n >= 3 && n <= 24 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

/* Azure's container names: 3-63 of a-z, 0-9 and single inner dashes. */
static bool ok_container(const char *s)
{
    size_t n = strlen(s);
    return n >= 3 && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n &&
           s[0] != '-' && s[n - 1] != '-' && !strstr(s, "--");
}

static bool ok_access_tier(const char *s)
{
    return azb_tier_from_name(s) != AZB_TIER_COUNT && azb_tier_from_name(s) != AZB_TIER_DEFAULT;
}

static bool ok_auth(const char *s)
{
    return strcmp(s, "key") == 0 || strcmp(s, "sas") == 0;
}

#define WHAT "an Azure tier"

static int az_configure(const char *in_json, char **config_json, cf_err *err)
{
    *config_json = NULL;
    json_t *doc = tier_settings_load(in_json, fields, WHAT, err);
    int rc = doc ? 0 : -1;
    if (rc == 0 &&
        (tier_settings_string(doc, "account", true, 24, ok_account, WHAT, err) < 0 ||
         tier_settings_string(doc, "container", true, 63, ok_container, WHAT, err) < 0 ||
         tier_settings_string(doc, "prefix", false, 512, tier_ok_prefix, WHAT, err) < 0 ||
         tier_settings_string(doc, "endpoint", false, 300, tier_ok_endpoint, WHAT, err) < 0 ||
         tier_settings_string(doc, "cacert_pem", false, 65536, tier_ok_pem, WHAT, err) < 0 ||
         tier_settings_string(doc, "access_tier", false, 16, ok_access_tier, WHAT, err) < 0 ||
         tier_settings_string(doc, "auth", false, 3, ok_auth, WHAT, err) < 0))
        rc = -1;
    if (rc == 0)
        rc = tier_settings_dump(doc, config_json, err);
    json_decref(doc);
    return rc;
}

static void az_close(void *impl)
{
    az_tier *t = impl;
    if (!t)
        return;
    tier_pool_clear(&t->pool);
    free(t->account);
    free(t->container);
    free(t->prefix);
    free(t->endpoint);
    free(t->cacert_pem);
    crypt_wipe(t->secret, sizeof t->secret);
    free(t);
}

static const tier_client_ops client_ops;

static int az_open(const st_tier *st, const tier_limits *lim, void **impl, cf_err *err)
{
    az_tier *t = calloc(1, sizeof *t);
    if (!t)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    tier_pool_init(&t->pool, &client_ops, t);
    json_t *doc = json_loads(st->config, 0, NULL);
    t->account = tier_settings_dup(doc, "account", NULL);
    t->container = tier_settings_dup(doc, "container", NULL);
    t->prefix = tier_settings_dup(doc, "prefix", "");
    t->endpoint = tier_settings_dup(doc, "endpoint", NULL);
    t->cacert_pem = tier_settings_dup(doc, "cacert_pem", NULL);
    const char *at = json_string_value(json_object_get(doc, "access_tier"));
    t->access_tier = at ? azb_tier_from_name(at) : AZB_TIER_DEFAULT;
    const char *auth = json_string_value(json_object_get(doc, "auth"));
    t->sas = auth && strcmp(auth, "sas") == 0;
    json_decref(doc);
    snprintf(t->secret, sizeof t->secret, "%s", st->secret);
    t->lim = *lim;
    if (!t->account || !t->container || !t->prefix || t->access_tier == AZB_TIER_COUNT) {
        az_close(t);
        return cf_fail(err, CF_ECONFIG, "tier %s: its stored settings are incomplete",
                       st->name);
    }
    *impl = t;
    return 0;
}

/* ---- clients ------------------------------------------------------------------- */

static azb_client *new_client(az_tier *t, uint64_t cap, cf_err *err)
{
    azb_config cfg = {.account = t->account, .endpoint = t->endpoint,
                      .cacert_pem = t->cacert_pem, .max_bytes_per_s = cap};
    if (t->sas)
        cfg.sas_token = t->secret;
    else
        cfg.account_key = t->secret;
    return azb_client_new(&cfg, err);
}

static void *pool_make(void *owner, cf_err *err)
{
    return new_client(owner, 0, err);
}

static void pool_quiet(void *c)
{
    azb_abort(c);
}

static void pool_destroy(void *c)
{
    azb_client_free(c);
}

static void pool_resume(void *c)
{
    azb_resume(c);
}

static int pool_run(void *c, int timeout_ms, cf_err *err)
{
    return azb_run(c, timeout_ms, err);
}

static const tier_client_ops client_ops = {.make = pool_make, .quiet = pool_quiet,
                                           .destroy = pool_destroy, .resume = pool_resume,
                                           .run = pool_run};

static char *blob_name(const az_tier *t, const char *name, cf_err *err)
{
    return tier_remote_name(t->prefix, name, err);
}

/* ---- uploads ------------------------------------------------------------------- */

/* Each block is a part of the source with a reader of its own. */
static int part_open(void *ctx, uint64_t off, uint64_t len, const s3c_body **body,
                     cf_err *err)
{
    tier_part *p = malloc(sizeof *p);
    if (!p)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    if (tier_part_open(p, ctx, off, len, err) < 0) {
        free(p);
        return -1;
    }
    *body = &p->body;
    return 0;
}

static void part_close(void *ctx, const s3c_body *body)
{
    (void)ctx;
    tier_part *p = body->ctx;
    tier_part_close(p);
    free(p);
}

static int az_put(void *impl, const char *name, const tier_src *src,
                  char etag[TIER_ETAG_MAX], cf_err *err)
{
    az_tier *t = impl;
    char *blob = blob_name(t, name, err);
    azb_client *c = blob ? new_client(t, t->lim.max_bytes_per_s, err) : NULL;
    int rc = c ? 0 : -1;
    if (rc == 0) {
        azb_parts parts = {.open = part_open, .close = part_close, .ctx = (void *)src,
                           .length = src->length};
        uint64_t block = t->lim.part_size;
        uint64_t need = (src->length + AZB_MAX_BLOCKS - 1) / AZB_MAX_BLOCKS;
        if (block < need)
            block = need;
        if (block > AZB_BLOCK_MAX)
            block = AZB_BLOCK_MAX;
        azb_upload_opts o = {.checksum = AZB_CKS_MD5, .tier = t->access_tier,
                             .block_size = block, .parallel = t->lim.parallel_parts,
                             .if_none_match = "*"};
        azb_result res;
        rc = azb_upload(c, t->container, blob, &parts, &o, &res, err);
        if (rc == 0)
            snprintf(etag, TIER_ETAG_MAX, "%s", res.etag);
        azb_result_free(&res);
    }
    azb_client_free(c);
    free(blob);
    return rc;
}

/* ---- reads ---------------------------------------------------------------------- */

static void stream_done(void *ctx, int rc, const cf_err *err, azb_result *res)
{
    (void)res;
    tier_pull_done(&((tier_stream *)ctx)->pull, rc, err);
}

static int az_stream_open(void *impl, const char *name, uint64_t off, uint64_t len,
                          void **stream, cf_err *err)
{
    az_tier *t = impl;
    tier_stream *s;
    if (tier_stream_begin(&t->pool, t->prefix, name, len, &s, err) < 0)
        return -1;
    azb_op op = {.kind = AZB_GET_BLOB, .container = t->container, .blob = s->name,
                 .range = true, .range_start = off, .range_len = len,
                 .sink = tier_pull_sink, .sink_ctx = &s->pull};
    if (azb_start(s->client, &op, stream_done, s, err) < 0) {
        tier_stream_close(s);
        return -1;
    }
    *stream = s;
    return 0;
}

/* ---- deletes and the probe ------------------------------------------------------------ */

/* There is no upload id: the blob is what there is to delete. Blocks an
 * upload staged but never committed (a crash) do not make a blob Delete
 * Blob can remove; with sweep, an empty Put Blob first replaces them (a
 * given-up upload is never running meanwhile), so nothing is left. */
static int az_del(void *impl, const char *name, const char *upload_id, bool sweep,
                  cf_err *err)
{
    (void)upload_id;
    az_tier *t = impl;
    char *blob = blob_name(t, name, err);
    azb_client *c = blob ? tier_pool_take(&t->pool, err) : NULL;
    int rc = c ? 0 : -1;
    azb_result res;
    if (rc == 0 && sweep) {
        azb_op op = {.kind = AZB_PUT_BLOB, .container = t->container, .blob = blob,
                     .checksum = AZB_CKS_MD5};
        rc = azb_exec(c, &op, &res, err);
        azb_result_free(&res);
    }
    if (rc == 0) {
        azb_op op = {.kind = AZB_DELETE_BLOB, .container = t->container, .blob = blob};
        rc = azb_exec(c, &op, &res, err);
        azb_result_free(&res);
    }
    tier_pool_give(&t->pool, c);
    free(blob);
    return rc;
}

/* A page is List Blobs from Azure's marker (the cursor), LIST_PAGE blobs. */
static int az_list(void *impl, const char *after, tier_list_cb cb, void *ctx,
                   char next[TIER_CURSOR_MAX], cf_err *err)
{
    az_tier *t = impl;
    next[0] = '\0';
    azb_client *c = tier_pool_take(&t->pool, err);
    if (!c)
        return -1;
    azb_op op = {.kind = AZB_LIST_BLOBS, .container = t->container, .prefix = t->prefix,
                 .marker = *after ? after : NULL, .max_results = LIST_PAGE};
    azb_result res;
    int rc = azb_exec(c, &op, &res, err);
    const azb_listing *l = res.listing;
    size_t plen = strlen(t->prefix);
    for (size_t i = 0; rc == 0 && l && i < l->nblobs; i++) {
        const azb_blob *b = &l->blobs[i];
        if (strncmp(b->name, t->prefix, plen) != 0)
            continue;
        char etag[S3C_ETAG_MAX + 2];     /* quoted, as Get Blob Properties gives it */
        snprintf(etag, sizeof etag, b->etag[0] == '"' ? "%s" : "\"%s\"", b->etag);
        tier_listed o = {.name = b->name + plen, .size = b->size, .etag = etag};
        rc = cb(ctx, &o, err);
    }
    if (rc == 0 && l && l->next_marker &&
        snprintf(next, TIER_CURSOR_MAX, "%s", l->next_marker) >= TIER_CURSOR_MAX)
        rc = cf_fail(err, CF_EIO, "Azure gave a marker longer than %d bytes",
                     TIER_CURSOR_MAX - 1);
    azb_result_free(&res);
    tier_pool_give(&t->pool, c);
    return rc;
}

/* Rehydration of an Archive tier's blob (see the top); other tiers' blobs
 * are always online. */
static int az_online(void *impl, const char *name, bool online, cf_err *err)
{
    az_tier *t = impl;
    if (t->access_tier != AZB_TIER_ARCHIVE)
        return 1;
    char *blob = blob_name(t, name, err);
    azb_client *c = blob ? tier_pool_take(&t->pool, err) : NULL;
    azb_result res;
    int rc = c ? 0 : -1;
    bool archived = false;
    if (rc == 0 && online) {
        azb_op head = {.kind = AZB_GET_PROPERTIES, .container = t->container, .blob = blob};
        rc = azb_exec(c, &head, &res, err);
        archived = strcasecmp(res.access_tier, "Archive") == 0;
        if (rc == 0 && strncmp(res.archive_status, "rehydrate-pending", 17) == 0)
            rc = -2;                 /* rehydrating: not yet */
        azb_result_free(&res);
    }
    if (rc == 0 && (archived || !online)) {
        azb_op set = {.kind = AZB_SET_TIER, .container = t->container, .blob = blob,
                      .tier = online ? AZB_TIER_HOT : AZB_TIER_ARCHIVE};
        rc = azb_exec(c, &set, &res, err);
        if (rc == 0 && online)
            rc = -2;                 /* started: readable when a later look says Hot */
        azb_result_free(&res);
    }
    tier_pool_give(&t->pool, c);
    free(blob);
    return rc == -2 ? 0 : rc < 0 ? -1 : 1;
}

static int az_probe(void *impl, cf_err *err)
{
    az_tier *t = impl;
    uint8_t data[TIER_PROBE_BYTES];
    char name[TIER_PROBE_NAME], where[CF_ERRMSG_MAX / 2], *blob = NULL;
    if (tier_probe_data(data, name, err) < 0)
        return -1;
    snprintf(where, sizeof where, "in container %s of account %s", t->container, t->account);
    azb_client *c = (blob = blob_name(t, name, err)) ? tier_pool_take(&t->pool, err) : NULL;
    if (!c) {
        free(blob);
        return -1;
    }
    s3c_body body;
    s3c_mem mem;
    s3c_body_mem(&body, &mem, data, sizeof data);
    azb_op put = {.kind = AZB_PUT_BLOB, .container = t->container, .blob = blob,
                  .body = &body, .checksum = AZB_CKS_MD5,
                  .tier = t->access_tier == AZB_TIER_ARCHIVE ? AZB_TIER_HOT : t->access_tier};
    azb_result res;
    int rc = tier_probe_step(azb_exec(c, &put, &res, err), "write", where, err);
    azb_result_free(&res);
    if (rc == 0) {
        azb_op get = {.kind = AZB_GET_BLOB, .container = t->container, .blob = blob};
        rc = tier_probe_step(azb_exec(c, &get, &res, err), "read back", where, err);
        if (rc == 0 && (res.body_len != sizeof data || memcmp(res.body, data, sizeof data)))
            rc = cf_fail(err, CF_ECORRUPT, "the tier's probe read back other bytes than it "
                         "wrote %s", where);
        azb_result_free(&res);
        azb_op del = {.kind = AZB_DELETE_BLOB, .container = t->container, .blob = blob};
        cf_err derr;
        int drc = tier_probe_step(azb_exec(c, &del, &res, &derr), "delete", where, &derr);
        azb_result_free(&res);
        if (rc == 0 && drc < 0) {
            *err = derr;
            rc = -1;
        }
    }
    tier_pool_give(&t->pool, c);
    free(blob);
    return rc;
}

const tier_type tier_type_azure = {
    .name = "azure",
    .configure = az_configure,
    .open = az_open,
    .close = az_close,
    .probe = az_probe,
    .put = az_put,
    .stream_open = az_stream_open,
    .stream_read = tier_stream_read,
    .stream_close = tier_stream_close,
    .del = az_del,
    .online = az_online,
    .list = az_list,
};
