/*
 * server/pool.c - a bump allocator over a chain of blocks. Small requests
 * are carved from the current 4 KiB block; anything larger than a quarter
 * block gets a block of its own, so a single big string never wastes a
 * mostly empty block. pool_free walks the chain once.
 */
#include "server/pool.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_BLOCK 4096
#define POOL_ALIGN 16

typedef struct pool_block {
    struct pool_block *next;
    size_t used, size;
    _Alignas(POOL_ALIGN) unsigned char data[];
} pool_block;

struct pool {
    pool_block *head;    /* current block for small allocations */
    pool_block *big;     /* dedicated blocks for large allocations */
};

static pool_block *block_new(size_t size)
{
    pool_block *b = malloc(sizeof(*b) + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->used = 0;
    b->size = size;
    return b;
}

pool *pool_new(void)
{
    pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->head = block_new(POOL_BLOCK);
    if (!p->head) {
        free(p);
        return NULL;
    }
    return p;
}

static void chain_free(pool_block *b)
{
    while (b) {
        pool_block *next = b->next;
        free(b);
        b = next;
    }
}

void pool_free(pool *p)
{
    if (!p)
        return;
    chain_free(p->head);
    chain_free(p->big);
    free(p);
}

void *pool_alloc(pool *p, size_t n)
{
    size_t need = (n + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
    if (need < n)
        return NULL;
    if (need > POOL_BLOCK / 4) {
        pool_block *b = block_new(need);
        if (!b)
            return NULL;
        b->next = p->big;
        p->big = b;
        memset(b->data, 0, need);
        return b->data;
    }
    if (p->head->size - p->head->used < need) {
        pool_block *b = block_new(POOL_BLOCK);
        if (!b)
            return NULL;
        b->next = p->head;
        p->head = b;
    }
    void *out = p->head->data + p->head->used;
    p->head->used += need;
    memset(out, 0, need);
    return out;
}

char *pool_strndup(pool *p, const char *s, size_t n)
{
    char *out = pool_alloc(p, n + 1);
    if (!out)
        return NULL;
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

char *pool_strdup(pool *p, const char *s)
{
    return pool_strndup(p, s, strlen(s));
}

char *pool_printf(pool *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *out = pool_alloc(p, (size_t)n + 1);
    if (!out)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}
