/*
 * server/jsonobj.h - the one check that a JSON object holds only known
 * keys, for the two JSON inputs cofferd reads: the configuration file
 * (config.c: "unknown key", naming the file) and admin API bodies
 * (admin.c: 400 "unknown field"). Each caller words its own error.
 */
#ifndef SRV_JSONOBJ_H
#define SRV_JSONOBJ_H

#include <jansson.h>

/* The first key of obj not in allowed (a NULL-terminated list), or NULL
 * if there is none. The key belongs to obj. */
const char *jsonobj_unknown_key(json_t *obj, const char *const *allowed);

#endif
