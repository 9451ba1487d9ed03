/*
 * tests/fuzz/fuzz_sigv2.c - SigV2: the Authorization header and presigned
 * query parsers, the string to sign (path and virtual-host resource,
 * sub-resources, x-amz-* headers) and the check, on the raw query and on
 * the router's decoded parameters; then signing the request as a client.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/sigv2.h"
#include "tests/fuzz/fuzz.h"

static void verify(const auth_request *req)
{
    sigv2_auth a;
    auth_err err;
    if (sigv2_parse(req, &a, &err) == 0) {
        time_t now = a.presigned ? a.time - 1 : a.time;
        sigv2_check(req, &a, NULL, "fuzz-secret-key", now, &err);
        sigv2_check(req, &a, "bucket", "fuzz-secret-key", now, &err);
    }
    char *sts = NULL;
    if (sigv2_string_to_sign(req, "bucket", 0, &sts, &err) == 0)
        free(sts);
    if (sigv2_string_to_sign(req, NULL, 1700000000, &sts, &err) == 0)
        free(sts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_request fr;
    if (fuzz_request_verify(data, size, &fr, verify) < 0)
        return 0;
    char authz[512];
    auth_err err;
    sigv2_sign(&fr.req, NULL, "AKIDFUZZ", "fuzz-secret-key", authz, sizeof authz, &err);
    char *q = NULL;
    if (sigv2_presign(&fr.req, "bucket", "AKIDFUZZ", "fuzz-secret-key", 1700000300, &q,
                      &err) == 0)
        free(q);
    fuzz_request_free(&fr);
    return 0;
}
