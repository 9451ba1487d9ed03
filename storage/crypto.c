/*
 * storage/crypto.c - AES-256-GCM for blocks, wrapped keys and stored
 * secrets; HKDF for key derivation; the master key file.
 *
 * Everything encrypted goes through two helpers, gcm_seal and gcm_open,
 * which take a key, a 12-byte nonce and an AAD. The callers differ only in
 * how they build nonce and AAD:
 *   - blocks: nonce = part || block (big-endian), AAD = "cofferB1" || data id
 *     || part || block || last. The nonce is unique because every segment
 *     has its own random data key and every block its own index.
 *   - wrapped data keys: random nonce, AAD = "cofferK1" || data id.
 *   - secrets: random nonce, AAD = "cofferS1" || access key id (a tier's
 *     secret: "tier/" || its name, which no access key id can be).
 *   - blobs (remote object headers): random nonce, AAD = a domain given
 *     by the caller ("cofferT1", "cofferM1") || the caller's AAD.
 * The domain prefixes keep the kinds of ciphertext from ever being
 * accepted in place of one another.
 *
 * gcm_seal and gcm_open run AES-256-GCM on VAES/VPCLMULQDQ (storage/gcm.c)
 * when the CPU has them, else through OpenSSL EVP; both are the same
 * algorithm, so either reads what the other wrote. A crypt_ctx holds the
 * fast path's cached key schedule (expanded again only when the key
 * changes: a segment's blocks share one data key; wiped at free) and the
 * fetched OpenSSL cipher with one EVP_CIPHER_CTX, re-initialised with the
 * key for every call; the hot path allocates nothing. Derived keys (KEK, secrets key) are the caller's to keep or
 * wipe (the engine keeps them for its life and wipes them at close);
 * parsed key files are wiped here. No message formats key material.
 */
#include "storage/crypto.h"

#include "storage/gcm.h"

#include "common/fio.h"
#include "common/fsutil.h"

#include "common/checksum.h"
#include "common/hex.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct crypt_ctx {
    gcm_key fast;
    EVP_CIPHER *gcm;
    EVP_CIPHER_CTX *ctx;
};

#define BLOCK_AAD_LEN (8 + CRYPT_DATA_ID_LEN + 4 + 8 + 1)
#define WRAP_AAD_LEN (8 + CRYPT_DATA_ID_LEN)
#define SECRET_OVERHEAD (CRYPT_NONCE_LEN + CRYPT_TAG_LEN)
#define MASTER_HEX_LEN (2 * CRYPT_KEY_LEN)

void crypt_wipe(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}

crypt_ctx *crypt_ctx_new(cf_err *err)
{
    crypt_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        cf_fail(err, CF_ENOMEM, "out of memory for a cipher context");
        return NULL;
    }
    c->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    c->ctx = EVP_CIPHER_CTX_new();
    if (!c->gcm || !c->ctx) {
        cf_fail(err, CF_ECRYPTO, "cannot set up AES-256-GCM");
        crypt_ctx_free(c);
        return NULL;
    }
    return c;
}

void crypt_ctx_free(crypt_ctx *c)
{
    if (!c)
        return;
    gcm_fast_wipe(&c->fast);
    EVP_CIPHER_CTX_free(c->ctx);
    EVP_CIPHER_free(c->gcm);
    free(c);
}

int crypt_random(void *buf, size_t n, cf_err *err)
{
    if (n > INT_MAX || RAND_bytes(buf, (int)n) != 1)
        return cf_fail(err, CF_ECRYPTO, "the random generator failed");
    return 0;
}

/* ---- AES-256-GCM core ---- */

/* Run len bytes through the initialised cipher, in int-sized pieces. */
static int gcm_stream(EVP_CIPHER_CTX *ctx, bool encrypt, const uint8_t *in,
                      size_t len, uint8_t *out)
{
    while (len > 0) {
        int n = len > INT_MAX / 2 ? INT_MAX / 2 : (int)len, got = 0;
        int ok = encrypt ? EVP_EncryptUpdate(ctx, out, &got, in, n)
                         : EVP_DecryptUpdate(ctx, out, &got, in, n);
        if (!ok || got != n)
            return -1;
        in += n;
        out += n;
        len -= (size_t)n;
    }
    return 0;
}

static int gcm_seal(crypt_ctx *c, const uint8_t key[CRYPT_KEY_LEN],
                    const uint8_t nonce[CRYPT_NONCE_LEN], const uint8_t *aad,
                    size_t aadlen, const uint8_t *pt, size_t len, uint8_t *ct,
                    uint8_t tag[CRYPT_TAG_LEN], cf_err *err)
{
    if (gcm_fast_available() && len <= GCM_FAST_MAX_LEN) {
        gcm_fast_seal(&c->fast, key, nonce, aad, aadlen, pt, len, ct, tag);
        return 0;
    }
    int got = 0;
    if (!EVP_EncryptInit_ex2(c->ctx, c->gcm, key, nonce, NULL) ||
        !EVP_EncryptUpdate(c->ctx, NULL, &got, aad, (int)aadlen) ||
        gcm_stream(c->ctx, true, pt, len, ct) < 0 ||
        !EVP_EncryptFinal_ex(c->ctx, ct + len, &got) ||
        !EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_GCM_GET_TAG, CRYPT_TAG_LEN, tag))
        return cf_fail(err, CF_ECRYPTO, "AES-GCM encryption failed");
    return 0;
}

static int gcm_open(crypt_ctx *c, const uint8_t key[CRYPT_KEY_LEN],
                    const uint8_t nonce[CRYPT_NONCE_LEN], const uint8_t *aad,
                    size_t aadlen, const uint8_t *ct, size_t len,
                    const uint8_t tag[CRYPT_TAG_LEN], uint8_t *pt, cf_err *err)
{
    if (gcm_fast_available() && len <= GCM_FAST_MAX_LEN) {
        if (!gcm_fast_open(&c->fast, key, nonce, aad, aadlen, ct, len, tag, pt))
            return cf_fail(err, CF_ECORRUPT, "authentication tag mismatch");
        return 0;
    }
    int got = 0;
    if (!EVP_DecryptInit_ex2(c->ctx, c->gcm, key, nonce, NULL) ||
        !EVP_DecryptUpdate(c->ctx, NULL, &got, aad, (int)aadlen) ||
        gcm_stream(c->ctx, false, ct, len, pt) < 0 ||
        !EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_GCM_SET_TAG, CRYPT_TAG_LEN,
                             (void *)tag))
        return cf_fail(err, CF_ECRYPTO, "AES-GCM decryption failed");
    if (EVP_DecryptFinal_ex(c->ctx, pt + len, &got) <= 0)
        return cf_fail(err, CF_ECORRUPT, "authentication tag mismatch");
    return 0;
}

/* ---- blocks ---- */

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static void block_nonce_and_aad(const crypt_pos *pos,
                                uint8_t nonce[CRYPT_NONCE_LEN],
                                uint8_t aad[BLOCK_AAD_LEN])
{
    put_be(nonce, pos->part, 4);
    put_be(nonce + 4, pos->block, 8);
    memcpy(aad, "cofferB1", 8);
    memcpy(aad + 8, pos->data_id, CRYPT_DATA_ID_LEN);
    memcpy(aad + 8 + CRYPT_DATA_ID_LEN, nonce, CRYPT_NONCE_LEN);
    aad[BLOCK_AAD_LEN - 1] = pos->last ? 1 : 0;
}

int crypt_seal_block(crypt_ctx *c, const uint8_t key[CRYPT_KEY_LEN],
                     const crypt_pos *pos, const uint8_t *pt, size_t len,
                     uint8_t *ct, uint8_t tag[CRYPT_TAG_LEN], cf_err *err)
{
    uint8_t nonce[CRYPT_NONCE_LEN], aad[BLOCK_AAD_LEN];
    block_nonce_and_aad(pos, nonce, aad);
    return gcm_seal(c, key, nonce, aad, sizeof aad, pt, len, ct, tag, err);
}

int crypt_open_block(crypt_ctx *c, const uint8_t key[CRYPT_KEY_LEN],
                     const crypt_pos *pos, const uint8_t *ct, size_t len,
                     const uint8_t tag[CRYPT_TAG_LEN], uint8_t *pt, cf_err *err)
{
    uint8_t nonce[CRYPT_NONCE_LEN], aad[BLOCK_AAD_LEN];
    block_nonce_and_aad(pos, nonce, aad);
    return gcm_open(c, key, nonce, aad, sizeof aad, ct, len, tag, pt, err);
}

/* ---- key derivation ---- */

static int hkdf(const void *key, size_t keylen, const void *salt, size_t saltlen,
                const void *info, size_t infolen, uint8_t out[CRYPT_KEY_LEN], cf_err *err)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, keylen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen),
        OSSL_PARAM_construct_end(),
    };
    int ok = kctx && EVP_KDF_derive(kctx, out, CRYPT_KEY_LEN, params) == 1;
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    if (!ok)
        return cf_fail(err, CF_ECRYPTO, "HKDF-SHA256 derivation failed");
    return 0;
}

static int hkdf_sha256(const uint8_t master[CRYPT_KEY_LEN], const char *salt,
                       const char *info, uint8_t out[CRYPT_KEY_LEN],
                       cf_err *err)
{
    return hkdf(master, CRYPT_KEY_LEN, salt, strlen(salt), info, strlen(info), out, err);
}

int crypt_derive_kek(const uint8_t master[CRYPT_KEY_LEN], const char *tenant,
                     uint8_t kek[CRYPT_KEY_LEN], cf_err *err)
{
    if (!tenant || !*tenant)
        return cf_fail(err, CF_EINVAL, "empty tenant id for key derivation");
    return hkdf_sha256(master, "coffer-kek-v1", tenant, kek, err);
}

/* The secrets key uses its own salt as well as its own info, so no tenant
 * id (which is only ever the info) can derive it as a KEK. */
int crypt_derive_secrets_key(const uint8_t master[CRYPT_KEY_LEN],
                             uint8_t key[CRYPT_KEY_LEN], cf_err *err)
{
    return hkdf_sha256(master, "coffer-secrets-v1", "coffer-secrets-v1", key,
                       err);
}

int crypt_derive_tier_key(const uint8_t master[CRYPT_KEY_LEN], uint8_t key[CRYPT_KEY_LEN],
                          cf_err *err)
{
    return hkdf_sha256(master, "coffer-tier-v1", "coffer-tier-v1", key, err);
}

/* HMAC-SHA256(key, label || data) into out (32 bytes; zeros if it fails,
 * which never matches a real value). */
static void hmac_label(const uint8_t *key, size_t keylen, const char *label,
                       const uint8_t *data, size_t len, uint8_t out[32])
{
    uint8_t msg[64];
    size_t ll = strlen(label), got = 0;
    if (ll + len > sizeof msg) {
        memset(out, 0, 32);
        return;
    }
    memcpy(msg, label, ll);
    if (len)
        memcpy(msg + ll, data, len);
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, msg, ll + len, out,
                   32, &got) ||
        got != 32)
        memset(out, 0, 32);
}

void crypt_master_check(const uint8_t master[CRYPT_KEY_LEN], uint8_t out[32])
{
    hmac_label(master, CRYPT_KEY_LEN, "coffer-check-v1", NULL, 0, out);
}

/* ---- customer keys (SSE-C) ---- */

int crypt_ssec_new(const uint8_t ckey[CRYPT_KEY_LEN], uint8_t stored[CRYPT_SSEC_LEN],
                   cf_err *err)
{
    if (crypt_random(stored, CRYPT_SSEC_SALT_LEN, err) < 0)
        return -1;
    hmac_label(ckey, CRYPT_KEY_LEN, "coffer-ssec-check-v1", stored, CRYPT_SSEC_SALT_LEN,
               stored + CRYPT_SSEC_SALT_LEN);
    return 0;
}

bool crypt_ssec_match(const uint8_t ckey[CRYPT_KEY_LEN],
                      const uint8_t stored[CRYPT_SSEC_LEN])
{
    uint8_t check[32];
    hmac_label(ckey, CRYPT_KEY_LEN, "coffer-ssec-check-v1", stored, CRYPT_SSEC_SALT_LEN,
               check);
    bool ok = CRYPTO_memcmp(check, stored + CRYPT_SSEC_SALT_LEN, 32) == 0;
    crypt_wipe(check, sizeof check);
    return ok;
}

int crypt_ssec_kek(const uint8_t kek[CRYPT_KEY_LEN], const uint8_t ckey[CRYPT_KEY_LEN],
                   const uint8_t stored[CRYPT_SSEC_LEN], uint8_t out[CRYPT_KEY_LEN],
                   cf_err *err)
{
    static const char info[] = "coffer-ssec-kek-v1";
    uint8_t ikm[2 * CRYPT_KEY_LEN];
    memcpy(ikm, kek, CRYPT_KEY_LEN);
    memcpy(ikm + CRYPT_KEY_LEN, ckey, CRYPT_KEY_LEN);
    int rc = hkdf(ikm, sizeof ikm, stored, CRYPT_SSEC_SALT_LEN, info, sizeof info - 1,
                  out, err);
    crypt_wipe(ikm, sizeof ikm);
    return rc;
}

void crypt_ssec_etag(const uint8_t ssec_kek[CRYPT_KEY_LEN], const uint8_t md5[16],
                     uint8_t out[16])
{
    uint8_t mac[32];
    hmac_label(ssec_kek, CRYPT_KEY_LEN, "coffer-ssec-etag-v1", md5, 16, mac);
    memcpy(out, mac, 16);
    crypt_wipe(mac, sizeof mac);
}

/* ---- wrapped data keys ---- */

static void wrap_aad(const uint8_t data_id[CRYPT_DATA_ID_LEN],
                     uint8_t aad[WRAP_AAD_LEN])
{
    memcpy(aad, "cofferK1", 8);
    memcpy(aad + 8, data_id, CRYPT_DATA_ID_LEN);
}

int crypt_wrap_key(crypt_ctx *c, const uint8_t kek[CRYPT_KEY_LEN],
                   const uint8_t data_id[CRYPT_DATA_ID_LEN],
                   const uint8_t dk[CRYPT_KEY_LEN],
                   uint8_t wrapped[CRYPT_WRAPPED_LEN], cf_err *err)
{
    uint8_t aad[WRAP_AAD_LEN];
    wrap_aad(data_id, aad);
    if (crypt_random(wrapped, CRYPT_NONCE_LEN, err) < 0)
        return -1;
    return gcm_seal(c, kek, wrapped, aad, sizeof aad, dk, CRYPT_KEY_LEN,
                    wrapped + CRYPT_NONCE_LEN,
                    wrapped + CRYPT_NONCE_LEN + CRYPT_KEY_LEN, err);
}

int crypt_unwrap_key(crypt_ctx *c, const uint8_t kek[CRYPT_KEY_LEN],
                     const uint8_t data_id[CRYPT_DATA_ID_LEN],
                     const uint8_t wrapped[CRYPT_WRAPPED_LEN],
                     uint8_t dk[CRYPT_KEY_LEN], cf_err *err)
{
    uint8_t aad[WRAP_AAD_LEN];
    wrap_aad(data_id, aad);
    if (gcm_open(c, kek, wrapped, aad, sizeof aad, wrapped + CRYPT_NONCE_LEN,
                 CRYPT_KEY_LEN, wrapped + CRYPT_NONCE_LEN + CRYPT_KEY_LEN, dk,
                 err) < 0) {
        crypt_wipe(dk, CRYPT_KEY_LEN);
        return -1;
    }
    return 0;
}

/* ---- stored secrets ---- */

/* AAD for a secret: a domain prefix, then the access key id. */
static int secret_aad(const char *access_key, uint8_t **aad, size_t *aadlen,
                      cf_err *err)
{
    size_t idlen = strlen(access_key);
    *aadlen = 8 + idlen;
    *aad = malloc(*aadlen);
    if (!*aad)
        return cf_fail(err, CF_ENOMEM, "out of memory sealing a secret");
    memcpy(*aad, "cofferS1", 8);
    memcpy(*aad + 8, access_key, idlen);
    return 0;
}

int crypt_seal_secret(crypt_ctx *c, const uint8_t skey[CRYPT_KEY_LEN],
                      const char *access_key, const char *secret,
                      uint8_t *out, size_t outsz, size_t *outlen, cf_err *err)
{
    size_t len = strlen(secret);
    if (outsz < len + SECRET_OVERHEAD)
        return cf_fail(err, CF_EINVAL, "buffer too small for sealed secret");
    uint8_t *aad = NULL;
    size_t aadlen = 0;
    int rc = -1;
    if (secret_aad(access_key, &aad, &aadlen, err) == 0 &&
        crypt_random(out, CRYPT_NONCE_LEN, err) == 0 &&
        gcm_seal(c, skey, out, aad, aadlen, (const uint8_t *)secret, len,
                 out + CRYPT_NONCE_LEN, out + CRYPT_NONCE_LEN + len,
                 err) == 0) {
        *outlen = len + SECRET_OVERHEAD;
        rc = 0;
    }
    free(aad);
    return rc;
}

int crypt_open_secret(crypt_ctx *c, const uint8_t skey[CRYPT_KEY_LEN],
                      const char *access_key, const uint8_t *in, size_t inlen,
                      char *secret, size_t secretsz, cf_err *err)
{
    if (inlen < SECRET_OVERHEAD)
        return cf_fail(err, CF_ECORRUPT, "sealed secret is truncated");
    size_t len = inlen - SECRET_OVERHEAD;
    if (secretsz < len + 1)
        return cf_fail(err, CF_EINVAL, "buffer too small for secret");
    uint8_t *aad = NULL;
    size_t aadlen = 0;
    int rc = -1;
    if (secret_aad(access_key, &aad, &aadlen, err) == 0 &&
        gcm_open(c, skey, in, aad, aadlen, in + CRYPT_NONCE_LEN, len,
                 in + CRYPT_NONCE_LEN + len, (uint8_t *)secret, err) == 0) {
        secret[len] = '\0';
        rc = 0;
    } else {
        crypt_wipe(secret, secretsz);
    }
    free(aad);
    return rc;
}

/* ---- the master key file ---- */

int crypt_master_from_hex(const char *hex, uint8_t key[CRYPT_KEY_LEN],
                          cf_err *err)
{
    if (hex_decode(hex, key, CRYPT_KEY_LEN, NULL) < 0) {
        crypt_wipe(key, CRYPT_KEY_LEN);
        return cf_fail(err, CF_ECONFIG,
                       "master key must be exactly %d hex characters",
                       MASTER_HEX_LEN);
    }
    return 0;
}

/* Read the whole (small) file into buf as a string; refuse loose modes. */
static int read_key_file(const char *path, char *buf, size_t bufsz,
                         cf_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return cf_fail_errno(err, CF_ECONFIG, errno,
                             "cannot open master key file %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return cf_fail_errno(err, CF_ECONFIG, e, "cannot stat %s", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return cf_fail(err, CF_ECONFIG,
                       "master key file %s is not a regular file", path);
    }
    if ((st.st_mode & 077) != 0) {
        close(fd);
        return cf_fail(err, CF_ECONFIG,
                       "master key file %s has mode %03o; it must not be "
                       "accessible by group or others (chmod 600)",
                       path, (unsigned)(st.st_mode & 0777));
    }
    ssize_t got = read(fd, buf, bufsz - 1);
    int e = errno;
    close(fd);
    if (got < 0)
        return cf_fail_errno(err, CF_ECONFIG, e, "cannot read %s", path);
    buf[got] = '\0';
    return 0;
}

int crypt_master_load(const char *path, uint8_t key[CRYPT_KEY_LEN], cf_err *err)
{
    char buf[MASTER_HEX_LEN + 3];
    if (read_key_file(path, buf, sizeof buf, err) < 0)
        return -1;
    size_t len = strlen(buf);
    if (len == MASTER_HEX_LEN + 1 && buf[MASTER_HEX_LEN] == '\n')
        buf[--len] = '\0';
    int rc = 0;
    if (len != MASTER_HEX_LEN)
        rc = cf_fail(err, CF_ECONFIG,
                     "master key file %s must hold exactly %d hex characters",
                     path, MASTER_HEX_LEN);
    else if (hex_decode(buf, key, CRYPT_KEY_LEN, NULL) < 0)
        rc = cf_fail(err, CF_ECONFIG,
                     "master key file %s holds non-hex characters", path);
    crypt_wipe(buf, sizeof buf);
    if (rc < 0)
        crypt_wipe(key, CRYPT_KEY_LEN);
    return rc;
}

int crypt_master_generate(const char *path, uint8_t key[CRYPT_KEY_LEN],
                          cf_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
    if (fd < 0)
        return cf_fail_errno(err, CF_ECONFIG, errno,
                             "cannot create master key file %s", path);
    char hex[MASTER_HEX_LEN + 2];
    int rc = crypt_random(key, CRYPT_KEY_LEN, err);
    if (rc == 0) {
        hex_encode(key, CRYPT_KEY_LEN, hex, sizeof hex);
        hex[MASTER_HEX_LEN] = '\n';
        if (fchmod(fd, 0600) < 0 || fsu_write_all(fd, hex, sizeof hex - 1) < 0 ||
            fio_fsync(fd) < 0)
            rc = cf_fail_errno(err, CF_EIO, errno,
                               "cannot write master key file %s", path);
    }
    crypt_wipe(hex, sizeof hex);
    if (close(fd) < 0 && rc == 0)
        rc = cf_fail_errno(err, CF_EIO, errno, "cannot close %s", path);
    if (rc == 0)
        rc = fsu_fsync_parent(path, err);
    if (rc < 0) {
        unlink(path);
        crypt_wipe(key, CRYPT_KEY_LEN);
    }
    return rc;
}

/* ---- sealed blobs ---- */

static int blob_aad(const char domain[8], const uint8_t *aad, size_t aadlen,
                    uint8_t **out, cf_err *err)
{
    if (!(*out = malloc(8 + aadlen)))
        return cf_fail(err, CF_ENOMEM, "out of memory");
    memcpy(*out, domain, 8);
    if (aadlen)
        memcpy(*out + 8, aad, aadlen);
    return 0;
}

int crypt_seal_blob(crypt_ctx *c, const uint8_t key[CRYPT_KEY_LEN], const char domain[8],
                    const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t len,
                    uint8_t *out, cf_err *err)
{
    uint8_t *full;
    if (blob_aad(domain, aad, aadlen, &full, err) < 0)
        return -1;
    int rc = crypt_random(out, CRYPT_NONCE_LEN, err);
    if (rc == 0)
        rc = gcm_seal(c, key, out, full, 8 + aadlen, pt, len, out + CRYPT_NONCE_LEN,
                      out + CRYPT_NONCE_LEN + len, err);
    free(full);
    return rc;
}

int crypt_open_blob(crypt_ctx *c, const uint8_t key[CRYPT_KEY_LEN], const char domain[8],
                    const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t inlen,
                    uint8_t *out, cf_err *err)
{
    if (inlen < CRYPT_BLOB_OVERHEAD)
        return cf_fail(err, CF_ECORRUPT, "sealed blob is truncated");
    uint8_t *full;
    if (blob_aad(domain, aad, aadlen, &full, err) < 0)
        return -1;
    size_t len = inlen - CRYPT_BLOB_OVERHEAD;
    int rc = gcm_open(c, key, in, full, 8 + aadlen, in + CRYPT_NONCE_LEN, len,
                      in + CRYPT_NONCE_LEN + len, out, err);
    free(full);
    return rc;
}
