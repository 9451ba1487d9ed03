/*
 * common/clock.h - the one monotonic clock every module measures time
 * with: rates, timeouts, retry and back-off deadlines, pacing, durations.
 *
 * Contract: each function reads CLOCK_MONOTONIC, which never goes back
 * and is not moved by a change of the wall clock (settimeofday, NTP steps);
 * it does not count time the machine is suspended. Its zero is arbitrary
 * (about the boot), so a reading means something only against another
 * reading of the same machine: never store one, send one, or show one as
 * a time of day (the wall clock is CLOCK_REALTIME, e.g. eng_now_ms). The
 * three functions read the same clock in different units, so readings of
 * one unit compare with each other only. They cannot fail (Linux's
 * CLOCK_MONOTONIC always exists), take no lock and allocate nothing: any
 * thread may call them, a signal handler too.
 */
#ifndef CF_CLOCK_H
#define CF_CLOCK_H

#include <stdint.h>

/* Seconds, with the nanoseconds as the fraction. */
double clock_mono_s(void);
/* Milliseconds, whole. */
int64_t clock_mono_ms(void);
/* Nanoseconds, whole (fits an int64_t for about 292 years of uptime). */
int64_t clock_mono_ns(void);

#endif
