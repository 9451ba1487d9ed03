/*
 * storage/jrnrec.c - the engine's journal records (journal.h): one
 * function per kind of change, turning the row just committed into the
 * record's JSON fields (named as the index's columns, binary values in
 * hex) and appending it with the commit number under the caller's lock.
 */
#include "storage/journal.h"

#include <stdlib.h>
#include <string.h>

#include "common/checksum.h"
#include "common/hex.h"
#include "storage/engine_int.h"

static json_t *hex(const void *p, size_t n)
{
    if (!p)
        return json_null();
    char *h = malloc(2 * n + 1);
    if (!h)
        return NULL;
    hex_encode(p, n, h, 2 * n + 1);
    json_t *v = json_string(h);
    free(h);
    return v;
}

static json_t *text_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static void append(st_engine *e, jrn_type type, json_t *fields, const void *data,
                   size_t len)
{
    if (fields && e->jrn)
        jrn_append(e->jrn, type, idx_commit_number_locked(e->ix), fields, data, len);
    json_decref(fields);
}

void jrnrec_put_locked(st_engine *e, const jrnrec_object *o)
{
    idx_assert_held(e->ix);
    append(e, JRN_PUT, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:s, s:I, s:i, s:o, "
                                 "s:o}",
                                 "tenant", o->tenant, "bucket", o->bucket,
                                 "key", hex(o->key, strlen(o->key)),
                                 "version_id", hex(o->version_id, 16),
                                 "data_id", hex(o->data_id, 16),
                                 "wrapped", hex(o->wrapped, CRYPT_WRAPPED_LEN),
                                 "size", (json_int_t)o->size, "etag", o->etag,
                                 "mtime_ms", (json_int_t)o->mtime_ms,
                                 "cks_algo", o->cks_algo, "cks", text_or_null(o->cks),
                                 "headers", text_or_null(o->headers)),
           o->sealed, o->sealed_len);
}

void jrnrec_upload_locked(st_engine *e, const char *tenant, const char *bucket,
                          const char *key, const uint8_t upload_id[16], int64_t created_ms,
                          int algo, const char *headers)
{
    idx_assert_held(e->ix);
    append(e, JRN_UPLOAD, json_pack("{s:s, s:s, s:o, s:o, s:I, s:i, s:o}", "tenant", tenant,
                                    "bucket", bucket, "key", hex(key, strlen(key)),
                                    "upload_id", hex(upload_id, 16),
                                    "created_ms", (json_int_t)created_ms,
                                    "cks_algo", algo, "headers", text_or_null(headers)),
           NULL, 0);
}

void jrnrec_part_locked(st_engine *e, const jrnrec_part *p)
{
    idx_assert_held(e->ix);
    append(e, JRN_PART, json_pack("{s:o, s:I, s:o, s:I, s:s, s:o, s:o, s:I, s:o}",
                                  "upload_id", hex(p->upload_id, 16),
                                  "part", (json_int_t)p->part,
                                  "data_id", hex(p->data_id, 16),
                                  "size", (json_int_t)p->size, "etag", p->etag,
                                  "md5", hex(p->md5, 16), "cks", text_or_null(p->cks),
                                  "mtime_ms", (json_int_t)p->mtime_ms,
                                  "wrapped", hex(p->wrapped, CRYPT_WRAPPED_LEN)),
           p->sealed, p->sealed_len);
}

void jrnrec_upload_end_locked(st_engine *e, const uint8_t upload_id[16])
{
    idx_assert_held(e->ix);
    append(e, JRN_UPLOAD_END, json_pack("{s:o}", "upload_id", hex(upload_id, 16)), NULL, 0);
}
