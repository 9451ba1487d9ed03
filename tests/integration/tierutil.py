"""What the cold-tier test modules (tier_cases.py, tier_faults_cases.py)
share: boto3 clients that never retry, the admin CLI, a tier's status, and
a bounded wait."""
import hashlib
import http.client
import json
import os
import subprocess
import time
import urllib.parse

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials


def client(endpoint, ak, sk):
    """A path-style client with exactly one attempt per request: a 5xx
    reaches the test instead of being retried away."""
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak,
                        aws_secret_access_key=sk, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"total_max_attempts": 1}))


def coffer(*args, check=True):
    """The admin CLI against the cofferd under test (--json)."""
    cmd = [os.environ["COFFER_CLI"], "--endpoint", os.environ["COFFER_ENDPOINT"],
           "--admin-key", os.environ["COFFER_ADMIN_ACCESS_KEY"],
           "--admin-secret", os.environ["COFFER_ADMIN_SECRET_KEY"], "--json", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"coffer {' '.join(args)}: {p.stderr}")
    return p


def status(tier):
    """GET /admin/v1/tiers/TIER, signed with the admin credential: what
    `coffer tier status` shows, without starting a process (the kill test
    polls it)."""
    ep = os.environ["COFFER_ENDPOINT"]
    url = f"{ep}/admin/v1/tiers/{tier}"
    req = AWSRequest(method="GET", url=url,
                     headers={"x-amz-content-sha256": hashlib.sha256(b"").hexdigest()})
    SigV4Auth(Credentials(os.environ["COFFER_ADMIN_ACCESS_KEY"],
                          os.environ["COFFER_ADMIN_SECRET_KEY"]), "s3",
              os.environ.get("COFFER_REGION", "us-east-1")).add_auth(req)
    u = urllib.parse.urlsplit(ep)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("GET", f"/admin/v1/tiers/{tier}", headers=dict(req.headers.items()))
        r = conn.getresponse()
        body = r.read()
    finally:
        conn.close()
    if r.status != 200:
        raise AssertionError(f"tier status {tier}: HTTP {r.status} {body!r}")
    return json.loads(body)


def wait_for(what, cond, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def settled(tier, objects=None, timeout=90):
    """The tier's queues are empty (and it holds `objects` versions)."""
    def ok():
        s = status(tier)
        busy = s["pending"] + s["uploading"] + s["restoring"] + s["remote_deletes"]
        return s if busy == 0 and (objects is None or s["objects"] == objects) else None
    return wait_for(f"tier {tier} to settle at {objects} objects", ok, timeout)


class Azure:
    """A container on Azurite (AZURITE_* from tests/peers/azurite.sh),
    reached with an account SAS made from the development account's key:
    what the Azure tier's remote holds, seen without coffer's client."""

    def __init__(self, endpoint, account, key, container):
        import base64
        import hmac
        self.endpoint, self.container = endpoint.rstrip("/"), container
        version, expiry = "2021-08-06", "2050-01-01T00:00:00Z"
        # account, permissions, services, resource types, start, expiry, IP,
        # protocol, version, encryption scope, each + "\n"
        sts = "\n".join([account, "racwdl", "b", "sco", "", expiry, "", "http", version,
                         ""]) + "\n"
        sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(),
                                        hashlib.sha256).digest()).decode()
        q = urllib.parse.quote
        self.sas = (f"sv={version}&ss=b&srt=sco&sp=racwdl&se={q(expiry, safe='')}"
                    f"&spr=http&sig={q(sig, safe='')}")

    def request(self, method, path, query="", body=b"", headers=None):
        u = urllib.parse.urlsplit(f"{self.endpoint}/{path}")
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        try:
            conn.request(method, f"{u.path}?{query + '&' if query else ''}{self.sas}",
                         body=body, headers={"x-ms-version": "2021-08-06",
                                             "Content-Length": str(len(body)),
                                             **(headers or {})})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def create(self):
        st, _, body = self.request("PUT", self.container, "restype=container")
        if st not in (201, 409):
            raise AssertionError(f"create container: HTTP {st} {body!r}")

    def put(self, name, data):
        st, _, body = self.request("PUT", f"{self.container}/{urllib.parse.quote(name)}",
                                   body=data, headers={"x-ms-blob-type": "BlockBlob"})
        if st != 201:
            raise AssertionError(f"put blob {name}: HTTP {st} {body!r}")

    def names(self, prefix, uncommitted=False, sizes=False):
        """The blob names under prefix; with sizes, "NAME ETAG SIZE" lines."""
        import re
        out, marker = [], ""
        while True:
            q = f"restype=container&comp=list&prefix={urllib.parse.quote(prefix, safe='')}"
            if uncommitted:
                q += "&include=uncommittedblobs"
            if marker:
                q += f"&marker={urllib.parse.quote(marker, safe='')}"
            st, _, body = self.request("GET", self.container, q)
            if st != 200:
                raise AssertionError(f"list blobs: HTTP {st} {body!r}")
            text = body.decode()
            if sizes:
                out += [" ".join(b) for b in re.findall(
                    r"<Blob><Name>([^<]*)</Name>.*?<Etag>([^<]*)</Etag>.*?"
                    r"<Content-Length>(\d+)</Content-Length>", text)]
            else:
                out += re.findall(r"<Blob><Name>([^<]*)</Name>", text)
            m = re.search(r"<NextMarker>([^<]+)</NextMarker>", text)
            if not m:
                return out
            marker = m.group(1)

    def get(self, name):
        """(headers, body) of a blob."""
        st, h, body = self.request("GET", f"{self.container}/{urllib.parse.quote(name)}")
        if st != 200:
            raise AssertionError(f"get blob {name}: HTTP {st}")
        return h, body
