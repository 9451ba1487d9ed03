#!/usr/bin/env bash
# contrib/test.sh - the test command: build warning-free (-Werror), run every
# unit and integration test, then build again with AddressSanitizer +
# UndefinedBehaviorSanitizer and run them once more (all but the tests
# that reach no code the others do not reach: real-client tests and the
# bench suite smoke test; tests/local.mk says which and why), then build with the fault-injection hook and run the tests
# that drive it (make check-faults), then run every libFuzzer target for
# 10 s (contrib/fuzz.sh). Builds go to build/, build-asan/, build-faults/
# and build-fuzz/ beside the sources.
# Ends with "N passed, N failed".
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)
[ -x configure ] || autoreconf -fi

total_pass=0
total_fail=0
run_suite() {            # run_suite DIR CHECK-TARGET CONFIGURE-ARGS...
  local dir=$1 target=$2; shift 2
  mkdir -p "$dir"
  ( cd "$dir" && "$top/configure" --enable-werror "$@" >configure.out 2>&1 ) ||
    { cat "$dir/configure.out"; return 1; }
  make -C "$dir" -j"$jobs" >"$dir/build.out" 2>&1 || { cat "$dir/build.out"; return 1; }
  local rc=0
  make -C "$dir" -j"$jobs" "$target" || rc=$?
  local p f
  p=$(find "$dir/tests" -name '*.trs' -exec grep -h ':test-result: PASS' {} + | wc -l)
  f=$(find "$dir/tests" -name '*.trs' -exec grep -hE ':test-result: (FAIL|ERROR|XPASS)' {} + | wc -l)
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
  # the slowest tests (a log is born when its test starts and last written
  # when it ends), to keep the suite inside CI's time budget
  echo "slowest in $dir:"
  find "$dir/tests" -name '*.log' ! -name test-suite.log -newer "$dir/build.out" \
    -exec stat -c '%W %Y %n' {} + |
    awk '$1 > 0 { printf "  %5d s  %s\n", $2 - $1, $3 }' | sort -rn | head -8
  if [ $rc -ne 0 ]; then
    find "$dir/tests" -name '*.log' -newer "$dir/build.out" -exec grep -l -E 'FAIL|ERROR' {} + |
      head -20 | while read -r log; do echo "=== $log"; tail -60 "$log"; done
  fi
  return $rc
}

status=0
run_suite build check || status=1
if [ "${COFFER_SKIP_ASAN:-0}" != 1 ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite build-asan check --enable-sanitizers CFLAGS="-O1 -g" || status=1
fi
# the fault-injection hook built in: the tests that drive it and the
# kill loop of cofferd under real clients (make check-faults; the loop
# alone about 2 minutes, CHECK_FAULTS_KILLS in tests/local.mk)
if [ "${COFFER_SKIP_FAULTS:-0}" != 1 ]; then
  faults_t0=$SECONDS
  run_suite build-faults check-faults --enable-fault-injection || status=1
  echo "faults block: $((SECONDS - faults_t0)) s"
fi
# libFuzzer targets, each for a short fixed time so that they cannot rot
# (make fuzz runs them for minutes); their own build in build-fuzz/. 10 s
# each: every run first replays the committed corpus (tests/fuzz/corpus/,
# which holds the inputs that reached new edges in earlier 20-s CI runs),
# so a CI run covers at least what those runs found, in half their time.
if [ "${COFFER_SKIP_FUZZ:-0}" != 1 ]; then
  fuzz_t0=$SECONDS
  mkdir -p build-fuzz
  FUZZ_SECONDS=${FUZZ_SECONDS:-10} FUZZ_JOBS=2 contrib/fuzz.sh | tee build-fuzz/run.out ||
    status=1
  total_pass=$((total_pass + $(grep -c ': ok$' build-fuzz/run.out || true)))
  total_fail=$((total_fail + $(grep -c '^FAIL: fuzz' build-fuzz/run.out || true)))
  echo "fuzz block: $((SECONDS - fuzz_t0)) s"
fi
echo "coffer tests: $total_pass passed, $total_fail failed"
exit $status
