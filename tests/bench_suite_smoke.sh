#!/usr/bin/env bash
# tests/bench_suite_smoke.sh - keeps `make bench` from rotting (make
# bench-smoke; make check runs it): the whole suite, contrib/bench/run.sh,
# at tiny sizes (BENCH_SMOKE=1: 4 MiB objects, 1,000 keys, a 6 MiB tree,
# 100-task runs), with the peer make bench-peer uses (BENCH_PEER=rgw: a
# throw-away Ceph RGW, here on memstore, so that it starts in seconds), so
# the peer path runs too: sections 2-5 against it, its three processes'
# CPU and memory. It must exit 0 (every run succeeded, cofferd and the
# peer stopped cleanly), leave no peer process behind, and print every
# summary figure with a number, the peer's and the coffer/peer ratios
# included, and the limit each ratio uses. The figures are not judged: at
# these sizes they are noise. restic, rclone and Debian's ceph packages
# (contrib/deps.sh) are needed; without them it skips, except in CI.
set -u
here=$(cd "$(dirname "$0")" && pwd)
COFFERD=${COFFERD:-$(pwd)/server/cofferd}
export COFFERD
fail() { echo "FAIL: bench_suite_smoke: $*" >&2; exit 1; }
for p in restic rclone curl ceph-mon ceph-osd radosgw; do
  if ! command -v "$p" >/dev/null 2>&1; then
    [ "${CI:-}" != true ] || fail "$p is not installed (contrib/deps.sh)"
    echo "SKIP: $p is not installed"; exit 77
  fi
done
. "$here/peers/peer.sh"

dir=$(mktemp -d "$PWD/bench-suite-smoke.XXXXXX")
log=$dir.progress outf=$dir.out suite=
# run.sh stops its servers on SIGTERM: a stopped test stops it first
trap '[ -z "$suite" ] || { kill -TERM "$suite"; wait "$suite"; }; rm -rf "$dir" "$log" "$outf"' EXIT
trap 'exit 1' INT TERM

t0=$SECONDS
env -u COFFER_PID -u COFFER_TMP -u PEER_ENDPOINT BENCH_SMOKE=1 BENCH_DIR="$dir" \
  BENCH_PEER=rgw BENCH_PEER_OBJECTSTORE=memstore "$here/../contrib/bench/run.sh" \
  >"$outf" 2>"$log" &
suite=$!
wait "$suite"
rc=$?
suite=
out=$(cat "$outf")
cat "$log" >&2
progress=$(cat "$log")
printf '%s\n' "$out"
echo "bench_suite_smoke: run.sh exited $rc after $((SECONDS - t0)) s"
[ $rc -eq 0 ] || fail "run.sh exited $rc (its progress is above)"

# The figures the suite promises (the issue's list), the peer's figures
# for sections 2-4, and the ratios; then no summary line without a number.
need=(put_cpu_s_per_gib get_cpu_s_per_gib put_4stream_ratio_of_limit
      get_4stream_ratio_of_limit degraded_get_ratio small_put_ops small_get_ops
      small_put_ratio_of_fsync_limit small_get_ratio_of_http_limit list_page_ms_p50
      restic_backup_ratio_vs_local restic_restore_ratio_vs_local
      rclone_copy_ratio_vs_local peak_rss_mib
      put_pipeline_mib_s put_pipeline_all_cores_mib_s get_pipeline_mib_s
      disk_write_plain_mib_s fsync_ops put_limit_mib_s http_get_ceiling_mib_s
      http_get_4k_ops load_1m_start load_1m_end scrub_mib_s get_during_scrub_mib_s
      get_during_scrub_scrubs
      restic_backup_coffer_server_cpu_s restic_backup_coffer_client_cpu_s
      restic_backup_local_client_cpu_s rclone_copy_coffer_server_cpu_s
      disk_write_volume_mib fsync_group_ops mid_put_limit_ops mid_put_256k_ratio_of_limit
      mid_put_pack_limit_ops mid_put_256k_files_ratio_of_limit
      transition_mib_s transition_cpu_s_per_gib transition_remote_cpu_s_per_gib
      tiered_get_mib_s local_get_mib_s tiered_get_ratio tiered_range_get_ms_p50
      tier_peak_rss_mib azure_tier_peak_rss_mib azure_transition_mib_s azure_tiered_get_ratio
      azure_tiered_range_get_ms_p50
      mid_put_256k_cpu_ratio_vs_1g mid_get_256k_cpu_ratio_vs_1g peer_startup_s
      mid_put_256k_files_c32_ops mid_put_256k_files_cpu_s_per_gib mid_put_256k_ops_ratio_vs_files
      mid_put_256k_cpu_ratio_vs_files
      rclone_copy_coffer_server_cpu_s_per_gib restic_backup_coffer_server_cpu_s_per_gib)
for f in put_1stream_mib_s get_1stream_mib_s put_4stream_mib_s get_4stream_mib_s \
         put_cpu_s_per_gib get_cpu_s_per_gib peak_rss_mib small_put_ops small_get_ops \
         list_page_ms_p50 mid_put_256k_c32_ops mid_put_256k_cpu_s_per_gib \
         mid_get_256k_c32_ops mid_get_256k_cpu_s_per_gib; do
  need+=("$f" "peer_$f" "coffer_over_peer_$f")
done
for f in restic_backup restic_restore rclone_copy; do
  need+=("peer_${f}_s" "peer_${f}_server_cpu_s_per_gib" "peer_${f}_client_cpu_s"
         "coffer_over_peer_${f}_s" "coffer_over_peer_${f}_server_cpu_s_per_gib")
done
num='-?[0-9]+(\.[0-9]+)?( |$)'
zero='n/a \(divided by zero\)$'
for f in "${need[@]}"; do
  grep -Eq "^$f: $num" <<<"$out" ||
    { [[ $f == *ratio* || $f == coffer_over_peer_* ]] && grep -Eq "^$f: $zero" <<<"$out"; } ||
    fail "no figure \"$f\""
done
for f in put_cpu_s_per_gib get_cpu_s_per_gib peak_rss_mib put_4stream_ratio_of_limit \
         degraded_get_ratio get_during_scrub_ratio list_page_ms_p50 restic_backup_ratio_vs_local \
         mid_put_256k_ratio_of_limit coffer_over_peer_put_cpu_s_per_gib \
         coffer_over_peer_rclone_copy_s; do
  grep -Eq "^$f: [0-9.]+ (meets|falls short) \(target (<=|>=) [0-9.]+\)$" <<<"$out" ||
    fail "\"$f\" has no target verdict"
done
# the layout is exact, not noise: packed by default (one record per disk
# at 4+2, no shard file), six shard files with packing off
for f in mid_put_256k_shard_files_per_object:0.000 mid_put_256k_pack_records_per_object:6.000 \
         mid_put_256k_files_shard_files_per_object:6.000 \
         mid_put_256k_files_pack_records_per_object:0.000; do
  grep -qx "${f%%:*}: ${f#*:}" <<<"$out" || fail "layout figure: expected ${f%%:*}: ${f#*:}"
done
bad=$(grep -E '^[a-z0-9_]+: ' <<<"$out" | grep -Ev "^[a-z0-9_]+: $num" |
      grep -Ev "^([a-z0-9_]*ratio[a-z0-9_]*|coffer_over_peer_[a-z0-9_]+): $zero")
[ -z "$bad" ] || fail "summary lines without a number: $bad"
grep -Eq '^\| put [0-9]+[KMG] c1 \|' <<<"$out" || fail "no Markdown table of runs"
grep -Eq '^\| peer_put [0-9]+[KMG] c1 \|' <<<"$out" || fail "no runs against the peer"
for f in put_4stream_ratio_of_limit small_put_ratio_of_fsync_limit mid_put_256k_ratio_of_limit \
         mid_put_256k_files_ratio_of_limit; do
  grep -Eq "^\* $f: " <<<"$out" || fail "the output does not say which limit $f uses"
done
# each 256 KiB PUT is put over the limit of the layout it wrote: packs for
# the default run, shard files for the packing-off one
for f in mid_put_256k:mid_put_pack_limit_ops mid_put_256k_files:mid_put_limit_ops; do
  run=${f%%:*} lim=${f#*:}
  grep -Eq "^\* ${run}_ratio_of_limit: $lim, " <<<"$out" ||
    fail "${run}_ratio_of_limit is not said to divide by $lim"
  awk -v r="${run}_ratio_of_limit:" -v o="${run}_c32_ops:" -v l="$lim:" '
    $1 == r { got = $2 } $1 == o { a = $2 } $1 == l { b = $2 }
    END { exit !(b > 0 && got - a / b < 0.0015 && a / b - got < 0.0015) }' <<<"$out" ||
    fail "${run}_ratio_of_limit is not ${run}_c32_ops / $lim"
done
# the peer's CPU counts its three processes: radosgw, the OSD, the mon
pids=$(sed -n 's/^.*rgw: memstore cluster up in .* (pids \([0-9 ]*\);.*$/\1/p' <<<"$progress")
[ "$(wc -w <<<"$pids")" = 3 ] || fail "no three peer pids in the progress"
for pid in $pids; do ! peer_alive "$pid" || fail "peer process $pid is still running"; done
rmdir "$dir" 2>/dev/null || fail "the suite left files in $dir: $(ls -A "$dir")"
