/*
 * cli/progress.c - the progress line (contract in progress.h). A terminal
 * gets "\r" + the line + erase-to-end-of-line, so a shorter line leaves no
 * tail of the one before; anything else gets whole lines, rate-limited by
 * wall time (the first call always writes one, so even a short run that
 * ends before the interval shows it started).
 */
#include "cli/progress.h"

#include <unistd.h>

void progress_init(progress *p, const char *name, FILE *out)
{
    *p = (progress){.name = name, .out = out, .tty = isatty(fileno(out)) == 1};
}

void progress_show(progress *p, uint64_t done, uint64_t total, const char *phase)
{
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
