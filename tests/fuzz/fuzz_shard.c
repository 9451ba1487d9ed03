/*
 * tests/fuzz/fuzz_shard.c - the shard header decoder. The input becomes
 * the first bytes of a header (the rest zero); when its first byte is odd
 * the trailing CRC32C is fixed up first, so the fuzzer reaches the field
 * checks behind the checksum. Property: whatever decodes encodes back to
 * bytes that decode to the same header, and metadata that reads is put
 * back to bytes that read the same.
 */
#include <string.h>

#include "storage/shard.h"          /* brings the CRC32C through engine.h */
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[SHARD_HEADER_SIZE], again[SHARD_HEADER_SIZE];
    memset(buf, 0, sizeof buf);
    memcpy(buf, data, size < sizeof buf ? size : sizeof buf);
    if (size > 0 && (data[0] & 1)) {
        uint32_t crc = cks_crc32c(0, buf, SHARD_HEADER_SIZE - 4);
        for (int i = 0; i < 4; i++)
            buf[SHARD_HEADER_SIZE - 4 + i] = (uint8_t)(crc >> (8 * i));
    }
    shard_header h, h2;
    cf_err err;
    if (shard_header_decode(buf, &h, &err) < 0)
        return 0;
    shard_header_encode(&h, again);
    FUZZ_ASSERT(shard_header_decode(again, &h2, &err) == 0);
    FUZZ_ASSERT(memcmp(&h, &h2, sizeof h) == 0);
    static shard_meta m, m2;
    if (shard_meta_get(buf, &m, &err) == 1) {
        shard_meta_put(again, &m);
        FUZZ_ASSERT(shard_meta_get(again, &m2, &err) == 1);
        FUZZ_ASSERT(memcmp(&m, &m2, sizeof m) == 0);
    }
    return 0;
}
