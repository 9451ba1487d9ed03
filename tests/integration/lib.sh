# tests/integration/lib.sh - start and stop a throw-away cofferd for
# integration tests. Source it, then:
#
#   coffer_start            # needs COFFERD (path to the built binary)
#   ... use COFFER_ENDPOINT, COFFER_ACCESS_KEY, COFFER_SECRET_KEY,
#       COFFER_ADMIN_ACCESS_KEY, COFFER_ADMIN_SECRET_KEY, COFFER_REGION,
#       COFFER_TMP (scratch dir), COFFER_LOG (stderr), COFFER_ACCESS_LOG ...
#   coffer_stop             # SIGTERM, bounded wait, then SIGKILL; removes
#                           # COFFER_TMP unless KEEP_TMP=1. Returns non-zero
#                           # if cofferd did not exit 0 by itself (a crash,
#                           # a hang, or a sanitizer report at exit).
#
# The server runs the embedded default (six disk directories) under a
# fresh temporary directory, on a free loopback port; every wait is
# bounded, and coffer_stop is safe to call twice (use it in a trap).
#
#   coffer_start https      # the same, over TLS: a self-signed certificate
#                           # for 127.0.0.1/localhost is made in COFFER_TMP
#                           # and exported as COFFER_CA (clients trust it);
#                           # COFFER_ENDPOINT starts with https://.
#
# In https mode the embedded default runs once over plain HTTP to create
# the disks, master key and dev tenant, then cofferd is restarted on the
# same directory with a configuration file (coffer.json(5)) that adds the
# "tls" section: the dev credentials and the data stay the same.

coffer_free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

coffer_cred() {           # coffer_cred FILE FIELD
  sed -n "s/^$2=//p" "$1"
}

coffer_health() {         # coffer_health URL [CAFILE] -> 0 when it answers 200
  python3 - "$1" "${2:-}" <<'PY'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2]) if sys.argv[2] else None
try:
    with urllib.request.urlopen(sys.argv[1] + "/health", timeout=2, context=ctx) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

coffer_make_cert() {      # coffer_make_cert DIR -> DIR/cert.pem, DIR/key.pem
  mkdir -p "$1"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=coffer test" \
    -keyout "$1/key.pem" -out "$1/cert.pem" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >/dev/null 2>&1
}

# The configuration file for the https restart: the embedded default's
# directories and admin credential, plus the certificate.
coffer_write_tls_config() {   # coffer_write_tls_config FILE PORT
  local var=$COFFER_TMP/var
  python3 - "$1" "$2" "$var" "$COFFER_TMP/tls" \
    "$(coffer_cred "$var/admin-credentials" access_key)" \
    "$(coffer_cred "$var/admin-credentials" secret_key)" <<'PY'
import json, sys
path, port, var, tls, ak, sk = sys.argv[1:]
json.dump({
    "listen": f"127.0.0.1:{port}",
    "tls": {"cert": f"{tls}/cert.pem", "key": f"{tls}/key.pem"},
    "disks": [f"{var}/disk{i}" for i in range(1, 7)],
    "meta_dir": f"{var}/meta",
    "master_key_file": f"{var}/master.key",
    "admin": {"access_key": ak, "secret_key": sk},
}, open(path, "w"), indent=2)
PY
}

coffer_start() {          # coffer_start [http|https]
  : "${COFFERD:?COFFERD must name the cofferd binary}"
  local mode=${1:-http}
  case $mode in http|https) ;; *) echo "coffer_start: mode must be http or https" >&2; return 2;; esac
  COFFER_TMP=$(mktemp -d "${TMPDIR:-/tmp}/coffer-it.XXXXXX")
  COFFER_LOG=$COFFER_TMP/cofferd.log
  COFFER_ACCESS_LOG=$COFFER_TMP/access.log
  COFFER_CA=
  COFFER_MODE=$mode
  if [ "$mode" = https ]; then
    coffer_make_cert "$COFFER_TMP/tls" || { echo "coffer_start: openssl failed" >&2; return 1; }
    coffer_launch http || return 1    # first start: disks, keys, dev tenant
    coffer_stop_server || return 1
    COFFER_CA=$COFFER_TMP/tls/cert.pem
  fi
  coffer_launch "$mode"
}

# Start cofferd on a free port (three tries) and wait until /health answers.
coffer_launch() {         # coffer_launch http|https
  local attempt port
  for attempt in 1 2 3; do
    port=$(coffer_free_port)
    COFFER_ENDPOINT=$1://127.0.0.1:$port
    if [ "$1" = https ]; then
      coffer_write_tls_config "$COFFER_TMP/coffer.json" "$port"
      "$COFFERD" -c "$COFFER_TMP/coffer.json" \
        --access-log "$COFFER_ACCESS_LOG" >>"$COFFER_LOG" 2>&1 &
    else
      "$COFFERD" --var "$COFFER_TMP/var" --listen "127.0.0.1:$port" \
        --access-log "$COFFER_ACCESS_LOG" >>"$COFFER_LOG" 2>&1 &
    fi
    COFFER_PID=$!
    local i ca=
    [ "$1" = http ] || ca=$COFFER_TMP/tls/cert.pem
    for i in $(seq 1 100); do                 # up to ~20 s
      if coffer_health "$COFFER_ENDPOINT" "$ca"; then
        COFFER_ACCESS_KEY=$(coffer_cred "$COFFER_TMP/var/dev-credentials" access_key)
        COFFER_SECRET_KEY=$(coffer_cred "$COFFER_TMP/var/dev-credentials" secret_key)
        COFFER_ADMIN_ACCESS_KEY=$(coffer_cred "$COFFER_TMP/var/admin-credentials" access_key)
        COFFER_ADMIN_SECRET_KEY=$(coffer_cred "$COFFER_TMP/var/admin-credentials" secret_key)
        COFFER_REGION=us-east-1
        export COFFER_ENDPOINT COFFER_ACCESS_KEY COFFER_SECRET_KEY COFFER_REGION \
          COFFER_ADMIN_ACCESS_KEY COFFER_ADMIN_SECRET_KEY COFFER_TMP COFFER_PID \
          COFFER_LOG COFFER_ACCESS_LOG COFFER_CA COFFER_MODE
        return 0
      fi
      kill -0 "$COFFER_PID" 2>/dev/null || break   # exited: port taken?
      sleep 0.2
    done
    kill -KILL "$COFFER_PID" 2>/dev/null
    wait "$COFFER_PID" 2>/dev/null
  done
  echo "coffer_start: cofferd did not come up; its log:" >&2
  cat "$COFFER_LOG" >&2
  return 1
}

coffer_stop() {
  local rc=0
  coffer_stop_server || rc=1
  if [ -n "${COFFER_TMP:-}" ] && [ "${KEEP_TMP:-0}" != 1 ]; then
    rm -rf "$COFFER_TMP"
  fi
  return $rc
}

# Stop the running cofferd, keep its directory.
coffer_stop_server() {
  local rc=0
  if [ -n "${COFFER_PID:-}" ]; then
    kill -TERM "$COFFER_PID" 2>/dev/null
    local i
    for i in $(seq 1 100); do                 # up to ~20 s to drain
      kill -0 "$COFFER_PID" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$COFFER_PID" 2>/dev/null; then
      echo "coffer_stop: cofferd did not exit after SIGTERM; killing it" >&2
      kill -KILL "$COFFER_PID" 2>/dev/null
      rc=1
    fi
    wait "$COFFER_PID" 2>/dev/null || rc=1
    [ $rc -eq 0 ] || { echo "coffer_stop: cofferd exited badly; its log:" >&2; tail -40 "$COFFER_LOG" >&2; }
  fi
  COFFER_PID=
  return $rc
}
