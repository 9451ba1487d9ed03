# tests/integration/lib.sh - start and stop a throw-away cofferd for
# integration tests. Source it, then:
#
#   coffer_start [DIR]      # needs COFFERD (path to the built binary); DIR:
#                           # reuse a COFFER_TMP kept from an earlier run
#   ... use COFFER_ENDPOINT, COFFER_ACCESS_KEY, COFFER_SECRET_KEY,
#       COFFER_ADMIN_ACCESS_KEY, COFFER_ADMIN_SECRET_KEY, COFFER_REGION,
#       COFFER_TMP (scratch dir), COFFER_LOG (stderr), COFFER_ACCESS_LOG,
#       COFFER_VHOST_DOMAIN (BUCKET.$COFFER_VHOST_DOMAIN is virtual-host style)
#   COFFER_TLS=1 coffer_start   # HTTPS with a fresh self-signed certificate
#                               # for 127.0.0.1, exported as COFFER_CA
#   coffer_stop             # SIGTERM, bounded wait, then SIGKILL; removes
#                           # COFFER_TMP unless KEEP_TMP=1. Returns non-zero
#                           # if cofferd did not exit 0 by itself (a crash,
#                           # a hang, or a sanitizer report at exit).
#
# The server runs the embedded default (six disk directories) under a
# fresh temporary directory, on a free loopback port; every wait is
# bounded, and coffer_stop is safe to call twice (use it in a trap).

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

coffer_health() {         # coffer_health URL -> 0 when it answers 200
  python3 - "$1" <<'PY'
import os, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=os.environ["COFFER_CA"]) \
    if os.environ.get("COFFER_CA") else None
try:
    r = urllib.request.urlopen(sys.argv[1] + "/health", timeout=2, context=ctx)
    sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

coffer_tls_cert() {       # coffer_tls_cert DIR -> DIR/cert.pem, DIR/key.pem
  [ -f "$1/cert.pem" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$1/key.pem" -out "$1/cert.pem" >/dev/null 2>&1
}

coffer_start() {
  : "${COFFERD:?COFFERD must name the cofferd binary}"
  COFFER_TMP=${1:-$(mktemp -d "${TMPDIR:-/tmp}/coffer-it.XXXXXX")}
  COFFER_LOG=$COFFER_TMP/cofferd.log
  COFFER_ACCESS_LOG=$COFFER_TMP/access.log
  COFFER_VHOST_DOMAIN=s3.coffer.test
  local attempt port scheme=http tls=()
  if [ "${COFFER_TLS:-0}" = 1 ]; then
    coffer_tls_cert "$COFFER_TMP" || { echo "coffer_start: openssl failed" >&2; return 1; }
    scheme=https
    tls=(--tls-cert "$COFFER_TMP/cert.pem" --tls-key "$COFFER_TMP/key.pem")
    COFFER_CA=$COFFER_TMP/cert.pem
    export COFFER_CA
  fi
  for attempt in 1 2 3; do
    port=$(coffer_free_port)
    COFFER_ENDPOINT=$scheme://127.0.0.1:$port
    "$COFFERD" --var "$COFFER_TMP/var" --listen "127.0.0.1:$port" "${tls[@]}" \
      --access-log "$COFFER_ACCESS_LOG" --virtual-host-domain "$COFFER_VHOST_DOMAIN" \
      >>"$COFFER_LOG" 2>&1 &
    COFFER_PID=$!
    local i
    for i in $(seq 1 100); do                 # up to ~20 s
      if coffer_health "$COFFER_ENDPOINT"; then
        COFFER_ACCESS_KEY=$(coffer_cred "$COFFER_TMP/var/dev-credentials" access_key)
        COFFER_SECRET_KEY=$(coffer_cred "$COFFER_TMP/var/dev-credentials" secret_key)
        COFFER_ADMIN_ACCESS_KEY=$(coffer_cred "$COFFER_TMP/var/admin-credentials" access_key)
        COFFER_ADMIN_SECRET_KEY=$(coffer_cred "$COFFER_TMP/var/admin-credentials" secret_key)
        COFFER_REGION=us-east-1
        export COFFER_ENDPOINT COFFER_ACCESS_KEY COFFER_SECRET_KEY COFFER_REGION \
          COFFER_ADMIN_ACCESS_KEY COFFER_ADMIN_SECRET_KEY COFFER_TMP COFFER_PID \
          COFFER_LOG COFFER_ACCESS_LOG COFFER_VHOST_DOMAIN
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
  if [ -n "${COFFER_PID:-}" ]; then
    kill -TERM "$COFFER_PID" 2>/dev/null
    local i
    for i in $(seq 1 225); do                 # up to ~45 s: cofferd drains <= 30 s
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
  if [ -n "${COFFER_TMP:-}" ] && [ "${KEEP_TMP:-0}" != 1 ]; then
    rm -rf "$COFFER_TMP"
  fi
  return $rc
}
