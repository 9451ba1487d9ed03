#!/usr/bin/env bash
# contrib/sancov.sh - checks the rule for the tests the sanitizer build
# leaves out (tests/local.mk, "Which tests the ASan+UBSan build runs"): a
# test may be left out only if every line of cofferd, coffer and the bench
# tools (every source outside tests/) it executes is also executed by a
# test the sanitizer build runs.
#
# It builds coffer with gcov (-O1 --coverage) in SANCOV_BUILD (default
# $TMPDIR/coffer-sancov, outside the sources), runs every test of make
# check there, two at a time, each with its own coverage data (GCOV_PREFIX)
# and COFFER_SANITIZED=1 (the sanitizer run's sizes), and prints, for each
# test a sanitizer build leaves out, the lines it alone executes. Ends with
# "sancov: N lines only the left-out tests execute"; N must be 0. About as
# long as one make check. A test that fails is reported; its coverage (up to
# the failure) still counts. With TEST... it runs only those (to try it
# out: the coverage of the tests not run is missing, so it over-reports).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
b=${SANCOV_BUILD:-${TMPDIR:-/tmp}/coffer-sancov}
data=$b/sancov
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi)
mkdir -p "$b/san"
( cd "$b" && "$top/configure" CFLAGS="-O1 -g --coverage" LDFLAGS=--coverage >configure.out 2>&1 ) ||
  { cat "$b/configure.out"; exit 1; }
( cd "$b/san" && "$top/configure" --enable-sanitizers >configure.out 2>&1 ) ||
  { cat "$b/san/configure.out"; exit 1; }
make -C "$b" -j2 >"$b/build.out" 2>&1 && make -C "$b" -j2 check TESTS= >>"$b/build.out" 2>&1 ||
  { tail -40 "$b/build.out"; exit 1; }

tests_of() {              # tests_of BUILD_DIR: its make check's TESTS, one a line
  printf 'sancov-tests:\n\t@echo $(TESTS)\n' |
    make -s -C "$1" -f Makefile -f - sancov-tests | tr ' ' '\n' | sed '/^$/d; s/\$(EXEEXT)$//'
}
if [ $# -gt 0 ]; then printf '%s\n' "$@"; else tests_of "$b"; fi >"$b/tests.all"
tests_of "$b/san" | grep -xF -f "$b/tests.all" >"$b/tests.san"
grep -vxF -f "$b/tests.san" "$b/tests.all" >"$b/tests.left-out" || true

rm -rf "$data"
mkdir -p "$data"
export SANCOV_B=$b SANCOV_DATA=$data
run_one() {               # run_one TEST: make check of it alone, its gcda in its own tree
  local name=${1//\//_}
  GCOV_PREFIX=$SANCOV_DATA/$name GCOV_PREFIX_STRIP=0 COFFER_SANITIZED=1 \
    make -C "$SANCOV_B" check TESTS="$1" TEST_SUITE_LOG="sancov-$name.log" \
    >/dev/null 2>&1 || echo "sancov: $1 failed (see $SANCOV_B/$1.log)"
}
export -f run_one
xargs -P2 -I{} bash -c 'run_one "$1"' _ {} <"$b/tests.all"

python3 - "$b" "$data" "$top" <<'PY'
import glob, json, os, shutil, subprocess, sys
b, data, top = sys.argv[1:]
def lines(name):          # the source lines outside tests/ one test executed
    got, d = set(), f"{data}/{name.replace('/', '_')}{b}"
    for gcda in glob.glob(f"{d}/**/*.gcda", recursive=True):
        rel = os.path.relpath(gcda, d)
        gcno = os.path.join(b, rel[:-5] + ".gcno")
        if rel.startswith("tests/") or not os.path.exists(gcno):
            continue
        shutil.copy(gcno, gcda[:-5] + ".gcno")
        out = subprocess.run(["gcov", "-j", "-t", "-o", os.path.dirname(gcda), gcda],
                             cwd=b, capture_output=True, text=True).stdout
        for doc in (json.loads(x) for x in out.splitlines() if x.startswith("{")):
            for f in doc["files"]:
                src = os.path.relpath(os.path.normpath(os.path.join(b, f["file"])), top)
                if not src.startswith(("tests/", "..", "/")):
                    got.update(f"{src}:{l['line_number']}" for l in f["lines"] if l["count"])
    return got
read = lambda f: open(f"{b}/{f}").read().split()
left = read("tests.left-out")
kept = set().union(*(lines(t) for t in read("tests.san")))
total = 0
for t in left:
    only = sorted(lines(t) - kept)
    total += len(only)
    print(f"sancov: {t}: {len(only)} lines no test of the sanitizer build executes"
          + ("".join(f"\n  {x}" for x in only[:50])))
print(f"sancov: {total} lines only the left-out tests execute")
sys.exit(1 if total else 0)
PY
