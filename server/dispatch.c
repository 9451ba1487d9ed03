/*
 * server/dispatch.c - a request's phases (see dispatch.h), independent of
 * how the bytes arrive: http.c hands over headers and body pieces from
 * libmicrohttpd, this file decides what happens to them.
 *
 * Order in the headers phase: framing first (a request whose framing
 * cannot be trusted is answered and the connection closed before anything
 * else looks at it), then cofferd's own endpoints for unsigned requests
 * (builtin.h: the health checks, so that a probe works even when the
 * server is at its connection limit, /metrics and the console), then the
 * gate's verdict, routing, the length the operation needs, authentication
 * (which replaces the length for aws-chunked bodies), the key's
 * permissions (perm.c), x-amz-expected-bucket-owner and op->begin.
 *
 * An error found from the headers is sent at once only when the client
 * waits for "100 Continue", the body is too big to be worth reading, or
 * the connection must be closed (dispatch_answer_now); otherwise the body
 * is read and dropped first, because answering at once makes
 * libmicrohttpd close the connection unread and a client still writing
 * its body then sees a broken pipe instead of the error.
 */
#include "server/dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/numparse.h"
#include "server/accesslog.h"
#include "server/admin.h"
#include "server/builtin.h"
#include "server/perm.h"
#include "server/router.h"
#include "server/s3_ops.h"
#include "server/s3auth.h"
#include "server/telemetry.h"
#include "server/xml.h"

#define DISCARD_MAX (64u << 20)      /* largest refused body we still read */

/* ---- the admin API ----------------------------------------------------- */

static void admin_run(s3_req *r)
{
    int status = 500;
    char *json = NULL;
    const char *path = r->raw_path + strlen(ADMIN_PREFIX);
    admin_env env = {.engine = r->srv->engine, .jobs = r->srv->jobs,
                     .tiers = r->srv->tiers};
    int rc = admin_handle(&env, r->method, path, r->raw_query,
                          r->body.p ? r->body.p : "", r->body.len, &status, &json);
    if (rc < 0 && !json) {
        req_log(r, "admin request failed");
        resp_error(r, S3E_InternalError, NULL);
        return;
    }
    resp_status(r, status);
    if (json) {
        sbuf_puts(&r->resp, json);
        free(json);
    }
    resp_header(r, "Content-Type", "application/json");
}

static const s3_op op_admin = {
    .name = "Admin", .body = BODY_BUFFER, .act = ACT_WRITE, .run = admin_run,
};

/* ---- phase 1: headers ------------------------------------------------ */

/* Refuse (400, connection closed) what two HTTP parsers could frame
 * differently, so that nothing in front of cofferd can smuggle a request
 * past it: Content-Length together with Transfer-Encoding (libmicrohttpd
 * lets chunked win), Content-Lengths that differ (it takes the first), a
 * Transfer-Encoding other than exactly one "chunked", and on HTTP/1.1 a
 * missing or repeated Host. Sets r->content_length from Content-Length,
 * parsed strictly (common/numparse.h); a length over 5 GiB, the largest
 * body S3 accepts, is refused at once, so a 2^63 or 2^64-1 length can
 * never be read as negative or waited for. */
static int check_framing(s3_req *r)
{
    const char *cl = NULL, *te = NULL, *why = NULL;
    size_t nte = 0, nhost = 0;
    for (size_t i = 0; i < r->nhdrs; i++) {
        const char *name = r->hdrs[i].name, *v = r->hdrs[i].value;
        if (strcmp(name, "content-length") == 0) {
            if (cl && strcmp(cl, v) != 0)
                why = "Conflicting Content-Length headers";
            cl = v;
        } else if (strcmp(name, "transfer-encoding") == 0) {
            te = v;
            nte++;
        } else if (strcmp(name, "host") == 0) {
            nhost++;
        }
    }
    if (!why && cl && te)
        why = "Content-Length and Transfer-Encoding cannot both be sent";
    else if (!why && te && (nte > 1 || strcasecmp(te, "chunked") != 0))
        why = "Transfer-Encoding must be chunked, once";
    else if (!why && (nhost > 1 || (nhost == 0 && strcmp(r->version, "HTTP/1.0") != 0)))
        why = "HTTP/1.1 needs exactly one Host header";
    r->has_length = cl || te;
    uint64_t len = 0;
    cf_err err;
    if (!why && cl && numparse_str(cl, UINT64_MAX, 0, &len, &err) < 0)
        why = "Content-Length is not a number";
    if (why) {
        resp_error(r, S3E_InvalidRequest, why);
        r->close = true;
        return -1;
    }
    if (cl && len > ST_MAX_PUT_SIZE) {
        resp_error(r, S3E_EntityTooLarge, NULL);
        r->close = true;
        return -1;
    }
    r->content_length = cl ? (int64_t)len : -1;
    return 0;
}

/* What the operation needs of the body's length; r->content_length is the
 * payload length when known (s3auth replaces it for aws-chunked). */
static int check_length(s3_req *r)
{
    if (r->op->body == BODY_STREAM && !r->has_length) {
        resp_error(r, S3E_MissingContentLength, NULL);
        return -1;
    }
    if (r->op->body == BODY_BUFFER && r->content_length > (int64_t)XML_MAX_BODY) {
        resp_error(r, S3E_MaxMessageLengthExceeded, NULL);
        return -1;
    }
    return 0;
}

/* x-amz-expected-bucket-owner (and x-amz-source-expected-bucket-owner, for
 * a copy's source): a tenant sees only its own buckets, and the owner ID
 * coffer shows (Owner/ID in listings and ACLs) is the tenant's name, so
 * anything else is S3's answer for another account's bucket. */
static int check_expected_owner(s3_req *r)
{
    static const char *const names[] = {"x-amz-expected-bucket-owner",
                                        "x-amz-source-expected-bucket-owner"};
    if (!r->bucket || r->admin)
        return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = req_header(r, names[i]);
        if (v && strcmp(v, r->tenant) != 0) {
            resp_error(r, S3E_AccessDenied, "The bucket is not owned by the expected "
                       "bucket owner");
            return -1;
        }
    }
    return 0;
}

void dispatch_headers(s3_req *r, bool health_only)
{
    if (check_framing(r) < 0)
        return;
    /* health, metrics, console: never for a signed request (builtin.h) */
    const s3_op *builtin = builtin_route(r);
    if (health_only && !builtin_is_health(builtin)) {
        resp_error(r, S3E_SlowDown, "The server is at limits.max_connections; "
                   "this connection may only ask for /health, /health/live or "
                   "/health/ready");
        r->close = true;
        return;
    }
    if ((r->op = builtin)) {
        check_length(r);
        return;
    }
    if (router_route(r) < 0)
        return;
    r->op = r->admin ? &op_admin : s3_op_of(r->s3op);
    /* framing first: authentication replaces the length for aws-chunked */
    if (check_length(r) < 0 || s3auth_authenticate(r) < 0)
        return;
    if (!r->admin && perm_check(r) < 0)
        return;
    if (check_expected_owner(r) < 0)
        return;
    if (r->op->begin)
        r->op->begin(r);
}

bool dispatch_answer_now(const s3_req *r)
{
    const char *expect = req_header(r, "expect");
    if (r->close || (expect && strcasestr(expect, "100-continue")))
        return true;
    return r->content_length > (int64_t)DISCARD_MAX;
}

/* ---- phase 2: body --------------------------------------------------- */

static void sink(s3_req *r, const char *p, size_t n, cks_state *hash)
{
    if (r->op->body == BODY_STREAM) {
        r->op->data(r, p, n, hash);
        return;
    }
    if (hash)
        cks_update(hash, p, n);
    if (r->op->body == BODY_BUFFER)
        sbuf_add(&r->body, p, n);
}

void dispatch_body(s3_req *r, const char *p, size_t n)
{
    r->bytes_in += n;
    if (r->discard || r->resp_set) {
        r->discard = true;
        return;
    }
    s3auth_feed(r, p, n, sink);
    if (r->resp_set)
        r->discard = true;
}

/* ---- phase 3: end of body -------------------------------------------- */

void dispatch_end(s3_req *r)
{
    if (s3auth_finish(r) < 0)
        return;
    if (r->op->body == BODY_BUFFER && r->body.failed) {
        resp_error(r, S3E_MaxMessageLengthExceeded, NULL);
        return;
    }
    r->op->run(r);
    if (!r->resp_set) {
        req_log(r, "handler set no response");
        resp_error(r, S3E_InternalError, NULL);
    }
}

/* ---- completion ------------------------------------------------------ */

void dispatch_done(s3_req *r, bool completed)
{
    accesslog_entry e = {
        .request_id = r->id,
        .tenant = r->tenant[0] ? r->tenant : "-",
        .op = r->op ? r->op->name : "-",
        .bucket = r->bucket ? r->bucket : "-",
        .key = r->key ? r->key : "-",
        .status = completed ? r->status : 0,
        .bytes_in = r->bytes_in,
        .bytes_out = r->bytes_out,
        .duration_ms = req_elapsed_ms(r),
    };
    accesslog_write(&e);
    telemetry_request(r->srv->telemetry, r, e.status, e.duration_ms / 1000.0);
    if (r->put)
        st_put_abort(r->put);
    if (r->get)
        st_get_close(r->get);
    if (r->info_set)
        st_object_info_clear(&r->info);
    s3auth_free(r);
}
