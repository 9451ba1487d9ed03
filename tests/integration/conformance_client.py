"""Client half of conformance.sh: the S3 behaviour current SDKs rely on
(issue 15) through the boto3 that runs this script (the pyenv boto3 1.43
and Debian's 1.26 both run it), and raw signed requests for the error
paths and for what an older SDK cannot express. Every expected value is
computed here: CRC32 with zlib, CRC32C and CRC-64/NVME by a bit-reflected
table, composite checksums as S3 defines them.

A test is a function named t_*; each one runs, a failure is printed with
its traceback and the script exits 1 after the rest have run."""
import base64
import concurrent.futures
import hashlib
import http.client
import os
import sys
import traceback
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
import zlib

import boto3
import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ENDPOINT = os.environ["COFFER_ENDPOINT"]
U = urllib.parse.urlsplit(ENDPOINT)
CREDS = Credentials(os.environ["COFFER_ACCESS_KEY"], os.environ["COFFER_SECRET_KEY"])
MIB = 1 << 20
S3 = boto3.client("s3", endpoint_url=ENDPOINT, aws_access_key_id=CREDS.access_key,
                  aws_secret_access_key=CREDS.secret_key, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"},
                                retries={"max_attempts": 1}, signature_version="s3v4"))
BOTO_VERSION = tuple(int(x) for x in botocore.__version__.split(".")[:2])


def sdk_has(op, member):
    """Can this SDK express member on op (older ones cannot)?"""
    return member in S3.meta.service_model.operation_model(op).input_shape.members


# ---- checksums -----------------------------------------------------------

def _table(poly, width):
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        t.append(c)
    return t, (1 << width) - 1


_CRC = {"CRC32C": (_table(0x82F63B78, 32), 4),
        "CRC64NVME": (_table(0x9A6C9329AC4BC9B5, 64), 8)}


def crc_raw(algo, data):
    if algo == "CRC32":
        return (zlib.crc32(data) & 0xffffffff).to_bytes(4, "big")
    (t, mask), n = _CRC[algo]
    c = mask
    for b in data:
        c = t[(c ^ b) & 0xff] ^ (c >> 8)
    return (c ^ mask).to_bytes(n, "big")


def digest_raw(algo, data):
    if algo in ("SHA1", "SHA256"):
        return hashlib.new(algo.lower(), data).digest()
    return crc_raw(algo, data)


def b64(raw):
    return base64.b64encode(raw).decode()


# ---- raw requests ----------------------------------------------------------

class Raw:
    def __init__(self, status, headers, body):
        self.status, self.body = status, body
        self.headers = {k.lower(): v for k, v in headers}

    def code(self):
        return ET.fromstring(self.body).findtext("Code") if self.body else None

    def xml(self):
        root = ET.fromstring(self.body)
        for el in root.iter():                     # drop the namespace
            el.tag = el.tag.split("}")[-1]
        return root


class PathAsIs(SigV4Auth):
    def _normalize_url_path(self, path):
        return path


def raw(method, path, query="", headers=None, body=b""):
    headers = dict(headers or {})
    url = ENDPOINT + path + (f"?{query}" if query else "")
    headers.setdefault("x-amz-content-sha256", hashlib.sha256(body).hexdigest())
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    PathAsIs(CREDS, "s3", "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection(U.hostname, U.port, timeout=60)
    try:
        conn.putrequest(method, path + (f"?{query}" if query else ""),
                        skip_accept_encoding=True)
        for k, v in req.headers.items():
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body:
            conn.send(body)
        r = conn.getresponse()
        return Raw(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


def expect_error(r, status, code):
    assert (r.status, r.code()) == (status, code), (r.status, r.body[:300])
    root = r.xml()
    assert root.findtext("Message"), r.body
    assert root.findtext("RequestId") == r.headers.get("x-amz-request-id"), r.body


def client_error(fn, status, code):
    try:
        fn()
    except ClientError as e:
        got = (e.response["ResponseMetadata"]["HTTPStatusCode"],
               e.response["Error"].get("Code"))
        assert got == (status, code), got
        return e
    raise AssertionError(f"expected {status} {code}")


def new_bucket():
    name = "cf-" + uuid.uuid4().hex[:16]
    S3.create_bucket(Bucket=name)
    return name


def complete_xml(parts, extra=""):
    items = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag>{extra}</Part>"
                    for n, e in parts)
    return f"<CompleteMultipartUpload>{items}</CompleteMultipartUpload>".encode()


def mpu(bucket, key, chunks, **create):
    up = S3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    parts = []
    extra = {"ChecksumAlgorithm": create["ChecksumAlgorithm"]} \
        if "ChecksumAlgorithm" in create else {}
    for i, c in enumerate(chunks, 1):
        r = S3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=i, Body=c,
                           **extra)
        parts.append({"PartNumber": i, "ETag": r["ETag"]})
        for k in r:
            if k.startswith("Checksum") and k != "ChecksumType":
                parts[-1][k] = r[k]
    return up, parts


# ---- (1) retried CompleteMultipartUpload -----------------------------------

def t_retried_complete_answers_the_same_etag():
    b = new_bucket()
    p1, p2 = os.urandom(5 * MIB), os.urandom(1000)
    up, parts = mpu(b, "mp", [p1, p2])
    first = S3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up,
                                         MultipartUpload={"Parts": parts})
    again = S3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up,
                                         MultipartUpload={"Parts": parts})
    assert again["ETag"] == first["ETag"], (again["ETag"], first["ETag"])
    assert S3.get_object(Bucket=b, Key="mp")["Body"].read() == p1 + p2
    # another part list is not a retry
    r = raw("POST", f"/{b}/mp", f"uploadId={up}",
            body=complete_xml([(1, parts[0]["ETag"])]))
    expect_error(r, 404, "NoSuchUpload")
    # once the version it made is replaced, the upload is gone for good
    S3.put_object(Bucket=b, Key="mp", Body=b"newer")
    r = raw("POST", f"/{b}/mp", f"uploadId={up}",
            body=complete_xml([(p["PartNumber"], p["ETag"]) for p in parts]))
    expect_error(r, 404, "NoSuchUpload")


def t_reuploaded_part_completes_with_the_last():
    b = new_bucket()
    up = S3.create_multipart_upload(Bucket=b, Key="k")["UploadId"]
    S3.upload_part(Bucket=b, Key="k", UploadId=up, PartNumber=1, Body=b"first")
    e2 = S3.upload_part(Bucket=b, Key="k", UploadId=up, PartNumber=1, Body=b"second")["ETag"]
    S3.complete_multipart_upload(Bucket=b, Key="k", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e2}]})
    assert S3.get_object(Bucket=b, Key="k")["Body"].read() == b"second"


def t_part_sent_twice_the_one_finishing_last_wins():
    """Part 1 sent twice: A starts first and finishes last, B in between.
    The upload completes with A's part (the last to finish), as S3 does;
    B's ETag is no longer a part of it."""
    b = new_bucket()
    up = S3.create_multipart_upload(Bucket=b, Key="k")["UploadId"]
    data_a, data_b = os.urandom(300000), os.urandom(200000)
    path, query = f"/{b}/k", f"partNumber=1&uploadId={up}"
    req = AWSRequest(method="PUT", url=f"{ENDPOINT}{path}?{query}",
                     headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD",
                              "Content-Length": str(len(data_a))})
    PathAsIs(CREDS, "s3", "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection(U.hostname, U.port, timeout=60)
    conn.putrequest("PUT", f"{path}?{query}", skip_accept_encoding=True)
    for k, v in req.headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    conn.send(data_a[:1000])                  # A has begun ...
    e_b = S3.upload_part(Bucket=b, Key="k", UploadId=up, PartNumber=1,
                         Body=data_b)["ETag"]  # ... B starts and finishes ...
    conn.send(data_a[1000:])                  # ... then A finishes
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200, resp.status
    e_a = resp.getheader("ETag")
    conn.close()
    parts = S3.list_parts(Bucket=b, Key="k", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["ETag"]) for p in parts] == [(1, e_a)], parts
    r = raw("POST", f"/{b}/k", f"uploadId={up}", body=complete_xml([(1, e_b)]))
    expect_error(r, 400, "InvalidPart")
    S3.complete_multipart_upload(Bucket=b, Key="k", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e_a}]})
    assert S3.get_object(Bucket=b, Key="k")["Body"].read() == data_a


# ---- (5) conditional writes -------------------------------------------------

def t_conditional_put():
    b = new_bucket()
    if sdk_has("PutObject", "IfNoneMatch"):
        etag = S3.put_object(Bucket=b, Key="lock", Body=b"1", IfNoneMatch="*")["ETag"]
        client_error(lambda: S3.put_object(Bucket=b, Key="lock", Body=b"2", IfNoneMatch="*"),
                     412, "PreconditionFailed")
        client_error(lambda: S3.put_object(Bucket=b, Key="lock", Body=b"2", IfMatch='"00"'),
                     412, "PreconditionFailed")
        S3.put_object(Bucket=b, Key="lock", Body=b"3", IfMatch=etag)
    else:
        assert raw("PUT", f"/{b}/lock", headers={"If-None-Match": "*"}, body=b"1").status == 200
        etag = S3.head_object(Bucket=b, Key="lock")["ETag"]
        assert raw("PUT", f"/{b}/lock", headers={"If-Match": etag}, body=b"3").status == 200
    expect_error(raw("PUT", f"/{b}/lock", headers={"If-None-Match": "*"}, body=b"4"),
                 412, "PreconditionFailed")
    expect_error(raw("PUT", f"/{b}/none", headers={"If-Match": '"0"'}, body=b"4"),
                 404, "NoSuchKey")
    assert S3.get_object(Bucket=b, Key="lock")["Body"].read() == b"3"
    # hostile values: neither header parses as a list of tags
    for h in [{"If-Match": ""}, {"If-Match": '"' + "a" * 5000}, {"If-None-Match": "**"},
              {"If-Match": "*", "If-None-Match": "*"}]:
        r = raw("PUT", f"/{b}/lock", headers=h, body=b"5")
        assert r.status in (400, 412, 501), (h, r.status, r.body)
        expect_error(r, r.status, r.code())
    assert S3.get_object(Bucket=b, Key="lock")["Body"].read() == b"3"


def t_conditional_complete_copy_delete():
    b = new_bucket()
    S3.put_object(Bucket=b, Key="dst", Body=b"old")
    up, parts = mpu(b, "dst", [b"new"])
    r = raw("POST", f"/{b}/dst", f"uploadId={up}", headers={"If-None-Match": "*"},
            body=complete_xml([(1, parts[0]["ETag"])]))
    expect_error(r, 412, "PreconditionFailed")
    etag = S3.head_object(Bucket=b, Key="dst")["ETag"]
    r = raw("POST", f"/{b}/dst", f"uploadId={up}", headers={"If-Match": etag},
            body=complete_xml([(1, parts[0]["ETag"])]))
    assert r.status == 200, r.body
    assert S3.get_object(Bucket=b, Key="dst")["Body"].read() == b"new"
    # CopyObject destination
    S3.put_object(Bucket=b, Key="src", Body=b"src")
    r = raw("PUT", f"/{b}/dst", headers={"x-amz-copy-source": f"/{b}/src",
                                         "If-None-Match": "*"})
    expect_error(r, 412, "PreconditionFailed")
    r = raw("PUT", f"/{b}/fresh", headers={"x-amz-copy-source": f"/{b}/src",
                                           "If-None-Match": "*"})
    assert r.status == 200, r.body
    # DeleteObject If-Match
    r = raw("DELETE", f"/{b}/fresh", headers={"If-Match": '"00"'})
    expect_error(r, 412, "PreconditionFailed")
    etag = S3.head_object(Bucket=b, Key="fresh")["ETag"]
    assert raw("DELETE", f"/{b}/fresh", headers={"If-Match": etag}).status == 204
    client_error(lambda: S3.head_object(Bucket=b, Key="fresh"), 404, "404")


def t_eight_racing_lock_puts_one_wins():
    b = new_bucket()

    def one(i):
        return raw("PUT", f"/{b}/lockfile", headers={"If-None-Match": "*"},
                   body=f"owner {i}".encode() * 20000)

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        res = list(ex.map(one, range(8)))
    wins = [i for i, r in enumerate(res) if r.status == 200]
    assert len(wins) == 1, [(r.status, r.code()) for r in res]
    for r in res:
        if r.status != 200:
            assert (r.status, r.code()) in ((412, "PreconditionFailed"),
                                            (409, "ConditionalRequestConflict")), r.body
    got = S3.get_object(Bucket=b, Key="lockfile")["Body"].read()
    assert got == f"owner {wins[0]}".encode() * 20000


# ---- (7) small things -------------------------------------------------------

def t_metadata_empty_and_non_ascii():
    b = new_bucket()
    r = raw("PUT", f"/{b}/m", headers={"x-amz-meta-empty": "", "x-amz-meta-x": "1"},
            body=b"m")
    assert r.status == 200, r.body
    h = raw("HEAD", f"/{b}/m").headers
    assert h.get("x-amz-meta-empty") == "", h
    S3.put_object(Bucket=b, Key="u", Body=b"u", Metadata={"name": "=?UTF-8?B?w6lt?="})
    h = raw("HEAD", f"/{b}/u").headers
    assert h["x-amz-meta-name"] == "=?UTF-8?B?w6lt?=", h
    # hostile encoded words are kept as written, never crash
    for v in ["=?UTF-8?B?====?=", "=?X?Q?abc?=", "=?UTF-8?Q?=FF=FE?=", "=?" * 300]:
        r = raw("PUT", f"/{b}/h", headers={"x-amz-meta-v": v}, body=b"h")
        assert r.status == 200, (v, r.body)
        assert raw("HEAD", f"/{b}/h").headers["x-amz-meta-v"] == v


def t_aws_chunked_encoding_is_not_stored():
    b = new_bucket()
    S3.put_object(Bucket=b, Key="g", Body=b"x", ContentEncoding="gzip")
    assert S3.head_object(Bucket=b, Key="g")["ContentEncoding"] == "gzip"
    r = raw("PUT", f"/{b}/a", headers={"Content-Encoding": "aws-chunked"}, body=b"x")
    assert r.status == 200, r.body
    assert "content-encoding" not in raw("HEAD", f"/{b}/a").headers
    r = raw("PUT", f"/{b}/ag", headers={"Content-Encoding": "aws-chunked,gzip"}, body=b"x")
    assert raw("HEAD", f"/{b}/ag").headers.get("content-encoding") == "gzip"


def t_empty_continuation_token():
    b = new_bucket()
    S3.put_object(Bucket=b, Key="a", Body=b"")
    r = raw("GET", f"/{b}", "continuation-token=&list-type=2")
    expect_error(r, 400, "InvalidArgument")


def t_create_own_bucket_and_expected_owner():
    b = new_bucket()
    S3.create_bucket(Bucket=b)                       # us-east-1: 200
    owner = S3.list_buckets()["Owner"]["ID"]
    S3.put_object(Bucket=b, Key="o", Body=b"o", ExpectedBucketOwner=owner)
    client_error(lambda: S3.head_object(Bucket=b, Key="o", ExpectedBucketOwner="999999999999"),
                 403, "403")
    r = raw("GET", f"/{b}", "list-type=2", headers={"x-amz-expected-bucket-owner": "999999999999"})
    expect_error(r, 403, "AccessDenied")
    for bad in ["", "12", "x" * 2000, owner + " "]:
        r = raw("DELETE", f"/{b}/o", headers={"x-amz-expected-bucket-owner": bad})
        expect_error(r, 403, "AccessDenied")
    r = raw("PUT", f"/{b}/c", headers={"x-amz-copy-source": f"/{b}/o",
                                       "x-amz-source-expected-bucket-owner": "1"})
    expect_error(r, 403, "AccessDenied")
    assert S3.get_object(Bucket=b, Key="o")["Body"].read() == b"o"
    client_error(lambda: S3.head_object(Bucket=b, Key="c"), 404, "404")


def t_delete_bucket_aborts_uploads():
    b = new_bucket()
    up = S3.create_multipart_upload(Bucket=b, Key="left")["UploadId"]
    S3.upload_part(Bucket=b, Key="left", UploadId=up, PartNumber=1, Body=b"x")
    S3.put_object(Bucket=b, Key="o", Body=b"o")
    client_error(lambda: S3.delete_bucket(Bucket=b), 409, "BucketNotEmpty")
    S3.delete_object(Bucket=b, Key="o")
    S3.delete_bucket(Bucket=b)
    client_error(lambda: S3.head_bucket(Bucket=b), 404, "404")


# ---- (6) SSE ----------------------------------------------------------------

def t_sse_s3_headers_and_bucket_encryption():
    b = new_bucket()
    put = S3.put_object(Bucket=b, Key="e", Body=b"e", ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256"
    assert S3.head_object(Bucket=b, Key="e")["ServerSideEncryption"] == "AES256"
    up = S3.create_multipart_upload(Bucket=b, Key="m", ServerSideEncryption="AES256")
    assert up["ServerSideEncryption"] == "AES256"
    S3.abort_multipart_upload(Bucket=b, Key="m", UploadId=up["UploadId"])
    cp = S3.copy_object(Bucket=b, Key="c", CopySource={"Bucket": b, "Key": "e"},
                        ServerSideEncryption="AES256")
    assert cp["ServerSideEncryption"] == "AES256"
    client_error(lambda: S3.put_object(Bucket=b, Key="k", Body=b"k",
                                       ServerSideEncryption="aws:kms"),
                 501, "NotImplemented")
    expect_error(raw("PUT", f"/{b}/k", headers={"x-amz-server-side-encryption": "ROT13"},
                     body=b"k"), 400, "InvalidArgument")
    enc = S3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    S3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
         "BucketKeyEnabled": True}]})
    enc = S3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["BucketKeyEnabled"] is True
    client_error(lambda: S3.put_bucket_encryption(
        Bucket=b, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}),
        501, "NotImplemented")
    S3.delete_bucket_encryption(Bucket=b)
    enc = S3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]
    assert not enc["Rules"][0].get("BucketKeyEnabled")
    # hostile bodies
    for body in [b"", b"<ServerSideEncryptionConfiguration>", b"<a>" * 10000,
                 b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
                 b"<SSEAlgorithm>" + b"A" * 100000 + b"</SSEAlgorithm>"]:
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        r = raw("PUT", f"/{b}", "encryption", headers={"Content-MD5": md5}, body=body)
        assert r.status == 400 and r.code() == "MalformedXML", (r.status, r.body[:200])


def ssec_args(key, prefix="SSECustomer"):
    return {prefix + "Algorithm": "AES256", prefix + "Key": key}


def t_sse_c_put_get_head_copy_multipart():
    b = new_bucket()
    key, other = os.urandom(32), os.urandom(32)
    data = os.urandom(300000)
    put = S3.put_object(Bucket=b, Key="c", Body=data, **ssec_args(key))
    assert put["SSECustomerAlgorithm"] == "AES256"
    assert put["ETag"].strip('"') != hashlib.md5(data).hexdigest()
    got = S3.get_object(Bucket=b, Key="c", **ssec_args(key))
    assert got["Body"].read() == data and got["SSECustomerAlgorithm"] == "AES256"
    assert S3.head_object(Bucket=b, Key="c", **ssec_args(key))["ContentLength"] == len(data)
    client_error(lambda: S3.get_object(Bucket=b, Key="c"), 400, "InvalidRequest")
    client_error(lambda: S3.get_object(Bucket=b, Key="c", **ssec_args(other)),
                 403, "AccessDenied")
    client_error(lambda: S3.head_object(Bucket=b, Key="c"), 400, "400")
    S3.put_object(Bucket=b, Key="plain", Body=b"p")
    client_error(lambda: S3.get_object(Bucket=b, Key="plain", **ssec_args(key)),
                 400, "InvalidRequest")
    # copy: SSE-C source to a plain and to an SSE-C destination
    S3.copy_object(Bucket=b, Key="c2", CopySource={"Bucket": b, "Key": "c"},
                   **ssec_args(key, "CopySourceSSECustomer"))
    assert S3.get_object(Bucket=b, Key="c2")["Body"].read() == data
    S3.copy_object(Bucket=b, Key="c3", CopySource={"Bucket": b, "Key": "c"},
                   **ssec_args(key, "CopySourceSSECustomer"), **ssec_args(other))
    assert S3.get_object(Bucket=b, Key="c3", **ssec_args(other))["Body"].read() == data
    client_error(lambda: S3.copy_object(Bucket=b, Key="c4",
                                        CopySource={"Bucket": b, "Key": "c"}),
                 400, "InvalidRequest")
    # multipart
    up = S3.create_multipart_upload(Bucket=b, Key="m", **ssec_args(key))["UploadId"]
    p1, p2 = os.urandom(5 * MIB), b"tail"
    e1 = S3.upload_part(Bucket=b, Key="m", UploadId=up, PartNumber=1, Body=p1,
                        **ssec_args(key))["ETag"]
    client_error(lambda: S3.upload_part(Bucket=b, Key="m", UploadId=up, PartNumber=2,
                                        Body=p2), 400, "InvalidRequest")
    e2 = S3.upload_part(Bucket=b, Key="m", UploadId=up, PartNumber=2, Body=p2,
                        **ssec_args(key))["ETag"]
    S3.complete_multipart_upload(Bucket=b, Key="m", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert S3.get_object(Bucket=b, Key="m", **ssec_args(key))["Body"].read() == p1 + p2
    # hostile key headers
    good_md5 = b64(hashlib.md5(key).digest())
    for h in [{"x-amz-server-side-encryption-customer-algorithm": "AES256",
               "x-amz-server-side-encryption-customer-key": b64(key[:16]),
               "x-amz-server-side-encryption-customer-key-MD5": good_md5},
              {"x-amz-server-side-encryption-customer-algorithm": "AES256",
               "x-amz-server-side-encryption-customer-key": "!!notbase64!!",
               "x-amz-server-side-encryption-customer-key-MD5": good_md5},
              {"x-amz-server-side-encryption-customer-algorithm": "AES256",
               "x-amz-server-side-encryption-customer-key": b64(key),
               "x-amz-server-side-encryption-customer-key-MD5": b64(b"0" * 16)},
              {"x-amz-server-side-encryption-customer-algorithm": "AES256"}]:
        expect_error(raw("PUT", f"/{b}/bad", headers=h, body=b"x"), 400, "InvalidArgument")
    expect_error(raw("PUT", f"/{b}/bad", headers={
        "x-amz-server-side-encryption-customer-algorithm": "DES",
        "x-amz-server-side-encryption-customer-key": b64(key),
        "x-amz-server-side-encryption-customer-key-MD5": good_md5}, body=b"x"),
        400, "InvalidEncryptionAlgorithmError")
    client_error(lambda: S3.head_object(Bucket=b, Key="bad"), 404, "404")


# ---- (2) partNumber reads ---------------------------------------------------

def t_part_number_get_and_head():
    b = new_bucket()
    p1, p2, p3 = os.urandom(5 * MIB), os.urandom(5 * MIB + 7), os.urandom(123)
    up, parts = mpu(b, "mp", [p1, p2, p3])
    S3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up,
                                 MultipartUpload={"Parts": parts})
    g = S3.get_object(Bucket=b, Key="mp", PartNumber=2)
    assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert g["Body"].read() == p2
    assert g["PartsCount"] == 3
    assert g["ContentRange"] == f"bytes {len(p1)}-{len(p1) + len(p2) - 1}/{len(p1 + p2 + p3)}"
    h = S3.head_object(Bucket=b, Key="mp", PartNumber=3)
    assert h["ContentLength"] == 123 and h["PartsCount"] == 3
    client_error(lambda: S3.get_object(Bucket=b, Key="mp", PartNumber=4),
                 416, "InvalidPartNumber")
    S3.put_object(Bucket=b, Key="one", Body=b"single")
    g = S3.get_object(Bucket=b, Key="one", PartNumber=1)
    assert g["Body"].read() == b"single" and g["ResponseMetadata"]["HTTPStatusCode"] == 206
    expect_error(raw("GET", f"/{b}/one", "partNumber=2"), 416, "InvalidPartNumber")
    for bad in ["0", "-1", "10001", "abc", "", "1" * 40]:
        r = raw("GET", f"/{b}/one", f"partNumber={bad}")
        expect_error(r, 400, "InvalidArgument")
    r = raw("GET", f"/{b}/one", "partNumber=1", headers={"Range": "bytes=0-1"})
    expect_error(r, 400, "InvalidRequest")


# ---- (3) GetObjectAttributes -------------------------------------------------

def t_get_object_attributes():
    b = new_bucket()
    chunks = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"end"]
    up, parts = mpu(b, "mp", chunks, ChecksumAlgorithm="SHA256")
    done = S3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up,
                                        MultipartUpload={"Parts": parts})
    a = S3.get_object_attributes(Bucket=b, Key="mp", MaxParts=2, ObjectAttributes=[
        "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"])
    assert a["ETag"] == done["ETag"].strip('"'), a
    assert a["ObjectSize"] == sum(map(len, chunks))
    assert a["StorageClass"] == "STANDARD"
    want = b64(hashlib.sha256(b"".join(hashlib.sha256(c).digest() for c in chunks)).digest())
    assert a["Checksum"]["ChecksumSHA256"] == want + "-3", a["Checksum"]
    op = a["ObjectParts"]
    assert op["TotalPartsCount"] == 3 and op["IsTruncated"] is True
    assert [p["PartNumber"] for p in op["Parts"]] == [1, 2]
    assert op["Parts"][0]["Size"] == 5 * MIB
    a2 = S3.get_object_attributes(Bucket=b, Key="mp", PartNumberMarker=op["NextPartNumberMarker"],
                                  ObjectAttributes=["ObjectParts"])
    assert [p["PartNumber"] for p in a2["ObjectParts"]["Parts"]] == [3]
    S3.put_object(Bucket=b, Key="one", Body=b"x")
    a = S3.get_object_attributes(Bucket=b, Key="one", ObjectAttributes=["ObjectSize", "ETag"])
    assert a["ObjectSize"] == 1 and "ObjectParts" not in a
    client_error(lambda: S3.get_object_attributes(Bucket=b, Key="nope",
                                                  ObjectAttributes=["ETag"]),
                 404, "NoSuchKey")
    r = raw("GET", f"/{b}/one", "attributes", headers={"x-amz-object-attributes": "ETag, ,ObjectSize,"})
    assert r.status == 200 and r.xml().findtext("ObjectSize") == "1", r.body
    for bad in ["", ",,,", "Bogus", "ETag,Bogus", "ETag," * 1000 + "X", "E" * 20000]:
        r = raw("GET", f"/{b}/one", "attributes", headers={"x-amz-object-attributes": bad})
        expect_error(r, 400, "InvalidArgument")
    expect_error(raw("GET", f"/{b}/one", "attributes"), 400, "InvalidArgument")


# ---- (4) checksum types -------------------------------------------------------

def create_upload_raw(b, key, algo, ctype):
    h = {"x-amz-checksum-algorithm": algo}
    if ctype:
        h["x-amz-checksum-type"] = ctype
    r = raw("POST", f"/{b}/{key}", "uploads", headers=h)
    assert r.status == 200, r.body
    return r.xml().findtext("UploadId"), r


def upload_part_raw(b, key, up, n, data, algo):
    r = raw("PUT", f"/{b}/{key}", f"partNumber={n}&uploadId={up}", body=data,
            headers={f"x-amz-checksum-{algo.lower()}": b64(digest_raw(algo, data))})
    assert r.status == 200, r.body
    return r.headers["etag"]


def t_checksum_types_every_algorithm():
    b = new_bucket()
    chunks = [os.urandom(5 * MIB), os.urandom(1234)]
    whole = b"".join(chunks)
    cases = [("CRC32", "FULL_OBJECT"), ("CRC32C", "FULL_OBJECT"), ("CRC64NVME", "FULL_OBJECT"),
             ("CRC32", "COMPOSITE"), ("CRC32C", "COMPOSITE"), ("SHA1", "COMPOSITE"),
             ("SHA256", "COMPOSITE"), ("CRC32", None)]
    for algo, ctype in cases:
        key = f"{algo}-{ctype}"
        up, r = create_upload_raw(b, key, algo, ctype)
        assert r.headers.get("x-amz-checksum-type") == (ctype or "COMPOSITE"), r.headers
        etags = [upload_part_raw(b, key, up, i, c, algo) for i, c in enumerate(chunks, 1)]
        if ctype == "FULL_OBJECT":
            want = b64(crc_raw(algo, whole))
        else:
            want = b64(digest_raw(algo, b"".join(digest_raw(algo, c) for c in chunks))) + "-2"
        tag = f"Checksum{algo}"
        parts_xml = "".join(
            f"<Part><PartNumber>{i}</PartNumber><ETag>{e}</ETag>"
            f"<{tag}>{b64(digest_raw(algo, c))}</{tag}></Part>"
            for i, (e, c) in enumerate(zip(etags, chunks), 1))
        body = f"<CompleteMultipartUpload>{parts_xml}</CompleteMultipartUpload>".encode()
        # a wrong object checksum is BadDigest and completes nothing
        wrong = b64(digest_raw(algo, b"not it"))
        hdr = f"x-amz-checksum-{algo.lower()}"
        r = raw("POST", f"/{b}/{key}", f"uploadId={up}", body=body,
                headers={hdr: wrong + ("" if ctype == "FULL_OBJECT" else "-2")})
        expect_error(r, 400, "BadDigest")
        r = raw("POST", f"/{b}/{key}", f"uploadId={up}", body=body, headers={hdr: want})
        assert r.status == 200, (key, r.body)
        x = r.xml()
        assert x.findtext(tag) == want, (key, r.body)
        assert x.findtext("ChecksumType") == (ctype or "COMPOSITE"), (key, r.body)
        h = raw("HEAD", f"/{b}/{key}", headers={"x-amz-checksum-mode": "ENABLED"}).headers
        assert h.get(hdr) == want and h.get("x-amz-checksum-type") == (ctype or "COMPOSITE"), h
        assert hdr not in raw("HEAD", f"/{b}/{key}").headers
        a = raw("GET", f"/{b}/{key}", "attributes",
                headers={"x-amz-object-attributes": "Checksum,ObjectParts"}).xml()
        assert a.find("Checksum").findtext(tag) == want, key
        assert a.find("Checksum").findtext("ChecksumType") == (ctype or "COMPOSITE")
        assert a.find("ObjectParts").find("Part").findtext(tag) == \
            b64(digest_raw(algo, chunks[0]))
    # S3's rules: no FULL_OBJECT for SHA, no COMPOSITE for CRC64NVME, no type alone
    for algo, ctype in [("SHA256", "FULL_OBJECT"), ("SHA1", "FULL_OBJECT"),
                        ("CRC64NVME", "COMPOSITE")]:
        r = raw("POST", f"/{b}/x", "uploads",
                headers={"x-amz-checksum-algorithm": algo, "x-amz-checksum-type": ctype})
        expect_error(r, 400, "InvalidRequest")
    for ctype in ["FULL_OBJECT", "full_object", "", "X" * 500]:
        r = raw("POST", f"/{b}/x", "uploads", headers={"x-amz-checksum-type": ctype})
        assert r.status == 400, (ctype, r.status)
    # ListParts carries the type and each part's checksum
    up, _ = create_upload_raw(b, "lp", "CRC32C", "FULL_OBJECT")
    upload_part_raw(b, "lp", up, 1, b"abc", "CRC32C")
    lp = raw("GET", f"/{b}/lp", f"uploadId={up}").xml()
    assert lp.findtext("ChecksumType") == "FULL_OBJECT", ET.tostring(lp)
    assert lp.find("Part").findtext("ChecksumCRC32C") == b64(crc_raw("CRC32C", b"abc"))


def sdk_has_crc64nvme():
    try:
        from awscrt import checksums
        return hasattr(checksums, "crc64nvme")
    except ImportError:
        return False


def t_sdk_full_object_checksums():
    """The 2025 SDKs' own path (boto3 >= 1.36): ChecksumType FULL_OBJECT on
    create and complete, CRC32 always, CRC32C and CRC64NVME where this
    botocore has the awscrt that computes them."""
    if not sdk_has("CreateMultipartUpload", "ChecksumType"):
        print("   (this boto3 has no ChecksumType: covered by the raw test)")
        return
    algos = ["CRC32"] + (["CRC32C", "CRC64NVME"] if sdk_has_crc64nvme() else [])
    if len(algos) == 1:
        print("   (no awscrt with CRC64NVME here: CRC32 only through the SDK)")
    b = new_bucket()
    chunks = [os.urandom(5 * MIB), os.urandom(777)]
    for algo in algos:
        up = S3.create_multipart_upload(Bucket=b, Key=algo, ChecksumAlgorithm=algo,
                                        ChecksumType="FULL_OBJECT")["UploadId"]
        parts = []
        for i, c in enumerate(chunks, 1):
            r = S3.upload_part(Bucket=b, Key=algo, UploadId=up, PartNumber=i, Body=c,
                               ChecksumAlgorithm=algo)
            parts.append({"PartNumber": i, "ETag": r["ETag"],
                          f"Checksum{algo}": r[f"Checksum{algo}"]})
        want = b64(crc_raw(algo, b"".join(chunks)))
        done = S3.complete_multipart_upload(Bucket=b, Key=algo, UploadId=up,
                                            ChecksumType="FULL_OBJECT",
                                            MultipartUpload={"Parts": parts},
                                            **{f"Checksum{algo}": want})
        assert done[f"Checksum{algo}"] == want and done["ChecksumType"] == "FULL_OBJECT"
        h = S3.head_object(Bucket=b, Key=algo, ChecksumMode="ENABLED")
        assert h[f"Checksum{algo}"] == want and h["ChecksumType"] == "FULL_OBJECT", h
        g = S3.get_object(Bucket=b, Key=algo, ChecksumMode="ENABLED")
        assert g["Body"].read() == b"".join(chunks)
        lp_up = S3.create_multipart_upload(Bucket=b, Key="lp", ChecksumAlgorithm=algo,
                                           ChecksumType="FULL_OBJECT")["UploadId"]
        lp = S3.list_parts(Bucket=b, Key="lp", UploadId=lp_up)
        assert lp["ChecksumType"] == "FULL_OBJECT" and lp["ChecksumAlgorithm"] == algo, lp
        S3.abort_multipart_upload(Bucket=b, Key="lp", UploadId=lp_up)


def main():
    tests = [(n, f) for n, f in globals().items() if n.startswith("t_") and callable(f)]
    only = sys.argv[1:]
    failed = 0
    for name, fn in tests:
        if only and name not in only:
            continue
        try:
            fn()
            print(f"ok   {name}", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL {name}", flush=True)
            traceback.print_exc()
    print(f"conformance ({sys.executable}, botocore {botocore.__version__}): "
          f"{len(tests) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
