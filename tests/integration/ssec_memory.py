"""Part of conformance.sh: a customer key (SSE-C) is never kept in
cofferd's memory once its requests are done.

Two fresh customer keys go through every call that takes one (PUT, GET,
HEAD, a wrong key, CopyObject with a copy-source key and a destination
key, a multipart upload with UploadPartCopy from the SSE-C source), over
keep-alive connections that are then closed. Then every readable mapping
of cofferd (/proc/PID/mem) is searched for each key: the raw 32 bytes, its
base64 as sent in the header (the header's copies, the canonical request
that signs it, MD5 blocks of the key-MD5 check). A copy found is reported
with its mapping and the test fails.

What it found when written: libmicrohttpd's header buffer, our header
copies, the canonical request, the key-MD5 hash state, and vector
registers spilled onto a new shard-I/O thread's stack by the lazy PLT
resolver (the thread inherits the request thread's registers): hence
cofferd links with -z now."""
import base64
import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

pid = int(os.environ["COFFER_PID"])
s3 = boto3.client("s3", endpoint_url=os.environ["COFFER_ENDPOINT"],
                  aws_access_key_id=os.environ["COFFER_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["COFFER_SECRET_KEY"],
                  region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def ssec(key, prefix="SSECustomer"):
    return {prefix + "Algorithm": "AES256", prefix + "Key": key}


a, b = os.urandom(32), os.urandom(32)
data = os.urandom(5 * 1024 * 1024 + 11)
bucket = "ssec-memory"
s3.create_bucket(Bucket=bucket)
s3.put_object(Bucket=bucket, Key="one", Body=data, **ssec(a))
assert s3.get_object(Bucket=bucket, Key="one", **ssec(a))["Body"].read() == data
s3.head_object(Bucket=bucket, Key="one", **ssec(a))
try:
    s3.get_object(Bucket=bucket, Key="one", **ssec(b))
    raise AssertionError("a wrong customer key was accepted")
except ClientError as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403
s3.copy_object(Bucket=bucket, Key="two", CopySource={"Bucket": bucket, "Key": "one"},
               **ssec(a, "CopySourceSSECustomer"), **ssec(b))
up = s3.create_multipart_upload(Bucket=bucket, Key="three", **ssec(b))["UploadId"]
part = s3.upload_part_copy(Bucket=bucket, Key="three", UploadId=up, PartNumber=1,
                           CopySource={"Bucket": bucket, "Key": "one"},
                           **ssec(a, "CopySourceSSECustomer"), **ssec(b))
s3.complete_multipart_upload(Bucket=bucket, Key="three", UploadId=up, MultipartUpload={
    "Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]}, **ssec(b))
assert s3.get_object(Bucket=bucket, Key="three", **ssec(b))["Body"].read() == data
s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in
                                                  ("one", "two", "three")]})
s3.delete_bucket(Bucket=bucket)
s3.close()
time.sleep(0.5)                  # the server ends the closed connections

needles = {}
for name, k in (("key A", a), ("key B", b)):
    needles[name + " (raw)"] = k
    needles[name + " (base64)"] = base64.b64encode(k)

found = []
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        fields = line.split()
        lo, hi = (int(x, 16) for x in fields[0].split("-"))
        # unreadable, the kernel's, or a sanitizer's shadow (terabytes of
        # reserved zeros under ASan): nothing cofferd copied a key into
        if "r" not in fields[1] or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")) \
                or hi - lo > (1 << 30):
            continue
        try:
            mem.seek(lo)
            chunk = mem.read(hi - lo)
        except (OSError, ValueError, OverflowError):
            continue
        for what, n in needles.items():
            at = chunk.find(n)
            if at >= 0:
                found.append(f"{what} at {lo + at:#x} in {line.strip()}")

if found:
    print("FAIL: customer keys still in cofferd's memory:\n  " + "\n  ".join(found))
    sys.exit(1)
print("ok   no copy of either customer key in cofferd's memory")
