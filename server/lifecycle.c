/*
 * server/lifecycle.c - the lifecycle worker (see lifecycle.h).
 *
 * Rules are read with the same parser that validated them (lcxml.c), once
 * per bucket per pass. Objects are walked in key order in batches; for
 * each, the enabled rules whose filter selects it decide: an expiration
 * that is due deletes it (only if it is still the version the decision
 * was made on, st_expire); otherwise the latest due transition queues it
 * for its tier, unless it is in a tier already. Transitions of a batch run
 * lifecycle.transitions at a time on their own threads; the bucket's
 * cursor is saved after each batch.
 *
 * The action budget (objects_per_s) is a token bucket: the worker sleeps
 * when it is empty, waking early only to stop.
 *
 * What a pass did is counted in its lifecycle_pass_ctl (count, under the
 * lock: transfers add theirs from their threads) and told to its progress
 * callback at each count.
 */
#include "server/lifecycle.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/lcxml.h"
#include "storage/lifecycle.h"

#define WALK_BATCH 256
#define QUEUE_BATCH 64

struct lifecycle {
    st_engine *e;
    tier_set *tiers;
    lifecycle_config cfg;
    pthread_mutex_t lock;            /* guards stopping and run; wake ends a nap */
    pthread_cond_t wake;
    bool stopping;
    lifecycle_pass_ctl *run;         /* the pass's, during a pass */
    bool recovered;                  /* the first pass undid interrupted transitions */
    double tokens, refilled_at;
};

typedef struct job {
    st_tier_candidate c;
    int64_t tier_id;
    bool restore;
} job;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool stopping(lifecycle *lc)
{
    pthread_mutex_lock(&lc->lock);
    bool s = lc->stopping;
    pthread_mutex_unlock(&lc->lock);
    return s;
}

/* Add n to one of the pass's counts (a field of lifecycle_stats) and tell
 * the progress callback. */
#define COUNT(lc, field, n) count(lc, offsetof(lifecycle_stats, field), n)

static void count(lifecycle *lc, size_t offset, uint64_t n)
{
    pthread_mutex_lock(&lc->lock);
    if (lc->run) {
        *(uint64_t *)((char *)&lc->run->stats + offset) += n;
        if (lc->run->progress)
            lc->run->progress(lc->run->ctx, &lc->run->stats);
    }
    pthread_mutex_unlock(&lc->lock);
}

/* Sleep up to seconds (0 < seconds); false once stopping. */
static bool nap(lifecycle *lc, double seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double end = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + seconds;
    until.tv_sec = (time_t)end;
    until.tv_nsec = (long)((end - (double)until.tv_sec) * 1e9);
    pthread_mutex_lock(&lc->lock);
    int rc = 0;
    while (!lc->stopping && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&lc->wake, &lc->lock, &until);
    bool go_on = !lc->stopping;
    pthread_mutex_unlock(&lc->lock);
    return go_on;
}

/* Take one action from the budget, sleeping until there is one. */
static bool spend(lifecycle *lc)
{
    for (;;) {
        double now = mono_s();
        lc->tokens += (now - lc->refilled_at) * lc->cfg.objects_per_s;
        lc->refilled_at = now;
        if (lc->tokens > lc->cfg.objects_per_s)
            lc->tokens = lc->cfg.objects_per_s;
        if (lc->tokens >= 1) {
            lc->tokens -= 1;
            return true;
        }
        if (!nap(lc, (1 - lc->tokens) / lc->cfg.objects_per_s))
            return false;
    }
}

/* ---- transfers, a batch at a time ------------------------------------------------------ */

typedef struct batch {
    lifecycle *lc;
    job *jobs;
    size_t n;
    atomic_size_t next;
} batch;

static void run_job(lifecycle *lc, const job *j)
{
    cf_err err;
    int rc = j->restore
        ? tier_restore(lc->tiers, &j->c, lc->cfg.day_seconds * 1000, &err)
        : tier_transition(lc->tiers, &j->c, j->tier_id, &err);
    /* the object changed or left meanwhile, or is stored with a customer
     * key (SSE-C: it stays local): nothing to do, nothing lost */
    if (rc < 0 && err.code != CF_ENOKEY && err.code != CF_EEXISTS && err.code != CF_ENEEDKEY) {
        fprintf(stderr, "cofferd: lifecycle: %s %s/%s: %s\n",
                j->restore ? "restore of" : "transition of", j->c.bucket, j->c.key, err.msg);
        COUNT(lc, failures, 1);
    } else if (rc == 0) {
        if (j->restore)
            COUNT(lc, restored, 1);
        else
            COUNT(lc, transitioned, 1);
        COUNT(lc, bytes_moved, j->c.size);
    }
}

/* Take jobs until none is left, or the worker stops (the running one
 * finishes: a transition is never abandoned half-way, see lifecycle.h). */
static void *batch_thread(void *arg)
{
    batch *b = arg;
    size_t i;
    while (!stopping(b->lc) && (i = atomic_fetch_add(&b->next, 1)) < b->n)
        run_job(b->lc, &b->jobs[i]);
    return NULL;
}

static void run_batch(lifecycle *lc, job *jobs, size_t n)
{
    if (n == 0)
        return;
    batch b = {.lc = lc, .jobs = jobs, .n = n};
    atomic_init(&b.next, 0);
    size_t want = (size_t)lc->cfg.transitions < n ? (size_t)lc->cfg.transitions : n;
    pthread_t th[64];
    size_t started = 0;
    for (size_t i = 1; i < want && i < 64; i++)
        if (pthread_create(&th[started], NULL, batch_thread, &b) == 0)
            started++;
    batch_thread(&b);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
}

/* ---- the queues: remote deletes, restores, PUT storage classes ------------------------------- */

static int delete_one(void *ctx, const st_remote_delete *d)
{
    lifecycle *lc = ctx;
    cf_err err;
    if (!spend(lc))
        return 1;
    if (tier_remote_delete(lc->tiers, d, &err) < 0) {
        if (d->attempts == 0)
            fprintf(stderr, "cofferd: lifecycle: deleting remote object %s: %s (will "
                    "retry)\n", d->remote_id, err.msg);
        COUNT(lc, failures, 1);
    } else {
        COUNT(lc, remote_deletes, 1);
    }
    return 0;
}

typedef struct collect {
    lifecycle *lc;
    job jobs[QUEUE_BATCH];
    size_t n;
    bool restore;
} collect;

static int collect_one(void *ctx, const st_tier_candidate *c)
{
    collect *q = ctx;
    if (q->n == QUEUE_BATCH || !spend(q->lc))
        return 1;
    q->jobs[q->n].c = *c;
    q->jobs[q->n].tier_id = c->tier_id;
    q->jobs[q->n].restore = q->restore;
    q->n++;
    return 0;
}

static void drain_queues(lifecycle *lc)
{
    cf_err err;
    uint64_t n = 0;
    if (st_remote_deletes_due(lc->e, QUEUE_BATCH * 4, delete_one, lc, &err) < 0)
        fprintf(stderr, "cofferd: lifecycle: remote deletes: %s\n", err.msg);
    if (st_restore_expire(lc->e, &n, &err) < 0)
        fprintf(stderr, "cofferd: lifecycle: restore expiry: %s\n", err.msg);
    collect q = {.lc = lc, .restore = true};
    if (st_restore_due(lc->e, QUEUE_BATCH, collect_one, &q, &err) < 0)
        fprintf(stderr, "cofferd: lifecycle: restores: %s\n", err.msg);
    run_batch(lc, q.jobs, q.n);
    q = (collect){.lc = lc};
    if (st_tier_pending(lc->e, QUEUE_BATCH, collect_one, &q, &err) < 0)
        fprintf(stderr, "cofferd: lifecycle: pending transitions: %s\n", err.msg);
    run_batch(lc, q.jobs, q.n);
}

/* ---- rules ------------------------------------------------------------------------------- */

typedef struct walk {
    lifecycle *lc;
    const st_lifecycle_bucket *b;
    const lcxml_config *cfg;
    int64_t now_ms;
    job jobs[WALK_BATCH];
    size_t njobs;
    char last[ST_MAX_KEY + 1];
    bool stop;
} walk;

/* The tier a transition's storage class names (through the class map). */
static int64_t tier_of(lifecycle *lc, const char *storage_class)
{
    const char *name = config_map_class(&lc->cfg, storage_class);
    st_tier t;
    cf_err err;
    if (st_tier_get(lc->e, name, 0, false, &t, &err) < 0)
        return 0;
    int64_t id = t.id;
    st_tier_clear(&t);
    return id;
}

static int decide(void *ctx, const st_lifecycle_object *o)
{
    walk *w = ctx;
    lifecycle *lc = w->lc;
    int64_t day_ms = lc->cfg.day_seconds * 1000;
    snprintf(w->last, sizeof w->last, "%s", o->key);
    COUNT(lc, examined, 1);
    bool expire = false;
    const lcxml_transition *move = NULL;
    int64_t move_due = 0;
    for (size_t i = 0; i < w->cfg->nrules; i++) {
        const lcxml_rule *r = &w->cfg->rules[i];
        if (!r->enabled || !lcxml_match(&r->filter, o->key, o->size, o->tags, o->ntags))
            continue;
        if (lcxml_due_ms(&r->expiration, o->mtime_ms, day_ms) <= w->now_ms)
            expire = true;
        for (size_t j = 0; j < r->ntransitions; j++) {
            int64_t due = lcxml_due_ms(&r->transitions[j].when, o->mtime_ms, day_ms);
            if (due <= w->now_ms && (!move || due > move_due)) {
                move = &r->transitions[j];
                move_due = due;
            }
        }
    }
    if (!expire && (!move || (o->tier_state != ST_TIER_NONE &&
                              o->tier_state != ST_TIER_PENDING)))
        return 0;
    if (!spend(lc)) {
        w->stop = true;
        return 1;
    }
    cf_err err;
    if (expire) {
        int rc = st_expire(lc->e, w->b->tenant, w->b->bucket, o->key, o->version_id, &err);
        if (rc < 0) {
            fprintf(stderr, "cofferd: lifecycle: expiring %s/%s: %s\n", w->b->bucket,
                    o->key, err.msg);
            COUNT(lc, failures, 1);
        }
        if (rc > 0)
            COUNT(lc, expired, 1);
        return 0;
    }
    int64_t tier_id = tier_of(lc, move->storage_class);
    if (!tier_id) {
        fprintf(stderr, "cofferd: lifecycle: bucket %s: storage class %s is no tier any "
                "more; %s stays\n", w->b->bucket, move->storage_class, o->key);
        return 0;
    }
    job *j = &w->jobs[w->njobs++];
    memset(j, 0, sizeof *j);
    snprintf(j->c.tenant, sizeof j->c.tenant, "%s", w->b->tenant);
    snprintf(j->c.bucket, sizeof j->c.bucket, "%s", w->b->bucket);
    snprintf(j->c.key, sizeof j->c.key, "%s", o->key);
    snprintf(j->c.version_id, sizeof j->c.version_id, "%s", o->version_id);
    j->c.tier_id = j->tier_id = tier_id;
    j->c.size = o->size;
    return 0;
}

typedef struct stale_upload {
    char key[ST_MAX_KEY + 1];
    char id[ST_ID_HEX];
} stale_upload;

typedef struct stale {
    stale_upload *ups;
    size_t n, cap;
    int64_t before_ms;
    char key_marker[ST_MAX_KEY + 1], id_marker[ST_ID_HEX];
} stale;

static int note_upload(void *ctx, const st_upload_info *u)
{
    stale *s = ctx;
    snprintf(s->key_marker, sizeof s->key_marker, "%s", u->key);
    snprintf(s->id_marker, sizeof s->id_marker, "%s", u->upload_id);
    if (u->created_ms > s->before_ms || s->n == s->cap)
        return 0;
    snprintf(s->ups[s->n].key, sizeof s->ups[s->n].key, "%s", u->key);
    snprintf(s->ups[s->n].id, sizeof s->ups[s->n].id, "%s", u->upload_id);
    s->n++;
    return 0;
}

/* AbortIncompleteMultipartUpload: uploads under the rule's prefix older
 * than its days (listed first: the listing holds the index lock). */
static void abort_stale(lifecycle *lc, const st_lifecycle_bucket *b, const lcxml_rule *r,
                        int64_t now_ms)
{
    stale s = {.cap = WALK_BATCH, .before_ms = now_ms - r->abort_days *
                                                          lc->cfg.day_seconds * 1000};
    if (!(s.ups = calloc(s.cap, sizeof *s.ups)))
        return;
    bool more = true;
    cf_err err;
    while (more && !stopping(lc)) {
        s.n = 0;
        if (st_upload_list(lc->e, b->tenant, b->bucket, r->filter.prefix, s.key_marker,
                           s.id_marker[0] ? s.id_marker : NULL, (int)s.cap, note_upload, &s,
                           &more, &err) < 0)
            break;
        for (size_t i = 0; i < s.n && spend(lc); i++) {
            int rc = st_upload_abort(lc->e, b->tenant, b->bucket, s.ups[i].key, s.ups[i].id,
                                     &err);
            if (rc < 0 && err.code != CF_ENOUPLOAD) {
                fprintf(stderr, "cofferd: lifecycle: aborting an upload of %s/%s: %s\n",
                        b->bucket, s.ups[i].key, err.msg);
                COUNT(lc, failures, 1);
            }
            if (rc == 0)
                COUNT(lc, uploads_aborted, 1);
        }
    }
    free(s.ups);
}

/* Is bucket b in the pass's scope? */
static bool in_scope(lifecycle *lc, const st_lifecycle_bucket *b)
{
    const lifecycle_pass_ctl *r = lc->run;
    return !r || ((!r->tenant || strcmp(r->tenant, b->tenant) == 0) &&
                  (!r->bucket || strcmp(r->bucket, b->bucket) == 0));
}

static int apply_bucket(void *ctx, const st_lifecycle_bucket *b)
{
    lifecycle *lc = ctx;
    if (!in_scope(lc, b))
        return 0;
    pool *p = pool_new();
    xmlread_doc *doc = NULL;
    lcxml_config cfg;
    lcxml_err lerr;
    if (!p)
        return 1;
    if (lcxml_lifecycle_parse(b->xml, b->len, p, &doc, &cfg, &lerr) < 0) {
        fprintf(stderr, "cofferd: lifecycle: bucket %s: its configuration no longer reads: "
                "%s\n", b->bucket, lerr.msg);
        xmlread_free(doc);
        pool_free(p);
        return 0;
    }
    walk *w = calloc(1, sizeof *w);
    cf_err err;
    bool more = w != NULL;
    if (w) {
        *w = (walk){.lc = lc, .b = b, .cfg = &cfg, .now_ms = wall_ms()};
        snprintf(w->last, sizeof w->last, "%s", b->cursor);
    }
    while (more && !w->stop && !stopping(lc)) {
        w->njobs = 0;
        if (st_lifecycle_objects(lc->e, b->tenant, b->bucket, "", w->last, WALK_BATCH,
                                 decide, w, &more, &err) < 0) {
            fprintf(stderr, "cofferd: lifecycle: bucket %s: %s\n", b->bucket, err.msg);
            break;
        }
        run_batch(lc, w->jobs, w->njobs);
        /* the next pass resumes here, or starts over when this one is done */
        if (st_lifecycle_cursor(lc->e, b->tenant, b->bucket, more ? w->last : "", &err) < 0)
            fprintf(stderr, "cofferd: lifecycle: bucket %s: %s\n", b->bucket, err.msg);
    }
    for (size_t i = 0; w && i < cfg.nrules && !stopping(lc); i++)
        if (cfg.rules[i].enabled && cfg.rules[i].abort_days)
            abort_stale(lc, b, &cfg.rules[i], w->now_ms);
    free(w);
    xmlread_free(doc);
    pool_free(p);
    return stopping(lc) ? 1 : 0;
}

static int pass(lifecycle *lc, cf_err *err)
{
    if (!lc->recovered) {
        uint64_t aborted = 0;
        if (st_tier_recover(lc->e, &aborted, err) < 0)
            return -1;               /* the next pass tries again, before anything else */
        lc->recovered = true;
        if (aborted)
            fprintf(stderr, "cofferd: lifecycle: %llu transitions interrupted by a restart "
                    "were undone; their remote objects are queued for deletion\n",
                    (unsigned long long)aborted);
    }
    drain_queues(lc);
    if (!stopping(lc) && st_lifecycle_buckets(lc->e, apply_bucket, lc, err) < 0)
        return -1;
    return 0;
}

int lifecycle_pass(lifecycle *lc, lifecycle_pass_ctl *run, cf_err *err)
{
    pthread_mutex_lock(&lc->lock);
    lc->run = run;
    pthread_mutex_unlock(&lc->lock);
    int rc = pass(lc, err);
    pthread_mutex_lock(&lc->lock);
    lc->run = NULL;
    pthread_mutex_unlock(&lc->lock);
    return rc;
}

int lifecycle_new(st_engine *e, tier_set *tiers, const lifecycle_config *cfg,
                  lifecycle **out, cf_err *err)
{
    lifecycle *lc = calloc(1, sizeof *lc);
    if (!lc)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    lc->e = e;
    lc->tiers = tiers;
    lc->cfg = *cfg;
    lc->tokens = cfg->objects_per_s;
    lc->refilled_at = mono_s();
    pthread_mutex_init(&lc->lock, NULL);
    pthread_cond_init(&lc->wake, NULL);
    *out = lc;
    return 0;
}

void lifecycle_cancel(lifecycle *lc)
{
    if (!lc)
        return;
    pthread_mutex_lock(&lc->lock);
    lc->stopping = true;
    pthread_cond_broadcast(&lc->wake);
    pthread_mutex_unlock(&lc->lock);
}

void lifecycle_free(lifecycle *lc)
{
    if (!lc)
        return;
    pthread_cond_destroy(&lc->wake);
    pthread_mutex_destroy(&lc->lock);
    free(lc);
}
