/* tests/unit/test_checksum.c - digests, CRCs and the strict encoders. */
#include "common/checksum.h"
#include "common/hex.h"
#include "common/md5sha.h"
#include "tests/unit/test.h"

#include <openssl/evp.h>

static const char check_input[] = "123456789";

/* Hex of the digest of data under algo, via a fresh state. */
static void digest_hex(cks_algo algo, const void *data, size_t len,
                       char hex[CKS_MAX_HEX])
{
    cf_err err;
    uint8_t raw[CKS_MAX_RAW];
    cks_state *s = cks_new(algo, &err);
    hex[0] = '\0';
    if (!s)
        return;
    cks_update(s, data, len);
    size_t n = cks_final(s, raw);
    hex_encode(raw, n, hex, CKS_MAX_HEX);
    cks_free(s);
}

static void check_vector(cks_algo algo, const char *input, const char *want)
{
    char hex[CKS_MAX_HEX];
    digest_hex(algo, input, strlen(input), hex);
    CHECK_EQ_STR(hex, want);
}

static void crc_check_values(void)
{
    check_vector(CKS_CRC32, check_input, "cbf43926");
    check_vector(CKS_CRC32C, check_input, "e3069283");
    check_vector(CKS_CRC64NVME, check_input, "ae8b14860a799888");
    check_vector(CKS_CRC32, "", "00000000");
    check_vector(CKS_CRC64NVME, "", "0000000000000000");
    CHECK_EQ_INT(cks_crc32c(0, check_input, 9), 0xe3069283u);
}

static void hash_standard_vectors(void)
{
    check_vector(CKS_MD5, "", "d41d8cd98f00b204e9800998ecf8427e");
    check_vector(CKS_MD5, "abc", "900150983cd24fb0d6963f7d28e17f72");
    check_vector(CKS_SHA1, "abc", "a9993e364706816aba3e25717850c26c9cd0d89d");
    check_vector(CKS_SHA256, "abc",
                 "ba7816bf8f01cfea414140de5dae2223"
                 "b00361a396177a9cb410ff61f20015ad");
    check_vector(CKS_SHA256,
                 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                 "248d6a61d20638b8e5c026930c3e6039"
                 "a33ce45964ff2167f6ecedd419db06c1");
}

/* A bit-at-a-time reflected CRC, independent of the table-driven code. */
static uint64_t crc_bitwise(uint64_t poly, int width, const uint8_t *p,
                            size_t len)
{
    uint64_t mask = width == 64 ? ~0ULL : (1ULL << width) - 1;
    uint64_t crc = mask;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (crc >> 1) ^ poly : crc >> 1;
    }
    return ~crc & mask;
}

static uint64_t crc_value(cks_algo algo, const uint8_t *p, size_t len)
{
    cf_err err;
    uint8_t raw[CKS_MAX_RAW];
    cks_state *s = cks_new(algo, &err);
    if (!s)
        return 0;
    cks_update(s, p, len);
    size_t n = cks_final(s, raw);
    cks_free(s);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | raw[i];
    return v;
}

static void crcs_match_bitwise_reference_at_every_length(void)
{
    uint8_t buf[300];
    test_fill_random(buf, sizeof buf, 7);
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len + off <= sizeof buf; len += 13) {
            const uint8_t *p = buf + off;
            CHECK_EQ_INT(crc_value(CKS_CRC64NVME, p, len),
                         crc_bitwise(0x9a6c9329ac4bc9b5ULL, 64, p, len));
            CHECK_EQ_INT(crc_value(CKS_CRC32C, p, len),
                         crc_bitwise(0x82f63b78, 32, p, len));
            CHECK_EQ_INT(crc_value(CKS_CRC32, p, len),
                         crc_bitwise(0xedb88320, 32, p, len));
        }
}

static void streaming_in_odd_pieces_equals_one_shot(void)
{
    enum { N = 100003 };
    uint8_t *buf = malloc(N);
    REQUIRE(buf);
    test_fill_random(buf, N, 42);
    for (int a = CKS_NONE + 1; a < CKS_ALGO_COUNT; a++) {
        cf_err err;
        uint8_t whole[CKS_MAX_RAW], pieces[CKS_MAX_RAW];
        cks_state *s = cks_new((cks_algo)a, &err);
        REQUIRE(s);
        CHECK_EQ_INT(cks_state_algo(s), a);
        cks_update(s, buf, N);
        size_t n = cks_final(s, whole);
        CHECK_EQ_INT(n, cks_raw_len((cks_algo)a));

        cks_reset(s);
        size_t off = 0, step = 1;
        while (off < N) {
            size_t take = step < N - off ? step : N - off;
            cks_update(s, buf + off, take);
            off += take;
            step = step * 3 + 1;   /* 1, 4, 13, 40, ... odd and even sizes */
            if (step > 9000)
                step = 7;
        }
        CHECK_EQ_INT(cks_final(s, pieces), n);
        CHECK(memcmp(whole, pieces, n) == 0);

        /* A reset state forgets everything before it. */
        cks_reset(s);
        cks_update(s, "junk", 4);
        cks_reset(s);
        cks_update(s, buf, N);
        cks_final(s, pieces);
        CHECK(memcmp(whole, pieces, n) == 0);
        cks_free(s);
    }
    free(buf);
}

static void crc32c_chains(void)
{
    uint8_t buf[5000];
    test_fill_random(buf, sizeof buf, 3);
    uint32_t whole = cks_crc32c(0, buf, sizeof buf);
    uint32_t part = cks_crc32c(0, buf, 1234);
    CHECK_EQ_INT(cks_crc32c(part, buf + 1234, sizeof buf - 1234), whole);
    CHECK(cks_crc32c(0, buf, sizeof buf - 1) != whole);
}

static void names_and_headers(void)
{
    CHECK_EQ_STR(cks_algo_name(CKS_CRC64NVME), "CRC64NVME");
    CHECK(cks_algo_name(CKS_NONE) == NULL);
    CHECK_EQ_INT(cks_algo_from_name("crc64nvme"), CKS_CRC64NVME);
    CHECK_EQ_INT(cks_algo_from_name("Sha256"), CKS_SHA256);
    CHECK_EQ_INT(cks_algo_from_name("CRC32"), CKS_CRC32);
    CHECK_EQ_INT(cks_algo_from_name("crc32c"), CKS_CRC32C);
    CHECK_EQ_INT(cks_algo_from_name("crc3"), CKS_NONE);
    CHECK_EQ_INT(cks_algo_from_name(""), CKS_NONE);
    CHECK_EQ_INT(cks_algo_from_name(NULL), CKS_NONE);
    CHECK_EQ_STR(cks_header_name(CKS_CRC32C), "x-amz-checksum-crc32c");
    CHECK_EQ_STR(cks_header_name(CKS_SHA1), "x-amz-checksum-sha1");
    CHECK(cks_header_name(CKS_MD5) == NULL);
    CHECK_EQ_INT(cks_raw_len(CKS_SHA256), 32);
    CHECK_EQ_INT(cks_raw_len(CKS_NONE), 0);
    cf_err err;
    CHECK(cks_new(CKS_NONE, &err) == NULL);
    CHECK_EQ_INT(err.code, CF_EINVAL);
    CHECK(cks_new(CKS_ALGO_COUNT, &err) == NULL);
}

static void base64_matches_s3_header_values(void)
{
    uint8_t raw[CKS_MAX_RAW];
    char b64[CKS_MAX_B64];
    cf_err err;
    cks_state *s = cks_new(CKS_SHA256, &err);
    REQUIRE(s);
    size_t n = cks_final(s, raw);
    CHECK_EQ_INT(cks_to_base64(raw, n, b64, sizeof b64), 44);
    CHECK_EQ_STR(b64, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    cks_free(s);

    s = cks_new(CKS_CRC32, &err);
    REQUIRE(s);
    cks_update(s, check_input, 9);
    n = cks_final(s, raw);
    cks_to_base64(raw, n, b64, sizeof b64);
    CHECK_EQ_STR(b64, "y/Q5Jg==");
    cks_free(s);
}

static void base64_round_trips_every_short_length(void)
{
    uint8_t raw[40], back[40];
    char b64[64];
    test_fill_random(raw, sizeof raw, 9);
    for (size_t len = 1; len <= sizeof raw; len++) {
        size_t got = 0;
        size_t w = cks_to_base64(raw, len, b64, sizeof b64);
        CHECK_EQ_INT(w, (len + 2) / 3 * 4);
        CHECK_EQ_INT(strlen(b64), w);
        CHECK_EQ_INT(cks_from_base64(b64, back, len, &got), 0);
        CHECK_EQ_INT(got, len);
        CHECK(memcmp(raw, back, len) == 0);
    }
    /* Output buffer one short (no room for the NUL) is refused. */
    CHECK_EQ_INT(cks_to_base64(raw, 3, b64, 4), 0);
    CHECK_EQ_INT(cks_to_base64(raw, 3, b64, 5), 4);
}

static void base64_rejects_hostile_input(void)
{
    uint8_t out[8];
    size_t got = 99;
    CHECK_EQ_INT(cks_from_base64("", out, 0, &got), -1);
    CHECK_EQ_INT(cks_from_base64("AAA", out, 2, &got), -1);      /* length */
    CHECK_EQ_INT(cks_from_base64("AAAAA", out, 3, &got), -1);
    CHECK_EQ_INT(cks_from_base64("AA*A", out, 3, &got), -1);     /* char */
    CHECK_EQ_INT(cks_from_base64("AA A", out, 3, &got), -1);
    CHECK_EQ_INT(cks_from_base64("AA-_", out, 3, &got), -1);     /* url */
    CHECK_EQ_INT(cks_from_base64("A===", out, 1, &got), -1);     /* pad */
    CHECK_EQ_INT(cks_from_base64("====", out, 1, &got), -1);
    CHECK_EQ_INT(cks_from_base64("AA=A", out, 3, &got), -1);
    CHECK_EQ_INT(cks_from_base64("AB==", out, 1, &got), -1);     /* bits */
    CHECK_EQ_INT(cks_from_base64("AAB=", out, 2, &got), -1);
    CHECK_EQ_INT(cks_from_base64("AAAA", out, 2, &got), -1);     /* size */
    CHECK_EQ_INT(cks_from_base64("AAAA", out, 4, &got), -1);
    CHECK_EQ_INT(got, 99);
    CHECK_EQ_INT(cks_from_base64("AQ==", out, 1, &got), 0);
    CHECK_EQ_INT(got, 1);
    CHECK_EQ_INT(out[0], 1);
    CHECK_EQ_INT(cks_from_base64("AAE=", out, 2, NULL), 0);
    CHECK_EQ_INT(out[1], 1);
}

static void hex_round_trips_and_rejects_hostile_input(void)
{
    uint8_t raw[4] = {0x00, 0xab, 0x7f, 0xff}, out[4];
    char hex[9];
    size_t got = 0;
    CHECK_EQ_INT(hex_encode(raw, 4, hex, sizeof hex), 8);
    CHECK_EQ_STR(hex, "00ab7fff");
    CHECK_EQ_INT(hex_encode(raw, 4, hex, 8), 0);
    CHECK_EQ_INT(hex_decode("00AB7Fff", out, 4, &got), 0);
    CHECK_EQ_INT(got, 4);
    CHECK(memcmp(raw, out, 4) == 0);
    CHECK_EQ_INT(hex_decode("", out, 0, &got), -1);
    CHECK_EQ_INT(hex_decode("00ab7ff", out, 4, &got), -1);
    CHECK_EQ_INT(hex_decode("00ab7fff00", out, 4, &got), -1);
    CHECK_EQ_INT(hex_decode("00ab7ffg", out, 4, &got), -1);
    CHECK_EQ_INT(hex_decode("00ab 7ff", out, 4, &got), -1);
    CHECK_EQ_INT(hex_decode("0xab7fff", out, 4, &got), -1);
}

/* crc(A || B) from crc(A), crc(B) and len(B), for every CRC, at split
 * points around block and word sizes, an empty A or B, and a length that
 * crosses 32 bits only in its bit count (combining with 2^29 zero bytes
 * equals the CRC computed over them). */
static void crc_combine_equals_the_crc_of_the_whole(void)
{
    static const cks_algo crcs[] = {CKS_CRC32, CKS_CRC32C, CKS_CRC64NVME};
    uint8_t data[4099];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 131 + (i >> 7));
    static const size_t splits[] = {0, 1, 7, 8, 15, 16, 17, 1000, 4096, 4098, 4099};
    cf_err err;
    for (size_t a = 0; a < 3; a++) {
        cks_state *s = cks_new(crcs[a], &err);
        REQUIRE(s);
        size_t n = cks_raw_len(crcs[a]);
        uint8_t whole[CKS_MAX_RAW], ca[CKS_MAX_RAW], cb[CKS_MAX_RAW], got[CKS_MAX_RAW];
        cks_update(s, data, sizeof data);
        cks_final(s, whole);
        for (size_t k = 0; k < sizeof splits / sizeof splits[0]; k++) {
            size_t cut = splits[k];
            cks_reset(s);
            cks_update(s, data, cut);
            cks_final(s, ca);
            cks_reset(s);
            cks_update(s, data + cut, sizeof data - cut);
            cks_final(s, cb);
            CHECK_EQ_INT(cks_crc_combine(crcs[a], ca, cb, sizeof data - cut, got), 0);
            CHECK(memcmp(got, whole, n) == 0);
            /* in place, as a running full-object value is kept */
            CHECK_EQ_INT(cks_crc_combine(crcs[a], ca, cb, sizeof data - cut, ca), 0);
            CHECK(memcmp(ca, whole, n) == 0);
        }
        /* three parts folded left to right */
        uint8_t acc[CKS_MAX_RAW], part[CKS_MAX_RAW];
        size_t cuts[] = {0, 1500, 3000, sizeof data};
        for (int p = 0; p < 3; p++) {
            cks_reset(s);
            cks_update(s, data + cuts[p], cuts[p + 1] - cuts[p]);
            cks_final(s, p == 0 ? acc : part);
            if (p > 0)
                CHECK_EQ_INT(cks_crc_combine(crcs[a], acc, part, cuts[p + 1] - cuts[p], acc), 0);
        }
        CHECK(memcmp(acc, whole, n) == 0);
        /* a long B: 512 MiB of zeros, streamed once */
        static uint8_t zeros[1 << 20];
        cks_reset(s);
        cks_update(s, data, sizeof data);
        for (int i = 0; i < 512; i++)
            cks_update(s, zeros, sizeof zeros);
        cks_final(s, whole);
        cks_reset(s);
        for (int i = 0; i < 512; i++)
            cks_update(s, zeros, sizeof zeros);
        cks_final(s, cb);
        cks_reset(s);
        cks_update(s, data, sizeof data);
        cks_final(s, ca);
        CHECK_EQ_INT(cks_crc_combine(crcs[a], ca, cb, 512ull << 20, got), 0);
        CHECK(memcmp(got, whole, n) == 0);
        cks_free(s);
    }
    uint8_t x[32] = {0};
    CHECK(!cks_is_crc(CKS_SHA256) && !cks_is_crc(CKS_MD5) && !cks_is_crc(CKS_NONE));
    CHECK_EQ_INT(cks_crc_combine(CKS_SHA1, x, x, 1, x), -1);
}

/* OpenSSL's digest of p, the reference for coffer's own MD5 and SHA-256. */
static void ossl_digest(cks_algo algo, const uint8_t *p, size_t len, uint8_t out[32])
{
    unsigned n = 0;
    EVP_Digest(p, len, out, &n, algo == CKS_MD5 ? EVP_md5() : EVP_sha256(), NULL);
}

static void check_state(cks_state *s, const uint8_t *p, size_t len)
{
    uint8_t got[CKS_MAX_RAW], want[32];
    size_t n = cks_final(s, got);
    ossl_digest(cks_state_algo(s), p, len, want);
    CHECK(memcmp(got, want, n) == 0);
    cks_reset(s);
}

/* Every length across the padding boundaries, one state reused. */
static void md5_sha256_match_openssl_at_every_length(void)
{
    uint8_t buf[300];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 167 + 13);
    cf_err err;
    cks_state *m = cks_new(CKS_MD5, &err), *s = cks_new(CKS_SHA256, &err);
    REQUIRE(m && s);
    for (size_t len = 0; len <= sizeof buf; len++) {
        cks_update(m, buf, len);
        check_state(m, buf, len);
        cks_update(s, buf, len);
        check_state(s, buf, len);
    }
    cks_free(m);
    cks_free(s);
}

/* cks_update2 over MD5 + SHA-256 (either order) equals each alone, also
 * when the two states are at different offsets within a block (a chunk's
 * SHA-256 restarts every chunk while the ETag's MD5 runs on), for pieces
 * of odd sizes; and whether or not the stitched code runs here. */
static void md5_and_sha256_in_one_pass_equal_each_alone(void)
{
    enum { LEN = (1 << 20) + 4099 };
    uint8_t *buf = malloc(LEN);
    REQUIRE(buf);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < LEN; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    static const size_t lead[] = {0, 1, 55, 63, 64, 65, 1000};
    static const size_t piece[] = {1, 63, 64, 65, 4096, 65536, 99991, LEN};
    cf_err err;
    for (size_t l = 0; l < sizeof lead / sizeof lead[0]; l++)
        for (size_t q = 0; q < sizeof piece / sizeof piece[0]; q++) {
            cks_state *m = cks_new(CKS_MD5, &err), *s = cks_new(CKS_SHA256, &err);
            REQUIRE(m && s);
            cks_update(m, buf, lead[l]);        /* MD5 ahead by lead[l] bytes */
            for (size_t off = lead[l]; off < LEN; off += piece[q]) {
                size_t n = LEN - off < piece[q] ? LEN - off : piece[q];
                if (q % 2)
                    cks_update2(m, s, buf + off, n);
                else
                    cks_update2(s, m, buf + off, n);
            }
            check_state(m, buf, LEN);
            check_state(s, buf + lead[l], LEN - lead[l]);
            cks_update2(m, NULL, buf, 100);     /* no second state */
            check_state(m, buf, 100);
            cks_free(m);
            cks_free(s);
        }
    free(buf);
    if (!md5sha_available())
        printf("# note: no SHA extensions here, OpenSSL's digests were checked\n");
}

/* cks_update2_copy hashes as cks_update2 does and leaves an exact copy,
 * at every lead (the two states at different offsets in a block) and piece
 * size, for the pair and for one state alone; the bytes around the copy
 * are untouched. */
static void hashing_while_copying_equals_hashing_then_copying(void)
{
    enum { LEN = (1 << 18) + 4099 };
    uint8_t *buf = malloc(LEN), *dst = malloc(LEN + 2);
    REQUIRE(buf && dst);
    uint32_t x = 88675123u;
    for (size_t i = 0; i < LEN; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    static const size_t lead[] = {0, 1, 63, 64, 100};
    static const size_t piece[] = {1, 63, 64, 65, 4096, 65536, 99991, LEN};
    cf_err err;
    for (size_t l = 0; l < sizeof lead / sizeof lead[0]; l++)
        for (size_t q = 0; q < sizeof piece / sizeof piece[0]; q++)
            for (int pair = 0; pair < 2; pair++) {
                cks_state *m = cks_new(CKS_MD5, &err), *s = cks_new(CKS_SHA256, &err);
                REQUIRE(m && s);
                memset(dst, 0xA5, LEN + 2);
                cks_update(m, buf, lead[l]);
                memcpy(dst + 1, buf, lead[l]);
                for (size_t off = lead[l]; off < LEN; off += piece[q]) {
                    size_t n = LEN - off < piece[q] ? LEN - off : piece[q];
                    cks_update2_copy(m, pair ? s : NULL, dst + 1 + off, buf + off, n);
                }
                check_state(m, buf, LEN);
                if (pair)
                    check_state(s, buf + lead[l], LEN - lead[l]);
                CHECK(memcmp(dst + 1, buf, LEN) == 0);
                CHECK(dst[0] == 0xA5 && dst[LEN + 1] == 0xA5);
                cks_free(m);
                cks_free(s);
            }
    free(buf);
    free(dst);
}

TEST_MAIN("checksum",
          T(crc_combine_equals_the_crc_of_the_whole),
          T(crc_check_values),
          T(hash_standard_vectors),
          T(md5_sha256_match_openssl_at_every_length),
          T(md5_and_sha256_in_one_pass_equal_each_alone),
          T(hashing_while_copying_equals_hashing_then_copying),
          T(crcs_match_bitwise_reference_at_every_length),
          T(streaming_in_odd_pieces_equals_one_shot),
          T(crc32c_chains),
          T(names_and_headers),
          T(base64_matches_s3_header_values),
          T(base64_round_trips_every_short_length),
          T(base64_rejects_hostile_input),
          T(hex_round_trips_and_rejects_hostile_input))
