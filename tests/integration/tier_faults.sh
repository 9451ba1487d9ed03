#!/usr/bin/env bash
# tests/integration/tier_faults.sh - cold tiers when things go wrong: a
# second cofferd is the remote, reached through faultproxy.py, and
# tier_faults_cases.py (pytest) takes the remote down during transitions,
# injects 500/503 answers, slowness, cut connections and corrupted bytes
# on both sides, and SIGKILLs the cofferd under test at random moments
# during transitions (TIER_KILLS times, 50 by default; make soak runs
# more). After each fault nothing may be lost or half-tiered: every object
# reads back, corrupt remote bytes are an error and never wrong bytes, and
# once the queues drain the remote holds exactly one object per tiered
# version: no orphan, no unfinished multipart upload.
set -u
here=$(cd "$(dirname "$0")" && pwd)
COFFERD=${COFFERD:-$(pwd)/server/cofferd}
export COFFERD COFFER_CLI=${COFFER_CLI:-$(pwd)/cli/coffer}
. "$here/lib.sh"
. "$here/tierlib.sh"
t0=$SECONDS

py=$(coffer_python debian boto3 pytest) ||
  { echo "SKIP: no python3 with both boto3 and pytest" >&2; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/coffer-tierfault.XXXXXX")
cleanup() {
  coffer_stop >/dev/null 2>&1
  [ ! -s "$work/local.pid" ] || kill -KILL "$(cat "$work/local.pid")" 2>/dev/null
  tier_proxy_stop
  tier_remote_stop
  [ -z "${AZURITE_DIR:-}" ] || azurite_stop "$work/azurite" >/dev/null 2>&1
  [ "${KEEP_TMP:-0}" = 1 ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "${TIER_TYPE:-s3}" = azure ]; then
  tier_azure_start "$work/azurite" || exit 1
  upstream=${AZURITE_ENDPOINT#http://}
  tier_proxy_start "${upstream%%/*}" "$work" || exit 1
else
  tier_remote_start "$work/remote" || exit 1
  disown "$REMOTE_PID"        # the test kills and restarts it: no job notice
  tier_bucket "$REMOTE_ENDPOINT" "$REMOTE_AK" "$REMOTE_SK" tier || exit 1
  tier_proxy_start "127.0.0.1:$REMOTE_PORT" "$work" || exit 1
fi

export COFFER_CONFIG_EXTRA='{"lifecycle": {"day_seconds": 2, "interval_seconds": 1,
  "multipart_threshold": 5242880, "part_size": 5242880, "transitions": 4,
  "recheck_seconds": 3}}'
coffer_start || exit 1
export TIER_WORK=$work TIER_KILLS=${TIER_KILLS:-50}

"$py" -m pytest -q -p no:cacheprovider -x "$here/tier_faults_cases.py" "$@"
rc=$?
if [ $rc -ne 0 ]; then
  echo "=== cofferd log (last 40 lines)"; tail -40 "$COFFER_LOG"
fi
# the test restarted cofferd itself (and stopped it cleanly at the end)
COFFER_PID=
[ $rc -ne 0 ] || echo "PASS: tier_faults.sh in $((SECONDS - t0)) s"
exit $rc
