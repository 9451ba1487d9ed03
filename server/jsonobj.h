/*
 * server/jsonobj.h - JSON helpers shared by cofferd and the coffer CLI
 * (which links server/libcofferd.a):
 *  - the one check that a JSON object holds only known keys, for the two
 *    JSON inputs cofferd reads: the configuration file (config.c:
 *    "unknown key", naming the file) and admin API bodies (admin.c: 400
 *    "unknown field"). Each caller words its own error;
 *  - a list of names as a JSON array, as the admin API sends and takes
 *    bucket and prefix lists (admin.c answers with one, the CLI sends one).
 */
#ifndef SRV_JSONOBJ_H
#define SRV_JSONOBJ_H

#include <jansson.h>

/* The first key of obj not in allowed (a NULL-terminated list), or NULL
 * if there is none. The key belongs to obj. */
const char *jsonobj_unknown_key(json_t *obj, const char *const *allowed);

/* v[0..n) as a JSON array of strings: a new reference, or NULL if memory
 * ran out. */
json_t *jsonobj_string_array(const char *const *v, size_t n);

#endif
