/*
 * server/range.c - Range and x-amz-copy-source-range (contract in
 * range.h). Both split "bytes=A-B" the same way; they differ only in what
 * an empty A or B means and whether a bad value is ignored or refused.
 */
#include "server/range.h"

#include <stdbool.h>
#include <string.h>

#include "common/numparse.h"

static bool number(const char *s, size_t n, uint64_t *v)
{
    cf_err err;
    return numparse_u64(s, n, UINT64_MAX, NUMPARSE_LEADING_ZEROS, v, &err) == 0;
}

range_result range_parse(const char *h, range_kind kind, uint64_t size, uint64_t *off,
                         uint64_t *len)
{
    const range_result bad = kind == RANGE_GET ? RANGE_WHOLE : RANGE_MALFORMED;
    *off = 0;
    *len = size;
    if (!h)
        return RANGE_WHOLE;
    if (strncmp(h, "bytes=", 6) != 0)
        return bad;
    const char *spec = h + 6, *dash = strchr(spec, '-');
    if (!dash)
        return bad;
    size_t alen = (size_t)(dash - spec), blen = strlen(dash + 1);
    uint64_t first, last;
    if (kind == RANGE_GET && alen == 0) {            /* bytes=-suffix */
        if (!number(dash + 1, blen, &last))
            return bad;
        if (last == 0 || size == 0)
            return RANGE_UNSATISFIABLE;
        *len = last > size ? size : last;
        *off = size - *len;
        return RANGE_PART;
    }
    if (!number(spec, alen, &first))
        return bad;
    if (kind == RANGE_GET && blen == 0)
        last = UINT64_MAX;                           /* bytes=first- */
    else if (!number(dash + 1, blen, &last) || last < first)
        return bad;
    if (kind == RANGE_COPY_SOURCE ? last >= size : first >= size)
        return RANGE_UNSATISFIABLE;
    if (last >= size)
        last = size - 1;
    *off = first;
    *len = last - first + 1;
    return RANGE_PART;
}
