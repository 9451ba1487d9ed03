/*
 * common/le.h - little-endian integers in byte buffers.
 *
 * Every on-disk and remote format coffer writes (shard headers and block
 * CRCs, journal records, manifests, the tier's remote objects) stores its
 * integers least significant byte first, through these two functions, so
 * the byte order is decided in one place and does not depend on the host.
 * Pure functions, no locks.
 */
#ifndef CF_LE_H
#define CF_LE_H

#include <stdint.h>

/* Store the n (1..8) low bytes of v at p, least significant first. */
static inline void le_put(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The n (1..8) bytes at p as an unsigned integer, least significant first. */
static inline uint64_t le_get(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

#endif
