/*
 * server/perm.c - the key permission checks (contract in perm.h). The
 * classes map to permission bits: read -> ST_PERM_READ, write ->
 * ST_PERM_WRITE_NEW, delete -> ST_PERM_DELETE or a delete prefix, config
 * -> every write permission (suspending versioning or changing a lock
 * default can let data be destroyed later, so an append-only key may not).
 * A refusal names the permission the key lacks, never anything of
 * another tenant.
 */
#include "server/perm.h"

#include <stdio.h>
#include <string.h>

bool perm_may(const s3_req *r, unsigned perms)
{
    return (r->perm.perms & perms) == perms;
}

bool perm_bucket(const s3_req *r, const char *bucket)
{
    if (r->perm.nbuckets == 0)
        return true;
    for (size_t i = 0; i < r->perm.nbuckets; i++)
        if (strcmp(r->perm.buckets[i], bucket) == 0)
            return true;
    return false;
}

bool perm_delete(const s3_req *r, const char *key)
{
    if (perm_may(r, ST_PERM_DELETE))
        return true;
    for (size_t i = 0; key && i < r->perm.nprefixes; i++) {
        const char *p = r->perm.delete_prefixes[i];
        if (strncmp(key, p, strlen(p)) == 0)
            return true;
    }
    return false;
}

int perm_require(s3_req *r, unsigned perms)
{
    for (unsigned bit = 1; bit <= ST_PERM_ALL; bit <<= 1)
        if ((perms & bit) && !perm_may(r, bit)) {
            char msg[128];
            snprintf(msg, sizeof msg, "Access Denied: this access key does not have the "
                     "%s permission", st_perm_name(bit));
            resp_error(r, S3E_AccessDenied, msg);
            return -1;
        }
    return 0;
}

int perm_check(s3_req *r)
{
    if (r->bucket && !perm_bucket(r, r->bucket)) {
        resp_error(r, S3E_AccessDenied,
                   "Access Denied: this access key may not use this bucket");
        return -1;
    }
    switch (r->op->act) {
    case ACT_READ:
        return perm_require(r, ST_PERM_READ);
    case ACT_WRITE:
        return perm_require(r, ST_PERM_WRITE_NEW);
    case ACT_CONFIG:
        return perm_require(r, ST_PERM_READ | ST_PERM_WRITE_NEW | ST_PERM_OVERWRITE |
                                   ST_PERM_DELETE);
    case ACT_DELETE:
        /* DeleteObject names its key; DeleteObjects checks each of its
         * keys (perm_delete), so only a key that can delete nothing at all
         * stops it here; DeleteBucket needs the permission itself */
        if (perm_may(r, ST_PERM_DELETE) ||
            (r->key ? perm_delete(r, r->key)
                    : r->s3op == S3OP_DELETE_OBJECTS && r->perm.nprefixes > 0))
            return 0;
        resp_error(r, S3E_AccessDenied, r->perm.nprefixes
                   ? "Access Denied: this access key may delete only under its delete "
                     "prefixes"
                   : "Access Denied: this access key does not have the delete permission");
        return -1;
    }
    return 0;
}
