/*
 * storage/tieradopt.c - coffer tier recover: a version back into the
 * index from its remote object alone (lifecycle.h, st_tier_adopt).
 *
 * The remote object's header (tierfmt.c) opens with the master key and
 * names the tenant, the version and, sealed under the tenant's key, all
 * of the version's metadata and its segments with their wrapped data
 * keys. Adoption writes, in one transaction, what a transition would have
 * left: the tenant and bucket if they are missing, the version as its
 * key's current one, its segment rows (no local shards: they were freed
 * when it tiered; reads go to the remote, a restore writes them back),
 * its tags, and a TIERED version_tier row naming the remote object.
 *
 * Adoption never changes or removes what the index holds: a version the
 * index knows already is left as it is (so a second run
 * adds nothing), and so is a version whose key has another version here;
 * that one stays in the tier untouched and is counted. Nothing is queued
 * for deletion, local or remote.
 */
#include "storage/engine_int.h"
#include "storage/lifecycle.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"

/* The metadata's fields, pointing into doc. */
typedef struct adopt_meta {
    json_t *doc;
    const char *bucket, *key, *etag, *cks;
    uint8_t vid[16];
    uint64_t size;
    int64_t mtime_ms;
    int cks_algo, nparts;
    bool composite;
    char *headers_json, *tags_json;      /* malloc'd; tags NULL: none */
    json_t *segs;
} adopt_meta;

static void meta_clear(adopt_meta *m)
{
    json_decref(m->doc);
    free(m->headers_json);
    free(m->tags_json);
    memset(m, 0, sizeof *m);
}

static int meta_parse(st_engine *e, const st_remote_header *h, adopt_meta *m, cf_err *err)
{
    memset(m, 0, sizeof *m);
    json_int_t size = -1, mtime = 0, block = 0;
    int algo = 0, composite = 0, nparts = 0;
    const char *vhex = NULL;
    json_t *headers = NULL, *tags = NULL;
    m->doc = json_loads(h->meta, 0, NULL);
    if (!m->doc ||
        json_unpack(m->doc, "{s:s, s:s, s:s, s:I, s:s, s:I, s:i, s?s, s:b, s:i, s:o, s:o, "
                    "s:I, s:o}", "bucket", &m->bucket, "key", &m->key, "version_id", &vhex,
                    "size", &size, "etag", &m->etag, "mtime_ms", &mtime, "cks_algo", &algo,
                    "cks", &m->cks, "cks_composite", &composite, "nparts", &nparts,
                    "headers", &headers, "tags", &tags, "block_size", &block, "segments",
                    &m->segs) < 0 ||
        size < 0 || !json_is_array(m->segs) || eng_id_from_hex(vhex, m->vid) < 0 ||
        strcmp(vhex, h->version_id) != 0 || obj_check_key(m->key, err) < 0) {
        meta_clear(m);
        return cf_fail(err, CF_ECORRUPT, "remote object header: bad version metadata");
    }
    if (block != (json_int_t)e->set.block_size) {
        meta_clear(m);
        return cf_fail(err, CF_EINVAL, "the remote object was written with %lld-byte blocks "
                       "and this disk set uses %u", (long long)block, e->set.block_size);
    }
    if (m->cks && !*m->cks)
        m->cks = NULL;
    m->size = (uint64_t)size;
    m->mtime_ms = mtime;
    m->cks_algo = algo;
    m->composite = composite != 0;
    m->nparts = nparts;
    m->headers_json = json_is_array(headers) ? json_dumps(headers, JSON_COMPACT) : NULL;
    if (json_is_array(tags) && json_array_size(tags) > 0)
        m->tags_json = json_dumps(tags, JSON_COMPACT);
    if (!m->headers_json || (json_is_array(tags) && json_array_size(tags) && !m->tags_json)) {
        meta_clear(m);
        return cf_fail(err, CF_ECORRUPT, "remote object header: bad headers or tags");
    }
    return 0;
}

/* One segment of the metadata. */
static int meta_segment(json_t *s, uint8_t data_id[16], uint32_t *part,
                        uint64_t *size, uint8_t wrapped[CRYPT_WRAPPED_LEN], cf_err *err)
{
    const char *did = NULL, *wr = NULL;
    json_int_t p = 0, n = -1;
    size_t got = 0;
    if (json_unpack(s, "{s:s, s:I, s:I, s:s}", "data_id", &did, "part", &p, "size", &n,
                    "wrapped", &wr) < 0 || n < 0 || p < 0 || p > 10000 ||
        eng_id_from_hex(did, data_id) < 0 || strlen(wr) != 2 * CRYPT_WRAPPED_LEN ||
        hex_decode(wr, wrapped, CRYPT_WRAPPED_LEN, &got) < 0 || got != CRYPT_WRAPPED_LEN)
        return cf_fail(err, CF_ECORRUPT, "remote object header: bad segment");
    *part = (uint32_t)p;
    *size = (uint64_t)n;
    return 0;
}

static int adopt_locked(st_engine *e, int64_t tier_id, const char *remote_id,
                        const st_remote_header *h, const adopt_meta *m,
                        uint64_t remote_size, const char *remote_etag,
                        st_adopt_info *out, cf_err *err)
{
    idx_assert_held(e->ix);
    int64_t tenant_id, bucket_id;
    /* by version id (indexed): a version tiers to one remote object at a
     * time, and a second copy of one (an upload given up, waiting for its
     * delete) is not a second version */
    int have = obj_version_exists_locked(e, m->vid, err);
    if (have < 0)
        return -1;
    if (have) {
        out->result = ST_ADOPT_PRESENT;
        return 0;
    }
    if (idx_begin(e->ix, err) < 0)
        return -1;
    int rc = tenant_ensure_locked(e, h->tenant, &tenant_id, err);
    if (rc == 0)
        rc = bucket_ensure_locked(e, tenant_id, h->tenant, m->bucket, &bucket_id, err);
    sqlite3_stmt *st = NULL;
    int taken = rc == 0 ? obj_select_locked(e, bucket_id, m->key, &st, err) : -1;
    if (taken == 1)
        idx_done(st);
    if (taken != 0) {
        idx_rollback(e->ix);
        if (taken < 0)
            return -1;
        out->result = ST_ADOPT_KEY_TAKEN;
        return 0;
    }
    obj_row row = {
        .bucket_id = bucket_id, .key = m->key, .version_id = m->vid, .size = m->size,
        .etag = m->etag, .mtime_ms = m->mtime_ms, .algo = (cks_algo)m->cks_algo,
        .checksum_b64 = m->cks, .composite = m->composite, .nparts = m->nparts,
        .headers_json = m->headers_json,
    };
    rc = obj_publish_locked(e, &row, NULL, NULL, NULL, err);
    uint64_t sealed = 0;
    for (size_t i = 0; rc == 0 && i < json_array_size(m->segs); i++) {
        uint8_t did[16], wrapped[CRYPT_WRAPPED_LEN];
        uint32_t part = 0;
        seg_result res = {0};
        rc = meta_segment(json_array_get(m->segs, i), did, &part, &res.size, wrapped,
                          err);
        if (rc == 0)
            rc = obj_insert_segment_locked(e, m->vid, (int)i, did, part, wrapped, &res, err);
        sealed += rc == 0 ? eng_sealed_size(e, res.size) : 0;
    }
    if (rc == 0 && h->data_offset + sealed != remote_size)
        rc = cf_fail(err, CF_ECORRUPT, "remote object %s holds %llu bytes, its header "
                     "describes %llu", remote_id, (unsigned long long)remote_size,
                     (unsigned long long)(h->data_offset + sealed));
    if (rc == 0 && m->tags_json)
        rc = tags_set_locked(e, m->vid, m->tags_json, err);
    if (rc == 0)
        rc = tiering_adopt_locked(e, m->vid, tier_id, remote_id, remote_size,
                                  h->data_offset, remote_etag, err);
    if (rc == 0 && idx_commit(e->ix, err) == 0) {
        out->result = ST_ADOPT_ADDED;
        return 0;
    }
    idx_rollback(e->ix);
    return -1;
}

int st_tier_adopt(st_engine *e, int64_t tier_id, const char *remote_id,
                  const uint8_t *head, size_t len, uint64_t remote_size,
                  const char *remote_etag, st_adopt_info *out, cf_err *err)
{
    memset(out, 0, sizeof *out);
    st_remote_header h;
    adopt_meta m;
    if (st_remote_header_open(e->master, remote_id, head, len, &h, err) < 0)
        return -1;
    int rc = meta_parse(e, &h, &m, err);
    if (rc == 0) {
        snprintf(out->tenant, sizeof out->tenant, "%s", h.tenant);
        snprintf(out->bucket, sizeof out->bucket, "%s", m.bucket);
        snprintf(out->key, sizeof out->key, "%s", m.key);
        idx_lock(e->ix);
        rc = adopt_locked(e, tier_id, remote_id, &h, &m, remote_size, remote_etag, out, err);
        rc = eng_unlock_durable(e, rc, err);
        if (rc == 0 && out->result == ST_ADOPT_ADDED)
            eng_catalog_changed(e);
        meta_clear(&m);
    }
    st_remote_header_clear(&h);
    return rc;
}
