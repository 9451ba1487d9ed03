# tests/integration/lib.sh - start and stop a throw-away cofferd for
# integration tests. Source it, then:
#
#   coffer_start [DIR]      # needs COFFERD (path to the built binary); DIR:
#                           # reuse a COFFER_TMP kept from an earlier run
#   ... use COFFER_ENDPOINT, COFFER_ACCESS_KEY, COFFER_SECRET_KEY,
#       COFFER_ADMIN_ACCESS_KEY, COFFER_ADMIN_SECRET_KEY, COFFER_REGION,
#       COFFER_TMP (scratch dir), COFFER_LOG (stderr), COFFER_ACCESS_LOG,
#       COFFER_VHOST_DOMAIN (BUCKET.$COFFER_VHOST_DOMAIN is virtual-host style;
#       set it before coffer_start to choose another domain)
#   coffer_stop             # SIGTERM, bounded wait, then SIGKILL; removes
#                           # COFFER_TMP unless KEEP_TMP=1. Returns non-zero
#                           # if cofferd did not exit 0 by itself (a crash,
#                           # a hang, or a sanitizer report at exit).
#
# The server runs the embedded default (six disk directories) under a
# fresh temporary directory, on a free loopback port; every wait is
# bounded, and coffer_stop is safe to call twice (use it in a trap).
#
#   coffer_start https [DIR] # the same, over TLS: a self-signed certificate
#                           # for 127.0.0.1/localhost is made in COFFER_TMP
#                           # and exported as COFFER_CA (clients trust it);
#                           # COFFER_ENDPOINT starts with https://.
#
# In https mode the embedded default runs once over plain HTTP to create
# the disks, master key and dev tenant, then cofferd is restarted on the
# same directory with a configuration file (coffer.json(5)) that adds the
# "tls" section: the dev credentials and the data stay the same. With
# COFFER_CONFIG_EXTRA (a JSON object of top-level keys, e.g. a "lifecycle"
# section) set, the same happens in either mode and the keys are added.

coffer_free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

coffer_faultproxy() {     # coffer_faultproxy HOST:PORT DIR: faultproxy.py in front
  # of a server; sets FAULTPROXY_PID, FAULTPROXY_PORT and FAULTPROXY_CONTROL
  # (its control port); the caller kills FAULTPROXY_PID when done.
  local f_i
  python3 "$(dirname "${BASH_SOURCE[0]}")/faultproxy.py" --upstream "$1" \
    --ports-file "$2/proxy-ports" &
  FAULTPROXY_PID=$!
  for f_i in $(seq 1 50); do
    [ -s "$2/proxy-ports" ] && break
    sleep 0.1
  done
  read -r FAULTPROXY_PORT FAULTPROXY_CONTROL <"$2/proxy-ports" ||
    { echo "FAIL: faultproxy did not start" >&2; return 1; }
}

coffer_python() {         # coffer_python newest|debian MODULE... -> prints the
  # first python3 that imports every MODULE: PATH's first for "newest" (the
  # newest boto3 here), Debian's /usr/bin/python3 first for "debian".
  local order=$1 path_py cand mods
  shift
  path_py=$(command -v python3 || true)
  mods=$(IFS=,; echo "$*")
  local cands=(/usr/bin/python3 "$path_py")
  [ "$order" = newest ] && cands=("$path_py" /usr/bin/python3)
  for cand in "${cands[@]}"; do
    [ -n "$cand" ] && [ -x "$cand" ] && "$cand" -c "import $mods" 2>/dev/null &&
      { echo "$cand"; return 0; }
  done
  return 1
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

# The configuration file for a restart with one (https, or
# COFFER_CONFIG_EXTRA set): the embedded default's directories and admin
# credential, the certificate in https mode, and the top-level keys of
# COFFER_CONFIG_EXTRA (a JSON object, e.g. '{"lifecycle": {...}}').
coffer_write_config() {   # coffer_write_config FILE PORT http|https
  local var=$COFFER_TMP/var
  python3 - "$1" "$2" "$3" "$var" "$COFFER_TMP/tls" "$COFFER_VHOST_DOMAIN" \
    "$(coffer_cred "$var/admin-credentials" access_key)" \
    "$(coffer_cred "$var/admin-credentials" secret_key)" "${COFFER_CONFIG_EXTRA:-{\}}" <<'PY'
import json, sys
path, port, mode, var, tls, vhost, ak, sk, extra = sys.argv[1:]
cfg = {
    "listen": f"127.0.0.1:{port}",
    "disks": [f"{var}/disk{i}" for i in range(1, 7)],
    "meta_dir": f"{var}/meta",
    "master_key_file": f"{var}/master.key",
    "admin": {"access_key": ak, "secret_key": sk},
    "virtual_host_domain": vhost,
}
if mode == "https":
    cfg["tls"] = {"cert": f"{tls}/cert.pem", "key": f"{tls}/key.pem"}
cfg.update(json.loads(extra))
json.dump(cfg, open(path, "w"), indent=2)
PY
}

# Restart the stopped server of coffer_start from a configuration file
# (coffer_write_config) on plain HTTP and wait until /health answers.
coffer_launch_config() {  # coffer_launch_config FILE PORT
  COFFER_ENDPOINT=http://127.0.0.1:$2
  "$COFFERD" -c "$1" --access-log "$COFFER_ACCESS_LOG" >>"$COFFER_LOG" 2>&1 &
  COFFER_PID=$!
  export COFFER_ENDPOINT COFFER_PID
  local i
  for i in $(seq 1 100); do                   # up to ~20 s
    coffer_health "$COFFER_ENDPOINT" && return 0
    kill -0 "$COFFER_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "coffer_launch_config: cofferd did not come up; its log:" >&2
  tail -30 "$COFFER_LOG" >&2
  return 1
}

coffer_start() {          # coffer_start [http|https] [DIR]
  : "${COFFERD:?COFFERD must name the cofferd binary}"
  local mode=http dir= arg
  for arg in "$@"; do
    case $arg in http|https) mode=$arg ;; *) dir=$arg ;; esac
  done
  COFFER_TMP=${dir:-$(mktemp -d "${TMPDIR:-/tmp}/coffer-it.XXXXXX")}
  COFFER_LOG=$COFFER_TMP/cofferd.log
  COFFER_ACCESS_LOG=$COFFER_TMP/access.log
  COFFER_VHOST_DOMAIN=${COFFER_VHOST_DOMAIN:-s3.coffer.test}
  COFFER_CA=
  COFFER_MODE=$mode
  if [ "$mode" = https ]; then
    if [ ! -f "$COFFER_TMP/tls/cert.pem" ]; then
      coffer_make_cert "$COFFER_TMP/tls" || { echo "coffer_start: openssl failed" >&2; return 1; }
    fi
    COFFER_CA=$COFFER_TMP/tls/cert.pem
  fi
  if [ "$mode" = https ] || [ -n "${COFFER_CONFIG_EXTRA:-}" ]; then
    if [ ! -f "$COFFER_TMP/var/dev-credentials" ]; then
      local extra=${COFFER_CONFIG_EXTRA:-}
      COFFER_CONFIG_EXTRA= coffer_launch http || return 1  # first start: disks, keys, dev tenant
      coffer_stop_server || return 1
      COFFER_CONFIG_EXTRA=$extra
    fi
  fi
  coffer_launch "$mode"
}

# Start cofferd on a free port (three tries) and wait until /health answers.
coffer_launch() {         # coffer_launch http|https
  local attempt port
  for attempt in 1 2 3; do
    port=$(coffer_free_port)
    COFFER_ENDPOINT=$1://127.0.0.1:$port
    if [ "$1" = https ] || [ -n "${COFFER_CONFIG_EXTRA:-}" ]; then
      coffer_write_config "$COFFER_TMP/coffer.json" "$port" "$1"
      "$COFFERD" -c "$COFFER_TMP/coffer.json" \
        --access-log "$COFFER_ACCESS_LOG" >>"$COFFER_LOG" 2>&1 &
    else
      "$COFFERD" --var "$COFFER_TMP/var" --listen "127.0.0.1:$port" \
        --access-log "$COFFER_ACCESS_LOG" --virtual-host-domain "$COFFER_VHOST_DOMAIN" \
        >>"$COFFER_LOG" 2>&1 &
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
          COFFER_LOG COFFER_ACCESS_LOG COFFER_VHOST_DOMAIN COFFER_CA COFFER_MODE
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
  return $rc
}

# ---- real-client tests (test_*.sh) ----------------------------------------
#
# A client test script does:
#
#   . lib.sh; it_init NAME          # work dir, traps, sandboxed client env
#   for mode in $(it_modes); do
#     it_server "$mode"             # cofferd + endpoint/CA/credentials for
#     it_step "what is checked"     #   every client below
#     it_restic ... / it_rclone ... / it_aws1 ... / it_aws2 ... / it_s3cmd ...
#     it_server_stop
#   done
#   it_done
#
# Every command runs under `set -eE`: the first failing command ends the
# script through the ERR trap, which names the step, the command and its
# line and shows the end of the server log; the EXIT trap stops cofferd
# and removes the work directory (KEEP_TMP=1 keeps both directories).
# Every client call is bounded by `timeout` (IT_TIMEOUT seconds, 600 by
# default). Clients never leave the machine: HOME and every config dir are
# under the work dir, the EC2 metadata lookup is off, the region is fixed,
# and the only endpoint they know is the loopback cofferd.

IT_TIMEOUT=${IT_TIMEOUT:-600}
MiB=1048576

it_init() {               # it_init NAME
  set -eE
  IT_NAME=$1
  IT_T0=$SECONDS
  IT_STEP="setup"
  COFFERD=${COFFERD:-$(pwd)/server/cofferd}
  export COFFERD
  IT_WORK=$(mktemp -d "${TMPDIR:-/tmp}/coffer-$IT_NAME.XXXXXX")
  trap 'it_on_error $LINENO "$BASH_COMMAND"' ERR
  trap it_cleanup EXIT
  trap 'exit 1' INT TERM
  # Resolve the clients before HOME moves: the aws cli v1 is the first
  # `aws` on PATH (pyenv), v2 is Debian's.
  IT_AWS1=$(command -v aws || true)
  IT_AWS2=/usr/bin/aws
  export HOME=$IT_WORK/home
  mkdir -p "$HOME/.aws" "$HOME/.config" "$HOME/.cache"
  export XDG_CONFIG_HOME=$HOME/.config XDG_CACHE_HOME=$HOME/.cache
  export AWS_CONFIG_FILE=$HOME/.aws/config AWS_SHARED_CREDENTIALS_FILE=$HOME/.aws/credentials
  export AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
  export AWS_PAGER= AWS_MAX_ATTEMPTS=2 AWS_RETRY_MODE=standard
  export RCLONE_CONFIG=$HOME/.config/rclone/rclone.conf
  export RESTIC_PASSWORD=coffer-integration-test RESTIC_CACHE_DIR=$HOME/.cache/restic
  export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
  unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY AWS_PROFILE AWS_ENDPOINT_URL \
    AWS_CA_BUNDLE AWS_SESSION_TOKEN
  printf '[default]\nregion = us-east-1\n' >"$AWS_CONFIG_FILE"
  : >"$AWS_SHARED_CREDENTIALS_FILE"
  echo "== $IT_NAME: cofferd $COFFERD$(it_sanitized && echo ' (sanitizers: smaller data)')"
}

it_on_error() {           # from the ERR trap (also in subshells: set -E)
  trap - ERR
  echo "FAIL: $IT_NAME [${COFFER_MODE:-}] step '$IT_STEP': line $1: $2" >&2
  [ "$BASH_SUBSHELL" -eq 0 ] || exit 1
  if [ -n "${COFFER_LOG:-}" ] && [ -f "$COFFER_LOG" ]; then
    echo "=== cofferd log (last 30 lines)" >&2
    tail -30 "$COFFER_LOG" >&2
  fi
  exit 1
}

it_cleanup() {
  local rc=$?
  trap - ERR
  coffer_stop >/dev/null 2>&1 || true
  if [ "${KEEP_TMP:-0}" = 1 ]; then
    echo "kept $IT_WORK" >&2
  else
    rm -rf "$IT_WORK"
  fi
  exit $rc
}

it_done() {
  echo "PASS: $IT_NAME in $((SECONDS - IT_T0)) s"
}

# The modes to run (IT_MODES narrows them when debugging).
it_modes() {
  echo "${IT_MODES:-http https}"
}

it_step() {               # it_step DESCRIPTION: say what is checked next
  IT_STEP=$*
  printf -- '-- %4ds [%s] %s\n' $((SECONDS - IT_T0)) "${COFFER_MODE:-}" "$IT_STEP"
}

# Sanitizer build? make check says so (COFFER_SANITIZED, from configure's
# SAN_CFLAGS); run by hand, the binary's link to libasan tells.
it_sanitized() {
  if [ -z "${COFFER_SANITIZED:-}" ]; then
    COFFER_SANITIZED=0
    ldd "$COFFERD" 2>/dev/null | grep libasan >/dev/null && COFFER_SANITIZED=1
  fi
  [ "$COFFER_SANITIZED" = 1 ]
}

it_size() {               # it_size MIB MIB_UNDER_SANITIZERS -> bytes
  if it_sanitized; then echo $(($2 * MiB)); else echo $(($1 * MiB)); fi
}

it_skip_unless() {        # it_skip_unless PROGRAM...: exit 77 if one is missing
  local p
  for p in "$@"; do
    command -v "$p" >/dev/null 2>&1 || { echo "SKIP: $p is not installed"; exit 77; }
  done
}

it_rclone_remote() {      # it_rclone_remote NAME [EXTRA LINE]: a config section
  printf '[%s]\n' "$1"
  printf '%s\n' "type = s3" "provider = Other" "env_auth = false" \
    "access_key_id = $COFFER_ACCESS_KEY" "secret_access_key = $COFFER_SECRET_KEY" \
    "endpoint = $COFFER_ENDPOINT" "region = us-east-1" "force_path_style = true" \
    ${2:+"$2"} ""
}

# Start cofferd in MODE and point every client at it.
it_server() {             # it_server http|https
  coffer_start "$1"
  export AWS_ACCESS_KEY_ID=$COFFER_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$COFFER_SECRET_KEY
  mkdir -p "$(dirname "$RCLONE_CONFIG")"
  # Two remotes: ListObjects V1 (rclone's default for provider Other) and V2.
  { it_rclone_remote coffer; it_rclone_remote coffer2 "list_version = 2"; } >"$RCLONE_CONFIG"
  local hostport=${COFFER_ENDPOINT#*://}
  IT_S3CFG=$HOME/.s3cfg
  cat >"$IT_S3CFG" <<CONF
[default]
access_key = $COFFER_ACCESS_KEY
secret_key = $COFFER_SECRET_KEY
host_base = $hostport
host_bucket = $hostport
bucket_location = us-east-1
use_https = $([ "$COFFER_MODE" = https ] && echo True || echo False)
ca_certs_file = ${COFFER_CA}
check_ssl_certificate = True
signature_v2 = False
progress_meter = False
CONF
}

# Stop cofferd; clients retry, so a 5xx they recovered from is still a
# failure: the access log must have none.
it_server_stop() {
  it_step "no 5xx in the access log; cofferd stops cleanly"
  if grep '"status":5[0-9][0-9]' "$COFFER_ACCESS_LOG" >&2; then
    echo "cofferd answered 5xx (above); its log:" >&2
    tail -30 "$COFFER_LOG" >&2
    return 1
  fi
  coffer_stop
}

# The clients, bounded in time, aimed at the running cofferd (and its CA).
it_restic() {             # it_restic BUCKET ARGS...
  local repo=s3:$COFFER_ENDPOINT/$1; shift
  timeout -k 10 "$IT_TIMEOUT" restic -r "$repo" ${COFFER_CA:+--cacert "$COFFER_CA"} "$@"
}

it_rclone() {
  timeout -k 10 "$IT_TIMEOUT" rclone ${COFFER_CA:+--ca-cert "$COFFER_CA"} "$@"
}

it_aws1() {
  timeout -k 10 "$IT_TIMEOUT" "$IT_AWS1" --endpoint-url "$COFFER_ENDPOINT" \
    ${COFFER_CA:+--ca-bundle "$COFFER_CA"} "$@"
}

it_aws2() {
  timeout -k 10 "$IT_TIMEOUT" "$IT_AWS2" --endpoint-url "$COFFER_ENDPOINT" \
    ${COFFER_CA:+--ca-bundle "$COFFER_CA"} "$@"
}

# The aws clis to test, in IT_AWS_CLIENTS: it_aws1 (when the first aws on
# PATH is cli v1) and it_aws2.
it_aws_clients() {
  IT_AWS_CLIENTS=(it_aws2)
  case $("$IT_AWS1" --version 2>&1) in
    aws-cli/1.*) IT_AWS_CLIENTS=(it_aws1 it_aws2) ;;
    *) echo "NOTE: the first aws on PATH ($IT_AWS1) is not aws cli v1; testing v2 only" ;;
  esac
}

it_s3cmd() {
  timeout -k 10 "$IT_TIMEOUT" s3cmd -c "$IT_S3CFG" "$@"
}

it_curl() {               # plain HTTP(S) with the test CA, e.g. presigned URLs
  timeout -k 10 "$IT_TIMEOUT" curl -sS --fail-with-body ${COFFER_CA:+--cacert "$COFFER_CA"} "$@"
}

# ---- data and comparisons ------------------------------------------------

it_gen_file() {           # it_gen_file FILE BYTES: random content
  head -c "$2" /dev/urandom >"$1"
  [ "$(stat -c %s "$1")" -eq "$2" ]
}

# NFILES files of random content and sizes (some empty) totalling BYTES,
# spread over nested directories; the same SEED gives the same tree.
it_gen_tree() {           # it_gen_tree DIR NFILES BYTES SEED
  python3 - "$@" <<'PY'
import os, random, sys
root, nfiles, total, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
weights = [0.0 if i % 97 == 0 else rng.expovariate(1.0) for i in range(nfiles)]
scale = total / sum(weights)
sizes = [int(w * scale) for w in weights]
sizes[max(range(nfiles), key=lambda i: sizes[i])] += total - sum(sizes)
for i, size in enumerate(sizes):
    d = os.path.join(root, f"d{i % 7}", f"e{i % 13}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"file-{i:05d}.bin"), "wb") as f:
        f.write(rng.randbytes(size))
PY
}

it_tree_stats() {         # it_tree_stats DIR -> "FILES BYTES"
  find "$1" -type f -printf '%s\n' | awk '{n++; b += $1} END {print n + 0, b + 0}'
}

it_same_file() {          # it_same_file EXPECTED ACTUAL
  cmp "$1" "$2"
}

it_same_tree() {          # it_same_tree EXPECTED_DIR ACTUAL_DIR
  diff -r "$1" "$2"
}

it_expect_eq() {          # it_expect_eq WHAT EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then
    echo "$1: expected '$2', got '$3'" >&2
    return 1
  fi
}

it_must_fail() {          # it_must_fail CMD...: the command has to fail
  if "$@"; then
    echo "expected a failure from: $*" >&2
    return 1
  fi
  return 0
}

# How many successful (2xx) requests of an S3 operation the access log
# has seen since cofferd started.
it_op_count() {           # it_op_count OPERATION
  grep "\"op\":\"$1\"" "$COFFER_ACCESS_LOG" | grep -c '"status":2' || true
}

# The count once it reaches N, or after ~5 s: cofferd writes a log line
# when the response is done, which may be just after the client has it.
it_wait_ops() {           # it_wait_ops OPERATION N -> the count
  local i n
  for i in $(seq 1 25); do
    n=$(it_op_count "$1")
    [ "$n" -lt "$2" ] || break
    sleep 0.2
  done
  echo "$n"
}

it_multipart() {          # it_multipart CMD...: CMD completes one multipart upload
  local before
  before=$(it_op_count CompleteMultipartUpload)
  "$@"
  it_expect_eq "multipart uploads completed by $1" $((before + 1)) \
    "$(it_wait_ops CompleteMultipartUpload $((before + 1)))"
}

it_vmhwm_kb() {           # peak resident set of the running cofferd, in KiB
  awk '/^VmHWM:/ {print $2}' "/proc/$COFFER_PID/status"
}

it_json() {               # it_json EXPR < JSON: print EXPR over the document d
  python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

it_md5() {                # it_md5 FILE -> hex MD5
  md5sum <"$1" | cut -d' ' -f1
}
