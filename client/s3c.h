/*
 * client/s3c.h - coffer's one outgoing S3 client: cofferd's cold tier,
 * the `coffer` admin CLI and coffer-bench all send their requests through
 * it, so that signing, sending, retrying and error mapping exist once.
 *
 * What it promises:
 *  - Every request is signed with auth/'s SigV4 signer (service "s3"),
 *    in one of three payload modes: UNSIGNED-PAYLOAD, the body's SHA-256
 *    (given, or computed by reading the body once before sending), or
 *    aws-chunked streaming (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, 64 KiB
 *    chunks each signed as it is sent). Every header sent is signed.
 *  - Bodies are streamed from a callback and responses to a callback:
 *    memory per request is a few small buffers and one chunk, never an
 *    object. A body that can rewind can be replayed (retries, first-pass
 *    hashing); one that cannot is sent once.
 *  - Many requests are in flight at once, driven by one thread through
 *    libcurl's multi interface; connections are kept and reused.
 *  - Timeouts: connect, whole request (optional), and low speed (fewer
 *    than low_speed_bytes per second for low_speed_ms: a stalled remote).
 *  - Retries with exponential backoff and full jitter (a delay drawn
 *    uniformly from [0, min(backoff_max, backoff_base * 2^n)]): on 5xx,
 *    429, 400 RequestTimeout, and, for idempotent requests, on timeouts
 *    and broken connections. Never on other 4xx. A request is replayed only
 *    if it has no body, its body rewinds, or nothing of it was read yet.
 *    A GET that broke after delivering bytes resumes where it stopped
 *    (Range from the next byte, If-Match the first answer's ETag), so the
 *    sink sees each byte once. A GET that ends well delivered every byte
 *    asked for (of those that exist): anything shorter is an error.
 *  - A bandwidth cap (bytes per second, uploads and downloads together)
 *    shared by all transfers of a client: a token bucket that pauses
 *    transfers (curl_easy_pause) while it is empty.
 *  - Remote errors become a cf_err whose message carries the remote's own
 *    Code and Message ("remote NoSuchKey: The specified key does not
 *    exist. (HTTP 404, GET /b/k)"); the Code is also in s3c_result. Error,
 *    listing and multipart XML is read by common/xmlread (the bounded
 *    reader request bodies go through: no DOCTYPE, no entities, every
 *    bound checked as it is crossed), size-capped.
 *  - Secrets (the secret key, the signing key, Authorization) never reach
 *    an error message or a log; the secret is wiped when the client goes.
 *
 * Threading: a client is used by one thread at a time (no locks inside);
 * clients in different threads are independent. Callbacks (body, sink,
 * done) run inside s3c_run/s3c_exec on that thread, must not block, and
 * must not call s3c_run or s3c_exec; a done callback may s3c_start more
 * requests. Call s3c_global_init once in main before any thread starts.
 *
 * Usage:
 *     s3c_client *c = s3c_client_new(&cfg, &err);
 *     s3c_op op = {.kind = S3C_GET_OBJECT, .bucket = "b", .key = "k",
 *                  .range = true, .range_start = 0, .range_len = 65536,
 *                  .sink = my_sink, .sink_ctx = me};
 *     s3c_result res;
 *     if (s3c_exec(c, &op, &res, &err) < 0) ... err.msg, res.remote_code
 *     s3c_result_free(&res);
 * or, many at once: s3c_start(c, &op, done_cb, ctx, &err) for each, then
 * `while (s3c_active(c)) s3c_run(c, 100, &err);`.
 */
#ifndef CLIENT_S3C_H
#define CLIENT_S3C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define S3C_ETAG_MAX 128
#define S3C_CODE_MAX 64
#define S3C_UPLOAD_ID_MAX 1024
#define S3C_CHUNK (64u << 10)          /* aws-chunked data bytes per chunk */

/* Once per process, before threads: libcurl's set-up. */
int s3c_global_init(cf_err *err);
void s3c_global_cleanup(void);

typedef struct s3c_config {
    const char *endpoint;         /* http[s]://host[:port], no path */
    const char *region;           /* signing region; NULL: us-east-1 */
    const char *access_key;
    const char *secret_key;
    bool virtual_host;            /* BUCKET.host/KEY instead of host/BUCKET/KEY */
    const char *cacert;           /* PEM CA file for https; NULL: the system's */
    const char *cacert_pem;       /* or the PEM text itself (a tier's, from the index) */
    long connect_timeout_ms;      /* 0: 10 s */
    long timeout_ms;              /* one attempt as a whole; 0: no limit */
    long low_speed_bytes;         /* 0: 1 byte/s ... */
    long low_speed_ms;            /* ... for this long; 0: 60 s; -1: off */
    int max_attempts;             /* 0: 5 (the first try and 4 retries); 1: none */
    long backoff_base_ms;         /* 0: 100 ms */
    long backoff_max_ms;          /* 0: 20 s */
    uint64_t max_bytes_per_s;     /* 0: no cap */
    size_t max_response;          /* bodies kept in memory (no sink); 0: 8 MiB */
} s3c_config;

typedef struct s3c_client s3c_client;

/* Copies what it needs from cfg (the secret included). */
s3c_client *s3c_client_new(const s3c_config *cfg, cf_err *err);
void s3c_client_free(s3c_client *c);

/* ---- bodies and sinks ----------------------------------------------------- */

/*
 * A request body: read gives the next bytes (at most cap; *got 0 only at
 * the end, after exactly `length` bytes), rewind goes back to byte 0
 * (NULL if the source cannot: the request is then sent at most once).
 */
typedef struct s3c_body {
    int (*read)(void *ctx, uint8_t *buf, size_t cap, size_t *got, cf_err *err);
    int (*rewind)(void *ctx, cf_err *err);
    void *ctx;
    uint64_t length;
} s3c_body;

/* A body over memory the caller keeps; rewinds. */
typedef struct s3c_mem {
    const uint8_t *data;
    size_t len, pos;
} s3c_mem;
void s3c_body_mem(s3c_body *b, s3c_mem *m, const void *data, size_t len);

/* Response bytes of a successful answer, in order, each byte once.
 * Returns 0 (taken), -1 (failed: the operation ends with err), or
 * S3C_SINK_PAUSE: the bytes were NOT taken; the transfer pauses (the
 * remote's sending stops at TCP's window), s3c_run returns at once, and
 * the same bytes come again after s3c_resume. A reader that pulls an
 * answer at its own pace (cofferd's read-through of a tiered object)
 * pauses when its buffer is full. */
#define S3C_SINK_PAUSE 1
typedef int (*s3c_sink)(void *ctx, const uint8_t *data, size_t n, cf_err *err);

/* ---- operations -------------------------------------------------------------- */

typedef enum s3c_kind {
    S3C_REQUEST,           /* generic: method, path, query, headers, body */
    S3C_CREATE_BUCKET,     /* PUT /bucket (an existing own bucket is success) */
    S3C_DELETE_BUCKET,
    S3C_PUT_OBJECT,        /* body, payload, checksum, content_type */
    S3C_GET_OBJECT,        /* range, sink (NULL: into res.body), verify */
    S3C_HEAD_OBJECT,       /* -> size, etag, crc32c, last_modified */
    S3C_DELETE_OBJECT,     /* a missing key is success, as in S3 */
    S3C_MPU_CREATE,        /* -> upload_id; checksum names the algorithm */
    S3C_MPU_PART,          /* upload_id, part_number, body, checksum -> etag */
    S3C_MPU_COMPLETE,      /* upload_id, parts -> etag (a 200 <Error> fails) */
    S3C_MPU_ABORT,         /* upload_id */
    S3C_LIST_UPLOADS,      /* ListMultipartUploads: prefix -> listing (objects'
                              key and upload_id; the first 1,000) */
    S3C_LIST_OBJECTS,      /* ListObjectsV2: prefix, delimiter, start_after,
                              continuation, max_keys -> listing */
    S3C_KIND_COUNT
} s3c_kind;

typedef enum s3c_payload {
    S3C_UNSIGNED,          /* UNSIGNED-PAYLOAD */
    S3C_SIGNED,            /* hex SHA-256 of the body (payload_sha256 or a first pass) */
    S3C_STREAMING,         /* aws-chunked, signed chunks (bodies only; else unsigned) */
} s3c_payload;

/*
 * Checksum of an upload (PUT, part): the header is sent, so the remote
 * checks the body before it keeps it. The value is checksum_value
 * (base64) if given, else computed by a first pass over the body (which
 * must rewind). The remote's confirmation is compared with what was sent
 * (MD5: the ETag, when it is a plain MD5; CRC32C: x-amz-checksum-crc32c in
 * the answer); a different value fails with CF_EDIGEST. For S3C_MPU_CREATE
 * CRC32C sets x-amz-checksum-algorithm.
 */
typedef enum s3c_checksum {
    S3C_CKS_NONE,
    S3C_CKS_MD5,           /* Content-MD5 */
    S3C_CKS_CRC32C,        /* x-amz-checksum-crc32c */
} s3c_checksum;

typedef struct s3c_header {
    const char *name;      /* lowercase */
    const char *value;
} s3c_header;

typedef struct s3c_part {
    uint32_t number;
    const char *etag;      /* as the part's answer gave it, quotes and all */
    const char *crc32c;    /* base64, or NULL */
} s3c_part;

/*
 * One operation. Strings are raw (the client percent-encodes keys and
 * query values); everything pointed to must stay valid until the
 * operation is done (s3c_exec returns / the done callback has run).
 */
typedef struct s3c_op {
    s3c_kind kind;
    const char *bucket;
    const char *key;
    const s3c_body *body;           /* PUT, part, generic; NULL: empty */
    s3c_payload payload;
    const char *payload_sha256;     /* S3C_SIGNED: the hex hash if known */
    s3c_checksum checksum;
    const char *checksum_value;     /* base64, if known */
    const char *content_type;       /* PUT, generic */
    bool range;                     /* GET: bytes [range_start, +range_len) */
    uint64_t range_start, range_len;
    bool verify;                    /* GET: ask for the stored checksum and
                                       check a whole-object CRC32C (CF_ECORRUPT) */
    s3c_sink sink;                  /* GET, generic: body out */
    void *sink_ctx;
    const char *upload_id;          /* part, complete, abort */
    uint32_t part_number;           /* part: 1..10000; GET, HEAD: that part of a
                                       multipart object (0: the whole object) */
    const s3c_part *parts;          /* complete, in order */
    size_t nparts;
    const char *prefix, *delimiter, *start_after, *continuation; /* list */
    int max_keys;                   /* list: 0: the server's default (1000) */
    const s3c_header *headers;      /* extra headers, any op (signed) */
    size_t nheaders;
    /* S3C_REQUEST only */
    const char *method;
    const char *path;               /* already percent-encoded, from '/' */
    const char *query;              /* already encoded, without '?'; or NULL */
    bool idempotent;                /* retried on timeouts and broken connections */
} s3c_op;

typedef struct s3c_object {
    char *key;
    uint64_t size;
    char etag[S3C_ETAG_MAX];
    char storage_class[32];
    char last_modified[32];         /* as sent: 2006-02-03T16:45:09.000Z */
    char *upload_id;                /* S3C_LIST_UPLOADS: the upload; else NULL */
} s3c_object;

typedef struct s3c_listing {
    s3c_object *objects;
    size_t nobjects;
    char **prefixes;                /* CommonPrefixes */
    size_t nprefixes;
    bool truncated;
    char *next_continuation;        /* when truncated */
} s3c_listing;

typedef struct s3c_result {
    long status;                    /* the last answer's HTTP status; 0: none */
    char remote_code[S3C_CODE_MAX]; /* S3 error Code, "" if none */
    char remote_message[256];       /* its Message, "" if none */
    char request_id[128];           /* x-amz-request-id of the last answer */
    int attempts;
    char etag[S3C_ETAG_MAX];        /* PUT, part, HEAD, GET, complete */
    char crc32c[16];                /* x-amz-checksum-crc32c, "" if absent */
    char checksum_algo[16];         /* the x-amz-checksum-ALGO an answer carried
                                       ("crc64nvme", "sha256", ...), "" if none */
    char checksum[96];              /* its value (a composite ends in -N) */
    int parts_count;                /* x-amz-mp-parts-count, 0 if absent */
    int64_t size;                   /* HEAD/GET: the whole object's size; -1 */
    int64_t content_length;         /* Content-Length of the answer; -1 */
    char last_modified[40];         /* HEAD/GET: the header as sent */
    char upload_id[S3C_UPLOAD_ID_MAX]; /* MPU_CREATE */
    uint64_t bytes_sent, bytes_received; /* body bytes, all attempts */
    char *body;                     /* answer body when there is no sink
                                       (also error bodies), NUL-terminated */
    size_t body_len;
    s3c_listing *listing;           /* LIST_OBJECTS */
} s3c_result;

void s3c_result_free(s3c_result *res);

/* Run op to its end (other requests in flight progress meanwhile).
 * On -1, err says why and res still describes the last answer. */
int s3c_exec(s3c_client *c, const s3c_op *op, s3c_result *res, cf_err *err);

/* Called once when an operation started with s3c_start ends: rc 0 or -1
 * with err. res is freed after the call returns; take res->body or
 * res->listing by setting them NULL. */
typedef void (*s3c_done_fn)(void *ctx, int rc, const cf_err *err, s3c_result *res);

/* Start op; -1 only if it cannot even be started (bad arguments). */
int s3c_start(s3c_client *c, const s3c_op *op, s3c_done_fn done, void *ctx,
              cf_err *err);

/* Drive transfers for at most timeout_ms (returns sooner once something
 * finished); done callbacks run from here. -1 on a libcurl failure. */
int s3c_run(s3c_client *c, int timeout_ms, cf_err *err);

/* Operations started and not yet done (waiting for a retry included). */
size_t s3c_active(const s3c_client *c);

/* Resume every transfer whose sink answered S3C_SINK_PAUSE; the bytes it
 * refused are offered again (possibly from inside this call). */
void s3c_resume(s3c_client *c);

/* Abandon every operation in flight or waiting for a retry: no done
 * callback runs, unfinished transfers' connections are closed. The
 * client stays usable (a reader that stops early, a job cancelled). */
void s3c_abort(s3c_client *c);

#endif
