"""Nothing a client sends may crash cofferd or change anything it refuses:
malformed request lines, headers and bodies get an HTTP error (or a closed
connection) and the server keeps serving."""
import os
import socket
import urllib.parse
import urllib.request

import pytest

from conftest import read_head, send_headers


def _raw_bytes(endpoint, data):
    u = urllib.parse.urlsplit(endpoint)
    s = socket.create_connection((u.hostname, u.port), timeout=10)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return read_head(s)
    except OSError:
        return b""
    finally:
        s.close()


GARBAGE = [
    b"\x00\x01\x02garbage\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET /%%%%/%00 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    b"PUT /b/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 " + b"A" * 20000 + b"\r\n\r\n",
    b"GET /?" + b"&" * 5000 + b"=x HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + b"X-Amz-Meta-A: b\r\n" * 3000 + b"\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET http://other/b/k HTTP/1.1\r\nHost: x\r\n\r\n",
]


@pytest.mark.parametrize("data", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_requests(endpoint, data):
    head = _raw_bytes(endpoint, data)
    assert head == b"" or head.startswith(b"HTTP/1.1 4") or head.startswith(b"HTTP/1.0 4") \
        or head.startswith(b"HTTP/1.1 5"), head[:80]
    with urllib.request.urlopen(endpoint + "/health", timeout=5) as r:
        assert r.status == 200


def test_signed_garbage_bodies_change_nothing(endpoint, creds, raw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="keep", Body=b"original")
    for body in [b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>",
                 b"\xff\xfe" * 100, b"<Delete>" + b"<Object>" * 10000]:
        r = raw("POST", f"/{bucket}", query="delete", body=body,
                headers={"Content-MD5": __import__("base64").b64encode(
                    __import__("hashlib").md5(body).digest()).decode()})
        assert (r.status, r.error_code()) == (400, "MalformedXML")
        r = raw("POST", f"/{bucket}/keep", query="uploadId=" + "0" * 32, body=body)
        assert r.status in (400, 404)
    # a body cut short: the connection drops mid-upload
    sock = send_headers(endpoint, creds, "PUT", f"/{bucket}/keep",
                         {"Content-Length": "100000"})
    sock.sendall(b"partial" * 100)
    sock.close()
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"original"


def test_repeated_customer_key_headers_are_an_ordinary_request(endpoint):
    """Each copy of a customer-key header is held as a secret, wiped when the
    request ends; forty copies are still an ordinary request (403 for this
    unsigned one), never a 500."""
    line = b"x-amz-server-side-encryption-customer-key: " + b"A" * 43 + b"=\r\n"
    head = _raw_bytes(endpoint, b"PUT /secret-headers/k HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" +
                      line * 40 + b"\r\n")
    assert head.startswith(b"HTTP/1.1 403"), head[:80]
