/* tests/integration/live.c - the live tests' generators and proxy control (live.h). */
#include "tests/integration/live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *live_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "%s is not set (run the test through its script)\n", name);
        exit(2);
    }
    return v;
}

uint8_t live_byte(uint64_t seed, uint64_t i)
{
    uint64_t x = (i / 8 + 1) * 0x9E3779B97F4A7C15ull ^ seed * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    return (uint8_t)(x >> (8 * (i % 8)));
}

static int gen_read(void *ctx, uint8_t *buf, size_t cap, size_t *got, cf_err *err)
{
    gen *g = ctx;
    size_t n = g->size - g->pos < cap ? (size_t)(g->size - g->pos) : cap;
    for (size_t i = 0; i < n; i++)
        buf[i] = live_byte(g->seed, g->base + g->pos + i);
    g->pos += n;
    *got = n;
    return 0;
}

static int gen_rewind(void *ctx, cf_err *err)
{
    ((gen *)ctx)->pos = 0;
    return 0;
}

s3c_body gen_body(gen *g)
{
    return (s3c_body){.read = gen_read, .rewind = g->no_rewind ? NULL : gen_rewind,
                      .ctx = g, .length = g->size};
}

int check_sink(void *ctx, const uint8_t *data, size_t n, cf_err *err)
{
    check *k = ctx;
    for (size_t i = 0; i < n && k->same; i++)
        k->same = data[i] == live_byte(k->seed, k->from + k->got + i);
    k->got += n;
    return 0;
}

/* ---- the proxy ------------------------------------------------------------ */

static s3c_client *control;

int live_setup(const char *control_env)
{
    cf_err err;
    /* the control port ignores signatures: any credentials do */
    s3c_config cfg = {.endpoint = live_env(control_env), .access_key = "control",
                      .secret_key = "control"};
    if (s3c_global_init(&err) < 0 || !(control = s3c_client_new(&cfg, &err))) {
        fprintf(stderr, "set-up: %s\n", err.msg);
        return -1;
    }
    return 0;
}

void live_teardown(void)
{
    s3c_client_free(control);
    control = NULL;
    s3c_global_cleanup();
}

static void proxy_post(const char *path, const char *json)
{
    s3c_body b;
    s3c_mem m;
    s3c_result res;
    cf_err err;
    s3c_body_mem(&b, &m, json, strlen(json));
    s3c_op op = {.kind = S3C_REQUEST, .method = "POST", .path = path, .body = &b};
    if (s3c_exec(control, &op, &res, &err) < 0) {
        fprintf(stderr, "faultproxy %s: %s\n", path, err.msg);
        exit(2);
    }
    s3c_result_free(&res);
}

void faults(const char *rules)
{
    proxy_post("/clear", "{}");
    proxy_post("/rules", rules);
}

json_t *proxy_log(void)
{
    s3c_result res;
    cf_err err;
    s3c_op op = {.kind = S3C_REQUEST, .method = "GET", .path = "/log"};
    json_t *log = s3c_exec(control, &op, &res, &err) == 0
                      ? json_loads(res.body, 0, NULL) : NULL;
    s3c_result_free(&res);
    if (!log) {
        fprintf(stderr, "faultproxy /log: %s\n", err.msg);
        exit(2);
    }
    return log;
}

size_t logged(json_t *log, const char *method, const char *path)
{
    size_t i, n = 0;
    json_t *e;
    json_array_foreach(log, i, e) {
        const char *m = json_string_value(json_object_get(e, "method"));
        const char *p = json_string_value(json_object_get(e, "path"));
        n += m && strcmp(m, method) == 0 && (!path || (p && strcmp(p, path) == 0));
    }
    return n;
}
