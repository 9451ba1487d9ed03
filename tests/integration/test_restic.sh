#!/usr/bin/env bash
# tests/integration/test_restic.sh - restic 0.14 (minio-go) keeps a backup
# repository in cofferd, over plain HTTP (chunk-signed streaming uploads)
# and over HTTPS (unsigned payloads): init, backup of a generated tree
# (>= 300 MiB in 2,000 files; 40 MiB under sanitizers), check --read-data,
# snapshots (ListObjects V2 and V1), restore compared byte for byte with the
# source, a second backup of a changed tree, forget --prune, and a final
# check and restore of what is left.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
it_init restic
it_skip_unless restic python3

src=$IT_WORK/src
it_step "generate the source tree"
it_gen_tree "$src" 2000 "$(it_size 300 40)" 1
echo "source: $(it_tree_stats "$src") (files, bytes)"

snapshot_count() {        # snapshot_count BUCKET [RESTIC OPTIONS]
  local bucket=$1; shift
  it_restic "$bucket" snapshots --json "$@" |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

for mode in $(it_modes); do
  it_server "$mode"
  bucket=restic-$mode
  restored=$IT_WORK/restore-$mode

  it_step "restic init"
  it_restic "$bucket" init

  it_step "restic backup (first snapshot)"
  (cd "$src" && it_restic "$bucket" backup --quiet --host coffer-test .)

  it_step "restic check --read-data"
  it_restic "$bucket" check --read-data

  it_step "restic snapshots lists 1 snapshot (ListObjects V2, then V1)"
  it_expect_eq "snapshots (V2)" 1 "$(snapshot_count "$bucket")"
  it_expect_eq "snapshots (V1)" 1 "$(snapshot_count "$bucket" -o s3.list-objects-v1=true)"

  it_step "restic restore latest equals the source byte for byte"
  it_restic "$bucket" restore latest --target "$restored"
  it_same_tree "$src" "$restored"
  rm -rf "$restored"

  it_step "change the tree, second backup"
  cp -a "$src" "$IT_WORK/src2"
  find "$IT_WORK/src2/d1" -name 'file-*' -delete
  it_gen_file "$IT_WORK/src2/d0/e0/new.bin" $((3 * MiB))
  (cd "$IT_WORK/src2" && it_restic "$bucket" backup --quiet --host coffer-test .)
  it_expect_eq "snapshots" 2 "$(snapshot_count "$bucket")"

  it_step "restic forget --keep-last 1 --prune (one host, two paths: group by host)"
  it_restic "$bucket" forget --group-by host --keep-last 1 --prune
  it_expect_eq "snapshots after forget" 1 "$(snapshot_count "$bucket")"

  it_step "restic check --read-data after prune, restore equals the changed tree"
  it_restic "$bucket" check --read-data
  it_restic "$bucket" restore latest --target "$restored"
  it_same_tree "$IT_WORK/src2" "$restored"
  rm -rf "$restored" "$IT_WORK/src2"

  it_server_stop
done
it_done
