/*
 * tests/fuzz/fuzz_xml.c - the hardened XML reader and every request-body
 * parser built on it. The first byte picks the parser: DeleteObjects,
 * CompleteMultipartUpload, CreateBucketConfiguration, or the reader alone
 * under tiny bounds (so the bounds themselves are crossed often). For the
 * reader alone, the tree it returns must respect the bounds: no more
 * elements or depth than allowed, text as long as it says, UTF-8, no NUL.
 */
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
    switch (data[0] % 4) {
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
