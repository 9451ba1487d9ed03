/*
 * tests/unit/test_tiering.c - the engine's side of cold tiers and
 * lifecycle rules (storage/lifecycle.h) on a real engine: the tier
 * registry and its sealed secret, the attributes writes set (storage
 * class, tags) through PUT, copy and multipart, the tiered state machine
 * (intent, commit, abort, recovery after a crash, deletes queued for the
 * remote), restores, the remote object's header opened with the master
 * key alone, lifecycle configurations and the walk rules look at.
 *
 * No remote is involved here: moving bytes is the tier module's, tested
 * against real servers in tests/integration/tier*.sh. What a remote would
 * hold is the bytes st_tobj reads, kept in memory by the test.
 */
#include "common/fio.h"
#include "common/hex.h"
#include "storage/crypto.h"
#include "storage/lifecycle.h"
#include "tests/unit/engine_util.h"
#include "tests/unit/test.h"

#include <jansson.h>
#include <fcntl.h>
#include <unistd.h>

#define CFG "{\"endpoint\":\"http://127.0.0.1:1\",\"bucket\":\"cold\"}"

static st_engine *setup(eng_fixture *f, int64_t *tier_id)
{
    st_engine *e = fixture_setup(f, test_tmpdir(), 3, 2, 1, false);
    cf_err err;
    st_tier t;
    if (!e || st_tier_add(e, "COLD", "s3", CFG, "s3cr3t-value-XYZZY", &err) < 0 ||
        st_tier_get(e, "COLD", 0, false, &t, &err) < 0) {
        fprintf(stderr, "setup: %s\n", e ? err.msg : "no engine");
        return e;
    }
    *tier_id = t.id;
    st_tier_clear(&t);
    return e;
}

static int usage_cb(void *ctx, const st_usage *u)
{
    *(st_usage *)ctx = *u;
    return 0;
}

/* bucket_usage (kept by triggers on objects) counts a tiered version as
 * the object it still is, with its plaintext size, in every state. */
static void usage_is(st_engine *e, uint64_t objects, uint64_t bytes)
{
    st_usage u = {0};
    cf_err err;
    CHECK_EQ_INT(st_usage_list(e, "t1", usage_cb, &u, &err), 0);
    CHECK_EQ_INT(u.objects, objects);
    CHECK_EQ_INT(u.bytes, bytes);
}

static bool file_has(const char *path, const char *needle)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    static char buf[1 << 20];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    size_t nl = strlen(needle);
    for (ssize_t i = 0; n > 0 && i + (ssize_t)nl <= n; i++)
        if (memcmp(buf + i, needle, nl) == 0)
            return true;
    return false;
}

static void registry_and_sealed_secret(void)
{
    eng_fixture f;
    int64_t id = 0;
    st_engine *e = setup(&f, &id);
    REQUIRE(e && id);
    cf_err err;
    CHECK(!names_tier_ok("cold"));
    CHECK(!names_tier_ok("GLACIER"));
    CHECK(!names_tier_ok("STANDARD"));
    CHECK(!names_tier_ok(""));
    CHECK(names_tier_ok("COLD_2-B"));
    CHECK_EQ_INT(st_tier_add(e, "COLD", "s3", CFG, "x", &err), -1);
    CHECK_EQ_INT(err.code, CF_EEXISTS);
    CHECK_EQ_INT(st_tier_add(e, "DEEP_ARCHIVE", "s3", CFG, "x", &err), -1);
    CHECK_EQ_INT(err.code, CF_EINVAL);
    CHECK_EQ_INT(st_tier_add(e, "X", "s3", "[1]", "x", &err), -1);
    CHECK_EQ_INT(err.code, CF_EINVAL);
    st_tier t;
    REQUIRE(st_tier_get(e, "COLD", 0, true, &t, &err) == 0);
    CHECK_EQ_STR(t.secret, "s3cr3t-value-XYZZY");
    CHECK_EQ_STR(t.type, "s3");
    st_tier_clear(&t);
    REQUIRE(st_tier_get(e, NULL, id, false, &t, &err) == 0);
    CHECK_EQ_STR(t.secret, "");
    CHECK_EQ_STR(t.name, "COLD");
    st_tier_clear(&t);
    CHECK_EQ_INT(st_tier_get(e, "NOPE", 0, false, &t, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOTFOUND);
    st_tier_note_error(e, id, "remote said no");
    REQUIRE(st_tier_get(e, "COLD", 0, false, &t, &err) == 0);
    CHECK_EQ_STR(t.last_error, "remote said no");
    CHECK(t.last_error_ms > 0);
    st_tier_clear(&t);
    st_close(e);
    /* the secret is sealed: not in the index file (nor its WAL) */
    char path[700];
    snprintf(path, sizeof path, "%s/index.db", f.meta);
    CHECK(!file_has(path, "s3cr3t-value-XYZZY"));
    snprintf(path, sizeof path, "%s/index.db-wal", f.meta);
    CHECK(!file_has(path, "s3cr3t-value-XYZZY"));
    e = fixture_open(&f);
    REQUIRE(e);
    REQUIRE(st_tier_get(e, "COLD", 0, true, &t, &err) == 0);
    CHECK_EQ_STR(t.secret, "s3cr3t-value-XYZZY");
    st_tier_clear(&t);
    CHECK_EQ_INT(st_tier_remove(e, "COLD", &err), 0);
    CHECK_EQ_INT(st_tier_remove(e, "COLD", &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOTFOUND);
    st_close(e);
}

static int count_pending(void *ctx, const st_tier_candidate *c)
{
    (*(int *)ctx)++;
    return 0;
}

static void writes_set_class_and_tags(void)
{
    eng_fixture f;
    int64_t id = 0;
    st_engine *e = setup(&f, &id);
    REQUIRE(e && id);
    cf_err err;
    st_object_info info;
    st_header tags[2] = {{"k", "v"}, {"team", "ops"}};
    st_put_args a = {.tenant = "t1", .bucket = "b", .key = "cold", .expected_size = 5,
                     .attrs = {.storage_class = "COLD", .tags = tags, .ntags = 2}};
    st_put *p;
    REQUIRE(st_put_begin(e, &a, &p, &err) == 0);
    REQUIRE(st_put_write(p, "hello", 5, &err) == 0);
    REQUIRE(st_put_finish(p, NULL, NULL, &err) == 0);
    REQUIRE(st_head(e, "t1", "b", "cold", &info, &err) == 0);
    CHECK_EQ_STR(info.storage_class, "COLD");
    CHECK_EQ_INT(info.ntags, 2);
    st_object_info_clear(&info);
    int n = 0;
    REQUIRE(st_tier_pending(e, 10, count_pending, &n, &err) == 0);
    CHECK_EQ_INT(n, 1);
    st_header *got;
    size_t ng;
    REQUIRE(st_tags_get(e, "t1", "b", "cold", NULL, &got, &ng, &err) == 0);
    REQUIRE(ng == 2);
    CHECK_EQ_STR(got[1].name, "team");
    st_tags_free(got, ng);
    /* an unknown class or a bad tag set is refused before anything is kept */
    a.attrs.storage_class = "WARM";
    CHECK_EQ_INT(st_put_begin(e, &a, &p, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOTFOUND);
    st_header bad[1] = {{"aws:x", "1"}};
    a.attrs = (st_object_attrs){.tags = bad, .ntags = 1};
    CHECK_EQ_INT(st_put_begin(e, &a, &p, &err), -1);
    CHECK_EQ_INT(err.code, CF_EINVAL);
    /* a customer key (SSE-C) stays local: the worker could not move it */
    static const uint8_t ckey[ST_SSEC_KEY_LEN] = {1, 2, 3};
    a.attrs = (st_object_attrs){.storage_class = "COLD"};
    a.ssec_key = ckey;
    CHECK_EQ_INT(st_put_begin(e, &a, &p, &err), -1);
    CHECK_EQ_INT(err.code, CF_EINVAL);
    a.ssec_key = NULL;
    /* copy: COPY keeps the tags, REPLACE takes the new ones; a class */
    st_copy_args ca = {.src_bucket = "b", .src_key = "cold",
                       .dst = {.tenant = "t1", .bucket = "b", .key = "copy1",
                               .attrs = {.keep_tags = true}}};
    REQUIRE(st_copy(e, &ca, &info, &err) == 0);
    REQUIRE(st_head(e, "t1", "b", "copy1", &info, &err) == 0);
    CHECK_EQ_INT(info.ntags, 2);
    CHECK_EQ_STR(info.storage_class, "");
    st_object_info_clear(&info);
    ca.dst.key = "copy2";
    ca.dst.attrs = (st_object_attrs){.storage_class = "COLD", .tags = tags, .ntags = 1};
    REQUIRE(st_copy(e, &ca, &info, &err) == 0);
    REQUIRE(st_head(e, "t1", "b", "copy2", &info, &err) == 0);
    CHECK_EQ_INT(info.ntags, 1);
    CHECK_EQ_STR(info.storage_class, "COLD");
    st_object_info_clear(&info);
    /* multipart: the upload's attributes become the object's */
    char uid[ST_ID_HEX];
    st_upload_args ua = {.tenant = "t1", .bucket = "b", .key = "mp",
                         .attrs = {.storage_class = "COLD", .tags = tags + 1, .ntags = 1}};
    REQUIRE(st_upload_create(e, &ua, uid, &err) == 0);
    st_put_args pa = {.tenant = "t1", .bucket = "b", .key = "mp", .upload_id = uid,
                      .part_number = 1, .expected_size = 3};
    REQUIRE(st_put_begin(e, &pa, &p, &err) == 0);
    REQUIRE(st_put_write(p, "abc", 3, &err) == 0);
    st_object_info pi;
    REQUIRE(st_put_finish(p, NULL, &pi, &err) == 0);
    st_complete_part cp = {.part_number = 1, .etag = pi.etag};
    st_complete_args ca2 = {.tenant = "t1", .bucket = "b", .key = "mp", .upload_id = uid,
                            .parts = &cp, .nparts = 1, .expected_size = -1};
    REQUIRE(st_upload_complete(e, &ca2, &info, &err) == 0);
    REQUIRE(st_head(e, "t1", "b", "mp", &info, &err) == 0);
    CHECK_EQ_STR(info.storage_class, "COLD");
    CHECK_EQ_INT(info.ntags, 1);
    st_object_info_clear(&info);
    /* an aborted upload leaves nothing */
    ua.key = "gone";
    REQUIRE(st_upload_create(e, &ua, uid, &err) == 0);
    REQUIRE(st_upload_abort(e, "t1", "b", "gone", uid, &err) == 0);
    n = 0;
    REQUIRE(st_tier_pending(e, 10, count_pending, &n, &err) == 0);
    CHECK_EQ_INT(n, 3);                      /* cold, copy2, mp */
    /* overwriting and deleting drop a PENDING row with the version */
    REQUIRE(put_gen(e, "b", "cold", 10, 1, NULL, &err) == 0);
    REQUIRE(st_delete(e, "t1", "b", "copy2", &err) == 0);
    n = 0;
    REQUIRE(st_tier_pending(e, 10, count_pending, &n, &err) == 0);
    CHECK_EQ_INT(n, 1);
    REQUIRE(st_tags_get(e, "t1", "b", "cold", NULL, &got, &ng, &err) == 0);
    CHECK_EQ_INT(ng, 0);
    /* tags can be replaced and deleted */
    REQUIRE(st_tags_put(e, "t1", "b", "mp", NULL, tags, 2, &err) == 0);
    REQUIRE(st_tags_get(e, "t1", "b", "mp", NULL, &got, &ng, &err) == 0);
    CHECK_EQ_INT(ng, 2);
    st_tags_free(got, ng);
    REQUIRE(st_tags_put(e, "t1", "b", "mp", NULL, NULL, 0, &err) == 0);
    REQUIRE(st_tags_get(e, "t1", "b", "mp", NULL, &got, &ng, &err) == 0);
    CHECK_EQ_INT(ng, 0);
    CHECK_EQ_INT(st_tags_put(e, "t1", "b", "none", NULL, tags, 1, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOKEY);
    /* a tier with versions in it (pending or not) is not removed */
    CHECK_EQ_INT(st_tier_remove(e, "COLD", &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOTEMPTY);
    st_close(e);
}

/* The whole remote object, as the tier module would upload it. */
static uint8_t *read_tobj(st_engine *e, const st_transition *t)
{
    st_tobj *r;
    cf_err err;
    uint8_t *buf = malloc(t->total_len);
    if (!buf || st_tobj_open(e, t, &r, &err) < 0) {
        free(buf);
        return NULL;
    }
    /* in two pieces, the second from an odd offset: random access */
    uint64_t half = t->total_len / 2 + 3;
    if (st_tobj_read(r, 0, buf, (size_t)half, &err) < 0 ||
        st_tobj_read(r, half, buf + half, (size_t)(t->total_len - half), &err) < 0) {
        fprintf(stderr, "st_tobj_read: %s\n", err.msg);
        free(buf);
        buf = NULL;
    }
    st_tobj_close(r);
    return buf;
}

/* Read the remote object in 64 KiB pieces, as an upload through curl does,
 * and compare it with whole; in a fault build also count the shard reads:
 * each block's shards are read (and the block opened) once, however many
 * pieces it is asked for in. */
static void read_tobj_in_pieces(st_engine *e, const st_transition *t,
                                const uint8_t *whole, uint64_t blocks, int shards)
{
    st_tobj *r;
    cf_err err;
    uint8_t *buf = malloc(t->total_len);
    REQUIRE(buf && st_tobj_open(e, t, &r, &err) == 0);
    uint64_t reads = fio_count(FIO_READ);
    for (uint64_t off = 0; off < t->total_len; off += 65536) {
        size_t n = t->total_len - off < 65536 ? (size_t)(t->total_len - off) : 65536;
        REQUIRE(st_tobj_read(r, off, buf + off, n, &err) == 0);
    }
    if (fio_faults_built())
        CHECK(fio_count(FIO_READ) - reads <= blocks * (uint64_t)shards);
    CHECK(memcmp(buf, whole, t->total_len) == 0);
    st_tobj_close(r);
    free(buf);
}

/* Open the remote object with the master key alone and decrypt it all:
 * 1 if it equals stream seed of size bytes. */
static int recover_alone(const eng_fixture *f, const char *remote_id, const uint8_t *obj,
                         size_t len, uint64_t seed, uint64_t size)
{
    uint8_t master[CRYPT_KEY_LEN], kek[CRYPT_KEY_LEN];
    cf_err err;
    st_remote_header h;
    if (crypt_master_load(f->keyfile, master, &err) < 0 ||
        st_remote_header_open(master, remote_id, obj, len, &h, &err) < 0) {
        fprintf(stderr, "recover: %s\n", err.msg);
        return -1;
    }
    json_t *meta = json_loads(h.meta, 0, NULL);
    int ok = meta && strcmp(h.tenant, "t1") == 0 &&
             json_integer_value(json_object_get(meta, "size")) == (json_int_t)size;
    uint32_t bs = (uint32_t)json_integer_value(json_object_get(meta, "block_size"));
    crypt_ctx *cc = crypt_ctx_new(&err);
    ok = ok && cc && crypt_derive_kek(master, h.tenant, kek, &err) == 0;
    uint64_t pos = h.data_offset, plain_off = 0;
    size_t i;
    json_t *seg;
    uint8_t *pt = malloc(bs), *want = malloc(bs);
    json_array_foreach(json_object_get(meta, "segments"), i, seg) {
        uint8_t did[16], wrapped[CRYPT_WRAPPED_LEN], dk[CRYPT_KEY_LEN];
        size_t got;
        const char *dh = json_string_value(json_object_get(seg, "data_id"));
        const char *wh = json_string_value(json_object_get(seg, "wrapped"));
        uint64_t ssize = (uint64_t)json_integer_value(json_object_get(seg, "size"));
        uint32_t part = (uint32_t)json_integer_value(json_object_get(seg, "part"));
        ok = ok && dh && wh && hex_decode(dh, did, 16, &got) == 0 &&
             hex_decode(wh, wrapped, sizeof wrapped, &got) == 0 &&
             crypt_unwrap_key(cc, kek, did, wrapped, dk, &err) == 0;
        uint64_t nblocks = ssize ? (ssize + bs - 1) / bs : 1;
        for (uint64_t b = 0; ok && b < nblocks; b++) {
            uint32_t n = (uint32_t)(b + 1 < nblocks ? bs : ssize - b * bs);
            crypt_pos cp = {.data_id = did, .part = part, .block = b,
                            .last = b + 1 == nblocks};
            ok = pos + n + CRYPT_TAG_LEN <= len &&
                 crypt_open_block(cc, dk, &cp, obj + pos, n, obj + pos + n, pt, &err) == 0;
            gen_bytes(seed, plain_off, want, n);
            ok = ok && memcmp(pt, want, n) == 0;
            pos += n + CRYPT_TAG_LEN;
            plain_off += n;
        }
        crypt_wipe(dk, sizeof dk);
    }
    ok = ok && pos == len && plain_off == size;
    free(pt);
    free(want);
    crypt_ctx_free(cc);
    json_decref(meta);
    st_remote_header_clear(&h);
    crypt_wipe(master, sizeof master);
    crypt_wipe(kek, sizeof kek);
    return ok;
}

typedef struct remote_bytes {
    const uint8_t *p;
    size_t len, pos;
} remote_bytes;

static int pull(void *ctx, uint8_t *buf, size_t len, cf_err *err)
{
    remote_bytes *r = ctx;
    if (r->pos + len > r->len)
        return cf_fail(err, CF_ECORRUPT, "short");
    memcpy(buf, r->p + r->pos, len);
    r->pos += len;
    return 0;
}

static int first_delete(void *ctx, const st_remote_delete *d)
{
    *(st_remote_delete *)ctx = *d;
    return 1;
}

/* Scrub and heal --all over the store: a tiered version is left to its
 * tier (no local shards is not a problem); a restored one is checked. */
static void check_store(st_engine *e, uint64_t objects, uint64_t tiered)
{
    st_check_opts o = {0};
    st_check_stats st;
    cf_err err;
    REQUIRE(st_scrub(e, &o, &st, &err) == 0);
    CHECK_EQ_INT(st.objects, objects);
    CHECK_EQ_INT(st.tiered, tiered);
    CHECK_EQ_INT(st.shards_missing + st.shards_bad + st.lost_objects, 0);
    REQUIRE(st_heal_all(e, &o, &st, &err) == 0);
    CHECK_EQ_INT(st.objects, objects);
    CHECK_EQ_INT(st.tiered, tiered);
    CHECK_EQ_INT(st.shards_missing + st.segments_repaired + st.lost_objects, 0);
}

static void transition_commit_delete_and_recovery(void)
{
    eng_fixture f;
    int64_t id = 0;
    st_engine *e = setup(&f, &id);
    REQUIRE(e && id);
    cf_err err;
    st_object_info info;
    const uint64_t size = 2500000;       /* three blocks */
    REQUIRE(put_gen(e, "b", "big", size, 7, &info, &err) == 0);
    int files = count_shard_files(&f, 3);
    CHECK(files == 3);
    st_transition t;
    usage_is(e, 1, size);
    REQUIRE(st_transition_begin(e, "t1", "b", "big", info.version_id, id, &t, &err) == 0);
    usage_is(e, 1, size);
    CHECK_EQ_INT(t.total_len, t.header_len + size + 3 * 16);
    CHECK_EQ_INT(t.header_len % 4096, 0);
    /* a second intent for the same version is refused */
    st_transition t2;
    CHECK_EQ_INT(st_transition_begin(e, "t1", "b", "big", info.version_id, id, &t2, &err), -1);
    CHECK_EQ_INT(err.code, CF_EEXISTS);
    uint8_t *obj = read_tobj(e, &t);
    REQUIRE(obj);
    /* nothing of the tenant, bucket, key or plaintext is in the clear */
    CHECK(!memmem(obj, t.header_len, "\"t1\"", 4));
    CHECK_EQ_INT(recover_alone(&f, t.remote_id, obj, t.total_len, 7, size), 1);
    read_tobj_in_pieces(e, &t, obj, 3, 3);
    REQUIRE(st_transition_uploading(e, &t, "upload-123", &err) == 0);
    REQUIRE(st_transition_commit(e, &t, "\"etag\"", &err) == 0);
    CHECK_EQ_INT(count_shard_files(&f, 3), 0);        /* freed through the queue */
    usage_is(e, 1, size);
    check_store(e, 0, 1);
    REQUIRE(st_head(e, "t1", "b", "big", &info, &err) == 0);
    CHECK_EQ_STR(info.storage_class, "COLD");
    st_object_info_clear(&info);
    st_tier_usage u;
    REQUIRE(st_tier_usage_get(e, id, &u, &err) == 0);
    CHECK_EQ_INT(u.objects, 1);
    CHECK_EQ_INT(u.bytes, t.total_len);
    /* reading needs the tier: without a client it is a clean error */
    CHECK_EQ_INT(check_gen(e, "b", "big", size, 7, &err), -1);
    CHECK_EQ_INT(err.code, CF_EIO);
    /* restore: the remote's bytes come back, checked, as local shards */
    st_restore_result res;
    CHECK_EQ_INT(st_restore_request(e, "t1", "b", "nope", NULL, 1, 1000, &res, &err), -1);
    REQUIRE(st_restore_request(e, "t1", "b", "big", NULL, 2, 1000, &res, &err) == 0);
    CHECK_EQ_INT(res, ST_RESTORE_STARTED);
    REQUIRE(st_restore_request(e, "t1", "b", "big", NULL, 2, 1000, &res, &err) == 0);
    CHECK_EQ_INT(res, ST_RESTORE_IN_PROGRESS);
    st_tier_candidate c = {.tier_id = id};
    snprintf(c.tenant, sizeof c.tenant, "t1");
    snprintf(c.bucket, sizeof c.bucket, "b");
    snprintf(c.key, sizeof c.key, "big");
    snprintf(c.version_id, sizeof c.version_id, "%s", t.version_id);
    char rid[ST_REMOTE_ID_HEX];
    uint64_t off, slen;
    REQUIRE(st_tier_locate(e, t.version_id, rid, &off, &slen, &err) == 0);
    CHECK_EQ_STR(rid, t.remote_id);
    CHECK_EQ_INT(off, t.header_len);
    CHECK_EQ_INT(slen, t.sealed_len);
    /* a corrupted remote copy is refused and the restore stays pending */
    obj[off + 100] ^= 1;
    remote_bytes rb = {.p = obj + off, .len = (size_t)slen};
    CHECK_EQ_INT(st_restore_import(e, &c, 1000, pull, &rb, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    obj[off + 100] ^= 1;
    rb.pos = 0;
    REQUIRE(st_restore_import(e, &c, 1000, pull, &rb, &err) == 0);
    CHECK_EQ_INT(count_shard_files(&f, 3), 3);
    CHECK_EQ_INT(check_gen(e, "b", "big", size, 7, &err), 1);   /* local again */
    usage_is(e, 1, size);
    check_store(e, 1, 0);
    REQUIRE(st_head(e, "t1", "b", "big", &info, &err) == 0);
    CHECK_EQ_INT(info.restore, 2);
    st_object_info_clear(&info);
    REQUIRE(st_restore_request(e, "t1", "b", "big", NULL, 1, 1, &res, &err) == 0);
    CHECK_EQ_INT(res, ST_RESTORE_EXTENDED);
    usleep(5000);
    uint64_t expired = 0;
    REQUIRE(st_restore_expire(e, &expired, &err) == 0);
    CHECK_EQ_INT(expired, 1);
    CHECK_EQ_INT(count_shard_files(&f, 3), 0);
    usage_is(e, 1, size);
    /* deleting a tiered version queues its remote object */
    REQUIRE(st_delete(e, "t1", "b", "big", &err) == 0);
    usage_is(e, 0, 0);
    st_remote_delete d = {0};
    REQUIRE(st_remote_deletes_due(e, 10, first_delete, &d, &err) == 0);
    CHECK_EQ_STR(d.remote_id, t.remote_id);
    CHECK_EQ_INT(d.tier_id, id);
    REQUIRE(st_remote_delete_retry(e, d.remote_id, INT64_MAX / 2, "down", &err) == 0);
    memset(&d, 0, sizeof d);
    REQUIRE(st_remote_deletes_due(e, 10, first_delete, &d, &err) == 0);
    CHECK_EQ_STR(d.remote_id, "");                    /* not due yet */
    REQUIRE(st_remote_delete_done(e, t.remote_id, 60000, &err) == 0);
    memset(&d, 0, sizeof d);                          /* a delete: no recheck */
    REQUIRE(st_remote_deletes_due(e, 10, first_delete, &d, &err) == 0);
    CHECK_EQ_STR(d.remote_id, "");
    st_tier_usage u2;
    REQUIRE(st_tier_usage_get(e, id, &u2, &err) == 0);
    CHECK_EQ_INT(u2.remote_deletes, 0);
    CHECK_EQ_INT(st_tier_remove(e, "COLD", &err), 0);
    st_transition_clear(&t);
    free(obj);
    st_close(e);
}

static int first_candidate(void *ctx, const st_tier_candidate *c)
{
    *(st_tier_candidate *)ctx = *c;
    return 1;
}

/* Restores the remote is still making readable (rehydrating Archive
 * blobs) go to the back, so a pass of 64 never starves the rest. */
static void pending_restores_take_turns(void)
{
    eng_fixture f;
    int64_t id = 0;
    st_engine *e = setup(&f, &id);
    REQUIRE(e && id);
    cf_err err;
    const char *keys[2] = {"old", "new"};
    char vids[2][ST_ID_HEX];
    for (int i = 0; i < 2; i++) {
        st_object_info info;
        st_transition t;
        REQUIRE(put_gen(e, "b", keys[i], 1000, (uint64_t)i, &info, &err) == 0);
        REQUIRE(st_transition_begin(e, "t1", "b", keys[i], info.version_id, id, &t, &err) == 0);
        REQUIRE(st_transition_commit(e, &t, "\"e\"", &err) == 0);
        snprintf(vids[i], sizeof vids[i], "%s", t.version_id);
        st_transition_clear(&t);
        st_restore_result res;
        REQUIRE(st_restore_request(e, "t1", "b", keys[i], NULL, 1, 1000, &res, &err) == 0);
        usleep(2000);                    /* requested in this order */
    }
    st_tier_candidate c = {0};
    REQUIRE(st_restore_due(e, 1, first_candidate, &c, &err) == 0);
    CHECK_EQ_STR(c.key, "old");
    REQUIRE(st_restore_later(e, vids[0], &err) == 0);
    REQUIRE(st_restore_due(e, 1, first_candidate, &c, &err) == 0);
    CHECK_EQ_STR(c.key, "new");
    usleep(2000);
    REQUIRE(st_restore_later(e, vids[1], &err) == 0);
    REQUIRE(st_restore_due(e, 1, first_candidate, &c, &err) == 0);
    CHECK_EQ_STR(c.key, "old");
    CHECK_EQ_INT(st_restore_later(e, "zz", &err), -1);
    st_close(e);
}

static void overwrite_during_transition_and_crash(void)
{
    eng_fixture f;
    int64_t id = 0;
    st_engine *e = setup(&f, &id);
    REQUIRE(e && id);
    cf_err err;
    st_object_info info;
    /* overwritten while uploading: commit says so and queues the remote id */
    REQUIRE(put_gen(e, "b", "k", 300000, 1, &info, &err) == 0);
    st_transition t;
    REQUIRE(st_transition_begin(e, "t1", "b", "k", info.version_id, id, &t, &err) == 0);
    REQUIRE(put_gen(e, "b", "k", 300000, 2, NULL, &err) == 0);
    CHECK_EQ_INT(st_transition_commit(e, &t, "\"x\"", &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOKEY);
    st_remote_delete d = {0};
    REQUIRE(st_remote_deletes_due(e, 10, first_delete, &d, &err) == 0);
    CHECK_EQ_STR(d.remote_id, t.remote_id);
    REQUIRE(st_remote_delete_done(e, d.remote_id, 60000, &err) == 0);
    st_tier_usage u;
    REQUIRE(st_tier_usage_get(e, id, &u, &err) == 0);
    CHECK_EQ_INT(u.remote_deletes, 0);          /* the upload was complete */
    CHECK_EQ_INT(check_gen(e, "b", "k", 300000, 2, &err), 1);
    st_transition_clear(&t);
    /* a crash in the middle of an upload of a version asked for COLD */
    st_put_args a = {.tenant = "t1", .bucket = "b", .key = "c", .expected_size = 4,
                     .attrs = {.storage_class = "COLD"}};
    st_put *p;
    REQUIRE(st_put_begin(e, &a, &p, &err) == 0);
    REQUIRE(st_put_write(p, "data", 4, &err) == 0);
    REQUIRE(st_put_finish(p, NULL, &info, &err) == 0);
    REQUIRE(st_transition_begin(e, "t1", "b", "c", info.version_id, id, &t, &err) == 0);
    REQUIRE(st_transition_uploading(e, &t, "mpu-42", &err) == 0);
    st_close(e);                                     /* "crash": no commit, no abort */
    e = fixture_open(&f);
    REQUIRE(e);
    uint64_t aborted = 0;
    REQUIRE(st_tier_recover(e, &aborted, &err) == 0);
    CHECK_EQ_INT(aborted, 1);
    memset(&d, 0, sizeof d);
    REQUIRE(st_remote_deletes_due(e, 10, first_delete, &d, &err) == 0);
    CHECK_EQ_STR(d.remote_id, t.remote_id);
    CHECK_EQ_STR(d.upload_id, "mpu-42");
    CHECK(d.uncertain);
    /* its upload's fate is unknown: deleted twice, the second a while later */
    REQUIRE(st_remote_delete_done(e, d.remote_id, 0, &err) == 0);
    st_remote_delete d2 = {0};
    REQUIRE(st_remote_deletes_due(e, 10, first_delete, &d2, &err) == 0);
    CHECK_EQ_STR(d2.remote_id, t.remote_id);
    REQUIRE(st_remote_delete_done(e, d.remote_id, 0, &err) == 0);
    memset(&d2, 0, sizeof d2);
    REQUIRE(st_remote_deletes_due(e, 10, first_delete, &d2, &err) == 0);
    CHECK_EQ_STR(d2.remote_id, "");
    int n = 0;
    REQUIRE(st_tier_pending(e, 10, count_pending, &n, &err) == 0);
    CHECK_EQ_INT(n, 1);                              /* back to waiting for COLD */
    /* the late commit of the interrupted transition finds no intent */
    CHECK_EQ_INT(st_transition_commit(e, &t, "\"x\"", &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOKEY);
    REQUIRE(st_tier_recover(e, &aborted, &err) == 0);
    CHECK_EQ_INT(aborted, 0);
    st_transition_clear(&t);
    st_close(e);
}

typedef struct seen {
    char keys[8][32];
    int states[8];
    size_t ntags[8];
    int n;
} seen;

static int see(void *ctx, const st_lifecycle_object *o)
{
    seen *s = ctx;
    if (s->n < 8) {
        snprintf(s->keys[s->n], 32, "%s", o->key);
        s->states[s->n] = o->tier_state;
        s->ntags[s->n] = o->ntags;
        s->n++;
    }
    return 0;
}

static int see_bucket(void *ctx, const st_lifecycle_bucket *b)
{
    (*(int *)ctx)++;
    return 0;
}

static void configurations_walk_and_expire(void)
{
    eng_fixture f;
    int64_t id = 0;
    st_engine *e = setup(&f, &id);
    REQUIRE(e && id);
    cf_err err;
    const char *xml = "<LifecycleConfiguration/>";
    char *got;
    size_t len;
    CHECK_EQ_INT(st_lifecycle_get(e, "t1", "b", &got, &len, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOTFOUND);
    REQUIRE(st_lifecycle_put(e, "t1", "b", xml, strlen(xml), &err) == 0);
    REQUIRE(st_lifecycle_get(e, "t1", "b", &got, &len, &err) == 0);
    CHECK_EQ_STR(got, xml);
    free(got);
    int nb = 0;
    REQUIRE(st_lifecycle_buckets(e, see_bucket, &nb, &err) == 0);
    CHECK_EQ_INT(nb, 1);
    REQUIRE(st_lifecycle_cursor(e, "t1", "b", "data/2", &err) == 0);
    st_header tag = {"k", "v"};
    const char *keys[] = {"a", "data/1", "data/2", "data/3", "z"};
    st_object_info info;
    for (int i = 0; i < 5; i++) {
        st_put_args a = {.tenant = "t1", .bucket = "b", .key = keys[i], .expected_size = 1,
                         .attrs = {.tags = &tag, .ntags = i == 3}};
        st_put *p;
        REQUIRE(st_put_begin(e, &a, &p, &err) == 0);
        REQUIRE(st_put_write(p, "x", 1, &err) == 0);
        REQUIRE(st_put_finish(p, NULL, i == 3 ? &info : NULL, &err) == 0);
    }
    seen s = {0};
    bool more;
    REQUIRE(st_lifecycle_objects(e, "t1", "b", "data/", "", 0, 10, see, &s, &more, &err) == 0);
    CHECK_EQ_INT(s.n, 3);
    CHECK(!more);
    CHECK_EQ_STR(s.keys[0], "data/1");
    memset(&s, 0, sizeof s);
    REQUIRE(st_lifecycle_objects(e, "t1", "b", "", "data/1", 0, 2, see, &s, &more, &err) == 0);
    CHECK_EQ_INT(s.n, 2);
    CHECK(more);
    CHECK_EQ_STR(s.keys[0], "data/2");
    CHECK_EQ_INT(s.ntags[1], 1);
    /* expiry only of the version it was decided on */
    CHECK_EQ_INT(st_expire(e, "t1", "b", "data/3", "00000000000000000000000000000000",
                           &err), 0);
    CHECK_EQ_INT(st_expire(e, "t1", "b", "data/3", info.version_id, &err), 1);
    CHECK_EQ_INT(st_expire(e, "t1", "b", "data/3", info.version_id, &err), 0);
    /* a bucket's configuration goes with it */
    for (int i = 0; i < 5; i++)
        st_delete(e, "t1", "b", keys[i], &err);
    REQUIRE(st_bucket_delete(e, "t1", "b", &err) == 0);
    nb = 0;
    REQUIRE(st_lifecycle_buckets(e, see_bucket, &nb, &err) == 0);
    CHECK_EQ_INT(nb, 0);
    st_close(e);
}

/* PUT size bytes of stream seed to key of tenant t1's bucket and keep the
 * version id it was given. */
static void put_version(st_engine *e, const char *bucket, const char *key, uint64_t size,
                        uint64_t seed, char vid[ST_ID_HEX])
{
    st_object_info info;
    cf_err err;
    REQUIRE(put_gen(e, bucket, key, size, seed, &info, &err) == 0);
    snprintf(vid, ST_ID_HEX, "%s", info.version_id);
}

/* 0 if the version is there (HEAD by version id), else the error code. */
static int version_code(st_engine *e, const char *bucket, const char *key, const char *vid)
{
    st_object_info info;
    cf_err err;
    if (st_head_version(e, "t1", bucket, key, vid, &info, &err) < 0)
        return err.code;
    st_object_info_clear(&info);
    return 0;
}

/* A bucket of t1 under object lock, compliance mode, one day. */
static void locked_bucket(st_engine *e, const char *bucket)
{
    cf_err err;
    REQUIRE(st_bucket_create(e, "t1", bucket, NULL, true, &err) == 0);
    REQUIRE(st_bucket_set_lock(e, "t1", bucket, ST_LOCK_COMPLIANCE, 1, 0, &err) == 0);
}

typedef struct pending_one {
    st_tier_candidate c;
} pending_one;

static int first_pending(void *ctx, const st_tier_candidate *c)
{
    pending_one *p = ctx;
    if (!p->c.version_id[0])
        p->c = *c;
    return 0;
}

/* With versions: a tiered version made noncurrent keeps its tier and is
 * read from it by version id; destroying it queues its remote object as
 * for a current one; lifecycle expiration of a versioned key makes a delete
 * marker, and a locked version is never destroyed. */
static void noncurrent_versions_keep_their_tier(void)
{
    eng_fixture f;
    int64_t id = 0;
    st_engine *e = setup(&f, &id);
    REQUIRE(e && id);
    cf_err err;
    st_object_info info;
    char v1[ST_ID_HEX], v2[ST_ID_HEX];
    REQUIRE(st_bucket_set_versioning(e, "t1", "b", ST_VERSIONING_ENABLED, &err) == 0);
    put_version(e, "b", "k", 300000, 3, v1);
    st_transition t;
    REQUIRE(st_transition_begin(e, "t1", "b", "k", v1, id, &t, &err) == 0);
    REQUIRE(st_transition_commit(e, &t, "\"etag\"", &err) == 0);
    put_version(e, "b", "k", 500, 4, v2);                         /* v1 is noncurrent */
    usage_is(e, 2, 300500);
    REQUIRE(st_head_version(e, "t1", "b", "k", v1, &info, &err) == 0);
    CHECK_EQ_STR(info.storage_class, "COLD");
    CHECK(!info.latest);
    st_object_info_clear(&info);
    st_get *g = NULL;
    REQUIRE(st_get_open_version(e, "t1", "b", "k", v1, &info, &g, &err) == 0);
    uint8_t buf[64];
    size_t n = 0;
    CHECK_EQ_INT(st_get_read(g, 0, buf, sizeof buf, &n, &err), -1);
    CHECK_EQ_INT(err.code, CF_EIO);     /* no local shards: it went to the tier */
    st_get_close(g);
    st_object_info_clear(&info);
    REQUIRE(st_delete_version(e, "t1", "b", "k", v1, NULL, false, NULL, &err) == 0);
    usage_is(e, 1, 500);
    st_remote_delete d = {0};
    REQUIRE(st_remote_deletes_due(e, 10, first_delete, &d, &err) == 0);
    CHECK_EQ_STR(d.remote_id, t.remote_id);
    /* a version that asked for COLD at PUT and became noncurrent before the
     * worker moved it still moves (it is a candidate; begin and commit take
     * a noncurrent version), and its tags and restores go by version id */
    st_header gen1 = {"gen", "1"}, one = {"gen", "one"};
    st_put_args a = {.tenant = "t1", .bucket = "b", .key = "p", .expected_size = 300000,
                     .attrs = {.storage_class = "COLD", .tags = &gen1, .ntags = 1}};
    REQUIRE(put_gen_args(e, &a, 7, &info, &err) == 0);
    char p1[ST_ID_HEX];
    snprintf(p1, sizeof p1, "%s", info.version_id);
    REQUIRE(put_gen(e, "b", "p", 10, 8, &info, &err) == 0);       /* p1 is noncurrent */
    pending_one want = {0};
    REQUIRE(st_tier_pending(e, 10, first_pending, &want, &err) == 0);
    CHECK_EQ_STR(want.c.version_id, p1);
    st_transition tp;
    REQUIRE(st_transition_begin(e, "t1", "b", "p", p1, id, &tp, &err) == 0);
    REQUIRE(st_transition_commit(e, &tp, "\"etag\"", &err) == 0);
    REQUIRE(st_head_version(e, "t1", "b", "p", p1, &info, &err) == 0);
    CHECK_EQ_STR(info.storage_class, "COLD");
    st_object_info_clear(&info);
    st_header *got;
    size_t ng;
    REQUIRE(st_tags_put(e, "t1", "b", "p", p1, &one, 1, &err) == 0);
    REQUIRE(st_tags_get(e, "t1", "b", "p", p1, &got, &ng, &err) == 0);
    CHECK(ng == 1 && strcmp(got[0].value, "one") == 0);
    st_tags_free(got, ng);
    REQUIRE(st_tags_get(e, "t1", "b", "p", NULL, &got, &ng, &err) == 0);
    CHECK_EQ_INT(ng, 0);                                  /* the current one has none */
    st_restore_result res;
    REQUIRE(st_restore_request(e, "t1", "b", "p", p1, 1, 1000, &res, &err) == 0);
    CHECK_EQ_INT(res, ST_RESTORE_STARTED);
    memset(&want, 0, sizeof want);
    REQUIRE(st_restore_due(e, 10, first_pending, &want, &err) == 0);
    CHECK_EQ_STR(want.c.version_id, p1);                  /* the worker will see it */
    CHECK_EQ_INT(st_restore_request(e, "t1", "b", "p", NULL, 1, 1000, &res, &err), -1);
    CHECK_EQ_INT(err.code, CF_ESTATE);                    /* the current one is local */
    CHECK_EQ_INT(st_tags_get(e, "t1", "b", "p", "0123456789abcdef0123456789abcdef", &got,
                             &ng, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOVERSION);
    st_transition_clear(&tp);
    /* expiration on a versioned key: a marker, v2 kept as noncurrent */
    CHECK_EQ_INT(st_expire(e, "t1", "b", "k", v2, &err), 1);
    CHECK_EQ_INT(st_head(e, "t1", "b", "k", &info, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOKEY);
    CHECK_EQ_INT(version_code(e, "b", "k", v2), 0);
    usage_is(e, 3, 300510);            /* and p's two versions */
    /* a locked bucket: expiration leaves the version, a delete is refused */
    locked_bucket(e, "w");
    put_version(e, "w", "k", 10, 5, v1);
    CHECK_EQ_INT(st_expire(e, "t1", "w", "k", v1, &err), 1);
    CHECK_EQ_INT(st_delete_version(e, "t1", "w", "k", v1, NULL, true, NULL, &err), -1);
    CHECK_EQ_INT(err.code, CF_ELOCKED);
    REQUIRE(st_head_version(e, "t1", "w", "k", v1, &info, &err) == 0);
    CHECK_EQ_INT(info.lock_mode, ST_LOCK_COMPLIANCE);
    st_object_info_clear(&info);
    st_transition_clear(&t);
    st_close(e);
}

/* The walk over versions, as the worker sees them. */
typedef struct vrow {
    char key[16], vid[ST_ID_HEX];
    bool current, marker, latest;
    int64_t noncurrent_ms, seq;
} vrow;

typedef struct vseen {
    vrow rows[16];
    int n;
} vseen;

static int see_version(void *ctx, const st_lifecycle_object *o)
{
    vseen *s = ctx;
    if (s->n < 16) {
        vrow *r = &s->rows[s->n++];
        snprintf(r->key, sizeof r->key, "%s", o->key);
        snprintf(r->vid, sizeof r->vid, "%s", o->version_id);
        r->current = o->current;
        r->marker = o->marker;
        r->latest = o->latest;
        r->noncurrent_ms = o->noncurrent_ms;
        r->seq = o->seq;
    }
    return 0;
}

/* Lifecycle on versions (issue 11.3): the walk gives every version of a
 * key newest first with when it became noncurrent; a noncurrent
 * expiration destroys only a version still noncurrent since then with
 * enough newer ones; a marker goes only when it is its key's only
 * version; a locked version is refused; expiring the current version of
 * a suspended bucket leaves a null marker in place of the null version. */
static void lifecycle_on_versions(void)
{
    eng_fixture f;
    int64_t id = 0;
    st_engine *e = setup(&f, &id);
    REQUIRE(e && id);
    cf_err err;
    st_object_info info;
    st_delete_result res;
    char v[3][ST_ID_HEX], marker[ST_ID_HEX], gone[ST_ID_HEX];
    REQUIRE(st_bucket_create(e, "t1", "v", NULL, false, &err) == 0);
    REQUIRE(st_bucket_set_versioning(e, "t1", "v", ST_VERSIONING_ENABLED, &err) == 0);
    for (int i = 0; i < 3; i++)
        put_version(e, "v", "k", 100 + (uint64_t)i, (uint64_t)i, v[i]);
    REQUIRE(st_delete_version(e, "t1", "v", "k", NULL, NULL, false, &res, &err) == 0);
    snprintf(marker, sizeof marker, "%s", res.version_id);
    REQUIRE(put_gen(e, "v", "g", 10, 9, &info, &err) == 0);
    REQUIRE(st_delete_version(e, "t1", "v", "g", NULL, NULL, false, &res, &err) == 0);
    snprintf(gone, sizeof gone, "%s", res.version_id);
    REQUIRE(st_delete_version(e, "t1", "v", "g", info.version_id, NULL, false, NULL,
                              &err) == 0);            /* g: a marker alone */
    REQUIRE(put_gen(e, "v", "z", 10, 10, &info, &err) == 0);
    vseen s = {0};
    bool more;
    REQUIRE(st_lifecycle_objects(e, "t1", "v", "", "", 0, 10, see_version, &s, &more,
                                 &err) == 0);
    REQUIRE(s.n == 6);
    CHECK(!more);
    CHECK(strcmp(s.rows[0].key, "g") == 0 && s.rows[0].marker && s.rows[0].latest);
    CHECK_EQ_STR(s.rows[0].vid, gone);
    CHECK(strcmp(s.rows[1].key, "k") == 0 && s.rows[1].marker && s.rows[1].latest);
    CHECK_EQ_INT(s.rows[1].noncurrent_ms, 0);
    for (int i = 0; i < 3; i++) {                 /* newest first, all noncurrent */
        CHECK_EQ_STR(s.rows[2 + i].vid, v[2 - i]);
        CHECK(!s.rows[2 + i].current && !s.rows[2 + i].marker && !s.rows[2 + i].latest);
        CHECK(s.rows[2 + i].noncurrent_ms > 0);
    }
    CHECK(strcmp(s.rows[5].key, "z") == 0 && s.rows[5].current && s.rows[5].latest);
    CHECK_EQ_INT(s.rows[5].noncurrent_ms, 0);
    /* resuming inside a key: its older versions, then later keys */
    memset(&s, 0, sizeof s);
    vseen all = {0};
    REQUIRE(st_lifecycle_objects(e, "t1", "v", "", "", 0, 10, see_version, &all, &more,
                                 &err) == 0);
    REQUIRE(st_lifecycle_objects(e, "t1", "v", "", "k", all.rows[3].seq, 2, see_version,
                                 &s, &more, &err) == 0);
    CHECK_EQ_INT(s.n, 2);
    CHECK(more);
    CHECK_EQ_STR(s.rows[0].vid, v[0]);
    CHECK_EQ_STR(s.rows[1].key, "z");
    int64_t nc0 = all.rows[4].noncurrent_ms;
    /* noncurrent expiration: the time it became noncurrent and the newer
     * ones are checked again */
    CHECK_EQ_INT(st_expire_noncurrent(e, "t1", "v", "k", v[0], nc0 + 1, 0, &err), 0);
    CHECK_EQ_INT(st_expire_noncurrent(e, "t1", "v", "k", v[0], nc0, 3, &err), 0);
    CHECK_EQ_INT(st_expire_noncurrent(e, "t1", "v", "z", all.rows[5].vid, 0, 0, &err), 0);
    CHECK_EQ_INT(version_code(e, "v", "k", v[0]), 0);
    CHECK_EQ_INT(st_expire_noncurrent(e, "t1", "v", "k", v[0], nc0, 2, &err), 1);
    CHECK_EQ_INT(version_code(e, "v", "k", v[0]), CF_ENOVERSION);
    CHECK_EQ_INT(st_expire_noncurrent(e, "t1", "v", "k", v[0], nc0, 0, &err), 0);
    /* a marker goes only alone */
    CHECK_EQ_INT(st_expire_marker(e, "t1", "v", "k", marker, &err), 0);
    CHECK_EQ_INT(st_expire_marker(e, "t1", "v", "z", all.rows[5].vid, &err), 0);
    CHECK_EQ_INT(st_expire_marker(e, "t1", "v", "g", gone, &err), 1);
    CHECK_EQ_INT(version_code(e, "v", "g", gone), CF_ENOVERSION);
    for (int i = 1; i < 3; i++)
        REQUIRE(st_expire_noncurrent(e, "t1", "v", "k", v[i], all.rows[4 - i].noncurrent_ms,
                                     0, &err) == 1);
    CHECK_EQ_INT(st_expire_marker(e, "t1", "v", "k", marker, &err), 1);   /* alone now */
    usage_is(e, 1, 10);                                                   /* z */
    /* object lock: a noncurrent version in retention stays */
    locked_bucket(e, "w");
    char locked[ST_ID_HEX], newer[ST_ID_HEX];
    put_version(e, "w", "k", 10, 5, locked);
    put_version(e, "w", "k", 10, 6, newer);
    memset(&s, 0, sizeof s);
    REQUIRE(st_lifecycle_objects(e, "t1", "w", "", "", 0, 10, see_version, &s, &more,
                                 &err) == 0);
    REQUIRE(s.n == 2);
    CHECK_EQ_INT(st_expire_noncurrent(e, "t1", "w", "k", locked, s.rows[1].noncurrent_ms,
                                      0, &err), -1);
    CHECK_EQ_INT(err.code, CF_ELOCKED);
    CHECK_EQ_INT(version_code(e, "w", "k", locked), 0);
    /* suspended: the current null version's expiration is a null marker */
    REQUIRE(st_bucket_create(e, "t1", "s", NULL, false, &err) == 0);
    REQUIRE(st_bucket_set_versioning(e, "t1", "s", ST_VERSIONING_ENABLED, &err) == 0);
    char kept[ST_ID_HEX];
    put_version(e, "s", "k", 20, 7, kept);
    REQUIRE(st_bucket_set_versioning(e, "t1", "s", ST_VERSIONING_SUSPENDED, &err) == 0);
    REQUIRE(put_gen(e, "s", "k", 30, 8, &info, &err) == 0);
    CHECK(info.null_version);
    CHECK_EQ_INT(st_expire(e, "t1", "s", "k", info.version_id, &err), 1);
    CHECK_EQ_INT(st_head_version(e, "t1", "s", "k", "null", &info, &err), -1);
    CHECK_EQ_INT(err.code, CF_EMARKER);               /* "null" is the marker now */
    REQUIRE(st_head_version(e, "t1", "s", "k", kept, &info, &err) == 0);
    CHECK_EQ_INT(info.size, 20);
    st_object_info_clear(&info);
    usage_is(e, 4, 10 + 10 + 10 + 20);                /* z, w's two, s's kept one */
    st_close(e);
}

TEST_MAIN("tiering",
          T(registry_and_sealed_secret),
          T(writes_set_class_and_tags),
          T(transition_commit_delete_and_recovery),
          T(pending_restores_take_turns),
          T(overwrite_during_transition_and_crash),
          T(configurations_walk_and_expire),
          T(noncurrent_versions_keep_their_tier),
          T(lifecycle_on_versions))
