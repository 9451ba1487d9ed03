#!/usr/bin/env bash
# tests/integration/tier.sh - cold tiers and lifecycle rules against real
# remotes on loopback: a second cofferd, Azurite (an Azure Blob tier,
# tests/peers/azurite.sh) and a Ceph RGW cluster (memstore,
# tests/peers/rgw.sh), each a tier of the cofferd under test. Runs
# tier_cases.py (pytest, boto3): the same transition, read-through, ranged
# read, restore, expiration, abort, tag and size filter, overwrite and
# delete tests against both, and scans every object and name each remote
# holds for the plaintext markers the tests wrote. Days are
# lifecycle.day_seconds = 2 s long, so rules act within seconds.
#
# Without Debian's ceph packages the RGW half is skipped (not in CI, where
# contrib/deps.sh installs them: CI=true makes their absence a failure).
set -u
here=$(cd "$(dirname "$0")" && pwd)
COFFERD=${COFFERD:-$(pwd)/server/cofferd}
export COFFERD COFFER_CLI=${COFFER_CLI:-$(pwd)/cli/coffer}
. "$here/lib.sh"
. "$here/tierlib.sh"
. "$here/../peers/rgw.sh"
t0=$SECONDS

py=$(coffer_python debian boto3 pytest) ||
  { echo "SKIP: no python3 with both boto3 and pytest" >&2; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/coffer-tier.XXXXXX")
cleanup() {
  coffer_stop >/dev/null 2>&1
  tier_remote_stop
  [ -z "${RGW_DIR:-}" ] || rgw_stop "$work/rgw" >/dev/null 2>&1
  [ -z "${AZURITE_DIR:-}" ] || azurite_stop "$work/azurite" >/dev/null 2>&1
  [ "${KEEP_TMP:-0}" = 1 ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

have_rgw=1
for p in ceph-mon ceph-osd radosgw radosgw-admin ceph uuidgen; do
  command -v "$p" >/dev/null || have_rgw=0
done
if [ $have_rgw = 0 ]; then
  [ "${CI:-}" != true ] || { echo "FAIL: ceph is not installed (contrib/deps.sh)" >&2; exit 1; }
  echo "note: no ceph packages here: the RGW remote is skipped"
fi

echo "-- remotes: a second cofferd, Azurite$([ $have_rgw = 1 ] && echo " and a Ceph RGW")"
tier_remote_start "$work/remote" || exit 1
tier_bucket "$REMOTE_ENDPOINT" "$REMOTE_AK" "$REMOTE_SK" tier || exit 1
if [ $have_rgw = 1 ]; then
  rgw_start "$work/rgw" --objectstore memstore || exit 1
  tier_bucket "$RGW_ENDPOINT" "$RGW_ACCESS_KEY" "$RGW_SECRET_KEY" tier || exit 1
  export RGW_ENDPOINT RGW_ACCESS_KEY RGW_SECRET_KEY
fi

tier_azure_start "$work/azurite" || exit 1

echo "-- the cofferd under test, with 2-second days"
export COFFER_CONFIG_EXTRA='{"lifecycle": {"day_seconds": 2, "interval_seconds": 1,
  "multipart_threshold": 5242880, "part_size": 5242880, "transitions": 4,
  "recheck_seconds": 3, "storage_class_map": {"GLACIER": "COLDC"}}}'
coffer_start || exit 1

"$py" -m pytest -q -p no:cacheprovider -x "$here/tier_cases.py" "$@"
rc=$?
if [ $rc -ne 0 ]; then
  echo "=== cofferd log (last 40 lines)"; tail -40 "$COFFER_LOG"
  echo "=== remote cofferd log (last 10 lines)"; tail -10 "$REMOTE_LOG"
fi
if grep '"status":5[0-9][0-9]' "$COFFER_ACCESS_LOG" >&2; then
  echo "FAIL: cofferd answered 5xx (above)" >&2
  rc=1
fi
coffer_stop || rc=1
[ $rc -ne 0 ] || echo "PASS: tier.sh in $((SECONDS - t0)) s"
exit $rc
