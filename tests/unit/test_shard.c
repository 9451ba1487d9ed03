/*
 * tests/unit/test_shard.c - the shard header parser against hostile input:
 * random bytes, every single-bit flip of a valid header, fields out of
 * range behind a correct CRC (so the range checks themselves are hit),
 * names with embedded NULs or lengths past the header. And the geometry
 * the reader relies on.
 */
#include "tests/unit/test.h"

#include "common/checksum.h"
#include "storage/shard.h"

static void valid_header(shard_header *h)
{
    memset(h, 0, sizeof *h);
    for (int i = 0; i < 16; i++) {
        h->set_id[i] = (uint8_t)i;
        h->data_id[i] = (uint8_t)(i * 7);
        h->object_id[i] = (uint8_t)(i * 13);
    }
    memset(h->wrapped, 0xab, sizeof h->wrapped);
    h->block_size = 1u << 20;
    h->part = 3;
    h->size = 123456789;
    h->shard_index = 5;
    h->k = 4;
    h->m = 2;
    snprintf(h->tenant, sizeof h->tenant, "acme");
    snprintf(h->bucket, sizeof h->bucket, "backups");
    snprintf(h->key, sizeof h->key, "restic/data/ab/abcdef");
}

/* Store a little-endian field and fix the CRC, as a forger would. */
static void forge(uint8_t *buf, size_t off, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        buf[off + (size_t)i] = (uint8_t)(v >> (8 * i));
    uint32_t crc = cks_crc32c(0, buf, SHARD_HEADER_SIZE - 4);
    for (int i = 0; i < 4; i++)
        buf[SHARD_HEADER_SIZE - 4 + i] = (uint8_t)(crc >> (8 * i));
}

static void header_round_trips(void)
{
    shard_header h, back;
    uint8_t buf[SHARD_HEADER_SIZE];
    cf_err err;
    valid_header(&h);
    shard_header_encode(&h, buf);
    REQUIRE(shard_header_decode(buf, &back, &err) == 0);
    CHECK(memcmp(&h, &back, sizeof h) == 0);
    memset(h.key, 'k', ST_MAX_KEY);
    h.key[ST_MAX_KEY] = 0;
    memset(h.tenant, 't', ST_MAX_TENANT);
    memset(h.bucket, 'b', ST_MAX_BUCKET);
    shard_header_encode(&h, buf);
    REQUIRE(shard_header_decode(buf, &back, &err) == 0);
    CHECK_EQ_STR(back.key, h.key);
}

static void every_bit_flip_is_refused(void)
{
    shard_header h, back;
    uint8_t buf[SHARD_HEADER_SIZE];
    cf_err err;
    valid_header(&h);
    shard_header_encode(&h, buf);
    int accepted = 0;
    for (size_t bit = 0; bit < SHARD_HEADER_SIZE * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        accepted += shard_header_decode(buf, &back, &err) == 0;
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    CHECK_EQ_INT(accepted, 0);
}

static void random_bytes_never_parse(void)
{
    uint8_t buf[SHARD_HEADER_SIZE];
    shard_header h;
    cf_err err;
    int accepted = 0;
    for (int i = 0; i < 2000; i++) {
        test_fill_random(buf, sizeof buf, (unsigned long long)i + 1);
        if (i % 2)
            memcpy(buf, "COFSHRD1", 8);           /* right magic, garbage behind */
        accepted += shard_header_decode(buf, &h, &err) == 0;
        CHECK(err.code == CF_ECORRUPT);
    }
    CHECK_EQ_INT(accepted, 0);
}

static void out_of_range_fields_behind_a_good_crc(void)
{
    struct { size_t off; uint64_t v; int n; } bad[] = {
        {116, 100, 4},            /* block size below 4 KiB */
        {116, (1u << 20) + 1, 4}, /* block size not a multiple of 64 */
        {120, 10001, 4},          /* part number */
        {124, (5ull << 30) + 1, 8}, /* segment larger than 5 GiB */
        {132, 6, 1},              /* shard index >= k + m */
        {133, 0, 1},              /* k = 0 */
        {134, 15, 1},             /* k + m > 16 */
        {135, 200, 1},            /* tenant length past its limit */
        {136, 100, 1},            /* bucket length */
        {137, 5000, 2},           /* key length past the header */
    };
    shard_header h, back;
    uint8_t buf[SHARD_HEADER_SIZE];
    cf_err err;
    valid_header(&h);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        shard_header_encode(&h, buf);
        forge(buf, bad[i].off, bad[i].v, bad[i].n);
        CHECK_EQ_INT(shard_header_decode(buf, &back, &err), -1);
        CHECK_EQ_INT(err.code, CF_ECORRUPT);
    }
    /* a header of a shard format version this build does not know */
    shard_header_encode(&h, buf);
    forge(buf, 7, '2', 1);
    CHECK_EQ_INT(shard_header_decode(buf, &back, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    /* a NUL inside the key */
    shard_header_encode(&h, buf);
    buf[139 + 4 + 7 + 3] = 0;
    forge(buf, 0, buf[0], 1);                 /* same byte; only re-seal the CRC */
    CHECK_EQ_INT(shard_header_decode(buf, &back, &err), -1);
}

static void geometry_is_consistent(void)
{
    const uint32_t B = 1u << 20;
    CHECK_EQ_INT(shard_block_count(0, B), 1);
    CHECK_EQ_INT(shard_block_count(1, B), 1);
    CHECK_EQ_INT(shard_block_count(B, B), 1);
    CHECK_EQ_INT(shard_block_count(B + 1, B), 2);
    CHECK_EQ_INT(shard_block_plain(B + 1, B, 1), 1);
    CHECK_EQ_INT(shard_block_plain(B + 1, B, 2), 0);
    for (int k = 1; k <= 16; k++) {
        uint32_t s = shard_len_for(B, k);
        CHECK(s % 64 == 0);
        CHECK((uint64_t)s * (uint64_t)k >= B + 16);
        CHECK((uint64_t)(s - 64) * (uint64_t)k < B + 16);
        CHECK(shard_len_for(0, k) >= 16u / (uint32_t)k);
    }
    CHECK_EQ_INT(shard_block_offset(B, 4, 2), SHARD_HEADER_SIZE + 2ull * (262208 + 4));
    uint8_t id[16];
    CHECK(shard_name_to_id("000102030405060708090a0b0c0d0e0f", id));
    CHECK(!shard_name_to_id("000102030405060708090a0b0c0d0e0", id));
    CHECK(!shard_name_to_id("../../../../etc/passwd0123456789", id));
    CHECK(!shard_name_to_id("000102030405060708090a0b0c0d0e0f.tmp", id));
}

static void metadata_round_trips_and_older_headers_have_none(void)
{
    shard_header h, back;
    shard_meta m, got;
    uint8_t buf[SHARD_HEADER_SIZE];
    cf_err err;
    valid_header(&h);
    shard_header_encode(&h, buf);
    CHECK_EQ_INT(shard_meta_get(buf, &got, &err), 0);    /* as 0.1.0 wrote it */
    memset(&m, 0, sizeof m);
    m.mtime_ms = 1765000000123;
    m.upload_created_ms = 1765000000000;
    m.cks_algo = 4;
    snprintf(m.etag, sizeof m.etag, "\"0123456789abcdef0123456789abcdef\"");
    snprintf(m.cks_b64, sizeof m.cks_b64, "AAAAAAAAAAA=");
    snprintf(m.headers, sizeof m.headers, "[[\"content-type\",\"text/plain\"]]");
    shard_meta_put(buf, &m);
    REQUIRE(shard_header_decode(buf, &back, &err) == 0);  /* the CRC was fixed */
    CHECK(memcmp(&h, &back, sizeof h) == 0);
    REQUIRE(shard_meta_get(buf, &got, &err) == 1);
    CHECK(memcmp(&m, &got, sizeof m) == 0);
    /* headers that did not fit are left out, and that is said */
    m.headers_cut = true;
    shard_meta_put(buf, &m);
    REQUIRE(shard_meta_get(buf, &got, &err) == 1);
    CHECK(got.headers_cut);
    CHECK_EQ_STR(got.headers, "");
    CHECK_EQ_STR(got.etag, m.etag);
    /* a forged length behind a good CRC is refused */
    forge(buf, 1296 + 25, ST_ETAG_MAX, 1);
    CHECK_EQ_INT(shard_meta_get(buf, &got, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
}

TEST_MAIN("shard",
          T(metadata_round_trips_and_older_headers_have_none),
          T(header_round_trips),
          T(every_bit_flip_is_refused),
          T(random_bytes_never_parse),
          T(out_of_range_fields_behind_a_good_crc),
          T(geometry_is_consistent))
