/*
 * common/fsutil.c - see fsutil.h. Every loop here retries EINTR and short
 * transfers; every error comes back as -errno or through cf_err.
 */
#include "common/fsutil.h"

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
    int rc = fsync(fd);
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
        ssize_t n = write(fd, p, len);
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
        ssize_t n = pwrite(fd, p, len, off);
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

int fsu_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                     cf_err *err)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return cf_fail(err, CF_EINVAL, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return cf_fail_errno(err, CF_EIO, errno, "create %s", tmp);
    int rc = fchmod(fd, mode) == 0 ? fsu_write_all(fd, data, len) : -errno;
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0) {
        unlink(tmp);
        return cf_fail_errno(err, CF_EIO, -rc, "write %s", path);
    }
    return fsu_fsync_parent(path, err);
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
