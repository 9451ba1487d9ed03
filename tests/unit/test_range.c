/* tests/unit/test_range.c - Range and x-amz-copy-source-range: the forms S3
 * serves, the ones it ignores, and numbers that must not wrap. */
#include "server/range.h"
#include "tests/unit/test.h"

static range_result get(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
    return range_parse(h, RANGE_GET, size, off, len);
}

static void get_ranges(void)
{
    uint64_t off, len;
    CHECK_EQ_INT(get(NULL, 100, &off, &len), RANGE_WHOLE);
    CHECK_EQ_INT(off, 0);
    CHECK_EQ_INT(len, 100);
    CHECK_EQ_INT(get("bytes=10-19", 100, &off, &len), RANGE_PART);
    CHECK_EQ_INT(off, 10);
    CHECK_EQ_INT(len, 10);
    CHECK_EQ_INT(get("bytes=90-", 100, &off, &len), RANGE_PART);
    CHECK_EQ_INT(len, 10);
    CHECK_EQ_INT(get("bytes=-30", 100, &off, &len), RANGE_PART);
    CHECK_EQ_INT(off, 70);
    CHECK_EQ_INT(get("bytes=-300", 100, &off, &len), RANGE_PART);
    CHECK_EQ_INT(off, 0);
    CHECK_EQ_INT(len, 100);
    CHECK_EQ_INT(get("bytes=50-18446744073709551615", 100, &off, &len), RANGE_PART);
    CHECK_EQ_INT(len, 50);
    CHECK_EQ_INT(get("bytes=100-", 100, &off, &len), RANGE_UNSATISFIABLE);
    CHECK_EQ_INT(get("bytes=-0", 100, &off, &len), RANGE_UNSATISFIABLE);
    CHECK_EQ_INT(get("bytes=0-", 0, &off, &len), RANGE_UNSATISFIABLE);
    /* ignored: the whole object */
    static const char *const ignored[] = {
        "bytes=0-1,5-6", "bytes=5-4", "bytes=+1-2", "bytes= 1-2", "bytes=1-2 ", "bytes=-",
        "bytes=1", "items=1-2", "bytes=18446744073709551616-", "bytes=-18446744073709551616",
        "bytes=0x1-2", "bytes=-+5", "",
    };
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        CHECK_EQ_INT(get(ignored[i], 100, &off, &len), RANGE_WHOLE);
        CHECK_EQ_INT(len, 100);
    }
}

static void copy_source_ranges(void)
{
    uint64_t off, len;
    CHECK_EQ_INT(range_parse("bytes=0-9", RANGE_COPY_SOURCE, 100, &off, &len), RANGE_PART);
    CHECK_EQ_INT(len, 10);
    CHECK_EQ_INT(range_parse("bytes=0-99", RANGE_COPY_SOURCE, 100, &off, &len), RANGE_PART);
    CHECK_EQ_INT(range_parse("bytes=0-100", RANGE_COPY_SOURCE, 100, &off, &len),
                 RANGE_UNSATISFIABLE);
    static const char *const bad[] = {
        "bytes=5-", "bytes=-5", "bytes=5-4", "bytes=+0-9", "bytes=0-+9", "bytes=0-9,10-11",
        "bytes=0-18446744073709551616", "0-9", "bytes= 0-9",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(range_parse(bad[i], RANGE_COPY_SOURCE, 100, &off, &len), RANGE_MALFORMED);
    CHECK_EQ_INT(range_parse(NULL, RANGE_COPY_SOURCE, 100, &off, &len), RANGE_WHOLE);
}

TEST_MAIN("range",
          T(get_ranges),
          T(copy_source_ranges))
