/*
 * server/pool.h - per-request memory (nginx style).
 *
 * Contract: every allocation a request makes for its own bookkeeping (parsed
 * path, query parameters, header copies, response headers) comes from the
 * request's pool and lives exactly as long as the request: pool_free() at
 * request completion releases all of it at once, so handlers never free
 * individual strings and cannot leak them. Allocation failure returns NULL;
 * callers turn that into a 500 (never a crash). A pool is used by one thread
 * at a time, like the request that owns it.
 */
#ifndef SRV_POOL_H
#define SRV_POOL_H

#include <stddef.h>

typedef struct pool pool;

pool *pool_new(void);
void pool_free(pool *p);
void *pool_alloc(pool *p, size_t n);          /* zeroed, 16-byte aligned */
char *pool_strdup(pool *p, const char *s);
char *pool_strndup(pool *p, const char *s, size_t n);
char *pool_printf(pool *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
