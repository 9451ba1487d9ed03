#!/usr/bin/env bash
# contrib/bench/run.sh - `make bench`: the standard load suite. Starts a
# throw-away cofferd (tests/integration/lib.sh: embedded default, six disk
# directories, loopback) and mhd-ceiling, runs a fixed matrix of
# coffer-bench workloads, each for BENCH_SECONDS (10), and prints one
# Markdown table row per run: ops/s, MiB/s, latency p50/p99/max, errors,
# cofferd's CPU seconds per GiB and peak RSS, and the load average (the
# figures mean little on a busy machine). The ceiling rows are HTTP alone.
#
# Run from the build directory (make bench does); BENCH_DIR places the
# server's data (default: the build directory, a real disk, not tmpfs).
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(pwd)
bench=$build/contrib/bench/coffer-bench
secs=${BENCH_SECONDS:-10}
export COFFERD=${COFFERD:-$build/server/cofferd}
. "$src/tests/integration/lib.sh"

ceiling_pid=
trap 'coffer_stop >/dev/null 2>&1; [ -z "$ceiling_pid" ] || kill "$ceiling_pid"' EXIT
trap 'exit 1' INT TERM
TMPDIR=${BENCH_DIR:-$build} coffer_start || exit 1

field() { sed -n "s/^$1: //p" <<<"$2"; }

# row NAME COFFER-BENCH-ARGS...: one run, under a key prefix of its own
n=0
row() {
  local name=$1; shift
  local out
  n=$((n + 1))
  out=$("$bench" -d "$secs" --prefix "run$n" "$@" 2>/dev/null)
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" \
    "$(field ops_per_s "$out")" "$(field mib_per_s "$out")" \
    "$(field lat_p50_ms "$out")" "$(field lat_p99_ms "$out")" \
    "$(field lat_max_ms "$out")" "$(field errors "$out")" \
    "$(field server_cpu_s_per_gib "$out")" "$(field server_peak_rss_mib "$out")" \
    "$(field load_1m "$out")"
}

coffer() { row "$1" -e "$COFFER_ENDPOINT" -a "$COFFER_ACCESS_KEY" -k "$COFFER_SECRET_KEY" \
                --server-pid "$COFFER_PID" "${@:2}"; }

echo "| run | ops/s | MiB/s | p50 ms | p99 ms | max ms | errors | server CPU s/GiB | server peak RSS MiB | load |"
echo "|---|---|---|---|---|---|---|---|---|---|"
port=$(coffer_free_port)
"$build/contrib/bench/mhd-ceiling" --port "$port" --size 1048576 2>/dev/null &
ceiling_pid=$!
sleep 0.5
row "ceiling put 1M c8" -e "http://127.0.0.1:$port" -a x -k y -w put -s 1M -c 8
row "ceiling get 1M c8" -e "http://127.0.0.1:$port" -a x -k y -w get -s 1M -c 8 --keys 8
kill "$ceiling_pid"; ceiling_pid=

coffer "put 4K c1" -w put -s 4K -c 1
coffer "put 4K c8" -w put -s 4K -c 8
coffer "get 4K c8" -w get -s 4K -c 8 --keys 1000
coffer "put 1M c8 unsigned" -w put -s 1M -c 8
coffer "put 1M c8 signed" -w put -s 1M -c 8 -p signed
coffer "put 1M c8 chunked" -w put -s 1M -c 8 -p chunked
coffer "get 1M c8" -w get -s 1M -c 8 --keys 64
coffer "mixed 1M c8 (70% get)" -w mixed -s 1M -c 8 --keys 64
coffer "put 64M c4" -w put -s 64M -c 4
coffer "get 64M c4" -w get -s 64M -c 4 --keys 8
coffer "multipart 256M (16M parts) c2" -w multipart -s 256M --part-size 16M -c 2
coffer "list 1000 keys c4" -w list -s 1K -c 4 --keys 1000
coffer "delete 4K c8" -w delete -s 4K -c 8 --keys 2000
