/*
 * common/credfile.h - credential files, and fresh credentials: two lines,
 * "access_key=AK" and "secret_key=SK", mode 0600. cofferd's embedded
 * default keeps the admin and dev credentials this way, and `coffer
 * --admin-credentials FILE` reads them (so this lives in common/, where
 * both can reach it). Blank lines and lines starting with '#' are ignored.
 * Token files (below) hold a single bearer token.
 *
 * Reading refuses a file that group or others may read, a missing or
 * repeated field, an unknown line, and values of the wrong shape
 * (common/names.h), naming the file and never the secret.
 * Writing goes through a temporary file, fsync and rename, so a crash
 * leaves either no file or a whole one.
 */
#ifndef CF_CREDFILE_H
#define CF_CREDFILE_H

#include "common/error.h"
#include "common/names.h"

#define CRED_AK_GEN 20   /* generated lengths */
#define CRED_SK_GEN 40

int credfile_read(const char *path, char ak[NAMES_AK_MAX + 1], char sk[NAMES_SK_MAX + 1],
                  cf_err *err);
int credfile_write(const char *path, const char *ak, const char *sk, cf_err *err);

/* A fresh random pair, the one generator of credentials (the engine's
 * st_key_create and the embedded default's admin key): AK 20 characters
 * [A-Z0-9], SK 40 characters [A-Za-z0-9+/], every character equally
 * likely. */
int credfile_generate(char ak[NAMES_AK_MAX + 1], char sk[NAMES_SK_MAX + 1], cf_err *err);

/* Bearer token files (the metrics token): one line holding the token
 * (names_token_ok), mode 0600 like credential files; written like them
 * (temporary file, fsync, rename). credfile_generate_token makes a new
 * random token (CRED_TOKEN_GEN characters [A-Za-z0-9]). */
#define CRED_TOKEN_GEN 43
int credfile_read_token(const char *path, char token[NAMES_TOKEN_MAX + 1], cf_err *err);
int credfile_write_token(const char *path, const char *token, cf_err *err);
int credfile_generate_token(char token[NAMES_TOKEN_MAX + 1], cf_err *err);

#endif
