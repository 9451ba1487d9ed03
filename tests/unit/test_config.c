/*
 * tests/unit/test_config.c - the JSON config loader, the listen parser,
 * credential files and the embedded default. Every hostile config must be
 * refused with CF_ECONFIG and a message naming the file and the key; a
 * complete config must come back exactly as written.
 */
#include "server/config.h"
#include "common/credfile.h"
#include "tests/unit/test.h"

#include <sys/stat.h>
#include <unistd.h>

#define GOOD_ADMIN "\"admin\":{\"access_key\":\"ADMINKEY00000001\"," \
                   "\"secret_key\":\"s3cr3t-s3cr3t-s3cr3t\"}"
#define GOOD_BASE "\"disks\":[\"d1\",\"d2\"],\"meta_dir\":\"meta\"," \
                  "\"master_key_file\":\"mk\"," GOOD_ADMIN

static char cfg_path[1024];

static const char *write_file(const char *dir, const char *name, const char *text)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* Write text as a config file in a fresh directory and load it. */
static int load_text(const char *text, coffer_config *cfg, cf_err *err)
{
    snprintf(cfg_path, sizeof cfg_path, "%s",
             write_file(test_tmpdir(), "coffer.json", text));
    return config_load(cfg_path, cfg, err);
}

/* The config must be refused, naming the file and the key. */
static void expect_refused(const char *text, const char *key)
{
    coffer_config cfg;
    cf_err err;
    cf_err_clear(&err);
    int rc = load_text(text, &cfg, &err);
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    CHECK(strstr(err.msg, cfg_path) != NULL);
    if (key && !strstr(err.msg, key)) {
        fprintf(stderr, "  message \"%s\" does not name \"%s\"\n", err.msg, key);
        test_current_failed = 1;
    }
    if (rc == 0)
        config_free(&cfg);
}

static void good_config_parses(void)
{
    unsetenv("COFFER_MASTER_KEY");
    const char *dir = test_tmpdir();
    write_file(dir, "cert.pem", "x");
    write_file(dir, "key.pem", "x");
    char text[2048];
    snprintf(text, sizeof text,
             "{\"listen\":\"0.0.0.0:9443\",\"tls\":{\"cert\":\"cert.pem\","
             "\"key\":\"%s/key.pem\"},\"region\":\"eu-west-3\","
             "\"virtual_host_domain\":\"s3.example.net\","
             "\"disks\":[\"d1\",\"d2\",\"d3\",\"d4\",\"d5\",\"d6\"],"
             "\"meta_dir\":\"/srv/meta\",\"master_key_file\":\"master.key\","
             "\"erasure\":{\"k\":3,\"m\":3},\"block_size\":65536,"
             "\"storage\":{\"pack_shard_max_bytes\":1048576,\"pack_compact_dead_ratio\":0.25,"
             "\"direct_io\":false},"
             GOOD_ADMIN ","
             "\"limits\":{\"threads\":4,\"max_connections\":99,"
             "\"max_connections_per_ip\":7,\"header_timeout_seconds\":5,"
             "\"idle_timeout_seconds\":11},\"auth\":{\"sigv2\":false},"
             "\"log_level\":\"debug\",\"access_log\":\"-\",\"tiers\":{}}", dir);
    snprintf(cfg_path, sizeof cfg_path, "%s", write_file(dir, "c.json", text));
    coffer_config cfg;
    cf_err err;
    int rc = config_load(cfg_path, &cfg, &err);
    if (rc < 0)
        fprintf(stderr, "  %s\n", err.msg);
    REQUIRE(rc == 0);
    char want[800];
    CHECK_EQ_STR(cfg.listen_addr, "0.0.0.0");
    CHECK_EQ_INT(cfg.port, 9443);
    snprintf(want, sizeof want, "%s/cert.pem", dir);
    CHECK_EQ_STR(cfg.tls_cert_file, want);
    snprintf(want, sizeof want, "%s/key.pem", dir);
    CHECK_EQ_STR(cfg.tls_key_file, want);
    CHECK_EQ_STR(cfg.region, "eu-west-3");
    CHECK_EQ_STR(cfg.vhost_domain, "s3.example.net");
    CHECK_EQ_INT(cfg.storage.ndisks, 6);
    snprintf(want, sizeof want, "%s/d6", dir);
    CHECK_EQ_STR(cfg.storage.disks[5], want);
    CHECK_EQ_STR(cfg.storage.meta_dir, "/srv/meta");
    snprintf(want, sizeof want, "%s/master.key", dir);
    CHECK_EQ_STR(cfg.storage.master_key_file, want);
    CHECK(cfg.storage.master_key_hex == NULL);
    CHECK(!cfg.storage.create_master_key);
    CHECK_EQ_INT(cfg.storage.k, 3);
    CHECK_EQ_INT(cfg.storage.m, 3);
    CHECK_EQ_INT(cfg.storage.block_size, 65536);
    CHECK_EQ_INT(cfg.storage.pack_shard_max, 1048576);
    CHECK(cfg.storage.pack_compact_dead_ratio == 0.25);
    CHECK(cfg.storage.buffered_io);
    CHECK_EQ_STR(cfg.admin_access_key, "ADMINKEY00000001");
    CHECK_EQ_STR(cfg.admin_secret_key, "s3cr3t-s3cr3t-s3cr3t");
    CHECK_EQ_INT(cfg.threads, 4);
    CHECK_EQ_INT(cfg.max_connections, 99);
    CHECK_EQ_INT(cfg.max_connections_per_ip, 7);
    CHECK_EQ_INT(cfg.header_timeout_s, 5);
    CHECK_EQ_INT(cfg.idle_timeout_s, 11);
    CHECK(!cfg.sigv2);
    CHECK_EQ_INT(cfg.log_level, CONFIG_LOG_DEBUG);
    CHECK_EQ_STR(cfg.access_log, "-");
    CHECK(!cfg.embedded);
    config_free(&cfg);
}

static void minimal_config_gets_defaults(void)
{
    unsetenv("COFFER_MASTER_KEY");
    coffer_config cfg;
    cf_err err;
    REQUIRE(load_text("{" GOOD_BASE "}", &cfg, &err) == 0);
    CHECK_EQ_STR(cfg.listen_addr, CONFIG_DEFAULT_HOST);
    CHECK_EQ_INT(cfg.port, CONFIG_DEFAULT_PORT);
    CHECK_EQ_STR(cfg.region, CONFIG_DEFAULT_REGION);
    CHECK(cfg.tls_cert_file == NULL && cfg.vhost_domain == NULL);
    CHECK(cfg.access_log == NULL);
    CHECK_EQ_INT(cfg.storage.k, 0);
    CHECK_EQ_INT(cfg.storage.block_size, 0);
    CHECK_EQ_INT(cfg.storage.pack_shard_max, CONFIG_DEFAULT_PACK_SHARD_MAX); /* on */
    CHECK(cfg.storage.pack_compact_dead_ratio == 0);    /* the engine's default */
    CHECK(cfg.storage.buffered_io);                     /* direct_io off by default */
    CHECK_EQ_INT(cfg.threads, CONFIG_DEFAULT_THREADS);
    CHECK_EQ_INT(cfg.max_connections_per_ip, CONFIG_DEFAULT_MAX_PER_IP);
    CHECK_EQ_INT(cfg.header_timeout_s, CONFIG_DEFAULT_HEADER_TIMEOUT);
    CHECK_EQ_INT(cfg.idle_timeout_s, CONFIG_DEFAULT_IDLE_TIMEOUT);
    CHECK(cfg.sigv2);
    CHECK_EQ_INT(cfg.log_level, CONFIG_LOG_INFO);
    config_free(&cfg);
    /* 0 turns packing off: kept, not taken for "unset" */
    REQUIRE(load_text("{" GOOD_BASE ",\"storage\":{\"pack_shard_max_bytes\":0}}", &cfg,
                      &err) == 0);
    CHECK_EQ_INT(cfg.storage.pack_shard_max, 0);
    config_free(&cfg);
    /* direct_io true turns O_DIRECT shard files on; a storage object
     * without the key keeps the default (page cache) */
    REQUIRE(load_text("{" GOOD_BASE ",\"storage\":{\"direct_io\":true}}", &cfg,
                      &err) == 0);
    CHECK(!cfg.storage.buffered_io);
    config_free(&cfg);
    REQUIRE(load_text("{" GOOD_BASE ",\"storage\":{\"pack_compact_dead_ratio\":0.5}}", &cfg,
                      &err) == 0);
    CHECK(cfg.storage.buffered_io);
    config_free(&cfg);
}

static void syntax_errors_name_the_file(void)
{
    unsetenv("COFFER_MASTER_KEY");
    expect_refused("this is not json", "not valid JSON");
    expect_refused("{\"disks\":[\"a\",", "not valid JSON");
    expect_refused("", "not valid JSON");
    expect_refused("[1,2,3]", "top level");
    expect_refused("{" GOOD_BASE ",\"region\":\"a\",\"region\":\"b\"}", "duplicate");
}

static void unknown_keys_are_refused(void)
{
    unsetenv("COFFER_MASTER_KEY");
    expect_refused("{" GOOD_BASE ",\"lisen\":\"1.2.3.4:80\"}", "'lisen'");
    expect_refused("{" GOOD_BASE ",\"limits\":{\"thread\":4}}", "'limits.thread'");
    expect_refused("{" GOOD_BASE ",\"erasure\":{\"k\":1,\"m\":1,\"x\":0}}",
                   "'erasure.x'");
    expect_refused("{" GOOD_BASE ",\"bad\\u0001\\nname\":1}", "'bad??name'");
    expect_refused("{" GOOD_BASE ",\"tiers\":{\"cold\":{}}}", "'tiers'");
}

static void wrong_types_are_refused(void)
{
    unsetenv("COFFER_MASTER_KEY");
    expect_refused("{" GOOD_BASE ",\"listen\":9000}", "'listen': must be a string");
    expect_refused("{" GOOD_BASE ",\"limits\":{\"threads\":\"4\"}}",
                   "'limits.threads': must be an integer");
    expect_refused("{" GOOD_BASE ",\"limits\":[]}", "'limits': must be an object");
    expect_refused("{" GOOD_BASE ",\"limits\":{\"header_timeout_seconds\":0}}",
                   "'limits.header_timeout_seconds': must be 1..3600");
    expect_refused("{" GOOD_BASE ",\"limits\":{\"max_connections_per_ip\":0}}",
                   "'limits.max_connections_per_ip': must be 1..65536");
    expect_refused("{" GOOD_BASE ",\"auth\":{\"sigv2\":\"no\"}}",
                   "'auth.sigv2': must be true or false");
    expect_refused("{" GOOD_BASE ",\"auth\":{\"sigv4\":true}}", "'auth.sigv4'");
    expect_refused("{" GOOD_BASE ",\"block_size\":1.5}", "'block_size'");
    expect_refused("{" GOOD_BASE ",\"region\":\"\"}", "'region'");
    expect_refused("{" GOOD_BASE ",\"region\":\"a\\u0000b\"}", "not valid JSON");
    expect_refused("{" GOOD_BASE ",\"region\":\"US EAST\"}", "'region'");
    expect_refused("{" GOOD_BASE ",\"log_level\":\"loud\"}", "'log_level'");
    expect_refused("{\"disks\":\"d1\",\"meta_dir\":\"m\",\"master_key_file\":\"k\","
                   GOOD_ADMIN "}", "'disks': must be an array");
    expect_refused("{\"disks\":[\"d1\",7],\"meta_dir\":\"m\",\"master_key_file\":\"k\","
                   GOOD_ADMIN "}", "'disks[1]'");
    expect_refused("{" GOOD_BASE ",\"block_size\":65537}", "'block_size'");
    expect_refused("{" GOOD_BASE ",\"block_size\":1024}", "'block_size'");
    expect_refused("{" GOOD_BASE ",\"storage\":{\"pack_shard_max_bytes\":-1}}",
                   "'storage.pack_shard_max_bytes'");
    expect_refused("{" GOOD_BASE ",\"storage\":{\"pack_shard_max_bytes\":67108865}}",
                   "'storage.pack_shard_max_bytes'");
    expect_refused("{" GOOD_BASE ",\"storage\":{\"direct_io\":1}}",
                   "'storage.direct_io'");
    expect_refused("{" GOOD_BASE ",\"storage\":{\"pack_compact_dead_ratio\":1}}",
                   "'storage.pack_compact_dead_ratio'");
    expect_refused("{" GOOD_BASE ",\"storage\":{\"pack_compact_dead_ratio\":0}}",
                   "'storage.pack_compact_dead_ratio'");
    expect_refused("{" GOOD_BASE ",\"storage\":{\"pack_compact_dead_ratio\":\"half\"}}",
                   "'storage.pack_compact_dead_ratio'");
    expect_refused("{" GOOD_BASE ",\"storage\":{\"packs\":1}}", "'storage.packs'");
}

static void bad_ports_are_refused(void)
{
    unsetenv("COFFER_MASTER_KEY");
    expect_refused("{" GOOD_BASE ",\"listen\":\"127.0.0.1:0\"}", "'listen'");
    expect_refused("{" GOOD_BASE ",\"listen\":\"127.0.0.1:65536\"}", "'listen'");
    expect_refused("{" GOOD_BASE ",\"listen\":\"127.0.0.1:-1\"}", "'listen'");
    expect_refused("{" GOOD_BASE ",\"listen\":\"127.0.0.1\"}", "'listen'");
    expect_refused("{" GOOD_BASE ",\"listen\":\"::1:80\"}", "'listen'");
    expect_refused("{" GOOD_BASE ",\"listen\":\"a b:80\"}", "'listen'");
}

static void disk_count_and_layout_are_checked(void)
{
    unsetenv("COFFER_MASTER_KEY");
    const char *rest = ",\"meta_dir\":\"m\",\"master_key_file\":\"k\"," GOOD_ADMIN "}";
    char text[1024];
    snprintf(text, sizeof text, "{\"disks\":[]%s", rest);
    expect_refused(text, "'disks': must list 1..16");
    snprintf(text, sizeof text, "{\"disks\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\","
             "\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\","
             "\"17\"]%s", rest);
    expect_refused(text, "'disks': must list 1..16");
    snprintf(text, sizeof text, "{\"disks\":[\"a\",\"./a\"]%s", rest);
    expect_refused(text, "same directory");
    expect_refused("{" GOOD_BASE ",\"erasure\":{\"k\":2,\"m\":1}}", "'erasure.k'");
    expect_refused("{" GOOD_BASE ",\"erasure\":{\"k\":0,\"m\":2}}", "'erasure.k'");
    expect_refused("{" GOOD_BASE ",\"erasure\":{\"k\":3,\"m\":-1}}", "'erasure.m'");
    expect_refused("{" GOOD_BASE ",\"erasure\":{\"k\":2}}", "'erasure.m': missing");
}

static void missing_required_keys_are_named(void)
{
    unsetenv("COFFER_MASTER_KEY");
    expect_refused("{\"meta_dir\":\"m\",\"master_key_file\":\"k\"," GOOD_ADMIN "}",
                   "'disks': missing");
    expect_refused("{\"disks\":[\"a\"],\"master_key_file\":\"k\"," GOOD_ADMIN "}",
                   "'meta_dir': missing");
    expect_refused("{\"disks\":[\"a\"],\"meta_dir\":\"m\"," GOOD_ADMIN "}",
                   "'master_key_file': missing");
    expect_refused("{\"disks\":[\"a\"],\"meta_dir\":\"m\",\"master_key_file\":\"k\"}",
                   "'admin': missing");
    expect_refused("{" GOOD_BASE ",\"tls\":{\"cert\":\"c.pem\"}}", "'tls.key'");
    expect_refused("{" GOOD_BASE ",\"tls\":{\"cert\":\"nope.pem\",\"key\":\"k\"}}",
                   "'tls.cert': cannot read");
}

static void missing_file_is_named(void)
{
    coffer_config cfg;
    cf_err err;
    snprintf(cfg_path, sizeof cfg_path, "%s/absent.json", test_tmpdir());
    CHECK_EQ_INT(config_load(cfg_path, &cfg, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    CHECK(strstr(err.msg, cfg_path) != NULL);
    CHECK(strstr(err.msg, "No such file") != NULL);
}

static void admin_secret_is_checked_but_never_echoed(void)
{
    unsetenv("COFFER_MASTER_KEY");
    coffer_config cfg;
    cf_err err;
    CHECK_EQ_INT(load_text("{\"disks\":[\"a\"],\"meta_dir\":\"m\",\"master_key_file\":"
                           "\"k\",\"admin\":{\"access_key\":\"ADMINKEY00000001\","
                           "\"secret_key\":\"tooshort-zz\"}}", &cfg, &err), -1);
    CHECK(strstr(err.msg, "'admin.secret_key'") != NULL);
    CHECK(strstr(err.msg, "tooshort-zz") == NULL);
    expect_refused("{\"disks\":[\"a\"],\"meta_dir\":\"m\",\"master_key_file\":\"k\","
                   "\"admin\":{\"access_key\":\"has/slash/0000000\","
                   "\"secret_key\":\"s3cr3t-s3cr3t-s3cr3t\"}}", "'admin.access_key'");
}

static void master_key_from_environment(void)
{
    const char *hex = "00112233445566778899aabbccddeeff"
                      "00112233445566778899AABBCCDDEEFF";
    setenv("COFFER_MASTER_KEY", hex, 1);
    coffer_config cfg;
    cf_err err;
    int rc = load_text("{\"disks\":[\"a\"],\"meta_dir\":\"m\"," GOOD_ADMIN "}",
                       &cfg, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc == 0) {
        CHECK_EQ_STR(cfg.storage.master_key_hex, hex);
        CHECK(cfg.storage.master_key_file == NULL);
        config_free(&cfg);
    }
    setenv("COFFER_MASTER_KEY", "0011", 1);
    CHECK_EQ_INT(load_text("{" GOOD_BASE "}", &cfg, &err), -1);
    CHECK(strstr(err.msg, "COFFER_MASTER_KEY") != NULL);
    CHECK(strstr(err.msg, "0011") == NULL);
    unsetenv("COFFER_MASTER_KEY");
}

/* sse_c.allow_http_on_loopback: a boolean, and only on a loopback
 * listener without TLS (checked again after --listen overrides). */
static void sse_c_switch_is_for_loopback_only(void)
{
    coffer_config cfg;
    cf_err err;
    expect_refused("{" GOOD_BASE ",\"sse_c\":{\"allow_http_on_loopback\":1}}",
                   "allow_http_on_loopback");
    expect_refused("{" GOOD_BASE ",\"sse_c\":{\"allow_http\":true}}", "allow_http");
    REQUIRE(load_text("{" GOOD_BASE ",\"listen\":\"127.0.0.1:9000\","
                      "\"sse_c\":{\"allow_http_on_loopback\":true}}", &cfg, &err) == 0);
    CHECK(cfg.sse_c_http_loopback);
    CHECK_EQ_INT(config_check_listen(&cfg, &err), 0);
    REQUIRE(config_set_listen(&cfg, "[::1]:9000", &err) == 0);
    CHECK_EQ_INT(config_check_listen(&cfg, &err), 0);
    REQUIRE(config_set_listen(&cfg, "0.0.0.0:9000", &err) == 0);
    CHECK_EQ_INT(config_check_listen(&cfg, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    REQUIRE(config_set_listen(&cfg, "127.0.0.1.example.net:9000", &err) == 0);
    CHECK_EQ_INT(config_check_listen(&cfg, &err), -1);
    config_free(&cfg);
    REQUIRE(load_text("{" GOOD_BASE ",\"listen\":\"0.0.0.0:9000\"}", &cfg, &err) == 0);
    CHECK(!cfg.sse_c_http_loopback);
    CHECK_EQ_INT(config_check_listen(&cfg, &err), 0);
    config_free(&cfg);
}

static void listen_forms(void)
{
    coffer_config cfg;
    cf_err err;
    memset(&cfg, 0, sizeof cfg);
    CHECK_EQ_INT(config_set_listen(&cfg, "[::1]:8080", &err), 0);
    CHECK_EQ_STR(cfg.listen_addr, "::1");
    CHECK_EQ_INT(cfg.port, 8080);
    CHECK_EQ_INT(config_set_listen(&cfg, ":65535", &err), 0);
    CHECK_EQ_STR(cfg.listen_addr, "0.0.0.0");
    CHECK_EQ_INT(cfg.port, 65535);
    CHECK_EQ_INT(config_set_listen(&cfg, "localhost:123456", &err), -1);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    CHECK_EQ_INT(config_set_listen(&cfg, "localhost:", &err), -1);
    CHECK_EQ_INT(cfg.port, 65535);
}

static mode_t file_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_mode & 0777 : 0;
}

/* The embedded default writes nothing but var_dir itself: the disks, the
 * index, the key and the credential files wait until the engine accepts
 * the disks (config_embedded_finish, test_admin), so a refused start
 * leaves var_dir as it was. */
static void embedded_default_writes_nothing_then_reuses(void)
{
    char var[700], path[800];
    snprintf(var, sizeof var, "%s/var", test_tmpdir());
    coffer_config a, b;
    cf_err err;
    REQUIRE(config_embedded_default(var, &a, &err) == 0);
    CHECK(a.embedded);
    CHECK_EQ_INT(a.storage.pack_shard_max, CONFIG_DEFAULT_PACK_SHARD_MAX); /* packs too */
    CHECK(a.new_master_key);
    CHECK(a.new_admin_credential);
    CHECK(a.storage.create_master_key);
    CHECK_EQ_INT(a.storage.ndisks, 6);
    CHECK_EQ_STR(a.listen_addr, "127.0.0.1");
    CHECK_EQ_INT(a.port, 9000);
    CHECK_EQ_INT(file_mode(var), 0700);
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "%s/disk%d", var, i + 1);
        CHECK_EQ_STR(a.storage.disks[i], path);
        CHECK_EQ_INT(file_mode(path), 0);             /* not made here */
    }
    snprintf(path, sizeof path, "%s/meta", var);
    CHECK_EQ_STR(a.storage.meta_dir, path);
    CHECK_EQ_INT(file_mode(path), 0);
    snprintf(path, sizeof path, "%s/master.key", var);
    CHECK_EQ_STR(a.storage.master_key_file, path);
    snprintf(path, sizeof path, "%s/admin-credentials", var);
    CHECK_EQ_INT(file_mode(path), 0);
    CHECK_EQ_INT(strlen(a.admin_access_key), CRED_AK_GEN);
    CHECK_EQ_INT(strlen(a.admin_secret_key), CRED_SK_GEN);

    /* once written (by config_embedded_finish), later starts reuse it */
    REQUIRE(credfile_write(path, a.admin_access_key, a.admin_secret_key, &err) == 0);
    write_file(var, "master.key", "stand-in for the engine's key\n");
    REQUIRE(config_embedded_default(var, &b, &err) == 0);
    CHECK(!b.new_master_key);
    CHECK(!b.new_admin_credential);
    CHECK_EQ_STR(b.admin_access_key, a.admin_access_key);
    CHECK_EQ_STR(b.admin_secret_key, a.admin_secret_key);
    config_free(&a);
    config_free(&b);
}

static void embedded_default_refuses_loose_credentials(void)
{
    char var[700], path[800];
    snprintf(var, sizeof var, "%s/var", test_tmpdir());
    coffer_config cfg;
    cf_err err;
    REQUIRE(config_embedded_default(var, &cfg, &err) == 0);
    snprintf(path, sizeof path, "%s/admin-credentials", var);
    REQUIRE(credfile_write(path, cfg.admin_access_key, cfg.admin_secret_key, &err) == 0);
    config_free(&cfg);
    REQUIRE(chmod(path, 0644) == 0);
    CHECK_EQ_INT(config_embedded_default(var, &cfg, &err), -1);
    CHECK(strstr(err.msg, path) != NULL);
    CHECK(strstr(err.msg, "chmod 600") != NULL);
}

/* A credential file with this content must be refused naming the problem. */
static void expect_bad_credfile(const char *text, const char *why)
{
    const char *path = write_file(test_tmpdir(), "creds", text);
    REQUIRE(chmod(path, 0600) == 0);
    char ak[ST_ACCESS_KEY_MAX], sk[ST_SECRET_KEY_MAX];
    cf_err err;
    CHECK_EQ_INT(credfile_read(path, ak, sk, &err), -1);
    if (!strstr(err.msg, why)) {
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", err.msg, why);
        test_current_failed = 1;
    }
}

static void credential_files_are_validated(void)
{
    expect_bad_credfile("access_key=AKAKAKAKAKAKAKAK\n", "missing secret_key");
    expect_bad_credfile("secret_key=0123456789abcdef\n", "missing access_key");
    expect_bad_credfile("access_key=AKAKAKAKAKAKAKAK\naccess_key=AKAKAKAKAKAKAKAK\n",
                        "given twice");
    expect_bad_credfile("user=x\n", "unknown field");
    expect_bad_credfile("access_key AKAKAKAKAKAKAKAK\n", "name=value");
    expect_bad_credfile("access_key=AK\nsecret_key=0123456789abcdef\n",
                        "malformed access_key");
    expect_bad_credfile("access_key=AKAKAKAKAKAKAKAK\nsecret_key=with space 0123456\n",
                        "malformed secret_key");
    const char *path = write_file(test_tmpdir(), "creds",
                                  "# comment\n\naccess_key=AKAKAKAKAKAKAKAK\r\n"
                                  "secret_key=0123456789abcdef/+\n");
    REQUIRE(chmod(path, 0600) == 0);
    char ak[ST_ACCESS_KEY_MAX], sk[ST_SECRET_KEY_MAX];
    cf_err err;
    CHECK_EQ_INT(credfile_read(path, ak, sk, &err), 0);
    CHECK_EQ_STR(ak, "AKAKAKAKAKAKAKAK");
    CHECK_EQ_STR(sk, "0123456789abcdef/+");
}

static void metrics_token_or_public(void)
{
    unsetenv("COFFER_MASTER_KEY");
    coffer_config cfg;
    cf_err err;
    REQUIRE(load_text("{" GOOD_BASE "}", &cfg, &err) == 0);
    CHECK(!cfg.metrics_public && cfg.metrics_token[0] == '\0');   /* off */
    config_free(&cfg);
    REQUIRE(load_text("{" GOOD_BASE ",\"metrics\":{\"public\":true}}", &cfg, &err) == 0);
    CHECK(cfg.metrics_public);
    config_free(&cfg);
    char dir[700];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    char token[1024];
    snprintf(token, sizeof token, "%s", write_file(dir, "tok", "abcdefghijklmnop-._~+/=\n"));
    chmod(token, 0600);
    char text[4096];
    snprintf(text, sizeof text, "{" GOOD_BASE ",\"metrics\":{\"bearer_token_file\":\"%s\"}}",
             token);
    REQUIRE(load_text(text, &cfg, &err) == 0);
    CHECK_EQ_STR(cfg.metrics_token, "abcdefghijklmnop-._~+/=");
    CHECK(!cfg.metrics_public);
    config_free(&cfg);
    chmod(token, 0644);                                       /* readable by others */
    expect_refused(text, token);
    chmod(token, 0600);
    snprintf(text, sizeof text, "{" GOOD_BASE ",\"metrics\":{\"bearer_token_file\":\"%s\","
             "\"public\":true}}", token);
    expect_refused(text, "metrics.bearer_token_file");
    expect_refused("{" GOOD_BASE ",\"metrics\":{\"public\":1}}", "metrics.public");
    expect_refused("{" GOOD_BASE ",\"metrics\":{\"token\":\"x\"}}", "metrics.token");
    expect_refused("{" GOOD_BASE ",\"metrics\":{\"bearer_token_file\":\"nope\"}}", "nope");
    const char *bad[] = {"short\n", "has space in it 0123\n", "line-one-0123456789\nline2\n",
                         "", "\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(dir, "tok", bad[i]);
        chmod(token, 0600);
        snprintf(text, sizeof text, "{" GOOD_BASE ",\"metrics\":{\"bearer_token_file\":"
                 "\"%s\"}}", token);
        coffer_config c2;
        cf_err_clear(&err);
        CHECK_EQ_INT(load_text(text, &c2, &err), -1);
        CHECK(strstr(err.msg, "must hold one line") != NULL || strstr(err.msg, token));
    }
}

/* Like the admin credential: made up but not written by the default
 * (config_embedded_finish writes it, test_admin), then reused. */
static void embedded_default_keeps_its_metrics_token(void)
{
    char var[700], path[800];
    snprintf(var, sizeof var, "%s/var", test_tmpdir());
    coffer_config a, b;
    cf_err err;
    REQUIRE(config_embedded_default(var, &a, &err) == 0);
    snprintf(path, sizeof path, "%s/metrics-token", var);
    CHECK(a.new_metrics_token);
    CHECK_EQ_INT(file_mode(path), 0);                 /* not made here */
    CHECK_EQ_INT(strlen(a.metrics_token), CRED_TOKEN_GEN);
    CHECK(names_token_ok(a.metrics_token));
    REQUIRE(credfile_write_token(path, a.metrics_token, &err) == 0);
    CHECK_EQ_INT(file_mode(path), 0600);
    REQUIRE(config_embedded_default(var, &b, &err) == 0);
    CHECK(!b.new_metrics_token);
    CHECK_EQ_STR(a.metrics_token, b.metrics_token);
    config_free(&a);
    config_free(&b);
}

TEST_MAIN("config",
          T(good_config_parses),
          T(minimal_config_gets_defaults),
          T(syntax_errors_name_the_file),
          T(unknown_keys_are_refused),
          T(wrong_types_are_refused),
          T(bad_ports_are_refused),
          T(disk_count_and_layout_are_checked),
          T(missing_required_keys_are_named),
          T(missing_file_is_named),
          T(admin_secret_is_checked_but_never_echoed),
          T(master_key_from_environment),
          T(sse_c_switch_is_for_loopback_only),
          T(listen_forms),
          T(embedded_default_writes_nothing_then_reuses),
          T(embedded_default_refuses_loose_credentials),
          T(credential_files_are_validated),
          T(metrics_token_or_public),
          T(embedded_default_keeps_its_metrics_token))
