"""Keys that cannot destroy (issue 11, point 5), made with the real
`coffer` CLI against a real cofferd: an append-only key adds objects but
cannot overwrite (PUT, copy, multipart completion) or delete them, except
under its delete prefixes; a key scoped to a list of buckets sees and
reaches only those; every refusal is 403 AccessDenied and changes nothing.
`coffer key list` shows each key's permissions."""
import hashlib
import os
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import empty_bucket, make_client

COFFER = os.path.join(os.path.dirname(os.path.dirname(
    os.environ.get("COFFERD", "server/cofferd"))), "cli", "coffer")


def coffer(*args, ok=True):
    cmd = [COFFER, "--endpoint", os.environ["COFFER_ENDPOINT"], "--admin-credentials",
           os.path.join(os.environ["COFFER_TMP"], "var", "admin-credentials"), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if ok:
        assert out.returncode == 0, out.stderr
    return out


def new_key(endpoint, tenant, *flags):
    ak, sk = coffer("key", "create", tenant, *flags).stdout.split()
    return ak, make_client(endpoint, ak, sk)


def denied(call):
    with pytest.raises(ClientError) as e:
        call()
    assert e.value.response["Error"]["Code"] == "AccessDenied", e.value.response
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def body(s3, bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


@pytest.fixture
def tenant(endpoint):
    name = "p" + uuid.uuid4().hex[:12]
    coffer("tenant", "create", name)
    _, full = new_key(endpoint, name)
    buckets = []
    yield name, full, buckets
    for b in buckets:
        empty_bucket(full, b)
        full.delete_bucket(Bucket=b)
    coffer("tenant", "delete", name)


def test_append_only_key_adds_but_cannot_destroy(endpoint, tenant):
    name, full, buckets = tenant
    b = "ao-" + uuid.uuid4().hex[:10]
    ak, ao = new_key(endpoint, name, "--append-only", "--allow-delete-prefix", "locks/")
    ao.create_bucket(Bucket=b)                  # write-new includes a new bucket
    buckets.append(b)
    ao.put_object(Bucket=b, Key="data/1", Body=b"one")
    ao.put_object(Bucket=b, Key="locks/l1", Body=b"lock")
    assert body(ao, b, "data/1") == b"one"

    # every way to replace or remove data/1 is refused, and it stays
    denied(lambda: ao.put_object(Bucket=b, Key="data/1", Body=b"evil"))
    denied(lambda: ao.copy_object(Bucket=b, Key="data/1",
                                  CopySource={"Bucket": b, "Key": "locks/l1"}))
    up = ao.create_multipart_upload(Bucket=b, Key="data/1")["UploadId"]
    part = ao.upload_part(Bucket=b, Key="data/1", UploadId=up, PartNumber=1,
                          Body=b"evil part")
    denied(lambda: ao.complete_multipart_upload(
        Bucket=b, Key="data/1", UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}))
    # the refused completion left the upload as it was: it can still be aborted
    ao.abort_multipart_upload(Bucket=b, Key="data/1", UploadId=up)
    denied(lambda: ao.delete_object(Bucket=b, Key="data/1"))
    denied(lambda: ao.delete_bucket(Bucket=b))
    assert body(full, b, "data/1") == b"one"

    # a multipart upload of a new key completes
    up = ao.create_multipart_upload(Bucket=b, Key="data/2")["UploadId"]
    part = ao.upload_part(Bucket=b, Key="data/2", UploadId=up, PartNumber=1, Body=b"two")
    ao.complete_multipart_upload(
        Bucket=b, Key="data/2", UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert body(ao, b, "data/2") == b"two"

    # delete is allowed under the prefix only, also in DeleteObjects
    ao.delete_object(Bucket=b, Key="locks/l1")
    ao.put_object(Bucket=b, Key="locks/l2", Body=b"lock")
    r = ao.delete_objects(Bucket=b, Delete={"Objects": [
        {"Key": "locks/l2"}, {"Key": "data/1"}, {"Key": "data/2"}]})
    assert [d["Key"] for d in r.get("Deleted", [])] == ["locks/l2"]
    assert sorted((e["Key"], e["Code"]) for e in r["Errors"]) == [
        ("data/1", "AccessDenied"), ("data/2", "AccessDenied")]
    keys = [o["Key"] for o in full.list_objects_v2(Bucket=b)["Contents"]]
    assert keys == ["data/1", "data/2"]

    # coffer key list shows it
    out = coffer("key", "list", name).stdout
    line = [ln for ln in out.splitlines() if ln.startswith(ak)][0]
    assert "permissions=read,write-new" in line
    assert "delete-prefixes=locks/" in line and "buckets=all" in line


def test_bucket_scoped_key(endpoint, tenant, raw):
    name, full, buckets = tenant
    mine, other = "sc-" + uuid.uuid4().hex[:10], "sc-" + uuid.uuid4().hex[:10]
    for b in (mine, other):
        full.create_bucket(Bucket=b)
        buckets.append(b)
    full.put_object(Bucket=other, Key="secret", Body=b"not yours")
    _, sk = new_key(endpoint, name, "--bucket", mine)
    assert [x["Name"] for x in sk.list_buckets()["Buckets"]] == [mine]
    sk.put_object(Bucket=mine, Key="k", Body=b"v")
    sk.put_object(Bucket=mine, Key="k", Body=b"v2")          # a full key in its bucket
    assert body(sk, mine, "k") == b"v2"
    for call in (lambda: sk.get_object(Bucket=other, Key="secret"),
                 lambda: sk.list_objects_v2(Bucket=other),
                 lambda: sk.put_object(Bucket=other, Key="x", Body=b"x"),
                 lambda: sk.delete_object(Bucket=other, Key="secret"),
                 lambda: sk.create_bucket(Bucket="sc-" + uuid.uuid4().hex[:10]),
                 lambda: sk.copy_object(Bucket=mine, Key="stolen",
                                        CopySource={"Bucket": other, "Key": "secret"})):
        denied(call)
    assert body(full, other, "secret") == b"not yours"
    sk.delete_object(Bucket=mine, Key="k")


def test_refusal_before_the_body_changes_nothing(endpoint, tenant):
    name, full, buckets = tenant
    b = "rb-" + uuid.uuid4().hex[:10]
    full.create_bucket(Bucket=b)
    buckets.append(b)
    data = os.urandom(3 << 20)
    full.put_object(Bucket=b, Key="big", Body=data)
    _, ao = new_key(endpoint, name, "--append-only")
    denied(lambda: ao.put_object(Bucket=b, Key="big", Body=os.urandom(3 << 20)))
    got = body(full, b, "big")
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_key_options_are_checked(endpoint, tenant):
    name, _, _ = tenant
    out = coffer("key", "create", name, "--permissions", "read,rm-rf", ok=False)
    assert out.returncode == 1 and "InvalidRequest" in out.stderr
    out = coffer("key", "create", name, "--bucket", "Not_A_Bucket", ok=False)
    assert out.returncode == 1 and "InvalidRequest" in out.stderr
    out = coffer("key", "list", "--append-only", ok=False)
    assert out.returncode == 2


def invalid_key(call):
    with pytest.raises(ClientError) as e:
        call()
    assert e.value.response["Error"]["Code"] == "InvalidAccessKeyId", e.value.response
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_revoked_key_refused_on_the_next_request(endpoint):
    """cofferd keeps the keys it looked up (storage/key.c): `coffer key
    revoke` and `coffer tenant delete`, run by another process while keys
    are in use, take effect on the very next request."""
    name = "r" + uuid.uuid4().hex[:12]
    coffer("tenant", "create", name)
    ak, s3 = new_key(endpoint, name)
    _, other = new_key(endpoint, name)
    b = "rv-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=b)
    for _ in range(3):                          # looked up, then answered from the cache
        s3.put_object(Bucket=b, Key="k", Body=b"v")
        assert body(other, b, "k") == b"v"
    coffer("key", "revoke", ak)
    invalid_key(lambda: s3.put_object(Bucket=b, Key="k", Body=b"after"))
    invalid_key(lambda: s3.list_buckets())
    assert body(other, b, "k") == b"v"          # the tenant's other key still works
    empty_bucket(other, b)
    other.delete_bucket(Bucket=b)
    coffer("tenant", "delete", name)            # drops the tenant's keys
    invalid_key(lambda: other.list_buckets())
