/*
 * storage/upload.c - multipart uploads: the uploads and parts tables.
 *
 * An upload is a row in `uploads`; each UploadPart is an ordinary segment
 * written by the PUT path (put.c) and recorded in `parts` by
 * upload_put_part_locked (a re-uploaded part sends the old segment to the
 * delete queue). Completing turns the
 * chosen parts' rows into the new object version's `segments` rows in one
 * transaction: no data is read or copied. Parts not named in the
 * completion go to the delete queue, as do all parts of an aborted upload.
 *
 * ETag of the result: MD5 of the concatenated binary part MD5s, "-N"
 * (for SSE-C parts the md5 column holds the bytes of their opaque ETags).
 * With a checksum algorithm every part has that checksum (computed when
 * the client sent none) and the object gets either a COMPOSITE checksum,
 * the algorithm over the concatenated raw part checksums, "-N" (what S3
 * reports), or, for a FULL_OBJECT upload (CRCs only), the CRC of the
 * whole object, combined from the part CRCs and sizes
 * (common/checksum.h: cks_crc_combine) without reading any data.
 *
 * The version a completion makes records the upload id; a completion
 * that finds its upload gone looks there (object.c: obj_completed_locked)
 * so that a retry of a completion that went through succeeds again.
 */
#include "storage/engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/checksum.h"
#include "common/etag.h"
#include "storage/manifest.h"
#include "common/hex.h"

/* S3's rules for a checksum type: FULL_OBJECT only for the CRCs, and
 * CRC64NVME only as FULL_OBJECT. */
static int check_cks_type(cks_algo algo, bool full, cf_err *err)
{
    if (full && algo == CKS_NONE)
        return cf_fail(err, CF_EINVAL, "a FULL_OBJECT checksum type needs a checksum "
                       "algorithm");
    if (full && !cks_is_crc(algo))
        return cf_fail(err, CF_EINVAL, "The FULL_OBJECT checksum type cannot be used "
                       "with the %s checksum algorithm", cks_algo_name(algo));
    if (!full && algo == CKS_CRC64NVME)
        return cf_fail(err, CF_EINVAL, "The COMPOSITE checksum type cannot be used "
                       "with the CRC64NVME checksum algorithm");
    return 0;
}

int st_upload_create(st_engine *e, const st_upload_args *a, char upload_id[ST_ID_HEX],
                     cf_err *err)
{
    uint8_t id[16], ssec[CRYPT_SSEC_LEN];
    size_t klen = strlen(a->key);
    if (klen == 0 || klen > ST_MAX_KEY)
        return cf_fail(err, klen ? CF_ETOOLARGE : CF_EINVAL, "bad object key length");
    tiering_attrs at;
    if (check_cks_type(a->checksum_algo, a->checksum_full, err) < 0 ||
        headers_check(a->headers, a->nheaders, err) < 0 || crypt_random(id, 16, err) < 0 ||
        (a->ssec_key && crypt_ssec_new(a->ssec_key, ssec, err) < 0) ||
        tiering_attrs_prepare(e, &a->attrs, a->ssec_key != NULL, &at, err) < 0)
        return -1;
    char *json = headers_to_json(a->headers, a->nheaders, err);
    if (!json) {
        tiering_attrs_clear(&at);
        return -1;
    }
    int64_t bid, now = eng_now_ms();
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, a->tenant, a->bucket, &bid, err);
    if (rc == 0 && (a->lock.lock_mode != ST_LOCK_NONE || a->lock.legal_hold != ST_HOLD_UNSET))
        rc = obj_lock_check_locked(e, bid, &a->lock, err);
    if (rc == 0 && (rc = idx_begin(e->ix, err)) == 0) {
        rc = idx_run(e->ix, NULL, err,
                     "INSERT INTO uploads (upload_id, bucket_id, key, created_ms, cks_algo, "
                     "headers, cks_full, ssec, lock_mode, retain_until_ms, legal_hold) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     "bibiitibiii", id, (size_t)16, bid, a->key, klen, now,
                     (int64_t)a->checksum_algo, json, (int64_t)a->checksum_full,
                     a->ssec_key ? ssec : NULL, (size_t)CRYPT_SSEC_LEN,
                     (int64_t)a->lock.lock_mode, a->lock.retain_until_ms,
                     (int64_t)a->lock.legal_hold);
        if (rc == 0)
            rc = tiering_attrs_store_locked(e, id, &at, err);
        rc = rc == 0 ? idx_commit(e->ix, err) : (idx_rollback(e->ix), -1);
        if (rc == 0) {
            jrnrec_upload ju = {
                .tenant = a->tenant, .bucket = a->bucket, .key = a->key, .upload_id = id,
                .created_ms = now, .algo = (int)a->checksum_algo, .headers = json,
                .cks_full = a->checksum_full, .ssec = a->ssec_key ? ssec : NULL,
                .lock_mode = a->lock.lock_mode, .legal_hold = a->lock.legal_hold,
                .retain_until_ms = a->lock.retain_until_ms, .tags = at.tags_json,
                .tier_id = at.tier_id};
            jrnrec_upload_locked(e, &ju);
        }
    }
    rc = eng_unlock_durable(e, rc, err);
    tiering_attrs_clear(&at);
    free(json);
    if (rc == 0)
        eng_id_to_hex(id, upload_id);
    return rc;
}

typedef struct upload_row {
    int64_t bucket_id;
    uint8_t id[16];
    bool id_ok;                      /* id holds the parsed upload id */
    cks_algo algo;
    bool full;
    int64_t created_ms;
    bool has_ssec;
    uint8_t ssec[CRYPT_SSEC_LEN];
    char *headers_json;
    st_write_opts lock;              /* the create's x-amz-object-lock-* */
} upload_row;

static cks_algo algo_of(int64_t a)
{
    return a > CKS_NONE && a < CKS_MD5 ? (cks_algo)a : CKS_NONE;
}

/* Resolve (tenant, bucket, key, upload id) to its row; CF_ENOUPLOAD if the
 * upload does not exist or belongs to another key or bucket. */
static int upload_lookup_locked(st_engine *e, const char *tenant, const char *bucket,
                                const char *key, const char *upload_id, upload_row *u,
                                cf_err *err)
{
    idx_assert_held(e->ix);
    memset(u, 0, sizeof *u);
    if (bucket_id_locked(e, tenant, bucket, &u->bucket_id, err) < 0)
        return -1;
    if (eng_id_from_hex(upload_id, u->id) < 0)
        return cf_fail(err, CF_ENOUPLOAD, "no such upload");
    u->id_ok = true;
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT cks_algo, headers, cks_full, created_ms, ssec, lock_mode, retain_until_ms, "
        "legal_hold FROM uploads "
        "WHERE upload_id = ? AND bucket_id = ? AND key = ?", "bib", u->id, (size_t)16,
        u->bucket_id, key, strlen(key));
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        u->algo = algo_of(idx_int(st, 0));
        u->headers_json = strdup(idx_text(st, 1));
        u->full = idx_int(st, 2) != 0;
        u->created_ms = idx_int(st, 3);
        u->has_ssec = sqlite3_column_type(st, 4) == SQLITE_BLOB &&
                      idx_blob(st, 4, u->ssec, CRYPT_SSEC_LEN) == 0;
        u->lock.lock_mode = (int)idx_int(st, 5);
        u->lock.retain_until_ms = idx_int(st, 6);
        u->lock.legal_hold = (int)idx_int(st, 7);
        idx_done(st);
        return u->headers_json ? 0 : cf_fail(err, CF_ENOMEM, "out of memory");
    }
    return rc < 0 ? -1 : cf_fail(err, CF_ENOUPLOAD, "no such upload");
}

/* Move every part of the upload to the delete queue and drop the upload. */
static int drop_upload_locked(st_engine *e, const uint8_t id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    int rc = deleteq_upload_locked(e, id, err);
    if (rc == 0)
        rc = tiering_attrs_drop_locked(e, id, err);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "DELETE FROM parts WHERE upload_id = ?", "b",
                     id, (size_t)16);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "DELETE FROM uploads WHERE upload_id = ?", "b",
                     id, (size_t)16);
    return rc;
}

int st_upload_abort(st_engine *e, const char *tenant, const char *bucket,
                    const char *key, const char *upload_id, cf_err *err)
{
    upload_row u;
    idx_lock(e->ix);
    int rc = upload_lookup_locked(e, tenant, bucket, key, upload_id, &u, err);
    if (rc == 0 && (rc = idx_begin(e->ix, err)) == 0) {
        rc = drop_upload_locked(e, u.id, err);
        rc = rc == 0 ? idx_commit(e->ix, err) : (idx_rollback(e->ix), -1);
        if (rc == 0)
            jrnrec_upload_end_locked(e, u.id);
    }
    rc = eng_unlock_durable(e, rc, err);
    free(u.headers_json);
    if (rc == 0)
        deleteq_drain(e);
    return rc;
}

/* ---- complete ----------------------------------------------------------- */

typedef struct complete_state {
    cks_state *md5;                  /* over the part MD5s: the ETag */
    cks_state *cks;                  /* COMPOSITE: over the raw part checksums */
    bool full;                       /* FULL_OBJECT: crc = combined part CRCs */
    uint8_t crc[CKS_MAX_RAW];
    uint64_t size;
    uint8_t version_id[16];
} complete_state;

/* Check one listed part and turn it into segment seq of the new version. */
static int adopt_part_locked(st_engine *e, const upload_row *u, complete_state *cs,
                             const st_complete_part *cp, int seq, bool last,
                             cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT data_id, size, etag, md5, cks, wrapped, missing, inline_data "
        "FROM parts WHERE upload_id = ? AND part = ?", "bi", u->id, (size_t)16,
        (int64_t)cp->part_number);
    int found = st ? idx_next(e->ix, st, err) : -1;
    if (found <= 0)
        return found < 0 ? -1 : cf_fail(err, CF_EBADPART, "part %u was not uploaded",
                                        cp->part_number);
    int rc = 0;
    uint64_t size = (uint64_t)idx_int(st, 1);
    uint8_t md5[16], raw[CKS_MAX_RAW];
    size_t rawlen = cks_raw_len(u->algo);
    const char *cks = idx_text(st, 4);
    if (!etag_equal(idx_text(st, 2), cp->etag))
        rc = cf_fail(err, CF_EBADPART, "part %u has a different ETag", cp->part_number);
    else if (!last && size < ST_MIN_PART_SIZE)
        rc = cf_fail(err, CF_ETOOSMALL, "part %u is %llu bytes; all but the last "
                     "part must be at least 5 MiB", cp->part_number,
                     (unsigned long long)size);
    else if (idx_blob(st, 3, md5, 16) < 0)
        rc = cf_fail(err, CF_ECORRUPT, "index: bad part MD5");
    else if (u->algo != CKS_NONE && cks_from_base64(cks, raw, rawlen, NULL) < 0)
        rc = cf_fail(err, CF_EBADPART, "part %u has no %s checksum", cp->part_number,
                     cks_algo_name(u->algo));
    else if (u->algo != CKS_NONE && cp->checksum_b64 &&
             strcmp(cp->checksum_b64, cks) != 0)
        rc = cf_fail(err, CF_EBADPART, "part %u has a different checksum",
                     cp->part_number);
    if (rc == 0) {
        cks_update(cs->md5, md5, 16);
        if (cs->cks)
            cks_update(cs->cks, raw, rawlen);
        if (cs->full && seq == 0)
            memcpy(cs->crc, raw, rawlen);
        else if (cs->full)
            cks_crc_combine(u->algo, cs->crc, raw, size, cs->crc);
        cs->size += size;
        rc = obj_segment_from_part_locked(e, cs->version_id, seq, u->id, cp->part_number,
                                          err);
    }
    idx_done(st);
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err, "DELETE FROM parts WHERE upload_id = ? AND part = ?",
                     "bi", u->id, (size_t)16, (int64_t)cp->part_number);
    return rc;
}

/* The object's ETag and checksum from the adopted parts into info, and
 * what the client declared of them checked. */
static int finish_digests(const upload_row *u, const st_complete_args *a,
                          complete_state *cs, st_object_info *info, cf_err *err)
{
    uint8_t raw[CKS_MAX_RAW];
    char hex[33], b64[CKS_MAX_B64] = "";
    cks_final(cs->md5, raw);
    hex_encode(raw, 16, hex, sizeof hex);
    memset(info, 0, sizeof *info);
    snprintf(info->etag, sizeof info->etag, "\"%s-%zu\"", hex, a->nparts);
    if (u->algo != CKS_NONE) {
        size_t n = cs->full ? cks_raw_len(u->algo) : cks_final(cs->cks, raw);
        cks_to_base64(cs->full ? cs->crc : raw, n, b64, sizeof b64);
        if (cs->full)
            snprintf(info->checksum_b64, sizeof info->checksum_b64, "%s", b64);
        else
            snprintf(info->checksum_b64, sizeof info->checksum_b64, "%s-%zu", b64,
                     a->nparts);
        info->checksum_algo = u->algo;
        info->checksum_composite = !cs->full;
    }
    if (a->expected_size >= 0 && (uint64_t)a->expected_size != cs->size)
        return cf_fail(err, CF_EINVAL, "The provided x-amz-mp-object-size (%lld) does "
                       "not match the object's size (%llu)", (long long)a->expected_size,
                       (unsigned long long)cs->size);
    if (a->checksum_type != ST_CKS_TYPE_UNSAID &&
        (u->algo == CKS_NONE || (a->checksum_type == ST_CKS_FULL_OBJECT) != cs->full))
        return cf_fail(err, CF_EINVAL, "The upload was created with %s checksum type %s",
                       u->algo == CKS_NONE ? "no" : "the",
                       u->algo == CKS_NONE ? "" : cs->full ? "FULL_OBJECT" : "COMPOSITE");
    if (!a->checksum_b64)
        return 0;
    if (a->checksum_algo != u->algo)
        return cf_fail(err, CF_EINVAL, "The upload was created with %s checksum algorithm%s%s",
                       u->algo == CKS_NONE ? "no" : "the",
                       u->algo == CKS_NONE ? "" : " ",
                       u->algo == CKS_NONE ? "" : cks_algo_name(u->algo));
    /* a composite value may be sent with or without its "-N" */
    const char *want = cs->full ? info->checksum_b64 : b64;
    size_t wl = strlen(want), gl = strlen(a->checksum_b64);
    bool same = gl >= wl && memcmp(a->checksum_b64, want, wl) == 0 &&
                (gl == wl || (!cs->full && strcmp(a->checksum_b64 + wl,
                                                   info->checksum_b64 + wl) == 0));
    if (!same)
        return cf_fail(err, CF_EDIGEST, "the %s checksum does not match the object's",
                       cks_algo_name(u->algo));
    return 0;
}

/* Replace the key's current version (if any) with the completed one, if
 * the quotas admit it (decided here, in the completion's transaction). */
static int publish_version_locked(st_engine *e, const upload_row *u, const char *key,
                                  complete_state *cs, size_t nparts, bool no_overwrite,
                                  st_object_info *info, cf_err *err)
{
    idx_assert_held(e->ix);
    if (quota_admit_locked(e, u->bucket_id, key, cs->size, err) < 0)
        return -1;
    info->mtime_ms = eng_now_ms();
    info->size = cs->size;
    info->nparts = (int)nparts;
    info->ssec = u->has_ssec;
    snprintf(info->key, sizeof info->key, "%s", key);
    eng_id_to_hex(cs->version_id, info->version_id);
    obj_row o = {
        .bucket_id = u->bucket_id, .key = key, .version_id = cs->version_id,
        .size = cs->size, .etag = info->etag, .mtime_ms = info->mtime_ms,
        .algo = u->algo, .checksum_b64 = u->algo != CKS_NONE ? info->checksum_b64 : NULL,
        .composite = info->checksum_composite, .nparts = (int)nparts,
        .headers_json = u->headers_json, .upload_id = u->id,
        .ssec = u->has_ssec ? u->ssec : NULL,
    };
    st_write_opts opts = u->lock;
    opts.no_overwrite = no_overwrite;
    info->latest = true;
    int rc = obj_publish_locked(e, &o, &opts, &info->null_version,
                                &info->versioned_bucket, err);
    if (rc == 0)
        rc = tiering_attrs_adopt_locked(e, u->id, cs->version_id, err);
    return rc;
}

static int complete_locked(st_engine *e, const upload_row *u, const st_complete_args *a,
                           complete_state *cs, st_object_info *info, cf_err *err)
{
    idx_assert_held(e->ix);
    for (size_t i = 1; i < a->nparts; i++)
        if (a->parts[i].part_number <= a->parts[i - 1].part_number)
            return cf_fail(err, CF_EPARTORDER, "parts must be listed in ascending order");
    uint8_t kek[CRYPT_KEY_LEN];
    bool has;
    if (a->ssec_key && eng_ssec_kek(e, a->tenant, u->has_ssec ? u->ssec : NULL,
                                    a->ssec_key, kek, &has, err) < 0)
        return -1;
    crypt_wipe(kek, sizeof kek);
    int rc = idx_begin(e->ix, err);
    if (rc == 0)
        rc = obj_check_cond_locked(e, u->bucket_id, a->key, &a->cond, u->created_ms, err);
    for (size_t i = 0; rc == 0 && i < a->nparts; i++)
        rc = adopt_part_locked(e, u, cs, &a->parts[i], (int)i, i + 1 == a->nparts, err);
    if (rc == 0)
        rc = finish_digests(u, a, cs, info, err);
    if (rc == 0)
        rc = publish_version_locked(e, u, a->key, cs, a->nparts, a->no_overwrite, info, err);
    if (rc == 0)
        rc = drop_upload_locked(e, u->id, err);
    if (rc == 0)
        return idx_commit(e->ix, err);
    idx_rollback(e->ix);
    return -1;
}

int st_upload_complete(st_engine *e, const st_complete_args *a, st_object_info *info,
                       cf_err *err)
{
    if (a->nparts == 0 || a->nparts > ST_MAX_PARTS)
        return cf_fail(err, CF_EINVAL, "a completion lists 1 to %d parts", ST_MAX_PARTS);
    complete_state cs = {0};
    upload_row u = {0};
    idx_lock(e->ix);
    int rc = upload_lookup_locked(e, a->tenant, a->bucket, a->key, a->upload_id, &u, err);
    if (rc < 0 && err->code == CF_ENOUPLOAD && u.id_ok) {
        /* gone: completed already, by a request whose answer was lost? */
        cf_err lookup = *err;
        int done = obj_completed_locked(e, u.bucket_id, a->key, u.id, a->parts, a->nparts,
                                        info, err);
        idx_unlock(e->ix);
        if (done == 0)
            *err = lookup;
        return done == 1 ? 0 : -1;
    }
    cs.full = u.full;
    if (rc == 0 && (!(cs.md5 = cks_new(CKS_MD5, err)) ||
                    (u.algo != CKS_NONE && !u.full && !(cs.cks = cks_new(u.algo, err))) ||
                    crypt_random(cs.version_id, 16, err) < 0))
        rc = -1;
    if (rc == 0)
        rc = complete_locked(e, &u, a, &cs, info, err);
    if (rc == 0)
        jrnrec_upload_end_locked(e, u.id);
    rc = eng_unlock_durable(e, rc, err);
    cks_free(cs.md5);
    cks_free(cs.cks);
    free(u.headers_json);
    /* the completed object described on every disk, before it is
     * acknowledged (a crash first: scrub and heal --all write it again) */
    int copies = 0;
    cf_err merr;
    if (rc == 0 && man_write(e, cs.version_id, u.id, -1, &copies, &merr) < 0)
        fprintf(stderr, "coffer: manifest of %s/%s: %s (scrub writes it again)\n",
                a->bucket, a->key, merr.msg);
    if (rc == 0)
        deleteq_drain(e);
    return rc;
}

/* ---- listings ----------------------------------------------------------- */

/* A listing page: at most max rows to the callback; one more means the
 * page is truncated (the queries ask for max + 1). */
typedef struct page {
    st_part_cb part_cb;
    st_upload_cb upload_cb;
    void *ctx;
    int n, max;
    bool *truncated;
} page;

/* 0 to take the row, 1 when the page is full. */
static int page_full(page *l)
{
    if (l->n++ < l->max)
        return 0;
    *l->truncated = true;
    return 1;
}

static int part_row(void *ctx, sqlite3_stmt *st, cf_err *err)
{
    (void)err;
    page *l = ctx;
    if (page_full(l))
        return 1;
    st_part_info p = {.part_number = (uint32_t)idx_int(st, 0),
                      .size = (uint64_t)idx_int(st, 1), .mtime_ms = idx_int(st, 4)};
    snprintf(p.etag, sizeof p.etag, "%s", idx_text(st, 2));
    snprintf(p.checksum_b64, sizeof p.checksum_b64, "%s", idx_text(st, 3));
    return l->part_cb(l->ctx, &p) != 0;
}

static int upload_row_cb(void *ctx, sqlite3_stmt *st, cf_err *err)
{
    page *l = ctx;
    if (page_full(l))
        return 1;
    st_upload_info up = {.created_ms = idx_int(st, 2)};
    int klen = sqlite3_column_bytes(st, 0);
    uint8_t id[16];
    if (klen > ST_MAX_KEY || idx_blob(st, 1, id, 16) < 0)
        return cf_fail(err, CF_ECORRUPT, "index: malformed upload row");
    memcpy(up.key, sqlite3_column_blob(st, 0), (size_t)klen);
    up.key[klen] = '\0';
    eng_id_to_hex(id, up.upload_id);
    up.checksum_algo = algo_of(idx_int(st, 3));
    up.checksum_full = idx_int(st, 4) != 0;
    up.ssec = idx_int(st, 5) != 0;
    return l->upload_cb(l->ctx, &up) != 0;
}

int st_upload_list_parts(st_engine *e, const char *tenant, const char *bucket,
                         const char *key, const char *upload_id, uint32_t part_marker,
                         int max_parts, st_part_cb cb, void *ctx, bool *truncated,
                         st_upload_info *up, cf_err *err)
{
    upload_row u;
    *truncated = false;
    idx_lock(e->ix);
    int rc = upload_lookup_locked(e, tenant, bucket, key, upload_id, &u, err);
    if (rc == 0 && up) {
        memset(up, 0, sizeof *up);
        snprintf(up->key, sizeof up->key, "%s", key);
        eng_id_to_hex(u.id, up->upload_id);
        up->created_ms = u.created_ms;
        up->checksum_algo = u.algo;
        up->checksum_full = u.full;
        up->ssec = u.has_ssec;
    }
    sqlite3_stmt *st = rc == 0 ? idx_query(e->ix, err,
        "SELECT part, size, etag, cks, mtime_ms FROM parts WHERE upload_id = ? "
        "AND part > ? ORDER BY part LIMIT ?", "bii", u.id, (size_t)16,
        (int64_t)part_marker, (int64_t)max_parts + 1) : NULL;
    page l = {.part_cb = cb, .ctx = ctx, .max = max_parts, .truncated = truncated};
    if (rc == 0)
        rc = idx_each(e->ix, st, part_row, &l, err);
    idx_unlock(e->ix);
    free(u.headers_json);
    return rc;
}

int st_upload_list(st_engine *e, const char *tenant, const char *bucket,
                   const char *prefix, const char *key_marker,
                   const char *upload_id_marker, int max_uploads, st_upload_cb cb,
                   void *ctx, bool *truncated, cf_err *err)
{
    int64_t bid;
    uint8_t marker_id[16] = {0};
    const char *km = key_marker ? key_marker : "";
    const char *pf = prefix ? prefix : "";
    bool with_id = upload_id_marker && eng_id_from_hex(upload_id_marker, marker_id) == 0;
    *truncated = false;
    idx_lock(e->ix);
    int rc = bucket_id_locked(e, tenant, bucket, &bid, err);
    /* after (key_marker, upload_id_marker): same key with a larger id, or a
     * larger key; without an id marker, strictly larger keys. */
    sqlite3_stmt *st = rc == 0 ? idx_query(e->ix, err,
        "SELECT key, upload_id, created_ms, cks_algo, cks_full, ssec IS NOT NULL "
        "FROM uploads WHERE bucket_id = ?1 "
        "AND (key > ?2 OR (key = ?2 AND ?3 IS NOT NULL AND upload_id > ?3)) "
        "AND substr(key, 1, ?5) = ?4 ORDER BY key, upload_id LIMIT ?6",
        "ibbbii", bid, km, strlen(km), with_id ? marker_id : NULL, (size_t)16,
        pf, strlen(pf), (int64_t)strlen(pf), (int64_t)max_uploads + 1) : NULL;
    page l = {.upload_cb = cb, .ctx = ctx, .max = max_uploads, .truncated = truncated};
    if (rc == 0)
        rc = idx_each(e->ix, st, upload_row_cb, &l, err);
    idx_unlock(e->ix);
    return rc;
}

/* ---- parts for the other engine files ----------------------------------- */

int upload_info_locked(st_engine *e, const uint8_t upload_id[16], int64_t *created_ms,
                       cks_algo *algo, char **headers_json, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT created_ms, cks_algo, headers FROM uploads WHERE upload_id = ?", "b",
        upload_id, (size_t)16);
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc != 1)
        return rc < 0 ? -1 : cf_fail(err, CF_ENOUPLOAD, "no such upload");
    *created_ms = idx_int(st, 0);
    *algo = (cks_algo)idx_int(st, 1);
    *headers_json = strdup(idx_text(st, 2));
    idx_done(st);
    return *headers_json ? 0 : cf_fail(err, CF_ENOMEM, "out of memory");
}

int upload_check_locked(st_engine *e, const uint8_t upload_id[16], int64_t bucket_id,
                        const char *key, upload_ref *ref, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT cks_algo, ssec, lock_mode OR legal_hold FROM uploads WHERE upload_id = ? "
        "AND bucket_id = ? AND key = ?", "bib", upload_id, (size_t)16, bucket_id, key,
        strlen(key));
    int rc = st ? idx_next(e->ix, st, err) : -1;
    if (rc == 1) {
        if (ref) {
            ref->algo = algo_of(idx_int(st, 0));
            ref->locked = idx_int(st, 2) != 0;
            ref->has_ssec = sqlite3_column_type(st, 1) == SQLITE_BLOB &&
                            idx_blob(st, 1, ref->ssec, CRYPT_SSEC_LEN) == 0;
        }
        idx_done(st);
        return 0;
    }
    return rc < 0 ? -1 : cf_fail(err, CF_ENOUPLOAD, "no such upload");
}

int upload_put_part_locked(st_engine *e, const upload_part_row *p, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT data_id FROM parts WHERE upload_id = ? AND part = ?", "bi",
        p->upload_id, (size_t)16, (int64_t)p->part);
    int found = st ? idx_next(e->ix, st, err) : -1;
    int rc = found < 0 ? -1 : 0;
    if (found == 1) {
        uint8_t old[16];
        rc = idx_blob(st, 0, old, sizeof old);
        idx_done(st);
        if (rc == 0)
            rc = deleteq_data_locked(e, old, err);
    }
    const seg_result *res = p->res;
    if (rc == 0)
        rc = idx_run(e->ix, NULL, err,
                     "INSERT OR REPLACE INTO parts (upload_id, part, data_id, size, etag, md5, "
                     "cks, mtime_ms, wrapped, missing, inline_data) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     "bibitbtibib", p->upload_id, (size_t)16, (int64_t)p->part,
                     p->data_id, (size_t)16, (int64_t)res->size, p->etag, p->md5,
                     (size_t)16, p->checksum_b64, p->mtime_ms, p->wrapped,
                     (size_t)CRYPT_WRAPPED_LEN, (int64_t)res->missing,
                     res->inline_data, res->inline_len);
    if (rc == 0 && res->packed)
        rc = packidx_insert_locked(e, p->data_id, res, err);
    if (rc == 0 && res->missing)
        rc = heal_queue_locked(e, p->data_id, err);
    return rc;
}

int upload_bytes_locked(st_engine *e, const uint8_t upload_id[16], uint32_t except_part,
                        uint64_t *bytes, cf_err *err)
{
    idx_assert_held(e->ix);
    int64_t n = 0;
    int rc = idx_scalar(e->ix, &n, err, "SELECT coalesce(sum(size), 0) FROM parts"
                        " WHERE upload_id = ? AND part != ?", "bi", upload_id, (size_t)16,
                        (int64_t)except_part);
    *bytes = (uint64_t)n;
    return rc;
}

int upload_drop_bucket_locked(st_engine *e, int64_t bucket_id, cf_err *err)
{
    idx_assert_held(e->ix);
    uint8_t ids[64][16];
    int n;
    do {
        n = eng_ids_read(e, idx_query(e->ix, err,
            "SELECT upload_id FROM uploads WHERE bucket_id = ? LIMIT 64", "i", bucket_id),
            ids, 64, err);
        for (int i = 0; n > 0 && i < n; i++)
            if (drop_upload_locked(e, ids[i], err) < 0)
                return -1;
    } while (n == 64);
    return n < 0 ? -1 : 0;
}

int upload_locate_part_locked(st_engine *e, const uint8_t data_id[16], eng_seg_loc *loc,
                              cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT p.upload_id, p.part, p.size, p.wrapped, t.name, b.name, u.key "
        "FROM parts p JOIN uploads u ON u.upload_id = p.upload_id "
        "JOIN buckets b ON b.id = u.bucket_id JOIN tenants t ON t.id = b.tenant_id "
        "WHERE p.data_id = ? AND p.inline_data IS NULL LIMIT 1", "b", data_id,
        (size_t)16);
    return st ? eng_seg_loc_read(e, st, loc, err) : -1;
}

int upload_walk_locked(st_engine *e, int64_t only_bucket, const uint8_t after_upload[16],
                       uint32_t after_part, upload_walk_item *out, int max, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT p.upload_id, p.part, p.size, p.wrapped, t.name, b.name, u.key, p.data_id, "
        "p.etag, p.cks, u.cks_algo, p.inline_data, u.ssec IS NOT NULL "
        "FROM parts p JOIN uploads u ON u.upload_id = p.upload_id "
        "JOIN buckets b ON b.id = u.bucket_id JOIN tenants t ON t.id = b.tenant_id "
        "WHERE (p.upload_id, p.part) > (?1, ?2) AND (?3 = 0 OR u.bucket_id = ?3) "
        "ORDER BY p.upload_id, p.part LIMIT ?4", "biii", after_upload, (size_t)16,
        (int64_t)after_part, only_bucket, (int64_t)max);
    int n = 0, rc = st ? 0 : -1;
    while (st && n < max && (rc = idx_next(e->ix, st, err)) == 1) {
        upload_walk_item *it = &out[n];
        memset(it, 0, sizeof *it);
        int klen = sqlite3_column_bytes(st, 6);
        if (idx_blob(st, 0, it->loc.object_id, 16) < 0 ||
            idx_blob(st, 3, it->loc.wrapped, CRYPT_WRAPPED_LEN) < 0 ||
            idx_blob(st, 7, it->data_id, 16) < 0 || klen > ST_MAX_KEY) {
            idx_done(st);
            return cf_fail(err, CF_ECORRUPT, "index: malformed part row");
        }
        it->loc.part = (uint32_t)idx_int(st, 1);
        it->loc.size = (uint64_t)idx_int(st, 2);
        snprintf(it->loc.tenant, sizeof it->loc.tenant, "%s", idx_text(st, 4));
        snprintf(it->loc.bucket, sizeof it->loc.bucket, "%s", idx_text(st, 5));
        memcpy(it->loc.key, sqlite3_column_blob(st, 6), (size_t)klen);
        it->loc.key[klen] = '\0';
        snprintf(it->etag, sizeof it->etag, "%s", idx_text(st, 8));
        snprintf(it->cks, sizeof it->cks, "%s", idx_text(st, 9));
        it->algo = (cks_algo)idx_int(st, 10);
        it->ssec = idx_int(st, 12) != 0;
        if (sqlite3_column_type(st, 11) == SQLITE_BLOB) {
            it->inline_len = (size_t)sqlite3_column_bytes(st, 11);
            if (!(it->inline_data = malloc(it->inline_len ? it->inline_len : 1))) {
                idx_done(st);
                while (n-- > 0)
                    free(out[n].inline_data);
                return cf_fail(err, CF_ENOMEM, "out of memory");
            }
            memcpy(it->inline_data, sqlite3_column_blob(st, 11), it->inline_len);
        }
        n++;
    }
    if (st && rc == 1)
        idx_done(st);
    return rc < 0 ? -1 : n;
}

int upload_part_healed_locked(st_engine *e, const uint8_t data_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_run(e->ix, NULL, err, "UPDATE parts SET missing = 0 WHERE data_id = ?",
                   "b", data_id, (size_t)16);
}

int upload_sharded_after_locked(st_engine *e, const uint8_t after[16], uint8_t ids[][16],
                                int max, cf_err *err)
{
    idx_assert_held(e->ix);
    sqlite3_stmt *st = idx_query(e->ix, err,
        "SELECT data_id FROM parts WHERE inline_data IS NULL "
        "AND data_id > ? ORDER BY data_id LIMIT ?", "bi", after, (size_t)16,
        (int64_t)max);
    return eng_ids_read(e, st, ids, max, err);
}

int upload_references_locked(st_engine *e, const uint8_t data_id[16], cf_err *err)
{
    idx_assert_held(e->ix);
    return idx_exists(e->ix, err, "SELECT 1 FROM parts WHERE data_id = ? LIMIT 1", "b",
                      data_id, (size_t)16);
}
