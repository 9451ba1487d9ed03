#!/usr/bin/env bash
# tests/integration/test_fixture.sh - data written by every earlier release
# opens with this build and reads back byte for byte (tests/fixtures/README.md).
# For each committed fixture: unpack its var/ into a scratch directory,
# start cofferd on it (the embedded default, as the release ran), read and
# check everything with test_fixture.py, write, restart (the disks then
# record the index's lineage), check again.
. "$(dirname "$0")/lib.sh"
it_init fixture
fixtures=$(cd "$(dirname "$0")/../fixtures" && pwd)
py=$(coffer_python newest boto3)
for dir in "$fixtures"/v*/; do
  release=$(basename "$dir")
  COFFER_MODE=$release
  tmp=$IT_WORK/$release
  mkdir -p "$tmp"
  tar -C "$tmp" -xzf "$dir/var.tar.gz"
  it_step "open data written by $(cat "$dir/release")"
  coffer_start http "$tmp"
  FIXTURE_MANIFEST=$dir/manifest.json PYTHONPATH=$fixtures "$py" "$fixtures/test_fixture.py" first
  it_step "restart on the same data"
  coffer_stop_server
  it_step "the disks were given the index's lineage (format.json version 2)"
  lineages=$("$py" - "$tmp/var" <<'PY'
import glob, json, sys
fmts = [json.load(open(p)) for p in sorted(glob.glob(sys.argv[1] + "/disk*/format.json"))]
assert len(fmts) == 6 and all(f["version"] == 2 for f in fmts), fmts
print(len({f["lineage"] for f in fmts}))
PY
)
  it_expect_eq "lineages on the migrated disks" 1 "$lineages"
  ls "$tmp"/var/disk1/snapshots/index-*.db >/dev/null
  coffer_launch http
  FIXTURE_MANIFEST=$dir/manifest.json PYTHONPATH=$fixtures "$py" "$fixtures/test_fixture.py" again
  coffer_stop_server
done
it_done
