/*
 * server/accesslog.h - the access log: one JSON object per request, one
 * line each, for people and for tools (jq, log shippers).
 *
 * A line holds: time (ISO-8601 UTC with milliseconds), request_id, tenant,
 * op, bucket, key, status, bytes_in, bytes_out, duration_ms. Missing string
 * fields (NULL) are JSON null. Strings are JSON-escaped, and bytes that are
 * not valid UTF-8 become U+FFFD, so every line is valid JSON whatever an
 * object key contains.
 *
 * Threads: accesslog_write may be called from any thread at any time; each
 * line reaches the file with a single write(2) (O_APPEND) under a lock, so
 * lines never interleave. Before accesslog_open and after accesslog_close,
 * accesslog_write does nothing, so a server without an access log simply
 * never opens one. Nothing secret is ever passed here.
 */
#ifndef COFFER_ACCESSLOG_H
#define COFFER_ACCESSLOG_H

#include <stdint.h>

#include "common/error.h"

typedef struct accesslog_entry {
    const char *request_id, *tenant, *op, *bucket, *key;
    int status;
    uint64_t bytes_in, bytes_out;
    double duration_ms;
} accesslog_entry;

/* Open (create, append) path with mode 0640; NULL or "-" means stdout. An
 * already open log is closed first. */
int accesslog_open(const char *path, cf_err *err);
void accesslog_write(const accesslog_entry *entry);
void accesslog_close(void);

#endif
