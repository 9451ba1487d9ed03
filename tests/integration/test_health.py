"""/health, /health/live and /health/ready, as an orchestrator's probes
see them: on the shared cofferd (ready), and on cofferds of this test's
own whose disks stop taking files (not ready until they do again) or
that drain after SIGTERM (not ready on a connection still open)."""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

import pytest


def request(host, port, method, path, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        if own:
            conn.close()


def shared():
    parsed = urllib.parse.urlsplit(os.environ["COFFER_ENDPOINT"])
    return parsed.hostname, parsed.port


def test_probes_on_a_healthy_cofferd():
    host, port = shared()
    assert request(host, port, "GET", "/health") == (200, "ok\n")
    assert request(host, port, "GET", "/health/live") == (200, "live\n")
    assert request(host, port, "GET", "/health/ready") == (200, "ready\n")
    assert request(host, port, "HEAD", "/health/ready")[0] == 200
    assert request(host, port, "GET", "/health/nothing")[0] == 403   # S3: anonymous


def test_a_signed_request_is_s3(raw):
    r = raw("GET", "/health/ready")
    assert r.status == 404 and r.error_code() == "NoSuchBucket"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def own_cofferd():
    """A cofferd on the embedded default in a directory of its own."""
    tmp = tempfile.mkdtemp(prefix="coffer-health.")
    port = free_port()
    log = open(os.path.join(tmp, "log"), "w")
    proc = subprocess.Popen([os.environ["COFFERD"], "--var", os.path.join(tmp, "var"),
                             "--listen", f"127.0.0.1:{port}"], stdout=log, stderr=log)
    for _ in range(150):
        try:
            if request("127.0.0.1", port, "GET", "/health")[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("cofferd did not start: " + open(log.name).read())
    yield proc, port, os.path.join(tmp, "var")
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    log.close()
    shutil.rmtree(tmp)


def test_banner_names_keys_and_prints_no_secret(own_cofferd):
    """The embedded default's banner goes to stderr, which ends up in logs:
    it names each access key and the file with its secret, never a secret."""
    _, _, var = own_cofferd
    creds = {}
    for name in ("dev-credentials", "admin-credentials"):
        with open(os.path.join(var, name)) as f:
            creds[name] = dict(line.strip().split("=", 1) for line in f if "=" in line)
    log = os.path.join(os.path.dirname(var), "log")
    deadline = time.time() + 10
    while time.time() < deadline and creds["admin-credentials"]["access_key"] \
            not in open(log).read():
        time.sleep(0.1)
    text = open(log).read()
    for c in creds.values():
        assert c["access_key"] in text
        assert c["secret_key"] not in text
    assert "dev-credentials" in text and "admin-credentials" in text


def test_not_ready_while_too_few_disks_are_writable(own_cofferd):
    _, port, var = own_cofferd
    assert request("127.0.0.1", port, "GET", "/health/ready") == (200, "ready\n")
    for d in ("disk1", "disk2"):                 # 4 of 6 left: still ready (k = 4)
        os.rename(os.path.join(var, d, "tmp"), os.path.join(var, d, "tmp.off"))
    assert request("127.0.0.1", port, "GET", "/health/ready")[0] == 200
    os.rename(os.path.join(var, "disk3", "tmp"), os.path.join(var, "disk3", "tmp.off"))
    status, body = request("127.0.0.1", port, "GET", "/health/ready")
    assert status == 503
    assert body == "not ready: 3 of 6 disks writable, 4 needed\n"
    assert request("127.0.0.1", port, "GET", "/health/live")[0] == 200
    for d in ("disk1", "disk2", "disk3"):
        os.rename(os.path.join(var, d, "tmp.off"), os.path.join(var, d, "tmp"))
    assert request("127.0.0.1", port, "GET", "/health/ready") == (200, "ready\n")


def test_not_ready_while_draining(own_cofferd):
    proc, port, _ = own_cofferd
    probe = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    assert request("127.0.0.1", port, "GET", "/health/ready", probe)[0] == 200
    upload = socket.create_connection(("127.0.0.1", port), timeout=30)
    upload.sendall(b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" +
                   b"x" * 10)                    # a request in flight: drain waits
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    deadline = time.time() + 10
    status, body = 0, ""
    while time.time() < deadline:
        status, body = request("127.0.0.1", port, "GET", "/health/ready", probe)
        if status == 503:
            break
        time.sleep(0.1)
    assert (status, body) == (503, "not ready: draining (SIGTERM)\n")
    assert request("127.0.0.1", port, "GET", "/health/live", probe)[0] == 200
    upload.sendall(b"x" * 990)                   # let the drain finish
    upload.recv(4096)
    upload.close()
    probe.close()
    assert proc.wait(timeout=40) == 0
