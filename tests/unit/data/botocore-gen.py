#!/usr/bin/env python3
# Regenerates the botocore-*.req/.authz vectors under tests/unit/data/ with
# botocore (an independent implementation), so that coffer's signer and
# verifier are checked against more than their own output. Run from this
# directory; the committed files are its output with botocore 1.43.
import datetime
import hashlib
from unittest import mock
from urllib.parse import quote, urlsplit

import io

import botocore.auth as auth
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SUITE = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
S3 = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
NOW = datetime.datetime(2015, 8, 30, 12, 36, 0)


def write(path, req, presigned=False):
    url = req.url
    split = urlsplit(url)
    target = split.path + ("?" + split.query if split.query else "")
    with open(path + ".req", "w", newline="\n") as f:
        f.write("%s %s HTTP/1.1\n" % (req.method, target))
        f.write("Host:%s\n" % split.netloc)
        for k, v in req.headers.items():
            if k.lower() != "authorization" and not (presigned and k == "Date"):
                f.write("%s:%s\n" % (k, v))
        f.write("\n")
        body = req.body or b""
        f.write(body.decode() if isinstance(body, bytes) else body)
    with open(path + ".authz", "w", newline="\n") as f:
        f.write(req.headers.get("Authorization", target) + "\n")


def sign(signer, method, url, headers=None, body=b"", context=None):
    req = AWSRequest(method=method, url=url, headers=headers or {}, data=body)
    req.context.update(context or {})
    with mock.patch.object(auth, "get_current_datetime", return_value=NOW):
        signer.add_auth(req)
    return req


def sigv4_suite():
    v4 = auth.SigV4Auth(SUITE, "service", "us-east-1")
    for name, path in [("get-space", "/example space/"), ("get-utf8", "/\u1234")]:
        # Non-S3 SigV4 encodes the path itself: pass it raw, as the suite does.
        req = sign(v4, "GET", "https://example.amazonaws.com" + path)
        write("sigv4/botocore-" + name, req)


def sigv4_s3():
    s3 = auth.S3SigV4Auth(S3, "s3", "us-east-1")
    key = quote("dir/a b+c~d%e&f=g \u00e9.txt", safe="/~")
    body = b"hello coffer"
    req = sign(s3, "PUT", "http://127.0.0.1:9000/bucket/" + key,
               {"Content-Type": "text/plain", "X-Amz-Meta-Mtime": "  1700000000.5  "},
               body)
    write("sigv4/botocore-s3-put-odd-key", req)
    req = sign(s3, "GET", "http://127.0.0.1:9000/bucket?list-type=2&prefix=a%20b%2Fc"
               "&continuation-token=x%2By%3D&delimiter=%2F&encoding-type=url")
    write("sigv4/botocore-s3-list", req)
    # The headers of botocore's default PutObject over HTTPS (the body is
    # chunked/botocore-unsigned-trailer.req).
    trailer = {"checksum": {"request_algorithm": {"in": "trailer",
                                                   "name": "crc32"}}}
    req = sign(s3, "PUT", "https://127.0.0.1:9000/bucket/obj",
               {"Content-Encoding": "aws-chunked",
                "X-Amz-Trailer": "x-amz-checksum-crc32",
                "X-Amz-Decoded-Content-Length": "3000",
                "Content-Length": "3057"}, context=trailer)
    write("sigv4/botocore-s3-put-trailer", req)
    q = auth.S3SigV4QueryAuth(S3, "s3", "us-east-1", expires=3600)
    req = sign(q, "GET", "http://127.0.0.1:9000/bucket/" + quote("my key.txt") +
               "?response-content-type=text%2Fplain")
    write("sigv4/botocore-s3-presign", req, presigned=True)


def sigv2():
    v2 = auth.HmacV1Auth(S3)
    with mock.patch.object(auth, "formatdate",
                           return_value="Sun, 30 Aug 2015 12:36:00 GMT"):
        req = AWSRequest(method="PUT", url="http://127.0.0.1:9000/bucket/" +
                         quote("dir/a b.txt") + "?uploadId=abc&partNumber=3",
                         headers={"Content-Type": "application/octet-stream",
                                  "Content-MD5": "XrY7u+Ae7tCTyyK7j1rNww==",
                                  "X-Amz-Meta-B": "two", "x-amz-meta-a": "one"},
                         data=b"hello world")
        v2.add_auth(req)
        write("sigv2/botocore-put-part", req)
        req = AWSRequest(method="GET", url="http://127.0.0.1:9000/bucket?acl")
        v2.add_auth(req)
        write("sigv2/botocore-get-acl", req)
    q = auth.HmacV1QueryAuth(S3, expires=3600)
    with mock.patch.object(q, "_get_date", return_value="1440941760"):
        req = AWSRequest(method="GET", url="http://127.0.0.1:9000/bucket/" +
                         quote("my key.txt") + "?response-content-disposition=attachment")
        q.add_auth(req)
        write("sigv2/botocore-presign", req, presigned=True)


def chunked():
    # What botocore >= 1.36 sends for PutObject over HTTPS:
    # STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer. 3000 bytes
    # in 1 KiB chunks; the .authz file holds the decoded length and the
    # trailer line.
    data = bytes(i * 7 % 251 for i in range(3000))
    body = AwsChunkedWrapper(io.BytesIO(data), checksum_cls=Crc32Checksum,
                             checksum_name="x-amz-checksum-crc32",
                             chunk_size=1024).read()
    crc = Crc32Checksum()
    crc.update(data)
    with open("chunked/botocore-unsigned-trailer.req", "wb") as f:
        f.write(body)
    with open("chunked/botocore-unsigned-trailer.authz", "w") as f:
        f.write("%d x-amz-checksum-crc32:%s\n" % (len(data), crc.b64digest()))


sigv4_suite()
sigv4_s3()
sigv2()
chunked()
