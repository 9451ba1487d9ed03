/*
 * common/hdrlist.c - the comma-separated header list tokenizer
 * (hdrlist.h): one pass over the value, no copy.
 */
#include "common/hdrlist.h"

#include <string.h>

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

bool hdrlist_next(const char **cursor, const char **item, size_t *len)
{
    const char *p = *cursor;
    for (;;) {
        while (is_ows(*p) || *p == ',')
            p++;
        if (!*p) {
            *cursor = p;
            return false;
        }
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t && is_ows(p[t - 1]))
            t--;
        *cursor = p + n;
        if (t) {
            *item = p;
            *len = t;
            return true;
        }
        p += n;
    }
}
