/* tests/unit/test_numparse.c - the one parser of client lengths and
 * counts: what it accepts, and every trick it must refuse (the 2^63 and
 * 2^64-1 Content-Length of issue 17, signs, spaces, leading zeros). */
#include "common/numparse.h"
#include "tests/unit/test.h"

static int dec(const char *s, uint64_t max, unsigned flags, uint64_t *v)
{
    cf_err err;
    int rc = numparse_str(s, max, flags, v, &err);
    return rc < 0 ? -(int)err.code : 0;
}

static void accepts_plain_digits(void)
{
    uint64_t v = 99;
    CHECK_EQ_INT(dec("0", UINT64_MAX, 0, &v), 0);
    CHECK_EQ_INT(v, 0);
    CHECK_EQ_INT(dec("5368709120", UINT64_MAX, 0, &v), 0);
    CHECK_EQ_INT(v, 5368709120LL);
    CHECK_EQ_INT(dec("18446744073709551615", UINT64_MAX, 0, &v), 0);
    CHECK(v == UINT64_MAX);
    CHECK_EQ_INT(dec("1000", 1000, 0, &v), 0);
    CHECK_EQ_INT(v, 1000);
}

static void refuses_overflow_without_wrapping(void)
{
    uint64_t v = 7;
    /* issue 17: 2^63 and 2^64-1 skipped the size check as negative int64s */
    CHECK_EQ_INT(dec("9223372036854775808", INT64_MAX, 0, &v), -CF_ETOOLARGE);
    CHECK_EQ_INT(dec("18446744073709551615", INT64_MAX, 0, &v), -CF_ETOOLARGE);
    CHECK_EQ_INT(dec("18446744073709551616", UINT64_MAX, 0, &v), -CF_ETOOLARGE);
    CHECK_EQ_INT(dec("99999999999999999999999", UINT64_MAX, 0, &v), -CF_ETOOLARGE);
    CHECK_EQ_INT(dec("1001", 1000, 0, &v), -CF_ETOOLARGE);
    CHECK_EQ_INT(dec("5", 0, 0, &v), -CF_ETOOLARGE);
    CHECK_EQ_INT(v, 7);                      /* untouched on failure */
    /* syntax is still checked past the overflow */
    CHECK_EQ_INT(dec("99999999999999999999999x", UINT64_MAX, 0, &v), -CF_EINVAL);
}

static void refuses_what_strtoull_accepts(void)
{
    static const char *const bad[] = {
        "", "-1", "+1", " 1", "1 ", "\t1", "1\n", "0x10", "1e3", "1,000",
        "1.0", "٣", "1 1", "-0",
    };
    uint64_t v;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(dec(bad[i], UINT64_MAX, NUMPARSE_LEADING_ZEROS, &v), -CF_EINVAL);
}

static void leading_zeros_only_when_asked(void)
{
    uint64_t v;
    CHECK_EQ_INT(dec("007", 100, 0, &v), -CF_EINVAL);
    CHECK_EQ_INT(dec("00", 100, 0, &v), -CF_EINVAL);
    CHECK_EQ_INT(dec("007", 100, NUMPARSE_LEADING_ZEROS, &v), 0);
    CHECK_EQ_INT(v, 7);
    CHECK_EQ_INT(dec("0000000000000000000000000001", 1, NUMPARSE_LEADING_ZEROS, &v), 0);
    CHECK_EQ_INT(v, 1);
}

static void hex_and_lengths(void)
{
    cf_err err;
    uint64_t v;
    CHECK_EQ_INT(numparse_hex("10000", 5, UINT64_MAX, 0, &v, &err), 0);
    CHECK_EQ_INT(v, 65536);
    CHECK_EQ_INT(numparse_hex("aBcD", 4, UINT64_MAX, 0, &v, &err), 0);
    CHECK_EQ_INT(v, 0xabcd);
    CHECK_EQ_INT(numparse_hex("ffffffffffffffff", 16, UINT64_MAX, 0, &v, &err), 0);
    CHECK(v == UINT64_MAX);
    CHECK_EQ_INT(numparse_hex("10000000000000000", 17, UINT64_MAX, 0, &v, &err), -1);
    CHECK_EQ_INT(err.code, CF_ETOOLARGE);
    CHECK_EQ_INT(numparse_hex("0x1", 3, UINT64_MAX, 0, &v, &err), -1);
    CHECK_EQ_INT(err.code, CF_EINVAL);
    CHECK_EQ_INT(numparse_hex("g", 1, UINT64_MAX, 0, &v, &err), -1);
    /* only n bytes are read: "12" of "123" */
    CHECK_EQ_INT(numparse_u64("123", 2, UINT64_MAX, 0, &v, &err), 0);
    CHECK_EQ_INT(v, 12);
}

TEST_MAIN("numparse",
          T(accepts_plain_digits),
          T(refuses_overflow_without_wrapping),
          T(refuses_what_strtoull_accepts),
          T(leading_zeros_only_when_asked),
          T(hex_and_lengths))
