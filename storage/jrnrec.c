/*
 * storage/jrnrec.c - the engine's journal records (journal.h): one
 * function per kind of change, turning the row just committed into the
 * record's JSON fields (named as the index's columns, binary values in
 * hex) and appending it with the commit number under the caller's lock.
 * A key's state (JRN_KEY) is read back from the index through object.c,
 * tags.c and tiering.c, which own those tables; a remote delete's
 * (JRN_REMOTE_DELETE) through tier.c.
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
    if (fields && json_object_set_new(fields, "rv", json_integer(JRN_RECORD_VERSION)) < 0) {
        json_decref(fields);
        return;
    }
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

void jrnrec_upload_locked(st_engine *e, const jrnrec_upload *u)
{
    idx_assert_held(e->ix);
    append(e, JRN_UPLOAD, json_pack("{s:s, s:s, s:o, s:o, s:I, s:i, s:o, s:i, s:o, s:i, s:I, "
                                    "s:i, s:o, s:I}",
                                    "tenant", u->tenant, "bucket", u->bucket,
                                    "key", hex(u->key, strlen(u->key)),
                                    "upload_id", hex(u->upload_id, 16),
                                    "created_ms", (json_int_t)u->created_ms,
                                    "cks_algo", u->algo, "headers", text_or_null(u->headers),
                                    "cks_full", (int)u->cks_full,
                                    "ssec", hex(u->ssec, CRYPT_SSEC_LEN),
                                    "lock_mode", u->lock_mode,
                                    "retain_until_ms", (json_int_t)u->retain_until_ms,
                                    "legal_hold", u->legal_hold,
                                    "tags", text_or_null(u->tags),
                                    "tier_id", (json_int_t)u->tier_id),
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

void jrnrec_touch_locked(st_engine *e, int64_t bucket_id, const char *key)
{
    idx_assert_held(e->ix);
    if (!e->jrn)
        return;
    for (size_t i = 0; i < e->n_touched; i++)
        if (e->touched[i].bucket_id == bucket_id && strcmp(e->touched[i].key, key) == 0)
            return;
    if (e->n_touched == e->cap_touched) {
        size_t cap = e->cap_touched ? 2 * e->cap_touched : 8;
        struct jrn_touched *g = realloc(e->touched, cap * sizeof *g);
        if (!g)
            return;                    /* the index still holds it (journal.h) */
        e->touched = g;
        e->cap_touched = cap;
    }
    char *k = strdup(key);
    if (k)
        e->touched[e->n_touched++] = (struct jrn_touched){bucket_id, k};
}

void jrnrec_remote_touch_locked(st_engine *e, const char *remote_id)
{
    idx_assert_held(e->ix);
    if (!e->jrn || !remote_id || !*remote_id)
        return;
    for (size_t i = 0; i < e->n_touched_remote; i++)
        if (strcmp(e->touched_remote[i], remote_id) == 0)
            return;
    if (e->n_touched_remote == e->cap_touched_remote) {
        size_t cap = e->cap_touched_remote ? 2 * e->cap_touched_remote : 4;
        char **g = realloc(e->touched_remote, cap * sizeof *g);
        if (!g)
            return;                    /* the index still holds it (journal.h) */
        e->touched_remote = g;
        e->cap_touched_remote = cap;
    }
    char *id = strdup(remote_id);
    if (id)
        e->touched_remote[e->n_touched_remote++] = id;
}

/* One JRN_REMOTE_DELETE record: remote_id's row of the queue now, or null. */
static void remote_delete_record(st_engine *e, const char *remote_id)
{
    cf_err err;
    json_t *row = tier_remote_delete_json_locked(e, remote_id, &err);
    if (!row)
        return;                        /* the index still holds it (journal.h) */
    append(e, JRN_REMOTE_DELETE, json_pack("{s:s, s:o}", "remote_id", remote_id,
                                           "queued", row), NULL, 0);
}

/* A tiered version's single-PUT segments (a multipart version's are in
 * its manifest, which tiering leaves on the disks). */
static int tier_segment(void *ctx, const obj_segment *s, cf_err *err)
{
    if (s->part != 0 || s->is_inline)
        return 0;
    json_t *seg = json_pack("{s:o, s:I, s:I, s:o}", "data_id", hex(s->data_id, 16),
                            "part", (json_int_t)s->part, "size", (json_int_t)s->size,
                            "wrapped", hex(s->wrapped, CRYPT_WRAPPED_LEN));
    return seg && json_array_append_new(ctx, seg) == 0
           ? 0 : cf_fail(err, CF_ENOMEM, "out of memory");
}

/* What record version 3 adds to each version of a key's state: its
 * "tags" (the JSON text object_tags keeps, or null) and its "tier" (its
 * version_tier row with the tier's name, and "segments" once its local
 * files may be freed; or null). */
static int add_v3(st_engine *e, json_t *versions, cf_err *err)
{
    size_t i;
    json_t *v;
    json_array_foreach(versions, i, v) {
        uint8_t vid[16];
        size_t n;
        const char *h = json_string_value(json_object_get(json_object_get(v, "version_id"),
                                                          "hex"));
        char *tags = NULL;
        if (!h || hex_decode(h, vid, 16, &n) < 0 || n != 16)
            continue;
        json_t *tier = tiering_row_json_locked(e, vid, err);
        json_int_t state = json_integer_value(json_object_get(tier, "state"));
        json_t *segs = json_array();
        if (!tier || !segs || tags_json_locked(e, vid, &tags, err) < 0 ||
            ((state == ST_TIER_TIERED || state == ST_TIER_RESTORING ||
              state == ST_TIER_RESTORED) &&
             (obj_segments_locked(e, vid, 0, -1, tier_segment, segs, err) < 0 ||
              json_object_set(tier, "segments", segs) < 0)) ||
            json_object_set_new(v, "tags", text_or_null(tags)) < 0 ||
            json_object_set(v, "tier", tier) < 0) {
            json_decref(tier);
            json_decref(segs);
            free(tags);
            return -1;
        }
        json_decref(tier);
        json_decref(segs);
        free(tags);
    }
    return 0;
}

/* The key's state as a JRN_KEY records it now, or NULL. */
static json_t *key_state(st_engine *e, int64_t bucket_id, const char *key, cf_err *err)
{
    json_t *versions = obj_key_state_locked(e, bucket_id, key, err);
    if (versions && add_v3(e, versions, err) < 0) {
        json_decref(versions);
        return NULL;
    }
    return versions;
}

/* One JRN_KEY record: the key's versions as the index holds them now. */
static void key_record(st_engine *e, int64_t bucket_id, const char *key)
{
    char tenant[ST_MAX_TENANT + 1], bucket[ST_MAX_BUCKET + 1];
    cf_err err;
    json_t *versions;
    if (bucket_names_locked(e, bucket_id, tenant, bucket, &err) < 0 ||
        !(versions = key_state(e, bucket_id, key, &err)))
        return;                        /* the index still holds it (journal.h) */
    append(e, JRN_KEY, json_pack("{s:s, s:s, s:o, s:o}", "tenant", tenant, "bucket", bucket,
                                 "key", hex(key, strlen(key)), "versions", versions),
           NULL, 0);
}

void jrnrec_flush_locked(st_engine *e)
{
    idx_assert_held(e->ix);
    for (size_t i = 0; i < e->n_touched; i++) {
        key_record(e, e->touched[i].bucket_id, e->touched[i].key);
        free(e->touched[i].key);
    }
    e->n_touched = 0;
    for (size_t i = 0; i < e->n_touched_remote; i++) {
        remote_delete_record(e, e->touched_remote[i]);
        free(e->touched_remote[i]);
    }
    e->n_touched_remote = 0;
}

/* The current state of the record's key, or NULL (no such bucket, or a
 * malformed record). */
static json_t *state_of(st_engine *e, json_t *f)
{
    const char *t = json_string_value(json_object_get(f, "tenant"));
    const char *b = json_string_value(json_object_get(f, "bucket"));
    const char *kh = json_string_value(json_object_get(f, "key"));
    char key[ST_MAX_KEY + 1];
    size_t n;
    int64_t bid;
    cf_err err;
    if (!t || !b || !kh || strlen(kh) % 2 || strlen(kh) / 2 > ST_MAX_KEY ||
        hex_decode(kh, (uint8_t *)key, strlen(kh) / 2, &n) < 0 || memchr(key, 0, n) ||
        bucket_id_locked(e, t, b, &bid, &err) < 0)
        return NULL;
    key[n] = '\0';
    return key_state(e, bid, key, &err);
}

/* Is recorded (a JRN_KEY's versions, of record version rv) the key's
 * state? A record older than version 3 is compared without what version
 * 3 added, so a key untouched since is still kept. */
static bool same_state(json_t *state, json_t *recorded, int rv)
{
    size_t i;
    json_t *v;
    if (rv < 3)
        json_array_foreach(state, i, v) {
            json_object_del(v, "tags");
            json_object_del(v, "tier");
        }
    return json_array_size(state) > 0 && json_equal(state, recorded);
}

/* Does the state list version vid (hex)? */
static bool lists(json_t *state, const char *vid)
{
    size_t i;
    json_t *v;
    json_array_foreach(state, i, v) {
        const char *h = json_string_value(json_object_get(json_object_get(v, "version_id"),
                                                          "hex"));
        if (h && vid && strcmp(h, vid) == 0)
            return true;
    }
    return false;
}

int jrnrec_keep(void *engine, const jrn_record *r)
{
    st_engine *e = engine;
    json_t *f = r->fields;
    int keep = 0;
    idx_lock(e->ix);
    if (r->type == JRN_PUT || r->type == JRN_KEY) {
        json_t *state = state_of(e, f);
        keep = r->type == JRN_PUT
               ? lists(state, json_string_value(json_object_get(f, "version_id")))
               : same_state(state, json_object_get(f, "versions"), r->version);
        json_decref(state);
    } else if (r->type == JRN_UPLOAD || r->type == JRN_PART) {
        uint8_t id[16];
        size_t n;
        const char *h = json_string_value(json_object_get(f, "upload_id"));
        int64_t created;
        cks_algo algo;
        char *headers = NULL;
        cf_err err;
        keep = h && hex_decode(h, id, 16, &n) == 0 && n == 16 &&
               upload_info_locked(e, id, &created, &algo, &headers, &err) == 0;
        free(headers);
    } else if (r->type == JRN_REMOTE_DELETE) {
        /* still queued (the record says so, and so does the index) */
        const char *id = json_string_value(json_object_get(f, "remote_id"));
        cf_err err;
        json_t *row = id && json_is_object(json_object_get(f, "queued"))
                      ? tier_remote_delete_json_locked(e, id, &err) : NULL;
        keep = json_is_object(row);
        json_decref(row);
    }
    idx_unlock(e->ix);
    return keep;
}
