"""Cold tiers and lifecycle rules, against real remotes (tier.sh starts them).

Every test that moves data runs against each remote: `remote` is the second
cofferd (tier COLDC), when Ceph is installed the Ceph RGW cluster (tier
COLDR), and Azurite, an Azure Blob tier (COLDA, tier type azure). Days are 2 s long (lifecycle.day_seconds), the worker runs every
second, objects above 5 MiB go in 5 MiB parts.

What is checked: the tier registry (probe, name rules, status, remove),
PUT with a storage class, lifecycle rules (transition by prefix, tag and
size; expiration; abort of stale uploads), read-through (whole, ranged
reads fetching only the blocks needed, listings and HEAD reporting the
tier), restores (202/200, x-amz-restore, the local copy dropped after its
days), deletes and overwrites removing the remote copy, and that no byte
of plaintext, key name, metadata or tag ever reaches a remote. Lifecycle on
versions (noncurrent expiration and transition, markers, object lock) runs
against the second cofferd only.
"""
import hashlib
import json
import os
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from tierutil import Azure, client, coffer, settled, status, wait_for

DAY = 2.0
MARK_DATA = b"COFFER-PLAINTEXT-MARKER-7f3a"
MARK_KEY = "COFFER-SECRET-KEYNAME-91cd"
MARK_META = "coffer-meta-marker-55ab"
MARK_TAG = "coffer-tag-marker-c3e0"
MiB = 1 << 20


class Remote:
    """An S3 remote (a second cofferd, Ceph RGW): bucket "tier"."""
    kind = "s3"

    def __init__(self, name, tier, endpoint, ak, sk, prefix):
        self.name, self.tier, self.prefix = name, tier, prefix
        self.endpoint, self.ak, self.sk = endpoint, ak, sk
        self.s3 = client(endpoint, ak, sk)

    def add_args(self):
        return ["--endpoint", self.endpoint, "--bucket", "tier", "--prefix", self.prefix,
                "--access-key", self.ak, "--secret-key", self.sk]

    def objects(self):
        out = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket="tier", Prefix=self.prefix):
            out += page.get("Contents", [])
        return out

    def read(self, name):
        """(what the remote keeps beside the bytes, the bytes)"""
        r = self.s3.get_object(Bucket="tier", Key=name)
        return json.dumps(r["Metadata"]) + r.get("ContentType", ""), r["Body"].read()

    def uploads(self):
        return self.s3.list_multipart_uploads(Bucket="tier").get("Uploads", [])


class AzureRemote:
    """An Azure Blob remote (Azurite): container "tier"."""
    kind = "azure"

    def __init__(self, name, tier, endpoint, account, key, prefix):
        self.name, self.tier, self.prefix = name, tier, prefix
        self.endpoint, self.account, self.key = endpoint, account, key
        self.az = Azure(endpoint, account, key, "tier")

    def add_args(self):
        return ["--type", "azure", "--endpoint", self.endpoint, "--account", self.account,
                "--container", "tier", "--prefix", self.prefix, "--account-key", self.key]

    def objects(self):
        return [{"Key": n} for n in self.az.names(self.prefix)]

    def read(self, name):
        h, body = self.az.get(name)
        meta = {k: v for k, v in h.items() if k.startswith("x-ms-meta-")}
        return json.dumps(meta) + h.get("content-type", ""), body

    def uploads(self):
        """Blobs with blocks never committed (an upload that did not finish)."""
        committed = set(self.az.names(self.prefix))
        return [n for n in self.az.names(self.prefix, uncommitted=True) if n not in committed]


def remote_list():
    out = [Remote("cofferd", "COLDC", os.environ["REMOTE_ENDPOINT"],
                  os.environ["REMOTE_AK"], os.environ["REMOTE_SK"], "c/")]
    if os.environ.get("RGW_ENDPOINT"):
        out.append(Remote("rgw", "COLDR", os.environ["RGW_ENDPOINT"],
                          os.environ["RGW_ACCESS_KEY"], os.environ["RGW_SECRET_KEY"], "r/"))
    if os.environ.get("AZURITE_ENDPOINT"):
        out.append(AzureRemote("azurite", "COLDA", os.environ["AZURITE_ENDPOINT"],
                               os.environ["AZURITE_ACCOUNT"], os.environ["AZURITE_KEY"],
                               "a/"))
    return out


REMOTES = remote_list()


@pytest.fixture(scope="module", autouse=True)
def tiers():
    for r in REMOTES:
        coffer("tier", "add", r.tier, *r.add_args())
    yield


@pytest.fixture(params=REMOTES, ids=[r.name for r in REMOTES])
def remote(request):
    return request.param


def data(n, seed):
    """n bytes holding the plaintext marker, deterministic per seed."""
    out = bytearray()
    block = hashlib.sha256(seed.encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 64 + MARK_DATA
    return bytes(out[:n])


def put(s3, bucket, key, body, **kw):
    return s3.put_object(Bucket=bucket, Key=key, Body=body, **kw)


def get(s3, bucket, key, **kw):
    return s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()


# ---- the registry ---------------------------------------------------------------------


def test_add_probes_and_refuses_with_the_remotes_message():
    r = REMOTES[0]
    p = coffer("tier", "add", "BADKEY", "--endpoint", r.endpoint, "--bucket", "tier",
               "--access-key", r.ak, "--secret-key", "not-the-secret", check=False)
    assert p.returncode == 1
    assert "SignatureDoesNotMatch" in p.stderr and "TierProbeFailed" in p.stderr
    assert "not-the-secret" not in p.stderr
    p = coffer("tier", "add", "NOBUCKET", "--endpoint", r.endpoint, "--bucket",
               "no-such-bucket", "--access-key", r.ak, "--secret-key", r.sk, check=False)
    assert p.returncode == 1 and "NoSuchBucket" in p.stderr
    p = coffer("tier", "add", "DOWN", "--endpoint", "http://127.0.0.1:9", "--bucket", "tier",
               "--access-key", r.ak, "--secret-key", r.sk, check=False)
    assert p.returncode == 1 and "cannot reach" in p.stderr
    for bad in ("cold", "GLACIER", "STANDARD", "A" * 33, "CO LD"):
        p = coffer("tier", "add", bad, "--endpoint", r.endpoint, "--bucket", "tier",
                   "--access-key", r.ak, "--secret-key", r.sk, check=False)
        assert p.returncode != 0, bad
    names = [t["name"] for t in json.loads(coffer("tier", "list").stdout)["tiers"]]
    assert names == sorted(x.tier for x in REMOTES)
    s = status(r.tier)
    assert s["endpoint"] == r.endpoint and s["bucket"] == "tier" and "secret_key" not in s
    assert r.sk not in coffer("tier", "status").stdout
    # probing left nothing behind
    assert not [o for o in r.s3.list_objects_v2(Bucket="tier").get("Contents", [])
                if "probe" in o["Key"]]


def test_azure_add_probes_and_refuses_with_azures_message():
    az = [r for r in REMOTES if r.kind == "azure"]
    if not az:
        pytest.skip("no Azurite")
    r = az[0]
    bad = "A" * 86 + "=="
    p = coffer("tier", "add", "AZBAD", "--type", "azure", "--endpoint", r.endpoint,
               "--account", r.account, "--container", "tier", "--account-key", bad,
               check=False)
    assert p.returncode == 1 and "TierProbeFailed" in p.stderr, p.stderr
    assert "AuthorizationFailure" in p.stderr or "AuthenticationFailed" in p.stderr, p.stderr
    assert bad not in p.stderr
    p = coffer("tier", "add", "AZNONE", "--type", "azure", "--endpoint", r.endpoint,
               "--account", r.account, "--container", "no-such-container",
               "--account-key", r.key, check=False)
    assert p.returncode == 1 and "ContainerNotFound" in p.stderr, p.stderr
    for args in (["--container", "tier"],                        # no key
                 ["--container", "tier", "--account-key", r.key, "--sas-token", "sv=x"],
                 ["--container", "tier", "--account-key", r.key, "--bucket", "b"],
                 ["--container", "tier", "--account-key", r.key, "--access-tier", "Warm"],
                 ["--container", "Bad_Name", "--account-key", r.key]):
        p = coffer("tier", "add", "AZX", "--type", "azure", "--endpoint", r.endpoint,
                   "--account", r.account, *args, check=False)
        assert p.returncode != 0, args
    assert not r.objects() and r.key not in coffer("tier", "status").stdout


def test_azure_tier_with_a_sas_token_moves_and_reads_through(s3, bucket):
    """A tier whose secret is an account SAS (made here with hmac from the
    development key, tierutil.Azure): the probe, a transition in blocks,
    a whole and a ranged read-through; the token never shows."""
    az = [r for r in REMOTES if r.kind == "azure"]
    if not az:
        pytest.skip("no Azurite")
    r = az[0]
    sas = r.az.sas
    coffer("tier", "add", "COLDS", "--type", "azure", "--endpoint", r.endpoint,
           "--account", r.account, "--container", "tier", "--prefix", "s/",
           "--sas-token", sas)
    body = data(6 * MiB + 3, "sas")
    put(s3, bucket, "sas", body, StorageClass="COLDS")
    settled("COLDS", 1)
    assert len(r.az.names("s/")) == 1
    assert get(s3, bucket, "sas") == body
    got = get(s3, bucket, "sas", Range="bytes=5242000-5300000")
    assert got == body[5242000:5300001]
    sig = urllib.parse.parse_qs(sas)["sig"][0]
    out = coffer("tier", "status").stdout + coffer("tier", "status", "COLDS").stdout
    assert sig not in out and urllib.parse.quote(sig, safe="") not in out
    delete_all_versions(s3, bucket)
    wait_for("the SAS tier's blob to go", lambda: not r.az.names("s/"), timeout=30)


def test_azure_archive_tier_is_rehydrated_by_a_restore(s3, bucket, raw):
    """An Archive tier: blobs go up archived; a GET of one is 403
    InvalidObjectState (Azure's 409 BlobArchived) until RestoreObject,
    which rehydrates the blob (Set Blob Tier Hot), copies it back, then
    archives the blob again. Azurite rehydrates at once, so real Azure's
    hours in rehydrate-pending-to-hot are not seen here."""
    az = [r for r in REMOTES if r.kind == "azure"]
    if not az:
        pytest.skip("no Azurite")
    r = az[0]
    coffer("tier", "add", "COLDZ", "--type", "azure", "--endpoint", r.endpoint,
           "--account", r.account, "--container", "tier", "--prefix", "z/",
           "--account-key", r.key, "--access-tier", "Archive")
    assert not r.az.names("z/")                        # the probe left nothing
    body = data(6 * MiB + 9, "archive")
    put(s3, bucket, "z", body, StorageClass="COLDZ")
    settled("COLDZ", 1)
    names = r.az.names("z/")
    assert len(names) == 1

    def access_tier():
        st, h, _ = r.az.request("HEAD", f"tier/{names[0]}")
        assert st == 200, st
        return h.get("x-ms-access-tier")
    assert access_tier() == "Archive"
    for rng in ({}, {"Range": "bytes=0-99"}):
        with pytest.raises(ClientError) as e:
            get(s3, bucket, "z", **rng)
        assert e.value.response["Error"]["Code"] == "InvalidObjectState", e.value.response
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    h = s3.head_object(Bucket=bucket, Key="z")
    assert h["StorageClass"] == "COLDZ" and "Restore" not in h
    restore(s3, raw, bucket, "z", 2, timeout=60)
    assert get(s3, bucket, "z") == body
    assert get(s3, bucket, "z", Range="bytes=6291000-6291499") == body[6291000:6291500]
    assert access_tier() == "Archive"                  # back offline; the copy serves
    delete_all_versions(s3, bucket)
    wait_for("the archived blob to go", lambda: not r.az.names("z/"), timeout=30)


def test_storage_class_names_are_checked(s3, bucket):
    with pytest.raises(ClientError) as e:
        put(s3, bucket, "x", b"x", StorageClass="DEEP_ARCHIVE")
    assert e.value.response["Error"]["Code"] == "InvalidStorageClass"
    with pytest.raises(ClientError) as e:
        s3.create_multipart_upload(Bucket=bucket, Key="m", StorageClass="ONEZONE_IA")
    assert e.value.response["Error"]["Code"] == "InvalidStorageClass"
    put(s3, bucket, "std", b"x", StorageClass="STANDARD")
    assert "StorageClass" not in s3.head_object(Bucket=bucket, Key="std")


# ---- transitions and reading through ------------------------------------------------


SIZES = [("tiny", 100), ("one-block", 300 * 1024), ("blocks", 3 * MiB + 5),
         ("parts", 12 * MiB + 123)]


def test_put_with_a_tier_moves_and_reads_through(s3, bucket, remote):
    before = status(remote.tier)["objects"]
    bodies = {}
    for name, size in SIZES:
        bodies[name] = data(size, name + remote.name)
        put(s3, bucket, name, bodies[name], StorageClass=remote.tier,
            Metadata={"m": MARK_META})
        assert s3.head_object(Bucket=bucket, Key=name)["StorageClass"] == remote.tier
    settled(remote.tier, before + len(SIZES))
    # the local shards are gone: every read comes from the remote
    for name, size in SIZES:
        h = s3.head_object(Bucket=bucket, Key=name)
        assert h["StorageClass"] == remote.tier and h["ContentLength"] == size
        assert h["Metadata"] == {"m": MARK_META}
        assert get(s3, bucket, name) == bodies[name]
    listed = {o["Key"]: o["StorageClass"] for o in
              s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == {n: remote.tier for n, _ in SIZES}
    listed = {o["Key"]: o["StorageClass"] for o in s3.list_objects(Bucket=bucket)["Contents"]}
    assert listed == {n: remote.tier for n, _ in SIZES}
    # ranges: inside a block, across blocks, across parts, suffix, last byte
    big = bodies["parts"]
    for rng, lo, hi in [("bytes=0-0", 0, 0), ("bytes=1000-70000", 1000, 70000),
                        ("bytes=1048570-1048600", 1048570, 1048600),
                        ("bytes=5242000-6000000", 5242000, 6000000),
                        ("bytes=-65536", len(big) - 65536, len(big) - 1),
                        (f"bytes={len(big) - 1}-", len(big) - 1, len(big) - 1)]:
        r = s3.get_object(Bucket=bucket, Key="parts", Range=rng)
        assert r["Body"].read() == big[lo:hi + 1], rng
        assert r["ContentRange"] == f"bytes {lo}-{hi}/{len(big)}"


def remote_get_bytes(since):
    """Body bytes the remote cofferd sent for GETs logged after line `since`."""
    with open(os.environ["REMOTE_ACCESS_LOG"]) as f:
        lines = f.readlines()[since:]
    return [json.loads(x)["bytes_out"] for x in lines if '"op":"GetObject"' in x]


def log_lines():
    with open(os.environ["REMOTE_ACCESS_LOG"]) as f:
        return len(f.readlines())


def test_a_range_fetches_only_its_blocks(s3, bucket):
    r = REMOTES[0]
    body = data(12 * MiB, "ranged")
    put(s3, bucket, "big", body, StorageClass=r.tier)
    settled(r.tier)
    mark = log_lines()
    got = s3.get_object(Bucket=bucket, Key="big", Range="bytes=6000000-6065535")["Body"].read()
    assert got == body[6000000:6065536]
    sent = wait_for("the remote's access log", lambda: remote_get_bytes(mark))
    assert len(sent) == 1 and sent[0] <= 2 * (MiB + 16), sent
    # a whole GET is one remote request
    mark = log_lines()
    assert get(s3, bucket, "big") == body
    sent = wait_for("the remote's access log", lambda: remote_get_bytes(mark))
    assert len(sent) == 1 and len(body) < sent[0] < len(body) + 13 * 16


def test_rules_transition_by_prefix_tag_and_size(s3, bucket, remote):
    before = status(remote.tier)["objects"]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "data", "Status": "Enabled", "Filter": {"Prefix": "data/"},
         "Transitions": [{"Days": 1, "StorageClass": remote.tier}]},
        {"ID": "tagged-big", "Status": "Enabled", "Filter": {"And": {
            "Prefix": "other/", "Tags": [{"Key": "cold", "Value": "yes"}],
            "ObjectSizeGreaterThan": 100000}},
         "Transitions": [{"Days": 0, "StorageClass": remote.tier}]},
        {"ID": "off", "Status": "Disabled", "Filter": {"Prefix": "index/"},
         "Transitions": [{"Days": 0, "StorageClass": remote.tier}]},
    ]})
    moves = {"data/1": data(200000, "d1"), "data/2": data(70000, "d2"),
             "other/big": data(150000, "ob")}
    stays = {"index/1": data(200000, "i1"), "other/small": data(5000, "os"),
             "other/untagged": data(150000, "ou"), "other/wrongtag": data(150000, "ow")}
    for k, v in {**moves, **stays}.items():
        tag = {"other/big": "cold=yes", "other/small": "cold=yes",
               "other/wrongtag": "cold=no"}.get(k, "")
        put(s3, bucket, k, v, Tagging=tag)
    # data/ moves only once a day old, and the pass that moved it judged the
    # others with the same clock, every rule due: what has not moved stays
    settled(remote.tier, before + len(moves))
    for k, v in moves.items():
        assert s3.head_object(Bucket=bucket, Key=k).get("StorageClass") == remote.tier, k
        assert get(s3, bucket, k) == v
    for k, v in stays.items():
        assert "StorageClass" not in s3.head_object(Bucket=bucket, Key=k), k
        assert get(s3, bucket, k) == v
    s3.delete_bucket_lifecycle(Bucket=bucket)


def test_expiration_deletes_local_and_tiered(s3, bucket, remote):
    before = len(remote.objects())
    put(s3, bucket, "exp/tiered", data(300000, "et"), StorageClass=remote.tier)
    put(s3, bucket, "exp/local", b"local")
    put(s3, bucket, "keep/x", b"keep")
    wait_for("the tiered object to reach the remote",
             lambda: len(remote.objects()) == before + 1)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "exp", "Status": "Enabled", "Filter": {"Prefix": "exp/"},
         "Expiration": {"Days": 1}}]})
    wait_for("expiration", lambda: [o["Key"] for o in
                                    s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
             == ["keep/x"], timeout=30)
    wait_for("the remote copy to go", lambda: len(remote.objects()) == before)
    settled(remote.tier)


def test_stale_uploads_are_aborted(s3, bucket):
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "abort", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]})
    old = s3.create_multipart_upload(Bucket=bucket, Key="tmp/a")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="tmp/a", UploadId=old, PartNumber=1, Body=b"p" * 100)
    other = s3.create_multipart_upload(Bucket=bucket, Key="keep/a")["UploadId"]
    wait_for("the stale upload to be aborted", lambda: [
        u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
        == ["keep/a"], timeout=30)
    s3.abort_multipart_upload(Bucket=bucket, Key="keep/a", UploadId=other)


def test_multipart_and_copy_carry_class_and_tags(s3, bucket, remote):
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", StorageClass=remote.tier,
                                    Tagging="a=1&b=2")["UploadId"]
    p1 = data(5 * MiB, "p1")
    p2 = data(1000, "p2")
    e1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=2, Body=p2)["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    h = s3.head_object(Bucket=bucket, Key="mp")
    assert h["StorageClass"] == remote.tier
    assert h["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    settled(remote.tier)
    assert get(s3, bucket, "mp") == p1 + p2
    # copying a tiered object reads it through; COPY keeps tags, REPLACE sets them
    s3.copy_object(Bucket=bucket, Key="c1", CopySource={"Bucket": bucket, "Key": "mp"})
    assert "StorageClass" not in s3.head_object(Bucket=bucket, Key="c1")
    assert get(s3, bucket, "c1") == p1 + p2
    tags = s3.get_object_tagging(Bucket=bucket, Key="c1")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "1"), ("b", "2")]
    s3.copy_object(Bucket=bucket, Key="c2", CopySource={"Bucket": bucket, "Key": "mp"},
                   TaggingDirective="REPLACE", Tagging="z=9", StorageClass=remote.tier)
    assert s3.get_object_tagging(Bucket=bucket, Key="c2")["TagSet"] == [
        {"Key": "z", "Value": "9"}]
    settled(remote.tier)
    assert get(s3, bucket, "c2") == p1 + p2


def restore(s3, raw, bucket, key, days, timeout=30):
    """RestoreObject (202), then wait until HEAD says it is done; the HEAD."""
    r = raw("POST", f"/{bucket}/{key}", "restore",
            body=b"<RestoreRequest><Days>%d</Days></RestoreRequest>" % days)
    assert r.status == 202, r.body

    def restored():
        h = s3.head_object(Bucket=bucket, Key=key)
        return h.get("Restore", "").startswith('ongoing-request="false"') and h
    return wait_for(f"the restore of {key}", restored, timeout=timeout)


def test_restore_brings_a_local_copy_for_its_days(s3, bucket, remote, raw):
    body = data(2 * MiB + 7, "restore" + remote.name)
    put(s3, bucket, "r", body, StorageClass=remote.tier)
    settled(remote.tier)
    h = restore(s3, raw, bucket, "r", 2)
    assert "expiry-date=" in h["Restore"] and h["StorageClass"] == remote.tier
    assert get(s3, bucket, "r") == body
    r = raw("POST", f"/{bucket}/r", "restore",
            body=b"<RestoreRequest><Days>1</Days></RestoreRequest>")
    assert r.status == 200, r.body
    # after its days the local copy goes, and reads go through again
    wait_for("the restored copy to expire",
             lambda: "Restore" not in s3.head_object(Bucket=bucket, Key="r"), timeout=30)
    assert get(s3, bucket, "r") == body
    # a local object cannot be restored
    put(s3, bucket, "plain", b"x")
    r = raw("POST", f"/{bucket}/plain", "restore",
            body=b"<RestoreRequest><Days>1</Days></RestoreRequest>")
    assert r.status == 403 and r.error_code() == "InvalidObjectState"
    r = raw("POST", f"/{bucket}/r", "restore", body=b"<RestoreRequest/>")
    assert r.status == 400 and r.error_code() == "MalformedXML"


def tagset(r):
    return sorted((t["Key"], t["Value"]) for t in r["TagSet"])


def delete_all_versions(s3, bucket):
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objs = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if objs:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objs, "Quiet": True})


def test_versions_by_id_move_tag_and_restore(s3, bucket, remote):
    """A noncurrent version whose storage class asked for the tier moves
    too; tags and RestoreObject act on the version a versionId names."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    try:
        before = len(remote.objects())
        body1 = data(600000, "v1" + remote.name)
        v1 = put(s3, bucket, "k", body1, StorageClass=remote.tier,
                 Tagging="gen=1")["VersionId"]
        v2 = put(s3, bucket, "k", b"current, local", Tagging="gen=2")["VersionId"]
        settled(remote.tier)
        assert len(remote.objects()) == before + 1
        h = s3.head_object(Bucket=bucket, Key="k", VersionId=v1)
        assert h["StorageClass"] == remote.tier
        assert "StorageClass" not in s3.head_object(Bucket=bucket, Key="k")
        assert get(s3, bucket, "k", VersionId=v1) == body1
        # tags by version id
        r = s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)
        assert tagset(r) == [("gen", "1")] and r["VersionId"] == v1
        assert tagset(s3.get_object_tagging(Bucket=bucket, Key="k")) == [("gen", "2")]
        r = s3.put_object_tagging(Bucket=bucket, Key="k", VersionId=v1,
                                  Tagging={"TagSet": [{"Key": "gen", "Value": "one"}]})
        assert r["VersionId"] == v1
        assert tagset(s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)) == \
            [("gen", "one")]
        assert tagset(s3.get_object_tagging(Bucket=bucket, Key="k")) == [("gen", "2")]
        s3.delete_object_tagging(Bucket=bucket, Key="k", VersionId=v1)
        assert tagset(s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)) == []
        assert tagset(s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v2)) == \
            [("gen", "2")]
        with pytest.raises(ClientError) as e:
            s3.get_object_tagging(Bucket=bucket, Key="k", VersionId="0" * 32)
        assert e.value.response["Error"]["Code"] == "NoSuchVersion"
        with pytest.raises(ClientError) as e:
            s3.put_object_tagging(Bucket=bucket, Key="k", VersionId="bad",
                                  Tagging={"TagSet": []})
        assert e.value.response["Error"]["Code"] == "InvalidArgument"
        # restore by version id: the noncurrent tiered one; the current one is local
        r = s3.restore_object(Bucket=bucket, Key="k", VersionId=v1,
                              RestoreRequest={"Days": 30})
        assert r["ResponseMetadata"]["HTTPStatusCode"] == 202
        wait_for("the noncurrent version's restore", lambda: 'ongoing-request="false"' in
                 s3.head_object(Bucket=bucket, Key="k", VersionId=v1).get("Restore", ""),
                 timeout=30)
        assert get(s3, bucket, "k", VersionId=v1) == body1
        with pytest.raises(ClientError) as e:
            s3.restore_object(Bucket=bucket, Key="k", VersionId=v2,
                              RestoreRequest={"Days": 1})
        assert e.value.response["Error"]["Code"] == "InvalidObjectState"
        # a delete marker has no tags
        marker = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
        with pytest.raises(ClientError) as e:
            s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=marker)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405
        assert tagset(s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v2)) == \
            [("gen", "2")]
    finally:
        delete_all_versions(s3, bucket)
    wait_for("the remote copy to go", lambda: len(remote.objects()) == before)
    settled(remote.tier)


def md5_b64(body):
    import base64
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def remove_locked_bucket(s3, b):
    """Every version of a bucket with object lock, deleted by a key that may
    bypass GOVERNANCE retention (no legal hold may be on), then the bucket."""
    key = json.loads(coffer("key", "create", "dev", "--permissions",
                            "read,write-new,overwrite,delete,bypass-governance").stdout)
    admin = client(os.environ["COFFER_ENDPOINT"], key["access_key"], key["secret_key"])
    for page in admin.get_paginator("list_object_versions").paginate(Bucket=b):
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            admin.delete_object(Bucket=b, Key=v["Key"], VersionId=v["VersionId"],
                                BypassGovernanceRetention=True)
    coffer("key", "revoke", key["access_key"])
    s3.delete_bucket_lifecycle(Bucket=b)
    s3.delete_bucket(Bucket=b)


def test_kopia_template_on_a_kopia_shaped_repository(s3, remote, raw):
    """kopia cannot run here (not in Debian or npm), so this is the S3 it
    sends (/work/shared/CLIENTS.md): a bucket with object lock, every blob
    written with a GOVERNANCE retention, the blob names of a repository;
    `coffer lifecycle template kopia` applied as sent; then kopia's reads
    (prefix listings, ranged GETs inside packs) and its maintenance's
    retention extension (PutObjectRetention without a namespace) on
    tiered packs."""
    import datetime
    b = "kopia-" + remote.name
    s3.create_bucket(Bucket=b, ObjectLockEnabledForBucket=True)
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    lock = {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": until}
    h = hashlib.sha256(remote.name.encode()).hexdigest()[:32]
    moves = {"p" + h: data(3 * MiB + 11, "p1"), "p" + h[::-1]: data(600000, "p2"),
             "pf" + h[2:]: data(7 * MiB, "p3")}
    stays = {"kopia.repository": b'{"uniqueID":"x","format":"..."}',
             "kopia.blobcfg": b"{}", "kopia.maintenance": b"{}",
             "q" + h: data(200000, "q"), "n" + h: data(9000, "n"), "x" + h: data(9000, "x"),
             "m" + h: data(5000, "m"), "l" + h: data(100, "l"), "s" + h: data(700, "s"),
             "xn0_" + h: data(300, "xn")}
    before = status(remote.tier)["objects"]
    try:
        for k, v in {**moves, **stays}.items():
            put(s3, b, k, v, **lock)
        xml = coffer("lifecycle", "template", "kopia", "--tier", remote.tier,
                     "--days", "0").stdout.encode()
        r = raw("PUT", f"/{b}", "lifecycle", body=xml, headers={"Content-MD5": md5_b64(xml)})
        assert r.status == 200, r.body
        settled(remote.tier, before + len(moves))    # the put woke a pass (days 0)
        listed = {o["Key"]: o.get("StorageClass") for o in
                  s3.list_objects_v2(Bucket=b, Prefix="p")["Contents"]}
        assert listed == {k: remote.tier for k in moves}, listed
        for k, v in moves.items():
            hd = s3.head_object(Bucket=b, Key=k)
            assert hd["StorageClass"] == remote.tier, k
            assert hd["ObjectLockMode"] == "GOVERNANCE", k     # retention survives
            for off, n in ((0, 4096), (len(v) // 2, 65536), (len(v) - 100, 100)):
                got = get(s3, b, k, Range=f"bytes={off}-{off + n - 1}")
                assert got == v[off:off + n], (k, off)
        for k, v in stays.items():
            assert "StorageClass" not in s3.head_object(Bucket=b, Key=k), k
            assert get(s3, b, k) == v
        # maintenance extends a tiered pack's retention, XML without a namespace
        k = next(iter(moves))
        later = (until + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        ret = (f"<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>{later}"
               f"</RetainUntilDate></Retention>").encode()
        r = raw("PUT", f"/{b}/{k}", "retention", body=ret,
                headers={"Content-MD5": md5_b64(ret)})
        assert r.status == 200, r.body
        hd = s3.head_object(Bucket=b, Key=k)
        assert hd["ObjectLockRetainUntilDate"].strftime("%Y-%m-%d") == later[:10]
        assert hd["StorageClass"] == remote.tier
        # a locked tiered pack is not deleted without the bypass
        vid = hd["VersionId"]
        with pytest.raises(ClientError) as e:
            s3.delete_object(Bucket=b, Key=k, VersionId=vid)
        assert e.value.response["Error"]["Code"] == "AccessDenied"
    finally:
        remove_locked_bucket(s3, b)
    settled(remote.tier, before)


def test_delete_and_overwrite_remove_the_remote_copy(s3, bucket, remote):
    before = len(remote.objects())
    put(s3, bucket, "a", data(400000, "a"), StorageClass=remote.tier)
    put(s3, bucket, "b", data(400000, "b"), StorageClass=remote.tier)
    wait_for("both on the remote", lambda: len(remote.objects()) == before + 2)
    settled(remote.tier)
    s3.delete_object(Bucket=bucket, Key="a")
    put(s3, bucket, "b", b"new local version")
    wait_for("the remote copies to go", lambda: len(remote.objects()) == before)
    assert get(s3, bucket, "b") == b"new local version"
    settled(remote.tier)


def test_class_map_sends_aws_classes_to_a_tier(s3, bucket):
    r = REMOTES[0]
    body = data(300000, "glacier")
    put(s3, bucket, "g", body, StorageClass="GLACIER")
    assert s3.head_object(Bucket=bucket, Key="g")["StorageClass"] == r.tier
    settled(r.tier)
    assert get(s3, bucket, "g") == body


def test_remove_is_refused_while_objects_live_there(s3, bucket):
    r = REMOTES[0]
    put(s3, bucket, "x", data(100000, "x"), StorageClass=r.tier)
    settled(r.tier)
    p = coffer("tier", "remove", r.tier, check=False)
    assert p.returncode == 1 and "TierNotEmpty" in p.stderr


# ---- what the remotes see ----------------------------------------------------------------


def test_no_plaintext_key_or_metadata_reaches_a_remote(s3, bucket, remote):
    key = f"dir/{MARK_KEY}/file"
    put(s3, bucket, key, data(2 * MiB, "mark") + MARK_DATA, StorageClass=remote.tier,
        Metadata={"note": MARK_META}, Tagging=f"t={MARK_TAG}", ContentType="text/x-marker")
    settled(remote.tier)
    objs = remote.objects()
    assert objs
    needles = [MARK_DATA, MARK_KEY.encode(), MARK_META.encode(), MARK_TAG.encode(),
               bucket.encode(), b"text/x-marker"]
    for o in objs:
        name = o["Key"]
        assert name.startswith(remote.prefix) and len(name) == len(remote.prefix) + 32
        assert all(c in "0123456789abcdef" for c in name[len(remote.prefix):])
        meta, blob = remote.read(name)
        for n in needles:
            assert n not in blob, (name, n)
            assert n.decode() not in meta, (name, n)
    assert not remote.uploads()


# ---- lifecycle on versions (issue 11.3) ----------------------------------------------------


def versions_of(s3, bucket, prefix):
    """[(key, version id, is a marker, storage class)] newest first per key."""
    r = s3.list_object_versions(Bucket=bucket, Prefix=prefix)
    out = [(v["Key"], v["VersionId"], False, v.get("StorageClass")) for v in
           r.get("Versions", [])]
    out += [(m["Key"], m["VersionId"], True, None) for m in r.get("DeleteMarkers", [])]
    return sorted(out)


def test_lifecycle_on_versions(s3, bucket):
    """Noncurrent versions expire NoncurrentDays after they became
    noncurrent, the newest NewerNoncurrentVersions kept; they move to a
    tier by NoncurrentVersionTransition; the current version's expiration
    in a versioned bucket adds a delete marker and destroys nothing; a
    marker left alone goes (ExpiredObjectDeleteMarker, or an Expiration by
    Days once it is that old), one with versions behind it stays. Against the second cofferd only: the tier path is
    the one every remote already passes above."""
    r = REMOTES[0]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    before = status(r.tier)["objects"]
    rules = [
        {"ID": "nc", "Status": "Enabled", "Filter": {"Prefix": "nc/"},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 1}},
        {"ID": "mv", "Status": "Enabled", "Filter": {"Prefix": "mv/"},
         "NoncurrentVersionTransitions": [{"NoncurrentDays": 1, "StorageClass": r.tier}]},
        {"ID": "cur", "Status": "Enabled", "Filter": {"Prefix": "cur/"},
         "Expiration": {"Days": 1}},
        {"ID": "markers", "Status": "Enabled", "Filter": {"Prefix": "gone/"},
         "Expiration": {"ExpiredObjectDeleteMarker": True}},
        {"ID": "aged", "Status": "Enabled", "Filter": {"Prefix": "aged/"},
         "Expiration": {"Days": 1}},
    ]
    try:
        nc = [put(s3, bucket, "nc/k", f"gen {i}".encode())["VersionId"] for i in range(4)]
        old = data(300000, "mv-old")
        mv_old = put(s3, bucket, "mv/k", old)["VersionId"]
        mv_new = put(s3, bucket, "mv/k", b"new")["VersionId"]
        cur = put(s3, bucket, "cur/k", b"current data")["VersionId"]
        g = put(s3, bucket, "gone/alone", b"x")["VersionId"]
        s3.delete_object(Bucket=bucket, Key="gone/alone")
        s3.delete_object(Bucket=bucket, Key="gone/alone", VersionId=g)  # a marker alone
        a = put(s3, bucket, "aged/alone", b"z")["VersionId"]
        s3.delete_object(Bucket=bucket, Key="aged/alone")
        s3.delete_object(Bucket=bucket, Key="aged/alone", VersionId=a)
        put(s3, bucket, "gone/kept", b"y")
        kept_marker = s3.delete_object(Bucket=bucket, Key="gone/kept")["VersionId"]
        s3.put_bucket_lifecycle_configuration(Bucket=bucket,
                                              LifecycleConfiguration={"Rules": rules})
        got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        assert got[0]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1,
                                                         "NewerNoncurrentVersions": 1}
        assert got[1]["NoncurrentVersionTransitions"] == [{"NoncurrentDays": 1,
                                                           "StorageClass": r.tier}]
        assert got[3]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
        # the newest noncurrent version of nc/k is kept, the older two go
        wait_for("noncurrent expiration", lambda: [v[1] for v in versions_of(
            s3, bucket, "nc/")] == sorted(nc[2:]), timeout=30)
        assert get(s3, bucket, "nc/k") == b"gen 3"
        assert get(s3, bucket, "nc/k", VersionId=nc[2]) == b"gen 2"
        # the noncurrent version of mv/k moves, the current one stays local
        settled(r.tier, before + 1)
        assert s3.head_object(Bucket=bucket, Key="mv/k", VersionId=mv_old)[
            "StorageClass"] == r.tier
        assert "StorageClass" not in s3.head_object(Bucket=bucket, Key="mv/k")
        assert get(s3, bucket, "mv/k", VersionId=mv_old) == old
        assert s3.head_object(Bucket=bucket, Key="mv/k")["VersionId"] == mv_new
        # expiring cur/k adds a marker; its data stays as a noncurrent version
        def marked():
            vs = versions_of(s3, bucket, "cur/")
            return len(vs) == 2 and vs
        vs = wait_for("the current version's expiration", marked, timeout=30)
        assert sorted(v[2] for v in vs) == [False, True]      # a version and a marker
        assert [v[1] for v in vs if not v[2]] == [cur]
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket=bucket, Key="cur/k")
        assert e.value.response["Error"]["Code"] == "NoSuchKey"
        assert get(s3, bucket, "cur/k", VersionId=cur) == b"current data"
        # the marker alone goes; the one with a version behind it stays
        wait_for("the lone marker to go", lambda: [v[0] for v in versions_of(
            s3, bucket, "gone/")] == ["gone/kept", "gone/kept"], timeout=30)
        # an Expiration by Days removes a lone marker once it is that old, as S3
        wait_for("the aged lone marker to go", lambda: not versions_of(
            s3, bucket, "aged/"), timeout=30)
        time.sleep(DAY)                                      # a pass or two later
        assert [v[1] for v in versions_of(s3, bucket, "gone/") if v[2]] == [kept_marker]
        assert len(versions_of(s3, bucket, "cur/")) == 2      # its marker stays too
    finally:
        s3.delete_bucket_lifecycle(Bucket=bucket)
        delete_all_versions(s3, bucket)
    settled(r.tier, before)


def test_lifecycle_never_destroys_a_locked_version(s3):
    """NoncurrentVersionExpiration in a bucket with object lock: an
    unlocked noncurrent version goes, one under legal hold or a GOVERNANCE
    retention stays and is counted (the job's summary, the log); after the
    hold is lifted the next pass expires it."""
    import datetime
    b = "lclock-" + hashlib.sha256(str(time.time()).encode()).hexdigest()[:12]
    s3.create_bucket(Bucket=b, ObjectLockEnabledForBucket=True)
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    held = None
    try:
        free = put(s3, b, "free", b"free 1")["VersionId"]
        held = put(s3, b, "held", b"held 1", ObjectLockLegalHoldStatus="ON")["VersionId"]
        kept = put(s3, b, "kept", b"kept 1", ObjectLockMode="GOVERNANCE",
                   ObjectLockRetainUntilDate=until)["VersionId"]
        for k in ("free", "held", "kept"):
            put(s3, b, k, k.encode() + b" 2")
        s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
            {"ID": "nc", "Status": "Enabled", "Filter": {"Prefix": ""},
             "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]})
        wait_for("the unlocked noncurrent version to expire", lambda: free not in [
            v[1] for v in versions_of(s3, b, "free")], timeout=30)
        def summary():
            j = json.loads(coffer("jobs", "lifecycle").stdout)
            s = json.dumps(j)
            return "2 versions under object lock kept" in s
        wait_for("the lifecycle job to count the locked versions", summary, timeout=30)
        with open(os.environ["COFFER_LOG"]) as f:
            assert f"bucket {b}: 2 versions under object lock kept" in f.read()
        assert get(s3, b, "held", VersionId=held) == b"held 1"
        assert get(s3, b, "kept", VersionId=kept) == b"kept 1"
        s3.put_object_legal_hold(Bucket=b, Key="held", VersionId=held,
                                 LegalHold={"Status": "OFF"})
        wait_for("the released version to expire", lambda: held not in [
            v[1] for v in versions_of(s3, b, "held")], timeout=30)
        assert get(s3, b, "kept", VersionId=kept) == b"kept 1"
    finally:
        if held:
            try:
                s3.put_object_legal_hold(Bucket=b, Key="held", VersionId=held,
                                         LegalHold={"Status": "OFF"})
            except ClientError:
                pass                     # expired already
        remove_locked_bucket(s3, b)
