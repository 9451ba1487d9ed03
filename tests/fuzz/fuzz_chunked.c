/*
 * tests/fuzz/fuzz_chunked.c - the aws-chunked decoder in its three modes,
 * fed in slices of a size the input chooses (so lines and chunks split at
 * every place). Input: mode byte, slice byte, length byte (even: declared
 * x-amz-decoded-content-length = the low bits, odd: none), then the body.
 * Signed modes fail at the first chunk signature (the fuzzer cannot forge
 * HMACs), so most of the search runs in STREAMING-UNSIGNED-PAYLOAD-TRAILER,
 * which is framing and trailers only. Properties: the sink never sees more
 * than the declared length, and a finished body decoded exactly that much.
 * The sink hashes like a PUT (MD5 and the chunk's SHA-256 in one pass), so
 * the one-pass hashing sees slices split at every place too.
 */
#include <string.h>

#include "auth/chunked.h"
#include "tests/fuzz/fuzz.h"

typedef struct sink_state {
    uint64_t got;
    cks_state *md5;         /* hashed with the chunk's SHA-256 as a PUT does */
} sink_state;

static int sink(void *ctx, const void *data, size_t len, cks_state *hash, auth_err *err)
{
    (void)err;
    sink_state *st = ctx;
    cks_update2(st->md5, hash, data, len);
    st->got += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const sigv4_payload modes[] = {
        SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER, SIGV4_PAYLOAD_STREAMING,
        SIGV4_PAYLOAD_STREAMING_TRAILER,
    };
    if (size < 3)
        return 0;
    sigv4_auth a;
    memset(&a, 0, sizeof a);
    a.payload = modes[data[0] % 3];
    size_t slice = data[1] ? data[1] : 1;
    a.decoded_length = data[2] & 1 ? -1 : (int64_t)(data[2] >> 1) * 97;
    memset(a.signature, '0', SIGV4_SIG_HEX_LEN);
    memset(a.signing_key, 0x5a, sizeof a.signing_key);
    strcpy(a.amz_date, "20130524T000000Z");
    strcpy(a.scope, "20130524/us-east-1/s3/aws4_request");
    data += 3;
    size -= 3;
    cf_err cerr;
    sink_state st = {.md5 = cks_new(CKS_MD5, &cerr)};
    FUZZ_ASSERT(st.md5 != NULL);
    auth_err err;
    chunked_decoder *d = chunked_new(&a, sink, &st, &err);
    FUZZ_ASSERT(d != NULL);
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += slice)
        rc = chunked_feed(d, data + off, size - off < slice ? size - off : slice, &err);
    if (a.decoded_length >= 0)
        FUZZ_ASSERT(st.got <= (uint64_t)a.decoded_length);
    if (rc == 0 && chunked_finish(d, &err) == 0) {
        if (a.decoded_length >= 0)
            FUZZ_ASSERT(st.got == (uint64_t)a.decoded_length);
        const char *name = chunked_trailer_name(d), *value = chunked_trailer_value(d);
        FUZZ_ASSERT(!name == !value);
    }
    FUZZ_ASSERT(chunked_decoded_bytes(d) == st.got);
    chunked_free(d);
    cks_free(st.md5);
    return 0;
}
