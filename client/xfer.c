/*
 * client/xfer.c - sending: one libcurl multi handle per client drives
 * every attempt of every operation from the caller's thread, whatever
 * the protocol (S3 or Azure Blob: their differences are s3c_proto's
 * hooks, see internal.h).
 *
 * An attempt: sign (the protocol's hook: a fresh date and signature each
 * time; for aws-chunked a fresh seed, so the chunk chain restarts),
 * build the header list, take an easy handle from the client's idle list (the
 * multi handle keeps the connections, so they are reused whichever easy
 * handle runs next) and add it to the multi handle. Its callbacks stream
 * the body in (from the source or the chunk encoder), route the answer
 * (a 2xx body to the sink or the memory buffer, an error body to a small
 * capped buffer for its XML) and note the headers the result reports.
 *
 * When an attempt ends, the outcome decides: a local failure (the body
 * or sink said no) ends the operation; a 5xx, 429 or 400 RequestTimeout,
 * a refused connection, and for idempotent requests a timeout or broken
 * connection are retried while attempts remain and the body can be
 * replayed, after a delay drawn uniformly from [0, min(max, base * 2^n)]
 * ("full jitter": retrying clients spread out instead of returning in
 * waves). A GET that delivered bytes resumes from the next one, pinned by
 * If-Match to the ETag of the first answer.
 *
 * Bandwidth cap: a token bucket of `rate` bytes per second holding at
 * most `burst`, shared by all transfers. Every body byte sent or received
 * is charged after it moves (a callback may overdraw by one buffer); a
 * callback finding the bucket empty pauses its transfer
 * (CURL_READFUNC_PAUSE / CURL_WRITEFUNC_PAUSE), and s3c_run resumes all
 * paused transfers once the bucket has refilled, sleeping until then.
 * Over any stretch the bytes moved stay within rate * time + burst + one
 * buffer per transfer, however many transfers share the client.
 */
#include "client/internal.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"

static void unlink_xfer(xfer *x)
{
    if (!x->in)
        return;
    if (x->prev)
        x->prev->next = x->next;
    else
        *x->in = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
    x->in = NULL;
}

static void push_xfer(xfer **head, xfer *x)
{
    unlink_xfer(x);
    x->prev = NULL;
    x->next = *head;
    if (*head)
        (*head)->prev = x;
    *head = x;
    x->in = head;
}

/* ---- easy handles ------------------------------------------------------- */

static CURL *take_easy(s3c_client *c)
{
    if (c->nidle == 0)
        return curl_easy_init();
    CURL *e = c->idle[--c->nidle];
    curl_easy_reset(e);
    return e;
}

static void give_easy(s3c_client *c, CURL *e)
{
    if (c->nidle == c->idle_cap) {
        size_t cap = c->idle_cap ? 2 * c->idle_cap : 16;
        CURL **grown = realloc(c->idle, cap * sizeof *grown);
        if (!grown) {
            curl_easy_cleanup(e);
            return;
        }
        c->idle = grown;
        c->idle_cap = cap;
    }
    c->idle[c->nidle++] = e;
}

/* The attempt's curl side is taken down; the xfer stays. */
static void end_attempt(xfer *x)
{
    if (x->easy) {
        curl_multi_remove_handle(x->c->multi, x->easy);
        give_easy(x->c, x->easy);
        x->easy = NULL;
    }
    curl_slist_free_all(x->slist);
    x->slist = NULL;
}

void s3c_xfer_destroy(xfer *x)
{
    end_attempt(x);
    unlink_xfer(x);
    s3c_chunker_free(&x->chunk);
    cks_free(x->verify);
    free(x->path);
    free(x->query);
    free(x->url);
    free(x->wire_url);
    free(x->post);
    free(x->buf);
    free(x->ebuf);
    free(x);
}

/* ---- the bandwidth cap ------------------------------------------------------ */

static void refill(s3c_client *c)
{
    double now = clock_mono_s();
    c->tokens += (now - c->refilled_at) * c->rate;
    if (c->tokens > c->burst)
        c->tokens = c->burst;
    c->refilled_at = now;
}

/* False (and the transfer is to pause) when the bucket is empty. */
static bool may_move(xfer *x, bool send)
{
    s3c_client *c = x->c;
    if (c->rate <= 0)
        return true;
    refill(c);
    if (c->tokens > 0)
        return true;
    if (send)
        x->paused_send = true;
    else
        x->paused_recv = true;
    c->any_paused = true;
    return false;
}

static void charge(s3c_client *c, size_t n)
{
    if (c->rate > 0)
        c->tokens -= (double)n;
}

/* Resume paused transfers if the bucket has tokens again. */
static void unpause(s3c_client *c)
{
    if (!c->any_paused)
        return;
    refill(c);
    if (c->tokens <= 0)
        return;
    c->any_paused = false;
    for (xfer *x = c->running; x; x = x->next) {
        if ((!x->paused_send && !x->paused_recv) || x->paused_sink)
            continue;
        x->paused_send = x->paused_recv = false;
        curl_easy_pause(x->easy, CURLPAUSE_CONT);
    }
}

/* ---- callbacks -------------------------------------------------------------- */

static size_t on_read(char *buf, size_t size, size_t nitems, void *ctx)
{
    xfer *x = ctx;
    size_t n = size * nitems, got = 0;
    if (!may_move(x, true))
        return CURL_READFUNC_PAUSE;
    x->body_touched = true;
    int rc = x->streaming ? s3c_chunker_read(&x->chunk, (uint8_t *)buf, n, &got, &x->err)
                          : x->body->read(x->body->ctx, (uint8_t *)buf, n, &got, &x->err);
    if (rc < 0) {
        x->failed = true;
        return CURL_READFUNC_ABORT;
    }
    charge(x->c, got);
    x->res.bytes_sent += got;
    return got;
}

static bool is_2xx(long status)
{
    return status >= 200 && status <= 299;
}

/* Append to a growable buffer up to limit bytes; false past the limit. */
static bool append(char **buf, size_t *len, size_t *cap, size_t limit, const char *data,
                   size_t n)
{
    if (*len + n > limit)
        return false;
    if (*len + n + 1 > *cap) {
        size_t want = *cap ? *cap : 4096;
        while (want < *len + n + 1)
            want *= 2;
        char *grown = realloc(*buf, want);
        if (!grown)
            return false;
        *buf = grown;
        *cap = want;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return true;
}

static size_t fail_in_callback(xfer *x, cf_code code, const char *msg)
{
    cf_fail(&x->err, code, "%s (%s %s)", msg, x->method, x->url);
    x->failed = true;
    return 0;
}

/* A resumed GET must answer 206 from exactly the byte asked for. */
static bool starts_right(xfer *x)
{
    uint64_t want = x->first_byte + x->delivered;
    if (x->op.part_number && x->delivered == 0)    /* the server says where it is */
        return x->res.status == 200 || x->res.status == 206;
    if (!x->op.range && x->delivered == 0)
        return x->res.status == 200 || x->answer_from == 0;
    return x->res.status == 206 && x->answer_from == (int64_t)want;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ctx)
{
    xfer *x = ctx;
    size_t n = size * nmemb;
    if (!may_move(x, false))
        return CURL_WRITEFUNC_PAUSE;
    if (!is_2xx(x->res.status)) {
        charge(x->c, n);
        x->res.bytes_received += n;
        size_t room = S3C_ERROR_BODY_MAX - x->elen;
        if (room > 0)
            append(&x->ebuf, &x->elen, &x->ecap, S3C_ERROR_BODY_MAX, data,
                   n < room ? n : room);
        return n;
    }
    if (x->getting && !x->checked_start) {
        if (!starts_right(x))
            return fail_in_callback(x, CF_EIO, "the remote did not answer from the byte "
                                    "asked for");
        x->checked_start = true;
    }
    if (x->op.sink) {
        int rc = x->op.sink(x->op.sink_ctx, (const uint8_t *)data, n, &x->err);
        if (rc == S3C_SINK_PAUSE) {      /* not taken: offered again on resume */
            x->paused_sink = true;
            x->c->sink_paused = true;
            return CURL_WRITEFUNC_PAUSE;
        }
        if (rc < 0) {
            x->failed = true;
            return 0;
        }
    } else if (!append(&x->buf, &x->len, &x->cap, x->c->max_response, data, n)) {
        return fail_in_callback(x, CF_ETOOLARGE, "the answer is larger than the client keeps");
    }
    charge(x->c, n);
    x->res.bytes_received += n;
    if (x->verify)
        cks_update(x->verify, data, n);
    x->delivered += n;
    return n;
}

bool s3c_header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return false;
    const char *v = line + nl + 1;
    size_t len = n - nl - 1;
    while (len > 0 && (*v == ' ' || *v == '\t'))
        v++, len--;
    while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
        len--;
    snprintf(out, cap, "%.*s", (int)(len < cap ? len : cap - 1), v);
    return true;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *ctx)
{
    xfer *x = ctx;
    s3c_result *r = &x->res;
    size_t n = size * nitems;
    char v[128];
    if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* a new answer (after a 1xx, too): forget the last one's headers */
        const char *sp = memchr(line, ' ', n);
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        r->etag[0] = r->last_modified[0] = '\0';
        r->content_length = -1;
        x->answer_from = -1;
    x->part_len = -1;
    } else if (s3c_header_value(line, n, "etag", r->etag, sizeof r->etag) ||
               s3c_header_value(line, n, "last-modified", r->last_modified,
                                sizeof r->last_modified)) {
        return n;
    } else if (s3c_header_value(line, n, "content-length", v, sizeof v)) {
        r->content_length = strtoll(v, NULL, 10);
        if (x->answer_from < 0)
            r->size = r->content_length;
    } else if (s3c_header_value(line, n, "content-range", v, sizeof v)) {
        long long a, b, total;
        if (sscanf(v, "bytes %lld-%lld/%lld", &a, &b, &total) == 3) {
            x->answer_from = a;
            r->size = total;
            if (x->op.part_number && x->delivered == 0)
                x->part_len = b - a + 1;
        }
    }
    x->proto->header(x, line, n);
    return n;
}

/* ---- one attempt -------------------------------------------------------------- */

static int add_line(struct curl_slist **l, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    char stack[512], *line = nl + vl + 3 <= sizeof stack ? stack : malloc(nl + vl + 3);
    if (!line)
        return -1;
    memcpy(line, name, nl);
    line[nl] = ':';
    line[nl + 1] = ' ';
    memcpy(line + nl + (vl ? 2 : 1), value, vl + 1);
    struct curl_slist *grown = curl_slist_append(*l, line);
    if (line != stack)
        free(line);
    if (!grown)
        return -1;
    *l = grown;
    return 0;
}

/* The attempt's headers, signed by the protocol, as a curl list. */
static int sign_attempt(xfer *x, cf_err *err)
{
    auth_pair h[S3C_MAX_HEADERS + 2 + S3C_PROTO_HEADERS];
    size_t nh = 0;
    char range[64], authz[1024] = "";
    memcpy(h, x->hdr, x->nhdr * sizeof *h);
    nh = x->nhdr;
    if (x->getting && (x->op.range || x->delivered > 0)) {
        uint64_t from = x->first_byte + x->delivered;
        if (x->op.range)
            snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)from,
                     (unsigned long long)(x->op.range_start + x->op.range_len - 1));
        else
            snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)from);
        h[nh++] = (auth_pair){x->proto->range_header, range};
        bool pinned = false;             /* the caller's own If-Match pins it already */
        for (size_t i = 0; i < x->nhdr; i++)
            pinned |= strcmp(x->hdr[i].name, "if-match") == 0;
        if (x->delivered > 0 && !pinned)
            h[nh++] = (auth_pair){"if-match", x->resume_etag};
    }
    int rc = x->proto->sign(x, h, &nh, authz, sizeof authz, err);
    bool typed = false;
    bool ok = rc == 0 && (!authz[0] || add_line(&x->slist, "Authorization", authz) == 0) &&
              add_line(&x->slist, "Expect", "") == 0;
    for (size_t i = 0; ok && i < nh; i++) {
        typed |= strcmp(h[i].name, "content-type") == 0;
        ok = add_line(&x->slist, h[i].name, h[i].value) == 0;
    }
    /* no Content-Type of curl's own (form-urlencoded on POST) */
    if (ok && !typed)
        ok = add_line(&x->slist, "Content-Type", "") == 0;
    OPENSSL_cleanse(authz, sizeof authz);
    if (rc == 0 && !ok)
        rc = cf_fail(err, CF_ENOMEM, "out of memory");
    return rc;
}

static void set_method(xfer *x, CURL *e)
{
    if (strcmp(x->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (x->body || strcmp(x->method, "PUT") == 0 || strcmp(x->method, "POST") == 0) {
        uint64_t len = !x->body ? 0 : x->streaming ? s3c_chunked_length(x->body->length)
                                                   : x->body->length;
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
        if (x->body) {
            curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(e, CURLOPT_READDATA, x);
        }
        if (strcmp(x->method, "PUT") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
    } else if (strcmp(x->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
    }
}

int s3c_xfer_launch(xfer *x, cf_err *err)
{
    s3c_client *c = x->c;
    x->attempt++;
    x->res.attempts = x->attempt;
    x->res.status = 0;
    x->retry_at = 0;
    x->failed = x->checked_start = false;
    x->paused_send = x->paused_recv = x->paused_sink = false;
    x->elen = 0;
    x->errbuf[0] = '\0';
    x->answer_from = -1;
    if (!x->getting)
        x->len = 0;
    if (x->verify)
        cks_reset(x->verify);
    if (x->body && x->body_touched && x->body->rewind(x->body->ctx, err) < 0)
        return -1;
    x->body_touched = false;
    if (sign_attempt(x, err) < 0)
        return -1;
    CURL *e = x->easy = take_easy(c);
    if (!e)
        return cf_fail(err, CF_ENOMEM, "curl_easy_init failed");
    curl_easy_setopt(e, CURLOPT_URL, x->wire_url ? x->wire_url : x->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->slist);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    if (c->timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    if (c->low_speed_ms > 0) {
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, c->low_speed_bytes);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (c->low_speed_ms + 999) / 1000);
    }
    if (c->cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->cacert);
    if (c->cacert_pem) {
        struct curl_blob blob = {.data = c->cacert_pem, .len = strlen(c->cacert_pem),
                                 .flags = CURL_BLOB_NOCOPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }
    set_method(x, e);
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        end_attempt(x);
        return cf_fail(err, CF_EINTERNAL, "curl refused a transfer");
    }
    push_xfer(&c->running, x);
    return 0;
}

/* ---- the end of an attempt ------------------------------------------------------ */

/* Nothing of the request reached the server: safe to send again, always. */
static bool never_sent(CURLcode cc)
{
    return cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
           cc == CURLE_COULDNT_RESOLVE_PROXY;
}

/* The connection broke or stalled: safe to send again if idempotent.
 * (SEND_FAIL_REWIND: libcurl found a kept connection dead after reading
 * some of the body and cannot resend it itself; the retry rewinds.) */
static bool broke(CURLcode cc)
{
    return cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_SEND_ERROR ||
           cc == CURLE_SEND_FAIL_REWIND ||
           cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE ||
           cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_HTTP2 || cc == CURLE_HTTP2_STREAM;
}

static bool retry_status(const xfer *x)
{
    long s = x->res.status;
    return s >= 500 || s == 429 ||
           (s == 400 && strcmp(x->res.remote_code, "RequestTimeout") == 0);
}

/* Can the request be sent again as it was? */
static bool replayable(const xfer *x)
{
    if (x->body && x->body_touched && !x->body->rewind)
        return false;
    return x->delivered == 0 || x->resume_etag[0];
}

static void schedule_retry(xfer *x)
{
    s3c_client *c = x->c;
    double cap = (double)c->backoff_base_ms;
    for (int i = 1; i < x->attempt && cap < (double)c->backoff_max_ms; i++)
        cap *= 2;
    if (cap > (double)c->backoff_max_ms)
        cap = (double)c->backoff_max_ms;
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    double delay_ms = cap * (double)(c->rng >> 11) / (double)(1ull << 53);
    end_attempt(x);
    x->retry_at = clock_mono_s() + delay_ms / 1000;
    push_xfer(&c->waiting, x);
}

/* A GET that ended well delivered every byte asked for, of those that
 * exist (a range past the end is clipped): a remote that answers fewer,
 * or a 206 for a range starting past the end, is an error. */
static int check_delivered(const xfer *x, cf_err *err)
{
    const s3c_result *r = &x->res;
    if (!x->getting || r->status < 200 || r->status > 299 || r->size < 0)
        return 0;
    uint64_t size = (uint64_t)r->size, want = size;
    if (x->op.range && x->op.range_start >= size)
        return cf_fail(err, CF_ERANGE, "bytes %llu- are past the end of the %llu-byte object "
                       "(%s %s)", (unsigned long long)x->op.range_start,
                       (unsigned long long)size, x->method, x->url);
    if (x->op.range)
        want = size - x->op.range_start < x->op.range_len ? size - x->op.range_start
                                                          : x->op.range_len;
    if (x->op.part_number && x->part_len >= 0)
        want = (uint64_t)x->part_len;
    if (x->delivered != want)
        return cf_fail(err, CF_EIO, "the remote sent %llu of the %llu bytes asked for (%s %s)",
                       (unsigned long long)x->delivered, (unsigned long long)want, x->method,
                       x->url);
    return 0;
}

static void attempt_done(xfer *x, CURLcode cc)
{
    s3c_client *c = x->c;
    cf_err err;
    int rc = 0;
    bool retry = false;
    /* a part GET is not resumed: its Range would fight its partNumber */
    if (x->delivered > 0 && !x->resume_etag[0] && !x->op.part_number)
        snprintf(x->resume_etag, sizeof x->resume_etag, "%s", x->res.etag);
    if (x->failed) {
        err = x->err;
        rc = -1;
    } else if (cc != CURLE_OK) {
        bool down = never_sent(cc);
        retry = down || (x->idempotent && broke(cc));
        rc = cf_fail(&err, CF_EIO, "%s%s: %s (%s %s, attempt %d)",
                     down ? "cannot reach " : "", down ? c->endpoint : "transfer failed",
                     x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc), x->method, x->url,
                     x->attempt);
    } else if ((rc = check_delivered(x, &err)) == 0) {
        rc = x->proto->check(x, &err);
        retry = rc < 0 && retry_status(x);
    }
    if (rc < 0 && retry && x->attempt < c->max_attempts && replayable(x)) {
        schedule_retry(x);
        return;
    }
    end_attempt(x);
    unlink_xfer(x);
    s3c_xfer_finish(x, rc, rc < 0 ? &err : NULL);
}

static void collect(s3c_client *c)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        char *p = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
        attempt_done((xfer *)p, m->data.result);
    }
}

/* Start the retries whose time has come. */
static void launch_due(s3c_client *c)
{
    double now = clock_mono_s();
    xfer *x = c->waiting;
    while (x) {
        xfer *after = x->next;
        if (x->retry_at <= now) {
            cf_err err;
            unlink_xfer(x);
            x->retry_at = 0;
            if (s3c_xfer_launch(x, &err) < 0)
                s3c_xfer_finish(x, -1, &err);
        }
        x = after;
    }
}

/* When the soonest retry is due; 0 if none waits. */
static double next_retry(const s3c_client *c)
{
    double next = 0;
    for (const xfer *x = c->waiting; x; x = x->next)
        if (next == 0 || x->retry_at < next)
            next = x->retry_at;
    return next;
}

int s3c_run(s3c_client *c, int timeout_ms, cf_err *err)
{
    double deadline = clock_mono_s() + timeout_ms / 1000.0;
    uint64_t before = c->finished;
    for (;;) {
        launch_due(c);
        unpause(c);
        int running;
        if (curl_multi_perform(c->multi, &running) != CURLM_OK)
            return cf_fail(err, CF_EINTERNAL, "curl_multi_perform failed");
        collect(c);
        double now = clock_mono_s();
        if (c->finished != before || c->nactive == 0 || now >= deadline ||
            c->sink_paused)
            return 0;
        double wake = deadline, next = next_retry(c);
        if (next > 0 && next < wake)
            wake = next;
        if (c->any_paused) {
            double refill_at = now + (1 - c->tokens) / c->rate;
            if (refill_at < wake)
                wake = refill_at;
        }
        int wait_ms = wake > now ? (int)((wake - now) * 1000) + 1 : 0;
        if (curl_multi_poll(c->multi, NULL, 0, wait_ms, NULL) != CURLM_OK)
            return cf_fail(err, CF_EINTERNAL, "curl_multi_poll failed");
    }
}

void s3c_resume(s3c_client *c)
{
    if (!c->sink_paused)
        return;
    c->sink_paused = false;
    for (xfer *x = c->running; x; x = x->next) {
        if (!x->paused_sink)
            continue;
        x->paused_sink = false;
        x->paused_recv = false;
        /* may deliver the refused bytes (and pause again) from in here */
        curl_easy_pause(x->easy, CURLPAUSE_CONT);
    }
}

void s3c_abort(s3c_client *c)
{
    while (c->running)
        s3c_xfer_destroy(c->running);
    while (c->waiting)
        s3c_xfer_destroy(c->waiting);
    c->nactive = 0;
    c->sink_paused = false;
    c->any_paused = false;
}

/* ---- operations: creation and waiting ------------------------------------------ */

xfer *s3c_xfer_new(s3c_client *c, const s3c_proto *p, s3c_done_fn done, void *ctx,
                   size_t extra, cf_err *err)
{
    xfer *x = calloc(1, sizeof *x + extra);
    if (!x) {
        cf_fail(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    x->c = c;
    x->proto = p;
    x->proto_ctx = extra ? (void *)(x + 1) : NULL;
    x->done = done;
    x->ctx = ctx;
    x->res.size = x->res.content_length = -1;
    return x;
}

int s3c_xfer_begin(xfer *x, cf_err *err)
{
    if (s3c_xfer_launch(x, err) < 0) {
        s3c_xfer_destroy(x);
        return -1;
    }
    x->c->nactive++;
    return 0;
}

void s3c_waiter_end(s3c_waiter *w, int rc, const cf_err *err)
{
    w->finished = true;
    w->rc = rc;
    if (err)
        w->err = *err;
}

int s3c_xfer_wait(s3c_client *c, xfer *x, s3c_waiter *w, cf_err *err)
{
    if (!x)
        return -1;
    while (!w->finished) {
        if (s3c_run(c, 1000, err) < 0) {
            c->nactive--;
            s3c_xfer_destroy(x);    /* its callback must not find the waiter gone */
            return -1;
        }
    }
    if (w->rc < 0 && err)
        *err = w->err;
    return w->rc;
}
