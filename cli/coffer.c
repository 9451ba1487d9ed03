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
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cli/progress.h"
#include "cli/restore.h"
#include "client/s3c.h"
#include "common/adminapi.h"
#include "common/credfile.h"
#include "common/numparse.h"
#include "server/jsonobj.h"

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
    bool json, read_only, append_only, force_orphans;
    const char *permissions;     /* key create: "read,write-new,..." */
    const char *buckets[64], *delete_prefixes[64];  /* key create: repeatable */
    size_t nbuckets, nprefixes;
    const char *bytes, *objects;      /* quota */
    const char *config, *var, *from;  /* restore-index, rebuild-index (not from) */
    bool dry_run;                     /* rebuild-index */
    const char *tenant;               /* drill, heal, scrub */
    const char *bucket;               /* the last --bucket: drill, heal, scrub, quota */
    long long sample;                 /* drill: -1 unset */
    bool all, deep;
    s3c_client *client;
} cli;

static const char usage_text[] =
    "usage: coffer [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  tenant create NAME          create a tenant\n"
    "  tenant list                 list tenants\n"
    "  tenant delete NAME          delete a tenant (it must own no buckets)\n"
    "  key create TENANT [--read-only | --append-only | --permissions LIST]\n"
    "             [--bucket NAME]... [--allow-delete-prefix PREFIX]...\n"
    "                              make an access key; prints ACCESS_KEY SECRET_KEY.\n"
    "                              LIST: read,write-new,overwrite,delete,\n"
    "                              bypass-governance (default: all but the last);\n"
    "                              --append-only: read,write-new; --bucket: only\n"
    "                              these buckets; --allow-delete-prefix: may delete\n"
    "                              keys under PREFIX without the delete permission\n"
    "  key list [TENANT]           list access keys (of one tenant), with their\n"
    "                              permissions\n"
    "  key revoke ACCESS_KEY       revoke an access key\n"
    "  status                      layout, heal queue, counts\n"
    "  usage [TENANT]              buckets, objects and bytes each tenant stores,\n"
    "                              and its quota\n"
    "  quota set TENANT [--bucket B] [--bytes N] [--objects N]\n"
    "                              limit what the tenant (or its bucket B) stores;\n"
    "                              N: a count, bytes with K, M, G, T (x1024), or\n"
    "                              none; a limit not given is kept\n"
    "  quota show [TENANT]         every quota with what its scope stores\n"
    "  quota clear TENANT [--bucket B]\n"
    "                              remove the tenant's (or bucket B's) quota\n"
    "  disks                       each disk's state, space, errors, shards to heal\n"
    "  disks replace N             format the empty directory in disk N's place,\n"
    "                              then heal --all fills it (progress, report)\n"
    "  heal [--all [--tenant T [--bucket B]]]\n"
    "                              rebuild the shards on the heal queue now; --all:\n"
    "                              check every segment's shard files and manifests\n"
    "  scrub [--deep] [--tenant T [--bucket B]]\n"
    "                              read every shard and check its CRC32C (--deep: also\n"
    "                              every GCM tag, ETag and stored checksum); repair\n"
    "                              what can be; exit 1 if something is beyond repair\n"
    "  scrub status                the last scrub reports\n"
    "  jobs [NAME]                 the background jobs: state, last run, next run\n"
    "  drill [--tenant T] [--bucket B] [--sample N | --all]\n"
    "                              read objects back through cofferd's S3 front end\n"
    "                              and check them against their ETags and checksums\n"
    "                              (default: a sample of 100); exit 1 on a mismatch\n"
    "  gc [GRACE_SECONDS] [--force-orphans]\n"
    "                              finish deletions, remove orphan shard files\n"
    "                              older than GRACE_SECONDS (default 3600), with\n"
    "                              progress and a report;\n"
    "                              --force-orphans: even more than the bound\n"
    "  compact                     rewrite the live records of mostly dead pack\n"
    "                              files and remove the old ones, with progress\n"
    "                              and a report (what the compact job does hourly)\n"
    "  restore-index (-c FILE | --var DIR) [--from DISK|FILE]\n"
    "                              offline, cofferd stopped: put the newest index\n"
    "                              snapshot back into the metadata directory\n"
    "  rebuild-index (-c FILE | --var DIR) [--dry-run]\n"
    "                              offline, cofferd stopped, every index copy and\n"
    "                              snapshot lost: rebuild the index from the disks\n"
    "                              (catalog, journal, shard headers, manifests)\n"
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
    "  tier recover NAME           after losing the disks and the index: put every\n"
    "                              version the tier holds back into the index from\n"
    "                              the remote objects and the master key alone\n"
    "  lifecycle run [--tenant T [--bucket B]]\n"
    "                              apply the lifecycle rules (of a tenant or bucket)\n"
    "                              now: expirations, transitions; progress, report;\n"
    "                              exit 1 if an action failed\n"
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
 * credential; on success *doc is the parsed JSON reply. A failure is
 * printed unless its HTTP status is `quiet`; *status (if not NULL) gets
 * the status (0: no reply). */
static int request_status(const cli *c, const char *method, const char *path,
                          const char *query, json_t *body, json_t **doc, long quiet,
                          long *status)
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
    if (status)
        *status = res.status;
    if (res.status == 0) {
        fprintf(stderr, "coffer: %s\n", err.msg);
    } else {
        *doc = res.body ? json_loads(res.body, 0, NULL) : NULL;
        if (rc != 0 || !json_is_object(*doc)) {
            if (res.status != quiet)
                print_failure(c, &res, *doc);
            json_decref(*doc);
            *doc = NULL;
            rc = 1;
        }
    }
    s3c_result_free(&res);
    return rc;
}

static int request(const cli *c, const char *method, const char *path,
                   const char *query, json_t *body, json_t **doc)
{
    return request_status(c, method, path, query, body, doc, 0, NULL);
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

/* The strings of a JSON array joined by commas, or `none` if it is empty
 * or missing. */
static void print_names(json_t *a, const char *none)
{
    size_t i;
    json_t *v;
    if (json_array_size(a) == 0)
        fputs(none, stdout);
    json_array_foreach(a, i, v) {
        printf("%s%s", i ? "," : "", json_string_value(v) ? json_string_value(v) : "?");
    }
}

static void print_keys(json_t *doc)
{
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(doc, "keys"), i, k) {
        printf("%-22s %-24s ", str(k, "access_key"), str(k, "tenant"));
        print_time(json_object_get(k, "created"));
        json_t *perms = json_object_get(k, "permissions");
        if (!perms) {                /* a cofferd from before permissions */
            printf(" %s\n", json_is_true(json_object_get(k, "read_only"))
                                ? "read-only" : "read-write");
            continue;
        }
        fputs(" permissions=", stdout);
        print_names(perms, "none");
        fputs(" buckets=", stdout);
        print_names(json_object_get(k, "buckets"), "all");
        if (json_array_size(json_object_get(k, "allow_delete_prefixes"))) {
            fputs(" delete-prefixes=", stdout);
            print_names(json_object_get(k, "allow_delete_prefixes"), "");
        }
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

/* "3 h ago" / "in 2 d" for a unix time, relative to now. */
static void print_when(json_t *v)
{
    if (!json_is_integer(v)) {
        fputs("-", stdout);
        return;
    }
    long long d = (long long)json_integer_value(v) - (long long)time(NULL);
    long long a = d < 0 ? -d : d;
    const char *unit = "s";
    if (a >= 2 * 86400) {
        a /= 86400;
        unit = "d";
    } else if (a >= 2 * 3600) {
        a /= 3600;
        unit = "h";
    } else if (a >= 120) {
        a /= 60;
        unit = "min";
    }
    printf(d <= 0 ? "%lld %s ago" : "in %lld %s", a, unit);
}

/* "last scrub    3 d ago ok: ..." for the last run of a check job. */
static void print_last_check(json_t *doc, const char *field, const char *label)
{
    json_t *last = json_object_get(doc, field);
    printf("%-13s ", label);
    if (!json_is_object(last)) {
        printf("never\n");
        return;
    }
    print_when(json_object_get(last, "end"));
    printf(" %s: %s\n", json_is_true(json_object_get(last, "ok")) ? "ok" : "FAILED",
           str(last, "summary"));
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
    print_last_check(doc, "last_scrub", "last scrub");
    print_last_check(doc, "last_drill", "last drill");
}

static void print_job(json_t *j)
{
    json_t *last = json_object_get(j, "last_run"), *p = json_object_get(j, "progress");
    printf("%-10s %-8s ", str(j, "name"), str(j, "state"));
    if (json_is_object(p) && num(p, "total") > 0)
        printf("%lld/%lld %s ", num(p, "done"), num(p, "total"), str(p, "phase"));
    else if (json_is_object(p))         /* a total not known (lifecycle) */
        printf("%lld %s ", num(p, "done"), str(p, "phase"));
    if (json_is_object(p) && num(p, "bytes") > 0) {
        char b[32];
        progress_bytes((double)num(p, "bytes"), b, sizeof b);
        printf("(%s) ", b);
    }
    if (json_is_object(last)) {
        printf("last ");
        print_when(json_object_get(last, "end"));
        printf(" %s: %s", json_is_true(json_object_get(last, "ok")) ? "ok" : "FAILED",
               str(last, "summary"));
    } else {
        printf("never ran");
    }
    printf("; next ");
    print_when(json_object_get(j, "next_run"));
    putchar('\n');
}

static void print_jobs(json_t *doc)
{
    size_t i;
    json_t *j;
    json_t *list = json_object_get(doc, "jobs");
    if (!list) {
        print_job(doc);
        return;
    }
    json_array_foreach(list, i, j)
        print_job(j);
}

/* A limit as text: "-" for none. */
static const char *limit_text(json_t *v, char *buf, size_t n)
{
    if (!json_is_integer(v))
        return "-";
    snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    return buf;
}

static void print_usage(json_t *doc)
{
    size_t i;
    json_t *u;
    printf("%-24s %8s %10s %16s  %s\n", "TENANT", "BUCKETS", "OBJECTS", "BYTES", "QUOTA");
    json_array_foreach(json_object_get(doc, "usage"), i, u) {
        json_t *q = json_object_get(u, "quota");
        char b[24], o[24];
        printf("%-24s %8lld %10lld %16lld  ", str(u, "tenant"), num(u, "buckets"),
               num(u, "objects"), num(u, "bytes"));
        if (json_is_object(q))
            printf("%s bytes, %s objects\n",
                   limit_text(json_object_get(q, "bytes"), b, sizeof b),
                   limit_text(json_object_get(q, "objects"), o, sizeof o));
        else
            puts("-");
    }
}

static void print_quotas(json_t *doc)
{
    size_t i;
    json_t *q;
    char b[24], o[24];
    printf("%-24s %-24s %16s %16s %10s %10s\n", "TENANT", "BUCKET", "BYTES", "MAX_BYTES",
           "OBJECTS", "MAX_OBJS");
    json_array_foreach(json_object_get(doc, "quotas"), i, q) {
        json_t *bucket = json_object_get(q, "bucket");
        printf("%-24s %-24s %16lld %16s %10lld %10s\n", str(q, "tenant"),
               json_is_string(bucket) ? json_string_value(bucket) : "(tenant)",
               num(q, "bytes"), limit_text(json_object_get(q, "max_bytes"), b, sizeof b),
               num(q, "objects"), limit_text(json_object_get(q, "max_objects"), o, sizeof o));
    }
}

static void print_disks(json_t *doc)
{
    size_t i;
    json_t *d;
    printf("%-4s %-9s %16s %16s %6s %6s %6s %8s  %s\n", "DISK", "STATE", "USED", "CAPACITY",
           "READ", "WRITE", "CRC", "HEAL", "PATH");
    json_array_foreach(json_object_get(doc, "disks"), i, d)
        printf("%-4lld %-9s %16lld %16lld %6lld %6lld %6lld %8lld  %s\n", num(d, "index"),
               str(d, "state"), num(d, "used_bytes"), num(d, "capacity_bytes"),
               num(d, "read_errors"), num(d, "write_errors"), num(d, "crc_errors"),
               num(d, "heal_pending"), str(d, "path"));
    printf("heal queue: %lld segments%s\n", num(doc, "heal_pending"),
           json_is_false(json_object_get(doc, "heal_pending_exact"))
               ? " (HEAL counts only the oldest of them)" : "");
}

static void print_maintenance(json_t *doc)
{
    static const char *const fields[] = {"healed_segments", "heal_failures",
                                         "deleted_segments", "orphan_files",
                                         "orphans_held", "orphans_older_than_index",
                                         "foreign_files", "files_scanned",
                                         "bytes_scanned"};
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
    char b[32];
    progress_bytes((double)json_integer_value(v), b, sizeof b);
    printf("%s%s", label, b);
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
    OUT_NONE, OUT_TENANTS, OUT_KEYS, OUT_NEW_KEY, OUT_STATUS, OUT_MAINTENANCE, OUT_JOBS,
    OUT_TIERS, OUT_TIER_STATUS, OUT_USAGE, OUT_QUOTAS, OUT_QUOTAS_ONE
} out_kind;

/* --json: a reply as the server sent it, indented. */
static void print_json(json_t *doc)
{
    json_dumpf(doc, stdout, JSON_INDENT(2));
    putchar('\n');
}

/* GET path into *doc; with --json it is printed and *doc is NULL (the
 * caller has nothing more to say). */
static int get_doc(const cli *c, const char *path, json_t **doc)
{
    int rc = request(c, "GET", path, NULL, NULL, doc);
    if (rc == 0 && c->json) {
        print_json(*doc);
        json_decref(*doc);
        *doc = NULL;
    }
    return rc;
}

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
        print_json(doc);
    } else if (kind == OUT_TENANTS)
        print_tenants(doc);
    else if (kind == OUT_KEYS)
        print_keys(doc);
    else if (kind == OUT_STATUS)
        print_status(doc);
    else if (kind == OUT_MAINTENANCE)
        print_maintenance(doc);
    else if (kind == OUT_JOBS)
        print_jobs(doc);
    else if (kind == OUT_TIERS)
        print_tiers(doc);
    else if (kind == OUT_TIER_STATUS)
        print_tier_statuses(doc);
    else if (kind == OUT_USAGE)
        print_usage(doc);
    else if (kind == OUT_QUOTAS)
        print_quotas(doc);
    else if (kind == OUT_QUOTAS_ONE) {
        json_t *list = json_pack("{s:[O]}", "quotas", doc);
        print_quotas(list);
        json_decref(list);
    }
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

/* POST /keys with the permissions asked for: --read-only as read_only,
 * --append-only and --permissions as a list of names (the server checks
 * them), --bucket and --allow-delete-prefix as lists. */
static int key_create(const cli *c, const char *tenant)
{
    json_t *body = json_pack("{s:s}", "tenant", tenant);
    const char *list = c->append_only ? "read,write-new" : c->permissions;
    json_t *perms = list ? json_array() : NULL;
    for (const char *p = list; p && perms && *p;) {
        size_t n = strcspn(p, ",");
        if (n && json_array_append_new(perms, json_stringn(p, n)) != 0) {
            json_decref(perms);
            perms = NULL;
        }
        p += n + (p[n] == ',');
    }
    if (!body || (list && (!perms || json_object_set_new(body, "permissions", perms) < 0)) ||
        (!list && json_object_set_new(body, "read_only", json_boolean(c->read_only)) < 0) ||
        (c->nbuckets && json_object_set_new(body, "buckets",
                                            jsonobj_string_array(c->buckets, c->nbuckets)) < 0) ||
        (c->nprefixes && json_object_set_new(body, "allow_delete_prefixes",
                                             jsonobj_string_array(c->delete_prefixes,
                                                                  c->nprefixes)) < 0)) {
        json_decref(body);
        fprintf(stderr, "coffer: out of memory\n");
        return 1;
    }
    return run(c, "POST", "/keys", NULL, body, OUT_NEW_KEY, NULL);
}

static int cmd_key(const cli *c, int argc, char **argv)
{
    const char *verb = argc > 0 ? argv[0] : "";
    char path[128], query[128], done[128];
    const char *arg = argc == 2 ? argv[1] : NULL;
    if (arg && strcmp(verb, "revoke") != 0 && !names_tenant_ok(arg))
        return usage_error("invalid tenant name '%s' (1..64 characters [a-z0-9-])", arg);
    if (strcmp(verb, "create") == 0 && arg)
        return key_create(c, arg);
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
    return usage_error("usage: coffer key create TENANT [--read-only | --append-only | "
                       "--permissions LIST] [--bucket NAME]... [--allow-delete-prefix "
                       "PREFIX]... | key list [TENANT] | key revoke ACCESS_KEY");
}

/* ---- jobs that run in cofferd, followed here ------------------------------ */

/* Start job `name` with opts, follow it to its end; *report gets its last
 * report (NULL if none). Returns 0 if the run succeeded. With after_busy,
 * a run already in progress (409: a scheduled one) is waited for and this
 * one started after it; otherwise that is an error. */
static int follow_run(const cli *c, const char *name, long long id, json_t **report);

static int follow_job(const cli *c, const char *name, json_t *opts, bool after_busy,
                      json_t **report)
{
    char path[64];
    json_t *doc;
    long status;
    bool said = false;
    int rc;
    *report = NULL;
    snprintf(path, sizeof path, "/jobs/%s", name);
    while ((rc = request_status(c, "POST", path, NULL, opts, &doc, after_busy ? 409 : 0,
                                &status)) != 0 && after_busy && status == 409) {
        if (!said)
            fprintf(stderr, "coffer: %s: a run is in progress; this one starts after it\n",
                    name);
        said = true;
        struct timespec ts = {0, 500 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    json_decref(opts);
    if (rc != 0)
        return rc;
    long long id = num(doc, "run_id");
    json_decref(doc);
    return follow_run(c, name, id, report);
}

/* Follow run id of job `name` to its end, with a progress line. */
static int follow_run(const cli *c, const char *name, long long id, json_t **report)
{
    char path[64];
    json_t *doc;
    int rc;
    *report = NULL;
    snprintf(path, sizeof path, "/jobs/%s", name);
    progress pr;
    progress_init(&pr, name, stderr);
    /* polled at 20 ms first, doubling up to 500 ms: a short run (a GC or
     * scrub of a small store) returns at once, a long one costs two
     * requests a second */
    long wait_ms = 20;
    for (;;) {
        if (request(c, "GET", path, NULL, NULL, &doc) != 0) {
            progress_end(&pr);
            return 1;
        }
        json_t *last = json_object_get(doc, "last_run");
        if (json_is_object(last) && num(last, "run_id") >= id)
            break;
        json_t *p = json_object_get(doc, "progress");
        if (json_is_object(p))
            progress_show(&pr, (uint64_t)num(p, "done"), (uint64_t)num(p, "total"),
                          (uint64_t)num(p, "bytes"), str(p, "phase"));
        json_decref(doc);
        struct timespec ts = {0, wait_ms * 1000 * 1000};
        nanosleep(&ts, NULL);
        wait_ms = wait_ms * 2 > 500 ? 500 : wait_ms * 2;
    }
    progress_end(&pr);
    json_t *last = json_object_get(doc, "last_run");
    rc = json_is_true(json_object_get(last, "ok")) ? 0 : 1;
    if (rc)
        fprintf(stderr, "coffer: %s failed: %s\n", name, str(last, "summary"));
    else
        fprintf(stderr, "coffer: %s: %s\n", name, str(last, "summary"));
    *report = json_incref(json_object_get(doc, "last_report"));
    if (json_is_null(*report)) {
        json_decref(*report);
        *report = NULL;
    }
    json_decref(doc);
    return rc;
}

static void print_findings(json_t *findings, const char *ok_kind, const char *bad_kind)
{
    size_t i;
    json_t *f;
    json_array_foreach(findings, i, f)
        printf("%-10s %s/%s/%s: %s\n",
               json_is_true(json_object_get(f, "mismatch")) ? bad_kind : ok_kind,
               str(f, "tenant"), str(f, "bucket"), str(f, "key"), str(f, "what"));
}

static int cmd_drill(const cli *c)
{
    json_t *opts = json_object();
    if (c->tenant)
        json_object_set_new(opts, "tenant", json_string(c->tenant));
    if (c->bucket)
        json_object_set_new(opts, "bucket", json_string(c->bucket));
    if (c->all)
        json_object_set_new(opts, "all", json_true());
    else if (c->sample >= 0)
        json_object_set_new(opts, "sample", json_integer(c->sample));
    json_t *r;
    int rc = follow_job(c, "drill", opts, false, &r);
    if (r && c->json) {
        print_json(r);
    } else if (r) {
        printf("tenants     %zu, buckets %lld\n", json_array_size(json_object_get(r, "tenants")),
               num(r, "buckets"));
        printf("objects     %lld listed, %lld read back (%lld bytes)\n", num(r, "listed"),
               num(r, "objects"), num(r, "bytes"));
        printf("matching    %lld\nmismatches  %lld\nread errors %lld\n", num(r, "ok"),
               num(r, "mismatches"), num(r, "errors"));
        print_findings(json_object_get(r, "findings"), "READ-ERROR", "MISMATCH");
    }
    if (rc == 0 && (!r || num(r, "mismatches") > 0 || num(r, "errors") > 0))
        rc = 1;
    json_decref(r);
    return rc;
}

/* The counts of a heal --all or scrub report, then what it found. */
static void print_check(json_t *r)
{
    static const char *const fields[] = {
        "objects", "upload_parts", "segments", "bytes", "shard_bytes", "shards_missing",
        "shards_bad", "crc_errors", "gcm_failures", "parity_errors", "digest_mismatches",
        "manifests_missing", "segments_repaired", "shards_rewritten", "manifests_rewritten",
        "repair_failures", "lost_objects", "orphans"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        printf("%-20s %lld\n", fields[i], num(r, fields[i]));
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(r, "findings"), i, f) {
        json_t *disk = json_object_get(f, "disk");
        printf("%-10s %s/%s/%s", json_is_true(json_object_get(f, "lost")) ? "LOST"
                                 : json_is_true(json_object_get(f, "repaired")) ? "REPAIRED"
                                                                              : "FOUND",
               str(f, "tenant"), str(f, "bucket"), str(f, "key"));
        if (json_is_string(json_object_get(f, "upload_id")))
            printf(" (upload %s part %lld)", str(f, "upload_id"), num(f, "part"));
        if (json_integer_value(disk) >= 0)
            printf(" disk %lld", (long long)json_integer_value(disk));
        printf(": %s\n", str(f, "what"));
    }
}

static json_t *check_options(const cli *c)
{
    json_t *o = json_object();
    if (c->tenant)
        json_object_set_new(o, "tenant", json_string(c->tenant));
    if (c->bucket)
        json_object_set_new(o, "bucket", json_string(c->bucket));
    return o;
}

/* Print a finished heal or scrub; 1 if it found what it could not fix. */
static int check_result(const cli *c, int rc, json_t *r, bool check)
{
    if (r && c->json) {
        print_json(r);
    } else if (r && check) {
        print_check(r);
    } else if (r) {
        print_maintenance(r);
    }
    if (rc == 0 && r && check && (num(r, "lost_objects") > 0 || num(r, "repair_failures") > 0 ||
                                  num(r, "digest_mismatches") > 0))
        rc = 1;
    json_decref(r);
    return rc;
}

static int cmd_heal(const cli *c)
{
    json_t *opts = check_options(c), *r;
    if (c->all)
        json_object_set_new(opts, "all", json_true());
    int rc = follow_job(c, "heal", opts, false, &r);
    return check_result(c, rc, r, c->all);
}

static int cmd_scrub(const cli *c)
{
    json_t *opts = check_options(c), *r;
    if (c->deep)
        json_object_set_new(opts, "deep", json_true());
    int rc = follow_job(c, "scrub", opts, false, &r);
    return check_result(c, rc, r, true);
}

static int cmd_gc(const cli *c, const char *grace)
{
    char *end = NULL;
    long long g = grace ? strtoll(grace, &end, 10) : 3600;
    if (grace && (*end || g < 60))
        return usage_error("gc: GRACE_SECONDS must be a whole number, at least 60");
    json_t *r;
    int rc = follow_job(c, "gc", json_pack("{s:I, s:b}", "grace_s", (json_int_t)g,
                                           "force_orphans", c->force_orphans), true, &r);
    return check_result(c, rc, r, false);
}

/* A compaction pass now (after one in progress), followed, its report. */
static int cmd_compact(const cli *c)
{
    static const char *const fields[] = {
        "packs_scanned", "packs_compacted", "packs_removed", "packs_left_for_readers",
        "records_copied", "bytes_copied", "records_superseded", "records_changed",
        "records_bad", "bytes_reclaimed"};
    json_t *r;
    int rc = follow_job(c, "compact", json_object(), true, &r);
    if (r && c->json)
        print_json(r);
    else
        for (size_t i = 0; r && i < sizeof fields / sizeof fields[0]; i++)
            printf("%-24s %lld\n", fields[i], num(r, fields[i]));
    json_decref(r);
    return rc;
}

/* A lifecycle pass now (of one tenant's or bucket's rules), followed; 1 if
 * an action failed (the cofferd log names each). */
static int cmd_lifecycle_run(const cli *c)
{
    static const char *const fields[] = {"examined", "transitioned", "expired",
                                         "restored", "bytes_moved", "remote_deletes",
                                         "uploads_aborted", "locked_kept", "failures"};
    json_t *r;
    int rc = follow_job(c, "lifecycle", check_options(c), true, &r);
    if (r && c->json)
        print_json(r);
    else
        for (size_t i = 0; r && i < sizeof fields / sizeof fields[0]; i++)
            printf("%-16s %lld\n", fields[i], num(r, fields[i]));
    if (rc == 0 && (!r || num(r, "failures") > 0))
        rc = 1;
    if (r && num(r, "failures") > 0)
        fprintf(stderr, "coffer: lifecycle: %lld actions failed (the cofferd log names "
                "them; coffer tier status shows a tier's last error)\n",
                num(r, "failures"));
    json_decref(r);
    return rc;
}

/* The kept scrub reports: the last one whole, one line for each before. */
static int cmd_scrub_status(const cli *c)
{
    json_t *doc;
    int rc = get_doc(c, "/jobs/scrub", &doc);
    if (rc != 0 || !doc)
        return rc;
    print_job(doc);
    json_t *phase = json_object_get(json_object_get(doc, "job_state"), "slice");
    if (json_is_integer(phase))
        printf("this pass: %lld slices done\n", (long long)json_integer_value(phase));
    size_t i;
    json_t *h, *hist = json_object_get(doc, "history");
    json_array_foreach(hist, i, h) {
        if (i + 1 == json_array_size(hist))
            break;
        printf("%-11s ", str(h, "kind"));
        print_when(json_object_get(h, "ended"));
        printf(": %lld objects, %lld problems, %lld repaired, %lld beyond repair\n",
               num(h, "objects"), num(h, "shards_missing") + num(h, "shards_bad") +
               num(h, "digest_mismatches") + num(h, "manifests_missing"),
               num(h, "segments_repaired") + num(h, "manifests_rewritten"),
               num(h, "lost_objects"));
    }
    json_t *last = json_object_get(doc, "last_report");
    if (json_is_object(last)) {
        printf("last report (%s):\n", str(last, "kind"));
        print_check(last);
    } else {
        printf("no scrub has finished yet\n");
    }
    json_decref(doc);
    return 0;
}

/* Options that belong to one command only. */
static int check_command_options(const cli *c, int argc, char **argv)
{
    bool restore = strcmp(argv[0], "restore-index") == 0;
    bool rebuild = strcmp(argv[0], "rebuild-index") == 0;
    bool creating_key = argc >= 2 && strcmp(argv[0], "key") == 0 &&
                        strcmp(argv[1], "create") == 0;
    bool quota = strcmp(argv[0], "quota") == 0;
    bool drill = strcmp(argv[0], "drill") == 0, heal = strcmp(argv[0], "heal") == 0;
    bool scrub = strcmp(argv[0], "scrub") == 0;
    bool lifecycle = strcmp(argv[0], "lifecycle") == 0;
    bool key_opts = c->read_only || c->append_only || c->permissions || c->nprefixes;
    if (key_opts && !creating_key)
        return usage_error("--read-only, --append-only, --permissions and "
                           "--allow-delete-prefix go with key create");
    if (c->nbuckets && !creating_key && !quota && !drill && !heal && !scrub && !lifecycle)
        return usage_error("--bucket goes with key create, quota, drill, heal, scrub and "
                           "lifecycle run");
    if (c->nbuckets > 1 && !creating_key)
        return usage_error("%s: one --bucket", argv[0]);
    if (c->read_only + c->append_only + (c->permissions != NULL) > 1)
        return usage_error("give one of --read-only, --append-only and --permissions");
    if (c->force_orphans && strcmp(argv[0], "gc") != 0)
        return usage_error("--force-orphans goes with gc");
    if ((c->bytes || c->objects) && !quota)
        return usage_error("--bytes and --objects go with quota");
    if ((c->config || c->var) && !restore && !rebuild)
        return usage_error("-c and --var go with restore-index and rebuild-index");
    if (c->from && !restore)
        return usage_error("--from goes with restore-index");
    if (c->dry_run && !rebuild)
        return usage_error("--dry-run goes with rebuild-index");
    if (c->tenant && !drill && !heal && !scrub && !lifecycle)
        return usage_error("--tenant goes with drill, heal, scrub and lifecycle run");
    if (c->sample >= 0 && !drill)
        return usage_error("--sample goes with drill");
    if (c->all && !drill && !heal)
        return usage_error("--all goes with drill and heal");
    if (c->deep && !scrub)
        return usage_error("--deep goes with scrub");
    if (c->all && c->sample >= 0)
        return usage_error("drill: --sample N or --all, not both");
    if ((heal || scrub || lifecycle) && c->bucket && !c->tenant)
        return usage_error("%s: --bucket needs --tenant (bucket names are a tenant's)",
                           argv[0]);
    if (heal && (c->tenant || c->bucket) && !c->all)
        return usage_error("heal: --tenant and --bucket go with --all (the heal queue is "
                           "healed whole)");
    if (c->bucket && !creating_key && !names_bucket_ok(c->bucket))
        return usage_error("invalid bucket name '%s'", c->bucket);
    if (c->tenant && !names_tenant_ok(c->tenant))
        return usage_error("invalid tenant name '%s' (1..64 characters [a-z0-9-])",
                           c->tenant);
    if (drill && argc != 1)
        return usage_error("usage: coffer drill [--tenant T] [--bucket B] [--sample N | --all]");
    if (restore && (argc != 1 || !c->config == !c->var))
        return usage_error("usage: coffer restore-index (-c FILE | --var DIR) "
                           "[--from DISK|FILE]");
    if (rebuild && (argc != 1 || !c->config == !c->var))
        return usage_error("usage: coffer rebuild-index (-c FILE | --var DIR) [--dry-run]");
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

/* tier add NAME --endpoint ... | --type azure --account ... (argv[0] is "add") */
static int cmd_tier_add(const cli *c, int argc, char **argv)
{
    enum { T_ENDPOINT = 256, T_BUCKET, T_PREFIX, T_REGION, T_AK, T_SK, T_CLASS, T_CACERT,
           T_TYPE, T_ACCOUNT, T_CONTAINER, T_ACCOUNT_KEY, T_SAS, T_ACCESS_TIER, T_VHOST,
           T_JSON };
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, T_ENDPOINT},
        {"bucket", required_argument, NULL, T_BUCKET},
        {"prefix", required_argument, NULL, T_PREFIX},
        {"region", required_argument, NULL, T_REGION},
        {"access-key", required_argument, NULL, T_AK},
        {"secret-key", required_argument, NULL, T_SK},
        {"storage-class", required_argument, NULL, T_CLASS},
        {"cacert", required_argument, NULL, T_CACERT},
        {"type", required_argument, NULL, T_TYPE},
        {"account", required_argument, NULL, T_ACCOUNT},
        {"container", required_argument, NULL, T_CONTAINER},
        {"account-key", required_argument, NULL, T_ACCOUNT_KEY},
        {"sas-token", required_argument, NULL, T_SAS},
        {"access-tier", required_argument, NULL, T_ACCESS_TIER},
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
#define V(x) v[(x) - T_ENDPOINT]
    const char *type = V(T_TYPE) ? V(T_TYPE) : "s3";
    bool azure = strcmp(type, "azure") == 0;
    if (!azure && strcmp(type, "s3") != 0)
        return usage_error("tier add: --type is s3 (the default) or azure");
    if (optind + 1 != argc)
        return usage_error(azure ? "usage: coffer tier add NAME --type azure --account A "
                                   "--container C (--account-key K | --sas-token T) [...]"
                                 : "usage: coffer tier add NAME --endpoint URL --bucket "
                                   "BUCKET --access-key AK --secret-key SK [...]");
    const char *name = argv[optind];
    json_t *body;
    if (azure) {
        if (!V(T_ACCOUNT) || !V(T_CONTAINER) || !V(T_ACCOUNT_KEY) == !V(T_SAS))
            return usage_error("tier add --type azure needs --account, --container and one "
                               "of --account-key and --sas-token");
        if (V(T_BUCKET) || V(T_REGION) || V(T_AK) || V(T_SK) || V(T_CLASS) || vhost)
            return usage_error("tier add --type azure takes no --bucket, --region, "
                               "--access-key, --secret-key, --storage-class or "
                               "--virtual-host");
        body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", name, "type", "azure",
                         "account", V(T_ACCOUNT), "container", V(T_CONTAINER), "auth",
                         V(T_SAS) ? "sas" : "key", "secret_key",
                         V(T_SAS) ? V(T_SAS) : V(T_ACCOUNT_KEY));
        if (body && V(T_ENDPOINT))
            json_object_set_new(body, "endpoint", json_string(V(T_ENDPOINT)));
        if (body && V(T_ACCESS_TIER))
            json_object_set_new(body, "access_tier", json_string(V(T_ACCESS_TIER)));
    } else {
        if (!V(T_ENDPOINT) || !V(T_BUCKET) || !V(T_AK) || !V(T_SK))
            return usage_error("tier add needs --endpoint, --bucket, --access-key and "
                               "--secret-key");
        if (V(T_ACCOUNT) || V(T_CONTAINER) || V(T_ACCOUNT_KEY) || V(T_SAS) ||
            V(T_ACCESS_TIER))
            return usage_error("--account, --container, --account-key, --sas-token and "
                               "--access-tier are for --type azure");
        body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", name, "type", "s3",
                         "endpoint", V(T_ENDPOINT), "bucket", V(T_BUCKET), "access_key",
                         V(T_AK), "secret_key", V(T_SK));
        if (body && V(T_REGION))
            json_object_set_new(body, "region", json_string(V(T_REGION)));
        if (body && V(T_CLASS))
            json_object_set_new(body, "storage_class", json_string(V(T_CLASS)));
        if (body && vhost)
            json_object_set_new(body, "virtual_host", json_true());
    }
    if (!body)
        return 1;
    if (V(T_PREFIX))
        json_object_set_new(body, "prefix", json_string(V(T_PREFIX)));
    if (V(T_CACERT)) {
        char *pem = read_pem(V(T_CACERT));
        if (!pem) {
            json_decref(body);
            return 1;
        }
        json_object_set_new(body, "cacert_pem", json_string(pem));
        free(pem);
    }
    if (azure)
        fprintf(stderr, "coffer: probing account %s container %s (write, read back, "
                "delete)...\n", V(T_ACCOUNT), V(T_CONTAINER));
    else
        fprintf(stderr, "coffer: probing %s bucket %s (write, read back, delete)...\n",
                V(T_ENDPOINT), V(T_BUCKET));
#undef V
    cli quiet = *c;
    quiet.json = json;
    char done[160];
    snprintf(done, sizeof done, "added tier %s", name);
    return run(&quiet, "POST", "/tiers", NULL, body, OUT_NONE, done);
}

/* coffer tier recover NAME: page after page of POST /tiers/NAME {"recover"},
 * with a progress line, then the totals. */
static int cmd_tier_recover(const cli *c, const char *name)
{
    char path[128], after[1025] = "";
    unsigned long long t[6] = {0};
    static const char *const keys[6] = {"listed", "added", "present", "key_taken",
                                        "other", "unreadable"};
    char unreadable[400] = "";
    snprintf(path, sizeof path, "/tiers/%s", name);
    progress pr;
    progress_init(&pr, "tier recover", stderr);
    int rc = 0;
    do {
        json_t *doc, *body = json_pack("{s:b, s:s}", "recover", 1, "after", after);
        rc = body ? request(c, "POST", path, NULL, body, &doc) : 1;
        json_decref(body);
        if (rc != 0)
            break;
        for (int i = 0; i < 6; i++)
            t[i] += (unsigned long long)num(doc, keys[i]);
        if (!*unreadable && *str(doc, "unreadable_message"))
            snprintf(unreadable, sizeof unreadable, "%s", str(doc, "unreadable_message"));
        snprintf(after, sizeof after, "%s", str(doc, "next"));
        json_decref(doc);
        progress_show(&pr, t[0], 0, 0, "remote objects read");
    } while (*after);
    progress_end(&pr);
    if (rc == 0 && c->json) {
        json_t *doc = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", keys[0], (json_int_t)t[0],
                                keys[1], (json_int_t)t[1], keys[2], (json_int_t)t[2],
                                keys[3], (json_int_t)t[3], keys[4], (json_int_t)t[4],
                                keys[5], (json_int_t)t[5]);
        print_json(doc);
        json_decref(doc);
    } else if (rc == 0) {
        printf("tier %s: %llu remote objects: %llu versions recovered, %llu known "
               "already, %llu left (their key has another version), %llu not coffer's, "
               "%llu unreadable\n", name, t[0], t[1], t[2], t[3], t[4], t[5]);
        if (*unreadable)
            printf("first unreadable: %s\n", unreadable);
    } else
        fprintf(stderr, "coffer: tier recover stopped after %llu remote objects; run it "
                "again to go on (what is back stays)\n", t[0]);
    return rc;
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
    if (strcmp(verb, "recover") == 0 && argc == 2) {
        if (!names_tier_ok(argv[1]))
            return usage_error("invalid tier name '%s' (A-Z, 0-9, _ and -)", argv[1]);
        return cmd_tier_recover(c, argv[1]);
    }
    return usage_error("usage: coffer tier add NAME ... | tier list | tier status [NAME] | "
                       "tier remove NAME | tier recover NAME");
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

/* A quota limit from the command line into *out (a JSON number, or null
 * for "none"): digits with an optional K, M, G or T (powers of 1024, for
 * bytes only). */
static int parse_limit(const char *flag, const char *text, bool suffixes, json_t **out)
{
    static const char units[] = "KMGT";
    if (strcmp(text, "none") == 0) {
        *out = json_null();
        return 0;
    }
    size_t n = strspn(text, "0123456789");
    const char *u = n && suffixes && text[n] && !text[n + 1] ? strchr(units, text[n]) : NULL;
    uint64_t v;
    cf_err err;
    if (n == 0 || (text[n] && !u) ||
        numparse_u64(text, n, INT64_MAX, NUMPARSE_LEADING_ZEROS, &v, &err) < 0)
        return usage_error("%s: '%s' is not %s or none", flag, text,
                           suffixes ? "a count of bytes (K, M, G, T: x1024)" : "a count");
    for (const char *p = units; u && p <= u; p++) {
        if (v > (uint64_t)INT64_MAX / 1024)
            return usage_error("%s: '%s' is too large", flag, text);
        v *= 1024;
    }
    *out = json_integer((json_int_t)v);
    return 0;
}

static int cmd_quota(const cli *c, int argc, char **argv)
{
    const char *verb = argc > 0 ? argv[0] : "";
    const char *tenant = argc == 2 ? argv[1] : NULL;
    char path[128], query[128];
    if (tenant && !names_tenant_ok(tenant))
        return usage_error("invalid tenant name '%s' (1..64 characters [a-z0-9-])",
                           tenant);
    if (strcmp(verb, "set") != 0 && (c->bytes || c->objects))
        return usage_error("--bytes and --objects go with quota set");
    if (strcmp(verb, "show") == 0 && argc <= 2 && !c->bucket) {
        snprintf(query, sizeof query, "tenant=%s", tenant ? tenant : "");
        return run(c, "GET", "/quotas", tenant ? query : NULL, NULL, OUT_QUOTAS, NULL);
    }
    if (strcmp(verb, "clear") == 0 && tenant) {
        snprintf(path, sizeof path, "/quotas/%s", tenant);
        snprintf(query, sizeof query, "bucket=%s", c->bucket ? c->bucket : "");
        char done[160];
        snprintf(done, sizeof done, "cleared the quota of %s %s", c->bucket ? "bucket" :
                 "tenant", c->bucket ? c->bucket : tenant);
        return run(c, "DELETE", path, c->bucket ? query : NULL, NULL, OUT_NONE, done);
    }
    if (strcmp(verb, "set") != 0 || !tenant)
        return usage_error("usage: coffer quota set TENANT [--bucket B] [--bytes N] "
                           "[--objects N] | quota show [TENANT] | "
                           "quota clear TENANT [--bucket B]");
    if (!c->bytes && !c->objects)
        return usage_error("quota set: give --bytes, --objects or both");
    json_t *body = json_pack("{s:s}", "tenant", tenant), *v;
    int rc = 0;
    if (body && c->bucket)
        json_object_set_new(body, "bucket", json_string(c->bucket));
    if (body && c->bytes && (rc = parse_limit("--bytes", c->bytes, true, &v)) == 0)
        json_object_set_new(body, "max_bytes", v);
    if (body && rc == 0 && c->objects &&
        (rc = parse_limit("--objects", c->objects, false, &v)) == 0)
        json_object_set_new(body, "max_objects", v);
    if (!body || rc != 0) {
        json_decref(body);
        return body ? rc : 1;
    }
    return run(c, "POST", "/quotas", NULL, body, OUT_QUOTAS_ONE, NULL);
}

/* The disks; while one is a replacement being filled, how far heal is. */
static int cmd_disks(const cli *c)
{
    json_t *doc, *d;
    int rc = get_doc(c, "/disks", &doc);
    if (rc != 0 || !doc)
        return rc;
    print_disks(doc);
    size_t i;
    bool replacing = false;
    json_array_foreach(json_object_get(doc, "disks"), i, d)
        replacing |= json_is_true(json_object_get(d, "replacing"));
    json_decref(doc);
    if (!replacing || request(c, "GET", "/jobs/heal", NULL, NULL, &doc) != 0)
        return 0;
    json_t *p = json_object_get(doc, "progress");
    if (json_is_object(p) && num(p, "total") > 0)
        printf("replacing: heal --all %lld of %lld bytes checked (%lld%%)\n", num(p, "done"),
               num(p, "total"), num(p, "done") * 100 / num(p, "total"));
    else if (json_is_object(p))
        printf("replacing: heal --all running\n");
    else
        printf("replacing: heal --all is not running (coffer heal --all starts it)\n");
    json_decref(doc);
    return 0;
}

/* coffer disks replace N: format the empty directory in disk N's place,
 * then follow the heal --all that fills it. */
static int cmd_disks_replace(const cli *c, const char *n)
{
    if (!*n || strspn(n, "0123456789") != strlen(n) || strlen(n) > 3) {
        fprintf(stderr, "coffer: disks replace: N is a disk number (coffer disks)\n");
        return 2;
    }
    char path[32];
    snprintf(path, sizeof path, "/disks/%s", n);
    json_t *doc, *r, *body = json_object();
    int rc = request(c, "POST", path, NULL, body, &doc);
    json_decref(body);
    if (rc != 0)
        return rc;
    json_t *id = json_object_get(doc, "run_id");
    fprintf(stderr, "coffer: disk %s formatted as a replacement; heal --all fills it\n", n);
    if (!json_is_integer(id)) {
        fprintf(stderr, "coffer: a heal was running already: run coffer heal --all when it "
                "has ended (coffer disks shows the disk replacing until then)\n");
        json_decref(doc);
        return 0;
    }
    long long run = json_integer_value(id);
    json_decref(doc);
    rc = follow_run(c, "heal", run, &r);
    return check_result(c, rc, r, true);
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
    if (strcmp(argv[0], "quota") == 0)
        return cmd_quota(c, argc - 1, argv + 1);
    if (strcmp(argv[0], "disks") == 0 && argc == 1)
        return cmd_disks(c);
    if (strcmp(argv[0], "disks") == 0 && argc == 3 && strcmp(argv[1], "replace") == 0)
        return cmd_disks_replace(c, argv[2]);
    if (strcmp(argv[0], "heal") == 0 && argc == 1)
        return cmd_heal(c);
    if (strcmp(argv[0], "scrub") == 0 && argc == 2 && strcmp(argv[1], "status") == 0)
        return cmd_scrub_status(c);
    if (strcmp(argv[0], "scrub") == 0 && argc == 1)
        return cmd_scrub(c);
    if (strcmp(argv[0], "gc") == 0 && argc <= 2)
        return cmd_gc(c, argc > 1 ? argv[1] : NULL);
    if (strcmp(argv[0], "compact") == 0 && argc == 1)
        return cmd_compact(c);
    if (strcmp(argv[0], "jobs") == 0 && argc <= 2) {
        char path[64];
        if (argc == 2 && (strlen(argv[1]) > 23 ||
                          strspn(argv[1], "abcdefghijklmnopqrstuvwxyz_") != strlen(argv[1])))
            return usage_error("invalid job name '%s'", argv[1]);
        snprintf(path, sizeof path, "/jobs%s%s", argc == 2 ? "/" : "", argc == 2 ? argv[1] : "");
        return run(c, "GET", path, NULL, NULL, OUT_JOBS, NULL);
    }
    if (strcmp(argv[0], "drill") == 0)
        return cmd_drill(c);
    if (strcmp(argv[0], "lifecycle") == 0 && argc == 2 && strcmp(argv[1], "run") == 0)
        return cmd_lifecycle_run(c);
    if (strcmp(argv[0], "lifecycle") == 0)
        return usage_error("usage: coffer lifecycle run [--tenant T [--bucket B]] | "
                           "lifecycle template restic|kopia ...");
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
           O_JSON, O_RO, O_HELP, O_VERSION, O_FORCE, O_VAR, O_FROM, O_APPEND,
           O_PERMS, O_BUCKET, O_DELPFX, O_BYTES, O_OBJECTS, O_TENANT, O_SAMPLE, O_ALL,
           O_DEEP, O_DRY_RUN };
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, O_ENDPOINT},
        {"region", required_argument, NULL, O_REGION},
        {"admin-credentials", required_argument, NULL, O_CREDS},
        {"admin-key", required_argument, NULL, O_KEY},
        {"admin-secret", required_argument, NULL, O_SECRET},
        {"cacert", required_argument, NULL, O_CACERT},
        {"json", no_argument, NULL, O_JSON},
        {"read-only", no_argument, NULL, O_RO},
        {"append-only", no_argument, NULL, O_APPEND},
        {"permissions", required_argument, NULL, O_PERMS},
        {"bucket", required_argument, NULL, O_BUCKET},
        {"allow-delete-prefix", required_argument, NULL, O_DELPFX},
        {"force-orphans", no_argument, NULL, O_FORCE},
        {"config", required_argument, NULL, 'c'},
        {"var", required_argument, NULL, O_VAR},
        {"from", required_argument, NULL, O_FROM},
        {"bytes", required_argument, NULL, O_BYTES},
        {"objects", required_argument, NULL, O_OBJECTS},
        {"tenant", required_argument, NULL, O_TENANT},
        {"sample", required_argument, NULL, O_SAMPLE},
        {"all", no_argument, NULL, O_ALL},
        {"deep", no_argument, NULL, O_DEEP},
        {"dry-run", no_argument, NULL, O_DRY_RUN},
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
        case O_APPEND: c->append_only = true; break;
        case O_PERMS: c->permissions = optarg; break;
        case O_BUCKET:
            if (c->nbuckets == sizeof c->buckets / sizeof c->buckets[0])
                return usage_error("at most 64 --bucket options");
            c->buckets[c->nbuckets++] = c->bucket = optarg;
            break;
        case O_DELPFX:
            if (c->nprefixes == sizeof c->delete_prefixes / sizeof c->delete_prefixes[0])
                return usage_error("at most 64 --allow-delete-prefix options");
            c->delete_prefixes[c->nprefixes++] = optarg;
            break;
        case O_FORCE: c->force_orphans = true; break;
        case 'c': c->config = optarg; break;
        case O_VAR: c->var = optarg; break;
        case O_FROM: c->from = optarg; break;
        case O_BYTES: c->bytes = optarg; break;
        case O_OBJECTS: c->objects = optarg; break;
        case O_TENANT: c->tenant = optarg; break;
        case O_SAMPLE: {
            char *end;
            errno = 0;
            c->sample = strtoll(optarg, &end, 10);
            if (*end || errno || c->sample < 1 || c->sample > 1000000)
                return usage_error("--sample: a number of objects, 1..1000000");
            break;
        }
        case O_ALL: c->all = true; break;
        case O_DEEP: c->deep = true; break;
        case O_DRY_RUN: c->dry_run = true; break;
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

/* Where `tier add` or `lifecycle template` starts, if that is the command: their
 * own options (--endpoint, --region, --cacert of the tier) must not be
 * read as the global ones; 0 otherwise. */
static int own_options_at(int argc, char **argv)
{
    static const char *const with_value[] = {"--endpoint", "--region",
        "--admin-credentials", "--admin-key", "--admin-secret", "--cacert", "-c",
        "--config", "--var", "--from", "--tenant", "--bucket", "--sample", NULL};
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            for (int j = 0; with_value[j]; j++)
                if (strcmp(argv[i], with_value[j]) == 0)
                    i++;
            continue;
        }
        bool then_add = i + 1 < argc && strcmp(argv[i + 1], "add") == 0;
        bool then_template = i + 1 < argc && strcmp(argv[i + 1], "template") == 0;
        if ((strcmp(argv[i], "lifecycle") == 0 && then_template) ||
            (strcmp(argv[i], "tier") == 0 && then_add))
            return i;
        return 0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    cli c = {.endpoint = env_or("COFFER_ENDPOINT", DEFAULT_ENDPOINT),
             .region = env_or("COFFER_REGION", DEFAULT_REGION), .sample = -1};
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
    if (strcmp(argv[optind], "rebuild-index") == 0)
        return rebuild_index_run(c.config, c.var, c.dry_run, c.json);
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
