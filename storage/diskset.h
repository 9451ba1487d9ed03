/*
 * storage/diskset.h - the set of data directories an engine writes shards to.
 *
 * Each disk directory holds format.json: {"format":"coffer-disk",
 * "version":1, "set_id":"<32 hex>", "disk_index":i, "disk_count":n, "k":k,
 * "m":m, "block_size":B}, plus objects/XX/ (256 fan-out directories for
 * shard files) and tmp/ (shards being written).
 *
 * Opening a set: if no disk is formatted yet, all are formatted as a new set
 * (directories created as needed). Otherwise every formatted disk must carry
 * the same set id, count and layout and sit in its own position; a disk that
 * is reachable but blank is a replacement and is formatted into its slot
 * (heal fills it); a disk that cannot be read is offline. The open is
 * refused, naming the disk and the reason, for a disk of another set or in
 * another position, an unreadable or malformed format.json, a layout that
 * differs from an explicitly configured one, or fewer than k disks online.
 */
#ifndef ST_DISKSET_H
#define ST_DISKSET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "storage/erasure.h"

#define DS_SET_ID_LEN 16

/* Errors a disk gave since the set was opened, counted where they are
 * detected (segment.c): a shard file that could not be opened, read or
 * was short (read), could not be created, written, synced or renamed
 * (write), or held a block or header that failed its CRC32C or names
 * another segment (crc). */
typedef enum ds_error { DS_ERR_READ, DS_ERR_WRITE, DS_ERR_CRC, DS_NERRORS } ds_error;

typedef struct ds_disk {
    char *path;
    bool online;
    atomic_uint_fast64_t errors[DS_NERRORS]; /* relaxed counters, see ds_note */
} ds_disk;

typedef struct ds_set {
    int n, k, m;
    uint32_t block_size;
    uint8_t set_id[DS_SET_ID_LEN];
    ds_disk disks[RS_MAX_SHARDS];
} ds_set;

/* want_k/want_m 0 = default for n (or whatever the set was formatted with);
 * block_size 0 = 1 MiB (or the formatted one). */
int ds_open(ds_set *set, const char *const *paths, int n, int want_k, int want_m,
            uint32_t block_size, cf_err *err);
void ds_close(ds_set *set);
int ds_online_count(const ds_set *set);

/* Count an error of disk i. Readers of a set hold it const; the counters
 * are the one part they change, so this takes a const set. */
void ds_note(const ds_set *set, int i, ds_error kind);
uint64_t ds_errors(const ds_set *set, int i, ds_error kind);

#endif
