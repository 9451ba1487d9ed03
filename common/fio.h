/*
 * common/fio.h - the file operations whose failure decides durability,
 * with a fault-injection hook in test builds (the way SQLite tests every
 * I/O error path: make the N-th operation fail, for every N of a
 * workload).
 *
 * Every write, fsync/fdatasync and rename of shard files, snapshots,
 * format files, key files and the index's own WAL fdatasync goes through
 * these calls, and so does every unlink of GC (orphans, the delete
 * queue's segments); SQLite's own writes and syncs go through them too, by the
 * VFS shim in storage/fvfs.c. They behave exactly like the system calls
 * they wrap (same return value, errno set on failure).
 *
 * A build configured with --enable-fault-injection (COFFER_FAULTS) counts
 * every operation per class and fails the ones a rule names. Rules come
 * from the environment variable COFFER_FAULTS (read once, at the first
 * operation) or from fio_fault_set (tests), a comma-separated list:
 *
 *   CLASS@N[+][=ERRNO][:PATHPART]
 *       the N-th operation of CLASS (write, fsync, rename, walsync, read,
 *       unlink, any) fails with ERRNO (EIO, ENOSPC, EROFS, EDQUOT, EINVAL:
 *       a file system refusing an O_DIRECT write; default
 *       EIO); "any" (and powercut, kill) leave reads and unlinks out: a
 *       read changes nothing a crash could undo, and counting either
 *       would move every N a driver has measured for writes; with
 *       '+' that one and every later one (a dead or full disk); with
 *       :PATHPART only operations on paths containing PATHPART count
 *       ("disk3/" fails one disk). PATHPART is a plain substring (up to
 *       PATH_MAX): give a disk's whole directory where its name could
 *       occur elsewhere in a path. A disk named "d3" is also the fan-out
 *       directory objects/d3/ of every disk (a shard file lives in the
 *       directory of its id's first two hex digits), so "d3/" would also
 *       fail the renames, reads and unlinks of such a shard on them all.
 *   powercut@N
 *       at the N-th operation of any class the process loses power: every
 *       effect not yet made durable is undone (see below), then it exits
 *       at once with status FIO_POWERCUT_STATUS, as if the machine died.
 *   kill@N
 *       at the N-th operation the process exits at once (like SIGKILL at
 *       an exact point), undoing nothing.
 *
 * Power loss, simulated (doc/durability.md says what is not): while a
 * powercut rule is armed, every file written through these calls is
 * followed by inode. Bytes written after the file's last successful
 * fsync/fdatasync are lost (appends are truncated away, overwrites of
 * synced bytes get their old bytes back), and a creation, rename or unlink
 * is lost unless its directory was fsynced after it (a rename over an
 * existing file brings the old file back). What is not simulated: a
 * subset of unsynced writes surviving (torn writes, reordering), a disk
 * cache that lies about flushes, and files changed by other means.
 *
 * Counting: fio_count(CLASS) is how many operations of that class ran
 * (failed ones included); with COFFER_FIO_COUNTS=FILE in the environment
 * the counts are also written to FILE at exit ("write N\nfsync N\n..."),
 * so a driver learns how many N a workload has.
 *
 * Without COFFER_FAULTS everything here is a direct system call: no
 * counting, no rules (fio_fault_set then fails with ENOSYS).
 *
 * Threading: every call may be made from any thread; rules and counters
 * are process-wide.
 */
#ifndef CF_FIO_H
#define CF_FIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef enum fio_class {
    FIO_WRITE,                   /* write, pwrite, writev, ftruncate */
    FIO_FSYNC,                   /* fsync, fdatasync of files and directories */
    FIO_RENAME,                  /* rename */
    FIO_WALSYNC,                 /* the index's group-commit WAL fdatasync */
    FIO_READ,                    /* preadv of shard blocks (fio_preadv) */
    FIO_UNLINK,                  /* unlink (fio_unlink): GC, the delete queue */
    FIO_NCLASSES
} fio_class;

#define FIO_POWERCUT_STATUS 86   /* exit status of a simulated power loss */

/* Open like open(2); a file created here is followed for power loss. */
int fio_open(const char *path, int flags, mode_t mode);
int fio_close(int fd);
ssize_t fio_write(int fd, const void *buf, size_t len);
ssize_t fio_pwrite(int fd, const void *buf, size_t len, off_t off);
ssize_t fio_writev(int fd, const struct iovec *iov, int n);
int fio_ftruncate(int fd, off_t len);
int fio_fsync(int fd);
int fio_fdatasync(int fd);
/* The index's WAL fdatasync: its own class, so that its sticky failure
 * path can be driven alone. */
int fio_walsync(int fd);
int fio_rename(const char *from, const char *to);
/* Unlink like unlink(2): its own class, so that GC's failure paths (an
 * orphan or a deleted segment's file that cannot be removed) can be
 * driven alone. */
int fio_unlink(const char *path);
/* Read like preadv(2): the shard reader's block reads (segread.c), so that
 * a disk failing on read (EIO) can be driven too. */
ssize_t fio_preadv(int fd, const struct iovec *iov, int n, off_t off);

/* For the SQLite shim (storage/fvfs.c), which does the I/O itself through
 * SQLite's default VFS: count an operation of cls on path and decide.
 * Returns 0 to go ahead, or the errno it must fail with. */
int fio_check(fio_class cls, const char *path);
/* The shim tells what it did, so that power loss can undo it: a write of
 * len bytes at off on fd (before it is done), and a successful sync. */
void fio_note_write(int fd, off_t off, size_t len);
void fio_note_sync(int fd);
void fio_note_open(int fd, const char *path, bool created);
void fio_note_close(int fd);

/* Replace the rules (the syntax above; "" or NULL: none) and reset the
 * counters. 0, or -1 with errno (EINVAL: malformed; ENOSYS: not a fault
 * build). */
int fio_fault_set(const char *rules);
uint64_t fio_count(fio_class cls);
/* Whether a rule has made an operation fail since the last fio_fault_set. */
bool fio_fault_fired(void);
/* Whether this build has the hook. */
bool fio_faults_built(void);

#endif
