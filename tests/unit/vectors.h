/*
 * tests/unit/vectors.h - loads signed-request test vectors for the auth
 * tests: <name>.req holds a request as on the wire (request line, headers
 * "Name:value", blank line, body) and <name>.authz the expected
 * Authorization value (or, for presigned vectors, the expected target).
 * Files live under $srcdir/tests/unit/data/<dir>/.
 */
#ifndef TEST_VECTORS_H
#define TEST_VECTORS_H

#include <stddef.h>

#include "auth/auth.h"

#define VECTOR_MAX_HEADERS 32

typedef struct vector {
    char *text;                 /* the .req file, cut up in place */
    char *path, *query;         /* query NULL when absent */
    const char *body;
    size_t body_len;
    auth_pair headers[VECTOR_MAX_HEADERS];
    char names[VECTOR_MAX_HEADERS][64];   /* lowercase header names */
    auth_request req;
    char expected[2048];        /* the .authz line */
    char method[16];
} vector;

/* A whole data file (at most 64 KiB), malloc'd and NUL-terminated, its
 * length in *len; NULL with a message on stderr. */
char *vector_read_file(const char *dir, const char *name, const char *ext, size_t *len);

/* 0, or -1 with a message on stderr. */
int vector_load(vector *v, const char *dir, const char *name);
/* Append a header (name already lowercase); the strings must outlive v. */
void vector_add_header(vector *v, const char *name, const char *value);
void vector_free(vector *v);

#endif
