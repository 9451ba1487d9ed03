"""Fixtures for tests against a running cofferd.

The server is started outside pytest (lib.sh's coffer_start, used by
run-pytest.sh), which exports COFFER_ENDPOINT and the credentials; any
other client test (restic, rclone, aws, s3cmd) can reuse the same start.
Fixtures here: `s3` (a boto3 client, path style, no retries), `bucket`
(a fresh bucket, emptied and removed afterwards), `raw` (send an exactly
controlled SigV4-signed request and get status, headers, body back).
"""
import hashlib
import http.client
import os
import socket
import urllib.parse
import uuid

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: start cofferd with tests/integration/lib.sh")
    return value


@pytest.fixture(scope="session")
def endpoint():
    return _env("COFFER_ENDPOINT")


@pytest.fixture(scope="session")
def creds():
    return Credentials(_env("COFFER_ACCESS_KEY"), _env("COFFER_SECRET_KEY"))


def make_client(endpoint, access_key, secret_key, **cfg):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=os.environ.get("COFFER_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                      signature_version="s3v4", **cfg),
    )


@pytest.fixture(scope="session")
def s3(endpoint, creds):
    return make_client(endpoint, creds.access_key, creds.secret_key)


def empty_bucket(s3, name):
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
    for up in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=up["Key"], UploadId=up["UploadId"])


@pytest.fixture
def bucket(s3):
    name = "t-" + uuid.uuid4().hex[:20]
    s3.create_bucket(Bucket=name)
    yield name
    empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)


class RawSigV4(SigV4Auth):
    """SigV4 as S3 does it: the path is signed as sent (not normalised or
    re-encoded) and the caller's x-amz-content-sha256 is kept."""

    def _normalize_url_path(self, path):
        return path


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def error_code(self):
        import xml.etree.ElementTree as ET
        return ET.fromstring(self.body).findtext("Code")


@pytest.fixture(scope="session")
def raw(endpoint, creds):
    """raw(method, path, query="", headers=None, body=b"", sign=True,
    payload_hash=None, credentials=None, host=None) -> RawResponse. path is
    sent exactly as given; payload_hash defaults to the body's SHA-256;
    host (e.g. a virtual-host name) is signed and sent as Host while the
    connection still goes to the endpoint."""
    parsed = urllib.parse.urlsplit(endpoint)

    def send(method, path, query="", headers=None, body=b"", sign=True,
             payload_hash=None, credentials=None, host=None):
        headers = dict(headers or {})
        base = f"http://{host}:{parsed.port}" if host else endpoint
        url = f"{base}{path}" + (f"?{query}" if query else "")
        if sign:
            headers.setdefault("x-amz-content-sha256",
                               payload_hash or hashlib.sha256(body).hexdigest())
            req = AWSRequest(method=method, url=url, data=body, headers=headers)
            RawSigV4(credentials or creds, "s3",
                      os.environ.get("COFFER_REGION", "us-east-1")).add_auth(req)
            headers = dict(req.headers.items())
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        try:
            conn.putrequest(method, path + (f"?{query}" if query else ""),
                            skip_host=bool(host), skip_accept_encoding=True)
            if host:
                conn.putheader("Host", f"{host}:{parsed.port}")
            for k, v in headers.items():
                conn.putheader(k, v)
            if "Content-Length" not in headers and "Transfer-Encoding" not in headers \
                    and body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            if body:
                conn.send(body)
            resp = conn.getresponse()
            return RawResponse(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()

    return send


def send_headers(endpoint, creds, method, path, extra):
    """Open a socket, send signed request headers only; return the socket."""
    headers = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD", **extra}
    req = AWSRequest(method=method, url=endpoint + path, headers=headers)
    RawSigV4(creds, "s3", os.environ.get("COFFER_REGION", "us-east-1")).add_auth(req)
    u = urllib.parse.urlsplit(endpoint)
    sock = socket.create_connection((u.hostname, u.port), timeout=10)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {u.hostname}:{u.port}"]
    lines += [f"{k}: {v}" for k, v in req.headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def read_head(sock):
    """The response head (up to the blank line) that arrives on sock."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data
