/*
 * contrib/bench/histo.c - see histo.h. Bucket index: values below HISTO_SUB
 * map to themselves; above, the position of the top bit picks a group of
 * HISTO_SUB buckets and the next six bits pick one within it.
 */
#include "contrib/bench/histo.h"

static int bucket_of(uint64_t v)
{
    if (v < HISTO_SUB)
        return (int)v;
    int top = 63 - __builtin_clzll(v);          /* >= 6 */
    int shift = top - 6;
    int idx = (shift + 1) * HISTO_SUB + (int)((v >> shift) - HISTO_SUB);
    return idx < HISTO_BUCKETS ? idx : HISTO_BUCKETS - 1;
}

/* The largest value that falls in bucket i. */
static uint64_t bucket_top(int i)
{
    if (i < HISTO_SUB)
        return (uint64_t)i;
    int shift = i / HISTO_SUB - 1;
    uint64_t base = (uint64_t)(i % HISTO_SUB + HISTO_SUB) << shift;
    return base + ((1ull << shift) - 1);
}

void histo_add(histo *h, uint64_t us)
{
    h->n[bucket_of(us)]++;
    h->count++;
    if (us > h->max_us)
        h->max_us = us;
}

uint64_t histo_quantile(const histo *h, double q)
{
    if (h->count == 0)
        return 0;
    uint64_t want = (uint64_t)(q * (double)h->count + 0.5), seen = 0;
    if (want < 1)
        want = 1;
    for (int i = 0; i < HISTO_BUCKETS; i++) {
        seen += h->n[i];
        if (seen >= want) {
            uint64_t top = bucket_top(i);
            return top < h->max_us ? top : h->max_us;
        }
    }
    return h->max_us;
}
