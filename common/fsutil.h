/*
 * common/fsutil.h - small file-system helpers with durability spelled out.
 *
 * fsu_write_atomic: write to PATH.tmp, fsync it, rename over PATH, fsync
 * the directory: after it returns, PATH holds the new content or (after a
 * crash before return) the old one, never a mix.
 */
#ifndef CF_FSUTIL_H
#define CF_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/* mkdir -p with mode 0700 for created components. */
int fsu_mkdir_p(const char *path, cf_err *err);
/* fsync a directory by path. */
int fsu_fsync_dir(const char *path, cf_err *err);
/* The directory part of path, fsynced. */
int fsu_fsync_parent(const char *path, cf_err *err);
int fsu_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                     cf_err *err);
/* The same with the content of the file src. */
int fsu_copy_atomic(const char *src, const char *path, mode_t mode, cf_err *err);
/* Read a whole small file (< bufsz bytes). Returns 0, or -errno (-ENOENT if
 * missing, -EFBIG if it does not fit). buf is NUL-terminated. */
int fsu_read_small(const char *path, char *buf, size_t bufsz, size_t *len);
/* write/pwrite everything, retrying short writes and EINTR: 0 or -errno. */
int fsu_write_all(int fd, const void *buf, size_t len);
int fsu_pwrite_all(int fd, const void *buf, size_t len, off_t off);
/* pread exactly len bytes: 0, -errno, or -ENODATA at a short file. */
int fsu_pread_all(int fd, void *buf, size_t len, off_t off);

#endif
