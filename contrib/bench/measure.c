/* contrib/bench/measure.c - see measure.h. */
#include "contrib/bench/measure.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

double bm_cpu_self(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
}

/* "/proc/PID/name", or "/proc/self/name" for pid 0. */
static void proc_path(char *out, size_t outsz, pid_t pid, const char *name)
{
    if (pid == 0)
        snprintf(out, outsz, "/proc/self/%s", name);
    else
        snprintf(out, outsz, "/proc/%ld/%s", (long)pid, name);
}

double bm_proc_cpu(pid_t pid)
{
    char path[64], buf[1024];
    proc_path(path, sizeof path, pid, "stat");
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    /* fields after the parenthesised command name, which may hold spaces */
    const char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                     &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

bool bm_rss_reset(pid_t pid)
{
    char path[64];
    proc_path(path, sizeof path, pid, "clear_refs");
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

double bm_rss_peak_mib(pid_t pid)
{
    char path[64], line[256];
    proc_path(path, sizeof path, pid, "status");
    FILE *f = fopen(path, "r");
    double kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lf kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib / 1024;
}

double bm_loadavg(void)
{
    double l[1];
    return getloadavg(l, 1) == 1 ? l[0] : -1;
}

double bm_runq_wait(void)
{
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    unsigned long long run = 0, wait = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &run, &wait) != 2)
            wait = 0;
        fclose(f);
    }
    return (double)wait / 1e9;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void bm_fill(uint64_t seed, void *buf, size_t n)
{
    uint8_t *p = buf;
    uint64_t s = seed;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w = splitmix(&s);
        memcpy(p, &w, 8);
    }
    if (n > 0) {
        uint64_t w = splitmix(&s);
        memcpy(p, &w, n);
    }
}

uint64_t bm_env_u64(const char *name, uint64_t def, uint64_t min, uint64_t max)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0' || v[0] == '-' || x < min || x > max) {
        fprintf(stderr, "%s=%s: expected a whole number from %llu to %llu\n", name,
                v, (unsigned long long)min, (unsigned long long)max);
        exit(2);
    }
    return (uint64_t)x;
}
