/*
 * server/metrics.c - the metrics registry (contract in metrics.h).
 *
 * Why updates are cheap: every thread that updates gets a shard of its
 * own, found through a thread-local pointer. A shard is a small
 * open-addressing hash table of cells, one per (family, label values);
 * the thread takes only its own shard's mutex, which nobody else takes
 * except a scrape copying the cells out. So request threads never wait
 * for each other, only (rarely, for a few microseconds) for a scrape.
 * Counters keep doubles: exact for integers up to 2^53 (8 PiB of bytes).
 *
 * A render copies every shard's cells and every collector's samples into
 * one array, sorts it by (family, label values) and sums runs of equal
 * series, so the same series updated from sixteen threads prints once.
 *
 * Keys: the label values of a series, each followed by a NUL byte, so
 * that keys compare with memcmp and no value can run into the next.
 */
#include "server/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/sbuf.h"

#define MX_KEY_MAX 4096              /* label values of one series, in all */

typedef enum mx_type { MX_COUNTER, MX_GAUGE, MX_HISTOGRAM } mx_type;

struct mx_family {
    mx_registry *reg;
    mx_family *next;
    unsigned index;                  /* registration order */
    mx_type type;
    char *name, *help;
    int nlabels;
    char *labels[MX_MAX_LABELS];
    size_t nbounds;
    double bounds[MX_MAX_BUCKETS];
    atomic_bool warned;              /* the series cap was reported */
};

typedef struct mx_cell {
    const mx_family *f;
    uint32_t hash, klen;
    double value;                    /* counter, gauge; histogram: sum */
    uint64_t count;                  /* histogram observations */
    uint64_t buckets[MX_MAX_BUCKETS + 1]; /* histogram only (not cumulative) */
    char key[];
} mx_cell;

typedef struct mx_shard {
    struct mx_shard *next;
    pthread_t owner;
    pthread_mutex_t lock;
    mx_cell **slots;
    size_t cap, used;
    unsigned *series;                /* per family index: cells in this shard */
    size_t nseries;
} mx_shard;

typedef struct mx_coll {
    struct mx_coll *next;
    mx_collect_fn fn;
    void *ctx;
} mx_coll;

struct mx_registry {
    uint64_t id;
    pthread_mutex_t lock;            /* the lists below (append only) */
    mx_family *families, **ftail;
    unsigned nfamilies;
    mx_coll *collectors, **ctail;
    mx_shard *shards;
    pthread_mutex_t render_lock;     /* one render at a time */
};

/* One series while rendering. */
typedef struct mx_sample {
    const mx_family *f;
    char *key;
    uint32_t klen;
    double value;
    uint64_t count;
    uint64_t buckets[MX_MAX_BUCKETS + 1];
} mx_sample;

struct mx_sink {
    mx_sample *v;
    size_t n, cap;
    bool failed;
};

static atomic_uint_fast64_t next_registry_id = 1;
static _Thread_local uint64_t tls_registry;
static _Thread_local mx_shard *tls_shard;

/* ---- registration ------------------------------------------------------ */

mx_registry *mx_new(void)
{
    mx_registry *reg = calloc(1, sizeof *reg);
    if (!reg)
        return NULL;
    reg->id = atomic_fetch_add(&next_registry_id, 1);
    pthread_mutex_init(&reg->lock, NULL);
    pthread_mutex_init(&reg->render_lock, NULL);
    reg->ftail = &reg->families;
    reg->ctail = &reg->collectors;
    return reg;
}

void mx_free(mx_registry *reg)
{
    if (!reg)
        return;
    for (mx_shard *s = reg->shards, *next; s; s = next) {
        next = s->next;
        for (size_t i = 0; i < s->cap; i++)
            free(s->slots[i]);
        free(s->slots);
        free(s->series);
        pthread_mutex_destroy(&s->lock);
        free(s);
    }
    for (mx_family *f = reg->families, *next; f; f = next) {
        next = f->next;
        free(f->name);
        free(f->help);
        for (int i = 0; i < f->nlabels; i++)
            free(f->labels[i]);
        free(f);
    }
    for (mx_coll *c = reg->collectors, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    pthread_mutex_destroy(&reg->lock);
    pthread_mutex_destroy(&reg->render_lock);
    free(reg);
}

static bool valid_name(const char *s)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_:") == strlen(s);
}

/* Split "a,b" into f->labels. */
static bool parse_labels(mx_family *f, const char *labels)
{
    if (!labels || !*labels)
        return true;
    const char *p = labels;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (f->nlabels == MX_MAX_LABELS || n == 0)
            return false;
        char *name = strndup(p, n);
        if (!name)
            return false;
        f->labels[f->nlabels++] = name;
        if (!valid_name(name) || strchr(name, ':') || strcmp(name, "le") == 0)
            return false;
        p += n;
        if (*p == ',')
            p++;
    }
    return true;
}

static mx_family *family_new(mx_registry *reg, mx_type type, const char *name,
                             const char *help, const char *labels,
                             const double *bounds, size_t nbounds)
{
    if (!valid_name(name) || nbounds > MX_MAX_BUCKETS)
        return NULL;
    for (size_t i = 1; i < nbounds; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return NULL;
    mx_family *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->reg = reg;
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->nbounds = nbounds;
    if (nbounds)
        memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
    if (!f->name || !f->help || !parse_labels(f, labels)) {
        free(f->name);
        free(f->help);
        for (int i = 0; i < f->nlabels; i++)
            free(f->labels[i]);
        free(f);
        return NULL;
    }
    pthread_mutex_lock(&reg->lock);
    f->index = reg->nfamilies++;
    *reg->ftail = f;
    reg->ftail = &f->next;
    pthread_mutex_unlock(&reg->lock);
    return f;
}

mx_family *mx_counter(mx_registry *reg, const char *name, const char *help,
                      const char *labels)
{
    return family_new(reg, MX_COUNTER, name, help, labels, NULL, 0);
}

mx_family *mx_gauge(mx_registry *reg, const char *name, const char *help,
                    const char *labels)
{
    return family_new(reg, MX_GAUGE, name, help, labels, NULL, 0);
}

mx_family *mx_histogram(mx_registry *reg, const char *name, const char *help,
                        const char *labels, const double *bounds, size_t nbounds)
{
    if (nbounds == 0)
        return NULL;
    return family_new(reg, MX_HISTOGRAM, name, help, labels, bounds, nbounds);
}

int mx_collector(mx_registry *reg, mx_collect_fn fn, void *ctx)
{
    mx_coll *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->fn = fn;
    c->ctx = ctx;
    pthread_mutex_lock(&reg->lock);
    *reg->ctail = c;
    reg->ctail = &c->next;
    pthread_mutex_unlock(&reg->lock);
    return 0;
}

/* ---- keys ------------------------------------------------------------- */

/* The key of values into buf; its length, or 0 if it does not fit. */
static uint32_t make_key(const mx_family *f, const char *const *values, char *buf)
{
    size_t n = 0;
    for (int i = 0; i < f->nlabels; i++) {
        const char *v = values && values[i] ? values[i] : "";
        size_t len = strlen(v);
        if (n + len + 1 > MX_KEY_MAX)
            return 0;
        memcpy(buf + n, v, len + 1);
        n += len + 1;
    }
    return (uint32_t)n;
}

static uint32_t hash_key(const mx_family *f, const char *key, uint32_t klen)
{
    uint32_t h = 2166136261u;
    uintptr_t p = (uintptr_t)f;
    for (size_t i = 0; i < sizeof p; i++) {
        h ^= (uint8_t)(p >> (8 * i));
        h *= 16777619u;
    }
    for (uint32_t i = 0; i < klen; i++) {
        h ^= (uint8_t)key[i];
        h *= 16777619u;
    }
    return h;
}

/* ---- shards ------------------------------------------------------------ */

static mx_shard *shard_for_thread(mx_registry *reg)
{
    if (tls_registry == reg->id)
        return tls_shard;
    pthread_t self = pthread_self();
    pthread_mutex_lock(&reg->lock);
    mx_shard *s = reg->shards;
    while (s && !pthread_equal(s->owner, self))
        s = s->next;
    if (!s && (s = calloc(1, sizeof *s))) {
        s->owner = self;
        pthread_mutex_init(&s->lock, NULL);
        s->next = reg->shards;
        reg->shards = s;
    }
    pthread_mutex_unlock(&reg->lock);
    if (s) {
        tls_registry = reg->id;
        tls_shard = s;
    }
    return s;
}

static bool shard_grow(mx_shard *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    mx_cell **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < s->cap; i++) {
        mx_cell *c = s->slots[i];
        if (!c)
            continue;
        size_t j = c->hash & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = c;
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return true;
}

static bool series_room(mx_shard *s, mx_family *f)
{
    if (f->index >= s->nseries) {
        size_t n = f->index + 16;
        unsigned *v = realloc(s->series, n * sizeof *v);
        if (!v)
            return false;
        memset(v + s->nseries, 0, (n - s->nseries) * sizeof *v);
        s->series = v;
        s->nseries = n;
    }
    if (s->series[f->index] < MX_MAX_SERIES)
        return true;
    if (!atomic_exchange(&f->warned, true))
        fprintf(stderr, "cofferd: metrics: %s has more than %d label sets; "
                "dropping updates for new ones\n", f->name, MX_MAX_SERIES);
    return false;
}

/* The cell for (f, key) in s, created if missing; s->lock held. */
static mx_cell *cell_get(mx_shard *s, mx_family *f, const char *key,
                         uint32_t klen)
{
    uint32_t h = hash_key(f, key, klen);
    if (s->cap) {
        for (size_t j = h & (s->cap - 1);; j = (j + 1) & (s->cap - 1)) {
            mx_cell *c = s->slots[j];
            if (!c)
                break;
            if (c->hash == h && c->f == f && c->klen == klen &&
                memcmp(c->key, key, klen) == 0)
                return c;
        }
    }
    if (!series_room(s, f))
        return NULL;
    if ((s->used + 1) * 2 > s->cap && !shard_grow(s))
        return NULL;
    mx_cell *c = calloc(1, sizeof *c + klen);
    if (!c)
        return NULL;
    c->f = f;
    c->hash = h;
    c->klen = klen;
    memcpy(c->key, key, klen);
    size_t j = h & (s->cap - 1);
    while (s->slots[j])
        j = (j + 1) & (s->cap - 1);
    s->slots[j] = c;
    s->used++;
    s->series[f->index]++;
    return c;
}

static size_t bucket_of(const mx_family *f, double v)
{
    size_t b = 0;
    while (b < f->nbounds && v > f->bounds[b])
        b++;
    return b;
}

static void update(mx_family *f, const char *const *values, double v, bool observe)
{
    if (!f)
        return;
    char key[MX_KEY_MAX];
    uint32_t klen = make_key(f, values, key);
    if (f->nlabels && klen == 0)
        return;
    mx_shard *s = shard_for_thread(f->reg);
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    mx_cell *c = cell_get(s, f, key, klen);
    if (c && observe) {
        c->buckets[bucket_of(f, v)]++;
        c->count++;
        c->value += v;
    } else if (c) {
        c->value += v;
    }
    pthread_mutex_unlock(&s->lock);
}

void mx_add(mx_family *f, const char *const *values, double v)
{
    if (f && f->type != MX_HISTOGRAM && (f->type == MX_GAUGE || v >= 0))
        update(f, values, v, false);
}

void mx_observe(mx_family *f, const char *const *values, double v)
{
    if (f && f->type == MX_HISTOGRAM && !isnan(v))
        update(f, values, v, true);
}

double mx_total(mx_family *f, int label, const char *value)
{
    if (!f || label >= f->nlabels)
        return 0;
    mx_registry *reg = f->reg;
    pthread_mutex_lock(&reg->lock);
    mx_shard *first = reg->shards;
    pthread_mutex_unlock(&reg->lock);
    double sum = 0;
    for (mx_shard *s = first; s; s = s->next) {
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->cap; i++) {
            mx_cell *c = s->slots[i];
            if (!c || c->f != f)
                continue;
            if (label >= 0) {
                const char *v = c->key;
                for (int l = 0; l < label; l++)
                    v += strlen(v) + 1;
                if (strcmp(v, value) != 0)
                    continue;
            }
            sum += f->type == MX_HISTOGRAM ? (double)c->count : c->value;
        }
        pthread_mutex_unlock(&s->lock);
    }
    return sum;
}

/* ---- collecting -------------------------------------------------------- */

static mx_sample *sink_push(mx_sink *k, const mx_family *f, const char *key,
                            uint32_t klen)
{
    if (k->failed)
        return NULL;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 256;
        mx_sample *v = realloc(k->v, cap * sizeof *v);
        if (!v) {
            k->failed = true;
            return NULL;
        }
        k->v = v;
        k->cap = cap;
    }
    mx_sample *s = &k->v[k->n];
    memset(s, 0, sizeof *s);
    s->f = f;
    s->klen = klen;
    if (!(s->key = malloc(klen ? klen : 1))) {
        k->failed = true;
        return NULL;
    }
    memcpy(s->key, key, klen);
    k->n++;
    return s;
}

void mx_set(mx_sink *sink, mx_family *f, const char *const *values, double v)
{
    char key[MX_KEY_MAX];
    if (!f || f->type == MX_HISTOGRAM)
        return;
    uint32_t klen = make_key(f, values, key);
    if (f->nlabels && klen == 0)
        return;
    mx_sample *s = sink_push(sink, f, key, klen);
    if (s)
        s->value = v;
}

void mx_set_histogram(mx_sink *sink, mx_family *f, const char *const *values,
                      const uint64_t *counts, double sum)
{
    char key[MX_KEY_MAX];
    if (!f || f->type != MX_HISTOGRAM)
        return;
    uint32_t klen = make_key(f, values, key);
    if (f->nlabels && klen == 0)
        return;
    mx_sample *s = sink_push(sink, f, key, klen);
    if (!s)
        return;
    for (size_t b = 0; b <= f->nbounds; b++) {
        s->buckets[b] = counts[b];
        s->count += counts[b];
    }
    s->value = sum;
}

static void copy_shard(mx_sink *k, mx_shard *s)
{
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->cap; i++) {
        mx_cell *c = s->slots[i];
        mx_sample *out = c ? sink_push(k, c->f, c->key, c->klen) : NULL;
        if (!out)
            continue;
        out->value = c->value;
        out->count = c->count;
        memcpy(out->buckets, c->buckets, sizeof out->buckets);
    }
    pthread_mutex_unlock(&s->lock);
}

static int sample_cmp(const void *a, const void *b)
{
    const mx_sample *x = a, *y = b;
    if (x->f->index != y->f->index)
        return x->f->index < y->f->index ? -1 : 1;
    uint32_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return x->klen < y->klen ? -1 : x->klen > y->klen;
}

/* ---- rendering --------------------------------------------------------- */

static void fmt_number(double v, char out[40])
{
    if (isnan(v))
        strcpy(out, "NaN");
    else if (isinf(v))
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        snprintf(out, 40, "%.0f", v);
    else
        for (int digits = 15; digits <= 17; digits++) {   /* shortest exact form */
            snprintf(out, 40, "%.*g", digits, v);
            if (strtod(out, NULL) == v)
                break;
        }
}

static void put_escaped(sbuf *b, const char *s, bool quotes)
{
    for (; *s; s++) {
        if (*s == '\\')
            sbuf_puts(b, "\\\\");
        else if (*s == '\n')
            sbuf_puts(b, "\\n");
        else if (*s == '"' && quotes)
            sbuf_puts(b, "\\\"");
        else
            sbuf_add(b, s, 1);
    }
}

/* name{l1="v1",...[,le="x"]} value */
static void put_series(sbuf *b, const mx_family *f, const char *suffix,
                       const char *key, const char *le, double v)
{
    sbuf_puts(b, f->name);
    sbuf_puts(b, suffix);
    if (f->nlabels || le) {
        const char *val = key;
        sbuf_puts(b, "{");
        for (int i = 0; i < f->nlabels; i++) {
            sbuf_printf(b, "%s%s=\"", i ? "," : "", f->labels[i]);
            put_escaped(b, val, true);
            sbuf_puts(b, "\"");
            val += strlen(val) + 1;
        }
        if (le)
            sbuf_printf(b, "%sle=\"%s\"", f->nlabels ? "," : "", le);
        sbuf_puts(b, "}");
    }
    char num[40];
    fmt_number(v, num);
    sbuf_printf(b, " %s\n", num);
}

static void put_histogram(sbuf *b, const mx_family *f, const mx_sample *s)
{
    uint64_t cum = 0;
    for (size_t i = 0; i < f->nbounds; i++) {
        char le[40];
        fmt_number(f->bounds[i], le);
        cum += s->buckets[i];
        put_series(b, f, "_bucket", s->key, le, (double)cum);
    }
    put_series(b, f, "_bucket", s->key, "+Inf", (double)s->count);
    put_series(b, f, "_sum", s->key, NULL, s->value);
    put_series(b, f, "_count", s->key, NULL, (double)s->count);
}

static const char *type_name(mx_type t)
{
    return t == MX_COUNTER ? "counter" : t == MX_GAUGE ? "gauge" : "histogram";
}

/* Write family f with the merged samples v[0..n) (all of f, sorted). */
static void put_family(sbuf *b, const mx_family *f, mx_sample *v, size_t n)
{
    sbuf_printf(b, "# HELP %s ", f->name);
    put_escaped(b, f->help, false);
    sbuf_printf(b, "\n# TYPE %s %s\n", f->name, type_name(f->type));
    if (n == 0 && f->nlabels == 0) {          /* never updated: zero */
        mx_sample zero = {.f = f, .key = (char *)""};
        if (f->type == MX_HISTOGRAM)
            put_histogram(b, f, &zero);
        else
            put_series(b, f, "", "", NULL, 0);
        return;
    }
    for (size_t i = 0; i < n;) {
        mx_sample sum = v[i];
        size_t j = i + 1;
        for (; j < n && sample_cmp(&v[i], &v[j]) == 0; j++) {
            sum.value += v[j].value;
            sum.count += v[j].count;
            for (size_t k = 0; k <= f->nbounds; k++)
                sum.buckets[k] += v[j].buckets[k];
        }
        if (f->type == MX_HISTOGRAM)
            put_histogram(b, f, &sum);
        else
            put_series(b, f, "", sum.key, NULL, sum.value);
        i = j;
    }
}

char *mx_render(mx_registry *reg, size_t *len)
{
    mx_sink k = {0};
    pthread_mutex_lock(&reg->render_lock);
    pthread_mutex_lock(&reg->lock);
    mx_coll *colls = reg->collectors;
    mx_shard *shards = reg->shards;
    mx_family *fams = reg->families;
    pthread_mutex_unlock(&reg->lock);
    for (mx_coll *c = colls; c; c = c->next)
        c->fn(c->ctx, &k);
    for (mx_shard *s = shards; s; s = s->next)
        copy_shard(&k, s);
    if (k.n)
        qsort(k.v, k.n, sizeof *k.v, sample_cmp);
    sbuf b;
    sbuf_init(&b, 0);
    size_t at = 0;
    for (mx_family *f = fams; f; f = f->next) {
        size_t start = at;
        while (at < k.n && k.v[at].f == f)
            at++;
        put_family(&b, f, k.v + start, at - start);
    }
    pthread_mutex_unlock(&reg->render_lock);
    for (size_t i = 0; i < k.n; i++)
        free(k.v[i].key);
    free(k.v);
    if (k.failed || b.failed || !b.p) {
        sbuf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
