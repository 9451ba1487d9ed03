/*
 * tests/fuzz/fuzz_xml.c - the hardened XML reader and every request-body
 * parser built on it. The first byte picks the parser: DeleteObjects,
 * CompleteMultipartUpload, CreateBucketConfiguration, the reader alone
 * under tiny bounds (so the bounds themselves are crossed often),
 * VersioningConfiguration, ObjectLockConfiguration, Retention, LegalHold,
 * or the ISO 8601 dates of retention (the rest of the input as a string,
 * checked against a second reading of the same text). For the
 * reader alone, the tree it returns must respect the bounds: no more
 * elements or depth than allowed, text as long as it says, UTF-8, no NUL.
 */
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "common/xmlread.h"
#include "server/xmlreq.h"
#include "tests/fuzz/fuzz.h"

static const xmlread_limits tiny = {.max_elements = 12, .max_depth = 3, .max_text = 16};

static size_t walk(const xmlread_node *n, size_t depth)
{
    FUZZ_ASSERT(depth <= tiny.max_depth);
    FUZZ_ASSERT(strlen(n->name) > 0 && strlen(n->name) <= XMLREAD_NAME_MAX);
    FUZZ_ASSERT(strlen(n->text) == n->text_len && n->text_len <= tiny.max_text);
    FUZZ_ASSERT(utf8_valid(n->text, n->text_len));
    FUZZ_ASSERT(!n->children || n->text_len == 0);
    size_t count = 1;
    for (const xmlread_node *c = n->children; c; c = c->next)
        count += walk(c, depth + 1);
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    pool *p = pool_new();
    xmlread_doc *doc = NULL;
    cf_err err;
    switch (data[0] % 9) {
    case 0: {
        xmlreq_delete del;
        if (xmlreq_delete_parse(body, len, p, &doc, &del, &err) == 0)
            FUZZ_ASSERT(del.nobjects >= 1 && del.nobjects <= XMLREQ_DELETE_MAX);
        break;
    }
    case 1: {
        st_complete_part *parts;
        size_t n;
        if (xmlreq_complete_parse(body, len, p, &doc, &parts, &n, &err) == 0)
            for (size_t i = 0; i < n; i++)
                FUZZ_ASSERT(parts[i].part_number >= 1 &&
                            parts[i].part_number <= ST_MAX_PARTS && parts[i].etag);
        break;
    }
    case 2: {
        const char *region;
        if (xmlreq_location_parse(body, len, &doc, &region, &err) == 0)
            FUZZ_ASSERT(region != NULL);
        break;
    }
    case 4: {
        int st = 0;
        if (xmlreq_versioning_parse(body, len, &doc, &st, &err) == 0)
            FUZZ_ASSERT(st == ST_VERSIONING_ENABLED || st == ST_VERSIONING_SUSPENDED);
        break;
    }
    case 5: {
        xmlreq_lock_config c;
        if (xmlreq_lock_config_parse(body, len, &doc, &c, &err) == 0 && c.has_rule)
            FUZZ_ASSERT((c.mode == ST_LOCK_GOVERNANCE || c.mode == ST_LOCK_COMPLIANCE) &&
                        (c.days == 0 || c.years == 0) && c.days <= INT32_MAX &&
                        c.years <= INT32_MAX);
        break;
    }
    case 6: {
        int mode;
        int64_t until;
        if (xmlreq_retention_parse(body, len, &doc, &mode, &until, &err) == 0)
            FUZZ_ASSERT(mode == ST_LOCK_NONE ? until == 0 : until >= 0);
        break;
    }
    case 7: {
        int hold;
        if (xmlreq_legal_hold_parse(body, len, &doc, &hold, &err) == 0)
            FUZZ_ASSERT(hold == ST_HOLD_ON || hold == ST_HOLD_OFF);
        break;
    }
    case 8: {
        char *s = strndup(body, len);
        int64_t a, b;
        if (s && xmlreq_iso8601(s, &a) == 0) {
            /* valid dates are 20 to 35 characters and read the same twice */
            FUZZ_ASSERT(strlen(s) >= 20 && strlen(s) <= 35 && a >= 0);
            FUZZ_ASSERT(xmlreq_iso8601(s, &b) == 0 && a == b);
            FUZZ_ASSERT(a < 253402300800000LL);          /* before year 10000 */
        }
        free(s);
        break;
    }
    default:
        if (xmlread_parse(body, len, "Delete", &tiny, &doc, &err) == 0)
            FUZZ_ASSERT(walk(xmlread_root(doc), 1) <= tiny.max_elements);
        else
            FUZZ_ASSERT(doc == NULL && err.code != CF_OK);
    }
    xmlread_free(doc);
    pool_free(p);
    return 0;
}
