"""Client half of tls.sh: boto3 over HTTPS against cofferd."""
import hashlib
import os
import urllib.request
import ssl
import zlib
import base64

import boto3
import botocore
from botocore.config import Config

s3 = boto3.client("s3", endpoint_url=os.environ["COFFER_ENDPOINT"],
                  aws_access_key_id=os.environ["COFFER_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["COFFER_SECRET_KEY"],
                  region_name="us-east-1", verify=os.environ["COFFER_CA"],
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
print("boto3", boto3.__version__, "botocore", botocore.__version__)
s3.create_bucket(Bucket="tls")
data = os.urandom(3 * 1024 * 1024 + 5)
put = s3.put_object(Bucket="tls", Key="obj", Body=data, ChecksumAlgorithm="CRC32")
crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
assert put["ETag"] == '"%s"' % hashlib.md5(data).hexdigest(), put["ETag"]
got = s3.get_object(Bucket="tls", Key="obj", ChecksumMode="ENABLED")
assert got["Body"].read() == data
assert got.get("ChecksumCRC32") == crc
assert "ContentEncoding" not in got, got.get("ContentEncoding")

big = os.urandom(12 * 1024 * 1024)
path = os.path.join(os.environ["COFFER_TMP"], "big.bin")
with open(path, "wb") as f:
    f.write(big)
s3.upload_file(path, "tls", "big", Config=boto3.s3.transfer.TransferConfig(
    multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
assert s3.get_object(Bucket="tls", Key="big")["Body"].read() == big
assert s3.head_object(Bucket="tls", Key="big")["ETag"].endswith('-3"')

url = s3.generate_presigned_url("get_object", Params={"Bucket": "tls", "Key": "obj"})
ctx = ssl.create_default_context(cafile=os.environ["COFFER_CA"])
with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
    assert r.read() == data

# SSE-C over a real TLS listener (no sse_c switch in this configuration):
# PUT with the aws-chunked trailer boto3 sends over TLS, GET, HEAD, a wrong
# key, and UploadPartCopy from an SSE-C source into an SSE-C upload.
def ssec(key, prefix="SSECustomer"):
    return {prefix + "Algorithm": "AES256", prefix + "Key": key}


def status_of(call):
    try:
        call()
    except botocore.exceptions.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"]
    return 200


ck, other = os.urandom(32), os.urandom(32)
secret = os.urandom(6 * 1024 * 1024 + 3)
put = s3.put_object(Bucket="tls", Key="sec", Body=secret, ChecksumAlgorithm="CRC32", **ssec(ck))
assert put["SSECustomerAlgorithm"] == "AES256", put
assert s3.get_object(Bucket="tls", Key="sec", **ssec(ck))["Body"].read() == secret
assert s3.head_object(Bucket="tls", Key="sec", **ssec(ck))["ContentLength"] == len(secret)
assert status_of(lambda: s3.get_object(Bucket="tls", Key="sec", **ssec(other))) == 403
assert status_of(lambda: s3.get_object(Bucket="tls", Key="sec")) == 400
up = s3.create_multipart_upload(Bucket="tls", Key="seccopy", **ssec(other))["UploadId"]
parts = []
for n, rng in ((1, "bytes=0-5242879"), (2, "bytes=5242880-%d" % (len(secret) - 1))):
    r = s3.upload_part_copy(Bucket="tls", Key="seccopy", UploadId=up, PartNumber=n,
                            CopySource={"Bucket": "tls", "Key": "sec"}, CopySourceRange=rng,
                            **ssec(ck, "CopySourceSSECustomer"), **ssec(other))
    parts.append({"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]})
assert status_of(lambda: s3.upload_part_copy(
    Bucket="tls", Key="seccopy", UploadId=up, PartNumber=3,
    CopySource={"Bucket": "tls", "Key": "sec"}, **ssec(other))) == 400
s3.complete_multipart_upload(Bucket="tls", Key="seccopy", UploadId=up,
                             MultipartUpload={"Parts": parts}, **ssec(other))
assert s3.get_object(Bucket="tls", Key="seccopy", **ssec(other))["Body"].read() == secret
assert status_of(lambda: s3.get_object(Bucket="tls", Key="seccopy", **ssec(ck))) == 403

s3.delete_objects(Bucket="tls", Delete={"Objects": [{"Key": k} for k in
                                                    ("obj", "big", "sec", "seccopy")]})
s3.delete_bucket(Bucket="tls")
print("tls client: ok")
