#!/usr/bin/env bash
# tests/integration/test_rebuild_index.sh - coffer rebuild-index (issue
# 12.7) with a real cofferd (HTTPS, for SSE-C), boto3 and restic; the
# rebuild runs with --var once and with -c (the configuration) otherwise:
#   - boto3 writes versioned and unversioned buckets, overwrites, deletes,
#     delete markers, multipart objects, SSE-C objects, object lock
#     retention and legal hold, uploads left in progress (one with a lock
#     and tags), tags set and removed, and versions of storage class COLD
#     moved to a tier on a second cofferd (rebuild_client.py); restic
#     backs a tree up; cofferd restarts twice in between so journal files
#     are pruned (their live records carried);
#   - cofferd stops and the metadata directory and every snapshot are
#     deleted; --dry-run writes nothing; rebuild-index writes index.db,
#     its lock clock mark (meta.clock_hw_ms) the latest time its rows hold;
#   - cofferd starts on it: every listing (ListObjectVersions, markers,
#     uploads and parts, versioning, lock, storage classes, tags) equals
#     what it was, every version reads back byte for byte (the tiered ones
#     from the tier), restic check --read-data passes and a restore equals
#     the source; new writes work; the locked upload completes with its
#     retention, legal hold and tags;
#   - a tiered object deleted while the tier is down leaves its remote
#     delete queued; the rebuild queues it again (journal record version
#     4), and once the tier is back the remote object is deleted: the
#     remote holds what it held less that object;
#   - with an index.db present the rebuild goes beside it, never over it;
#   - a hostile journal: a torn tail and a flipped byte on some disks lose
#     nothing (the other disks' copies); a byte flipped on every disk is
#     reported, nothing crashes, and every version reads back exactly or is
#     absent, never as other bytes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tierlib.sh"
it_init rebuild_index
it_skip_unless restic
trap 'rc=$?; tier_remote_stop >/dev/null 2>&1; (exit $rc); it_cleanup' EXIT
COFFER_CLI=$(cd "$(dirname "$COFFERD")/../cli" && pwd)/coffer
py=$(coffer_python newest boto3)
client() { "$py" "$(dirname "$0")/rebuild_client.py" "$@"; }
one=$IT_WORK/one
var=$one/var
mkdir -p "$one"
src=$IT_WORK/src
it_gen_tree "$src" 300 "$(it_size 24 6)" 7

rebuild() {                # rebuild OUT ARGS...: run coffer rebuild-index
  local out=$1; shift
  timeout -k 5 300 "$COFFER_CLI" rebuild-index "$@" >"$out" 2>"$out.err"
  cat "$out"
}

admin() { "$COFFER_CLI" --endpoint "$COFFER_ENDPOINT" --cacert "$COFFER_CA" \
  --admin-key "$COFFER_ADMIN_ACCESS_KEY" --admin-secret "$COFFER_ADMIN_SECRET_KEY" "$@"; }
tiered() {                 # tiered N: wait until tier COLD holds N versions, settled
  local i
  for i in $(seq 1 300); do
    admin --json tier status COLD | "$py" -c 'import json, sys
s = json.load(sys.stdin); n = int(sys.argv[1])
busy = s["pending"] + s["uploading"] + s["restoring"] + s["remote_deletes"]
sys.exit(0 if s["objects"] == n and busy == 0 else 1)' "$1" && return 0
    sleep 0.2
  done
  echo "tier COLD did not settle at $1 versions" >&2
  return 1
}
remote_deletes() {         # remote_deletes: tier COLD's queued remote deletes
  admin --json tier status COLD | "$py" -c \
    'import json, sys; print(json.load(sys.stdin)["remote_deletes"])'
}

it_step "populate through boto3 and restic, with restarts (journal pruning)"
tier_remote_start "$IT_WORK/remote"
tier_bucket "$REMOTE_ENDPOINT" "$REMOTE_AK" "$REMOTE_SK" tier
export COFFER_CONFIG_EXTRA='{"lifecycle": {"interval_seconds": 1}}'
coffer_start https "$one"
export AWS_ACCESS_KEY_ID=$COFFER_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$COFFER_SECRET_KEY
admin tier add COLD --endpoint "$REMOTE_ENDPOINT" --bucket tier --prefix rebuild/ \
  --access-key "$REMOTE_AK" --secret-key "$REMOTE_SK" >/dev/null
client populate
client cold
tiered 5
it_restic restic init
(cd "$src" && it_restic restic backup --quiet --host coffer-test .)
coffer_stop_server
coffer_launch https
(cd "$src" && echo changed >>"$(find . -type f | head -1)" &&
  it_restic restic backup --quiet --host coffer-test .)
coffer_stop_server
coffer_launch https
client late
client state >"$IT_WORK/before.json"

it_step "a tiered object deleted with the tier down: its remote delete stays queued"
client remote | sort >"$IT_WORK/remote-before"
tier_remote_stop
client tiergone
it_expect_eq "remote deletes queued" 1 "$(remote_deletes)"
coffer_stop_server

it_step "delete the metadata directory and every snapshot"
rm -rf "$var/meta" "$var"/disk*/snapshots
cp -a "$one" "$IT_WORK/pristine"

it_step "--dry-run reads everything and writes nothing"
rebuild "$IT_WORK/dry.out" -c "$one/coffer.json" --dry-run
grep -q "^dry run: nothing written" "$IT_WORK/dry.out"
[ ! -e "$var/meta/index.db" ]
grep -q "rebuild-index: .*reading" "$IT_WORK/dry.out.err"

it_step "rebuild-index writes index.db"
rebuild "$IT_WORK/rebuild.out" --var "$var"
grep -q "^catalog .* 1 tenants, 1 access keys, 6 buckets" "$IT_WORK/rebuild.out"
grep -q "^tiers     4 versions in a tier" "$IT_WORK/rebuild.out"
grep -q "^remote    1 remote objects of deleted or overwritten tiered versions queued" \
  "$IT_WORK/rebuild.out"
grep -q "^keys .* 0 from their data alone" "$IT_WORK/rebuild.out"
grep -q "^wrote     $var/meta/index.db" "$IT_WORK/rebuild.out"
! grep -q "^LOST\|^WARNING" "$IT_WORK/rebuild.out"

it_step "the lock clock's mark is the latest time the rows record, not a retain-until date"
"$py" - "$var/meta/index.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
hw = db.execute("SELECT value FROM meta WHERE name = 'clock_hw_ms'").fetchone()
latest, until = db.execute(
    "SELECT max(t), (SELECT max(u) FROM (SELECT retain_until_ms u FROM objects UNION ALL "
    "SELECT retain_until_ms FROM versions)) FROM ("
    "SELECT max(mtime_ms, noncurrent_ms) t FROM versions UNION ALL "
    "SELECT mtime_ms FROM objects UNION ALL SELECT created_ms FROM uploads UNION ALL "
    "SELECT mtime_ms FROM parts)").fetchone()
assert hw is not None and hw[0] == latest and until > latest, (hw, latest, until)
PY

it_step "cofferd serves it, the remote delete queued again; the tier comes back"
coffer_launch https
it_expect_eq "remote deletes queued after the rebuild" 1 "$(remote_deletes)"
tier_remote_start "$IT_WORK/remote"

it_step "listings and bytes as before, restic check --read-data, the remote object deleted"
client state >"$IT_WORK/after.json"
diff "$IT_WORK/before.json" "$IT_WORK/after.json"
it_restic restic check --read-data
it_restic restic restore latest --target "$IT_WORK/restored" --quiet
it_same_tree "$src" "$IT_WORK/restored"
tiered 4
client remote | sort >"$IT_WORK/remote-after"
it_expect_eq "remote objects left that were not there before" "" \
  "$(comm -13 "$IT_WORK/remote-before" "$IT_WORK/remote-after")"
it_expect_eq "remote objects deleted" 1 \
  "$(comm -23 "$IT_WORK/remote-before" "$IT_WORK/remote-after" | wc -l)"
client write
client finish
coffer_stop_server

it_step "with index.db present, the rebuild goes beside it"
sum=$(sha256sum <"$var/meta/index.db")
rebuild "$IT_WORK/beside.out" -c "$one/coffer.json"
grep -q "beside the existing index.db" "$IT_WORK/beside.out"
it_expect_eq "index.db after a rebuild beside it" "$sum" "$(sha256sum <"$var/meta/index.db")"
ls "$var"/meta/index.db.rebuilt-* >/dev/null

it_step "hostile journal: a torn tail and a flipped byte on two disks lose nothing"
two=$IT_WORK/two
cp -a "$IT_WORK/pristine" "$two"
COFFER_TMP=$two coffer_write_config "$two/coffer.json" "$(coffer_free_port)" https
biggest() { ls -S "$1"/journal/*.log | head -1; }
f1=$(biggest "$two/var/disk1"); f2=$(biggest "$two/var/disk2")
truncate -s -3 "$f1"
"$py" - "$f2" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x40
open(p, "wb").write(b)
PY
rebuild "$IT_WORK/torn.out" -c "$two/coffer.json"
grep -q "^WARNING   the journal had [1-9]" "$IT_WORK/torn.out"
! grep -q "^LOST" "$IT_WORK/torn.out"
COFFER_TMP=$two COFFER_LOG=$two/cofferd.log COFFER_ACCESS_LOG=$two/access.log
coffer_launch https
client state >"$IT_WORK/torn.json"
diff "$IT_WORK/before.json" "$IT_WORK/torn.json"
coffer_stop_server

it_step "hostile journal: a byte flipped on every disk is reported, no wrong data"
three=$IT_WORK/three
cp -a "$IT_WORK/pristine" "$three"
COFFER_TMP=$three coffer_write_config "$three/coffer.json" "$(coffer_free_port)" https
"$py" - "$three/var" <<'PY'
import glob, os, sys
for d in sorted(glob.glob(sys.argv[1] + "/disk*")):
    files = sorted(glob.glob(d + "/journal/*.log"), key=os.path.getsize)
    p = files[-1]; b = bytearray(open(p, "rb").read()); b[len(b) // 3] ^= 0x01
    open(p, "wb").write(b)
PY
rebuild "$IT_WORK/flip.out" -c "$three/coffer.json"
grep -q "^WARNING   the journal had [1-9]" "$IT_WORK/flip.out"
COFFER_TMP=$three COFFER_LOG=$three/cofferd.log COFFER_ACCESS_LOG=$three/access.log
coffer_launch https
client probe "$IT_WORK/before.json"
coffer_stop_server
COFFER_TMP=$one
it_done
