#!/usr/bin/env bash
# tests/integration/conformance.sh - the S3 behaviour current SDKs and
# tools rely on (issue 15): retried completes, conditional writes, SSE
# headers and SSE-C, partNumber reads, GetObjectAttributes, checksum types
# and the small things. conformance_client.py runs under both boto3
# generations (PATH's python3: the newest botocore; Debian's boto3 1.26),
# then the aws cli v1 (newest botocore) and Debian's aws cli v2.9 upload in
# parts with --checksum-algorithm and the stored checksum and its type are
# checked against values computed here.
# cofferd runs from a configuration file with sse_c.allow_http_on_loopback
# so customer keys can be sent over plain HTTP on loopback. ssec_memory.py
# then searches cofferd's memory for the customer keys it sent.
set -u
here=$(cd "$(dirname "$0")" && pwd)
COFFERD=${COFFERD:-$(pwd)/server/cofferd}
export COFFERD
. "$here/lib.sh"
newest=$(coffer_python newest boto3) || { echo "SKIP: no python3 with boto3" >&2; exit 77; }
debian=$(coffer_python debian boto3) || debian=

trap 'coffer_stop >/dev/null 2>&1' EXIT
trap 'exit 1' INT TERM
coffer_start || exit 1
coffer_stop_server || exit 1

port=$(coffer_free_port)
COFFER_CONFIG_EXTRA='{"sse_c": {"allow_http_on_loopback": true}}' \
  coffer_write_config "$COFFER_TMP/conformance.json" "$port" http || exit 1
coffer_launch_config "$COFFER_TMP/conformance.json" "$port" || exit 1

fail() { echo "FAIL: $*"; echo "=== cofferd log"; tail -30 "$COFFER_LOG"; exit 1; }

"$newest" "$here/ssec_memory.py" || fail "a customer key stayed in cofferd's memory"
"$newest" "$here/conformance_client.py" || fail "conformance_client.py under $newest"
if [ -n "$debian" ] && [ "$debian" != "$newest" ]; then
  "$debian" "$here/conformance_client.py" || fail "conformance_client.py under $debian"
fi

# The aws clis: each runs with only the endpoint's credentials.
work=$COFFER_TMP/awscli
mkdir -p "$work"
head -c $((13 * 1024 * 1024 + 17)) /dev/urandom >"$work/big.bin"
awsrun() {                 # awsrun AWS ARGS...
  local bin=$1; shift
  env -u AWS_CA_BUNDLE -u AWS_PROFILE -u AWS_SESSION_TOKEN \
    AWS_ACCESS_KEY_ID=$COFFER_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$COFFER_SECRET_KEY \
    AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    "$bin" --endpoint-url "$COFFER_ENDPOINT" "$@"
}
expected() {               # expected ALGO TYPE FILE -> the checksum S3 gives FILE
  # uploaded in 8 MiB parts (the clis' default) with that type
  "$newest" - "$here" "$@" <<'PY'
import os, sys
sys.path.insert(0, sys.argv[1])
os.environ.setdefault("COFFER_ENDPOINT", "http://127.0.0.1:1")
from conformance_client import b64, digest_raw
algo, ctype, data = sys.argv[2], sys.argv[3], open(sys.argv[4], "rb").read()
if ctype == "FULL_OBJECT":
    print(b64(digest_raw(algo, data)))
else:
    parts = [data[i:i + (8 << 20)] for i in range(0, len(data), 8 << 20)]
    print(b64(digest_raw(algo, b"".join(digest_raw(algo, p) for p in parts)))
          + f"-{len(parts)}")
PY
}
aws_case() {               # aws_case AWS ALGO
  local bin=$1 algo=$2 b want got sum type
  b=aws-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
  awsrun "$bin" s3 mb "s3://$b" >/dev/null || fail "$bin s3 mb"
  awsrun "$bin" s3 cp --checksum-algorithm "$algo" "$work/big.bin" "s3://$b/big.bin" \
    >/dev/null || fail "$bin s3 cp --checksum-algorithm $algo"
  awsrun "$bin" s3 cp "s3://$b/big.bin" "$work/back.bin" >/dev/null || fail "$bin s3 cp down"
  cmp "$work/big.bin" "$work/back.bin" || fail "$bin: the object read back differs"
  got=$(awsrun "$bin" s3api head-object --bucket "$b" --key big.bin --checksum-mode ENABLED \
    --query "[Checksum$algo, ChecksumType]" --output text) || fail "$bin head-object"
  read -r sum type <<<"$got"
  # aws cli v2.9 predates ChecksumType (None): the object is COMPOSITE
  case $type in FULL_OBJECT|COMPOSITE) ;; None) type=COMPOSITE ;; *) fail "$bin: type $type" ;; esac
  want=$(expected "$algo" "$type" "$work/big.bin")
  [ "$sum" = "$want" ] || fail "$bin: $algo $type checksum $sum, computed $want"
  awsrun "$bin" s3 rb --force "s3://$b" >/dev/null || fail "$bin s3 rb --force"
  echo "ok   $bin: $algo multipart upload, $type checksum $sum"
}
# Neither cli here can send CRC64NVME (v1's botocore needs an awscrt with
# it, v2.9 predates it): conformance_client.py's raw requests cover it.
case $(awsrun aws --version 2>&1) in
  aws-cli/1.*) aws_case "$(command -v aws)" CRC32 ;;
  *) echo "NOTE: the first aws on PATH is not aws cli v1" ;;
esac
# aws cli v2.9's s3 cp has no --checksum-algorithm: its s3api, part by part
aws_api_case() {           # aws_api_case AWS ALGO
  local bin=$1 algo=$2 b up n etag sum parts= got type want
  b=aws-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
  awsrun "$bin" s3 mb "s3://$b" >/dev/null || fail "$bin s3 mb"
  up=$(awsrun "$bin" s3api create-multipart-upload --bucket "$b" --key big.bin \
    --checksum-algorithm "$algo" --query UploadId --output text) || fail "$bin create"
  rm -f "$work"/part.*
  split -b $((8 * 1024 * 1024)) -d -a 1 "$work/big.bin" "$work/part."
  n=0
  for f in "$work"/part.*; do
    n=$((n + 1))
    read -r etag sum < <(awsrun "$bin" s3api upload-part --bucket "$b" --key big.bin \
      --upload-id "$up" --part-number "$n" --body "$f" --checksum-algorithm "$algo" \
      --query "[ETag, Checksum$algo]" --output text) || fail "$bin upload-part"
    parts="$parts{\"PartNumber\":$n,\"ETag\":$etag,\"Checksum$algo\":\"$sum\"},"
  done
  awsrun "$bin" s3api complete-multipart-upload --bucket "$b" --key big.bin \
    --upload-id "$up" --multipart-upload "{\"Parts\":[${parts%,}]}" >/dev/null ||
    fail "$bin complete"
  awsrun "$bin" s3api get-object --bucket "$b" --key big.bin "$work/back.bin" >/dev/null ||
    fail "$bin get-object"
  cmp "$work/big.bin" "$work/back.bin" || fail "$bin: the object read back differs"
  got=$(awsrun "$bin" s3api head-object --bucket "$b" --key big.bin --checksum-mode ENABLED \
    --query "Checksum$algo" --output text) || fail "$bin head-object"
  want=$(expected "$algo" COMPOSITE "$work/big.bin")
  [ "$got" = "$want" ] || fail "$bin: $algo checksum $got, computed $want"
  awsrun "$bin" s3 rb --force "s3://$b" >/dev/null || fail "$bin s3 rb --force"
  echo "ok   $bin: $algo multipart upload (s3api), COMPOSITE checksum $got"
}
if [ -x /usr/bin/aws ]; then
  aws_api_case /usr/bin/aws CRC32
  aws_api_case /usr/bin/aws SHA256
fi

coffer_stop || exit 1
echo "conformance: ok"
