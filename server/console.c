/*
 * server/console.c - the web console's server side (contract in
 * console.h): the compiled-in files, sessions, the CSRF rules, the admin
 * API behind the session, and the sample ring behind the charts.
 *
 * The page is static; everything it shows comes from the JSON API, which
 * for every admin operation is admin_handle itself (the same code `coffer`
 * reaches with a signature). What the admin API cannot know, because it
 * belongs to the running server rather than the engine (the maintenance
 * jobs, requests in flight, the history of request rates and disk use),
 * comes from /console/api/overview.
 *
 * The sampler thread takes a sample every CONSOLE_SAMPLE_S seconds into a
 * ring of CONSOLE_SAMPLES (an hour): the request and byte totals of the
 * metrics registry and the disks' used bytes. The page turns consecutive
 * totals into rates. It sleeps on a condition variable, so stopping never
 * waits out an interval.
 */
#include "server/console.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "server/admin.h"
#include "server/telemetry.h"
#include "server/sched.h"

#define COOKIE_NAME "coffer_console"
#define TOKEN_BYTES 32
#define API "/console/api/"

typedef struct session {
    bool used;
    uint8_t token_hash[32];          /* SHA-256 of the cookie value */
    char csrf[2 * TOKEN_BYTES + 1];
    time_t created, last;
} session;

typedef struct sample {
    double t;
    telemetry_totals totals;
    int ndisks;
    uint64_t disk_used[ST_MAX_DISKS], disk_capacity[ST_MAX_DISKS];
} sample;

struct console {
    server *srv;
    pthread_mutex_t lock;            /* sessions */
    session sessions[CONSOLE_SESSIONS];
    pthread_mutex_t ring_lock;       /* ring, stopping */
    pthread_cond_t wake;
    bool stopping;
    sample ring[CONSOLE_SAMPLES];
    size_t ring_next, ring_len;
    pthread_t thread;
};

/* ---- replies ------------------------------------------------------------- */

static void security_headers(s3_req *r)
{
    resp_header(r, "Content-Security-Policy",
                "default-src 'none'; script-src 'self'; style-src 'self'; "
                "img-src 'self'; connect-src 'self'; base-uri 'none'; "
                "form-action 'self'; frame-ancestors 'none'");
    resp_header(r, "X-Content-Type-Options", "nosniff");
    resp_header(r, "X-Frame-Options", "DENY");
    resp_header(r, "Referrer-Policy", "no-referrer");
}

static void reply(s3_req *r, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    resp_json(r, status, text);
    security_headers(r);
}

static void fail(s3_req *r, int status, const char *code, const char *message)
{
    reply(r, status, json_pack("{s:s, s:s}", "error", code, "message", message));
}

/* ---- static files -------------------------------------------------------- */

static void file_run(s3_req *r)
{
    const char *name = r->raw_uri + strlen("/console/");
    if (strcmp(r->raw_uri, "/console") == 0) {
        resp_status(r, 302);
        resp_header(r, "Location", "/console/");
        return;
    }
    if (!*name)
        name = "index.html";
    for (size_t i = 0; i < console_nassets; i++) {
        if (strcmp(console_assets[i].name, name) != 0)
            continue;
        resp_status(r, 200);
        sbuf_add(&r->resp, console_assets[i].data, console_assets[i].len);
        resp_header(r, "Content-Type", console_assets[i].type);
        resp_header(r, "Cache-Control", "no-cache");
        security_headers(r);
        return;
    }
    resp_text(r, 404, "no such console file\n");
    security_headers(r);
}

/* ---- sessions ------------------------------------------------------------ */

static void sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

static void base64url(const uint8_t *in, size_t n, char *out)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        size_t chars = n - i >= 3 ? 4 : n - i + 1;
        for (size_t c = 0; c < chars; c++)
            out[o++] = abc[(v >> (18 - 6 * c)) & 63];
    }
    out[o] = '\0';
}

/* The value of cookie `name` in the Cookie header, copied into out. */
static bool cookie_value(const s3_req *r, const char *name, char *out, size_t cap)
{
    const char *h = req_header(r, "cookie");
    size_t nlen = strlen(name);
    while (h && *h) {
        h += strspn(h, " ;");
        size_t n = strcspn(h, ";");
        if (n > nlen && strncmp(h, name, nlen) == 0 && h[nlen] == '=') {
            size_t vlen = n - nlen - 1;
            if (vlen >= cap)
                return false;
            memcpy(out, h + nlen + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        h += n;
    }
    return false;
}

static bool expired(const session *s, time_t now)
{
    return now - s->last > CONSOLE_IDLE_S || now - s->created > CONSOLE_MAX_S;
}

/* The live session the request's cookie names (c->lock held), or NULL. */
static session *find_session(console *c, const s3_req *r, time_t now)
{
    char token[64];
    if (!cookie_value(r, COOKIE_NAME, token, sizeof token))
        return NULL;
    uint8_t h[32];
    sha256(token, strlen(token), h);
    OPENSSL_cleanse(token, sizeof token);
    for (int i = 0; i < CONSOLE_SESSIONS; i++) {
        session *s = &c->sessions[i];
        if (!s->used || CRYPTO_memcmp(s->token_hash, h, sizeof h) != 0)
            continue;
        if (expired(s, now)) {
            OPENSSL_cleanse(s, sizeof *s);
            return NULL;
        }
        return s;
    }
    return NULL;
}

static void set_cookie(s3_req *r, const char *value, int max_age)
{
    char header[256];
    snprintf(header, sizeof header,
             COOKIE_NAME "=%s; Path=/console; Max-Age=%d; HttpOnly; SameSite=Strict%s",
             value, max_age, r->srv->cfg->tls_cert_file ? "; Secure" : "");
    resp_header(r, "Set-Cookie", header);
    OPENSSL_cleanse(header, sizeof header);
}

static json_t *session_json(const session *s, const s3_req *r)
{
    return json_pack("{s:s, s:I, s:I, s:s}", "csrf", s->csrf, "expires",
                     (json_int_t)(s->created + CONSOLE_MAX_S), "idle_timeout",
                     (json_int_t)CONSOLE_IDLE_S, "access_key",
                     r->srv->cfg->admin_access_key);
}

/* A new session in c (c->lock held): the oldest is dropped when full. */
static session *new_session(console *c, time_t now, char cookie[64])
{
    uint8_t token[TOKEN_BYTES], csrf[TOKEN_BYTES];
    if (RAND_bytes(token, sizeof token) != 1 || RAND_bytes(csrf, sizeof csrf) != 1)
        return NULL;
    session *s = NULL, *oldest = &c->sessions[0];
    for (int i = 0; i < CONSOLE_SESSIONS; i++) {
        session *x = &c->sessions[i];
        if (x->used && expired(x, now))
            OPENSSL_cleanse(x, sizeof *x);
        if (!x->used && !s)
            s = x;
        if (x->last < oldest->last)
            oldest = x;
    }
    if (!s)
        s = oldest;
    memset(s, 0, sizeof *s);
    s->used = true;
    s->created = s->last = now;
    base64url(token, sizeof token, cookie);
    sha256(cookie, strlen(cookie), s->token_hash);
    for (int i = 0; i < TOKEN_BYTES; i++)
        snprintf(s->csrf + 2 * i, 3, "%02x", csrf[i]);
    OPENSSL_cleanse(token, sizeof token);
    OPENSSL_cleanse(csrf, sizeof csrf);
    return s;
}

/* ---- login --------------------------------------------------------------- */

/* a equals the secret b (both NUL-terminated, b at most cap - 1 long),
 * in time that does not depend on where they differ. */
static bool same_secret(const char *a, const char *b, size_t cap)
{
    char x[128] = {0}, y[128] = {0};
    size_t n = strlen(a);
    if (cap > sizeof x || n >= cap)
        return false;
    memcpy(x, a, n);
    memcpy(y, b, strlen(b));
    bool same = CRYPTO_memcmp(x, y, cap) == 0;
    OPENSSL_cleanse(x, sizeof x);
    OPENSSL_cleanse(y, sizeof y);
    return same;
}

static void client_address(const s3_req *r, char out[64])
{
    strcpy(out, "?");
    if (r->peer)
        getnameinfo(r->peer, r->peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                            : sizeof(struct sockaddr_in),
                    out, 64, NULL, 0, NI_NUMERICHOST);
}

static void login(console *c, s3_req *r)
{
    const char *type = req_header(r, "content-type");
    if (!type || strncasecmp(type, "application/json", 16) != 0) {
        fail(r, 415, "UnsupportedMediaType", "log in with a JSON body");
        return;
    }
    json_error_t jerr;
    json_t *body = json_loadb(r->body.p ? r->body.p : "", r->body.len,
                              JSON_REJECT_DUPLICATES, &jerr);
    const char *ak = json_string_value(json_object_get(body, "access_key"));
    const char *sk = json_string_value(json_object_get(body, "secret_key"));
    const coffer_config *cfg = r->srv->cfg;
    bool ok = ak && sk && same_secret(ak, cfg->admin_access_key, ST_ACCESS_KEY_MAX);
    ok = ak && sk && same_secret(sk, cfg->admin_secret_key, ST_SECRET_KEY_MAX) && ok;
    json_decref(body);           /* jansson zeroes nothing: the body buffer */
    OPENSSL_cleanse(r->body.p, r->body.len);   /* held the secret too */
    telemetry_login(r->srv->telemetry, ok);
    if (!ok) {
        char addr[64];
        client_address(r, addr);
        fprintf(stderr, "cofferd: console: refused login from %s\n", addr);
        fail(r, 401, "LoginFailed", "wrong access key or secret key");
        return;
    }
    char cookie[64];
    time_t now = time(NULL);
    pthread_mutex_lock(&c->lock);
    session *s = new_session(c, now, cookie);
    json_t *out = s ? session_json(s, r) : NULL;
    pthread_mutex_unlock(&c->lock);
    if (!s) {
        fail(r, 500, "InternalError", "random generator failed");
        return;
    }
    reply(r, 200, out);
    set_cookie(r, cookie, CONSOLE_MAX_S);
    OPENSSL_cleanse(cookie, sizeof cookie);
}

/* ---- the overview -------------------------------------------------------- */

static json_t *sample_json(const sample *s)
{
    json_t *used = json_array(), *cap = json_array();
    for (int d = 0; d < s->ndisks; d++) {
        json_array_append_new(used, json_integer((json_int_t)s->disk_used[d]));
        json_array_append_new(cap, json_integer((json_int_t)s->disk_capacity[d]));
    }
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:o, s:o}", "t", s->t, "requests",
                     s->totals.requests, "client_errors", s->totals.client_errors,
                     "server_errors", s->totals.server_errors, "bytes_received",
                     s->totals.bytes_received, "bytes_sent", s->totals.bytes_sent,
                     "disk_used", used, "disk_capacity", cap);
}

static void fill_sample(console *c, sample *out);

/* The ring, oldest first, and a sample of this moment as the last. */
static json_t *samples_json(console *c)
{
    json_t *out = json_array();
    pthread_mutex_lock(&c->ring_lock);
    size_t first = (c->ring_next + CONSOLE_SAMPLES - c->ring_len) % CONSOLE_SAMPLES;
    for (size_t i = 0; out && i < c->ring_len; i++)
        json_array_append_new(out, sample_json(&c->ring[(first + i) % CONSOLE_SAMPLES]));
    pthread_mutex_unlock(&c->ring_lock);
    sample now;
    fill_sample(c, &now);
    json_array_append_new(out, sample_json(&now));
    return out;
}

static void overview(console *c, s3_req *r)
{
    server *s = r->srv;
    json_t *jobs = s->jobs ? sched_status_all(s->jobs) : json_array();
    reply(r, 200, json_pack("{s:s, s:i, s:b, s:o, s:i, s:o}", "version",
                            PACKAGE_VERSION, "in_flight", atomic_load(&s->inflight),
                            "draining", atomic_load(&s->draining), "jobs", jobs,
                            "sample_interval_s", CONSOLE_SAMPLE_S, "samples",
                            samples_json(c)));
}

/* ---- the admin API behind the session ------------------------------------ */

static void admin(s3_req *r, const char *path)
{
    int status = 500;
    char *json = NULL;
    admin_env env = {.engine = r->srv->engine, .jobs = r->srv->jobs, .tiers = r->srv->tiers};
    if (admin_handle(&env, r->method, path, NULL,
                     r->body.p ? r->body.p : "", r->body.len, &status, &json) < 0) {
        fail(r, 500, "InternalError", "out of memory");
        return;
    }
    resp_json(r, status, json);
    security_headers(r);
}

/* ---- API dispatch -------------------------------------------------------- */

static bool is_get(const s3_req *r)
{
    return strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
}

static void api_run(s3_req *r)
{
    console *c = r->srv->console;
    const char *path = r->raw_uri + strlen(API);
    const char *site = req_header(r, "sec-fetch-site");
    if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0) {
        fail(r, 403, "CrossSite", "the console API answers its own page only");
        return;
    }
    if (strcmp(path, "login") == 0) {
        if (strcmp(r->method, "POST") != 0)
            fail(r, 405, "MethodNotAllowed", "log in with POST");
        else
            login(c, r);
        return;
    }
    time_t now = time(NULL);
    pthread_mutex_lock(&c->lock);
    session *s = find_session(c, r, now);
    if (!s) {
        pthread_mutex_unlock(&c->lock);
        fail(r, 401, "NoSession", "log in first (or again: the session ended)");
        return;
    }
    s->last = now;
    const char *sent = req_header(r, "x-coffer-csrf");
    bool csrf_ok = sent && strlen(sent) == strlen(s->csrf) &&
                   CRYPTO_memcmp(sent, s->csrf, strlen(s->csrf)) == 0;
    if (!is_get(r) && !csrf_ok) {
        pthread_mutex_unlock(&c->lock);
        fail(r, 403, "BadCSRFToken", "missing or wrong X-Coffer-CSRF header");
        return;
    }
    bool logout = strcmp(path, "logout") == 0 && strcmp(r->method, "POST") == 0;
    if (logout)
        OPENSSL_cleanse(s, sizeof *s);
    bool want_session = strcmp(path, "session") == 0 && is_get(r);
    json_t *info = want_session ? session_json(s, r) : NULL;
    pthread_mutex_unlock(&c->lock);
    if (logout) {
        reply(r, 200, json_pack("{s:b}", "logged_out", 1));
        set_cookie(r, "", 0);
    } else if (want_session) {
        reply(r, 200, info);
    } else if (strcmp(path, "overview") == 0 && is_get(r)) {
        overview(c, r);
    } else if (strncmp(path, "admin/", 6) == 0) {
        admin(r, path + 5);
    } else {
        fail(r, 404, "NoSuchRoute", "no such console API");
    }
}

static const s3_op op_file = {.name = "ConsoleFile", .body = BODY_NONE, .run = file_run};
static const s3_op op_api = {.name = "ConsoleAPI", .body = BODY_BUFFER, .run = api_run};

const s3_op *console_route(const s3_req *r)
{
    if (strncmp(r->raw_uri, API, strlen(API)) == 0)
        return r->srv->console ? &op_api : NULL;
    return is_get(r) ? &op_file : NULL;
}

/* ---- the sampler --------------------------------------------------------- */

static void fill_sample(console *c, sample *out)
{
    sample s = {0};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s.t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    telemetry_totals_get(c->srv->telemetry, &s.totals);
    s.ndisks = st_disk_count(c->srv->engine);
    for (int d = 0; d < s.ndisks; d++) {
        st_disk_info info;
        st_disk_get(c->srv->engine, d, &info);
        s.disk_used[d] = info.used_bytes;
        s.disk_capacity[d] = info.capacity_bytes;
    }
    *out = s;
}

static void take_sample(console *c)
{
    sample s;
    fill_sample(c, &s);
    pthread_mutex_lock(&c->ring_lock);
    c->ring[c->ring_next] = s;
    c->ring_next = (c->ring_next + 1) % CONSOLE_SAMPLES;
    if (c->ring_len < CONSOLE_SAMPLES)
        c->ring_len++;
    pthread_mutex_unlock(&c->ring_lock);
}

static void *sampler_main(void *arg)
{
    console *c = arg;
    pthread_mutex_lock(&c->ring_lock);
    while (!c->stopping) {
        pthread_mutex_unlock(&c->ring_lock);
        take_sample(c);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += CONSOLE_SAMPLE_S;
        pthread_mutex_lock(&c->ring_lock);
        int rc = 0;
        while (!c->stopping && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&c->wake, &c->ring_lock, &until);
    }
    pthread_mutex_unlock(&c->ring_lock);
    return NULL;
}

console *console_new(server *s, cf_err *err)
{
    console *c = calloc(1, sizeof *c);
    if (!c) {
        cf_fail(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    c->srv = s;
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->ring_lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    int rc = pthread_create(&c->thread, NULL, sampler_main, c);
    if (rc != 0) {
        cf_fail_errno(err, CF_EINTERNAL, rc, "cannot start the console sampler");
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->ring_lock);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
    }
    return c;
}

void console_free(console *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->ring_lock);
    c->stopping = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->ring_lock);
    pthread_join(c->thread, NULL);
    OPENSSL_cleanse(c->sessions, sizeof c->sessions);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->ring_lock);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
