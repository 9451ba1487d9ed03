/*
 * storage/stats.c - what the engine tells about itself for metrics, the
 * admin API and the console: tenant usage and the state of each disk
 * (contracts in engine.h).
 *
 * Usage is read from bucket_usage, which triggers keep in step with the
 * objects table inside every object commit (storage/index.c), so a read
 * costs one row per bucket and is exact whenever it runs. Disk state is
 * looked at when asked (access and statvfs on the disk directory); the
 * error counters are the set's own atomics (storage/diskset.h).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "storage/engine_int.h"

int st_usage_list(st_engine *e, const char *tenant, st_usage_cb cb, void *ctx,
                  cf_err *err)
{
    idx_lock(e->ix);
    sqlite3_stmt *st = idx_query(
        e->ix, err,
        "SELECT t.name, count(b.id), coalesce(sum(u.objects), 0),"
        " coalesce(sum(u.bytes), 0) FROM tenants t"
        " LEFT JOIN buckets b ON b.tenant_id = t.id"
        " LEFT JOIN bucket_usage u ON u.bucket_id = b.id"
        " WHERE ?1 IS NULL OR t.name = ?1 GROUP BY t.id ORDER BY t.name",
        "t", tenant);
    int rc = st ? 0 : -1;
    while (st && (rc = idx_next(e->ix, st, err)) == 1) {
        st_usage u = {
            .buckets = (uint64_t)idx_int(st, 1),
            .objects = (uint64_t)idx_int(st, 2),
            .bytes = (uint64_t)idx_int(st, 3),
        };
        snprintf(u.tenant, sizeof u.tenant, "%s", idx_text(st, 0));
        if (cb(ctx, &u) != 0) {
            idx_done(st);
            rc = 0;
            break;
        }
    }
    idx_unlock(e->ix);
    return rc;
}

int st_disk_count(const st_engine *e)
{
    return e->set.n;
}

void st_disk_get(const st_engine *e, int i, st_disk_info *out)
{
    const ds_disk *d = &e->set.disks[i];
    memset(out, 0, sizeof *out);
    out->path = d->path;
    out->online = d->online;
    struct statvfs vfs;
    bool have_vfs = statvfs(d->path, &vfs) == 0;
    if (have_vfs) {
        out->capacity_bytes = (uint64_t)vfs.f_blocks * vfs.f_frsize;
        out->used_bytes = (uint64_t)(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
        out->available_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    }
    char tmp[PATH_MAX];
    out->writable = d->online && have_vfs && !(vfs.f_flag & ST_RDONLY) &&
                    vfs.f_bavail > 0 &&
                    snprintf(tmp, sizeof tmp, "%s/tmp", d->path) < (int)sizeof tmp &&
                    access(tmp, W_OK) == 0;
    out->read_errors = ds_errors(&e->set, i, DS_ERR_READ);
    out->write_errors = ds_errors(&e->set, i, DS_ERR_WRITE);
    out->crc_errors = ds_errors(&e->set, i, DS_ERR_CRC);
}
