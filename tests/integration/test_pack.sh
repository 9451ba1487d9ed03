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
#     ones, and what lives in the open ones still reads back.
. "$(dirname "$0")/lib.sh"
it_init pack
COFFER_CLI=$(cd "$(dirname "$COFFERD")/../cli" && pwd)/coffer
bench=$(pwd)/contrib/bench/coffer-bench
export IT_MODES=http
export COFFER_CONFIG_EXTRA='{"storage": {"pack_shard_max_bytes": 1048576}}'
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
it_done
