#!/usr/bin/env bash
# tests/integration/limits.sh - the connection gate and the auth switch
# against a cofferd whose configuration file sets small limits (issue 17):
# slow clients from one address cannot starve a normal client, the ones
# over the limit get an immediate 503 SlowDown, late headers and a stalled
# body are cut off, /health, /health/live and /health/ready answer while
# the server is full (nothing else does), and
# auth.sigv2: false refuses SigV2. The embedded default runs once to create
# the disks and credentials; cofferd is then restarted on the same data
# with limits.json.
set -u
here=$(cd "$(dirname "$0")" && pwd)
COFFERD=${COFFERD:-$(pwd)/server/cofferd}
export COFFERD
. "$here/lib.sh"
py=$(coffer_python debian botocore) || { echo "SKIP: no python3 with botocore" >&2; exit 77; }

trap 'coffer_stop >/dev/null 2>&1' EXIT
trap 'exit 1' INT TERM
coffer_start || exit 1
coffer_stop_server || exit 1

port=$(coffer_free_port)
export COFFER_LIMITS_MAX=40 COFFER_LIMITS_PER_IP=16 COFFER_LIMITS_HEADER_S=10 \
  COFFER_LIMITS_IDLE_S=4
COFFER_CONFIG_EXTRA="{
  \"limits\": {\"max_connections\": $COFFER_LIMITS_MAX,
             \"max_connections_per_ip\": $COFFER_LIMITS_PER_IP,
             \"header_timeout_seconds\": $COFFER_LIMITS_HEADER_S,
             \"idle_timeout_seconds\": $COFFER_LIMITS_IDLE_S},
  \"auth\": {\"sigv2\": false}}" \
  coffer_write_config "$COFFER_TMP/limits.json" "$port" http || exit 1
coffer_launch_config "$COFFER_TMP/limits.json" "$port" || exit 1
"$py" "$here/limits_client.py" || { echo "=== cofferd log"; tail -30 "$COFFER_LOG"; exit 1; }
coffer_stop || exit 1
echo "limits: ok"
