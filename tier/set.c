/*
 * tier/set.c - the tiers of one engine, opened from its registry on first
 * use (a tier's secret is unsealed only then, and lives in the open type's
 * memory), the remote reader the engine reads tiered blocks through, and
 * each tier's recent transfer rate (bytes moved, per second, over the last
 * RATE_WINDOW seconds) for `coffer tier status`.
 */
#include "tier/tier.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"

#define RATE_WINDOW 10

typedef struct live_tier {
    int64_t id;
    const tier_type *type;
    void *impl;
    uint64_t bytes[RATE_WINDOW + 1];     /* per second, ring indexed by time */
    int64_t second[RATE_WINDOW + 1];
    struct live_tier *next;
} live_tier;

struct tier_set {
    st_engine *e;
    tier_limits lim;
    pthread_mutex_t lock;                /* guards list and the rate rings */
    live_tier *list;
    st_remote_ops ops;
};

const tier_type *tier_type_find(const char *name)
{
    static const tier_type *const types[] = {&tier_type_s3, &tier_type_azure};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i]->name, name) == 0)
            return types[i];
    return NULL;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The open tier with this id, opening it on first use. */
static live_tier *tier_get(tier_set *s, int64_t id, cf_err *err)
{
    pthread_mutex_lock(&s->lock);
    live_tier *lt = s->list;
    while (lt && lt->id != id)
        lt = lt->next;
    if (lt) {
        pthread_mutex_unlock(&s->lock);
        return lt;
    }
    st_tier t;
    int rc = st_tier_get(s->e, NULL, id, true, &t, err);
    const tier_type *type = rc == 0 ? tier_type_find(t.type) : NULL;
    if (rc == 0 && !type)
        rc = cf_fail(err, CF_ECONFIG, "tier %s has type %s, which this cofferd does not know",
                     t.name, t.type);
    if (rc == 0 && !(lt = calloc(1, sizeof *lt)))
        rc = cf_fail(err, CF_ENOMEM, "out of memory");
    if (rc == 0 && type->open(&t, &s->lim, &lt->impl, err) < 0) {
        free(lt);
        lt = NULL;
        rc = -1;
    }
    if (rc == 0) {
        lt->id = id;
        lt->type = type;
        lt->next = s->list;
        s->list = lt;
    }
    if (t.config)
        st_tier_clear(&t);
    pthread_mutex_unlock(&s->lock);
    return rc == 0 ? lt : NULL;
}

static void note_bytes(tier_set *s, live_tier *lt, uint64_t n)
{
    int64_t sec = clock_mono_ms() / 1000;
    size_t i = (size_t)(sec % (RATE_WINDOW + 1));
    pthread_mutex_lock(&s->lock);
    if (lt->second[i] != sec) {
        lt->second[i] = sec;
        lt->bytes[i] = 0;
    }
    lt->bytes[i] += n;
    pthread_mutex_unlock(&s->lock);
}

uint64_t tier_rate(tier_set *s, int64_t tier_id)
{
    int64_t sec = clock_mono_ms() / 1000;
    uint64_t total = 0;
    pthread_mutex_lock(&s->lock);
    for (live_tier *lt = s->list; lt; lt = lt->next) {
        if (lt->id != tier_id)
            continue;
        /* the last RATE_WINDOW whole seconds */
        for (size_t i = 0; i <= RATE_WINDOW; i++)
            if (lt->second[i] < sec && lt->second[i] >= sec - RATE_WINDOW)
                total += lt->bytes[i];
    }
    pthread_mutex_unlock(&s->lock);
    return total / RATE_WINDOW;
}

/* ---- the engine's remote reader ------------------------------------------------------ */

typedef struct set_stream {
    tier_set *s;
    live_tier *lt;
    void *inner;
} set_stream;

static int remote_open(void *ctx, int64_t tier_id, const char *remote_id, uint64_t off,
                       uint64_t len, void **stream, cf_err *err)
{
    tier_set *s = ctx;
    live_tier *lt = tier_get(s, tier_id, err);
    set_stream *ss = lt ? calloc(1, sizeof *ss) : NULL;
    if (lt && !ss)
        cf_fail(err, CF_ENOMEM, "out of memory");
    if (!ss)
        return -1;
    ss->s = s;
    ss->lt = lt;
    if (lt->type->stream_open(lt->impl, remote_id, off, len, &ss->inner, err) < 0) {
        free(ss);
        return -1;
    }
    *stream = ss;
    return 0;
}

static int remote_read(void *stream, uint8_t *buf, size_t n, cf_err *err)
{
    set_stream *ss = stream;
    if (ss->lt->type->stream_read(ss->inner, buf, n, err) < 0)
        return -1;
    note_bytes(ss->s, ss->lt, n);
    return 0;
}

static void remote_close(void *stream)
{
    set_stream *ss = stream;
    ss->lt->type->stream_close(ss->inner);
    free(ss);
}

int tier_set_new(st_engine *e, const tier_limits *lim, tier_set **out, cf_err *err)
{
    tier_set *s = calloc(1, sizeof *s);
    if (!s)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    s->e = e;
    s->lim = *lim;
    pthread_mutex_init(&s->lock, NULL);
    s->ops = (st_remote_ops){.open = remote_open, .read = remote_read,
                             .close = remote_close, .ctx = s};
    st_remote_set(e, &s->ops);
    *out = s;
    return 0;
}

void tier_set_free(tier_set *s)
{
    if (!s)
        return;
    st_remote_set(s->e, NULL);
    while (s->list) {
        live_tier *lt = s->list;
        s->list = lt->next;
        lt->type->close(lt->impl);
        free(lt);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int tier_add(tier_set *s, const char *name, const char *type, const char *settings_json,
             const char *secret, cf_err *err)
{
    const tier_type *tt = tier_type_find(type);
    if (!tt)
        return cf_fail(err, CF_EINVAL, "unknown tier type \"%.20s\" (known: s3, azure)", type);
    if (!names_tier_ok(name))
        return cf_fail(err, CF_EINVAL, "a tier name is 1 to %d characters of A-Z, 0-9, _ "
                       "and -, and not an AWS storage class (STANDARD, GLACIER, ...)",
                       ST_TIER_NAME_MAX);
    st_tier have;
    if (st_tier_get(s->e, name, 0, false, &have, err) == 0) {
        st_tier_clear(&have);
        return cf_fail(err, CF_EEXISTS, "a tier named %s exists already", name);
    }
    if (strlen(secret) > ST_TIER_SECRET_MAX)
        return cf_fail(err, CF_EINVAL, "the tier's secret is longer than %d bytes",
                       ST_TIER_SECRET_MAX);
    char *config = NULL;
    void *impl = NULL;
    st_tier probe = {0};
    snprintf(probe.name, sizeof probe.name, "%s", name);
    snprintf(probe.type, sizeof probe.type, "%s", type);
    snprintf(probe.secret, sizeof probe.secret, "%s", secret);
    int rc = tt->configure(settings_json, &config, err);
    probe.config = config;
    if (rc == 0)
        rc = tt->open(&probe, &s->lim, &impl, err);
    if (rc == 0) {
        rc = tt->probe(impl, err);
        tt->close(impl);
    }
    if (rc == 0)
        rc = st_tier_add(s->e, name, type, config, secret, err);
    free(config);
    probe.config = NULL;
    st_tier_clear(&probe);
    return rc;
}

/* ---- moving versions -------------------------------------------------------------------- */

typedef struct trans_src {
    st_engine *e;
    const st_transition *t;
} trans_src;

static int src_open(void *ctx, void **rd, cf_err *err)
{
    trans_src *ts = ctx;
    return st_tobj_open(ts->e, ts->t, (st_tobj **)rd, err);
}

static int src_read(void *rd, uint64_t off, uint8_t *buf, size_t len, cf_err *err)
{
    return st_tobj_read(rd, off, buf, len, err);
}

static void src_close(void *rd)
{
    st_tobj_close(rd);
}

static int src_upload_id(void *ctx, const char *upload_id, cf_err *err)
{
    trans_src *ts = ctx;
    return st_transition_uploading(ts->e, ts->t, upload_id, err);
}

int tier_transition(tier_set *s, const st_tier_candidate *c, int64_t tier_id, cf_err *err)
{
    st_transition t;
    if (st_transition_begin(s->e, c->tenant, c->bucket, c->key, c->version_id, tier_id, &t,
                            err) < 0)
        return -1;
    trans_src ts = {.e = s->e, .t = &t};
    tier_src src = {.open = src_open, .read = src_read, .close = src_close,
                    .on_upload_id = src_upload_id, .ctx = &ts, .length = t.total_len};
    char etag[TIER_ETAG_MAX];
    live_tier *lt = tier_get(s, tier_id, err);
    int rc = lt ? lt->type->put(lt->impl, t.remote_id, &src, etag, err) : -1;
    if (rc == 0) {
        note_bytes(s, lt, t.total_len);
        rc = st_transition_commit(s->e, &t, etag, err);
    } else {
        cf_err aerr;
        st_tier_note_error(s->e, tier_id, err->msg);
        if (st_transition_abort(s->e, &t, &aerr) < 0)
            fprintf(stderr, "cofferd: tier: %s\n", aerr.msg);
    }
    st_transition_clear(&t);
    return rc;
}

typedef struct restore_src {
    live_tier *lt;
    void *stream;
    tier_set *s;
} restore_src;

static int restore_pull(void *ctx, uint8_t *buf, size_t len, cf_err *err)
{
    restore_src *r = ctx;
    if (r->lt->type->stream_read(r->stream, buf, len, err) < 0)
        return -1;
    note_bytes(r->s, r->lt, len);
    return 0;
}

int tier_restore(tier_set *s, const st_tier_candidate *c, int64_t day_ms, cf_err *err)
{
    char remote_id[ST_REMOTE_ID_HEX];
    uint64_t off, len;
    if (st_tier_locate(s->e, c->version_id, remote_id, &off, &len, err) < 0)
        return -1;
    restore_src r = {.s = s, .lt = tier_get(s, c->tier_id, err)};
    if (!r.lt)
        return -1;
    const tier_type *tt = r.lt->type;
    int rc = tt->online ? tt->online(r.lt->impl, remote_id, true, err) : 1;
    if (rc == 0)                     /* rehydrating: a later pass looks again */
        return st_restore_later(s->e, c->version_id, err);
    if (rc > 0)
        rc = tt->stream_open(r.lt->impl, remote_id, off, len, &r.stream, err);
    if (rc == 0) {
        rc = st_restore_import(s->e, c, day_ms, restore_pull, &r, err);
        tt->stream_close(r.stream);
    }
    if (rc == 0 && tt->online && tt->online(r.lt->impl, remote_id, false, err) < 0) {
        char why[CF_ERRMSG_MAX];     /* restored all the same: the worker logs this */
        snprintf(why, sizeof why, "%s", err->msg);
        rc = cf_fail(err, err->code, "restored, but the remote object could not be sent "
                     "back offline (it stays readable, at its cost): %.180s", why);
    }
    if (rc < 0 && err->code != CF_ENOKEY)
        st_tier_note_error(s->e, c->tier_id, err->msg);
    return rc;
}

int tier_remote_delete(tier_set *s, const st_remote_delete *d, cf_err *err)
{
    live_tier *lt = tier_get(s, d->tier_id, err);
    int rc = lt ? lt->type->del(lt->impl, d->remote_id, d->upload_id, d->uncertain, err)
                : -1;
    cf_err qerr;
    if (rc == 0)
        return st_remote_delete_done(s->e, d->remote_id, s->lim.recheck_ms, err);
    /* 2 s, 4 s, ... up to ten minutes between tries */
    int64_t wait_s = d->attempts < 9 ? (int64_t)2 << d->attempts : 600;
    st_tier_note_error(s->e, d->tier_id, err->msg);
    if (st_remote_delete_retry(s->e, d->remote_id, wall_ms() + wait_s * 1000, err->msg,
                               &qerr) < 0)
        fprintf(stderr, "cofferd: tier: %s\n", qerr.msg);
    return -1;
}

/* ---- coffer tier recover ------------------------------------------------------------- */

#define RECOVER_HEADER_MAX (64u << 20)

typedef struct recover_ctx {
    tier_set *s;
    live_tier *lt;
    int64_t tier_id;
    tier_recover_report *rep;
} recover_ctx;

/* Bytes [0, len) of remote object name into buf. */
static int read_head(live_tier *lt, const char *name, uint8_t *buf, uint64_t len,
                     cf_err *err)
{
    void *stream;
    if (lt->type->stream_open(lt->impl, name, 0, len, &stream, err) < 0)
        return -1;
    int rc = lt->type->stream_read(stream, buf, (size_t)len, err);
    lt->type->stream_close(stream);
    return rc;
}

static bool remote_name(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", name[i]))
            return false;
    return n == ST_REMOTE_ID_HEX - 1;
}

static int recover_one(void *ctx, const tier_listed *o, cf_err *err)
{
    recover_ctx *rc = ctx;
    tier_recover_report *rep = rc->rep;
    rep->listed++;
    if (!remote_name(o->name)) {
        rep->other++;
        return 0;
    }
    uint8_t pre[16], *head = NULL;
    uint64_t len = 0;
    st_adopt_info info;
    cf_err why = {0};
    int r = o->size < sizeof pre ? cf_fail(&why, CF_ECORRUPT, "shorter than a header")
          : read_head(rc->lt, o->name, pre, sizeof pre, err) < 0 ? -2
          : st_remote_header_len(pre, &len, &why);
    if (r == 0 && (len > o->size || len > RECOVER_HEADER_MAX))
        r = cf_fail(&why, CF_ECORRUPT, "its header is longer than the object");
    if (r == 0 && !(head = malloc((size_t)len)))
        return cf_fail(err, CF_ENOMEM, "out of memory");
    if (r == 0 && read_head(rc->lt, o->name, head, len, err) < 0)
        r = -2;
    if (r == 0 && st_tier_adopt(rc->s->e, rc->tier_id, o->name, head, (size_t)len, o->size,
                                o->etag, &info, &why) < 0)
        r = -1;
    free(head);
    if (r == -2)                     /* the remote failed: stop, a rerun resumes */
        return -1;
    if (r < 0 && why.code != CF_ECORRUPT) {
        *err = why;
        return -1;
    }
    if (r < 0) {
        if (!rep->unreadable++)
            snprintf(rep->unreadable_msg, sizeof rep->unreadable_msg, "%.32s: %.250s", o->name,
                     why.msg);
        return 0;
    }
    if (info.result == ST_ADOPT_ADDED)
        rep->added++;
    else if (info.result == ST_ADOPT_PRESENT)
        rep->present++;
    else
        rep->key_taken++;
    return 0;
}

int tier_recover(tier_set *s, const char *name, const char *after,
                 tier_recover_report *rep, cf_err *err)
{
    memset(rep, 0, sizeof *rep);
    st_tier t;
    if (st_tier_get(s->e, name, 0, false, &t, err) < 0)
        return -1;
    recover_ctx rc = {.s = s, .tier_id = t.id, .rep = rep};
    st_tier_clear(&t);
    if (!(rc.lt = tier_get(s, rc.tier_id, err)))
        return -1;
    if (!rc.lt->type->list)
        return cf_fail(err, CF_EINVAL, "tier %s's type cannot list its objects", name);
    int r = rc.lt->type->list(rc.lt->impl, after, recover_one, &rc, rep->next, err);
    if (r < 0)
        st_tier_note_error(s->e, rc.tier_id, err->msg);
    return r;
}
