/*
 * storage/rebuild.c - coffer rebuild-index (contract: st_rebuild_index in
 * engine.h; doc/design.md, "Rebuilding the index"; cofferd(8),
 * "RECOVERING THE INDEX").
 *
 * Offline, when every index copy and snapshot is gone: the index is put
 * together again from what every disk holds, each source authoritative for
 * what only it records:
 *   - the newest catalog (catalog.h): tenants, access keys (secrets sealed
 *     under the master key, as the index keeps them), buckets with their
 *     settings, tiers, lifecycle rules and quotas, loaded whole;
 *   - the journal (journal.h), replayed from the first record: the newest
 *     JRN_KEY of a key is its version list (seq, null version, delete
 *     markers, object lock, SSE-C check value, the upload completed, and
 *     from record version 3 tags and the version_tier row, with a tiered
 *     single PUT's segments); a version it does not list was removed.
 *     JRN_PUT and JRN_PART hold the inline objects' and parts' sealed
 *     bytes, JRN_UPLOAD/UPLOAD_END the uploads in progress (with their
 *     lock, tags and storage class from version 3), and from version 4
 *     the newest JRN_REMOTE_DELETE of a remote id whether its remote
 *     object is still to be deleted (queued again if so);
 *   - shard headers (shard.h, read through shard_read_file only, or from
 *     the records of pack files: pack_scan, pack.h) and
 *     multipart manifests (manifest.h): each sharded segment's data id,
 *     owner, size and wrapped key, and the object metadata of the version
 *     or part.
 * A key with a JRN_KEY record is rebuilt exactly; a key without one (its
 * records damaged on every disk, or a key last changed before record
 * version 2) is rebuilt from its shard files alone: versions ordered by
 * mtime, the newest current, none null unless the bucket is unversioned
 * (then only the newest is kept), no lock. Never from pack records alone:
 * every packed PUT wrote a JRN_KEY, so such a segment is a removed
 * object's whose key's last record was pruned (collect_guesses). Data no
 * row can own (a segment of a removed version, a part of a finished
 * upload) is counted and left for GC, which keeps every file older than
 * the new index.
 *
 * The rows are loaded with idx_table_load (the catalog's loader), in one
 * transaction, into META/rebuild.tmp/index.db; the file is then renamed
 * to META/index.db, or beside an index.db that exists
 * (index.db.rebuilt-STAMP), never over it. The new index's first commit
 * number is above every journal record, catalog and snapshot of the
 * lineage, so its own journal records sort after the old history's.
 * A tiered version is put back from its JRN_KEY alone (tier row and
 * segment keys; the tier is never asked), its tier found by name in the
 * catalog.
 * Memory: the disks' segment list (a few hundred bytes per segment) and
 * the journal records' JSON are held while rows are made; inline bytes
 * are not: each is read again from its journal file (jrn_read_data) as
 * its row is made, and rows go to SQLite BATCH at a time.
 */
#include "storage/engine_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fio.h"
#include "common/fsutil.h"
#include "common/hex.h"
#include "storage/catalog.h"
#include "storage/identity.h"
#include "storage/manifest.h"
#include "storage/pack.h"
#include "storage/shard.h"

#define TMP_DIR "rebuild.tmp"
#define BATCH 256                    /* rows per idx_table_load, or */
#define BATCH_HEX (8u << 20)          /* this many hex digits of blobs (inline bytes) */

/* A sharded segment as the disks hold it (its first good header). */
typedef struct rb_seg {
    uint8_t data_id[16], object_id[16], wrapped[CRYPT_WRAPPED_LEN];
    uint32_t part;
    uint64_t size;
    int shards;                      /* shard files and pack records found */
    int files;                       /* of them shard files */
    char *tenant, *bucket, *key;
    bool has_meta, headers_cut;
    int64_t mtime_ms, upload_created_ms;
    int cks_algo;
    char etag[ST_ETAG_MAX], cks[ST_CHECKSUM_MAX];
    char *headers;                   /* NULL: none */
    bool owned;                      /* a row names it */
    bool completed;                  /* a part named by a manifest */
} rb_seg;

typedef struct rb_doc {              /* a manifest, or a journal record */
    uint8_t id[16];                  /* version id (manifest, PUT), upload id */
    uint32_t part;                   /* JRN_PART */
    uint64_t commit;
    json_t *f;
    const char *path;                /* a record with data: where it is (not held) */
    uint64_t offset;
    size_t len;                      /* its data's length, 0 none */
    bool owned;
} rb_doc;

typedef struct rb_path {             /* a journal file, as replay names it */
    const char *seen;                /* replay's pointer, during the replay */
    char *path;                      /* ours */
} rb_path;

typedef struct rb_key {              /* the newest JRN_KEY of a key, or the newest
                                      * JRN_REMOTE_DELETE of a remote id (its
                                      * key_hex, tenant and bucket "") */
    const char *tenant, *bucket, *key_hex;
    uint64_t commit;
    json_t *f;
} rb_key;

typedef struct vec { void *v; size_t n, cap, size; } vec;

typedef struct rb_table {
    const char *name;
    json_t *dump, *cols, *rows;
    size_t hex;                      /* blob digits in rows */
} rb_table;

typedef struct rebuild {
    const st_config *cfg;
    st_say_cb say;
    st_progress_cb progress;
    void *ctx;
    st_rebuild_report *rep;
    ds_set set;
    idx *x;
    json_t *catalog;
    vec segs, mans, puts, parts, uploads, ended, keys, paths;
    vec rdels;                       /* rb_key: JRN_REMOTE_DELETE records */
    vec packrecs;                    /* rb_packrec: shards found in pack files */
    rb_seg **by_owner;               /* segs by (object id, part) */
    uint64_t max_commit;
    int64_t time_hw;                 /* the latest time a row records as passed */
    rb_table t_objects, t_versions, t_segments, t_uploads, t_parts, t_tags, t_tier,
        t_pack_shards, t_rdels;
} rebuild;

/* A shard found as a record in a pack file (pack.h). */
typedef struct rb_packrec {
    uint8_t data_id[16], pack_id[PACK_ID_LEN];
    int shard;
    uint64_t off, len;
    int64_t written_ns;              /* its pack's mtime: which copy is newer */
} rb_packrec;

#define say(r, ...) eng_say((r)->say, (r)->ctx, __VA_ARGS__)

static void *vec_push(vec *v)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 64;
        void *g = realloc(v->v, cap * v->size);
        if (!g)
            return NULL;
        v->v = g;
        v->cap = cap;
    }
    void *p = (char *)v->v + v->n++ * v->size;
    memset(p, 0, v->size);
    return p;
}

static bool id_of(json_t *v, uint8_t out[16])
{
    size_t n;
    const char *s = json_string_value(v);
    if (!s && json_is_object(v))
        s = json_string_value(json_object_get(v, "hex"));
    return s && hex_decode(s, out, 16, &n) == 0 && n == 16;
}

static json_t *blob(const void *p, size_t n)
{
    char *h = malloc(2 * n + 1);
    if (!h)
        return NULL;
    hex_encode(p, n, h, 2 * n + 1);
    json_t *v = json_pack("{s:s}", "hex", h);
    free(h);
    return v;
}

/* A journal field in plain hex as a blob value (null stays null). */
static json_t *blob_hex(json_t *v)
{
    const char *s = json_string_value(v);
    return s ? json_pack("{s:s}", "hex", s) : json_null();
}

static json_t *text(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *copy_or_null(json_t *v)
{
    return v ? json_incref(v) : json_null();
}

/* ---- the tables written ---------------------------------------------- */

static int tbl_init(rb_table *t, const char *name, const char *const *cols)
{
    t->name = name;
    t->cols = json_array();
    t->rows = json_array();
    for (size_t i = 0; cols[i] && t->cols; i++)
        json_array_append_new(t->cols, json_string(cols[i]));
    t->dump = t->cols && t->rows ? json_pack("{s:O, s:O}", "columns", t->cols,
                                             "rows", t->rows) : NULL;
    return t->dump ? 0 : -1;
}

static void tbl_free(rb_table *t)
{
    json_decref(t->dump);
    json_decref(t->cols);
    json_decref(t->rows);
}

static int tbl_flush(rebuild *r, rb_table *t, cf_err *err)
{
    if (json_array_size(t->rows) == 0)
        return 0;
    int rc = idx_table_load(r->x, t->name, t->dump, err);
    json_array_clear(t->rows);
    t->hex = 0;
    return rc;
}

/* Add the row o (its values named by column; stolen). */
static int tbl_add(rebuild *r, rb_table *t, json_t *o, cf_err *err)
{
    if (!o)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    json_t *row = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(t->cols, i, c) {
        json_t *v = json_object_get(o, json_string_value(c));
        json_array_append(row, v ? v : json_null());
        t->hex += json_string_length(json_object_get(v, "hex"));
    }
    static const char *const passed[] = {"mtime_ms", "noncurrent_ms", "created_ms"};
    for (size_t k = 0; k < sizeof passed / sizeof passed[0]; k++) {
        json_int_t ms = json_integer_value(json_object_get(o, passed[k]));
        r->time_hw = ms > r->time_hw ? ms : r->time_hw;
    }
    json_decref(o);
    if (!row || json_array_size(row) != json_array_size(t->cols) ||
        json_array_append_new(t->rows, row) < 0)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    return json_array_size(t->rows) >= BATCH || t->hex >= BATCH_HEX ? tbl_flush(r, t, err)
                                                                       : 0;
}

static const char *const version_cols[] = {
    "bucket_id", "key", "seq", "version_id", "null_version", "size", "etag", "mtime_ms",
    "cks_algo", "cks", "cks_composite", "nparts", "headers", "lock_mode",
    "retain_until_ms", "legal_hold", "upload_id", "ssec", "marker", "noncurrent_ms", NULL};
static const char *const segment_cols[] = {
    "version_id", "seq", "data_id", "part", "size", "wrapped", "missing", "inline_data",
    "etag", "cks", NULL};
static const char *const upload_cols[] = {
    "upload_id", "bucket_id", "key", "created_ms", "cks_algo", "headers", "cks_full", "ssec",
    "lock_mode", "retain_until_ms", "legal_hold", NULL};
static const char *const tag_cols[] = {"owner_id", "tags", NULL};
static const char *const tier_cols[] = {
    "version_id", "tier_id", "state", "requested", "remote_id", "upload_id", "remote_size",
    "data_offset", "remote_etag", "changed_ms", "restore_until_ms", "restore_days", NULL};
static const char *const rdel_cols[] = {
    "remote_id", "tier_id", "upload_id", "queued_ms", "attempts", "next_ms", "last_error",
    "recheck", NULL};
static const char *const pack_shard_cols[] = {
    "data_id", "shard", "pack_id", "offset", "length", NULL};
static const char *const part_cols[] = {
    "upload_id", "part", "data_id", "size", "etag", "md5", "cks", "mtime_ms", "wrapped",
    "missing", "inline_data", NULL};

/* ---- the catalog --------------------------------------------------------- */

/* The value of column `name` in a catalog table's row. */
static json_t *cat_col(json_t *table, json_t *row, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(table, "columns"), i, c)
        if (strcmp(json_string_value(c) ? json_string_value(c) : "", name) == 0)
            return json_array_get(row, i);
    return NULL;
}

/* The bucket's id and versioning state in the catalog: 0, or -1 unknown. */
static int bucket_of(rebuild *r, const char *tenant, const char *bucket, int64_t *id,
                     int *versioning)
{
    json_t *tt = json_object_get(r->catalog, "tenants");
    json_t *bt = json_object_get(r->catalog, "buckets");
    size_t i, j;
    json_t *t, *b;
    json_array_foreach(json_object_get(tt, "rows"), i, t) {
        const char *name = json_string_value(cat_col(tt, t, "name"));
        if (!name || strcmp(name, tenant) != 0)
            continue;
        json_int_t tid = json_integer_value(cat_col(tt, t, "id"));
        json_array_foreach(json_object_get(bt, "rows"), j, b) {
            const char *bn = json_string_value(cat_col(bt, b, "name"));
            if (bn && strcmp(bn, bucket) == 0 &&
                json_integer_value(cat_col(bt, b, "tenant_id")) == tid) {
                *id = json_integer_value(cat_col(bt, b, "id"));
                *versioning = (int)json_integer_value(cat_col(bt, b, "versioning"));
                return 0;
            }
        }
    }
    return -1;
}

static int load_catalog(rebuild *r, cf_err *err)
{
    uint64_t commit;
    char path[PATH_MAX];
    r->catalog = cat_newest(&r->set, &commit, path);
    if (!r->catalog)
        return cf_fail(err, CF_ENOTFOUND, "no disk holds a catalog of this set and lineage "
                       "(DISK/%s): its tenants, access keys and buckets cannot be rebuilt",
                       CAT_FILE);
    if (commit > r->max_commit)
        r->max_commit = commit;
    const char *names[] = {"tenants", "access_keys", "buckets"};
    int64_t *counts[] = {&r->rep->tenants, &r->rep->keys, &r->rep->buckets};
    for (int i = 0; i < 3; i++)
        *counts[i] = (int64_t)json_array_size(
            json_object_get(json_object_get(r->catalog, names[i]), "rows"));
    say(r, "catalog   %s (commit %llu): %lld tenants, %lld access keys, %lld buckets", path,
        (unsigned long long)commit, (long long)r->rep->tenants, (long long)r->rep->keys,
        (long long)r->rep->buckets);
    return cat_load(r->x, r->catalog, err);
}

/* ---- the journal --------------------------------------------------------- */

/* Our copy of the name of a journal file replay delivers records of
 * (few: one per disk and generation). */
static const char *journal_path(rebuild *r, const char *seen)
{
    rb_path *p = r->paths.v;
    for (size_t i = r->paths.n; i > 0; i--)
        if (p[i - 1].seen == seen)
            return p[i - 1].path;
    for (size_t i = 0; i < r->paths.n; i++)
        if (strcmp(p[i].path, seen) == 0) {
            p[i].seen = seen;
            return p[i].path;
        }
    rb_path *n = vec_push(&r->paths);
    if (!n || !(n->path = strdup(seen)))
        return NULL;
    n->seen = seen;
    return n->path;
}

static int on_record(void *ctx, const jrn_record *rec)
{
    rebuild *r = ctx;
    r->rep->journal_records++;
    if (rec->commit > r->max_commit)
        r->max_commit = rec->commit;
    json_t *f = rec->fields;
    rb_doc *d = NULL;
    switch (rec->type) {
    case JRN_KEY: {
        const char *t = json_string_value(json_object_get(f, "tenant"));
        const char *b = json_string_value(json_object_get(f, "bucket"));
        const char *k = json_string_value(json_object_get(f, "key"));
        if (!t || !b || !k || !json_is_array(json_object_get(f, "versions"))) {
            r->rep->torn++;
            return 0;
        }
        rb_key *key = vec_push(&r->keys);
        if (!key)
            return -1;
        *key = (rb_key){t, b, k, rec->commit, json_incref(f)};
        return 0;
    }
    case JRN_REMOTE_DELETE: {
        const char *id = json_string_value(json_object_get(f, "remote_id"));
        json_t *q = json_object_get(f, "queued");
        if (!id || !*id || !(json_is_object(q) || json_is_null(q))) {
            r->rep->torn++;
            return 0;
        }
        rb_key *rd = vec_push(&r->rdels);
        if (!rd)
            return -1;
        *rd = (rb_key){"", "", id, rec->commit, json_incref(f)};
        return 0;
    }
    case JRN_PUT:
        d = vec_push(&r->puts);
        break;
    case JRN_PART:
        d = vec_push(&r->parts);
        break;
    case JRN_UPLOAD:
        d = vec_push(&r->uploads);
        break;
    case JRN_UPLOAD_END:
        d = vec_push(&r->ended);
        break;
    default:
        r->rep->torn++;              /* a type this version does not know */
        return 0;
    }
    if (!d)
        return -1;
    const char *idf = rec->type == JRN_PUT ? "version_id" : "upload_id";
    if (!id_of(json_object_get(f, idf), d->id)) {
        rec->type == JRN_PUT ? r->puts.n-- : rec->type == JRN_PART ? r->parts.n--
            : rec->type == JRN_UPLOAD ? r->uploads.n-- : r->ended.n--;
        r->rep->torn++;
        return 0;
    }
    d->commit = rec->commit;
    d->part = (uint32_t)json_integer_value(json_object_get(f, "part"));
    d->f = json_incref(f);
    if (rec->len) {                  /* the bytes stay in the file (journal.h) */
        d->path = journal_path(r, rec->path);
        if (!d->path)
            return -1;
        d->offset = rec->offset;
        d->len = rec->len;
    }
    return 0;
}

/* A record's inline bytes, read again from its journal file, as a blob
 * value (one record at a time: memory stays bounded however many inline
 * objects the journal holds). */
static json_t *doc_data(const rb_doc *d, cf_err *err)
{
    uint8_t *data;
    size_t len;
    if (jrn_read_data(d->path, d->offset, &data, &len, err) < 0)
        return NULL;
    json_t *b = len == d->len ? blob(data, len) : NULL;
    free(data);
    if (!b && len != d->len)
        cf_fail(err, CF_ECORRUPT, "journal %s: the record at %llu changed since it was "
                "read", d->path, (unsigned long long)d->offset);
    else if (!b)
        cf_fail(err, CF_ENOMEM, "out of memory");
    return b;
}

static int read_journal(rebuild *r, cf_err *err)
{
    int files, torn, newer;
    if (r->progress)
        r->progress(r->ctx, 0, 0, 0, "reading the journal");
    if (jrn_replay(&r->set, 0, on_record, r, &files, &torn, &newer, err) < 0)
        return -1;
    r->rep->journal_files = (uint64_t)files;
    r->rep->torn += (uint64_t)torn;
    r->rep->newer = (uint64_t)newer;
    say(r, "journal   %d files, %llu records (%d damaged or torn, %d of a newer version)",
        files, (unsigned long long)r->rep->journal_records, torn, newer);
    return 0;
}

/* ---- shard headers and manifests ------------------------------------ */

static int add_manifest(rebuild *r, const char *path)
{
    cf_err e;
    json_t *m = man_read(path, &e);
    rb_doc *d = m ? vec_push(&r->mans) : NULL;
    if (!m || !d || !id_of(json_object_get(m, "version_id"), d->id)) {
        if (d)
            r->mans.n--;
        json_decref(m);
        r->rep->unplaced++;
        return m ? -1 : 0;
    }
    d->f = m;
    r->rep->manifests++;
    return 0;
}

/* A shard's header, from its file or (!file) its pack record. */
static int add_header(rebuild *r, const shard_header *hp, const shard_meta *mp, int has_meta,
                      bool file)
{
    const shard_header h = *hp;
    const shard_meta m = *mp;
    rb_seg *s = vec_push(&r->segs);
    if (!s)
        return -1;
    memcpy(s->data_id, h.data_id, 16);
    memcpy(s->object_id, h.object_id, 16);
    memcpy(s->wrapped, h.wrapped, CRYPT_WRAPPED_LEN);
    s->part = h.part;
    s->size = h.size;
    s->shards = 1;
    s->files = file;
    s->tenant = strdup(h.tenant);
    s->bucket = strdup(h.bucket);
    s->key = strdup(h.key);
    if (has_meta == 1) {
        s->has_meta = true;
        s->mtime_ms = m.mtime_ms;
        s->upload_created_ms = m.upload_created_ms;
        s->cks_algo = m.cks_algo;
        s->headers_cut = m.headers_cut;
        snprintf(s->etag, sizeof s->etag, "%s", m.etag);
        snprintf(s->cks, sizeof s->cks, "%s", m.cks_b64);
        s->headers = m.headers[0] ? strdup(m.headers) : NULL;
    }
    return s->tenant && s->bucket && s->key ? 0 : -1;
}

static int add_shard(rebuild *r, const char *path)
{
    shard_header h;
    shard_meta m;
    int has_meta;
    cf_err e;
    r->rep->shard_files++;
    if (shard_read_file(path, &h, &m, &has_meta, &e) < 0 ||
        memcmp(h.set_id, r->set.set_id, 16) != 0) {
        r->rep->unplaced++;
        return 0;
    }
    return add_header(r, &h, &m, has_meta, true);
}

/* ---- pack files (pack.h): every record that verifies is a shard ------- */

typedef struct pack_walk {
    rebuild *r;
    int disk;
    uint8_t id[PACK_ID_LEN];
    int64_t written_ns;
} pack_walk;

#define SCAN_NOMEM 2                 /* add_record ran out of memory */

static int add_record(const pack_rec *rec, void *arg)
{
    pack_walk *w = arg;
    rebuild *r = w->r;
    r->rep->shard_files++;
    if (memcmp(rec->h.set_id, r->set.set_id, 16) != 0 || rec->h.shard_index != w->disk) {
        r->rep->unplaced++;
        return 0;
    }
    rb_packrec *p = vec_push(&r->packrecs);
    if (!p)
        return SCAN_NOMEM;
    memcpy(p->data_id, rec->h.data_id, 16);
    memcpy(p->pack_id, w->id, PACK_ID_LEN);
    p->shard = w->disk;
    p->written_ns = w->written_ns;
    p->off = rec->off;
    p->len = PACK_REC_PREFIX + SHARD_HEADER_SIZE + rec->body_len;
    return add_header(r, &rec->h, &rec->meta, rec->has_meta, false) < 0 ? SCAN_NOMEM : 0;
}

/* The records of disk i's packs: a pack that does not open is counted as
 * unplaced; a damaged record ends its pack's scan (what follows is not
 * trusted). */
static int scan_packs(rebuild *r, int i)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/packs", r->set.disks[i].path);
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && d && (de = readdir(d)) != NULL) {
        pack_walk w = {.r = r, .disk = i};
        char path[PATH_MAX];
        cf_err e;
        struct stat sb;
        if (!pack_name_to_id(de->d_name, w.id) ||
            (size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path)
            continue;
        if (stat(path, &sb) == 0) {
            r->rep->bytes_scanned += (uint64_t)sb.st_size;
            w.written_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
        }
        int n = pack_scan(path, add_record, &w, NULL, &e);
        if (n == SCAN_NOMEM || (n < 0 && e.code == CF_ENOMEM))
            rc = -1;
        else if (n < 0)
            r->rep->unplaced++;
    }
    if (d)
        closedir(d);
    return rc;
}

/* By shard, the copy in the pack written last first. */
static int cmp_packrec(const void *a, const void *b)
{
    const rb_packrec *x = a, *y = b;
    int c = memcmp(x->data_id, y->data_id, 16);
    if (c == 0 && x->shard != y->shard)
        c = x->shard < y->shard ? -1 : 1;
    if (c == 0 && x->written_ns != y->written_ns)
        c = x->written_ns > y->written_ns ? -1 : 1;
    return c;
}

/* The pack_shards rows of the records whose segment a row now owns. A
 * shard found in two packs (compaction copied it and was killed before
 * it unlinked the old pack, storage/compact.c) gets one row: the copies
 * verified and are the same shard, and the one in the pack written last
 * is the compaction's, so the old pack is left with no row. */
static rb_seg *find_seg(rebuild *r, const uint8_t data_id[16]);
static void sort_n(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *));
static int pack_rows(rebuild *r, cf_err *err)
{
    rb_packrec *p = r->packrecs.v;
    sort_n(p, r->packrecs.n, sizeof *p, cmp_packrec);
    for (size_t i = 0; i < r->packrecs.n; i++) {
        rb_seg *s = find_seg(r, p[i].data_id);
        if (!s || (!s->owned && !s->completed))
            continue;
        if (i > 0 && memcmp(p[i - 1].data_id, p[i].data_id, 16) == 0 &&
            p[i - 1].shard == p[i].shard)
            continue;                /* an older copy of the shard before */
        if (tbl_add(r, &r->t_pack_shards,
                    json_pack("{s:o, s:I, s:o, s:I, s:I}", "data_id", blob(p[i].data_id, 16),
                              "shard", (json_int_t)p[i].shard, "pack_id",
                              blob(p[i].pack_id, PACK_ID_LEN), "offset", (json_int_t)p[i].off,
                              "length", (json_int_t)p[i].len), err) < 0)
            return -1;
    }
    return tbl_flush(r, &r->t_pack_shards, err);
}

#define SCAN_PHASE "reading shard headers (bytes: the files read)"

static int scan_disks(rebuild *r, cf_err *err)
{
    uint64_t total = 256 * (uint64_t)r->set.n, done = 0;
    for (int i = 0; i < r->set.n; i++) {
        if (r->set.disks[i].online && scan_packs(r, i) < 0)
            return cf_fail(err, CF_ENOMEM, "out of memory");
        for (int xx = 0; xx < 256; xx++, done++) {
            char dir[PATH_MAX];
            if (r->progress && xx % 16 == 0)
                r->progress(r->ctx, done, total, r->rep->bytes_scanned, SCAN_PHASE);
            if (!r->set.disks[i].online)
                continue;
            snprintf(dir, sizeof dir, "%s/objects/%02x", r->set.disks[i].path, xx);
            DIR *d = opendir(dir);
            struct dirent *de;
            while (d && (de = readdir(d)) != NULL) {
                char path[PATH_MAX];
                uint8_t id[16], head[MAN_MAGIC_LEN];
                if (!shard_name_to_id(de->d_name, id) ||
                    (size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >=
                        sizeof path)
                    continue;
                FILE *f = fopen(path, "rb");
                struct stat sb;
                size_t n = f ? fread(head, 1, sizeof head, f) : 0;
                if (f && fstat(fileno(f), &sb) == 0)
                    r->rep->bytes_scanned += (uint64_t)sb.st_size;
                if (f)
                    fclose(f);
                int rc = man_is(head, n) ? add_manifest(r, path) : add_shard(r, path);
                if (rc < 0) {
                    closedir(d);
                    return cf_fail(err, CF_ENOMEM, "out of memory");
                }
            }
            if (d)
                closedir(d);
        }
    }
    if (r->progress)
        r->progress(r->ctx, total, total, r->rep->bytes_scanned, SCAN_PHASE);
    return 0;
}

/* ---- sorting and finding ------------------------------------------------ */

/* qsort and bsearch, which must not be given the NULL array of an empty
 * vec. */
static void sort_n(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(v, n, size, cmp);
}

static void *find_n(const void *key, const void *v, size_t n, size_t size,
                    int (*cmp)(const void *, const void *))
{
    return n ? bsearch(key, v, n, size, cmp) : NULL;
}

static int cmp_seg(const void *a, const void *b)
{
    return memcmp(((const rb_seg *)a)->data_id, ((const rb_seg *)b)->data_id, 16);
}

static int cmp_doc_id(const void *a, const void *b)
{
    const rb_doc *x = a, *y = b;
    int c = memcmp(x->id, y->id, 16);
    return c ? c : x->part < y->part ? -1 : x->part > y->part;
}

static int cmp_doc(const void *a, const void *b)
{
    const rb_doc *x = a, *y = b;
    int c = cmp_doc_id(a, b);
    if (c == 0 && x->commit != y->commit)
        c = x->commit < y->commit ? -1 : 1;
    return c;
}

/* The order of (tenant, bucket, key) names. */
static int cmp_names(const char *t1, const char *b1, const char *k1, const char *t2,
                     const char *b2, const char *k2)
{
    int c = strcmp(t1, t2);
    if (c == 0)
        c = strcmp(b1, b2);
    return c ? c : strcmp(k1, k2);
}

static int cmp_key_names(const void *a, const void *b)
{
    const rb_key *x = a, *y = b;
    return cmp_names(x->tenant, x->bucket, x->key_hex, y->tenant, y->bucket, y->key_hex);
}

static int cmp_key(const void *a, const void *b)
{
    const rb_key *x = a, *y = b;
    int c = cmp_key_names(a, b);
    if (c == 0 && x->commit != y->commit)
        c = x->commit < y->commit ? -1 : 1;
    return c;
}

static void seg_free(rb_seg *s)
{
    free(s->tenant);
    free(s->bucket);
    free(s->key);
    free(s->headers);
}

/* Sort and fold the copies of one segment (one per disk) into one. */
static void fold_segments(rebuild *r)
{
    rb_seg *v = r->segs.v;
    sort_n(v, r->segs.n, sizeof *v, cmp_seg);
    size_t o = 0;
    for (size_t i = 0; i < r->segs.n; i++) {
        if (o > 0 && memcmp(v[o - 1].data_id, v[i].data_id, 16) == 0) {
            v[o - 1].shards++;
            v[o - 1].files += v[i].files;
            if (!v[o - 1].has_meta && v[i].has_meta) {
                rb_seg keep = v[o - 1];
                v[o - 1] = v[i];
                v[o - 1].shards = keep.shards;
                v[o - 1].files = keep.files;
                seg_free(&keep);
            } else {
                seg_free(&v[i]);
            }
            continue;
        }
        v[o++] = v[i];
    }
    r->segs.n = o;
}

/* Sort docs; keep the newest of each (id, part). */
static void fold_docs(vec *d)
{
    rb_doc *v = d->v;
    sort_n(v, d->n, sizeof *v, cmp_doc);
    size_t o = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (o > 0 && cmp_doc_id(&v[o - 1], &v[i]) == 0) {
            json_decref(v[o - 1].f);
            v[o - 1] = v[i];
            continue;
        }
        v[o++] = v[i];
    }
    d->n = o;
}

static rb_seg *find_seg(rebuild *r, const uint8_t data_id[16])
{
    rb_seg k;
    memcpy(k.data_id, data_id, 16);
    return find_n(&k, r->segs.v, r->segs.n, sizeof k, cmp_seg);
}

static int cmp_owner(const void *a, const void *b)
{
    const rb_seg *x = *(rb_seg *const *)a, *y = *(rb_seg *const *)b;
    int c = memcmp(x->object_id, y->object_id, 16);
    return c ? c : x->part < y->part ? -1 : x->part > y->part;
}

static int index_owners(rebuild *r)
{
    r->by_owner = malloc((r->segs.n ? r->segs.n : 1) * sizeof *r->by_owner);
    if (!r->by_owner)
        return -1;
    for (size_t i = 0; i < r->segs.n; i++)
        r->by_owner[i] = (rb_seg *)r->segs.v + i;
    sort_n(r->by_owner, r->segs.n, sizeof *r->by_owner, cmp_owner);
    return 0;
}

/* The single PUT segment (part 0) of version vid. */
static rb_seg *find_owned(rebuild *r, const uint8_t vid[16])
{
    rb_seg k = {.part = 0}, *kp = &k;
    memcpy(k.object_id, vid, 16);
    rb_seg **hit = find_n(&kp, r->by_owner, r->segs.n, sizeof kp, cmp_owner);
    return hit ? *hit : NULL;
}

static rb_doc *find_doc(vec *d, const uint8_t id[16], uint32_t part)
{
    rb_doc k = {.part = part};
    memcpy(k.id, id, 16);
    return find_n(&k, d->v, d->n, sizeof k, cmp_doc_id);
}

static rb_key *find_key(rebuild *r, const char *tenant, const char *bucket,
                        const char *key_hex)
{
    rb_key k = {tenant, bucket, key_hex, 0, NULL};
    return find_n(&k, r->keys.v, r->keys.n, sizeof k, cmp_key_names);
}

/* Keep the newest record of each key (JRN_KEY) or remote id
 * (JRN_REMOTE_DELETE) in keys. */
static void fold_keys(vec *keys)
{
    rb_key *v = keys->v;
    sort_n(v, keys->n, sizeof *v, cmp_key);
    size_t o = 0;
    for (size_t i = 0; i < keys->n; i++) {
        if (o > 0 && cmp_key_names(&v[o - 1], &v[i]) == 0) {
            json_decref(v[o - 1].f);
            v[o - 1] = v[i];
            continue;
        }
        v[o++] = v[i];
    }
    keys->n = o;
}

/* ---- rows ------------------------------------------------------------- */

static int add_segment_row(rebuild *r, const uint8_t vid[16], int seq, json_t *data_id,
                           uint32_t part, json_int_t size, json_t *wrapped, json_t *inl,
                           const rb_seg *s, cf_err *err)
{
    return tbl_add(r, &r->t_segments,
                   json_pack("{s:o, s:i, s:o, s:I, s:I, s:o, s:i, s:o, s:o, s:o}",
                             "version_id", blob(vid, 16), "seq", seq, "data_id", data_id,
                             "part", (json_int_t)part, "size", size, "wrapped", wrapped,
                             "missing", 0, "inline_data", inl,
                             "etag", text(s && s->has_meta && part ? s->etag : NULL),
                             "cks", text(s && s->has_meta && part && s->cks[0] ? s->cks
                                                                          : NULL)),
                   err);
}

/* Rows for a list of segments as a manifest or a tiered version's JRN_KEY
 * lists them ({data_id, part, size, wrapped, inline?}); *sum their sizes. */
static int segment_rows(rebuild *r, const uint8_t vid[16], json_t *segs, json_int_t *sum,
                        cf_err *err)
{
    size_t i;
    json_t *sg;
    *sum = 0;
    json_array_foreach(segs, i, sg) {
        uint8_t did[16];
        if (!id_of(json_object_get(sg, "data_id"), did))
            return cf_fail(err, CF_ECORRUPT, "a manifest or journal record names a "
                           "malformed data id");
        rb_seg *s = find_seg(r, did);
        if (s)
            s->owned = true;
        json_t *inl = json_object_get(sg, "inline");
        json_int_t n = json_integer_value(json_object_get(sg, "size"));
        *sum += n;
        if (add_segment_row(r, vid, (int)i, blob(did, 16),
                            (uint32_t)json_integer_value(json_object_get(sg, "part")), n,
                            blob_hex(json_object_get(sg, "wrapped")),
                            json_is_string(inl) ? blob_hex(inl) : json_null(), s, err) < 0)
            return -1;
    }
    return 0;
}

/* The segments of version vid, from whichever source holds its data: 1
 * found (rows added), 0 none. A multipart version has a manifest; a
 * single PUT a shard segment of part 0, or an inline JRN_PUT; a tiered
 * single PUT whose files were freed the segments its JRN_KEY lists
 * (tier: the version's "tier", or NULL). */
static int version_data(rebuild *r, const uint8_t vid[16], json_t *tier, json_int_t *size,
                        cf_err *err)
{
    rb_doc *m = find_doc(&r->mans, vid, 0);
    json_int_t sum;
    if (m) {
        m->owned = true;
        if (segment_rows(r, vid, json_object_get(m->f, "segments"), &sum, err) < 0)
            return -1;
        *size = json_integer_value(json_object_get(m->f, "size"));
        return 1;
    }
    rb_doc *p = find_doc(&r->puts, vid, 0);
    if (p && p->len) {
        p->owned = true;
        *size = json_integer_value(json_object_get(p->f, "size"));
        uint8_t did[16];
        if (!id_of(json_object_get(p->f, "data_id"), did))
            return 0;
        rb_seg *s = find_seg(r, did);
        if (s)
            s->owned = true;
        json_t *data = doc_data(p, err);
        return !data || add_segment_row(r, vid, 0, blob(did, 16), 0, *size,
                                        blob_hex(json_object_get(p->f, "wrapped")), data,
                                        NULL, err) < 0 ? -1 : 1;
    }
    rb_seg *v = find_owned(r, vid);
    json_t *tiered = json_object_get(tier, "segments");
    if (!v && json_array_size(tiered) > 0)
        return segment_rows(r, vid, tiered, size, err) < 0 ? -1 : 1;
    if (!v)
        return 0;
    v->owned = true;
    *size = (json_int_t)v->size;
    return add_segment_row(r, vid, 0, blob(v->data_id, 16), 0, *size,
                           blob(v->wrapped, CRYPT_WRAPPED_LEN), json_null(), v, err) < 0
           ? -1 : 1;
}

/* The id the catalog gives the tier named `name`, or -1. */
static int64_t tier_of(rebuild *r, const char *name)
{
    json_t *tt = json_object_get(r->catalog, "tiers");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(tt, "rows"), i, t) {
        const char *n = json_string_value(cat_col(tt, t, "name"));
        if (n && name && strcmp(n, name) == 0)
            return json_integer_value(cat_col(tt, t, "id"));
    }
    return -1;
}

/* The tags row of owner (a version or an upload), if tags (JSON text)
 * is a string. */
static int tags_row(rebuild *r, const uint8_t owner[16], json_t *tags, cf_err *err)
{
    if (!json_is_string(tags))
        return 0;
    r->rep->tagged++;
    return tbl_add(r, &r->t_tags, json_pack("{s:o, s:O}", "owner_id", blob(owner, 16),
                                            "tags", tags), err);
}

/* What a record version 3 JRN_KEY adds to a version placed (journal.h):
 * its tags and its tier row. A tier the catalog does not hold leaves the
 * version local (counted unplaced); a RESTORED version whose local copy
 * is gone is TIERED again (reads go to the remote). */
static int version_attrs(rebuild *r, const uint8_t vid[16], json_t *v, cf_err *err)
{
    if (tags_row(r, vid, json_object_get(v, "tags"), err) < 0)
        return -1;
    json_t *tier = json_object_get(v, "tier");
    if (!json_is_object(tier))
        return 0;
    int64_t id = tier_of(r, json_string_value(json_object_get(tier, "tier")));
    if (id < 0) {
        r->rep->unplaced++;
        return 0;
    }
    json_t *row = json_deep_copy(tier);
    if (!row)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    json_object_set_new(row, "version_id", blob(vid, 16));
    json_object_set_new(row, "tier_id", json_integer(id));
    json_object_set_new(row, "changed_ms",      /* not journaled: the workers' order */
                        json_integer(json_integer_value(json_object_get(v, "mtime_ms"))));
    if (json_integer_value(json_object_get(tier, "state")) == ST_TIER_RESTORED &&
        json_array_size(json_object_get(tier, "segments")) > 0 && !find_owned(r, vid)) {
        json_object_set_new(row, "state", json_integer(ST_TIER_TIERED));
        json_object_set_new(row, "restore_until_ms", json_integer(0));
    }
    r->rep->tiered++;
    return tbl_add(r, &r->t_tier, row, err);
}

/* A key with its JRN_KEY record: exactly its rows. */
static int exact_key(rebuild *r, rb_key *k, cf_err *err)
{
    int64_t bid;
    int versioning;
    if (bucket_of(r, k->tenant, k->bucket, &bid, &versioning) < 0) {
        size_t n = json_array_size(json_object_get(k->f, "versions"));
        r->rep->unplaced += n;
        return 0;
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(k->f, "versions"), i, v) {
        uint8_t vid[16];
        json_int_t size = 0;
        if (!id_of(json_object_get(v, "version_id"), vid)) {
            r->rep->torn++;
            continue;
        }
        bool marker = json_integer_value(json_object_get(v, "marker")) != 0;
        json_t *tier = json_object_get(v, "tier");
        int found = marker ? 1 : version_data(r, vid, tier, &size, err);
        if (found < 0)
            return -1;
        if (found == 0) {
            r->rep->no_data++;
            continue;
        }
        if (version_attrs(r, vid, v, err) < 0)
            return -1;
        json_t *row = json_deep_copy(v);
        json_object_set_new(row, "bucket_id", json_integer(bid));
        json_object_set_new(row, "key", json_pack("{s:s}", "hex", k->key_hex));
        bool current = json_integer_value(json_object_get(v, "current")) != 0;
        if (marker)
            r->rep->markers++;
        else
            r->rep->bytes += size;
        r->rep->versions++;
        r->rep->objects += current;
        if (tbl_add(r, current ? &r->t_objects : &r->t_versions, row, err) < 0)
            return -1;
    }
    r->rep->keys_exact++;
    return 0;
}

/* A version known from its data only (no JRN_KEY for its key). */
typedef struct rb_guess {
    const char *tenant, *bucket;
    char *key_hex;
    int64_t mtime_ms;
    uint8_t vid[16];
    json_t *row;                     /* its fields */
} rb_guess;

static int cmp_guess(const void *a, const void *b)
{
    const rb_guess *x = a, *y = b;
    int c = cmp_names(x->tenant, x->bucket, x->key_hex, y->tenant, y->bucket, y->key_hex);
    if (c == 0 && x->mtime_ms != y->mtime_ms)
        c = x->mtime_ms < y->mtime_ms ? -1 : 1;
    if (c == 0)
        c = memcmp(x->vid, y->vid, 16);
    return c;
}

static char *hex_of(const char *s)
{
    size_t n = strlen(s);
    char *h = malloc(2 * n + 1);
    if (h)
        hex_encode((const uint8_t *)s, n, h, 2 * n + 1);
    return h;
}

static int guess_add(rebuild *r, vec *g, const char *tenant, const char *bucket,
                     char *key_hex, const uint8_t vid[16], int64_t mtime, json_t *row)
{
    if (!key_hex || !row) {
        free(key_hex);
        json_decref(row);
        return -1;
    }
    if (find_key(r, tenant, bucket, key_hex)) {
        r->rep->removed++;           /* its key's newest state does not list it */
        free(key_hex);
        json_decref(row);
        return 0;
    }
    rb_guess *x = vec_push(g);
    if (!x)
        return -1;
    *x = (rb_guess){tenant, bucket, key_hex, mtime, {0}, row};
    memcpy(x->vid, vid, 16);
    return 0;
}

/* The versions of docs (manifests or JRN_PUTs, the same fields) that no
 * JRN_KEY placed. */
static int guess_docs(rebuild *r, vec *g, vec *docs)
{
    rb_doc *d = docs->v;
    for (size_t i = 0; i < docs->n; i++) {
        if (d[i].owned)
            continue;
        json_t *f = d[i].f;
        const char *t = json_string_value(json_object_get(f, "tenant"));
        const char *b = json_string_value(json_object_get(f, "bucket"));
        const char *k = json_string_value(json_object_get(f, "key"));
        if (!t || !b || !k) {
            r->rep->unplaced++;
            continue;
        }
        json_t *row = json_pack("{s:o, s:I, s:s?, s:I, s:I, s:O?, s:i, s:I, s:O?, s:o}",
            "version_id", blob(d[i].id, 16),
            "size", json_integer_value(json_object_get(f, "size")),
            "etag", json_string_value(json_object_get(f, "etag")),
            "mtime_ms", json_integer_value(json_object_get(f, "mtime_ms")),
            "cks_algo", json_integer_value(json_object_get(f, "cks_algo")),
            "cks", json_object_get(f, "cks"),
            "cks_composite", json_is_true(json_object_get(f, "cks_composite")),
            "nparts", json_integer_value(json_object_get(f, "nparts")),
            "headers", json_object_get(f, "headers"),
            "upload_id", blob_hex(json_object_get(f, "upload_id")));
        if (guess_add(r, g, t, b, strdup(k), d[i].id,
                      json_integer_value(json_object_get(f, "mtime_ms")), row) < 0)
            return -1;
    }
    return 0;
}

/* Every version whose data no JRN_KEY placed. A segment found in pack
 * records alone is not one: packs came after JRN_KEY (record version 2),
 * so every packed PUT wrote its key's state, and a key with none left was
 * removed (its last JRN_KEY, an empty list, pruned at a snapshot) while
 * its records stay in their packs as dead bytes until compaction. */
static int collect_guesses(rebuild *r, vec *g)
{
    if (guess_docs(r, g, &r->mans) < 0 || guess_docs(r, g, &r->puts) < 0)
        return -1;
    rb_seg *s = r->segs.v;
    for (size_t i = 0; i < r->segs.n; i++) {
        if (s[i].owned || s[i].part != 0)
            continue;
        if (s[i].files == 0) {
            r->rep->removed++;
            continue;
        }
        r->rep->headers_cut += s[i].headers_cut;
        json_t *row = json_pack("{s:o, s:I, s:s, s:I, s:i, s:s?, s:s?}",
            "version_id", blob(s[i].object_id, 16), "size", (json_int_t)s[i].size,
            "etag", s[i].etag, "mtime_ms", (json_int_t)s[i].mtime_ms,
            "cks_algo", s[i].cks_algo, "cks", s[i].cks[0] ? s[i].cks : NULL,
            "headers", s[i].headers);
        if (guess_add(r, g, s[i].tenant, s[i].bucket, hex_of(s[i].key), s[i].object_id,
                      s[i].mtime_ms, row) < 0)
            return -1;
    }
    return 0;
}

/* Rows for the guessed versions: per key by mtime, the newest current. */
static int guessed_keys(rebuild *r, cf_err *err)
{
    vec g = {.size = sizeof(rb_guess)};
    int rc = collect_guesses(r, &g) < 0 ? cf_fail(err, CF_ENOMEM, "out of memory") : 0;
    rb_guess *v = g.v;
    if (rc == 0)
        sort_n(v, g.n, sizeof *v, cmp_guess);
    for (size_t i = 0; rc == 0 && i < g.n;) {
        size_t end = i + 1;
        while (end < g.n && cmp_names(v[end].tenant, v[end].bucket, v[end].key_hex,
                                      v[i].tenant, v[i].bucket, v[i].key_hex) == 0)
            end++;
        int64_t bid;
        int versioning;
        if (bucket_of(r, v[i].tenant, v[i].bucket, &bid, &versioning) < 0) {
            r->rep->unplaced += end - i;
            i = end;
            continue;
        }
        size_t first = versioning == ST_VERSIONING_OFF ? end - 1 : i;
        r->rep->removed += first - i;
        for (size_t j = first; rc == 0 && j < end; j++) {
            json_int_t size = 0;
            int found = version_data(r, v[j].vid, NULL, &size, err);
            if (found <= 0) {
                rc = found;
                r->rep->no_data += found == 0;
                continue;
            }
            bool current = j == end - 1;
            json_t *row = json_incref(v[j].row);
            json_object_set_new(row, "bucket_id", json_integer(bid));
            json_object_set_new(row, "key", json_pack("{s:s}", "hex", v[j].key_hex));
            json_object_set_new(row, "seq", json_integer((json_int_t)(j - first + 1)));
            json_object_set_new(row, "null_version",
                                json_integer(versioning == ST_VERSIONING_OFF));
            json_object_set_new(row, "marker", json_integer(0));
            const char *zero[] = {"cks_composite", "nparts", "lock_mode", "retain_until_ms",
                                  "legal_hold"};
            for (size_t z = 0; z < sizeof zero / sizeof zero[0]; z++)
                if (!json_object_get(row, zero[z]))
                    json_object_set_new(row, zero[z], json_integer(0));
            json_object_set_new(row, "noncurrent_ms", json_integer(current ? 0 :
                                                                   v[j + 1].mtime_ms));
            r->rep->versions++;
            r->rep->objects += current;
            r->rep->bytes += size;
            rc = tbl_add(r, current ? &r->t_objects : &r->t_versions, row, err);
        }
        r->rep->keys_guessed++;
        i = end;
    }
    for (size_t i = 0; i < g.n; i++) {
        free(v[i].key_hex);
        json_decref(v[i].row);
    }
    free(g.v);
    return rc;
}

/* ---- uploads in progress ------------------------------------------------ */

static bool upload_ended(rebuild *r, const uint8_t id[16])
{
    return find_doc(&r->ended, id, 0) != NULL;
}

static int upload_row(rebuild *r, const uint8_t id[16], const char *tenant,
                      const char *bucket, json_t *key_hex, json_int_t created, int algo,
                      json_t *headers, json_t *f, cf_err *err)
{
    int64_t bid;
    int versioning;
    if (bucket_of(r, tenant, bucket, &bid, &versioning) < 0) {
        r->rep->unplaced++;
        json_decref(key_hex);
        json_decref(headers);
        return 0;
    }
    r->rep->uploads++;
    if (tbl_add(r, &r->t_uploads,
                json_pack("{s:o, s:I, s:o, s:I, s:i, s:o, s:I, s:o, s:I, s:I, s:I}",
                          "upload_id", blob(id, 16), "bucket_id", (json_int_t)bid,
                          "key", key_hex, "created_ms", created, "cks_algo", algo,
                          "headers", headers,
                          "cks_full", json_integer_value(json_object_get(f, "cks_full")),
                          "ssec", blob_hex(json_object_get(f, "ssec")),
                          "lock_mode", json_integer_value(json_object_get(f, "lock_mode")),
                          "retain_until_ms",
                          json_integer_value(json_object_get(f, "retain_until_ms")),
                          "legal_hold", json_integer_value(json_object_get(f, "legal_hold"))),
                err) < 0 ||
        tags_row(r, id, json_object_get(f, "tags"), err) < 0)
        return -1;
    /* a storage class of a tier: the completed version waits for it */
    json_int_t tier = json_integer_value(json_object_get(f, "tier_id"));
    return tier <= 0 ? 0 : tbl_add(r, &r->t_tier,
        json_pack("{s:o, s:I, s:i, s:i, s:n, s:n, s:i, s:i, s:n, s:I, s:i, s:i}",
                  "version_id", blob(id, 16), "tier_id", tier, "state", ST_TIER_PENDING,
                  "requested", 1, "remote_id", "upload_id", "remote_size", 0,
                  "data_offset", 0, "remote_etag", "changed_ms", created,
                  "restore_until_ms", 0, "restore_days", 0), err);
}

static int uploads(rebuild *r, cf_err *err)
{
    /* The uploads the journal saw begin and not end. */
    rb_doc *u = r->uploads.v;
    for (size_t i = 0; i < r->uploads.n; i++) {
        json_t *f = u[i].f;
        const char *t = json_string_value(json_object_get(f, "tenant"));
        const char *b = json_string_value(json_object_get(f, "bucket"));
        if (upload_ended(r, u[i].id))
            continue;
        if (!t || !b) {
            r->rep->unplaced++;
            continue;
        }
        u[i].owned = true;
        if (upload_row(r, u[i].id, t, b, blob_hex(json_object_get(f, "key")),
                       json_integer_value(json_object_get(f, "created_ms")),
                       (int)json_integer_value(json_object_get(f, "cks_algo")),
                       copy_or_null(json_object_get(f, "headers")), f, err) < 0)
            return -1;
    }
    /* Sharded parts no manifest names: their upload is in progress unless
     * the journal saw it end; one the journal did not see begin is made
     * from the part's header. */
    rb_seg *s = r->segs.v;
    for (size_t i = 0; i < r->segs.n; i++) {
        if (s[i].part == 0 || s[i].completed || s[i].owned)
            continue;
        if (upload_ended(r, s[i].object_id)) {
            r->rep->removed++;
            continue;
        }
        rb_doc *known = find_doc(&r->uploads, s[i].object_id, 0);
        if (!known || !known->owned) {
            rb_doc *d = vec_push(&r->uploads);   /* so the next part finds it */
            if (!d)
                return cf_fail(err, CF_ENOMEM, "out of memory");
            memcpy(d->id, s[i].object_id, 16);
            d->owned = true;
            sort_n(r->uploads.v, r->uploads.n, sizeof *d, cmp_doc);
            u = r->uploads.v;
            char *kh = hex_of(s[i].key);
            json_t *khj = kh ? json_pack("{s:s}", "hex", kh) : NULL;
            free(kh);
            if (upload_row(r, s[i].object_id, s[i].tenant, s[i].bucket, khj,
                           s[i].upload_created_ms, s[i].cks_algo, text(s[i].headers),
                           NULL, err) < 0)
                return -1;
        }
        uint8_t md5[16] = {0};
        char hexmd5[33] = "";
        size_t n;
        sscanf(s[i].etag, "\"%32[0-9a-f]\"", hexmd5);
        if (hex_decode(hexmd5, md5, 16, &n) < 0 || n != 16)
            memset(md5, 0, sizeof md5);
        s[i].owned = true;
        r->rep->parts++;
        if (tbl_add(r, &r->t_parts,
                    json_pack("{s:o, s:I, s:o, s:I, s:s, s:o, s:s?, s:I, s:o, s:i, s:n}",
                              "upload_id", blob(s[i].object_id, 16),
                              "part", (json_int_t)s[i].part, "data_id", blob(s[i].data_id, 16),
                              "size", (json_int_t)s[i].size, "etag", s[i].etag,
                              "md5", blob(md5, 16), "cks", s[i].cks[0] ? s[i].cks : NULL,
                              "mtime_ms", (json_int_t)s[i].mtime_ms,
                              "wrapped", blob(s[i].wrapped, CRYPT_WRAPPED_LEN),
                              "missing", 0, "inline_data"), err) < 0)
            return -1;
    }
    /* Inline parts of the uploads in progress. */
    rb_doc *p = r->parts.v;
    for (size_t i = 0; i < r->parts.n; i++) {
        json_t *f = p[i].f;
        rb_doc *up = find_doc(&r->uploads, p[i].id, 0);
        if (!up || !up->owned || upload_ended(r, p[i].id) || !p[i].len) {
            r->rep->removed += !up || upload_ended(r, p[i].id);
            continue;
        }
        r->rep->parts++;
        json_t *data = doc_data(&p[i], err);
        if (!data)
            return -1;
        if (tbl_add(r, &r->t_parts,
                    json_pack("{s:o, s:I, s:o, s:I, s:O?, s:o, s:O?, s:I, s:o, s:i, s:o}",
                              "upload_id", blob(p[i].id, 16), "part", (json_int_t)p[i].part,
                              "data_id", blob_hex(json_object_get(f, "data_id")),
                              "size", json_integer_value(json_object_get(f, "size")),
                              "etag", json_object_get(f, "etag"),
                              "md5", blob_hex(json_object_get(f, "md5")),
                              "cks", json_object_get(f, "cks"),
                              "mtime_ms", json_integer_value(json_object_get(f, "mtime_ms")),
                              "wrapped", blob_hex(json_object_get(f, "wrapped")),
                              "missing", 0, "inline_data", data),
                    err) < 0)
            return -1;
    }
    return 0;
}

/* ---- remote deletes -------------------------------------------------- */

/* The remote objects still queued for deletion at their newest
 * JRN_REMOTE_DELETE: queued again, as new (their attempts and next try
 * start over), their tier found by name. One the remote had deleted
 * (queued null) is not; a tier the catalog no longer holds cannot take
 * one (counted unplaced). */
static int remote_deletes(rebuild *r, cf_err *err)
{
    rb_key *d = r->rdels.v;
    for (size_t i = 0; i < r->rdels.n; i++) {
        json_t *q = json_object_get(d[i].f, "queued");
        if (!json_is_object(q))
            continue;
        int64_t id = tier_of(r, json_string_value(json_object_get(q, "tier")));
        if (id < 0) {
            r->rep->unplaced++;
            continue;
        }
        r->rep->remote_deletes++;
        if (tbl_add(r, &r->t_rdels, json_pack("{s:s, s:I, s:O, s:I, s:i, s:i, s:n, s:I}",
                    "remote_id", d[i].key_hex, "tier_id", (json_int_t)id,
                    "upload_id", json_object_get(q, "upload_id") ? json_object_get(q,
                                 "upload_id") : json_null(),
                    "queued_ms", json_integer_value(json_object_get(q, "queued_ms")),
                    "attempts", 0, "next_ms", 0, "last_error",
                    "recheck", json_integer_value(json_object_get(q, "recheck"))),
                    err) < 0)
            return -1;
    }
    return 0;
}

/* ---- the whole --------------------------------------------------------- */

static int make_rows(rebuild *r, cf_err *err)
{
    fold_segments(r);
    fold_docs(&r->mans);
    fold_docs(&r->puts);
    fold_docs(&r->parts);
    fold_docs(&r->uploads);
    fold_docs(&r->ended);
    fold_keys(&r->keys);
    fold_keys(&r->rdels);
    if (index_owners(r) < 0)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    /* parts a completed object took are not an upload's any more */
    rb_doc *m = r->mans.v;
    for (size_t i = 0; i < r->mans.n; i++) {
        size_t j;
        json_t *sg;
        json_array_foreach(json_object_get(m[i].f, "segments"), j, sg) {
            uint8_t did[16];
            rb_seg *s = id_of(json_object_get(sg, "data_id"), did) ? find_seg(r, did) : NULL;
            if (s)
                s->completed = true;
        }
    }
    if (r->progress)
        r->progress(r->ctx, 0, r->keys.n, 0, "placing versions");
    rb_key *k = r->keys.v;
    for (size_t i = 0; i < r->keys.n; i++) {
        if (exact_key(r, &k[i], err) < 0)
            return -1;
        if (r->progress && i % 4096 == 4095)
            r->progress(r->ctx, i + 1, r->keys.n, 0, "placing versions");
    }
    if (guessed_keys(r, err) < 0 || uploads(r, err) < 0 || remote_deletes(r, err) < 0)
        return -1;
    rb_seg *s = r->segs.v;
    for (size_t i = 0; i < r->segs.n; i++)
        if (!s[i].owned && !s[i].completed)
            r->rep->removed++;
    if (pack_rows(r, err) < 0)
        return -1;
    rb_table *t[] = {&r->t_objects, &r->t_versions, &r->t_segments, &r->t_uploads,
                     &r->t_parts, &r->t_tags, &r->t_tier, &r->t_rdels};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (tbl_flush(r, t[i], err) < 0)
            return -1;
    return 0;
}

static void free_docs(vec *d)
{
    rb_doc *v = d->v;
    for (size_t i = 0; i < d->n; i++)
        json_decref(v[i].f);
    free(d->v);
}

static void rebuild_free(rebuild *r)
{
    rb_seg *s = r->segs.v;
    for (size_t i = 0; i < r->segs.n; i++)
        seg_free(&s[i]);
    free(r->segs.v);
    free(r->packrecs.v);
    free(r->by_owner);
    free_docs(&r->mans);
    free_docs(&r->puts);
    free_docs(&r->parts);
    free_docs(&r->uploads);
    free_docs(&r->ended);
    rb_key *k = r->keys.v;
    for (size_t i = 0; i < r->keys.n; i++)
        json_decref(k[i].f);
    free(r->keys.v);
    k = r->rdels.v;
    for (size_t i = 0; i < r->rdels.n; i++)
        json_decref(k[i].f);
    free(r->rdels.v);
    rb_path *p = r->paths.v;
    for (size_t i = 0; i < r->paths.n; i++)
        free(p[i].path);
    free(r->paths.v);
    json_decref(r->catalog);
    tbl_free(&r->t_objects);
    tbl_free(&r->t_versions);
    tbl_free(&r->t_segments);
    tbl_free(&r->t_uploads);
    tbl_free(&r->t_parts);
    tbl_free(&r->t_tags);
    tbl_free(&r->t_tier);
    tbl_free(&r->t_pack_shards);
    tbl_free(&r->t_rdels);
}

/* Remove what a run left in META/rebuild.tmp. */
static void clear_tmp(const char *dir)
{
    const char *names[] = {"index.db", "index.db-wal", "index.db-shm", "index.db-journal"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* Fill the new index in tmp (open, catalog, journal, disks, rows, identity). */
static int fill(rebuild *r, const char *tmp, const uint8_t check[32], uint64_t snap_top,
                cf_err *err)
{
    if (idx_open(tmp, &r->x, err) < 0)
        return -1;
    idx_lock(r->x);
    int rc = idx_begin(r->x, err);
    if (rc == 0)
        rc = load_catalog(r, err);
    if (rc == 0)
        rc = read_journal(r, err);
    if (rc == 0)
        rc = scan_disks(r, err);
    if (rc == 0) {
        say(r, "disks     %llu shard files, %llu manifests (%llu bytes scanned)",
            (unsigned long long)r->rep->shard_files, (unsigned long long)r->rep->manifests,
            (unsigned long long)r->rep->bytes_scanned);
        rc = make_rows(r, err);
    }
    if (rc == 0)                     /* the lock clock never runs behind the data */
        rc = idx_clock_hw_raise_locked(r->x, r->time_hw, err);
    rc = rc == 0 ? idx_commit(r->x, err) : (idx_rollback(r->x), -1);
    cf_err later;
    if (idx_unlock_durable(r->x, rc == 0 ? err : &later) < 0)
        rc = -1;
    if (rc == 0) {
        idx_ident id = {.has_set = true, .has_lineage = true, .has_master_check = true,
                        .created_ms = eng_file_clock_ms(), .has_commit = true};
        memcpy(id.set_id, r->set.set_id, 16);
        memcpy(id.lineage, r->set.lineage, 16);
        memcpy(id.master_check, check, 32);
        id.commit = (r->max_commit > snap_top ? r->max_commit : snap_top) + 1;
        r->rep->commit = id.commit;
        rc = idx_ident_write(r->x, &id, err);
    }
    idx_close(r->x);
    r->x = NULL;
    return rc;
}

static void report(rebuild *r, bool dry_run)
{
    const st_rebuild_report *p = r->rep;
    say(r, "rebuilt   %lld objects (%lld bytes in %lld versions, %lld delete markers), "
        "%lld uploads in progress (%lld parts)", (long long)p->objects, (long long)p->bytes,
        (long long)p->versions, (long long)p->markers, (long long)p->uploads,
        (long long)p->parts);
    say(r, "keys      %llu exactly (from the journal), %llu from their data alone "
        "(versions by mtime, no lock)", (unsigned long long)p->keys_exact,
        (unsigned long long)p->keys_guessed);
    if (p->tiered || p->tagged)
        say(r, "tiers     %llu versions in a tier or waiting for one (read from the tier "
            "as before), %llu versions and uploads with their tags",
            (unsigned long long)p->tiered, (unsigned long long)p->tagged);
    if (p->remote_deletes)
        say(r, "remote    %llu remote objects of deleted or overwritten tiered versions "
            "queued for deletion again (the tier deletes them once cofferd runs)",
            (unsigned long long)p->remote_deletes);
    if (p->removed)
        say(r, "left      %llu segments or versions of removed objects and finished "
            "uploads: not indexed, their files kept", (unsigned long long)p->removed);
    if (p->no_data)
        say(r, "LOST      %llu versions the journal names have no data on the disks "
            "(their shard files are gone, or they were tiered by a coffer that did not "
            "journal tiers: coffer tier recover finds those)",
            (unsigned long long)p->no_data);
    if (p->unplaced)
        say(r, "WARNING   %llu files or records could not be placed (unreadable, another "
            "set's, or of a bucket the catalog does not hold)",
            (unsigned long long)p->unplaced);
    if (p->torn || p->newer)
        say(r, "WARNING   the journal had %llu damaged records or torn files, and %llu "
            "records of a newer coffer: skipped", (unsigned long long)p->torn,
            (unsigned long long)p->newer);
    if (p->headers_cut)
        say(r, "note      %llu versions lost their stored headers (too long for a shard "
            "header)", (unsigned long long)p->headers_cut);
    if (dry_run)
        say(r, "dry run: nothing written");
    else if (p->beside)
        say(r, "wrote     %s, beside the existing index.db: stop cofferd, move index.db "
            "aside and this file to index.db to use it", p->index);
    else
        say(r, "wrote     %s (first commit %llu); start cofferd to serve it", p->index,
            (unsigned long long)p->commit);
}

int st_rebuild_index(const st_config *cfg, bool dry_run, st_say_cb say_cb,
                     st_progress_cb progress, void *ctx, st_rebuild_report *rep,
                     cf_err *err)
{
    rebuild r = {.cfg = cfg, .say = say_cb, .progress = progress, .ctx = ctx, .rep = rep,
                 .segs.size = sizeof(rb_seg), .mans.size = sizeof(rb_doc),
                 .puts.size = sizeof(rb_doc), .parts.size = sizeof(rb_doc),
                 .uploads.size = sizeof(rb_doc), .ended.size = sizeof(rb_doc),
                 .keys.size = sizeof(rb_key), .rdels.size = sizeof(rb_key),
                 .paths.size = sizeof(rb_path),
                 .packrecs.size = sizeof(rb_packrec)};
    memset(rep, 0, sizeof *rep);
    if (!cfg->meta_dir)
        return cf_fail(err, CF_ECONFIG, "no metadata directory configured");
    if (ds_open(&r.set, cfg->disks, cfg->ndisks, cfg->k, cfg->m, cfg->block_size, err) < 0)
        return -1;
    ident_state st;
    uint8_t key[CRYPT_KEY_LEN], check[32];
    int rc = ident_assess(&r.set, cfg->meta_dir, &st, err);
    bool assessed = rc == 0;
    if (rc == 0 && !r.set.has_lineage)
        rc = cf_fail(err, CF_ECONFIG, "the disks are not formatted (or are coffer 0.1.0's, "
                     "which keep no journal or catalog): there is nothing to rebuild from");
    if (rc == 0)
        rc = eng_load_master(cfg, &r.set, false, key, err);
    if (rc == 0) {
        crypt_master_check(key, check);
        crypt_wipe(key, sizeof key);
        if (st.newest)
            say(&r, "note      a snapshot survives (%s): coffer restore-index recovers more "
                "exactly from it", st.newest->path);
        rc = tbl_init(&r.t_objects, "objects", version_cols) < 0 ||
             tbl_init(&r.t_versions, "versions", version_cols) < 0 ||
             tbl_init(&r.t_segments, "segments", segment_cols) < 0 ||
             tbl_init(&r.t_uploads, "uploads", upload_cols) < 0 ||
             tbl_init(&r.t_parts, "parts", part_cols) < 0 ||
             tbl_init(&r.t_tags, "object_tags", tag_cols) < 0 ||
             tbl_init(&r.t_tier, "version_tier", tier_cols) < 0 ||
             tbl_init(&r.t_pack_shards, "pack_shards", pack_shard_cols) < 0 ||
             tbl_init(&r.t_rdels, "remote_deletes", rdel_cols) < 0
             ? cf_fail(err, CF_ENOMEM, "out of memory") : 0;
    }
    char tmp[PATH_MAX], built[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s/" TMP_DIR, cfg->meta_dir);
    snprintf(built, sizeof built, "%s/index.db", tmp);
    if (rc == 0) {
        clear_tmp(tmp);
        rc = fsu_mkdir_p(tmp, err);
    }
    if (rc == 0)
        rc = fill(&r, tmp, check, snap_max_commit(&st.snaps, &r.set), err);
    if (rc == 0 && !dry_run) {
        struct stat sb;
        rep->beside = st.index.present || st.index_damaged ||
                      stat(st.index_path, &sb) == 0;
        if (rep->beside) {
            char stamp[32];
            time_t now = time(NULL);
            struct tm tm;
            gmtime_r(&now, &tm);
            strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
            snprintf(rep->index, sizeof rep->index, "%.*s.rebuilt-%.20s",
                     (int)(sizeof rep->index - 40), st.index_path, stamp);
        } else {
            snprintf(rep->index, sizeof rep->index, "%s", st.index_path);
        }
        if (fio_rename(built, rep->index) != 0)
            rc = cf_fail_errno(err, CF_EIO, errno, "cannot rename %s to %s", built,
                               rep->index);
        else
            rc = fsu_fsync_dir(cfg->meta_dir, err);
    }
    clear_tmp(tmp);
    if (rc == 0)
        report(&r, dry_run);
    rebuild_free(&r);
    if (assessed)
        ident_free(&st);
    ds_close(&r.set);
    return rc;
}
