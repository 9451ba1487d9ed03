"""Maintenance through the admin CLI against a real cofferd: a shard file
lost from one disk still reads back (rebuilt from parity), `coffer heal`
writes it again, and `coffer gc` keeps a shard file no object refers to
while it is younger than the grace period, and for good when it is older
than the index (deleting orphans that are newer than the index is
tests/integration/test_index_loss.sh's, which can age an index)."""
import glob
import os
import subprocess
import time

COFFER = os.path.join(os.path.dirname(os.path.dirname(
    os.environ.get("COFFERD", "server/cofferd"))), "cli", "coffer")


def shard_files():
    var = os.path.join(os.environ["COFFER_TMP"], "var")
    return set(glob.glob(os.path.join(var, "disk*", "objects", "*", "*")))


def coffer(*args):
    cmd = [COFFER, "--endpoint", os.environ["COFFER_ENDPOINT"], "--admin-credentials",
           os.path.join(os.environ["COFFER_TMP"], "var", "admin-credentials"), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
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
    assert [line.split()[1] for line in disks[1:]] == ["online"] * 6
