/*
 * server/notify.h - tell the service manager how cofferd is doing, the
 * sd_notify(3) protocol spoken by hand: when $NOTIFY_SOCKET names a unix
 * datagram socket (a path, or "@name" for an abstract one), each call
 * sends one datagram with the given state lines ("READY=1", "STOPPING=1",
 * "STATUS=..."). Without $NOTIFY_SOCKET it does nothing, so cofferd runs
 * the same way outside systemd. A failure to send is written to stderr
 * once and never stops cofferd. Thread-safe (one socket per call).
 */
#ifndef SRV_NOTIFY_H
#define SRV_NOTIFY_H

void notify_send(const char *state);

#endif
