# tests/integration/tierlib.sh - what the cold-tier tests (tier*.sh) share:
# a second cofferd to be a remote tier, the fault-injecting proxy in front
# of a remote, remote buckets. Source it after lib.sh (coffer_cli: the admin CLI).
#
#   tier_remote_start DIR     # a second cofferd (embedded default) on a free
#                             # port kept for restarts; exports REMOTE_ENDPOINT,
#                             # REMOTE_AK, REMOTE_SK, REMOTE_PID, REMOTE_LOG,
#                             # REMOTE_ACCESS_LOG, REMOTE_VAR
#   tier_remote_stop          # SIGTERM, bounded; tier_remote_kill: SIGKILL
#   tier_remote_start DIR     # again: the same port and data (a restart)
#   tier_proxy_start HOST:PORT DIR  # faultproxy.py in front of a remote;
#                             # exports PROXY_ENDPOINT, PROXY_CONTROL, PROXY_PID
#   tier_bucket ENDPOINT AK SK BUCKET   # create a bucket on a remote
#   tier_azure_start DIR      # Azurite (tests/peers/azurite.sh) with a
#                             # container "tier"; exports AZURITE_*
#   tier_azure_count PREFIX   # blobs container "tier" holds under PREFIX
#
# Every wait is bounded; the stops are safe to call twice (use them in a
# trap). The remote cofferd's access log is a JSON-lines file of every
# request the tier made (bytes_out shows what a ranged read fetched).

tier_remote_start() {     # tier_remote_start DIR
  local dir=$1 i
  mkdir -p "$dir"
  REMOTE_VAR=$dir/var
  REMOTE_LOG=$dir/cofferd.log
  REMOTE_ACCESS_LOG=$dir/access.log
  [ -n "${REMOTE_PORT:-}" ] || REMOTE_PORT=$(coffer_free_port)
  REMOTE_ENDPOINT=http://127.0.0.1:$REMOTE_PORT
  "$COFFERD" --var "$REMOTE_VAR" --listen "127.0.0.1:$REMOTE_PORT" \
    --access-log "$REMOTE_ACCESS_LOG" >>"$REMOTE_LOG" 2>&1 &
  REMOTE_PID=$!
  for i in $(seq 1 100); do
    if coffer_health "$REMOTE_ENDPOINT"; then
      REMOTE_AK=$(coffer_cred "$REMOTE_VAR/dev-credentials" access_key)
      REMOTE_SK=$(coffer_cred "$REMOTE_VAR/dev-credentials" secret_key)
      export REMOTE_ENDPOINT REMOTE_AK REMOTE_SK REMOTE_PID REMOTE_LOG REMOTE_ACCESS_LOG \
        REMOTE_VAR REMOTE_PORT
      return 0
    fi
    kill -0 "$REMOTE_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "tier_remote_start: the remote cofferd did not come up:" >&2
  tail -20 "$REMOTE_LOG" >&2
  return 1
}

tier_remote_stop() {
  [ -n "${REMOTE_PID:-}" ] || return 0
  kill -TERM "$REMOTE_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 150); do
    kill -0 "$REMOTE_PID" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL "$REMOTE_PID" 2>/dev/null || true
  wait "$REMOTE_PID" 2>/dev/null || true
  REMOTE_PID=
}

tier_remote_kill() {
  [ -n "${REMOTE_PID:-}" ] || return 0
  kill -KILL "$REMOTE_PID" 2>/dev/null || true
  wait "$REMOTE_PID" 2>/dev/null || true
  REMOTE_PID=
}

tier_proxy_start() {      # tier_proxy_start HOST:PORT DIR
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  rm -f "$2/proxy-ports"
  python3 "$here/faultproxy.py" --upstream "$1" --ports-file "$2/proxy-ports" &
  PROXY_PID=$!
  local i
  for i in $(seq 1 50); do
    [ -s "$2/proxy-ports" ] && break
    sleep 0.1
  done
  local pp cp
  read -r pp cp <"$2/proxy-ports" || { echo "tier_proxy_start: no proxy" >&2; return 1; }
  PROXY_ENDPOINT=http://127.0.0.1:$pp
  PROXY_CONTROL=http://127.0.0.1:$cp
  export PROXY_ENDPOINT PROXY_CONTROL PROXY_PID
}

tier_proxy_stop() {
  [ -z "${PROXY_PID:-}" ] || kill "$PROXY_PID" 2>/dev/null || true
  PROXY_PID=
}

tier_bucket() {           # tier_bucket ENDPOINT AK SK BUCKET
  python3 - "$@" <<'PY'
import sys, boto3
from botocore.config import Config
ep, ak, sk, b = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
s3.create_bucket(Bucket=b)
PY
}

tier__here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$tier__here/../peers/azurite.sh"

tier_azure_start() {      # tier_azure_start DIR
  azurite_start "$1" || return 1
  export AZURITE_ENDPOINT AZURITE_ACCOUNT AZURITE_KEY AZURITE_DIR
  tier__azure "print(a.create())" >/dev/null
}

tier_azure_count() {      # tier_azure_count PREFIX
  tier__azure "print(len(a.names(sys.argv[1])))" "$1"
}

tier__azure() {           # tier__azure PYTHON [ARGS]: with a = tierutil.Azure
  python3 - "$@" <<PY
import os, sys
sys.path.insert(0, "$tier__here")
import tierutil
a = tierutil.Azure(os.environ["AZURITE_ENDPOINT"], os.environ["AZURITE_ACCOUNT"],
                   os.environ["AZURITE_KEY"], "tier")
sys.argv = sys.argv[1:]
exec(sys.argv[0])
PY
}
