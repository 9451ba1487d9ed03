"""The client side of tier_recover.sh (boto3): `write` puts the objects
that go to the tier (and one that stays local), waits until they are
tiered and records what each must read back as; `check` compares a
recovered server with that record; `restore` brings one object's local
copy back and waits for it; `local` reads it with the remote down."""
import hashlib
import json
import os
import sys

from tierutil import client, settled, wait_for

BUCKET = "vault"
# key: (size, multipart part size or 0)
OBJECTS = {"small": (100, 0), "mid/one": (300000, 0), "big/six": (6 * 1024 * 1024 + 5, 0),
           "mp/two-parts": (5 * 1024 * 1024 + 1000, 5 * 1024 * 1024),
           "deep/path/with spaces & marker": (70000, 0)}


def body(key, size):
    seed = hashlib.sha256(key.encode()).digest()
    out = bytearray()
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed * 64
    return bytes(out[:size])


def s3():
    return client(os.environ["COFFER_ENDPOINT"], os.environ["COFFER_ACCESS_KEY"],
                  os.environ["COFFER_SECRET_KEY"])


def write(record):
    c = s3()
    c.create_bucket(Bucket=BUCKET)
    for k, (size, part) in OBJECTS.items():
        data = body(k, size)
        extra = {"StorageClass": "COLD", "Metadata": {"who": k.split("/")[0]},
                 "ContentType": "application/x-test", "Tagging": f"kind={k.split('/')[0]}&n=1"}
        if not part:
            c.put_object(Bucket=BUCKET, Key=k, Body=data, **extra)
            continue
        up = c.create_multipart_upload(Bucket=BUCKET, Key=k, **extra)
        parts = []
        for i, off in enumerate(range(0, size, part), 1):
            r = c.upload_part(Bucket=BUCKET, Key=k, UploadId=up["UploadId"], PartNumber=i,
                              Body=data[off:off + part])
            parts.append({"PartNumber": i, "ETag": r["ETag"]})
        c.complete_multipart_upload(Bucket=BUCKET, Key=k, UploadId=up["UploadId"],
                                    MultipartUpload={"Parts": parts})
    c.put_object(Bucket=BUCKET, Key="local-only", Body=b"stays on the lost disks")
    settled("COLD", objects=len(OBJECTS), timeout=120)
    rec = {}
    for k in OBJECTS:
        h = c.head_object(Bucket=BUCKET, Key=k)
        assert h["StorageClass"] == "COLD", (k, h)
        rec[k] = {"etag": h["ETag"], "size": h["ContentLength"], "meta": h["Metadata"],
                  "type": h["ContentType"], "mtime": h["LastModified"].isoformat(),
                  "tags": sorted([t["Key"], t["Value"]] for t in
                                 c.get_object_tagging(Bucket=BUCKET, Key=k)["TagSet"])}
    json.dump(rec, open(record, "w"))
    print(f"write: {len(rec)} objects tiered, 1 local")


def check(record):
    c = s3()
    rec = json.load(open(record))
    listed = {o["Key"]: o for o in
              c.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert sorted(listed) == sorted(rec), f"listed {sorted(listed)}"
    for k, want in rec.items():
        h = c.head_object(Bucket=BUCKET, Key=k)
        got = {"etag": h["ETag"], "size": h["ContentLength"], "meta": h["Metadata"],
               "type": h["ContentType"], "mtime": h["LastModified"].isoformat(),
               "tags": sorted([t["Key"], t["Value"]] for t in
                              c.get_object_tagging(Bucket=BUCKET, Key=k)["TagSet"])}
        assert got == want, (k, got, want)
        assert h["StorageClass"] == "COLD" and listed[k]["StorageClass"] == "COLD", k
        data = body(k, OBJECTS[k][0])
        assert c.get_object(Bucket=BUCKET, Key=k)["Body"].read() == data, k
        if len(data) > 70000:
            r = c.get_object(Bucket=BUCKET, Key=k, Range="bytes=65000-131071")
            assert r["Body"].read() == data[65000:131072], k
    # a part of the recovered multipart object: its size is known again
    # (the part's own ETag and checksum are not in the remote header)
    part = c.get_object(Bucket=BUCKET, Key="mp/two-parts", PartNumber=2)
    whole = body("mp/two-parts", OBJECTS["mp/two-parts"][0])
    assert part["Body"].read() == whole[5 * 1024 * 1024:], "part 2"
    try:
        c.head_object(Bucket=BUCKET, Key="local-only")
        raise AssertionError("local-only came back: it was never in the tier")
    except c.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "404", e.response
    print(f"check: {len(rec)} objects read back byte for byte, with metadata and tags")


def restore():
    c = s3()
    c.restore_object(Bucket=BUCKET, Key="big/six", RestoreRequest={"Days": 1})
    wait_for("the restore of big/six",
             lambda: 'ongoing-request="false"' in
             c.head_object(Bucket=BUCKET, Key="big/six").get("Restore", ""), timeout=60)
    print("restore: big/six has a local copy again")


def local():
    c = s3()
    data = body("big/six", OBJECTS["big/six"][0])
    assert c.get_object(Bucket=BUCKET, Key="big/six")["Body"].read() == data
    print("local: big/six reads from the local copy with the remote down")


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode in ("write", "check"):
        globals()[mode](sys.argv[2])
    else:
        globals()[mode]()
