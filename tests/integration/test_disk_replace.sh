#!/usr/bin/env bash
# tests/integration/test_disk_replace.sh - m of k+m disks die and are
# replaced (issue 12 point 6, and the "m disks removed" drill), with restic
# and the real coffer CLI:
#   - restic backs a tree up into a 4+2 cofferd; cofferd stops;
#   - two disk directories (m = 2) are deleted and put back as empty
#     directories (new disks): cofferd formats each into its position,
#     says so in its log, and runs heal --all at once;
#   - coffer disks shows every disk online again once that heal is done;
#     the shards are all back (shard files, or pack records where the
#     default packs: heal writes a lost one as a file); coffer scrub
#     --deep finds nothing;
#   - restic check --read-data passes and a restore equals the source;
#   - a disk dies while cofferd runs (its directory emptied): coffer disks
#     says missing, restic backs up on the other five, nothing is written
#     into the empty directory; coffer disks replace refuses a disk of the
#     set and a directory that is not empty, then formats it and follows
#     the heal --all that fills it; scrub --deep and restic check
#     --read-data pass;
#   - a disk of another set put in a disk's place stops cofferd from
#     starting, and is not formatted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
it_init disk_replace
it_skip_unless restic python3

refused() {               # refused N TEXT: coffer disks replace N fails, saying TEXT
  if coffer_cli disks replace "$1" 2>"$IT_WORK/refused.err"; then
    echo "coffer disks replace $1 was not refused" >&2
    exit 1
  fi
  grep -q "$2" "$IT_WORK/refused.err" || { cat "$IT_WORK/refused.err" >&2; exit 1; }
}

# Shards held, on disk N (shard_count N) or on all six: its shard files
# (objects/) and the shards its live pack records hold (the index's
# pack_shards rows whose pack is on the disk; shard i is on disk i + 1),
# a shard in both counted once (heal writes a lost record as a file).
shard_count() {
  python3 - "$COFFER_TMP/var" "$@" <<'PY'
import glob, os, sqlite3, sys
var, disks = sys.argv[1], [int(n) for n in sys.argv[2:]] or range(1, 7)
db = sqlite3.connect(f"file:{var}/meta/index.db?mode=ro", uri=True, timeout=30)
rows = db.execute("SELECT lower(hex(data_id)), shard, lower(hex(pack_id)) FROM pack_shards").fetchall()
total = 0
for n in disks:
    held = {os.path.basename(p) for p in glob.glob(f"{var}/disk{n}/objects/*/*")}
    held |= {d for d, shard, pack in rows
             if shard == n - 1 and os.path.exists(f"{var}/disk{n}/packs/{pack}.pack")}
    total += len(held)
print(total)
PY
}

src=$IT_WORK/src
it_step "generate the source tree"
it_gen_tree "$src" 200 "$(it_size 40 10)" 7

export IT_MODES=http
it_server http
it_step "restic init and backup"
it_restic repl init
(cd "$src" && it_restic repl backup --quiet --host coffer-test .)
coffer_stop_server
before=$(shard_count)

it_step "disks 2 and 5 die; empty directories take their place"
rm -rf "$COFFER_TMP/var/disk2" "$COFFER_TMP/var/disk5"
mkdir "$COFFER_TMP/var/disk2" "$COFFER_TMP/var/disk5"
coffer_launch http
grep -q "disk 1 (.*disk2) was empty: formatted as disk 1 of the set, a replacement" \
  "$COFFER_LOG"
grep -q "2 replacement disks: heal --all starts now" "$COFFER_LOG"

it_step "heal --all fills them: coffer disks shows every disk online"
for i in $(seq 1 300); do                    # up to ~60 s
  states=$(coffer_cli disks | awk 'NR > 1 && $1 ~ /^[0-9]+$/ {print $2}' | sort -u)
  [ "$states" = online ] && break
  sleep 0.2
done
coffer_cli disks
it_expect_eq "disk states after the heal" online "$states"
it_expect_eq "shards after the heal" "$before" "$(shard_count)"
grep -q "replacement filled by heal" "$COFFER_LOG"

it_step "coffer scrub --deep finds nothing"
coffer_cli --json scrub --deep >"$IT_WORK/scrub.json"
it_expect_eq "scrub findings" 0 \
  "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' \
     "$IT_WORK/scrub.json")"

it_step "restic check --read-data and restore"
it_restic repl check --read-data
it_restic repl restore latest --target "$IT_WORK/restored"
it_same_tree "$src" "$IT_WORK/restored"

it_step "coffer disks replace refuses a disk of the set and a directory that is not empty"
refused 3 "is a disk of this set"
before=$(shard_count)
it_step "disk 4 dies while cofferd runs; restic backs up on the other five"
rm -rf "$COFFER_TMP/var/disk4"
mkdir "$COFFER_TMP/var/disk4"
it_expect_eq "disk 3's state" missing \
  "$(coffer_cli --json disks | it_json "d['disks'][3]['state']")"
echo "written while disk 4 was gone" >"$src/late.txt"
(cd "$src" && it_restic repl backup --quiet --host coffer-test .)
it_expect_eq "files on the dead disk's directory" 0 \
  "$(find "$COFFER_TMP/var/disk4" -type f | wc -l)"
echo stray >"$COFFER_TMP/var/disk4/stray"
refused 3 "is not empty"
refused 9 "no such disk"
rm "$COFFER_TMP/var/disk4/stray"

it_step "coffer disks replace 3 on the running cofferd: heal --all fills it, with progress"
coffer_cli disks replace 3 >"$IT_WORK/replace.out" 2>&1 || { cat "$IT_WORK/replace.out"; exit 1; }
cat "$IT_WORK/replace.out"
grep -q "disk 3 formatted as a replacement" "$IT_WORK/replace.out"
grep -q "coffer: heal: " "$IT_WORK/replace.out"
grep -q "disk 3 (.*disk4) was empty: formatted as disk 3 of the set, a replacement" \
  "$COFFER_LOG"
coffer_cli disks
it_expect_eq "disk states after the replacement" online \
  "$(coffer_cli disks | awk 'NR > 1 && $1 ~ /^[0-9]+$/ {print $2}' | sort -u)"
[ "$(shard_count)" -ge "$before" ]
it_expect_eq "shards on disk 4 and on disk 1" "$(shard_count 1)" "$(shard_count 4)"
coffer_cli --json scrub --deep >"$IT_WORK/scrub.json"
it_expect_eq "scrub findings" 0 "$(it_json "len(d['findings'])" <"$IT_WORK/scrub.json")"
it_restic repl check --read-data
coffer_stop_server

it_step "a disk of another set in disk 3's place: the start is refused"
other=$IT_WORK/other
mkdir -p "$other"
"$COFFERD" --var "$other/var" --listen "127.0.0.1:$(coffer_free_port)" \
  >"$IT_WORK/other.log" 2>&1 &
opid=$!
for i in $(seq 1 100); do
  [ -f "$other/var/disk1/format.json" ] && break
  sleep 0.2
done
kill -TERM "$opid"; wait "$opid" || true
rm -rf "$COFFER_TMP/var/disk3"
cp -a "$other/var/disk1" "$COFFER_TMP/var/disk3"
fmt=$(sha256sum <"$COFFER_TMP/var/disk3/format.json")
rc=0
timeout -k 5 60 "$COFFERD" --var "$COFFER_TMP/var" --listen "127.0.0.1:$(coffer_free_port)" \
  >"$IT_WORK/refused.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { cat "$IT_WORK/refused.log"; exit 1; }
grep -q "disk3" "$IT_WORK/refused.log" || { cat "$IT_WORK/refused.log"; exit 1; }
it_expect_eq "the foreign disk's format.json" "$fmt" \
  "$(sha256sum <"$COFFER_TMP/var/disk3/format.json")"
[ ! -e "$COFFER_TMP/var/disk3/replacing" ]
it_done
