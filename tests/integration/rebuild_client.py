"""tests/integration/rebuild_client.py - the S3 side of test_rebuild_index.sh.

  populate  write what a rebuild must bring back: an unversioned bucket
            (inline, sharded, empty, multipart, overwritten and deleted
            objects), a versioned one (versions, delete markers, a marker
            deleted again, a version deleted by id, SSE-C), an object lock
            bucket (retention, legal hold) and an upload in progress with a
            sharded and an inline part; tags set at PUT, by
            PutObjectTagging (also of a noncurrent version) and removed by
            DeleteObjectTagging; a multipart upload in progress in the lock
            bucket with a retention, a legal hold and tags;
  cold      objects of storage class COLD (a tier on a second cofferd) in
            a versioned bucket: two versions of a single PUT, an inline one
            and a multipart one, tagged; waits until all four are tiered;
  state     print everything a client can see of them as JSON: every
            bucket's ListObjectVersions (versions and markers, their ids,
            ETags, sizes, times, storage classes), each version's SHA-256
            read back by id, its headers, tags, retention and legal hold,
            versioning and lock configuration, and the uploads in progress
            with their parts;
  late      just before the stop: a bucket's settings change (versioning,
            default encryption, lifecycle rules) after its last catalog
            write by a create,
            and a key gets two versions and a delete marker;
  write     a new object is written, read back and deleted;
  finish    the locked upload in progress completes into a version with
            the retention, legal hold and tags its create asked for;
  probe F   for every version in state file F: a GET by version id returns
            exactly its bytes or fails as absent, never other bytes.
"""
import base64
import hashlib
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone

import boto3
import botocore
from botocore.config import Config

s3 = boto3.client("s3", endpoint_url=os.environ["COFFER_ENDPOINT"],
                  aws_access_key_id=os.environ["COFFER_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["COFFER_SECRET_KEY"],
                  region_name="us-east-1", verify=os.environ.get("COFFER_CA") or None,
                  config=Config(s3={"addressing_style": "path"},
                                retries={"max_attempts": 1}))
BUCKETS = ["plain", "ver", "locked", "late", "cold"]
UNTIL = datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone.utc)   # the locked upload's
SSEC = b"k" * 32
SSEC_ARGS = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": SSEC}
MiB = 1024 * 1024


def body(tag, size):
    out, i = bytearray(), 0
    while len(out) < size:
        out += hashlib.sha256(f"{tag}/{i}".encode()).digest()
        i += 1
    return bytes(out[:size])


def multipart(bucket, key, sizes, complete=True):
    up = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="application/x-mp",
                                    Metadata={"kind": "multipart"})
    parts = []
    for n, size in enumerate(sizes, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=up["UploadId"], PartNumber=n,
                           Body=body(f"{key}/{n}", size))
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    if complete:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up["UploadId"],
                                     MultipartUpload={"Parts": parts})
    return up["UploadId"]


def populate():
    s3.create_bucket(Bucket="plain")
    for key, size in [("inline", 100), ("empty", 0), ("sharded", 300000),
                      ("big", 3 * MiB + 5), ("gone", 200000), ("gone-small", 50)]:
        s3.put_object(Bucket="plain", Key=key, Body=body(key, size),
                      ContentType="text/x-coffer", Metadata={"origin": key})
    s3.put_object(Bucket="plain", Key="sharded", Body=body("sharded2", 250000))
    s3.put_object(Bucket="plain", Key="inline", Body=body("inline2", 120))
    s3.delete_object(Bucket="plain", Key="gone")
    s3.delete_object(Bucket="plain", Key="gone-small")
    multipart("plain", "mp", [5 * MiB, 1 * MiB + 3])
    multipart("plain", "pending", [300000, 100], complete=False)

    s3.create_bucket(Bucket="ver")
    s3.put_bucket_versioning(Bucket="ver", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="ver", Key="k", Body=body("k1", 100))
    s3.put_object(Bucket="ver", Key="k", Body=body("k2", 200000))
    s3.delete_object(Bucket="ver", Key="k")                      # a marker on top
    v = s3.put_object(Bucket="ver", Key="j", Body=body("j1", 150000))["VersionId"]
    s3.put_object(Bucket="ver", Key="j", Body=body("j2", 60))
    s3.delete_object(Bucket="ver", Key="j", VersionId=v)          # a version by id
    s3.put_object(Bucket="ver", Key="m", Body=body("m1", 70000))
    marker = s3.delete_object(Bucket="ver", Key="m")["VersionId"]
    s3.delete_object(Bucket="ver", Key="m", VersionId=marker)     # the marker goes
    s3.delete_object(Bucket="ver", Key="only-marker")
    multipart("ver", "mpv", [5 * MiB, 2000])
    s3.put_object(Bucket="ver", Key="ssec/a", Body=body("ssec", 90000), **SSEC_ARGS)
    s3.put_object(Bucket="ver", Key="ssec/b", Body=body("ssecb", 90), **SSEC_ARGS)

    s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    until = datetime.now(timezone.utc) + timedelta(days=1)
    s3.put_object(Bucket="locked", Key="kept", Body=body("kept", 80000),
                  ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until)
    s3.put_object(Bucket="locked", Key="held", Body=body("held", 40))
    s3.put_object_legal_hold(Bucket="locked", Key="held", LegalHold={"Status": "ON"})
    s3.put_object(Bucket="locked", Key="held", Body=body("held2", 40))

    s3.put_object(Bucket="plain", Key="tagged", Body=body("tagged", 150000),
                  Tagging="colour=blue&n=1")
    s3.put_object(Bucket="plain", Key="untagged", Body=body("untagged", 20),
                  Tagging="gone=soon")
    s3.delete_object_tagging(Bucket="plain", Key="untagged")
    s3.put_object_tagging(Bucket="plain", Key="empty",
                          Tagging={"TagSet": [{"Key": "later", "Value": "set"}]})
    old = s3.list_object_versions(Bucket="ver", Prefix="k")["Versions"]
    s3.put_object_tagging(Bucket="ver", Key="k", VersionId=old[-1]["VersionId"],
                          Tagging={"TagSet": [{"Key": "noncurrent", "Value": "yes"}]})
    up = s3.create_multipart_upload(Bucket="locked", Key="mp-locked",
                                    ObjectLockMode="GOVERNANCE",
                                    ObjectLockRetainUntilDate=UNTIL,
                                    ObjectLockLegalHoldStatus="ON", Tagging="up=1")
    s3.upload_part(Bucket="locked", Key="mp-locked", UploadId=up["UploadId"], PartNumber=1,
                   Body=body("mp-locked", 70000))


# tiered with the others, deleted by tiergone before the index is lost:
# not part of the state compared
TIERGONE = "tiered-then-deleted"


def cold():
    s3.create_bucket(Bucket="cold")
    s3.put_bucket_versioning(Bucket="cold", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="cold", Key="doc", Body=body("doc1", 200000), StorageClass="COLD",
                  Tagging="v=1")
    s3.put_object(Bucket="cold", Key="doc", Body=body("doc2", 300000), StorageClass="COLD")
    s3.put_object(Bucket="cold", Key="tiny", Body=body("tiny", 100), StorageClass="COLD",
                  Tagging="size=small")
    up = s3.create_multipart_upload(Bucket="cold", Key="mpc", StorageClass="COLD",
                                    Tagging="kind=mp")
    parts = []                       # one part: a manifest, without 5 MiB to move
    for n, size in enumerate([70000], 1):
        r = s3.upload_part(Bucket="cold", Key="mpc", UploadId=up["UploadId"], PartNumber=n,
                           Body=body(f"mpc/{n}", size))
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    s3.complete_multipart_upload(Bucket="cold", Key="mpc", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": parts})
    s3.put_object(Bucket="plain", Key=TIERGONE, Body=body(TIERGONE, 150000),
                  StorageClass="COLD")


def extra(bucket, key, vid, fn):
    try:
        return fn(Bucket=bucket, Key=key, VersionId=vid)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]


def read(bucket, key, vid):
    args = SSEC_ARGS if key.startswith("ssec/") else {}
    r = s3.get_object(Bucket=bucket, Key=key, VersionId=vid, **args)
    return r, r["Body"].read()


def state():
    out = {}
    for b in BUCKETS + ["restic"]:
        try:
            s3.head_bucket(Bucket=b)
        except botocore.exceptions.ClientError:
            continue
        vs = s3.list_object_versions(Bucket=b)
        versions = []
        for v in vs.get("Versions", []):
            if v["Key"] == TIERGONE:
                continue
            r, data = read(b, v["Key"], v["VersionId"])
            e = {"Key": v["Key"], "VersionId": v["VersionId"], "IsLatest": v["IsLatest"],
                 "ETag": v["ETag"], "Size": v["Size"],
                 "LastModified": v["LastModified"].isoformat(),
                 "StorageClass": v.get("StorageClass"),
                 "sha256": hashlib.sha256(data).hexdigest(),
                 "ContentType": r.get("ContentType"), "Metadata": r.get("Metadata"),
                 "tags": sorted((t["Key"], t["Value"]) for t in s3.get_object_tagging(
                     Bucket=b, Key=v["Key"], VersionId=v["VersionId"])["TagSet"])}
            if b == "locked":
                ret = extra(b, v["Key"], v["VersionId"], s3.get_object_retention)
                hold = extra(b, v["Key"], v["VersionId"], s3.get_object_legal_hold)
                e["retention"] = ret if isinstance(ret, str) else {
                    "Mode": ret["Retention"]["Mode"],
                    "Until": ret["Retention"]["RetainUntilDate"].isoformat()}
                e["hold"] = hold if isinstance(hold, str) else hold["LegalHold"]["Status"]
            versions.append(e)
        markers = [{"Key": m["Key"], "VersionId": m["VersionId"], "IsLatest": m["IsLatest"],
                    "LastModified": m["LastModified"].isoformat()}
                   for m in vs.get("DeleteMarkers", [])]
        ups = []
        for u in s3.list_multipart_uploads(Bucket=b).get("Uploads", []):
            ps = s3.list_parts(Bucket=b, Key=u["Key"], UploadId=u["UploadId"])
            ups.append({"Key": u["Key"], "UploadId": u["UploadId"],
                        "Parts": [(p["PartNumber"], p["ETag"], p["Size"])
                                  for p in ps.get("Parts", [])]})
        out[b] = {"versions": versions, "markers": markers, "uploads": ups,
                  "versioning": s3.get_bucket_versioning(Bucket=b).get("Status"),
                  "objects": sorted(o["Key"] for o in
                                    s3.list_objects_v2(Bucket=b).get("Contents", [])
                                    if o["Key"] != TIERGONE)}
        try:
            enc = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]
            out[b]["encryption"] = enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]
        except botocore.exceptions.ClientError as e:
            out[b]["encryption"] = e.response["Error"]["Code"]
        try:
            out[b]["lifecycle"] = s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]
        except botocore.exceptions.ClientError as e:
            out[b]["lifecycle"] = e.response["Error"]["Code"]
        if b == "locked":
            out[b]["lock"] = s3.get_object_lock_configuration(
                Bucket=b)["ObjectLockConfiguration"]["ObjectLockEnabled"]
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


def probe(path):
    before = json.load(open(path))
    same = absent = 0
    for b, st in before.items():
        for v in st["versions"]:
            try:
                _, data = read(b, v["Key"], v["VersionId"])
            except botocore.exceptions.ClientError as e:
                code = e.response["Error"]["Code"]
                assert code in ("NoSuchKey", "NoSuchVersion", "404"), (b, v["Key"], code)
                absent += 1
                continue
            assert hashlib.sha256(data).hexdigest() == v["sha256"], \
                f"{b}/{v['Key']} {v['VersionId']}: other bytes than were written"
            same += 1
    print(f"probe: {same} versions read back exactly, {absent} absent, none wrong")


def late():
    s3.create_bucket(Bucket="late")
    s3.put_bucket_versioning(Bucket="late", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket="late", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_bucket_lifecycle_configuration(Bucket="late", LifecycleConfiguration={
        "Rules": [{"ID": "old", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
                   "Expiration": {"Days": 30}}]})
    s3.put_object(Bucket="late", Key="x", Body=body("x1", 30))
    s3.put_object(Bucket="late", Key="x", Body=body("x2", 90000))
    s3.delete_object(Bucket="late", Key="x")


def finish():
    ups = [u for u in s3.list_multipart_uploads(Bucket="locked").get("Uploads", [])
           if u["Key"] == "mp-locked"]
    assert len(ups) == 1, ups
    uid = ups[0]["UploadId"]
    parts = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in
             s3.list_parts(Bucket="locked", Key="mp-locked", UploadId=uid)["Parts"]]
    vid = s3.complete_multipart_upload(Bucket="locked", Key="mp-locked", UploadId=uid,
                                       MultipartUpload={"Parts": parts})["VersionId"]
    ret = s3.get_object_retention(Bucket="locked", Key="mp-locked", VersionId=vid)
    assert ret["Retention"]["Mode"] == "GOVERNANCE", ret
    assert ret["Retention"]["RetainUntilDate"] == UNTIL, ret
    hold = s3.get_object_legal_hold(Bucket="locked", Key="mp-locked", VersionId=vid)
    assert hold["LegalHold"]["Status"] == "ON", hold
    tags = s3.get_object_tagging(Bucket="locked", Key="mp-locked", VersionId=vid)["TagSet"]
    assert tags == [{"Key": "up", "Value": "1"}], tags
    _, data = read("locked", "mp-locked", vid)
    assert data == body("mp-locked", 70000)
    print("the locked upload completed with its retention, legal hold and tags")


def tiergone():
    """Delete the object cold() tiered to be deleted (while the tier is
    down: its remote delete stays queued)."""
    s3.delete_object(Bucket="plain", Key=TIERGONE)


def remote():
    """The remote tier bucket's keys, one a line."""
    r = boto3.client("s3", endpoint_url=os.environ["REMOTE_ENDPOINT"],
                     aws_access_key_id=os.environ["REMOTE_AK"],
                     aws_secret_access_key=os.environ["REMOTE_SK"], region_name="us-east-1",
                     config=Config(s3={"addressing_style": "path"}))
    for page in r.get_paginator("list_objects_v2").paginate(Bucket="tier"):
        for o in page.get("Contents", []):
            print(o["Key"])


def write():
    s3.put_object(Bucket="plain", Key="after-rebuild", Body=b"new" * 40000)
    assert s3.get_object(Bucket="plain", Key="after-rebuild")["Body"].read() == b"new" * 40000
    s3.delete_object(Bucket="plain", Key="after-rebuild")
    print("writes after the rebuild work")


if __name__ == "__main__":
    {"populate": lambda: populate(), "state": lambda: state(), "write": lambda: write(),
     "late": lambda: late(), "cold": lambda: cold(), "finish": lambda: finish(),
     "probe": lambda: probe(sys.argv[2]), "tiergone": lambda: tiergone(),
     "remote": lambda: remote()}[sys.argv[1]]()
