/*
 * server/lifecycle.c - the lifecycle worker (see lifecycle.h).
 *
 * Rules are read with the same parser that validated them (lcxml.c), once
 * per bucket per pass. Versions are walked in (key, newest first) order in
 * batches; for each, the enabled rules whose filter selects it decide:
 *   - the current version: an expiration that is due deletes it as a
 *     DELETE without a version id would (a marker in a versioned bucket),
 *     only if it is still the version the decision was made on
 *     (st_expire); otherwise the latest due transition queues it for its
 *     tier, unless it is in a tier already;
 *   - a noncurrent version (or marker), counting the noncurrent object
 *     versions of its key seen before it (newer): a due noncurrent
 *     expiration destroys it if it is still noncurrent since the same
 *     time with as many newer ones (st_expire_noncurrent), unless object
 *     lock protects it; otherwise the latest due noncurrent transition
 *     queues it;
 *   - the latest marker: once the walk leaves its key without having seen
 *     another version, ExpiredObjectDeleteMarker removes it if it is still
 *     alone (st_expire_marker), and so does an Expiration by Days once the
 *     marker is that many days old (S3's implicit clean-up).
 * The engine re-checks every condition in the delete's transaction and
 * refuses to destroy a locked version (CF_ELOCKED): the worker counts
 * those and logs the count per bucket; it skips versions it can see are
 * locked before spending an action on them. Transitions of a batch run
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

#include "common/clock.h"
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
        double now = clock_mono_s();
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
    char last[ST_MAX_KEY + 1];       /* the key the walk is in */
    int64_t last_seq;                /* ... and its last version seen (0: all of it) */
    int64_t newer;                   /* noncurrent object versions of it seen so far */
    bool marker_pending;             /* its latest is a marker a rule would remove if
                                        it turns out to be the key's only version */
    char marker_vid[ST_ID_HEX];
    uint64_t locked;                 /* versions kept because of object lock */
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

static bool rule_selects(const lcxml_rule *r, const st_lifecycle_object *o)
{
    return r->enabled && lcxml_match(&r->filter, o->key, o->size, o->tags, o->ntags);
}

/* Queue the version for the tier the storage class names. */
static void queue_transition(walk *w, const st_lifecycle_object *o, const char *storage_class)
{
    int64_t tier_id = tier_of(w->lc, storage_class);
    if (!tier_id) {
        fprintf(stderr, "cofferd: lifecycle: bucket %s: storage class %s is no tier any "
                "more; %s stays\n", w->b->bucket, storage_class, o->key);
        return;
    }
    job *j = &w->jobs[w->njobs++];
    memset(j, 0, sizeof *j);
    snprintf(j->c.tenant, sizeof j->c.tenant, "%s", w->b->tenant);
    snprintf(j->c.bucket, sizeof j->c.bucket, "%s", w->b->bucket);
    snprintf(j->c.key, sizeof j->c.key, "%s", o->key);
    snprintf(j->c.version_id, sizeof j->c.version_id, "%s", o->version_id);
    j->c.tier_id = j->tier_id = tier_id;
    j->c.size = o->size;
}

/* An expiration's outcome: a version under object lock is counted, not
 * an error (lifecycle never destroys one: it stays until its retention
 * ends or its hold is lifted). */
static void expired(walk *w, int rc, const char *what, const char *key, const cf_err *err)
{
    if (rc > 0)
        COUNT(w->lc, expired, 1);
    if (rc >= 0)
        return;
    if (err->code == CF_ELOCKED) {
        w->locked++;
    } else {
        fprintf(stderr, "cofferd: lifecycle: %s %s/%s: %s\n", what, w->b->bucket, key,
                err->msg);
        COUNT(w->lc, failures, 1);
    }
}

static bool may_transition(const st_lifecycle_object *o)
{
    return !o->marker && (o->tier_state == ST_TIER_NONE || o->tier_state == ST_TIER_PENDING);
}

/* The current version: Expiration (a marker in a versioned bucket, as
 * S3), else the latest due Transition. */
static int decide_current(walk *w, const st_lifecycle_object *o)
{
    int64_t day_ms = w->lc->cfg.day_seconds * 1000;
    bool expire = false;
    const lcxml_transition *move = NULL;
    int64_t move_due = 0;
    for (size_t i = 0; i < w->cfg->nrules; i++) {
        const lcxml_rule *r = &w->cfg->rules[i];
        if (!rule_selects(r, o))
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
    if (!expire && (!move || !may_transition(o)))
        return 0;
    if (!spend(w->lc)) {
        w->stop = true;
        return 1;
    }
    cf_err err;
    if (expire)
        expired(w, st_expire(w->lc->e, w->b->tenant, w->b->bucket, o->key, o->version_id,
                             &err), "expiring", o->key, &err);
    else
        queue_transition(w, o, move->storage_class);
    return 0;
}

/* A retention in force or a legal hold, by the wall clock: the engine's
 * lock clock is never behind it, so a version this calls free may still
 * be refused there (CF_ELOCKED, counted the same), never the reverse. */
static bool under_lock(const walk *w, const st_lifecycle_object *o)
{
    return o->legal_hold == ST_HOLD_ON ||
           (o->lock_mode != ST_LOCK_NONE && o->retain_until_ms > w->now_ms);
}

/* A noncurrent version or marker: NoncurrentVersionExpiration, else the
 * latest due NoncurrentVersionTransition; w->newer noncurrent object
 * versions of the key are newer than it. */
static int decide_noncurrent(walk *w, const st_lifecycle_object *o)
{
    int64_t day_ms = w->lc->cfg.day_seconds * 1000;
    bool expire = false;
    int64_t keep = 0, move_due = 0;
    const lcxml_noncurrent *move = NULL;
    for (size_t i = 0; o->noncurrent_ms > 0 && i < w->cfg->nrules; i++) {
        const lcxml_rule *r = &w->cfg->rules[i];
        if (!rule_selects(r, o))
            continue;
        if (lcxml_noncurrent_due_ms(&r->nc_expiration, o->noncurrent_ms, w->newer,
                                    day_ms) <= w->now_ms) {
            expire = true;
            keep = r->nc_expiration.keep > keep ? r->nc_expiration.keep : keep;
        }
        for (size_t j = 0; j < r->nnc_transitions; j++) {
            int64_t due = lcxml_noncurrent_due_ms(&r->nc_transitions[j], o->noncurrent_ms,
                                                  w->newer, day_ms);
            if (due <= w->now_ms && (!move || due > move_due)) {
                move = &r->nc_transitions[j];
                move_due = due;
            }
        }
    }
    if (expire && under_lock(w, o)) {
        w->locked++;
        expire = false;              /* it may still move to a tier */
    }
    if (!expire && (!move || !may_transition(o)))
        return 0;
    if (!spend(w->lc)) {
        w->stop = true;
        return 1;
    }
    cf_err err;
    if (expire)
        expired(w, st_expire_noncurrent(w->lc->e, w->b->tenant, w->b->bucket, o->key,
                                        o->version_id, o->noncurrent_ms, keep, &err),
                "expiring a noncurrent version of", o->key, &err);
    else
        queue_transition(w, o, move->storage_class);
    return 0;
}

/* Whether rule r removes the latest marker o once it is found alone:
 * ExpiredObjectDeleteMarker at once, and, as S3 does, an Expiration by
 * Days once the marker is that many days old (an Expiration by Date
 * does not: S3 names Days only). */
static bool removes_marker(const walk *w, const lcxml_rule *r, const st_lifecycle_object *o)
{
    if (!rule_selects(r, o))
        return false;
    if (r->expire_marker)
        return true;
    return r->expiration.set && !r->expiration.by_date &&
           lcxml_due_ms(&r->expiration, o->mtime_ms, w->lc->cfg.day_seconds * 1000) <=
               w->now_ms;
}

/* The key the walk was in is done: its latest marker, if a rule
 * (ExpiredObjectDeleteMarker) wanted it and no other version followed,
 * goes (the engine checks again that it is alone). */
static void flush_marker(walk *w)
{
    if (!w->marker_pending)
        return;
    w->marker_pending = false;
    if (!spend(w->lc)) {
        w->stop = true;
        return;
    }
    cf_err err;
    expired(w, st_expire_marker(w->lc->e, w->b->tenant, w->b->bucket, w->last,
                                w->marker_vid, &err), "removing the delete marker of",
            w->last, &err);
}

static int decide(void *ctx, const st_lifecycle_object *o)
{
    walk *w = ctx;
    COUNT(w->lc, examined, 1);
    if (strcmp(w->last, o->key) != 0) {
        flush_marker(w);
        if (w->stop)
            return 1;
        snprintf(w->last, sizeof w->last, "%s", o->key);
        w->newer = 0;
    } else {
        w->marker_pending = false;   /* the key has another version */
    }
    w->last_seq = o->seq;
    if (o->current)
        return decide_current(w, o);
    if (o->marker && o->latest) {
        for (size_t i = 0; i < w->cfg->nrules && !w->marker_pending; i++)
            if (removes_marker(w, &w->cfg->rules[i], o)) {
                w->marker_pending = true;
                snprintf(w->marker_vid, sizeof w->marker_vid, "%s", o->version_id);
            }
        return 0;
    }
    int rc = decide_noncurrent(w, o);
    if (!o->marker)
        w->newer++;
    return rc;
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
        snprintf(w->last, sizeof w->last, "%s", b->cursor);   /* last_seq 0: after it */
    }
    while (more && !w->stop && !stopping(lc)) {
        w->njobs = 0;
        if (st_lifecycle_objects(lc->e, b->tenant, b->bucket, "", w->last, w->last_seq,
                                 WALK_BATCH, decide, w, &more, &err) < 0) {
            fprintf(stderr, "cofferd: lifecycle: bucket %s: %s\n", b->bucket, err.msg);
            break;
        }
        if (!more && !w->stop)
            flush_marker(w);         /* the last key is done */
        run_batch(lc, w->jobs, w->njobs);
        /* the next pass resumes after this key (the rest of a key cut by a
         * restart waits for the next pass), or starts over when done */
        if (st_lifecycle_cursor(lc->e, b->tenant, b->bucket, more ? w->last : "", &err) < 0)
            fprintf(stderr, "cofferd: lifecycle: bucket %s: %s\n", b->bucket, err.msg);
    }
    if (w && w->locked) {
        fprintf(stderr, "cofferd: lifecycle: bucket %s: %llu versions under object lock "
                "kept (lifecycle never destroys a locked version)\n", b->bucket,
                (unsigned long long)w->locked);
        COUNT(lc, locked_kept, w->locked);
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
    lc->refilled_at = clock_mono_s();
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
