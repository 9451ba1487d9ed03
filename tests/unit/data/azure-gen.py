#!/usr/bin/env python3
"""tests/unit/data/azure-gen.py - Shared Key test vectors for client/azauth.c.

An implementation of the Blob service's Shared Key signature written from
Microsoft's description ("Authorize with Shared Key", learn.microsoft.com:
the verb, eleven standard headers with a zero Content-Length empty, the
sorted x-ms- headers, "/account" + path, the decoded and sorted query),
with Python's own hmac, hashlib, base64 and urllib: nothing shared with
the C code.

It first checks itself against the vectors Microsoft published with an
expected signature (azure/ms-*: see README in this directory), then

    azure-gen.py            writes azure/gen-*.req and .authz: requests of
                            the shapes coffer sends (blocks, ranges, tiers,
                            listings, path-style and host-style)
    azure-gen.py --check    recomputes every vector and compares it with
                            the committed .authz (make check runs this)

Run from this directory (or with --dir). Exit status 1 on a mismatch.
"""
import argparse
import base64
import hashlib
import hmac
import os
import sys
from urllib.parse import unquote

KEYS = {
    # the storage emulator's well-known development account (Azurite's docs)
    "devstoreaccount1": "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVEr"
                        "Cz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    # the test account of MicrosoftDX/Dash's SignatureValidationTests.cs
    "dashstorage1": "8jqRVtXUWiEthgIhR+dFwrB8gh3lFuquvJQ1v4eabObIj7okI1cZIuzY8zZH"
                    "mEdpcC0f+XlUkbFwAhjTfyrLIg==",
    # an account of our own for the host-style vectors (a random key)
    "coffertest": "CnLLgEt4kz0THOK3g8TVXwIj3uZQF1hl0L8LSfb1DP5hoabttsA/tUogaubkLg/Z"
                  "XeqD6Nm3wbSG+DIUuW9a5g==",
}

STANDARD = ["content-encoding", "content-language", "content-length", "content-md5",
            "content-type", "date", "if-modified-since", "if-match", "if-none-match",
            "if-unmodified-since", "range"]


def string_to_sign(account, method, path, query, headers):
    h = {}
    for name, value in headers:
        h.setdefault(name.lower(), value)
    lines = [method]
    for name in STANDARD:
        value = h.get(name, "").strip()
        if name == "content-length" and value == "0":
            value = ""
        lines.append(value)
    out = "\n".join(lines) + "\n"
    for name in sorted(n for n in h if n.startswith("x-ms-")):
        out += "%s:%s\n" % (name, h[name].strip())
    out += "/" + account + path
    params = {}
    for part in filter(None, (query or "").split("&")):
        name, _, value = part.partition("=")
        params.setdefault(unquote(name).lower(), []).append(unquote(value))
    for name in sorted(params):
        out += "\n%s:%s" % (name, ",".join(sorted(params[name])))
    return out


def sign(account, text):
    mac = hmac.new(base64.b64decode(KEYS[account]), text.encode(), hashlib.sha256)
    return "SharedKey %s:%s" % (account, base64.b64encode(mac.digest()).decode())


def parse_req(text):
    head, _, _ = text.partition("\n\n")
    lines = head.split("\n")
    method, target, _ = lines[0].split(" ", 2) if lines[0].count(" ") >= 2 else (None,) * 3
    path, _, query = target.partition("?")
    headers = [tuple(line.split(":", 1)) for line in lines[1:] if ":" in line]
    return method, path, query, headers


def check(d):
    bad = 0
    names = sorted(f[:-4] for f in os.listdir(d) if f.endswith(".req"))
    for name in names:
        with open(os.path.join(d, name + ".req")) as f:
            method, path, query, headers = parse_req(f.read())
        with open(os.path.join(d, name + ".authz")) as f:
            want = f.read().strip()
        account = want.split(" ", 1)[1].split(":", 1)[0]
        got = sign(account, string_to_sign(account, method, path, query, headers))
        if got != want:
            print("MISMATCH %s: %s, not %s" % (name, got, want))
            bad += 1
    print("azure-gen: %d vectors, %d mismatches" % (len(names), bad))
    return bad == 0


DATE = "Sat, 05 Dec 2026 10:00:00 GMT"
VERSION = "2023-11-03"


def write(d, name, account, method, target, headers):
    path, _, query = target.partition("?")
    headers = [("x-ms-date", DATE), ("x-ms-version", VERSION)] + headers
    with open(os.path.join(d, name + ".req"), "w", newline="\n") as f:
        f.write("%s %s HTTP/1.1\n" % (method, target))
        for k, v in headers:
            f.write("%s:%s\n" % (k, v))
        f.write("\n")
    with open(os.path.join(d, name + ".authz"), "w", newline="\n") as f:
        f.write(sign(account, string_to_sign(account, method, path, query, headers)) + "\n")


def generate(d):
    emu = "/devstoreaccount1/vectors"           # path-style: the account twice in the resource
    write(d, "gen-put-blob", "devstoreaccount1", "PUT",
          emu + "/dir/a%20b%2Bc%C3%A9.bin",
          [("Content-Length", "11"), ("Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww=="),
           ("x-ms-blob-type", "BlockBlob"), ("x-ms-access-tier", "Cold"),
           ("If-None-Match", "*"), ("Host", "127.0.0.1:10000")])
    write(d, "gen-put-block", "devstoreaccount1", "PUT",
          emu + "/b1?comp=block&blockid=Y29mZmVyMDAwMDAx",
          [("Content-Length", "4194304"), ("x-ms-content-crc64", "DtjZpL9/o8c=")])
    write(d, "gen-put-block-escaped-id", "devstoreaccount1", "PUT",
          emu + "/b1?blockid=ab%2Bc%2Fd%3D%3D&comp=block",
          [("Content-Length", "1"), ("Content-MD5", "DMF1ucDxtqgxw5niaXcmYQ==")])
    write(d, "gen-put-block-list", "devstoreaccount1", "PUT",
          emu + "/b1?comp=blocklist",
          [("Content-Length", "123"), ("x-ms-blob-content-md5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
           ("x-ms-access-tier", "Archive")])
    write(d, "gen-get-range", "devstoreaccount1", "GET", emu + "/b1",
          [("x-ms-range", "bytes=4194300-4194310"), ("x-ms-range-get-content-md5", "true"),
           ("If-Match", "\"0x8DC0FFEE0000001\"")])
    write(d, "gen-head-host-style", "coffertest", "HEAD", "/cold/obj%2F1",
          [("Host", "coffertest.blob.core.windows.net")])
    write(d, "gen-list", "devstoreaccount1", "GET",
          emu + "?restype=container&comp=list&prefix=a%20b%2F&marker=2%21104%21MDAw&maxresults=3",
          [])
    write(d, "gen-set-tier", "coffertest", "PUT", "/cold/obj?comp=tier",
          [("Content-Length", "0"), ("x-ms-access-tier", "Hot"),
           ("x-ms-rehydrate-priority", "High")])
    write(d, "gen-delete-trimmed", "coffertest", "DELETE", "/cold/obj",
          [("x-ms-client-request-id", "  padded value  "), ("If-Match", " \"etag\" ")])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare, write nothing")
    ap.add_argument("--dir", default=os.path.dirname(os.path.abspath(__file__)))
    a = ap.parse_args()
    d = os.path.join(a.dir, "azure")
    # the implementation must agree with every signature Microsoft published
    published = sorted(f[:-4] for f in os.listdir(d) if f.startswith("ms-") and f.endswith(".req"))
    if not published:
        print("azure-gen: no published vectors in %s" % d)
        return 1
    if not a.check:
        generate(d)
    return 0 if check(d) else 1


if __name__ == "__main__":
    sys.exit(main())
