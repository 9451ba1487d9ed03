"""Cold tiers under faults (tier_faults.sh sets up a second cofferd as the
remote, behind faultproxy.py, and the cofferd under test with 2-second days).
With TIER_TYPE=azure (tier_faults_azure.sh) the remote is Azurite and the
tier an Azure one: the same cases, but the two that kill and restart the
remote, which is a cofferd of this module's own, are skipped.

The test owns the cofferd under test (it restarts and SIGKILLs it), so the
first fixture takes over from the one lib.sh started.
"""
import hashlib
import json
import os
import random
import signal
import subprocess
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

import tierutil
from cofferd_proc import CofferdProcess
from tierutil import client, coffer, wait_for

MiB = 1 << 20
TIER = "COLDF"
PREFIX = "f/"
WORK = os.environ["TIER_WORK"]


AZURE = os.environ.get("TIER_TYPE") == "azure"
if AZURE:
    AZ = tierutil.Azure(os.environ["AZURITE_ENDPOINT"], os.environ["AZURITE_ACCOUNT"],
                        os.environ["AZURITE_KEY"], "tier")
    # the proxy's path of the tier's objects: /ACCOUNT/CONTAINER/PREFIX
    OBJ_PATH = f"/{os.environ['AZURITE_ACCOUNT']}/tier/{PREFIX}"
else:
    REMOTE = client(os.environ["REMOTE_ENDPOINT"], os.environ["REMOTE_AK"],
                    os.environ["REMOTE_SK"])
    OBJ_PATH = "/tier/" + PREFIX
# what completes a multipart upload (S3) or commits the blocks (Azure)
COMMIT = "PUT" if AZURE else "POST"
needs_own_remote = pytest.mark.skipif(AZURE, reason="the remote is Azurite, not a cofferd "
                                      "this test restarts")


def proxy(path, body=None):
    req = urllib.request.Request(os.environ["PROXY_CONTROL"] + path,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def rules(*rs):
    proxy("/rules", list(rs))


def healthy(endpoint):
    try:
        with urllib.request.urlopen(endpoint + "/health", timeout=2) as r:
            return r.status == 200
    except Exception:
        return False


class Local(CofferdProcess):
    """The cofferd under test, restarted with lib.sh's configuration."""

    def __init__(self):
        self.proc = None
        tmp = os.environ["COFFER_TMP"]
        self.cmd = [os.environ["COFFERD"], "-c", f"{tmp}/coffer.json", "--access-log",
                    os.environ["COFFER_ACCESS_LOG"]]
        self.endpoint = os.environ["COFFER_ENDPOINT"]
        pid = int(os.environ["COFFER_PID"])
        os.kill(pid, signal.SIGTERM)
        wait_for("lib.sh's cofferd to stop", lambda: not os.path.exists(f"/proc/{pid}"))
        self.start()

    def start(self):
        log = open(os.environ["COFFER_LOG"], "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=log)
        with open(f"{WORK}/local.pid", "w") as f:
            f.write(str(self.proc.pid))
        wait_for("cofferd to answer", lambda: healthy(self.endpoint) or
                 self.proc.poll() is not None)
        assert self.proc.poll() is None, "cofferd exited at start"


def gone_or_zombie(pid):
    """The process is reaped or a zombie (its parent, the shell that started
    it, may reap it between any two looks)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


class Remote:
    def __init__(self):
        self.var = os.environ["REMOTE_VAR"]
        self.port = os.environ["REMOTE_PORT"]
        self.pid = int(os.environ["REMOTE_PID"])
        self.proc = None

    def kill(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
        else:
            os.kill(self.pid, signal.SIGKILL)
            wait_for("the remote to die", lambda: gone_or_zombie(self.pid))
        self.proc = None

    def start(self):
        log = open(os.environ["REMOTE_LOG"], "ab")
        self.proc = subprocess.Popen([os.environ["COFFERD"], "--var", self.var, "--listen",
                                      f"127.0.0.1:{self.port}", "--access-log",
                                      os.environ["REMOTE_ACCESS_LOG"]], stdout=log, stderr=log)
        wait_for("the remote to answer",
                 lambda: healthy(f"http://127.0.0.1:{self.port}"))


@pytest.fixture(scope="module")
def remote():
    r = Remote()
    yield r
    if r.proc:
        r.proc.terminate()
        r.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def local():
    l = Local()
    yield l
    l.stop()


@pytest.fixture(scope="module")
def s3(local):
    return client(local.endpoint, os.environ["COFFER_ACCESS_KEY"],
                  os.environ["COFFER_SECRET_KEY"])


def status():
    return tierutil.status(TIER)


def settled(objects=None, timeout=90):
    return tierutil.settled(TIER, objects, timeout)


def remote_objects():
    if AZURE:
        return AZ.names(PREFIX)
    out = []
    for page in REMOTE.get_paginator("list_objects_v2").paginate(Bucket="tier",
                                                                  Prefix=PREFIX):
        out += [o["Key"] for o in page.get("Contents", [])]
    return out


def no_orphans():
    """Once the queues drain: one remote object per tiered version, and no
    unfinished multipart upload."""
    s = settled()
    assert len(remote_objects()) == s["objects"]
    if AZURE:       # blobs with blocks but no commit
        assert set(AZ.names(PREFIX, uncommitted=True)) == set(remote_objects())
    else:
        assert not REMOTE.list_multipart_uploads(Bucket="tier").get("Uploads")


def data(n, seed):
    out = bytearray()
    h = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h * 128
    return bytes(out[:n])


@pytest.fixture(scope="module")
def bucket(s3):
    if AZURE:
        coffer("tier", "add", TIER, "--type", "azure", "--endpoint",
               os.environ["PROXY_ENDPOINT"] + "/" + os.environ["AZURITE_ACCOUNT"],
               "--account", os.environ["AZURITE_ACCOUNT"], "--container", "tier",
               "--prefix", PREFIX, "--account-key", os.environ["AZURITE_KEY"])
    else:
        coffer("tier", "add", TIER, "--endpoint", os.environ["PROXY_ENDPOINT"], "--bucket",
               "tier", "--prefix", PREFIX, "--access-key", os.environ["REMOTE_AK"],
               "--secret-key", os.environ["REMOTE_SK"])
    s3.create_bucket(Bucket="faults")
    return "faults"


@needs_own_remote
def test_remote_down_during_transitions(s3, bucket, remote):
    r = remote
    r.kill()
    bodies = {f"down/{i}": data(300000 + i, f"down{i}") for i in range(4)}
    for k, v in bodies.items():
        s3.put_object(Bucket=bucket, Key=k, Body=v, StorageClass=TIER)
    # the worker tries, fails, keeps them local and readable, says why
    wait_for("a recorded error", lambda: "last_error" in status())
    for k, v in bodies.items():
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == v
    s = status()
    assert s["pending"] + s["uploading"] == len(bodies) and s["objects"] == 0
    r.start()
    settled(len(bodies))
    for k, v in bodies.items():
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == v
    no_orphans()


@needs_own_remote
def test_remote_deletes_wait_for_the_remote(s3, bucket, remote):
    s3.put_object(Bucket=bucket, Key="del", Body=data(300000, "del"), StorageClass=TIER)
    settled()
    before = len(remote_objects())
    remote.kill()
    s3.delete_object(Bucket=bucket, Key="del")
    wait_for("a remote delete to fail", lambda: "DELETE" in status().get("last_error", ""))
    assert status()["remote_deletes"] == 1     # still queued after the failure
    remote.start()
    settled()
    assert len(remote_objects()) == before - 1
    no_orphans()


def test_errors_and_slowness_are_retried(s3, bucket):
    before = status()["objects"]
    proxy("/clear", {})
    rules({"action": "status", "status": 503, "method": "PUT", "count": 2},
          {"action": "status", "status": 500, "method": COMMIT, "count": 1},
          {"action": "delay", "seconds": 1.5, "method": "PUT", "count": 2},
          {"action": "corrupt", "side": "request", "method": "PUT", "at": 5000, "count": 1})
    small, big = data(400000, "retry-s"), data(11 * MiB, "retry-b")
    s3.put_object(Bucket=bucket, Key="retry/small", Body=small, StorageClass=TIER)
    s3.put_object(Bucket=bucket, Key="retry/big", Body=big, StorageClass=TIER)
    settled(before + 2)
    log = proxy("/log")
    acted = [e["action"] for e in log]
    assert acted.count("status") == 3 and acted.count("delay") == 2
    assert "corrupt" in acted
    # the corrupted body was refused by the remote (Content-MD5), not kept
    assert any(e["action"] == "corrupt" and e["status"] == 400 for e in log)
    assert s3.get_object(Bucket=bucket, Key="retry/small")["Body"].read() == small
    assert s3.get_object(Bucket=bucket, Key="retry/big")["Body"].read() == big
    no_orphans()


def test_a_range_fetches_only_its_blocks(s3, bucket):
    """A ranged GET of a tiered object asks the remote (S3 Range, Azure
    x-ms-range) for the sealed blocks (1 MiB + 16) the range lies in, in
    one request, and gets no more: one block for 64 KiB inside one, two
    across a boundary, one for the last byte."""
    body = data(6 * MiB + 5, "ranged")
    s3.put_object(Bucket=bucket, Key="ranged", Body=body, StorageClass=TIER)
    settled()
    for lo, hi, blocks in [(5000000, 5065535, 1), (5242000, 5307535, 2),
                           (len(body) - 1, len(body) - 1, 1)]:
        proxy("/clear", {})
        got = s3.get_object(Bucket=bucket, Key="ranged",
                            Range=f"bytes={lo}-{hi}")["Body"].read()
        assert got == body[lo:hi + 1]
        gets = [e for e in proxy("/log") if e["method"] == "GET"
                and e["path"].startswith(OBJ_PATH)]
        assert len(gets) == 1, gets
        a, b = (int(x) for x in gets[0]["range"].split("=")[1].split("-"))
        assert b - a + 1 <= blocks * (MiB + 16), (lo, hi, gets)
        assert 0 < gets[0]["bytes_out"] <= b - a + 1, (lo, hi, gets)


@pytest.mark.skipif(not AZURE, reason="Azure's Archive access tier")
def test_archive_rehydration_pending_keeps_the_restore_ongoing(s3, bucket, raw):
    """An Archive tier's restore while Azure says the blob is still
    rehydrating (faultproxy answers its properties as real Azure does for
    hours: Archive, rehydrate-pending-to-hot): the version stays RESTORING
    (ongoing-request="true"), no second Set Blob Tier is sent, and only
    once the blob reads Archive does the worker start the rehydration,
    then copy it when Hot and archive the blob again."""
    zprefix = "fz/"
    coffer("tier", "add", "COLDFZ", "--type", "azure", "--endpoint",
           os.environ["PROXY_ENDPOINT"] + "/" + os.environ["AZURITE_ACCOUNT"],
           "--account", os.environ["AZURITE_ACCOUNT"], "--container", "tier",
           "--prefix", zprefix, "--account-key", os.environ["AZURITE_KEY"],
           "--access-tier", "Archive")
    body = data(2 * MiB + 1, "pending")
    s3.put_object(Bucket=bucket, Key="pending", Body=body, StorageClass="COLDFZ")
    tierutil.settled("COLDFZ", 1)
    zpath = f"/{os.environ['AZURITE_ACCOUNT']}/tier/{zprefix}"
    proxy("/clear", {})
    rules({"action": "headers", "method": "HEAD", "path": zpath, "count": 3,
           "headers": {"x-ms-access-tier": "Archive",
                       "x-ms-archive-status": "rehydrate-pending-to-hot"}})
    res = raw("POST", f"/{bucket}/pending", "restore",
              body=b"<RestoreRequest><Days>1</Days></RestoreRequest>")
    assert res.status == 202, res.body

    def pending_seen():
        return [e for e in proxy("/log") if e["action"] == "headers"]
    while len(pending_seen()) < 3:
        h = s3.head_object(Bucket=bucket, Key="pending")
        assert h["Restore"].startswith('ongoing-request="true"'), h
        time.sleep(0.2)
    wait_for("the restore", lambda: s3.head_object(Bucket=bucket, Key="pending")
             .get("Restore", "").startswith('ongoing-request="false"'), timeout=60)

    def tier_sets(log):
        return [e for e in log if e["method"] == "PUT" and "comp=tier" in e["query"]]
    # the blob is sent back to Archive after the restore has committed
    # (tier/set.c, tier_restore), so the restore can read done first
    wait_for("the blob archived again", lambda: len(tier_sets(proxy("/log"))) >= 2,
             timeout=30)
    log = proxy("/log")
    tiers = tier_sets(log)
    heads = [e for e in log if e["method"] == "HEAD" and e["path"].startswith(zpath)]
    # pending x3 (no Set Blob Tier), Archive (Hot asked), Hot (copied, archived again)
    assert len(heads) == 5 and len(tiers) == 2, log
    assert tiers[0]["t"] > heads[3]["t"] and tiers[1]["t"] > heads[4]["t"], log
    assert s3.get_object(Bucket=bucket, Key="pending")["Body"].read() == body
    st, h, _ = AZ.request("HEAD", f"tier/{AZ.names(zprefix)[0]}")
    assert st == 200 and h["x-ms-access-tier"] == "Archive"


def test_cut_reads_resume(s3, bucket):
    body = data(3 * MiB + 11, "cut")
    s3.put_object(Bucket=bucket, Key="cut", Body=body, StorageClass=TIER)
    settled()
    proxy("/clear", {})
    rules({"action": "cut", "method": "GET", "path": OBJ_PATH, "after": 1500000,
           "count": 1})
    assert s3.get_object(Bucket=bucket, Key="cut")["Body"].read() == body
    assert [e["action"] for e in proxy("/log")].count("cut") == 1


def test_corrupt_remote_bytes_are_an_error_never_wrong_bytes(s3, bucket, local):
    body = data(4 * MiB, "corrupt")
    s3.put_object(Bucket=bucket, Key="bad", Body=body, StorageClass=TIER)
    settled()
    # in the first block: an S3 error with a RequestId
    proxy("/clear", {})
    rules({"action": "corrupt", "method": "GET", "path": OBJ_PATH, "at": 1000,
           "count": 1})
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="bad")["Body"].read()
    err = e.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert err["Error"]["Code"] == "InternalError" and err["ResponseMetadata"]["RequestId"]
    # further in: the answer is cut short; what arrived is a prefix of the truth
    rules({"action": "corrupt", "method": "GET", "path": OBJ_PATH,
           "at": 3 * MiB, "count": 1})
    req = urllib.request.Request(s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "bad"}))
    got = b""
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            while True:
                piece = r.read(65536)
                if not piece:
                    break
                got += piece
    except Exception:
        pass
    assert len(got) < len(body) and body.startswith(got)
    # ranged reads of the damaged block fail too; others are fine
    rules({"action": "corrupt", "method": "GET", "path": OBJ_PATH, "at": 10,
           "count": 1})
    with pytest.raises(ClientError):
        s3.get_object(Bucket=bucket, Key="bad", Range="bytes=2000000-2000100")
    assert s3.get_object(Bucket=bucket, Key="bad", Range="bytes=2000000-2000100")[
        "Body"].read() == body[2000000:2000101]
    # a restore from corrupt bytes is refused and retried, not kept
    rules({"action": "corrupt", "method": "GET", "path": OBJ_PATH, "at": 123,
           "count": 1},
          {"action": "delay", "seconds": 3, "method": "GET", "path": OBJ_PATH,
           "count": 1})
    assert s3.restore_object(Bucket=bucket, Key="bad", RestoreRequest={"Days": 1})[
        "ResponseMetadata"]["HTTPStatusCode"] == 202
    with pytest.raises(ClientError) as e:
        s3.restore_object(Bucket=bucket, Key="bad", RestoreRequest={"Days": 1})
    assert e.value.response["Error"]["Code"] == "RestoreAlreadyInProgress"
    wait_for("the restore", lambda: s3.head_object(Bucket=bucket, Key="bad").get(
        "Restore", "").startswith('ongoing-request="false"'), timeout=60)
    proxy("/clear", {})
    assert s3.get_object(Bucket=bucket, Key="bad")["Body"].read() == body
    settled()


def test_restored_copy_reads_without_the_remote(s3, bucket):
    body = data(2 * MiB, "offline")
    s3.put_object(Bucket=bucket, Key="offline", Body=body, StorageClass=TIER)
    settled()
    s3.restore_object(Bucket=bucket, Key="offline", RestoreRequest={"Days": 5})
    wait_for("the restore", lambda: s3.head_object(Bucket=bucket, Key="offline").get(
        "Restore", "").startswith('ongoing-request="false"'))
    rules({"action": "status", "status": 503, "count": 1000})
    assert s3.get_object(Bucket=bucket, Key="offline")["Body"].read() == body
    proxy("/clear", {})


def test_sigkill_during_transitions(s3, bucket, local):
    rng = random.Random(10)
    kills = int(os.environ.get("TIER_KILLS", "50"))
    written = {}
    busy = 0
    with open(os.environ["COFFER_LOG"], errors="replace") as f:
        assert "were undone" not in f.read()       # counted below: from here on
    for i in range(kills):
        for j in range(3):
            size = 6 * MiB + 5 if j == 0 and i % 7 == 0 else rng.choice(
                [70000, 200000, 600000, 1500000])
            key = f"kill/{i}/{j}"
            written[key] = hashlib.sha256(body := data(size, key)).hexdigest()
            try:
                s3.put_object(Bucket=bucket, Key=key, Body=body, StorageClass=TIER)
            except Exception:
                del written[key]
        tierutil.lifecycle_now()         # rather than at the next interval
        # kill while a transition runs: once one is uploading, at a random
        # moment of it (some land just after its commit)
        end = time.time() + 5
        while time.time() < end and status()["uploading"] == 0:
            time.sleep(0.02)
        busy += status()["uploading"] > 0
        time.sleep(rng.uniform(0, 0.08))
        local.kill()
        local.start()
    # how many restarts found an interrupted transition to undo (cofferd
    # logs it): the kills must really have hit transitions
    undone = 0
    with open(os.environ["COFFER_LOG"], errors="replace") as f:
        for line in f:
            if "interrupted by a restart were undone" in line:
                undone += 1
    print(f"{kills} kills: {busy} found a transition running, {undone} restarts undid one")
    assert undone >= kills // 5, f"only {undone} of {kills} kills interrupted a transition"
    settled(timeout=180)
    for key, digest in written.items():
        got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert hashlib.sha256(got).hexdigest() == digest, key
        assert s3.head_object(Bucket=bucket, Key=key)["StorageClass"] == TIER
    no_orphans()
