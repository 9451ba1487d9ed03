/*
 * storage/tags.c - object tags (the object_tags table; lifecycle.h).
 *
 * A version's tags are one row keyed by its version id, the JSON list
 * [[key, value], ...] in the order the client sent them; an upload's tags
 * (x-amz-tagging on CreateMultipartUpload) are keyed by its upload id and
 * re-keyed to the version id by the completion, in its transaction. Both
 * ids are random 16 bytes, so they never collide. Tags are checked
 * against S3's limits here, once, whichever request carries them.
 */
#include "storage/engine_int.h"
#include "storage/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

/* Characters (code points) in s, or -1 if s is not UTF-8 or holds a
 * control character. */
static long text_chars(const char *s)
{
    size_t n = strlen(s), i = 0;
    long chars = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = utf8_next(s + i, n - i, &cp);
        if (len == 0 || cp < 0x20 || cp == 0x7f)
            return -1;
        i += len;
        chars++;
    }
    return chars;
}

int st_tags_check(const st_header *tags, size_t n, cf_err *err)
{
    if (n > ST_MAX_TAGS)
        return cf_fail(err, CF_EINVAL, "Object tags cannot be greater than %d",
                       ST_MAX_TAGS);
    for (size_t i = 0; i < n; i++) {
        long kc = text_chars(tags[i].name), vc = text_chars(tags[i].value);
        if (kc < 0 || vc < 0)
            return cf_fail(err, CF_EINVAL, "The TagKey or TagValue you have provided "
                           "is invalid");
        if (kc < 1 || kc > ST_MAX_TAG_KEY)
            return cf_fail(err, CF_EINVAL, "The TagKey you have provided is %s, "
                           "it must be 1 to %d characters", kc ? "too long" : "empty",
                           ST_MAX_TAG_KEY);
        if (vc > ST_MAX_TAG_VALUE)
            return cf_fail(err, CF_EINVAL, "The TagValue you have provided is too long, "
                           "max %d", ST_MAX_TAG_VALUE);
        if (strncmp(tags[i].name, "aws:", 4) == 0)
            return cf_fail(err, CF_EINVAL, "Your TagKey cannot be prefixed with aws:");
        for (size_t j = 0; j < i; j++)
            if (strcmp(tags[i].name, tags[j].name) == 0)
                return cf_fail(err, CF_EINVAL, "Cannot provide multiple Tags with the "
                               "same key");
    }
    return 0;
}

int tags_to_json(const st_header *tags, size_t n, char **json, cf_err *err)
{
    *json = NULL;
    if (st_tags_check(tags, n, err) < 0)
        return -1;
    if (n == 0)
        return 0;
    *json = headers_to_json(tags, n, err);
    return *json ? 0 : -1;
}

int tags_set_locked(st_engine *e, const uint8_t owner[16], const char *json,
                    cf_err *err)
{
    idx_assert_held(e->ix);
    if (!json)
        return idx_run(e->ix, NULL, err, "DELETE FROM object_tags WHERE owner_id = ?", "b",
                       owner, (size_t)16);
    return idx_run(e->ix, NULL, err, "INSERT OR REPLACE INTO object_tags VALUES (?, ?)",
                   "bt", owner, (size_t)16, json);
}

int tags_load_locked(st_engine *e, const uint8_t owner[16], st_header **tags,
                     size_t *n, cf_err *err)
{
    idx_assert_held(e->ix);
    char *json;
    *tags = NULL;
    *n = 0;
    if (tags_json_locked(e, owner, &json, err) < 0)
        return -1;
    int rc = json ? headers_from_json(json, tags, n, err) : 0;
    free(json);
    return rc;
}

int tags_json_locked(st_engine *e, const uint8_t owner[16], char **json,
                     cf_err *err)
{
    idx_assert_held(e->ix);
    *json = NULL;
    sqlite3_stmt *st = idx_query(e->ix, err,
                                 "SELECT tags FROM object_tags WHERE owner_id = ?", "b",
                                 owner, (size_t)16);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc != 1)
        return rc;
    *json = strdup(idx_text(st, 0));
    idx_done(st);
    return *json ? 0 : cf_fail(err, CF_ENOMEM, "out of memory");
}

int tags_move_locked(st_engine *e, const uint8_t from[16], const uint8_t to[16],
                     cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_run(e->ix, NULL, err, "UPDATE object_tags SET owner_id = ? WHERE owner_id = ?",
                   "bb", to, (size_t)16, from, (size_t)16);
}

void st_tags_free(st_header *tags, size_t n)
{
    headers_free(tags, n);
}

int st_tags_get(st_engine *e, const char *tenant, const char *bucket, const char *key,
                const char *version, st_header **tags, size_t *n, cf_err *err)
{
    uint8_t vid[16];
    *tags = NULL;
    *n = 0;
    idx_lock(e->ix);
    int rc = obj_named_locked(e, tenant, bucket, key, version, NULL, vid, err);
    if (rc == 0)
        rc = tags_load_locked(e, vid, tags, n, err) < 0 ? -1 : 0;
    idx_unlock(e->ix);
    return rc;
}

int st_tags_put(st_engine *e, const char *tenant, const char *bucket, const char *key,
                const char *version, const st_header *tags, size_t n, cf_err *err)
{
    char *json;
    if (tags_to_json(tags, n, &json, err) < 0)
        return -1;
    uint8_t vid[16];
    idx_lock(e->ix);
    int rc = obj_named_locked(e, tenant, bucket, key, version, NULL, vid, err);
    if (rc == 0)
        rc = tags_set_locked(e, vid, json, err);
    if (rc == 0)
        obj_journal_version_locked(e, vid);  /* its key's JRN_KEY holds the tags */
    rc = eng_unlock_durable(e, rc, err);
    free(json);
    return rc;
}
