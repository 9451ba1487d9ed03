/*
 * common/clock.c - the monotonic clock (contract in clock.h): one
 * clock_gettime(CLOCK_MONOTONIC) per reading, converted to the unit asked
 * for. Nothing is cached, so readings from any thread are as fresh as the
 * kernel's vDSO makes them (no system call on Linux).
 */
#include "common/clock.h"

#include <time.h>

static struct timespec now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts;
}

double clock_mono_s(void)
{
    struct timespec ts = now();
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t clock_mono_ms(void)
{
    struct timespec ts = now();
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ns(void)
{
    struct timespec ts = now();
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
