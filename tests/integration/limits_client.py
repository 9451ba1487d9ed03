"""Client half of limits.sh: slow clients, connection limits and the
SigV2 switch against a cofferd with small limits (see limits.sh).

Loopback has the whole of 127.0.0.0/8, so the "other addresses" are real
source addresses: the attacker is 127.0.0.2 (and .3 to .6 to fill the
server), the normal client 127.0.0.1. Waits are bounded and generous;
what is asserted is behaviour (served, refused with 503, cut off), never a
speed."""
import http.client
import os
import select
import socket
import statistics
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

from botocore.auth import HmacV1Auth, HmacV1QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ENDPOINT = os.environ["COFFER_ENDPOINT"]
HOST, PORT = urllib.parse.urlsplit(ENDPOINT).hostname, urllib.parse.urlsplit(ENDPOINT).port
CREDS = Credentials(os.environ["COFFER_ACCESS_KEY"], os.environ["COFFER_SECRET_KEY"])
MAX = int(os.environ["COFFER_LIMITS_MAX"])
PER_IP = int(os.environ["COFFER_LIMITS_PER_IP"])
HEADER_S = int(os.environ["COFFER_LIMITS_HEADER_S"])
IDLE_S = int(os.environ["COFFER_LIMITS_IDLE_S"])
RESERVE = 8                                  # GATE_HEALTH_RESERVE


def step(msg):
    print("--", msg, flush=True)


def connect(src="127.0.0.1"):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(10)
    s.connect((HOST, PORT))
    return s


def signed_headers(method, path, body=b"", auth=SigV4Auth, **kw):
    req = AWSRequest(method=method, url=ENDPOINT + path, data=body,
                     headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    if auth is SigV4Auth:
        auth(CREDS, "s3", "us-east-1").add_auth(req)
    else:
        auth(CREDS, **kw).add_auth(req)
    return dict(req.headers.items()), req.url


def request(method, path, body=b"", auth=SigV4Auth, timeout=10):
    headers, url = signed_headers(method, path, body, auth)
    conn = http.client.HTTPConnection(HOST, PORT, timeout=timeout)
    try:
        target = urllib.parse.urlsplit(url)
        conn.request(method, target.path + ("?" + target.query if target.query else ""),
                     body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read(), r.getheader("Connection")
    finally:
        conn.close()


def code(body):
    return ET.fromstring(body).findtext("Code")


def timed_list():
    t0 = time.monotonic()
    status, body, _ = request("GET", "/")
    assert status == 200, (status, body)
    return time.monotonic() - t0


def health(path="/health"):
    conn = http.client.HTTPConnection(HOST, PORT, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status
    finally:
        conn.close()


def answered(socks, wait):
    """The sockets that received an answer within wait seconds, and what."""
    got = {}
    deadline = time.monotonic() + wait
    pending = list(socks)
    while pending and time.monotonic() < deadline:
        ready, _, _ = select.select(pending, [], [], max(0.0, deadline - time.monotonic()))
        for s in ready:
            try:
                got[s] = s.recv(4096)
            except OSError:
                got[s] = b""
            pending.remove(s)
    return got


def slow_clients():
    step("baseline latency of a normal client")
    base = statistics.median(timed_list() for _ in range(5))

    step(f"100 slow sockets from 127.0.0.2 (limit {PER_IP} per address)")
    slow = []
    opened = time.monotonic()
    for _ in range(100):
        s = connect("127.0.0.2")
        s.sendall(b"G")
        slow.append(s)
    got = answered(slow, 2)
    refused = [s for s, data in got.items() if data.startswith(b"HTTP/1.1 503")]
    assert all(b"<Code>SlowDown</Code>" in got[s] for s in refused), got
    assert len(refused) == 100 - PER_IP, (len(refused), len(got))
    held = [s for s in slow if s not in got]
    assert len(held) == PER_IP, [got[s][:60] for s in got if s not in refused]
    for s in refused:
        s.close()

    stop = threading.Event()

    def trickle():                              # one header byte a second
        msg = b"ET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
        for i in range(len(msg)):
            if stop.wait(1.0):
                return
            for s in held:
                try:
                    s.send(msg[i:i + 1])
                except OSError:
                    pass

    feeder = threading.Thread(target=trickle, daemon=True)
    feeder.start()

    step("the normal client is served while they hang on")
    during = [timed_list() for _ in range(5)]
    assert max(during) < max(2.0, 20 * base), (base, during)
    assert health() == 200
    print(f"   latency: {base * 1000:.1f} ms before, {statistics.median(during) * 1000:.1f} ms "
          f"(worst {max(during) * 1000:.1f} ms) with {PER_IP} slow sockets held", flush=True)

    step(f"the slow sockets are cut off at the {HEADER_S} s header deadline")
    cut = answered(held, HEADER_S + 8)
    stop.set()
    elapsed = time.monotonic() - opened
    assert len(cut) == PER_IP and all(data == b"" for data in cut.values()), cut
    assert elapsed >= HEADER_S - 1, elapsed
    for s in held:
        s.close()


def fill(n):
    """n idle connections that the server admitted. The sockets of the step
    before are closed, but a loaded server may not have counted them out
    yet: until it has, a connection past its count gets the gate's 503, which
    is the one answer allowed here; the round is then tried again (bounded).
    Anything else said to an admitted connection fails the test."""
    addrs = ["127.0.0.3", "127.0.0.4", "127.0.0.5"]
    for attempt in range(10):
        idle = [connect(addrs[i % len(addrs)]) for i in range(n)]
        time.sleep(0.3)
        got = answered(idle, 0.2)
        if not got:
            return idle
        assert all(data.startswith(b"HTTP/1.1 503") and b"SlowDown" in data
                   for data in got.values()), "admitted connections must not be answered"
        for s in idle:
            s.close()
        time.sleep(1)
    raise AssertionError("the server never counted the earlier connections out")


def full_server():
    step(f"{MAX} idle connections fill the server; the health checks still answer")
    idle = fill(MAX)
    assert health() == 200
    assert health("/health/live") == 200
    assert health("/health/ready") == 200
    assert health("/metrics") == 503              # the reserve is for health checks only
    status, body, conn_hdr = request("GET", "/")
    assert (status, code(body)) == (503, "SlowDown"), (status, body)
    assert conn_hdr == "close"

    step(f"past the health reserve ({RESERVE}), new connections get 503 at once")
    reserve = [connect("127.0.0.6") for _ in range(RESERVE)]
    time.sleep(0.3)
    s = connect()
    data = answered([s], 5).get(s, b"")
    assert data.startswith(b"HTTP/1.1 503") and b"SlowDown" in data, data
    s.close()
    for s in idle + reserve:
        s.close()
    time.sleep(0.5)
    assert timed_list() < 10


def stalled_body():
    step(f"a stalled body is cut off after {IDLE_S} s of silence")
    status, body, _ = request("PUT", "/limits")
    assert status in (200, 409), (status, body)
    headers, _ = signed_headers("PUT", "/limits/stalled")
    s = connect()
    lines = [f"PUT /limits/stalled HTTP/1.1", f"Host: {HOST}:{PORT}", "Content-Length: 1000"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b"x" * 100)
    t0 = time.monotonic()
    got = answered([s], IDLE_S + 8)
    took = time.monotonic() - t0
    assert s in got and not got[s].startswith(b"HTTP/1.1 2"), got
    assert IDLE_S - 1 <= took, took
    s.close()
    status, _, _ = request("HEAD", "/limits/stalled")
    assert status == 404, status


def sigv2_refused():
    step("auth.sigv2: false refuses SigV2 headers and presigned URLs")
    status, body, _ = request("GET", "/", auth=HmacV1Auth)
    assert (status, code(body)) == (403, "AccessDenied"), (status, body)
    assert b"SigV2" in body
    req = AWSRequest(method="GET", url=ENDPOINT + "/limits/k", headers={})
    HmacV1QueryAuth(CREDS, expires=300).add_auth(req)
    target = urllib.parse.urlsplit(req.url)
    conn = http.client.HTTPConnection(HOST, PORT, timeout=10)
    conn.request("GET", target.path + "?" + target.query)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    assert (r.status, code(body)) == (403, "AccessDenied"), (r.status, body)


def main():
    slow_clients()
    full_server()
    stalled_body()
    sigv2_refused()
    print("limits client: ok")


if __name__ == "__main__":
    sys.exit(main())
