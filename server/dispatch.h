/*
 * server/dispatch.h - one request's three phases (request.h), driven by
 * http.c: what the request is and who may make it (headers), where its
 * body goes (body), what it does (end), and what is left when it is over.
 *
 * Contract: dispatch_headers runs once r->method, r->version and r->hdrs
 * are set: it refuses framing two HTTP parsers could read differently
 * (400, r->close), picks one of cofferd's own endpoints (builtin.h:
 * health checks, /metrics, the console) or routes the request (router.c,
 * s3_ops.c; ADMIN_PREFIX goes to the admin API), checks the body's
 * length, authenticates (s3auth.c) and calls op->begin. With health_only
 * (the gate admitted the connection past its limit) anything but the
 * three health checks gets 503 SlowDown and r->close. Any refusal is a response
 * set on r. dispatch_body takes raw body bytes, dispatch_end runs the
 * operation once the body is complete. dispatch_answer_now says whether
 * an error found from the headers is sent before the body is read.
 * dispatch_done writes the access-log line (status 0 when the request did
 * not complete), updates the request metrics (telemetry.h) and releases what the operation left: an unfinished
 * upload is aborted, so a dropped connection never leaves a partial
 * object. Then req_free(r).
 */
#ifndef SRV_DISPATCH_H
#define SRV_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "server/request.h"

void dispatch_headers(s3_req *r, bool health_only);
void dispatch_body(s3_req *r, const char *p, size_t n);
void dispatch_end(s3_req *r);
bool dispatch_answer_now(const s3_req *r);
void dispatch_done(s3_req *r, bool completed);

#endif
