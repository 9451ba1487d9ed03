#!/usr/bin/env bash
# tests/integration/tier_recover.sh - coffer tier recover (issue 10 point
# 5): the tier alone plus the master key is a recoverable copy. A cofferd
# moves objects (single PUTs, a multipart upload, metadata, tags, a
# 6 MiB one that goes up in parts) to a real remote (a second cofferd),
# then loses its disks and its index; a new cofferd on empty disks with
# only the old master key adds the same tier and runs `coffer tier
# recover`: every tiered object lists, HEADs, GETs (whole and ranged) and
# tags as before, the object that never tiered is gone, a second run adds
# nothing, an object of another program and a forged one under the
# prefix are counted and left alone, a restore (for one 10-minute day)
# writes the local copy back (read with the remote stopped), and nothing
# was deleted from the remote. TIER_TYPE=azure (tier_recover_azure.sh):
# the same with the tier on Azurite, listed with List Blobs.
set -u
here=$(cd "$(dirname "$0")" && pwd)
COFFERD=${COFFERD:-$(pwd)/server/cofferd}
export COFFERD COFFER_CLI=${COFFER_CLI:-$(pwd)/cli/coffer}
. "$here/lib.sh"
. "$here/tierlib.sh"
t0=$SECONDS
py=$(coffer_python debian boto3) || { echo "SKIP: no python3 with boto3" >&2; exit 77; }
export PYTHONPATH=$here
work=$(mktemp -d "${TMPDIR:-/tmp}/coffer-tierrec.XXXXXX")
cleanup() {
  coffer_stop >/dev/null 2>&1
  tier_remote_stop
  [ -z "${AZURITE_DIR:-}" ] || azurite_stop "$work/azurite" >/dev/null 2>&1
  [ "${KEEP_TMP:-0}" = 1 ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*" >&2; [ -z "${COFFER_LOG:-}" ] || tail -30 "$COFFER_LOG" >&2; exit 1; }

azure=0
[ "${TIER_TYPE:-s3}" != azure ] || azure=1
remote_objects() {        # the remote bucket's keys (or blobs), one a line
  if [ $azure = 1 ]; then
    tier__azure 'print("\n".join(a.names("", sizes=True)))'
    return
  fi
  "$py" - <<'PY'
import os
from tierutil import client
c = client(os.environ["REMOTE_ENDPOINT"], os.environ["REMOTE_AK"], os.environ["REMOTE_SK"])
for o in c.list_objects_v2(Bucket="tier").get("Contents", []):
    print(o["Key"], o["Size"], o["ETag"])
PY
}
put_foreign() {           # put_foreign NAME PYTHON-BYTES: an object not coffer wrote
  if [ $azure = 1 ]; then
    tier__azure "a.put(sys.argv[1], $2)" "$1"
    return
  fi
  "$py" - "$1" "$2" <<'PY'
import os, sys
from tierutil import client
c = client(os.environ["REMOTE_ENDPOINT"], os.environ["REMOTE_AK"], os.environ["REMOTE_SK"])
c.put_object(Bucket="tier", Key=sys.argv[1], Body=eval(sys.argv[2]))
PY
}

if [ $azure = 1 ]; then
  tier_azure_start "$work/azurite" || exit 1
else
  tier_remote_start "$work/remote" || exit 1
  tier_bucket "$REMOTE_ENDPOINT" "$REMOTE_AK" "$REMOTE_SK" tier || exit 1
fi
export COFFER_CONFIG_EXTRA='{"lifecycle": {"day_seconds": 600, "interval_seconds": 1,
  "multipart_threshold": 5242880, "part_size": 5242880, "transitions": 4}}'
add_tier() {
  if [ $azure = 1 ]; then
    tier_admin tier add COLD --type azure --endpoint "$AZURITE_ENDPOINT" \
      --account "$AZURITE_ACCOUNT" --container tier --prefix vault/ \
      --account-key "$AZURITE_KEY" >/dev/null || fail "tier add"
    return
  fi
  tier_admin tier add COLD --endpoint "$REMOTE_ENDPOINT" --bucket tier --prefix vault/ \
    --access-key "$REMOTE_AK" --secret-key "$REMOTE_SK" >/dev/null || fail "tier add"
}

echo "-- the first cofferd: objects go to the tier"
mkdir -p "$work/a"
coffer_start "$work/a" || exit 1
add_tier
"$py" "$here/tier_recover_client.py" write "$work/record.json" || fail "write"
coffer_stop_server || fail "stop"
remote_objects >"$work/remote-before"
[ "$(wc -l <"$work/remote-before")" = 5 ] || fail "the remote holds $(cat "$work/remote-before")"

echo "-- the disks and the index are lost; only the master key is left"
mkdir -p "$work/b/var"
cp "$work/a/var/master.key" "$work/b/var/master.key"
rm -rf "$work/a"
coffer_start "$work/b" || exit 1
"$py" - <<'PY' || fail "the new server is not empty"
import os
from tierutil import client
c = client(os.environ["COFFER_ENDPOINT"], os.environ["COFFER_ACCESS_KEY"],
           os.environ["COFFER_SECRET_KEY"])
assert not c.list_buckets()["Buckets"]
PY
add_tier

echo "-- another program's object and a forged one under the prefix"
put_foreign vault/README 'b"not coffer'"'"'s"' || fail "a foreign object"
put_foreign "vault/$(printf 'ab%.0s' $(seq 16))" 'b"COFTIER1" + bytes(8200)' ||
  fail "a forged object"

echo "-- coffer tier recover"
out=$(tier_admin tier recover COLD) || fail "tier recover: $out"
echo "$out"
grep -q "7 remote objects: 5 versions recovered, 0 known already, 0 left .*, 1 not coffer's, 1 unreadable" <<<"$out" ||
  fail "tier recover said: $out"
"$py" "$here/tier_recover_client.py" check "$work/record.json" || fail "check"
st=$(tier_admin --json tier status COLD) || fail "tier status"
grep -q '"objects": *5' <<<"$st" || fail "tier status after recover: $st"

echo "-- a second run adds nothing"
out=$(tier_admin tier recover COLD) || fail "second tier recover: $out"
grep -q "7 remote objects: 0 versions recovered, 5 known already" <<<"$out" ||
  fail "second tier recover said: $out"

echo "-- a restore writes the local copy back"
"$py" "$here/tier_recover_client.py" restore || fail "restore"

echo "-- nothing coffer wrote was deleted from the remote"
remote_objects | grep -v -e "vault/README" -e "vault/abab" >"$work/remote-after"
cmp -s "$work/remote-before" "$work/remote-after" ||
  fail "the remote changed: $(diff "$work/remote-before" "$work/remote-after")"

echo "-- the restored copy reads with the remote stopped"
if [ $azure = 1 ]; then azurite_stop "$work/azurite"; else tier_remote_stop; fi
"$py" "$here/tier_recover_client.py" local || fail "local read"
if grep '"status":5[0-9][0-9]' "$COFFER_ACCESS_LOG" >&2; then
  fail "cofferd answered 5xx (above)"
fi
coffer_stop || fail "stop"
echo "PASS: tier_recover.sh in $((SECONDS - t0)) s"
