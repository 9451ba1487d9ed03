/*
 * tests/unit/test_pack.c - the pack file (storage/pack.h): records read
 * back by the scan exactly as appended, the group commit under
 * concurrent appenders, a torn tail cut at open, a damaged record ending
 * the scan, a newer format version and a foreign file refused, hostile
 * record prefixes.
 */
#include "tests/unit/test.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/checksum.h"
#include "storage/pack.h"

static void make_header(int i, uint8_t out[SHARD_HEADER_SIZE])
{
    shard_header h;
    memset(&h, 0, sizeof h);
    for (int j = 0; j < 16; j++) {
        h.set_id[j] = (uint8_t)j;
        h.data_id[j] = (uint8_t)(i * 31 + j);
        h.object_id[j] = (uint8_t)(i + j * 3);
    }
    h.block_size = 1u << 20;
    h.size = 1000u + (uint64_t)i;
    h.shard_index = (uint8_t)(i % 6);
    h.k = 4;
    h.m = 2;
    snprintf(h.tenant, sizeof h.tenant, "acme");
    snprintf(h.bucket, sizeof h.bucket, "veeam");
    snprintf(h.key, sizeof h.key, "blocks/%04d", i);
    shard_header_encode(&h, out);
}

typedef struct seen {
    int n;
    uint64_t off[64];
    uint64_t len[64];
    char key[64][ST_MAX_KEY + 1];
} seen;

static int collect(const pack_rec *r, void *arg)
{
    seen *s = arg;
    if (s->n < 64) {
        s->off[s->n] = r->off;
        s->len[s->n] = r->body_len;
        snprintf(s->key[s->n], sizeof s->key[0], "%s", r->h.key);
    }
    s->n++;
    return 0;
}

/* A new pack on disk with n committed records: record i has header i and
 * len + step * i bytes of body seed i, at off[i] up to end[i]. Its path
 * in path; -1 (and prints) on failure. */
static int make_pack(const char *disk, int n, size_t len, size_t step, uint64_t off[],
                     uint64_t end[], char path[4096])
{
    pack_writer w;
    cf_err err;
    static uint8_t body[8192];
    uint8_t hdr[SHARD_HEADER_SIZE];
    int rc = pack_create(disk, &w, &err);
    if (rc < 0) {
        fprintf(stderr, "make_pack: %s\n", err.msg);
        return -1;
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        make_header(i, hdr);
        test_fill_random(body, sizeof body, (unsigned long long)i);
        rc = pack_append(&w, hdr, body, len + step * (size_t)i, &off[i], &end[i], &err);
    }
    if (rc == 0 && n > 0)
        rc = pack_commit(&w, end[n - 1], &err);
    if (rc < 0)
        fprintf(stderr, "make_pack: %s\n", err.msg);
    snprintf(path, 4096, "%s", w.path);
    pack_close(&w);
    return rc;
}

static void records_scan_back(void)
{
    cf_err err;
    uint64_t off[3], end[3];
    char path[4096];
    REQUIRE(make_pack(test_tmpdir(), 3, 1000, 1000, off, end, path) == 0);
    CHECK(off[0] == PACK_FILE_HEADER);
    CHECK(off[1] == end[0] && off[2] == end[1]);

    seen s = {0};
    uint64_t valid = 0;
    REQUIRE(pack_scan(path, collect, &s, &valid, &err) == 0);
    CHECK_EQ_INT(s.n, 3);
    CHECK(valid == end[2]);
    for (int i = 0; i < 3 && i < s.n; i++) {
        char want[32];
        snprintf(want, sizeof want, "blocks/%04d", i);
        CHECK_EQ_STR(s.key[i], want);
        CHECK(s.off[i] == off[i]);
        CHECK(s.len[i] == 1000u * (uint64_t)(i + 1));
    }
    /* the shard's bytes sit at the shard base, as in a shard file */
    int fd = open(path, O_RDONLY);
    REQUIRE(fd >= 0);
    uint8_t got[3000], want[3000];
    test_fill_random(want, sizeof want, 2);
    CHECK(pread(fd, got, sizeof got, (off_t)(pack_shard_base(off[2]) + SHARD_HEADER_SIZE)) ==
          (ssize_t)sizeof got);
    CHECK(memcmp(got, want, sizeof got) == 0);
    close(fd);
}

typedef struct worker {
    pack_writer *w;
    int base;
    int fails;
} worker;

static void *appender(void *arg)
{
    worker *k = arg;
    uint8_t hdr[SHARD_HEADER_SIZE], body[2048];
    for (int i = 0; i < 8; i++) {
        uint64_t off, end;
        cf_err err;
        make_header(k->base + i, hdr);
        test_fill_random(body, sizeof body, (unsigned long long)(k->base + i));
        if (pack_append(k->w, hdr, body, sizeof body, &off, &end, &err) < 0 ||
            pack_commit(k->w, end, &err) < 0)
            k->fails++;
        else {
            gsync_lock(&k->w->gs);
            k->fails += k->w->gs.synced < end;   /* returned before its bytes were synced */
            gsync_unlock(&k->w->gs);
        }
    }
    return NULL;
}

static void group_commit_with_concurrent_appenders(void)
{
    const char *disk = test_tmpdir();
    pack_writer w;
    cf_err err;
    REQUIRE(pack_create(disk, &w, &err) == 0);
    pthread_t t[4];
    worker k[4];
    for (int i = 0; i < 4; i++) {
        k[i] = (worker){&w, i * 8, 0};
        pthread_create(&t[i], NULL, appender, &k[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(k[i].fails, 0);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s", w.path);
    uint64_t end = w.gs.written;
    pack_close(&w);
    seen s = {0};
    uint64_t valid = 0;
    REQUIRE(pack_scan(path, collect, &s, &valid, &err) == 0);
    CHECK_EQ_INT(s.n, 32);
    CHECK(valid == end);
}

static void torn_tail_is_cut_at_open(void)
{
    pack_writer w;
    cf_err err;
    uint8_t hdr[SHARD_HEADER_SIZE], body[4000];
    uint64_t off[2], end[2], off2, end2;
    char path[4096];
    REQUIRE(make_pack(test_tmpdir(), 2, sizeof body, 0, off, end, path) == 0);
    /* a crash in the middle of the second record's body */
    REQUIRE(truncate(path, (off_t)(end[1] - 100)) == 0);
    REQUIRE(pack_open(path, &w, &err) == 0);
    CHECK(w.gs.written == end[0]);
    make_header(1, hdr);
    test_fill_random(body, sizeof body, 1);
    struct stat st;
    REQUIRE(stat(path, &st) == 0);
    CHECK((uint64_t)st.st_size == end[0]);
    /* appending goes on after the last whole record */
    REQUIRE(pack_append(&w, hdr, body, sizeof body, &off2, &end2, &err) == 0);
    CHECK(off2 == end[0]);
    REQUIRE(pack_commit(&w, end2, &err) == 0);
    pack_close(&w);
    seen s = {0};
    REQUIRE(pack_scan(path, collect, &s, NULL, &err) == 0);
    CHECK_EQ_INT(s.n, 2);
}

static void damage_ends_the_scan(void)
{
    cf_err err;
    uint64_t off[3], end[3];
    char path[4096];
    REQUIRE(make_pack(test_tmpdir(), 3, 3000, 0, off, end, path) == 0);
    int fd = open(path, O_RDWR);
    REQUIRE(fd >= 0);
    /* one flipped bit in the second record's body, in its header, in its prefix */
    off_t spots[3] = {(off_t)(off[1] + PACK_REC_PREFIX + SHARD_HEADER_SIZE + 17),
                      (off_t)(off[1] + PACK_REC_PREFIX + 200), (off_t)(off[1] + 9)};
    for (int i = 0; i < 3; i++) {
        uint8_t b;
        REQUIRE(pread(fd, &b, 1, spots[i]) == 1);
        b ^= 0x10;
        REQUIRE(pwrite(fd, &b, 1, spots[i]) == 1);
        seen s = {0};
        uint64_t valid = 0;
        CHECK(pack_scan(path, collect, &s, &valid, &err) == 0);
        CHECK_EQ_INT(s.n, 1);
        CHECK(valid == off[1]);
        b ^= 0x10;
        REQUIRE(pwrite(fd, &b, 1, spots[i]) == 1);
    }
    close(fd);
}

static void foreign_and_newer_files_refused(void)
{
    pack_writer w;
    cf_err err;
    char path[4096];
    REQUIRE(make_pack(test_tmpdir(), 0, 0, 0, NULL, NULL, path) == 0);
    int fd = open(path, O_RDWR);
    REQUIRE(fd >= 0);
    uint8_t h[PACK_FILE_HEADER];
    REQUIRE(pread(fd, h, sizeof h, 0) == (ssize_t)sizeof h);
    /* a newer version, with a CRC that matches */
    uint8_t v[PACK_FILE_HEADER];
    memcpy(v, h, sizeof v);
    v[7] = '2';
    v[8] = 2;
    uint32_t crc = cks_crc32c(0, v, 60);
    for (int i = 0; i < 4; i++)
        v[60 + i] = (uint8_t)(crc >> (8 * i));
    REQUIRE(pwrite(fd, v, sizeof v, 0) == (ssize_t)sizeof v);
    CHECK(pack_scan(path, NULL, NULL, NULL, &err) == -1 && err.code == CF_ECONFIG);
    CHECK(pack_open(path, &w, &err) == -1 && err.code == CF_ECONFIG);
    /* random bytes */
    test_fill_random(v, sizeof v, 99);
    REQUIRE(pwrite(fd, v, sizeof v, 0) == (ssize_t)sizeof v);
    CHECK(pack_scan(path, NULL, NULL, NULL, &err) == -1 && err.code == CF_ECORRUPT);
    REQUIRE(ftruncate(fd, 10) == 0);
    CHECK(pack_scan(path, NULL, NULL, NULL, &err) == -1 && err.code == CF_ECORRUPT);
    close(fd);
}

static void hostile_prefix_lengths_stop_cleanly(void)
{
    cf_err err;
    uint64_t off, end;
    char path[4096];
    REQUIRE(make_pack(test_tmpdir(), 1, 100, 0, &off, &end, path) == 0);
    int fd = open(path, O_RDWR);
    REQUIRE(fd >= 0);
    /* a prefix with a correct CRC and a body length far past the file */
    uint8_t p[PACK_REC_PREFIX];
    REQUIRE(pread(fd, p, sizeof p, (off_t)off) == (ssize_t)sizeof p);
    for (int i = 0; i < 8; i++)
        p[8 + i] = 0xff;
    uint32_t crc = cks_crc32c(0, p, 28);
    for (int i = 0; i < 4; i++)
        p[28 + i] = (uint8_t)(crc >> (8 * i));
    REQUIRE(pwrite(fd, p, sizeof p, (off_t)off) == (ssize_t)sizeof p);
    close(fd);
    seen s = {0};
    uint64_t valid = 0;
    CHECK(pack_scan(path, collect, &s, &valid, &err) == 0);
    CHECK_EQ_INT(s.n, 0);
    CHECK(valid == PACK_FILE_HEADER);
}

static void names_parse(void)
{
    uint8_t id[PACK_ID_LEN], back[PACK_ID_LEN];
    for (unsigned i = 0; i < PACK_ID_LEN; i++)
        id[i] = (uint8_t)(i * 17);
    char path[4096];
    pack_path(path, sizeof path, "/d", id);
    const char *name = strrchr(path, '/') + 1;
    REQUIRE(pack_name_to_id(name, back));
    CHECK(memcmp(id, back, sizeof id) == 0);
    CHECK(!pack_name_to_id("00112233445566778899aabbccddeeff", back));
    CHECK(!pack_name_to_id("00112233445566778899aabbccddeefg.pack", back));
    CHECK(!pack_name_to_id("x.pack", back));
}

TEST_MAIN("pack", T(records_scan_back), T(group_commit_with_concurrent_appenders),
          T(torn_tail_is_cut_at_open), T(damage_ends_the_scan),
          T(foreign_and_newer_files_refused), T(hostile_prefix_lengths_stop_cleanly),
          T(names_parse))
