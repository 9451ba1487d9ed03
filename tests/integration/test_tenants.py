"""Tenants and keys (DESIGN.md §7): the access key decides the tenant;
another tenant's buckets are invisible, read-only keys cannot write, and
the admin credential is good for the admin API only."""
import json
import os
import uuid

import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import make_client


@pytest.fixture(scope="module")
def admin_creds():
    return Credentials(os.environ["COFFER_ADMIN_ACCESS_KEY"],
                       os.environ["COFFER_ADMIN_SECRET_KEY"])


def admin(raw, admin_creds, method, path, doc=None):
    body = json.dumps(doc).encode() if doc is not None else b""
    r = raw(method, "/admin/v1" + path, body=body, credentials=admin_creds,
            headers={"Content-Type": "application/json"} if doc is not None else None)
    return r.status, (json.loads(r.body) if r.body else None)


@pytest.fixture(scope="module")
def other_tenant(raw, admin_creds, endpoint):
    name = "t" + uuid.uuid4().hex[:10]
    status, _ = admin(raw, admin_creds, "POST", "/tenants", {"name": name})
    assert status == 201
    status, rw = admin(raw, admin_creds, "POST", "/keys", {"tenant": name, "read_only": False})
    assert status == 201
    status, ro = admin(raw, admin_creds, "POST", "/keys", {"tenant": name, "read_only": True})
    assert status == 201
    return (make_client(endpoint, rw["access_key"], rw["secret_key"]),
            make_client(endpoint, ro["access_key"], ro["secret_key"]))


def test_tenants_are_isolated(s3, bucket, other_tenant):
    other, _ = other_tenant
    s3.put_object(Bucket=bucket, Key="secret", Body=b"dev data")
    assert bucket not in [b["Name"] for b in other.list_buckets()["Buckets"]]
    for call in (lambda: other.get_object(Bucket=bucket, Key="secret"),
                 lambda: other.list_objects_v2(Bucket=bucket)):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "NoSuchBucket"
    other.create_bucket(Bucket=bucket)               # same name, other tenant
    try:
        assert "Contents" not in other.list_objects_v2(Bucket=bucket)
        other.put_object(Bucket=bucket, Key="secret", Body=b"other data")
        assert s3.get_object(Bucket=bucket, Key="secret")["Body"].read() == b"dev data"
    finally:
        other.delete_object(Bucket=bucket, Key="secret")
        other.delete_bucket(Bucket=bucket)


def test_read_only_key(other_tenant):
    rw, ro = other_tenant
    name = "ro-" + uuid.uuid4().hex[:10]
    rw.create_bucket(Bucket=name)
    rw.put_object(Bucket=name, Key="k", Body=b"v")
    try:
        assert ro.get_object(Bucket=name, Key="k")["Body"].read() == b"v"
        for call in (lambda: ro.put_object(Bucket=name, Key="k2", Body=b"x"),
                     lambda: ro.delete_object(Bucket=name, Key="k"),
                     lambda: ro.create_bucket(Bucket=name + "x"),
                     lambda: ro.create_multipart_upload(Bucket=name, Key="m")):
            with pytest.raises(ClientError) as e:
                call()
            assert e.value.response["Error"]["Code"] == "AccessDenied"
        assert ro.get_object(Bucket=name, Key="k")["Body"].read() == b"v"
    finally:
        rw.delete_object(Bucket=name, Key="k")
        rw.delete_bucket(Bucket=name)


def test_admin_credential_only_for_admin_api(raw, admin_creds, endpoint):
    c = make_client(endpoint, admin_creds.access_key, admin_creds.secret_key)
    with pytest.raises(ClientError) as e:
        c.list_buckets()
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    r = raw("GET", "/admin/v1/status")                # a tenant key
    assert r.status == 403 and r.error_code() == "AccessDenied"
    status, doc = admin(raw, admin_creds, "GET", "/status")
    assert status == 200 and "layout" in doc
    r = raw("GET", "/admin/v1/status", sign=False)
    assert r.status == 403


def test_uploads_are_isolated(s3, bucket, other_tenant):
    other, _ = other_tenant
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    other.create_bucket(Bucket=bucket)               # same name, other tenant
    try:
        for call in (lambda: other.upload_part(Bucket=bucket, Key="mp", UploadId=up,
                                               PartNumber=1, Body=b"x"),
                     lambda: other.list_parts(Bucket=bucket, Key="mp", UploadId=up),
                     lambda: other.abort_multipart_upload(Bucket=bucket, Key="mp",
                                                          UploadId=up)):
            with pytest.raises(ClientError) as e:
                call()
            assert e.value.response["Error"]["Code"] == "NoSuchUpload"
        assert "Uploads" not in other.list_multipart_uploads(Bucket=bucket)
        with pytest.raises(ClientError) as e:
            other.copy_object(Bucket=bucket, Key="stolen",
                              CopySource={"Bucket": bucket, "Key": "mp"})
        assert e.value.response["Error"]["Code"] == "NoSuchKey"
    finally:
        other.delete_bucket(Bucket=bucket)
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=up)
