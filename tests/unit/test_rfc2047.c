/* tests/unit/test_rfc2047.c - encoded words in user metadata: what is
 * stored for what a client sends, what is returned for what is stored,
 * and hostile input (malformed words, other charsets, controls, bounds). */
#include "common/rfc2047.h"
#include "common/utf8.h"
#include "tests/unit/test.h"

static void check_decode(const char *in, const char *want)
{
    char out[512];
    long n = rfc2047_decode(in, strlen(in), out, sizeof out);
    CHECK(n >= 0);
    if (n >= 0) {
        CHECK_EQ_INT(n, strlen(want));
        CHECK_EQ_STR(out, want);
    }
}

static void decodes_words_and_keeps_text(void)
{
    check_decode("plain ascii", "plain ascii");
    check_decode("", "");
    check_decode("=?UTF-8?B?w6k=?=", "\xc3\xa9");
    check_decode("=?utf-8?b?5pel5pys?=", "\xe6\x97\xa5\xe6\x9c\xac");
    check_decode("=?UTF-8?Q?caf=C3=A9_au_lait?=", "caf\xc3\xa9 au lait");
    check_decode("=?ISO-8859-1?Q?M=FCller?=", "M\xc3\xbcller");
    check_decode("=?iso-8859-1?B?/A==?=", "\xc3\xbc");
    check_decode("=?US-ASCII?Q?a=20b?=", "a b");
    check_decode("=?UTF-8*en?Q?x?=", "x");
    /* white space between two words goes, between a word and text stays */
    check_decode("=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab");
    check_decode("=?UTF-8?Q?a?=  \t =?UTF-8?Q?b?=", "ab");
    check_decode("x =?UTF-8?Q?a?= y", "x a y");
    check_decode("=?UTF-8?Q?a?= y =?UTF-8?Q?b?=", "a y b");
    /* raw bytes: UTF-8 kept, anything else read as ISO-8859-1 */
    check_decode("M\xc3\xbcller", "M\xc3\xbcller");
    check_decode("M\xfcller", "M\xc3\xbcller");
    check_decode("\xff", "\xc3\xbf");
}

static void malformed_words_stay_as_written(void)
{
    static const char *const literal[] = {
        "=?UTF-8?B?w6k?=",           /* base64 not a multiple of 4 */
        "=?UTF-8?B?w=k=?=",          /* padding inside */
        "=?UTF-8?B?w6k!?=",          /* not base64 */
        "=?UTF-8?X?abc?=",           /* no such encoding */
        "=?KOI8-R?Q?abc?=",          /* charset not known */
        "=??Q?abc?=",                /* no charset */
        "=?UTF-8?Q?abc",             /* unterminated */
        "=?UTF-8?Q?abc?",            /* unterminated */
        "=?UTF-8?Q?=C3?=",           /* not UTF-8 */
        "=?UTF-8?Q?=0A?=",           /* a control character */
        "=?UTF-8?Q?=00?=",           /* NUL */
        "=?US-ASCII?Q?=E9?=",        /* not ASCII */
        "=?UTF-8?Q?=4?=",            /* short escape */
        "x=?UTF-8?Q?a?=",            /* not at a word boundary */
        "=?UTF-8?Q?a?=x",
        "=?UTF-8?Q?a b?=",           /* space inside */
        "=?UTF-8?Q?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?=",
    };
    for (size_t i = 0; i < sizeof literal / sizeof literal[0]; i++)
        check_decode(literal[i], literal[i]);
}

static void decode_bounds(void)
{
    char out[8];
    CHECK_EQ_INT(rfc2047_decode("1234567", 7, out, sizeof out), 7);
    CHECK_EQ_INT(rfc2047_decode("12345678", 8, out, sizeof out), -1);
    /* ISO-8859-1 doubles: 2 * len + 1 is always enough */
    char in[64], big[129];
    memset(in, 0xe9, sizeof in);
    CHECK_EQ_INT(rfc2047_decode(in, sizeof in, big, sizeof big), 128);
    CHECK(utf8_valid(big, 128));
    CHECK_EQ_INT(rfc2047_decode("", 0, out, 0), -1);
    /* NUL bytes in the input are copied, never read as terminators */
    CHECK_EQ_INT(rfc2047_decode("a\0b", 3, out, sizeof out), 3);
    CHECK(memcmp(out, "a\0b", 3) == 0);
}

static void encodes_what_is_not_ascii(void)
{
    char out[1024];
    CHECK_EQ_INT(rfc2047_encode("plain text\tok", out, sizeof out), 13);
    CHECK_EQ_STR(out, "plain text\tok");
    CHECK_EQ_INT(rfc2047_encode("", out, sizeof out), 0);
    CHECK(rfc2047_encode("\xc3\xa9", out, sizeof out) > 0);
    CHECK_EQ_STR(out, "=?UTF-8?B?w6k=?=");
    CHECK(!rfc2047_needs_encoding("abc ~"));
    CHECK(rfc2047_needs_encoding("\xc3\xa9") && rfc2047_needs_encoding("a\x7f"));
    /* long values: words of at most 75 characters, no character split,
     * and decoding them gives the value back */
    char value[400] = "";
    for (int i = 0; i < 100; i++)
        strcat(value, i % 3 ? "\xe6\x97\xa5" : "a");
    long n = rfc2047_encode(value, out, sizeof out);
    REQUIRE(n > 0);
    CHECK((size_t)n <= RFC2047_ENCODED_MAX(strlen(value)));
    for (char *w = out; *w;) {
        size_t len = strcspn(w, " ");
        CHECK(len <= 75);
        w += len + (w[len] == ' ');
    }
    char back[512];
    CHECK_EQ_INT(rfc2047_decode(out, (size_t)n, back, sizeof back), strlen(value));
    CHECK_EQ_STR(back, value);
    CHECK_EQ_INT(rfc2047_encode("\xc3\xa9", out, 16), -1);
    CHECK_EQ_INT(rfc2047_encode("\xc3\xa9", out, 17), 16);
}

TEST_MAIN("rfc2047",
          T(decodes_words_and_keeps_text),
          T(malformed_words_stay_as_written),
          T(decode_bounds),
          T(encodes_what_is_not_ascii))
