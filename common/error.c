/*
 * common/error.c - filling in cf_err. See error.h for the pattern; this file
 * only formats messages and names codes.
 */
#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const code_names[CF_CODE_COUNT] = {
    [CF_OK] = "OK",
    [CF_EINVAL] = "EINVAL",
    [CF_ENOMEM] = "ENOMEM",
    [CF_EIO] = "EIO",
    [CF_ENOSPC] = "ENOSPC",
    [CF_ECORRUPT] = "ECORRUPT",
    [CF_EQUORUM] = "EQUORUM",
    [CF_ECONFIG] = "ECONFIG",
    [CF_ECRYPTO] = "ECRYPTO",
    [CF_ENOBUCKET] = "ENOBUCKET",
    [CF_EBUCKETEXISTS] = "EBUCKETEXISTS",
    [CF_ENOTEMPTY] = "ENOTEMPTY",
    [CF_ENOKEY] = "ENOKEY",
    [CF_ENOUPLOAD] = "ENOUPLOAD",
    [CF_EBADPART] = "EBADPART",
    [CF_EPARTORDER] = "EPARTORDER",
    [CF_ETOOSMALL] = "ETOOSMALL",
    [CF_ERANGE] = "ERANGE",
    [CF_EDIGEST] = "EDIGEST",
    [CF_ETOOLARGE] = "ETOOLARGE",
    [CF_EEXISTS] = "EEXISTS",
    [CF_ENOTFOUND] = "ENOTFOUND",
    [CF_EPRECOND] = "EPRECOND",
    [CF_EDENIED] = "EDENIED",
    [CF_ELOCKED] = "ELOCKED",
    [CF_ENOVERSION] = "ENOVERSION",
    [CF_EMARKER] = "EMARKER",
    [CF_EBUCKETSTATE] = "EBUCKETSTATE",
    [CF_ESTATE] = "ESTATE",
    [CF_EINTERNAL] = "EINTERNAL",
    [CF_ENOINDEX] = "ENOINDEX",
    [CF_ECONFLICT] = "ECONFLICT",
    [CF_ENEEDKEY] = "ENEEDKEY",
    [CF_EBADKEY] = "EBADKEY",
    [CF_EQUOTA] = "EQUOTA",
};

const char *cf_code_name(cf_code code)
{
    if (code < 0 || code >= CF_CODE_COUNT || !code_names[code])
        return "EUNKNOWN";
    return code_names[code];
}

void cf_err_clear(cf_err *err)
{
    if (!err)
        return;
    err->code = CF_OK;
    err->msg[0] = '\0';
}

static int fail_v(cf_err *err, cf_code code, const char *suffix,
                  const char *fmt, va_list ap)
{
    if (!err)
        return -1;
    err->code = code;
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    if (suffix && n >= 0 && (size_t)n < sizeof err->msg)
        snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", suffix);
    return -1;
}

int cf_fail(cf_err *err, cf_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(err, code, NULL, fmt, ap);
    va_end(ap);
    return -1;
}

int cf_fail_errno(cf_err *err, cf_code code, int errnum, const char *fmt, ...)
{
    if (errnum == ENOSPC || errnum == EDQUOT)
        code = CF_ENOSPC;
    va_list ap;
    va_start(ap, fmt);
    fail_v(err, code, strerror(errnum), fmt, ap);
    va_end(ap);
    return -1;
}
