/*
 * storage/shard.h - the shard file: its self-describing header, where each
 * block's shard sits in it, and where the file lives.
 *
 * A segment (one PUT's data, or one multipart part) of S plaintext bytes is
 * cut into blocks of B bytes (block_size; the last may be shorter; an empty
 * segment is one empty block). Each block is sealed with AES-256-GCM and the
 * ciphertext||tag (len + 16 bytes) is zero-padded to k equal shards of
 * shard_len = roundup(ceil((len + 16) / k), 64) bytes; Reed-Solomon adds m
 * parity shards. Shard i of every block goes to shard file i on disk i:
 *
 *     [ header: SHARD_HEADER_SIZE bytes ]
 *     [ block 0: shard_len bytes | CRC32C of them, 4 bytes little-endian ]
 *     [ block 1: ... ]
 *
 * Every block but the last has the full shard_len, so block b starts at
 * SHARD_HEADER_SIZE + b * (shard_len(B) + 4). Files are named by the
 * segment's random data id, never by the object key:
 *     DISK/objects/XX/<32 hex data id>   (XX = first byte in hex)
 *     DISK/tmp/<32 hex data id>          (while being written)
 *
 * The header (fixed little-endian layout, checked by a trailing CRC32C)
 * carries everything needed to rebuild the index row: set id, data id,
 * object/upload id, tenant, bucket, key, part number, shard index, k, m,
 * block size, segment size and the wrapped data key.
 *
 * The header may also carry what the index knows of the object that the
 * fields above do not (shard_meta): its time, ETag, stored checksum and
 * stored headers, and for an upload's part the upload's own. It sits in
 * the header's padding behind its own mark, so a cofferd that does not
 * know it reads the header as before (no format version change), and a
 * header without it (coffer 0.1.0) simply has none. `coffer rebuild-index`
 * reads it to rebuild the index rows from the disks alone.
 *
 * The magic's last character is the shard format version ("COFSHRD1").
 * A layout change takes the next character and bumps DS_FORMAT_VERSION
 * (ds.h) with it: a cofferd that does not know the new magic would
 * take such a shard for a corrupt one, so the newer format.json must turn
 * it away at open, before it reads any shard.
 */
#ifndef ST_SHARD_H
#define ST_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "storage/crypto.h"
#include "storage/engine.h"

#define SHARD_HEADER_SIZE 4096u
#define SHARD_CRC_LEN 4u
#define SHARD_ALIGN 64u

typedef struct shard_header {
    uint8_t set_id[16];
    uint8_t data_id[CRYPT_DATA_ID_LEN];
    uint8_t object_id[16];           /* object version id or upload id */
    uint8_t wrapped[CRYPT_WRAPPED_LEN];
    uint32_t block_size;
    uint32_t part;                   /* 0: single PUT */
    uint64_t size;                   /* plaintext bytes in the segment */
    uint8_t shard_index, k, m;
    char tenant[ST_MAX_TENANT + 1];
    char bucket[ST_MAX_BUCKET + 1];
    char key[ST_MAX_KEY + 1];
} shard_header;

void shard_header_encode(const shard_header *h, uint8_t out[SHARD_HEADER_SIZE]);
/* CF_ECORRUPT for a bad magic, version, CRC, or out-of-range field. */
int shard_header_decode(const uint8_t in[SHARD_HEADER_SIZE], shard_header *h,
                        cf_err *err);

/* The object metadata a header may carry (see the top). For a single PUT:
 * the object's; for an upload's part: the part's ETag and checksum, the
 * upload's checksum algorithm, headers and start time. */
#define SHARD_META_HEADERS_MAX 2600  /* stored headers (JSON) that fit */
typedef struct shard_meta {
    int64_t mtime_ms;                /* the object's (or part's) time */
    char etag[ST_ETAG_MAX];
    uint8_t cks_algo;                /* cks_algo of the object / upload */
    char cks_b64[ST_CHECKSUM_MAX];   /* the stored value, "" if none */
    int64_t upload_created_ms;       /* parts only */
    bool headers_cut;                /* the headers did not fit: none kept */
    char headers[SHARD_META_HEADERS_MAX + 1];  /* JSON, as the index stores them */
} shard_meta;

/* Put m into an encoded header (and fix its CRC). A writer whose headers
 * are longer than SHARD_META_HEADERS_MAX sets headers_cut instead. */
void shard_meta_put(uint8_t hdr[SHARD_HEADER_SIZE], const shard_meta *m);
/* Read the metadata of a header that decoded: 1 present, 0 absent (an
 * older header), -1 malformed (CF_ECORRUPT). */
int shard_meta_get(const uint8_t hdr[SHARD_HEADER_SIZE], shard_meta *m, cf_err *err);

/* Read and decode the header of the shard file at path, and its metadata
 * (*has_meta: 1 present, 0 absent); CF_ECORRUPT for a file too short or a
 * header that does not decode, CF_EIO if it cannot be read. The one place
 * a file's header is read whole (coffer rebuild-index). */
int shard_read_file(const char *path, shard_header *h, shard_meta *m, int *has_meta,
                    cf_err *err);

/* Geometry. */
uint64_t shard_block_count(uint64_t size, uint32_t block_size);
/* Plaintext bytes in block b. */
uint32_t shard_block_plain(uint64_t size, uint32_t block_size, uint64_t b);
/* Shard bytes (without CRC) for a block of plain_len bytes. */
uint32_t shard_len_for(uint32_t plain_len, int k);
uint64_t shard_block_offset(uint32_t block_size, int k, uint64_t b);

/* "DISK/objects/XX/HEX" and "DISK/tmp/HEX" (buffers of PATH_MAX). */
void shard_path(char *out, size_t outsz, const char *disk,
                const uint8_t data_id[CRYPT_DATA_ID_LEN]);
void shard_tmp_path(char *out, size_t outsz, const char *disk,
                    const uint8_t data_id[CRYPT_DATA_ID_LEN]);
/* Parse a file name of 32 hex characters into a data id. */
bool shard_name_to_id(const char *name, uint8_t data_id[CRYPT_DATA_ID_LEN]);

#endif
