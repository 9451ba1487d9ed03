/*
 * tests/unit/test_engine.c - the object engine end to end on real
 * directories: round trips in every default layout, ranges, damaged and
 * tampered shards, heal, multipart, listing, copy, deletion and GC; group
 * commit of the index under concurrent small PUTs.
 */
#include "tests/unit/test.h"
#include "tests/unit/engine_util.h"
#include "common/bigbuf.h"
#include "common/hex.h"
#include "storage/ds.h"
#include "storage/index.h"
#include "storage/shard.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define B (1u << 20)

static const int layouts[][3] = {
    {1, 1, 0}, {2, 1, 1}, {4, 2, 2}, {6, 4, 2}, {8, 6, 2}, {12, 8, 4}, {16, 12, 4},
};
#define NLAYOUTS (sizeof layouts / sizeof layouts[0])

static st_engine *setup(eng_fixture *f, int ndisks, int k, int m, bool no_inline)
{
    return fixture_setup(f, test_tmpdir(), ndisks, k, m, no_inline);
}

static void round_trips_in_every_layout(void)
{
    const uint64_t sizes[] = {0, 1, B - 1, B, B + 1, 3ull * B + 17, 100ull << 20};
    for (size_t l = 0; l < NLAYOUTS; l++) {
        eng_fixture f;
        st_engine *e = setup(&f, layouts[l][0], layouts[l][1], layouts[l][2], true);
        REQUIRE(e);
        int k, m;
        uint32_t bs;
        st_layout(e, &k, &m, &bs);
        CHECK_EQ_INT(k, layouts[l][1]);
        CHECK_EQ_INT(m, layouts[l][2]);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            cf_err err;
            char key[32];
            snprintf(key, sizeof key, "obj-%zu", s);
            CHECK_EQ_INT(put_gen(e, "b", key, sizes[s], s + 1, NULL, &err), 0);
            int ok = check_gen(e, "b", key, sizes[s], s + 1, &err);
            if (ok != 1)
                fprintf(stderr, "layout %d+%d size %llu: %s\n", k, m,
                        (unsigned long long)sizes[s], ok < 0 ? err.msg : "differs");
            CHECK_EQ_INT(ok, 1);
        }
        st_close(e);
    }
}

static void default_layouts_follow_disk_count(void)
{
    for (size_t l = 0; l < NLAYOUTS; l++) {
        eng_fixture f;
        st_engine *e = setup(&f, layouts[l][0], 0, 0, false);
        REQUIRE(e);
        int k, m;
        uint32_t bs;
        st_layout(e, &k, &m, &bs);
        CHECK_EQ_INT(k, layouts[l][1]);
        CHECK_EQ_INT(m, layouts[l][2]);
        CHECK_EQ_INT(bs, B);
        st_close(e);
    }
}

static void etag_is_plaintext_md5(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 6, 0, 0, false);
    REQUIRE(e);
    st_put_args a = {.tenant = "t1", .bucket = "b", .key = "hello", .expected_size = 5,
                     .checksum_algo = CKS_CRC32};
    st_put *p;
    cf_err err;
    st_object_info info;
    REQUIRE(st_put_begin(e, &a, &p, &err) == 0);
    REQUIRE(st_put_write(p, "hello", 5, &err) == 0);
    REQUIRE(st_put_finish(p, NULL, &info, &err) == 0);
    CHECK_EQ_STR(info.etag, "\"5d41402abc4b2a76b9719d911017c592\"");
    CHECK_EQ_STR(info.checksum_b64, "NhCmhg==");
    st_object_info_clear(&info);
    REQUIRE(st_head(e, "t1", "b", "hello", &info, &err) == 0);
    CHECK_EQ_STR(info.etag, "\"5d41402abc4b2a76b9719d911017c592\"");
    CHECK_EQ_INT(info.checksum_algo, CKS_CRC32);
    st_object_info_clear(&info);
    st_close(e);
}

/* The digests are taken in the pass that copies the body into the block
 * (segw_write_pass): a multi-block body in pieces of odd sizes, one of them
 * larger than a block and sealed in place, gets the MD5 ETag, the caller's
 * SHA-256 and the CRC32C checksum of exactly its bytes, and reads back. */
static void digests_taken_while_copying_cover_every_byte(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 6, 0, 0, false);
    REQUIRE(e);
    enum { SIZE = (4u << 20) + 12345 };
    uint8_t *buf = malloc(SIZE);
    REQUIRE(buf);
    gen_bytes(77, 0, buf, SIZE);
    cf_err err;
    cks_state *md5 = cks_new(CKS_MD5, &err), *sha = cks_new(CKS_SHA256, &err),
              *crc = cks_new(CKS_CRC32C, &err), *also = cks_new(CKS_SHA256, &err);
    REQUIRE(md5 && sha && crc && also);
    st_put_args a = {.tenant = "t1", .bucket = "b", .key = "pass", .expected_size = SIZE,
                     .checksum_algo = CKS_CRC32C};
    st_put *p;
    REQUIRE(st_put_begin(e, &a, &p, &err) == 0);
    static const size_t piece[] = {(5u << 20) / 2, 1, 63, 65536, 99991, 64, 65};
    for (size_t off = 0, i = 0; off < SIZE; i++) {
        size_t n = piece[i % (sizeof piece / sizeof piece[0])];
        if (n > SIZE - off)
            n = SIZE - off;
        REQUIRE(st_put_write_hashed(p, buf + off, n, also, &err) == 0);
        off += n;
    }
    st_object_info info;
    REQUIRE(st_put_finish(p, NULL, &info, &err) == 0);
    uint8_t want[CKS_MAX_RAW], got[CKS_MAX_RAW];
    char hex[33], etag[40], b64[CKS_MAX_B64];
    cks_update(md5, buf, SIZE);
    cks_final(md5, want);
    hex_encode(want, 16, hex, sizeof hex);
    snprintf(etag, sizeof etag, "\"%s\"", hex);
    CHECK_EQ_STR(info.etag, etag);
    cks_update(crc, buf, SIZE);
    cks_to_base64(want, cks_final(crc, want), b64, sizeof b64);
    CHECK_EQ_STR(info.checksum_b64, b64);
    cks_update(sha, buf, SIZE);
    cks_final(sha, want);
    cks_final(also, got);
    CHECK(memcmp(want, got, 32) == 0);
    st_object_info_clear(&info);
    CHECK_EQ_INT(check_gen(e, "b", "pass", SIZE, 77, &err), 1);
    cks_free(md5);
    cks_free(sha);
    cks_free(crc);
    cks_free(also);
    free(buf);
    st_close(e);
}

static void digests_are_verified_before_commit(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 4, 0, 0, false);
    REQUIRE(e);
    cf_err err;
    const uint8_t wrong_md5[16] = {1};
    st_put_args a = {.tenant = "t1", .bucket = "b", .key = "k", .expected_size = -1,
                     .checksum_algo = CKS_SHA256};
    st_put *p;
    st_put_expect x = {.content_md5 = wrong_md5};
    REQUIRE(st_put_begin(e, &a, &p, &err) == 0);
    REQUIRE(st_put_write(p, "data", 4, &err) == 0);
    CHECK_EQ_INT(st_put_finish(p, &x, NULL, &err), -1);
    CHECK_EQ_INT(err.code, CF_EDIGEST);
    x = (st_put_expect){.checksum_b64 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
    REQUIRE(st_put_begin(e, &a, &p, &err) == 0);
    REQUIRE(st_put_write(p, "data", 4, &err) == 0);
    CHECK_EQ_INT(st_put_finish(p, &x, NULL, &err), -1);
    CHECK_EQ_INT(err.code, CF_EDIGEST);
    st_object_info info;
    CHECK_EQ_INT(st_head(e, "t1", "b", "k", &info, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOKEY);
    a.expected_size = 3;
    REQUIRE(st_put_begin(e, &a, &p, &err) == 0);
    CHECK_EQ_INT(st_put_write(p, "data", 4, &err), -1);
    CHECK_EQ_INT(err.code, CF_ETOOLARGE);
    st_put_abort(p);
    REQUIRE(st_put_begin(e, &a, &p, &err) == 0);
    REQUIRE(st_put_write(p, "da", 2, &err) == 0);
    CHECK_EQ_INT(st_put_finish(p, NULL, NULL, &err), -1);
    CHECK_EQ_INT(st_head(e, "t1", "b", "k", &info, &err), -1);
    CHECK_EQ_INT(count_shard_files(&f, 4), 0);
    st_close(e);
}

static void ranges_at_and_across_block_boundaries(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 6, 0, 0, true);
    REQUIRE(e);
    cf_err err;
    uint64_t size = 3ull * B + 17;
    REQUIRE(put_gen(e, "b", "r", size, 99, NULL, &err) == 0);
    const uint64_t ranges[][2] = {
        {0, 1}, {size - 1, 1}, {B - 1, 2}, {B, 1}, {B - 5, B + 10}, {2 * B, B + 17},
        {17, 3 * B}, {size - 17, 17}, {0, size}, {3 * B, 17}, {123456, 1},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        CHECK_EQ_INT(check_range(e, "b", "r", 99, ranges[i][0], ranges[i][1], &err), 1);
    st_object_info info;
    st_get *g;
    REQUIRE(st_get_open(e, "t1", "b", "r", &info, &g, &err) == 0);
    uint8_t buf[64];
    size_t n = 99;
    CHECK_EQ_INT(st_get_read(g, size, buf, sizeof buf, &n, &err), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(st_get_read(g, size - 3, buf, sizeof buf, &n, &err), 0);
    CHECK_EQ_INT(n, 3);
    st_get_close(g);
    st_object_info_clear(&info);
    st_close(e);
}

/* Damage kinds applied to a shard file. */
enum damage { DMG_DELETE, DMG_TRUNCATE, DMG_FLIP, DMG_HEADER, DMG_KINDS };

static void damage_file(const char *path, enum damage how, uint64_t seed)
{
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return;
    struct stat st;
    fstat(fd, &st);
    uint8_t c;
    off_t at;
    switch (how) {
    case DMG_DELETE:
        unlink(path);
        break;
    case DMG_TRUNCATE:
        if (ftruncate(fd, st.st_size / 2) != 0)
            perror("ftruncate");
        break;
    case DMG_FLIP:
        at = 4096 + (off_t)(seed % (uint64_t)(st.st_size - 4096));
        if (pread(fd, &c, 1, at) == 1) {
            c ^= 0x5a;
            if (pwrite(fd, &c, 1, at) != 1)
                perror("pwrite");
        }
        break;
    case DMG_HEADER:
        at = (off_t)(seed % 200);
        if (pread(fd, &c, 1, at) == 1) {
            c ^= 0x01;
            if (pwrite(fd, &c, 1, at) != 1)
                perror("pwrite");
        }
        break;
    default:
        break;
    }
    close(fd);
}

/* Copy every shard file aside and back, so each combination starts clean. */
static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char buf[65536];
    ssize_t n;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            break;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
}

static void save_shards(char paths[][700], int n, bool restore)
{
    for (int i = 0; i < n; i++) {
        char aside[720];
        snprintf(aside, sizeof aside, "%.699s.saved", paths[i]);
        if (restore)
            copy_file(aside, paths[i]);
        else
            copy_file(paths[i], aside);
    }
}

static void remove_saved(char paths[][700], int n)
{
    for (int i = 0; i < n; i++) {
        char aside[720];
        snprintf(aside, sizeof aside, "%.699s.saved", paths[i]);
        unlink(aside);
    }
}

/* Damage the shards in mask and read back. Partial damage (a flipped byte,
 * a truncation) varies per shard; whole_loss destroys each shard entirely
 * (deleted, or its header broken) so that no block can use it. */
static int read_with_damage(st_engine *e, char paths[][700], int n, unsigned mask,
                            bool whole_loss, uint64_t size, uint64_t seed, cf_err *err)
{
    save_shards(paths, n, true);
    int which = 0;
    for (int i = 0; i < n; i++) {
        if (!(mask & (1u << i)))
            continue;
        enum damage how = whole_loss ? ((which++ & 1) ? DMG_HEADER : DMG_DELETE)
                                     : (enum damage)((which++ + mask) % DMG_KINDS);
        damage_file(paths[i], how, seed + (uint64_t)i);
    }
    return check_gen(e, "b", "x", size, seed, err);
}

static int popcount(unsigned x)
{
    int c = 0;
    for (; x; x &= x - 1)
        c++;
    return c;
}

static void lost_shards_up_to_m_are_rebuilt_and_m_plus_one_fail(void)
{
    for (size_t l = 0; l < NLAYOUTS; l++) {
        int n = layouts[l][0], m = layouts[l][2];
        eng_fixture f;
        st_engine *e = setup(&f, n, layouts[l][1], m, true);
        REQUIRE(e);
        cf_err err;
        uint64_t size = 3ull * B + 17;
        REQUIRE(put_gen(e, "b", "x", size, 7, NULL, &err) == 0);
        char hex[33], paths[16][700];
        REQUIRE(single_data_id(&f, hex) == 0);
        shard_files_of(&f, n, hex, paths);
        save_shards(paths, n, false);
        bool every = n <= 6;
        int tried = 0;
        for (unsigned mask = 1; mask < (1u << n); mask++) {
            int lost = popcount(mask);
            if (lost > m + 1 || (!every && (mask * 2654435761u) % 97 != 0 &&
                                 lost != m + 1 && mask != (1u << m) - 1))
                continue;
            if (!every && lost == m + 1 && (mask * 40503u) % 61 != 0)
                continue;
            tried++;
            int rc = read_with_damage(e, paths, n, mask, lost > m, size, 7, &err);
            if (lost <= m) {
                if (rc != 1)
                    fprintf(stderr, "%d+%d mask %x: %s\n", layouts[l][1], m, mask,
                            rc < 0 ? err.msg : "wrong bytes");
                CHECK_EQ_INT(rc, 1);
            } else {
                CHECK_EQ_INT(rc, -1);     /* a clear error, never wrong bytes */
                CHECK(err.code == CF_EQUORUM);
            }
        }
        CHECK(tried > 0);
        save_shards(paths, n, true);
        remove_saved(paths, n);
        st_close(e);
    }
}

static void degraded_reads_queue_heal_and_heal_restores_shards(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 6, 4, 2, true);
    REQUIRE(e);
    cf_err err;
    uint64_t size = 2ull * B + 5, pending = 0;
    REQUIRE(put_gen(e, "b", "x", size, 3, NULL, &err) == 0);
    char hex[33], paths[16][700];
    REQUIRE(single_data_id(&f, hex) == 0);
    shard_files_of(&f, 6, hex, paths);
    unlink(paths[0]);
    damage_file(paths[3], DMG_FLIP, 12345);
    CHECK_EQ_INT(check_gen(e, "b", "x", size, 3, &err), 1);
    REQUIRE(st_heal_pending(e, &pending, &err) == 0);
    CHECK_EQ_INT(pending, 1);
    st_gc_stats stats = {0};
    REQUIRE(st_heal(e, &stats, &err) == 0);
    CHECK_EQ_INT(stats.healed_segments, 1);
    REQUIRE(st_heal_pending(e, &pending, &err) == 0);
    CHECK_EQ_INT(pending, 0);
    /* the rebuilt shards must be good: lose the two others instead */
    unlink(paths[4]);
    unlink(paths[5]);
    CHECK_EQ_INT(check_gen(e, "b", "x", size, 3, &err), 1);
    st_close(e);
}

/* Swap the shard blocks of blocks 0 and 1 in every shard file (CRCs move
 * along with them, so only the GCM position binding can notice). */
static void swap_blocks(char paths[][700], int n, int k)
{
    uint32_t s = 0;
    for (uint32_t sealed = B + 16; s * (uint32_t)k < sealed;)
        s += 64;
    size_t len = s + 4;
    uint8_t *a = malloc(len), *b = malloc(len);
    for (int i = 0; i < n; i++) {
        int fd = open(paths[i], O_RDWR);
        if (fd < 0)
            continue;
        if (pread(fd, a, len, 4096) == (ssize_t)len &&
            pread(fd, b, len, 4096 + (off_t)len) == (ssize_t)len &&
            (pwrite(fd, b, len, 4096) != (ssize_t)len ||
             pwrite(fd, a, len, 4096 + (off_t)len) != (ssize_t)len))
            perror("pwrite");
        close(fd);
    }
    free(a);
    free(b);
}

static void tampering_is_an_error_never_wrong_bytes(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 4, 2, 2, true);
    REQUIRE(e);
    cf_err err;
    uint64_t size = 3ull * B;
    REQUIRE(put_gen(e, "b", "x", size, 11, NULL, &err) == 0);
    char hex[33], paths[16][700];
    REQUIRE(single_data_id(&f, hex) == 0);
    shard_files_of(&f, 4, hex, paths);
    save_shards(paths, 4, false);
    swap_blocks(paths, 4, 2);
    CHECK_EQ_INT(check_gen(e, "b", "x", size, 11, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    /* the same headers on every shard: more than m broken is beyond repair */
    save_shards(paths, 4, true);
    for (int i = 0; i < 3; i++)
        damage_file(paths[i], DMG_HEADER, 20 + (uint64_t)i);
    CHECK_EQ_INT(check_gen(e, "b", "x", size, 11, &err), -1);
    save_shards(paths, 4, true);
    CHECK_EQ_INT(check_gen(e, "b", "x", size, 11, &err), 1);
    remove_saved(paths, 4);
    st_close(e);
}

/* Reads of whole blocks decrypt straight into the caller's buffer: same
 * bytes, same repair, same refusal of tampered data as the copying path. */
static void whole_block_reads_match_the_copying_path(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 6, 4, 2, true);
    REQUIRE(e);
    cf_err err;
    uint64_t size = 3ull * B + 17;
    REQUIRE(put_gen(e, "b", "x", size, 21, NULL, &err) == 0);
    const size_t lens[] = {B, 2 * B, 4 * B + 5, B - 1, B + 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        CHECK_EQ_INT(check_range_by(e, "b", "x", 21, 0, size, lens[i], &err), 1);
        CHECK_EQ_INT(check_range_by(e, "b", "x", 21, 5, size - 5, lens[i], &err), 1);
    }
    char hex[33], paths[16][700];
    REQUIRE(single_data_id(&f, hex) == 0);
    shard_files_of(&f, 6, hex, paths);
    save_shards(paths, 6, false);
    unlink(paths[0]);
    unlink(paths[1]);
    CHECK_EQ_INT(check_range_by(e, "b", "x", 21, 0, size, 2 * B, &err), 1);
    uint64_t pending = 0;
    CHECK_EQ_INT(st_heal_pending(e, &pending, &err), 0);
    CHECK(pending == 1);
    save_shards(paths, 6, true);
    swap_blocks(paths, 6, 4);
    CHECK_EQ_INT(check_range_by(e, "b", "x", 21, 0, size, 2 * B, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    remove_saved(paths, 6);
    st_close(e);
    e = setup(&f, 6, 4, 2, false);     /* an inline object read whole */
    REQUIRE(e);
    REQUIRE(put_gen(e, "b", "small", 100, 22, NULL, &err) == 0);
    CHECK_EQ_INT(check_range_by(e, "b", "small", 22, 0, 100, 4 * B, &err), 1);
    st_close(e);
}

/* A GET's stripe and block buffer are recycled (common/bigbuf): taken from
 * the kept buffers while the GET is open, given back at close. Recycled
 * buffers hold an earlier object's bytes, which must never show: a
 * degraded read (parity rebuilt in the stripe) and a partial-block read
 * (through the block buffer) of another object after a read of the first
 * return exactly the second object's bytes. */
static void get_buffers_are_recycled_and_hold_nothing_stale(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 6, 4, 2, true);
    REQUIRE(e);
    cf_err err;
    uint64_t big = 3ull * B + 17, small = B + 5;
    REQUIRE(put_gen(e, "b", "small", small, 42, NULL, &err) == 0);
    char hex[33], paths[16][700];
    REQUIRE(single_data_id(&f, hex) == 0);
    REQUIRE(put_gen(e, "b", "big", big, 41, NULL, &err) == 0);
    CHECK_EQ_INT(check_range_by(e, "b", "big", 41, 0, big, B, &err), 1);
    CHECK_EQ_INT(check_range_by(e, "b", "big", 41, 7, B, 1000, &err), 1);
    size_t kept0 = bigbuf_kept();
    REQUIRE(kept0 >= 2);
    st_object_info info;
    st_get *g;
    REQUIRE(st_get_open(e, "t1", "b", "big", &info, &g, &err) == 0);
    st_object_info_clear(&info);
    uint8_t buf[100];
    size_t n = 0;
    CHECK_EQ_INT(st_get_read(g, 5, buf, sizeof buf, &n, &err), 0);
    CHECK_EQ_INT((int)n, (int)sizeof buf);
    CHECK_EQ_INT((int)bigbuf_kept(), (int)kept0 - 2);   /* stripe and block */
    st_get_close(g);
    CHECK_EQ_INT((int)bigbuf_kept(), (int)kept0);
    shard_files_of(&f, 6, hex, paths);
    save_shards(paths, 6, false);
    unlink(paths[0]);
    unlink(paths[3]);
    CHECK_EQ_INT(check_range_by(e, "b", "small", 42, 0, small, B, &err), 1);
    CHECK_EQ_INT(check_range_by(e, "b", "small", 42, 3, small - 3, 777, &err), 1);
    save_shards(paths, 6, true);
    remove_saved(paths, 6);
    st_close(e);
}

static void wrong_master_key_is_refused(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 2, 0, 0, false);
    REQUIRE(e);
    st_close(e);
    f.cfg.master_key_hex = "0000000000000000000000000000000000000000000000000000000000000001";
    cf_err err;
    CHECK_EQ_INT(st_open(&f.cfg, &e, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECRYPTO);
    CHECK(strstr(err.msg, "master key") != NULL);
}
static void disk_set_refuses_foreign_misplaced_and_too_few_disks(void)
{
    eng_fixture f, g;
    st_engine *e = setup(&f, 4, 0, 0, false);
    REQUIRE(e);
    st_close(e);
    st_engine *e2 = setup(&g, 4, 0, 0, false);
    REQUIRE(e2);
    st_close(e2);
    cf_err err;
    /* a disk of another set */
    f.cfg.disks[1] = g.disks[1];
    CHECK_EQ_INT(st_open(&f.cfg, &e, &err), -1);
    CHECK(strstr(err.msg, "another disk set") != NULL);
    CHECK(strstr(err.msg, g.disks[1]) != NULL);
    /* two disks swapped */
    f.cfg.disks[1] = f.disks[2];
    f.cfg.disks[2] = f.disks[1];
    CHECK_EQ_INT(st_open(&f.cfg, &e, &err), -1);
    CHECK(strstr(err.msg, "position") != NULL);
    f.cfg.disks[1] = f.disks[1];
    f.cfg.disks[2] = f.disks[2];
    /* 2+2: two unreadable disks still open, three do not */
    chmod(f.disks[0], 0);
    bool root = access(f.disks[0], R_OK) == 0;
    chmod(f.disks[0], 0700);
    if (!root) {
        chmod(f.disks[0], 0);
        chmod(f.disks[1], 0);
        CHECK_EQ_INT(st_open(&f.cfg, &e, &err), 0);
        st_close(e);
        chmod(f.disks[2], 0);
        CHECK_EQ_INT(st_open(&f.cfg, &e, &err), -1);
        CHECK_EQ_INT(err.code, CF_EQUORUM);
        for (int i = 0; i < 3; i++)
            chmod(f.disks[i], 0700);
    }
    /* a different explicit layout than the formatted one */
    f.cfg.k = 3;
    f.cfg.m = 1;
    CHECK_EQ_INT(st_open(&f.cfg, &e, &err), -1);
    CHECK(strstr(err.msg, "layout") != NULL);
}

static void hostile_format_files_are_refused_clearly(void)
{
    const char *bad[] = {
        "", "{", "[]", "null", "{\"format\":\"coffer-disk\"}",
        "{\"format\":\"coffer-disk\",\"version\":1,\"set_id\":\"zz\",\"disk_index\":0,"
        "\"disk_count\":2,\"k\":1,\"m\":1,\"block_size\":1048576}",
        "{\"format\":\"coffer-disk\",\"version\":1,\"set_id\":\"00112233445566778899aabbccddeeff\","
        "\"disk_index\":5,\"disk_count\":2,\"k\":1,\"m\":1,\"block_size\":1048576}",
        "{\"format\":\"coffer-disk\",\"version\":1,\"set_id\":\"00112233445566778899aabbccddeeff\","
        "\"disk_index\":0,\"disk_count\":2,\"k\":1,\"m\":1,\"block_size\":100}",
        "{\"format\":\"coffer-disk\",\"version\":1,\"set_id\":\"00112233445566778899aabbccddeeff\","
        "\"disk_index\":0,\"disk_count\":2,\"k\":-1,\"m\":3,\"block_size\":1048576}",
        "{\"format\":\"coffer-disk\",\"version\":2}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eng_fixture f;
        fixture_init(&f, test_tmpdir(), 2, 0, 0);
        mkdir(f.disks[0], 0700);
        char path[700];
        snprintf(path, sizeof path, "%s/format.json", f.disks[0]);
        write_text(path, bad[i]);
        st_engine *e;
        cf_err err;
        CHECK_EQ_INT(st_open(&f.cfg, &e, &err), -1);
        CHECK(strstr(err.msg, f.disks[0]) != NULL);
    }
    /* an oversized file */
    eng_fixture f;
    fixture_init(&f, test_tmpdir(), 1, 0, 0);
    mkdir(f.disks[0], 0700);
    char path[700], *big = malloc(100000);
    memset(big, ' ', 99999);
    big[99999] = 0;
    snprintf(path, sizeof path, "%s/format.json", f.disks[0]);
    write_text(path, big);
    free(big);
    st_engine *e;
    cf_err err;
    CHECK_EQ_INT(st_open(&f.cfg, &e, &err), -1);
}

/* in with its first `from` replaced by `to`, into out (0; -1 if absent). */
static int replace_once(char *out, size_t n, const char *in, const char *from,
                        const char *to)
{
    const char *at = strstr(in, from);
    if (!at)
        return -1;
    snprintf(out, n, "%.*s%s%s", (int)(at - in), in, to, at + strlen(from));
    return 0;
}

static void read_text(const char *path, char *out, size_t n)
{
    FILE *fp = fopen(path, "r");
    size_t len = fp ? fread(out, 1, n - 1, fp) : 0;
    out[len] = 0;
    if (fp)
        fclose(fp);
}

/* A disk written by a newer disk format is refused at open, before any of
 * its other fields are read (here a k that this version could not parse) and
 * before anything is written; the set opens again with the disk replaced. */
static void newer_disk_format_is_refused_naming_both_versions(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 3, 0, 0, false);
    REQUIRE(e);
    st_close(e);
    char path[700], text[4096], mid[4096], newer[4096];
    snprintf(path, sizeof path, "%s/format.json", f.disks[1]);
    read_text(path, text, sizeof text);
    char cur[32];
    snprintf(cur, sizeof cur, "\"version\": %d,", DS_FORMAT_VERSION);
    REQUIRE(replace_once(mid, sizeof mid, text, cur, "\"version\": 7,") == 0);
    REQUIRE(replace_once(newer, sizeof newer, mid, "\"k\": 2,", "\"k\": \"two\",") == 0);
    write_text(path, newer);
    cf_err err;
    CHECK_EQ_INT(st_open(&f.cfg, &e, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECONFIG);
    char want[900];
    snprintf(want, sizeof want, "%s: disk format version 7 is newer than this cofferd "
             PACKAGE_VERSION " (knows up to %d)", path, DS_FORMAT_VERSION);
    CHECK_EQ_STR(err.msg, want);
    read_text(path, text, sizeof text);
    CHECK_EQ_STR(text, newer);               /* left as it was */
    unlink(path);                            /* blank: a replacement disk */
    e = fixture_open(&f);
    CHECK(e != NULL);
    st_close(e);
}

static void index_rows_pointing_at_missing_files_fail_cleanly(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 2, 1, 1, true);
    REQUIRE(e);
    cf_err err;
    REQUIRE(put_gen(e, "b", "x", 5000, 1, NULL, &err) == 0);
    char hex[33], paths[16][700];
    REQUIRE(single_data_id(&f, hex) == 0);
    shard_files_of(&f, 2, hex, paths);
    unlink(paths[0]);
    unlink(paths[1]);
    CHECK_EQ_INT(check_gen(e, "b", "x", 5000, 1, &err), -1);
    CHECK_EQ_INT(err.code, CF_EQUORUM);
    st_close(e);
}

static int collect_cb(void *ctx, const st_object_info *o, const char *cp)
{
    char *out = ctx;
    strcat(out, o ? o->key : cp);
    strcat(out, o ? "," : "/,");
    return 0;
}

static void listing_orders_rolls_up_and_pages(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 1, 0, 0, false);
    REQUIRE(e);
    const char *keys[] = {"a", "b/1", "b/2", "b/c/3", "c", "d/1", "e", "\xc3\xa9"};
    cf_err err;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        REQUIRE(put_gen(e, "b", keys[i], 10, i, NULL, &err) == 0);
    char out[1024] = "", next[ST_MAX_KEY + 1];
    bool trunc;
    st_list_args a = {.tenant = "t1", .bucket = "b", .max_keys = 1000};
    REQUIRE(st_list(e, &a, collect_cb, out, &trunc, next, &err) == 0);
    CHECK_EQ_STR(out, "a,b/1,b/2,b/c/3,c,d/1,e,\xc3\xa9,");
    CHECK(!trunc);
    out[0] = 0;
    a.delimiter = "/";
    REQUIRE(st_list(e, &a, collect_cb, out, &trunc, next, &err) == 0);
    CHECK_EQ_STR(out, "a,b//,c,d//,e,\xc3\xa9,");
    out[0] = 0;
    a.max_keys = 2;
    REQUIRE(st_list(e, &a, collect_cb, out, &trunc, next, &err) == 0);
    CHECK_EQ_STR(out, "a,b//,");
    CHECK(trunc);
    CHECK_EQ_STR(next, "b/");
    out[0] = 0;
    a.start_after = next;
    char next2[ST_MAX_KEY + 1];
    REQUIRE(st_list(e, &a, collect_cb, out, &trunc, next2, &err) == 0);
    CHECK_EQ_STR(out, "c,d//,");
    CHECK(trunc);
    out[0] = 0;
    a = (st_list_args){.tenant = "t1", .bucket = "b", .prefix = "b/", .delimiter = "/",
                       .max_keys = 1000};
    REQUIRE(st_list(e, &a, collect_cb, out, &trunc, next, &err) == 0);
    CHECK_EQ_STR(out, "b/1,b/2,b/c//,");
    out[0] = 0;
    /* start-after below the prefix, inside it, and past it */
    const char *after_cases[][2] = {{"0", "b/1,b/2,b/c/3,"}, {"a", "b/1,b/2,b/c/3,"},
                                    {"b/", "b/1,b/2,b/c/3,"},
                                    {"b/1", "b/2,b/c/3,"}, {"b/c/3", ""}, {"c", ""}};
    for (size_t i = 0; i < sizeof after_cases / sizeof after_cases[0]; i++) {
        out[0] = 0;
        a = (st_list_args){.tenant = "t1", .bucket = "b", .prefix = "b/",
                           .start_after = after_cases[i][0], .max_keys = 1000};
        REQUIRE(st_list(e, &a, collect_cb, out, &trunc, next, &err) == 0);
        CHECK_EQ_STR(out, after_cases[i][1]);
    }
    out[0] = 0;
    a = (st_list_args){.tenant = "t1", .bucket = "b", .start_after = "b/2",
                       .max_keys = 3};
    REQUIRE(st_list(e, &a, collect_cb, out, &trunc, next, &err) == 0);
    CHECK_EQ_STR(out, "b/c/3,c,d/1,");
    CHECK(trunc);
    a.bucket = "nope";
    CHECK_EQ_INT(st_list(e, &a, collect_cb, out, &trunc, next, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOBUCKET);
    st_close(e);
}

static int part_count_cb(void *ctx, const st_part_info *p)
{
    (void)p;
    (*(int *)ctx)++;
    return 0;
}

static int put_part(st_engine *e, const char *uid, uint32_t n, uint64_t size,
                    uint64_t seed, char etag[ST_ETAG_MAX])
{
    cf_err err;
    return put_part_gen(e, "b", "mp", uid, n, size, seed, etag, &err);
}

static int complete(st_engine *e, const char *key, const char *uid,
                    const st_complete_part *parts, size_t n, st_object_info *info,
                    cf_err *err)
{
    st_complete_args a = {.tenant = "t1", .bucket = "b", .key = key, .upload_id = uid,
                          .parts = parts, .nparts = n, .expected_size = -1};
    return st_upload_complete(e, &a, info, err);
}

static void multipart_complete_links_parts_without_copying(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 4, 0, 0, false);
    REQUIRE(e);
    cf_err err;
    char uid[ST_ID_HEX], etag[3][ST_ETAG_MAX];
    const uint64_t P = 5ull << 20;
    st_upload_args ua = {.tenant = "t1", .bucket = "b", .key = "mp"};
    REQUIRE(st_upload_create(e, &ua, uid, &err) == 0);
    /* out of order, and part 2 uploaded twice (the second wins) */
    REQUIRE(put_part(e, uid, 2, P, 100, etag[1]) == 0);
    REQUIRE(put_part(e, uid, 3, 1000, 300, etag[2]) == 0);
    REQUIRE(put_part(e, uid, 1, P, 200, etag[0]) == 0);
    REQUIRE(put_part(e, uid, 2, P, 201, etag[1]) == 0);
    int nparts = 0;
    bool trunc;
    REQUIRE(st_upload_list_parts(e, "t1", "b", "mp", uid, 0, 1000, part_count_cb,
                                 &nparts, &trunc, NULL, &err) == 0);
    CHECK_EQ_INT(nparts, 3);
    int files_before = count_shard_files(&f, 4);
    st_complete_part bad_order[] = {{2, etag[1], NULL}, {1, etag[0], NULL}};
    st_object_info info;
    CHECK_EQ_INT(complete(e, "mp", uid, bad_order, 2, &info, &err), -1);
    CHECK_EQ_INT(err.code, CF_EPARTORDER);
    st_complete_part bad_etag[] = {{1, "\"00\"", NULL}, {2, etag[1], NULL}};
    CHECK_EQ_INT(complete(e, "mp", uid, bad_etag, 2, &info, &err), -1);
    CHECK_EQ_INT(err.code, CF_EBADPART);
    st_complete_part small[] = {{1, etag[0], NULL}, {3, etag[2], NULL}, {4, etag[2], NULL}};
    CHECK_EQ_INT(complete(e, "mp", uid, small, 3, &info, &err), -1);
    CHECK(err.code == CF_ETOOSMALL || err.code == CF_EBADPART);
    st_complete_part good[] = {{1, etag[0], NULL}, {2, etag[1], NULL}, {3, etag[2], NULL}};
    REQUIRE(complete(e, "mp", uid, good, 3, &info, &err) == 0);
    CHECK(strstr(info.etag, "-3\"") != NULL);
    CHECK_EQ_INT(info.size, 2 * P + 1000);
    /* no data was copied: the only new files are the manifest on each disk */
    CHECK_EQ_INT(count_shard_files(&f, 4), files_before + 4);
    CHECK_EQ_INT(check_range(e, "b", "mp", 200, 0, P, &err), 1);
    CHECK_EQ_INT(check_range(e, "b", "mp", 201, P, 0, &err), 1);
    /* the parts' streams are separate seeds; check each piece */
    st_get *g;
    st_object_info gi;
    REQUIRE(st_get_open(e, "t1", "b", "mp", &gi, &g, &err) == 0);
    uint8_t *got = malloc(P), *want = malloc(P);
    size_t n;
    REQUIRE(st_get_read(g, P, got, P, &n, &err) == 0);
    gen_bytes(201, 0, want, P);
    CHECK(n == P && memcmp(got, want, P) == 0);
    REQUIRE(st_get_read(g, 2 * P - 10, got, 1010, &n, &err) == 0);
    gen_bytes(300, 0, want, 1000);
    CHECK(n == 1010 && memcmp(got + 10, want, 1000) == 0);
    free(got);
    free(want);
    st_get_close(g);
    st_object_info_clear(&gi);
    CHECK_EQ_INT(st_upload_abort(e, "t1", "b", "mp", uid, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOUPLOAD);
    st_close(e);
}

static void abort_and_overwrite_free_their_shards(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 4, 0, 0, true);
    REQUIRE(e);
    cf_err err;
    char uid[ST_ID_HEX], etag[ST_ETAG_MAX];
    st_upload_args ua = {.tenant = "t1", .bucket = "b", .key = "mp"};
    REQUIRE(st_upload_create(e, &ua, uid, &err) == 0);
    REQUIRE(put_part(e, uid, 1, 1000, 1, etag) == 0);
    CHECK_EQ_INT(count_shard_files(&f, 4), 4);
    REQUIRE(st_upload_abort(e, "t1", "b", "mp", uid, &err) == 0);
    CHECK_EQ_INT(count_shard_files(&f, 4), 0);
    REQUIRE(put_gen(e, "b", "x", 10, 1, NULL, &err) == 0);
    REQUIRE(put_gen(e, "b", "x", 20, 2, NULL, &err) == 0);
    CHECK_EQ_INT(count_shard_files(&f, 4), 4);
    CHECK_EQ_INT(check_gen(e, "b", "x", 20, 2, &err), 1);
    REQUIRE(st_delete(e, "t1", "b", "x", &err) == 0);
    CHECK_EQ_INT(count_shard_files(&f, 4), 0);
    CHECK_EQ_INT(st_delete(e, "t1", "b", "x", &err), 0);
    CHECK_EQ_INT(st_bucket_delete(e, "t1", "b", &err), 0);
    CHECK_EQ_INT(st_delete(e, "t1", "b", "x", &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOBUCKET);
    st_close(e);
}

static void open_reader_survives_overwrite_and_delete(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 4, 0, 0, true);
    REQUIRE(e);
    cf_err err;
    REQUIRE(put_gen(e, "b", "x", 3 * B, 5, NULL, &err) == 0);
    st_object_info info;
    st_get *g;
    REQUIRE(st_get_open(e, "t1", "b", "x", &info, &g, &err) == 0);
    st_object_info_clear(&info);
    REQUIRE(put_gen(e, "b", "x", 100, 6, NULL, &err) == 0);
    REQUIRE(st_delete(e, "t1", "b", "x", &err) == 0);
    uint8_t *got = malloc(3 * B), *want = malloc(3 * B);
    size_t n;
    CHECK_EQ_INT(st_get_read(g, 0, got, 3 * B, &n, &err), 0);
    gen_bytes(5, 0, want, 3 * B);
    CHECK(n == 3 * B && memcmp(got, want, n) == 0);
    free(got);
    free(want);
    st_get_close(g);
    st_gc_stats stats = {0};
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 0}, &stats, &err) == 0);
    CHECK_EQ_INT(count_shard_files(&f, 4), 0);
    st_close(e);
}

static void gc_removes_orphans_and_keeps_live_shards(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 4, 0, 0, true);
    REQUIRE(e);
    cf_err err;
    REQUIRE(put_gen(e, "b", "x", 100, 1, NULL, &err) == 0);
    char orphan[700], tmpf[700];
    snprintf(orphan, sizeof orphan, "%s/objects/ab/abababababababababababababababab", f.disks[2]);
    snprintf(tmpf, sizeof tmpf, "%s/tmp/cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", f.disks[1]);
    write_text(orphan, "x");
    write_text(tmpf, "y");
    CHECK_EQ_INT(count_shard_files(&f, 4), 6);
    st_gc_stats stats = {0};
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 3600}, &stats, &err) == 0);
    CHECK_EQ_INT(count_shard_files(&f, 4), 6);       /* inside the grace period */
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 0}, &stats, &err) == 0);
    CHECK_EQ_INT(stats.orphan_files, 2);
    CHECK_EQ_INT(count_shard_files(&f, 4), 4);
    CHECK_EQ_INT(check_gen(e, "b", "x", 100, 1, &err), 1);
    st_close(e);
}

static void inline_small_objects_use_no_shard_files(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 6, 0, 0, false);
    REQUIRE(e);
    cf_err err;
    REQUIRE(put_gen(e, "b", "small", 4096, 1, NULL, &err) == 0);
    REQUIRE(put_gen(e, "b", "empty", 0, 1, NULL, &err) == 0);
    CHECK_EQ_INT(count_shard_files(&f, 6), 0);
    CHECK_EQ_INT(check_gen(e, "b", "small", 4096, 1, &err), 1);
    CHECK_EQ_INT(check_gen(e, "b", "empty", 0, 1, &err), 1);
    REQUIRE(put_gen(e, "b", "big", 200000, 1, NULL, &err) == 0);
    CHECK_EQ_INT(count_shard_files(&f, 6), 6);
    st_close(e);
    /* and they survive a reopen */
    e = fixture_open(&f);
    REQUIRE(e);
    CHECK_EQ_INT(check_gen(e, "b", "small", 4096, 1, &err), 1);
    st_close(e);
}

static int count_cb(void *ctx, const void *unused)
{
    (void)unused;
    (*(int *)ctx)++;
    return 0;
}

static int tenant_cb(void *ctx, const st_tenant_info *t)
{
    return count_cb(ctx, t);
}

static int key_cb(void *ctx, const st_key_info *k)
{
    return count_cb(ctx, k);
}

static void tenants_keys_and_bucket_isolation(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 1, 0, 0, false);
    REQUIRE(e);
    cf_err err;
    REQUIRE(st_tenant_create(e, "t2", &err) == 0);
    CHECK_EQ_INT(st_tenant_create(e, "t2", &err), -1);
    CHECK_EQ_INT(err.code, CF_EEXISTS);
    CHECK_EQ_INT(st_tenant_create(e, "Bad Name", &err), -1);
    char ak[ST_ACCESS_KEY_MAX], sk[ST_SECRET_KEY_MAX], sk2[ST_SECRET_KEY_MAX];
    st_key_policy ro = {.perms = ST_PERM_READ};
    REQUIRE(st_key_create(e, "t2", &ro, NULL, NULL, ak, sk, &err) == 0);
    CHECK_EQ_INT(strlen(ak), 20);
    CHECK_EQ_INT(strlen(sk), 40);
    st_key_info ki;
    REQUIRE(st_key_lookup(e, ak, &ki, sk2, &err) == 0);
    CHECK_EQ_STR(sk2, sk);
    CHECK_EQ_STR(ki.tenant, "t2");
    CHECK_EQ_INT(ki.policy.perms, ST_PERM_READ);
    CHECK_EQ_INT(ki.policy.nbuckets, 0);
    st_key_info_clear(&ki);
    int n = 0;
    REQUIRE(st_tenant_list(e, tenant_cb, &n, &err) == 0);
    CHECK_EQ_INT(n, 2);
    n = 0;
    REQUIRE(st_key_list(e, "t2", key_cb, &n, &err) == 0);
    CHECK_EQ_INT(n, 1);
    /* both tenants own a bucket named b */
    REQUIRE(st_bucket_create(e, "t2", "b", NULL, false, &err) == 0);
    CHECK_EQ_INT(st_bucket_create(e, "t2", "b", NULL, false, &err), -1);
    CHECK_EQ_INT(err.code, CF_EBUCKETEXISTS);
    REQUIRE(put_gen(e, "b", "only-t1", 10, 1, NULL, &err) == 0);
    st_object_info info;
    CHECK_EQ_INT(st_head(e, "t2", "b", "only-t1", &info, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOKEY);
    CHECK_EQ_INT(st_tenant_delete(e, "t2", &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOTEMPTY);
    REQUIRE(st_bucket_delete(e, "t2", "b", &err) == 0);
    REQUIRE(st_tenant_delete(e, "t2", &err) == 0);
    CHECK_EQ_INT(st_key_lookup(e, ak, &ki, sk2, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOTFOUND);
    st_close(e);
}

static void copy_keeps_or_replaces_headers(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 2, 0, 0, false);
    REQUIRE(e);
    cf_err err;
    st_header h[] = {{"content-type", "text/plain"}, {"x-amz-meta-a", "1"}};
    st_put_args a = {.tenant = "t1", .bucket = "b", .key = "src", .headers = h,
                     .nheaders = 2, .expected_size = -1};
    st_put *p;
    st_object_info info;
    uint8_t *buf = malloc(2 * B + 3);
    gen_bytes(4, 0, buf, 2 * B + 3);
    REQUIRE(st_put_begin(e, &a, &p, &err) == 0);
    REQUIRE(st_put_write(p, buf, 2 * B + 3, &err) == 0);
    REQUIRE(st_put_finish(p, NULL, &info, &err) == 0);
    free(buf);
    char etag[ST_ETAG_MAX];
    snprintf(etag, sizeof etag, "%s", info.etag);
    st_copy_args ca = {.src_bucket = "b", .src_key = "src",
                       .dst = {.tenant = "t1", .bucket = "b", .key = "dst"}};
    REQUIRE(st_copy(e, &ca, &info, &err) == 0);
    CHECK_EQ_STR(info.etag, etag);
    REQUIRE(st_head(e, "t1", "b", "dst", &info, &err) == 0);
    CHECK_EQ_STR(st_object_header(&info, "x-amz-meta-a"), "1");
    st_object_info_clear(&info);
    CHECK_EQ_INT(check_gen(e, "b", "dst", 2 * B + 3, 4, &err), 1);
    st_header h2[] = {{"x-amz-meta-b", "2"}};
    ca.dst.key = "src";
    ca.dst.headers = h2;
    ca.dst.nheaders = 1;
    REQUIRE(st_copy(e, &ca, &info, &err) == 0);
    REQUIRE(st_head(e, "t1", "b", "src", &info, &err) == 0);
    CHECK(st_object_header(&info, "x-amz-meta-a") == NULL);
    CHECK_EQ_STR(st_object_header(&info, "x-amz-meta-b"), "2");
    st_object_info_clear(&info);
    CHECK_EQ_INT(check_gen(e, "b", "src", 2 * B + 3, 4, &err), 1);
    char big[3000];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = 0;
    st_header h3[] = {{"x-amz-meta-big", big}};
    a.headers = h3;
    a.nheaders = 1;
    CHECK_EQ_INT(st_put_begin(e, &a, &p, &err), -1);
    CHECK_EQ_INT(err.code, CF_ETOOLARGE);
    st_close(e);
}

/* A sealed stream kept in memory: written by export, read by import. */
typedef struct mem_stream {
    uint8_t *data;
    size_t len, pos;
} mem_stream;

static int mem_source(void *ctx, uint8_t *buf, size_t len, cf_err *err)
{
    mem_stream *m = ctx;
    if (m->len - m->pos < len)
        return cf_fail(err, CF_EIO, "stream ended early");
    memcpy(buf, m->data + m->pos, len);
    m->pos += len;
    return 0;
}

static int export_sealed(st_engine *e, const char *key, mem_stream *m, char vid[ST_ID_HEX])
{
    st_object_info info;
    st_get *g;
    cf_err err;
    if (st_get_open(e, "t1", "b", key, &info, &g, &err) < 0)
        return -1;
    snprintf(vid, ST_ID_HEX, "%s", info.version_id);
    st_object_info_clear(&info);
    m->len = st_get_sealed_length(g);
    m->data = malloc(m->len ? m->len : 1);
    m->pos = 0;
    const uint8_t *piece;
    size_t n, at = 0;
    int rc = 0;
    while ((rc = st_get_sealed_next(g, &piece, &n, &err)) == 0 && n > 0) {
        if (at + n > m->len) {
            rc = -1;
            break;
        }
        memcpy(m->data + at, piece, n);
        at += n;
    }
    st_get_close(g);
    return rc == 0 && at == m->len ? 0 : -1;
}

static void sealed_stream_round_trips_and_tampering_is_refused(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 6, 4, 2, false);
    REQUIRE(e);
    cf_err err;
    uint64_t size = 2ull * B + 100;
    REQUIRE(put_gen(e, "b", "big", size, 8, NULL, &err) == 0);
    REQUIRE(put_gen(e, "b", "tiny", 300, 9, NULL, &err) == 0);
    mem_stream m = {0}, t = {0};
    char vid[ST_ID_HEX], tvid[ST_ID_HEX];
    REQUIRE(export_sealed(e, "big", &m, vid) == 0);
    REQUIRE(export_sealed(e, "tiny", &t, tvid) == 0);
    CHECK_EQ_INT(m.len, size + 3 * 16);
    CHECK_EQ_INT(t.len, 300 + 16);
    /* the stream is ciphertext: no run of the plaintext appears in it */
    uint8_t plain[64];
    gen_bytes(8, B, plain, sizeof plain);
    CHECK(memmem(m.data, m.len, plain, sizeof plain) == NULL);
    /* the local shards go (as after a transition), the stream brings them back */
    char hex[33], paths[16][700];
    REQUIRE(single_data_id(&f, hex) == 0);
    shard_files_of(&f, 6, hex, paths);
    for (int i = 0; i < 6; i++)
        unlink(paths[i]);
    CHECK_EQ_INT(check_gen(e, "b", "big", size, 8, &err), -1);
    m.data[B + 5] ^= 1;                       /* a corrupt remote copy */
    CHECK_EQ_INT(st_sealed_import(e, "t1", "b", "big", vid, mem_source, &m, &err), -1);
    CHECK_EQ_INT(err.code, CF_ECORRUPT);
    CHECK_EQ_INT(count_shard_files(&f, 6), 0);
    m.data[B + 5] ^= 1;
    m.pos = 0;
    REQUIRE(st_sealed_import(e, "t1", "b", "big", vid, mem_source, &m, &err) == 0);
    CHECK_EQ_INT(check_gen(e, "b", "big", size, 8, &err), 1);
    REQUIRE(st_sealed_import(e, "t1", "b", "tiny", tvid, mem_source, &t, &err) == 0);
    CHECK_EQ_INT(check_gen(e, "b", "tiny", 300, 9, &err), 1);
    m.pos = 0;
    CHECK_EQ_INT(st_sealed_import(e, "t1", "b", "big", tvid, mem_source, &m, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOKEY);
    free(m.data);
    free(t.data);
    st_close(e);
}

/* ---- group commit ------------------------------------------------------- */

#define GC_THREADS 16
#define GC_PUTS 60

typedef struct put_thread {
    st_engine *e;
    int id;
    int acked;                       /* puts 0 .. acked-1 succeeded */
    cf_err err;
} put_thread;

static void *put_many(void *arg)
{
    put_thread *t = arg;
    for (int i = 0; i < GC_PUTS; i++) {
        char key[32];
        snprintf(key, sizeof key, "gc-%02d-%03d", t->id, i);
        if (put_gen(t->e, "b", key, 4096, (uint64_t)(t->id * 1000 + i), NULL,
                    &t->err) < 0)
            break;
        t->acked = i + 1;
    }
    return NULL;
}

/* Concurrent inline PUTs each wait for a WAL fdatasync, and every
 * acknowledged one is there after a reopen. (That they share fdatasyncs
 * depends on how long one takes here; writers_queued_behind_a_sync_share_it
 * below shows the sharing itself.) */
static void concurrent_small_puts_survive_reopen(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 1, 1, 0, false);
    REQUIRE(e);
    st_index_stats before, after;
    st_index_stats_get(e, &before);
    put_thread t[GC_THREADS];
    pthread_t th[GC_THREADS];
    for (int i = 0; i < GC_THREADS; i++) {
        t[i] = (put_thread){.e = e, .id = i};
        REQUIRE(pthread_create(&th[i], NULL, put_many, &t[i]) == 0);
    }
    int acked = 0;
    for (int i = 0; i < GC_THREADS; i++) {
        pthread_join(th[i], NULL);
        if (t[i].acked != GC_PUTS)
            fprintf(stderr, "thread %d: %s\n", i, t[i].err.msg);
        CHECK_EQ_INT(t[i].acked, GC_PUTS);
        acked += t[i].acked;
    }
    st_index_stats_get(e, &after);
    uint64_t commits = after.commits - before.commits;
    uint64_t syncs = after.wal_syncs - before.wal_syncs;
    fprintf(stderr, "  %d puts: %llu commits, %llu WAL fdatasyncs\n", acked,
            (unsigned long long)commits, (unsigned long long)syncs);
    CHECK(commits >= (uint64_t)acked);
    CHECK(syncs > 0);
    st_close(e);
    e = fixture_open(&f);
    REQUIRE(e);
    cf_err err;
    for (int i = 0; i < GC_THREADS; i++)
        for (int j = 0; j < t[i].acked; j++) {
            char key[32];
            snprintf(key, sizeof key, "gc-%02d-%03d", i, j);
            CHECK_EQ_INT(check_gen(e, "b", key, 4096, (uint64_t)(i * 1000 + j), &err), 1);
        }
    st_close(e);
}

/* Group commit, made deterministic: the sync hook (run by the syncer
 * between its fdatasync and waking the waiters) sleeps, so every writer
 * that commits meanwhile queues behind that round and must be covered by
 * the next one, never by one fdatasync each. */
#define GQ_THREADS 8
#define GQ_SECTIONS 20

typedef struct gq_thread {
    idx *x;
    int id;
    int done;
    cf_err err;
} gq_thread;

static void slow_sync_hook(void *ctx)
{
    (void)ctx;
    usleep(20 * 1000);
}

static void *gq_commit_many(void *arg)
{
    gq_thread *t = arg;
    for (int i = 0; i < GQ_SECTIONS; i++) {
        char k[32];
        snprintf(k, sizeof k, "gq-%d-%d", t->id, i);
        idx_lock(t->x);
        int rc = idx_run(t->x, NULL, &t->err, "INSERT INTO meta VALUES (?1, 1)", "t", k);
        if (idx_unlock_durable(t->x, rc == 0 ? &t->err : &(cf_err){0}) < 0 || rc < 0)
            break;
        t->done = i + 1;
    }
    return NULL;
}

static void writers_queued_behind_a_sync_share_it(void)
{
    idx *x;
    cf_err err;
    REQUIRE(idx_open(test_tmpdir(), &x, &err) == 0);
    idx_set_sync_hook(x, slow_sync_hook, NULL);
    idx_stats before, after;
    idx_get_stats(x, &before);
    gq_thread t[GQ_THREADS];
    pthread_t th[GQ_THREADS];
    for (int i = 0; i < GQ_THREADS; i++) {
        t[i] = (gq_thread){.x = x, .id = i};
        REQUIRE(pthread_create(&th[i], NULL, gq_commit_many, &t[i]) == 0);
    }
    for (int i = 0; i < GQ_THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(t[i].done, GQ_SECTIONS);
    }
    idx_get_stats(x, &after);
    uint64_t commits = after.commits - before.commits;
    uint64_t syncs = after.wal_syncs - before.wal_syncs;
    fprintf(stderr, "  %d sections: %llu commits, %llu WAL fdatasyncs\n",
            GQ_THREADS * GQ_SECTIONS, (unsigned long long)commits,
            (unsigned long long)syncs);
    CHECK(commits >= GQ_THREADS * GQ_SECTIONS);
    CHECK(syncs > 0);
    CHECK(syncs * 2 < commits);      /* one per commit would be no grouping */
    idx_close(x);
}

#ifndef NDEBUG
/* A write section that ends with plain idx_unlock is a bug that would
 * lose durability silently: it must abort (in a child process). */
static void forgotten_durable_unlock_aborts(void)
{
    const char *dir = test_tmpdir();
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        idx *x;
        cf_err err;
        if (freopen("/dev/null", "w", stderr) == NULL || idx_open(dir, &x, &err) < 0)
            _exit(2);
        idx_lock(x);
        idx_run(x, NULL, &err, "INSERT INTO meta VALUES ('probe', 1)", "");
        idx_unlock(x);
        _exit(0);
    }
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    /* and a read-only section may use the plain unlock */
    idx *x;
    cf_err err;
    REQUIRE(idx_open(dir, &x, &err) == 0);
    idx_lock(x);
    sqlite3_stmt *st = idx_query(x, &err, "SELECT count(*) FROM meta", "");
    CHECK(st && idx_next(x, st, &err) == 1);
    if (st)
        idx_done(st);
    idx_unlock(x);
    idx_close(x);
}
#endif

/* ---- tenant KEK cache --------------------------------------------------- */

static int put_text(st_engine *e, const char *tenant, const char *text, cf_err *err)
{
    st_put *p;
    st_put_args a = {.tenant = tenant, .bucket = "b", .key = "k",
                     .expected_size = (int64_t)strlen(text)};
    if (st_put_begin(e, &a, &p, err) < 0)
        return -1;
    if (st_put_write(p, text, strlen(text), err) < 0) {
        st_put_abort(p);
        return -1;
    }
    return st_put_finish(p, NULL, NULL, err);
}

/* 1 if tenant's object k holds exactly text. */
static int holds_text(st_engine *e, const char *tenant, const char *text, cf_err *err)
{
    st_object_info info;
    st_get *g;
    char buf[64] = "";
    size_t n = 0;
    if (st_get_open(e, tenant, "b", "k", &info, &g, err) < 0)
        return -1;
    int rc = st_get_read(g, 0, buf, sizeof buf - 1, &n, err);
    st_get_close(g);
    st_object_info_clear(&info);
    return rc < 0 ? -1 : n == strlen(text) && memcmp(buf, text, n) == 0;
}

/* More tenants than the KEK cache holds, each object sealed under its own
 * tenant's KEK: all still open after the cache has cycled, and a deleted
 * and re-created tenant works again. */
static void tenant_keks_survive_cache_eviction(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 2, 1, 1, false);
    REQUIRE(e);
    cf_err err;
    const int n = 80;
    char t[16];
    for (int i = 0; i < n; i++) {
        snprintf(t, sizeof t, "ten-%d", i);
        REQUIRE(st_tenant_create(e, t, &err) == 0);
        REQUIRE(st_bucket_create(e, t, "b", NULL, false, &err) == 0);
        REQUIRE(put_text(e, t, t, &err) == 0);
    }
    for (int i = 0; i < n; i++) {
        snprintf(t, sizeof t, "ten-%d", i);
        CHECK_EQ_INT(holds_text(e, t, t, &err), 1);
    }
    REQUIRE(st_delete(e, "ten-79", "b", "k", &err) == 0);
    REQUIRE(st_bucket_delete(e, "ten-79", "b", &err) == 0);
    REQUIRE(st_tenant_delete(e, "ten-79", &err) == 0);
    CHECK_EQ_INT(holds_text(e, "ten-79", "x", &err), -1);
    REQUIRE(st_tenant_create(e, "ten-79", &err) == 0);
    REQUIRE(st_bucket_create(e, "ten-79", "b", NULL, false, &err) == 0);
    REQUIRE(put_text(e, "ten-79", "again", &err) == 0);
    CHECK_EQ_INT(holds_text(e, "ten-79", "again", &err), 1);
    st_close(e);
    /* and every object opens with a freshly derived KEK after a reopen */
    e = fixture_open(&f);
    REQUIRE(e);
    CHECK_EQ_INT(holds_text(e, "ten-3", "ten-3", &err), 1);
    CHECK_EQ_INT(holds_text(e, "ten-79", "again", &err), 1);
    st_close(e);
}

/* ---- usage ------------------------------------------------------------- */

typedef struct usage_row {
    bool found;
    st_usage u;
} usage_row;

static int usage_cb(void *ctx, const st_usage *u)
{
    usage_row *r = ctx;
    if (strcmp(u->tenant, "t1") == 0) {
        r->found = true;
        r->u = *u;
    }
    return 0;
}

/* st_usage of t1 equals a count of everything listed in its buckets. */
static void check_usage_exact(st_engine *e, const char *const *buckets, int nb)
{
    uint64_t want[2] = {0, 0};
    cf_err err;
    for (int b = 0; b < nb; b++) {
        uint64_t n, bytes;
        CHECK_EQ_INT(list_totals(e, buckets[b], &n, &bytes, &err), 0);
        want[0] += n;
        want[1] += bytes;
    }
    usage_row r = {0};
    CHECK_EQ_INT(st_usage_list(e, "t1", usage_cb, &r, &err), 0);
    CHECK(r.found);
    CHECK_EQ_INT(r.u.objects, want[0]);
    CHECK_EQ_INT(r.u.bytes, want[1]);
    CHECK_EQ_INT(r.u.buckets, nb);
}

static void usage_follows_every_write_path(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 4, 0, 0, false);
    REQUIRE(e);
    cf_err err;
    st_object_info info;
    const char *one[] = {"b"}, *two[] = {"b", "c"};
    check_usage_exact(e, one, 1);
    REQUIRE(put_gen(e, "b", "small", 100, 1, &info, &err) == 0);       /* inline */
    REQUIRE(put_gen(e, "b", "big", 3 * B + 5, 2, &info, &err) == 0);   /* sharded */
    check_usage_exact(e, one, 1);
    REQUIRE(put_gen(e, "b", "big", 10, 3, &info, &err) == 0);          /* replace */
    check_usage_exact(e, one, 1);
    REQUIRE(st_bucket_create(e, "t1", "c", NULL, false, &err) == 0);
    st_copy_args ca = {.src_bucket = "b", .src_key = "small",
                       .dst = {.tenant = "t1", .bucket = "c", .key = "copied"}};
    REQUIRE(st_copy(e, &ca, &info, &err) == 0);
    check_usage_exact(e, two, 2);
    char uid[ST_ID_HEX], etag[ST_ETAG_MAX];
    st_upload_args ua = {.tenant = "t1", .bucket = "b", .key = "mp"};
    REQUIRE(st_upload_create(e, &ua, uid, &err) == 0);
    REQUIRE(put_part(e, uid, 1, 5000, 9, etag) == 0);
    check_usage_exact(e, two, 2);            /* an unfinished upload is not usage */
    st_complete_part parts[] = {{1, etag, NULL}};
    REQUIRE(complete(e, "mp", uid, parts, 1, &info, &err) == 0);
    check_usage_exact(e, two, 2);
    REQUIRE(st_delete(e, "t1", "b", "small", &err) == 0);
    REQUIRE(st_delete(e, "t1", "b", "never-there", &err) == 0);
    REQUIRE(st_delete(e, "t1", "c", "copied", &err) == 0);
    check_usage_exact(e, two, 2);
    REQUIRE(st_bucket_delete(e, "t1", "c", &err) == 0);
    check_usage_exact(e, one, 1);
    usage_row r = {0};
    REQUIRE(st_usage_list(e, NULL, usage_cb, &r, &err) == 0);
    CHECK_EQ_INT(r.u.objects, 2);            /* big (10 bytes) and mp (5000) */
    CHECK_EQ_INT(r.u.bytes, 5010);
    /* versioned: noncurrent versions count, markers do not */
    REQUIRE(st_bucket_set_versioning(e, "t1", "b", ST_VERSIONING_ENABLED, &err) == 0);
    REQUIRE(put_gen(e, "b", "big", 20, 4, &info, &err) == 0);          /* big: 2 versions */
    char v20[ST_ID_HEX];
    snprintf(v20, sizeof v20, "%s", info.version_id);
    check_usage_exact(e, one, 1);
    st_delete_result dr;
    REQUIRE(st_delete_version(e, "t1", "b", "big", NULL, NULL, false, &dr, &err) == 0);
    CHECK(dr.delete_marker);
    check_usage_exact(e, one, 1);
    REQUIRE(st_delete_version(e, "t1", "b", "big", v20, NULL, false, &dr, &err) == 0);
    check_usage_exact(e, one, 1);
    REQUIRE(st_bucket_set_versioning(e, "t1", "b", ST_VERSIONING_SUSPENDED, &err) == 0);
    REQUIRE(put_gen(e, "b", "mp", 30, 5, &info, &err) == 0);           /* replaces null mp */
    REQUIRE(put_gen(e, "b", "new", 40, 6, &info, &err) == 0);
    check_usage_exact(e, one, 1);
    memset(&r, 0, sizeof r);
    REQUIRE(st_usage_list(e, NULL, usage_cb, &r, &err) == 0);
    CHECK_EQ_INT(r.u.objects, 3);            /* big's null (10), mp (30), new (40) */
    CHECK_EQ_INT(r.u.bytes, 80);
    /* a bucket holding a noncurrent version or a marker is not empty */
    REQUIRE(st_delete_version(e, "t1", "b", "new", NULL, NULL, false, &dr, &err) == 0);
    CHECK_EQ_INT(st_bucket_delete(e, "t1", "b", &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOTEMPTY);
    st_close(e);
}

/* An index from before bucket_usage (schema version 2) counts what it
 * stores when it is migrated, and keeps counting after. The old index is a
 * new one with the later steps undone (their tables and columns dropped). */
static void usage_is_counted_when_an_index_migrates(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 2, 0, 0, false);
    REQUIRE(e);
    cf_err err;
    st_object_info info;
    REQUIRE(put_gen(e, "b", "x", 1234, 1, &info, &err) == 0);
    REQUIRE(put_gen(e, "b", "y", 2 * B, 2, &info, &err) == 0);
    st_close(e);
    char db[700];
    snprintf(db, sizeof db, "%s/index.db", f.meta);
    sqlite3 *h;
    REQUIRE(sqlite3_open(db, &h) == SQLITE_OK);
    static const char undo[] =
        /* step 9 -> 10: shards named bad behind their CRCs */
        "ALTER TABLE heal_queue DROP COLUMN bad;"
        /* step 8 -> 9: pack files */
        "DROP TABLE pack_shards;"
        /* step 7 -> 8: conformance (conf) */
        "ALTER TABLE objects DROP COLUMN upload_id; ALTER TABLE objects DROP COLUMN ssec;"
        "ALTER TABLE versions DROP COLUMN upload_id; ALTER TABLE versions DROP COLUMN ssec;"
        "ALTER TABLE segments DROP COLUMN etag; ALTER TABLE segments DROP COLUMN cks;"
        "ALTER TABLE uploads DROP COLUMN cks_full; ALTER TABLE uploads DROP COLUMN ssec;"
        "ALTER TABLE buckets DROP COLUMN sse_algo; ALTER TABLE buckets DROP COLUMN "
        "sse_bucket_key;"
        /* step 6 -> 7: versions */
        "DROP TRIGGER bucket_usage_version_put; DROP TRIGGER bucket_usage_version_drop;"
        "DROP TABLE versions;"
        "ALTER TABLE buckets DROP COLUMN versioning; ALTER TABLE buckets DROP COLUMN "
        "object_lock; ALTER TABLE buckets DROP COLUMN lock_mode; ALTER TABLE buckets "
        "DROP COLUMN lock_days; ALTER TABLE buckets DROP COLUMN lock_years;"
        "ALTER TABLE objects DROP COLUMN seq; ALTER TABLE objects DROP COLUMN "
        "null_version; ALTER TABLE objects DROP COLUMN lock_mode; ALTER TABLE objects "
        "DROP COLUMN retain_until_ms; ALTER TABLE objects DROP COLUMN legal_hold;"
        "ALTER TABLE uploads DROP COLUMN lock_mode; ALTER TABLE uploads DROP COLUMN "
        "retain_until_ms; ALTER TABLE uploads DROP COLUMN legal_hold;"
        /* step 5 -> 6: key permissions */
        "ALTER TABLE access_keys DROP COLUMN perms; ALTER TABLE access_keys DROP COLUMN "
        "buckets; ALTER TABLE access_keys DROP COLUMN delete_prefixes;"
        /* step 4 -> 5: quotas */
        "DROP TRIGGER quotas_tenant_gone; DROP TRIGGER quotas_bucket_gone; DROP TABLE quotas;"
        /* step 3 -> 4: tiers, lifecycle, tags */
        "DROP TABLE tiers; DROP TABLE version_tier; DROP TABLE remote_deletes;"
        "DROP TABLE object_tags; DROP TABLE bucket_lifecycle;"
        /* step 2 -> 3: bucket_usage */
        "DROP TRIGGER bucket_usage_new; DROP TRIGGER bucket_usage_gone; DROP TRIGGER "
        "bucket_usage_put; DROP TRIGGER bucket_usage_drop; DROP TRIGGER "
        "bucket_usage_change; DROP TABLE bucket_usage; PRAGMA user_version=2;";
    CHECK_EQ_INT(sqlite3_exec(h, undo, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    REQUIRE((e = fixture_open(&f)) != NULL);
    const char *one[] = {"b"};
    check_usage_exact(e, one, 1);
    REQUIRE(put_gen(e, "b", "z", 7, 3, &info, &err) == 0);
    check_usage_exact(e, one, 1);
    st_close(e);
}

/* Quotas. Two PUTs that each fit when they begin, but not together: the
 * commit that comes second is refused (the decision is made in the
 * transaction that commits), and leaves nothing behind. */
typedef struct quota_rows {
    int n;
    st_quota q[4];
} quota_rows;

static int quota_cb(void *ctx, const st_quota *q)
{
    quota_rows *r = ctx;
    if (r->n < 4)
        r->q[r->n] = *q;
    r->n++;
    return 0;
}

static st_put *quota_begin(st_engine *e, const char *key, int64_t size, cf_err *err)
{
    st_put_args a = {.tenant = "t1", .bucket = "b", .key = key, .expected_size = size};
    st_put *p = NULL;
    return st_put_begin(e, &a, &p, err) == 0 ? p : NULL;
}

static void quotas_are_decided_in_the_commit(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 4, 0, 0, true);
    REQUIRE(e);
    cf_err err;
    st_object_info info;
    const char *one[] = {"b"};
    REQUIRE(st_quota_set(e, "t1", NULL, 100, ST_QUOTA_NONE, &err) == 0);
    REQUIRE(put_gen(e, "b", "a", 60, 1, &info, &err) == 0);
    /* a declared size over the quota is refused before any data */
    CHECK(quota_begin(e, "x", 41, &err) == NULL);
    CHECK_EQ_INT(err.code, CF_EQUOTA);
    CHECK(strstr(err.msg, "quota of 100 bytes") != NULL);
    /* two racing PUTs of 30: both may begin, only one commits */
    uint8_t buf[30] = {0};
    st_put *p1 = quota_begin(e, "r1", 30, &err), *p2 = quota_begin(e, "r2", 30, &err);
    REQUIRE(p1 && p2);
    REQUIRE(st_put_write(p1, buf, 30, &err) == 0);
    REQUIRE(st_put_write(p2, buf, 30, &err) == 0);
    int files = count_shard_files(&f, 4);
    CHECK_EQ_INT(st_put_finish(p1, NULL, &info, &err), 0);
    CHECK_EQ_INT(st_put_finish(p2, NULL, &info, &err), -1);
    CHECK_EQ_INT(err.code, CF_EQUOTA);
    CHECK_EQ_INT(st_head(e, "t1", "b", "r2", &info, &err), -1);
    CHECK_EQ_INT(count_shard_files(&f, 4), files + 4);   /* r1's; r2 left none */
    check_usage_exact(e, one, 1);
    /* an unknown size is judged at the commit */
    st_put *p3 = quota_begin(e, "u", -1, &err);
    REQUIRE(p3);
    REQUIRE(st_put_write(p3, buf, 11, &err) == 0);
    CHECK_EQ_INT(st_put_finish(p3, NULL, &info, &err), -1);
    CHECK_EQ_INT(err.code, CF_EQUOTA);
    /* a copy is a PUT; a replacement counts only what it adds */
    CHECK_EQ_INT(st_copy(e, &(st_copy_args){.src_bucket = "b", .src_key = "r1",
                         .dst = {.tenant = "t1", .bucket = "b", .key = "c",
                         .attrs = {.keep_tags = true}}}, &info, &err), -1);
    CHECK_EQ_INT(err.code, CF_EQUOTA);
    REQUIRE(put_gen(e, "b", "a", 70, 2, &info, &err) == 0);   /* 60 -> 70: 100 */
    /* the usage listing carries the tenant's quota */
    usage_row r = {0};
    REQUIRE(st_usage_list(e, "t1", usage_cb, &r, &err) == 0);
    CHECK_EQ_INT(r.u.max_bytes, 100);
    CHECK_EQ_INT(r.u.max_objects, ST_QUOTA_NONE);
    CHECK_EQ_INT(r.u.bytes, 100);
    st_close(e);
}

static void quota_parts_completion_and_lifetime(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 4, 0, 0, false);
    REQUIRE(e);
    cf_err err;
    st_object_info info;
    const uint64_t P = 5ull << 20;
    REQUIRE(st_quota_set(e, "t1", "b", 2 * P, ST_QUOTA_KEEP, &err) == 0);
    REQUIRE(st_quota_set(e, "t1", "b", ST_QUOTA_KEEP, 3, &err) == 0);  /* both kept */
    char uid[ST_ID_HEX], uid2[ST_ID_HEX], etag[2][ST_ETAG_MAX];
    REQUIRE(st_upload_create(e, &(st_upload_args){.tenant = "t1", .bucket = "b", .key = "mp"},
                             uid, &err) == 0);
    REQUIRE(put_part(e, uid, 1, P, 1, etag[0]) == 0);
    REQUIRE(put_part(e, uid, 2, P, 2, etag[1]) == 0);
    REQUIRE(put_part(e, uid, 2, P, 3, etag[1]) == 0);     /* a re-upload replaces */
    CHECK(put_part(e, uid, 3, 1, 4, etag[1]) < 0);        /* 10 MiB + 1 byte */
    REQUIRE(st_upload_create(e, &(st_upload_args){.tenant = "t1", .bucket = "b", .key = "mp"},
                             uid2, &err) == 0);
    char e2[ST_ETAG_MAX];
    REQUIRE(put_part(e, uid2, 1, 10, 5, e2) == 0);        /* parts are not usage */
    st_complete_part parts[] = {{1, etag[0], NULL}, {2, etag[1], NULL}};
    REQUIRE(st_upload_complete(e, &(st_complete_args){.tenant = "t1", .bucket = "b",
                               .key = "mp", .upload_id = uid, .parts = parts, .nparts = 2,
                               .expected_size = -1}, &info, &err) == 0);
    st_complete_part p2[] = {{1, e2, NULL}};
    /* "mp" holds 10 MiB: replacing it by 10 bytes shrinks, and is allowed */
    REQUIRE(st_upload_complete(e, &(st_complete_args){.tenant = "t1", .bucket = "b",
                               .key = "mp", .upload_id = uid2, .parts = p2, .nparts = 1,
                               .expected_size = -1}, &info, &err) == 0);
    REQUIRE(st_upload_create(e, &(st_upload_args){.tenant = "t1", .bucket = "b", .key = "mp2"},
                             uid, &err) == 0);
    st_put_args a = {.tenant = "t1", .bucket = "b", .key = "mp2", .upload_id = uid,
                     .part_number = 1, .expected_size = (int64_t)(2 * P)};
    st_put *p;
    CHECK_EQ_INT(st_put_begin(e, &a, &p, &err), -1);
    CHECK_EQ_INT(err.code, CF_EQUOTA);
    quota_rows q = {0};
    REQUIRE(st_quota_list(e, NULL, quota_cb, &q, &err) == 0);
    REQUIRE(q.n == 1);
    CHECK_EQ_STR(q.q[0].bucket, "b");
    CHECK_EQ_INT(q.q[0].max_bytes, 2 * P);
    CHECK_EQ_INT(q.q[0].max_objects, 3);
    CHECK_EQ_INT(q.q[0].bytes, 10);
    CHECK_EQ_INT(q.q[0].objects, 1);
    /* bad input and missing scopes */
    CHECK_EQ_INT(st_quota_set(e, "t1", NULL, -7, ST_QUOTA_NONE, &err), -1);
    CHECK_EQ_INT(err.code, CF_EINVAL);
    CHECK_EQ_INT(st_quota_set(e, "t1", "nope", 1, 1, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOBUCKET);
    CHECK_EQ_INT(st_quota_set(e, "nobody", NULL, 1, 1, &err), -1);
    CHECK_EQ_INT(err.code, CF_ENOTFOUND);
    /* a quota goes with its bucket, and with its tenant */
    REQUIRE(st_quota_set(e, "t1", NULL, 1, 1, &err) == 0);
    REQUIRE(st_upload_abort(e, "t1", "b", "mp2", uid, &err) == 0);
    REQUIRE(st_delete(e, "t1", "b", "mp", &err) == 0);
    REQUIRE(st_bucket_delete(e, "t1", "b", &err) == 0);
    q.n = 0;
    REQUIRE(st_quota_list(e, "t1", quota_cb, &q, &err) == 0);
    REQUIRE(q.n == 1);
    CHECK_EQ_STR(q.q[0].bucket, "");
    REQUIRE(st_tenant_delete(e, "t1", &err) == 0);
    REQUIRE(st_tenant_create(e, "t1", &err) == 0);
    q.n = 0;
    REQUIRE(st_quota_list(e, NULL, quota_cb, &q, &err) == 0);
    CHECK_EQ_INT(q.n, 0);
    bool removed = true;
    REQUIRE(st_quota_clear(e, "t1", NULL, &removed, &err) == 0);
    CHECK(!removed);
    st_close(e);
}

/* Disks count what they failed to deliver, and say whether they take
 * new shards. */
static void disks_count_errors_and_report_writability(void)
{
    eng_fixture f;
    st_engine *e = setup(&f, 3, 2, 1, true);
    REQUIRE(e);
    cf_err err;
    st_object_info info;
    REQUIRE(put_gen(e, "b", "obj", 2 * B + 3, 5, &info, &err) == 0);
    char hex[33], paths[3][700];
    REQUIRE(single_data_id(&f, hex) == 0);
    REQUIRE(shard_files_of(&f, 3, hex, paths) == 3);
    FILE *fp = fopen(paths[0], "r+b");             /* a byte of block 0, shard 0 */
    REQUIRE(fp != NULL);
    fseek(fp, 4096 + 10, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, 4096 + 10, SEEK_SET);
    fputc(c ^ 1, fp);
    fclose(fp);
    REQUIRE(check_gen(e, "b", "obj", 2 * B + 3, 5, &err) == 1);
    st_disk_info d0, d1;
    st_disk_get(e, 0, &d0);
    CHECK_EQ_INT(d0.crc_errors, 1);
    CHECK_EQ_INT(d0.read_errors, 0);
    CHECK(d0.online && d0.writable && d0.capacity_bytes > 0);
    unlink(paths[1]);                  /* block 0 now has one good shard of 2 */
    CHECK(check_gen(e, "b", "obj", 2 * B + 3, 5, &err) != 1);
    st_disk_get(e, 1, &d1);
    CHECK_EQ_INT(d1.read_errors, 1);
    CHECK_EQ_INT(d1.write_errors, 0);
    char tmp[700], off[710];
    snprintf(tmp, sizeof tmp, "%s/tmp", f.disks[2]);
    snprintf(off, sizeof off, "%s.off", tmp);
    REQUIRE(rename(tmp, off) == 0);
    st_disk_info d2;
    st_disk_get(e, 2, &d2);
    CHECK(d2.online && !d2.writable);
    CHECK_EQ_INT(st_disk_count(e), 3);
    CHECK_EQ_INT(put_gen(e, "b", "obj2", B, 6, &info, &err), -1);  /* quorum is 3 */
    st_disk_get(e, 2, &d2);
    CHECK_EQ_INT(d2.write_errors, 1);
    REQUIRE(rename(off, tmp) == 0);
    st_close(e);
}

/* Whether the file system under dir takes O_DIRECT (tmpfs before Linux 6.6 does not). */
static bool takes_o_direct(const char *dir)
{
    char path[700];
    snprintf(path, sizeof path, "%s/direct-probe", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_DIRECT, 0600);
    if (fd >= 0)
        close(fd);
    unlink(path);
    return fd >= 0;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n = -1;
    if (fp && fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 &&
        fseek(fp, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
        fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (fp)
        fclose(fp);
    *len = buf ? (size_t)n : 0;
    return buf;
}

/* Shard files written with O_DIRECT (through the aligned staging buffer,
 * storage/shardout.h) hold exactly the bytes a buffered write gives: a
 * PUT in one mode, then heal in the other rewrites a lost data shard and
 * a lost parity shard of a multi-block segment that ends unaligned, and
 * they must come out byte-identical to the ones lost; reads agree. */
static void direct_and_buffered_shard_files_are_identical(void)
{
    const uint64_t sizes[] = {3ull * B + 12345, 1, 4 * B};
    for (int direct_put = 0; direct_put < 2; direct_put++) {
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
            eng_fixture f;
            st_engine *e = setup(&f, 6, 4, 2, true);
            REQUIRE(e);
            unsigned per_file = takes_o_direct(f.disks[0]) ? 1 : 0;
            if (!per_file)
                fprintf(stderr, "note: no O_DIRECT under %s: both modes buffered\n",
                        f.root);
            cf_err err;
            st_close(e);                 /* the mode under test, whatever the env */
            f.cfg.buffered_io = !direct_put;
            REQUIRE((e = fixture_open(&f)));
            REQUIRE(put_gen(e, "b", "x", sizes[z], 9, NULL, &err) == 0);
            CHECK_EQ_INT(st_direct_files(e), direct_put ? 6 * per_file : 0);
            char hex[33], paths[16][700];
            REQUIRE(single_data_id(&f, hex) == 0);
            shard_files_of(&f, 6, hex, paths);
            uint8_t *want[6];
            size_t want_len[6];
            for (int i = 0; i < 6; i++)
                REQUIRE((want[i] = slurp(paths[i], &want_len[i])));
            uint64_t file_len = SHARD_HEADER_SIZE;
            for (uint64_t b = 0; b < shard_block_count(sizes[z], B); b++)
                file_len += shard_len_for(shard_block_plain(sizes[z], B, b), 4) + 4;
            CHECK_EQ_INT(want_len[0], file_len);
            st_close(e);
            f.cfg.buffered_io = direct_put;
            REQUIRE((e = fixture_open(&f)));
            unlink(paths[1]);
            unlink(paths[5]);
            CHECK_EQ_INT(check_gen(e, "b", "x", sizes[z], 9, &err), 1);
            st_gc_stats stats = {0};
            REQUIRE(st_heal(e, &stats, &err) == 0);
            CHECK_EQ_INT(stats.healed_segments, 1);
            CHECK_EQ_INT(st_direct_files(e), direct_put ? 0 : 2 * per_file);
            for (int i = 0; i < 6; i++) {
                size_t len;
                uint8_t *got = slurp(paths[i], &len);
                CHECK(got && len == want_len[i] && memcmp(got, want[i], len) == 0);
                free(got);
                free(want[i]);
            }
            unlink(paths[0]);
            unlink(paths[2]);
            CHECK_EQ_INT(check_gen(e, "b", "x", sizes[z], 9, &err), 1);
            st_close(e);
        }
    }
}

TEST_MAIN("engine",
          T(round_trips_in_every_layout),
          T(default_layouts_follow_disk_count),
          T(etag_is_plaintext_md5),
          T(digests_are_verified_before_commit),
          T(digests_taken_while_copying_cover_every_byte),
          T(ranges_at_and_across_block_boundaries),
          T(lost_shards_up_to_m_are_rebuilt_and_m_plus_one_fail),
          T(degraded_reads_queue_heal_and_heal_restores_shards),
          T(direct_and_buffered_shard_files_are_identical),
          T(tampering_is_an_error_never_wrong_bytes),
          T(whole_block_reads_match_the_copying_path),
          T(get_buffers_are_recycled_and_hold_nothing_stale),
          T(wrong_master_key_is_refused),
          T(disk_set_refuses_foreign_misplaced_and_too_few_disks),
          T(hostile_format_files_are_refused_clearly),
          T(newer_disk_format_is_refused_naming_both_versions),
          T(index_rows_pointing_at_missing_files_fail_cleanly),
          T(listing_orders_rolls_up_and_pages),
          T(multipart_complete_links_parts_without_copying),
          T(abort_and_overwrite_free_their_shards),
          T(open_reader_survives_overwrite_and_delete),
          T(gc_removes_orphans_and_keeps_live_shards),
          T(inline_small_objects_use_no_shard_files),
          T(tenants_keys_and_bucket_isolation),
          T(copy_keeps_or_replaces_headers),
          T(sealed_stream_round_trips_and_tampering_is_refused),
#ifndef NDEBUG
          T(forgotten_durable_unlock_aborts),
#endif
          T(concurrent_small_puts_survive_reopen),
          T(writers_queued_behind_a_sync_share_it),
          T(tenant_keks_survive_cache_eviction),
          T(usage_follows_every_write_path),
          T(usage_is_counted_when_an_index_migrates),
          T(quotas_are_decided_in_the_commit),
          T(quota_parts_completion_and_lifetime),
          T(disks_count_errors_and_report_writability))
