/*
 * contrib/bench/histo.h - a latency histogram of fixed size: values (in
 * microseconds) fall into buckets that are exact below 64 us and about 1.6%
 * wide above (64 sub-buckets per power of two), so percentiles of millions
 * of requests cost a few kilobytes and no sorting. The maximum is exact.
 */
#ifndef BM_HISTO_H
#define BM_HISTO_H

#include <stdint.h>

#define HISTO_SUB 64                 /* sub-buckets per power of two */
#define HISTO_BUCKETS (HISTO_SUB * 40)

typedef struct histo {
    uint64_t count;
    uint64_t max_us;
    uint64_t n[HISTO_BUCKETS];
} histo;

void histo_add(histo *h, uint64_t us);
/* The value below which a fraction q (0..1) of the samples lie, in us
 * (the upper edge of its bucket, capped at the maximum); 0 if empty. */
uint64_t histo_quantile(const histo *h, double q);

#endif
