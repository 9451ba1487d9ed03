/*
 * server/console.h - the web console at /console/, served by cofferd
 * itself: static files compiled in (console/ in the source tree, turned
 * into C arrays at build time by console/embed.sh) and a small JSON API
 * the page calls.
 *
 *   GET  /console                302 to /console/
 *   GET  /console/, /console/F   the page and its files (404 if unknown)
 *   POST /console/api/login      {"access_key","secret_key"}: the admin
 *                                credential. 200 {"csrf","expires",
 *                                "access_key"} and a session cookie, or 401
 *   POST /console/api/logout     ends the session
 *   GET  /console/api/session    200 {"csrf","expires","access_key"}, 401
 *   GET  /console/api/overview   server state the admin API does not hold:
 *                                version, requests in flight, draining,
 *                                the maintenance jobs, and the sample ring
 *                                (every CONSOLE_SAMPLE_S seconds, the last
 *                                hour: request and error totals, bytes,
 *                                disk usage; then one of this moment) the
 *                                charts are drawn from
 *   ANY  /console/api/admin/PATH the admin API (admin.h) with the session
 *                                instead of a signature: one
 *                                implementation of every admin operation
 *
 * Sessions: the cookie "coffer_console" holds 32 random bytes (base64url);
 * the server keeps only their SHA-256, with the session's CSRF token and
 * times, in a table of CONSOLE_SESSIONS (the oldest is dropped when it is
 * full). The cookie is HttpOnly, SameSite=Strict, Path=/console, has
 * Max-Age of the absolute lifetime and is Secure when cofferd serves TLS.
 * A session ends after CONSOLE_IDLE_S without a request, CONSOLE_MAX_S
 * after login, or at logout. Every API request but login and GETs must
 * carry the session's CSRF token in X-Coffer-CSRF; login must be a JSON
 * POST; a request a browser marks Sec-Fetch-Site cross-site is refused.
 * No secret reaches a page or a log: the admin secret is only compared
 * (constant time), and the one secret the console ever shows is a new
 * key's, in the reply to its creation (Cache-Control: no-store). Refused
 * logins are logged (client address, never the values) and counted.
 *
 * Thread safety: the session table and the ring have a mutex each; only
 * console requests and the sampler take them.
 */
#ifndef SRV_CONSOLE_H
#define SRV_CONSOLE_H

#include "common/error.h"
#include "server/request.h"
#include "server/server.h"

#define CONSOLE_SESSIONS 32
#define CONSOLE_IDLE_S (30 * 60)
#define CONSOLE_MAX_S (8 * 60 * 60)
#define CONSOLE_SAMPLE_S 10
#define CONSOLE_SAMPLES 360

typedef struct console console;

/* Needs s->telemetry; starts the sampler thread (block signals first). */
console *console_new(server *s, cf_err *err);
/* Stops the sampler and wipes the sessions. */
void console_free(console *c);

/* The operation for a request under /console (builtin.h routes here). */
const s3_op *console_route(const s3_req *r);

/* The compiled-in files (console_assets.c, generated). */
typedef struct console_asset {
    const char *name;                /* "index.html" */
    const char *type;                /* Content-Type */
    const unsigned char *data;
    size_t len;
} console_asset;
extern const console_asset console_assets[];
extern const size_t console_nassets;

#endif
