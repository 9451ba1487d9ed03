/*
 * tests/fuzz/fuzz.c - the helpers of fuzz.h. The server's view of a
 * request comes from the real router (server/router.c) on a minimal
 * s3_req, so the auth targets fuzz the router and the path from its
 * decoded parameters into auth/ as well as the raw-query path clients use.
 */
#include "tests/fuzz/fuzz.h"

#include "server/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fuzz_request_parse(const uint8_t *data, size_t size, fuzz_request *fr)
{
    memset(fr, 0, sizeof *fr);
    if (!(fr->text = malloc(size + 1)))
        return -1;
    memcpy(fr->text, data, size);
    fr->text[size] = '\0';
    char *lines[3 + FUZZ_MAX_HEADERS];
    size_t n = 0;
    char *p = fr->text;
    while (n < sizeof lines / sizeof lines[0]) {
        lines[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    if (n < 3) {
        fuzz_request_free(fr);
        return -1;
    }
    fr->req.method = lines[0];
    fr->req.path = lines[1];
    fr->req.query = lines[2][0] ? lines[2] : NULL;
    for (size_t i = 3; i < n; i++) {
        char *colon = strchr(lines[i], ':');
        if (!colon)
            continue;
        *colon = '\0';
        fr->headers[fr->req.nheaders].name = lines[i];
        fr->headers[fr->req.nheaders].value = colon + 1;
        fr->req.nheaders++;
    }
    fr->req.headers = fr->headers;
    return 0;
}

int fuzz_request_params(fuzz_request *fr, auth_request *out)
{
    static coffer_config cfg = {.vhost_domain = "s3.fuzz.test"};
    static server srv = {.cfg = &cfg};
    *out = fr->req;
    out->query = NULL;
    fr->pool = pool_new();
    s3_req *r = fr->pool ? pool_alloc(fr->pool, sizeof *r) : NULL;
    if (!r)
        return -1;
    r->pool = fr->pool;
    r->srv = &srv;
    r->method = fr->req.method;
    size_t plen = strlen(fr->req.path), qlen = fr->req.query ? strlen(fr->req.query) : 0;
    r->raw_uri = pool_alloc(r->pool, plen + qlen + 2);
    r->hdrs = pool_alloc(r->pool, (fr->req.nheaders + 1) * sizeof *r->hdrs);
    fr->params = pool_alloc(r->pool, 64 * sizeof *fr->params);
    if (!r->raw_uri || !r->hdrs || !fr->params)
        return -1;
    snprintf(r->raw_uri, plen + qlen + 2, "%s%s%s", fr->req.path, qlen ? "?" : "",
             qlen ? fr->req.query : "");
    for (size_t i = 0; i < fr->req.nheaders; i++) {
        r->hdrs[i].name = (char *)fr->req.headers[i].name;
        r->hdrs[i].value = (char *)fr->req.headers[i].value;
    }
    r->nhdrs = fr->req.nheaders;
    sbuf_init(&r->resp, 0);
    int rc = router_route(r);
    sbuf_free(&r->resp);
    if (rc < 0 && !r->params)
        return -1;
    if (r->nparams > 64)
        r->nparams = 64;
    for (size_t i = 0; i < r->nparams; i++) {
        fr->params[i].name = r->params[i].name;
        fr->params[i].value = r->params[i].value;
    }
    out->params = fr->params;
    out->nparams = r->nparams;
    out->path = r->raw_path ? r->raw_path : fr->req.path;
    return 0;
}

int fuzz_request_verify(const uint8_t *data, size_t size, fuzz_request *fr,
                        void (*verify)(const auth_request *req))
{
    if (fuzz_request_parse(data, size, fr) < 0)
        return -1;
    verify(&fr->req);
    auth_request server;
    if (fuzz_request_params(fr, &server) == 0)
        verify(&server);
    return 0;
}

void fuzz_request_free(fuzz_request *fr)
{
    pool_free(fr->pool);
    free(fr->text);
    memset(fr, 0, sizeof *fr);
}
