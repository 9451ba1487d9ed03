/*
 * cli/progress.c - the progress line (contract in progress.h). A terminal
 * gets "\r" + the line + erase-to-end-of-line, so a shorter line leaves no
 * tail of the one before; anything else gets whole lines, rate-limited by
 * wall time (the first call always writes one, so even a short run that
 * ends before the interval shows it started). The rate counts from the
 * first call, so work done before coffer started following a job does
 * not inflate it; the ETA is what is left at that rate.
 */
#include "cli/progress.h"

#include "common/clock.h"
#include <unistd.h>

void progress_init(progress *p, const char *name, FILE *out)
{
    *p = (progress){.name = name, .out = out, .tty = isatty(fileno(out)) == 1};
}

void progress_bytes(double b, char *out, size_t cap)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(out, cap, "%.1f %s", b, unit[u]);
}

/* ", 12/s, 3.0 MiB/s, ETA 3m05s" (bytes only when counted, ETA only with a
 * total, nothing before a second) */
static void show_rate(progress *p, uint64_t done, uint64_t total, uint64_t bytes)
{
    double elapsed = clock_mono_s() - p->t0;
    if (elapsed < 1.0 || done <= p->done0)
        return;
    double rate = (double)(done - p->done0) / elapsed;
    fprintf(p->out, rate < 10 ? ", %.1f/s" : ", %.0f/s", rate);
    if (bytes > p->bytes0) {
        char b[32];
        progress_bytes((double)(bytes - p->bytes0) / elapsed, b, sizeof b);
        fprintf(p->out, ", %s/s", b);
    }
    if (total <= done)
        return;
    uint64_t eta = (uint64_t)((double)(total - done) / rate + 0.5);
    if (eta >= 3600)
        fprintf(p->out, ", ETA %lluh%02llum", (unsigned long long)(eta / 3600),
                (unsigned long long)(eta % 3600 / 60));
    else if (eta >= 60)
        fprintf(p->out, ", ETA %llum%02llus", (unsigned long long)(eta / 60),
                (unsigned long long)(eta % 60));
    else
        fprintf(p->out, ", ETA %llus", (unsigned long long)eta);
}

void progress_show(progress *p, uint64_t done, uint64_t total, uint64_t bytes,
                   const char *phase)
{
    if (!p->started) {
        p->t0 = clock_mono_s();
        p->done0 = done;
        p->bytes0 = bytes;
        p->started = true;
    }
    time_t now = time(NULL);
    if (!p->tty && p->said && now - p->said < PROGRESS_EVERY_S)
        return;
    p->said = now;
    fprintf(p->out, "%scoffer: %s: %llu", p->tty ? "\r" : "", p->name,
            (unsigned long long)done);
    if (total > 0)
        fprintf(p->out, "/%llu (%llu%%)", (unsigned long long)total,
                (unsigned long long)(done > total ? 100 : done * 100 / total));
    if (phase && *phase)
        fprintf(p->out, " %s", phase);
    if (bytes > 0) {
        char b[32];
        progress_bytes((double)bytes, b, sizeof b);
        fprintf(p->out, ", %s", b);
    }
    show_rate(p, done, total, bytes);
    fputs(p->tty ? "\033[K" : "\n", p->out);
    fflush(p->out);
    p->shown = p->tty;
}

void progress_end(progress *p)
{
    if (p->shown)
        fputs("\r\033[K", p->out);
    p->shown = false;
    fflush(p->out);
}
