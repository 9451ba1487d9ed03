/*
 * common/bigbuf.c - recycled large buffers (bigbuf.h): a fixed array of
 * slots under one mutex. A buffer given back takes a free slot while the
 * limits allow, else it is freed; an allocation takes the most recently
 * kept buffer of its size (its pages are the likeliest to be in cache),
 * else asks the C library for a new one.
 */
#include "common/bigbuf.h"

#include <pthread.h>
#include <stdlib.h>

#define BIGBUF_ALIGN 4096

typedef struct slot {
    void *p;
    size_t n;
} slot;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slot slots[BIGBUF_KEEP];
static size_t nkept, kept_bytes;

void *bigbuf_alloc(size_t n)
{
    if (n == 0)
        n = 1;
    pthread_mutex_lock(&lock);
    for (size_t i = nkept; i-- > 0;) {
        if (slots[i].n != n)
            continue;
        void *p = slots[i].p;
        slots[i] = slots[--nkept];
        kept_bytes -= n;
        pthread_mutex_unlock(&lock);
        return p;
    }
    pthread_mutex_unlock(&lock);
    void *p = NULL;
    return posix_memalign(&p, BIGBUF_ALIGN, n) == 0 ? p : NULL;
}

void bigbuf_free(void *p, size_t n)
{
    if (!p)
        return;
    if (n == 0)
        n = 1;
    pthread_mutex_lock(&lock);
    if (nkept < BIGBUF_KEEP && n <= BIGBUF_KEEP_BYTES - kept_bytes) {
        slots[nkept++] = (slot){p, n};
        kept_bytes += n;
        p = NULL;
    }
    pthread_mutex_unlock(&lock);
    free(p);
}

size_t bigbuf_kept(void)
{
    pthread_mutex_lock(&lock);
    size_t n = nkept;
    pthread_mutex_unlock(&lock);
    return n;
}
