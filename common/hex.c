/*
 * common/hex.c - hexadecimal (contract in hex.h): a table lookup per
 * nibble out, a range check per digit in. Kept apart from the digests
 * (checksum.c) so that what needs hex alone (auth's signatures, the
 * router's percent-decoder) links neither ISA-L nor OpenSSL's digests.
 */
#include "common/hex.h"

#include <string.h>

static size_t encode(const char *digits, const uint8_t *raw, size_t len, char *out,
                     size_t outsz)
{
    if (outsz < 2 * len + 1)
        return 0;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 15];
    }
    out[2 * len] = '\0';
    return 2 * len;
}

size_t hex_encode(const uint8_t *raw, size_t len, char *out, size_t outsz)
{
    return encode("0123456789abcdef", raw, len, out, outsz);
}

size_t hex_encode_upper(const uint8_t *raw, size_t len, char *out, size_t outsz)
{
    return encode("0123456789ABCDEF", raw, len, out, outsz);
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hex_decode(const char *hex, uint8_t *out, size_t outsz, size_t *outlen)
{
    size_t len = strlen(hex);
    if (len == 0 || len != 2 * outsz)
        return -1;
    for (size_t i = 0; i < outsz; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    if (outlen)
        *outlen = outsz;
    return 0;
}
