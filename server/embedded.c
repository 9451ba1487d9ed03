/*
 * server/embedded.c - the second half of the embedded default: once the
 * engine is open, make sure tenant "dev" exists with a working key, and
 * tell the person at the terminal how to connect (config.h has the
 * contract).
 *
 * A new admin credential and a new metrics token (config.c made them up
 * because admin-credentials or metrics-token was missing) are written here
 * too, after the engine accepted the disks.
 *
 * The dev key lives in two places: the index (where the server checks
 * signatures) and var/dev-credentials (for the person). If the file is
 * missing, or names a key the index no longer knows (revoked, or an index
 * rebuilt from scratch), a new key is made and the file rewritten, so a
 * start always ends with credentials that work.
 *
 * No secret is printed: stderr ends up in a log (journald, a CI log), so
 * the banner names each key and the file that holds its secret.
 */
#include "server/config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/credfile.h"

/* Does the index still hold this dev key with this secret? */
static int dev_key_valid(st_engine *e, const char *ak, const char *sk, bool *valid,
                         cf_err *err)
{
    st_key_info info;
    char secret[ST_SECRET_KEY_MAX];
    cf_err lerr;
    *valid = false;
    if (st_key_lookup(e, ak, &info, secret, &lerr) < 0) {
        if (lerr.code != CF_ENOTFOUND) {
            *err = lerr;
            return -1;
        }
        return 0;
    }
    *valid = strcmp(info.tenant, CONFIG_EMBEDDED_TENANT) == 0 &&
             strcmp(secret, sk) == 0;
    st_key_info_clear(&info);
    OPENSSL_cleanse(secret, sizeof secret);
    return 0;
}

/* Fill ak/sk with the dev tenant's credentials, creating them if needed. */
static int ensure_dev_key(st_engine *e, const char *path, char ak[ST_ACCESS_KEY_MAX],
                          char sk[ST_SECRET_KEY_MAX], cf_err *err)
{
    cf_err terr;
    if (st_tenant_create(e, CONFIG_EMBEDDED_TENANT, &terr) < 0 &&
        terr.code != CF_EEXISTS) {
        *err = terr;
        return -1;
    }
    bool valid = false;
    if (access(path, F_OK) == 0 &&
        (credfile_read(path, ak, sk, err) < 0 ||
         dev_key_valid(e, ak, sk, &valid, err) < 0))
        return -1;
    if (valid)
        return 0;
    if (st_key_create(e, CONFIG_EMBEDDED_TENANT, NULL, NULL, NULL, ak, sk, err) < 0)
        return -1;
    return credfile_write(path, ak, sk, err);
}

static void print_master_key_notice(const coffer_config *cfg)
{
    fprintf(stderr,
            "\n"
            "**********************************************************************\n"
            "*  A NEW MASTER KEY WAS GENERATED:\n"
            "*      %s\n"
            "*  Every object is encrypted under it. BACK IT UP NOW, away from\n"
            "*  these disks: without this file the data can never be read.\n"
            "**********************************************************************\n"
            "\n", cfg->storage.master_key_file);
}

static void print_banner(const coffer_config *cfg, const char *ak)
{
    bool v6 = strchr(cfg->listen_addr, ':') != NULL;
    fprintf(stderr,
            "cofferd: embedded default in %s\n"
            "  S3 endpoint   http://%s%s%s:%d  (region %s, path-style)\n"
            "  tenant %s    access_key=%s\n"
            "                (secret in %s/dev-credentials)\n"
            "  admin         access_key=%s\n"
            "                (secret in %s/admin-credentials; coffer "
            "--admin-credentials FILE)\n",
            cfg->var_dir, v6 ? "[" : "", cfg->listen_addr, v6 ? "]" : "",
            cfg->port, cfg->region, CONFIG_EMBEDDED_TENANT, ak, cfg->var_dir,
            cfg->admin_access_key, cfg->var_dir);
}

int config_embedded_finish(st_engine *e, const coffer_config *cfg, cf_err *err)
{
    if (!cfg->embedded || !cfg->var_dir)
        return cf_fail(err, CF_EINVAL, "not an embedded configuration");
    char path[PATH_MAX], admin[PATH_MAX], token[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/dev-credentials", cfg->var_dir) >=
        (int)sizeof path ||
        snprintf(admin, sizeof admin, "%s/admin-credentials", cfg->var_dir) >=
        (int)sizeof admin ||
        snprintf(token, sizeof token, "%s/metrics-token", cfg->var_dir) >=
        (int)sizeof token)
        return cf_fail(err, CF_ECONFIG, "%s: path too long", cfg->var_dir);
    char ak[ST_ACCESS_KEY_MAX], sk[ST_SECRET_KEY_MAX];
    int rc = 0;
    if (cfg->new_admin_credential)
        rc = credfile_write(admin, cfg->admin_access_key, cfg->admin_secret_key, err);
    if (rc == 0 && cfg->new_metrics_token)
        rc = credfile_write_token(token, cfg->metrics_token, err);
    if (rc == 0)
        rc = ensure_dev_key(e, path, ak, sk, err);
    if (rc == 0) {
        if (cfg->new_master_key)
            print_master_key_notice(cfg);
        print_banner(cfg, ak);
    }
    OPENSSL_cleanse(sk, sizeof sk);
    return rc;
}
