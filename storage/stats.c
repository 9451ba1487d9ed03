/*
 * storage/stats.c - the state of each disk, for metrics, the admin API
 * and the console (contracts in engine.h; what a tenant stores is
 * tenant.c's st_usage_list).
 *
 * Disk state is looked at when asked (access and statvfs on the disk
 * directory); the error counters are the set's own atomics, counted by
 * the segment reader and writer (storage/ds.h).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "storage/engine_int.h"

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
    out->replacing = atomic_load(&d->replacing);
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
