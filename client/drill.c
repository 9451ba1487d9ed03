/*
 * client/drill.c - the restore drill (see drill.h).
 *
 * Each object is first HEADed with checksum mode on, which names the
 * stored checksum's algorithm and value; the digests are then computed
 * over exactly what the GETs deliver (a sink that feeds MD5 and that
 * algorithm, holding nothing). A multipart object is read part by part so
 * that its "MD5-of-MD5s" ETag and composite checksum can be recomputed;
 * the part count is the ETag's suffix.
 */
#include "client/drill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/checksum.h"
#include "common/hex.h"

typedef struct pick {
    char *key;
    uint64_t size;
    char etag[S3C_ETAG_MAX];
} pick;

typedef struct drill {
    s3c_client *c;
    const drill_opts *o;
    drill_stats *st;
    uint64_t rng;
    pick *sample;                    /* reservoir (sample > 0) */
    size_t nsample;
    const char **sample_bucket;
    uint64_t to_read;                /* 0: not known yet */
    bool last_bucket;                /* the bucket being listed is the last */
} drill;

static uint64_t next_rand(drill *d)
{
    d->rng ^= d->rng << 13;
    d->rng ^= d->rng >> 7;
    d->rng ^= d->rng << 17;
    return d->rng;
}

static void say(drill *d, const char *bucket, const char *key, bool mismatch,
                const char *what)
{
    if (mismatch)
        d->st->mismatches++;
    else
        d->st->errors++;
    if (d->o->found) {
        drill_finding f = {.bucket = bucket, .key = key, .mismatch = mismatch, .what = what};
        d->o->found(d->o->ctx, &f);
    }
}

/* ---- reading one object --------------------------------------------------- */

typedef struct digest_sink {
    cks_state *md5, *cks;
    uint64_t bytes;
} digest_sink;

static int sink_digest(void *ctx, const uint8_t *data, size_t n, cf_err *err)
{
    digest_sink *s = ctx;
    cks_update(s->md5, data, n);
    if (s->cks)
        cks_update(s->cks, data, n);
    s->bytes += n;
    return 0;
}

/* GET the object (part 0) or one part into the digests. */
static int read_into(drill *d, const char *bucket, const char *key, uint32_t part,
                     digest_sink *s, cf_err *err)
{
    s3c_op op = {.kind = S3C_GET_OBJECT, .bucket = bucket, .key = key,
                 .part_number = part, .verify = part == 0, .sink = sink_digest,
                 .sink_ctx = s};
    s3c_result res;
    int rc = s3c_exec(d->c, &op, &res, err);
    s3c_result_free(&res);
    d->st->bytes += s->bytes;
    return rc;
}

/* The stored ETag's hex MD5 and part count ("hex" or "hex-N", quotes
 * optional); -1 if it is neither. */
static int parse_etag(const char *etag, char hex[33], unsigned *parts)
{
    const char *p = etag + (etag[0] == '"');
    size_t n = strcspn(p, "-\"");
    if (n != 32)
        return -1;
    memcpy(hex, p, 32);
    hex[32] = '\0';
    *parts = 0;
    if (p[32] == '-' && sscanf(p + 33, "%u", parts) != 1)
        return -1;
    return *parts > 10000 ? -1 : 0;
}

static void final_b64(cks_state *s, char *out, size_t cap)
{
    uint8_t raw[CKS_MAX_RAW];
    size_t n = cks_final(s, raw);
    cks_to_base64(raw, n, out, cap);
}

typedef struct object_check {
    const char *bucket, *key;
    uint64_t size;
    char etag_hex[33];
    unsigned parts;
    cks_algo algo;                   /* CKS_NONE: nothing stored */
    char stored_cks[96];
    char what[512];                  /* the first difference */
} object_check;

static int check_single(drill *d, object_check *oc, cf_err *err)
{
    digest_sink s = {.md5 = cks_new(CKS_MD5, err)};
    int rc = s.md5 ? 0 : -1;
    if (rc == 0 && oc->algo != CKS_NONE && !(s.cks = cks_new(oc->algo, err)))
        rc = -1;
    if (rc == 0)
        rc = read_into(d, oc->bucket, oc->key, 0, &s, err);
    if (rc == 0) {
        uint8_t raw[CKS_MAX_RAW];
        char hex[33], b64[CKS_MAX_B64] = "";
        cks_final(s.md5, raw);
        hex_encode(raw, 16, hex, sizeof hex);
        if (s.cks)
            final_b64(s.cks, b64, sizeof b64);
        if (s.bytes != oc->size)
            snprintf(oc->what, sizeof oc->what, "size differs: read %llu bytes, listed %llu",
                     (unsigned long long)s.bytes, (unsigned long long)oc->size);
        else if (strcmp(hex, oc->etag_hex) != 0)
            snprintf(oc->what, sizeof oc->what, "ETag differs: read %s, stored %s", hex,
                     oc->etag_hex);
        else if (s.cks && strcmp(b64, oc->stored_cks) != 0)
            snprintf(oc->what, sizeof oc->what, "%s differs: read %s, stored %s",
                     cks_algo_name(oc->algo), b64, oc->stored_cks);
    }
    cks_free(s.md5);
    cks_free(s.cks);
    return rc;
}

static int check_parts(drill *d, object_check *oc, cf_err *err)
{
    cks_state *outer_md5 = cks_new(CKS_MD5, err), *outer_cks = NULL;
    digest_sink s = {.md5 = cks_new(CKS_MD5, err)};
    int rc = outer_md5 && s.md5 ? 0 : -1;
    if (rc == 0 && oc->algo != CKS_NONE &&
        (!(outer_cks = cks_new(oc->algo, err)) || !(s.cks = cks_new(oc->algo, err))))
        rc = -1;
    uint64_t total = 0;
    for (unsigned p = 1; rc == 0 && p <= oc->parts; p++) {
        s.bytes = 0;
        cks_reset(s.md5);
        if (s.cks)
            cks_reset(s.cks);
        if ((rc = read_into(d, oc->bucket, oc->key, p, &s, err)) < 0)
            break;
        uint8_t raw[CKS_MAX_RAW];
        cks_final(s.md5, raw);
        cks_update(outer_md5, raw, 16);
        if (s.cks)
            cks_update(outer_cks, raw, cks_final(s.cks, raw));
        total += s.bytes;
    }
    if (rc == 0) {
        uint8_t raw[CKS_MAX_RAW];
        char hex[33], b64[CKS_MAX_B64 + 8] = "";
        cks_final(outer_md5, raw);
        hex_encode(raw, 16, hex, sizeof hex);
        if (outer_cks) {
            final_b64(outer_cks, b64, CKS_MAX_B64);
            snprintf(b64 + strlen(b64), 8, "-%u", oc->parts);
        }
        if (total != oc->size)
            snprintf(oc->what, sizeof oc->what, "size differs: %u parts hold %llu bytes, "
                     "listed %llu", oc->parts, (unsigned long long)total,
                     (unsigned long long)oc->size);
        else if (strcmp(hex, oc->etag_hex) != 0)
            snprintf(oc->what, sizeof oc->what, "ETag differs: the parts give %s-%u, "
                     "stored %s-%u", hex, oc->parts, oc->etag_hex, oc->parts);
        else if (outer_cks && strcmp(b64, oc->stored_cks) != 0)
            snprintf(oc->what, sizeof oc->what, "%s differs: the parts give %s, stored %s",
                     cks_algo_name(oc->algo), b64, oc->stored_cks);
    }
    cks_free(outer_md5);
    cks_free(outer_cks);
    cks_free(s.md5);
    cks_free(s.cks);
    return rc;
}

static void check_object(drill *d, const char *bucket, const pick *p)
{
    object_check oc = {.bucket = bucket, .key = p->key, .size = p->size};
    cf_err err;
    char msg[CF_ERRMSG_MAX + 32];
    d->st->objects++;
    if (parse_etag(p->etag, oc.etag_hex, &oc.parts) < 0) {
        snprintf(msg, sizeof msg, "the listed ETag %.60s is not an MD5 ETag", p->etag);
        say(d, bucket, p->key, true, msg);
        return;
    }
    s3c_op head = {.kind = S3C_HEAD_OBJECT, .bucket = bucket, .key = p->key};
    s3c_result res;
    int rc = s3c_exec(d->c, &head, &res, &err);
    if (rc == 0 && res.checksum_algo[0]) {
        oc.algo = cks_algo_from_name(res.checksum_algo);
        snprintf(oc.stored_cks, sizeof oc.stored_cks, "%s", res.checksum);
    }
    s3c_result_free(&res);
    if (rc == 0)
        rc = oc.parts ? check_parts(d, &oc, &err) : check_single(d, &oc, &err);
    if (rc < 0) {
        snprintf(msg, sizeof msg, "cannot be read back: %s", err.msg);
        say(d, bucket, p->key, false, msg);
    } else if (oc.what[0]) {
        say(d, bucket, p->key, true, oc.what);
    } else {
        d->st->ok++;
    }
    if (d->o->progress)
        d->o->progress(d->o->ctx, d->st, d->to_read);
}

/* ---- listing and sampling -------------------------------------------------- */

static bool stopping(drill *d)
{
    return d->o->stop && d->o->stop(d->o->ctx);
}

/* Offer one listed object to the reservoir; 0, or -1 out of memory. */
static int offer(drill *d, const char *bucket, const s3c_object *obj)
{
    uint64_t seen = d->st->listed;   /* counted already */
    size_t slot;
    if (d->nsample < d->o->sample)
        slot = d->nsample++;
    else if ((slot = (size_t)(next_rand(d) % seen)) >= d->o->sample)
        return 0;
    else
        free(d->sample[slot].key);
    pick *pk = &d->sample[slot];
    if (!(pk->key = strdup(obj->key)))
        return -1;
    pk->size = obj->size;
    snprintf(pk->etag, sizeof pk->etag, "%s", obj->etag);
    d->sample_bucket[slot] = bucket;
    return 0;
}

static int list_bucket(drill *d, const char *bucket, cf_err *err)
{
    char *token = NULL;
    int rc = 0;
    do {
        s3c_op op = {.kind = S3C_LIST_OBJECTS, .bucket = bucket, .continuation = token};
        s3c_result res;
        rc = s3c_exec(d->c, &op, &res, err);
        free(token);
        token = NULL;
        s3c_listing *l = res.listing;
        /* reading every object as listed: how many there are is known
         * once the last page of the last bucket is in */
        if (!d->o->sample && l)
            d->to_read = d->last_bucket && !l->truncated ? d->st->listed + l->nobjects : 0;
        for (size_t i = 0; rc == 0 && l && i < l->nobjects && !stopping(d); i++) {
            d->st->listed++;
            if (d->o->sample) {
                if (offer(d, bucket, &l->objects[i]) < 0)
                    rc = cf_fail(err, CF_ENOMEM, "out of memory");
            } else {
                pick pk = {.key = l->objects[i].key, .size = l->objects[i].size};
                snprintf(pk.etag, sizeof pk.etag, "%s", l->objects[i].etag);
                check_object(d, bucket, &pk);
            }
        }
        if (rc == 0 && l && l->truncated && l->next_continuation &&
            !(token = strdup(l->next_continuation)))
            rc = cf_fail(err, CF_ENOMEM, "out of memory");
        s3c_result_free(&res);
    } while (rc == 0 && token && !stopping(d));
    free(token);
    return rc;
}

int drill_run(s3c_client *c, const drill_opts *o, drill_stats *st, cf_err *err)
{
    memset(st, 0, sizeof *st);
    drill d = {.c = c, .o = o, .st = st,
               .rng = o->seed ? o->seed : (uint64_t)time(NULL) * 2654435761u + 1};
    if (o->sample && (o->sample > (1u << 24) ||
                      !(d.sample = calloc((size_t)o->sample, sizeof *d.sample)) ||
                      !(d.sample_bucket = calloc((size_t)o->sample,
                                                 sizeof *d.sample_bucket)))) {
        free(d.sample);
        return cf_fail(err, CF_ENOMEM, "cannot hold a sample of %llu objects",
                       (unsigned long long)o->sample);
    }
    int rc = 0;
    for (size_t b = 0; rc == 0 && b < o->nbuckets && !stopping(&d); b++) {
        d.last_bucket = b + 1 == o->nbuckets;
        rc = list_bucket(&d, o->buckets[b], err);
    }
    d.to_read = d.nsample;
    for (size_t i = 0; rc == 0 && i < d.nsample && !stopping(&d); i++)
        check_object(&d, d.sample_bucket[i], &d.sample[i]);
    for (size_t i = 0; i < d.nsample; i++)
        free(d.sample[i].key);
    free(d.sample);
    free(d.sample_bucket);
    return rc;
}
