/*
 * common/numparse.h - the one parser for every length, size and count a
 * client sends: Content-Length, x-amz-decoded-content-length, aws-chunked
 * chunk sizes, Range and x-amz-copy-source-range bounds, partNumber,
 * max-keys and the other listing counts, X-Amz-Expires and SigV2's Expires,
 * the PartNumber of a CompleteMultipartUpload body.
 *
 * Contract: the text is exactly one or more ASCII digits (hex digits for
 * numparse_hex), nothing else: no sign, no space or tab anywhere, no "0x",
 * no comma, no empty string. A value that does not fit in 64 bits, or is
 * above the caller's max, is refused without wrapping: it is never read as
 * a smaller or negative number. Leading zeros ("007") are refused unless
 * the caller passes NUMPARSE_LEADING_ZEROS ("0" alone is always a number):
 * framing lengths refuse them, so that no proxy in front can read the same
 * header differently; query counts and chunk sizes accept them, as S3 does.
 *
 * Errors: -1 with err->code CF_EINVAL (not a number) or CF_ETOOLARGE (a
 * number above max), so a caller can answer InvalidArgument or
 * EntityTooLarge. Thread-safe, no allocation.
 */
#ifndef CF_NUMPARSE_H
#define CF_NUMPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define NUMPARSE_LEADING_ZEROS 1u   /* accept "007" as 7 */

/* Decimal s[0..n) into *out (untouched on failure). */
int numparse_u64(const char *s, size_t n, uint64_t max, unsigned flags,
                 uint64_t *out, cf_err *err);
/* Hexadecimal (either case) s[0..n) into *out. */
int numparse_hex(const char *s, size_t n, uint64_t max, unsigned flags,
                 uint64_t *out, cf_err *err);
/* numparse_u64 of a NUL-terminated string. */
int numparse_str(const char *s, uint64_t max, unsigned flags, uint64_t *out,
                 cf_err *err);

#endif
