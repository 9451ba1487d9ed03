#!/usr/bin/env bash
# tests/peers/azurite.sh - Azurite, Microsoft's Azure Storage emulator, as a
# throw-away Blob service on loopback: the real Azure peer for coffer's
# Azure tier tests (../shared/PEERS.md). It comes from npm, pinned in
# tests/peers/package.json and package-lock.json, and is installed into
# tests/peers/node_modules (gitignored) by `npm ci` the first time it is
# needed (under a lock, so parallel tests install it once).
#
# Source it and call the functions, or run it:
#
#   azurite.sh start DIR [options]   start, print the environment (export lines)
#   azurite.sh env DIR               print it again
#   azurite.sh stop DIR              stop it (DIR stays: rm -rf it)
#   azurite.sh install               npm ci, if azurite is not there yet
#
#   . tests/peers/azurite.sh
#   trap 'azurite_stop "$dir"' EXIT  # before azurite_start: nothing left behind
#   azurite_start DIR [options]      # exports the AZURITE_* variables below
#
# Options: --https CERT KEY (serve TLS with that PEM certificate and key:
# tests/integration/lib.sh's coffer_make_cert makes one for 127.0.0.1),
# --loose (accept headers Azurite does not implement),
# --skip-api-version-check (accept an x-ms-version newer than it knows),
# --debug (Azurite's debug log of every request, DIR/debug.log).
#
# Exported after azurite_start: AZURITE_ENDPOINT (the account's URL,
# http[s]://127.0.0.1:PORT/devstoreaccount1: path-style, a container is
# AZURITE_ENDPOINT/CONTAINER), AZURITE_ACCOUNT and AZURITE_KEY (the
# well-known development account and its published key: not a secret, it
# opens only emulators), AZURITE_CA (with --https: the certificate),
# AZURITE_PID, AZURITE_DIR, AZURITE_STARTUP_S.
#
# The data (--location) and the logs are under DIR; telemetry is off
# (no connection leaves the machine). Every wait is bounded; azurite_stop
# sends SIGTERM, then SIGKILL after AZURITE_STOP_SECONDS (10), works from
# any process (the pid is in DIR/pid) and is safe to call twice. Locals
# are prefixed (a_), as in rgw.sh, so that a caller's trap sees its own.

azurite__here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$azurite__here/peer.sh"

AZURITE_ACCOUNT=devstoreaccount1
AZURITE_KEY=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==
AZURITE_BIN=$azurite__here/node_modules/.bin/azurite-blob

azurite__say() { echo "azurite: $*" >&2; }

# npm ci into tests/peers/node_modules unless azurite is there; the lock
# on package.json serialises tests that start at the same time.
azurite_install() {
  [ -x "$AZURITE_BIN" ] && return 0
  command -v npm >/dev/null || { azurite__say "npm is not installed (contrib/deps.sh)"; return 1; }
  (
    flock -w 600 9 || { azurite__say "no lock on package.json after 600 s"; exit 1; }
    [ -x "$AZURITE_BIN" ] && exit 0
    azurite__say "installing azurite (npm ci in $azurite__here)"
    cd "$azurite__here" &&
      timeout -k 10 600 npm ci --no-audit --no-fund --loglevel=error >&2
  ) 9<"$azurite__here/package.json" || { azurite__say "npm ci failed"; return 1; }
  [ -x "$AZURITE_BIN" ] || { azurite__say "npm ci did not install $AZURITE_BIN"; return 1; }
}

azurite__answers() {      # any HTTP answer from the account URL
  local a_code
  a_code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' ${AZURITE_CA:+--cacert "$AZURITE_CA"} \
    "$AZURITE_ENDPOINT?comp=list") || true
  [ -n "$a_code" ] && [ "$a_code" != 000 ]
}

azurite_start() {         # azurite_start DIR [--https CERT KEY] [--loose] [--skip-api-version-check]
  local a_dir=$1 a_cert= a_key= a_extra=() a_t0=$SECONDS
  shift
  while [ $# -gt 0 ]; do
    case $1 in
      --https) a_cert=$2; a_key=$3; shift 3 ;;
      --loose) a_extra+=(--loose); shift ;;
      --skip-api-version-check) a_extra+=(--skipApiVersionCheck); shift ;;
      --debug) a_extra+=(--debug "$a_dir/debug.log"); shift ;;
      *) azurite__say "unknown option $1"; return 1 ;;
    esac
  done
  command -v curl >/dev/null || { azurite__say "curl is not installed"; return 1; }
  azurite_install || return 1
  mkdir -p "$a_dir/data" || return 1
  AZURITE_DIR=$(cd "$a_dir" && pwd)
  [ ! -e "$AZURITE_DIR/pid" ] || { azurite__say "$AZURITE_DIR already has an azurite (pid)"; return 1; }
  local a_attempt a_port a_i a_scheme=http
  [ -z "$a_cert" ] || a_scheme=https
  AZURITE_CA=$a_cert
  for a_attempt in 1 2 3; do                  # a free port can be taken before we bind it
    a_port=$(peer_free_port) || return 1
    AZURITE_ENDPOINT=$a_scheme://127.0.0.1:$a_port/$AZURITE_ACCOUNT
    "$AZURITE_BIN" --blobHost 127.0.0.1 --blobPort "$a_port" --location "$AZURITE_DIR/data" \
      --silent --disableTelemetry \
      ${a_cert:+--cert "$a_cert" --key "$a_key"} ${a_extra[@]+"${a_extra[@]}"} \
      >>"$AZURITE_DIR/azurite.log" 2>&1 &
    AZURITE_PID=$!
    echo "$AZURITE_PID" >"$AZURITE_DIR/pid"
    for ((a_i = 0; a_i < 150; a_i++)); do         # up to ~30 s: node loads slowly when busy
      azurite__answers && break 2
      peer_alive "$AZURITE_PID" || break
      sleep 0.2
    done
    azurite_stop "$AZURITE_DIR"
  done
  if [ ! -e "$AZURITE_DIR/pid" ]; then
    azurite__say "azurite-blob did not answer; its log:"
    tail -30 "$AZURITE_DIR/azurite.log" >&2
    return 1
  fi
  {
    echo "AZURITE_DIR=$AZURITE_DIR"
    echo "AZURITE_ENDPOINT=$AZURITE_ENDPOINT"
    echo "AZURITE_ACCOUNT=$AZURITE_ACCOUNT"
    echo "AZURITE_KEY=$AZURITE_KEY"
    echo "AZURITE_CA=$AZURITE_CA"
    echo "AZURITE_PID=$AZURITE_PID"
    echo "AZURITE_STARTUP_S=$((SECONDS - a_t0))"
  } >"$AZURITE_DIR/env"
  peer_load_env "$AZURITE_DIR"
  azurite__say "up in $AZURITE_STARTUP_S s: $AZURITE_ENDPOINT (pid $AZURITE_PID; $AZURITE_DIR)"
}

azurite_stop() {          # azurite_stop DIR: 1 if it had to be killed
  local a_rc=0
  [ -f "$1/pid" ] || return 0
  peer_stop_pid azurite "$(cat "$1/pid")" "${AZURITE_STOP_SECONDS:-10}" || a_rc=1
  rm -f "$1/pid"
  return $a_rc
}

# ---- run as a command ----------------------------------------------------
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -u
  cmd=${1:-}; dir=${2:-}
  case $cmd in
    install) azurite_install ;;
    start) [ -n "$dir" ] || exit 2; shift 2; azurite_start "$dir" "$@" && peer_print_env "$dir" ;;
    env) [ -n "$dir" ] || exit 2; peer_print_env "$dir" ;;
    stop) [ -n "$dir" ] || exit 2; azurite_stop "$dir" ;;
    *) sed -n '9,14p' "$0" >&2; exit 2 ;;
  esac
fi
