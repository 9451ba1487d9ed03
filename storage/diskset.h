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
 * differs from an explicitly configured one, or fewer than k disks online,
 * and for a format.json of a newer version than DS_FORMAT_VERSION (named
 * with both versions), before any other field of it is read.
 *
 * Bump DS_FORMAT_VERSION when a cofferd that knows only the old format
 * would misread a disk of the new one: a field it must understand, or a
 * new shard header version (shard.h), which an older cofferd would take
 * for a corrupt shard. A field an older cofferd can safely ignore needs no
 * bump. Reading an older version stays supported (doc/design.md).
 */
#ifndef ST_DISKSET_H
#define ST_DISKSET_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "storage/erasure.h"

#define DS_SET_ID_LEN 16
#define DS_FORMAT_VERSION 1          /* format.json "version" */

typedef struct ds_disk {
    char *path;
    bool online;
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

#endif
