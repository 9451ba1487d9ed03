/*
 * storage/tierfmt.c - the header of a remote (tiered) object: what makes
 * the tier alone, with the master key, a recoverable copy of the data.
 *
 * A remote object is this header followed by the version's sealed stream
 * (every segment's blocks, ciphertext || GCM tag, exactly as they sit in
 * the shards before erasure coding). The header:
 *
 *   preamble (16 bytes): "COFTIER1" | outer_len (u32 LE) | 0 (u32)
 *   outer blob (outer_len bytes): AES-256-GCM under the tier key
 *       (HKDF of the master key, crypto.h), AAD "cofferT1" || remote id
 *       (32 hex) || preamble, of
 *       json_len (u32 LE) | {"v":1,"tenant":T,"version_id":V,"meta":BASE64}
 *       | zero padding
 *   the sealed stream starts at 16 + outer_len, a multiple of 4096
 *
 * where "meta" is the inner blob: AES-256-GCM under the tenant's KEK, AAD
 * "cofferM1" || the version id, of the version's metadata as JSON: bucket,
 * key, version id, size, ETag, mtime, checksum, part count, stored
 * headers, tags, block size and every segment's data id, part number,
 * size and wrapped data key (still wrapped under the KEK).
 *
 * So the remote sees random bytes under a random name: the tenant is
 * sealed under the master key, everything else under the tenant's key as
 * well; the padding hides the metadata's length to 4 KiB. Recovery with
 * the master key alone: open the outer blob (tier key), derive the named
 * tenant's KEK, open the metadata, unwrap each segment's data key, and
 * open the blocks (their nonce and AAD come from the data id, part and
 * block index, as for local shards).
 */
#include "storage/engine_int.h"
#include "common/le.h"
#include "storage/lifecycle.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/checksum.h"
#include "common/hex.h"

#define TIERFMT_MAGIC "COFTIER1"
#define TIERFMT_PREAMBLE 16
#define TIERFMT_ALIGN 4096u

/* The version's metadata, as JSON text (malloc'd). */
static char *meta_json(const char *bucket, const st_object_info *info,
                       const tierfmt_seg *segs, size_t nsegs, const char *tags_json,
                       uint32_t block_size, cf_err *err)
{
    json_t *headers = json_array(), *sarr = json_array();
    for (size_t i = 0; headers && i < info->nheaders; i++)
        json_array_append_new(headers, json_pack("[s, s]", info->headers[i].name,
                                                 info->headers[i].value));
    for (size_t i = 0; sarr && i < nsegs; i++) {
        char did[33], wrapped[2 * CRYPT_WRAPPED_LEN + 1];
        hex_encode(segs[i].data_id, 16, did, sizeof did);
        hex_encode(segs[i].wrapped, CRYPT_WRAPPED_LEN, wrapped, sizeof wrapped);
        json_array_append_new(sarr, json_pack("{s:s, s:I, s:I, s:s}", "data_id", did,
                                              "part", (json_int_t)segs[i].part, "size",
                                              (json_int_t)segs[i].size, "wrapped", wrapped));
    }
    json_t *tags = tags_json ? json_loads(tags_json, 0, NULL) : json_null();
    json_t *doc = json_pack("{s:i, s:s, s:s, s:s, s:I, s:s, s:I, s:i, s:s, s:b, s:i, "
                            "s:o, s:o, s:I, s:o}",
                            "v", 1, "bucket", bucket, "key", info->key, "version_id",
                            info->version_id, "size", (json_int_t)info->size, "etag",
                            info->etag, "mtime_ms", (json_int_t)info->mtime_ms,
                            "cks_algo", (int)info->checksum_algo, "cks",
                            info->checksum_b64, "cks_composite", info->checksum_composite,
                            "nparts", info->nparts, "headers", headers ? headers : json_null(),
                            "tags", tags ? tags : json_null(), "block_size",
                            (json_int_t)block_size, "segments", sarr ? sarr : json_null());
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        cf_fail(err, CF_ENOMEM, "cannot build a remote object's metadata");
    return text;
}

int tierfmt_header(st_engine *e, const char *remote_id, const char *tenant,
                   const char *bucket, const st_object_info *info,
                   const uint8_t version_id[16], const tierfmt_seg *segs, size_t nsegs,
                   const char *tags_json, uint8_t **out, size_t *out_len, cf_err *err)
{
    *out = NULL;
    uint8_t kek[CRYPT_KEY_LEN], tkey[CRYPT_KEY_LEN];
    char *meta = meta_json(bucket, info, segs, nsegs, tags_json, e->set.block_size, err);
    crypt_ctx *cc = meta ? crypt_ctx_new(err) : NULL;
    uint8_t *inner = NULL, *pt = NULL, *buf = NULL;
    char *b64 = NULL, *outer = NULL;
    int rc = cc ? kek_get(e, tenant, kek, err) : -1;
    size_t mlen = meta ? strlen(meta) : 0, ilen = mlen + CRYPT_BLOB_OVERHEAD;
    if (rc == 0 && !(inner = malloc(ilen)))
        rc = cf_fail(err, CF_ENOMEM, "out of memory");
    if (rc == 0)
        rc = crypt_seal_blob(cc, kek, "cofferM1", version_id, 16, (const uint8_t *)meta,
                             mlen, inner, err);
    size_t b64cap = 4 * ((ilen + 2) / 3) + 1;
    if (rc == 0 && !(b64 = malloc(b64cap)))
        rc = cf_fail(err, CF_ENOMEM, "out of memory");
    if (rc == 0) {
        cks_to_base64(inner, ilen, b64, b64cap);
        char vhex[ST_ID_HEX];
        eng_id_to_hex(version_id, vhex);
        json_t *doc = json_pack("{s:i, s:s, s:s, s:s}", "v", 1, "tenant", tenant,
                                "version_id", vhex, "meta", b64);
        outer = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
        if (!outer)
            rc = cf_fail(err, CF_ENOMEM, "out of memory");
    }
    size_t jlen = outer ? strlen(outer) : 0;
    size_t total = (TIERFMT_PREAMBLE + 4 + jlen + CRYPT_BLOB_OVERHEAD + TIERFMT_ALIGN - 1) /
                   TIERFMT_ALIGN * TIERFMT_ALIGN;
    size_t olen = total - TIERFMT_PREAMBLE, ptlen = olen - CRYPT_BLOB_OVERHEAD;
    if (rc == 0 && (!(pt = calloc(1, ptlen)) || !(buf = malloc(total))))
        rc = cf_fail(err, CF_ENOMEM, "out of memory");
    if (rc == 0 && (olen > UINT32_MAX || strlen(remote_id) != 32))
        rc = cf_fail(err, CF_EINVAL, "remote object header too large");
    if (rc == 0) {
        le_put(pt, jlen, 4);
        memcpy(pt + 4, outer, jlen);
        memcpy(buf, TIERFMT_MAGIC, 8);
        le_put(buf + 8, olen, 4);
        le_put(buf + 12, 0, 4);
        uint8_t aad[32 + TIERFMT_PREAMBLE];
        memcpy(aad, remote_id, 32);
        memcpy(aad + 32, buf, TIERFMT_PREAMBLE);
        rc = crypt_derive_tier_key(e->master, tkey, err);
        if (rc == 0)
            rc = crypt_seal_blob(cc, tkey, "cofferT1", aad, sizeof aad, pt, ptlen,
                                 buf + TIERFMT_PREAMBLE, err);
    }
    crypt_wipe(kek, sizeof kek);
    crypt_wipe(tkey, sizeof tkey);
    crypt_ctx_free(cc);
    free(meta);
    free(inner);
    free(b64);
    free(outer);
    free(pt);
    if (rc < 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = total;
    return 0;
}

int st_remote_header_len(const uint8_t preamble[16], uint64_t *len, cf_err *err)
{
    if (memcmp(preamble, TIERFMT_MAGIC, 8) != 0)
        return cf_fail(err, CF_ECORRUPT, "not a coffer remote object (bad magic)");
    uint32_t olen = (uint32_t)le_get(preamble + 8, 4);
    if (olen < CRYPT_BLOB_OVERHEAD + 4 || (TIERFMT_PREAMBLE + olen) % TIERFMT_ALIGN)
        return cf_fail(err, CF_ECORRUPT, "remote object header: bad length");
    *len = TIERFMT_PREAMBLE + (uint64_t)olen;
    return 0;
}

int st_remote_header_open(const uint8_t master[CRYPT_KEY_LEN], const char *remote_id,
                          const uint8_t *buf, size_t len, st_remote_header *out,
                          cf_err *err)
{
    memset(out, 0, sizeof *out);
    if (len < TIERFMT_PREAMBLE || memcmp(buf, TIERFMT_MAGIC, 8) != 0)
        return cf_fail(err, CF_ECORRUPT, "not a coffer remote object (bad magic)");
    uint32_t olen = (uint32_t)le_get(buf + 8, 4);
    if (olen < CRYPT_BLOB_OVERHEAD + 4 || olen > len - TIERFMT_PREAMBLE ||
        strlen(remote_id) != 32)
        return cf_fail(err, CF_ECORRUPT, "remote object header truncated");
    size_t ptlen = olen - CRYPT_BLOB_OVERHEAD, ilen = 0;
    uint8_t tkey[CRYPT_KEY_LEN], kek[CRYPT_KEY_LEN], vid[16];
    uint8_t aad[32 + TIERFMT_PREAMBLE], *pt = malloc(ptlen), *inner = NULL;
    memcpy(aad, remote_id, 32);
    memcpy(aad + 32, buf, TIERFMT_PREAMBLE);
    crypt_ctx *cc = pt ? crypt_ctx_new(err) : NULL;
    int rc = !pt ? cf_fail(err, CF_ENOMEM, "out of memory")
           : !cc ? -1 : crypt_derive_tier_key(master, tkey, err);
    if (rc == 0)
        rc = crypt_open_blob(cc, tkey, "cofferT1", aad, sizeof aad, buf + TIERFMT_PREAMBLE,
                             olen, pt, err);
    json_t *doc = NULL;
    uint32_t jlen = rc == 0 ? (uint32_t)le_get(pt, 4) : 0;
    if (rc == 0 && (jlen > ptlen - 4 ||
                    !(doc = json_loadb((const char *)pt + 4, jlen, 0, NULL))))
        rc = cf_fail(err, CF_ECORRUPT, "remote object header: bad outer document");
    const char *tenant = json_string_value(json_object_get(doc, "tenant"));
    const char *vhex = json_string_value(json_object_get(doc, "version_id"));
    const char *b64 = json_string_value(json_object_get(doc, "meta"));
    if (rc == 0 && (!tenant || !b64 || strlen(tenant) > ST_MAX_TENANT ||
                    eng_id_from_hex(vhex, vid) < 0))
        rc = cf_fail(err, CF_ECORRUPT, "remote object header: no tenant, version or "
                     "metadata");
    size_t blen = b64 ? strlen(b64) : 0;
    size_t want = blen / 4 * 3 - (blen && b64[blen - 1] == '=') -
                  (blen > 1 && b64[blen - 2] == '=');
    if (rc == 0 && !(inner = malloc(want + 1)))
        rc = cf_fail(err, CF_ENOMEM, "out of memory");
    if (rc == 0 && (blen < 4 || cks_from_base64(b64, inner, want, &ilen) < 0 ||
                    ilen < CRYPT_BLOB_OVERHEAD))
        rc = cf_fail(err, CF_ECORRUPT, "remote object header: bad metadata encoding");
    if (rc == 0 && !(out->meta = malloc(ilen - CRYPT_BLOB_OVERHEAD + 1)))
        rc = cf_fail(err, CF_ENOMEM, "out of memory");
    if (rc == 0)
        rc = crypt_derive_kek(master, tenant, kek, err);
    if (rc == 0)
        rc = crypt_open_blob(cc, kek, "cofferM1", vid, 16, inner, ilen,
                             (uint8_t *)out->meta, err);
    if (rc == 0) {
        out->meta[ilen - CRYPT_BLOB_OVERHEAD] = '\0';
        snprintf(out->tenant, sizeof out->tenant, "%s", tenant);
        snprintf(out->version_id, sizeof out->version_id, "%s", vhex);
        out->data_offset = TIERFMT_PREAMBLE + olen;
    }
    crypt_wipe(kek, sizeof kek);
    crypt_wipe(tkey, sizeof tkey);
    if (pt)
        crypt_wipe(pt, ptlen);
    free(pt);
    free(inner);
    json_decref(doc);
    crypt_ctx_free(cc);
    if (rc < 0)
        st_remote_header_clear(out);
    return rc;
}

void st_remote_header_clear(st_remote_header *h)
{
    free(h->meta);
    h->meta = NULL;
}
