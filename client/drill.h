/*
 * client/drill.h - a restore drill: read objects back end to end through
 * an S3 endpoint, exactly as a client restoring a backup would, and check
 * every byte against what the server says it stored. `coffer drill` and
 * cofferd's scheduled drill job (server/jobs.c) both run it, each with a
 * client (s3c.h) holding a read-only key of the tenant being drilled.
 *
 * For each object listed (ListObjectsV2) the drill reads
 *   - a single-part object whole (GET, checksum mode): its MD5 must equal
 *     the ETag, its size the listed size, and its checksum (any algorithm
 *     S3 knows, CRC64NVME and SHA-256 included) the one the server sends;
 *   - a multipart object ("ETag-N") part by part (GET ?partNumber=n): the
 *     MD5 of the part MD5s must give the ETag, each part's checksum must
 *     match the server's, the checksum of the part checksums the object's
 *     composite checksum, and the parts must add up to its size.
 * A read that fails is counted as an error, a difference as a mismatch;
 * each is reported through found() with the bucket, the key and what.
 *
 * Sampling: with sample > 0, that many objects are chosen uniformly at
 * random over all the buckets given (reservoir sampling of the listing,
 * which holds only the chosen keys); else every object, read as listed.
 * Memory: one listing page, the sample, one read buffer.
 *
 * Threading: one drill per client and thread.
 */
#ifndef CLIENT_DRILL_H
#define CLIENT_DRILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/s3c.h"
#include "common/error.h"

typedef struct drill_stats {
    uint64_t listed;                 /* objects listed */
    uint64_t objects;                /* objects read back */
    uint64_t bytes;                  /* bytes read back */
    uint64_t ok;                     /* read back and matching */
    uint64_t mismatches;             /* read back, but a digest or size differs */
    uint64_t errors;                 /* could not be read back */
} drill_stats;

typedef struct drill_finding {
    const char *bucket, *key;
    bool mismatch;                   /* false: a read error */
    const char *what;                /* e.g. "ETag differs: read ..., stored ..." */
} drill_finding;

typedef struct drill_opts {
    const char *const *buckets;
    size_t nbuckets;
    uint64_t sample;                 /* 0: every object */
    uint64_t seed;                   /* for the sample; 0: from the clock */
    /* optional: */
    void (*found)(void *ctx, const drill_finding *f);
    /* after each object; to_read: of how many (0: not known yet, while
     * every object is read as listed and more are to be listed) */
    void (*progress)(void *ctx, const drill_stats *st, uint64_t to_read);
    bool (*stop)(void *ctx);         /* true: end now with what was done */
    void *ctx;
} drill_opts;

/* Run a drill over o->buckets through c; st gets the counts. -1 only when
 * the drill itself could not run (a bucket could not be listed): objects
 * that fail to read are counted, not fatal. */
int drill_run(s3c_client *c, const drill_opts *o, drill_stats *st, cf_err *err);

#endif
