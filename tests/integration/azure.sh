#!/usr/bin/env bash
# tests/integration/azure.sh - the Azure Blob client (client/azb.h) against
# Azurite (started by tests/peers/azurite.sh), directly and through
# faultproxy.py: starts both, makes two account SAS tokens (all blob
# rights; read and list only) with Python's hmac from Microsoft's
# account-SAS recipe, then runs tests/integration/azb-live (see
# azb_live.c for what it checks).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/../peers/azurite.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coffer-azure.XXXXXX")
FAULTPROXY_PID=
cleanup() {
  [ -z "$FAULTPROXY_PID" ] || kill "$FAULTPROXY_PID" 2>/dev/null
  azurite_stop "$tmp"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

azurite_start "$tmp" || exit 1
upstream=${AZURITE_ENDPOINT#http://}
coffer_faultproxy "${upstream%%/*}" "$tmp" || exit 1

sas() {    # sas PERMISSIONS: an account SAS for the Blob service
  python3 - "$AZURITE_ACCOUNT" "$AZURITE_KEY" "$1" <<'PY'
import base64, hashlib, hmac, sys
from urllib.parse import quote
account, key, perms = sys.argv[1:]
version, services, types, expiry, proto = "2021-08-06", "b", "sco", "2050-01-01T00:00:00Z", "https,http"
# account, permissions, services, resource types, start, expiry, IP,
# protocol, version, encryption scope (2020-12-06 and later), each + "\n"
sts = "\n".join([account, perms, services, types, "", expiry, "", proto, version, ""]) + "\n"
sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest())
print("sv=%s&ss=%s&srt=%s&sp=%s&se=%s&spr=%s&sig=%s" % (version, services, types, perms,
      quote(expiry, safe=""), quote(proto, safe=""), quote(sig.decode(), safe="")))
PY
}

export AZB_ENDPOINT=$AZURITE_ENDPOINT AZB_ACCOUNT=$AZURITE_ACCOUNT AZB_KEY=$AZURITE_KEY
export AZB_PROXY=http://127.0.0.1:$FAULTPROXY_PORT/$AZURITE_ACCOUNT
export AZB_CONTROL=http://127.0.0.1:$FAULTPROXY_CONTROL
AZB_SAS=$(sas racwdl) && AZB_SAS_READ=$(sas rl) || { echo "FAIL: cannot make SAS tokens" >&2; exit 1; }
export AZB_SAS AZB_SAS_READ
./tests/integration/azb-live || { tail -20 "$tmp/azurite.log" >&2; exit 1; }
