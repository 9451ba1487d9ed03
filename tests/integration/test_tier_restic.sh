#!/usr/bin/env bash
# tests/integration/test_tier_restic.sh - a restic repository whose bulk
# data lives in a cold tier (a second cofferd on loopback): the lifecycle
# rules of `coffer lifecycle template restic`, applied with s3cmd, move
# every data/ pack to the tier while index/, snapshots/, keys/ and config
# stay local; then restic check --read-data and a restore compared byte
# for byte read the packs through the tier; forget --prune deletes packs,
# and the remote shrinks with them. restic's -o s3.storage-class=COLD and
# rclone's --s3-storage-class COLD send their uploads to the tier
# directly. Days are one second long here. TIER_TYPE=azure
# (test_tier_restic_azure.sh) puts the tier on Azurite instead: the same
# steps with the packs as blobs in an Azure container.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/tierlib.sh"
it_init tier-restic
it_skip_unless restic rclone s3cmd python3
export COFFER_CLI=${COFFER_CLI:-$(dirname "$COFFERD")/../cli/coffer}

TIER_TYPE=${TIER_TYPE:-s3}

remote_count() {          # objects the remote holds under the tier's prefix
  [ "$TIER_TYPE" = s3 ] || { tier_azure_count restic/; return; }
  python3 - "$REMOTE_ENDPOINT" "$REMOTE_AK" "$REMOTE_SK" <<'PY'
import sys, boto3
from botocore.config import Config
ep, ak, sk = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
n = 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="tier", Prefix="restic/"):
    n += len(page.get("Contents", []))
print(n)
PY
}

# "moved stayed" counts of BUCKET's objects: in COLD, and not; fails if a
# data/ pack is not in COLD or anything else is
classes() {               # classes BUCKET
  python3 - "$COFFER_ENDPOINT" "$COFFER_ACCESS_KEY" "$COFFER_SECRET_KEY" "$1" <<'PY'
import sys, boto3
from botocore.config import Config
ep, ak, sk, b = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
moved = stayed = wrong = 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b):
    for o in page.get("Contents", []):
        cold = o["StorageClass"] == "COLD"
        moved += cold
        stayed += not cold
        wrong += cold != o["Key"].startswith("data/")
print(moved, stayed, wrong)
PY
}

wait_moved() {            # wait_moved BUCKET: until every data/ pack is in COLD
  local i
  for i in $(seq 1 120); do
    read -r moved stayed wrong <<<"$(classes "$1")"
    [ "$wrong" = 0 ] && [ "$moved" -gt 0 ] && { wait_settled; return; }
    sleep 0.5
  done
  echo "data/ did not move to the tier: $moved moved, $wrong misplaced" >&2
  return 1
}

wait_settled() {          # until the tier has no queue
  local i q
  for i in $(seq 1 300); do
    q=$(coffer_cli --json tier status COLD | it_json 'd["queue"]')
    [ "$q" = 0 ] && return 0
    sleep 0.5
  done
  echo "the tier's queue did not drain" >&2
  return 1
}

src=$IT_WORK/src
it_step "generate the source tree"
it_gen_tree "$src" 300 "$(it_size 30 8)" 5
echo "source: $(it_tree_stats "$src") (files, bytes)"

if [ "$TIER_TYPE" = azure ]; then
  it_step "Azurite as the remote tier"
  trap 'rc=$?; set +e; azurite_stop "$IT_WORK/azurite"; (exit $rc); it_cleanup' EXIT
  tier_azure_start "$IT_WORK/azurite"
else
  it_step "a second cofferd as the remote tier"
  tier_remote_start "$IT_WORK/remote"
  trap 'rc=$?; set +e; tier_remote_stop; (exit $rc); it_cleanup' EXIT   # it_cleanup exits with $?
  tier_bucket "$REMOTE_ENDPOINT" "$REMOTE_AK" "$REMOTE_SK" tier
fi
export COFFER_CONFIG_EXTRA='{"lifecycle": {"day_seconds": 1, "interval_seconds": 1,
  "multipart_threshold": 5242880, "part_size": 5242880, "transitions": 4,
  "recheck_seconds": 2}}'
COFFER_MODE=http it_server http
if [ "$TIER_TYPE" = azure ]; then
  coffer_cli tier add COLD --type azure --endpoint "$AZURITE_ENDPOINT" \
    --account "$AZURITE_ACCOUNT" --container tier --prefix restic/ --account-key "$AZURITE_KEY"
else
  coffer_cli tier add COLD --endpoint "$REMOTE_ENDPOINT" --bucket tier --prefix restic/ \
    --access-key "$REMOTE_AK" --secret-key "$REMOTE_SK"
fi

bucket=restic-tier
it_step "restic init, and the restic template's rules applied with s3cmd"
it_restic "$bucket" init
coffer_cli lifecycle template restic --tier COLD --days 0 >"$IT_WORK/lifecycle.xml"
it_s3cmd setlifecycle "$IT_WORK/lifecycle.xml" "s3://$bucket"
it_s3cmd getlifecycle "s3://$bucket" | grep -q "restic-bulk-to-COLD"

it_step "restic backup; data/ moves to the tier, the rest stays"
(cd "$src" && it_restic "$bucket" backup --quiet --host coffer-test .)
wait_moved "$bucket"
read -r moved stayed wrong <<<"$(classes "$bucket")"
echo "in COLD: $moved packs; local: $stayed objects"
[ "$moved" -gt 0 ] && [ "$stayed" -gt 0 ] && [ "$wrong" = 0 ]
it_expect_eq "remote objects" "$moved" "$(remote_count)"

it_step "restic check --read-data and a restore read the packs through the tier"
it_restic "$bucket" check --read-data
it_restic "$bucket" restore latest --target "$IT_WORK/restore"
it_same_tree "$src" "$IT_WORK/restore"
rm -rf "$IT_WORK/restore"

it_step "second backup of a changed tree; forget --prune shrinks the remote"
cp -a "$src" "$IT_WORK/src2"
find "$IT_WORK/src2/d1" "$IT_WORK/src2/d2" -name 'file-*' -delete
it_gen_file "$IT_WORK/src2/d0/e0/new.bin" $((2 * MiB))
(cd "$IT_WORK/src2" && it_restic "$bucket" backup --quiet --host coffer-test .)
wait_moved "$bucket"
before=$(remote_count)
it_restic "$bucket" forget --group-by host --keep-last 1 --prune
wait_settled
after=$(remote_count)
echo "remote objects: $before before the prune, $after after"
[ "$after" -lt "$before" ]
read -r moved stayed wrong <<<"$(classes "$bucket")"
it_expect_eq "remote objects after the prune" "$moved" "$after"
it_restic "$bucket" check --read-data
it_restic "$bucket" restore latest --target "$IT_WORK/restore"
it_same_tree "$IT_WORK/src2" "$IT_WORK/restore"
rm -rf "$IT_WORK/restore" "$IT_WORK/src2"

it_step "restic -o s3.storage-class=COLD uploads straight to the tier"
bucket2=restic-class
it_restic "$bucket2" -o s3.storage-class=COLD init
(cd "$src" && it_restic "$bucket2" -o s3.storage-class=COLD backup --quiet --host t .)
wait_settled
read -r moved stayed wrong <<<"$(classes "$bucket2")"
[ "$moved" -gt 0 ]
it_restic "$bucket2" check --read-data

it_step "rclone --s3-storage-class COLD"
it_gen_file "$IT_WORK/one.bin" $((3 * MiB))
it_rclone mkdir coffer:rclone-tier
it_rclone copy --s3-storage-class COLD "$IT_WORK/one.bin" coffer:rclone-tier/
wait_settled
it_expect_eq "rclone's object class" COLD "$(it_aws2 s3api head-object --bucket rclone-tier \
  --key one.bin --query StorageClass --output text)"
it_rclone copyto coffer:rclone-tier/one.bin "$IT_WORK/back.bin"
it_same_file "$IT_WORK/one.bin" "$IT_WORK/back.bin"

it_server_stop
[ "$TIER_TYPE" = azure ] && azurite_stop "$IT_WORK/azurite" || tier_remote_stop
it_done
