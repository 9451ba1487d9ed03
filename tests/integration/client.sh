#!/usr/bin/env bash
# tests/integration/client.sh - the outgoing S3 client (client/s3c.h)
# against a real cofferd, directly and through faultproxy.py: starts both,
# then runs tests/integration/s3c-live (see s3c_live.c for what it checks).
# cofferd's virtual-host domain is "localhost" here, so that
# BUCKET.localhost (which libcurl resolves to loopback itself) reaches it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
COFFERD=${COFFERD:-$(pwd)/server/cofferd}
export COFFERD
. "$here/lib.sh"

FAULTPROXY_PID=
cleanup() {
  [ -z "$FAULTPROXY_PID" ] || kill "$FAULTPROXY_PID" 2>/dev/null
  coffer_stop >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 1' INT TERM

COFFER_VHOST_DOMAIN=localhost coffer_start || exit 1
coffer_faultproxy "${COFFER_ENDPOINT#http://}" "$COFFER_TMP" || exit 1
export S3C_PROXY=http://127.0.0.1:$FAULTPROXY_PORT S3C_CONTROL=http://127.0.0.1:$FAULTPROXY_CONTROL
export S3C_VHOST_ENDPOINT=http://localhost:${COFFER_ENDPOINT##*:}
./tests/integration/s3c-live || exit 1
coffer_stop || { echo "FAIL: cofferd did not stop cleanly" >&2; exit 1; }
