/*
 * contrib/bench/measure.h - what the benchmark tools measure with beside
 * the monotonic clock (common/clock.h): this process's CPU time and peak
 * memory, the load average (recorded beside every figure, since the
 * machine is shared), a fast seeded data generator (benchmarks never read
 * their data from a file), and environment knobs.
 *
 * Peak RSS is the kernel's high-water mark (VmHWM). bm_rss_reset() lowers
 * it to the current RSS (Linux's /proc/PID/clear_refs "5"), so a phase
 * can be measured on its own after set-up buffers have come and gone. The
 * memory functions take a pid (0: this process) so that coffer-bench can
 * watch the server it loads; bm_proc_cpu does the same for CPU time.
 */
#ifndef BM_MEASURE_H
#define BM_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* User + system CPU seconds this process has used. */
double bm_cpu_self(void);
/* User + system CPU seconds of process pid so far (-1 if unreadable). */
double bm_proc_cpu(pid_t pid);
/* Reset the peak-RSS high-water mark; false if the kernel refused. */
bool bm_rss_reset(pid_t pid);
/* Peak RSS in MiB since start or the last reset (0 if unknown). */
double bm_rss_peak_mib(pid_t pid);
/* One-minute load average (-1 if unknown). */
double bm_loadavg(void);
/* Seconds the calling thread has spent runnable but waiting for a CPU
 * (/proc/thread-self/schedstat): how much other load stole from a phase. */
double bm_runq_wait(void);

/* Fill buf with n pseudo-random bytes of stream `seed` (splitmix64, about
 * 10 GB/s: never the bottleneck). */
void bm_fill(uint64_t seed, void *buf, size_t n);

/* An unsigned integer from the environment, or def if unset. Exits with a
 * message if it is set but not a number in [min, max]. */
uint64_t bm_env_u64(const char *name, uint64_t def, uint64_t min, uint64_t max);

#endif
