/*
 * server/range.h - byte ranges a client asks for: the Range header of
 * GetObject/HeadObject and x-amz-copy-source-range of UploadPartCopy, both
 * parsed here with the one number parser (common/numparse.h), so that no
 * sign, space, overflow or 2^64 wrap-around can name bytes that are not
 * there.
 *
 * Range (RFC 9110 as S3 applies it): "bytes=first-last", "bytes=first-"
 * or "bytes=-suffix", a single range. A value that is malformed or lists
 * several ranges is ignored (the whole object is served, as S3 does); a
 * first byte at or past the end, or a zero suffix, is unsatisfiable (416
 * InvalidRange); a last byte past the end is cut to the end.
 *
 * x-amz-copy-source-range: exactly "bytes=first-last" with first <= last;
 * anything else is malformed (InvalidArgument), a last byte at or past the
 * end of the source is unsatisfiable (InvalidRange).
 */
#ifndef SRV_RANGE_H
#define SRV_RANGE_H

#include <stdint.h>

typedef enum range_kind { RANGE_GET, RANGE_COPY_SOURCE } range_kind;

typedef enum range_result {
    RANGE_WHOLE,                     /* no (usable) range: the whole object */
    RANGE_PART,                      /* [*off, *off + *len) */
    RANGE_UNSATISFIABLE,
    RANGE_MALFORMED,                 /* RANGE_COPY_SOURCE only */
} range_result;

/* h may be NULL (no header). *off and *len are set for every result:
 * the whole object unless RANGE_PART. */
range_result range_parse(const char *h, range_kind kind, uint64_t size, uint64_t *off,
                         uint64_t *len);

#endif
