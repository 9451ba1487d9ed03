# tests/peers/azurite-min.sh - sourced, not run: the least needed to start
# Azurite (Microsoft's Azure Storage emulator, npm `azurite`, pinned here)
# as a throw-away Blob service on loopback for the Azure client's tests,
# with the interface of the fuller peer harness tests/peers/azurite.sh
# (branch peers), so that callers switch by the line that sources it.
#
#   . tests/peers/azurite-min.sh
#   trap 'azurite_stop "$dir"' EXIT
#   azurite_start DIR [--loose]   # exports AZURITE_ENDPOINT (path-style,
#                                 # http://127.0.0.1:PORT/devstoreaccount1),
#                                 # AZURITE_ACCOUNT, AZURITE_KEY, AZURITE_PID
#   azurite_stop DIR              # SIGTERM, SIGKILL after 10 s; safe twice
#
# Installed by npm into tests/peers/node_modules (gitignored) the first
# time, under a lock so that parallel tests install it once. The data and
# the log are under DIR; telemetry is off; every wait is bounded.

azmin__here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
AZURITE_VERSION=3.35.0
AZURITE_ACCOUNT=devstoreaccount1
# the development account's published key: it opens only emulators
AZURITE_KEY=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==
AZURITE_BIN=$azmin__here/node_modules/.bin/azurite-blob

azurite_install() {
  [ -x "$AZURITE_BIN" ] && return 0
  command -v npm >/dev/null || { echo "azurite: npm is not installed" >&2; return 1; }
  (
    flock -w 600 9 || exit 1
    [ -x "$AZURITE_BIN" ] && exit 0
    echo "azurite: installing azurite@$AZURITE_VERSION into $azmin__here" >&2
    timeout -k 10 600 npm install --no-save --no-package-lock --no-audit --no-fund \
      --loglevel=error --prefix "$azmin__here" "azurite@$AZURITE_VERSION" >&2
  ) 9<"$azmin__here/azurite-min.sh"
  [ -x "$AZURITE_BIN" ] || { echo "azurite: npm did not install $AZURITE_BIN" >&2; return 1; }
}

azurite_start() {         # azurite_start DIR [--loose]
  local a_dir=$1 a_port a_i a_code
  shift
  azurite_install || return 1
  mkdir -p "$a_dir/data" || return 1
  a_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$AZURITE_BIN" --blobHost 127.0.0.1 --blobPort "$a_port" --location "$a_dir/data" \
    --silent --disableTelemetry "$@" >>"$a_dir/azurite.log" 2>&1 &
  AZURITE_PID=$!
  echo "$AZURITE_PID" >"$a_dir/pid"
  AZURITE_ENDPOINT=http://127.0.0.1:$a_port/$AZURITE_ACCOUNT
  export AZURITE_ENDPOINT AZURITE_ACCOUNT AZURITE_KEY AZURITE_PID
  for ((a_i = 0; a_i < 150; a_i++)); do        # ~30 s: node starts slowly when busy
    a_code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$AZURITE_ENDPOINT?comp=list") || true
    [ -n "$a_code" ] && [ "$a_code" != 000 ] && return 0
    azmin__alive "$AZURITE_PID" || break
    sleep 0.2
  done
  echo "azurite: did not answer on port $a_port; its log:" >&2
  tail -20 "$a_dir/azurite.log" >&2
  azurite_stop "$a_dir"
  return 1
}

azmin__alive() {          # a live process, not a zombie
  local a_st
  a_st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$a_st" ] && [ "$a_st" != Z ] && [ "$a_st" != X ]
}

azurite_stop() {          # azurite_stop DIR
  local a_pid a_i
  [ -f "$1/pid" ] || return 0
  a_pid=$(cat "$1/pid")
  kill -TERM "$a_pid" 2>/dev/null
  for ((a_i = 0; a_i < 50; a_i++)); do
    azmin__alive "$a_pid" || break
    sleep 0.2
  done
  kill -KILL "$a_pid" 2>/dev/null
  wait "$a_pid" 2>/dev/null
  rm -f "$1/pid"
  return 0
}
