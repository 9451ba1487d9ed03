/*
 * common/utf8.h - strict UTF-8: what S3 keys, XML text and any other client
 * text must be. Refused: bytes that start no sequence, truncated and
 * overlong sequences, surrogates (U+D800..U+DFFF) and anything above
 * U+10FFFF. Pure functions, no allocation.
 */
#ifndef CF_UTF8_H
#define CF_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode the code point at s[0..n) (n > 0): returns its length in bytes
 * (1..4) and sets *cp, or 0 if s does not start with a valid sequence. */
size_t utf8_next(const char *s, size_t n, uint32_t *cp);

/* Is s[0..n) entirely valid UTF-8? */
bool utf8_valid(const char *s, size_t n);

#endif
