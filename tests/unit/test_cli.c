/*
 * tests/unit/test_cli.c - the coffer CLI end to end against a scripted
 * admin endpoint: the test listens on a loopback port, runs the built
 * cli/coffer against it, verifies each request's SigV4 signature with
 * auth/'s verifier (and the payload hash), answers with a canned reply and
 * checks what the CLI printed and its exit status. Usage errors and an
 * unreachable server are checked without any request.
 */
#include "auth/sigv4.h"
#include "tests/unit/test.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define CLI "cli/coffer"
#define AK "ADMINKEY0000000000AB"
#define SK "admin-secret-admin-secret-0123456789"

static int listen_fd = -1;
static char endpoint[64];

/* What the scripted server saw. */
typedef struct seen {
    char method[16];
    char target[512];          /* path and query as sent */
    char body[1024];
    bool signature_ok;
} seen;

/* What the CLI did. */
typedef struct outcome {
    int status;
    char out[4096], err[4096];
} outcome;

static void start_listener(void)
{
    if (listen_fd >= 0)
        return;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(listen_fd, 4) != 0 ||
        getsockname(listen_fd, (struct sockaddr *)&a, &len) != 0) {
        perror("listener");
        exit(2);
    }
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", ntohs(a.sin_port));
}

static void read_file(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Run coffer with argv (NULL-terminated) and the admin env set unless
 * with_env is false; output is captured through files. */
static pid_t spawn(const char *const *argv, bool with_env, const char *dir)
{
    char out[700], err[700];
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(err, sizeof err, "%s/err", dir);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    dup2(e, 2);
    setenv("COFFER_ENDPOINT", endpoint, 1);
    unsetenv("COFFER_REGION");
    if (with_env) {
        setenv("COFFER_ADMIN_KEY", AK, 1);
        setenv("COFFER_ADMIN_SECRET", SK, 1);
    } else {
        unsetenv("COFFER_ADMIN_KEY");
        unsetenv("COFFER_ADMIN_SECRET");
    }
    execv(CLI, (char *const *)argv);
    _exit(127);
}

static void finish(pid_t pid, const char *dir, outcome *o)
{
    char path[700];
    int st = 0;
    waitpid(pid, &st, 0);
    o->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    snprintf(path, sizeof path, "%s/out", dir);
    read_file(path, o->out, sizeof o->out);
    snprintf(path, sizeof path, "%s/err", dir);
    read_file(path, o->err, sizeof o->err);
}

/* Read one request: headers, then Content-Length bytes of body. */
static size_t read_request(int fd, char *buf, size_t cap, char **body)
{
    size_t len = 0;
    char *end = NULL;
    while (!end && len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            return 0;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end)
        return 0;
    *body = end + 4;
    const char *cl = strcasestr(buf, "\r\ncontent-length:");
    size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
    while ((size_t)(buf + len - *body) < want && len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
    }
    return len;
}

/* Split the header block into lowercase-name pairs for auth_request. */
static size_t parse_headers(char *block, auth_pair *h, size_t max)
{
    size_t n = 0;
    char *save, *line = strtok_r(block, "\r\n", &save);
    while ((line = strtok_r(NULL, "\r\n", &save)) && n < max) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        for (char *p = line; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        char *v = colon + 1;
        while (*v == ' ')
            v++;
        h[n].name = line;
        h[n++].value = v;
    }
    return n;
}

static bool payload_matches(const char *body, const char *claimed)
{
    unsigned char md[32];
    char hex[65];
    EVP_Digest(body, strlen(body), md, NULL, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    return claimed && strcmp(hex, claimed) == 0;
}

/* Verify the request the way cofferd does, with auth/'s verifier. */
static bool verify(const char *method, char *target, auth_pair *h, size_t nh,
                   const char *body)
{
    char *q = strchr(target, '?');
    if (q)
        *q++ = '\0';
    auth_request req = {.method = method, .path = target, .query = q,
                        .headers = h, .nheaders = nh};
    sigv4_auth a;
    auth_err err;
    bool ok = sigv4_parse(&req, "us-east-1", "s3", &a, &err) == 0 &&
              strcmp(a.access_key, AK) == 0 &&
              sigv4_check(&req, &a, SK, time(NULL), &err) == 0 &&
              payload_matches(body, a.payload_hash);
    if (!ok)
        fprintf(stderr, "  signature refused: %s\n", err.msg);
    sigv4_auth_clear(&a);
    if (q)
        q[-1] = '?';
    return ok;
}

/* Accept one connection, record the request, send status + reply. */
static void serve_one(seen *s, int status, const char *ctype, const char *reply)
{
    struct pollfd p = {.fd = listen_fd, .events = POLLIN};
    memset(s, 0, sizeof *s);
    if (poll(&p, 1, 10000) != 1) {
        fprintf(stderr, "  the CLI made no request\n");
        test_current_failed = 1;
        return;
    }
    int fd = accept(listen_fd, NULL, NULL);
    char buf[8192], *body = NULL;
    if (fd >= 0 && read_request(fd, buf, sizeof buf, &body) > 0) {
        snprintf(s->body, sizeof s->body, "%s", body);
        body[-4] = '\0';
        sscanf(buf, "%15s %511s", s->method, s->target);
        auth_pair h[32];
        size_t nh = parse_headers(buf, h, 32);
        s->signature_ok = verify(s->method, s->target, h, nh, s->body);
    }
    char head[256];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, ctype, strlen(reply));
    if (fd >= 0) {
        if (write(fd, head, (size_t)n) < 0 || write(fd, reply, strlen(reply)) < 0)
            perror("reply");
        close(fd);
    }
}

/* Run coffer with one scripted exchange. */
static void exchange(const char *const *argv, int status, const char *reply,
                     seen *s, outcome *o)
{
    start_listener();
    const char *dir = test_tmpdir();
    pid_t pid = spawn(argv, true, dir);
    serve_one(s, status, reply[0] == '<' ? "application/xml" : "application/json",
              reply);
    finish(pid, dir, o);
    CHECK(s->signature_ok);
}

/* Run coffer on a job it starts and follows: its POST /jobs/NAME (in *s)
 * answered with `first` (202 with run 1 unless it says otherwise: a 409
 * comes first), then GET /jobs/NAME answered with run 1 ended (`ok`) and
 * `report` as its last report. */
static void exchange_job(const char *const *argv, const char *name, bool busy_first,
                         bool ok, const char *report, seen *s, outcome *o)
{
    char reply[2048];
    seen get;
    start_listener();
    const char *dir = test_tmpdir();
    pid_t pid = spawn(argv, true, dir);
    if (busy_first) {
        serve_one(s, 409, "application/json", "{\"error\":\"JobRunning\","
                  "\"message\":\"job is running\"}");
        CHECK(s->signature_ok);
    }
    snprintf(reply, sizeof reply, "{\"name\":\"%s\",\"run_id\":1}", name);
    serve_one(s, 202, "application/json", reply);
    CHECK(s->signature_ok);
    CHECK_EQ_STR(s->method, "POST");
    snprintf(reply, sizeof reply, "{\"name\":\"%s\",\"state\":\"idle\",\"progress\":null,"
             "\"last_run\":{\"run_id\":1,\"ok\":%s,\"summary\":\"the summary\"},"
             "\"last_report\":%s}", name, ok ? "true" : "false", report);
    serve_one(&get, 200, "application/json", reply);
    finish(pid, dir, o);
    CHECK(get.signature_ok);
    CHECK_EQ_STR(get.method, "GET");
    CHECK(strstr(get.target, name) != NULL);
}

static void tenant_commands(void)
{
    seen s;
    outcome o;
    const char *create[] = {CLI, "tenant", "create", "acme", NULL};
    exchange(create, 201, "{\"name\":\"acme\"}", &s, &o);
    CHECK_EQ_STR(s.method, "POST");
    CHECK_EQ_STR(s.target, "/admin/v1/tenants");
    CHECK_EQ_STR(s.body, "{\"name\":\"acme\"}");
    CHECK_EQ_INT(o.status, 0);
    CHECK_EQ_STR(o.out, "created tenant acme\n");

    const char *list[] = {CLI, "tenant", "list", NULL};
    exchange(list, 200, "{\"tenants\":[{\"name\":\"acme\",\"created\":0},"
             "{\"name\":\"beta\",\"created\":86400}]}", &s, &o);
    CHECK_EQ_STR(s.method, "GET");
    CHECK_EQ_STR(s.target, "/admin/v1/tenants");
    CHECK_EQ_INT(o.status, 0);
    CHECK(strstr(o.out, "acme") && strstr(o.out, "1970-01-01T00:00:00Z") &&
          strstr(o.out, "beta") && strstr(o.out, "1970-01-02T00:00:00Z"));

    const char *del[] = {CLI, "tenant", "delete", "acme", NULL};
    exchange(del, 409, "{\"error\":\"TenantNotEmpty\",\"message\":\"tenant acme "
             "owns buckets\"}", &s, &o);
    CHECK_EQ_STR(s.method, "DELETE");
    CHECK_EQ_STR(s.target, "/admin/v1/tenants/acme");
    CHECK_EQ_INT(o.status, 1);
    CHECK_EQ_STR(o.err, "coffer: TenantNotEmpty: tenant acme owns buckets (HTTP 409)\n");
}

static void key_commands(void)
{
    seen s;
    outcome o;
    const char *create[] = {CLI, "key", "create", "acme", "--read-only", NULL};
    exchange(create, 201, "{\"access_key\":\"AKNEWAKNEWAKNEWAKNEW\",\"secret_key\":\"SKNEW\","
             "\"tenant\":\"acme\",\"read_only\":true}", &s, &o);
    CHECK_EQ_STR(s.target, "/admin/v1/keys");
    CHECK_EQ_STR(s.body, "{\"tenant\":\"acme\",\"read_only\":true}");
    CHECK_EQ_INT(o.status, 0);
    CHECK_EQ_STR(o.out, "AKNEWAKNEWAKNEWAKNEW SKNEW\n");

    const char *append[] = {CLI, "key", "create", "acme", "--append-only",
                            "--allow-delete-prefix", "locks/", "--bucket", "backups",
                            "--allow-delete-prefix", "repo/locks/", NULL};
    exchange(append, 201, "{\"access_key\":\"AKNEWAKNEWAKNEWAKNEW\",\"secret_key\":\"SKNEW\"}",
             &s, &o);
    CHECK_EQ_STR(s.body, "{\"tenant\":\"acme\",\"permissions\":[\"read\",\"write-new\"],"
                 "\"buckets\":[\"backups\"],\"allow_delete_prefixes\":[\"locks/\","
                 "\"repo/locks/\"]}");
    const char *perms[] = {CLI, "key", "create", "acme", "--permissions",
                           "read,delete,bypass-governance", NULL};
    exchange(perms, 201, "{\"access_key\":\"AKNEWAKNEWAKNEWAKNEW\",\"secret_key\":\"SKNEW\"}",
             &s, &o);
    CHECK_EQ_STR(s.body, "{\"tenant\":\"acme\",\"permissions\":[\"read\",\"delete\","
                 "\"bypass-governance\"]}");

    const char *list[] = {CLI, "key", "list", "acme", NULL};
    exchange(list, 200, "{\"keys\":[{\"access_key\":\"AKNEWAKNEWAKNEWAKNEW\",\"tenant\":\"acme\","
             "\"read_only\":true,\"created\":0}]}", &s, &o);
    CHECK_EQ_STR(s.target, "/admin/v1/keys?tenant=acme");
    CHECK(strstr(o.out, "AKNEWAKNEWAKNEWAKNEW") && strstr(o.out, "read-only"));
    exchange(list, 200, "{\"keys\":[{\"access_key\":\"AKNEWAKNEWAKNEWAKNEW\",\"tenant\":\"acme\","
             "\"permissions\":[\"read\",\"write-new\"],\"buckets\":null,"
             "\"allow_delete_prefixes\":[\"locks/\"],\"read_only\":false,\"created\":0}]}",
             &s, &o);
    CHECK(strstr(o.out, "permissions=read,write-new buckets=all delete-prefixes=locks/") !=
          NULL);

    const char *revoke[] = {CLI, "key", "revoke", "AKNEWAKNEWAKNEWAKNEW", "--json", NULL};
    exchange(revoke, 200, "{\"access_key\":\"AKNEWAKNEWAKNEWAKNEW\",\"deleted\":true}", &s, &o);
    CHECK_EQ_STR(s.method, "DELETE");
    CHECK_EQ_STR(s.target, "/admin/v1/keys/AKNEWAKNEWAKNEWAKNEW");
    CHECK_EQ_INT(o.status, 0);
    CHECK(strstr(o.out, "\"deleted\": true") != NULL);
}

static void status_and_refusals(void)
{
    seen s;
    outcome o;
    const char *status[] = {CLI, "status", NULL};
    exchange(status, 200, "{\"version\":\"0.1.0\",\"layout\":{\"k\":4,\"m\":2,"
             "\"block_size\":1048576},\"heal_pending\":3,\"tenants\":2,\"keys\":5}",
             &s, &o);
    CHECK_EQ_STR(s.target, "/admin/v1/status");
    CHECK(strstr(o.out, "4+2") && strstr(o.out, "heal queue    3"));

    exchange(status, 403, "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch"
             "</Code><Message>bad signature</Message></Error>", &s, &o);
    CHECK_EQ_INT(o.status, 1);
    CHECK_EQ_STR(o.err, "coffer: SignatureDoesNotMatch: bad signature (HTTP 403)\n");

    exchange(status, 200, "not json", &s, &o);
    CHECK_EQ_INT(o.status, 1);
    CHECK(strstr(o.err, "unexpected HTTP 200") != NULL);
}

static void credentials_file(void)
{
    start_listener();
    const char *dir = test_tmpdir();
    char creds[700];
    snprintf(creds, sizeof creds, "%s/admin-credentials", dir);
    FILE *f = fopen(creds, "w");
    REQUIRE(f != NULL);
    fprintf(f, "access_key=%s\nsecret_key=%s\n", AK, SK);
    fclose(f);
    chmod(creds, 0600);
    const char *argv[] = {CLI, "--admin-credentials", creds, "tenant", "list", NULL};
    seen s;
    outcome o;
    pid_t pid = spawn(argv, false, dir);
    serve_one(&s, 200, "application/json", "{\"tenants\":[]}");
    finish(pid, dir, &o);
    CHECK(s.signature_ok);
    CHECK_EQ_INT(o.status, 0);
    chmod(creds, 0644);
    pid = spawn(argv, false, dir);
    finish(pid, dir, &o);
    CHECK_EQ_INT(o.status, 1);
    CHECK(strstr(o.err, "chmod 600") != NULL);
}

/* Run coffer expecting no request at all. */
static void expect_no_request(const char *const *argv, bool with_env, int want,
                              const char *msg)
{
    start_listener();
    const char *dir = test_tmpdir();
    outcome o;
    finish(spawn(argv, with_env, dir), dir, &o);
    CHECK_EQ_INT(o.status, want);
    if (!strstr(o.err, msg)) {
        fprintf(stderr, "  stderr \"%s\" lacks \"%s\"\n", o.err, msg);
        test_current_failed = 1;
    }
    struct pollfd p = {.fd = listen_fd, .events = POLLIN};
    CHECK_EQ_INT(poll(&p, 1, 0), 0);
}

static void usage_errors_exit_2(void)
{
    const char *none[] = {CLI, NULL};
    expect_no_request(none, true, 2, "no command given");
    const char *bad_name[] = {CLI, "tenant", "create", "Not_Valid", NULL};
    expect_no_request(bad_name, true, 2, "invalid tenant name");
    const char *unknown[] = {CLI, "frobnicate", NULL};
    expect_no_request(unknown, true, 2, "unknown command");
    const char *ro[] = {CLI, "tenant", "list", "--read-only", NULL};
    expect_no_request(ro, true, 2, "go with key create");
    const char *two[] = {CLI, "key", "create", "acme", "--read-only", "--append-only", NULL};
    expect_no_request(two, true, 2, "give one of --read-only, --append-only");
    const char *opt[] = {CLI, "--bogus", "status", NULL};
    expect_no_request(opt, true, 2, "unknown option");
    const char *nocred[] = {CLI, "status", NULL};
    expect_no_request(nocred, false, 2, "no admin credential");
    const char *help[] = {CLI, "--help", NULL};
    expect_no_request(help, false, 0, "");
}

/* gc --force-orphans, a held scan, and restore-index's options (the
 * command itself runs offline: tests/unit/test_recovery.c, and with the
 * real CLI tests/integration/test_index_loss.sh). */
static void orphan_bound_and_restore_options(void)
{
    seen s;
    outcome o;
    const char *held_reply = "{\"deleted_segments\":0,\"orphan_files\":0,"
        "\"orphans_held\":1500,\"orphan_bound\":1000,\"held\":true}";
    const char *gc[] = {CLI, "gc", "120", NULL};
    exchange_job(gc, "gc", false, true, held_reply, &s, &o);
    CHECK(strstr(s.target, "/jobs/gc") != NULL);
    CHECK_EQ_STR(s.body, "{\"grace_s\":120,\"force_orphans\":false}");
    CHECK_EQ_INT(o.status, 0);
    CHECK(strstr(o.out, "orphans_held             1500") != NULL);
    CHECK(strstr(o.err, "GC HELD: 1500 orphan files") && strstr(o.err, "--force-orphans"));
    CHECK(strstr(o.err, "coffer: gc: the summary") != NULL);
    const char *force[] = {CLI, "gc", "--force-orphans", NULL};
    exchange_job(force, "gc", true, true, "{\"orphan_files\":1500,\"held\":false}", &s, &o);
    CHECK_EQ_STR(s.body, "{\"grace_s\":3600,\"force_orphans\":true}");
    CHECK(strstr(o.err, "GC HELD") == NULL);
    CHECK(strstr(o.err, "a run is in progress; this one starts after it") != NULL);
    CHECK(strstr(o.err, "JobRunning") == NULL);       /* waited for, not an error */
    CHECK_EQ_INT(o.status, 0);
    exchange_job(gc, "gc", false, false, "null", &s, &o);
    CHECK_EQ_INT(o.status, 1);
    CHECK(strstr(o.err, "coffer: gc failed: the summary") != NULL);
    const char *status[] = {CLI, "status", NULL};
    exchange(status, 200, "{\"version\":\"0.1.0\",\"layout\":{\"k\":4,\"m\":2,"
             "\"block_size\":1048576},\"index\":{\"commits\":1,\"wal_syncs\":1,"
             "\"commit_number\":42,\"created\":0,\"set_id\":\"aa\",\"lineage\":\"bb\"},"
             "\"gc\":{\"last_run\":0,\"held\":true,\"orphans_held\":1500,"
             "\"orphan_bound\":1000}}", &s, &o);
    CHECK(strstr(o.out, "lineage bb") && strstr(o.out, "commit 42"));
    CHECK(strstr(o.out, "GC HELD       1500 orphan files NOT deleted") != NULL);

    const char *no_config[] = {CLI, "restore-index", NULL};
    expect_no_request(no_config, false, 2, "restore-index (-c FILE | --var DIR)");
    const char *both[] = {CLI, "restore-index", "-c", "x.json", "--var", "v", NULL};
    expect_no_request(both, false, 2, "restore-index (-c FILE | --var DIR)");
    const char *stray[] = {CLI, "status", "--from", "/d1", NULL};
    expect_no_request(stray, true, 2, "--from goes with restore-index");
    const char *stray_dry[] = {CLI, "status", "--dry-run", NULL};
    expect_no_request(stray_dry, true, 2, "--dry-run goes with rebuild-index");
    const char *stray_var[] = {CLI, "status", "--var", "v", NULL};
    expect_no_request(stray_var, true, 2, "go with restore-index and rebuild-index");
    const char *rebuild_none[] = {CLI, "rebuild-index", "--dry-run", NULL};
    expect_no_request(rebuild_none, false, 2, "rebuild-index (-c FILE | --var DIR)");
    const char *rebuild_from[] = {CLI, "rebuild-index", "--var", "v", "--from", "/d1", NULL};
    expect_no_request(rebuild_from, false, 2, "--from goes with restore-index");
    const char *rebuild_missing[] = {CLI, "rebuild-index", "-c", "/nonexistent/c.json", NULL};
    expect_no_request(rebuild_missing, false, 1, "/nonexistent/c.json");
    const char *stray_force[] = {CLI, "status", "--force-orphans", NULL};
    expect_no_request(stray_force, true, 2, "--force-orphans goes with gc");
    const char *missing[] = {CLI, "restore-index", "-c", "/nonexistent/coffer.json", NULL};
    expect_no_request(missing, false, 1, "/nonexistent/coffer.json");
}

/* lifecycle run: its scope as the job's options, the report, exit 1 when
 * an action failed or the run did; its usage errors. */
static void lifecycle_run_follows_its_pass(void)
{
    seen s;
    outcome o;
    const char *report = "{\"examined\":6,\"transitioned\":3,\"expired\":2,"
        "\"restored\":0,\"bytes_moved\":196608,\"remote_deletes\":0,"
        "\"uploads_aborted\":0,\"failures\":%d}";
    char r[256];
    snprintf(r, sizeof r, report, 0);
    const char *run[] = {CLI, "lifecycle", "run", "--tenant", "dev", "--bucket", "logs", NULL};
    exchange_job(run, "lifecycle", false, true, r, &s, &o);
    CHECK(strstr(s.target, "/jobs/lifecycle") != NULL);
    CHECK_EQ_STR(s.body, "{\"tenant\":\"dev\",\"bucket\":\"logs\"}");
    CHECK_EQ_INT(o.status, 0);
    CHECK(strstr(o.out, "transitioned     3\n") && strstr(o.out, "bytes_moved      196608\n"));
    snprintf(r, sizeof r, report, 2);
    const char *all[] = {CLI, "--json", "lifecycle", "run", NULL};
    exchange_job(all, "lifecycle", true, true, r, &s, &o);
    CHECK_EQ_STR(s.body, "{}");
    CHECK_EQ_INT(o.status, 1);
    CHECK(strstr(o.out, "\"failures\": 2") != NULL);
    CHECK(strstr(o.err, "2 actions failed") != NULL);
    exchange_job(all, "lifecycle", false, false, "null", &s, &o);
    CHECK_EQ_INT(o.status, 1);
    CHECK(strstr(o.err, "coffer: lifecycle failed: the summary") != NULL);

    const char *no_tenant[] = {CLI, "lifecycle", "run", "--bucket", "logs", NULL};
    expect_no_request(no_tenant, true, 2, "--bucket needs --tenant");
    const char *bare[] = {CLI, "lifecycle", NULL};
    expect_no_request(bare, true, 2, "usage: coffer lifecycle run");
    const char *extra[] = {CLI, "lifecycle", "run", "now", NULL};
    expect_no_request(extra, true, 2, "usage: coffer lifecycle run");
    const char *deep[] = {CLI, "lifecycle", "run", "--deep", NULL};
    expect_no_request(deep, true, 2, "--deep goes with scrub");
}

static void unreachable_server_exits_1(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    REQUIRE(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    REQUIRE(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    char url[64], want[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    snprintf(want, sizeof want, "cannot reach %s: ", url);
    const char *argv[] = {CLI, "--endpoint", url, "status", NULL};
    expect_no_request(argv, true, 1, want);
    close(fd);     /* bound but never listening: connections are refused */
}

TEST_MAIN("cli",
          T(tenant_commands),
          T(key_commands),
          T(status_and_refusals),
          T(credentials_file),
          T(usage_errors_exit_2),
          T(orphan_bound_and_restore_options),
          T(lifecycle_run_follows_its_pass),
          T(unreachable_server_exits_1))
