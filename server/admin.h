/*
 * server/admin.h - the admin API's handler: one request (already
 * authenticated with the admin credential by s3auth.c) in, one JSON answer
 * out. The routes, bodies, answers and errors are the contract in
 * common/adminapi.h.
 */
#ifndef COFFER_ADMIN_H
#define COFFER_ADMIN_H

#include <stddef.h>

#include "common/adminapi.h"
#include "server/sched.h"
#include "storage/engine.h"

struct tier_set;

/* What the admin API works on: the engine, the scheduler the /jobs, /heal
 * and /gc routes run through, and the tiers (NULL: the tier routes answer
 * 503 NoTiers). */
typedef struct admin_env {
    st_engine *engine;
    sched *jobs;
    struct tier_set *tiers;
} admin_env;

/* Handle one admin request. path is what follows ADMIN_PREFIX ("/tenants"),
 * query the raw query string without '?' (or NULL), body need not be
 * NUL-terminated. Returns 0 with *http_status and *json_out (malloc'd, the
 * caller frees, also for errors) set; -1 only when memory ran out, and then
 * nothing is set and the server answers 500 itself. */
int admin_handle(const admin_env *env, const char *method, const char *path,
                 const char *query, const char *body, size_t body_len,
                 int *http_status, char **json_out);

#endif
