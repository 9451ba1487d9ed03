#!/usr/bin/env bash
# tests/peers/test_azurite.sh - keeps the Azurite harness (azurite.sh) from
# rotting: start Azurite (installing it from npm the first time), run a
# real Blob API round trip signed with Shared Key (azure_roundtrip.py) over
# HTTP and over HTTPS with a test certificate, stop it, and check that no
# process is left. On a machine without node/npm it skips, except in CI
# (CI=true), where contrib/deps.sh must have installed them.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/azurite.sh"
t0=$SECONDS
fail() { echo "FAIL: test_azurite: $*" >&2; exit 1; }
for p in node npm curl python3; do
  if ! command -v "$p" >/dev/null; then
    [ "${CI:-}" != true ] || fail "$p is not installed (contrib/deps.sh)"
    echo "SKIP: $p is not installed"; exit 77
  fi
done
dir=$(mktemp -d "${TMPDIR:-/tmp}/coffer-azurite.XXXXXX")
trap 'azurite_stop "$dir/http"; azurite_stop "$dir/https"; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM

azurite_install || fail "npm could not install azurite"
coffer_make_cert "$dir/tls" || fail "openssl failed"
for mode in http https; do
  if [ $mode = https ]; then
    azurite_start "$dir/$mode" --https "$dir/tls/cert.pem" "$dir/tls/key.pem"
  else
    azurite_start "$dir/$mode"
  fi || fail "azurite did not start ($mode)"
  case $AZURITE_ENDPOINT in $mode://127.0.0.1:*/devstoreaccount1) ;;
    *) fail "AZURITE_ENDPOINT is $AZURITE_ENDPOINT" ;; esac
  timeout -k 5 60 python3 "$here/azure_roundtrip.py" || fail "the Blob round trip failed ($mode)"
  pid=$AZURITE_PID
  azurite_stop "$dir/$mode" || fail "azurite had to be killed ($mode)"
  ! peer_alive "$pid" || fail "azurite (pid $pid) is still running"
  [ ! -e "$dir/$mode/pid" ] || fail "azurite_stop left $dir/$mode/pid"
done
echo "PASS: test_azurite in $((SECONDS - t0)) s"
