/*
 * server/config.c - loading cofferd's JSON configuration and building the
 * embedded default (contract in config.h, keys in doc/coffer.json.5).
 *
 * The loader is strict on purpose: every object is first checked for keys
 * it does not know, then each key is read by a typed getter that names the
 * file and the dotted key in its error. Nothing is half-applied: on any
 * error everything allocated so far is freed and the caller gets one
 * message. Secret values (admin secret key, COFFER_MASTER_KEY) are checked
 * for shape but never echoed; key names taken from the file are sanitised
 * before they reach a message, since a hostile file may put anything there.
 *
 * The embedded default does no JSON at all: it fills the same struct with
 * paths under var_dir and a credential file it creates once.
 */
#include "server/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "common/credfile.h"
#include "server/jsonobj.h"

#define KEYNAME_MAX 96

typedef struct cfg_ctx {
    const char *file;            /* for messages */
    char dir[PATH_MAX];          /* base for relative paths */
    coffer_config *cfg;
    cf_err *err;
} cfg_ctx;

static void set_defaults(coffer_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->listen_addr, CONFIG_DEFAULT_HOST);
    cfg->port = CONFIG_DEFAULT_PORT;
    strcpy(cfg->region, CONFIG_DEFAULT_REGION);
    cfg->threads = CONFIG_DEFAULT_THREADS;
    cfg->max_connections = CONFIG_DEFAULT_MAX_CONNECTIONS;
    cfg->max_connections_per_ip = CONFIG_DEFAULT_MAX_PER_IP;
    cfg->header_timeout_s = CONFIG_DEFAULT_HEADER_TIMEOUT;
    cfg->idle_timeout_s = CONFIG_DEFAULT_IDLE_TIMEOUT;
    cfg->sigv2 = true;
    cfg->log_level = CONFIG_LOG_INFO;
    cfg->storage.pack_shard_max = CONFIG_DEFAULT_PACK_SHARD_MAX;   /* design.md, "Mid-size" */
    cfg->storage.buffered_io = true;       /* storage.direct_io: off until reads are direct */
    lifecycle_config *lc = &cfg->lifecycle;
    lc->day_seconds = CONFIG_DEFAULT_DAY_SECONDS;
    lc->interval_s = CONFIG_DEFAULT_LC_INTERVAL;
    lc->transitions = CONFIG_DEFAULT_TRANSITIONS;
    lc->objects_per_s = CONFIG_DEFAULT_OBJECTS_PER_S;
    lc->multipart_threshold = CONFIG_DEFAULT_MULTIPART_THRESHOLD;
    lc->part_size = CONFIG_DEFAULT_PART_SIZE;
    lc->parallel_parts = CONFIG_DEFAULT_PARALLEL_PARTS;
    lc->recheck_s = CONFIG_DEFAULT_RECHECK;
}

/* ---- listen address --------------------------------------------------- */

static bool valid_host_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(".-:_%", s[i]))
            return false;
    return true;
}

/* Parse HOST:PORT; on failure return why (a constant string), else NULL. */
static const char *parse_listen(const char *s, char addr[64], int *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon)
        return "expected HOST:PORT";
    const char *host = s;
    size_t hlen = (size_t)(colon - s);
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    } else if (memchr(host, ':', hlen)) {
        return "an IPv6 address needs brackets: [ADDR]:PORT";
    }
    if (hlen >= 64 || !valid_host_chars(host, hlen))
        return "malformed host";
    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (plen == 0 || plen > 5 || strspn(p, "0123456789") != plen)
        return "port must be a number 1..65535";
    long v = strtol(p, NULL, 10);
    if (v < 1 || v > 65535)
        return "port must be a number 1..65535";
    if (hlen == 0)
        strcpy(addr, "0.0.0.0");
    else
        snprintf(addr, 64, "%.*s", (int)hlen, host);
    *port = (int)v;
    return NULL;
}

int config_set_listen(coffer_config *cfg, const char *hostport, cf_err *err)
{
    const char *why = parse_listen(hostport, cfg->listen_addr, &cfg->port);
    return why ? cf_fail(err, CF_ECONFIG, "listen address: %s", why) : 0;
}

/* ---- error reporting and typed getters ------------------------------- */

/* Copy a key name from the file, replacing anything unprintable. */
static void sanitize(char *out, size_t outsz, const char *name)
{
    size_t i = 0;
    for (; name[i] && i + 1 < outsz; i++)
        out[i] = (name[i] > ' ' && name[i] < 0x7f) ? name[i] : '?';
    out[i] = '\0';
}

static int bad(cfg_ctx *c, const char *prefix, const char *name,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int bad(cfg_ctx *c, const char *prefix, const char *name,
               const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return cf_fail(c->err, CF_ECONFIG, "%s: key '%s%s%s': %s", c->file,
                   prefix, *prefix ? "." : "", name, what);
}

/* Refuse keys of obj that are not in the NULL-terminated list allowed. */
static int check_keys(cfg_ctx *c, json_t *obj, const char *prefix,
                      const char *const *allowed)
{
    const char *key = jsonobj_unknown_key(obj, allowed);
    if (!key)
        return 0;
    char name[KEYNAME_MAX];
    sanitize(name, sizeof name, key);
    return bad(c, prefix, name, "unknown key");
}

static const char *type_name(json_type t)
{
    switch (t) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    default: return "of another type";
    }
}

/* obj[name] of the wanted type into *out; NULL if absent and optional. */
static int get_member(cfg_ctx *c, json_t *obj, const char *prefix,
                      const char *name, json_type want, bool required,
                      json_t **out)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v)
        return required ? bad(c, prefix, name, "missing (required)") : 0;
    if (json_typeof(v) != want)
        return bad(c, prefix, name, "must be %s", type_name(want));
    *out = v;
    return 0;
}

/* A non-empty string (the parser already refuses \u0000 inside strings). */
static int check_string(cfg_ctx *c, json_t *v, const char *prefix,
                        const char *name, const char **out)
{
    if (!json_is_string(v))
        return bad(c, prefix, name, "must be a string");
    const char *s = json_string_value(v);
    if (!*s)
        return bad(c, prefix, name, "must not be empty");
    *out = s;
    return 0;
}

static int get_string(cfg_ctx *c, json_t *obj, const char *prefix,
                      const char *name, bool required, const char **out)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v)
        return required ? bad(c, prefix, name, "missing (required)") : 0;
    return check_string(c, v, prefix, name, out);
}

/* An integer lo..hi into *out; *out is left alone if absent and optional. */
static int get_ll(cfg_ctx *c, json_t *obj, const char *prefix, const char *name,
                  bool required, long long lo, long long hi, long long *out)
{
    json_t *v;
    if (get_member(c, obj, prefix, name, JSON_INTEGER, required, &v) < 0)
        return -1;
    if (!v)
        return 0;
    json_int_t n = json_integer_value(v);
    if (n < lo || n > hi)
        return bad(c, prefix, name, "must be %lld..%lld", lo, hi);
    *out = n;
    return 0;
}

static int get_int(cfg_ctx *c, json_t *obj, const char *prefix, const char *name,
                   bool required, long long lo, long long hi, int *out)
{
    long long v = *out;
    int rc = get_ll(c, obj, prefix, name, required, lo, hi, &v);
    *out = (int)v;
    return rc;
}

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Drop empty and "." components and trailing slashes in place, so that
 * "/srv/./d1/" and "/srv//d1" compare equal: "/x/./y//" -> "/x/y". */
static void tidy_path(char *p)
{
    bool absolute = p[0] == '/';
    const char *in = p;
    char *o = p;
    while (*in) {
        while (*in == '/')
            in++;
        const char *end = strchrnul(in, '/');
        size_t n = (size_t)(end - in);
        if (n > 0 && !(n == 1 && in[0] == '.')) {
            if (o != p || absolute)
                *o++ = '/';
            memmove(o, in, n);
            o += n;
        }
        in = end;
    }
    if (o == p)
        *o++ = absolute ? '/' : '.';
    *o = '\0';
}

/* A path made absolute against the config file's directory. */
static int resolve(cfg_ctx *c, const char *s, char **out)
{
    *out = s[0] == '/' ? strdup(s) : join_path(c->dir, s);
    if (!*out)
        return cf_fail(c->err, CF_ENOMEM, "out of memory");
    tidy_path(*out);
    return 0;
}

static int get_path(cfg_ctx *c, json_t *obj, const char *prefix,
                    const char *name, bool required, char **out)
{
    const char *s;
    *out = NULL;
    if (get_string(c, obj, prefix, name, required, &s) < 0)
        return -1;
    return s ? resolve(c, s, out) : 0;
}

static int get_object(cfg_ctx *c, json_t *obj, const char *name, bool required,
                      const char *const *allowed, json_t **out)
{
    if (get_member(c, obj, "", name, JSON_OBJECT, required, out) < 0)
        return -1;
    return *out ? check_keys(c, *out, name, allowed) : 0;
}

/* ---- sections ---------------------------------------------------------- */

static int load_network(cfg_ctx *c, json_t *root)
{
    static const char *const tls_keys[] = {"cert", "key", NULL};
    coffer_config *cfg = c->cfg;
    const char *s;
    if (get_string(c, root, "", "listen", false, &s) < 0)
        return -1;
    const char *why = s ? parse_listen(s, cfg->listen_addr, &cfg->port) : NULL;
    if (why)
        return bad(c, "", "listen", "%s", why);
    json_t *tls;
    if (get_object(c, root, "tls", false, tls_keys, &tls) < 0)
        return -1;
    if (!tls)
        return 0;
    if (get_path(c, tls, "tls", "cert", true, &cfg->tls_cert_file) < 0 ||
        get_path(c, tls, "tls", "key", true, &cfg->tls_key_file) < 0)
        return -1;
    if (access(cfg->tls_cert_file, R_OK) != 0)
        return bad(c, "tls", "cert", "cannot read %s: %s", cfg->tls_cert_file,
                   strerror(errno));
    if (access(cfg->tls_key_file, R_OK) != 0)
        return bad(c, "tls", "key", "cannot read %s: %s", cfg->tls_key_file,
                   strerror(errno));
    return 0;
}

static bool all_in(const char *s, const char *set)
{
    return strspn(s, set) == strlen(s);
}

static int load_naming(cfg_ctx *c, json_t *root)
{
    static const char lower[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
    coffer_config *cfg = c->cfg;
    const char *s;
    if (get_string(c, root, "", "region", false, &s) < 0)
        return -1;
    if (s && (strlen(s) >= sizeof cfg->region || !all_in(s, lower)))
        return bad(c, "", "region", "must be 1..31 characters [a-z0-9-]");
    if (s)
        strcpy(cfg->region, s);
    if (get_string(c, root, "", "virtual_host_domain", false, &s) < 0)
        return -1;
    if (!s)
        return 0;
    if (strlen(s) > 253 || s[0] == '.' || !all_in(s, ".abcdefghijklmnopqrstuvwxyz0123456789-"))
        return bad(c, "", "virtual_host_domain",
                   "must be a lowercase DNS name (e.g. s3.example.net)");
    cfg->vhost_domain = strdup(s);
    return cfg->vhost_domain ? 0 : cf_fail(c->err, CF_ENOMEM, "out of memory");
}

static int load_disks(cfg_ctx *c, json_t *root)
{
    coffer_config *cfg = c->cfg;
    json_t *disks;
    if (get_member(c, root, "", "disks", JSON_ARRAY, true, &disks) < 0)
        return -1;
    size_t n = json_array_size(disks);
    if (n < 1 || n > ST_MAX_DISKS)
        return bad(c, "", "disks", "must list 1..%d directories (found %zu)",
                   ST_MAX_DISKS, n);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        const char *dir;
        snprintf(name, sizeof name, "disks[%zu]", i);
        if (check_string(c, json_array_get(disks, i), "", name, &dir) < 0 ||
            resolve(c, dir, &cfg->disk_dirs[i]) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->disk_dirs[i], cfg->disk_dirs[j]) == 0)
                return bad(c, "", name, "same directory as disks[%zu]", j);
        cfg->storage.disks[i] = cfg->disk_dirs[i];
    }
    cfg->storage.ndisks = (int)n;
    return 0;
}

static bool is_hex64(const char *s)
{
    return strlen(s) == 64 && all_in(s, "0123456789abcdefABCDEF");
}

static int load_master_key(cfg_ctx *c, json_t *root)
{
    coffer_config *cfg = c->cfg;
    const char *env = getenv("COFFER_MASTER_KEY");
    if (get_path(c, root, "", "master_key_file", false, &cfg->master_key_file) < 0)
        return -1;
    if (!cfg->master_key_file && !env)
        return bad(c, "", "master_key_file",
                   "missing (required unless COFFER_MASTER_KEY is set)");
    cfg->storage.master_key_file = cfg->master_key_file;
    if (!env)
        return 0;
    if (!is_hex64(env))
        return cf_fail(c->err, CF_ECONFIG,
                       "COFFER_MASTER_KEY: must be exactly 64 hex characters");
    strcpy(cfg->master_key_hex, env);
    cfg->storage.master_key_hex = cfg->master_key_hex;
    return 0;
}

static int load_layout(cfg_ctx *c, json_t *root)
{
    static const char *const erasure_keys[] = {"k", "m", NULL};
    st_config *st = &c->cfg->storage;
    json_t *ec;
    if (get_object(c, root, "erasure", false, erasure_keys, &ec) < 0)
        return -1;
    if (ec && (get_int(c, ec, "erasure", "k", true, 1, ST_MAX_DISKS, &st->k) < 0 ||
               get_int(c, ec, "erasure", "m", true, 0, ST_MAX_DISKS - 1, &st->m) < 0))
        return -1;
    if (ec && st->k + st->m != st->ndisks)
        return bad(c, "erasure", "k", "k + m = %d but there are %d disks",
                   st->k + st->m, st->ndisks);
    int bs = 0;
    if (get_int(c, root, "", "block_size", false, 4096, 64 << 20, &bs) < 0)
        return -1;
    if (bs & (bs - 1))
        return bad(c, "", "block_size", "must be a power of two");
    st->block_size = (uint32_t)bs;
    static const char *const storage_keys[] = {"pack_shard_max_bytes",
                                               "pack_compact_dead_ratio", "direct_io",
                                               NULL};
    json_t *so;
    int pack = (int)st->pack_shard_max;          /* set_defaults' unless given */
    if (get_object(c, root, "storage", false, storage_keys, &so) < 0 ||
        (so && get_int(c, so, "storage", "pack_shard_max_bytes", false, 0, 64 << 20,
                       &pack) < 0))
        return -1;
    st->pack_shard_max = (uint32_t)pack;
    /* a fraction: an integer (0, 1) or a real */
    json_t *ratio = json_object_get(so, "pack_compact_dead_ratio");
    if (ratio && (!json_is_number(ratio) || !(json_number_value(ratio) > 0.0) ||
                  json_number_value(ratio) >= 1.0))
        return bad(c, "storage", "pack_compact_dead_ratio",
                   "must be a number above 0 and below 1");
    st->pack_compact_dead_ratio = ratio ? json_number_value(ratio) : 0;
    json_t *direct = json_object_get(so, "direct_io");
    if (direct && !json_is_boolean(direct))
        return bad(c, "storage", "direct_io", "must be true or false");
    if (direct)
        st->buffered_io = !json_is_true(direct);
    return 0;
}

static int load_admin(cfg_ctx *c, json_t *root)
{
    static const char *const admin_keys[] = {"access_key", "secret_key", NULL};
    coffer_config *cfg = c->cfg;
    json_t *admin;
    const char *ak, *sk;
    if (get_object(c, root, "admin", true, admin_keys, &admin) < 0 ||
        get_string(c, admin, "admin", "access_key", true, &ak) < 0 ||
        get_string(c, admin, "admin", "secret_key", true, &sk) < 0)
        return -1;
    if (!names_access_key_ok(ak))
        return bad(c, "admin", "access_key", "must be %d..%d characters [A-Za-z0-9]",
                   NAMES_AK_MIN, NAMES_AK_MAX);
    if (!names_secret_ok(sk))
        return bad(c, "admin", "secret_key",
                   "must be %d..%d printable characters without spaces",
                   NAMES_SK_MIN, NAMES_SK_MAX);
    strcpy(cfg->admin_access_key, ak);
    strcpy(cfg->admin_secret_key, sk);
    return 0;
}

static int load_limits(cfg_ctx *c, json_t *root)
{
    static const char *const limit_keys[] = {
        "threads", "max_connections", "max_connections_per_ip", "header_timeout_seconds",
        "idle_timeout_seconds", NULL};
    coffer_config *cfg = c->cfg;
    json_t *limits;
    if (get_object(c, root, "limits", false, limit_keys, &limits) < 0)
        return -1;
    if (!limits)
        return 0;
    if (get_int(c, limits, "limits", "threads", false, 1, 1024, &cfg->threads) < 0 ||
        get_int(c, limits, "limits", "max_connections", false, 1, 65536,
                &cfg->max_connections) < 0 ||
        get_int(c, limits, "limits", "max_connections_per_ip", false, 1, 65536,
                &cfg->max_connections_per_ip) < 0 ||
        get_int(c, limits, "limits", "header_timeout_seconds", false, 1, 3600,
                &cfg->header_timeout_s) < 0)
        return -1;
    return get_int(c, limits, "limits", "idle_timeout_seconds", false, 1, 3600,
                   &cfg->idle_timeout_s);
}

static int load_auth(cfg_ctx *c, json_t *root)
{
    static const char *const auth_keys[] = {"sigv2", NULL};
    json_t *auth, *v;
    if (get_object(c, root, "auth", false, auth_keys, &auth) < 0)
        return -1;
    if (!auth || !(v = json_object_get(auth, "sigv2")))
        return 0;
    if (!json_is_boolean(v))
        return bad(c, "auth", "sigv2", "must be true or false");
    c->cfg->sigv2 = json_is_true(v);
    return 0;
}

/* "sse_c": {"allow_http_on_loopback": true} lets tests send customer keys
 * over plain HTTP; config_check_listen refuses it unless cofferd listens
 * on a loopback address only. */
static int load_sse_c(cfg_ctx *c, json_t *root)
{
    static const char *const keys[] = {"allow_http_on_loopback", NULL};
    json_t *o, *v;
    if (get_object(c, root, "sse_c", false, keys, &o) < 0)
        return -1;
    if (!o || !(v = json_object_get(o, "allow_http_on_loopback")))
        return 0;
    if (!json_is_boolean(v))
        return bad(c, "sse_c", "allow_http_on_loopback", "must be true or false");
    c->cfg->sse_c_http_loopback = json_is_true(v);
    return 0;
}

int config_check_listen(const coffer_config *cfg, cf_err *err)
{
    const char *a = cfg->listen_addr;
    struct in_addr v4;
    struct in6_addr v6;
    bool loopback = (inet_pton(AF_INET, a, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127) ||
                    (inet_pton(AF_INET6, a, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6)) ||
                    strcmp(a, "localhost") == 0;
    if (cfg->sse_c_http_loopback && !cfg->tls_cert_file && !loopback)
        return cf_fail(err, CF_ECONFIG, "sse_c.allow_http_on_loopback needs a loopback "
                       "listen address (127.0.0.1, ::1), not \"%s\": customer keys "
                       "must not cross a network in the clear", a);
    return 0;
}

static int load_logging(cfg_ctx *c, json_t *root)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    coffer_config *cfg = c->cfg;
    const char *s;
    if (get_string(c, root, "", "log_level", false, &s) < 0)
        return -1;
    if (s) {
        int i = 0;
        while (i < 4 && strcmp(s, levels[i]) != 0)
            i++;
        if (i == 4)
            return bad(c, "", "log_level", "must be error, warn, info or debug");
        cfg->log_level = i;
    }
    if (get_string(c, root, "", "access_log", false, &s) < 0)
        return -1;
    if (!s || strcmp(s, "-") != 0)
        return get_path(c, root, "", "access_log", false, &cfg->access_log);
    cfg->access_log = strdup("-");
    return cfg->access_log ? 0 : cf_fail(c->err, CF_ENOMEM, "out of memory");
}

/* metrics: {"bearer_token_file": PATH} or {"public": true}, not both. */
static int load_metrics(cfg_ctx *c, json_t *root)
{
    static const char *const metrics_keys[] = {"bearer_token_file", "public", NULL};
    coffer_config *cfg = c->cfg;
    json_t *metrics, *pub;
    if (get_object(c, root, "metrics", false, metrics_keys, &metrics) < 0)
        return -1;
    if (!metrics)
        return 0;
    pub = json_object_get(metrics, "public");
    if (pub && !json_is_boolean(pub))
        return bad(c, "metrics", "public", "must be true or false");
    cfg->metrics_public = json_is_true(pub);
    char *file = NULL;
    if (get_path(c, metrics, "metrics", "bearer_token_file", false, &file) < 0)
        return -1;
    int rc = 0;
    if (file && cfg->metrics_public)
        rc = bad(c, "metrics", "bearer_token_file", "public metrics need no token "
                 "(drop one of the two)");
    else if (file && credfile_read_token(file, cfg->metrics_token, c->err) < 0) {
        char why[CF_ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", c->err->msg);
        rc = bad(c, "metrics", "bearer_token_file", "%s", why);
    }
    free(file);
    return rc;
}

/* GC's orphan bound and the snapshot generations kept (storage/engine.h). */
static int load_maintenance(cfg_ctx *c, json_t *root)
{
    static const char *const gc_keys[] = {"max_orphans", "max_orphan_percent", NULL};
    static const char *const snap_keys[] = {"keep", "daily", NULL};
    st_config *st = &c->cfg->storage;
    json_t *gc, *snap;
    if (get_object(c, root, "gc", false, gc_keys, &gc) < 0 ||
        get_object(c, root, "snapshots", false, snap_keys, &snap) < 0)
        return -1;
    if (gc && (get_int(c, gc, "gc", "max_orphans", false, 1, 1000000000,
                       &st->gc_max_orphans) < 0 ||
               get_int(c, gc, "gc", "max_orphan_percent", false, 1, 100,
                       &st->gc_max_orphan_percent) < 0))
        return -1;
    if (snap && (get_int(c, snap, "snapshots", "keep", false, 1, 1000,
                         &st->snapshot_keep) < 0 ||
                 get_int(c, snap, "snapshots", "daily", false, 1, 3650,
                         &st->snapshot_days) < 0))
        return -1;
    return 0;
}

/* Tiers live in the index (coffer tier add), not here: the key is kept so
 * that older files with "tiers": {} still load. */
static int load_tiers(cfg_ctx *c, json_t *root)
{
    json_t *tiers;
    if (get_member(c, root, "", "tiers", JSON_OBJECT, false, &tiers) < 0)
        return -1;
    if (tiers && json_object_size(tiers) > 0)
        return bad(c, "", "tiers", "tiers are added with `coffer tier add` and kept in "
                   "the index; this key only accepts {}");
    return 0;
}

/* Background jobs (server/sched.h): "jobs": {NAME: {"interval_seconds":
 * N, "bytes_per_second": N, and the job's own keys}}. Here only the shape
 * is checked and the section kept; which names and keys exist is the job
 * table's to say (server/jobs.c: jobs_check_config, before the disks are
 * touched). */
static int load_jobs(cfg_ctx *c, json_t *root)
{
    json_t *jobs;
    if (get_member(c, root, "", "jobs", JSON_OBJECT, false, &jobs) < 0)
        return -1;
    if (!jobs)
        return 0;
    const char *name;
    json_t *job;
    json_object_foreach(jobs, name, job) {
        char key[KEYNAME_MAX];
        sanitize(key, sizeof key, name);
        if (strlen(name) > 23 || strspn(name, "abcdefghijklmnopqrstuvwxyz_") != strlen(name))
            return bad(c, "jobs", key, "job names are [a-z_], at most 23 characters");
        if (!json_is_object(job))
            return bad(c, "jobs", key, "must be an object");
        char prefix[KEYNAME_MAX + 8];
        snprintf(prefix, sizeof prefix, "jobs.%s", key);
        int v = 0;
        if (get_int(c, job, prefix, "interval_seconds", false, 0, 10LL * 366 * 86400, &v) < 0 ||
            get_int(c, job, prefix, "bytes_per_second", false, 0, INT32_MAX, &v) < 0)
            return -1;
        const char *k;
        json_t *val;
        json_object_foreach(job, k, val)
            if (!json_is_integer(val) && !json_is_string(val) && !json_is_boolean(val)) {
                char kk[KEYNAME_MAX];
                sanitize(kk, sizeof kk, k);
                return bad(c, prefix, kk, "must be a number, a string or a boolean");
            }
    }
    c->cfg->jobs = json_incref(jobs);
    return 0;
}

/* An optional byte count or period lo..hi (0 <= lo). */
static int get_u64(cfg_ctx *c, json_t *obj, const char *prefix, const char *name,
                   long long lo, long long hi, uint64_t *out)
{
    long long v = (long long)*out;
    int rc = get_ll(c, obj, prefix, name, false, lo, hi, &v);
    *out = (uint64_t)v;
    return rc;
}

static int load_class_map(cfg_ctx *c, json_t *lcj)
{
    lifecycle_config *lc = &c->cfg->lifecycle;
    json_t *map;
    if (get_member(c, lcj, "lifecycle", "storage_class_map", JSON_OBJECT, false, &map) < 0)
        return -1;
    const char *from;
    json_t *to;
    json_object_foreach(map, from, to) {
        char name[KEYNAME_MAX];
        sanitize(name, sizeof name, from);
        if (lc->nclass_map == CONFIG_MAX_CLASS_MAP)
            return bad(c, "lifecycle", "storage_class_map", "at most %d entries",
                       CONFIG_MAX_CLASS_MAP);
        if (strlen(from) >= sizeof lc->class_from[0] ||
            strspn(from, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(from) ||
            !*from)
            return bad(c, "lifecycle.storage_class_map", name,
                       "a storage class is 1..32 characters [A-Z0-9_-]");
        const char *t = json_string_value(to);
        if (!t || !*t || strlen(t) >= sizeof lc->class_to[0] ||
            strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(t))
            return bad(c, "lifecycle.storage_class_map", name,
                       "must name a tier (or STANDARD)");
        strcpy(lc->class_from[lc->nclass_map], from);
        strcpy(lc->class_to[lc->nclass_map], t);
        lc->nclass_map++;
    }
    return 0;
}

static int load_lifecycle(cfg_ctx *c, json_t *root)
{
    static const char *const keys[] = {
        "day_seconds", "interval_seconds", "transitions", "max_bytes_per_s",
        "objects_per_s", "multipart_threshold", "part_size", "parallel_parts",
        "storage_class_map", "recheck_seconds", NULL};
    lifecycle_config *lc = &c->cfg->lifecycle;
    json_t *lcj;
    uint64_t day = (uint64_t)lc->day_seconds;
    if (get_object(c, root, "lifecycle", false, keys, &lcj) < 0)
        return -1;
    if (!lcj)
        return 0;
    if (get_u64(c, lcj, "lifecycle", "day_seconds", 1, 86400LL * 366, &day) < 0 ||
        get_int(c, lcj, "lifecycle", "interval_seconds", false, 1, 86400, &lc->interval_s) < 0 ||
        get_int(c, lcj, "lifecycle", "transitions", false, 1, 64, &lc->transitions) < 0 ||
        get_u64(c, lcj, "lifecycle", "max_bytes_per_s", 0, 1LL << 40, &lc->max_bytes_per_s) < 0 ||
        get_int(c, lcj, "lifecycle", "objects_per_s", false, 1, 100000, &lc->objects_per_s) < 0 ||
        get_u64(c, lcj, "lifecycle", "multipart_threshold", 5LL << 20, 5LL << 30,
                &lc->multipart_threshold) < 0 ||
        get_u64(c, lcj, "lifecycle", "part_size", 5LL << 20, 5LL << 30, &lc->part_size) < 0 ||
        get_int(c, lcj, "lifecycle", "parallel_parts", false, 1, 16, &lc->parallel_parts) < 0 ||
        get_int(c, lcj, "lifecycle", "recheck_seconds", false, 1, 86400, &lc->recheck_s) < 0)
        return -1;
    lc->day_seconds = (int64_t)day;
    return load_class_map(c, lcj);
}

const char *config_map_class(const lifecycle_config *lc, const char *storage_class)
{
    for (int i = 0; i < lc->nclass_map; i++)
        if (strcmp(lc->class_from[i], storage_class) == 0)
            return lc->class_to[i];
    return storage_class;
}

/* ---- entry points ------------------------------------------------------ */

static int load_root(cfg_ctx *c, json_t *root)
{
    static const char *const top_keys[] = {
        "listen", "tls", "region", "virtual_host_domain", "disks", "meta_dir",
        "master_key_file", "erasure", "block_size", "admin", "limits", "auth",
        "log_level", "access_log", "tiers", "gc", "snapshots", "sse_c", "jobs",
        "metrics", "lifecycle", "storage", NULL};
    if (!json_is_object(root))
        return cf_fail(c->err, CF_ECONFIG, "%s: the top level must be a JSON object",
                       c->file);
    if (check_keys(c, root, "", top_keys) < 0 || load_network(c, root) < 0 ||
        load_naming(c, root) < 0 || load_disks(c, root) < 0 ||
        get_path(c, root, "", "meta_dir", true, &c->cfg->meta_dir) < 0 ||
        load_master_key(c, root) < 0 || load_layout(c, root) < 0 ||
        load_admin(c, root) < 0 || load_limits(c, root) < 0 || load_auth(c, root) < 0 ||
        load_sse_c(c, root) < 0 ||
        load_logging(c, root) < 0 || load_tiers(c, root) < 0 ||
        load_maintenance(c, root) < 0 || load_jobs(c, root) < 0 ||
        load_metrics(c, root) < 0 || load_lifecycle(c, root) < 0)
        return -1;
    c->cfg->storage.meta_dir = c->cfg->meta_dir;
    return 0;
}

static int set_base_dir(cfg_ctx *c, const char *path)
{
    char copy[PATH_MAX];
    if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
        return cf_fail(c->err, CF_ECONFIG, "%s: path too long", path);
    if (!realpath(dirname(copy), c->dir))
        return cf_fail_errno(c->err, CF_ECONFIG, errno, "%s", path);
    return 0;
}

int config_load(const char *path, coffer_config *cfg, cf_err *err)
{
    cfg_ctx c = {.file = path, .cfg = cfg, .err = err};
    set_defaults(cfg);
    FILE *f = fopen(path, "re");
    if (!f)
        return cf_fail_errno(err, CF_ECONFIG, errno, "%s", path);
    json_error_t jerr;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    int rc;
    if (!root)
        rc = cf_fail(err, CF_ECONFIG, "%s:%d:%d: not valid JSON: %s", path,
                     jerr.line, jerr.column, jerr.text);
    else
        rc = set_base_dir(&c, path) < 0 ? -1 : load_root(&c, root);
    json_decref(root);
    if (rc < 0)
        config_free(cfg);
    return rc;
}

/* mkdir that accepts an existing directory. */
static int ensure_dir(const char *path, cf_err *err)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return cf_fail_errno(err, CF_EIO, errno, "%s", path);
    return 0;
}

/* Only paths: st_open creates the directories when it formats a fresh
 * set, and must find them as they are otherwise. */
static int embedded_paths(coffer_config *cfg, cf_err *err)
{
    for (int i = 0; i < CONFIG_EMBEDDED_DISKS; i++) {
        char name[16];
        snprintf(name, sizeof name, "disk%d", i + 1);
        cfg->disk_dirs[i] = join_path(cfg->var_dir, name);
        if (!cfg->disk_dirs[i])
            return cf_fail(err, CF_ENOMEM, "out of memory");
        cfg->storage.disks[i] = cfg->disk_dirs[i];
    }
    cfg->storage.ndisks = CONFIG_EMBEDDED_DISKS;
    cfg->meta_dir = join_path(cfg->var_dir, "meta");
    cfg->master_key_file = join_path(cfg->var_dir, "master.key");
    if (!cfg->meta_dir || !cfg->master_key_file)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    cfg->storage.meta_dir = cfg->meta_dir;
    cfg->storage.master_key_file = cfg->master_key_file;
    cfg->storage.create_master_key = true;
    cfg->new_master_key = access(cfg->master_key_file, F_OK) != 0;
    return 0;
}

/* Reuse var_dir/admin-credentials, or make one that
 * config_embedded_finish writes once the engine has opened. */
static int embedded_admin(coffer_config *cfg, cf_err *err)
{
    char *path = join_path(cfg->var_dir, "admin-credentials");
    if (!path)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    int rc;
    cfg->new_admin_credential = access(path, F_OK) != 0;
    if (!cfg->new_admin_credential)
        rc = credfile_read(path, cfg->admin_access_key, cfg->admin_secret_key, err);
    else
        rc = credfile_generate(cfg->admin_access_key, cfg->admin_secret_key, err);
    free(path);
    return rc;
}

/* Reuse var_dir/metrics-token, or make one that config_embedded_finish
 * writes once the engine has opened. */
static int embedded_metrics_token(coffer_config *cfg, cf_err *err)
{
    char *path = join_path(cfg->var_dir, "metrics-token");
    if (!path)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    int rc;
    cfg->new_metrics_token = access(path, F_OK) != 0;
    if (!cfg->new_metrics_token)
        rc = credfile_read_token(path, cfg->metrics_token, err);
    else
        rc = credfile_generate_token(cfg->metrics_token, err);
    free(path);
    return rc;
}

int config_embedded_default(const char *var_dir, coffer_config *cfg, cf_err *err)
{
    set_defaults(cfg);
    cfg->embedded = true;
    char abs[PATH_MAX];
    int rc = ensure_dir(var_dir, err);
    if (rc == 0 && !realpath(var_dir, abs))
        rc = cf_fail_errno(err, CF_EIO, errno, "%s", var_dir);
    if (rc == 0 && !(cfg->var_dir = strdup(abs)))
        rc = cf_fail(err, CF_ENOMEM, "out of memory");
    if (rc == 0 && (embedded_paths(cfg, err) < 0 || embedded_admin(cfg, err) < 0 ||
                    embedded_metrics_token(cfg, err) < 0))
        rc = -1;
    if (rc < 0)
        config_free(cfg);
    return rc;
}

void config_free(coffer_config *cfg)
{
    free(cfg->tls_cert_file);
    free(cfg->tls_key_file);
    free(cfg->vhost_domain);
    free(cfg->access_log);
    free(cfg->var_dir);
    for (int i = 0; i < ST_MAX_DISKS; i++)
        free(cfg->disk_dirs[i]);
    free(cfg->meta_dir);
    free(cfg->master_key_file);
    json_decref(cfg->jobs);
    OPENSSL_cleanse(cfg, sizeof *cfg);
}
