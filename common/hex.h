/*
 * common/hex.h - hexadecimal: the one encoder and decoder every module
 * uses (digests, ids, signatures, key files, RequestIds, %XX escapes).
 *
 * Contract: the encoders write 2 * len digits and a NUL, lowercase
 * (hex_encode_upper: uppercase), and return 2 * len, or 0 (writing
 * nothing) when out has no room for them. hex_decode accepts exactly
 * 2 * outsz digits of either case (returns 0, *outlen, which may be NULL,
 * receiving outsz) and refuses anything else with -1: a bad digit, another
 * length, empty input. Pure functions: thread-safe, no allocation.
 */
#ifndef CF_HEX_H
#define CF_HEX_H

#include <stddef.h>
#include <stdint.h>

size_t hex_encode(const uint8_t *raw, size_t len, char *out, size_t outsz);
size_t hex_encode_upper(const uint8_t *raw, size_t len, char *out, size_t outsz);
int hex_decode(const char *hex, uint8_t *out, size_t outsz, size_t *outlen);
/* The value of one digit (either case), or -1. */
int hex_value(char c);

#endif
