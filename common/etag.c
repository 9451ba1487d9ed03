/*
 * common/etag.c - ETag comparison (see etag.h). Both functions reduce each
 * side to the text inside its quotes and compare that, so a client that
 * drops the quotes (many do in CompleteMultipartUpload bodies) and one
 * that keeps them are treated alike.
 */
#include "common/etag.h"

#include <string.h>

#include "common/hdrlist.h"

/* [*s, *s + *n) without one pair of surrounding quotes. */
static void unquote(const char **s, size_t *n)
{
    if (*n >= 2 && (*s)[0] == '"' && (*s)[*n - 1] == '"') {
        (*s)++;
        *n -= 2;
    }
}

static bool inner_equal(const char *stored, const char *given, size_t glen)
{
    size_t slen = strlen(stored);
    unquote(&stored, &slen);
    unquote(&given, &glen);
    return slen == glen && memcmp(stored, given, glen) == 0;
}

bool etag_equal(const char *stored, const char *given)
{
    return inner_equal(stored, given, strlen(given));
}

bool etag_list_matches(const char *list, const char *stored)
{
    const char *t;
    size_t tl;
    while (hdrlist_next(&list, &t, &tl)) {
        if (tl >= 2 && t[0] == 'W' && t[1] == '/') {
            t += 2;
            tl -= 2;
        }
        if ((tl == 1 && t[0] == '*') || (tl > 0 && inner_equal(stored, t, tl)))
            return true;
    }
    return false;
}
