/*
 * storage/stats.c - the state of each disk, for metrics, the admin API
 * and the console (contracts in engine.h; what a tenant stores is
 * tenant.c's st_usage_list).
 *
 * Disk state is looked at when asked (format.json read back, access and
 * statvfs on the disk directory); the write set and the error counters
 * are the set's own atomics, kept by the segment reader and writer
 * (storage/ds.h).
 */
#include <limits.h>
#include <pthread.h>
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
    ds_probe_result probe = ds_probe_leave(&e->set, i);
    out->missing = probe == DS_PROBE_MISSING;
    out->foreign = probe == DS_PROBE_FOREIGN;
    out->write_fault = ds_wfault_name(ds_write_fault(&e->set, i));
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

const char *st_disk_state(const st_disk_info *d)
{
    if (d->foreign)
        return "foreign";
    if (d->missing)
        return "missing";
    if (!d->online)
        return "offline";
    if (d->replacing)
        return "replacing";
    if (*d->write_fault)
        return d->write_fault;
    uint64_t low = d->capacity_bytes / 100 < ST_DISK_FULL_BYTES ? d->capacity_bytes / 100
                                                                 : ST_DISK_FULL_BYTES;
    if (d->capacity_bytes > 0 && d->available_bytes < low)
        return "full";
    return d->writable ? "online" : "readonly";
}

int st_disk_replace(st_engine *e, int i, cf_err *err)
{
    if (i < 0 || i >= e->set.n)
        return cf_fail(err, CF_EINVAL, "no disk %d: the set has disks 0 to %d", i,
                       e->set.n - 1);
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;  /* one replacement at once */
    pthread_mutex_lock(&lock);
    int rc = ds_replace(&e->set, i, err);
    if (rc == 0)
        pack_set_roll(&e->packs, i);  /* its open pack is on the old disk */
    pthread_mutex_unlock(&lock);
    return rc;
}
