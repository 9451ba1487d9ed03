"""Object lock (issue 11, point 4) with boto3 and raw requests against a
real cofferd, Veeam-style: a bucket created with lock, per-object
COMPLIANCE retention (also sent as XML without the S3 namespace), then
the ways to destroy a version are refused: DELETE by version id,
DeleteObjects, shortening retention, a governance bypass on COMPLIANCE,
bucket deletion; GOVERNANCE gives way only to a bypass from a key allowed
to bypass; a legal hold holds whatever the retention. Data that will be
locked (lock headers, a default retention, a part of an upload created
with lock headers) needs Content-MD5 or an x-amz-checksum-*, as S3."""
import base64
import datetime
import hashlib
import os
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import make_client

COFFER = os.path.join(os.path.dirname(os.path.dirname(
    os.environ.get("COFFERD", "server/cofferd"))), "cli", "coffer")


def code_of(call):
    with pytest.raises(ClientError) as e:
        call()
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def soon(seconds):
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def md5_b64(body):
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def nodigest_refused(raw, bucket, what, upload_id=None):
    """A PUT (or, with upload_id, an UploadPart) without Content-MD5 or an
    x-amz-checksum-* into bucket is refused as S3 refuses it."""
    q = f"partNumber=1&uploadId={upload_id}" if upload_id else ""
    r = raw("PUT", f"/{bucket}/" + ("mpd" if upload_id else "nodigest"), q, body=b"x")
    assert r.status == 400 and r.error_code() == "InvalidRequest", r.body
    assert f"required for {what} requests with Object Lock parameters" in \
        r.body.decode(), r.body


def coffer(*args):
    out = subprocess.run([COFFER, "--endpoint", os.environ["COFFER_ENDPOINT"],
                          "--admin-credentials", os.path.join(os.environ["COFFER_TMP"], "var",
                                                              "admin-credentials"), *args],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def bypass(endpoint):
    """A dev key that may bypass governance retention."""
    ak, sk = coffer("key", "create", "dev", "--permissions",
                    "read,write-new,overwrite,delete,bypass-governance").split()
    yield make_client(endpoint, ak, sk)
    coffer("key", "revoke", ak)


@pytest.fixture
def lbucket(s3):
    name = "l-" + uuid.uuid4().hex[:20]
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    yield name
    # whatever is no longer locked goes; a test leaves only short retentions
    deadline = time.time() + 30
    while True:
        left = 0
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                try:
                    s3.put_object_legal_hold(Bucket=name, Key=v["Key"],
                                             VersionId=v["VersionId"],
                                             LegalHold={"Status": "OFF"})
                except ClientError:
                    pass
                try:
                    s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"],
                                     BypassGovernanceRetention=True)
                except ClientError:
                    left += 1
        if not left or time.time() > deadline:
            break
        time.sleep(1)
    s3.delete_bucket(Bucket=name)


def test_lock_configuration(s3, raw, bypass, lbucket):
    assert s3.get_bucket_versioning(Bucket=lbucket)["Status"] == "Enabled"
    cfg = s3.get_object_lock_configuration(Bucket=lbucket)["ObjectLockConfiguration"]
    assert cfg == {"ObjectLockEnabled": "Enabled"}
    s3.put_object_lock_configuration(Bucket=lbucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    cfg = s3.get_object_lock_configuration(Bucket=lbucket)["ObjectLockConfiguration"]
    assert cfg["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 1}
    # versioning can no longer be suspended
    assert code_of(lambda: s3.put_bucket_versioning(
        Bucket=lbucket, VersioningConfiguration={"Status": "Suspended"})) == \
        ("InvalidBucketState", 409)
    # the default retention applies to a new version
    v = s3.put_object(Bucket=lbucket, Key="d", Body=b"x")["VersionId"]
    r = s3.get_object_retention(Bucket=lbucket, Key="d", VersionId=v)["Retention"]
    assert r["Mode"] == "GOVERNANCE"
    assert r["RetainUntilDate"] > soon(86000)
    h = s3.head_object(Bucket=lbucket, Key="d")
    assert h["ObjectLockMode"] == "GOVERNANCE"
    # data the default retention will keep needs a digest the client made
    # (as S3): a signed SHA-256 payload alone is not one; nothing is stored
    nodigest_refused(raw, lbucket, "Put Object")
    assert code_of(lambda: s3.head_object(Bucket=lbucket, Key="nodigest")) == ("404", 404)
    r = raw("PUT", f"/{lbucket}/crc", body=b"x", headers={"x-amz-checksum-crc32": "jNwWgw=="})
    assert r.status == 200, r.body
    up = s3.create_multipart_upload(Bucket=lbucket, Key="mpd")["UploadId"]
    nodigest_refused(raw, lbucket, "Put Part", up)
    s3.upload_part(Bucket=lbucket, Key="mpd", UploadId=up, PartNumber=1, Body=b"p",
                   ContentMD5=md5_b64(b"p"))
    s3.abort_multipart_upload(Bucket=lbucket, Key="mpd", UploadId=up)
    # a bad default retention is refused and changes nothing
    body = (b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
            b"<DefaultRetention><Mode>GOVERNANCE</Mode><Days>0</Days></DefaultRetention>"
            b"</Rule></ObjectLockConfiguration>")
    r = raw("PUT", f"/{lbucket}", "object-lock", body=body,
            headers={"Content-MD5": md5_b64(body)})
    assert r.status == 400 and r.error_code() == "InvalidArgument", r.body
    cfg = s3.get_object_lock_configuration(Bucket=lbucket)["ObjectLockConfiguration"]
    assert cfg["Rule"]["DefaultRetention"]["Days"] == 1
    s3.put_object_lock_configuration(Bucket=lbucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled"})
    bypass.put_object_retention(Bucket=lbucket, Key="d", VersionId=v,
                                Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon(2)},
                                BypassGovernanceRetention=True)
    # without a default retention a write without lock headers needs none
    r = raw("PUT", f"/{lbucket}/nodigest", body=b"x")
    assert r.status == 200, r.body
    bypass.put_object_retention(Bucket=lbucket, Key="crc", Retention={
        "Mode": "GOVERNANCE", "RetainUntilDate": soon(2)}, BypassGovernanceRetention=True)


def test_unlocked_bucket_refuses_lock_requests(s3, bucket):
    assert code_of(lambda: s3.get_object_lock_configuration(Bucket=bucket)) == \
        ("ObjectLockConfigurationNotFoundError", 404)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert code_of(lambda: s3.put_object_retention(
        Bucket=bucket, Key="k", Retention={"Mode": "GOVERNANCE",
                                           "RetainUntilDate": soon(60)})) == \
        ("InvalidRequest", 400)
    assert code_of(lambda: s3.put_object(
        Bucket=bucket, Key="k2", Body=b"x", ContentMD5=md5_b64(b"x"),
        ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=soon(60))) == \
        ("InvalidRequest", 400)
    # lock on an unversioned bucket needs versioning first
    assert code_of(lambda: s3.put_object_lock_configuration(
        Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})) == \
        ("InvalidBucketState", 409)


def test_compliance_cannot_be_destroyed_or_shortened(s3, raw, lbucket):
    body = b"backup block " * 100
    until = soon(6)
    v = s3.put_object(Bucket=lbucket, Key="blk", Body=body, ContentMD5=md5_b64(body),
                      ObjectLockMode="COMPLIANCE",
                      ObjectLockRetainUntilDate=until)["VersionId"]
    # lock parameters need Content-MD5 or a checksum
    r = raw("PUT", f"/{lbucket}/nomd5", body=b"x",
            headers={"x-amz-object-lock-mode": "COMPLIANCE",
                     "x-amz-object-lock-retain-until-date": iso(soon(60))})
    assert r.status == 400 and r.error_code() == "InvalidRequest", r.body
    r = raw("PUT", f"/{lbucket}/badmode", body=b"x",
            headers={"x-amz-object-lock-mode": "FOREVER", "Content-MD5": md5_b64(b"x"),
                     "x-amz-object-lock-retain-until-date": iso(soon(60))})
    assert r.status == 400 and r.error_code() == "InvalidArgument", r.body
    # every way to destroy it is refused
    assert code_of(lambda: s3.delete_object(Bucket=lbucket, Key="blk", VersionId=v)) == \
        ("AccessDenied", 403)
    assert code_of(lambda: s3.delete_object(Bucket=lbucket, Key="blk", VersionId=v,
                                            BypassGovernanceRetention=True)) == \
        ("AccessDenied", 403)
    r = s3.delete_objects(Bucket=lbucket, Delete={"Objects": [{"Key": "blk",
                                                                "VersionId": v}]})
    assert [e["Code"] for e in r["Errors"]] == ["AccessDenied"]
    for mode, when in (("COMPLIANCE", soon(2)), ("GOVERNANCE", soon(600))):
        assert code_of(lambda: s3.put_object_retention(
            Bucket=lbucket, Key="blk", VersionId=v,
            Retention={"Mode": mode, "RetainUntilDate": when},
            BypassGovernanceRetention=True)) == ("AccessDenied", 403)
    # retention XML without the namespace (Veeam) extends it
    later = soon(8)
    xml = (f"<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>{iso(later)}"
           f"</RetainUntilDate></Retention>").encode()
    r = raw("PUT", f"/{lbucket}/blk", f"retention&versionId={v}", body=xml,
            headers={"Content-MD5": md5_b64(xml)})
    assert r.status == 200, r.body
    got = s3.get_object_retention(Bucket=lbucket, Key="blk", VersionId=v)["Retention"]
    assert got["Mode"] == "COMPLIANCE" and abs((got["RetainUntilDate"] - later)
                                               .total_seconds()) < 1
    # a delete without a version id only adds a marker; the bucket stays
    s3.delete_object(Bucket=lbucket, Key="blk")
    with pytest.raises(ClientError) as e:            # and says why
        s3.delete_bucket(Bucket=lbucket)
    err = e.value.response["Error"]
    assert err["Code"] == "BucketNotEmpty" and \
        f"under object lock, retained until {iso(later)[:19]}Z" in err["Message"], err
    assert s3.get_object(Bucket=lbucket, Key="blk", VersionId=v)["Body"].read() == body
    # after the retention ends, and only then, it can go
    while datetime.datetime.now(datetime.timezone.utc) < later:
        time.sleep(0.5)
    time.sleep(0.5)
    s3.delete_object(Bucket=lbucket, Key="blk", VersionId=v)
    assert code_of(lambda: s3.head_object(Bucket=lbucket, Key="blk", VersionId=v))[1] == 404


def test_governance_bypass_needs_the_permission(s3, bypass, lbucket):
    v = s3.put_object(Bucket=lbucket, Key="g", Body=b"g", ContentMD5=md5_b64(b"g"),
                      ObjectLockMode="GOVERNANCE",
                      ObjectLockRetainUntilDate=soon(3600))["VersionId"]
    assert code_of(lambda: s3.delete_object(Bucket=lbucket, Key="g", VersionId=v)) == \
        ("AccessDenied", 403)
    # shortening GOVERNANCE without a bypass is refused, extending is not
    assert code_of(lambda: s3.put_object_retention(
        Bucket=lbucket, Key="g", VersionId=v,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon(60)})) == \
        ("AccessDenied", 403)
    s3.put_object_retention(Bucket=lbucket, Key="g", VersionId=v,
                            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon(7200)})
    # the header from a key without bypass-governance changes nothing
    assert code_of(lambda: s3.delete_object(Bucket=lbucket, Key="g", VersionId=v,
                                            BypassGovernanceRetention=True)) == \
        ("AccessDenied", 403)
    assert s3.head_object(Bucket=lbucket, Key="g", VersionId=v)["ContentLength"] == 1
    # a key allowed to bypass needs the header too
    assert code_of(lambda: bypass.delete_object(Bucket=lbucket, Key="g", VersionId=v)) == \
        ("AccessDenied", 403)
    bypass.delete_object(Bucket=lbucket, Key="g", VersionId=v,
                         BypassGovernanceRetention=True)
    assert code_of(lambda: s3.head_object(Bucket=lbucket, Key="g", VersionId=v))[1] == 404


def test_legal_hold(s3, lbucket):
    v = s3.put_object(Bucket=lbucket, Key="h", Body=b"h", ContentMD5=md5_b64(b"h"),
                      ObjectLockLegalHoldStatus="ON")["VersionId"]
    assert s3.get_object_legal_hold(Bucket=lbucket, Key="h",
                                    VersionId=v)["LegalHold"]["Status"] == "ON"
    assert s3.head_object(Bucket=lbucket, Key="h")["ObjectLockLegalHoldStatus"] == "ON"
    assert code_of(lambda: s3.delete_object(Bucket=lbucket, Key="h", VersionId=v,
                                            BypassGovernanceRetention=True)) == \
        ("AccessDenied", 403)
    s3.put_object_legal_hold(Bucket=lbucket, Key="h", VersionId=v,
                             LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=lbucket, Key="h", VersionId=v)
    assert code_of(lambda: s3.get_object_legal_hold(Bucket=lbucket, Key="nope")) == \
        ("NoSuchKey", 404)


def test_admin_commands_and_gc_cannot_destroy_a_locked_version(endpoint):
    """`coffer tenant delete` (the admin API) is refused while the tenant's
    lock-enabled bucket holds a locked version, `coffer gc` keeps its files,
    and the bytes read back identical; after the retention ends it all goes."""
    name = "lk" + uuid.uuid4().hex[:12]
    coffer("tenant", "create", name)
    ak, sk = coffer("key", "create", name).split()
    s3 = make_client(endpoint, ak, sk)
    bucket = "l-" + uuid.uuid4().hex[:20]
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    body = os.urandom(300 * 1024)             # sharded, not inline
    until = soon(6)
    v = s3.put_object(Bucket=bucket, Key="blk", Body=body, ContentMD5=md5_b64(body),
                      ObjectLockMode="COMPLIANCE",
                      ObjectLockRetainUntilDate=until)["VersionId"]
    s3.delete_object(Bucket=bucket, Key="blk")          # a marker on top of it
    out = subprocess.run([COFFER, "--endpoint", os.environ["COFFER_ENDPOINT"],
                          "--admin-credentials", os.path.join(os.environ["COFFER_TMP"], "var",
                                                              "admin-credentials"),
                          "tenant", "delete", name], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0 and "bucket" in out.stderr, out.stderr
    coffer("gc", "60")
    assert s3.get_object(Bucket=bucket, Key="blk", VersionId=v)["Body"].read() == body
    assert code_of(lambda: s3.delete_bucket(Bucket=bucket))[0] == "BucketNotEmpty"
    while datetime.datetime.now(datetime.timezone.utc) < until:
        time.sleep(0.5)
    time.sleep(0.5)
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for x in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=x["Key"], VersionId=x["VersionId"])
    s3.delete_bucket(Bucket=bucket)
    coffer("key", "revoke", ak)
    coffer("tenant", "delete", name)


def test_multipart_upload_with_lock_headers(s3, raw, bucket, lbucket):
    part = os.urandom(5 << 20)
    until = soon(4)
    up = s3.create_multipart_upload(Bucket=lbucket, Key="mp", ObjectLockMode="COMPLIANCE",
                                    ObjectLockRetainUntilDate=until,
                                    ObjectLockLegalHoldStatus="OFF")["UploadId"]
    r = raw("PUT", f"/{lbucket}/mp", f"partNumber=1&uploadId={up}", body=b"x")
    assert r.status == 400 and r.error_code() == "InvalidRequest", r.body
    etags = [s3.upload_part(Bucket=lbucket, Key="mp", UploadId=up, PartNumber=n,
                            Body=part)["ETag"] for n in (1, 2)]
    v = s3.complete_multipart_upload(
        Bucket=lbucket, Key="mp", UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                   for n, e in zip((1, 2), etags)]})["VersionId"]
    h = s3.head_object(Bucket=lbucket, Key="mp", VersionId=v)
    assert h["ObjectLockMode"] == "COMPLIANCE"
    assert abs((h["ObjectLockRetainUntilDate"] - until).total_seconds()) < 1
    assert h["ObjectLockLegalHoldStatus"] == "OFF"
    assert code_of(lambda: s3.delete_object(Bucket=lbucket, Key="mp", VersionId=v)) == \
        ("AccessDenied", 403)
    # a legal hold alone, through the create
    up = s3.create_multipart_upload(Bucket=lbucket, Key="held",
                                    ObjectLockLegalHoldStatus="ON")["UploadId"]
    e = s3.upload_part(Bucket=lbucket, Key="held", UploadId=up, PartNumber=1,
                       Body=b"h")["ETag"]
    vh = s3.complete_multipart_upload(
        Bucket=lbucket, Key="held", UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})["VersionId"]
    assert s3.get_object_legal_hold(Bucket=lbucket, Key="held",
                                    VersionId=vh)["LegalHold"]["Status"] == "ON"
    assert code_of(lambda: s3.delete_object(Bucket=lbucket, Key="held", VersionId=vh)) == \
        ("AccessDenied", 403)
    # refused at create, as a PUT's would be: nothing is started
    assert code_of(lambda: s3.create_multipart_upload(
        Bucket=lbucket, Key="past", ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=soon(-60))) == ("InvalidArgument", 400)
    assert code_of(lambda: s3.create_multipart_upload(
        Bucket=lbucket, Key="bad", ObjectLockMode="GOVERNANCE")) == ("InvalidArgument", 400)
    assert code_of(lambda: s3.create_multipart_upload(
        Bucket=bucket, Key="nolock", ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=soon(60))) == ("InvalidRequest", 400)
    assert not s3.list_multipart_uploads(Bucket=lbucket).get("Uploads")
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    time.sleep(max(0, (until - datetime.datetime.now(datetime.timezone.utc))
                   .total_seconds()) + 1)
    s3.delete_object(Bucket=lbucket, Key="mp", VersionId=v)
    s3.put_object_legal_hold(Bucket=lbucket, Key="held", VersionId=vh,
                             LegalHold={"Status": "OFF"})
