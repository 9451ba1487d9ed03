/*
 * server/jsonobj.c - known-key check for JSON objects (jsonobj.h). A
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
