/*
 * auth/chunked.h - a streaming decoder for aws-chunked request bodies.
 *
 * S3 clients that sign as STREAMING-* send the body framed as
 *     <hex size>[;chunk-signature=<64 hex>]\r\n <size bytes> \r\n
 * repeated, ending with a chunk of size 0, then (trailer modes) lines
 *     x-amz-checksum-crc32:<base64>\r\n
 *     x-amz-trailer-signature:<64 hex>\r\n      (signed-trailer mode only)
 * and an empty line "\r\n". Modes without a trailer end "0...\r\n\r\n".
 *
 * The decoder is a push parser: feed it the body in slices of any size as
 * they arrive; it hands the decoded payload to a sink callback. Its memory
 * is fixed (a small line buffer and a SHA-256 context): chunk data is
 * streamed through, never buffered. In the signed modes every chunk's data
 * is hashed on the way through (by the sink: see chunked_sink) and the
 * chunk signature checked when the chunk ends, chaining from the
 * request's seed signature; the trailer signature is checked in the
 * signed-trailer mode. Note that the sink sees
 * a chunk's bytes before its signature is checked: a caller must not
 * commit anything until chunked_finish succeeds.
 *
 * Errors (auth_err codes): SignatureDoesNotMatch for a chunk or trailer
 * signature; IncompleteBody for a truncated body or a total that differs
 * from x-amz-decoded-content-length; InvalidArgument for malformed framing
 * (bad hex, oversize chunk, long line, missing CRLF, bad trailer, bytes
 * after the end). After an error the decoder refuses further input.
 *
 * Use (server):
 *     chunked_decoder *d = chunked_new(&auth, sink, ctx, &err);
 *     for each body slice: if (chunked_feed(d, buf, n, &err) < 0) -> error
 *     at end of body:      if (chunked_finish(d, &err) < 0) -> error
 *     name = chunked_trailer_name(d), value = chunked_trailer_value(d)
 *         -> compare with the checksum the server computed itself
 *     chunked_free(d);
 */
#ifndef AUTH_CHUNKED_H
#define AUTH_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "common/checksum.h"
#include "auth/sigv4.h"

#define CHUNKED_LINE_MAX 256                     /* chunk header or trailer line */
#define CHUNKED_MAX_CHUNK ((uint64_t)5 << 30)    /* 5 GiB, the largest single PUT */

/* Receives decoded payload bytes; return 0, or -1 (after filling err) to
 * stop decoding with that error. hash is NULL in the unsigned modes; in the
 * signed ones it is the chunk's SHA-256 and the sink must put exactly these
 * bytes into it (cks_update, or cks_update2 with a digest of its own: one
 * pass over the data for both), or the chunk signature will not match. */
typedef int (*chunked_sink)(void *ctx, const void *data, size_t len, cks_state *hash,
                            auth_err *err);

typedef struct chunked_decoder chunked_decoder;

/* A decoder for a request that sigv4_check accepted with a streaming
 * payload mode; auth is copied (signing key included). NULL on failure. */
chunked_decoder *chunked_new(const sigv4_auth *auth, chunked_sink sink,
                             void *sink_ctx, auth_err *err);

/* Decode the next len bytes of the body. */
int chunked_feed(chunked_decoder *d, const void *data, size_t len, auth_err *err);

/* The body ended: fail with IncompleteBody unless the stream was complete. */
int chunked_finish(chunked_decoder *d, auth_err *err);

/* The checksum trailer ("x-amz-checksum-crc32" and its value as sent), or
 * NULL if none was sent. Valid after chunked_finish, until chunked_free. */
const char *chunked_trailer_name(const chunked_decoder *d);
const char *chunked_trailer_value(const chunked_decoder *d);

/* Decoded payload bytes so far. */
uint64_t chunked_decoded_bytes(const chunked_decoder *d);

/* Wipe and free (NULL is fine). */
void chunked_free(chunked_decoder *d);

#endif
