/*
 * storage/headers.c - an object's stored headers: checked (names present,
 * values at most 8 KiB, user metadata at most ST_MAX_USERMETA bytes), and
 * kept in the index as JSON text, [[name, value], ...], in the order the
 * front end gave them. The engine never interprets them.
 */
#include "storage/engine_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int headers_check(const st_header *h, size_t n, cf_err *err)
{
    size_t user = 0;
    for (size_t i = 0; i < n; i++) {
        if (!h[i].name || !h[i].value || !*h[i].name)
            return cf_fail(err, CF_EINVAL, "empty header name or value");
        if (strncmp(h[i].name, "x-amz-meta-", 11) == 0)
            user += strlen(h[i].name) - 11 + strlen(h[i].value);
        else if (strlen(h[i].value) > 8192)
            return cf_fail(err, CF_ETOOLARGE, "header %s is too long", h[i].name);
    }
    if (user > ST_MAX_USERMETA)
        return cf_fail(err, CF_ETOOLARGE,
                       "user metadata is %zu bytes; at most %d are allowed", user,
                       ST_MAX_USERMETA);
    return 0;
}

char *headers_to_json(const st_header *h, size_t n, cf_err *err)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *pair = json_pack("[s, s]", h[i].name, h[i].value);
        if (!pair || json_array_append_new(arr, pair) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (!text)
        cf_fail(err, CF_EINVAL, "headers are not valid UTF-8 text");
    return text;
}

void headers_free(st_header *h, size_t n)
{
    for (size_t i = 0; h && i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
}

int headers_from_json(const char *text, st_header **out, size_t *n, cf_err *err)
{
    *out = NULL;
    *n = 0;
    json_t *arr = json_loads(text ? text : "[]", 0, NULL);
    if (!json_is_array(arr)) {
        json_decref(arr);
        return cf_fail(err, CF_ECORRUPT, "index: stored headers are not a JSON array");
    }
    size_t count = json_array_size(arr);
    st_header *h = calloc(count ? count : 1, sizeof *h);
    int rc = h ? 0 : cf_fail(err, CF_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < count; i++) {
        json_t *pair = json_array_get(arr, i);
        const char *name = json_string_value(json_array_get(pair, 0));
        const char *value = json_string_value(json_array_get(pair, 1));
        if (!name || !value)
            rc = cf_fail(err, CF_ECORRUPT, "index: malformed stored header");
        else if (!(h[i].name = strdup(name)) || !(h[i].value = strdup(value)))
            rc = cf_fail(err, CF_ENOMEM, "out of memory");
    }
    json_decref(arr);
    if (rc < 0) {
        headers_free(h, count);
        return -1;
    }
    *out = h;
    *n = count;
    return 0;
}
