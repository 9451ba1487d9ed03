/*
 * tests/unit/test_progress.c - the CLI's one progress line
 * (cli/progress.h): into a file (not a terminal) the first call writes a
 * whole line, later ones within PROGRESS_EVERY_S write nothing, and the
 * line says done/total, the percentage and the phase, then the rate since
 * the first call (items, and bytes when counted) and the time left at
 * that rate, and no bytes in a phase that counts none; progress_end
 * leaves nothing behind.
 */
#include "cli/progress.h"
#include "tests/unit/test.h"

#include <string.h>

static void read_all(FILE *f, char *buf, size_t cap)
{
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
}

static void a_log_gets_whole_lines_not_a_flood(void)
{
    FILE *f = tmpfile();
    REQUIRE(f);
    progress p;
    progress_init(&p, "scrub", f);
    CHECK(!p.tty);
    progress_show(&p, 3, 12, 0, "slice 1 of 30");
    progress_show(&p, 4, 12, 0, "slice 1 of 30");     /* within the interval */
    progress_end(&p);
    char buf[512];
    read_all(f, buf, sizeof buf);
    CHECK_EQ_STR(buf, "coffer: scrub: 3/12 (25%) slice 1 of 30\n");
    p.said -= PROGRESS_EVERY_S;                       /* the interval passed */
    progress_show(&p, 12, 0, 0, NULL);                   /* total not known */
    read_all(f, buf, sizeof buf);
    CHECK_EQ_STR(buf, "coffer: scrub: 3/12 (25%) slice 1 of 30\ncoffer: scrub: 12\n");
    fclose(f);
}

static void the_rate_and_the_time_left(void)
{
    FILE *f = tmpfile();
    REQUIRE(f);
    progress p;
    progress_init(&p, "heal", f);
    progress_show(&p, 100, 10000, 1 << 20, "segments");        /* too early for a rate */
    p.said -= PROGRESS_EVERY_S;
    p.t0 -= 10;                                       /* 10 s since the first call */
    progress_show(&p, 300, 10000, 31 << 20, "segments");        /* 20/s, 9700 left */
    p.said -= PROGRESS_EVERY_S;
    p.t0 -= 3590;                                     /* 3600 s in all */
    progress_show(&p, 4600, 0, 0, NULL);                 /* 1.25/s, no total: no ETA */
    p.said -= PROGRESS_EVERY_S;
    progress_show(&p, 4600, 1000000, 0, NULL);           /* 995400 left at 1.25/s */
    char buf[512];
    read_all(f, buf, sizeof buf);
    CHECK_EQ_STR(buf, "coffer: heal: 100/10000 (1%) segments, 1.0 MiB\n"
                      "coffer: heal: 300/10000 (3%) segments, 31.0 MiB, 20/s, 3.0 MiB/s, "
                      "ETA 8m05s\n"
                      "coffer: heal: 4600, 1.2/s\n"
                      "coffer: heal: 4600/1000000 (0%), 1.2/s, ETA 221h12m\n");
    fclose(f);
}

/* rebuild-index: the scan counts bytes (the line names them in its
 * phase), the next phase does not, and its line shows none */
static void a_phase_without_bytes_shows_none(void)
{
    FILE *f = tmpfile();
    REQUIRE(f);
    progress p;
    progress_init(&p, "rebuild-index", f);
    progress_show(&p, 1536, 1536, 4793544, "reading shard headers (bytes: the files read)");
    p.said -= PROGRESS_EVERY_S;
    progress_show(&p, 0, 18, 0, "placing versions");
    char buf[512];
    read_all(f, buf, sizeof buf);
    CHECK_EQ_STR(buf, "coffer: rebuild-index: 1536/1536 (100%) reading shard headers "
                      "(bytes: the files read), 4.6 MiB\n"
                      "coffer: rebuild-index: 0/18 (0%) placing versions\n");
    fclose(f);
}

TEST_MAIN("progress", T(a_log_gets_whole_lines_not_a_flood), T(the_rate_and_the_time_left),
          T(a_phase_without_bytes_shows_none))
