/*
 * server/metrics.h - a small metrics registry of our own: counters, gauges
 * and histograms with labels, rendered in the Prometheus text exposition
 * format (version 0.0.4).
 *
 * Contract:
 *  - Families are registered once (mx_counter, mx_gauge, mx_histogram),
 *    usually at start; registering is thread-safe and may happen at any
 *    time. A family has a name, a help text, a fixed list of label names
 *    ("tenant,operation", or NULL for none) and, for a histogram, its
 *    bucket upper bounds. Names follow Prometheus conventions; the
 *    registry only checks their characters.
 *  - Updates (mx_add, mx_observe) may come from any thread and never
 *    contend with another updating thread: each thread updates its own
 *    shard (per-thread cells behind a per-thread mutex that only a scrape
 *    also takes, briefly). An update costs a hash lookup in the thread's
 *    shard; the first update from a new thread registers its shard.
 *    `values` holds one string per label name, in order; they are copied.
 *  - Label sets must be bounded by the caller (tenants, operations, disks:
 *    never buckets or keys). As a safety net each family keeps at most
 *    MX_MAX_SERIES label sets per thread; updates for more are dropped and
 *    reported once on stderr.
 *  - Values known elsewhere (disk capacity, queue lengths, the engine's
 *    counters) come from collectors: a callback registered with
 *    mx_collector runs at every render and reports samples with mx_set /
 *    mx_set_histogram into the sink it is given. Collectors run in the
 *    rendering thread, one render at a time.
 *  - mx_render merges every thread's shard and every collector's samples
 *    per family and label set (summing), and writes the families in
 *    registration order, series sorted by label values.
 *  - mx_total sums a family's series (optionally only those with one label
 *    equal to a value), for in-process consumers such as the console.
 *
 * Adding a metric later is one line to register and one to update:
 *     f = mx_counter(reg, "coffer_tier_moved_bytes_total", "...", "tenant");
 *     mx_add(f, (const char *[]){tenant}, (double)n);
 */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define MX_MAX_LABELS 4
#define MX_MAX_BUCKETS 24
#define MX_MAX_SERIES 4096

typedef struct mx_registry mx_registry;
typedef struct mx_family mx_family;
typedef struct mx_sink mx_sink;

mx_registry *mx_new(void);
/* Frees the registry, its families and every thread's shard. No thread may
 * update it any more. */
void mx_free(mx_registry *reg);

/* NULL only when memory runs out or the arguments are malformed (bad name,
 * too many labels or buckets, bounds not increasing). */
mx_family *mx_counter(mx_registry *reg, const char *name, const char *help,
                      const char *labels);
mx_family *mx_gauge(mx_registry *reg, const char *name, const char *help,
                    const char *labels);
mx_family *mx_histogram(mx_registry *reg, const char *name, const char *help,
                        const char *labels, const double *bounds, size_t nbounds);

/* Counter: v >= 0. Gauge: v may be negative (e.g. +1 / -1). */
void mx_add(mx_family *f, const char *const *values, double v);
/* Histogram: one observation. */
void mx_observe(mx_family *f, const char *const *values, double v);

typedef void (*mx_collect_fn)(void *ctx, mx_sink *sink);
int mx_collector(mx_registry *reg, mx_collect_fn fn, void *ctx);
/* From a collector: the current value of a counter or gauge series. */
void mx_set(mx_sink *sink, mx_family *f, const char *const *values, double v);
/* From a collector: a histogram series from counts per bucket (not
 * cumulative; nbounds + 1 of them, the last for +Inf) and their sum. */
void mx_set_histogram(mx_sink *sink, mx_family *f, const char *const *values,
                      const uint64_t *counts, double sum);

/* The exposition text (malloc'd, NUL-terminated), or NULL if memory ran
 * out. *len gets its length. */
char *mx_render(mx_registry *reg, size_t *len);

/* Sum of the family's updated series (not collected ones; a histogram's
 * observation count); label < 0 sums all, else only series whose label
 * number `label` equals value. */
double mx_total(mx_family *f, int label, const char *value);

#endif
