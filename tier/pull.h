/*
 * tier/pull.h - a remote GET read at the reader's pace, shared by the tier
 * types (tier/s3.c, tier/azure.c): the transfer's sink fills the read in
 * progress and keeps at most TIER_PULL_SPILL bytes more, then pauses the
 * transfer (S3C_SINK_PAUSE), so the remote's sending stops at TCP's window
 * and memory stays bounded; a read drives the client until it has its
 * bytes, and an answer that ends early is CF_ECORRUPT.
 *
 * Threading: a pull belongs to its stream's thread.
 */
#ifndef TIER_PULL_H
#define TIER_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define TIER_PULL_SPILL (256u << 10)

typedef struct tier_pull {
    const char *name;                /* the remote object, for messages */
    uint64_t want;                   /* bytes the range holds */
    uint64_t taken;                  /* bytes handed to reads */
    uint8_t *spill;
    size_t spill_len, spill_cap;
    uint8_t *dst;                    /* the read in progress */
    size_t need, got;
    bool finished;
    int rc;
    cf_err err;
    /* the client the transfer runs on */
    void (*resume)(void *client);
    int (*run)(void *client, int timeout_ms, cf_err *err);
    void *client;
} tier_pull;

/* The transfer's sink (ctx: the pull), and what its end calls. */
int tier_pull_sink(void *ctx, const uint8_t *data, size_t n, cf_err *err);
void tier_pull_done(tier_pull *p, int rc, const cf_err *err);
/* Exactly n more bytes into buf. */
int tier_pull_read(tier_pull *p, uint8_t *buf, size_t n, cf_err *err);
/* Frees the spill (not the pull). */
void tier_pull_clear(tier_pull *p);

#endif
