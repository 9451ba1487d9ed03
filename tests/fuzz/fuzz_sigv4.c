/*
 * tests/fuzz/fuzz_sigv4.c - SigV4: scheme detection, the Authorization
 * header and presigned-query parsers, the canonical request (path, query,
 * headers) and the signature check, on the raw query (clients) and on the
 * router's decoded parameters (the server). The check runs at the request's
 * own time so that time checks do not stop it before the canonicalizer;
 * signing the same request as a client (header and presigned) must not
 * fail on anything but its own input checks.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/sigv4.h"
#include "tests/fuzz/fuzz.h"

static void verify(const auth_request *req)
{
    sigv4_auth a;
    auth_err err;
    auth_detect_scheme(req);
    if (sigv4_parse(req, "us-east-1", "s3", &a, &err) == 0)
        sigv4_check(req, &a, "fuzz-secret-key", a.time, &err);
    sigv4_auth_clear(&a);
    char *creq = NULL;
    if (sigv4_canonical_request(req, "host;x-amz-date", SIGV4_UNSIGNED_PAYLOAD, true, &creq,
                                &err) == 0)
        free(creq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_request fr;
    if (fuzz_request_verify(data, size, &fr, verify) < 0)
        return 0;
    sigv4_credentials cred = {"AKIDFUZZ", "fuzz-secret-key", "us-east-1", "s3"};
    char authz[2048];
    auth_err err;
    sigv4_auth st;
    sigv4_sign(&fr.req, &cred, 1700000000, SIGV4_UNSIGNED_PAYLOAD, authz, sizeof authz, &st,
               &err);
    sigv4_auth_clear(&st);
    char *q = NULL;
    if (sigv4_presign(&fr.req, &cred, 1700000000, 300, &q, &err) == 0)
        free(q);
    fuzz_request_free(&fr);
    return 0;
}
