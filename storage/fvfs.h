/*
 * storage/fvfs.h - SQLite's I/O through the fault-injection hook
 * (common/fio.h): a VFS shim over SQLite's default VFS that counts every
 * write, truncate and sync SQLite makes of the index, its WAL and its
 * snapshot copies, fails the ones a rule names (as SQLITE_IOERR_WRITE /
 * SQLITE_IOERR_FSYNC / SQLITE_FULL, which SQLite then handles as it would
 * a real disk error), and tells the power-loss log what it wrote and
 * synced. It forwards everything else unchanged.
 *
 * fvfs_install makes the shim SQLite's default VFS, once per process; in
 * a build without the hook it does nothing. Call it before the first
 * sqlite3_open (idx_open does). Thread-safe.
 *
 * Not simulated for SQLite's files: the loss of a creation or deletion of
 * the file itself (SQLite fsyncs their directories inside its own VFS,
 * where the shim cannot see it).
 */
#ifndef ST_FVFS_H
#define ST_FVFS_H

void fvfs_install(void);

#endif
