#!/usr/bin/env bash
# tests/integration/test_pack.sh - pack files under a real cofferd (issue
# 14 point 1; storage.pack_shard_max_bytes in coffer.json(5)):
#   - 256 KiB objects PUT by 16 connections at once (coffer-bench) go to
#     the disks' pack files, not to shard files, and read back byte for
#     byte (--verify); a 3 MiB object (several blocks) keeps shard files;
#   - the packs survive a restart (new packs take the new writes) and a
#     scrub finds every packed shard whole;
#   - deleting every packed object gives the space back: coffer gc
#     unlinks the sealed packs no live record is left in, keeps the open
#     ones, and what lives in the open ones still reads back;
#   - compaction: of 120 objects written together, 90 deleted; coffer
#     compact copies the 30 survivors out of their mostly dead packs and
#     unlinks them: every survivor reads back byte for byte (also after a
#     restart), coffer_pack_bytes{state="dead"} and the packs' disk usage
#     drop, coffer_pack_compact_reclaimed_bytes_total counts it, and the
#     compact job's status says what it did.
. "$(dirname "$0")/lib.sh"
it_init pack
COFFER_CLI=$(cd "$(dirname "$COFFERD")/../cli" && pwd)/coffer
bench=$(pwd)/contrib/bench/coffer-bench
export IT_MODES=http
export COFFER_CONFIG_EXTRA='{"storage": {"pack_shard_max_bytes": 1048576},
  "metrics": {"public": true}}'
mkdir -p "$IT_WORK/srv"
coffer_start http "$IT_WORK/srv"
var=$IT_WORK/srv/var

cli() {
  timeout -k 5 120 "$COFFER_CLI" --endpoint "$COFFER_ENDPOINT" \
    --admin-credentials "$var/admin-credentials" "$@"
}
cb() {
  timeout -k 5 120 "$bench" -e "$COFFER_ENDPOINT" -a "$COFFER_ACCESS_KEY" \
    -k "$COFFER_SECRET_KEY" -b packs "$@" >"$IT_WORK/cb.out" 2>"$IT_WORK/cb.err" ||
    { cat "$IT_WORK/cb.out" "$IT_WORK/cb.err" >&2; return 1; }
  grep -qx 'errors: 0' "$IT_WORK/cb.out" || { cat "$IT_WORK/cb.out" >&2; return 1; }
}
count() {                 # count KIND: files under every disk's packs/ or objects/
  find "$var"/disk*/"$1" -type f 2>/dev/null | wc -l
}

it_step "256 KiB PUTs at 16 connections go to pack files and read back"
cb -w put -s 256K -c 16 -n 200 --prefix mid
it_expect_eq "shard files of packed objects" 0 "$(count objects)"
it_expect_eq "pack files (one open per disk)" 6 "$(count packs)"
cb -w get -s 256K -c 16 -n 200 --keys 200 --reuse --verify --prefix mid
cb -w put -s 3M -c 1 -n 1 --prefix big
it_expect_eq "shard files of a 3 MiB object" 6 "$(count objects)"

it_step "a restart seals the packs; new PUTs go to new ones; scrub is clean"
coffer_stop_server
coffer_launch http
cb -w put -s 200K -c 4 -n 20 --prefix later
it_expect_eq "pack files" 12 "$(count packs)"
cb -w get -s 256K -c 16 -n 200 --keys 200 --reuse --verify --prefix mid
cli scrub >"$IT_WORK/scrub.out" 2>&1
field() { awk -v f="$1" '$1 == f { print $2 }' "$IT_WORK/scrub.out"; }
it_expect_eq "objects scrubbed" 221 "$(field objects)"
for f in shards_missing shards_bad crc_errors lost_objects; do
  it_expect_eq "scrub $f" 0 "$(field $f)"
done

it_step "deleting the packed objects unlinks their sealed packs"
cb -w delete -s 256K -c 16 --keys 200 --reuse --prefix mid
cli gc 60 >"$IT_WORK/gc.out"
it_expect_eq "pack files (the open ones, with 'later')" 6 "$(count packs)"
cb -w get -s 200K -c 4 -n 20 --keys 20 --reuse --verify --prefix later

it_step "compaction copies the survivors of mostly dead packs and frees them"
metric() {                # metric NAME [LABELS]: its value on /metrics
  local name=$1
  [ -z "${2:-}" ] || name="$1{$2}"
  it_curl "$COFFER_ENDPOINT/metrics" | awk -v n="$name" '$1 == n {print $2}'
}
packs_du() { du -sb "$var"/disk*/packs | awk '{n += $1} END {print n}'; }
expect() {                # expect WHAT CMD...: CMD succeeds, else say WHAT
  local what=$1; shift
  "$@" || { echo "$what: not so" >&2; return 1; }
}
coffer_stop_server
coffer_launch http        # the 'later' packs sealed: the new objects get new ones
cb -w put -s 200K -c 4 -n 30 --prefix keep
cb -w put -s 200K -c 8 -n 90 --prefix drop
coffer_stop_server
coffer_launch http        # their packs sealed
cb -w delete -s 200K -c 8 --keys 90 --reuse --prefix drop
cli gc 60 >"$IT_WORK/gc.out"
dead_before=$(metric coffer_pack_bytes 'state="dead"')
du_before=$(packs_du)
expect "dead pack bytes after the deletes ($dead_before)" \
  test "${dead_before%.*}" -gt $((6 * 90 * 200 * 1024 / 4))
cli compact >"$IT_WORK/compact.out" 2>"$IT_WORK/compact.err" ||
  { cat "$IT_WORK/compact.out" "$IT_WORK/compact.err" >&2; exit 1; }
cfield() { awk -v f="$1" '$1 == f { print $2 }' "$IT_WORK/compact.out"; }
it_expect_eq "records copied (30 survivors x 6 disks)" 180 "$(cfield records_copied)"
expect "packs removed ($(cfield packs_removed))" test "$(cfield packs_removed)" -ge 6
expect "its summary line" grep -q "^coffer: compact: .* packs compacted" "$IT_WORK/compact.err"
dead_after=$(metric coffer_pack_bytes 'state="dead"')
du_after=$(packs_du)
expect "dead pack bytes drop ($dead_before -> $dead_after)" \
  test "${dead_after%.*}" -lt $((${dead_before%.*} / 10))
expect "pack disk usage drops ($du_before -> $du_after)" \
  test "$du_after" -lt $((du_before / 2))
it_expect_eq "reclaimed bytes on /metrics" "$(cfield bytes_reclaimed)" \
  "$(metric coffer_pack_compact_reclaimed_bytes_total)"
cb -w get -s 200K -c 4 -n 30 --keys 30 --reuse --verify --prefix keep
cb -w get -s 200K -c 4 -n 20 --keys 20 --reuse --verify --prefix later
cli jobs compact >"$IT_WORK/job.out"
expect "the compact job reports its run" grep -q "packs compacted" "$IT_WORK/job.out"
coffer_stop_server
coffer_launch http
cb -w get -s 200K -c 4 -n 30 --keys 30 --reuse --verify --prefix keep
it_done
