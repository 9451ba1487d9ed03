/*
 * cli/coffer.c - `coffer`, the admin command line for cofferd.
 *
 * Each command is one HTTP request to the admin API (server/admin.h), sent
 * through the outgoing S3 client (client/s3c.h: SigV4 with the admin
 * credential and the server's region, the payload's SHA-256 signed,
 * retried with backoff when the server is unreachable or answers 5xx,
 * POSTs only when nothing was sent); the JSON reply is printed either as
 * plain text for people or, with --json, as it came.
 *
 * The credential comes from, in order: --admin-key/--admin-secret,
 * --admin-credentials FILE (the file cofferd's embedded default writes),
 * then COFFER_ADMIN_KEY/COFFER_ADMIN_SECRET. The secret is never printed.
 *
 * restore-index is the exception: an offline command run while cofferd is
 * stopped, it reads cofferd's configuration and calls the engine itself
 * (cli/restore.c); it needs no endpoint or credential.
 *
 * Exit status: 0 done, 1 the request failed (server unreachable, refused,
 * or an error reply, printed as "coffer: CODE: message"), 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cli/restore.h"
#include "client/s3c.h"
#include "common/adminapi.h"
#include "common/credfile.h"

#define DEFAULT_ENDPOINT "http://127.0.0.1:9000"
#define DEFAULT_REGION "us-east-1"
#define EXIT_USAGE 2

typedef struct cli {
    const char *endpoint;        /* "http://host:port", no trailing slash */
    const char *region;
    const char *cacert;
    const char *cred_file;
    char access_key[NAMES_AK_MAX + 1];
    char secret[NAMES_SK_MAX + 1];
    bool json, read_only, force_orphans;
    const char *config, *var, *from;  /* restore-index */
    s3c_client *client;
} cli;

static const char usage_text[] =
    "usage: coffer [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  tenant create NAME          create a tenant\n"
    "  tenant list                 list tenants\n"
    "  tenant delete NAME          delete a tenant (it must own no buckets)\n"
    "  key create TENANT [--read-only]\n"
    "                              make an access key; prints ACCESS_KEY SECRET_KEY\n"
    "  key list [TENANT]           list access keys (of one tenant)\n"
    "  key revoke ACCESS_KEY       revoke an access key\n"
    "  status                      layout, heal queue, counts\n"
    "  usage [TENANT]              buckets, objects and bytes each tenant stores\n"
    "  disks                       each disk's state, space and error counts\n"
    "  heal                        rebuild missing or damaged shards now\n"
    "  gc [GRACE_SECONDS] [--force-orphans]\n"
    "                              finish deletions, remove orphan shard files\n"
    "                              older than GRACE_SECONDS (default 3600);\n"
    "                              --force-orphans: even more than the bound\n"
    "  restore-index (-c FILE | --var DIR) [--from DISK|FILE]\n"
    "                              offline, cofferd stopped: put the newest index\n"
    "                              snapshot back into the metadata directory\n"
    "  tier add NAME --endpoint URL --bucket BUCKET [--prefix P] [--region R]\n"
    "           --access-key AK --secret-key SK [--storage-class SC]\n"
    "           [--cacert PEM_FILE] [--virtual-host]\n"
    "                              add an S3 cold tier (probed first: an object is\n"
    "                              written, read back and deleted); NAME is what\n"
    "                              clients use as a storage class (e.g. COLD)\n"
    "  tier list                   tiers and what they hold\n"
    "  tier status [NAME]          objects and bytes tiered, queues, bytes/s now,\n"
    "                              the last error and its time\n"
    "  tier remove NAME            remove a tier (refused while objects live there)\n"
    "  lifecycle template restic|kopia [--tier NAME] [--days N] [--prefix P]\n"
    "                              print a lifecycle configuration that moves a\n"
    "                              backup repository's bulk data to a tier and keeps\n"
    "                              its metadata hot (no server needed)\n"
    "\n"
    "Options:\n"
    "  --endpoint URL              cofferd address (env COFFER_ENDPOINT,\n"
    "                              default " DEFAULT_ENDPOINT ")\n"
    "  --region REGION             the server's region (env COFFER_REGION,\n"
    "                              default " DEFAULT_REGION ")\n"
    "  --admin-credentials FILE    read access_key=/secret_key= lines from FILE\n"
    "  --admin-key KEY             admin access key (env COFFER_ADMIN_KEY)\n"
    "  --admin-secret SECRET       admin secret key (env COFFER_ADMIN_SECRET)\n"
    "  --cacert FILE               CA certificate(s) to trust for https\n"
    "  --json                      print the server's JSON reply\n"
    "  --help                      this text\n"
    "  --version                   print the version\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("coffer: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(coffer --help for usage)\n", stderr);
    va_end(ap);
    return EXIT_USAGE;
}

/* ---- credential --------------------------------------------------------- */

static int copy_field(char *dst, size_t cap, const char *src, const char *what)
{
    if (strlen(src) >= cap) {
        fprintf(stderr, "coffer: %s is too long\n", what);
        return EXIT_USAGE;
    }
    strcpy(dst, src);
    return 0;
}

/* Fill the credential from flags already copied, the file, or the env. */
static int load_credential(cli *c)
{
    if (c->access_key[0] && c->secret[0])
        return 0;
    if (c->access_key[0] || c->secret[0])
        return usage_error("--admin-key and --admin-secret go together");
    if (c->cred_file) {
        cf_err err;
        if (credfile_read(c->cred_file, c->access_key, c->secret, &err) == 0)
            return 0;
        fprintf(stderr, "coffer: %s\n", err.msg);
        return 1;
    }
    const char *ak = getenv("COFFER_ADMIN_KEY"), *sk = getenv("COFFER_ADMIN_SECRET");
    if (!ak || !sk || !*ak || !*sk)
        return usage_error("no admin credential: use --admin-credentials FILE "
                                 "or set COFFER_ADMIN_KEY and COFFER_ADMIN_SECRET");
    int rc = copy_field(c->access_key, sizeof c->access_key, ak, "COFFER_ADMIN_KEY");
    return rc ? rc : copy_field(c->secret, sizeof c->secret, sk, "COFFER_ADMIN_SECRET");
}

/* ---- one signed request ------------------------------------------------- */

/* Say what went wrong in a non-2xx reply (JSON from the admin API, XML
 * from the S3 layer when the signature is refused). */
static void print_failure(const cli *c, const s3c_result *r, json_t *doc)
{
    const char *code = json_string_value(json_object_get(doc, "error"));
    const char *msg = json_string_value(json_object_get(doc, "message"));
    if (!code && r->body && r->remote_message[0]) {
        code = r->remote_code;
        msg = r->remote_message;
    }
    if (code)
        fprintf(stderr, "coffer: %s: %s (HTTP %ld)\n", code, msg ? msg : "", r->status);
    else
        fprintf(stderr, "coffer: unexpected HTTP %ld from %s\n", r->status, c->endpoint);
}

/* Send method ADMIN_PREFIX{path}?{query} with body, signed with the admin
 * credential; on success *doc is the parsed JSON reply. */
static int request(const cli *c, const char *method, const char *path,
                   const char *query, json_t *body, json_t **doc)
{
    char full_path[256];
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    s3c_body b;
    s3c_mem m;
    s3c_result res;
    cf_err err;
    *doc = NULL;
    if (body && !text)
        return 1;
    snprintf(full_path, sizeof full_path, ADMIN_PREFIX "%s", path);
    s3c_body_mem(&b, &m, text, text ? strlen(text) : 0);
    s3c_op op = {.kind = S3C_REQUEST, .method = method, .path = full_path,
                 .query = query, .body = text ? &b : NULL, .payload = S3C_SIGNED,
                 .content_type = "application/json",
                 .idempotent = strcmp(method, "POST") != 0};
    int rc = s3c_exec(c->client, &op, &res, &err) == 0 ? 0 : 1;
    free(text);
    if (res.status == 0) {
        fprintf(stderr, "coffer: %s\n", err.msg);
    } else {
        *doc = res.body ? json_loads(res.body, 0, NULL) : NULL;
        if (rc != 0 || !json_is_object(*doc)) {
            print_failure(c, &res, *doc);
            json_decref(*doc);
            *doc = NULL;
            rc = 1;
        }
    }
    s3c_result_free(&res);
    return rc;
}

/* ---- output ------------------------------------------------------------- */

static void print_time(json_t *v)
{
    time_t t = (time_t)json_integer_value(v);
    struct tm tm;
    char buf[32];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs(buf, stdout);
}

static const char *str(json_t *obj, const char *name)
{
    const char *s = json_string_value(json_object_get(obj, name));
    return s ? s : "?";
}

static void print_tenants(json_t *doc)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(doc, "tenants"), i, t) {
        printf("%-24s ", str(t, "name"));
        print_time(json_object_get(t, "created"));
        putchar('\n');
    }
}

static void print_keys(json_t *doc)
{
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(doc, "keys"), i, k) {
        printf("%-22s %-24s %s ", str(k, "access_key"), str(k, "tenant"),
               json_is_true(json_object_get(k, "read_only")) ? "read-only " : "read-write");
        print_time(json_object_get(k, "created"));
        putchar('\n');
    }
}

static long long num(json_t *obj, const char *name)
{
    return (long long)json_integer_value(json_object_get(obj, name));
}

/* The index's identity and the last GC scan; loud if GC is held. */
static void print_status_index(json_t *doc)
{
    json_t *ix = json_object_get(doc, "index"), *gc = json_object_get(doc, "gc");
    if (json_object_get(ix, "lineage")) {
        printf("index id      set %s, lineage %s\n", str(ix, "set_id"), str(ix, "lineage"));
        printf("index since   ");
        print_time(json_object_get(ix, "created"));
        printf(" (created or restored), commit %lld\n", num(ix, "commit_number"));
    }
    if (!json_is_object(gc))
        return;
    printf("last gc       ");
    print_time(json_object_get(gc, "last_run"));
    printf(": %lld files, %lld orphans deleted, %lld older than the index kept\n",
           num(gc, "files_scanned"), num(gc, "orphan_files"),
           num(gc, "orphans_older_than_index"));
    if (json_is_true(json_object_get(gc, "held")))
        printf("GC HELD       %lld orphan files NOT deleted (more than the bound of %lld):\n"
               "              the index may not match the disks; see cofferd(8),\n"
               "              \"Recovering the index\"; if they are garbage:\n"
               "              coffer gc --force-orphans\n",
               num(gc, "orphans_held"), num(gc, "orphan_bound"));
}

static void print_status(json_t *doc)
{
    json_t *layout = json_object_get(doc, "layout");
    printf("version       %s\n", str(doc, "version"));
    printf("layout        %lld+%lld erasure coding, %lld-byte blocks\n",
           (long long)json_integer_value(json_object_get(layout, "k")),
           (long long)json_integer_value(json_object_get(layout, "m")),
           (long long)json_integer_value(json_object_get(layout, "block_size")));
    printf("heal queue    %lld segments\n",
           (long long)json_integer_value(json_object_get(doc, "heal_pending")));
    printf("tenants       %lld\n",
           (long long)json_integer_value(json_object_get(doc, "tenants")));
    printf("access keys   %lld\n",
           (long long)json_integer_value(json_object_get(doc, "keys")));
    json_t *ix = json_object_get(doc, "index");
    if (ix)
        printf("index         %lld commits, %lld WAL fdatasyncs\n",
               (long long)json_integer_value(json_object_get(ix, "commits")),
               (long long)json_integer_value(json_object_get(ix, "wal_syncs")));
    print_status_index(doc);
}

static void print_usage(json_t *doc)
{
    size_t i;
    json_t *u;
    printf("%-24s %8s %10s %16s  %s\n", "TENANT", "BUCKETS", "OBJECTS", "BYTES", "QUOTA");
    json_array_foreach(json_object_get(doc, "usage"), i, u) {
        json_t *q = json_object_get(u, "quota");
        printf("%-24s %8lld %10lld %16lld  %s\n", str(u, "tenant"), num(u, "buckets"),
               num(u, "objects"), num(u, "bytes"), json_is_null(q) || !q ? "-" : "set");
    }
}

static void print_disks(json_t *doc)
{
    size_t i;
    json_t *d;
    printf("%-4s %-8s %16s %16s %6s %6s %6s  %s\n", "DISK", "STATE", "USED", "CAPACITY",
           "READ", "WRITE", "CRC", "PATH");
    json_array_foreach(json_object_get(doc, "disks"), i, d)
        printf("%-4lld %-8s %16lld %16lld %6lld %6lld %6lld  %s\n", num(d, "index"),
               str(d, "state"), num(d, "used_bytes"), num(d, "capacity_bytes"),
               num(d, "read_errors"), num(d, "write_errors"), num(d, "crc_errors"),
               str(d, "path"));
}

static void print_maintenance(json_t *doc)
{
    static const char *const fields[] = {"healed_segments", "heal_failures",
                                         "deleted_segments", "orphan_files",
                                         "orphans_held", "orphans_older_than_index",
                                         "foreign_files", "files_scanned"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(doc, fields[i]);
        if (v)
            printf("%-24s %lld\n", fields[i], (long long)json_integer_value(v));
    }
    if (json_is_true(json_object_get(doc, "held")))
        fprintf(stderr, "coffer: GC HELD: %lld orphan files found, more than the bound of "
                "%lld: none was deleted.\ncoffer: That many files no index row names "
                "means the index may not match the disks\ncoffer: (cofferd(8), "
                "\"Recovering the index\"). If they are garbage: coffer gc "
                "--force-orphans\n", num(doc, "orphans_held"), num(doc, "orphan_bound"));
}

/* ---- commands ----------------------------------------------------------- */

static void print_bytes(const char *label, json_t *v)
{
    double b = (double)json_integer_value(v);
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    printf("%s%.1f %s", label, b, unit[u]);
}

static void print_tier_line(json_t *t)
{
    const char *prefix = json_string_value(json_object_get(t, "prefix"));
    printf("%-16s %-4s %s/%s%s ", str(t, "name"), str(t, "type"), str(t, "endpoint"),
           str(t, "bucket"), prefix ? prefix : "");
    printf("%lld objects, ", num(t, "objects"));
    print_bytes("", json_object_get(t, "bytes"));
    putchar('\n');
}

static void print_tiers(json_t *doc)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(doc, "tiers"), i, t)
        print_tier_line(t);
}

static void print_tier_status(json_t *t)
{
    const char *prefix = json_string_value(json_object_get(t, "prefix"));
    const char *sc = json_string_value(json_object_get(t, "storage_class"));
    printf("tier            %s (%s)\n", str(t, "name"), str(t, "type"));
    printf("remote          %s bucket %s%s%s%s%s\n", str(t, "endpoint"), str(t, "bucket"),
           prefix && *prefix ? " prefix " : "", prefix ? prefix : "",
           sc ? " storage class " : "", sc ? sc : "");
    printf("tiered          %lld objects, ", num(t, "objects"));
    print_bytes("", json_object_get(t, "bytes"));
    printf(" (%lld restored for now)\n", num(t, "restored"));
    printf("queue           %lld (%lld waiting, %lld uploading, %lld restoring, "
           "%lld remote deletes)\n", num(t, "queue"), num(t, "pending"), num(t, "uploading"),
           num(t, "restoring"), num(t, "remote_deletes"));
    print_bytes("transfer now    ", json_object_get(t, "bytes_per_s"));
    printf("/s\n");
    json_t *le = json_object_get(t, "last_error");
    if (le) {
        printf("last error      ");
        print_time(json_object_get(t, "last_error_time"));
        printf(" %s\n", json_string_value(le));
    } else {
        printf("last error      none\n");
    }
}

static void print_tier_statuses(json_t *doc)
{
    size_t i;
    json_t *t;
    json_t *list = json_object_get(doc, "tiers");
    if (!list) {
        print_tier_status(doc);
        return;
    }
    json_array_foreach(list, i, t) {
        if (i)
            putchar('\n');
        print_tier_status(t);
    }
    if (json_array_size(list) == 0)
        printf("no tiers (coffer tier add)\n");
}

typedef enum {
    OUT_NONE, OUT_TENANTS, OUT_KEYS, OUT_NEW_KEY, OUT_STATUS, OUT_MAINTENANCE, OUT_TIERS,
    OUT_TIER_STATUS, OUT_USAGE, OUT_DISKS
} out_kind;

/* Run the request and print its reply (as JSON with --json). */
static int run(const cli *c, const char *method, const char *path,
               const char *query, json_t *body, out_kind kind, const char *done)
{
    json_t *doc;
    int rc = request(c, method, path, query, body, &doc);
    json_decref(body);
    if (rc != 0)
        return rc;
    if (c->json) {
        json_dumpf(doc, stdout, JSON_INDENT(2));
        putchar('\n');
    } else if (kind == OUT_TENANTS)
        print_tenants(doc);
    else if (kind == OUT_KEYS)
        print_keys(doc);
    else if (kind == OUT_STATUS)
        print_status(doc);
    else if (kind == OUT_MAINTENANCE)
        print_maintenance(doc);
    else if (kind == OUT_TIERS)
        print_tiers(doc);
    else if (kind == OUT_TIER_STATUS)
        print_tier_statuses(doc);
    else if (kind == OUT_USAGE)
        print_usage(doc);
    else if (kind == OUT_DISKS)
        print_disks(doc);
    else if (kind == OUT_NEW_KEY)
        printf("%s %s\n", str(doc, "access_key"), str(doc, "secret_key"));
    else
        printf("%s\n", done);
    json_decref(doc);
    return 0;
}

static int cmd_tenant(const cli *c, int argc, char **argv)
{
    const char *verb = argc > 0 ? argv[0] : "";
    char path[128], done[128];
    bool needs_name = strcmp(verb, "create") == 0 || strcmp(verb, "delete") == 0;
    if (strcmp(verb, "list") == 0 && argc == 1)
        return run(c, "GET", "/tenants", NULL, NULL, OUT_TENANTS, NULL);
    if (!needs_name || argc != 2)
        return usage_error("usage: coffer tenant create|delete NAME | tenant list");
    if (!names_tenant_ok(argv[1]))
        return usage_error("invalid tenant name '%s' (1..64 characters [a-z0-9-])",
                           argv[1]);
    bool create = strcmp(verb, "create") == 0;
    snprintf(done, sizeof done, "%s tenant %s", create ? "created" : "deleted",
             argv[1]);
    if (create)
        return run(c, "POST", "/tenants", NULL, json_pack("{s:s}", "name", argv[1]),
                   OUT_NONE, done);
    snprintf(path, sizeof path, "/tenants/%s", argv[1]);
    return run(c, "DELETE", path, NULL, NULL, OUT_NONE, done);
}

static int cmd_key(const cli *c, int argc, char **argv)
{
    const char *verb = argc > 0 ? argv[0] : "";
    char path[128], query[128], done[128];
    const char *arg = argc == 2 ? argv[1] : NULL;
    if (arg && strcmp(verb, "revoke") != 0 && !names_tenant_ok(arg))
        return usage_error("invalid tenant name '%s' (1..64 characters [a-z0-9-])", arg);
    if (strcmp(verb, "create") == 0 && arg)
        return run(c, "POST", "/keys", NULL,
                   json_pack("{s:s, s:b}", "tenant", arg, "read_only", c->read_only),
                   OUT_NEW_KEY, NULL);
    if (strcmp(verb, "list") == 0 && argc <= 2) {
        snprintf(query, sizeof query, "tenant=%s", arg ? arg : "");
        return run(c, "GET", "/keys", arg ? query : NULL, NULL, OUT_KEYS, NULL);
    }
    if (strcmp(verb, "revoke") == 0 && arg) {
        if (!names_access_key_ok(arg))
            return usage_error("invalid access key '%s' (%d..%d characters [A-Za-z0-9])",
                               arg, NAMES_AK_MIN, NAMES_AK_MAX);
        snprintf(path, sizeof path, "/keys/%s", arg);
        snprintf(done, sizeof done, "revoked %s", arg);
        return run(c, "DELETE", path, NULL, NULL, OUT_NONE, done);
    }
    return usage_error("usage: coffer key create TENANT [--read-only] | "
                             "key list [TENANT] | key revoke ACCESS_KEY");
}

static int cmd_gc(const cli *c, const char *grace)
{
    char *end = NULL;
    long long g = grace ? strtoll(grace, &end, 10) : 3600;
    if (grace && (*end || g < 60))
        return usage_error("gc: GRACE_SECONDS must be a whole number, at least 60");
    fprintf(stderr, "coffer: collecting deleted and orphan shard files...\n");
    return run(c, "POST", "/gc", NULL,
               json_pack("{s:I, s:b}", "grace_s", (json_int_t)g, "force_orphans",
                         c->force_orphans), OUT_MAINTENANCE, NULL);
}

/* Options that belong to one command only. */
static int check_command_options(const cli *c, int argc, char **argv)
{
    bool restore = strcmp(argv[0], "restore-index") == 0;
    if (c->read_only && (argc < 2 || strcmp(argv[0], "key") != 0 ||
                         strcmp(argv[1], "create") != 0))
        return usage_error("--read-only goes with key create");
    if (c->force_orphans && strcmp(argv[0], "gc") != 0)
        return usage_error("--force-orphans goes with gc");
    if ((c->config || c->var || c->from) && !restore)
        return usage_error("-c, --var and --from go with restore-index");
    if (restore && (argc != 1 || !c->config == !c->var))
        return usage_error("usage: coffer restore-index (-c FILE | --var DIR) "
                           "[--from DISK|FILE]");
    return 0;
}

/* ---- tiers and lifecycle templates ---------------------------------------- */

/* The PEM file's text (at most 64 KiB), or NULL with a message. */
static char *read_pem(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "coffer: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(65537);
    size_t n = buf ? fread(buf, 1, 65537, f) : 0;
    fclose(f);
    if (!buf || n == 0 || n > 65536) {
        fprintf(stderr, "coffer: %s: empty, unreadable or over 64 KiB\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* tier add NAME --endpoint ... (argv[0] is "add") */
static int cmd_tier_add(const cli *c, int argc, char **argv)
{
    enum { T_ENDPOINT = 256, T_BUCKET, T_PREFIX, T_REGION, T_AK, T_SK, T_CLASS, T_CACERT,
           T_VHOST, T_JSON };
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, T_ENDPOINT},
        {"bucket", required_argument, NULL, T_BUCKET},
        {"prefix", required_argument, NULL, T_PREFIX},
        {"region", required_argument, NULL, T_REGION},
        {"access-key", required_argument, NULL, T_AK},
        {"secret-key", required_argument, NULL, T_SK},
        {"storage-class", required_argument, NULL, T_CLASS},
        {"cacert", required_argument, NULL, T_CACERT},
        {"virtual-host", no_argument, NULL, T_VHOST},
        {"json", no_argument, NULL, T_JSON},
        {NULL, 0, NULL, 0}};
    const char *v[T_JSON - T_ENDPOINT + 1] = {0};
    bool vhost = false, json = c->json;
    int o;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (o == T_VHOST)
            vhost = true;
        else if (o == T_JSON)
            json = true;
        else if (o >= T_ENDPOINT && o < T_VHOST)
            v[o - T_ENDPOINT] = optarg;
        else if (o == ':')
            return usage_error("option %s needs a value", argv[optind - 1]);
        else
            return usage_error("tier add: unknown option %s", argv[optind - 1]);
    }
    if (optind + 1 != argc)
        return usage_error("usage: coffer tier add NAME --endpoint URL --bucket BUCKET "
                           "--access-key AK --secret-key SK [...]");
    const char *name = argv[optind];
    if (!v[0] || !v[1] || !v[T_AK - T_ENDPOINT] || !v[T_SK - T_ENDPOINT])
        return usage_error("tier add needs --endpoint, --bucket, --access-key and "
                           "--secret-key");
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", name, "type", "s3",
                             "endpoint", v[0], "bucket", v[1], "access_key",
                             v[T_AK - T_ENDPOINT], "secret_key", v[T_SK - T_ENDPOINT]);
    if (!body)
        return 1;
    if (v[T_PREFIX - T_ENDPOINT])
        json_object_set_new(body, "prefix", json_string(v[T_PREFIX - T_ENDPOINT]));
    if (v[T_REGION - T_ENDPOINT])
        json_object_set_new(body, "region", json_string(v[T_REGION - T_ENDPOINT]));
    if (v[T_CLASS - T_ENDPOINT])
        json_object_set_new(body, "storage_class", json_string(v[T_CLASS - T_ENDPOINT]));
    if (vhost)
        json_object_set_new(body, "virtual_host", json_true());
    if (v[T_CACERT - T_ENDPOINT]) {
        char *pem = read_pem(v[T_CACERT - T_ENDPOINT]);
        if (!pem) {
            json_decref(body);
            return 1;
        }
        json_object_set_new(body, "cacert_pem", json_string(pem));
        free(pem);
    }
    fprintf(stderr, "coffer: probing %s bucket %s (write, read back, delete)...\n", v[0],
            v[1]);
    cli quiet = *c;
    quiet.json = json;
    char done[160];
    snprintf(done, sizeof done, "added tier %s", name);
    return run(&quiet, "POST", "/tiers", NULL, body, OUT_NONE, done);
}

static int cmd_tier(const cli *c, int argc, char **argv)
{
    const char *verb = argc > 0 ? argv[0] : "";
    char path[128], done[128];
    if (strcmp(verb, "add") == 0)
        return cmd_tier_add(c, argc, argv);
    if (strcmp(verb, "list") == 0 && argc == 1)
        return run(c, "GET", "/tiers", NULL, NULL, OUT_TIERS, NULL);
    if (strcmp(verb, "status") == 0 && argc <= 2) {
        if (argc == 1)
            return run(c, "GET", "/tiers", NULL, NULL, OUT_TIER_STATUS, NULL);
        if (!names_tier_ok(argv[1]))
            return usage_error("invalid tier name '%s' (A-Z, 0-9, _ and -)", argv[1]);
        snprintf(path, sizeof path, "/tiers/%s", argv[1]);
        return run(c, "GET", path, NULL, NULL, OUT_TIER_STATUS, NULL);
    }
    if (strcmp(verb, "remove") == 0 && argc == 2) {
        if (!names_tier_ok(argv[1]))
            return usage_error("invalid tier name '%s' (A-Z, 0-9, _ and -)", argv[1]);
        snprintf(path, sizeof path, "/tiers/%s", argv[1]);
        snprintf(done, sizeof done, "removed tier %s", argv[1]);
        return run(c, "DELETE", path, NULL, NULL, OUT_NONE, done);
    }
    return usage_error("usage: coffer tier add NAME ... | tier list | tier status [NAME] | "
                       "tier remove NAME");
}

/* What stays hot and what moves, per backup tool: a Transition rule for
 * the bulk prefixes, and an abort of stale multipart uploads. */
static int cmd_lifecycle(int argc, char **argv)
{
    enum { L_TIER = 256, L_DAYS, L_PREFIX };
    static const struct option opts[] = {
        {"tier", required_argument, NULL, L_TIER},
        {"days", required_argument, NULL, L_DAYS},
        {"prefix", required_argument, NULL, L_PREFIX},
        {NULL, 0, NULL, 0}};
    const char *tier = "COLD", *prefix = "";
    long days = 30;
    int o;
    char *end;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (o == L_TIER)
            tier = optarg;
        else if (o == L_PREFIX)
            prefix = optarg;
        else if (o == L_DAYS && ((days = strtol(optarg, &end, 10)) < 0 || *end || !*optarg))
            return usage_error("--days is a whole number of days");
        else if (o != L_DAYS)
            return usage_error("lifecycle template: bad option %s", argv[optind - 1]);
    }
    if (optind + 2 != argc || strcmp(argv[optind], "template") != 0)
        return usage_error("usage: coffer lifecycle template restic|kopia [--tier NAME] "
                           "[--days N] [--prefix P]");
    const char *tool = argv[optind + 1];
    if (!names_tier_ok(tier))
        return usage_error("invalid tier name '%s' (A-Z, 0-9, _ and -)", tier);
    if (strpbrk(prefix, "<>&\"'"))
        return usage_error("--prefix may not hold XML special characters");
    const char *bulk, *note;
    if (strcmp(tool, "restic") == 0) {
        bulk = "data/";
        note = "restic: data/ holds the packs (file contents and directory trees) and\n"
               "       moves; config, keys/, snapshots/, index/ and locks/ stay hot.\n"
               "       Tree packs live in data/ too: listing, check and restore read\n"
               "       them through the tier (a ranged GET per pack, a round trip more).";
    } else if (strcmp(tool, "kopia") == 0) {
        bulk = "p";
        note = "kopia: p blobs (content packs) move; q (metadata packs), n (indexes),\n"
               "       m, l, x, s blobs and kopia.* files stay hot.";
    } else {
        return usage_error("lifecycle template: restic or kopia");
    }
    printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<!--\n  %s\n  Apply with: s3cmd setlifecycle THIS.xml s3://BUCKET, or any\n"
           "  client's PutBucketLifecycleConfiguration. The tier must exist\n"
           "  (coffer tier add).\n-->\n"
           "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
           "  <Rule>\n    <ID>%s-bulk-to-%s</ID>\n"
           "    <Filter><Prefix>%s%s</Prefix></Filter>\n    <Status>Enabled</Status>\n"
           "    <Transition><Days>%ld</Days><StorageClass>%s</StorageClass></Transition>\n"
           "  </Rule>\n  <Rule>\n    <ID>%s-abort-stale-uploads</ID>\n"
           "    <Filter><Prefix>%s</Prefix></Filter>\n    <Status>Enabled</Status>\n"
           "    <AbortIncompleteMultipartUpload><DaysAfterInitiation>7"
           "</DaysAfterInitiation></AbortIncompleteMultipartUpload>\n  </Rule>\n"
           "</LifecycleConfiguration>\n",
           note, tool, tier, prefix, bulk, days, tier, tool, prefix);
    return 0;
}

static int cmd_usage(const cli *c, const char *tenant)
{
    char query[96];
    if (tenant && !names_tenant_ok(tenant))
        return usage_error("invalid tenant name '%s' (1..64 characters [a-z0-9-])",
                           tenant);
    if (tenant)
        snprintf(query, sizeof query, "tenant=%s", tenant);
    return run(c, "GET", "/usage", tenant ? query : NULL, NULL, OUT_USAGE, NULL);
}

static int dispatch(const cli *c, int argc, char **argv)
{
    if (strcmp(argv[0], "tenant") == 0)
        return cmd_tenant(c, argc - 1, argv + 1);
    if (strcmp(argv[0], "key") == 0)
        return cmd_key(c, argc - 1, argv + 1);
    if (strcmp(argv[0], "status") == 0 && argc == 1)
        return run(c, "GET", "/status", NULL, NULL, OUT_STATUS, NULL);
    if (strcmp(argv[0], "usage") == 0 && argc <= 2)
        return cmd_usage(c, argc > 1 ? argv[1] : NULL);
    if (strcmp(argv[0], "disks") == 0 && argc == 1)
        return run(c, "GET", "/disks", NULL, NULL, OUT_DISKS, NULL);
    if (strcmp(argv[0], "heal") == 0 && argc == 1) {
        fprintf(stderr, "coffer: healing every segment on the heal queue...\n");
        return run(c, "POST", "/heal", NULL, json_object(), OUT_MAINTENANCE, NULL);
    }
    if (strcmp(argv[0], "gc") == 0 && argc <= 2)
        return cmd_gc(c, argc > 1 ? argv[1] : NULL);
    if (strcmp(argv[0], "tier") == 0)
        return cmd_tier(c, argc - 1, argv + 1);
    return usage_error("unknown command '%s'", argv[0]);
}

/* ---- main --------------------------------------------------------------- */

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* Parse options into c; returns -1 to go on, else an exit status.
 * command_after: the command starts at argv[argc] (tier add). */
static int parse_options(cli *c, int argc, char **argv, bool command_after)
{
    enum { O_ENDPOINT = 256, O_REGION, O_CREDS, O_KEY, O_SECRET, O_CACERT,
           O_JSON, O_RO, O_HELP, O_VERSION, O_FORCE, O_VAR, O_FROM };
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, O_ENDPOINT},
        {"region", required_argument, NULL, O_REGION},
        {"admin-credentials", required_argument, NULL, O_CREDS},
        {"admin-key", required_argument, NULL, O_KEY},
        {"admin-secret", required_argument, NULL, O_SECRET},
        {"cacert", required_argument, NULL, O_CACERT},
        {"json", no_argument, NULL, O_JSON},
        {"read-only", no_argument, NULL, O_RO},
        {"force-orphans", no_argument, NULL, O_FORCE},
        {"config", required_argument, NULL, 'c'},
        {"var", required_argument, NULL, O_VAR},
        {"from", required_argument, NULL, O_FROM},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0}};
    int o, rc = 0;
    opterr = 0;
    while (rc == 0 && (o = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
        switch (o) {
        case O_ENDPOINT: c->endpoint = optarg; break;
        case O_REGION: c->region = optarg; break;
        case O_CREDS: c->cred_file = optarg; break;
        case O_KEY: rc = copy_field(c->access_key, sizeof c->access_key, optarg,
                                    "--admin-key"); break;
        case O_SECRET: rc = copy_field(c->secret, sizeof c->secret, optarg,
                                       "--admin-secret"); break;
        case O_CACERT: c->cacert = optarg; break;
        case O_JSON: c->json = true; break;
        case O_RO: c->read_only = true; break;
        case O_FORCE: c->force_orphans = true; break;
        case 'c': c->config = optarg; break;
        case O_VAR: c->var = optarg; break;
        case O_FROM: c->from = optarg; break;
        case O_HELP: fputs(usage_text, stdout); return 0;
        case O_VERSION: printf("coffer %s\n", PACKAGE_VERSION); return 0;
        case ':': return usage_error("option %s needs a value", argv[optind - 1]);
        default: return usage_error("unknown option %s", argv[optind - 1]);
        }
    }
    if (rc == 0 && optind >= argc && !command_after)
        return usage_error("no command given");
    return rc ? rc : -1;
}

/* The admin API's client: no low-speed limit (heal and gc answer when
 * done), two minutes per attempt as before. */
static int open_client(cli *c)
{
    cf_err err;
    s3c_config cfg = {.endpoint = c->endpoint, .region = c->region,
                      .access_key = c->access_key, .secret_key = c->secret,
                      .cacert = c->cacert, .timeout_ms = 120000, .low_speed_ms = -1,
                      .max_attempts = 3};
    if (s3c_global_init(&err) < 0) {
        fprintf(stderr, "coffer: %s\n", err.msg);
        return 1;
    }
    if (!(c->client = s3c_client_new(&cfg, &err))) {
        s3c_global_cleanup();
        return err.code == CF_EINVAL ? usage_error("%s", err.msg) : 1;
    }
    return 0;
}

/* Where `tier add` or `lifecycle` starts, if that is the command: their
 * own options (--endpoint, --region, --cacert of the tier) must not be
 * read as the global ones; 0 otherwise. */
static int own_options_at(int argc, char **argv)
{
    static const char *const with_value[] = {"--endpoint", "--region",
        "--admin-credentials", "--admin-key", "--admin-secret", "--cacert", "-c",
        "--config", "--var", "--from", NULL};
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            for (int j = 0; with_value[j]; j++)
                if (strcmp(argv[i], with_value[j]) == 0)
                    i++;
            continue;
        }
        if (strcmp(argv[i], "lifecycle") == 0 ||
            (strcmp(argv[i], "tier") == 0 && i + 1 < argc && strcmp(argv[i + 1], "add") == 0))
            return i;
        return 0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    cli c = {.endpoint = env_or("COFFER_ENDPOINT", DEFAULT_ENDPOINT),
             .region = env_or("COFFER_REGION", DEFAULT_REGION)};
    int split = own_options_at(argc, argv);
    if (split && strcmp(argv[split], "lifecycle") == 0)
        return cmd_lifecycle(argc - split, argv + split);
    int rc = parse_options(&c, split ? split : argc, argv, split > 0);
    if (rc >= 0)
        return rc;
    if (split)
        optind = split;
    rc = check_command_options(&c, argc - optind, argv + optind);
    if (rc != 0)
        return rc;
    if (strcmp(argv[optind], "restore-index") == 0)
        return restore_index_run(c.config, c.var, c.from, c.json);
    rc = load_credential(&c);
    if (rc == 0)
        rc = open_client(&c);
    if (rc == 0) {
        rc = dispatch(&c, argc - optind, argv + optind);
        s3c_client_free(c.client);
        s3c_global_cleanup();
    }
    OPENSSL_cleanse(c.secret, sizeof c.secret);
    return rc;
}
