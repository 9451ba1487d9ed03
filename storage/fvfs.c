/*
 * storage/fvfs.c - the SQLite VFS shim of the fault-injection hook (see
 * fvfs.h). Each file the shim opens is the default VFS's file object,
 * placed right after ours in the memory SQLite allocates (szOsFile is the
 * sum), plus a descriptor of our own on the same file for the power-loss
 * log (the default VFS keeps its descriptor private). Every io method
 * forwards to the real file; write, truncate and sync first ask
 * fio_check. The io-methods table is chosen by the real file's version,
 * so WAL (shared memory) and memory-mapped I/O keep working.
 */
#include "storage/fvfs.h"

#ifdef COFFER_FAULTS

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fio.h"

typedef struct fvfs_file {
    sqlite3_file base;
    sqlite3_file *real;
    int fd;                      /* ours, or -1 (temporary files) */
    char path[PATH_MAX];
} fvfs_file;

static sqlite3_vfs *real_vfs;

static sqlite3_file *real_of(sqlite3_file *f)
{
    return ((fvfs_file *)f)->real;
}

static int ioerr(int e, int code)
{
    return e == ENOSPC || e == EDQUOT ? SQLITE_FULL : code;
}

static int f_close(sqlite3_file *f)
{
    fvfs_file *ff = (fvfs_file *)f;
    if (ff->fd >= 0)
        close(ff->fd);
    ff->fd = -1;
    return ff->real->pMethods ? ff->real->pMethods->xClose(ff->real) : SQLITE_OK;
}

static int f_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
    return real_of(f)->pMethods->xRead(real_of(f), buf, amt, off);
}

static int f_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    fvfs_file *ff = (fvfs_file *)f;
    int e = fio_check(FIO_WRITE, ff->path);
    if (e)
        return ioerr(e, SQLITE_IOERR_WRITE);
    if (ff->fd >= 0)
        fio_note_write(ff->fd, (off_t)off, (size_t)amt);
    return ff->real->pMethods->xWrite(ff->real, buf, amt, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    fvfs_file *ff = (fvfs_file *)f;
    int e = fio_check(FIO_WRITE, ff->path);
    if (e)
        return ioerr(e, SQLITE_IOERR_TRUNCATE);
    struct stat st;
    if (ff->fd >= 0 && fstat(ff->fd, &st) == 0 && size < st.st_size)
        fio_note_write(ff->fd, (off_t)size, (size_t)(st.st_size - size));
    return ff->real->pMethods->xTruncate(ff->real, size);
}

static int f_sync(sqlite3_file *f, int flags)
{
    fvfs_file *ff = (fvfs_file *)f;
    int e = fio_check(FIO_FSYNC, ff->path);
    if (e)
        return ioerr(e, SQLITE_IOERR_FSYNC);
    int rc = ff->real->pMethods->xSync(ff->real, flags);
    if (rc == SQLITE_OK && ff->fd >= 0)
        fio_note_sync(ff->fd);
    return rc;
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int f_lock(sqlite3_file *f, int level)
{
    return real_of(f)->pMethods->xLock(real_of(f), level);
}

static int f_unlock(sqlite3_file *f, int level)
{
    return real_of(f)->pMethods->xUnlock(real_of(f), level);
}

static int f_check_lock(sqlite3_file *f, int *out)
{
    return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
    return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

static int f_sector(sqlite3_file *f)
{
    return real_of(f)->pMethods->xSectorSize(real_of(f));
}

static int f_caps(sqlite3_file *f)
{
    return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

static int f_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **out)
{
    return real_of(f)->pMethods->xShmMap(real_of(f), pg, sz, extend, out);
}

static int f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return real_of(f)->pMethods->xShmLock(real_of(f), off, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    real_of(f)->pMethods->xShmBarrier(real_of(f));
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
    return real_of(f)->pMethods->xShmUnmap(real_of(f), del);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **out)
{
    return real_of(f)->pMethods->xFetch(real_of(f), off, amt, out);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return real_of(f)->pMethods->xUnfetch(real_of(f), off, p);
}

#define FVFS_METHODS(v)                                                        \
    {v, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock, f_unlock,  \
     f_check_lock, f_control, f_sector, f_caps,                                 \
     (v) >= 2 ? f_shm_map : NULL, (v) >= 2 ? f_shm_lock : NULL,                 \
     (v) >= 2 ? f_shm_barrier : NULL, (v) >= 2 ? f_shm_unmap : NULL,            \
     (v) >= 3 ? f_fetch : NULL, (v) >= 3 ? f_unfetch : NULL}

static const sqlite3_io_methods methods_v[3] = {FVFS_METHODS(1), FVFS_METHODS(2),
                                                FVFS_METHODS(3)};

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
                  int *out_flags)
{
    fvfs_file *ff = (fvfs_file *)f;
    memset(ff, 0, sizeof *ff);
    ff->real = (sqlite3_file *)(ff + 1);
    ff->fd = -1;
    int rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        ff->base.pMethods = NULL;
        return rc;
    }
    int v = ff->real->pMethods->iVersion;
    ff->base.pMethods = &methods_v[v < 1 ? 0 : v > 3 ? 2 : v - 1];
    if (name) {
        snprintf(ff->path, sizeof ff->path, "%s", name);
        if (flags & SQLITE_OPEN_READWRITE) {
            ff->fd = open(name, O_RDWR | O_CLOEXEC);
            if (ff->fd >= 0)
                fio_note_open(ff->fd, name, false);
        }
    }
    return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int v_full(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *v_dlopen(sqlite3_vfs *vfs, const char *name)
{
    return real_vfs->xDlOpen(real_vfs, name);
}

static void v_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
    real_vfs->xDlError(real_vfs, n, msg);
}

static void (*v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    return real_vfs->xDlSym(real_vfs, h, sym);
}

static void v_dlclose(sqlite3_vfs *vfs, void *h)
{
    real_vfs->xDlClose(real_vfs, h);
}

static int v_random(sqlite3_vfs *vfs, int n, char *out)
{
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
    return real_vfs->xSleep(real_vfs, us);
}

static int v_time(sqlite3_vfs *vfs, double *out)
{
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int v_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    return real_vfs->xGetLastError(real_vfs, n, out);
}

static int v_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static sqlite3_vfs shim = {
    .iVersion = 2,
    .zName = "coffer-faults",
    .xOpen = v_open, .xDelete = v_delete, .xAccess = v_access,
    .xFullPathname = v_full, .xDlOpen = v_dlopen, .xDlError = v_dlerror,
    .xDlSym = v_dlsym, .xDlClose = v_dlclose, .xRandomness = v_random,
    .xSleep = v_sleep, .xCurrentTime = v_time, .xGetLastError = v_last_error,
    .xCurrentTimeInt64 = v_time64,
};

static void install_once(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    if (!real_vfs)
        return;
    shim.szOsFile = (int)sizeof(fvfs_file) + real_vfs->szOsFile;
    shim.mxPathname = real_vfs->mxPathname;
    sqlite3_vfs_register(&shim, 1);
}

void fvfs_install(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_once);
}

#else

void fvfs_install(void)
{
}

#endif
