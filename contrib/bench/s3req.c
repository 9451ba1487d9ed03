/* contrib/bench/s3req.c - see s3req.h. */
#include "contrib/bench/s3req.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int s3_endpoint_init(s3_endpoint *ep, const char *url, const char *access_key,
                     const char *secret, const char *region, cf_err *err)
{
    memset(ep, 0, sizeof *ep);
    const char *auth = strstr(url, "://");
    if (!auth || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return cf_fail(err, CF_EINVAL, "endpoint %s: expected http[s]://host[:port]", url);
    auth += 3;
    size_t n = strcspn(auth, "/");
    if (n == 0 || n >= sizeof ep->host || strspn(auth + n, "/") != strlen(auth + n))
        return cf_fail(err, CF_EINVAL, "endpoint %s: expected http[s]://host[:port]"
                       " with no path", url);
    snprintf(ep->host, sizeof ep->host, "%.*s", (int)n, auth);
    snprintf(ep->url, sizeof ep->url, "%.*s", (int)(auth - url + (ptrdiff_t)n), url);
    if (snprintf(ep->access_key, sizeof ep->access_key, "%s", access_key) >=
            (int)sizeof ep->access_key ||
        snprintf(ep->secret, sizeof ep->secret, "%s", secret) >= (int)sizeof ep->secret ||
        snprintf(ep->region, sizeof ep->region, "%s", region) >= (int)sizeof ep->region)
        return cf_fail(err, CF_EINVAL, "access key, secret or region too long");
    ep->cred = (sigv4_credentials){ep->access_key, ep->secret, ep->region, "s3"};
    return 0;
}

/* Append "name: value" to the curl list; false on allocation failure. */
static bool add_header(struct curl_slist **list, const char *name, const char *value)
{
    char line[2200];
    snprintf(line, sizeof line, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(*list, line);
    if (l)
        *list = l;
    return l != NULL;
}

int s3_sign(const s3_endpoint *ep, const char *method, const char *path,
            const char *query, const char *payload_hash, int64_t decoded_length,
            s3_signed *out, cf_err *err)
{
    memset(out, 0, sizeof *out);
    char date[SIGV4_AMZ_DATE_LEN + 1], decoded[24], authz[1024];
    time_t now = time(NULL);
    sigv4_format_time(now, date);
    snprintf(decoded, sizeof decoded, "%lld", (long long)decoded_length);
    bool streaming = decoded_length >= 0;
    /* sorted by name, as they are signed */
    auth_pair h[5];
    size_t nh = 0;
    if (streaming)
        h[nh++] = (auth_pair){"content-encoding", "aws-chunked"};
    h[nh++] = (auth_pair){"host", ep->host};
    h[nh++] = (auth_pair){"x-amz-content-sha256", payload_hash};
    h[nh++] = (auth_pair){"x-amz-date", date};
    if (streaming)
        h[nh++] = (auth_pair){"x-amz-decoded-content-length", decoded};
    auth_request req = {.method = method, .path = path,
                        .query = query && *query ? query : NULL,
                        .headers = h, .nheaders = nh};
    auth_err aerr;
    if (sigv4_sign(&req, &ep->cred, now, payload_hash, authz, sizeof authz,
                   &out->state, &aerr) < 0)
        return cf_fail(err, CF_EINVAL, "signing %s %s: %s", method, path, aerr.msg);
    snprintf(out->url, sizeof out->url, "%s%s%s%s", ep->url, path,
             req.query ? "?" : "", req.query ? query : "");
    /* "Expect:" with no value stops curl waiting for 100-continue */
    out->headers = curl_slist_append(NULL, "Expect:");
    bool ok = out->headers && add_header(&out->headers, "Authorization", authz);
    for (size_t i = 0; ok && i < nh; i++)
        ok = add_header(&out->headers, h[i].name, h[i].value);
    if (!ok) {
        s3_signed_free(out);
        return cf_fail(err, CF_ENOMEM, "out of memory");
    }
    return 0;
}

void s3_signed_free(s3_signed *s)
{
    curl_slist_free_all(s->headers);
    s->headers = NULL;
    sigv4_auth_clear(&s->state);
}
