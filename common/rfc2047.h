/*
 * common/rfc2047.h - user metadata values that are not plain ASCII, as S3
 * treats them: "the provided Unicode string is examined for non US-ASCII
 * characters. Values of such headers are character decoded as per RFC
 * 2047 before storing and encoded as per RFC 2047 to make them mail-safe
 * before returning."
 *
 * rfc2047_decode turns a request header value into the UTF-8 text that is
 * stored. The raw bytes are taken as UTF-8 when they are valid UTF-8, else
 * as ISO-8859-1 (what HTTP header bytes were historically). Then every
 * encoded word (=?charset?B?base64?= or =?charset?Q?text?=, charset
 * UTF-8, US-ASCII or ISO-8859-1, an RFC 2231 language suffix ignored) is
 * replaced by its text, and white space between two adjacent encoded
 * words is dropped (RFC 2047 section 6.2). A word that is malformed, in
 * another charset, or decodes to a control character or to bytes that are
 * not UTF-8 stays as it was (section 6.3: shown as written).
 *
 * rfc2047_encode writes a stored value for a response header: printable
 * ASCII (with space and tab) as it is, anything else as base64 encoded
 * words in UTF-8 of at most 75 characters each (RFC 2047 section 2),
 * separated by a space, never splitting a character.
 *
 * Bounds: decoding writes at most 2 * len bytes plus a NUL; encoding at
 * most RFC2047_ENCODED_MAX(len). Both return the length written, or -1
 * when out is too small. Pure functions: thread-safe, no allocation.
 */
#ifndef CF_RFC2047_H
#define CF_RFC2047_H

#include <stdbool.h>
#include <stddef.h>

/* Words of 45 bytes: "=?UTF-8?B?" + 60 base64 characters + "?=" + a space. */
#define RFC2047_ENCODED_MAX(len) (((len) / 42 + 1) * 73 + 1)

long rfc2047_decode(const char *in, size_t len, char *out, size_t outsz);
/* Does a stored value need encoding for a response header? */
bool rfc2047_needs_encoding(const char *value);
long rfc2047_encode(const char *value, char *out, size_t outsz);

#endif
