/*
 * client/internal.h - what the files of libclient.a share: the client,
 * one operation in flight (xfer), the aws-chunked encoder and the XML
 * readers. Nothing here is for users of s3c.h.
 *
 *   s3c.c    the client, op -> HTTP request (paths, queries, headers),
 *            answers -> results and errors
 *   xfer.c   libcurl multi: attempts, signing, callbacks, retries with
 *            backoff, the bandwidth cap, the event loop
 *   body.c   memory bodies, first-pass digests, aws-chunked framing
 *   xml.c    error, listing and multipart answers (libxml2, hostile-input rules)
 */
#ifndef CLIENT_INTERNAL_H
#define CLIENT_INTERNAL_H

#include <curl/curl.h>

#include "auth/sigv4.h"
#include "client/s3c.h"
#include "common/checksum.h"

#define S3C_MAX_HEADERS 24
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
void s3c_listing_free(s3c_listing *l);

/* ---- the client and its transfers ---- */

typedef struct xfer xfer;

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
    long connect_timeout_ms, timeout_ms, low_speed_bytes, low_speed_ms;
    int max_attempts;
    long backoff_base_ms, backoff_max_ms;
    size_t max_response;
    /* bandwidth cap: a token bucket */
    double rate, burst, tokens, refilled_at;
    bool any_paused;
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
    s3c_op op;                       /* shallow copy; see s3c_op's lifetime rule */
    s3c_done_fn done;
    void *ctx;
    /* the request, fixed when it starts */
    const char *method;
    char *path, *query, *url;
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
    double retry_at;
    CURL *easy;
    struct curl_slist *slist;
    char errbuf[CURL_ERROR_SIZE];
    s3c_chunker chunk;
    bool body_touched;
    bool paused_send, paused_recv;
    bool failed;                     /* a callback failed: err is set */
    cf_err err;
    /* the answer */
    char *buf;                       /* a 2xx body kept in memory (no sink) */
    size_t len, cap;
    char *ebuf;                      /* an error answer's body, capped */
    size_t elen, ecap;
    bool checked_start;              /* a resumed answer starts where wanted */
    int64_t answer_from;             /* Content-Range start; -1 if none */
    uint64_t delivered;              /* body bytes taken, all attempts */
    uint64_t first_byte;             /* object offset of the first byte wanted */
    char resume_etag[S3C_ETAG_MAX];
    cks_state *verify;               /* GET verify: CRC32C of what arrived */
    s3c_result res;
};

/* xfer.c */
int s3c_xfer_launch(xfer *x, cf_err *err);  /* sign and hand to curl */
void s3c_xfer_destroy(xfer *x);             /* wherever it is: out of curl, freed */
/* s3c.c: the attempt ended for good; sets res and runs the done callback */
void s3c_xfer_finish(xfer *x, int rc, const cf_err *err);
/* s3c.c: map a final HTTP answer to 0 or -1 with err */
int s3c_answer_check(xfer *x, cf_err *err);

double s3c_now(void);

#endif
