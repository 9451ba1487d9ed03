/*
 * storage/rs.c - Cauchy Reed-Solomon over ISA-L.
 *
 * The codec's generator is the (k+m) x k Cauchy matrix from ISA-L: the top
 * k rows are the identity (data shards are stored as they are), the bottom
 * m rows produce parity. Any k rows of it form an invertible matrix, which
 * is what makes any k shards enough.
 *
 * rs_new builds the matrix and ISA-L's expanded encode tables once; after
 * that the codec is read-only, so threads share it without locks and
 * rs_encode is a single ec_encode_data call with no allocation.
 *
 * rs_reconstruct takes the first k present shards as sources, inverts the
 * k x k sub-matrix of their rows (which maps sources back to data), and
 * derives one decode row per missing shard: a missing data shard's row is
 * a row of that inverse; a missing parity shard's row is its generator row
 * multiplied by the inverse. All missing shards are then produced by one
 * ec_encode_data pass over the sources. Scratch lives on the stack, bounded
 * by RS_MAX_SHARDS.
 */
#include "storage/rs.h"

#include <isa-l/erasure_code.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct rs_codec {
    int k, m;
    uint8_t matrix[RS_MAX_SHARDS * RS_MAX_SHARDS];            /* (k+m) x k */
    uint8_t tables[32 * RS_MAX_SHARDS * RS_MAX_SHARDS];       /* parity rows */
};

/* ISA-L takes an int length; larger buffers are coded in pieces. */
#define RS_CHUNK (1 << 30)

rs_codec *rs_new(int k, int m, cf_err *err)
{
    if (k < 1 || m < 0 || k + m > RS_MAX_SHARDS) {
        cf_fail(err, CF_EINVAL, "invalid erasure layout %d+%d", k, m);
        return NULL;
    }
    rs_codec *rs = calloc(1, sizeof *rs);
    if (!rs) {
        cf_fail(err, CF_ENOMEM, "out of memory for an erasure codec");
        return NULL;
    }
    rs->k = k;
    rs->m = m;
    gf_gen_cauchy1_matrix(rs->matrix, k + m, k);
    if (m > 0)
        ec_init_tables(k, m, rs->matrix + k * k, rs->tables);
    return rs;
}

void rs_free(rs_codec *rs)
{
    free(rs);
}

int rs_k(const rs_codec *rs)
{
    return rs->k;
}

int rs_m(const rs_codec *rs)
{
    return rs->m;
}

/* Apply nout coding rows (expanded in tables) to k sources, chunk by chunk. */
static void code_rows(size_t len, int k, int nout, const uint8_t *tables,
                      uint8_t *const *src, uint8_t *const *dst)
{
    uint8_t *s[RS_MAX_SHARDS], *d[RS_MAX_SHARDS];
    for (size_t off = 0; off < len; off += RS_CHUNK) {
        size_t n = len - off < RS_CHUNK ? len - off : RS_CHUNK;
        for (int i = 0; i < k; i++)
            s[i] = src[i] + off;
        for (int i = 0; i < nout; i++)
            d[i] = dst[i] + off;
        ec_encode_data((int)n, k, nout, (uint8_t *)tables, s, d);
    }
}

void rs_encode(const rs_codec *rs, size_t len, uint8_t *const *data,
               uint8_t *const *parity)
{
    if (rs->m > 0)
        code_rows(len, rs->k, rs->m, rs->tables, data, parity);
}

/* Row `row` of the generator times the k x k matrix inv: out = g_row * inv. */
static void row_times_matrix(const rs_codec *rs, int row, const uint8_t *inv,
                             uint8_t *out)
{
    int k = rs->k;
    const uint8_t *g = rs->matrix + row * k;
    for (int j = 0; j < k; j++) {
        uint8_t acc = 0;
        for (int l = 0; l < k; l++)
            acc ^= gf_mul(g[l], inv[l * k + j]);
        out[j] = acc;
    }
}

int rs_reconstruct(const rs_codec *rs, size_t len, uint8_t *const *shards,
                   const bool *present, cf_err *err)
{
    int k = rs->k, n = rs->k + rs->m;
    uint8_t *src[RS_MAX_SHARDS], *dst[RS_MAX_SHARDS];
    int src_rows[RS_MAX_SHARDS], missing[RS_MAX_SHARDS];
    int nsrc = 0, nmissing = 0;
    for (int i = 0; i < n; i++) {
        if (!present[i])
            missing[nmissing++] = i;
        else if (nsrc < k)
            src_rows[nsrc++] = i;
    }
    if (nmissing == 0)
        return 0;
    if (nsrc < k)
        return cf_fail(err, CF_EQUORUM,
                       "only %d of %d shards present, need %d", n - nmissing,
                       n, k);

    uint8_t sub[RS_MAX_SHARDS * RS_MAX_SHARDS];
    uint8_t inv[RS_MAX_SHARDS * RS_MAX_SHARDS];
    for (int i = 0; i < k; i++) {
        src[i] = shards[src_rows[i]];
        memcpy(sub + i * k, rs->matrix + src_rows[i] * k, (size_t)k);
    }
    if (gf_invert_matrix(sub, inv, k) < 0)
        return cf_fail(err, CF_EINTERNAL, "erasure sub-matrix is singular");

    uint8_t rows[RS_MAX_SHARDS * RS_MAX_SHARDS];
    uint8_t tables[32 * RS_MAX_SHARDS * RS_MAX_SHARDS];
    for (int i = 0; i < nmissing; i++) {
        int row = missing[i];
        dst[i] = shards[row];
        if (row < k)
            memcpy(rows + i * k, inv + row * k, (size_t)k);
        else
            row_times_matrix(rs, row, inv, rows + i * k);
    }
    ec_init_tables(k, nmissing, rows, tables);
    code_rows(len, k, nmissing, tables, src, dst);
    return 0;
}

int rs_default_layout(int ndisks, int *k, int *m)
{
    if (ndisks < 1 || ndisks > RS_MAX_SHARDS)
        return -1;
    if (ndisks <= 3)
        *m = ndisks == 1 ? 0 : 1;      /* 1+0, 1+1, 2+1 */
    else
        *m = ndisks < 12 ? 2 : 4;
    *k = ndisks - *m;
    return 0;
}
