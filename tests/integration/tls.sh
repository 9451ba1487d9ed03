#!/usr/bin/env bash
# tests/integration/tls.sh - cofferd over HTTPS (self-signed certificate)
# with the newest boto3 available: over TLS, botocore >= 1.36 sends every
# PutObject/UploadPart as aws-chunked with an unsigned CRC32 trailer, and
# restic/minio-go send UNSIGNED-PAYLOAD; the framing must never end up in
# the object and the trailer checksum must be verified and stored.
set -u
here=$(cd "$(dirname "$0")" && pwd)
COFFERD=${COFFERD:-$(pwd)/server/cofferd}
export COFFERD
. "$here/lib.sh"
py=
for cand in "$(command -v python3 || true)" /usr/bin/python3; do   # newest boto3 first
  [ -n "$cand" ] && "$cand" -c 'import boto3' 2>/dev/null && { py=$cand; break; }
done
[ -n "$py" ] || { echo "SKIP: no python3 with boto3" >&2; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: no openssl" >&2; exit 77; }

trap 'coffer_stop >/dev/null 2>&1' EXIT
trap 'exit 1' INT TERM
COFFER_TLS=1 coffer_start || exit 1
"$py" "$here/tls_client.py" || { tail -30 "$COFFER_LOG"; exit 1; }
coffer_stop || exit 1
echo "tls: ok"
