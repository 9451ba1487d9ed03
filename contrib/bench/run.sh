#!/usr/bin/env bash
# contrib/bench/run.sh - `make bench`: the standard suite, in one run on
# this machine, every figure of cofferd beside the machine's own limit.
#
#  1. The machine's limits: bench-engine's in-memory PUT pipeline (one
#     thread and on every core), GET pipeline, the disks' write rate over
#     the bytes the 4-stream PUT writes (4 objects of BIG as the engine
#     writes them: six shard files each, fdatasync'd), the single-file
#     4 KiB append+fdatasync rate over as long as a small-object run, by
#     one thread and by 32 sharing fdatasyncs as the index's group commit
#     does (fsync_group_ops), 256 KiB objects written by 32 threads as the
#     engine writes them (six files, fdatasync, rename, directory fsync
#     each) for as long as the mid-size run (BENCH_LIMITS_ONLY=1: not its
#     engine runs), and the
#     HTTP ceiling: mhd-ceiling, a bare libmicrohttpd server that drops PUT
#     bodies and serves GETs from memory, loaded by the same client
#     (coffer-bench). The summary ends with the limit each ratio uses.
#  2. Objects of BIG (1 GiB) on a fresh cofferd (tests/integration/lib.sh:
#     embedded default, six disk directories, 4+2, encrypted) with
#     UNSIGNED-PAYLOAD: single-stream PUT and GET (2 objects, one after
#     the other; server CPU per GiB and peak RSS, the high-water mark reset
#     when each run starts), 4-stream PUT (4 objects at once) and GET (each
#     of them twice, 4 at once), then
#     the objects/ trees of two disk directories (disk1, disk2: m = 2) are
#     deleted under the running server and the same objects are read again
#     (degraded GET, 4 streams and 1; which shards are lost depends on the
#     object's placement); before that, a CRC-only scrub of them against
#     a read of their shard files (scrub_mib_s, scrub_ratio_of_disk_read)
#     and the 4-stream GET again while scrubs run (get_during_scrub_ratio),
#     after it heal --all rebuilding the two disks (heal_mib_s). That
#     cofferd is then stopped and removed.
#  3. Small objects on a second fresh cofferd: 4 KiB and 64 KiB PUT at 1
#     and 32 connections, then GETs of the objects the 32-connection PUT
#     made (up to 1,000 of them, cycled), each run BENCH_SECONDS (5); and
#     256 KiB PUT at 32 connections (mid_put_256k_*: a Veeam-like load,
#     above the inline limit), with server CPU per GiB and the layout it
#     left, shard files and pack records per object
#     (mid_put_256k_shard_files_per_object, ..._pack_records_per_object:
#     0 and 6 at 4+2 with packing on, the default), and GETs of those
#     objects at 32 connections (mid_get_256k_*, CPU per GiB also over the
#     1 GiB GET's: the per-request cost of a mid-size GET); then the PUT on
#     a fresh cofferd with packing off (storage.pack_shard_max_bytes 0:
#     mid_put_256k_files_*, 6 shard files per object), and the default's
#     objects/s and CPU per GiB over that run's
#     (mid_put_256k_*_ratio_vs_files); each run's objects/s is also put
#     over the limit of the layout it wrote (bench-engine's
#     mid_put_pack_limit_ops and mid_put_limit_ops, below).
#  4. ListObjectsV2: 100,000 keys put in a bucket of their own (at 32
#     connections, also a row), then
#     1,000-key pages walked through them (start-after) for BENCH_SECONDS;
#     the page latency p50 and p99.
#  5. A generated tree (bench-tree: 5,000 files, 1 GiB, incompressible,
#     no duplicate chunks) backed up and restored with restic, to cofferd
#     (s3:) and to a local directory repository, and copied with rclone
#     copy to cofferd and to a local directory; same options, the same
#     order every time (cofferd first), restores into fresh directories,
#     no cache dropping. Ratios are cofferd time / local time. Each run
#     also gives the client's CPU seconds (NAME_client_cpu_s) and, for the
#     runs against cofferd, cofferd's (NAME_server_cpu_s, and per GiB of
#     the tree): on a machine where both share the cores, their sum is
#     what the wall time pays.
#  6. The cold tier, cofferd to a second cofferd on this machine (both
#     embedded defaults): 4 objects of BIG moved by a lifecycle rule, 4
#     transitions at once (transition_mib_s, the sending cofferd's CPU per
#     GiB moved, transition_cpu_s_per_gib, the remote's beside it, and
#     the sender's peak RSS while they run, tier_peak_rss_mib); a GET of a
#     tiered object against one of a local object (tiered_get_ratio); 64
#     KiB ranged GETs of tiered objects at random offsets
#     (tiered_range_get_ms_p50). The same against Azurite (npm, the
#     Azure Storage emulator) as an Azure tier: azure_transition_mib_s,
#     azure_tiered_get_ratio and the rest with the azure_ prefix.
#
# Server CPU and memory are measured here, not by coffer-bench: the CPU
# (user + system, /proc/PID/stat) of every process of the server summed
# over the run, per GiB moved, and the sum of the processes' peak RSS
# (each high-water mark reset when the run starts): for cofferd its one
# process, for a Ceph peer radosgw, the OSD and the monitor.
#
# Output: progress on stderr; on stdout a Markdown table with one row per
# run (seconds, ops/s, MiB/s, latency p50/p99/max, errors, server CPU
# s/GiB, peak RSS, load average), then the summary: one "name: value"
# line per figure, targets as "name: value meets|falls short (target OP
# T)". The ratios are measured in this one run, so the machine is the
# same for both sides of each; load_1m_start and load_1m_end say how busy
# it was (the figures mean little on a busy machine).
#
# Targets: put_cpu_s_per_gib <= 2.5, get_cpu_s_per_gib <= 0.5 (the
# single-stream runs); put_4stream_ratio_of_limit >= 0.8 (of put_limit =
# min(put_pipeline_all_cores, disk_write_plain)); get_4stream_ratio_of_limit
# >= 0.8 (of the HTTP ceiling's 4-stream GET); degraded_get_ratio >= 0.8
# (degraded / healthy 4-stream GET); small_put_ratio_of_fsync_limit >= 0.5
# (4 KiB PUT at 32 connections / fsync_group_ops); small_get_ratio_of_http_limit
# >= 0.2 (4 KiB GET at 32 / the ceiling's); mid_put_256k_ratio_of_limit
# >= 0.5 (256 KiB PUT at 32 / mid_put_pack_limit_ops, the limit of the
# packed layout the default run writes; mid_put_256k_files_ratio_of_limit,
# section 3b's over mid_put_limit_ops, the shard-file layout's, is printed
# without a target) and
# mid_put_256k_cpu_ratio_vs_1g <= 2 (its server CPU per GiB / the 1 GiB
# PUT's); list_page_ms_p50 <= 20; restic_backup_ratio_vs_local and
# restic_restore_ratio_vs_local <= 1.25; rclone_copy_ratio_vs_local <= 2;
# rclone_copy_coffer_server_cpu_s_per_gib <= 5;
# restic_backup_coffer_server_cpu_s_per_gib <= 3; peak_rss_mib <= 64
# (cofferd, during the single-stream runs); tiered_get_ratio >= 0.5;
# scrub_ratio_of_disk_read >= 0.8; get_during_scrub_ratio >= 0.7 (the
# 4-stream GET while scrubs run / without);
# tier_peak_rss_mib <= 64 and azure_tier_peak_rss_mib <= 64.
#
# Another server, the peer: BENCH_PEER=rgw (make bench-peer) starts a
# throw-away Ceph RGW (tests/peers/rgw.sh: one mon, one OSD, one radosgw;
# BENCH_PEER_OBJECTSTORE, bluestore by default: a sparse file in the work
# directory, so it writes this disk as cofferd does; memstore for the
# smoke test) after cofferd's sections and stops it at the end; or, for a
# server already running, PEER_ENDPOINT, PEER_KEY, PEER_SECRET
# (PEER_REGION, default us-east-1; PEER_PIDS, its processes on this
# machine, space-separated, for CPU and memory). Sections 2-5 then run
# against it too, except the degraded GET (its disks are not ours to take
# away) and the local-directory runs (done once). It prints peer_NAME for
# each figure and coffer_over_peer_NAME, oriented so that > 1 means
# cofferd did better: throughput and ops coffer/peer; seconds, CPU, peak
# RSS and latency peer/coffer. Targets against the peer: cofferd's server
# CPU per GiB at most half the peer's for 1 GiB PUT and GET and the
# rclone copy (coffer_over_peer_* >= 2) and the rclone copy's wall time no
# worse (>= 1).
#
# Environment: BENCH_DIR (where the servers' data, the trees and the
# repositories go; default the build directory: a real disk, not tmpfs),
# BENCH_SECONDS (5), BENCH_SMOKE=1 (tiny sizes, 100-task runs, for make
# bench-smoke: a check that every figure comes out, not a measurement),
# BENCH_PEER, BENCH_PEER_OBJECTSTORE, PEER_* (above), BENCH_ONLY=scrub
# (section 2 alone, at its size: the objects of BIG, scrub, GET during
# scrub, degraded GET, heal; no limits, so the ratios to them are n/a and
# not counted missing).
# Run from the build directory (make bench does). Exit status 1 if a run
# failed or a figure is missing; a target falling short is not a failure.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(pwd)
tools=$build/contrib/bench
export COFFERD=${COFFERD:-$build/server/cofferd}
COFFER_PID= COFFER_TMP=                # never a caller's server
. "$src/tests/integration/lib.sh"
. "$src/tests/integration/tierlib.sh"
. "$src/tests/peers/rgw.sh"

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
  big=4M; big_bytes=4194304; nbig1=2; nkeys=1000; tree_files=60; tree_bytes=$((6 * 1048576))
  secs=1; repeat=1; get_check=--verify
  runlen=(-n 100)             # timed runs: a count, not 1 s each
else
  big=1G; big_bytes=1073741824; nbig1=2; nkeys=100000; tree_files=5000; tree_bytes=$((1024 * 1048576))
  secs=${BENCH_SECONDS:-5}; repeat=2; get_check=
  runlen=(-d "$secs")
fi
big_mib=$((big_bytes / 1048576))
for t in coffer-bench mhd-ceiling bench-engine bench-tree; do
  [ -x "$tools/$t" ] || { echo "run.sh: $tools/$t is not built" >&2; exit 1; }
done
# restic, rclone and (for BENCH_PEER=rgw) Ceph come from Debian: a fresh
# machine gets them here (contrib/deps.sh installs only what is missing).
if ! command -v restic >/dev/null || ! command -v rclone >/dev/null ||
   { [ "${BENCH_PEER:-}" = rgw ] && ! command -v radosgw >/dev/null; }; then
  bash "$src/contrib/deps.sh" >&2 || { echo "run.sh: contrib/deps.sh failed" >&2; exit 1; }
fi

case ${BENCH_PEER:-} in
  ""|rgw) ;;
  *) echo "run.sh: BENCH_PEER is rgw or unset, not ${BENCH_PEER}" >&2; exit 1 ;;
esac
work=$(mktemp -d "${BENCH_DIR:-$build}/bench-suite.XXXXXX") || exit 1
ceiling_pid=
cleanup() {
  [ -z "$ceiling_pid" ] || kill "$ceiling_pid" 2>/dev/null
  coffer_stop >/dev/null 2>&1
  tier_remote_stop
  azurite_stop "$work/tier-azurite" 2>/dev/null
  rgw_stop "$work/rgw"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
t_start=$(date +%s.%N)
failed=0

say() { printf '[%5.1fs] %s\n' "$(elapsed)" "$*" >&2; }
elapsed() { awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }
calc() { awk "BEGIN {printf \"%.3f\", ($1)}" 2>/dev/null; }
load1() { cut -d' ' -f1 /proc/loadavg; }
isnum() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; }

# ---- figures -----------------------------------------------------------
declare -A FIG TGT
ORDER=()
fig() {                   # fig NAME VALUE: a figure for the summary
  [ -n "${FIG[$1]+x}" ] || ORDER+=("$1")
  FIG[$1]=${2:-n/a}
}
target() {                # target NAME "<=|>=" T: the figure has a target
  TGT[$1]="$2 $3"
}
ratio() {                 # ratio NAME A B: A / B, if both are numbers
  if ! isnum "$2" || ! isnum "$3"; then
    fig "$1" n/a
  elif [ "$(calc "$3 != 0")" = 1.000 ]; then
    fig "$1" "$(calc "$2 / $3")"
  elif [ "$(calc "$2 == 0")" = 1.000 ]; then
    fig "$1" 1.000            # 0 / 0: the same (a CPU time below the clock tick)
  else
    fig "$1" "$ZERO"          # a real figure, but the ratio is undefined
  fi
}
ZERO="n/a (divided by zero)"
summary_line() {          # summary_line NAME
  local v=${FIG[$1]} t=${TGT[$1]:-}
  if [ -z "$t" ] || ! isnum "$v"; then
    printf '%s: %s\n' "$1" "$v"
  else
    awk -v n="$1" -v v="$v" -v op="${t% *}" -v t="${t#* }" 'BEGIN {
      ok = op == "<=" ? v <= t : v >= t
      printf "%s: %.3f %s (target %s %.2f)\n", n, v, ok ? "meets" : "falls short", op, t }'
  fi
}

# ---- runs ---------------------------------------------------------------
field() { sed -n "s/^$1: //p" <<<"$OUT" | head -1; }
row() {                   # row NAME SECONDS OPS MIB P50 P99 MAX ERR CPU RSS LOAD
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$@"
}
# The server's processes (PIDS: space-separated): CPU seconds summed, and
# peak RSS. servers_rss_reset resets each one's high-water mark and says
# whether it could; servers_rss_mib sums the marks (an upper bound on the
# server's peak when it has several processes).
servers_cpu() {
  local pid sum=0
  for pid in $1; do sum=$(calc "$sum + $(pid_cpu "$pid")"); done
  echo "$sum"
}
servers_rss_reset() {
  local pid ok=0
  for pid in $1; do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || ok=1; done
  return $ok
}
servers_rss_mib() {
  local pid sum=0 kb
  for pid in $1; do
    kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    sum=$(calc "$sum + ${kb:-0} / 1024")
  done
  echo "$sum"
}
nrun=0
# cb NAME ENDPOINT KEY SECRET REGION PIDS COFFER-BENCH-ARGS...: one run, a
# table row; its report in OUT, the server's CPU s/GiB in CB_CPU_GIB and
# its peak RSS in CB_RSS (n/a without PIDS, or when nothing was moved). A
# failed run is reported and remembered.
cb() {
  local name=$1 ep=$2 ak=$3 sk=$4 region=$5 pids=$6 c0 reset=1 mib
  shift 6
  nrun=$((nrun + 1))
  say "$name"
  CB_CPU_GIB=n/a CB_RSS=n/a
  if [ -n "$pids" ]; then
    servers_rss_reset "$pids" && reset=0
    c0=$(servers_cpu "$pids")
  fi
  OUT=$("$tools/coffer-bench" -e "$ep" -a "$ak" -k "$sk" -r "$region" "$@" 2>"$work/cb.err")
  local rc=$?
  if [ -n "$pids" ]; then
    mib=$(calc "$(field mib_per_s) * $(field seconds)")
    isnum "$mib" && [ "$(calc "$mib > 0")" = 1.000 ] &&
      CB_CPU_GIB=$(calc "($(servers_cpu "$pids") - $c0) * 1024 / $mib")
    [ $reset = 0 ] && CB_RSS=$(servers_rss_mib "$pids")
  fi
  if [ $rc -ne 0 ] || [ "$(field errors)" != 0 ]; then
    say "FAILED ($rc): coffer-bench $*"
    sed 's/^/    /' "$work/cb.err" >&2
    failed=1
  fi
  row "$name" "$(field seconds)" "$(field ops_per_s)" "$(field mib_per_s)" \
    "$(field lat_p50_ms)" "$(field lat_p99_ms)" "$(field lat_max_ms)" "$(field errors)" \
    "$CB_CPU_GIB" "$CB_RSS" "$(field load_1m)"
}
# CPU seconds (user + system) of this shell's finished children, and of a
# running process by pid. children_cpu sets CHILDREN_CPU: `times` must run
# in this shell, not in a $(...) subshell that has no children of its own.
children_cpu() {
  times >"$work/times.out"
  CHILDREN_CPU=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, t, /[ms]/)
                   s += t[1] * 60 + t[2] } printf "%.2f", s }' "$work/times.out")
}
pid_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# timed NAME MIB FIG CMD...: run a client command, a table row with its
# MiB/s; figures FIG_s (wall), FIG_client_cpu_s, and, when TIMED_PIDS
# names the server's processes, FIG_server_cpu_s and
# FIG_server_cpu_s_per_gib (of MIB; the server column of the row).
timed() {
  local name=$1 mib=$2 f=$3 t0 c0 s0 rc scpu=-
  shift 3
  say "$name"
  children_cpu; c0=$CHILDREN_CPU; s0=${TIMED_PIDS:+$(servers_cpu "$TIMED_PIDS")}
  t0=$(date +%s.%N)
  "$@" >"$work/cmd.out" 2>&1
  rc=$?
  SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f", b - a}')
  children_cpu
  fig "${f}_client_cpu_s" "$(calc "$CHILDREN_CPU - $c0")"
  if [ -n "${TIMED_PIDS:-}" ]; then
    fig "${f}_server_cpu_s" "$(calc "$(servers_cpu "$TIMED_PIDS") - $s0")"
    scpu=$(calc "${FIG[${f}_server_cpu_s]} * 1024 / $mib")
    fig "${f}_server_cpu_s_per_gib" "$scpu"
  fi
  if [ $rc -ne 0 ]; then
    say "FAILED ($rc): $*"
    tail -20 "$work/cmd.out" | sed 's/^/    /' >&2
    failed=1
    SECS=n/a
  fi
  fig "${f}_s" "$SECS"
  row "$name" "$SECS" - "$(isnum "$SECS" && calc "$mib / $SECS" || echo -)" \
    - - - "$([ $rc -eq 0 ] && echo 0 || echo 1)" "$scpu" - "$(load1)"
}

start_cofferd() {
  TMPDIR=$work coffer_start || { echo "run.sh: cofferd did not start" >&2; exit 1; }
  say "cofferd $COFFER_ENDPOINT (pid $COFFER_PID, data $COFFER_TMP)"
}
stop_cofferd() {
  coffer_stop || { say "FAILED: cofferd did not stop cleanly"; failed=1; }
}

# ---- 1. the machine's limits -------------------------------------------
# Each limit is measured over what its workload writes: the disks over the
# 4-stream PUT's 4 objects of BIG, the fsync rate and the mid-size limit
# for as long as a timed run (BENCH_SECONDS; 1 s in the smoke test).
limits() {
  say "1. limits: bench-engine pipelines ($big_mib MiB), disks (4 x $big_mib MiB), fsync and 256 KiB objects (${secs} s)"
  OUT=$(BENCH_LIMITS_ONLY=1 BENCH_DIR=$work BENCH_SIZE_MIB=$big_mib BENCH_REPEAT=$repeat \
        BENCH_DISK_OBJECTS=4 BENCH_FSYNC_SECONDS=$secs BENCH_FSYNC_THREADS=32 \
        BENCH_MID_KIB=256 BENCH_MID_THREADS=32 \
        BENCH_MID_SECONDS=$secs "$tools/bench-engine") ||
    { say "FAILED: bench-engine"; failed=1; }
  local f
  for f in put_pipeline_mib_s put_pipeline_cpu_s_per_gib put_pipeline_all_cores_mib_s \
           get_pipeline_mib_s get_pipeline_cpu_s_per_gib disk_write_volume_mib \
           disk_write_mib_s disk_write_plain_mib_s fsync_ops fsync_group_ops mid_put_limit_ops \
           mid_put_limit_mib_s mid_put_pack_limit_ops mid_put_pack_limit_mib_s; do
    fig "$f" "$(field "$f")"
  done
  fig put_limit_mib_s "$(field put_limit_all_cores_mib_s)"
  row "bench-engine limits" - - "put all cores $(field put_pipeline_all_cores_mib_s), disks $(field disk_write_plain_mib_s) over $(field disk_write_volume_mib) MiB, 256K c32 $(field mid_put_pack_limit_mib_s) packed, $(field mid_put_limit_mib_s) files" \
    - - - - - - "$(field load_1m)"

  start_ceiling "$big_bytes"
  cb "ceiling put $big c4" "$CEILING" x y us-east-1 "" -w put -s "$big" -c 4 -n 4
  fig http_put_ceiling_mib_s "$(field mib_per_s)"
  cb "ceiling get $big c4" "$CEILING" x y us-east-1 "" -w get -s "$big" -c 4 -n 8 --keys 4 --reuse
  fig http_get_ceiling_mib_s "$(field mib_per_s)"
  stop_ceiling

  start_ceiling 4096
  cb "ceiling get 4K c32" "$CEILING" x y us-east-1 "" -w get -s 4K -c 32 "${runlen[@]}" --keys 1000 --reuse
  fig http_get_4k_ops "$(field ops_per_s)"
  stop_ceiling
}
# start_ceiling SIZE: an mhd-ceiling serving SIZE-byte GETs, its URL in
# CEILING, once it answers; stop_ceiling ends it.
start_ceiling() {
  local port i
  port=$(coffer_free_port); CEILING=http://127.0.0.1:$port
  "$tools/mhd-ceiling" --port "$port" --size "$1" 2>/dev/null &
  ceiling_pid=$!
  for i in $(seq 1 50); do
    curl -s -o /dev/null "$CEILING/" && return 0
    sleep 0.1
  done
  say "FAILED: mhd-ceiling did not answer"; failed=1
}
stop_ceiling() {
  kill "$ceiling_pid"; wait "$ceiling_pid" 2>/dev/null; ceiling_pid=
}

# ---- 2-4 against one server --------------------------------------------
# Each takes P (figure prefix: "" or "peer_") and the server: ENDPOINT KEY
# SECRET REGION PID (PID may be empty). Keys are under a prefix of this run.
tag=r$$
big_objects() {
  local p=$1 who=${1:+peer}; shift
  say "2. ${who:-coffer}: objects of $big"
  cb "${p}put $big c1" "$@" -w put -s "$big" -c 1 -n $nbig1 --prefix "$tag-big1"
  fig "${p}put_1stream_mib_s" "$(field mib_per_s)"
  fig "${p}put_cpu_s_per_gib" "$CB_CPU_GIB"
  local rss_put=$CB_RSS
  cb "${p}get $big c1" "$@" -w get -s "$big" -c 1 -n $nbig1 --keys $nbig1 --reuse \
    $get_check --prefix "$tag-big1"
  fig "${p}get_1stream_mib_s" "$(field mib_per_s)"
  fig "${p}get_cpu_s_per_gib" "$CB_CPU_GIB"
  local rss_get=$CB_RSS
  if isnum "$rss_put" && isnum "$rss_get"; then
    fig "${p}peak_rss_mib" "$(calc "$rss_put > $rss_get ? $rss_put : $rss_get")"
  else
    fig "${p}peak_rss_mib" n/a
  fi
  cb "${p}put $big c4" "$@" -w put -s "$big" -c 4 -n 4 --prefix "$tag-big4"
  fig "${p}put_4stream_mib_s" "$(field mib_per_s)"
  ratio "${p}put_4stream_ratio_of_limit" "${FIG[${p}put_4stream_mib_s]}" "${FIG[put_limit_mib_s]}"
  cb "${p}get $big c4" "$@" -w get -s "$big" -c 4 -n 8 --keys 4 --reuse $get_check \
    --prefix "$tag-big4"
  fig "${p}get_4stream_mib_s" "$(field mib_per_s)"
  ratio "${p}get_4stream_ratio_of_limit" "${FIG[${p}get_4stream_mib_s]}" "${FIG[http_get_ceiling_mib_s]}"
}

degraded() {              # on our own cofferd only: take two disks' shards away
  local d
  say "2. degraded: removing $COFFER_TMP/var/disk{1,2}/objects under the running cofferd"
  for d in 1 2; do rm -rf "$COFFER_TMP/var/disk$d/objects"; done
  coffer_health "$COFFER_ENDPOINT" || { say "FAILED: cofferd stopped answering"; failed=1; }
  # the healthy GET (get_4stream) read shard files the PUTs had left in the
  # page cache; the scrubs since dropped them, and no GET has read a parity
  # shard: read the shards left into the cache, so that both GETs start in
  # the same state (degraded_get_device_mib: what cofferd still read from
  # the device during the degraded GET)
  find "$COFFER_TMP"/var/disk*/objects -type f -exec cat {} + >/dev/null
  local r0
  r0=$(device_read "${@: -1}")
  cb "degraded get $big c4 (m=2 disks gone)" "$@" -w get -s "$big" -c 4 -n 8 --keys 4 \
    --reuse $get_check --prefix "$tag-big4"
  fig degraded_get_mib_s "$(field mib_per_s)"
  fig degraded_get_device_mib "$(calc "($(device_read "${@: -1}") - $r0) / 1048576")"
  ratio degraded_get_ratio "${FIG[degraded_get_mib_s]}" "${FIG[get_4stream_mib_s]}"
  cb "degraded get $big c1 (m=2 disks gone)" "$@" -w get -s "$big" -c 1 -n $nbig1 \
    --keys $nbig1 --reuse $get_check --prefix "$tag-big1"
  fig degraded_get_1stream_mib_s "$(field mib_per_s)"
  ratio degraded_get_1stream_ratio "${FIG[degraded_get_1stream_mib_s]}" "${FIG[get_1stream_mib_s]}"
  coffer_health "$COFFER_ENDPOINT" || { say "FAILED: cofferd stopped answering"; failed=1; }
}

# Scrub and heal on our own cofferd (issue 12). scrub_mib_s: shard bytes a
# CRC-only scrub read per second; disk_read_shards_mib_s: the same shard
# files read by one reader per disk (dd bs=1M, file after file), all six
# disks at once, before the scrub and after it, the faster of the two (the disks' sequential read rate, as six real disks would
# give it; cat's 128 KiB reads of cold files cost 5-14x dd's CPU here and
# read at half its rate, too low a limit). Both start
# cold: the files' pages are dropped from the page cache first
# (posix_fadvise DONTNEED, no root needed), so both read the same bytes
# from the device, not from memory, and disk_read_shards_device_mib /
# scrub_device_mib (read_bytes of /proc/PID/io) say how much each read
# from the device. (After the PUTs every shard file is resident: a warm
# cat measures memory copies, and the scrub drops each segment from the
# cache as it finishes it.) scrub_cpu_s_per_gib of shard bytes.
# heal_mib_s: shard bytes heal --all wrote per second rebuilding the two
# disks degraded() took away (their fan-out directories put back first).
admin_cli() {
  timeout -k 5 3600 "$build/cli/coffer" --endpoint "$COFFER_ENDPOINT" \
    --admin-credentials "$COFFER_TMP/var/admin-credentials" "$@"
}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f", b - a}'; }
shard_bytes() { du -sb "$@" | awk '{s += $1} END {print s + 0}'; }
# uncache DIR...: drop the pages of every file under DIR from the page cache
uncache() {
  find "$@" -type f -print0 | python3 -c 'import os, sys
for p in sys.stdin.buffer.read().split(b"\0")[:-1]:
    fd = os.open(p, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)'
}
# device_read PID: bytes PID has read from the device (its reaped children too)
device_read() { awk '/^read_bytes:/ {print $2}' "/proc/$1/io" 2>/dev/null || echo 0; }
# read_disks: read every shard file cold, one reader per disk (dd bs=1M,
# file after file), all six disks at once; SECS its seconds, DEV the bytes
# it read from the device
read_disks() {
  local t0
  uncache "$COFFER_TMP"/var/disk*/objects
  t0=$(date +%s.%N)
  DEV=$(bash -c 'for d in "$@"; do
                   find "$d" -type f -exec sh -c "for f; do dd if=\"\$f\" of=/dev/null bs=1M \
                     status=none; done" _ {} + &
                 done; wait
                 awk "/^read_bytes:/ {print \$2}" /proc/$$/io' _ "$COFFER_TMP"/var/disk*/objects)
  SECS=$(since "$t0")
}
scrub_rate() {
  local t0 c0 r0 secs mib dev s1
  say "2. scrub (CRC only) of the objects of $big between two reads of their shard files (all cold)"
  mib=$(calc "$(shard_bytes "$COFFER_TMP"/var/disk*/objects) / 1048576")
  read_disks
  s1=$SECS dev=$DEV
  row "read shard files (dd bs=1M per disk, 6 at once, cold), before" "$SECS" - \
    "$(calc "$mib / $SECS")" - - - 0 - - "$(load1)"
  uncache "$COFFER_TMP"/var/disk*/objects
  c0=$(pid_cpu "$COFFER_PID")
  r0=$(device_read "$COFFER_PID")
  t0=$(date +%s.%N)
  if admin_cli --json scrub >"$work/scrub.json" 2>"$work/scrub.err"; then
    secs=$(since "$t0")
    fig scrub_device_mib "$(calc "($(device_read "$COFFER_PID") - $r0) / 1048576")"
    mib=$(calc "$(it_json "d['shard_bytes']" <"$work/scrub.json") / 1048576")
    fig scrub_mib_s "$(calc "$mib / $secs")"
    fig scrub_cpu_s_per_gib "$(calc "($(pid_cpu "$COFFER_PID") - $c0) * 1024 / $mib")"
  else
    say "FAILED: coffer scrub"; sed 's/^/    /' "$work/scrub.err" >&2; failed=1
    fig scrub_mib_s n/a; fig scrub_cpu_s_per_gib n/a; fig scrub_device_mib n/a; secs=n/a
  fi
  row "scrub (CRC, cold)" "$secs" - "${FIG[scrub_mib_s]}" - - - 0 "${FIG[scrub_cpu_s_per_gib]}" - \
    "$(load1)"
  read_disks
  row "read shard files (dd bs=1M per disk, 6 at once, cold), after" "$SECS" - \
    "$(calc "$mib / $SECS")" - - - 0 - - "$(load1)"
  # the faster of the two: a read after another of the same bytes may be
  # served by a cache below this machine's (a virtual disk's host)
  isnum "$s1" && isnum "$SECS" && [ "$(calc "$SECS < $s1")" = 1.000 ] && s1=$SECS dev=$DEV
  fig disk_read_shards_mib_s "$(calc "$mib / $s1")"
  fig disk_read_shards_device_mib "$(calc "${dev:-0} / 1048576")"
  ratio scrub_ratio_of_disk_read "${FIG[scrub_mib_s]}" "${FIG[disk_read_shards_mib_s]}"
  target scrub_ratio_of_disk_read ">=" 0.8
}
# get_during_scrub_ratio: the 4-stream GET of big_objects again while
# scrubs run one after another (CRC only, at the scrub job's configured
# rate), over the same GET without one (target >= 0.7: foreground traffic
# keeps its throughput while a job runs). get_during_scrub_scrubs: how
# many scrubs ran (the gaps between them, the CLI's polling of at most
# 0.5 s each, are inside the GET's time too). The loop stops after the
# scrub running when the GET ends.
get_during_scrub() {
  local spid
  say "2. get $big c4 while scrubs run"
  : >"$work/scrub.loop"
  ( n=0
    while [ -e "$work/scrub.loop" ]; do
      admin_cli --json scrub >/dev/null 2>"$work/scrub-loop.err" || exit 1
      n=$((n + 1))
    done
    echo "$n" >"$work/scrub.count" ) &
  spid=$!
  sleep 0.5                   # the first scrub job is running
  cb "get $big c4 during scrub" "$@" -w get -s "$big" -c 4 -n 8 --keys 4 --reuse \
    $get_check --prefix "$tag-big4"
  fig get_during_scrub_mib_s "$(field mib_per_s)"
  rm -f "$work/scrub.loop"
  if ! wait "$spid"; then
    say "FAILED: coffer scrub (during the GET)"; sed 's/^/    /' "$work/scrub-loop.err" >&2
    failed=1
  fi
  fig get_during_scrub_scrubs "$(cat "$work/scrub.count" 2>/dev/null || echo n/a)"
  ratio get_during_scrub_ratio "${FIG[get_during_scrub_mib_s]}" "${FIG[get_4stream_mib_s]}"
  target get_during_scrub_ratio ">=" 0.7
  rm -f "$work/scrub.count" "$work/scrub-loop.err"
}
heal_rate() {
  local t0 c0 secs mib d
  say "2. heal --all rebuilding disk1 and disk2"
  for d in 1 2; do
    mkdir -p $(printf "$COFFER_TMP/var/disk$d/objects/%02x " $(seq 0 255))
  done
  c0=$(pid_cpu "$COFFER_PID")
  t0=$(date +%s.%N)
  if admin_cli --json heal --all >"$work/heal.json" 2>"$work/heal.err"; then
    secs=$(since "$t0")
    mib=$(calc "$(shard_bytes "$COFFER_TMP"/var/disk{1,2}/objects) / 1048576")
    fig heal_mib_s "$(calc "$mib / $secs")"
    fig heal_cpu_s_per_gib "$(calc "($(pid_cpu "$COFFER_PID") - $c0) * 1024 / $mib")"
  else
    say "FAILED: coffer heal --all"; sed 's/^/    /' "$work/heal.err" >&2; failed=1
    fig heal_mib_s n/a; fig heal_cpu_s_per_gib n/a; secs=n/a
  fi
  row "heal --all (2 disks)" "$secs" - "${FIG[heal_mib_s]}" - - - 0 \
    "${FIG[heal_cpu_s_per_gib]}" - "$(load1)"
}

small_objects() {
  local p=$1 who=${1:+peer}; shift
  say "3. ${who:-coffer}: small objects, runs of ${runlen[*]}"
  local size c kind n
  for size in 4K 64K; do
    kind=$(tr K k <<<"$size")
    for c in 1 32; do
      cb "${p}put $size c$c" "$@" -w put -s "$size" -c $c "${runlen[@]}" --prefix "$tag-s$kind-c$c"
      fig "${p}small_put_${kind}_c${c}_ops" "$(field ops_per_s)"
    done
    n=$(field ops)                   # the c32 run's objects: 0 .. n-1
    isnum "$n" && [ "$n" -gt 0 ] || n=1
    [ "$n" -le 1000 ] || n=1000
    for c in 1 32; do
      cb "${p}get $size c$c ($n keys)" "$@" -w get -s "$size" -c $c "${runlen[@]}" --keys "$n" \
        --reuse $get_check --prefix "$tag-s$kind-c32"
      fig "${p}small_get_${kind}_c${c}_ops" "$(field ops_per_s)"
    done
  done
  [ -n "$p" ] || layout_before
  cb "${p}put 256K c32" "$@" -w put -s 256K -c 32 "${runlen[@]}" --prefix "$tag-m256k-c32"
  fig "${p}mid_put_256k_c32_ops" "$(field ops_per_s)"
  fig "${p}mid_put_256k_cpu_s_per_gib" "$CB_CPU_GIB"
  [ -n "$p" ] || layout_figs mid_put_256k "$(field ops)"
  n=$(field ops)                     # GETs of the objects that PUT made
  isnum "$n" && [ "$n" -gt 0 ] || n=1
  [ "$n" -le 1000 ] || n=1000
  cb "${p}get 256K c32 ($n keys)" "$@" -w get -s 256K -c 32 "${runlen[@]}" --keys "$n" \
    --reuse $get_check --prefix "$tag-m256k-c32"
  fig "${p}mid_get_256k_c32_ops" "$(field ops_per_s)"
  fig "${p}mid_get_256k_cpu_s_per_gib" "$CB_CPU_GIB"
  fig "${p}small_put_ops" "${FIG[${p}small_put_4k_c32_ops]}"
  fig "${p}small_get_ops" "${FIG[${p}small_get_4k_c32_ops]}"
  ratio "${p}small_put_ratio_of_fsync_limit" "${FIG[${p}small_put_ops]}" "${FIG[fsync_group_ops]}"
  ratio "${p}small_get_ratio_of_http_limit" "${FIG[${p}small_get_ops]}" "${FIG[http_get_4k_ops]}"
  ratio "${p}mid_put_256k_ratio_of_limit" "${FIG[${p}mid_put_256k_c32_ops]}" \
    "${FIG[mid_put_pack_limit_ops]}"
  ratio "${p}mid_put_256k_cpu_ratio_vs_1g" "${FIG[${p}mid_put_256k_cpu_s_per_gib]}" \
    "${FIG[${p}put_cpu_s_per_gib]}"
  ratio "${p}mid_get_256k_cpu_ratio_vs_1g" "${FIG[${p}mid_get_256k_cpu_s_per_gib]}" \
    "${FIG[${p}get_cpu_s_per_gib]}"
}

# The data layout a run left on this cofferd (COFFER_TMP): shard files
# under the disks' objects/ and pack records (the index's pack_shards rows,
# one per packed shard, doc/design.md "Mid-size objects"), counted before
# it (layout_before) and after it, per object it wrote (layout_figs NAME
# OBJECTS: NAME_shard_files_per_object and NAME_pack_records_per_object).
layout_now() {
  local files
  files=$(find "$COFFER_TMP"/var/disk*/objects -type f | wc -l)
  python3 - "$COFFER_TMP/var/meta/index.db" "$files" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=30)
print(sys.argv[2], db.execute("SELECT count(*) FROM pack_shards").fetchone()[0])
PY
}
layout_before() { LAYOUT0=$(layout_now) || LAYOUT0=; }
layout_figs() {
  local now n=$2
  now=$(layout_now) || now=
  if [ -n "$LAYOUT0" ] && [ -n "$now" ] && isnum "$n" && [ "$n" -gt 0 ]; then
    fig "$1_shard_files_per_object" "$(calc "(${now% *} - ${LAYOUT0% *}) / $n")"
    fig "$1_pack_records_per_object" "$(calc "(${now#* } - ${LAYOUT0#* }) / $n")"
  else
    fig "$1_shard_files_per_object" n/a; fig "$1_pack_records_per_object" n/a
  fi
}

# The 256 KiB PUT at 32 connections again, on a fresh cofferd with
# packing off (storage.pack_shard_max_bytes 0: a shard file per disk per
# object, as before packing was the default, doc/design.md "Mid-size
# objects"): the default run of section 3 over it, objects/s and server
# CPU per GiB.
mid_files() {
  say "3b. coffer: 256 KiB PUT with packing off (shard files)"
  COFFER_CONFIG_EXTRA='{"storage": {"pack_shard_max_bytes": 0}}' start_cofferd
  layout_before
  cb "put 256K c32 shard files" "$COFFER_ENDPOINT" "$COFFER_ACCESS_KEY" "$COFFER_SECRET_KEY" \
    us-east-1 "$COFFER_PID" -w put -s 256K -c 32 "${runlen[@]}" --prefix files-m256k-c32
  fig mid_put_256k_files_c32_ops "$(field ops_per_s)"
  fig mid_put_256k_files_cpu_s_per_gib "$CB_CPU_GIB"
  layout_figs mid_put_256k_files "$(field ops)"
  ratio mid_put_256k_ops_ratio_vs_files "${FIG[mid_put_256k_c32_ops]}" \
    "${FIG[mid_put_256k_files_c32_ops]}"
  ratio mid_put_256k_cpu_ratio_vs_files "${FIG[mid_put_256k_cpu_s_per_gib]}" \
    "${FIG[mid_put_256k_files_cpu_s_per_gib]}"
  ratio mid_put_256k_files_ratio_of_limit "${FIG[mid_put_256k_files_c32_ops]}" \
    "${FIG[mid_put_limit_ops]}"
  stop_cofferd
}

listing() {
  local p=$1 who=${1:+peer}; shift
  say "4. ${who:-coffer}: ListObjectsV2 over $nkeys keys"
  cb "${p}put $nkeys keys (1 B) c32" "$@" -w put -s 1 -c 32 -n "$nkeys" -b "$tag-list" \
    --prefix "$tag-list"
  fig "${p}list_prepare_ops" "$(field ops_per_s)"
  cb "${p}list 1000-key pages of $nkeys c1" "$@" -w list -s 1 -c 1 "${runlen[@]}" --keys "$nkeys" \
    --reuse -b "$tag-list" --prefix "$tag-list"
  fig "${p}list_page_ms_p50" "$(field lat_p50_ms)"
  fig "${p}list_page_ms_p99" "$(field lat_p99_ms)"
  fig "${p}list_pages_per_s" "$(field ops_per_s)"
}

# ---- 5. restic and rclone ---------------------------------------------
# clients_setup makes the tree and the clients' sandbox (HOME, caches,
# config) once; clients_local runs restic and rclone against a local
# directory, clients_s3 against one S3 server; clients_done removes it all.
tree=$work/tree
tree_mib=$(calc "$tree_bytes / 1048576")
clients_setup() {
  say "5. restic and rclone: generating $tree_files files, $tree_mib MiB"
  "$tools/bench-tree" "$tree" "$tree_files" "$tree_bytes" 1 || { failed=1; return 1; }
  export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_CACHE_HOME=$work/home/.cache
  mkdir -p "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
  export RESTIC_PASSWORD=coffer-bench RESTIC_CACHE_DIR=$work/restic-cache
  export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
  export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
  unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY AWS_PROFILE AWS_ENDPOINT_URL \
    AWS_CA_BUNDLE AWS_SESSION_TOKEN AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
  export RCLONE_CONFIG=$work/rclone.conf
  : >"$RCLONE_CONFIG"
  export RCLONE_CONFIG_BENCHS3_TYPE=s3 RCLONE_CONFIG_BENCHS3_PROVIDER=Other \
    RCLONE_CONFIG_BENCHS3_ENV_AUTH=false RCLONE_CONFIG_BENCHS3_REGION=us-east-1 \
    RCLONE_CONFIG_BENCHS3_FORCE_PATH_STYLE=true
}
clients_done() {
  rm -rf "$tree" "$work/rclone-local" "$work/restic-local" "$RESTIC_CACHE_DIR"
}

# One kind of run (restic backup, restic restore, rclone copy) against a
# target: "local" or an S3 server set up by clients_s3.
client_run() {            # client_run WHAT TARGET FIG PIDS
  local what=$1 target=$2 f=$3 repo=s3:${CL_ENDPOINT:-}/restic-bench
  [ "$target" != local ] || repo=$work/restic-local
  case $what in
    backup)
      TIMED_PIDS=$4 timed "restic backup $target ($tree_files files, $tree_mib MiB)" "$tree_mib" "$f" \
        bash -c 'cd "$1" && restic -r "$2" backup --quiet --host bench .' _ "$tree" "$repo" ;;
    restore)
      TIMED_PIDS=$4 timed "restic restore $target" "$tree_mib" "$f" \
        restic -r "$repo" restore latest --target "$work/restore"
      if [ "${BENCH_SMOKE:-0}" = 1 ] && ! diff -r "$tree" "$work/restore" >/dev/null; then
        say "FAILED: restic restore ($target) differs from the tree"; failed=1
      fi
      rm -rf "$work/restore" ;;
    copy)
      local dst=benchs3:rclone-bench/tree
      [ "$target" != local ] || dst=$work/rclone-local
      TIMED_PIDS=$4 timed "rclone copy $target" "$tree_mib" "$f" \
        rclone copy --transfers 4 "$tree" "$dst" ;;
  esac
}

client_env() {            # client_env ENDPOINT KEY SECRET: the clients' S3 server
  CL_ENDPOINT=$1
  export AWS_ACCESS_KEY_ID=$2 AWS_SECRET_ACCESS_KEY=$3
  export RCLONE_CONFIG_BENCHS3_ACCESS_KEY_ID=$2 RCLONE_CONFIG_BENCHS3_SECRET_ACCESS_KEY=$3 \
    RCLONE_CONFIG_BENCHS3_ENDPOINT=$1
  restic -r "s3:$1/restic-bench" init >/dev/null 2>&1 || { say "FAILED: restic init at $1"; failed=1; return 1; }
}

# cofferd and the local directory, interleaved as before (cofferd first).
clients_coffer() {        # clients_coffer ENDPOINT KEY SECRET PIDS
  client_env "$1" "$2" "$3" || return
  restic -r "$work/restic-local" init >/dev/null 2>&1 ||
    { say "FAILED: restic init (local)"; failed=1; return; }
  client_run backup coffer restic_backup_coffer "$4"
  client_run backup local restic_backup_local ""
  client_run restore coffer restic_restore_coffer "$4"
  client_run restore local restic_restore_local ""
  client_run copy coffer rclone_copy_coffer "$4"
  client_run copy local rclone_copy_local ""
  ratio restic_backup_ratio_vs_local "${FIG[restic_backup_coffer_s]}" "${FIG[restic_backup_local_s]}"
  ratio restic_restore_ratio_vs_local "${FIG[restic_restore_coffer_s]}" "${FIG[restic_restore_local_s]}"
  ratio rclone_copy_ratio_vs_local "${FIG[rclone_copy_coffer_s]}" "${FIG[rclone_copy_local_s]}"
}

# The peer: the same runs, figures peer_restic_backup_*, ...; ratios to
# the local runs made with cofferd's.
clients_peer() {          # clients_peer ENDPOINT KEY SECRET PIDS
  client_env "$1" "$2" "$3" || return
  client_run backup peer peer_restic_backup "$4"
  client_run restore peer peer_restic_restore "$4"
  client_run copy peer peer_rclone_copy "$4"
  ratio peer_restic_backup_ratio_vs_local "${FIG[peer_restic_backup_s]}" "${FIG[restic_backup_local_s]}"
  ratio peer_restic_restore_ratio_vs_local "${FIG[peer_restic_restore_s]}" "${FIG[restic_restore_local_s]}"
  ratio peer_rclone_copy_ratio_vs_local "${FIG[peer_rclone_copy_s]}" "${FIG[rclone_copy_local_s]}"
}

# ---- 6. the cold tier ---------------------------------------------------
# A second cofferd is the tier; a lifecycle rule moves 4 objects of BIG
# (4 transitions at once); then GETs of tiered and local objects.
tier_rule() {             # tier_rule PREFIX: transition it to COLD at once
  python3 - "$COFFER_ENDPOINT" "$COFFER_ACCESS_KEY" "$COFFER_SECRET_KEY" "$1" <<'PY'
import sys, boto3
from botocore.config import Config
ep, ak, sk, prefix = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
s3.put_bucket_lifecycle_configuration(Bucket="coffer-bench", LifecycleConfiguration={
    "Rules": [{"ID": "bench", "Status": "Enabled", "Filter": {"Prefix": prefix},
               "Transitions": [{"Days": 0, "StorageClass": "COLD"}]}]})
PY
}
tier_moved() {            # tier_moved N: the tier holds N objects, nothing queued
  local st
  st=$(admin_cli --json tier status COLD) || return 1
  [ "$(it_json 'd["objects"]' <<<"$st")" = "$1" ] && [ "$(it_json 'd["queue"]' <<<"$st")" = 0 ]
}
tiering() {                # tiering s3|azure: figures NAME (s3) or azure_NAME
  local type=$1 p= remote_pid
  if [ "$type" = azure ]; then
    p=azure_
    say "6. the cold tier: 4 x $big to Azurite (an Azure tier), 4 transitions at once"
    tier_azure_start "$work/tier-azurite" || { say "FAILED: Azurite"; failed=1; return; }
    remote_pid=$AZURITE_PID
  else
    say "6. the cold tier: 4 x $big to a second cofferd, 4 transitions at once"
    tier_remote_start "$work/tier-remote" || { say "FAILED: the remote cofferd"; failed=1; return; }
    tier_bucket "$REMOTE_ENDPOINT" "$REMOTE_AK" "$REMOTE_SK" tier || { failed=1; return; }
    remote_pid=$REMOTE_PID
  fi
  COFFER_CONFIG_EXTRA='{"lifecycle": {"interval_seconds": 1, "transitions": 4}}' start_cofferd
  export COFFER_CLI=$build/cli/coffer
  if [ "$type" = azure ]; then
    admin_cli tier add COLD --type azure --endpoint "$AZURITE_ENDPOINT" \
      --account "$AZURITE_ACCOUNT" --container tier --account-key "$AZURITE_KEY" >/dev/null 2>&1
  else
    admin_cli tier add COLD --endpoint "$REMOTE_ENDPOINT" --bucket tier \
      --access-key "$REMOTE_AK" --secret-key "$REMOTE_SK" >/dev/null 2>&1
  fi || { say "FAILED: coffer tier add"; failed=1; }
  local self=("$COFFER_ENDPOINT" "$COFFER_ACCESS_KEY" "$COFFER_SECRET_KEY" us-east-1 "$COFFER_PID")
  cb "tier: put $big c4 (to move)" "${self[@]}" -w put -s "$big" -c 4 -n 4 --prefix "$tag-tt"
  cb "tier: put $big c1 (stays)" "${self[@]}" -w put -s "$big" -c 1 -n 1 --prefix "$tag-tl"
  local reset=1 c0 r0 t0 i secs
  servers_rss_reset "$COFFER_PID" && reset=0
  c0=$(servers_cpu "$COFFER_PID"); r0=$(servers_cpu "$remote_pid"); t0=$(date +%s.%N)
  local ruled=1
  tier_rule "$tag-tt/" || { say "FAILED: the lifecycle rule"; failed=1; ruled=0; }
  for i in $(seq 1 3600); do           # nothing moves without the rule: no wait
    [ $ruled = 1 ] || break
    tier_moved 4 && break
    sleep 0.5
  done
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f", b - a}')
  tier_moved 4 || { say "FAILED: the transitions did not finish"; failed=1; secs=n/a; }
  local mib=$((4 * big_mib))
  fig "${p}transition_mib_s" "$(isnum "$secs" && calc "$mib / $secs" || echo n/a)"
  fig "${p}transition_cpu_s_per_gib" "$(calc "($(servers_cpu "$COFFER_PID") - $c0) * 1024 / $mib")"
  fig "${p}transition_remote_cpu_s_per_gib" \
    "$(calc "($(servers_cpu "$remote_pid") - $r0) * 1024 / $mib")"
  fig "${p}tier_peak_rss_mib" "$([ $reset = 0 ] && servers_rss_mib "$COFFER_PID" || echo n/a)"
  row "tier ($type): 4 transitions of $big" "$secs" - "${FIG[${p}transition_mib_s]}" - - - - \
    "${FIG[${p}transition_cpu_s_per_gib]}" "${FIG[${p}tier_peak_rss_mib]}" "$(load1)"
  cb "tier: get tiered $big c1" "${self[@]}" -w get -s "$big" -c 1 -n $nbig1 --keys 1 --reuse \
    $get_check --prefix "$tag-tt"
  fig "${p}tiered_get_mib_s" "$(field mib_per_s)"
  cb "tier: get local $big c1" "${self[@]}" -w get -s "$big" -c 1 -n $nbig1 --keys 1 --reuse \
    $get_check --prefix "$tag-tl"
  fig "${p}local_get_mib_s" "$(field mib_per_s)"
  ratio "${p}tiered_get_ratio" "${FIG[${p}tiered_get_mib_s]}" "${FIG[${p}local_get_mib_s]}"
  cb "tier: get 64K ranges of tiered $big c1" "${self[@]}" -w get -s "$big" --range 64K -c 1 \
    "${runlen[@]}" --keys 4 --reuse $get_check --prefix "$tag-tt"
  fig "${p}tiered_range_get_ms_p50" "$(field lat_p50_ms)"
  stop_cofferd
  if [ "$type" = azure ]; then azurite_stop "$work/tier-azurite"; else tier_remote_stop; fi
}

# ---- the peer ----------------------------------------------------------
# BENCH_PEER=rgw: a Ceph RGW of our own, its processes in PEER_PIDS.
start_peer() {
  local store=${BENCH_PEER_OBJECTSTORE:-bluestore}
  say "peer: starting Ceph RGW ($store) under $work/rgw"
  rgw_start "$work/rgw" --objectstore "$store" || { say "FAILED: the Ceph RGW did not start"; exit 1; }
  PEER_ENDPOINT=$RGW_ENDPOINT PEER_KEY=$RGW_ACCESS_KEY PEER_SECRET=$RGW_SECRET_KEY
  PEER_REGION=$RGW_REGION PEER_PIDS=$RGW_PIDS
  fig peer_startup_s "$RGW_STARTUP_S"
}

# ---- the suite ---------------------------------------------------------
fig load_1m_start "$(load1)"
say "load average $(load1); work directory $work"
row "run" "s" "ops/s" "MiB/s" "p50 ms" "p99 ms" "max ms" "errors" "server CPU s/GiB" \
  "server peak RSS MiB" "load"
echo "|---|---|---|---|---|---|---|---|---|---|---|"

if [ "${BENCH_ONLY:-}" = scrub ]; then
  fig put_limit_mib_s n/a; fig http_get_ceiling_mib_s n/a     # not measured
else
  limits
fi

start_cofferd
self=("$COFFER_ENDPOINT" "$COFFER_ACCESS_KEY" "$COFFER_SECRET_KEY" us-east-1 "$COFFER_PID")
big_objects "" "${self[@]}"
scrub_rate
get_during_scrub "${self[@]}"
degraded "${self[@]}"
heal_rate
stop_cofferd                  # two disks are broken, and 9 GiB is enough

if [ "${BENCH_ONLY:-}" != scrub ]; then   # (not indented: the sections below are others')

start_cofferd
self=("$COFFER_ENDPOINT" "$COFFER_ACCESS_KEY" "$COFFER_SECRET_KEY" us-east-1 "$COFFER_PID")
small_objects "" "${self[@]}"
listing "" "${self[@]}"
clients_setup && clients_coffer "$COFFER_ENDPOINT" "$COFFER_ACCESS_KEY" "$COFFER_SECRET_KEY" \
  "$COFFER_PID"
stop_cofferd
mid_files

tiering s3
tiering azure

peer_figs=()
[ "${BENCH_PEER:-}" != rgw ] || start_peer
if [ -n "${PEER_ENDPOINT:-}" ]; then
  peer=("$PEER_ENDPOINT" "${PEER_KEY:?PEER_KEY is needed}" "${PEER_SECRET:?PEER_SECRET is needed}"
        "${PEER_REGION:-us-east-1}" "${PEER_PIDS:-}")
  say "peer $PEER_ENDPOINT${PEER_PIDS:+ (pids $PEER_PIDS)}: sections 2-5; no degraded GET (not our disks)"
  n_before=${#ORDER[@]}
  big_objects peer_ "${peer[@]}"
  small_objects peer_ "${peer[@]}"
  listing peer_ "${peer[@]}"
  [ ! -d "$tree" ] || clients_peer "$PEER_ENDPOINT" "$PEER_KEY" "$PEER_SECRET" "${PEER_PIDS:-}"
  peer_figs=("${ORDER[@]:$n_before}")
fi
[ "${BENCH_PEER:-}" != rgw ] || rgw_stop "$work/rgw" || { say "FAILED: the Ceph RGW did not stop cleanly"; failed=1; }
clients_done
fi                            # BENCH_ONLY

# ---- targets and the summary ---------------------------------------------
target put_cpu_s_per_gib "<=" 2.5
target get_cpu_s_per_gib "<=" 0.5
target peak_rss_mib "<=" 64
target put_4stream_ratio_of_limit ">=" 0.8
target get_4stream_ratio_of_limit ">=" 0.8
target degraded_get_ratio ">=" 0.8
target small_put_ratio_of_fsync_limit ">=" 0.5
target small_get_ratio_of_http_limit ">=" 0.2
target list_page_ms_p50 "<=" 20
target restic_backup_ratio_vs_local "<=" 1.25
target restic_restore_ratio_vs_local "<=" 1.25
target rclone_copy_ratio_vs_local "<=" 2.0
target rclone_copy_coffer_server_cpu_s_per_gib "<=" 5.0
target restic_backup_coffer_server_cpu_s_per_gib "<=" 3.0
target mid_put_256k_ratio_of_limit ">=" 0.5
target mid_put_256k_cpu_ratio_vs_1g "<=" 2.0
target tiered_get_ratio ">=" 0.5
target azure_tiered_get_ratio ">=" 0.5
target tier_peak_rss_mib "<=" 64
target azure_tier_peak_rss_mib "<=" 64
target coffer_over_peer_put_cpu_s_per_gib ">=" 2.0
target coffer_over_peer_get_cpu_s_per_gib ">=" 2.0
target coffer_over_peer_rclone_copy_server_cpu_s_per_gib ">=" 2.0
target coffer_over_peer_rclone_copy_s ">=" 1.0

# coffer_over_peer_NAME: > 1 when cofferd did better. A client run's
# figure is peer_restic_backup_s against cofferd's restic_backup_coffer_s.
for pf in ${peer_figs[@]+"${peer_figs[@]}"}; do
  name=${pf#peer_} cname=${pf#peer_}
  for base in restic_backup restic_restore rclone_copy; do
    [[ $name != "${base}"_* ]] || cname=${base}_coffer_${name#"${base}"_}
  done
  case $name in
    *_ratio_of_*|*_ratio_vs_*|list_prepare_ops) continue ;;
    *_mib_s|*_ops|*_per_s) ratio "coffer_over_peer_$name" "${FIG[$cname]:-}" "${FIG[$pf]}" ;;
    *) ratio "coffer_over_peer_$name" "${FIG[$pf]}" "${FIG[$cname]:-}" ;;
  esac
done
fig load_1m_end "$(load1)"
fig suite_seconds "$(elapsed)"

# Every figure must be a number, except a peer's CPU and memory when
# PEER_PIDS is not given, and a ratio over a zero.
echo
for name in "${ORDER[@]}"; do
  summary_line "$name"
  isnum "${FIG[$name]}" || [ "${FIG[$name]}" = "$ZERO" ] && continue
  [[ ${BENCH_ONLY:-} == scrub && ( $name == *_ratio_of_limit || $name == put_limit_mib_s ||
     $name == http_get_ceiling_mib_s ) ]] && continue
  [[ -z ${PEER_PIDS:-} && $name == *peer_* && ( $name == *cpu_s* || $name == *rss_mib ) ]] &&
    continue
  say "no figure: $name"
  failed=1
done

# What each ratio to a limit divides by, and over what that limit was
# measured (the volume or time of the workload it stands for).
echo
echo "Limits the ratios use:"
echo "* put_4stream_ratio_of_limit: put_limit_mib_s = min(put_pipeline_all_cores_mib_s, disk_write_plain_mib_s); the disks over ${FIG[disk_write_volume_mib]:-n/a} MiB of shard files, the 4-stream PUT's 4 x $big_mib MiB written as the engine writes them (six files per object, write-back every 8 MiB, fdatasync each)"
echo "* get_4stream_ratio_of_limit: http_get_ceiling_mib_s, mhd-ceiling serving 4 x $big GETs from memory (no disk)"
echo "* degraded_get_ratio: get_4stream_mib_s, this run's healthy 4-stream GET (both with every shard file in the page cache: degraded_get_device_mib is what the degraded GET still read from the device)"
echo "* scrub_ratio_of_disk_read: disk_read_shards_mib_s, the same shard files read by dd bs=1M, one reader per disk, all six at once, the faster of a read before the scrub and one after; all cold (dropped from the page cache first): the device bytes each read are disk_read_shards_device_mib and scrub_device_mib"
echo "* small_put_ratio_of_fsync_limit: fsync_group_ops, 4 KiB appends to one file by 32 threads for ${secs} s (as long as the PUT run), each durable when a shared fdatasync covers it (the index's group commit; SQLite's page overhead not included)"
echo "* small_get_ratio_of_http_limit: http_get_4k_ops, mhd-ceiling serving 4 KiB GETs at 32 connections"
echo "* mid_put_256k_ratio_of_limit: mid_put_pack_limit_ops, the limit of the layout the default run writes (packs): 256 KiB objects written by 32 threads for ${secs} s as the engine packs them (a record appended to each disk's one pack file, each pack's group-committed fdatasync, then the index commit: WAL frames and six journal records, one group-committed round of WAL fdatasync + six journal fdatasyncs)"
echo "* mid_put_256k_files_ratio_of_limit: mid_put_limit_ops, the limit of the layout the packing-off run writes: the same objects as six shard files each (create, write, fdatasync, rename, directory fsync), then the same index commit"
echo "* mid_put_256k_cpu_ratio_vs_1g: put_cpu_s_per_gib, the 1 GiB single-stream PUT's server CPU"
echo "* mid_get_256k_cpu_ratio_vs_1g: get_cpu_s_per_gib, the 1 GiB single-stream GET's server CPU"
echo "* mid_put_256k_*_ratio_vs_files: mid_put_256k_files_c32_ops and mid_put_256k_files_cpu_s_per_gib, the same PUT run on a cofferd with packing off (storage.pack_shard_max_bytes 0: shard files)"
echo "* *_ratio_vs_local: the same client run against a local directory on this disk"
echo "* tiered_get_ratio: local_get_mib_s, a GET of an object of $big kept on this cofferd's disks"
say "done in $(elapsed) s, load average $(load1)$([ $failed = 0 ] || echo '; SOME RUNS FAILED')"
exit $failed
