/*
 * server/accesslog.c - JSON-lines access log (contract in accesslog.h).
 *
 * Each call formats the whole line into one heap buffer sized for the worst
 * case (every input byte escaped to six characters), then writes it with a
 * single write(2) while holding the log's mutex; the loop around write only
 * matters for a short write to a pipe, and the mutex keeps even that from
 * interleaving with another thread's line. Formatting happens outside the
 * lock so request threads only serialise on the write itself.
 *
 * A failed write is reported once on stderr and otherwise ignored: losing a
 * log line must not fail a request.
 */
#include "server/accesslog.h"

#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static bool log_owned;          /* a file we opened (not stdout) */
static bool log_failed;         /* a write error was already reported */

static void close_locked(void)
{
    if (log_owned)
        close(log_fd);
    log_fd = -1;
    log_owned = false;
}

int accesslog_open(const char *path, cf_err *err)
{
    bool to_stdout = !path || strcmp(path, "-") == 0;
    int fd = STDOUT_FILENO;
    if (!to_stdout) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd < 0)
            return cf_fail_errno(err, CF_EIO, errno, "access log %s", path);
    }
    pthread_mutex_lock(&log_lock);
    close_locked();
    log_fd = fd;
    log_owned = !to_stdout;
    log_failed = false;
    pthread_mutex_unlock(&log_lock);
    return 0;
}

void accesslog_close(void)
{
    pthread_mutex_lock(&log_lock);
    close_locked();
    pthread_mutex_unlock(&log_lock);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (c == 0xE0) lo = 0xA0;          /* no overlong forms */
    if (c == 0xED) hi = 0x9F;          /* no surrogates */
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;          /* nothing above U+10FFFF */
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* Append s as a JSON string (or null) at out; returns bytes written. At most
 * 6 * strlen(s) + 2 bytes. */
static size_t put_string(char *out, const char *s)
{
    if (!s) {
        memcpy(out, "null", 4);
        return 4;
    }
    char *o = out;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    *o++ = '"';
    while (n > 0) {
        size_t len = utf8_len(p, n);
        if (len == 0) {
            memcpy(o, "\\ufffd", 6);
            o += 6;
            len = 1;
        } else if (*p == '"' || *p == '\\') {
            *o++ = '\\';
            *o++ = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            o += sprintf(o, "\\u%04x", *p);
        } else {
            memcpy(o, p, len);
            o += len;
        }
        p += len;
        n -= len;
    }
    *o++ = '"';
    return (size_t)(o - out);
}

static size_t put_time(char *out)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "\"%Y-%m-%dT%H:%M:%S", &tm);
    return n + (size_t)sprintf(out + n, ".%03ldZ\"", ts.tv_nsec / 1000000);
}

static size_t worst_case(const char *s)
{
    return s ? 6 * strlen(s) + 2 : 4;
}

/* Format the whole line; returns a malloc'd buffer and its length. */
static char *format_line(const accesslog_entry *e, size_t *len)
{
    const char *names[] = {"request_id", "tenant", "op", "bucket", "key"};
    const char *values[] = {e->request_id, e->tenant, e->op, e->bucket, e->key};
    size_t cap = 1024;   /* time, numbers (a double may print 300+ digits) */
    for (size_t i = 0; i < 5; i++)
        cap += strlen(names[i]) + 4 + worst_case(values[i]);
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    char *o = buf;
    o += sprintf(o, "{\"time\":");
    o += put_time(o);
    for (size_t i = 0; i < 5; i++) {
        o += sprintf(o, ",\"%s\":", names[i]);
        o += put_string(o, values[i]);
    }
    double ms = isfinite(e->duration_ms) && e->duration_ms > 0 ? e->duration_ms : 0;
    o += sprintf(o, ",\"status\":%d,\"bytes_in\":%llu,\"bytes_out\":%llu,"
                 "\"duration_ms\":%.3f}\n", e->status,
                 (unsigned long long)e->bytes_in, (unsigned long long)e->bytes_out, ms);
    *len = (size_t)(o - buf);
    return buf;
}

void accesslog_write(const accesslog_entry *entry)
{
    pthread_mutex_lock(&log_lock);
    bool is_open = log_fd >= 0;
    pthread_mutex_unlock(&log_lock);
    if (!is_open)
        return;
    size_t len;
    char *line = format_line(entry, &len);
    pthread_mutex_lock(&log_lock);
    if (line && log_fd >= 0 && fsu_write_all(log_fd, line, len) < 0 && !log_failed) {
        log_failed = true;
        fprintf(stderr, "cofferd: access log: write failed: %s\n", strerror(errno));
    }
    pthread_mutex_unlock(&log_lock);
    free(line);
}
