/*
 * storage/catalog.h - what the index holds that no shard file can carry,
 * on every disk (storage/ only).
 *
 * Shard headers describe objects and parts (shard.h); tenants, access
 * keys (their secrets sealed under the master key, exactly as the index
 * keeps them), buckets and their settings are in no shard. The catalog is
 * a copy of those tables, DISK/catalog.json on every online disk,
 * rewritten (temp file, fsync, rename, directory fsync) after every change
 * to them and when the engine opens, so a rebuild of the index from the
 * disks (coffer rebuild-index, storage/rebuild.c) never loses a tenant, a key or a
 * bucket:
 *
 *   {"format":"coffer-catalog", "version":1, "set_id":HEX, "lineage":HEX,
 *    "commit":N, "written_ms":T, "tables":{"tenants":{"columns":[...],
 *    "rows":[[...]]}, "access_keys":{...}, "buckets":{...}}}
 *
 * The tables are listed in CAT_TABLES; a module that adds a table of
 * settings adds its name there, and calls eng_catalog_changed (or
 * eng_catalog_saved) after each change to it. A catalog without a table
 * (written before it was listed) loads the tables it has.
 * Tables are copied whole, so the catalog is meant for settings, not for
 * anything that grows with the objects.
 *
 * Saving is serialised (e->cat_lock); each save copies the tables under
 * one hold of the index lock, so the newest catalog (highest commit) is
 * always a consistent copy.
 */
#ifndef ST_CATALOG_H
#define ST_CATALOG_H

#include <limits.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "storage/ds.h"
#include "storage/index.h"

#define CAT_FILE "catalog.json"
#define CAT_TABLES {"tenants", "access_keys", "buckets", "tiers", "bucket_lifecycle", \
                    "quotas"}

struct st_engine;

/* Write the catalog to every online disk; *copies how many took it. Fails
 * only if none did. */
int cat_save(struct st_engine *e, int *copies, cf_err *err);
/* The newest catalog of this set and lineage on the online disks: its
 * tables (a new reference), commit number and path; NULL when no disk has
 * a usable one. */
json_t *cat_newest(const ds_set *set, uint64_t *commit, char path[PATH_MAX]);
/* Insert the catalog's tables into x (the caller holds the lock and a
 * transaction). */
int cat_load(idx *x, json_t *tables, cf_err *err);

#endif
