"""Maintenance through the admin CLI against a real cofferd: a shard file
lost from one disk still reads back (rebuilt from parity), `coffer heal`
writes it again, and `coffer gc` keeps a shard file no object refers to
while it is younger than the grace period, and for good when it is older
than the index (deleting orphans that are newer than the index is
tests/integration/test_index_loss.sh's, which can age an index). `coffer
drill` reads every object back through the S3 front end and checks it
(single PUTs, checksums, multipart ETags and composite checksums): it
passes on good data, and names the object and exits 1 when a stored ETag
no longer matches the bytes or an object cannot be read back."""
import glob
import json
import os
import sqlite3
import subprocess
import time

COFFER = os.path.join(os.path.dirname(os.path.dirname(
    os.environ.get("COFFERD", "server/cofferd"))), "cli", "coffer")


def shard_files():
    var = os.path.join(os.environ["COFFER_TMP"], "var")
    return set(glob.glob(os.path.join(var, "disk*", "objects", "*", "*")))


def coffer_run(*args):
    cmd = [COFFER, "--endpoint", os.environ["COFFER_ENDPOINT"], "--admin-credentials",
           os.path.join(os.environ["COFFER_TMP"], "var", "admin-credentials"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def coffer(*args):
    out = coffer_run(*args)
    assert out.returncode == 0, out.stderr
    return dict(line.split() for line in out.stdout.splitlines())


def test_heal_rewrites_a_lost_shard(s3, bucket):
    before = shard_files()
    data = os.urandom(3 * 1024 * 1024 + 5)
    s3.put_object(Bucket=bucket, Key="healme", Body=data)
    new = sorted(shard_files() - before)
    assert len(new) == 6                      # 4+2: one shard file per disk
    os.unlink(new[0])
    assert s3.get_object(Bucket=bucket, Key="healme")["Body"].read() == data
    stats = coffer("heal")
    assert int(stats["healed_segments"]) >= 1
    assert os.path.exists(new[0])
    os.unlink(new[1])                         # the rebuilt shard must be good
    os.unlink(new[2])
    assert s3.get_object(Bucket=bucket, Key="healme")["Body"].read() == data


def test_gc_keeps_young_orphans_and_those_older_than_the_index(s3, bucket):
    s3.put_object(Bucket=bucket, Key="live", Body=os.urandom(200000))
    live = shard_files()
    disk = sorted(glob.glob(os.path.join(os.environ["COFFER_TMP"], "var", "disk*")))[0]
    orphan = os.path.join(disk, "objects", "ab", "ab" * 16)
    with open(orphan, "wb") as f:
        f.write(b"left by a crash")
    stats = coffer("gc", "3600")
    assert os.path.exists(orphan)             # younger than the grace period
    old = time.time() - 7200                  # older than this index: not its leftover
    os.utime(orphan, (old, old))
    before = int(stats["orphans_older_than_index"])
    stats = coffer("gc", "3600")
    assert os.path.exists(orphan)
    assert int(stats["orphans_older_than_index"]) == before + 1
    assert int(stats["orphan_files"]) == 0
    assert live <= shard_files()
    os.unlink(orphan)


def drill(*args):
    out = coffer_run("--json", "drill", *args)
    return out.returncode, json.loads(out.stdout), out.stderr


def test_drill_reads_every_object_back_and_names_what_differs(s3, bucket):
    s3.put_object(Bucket=bucket, Key="small", Body=b"hello")
    s3.put_object(Bucket=bucket, Key="sha", Body=os.urandom(3 << 20),
                  ChecksumAlgorithm="SHA256")
    s3.put_object(Bucket=bucket, Key="crc32", Body=os.urandom(70000),
                  ChecksumAlgorithm="CRC32")
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="SHA256")
    parts = []
    for n, body in ((1, os.urandom(5 << 20)), (2, os.urandom(1000))):
        r = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=n,
                           Body=body, ChecksumAlgorithm="SHA256")
        parts.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]})
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": parts})
    rc, report, err = drill("--all", "--bucket", bucket)
    assert rc == 0, err
    assert (report["objects"], report["ok"], report["mismatches"], report["errors"]) == \
        (4, 4, 0, 0)
    rc, report, _ = drill("--sample", "2", "--bucket", bucket)
    assert rc == 0 and report["objects"] == 2
    # a stored ETag that no longer matches its bytes is a mismatch, named
    db = sqlite3.connect(os.path.join(os.environ["COFFER_TMP"], "var", "meta", "index.db"))
    db.execute("UPDATE objects SET etag = '\"00000000000000000000000000000000\"' "
               "WHERE key = CAST('sha' AS BLOB)")
    db.commit()
    db.close()
    rc, report, _ = drill("--all", "--bucket", bucket)
    assert rc == 1 and report["mismatches"] == 1
    assert [(f["key"], f["mismatch"]) for f in report["findings"]] == [("sha", True)]
    assert "ETag differs" in report["findings"][0]["what"]
    s3.delete_object(Bucket=bucket, Key="sha")
    # an object that cannot be read back (3 of its 6 shard files gone) is an
    # error; of two blocks, so in shard files (one block would be packed)
    before = shard_files()
    s3.put_object(Bucket=bucket, Key="lost", Body=os.urandom((1 << 20) + 1))
    for path in sorted(shard_files() - before)[:3]:
        os.unlink(path)
    rc, report, _ = drill("--all", "--bucket", bucket)
    assert rc == 1 and report["errors"] == 1 and report["mismatches"] == 0
    assert report["findings"][0]["key"] == "lost"
    s3.delete_object(Bucket=bucket, Key="lost")
    # the drill's keys are gone afterwards
    keys = coffer_run("key", "list").stdout
    assert "CFDRILL" not in keys
    # coffer status shows the last drill
    status = [line for line in coffer_run("status").stdout.splitlines()
              if line.startswith("last drill")]
    assert len(status) == 1 and " ago ok: " in status[0], status
    assert "read back: 3 match, 0 mismatch, 1 could not be read" in status[0], status


def test_scrub_finds_and_repairs_a_flipped_byte_and_keeps_its_report(s3, bucket):
    before = shard_files()
    s3.put_object(Bucket=bucket, Key="rot", Body=os.urandom(2 << 20))
    victim = sorted(shard_files() - before)[0]
    with open(victim, "r+b") as f:
        f.seek(4096 + 100)
        b = f.read(1)
        f.seek(4096 + 100)
        f.write(bytes([b[0] ^ 0x01]))
    out = coffer_run("--json", "scrub", "--tenant", "dev", "--bucket", bucket)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["crc_errors"] == 1 and report["segments_repaired"] == 1
    assert [(f["key"], f["repaired"]) for f in report["findings"]] == [("rot", True)]
    out = coffer_run("--json", "scrub", "--deep", "--tenant", "dev", "--bucket", bucket)
    report = json.loads(out.stdout)
    assert out.returncode == 0 and report["findings"] == [] and report["kind"] == "deep scrub"
    status = coffer_run("scrub", "status")
    assert status.returncode == 0 and "last report (deep scrub)" in status.stdout


def coffer_out(*args):
    cmd = [COFFER, "--endpoint", os.environ["COFFER_ENDPOINT"], "--admin-credentials",
           os.path.join(os.environ["COFFER_TMP"], "var", "admin-credentials"), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_usage_and_disks_commands(s3, bucket):
    import json

    def dev_usage():
        rows = [line.split() for line in coffer_out("usage", "dev").splitlines()[1:]]
        assert len(rows) == 1 and rows[0][0] == "dev"
        return int(rows[0][2]), int(rows[0][3])

    objects, stored = dev_usage()
    s3.put_object(Bucket=bucket, Key="u1", Body=b"x" * 1000)
    s3.put_object(Bucket=bucket, Key="u2", Body=os.urandom(300000))
    assert dev_usage() == (objects + 2, stored + 301000)
    s3.delete_object(Bucket=bucket, Key="u1")
    assert dev_usage() == (objects + 1, stored + 300000)
    doc = json.loads(coffer_out("--json", "usage"))
    dev = [u for u in doc["usage"] if u["tenant"] == "dev"][0]
    assert dev["objects"] == objects + 1 and dev["quota"] is None
    disks = coffer_out("disks").splitlines()
    assert disks[0].split()[:3] == ["DISK", "STATE", "USED"]
    assert [line.split()[1] for line in disks[1:-1]] == ["online"] * 6
    assert disks[-1].startswith("heal queue: ") and disks[-1].endswith(" segments")
    doc = json.loads(coffer_out("--json", "disks"))
    assert [d["replacing"] for d in doc["disks"]] == [False] * 6
    assert isinstance(doc["heal_pending"], int)
