/*
 * storage/manifest.h - a completed multipart object, described on every
 * disk (storage/ only).
 *
 * CompleteMultipartUpload relinks the parts' segments into the new
 * version without touching their files, whose headers still name the
 * upload and the part (shard.h). What only the index knows then (the
 * version id, which parts in which order, the ETag and checksum, the
 * headers) is written as a manifest to every online disk once the
 * completion has committed, before it is acknowledged:
 *
 *   DISK/objects/XX/<version id, 32 hex>   (XX: the id's first byte)
 *   "COFMAN1\n" | JSON length (4) | CRC32C of the JSON (4) | JSON
 *   JSON: {"tenant","bucket","key"(hex),"version_id","upload_id","size",
 *          "etag","mtime_ms","cks_algo","cks","cks_composite","nparts",
 *          "headers","segments":[{"data_id","part","size","wrapped",
 *          "inline"(hex or null)}]}
 *
 * It is named like a shard file, so it lives and dies like one: the
 * version's delete queues its id with its segments (seg_unlink removes it
 * from every disk), GC counts it as referenced while the version exists,
 * and a manifest written for a completion that did not commit is an
 * orphan like any other. A manifest missing on a disk (a crash between
 * the commit and its writing, a replaced disk) is written again by scrub
 * and heal --all from the index.
 */
#ifndef ST_MANIFEST_H
#define ST_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"

#define MAN_MAGIC "COFMAN1\n"
#define MAN_MAGIC_LEN 8

struct st_engine;

/* Write the manifest of object version version_id (completed from upload
 * upload_id) to every online disk (only_disk >= 0: to that disk only).
 * *copies: how many disks took it; fails if none did. */
int man_write(struct st_engine *e, const uint8_t version_id[16],
              const uint8_t upload_id[16], int only_disk, int *copies, cf_err *err);
/* Whether the first bytes of a file are a manifest's. */
bool man_is(const uint8_t *head, size_t len);
/* Parse a whole manifest file's bytes: the JSON (a new reference) or NULL
 * with CF_ECORRUPT. */
json_t *man_decode(const uint8_t *buf, size_t len, cf_err *err);
/* Read and parse the manifest at path (at most 64 MiB). */
json_t *man_read(const char *path, cf_err *err);

#endif
