/*
 * common/bigbuf.h - the large buffers a request works in (an engine
 * block, an encoded stripe: 256 KiB to a few MiB), recycled.
 *
 * cofferd serves allocations of 256 KiB and more by mmap (server/main.c),
 * so that idle threads do not keep them resident; but a fresh mapping
 * costs a page fault and a zeroed page per 4 KiB touched and an munmap at
 * the end, about a fifth of cofferd's CPU for a 256 KiB PUT. Buffers given
 * back here are kept, up to BIGBUF_KEEP of them and BIGBUF_KEEP_BYTES in
 * all, and handed out again for the same size; past those limits they are
 * freed as before. So the cache adds at most BIGBUF_KEEP_BYTES to the
 * process's resident memory, and a steady stream of requests reuses pages
 * that are already mapped.
 *
 * Contract: bigbuf_alloc(n) returns n bytes (uninitialised, like malloc:
 * a recycled buffer holds what its last user left in it) aligned to 4 KiB,
 * or NULL; bigbuf_free(p, n) takes it back, n the size it was allocated
 * with (p may be NULL). Any thread; one mutex inside, held only to take
 * or leave a slot.
 */
#ifndef COMMON_BIGBUF_H
#define COMMON_BIGBUF_H

#include <stddef.h>

#define BIGBUF_KEEP 64                       /* buffers kept at most */
#define BIGBUF_KEEP_BYTES ((size_t)48 << 20) /* and their bytes at most */

void *bigbuf_alloc(size_t n);
void bigbuf_free(void *p, size_t n);
/* How many buffers are kept now (for tests). */
size_t bigbuf_kept(void);

#endif
