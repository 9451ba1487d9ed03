/*
 * server/request.h - one S3 request from first header to access-log line.
 *
 * Lifetime and ownership: http.c creates an s3_req when a request line
 * arrives and destroys it when libmicrohttpd reports the request complete.
 * Everything small hangs off r->pool; the few resources that are not pool
 * memory (an engine stream, a parsed XML document, the body and response
 * buffers) are fields here and are released by http.c's completion hook,
 * whatever state the request ended in. Handlers therefore never free on
 * error paths: they set the response and return.
 *
 * Phases:
 *   1. headers: route (router.c) -> authenticate (s3auth.c) -> op->begin
 *   2. body:    bytes -> aws-chunked decoder -> payload hash -> op->data
 *               (streamed ops) or r->body (small XML bodies, bounded)
 *   3. end:     trailer and payload checks -> op->run -> response
 * Once a response is set (r->resp_set), later phases are skipped and any
 * remaining body is discarded.
 */
#ifndef SRV_REQUEST_H
#define SRV_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "common/xmlread.h"
#include "server/pool.h"
#include "server/s3err.h"
#include "server/sbuf.h"
#include "server/server.h"
#include "storage/engine.h"

struct MHD_Connection;
struct s3_req;
struct s3auth_state;

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

typedef struct s3_op {
    const char *name;                /* for the access log: "PutObject" */
    s3_body_mode body;
    bool write;                      /* refused for read-only keys */
    void (*begin)(struct s3_req *r); /* BODY_STREAM only; may be NULL */
    void (*data)(struct s3_req *r, const char *p, size_t n);
    void (*run)(struct s3_req *r);   /* after the whole body */
} s3_op;

typedef struct s3_req {
    pool *pool;
    server *srv;
    struct MHD_Connection *conn;
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
    const s3_op *op;
    bool admin;                      /* /admin/v1/... */

    /* identity */
    char tenant[ST_MAX_TENANT + 1];
    bool read_only;

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
    bool resp_object;                /* body comes from r->get */
    uint64_t obj_offset, obj_length;
    char *head;                      /* first bytes of the body, read before */
    size_t head_len;                 /* the status is committed (malloc'd) */
} s3_req;

/* Request accessors. */
const char *req_header(const s3_req *r, const char *lname);
const char *req_param(const s3_req *r, const char *name);
bool req_has_param(const s3_req *r, const char *name);

/* Response builders. Setting a response twice keeps the first one. */
void resp_header(s3_req *r, const char *name, const char *value);
void resp_status(s3_req *r, int status);            /* body: r->resp, often empty */
void resp_xml(s3_req *r, int status);               /* body in r->resp */
void resp_error(s3_req *r, s3_error e, const char *message);
/* An engine failure: client errors mapped by s3err_from_cf; anything
 * else becomes InternalError and is logged with the RequestId. */
void resp_cf(s3_req *r, const cf_err *err);
/* Stream [offset, offset+length) of r->get as the body. The first piece (up
 * to the engine's next block boundary) is read at once, so an object that
 * cannot be read gets an S3 error (5xx with RequestId) instead of a 200 cut
 * short; later failures can only cut the connection (never wrong bytes). */
void resp_object(s3_req *r, int status, uint64_t offset, uint64_t length);

/* Log a line at error level tagged with the RequestId (never secrets). */
void req_log(const s3_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
