/*
 * storage/shardout.h - the byte stream of one shard file being written,
 * with O_DIRECT where the file system takes it.
 *
 * A shard file (shard.h) is its header, then per block shard_len bytes and
 * a 4-byte CRC: after the 4096-byte header no block starts 4 KiB-aligned.
 * Written through the page cache, a large PUT spends an eighth of its CPU
 * copying into and managing page-cache pages and starting their
 * write-back, for files nobody reads soon. So in direct mode the appended
 * bytes are gathered in a 4 KiB-aligned staging buffer of SHARDOUT_STAGE
 * bytes, and every time it fills it is written with O_DIRECT at its
 * (aligned) file offset: the disk gets large aligned writes, the page
 * cache nothing. At the end O_DIRECT is turned off on the descriptor
 * (fcntl) and the last, partial piece and the header are written through
 * the page cache, so the file has its exact length with no padding and no
 * truncation: the bytes on disk are exactly those of a buffered write.
 * Durability is unchanged: the caller still fdatasyncs (O_DIRECT does not
 * make the file's size and extents durable).
 *
 * Where O_DIRECT is refused at open (EINVAL, as on some file systems) the
 * file is written buffered, exactly as without direct mode: writev at the
 * file position, one per append. Refused at a write, that write and the
 * rest of the file go through the page cache from the same staging
 * buffer. Either is said once per process on stderr.
 *
 * Every write goes through common/fio.h (fault injection, power loss).
 * Not thread-safe: a shard_out belongs to one thread at a time.
 */
#ifndef ST_SHARDOUT_H
#define ST_SHARDOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "storage/shard.h"

#define SHARDOUT_ALIGN 4096u
#define SHARDOUT_STAGE (256u << 10)      /* staged bytes per file in direct mode */

typedef struct shard_out {
    int fd;                              /* -1: closed */
    bool direct;                         /* O_DIRECT on, staging in use */
    uint8_t *stage;                      /* SHARDOUT_STAGE bytes, 4 KiB aligned */
    size_t fill;                         /* bytes staged */
    uint64_t at;                         /* file offset of stage[0] (aligned) */
} shard_out;

/* Create (truncate) the file at path for writing from SHARD_HEADER_SIZE
 * on, with O_DIRECT if want_direct and the file system takes it. 0, or
 * -1 with errno (nothing left open). */
int shardout_open(shard_out *o, const char *path, bool want_direct);
/* Append the bytes of iov[0..n). 0, or -1 with errno (ENOSPC for a short
 * write). */
int shardout_append(shard_out *o, const struct iovec *iov, int n);
/* Write the staged rest and the header; the file then has its exact
 * length. The caller fdatasyncs and closes. 0, or -1 with errno. */
int shardout_finish(shard_out *o, const uint8_t hdr[SHARD_HEADER_SIZE]);
/* Close the descriptor (if open) and free the staging buffer; close's
 * result (0, or -1 with errno). */
int shardout_close(shard_out *o);

#endif
