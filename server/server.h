/*
 * server/server.h - the process-wide state every request can reach: the
 * engine, the configuration, the HTTP daemon, the background jobs, the
 * metrics (telemetry.h) and the web console (console.h). One instance
 * lives in main(); requests hold a pointer to it and only read it (the
 * engine, telemetry and console are thread-safe; the config is immutable
 * after start). `draining` is set once SIGTERM arrived.
 */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>

#include "server/config.h"
#include "storage/engine.h"

struct MHD_Daemon;
struct sched;
struct telemetry;
struct console;
struct gate;
struct lifecycle;
struct tier_set;

typedef struct server {
    st_engine *engine;
    const coffer_config *cfg;
    struct MHD_Daemon *daemon;
    struct gate *gate;               /* accepts for the daemon (server/gate.h) */
    struct lifecycle *lifecycle;     /* the lifecycle pass, the "lifecycle" job (lifecycle.h) */
    struct tier_set *tiers;          /* the cold tiers (tier/tier.h) */
    atomic_int inflight;             /* requests between start and completion */
    atomic_bool draining;            /* SIGTERM: /health/ready answers 503 */
    struct sched *jobs;              /* the background jobs (server/sched.h) */
    struct telemetry *telemetry;
    struct console *console;
} server;

#endif
