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
var=$COFFER_TMP/var
export COFFER_LIMITS_MAX=40 COFFER_LIMITS_PER_IP=16 COFFER_LIMITS_HEADER_S=5 \
  COFFER_LIMITS_IDLE_S=4
"$py" - "$COFFER_TMP/limits.json" "$port" "$var" \
  "$(coffer_cred "$var/admin-credentials" access_key)" \
  "$(coffer_cred "$var/admin-credentials" secret_key)" <<'PY'
import json, os, sys
path, port, var, ak, sk = sys.argv[1:]
json.dump({
    "listen": f"127.0.0.1:{port}",
    "disks": [f"{var}/disk{i}" for i in range(1, 7)],
    "meta_dir": f"{var}/meta",
    "master_key_file": f"{var}/master.key",
    "admin": {"access_key": ak, "secret_key": sk},
    "limits": {"max_connections": int(os.environ["COFFER_LIMITS_MAX"]),
               "max_connections_per_ip": int(os.environ["COFFER_LIMITS_PER_IP"]),
               "header_timeout_seconds": int(os.environ["COFFER_LIMITS_HEADER_S"]),
               "idle_timeout_seconds": int(os.environ["COFFER_LIMITS_IDLE_S"])},
    "auth": {"sigv2": False},
}, open(path, "w"), indent=2)
PY
COFFER_ENDPOINT=http://127.0.0.1:$port
"$COFFERD" -c "$COFFER_TMP/limits.json" --access-log "$COFFER_ACCESS_LOG" \
  >>"$COFFER_LOG" 2>&1 &
COFFER_PID=$!
for i in $(seq 1 100); do                         # up to ~20 s
  coffer_health "$COFFER_ENDPOINT" && break
  sleep 0.2
done
export COFFER_ENDPOINT COFFER_PID
"$py" "$here/limits_client.py" || { echo "=== cofferd log"; tail -30 "$COFFER_LOG"; exit 1; }
coffer_stop || exit 1
echo "limits: ok"
