/*
 * server/request.h - one S3 request from first header to access-log line.
 *
 * Implemented by request.c, which knows neither libmicrohttpd nor the
 * engine.
 *
 * Lifetime and ownership: http.c creates an s3_req (req_new) when a
 * request line arrives and releases it when libmicrohttpd reports the
 * request complete: dispatch_done (dispatch.h) releases what the
 * operation left (an engine stream, the authentication state), then
 * req_free the rest (a parsed XML document, the body and response
 * buffers, the pool), whatever state the request ended in. Everything
 * small hangs off r->pool. Handlers therefore never free on error paths:
 * they set the response and return.
 *
 * Phases (dispatch.c runs them):
 *   1. headers: route (router.c) -> authenticate (s3auth.c) -> op->begin
 *   2. body:    bytes -> aws-chunked decoder -> payload hash -> op->data
 *               (streamed ops) or r->body (small XML bodies, bounded)
 *   3. end:     trailer and payload checks -> op->run -> response
 * Once a response is set (r->resp_set), later phases are skipped and any
 * remaining body is discarded.
 *
 * Threads: a request belongs to the thread libmicrohttpd calls it on; no
 * function here takes a lock.
 */
#ifndef SRV_REQUEST_H
#define SRV_REQUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/xmlread.h"
#include "server/pool.h"
#include "server/s3err.h"
#include "server/sbuf.h"
#include "server/server.h"
#include "storage/engine.h"

struct MHD_Connection;
struct sockaddr;
struct s3_req;
struct s3auth_state;

/* Reads len bytes of a streamed body at offset into buf: *n is what was
 * read (0 only if the body ended early); 0, or -1 with err. */
typedef int (*resp_reader)(struct s3_req *r, uint64_t offset, void *buf, size_t len,
                           size_t *n, cf_err *err);

typedef struct s3_param {
    char *name, *value;              /* percent-decoded; value "" if absent */
} s3_param;

typedef struct s3_hdr {
    char *name, *value;              /* request: name lowercased */
} s3_hdr;

typedef enum s3_body_mode {
    BODY_NONE,                       /* any body is discarded */
    BODY_BUFFER,                     /* collected in r->body, <= XML_MAX_BODY */
    BODY_STREAM,                     /* handed to op->data as it arrives */
} s3_body_mode;

/* The S3 operations the router tells apart (router.c chooses one,
 * s3_ops.c binds each to the s3_op of its handler). */
typedef enum s3_op_id {
    S3OP_NONE,
    S3OP_LIST_BUCKETS, S3OP_CREATE_BUCKET, S3OP_DELETE_BUCKET, S3OP_HEAD_BUCKET,
    S3OP_GET_BUCKET_LOCATION, S3OP_GET_BUCKET_VERSIONING, S3OP_PUT_BUCKET_VERSIONING,
    S3OP_GET_BUCKET_ACL, S3OP_PUT_LOCK_CONFIG, S3OP_GET_LOCK_CONFIG,
    S3OP_PUT_RETENTION, S3OP_GET_RETENTION, S3OP_PUT_LEGAL_HOLD, S3OP_GET_LEGAL_HOLD,
    S3OP_GET_OBJECT_ACL,
    S3OP_LIST_OBJECTS_V1, S3OP_LIST_OBJECTS_V2, S3OP_LIST_OBJECT_VERSIONS,
    S3OP_LIST_UPLOADS, S3OP_LIST_PARTS,
    S3OP_PUT_OBJECT, S3OP_GET_OBJECT, S3OP_HEAD_OBJECT, S3OP_DELETE_OBJECT,
    S3OP_DELETE_OBJECTS, S3OP_COPY_OBJECT,
    S3OP_CREATE_UPLOAD, S3OP_UPLOAD_PART, S3OP_UPLOAD_PART_COPY,
    S3OP_COMPLETE_UPLOAD, S3OP_ABORT_UPLOAD,
    S3OP_GET_OBJECT_ATTRIBUTES,
    S3OP_GET_BUCKET_ENCRYPTION, S3OP_PUT_BUCKET_ENCRYPTION, S3OP_DELETE_BUCKET_ENCRYPTION,
    S3OP_PUT_BUCKET_LIFECYCLE, S3OP_GET_BUCKET_LIFECYCLE, S3OP_DELETE_BUCKET_LIFECYCLE,
    S3OP_PUT_OBJECT_TAGGING, S3OP_GET_OBJECT_TAGGING, S3OP_DELETE_OBJECT_TAGGING,
    S3OP_RESTORE_OBJECT,
    S3OP_COUNT
} s3_op_id;

/* What an operation does, for the key's permissions (server/perm.h). */
typedef enum s3_act {
    ACT_READ,                        /* the read permission */
    ACT_WRITE,                       /* write-new (overwrites: the engine asks) */
    ACT_DELETE,                      /* delete, or a delete prefix for the key */
    ACT_CONFIG,                      /* a bucket configuration: every write permission */
} s3_act;

typedef struct s3_op {
    const char *name;                /* for the access log: "PutObject" */
    s3_body_mode body;
    s3_act act;                      /* checked against the key (perm.c) */
    void (*begin)(struct s3_req *r); /* BODY_STREAM only; may be NULL */
    /* hash: the payload hash the bytes must also go into, or NULL
     * (s3auth.h); the handler feeds it, in one pass with its own MD5 */
    void (*data)(struct s3_req *r, const char *p, size_t n, cks_state *hash);
    void (*run)(struct s3_req *r);   /* after the whole body */
} s3_op;

/* A secret the request holds (req_secret_alloc): wiped by req_free. */
typedef struct req_secret {
    void *p;
    size_t n;
    struct req_secret *next;
} req_secret;

typedef struct s3_req {
    pool *pool;
    server *srv;
    struct MHD_Connection *conn;
    const struct sockaddr *peer;     /* the client's address (http.c), or NULL */
    char id[17];                     /* RequestId */
    double t_start;                  /* monotonic seconds */

    /* request line and headers */
    const char *method;
    const char *version;             /* "HTTP/1.1" */
    char *raw_uri;                   /* exactly as received */
    char *raw_path, *raw_query;      /* raw_query NULL if no '?' */
    s3_hdr *hdrs;
    size_t nhdrs;
    s3_param *params;
    size_t nparams;

    /* routing */
    char *bucket, *key;              /* decoded; NULL when absent */
    bool vhost;                      /* bucket came from the Host header */
    s3_op_id s3op;                   /* the router's choice, S3OP_NONE if none */
    const s3_op *op;                 /* what runs: s3_op_of(s3op), or built in */
    bool admin;                      /* ADMIN_PREFIX/... */

    /* identity */
    char tenant[ST_MAX_TENANT + 1];
    st_key_policy perm;              /* the access key's policy; arrays in the pool */

    /* body */
    struct s3auth_state *auth;       /* payload verification state */
    bool has_length;                 /* Content-Length or chunked framing */
    int64_t content_length;          /* decoded body length, -1 unknown */
    uint64_t bytes_in, bytes_out;
    sbuf body;
    bool discard;                    /* stop processing body bytes */

    /* op state */
    void *op_state;                  /* the op's own struct, in the pool */
    st_put *put;
    st_get *get;
    st_object_info info;             /* object the response describes */
    bool info_set;
    xmlread_doc *xmldoc;             /* a parsed request body, freed at completion */

    /* secrets the request holds (req_secret_alloc), wiped by req_free */
    req_secret *secrets;             /* a list in the pool */

    /* response */
    bool resp_set;
    bool queued;                     /* handed to libmicrohttpd */
    bool close;                      /* answer at once, then close the connection */
    int status;
    s3_error error;                  /* meaningful when status >= 300 */
    bool is_error;
    s3_hdr *resp_hdrs;
    size_t nresp_hdrs, cap_resp_hdrs;
    sbuf resp;                       /* body, unless streaming an object */
    bool streamed;                   /* body comes from r->read */
    resp_reader read;
    uint64_t obj_offset, obj_length;
    char *head;                      /* first bytes of the body, read before */
    size_t head_len;                 /* the status is committed, in a */
    size_t head_cap;                 /* recycled buffer (common/bigbuf) */
} s3_req;

/* A new request for raw_uri (copied), with a fresh RequestId and its
 * start time; NULL when memory ran out. req_free releases what request.c
 * owns (see the top). */
s3_req *req_new(server *s, const char *raw_uri);
void req_free(s3_req *r);
/* Milliseconds since req_new. */
double req_elapsed_ms(const s3_req *r);
/* A fresh RequestId: 16 uppercase hex digits. */
void req_id_new(char out[17]);

/* Memory for a secret the request holds (a customer key, or the copy of
 * its header): n bytes from the request's pool, wiped by req_free. NULL
 * when memory ran out. */
void *req_secret_alloc(s3_req *r, size_t n);
/* True for a header (lowercase name) whose value is a secret: the SSE-C
 * customer keys. http.c copies such a value into req_secret_alloc memory
 * and wipes libmicrohttpd's copy at once. */
bool req_header_is_secret(const char *lname);

/* Request accessors. */
const char *req_header(const s3_req *r, const char *lname);
const char *req_param(const s3_req *r, const char *name);
bool req_has_param(const s3_req *r, const char *name);

/* Response builders. Setting a response twice keeps the first one. */
void resp_header(s3_req *r, const char *name, const char *value);
void resp_status(s3_req *r, int status);            /* body: r->resp, often empty */
void resp_xml(s3_req *r, int status);               /* body in r->resp */
void resp_error(s3_req *r, s3_error e, const char *message);
/* Replies that are not S3 XML (cofferd's own endpoints, builtin.h): a
 * text/plain body; a JSON body (takes json, malloc'd, and frees it; NULL
 * answers 500), never cached. */
void resp_text(s3_req *r, int status, const char *text);
void resp_json(s3_req *r, int status, char *json);
/* An engine failure: client errors mapped by s3err_from_cf, with the
 * engine's message for object lock, permission, bucket state and
 * not-empty refusals (it says why); anything else becomes InternalError
 * and is logged with the RequestId. */
void resp_cf(s3_req *r, const cf_err *err);
/* Stream [offset, offset+length) as the body, read through read. The
 * first `first` bytes are read at once, so a body that cannot be read gets
 * an S3 error (5xx with RequestId) instead of a 200 cut short; later
 * failures can only cut the connection (never wrong bytes). GetObject
 * passes the bytes up to the engine's next block boundary as `first`, so
 * that the reads after it stay block-aligned; first 0 reads nothing before
 * the status (HEAD: the length is announced, no body is read). Those bytes
 * are read into a recycled buffer (common/bigbuf) of cap >= first bytes:
 * pass the same cap every time (GetObject: the engine's block size), so
 * that a steady stream of GETs reuses mapped pages instead of faulting in
 * fresh ones per request. */
void resp_stream(s3_req *r, int status, uint64_t offset, uint64_t length, size_t first,
                 size_t cap, resp_reader read);
/* For http.c: when the bytes read at once are the whole body, hand them
 * over (*len bytes in a buffer of *cap, counted as sent), so that they are
 * sent from where they were decrypted, without a copy into
 * libmicrohttpd's reader buffer; NULL otherwise. The taker gives the
 * buffer back with resp_stream_free_whole(p, cap) once it is sent. */
void *resp_stream_take_whole(s3_req *r, size_t *len, size_t *cap);
void resp_stream_free_whole(void *p, size_t cap);
/* For http.c's content reader: up to max bytes of the streamed body from
 * pos (0 = its first byte). Returns the count, 0 at its end, or -1 when it
 * cannot be read (logged with the RequestId; the connection is cut). */
ssize_t resp_stream_read(s3_req *r, uint64_t pos, char *buf, size_t max);

/* RFC 1123 dates for Last-Modified and friends. */
void req_http_date(int64_t unix_s, char out[32]);
/* Parse an HTTP date (RFC 1123, RFC 850 or asctime); -1 if malformed. */
int req_parse_http_date(const char *s, int64_t *unix_s);

/* Log a line at error level tagged with the RequestId (never secrets). */
void req_log(const s3_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
