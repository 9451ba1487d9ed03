"""S3 protocol edges, through boto3 and raw signed requests.

Each test states one behaviour clients depend on: the exact error code and
status, the exact bytes returned, or the paging fields a client follows.
"""
import base64
import datetime
import hashlib
import os
import random
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
import zlib

import pytest
from botocore.exceptions import ClientError

from conftest import send_headers, read_head, make_client

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
MiB = 1024 * 1024


def err(excinfo):
    e = excinfo.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]


def b64(raw):
    return base64.b64encode(raw).decode()


def crc_reflected(data, poly, width):
    """Bitwise reflected CRC with init and xorout all ones (CRC32C, CRC64NVME)."""
    mask = (1 << width) - 1
    crc = mask
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return (crc ^ mask).to_bytes(width // 8, "big")


def crc32c(data):
    return crc_reflected(data, 0x82F63B78, 32)


def crc64nvme(data):
    return crc_reflected(data, 0x9A6C9329AC4BC9B5, 64)


# ---- service, auth, errors ---------------------------------------------

def test_health_is_unauthenticated(endpoint):
    with urllib.request.urlopen(endpoint + "/health", timeout=5) as r:
        assert r.status == 200


def test_bucket_named_health(s3):
    try:
        s3.create_bucket(Bucket="health")
        s3.put_object(Bucket="health", Key="k", Body=b"1")
        r = s3.list_objects(Bucket="health")       # GET /health?encoding-type=url
        assert [o["Key"] for o in r["Contents"]] == ["k"]
    finally:
        s3.delete_object(Bucket="health", Key="k")
        s3.delete_bucket(Bucket="health")


def test_anonymous_request_is_denied_with_request_id(raw):
    r = raw("GET", "/", sign=False)
    assert r.status == 403
    doc = ET.fromstring(r.body)
    assert doc.findtext("Code") == "AccessDenied"
    assert doc.findtext("Message")
    assert doc.findtext("RequestId") == r.headers["x-amz-request-id"]
    assert doc.findtext("Resource") == "/"


def test_unknown_access_key(endpoint):
    c = make_client(endpoint, "AKNOTAREALKEY0000000", "x" * 40)
    with pytest.raises(ClientError) as e:
        c.list_buckets()
    assert err(e) == ("InvalidAccessKeyId", 403)


def test_wrong_secret(endpoint, creds):
    c = make_client(endpoint, creds.access_key, "y" * 40)
    with pytest.raises(ClientError) as e:
        c.list_buckets()
    assert err(e) == ("SignatureDoesNotMatch", 403)


def test_payload_hash_mismatch(raw, bucket):
    r = raw("PUT", f"/{bucket}/k", body=b"hello", payload_hash=hashlib.sha256(b"other").hexdigest())
    assert r.status == 400 and r.error_code() == "XAmzContentSHA256Mismatch"


def test_missing_content_length(raw, bucket):
    r = raw("PUT", f"/{bucket}/k", body=None, payload_hash="UNSIGNED-PAYLOAD")
    assert r.status == 411 and r.error_code() == "MissingContentLength"


def test_chunked_transfer_encoding_body(raw, s3, bucket):
    data = b"chunk-one|" + b"x" * 5000 + b"|end"
    framed = b""
    for i in range(0, len(data), 1000):
        piece = data[i:i + 1000]
        framed += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    framed += b"0\r\n\r\n"
    r = raw("PUT", f"/{bucket}/chunked", headers={"Transfer-Encoding": "chunked"},
            body=framed, payload_hash="UNSIGNED-PAYLOAD")
    assert r.status == 200, r.body
    assert s3.get_object(Bucket=bucket, Key="chunked")["Body"].read() == data


def test_unimplemented_subresources(raw, bucket):
    for method, query in [("GET", "policy"), ("PUT", "acl"), ("GET", "tagging"),
                          ("PUT", "website"), ("GET", "cors")]:
        r = raw(method, f"/{bucket}", query=query)
        assert (r.status, r.error_code()) == (501, "NotImplemented"), query


def test_get_acl_is_owner_full_control(s3, bucket):
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]


# ---- buckets -------------------------------------------------------------

def test_bucket_lifecycle(s3):
    name = "life-" + os.urandom(6).hex()
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket=name)
    s3.create_bucket(Bucket=name)       # us-east-1: the owner re-creating gets 200
    s3.put_object(Bucket=name, Key="x", Body=b"1")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=name)
    assert err(e) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket=name, Key="x")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=name)
    assert err(e)[1] == 404
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=name)
    assert err(e) == ("NoSuchBucket", 404)


@pytest.mark.parametrize("name", ["ab", "UPPER-case", "a..b", "-abc", "192.168.1.1", "xn--abc"])
def test_invalid_bucket_names(raw, name):
    r = raw("PUT", f"/{name}")
    assert (r.status, r.error_code()) == (400, "InvalidBucketName")


def test_location_constraint(s3, raw):
    name = "loc-" + os.urandom(6).hex()
    body = (b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>")
    r = raw("PUT", f"/{name}", body=body)
    assert (r.status, r.error_code()) == (400, "IllegalLocationConstraintException")
    r = raw("PUT", f"/{name}", body=b"<CreateBucketConfiguration><bad")
    assert (r.status, r.error_code()) == (400, "MalformedXML")
    s3.create_bucket(Bucket=name)
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    s3.delete_bucket(Bucket=name)


def test_hostile_xml_is_refused(raw):
    name = "xml-" + os.urandom(6).hex()
    body = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b"<CreateBucketConfiguration><LocationConstraint>&b;</LocationConstraint>"
            b"</CreateBucketConfiguration>")
    r = raw("PUT", f"/{name}", body=body)
    assert (r.status, r.error_code()) == (400, "MalformedXML")


def test_versioning_and_versions(s3, bucket):
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a", Body=b"1")
    s3.put_object(Bucket=bucket, Key="a", Body=b"22")
    v = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [(x["Key"], x["VersionId"], x["Size"], x["IsLatest"]) for x in v] == \
        [("a", "null", 2, True)]


# ---- objects ---------------------------------------------------------------

def test_put_get_roundtrip_and_headers(s3, bucket):
    data = os.urandom(300 * 1024 + 7)
    put = s3.put_object(Bucket=bucket, Key="dir/obj", Body=data, ContentType="text/x-test",
                        ContentEncoding="identity", ContentDisposition="attachment",
                        ContentLanguage="en", CacheControl="no-cache",
                        Expires=datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc),
                        Metadata={"mtime": "1700000000.5", "Color": "blue"})
    assert put["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
    assert put["ServerSideEncryption"] == "AES256"
    got = s3.get_object(Bucket=bucket, Key="dir/obj")
    assert got["Body"].read() == data
    assert got["ETag"] == put["ETag"]
    assert got["ContentLength"] == len(data)
    assert got["ContentType"] == "text/x-test"
    assert got["ContentEncoding"] == "identity"
    assert got["ContentDisposition"] == "attachment"
    assert got["ContentLanguage"] == "en"
    assert got["CacheControl"] == "no-cache"
    assert got["Expires"].year == 2030
    assert got["Metadata"] == {"mtime": "1700000000.5", "color": "blue"}
    assert got["ServerSideEncryption"] == "AES256"
    head = s3.head_object(Bucket=bucket, Key="dir/obj")
    assert head["ContentLength"] == len(data) and head["ETag"] == put["ETag"]


def test_empty_metadata_values(raw, s3, bucket):
    r = raw("PUT", f"/{bucket}/em", body=b"x", headers={"x-amz-meta-empty": "",
                                                        "Cache-Control": ""})
    assert r.status == 200, r.body
    assert s3.get_object(Bucket=bucket, Key="em")["Body"].read() == b"x"


def test_empty_object_and_overwrite(s3, bucket):
    s3.put_object(Bucket=bucket, Key="e", Body=b"")
    assert s3.get_object(Bucket=bucket, Key="e")["Body"].read() == b""
    s3.put_object(Bucket=bucket, Key="e", Body=b"new")
    assert s3.get_object(Bucket=bucket, Key="e")["Body"].read() == b"new"


def test_missing_keys(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="nope")
    assert err(e) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="nope")
    assert err(e)[1] == 404
    s3.delete_object(Bucket=bucket, Key="nope")     # S3: success


def test_ranges(s3, bucket):
    data = bytes(range(256)) * 40
    s3.put_object(Bucket=bucket, Key="r", Body=data)
    cases = {"bytes=0-9": data[0:10], "bytes=100-": data[100:], "bytes=-7": data[-7:],
             "bytes=10000-20000": data[10000:], "bytes=-99999": data}
    for rng, want in cases.items():
        g = s3.get_object(Bucket=bucket, Key="r", Range=rng)
        assert g["Body"].read() == want, rng
        assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert g["ContentRange"].endswith("/%d" % len(data))
    for rng in ["bytes=10240-", "bytes=20000-30000", "bytes=-0"]:
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket=bucket, Key="r", Range=rng)
        assert err(e) == ("InvalidRange", 416), rng


def test_gets_at_and_across_block_boundaries(s3, bucket):
    """Whole-object and ranged GETs around the engine's 1 MiB block: a body
    read whole before the status is sent from its own (recycled) buffer,
    a longer one through libmicrohttpd's reader; a big GET first leaves its
    bytes in the buffers a smaller one then reuses, and none may show."""
    mib = 1 << 20
    sizes = [2 * mib + 17, 1, 4096, 256 << 10, mib - 1, mib, mib + 1, 0]
    data = {n: random.Random(n).randbytes(n) for n in sizes}
    for n in sizes:
        s3.put_object(Bucket=bucket, Key="blk%d" % n, Body=data[n])
    for n in sizes:
        g = s3.get_object(Bucket=bucket, Key="blk%d" % n)
        assert g["ContentLength"] == n
        assert g["Body"].read() == data[n], n
        assert s3.head_object(Bucket=bucket, Key="blk%d" % n)["ContentLength"] == n
    big = data[sizes[0]]
    ranges = [(0, 9), (mib - 10, mib - 1), (mib - 10, mib + 9), (mib, mib),
              (mib, 2 * mib - 1), (5, 2 * mib + 16), (2 * mib, 2 * mib + 16),
              (mib + 1, 2 * mib + 3)]
    for a, z in ranges:
        g = s3.get_object(Bucket=bucket, Key="blk%d" % sizes[0], Range="bytes=%d-%d" % (a, z))
        assert g["ContentLength"] == z - a + 1, (a, z)
        assert g["Body"].read() == big[a:z + 1], (a, z)
        small = s3.get_object(Bucket=bucket, Key="blk1")["Body"].read()
        assert small == data[1]


def test_conditionals(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"cond")["ETag"]
    past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"cond"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert err(e) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert err(e)[1] == 304
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert err(e)[1] == 304
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=future)
    assert err(e)[1] == 304
    assert s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=past)["Body"].read() == b"cond"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=past)
    assert err(e) == ("PreconditionFailed", 412)


def test_response_overrides(s3, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", ContentType="text/plain")
    g = s3.get_object(Bucket=bucket, Key="o", ResponseContentType="image/png",
                      ResponseContentDisposition="inline", ResponseCacheControl="max-age=1")
    assert g["ContentType"] == "image/png"
    assert g["ContentDisposition"] == "inline"
    assert g["CacheControl"] == "max-age=1"


def test_unicode_and_odd_keys(s3, bucket):
    keys = ["ünïcødé/日本語.txt", "space key", "plus+key", "a%2Fb", "q?x=1&y", "emoji-😀",
            "trailing/", "dots/../x", "tab\tkey"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    for k in keys:
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == k.encode(), k
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(keys, key=lambda k: k.encode())
    listed1 = [o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]]
    assert listed1 == listed


def test_key_limits(s3, bucket, raw):
    s3.put_object(Bucket=bucket, Key="k" * 1024, Body=b"max")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert err(e) == ("KeyTooLongError", 400)
    r = raw("PUT", f"/{bucket}/bad%FFutf8", body=b"x")
    assert (r.status, r.error_code()) == (400, "InvalidArgument")


def test_metadata_too_large(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="m", Body=b"x", Metadata={"big": "v" * 2100})
    assert err(e) == ("MetadataTooLarge", 400)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="m")


def test_content_md5(s3, bucket, raw):
    data = b"digest me"
    good = b64(hashlib.md5(data).digest())
    s3.put_object(Bucket=bucket, Key="d", Body=data, ContentMD5=good)
    r = raw("PUT", f"/{bucket}/d2", body=data, headers={"Content-MD5": "not-base64!"})
    assert (r.status, r.error_code()) == (400, "InvalidDigest")
    r = raw("PUT", f"/{bucket}/d2", body=data,
            headers={"Content-MD5": b64(hashlib.md5(b"other").digest())})
    assert (r.status, r.error_code()) == (400, "BadDigest")
    assert raw("HEAD", f"/{bucket}/d2").status == 404


CHECKSUMS = {
    "CRC32": lambda d: zlib.crc32(d).to_bytes(4, "big"),
    "CRC32C": crc32c,
    "CRC64NVME": crc64nvme,
    "SHA1": lambda d: hashlib.sha1(d).digest(),
    "SHA256": lambda d: hashlib.sha256(d).digest(),
}


@pytest.mark.parametrize("algo", sorted(CHECKSUMS))
def test_checksums(raw, bucket, algo):
    data = b"checksum body " * 100
    value = b64(CHECKSUMS[algo](data))
    hdr = "x-amz-checksum-" + algo.lower()
    r = raw("PUT", f"/{bucket}/ck", body=data, headers={hdr: value})
    assert r.status == 200, r.body
    assert r.headers[hdr] == value
    h = raw("HEAD", f"/{bucket}/ck", headers={"x-amz-checksum-mode": "ENABLED"})
    assert h.headers.get(hdr) == value
    assert hdr not in raw("HEAD", f"/{bucket}/ck").headers
    bad = b64(CHECKSUMS[algo](b"something else"))
    r = raw("PUT", f"/{bucket}/ck2", body=data, headers={hdr: bad})
    assert (r.status, r.error_code()) == (400, "BadDigest")
    assert raw("HEAD", f"/{bucket}/ck2").status == 404


def test_sdk_checksum_algorithm(s3, bucket):
    s3.put_object(Bucket=bucket, Key="sdk", Body=b"abc", ChecksumAlgorithm="CRC32")
    h = s3.head_object(Bucket=bucket, Key="sdk", ChecksumMode="ENABLED")
    assert h["ChecksumCRC32"] == b64(zlib.crc32(b"abc").to_bytes(4, "big"))


def test_large_put_with_expect_continue(s3, bucket):
    data = os.urandom(3 * MiB + 11)
    s3.put_object(Bucket=bucket, Key="big", Body=data)
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == data


def test_presigned_get(s3, bucket):
    s3.put_object(Bucket=bucket, Key="p", Body=b"presigned")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"},
                                    ExpiresIn=300)
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.read() == b"presigned"


def test_presigned_sigv2(endpoint, creds, s3, bucket):
    import boto3
    from botocore.config import Config
    s3.put_object(Bucket=bucket, Key="p2", Body=b"sigv2")
    v2 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=creds.access_key,
                      aws_secret_access_key=creds.secret_key, region_name="us-east-1",
                      config=Config(signature_version="s3", s3={"addressing_style": "path"}))
    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p2"},
                                    ExpiresIn=300)
    assert "AWSAccessKeyId=" in url
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.read() == b"sigv2"
    bad = url.replace("Signature=", "Signature=AA")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(bad, timeout=5)
    assert e.value.code in (400, 403)


# ---- copy ------------------------------------------------------------------

def test_copy_object(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"copy me", ContentType="a/b",
                         Metadata={"k": "v"})["ETag"]
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    g = s3.get_object(Bucket=bucket, Key="dst")
    assert g["Body"].read() == b"copy me" and g["Metadata"] == {"k": "v"}
    assert g["ContentType"] == "a/b" and g["ETag"] == etag
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"n": "w"}, ContentType="c/d")
    h = s3.head_object(Bucket=bucket, Key="dst2")
    assert h["Metadata"] == {"n": "w"} and h["ContentType"] == "c/d"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="dst3", CopySource={"Bucket": bucket, "Key": "src"},
                       CopySourceIfMatch='"nomatch"')
    assert err(e) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert err(e) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "nope"})
    assert err(e) == ("NoSuchKey", 404)


# ---- delete objects ----------------------------------------------------------

def test_delete_objects(s3, bucket, raw):
    for k in ["a", "b", "c"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"1")
    res = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"},
                                                               {"Key": "missing"}]})
    assert sorted(d["Key"] for d in res["Deleted"]) == ["a", "b", "missing"]
    res = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in res
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    body = b"<Delete><Object><Key>x</Key></Object></Delete>"
    r = raw("POST", f"/{bucket}", query="delete", body=body)
    assert (r.status, r.error_code()) == (400, "InvalidRequest")
    r = raw("POST", f"/{bucket}", query="delete", body=body,
            headers={"Content-MD5": b64(hashlib.md5(b"x").digest())})
    assert (r.status, r.error_code()) == (400, "BadDigest")
    many = b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001 + b"</Delete>"
    r = raw("POST", f"/{bucket}", query="delete", body=many,
            headers={"Content-MD5": b64(hashlib.md5(many).digest())})
    assert (r.status, r.error_code()) == (400, "MalformedXML")


# ---- listing -------------------------------------------------------------------

def test_list_v1_delimiter_and_markers(s3, bucket):
    keys = ["a/1", "a/2", "b/1", "c", "d/x/y", "e"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    r = s3.list_objects(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/", "b/", "d/"]
    assert [o["Key"] for o in r["Contents"]] == ["c", "e"]
    seen, marker = [], ""
    while True:
        page = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=2, Marker=marker)
        seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        assert page["NextMarker"]
        marker = page["NextMarker"]
    assert sorted(seen) == ["a/", "b/", "c", "d/", "e"]
    page = s3.list_objects(Bucket=bucket, MaxKeys=1)
    assert page["IsTruncated"] and page["NextMarker"] == "a/1"
    r = s3.list_objects(Bucket=bucket, Prefix="a/", Marker="a/1")
    assert [o["Key"] for o in r["Contents"]] == ["a/2"]


def test_list_v2_pagination(s3, bucket):
    keys = ["k%03d" % i for i in range(25)]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    seen, token, pages = [], None, 0
    while True:
        args = {"Bucket": bucket, "MaxKeys": 10}
        if token:
            args["ContinuationToken"] = token
        page = s3.list_objects_v2(**args)
        pages += 1
        assert page["KeyCount"] == len(page.get("Contents", []))
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == keys and pages == 3
    r = s3.list_objects_v2(Bucket=bucket, StartAfter="k020", FetchOwner=True)
    assert [o["Key"] for o in r["Contents"]] == keys[21:]
    assert "Owner" in r["Contents"][0]
    assert "Owner" not in s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=bucket, ContinuationToken="zz-not-a-token")
    assert err(e) == ("InvalidArgument", 400)


def test_list_encoding_type_url(raw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="sp ace/ü+&", Body=b"")
    r = raw("GET", f"/{bucket}", query="list-type=2&encoding-type=url")
    doc = ET.fromstring(r.body)
    assert doc.find(f"{NS}Contents/{NS}Key").text == "sp%20ace/%C3%BC%2B%26"
    r = s3.list_objects_v2(Bucket=bucket, Delimiter="/")        # boto3 decodes
    assert r["CommonPrefixes"][0]["Prefix"] == "sp ace/"
    r = raw("GET", f"/{bucket}", query="encoding-type=bogus")
    assert (r.status, r.error_code()) == (400, "InvalidArgument")


def test_list_max_keys_invalid(raw, bucket):
    r = raw("GET", f"/{bucket}", query="max-keys=-1")
    assert (r.status, r.error_code()) == (400, "InvalidArgument")


# ---- multipart -------------------------------------------------------------------

def test_multipart_upload(s3, bucket):
    p1, p2 = os.urandom(5 * MiB), os.urandom(123)
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", Metadata={"md5chksum": "x"},
                                    ContentType="app/mp")["UploadId"]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [up]
    e1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=2, Body=p2)["ETag"]
    parts = s3.list_parts(Bucket=bucket, Key="mp", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in parts] == \
        [(1, len(p1), e1), (2, len(p2), e2)]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    want = hashlib.md5(hashlib.md5(p1).digest() + hashlib.md5(p2).digest()).hexdigest()
    assert done["ETag"] == '"%s-2"' % want
    g = s3.get_object(Bucket=bucket, Key="mp")
    assert g["Body"].read() == p1 + p2
    assert g["ContentType"] == "app/mp" and g["Metadata"] == {"md5chksum": "x"}
    g = s3.get_object(Bucket=bucket, Key="mp", Range="bytes=%d-%d" % (5 * MiB - 3, 5 * MiB + 2))
    assert g["Body"].read() == (p1 + p2)[5 * MiB - 3:5 * MiB + 3]
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def test_get_and_head_by_part_number(s3, raw, bucket):
    """A part of a multipart object by its number (what coffer drill reads to
    check an ETag of MD5s); an object from one PUT is its own part 1."""
    p1, p2 = os.urandom(5 * MiB), os.urandom(1000)
    up = s3.create_multipart_upload(Bucket=bucket, Key="pn")["UploadId"]
    e = [s3.upload_part(Bucket=bucket, Key="pn", UploadId=up, PartNumber=n, Body=b)["ETag"]
         for n, b in ((1, p1), (2, p2))]
    s3.complete_multipart_upload(Bucket=bucket, Key="pn", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e[0]}, {"PartNumber": 2, "ETag": e[1]}]})
    g = s3.get_object(Bucket=bucket, Key="pn", PartNumber=2)
    assert g["Body"].read() == p2
    assert g["PartsCount"] == 2 and g["ContentRange"] == "bytes %d-%d/%d" % (
        len(p1), len(p1) + len(p2) - 1, len(p1) + len(p2))
    h = s3.head_object(Bucket=bucket, Key="pn", PartNumber=1)
    assert h["ContentLength"] == len(p1) and h["PartsCount"] == 2
    r = raw("GET", f"/{bucket}/pn", query="partNumber=3")
    assert (r.status, r.error_code()) == (416, "InvalidPartNumber")
    r = raw("GET", f"/{bucket}/pn", query="partNumber=0")
    assert (r.status, r.error_code()) == (400, "InvalidArgument")
    r = raw("GET", f"/{bucket}/pn", query="partNumber=1", headers={"Range": "bytes=0-1"})
    assert (r.status, r.error_code()) == (400, "InvalidRequest")
    s3.put_object(Bucket=bucket, Key="one", Body=b"single")
    assert s3.get_object(Bucket=bucket, Key="one", PartNumber=1)["Body"].read() == b"single"


def test_multipart_checksums(raw, s3, bucket):
    p1, p2 = os.urandom(5 * MiB), b"tail"
    up = s3.create_multipart_upload(Bucket=bucket, Key="mpc",
                                    ChecksumAlgorithm="SHA256")["UploadId"]
    parts = []
    for n, data in [(1, p1), (2, p2)]:
        value = b64(hashlib.sha256(data).digest())
        r = raw("PUT", f"/{bucket}/mpc", query=f"partNumber={n}&uploadId={up}", body=data,
                headers={"x-amz-checksum-sha256": value})
        assert r.status == 200, r.body
        parts.append({"PartNumber": n, "ETag": r.headers["etag"], "ChecksumSHA256": value})
    listed = s3.list_parts(Bucket=bucket, Key="mpc", UploadId=up)
    assert [p.get("ChecksumSHA256") for p in listed["Parts"]] == \
        [p["ChecksumSHA256"] for p in parts]
    r = raw("PUT", f"/{bucket}/mpc", query=f"partNumber=3&uploadId={up}", body=b"x",
            headers={"x-amz-checksum-sha256": b64(hashlib.sha256(b"y").digest())})
    assert (r.status, r.error_code()) == (400, "BadDigest")
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mpc", UploadId=up,
                                        MultipartUpload={"Parts": parts})
    assert done["ChecksumSHA256"].endswith("-2")
    h = s3.head_object(Bucket=bucket, Key="mpc", ChecksumMode="ENABLED")
    assert h["ChecksumSHA256"] == done["ChecksumSHA256"]


def test_multipart_errors(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="bad")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="bad", UploadId=up, PartNumber=1, Body=b"small")["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="bad", UploadId=up, PartNumber=2, Body=b"tail")["ETag"]

    def complete(parts):
        with pytest.raises(ClientError) as e:
            s3.complete_multipart_upload(Bucket=bucket, Key="bad", UploadId=up,
                                         MultipartUpload={"Parts": parts})
        return err(e)

    assert complete([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]) == \
        ("EntityTooSmall", 400)
    assert complete([{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]) == \
        ("InvalidPartOrder", 400)
    assert complete([{"PartNumber": 1, "ETag": '"%s"' % ("0" * 32)}]) == ("InvalidPart", 400)
    assert complete([{"PartNumber": 3, "ETag": e1}]) == ("InvalidPart", 400)
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="bad", UploadId=up, PartNumber=10001, Body=b"x")
    assert err(e) == ("InvalidArgument", 400)
    s3.abort_multipart_upload(Bucket=bucket, Key="bad", UploadId=up)
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="bad", UploadId=up, PartNumber=1, Body=b"x")
    assert err(e) == ("NoSuchUpload", 404)
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="bad", UploadId="0" * 32)
    assert err(e) == ("NoSuchUpload", 404)


def test_upload_part_copy(s3, bucket):
    src = os.urandom(6 * MiB)
    s3.put_object(Bucket=bucket, Key="big-src", Body=src)
    up = s3.create_multipart_upload(Bucket=bucket, Key="pc")["UploadId"]
    r1 = s3.upload_part_copy(Bucket=bucket, Key="pc", UploadId=up, PartNumber=1,
                             CopySource={"Bucket": bucket, "Key": "big-src"},
                             CopySourceRange="bytes=0-%d" % (5 * MiB - 1))
    r2 = s3.upload_part_copy(Bucket=bucket, Key="pc", UploadId=up, PartNumber=2,
                             CopySource={"Bucket": bucket, "Key": "big-src"},
                             CopySourceRange="bytes=%d-%d" % (5 * MiB, 6 * MiB - 1))
    s3.complete_multipart_upload(
        Bucket=bucket, Key="pc", UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r1["CopyPartResult"]["ETag"]},
                                   {"PartNumber": 2, "ETag": r2["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="pc")["Body"].read() == src


# ---- access log ------------------------------------------------------------------

def test_access_log_line(raw, bucket):
    import json
    import time
    r = raw("GET", f"/{bucket}/no-such-key")
    rid = r.headers["x-amz-request-id"]
    entry = None
    for _ in range(50):
        with open(os.environ["COFFER_ACCESS_LOG"]) as f:
            for line in f:
                doc = json.loads(line)
                if doc["request_id"] == rid:
                    entry = doc
        if entry:
            break
        time.sleep(0.1)
    assert entry is not None
    assert (entry["op"], entry["status"], entry["bucket"], entry["key"], entry["tenant"]) == \
        ("GetObject", 404, bucket, "no-such-key", "dev")
    assert entry["duration_ms"] >= 0 and "time" in entry


# ---- aws-chunked bodies (restic/minio-go over HTTP, botocore over HTTPS) ---------

def _hmac(key, msg):
    import hmac
    return hmac.new(key, msg.encode() if isinstance(msg, str) else msg, hashlib.sha256).digest()


def signed_chunks(data, seed, amz_date, scope, key, chunk=64 * 1024, corrupt=False,
                  tamper=False):
    """Frame data as STREAMING-AWS4-HMAC-SHA256-PAYLOAD chunks; corrupt: chunk 1's
    signature is wrong; tamper: the last data chunk is sent with one byte changed
    after it was signed."""
    out, prev = b"", seed
    empty = hashlib.sha256(b"").hexdigest()
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for n, piece in enumerate(pieces):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty,
                         hashlib.sha256(piece).hexdigest()])
        sig = _hmac(key, sts).hex()
        if corrupt and n == 1:
            sig = "0" * 64
        if tamper and n == len(pieces) - 2:
            piece = piece[:-1] + bytes([piece[-1] ^ 1])
        out += f"{len(piece):x};chunk-signature={sig}\r\n".encode() + piece + b"\r\n"
        prev = sig
    return out


def streaming_put(endpoint, creds, path, data, corrupt=False, declared=None,
                  chunk=64 * 1024, tamper=False):
    import http.client
    import urllib.parse
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    region = os.environ.get("COFFER_REGION", "us-east-1")
    headers = {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
               "Content-Encoding": "aws-chunked",
               "x-amz-decoded-content-length": str(len(data) if declared is None else declared)}
    req = AWSRequest(method="PUT", url=endpoint + path, headers=headers)
    SigV4Auth(creds, "s3", region).add_auth(req)
    amz_date = req.headers["X-Amz-Date"]
    seed = req.headers["Authorization"].rsplit("Signature=", 1)[1]
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + creds.secret_key).encode(), amz_date[:8]),
                                   region), "s3"), "aws4_request")
    body = signed_chunks(data, seed, amz_date, scope, key, chunk=chunk, corrupt=corrupt,
                         tamper=tamper)
    u = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    hdrs = dict(req.headers.items())
    hdrs["Content-Length"] = str(len(body))
    conn.request("PUT", path, body=body, headers=hdrs)
    resp = conn.getresponse()
    out = resp.status, resp.read()
    conn.close()
    return out


def test_streaming_signed_payload(endpoint, creds, s3, bucket):
    data = os.urandom(200 * 1024 + 5)
    status, body = streaming_put(endpoint, creds, f"/{bucket}/stream", data)
    assert status == 200, body
    got = s3.get_object(Bucket=bucket, Key="stream")
    assert got["Body"].read() == data
    assert got["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
    assert "ContentEncoding" not in got          # the framing is not the object's


def test_streaming_bad_chunk_signature_stores_nothing(endpoint, creds, s3, bucket):
    status, body = streaming_put(endpoint, creds, f"/{bucket}/bad", os.urandom(200000),
                                 corrupt=True)
    assert status == 403 and b"SignatureDoesNotMatch" in body
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad")


def test_streaming_odd_chunk_sizes(endpoint, creds, s3, bucket):
    # chunks that are not multiples of 64 bytes: each chunk's SHA-256 starts
    # at a different offset of the ETag's MD5 block (the one-pass hashing)
    for size, chunk in ((300001, 8191), (70000, 1000), (4096 * 3 + 1, 65)):
        data = os.urandom(size)
        status, body = streaming_put(endpoint, creds, f"/{bucket}/odd", data, chunk=chunk)
        assert status == 200, body
        got = s3.get_object(Bucket=bucket, Key="odd")
        assert got["Body"].read() == data
        assert got["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()


def test_streaming_tampered_chunk_stores_nothing(endpoint, creds, s3, bucket):
    old = os.urandom(1000)
    s3.put_object(Bucket=bucket, Key="tampered", Body=old)
    for chunk in (64 * 1024, 777):
        status, body = streaming_put(endpoint, creds, f"/{bucket}/tampered",
                                     os.urandom(300000), chunk=chunk, tamper=True)
        assert status == 403 and b"SignatureDoesNotMatch" in body
        assert s3.get_object(Bucket=bucket, Key="tampered")["Body"].read() == old


def test_streaming_short_body(endpoint, creds, s3, bucket):
    status, body = streaming_put(endpoint, creds, f"/{bucket}/short", b"x" * 1000,
                                 declared=2000)
    assert status == 400 and b"IncompleteBody" in body
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="short")


def test_unsigned_trailer_checksum(raw, s3, bucket):
    data = b"trailer body " * 1000
    crc = b64(zlib.crc32(data).to_bytes(4, "big"))

    def framed(value):
        return (f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n" +
                f"x-amz-checksum-crc32:{value}\r\n\r\n".encode())

    hdrs = {"Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32",
            "x-amz-decoded-content-length": str(len(data))}
    r = raw("PUT", f"/{bucket}/tr", headers=hdrs, body=framed(crc),
            payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    assert r.status == 200, r.body
    assert r.headers["x-amz-checksum-crc32"] == crc
    g = s3.get_object(Bucket=bucket, Key="tr", ChecksumMode="ENABLED")
    assert g["Body"].read() == data and g["ChecksumCRC32"] == crc
    r = raw("PUT", f"/{bucket}/tr2", headers=hdrs, body=framed(b64(b"\0\0\0\0")),
            payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    assert (r.status, r.error_code()) == (400, "BadDigest")


# ---- virtual-host style --------------------------------------------------------------

def test_virtual_host_style(raw, s3, bucket):
    host = f"{bucket}.{os.environ['COFFER_VHOST_DOMAIN']}"
    r = raw("PUT", "/dir/vh%20key", host=host, body=b"vhost")
    assert r.status == 200, r.body
    assert s3.get_object(Bucket=bucket, Key="dir/vh key")["Body"].read() == b"vhost"
    r = raw("GET", "/", host=host, query="list-type=2&prefix=dir%2F")
    assert r.status == 200
    doc = ET.fromstring(r.body)
    assert doc.findtext(f"{NS}Name") == bucket
    assert doc.findtext(f"{NS}Contents/{NS}Key") == "dir/vh key"
    r = raw("GET", "/", host=os.environ["COFFER_VHOST_DOMAIN"])     # the domain itself
    assert r.status == 200 and bucket.encode() in r.body


# ---- limits and Expect: 100-continue ----------------------------------------------

def test_entity_too_large_before_body(endpoint, creds, bucket):
    sock = send_headers(endpoint, creds, "PUT", f"/{bucket}/huge",
                         {"Content-Length": str(5 * 1024 ** 3 + 1), "Expect": "100-continue"})
    head = read_head(sock)
    sock.close()
    assert head.startswith(b"HTTP/1.1 400") and b"100 Continue" not in head


def test_expect_continue(endpoint, creds, s3, bucket):
    from botocore.credentials import Credentials
    wrong = Credentials(creds.access_key, "wrong-secret")
    sock = send_headers(endpoint, wrong, "PUT", f"/{bucket}/ec",
                         {"Content-Length": "5", "Expect": "100-continue"})
    head = read_head(sock)
    sock.close()
    assert head.startswith(b"HTTP/1.1 403"), head           # refused without the body
    sock = send_headers(endpoint, creds, "PUT", f"/{bucket}/ec",
                         {"Content-Length": "5", "Expect": "100-continue"})
    assert read_head(sock).startswith(b"HTTP/1.1 100")
    sock.sendall(b"hello")
    head = read_head(sock)
    sock.close()
    assert head.startswith(b"HTTP/1.1 200"), head
    assert s3.get_object(Bucket=bucket, Key="ec")["Body"].read() == b"hello"


def test_conditional_writes_are_honoured(raw, bucket):
    r = raw("PUT", f"/{bucket}/cw", body=b"x", headers={"If-Match": '"abc"'})
    assert (r.status, r.error_code()) == (404, "NoSuchKey")
    assert raw("PUT", f"/{bucket}/cw", body=b"x", headers={"If-None-Match": "*"}).status == 200
    for hdrs in [{"If-None-Match": "*"}, {"If-Match": '"abc"'}]:
        r = raw("PUT", f"/{bucket}/cw", body=b"y", headers=hdrs)
        assert (r.status, r.error_code()) == (412, "PreconditionFailed")
    r = raw("PUT", f"/{bucket}/cw", body=b"y", headers={"If-None-Match": '"abc"'})
    assert (r.status, r.error_code()) == (501, "NotImplemented")
    assert raw("GET", f"/{bucket}/cw").body == b"x"


def test_acl_headers(raw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="private", Body=b"x", ACL="private")
    for hdrs in [{"x-amz-acl": "public-read"}, {"x-amz-grant-read": "uri=x"}]:
        r = raw("PUT", f"/{bucket}/pub", body=b"x", headers=hdrs)
        assert (r.status, r.error_code()) == (501, "NotImplemented")
    assert raw("HEAD", f"/{bucket}/pub").status == 404
    r = raw("PUT", f"/{bucket}-pub", headers={"x-amz-acl": "public-read-write"})
    assert (r.status, r.error_code()) == (501, "NotImplemented")


def test_refused_upload_without_expect_gets_its_error(endpoint, creds):
    """A client that sends its body without waiting for 100 Continue still
    reads the S3 error (not a broken pipe), and the connection stays usable."""
    import http.client
    import urllib.parse
    from botocore.awsrequest import AWSRequest
    from conftest import RawSigV4
    u = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    body = os.urandom(4 * MiB)
    for _ in range(2):
        req = AWSRequest(method="PUT", url=endpoint + "/no-such-bucket-here/k", data=body,
                         headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
        RawSigV4(creds, "s3", os.environ.get("COFFER_REGION", "us-east-1")).add_auth(req)
        conn.request("PUT", "/no-such-bucket-here/k", body=body, headers=dict(req.headers.items()))
        r = conn.getresponse()
        assert r.status == 404 and b"<Code>NoSuchBucket</Code>" in r.read()
    conn.close()


def test_list_buckets_paging(raw, s3):
    base = "pg-" + os.urandom(4).hex()
    names = [f"{base}-{i}" for i in range(5)]
    for n in names:
        s3.create_bucket(Bucket=n)
    try:
        seen, token = [], None
        while True:
            q = f"prefix={base}&max-buckets=2" + (f"&continuation-token={token}" if token else "")
            r = raw("GET", "/", query=q)
            assert r.status == 200, r.body
            doc = ET.fromstring(r.body)
            page = [e.text for e in doc.iter(f"{NS}Name")]
            assert len(page) <= 2
            seen += page
            token = doc.findtext(f"{NS}ContinuationToken")
            if not token:
                break
        assert seen == names
    finally:
        for n in names:
            s3.delete_bucket(Bucket=n)


# ---- internal errors -----------------------------------------------------------------

def _shard_files():
    var = os.path.join(os.environ["COFFER_TMP"], "var")
    found = set()
    for disk in sorted(os.listdir(var)):
        top = os.path.join(var, disk, "objects")
        for root, _, files in os.walk(top):
            found.update(os.path.join(root, f) for f in files)
    return found


def test_unreadable_object_is_a_logged_5xx(raw, s3, bucket):
    """Beyond repair the client gets a 5xx with a RequestId, never wrong bytes,
    and cofferd's log names the same RequestId. Two blocks, so shard files
    (an object of one block is packed: doc/design.md, "Mid-size objects")."""
    import time
    before = _shard_files()
    s3.put_object(Bucket=bucket, Key="doomed", Body=os.urandom(1024 * 1024 + 1))
    new = sorted(_shard_files() - before)
    disks = sorted({p.split(os.sep + "objects" + os.sep)[0] for p in new})
    assert len(disks) >= 3, new
    for path in new:
        if path.split(os.sep + "objects" + os.sep)[0] in disks[:3]:
            os.unlink(path)
    r = raw("GET", f"/{bucket}/doomed")
    assert r.status in (500, 503), r.status
    rid = r.headers["x-amz-request-id"]
    assert ET.fromstring(r.body).findtext("RequestId") == rid
    for _ in range(50):
        with open(os.environ["COFFER_LOG"]) as f:
            if rid in f.read():
                break
        time.sleep(0.1)
    else:
        pytest.fail("RequestId not in cofferd's log")


def test_sse_c_needs_https(raw, bucket):
    """Customer keys over plain HTTP are refused (S3: InvalidRequest) unless
    sse_c.allow_http_on_loopback is set (conformance.sh sets it)."""
    key = os.urandom(32)
    r = raw("PUT", f"/{bucket}/c", body=b"x", headers={
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
        "x-amz-server-side-encryption-customer-key-MD5":
            base64.b64encode(hashlib.md5(key).digest()).decode()})
    assert (r.status, r.error_code()) == (400, "InvalidRequest")
    assert raw("HEAD", f"/{bucket}/c").status == 404
