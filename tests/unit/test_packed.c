/*
 * tests/unit/test_packed.c - pack files wired into the engine (issue 14
 * point 1; storage/pack.h, storage/packidx.c): one-block objects and
 * parts under pack_shard_max go to each disk's open pack and read back
 * (also after a reopen, and from an index migrated to schema 9), larger
 * ones keep shard files; a lost or damaged record is read around, found
 * by scrub and healed into a shard file that then wins; deleting the last
 * live record of a sealed pack unlinks it, a live one keeps it; a pack no
 * row names (a crash before the commit) is an orphan for gc;
 * rebuild-index finds packed segments from the disks alone, restore-index
 * counts them whole; a disk replaced while running gets a new pack; the
 * heal queue's per-disk count sees a record as a shard. Compaction
 * (storage/compact.c) copies the live records of mostly dead packs and
 * frees them, waits for readers that opened before it, drops records a
 * shard file replaced, and rebuild-index keeps its copy when a kill left
 * both packs.
 */
#include "tests/unit/test.h"
#include "tests/unit/engine_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/manifest.h"
#include "storage/pack.h"

#define KIB 1024u
#define MIB (1u << 20)

static st_engine *open_packed(eng_fixture *f)
{
    st_engine *e = fixture_setup(f, test_tmpdir(), 6, 4, 2, false);
    if (!e)
        return NULL;
    st_close(e);
    f->cfg.pack_shard_max = MIB;
    return fixture_open(f);
}

/* open_packed with one object already PUT: key, size bytes of seed. */
static st_engine *packed_with(eng_fixture *f, const char *key, uint64_t size, uint64_t seed)
{
    st_engine *e = open_packed(f);
    cf_err err;
    if (e && put_gen(e, "b", key, size, seed, NULL, &err) < 0) {
        fprintf(stderr, "put %s: %s\n", key, err.msg);
        st_close(e);
        return NULL;
    }
    return e;
}

/* Pack files on disk i; their paths in paths (if not NULL, up to 8). */
static int packs_on(const eng_fixture *f, int i, char paths[][700])
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/packs", f->disks[i]);
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        uint8_t id[PACK_ID_LEN];
        if (!pack_name_to_id(de->d_name, id))
            continue;
        if (paths && n < 8 && strlen(dir) + strlen(de->d_name) + 2 <= 700)
            sprintf(paths[n], "%s/%s", dir, de->d_name);
        n++;
    }
    if (d)
        closedir(d);
    return n;
}

static uint64_t commit_number(st_engine *e)
{
    st_index_stats ix;
    st_index_stats_get(e, &ix);
    return ix.commit_number;
}

/* The index gone (not its snapshots): rebuild-index from the disks. */
static int rebuild_from_disks(eng_fixture *f, st_rebuild_report *rep)
{
    const char *names[] = {"index.db", "index.db-wal", "index.db-shm"};
    for (int i = 0; i < 3; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/%s", f->meta, names[i]);
        unlink(path);
    }
    cf_err err;
    if (st_rebuild_index(&f->cfg, false, NULL, NULL, NULL, rep, &err) < 0) {
        fprintf(stderr, "rebuild-index: %s\n", err.msg);
        return -1;
    }
    return rep->index[0] ? 0 : -1;
}

/* Object "mp" at [off, off + len) is stream seed from its start (a part). */
static int part_reads_back(st_engine *e, uint64_t off, size_t len, uint64_t seed)
{
    cf_err err;
    st_object_info info;
    st_get *g;
    if (st_get_open(e, "t1", "b", "mp", &info, &g, &err) < 0)
        return -1;
    st_object_info_clear(&info);
    uint8_t *got = malloc(len), *want = malloc(len);
    size_t n = 0;
    int rc = got && want && st_get_read(g, off, got, len, &n, &err) == 0 ? 1 : -1;
    if (rc == 1) {
        gen_bytes(seed, 0, want, len);
        rc = n == len && memcmp(got, want, len) == 0;
    }
    free(got);
    free(want);
    st_get_close(g);
    return rc;
}

static void one_block_objects_go_to_packs_and_read_back(void)
{
    eng_fixture f;
    st_engine *e = open_packed(&f);
    REQUIRE(e);
    cf_err err;
    const uint64_t sizes[] = {70000, 256 * KIB, MIB, MIB + 1, 3 * MIB};
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof key, "o%d", i);
        REQUIRE(put_gen(e, "b", key, sizes[i], (uint64_t)i + 1, NULL, &err) == 0);
    }
    CHECK_EQ_INT(count_shard_files(&f, 6), 2 * 6);   /* only the two of several blocks */
    CHECK_EQ_INT(count_pack_files(&f, 6), 6);                   /* one open pack per disk */
    /* a part of one block is packed too, and completing keeps it there */
    char uid[ST_ID_HEX], e1[ST_ETAG_MAX], e2[ST_ETAG_MAX];
    st_upload_args ua = {.tenant = "t1", .bucket = "b", .key = "mp"};
    REQUIRE(st_upload_create(e, &ua, uid, &err) == 0);
    REQUIRE(put_part_gen(e, "b", "mp", uid, 1, 5 * MIB, 9, e1, &err) == 0);
    REQUIRE(put_part_gen(e, "b", "mp", uid, 2, 300 * KIB, 10, e2, &err) == 0);
    st_complete_part parts[] = {{1, e1, NULL}, {2, e2, NULL}};
    st_complete_args ca = {.tenant = "t1", .bucket = "b", .key = "mp", .upload_id = uid,
                           .parts = parts, .nparts = 2, .expected_size = -1};
    st_object_info info;
    REQUIRE(st_upload_complete(e, &ca, &info, &err) == 0);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 5; i++) {
            char key[16];
            snprintf(key, sizeof key, "o%d", i);
            CHECK_EQ_INT(check_gen(e, "b", key, sizes[i], (uint64_t)i + 1, &err), 1);
        }
        CHECK_EQ_INT(check_range(e, "b", "mp", 9, 0, 5 * MIB, &err), 1);
        CHECK_EQ_INT(part_reads_back(e, 5 * MIB, 300 * KIB, 10), 1);
        st_close(e);
        e = fixture_open(&f);                         /* packs of a run are sealed at close */
        REQUIRE(e);
    }
    /* a reopened engine starts new packs: the old ones take no appends */
    REQUIRE(put_gen(e, "b", "later", 100000, 77, NULL, &err) == 0);
    CHECK_EQ_INT(count_pack_files(&f, 6), 12);
    CHECK_EQ_INT(check_gen(e, "b", "later", 100000, 77, &err), 1);
    /* a deep scrub opens every packed block and finds nothing wrong */
    st_check_stats st = {0};
    REQUIRE(st_scrub(e, &(st_check_opts){.deep = true}, &st, &err) == 0);
    CHECK_EQ_INT(st.shards_missing + st.shards_bad + st.crc_errors + st.gcm_failures, 0);
    st_close(e);
}

static void flip_byte(const char *path, off_t off)
{
    int fd = open(path, O_RDWR);
    uint8_t b = 0;
    REQUIRE(fd >= 0 && pread(fd, &b, 1, off) == 1);
    b ^= 0x5a;
    REQUIRE(pwrite(fd, &b, 1, off) == 1);
    close(fd);
}

static void lost_records_are_read_around_scrubbed_and_healed(void)
{
    eng_fixture f;
    st_engine *e = packed_with(&f, "x", 200000, 5);
    REQUIRE(e);
    cf_err err;
    st_close(e);
    char p0[8][700], p1[8][700];
    REQUIRE(packs_on(&f, 0, p0) == 1 && packs_on(&f, 1, p1) == 1);
    /* disk 0's record loses a block byte (its CRC fails), disk 1's pack is gone */
    flip_byte(p0[0], PACK_FILE_HEADER + PACK_REC_PREFIX + SHARD_HEADER_SIZE + 100);
    REQUIRE(unlink(p1[0]) == 0);
    e = fixture_open(&f);
    REQUIRE(e);
    CHECK_EQ_INT(check_gen(e, "b", "x", 200000, 5, &err), 1);   /* degraded, exact */
    /* queued for heal; coffer disks counts the shard whose pack is gone */
    uint64_t per_disk[6];
    bool exact;
    REQUIRE(st_heal_pending_disks(e, per_disk, &exact, &err) == 0);
    CHECK(exact && per_disk[1] == 1 && per_disk[0] == 0 && per_disk[2] == 0);
    st_check_stats st = {0};
    REQUIRE(st_scrub(e, &(st_check_opts){0}, &st, &err) == 0);
    CHECK_EQ_INT(st.shards_missing, 1);
    CHECK(st.crc_errors >= 1);
    CHECK_EQ_INT(st.shards_rewritten, 2);
    /* the healed shards are shard files now, and win over the records */
    CHECK_EQ_INT(count_shard_files(&f, 6), 2);
    memset(&st, 0, sizeof st);
    REQUIRE(st_scrub(e, &(st_check_opts){.deep = true}, &st, &err) == 0);
    CHECK_EQ_INT(st.shards_missing + st.shards_bad + st.crc_errors, 0);
    st_close(e);
    /* with two other disks' packs gone the healed shards carry the read */
    char p2[8][700], p3[8][700];
    REQUIRE(packs_on(&f, 2, p2) == 1 && packs_on(&f, 3, p3) == 1);
    REQUIRE(unlink(p2[0]) == 0 && unlink(p3[0]) == 0);
    e = fixture_open(&f);
    REQUIRE(e);
    CHECK_EQ_INT(check_gen(e, "b", "x", 200000, 5, &err), 1);
    /* deleting it gives every disk's space back: shard files and packs */
    REQUIRE(st_delete(e, "t1", "b", "x", &err) == 0);
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 3600}, NULL, &err) == 0);
    CHECK_EQ_INT(count_shard_files(&f, 6), 0);
    CHECK_EQ_INT(count_pack_files(&f, 6), 0);
    st_close(e);
}

static void a_sealed_pack_goes_with_its_last_live_record(void)
{
    eng_fixture f;
    st_engine *e = open_packed(&f);
    REQUIRE(e);
    cf_err err;
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        REQUIRE(put_gen(e, "b", key, 150000, (uint64_t)i, NULL, &err) == 0);
    }
    /* the open pack is kept even with nothing live in it */
    REQUIRE(put_gen(e, "b", "tmp", 150000, 9, NULL, &err) == 0);
    st_close(e);
    e = fixture_open(&f);
    REQUIRE(e);
    REQUIRE(put_gen(e, "b", "new", 150000, 10, NULL, &err) == 0);
    CHECK_EQ_INT(count_pack_files(&f, 6), 12);
    REQUIRE(st_delete(e, "t1", "b", "k0", &err) == 0);
    REQUIRE(st_delete(e, "t1", "b", "k1", &err) == 0);
    REQUIRE(st_delete(e, "t1", "b", "tmp", &err) == 0);
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 3600}, NULL, &err) == 0);
    CHECK_EQ_INT(count_pack_files(&f, 6), 12);                   /* k2 still lives in the old ones */
    CHECK_EQ_INT(check_gen(e, "b", "k2", 150000, 2, &err), 1);
    /* live: k2's and new's records; dead: the rest of the 12 packs */
    st_pack_usage pu;
    REQUIRE(st_pack_usage_get(e, &pu, &err) == 0);
    CHECK_EQ_INT(pu.files, 12);
    uint64_t rec = PACK_REC_PREFIX + SHARD_HEADER_SIZE + 37504 + 4;  /* (150000 + 16) / 4 */
    CHECK_EQ_INT(pu.live_bytes, 2 * 6 * rec);
    CHECK_EQ_INT(pu.bytes, 12 * PACK_FILE_HEADER + 5 * 6 * rec);
    REQUIRE(put_gen(e, "b", "k2", 150000, 11, NULL, &err) == 0);   /* an overwrite */
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 3600}, NULL, &err) == 0);
    CHECK_EQ_INT(count_pack_files(&f, 6), 6);                    /* the old packs went */
    REQUIRE(st_delete(e, "t1", "b", "new", &err) == 0);
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 0}, NULL, &err) == 0);
    CHECK_EQ_INT(count_pack_files(&f, 6), 6);                    /* open: kept */
    CHECK_EQ_INT(check_gen(e, "b", "k2", 150000, 11, &err), 1);
    st_close(e);
}

static void a_pack_no_row_names_is_an_orphan(void)
{
    eng_fixture f;
    st_engine *e = packed_with(&f, "live", 100000, 1);
    REQUIRE(e);
    cf_err err;
    /* what a crash between the appends and the commit leaves: a pack with
     * records and no row */
    pack_writer w;
    REQUIRE(pack_create(f.disks[4], &w, &err) == 0);
    uint8_t hdr[SHARD_HEADER_SIZE] = {0}, body[100] = {0};
    shard_header h = {.block_size = MIB, .size = 10, .k = 4, .m = 2, .shard_index = 4};
    shard_header_encode(&h, hdr);
    uint64_t off, end;
    REQUIRE(pack_append(&w, hdr, body, sizeof body, &off, &end, &err) == 0);
    REQUIRE(pack_commit(&w, end, &err) == 0);
    pack_close(&w);
    CHECK_EQ_INT(packs_on(&f, 4, NULL), 2);
    st_gc_stats gs = {0};
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 3600}, &gs, &err) == 0);
    CHECK_EQ_INT(packs_on(&f, 4, NULL), 2);            /* inside the grace period */
    memset(&gs, 0, sizeof gs);
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 0}, &gs, &err) == 0);
    CHECK_EQ_INT(gs.orphan_files, 1);
    CHECK_EQ_INT(packs_on(&f, 4, NULL), 1);            /* the open one stays */
    st_close(e);
    e = fixture_open(&f);
    REQUIRE(e);
    memset(&gs, 0, sizeof gs);
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 0}, &gs, &err) == 0);
    CHECK_EQ_INT(gs.orphan_files, 0);                  /* a live record keeps it */
    CHECK_EQ_INT(count_pack_files(&f, 6), 6);
    CHECK_EQ_INT(check_gen(e, "b", "live", 100000, 1, &err), 1);
    st_close(e);
}

/* rebuild-index from the disks alone finds the packed segments, and the
 * rebuilt index reads them and gives their packs back when they go. */
static void rebuild_index_reads_pack_records(void)
{
    eng_fixture f;
    st_engine *e = packed_with(&f, "p1", 200000, 1);
    REQUIRE(e);
    cf_err err;
    REQUIRE(put_gen(e, "b", "p2", 600000, 2, NULL, &err) == 0);
    REQUIRE(put_gen(e, "b", "big", 3 * MIB, 3, NULL, &err) == 0);
    REQUIRE(put_gen(e, "b", "gone", 100000, 4, NULL, &err) == 0);
    REQUIRE(st_delete(e, "t1", "b", "gone", &err) == 0);
    st_close(e);
    st_rebuild_report rep;
    REQUIRE(rebuild_from_disks(&f, &rep) == 0);
    CHECK_EQ_INT(rep.objects, 3);
    e = fixture_open(&f);
    REQUIRE(e);
    CHECK_EQ_INT(check_gen(e, "b", "p1", 200000, 1, &err), 1);
    CHECK_EQ_INT(check_gen(e, "b", "p2", 600000, 2, &err), 1);
    CHECK_EQ_INT(check_gen(e, "b", "big", 3 * MIB, 3, &err), 1);
    st_object_info h;
    CHECK(st_head(e, "t1", "b", "gone", &h, &err) < 0);
    REQUIRE(st_delete(e, "t1", "b", "p1", &err) == 0);
    REQUIRE(st_delete(e, "t1", "b", "p2", &err) == 0);
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 3600}, NULL, &err) == 0);
    /* "gone"'s record was in the same packs: counted dead, kept with them
     * as gc keeps every file older than a rebuilt index */
    CHECK_EQ_INT(count_pack_files(&f, 6), 6);
    CHECK_EQ_INT(check_gen(e, "b", "big", 3 * MIB, 3, &err), 1);
    st_close(e);
}

/* A disk replaced while the engine runs: the next packed PUT writes its
 * shard into a pack on the new disk, never into the old disk's open pack. */
static void a_replaced_disk_gets_a_new_pack(void)
{
    eng_fixture f;
    st_engine *e = packed_with(&f, "a", 200000, 1);
    REQUIRE(e);
    cf_err err;
    char old[700];
    snprintf(old, sizeof old, "%s.old", f.disks[2]);
    REQUIRE(rename(f.disks[2], old) == 0 && mkdir(f.disks[2], 0700) == 0);
    REQUIRE(st_disk_replace(e, 2, &err) == 0);
    REQUIRE(put_gen(e, "b", "b", 200000, 2, NULL, &err) == 0);
    CHECK_EQ_INT(packs_on(&f, 2, NULL), 1);
    st_check_stats st = {0};
    REQUIRE(st_heal_all(e, &(st_check_opts){0}, &st, &err) == 0);
    CHECK_EQ_INT(st.shards_rewritten, 1);              /* "a"'s shard 2, as a file */
    CHECK_EQ_INT(check_gen(e, "b", "a", 200000, 1, &err), 1);
    CHECK_EQ_INT(check_gen(e, "b", "b", 200000, 2, &err), 1);
    st_close(e);
}

/* restore-index from a snapshot finds the packed segments whole. */
static void restore_index_counts_pack_records(void)
{
    eng_fixture f;
    st_engine *e = packed_with(&f, "p", 200000, 1);
    REQUIRE(e);
    cf_err err;
    int copies = 0;
    REQUIRE(st_snapshot(e, &copies, &err) == 0 && copies == 6);
    st_close(e);
    char path[700];
    snprintf(path, sizeof path, "%s/index.db", f.meta);
    REQUIRE(unlink(path) == 0);
    st_restore_report rep;
    if (st_restore_index(&f.cfg, NULL, NULL, NULL, NULL, &rep, &err) < 0)
        fprintf(stderr, "restore-index: %s\n", err.msg);
    CHECK_EQ_INT(rep.segments, 1);
    CHECK_EQ_INT(rep.segments_short, 0);
    e = fixture_open(&f);
    REQUIRE(e);
    CHECK_EQ_INT(check_gen(e, "b", "p", 200000, 1, &err), 1);
    st_close(e);
}

/* All manifests of a one-part upload whose part is packed lost: scrub
 * writes them again with the upload id from the part's pack record. */
static void manifests_come_back_from_a_packed_part(void)
{
    eng_fixture f;
    st_engine *e = open_packed(&f);
    REQUIRE(e);
    cf_err err;
    char uid[ST_ID_HEX], e1[ST_ETAG_MAX];
    st_upload_args ua = {.tenant = "t1", .bucket = "b", .key = "one"};
    REQUIRE(st_upload_create(e, &ua, uid, &err) == 0);
    REQUIRE(put_part_gen(e, "b", "one", uid, 1, 200000, 3, e1, &err) == 0);
    st_complete_part parts[] = {{1, e1, NULL}};
    st_complete_args ca = {.tenant = "t1", .bucket = "b", .key = "one", .upload_id = uid,
                           .parts = parts, .nparts = 1, .expected_size = -1};
    st_object_info info;
    REQUIRE(st_upload_complete(e, &ca, &info, &err) == 0);
    CHECK_EQ_INT(count_shard_files(&f, 6), 6);        /* the manifests alone */
    char man[6][700];
    REQUIRE(shard_files_of(&f, 6, info.version_id, man) == 6);
    for (int i = 0; i < 6; i++)
        REQUIRE(unlink(man[i]) == 0);
    st_check_stats st = {0};
    REQUIRE(st_scrub(e, &(st_check_opts){0}, &st, &err) == 0);
    CHECK_EQ_INT(st.manifests_rewritten, 6);
    json_t *m = man_read(man[3], &err);
    const char *u = json_string_value(json_object_get(m, "upload_id"));
    CHECK(u && strcmp(u, uid) == 0);                  /* not zeros: the part's */
    json_decref(m);
    st_object_info_clear(&info);
    st_close(e);
}

/* n objects "c<i>" of 150000 bytes (seed i), every one but those with
 * i % keep_every == 0 deleted, their packs sealed by a reopen, drained. */
static st_engine *mostly_dead_packs(eng_fixture *f, int n, int keep_every)
{
    st_engine *e = open_packed(f);
    cf_err err;
    int rc = e ? 0 : -1;
    for (int i = 0; rc == 0 && i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "c%d", i);
        rc = put_gen(e, "b", key, 150000, (uint64_t)i, NULL, &err);
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "c%d", i);
        if (i % keep_every != 0)
            rc = st_delete(e, "t1", "b", key, &err);
    }
    if (e)
        st_close(e);
    e = rc == 0 ? fixture_open(f) : NULL;
    if (e && rc == 0)
        rc = st_gc(e, &(st_gc_opts){.grace_s = 3600}, NULL, &err);
    if (e && rc < 0) {
        fprintf(stderr, "  setup: %s\n", err.msg);
        st_close(e);
        e = NULL;
    }
    return e;
}

static int survivors_read_back(st_engine *e, int n, int keep_every)
{
    cf_err err;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "c%d", i);
        st_object_info h;
        int b = i % keep_every == 0 ? check_gen(e, "b", key, 150000, (uint64_t)i, &err) != 1
                                    : st_head(e, "t1", "b", key, &h, &err) != -1;
        if (b)
            fprintf(stderr, "  %s: %s\n", key, i % keep_every == 0 ? "does not read back"
                                                                 : "is there");
        bad += b;
    }
    return bad;
}

/* Compaction: the packs more than half dead get their live records copied
 * into the open packs and go; the space comes back, every survivor reads
 * back exactly (also after a reopen and a deep scrub), and a pack below
 * the ratio is left alone. */
static void compaction_copies_live_records_and_frees_the_packs(void)
{
    eng_fixture f;
    st_engine *e = mostly_dead_packs(&f, 10, 4);      /* c0, c4, c8 live */
    REQUIRE(e);
    cf_err err;
    uint64_t rec = PACK_REC_PREFIX + SHARD_HEADER_SIZE + 37504 + 4;
    st_pack_usage before, after;
    REQUIRE(st_pack_usage_get(e, &before, &err) == 0);
    CHECK_EQ_INT(before.files, 6);
    CHECK_EQ_INT(before.live_bytes, 3 * 6 * rec);
    /* at a ratio of 0.9 (7 of 10 dead is below it) nothing moves */
    st_compact_stats cs;
    REQUIRE(st_compact(e, &(st_compact_opts){.dead_ratio = 0.9}, &cs, &err) == 0);
    CHECK_EQ_INT(cs.packs_scanned, 6);
    CHECK_EQ_INT(cs.packs_compacted + cs.packs_removed, 0);
    REQUIRE(st_compact(e, &(st_compact_opts){0}, &cs, &err) == 0);   /* 0.5 */
    CHECK_EQ_INT(cs.packs_compacted, 6);
    CHECK_EQ_INT(cs.packs_removed, 6);
    CHECK_EQ_INT(cs.records_copied, 3 * 6);
    CHECK_EQ_INT(cs.bytes_copied, 3 * 6 * rec);
    CHECK_EQ_INT(cs.bytes_reclaimed, before.bytes);
    CHECK_EQ_INT(cs.records_changed + cs.records_bad + cs.packs_left_for_readers, 0);
    CHECK_EQ_INT(count_pack_files(&f, 6), 6);          /* the open packs: the copies */
    REQUIRE(st_pack_usage_get(e, &after, &err) == 0);
    CHECK_EQ_INT(after.live_bytes, before.live_bytes);
    CHECK_EQ_INT(after.bytes, 6 * PACK_FILE_HEADER + 3 * 6 * rec);  /* nothing dead */
    CHECK_EQ_INT(after.compact_reclaimed_bytes, before.bytes);
    CHECK_EQ_INT(after.compact_copied_bytes, 3 * 6 * rec);
    CHECK_EQ_INT(survivors_read_back(e, 10, 4), 0);
    /* the open packs are never compacted, whatever they hold */
    REQUIRE(st_compact(e, &(st_compact_opts){0}, &cs, &err) == 0);
    CHECK_EQ_INT(cs.packs_scanned, 0);
    st_close(e);
    e = fixture_open(&f);
    REQUIRE(e);
    CHECK_EQ_INT(survivors_read_back(e, 10, 4), 0);
    st_check_stats st = {0};
    REQUIRE(st_scrub(e, &(st_check_opts){.deep = true}, &st, &err) == 0);
    CHECK_EQ_INT(st.shards_missing + st.shards_bad + st.crc_errors + st.gcm_failures, 0);
    /* deleting the survivors now gives the copies' packs back as usual */
    for (int i = 0; i < 10; i += 4) {
        char key[16];
        snprintf(key, sizeof key, "c%d", i);
        REQUIRE(st_delete(e, "t1", "b", key, &err) == 0);
    }
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 3600}, NULL, &err) == 0);
    CHECK_EQ_INT(count_pack_files(&f, 6), 0);
    st_close(e);
}

/* A GET that opened before the compaction reads on from the old pack,
 * which stays until it is closed; the next pass takes it. A shard healed
 * into a file is not copied (the file wins): its row goes. */
static void compaction_waits_for_older_readers(void)
{
    eng_fixture f;
    st_engine *e = mostly_dead_packs(&f, 10, 4);
    REQUIRE(e);
    cf_err err;
    st_object_info info;
    st_get *g;
    REQUIRE(st_get_open(e, "t1", "b", "c4", &info, &g, &err) == 0);
    st_object_info_clear(&info);
    uint8_t *got = malloc(150000), *want = malloc(150000);
    REQUIRE(got && want);
    size_t n = 0;
    REQUIRE(st_get_read(g, 0, got, 1000, &n, &err) == 0 && n == 1000);
    st_compact_stats cs;
    REQUIRE(st_compact(e, &(st_compact_opts){.reader_wait_ms = 1}, &cs, &err) == 0);
    CHECK_EQ_INT(cs.packs_compacted, 6);
    CHECK_EQ_INT(cs.packs_left_for_readers, 6);
    CHECK_EQ_INT(cs.packs_removed, 0);
    CHECK_EQ_INT(count_pack_files(&f, 6), 12);
    REQUIRE(st_get_read(g, 1000, got + 1000, 150000 - 1000, &n, &err) == 0);
    CHECK_EQ_INT(n, 150000 - 1000);
    gen_bytes(4, 0, want, 150000);
    CHECK(memcmp(got, want, 150000) == 0);
    st_get_close(g);
    free(got);
    free(want);
    REQUIRE(st_compact(e, &(st_compact_opts){.reader_wait_ms = 1}, &cs, &err) == 0);
    CHECK_EQ_INT(cs.packs_removed, 6);                  /* no row, no reader */
    CHECK_EQ_INT(count_pack_files(&f, 6), 6);
    CHECK_EQ_INT(survivors_read_back(e, 10, 4), 0);
    st_close(e);
}

/* A shard heal rewrote as a file is not copied: the row goes. */
static void compaction_drops_records_a_shard_file_replaced(void)
{
    eng_fixture f;
    st_engine *e = mostly_dead_packs(&f, 4, 4);       /* c0 alone lives */
    REQUIRE(e);
    cf_err err;
    st_close(e);
    char p2[8][700];
    REQUIRE(packs_on(&f, 2, p2) == 1);
    REQUIRE(unlink(p2[0]) == 0);                       /* disk 2's shard of c0 is lost */
    e = fixture_open(&f);
    REQUIRE(e);
    st_check_stats st = {0};
    REQUIRE(st_heal_all(e, &(st_check_opts){0}, &st, &err) == 0);
    CHECK_EQ_INT(st.shards_rewritten, 1);              /* as a shard file */
    st_compact_stats cs;
    REQUIRE(st_compact(e, &(st_compact_opts){0}, &cs, &err) == 0);
    CHECK_EQ_INT(cs.packs_compacted, 5);
    CHECK_EQ_INT(cs.records_copied, 5);
    CHECK_EQ_INT(count_pack_files(&f, 6), 5);          /* nothing is copied to disk 2 */
    CHECK_EQ_INT(survivors_read_back(e, 4, 4), 0);
    st_close(e);
}

/* Killed between the compaction's commit and its unlink, both packs hold
 * the shard: rebuild-index from the disks keeps the copy, in the pack
 * written last, and the result reads back. */
static void rebuild_index_keeps_the_compacted_copy(void)
{
    eng_fixture f;
    st_engine *e = mostly_dead_packs(&f, 10, 4);
    REQUIRE(e);
    cf_err err;
    char old[6][8][700], kept[6][700];
    for (int i = 0; i < 6; i++) {                      /* the old packs, mtimes and all */
        REQUIRE(packs_on(&f, i, old[i]) == 1);
        snprintf(kept[i], sizeof kept[i], "%s/kept%d", f.root, i);
        REQUIRE(link(old[i][0], kept[i]) == 0);
    }
    st_compact_stats cs;
    REQUIRE(st_compact(e, &(st_compact_opts){0}, &cs, &err) == 0);
    CHECK_EQ_INT(cs.packs_removed, 6);
    st_close(e);
    for (int i = 0; i < 6; i++)
        REQUIRE(rename(kept[i], old[i][0]) == 0);
    st_rebuild_report rep;
    REQUIRE(rebuild_from_disks(&f, &rep) == 0);
    CHECK_EQ_INT(rep.objects, 3);
    CHECK_EQ_INT(expected_pack_files(&f), 6);          /* rows name the copies' packs only */
    CHECK_EQ_INT(count_pack_files(&f, 6), 12);
    e = fixture_open(&f);
    REQUIRE(e);
    CHECK_EQ_INT(survivors_read_back(e, 10, 4), 0);
    st_check_stats st = {0};
    REQUIRE(st_scrub(e, &(st_check_opts){.deep = true}, &st, &err) == 0);
    CHECK_EQ_INT(st.shards_missing + st.shards_bad + st.crc_errors, 0);
    st_close(e);
}

/* Objects o0..o9 in one run; a restart with no snapshot since (as after a
 * kill, or a clean stop); the next run deletes o0..o6 and overwrites o7.
 * Its journal records must sort after the first run's (commit numbers
 * never go backwards, index.h): rebuild-index gives exactly o7 (new),
 * o8 and o9, packed or not. */
static void restart_then_delete(bool packed)
{
    eng_fixture f;
    st_engine *e = packed ? open_packed(&f)
                          : fixture_setup(&f, test_tmpdir(), 6, 4, 2, false);
    REQUIRE(e);
    cf_err err;
    for (int i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof key, "o%d", i);
        REQUIRE(put_gen(e, "b", key, 100000, (uint64_t)i + 1, NULL, &err) == 0);
    }
    uint64_t before = commit_number(e);
    st_close(e);
    e = fixture_open(&f);
    REQUIRE(e);
    CHECK(commit_number(e) > before);
    for (int i = 0; i < 7; i++) {
        char key[16];
        snprintf(key, sizeof key, "o%d", i);
        REQUIRE(st_delete(e, "t1", "b", key, &err) == 0);
    }
    REQUIRE(put_gen(e, "b", "o7", 120000, 70, NULL, &err) == 0);
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 3600}, NULL, &err) == 0);  /* drained */
    st_rebuild_report rep;
    st_close(e);
    REQUIRE(rebuild_from_disks(&f, &rep) == 0);
    CHECK_EQ_INT(rep.objects, 3);
    e = fixture_open(&f);
    REQUIRE(e);
    st_object_info h;
    for (int i = 0; i < 7; i++) {
        char key[16];
        snprintf(key, sizeof key, "o%d", i);
        CHECK(st_head(e, "t1", "b", key, &h, &err) < 0);
    }
    CHECK_EQ_INT(check_gen(e, "b", "o7", 120000, 70, &err), 1);
    CHECK_EQ_INT(check_gen(e, "b", "o8", 100000, 9, &err), 1);
    CHECK_EQ_INT(check_gen(e, "b", "o9", 100000, 10, &err), 1);
    st_close(e);
}

static void a_restart_without_a_snapshot_brings_no_packed_object_back(void)
{
    restart_then_delete(true);
}

static void a_restart_without_a_snapshot_brings_no_object_back(void)
{
    restart_then_delete(false);
}

/* A deleted packed object whose key's last JRN_KEY was pruned by later
 * snapshots (its records stay in the packs as dead bytes): rebuild-index
 * does not bring it back from the pack records alone. */
static void a_pruned_key_stays_deleted_though_its_records_remain(void)
{
    cf_err err;
    eng_fixture f;
    st_engine *e = packed_with(&f, "gone", 100000, 2);
    REQUIRE(e);
    REQUIRE(st_delete(e, "t1", "b", "gone", &err) == 0);
    REQUIRE(put_gen(e, "b", "keep", 100000, 1, NULL, &err) == 0);
    for (int i = 0; i < 4; i++) {                     /* prunes "gone"'s JRN_KEY */
        char key[16];
        int copies = 0;
        snprintf(key, sizeof key, "s%d", i);
        REQUIRE(put_gen(e, "b", key, 1000, (uint64_t)i + 10, NULL, &err) == 0);
        REQUIRE(st_snapshot(e, &copies, &err) == 0 && copies == 6);
    }
    REQUIRE(st_gc(e, &(st_gc_opts){.grace_s = 3600}, NULL, &err) == 0);
    st_close(e);
    st_rebuild_report rep;
    REQUIRE(rebuild_from_disks(&f, &rep) == 0);
    CHECK_EQ_INT(rep.objects, 5);
    CHECK_EQ_INT(rep.keys_guessed, 0);
    e = fixture_open(&f);
    REQUIRE(e);
    st_object_info h;
    CHECK(st_head(e, "t1", "b", "gone", &h, &err) < 0);
    CHECK_EQ_INT(check_gen(e, "b", "keep", 100000, 1, &err), 1);
    st_close(e);
}

TEST_MAIN("packed", T(one_block_objects_go_to_packs_and_read_back),
          T(lost_records_are_read_around_scrubbed_and_healed),
          T(a_sealed_pack_goes_with_its_last_live_record),
          T(a_pack_no_row_names_is_an_orphan), T(rebuild_index_reads_pack_records),
          T(a_replaced_disk_gets_a_new_pack), T(restore_index_counts_pack_records),
          T(manifests_come_back_from_a_packed_part),
          T(compaction_copies_live_records_and_frees_the_packs),
          T(compaction_waits_for_older_readers),
          T(compaction_drops_records_a_shard_file_replaced),
          T(rebuild_index_keeps_the_compacted_copy),
          T(a_restart_without_a_snapshot_brings_no_packed_object_back),
          T(a_restart_without_a_snapshot_brings_no_object_back),
          T(a_pruned_key_stays_deleted_though_its_records_remain))
