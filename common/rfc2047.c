/*
 * common/rfc2047.c - encoded words in user metadata (see rfc2047.h).
 *
 * Decoding is one pass over the input: at a word boundary an encoded
 * word is tried first (decoded into a small buffer, checked, then
 * appended); any other byte is copied, or converted from ISO-8859-1 when
 * the whole value is not UTF-8. Encoded words are ASCII, so they read the
 * same in either case. White space between two encoded words is written
 * and then taken back when the second word decodes.
 */
#include "common/rfc2047.h"

#include <string.h>
#include <strings.h>

#include "common/checksum.h"
#include "common/hex.h"
#include "common/utf8.h"

#define WORD_MAX 75                  /* RFC 2047 section 2 */
#define WORD_BYTES 45                /* bytes per encoded output word */

typedef struct out_buf {
    char *p;
    size_t n, cap;
    bool full;
} out_buf;

static void put(out_buf *o, const char *s, size_t n)
{
    if (o->n + n >= o->cap) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
}

/* One ISO-8859-1 byte as UTF-8. */
static void put_latin1(out_buf *o, unsigned char c)
{
    char u[2] = {(char)(0xC0 | c >> 6), (char)(0x80 | (c & 0x3F))};
    if (c < 0x80)
        put(o, (const char *)&c, 1);
    else
        put(o, u, 2);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* The encoded text of a word, decoded to bytes: its length, or -1. */
static long decode_text(char enc, const char *t, size_t n, unsigned char *out)
{
    size_t o = 0;
    if (enc == 'B' || enc == 'b')
        return cks_base64_decode(t, n, out, n);
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '_') {
            out[o++] = ' ';
        } else if (t[i] == '=') {
            int hi = i + 2 < n ? hex_value(t[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(t[i + 2]) : -1;
            if (lo < 0)
                return -1;
            out[o++] = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = (unsigned char)t[i];
        }
    }
    return (long)o;
}

typedef enum charset { CS_UTF8, CS_ASCII, CS_LATIN1, CS_OTHER } charset;

static charset charset_of(const char *s, size_t n)
{
    const char *star = memchr(s, '*', n);    /* RFC 2231: charset*language */
    if (star)
        n = (size_t)(star - s);
    static const struct { const char *name; charset cs; } known[] = {
        {"UTF-8", CS_UTF8}, {"UTF8", CS_UTF8}, {"US-ASCII", CS_ASCII},
        {"ISO-8859-1", CS_LATIN1}, {"LATIN1", CS_LATIN1},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i].name) == n && strncasecmp(s, known[i].name, n) == 0)
            return known[i].cs;
    return CS_OTHER;
}

/* An encoded word at in[0..len): its length, with its text appended to o
 * as UTF-8; 0 if there is none (nothing appended). */
static size_t try_word(const char *in, size_t len, out_buf *o)
{
    if (len < 8 || in[0] != '=' || in[1] != '?')
        return 0;
    size_t max = len < WORD_MAX ? len : WORD_MAX;
    const char *cs = in + 2, *q1 = memchr(cs, '?', max - 2);
    if (!q1 || q1 == cs || (size_t)(q1 - in) + 3 > max || q1[2] != '?')
        return 0;
    char enc = q1[1];
    if (!enc || !strchr("BbQq", enc))
        return 0;
    const char *text = q1 + 3, *end = text;
    while ((size_t)(end - in) + 1 < max && *end != '?' && *end > ' ' && *end < 0x7f)
        end++;
    if ((size_t)(end - in) + 1 >= max || end[0] != '?' || end[1] != '=')
        return 0;
    size_t wlen = (size_t)(end - in) + 2;
    if (wlen < len && !is_space(in[wlen]))
        return 0;                    /* a word ends at white space or the end */
    for (const char *c = cs; c < q1; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
              (*c >= '0' && *c <= '9') || (*c && strchr("-_*.", *c))))
            return 0;
    unsigned char raw[WORD_MAX];
    long n = decode_text(enc, text, (size_t)(end - text), raw);
    charset set = charset_of(cs, (size_t)(q1 - cs));
    if (n < 0 || set == CS_OTHER)
        return 0;
    for (long i = 0; i < n; i++)
        if ((raw[i] < 0x20 && raw[i] != '\t') || raw[i] == 0x7f ||
            (set == CS_ASCII && raw[i] >= 0x80))
            return 0;
    if (set == CS_UTF8 && !utf8_valid((const char *)raw, (size_t)n))
        return 0;
    for (long i = 0; i < n; i++) {
        if (set == CS_LATIN1)
            put_latin1(o, raw[i]);
        else
            put(o, (const char *)&raw[i], 1);
    }
    return wlen;
}

long rfc2047_decode(const char *in, size_t len, char *out, size_t outsz)
{
    out_buf o = {out, 0, outsz, false};
    bool utf8 = utf8_valid(in, len);
    bool after_word = false;         /* only white space since the last word */
    size_t space_from = 0;           /* where that white space began in out */
    for (size_t i = 0; i < len;) {
        if (i == 0 || is_space(in[i - 1])) {
            size_t mark = o.n;
            size_t w = try_word(in + i, len - i, &o);
            if (w) {
                if (after_word) {    /* drop the space between two words */
                    memmove(out + space_from, out + mark, o.n - mark);
                    o.n -= mark - space_from;
                }
                i += w;
                after_word = true;
                space_from = o.n;
                continue;
            }
        }
        if (!is_space(in[i]))
            after_word = false;
        if (utf8)
            put(&o, in + i, 1);
        else
            put_latin1(&o, (unsigned char)in[i]);
        i++;
    }
    if (o.full || outsz == 0)
        return -1;
    out[o.n] = '\0';
    return (long)o.n;
}

bool rfc2047_needs_encoding(const char *value)
{
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p >= 0x7f)
            return true;
    return false;
}

long rfc2047_encode(const char *value, char *out, size_t outsz)
{
    out_buf o = {out, 0, outsz, false};
    size_t len = strlen(value);
    if (!rfc2047_needs_encoding(value)) {
        put(&o, value, len);
    } else {
        const unsigned char *v = (const unsigned char *)value;
        for (size_t at = 0; at < len;) {
            size_t n = len - at < WORD_BYTES ? len - at : WORD_BYTES;
            /* back off to a character boundary (continuation bytes 10xxxxxx) */
            while (at + n < len && n > 1 && (v[at + n] & 0xC0) == 0x80)
                n--;
            if (at)
                put(&o, " ", 1);
            put(&o, "=?UTF-8?B?", 10);
            char q[(WORD_BYTES + 2) / 3 * 4 + 1];
            size_t qn = cks_to_base64(v + at, n, q, sizeof q);
            put(&o, q, qn);
            put(&o, "?=", 2);
            at += n;
        }
    }
    if (o.full || outsz == 0)
        return -1;
    out[o.n] = '\0';
    return (long)o.n;
}
