/*
 * cli/progress.h - the one progress line of every long coffer command
 * (heal, scrub, drill, gc, lifecycle run, disks replace: the jobs coffer
 * follows in cofferd; rebuild-index, restore-index and tier recover, which
 * run in coffer itself).
 *
 * Contract: on a terminal (stderr) the line is rewritten in place at every
 * call, "coffer: NAME: DONE/TOTAL (P%) PHASE, BYTES, RATE/s, B/s, ETA T"
 * (bytes when the work counts them, the phase naming them where they are
 * not the bytes read; the rates once a second has passed and
 * something moved since the first call; the ETA when the total is known);
 * elsewhere (a log, a pipe,
 * cron) a full line is written at most every PROGRESS_EVERY_S seconds, so
 * a log gets a heartbeat and not a flood. progress_end clears a line left
 * on a terminal, before the command's report. Single-threaded: a progress
 * belongs to the command that made it.
 */
#ifndef CLI_PROGRESS_H
#define CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define PROGRESS_EVERY_S 10

typedef struct progress {
    const char *name;                /* what runs: "heal", "scrub" ... */
    FILE *out;                       /* stderr */
    bool tty;
    bool shown;                      /* a line is on the terminal now */
    time_t said;                     /* when the last line was written */
    double t0;                       /* clock_mono_s() of the first call */
    uint64_t done0, bytes0;          /* done and bytes at the first call */
    bool started;                    /* t0 and done0 are set */
} progress;

void progress_init(progress *p, const char *name, FILE *out);
/* total 0: not known yet (no percentage); bytes 0: not counted; phase
 * may be NULL or "". */
void progress_show(progress *p, uint64_t done, uint64_t total, uint64_t bytes,
                   const char *phase);
/* "1.5 GiB" (B, KiB ... TiB, one decimal): every byte count coffer prints. */
void progress_bytes(double bytes, char *out, size_t cap);
void progress_end(progress *p);

#endif
