/*
 * tier/pull.c - a remote GET read at the reader's pace (tier/pull.h). The
 * sink copies straight into the read's buffer; what arrives beyond it
 * goes to the spill, which grows to TIER_PULL_SPILL and no further: once
 * it is full and no read waits, the sink answers S3C_SINK_PAUSE and the
 * same bytes come again after the next read resumes the transfer.
 */
#include "tier/pull.h"

#include <stdlib.h>
#include <string.h>

#include "client/s3c.h"

int tier_pull_sink(void *ctx, const uint8_t *data, size_t n, cf_err *err)
{
    tier_pull *s = ctx;
    size_t to_dst = s->dst ? s->need - s->got : 0;
    if (to_dst > n)
        to_dst = n;
    size_t rest = n - to_dst;
    if (to_dst == 0 && s->spill_len + rest > TIER_PULL_SPILL && s->spill_len > 0)
        return S3C_SINK_PAUSE;       /* full: the reader takes some first */
    if (s->spill_len + rest > s->spill_cap) {
        size_t cap = s->spill_len + rest > TIER_PULL_SPILL ? s->spill_len + rest
                                                           : TIER_PULL_SPILL;
        uint8_t *grown = realloc(s->spill, cap);
        if (!grown)
            return cf_fail(err, CF_ENOMEM, "out of memory");
        s->spill = grown;
        s->spill_cap = cap;
    }
    if (to_dst) {
        memcpy(s->dst + s->got, data, to_dst);
        s->got += to_dst;
    }
    if (rest) {
        memcpy(s->spill + s->spill_len, data + to_dst, rest);
        s->spill_len += rest;
    }
    return 0;
}

void tier_pull_done(tier_pull *p, int rc, const cf_err *err)
{
    p->finished = true;
    p->rc = rc;
    if (rc < 0)
        p->err = *err;
}

int tier_pull_read(tier_pull *s, uint8_t *buf, size_t n, cf_err *err)
{
    if (s->taken + n > s->want)
        return cf_fail(err, CF_EINVAL, "read past the range asked for");
    size_t from_spill = s->spill_len < n ? s->spill_len : n;
    if (from_spill) {
        memcpy(buf, s->spill, from_spill);
        memmove(s->spill, s->spill + from_spill, s->spill_len - from_spill);
        s->spill_len -= from_spill;
    }
    s->dst = buf;
    s->need = n;
    s->got = from_spill;
    int rc = 0;
    while (rc == 0 && s->got < n) {
        if (s->finished) {
            rc = s->rc < 0 ? (*err = s->err, -1)
                 : cf_fail(err, CF_ECORRUPT, "the tier's object %s ended %llu bytes early",
                           s->name, (unsigned long long)(s->want - s->taken - s->got));
            break;
        }
        s->resume(s->client);
        rc = s->run(s->client, 1000, err);
    }
    s->dst = NULL;
    if (rc == 0)
        s->taken += n;
    return rc;
}

void tier_pull_clear(tier_pull *p)
{
    free(p->spill);
    p->spill = NULL;
    p->spill_len = p->spill_cap = 0;
}
