/*
 * tests/fuzz/fuzz_client_xml.c - what the outgoing clients read from a
 * remote (client/xml.c: S3's <Error>, ListObjectsV2, the multipart
 * answers; Azure's List Blobs) and from their configuration (a SAS token;
 * the Shared Key canonicalization of a query). The first byte picks the
 * parser. Whatever they accept must come out bounded: strings within
 * their buffers, names and keys NUL-free C strings of the length parsed.
 */
#include <string.h>

#include "client/internal.h"
#include "tests/fuzz/fuzz.h"

static void check_listing(const s3c_listing *l)
{
    for (size_t i = 0; i < l->nobjects; i++) {
        FUZZ_ASSERT(l->objects[i].key != NULL);
        FUZZ_ASSERT(strlen(l->objects[i].etag) < sizeof l->objects[i].etag);
    }
    for (size_t i = 0; i < l->nprefixes; i++)
        FUZZ_ASSERT(l->prefixes[i] != NULL);
    FUZZ_ASSERT(!l->truncated || l->next_continuation);
}

static void check_blobs(const azb_listing *l)
{
    for (size_t i = 0; i < l->nblobs; i++) {
        FUZZ_ASSERT(l->blobs[i].name != NULL);
        FUZZ_ASSERT(strlen(l->blobs[i].content_md5) < sizeof l->blobs[i].content_md5);
        FUZZ_ASSERT(strlen(l->blobs[i].access_tier) < sizeof l->blobs[i].access_tier);
    }
    FUZZ_ASSERT(!l->next_marker || l->next_marker[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    cf_err err;
    char code[S3C_CODE_MAX], msg[256], id[S3C_UPLOAD_ID_MAX];
    s3c_listing *l = NULL;
    azb_listing *b = NULL;
    s3c_result res = {0};
    char *text = strndup(body, len), *out = NULL;
    if (!text)
        return 0;
    switch (data[0] % 7) {
    case 0:
        if (s3c_xml_error(body, len, code, sizeof code, msg, sizeof msg))
            FUZZ_ASSERT(code[0] && strlen(code) < sizeof code && strlen(msg) < sizeof msg);
        break;
    case 1:
        if (s3c_xml_listing(body, len, &l, &err) == 0)
            check_listing(l);
        s3c_listing_free(l);
        break;
    case 2:
        if (s3c_xml_blob_list(body, len, &b, &err) == 0)
            check_blobs(b);
        azb_listing_free(b);
        break;
    case 3:
        if (s3c_xml_upload_id(body, len, id, sizeof id, &err) == 0)
            FUZZ_ASSERT(id[0] && strlen(id) < sizeof id);
        break;
    case 4:
        if (s3c_xml_complete(body, len, &res, &err) == 0)
            FUZZ_ASSERT(strlen(res.etag) < sizeof res.etag);
        break;
    case 5:
        free(out = azauth_sas_copy(text, &err));
        out = NULL;
        break;
    default: {
        auth_pair h[] = {{"x-ms-date", "Sat, 05 Dec 2026 10:00:00 GMT"}, {"x-ms-version", "x"}};
        if (azauth_string_to_sign("acct", "GET", "/c/b", text, h, 2, len, &out, &err) == 0)
            FUZZ_ASSERT(strncmp(out, "GET\n", 4) == 0 && strstr(out, "/acct/c/b"));
        break;
    }
    }
    free(out);
    free(text);
    return 0;
}
