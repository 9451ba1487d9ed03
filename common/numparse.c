/*
 * common/numparse.c - strict unsigned parsing (contract in numparse.h).
 *
 * One loop for both bases: each digit is checked against the remaining
 * headroom before it is added, so overflow is detected before it happens
 * (no strtoull, whose ERANGE, sign and whitespace handling is what let a
 * 2^63 Content-Length through as a negative number).
 */
#include "common/numparse.h"

#include <stdbool.h>
#include <string.h>

static int digit_value(char c, unsigned base)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (base == 16 && c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (base == 16 && c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int parse(const char *s, size_t n, unsigned base, uint64_t max, unsigned flags,
                 uint64_t *out, cf_err *err)
{
    if (n == 0)
        return cf_fail(err, CF_EINVAL, "empty number");
    if (n > 1 && s[0] == '0' && !(flags & NUMPARSE_LEADING_ZEROS))
        return cf_fail(err, CF_EINVAL, "leading zero in a number");
    uint64_t v = 0;
    bool over = false;
    for (size_t i = 0; i < n; i++) {
        int d = digit_value(s[i], base);
        if (d < 0)
            return cf_fail(err, CF_EINVAL, "not a %s number",
                           base == 16 ? "hexadecimal" : "decimal");
        if (over || (uint64_t)d > max || v > (max - (uint64_t)d) / base)
            over = true;                 /* keep checking the syntax */
        else
            v = v * base + (uint64_t)d;
    }
    if (over)
        return cf_fail(err, CF_ETOOLARGE, "number above %llu", (unsigned long long)max);
    *out = v;
    return 0;
}

int numparse_u64(const char *s, size_t n, uint64_t max, unsigned flags,
                 uint64_t *out, cf_err *err)
{
    return parse(s, n, 10, max, flags, out, err);
}

int numparse_hex(const char *s, size_t n, uint64_t max, unsigned flags,
                 uint64_t *out, cf_err *err)
{
    return parse(s, n, 16, max, flags, out, err);
}

int numparse_str(const char *s, uint64_t max, unsigned flags, uint64_t *out,
                 cf_err *err)
{
    return parse(s, strlen(s), 10, max, flags, out, err);
}
