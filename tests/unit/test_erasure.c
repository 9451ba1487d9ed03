/* tests/unit/test_erasure.c - Reed-Solomon encode and reconstruct. */
#include "storage/rs.h"
#include "tests/unit/test.h"

static void default_layouts_follow_the_design(void)
{
    /* {disks, k, m} from DESIGN.md §6 and the rule in between. */
    static const int want[][3] = {
        {1, 1, 0},  {2, 1, 1},  {3, 2, 1},  {4, 2, 2},  {5, 3, 2},
        {6, 4, 2},  {7, 5, 2},  {8, 6, 2},  {9, 7, 2},  {10, 8, 2},
        {11, 9, 2}, {12, 8, 4}, {13, 9, 4}, {14, 10, 4}, {15, 11, 4},
        {16, 12, 4},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int k = -1, m = -1;
        CHECK_EQ_INT(rs_default_layout(want[i][0], &k, &m), 0);
        CHECK_EQ_INT(k, want[i][1]);
        CHECK_EQ_INT(m, want[i][2]);
    }
    int k, m;
    CHECK_EQ_INT(rs_default_layout(0, &k, &m), -1);
    CHECK_EQ_INT(rs_default_layout(17, &k, &m), -1);
}

static void bad_layouts_are_refused(void)
{
    cf_err err;
    CHECK(rs_new(0, 1, &err) == NULL);
    CHECK_EQ_INT(err.code, CF_EINVAL);
    CHECK(rs_new(2, -1, &err) == NULL);
    CHECK(rs_new(13, 4, &err) == NULL);
    rs_codec *rs = rs_new(12, 4, &err);
    REQUIRE(rs);
    CHECK_EQ_INT(rs_k(rs), 12);
    CHECK_EQ_INT(rs_m(rs), 4);
    rs_free(rs);
}

/* Shards for one codec: originals, a working copy, and pointer arrays. */
typedef struct shard_set {
    int n;
    size_t len;
    uint8_t *orig[RS_MAX_SHARDS], *work[RS_MAX_SHARDS];
} shard_set;

static bool shard_set_make(shard_set *ss, const rs_codec *rs, size_t len,
                           unsigned long long seed)
{
    ss->n = rs_k(rs) + rs_m(rs);
    ss->len = len;
    for (int i = 0; i < ss->n; i++) {
        ss->orig[i] = malloc(len);
        ss->work[i] = malloc(len);
        if (!ss->orig[i] || !ss->work[i])
            return false;
        test_fill_random(ss->orig[i], len, seed + (unsigned long long)i);
    }
    rs_encode(rs, len, ss->orig, ss->orig + rs_k(rs));
    return true;
}

static void shard_set_free(shard_set *ss)
{
    for (int i = 0; i < ss->n; i++) {
        free(ss->orig[i]);
        free(ss->work[i]);
    }
}

/* Erase the shards in `mask`, reconstruct, and compare with the originals. */
static int erase_and_rebuild(const rs_codec *rs, shard_set *ss, unsigned mask,
                             cf_err *err)
{
    bool present[RS_MAX_SHARDS];
    for (int i = 0; i < ss->n; i++) {
        present[i] = !(mask & (1u << i));
        if (present[i])
            memcpy(ss->work[i], ss->orig[i], ss->len);
        else
            memset(ss->work[i], 0xEE, ss->len);
    }
    if (rs_reconstruct(rs, ss->len, ss->work, present, err) < 0)
        return -1;
    for (int i = 0; i < ss->n; i++)
        if (memcmp(ss->work[i], ss->orig[i], ss->len) != 0)
            return 1;
    return 0;
}

static void every_layout_survives_every_loss_up_to_m(void)
{
    for (int disks = 1; disks <= RS_MAX_SHARDS; disks++) {
        int k, m;
        cf_err err;
        REQUIRE(rs_default_layout(disks, &k, &m) == 0);
        rs_codec *rs = rs_new(k, m, &err);
        REQUIRE(rs);
        shard_set ss;
        REQUIRE(shard_set_make(&ss, rs, 1031, (unsigned long long)disks));
        for (unsigned mask = 0; mask < (1u << disks); mask++) {
            int lost = __builtin_popcount(mask);
            if (lost > m)
                continue;
            int rc = erase_and_rebuild(rs, &ss, mask, &err);
            if (rc != 0)
                fprintf(stderr, "layout %d+%d, lost mask 0x%x: rc %d\n", k,
                        m, mask, rc);
            CHECK_EQ_INT(rc, 0);
        }
        if (disks > m) {
            /* One more loss than parity: refused, not guessed. */
            unsigned too_many = (1u << (m + 1)) - 1;
            CHECK_EQ_INT(erase_and_rebuild(rs, &ss, too_many, &err), -1);
            CHECK_EQ_INT(err.code, CF_EQUORUM);
            too_many <<= disks - (m + 1);
            CHECK_EQ_INT(erase_and_rebuild(rs, &ss, too_many, &err), -1);
            CHECK_EQ_INT(err.code, CF_EQUORUM);
        }
        shard_set_free(&ss);
        rs_free(rs);
    }
}

static void parity_depends_on_every_data_byte(void)
{
    cf_err err;
    rs_codec *rs = rs_new(4, 2, &err);
    REQUIRE(rs);
    shard_set ss;
    REQUIRE(shard_set_make(&ss, rs, 64, 5));
    uint8_t p0[64], p1[64];
    memcpy(p0, ss.orig[4], 64);
    memcpy(p1, ss.orig[5], 64);
    CHECK(memcmp(p0, p1, 64) != 0);
    for (int d = 0; d < 4; d++) {
        ss.orig[d][10] ^= 0x5a;
        rs_encode(rs, 64, ss.orig, ss.orig + 4);
        CHECK(ss.orig[4][10] != p0[10]);
        CHECK(ss.orig[5][10] != p1[10]);
        CHECK(memcmp(ss.orig[4] + 11, p0 + 11, 53) == 0);
        ss.orig[d][10] ^= 0x5a;
    }
    rs_encode(rs, 64, ss.orig, ss.orig + 4);
    CHECK(memcmp(ss.orig[4], p0, 64) == 0);
    shard_set_free(&ss);
    rs_free(rs);
}

static void full_size_blocks_rebuild_data_and_parity(void)
{
    cf_err err;
    rs_codec *rs = rs_new(4, 2, &err);
    REQUIRE(rs);
    shard_set ss;
    REQUIRE(shard_set_make(&ss, rs, (1 << 20) / 4, 11));
    CHECK_EQ_INT(erase_and_rebuild(rs, &ss, 0x0, &err), 0);
    CHECK_EQ_INT(erase_and_rebuild(rs, &ss, 0x21, &err), 0);   /* d0 + p1 */
    CHECK_EQ_INT(erase_and_rebuild(rs, &ss, 0x0a, &err), 0);   /* d1 + d3 */
    CHECK_EQ_INT(erase_and_rebuild(rs, &ss, 0x30, &err), 0);   /* parity */
    shard_set_free(&ss);
    rs_free(rs);
}

TEST_MAIN("erasure",
          T(default_layouts_follow_the_design),
          T(bad_layouts_are_refused),
          T(every_layout_survives_every_loss_up_to_m),
          T(parity_depends_on_every_data_byte),
          T(full_size_blocks_rebuild_data_and_parity))
