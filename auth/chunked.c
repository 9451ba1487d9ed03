/*
 * auth/chunked.c - the aws-chunked push decoder (contract in chunked.h).
 *
 * A small state machine. Framing lines (chunk headers, trailers, the final
 * empty line) are collected byte by byte into a fixed buffer, so a line may
 * arrive split across any number of feeds; chunk data is passed straight
 * from the caller's slice to the sink, together with the running SHA-256
 * state: the sink hashes the bytes (cks_update2, in one pass with its own
 * MD5 where it has one), so the body is read once by both digests while
 * the slice is in cache. When a chunk's closing CRLF arrives its signature is checked against the one in
 * its header, and becomes the "previous signature" for the next chunk.
 */
#include "auth/chunked.h"
#include "auth/internal.h"
#include "common/checksum.h"
#include "common/numparse.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

typedef enum state {
    ST_CHUNK_HEADER,    /* collecting "<hex>[;chunk-signature=..]\r\n" */
    ST_DATA,            /* streaming chunk bytes */
    ST_DATA_CR,         /* expecting the '\r' after chunk data */
    ST_DATA_LF,         /* expecting the '\n' after chunk data */
    ST_TRAILER,         /* collecting trailer lines until an empty one */
    ST_FINAL_LINE,      /* collecting the empty line after the last chunk */
    ST_DONE,
    ST_FAILED,
} state;

struct chunked_decoder {
    sigv4_auth auth;
    bool signed_chunks, has_trailer, signed_trailer;
    chunked_sink sink;
    void *sink_ctx;
    cks_state *sha;                 /* the current chunk's data */
    EVP_MAC_CTX *mac;
    state st;
    char line[CHUNKED_LINE_MAX + 1];
    size_t line_len;
    uint64_t remaining;             /* bytes left in the current chunk */
    uint64_t total;                 /* decoded bytes so far */
    char prev_sig[SIGV4_SIG_HEX_LEN + 1];
    char chunk_sig[SIGV4_SIG_HEX_LEN + 1];
    char trailer_name[64];
    char trailer_value[128];
    char trailer_sig[SIGV4_SIG_HEX_LEN + 1];
};

static int fail(chunked_decoder *d, auth_err *err, auth_code code, const char *msg)
{
    d->st = ST_FAILED;
    return auth_fail(err, code, "%s", msg);
}

static int malformed(chunked_decoder *d, auth_err *err, const char *msg)
{
    return fail(d, err, AUTH_INVALID_ARGUMENT, msg);
}

chunked_decoder *chunked_new(const sigv4_auth *auth, chunked_sink sink,
                             void *sink_ctx, auth_err *err)
{
    if (!sigv4_payload_is_streaming(auth->payload)) {
        auth_fail(err, AUTH_INVALID_REQUEST, "the payload is not aws-chunked");
        return NULL;
    }
    chunked_decoder *d = calloc(1, sizeof *d);
    if (!d) {
        auth_fail(err, AUTH_INTERNAL, "out of memory");
        return NULL;
    }
    d->auth = *auth;
    d->signed_chunks = auth->payload != SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
    d->has_trailer = auth->payload != SIGV4_PAYLOAD_STREAMING;
    d->signed_trailer = auth->payload == SIGV4_PAYLOAD_STREAMING_TRAILER;
    d->sink = sink;
    d->sink_ctx = sink_ctx;
    memcpy(d->prev_sig, auth->signature, sizeof d->prev_sig);
    if (d->signed_chunks) {
        cf_err cerr;
        d->sha = cks_new(CKS_SHA256, &cerr);
        d->mac = auth_hmac_new("SHA256", auth->signing_key, sizeof auth->signing_key);
        if (!d->sha || !d->mac) {
            chunked_free(d);
            auth_fail(err, AUTH_INTERNAL, "could not set up chunk hashing");
            return NULL;
        }
    }
    return d;
}

void chunked_free(chunked_decoder *d)
{
    if (!d) return;
    cks_free(d->sha);
    EVP_MAC_CTX_free(d->mac);
    OPENSSL_cleanse(d, sizeof *d);
    free(d);
}

const char *chunked_trailer_name(const chunked_decoder *d)
{
    return d->trailer_name[0] ? d->trailer_name : NULL;
}

const char *chunked_trailer_value(const chunked_decoder *d)
{
    return d->trailer_name[0] ? d->trailer_value : NULL;
}

uint64_t chunked_decoded_bytes(const chunked_decoder *d)
{
    return d->total;
}

/* HMAC the string to sign with the cached key and compare with expected. */
static bool signature_matches(chunked_decoder *d, const char *kind,
                              const char *tail, const char *expected)
{
    char sts[AUTH_CHUNK_STS_MAX];
    unsigned char mac[SIGV4_KEY_LEN];
    char hex[SIGV4_SIG_HEX_LEN + 1];
    int len = auth_chunk_string_to_sign(&d->auth, kind, d->prev_sig, tail, sts, sizeof sts);
    if (len < 0 || auth_hmac_run(d->mac, sts, (size_t)len, mac, sizeof mac) < 0)
        return false;
    auth_hex(mac, sizeof mac, hex);
    return auth_signature_equal(expected, hex);
}

/* The chunk's data has all passed through the hash: check its signature. */
static int verify_chunk(chunked_decoder *d, auth_err *err)
{
    if (!d->signed_chunks) return 0;
    unsigned char digest[AUTH_SHA256_LEN];
    char tail[sizeof SIGV4_EMPTY_SHA256 + 2 * AUTH_SHA256_LEN + 1];
    cks_final(d->sha, digest);
    memcpy(tail, SIGV4_EMPTY_SHA256 "\n", sizeof SIGV4_EMPTY_SHA256);
    auth_hex(digest, sizeof digest, tail + sizeof SIGV4_EMPTY_SHA256);
    if (!signature_matches(d, "AWS4-HMAC-SHA256-PAYLOAD", tail, d->chunk_sig))
        return fail(d, err, AUTH_SIGNATURE_DOES_NOT_MATCH,
                    "The chunk signature we calculated does not match the one you provided.");
    memcpy(d->prev_sig, d->chunk_sig, sizeof d->prev_sig);
    return 0;
}

static int parse_size(chunked_decoder *d, const char *s, size_t n, auth_err *err)
{
    uint64_t size;
    cf_err cerr;
    if (numparse_hex(s, n, CHUNKED_MAX_CHUNK, NUMPARSE_LEADING_ZEROS, &size, &cerr) < 0)
        return malformed(d, err, cerr.code == CF_ETOOLARGE
                                     ? "aws-chunked: chunk size too large"
                                     : "aws-chunked: bad chunk size");
    d->remaining = size;
    return 0;
}

/* "<hex>" or "<hex>;chunk-signature=<64 hex>", depending on the mode. */
static int parse_chunk_header(chunked_decoder *d, auth_err *err)
{
    static const char ext[] = ";chunk-signature=";
    char *semi = memchr(d->line, ';', d->line_len);
    size_t hex_len = semi ? (size_t)(semi - d->line) : d->line_len;
    if (parse_size(d, d->line, hex_len, err) < 0) return -1;
    if (d->signed_chunks) {
        if (!semi || strncmp(semi, ext, sizeof ext - 1) != 0 ||
            !auth_is_lower_hex(semi + sizeof ext - 1, SIGV4_SIG_HEX_LEN))
            return malformed(d, err, "aws-chunked: missing or bad chunk-signature");
        memcpy(d->chunk_sig, semi + sizeof ext - 1, sizeof d->chunk_sig);
        cks_reset(d->sha);
    } else if (semi) {
        return malformed(d, err, "aws-chunked: unexpected chunk extension");
    }
    if (d->auth.decoded_length >= 0 &&
        d->remaining > (uint64_t)d->auth.decoded_length - d->total)
        return malformed(d, err, "aws-chunked: more data than x-amz-decoded-content-length");
    if (d->remaining > 0) {
        d->st = ST_DATA;
        return 0;
    }
    if (verify_chunk(d, err) < 0) return -1;
    d->st = d->has_trailer ? ST_TRAILER : ST_FINAL_LINE;
    return 0;
}

static int check_trailer_signature(chunked_decoder *d, auth_err *err)
{
    if (!d->trailer_sig[0])
        return malformed(d, err, "aws-chunked: missing x-amz-trailer-signature");
    char canonical[sizeof d->trailer_name + sizeof d->trailer_value + 2] = "";
    if (d->trailer_name[0])
        snprintf(canonical, sizeof canonical, "%s:%s\n", d->trailer_name, d->trailer_value);
    unsigned char digest[AUTH_SHA256_LEN];
    char tail[2 * AUTH_SHA256_LEN + 1];
    if (auth_sha256(canonical, strlen(canonical), digest) < 0)
        return fail(d, err, AUTH_INTERNAL, "trailer hashing failed");
    auth_hex(digest, sizeof digest, tail);
    if (!signature_matches(d, "AWS4-HMAC-SHA256-TRAILER", tail, d->trailer_sig))
        return fail(d, err, AUTH_SIGNATURE_DOES_NOT_MATCH,
                    "The trailer signature we calculated does not match the one you provided.");
    return 0;
}

/* Copy a trailer value into a fixed field, once. */
static int store_trailer(chunked_decoder *d, char *dst, size_t cap,
                         const char *v, auth_err *err)
{
    if (dst[0]) return malformed(d, err, "aws-chunked: repeated trailer");
    size_t n = strlen(v);
    if (n == 0 || n >= cap) return malformed(d, err, "aws-chunked: bad trailer value");
    memcpy(dst, v, n + 1);
    return 0;
}

/* "name:value"; the empty line ends the trailers. */
static int parse_trailer_line(chunked_decoder *d, auth_err *err)
{
    if (d->line_len == 0) {
        if (d->signed_trailer && check_trailer_signature(d, err) < 0) return -1;
        d->st = ST_DONE;
        return 0;
    }
    char *colon = strchr(d->line, ':');
    if (!colon) return malformed(d, err, "aws-chunked: trailer line without ':'");
    *colon = 0;
    const char *value = colon + 1;
    while (*value == ' ') value++;
    if (strcasecmp(d->line, "x-amz-trailer-signature") == 0) {
        if (!d->signed_trailer || !auth_is_lower_hex(value, SIGV4_SIG_HEX_LEN))
            return malformed(d, err, "aws-chunked: unexpected or bad trailer signature");
        return store_trailer(d, d->trailer_sig, sizeof d->trailer_sig, value, err);
    }
    if (strncasecmp(d->line, "x-amz-checksum-", 15) != 0 || d->trailer_sig[0])
        return malformed(d, err, "aws-chunked: unexpected trailer");
    for (char *p = d->line; *p; p++) *p = (char)tolower((unsigned char)*p);
    if (store_trailer(d, d->trailer_name, sizeof d->trailer_name, d->line, err) < 0)
        return -1;
    return store_trailer(d, d->trailer_value, sizeof d->trailer_value, value, err);
}

static int line_complete(chunked_decoder *d, auth_err *err)
{
    switch (d->st) {
    case ST_CHUNK_HEADER: return parse_chunk_header(d, err);
    case ST_TRAILER: return parse_trailer_line(d, err);
    default:
        if (d->line_len) return malformed(d, err, "aws-chunked: data after the final chunk");
        d->st = ST_DONE;
        return 0;
    }
}

/* Add one byte to the current line; at "\r\n" hand the line over. */
static int line_byte(chunked_decoder *d, char c, auth_err *err)
{
    if (c != '\n') {
        if (d->line_len == CHUNKED_LINE_MAX)
            return malformed(d, err, "aws-chunked: line too long");
        d->line[d->line_len++] = c;
        return 0;
    }
    if (d->line_len == 0 || d->line[d->line_len - 1] != '\r')
        return malformed(d, err, "aws-chunked: line not terminated by CRLF");
    d->line[--d->line_len] = 0;
    for (size_t i = 0; i < d->line_len; i++)
        if (d->line[i] == 0 || d->line[i] == '\r')
            return malformed(d, err, "aws-chunked: control byte in a line");
    int rc = line_complete(d, err);
    d->line_len = 0;
    return rc;
}

/* Pass up to len bytes of chunk data on; returns how many were used. */
static size_t stream_data(chunked_decoder *d, const unsigned char *p, size_t len,
                          auth_err *err)
{
    size_t n = len < d->remaining ? len : (size_t)d->remaining;
    if (d->sink(d->sink_ctx, p, n, d->sha, err) < 0) {
        d->st = ST_FAILED;
        return 0;
    }
    d->remaining -= n;
    d->total += n;
    if (d->remaining == 0) d->st = ST_DATA_CR;
    return n;
}

static int expect_byte(chunked_decoder *d, unsigned char got, char want, auth_err *err)
{
    if (got != (unsigned char)want)
        return malformed(d, err, "aws-chunked: chunk data not followed by CRLF");
    if (want == '\r') {
        d->st = ST_DATA_LF;
        return 0;
    }
    d->st = ST_CHUNK_HEADER;
    return verify_chunk(d, err);
}

int chunked_feed(chunked_decoder *d, const void *data, size_t len, auth_err *err)
{
    const unsigned char *p = data;
    while (len > 0) {
        size_t used = 1;
        int rc = 0;
        switch (d->st) {
        case ST_DATA:
            used = stream_data(d, p, len, err);
            rc = d->st == ST_FAILED ? -1 : 0;
            break;
        case ST_DATA_CR: rc = expect_byte(d, *p, '\r', err); break;
        case ST_DATA_LF: rc = expect_byte(d, *p, '\n', err); break;
        case ST_DONE:
            return malformed(d, err, "aws-chunked: data after the end of the body");
        case ST_FAILED:
            return auth_fail(err, AUTH_INVALID_ARGUMENT, "aws-chunked: decoder already failed");
        default: rc = line_byte(d, (char)*p, err); break;
        }
        if (rc < 0) return -1;
        p += used;
        len -= used;
    }
    return 0;
}

int chunked_finish(chunked_decoder *d, auth_err *err)
{
    if (d->st == ST_FAILED)
        return auth_fail(err, AUTH_INVALID_ARGUMENT, "aws-chunked: decoder already failed");
    if (d->st != ST_DONE)
        return fail(d, err, AUTH_INCOMPLETE_BODY,
                    "You did not provide the number of bytes specified by the "
                    "Content-Length HTTP header");
    if (d->auth.decoded_length >= 0 && d->total != (uint64_t)d->auth.decoded_length)
        return fail(d, err, AUTH_INCOMPLETE_BODY,
                    "the decoded body does not match x-amz-decoded-content-length");
    return 0;
}
