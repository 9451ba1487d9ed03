/*
 * storage/shard.c - shard header encoding and block geometry (see shard.h).
 *
 * Header layout (little-endian), SHARD_HEADER_SIZE bytes, zero padded:
 *   0  magic "COFSHRD1"        8
 *   8  set id                 16
 *  24  data id                16
 *  40  object id              16
 *  56  wrapped data key       60
 * 116  block size              4
 * 120  part number             4
 * 124  segment size            8
 * 132  shard index, k, m       1 + 1 + 1
 * 135  tenant len, bucket len  1 + 1
 * 137  key len                 2
 * 139  tenant, bucket, key bytes (<= 64 + 63 + 1024)
 * 1296 metadata (optional, see shard.h): "CFM1", then
 * 1300   its length from 1302 on   2
 * 1302   flags (1: headers cut)    2
 * 1304   mtime ms                  8
 * 1312   upload created ms         8
 * 1320   checksum algorithm        1
 * 1321   ETag, checksum lengths    1 + 1
 * 1323   headers length            2
 * 1325   ETag, checksum, headers bytes
 * SHARD_HEADER_SIZE-4: CRC32C of everything before it
 */
#include "storage/shard.h"
#include "common/le.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/checksum.h"
#include "common/fsutil.h"
#include "common/hex.h"
#include "storage/rs.h"

static const char shard_magic[8] = {'C', 'O', 'F', 'S', 'H', 'R', 'D', '1'};

#define OFF_SET 8
#define OFF_DATA 24
#define OFF_OBJ 40
#define OFF_WRAP 56
#define OFF_BS 116
#define OFF_PART 120
#define OFF_SIZE 124
#define OFF_IDX 132
#define OFF_TLEN 135
#define OFF_BLEN 136
#define OFF_KLEN 137
#define OFF_NAMES 139
#define OFF_META 1296
#define OFF_META_BODY (OFF_META + 6)
#define OFF_META_TEXT (OFF_META + 29)
#define OFF_CRC (SHARD_HEADER_SIZE - 4)

static const char meta_magic[4] = {'C', 'F', 'M', '1'};

_Static_assert(OFF_NAMES + ST_MAX_TENANT + ST_MAX_BUCKET + ST_MAX_KEY <= OFF_META,
               "names end before the metadata");
_Static_assert(OFF_META_TEXT + ST_ETAG_MAX + ST_CHECKSUM_MAX + SHARD_META_HEADERS_MAX <=
               OFF_CRC, "the metadata fits the header");

void shard_header_encode(const shard_header *h, uint8_t out[SHARD_HEADER_SIZE])
{
    memset(out, 0, SHARD_HEADER_SIZE);
    memcpy(out, shard_magic, sizeof shard_magic);
    memcpy(out + OFF_SET, h->set_id, 16);
    memcpy(out + OFF_DATA, h->data_id, 16);
    memcpy(out + OFF_OBJ, h->object_id, 16);
    memcpy(out + OFF_WRAP, h->wrapped, CRYPT_WRAPPED_LEN);
    le_put(out + OFF_BS, h->block_size, 4);
    le_put(out + OFF_PART, h->part, 4);
    le_put(out + OFF_SIZE, h->size, 8);
    out[OFF_IDX] = h->shard_index;
    out[OFF_IDX + 1] = h->k;
    out[OFF_IDX + 2] = h->m;
    size_t tl = strlen(h->tenant), bl = strlen(h->bucket), kl = strlen(h->key);
    out[OFF_TLEN] = (uint8_t)tl;
    out[OFF_BLEN] = (uint8_t)bl;
    le_put(out + OFF_KLEN, kl, 2);
    uint8_t *p = out + OFF_NAMES;
    memcpy(p, h->tenant, tl);
    memcpy(p + tl, h->bucket, bl);
    memcpy(p + tl + bl, h->key, kl);
    le_put(out + OFF_CRC, cks_crc32c(0, out, OFF_CRC), 4);
}

static int copy_name(char *dst, size_t max, const uint8_t *src, size_t len)
{
    if (len > max || memchr(src, '\0', len))
        return -1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

int shard_header_decode(const uint8_t in[SHARD_HEADER_SIZE], shard_header *h,
                        cf_err *err)
{
    if (memcmp(in, shard_magic, sizeof shard_magic) != 0)
        return cf_fail(err, CF_ECORRUPT, "shard header: bad magic");
    if (le_get(in + OFF_CRC, 4) != cks_crc32c(0, in, OFF_CRC))
        return cf_fail(err, CF_ECORRUPT, "shard header: checksum mismatch");
    memset(h, 0, sizeof *h);
    memcpy(h->set_id, in + OFF_SET, 16);
    memcpy(h->data_id, in + OFF_DATA, 16);
    memcpy(h->object_id, in + OFF_OBJ, 16);
    memcpy(h->wrapped, in + OFF_WRAP, CRYPT_WRAPPED_LEN);
    h->block_size = (uint32_t)le_get(in + OFF_BS, 4);
    h->part = (uint32_t)le_get(in + OFF_PART, 4);
    h->size = le_get(in + OFF_SIZE, 8);
    h->shard_index = in[OFF_IDX];
    h->k = in[OFF_IDX + 1];
    h->m = in[OFF_IDX + 2];
    size_t tl = in[OFF_TLEN], bl = in[OFF_BLEN], kl = le_get(in + OFF_KLEN, 2);
    const uint8_t *p = in + OFF_NAMES;
    if (h->k < 1 || h->k + h->m > RS_MAX_SHARDS || h->shard_index >= h->k + h->m ||
        h->block_size < 4096 || h->block_size % SHARD_ALIGN || h->part > ST_MAX_PARTS ||
        h->size > ST_MAX_PUT_SIZE || OFF_NAMES + tl + bl + kl > OFF_CRC ||
        copy_name(h->tenant, ST_MAX_TENANT, p, tl) < 0 ||
        copy_name(h->bucket, ST_MAX_BUCKET, p + tl, bl) < 0 ||
        copy_name(h->key, ST_MAX_KEY, p + tl + bl, kl) < 0)
        return cf_fail(err, CF_ECORRUPT, "shard header: field out of range");
    return 0;
}

void shard_meta_put(uint8_t hdr[SHARD_HEADER_SIZE], const shard_meta *m)
{
    size_t el = strnlen(m->etag, ST_ETAG_MAX - 1), cl = strnlen(m->cks_b64,
                                                                 ST_CHECKSUM_MAX - 1);
    size_t hl = m->headers_cut ? 0 : strnlen(m->headers, SHARD_META_HEADERS_MAX);
    uint8_t *p = hdr + OFF_META;
    memset(p, 0, OFF_CRC - OFF_META);
    memcpy(p, meta_magic, sizeof meta_magic);
    le_put(p + 4, (OFF_META_TEXT - OFF_META_BODY) + el + cl + hl, 2);
    le_put(p + 6, m->headers_cut ? 1 : 0, 2);
    le_put(p + 8, (uint64_t)m->mtime_ms, 8);
    le_put(p + 16, (uint64_t)m->upload_created_ms, 8);
    p[24] = m->cks_algo;
    p[25] = (uint8_t)el;
    p[26] = (uint8_t)cl;
    le_put(p + 27, hl, 2);
    uint8_t *t = hdr + OFF_META_TEXT;
    memcpy(t, m->etag, el);
    memcpy(t + el, m->cks_b64, cl);
    memcpy(t + el + cl, m->headers, hl);
    le_put(hdr + OFF_CRC, cks_crc32c(0, hdr, OFF_CRC), 4);
}

int shard_meta_get(const uint8_t hdr[SHARD_HEADER_SIZE], shard_meta *m, cf_err *err)
{
    memset(m, 0, sizeof *m);
    const uint8_t *p = hdr + OFF_META;
    if (memcmp(p, meta_magic, sizeof meta_magic) != 0)
        return 0;
    size_t len = le_get(p + 4, 2), flags = le_get(p + 6, 2);
    size_t el = p[25], cl = p[26], hl = le_get(p + 27, 2);
    if (el >= ST_ETAG_MAX || cl >= ST_CHECKSUM_MAX || hl > SHARD_META_HEADERS_MAX ||
        flags > 1 || len != (OFF_META_TEXT - OFF_META_BODY) + el + cl + hl ||
        memchr(hdr + OFF_META_TEXT, '\0', el + cl + hl))
        return cf_fail(err, CF_ECORRUPT, "shard header: malformed metadata");
    m->headers_cut = flags & 1;
    m->mtime_ms = (int64_t)le_get(p + 8, 8);
    m->upload_created_ms = (int64_t)le_get(p + 16, 8);
    m->cks_algo = p[24];
    const uint8_t *t = hdr + OFF_META_TEXT;
    memcpy(m->etag, t, el);
    memcpy(m->cks_b64, t + el, cl);
    memcpy(m->headers, t + el + cl, hl);
    return 1;
}

uint64_t shard_block_count(uint64_t size, uint32_t block_size)
{
    return size == 0 ? 1 : (size + block_size - 1) / block_size;
}

uint32_t shard_block_plain(uint64_t size, uint32_t block_size, uint64_t b)
{
    uint64_t start = b * block_size;
    if (start >= size)
        return 0;
    uint64_t left = size - start;
    return left < block_size ? (uint32_t)left : block_size;
}

uint32_t shard_len_for(uint32_t plain_len, int k)
{
    uint32_t sealed = plain_len + CRYPT_TAG_LEN;
    uint32_t per = (sealed + (uint32_t)k - 1) / (uint32_t)k;
    return (per + SHARD_ALIGN - 1) / SHARD_ALIGN * SHARD_ALIGN;
}

uint64_t shard_block_offset(uint32_t block_size, int k, uint64_t b)
{
    return SHARD_HEADER_SIZE + b * ((uint64_t)shard_len_for(block_size, k) + SHARD_CRC_LEN);
}

static void id_path(char *out, size_t outsz, const char *disk, const char *sub,
                    const uint8_t id[CRYPT_DATA_ID_LEN], bool fan_out)
{
    char hex[2 * CRYPT_DATA_ID_LEN + 1];
    hex_encode(id, CRYPT_DATA_ID_LEN, hex, sizeof hex);
    if (fan_out)
        snprintf(out, outsz, "%s/%s/%.2s/%s", disk, sub, hex, hex);
    else
        snprintf(out, outsz, "%s/%s/%s", disk, sub, hex);
}

void shard_path(char *out, size_t outsz, const char *disk,
                const uint8_t data_id[CRYPT_DATA_ID_LEN])
{
    id_path(out, outsz, disk, "objects", data_id, true);
}

void shard_tmp_path(char *out, size_t outsz, const char *disk,
                    const uint8_t data_id[CRYPT_DATA_ID_LEN])
{
    id_path(out, outsz, disk, "tmp", data_id, false);
}

bool shard_name_to_id(const char *name, uint8_t data_id[CRYPT_DATA_ID_LEN])
{
    size_t len = 0;
    if (strlen(name) != 2 * CRYPT_DATA_ID_LEN)
        return false;
    return hex_decode(name, data_id, CRYPT_DATA_ID_LEN, &len) == 0 &&
           len == CRYPT_DATA_ID_LEN;
}

int shard_read_file(const char *path, shard_header *h, shard_meta *m, int *has_meta,
                    cf_err *err)
{
    uint8_t hdr[SHARD_HEADER_SIZE];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cf_fail_errno(err, CF_EIO, errno, "%s", path);
    int rc = fsu_pread_all(fd, hdr, sizeof hdr, 0);
    close(fd);
    if (rc == -ENODATA)
        return cf_fail(err, CF_ECORRUPT, "%s: shorter than a shard header", path);
    if (rc < 0)
        return cf_fail_errno(err, CF_EIO, -rc, "%s", path);
    if (shard_header_decode(hdr, h, err) < 0)
        return -1;
    *has_meta = shard_meta_get(hdr, m, err);
    return *has_meta < 0 ? -1 : 0;
}
