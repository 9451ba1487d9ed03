/*
 * contrib/bench/mhd_ceiling.c - the HTTP ceiling of this machine: a
 * libmicrohttpd server set up as cofferd sets up its own (internal thread
 * pool), that does no S3 work at all. PUT and POST bodies are read and
 * dropped; every GET answers --size bytes from one buffer in memory; other
 * methods answer an empty 200. coffer-bench's put and get workloads run
 * against it unchanged (it ignores signatures), so
 *
 *     mhd-ceiling --port 9100 --size 1M &
 *     coffer-bench -e http://127.0.0.1:9100 -a x -k y -w get -s 1M ...
 *
 * shows how many requests and bytes per second HTTP alone allows here,
 * the bound cofferd's figures should be read against.
 */
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contrib/bench/measure.h"

#define MAX_GET (1ull << 30)

typedef struct ceiling {
    uint8_t *body;                   /* what every GET returns */
    size_t size;
    struct MHD_Response *get, *empty;
} ceiling;

static enum MHD_Result answer(struct MHD_Connection *c, struct MHD_Response *r)
{
    return MHD_queue_response(c, MHD_HTTP_OK, r);
}

/* PUT/POST: called first with no data, then with each piece of the body,
 * then once more with none; the answer goes out on that last call. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *data, size_t *data_size, void **state)
{
    ceiling *cl = cls;
    static int started;
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
        return answer(c, cl->get);
    if (*state == NULL) {
        *state = &started;
        return MHD_YES;
    }
    if (*data_size > 0) {
        *data_size = 0;              /* read and dropped */
        return MHD_YES;
    }
    return answer(c, cl->empty);
}

static int make_responses(ceiling *cl)
{
    cl->body = malloc(cl->size ? cl->size : 1);
    if (!cl->body)
        return -1;
    bm_fill(1, cl->body, cl->size);
    cl->get = MHD_create_response_from_buffer(cl->size, cl->body, MHD_RESPMEM_PERSISTENT);
    cl->empty = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    return cl->get && cl->empty ? 0 : -1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mhd-ceiling [--port N (9100)] [--size BYTES (1048576)] "
               "[--threads N (16)]\n");
}

static int parse(int argc, char **argv, unsigned *port, size_t *size, unsigned *threads)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},
        {"size", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "p:s:t:h", opts, NULL)) != -1) {
        char *end;
        errno = 0;
        unsigned long long v = c == 'h' || c == '?' ? 0 : strtoull(optarg, &end, 10);
        if (c == 'h' || c == '?' || errno || *end || optarg[0] == '-')
            return -1;
        if (c == 'p' && v >= 1 && v <= 65535)
            *port = (unsigned)v;
        else if (c == 's' && v <= MAX_GET)
            *size = (size_t)v;
        else if (c == 't' && v >= 1 && v <= 1024)
            *threads = (unsigned)v;
        else
            return -1;
    }
    return optind == argc ? 0 : -1;
}

int main(int argc, char **argv)
{
    ceiling cl = {.size = 1u << 20};
    unsigned port = 9100, threads = 16;
    if (parse(argc, argv, &port, &cl.size, &threads) < 0) {
        usage(stderr);
        return 2;
    }
    if (make_responses(&cl) < 0) {
        fprintf(stderr, "mhd-ceiling: cannot build responses\n");
        return 1;
    }
    /* block the stop signals before the pool threads inherit the mask */
    sigset_t set;
    int sig;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_POLL, (uint16_t)port,
        NULL, NULL, on_request, &cl, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "mhd-ceiling: cannot listen on port %u\n", port);
        return 1;
    }
    fprintf(stderr, "mhd-ceiling: listening on port %u, GET answers %zu bytes\n", port,
            cl.size);
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(cl.get);
    MHD_destroy_response(cl.empty);
    free(cl.body);
    return 0;
}
