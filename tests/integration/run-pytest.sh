#!/usr/bin/env bash
# tests/integration/run-pytest.sh - the boto3 protocol tests: start a
# cofferd (lib.sh), run the pytest modules in this directory against it,
# stop it. Uses the first Python that has both boto3 and pytest: Debian's
# /usr/bin/python3 (CI installs python3-boto3 and python3-pytest), then
# python3 on PATH. Exit 77 (automake: SKIP) if there is none.
set -u
here=$(cd "$(dirname "$0")" && pwd)
COFFERD=${COFFERD:-$(pwd)/server/cofferd}
export COFFERD
. "$here/lib.sh"

py=$(coffer_python debian boto3 pytest) ||
  { echo "SKIP: no python3 with both boto3 and pytest" >&2; exit 77; }

trap 'coffer_stop >/dev/null 2>&1' EXIT
trap 'exit 1' INT TERM
coffer_start || exit 1
"$py" -m pytest -q -p no:cacheprovider "$here" "$@"
rc=$?
if [ $rc -ne 0 ]; then
  echo "=== cofferd log (last 50 lines)"; tail -50 "$COFFER_LOG"
fi
coffer_stop || rc=1
exit $rc
