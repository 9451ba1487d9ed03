/*
 * server/server.h - the process-wide state every request can reach: the
 * engine, the configuration and the HTTP daemon. One instance lives in
 * main(); requests hold a pointer to it and only read it (the engine is
 * thread-safe; the config is immutable after start).
 */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>

#include "server/config.h"
#include "storage/engine.h"

struct MHD_Daemon;
struct sched;
struct gate;

typedef struct server {
    st_engine *engine;
    const coffer_config *cfg;
    struct MHD_Daemon *daemon;
    struct gate *gate;               /* accepts for the daemon (server/gate.h) */
    atomic_int inflight;             /* requests between start and completion */
    struct sched *jobs;              /* the background jobs (server/sched.h) */
} server;

#endif
