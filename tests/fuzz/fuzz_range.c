/*
 * tests/fuzz/fuzz_range.c - Range, x-amz-copy-source-range and the number
 * parser under them. Input: 8 bytes of object size (little-endian), then
 * the header value. Properties: a part is never empty and never reaches
 * past the object, whatever the numbers; a number numparse accepts without
 * leading zeros prints back as the same digits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/numparse.h"
#include "server/range.h"
#include "tests/fuzz/fuzz.h"

static void check(range_result r, uint64_t size, uint64_t off, uint64_t len)
{
    if (r == RANGE_PART) {
        FUZZ_ASSERT(len >= 1 && off < size && len <= size - off);
    } else {
        FUZZ_ASSERT(off == 0 && len == size);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t osize = 0;
    for (int i = 7; i >= 0; i--)
        osize = osize << 8 | data[i];
    char *h = malloc(size - 8 + 1);
    if (!h)
        return 0;
    memcpy(h, data + 8, size - 8);
    h[size - 8] = '\0';
    uint64_t off, len;
    range_result r = range_parse(h, RANGE_GET, osize, &off, &len);
    FUZZ_ASSERT(r != RANGE_MALFORMED);
    check(r, osize, off, len);
    r = range_parse(h, RANGE_COPY_SOURCE, osize, &off, &len);
    check(r, osize, off, len);
    uint64_t v;
    cf_err err;
    if (numparse_str(h, osize, 0, &v, &err) == 0) {
        char back[24];
        snprintf(back, sizeof back, "%llu", (unsigned long long)v);
        FUZZ_ASSERT(v <= osize && strcmp(back, h) == 0);
    } else {
        FUZZ_ASSERT(err.code == CF_EINVAL || err.code == CF_ETOOLARGE);
    }
    if (numparse_hex(h, strlen(h), UINT64_MAX, NUMPARSE_LEADING_ZEROS, &v, &err) == 0)
        FUZZ_ASSERT(strlen(h) > 0);
    free(h);
    return 0;
}
