/*
 * common/names.c - the naming rules of names.h. Each is a length range and
 * a character class, checked byte by byte (no locale: isalnum would
 * depend on it).
 */
#include "common/names.h"

#include <string.h>

static bool shaped(const char *s, size_t min, size_t max, bool (*ok)(char))
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!ok(s[i]))
            return false;
    return true;
}

static bool tenant_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static bool key_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool secret_char(char c)
{
    return c > ' ' && c <= '~';
}

static bool token_char(char c)
{
    return key_char(c) || (c != '\0' && strchr("-._~+/=", c));
}

static bool tier_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* What clients send as x-amz-storage-class for AWS's own classes. */
static const char *const aws_classes[] = {
    "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
    "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR",
    "SNOW", "EXPRESS_ONEZONE",
};

bool names_tier_ok(const char *s)
{
    if (!shaped(s, 1, NAMES_TIER_MAX, tier_char))
        return false;
    for (size_t i = 0; i < sizeof aws_classes / sizeof aws_classes[0]; i++)
        if (strcmp(s, aws_classes[i]) == 0)
            return false;
    return true;
}

bool names_tenant_ok(const char *s)
{
    return shaped(s, 1, NAMES_TENANT_MAX, tenant_char);
}

/* S3's bucket naming rules (the ones for new buckets, which every
 * request is held to). */
static bool looks_like_ipv4(const char *name)
{
    int dots = 0;
    for (const char *p = name; *p; p++) {
        if (*p == '.')
            dots++;
        else if (*p < '0' || *p > '9')
            return false;
    }
    return dots == 3;
}

bool names_bucket_ok(const char *name)
{
    size_t n = strlen(name);
    if (n < 3 || n > NAMES_BUCKET_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-';
        if (!ok)
            return false;
        if (c == '.' && (name[i + 1] == '.' || name[i + 1] == '-' ||
                         (i > 0 && name[i - 1] == '-')))
            return false;
    }
    bool alnum_first = name[0] != '.' && name[0] != '-';
    bool alnum_last = name[n - 1] != '.' && name[n - 1] != '-';
    return alnum_first && alnum_last && !looks_like_ipv4(name) &&
           strncmp(name, "xn--", 4) != 0 &&
           !(n > 8 && strcmp(name + n - 8, "-s3alias") == 0);
}

bool names_access_key_ok(const char *s)
{
    return shaped(s, NAMES_AK_MIN, NAMES_AK_MAX, key_char);
}

bool names_secret_ok(const char *s)
{
    return shaped(s, NAMES_SK_MIN, NAMES_SK_MAX, secret_char);
}

bool names_token_ok(const char *s)
{
    return shaped(s, NAMES_TOKEN_MIN, NAMES_TOKEN_MAX, token_char);
}
