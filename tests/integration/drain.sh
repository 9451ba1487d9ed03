#!/usr/bin/env bash
# tests/integration/drain.sh - SIGTERM drains: an upload in flight when
# cofferd gets SIGTERM still completes (200), new connections are refused,
# cofferd then exits 0 by itself, and after a restart on the same data the
# object is there, whole.
set -u
here=$(cd "$(dirname "$0")" && pwd)
COFFERD=${COFFERD:-$(pwd)/server/cofferd}
export COFFERD
. "$here/lib.sh"
py=$(coffer_python debian botocore) || { echo "SKIP: no python3 with botocore" >&2; exit 77; }

trap 'coffer_stop >/dev/null 2>&1' EXIT
trap 'exit 1' INT TERM
coffer_start || exit 1
"$py" "$here/drain_client.py" upload || exit 1
KEEP_TMP=1 coffer_stop || { echo "FAIL: cofferd did not drain and exit 0" >&2; exit 1; }
coffer_start "$COFFER_TMP" || exit 1
"$py" "$here/drain_client.py" verify || exit 1
coffer_stop || exit 1
echo "drain: ok"
