/*
 * tests/unit/test_metrics.c - the metrics registry (server/metrics.h):
 * the exact exposition text, sums over threads updating at once,
 * histogram buckets, escaping, collectors, malformed registrations, the
 * series cap.
 */
#include "server/metrics.h"
#include "tests/unit/test.h"

#include <pthread.h>

static char *render(mx_registry *reg)
{
    size_t len = 0;
    char *text = mx_render(reg, &len);
    CHECK(text != NULL);
    if (text)
        CHECK_EQ_INT(strlen(text), len);
    return text;
}

static void exposition_text_is_exact(void)
{
    mx_registry *reg = mx_new();
    REQUIRE(reg);
    mx_family *c = mx_counter(reg, "t_requests_total", "Requests.", "tenant,op");
    mx_family *g = mx_gauge(reg, "t_idle", "Never set.", NULL);
    mx_family *e = mx_counter(reg, "t_empty_total", "Labeled, never set.", "x");
    REQUIRE(c && g && e);
    mx_add(c, (const char *[]){"b", "Put"}, 2);
    mx_add(c, (const char *[]){"a", "Get"}, 1);
    mx_add(c, (const char *[]){"b", "Put"}, 0.5);
    mx_add(c, (const char *[]){"a", "Get"}, -7);      /* counters only go up */
    char *text = render(reg);
    CHECK_EQ_STR(text,
                 "# HELP t_requests_total Requests.\n"
                 "# TYPE t_requests_total counter\n"
                 "t_requests_total{tenant=\"a\",op=\"Get\"} 1\n"
                 "t_requests_total{tenant=\"b\",op=\"Put\"} 2.5\n"
                 "# HELP t_idle Never set.\n"
                 "# TYPE t_idle gauge\n"
                 "t_idle 0\n"
                 "# HELP t_empty_total Labeled, never set.\n"
                 "# TYPE t_empty_total counter\n");
    free(text);
    mx_free(reg);
}

static void histogram_buckets_are_cumulative(void)
{
    mx_registry *reg = mx_new();
    static const double bounds[] = {1, 2, 5};
    mx_family *h = mx_histogram(reg, "t_seconds", "Time.", "op", bounds, 3);
    REQUIRE(h);
    const double obs[] = {0.5, 1, 2, 100, 0.0025};
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
        mx_observe(h, (const char *[]){"x"}, obs[i]);
    char *text = render(reg);
    CHECK_EQ_STR(text,
                 "# HELP t_seconds Time.\n"
                 "# TYPE t_seconds histogram\n"
                 "t_seconds_bucket{op=\"x\",le=\"1\"} 3\n"
                 "t_seconds_bucket{op=\"x\",le=\"2\"} 4\n"
                 "t_seconds_bucket{op=\"x\",le=\"5\"} 4\n"
                 "t_seconds_bucket{op=\"x\",le=\"+Inf\"} 5\n"
                 "t_seconds_sum{op=\"x\"} 103.5025\n"
                 "t_seconds_count{op=\"x\"} 5\n");
    free(text);
    CHECK_EQ_INT((long long)mx_total(h, -1, NULL), 5);
    mx_free(reg);
}

static void values_and_help_are_escaped(void)
{
    mx_registry *reg = mx_new();
    mx_family *g = mx_gauge(reg, "t_info", "Back\\slash\nand newline.", "path");
    REQUIRE(g);
    mx_add(g, (const char *[]){"/a \"b\"\\c\nd"}, 1);
    char *text = render(reg);
    CHECK(strstr(text, "# HELP t_info Back\\\\slash\\nand newline.\n") != NULL);
    CHECK(strstr(text, "t_info{path=\"/a \\\"b\\\"\\\\c\\nd\"} 1\n") != NULL);
    free(text);
    mx_free(reg);
}

typedef struct worker_arg {
    mx_family *f, *h;
    int id;
} worker_arg;

static void *hammer(void *p)
{
    worker_arg *a = p;
    const char *tenant = a->id % 2 ? "odd" : "even";
    for (int i = 0; i < 20000; i++) {
        mx_add(a->f, (const char *[]){tenant}, 1);
        mx_observe(a->h, NULL, 0.001 * (i % 3));
    }
    return NULL;
}

static void threads_sum_exactly(void)
{
    mx_registry *reg = mx_new();
    static const double bounds[] = {0.0015};
    mx_family *f = mx_counter(reg, "t_total", "n", "tenant");
    mx_family *h = mx_histogram(reg, "t_h", "h", NULL, bounds, 1);
    REQUIRE(f && h);
    pthread_t th[8];
    worker_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (worker_arg){f, h, i};
        pthread_create(&th[i], NULL, hammer, &args[i]);
    }
    for (int i = 0; i < 8; i++) {
        if (i == 3) {                         /* a scrape while they run */
            char *mid = render(reg);
            CHECK(mid && strstr(mid, "# TYPE t_total counter\n"));
            free(mid);
        }
        pthread_join(th[i], NULL);
    }
    CHECK_EQ_INT((long long)mx_total(f, -1, NULL), 160000);
    CHECK_EQ_INT((long long)mx_total(f, 0, "odd"), 80000);
    char *text = render(reg);
    CHECK(strstr(text, "t_total{tenant=\"even\"} 80000\n") != NULL);
    CHECK(strstr(text, "t_total{tenant=\"odd\"} 80000\n") != NULL);
    /* i % 3 == 0 (0 s) and 1 (0.001 s) fall in le=0.0015; 2 (0.002 s) above */
    char want[128];
    snprintf(want, sizeof want, "t_h_bucket{le=\"0.0015\"} %d\n", 8 * 13334);
    CHECK(strstr(text, want) != NULL);
    CHECK(strstr(text, "t_h_count 160000\n") != NULL);
    free(text);
    mx_free(reg);
}

typedef struct coll_ctx {
    mx_family *g, *h;
    int calls;
} coll_ctx;

static void collect(void *ctx, mx_sink *k)
{
    coll_ctx *c = ctx;
    c->calls++;
    mx_set(k, c->g, (const char *[]){"d0"}, 10);
    mx_set(k, c->g, (const char *[]){"d1"}, 1e20);
    uint64_t counts[3] = {1, 0, 2};
    mx_set_histogram(k, c->h, NULL, counts, 7.25);
}

static void collectors_run_at_each_render(void)
{
    mx_registry *reg = mx_new();
    static const double bounds[] = {0.5, 1};
    coll_ctx c = {mx_gauge(reg, "t_disk_bytes", "b", "disk"),
                  mx_histogram(reg, "t_sync_seconds", "s", NULL, bounds, 2), 0};
    REQUIRE(c.g && c.h && mx_collector(reg, collect, &c) == 0);
    mx_add(c.g, (const char *[]){"d0"}, 5);      /* updated and collected: summed */
    char *text = render(reg);
    CHECK(strstr(text, "t_disk_bytes{disk=\"d0\"} 15\n") != NULL);
    CHECK(strstr(text, "t_disk_bytes{disk=\"d1\"} 1e+20\n") != NULL);
    CHECK(strstr(text, "t_sync_seconds_bucket{le=\"0.5\"} 1\n"
                       "t_sync_seconds_bucket{le=\"1\"} 1\n"
                       "t_sync_seconds_bucket{le=\"+Inf\"} 3\n"
                       "t_sync_seconds_sum 7.25\n"
                       "t_sync_seconds_count 3\n") != NULL);
    free(text);
    free(render(reg));
    CHECK_EQ_INT(c.calls, 2);
    mx_free(reg);
}

static void malformed_registrations_are_refused(void)
{
    mx_registry *reg = mx_new();
    static const double up[] = {1, 2}, flat[] = {1, 1};
    CHECK(mx_counter(reg, "", "x", NULL) == NULL);
    CHECK(mx_counter(reg, "9lives", "x", NULL) == NULL);
    CHECK(mx_counter(reg, "has space", "x", NULL) == NULL);
    CHECK(mx_counter(reg, "ok_total", "x", "bad-label") == NULL);
    CHECK(mx_counter(reg, "ok_total", "x", "a,,b") == NULL);
    CHECK(mx_counter(reg, "ok_total", "x", "a,b,c,d,e") == NULL);
    CHECK(mx_histogram(reg, "h", "x", "le", up, 2) == NULL);   /* le is reserved */
    CHECK(mx_histogram(reg, "h", "x", NULL, flat, 2) == NULL);
    CHECK(mx_histogram(reg, "h", "x", NULL, up, 0) == NULL);
    CHECK(mx_histogram(reg, "h", "x", NULL, up, 2) != NULL);
    mx_add(NULL, NULL, 1);                       /* harmless */
    mx_observe(NULL, NULL, 1);
    mx_free(reg);
}

static void label_sets_are_capped(void)
{
    mx_registry *reg = mx_new();
    mx_family *f = mx_counter(reg, "t_cap_total", "x", "id");
    REQUIRE(f);
    for (int i = 0; i < MX_MAX_SERIES + 50; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        mx_add(f, (const char *[]){id}, 1);
    }
    mx_add(f, (const char *[]){"0"}, 1);         /* a known series still counts */
    CHECK_EQ_INT((long long)mx_total(f, -1, NULL), MX_MAX_SERIES + 1);
    char *text = render(reg);
    size_t lines = 0;
    for (const char *p = text; p && *p; p++)
        lines += *p == '\n';
    CHECK_EQ_INT(lines, MX_MAX_SERIES + 2);
    free(text);
    mx_free(reg);
}

TEST_MAIN("metrics",
          T(exposition_text_is_exact),
          T(histogram_buckets_are_cumulative),
          T(values_and_help_are_escaped),
          T(threads_sum_exactly),
          T(collectors_run_at_each_render),
          T(malformed_registrations_are_refused),
          T(label_sets_are_capped))
