#!/usr/bin/env bash
# tests/bench_suite_smoke.sh - keeps `make bench` from rotting (make
# bench-smoke; make check runs it): the whole suite, contrib/bench/run.sh,
# at tiny sizes (BENCH_SMOKE=1: 4 MiB objects, 1,000 keys, a 6 MiB tree,
# 100-task runs), with a second throw-away cofferd as the peer, so the PEER_*
# path runs too. It must exit 0 (every run succeeded, cofferd stopped
# cleanly) and print every summary figure with a number, the peer's and
# the coffer/peer ratios included. The figures are not judged: at these
# sizes they are noise. restic and rclone (contrib/deps.sh) are needed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
COFFERD=${COFFERD:-$(pwd)/server/cofferd}
export COFFERD
for p in restic rclone curl; do
  command -v "$p" >/dev/null 2>&1 || { echo "SKIP: $p is not installed"; exit 77; }
done
. "$here/integration/lib.sh"

fail() { echo "FAIL: bench_suite_smoke: $*" >&2; exit 1; }
dir=$(mktemp -d "$PWD/bench-suite-smoke.XXXXXX")
trap 'coffer_stop >/dev/null 2>&1; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM

TMPDIR=$dir coffer_start || fail "the peer cofferd did not start"
t0=$SECONDS
out=$(env -u COFFER_PID -u COFFER_TMP BENCH_SMOKE=1 BENCH_DIR="$dir" \
      PEER_ENDPOINT="$COFFER_ENDPOINT" PEER_KEY="$COFFER_ACCESS_KEY" \
      PEER_SECRET="$COFFER_SECRET_KEY" PEER_PID="$COFFER_PID" \
      "$here/../contrib/bench/run.sh")
rc=$?
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
      http_get_4k_ops load_1m_start load_1m_end
      restic_backup_coffer_server_cpu_s restic_backup_coffer_client_cpu_s
      restic_backup_local_client_cpu_s rclone_copy_coffer_server_cpu_s)
for f in put_1stream_mib_s get_1stream_mib_s put_4stream_mib_s get_4stream_mib_s \
         put_cpu_s_per_gib get_cpu_s_per_gib peak_rss_mib small_put_ops small_get_ops \
         list_page_ms_p50; do
  need+=("$f" "peer_$f" "coffer_over_peer_$f")
done
num='-?[0-9]+(\.[0-9]+)?( |$)'
zero='n/a \(divided by zero\)$'
for f in "${need[@]}"; do
  grep -Eq "^$f: $num" <<<"$out" ||
    { [[ $f == *ratio* || $f == coffer_over_peer_* ]] && grep -Eq "^$f: $zero" <<<"$out"; } ||
    fail "no figure \"$f\""
done
for f in put_cpu_s_per_gib get_cpu_s_per_gib peak_rss_mib put_4stream_ratio_of_limit \
         degraded_get_ratio list_page_ms_p50 restic_backup_ratio_vs_local; do
  grep -Eq "^$f: [0-9.]+ (meets|falls short) \(target (<=|>=) [0-9.]+\)$" <<<"$out" ||
    fail "\"$f\" has no target verdict"
done
bad=$(grep -E '^[a-z0-9_]+: ' <<<"$out" | grep -Ev "^[a-z0-9_]+: $num" |
      grep -Ev "^([a-z0-9_]*ratio[a-z0-9_]*|coffer_over_peer_[a-z0-9_]+): $zero")
[ -z "$bad" ] || fail "summary lines without a number: $bad"
grep -Eq '^\| put [0-9]+[KMG] c1 \|' <<<"$out" || fail "no Markdown table of runs"

coffer_stop || fail "the peer cofferd did not stop cleanly"
rmdir "$dir" 2>/dev/null || fail "the suite left files in $dir: $(ls -A "$dir")"
