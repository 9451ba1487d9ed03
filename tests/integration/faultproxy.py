#!/usr/bin/env python3
"""tests/integration/faultproxy.py - a fault-injecting HTTP/1.1 proxy for
tests: it sits between a client (coffer's S3 client, or cofferd's cold tier)
and a real server (cofferd, Ceph RGW) on loopback and, on command, answers
errors, breaks connections, stalls or corrupts bytes. With no rule set it
passes every request through unchanged (keep-alive kept on both sides).

Start it:

    faultproxy.py --upstream 127.0.0.1:9000 --ports-file DIR/ports
        # writes "PROXY_PORT CONTROL_PORT" to the file once it listens

or from Python: `FaultProxy("127.0.0.1", 9000).start()`.

Command it over the control port (plain HTTP, JSON bodies):

    POST /rules   a JSON list of rules, appended; each applies to the next
                  `count` matching requests (default 1), first rule first
    POST /clear   drop all rules and the log
    GET  /log     every request seen: {"t", "method", "path", "query",
                  "range" (Range, or Azure's x-ms-range), "action", "status",
                  "bytes_out" (answer body bytes relayed to the client so far)}
                  with t in seconds (monotonic)

A rule: {"action": A, "count": N, "method": "PUT", "path": "/b/k" (a
prefix), "query": "uploadId" (a substring), ...} where A is one of

    status    answer `status` (default 503) with an <Error> whose Code is
              `code` (default SlowDown; S3 and Azure read the same XML)
              without forwarding; the request's body is read first
    reset     read the request's headers, then reset the connection (RST)
    stall     forward, then send nothing for `seconds` (default 30) before
              the answer (or forever if the client hangs up first)
    stall_body  forward, send the answer's headers and `after` body bytes,
              then stall for `seconds`
    cut       forward, send the answer's headers and `after` body bytes,
              then close the connection (a FIN: the client gets exactly those
              bytes, then a premature end)
    corrupt   forward; flip one bit of the answer's body at byte `at`
              (default 0), or of the request's body with "side": "request"
    delay     forward, but wait `seconds` before forwarding
    headers   forward; in the answer, set each header of `headers` (a
              {"name": "value"} object: replaced if present, else added),
              as a server in another state would answer

The proxy never looks inside signatures: a corrupted request body reaches
the server, which must refuse it.
"""
import argparse
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_HEAD = 64 * 1024


def read_head(sock, buf):
    """Read until the end of an HTTP head; returns (head bytes, rest) or None."""
    while b"\r\n\r\n" not in buf:
        if len(buf) > MAX_HEAD:
            return None
        data = sock.recv(65536)
        if not data:
            return None
        buf += data
    i = buf.index(b"\r\n\r\n") + 4
    return buf[:i], buf[i:]


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    first = lines[0]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return first, headers


def reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class Body:
    """Reads a message body framed by Content-Length or chunked encoding,
    yielding raw wire bytes (chunk framing included, so it is relayed as is)."""

    def __init__(self, sock, rest, headers, no_body=False):
        self.sock, self.buf, self.headers = sock, rest, headers
        self.no_body = no_body

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("peer closed mid-body")
        self.buf += data

    def pieces(self):
        if self.no_body:
            return
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            yield from self._chunked()
            return
        left = int(self.headers.get("content-length", "0"))
        while left > 0:
            if not self.buf:
                self._more()
            take, self.buf = self.buf[:left], self.buf[left:]
            left -= len(take)
            yield take

    def _chunked(self):
        while True:
            while b"\r\n" not in self.buf:
                self._more()
            line, self.buf = self.buf.split(b"\r\n", 1)
            size = int(line.split(b";")[0], 16)
            yield line + b"\r\n"
            if size == 0:
                while b"\r\n\r\n" not in b"\r\n" + self.buf:
                    self._more()
                end = (b"\r\n" + self.buf).index(b"\r\n\r\n") + 2
                yield self.buf[:end]
                self.buf = self.buf[end:]
                return
            while len(self.buf) < size + 2:
                self._more()
            yield self.buf[:size + 2]
            self.buf = self.buf[size + 2:]


def flip(piece, offset, at):
    """piece with one bit flipped if byte `at` of the stream falls in it."""
    if offset <= at < offset + len(piece):
        b = bytearray(piece)
        b[at - offset] ^= 0x01
        return bytes(b)
    return piece


class FaultProxy:
    def __init__(self, upstream_host, upstream_port, host="127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.host = host
        self.rules = []
        self.log = []
        self.lock = threading.Lock()
        self.t0 = time.monotonic()

    # ---- rules ----
    def add_rules(self, rules):
        with self.lock:
            for r in rules:
                r = dict(r)
                r.setdefault("count", 1)
                self.rules.append(r)

    def clear(self):
        with self.lock:
            self.rules.clear()
            self.log.clear()

    def _take_rule(self, method, path, query):
        with self.lock:
            for r in self.rules:
                if r.get("method") and r["method"] != method:
                    continue
                if r.get("path") and not path.startswith(r["path"]):
                    continue
                if r.get("query") and r["query"] not in query:
                    continue
                r["count"] -= 1
                if r["count"] <= 0:
                    self.rules.remove(r)
                return r
        return None

    def _log(self, entry):
        with self.lock:
            self.log.append(entry)

    # ---- serving ----
    def start(self):
        self.listener = socket.create_server((self.host, 0))
        self.port = self.listener.getsockname()[1]
        proxy = self

        class Control(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _reply(self, obj):
                data = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                with proxy.lock:
                    self._reply(list(proxy.log))

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n) or b"[]")
                if self.path == "/rules":
                    proxy.add_rules(body)
                elif self.path == "/clear":
                    proxy.clear()
                self._reply({"ok": True})

        self.control = ThreadingHTTPServer((self.host, 0), Control)
        self.control.daemon_threads = True
        self.control_port = self.control.server_address[1]
        threading.Thread(target=self.control.serve_forever, daemon=True).start()
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, client):
        up = None
        buf = b""
        try:
            while True:
                got = read_head(client, buf)
                if not got:
                    return
                head, buf = got
                first, headers = parse_head(head)
                method, target = first.split(" ")[:2]
                path, _, query = target.partition("?")
                rule = self._take_rule(method, path, query)
                action = rule["action"] if rule else "pass"
                entry = {"t": time.monotonic() - self.t0, "method": method,
                         "path": path, "query": query, "action": action, "status": 0,
                         "bytes_out": 0,
                         "range": headers.get("range", headers.get("x-ms-range", ""))}
                self._log(entry)
                if action == "reset":
                    reset(client)
                    return
                req_body = Body(client, buf, headers)
                if action == "status":
                    for _ in req_body.pieces():
                        pass
                    buf = req_body.buf
                    self._answer_error(client, rule, entry)
                    continue
                if action == "delay":
                    time.sleep(float(rule.get("seconds", 1)))
                if up is None:
                    up = socket.create_connection(self.upstream)
                up.sendall(head)
                offset = 0
                for piece in req_body.pieces():
                    if rule and action == "corrupt" and rule.get("side") == "request":
                        piece = flip(piece, offset, int(rule.get("at", 0)))
                    offset += len(piece)
                    up.sendall(piece)
                buf = req_body.buf
                if not self._relay_answer(up, client, method, rule, entry):
                    return
        except (OSError, ConnectionError, ValueError):
            return
        finally:
            client.close()
            if up:
                up.close()

    def _answer_error(self, client, rule, entry):
        status = int(rule.get("status", 503))
        code = rule.get("code", "SlowDown")
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
                "<Message>injected by faultproxy</Message><RequestId>faultproxy"
                "</RequestId></Error>" % code).encode()
        entry["status"] = status
        client.sendall(("HTTP/1.1 %d Injected\r\nContent-Type: application/xml\r\n"
                        "Content-Length: %d\r\n\r\n" % (status, len(body))).encode() + body)

    def _relay_answer(self, up, client, method, rule, entry):
        """Relay one answer; False when the connection is to be dropped."""
        action = rule["action"] if rule else "pass"
        got = read_head(up, b"")
        if not got:
            return False
        head, rest = got
        first, headers = parse_head(head)
        status = int(first.split(" ")[1])
        entry["status"] = status
        no_body = method == "HEAD" or status in (204, 304) or 100 <= status < 200
        body = Body(up, rest, headers, no_body)
        if action == "stall":
            time.sleep(float(rule.get("seconds", 30)))
        if action == "headers":
            head = set_headers(head, rule.get("headers", {}))
        client.sendall(head)
        sent = 0
        after = int(rule.get("after", 0)) if rule else 0
        for piece in body.pieces():
            if action == "corrupt" and rule.get("side", "response") == "response":
                piece = flip(piece, sent, int(rule.get("at", 0)))
            if action in ("stall_body", "cut") and sent + len(piece) > after:
                client.sendall(piece[:after - sent])
                if action == "cut":
                    client.shutdown(socket.SHUT_RDWR)
                    return False
                time.sleep(float(rule.get("seconds", 30)))
                return False
            client.sendall(piece)
            sent += len(piece)
            entry["bytes_out"] = sent
        if headers.get("connection", "").lower() == "close":
            return False
        return True


def set_headers(head, values):
    """The answer head with each of values' headers set (replaced or added)."""
    lines = head.decode("latin-1").split("\r\n")
    want = {k.lower(): (k, v) for k, v in values.items()}
    out = [ln for ln in lines[1:] if ln and ln.split(":", 1)[0].strip().lower() not in want]
    out += ["%s: %s" % kv for kv in want.values()]
    return ("\r\n".join([lines[0]] + out) + "\r\n\r\n").encode("latin-1")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the real server")
    ap.add_argument("--ports-file", required=True,
                    help="written with 'PROXY_PORT CONTROL_PORT' once listening")
    a = ap.parse_args()
    host, port = a.upstream.rsplit(":", 1)
    p = FaultProxy(host, int(port)).start()
    with open(a.ports_file + ".tmp", "w") as f:
        f.write("%d %d\n" % (p.port, p.control_port))
    os.replace(a.ports_file + ".tmp", a.ports_file)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
