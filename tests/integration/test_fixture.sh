#!/usr/bin/env bash
# tests/integration/test_fixture.sh - data written by every earlier release
# opens with this build and reads back byte for byte (tests/fixtures/README.md).
# For each committed fixture: unpack its var/ into a scratch directory,
# start cofferd on it (the embedded default, as the release ran): its index
# is migrated to this build's schema version, the old one kept beside it.
# Read and check everything with test_fixture.py, write, restart (no second
# migration; the disks then record the index's lineage), check again.
# Last, a cofferd refuses an index made newer than it knows, and exits
# saying so.
. "$(dirname "$0")/lib.sh"
it_init fixture
fixtures=$(cd "$(dirname "$0")/../fixtures" && pwd)
py=$(coffer_python newest boto3)
user_version() {          # user_version DB -> the index's recorded schema version
  "$py" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' "$1"
}
for dir in "$fixtures"/v*/; do
  release=$(basename "$dir")
  COFFER_MODE=$release
  tmp=$IT_WORK/$release
  mkdir -p "$tmp"
  tar -C "$tmp" -xzf "$dir/var.tar.gz"
  it_step "open data written by $(cat "$dir/release")"
  coffer_start http "$tmp"
  it_step "its index was migrated to this build's schema, the old one kept"
  meta=$tmp/var/meta
  backups=$(cd "$meta" && echo index.db.pre-v*)
  [ -f "$meta/$backups" ] || { echo "no single pre-migration copy: $backups" >&2; false; }
  newest=${backups#index.db.pre-v}
  it_expect_eq "migrated index version" "$newest" "$(user_version "$meta/index.db")"
  it_expect_eq "kept index version" 0 "$(user_version "$meta/$backups")"
  it_expect_eq "migration lines" 1 "$(grep -c 'the old index is kept in' "$COFFER_LOG")"
  FIXTURE_MANIFEST=$dir/manifest.json PYTHONPATH=$fixtures "$py" "$fixtures/test_fixture.py" first
  it_step "the mid-size object written after the upgrade went to a pack on every disk"
  for d in "$tmp"/var/disk*; do
    ls "$d"/packs/*.pack >/dev/null
  done
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
  it_expect_eq "migration lines after restart" 1 "$(grep -c 'the old index is kept in' "$COFFER_LOG")"
  it_step "an index newer than this cofferd is refused at start"
  "$py" -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("PRAGMA user_version = 999"); c.commit()' "$meta/index.db"
  rc=0
  timeout 30 "$COFFERD" --var "$tmp/var" --listen "127.0.0.1:$(coffer_free_port)" \
    >"$tmp/newer.log" 2>&1 || rc=$?
  [ "$rc" = 1 ] || { echo "cofferd exited $rc on a newer index" >&2; cat "$tmp/newer.log" >&2; false; }
  grep -q "index schema version 999 is newer than this cofferd .* (knows up to $newest): run cofferd " \
    "$tmp/newer.log" || { cat "$tmp/newer.log" >&2; false; }
  it_expect_eq "refused index version" 999 "$(user_version "$meta/index.db")"
done
it_done
