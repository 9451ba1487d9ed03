"""tests/peers/azure_roundtrip.py - a real Blob API round trip against the
Azurite that tests/peers/test_azurite.sh started, with every request signed
here with Shared Key (python's standard library only: the signing is the
test's own, written from Microsoft's "Authorize with Shared Key"), so that
the harness is shown to serve what coffer's Azure tier will send: Create
Container, Put Blob, Get Blob (whole and with x-ms-range), Get Blob
Properties, Put Block + Put Block List, Delete Blob; and that it checks
signatures (a request signed with the wrong key is refused with 403).

Environment: AZURITE_ENDPOINT (http[s]://HOST:PORT/ACCOUNT), AZURITE_ACCOUNT,
AZURITE_KEY, AZURITE_CA (a CA file for https, or empty).
"""
import base64
import hashlib
import hmac
import http.client
import os
import ssl
import sys
import urllib.parse
from email.utils import formatdate

ENDPOINT = os.environ["AZURITE_ENDPOINT"]
ACCOUNT = os.environ["AZURITE_ACCOUNT"]
KEY = os.environ["AZURITE_KEY"]
CA = os.environ.get("AZURITE_CA", "")
VERSION = "2021-12-02"

# the headers that have a place of their own in the string to sign
SIGNED_STANDARD = ["content-encoding", "content-language", "content-length", "content-md5",
                   "content-type", "date", "if-modified-since", "if-match", "if-none-match",
                   "if-unmodified-since", "range"]


def string_to_sign(method, path, query, headers):
    h = {k.lower(): v.strip() for k, v in headers.items()}
    if h.get("content-length") == "0":
        h["content-length"] = ""            # versions since 2015-02-21: empty for 0
    lines = [method] + [h.get(k, "") for k in SIGNED_STANDARD]
    canon_headers = "".join(f"{k}:{h[k]}\n" for k in sorted(h) if k.startswith("x-ms-"))
    # the account, then the path as sent; the emulator's path starts with
    # the account name too, so it appears twice
    resource = f"/{ACCOUNT}{path}"
    for name in sorted(query):
        resource += f"\n{name.lower()}:{','.join(sorted(query[name]))}"
    return "\n".join(lines) + "\n" + canon_headers + resource


def sign(method, path, query, headers, key=KEY):
    sts = string_to_sign(method, path, query, headers).encode()
    mac = hmac.new(base64.b64decode(key), sts, hashlib.sha256).digest()
    return f"SharedKey {ACCOUNT}:{base64.b64encode(mac).decode()}"


url = urllib.parse.urlsplit(ENDPOINT)


def request(method, rel, query=None, body=b"", headers=None, key=KEY):
    """One signed request; returns (status, headers, body)."""
    query = query or {}
    path = url.path + urllib.parse.quote(rel)    # signed as sent: percent-encoded
    hdrs = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": VERSION}
    hdrs.update(headers or {})
    if method in ("PUT", "POST") or body:
        hdrs["Content-Length"] = str(len(body))
    hdrs["Authorization"] = sign(method, path, query, hdrs, key)
    qs = urllib.parse.urlencode([(k, v) for k, vs in query.items() for v in vs])
    if url.scheme == "https":
        conn = http.client.HTTPSConnection(url.hostname, url.port, timeout=30,
                                           context=ssl.create_default_context(cafile=CA))
    else:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request(method, path + ("?" + qs if qs else ""), body=body, headers=hdrs)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def expect(what, status, want, data=b""):
    if status != want:
        sys.exit(f"FAIL: {what}: HTTP {status}, expected {want}: {data[:400]!r}")
    print(f"ok: {what} ({status})")


def main():
    blob = os.urandom(300 * 1024 + 17)
    md5 = base64.b64encode(hashlib.md5(blob).digest()).decode()
    c = "/coffer-peer-test"

    st, _, d = request("PUT", c, {"restype": ["container"]})
    expect("Create Container", st, 201, d)

    st, h, d = request("PUT", c + "/dir/blob one.bin", body=blob,
                       headers={"x-ms-blob-type": "BlockBlob", "Content-MD5": md5,
                                "Content-Type": "application/octet-stream"})
    expect("Put Blob (with Content-MD5)", st, 201, d)

    st, h, d = request("PUT", c + "/bad.bin", body=blob,
                       headers={"x-ms-blob-type": "BlockBlob",
                                "Content-MD5": base64.b64encode(b"0" * 16).decode()})
    expect("Put Blob with a wrong Content-MD5 is refused", st, 400, d)

    st, h, d = request("GET", c + "/dir/blob one.bin")
    expect("Get Blob", st, 200, d)
    if d != blob:
        sys.exit(f"FAIL: Get Blob returned {len(d)} bytes, not the {len(blob)} put")

    st, h, d = request("GET", c + "/dir/blob one.bin", headers={"x-ms-range": "bytes=1000-66535"})
    expect("Get Blob with x-ms-range", st, 206, d)
    if d != blob[1000:66536]:
        sys.exit("FAIL: the ranged Get Blob returned other bytes")

    st, h, d = request("HEAD", c + "/dir/blob one.bin")
    expect("Get Blob Properties", st, 200, d)
    if h.get("content-length") != str(len(blob)) or h.get("content-md5") != md5:
        sys.exit(f"FAIL: Get Blob Properties: {h}")

    st, _, d = request("GET", c + "/dir/blob one.bin",
                       key=base64.b64encode(b"not the account key").decode())
    expect("a request signed with another key is refused", st, 403, d)

    # a large blob the way a tier sends one: blocks, then the list
    ids = [base64.b64encode(f"block-{i:06d}".encode()).decode() for i in range(3)]
    parts = [blob[:100000], blob[100000:200000], blob[200000:]]
    for bid, part in zip(ids, parts):
        pmd5 = base64.b64encode(hashlib.md5(part).digest()).decode()
        st, _, d = request("PUT", c + "/blocks.bin", {"comp": ["block"], "blockid": [bid]},
                           body=part, headers={"Content-MD5": pmd5})
        expect("Put Block", st, 201, d)
    blocklist = ("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>" +
                 "".join(f"<Latest>{b}</Latest>" for b in ids) + "</BlockList>").encode()
    st, _, d = request("PUT", c + "/blocks.bin", {"comp": ["blocklist"]}, body=blocklist,
                       headers={"Content-Type": "application/xml"})
    expect("Put Block List", st, 201, d)
    st, _, d = request("GET", c + "/blocks.bin")
    expect("Get Blob of the block list", st, 200, d)
    if d != blob:
        sys.exit("FAIL: the blob made of blocks differs")

    for name in ("/dir/blob one.bin", "/blocks.bin"):
        st, _, d = request("DELETE", c + name)
        expect("Delete Blob", st, 202, d)
    st, _, d = request("GET", c + "/dir/blob one.bin")
    expect("Get Blob after Delete Blob", st, 404, d)
    st, _, d = request("DELETE", c, {"restype": ["container"]})
    expect("Delete Container", st, 202, d)


main()
