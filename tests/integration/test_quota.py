"""Quotas (issue 13, point 2) against a real cofferd: set with `coffer
quota set`, shown by `coffer quota show` and `coffer usage`, enforced on
PUT, copy, UploadPart and CompleteMultipartUpload with 403 QuotaExceeded
(Ceph RGW's code) through boto3 and the aws cli, nothing stored by a
refused write, exact under racing writers, logged by cofferd."""
import concurrent.futures
import http.client
import json
import os
import subprocess
import urllib.parse
import uuid

import pytest
from botocore.exceptions import ClientError

from botocore.credentials import Credentials

from conftest import make_client, read_head, send_headers

COFFER = os.path.join(os.path.dirname(os.path.dirname(
    os.environ.get("COFFERD", "server/cofferd"))), "cli", "coffer")
MIB = 1024 * 1024


def coffer(*args, ok=True):
    cmd = [COFFER, "--endpoint", os.environ["COFFER_ENDPOINT"], "--admin-credentials",
           os.path.join(os.environ["COFFER_TMP"], "var", "admin-credentials"), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert (out.returncode == 0) == ok, (out.stdout, out.stderr)
    return out


def coffer_json(*args):
    return json.loads(coffer("--json", *args).stdout)


@pytest.fixture
def tenant(endpoint):
    """A tenant of its own (quotas are per tenant), its client and a bucket."""
    name = "q" + uuid.uuid4().hex[:12]
    coffer("tenant", "create", name)
    ak, sk = coffer("key", "create", name).stdout.split()
    s3 = make_client(endpoint, ak, sk)
    bucket = "b-" + uuid.uuid4().hex[:16]
    s3.create_bucket(Bucket=bucket)
    yield name, s3, bucket, (ak, sk)
    for b in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b["Name"]):
            for o in page.get("Contents", []):
                s3.delete_object(Bucket=b["Name"], Key=o["Key"])
        for up in s3.list_multipart_uploads(Bucket=b["Name"]).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=b["Name"], Key=up["Key"],
                                      UploadId=up["UploadId"])
        s3.delete_bucket(Bucket=b["Name"])
    coffer("tenant", "delete", name)


def refused(call):
    with pytest.raises(ClientError) as e:
        call()
    err = e.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403, err
    assert err["Error"]["Code"] == "QuotaExceeded", err
    return err


def metrics():
    var = os.path.join(os.environ["COFFER_TMP"], "var")
    with open(os.path.join(var, "metrics-token")) as f:
        token = f.read().strip()
    u = urllib.parse.urlsplit(os.environ["COFFER_ENDPOINT"])
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("GET", "/metrics", headers={"Authorization": "Bearer " + token})
        resp = conn.getresponse()
        assert resp.status == 200
        return resp.read().decode()
    finally:
        conn.close()


def usage(name):
    (u,) = coffer_json("usage", name)["usage"]
    return u


def test_tenant_bytes_quota(tenant):
    name, s3, bucket, _ = tenant
    out = coffer("quota", "set", name, "--bytes", "1K").stdout
    assert name in out and "1024" in out
    s3.put_object(Bucket=bucket, Key="a", Body=b"x" * 600)
    refused(lambda: s3.put_object(Bucket=bucket, Key="b", Body=b"y" * 500))
    with pytest.raises(ClientError):                # nothing was stored
        s3.head_object(Bucket=bucket, Key="b")
    s3.put_object(Bucket=bucket, Key="a", Body=b"z" * 1000)   # replaces: fits
    s3.put_object(Bucket=bucket, Key="c", Body=b"w" * 24)     # exactly the limit
    u = usage(name)
    assert (u["objects"], u["bytes"]) == (2, 1024)
    assert u["quota"] == {"bytes": 1024, "objects": None}
    line = coffer("usage", name).stdout.splitlines()[1]
    assert line.split()[-4:] == ["1024", "bytes,", "-", "objects"]
    lines = metrics().splitlines()
    assert f'coffer_tenant_quota_bytes{{tenant="{name}"}} 1024' in lines
    assert not any(f'quota_objects{{tenant="{name}"}}' in x for x in lines)
    refused(lambda: s3.put_object(Bucket=bucket, Key="d", Body=b"v"))
    s3.put_object(Bucket=bucket, Key="d", Body=b"")           # grows no byte count
    coffer("quota", "set", name, "--bytes", "none")
    s3.put_object(Bucket=bucket, Key="e", Body=b"u" * 4096)
    assert coffer_json("quota", "show", name)["quotas"] == []


def test_versioned_bucket_keeps_what_it_replaces(tenant):
    """With versioning the current version stays, as a noncurrent one that
    usage counts (S3 bills it): an overwrite grows the bucket by its whole
    size, and the quota judges it so."""
    name, s3, bucket, _ = tenant
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    coffer("quota", "set", name, "--bucket", bucket, "--bytes", "1000")
    s3.put_object(Bucket=bucket, Key="a", Body=b"x" * 600)
    refused(lambda: s3.put_object(Bucket=bucket, Key="a", Body=b"y" * 600))
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"x" * 600
    s3.put_object(Bucket=bucket, Key="a", Body=b"z" * 400)    # exactly the limit
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert sorted(v["Size"] for v in versions) == [400, 600]
    assert (usage(name)["objects"], usage(name)["bytes"]) == (2, 1000)
    for v in versions:                  # the fixture deletes current objects only
        s3.delete_object(Bucket=bucket, Key="a", VersionId=v["VersionId"])


def test_objects_quota_and_lowered_limit(tenant):
    name, s3, bucket, _ = tenant
    coffer("quota", "set", name, "--objects", "2")
    s3.put_object(Bucket=bucket, Key="a", Body=b"1")
    s3.put_object(Bucket=bucket, Key="b", Body=b"2")
    refused(lambda: s3.put_object(Bucket=bucket, Key="c", Body=b"3"))
    s3.put_object(Bucket=bucket, Key="a", Body=b"11")          # an overwrite adds none
    s3.delete_object(Bucket=bucket, Key="a")
    s3.put_object(Bucket=bucket, Key="c", Body=b"3")
    coffer("quota", "set", name, "--objects", "1", "--bytes", "1M")  # below usage
    (q,) = coffer_json("quota", "show", name)["quotas"]
    assert q == {"tenant": name, "bucket": None, "max_bytes": MIB, "max_objects": 1,
                 "objects": 2, "bytes": 2}
    refused(lambda: s3.put_object(Bucket=bucket, Key="d", Body=b"4"))
    s3.put_object(Bucket=bucket, Key="b", Body=b"")            # shrinking is allowed
    out = coffer("quota", "clear", name).stdout
    assert "cleared" in out
    s3.put_object(Bucket=bucket, Key="d", Body=b"4")


def test_bucket_quota(tenant):
    name, s3, bucket, _ = tenant
    other = bucket + "-o"
    s3.create_bucket(Bucket=other)
    coffer("quota", "set", name, "--bucket", bucket, "--bytes", "100")
    refused(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x" * 101))
    s3.put_object(Bucket=other, Key="k", Body=b"x" * 101)      # another bucket: free
    s3.put_object(Bucket=bucket, Key="k", Body=b"x" * 100)
    (q,) = coffer_json("quota", "show", name)["quotas"]
    assert (q["bucket"], q["max_bytes"], q["bytes"], q["objects"]) == (bucket, 100, 100, 1)
    assert usage(name)["quota"] is None                         # no tenant quota
    coffer("quota", "set", name, "--bytes", "150")              # the tenant's too
    refused(lambda: s3.put_object(Bucket=other, Key="k2", Body=b"x" * 60))
    coffer("quota", "set", name, "--bucket", "no-such-bucket", "--bytes", "1", ok=False)
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)                             # the quota goes with it
    s3.create_bucket(Bucket=bucket)
    assert [q["bucket"] for q in coffer_json("quota", "show", name)["quotas"]] == [None]


def test_refused_before_the_body(tenant, endpoint):
    name, s3, bucket, (ak, sk) = tenant
    coffer("quota", "set", name, "--bytes", "1M")
    sock = send_headers(endpoint, Credentials(ak, sk), "PUT", f"/{bucket}/big",
                        {"Content-Length": str(2 * MIB), "Expect": "100-continue"})
    head = read_head(sock)
    sock.close()
    assert head.startswith(b"HTTP/1.1 403") and b"100 Continue" not in head, head
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_aws_chunked_counts_the_decoded_length(tenant, raw):
    name, s3, bucket, (ak, sk) = tenant
    coffer("quota", "set", name, "--bytes", "1000")
    data = b"d" * 900                 # framed, the body is longer than 1000 bytes

    def put(key, body):
        framed = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
        return raw("PUT", f"/{bucket}/{key}", body=framed, credentials=Credentials(ak, sk),
                   headers={"Content-Encoding": "aws-chunked",
                            "x-amz-decoded-content-length": str(len(body))},
                   payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")

    r = put("a", data)
    assert r.status == 200, r.body
    r = put("b", b"e" * 101)
    assert (r.status, r.error_code()) == (403, "QuotaExceeded")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["a"]


def test_copy_is_counted(tenant):
    name, s3, bucket, _ = tenant
    coffer("quota", "set", name, "--bytes", "1000")
    s3.put_object(Bucket=bucket, Key="src", Body=b"c" * 600)
    refused(lambda: s3.copy_object(Bucket=bucket, Key="dst",
                                   CopySource={"Bucket": bucket, "Key": "src"}))
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="dst")
    s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"m": "1"})  # onto itself
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    refused(lambda: s3.upload_part_copy(Bucket=bucket, Key="mp", UploadId=up, PartNumber=1,
                                        CopySource={"Bucket": bucket, "Key": "src"}))
    assert s3.list_parts(Bucket=bucket, Key="mp", UploadId=up).get("Parts", []) == []


def test_multipart_part_and_completion(tenant):
    name, s3, bucket, _ = tenant
    coffer("quota", "set", name, "--bytes", "11M")
    part = b"p" * (6 * MIB)
    up = s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    p1 = s3.upload_part(Bucket=bucket, Key="big", UploadId=up, PartNumber=1, Body=part)
    # the upload's other parts count at UploadPart: 6 + 6 MiB > 11 MiB
    refused(lambda: s3.upload_part(Bucket=bucket, Key="big", UploadId=up, PartNumber=2,
                                   Body=part))
    # two uploads each within the quota: the completion that would pass it fails
    up2 = s3.create_multipart_upload(Bucket=bucket, Key="big2")["UploadId"]
    p2 = s3.upload_part(Bucket=bucket, Key="big2", UploadId=up2, PartNumber=1, Body=part)
    s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}]})
    refused(lambda: s3.complete_multipart_upload(
        Bucket=bucket, Key="big2", UploadId=up2,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p2["ETag"]}]}))
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="big2")
    # the refused upload is still there to abort (or to complete later)
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [up2]
    u = usage(name)
    assert (u["objects"], u["bytes"]) == (1, 6 * MIB)


def test_racing_writers_never_pass_the_quota(tenant, endpoint):
    name, s3, bucket, (ak, sk) = tenant
    coffer("quota", "set", name, "--bytes", str(10 * 1000), "--objects", "25")
    clients = [make_client(endpoint, ak, sk) for _ in range(8)]

    def put(i):
        try:
            clients[i % 8].put_object(Bucket=bucket, Key=f"k{i}", Body=os.urandom(1000))
            return "ok"
        except ClientError as e:
            return e.response["Error"]["Code"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(put, range(40)))
    assert results.count("ok") == 10, results
    assert set(results) == {"ok", "QuotaExceeded"}
    u = usage(name)
    assert (u["objects"], u["bytes"]) == (10, 10 * 1000)
    listed = s3.list_objects_v2(Bucket=bucket)["KeyCount"]
    assert listed == 10

    coffer("quota", "set", name, "--bytes", "none", "--objects", "25")

    def racing_objects(i):
        return put(100 + i)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(racing_objects, range(40)))
    assert results.count("ok") == 15, results
    assert usage(name)["objects"] == 25


def test_aws_cli_sees_quota_exceeded(tenant, endpoint, tmp_path):
    name, s3, bucket, (ak, sk) = tenant
    coffer("quota", "set", name, "--bytes", "4K")
    src = tmp_path / "f"
    src.write_bytes(os.urandom(8192))
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk)
    for aws in ("aws", "/usr/bin/aws"):          # cli v1 first on PATH, Debian's v2
        out = subprocess.run([aws, "--endpoint-url", endpoint, "s3", "cp", str(src),
                              f"s3://{bucket}/f"], capture_output=True, text=True,
                             env=env, timeout=120)
        assert out.returncode != 0, out
        assert "QuotaExceeded" in out.stderr, out.stderr
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_refusals_are_logged(tenant):
    name, s3, bucket, _ = tenant
    coffer("quota", "set", name, "--objects", "0")
    err = refused(lambda: s3.put_object(Bucket=bucket, Key="x", Body=b"1"))
    rid = err["ResponseMetadata"]["RequestId"]
    assert "quota" in err["Error"]["Message"]
    with open(os.environ["COFFER_LOG"]) as f:
        assert any(rid in line and "quota" in line for line in f)


def test_cli_and_api_refuse_bad_input(tenant):
    name, _, bucket, _ = tenant
    for args in (["--bytes", "-1"], ["--bytes", "12X"], ["--objects", "1K"],
                 ["--bytes", ""], []):
        coffer("quota", "set", name, *args, ok=False)
    coffer("quota", "set", "no-such-tenant", "--bytes", "1", ok=False)
    coffer("quota", "show", name, "--bytes", "1", ok=False)
    coffer("usage", name, "--bucket", bucket, ok=False)
    assert coffer_json("quota", "show", name)["quotas"] == []
