/* tests/unit/test_hdrlist.c - comma-separated header lists and the ETag
 * rule built on them: items as RFC 9110 reads them, and hostile lists
 * (only separators, white space, no end quote, very long). */
#include "common/etag.h"
#include "common/hdrlist.h"
#include "tests/unit/test.h"

#include <stdlib.h>

/* The items of v joined by '|'. */
static void check_items(const char *v, const char *want)
{
    char out[256] = "";
    size_t o = 0, n;
    const char *t;
    while (hdrlist_next(&v, &t, &n)) {
        CHECK(n > 0);
        if (o + n + 2 > sizeof out)
            break;
        if (o)
            out[o++] = '|';
        memcpy(out + o, t, n);
        o += n;
        out[o] = '\0';
    }
    CHECK_EQ_STR(out, want);
    CHECK_EQ_INT(*v, '\0');                  /* the cursor ends at the end */
}

static void items_without_white_space_or_empties(void)
{
    check_items("a", "a");
    check_items("a,b", "a|b");
    check_items(" a , b ,c", "a|b|c");
    check_items("\ta\t,\t\tb", "a|b");
    check_items("aws-chunked,gzip", "aws-chunked|gzip");
    check_items("a b, c", "a b|c");          /* inner space is part of the item */
    check_items("", "");
    check_items(",,,", "");
    check_items(" , \t, ", "");
    check_items("a,,,b,", "a|b");
}

static void long_lists_are_walked_once(void)
{
    size_t n = 200000;
    char *v = malloc(n + 1);
    REQUIRE(v);
    for (size_t i = 0; i < n; i++)
        v[i] = i % 2 ? ',' : 'x';
    v[n] = '\0';
    const char *c = v, *t;
    size_t len, count = 0;
    while (hdrlist_next(&c, &t, &len))
        count++;
    CHECK_EQ_INT(count, n / 2);
    free(v);
}

static void etag_lists(void)
{
    const char *stored = "\"9b2cf535f27731c974343645a3985328\"";
    CHECK(etag_equal(stored, "9b2cf535f27731c974343645a3985328"));
    CHECK(etag_equal(stored, stored));
    CHECK(!etag_equal(stored, "\"9b2cf535f27731c974343645a398532\""));
    CHECK(!etag_equal(stored, ""));
    CHECK(!etag_equal(stored, "\""));
    CHECK(etag_list_matches("*", stored));
    CHECK(etag_list_matches(" \"x\" , W/\"9b2cf535f27731c974343645a3985328\"", stored));
    CHECK(etag_list_matches("\"a\",9b2cf535f27731c974343645a3985328", stored));
    CHECK(!etag_list_matches("", stored));
    CHECK(!etag_list_matches(",,", stored));
    CHECK(!etag_list_matches("W/", stored));
    CHECK(!etag_list_matches("**", stored));
    CHECK(!etag_list_matches("\"9b2cf535f27731c974343645a3985328", stored));
}

TEST_MAIN("hdrlist",
          T(items_without_white_space_or_empties),
          T(long_lists_are_walked_once),
          T(etag_lists))
