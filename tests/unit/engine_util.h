/*
 * tests/unit/engine_util.h - helpers shared by the engine tests: open an
 * engine on fresh directories, stream deterministic data in and check it
 * back out without holding whole objects, find and damage shard files.
 */
#ifndef ENGINE_UTIL_H
#define ENGINE_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/engine.h"

typedef struct eng_fixture {
    char root[512];
    char disks[ST_MAX_DISKS][600];
    char meta[600];
    char keyfile[600];
    st_config cfg;
} eng_fixture;

/* Lay out root/d0.., root/meta, root/master.key; does not open. With
 * COFFER_TEST_PACK_SHARD_MAX in the environment the engine packs shards
 * of that size or less (st_config.pack_shard_max): how the crash and
 * fault tests run again with pack files. With COFFER_TEST_BUFFERED_IO
 * set, shard files are written through the page cache
 * (st_config.buffered_io) instead of with O_DIRECT. */
void fixture_init(eng_fixture *f, const char *root, int ndisks, int k, int m);
st_engine *fixture_open(eng_fixture *f);     /* NULL (and prints) on failure */
/* fixture_init + fixture_open, then tenant "t1" with bucket "b". */
st_engine *fixture_setup(eng_fixture *f, const char *root, int ndisks, int k, int m,
                         bool no_inline);

/* Byte at offset off of the deterministic stream `seed`. */
void gen_bytes(uint64_t seed, uint64_t off, uint8_t *buf, size_t n);

/* PUT size bytes of stream seed; 0 on success. */
int put_gen(st_engine *e, const char *bucket, const char *key, uint64_t size,
            uint64_t seed, st_object_info *info, cf_err *err);
/* The same with every argument of the PUT (expected_size is the size). */
int put_gen_args(st_engine *e, const st_put_args *a, uint64_t seed, st_object_info *info,
                 cf_err *err);
/* PUT part `part` of upload upload_id: size bytes of stream seed; its
 * ETag in etag. 0 on success. */
int put_part_gen(st_engine *e, const char *bucket, const char *key, const char *upload_id,
                 uint32_t part, uint64_t size, uint64_t seed, char etag[ST_ETAG_MAX],
                 cf_err *err);
/* Read [off, off+len) and compare with the stream: 1 equal, 0 differs,
 * -1 read error (err set). */
int check_range(st_engine *e, const char *bucket, const char *key, uint64_t seed,
                uint64_t off, uint64_t len, cf_err *err);
/* The same in reads of read_len bytes each (the last may be shorter). */
int check_range_by(st_engine *e, const char *bucket, const char *key, uint64_t seed,
                   uint64_t off, uint64_t len, size_t read_len, cf_err *err);
/* Whole object: same as check_range over [0, size). */
int check_gen(st_engine *e, const char *bucket, const char *key, uint64_t size,
              uint64_t seed, cf_err *err);

/* paths[i] = the shard file of data id hexid on disk i, for every disk. */
int shard_files_of(const eng_fixture *f, int ndisks, const char *hexid,
                   char paths[][700]);
/* Data id (32 hex) of the only shard file set on the disks, for tests
 * that store exactly one non-inline object. */
int single_data_id(const eng_fixture *f, char hex[33]);
int count_shard_files(const eng_fixture *f, int ndisks);
/* The shard files and manifests the index (f->meta/index.db) refers to:
 * k + m less the missing and the packed ones per sharded segment or part, one manifest
 * per disk per multipart object; -1 if the index cannot be read. */
int expected_shard_files(const eng_fixture *f, int shards);
/* The pack files the index names (distinct pack ids of pack_shards). */
int expected_pack_files(const eng_fixture *f);
/* Files in every disk's packs/ (storage/pack.h). */
int count_pack_files(const eng_fixture *f, int ndisks);
/* The sizes of the files in every disk's objects/XX, tmp/ and packs/:
 * what gc's and rebuild-index's scans count. */
uint64_t disk_file_bytes(const eng_fixture *f, int ndisks);
/* Object versions (current and noncurrent, not delete markers) and their
 * bytes in tenant t1's bucket, by listing its versions (<= 1000): what
 * bucket_usage counts. */
int list_totals(st_engine *e, const char *bucket, uint64_t *objects, uint64_t *bytes,
                cf_err *err);
/* Create or replace a small file with text (errors are printed). */
void write_text(const char *path, const char *text);

#endif
