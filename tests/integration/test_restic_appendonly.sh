#!/usr/bin/env bash
# tests/integration/test_restic_appendonly.sh - a ransomware-proof restic
# repository (README, "Ransomware-proof backups"): restic backs up with an
# append-only key that may delete only under locks/ (coffer key create
# TENANT --append-only --allow-delete-prefix locks/); `forget --prune`
# with that key is refused and destroys nothing (every delete outside
# locks/ answered 403, restic reports Access Denied and is stopped instead
# of waiting out its ~50 s of retries; every snapshot and pack is still
# there, check --read-data passes); with the tenant's full key the
# same forget --prune works. The bucket is the README's: object lock with a
# default retention, so every upload must carry a digest (restic sends
# Content-MD5) and a prune only adds delete markers. Small data: seconds,
# over plain HTTP.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
it_init restic-appendonly
it_skip_unless restic python3

snapshot_count() {        # snapshot_count BUCKET
  it_restic "$1" snapshots --json |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

object_count() {          # object_count PREFIX: objects under it, by the full key
  python3 - "$COFFER_ENDPOINT" "$bucket" "$1" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
n = 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2],
                                                           Prefix=sys.argv[3]):
    n += len(page.get("Contents", []))
print(n)
PY
}

it_server http
full_ak=$AWS_ACCESS_KEY_ID full_sk=$AWS_SECRET_ACCESS_KEY
bucket=restic-appendonly
export RESTIC_PASSWORD=coffer-test

it_step "a bucket with object lock and a default retention (README)"
python3 - "$COFFER_ENDPOINT" "$bucket" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
s3.create_bucket(Bucket=sys.argv[2], ObjectLockEnabledForBucket=True)
s3.put_object_lock_configuration(Bucket=sys.argv[2], ObjectLockConfiguration={
    "ObjectLockEnabled": "Enabled",
    "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
PY

it_step "an append-only key that may delete only under locks/"
read -r ao_ak ao_sk < <(coffer_cli key create dev --append-only --allow-delete-prefix locks/)
coffer_cli key list | grep "$ao_ak"

it_step "restic init and two backups with the append-only key"
export AWS_ACCESS_KEY_ID=$ao_ak AWS_SECRET_ACCESS_KEY=$ao_sk
it_gen_tree "$IT_WORK/src" 40 $((4 * MiB)) 7
it_restic "$bucket" init
(cd "$IT_WORK/src" && it_restic "$bucket" backup --quiet --host coffer-test .)
it_gen_file "$IT_WORK/src/new.bin" $((1 * MiB))
(cd "$IT_WORK/src" && it_restic "$bucket" backup --quiet --host coffer-test .)
it_expect_eq "snapshots" 2 "$(snapshot_count "$bucket")"
it_expect_eq "locks left behind (restic deleted its own)" 0 \
  "$(AWS_ACCESS_KEY_ID=$full_ak AWS_SECRET_ACCESS_KEY=$full_sk object_count locks/)"
export AWS_ACCESS_KEY_ID=$full_ak AWS_SECRET_ACCESS_KEY=$full_sk
before_snap=$(object_count snapshots/) before_data=$(object_count data/)
export AWS_ACCESS_KEY_ID=$ao_ak AWS_SECRET_ACCESS_KEY=$ao_sk

it_step "forget --prune with the append-only key: its deletes are refused, nothing is destroyed"
# restic 0.14 retries a refused request 10 times (~50 s of back-off, not
# configurable) before it gives up. The refusal is the server's answer, so
# the test waits for it instead: once restic has been answered 403 on a
# delete outside locks/ and has reported Access Denied, it is interrupted
# (SIGINT: restic drops its lock and exits non-zero).
deletes() {               # deletes -> "REFUSED DONE": DeleteObject(s) outside locks/
  python3 - "$COFFER_ACCESS_LOG" "$bucket" <<'PY'  # answered 403, answered 2xx
import json, sys
refused = done = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if (e["bucket"] == sys.argv[2] and e["op"].startswith("DeleteObject")
            and not (e["key"] or "").startswith("locks/")):
        refused += e["status"] == 403
        done += 200 <= e["status"] < 300
print(refused, done)
PY
}
restic -r "s3:$COFFER_ENDPOINT/$bucket" ${COFFER_CA:+--cacert "$COFFER_CA"} \
  forget --group-by host --keep-last 1 --prune >"$IT_WORK/forget.out" 2>&1 &
forget_pid=$!
for _ in $(seq 1 150); do     # up to ~30 s; restic's first retry comes within ~1 s
  read -r refused done < <(deletes)
  grep -q "Access Denied" "$IT_WORK/forget.out" && [ "$refused" -ge 2 ] && break
  kill -0 "$forget_pid" 2>/dev/null || break
  sleep 0.2
done
kill -INT "$forget_pid" 2>/dev/null || true
for _ in $(seq 1 50); do      # restic cleans up within ~10 s, else it is killed
  kill -0 "$forget_pid" 2>/dev/null || break
  sleep 0.2
done
kill -KILL "$forget_pid" 2>/dev/null || true
forget_rc=0
wait "$forget_pid" || forget_rc=$?
cat "$IT_WORK/forget.out"
[ "$forget_rc" -ne 0 ] || { echo "forget --prune succeeded with an append-only key" >&2; exit 1; }
grep -q "Access Denied" "$IT_WORK/forget.out" ||
  { echo "restic did not report the denial" >&2; exit 1; }
read -r refused done < <(deletes)
it_expect_eq "deletes outside locks/ that succeeded" 0 "$done"
[ "$refused" -ge 2 ] ||    # restic's delete and at least one retry, both refused
  { echo "cofferd refused $refused deletes outside locks/, expected 2 or more" >&2; exit 1; }
export AWS_ACCESS_KEY_ID=$full_ak AWS_SECRET_ACCESS_KEY=$full_sk
it_expect_eq "snapshot objects" "$before_snap" "$(object_count snapshots/)"
it_expect_eq "data packs" "$before_data" "$(object_count data/)"
it_restic "$bucket" unlock            # the interrupted run may leave its own lock
it_expect_eq "snapshots" 2 "$(snapshot_count "$bucket")"
it_restic "$bucket" check --read-data

it_step "with the full key, forget --prune works"
it_restic "$bucket" forget --group-by host --keep-last 1 --prune
it_expect_eq "snapshots after forget" 1 "$(snapshot_count "$bucket")"
it_restic "$bucket" check --read-data
it_restic "$bucket" restore latest --target "$IT_WORK/restored"
it_same_tree "$IT_WORK/src" "$IT_WORK/restored"

it_server_stop
it_done
