#!/usr/bin/env bash
# tests/peers/test_rgw.sh - keeps the Ceph RGW harness (rgw.sh) from
# rotting: start a memstore cluster with an http and an https endpoint (a
# test certificate), run a real S3 round trip with boto3 over both
# (rgw_roundtrip.py) and coffer-bench's PUT, verified GET and multipart
# workloads over http, stop it, and check that none of its processes is
# left and that its state stayed in its directory. On a machine without
# Debian's ceph packages it skips, except in CI (CI=true), where
# contrib/deps.sh must have installed them. Run from the build directory
# (make check does): coffer-bench is contrib/bench/coffer-bench there.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/rgw.sh"
t0=$SECONDS
fail() { echo "FAIL: test_rgw: $*" >&2; exit 1; }
for p in ceph-mon ceph-osd radosgw radosgw-admin ceph uuidgen; do
  if ! command -v "$p" >/dev/null; then
    [ "${CI:-}" != true ] || fail "$p is not installed (contrib/deps.sh)"
    echo "SKIP: $p is not installed"; exit 77
  fi
done
bench=${COFFER_BENCH:-$(pwd)/contrib/bench/coffer-bench}
[ -x "$bench" ] || fail "no coffer-bench at $bench (run from the build directory)"
py=$(coffer_python newest boto3) || fail "no python3 with boto3"
dir=$(mktemp -d "${TMPDIR:-/tmp}/coffer-rgw.XXXXXX")
trap 'rgw_stop "$dir/cluster"; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM

coffer_make_cert "$dir/tls" || fail "openssl failed"
etc_before=$(ls -A /etc/ceph 2>/dev/null)
rgw_start "$dir/cluster" --objectstore memstore --keys TESTPEERACCESSKEY0001 \
  testpeersecretkey0000000000000000000000001 --https "$dir/tls/cert.pem" "$dir/tls/key.pem" ||
  fail "the cluster did not start"
[ "$RGW_ACCESS_KEY" = TESTPEERACCESSKEY0001 ] || fail "RGW_ACCESS_KEY is $RGW_ACCESS_KEY"
set -- $RGW_PIDS
[ $# = 3 ] || fail "RGW_PIDS is '$RGW_PIDS', not radosgw, OSD and mon"
for pid in $RGW_PIDS; do peer_alive "$pid" || fail "pid $pid of RGW_PIDS is not running"; done

boto() {                  # boto ENDPOINT [CA]
  echo "-- boto3 round trip: $1"
  timeout -k 5 120 "$py" "$here/rgw_roundtrip.py" "$@" || fail "the boto3 round trip failed against $1"
}
boto "$RGW_ENDPOINT"
boto "$RGW_HTTPS_ENDPOINT" "$RGW_CA"

echo "-- coffer-bench: put, verified get, multipart"
cbench() {
  local out
  out=$(timeout -k 5 120 "$bench" -e "$RGW_ENDPOINT" -a "$RGW_ACCESS_KEY" -k "$RGW_SECRET_KEY" \
        -b coffer-bench-peer --prefix smoke "$@" 2>&1) || { echo "$out" >&2; return 1; }
  grep -q '^errors: 0$' <<<"$out" || { echo "$out" >&2; return 1; }
  echo "ok: coffer-bench $* ($(grep '^ops: ' <<<"$out"))"
}
cbench -w put -s 256K -c 4 -n 40 || fail "coffer-bench put"
cbench -w get -s 256K -c 4 -n 40 --keys 40 --reuse --verify || fail "coffer-bench get --verify"
cbench -w multipart -s 11M --part-size 5M -c 2 -n 2 || fail "coffer-bench multipart"

pids=$RGW_PIDS
rgw_stop "$dir/cluster" || fail "a daemon had to be killed"
for pid in $pids; do ! peer_alive "$pid" || fail "pid $pid is still running after rgw_stop"; done
[ "$(ls -A /etc/ceph 2>/dev/null)" = "$etc_before" ] || fail "/etc/ceph changed"
echo "PASS: test_rgw in $((SECONDS - t0)) s (cluster up in $RGW_STARTUP_S s)"
