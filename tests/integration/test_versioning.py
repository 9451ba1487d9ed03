"""S3 versioning (issue 11, point 2) with boto3 and raw requests against a
real cofferd: Put/GetBucketVersioning (never back to unversioned), version
ids on PUT and multipart completion, delete markers (GET of a key whose
latest is a marker is 404, of the marker's version 405), GET/HEAD/DELETE
by versionId, the null version of unversioned and suspended writes,
ListObjectVersions paging with KeyMarker/VersionIdMarker, DeleteObjects
with VersionId, and the errors S3 gives for wrong input."""
import uuid

import pytest
from botocore.exceptions import ClientError


def versioned_bucket(s3, status="Enabled"):
    name = "v-" + uuid.uuid4().hex[:20]
    s3.create_bucket(Bucket=name)
    if status:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
    return name


def purge(s3, name):
    """Every version and marker, then the bucket."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"])
    s3.delete_bucket(Bucket=name)


@pytest.fixture
def vbucket(s3):
    name = versioned_bucket(s3)
    yield name
    purge(s3, name)


def code_of(call):
    with pytest.raises(ClientError) as e:
        call()
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], \
        r["ResponseMetadata"]["HTTPHeaders"]


def all_versions(s3, bucket, **kw):
    """(key, version, is_latest, is_marker) of every version, by key; boto3
    splits a page into Versions and DeleteMarkers, so within a key markers
    come after the versions of the same page (test_versions_xml_order
    checks the server's order)."""
    out = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, **kw):
        for v in page.get("Versions", []):
            out.append((v["Key"], v["VersionId"], v["IsLatest"], False))
        for m in page.get("DeleteMarkers", []):
            out.append((m["Key"], m["VersionId"], m["IsLatest"], True))
    return sorted(out, key=lambda e: e[0])


def test_versioning_configuration(s3, raw):
    name = versioned_bucket(s3, status=None)
    try:
        assert "Status" not in s3.get_bucket_versioning(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
        s3.put_bucket_versioning(Bucket=name,
                                 VersioningConfiguration={"Status": "Suspended"})
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Suspended"
        # never back to unversioned; malformed bodies change nothing
        for body in (b"<VersioningConfiguration><Status>Disabled</Status>"
                     b"</VersioningConfiguration>", b"<VersioningConfiguration/>",
                     b"<nope", b""):
            r = raw("PUT", f"/{name}", "versioning", body=body)
            assert r.status == 400 and r.error_code() == "MalformedXML", r.body
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Suspended"
    finally:
        purge(s3, name)
    assert code_of(lambda: s3.get_bucket_versioning(Bucket=name))[0] == "NoSuchBucket"


def test_versions_markers_and_reads_by_version(s3, vbucket):
    v1 = s3.put_object(Bucket=vbucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=vbucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and len(v1) == 32 and v1 != "null"
    assert s3.get_object(Bucket=vbucket, Key="k")["Body"].read() == b"two"
    got = s3.get_object(Bucket=vbucket, Key="k", VersionId=v1)
    assert got["Body"].read() == b"one" and got["VersionId"] == v1
    assert s3.head_object(Bucket=vbucket, Key="k", VersionId=v2)["ContentLength"] == 3
    # a delete makes a marker; the data stays
    d = s3.delete_object(Bucket=vbucket, Key="k")
    assert d["DeleteMarker"] is True
    marker = d["VersionId"]
    c, status, h = code_of(lambda: s3.get_object(Bucket=vbucket, Key="k"))
    assert (c, status) == ("NoSuchKey", 404)
    assert h["x-amz-delete-marker"] == "true" and h["x-amz-version-id"] == marker
    c, status, h = code_of(lambda: s3.get_object(Bucket=vbucket, Key="k", VersionId=marker))
    assert (c, status) == ("MethodNotAllowed", 405)
    assert h["x-amz-delete-marker"] == "true"
    _, status, h = code_of(lambda: s3.head_object(Bucket=vbucket, Key="k", VersionId=marker))
    assert status == 405
    assert s3.get_object(Bucket=vbucket, Key="k", VersionId=v2)["Body"].read() == b"two"
    assert "Contents" not in s3.list_objects_v2(Bucket=vbucket)
    assert all_versions(s3, vbucket) == [("k", v2, False, False), ("k", v1, False, False),
                                         ("k", marker, True, True)]
    # removing the marker brings v2 back
    d = s3.delete_object(Bucket=vbucket, Key="k", VersionId=marker)
    assert d["DeleteMarker"] is True and d["VersionId"] == marker
    assert s3.get_object(Bucket=vbucket, Key="k")["Body"].read() == b"two"
    # destroying the current version promotes the previous one
    s3.delete_object(Bucket=vbucket, Key="k", VersionId=v2)
    assert s3.get_object(Bucket=vbucket, Key="k")["Body"].read() == b"one"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=vbucket)["Contents"]] == ["k"]
    # unknown and malformed version ids
    unknown = "0" * 32
    assert code_of(lambda: s3.get_object(Bucket=vbucket, Key="k", VersionId=unknown))[:2] \
        == ("NoSuchVersion", 404)
    for bad in ("xyz", "A" * 32, "0" * 31, "nul"):
        assert code_of(lambda: s3.get_object(Bucket=vbucket, Key="k", VersionId=bad))[:2] \
            == ("InvalidArgument", 400)
        assert code_of(lambda: s3.delete_object(Bucket=vbucket, Key="k", VersionId=bad))[:2] \
            == ("InvalidArgument", 400)
    s3.delete_object(Bucket=vbucket, Key="k", VersionId=unknown)      # 204, nothing
    assert s3.get_object(Bucket=vbucket, Key="k")["Body"].read() == b"one"


def test_null_versions_unversioned_and_suspended(s3):
    name = versioned_bucket(s3, status=None)
    try:
        r = s3.put_object(Bucket=name, Key="k", Body=b"pre")
        assert "VersionId" not in r
        assert "VersionId" not in s3.head_object(Bucket=name, Key="k")
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        assert s3.get_object(Bucket=name, Key="k", VersionId="null")["Body"].read() == b"pre"
        v = s3.put_object(Bucket=name, Key="k", Body=b"enabled")["VersionId"]
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
        # a suspended write replaces the null version, keeps v
        # ...and names it: x-amz-version-id: null on the write and the reads,
        # as S3 does once versioning was configured (unversioned: no header)
        assert s3.put_object(Bucket=name, Key="k", Body=b"susp1")["VersionId"] == "null"
        assert s3.put_object(Bucket=name, Key="k", Body=b"susp2")["VersionId"] == "null"
        assert s3.head_object(Bucket=name, Key="k")["VersionId"] == "null"
        assert s3.get_object(Bucket=name, Key="k")["VersionId"] == "null"
        up = s3.create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
        part = s3.upload_part(Bucket=name, Key="mp", UploadId=up, PartNumber=1, Body=b"p")
        done = s3.complete_multipart_upload(
            Bucket=name, Key="mp", UploadId=up,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        assert done["VersionId"] == "null"
        s3.delete_object(Bucket=name, Key="mp", VersionId="null")
        vs = all_versions(s3, name)
        assert vs == [("k", "null", True, False), ("k", v, False, False)]
        assert s3.get_object(Bucket=name, Key="k", VersionId="null")["Body"].read() \
            == b"susp2"
        # a suspended delete: a null marker, v stays
        d = s3.delete_object(Bucket=name, Key="k")
        assert d["DeleteMarker"] is True and d["VersionId"] == "null"
        assert all_versions(s3, name) == [("k", v, False, False), ("k", "null", True, True)]
        assert s3.get_object(Bucket=name, Key="k", VersionId=v)["Body"].read() == b"enabled"
        # the bucket holds versions: not empty
        assert code_of(lambda: s3.delete_bucket(Bucket=name))[:2] == ("BucketNotEmpty", 409)
    finally:
        purge(s3, name)


def test_list_object_versions_paging(s3, vbucket):
    want = []
    for key in ("a", "b/x", "b/y", "c"):
        ids = [s3.put_object(Bucket=vbucket, Key=key, Body=key.encode() * i)["VersionId"]
               for i in range(1, 4)]
        want += [(key, vid, i == 0, False) for i, vid in enumerate(reversed(ids))]
    m = s3.delete_object(Bucket=vbucket, Key="c")["VersionId"]
    want[9] = (want[9][0], want[9][1], False, False)
    for page_size in (1, 2, 5, 1000):
        got = all_versions(s3, vbucket, PaginationConfig={"PageSize": page_size})
        assert [e for e in got if not e[3]] == want
        assert [e for e in got if e[3]] == [("c", m, True, True)]
    # raw paging fields
    p = s3.list_object_versions(Bucket=vbucket, MaxKeys=2)
    assert p["IsTruncated"] and p["NextKeyMarker"] == "a"
    p2 = s3.list_object_versions(Bucket=vbucket, MaxKeys=2, KeyMarker=p["NextKeyMarker"],
                                 VersionIdMarker=p["NextVersionIdMarker"])
    assert [v["VersionId"] for v in p2["Versions"]] == [want[2][1], want[3][1]]
    # prefix and delimiter
    p = s3.list_object_versions(Bucket=vbucket, Delimiter="/")
    assert [c["Prefix"] for c in p["CommonPrefixes"]] == ["b/"]
    assert {v["Key"] for v in p["Versions"]} == {"a", "c"}
    p = s3.list_object_versions(Bucket=vbucket, Prefix="b/")
    assert len(p["Versions"]) == 6
    # a version marker needs a key marker, and must be well formed
    for kw in ({"VersionIdMarker": want[0][1]}, {"KeyMarker": "a", "VersionIdMarker": "zz"}):
        assert code_of(lambda: s3.list_object_versions(Bucket=vbucket, **kw))[:2] == \
            ("InvalidArgument", 400)


def test_delete_objects_with_versions(s3, vbucket):
    v1 = s3.put_object(Bucket=vbucket, Key="x", Body=b"1")["VersionId"]
    v2 = s3.put_object(Bucket=vbucket, Key="x", Body=b"2")["VersionId"]
    yv = s3.put_object(Bucket=vbucket, Key="y", Body=b"y")["VersionId"]
    r = s3.delete_objects(Bucket=vbucket, Delete={"Objects": [
        {"Key": "x", "VersionId": v1}, {"Key": "y"}, {"Key": "x", "VersionId": "bad"}]})
    deleted = {(d["Key"], d.get("VersionId")): d for d in r["Deleted"]}
    assert ("x", v1) in deleted and "DeleteMarker" not in deleted[("x", v1)]
    assert deleted[("y", None)]["DeleteMarker"] is True
    marker = deleted[("y", None)]["DeleteMarkerVersionId"]
    assert [(e["Key"], e["Code"]) for e in r["Errors"]] == [("x", "InvalidArgument")]
    assert all_versions(s3, vbucket) == [("x", v2, True, False), ("y", yv, False, False),
                                         ("y", marker, True, True)]
    r = s3.delete_objects(Bucket=vbucket, Delete={"Objects": [{"Key": "y",
                                                               "VersionId": marker}]})
    assert r["Deleted"][0]["DeleteMarker"] is True
    assert s3.get_object(Bucket=vbucket, Key="y")["Body"].read() == b"y"


def test_multipart_into_versioned_bucket(s3, vbucket):
    v1 = s3.put_object(Bucket=vbucket, Key="m", Body=b"small")["VersionId"]
    up = s3.create_multipart_upload(Bucket=vbucket, Key="m")["UploadId"]
    part = s3.upload_part(Bucket=vbucket, Key="m", UploadId=up, PartNumber=1,
                          Body=b"p" * 1000)
    done = s3.complete_multipart_upload(
        Bucket=vbucket, Key="m", UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    v2 = done["VersionId"]
    assert v2 not in (v1, "null")
    assert s3.get_object(Bucket=vbucket, Key="m")["Body"].read() == b"p" * 1000
    assert s3.get_object(Bucket=vbucket, Key="m", VersionId=v1)["Body"].read() == b"small"
    c = s3.copy_object(Bucket=vbucket, Key="m2", CopySource={"Bucket": vbucket, "Key": "m"})
    assert len(c["VersionId"]) == 32


def test_versions_xml_order(s3, raw, vbucket):
    """Newest first within a key, markers in their place."""
    import xml.etree.ElementTree as ET
    v1 = s3.put_object(Bucket=vbucket, Key="k", Body=b"1")["VersionId"]
    m1 = s3.delete_object(Bucket=vbucket, Key="k")["VersionId"]
    v2 = s3.put_object(Bucket=vbucket, Key="k", Body=b"2")["VersionId"]
    r = raw("GET", f"/{vbucket}", "versions")
    assert r.status == 200
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    doc = ET.fromstring(r.body)
    got = [(e.tag.replace(ns, ""), e.findtext(ns + "VersionId"), e.findtext(ns + "IsLatest"))
           for e in doc if e.tag in (ns + "Version", ns + "DeleteMarker")]
    assert got == [("Version", v2, "true"), ("DeleteMarker", m1, "false"),
                   ("Version", v1, "false")]


def test_copy_from_a_version(s3, vbucket):
    v1 = s3.put_object(Bucket=vbucket, Key="src", Body=b"old")["VersionId"]
    s3.put_object(Bucket=vbucket, Key="src", Body=b"new")
    c = s3.copy_object(Bucket=vbucket, Key="dst",
                       CopySource={"Bucket": vbucket, "Key": "src", "VersionId": v1})
    assert c["CopySourceVersionId"] == v1
    assert s3.get_object(Bucket=vbucket, Key="dst")["Body"].read() == b"old"
    up = s3.create_multipart_upload(Bucket=vbucket, Key="mp")["UploadId"]
    p = s3.upload_part_copy(Bucket=vbucket, Key="mp", UploadId=up, PartNumber=1,
                            CopySource={"Bucket": vbucket, "Key": "src", "VersionId": v1})
    assert p["CopySourceVersionId"] == v1
    s3.complete_multipart_upload(Bucket=vbucket, Key="mp", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": p["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=vbucket, Key="mp")["Body"].read() == b"old"
    m = s3.delete_object(Bucket=vbucket, Key="src")["VersionId"]
    assert code_of(lambda: s3.copy_object(
        Bucket=vbucket, Key="x", CopySource={"Bucket": vbucket, "Key": "src",
                                             "VersionId": m}))[:2] == ("InvalidRequest", 400)
    assert code_of(lambda: s3.copy_object(
        Bucket=vbucket, Key="x", CopySource={"Bucket": vbucket, "Key": "src"}))[:2] == \
        ("NoSuchKey", 404)
    assert code_of(lambda: s3.copy_object(
        Bucket=vbucket, Key="x", CopySource=f"{vbucket}/src?versionId=bad"))[:2] == \
        ("InvalidArgument", 400)
