/*
 * common/fsutil.c - see fsutil.h. Every loop here retries EINTR and short
 * transfers; every error comes back as -errno or through cf_err. Writes,
 * syncs and renames go through common/fio.h, so the fault-injection hook
 * reaches every durable file coffer writes.
 */
#include "common/fsutil.h"

#include "common/fio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fsu_mkdir_p(const char *path, cf_err *err)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return cf_fail(err, CF_EINVAL, "bad directory path");
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return cf_fail_errno(err, CF_EIO, errno, "mkdir %s", buf);
        *p = saved;
        if (saved == '\0')
            break;
    }
    return 0;
}

int fsu_fsync_dir(const char *path, cf_err *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return cf_fail_errno(err, CF_EIO, errno, "open directory %s", path);
    int rc = fio_fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0)
        return cf_fail_errno(err, CF_EIO, e, "fsync directory %s", path);
    return 0;
}

int fsu_fsync_parent(const char *path, cf_err *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return fsu_fsync_dir(".", err);
    if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    return fsu_fsync_dir(dir, err);
}

int fsu_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = fio_write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fsu_pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = fio_pwrite(fd, p, len, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        off += n;
        len -= (size_t)n;
    }
    return 0;
}

int fsu_pread_all(int fd, void *buf, size_t len, off_t off)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -ENODATA;
        p += n;
        off += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Open PATH.tmp (truncated, mode) for an atomic replacement of path. */
static int open_tmp(const char *path, char tmp[PATH_MAX], mode_t mode, cf_err *err)
{
    if ((size_t)snprintf(tmp, PATH_MAX, "%s.tmp", path) >= PATH_MAX)
        return cf_fail(err, CF_EINVAL, "path too long: %s", path);
    int fd = fio_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return cf_fail_errno(err, CF_EIO, errno, "create %s", tmp);
    if (fchmod(fd, mode) != 0) {
        int e = errno;
        fio_close(fd);
        fio_unlink(tmp);
        return cf_fail_errno(err, CF_EIO, e, "chmod %s", tmp);
    }
    return fd;
}

/* After writing fd (rc 0 or -errno so far): fsync, close, rename over
 * path, fsync the directory; on failure the temp file is removed. */
static int commit_tmp(int fd, const char *tmp, const char *path, int rc, cf_err *err)
{
    if (rc == 0 && fio_fsync(fd) != 0)
        rc = -errno;
    fio_close(fd);
    if (rc == 0 && fio_rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0) {
        fio_unlink(tmp);
        return cf_fail_errno(err, CF_EIO, -rc, "write %s", path);
    }
    return fsu_fsync_parent(path, err);
}

int fsu_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                     cf_err *err)
{
    char tmp[PATH_MAX];
    int fd = open_tmp(path, tmp, mode, err);
    if (fd < 0)
        return -1;
    return commit_tmp(fd, tmp, path, fsu_write_all(fd, data, len), err);
}

int fsu_copy_atomic(const char *src, const char *path, mode_t mode, cf_err *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return cf_fail_errno(err, CF_EIO, errno, "open %s", src);
    char tmp[PATH_MAX];
    int fd = open_tmp(path, tmp, mode, err);
    if (fd < 0) {
        close(in);
        return -1;
    }
    char buf[64 * 1024];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : 0;
            break;
        }
        if ((rc = fsu_write_all(fd, buf, (size_t)n)) != 0)
            break;
    }
    close(in);
    return commit_tmp(fd, tmp, path, rc, err);
}

int fsu_read_small(const char *path, char *buf, size_t bufsz, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    int rc = 0;
    for (;;) {
        if (got == bufsz - 1) {
            char extra;
            ssize_t n = read(fd, &extra, 1);
            rc = n > 0 ? -EFBIG : (n < 0 ? -errno : 0);
            break;
        }
        ssize_t n = read(fd, buf + got, bufsz - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *len = got;
    return rc;
}
