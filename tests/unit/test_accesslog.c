/*
 * tests/unit/test_accesslog.c - the JSON-lines access log: every line must
 * parse as JSON (jansson) and carry back exactly what was logged, whatever
 * bytes the fields hold, and lines written by many threads at once must
 * arrive whole.
 */
#include "server/accesslog.h"
#include "tests/unit/test.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>

#define THREADS 8
#define LINES_PER_THREAD 400

static char log_path[700];

static void open_fresh(void)
{
    cf_err err;
    snprintf(log_path, sizeof log_path, "%s/access.log", test_tmpdir());
    if (accesslog_open(log_path, &err) < 0)
        fprintf(stderr, "  %s\n", err.msg);
}

/* Read the whole log and split it into parsed lines. Returns the count. */
static size_t read_lines(json_t **out, size_t max)
{
    FILE *f = fopen(log_path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0 && n < max) {
        json_error_t jerr;
        out[n] = json_loadb(line, (size_t)len, 0, &jerr);
        if (!out[n] || line[len - 1] != '\n') {
            fprintf(stderr, "  bad line %zu: %s\n", n, jerr.text);
            test_current_failed = 1;
            json_decref(out[n]);
            break;
        }
        n++;
    }
    free(line);
    fclose(f);
    return n;
}

static const char *field(json_t *line, const char *name)
{
    return json_string_value(json_object_get(line, name));
}

static void fields_round_trip(void)
{
    open_fresh();
    accesslog_entry e = {
        .request_id = "REQ1", .tenant = "acme", .op = "PutObject",
        .bucket = "backups", .key = "dir/\"quoted\"\\back\nslash\t\x01\x7f end",
        .status = 200, .bytes_in = 5000000000ULL, .bytes_out = 7,
        .duration_ms = 12.5};
    accesslog_write(&e);
    accesslog_close();
    json_t *lines[2];
    REQUIRE(read_lines(lines, 2) == 1);
    json_t *l = lines[0];
    CHECK_EQ_STR(field(l, "request_id"), "REQ1");
    CHECK_EQ_STR(field(l, "tenant"), "acme");
    CHECK_EQ_STR(field(l, "op"), "PutObject");
    CHECK_EQ_STR(field(l, "bucket"), "backups");
    CHECK_EQ_STR(field(l, "key"), e.key);
    CHECK_EQ_INT(json_integer_value(json_object_get(l, "status")), 200);
    CHECK_EQ_INT(json_integer_value(json_object_get(l, "bytes_in")), 5000000000LL);
    CHECK_EQ_INT(json_integer_value(json_object_get(l, "bytes_out")), 7);
    CHECK(fabs(json_number_value(json_object_get(l, "duration_ms")) - 12.5) < 1e-9);
    const char *t = field(l, "time");
    REQUIRE(t != NULL);
    int y, mo, d, h, mi, s, ms;
    char z = 0;
    CHECK_EQ_INT(strlen(t), 24);
    CHECK_EQ_INT(sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi,
                        &s, &ms, &z), 8);
    CHECK(z == 'Z' && y >= 2024 && mo >= 1 && mo <= 12);
    CHECK_EQ_INT(json_object_size(l), 10);
    json_decref(l);
}

static void invalid_utf8_and_nulls_stay_valid_json(void)
{
    open_fresh();
    accesslog_entry e = {
        .op = "GetObject",
        .key = "caf\xc3\xa9 \xf0\x9f\x93\xa6 bad:\xff\xc3 \xed\xa0\x80 \xe0\x80\xaf",
        .status = 404, .duration_ms = NAN};
    accesslog_write(&e);
    accesslog_close();
    json_t *lines[2];
    REQUIRE(read_lines(lines, 2) == 1);
    json_t *l = lines[0];
    CHECK(json_is_null(json_object_get(l, "request_id")));
    CHECK(json_is_null(json_object_get(l, "tenant")));
    CHECK(json_is_null(json_object_get(l, "bucket")));
    /* valid sequences kept; each invalid byte (stray, truncated, surrogate,
     * overlong) becomes U+FFFD */
    CHECK_EQ_STR(field(l, "key"),
                 "caf\xc3\xa9 \xf0\x9f\x93\xa6 bad:\xef\xbf\xbd\xef\xbf\xbd "
                 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    CHECK(json_number_value(json_object_get(l, "duration_ms")) == 0.0);
    json_decref(l);
}

static void writes_outside_open_do_nothing(void)
{
    accesslog_entry e = {.op = "x", .status = 1};
    accesslog_close();
    accesslog_write(&e);           /* before any open: ignored */
    open_fresh();
    accesslog_write(&e);
    accesslog_close();
    accesslog_write(&e);           /* after close: ignored */
    json_t *lines[4];
    size_t n = read_lines(lines, 4);
    CHECK_EQ_INT(n, 1);
    for (size_t i = 0; i < n; i++)
        json_decref(lines[i]);
}

static void open_failure_names_the_path(void)
{
    cf_err err;
    char path[700];
    snprintf(path, sizeof path, "%s/no/such/dir/log", test_tmpdir());
    CHECK_EQ_INT(accesslog_open(path, &err), -1);
    CHECK(strstr(err.msg, path) != NULL);
}

static void *writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    char key[3000], rid[32];
    for (int i = 0; i < LINES_PER_THREAD; i++) {
        /* long keys, so that a line is several KiB and well over PIPE_BUF */
        size_t len = 200 + (size_t)((i * 37 + id * 101) % 2500);
        memset(key, 'a' + id, len);
        key[len] = '\0';
        key[0] = '"';
        snprintf(rid, sizeof rid, "%d-%d", id, i);
        accesslog_entry e = {.request_id = rid, .op = "PutObject", .key = key,
                             .status = 200, .bytes_in = len};
        accesslog_write(&e);
    }
    return NULL;
}

static void concurrent_lines_stay_whole(void)
{
    open_fresh();
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, writer, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    accesslog_close();
    static json_t *lines[THREADS * LINES_PER_THREAD + 1];
    size_t n = read_lines(lines, THREADS * LINES_PER_THREAD + 1);
    CHECK_EQ_INT(n, THREADS * LINES_PER_THREAD);
    static bool seen[THREADS][LINES_PER_THREAD];
    for (size_t i = 0; i < n; i++) {
        int id = -1, seq = -1;
        const char *key = field(lines[i], "key");
        sscanf(field(lines[i], "request_id"), "%d-%d", &id, &seq);
        REQUIRE(id >= 0 && id < THREADS && seq >= 0 && seq < LINES_PER_THREAD);
        CHECK(!seen[id][seq]);
        seen[id][seq] = true;
        size_t len = strlen(key);
        CHECK_EQ_INT(len, json_integer_value(json_object_get(lines[i], "bytes_in")));
        CHECK(key[0] == '"' && key[len - 1] == 'a' + id);
        json_decref(lines[i]);
    }
}

TEST_MAIN("accesslog",
          T(fields_round_trip),
          T(invalid_utf8_and_nulls_stay_valid_json),
          T(writes_outside_open_do_nothing),
          T(open_failure_names_the_path),
          T(concurrent_lines_stay_whole))
