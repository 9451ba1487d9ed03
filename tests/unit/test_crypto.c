/* tests/unit/test_crypto.c - block encryption, key wrapping, derivation,
 * stored secrets and the master key file. */
#include "storage/crypto.h"
#include "tests/unit/test.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t data_id[CRYPT_DATA_ID_LEN] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void fill_key(uint8_t key[CRYPT_KEY_LEN], unsigned long long seed)
{
    test_fill_random(key, CRYPT_KEY_LEN, seed);
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* AES-256-GCM straight from OpenSSL, with nonce and AAD built here from the
 * layout in crypto.h, so the test pins the layout independently. */
static bool reference_seal(const uint8_t key[CRYPT_KEY_LEN],
                           const crypt_pos *pos, const uint8_t *pt, int len,
                           uint8_t *ct, uint8_t tag[CRYPT_TAG_LEN])
{
    uint8_t nonce[12], aad[37];
    put_be(nonce, pos->part, 4);
    put_be(nonce + 4, pos->block, 8);
    memcpy(aad, "cofferB1", 8);
    memcpy(aad + 8, pos->data_id, 16);
    put_be(aad + 24, pos->part, 4);
    put_be(aad + 28, pos->block, 8);
    aad[36] = pos->last;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    bool ok = ctx &&
              EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) &&
              EVP_EncryptUpdate(ctx, NULL, &n, aad, sizeof aad) &&
              EVP_EncryptUpdate(ctx, ct, &n, pt, len) &&
              EVP_EncryptFinal_ex(ctx, ct + n, &n) &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

static void block_layout_matches_reference(void)
{
    cf_err err;
    crypt_ctx *c = crypt_ctx_new(&err);
    REQUIRE(c);
    uint8_t key[CRYPT_KEY_LEN], pt[333], ct[333], ref[333];
    uint8_t tag[CRYPT_TAG_LEN], reftag[CRYPT_TAG_LEN];
    fill_key(key, 1);
    test_fill_random(pt, sizeof pt, 2);
    crypt_pos pos = {data_id, 0x01020304u, 0x0a0b0c0d0e0f1011ULL, true};
    REQUIRE(crypt_seal_block(c, key, &pos, pt, sizeof pt, ct, tag, &err) == 0);
    REQUIRE(reference_seal(key, &pos, pt, sizeof pt, ref, reftag));
    CHECK(memcmp(ct, ref, sizeof ct) == 0);
    CHECK(memcmp(tag, reftag, sizeof tag) == 0);
    crypt_ctx_free(c);
}

static void blocks_round_trip_including_in_place_and_empty(void)
{
    cf_err err;
    crypt_ctx *c = crypt_ctx_new(&err);
    REQUIRE(c);
    enum { N = (1 << 20) + 7 };
    uint8_t *pt = malloc(N), *buf = malloc(N), key[CRYPT_KEY_LEN];
    uint8_t tag[CRYPT_TAG_LEN];
    REQUIRE(pt && buf);
    fill_key(key, 3);
    test_fill_random(pt, N, 4);
    memcpy(buf, pt, N);
    crypt_pos pos = {data_id, 3, 17, false};
    CHECK_EQ_INT(crypt_seal_block(c, key, &pos, buf, N, buf, tag, &err), 0);
    CHECK(memcmp(buf, pt, 64) != 0);
    CHECK_EQ_INT(crypt_open_block(c, key, &pos, buf, N, tag, buf, &err), 0);
    CHECK(memcmp(buf, pt, N) == 0);

    CHECK_EQ_INT(crypt_seal_block(c, key, &pos, pt, 0, buf, tag, &err), 0);
    CHECK_EQ_INT(crypt_open_block(c, key, &pos, buf, 0, tag, buf, &err), 0);
    tag[0] ^= 1;
    CHECK_EQ_INT(crypt_open_block(c, key, &pos, buf, 0, tag, buf, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    free(pt);
    free(buf);
    crypt_ctx_free(c);
}

/* Open with one thing changed; must fail authentication. */
static void expect_corrupt(crypt_ctx *c, const uint8_t *key,
                           const crypt_pos *pos, const uint8_t *ct, size_t len,
                           const uint8_t *tag, const char *what)
{
    cf_err err;
    uint8_t out[256];
    int rc = crypt_open_block(c, key, pos, ct, len, tag, out, &err);
    if (rc != -1 || err.code != CF_ECORRUPT)
        fprintf(stderr, "tamper with %s was not detected\n", what);
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
}

static void any_tampering_fails_the_tag(void)
{
    cf_err err;
    crypt_ctx *c = crypt_ctx_new(&err);
    REQUIRE(c);
    uint8_t key[CRYPT_KEY_LEN], other_key[CRYPT_KEY_LEN];
    uint8_t pt[256], ct[256], bad[256], tag[CRYPT_TAG_LEN], badtag[16];
    uint8_t other_id[CRYPT_DATA_ID_LEN];
    fill_key(key, 5);
    fill_key(other_key, 6);
    test_fill_random(pt, sizeof pt, 7);
    memcpy(other_id, data_id, sizeof other_id);
    other_id[15] ^= 0x80;
    crypt_pos pos = {data_id, 2, 9, false};
    REQUIRE(crypt_seal_block(c, key, &pos, pt, sizeof pt, ct, tag, &err) == 0);

    memcpy(bad, ct, sizeof bad);
    bad[100] ^= 0x01;
    expect_corrupt(c, key, &pos, bad, sizeof bad, tag, "ciphertext");
    memcpy(badtag, tag, sizeof badtag);
    badtag[15] ^= 0x80;
    expect_corrupt(c, key, &pos, ct, sizeof ct, badtag, "tag");
    expect_corrupt(c, key, &pos, ct, sizeof ct - 1, tag, "length");
    expect_corrupt(c, other_key, &pos, ct, sizeof ct, tag, "key");

    crypt_pos p = pos;
    p.data_id = other_id;
    expect_corrupt(c, key, &p, ct, sizeof ct, tag, "data id");
    p = pos;
    p.part = 3;
    expect_corrupt(c, key, &p, ct, sizeof ct, tag, "part");
    p = pos;
    p.block = 10;
    expect_corrupt(c, key, &p, ct, sizeof ct, tag, "block");
    p = pos;
    p.last = true;
    expect_corrupt(c, key, &p, ct, sizeof ct, tag, "last flag");

    uint8_t out[256];
    CHECK_EQ_INT(crypt_open_block(c, key, &pos, ct, sizeof ct, tag, out, &err),
                 0);
    CHECK(memcmp(out, pt, sizeof pt) == 0);
    crypt_ctx_free(c);
}

static void random_bytes_differ(void)
{
    uint8_t a[32], b[32];
    cf_err err;
    CHECK_EQ_INT(crypt_random(a, sizeof a, &err), 0);
    CHECK_EQ_INT(crypt_random(b, sizeof b, &err), 0);
    CHECK(memcmp(a, b, sizeof a) != 0);
}

/* HKDF-SHA256 for one 32-byte output, built from HMAC by hand. */
static void reference_hkdf(const uint8_t *ikm, const char *salt,
                           const char *info, uint8_t out[32])
{
    uint8_t prk[32], msg[256];
    size_t n = 0, infolen = strlen(info);
    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, salt, strlen(salt), ikm, 32,
              prk, 32, &n);
    memcpy(msg, info, infolen);
    msg[infolen] = 1;
    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, prk, 32, msg, infolen + 1,
              out, 32, &n);
}

static void kek_derivation_is_hkdf_and_separates_tenants(void)
{
    cf_err err;
    uint8_t master[CRYPT_KEY_LEN], master2[CRYPT_KEY_LEN];
    uint8_t a1[32], a2[32], b[32], other[32], ref[32];
    fill_key(master, 8);
    fill_key(master2, 9);
    CHECK_EQ_INT(crypt_derive_kek(master, "tenant-a", a1, &err), 0);
    CHECK_EQ_INT(crypt_derive_kek(master, "tenant-a", a2, &err), 0);
    CHECK_EQ_INT(crypt_derive_kek(master, "tenant-b", b, &err), 0);
    CHECK_EQ_INT(crypt_derive_kek(master2, "tenant-a", other, &err), 0);
    CHECK(memcmp(a1, a2, 32) == 0);
    CHECK(memcmp(a1, b, 32) != 0);
    CHECK(memcmp(a1, other, 32) != 0);
    reference_hkdf(master, "coffer-kek-v1", "tenant-a", ref);
    CHECK(memcmp(a1, ref, 32) == 0);
    CHECK_EQ_INT(crypt_derive_kek(master, "", a1, &err), -1);
    CHECK_EQ_INT(err.code, CF_EINVAL);
}

static void master_check_is_hmac_of_label(void)
{
    uint8_t master[CRYPT_KEY_LEN], c1[32], c2[32], ref[32];
    size_t n = 0;
    fill_key(master, 10);
    crypt_master_check(master, c1);
    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, master, 32,
              (const unsigned char *)"coffer-check-v1", 15, ref, 32, &n);
    CHECK(memcmp(c1, ref, 32) == 0);
    master[0] ^= 1;
    crypt_master_check(master, c2);
    CHECK(memcmp(c1, c2, 32) != 0);
}

static void wrapped_keys_are_bound_to_kek_and_data_id(void)
{
    cf_err err;
    crypt_ctx *c = crypt_ctx_new(&err);
    REQUIRE(c);
    uint8_t kek[32], kek2[32], dk[32], back[32], w1[60], w2[60];
    uint8_t other_id[CRYPT_DATA_ID_LEN];
    fill_key(kek, 11);
    fill_key(kek2, 12);
    fill_key(dk, 13);
    memcpy(other_id, data_id, sizeof other_id);
    other_id[0] ^= 1;
    CHECK_EQ_INT(crypt_wrap_key(c, kek, data_id, dk, w1, &err), 0);
    CHECK_EQ_INT(crypt_wrap_key(c, kek, data_id, dk, w2, &err), 0);
    CHECK(memcmp(w1, w2, 60) != 0);   /* fresh nonce each time */
    CHECK_EQ_INT(crypt_unwrap_key(c, kek, data_id, w1, back, &err), 0);
    CHECK(memcmp(back, dk, 32) == 0);
    CHECK_EQ_INT(crypt_unwrap_key(c, kek, data_id, w2, back, &err), 0);
    CHECK(memcmp(back, dk, 32) == 0);

    CHECK_EQ_INT(crypt_unwrap_key(c, kek2, data_id, w1, back, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    CHECK_EQ_INT(crypt_unwrap_key(c, kek, other_id, w1, back, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    for (int i = 0; i < 60; i += 11) {
        w1[i] ^= 0x10;
        CHECK_EQ_INT(crypt_unwrap_key(c, kek, data_id, w1, back, &err), -1);
        CHECK_EQ_INT(err.code, CF_ECORRUPT);
        w1[i] ^= 0x10;
    }
    crypt_ctx_free(c);
}

static void secrets_round_trip_and_bind_access_key(void)
{
    cf_err err;
    crypt_ctx *c = crypt_ctx_new(&err);
    REQUIRE(c);
    uint8_t master[32], master2[32], sealed[128];
    char secret[64];
    size_t n = 0;
    const char *s = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    fill_key(master, 14);
    fill_key(master2, 15);
    REQUIRE(crypt_derive_secrets_key(master, master, &err) == 0);
    REQUIRE(crypt_derive_secrets_key(master2, master2, &err) == 0);
    REQUIRE(crypt_seal_secret(c, master, "AKID1", s, sealed, sizeof sealed, &n,
                              &err) == 0);
    CHECK_EQ_INT(n, strlen(s) + 28);
    CHECK_EQ_INT(crypt_open_secret(c, master, "AKID1", sealed, n, secret,
                                   sizeof secret, &err), 0);
    CHECK_EQ_STR(secret, s);

    CHECK_EQ_INT(crypt_open_secret(c, master, "AKID2", sealed, n, secret,
                                   sizeof secret, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    CHECK_EQ_INT(crypt_open_secret(c, master2, "AKID1", sealed, n, secret,
                                   sizeof secret, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    CHECK_EQ_INT(crypt_open_secret(c, master, "AKID1", sealed, n - 1, secret,
                                   sizeof secret, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    CHECK_EQ_INT(crypt_open_secret(c, master, "AKID1", sealed, 27, secret,
                                   sizeof secret, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    CHECK_EQ_INT(crypt_open_secret(c, master, "AKID1", sealed, n, secret,
                                   strlen(s), &err), -1);
    CHECK_EQ_INT(err.code, CF_EINVAL);
    CHECK_EQ_INT(crypt_seal_secret(c, master, "AKID1", s, sealed, n - 1, &n,
                                   &err), -1);
    CHECK_EQ_INT(err.code, CF_EINVAL);
    crypt_ctx_free(c);
}

/* ---- master key file ---- */

static const char key_hex[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static bool write_file(const char *path, const char *content, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return false;
    ssize_t n = write(fd, content, strlen(content));
    close(fd);
    return n == (ssize_t)strlen(content) && chmod(path, mode) == 0;
}

/* Load must fail with ECONFIG, naming the file and the reason, without
 * leaking the key. */
static void expect_load_refused(const char *path, const char *content,
                                mode_t mode, const char *reason)
{
    cf_err err;
    uint8_t key[32];
    REQUIRE(write_file(path, content, mode));
    CHECK_EQ_INT(crypt_master_load(path, key, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    CHECK(strstr(err.msg, path) != NULL);
    CHECK(strstr(err.msg, reason) != NULL);
    CHECK(strstr(err.msg, "0001020304") == NULL);
}

static void master_file_load_accepts_only_good_files(void)
{
    char path[512];
    cf_err err;
    uint8_t key[32];
    snprintf(path, sizeof path, "%s/master.key", test_tmpdir());

    char with_nl[80];
    snprintf(with_nl, sizeof with_nl, "%s\n", key_hex);
    REQUIRE(write_file(path, with_nl, 0600));
    CHECK_EQ_INT(crypt_master_load(path, key, &err), 0);
    CHECK_EQ_INT(key[0], 0x00);
    CHECK_EQ_INT(key[31], 0x1f);
    REQUIRE(write_file(path, key_hex, 0400));
    CHECK_EQ_INT(crypt_master_load(path, key, &err), 0);

    expect_load_refused(path, with_nl, 0640, "mode 640");
    expect_load_refused(path, with_nl, 0604, "mode 604");
    expect_load_refused(path, key_hex + 2, 0600, "exactly 64");  /* 62 */
    char longer[80];
    snprintf(longer, sizeof longer, "%s00", key_hex);
    expect_load_refused(path, longer, 0600, "exactly 64");       /* 66 */
    snprintf(longer, sizeof longer, "%s\n\n", key_hex);
    expect_load_refused(path, longer, 0600, "exactly 64");
    char nonhex[80];
    snprintf(nonhex, sizeof nonhex, "%s\n", key_hex);
    nonhex[10] = 'g';
    expect_load_refused(path, nonhex, 0600, "non-hex");
    expect_load_refused(path, "", 0600, "exactly 64");

    unlink(path);
    CHECK_EQ_INT(crypt_master_load(path, key, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    CHECK(strstr(err.msg, path) != NULL);

    REQUIRE(mkdir(path, 0700) == 0);
    CHECK_EQ_INT(crypt_master_load(path, key, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    CHECK(strstr(err.msg, "not a regular file") != NULL);
    rmdir(path);
}

static void master_generate_creates_private_file_once(void)
{
    char path[512];
    cf_err err;
    uint8_t key[32], loaded[32], again[32];
    snprintf(path, sizeof path, "%s/gen.key", test_tmpdir());
    REQUIRE(crypt_master_generate(path, key, &err) == 0);
    struct stat st;
    REQUIRE(stat(path, &st) == 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0600);
    CHECK_EQ_INT(st.st_size, 65);
    CHECK_EQ_INT(crypt_master_load(path, loaded, &err), 0);
    CHECK(memcmp(key, loaded, 32) == 0);

    CHECK_EQ_INT(crypt_master_generate(path, again, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    CHECK_EQ_INT(crypt_master_load(path, loaded, &err), 0);
    CHECK(memcmp(key, loaded, 32) == 0);   /* the first key survives */
}

static void master_from_hex_is_strict(void)
{
    cf_err err;
    uint8_t key[32];
    CHECK_EQ_INT(crypt_master_from_hex(key_hex, key, &err), 0);
    CHECK_EQ_INT(key[16], 0x10);
    CHECK_EQ_INT(crypt_master_from_hex(key_hex + 1, key, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    CHECK_EQ_INT(crypt_master_from_hex("", key, &err), -1);
    char bad[80];
    snprintf(bad, sizeof bad, "%s\n", key_hex);
    CHECK_EQ_INT(crypt_master_from_hex(bad, key, &err), -1);
    CHECK(strstr(err.msg, "0001020304") == NULL);
}

TEST_MAIN("crypto",
          T(block_layout_matches_reference),
          T(blocks_round_trip_including_in_place_and_empty),
          T(any_tampering_fails_the_tag),
          T(random_bytes_differ),
          T(kek_derivation_is_hkdf_and_separates_tenants),
          T(master_check_is_hmac_of_label),
          T(wrapped_keys_are_bound_to_kek_and_data_id),
          T(secrets_round_trip_and_bind_access_key),
          T(master_file_load_accepts_only_good_files),
          T(master_generate_creates_private_file_once),
          T(master_from_hex_is_strict))
