/*
 * client/azauth.c - Azure Storage's Shared Key authorization for the
 * Blob service, account keys and SAS tokens.
 *
 * The signature is base64(HMAC-SHA256(decoded account key, UTF-8
 * string-to-sign)), sent as "Authorization: SharedKey ACCOUNT:SIG". The
 * string-to-sign (learn.microsoft.com, "Authorize with Shared Key", for
 * versions 2015-02-21 and later) is the verb and the values of eleven
 * standard headers, each followed by a newline (Content-Length empty
 * when zero, Date empty because x-ms-date is sent), then the
 * canonicalized headers (every x-ms- header, lowercase name, sorted,
 * "name:value\n" with the value trimmed), then the canonicalized
 * resource: "/" ACCOUNT and the path as sent (percent-encoded; for a
 * path-style emulator it starts with the account again), then for each
 * query parameter, names decoded and lowercased and sorted, "\nname:value"
 * with the values decoded, those of a repeated name sorted and joined by
 * commas. The string is built with open_memstream, so a long blob name
 * needs no fixed buffer.
 *
 * The key is decoded once by the client and never formatted anywhere; a
 * SAS token is only checked here (it is signed by whoever issued it) and
 * appended to URLs by azb.c.
 */
#include "client/internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The standard headers, in string-to-sign order (content-length aside). */
static const char *const standard[] = {
    "content-encoding", "content-language", "content-length", "content-md5",
    "content-type", "date", "if-modified-since", "if-match", "if-none-match",
    "if-unmodified-since", "range"};

static const char *find(const auth_pair *h, size_t nh, const char *name)
{
    for (size_t i = 0; i < nh; i++)
        if (strcmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

/* value without leading and trailing blanks */
static void put_trimmed(FILE *f, const char *v)
{
    size_t n = strlen(v);
    while (n > 0 && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    fwrite(v, 1, n, f);
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const auth_pair *const *)a)->name, (*(const auth_pair *const *)b)->name);
}

typedef struct param {
    char *name, *value;
} param;

static int by_name_value(const void *a, const void *b)
{
    const param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* A decoded copy of s[0..n). */
static char *decoded(const char *s, size_t n)
{
    char *d = strndup(s, n);
    if (d)
        s3c_unescape(d, false);
    return d;
}

/* The query's parameters, decoded, names lowercased, sorted. */
static int split_query(const char *query, param **out, size_t *count)
{
    size_t cap = 1, n = 0;
    for (const char *p = query; *p; p++)
        cap += *p == '&';
    param *ps = calloc(cap, sizeof *ps);
    if (!ps)
        return -1;
    for (const char *p = query; *p;) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        size_t nl = eq ? (size_t)(eq - p) : len;
        if (len > 0) {
            ps[n].name = decoded(p, nl);
            ps[n].value = eq ? decoded(eq + 1, len - nl - 1) : strdup("");
            if (!ps[n].name || !ps[n].value) {
                free(ps[n].name);
                free(ps[n].value);
                goto fail;
            }
            for (char *c = ps[n].name; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                    *c = (char)(*c - 'A' + 'a');
            n++;
        }
        p += len + (p[len] == '&');
    }
    qsort(ps, n, sizeof *ps, by_name_value);
    *out = ps;
    *count = n;
    return 0;
fail:
    for (size_t i = 0; i < n; i++) {
        free(ps[i].name);
        free(ps[i].value);
    }
    free(ps);
    return -1;
}

int azauth_string_to_sign(const char *account, const char *method, const char *path,
                          const char *query, const auth_pair *h, size_t nh,
                          uint64_t content_length, char **out, cf_err *err)
{
    char *text = NULL;
    size_t len = 0;
    const auth_pair **ms = calloc(nh ? nh : 1, sizeof *ms);
    param *ps = NULL;
    size_t nms = 0, nps = 0;
    FILE *f = ms ? open_memstream(&text, &len) : NULL;
    if (!f || (query && split_query(query, &ps, &nps) < 0)) {
        if (f)
            fclose(f);
        free(text);
        free(ms);
        return cf_fail(err, CF_ENOMEM, "out of memory");
    }
    fprintf(f, "%s\n", method);
    for (size_t i = 0; i < sizeof standard / sizeof standard[0]; i++) {
        const char *v = find(h, nh, standard[i]);
        if (strcmp(standard[i], "content-length") == 0) {
            if (content_length > 0)
                fprintf(f, "%llu", (unsigned long long)content_length);
        } else if (v) {
            put_trimmed(f, v);
        }
        fputc('\n', f);
    }
    for (size_t i = 0; i < nh; i++)
        if (strncmp(h[i].name, "x-ms-", 5) == 0)
            ms[nms++] = &h[i];
    qsort(ms, nms, sizeof *ms, by_name);
    for (size_t i = 0; i < nms; i++) {
        fprintf(f, "%s:", ms[i]->name);
        put_trimmed(f, ms[i]->value);
        fputc('\n', f);
    }
    fprintf(f, "/%s%s", account, path);
    for (size_t i = 0; i < nps; i++) {
        if (i > 0 && strcmp(ps[i].name, ps[i - 1].name) == 0)
            fprintf(f, ",%s", ps[i].value);
        else
            fprintf(f, "\n%s:%s", ps[i].name, ps[i].value);
    }
    for (size_t i = 0; i < nps; i++) {
        free(ps[i].name);
        free(ps[i].value);
    }
    free(ps);
    free(ms);
    bool ok = !ferror(f);
    if (fclose(f) != 0 || !ok) {
        free(text);
        return cf_fail(err, CF_ENOMEM, "out of memory");
    }
    *out = text;
    return 0;
}

int azauth_sign(const uint8_t *key, size_t key_len, const char *account,
                const char *method, const char *path, const char *query,
                const auth_pair *h, size_t nh, uint64_t content_length, char *authz,
                size_t cap, cf_err *err)
{
    char *sts;
    if (azauth_string_to_sign(account, method, path, query, h, nh, content_length, &sts,
                              err) < 0)
        return -1;
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char sig[CKS_MAX_B64];
    bool ok = HMAC(EVP_sha256(), key, (int)key_len, (const uint8_t *)sts, strlen(sts), mac,
                   &mac_len) != NULL &&
              cks_to_base64(mac, mac_len, sig, sizeof sig) > 0;
    free(sts);
    OPENSSL_cleanse(mac, sizeof mac);
    if (!ok)
        return cf_fail(err, CF_ECRYPTO, "cannot compute the Shared Key signature");
    int n = snprintf(authz, cap, "SharedKey %s:%s", account, sig);
    OPENSSL_cleanse(sig, sizeof sig);
    if (n < 0 || (size_t)n >= cap)
        return cf_fail(err, CF_EINVAL, "the account name is too long");
    return 0;
}

int azauth_key_decode(const char *b64, uint8_t key[AZAUTH_KEY_MAX], size_t *len,
                      cf_err *err)
{
    size_t n = b64 ? strlen(b64) : 0;
    size_t pad = n >= 2 && b64[n - 1] == '=' ? (b64[n - 2] == '=' ? 2 : 1) : 0;
    size_t want = n / 4 * 3 - pad;
    if (n == 0 || n % 4 != 0 || want > AZAUTH_KEY_MAX ||
        cks_from_base64(b64, key, want, len) < 0)
        return cf_fail(err, CF_EINVAL, "the account key is not base64 of at most %d bytes",
                       AZAUTH_KEY_MAX);
    return 0;
}

char *azauth_sas_copy(const char *token, cf_err *err)
{
    if (token && *token == '?')
        token++;
    size_t n = token ? strlen(token) : 0;
    /* what a query may carry unescaped; no '#', no blanks, no controls */
    static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789-._~%&=+:/,;!$'()*@";
    bool has_sig = false;
    for (const char *p = token; p && *p; p += strcspn(p, "&"), p += *p == '&')
        has_sig |= strncmp(p, "sig=", 4) == 0 && p[4] && p[4] != '&';
    if (n == 0 || strspn(token, ok) != n || !has_sig) {
        cf_fail(err, CF_EINVAL, "the SAS token is not a query string with a sig parameter");
        return NULL;
    }
    char *copy = strdup(token);
    if (!copy)
        cf_fail(err, CF_ENOMEM, "out of memory");
    return copy;
}
