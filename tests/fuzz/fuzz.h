/*
 * tests/fuzz/fuzz.h - what the libFuzzer targets share: the entry point's
 * prototype, a property check that stops the run with a crash (so the
 * fuzzer saves the input), and a request built from the fuzzer's bytes for
 * the auth/ parsers:
 *
 *     METHOD \n PATH \n QUERY \n name:value \n name:value ...
 *
 * (an empty QUERY line is no query). Strings are NUL-terminated copies:
 * an input byte 0 ends its field early, as a C string would.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "auth/auth.h"

#define FUZZ_MAX_HEADERS 32

struct pool;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property that must hold: abort (a crash for libFuzzer) if it does not. */
#define FUZZ_ASSERT(cond)                                                   \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__,      \
                    __LINE__, #cond);                                       \
            abort();                                                        \
        }                                                                   \
    } while (0)

typedef struct fuzz_request {
    auth_request req;
    auth_pair headers[FUZZ_MAX_HEADERS];
    auth_pair *params;               /* the router's decoded parameters */
    struct pool *pool;               /* the router's request */
    char *text;                      /* the fields, in one allocation */
} fuzz_request;

/* 0, or -1 if the input does not even have three lines. */
int fuzz_request_parse(const uint8_t *data, size_t size, fuzz_request *fr);
/* The same request as cofferd hands it to auth/: routed by the real
 * router (which also gets fuzzed), the query as its decoded parameters.
 * 0, or -1 if the router refused the URI before decoding a query. */
int fuzz_request_params(fuzz_request *fr, auth_request *out);
void fuzz_request_free(fuzz_request *fr);
/* Parse the input and run verify on both views of it: the raw query (as a
 * client signs) and the router's parameters (as cofferd verifies). 0 with
 * fr to free, or -1 if the input is not a request. */
int fuzz_request_verify(const uint8_t *data, size_t size, fuzz_request *fr,
                        void (*verify)(const auth_request *req));

#endif
