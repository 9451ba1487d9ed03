/* tests/unit/vectors.c - the .req/.authz loader (see vectors.h). */
#include "tests/unit/vectors.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *vector_read_file(const char *dir, const char *name, const char *ext, size_t *len)
{
    const char *srcdir = getenv("srcdir");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/unit/data/%s/%s%s", srcdir ? srcdir : ".",
             dir, name, ext);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    char *buf = malloc(65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (buf) buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static void split_target(vector *v, char *target)
{
    char *q = strchr(target, '?');
    if (q) *q++ = 0;
    v->path = target;
    v->query = q;
}

void vector_add_header(vector *v, const char *name, const char *value)
{
    if (v->req.nheaders == VECTOR_MAX_HEADERS) return;
    v->headers[v->req.nheaders].name = name;
    v->headers[v->req.nheaders].value = value;
    v->req.nheaders++;
}

/* "Name:value" lines up to the blank line; returns the body. */
static char *parse_headers(vector *v, char *p)
{
    while (p && *p && *p != '\n') {
        char *eol = strchr(p, '\n');
        if (eol) *eol = 0;
        char *colon = strchr(p, ':');
        size_t i = v->req.nheaders;
        if (colon && i < VECTOR_MAX_HEADERS) {
            *colon = 0;
            snprintf(v->names[i], sizeof v->names[i], "%s", p);
            for (char *c = v->names[i]; *c; c++) *c = (char)tolower((unsigned char)*c);
            vector_add_header(v, v->names[i], colon + 1);
        }
        p = eol ? eol + 1 : NULL;
    }
    return p && *p == '\n' ? p + 1 : p;
}

int vector_load(vector *v, const char *dir, const char *name)
{
    memset(v, 0, sizeof *v);
    size_t len;
    v->text = vector_read_file(dir, name, ".req", &len);
    char *authz = vector_read_file(dir, name, ".authz", NULL);
    if (!v->text || !authz) {
        free(authz);
        return -1;
    }
    snprintf(v->expected, sizeof v->expected, "%.*s", (int)strcspn(authz, "\n"), authz);
    free(authz);
    char *eol = strchr(v->text, '\n');
    char *sp = strchr(v->text, ' ');
    if (!eol || !sp || sp > eol) return -1;
    *eol = 0;
    char *last = strrchr(v->text, ' ');
    *sp = 0;
    *last = 0;
    snprintf(v->method, sizeof v->method, "%s", v->text);
    split_target(v, sp + 1);
    char *body = parse_headers(v, eol + 1);
    v->body = body ? body : "";
    v->body_len = body ? len - (size_t)(body - v->text) : 0;
    v->req.method = v->method;
    v->req.path = v->path;
    v->req.query = v->query;
    v->req.headers = v->headers;
    return 0;
}

void vector_free(vector *v)
{
    free(v->text);
    v->text = NULL;
}
