#!/usr/bin/env bash
# tests/integration/test_index_loss.sh - a missing or wrong index never
# destroys a set (issue 8), with a real cofferd and the real coffer CLI:
#   - objects are written, cofferd stops (a snapshot), more objects are
#     written and cofferd is killed (they are in no snapshot);
#   - starts that must be refused: master.key missing, meta_dir deleted
#     (embedded default), meta_dir an empty directory, meta_dir another
#     set's index (configuration file); each exits non-zero with the
#     message, and no file under the data directories changes (the whole
#     tree is digested before and after: contents, sizes, modes, mtimes);
#   - coffer restore-index brings the set back: every object of the
#     snapshot reads back byte for byte, the later objects' files stay
#     (their pack records: packing is on by default), and coffer gc
#     reports them instead of deleting them;
#   - GC: a forged burst of orphans newer than the index deletes nothing
#     (GC HELD, in coffer gc, coffer status and /metrics) until
#     --force-orphans;
#   - snapshot generations: restarts keep the newest three per disk and
#     never touch another lineage's file.
. "$(dirname "$0")/lib.sh"
it_init index_loss
COFFER_CLI=$(cd "$(dirname "$COFFERD")/../cli" && pwd)/coffer
py=$(coffer_python newest boto3)

# objects put|check|absent PREFIX: the PREFIX set of objects, bodies
# derived from their keys (a: inline, sharded and empty; b: sharded).
objects() {
  "$py" - "$@" <<'PY'
import hashlib, os, sys
import boto3, botocore
from botocore.config import Config
mode, prefix = sys.argv[1], sys.argv[2]
sizes = {"a": [0, 100, 70000, 300000, 2 * 1024 * 1024 + 7],
         "b": [200000, 300000, 400000], "c": [150000]}[prefix]
s3 = boto3.client("s3", endpoint_url=os.environ["COFFER_ENDPOINT"],
                  aws_access_key_id=os.environ["COFFER_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["COFFER_SECRET_KEY"],
                  region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
def body(key, size):
    out, i = bytearray(), 0
    while len(out) < size:
        out += hashlib.sha256(f"{key}/{i}".encode()).digest()
        i += 1
    return bytes(out[:size])
if mode == "put":
    try:
        s3.create_bucket(Bucket="loss")
    except botocore.exceptions.ClientError as e:
        if e.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise
for i, size in enumerate(sizes):
    key = f"{prefix}/{i}"
    if mode == "put":
        s3.put_object(Bucket="loss", Key=key, Body=body(key, size))
    elif mode == "check":
        got = s3.get_object(Bucket="loss", Key=key)["Body"].read()
        assert got == body(key, size), f"{key}: {len(got)} bytes differ from the {size} written"
    else:
        try:
            s3.head_object(Bucket="loss", Key=key)
            sys.exit(f"{key} exists, expected it to be absent")
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] in ("404", "NoSuchKey"), e
print(f"{mode} {prefix}: {len(sizes)} objects ok")
PY
}

# Digest of everything under DIR: names, types, modes, sizes, mtimes, contents.
tree_sum() {
  (cd "$1" && find . -printf '%p %y %m %s %T@\n' | LC_ALL=C sort &&
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) | sha256sum
}

# Shard files and pack files (packs/, storage/pack.h) under VAR's disks.
shard_count() {
  find "$1"/disk*/objects "$1"/disk*/packs -type f | wc -l
}

# expect_refused TREE PATTERN... -- CMD...: CMD exits non-zero (not by
# timeout), its stderr has every PATTERN, TREE is unchanged.
expect_refused() {
  local tree=$1 patterns=() before rc=0 p
  shift
  while [ "$1" != -- ]; do patterns+=("$1"); shift; done
  shift
  before=$(tree_sum "$tree")
  timeout -k 5 60 "$@" >"$IT_WORK/refused.out" 2>"$IT_WORK/refused.err" || rc=$?
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] ||
    { echo "expected a refusal, got exit $rc"; cat "$IT_WORK/refused.err"; return 1; }
  for p in "${patterns[@]}"; do
    grep -qF -- "$p" "$IT_WORK/refused.err" ||
      { echo "refusal lacks '$p':"; cat "$IT_WORK/refused.err"; return 1; }
  done
  it_expect_eq "digest of $tree after the refused start" "$before" "$(tree_sum "$tree")"
}

# A configuration file for the data under VAR with meta_dir META.
write_config() {           # write_config FILE VAR META
  "$py" - "$@" "$(coffer_cred "$2/admin-credentials" access_key)" \
    "$(coffer_cred "$2/admin-credentials" secret_key)" "$(coffer_free_port)" <<'PY'
import json, sys
path, var, meta, ak, sk, port = sys.argv[1:]
json.dump({"listen": f"127.0.0.1:{port}", "disks": [f"{var}/disk{i}" for i in range(1, 7)],
           "meta_dir": meta, "master_key_file": f"{var}/master.key",
           "admin": {"access_key": ak, "secret_key": sk}}, open(path, "w"), indent=2)
PY
}

field() {                  # field NAME < "name value" lines
  awk -v n="$1" '$1 == n {print $2}'
}

metric() {                 # metric NAME: its value on /metrics
  it_curl -H "Authorization: Bearer $(cat "$COFFER_TMP/var/metrics-token")" \
    "$COFFER_ENDPOINT/metrics" | field "$1"
}

one=$IT_WORK/one
var=$one/var
mkdir -p "$one" "$IT_WORK/other" "$IT_WORK/two"

it_step "write objects, stop (snapshot), write more, kill"
coffer_start http "$one"
objects put a
coffer_stop_server
for d in "$var"/disk*; do
  it_expect_eq "snapshots on $d after a stop" 1 "$(ls "$d"/snapshots/index-*.db | wc -l)"
done
coffer_launch http
objects put b
kill -KILL "$COFFER_PID"
wait "$COFFER_PID" 2>/dev/null || true
COFFER_PID=
files_with_b=$(shard_count "$var")
port=$(coffer_free_port)

it_step "master.key missing: refused, never regenerated"
mv "$var/master.key" "$IT_WORK/master.key"
expect_refused "$var" "master key file" "missing" -- \
  "$COFFERD" --var "$var" --listen "127.0.0.1:$port"
[ ! -e "$var/master.key" ]
mv "$IT_WORK/master.key" "$var/master.key"

it_step "meta_dir deleted (embedded default): refused, nothing changed"
rm -rf "$var/meta"
expect_refused "$var" "is missing" "/snapshots/index-" "objects" \
  "coffer restore-index --var $var" "rebuild-index" -- \
  "$COFFERD" --var "$var" --listen "127.0.0.1:$port"
[ ! -e "$var/meta" ]

it_step "meta_dir an empty directory (configuration file): refused"
mkdir "$IT_WORK/empty-meta"
write_config "$IT_WORK/empty.json" "$var" "$IT_WORK/empty-meta"
expect_refused "$one" "is missing" "/snapshots/index-" \
  "coffer restore-index -c $IT_WORK/empty.json" -- "$COFFERD" -c "$IT_WORK/empty.json"

it_step "meta_dir another set's index: refused, neither set changed"
coffer_start http "$IT_WORK/other"
coffer_stop_server
write_config "$IT_WORK/foreign.json" "$var" "$IT_WORK/other/var/meta"
other_before=$(tree_sum "$IT_WORK/other")
expect_refused "$one" "is the index of disk set" -- "$COFFERD" -c "$IT_WORK/foreign.json"
it_expect_eq "the other set after the refused start" "$other_before" \
  "$(tree_sum "$IT_WORK/other")"

it_step "coffer restore-index brings the set back"
COFFER_TMP=$one
timeout -k 5 300 "$COFFER_CLI" restore-index --var "$var" >"$IT_WORK/restore.out"
cat "$IT_WORK/restore.out"
grep -q "^holds     5 objects" "$IT_WORK/restore.out"
# b's three objects are of one block each, so packed (the default): one
# pack per disk, begun by the second run (18 shard files with packing off)
grep -q "^newer     6 shard or pack files" "$IT_WORK/restore.out"
it_must_fail timeout 60 "$COFFER_CLI" restore-index --var "$var"   # it is in place now
coffer_launch http
objects check a
objects absent b
it_expect_eq "shard files after the restore" "$files_with_b" "$(shard_count "$var")"
coffer_cli gc 60 >"$IT_WORK/gc.out"
it_expect_eq "orphans older than the index" 6 "$(field orphans_older_than_index <"$IT_WORK/gc.out")"
it_expect_eq "orphans deleted" 0 "$(field orphan_files <"$IT_WORK/gc.out")"
it_expect_eq "shard files after gc" "$files_with_b" "$(shard_count "$var")"
coffer_cli status | grep -q "^index since"
coffer_stop_server

it_step "a forged burst of orphans is held until --force-orphans"
two=$IT_WORK/two
coffer_start http "$two"
objects put c
coffer_stop_server
now=$(date +%s)
"$py" - "$two/var/meta/index.db" "$(((now - 7200) * 1000))" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE meta SET value = ? WHERE name = 'created_ms'", (int(sys.argv[2]),))
db.commit()
PY
"$py" - "$two/var" 150 "$((now - 3600))" <<'PY'
import os, sys
var, n, when = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    name = os.urandom(16).hex()
    path = f"{var}/disk{i % 6 + 1}/objects/{name[:2]}/{name}"
    open(path, "wb").write(b"forged orphan")
    os.utime(path, (when, when))
PY
burst=$(shard_count "$two/var")
coffer_launch http
coffer_cli gc 60 >"$IT_WORK/gc.out" 2>"$IT_WORK/gc.err"
grep -q "GC HELD" "$IT_WORK/gc.err"
it_expect_eq "orphans held" 150 "$(field orphans_held <"$IT_WORK/gc.out")"
it_expect_eq "orphans deleted" 0 "$(field orphan_files <"$IT_WORK/gc.out")"
it_expect_eq "shard files after a held gc" "$burst" "$(shard_count "$two/var")"
coffer_cli status | grep -q "^GC HELD"
it_expect_eq "orphans held on /metrics" 150 "$(metric coffer_gc_orphans_held)"
coffer_cli gc 60 --force-orphans >"$IT_WORK/gc.out"
it_expect_eq "orphans deleted with --force-orphans" 150 "$(field orphan_files <"$IT_WORK/gc.out")"
it_expect_eq "shard files after --force-orphans" $((burst - 150)) "$(shard_count "$two/var")"
objects check c
if coffer_cli status | grep -q "GC HELD"; then echo "still held after --force-orphans"; exit 1; fi
it_expect_eq "orphans held on /metrics after --force-orphans" 0 "$(metric coffer_gc_orphans_held)"
coffer_stop_server

it_step "snapshot generations across restarts: three per disk, other lineages kept"
foreign=$two/var/disk1/snapshots/index-0123456789abcdef0123456789abcdef-000000999999.db
cp "$(ls "$two"/var/disk1/snapshots/index-*.db | head -1)" "$foreign"
for round in 1 2 3 4; do
  coffer_launch http
  objects put c
  coffer_stop_server
done
for d in "$two"/var/disk*; do
  own=$(ls "$d"/snapshots/index-*.db | grep -vc 0123456789abcdef0123456789abcdef || true)
  it_expect_eq "generations on $d" 3 "$own"
done
[ -f "$foreign" ]
it_done
