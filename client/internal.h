/*
 * client/internal.h - what the files of libclient.a share: the client,
 * one operation in flight (xfer), the protocol hooks, the aws-chunked
 * encoder, the Shared Key signer and the XML readers. Nothing here is
 * for users of s3c.h or azb.h.
 *
 *   s3c.c    the client (the transport's state) and the S3 protocol:
 *            op -> HTTP request (paths, queries, headers), SigV4,
 *            answers -> results and errors
 *   azb.c    the Azure Blob protocol on the same transport (azb.h)
 *   azauth.c Azure Shared Key signatures, account keys, SAS tokens
 *   xfer.c   libcurl multi: attempts, callbacks, retries with backoff,
 *            resumed GETs, the bandwidth cap, the event loop
 *   body.c   memory bodies, first-pass digests, aws-chunked framing
 *   xml.c    error, listing, multipart and List Blobs answers (common/xmlread)
 */
#ifndef CLIENT_INTERNAL_H
#define CLIENT_INTERNAL_H

#include <curl/curl.h>

#include "auth/sigv4.h"
#include "client/azb.h"
#include "client/s3c.h"
#include "common/checksum.h"

#define S3C_MAX_HEADERS 24
#define S3C_PROTO_HEADERS 6              /* what a protocol's sign adds */
#define S3C_ERROR_BODY_MAX (64u << 10)

/* ---- aws-chunked (body.c) ---- */

typedef struct s3c_chunker {
    const s3c_body *src;
    cks_state *sha;                  /* the client's SHA-256 state */
    sigv4_auth state;                /* seed signature, key, scope */
    char prev[SIGV4_SIG_HEX_LEN + 1];
    uint8_t *buf;                    /* one framed chunk, kept across attempts */
    size_t len, pos;
    bool finished;                   /* the zero-size chunk was framed */
} s3c_chunker;

/* Bytes on the wire for an aws-chunked body of size bytes. */
uint64_t s3c_chunked_length(uint64_t size);
int s3c_chunker_start(s3c_chunker *k, const s3c_body *src, cks_state *sha,
                      const sigv4_auth *state, cf_err *err);
int s3c_chunker_read(s3c_chunker *k, uint8_t *out, size_t n, size_t *got, cf_err *err);
void s3c_chunker_free(s3c_chunker *k);

/* Read exactly n bytes of b (fewer only at its end: a short body). */
int s3c_body_read_full(const s3c_body *b, uint8_t *buf, size_t n, size_t *got, cf_err *err);
/* Read the body once (then rewind it): hex SHA-256 into sha_hex if sha,
 * base64 of the other digest into b64 if other. */
int s3c_body_digest(const s3c_body *b, cks_state *sha, char sha_hex[65],
                    cks_state *other, char *b64, size_t b64_cap, cf_err *err);

/* ---- XML answers (xml.c) ---- */

/* Code, Message of an <Error> document; false if body is not one. */
bool s3c_xml_error(const char *body, size_t len, char *code, size_t code_cap,
                   char *msg, size_t msg_cap);
int s3c_xml_upload_id(const char *body, size_t len, char *out, size_t cap, cf_err *err);
int s3c_xml_complete(const char *body, size_t len, s3c_result *res, cf_err *err);
int s3c_xml_listing(const char *body, size_t len, s3c_listing **out, cf_err *err);
int s3c_xml_uploads(const char *body, size_t len, s3c_listing **out, cf_err *err);
void s3c_listing_free(s3c_listing *l);
/* Decode s's %XX escapes in place (never to a NUL: "%00" stays), and
 * '+' to a space if plus_is_space; returns the new length. */
size_t s3c_unescape(char *s, bool plus_is_space);
/* List Blobs' <EnumerationResults>: names (percent-decoded when the
 * service marks them Encoded), properties, NextMarker. */
int s3c_xml_blob_list(const char *body, size_t len, azb_listing **out, cf_err *err);

/* ---- Azure Shared Key (azauth.c) ---- */

#define AZAUTH_KEY_MAX 64                /* an account key decodes to 64 bytes */

/* The Blob service's Shared Key string-to-sign (versions 2015-02-21 and
 * later: a zero Content-Length is the empty string): the verb, the
 * standard headers' values, the x-ms- headers (h: lowercase names, each
 * once), "/account" + path (as sent, percent-encoded) and the query's
 * parameters decoded, names lowercased, sorted, repeated names' values
 * sorted and joined by commas. malloc'd into *out. */
int azauth_string_to_sign(const char *account, const char *method, const char *path,
                          const char *query, const auth_pair *h, size_t nh,
                          uint64_t content_length, char **out, cf_err *err);
/* "SharedKey account:base64(HMAC-SHA256(key, string-to-sign))" into authz. */
int azauth_sign(const uint8_t *key, size_t key_len, const char *account,
                const char *method, const char *path, const char *query,
                const auth_pair *h, size_t nh, uint64_t content_length, char *authz,
                size_t cap, cf_err *err);
/* A base64 account key into key (at most AZAUTH_KEY_MAX bytes). The
 * message never quotes the key. */
int azauth_key_decode(const char *b64, uint8_t key[AZAUTH_KEY_MAX], size_t *len,
                      cf_err *err);
/* A SAS token ("sv=...&sig=...", a leading '?' dropped) checked for the
 * characters a query may hold and for a sig parameter; malloc'd copy. */
char *azauth_sas_copy(const char *token, cf_err *err);

/* ---- the client and its transfers ---- */

typedef struct xfer xfer;

/*
 * What differs between the protocols that share the transport (S3 in
 * s3c.c, Azure Blob in azb.c); attempts, retries, resumed GETs, the cap
 * and the event loop are xfer.c's for both.
 *  sign    adds the attempt's dated and authentication headers to h (at
 *          most S3C_PROTO_HEADERS; values may live in x->stamp) and writes
 *          the Authorization value into authz ("" for none: a SAS token
 *          is in the URL)
 *  header  sees every header line of an answer, status lines included
 *          (a new answer: forget the last one's), after xfer.c took the
 *          generic ones (status, ETag, Last-Modified, lengths, ranges)
 *  check   decides what the final answer means: 0, or -1 with err
 *  range_header  the header a ranged or resumed GET sends its range in
 */
typedef struct s3c_proto {
    int (*sign)(xfer *x, auth_pair *h, size_t *nh, char *authz, size_t cap, cf_err *err);
    void (*header)(xfer *x, const char *line, size_t n);
    int (*check)(xfer *x, cf_err *err);
    const char *range_header;
} s3c_proto;

struct s3c_client {
    char scheme[8];                  /* "http" / "https" */
    char authority[300];             /* host[:port] */
    char endpoint[320];              /* scheme://authority, for messages */
    char access_key[256];
    char secret[256];
    char region[64];
    sigv4_credentials cred;
    bool virtual_host;
    char *cacert;
    char *cacert_pem;
    long connect_timeout_ms, timeout_ms, low_speed_bytes, low_speed_ms;
    int max_attempts;
    long backoff_base_ms, backoff_max_ms;
    size_t max_response;
    /* bandwidth cap: a token bucket */
    double rate, burst, tokens, refilled_at;
    bool any_paused;
    bool sink_paused;                /* a sink asked to pause: s3c_run returns */
    CURLM *multi;
    xfer *running;                   /* attempts inside curl */
    xfer *waiting;                   /* backing off before a retry */
    size_t nactive;
    uint64_t finished;               /* operations ended, ever */
    CURL **idle;                     /* easy handles to reuse */
    size_t nidle, idle_cap;
    cks_state *sha;                  /* SHA-256 for signed and chunked payloads */
    uint64_t rng;
};

struct xfer {
    s3c_client *c;
    xfer *prev, *next;               /* in the list *in (c->running or c->waiting) */
    xfer **in;
    const s3c_proto *proto;
    void *proto_ctx;                 /* the protocol's own state (azb: the call) */
    s3c_op op;                       /* shallow copy; see s3c_op's lifetime rule
                                        (azb: kind S3C_REQUEST, range, sink) */
    s3c_done_fn done;
    void *ctx;
    /* the request, fixed when it starts */
    const char *method;
    char *path, *query, *url;        /* url is what messages show: no secret */
    char *wire_url;                  /* what curl fetches if not url (+ SAS) */
    bool getting;                    /* a GET of blob/object bytes: ranged,
                                        checked where it starts, resumed */
    char host[320];
    auth_pair hdr[S3C_MAX_HEADERS];  /* op headers; values in text */
    size_t nhdr;
    char text[2048];                 /* header values */
    size_t text_len;
    char *post;                      /* generated body (CompleteMultipartUpload) */
    s3c_mem post_mem;
    s3c_body post_body;
    const s3c_body *body;            /* NULL: no body */
    char payload_hash[80];
    bool streaming, idempotent;
    char sent_cks[CKS_MAX_B64];      /* checksum header value sent */
    /* one attempt */
    int attempt;
    char stamp[64];                  /* the attempt's date header value */
    double retry_at;
    CURL *easy;
    struct curl_slist *slist;
    char errbuf[CURL_ERROR_SIZE];
    s3c_chunker chunk;
    bool body_touched;
    bool paused_send, paused_recv;
    bool paused_sink;                /* the sink said S3C_SINK_PAUSE */
    bool failed;                     /* a callback failed: err is set */
    cf_err err;
    /* the answer */
    char *buf;                       /* a 2xx body kept in memory (no sink) */
    size_t len, cap;
    char *ebuf;                      /* an error answer's body, capped */
    size_t elen, ecap;
    bool checked_start;              /* a resumed answer starts where wanted */
    int64_t answer_from;             /* Content-Range start; -1 if none */
    int64_t part_len;                /* a part GET: the part's length (its
                                        first answer's range); -1 unknown */
    uint64_t delivered;              /* body bytes taken, all attempts */
    uint64_t first_byte;             /* object offset of the first byte wanted */
    char resume_etag[S3C_ETAG_MAX];
    cks_state *verify;               /* GET verify: digest of this answer's body
                                        (reset as each attempt starts) */
    s3c_result res;
};

/* xfer.c */
/* A new operation of protocol p on c (res sizes unknown), with extra
 * zeroed bytes for the protocol at x->proto_ctx (freed with x); NULL on
 * ENOMEM. */
xfer *s3c_xfer_new(s3c_client *c, const s3c_proto *p, s3c_done_fn done, void *ctx,
                   size_t extra, cf_err *err);
/* Launch a built xfer's first attempt and count it active; on failure
 * it is destroyed. */
int s3c_xfer_begin(xfer *x, cf_err *err);
int s3c_xfer_launch(xfer *x, cf_err *err);  /* sign and hand to curl */
void s3c_xfer_destroy(xfer *x);             /* wherever it is: out of curl, freed */
/* How an operation run to its end (s3c_exec, azb_exec) ended: its done
 * callback calls s3c_waiter_end. */
typedef struct s3c_waiter {
    bool finished;
    int rc;
    cf_err err;
} s3c_waiter;
void s3c_waiter_end(s3c_waiter *w, int rc, const cf_err *err);
/* Drive c until x (NULL: it did not start, -1) has ended; its rc, err
 * filled on -1. On a libcurl failure x is taken down (its callback never
 * runs) and -1 returned. */
int s3c_xfer_wait(s3c_client *c, xfer *x, s3c_waiter *w, cf_err *err);
/* Keep a header for the request; the value is copied into x->text. */
int s3c_xfer_header(xfer *x, const char *name, const char *value, cf_err *err);
/* The value of an answer's header line "Name: value\r\n" if its name is
 * name (any case), trimmed and cut to cap. */
bool s3c_header_value(const char *line, size_t n, const char *name, char *out, size_t cap);
/* Append "&name=encoded(value)" (just "&name" if value is NULL) to *q. */
int s3c_query_param(char **q, const char *name, const char *value, cf_err *err);
/* "scheme://host" + path [+ "?" query] into a new string; NULL on ENOMEM. */
char *s3c_url(const s3c_client *c, const char *host, const char *path, const char *query);
/* Fail with the remote's error as res holds it (code, message), naming
 * the request: "Code: Message (HTTP 404 from GET url)". */
int s3c_fail_remote(xfer *x, cf_code code, cf_err *err);
/* A code for a body-less error answer (HEAD, or a remote that sends none). */
const char *s3c_status_code(long status);
/* s3c.c: the attempt ended for good; sets res and runs the done callback */
void s3c_xfer_finish(xfer *x, int rc, const cf_err *err);

/* s3c.c: a client without S3 credentials, for another protocol (azb.c);
 * cfg's endpoint is scheme://host[:port] and its keys are ignored. */
s3c_client *s3c_transport_new(const s3c_config *cfg, cf_err *err);

#endif
