/*
 * tests/unit/test_scrub.c - heal --all and scrub (storage/scrub.c) on a
 * 4+2 set: a clean store reports nothing; a flipped byte is found by its
 * CRC, named and repaired; a byte flipped with its CRC fixed up passes a
 * CRC scrub but not a deep one, which names the shard (data or parity) and
 * repairs it; a missing shard file and a missing manifest are written
 * again by heal --all; an object with too few shards left is named as
 * beyond repair; a stored ETag or checksum that no longer matches the
 * data (CRC64NVME and SHA-256 included) is found by a deep scrub; a
 * shard a GET found changed behind its CRC is named to the heal queue and
 * rewritten by heal to its original bytes (two such shards beyond parity
 * fail the GET and are named beyond repair); slices
 * cover every object exactly once; a pacer can stop a scrub; an empty
 * directory in a dead disk's place is formatted as its replacement and
 * filled by heal --all, and another set's disk there is refused; random
 * bytes flipped in 1% of the shard files of 100 objects (BITROT_OBJECTS)
 * are all found, repaired and listed (those behind an intact CRC by a
 * deep scrub), GETs stay exact meanwhile, and an object beyond repair is
 * named.
 */
#include "tests/unit/test.h"
#include "tests/unit/engine_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/checksum.h"
#include "common/hex.h"
#include "storage/lifecycle.h"
#include "storage/shard.h"

#define MIB (1u << 20)

static eng_fixture fx;

typedef struct seen {
    int findings, repaired, lost;
    char last_key[64], last_what[160];
    int last_disk;
} seen;

static void on_found(void *ctx, const st_finding *f)
{
    seen *s = ctx;
    s->findings++;
    s->repaired += f->repaired;
    s->lost += f->lost;
    snprintf(s->last_key, sizeof s->last_key, "%s", f->key);
    snprintf(s->last_what, sizeof s->last_what, "%s", f->what);
    s->last_disk = f->disk;
}

static int scrub(st_engine *e, bool deep, seen *s, st_check_stats *st)
{
    memset(s, 0, sizeof *s);
    st_check_opts o = {.deep = deep, .found = on_found, .ctx = s};
    cf_err err;
    int rc = st_scrub(e, &o, st, &err);
    if (rc < 0)
        fprintf(stderr, "scrub: %s\n", err.msg);
    return rc;
}

static int heal_all(st_engine *e, seen *s, st_check_stats *st)
{
    memset(s, 0, sizeof *s);
    st_check_opts o = {.found = on_found, .ctx = s};
    cf_err err;
    return st_heal_all(e, &o, st, &err);
}

static int put_cks(st_engine *e, const char *key, uint64_t size, uint64_t seed,
                   cks_algo algo)
{
    st_put_args a = {.tenant = "t1", .bucket = "b", .key = key, .checksum_algo = algo,
                     .expected_size = (int64_t)size};
    st_put *p;
    cf_err err;
    uint8_t buf[65536];
    if (st_put_begin(e, &a, &p, &err) < 0)
        return -1;
    for (uint64_t off = 0; off < size;) {
        size_t n = size - off < sizeof buf ? (size_t)(size - off) : sizeof buf;
        gen_bytes(seed, off, buf, n);
        if (st_put_write(p, buf, n, &err) < 0) {
            st_put_abort(p);
            return -1;
        }
        off += n;
    }
    st_object_info info;
    return st_put_finish(p, NULL, &info, &err);
}

/* The data id (hex) of segment seq of key, from the index. */
static int data_id_of(const char *key, int seq, char hex[33])
{
    char path[700];
    snprintf(path, sizeof path, "%s/index.db", fx.meta);
    sqlite3 *db;
    sqlite3_stmt *st;
    int rc = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_prepare_v2(db, "SELECT s.data_id FROM segments s JOIN objects o ON "
                           "o.version_id = s.version_id WHERE o.key = CAST(? AS BLOB) "
                           "AND s.seq = ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, seq);
        if (sqlite3_step(st) == SQLITE_ROW) {
            hex_encode(sqlite3_column_blob(st, 0), 16, hex, 33);
            rc = 0;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return rc;
}

static int version_of(const char *key, char hex[33])
{
    char path[700];
    snprintf(path, sizeof path, "%s/index.db", fx.meta);
    sqlite3 *db;
    sqlite3_stmt *st;
    int rc = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_prepare_v2(db, "SELECT version_id FROM objects WHERE key = CAST(? AS BLOB)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            hex_encode(sqlite3_column_blob(st, 0), 16, hex, 33);
            rc = 0;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return rc;
}

static void sql(const char *text)
{
    char path[700];
    snprintf(path, sizeof path, "%s/index.db", fx.meta);
    sqlite3 *db;
    if (sqlite3_open(path, &db) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        if (sqlite3_exec(db, text, NULL, NULL, NULL) != SQLITE_OK)
            fprintf(stderr, "sql: %s\n", sqlite3_errmsg(db));
    }
    sqlite3_close(db);
}

/* Flip a byte of full block b (plain0 bytes, the block size) of shard i
 * of data id hex on a k+m set of f; with fix_crc, write the CRC of the
 * changed bytes too (a corruption CRC cannot see). */
static void flip_block(const eng_fixture *f, int k, int m, const char *hex, int i,
                       uint64_t b, uint32_t plain0, bool fix_crc)
{
    char paths[ST_MAX_DISKS][700];
    shard_files_of(f, k + m, hex, paths);
    int fd = open(paths[i], O_RDWR);
    if (fd < 0) {
        perror(paths[i]);
        return;
    }
    uint32_t s = shard_len_for(plain0, k);
    off_t at = (off_t)shard_block_offset(plain0, k, b);
    uint8_t *buf = malloc(s);
    if (pread(fd, buf, s, at) == (ssize_t)s) {
        buf[17] ^= 0x40;
        if (pwrite(fd, buf, s, at) != (ssize_t)s)
            perror("pwrite");
        if (fix_crc) {
            uint32_t c = cks_crc32c(0, buf, s);
            uint8_t le[4] = {(uint8_t)c, (uint8_t)(c >> 8), (uint8_t)(c >> 16),
                             (uint8_t)(c >> 24)};
            if (pwrite(fd, le, 4, at + (off_t)s) != 4)
                perror("pwrite");
        }
    }
    free(buf);
    close(fd);
}

/* The same in block 0. */
static void flip_in(const eng_fixture *f, int k, int m, const char *hex, int i,
                    uint32_t plain0, bool fix_crc)
{
    flip_block(f, k, m, hex, i, 0, plain0, fix_crc);
}

/* The same on this file's 4+2 set. */
static void flip(const char *hex, int i, uint32_t plain0, bool fix_crc)
{
    flip_in(&fx, 4, 2, hex, i, plain0, fix_crc);
}

static st_engine *setup(void)
{
    st_engine *e = fixture_setup(&fx, test_tmpdir(), 6, 4, 2, false);
    if (!e)
        return NULL;
    int rc = put_cks(e, "small", 3000, 1, CKS_CRC32C);
    rc |= put_cks(e, "sha", 3 * MIB + 11, 2, CKS_SHA256);
    rc |= put_cks(e, "crc64", 2 * MIB, 3, CKS_CRC64NVME);
    rc |= put_cks(e, "plain", 200000, 4, CKS_NONE);
    char uid[ST_ID_HEX];
    cf_err err;
    st_put_args a = {.tenant = "t1", .bucket = "b", .key = "mp", .upload_id = uid,
                     .checksum_algo = CKS_SHA256, .expected_size = -1};
    rc |= st_upload_create(e, &(st_upload_args){.tenant = "t1", .bucket = "b", .key = "mp",
                           .checksum_algo = CKS_SHA256}, uid, &err);
    st_complete_part parts[2];
    char etags[2][ST_ETAG_MAX], cks[2][ST_CHECKSUM_MAX];
    for (int n = 1; rc == 0 && n <= 2; n++) {
        st_put *p;
        uint64_t size = n == 1 ? 5 * MIB : 1000;
        a.part_number = (uint32_t)n;
        rc = st_put_begin(e, &a, &p, &err);
        uint8_t *buf = malloc(size);
        gen_bytes(10 + (uint64_t)n, 0, buf, size);
        st_object_info info;
        if (rc == 0 && (st_put_write(p, buf, size, &err) < 0 ||
                        st_put_finish(p, NULL, &info, &err) < 0))
            rc = -1;
        free(buf);
        snprintf(etags[n - 1], sizeof etags[0], "%s", info.etag);
        snprintf(cks[n - 1], sizeof cks[0], "%s", info.checksum_b64);
        parts[n - 1] = (st_complete_part){(uint32_t)n, etags[n - 1], cks[n - 1]};
    }
    st_object_info done;
    if (rc == 0)
        rc = st_upload_complete(e, &(st_complete_args){.tenant = "t1", .bucket = "b",
                                .key = "mp", .upload_id = uid, .parts = parts, .nparts = 2,
                                .expected_size = -1}, &done, &err);
    /* an upload in progress, one part */
    char uid2[ST_ID_HEX];
    rc |= st_upload_create(e, &(st_upload_args){.tenant = "t1", .bucket = "b", .key = "open"},
                           uid2, &err);
    st_put_args a2 = {.tenant = "t1", .bucket = "b", .key = "open", .upload_id = uid2,
                      .part_number = 1, .expected_size = -1};
    st_put *p;
    uint8_t buf[100000];
    gen_bytes(20, 0, buf, sizeof buf);
    st_object_info info;
    if (rc == 0 && (st_put_begin(e, &a2, &p, &err) < 0 ||
                    st_put_write(p, buf, sizeof buf, &err) < 0 ||
                    st_put_finish(p, NULL, &info, &err) < 0))
        rc = -1;
    if (rc != 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        st_close(e);
        return NULL;
    }
    return e;
}

static void a_clean_store_reports_nothing(void)
{
    st_engine *e = setup();
    REQUIRE(e);
    seen s;
    st_check_stats st;
    REQUIRE(scrub(e, true, &s, &st) == 0);
    CHECK_EQ_INT(s.findings, 0);
    CHECK_EQ_INT(st.objects, 5);
    CHECK_EQ_INT(st.uploads_parts, 1);
    CHECK_EQ_INT(st.segments, 7);
    CHECK_EQ_INT(st.inline_segments, 2);
    CHECK(st.shard_bytes > 10 * MIB);
    CHECK_EQ_INT(st.orphans, 0);
    CHECK(!st.stopped);
    REQUIRE(heal_all(e, &s, &st) == 0);
    CHECK_EQ_INT(s.findings, 0);
    st_close(e);
}

static void a_flipped_byte_is_found_by_its_crc_and_repaired(void)
{
    st_engine *e = setup();
    REQUIRE(e);
    char hex[33];
    REQUIRE(data_id_of("sha", 0, hex) == 0);
    flip(hex, 2, MIB, false);
    seen s;
    st_check_stats st;
    REQUIRE(scrub(e, false, &s, &st) == 0);
    CHECK_EQ_INT(s.findings, 1);
    CHECK_EQ_INT(s.repaired, 1);
    CHECK_EQ_STR(s.last_key, "sha");
    CHECK_EQ_INT(s.last_disk, 2);
    CHECK_EQ_INT(st.crc_errors, 1);
    CHECK_EQ_INT(st.segments_repaired, 1);
    REQUIRE(scrub(e, true, &s, &st) == 0);
    CHECK_EQ_INT(s.findings, 0);
    cf_err err;
    CHECK_EQ_INT(check_gen(e, "b", "sha", 3 * MIB + 11, 2, &err), 1);
    st_close(e);
}

static void a_flip_behind_an_intact_crc_needs_a_deep_scrub(void)
{
    st_engine *e = setup();
    REQUIRE(e);
    char hex[33];
    REQUIRE(data_id_of("crc64", 0, hex) == 0);
    flip(hex, 1, MIB, true);                   /* a data shard */
    REQUIRE(data_id_of("sha", 0, hex) == 0);
    flip(hex, 5, MIB, true);                   /* a parity shard */
    seen s;
    st_check_stats st;
    REQUIRE(scrub(e, false, &s, &st) == 0);
    CHECK_EQ_INT(s.findings, 0);               /* every CRC holds */
    REQUIRE(scrub(e, true, &s, &st) == 0);
    CHECK_EQ_INT(s.findings, 2);
    CHECK_EQ_INT(s.repaired, 2);
    CHECK_EQ_INT(st.gcm_failures, 1);
    CHECK_EQ_INT(st.parity_errors, 1);
    CHECK_EQ_INT(st.digest_mismatches, 0);
    REQUIRE(scrub(e, true, &s, &st) == 0);
    CHECK_EQ_INT(s.findings, 0);
    cf_err err;
    CHECK_EQ_INT(check_gen(e, "b", "crc64", 2 * MIB, 3, &err), 1);
    st_close(e);
}

/* A whole file's bytes (malloc'd), or NULL. */
static uint8_t *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    struct stat sb;
    uint8_t *b = fd >= 0 && fstat(fd, &sb) == 0 ? malloc((size_t)sb.st_size + 1) : NULL;
    if (b && pread(fd, b, (size_t)sb.st_size, 0) != (ssize_t)sb.st_size) {
        free(b);
        b = NULL;
    }
    if (b)
        *len = (size_t)sb.st_size;
    if (fd >= 0)
        close(fd);
    return b;
}

static ino_t inode_of(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_ino : 0;
}

/* A GET that finds a data shard changed behind its CRC (the tag fails,
 * leaving that shard out opens the block) reads the object exactly and
 * names the shard to the heal queue; heal then rewrites that shard, and
 * no other, back to its original bytes, so that a CRC scrub and a deep
 * scrub find nothing: redundancy is back without a deep scrub. */
static void heal_rewrites_a_shard_a_get_found_changed_behind_its_crc(void)
{
    st_engine *e = setup();
    REQUIRE(e);
    char hex[33], paths[6][700];
    REQUIRE(data_id_of("sha", 0, hex) == 0);
    shard_files_of(&fx, 6, hex, paths);
    size_t len = 0, now_len = 0;
    uint8_t *orig = slurp(paths[2], &len);
    REQUIRE(orig);
    ino_t inodes[6];
    for (int i = 0; i < 6; i++)
        inodes[i] = inode_of(paths[i]);
    flip(hex, 2, MIB, true);                   /* a data shard, its CRC fixed up */
    seen s;
    st_check_stats st;
    REQUIRE(scrub(e, false, &s, &st) == 0);
    CHECK_EQ_INT(s.findings, 0);               /* no CRC sees it */
    cf_err err;
    uint64_t pending = 0;
    REQUIRE(st_heal_pending(e, &pending, &err) == 0);
    CHECK_EQ_INT(pending, 0);
    CHECK_EQ_INT(check_gen(e, "b", "sha", 3 * MIB + 11, 2, &err), 1);
    REQUIRE(st_heal_pending(e, &pending, &err) == 0);
    CHECK_EQ_INT(pending, 1);                  /* the GET queued it, naming shard 2 */
    st_gc_stats hs = {0};
    REQUIRE(st_heal(e, &hs, &err) == 0);
    CHECK_EQ_INT(hs.healed_segments, 1);
    CHECK_EQ_INT(hs.heal_failures, 0);
    REQUIRE(st_heal_pending(e, &pending, &err) == 0);
    CHECK_EQ_INT(pending, 0);
    uint8_t *now = slurp(paths[2], &now_len);
    REQUIRE(now);
    CHECK_EQ_INT(now_len, len);
    CHECK(now_len == len && memcmp(now, orig, len) == 0);   /* the original bytes */
    CHECK(inode_of(paths[2]) != inodes[2]);    /* written again ... */
    for (int i = 0; i < 6; i++)                /* ... and no other shard */
        if (i != 2)
            CHECK(inode_of(paths[i]) == inodes[i]);
    free(now);
    free(orig);
    REQUIRE(scrub(e, false, &s, &st) == 0);
    CHECK_EQ_INT(s.findings, 0);
    REQUIRE(scrub(e, true, &s, &st) == 0);
    CHECK_EQ_INT(s.findings, 0);
    CHECK_EQ_INT(st.gcm_failures, 0);
    CHECK_EQ_INT(check_gen(e, "b", "sha", 3 * MIB + 11, 2, &err), 1);
    REQUIRE(st_heal_pending(e, &pending, &err) == 0);
    CHECK_EQ_INT(pending, 0);                  /* that GET needed no parity */
    st_close(e);
}

/* What a tier upload reads of a version (st_tobj, the bytes the remote
 * would hold: header and sealed blocks), whole. */
static uint8_t *tier_bytes(st_engine *e, const st_transition *t, cf_err *err)
{
    st_tobj *r;
    uint8_t *buf = malloc(t->total_len);
    if (!buf || st_tobj_open(e, t, &r, err) < 0) {
        free(buf);
        return NULL;
    }
    if (st_tobj_read(r, 0, buf, (size_t)t->total_len, err) < 0) {
        free(buf);
        buf = NULL;
    }
    st_tobj_close(r);
    return buf;
}

/* A tier upload frees the local shards once the remote holds its bytes,
 * so it must never carry a shard changed behind its CRC away as the only
 * copy: the sealed stream of a version with such a data shard is the
 * same as before the change (the block opened without it), and the shard
 * is named to heal; with too many shards changed the read fails rather
 * than give bytes whose tag does not hold. */
static void a_tier_upload_never_reads_a_shard_changed_behind_its_crc(void)
{
    st_engine *e = setup();
    REQUIRE(e);
    cf_err err;
    st_tier tier;
    REQUIRE(st_tier_add(e, "COLD", "s3", "{\"endpoint\":\"http://127.0.0.1:1\","
                        "\"bucket\":\"cold\"}", "tier-secret", &err) == 0);
    REQUIRE(st_tier_get(e, "COLD", 0, false, &tier, &err) == 0);
    char vid[33], hex[33];
    REQUIRE(version_of("sha", vid) == 0);
    REQUIRE(data_id_of("sha", 0, hex) == 0);
    st_transition t;
    REQUIRE(st_transition_begin(e, "t1", "b", "sha", vid, tier.id, &t, &err) == 0);
    uint8_t *before = tier_bytes(e, &t, &err);
    REQUIRE(before);
    flip(hex, 1, MIB, true);                   /* a data shard, its CRC fixed up */
    uint8_t *after = tier_bytes(e, &t, &err);
    REQUIRE(after);
    CHECK(memcmp(before, after, (size_t)t.total_len) == 0);
    uint64_t pending = 0;
    REQUIRE(st_heal_pending(e, &pending, &err) == 0);
    CHECK_EQ_INT(pending, 1);                  /* named to heal */
    free(after);
    flip(hex, 2, MIB, true);                   /* beyond what parity can find */
    flip(hex, 3, MIB, true);
    after = tier_bytes(e, &t, &err);
    CHECK(after == NULL);
    free(after);
    free(before);
    REQUIRE(st_transition_abort(e, &t, &err) == 0);
    st_transition_clear(&t);
    st_tier_clear(&tier);
    st_close(e);
}

/* Hostile: the shard a GET named is rebuilt from one changed behind its
 * CRC in another block (a parity shard, block 1, which the GET never
 * read): heal finds that the shards left disagree there and writes
 * nothing, rather than carry the change into shard 2 with a CRC to match;
 * the segment stays queued, the GET stays exact, and a deep scrub (which
 * finds both) repairs the two. */
static void heal_never_rewrites_a_shard_from_one_bad_behind_its_crc(void)
{
    st_engine *e = setup();
    REQUIRE(e);
    char hex[33], paths[6][700];
    REQUIRE(data_id_of("sha", 0, hex) == 0);
    shard_files_of(&fx, 6, hex, paths);
    ino_t shard2 = inode_of(paths[2]);
    flip_block(&fx, 4, 2, hex, 2, 0, MIB, true);
    flip_block(&fx, 4, 2, hex, 4, 1, MIB, true);
    cf_err err;
    CHECK_EQ_INT(check_gen(e, "b", "sha", 3 * MIB + 11, 2, &err), 1);
    uint64_t pending = 0;
    REQUIRE(st_heal_pending(e, &pending, &err) == 0);
    CHECK_EQ_INT(pending, 1);
    st_gc_stats hs = {0};
    REQUIRE(st_heal(e, &hs, &err) == 0);
    CHECK_EQ_INT(hs.healed_segments, 0);
    CHECK_EQ_INT(hs.heal_failures, 1);
    CHECK(inode_of(paths[2]) == shard2);       /* nothing written */
    REQUIRE(st_heal_pending(e, &pending, &err) == 0);
    CHECK_EQ_INT(pending, 1);                  /* still queued */
    CHECK_EQ_INT(check_gen(e, "b", "sha", 3 * MIB + 11, 2, &err), 1);
    seen s;
    st_check_stats st;
    REQUIRE(scrub(e, true, &s, &st) == 0);
    CHECK_EQ_INT(s.repaired, 2);
    CHECK_EQ_INT(st.lost_objects, 0);
    REQUIRE(scrub(e, true, &s, &st) == 0);
    CHECK_EQ_INT(s.findings, 0);
    REQUIRE(st_heal_pending(e, &pending, &err) == 0);
    CHECK_EQ_INT(pending, 0);                  /* the scrub's repair took it off */
    CHECK_EQ_INT(check_gen(e, "b", "sha", 3 * MIB + 11, 2, &err), 1);
    st_close(e);
}

/* Hostile: on a 2+1 set both data shards of a block changed behind their
 * CRCs, beyond what its one parity shard can repair: the GET fails with
 * an error, never wrong bytes; heal rewrites nothing from them; a deep
 * scrub names the object as beyond repair. */
static void two_shards_behind_their_crcs_beyond_parity_fail_the_get(void)
{
    eng_fixture f;
    st_engine *e = fixture_setup(&f, test_tmpdir(), 3, 2, 1, false);
    REQUIRE(e);
    cf_err err;
    st_object_info info;
    REQUIRE(put_gen(e, "b", "two", 2 * MIB + 5, 7, &info, &err) == 0);
    char hex[33];
    REQUIRE(single_data_id(&f, hex) == 0);
    flip_in(&f, 2, 1, hex, 0, MIB, true);
    flip_in(&f, 2, 1, hex, 1, MIB, true);
    CHECK_EQ_INT(check_gen(e, "b", "two", 2 * MIB + 5, 7, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    st_gc_stats hs = {0};
    REQUIRE(st_heal(e, &hs, &err) == 0);
    CHECK_EQ_INT(hs.healed_segments, 0);
    seen s;
    st_check_stats st;
    memset(&s, 0, sizeof s);
    st_check_opts o = {.deep = true, .found = on_found, .ctx = &s};
    REQUIRE(st_scrub(e, &o, &st, &err) == 0);
    CHECK_EQ_INT(st.lost_objects, 1);
    CHECK_EQ_INT(s.lost, 1);
    CHECK_EQ_STR(s.last_key, "two");
    CHECK_EQ_INT(s.repaired, 0);
    CHECK_EQ_INT(check_gen(e, "b", "two", 2 * MIB + 5, 7, &err), -1);
    st_close(e);
}

static void heal_all_writes_missing_shards_and_manifests_again(void)
{
    st_engine *e = setup();
    REQUIRE(e);
    char hex[33], paths[6][700];
    REQUIRE(data_id_of("plain", 0, hex) == 0);
    shard_files_of(&fx, 6, hex, paths);
    REQUIRE(unlink(paths[4]) == 0);
    char vid[33];
    REQUIRE(version_of("mp", vid) == 0);
    shard_files_of(&fx, 6, vid, paths);
    REQUIRE(unlink(paths[0]) == 0);
    seen s;
    st_check_stats st;
    REQUIRE(heal_all(e, &s, &st) == 0);
    CHECK_EQ_INT(s.findings, 2);
    CHECK_EQ_INT(s.repaired, 2);
    CHECK_EQ_INT(st.shards_missing, 1);
    CHECK_EQ_INT(st.manifests_missing, 1);
    CHECK_EQ_INT(st.manifests_rewritten, 1);
    CHECK(access(paths[0], F_OK) == 0);
    shard_files_of(&fx, 6, hex, paths);
    CHECK(access(paths[4], F_OK) == 0);
    REQUIRE(scrub(e, true, &s, &st) == 0);
    CHECK_EQ_INT(s.findings, 0);
    st_close(e);
}

/* Disk 2 dies and an empty directory takes its place: the engine formats
 * it into position 2 and marks it replacing (a mark that outlives a
 * restart); heal --all writes every shard and manifest it lacks and lifts
 * the mark; everything reads back and a deep scrub is clean. A disk of
 * another set in its place is refused, never formatted. */
static void an_empty_disk_in_a_dead_ones_place_is_formatted_and_filled(void)
{
    st_engine *e = setup();
    REQUIRE(e);
    st_close(e);
    int before = count_shard_files(&fx, 6);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir '%s'", fx.disks[2], fx.disks[2]);
    REQUIRE(system(cmd) == 0);
    e = fixture_open(&fx);
    REQUIRE(e);
    st_disk_info d;
    st_disk_get(e, 2, &d);
    CHECK(d.online && d.replacing);
    st_disk_get(e, 1, &d);
    CHECK(!d.replacing);
    char path[800];
    snprintf(path, sizeof path, "%s/format.json", fx.disks[2]);
    CHECK(access(path, F_OK) == 0);
    st_close(e);                          /* the mark outlives a restart */
    e = fixture_open(&fx);
    REQUIRE(e);
    st_disk_get(e, 2, &d);
    CHECK(d.replacing);
    seen s;
    st_check_stats st;
    st_check_opts one = {.tenant = "t1", .bucket = "b"};
    cf_err err;
    REQUIRE(st_heal_all(e, &one, &st, &err) == 0);   /* one bucket: still replacing */
    CHECK(st.shards_missing > 0 && st.repair_failures == 0);
    st_disk_get(e, 2, &d);
    CHECK(d.replacing);
    REQUIRE(heal_all(e, &s, &st) == 0);               /* everything: filled */
    CHECK_EQ_INT(st.repair_failures, 0);
    st_disk_get(e, 2, &d);
    CHECK(!d.replacing);
    snprintf(path, sizeof path, "%s/replacing", fx.disks[2]);
    CHECK(access(path, F_OK) != 0);
    CHECK_EQ_INT(count_shard_files(&fx, 6), before);
    CHECK_EQ_INT(check_gen(e, "b", "sha", 3 * MIB + 11, 2, &err), 1);
    REQUIRE(scrub(e, true, &s, &st) == 0);
    CHECK_EQ_INT(s.findings, 0);
    st_close(e);
    /* a disk of another set in position 2: refused, left as it was */
    eng_fixture other;
    st_engine *o = fixture_setup(&other, test_tmpdir(), 3, 2, 1, false);
    REQUIRE(o);
    st_close(o);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", fx.disks[2], other.disks[0],
             fx.disks[2]);
    REQUIRE(system(cmd) == 0);
    CHECK_EQ_INT(st_open(&fx.cfg, &e, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    snprintf(path, sizeof path, "%s/replacing", fx.disks[2]);
    CHECK(access(path, F_OK) != 0);
}

static void beyond_repair_is_named_and_a_wrong_digest_is_found(void)
{
    st_engine *e = setup();
    REQUIRE(e);
    char hex[33], paths[6][700];
    REQUIRE(data_id_of("plain", 0, hex) == 0);
    shard_files_of(&fx, 6, hex, paths);
    for (int i = 0; i < 3; i++)
        REQUIRE(unlink(paths[i]) == 0);
    seen s;
    st_check_stats st;
    REQUIRE(scrub(e, false, &s, &st) == 0);
    CHECK_EQ_INT(st.lost_objects, 1);
    CHECK_EQ_INT(s.lost, 1);
    CHECK_EQ_STR(s.last_key, "plain");
    cf_err err;
    REQUIRE(st_delete(e, "t1", "b", "plain", &err) == 0);
    sql("UPDATE objects SET cks = 'AAAAAAAAAAA=' WHERE key = CAST('crc64' AS BLOB)");
    REQUIRE(scrub(e, false, &s, &st) == 0);
    CHECK_EQ_INT(s.findings, 0);               /* no CRC can see it */
    REQUIRE(scrub(e, true, &s, &st) == 0);
    CHECK_EQ_INT(st.digest_mismatches, 1);
    CHECK_EQ_STR(s.last_key, "crc64");
    CHECK(strstr(s.last_what, "CRC64NVME") != NULL);
    st_close(e);
}

static int stop_now(void *ctx, uint64_t bytes)
{
    (void)bytes;
    return ++*(int *)ctx > 3;
}

static void slices_cover_everything_once_and_a_pacer_stops(void)
{
    st_engine *e = setup();
    REQUIRE(e);
    uint64_t objects = 0, parts = 0;
    cf_err err;
    for (int i = 0; i < 7; i++) {
        st_check_opts o = {.slice = i, .slices = 7};
        st_check_stats st;
        REQUIRE(st_scrub(e, &o, &st, &err) == 0);
        objects += st.objects;
        parts += st.uploads_parts;
    }
    CHECK_EQ_INT(objects, 5);
    CHECK_EQ_INT(parts, 1);
    int calls = 0;
    st_pacer pacer = {.pace = stop_now, .ctx = &calls};
    st_check_opts o = {.pacer = &pacer};
    st_check_stats st;
    REQUIRE(st_scrub(e, &o, &st, &err) == 0);
    CHECK(st.stopped);
    CHECK(st.objects < 5);
    st_close(e);
}

/* ---- the 1% sweep ---------------------------------------------------------- */

/* BITROT_OBJECTS objects (100 by default; make soak runs more), 1% of
 * their shard files flipped */
#define SWEEP_HIDDEN 3                           /* flips behind an intact CRC */
#define SWEEP_MAX_FINDINGS 4096

typedef struct sweep_seen {
    int n;
    struct { char key[32]; int disk; bool repaired, lost; } f[SWEEP_MAX_FINDINGS];
} sweep_seen;

static void sweep_found(void *ctx, const st_finding *f)
{
    sweep_seen *s = ctx;
    if (s->n == (int)(sizeof s->f / sizeof s->f[0]))
        return;
    snprintf(s->f[s->n].key, sizeof s->f[0].key, "%s", f->key);
    s->f[s->n].disk = f->disk;
    s->f[s->n].repaired = f->repaired;
    s->f[s->n].lost = f->lost;
    s->n++;
}

/* Whether the report lists key (on disk, or any disk for -1) as wanted. */
static bool listed(const sweep_seen *s, const char *key, int disk, bool lost)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->f[i].key, key) == 0 && (disk < 0 || s->f[i].disk == disk) &&
            (lost ? s->f[i].lost : s->f[i].repaired))
            return true;
    return false;
}

static int sweep_scrub(st_engine *e, bool deep, sweep_seen *s, st_check_stats *st)
{
    memset(s, 0, sizeof *s);
    st_check_opts o = {.deep = deep, .found = sweep_found, .ctx = s};
    cf_err err;
    return st_scrub(e, &o, st, &err);
}

/* Flip one random byte past the header of a shard file. */
static void flip_random(const char *path, uint64_t *rs)
{
    struct stat sb;
    int fd = open(path, O_RDWR);
    if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size <= SHARD_HEADER_SIZE) {
        perror(path);
        if (fd >= 0)
            close(fd);
        return;
    }
    *rs = *rs * 6364136223846793005ULL + 1442695040888963407ULL;
    off_t off = SHARD_HEADER_SIZE + (off_t)((*rs >> 17) % (uint64_t)(sb.st_size -
                                                                      SHARD_HEADER_SIZE));
    uint8_t b;
    if (pread(fd, &b, 1, off) == 1) {
        b ^= (uint8_t)(1u << ((*rs >> 5) % 8));
        if (pwrite(fd, &b, 1, off) != 1)
            perror("pwrite");
    }
    close(fd);
}

static uint64_t sweep_size(int i)
{
    return 1000 + (uint64_t)i * 7919 % 200000;   /* one block each */
}

/* Random bytes flipped in 1% of the shard files of N objects (one file
 * of an object each, any byte past its header), three more behind a CRC
 * fixed up to match, and three shard files of one more object: every GET
 * stays exact (the one beyond repair fails, never returns wrong bytes); a
 * scrub finds and repairs every CRC-visible flip and lists each by key and
 * disk; a deep scrub then finds the three behind an intact CRC; the object
 * beyond repair is named as lost in both; a last deep scrub finds nothing
 * else and every object still reads back. */
static void one_percent_of_the_shard_files_rotted(void)
{
    const char *env = getenv("BITROT_OBJECTS");
    const int nobj = env && atoi(env) >= 100 ? atoi(env) : 100;
    const int nflips = nobj * 6 / 100;
    REQUIRE(nflips * 2 < SWEEP_MAX_FINDINGS && nobj < 100000);
    st_engine *e = fixture_setup(&fx, test_tmpdir(), 6, 4, 2, true);
    REQUIRE(e);
    static const cks_algo algos[] = {CKS_NONE, CKS_CRC32C, CKS_SHA256, CKS_CRC64NVME};
    char key[32];
    for (int i = 0; i < nobj + SWEEP_HIDDEN + 1; i++) {
        snprintf(key, sizeof key, "rot/%03d", i);
        REQUIRE(put_cks(e, key, sweep_size(i), 1000 + (uint64_t)i, algos[i % 4]) == 0);
    }
    uint64_t rs = 0x9E3779B97F4A7C15ULL;
    bool *hit = calloc((size_t)nobj, sizeof *hit);
    int *disk_of = calloc((size_t)nobj, sizeof *disk_of);
    REQUIRE(hit && disk_of);
    char hex[33], paths[6][700];
    for (int n = 0; n < nflips;) {
        rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
        int obj = (int)((rs >> 20) % nobj);
        if (hit[obj])
            continue;
        snprintf(key, sizeof key, "rot/%03d", obj);
        REQUIRE(data_id_of(key, 0, hex) == 0);
        shard_files_of(&fx, 6, hex, paths);
        hit[obj] = true;
        disk_of[obj] = (int)((rs >> 40) % 6);
        flip_random(paths[disk_of[obj]], &rs);
        n++;
    }
    for (int h = 0; h < SWEEP_HIDDEN; h++) {
        int obj = nobj + h;
        snprintf(key, sizeof key, "rot/%03d", obj);
        REQUIRE(data_id_of(key, 0, hex) == 0);
        flip(hex, h, (uint32_t)sweep_size(obj), true);
    }
    const int lost_obj = nobj + SWEEP_HIDDEN;
    char lost_key[32];
    snprintf(lost_key, sizeof lost_key, "rot/%03d", lost_obj);
    REQUIRE(data_id_of(lost_key, 0, hex) == 0);
    shard_files_of(&fx, 6, hex, paths);
    for (int i = 0; i < 3; i++)
        flip_random(paths[i], &rs);

    cf_err err;
    int exact = 0;
    for (int i = 0; i < lost_obj; i++) {
        snprintf(key, sizeof key, "rot/%03d", i);
        int rc = check_gen(e, "b", key, sweep_size(i), 1000 + (uint64_t)i, &err);
        exact += rc == 1;
        if (rc != 1)
            fprintf(stderr, "  GET %s: %s\n", key, rc < 0 ? err.msg : "wrong bytes");
    }
    CHECK_EQ_INT(exact, lost_obj);
    CHECK_EQ_INT(check_gen(e, "b", lost_key, sweep_size(lost_obj), 1000 + (uint64_t)lost_obj,
                           &err), -1);

    static sweep_seen s;
    st_check_stats st;
    REQUIRE(sweep_scrub(e, false, &s, &st) == 0);
    int named = 0;
    for (int i = 0; i < nobj; i++) {
        snprintf(key, sizeof key, "rot/%03d", i);
        if (!hit[i])
            continue;
        if (listed(&s, key, disk_of[i], false))
            named++;
        else
            fprintf(stderr, "  %s: the flip on disk %d is not in the report\n", key,
                    disk_of[i]);
    }
    CHECK_EQ_INT(named, nflips);
    CHECK(listed(&s, lost_key, -1, true));
    CHECK_EQ_INT(st.lost_objects, 1);
    CHECK_EQ_INT(st.segments_repaired, nflips);
    CHECK_EQ_INT(st.repair_failures, 0);
    fprintf(stderr, "  scrub: %d of %d flipped shard files (1%% of %d) found, repaired and "
            "listed; %s named beyond repair\n", named, nflips, nobj * 6,
            lost_key);

    REQUIRE(sweep_scrub(e, true, &s, &st) == 0);
    int hidden = 0;
    for (int h = 0; h < SWEEP_HIDDEN; h++) {
        snprintf(key, sizeof key, "rot/%03d", nobj + h);
        hidden += listed(&s, key, h, false);
    }
    CHECK_EQ_INT(hidden, SWEEP_HIDDEN);
    CHECK_EQ_INT(st.segments_repaired, SWEEP_HIDDEN);   /* the others are fixed */
    CHECK(listed(&s, lost_key, -1, true));
    fprintf(stderr, "  deep scrub: %d of %d flips behind an intact CRC found and repaired\n",
            hidden, SWEEP_HIDDEN);

    REQUIRE(sweep_scrub(e, true, &s, &st) == 0);
    CHECK_EQ_INT(st.segments_repaired, 0);
    CHECK_EQ_INT(st.lost_objects, 1);
    exact = 0;
    for (int i = 0; i < lost_obj; i++) {
        snprintf(key, sizeof key, "rot/%03d", i);
        exact += check_gen(e, "b", key, sweep_size(i), 1000 + (uint64_t)i, &err) == 1;
    }
    CHECK_EQ_INT(exact, lost_obj);
    free(hit);
    free(disk_of);
    st_close(e);
}


TEST_MAIN("scrub",
          T(a_clean_store_reports_nothing),
          T(a_flipped_byte_is_found_by_its_crc_and_repaired),
          T(a_flip_behind_an_intact_crc_needs_a_deep_scrub),
          T(heal_rewrites_a_shard_a_get_found_changed_behind_its_crc),
          T(heal_never_rewrites_a_shard_from_one_bad_behind_its_crc),
          T(two_shards_behind_their_crcs_beyond_parity_fail_the_get),
          T(a_tier_upload_never_reads_a_shard_changed_behind_its_crc),
          T(heal_all_writes_missing_shards_and_manifests_again),
          T(an_empty_disk_in_a_dead_ones_place_is_formatted_and_filled),
          T(beyond_repair_is_named_and_a_wrong_digest_is_found),
          T(slices_cover_everything_once_and_a_pacer_stops),
          T(one_percent_of_the_shard_files_rotted))
