/*
 * server/notify.c - sd_notify without libsystemd (see notify.h). The
 * protocol is one datagram of newline-separated VAR=value lines to the
 * socket in $NOTIFY_SOCKET; a leading '@' means the abstract namespace.
 * The message carries no credentials: systemd identifies the sender by
 * the socket's peer credentials (SCM_CREDENTIALS, added by the kernel).
 */
#include "server/notify.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static atomic_bool warned;

static void warn(const char *what, int e)
{
    if (!atomic_exchange(&warned, true))
        fprintf(stderr, "cofferd: cannot notify the service manager (%s): %s\n", what,
                strerror(e));
}

void notify_send(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof sa.sun_path) {
        warn("NOTIFY_SOCKET is neither a path nor @name", EINVAL);
        return;
    }
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        warn("socket", errno);
        return;
    }
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                                (path[0] == '/'));
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
        warn(path, errno);
    close(fd);
}
