#!/usr/bin/env bash
# tests/integration/loadgen.sh - coffer-bench against a real cofferd: every
# workload in every payload mode (UNSIGNED-PAYLOAD, signed, aws-chunked),
# small and multi-part sizes, ranged GETs (--range), every GET verified
# byte for byte; the report has its figures and the server's; a wrong
# secret fails with exit 1 and the server's error. Then mhd-ceiling
# answers coffer-bench's put and get.
set -u
here=$(cd "$(dirname "$0")" && pwd)
COFFERD=${COFFERD:-$(pwd)/server/cofferd}
bench=$(pwd)/contrib/bench/coffer-bench
ceiling=$(pwd)/contrib/bench/mhd-ceiling
export COFFERD
. "$here/lib.sh"

fail() { echo "FAIL: $*" >&2; exit 1; }
ceiling_pid=
trap 'coffer_stop >/dev/null 2>&1; [ -z "$ceiling_pid" ] || kill "$ceiling_pid"' EXIT
trap 'exit 1' INT TERM
coffer_start || exit 1

# run WORKLOAD PAYLOAD SIZE [ARGS...]: must succeed with ops > 0, no errors
run() {
  local out
  out=$("$bench" -w "$1" -p "$2" -s "$3" -n 6 -c 3 --keys 4 --verify \
        --prefix "t-$1-$2-$3" --server-pid "$COFFER_PID" "${@:4}") ||
    fail "coffer-bench -w $1 -p $2 -s $3 exited $?: $out"
  for f in ops_per_s mib_per_s lat_p50_ms lat_p99_ms lat_max_ms server_cpu_s \
           server_peak_rss_mib; do
    grep -q "^$f: [0-9]" <<<"$out" || fail "$1/$2/$3: no $f in: $out"
  done
  grep -q '^errors: 0$' <<<"$out" || fail "$1/$2/$3: errors in: $out"
  grep -q '^ops: [1-9]' <<<"$out" || fail "$1/$2/$3: no ops in: $out"
}

for p in unsigned signed chunked; do
  run put "$p" 1K
  run put "$p" 200K          # several aws-chunked chunks, a short last one
  run multipart "$p" 11M --part-size 5M
done
for w in get mixed list delete; do
  run "$w" unsigned 100K
done
run get signed 3M
run get unsigned 1M --range 64K   # ranged GETs from moving offsets (make bench's tier section)

out=$("$bench" -w put -s 1K -n 1 -k not-the-secret 2>&1) && fail "a wrong secret succeeded"
grep -q SignatureDoesNotMatch <<<"$out" || fail "no SignatureDoesNotMatch in: $out"

port=$(coffer_free_port)
"$ceiling" --port "$port" --size 65536 --threads 2 2>/dev/null &
ceiling_pid=$!
for i in $(seq 1 50); do
  "$bench" -e "http://127.0.0.1:$port" -a x -k y -w get -s 64K -n 20 -c 2 --keys 2 \
    >/dev/null 2>&1 && break
  sleep 0.1
done
out=$("$bench" -e "http://127.0.0.1:$port" -a x -k y -w put -s 64K -n 20 -c 2) ||
  fail "coffer-bench against mhd-ceiling: $out"
grep -q '^ops: 20$' <<<"$out" || fail "mhd-ceiling put: $out"
coffer_stop || fail "cofferd did not stop cleanly"
