/*
 * common/credfile.c - reading, writing and generating credential files (see
 * credfile.h for the format).
 *
 * Reading is line by line with a fixed buffer: a credential line is short,
 * so a longer line is simply malformed. Each field may appear once. Error
 * messages name the file and the line number, never a value, because the
 * value might be the secret.
 *
 * Random pairs come from OpenSSL's RAND_bytes; characters are drawn by
 * rejection sampling so every character of the alphabet is equally likely.
 */
#include "common/credfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/fsutil.h"

static const char ak_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
static const char sk_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Store one "name=value" line into the matching field. */
static int take_field(const char *path, int lineno, char *line,
                      char ak[NAMES_AK_MAX + 1], char sk[NAMES_SK_MAX + 1],
                      cf_err *err)
{
    char *eq = strchr(line, '=');
    if (!eq)
        return cf_fail(err, CF_ECONFIG, "%s:%d: expected name=value", path, lineno);
    *eq = '\0';
    const char *value = eq + 1;
    bool is_ak = strcmp(line, "access_key") == 0;
    if (!is_ak && strcmp(line, "secret_key") != 0)
        return cf_fail(err, CF_ECONFIG,
                       "%s:%d: unknown field (expected access_key or secret_key)",
                       path, lineno);
    char *dst = is_ak ? ak : sk;
    if (dst[0])
        return cf_fail(err, CF_ECONFIG, "%s:%d: %s given twice", path, lineno, line);
    if (is_ak ? !names_access_key_ok(value) : !names_secret_ok(value))
        return cf_fail(err, CF_ECONFIG, "%s:%d: malformed %s", path, lineno, line);
    strcpy(dst, value);   /* length checked by the validators */
    return 0;
}

static int read_lines(FILE *f, const char *path, char ak[NAMES_AK_MAX + 1],
                      char sk[NAMES_SK_MAX + 1], cf_err *err)
{
    char line[256];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n')
            return cf_fail(err, CF_ECONFIG, "%s:%d: line too long", path, lineno);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        if (take_field(path, lineno, line, ak, sk, err) < 0)
            return -1;
    }
    if (ferror(f))
        return cf_fail_errno(err, CF_EIO, errno, "%s: read", path);
    if (!ak[0] || !sk[0])
        return cf_fail(err, CF_ECONFIG, "%s: missing %s", path,
                       ak[0] ? "secret_key" : "access_key");
    return 0;
}

/* Open a file that holds a secret: refused if group or others may read it. */
static FILE *open_private(const char *path, cf_err *err)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        cf_fail_errno(err, CF_ECONFIG, errno, "%s", path);
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0)
        cf_fail_errno(err, CF_EIO, errno, "%s: stat", path);
    else if (st.st_mode & 077)
        cf_fail(err, CF_ECONFIG, "%s: readable by group or others (chmod 600 it)", path);
    else
        return f;
    fclose(f);
    return NULL;
}

int credfile_read(const char *path, char ak[NAMES_AK_MAX + 1], char sk[NAMES_SK_MAX + 1],
                  cf_err *err)
{
    ak[0] = sk[0] = '\0';
    FILE *f = open_private(path, err);
    if (!f)
        return -1;
    int rc = read_lines(f, path, ak, sk, err);
    fclose(f);
    if (rc < 0)
        OPENSSL_cleanse(sk, NAMES_SK_MAX + 1);
    return rc;
}

int credfile_write(const char *path, const char *ak, const char *sk, cf_err *err)
{
    char text[NAMES_AK_MAX + NAMES_SK_MAX + 32];
    int len = snprintf(text, sizeof text, "access_key=%s\nsecret_key=%s\n", ak, sk);
    int rc = fsu_write_atomic(path, text, (size_t)len, 0600, err);
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}

/* n random characters from alphabet (length alen <= 256) into out. */
static int random_chars(char *out, size_t n, const char *alphabet, size_t alen,
                        cf_err *err)
{
    unsigned limit = 256 - 256 % (unsigned)alen;
    size_t have = 0;
    while (have < n) {
        unsigned char buf[64];
        if (RAND_bytes(buf, sizeof buf) != 1)
            return cf_fail(err, CF_ECRYPTO, "random generator failed");
        for (size_t i = 0; i < sizeof buf && have < n; i++)
            if (buf[i] < limit)
                out[have++] = alphabet[buf[i] % alen];
        OPENSSL_cleanse(buf, sizeof buf);
    }
    out[n] = '\0';
    return 0;
}

int credfile_generate(char ak[NAMES_AK_MAX + 1], char sk[NAMES_SK_MAX + 1],
                      cf_err *err)
{
    if (random_chars(ak, CRED_AK_GEN, ak_alphabet, sizeof ak_alphabet - 1, err) < 0)
        return -1;
    return random_chars(sk, CRED_SK_GEN, sk_alphabet, sizeof sk_alphabet - 1, err);
}

/* ---- bearer tokens ------------------------------------------------------ */

int credfile_read_token(const char *path, char token[NAMES_TOKEN_MAX + 1], cf_err *err)
{
    char line[NAMES_TOKEN_MAX + 4];
    token[0] = '\0';
    FILE *f = open_private(path, err);
    if (!f)
        return -1;
    bool got = fgets(line, sizeof line, f) != NULL;
    bool more = got && fgetc(f) != EOF;
    fclose(f);
    size_t n = got ? strlen(line) : 0;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    int rc = 0;
    if (more || !names_token_ok(line))
        rc = cf_fail(err, CF_ECONFIG, "%s: must hold one line, a token of %d..%d "
                     "characters [A-Za-z0-9-._~+/=]", path, NAMES_TOKEN_MIN,
                     NAMES_TOKEN_MAX);
    else
        strcpy(token, line);
    OPENSSL_cleanse(line, sizeof line);
    return rc;
}

int credfile_generate_token(char token[NAMES_TOKEN_MAX + 1], cf_err *err)
{
    return random_chars(token, CRED_TOKEN_GEN, sk_alphabet, 62, err);
}

int credfile_write_token(const char *path, const char *token, cf_err *err)
{
    if (!names_token_ok(token))
        return cf_fail(err, CF_EINVAL, "%s: not a valid token", path);
    char text[NAMES_TOKEN_MAX + 2];
    int len = snprintf(text, sizeof text, "%s\n", token);
    int rc = fsu_write_atomic(path, text, (size_t)len, 0600, err);
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}
