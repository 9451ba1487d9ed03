#!/usr/bin/env bash
# tests/integration/tls.sh - cofferd over HTTPS with the newest boto3 on
# the machine: over TLS, botocore >= 1.36 sends every PutObject/UploadPart
# as aws-chunked with an unsigned CRC32 trailer; the framing must never end
# up in the object and the trailer checksum must be verified and stored.
# Run twice: TLS from the configuration file (lib.sh's https mode), then
# from cofferd's --tls-cert/--tls-key options on the same data.
set -u
here=$(cd "$(dirname "$0")" && pwd)
COFFERD=${COFFERD:-$(pwd)/server/cofferd}
export COFFERD
. "$here/lib.sh"
py=$(coffer_python newest boto3) || { echo "SKIP: no python3 with boto3" >&2; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: no openssl" >&2; exit 77; }

trap 'coffer_stop >/dev/null 2>&1' EXIT
trap 'exit 1' INT TERM
coffer_start https || exit 1
"$py" "$here/tls_client.py" || { tail -30 "$COFFER_LOG"; exit 1; }
coffer_stop_server || exit 1

port=$(coffer_free_port)
COFFER_ENDPOINT=https://127.0.0.1:$port
"$COFFERD" --var "$COFFER_TMP/var" --listen "127.0.0.1:$port" \
  --tls-cert "$COFFER_TMP/tls/cert.pem" --tls-key "$COFFER_TMP/tls/key.pem" \
  --access-log "$COFFER_ACCESS_LOG" >>"$COFFER_LOG" 2>&1 &
COFFER_PID=$!
for i in $(seq 1 100); do                         # up to ~20 s
  coffer_health "$COFFER_ENDPOINT" "$COFFER_CA" && break
  sleep 0.2
done
"$py" "$here/tls_client.py" || { tail -30 "$COFFER_LOG"; exit 1; }
coffer_stop || exit 1
echo "tls: ok"
