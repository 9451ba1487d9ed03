/*
 * storage/rs.h - Cauchy Reed-Solomon k+m over GF(2^8) (ISA-L).
 *
 * A codec is made once per (k, m) and is immutable afterwards, so one codec
 * may be shared by all threads. Encoding turns k equal-length data shards
 * into m parity shards. Reconstruction rebuilds any missing shards from any
 * k present ones; decode tables for a given set of missing shards are
 * computed per call (callers reconstruct rarely: only on a degraded read or
 * heal), into caller-owned scratch so no locking is needed.
 *
 * Layout defaults (DESIGN.md §6): 1 disk 1+0, 2: 1+1, 3: 2+1, 4: 2+2,
 * 6: 4+2, 8: 6+2, 12: 8+4, 16: 12+4; in between, m = 2 below 12 disks and 4
 * from 12 on, k = disks - m.
 */
#ifndef ST_ERASURE_H
#define ST_ERASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define RS_MAX_SHARDS 16

typedef struct rs_codec rs_codec;

/* 1 <= k, 0 <= m, k + m <= RS_MAX_SHARDS. */
rs_codec *rs_new(int k, int m, cf_err *err);
void rs_free(rs_codec *rs);
int rs_k(const rs_codec *rs);
int rs_m(const rs_codec *rs);

/* data[0..k-1] in, parity[0..m-1] out, each len bytes. */
void rs_encode(const rs_codec *rs, size_t len, uint8_t *const *data,
               uint8_t *const *parity);

/* shards[0..k+m-1], each len bytes; present[i] says whether shard i holds
 * good data. Rebuilds every shard with present[i] == false in place.
 * CF_EQUORUM if fewer than k are present. */
int rs_reconstruct(const rs_codec *rs, size_t len, uint8_t *const *shards,
                   const bool *present, cf_err *err);

/* Default k, m for a disk count (1..RS_MAX_SHARDS). -1 if out of range. */
int rs_default_layout(int ndisks, int *k, int *m);

#endif
