#!/usr/bin/env bash
# contrib/fuzz.sh - build the libFuzzer targets (tests/fuzz/) in a build
# directory of their own (build-fuzz/ beside the sources, configured with
# CC=clang --enable-fuzzing, so the normal builds never compile them) and
# run each for FUZZ_SECONDS (default 20) from its committed seed corpus,
# FUZZ_JOBS (default 2) at a time. `make fuzz` runs it for 300 s a target;
# contrib/test.sh for 10 s, so that the targets keep building and running.
#
# A crash, sanitizer report, leak or timeout (an input taking over 10 s)
# fails the run and names the input libFuzzer saved under
# build-fuzz/fuzz-out/TARGET/. Turn it into a regression test of the
# module it broke, and add it to tests/fuzz/corpus/TARGET/. The corpus also
# keeps what longer runs found: merge their corpus in by new edges only,
#   build-fuzz/tests/fuzz/TARGET -merge=1 -use_counters=0 \
#     tests/fuzz/corpus/TARGET build-fuzz/fuzz-out/TARGET/corpus
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-2}
dir=${FUZZ_BUILD:-$top/build-fuzz}
command -v clang >/dev/null || { echo "fuzz: clang not found (contrib/deps.sh installs it)" >&2; exit 1; }
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi)
mkdir -p "$dir"
if [ ! -f "$dir/Makefile" ]; then
  ( cd "$dir" && "$top/configure" CC=clang --enable-fuzzing >configure.out 2>&1 ) ||
    { cat "$dir/configure.out"; exit 1; }
fi
make -C "$dir" -j"$jobs" fuzz-targets >"$dir/build.out" 2>&1 ||
  { tail -40 "$dir/build.out"; exit 1; }
targets=$(make -s -C "$dir" --no-print-directory fuzz-list)

run_one() {               # run_one TARGET: 0 if it found nothing
  local t=$1 out=$dir/fuzz-out/$1
  mkdir -p "$out/corpus"
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
    "$dir/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus" \
    "$top/tests/fuzz/corpus/$t" >"$out/log" 2>&1
}

status=0
t0=$SECONDS
running=()
for t in $targets; do
  run_one "$t" & running+=("$!:$t")
  if [ ${#running[@]} -ge "$jobs" ]; then
    entry=${running[0]}; running=("${running[@]:1}")
    if wait "${entry%%:*}"; then echo "fuzz: ${entry#*:}: ok"; else
      status=1; echo "FAIL: fuzz: ${entry#*:} (see $dir/fuzz-out/${entry#*:}/)"
      tail -30 "$dir/fuzz-out/${entry#*:}/log"; fi
  fi
done
for entry in "${running[@]}"; do
  if wait "${entry%%:*}"; then echo "fuzz: ${entry#*:}: ok"; else
    status=1; echo "FAIL: fuzz: ${entry#*:} (see $dir/fuzz-out/${entry#*:}/)"
    tail -30 "$dir/fuzz-out/${entry#*:}/log"; fi
done
for t in $targets; do
  grep -h "stat::number_of_executed_units\|stat::peak_rss_mb" "$dir/fuzz-out/$t/log" |
    tr '\n' ' ' | sed "s/^/fuzz: $t: /; s/stat:://g"; echo
done
echo "fuzz: $(echo $targets | wc -w) targets, ${secs} s each, $jobs at a time: $((SECONDS - t0)) s"
exit $status
