/*
 * tests/fuzz/fuzz_lifecycle.c - the lifecycle feature's documents
 * (server/lcxml.c). The first byte picks the parser: a lifecycle
 * configuration, a Tagging body, an x-amz-tagging header, a RestoreRequest.
 * What a parser accepts must respect S3's limits: 1..1,000 rules, each
 * with an action and a well-formed filter, noncurrent actions with
 * NoncurrentDays >= 1 and NewerNoncurrentVersions <= 100, at most 10 valid tags, a
 * restore of at least one day; and a refusal always carries a message.
 */
#include <string.h>

#include "server/lcxml.h"
#include "storage/lifecycle.h"
#include "tests/fuzz/fuzz.h"

static void check_config(const lcxml_config *cfg)
{
    FUZZ_ASSERT(cfg->nrules >= 1 && cfg->nrules <= LCXML_MAX_RULES);
    for (size_t i = 0; i < cfg->nrules; i++) {
        const lcxml_rule *r = &cfg->rules[i];
        FUZZ_ASSERT(strlen(r->id) <= LCXML_MAX_ID);
        FUZZ_ASSERT(!(r->filter.has_gt && r->filter.has_lt) ||
                    r->filter.size_gt < r->filter.size_lt);
        for (size_t j = 0; j < r->ntransitions; j++)
            FUZZ_ASSERT(r->transitions[j].storage_class &&
                        *r->transitions[j].storage_class);
        /* the actions on versions: S3's bounds, a class per transition */
        const lcxml_noncurrent *x = &r->nc_expiration;
        FUZZ_ASSERT(!x->when.set || (x->when.days >= 1 && !x->when.by_date));
        FUZZ_ASSERT(x->keep >= 0 && x->keep <= 100);
        for (size_t j = 0; j < r->nnc_transitions; j++) {
            const lcxml_noncurrent *t = &r->nc_transitions[j];
            FUZZ_ASSERT(t->when.set && t->when.days >= 1 && t->keep >= 0 && t->keep <= 100);
            FUZZ_ASSERT(t->storage_class && *t->storage_class);
            FUZZ_ASSERT(!x->when.set || t->when.days < x->when.days);
            (void)lcxml_noncurrent_due_ms(t, 0, 3, 86400000);
        }
        FUZZ_ASSERT(!r->expire_marker || (!r->expiration.set && !r->filter.ntags));
        (void)lcxml_noncurrent_due_ms(x, 0, 3, 86400000);
        /* evaluation never crashes on what parsed */
        (void)lcxml_match(&r->filter, "data/x", 1, r->filter.tags, r->filter.ntags);
        (void)lcxml_due_ms(&r->expiration, 0, 86400000);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    pool *p = pool_new();
    xmlread_doc *doc = NULL;
    lcxml_err err = {0};
    int rc = 0;
    switch (data[0] % 4) {
    case 0: {
        lcxml_config cfg;
        if ((rc = lcxml_lifecycle_parse(body, len, p, &doc, &cfg, &err)) == 0)
            check_config(&cfg);
        break;
    }
    case 1: {
        st_header *tags;
        size_t n;
        if ((rc = lcxml_tagging_parse(body, len, p, &doc, &tags, &n, &err)) == 0) {
            FUZZ_ASSERT(n <= ST_MAX_TAGS);
            FUZZ_ASSERT(st_tags_check(tags, n, NULL) == 0);
        }
        break;
    }
    case 2: {
        char *text = pool_strndup(p, body, len);
        st_header *tags;
        size_t n;
        if (text && (rc = lcxml_tagging_header(text, p, &tags, &n, &err)) == 0)
            FUZZ_ASSERT(n <= ST_MAX_TAGS && st_tags_check(tags, n, NULL) == 0);
        break;
    }
    default: {
        int days = 0;
        if ((rc = lcxml_restore_parse(body, len, &doc, &days, &err)) == 0)
            FUZZ_ASSERT(days >= 1);
    }
    }
    FUZZ_ASSERT(rc == 0 || err.msg[0]);
    xmlread_free(doc);
    pool_free(p);
    return 0;
}
