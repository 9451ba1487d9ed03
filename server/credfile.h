/*
 * server/credfile.h - credential files: two lines, "access_key=AK" and
 * "secret_key=SK", mode 0600. cofferd's embedded default keeps the admin
 * and dev credentials this way, and `coffer --admin-credentials FILE` reads
 * them. Blank lines and lines starting with '#' are ignored. Token files
 * (below) hold a single bearer token.
 *
 * Reading refuses a file that group or others may read, a missing or
 * repeated field, an unknown line, and values of the wrong shape (access
 * key: 16..32 characters [A-Za-z0-9]; secret: 16..64 printable ASCII
 * characters without spaces), naming the file and never the secret.
 * Writing goes through a temporary file, fsync and rename, so a crash
 * leaves either no file or a whole one.
 */
#ifndef COFFER_CREDFILE_H
#define COFFER_CREDFILE_H

#include <stdbool.h>

#include "common/error.h"
#include "storage/engine.h"

#define CRED_AK_MIN 16
#define CRED_SK_MIN 16
#define CRED_AK_GEN 20   /* generated lengths, as the engine's st_key_create */
#define CRED_SK_GEN 40

int credfile_read(const char *path, char ak[ST_ACCESS_KEY_MAX],
                  char sk[ST_SECRET_KEY_MAX], cf_err *err);
int credfile_write(const char *path, const char *ak, const char *sk, cf_err *err);

/* A fresh random pair: AK 20 chars [A-Z0-9], SK 40 chars [A-Za-z0-9+/]. */
int credfile_generate(char ak[ST_ACCESS_KEY_MAX], char sk[ST_SECRET_KEY_MAX],
                      cf_err *err);

/* Shape checks shared with the config loader. */
bool credfile_valid_access_key(const char *ak);
bool credfile_valid_secret(const char *sk);

/* Bearer token files (the metrics token): one line holding the token,
 * 16..128 characters [A-Za-z0-9-._~+/=] (RFC 6750's b64token), mode 0600
 * like credential files; written like them (temporary file, fsync,
 * rename). credfile_generate_token makes a new random token (43
 * characters [A-Za-z0-9]). */
#define CRED_TOKEN_MIN 16
#define CRED_TOKEN_MAX 128
#define CRED_TOKEN_GEN 43
bool credfile_valid_token(const char *t);
int credfile_read_token(const char *path, char token[CRED_TOKEN_MAX + 1], cf_err *err);
int credfile_write_token(const char *path, const char *token, cf_err *err);
int credfile_generate_token(char token[CRED_TOKEN_MAX + 1], cf_err *err);

#endif
