"""kill -9 of cofferd at random moments under real clients (issue 12, "How
it is shown"); test_killloop.sh sets up the clients' sandbox and runs it.

Each iteration starts, at once and against one cofferd:
  - a restic backup of a tree that gains two small files each time;
  - an rclone sync of a window of files (new ones come, old ones go, so
    the sync also deletes);
  - boto3 multipart uploads (a 5 MiB part and a small one), one after the
    other, some aborted;
  - boto3 small PUTs and DELETEs of earlier ones;
then SIGKILLs cofferd after a random delay (up to KILL_MAX_DELAY seconds,
one time in five up to four times that; but within a random 0.25 s of
restic and rclone both being done, since from then on only the boto3
work runs, which the short delays cover), SIGKILLs the clients (nothing
in flight was acknowledged), restarts cofferd on the same directory and
checks, before the next iteration:
  - every acknowledged PUT and multipart object reads back exactly (all
    of them, after every kill, READERS GETs at once), every acknowledged
    DELETE stays deleted;
  - nothing partial is visible: every listed object (boto3's and rclone's
    buckets) reads back whole and equal to what its name says it holds,
    and is one a client sent;
  - after an rclone sync that finished, the bucket equals its source;
and every KILL_CHECK_EVERY iterations (and after the last):
  - restic check --read-data passes (it loads every snapshot file and
    reads every pack) and every snapshot restic reported saved is among
    the snapshot files (listed through S3, each named by its id);
  - with the clients stopped, `coffer gc 60` (the least grace cofferd
    accepts) and `coffer heal --all` leave every shard file and manifest
    the index refers to on its disks, and no other file older than the
    grace (the orphans and temp files of earlier kills are gone; those of
    the last minute GC may not touch yet), and `coffer scrub` reports no
    error and no orphan (it counts those older than an hour: with this
    loop's minutes, the file check above is the one that can fail).
Data is small and kill delays short, so that an iteration costs about a
second: KILL_ITERS iterations (make check-faults and make soak set it).
The summary says where an iteration's seconds went (SPENT); every 10 kills a
line gives each phase's seconds per kill over those 10 and what they grow
with (PHASES, GROWTH), so that a cost growing over a long soak shows where.
A failure names the iteration and the seed (KILL_SEED repeats a run's
choices; timing still differs).
"""
import glob
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import boto3
from botocore.config import Config

from cofferd_proc import CofferdProcess

MiB = 1 << 20
WORK = os.environ["IT_WORK"]
COFFERD = os.environ["COFFERD"]
CLI = os.environ["COFFER_CLI"]
PORT = int(os.environ["KILL_PORT"])
ITERS = int(os.environ.get("KILL_ITERS", "100"))
CHECK_EVERY = int(os.environ.get("KILL_CHECK_EVERY", "10"))
MAX_DELAY = float(os.environ.get("KILL_MAX_DELAY", "1.0"))
SEED = int(os.environ.get("KILL_SEED", str(int(time.time()))))
ENDPOINT = f"http://127.0.0.1:{PORT}"
VAR = f"{WORK}/var"
LOG = f"{WORK}/cofferd.log"
BUCKET, RCLONE_BUCKET, RESTIC_BUCKET = "killed", "killed-rclone", "killed-restic"


def say(*a):
    print(*a, flush=True)


def content(seed, size):
    """What an object named for (seed, size) holds."""
    return random.Random(seed).randbytes(size)


_digests = {}


def holds(body, seed, size):
    """Whether body is what the object named for (seed, size) holds (the
    digest of each is computed once: objects are read back every time)."""
    if (seed, size) not in _digests:
        _digests[(seed, size)] = hashlib.sha256(content(seed, size)).digest()
    return len(body) == size and hashlib.sha256(body).digest() == _digests[(seed, size)]


def cred(path, field):
    for line in open(path):
        if line.startswith(field + "="):
            return line.strip().split("=", 1)[1]
    raise KeyError(field)


class Server(CofferdProcess):
    def __init__(self):
        self.proc = None
        self.starts = []

    def start(self):
        t0 = time.monotonic()
        log = open(LOG, "ab")
        self.proc = subprocess.Popen([COFFERD, "--var", VAR, "--listen", f"127.0.0.1:{PORT}"],
                                     stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(ENDPOINT + "/health", timeout=2) as r:
                    if r.status == 200:
                        self.starts.append(time.monotonic() - t0)
                        return
            except Exception:
                pass
            time.sleep(0.05)
        os.system(f"tail -30 {LOG} >&2")
        raise AssertionError("cofferd did not come up")


def s3():
    return boto3.client("s3", endpoint_url=ENDPOINT, aws_access_key_id=AK,
                        aws_secret_access_key=SK, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"total_max_attempts": 1},
                                      connect_timeout=5, read_timeout=30))


def coffer(*args):
    p = subprocess.run([CLI, "--endpoint", ENDPOINT, "--admin-credentials",
                        f"{VAR}/admin-credentials", "--json", *args],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise AssertionError(f"coffer {' '.join(args)}: {p.stdout}{p.stderr}")
    return json.loads(p.stdout) if p.stdout.strip() else {}


def restic(*args, check=True):
    p = subprocess.run(["restic", "-r", f"s3:{ENDPOINT}/{RESTIC_BUCKET}", *args],
                       capture_output=True, text=True, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"restic {' '.join(args)}: {p.stdout[-2000:]}{p.stderr[-2000:]}")
    return p


# ---- what the clients were told ---------------------------------------------

class Ledger:
    """Keys by state: acked (PUT or completion answered 200), inflight
    (sent, no answer), deleted (DELETE answered 204), deleting (sent)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked, self.inflight, self.deleted, self.deleting = set(), set(), set(), set()

    def begin(self, key):
        with self.lock:
            self.inflight.add(key)

    def ack(self, key):
        with self.lock:
            self.inflight.discard(key)
            self.acked.add(key)

    def begin_delete(self, key):
        with self.lock:
            self.deleting.add(key)

    def ack_delete(self, key):
        with self.lock:
            self.deleting.discard(key)
            self.acked.discard(key)
            self.deleted.add(key)


def key_for(kind, seed, size):
    return f"{kind}/{seed}/{size}"


def parse_key(key):
    _, seed, size = key.split("/")
    return int(seed), int(size)


def put_delete_worker(c, stop, rng, ledger, stats):
    try:
        while not stop.is_set():
            seed, size = rng.getrandbits(48), rng.randrange(0, 200000)
            key = key_for("p", seed, size)
            ledger.begin(key)
            c.put_object(Bucket=BUCKET, Key=key, Body=content(seed, size))
            ledger.ack(key)
            stats["puts"] += 1
            with ledger.lock:
                live = sorted(k for k in ledger.acked if k.startswith("p/")
                              and k not in ledger.deleting)
            # about 30 live: a kill's in-flight PUT that landed anyway is
            # one more, so above 31 two go, or the read-back after every
            # kill would grow with the number of kills
            for victim in rng.sample(live, min(2, len(live) - 30)) if len(live) > 30 else []:
                ledger.begin_delete(victim)
                c.delete_object(Bucket=BUCKET, Key=victim)
                ledger.ack_delete(victim)
                stats["deletes"] += 1
    except Exception:
        pass                          # the server died under it


def multipart_worker(c, stop, rng, ledger, stats):
    try:
        while not stop.is_set():
            seed = rng.getrandbits(48)
            size = 5 * MiB + rng.randrange(1, 100000)
            key = key_for("m", seed, size)
            data = content(seed, size)
            up = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
            e1 = c.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=1,
                               Body=data[:5 * MiB])["ETag"]
            e2 = c.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=2,
                               Body=data[5 * MiB:])["ETag"]
            if rng.random() < 0.2:
                c.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=up)
                continue
            ledger.begin(key)
            c.complete_multipart_upload(
                Bucket=BUCKET, Key=key, UploadId=up,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                           {"PartNumber": 2, "ETag": e2}]})
            ledger.ack(key)
            stats["multipart"] += 1
            with ledger.lock:
                live = sorted(k for k in ledger.acked if k.startswith("m/")
                              and k not in ledger.deleting)
            if len(live) > 2:         # keep the data small: delete one
                victim = live[0]
                ledger.begin_delete(victim)
                c.delete_object(Bucket=BUCKET, Key=victim)
                ledger.ack_delete(victim)
                stats["deletes"] += 1
    except Exception:
        pass


# ---- the checks ----------------------------------------------------------------

def listed(c, bucket):
    keys = {}
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            keys[o["Key"]] = o["Size"]
    return keys


READERS = 4                           # GETs at once when reading back
_reader = threading.local()


def _read_back(bucket, key):
    """(bytes read, whether they are what key's name says) of bucket/key."""
    if not hasattr(_reader, "c"):
        _reader.c = s3()
    seed, want = parse_key(key)
    body = _reader.c.get_object(Bucket=bucket, Key=key)["Body"].read()
    return len(body), holds(body, seed, want)


def read_back(bucket, seen, it, stats, what):
    """Read every object of seen (key -> listed size) back whole, READERS
    at a time (cofferd's work for one overlaps the client's for another),
    and assert that each is what its name says it holds."""
    keys = sorted(seen)
    for key, (n, ok) in zip(keys, POOL.map(lambda k: _read_back(bucket, k), keys)):
        assert seen[key] == parse_key(key)[1] and ok, \
            f"iteration {it}: {what}{key} (listed {seen[key]} bytes) reads back {n} bytes, " \
            "not what was sent"
        stats["bytes_verified"] += n


def check_objects(c, ledger, it, stats):
    with phase("list"):
        seen = listed(c, BUCKET)
    with ledger.lock:
        acked, inflight = set(ledger.acked), set(ledger.inflight)
        deleted, deleting = set(ledger.deleted), set(ledger.deleting)
    for key in acked - deleting:
        assert key in seen, f"iteration {it}: acknowledged {key} is gone"
    for key in deleted:
        assert key not in seen, f"iteration {it}: deleted {key} is back"
    for key in seen:
        assert key in acked | inflight | deleting, f"iteration {it}: {key} was never sent"
    with phase("read_back"):
        read_back(BUCKET, seen, it, stats, "")
    GROWTH["objects"] = len(seen)
    # what is visible now is the truth the next iteration starts from
    with ledger.lock:
        ledger.acked = set(seen)
        ledger.deleted |= (inflight | deleting) - set(seen)
        ledger.inflight, ledger.deleting = set(), set()
    # completions a kill cut short may have landed: keep two multipart
    # objects at most, so that reading everything back stays cheap
    for key in sorted(k for k in seen if k.startswith("m/"))[2:]:
        c.delete_object(Bucket=BUCKET, Key=key)
        ledger.ack_delete(key)
        stats["deletes"] += 1


def rclone_names(it):
    """The sync's source: the files of the last 4 iterations, 3 each."""
    names = []
    for i in range(max(0, it - 3), it + 1):
        for j in range(3):
            seed = (SEED * 1000003 + i * 7 + j) & ((1 << 48) - 1)
            names.append((f"f/{seed}/{(seed % 50000) + 1}", seed, (seed % 50000) + 1))
    return names


def make_rclone_src(src, it):
    os.makedirs(src, exist_ok=True)
    want = {n for n, _, _ in rclone_names(it)}
    for path in glob.glob(f"{src}/f/*/*"):
        if os.path.relpath(path, src) not in want:
            os.unlink(path)
    for name, seed, size in rclone_names(it):
        path = f"{src}/{name}"
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(content(seed, size))
    return want


def check_rclone(c, it, synced, source, stats):
    with phase("rclone_check"):
        seen = listed(c, RCLONE_BUCKET)
        read_back(RCLONE_BUCKET, seen, it, stats, "rclone's ")
    if synced:
        assert set(seen) == source, \
            f"iteration {it}: after a finished sync the bucket differs from the source: " \
            f"{sorted(set(seen) ^ source)[:5]}"


def referenced():
    """The shard files and manifests the index refers to: name -> how many
    disks hold it (k + m less the missing ones; a manifest: every disk)."""
    db = sqlite3.connect(f"file:{VAR}/meta/index.db?mode=ro", uri=True)
    want = {}
    for name, missing in db.execute(
            "SELECT hex(data_id), missing FROM segments WHERE inline_data IS NULL UNION ALL "
            "SELECT hex(data_id), missing FROM parts WHERE inline_data IS NULL UNION ALL "
            "SELECT hex(version_id), 0 FROM objects WHERE nparts > 0"):
        want[name.lower()] = 6 - bin(missing).count("1")
    db.close()
    return want


GC_GRACE = 60                         # the least grace cofferd accepts


def check_no_orphan(it, stats):
    """After GC: every file the index refers to is there on its disks, and
    every other file (an orphan, a temp file) is younger than GC's grace:
    what GC was allowed to remove, it removed."""
    want = referenced()
    have, young = {}, 0
    now = time.time()
    for path in glob.glob(f"{VAR}/disk*/objects/*/*") + glob.glob(f"{VAR}/disk*/tmp/*"):
        name = os.path.basename(path)
        if os.path.basename(os.path.dirname(path)) != "tmp" and name in want:
            have[name] = have.get(name, 0) + 1
            continue
        age = now - os.stat(path).st_mtime
        assert age < GC_GRACE + 10, \
            f"iteration {it}: {path} ({age:.0f} s old) is an orphan GC left"
        young += 1
    wrong = {n: (want[n], have.get(n, 0)) for n in want if have.get(n, 0) != want[n]}
    assert not wrong, f"iteration {it}: shard files (wanted, found) differ: " \
        f"{list(wrong.items())[:5]}"
    stats["young_orphans_left"] = young


def deep_check(c, it, snapshots, stats):
    """With no client running: restic's own check, GC, heal, no orphan."""
    with phase("restic_check"):
        restic("unlock")
        restic("check", "--read-data")
    # the snapshot files check just loaded, each named by its id
    repo = listed(c, RESTIC_BUCKET)
    GROWTH["restic_files"], GROWTH["restic_mib"] = len(repo), sum(repo.values()) / MiB
    listed_snaps = {k.split("/", 1)[1] for k in repo if k.startswith("snapshots/")}
    missing = {s for s in snapshots if not any(x.startswith(s) for x in listed_snaps)}
    assert not missing, f"iteration {it}: restic snapshots {sorted(missing)} are gone"
    stats["restic_checks"] += 1
    # uploads a kill left open are no object; abort them (a DELETE too)
    for page in c.get_paginator("list_multipart_uploads").paginate(Bucket=BUCKET):
        for u in page.get("Uploads", []):
            c.abort_multipart_upload(Bucket=BUCKET, Key=u["Key"], UploadId=u["UploadId"])
    t_gc = time.monotonic()
    gc = coffer("gc", str(GC_GRACE))
    if gc.get("held"):
        # more leftovers than GC deletes unasked (a burst of kills mid-PUT,
        # 6 files each): what an operator is told to do then
        stats["gc_held"] += 1
        gc = coffer("gc", str(GC_GRACE), "--force-orphans")
    stats["orphans_removed"] += gc.get("orphan_files", 0)
    coffer("heal", "--all")
    check_no_orphan(it, stats)
    PHASES["gc_heal"] = PHASES.get("gc_heal", 0.0) + time.monotonic() - t_gc
    with phase("scrub"):
        r = coffer("scrub")
    bad = {k: r.get(k, 0) for k in ("crc_errors", "gcm_failures", "shards_missing",
                                    "shards_bad", "lost_objects", "orphans",
                                    "repair_failures")}
    assert not any(bad.values()), f"iteration {it}: scrub found {bad}"
    stats["orphan_checks"] += 1


SERVER = Server()
POOL = ThreadPoolExecutor(READERS)
# where an iteration's seconds go: writing the clients' files and starting
# them, their work until the kill, stopping them, cofferd's restart and
# readiness, the checks after every kill, those every CHECK_EVERY
SPENT = dict(setup=0.0, work=0.0, stop=0.0, restart=0.0, check=0.0, deep_check=0.0)
# within check and deep_check: listing the boto3 bucket and reading it back,
# the same for rclone's, restic check --read-data, gc + heal + the file
# check, scrub; and what they grow with (GROWTH: objects read back after
# the last kill, the restic repository's files and MiB, cofferd's index and
# journal at the last restart). Every 10 kills the loop prints each phase's
# seconds per kill over those 10, so a cost that grows over a long run
# shows where it grows.
PHASES = {}
GROWTH = {}


@contextmanager
def phase(name):
    t = time.monotonic()
    try:
        yield
    finally:
        PHASES[name] = PHASES.get(name, 0.0) + time.monotonic() - t


def var_sizes():
    """MiB of cofferd's index (with its WAL) and of the journals on its disks."""
    def mib(paths):
        return sum(os.path.getsize(p) for p in paths if os.path.isfile(p)) / MiB
    return (mib(glob.glob(f"{VAR}/meta/index.db*")),
            mib(glob.glob(f"{VAR}/disk*/journal*") + glob.glob(f"{VAR}/disk*/journal/*")))


def window(last):
    """Seconds per kill of each phase since the last call (last: the totals
    then), and what they grow with."""
    now = dict(SPENT, **PHASES)
    n = CHECK_EVERY
    per = " ".join(f"{k} {(v - last.get(k, 0.0)) / n:.2f}" for k, v in now.items())
    grow = " ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                    for k, v in GROWTH.items())
    return now, f"per kill over the last {n}: {per}; {grow}"


def cpu_s():
    """CPU seconds of this process, its threads and its waited-for children
    (cofferd, restic, rclone, coffer): less noisy than wall time on a shared
    machine."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main():
    global AK, SK
    rng = random.Random(SEED)
    say(f"kill loop: {ITERS} iterations, full checks every {CHECK_EVERY}, kill within "
        f"{MAX_DELAY} s, seed {SEED}")
    server = SERVER
    server.start()
    AK, SK = cred(f"{VAR}/dev-credentials", "access_key"), cred(f"{VAR}/dev-credentials",
                                                                 "secret_key")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK)
    os.environ.update(AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK)
    rclone_conf = f"{WORK}/rclone.conf"
    with open(rclone_conf, "w") as f:
        f.write(f"[c]\ntype = s3\nprovider = Other\nenv_auth = false\n"
                f"access_key_id = {AK}\nsecret_access_key = {SK}\nendpoint = {ENDPOINT}\n"
                "region = us-east-1\nforce_path_style = true\n")
    c = s3()
    # one client per worker for the whole run (its pool opens a new
    # connection where a kill cut one), so that a worker's requests start
    # as soon as it does
    clients = [s3(), s3()]
    for b in (BUCKET, RCLONE_BUCKET):
        c.create_bucket(Bucket=b)
    restic("init")
    restic_src, rclone_src = f"{WORK}/restic-src", f"{WORK}/rclone-src"
    os.makedirs(restic_src, exist_ok=True)
    ledger = Ledger()
    snapshots = set()
    stats = dict(puts=0, deletes=0, multipart=0, restic_ok=0, rclone_ok=0, bytes_verified=0,
                 restic_checks=0, orphan_checks=0, orphans_removed=0, gc_held=0,
                 young_orphans_left=0)
    t_start = time.monotonic()
    last = {}
    for it in range(1, ITERS + 1):
        t0 = time.monotonic()
        for j in range(2):
            size = rng.randrange(1, 60000)
            with open(f"{restic_src}/r-{it}-{j}", "wb") as f:
                f.write(content(rng.getrandbits(48), size))
        source = make_rclone_src(rclone_src, it)
        stop = threading.Event()
        threads = [threading.Thread(target=w, args=(wc, stop, random.Random(rng.getrandbits(64)),
                                                    ledger, stats))
                   for w, wc in ((put_delete_worker, clients[0]),
                                 (multipart_worker, clients[1]))]
        rp = subprocess.Popen(["restic", "-r", f"s3:{ENDPOINT}/{RESTIC_BUCKET}", "backup",
                               "--json", "--host", "kl", "."], cwd=restic_src,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        cp = subprocess.Popen(["rclone", "--config", rclone_conf, "sync", rclone_src,
                               f"c:{RCLONE_BUCKET}", "--retries", "1",
                               "--low-level-retries", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for t in threads:
            t.start()
        tw = time.monotonic()
        SPENT["setup"] += tw - t0
        # mostly early (cheap); one time in five late, so that backups and
        # syncs also finish, and are killed near their end
        late = rng.random() < 0.2
        deadline = tw + (rng.uniform(1.0, 4 * MAX_DELAY) if late
                         else rng.uniform(0.05, MAX_DELAY))
        # once restic and rclone are both done, only boto3's work is left,
        # which the early kills cover: the kill comes within a random 0.25 s
        tail = rng.uniform(0, 0.25)
        while time.monotonic() < deadline:
            if rp.poll() is not None and cp.poll() is not None:
                deadline = min(deadline, time.monotonic() + tail)
            time.sleep(0.01)
        tk = time.monotonic()
        SPENT["work"] += tk - tw
        server.kill()
        stop.set()
        restic_done = rp.poll() == 0
        synced = cp.poll() == 0
        for p in (rp, cp):
            if p.poll() is None:
                p.kill()
            p.wait()
        out = rp.stdout.read().decode(errors="replace")
        rp.stdout.close()
        if restic_done:
            for line in out.splitlines():
                if '"snapshot_id"' in line:
                    snapshots.add(json.loads(line)["snapshot_id"])
                    stats["restic_ok"] += 1
        stats["rclone_ok"] += synced
        for t in threads:
            t.join(timeout=60)
            assert not t.is_alive(), f"iteration {it}: a client thread hangs"
        t1 = time.monotonic()
        SPENT["stop"] += t1 - tk
        server.start()
        t2 = time.monotonic()
        SPENT["restart"] += t2 - t1
        GROWTH["index_mib"], GROWTH["journal_mib"] = var_sizes()
        check_objects(c, ledger, it, stats)
        check_rclone(c, it, synced, source, stats)
        t3 = time.monotonic()
        SPENT["check"] += t3 - t2
        if it % CHECK_EVERY == 0 or it == ITERS:
            deep_check(c, it, snapshots, stats)
            SPENT["deep_check"] += time.monotonic() - t3
        if it % 10 == 0 or it == ITERS:
            say(f"  {it} kills survived in {time.monotonic() - t_start:.0f} s "
                f"(load average {os.getloadavg()[0]:.1f}): {stats}")
            last, line = window(last)
            say(f"    {line}")
    server.stop()
    elapsed = time.monotonic() - t_start
    starts = sorted(server.starts)
    say(f"KILL LOOP: {ITERS} kill -9 of cofferd survived in {elapsed:.0f} s "
        f"({elapsed / ITERS:.2f} s each; restart median {starts[len(starts) // 2]:.2f} s); "
        f"acknowledged: {stats['puts']} PUTs, {stats['multipart']} multipart uploads, "
        f"{stats['deletes']} DELETEs, {stats['restic_ok']} restic snapshots, "
        f"{stats['rclone_ok']} rclone syncs; {stats['bytes_verified']} bytes read back and "
        f"verified; restic check --read-data {stats['restic_checks']} times, no orphan "
        f"{stats['orphan_checks']} times ({stats['orphans_removed']} removed by GC, held above "
        f"its bound {stats['gc_held']} times); per kill: "
        + ", ".join(f"{k} {v / ITERS:.2f} s" for k, v in SPENT.items())
        + f" (the deep check's every {CHECK_EVERY}); cpu {cpu_s():.0f} s; "
        f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))   # through the finally
    try:
        main()
    except AssertionError as e:
        say(f"FAIL: {e} (seed {SEED})")
        sys.exit(1)
    finally:
        if SERVER.proc and SERVER.proc.poll() is None:
            SERVER.proc.kill()        # a failed run leaves no cofferd behind
            SERVER.proc.wait()
