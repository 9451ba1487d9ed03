/*
 * client/azb.h - coffer's Azure Blob Storage client: the Blob REST API
 * over the same transport as the S3 client (client/s3c.h): the same
 * libcurl multi loop, connection reuse, timeouts, retries with backoff
 * and jitter, resumed GETs and bandwidth cap, with Azure's own signing,
 * headers and errors. The cold tier on Azure is built on it.
 *
 * What it promises:
 *  - Authorization is Shared Key (the account key signs every attempt:
 *    the verb, the standard headers, every x-ms- header, the account and
 *    path and the decoded query; x-ms-date is fresh on each attempt) or a
 *    SAS token, appended to every URL. Requests carry x-ms-version
 *    AZB_VERSION.
 *  - Endpoints: https://ACCOUNT.blob.core.windows.net (the default), any
 *    http[s]://host[:port], and path-style emulator URLs
 *    http://127.0.0.1:PORT/ACCOUNT (Azurite), whose path prefixes every
 *    request's.
 *  - Uploads are checked by the service: each Put Blob and Put Block
 *    carries Content-MD5 or x-ms-content-crc64 (computed by a first pass
 *    unless given), so Azure refuses bytes that changed on the way; what
 *    the answer echoes is compared with what was sent (CF_EDIGEST if it
 *    differs). azb_upload streams any size through a bounded number of
 *    parallel blocks, each read twice from a source that reads at any
 *    offset (never buffered), commits them, and reads the properties back.
 *  - A GET with `verify` compares each answer's Content-MD5 (the blob's
 *    stored MD5 on a whole read; the range's, asked for with
 *    x-ms-range-get-content-md5, on ranges of at most 4 MiB) with the MD5
 *    of the bytes that arrived: CF_ECORRUPT, never wrong bytes unnoticed.
 *  - Errors carry Azure's own code and message (from the error XML, or
 *    x-ms-error-code and the status line for HEAD): "BlobNotFound: The
 *    specified blob does not exist. (HTTP 404 from GET url)", with the
 *    code also in azb_result.code. Retried: 5xx (ServerBusy,
 *    OperationTimedOut, InternalError), 429, timeouts and broken
 *    connections of idempotent requests (all but none here: every Blob
 *    operation used is idempotent). 412 ConditionNotMet is CF_EPRECOND.
 *  - Secrets never reach a message, a log or a result: the account key
 *    is kept decoded and wiped when the client goes; the SAS token is
 *    added to the URL curl fetches only, never to the URL messages show;
 *    error bodies are not kept.
 *
 * Threading and callbacks are s3c.h's: a client is used by one thread at
 * a time, callbacks run inside azb_run/azb_exec and must not block.
 * s3c_global_init must have run.
 *
 * Usage:
 *     azb_client *c = azb_client_new(&(azb_config){.account = "acct",
 *                                    .account_key = KEY}, &err);
 *     azb_op op = {.kind = AZB_GET_BLOB, .container = "c", .blob = "b",
 *                  .range = true, .range_start = 0, .range_len = 65536,
 *                  .sink = my_sink, .sink_ctx = me};
 *     azb_result res;
 *     if (azb_exec(c, &op, &res, &err) < 0) ... err.msg, res.code
 *     azb_result_free(&res);
 */
#ifndef CLIENT_AZB_H
#define CLIENT_AZB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/s3c.h"

#define AZB_VERSION "2023-11-03"        /* x-ms-version: has the Cold tier */
#define AZB_MAX_BLOCKS 50000u           /* a block blob's most blocks */
#define AZB_BLOCK_MAX (4000ull << 20)   /* the largest block */
#define AZB_PUT_BLOB_MAX (5000ull << 20) /* the largest single Put Blob */
#define AZB_RANGE_MD5_MAX (4u << 20)    /* ranges the service gives an MD5 of */

typedef struct azb_config {
    const char *account;          /* the storage account's name */
    const char *account_key;      /* base64 Shared Key; or */
    const char *sas_token;        /* a SAS token ("sv=...&sig=...", '?' optional) */
    const char *endpoint;         /* NULL: https://ACCOUNT.blob.core.windows.net */
    const char *cacert;           /* as s3c_config, and so are the rest */
    const char *cacert_pem;
    long connect_timeout_ms, timeout_ms, low_speed_bytes, low_speed_ms;
    int max_attempts;
    long backoff_base_ms, backoff_max_ms;
    uint64_t max_bytes_per_s;
    size_t max_response;
} azb_config;

typedef struct azb_client azb_client;

/* Copies what it needs from cfg (the key decoded, the token copied). */
azb_client *azb_client_new(const azb_config *cfg, cf_err *err);
void azb_client_free(azb_client *c);

/* ---- operations -------------------------------------------------------------- */

typedef enum azb_kind {
    AZB_CREATE_CONTAINER,  /* an existing container is success */
    AZB_DELETE_CONTAINER,
    AZB_PUT_BLOB,          /* body (at most AZB_PUT_BLOB_MAX), checksum, tier,
                              conditions */
    AZB_PUT_BLOCK,         /* block (its index: ids are made from it), body,
                              checksum */
    AZB_PUT_BLOCK_LIST,    /* commits blocks 0..nblocks-1 in order; blob_md5,
                              tier, conditions */
    AZB_GET_BLOB,          /* range, sink (NULL: into res.body), verify,
                              conditions */
    AZB_GET_PROPERTIES,    /* HEAD: size, MD5, ETag, tier, archive status */
    AZB_DELETE_BLOB,       /* a missing blob is success (res.status 404) */
    AZB_SET_TIER,          /* tier, rehydrate priority: 200 done, 202 pending */
    AZB_LIST_BLOBS,        /* prefix, marker, max_results -> res.listing */
    AZB_KIND_COUNT
} azb_kind;

typedef enum azb_checksum {
    AZB_CKS_NONE,          /* nothing for the service to check */
    AZB_CKS_MD5,           /* Content-MD5 */
    AZB_CKS_CRC64,         /* x-ms-content-crc64 (CRC-64/NVME, little-endian) */
} azb_checksum;

typedef enum azb_tier {
    AZB_TIER_DEFAULT,      /* the account's default (no header) */
    AZB_TIER_HOT,
    AZB_TIER_COOL,
    AZB_TIER_COLD,
    AZB_TIER_ARCHIVE,
    AZB_TIER_COUNT
} azb_tier;

typedef enum azb_priority {
    AZB_PRIORITY_DEFAULT,  /* Standard */
    AZB_PRIORITY_STANDARD,
    AZB_PRIORITY_HIGH,
} azb_priority;

/* "Hot", "Cool", "Cold", "Archive" (NULL for the default); and back,
 * case-insensitively (AZB_TIER_COUNT if unknown). */
const char *azb_tier_name(azb_tier t);
azb_tier azb_tier_from_name(const char *name);

/* The value Azure expects of data in Content-MD5 (base64 of the MD5) or
 * x-ms-content-crc64 (base64 of the CRC-64/NVME, little-endian). */
#define AZB_DIGEST_MAX 32
int azb_digest(azb_checksum cks, const void *data, size_t len, char out[AZB_DIGEST_MAX],
               cf_err *err);

/* The id of block i as Put Block and Put Block List send it (base64 of
 * a fixed-width name, so all ids of a blob have one length). */
#define AZB_BLOCK_ID_MAX 24
void azb_block_id(uint32_t i, char out[AZB_BLOCK_ID_MAX]);

/*
 * One operation. Names are raw (the client percent-encodes them); all
 * that is pointed to must stay valid until the operation is done.
 */
typedef struct azb_op {
    azb_kind kind;
    const char *container;
    const char *blob;
    const s3c_body *body;           /* Put Blob, Put Block; NULL: empty */
    azb_checksum checksum;
    const char *checksum_value;     /* base64, if known (else a first pass) */
    uint32_t block;                 /* Put Block: its index */
    uint32_t nblocks;               /* Put Block List: 1..AZB_MAX_BLOCKS */
    const char *blob_md5;           /* Put Block List: x-ms-blob-content-md5 */
    azb_tier tier;                  /* Put Blob, Put Block List, Set Tier */
    azb_priority priority;          /* Set Tier: rehydration from Archive */
    const char *if_match;           /* an ETag: 412 if the blob's differs */
    const char *if_none_match;      /* "*": 409/412 if the blob exists */
    bool range;                     /* Get Blob: bytes [range_start, +range_len) */
    uint64_t range_start, range_len;
    bool verify;                    /* Get Blob: compare Content-MD5 (CF_ECORRUPT) */
    s3c_sink sink;                  /* Get Blob: body out */
    void *sink_ctx;
    const char *prefix, *marker;    /* List Blobs */
    int max_results;                /* List Blobs: 0: the service's (5000) */
} azb_op;

typedef struct azb_blob {
    char *name;
    uint64_t size;
    char etag[S3C_ETAG_MAX];
    char content_md5[32];
    char access_tier[16];
    char archive_status[40];
    char last_modified[40];
} azb_blob;

typedef struct azb_listing {
    azb_blob *blobs;
    size_t nblobs;
    char *next_marker;              /* NULL when this was the last page */
} azb_listing;

void azb_listing_free(azb_listing *l);

typedef struct azb_result {
    long status;                    /* the last answer's HTTP status; 0: none */
    char code[S3C_CODE_MAX];        /* Azure's error code, "" if none */
    char message[256];              /* its message (first line), "" if none */
    char request_id[128];           /* x-ms-request-id of the last answer */
    int attempts;
    char etag[S3C_ETAG_MAX];
    char content_md5[32];           /* Content-MD5 of the answer, base64 */
    char crc64[16];                 /* x-ms-content-crc64 of the answer */
    int64_t size;                   /* the whole blob's size; -1 */
    int64_t content_length;         /* of the answer; -1 */
    char last_modified[40];
    char blob_type[16];             /* BlockBlob ... */
    char access_tier[16];           /* Hot, Cool, Cold, Archive; "" */
    bool tier_inferred;             /* the account's default, not set */
    char archive_status[40];        /* rehydrate-pending-to-hot ...; "" */
    char rehydrate_priority[16];    /* High, Standard; "" */
    uint64_t bytes_sent, bytes_received; /* body bytes, all attempts */
    char *body;                     /* Get Blob without a sink, NUL-terminated */
    size_t body_len;
    azb_listing *listing;           /* List Blobs */
} azb_result;

void azb_result_free(azb_result *res);

/* Run op to its end (other requests in flight progress meanwhile). On -1,
 * err says why and res still describes the last answer. */
int azb_exec(azb_client *c, const azb_op *op, azb_result *res, cf_err *err);

/* Called once when an operation started with azb_start ends; res is freed
 * after the call (take res->body or res->listing by setting them NULL). */
typedef void (*azb_done_fn)(void *ctx, int rc, const cf_err *err, azb_result *res);

/* Start op; -1 only if it cannot even be started (bad arguments). */
int azb_start(azb_client *c, const azb_op *op, azb_done_fn done, void *ctx, cf_err *err);

/* Drive transfers as s3c_run does; operations not yet done. */
int azb_run(azb_client *c, int timeout_ms, cf_err *err);
size_t azb_active(const azb_client *c);
/* s3c_resume and s3c_abort for this client's transfers. */
void azb_resume(azb_client *c);
void azb_abort(azb_client *c);

/* ---- whole uploads --------------------------------------------------------- */

typedef struct azb_upload_opts {
    azb_checksum checksum;          /* per block (and Put Blob); NONE: MD5 */
    azb_tier tier;
    uint64_t block_size;            /* 0: 4 MiB; at most AZB_BLOCK_MAX */
    int parallel;                   /* blocks in flight; 0: 4 */
    const char *if_none_match;      /* "*": never replace an existing blob */
} azb_upload_opts;

/* Where an upload's bytes come from: a source that reads at any offset.
 * open gives a rewindable body of bytes [off, off + len) for one block
 * (or the one Put Blob), close ends it when that request is done.
 * Several are open at once (one a block in flight), opened in order. */
typedef struct azb_parts {
    int (*open)(void *ctx, uint64_t off, uint64_t len, const s3c_body **body, cf_err *err);
    void (*close)(void *ctx, const s3c_body *body);
    void *ctx;
    uint64_t length;
} azb_parts;

/*
 * Upload src as blob: up to one block_size as one Put Blob, larger as
 * Put Blocks, `parallel` at a time, then Put Block List, with
 * x-ms-blob-content-md5 of the whole when the checksum is MD5. Each part
 * is read twice: a first pass for its checksum (and the whole blob's
 * MD5), then the send (and again on a retry), so no block is held in
 * memory: one 256 KiB buffer per upload, whatever block_size and
 * parallel are. Then Get Blob Properties must show the size sent (and
 * that MD5): the blob is verified when this returns 0, with res holding
 * those properties. Every part opened is closed before this returns (if
 * the transport itself fails, by abandoning every operation of the
 * client, azb_abort). On -1 before the commit nothing is visible (blocks
 * never committed are dropped by Azure after a week); a blob that fails
 * the verification is deleted (CF_EDIGEST); only when the properties
 * cannot be read after the commit may the blob exist (the caller's
 * record of the upload decides: delete it, or read it back later).
 */
int azb_upload(azb_client *c, const char *container, const char *blob, const azb_parts *src,
               const azb_upload_opts *opts, azb_result *res, cf_err *err);

#endif
