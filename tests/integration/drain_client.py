"""Client half of drain.sh. `upload`: start a PUT, send half the body,
SIGTERM the server, check that a new connection is refused, send the rest
and expect 200. `verify`: the object is complete after a restart."""
import hashlib
import http.client
import os
import signal
import socket
import sys
import time
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

DATA = hashlib.sha256(b"seed").digest() * (256 * 1024 // 32)     # 256 KiB
PATH = "/drain/object"
endpoint = os.environ["COFFER_ENDPOINT"]
u = urllib.parse.urlsplit(endpoint)
creds = Credentials(os.environ["COFFER_ACCESS_KEY"], os.environ["COFFER_SECRET_KEY"])


def signed(method, path, body=b""):
    req = AWSRequest(method=method, url=endpoint + path, data=body,
                     headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    SigV4Auth(creds, "s3", os.environ.get("COFFER_REGION", "us-east-1")).add_auth(req)
    return dict(req.headers.items())


def request(method, path, body=b""):
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    conn.request(method, path, body=body, headers=signed(method, path, body))
    r = conn.getresponse()
    out = r.status, r.read()
    conn.close()
    return out


def upload():
    status, body = request("PUT", "/drain")
    assert status == 200, body
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    conn.putrequest("PUT", PATH)
    for k, v in signed("PUT", PATH).items():
        conn.putheader(k, v)
    conn.putheader("Content-Length", str(len(DATA)))
    conn.endheaders()
    conn.send(DATA[:len(DATA) // 2])
    time.sleep(0.3)
    os.kill(int(os.environ["COFFER_PID"]), signal.SIGTERM)
    time.sleep(0.5)
    try:
        socket.create_connection((u.hostname, u.port), timeout=2).close()
        refused = False
    except OSError:
        refused = True
    conn.send(DATA[len(DATA) // 2:])
    r = conn.getresponse()
    assert r.status == 200, (r.status, r.read())
    assert refused, "cofferd still accepted connections while draining"


def verify():
    status, body = request("GET", PATH)
    assert status == 200 and body == DATA, status


{"upload": upload, "verify": verify}[sys.argv[1]]()
