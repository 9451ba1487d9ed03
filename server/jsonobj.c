/*
 * server/jsonobj.c - JSON helpers (jsonobj.h). The known-key check is a
 * linear scan of the allowed list per key: the lists are a few names.
 */
#include "server/jsonobj.h"

#include <string.h>

const char *jsonobj_unknown_key(json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], key) != 0)
            i++;
        if (!allowed[i])
            return key;
    }
    return NULL;
}

json_t *jsonobj_string_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}
