/*
 * storage/engine.h - the object engine's contract. This is the only storage
 * header the S3 front end includes. The engine knows nothing of HTTP: it
 * stores tenants, access keys, buckets, objects and multipart uploads, keeps
 * every byte encrypted (AES-256-GCM), erasure-coded (Reed-Solomon k+m) and
 * CRC32C-checked on a set of disk directories, with a SQLite index as the
 * single commit point.
 *
 * Threading: an st_engine is shared by all request threads; every function
 * here is thread-safe. A stream object (st_put, st_get) belongs to one
 * thread at a time. The callbacks of the listing functions
 * (st_tenant_list, st_key_list, st_bucket_list, st_list, st_upload_list,
 * st_upload_list_parts) run under the engine's index lock: they must not
 * call back into the engine (it would deadlock), and every other request
 * waits for the index while they run, so they only copy what they need.
 *
 * Memory: streams hold a bounded buffer (about two blocks, block size 1 MiB
 * by default) whatever the object size.
 *
 * Errors: every function returns 0 / -1 with cf_err filled (common/error.h).
 * Codes a front end must map: CF_ENOBUCKET, CF_EBUCKETEXISTS, CF_ENOTEMPTY,
 * CF_ENOKEY, CF_ENOUPLOAD, CF_EBADPART, CF_EPARTORDER, CF_ETOOSMALL,
 * CF_ERANGE, CF_EDIGEST, CF_ETOOLARGE, CF_EINVAL, CF_EEXISTS, CF_ENOTFOUND,
 * CF_EQUOTA, CF_EPRECOND and CF_ECONFLICT (conditional writes), CF_ENEEDKEY
 * and CF_EBADKEY (customer keys); anything else is an internal error (500)
 * whose message is logged.
 *
 * Customer keys (SSE-C): an object or upload stored with a customer key
 * (32 bytes, given as `ssec_key`) has its data keys wrapped under a key
 * derived from both the tenant's KEK and the customer key; the engine
 * keeps only a salted check value of the customer key, never the key.
 * Every call that reads such an object's data or metadata needs the key:
 * without it CF_ENEEDKEY, with another one CF_EBADKEY; a key given for an
 * object stored without one is CF_ENEEDKEY too. Listings need no key.
 *
 * Conditional writes (st_write_cond): checked inside the transaction that
 * commits the write, so of writers racing on one key with If-None-Match:
 * * exactly one succeeds. A condition that fails is CF_EPRECOND, or
 * CF_ECONFLICT when the key's current version was committed after the
 * write began (after CreateMultipartUpload, for a completion): another
 * write raced this one; an If-Match on a key with no object is CF_ENOKEY.
 * The object they are checked against is the key's current version: in a
 * versioned bucket a key whose latest version is a delete marker has no
 * object, and If-Match compares the current version's ETag.
 *
 * Names: tenant names, access keys and secrets follow common/names.h
 * (tenants [a-z0-9-]{1,64}). Bucket and key validity (S3
 * naming rules, UTF-8) is checked by the front end; the engine checks only
 * lengths (bucket <= 63, key <= 1024 bytes) and treats keys as bytes.
 * Listings sort keys by their bytes (memcmp order).
 */
#ifndef ST_ENGINE_H
#define ST_ENGINE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/checksum.h"
#include "common/names.h"

#define ST_MAX_DISKS 16
#define ST_MAX_KEY 1024
#define ST_MAX_BUCKET NAMES_BUCKET_MAX
#define ST_MAX_TENANT NAMES_TENANT_MAX
#define ST_MAX_USERMETA 2048          /* sum of user metadata names + values */
#define ST_MAX_PUT_SIZE (5ULL << 30)  /* single PUT / part */
#define ST_MIN_PART_SIZE (5ULL << 20) /* every part but the last */
#define ST_MAX_PARTS 10000
#define ST_ETAG_MAX 48                /* quoted hex MD5 + "-NNNNN" + NUL */
#define ST_ID_HEX 33                  /* 32 hex chars + NUL (version/upload ids) */
#define ST_ACCESS_KEY_MAX (NAMES_AK_MAX + 1)
#define ST_CHECKSUM_MAX (CKS_MAX_B64 + 8) /* base64 value + "-NNNNN" (composite) */
#define ST_SECRET_KEY_MAX (NAMES_SK_MAX + 1)
#define ST_SSEC_KEY_LEN 32            /* an SSE-C customer key */

typedef struct st_engine st_engine;

typedef struct st_config {
    const char *disks[ST_MAX_DISKS]; /* data directories, in set order */
    int ndisks;
    const char *meta_dir;            /* SQLite index lives here */
    const char *master_key_file;     /* 64 hex chars, mode 0600 */
    const char *master_key_hex;      /* alternative (e.g. from env); wins if set */
    bool create_master_key;          /* generate master_key_file if missing, only
                                        for a fresh set (never over data) */
    int k, m;                        /* 0, 0 = default for ndisks */
    uint32_t block_size;             /* 0 = 1 MiB; fixed at format time */
    uint32_t inline_max;             /* objects up to this size live in the
                                        index (0 = default, see doc/design.md) */
    bool no_inline;                  /* force shard files even for tiny objects */
    /* A one-block segment whose shards (CRC included) are at most this many
     * bytes is appended to each disk's open pack file instead of a shard
     * file per disk (doc/design.md, "Mid-size objects"); 0: never. */
    uint32_t pack_shard_max;
    /* Compaction rewrites a sealed pack more than this fraction dead
     * (st_compact); 0: ST_COMPACT_DEFAULT_DEAD_RATIO. */
    double pack_compact_dead_ratio;
    /* Write shard files through the page cache, not with O_DIRECT
     * (storage/shardout.h). cofferd sets it unless coffer.json(5) has
     * storage.direct_io true; false (the zeroed default) is O_DIRECT. */
    bool buffered_io;
    /* GC's orphan bound (see st_gc): 0 = default */
    int gc_max_orphans;              /* default ST_GC_DEFAULT_MAX_ORPHANS */
    int gc_max_orphan_percent;       /* 1..100, default 1 */
    /* Index snapshot generations kept per disk (see st_snapshot): 0 = default */
    int snapshot_keep;               /* newest ones, default 3 */
    int snapshot_days;               /* plus the newest of each of these days, default 7 */
} st_config;

#define ST_GC_DEFAULT_MAX_ORPHANS 1000
#define ST_GC_DEFAULT_MAX_ORPHAN_PERCENT 1
#define ST_GC_MIN_ORPHAN_BOUND 100

/* Open. A start creates an index only together with a fresh set (no disk
 * has format.json: then the disks are formatted, the index created and,
 * with create_master_key, a master key generated). Otherwise the index in
 * meta_dir must be the disks' own. Refused, writing nothing, naming the
 * reason:
 *   CF_ENOINDEX  the disks hold a set but meta_dir's index is missing,
 *                empty, damaged, of another set or lineage, a snapshot
 *                copied into place by hand, or older than a snapshot on
 *                the disks; or the disks are blank while the index names
 *                a set (st_recovery_advice says what to do);
 *   CF_ECRYPTO   a wrong master key, or a missing master key file while
 *                the disks hold a set (never regenerated);
 *   CF_ECONFIG   a disk from another set or lineage, a disk in another
 *                position, a malformed format.json;
 *   CF_EQUORUM   fewer than k readable disks. */
int st_open(const st_config *cfg, st_engine **out, cf_err *err);

/* After st_open failed with CF_ENOINDEX: a text of several lines (malloc'd;
 * the caller frees it) that says why the start was refused, names the
 * newest index snapshot on the disks (path, time, object count) and the
 * commands that recover; `how` is how the caller names the configuration
 * in a command ("-c /etc/coffer/coffer.json", "--var ./var"). Reads the
 * disks again, writes nothing. NULL (err set) if even that fails. */
char *st_recovery_advice(const st_config *cfg, const char *how, cf_err *err);

/* coffer restore-index: with cofferd stopped, put the newest usable index
 * snapshot (or the one named by from: a disk directory or a snapshot
 * file) into meta_dir. Refuses when meta_dir holds the disks' own current
 * index (nothing to restore) or another set's (fix meta_dir instead); an
 * index.db it replaces (missing, empty, damaged, a hand copy, or older) is
 * renamed aside, never deleted. A snapshot is usable if it is readable,
 * passes SQLite's check, is of this set and lineage, and was written
 * under this master key (never generated here). The restored index counts
 * as created now, so GC keeps every shard file written before the
 * restore, and its commit number is above every snapshot on the disks.
 * Then it is opened like cofferd would and checked: what it holds, and
 * how many of its sharded segments lack shard files on the disks.
 * The report goes to say(), a line at a time; progress (may be NULL)
 * follows the checks of the disks. */
typedef struct st_restore_report {
    char snapshot[PATH_MAX];         /* the snapshot restored */
    char index[PATH_MAX];            /* META/index.db */
    char moved_aside[PATH_MAX];      /* where the replaced index.db went, or "" */
    int64_t taken_ms;                /* when the snapshot was taken */
    uint64_t commit;                 /* its commit number */
    int64_t objects, bytes, buckets, tenants, keys, uploads;
    uint64_t segments;               /* sharded segments checked */
    uint64_t segments_short;         /* of them, with fewer than k shard files */
    uint64_t files_not_in_index;     /* shard files no row names: kept */
    uint64_t bytes_scanned;          /* sizes of the files that count looked at */
    int rejected;                    /* snapshots found but not usable */
} st_restore_report;
typedef void (*st_say_cb)(void *ctx, const char *line);
/* done of total steps (total 0: not known), the bytes gone through so far
 * (0: not counted in this phase; the phase names what they are). */
typedef void (*st_progress_cb)(void *ctx, uint64_t done, uint64_t total, uint64_t bytes,
                               const char *phase);
int st_restore_index(const st_config *cfg, const char *from, st_say_cb say,
                     st_progress_cb progress, void *ctx, st_restore_report *rep,
                     cf_err *err);
/* coffer rebuild-index (storage/rebuild.c): offline, on a stopped
 * cofferd's configuration, with its master key, rebuild the index from
 * what the disks hold (the newest catalog, the journal, shard headers and
 * multipart manifests; doc/design.md, "Rebuilding the index") into
 * META/index.db, or beside an index.db that exists (never over it), or
 * nowhere with dry_run. progress (may be NULL) is called as the disks
 * are read: done of total steps, and a phase; while the shard headers are
 * read, bytes is bytes_scanned so far. */
typedef struct st_rebuild_report {
    char index[PATH_MAX];            /* the file written ("" for a dry run) */
    bool beside;                     /* written beside an existing index.db */
    uint64_t commit;                 /* the new index's first commit number */
    int64_t tenants, keys, buckets;  /* from the catalog */
    int64_t objects, versions, markers, bytes, uploads, parts;
    uint64_t shard_files, manifests, journal_files, journal_records;
    uint64_t keys_exact;             /* keys rebuilt from their JRN_KEY record */
    uint64_t keys_guessed;           /* keys with no JRN_KEY: by mtime, no lock */
    uint64_t tiered;                 /* versions placed in a tier again */
    uint64_t tagged;                 /* versions and uploads given their tags */
    uint64_t removed;                /* versions on the disks a JRN_KEY says went */
    uint64_t unplaced;               /* files or versions that could not be placed */
    uint64_t no_data;                /* versions named with no data found (lost) */
    uint64_t torn;                   /* damaged journal records or files */
    uint64_t newer;                  /* journal records of a newer record version */
    uint64_t headers_cut;            /* versions whose stored headers did not fit */
    uint64_t bytes_scanned;          /* sizes of the shard files, manifests and
                                        pack files whose headers were read */
    uint64_t remote_deletes;         /* remote objects queued for deletion again */
} st_rebuild_report;
int st_rebuild_index(const st_config *cfg, bool dry_run, st_say_cb say, st_progress_cb progress,
                     void *ctx, st_rebuild_report *rep, cf_err *err);
void st_close(st_engine *e);
void st_layout(const st_engine *e, int *k, int *m, uint32_t *block_size);
/* Shard files opened with O_DIRECT since st_open (st_config.buffered_io;
 * 0 where the file system refuses it): for tests. */
unsigned st_direct_files(st_engine *e);

/* ---- tenants and access keys -------------------------------------- */

typedef struct st_tenant_info {
    char name[ST_MAX_TENANT + 1];
    int64_t created;                 /* unix seconds */
} st_tenant_info;

/* What an access key may do (doc/design.md, "Keys that cannot destroy"):
 * a set of permissions, the buckets it reaches and the key prefixes under
 * which it may delete without the delete permission. */
#define ST_PERM_READ 0x01u             /* GET, HEAD, listings */
#define ST_PERM_WRITE_NEW 0x02u        /* writes that replace nothing, multipart */
#define ST_PERM_OVERWRITE 0x04u        /* writes over a current version */
#define ST_PERM_DELETE 0x08u           /* deletes of objects, versions, buckets */
#define ST_PERM_BYPASS_GOVERNANCE 0x10u /* x-amz-bypass-governance-retention */
#define ST_PERM_DEFAULT (ST_PERM_READ | ST_PERM_WRITE_NEW | ST_PERM_OVERWRITE | \
                         ST_PERM_DELETE)
#define ST_PERM_ALL (ST_PERM_DEFAULT | ST_PERM_BYPASS_GOVERNANCE)
#define ST_KEY_SCOPE_MAX 64            /* buckets, and delete prefixes, per key */

/* A permission's name ("read", "write-new", "overwrite", "delete",
 * "bypass-governance") for one ST_PERM_* bit, NULL for anything else; and
 * back (0 for an unknown name). */
const char *st_perm_name(unsigned bit);
unsigned st_perm_from_name(const char *name);

typedef struct st_key_policy {
    unsigned perms;                  /* ST_PERM_* */
    char **buckets;                  /* nbuckets 0: every bucket of the tenant */
    size_t nbuckets;
    char **delete_prefixes;          /* where delete is allowed without ST_PERM_DELETE */
    size_t nprefixes;
} st_key_policy;

typedef struct st_key_info {
    char access_key[ST_ACCESS_KEY_MAX];
    char tenant[ST_MAX_TENANT + 1];
    st_key_policy policy;            /* arrays owned; st_key_info_clear frees */
    int64_t created;
} st_key_info;

int st_tenant_create(st_engine *e, const char *name, cf_err *err);   /* CF_EEXISTS */
/* Refuses (CF_ENOTEMPTY) while the tenant owns buckets; revokes its keys. */
int st_tenant_delete(st_engine *e, const char *name, cf_err *err);   /* CF_ENOTFOUND */
typedef int (*st_tenant_cb)(void *ctx, const st_tenant_info *t);
int st_tenant_list(st_engine *e, st_tenant_cb cb, void *ctx, cf_err *err);

/* Create a key pair for a tenant with the given policy (NULL: every
 * permission but bypass-governance, every bucket). The policy is checked:
 * permissions within ST_PERM_ALL and not empty, at most ST_KEY_SCOPE_MAX
 * bucket names (common/names.h) and delete prefixes (1..1024 bytes of
 * UTF-8), else CF_EINVAL. If access_key/secret are given (non-NULL) they
 * are used as is (CF_EINVAL unless shaped as common/names.h says), else
 * random ones are generated (common/credfile.h: AK 20 chars [A-Z0-9], SK
 * 40 chars [A-Za-z0-9+/]). The secret is stored encrypted under the
 * master key. */
int st_key_create(st_engine *e, const char *tenant, const st_key_policy *policy,
                  const char *access_key, const char *secret,
                  char ak_out[ST_ACCESS_KEY_MAX], char sk_out[ST_SECRET_KEY_MAX],
                  cf_err *err);
/* Look a key up for signature checking: CF_ENOTFOUND if unknown/revoked.
 * On success the caller clears info. */
int st_key_lookup(st_engine *e, const char *access_key, st_key_info *info,
                  char secret_out[ST_SECRET_KEY_MAX], cf_err *err);
void st_key_info_clear(st_key_info *info);
/* The callback's info (and its policy's arrays) is valid during the call. */
typedef int (*st_key_cb)(void *ctx, const st_key_info *k);
int st_key_list(st_engine *e, const char *tenant /* NULL: all */, st_key_cb cb,
                void *ctx, cf_err *err);
int st_key_revoke(st_engine *e, const char *access_key, cf_err *err);

/* ---- buckets ---------------------------------------------------------- */

/* A bucket's versioning state (doc/design.md, "The version model"). */
#define ST_VERSIONING_OFF 0            /* never configured: null versions only */
#define ST_VERSIONING_ENABLED 1
#define ST_VERSIONING_SUSPENDED 2
/* Object lock modes and legal hold states ("Object lock"). */
#define ST_LOCK_NONE 0
#define ST_LOCK_GOVERNANCE 1
#define ST_LOCK_COMPLIANCE 2
#define ST_HOLD_UNSET 0
#define ST_HOLD_OFF 1
#define ST_HOLD_ON 2
#define ST_LOCK_MAX_DAYS 36500         /* default retention: at most 100 years */
#define ST_LOCK_MAX_YEARS 100

typedef struct st_bucket_info {
    char name[ST_MAX_BUCKET + 1];
    char region[32];
    int64_t created;                 /* unix seconds */
    char sse_algo[16];               /* default encryption set by PutBucketEncryption
                                        ("AES256"), "" when none was set */
    bool sse_bucket_key;             /* its BucketKeyEnabled */
    int versioning;                  /* ST_VERSIONING_* */
    bool object_lock;                /* versions can be locked; versioning for good */
    int lock_mode;                   /* default retention: ST_LOCK_* (NONE: none) */
    uint32_t lock_days, lock_years;  /* of the default retention (one is 0) */
} st_bucket_info;

/* Create a bucket; object_lock: with object lock enabled, and therefore
 * versioning Enabled for good. */
int st_bucket_create(st_engine *e, const char *tenant, const char *bucket,
                     const char *region, bool object_lock,
                     cf_err *err);                      /* CF_EBUCKETEXISTS */
/* Refused (CF_ENOTEMPTY) while the bucket holds a version or a delete
 * marker; the message says when versions under object lock are why.
 * Multipart uploads in progress are aborted with it, as S3 does. */
int st_bucket_delete(st_engine *e, const char *tenant, const char *bucket,
                     cf_err *err);
/* Set (algo "AES256") or remove (algo NULL) the bucket's default
 * encryption record; CF_EINVAL for any other algorithm. */
int st_bucket_set_sse(st_engine *e, const char *tenant, const char *bucket,
                      const char *algo, bool bucket_key, cf_err *err);
int st_bucket_get(st_engine *e, const char *tenant, const char *bucket,
                  st_bucket_info *info, cf_err *err);   /* CF_ENOBUCKET */
/* PutBucketVersioning: ST_VERSIONING_ENABLED or _SUSPENDED (CF_EINVAL for
 * anything else: never back to unversioned); suspending a bucket with
 * object lock is CF_EBUCKETSTATE. */
int st_bucket_set_versioning(st_engine *e, const char *tenant, const char *bucket,
                             int state, cf_err *err);
/* PutObjectLockConfiguration: enable object lock (only on a bucket whose
 * versioning is Enabled, else CF_EBUCKETSTATE) and set its default
 * retention: mode ST_LOCK_NONE with days and years 0 for none, or a mode
 * and exactly one of 1..ST_LOCK_MAX_DAYS days or 1..ST_LOCK_MAX_YEARS
 * years (CF_EINVAL otherwise). */
int st_bucket_set_lock(st_engine *e, const char *tenant, const char *bucket, int mode,
                       uint32_t days, uint32_t years, cf_err *err);
typedef int (*st_bucket_cb)(void *ctx, const st_bucket_info *b);
int st_bucket_list(st_engine *e, const char *tenant, st_bucket_cb cb, void *ctx,
                   cf_err *err);   /* sorted by name */

/* ---- objects ---------------------------------------------------------- */

/* Metadata headers stored with an object, opaque to the engine: the front
 * end decides names (e.g. "content-type", "x-amz-meta-mtime",
 * "cache-control"), lowercase, and order. */
typedef struct st_header {
    char *name;
    char *value;
} st_header;

typedef struct st_object_info {
    char key[ST_MAX_KEY + 1];
    char version_id[ST_ID_HEX];      /* internal id (hex); S3's: st_version_name */
    bool null_version;               /* S3's version id is "null" */
    bool versioned_bucket;           /* the bucket's versioning was ever configured
                                        (a null version is then named "null") */
    bool delete_marker;              /* a marker: no data (versions listing, errors) */
    bool latest;                     /* the key's newest version */
    int lock_mode;                   /* ST_LOCK_* */
    int64_t retain_until_ms;         /* with lock_mode */
    int legal_hold;                  /* ST_HOLD_* */
    uint64_t size;
    char etag[ST_ETAG_MAX];          /* quoted: "\"hex\"" or "\"hex-N\"" */
    int64_t mtime_ms;                /* unix milliseconds */
    cks_algo checksum_algo;          /* CKS_NONE if none stored */
    char checksum_b64[ST_CHECKSUM_MAX]; /* full-object value, or composite "...-N" */
    bool checksum_composite;         /* multipart: checksum of part checksums
                                        (false: FULL_OBJECT, one CRC of it all) */
    int nparts;                      /* 0 for a single PUT */
    bool ssec;                       /* stored under a customer key (SSE-C) */
    st_header *headers;              /* owned; st_object_info_clear frees */
    size_t nheaders;
    /* lifecycle.h: the tier the version is in or asked for ("": STANDARD),
     * a restore's progress, the number of tags (HEAD, GET only) */
    char storage_class[33];
    int restore;                     /* 0 none, 1 ongoing, 2 done (local copy) */
    int64_t restore_expiry_ms;       /* restore 2: when the local copy goes */
    int ntags;
} st_object_info;

void st_object_info_clear(st_object_info *info);
/* The version id S3 shows: "null" for a null version, else version_id. */
const char *st_version_name(const st_object_info *info);
/* A version id as S3 sends it: "null" or 32 lowercase hex digits. */
bool st_version_name_ok(const char *v);
/* Value of a stored header by lowercase name, or NULL. */
const char *st_object_header(const st_object_info *info, const char *name);

/* Conditions on a write (If-None-Match / If-Match), see the top. */
typedef struct st_write_cond {
    bool if_none_match;              /* If-None-Match: *: only if the key has no object */
    const char *if_match;            /* only if the current ETag is this one (quotes
                                        optional; "*": any object); NULL: none */
} st_write_cond;

/* What a write asks of the version it makes (PUT, copy). */
typedef struct st_write_opts {
    bool no_overwrite;               /* CF_EDENIED if the key has a current
                                        version (checked in the commit): a
                                        key without the overwrite permission */
    /* Object lock of the new version (x-amz-object-lock-*): a mode with a
     * retain-until time (in the future: CF_EINVAL otherwise), or
     * ST_LOCK_NONE for the bucket's default retention; a legal hold
     * (ST_HOLD_UNSET: none). Either on a bucket without object lock is
     * CF_EBUCKETSTATE. */
    int lock_mode;
    int64_t retain_until_ms;
    int legal_hold;
} st_write_opts;

/* An object's lifecycle attributes as a write sets them (lifecycle.h):
 * the storage class (a tier's name: the version moves there at the
 * lifecycle worker's next pass; NULL or "STANDARD": stays local) and its
 * tags (name = tag key, value = tag value; checked against S3's limits:
 * CF_EINVAL). An unknown tier is CF_ENOTFOUND. */
typedef struct st_object_attrs {
    const char *storage_class;
    const st_header *tags;
    size_t ntags;
    bool keep_tags;                  /* copy: the source's tags, not these */
} st_object_attrs;

/* What a PUT (or a part) carries besides its body. */
typedef struct st_put_args {
    const char *tenant, *bucket, *key;
    const st_header *headers;        /* copied; ignored for parts */
    size_t nheaders;
    st_write_opts opts;              /* ignored for parts */
    st_object_attrs attrs;           /* ignored for parts */
    cks_algo checksum_algo;          /* compute this while streaming (a part of an
                                        upload with an algorithm: CKS_NONE means the
                                        upload's; another one is CF_EINVAL) */
    const uint8_t *ssec_key;         /* SSE-C key (ST_SSEC_KEY_LEN), or NULL; a
                                        part needs its upload's */
    st_write_cond cond;              /* plain PUT only */
    /* for a part: */
    const char *upload_id;           /* NULL for a plain PUT */
    uint32_t part_number;            /* 1..10000 */
    int64_t expected_size;           /* -1 if unknown (then <= 5 GiB enforced) */
    /* The request carries neither Content-MD5 nor an x-amz-checksum-*:
     * refused (CF_EBUCKETSTATE) when the version or part would be under
     * object lock (lock headers in opts, the bucket's default retention,
     * a part of an upload created with lock headers), as S3 does. */
    bool no_digest;
} st_put_args;

/* Checks made at st_put_finish, before anything becomes visible. */
typedef struct st_put_expect {
    const uint8_t *content_md5;      /* 16 raw bytes, or NULL */
    const char *checksum_b64;        /* value the client sent, or NULL */
} st_put_expect;

typedef struct st_put st_put;

/* Begin a PUT: CF_ENOBUCKET, CF_ENOUPLOAD, CF_ETOOLARGE (expected size),
 * CF_EQUOTA (an expected size the quotas cannot take; see quotas below);
 * a condition that fails already is refused here (CF_EPRECOND, CF_ENOKEY),
 * and so is CF_EDENIED (no_overwrite and the key has a current version);
 * both are checked again at the commit. */
int st_put_begin(st_engine *e, const st_put_args *args, st_put **out, cf_err *err);
/* Stream body bytes in; CF_ETOOLARGE past expected_size or 5 GiB. */
int st_put_write(st_put *p, const void *data, size_t len, cf_err *err);
/* The same, and the bytes also go into the caller's hash (a signed body's
 * SHA-256) in one pass with the ETag's MD5, the pass that also copies them
 * into the segment's block (cks_update2_copy, segw_write_pass). */
int st_put_write_hashed(st_put *p, const void *data, size_t len, cks_state *also,
                        cf_err *err);
/* Verify (CF_EDIGEST on mismatch; size != expected_size is CF_EINVAL), make
 * durable, commit (CF_EQUOTA: the quotas refused it at the commit). On success fills info (etag, size, checksum, version) and
 * frees p. On failure the PUT leaves nothing visible; p is freed too. */
int st_put_finish(st_put *p, const st_put_expect *expect, st_object_info *info,
                  cf_err *err);
/* Give up: removes temporary data, frees p. */
void st_put_abort(st_put *p);

/* HEAD: CF_ENOBUCKET, CF_ENOKEY; an SSE-C object needs its key
 * (st_head_ssec; st_head is st_head_ssec without one). */
int st_head(st_engine *e, const char *tenant, const char *bucket, const char *key,
            st_object_info *info, cf_err *err);
/* ... with a customer key and of one version (version: S3's id, "null" or
 * hex; NULL: the latest). CF_EINVAL for a malformed id, CF_ENOVERSION for
 * an unknown one, CF_EMARKER when the version asked for is a delete
 * marker, CF_ENOKEY when the key has no version or (version NULL) its
 * latest is a marker. With CF_EMARKER, and CF_ENOKEY because of a marker,
 * info describes the marker (info->delete_marker set) so that the answer
 * can name it. st_head_version is st_head_ssec without a key. */
int st_head_ssec(st_engine *e, const char *tenant, const char *bucket, const char *key,
                 const char *version, const uint8_t *ssec_key, st_object_info *info,
                 cf_err *err);
int st_head_version(st_engine *e, const char *tenant, const char *bucket,
                    const char *key, const char *version, st_object_info *info,
                    cf_err *err);

typedef struct st_get st_get;
/* Open for reading; fills info. The object stays readable through this
 * handle even if it is overwritten or deleted meanwhile. An SSE-C object
 * needs its key (st_get_open_ssec; st_get_open passes none). */
int st_get_open(st_engine *e, const char *tenant, const char *bucket,
                const char *key, st_object_info *info, st_get **out, cf_err *err);
int st_get_open_ssec(st_engine *e, const char *tenant, const char *bucket,
                     const char *key, const char *version, const uint8_t *ssec_key,
                     st_object_info *info, st_get **out, cf_err *err);
/* ... of one version without a key. */
int st_get_open_version(st_engine *e, const char *tenant, const char *bucket,
                        const char *key, const char *version, st_object_info *info,
                        st_get **out, cf_err *err);

/* One part of an object as it is read back: parts are numbered 1..N in
 * their order in the object (a PUT is one part), whatever numbers they
 * were uploaded under, so that 1..nparts are all valid part numbers (what
 * S3's transfer managers ask for). */
typedef struct st_object_part {
    uint32_t number;                 /* 1..N */
    uint64_t offset, size;
    char checksum_b64[CKS_MAX_B64];  /* the part's checksum as uploaded, or "" */
} st_object_part;
/* Part n of an open object: CF_ERANGE past the last. */
int st_get_part(const st_get *g, uint32_t n, st_object_part *out, cf_err *err);
/* Parts after marker, at most max, of the version version_id (engine's
 * hex id, as st_head_ssec filled it), which must still exist (CF_ENOKEY
 * otherwise). The callback runs under the index lock. */
typedef int (*st_object_part_cb)(void *ctx, const st_object_part *p);
int st_object_parts(st_engine *e, const char *version_id, uint32_t marker, int max,
                    st_object_part_cb cb, void *ctx, bool *truncated, cf_err *err);
/* Read up to len bytes at offset (any offset; sequential reads are fastest).
 * Returns bytes read in *n (0 at end). Verifies every CRC and GCM tag; a
 * missing or corrupt shard is rebuilt from parity (and queued for heal);
 * beyond repair: CF_ECORRUPT or CF_EQUORUM, never wrong bytes (on failure
 * buf's content is unspecified and must not be sent). Reads of whole
 * blocks from a block boundary skip a copy: read in multiples of the
 * block size where you can. */
int st_get_read(st_get *g, uint64_t offset, void *buf, size_t len, size_t *n,
                cf_err *err);
void st_get_close(st_get *g);
/* Delete: deleting a missing key is success (S3 semantics) unless the
 * bucket is missing (CF_ENOBUCKET); st_delete_version (below) with a
 * version and an If-Match. */
int st_delete(st_engine *e, const char *tenant, const char *bucket,
              const char *key, cf_err *err);
/* PutObjectRetention on a version (NULL: the latest), on a bucket with
 * object lock (CF_EBUCKETSTATE otherwise): mode ST_LOCK_NONE removes the
 * retention. While the version is retained, COMPLIANCE can only be
 * extended (same mode, a later or equal date) and GOVERNANCE extended or
 * made COMPLIANCE; anything else is CF_ELOCKED unless the version is
 * GOVERNANCE and bypass_governance is set. A date in the past for a new
 * retention is CF_EINVAL. CF_ENOVERSION, CF_EMARKER, CF_ENOKEY as for
 * st_head_version. */
int st_object_set_retention(st_engine *e, const char *tenant, const char *bucket,
                            const char *key, const char *version, int mode,
                            int64_t until_ms, bool bypass_governance, cf_err *err);
/* PutObjectLegalHold: ST_HOLD_ON or ST_HOLD_OFF, same errors. */
int st_object_set_legal_hold(st_engine *e, const char *tenant, const char *bucket,
                             const char *key, const char *version, int hold,
                             cf_err *err);

/* What a delete did (doc/design.md, "The version model"). */
typedef struct st_delete_result {
    bool delete_marker;              /* it made or removed a delete marker */
    bool versioned;                  /* the bucket's versioning was configured:
                                        version_id is to be answered */
    char version_id[ST_ID_HEX];      /* S3's id of the marker made or the
                                        version removed ("null" possibly) */
} st_delete_result;
/* DeleteObject with a version (S3's id; NULL: none): without one, the
 * bucket's versioning state decides (destroy, or a delete marker); with
 * one, that version is destroyed (an unknown one is success; a malformed
 * one CF_EINVAL). A version under object lock is CF_ELOCKED, unless it is
 * only GOVERNANCE-retained and bypass_governance is set; nothing changes
 * then. if_match (NULL: none): only if the key's current version has
 * this ETag (CF_EPRECOND; CF_ENOKEY without a current version). res may
 * be NULL. */
int st_delete_version(st_engine *e, const char *tenant, const char *bucket,
                      const char *key, const char *version, const char *if_match,
                      bool bypass_governance, st_delete_result *res, cf_err *err);

/* Server-side copy (re-encrypts under a new version): the source version
 * (src_version NULL: the latest), read with its customer key if it has
 * one, is written as a PUT of dst (dst.opts and dst.cond as for a PUT; a
 * PUT of the source's size: CF_EQUOTA as for st_put_begin and
 * st_put_finish). If dst.headers is NULL the source's headers are kept
 * (COPY), else replaced (REPLACE); dst.attrs.keep_tags keeps the source's
 * tags. */
typedef struct st_copy_args {
    const char *src_bucket, *src_key, *src_version;
    const uint8_t *src_ssec_key;
    st_put_args dst;                 /* no body: expected_size is the source's */
} st_copy_args;
int st_copy(st_engine *e, const st_copy_args *a, st_object_info *info, cf_err *err);

/* Listing. Entries arrive in key byte order, each either an object or (when
 * delimiter is set) a common prefix, rolled up as S3 does. At most max_keys
 * entries (objects + prefixes) are delivered; *truncated says whether more
 * exist, *next_marker is the last key or prefix delivered (for NextMarker /
 * continuation). start_after is exclusive. */
typedef struct st_list_args {
    const char *tenant, *bucket;
    const char *prefix;              /* NULL or "" = all */
    const char *delimiter;           /* NULL or "" = none */
    const char *start_after;         /* NULL = from the start */
    int max_keys;                    /* 0..1000 (0 delivers nothing) */
} st_list_args;
typedef int (*st_list_cb)(void *ctx, const st_object_info *obj /* NULL for a prefix */,
                          const char *common_prefix /* NULL for an object */);
int st_list(st_engine *e, const st_list_args *args, st_list_cb cb, void *ctx,
            bool *truncated, char next_marker[ST_MAX_KEY + 1], cf_err *err);
/* ListObjectVersions: every version and delete marker, by key and then
 * newest first, each with null_version, delete_marker and latest set.
 * start_after is the key marker; version_marker (S3's id, NULL: none)
 * continues inside that key after that version (CF_EINVAL if the key has
 * no such version). next_version gets the last version delivered ("" after
 * a common prefix). max_keys counts versions, markers and prefixes. */
int st_list_versions(st_engine *e, const st_list_args *args, const char *version_marker,
                     st_list_cb cb, void *ctx, bool *truncated,
                     char next_marker[ST_MAX_KEY + 1], char next_version[ST_ID_HEX],
                     cf_err *err);

/* ---- multipart -------------------------------------------------------- */

/* A new upload. checksum_full (FULL_OBJECT) asks for one CRC of the
 * whole object, combined from the parts' CRCs at completion; otherwise
 * the checksum is COMPOSITE (the algorithm over the parts' checksums).
 * CF_EINVAL: FULL_OBJECT with SHA-1/SHA-256, COMPOSITE with CRC64NVME, a
 * type without an algorithm (S3's rules). */
typedef struct st_upload_args {
    const char *tenant, *bucket, *key;
    const st_header *headers;
    size_t nheaders;
    st_object_attrs attrs;           /* go to the completed object */
    cks_algo checksum_algo;
    bool checksum_full;
    const uint8_t *ssec_key;         /* every part and read needs it */
    /* x-amz-object-lock-* of the completed version (no_overwrite unused):
     * checked at create as a PUT's are (CF_EBUCKETSTATE, CF_EINVAL); the
     * retention is the completion's, so a date that has passed by then
     * fails the completion (CF_EINVAL) */
    st_write_opts lock;
} st_upload_args;
int st_upload_create(st_engine *e, const st_upload_args *a, char upload_id[ST_ID_HEX],
                     cf_err *err);

typedef struct st_part_info {
    uint32_t part_number;
    uint64_t size;
    char etag[ST_ETAG_MAX];
    char checksum_b64[CKS_MAX_B64];
    int64_t mtime_ms;
} st_part_info;

typedef struct st_complete_part {
    uint32_t part_number;
    const char *etag;                /* as the client sent it, quotes optional */
    const char *checksum_b64;        /* NULL if not sent (as ChecksumALGO) */
} st_complete_part;

/* Complete: parts must be ascending (CF_EPARTORDER), exist with matching
 * ETags and checksums (CF_EBADPART), and all but the last be >= 5 MiB
 * (CF_ETOOSMALL). No data is copied. The upload's key must equal `key`
 * (else CF_ENOUPLOAD). The object's checksum, when the client sent one,
 * must be the computed one (CF_EDIGEST); its algorithm, type and the
 * object size, when sent, must be the upload's (CF_EINVAL). CF_EQUOTA if
 * the object would pass a quota, CF_EDENIED with no_overwrite if the key
 * has a current version (the upload stays with either).
 *
 * A retried completion: when the upload is gone because it was completed
 * into the key's current version with the same part list (numbers and
 * ETags), the call succeeds again with that version's info, so a client
 * whose first attempt's answer was lost gets the same ETag, not
 * CF_ENOUPLOAD. */
typedef enum st_cks_type {
    ST_CKS_TYPE_UNSAID = 0,          /* the client did not say */
    ST_CKS_FULL_OBJECT,
    ST_CKS_COMPOSITE,
} st_cks_type;
typedef struct st_complete_args {
    const char *tenant, *bucket, *key, *upload_id;
    const st_complete_part *parts;
    size_t nparts;
    cks_algo checksum_algo;          /* of checksum_b64 */
    const char *checksum_b64;        /* the object's checksum as sent, or NULL
                                        (a composite one with or without "-N") */
    st_cks_type checksum_type;
    int64_t expected_size;           /* x-amz-mp-object-size, or -1 */
    const uint8_t *ssec_key;         /* optional; checked when given */
    st_write_cond cond;
    bool no_overwrite;               /* a key without the overwrite permission */
} st_complete_args;
int st_upload_complete(st_engine *e, const st_complete_args *a, st_object_info *info,
                       cf_err *err);
int st_upload_abort(st_engine *e, const char *tenant, const char *bucket,
                    const char *key, const char *upload_id, cf_err *err);

typedef struct st_upload_info {
    char key[ST_MAX_KEY + 1];
    char upload_id[ST_ID_HEX];
    int64_t created_ms;
    cks_algo checksum_algo;
    bool checksum_full;              /* FULL_OBJECT (else COMPOSITE) */
    bool ssec;                       /* created with a customer key */
} st_upload_info;

/* Parts after part_marker, at most max_parts, ascending; *up (may be
 * NULL) gets the upload's own info, before the first callback. */
typedef int (*st_part_cb)(void *ctx, const st_part_info *p);
int st_upload_list_parts(st_engine *e, const char *tenant, const char *bucket,
                         const char *key, const char *upload_id,
                         uint32_t part_marker, int max_parts, st_part_cb cb,
                         void *ctx, bool *truncated, st_upload_info *up, cf_err *err);
/* Uploads ordered by (key, upload id), after (key_marker, upload_id_marker). */
typedef int (*st_upload_cb)(void *ctx, const st_upload_info *u);
int st_upload_list(st_engine *e, const char *tenant, const char *bucket,
                   const char *prefix, const char *key_marker,
                   const char *upload_id_marker, int max_uploads,
                   st_upload_cb cb, void *ctx, bool *truncated, cf_err *err);

/* ---- sealed streams (cold tier) --------------------------------------- */

/* An object's data exactly as stored, before erasure coding: for every
 * segment in order, every block's ciphertext || GCM tag. A remote tier
 * holding this stream never sees plaintext or keys; the data keys stay in
 * the index (wrapped). Open with st_get_open, then: */

/* Total bytes of the sealed stream (size + 16 per block per segment). */
uint64_t st_get_sealed_length(const st_get *g);
/* Next piece of the sealed stream: *data valid until the next call; *len 0
 * at the end. Shards are CRC-checked and rebuilt like a normal read. */
int st_get_sealed_next(st_get *g, const uint8_t **data, size_t *len, cf_err *err);

/* Random access: up to len bytes of the sealed stream from offset into
 * buf (*n < len only at its end), for a transition's parallel parts. */
int st_get_sealed_read(st_get *g, uint64_t offset, void *buf, size_t len, size_t *n,
                       cf_err *err);

/* Exactly len bytes of a sealed stream into buf, or an error. */
typedef int (*st_source)(void *ctx, uint8_t *buf, size_t len, cf_err *err);
/* Take a sealed stream back for the key's version version_id (its
 * internal id in hex; current or not; CF_ENOKEY if it is gone): every
 * block is checked against its GCM tag at its position (CF_ECORRUPT:
 * nothing replaced for that segment), then the segment's shard files are
 * rewritten in place (same data id and data key). */
int st_sealed_import(st_engine *e, const char *tenant, const char *bucket,
                     const char *key, const char *version_id, st_source src,
                     void *ctx, cf_err *err);

/* ---- maintenance ------------------------------------------------------ */

typedef struct st_gc_stats {
    uint64_t deleted_segments;       /* from the delete queue */
    uint64_t orphan_files;           /* orphan shard/temp files deleted */
    uint64_t healed_segments;
    uint64_t heal_failures;
    uint64_t files_scanned;          /* shard and temp files seen */
    uint64_t bytes_scanned;          /* their sizes */
    uint64_t orphans_held;           /* candidates not deleted: above the bound */
    uint64_t orphans_older_than_index; /* unreferenced, but older than the index: kept */
    uint64_t foreign_files;          /* not named like a shard file: kept */
    uint64_t orphan_bound;           /* the bound the scan applied */
    bool held;                       /* the bound stopped this scan's deletions */
} st_gc_stats;

/* How a long job is paced and followed: pace after each block's shard
 * bytes (nonzero: stop soon, the stats say stopped; gc: ST_GC_SCAN_COST
 * after each directory and each file its scan reads, and it goes on),
 * progress in its own units done of total (heal --all and scrub: bytes of
 * object data; gc: directories scanned), and bytes the bytes a work goes
 * through that pace is not charged with (gc: after each directory, the
 * sizes of the files in it). Any may be NULL. */
#define ST_GC_SCAN_COST 4096
typedef struct st_pacer {
    int (*pace)(void *ctx, uint64_t bytes);
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void (*bytes)(void *ctx, uint64_t bytes);
    void *ctx;
} st_pacer;

typedef struct st_gc_opts {
    int64_t grace_s;                 /* keep orphans younger than this (0: none;
                                        only safe when no PUT is in flight) */
    bool force_orphans;              /* delete candidates even above the bound */
    bool dry_run;                    /* count only: candidates go to orphans_held */
    const st_pacer *pacer;           /* NULL, or: paced by what the scan reads,
                                        its progress in directories scanned */
} st_gc_opts;

/* Drain the delete queue, then scan the disks for orphans. A file is a
 * candidate only if it is named like a shard file, no row of the index
 * names it, it is older than the grace period and it was written after
 * this index was created or restored (older ones are only counted). The
 * candidates are deleted unless there are more than the bound:
 * min(gc_max_orphans, max(ST_GC_MIN_ORPHAN_BOUND, gc_max_orphan_percent %
 * of the files scanned)); then none is (stats->held) until a run with
 * force_orphans. One st_gc runs at a time. */
int st_gc(st_engine *e, const st_gc_opts *opts, st_gc_stats *stats, cf_err *err);
/* The stats of the last scan that was not a dry run; returns its time
 * (unix ms), 0 if there was none since open. Never waits for a running
 * scan. */
int64_t st_gc_last(st_engine *e, st_gc_stats *out);
/* Rewrite missing/bad shards of every segment on the heal queue. */
int st_heal(st_engine *e, st_gc_stats *stats, cf_err *err);

/* ---- checking the whole store: heal --all and scrub (storage/scrub.c) -- */

/* A long check is paced and followed by an st_pacer (above). */

/* One problem found: in an object (upload_id NULL) or an upload's part,
 * on one disk (disk >= 0) or the object as a whole (disk -1). */
typedef struct st_finding {
    const char *tenant, *bucket, *key;
    const char *upload_id;           /* hex, or NULL */
    uint32_t part;                   /* the segment's part number (0: a PUT) */
    int disk;
    const char *what;
    bool repaired;                   /* written again from the good copies */
    bool lost;                       /* beyond repair: the data cannot be read */
} st_finding;
typedef void (*st_finding_cb)(void *ctx, const st_finding *f);

typedef struct st_check_opts {
    const char *tenant, *bucket;     /* only this bucket (both set) or tenant */
    bool deep;                       /* scrub: open every block (GCM), recompute
                                        the ETag and stored checksum, check parity */
    bool no_repair;                  /* report only */
    int slice, slices;               /* scrub: only the objects and uploads whose
                                        id's first byte * slices / 256 == slice
                                        (slices 0: everything) */
    const st_pacer *pacer;
    st_finding_cb found;
    void *ctx;
} st_check_opts;

typedef struct st_check_stats {
    uint64_t objects, uploads_parts, segments, inline_segments;
    uint64_t tiered;                 /* versions a cold tier holds (TIERED,
                                        RESTORING): their local shards are
                                        freed, so they are not checked */
    uint64_t bytes;                  /* object bytes covered */
    uint64_t shard_bytes;            /* shard bytes read */
    uint64_t shards_missing;         /* shard files absent, foreign or short */
    uint64_t shards_bad;             /* shard files with a bad block */
    uint64_t crc_errors, gcm_failures, parity_errors;
    uint64_t digest_mismatches;      /* deep: ETag or stored checksum differs */
    uint64_t manifests_missing;
    uint64_t segments_repaired, shards_rewritten, manifests_rewritten;
    uint64_t repair_failures;
    uint64_t lost_objects;           /* objects or parts beyond repair */
    uint64_t orphans;                /* scrub of everything: shard files no row
                                        names, older than an hour (GC's to delete) */
    bool stopped;
} st_check_stats;

/* heal --all: every segment's shard files are there, of this segment and
 * whole, and every multipart object has its manifest on every disk;
 * what is missing is written again (unless no_repair). */
int st_heal_all(st_engine *e, const st_check_opts *o, st_check_stats *st, cf_err *err);
/* Scrub: every shard of every block of every segment read and its CRC32C
 * checked (deep: see st_check_opts), manifests checked, bad shards
 * rewritten from the good ones (unless no_repair); objects beyond repair
 * are reported with lost set. */
int st_scrub(st_engine *e, const st_check_opts *o, st_check_stats *st, cf_err *err);
/* Write a new generation of the index snapshot to every online disk,
 * DISK/snapshots/index-LINEAGE-COMMIT.db, and prune old ones (kept: the
 * newest snapshot_keep, the newest of each of the last snapshot_days
 * days, the newest one with more than twice the objects of the newest;
 * never a file of another lineage). Nothing is written if no commit was
 * made since the last one. *copies gets how many disks hold the new
 * snapshot; fails only if none does. */
int st_snapshot(st_engine *e, int *copies, cf_err *err);
/* Number of segments waiting on the heal queue. */
int st_heal_pending(st_engine *e, uint64_t *n, cf_err *err);
/* Per disk (per_disk has st_disk_count entries): how many of the queued
 * segments have no shard on that disk, as a file or a pack record (a
 * shard that is there but bad is not counted: only a read finds that). Looks at the oldest
 * ST_HEAL_DISK_SCAN queued segments; *exact says whether that was all. */
#define ST_HEAL_DISK_SCAN 100000
int st_heal_pending_disks(st_engine *e, uint64_t per_disk[], bool *exact, cf_err *err);

/* Segments waiting on the delete queue (files still to be unlinked). */
int st_delete_pending(st_engine *e, uint64_t *n, cf_err *err);

/* Pack files (doc/design.md, "Mid-size objects") on the online disks:
 * how many, their bytes, and the bytes of the records index rows name
 * (live); the rest is dead (deleted records, appends never committed)
 * until the pack goes as a whole. [takes the index lock] */
typedef struct st_pack_usage {
    uint64_t files, bytes, live_bytes;
    /* since open: file bytes of the packs compaction gave back, and the
     * record bytes it copied to do so (st_compact) */
    uint64_t compact_reclaimed_bytes, compact_copied_bytes;
} st_pack_usage;
int st_pack_usage_get(st_engine *e, st_pack_usage *out, cf_err *err);

/* Pack compaction (doc/design.md, "Compaction"): every sealed pack on an
 * online disk, written since this index began to rule the disks, that no
 * writer holds and whose dead fraction (bytes no pack_shards row names,
 * of its bytes after the file header) is above dead_ratio has its live
 * records copied into the disk's open pack, made durable (the pack's
 * fdatasync), repointed in one index transaction (a row changed meanwhile,
 * by a DELETE, an overwrite's drain, is left as it is: the copy is dead
 * bytes), and is unlinked once no reader that opened before that commit
 * is left (get.c's reader registry). A pack no row names is unlinked the
 * same way. A kill at any step leaves every row naming a durable record:
 * the old one until the commit, the copy after it.
 * A record whose shard heal has rewritten as a shard file (which wins) is
 * not copied: its row goes. One that does not verify is left in place,
 * its segment queued for heal (its pack then stays).
 * One st_compact at a time (it waits for another) [takes the index lock
 * per pack, never across reading or writing a pack]. */
#define ST_COMPACT_DEFAULT_DEAD_RATIO 0.5
typedef struct st_compact_opts {
    double dead_ratio;               /* 0: the engine's (st_config), else 0..1 */
    const st_pacer *pacer;           /* NULL, or: paced by the record bytes
                                        copied, progress in packs */
    int64_t reader_wait_ms;          /* how long to wait for older readers
                                        before leaving a pack to the next
                                        pass (0: 2000) */
} st_compact_opts;
typedef struct st_compact_stats {
    uint64_t packs_scanned;          /* sealed packs looked at */
    uint64_t packs_compacted;        /* whose live records were copied */
    uint64_t packs_removed;          /* unlinked (compacted, or with no row) */
    uint64_t packs_left_for_readers; /* no row names them: unlinked next pass */
    uint64_t records_copied, bytes_copied;
    uint64_t records_superseded;     /* a shard file won: row dropped */
    uint64_t records_changed;        /* deleted or replaced while copied */
    uint64_t records_bad;            /* did not verify: queued for heal */
    uint64_t bytes_reclaimed;        /* file bytes of the packs unlinked */
    bool stopped;                    /* the pacer said stop */
} st_compact_stats;
int st_compact(st_engine *e, const st_compact_opts *o, st_compact_stats *out, cf_err *err);

/* Index commit counters since open: committed transactions, and the WAL
 * fdatasyncs that made them durable (group commit: concurrent writers
 * share one, so wal_syncs stays well below commits under load), the time
 * they took in all and per bucket of st_sync_bounds() (the last bucket:
 * slower than every bound); wal_failed once one failed (the index then
 * refuses writes until restart). Then which index this is: its commit
 * number, creation time, lineage and set id. */
#define ST_SYNC_NBOUNDS 12
typedef struct st_index_stats {
    uint64_t commits;
    uint64_t wal_syncs;
    double wal_sync_seconds;
    uint64_t wal_sync_buckets[ST_SYNC_NBOUNDS + 1];
    bool wal_failed;
    uint64_t commit_number;          /* across restarts (named in snapshots) */
    int64_t created_ms;              /* when this index was created or restored */
    char lineage[33];                /* hex */
    char set_id[33];                 /* hex */
} st_index_stats;
void st_index_stats_get(st_engine *e, st_index_stats *out);
/* Upper bounds, in seconds, of the fdatasync duration buckets. */
const double *st_sync_bounds(void);

/* ---- observability (tenant.c: usage; stats.c: disks) ------------------ */

/* What a tenant stores: exact, kept in the same index commit as every
 * object row (doc/design.md). Objects and bytes of completed objects;
 * parts of unfinished multipart uploads are not counted. */
typedef struct st_usage {
    char tenant[ST_MAX_TENANT + 1];
    uint64_t buckets, objects, bytes;
    int64_t max_bytes, max_objects;  /* the tenant's quota; ST_QUOTA_NONE: none */
} st_usage;
typedef int (*st_usage_cb)(void *ctx, const st_usage *u);
/* Every tenant (or only `tenant`), by name; cost: one row per bucket. */
int st_usage_list(st_engine *e, const char *tenant, st_usage_cb cb, void *ctx,
                  cf_err *err);

/* ---- quotas (quota.c) ------------------------------------------------- */

/* A quota bounds what a tenant, or one of its buckets, stores: bytes and
 * objects of completed objects, as st_usage counts them. A write that
 * would take either past a limit fails with CF_EQUOTA and stores nothing:
 * a PUT, a copy or an UploadPart whose size is known is refused before
 * its data is read, and every object commit (PUT, copy, multipart
 * completion) and part commit checks again in the transaction that
 * commits it, so racing writers together never exceed a quota. A write
 * that does not grow usage (an overwrite by a smaller object) is allowed
 * even above a limit that was lowered below what is stored. An UploadPart
 * counts the upload's other parts too (they become the object). */
#define ST_QUOTA_NONE (-1)           /* no limit */
#define ST_QUOTA_KEEP (-2)           /* st_quota_set: leave this limit as it is */
typedef struct st_quota {
    char tenant[ST_MAX_TENANT + 1];
    char bucket[ST_MAX_BUCKET + 1];  /* "": the tenant's own quota */
    int64_t max_bytes, max_objects;  /* ST_QUOTA_NONE: none */
    uint64_t objects, bytes;         /* what the tenant or bucket stores now */
} st_quota;
/* Set the tenant's quota (bucket NULL or "") or a bucket's: each limit is
 * >= 0, ST_QUOTA_NONE to drop it or ST_QUOTA_KEEP; a quota with no limit
 * left is removed. CF_ENOTFOUND (tenant), CF_ENOBUCKET, CF_EINVAL. Limits
 * below what is stored are allowed (further growth is refused). */
int st_quota_set(st_engine *e, const char *tenant, const char *bucket,
                 int64_t max_bytes, int64_t max_objects, cf_err *err);
/* Remove the tenant's (bucket NULL or "") or a bucket's quota; *removed
 * says whether there was one. CF_ENOTFOUND, CF_ENOBUCKET. A quota goes
 * with its bucket or tenant when that is deleted. */
int st_quota_clear(st_engine *e, const char *tenant, const char *bucket,
                   bool *removed, cf_err *err);
typedef int (*st_quota_cb)(void *ctx, const st_quota *q);
/* Every quota (or those of `tenant`), by tenant, the tenant's own first,
 * then by bucket name, with what each scope stores now. */
int st_quota_list(st_engine *e, const char *tenant, st_quota_cb cb, void *ctx,
                  cf_err *err);

/* A disk of the set as it is now. The file system figures come from
 * statvfs (0 if it fails); disk directories that share a file system
 * each report all of it. writable: the disk is online and its tmp/
 * directory takes new files (exists, not on a read-only mount, space
 * left). The error counters count since open (see storage/ds.h). */
typedef struct st_disk_info {
    const char *path;                /* valid while the engine is open */
    bool online;                     /* usable when the engine opened */
    bool writable;
    /* an empty directory formatted into a missing disk's place (ds.h);
     * true until a whole st_heal_all with no repair failure filled it */
    bool replacing;
    /* what the directory holds now (ds_probe): its format.json is gone
     * (missing) or of another set, lineage or position (foreign) */
    bool missing, foreign;
    /* out of the write set after a failed shard write (storage/ds.h):
     * "readonly", "full" or "failing"; "" while in it */
    const char *write_fault;
    uint64_t capacity_bytes, used_bytes, available_bytes;
    uint64_t read_errors, write_errors, crc_errors;
} st_disk_info;
int st_disk_count(const st_engine *e);
void st_disk_get(const st_engine *e, int i, st_disk_info *out);
/* One word for a disk, the first that holds: foreign (its format.json is
 * now another set's), missing (its directory or format.json is gone),
 * offline (unreadable at open), replacing (formatted into a missing
 * disk's place, heal --all has not filled it), readonly, full or failing
 * (out of the write set after a failed shard write, storage/ds.h; or the
 * file system says so: read-only, or less left than ST_DISK_FULL_BYTES
 * and 1% of its capacity),
 * else online. ST_DISK_STATES lists them all, for metrics. */
#define ST_DISK_FULL_BYTES (64ull << 20)
#define ST_DISK_STATES {"online", "readonly", "full", "failing", "replacing", \
                        "offline", "missing", "foreign"}
const char *st_disk_state(const st_disk_info *d);
/* coffer disks replace N: format the empty directory in disk i's place
 * into its position while the engine runs (storage/ds.h: ds_replace; the
 * refusals and their codes are there, CF_EINVAL for no such disk). The
 * caller starts heal --all to fill it; st_disk_get says replacing until
 * one has. */
int st_disk_replace(st_engine *e, int i, cf_err *err);

#endif
