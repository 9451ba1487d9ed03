/*
 * server/sbuf.h - a growable byte buffer for response bodies and request
 * bodies that must be parsed whole (small XML documents).
 *
 * Contract: appends never fail loudly; an allocation failure or exceeding
 * the buffer's limit sets `failed` and later appends are ignored, so a
 * writer emits a whole document and checks once at the end. The owner
 * calls sbuf_free. limit 0 means unlimited (used for generated output,
 * which is bounded by the listing page sizes).
 */
#ifndef SRV_SBUF_H
#define SRV_SBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sbuf {
    char *p;
    size_t len, cap, limit;
    bool failed;
} sbuf;

void sbuf_init(sbuf *b, size_t limit);
void sbuf_free(sbuf *b);
void sbuf_add(sbuf *b, const void *data, size_t n);
void sbuf_puts(sbuf *b, const char *s);
void sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
