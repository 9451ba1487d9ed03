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
