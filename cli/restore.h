/*
 * cli/restore.h - `coffer restore-index` and `coffer rebuild-index`, the
 * CLI's offline commands (see restore.c).
 */
#ifndef CLI_RESTORE_H
#define CLI_RESTORE_H

#include <stdbool.h>

/* Restore the index of the configuration in config_file (-c) or of the
 * embedded default in var_dir (--var; exactly one of them is set) from
 * the newest usable snapshot, or from `from` (a disk directory or a
 * snapshot file) if not NULL. Prints progress and the report (JSON with
 * json). Returns the exit status: 0 restored, 1 refused or failed. */
int restore_index_run(const char *config_file, const char *var_dir, const char *from,
                      bool json);

/* Rebuild the index of that configuration from its disks alone (see
 * st_rebuild_index); dry_run writes nothing. Progress goes to stderr
 * (cli/progress.h), the report to stdout (JSON with json). Returns the
 * exit status: 0 rebuilt, 1 refused or failed. */
int rebuild_index_run(const char *config_file, const char *var_dir, bool dry_run,
                      bool json);

#endif
