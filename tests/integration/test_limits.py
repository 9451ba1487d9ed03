"""Issue 17's hostile clients, at the exact sizes of the issue: XML bombs,
Content-Length overflow, ambiguous framing and a presigned URL whose
meaning changes. Each must be refused at once, change nothing and leave
the server as it was. (Slow clients and the connection limits need their
own configuration: limits.sh.)"""
import base64
import hashlib
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest

# Far below the ten minutes libxml2 took on the attribute bomb, far above
# what the bounded reader needs; not a speed target (make bench has those).
PROMPT = 15


def _addr(endpoint):
    u = urllib.parse.urlsplit(endpoint)
    return u.hostname, u.port


def _exchange(endpoint, data, timeout=PROMPT):
    """Send raw bytes, read until the server closes (or timeout): returns
    (everything received, closed by the server)."""
    s = socket.create_connection(_addr(endpoint), timeout=timeout)
    got = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return got, True
            got += chunk
    except (socket.timeout, ConnectionResetError):
        return got, False
    finally:
        s.close()


def _statuses(raw):
    return [line.split(b" ")[1] for line in raw.split(b"\r\n") if line.startswith(b"HTTP/1.")]


def _code(raw):
    body = raw.split(b"\r\n\r\n", 1)[1]
    return ET.fromstring(body).findtext("Code")


def _rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _md5(body):
    return base64.b64encode(hashlib.md5(body).digest()).decode()


# ---- Content-Length overflow --------------------------------------------

@pytest.mark.parametrize("length", [2 ** 63, 2 ** 64 - 1])
@pytest.mark.parametrize("target", ["PUT /b/k", "POST /b?delete"])
def test_huge_content_length_is_refused_at_once(endpoint, length, target):
    """2^63 and 2^64-1 were parsed unsigned, compared signed, and waited
    for: now EntityTooLarge before any body byte, and the connection
    closed (it could never be framed again)."""
    t0 = time.monotonic()
    raw, closed = _exchange(endpoint, f"{target} HTTP/1.1\r\nHost: x\r\n"
                            f"Content-Length: {length}\r\n\r\n".encode())
    assert _statuses(raw) == [b"400"], raw[:200]
    assert _code(raw) == "EntityTooLarge"
    assert closed, "the connection must be closed"
    assert time.monotonic() - t0 < PROMPT


@pytest.mark.parametrize("value", ["+5", "-5", "5 5", "0x5", "05", "5,5", ""])
def test_malformed_content_length(endpoint, value):
    raw, closed = _exchange(endpoint, f"PUT /b/k HTTP/1.1\r\nHost: x\r\n"
                            f"Content-Length: {value}\r\n\r\nhello".encode())
    assert _statuses(raw) and _statuses(raw)[0] == b"400", raw[:200]
    assert closed


# ---- ambiguous framing ------------------------------------------------------

SMUGGLED = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
FRAMING = {
    "cl-and-te": b"POST /b?delete HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + SMUGGLED,
    "te-and-cl": b"POST /b?delete HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Length: 5\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + SMUGGLED,
    "differing-cl": b"POST /b?delete HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                    b"Content-Length: 40\r\n\r\nabc" + SMUGGLED,
    "two-hosts": b"GET /health HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n" + SMUGGLED,
    "no-host": b"GET /health HTTP/1.1\r\n\r\n" + SMUGGLED,
    "te-gzip": b"POST /b?delete HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
               b"abc" + SMUGGLED,
    "te-gzip-chunked": b"POST /b?delete HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, "
                       b"chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + SMUGGLED,
    "te-twice": b"POST /b?delete HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + SMUGGLED,
}


@pytest.mark.parametrize("name", sorted(FRAMING))
def test_ambiguous_framing_is_refused_and_closed(endpoint, name):
    """Behind a proxy that frames differently each of these is request
    smuggling: one 400 answer, the connection closed, and the request
    behind it never served."""
    raw, closed = _exchange(endpoint, FRAMING[name])
    assert _statuses(raw) == [b"400"], raw[:300]
    assert _code(raw) == "InvalidRequest"
    assert b"\r\nConnection: close\r\n" in raw.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    assert closed


def test_same_content_length_twice_and_http10_without_host(endpoint):
    raw, _ = _exchange(endpoint, b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                       b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    assert _statuses(raw) == [b"200"], raw[:200]
    raw, _ = _exchange(endpoint, b"GET /health HTTP/1.0\r\n\r\n")
    assert _statuses(raw) == [b"200"], raw[:200]


# ---- XML bombs ----------------------------------------------------------

def _signed_delete(raw, bucket, body):
    return raw("POST", f"/{bucket}", query="delete", body=body,
               headers={"Content-MD5": _md5(body)})


def _attribute_bomb():
    return b"<Delete" + b"".join(b' a%06d="x"' % i for i in range(300000)) + \
        b"><Object><Key>keep</Key></Object></Delete>"


def _element_bomb():
    return b"<Delete>" + b"<Quiet>true</Quiet>" * 200000 + \
        b"<Object><Key>keep</Key></Object></Delete>"


def test_attribute_bomb_is_refused_at_once(raw, s3, bucket):
    """300,000 attributes on <Delete> (3.4 MB) held a request thread for
    over ten minutes under libxml2."""
    s3.put_object(Bucket=bucket, Key="keep", Body=b"kept")
    body = _attribute_bomb()
    assert 3_300_000 < len(body) < 4 * 1024 * 1024
    t0 = time.monotonic()
    r = _signed_delete(raw, bucket, body)
    took = time.monotonic() - t0
    assert (r.status, r.error_code()) == (400, "MalformedXML")
    assert took < PROMPT, took
    print(f"attribute bomb answered in {took:.3f} s")
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"kept"


def test_element_bombs_leave_memory_where_it_was(raw, s3, bucket):
    """200,000 <Quiet> elements (3.8 MB) raised RSS by 56 MB for good, eight
    at once by 356 MB. Now each is refused at the element bound, and what
    the requests allocated is given back."""
    s3.put_object(Bucket=bucket, Key="keep", Body=b"kept")
    body = _element_bomb()
    assert 3_800_000 < len(body) < 4 * 1024 * 1024
    pid = int(os.environ["COFFER_PID"])

    def round_of_eight():
        results, took = [], []

        def one():
            t0 = time.monotonic()
            resp = _signed_delete(raw, bucket, body)
            took.append(time.monotonic() - t0)
            results.append((resp.status, resp.error_code()))

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [(400, "MalformedXML")] * 8
        assert max(took) < PROMPT, took
        return max(took)

    def settled(limit_kib):
        """RSS once the server has finished with the round: a loaded machine
        may still be unwinding the last request when the client has its
        answer, so give it up to 3 s to come under the limit."""
        deadline = time.monotonic() + 3
        now = _rss_kib(pid)
        while now > limit_kib and time.monotonic() < deadline:
            time.sleep(0.1)
            now = _rss_kib(pid)
        return now

    round_of_eight()           # the first use of each thread touches its stack
    idle = _rss_kib(pid)
    rss = []
    for _ in range(3):
        slowest = round_of_eight()
        rss.append(settled(idle + 4 * 1024))
    print(f"8 element bombs at once: slowest answered in {slowest:.3f} s; "
          f"RSS idle {idle} KiB, after each of three rounds {rss} KiB")
    # back to idle: 4 MiB of slack for allocator noise, against the hundreds
    # of MB the issue measured (sanitizers keep freed memory in quarantine,
    # so the figure means nothing there)
    if os.environ.get("COFFER_SANITIZED") != "1":
        assert max(rss) - idle < 4 * 1024, (idle, rss)
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"kept"


# ---- signed query vs used query ----------------------------------------------

def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=PROMPT) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _keys(xml_body):
    """Keys of a listing; boto3 presigns listings with encoding-type=url."""
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    return [urllib.parse.unquote(k.text) for k in ET.fromstring(xml_body).iter(ns + "Key")]


def test_presigned_url_whose_meaning_changes_loses_its_signature(s3, bucket):
    """A '+' in a query is a space, for the signature as for the handler:
    prefix=a%2Bb rewritten to prefix=a+b (meaning 'a b') must not verify,
    while a%20b rewritten to a+b (the same meaning) still does."""
    s3.put_object(Bucket=bucket, Key="a+b/plus", Body=b"1")
    s3.put_object(Bucket=bucket, Key="a b/space", Body=b"2")
    url = s3.generate_presigned_url("list_objects_v2",
                                    Params={"Bucket": bucket, "Prefix": "a+b"})
    assert "prefix=a%2Bb" in url, url
    status, body = _get(url)
    assert status == 200 and _keys(body) == ["a+b/plus"], body
    status, body = _get(url.replace("prefix=a%2Bb", "prefix=a+b"))
    assert status == 403, body
    assert ET.fromstring(body).findtext("Code") == "SignatureDoesNotMatch"

    url = s3.generate_presigned_url("list_objects_v2",
                                    Params={"Bucket": bucket, "Prefix": "a b"})
    assert "prefix=a%20b" in url, url
    status, body = _get(url.replace("prefix=a%20b", "prefix=a+b"))
    assert status == 200 and _keys(body) == ["a b/space"], body
