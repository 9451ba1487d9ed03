#!/usr/bin/env bash
# tests/integration/test_awscli.sh - the aws cli v1 first on PATH (newest
# botocore: CRC32 on every upload, as an aws-chunked trailer over HTTPS and
# as a header over HTTP) and Debian's aws cli v2.9, each over HTTP and
# HTTPS: s3 mb/cp/sync/ls/rm/rb, a 200 MiB multipart upload (40 MiB under
# sanitizers), `s3 cp -` from a pipe of unknown length, s3api calls
# (put/head/get with a range, list V1 and V2, copy, delete-objects,
# checksums stored and returned), and presigned URLs (v1: SigV2, v2: SigV4)
# fetched with curl. Every download is compared byte for byte. Versioning
# and object lock through both clis: test_awscli_lock.sh (HTTPS);
# versioning over HTTP: test_versioning.py (boto3).
#
# One mode per run, AWSCLI_MODE (http by default): test_awscli_https.sh
# runs this script over HTTPS, so that make -j2 check runs the two halves
# at once (this is the longest client test).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
AWSCLI_MODE=${AWSCLI_MODE:-http}
it_init "awscli-$AWSCLI_MODE"
it_skip_unless python3 curl "$IT_AWS2"
case " $(it_modes) " in
  *" $AWSCLI_MODE "*) ;;
  *) echo "SKIP: IT_MODES ($IT_MODES) has no $AWSCLI_MODE"; exit 77 ;;
esac

aws_clients=(it_aws2)
case $("$IT_AWS1" --version 2>&1) in
  aws-cli/1.*) aws_clients=(it_aws1 it_aws2) ;;
  *) echo "NOTE: the first aws on PATH ($IT_AWS1) is not aws cli v1; testing v2 only" ;;
esac

data=$IT_WORK/data
mkdir -p "$data"
it_step "generate test data"
it_gen_file "$data/small.bin" 123457
it_gen_file "$data/big.bin" "$(it_size 200 40)"
it_gen_tree "$data/tree" 60 $((3 * MiB)) 3

crc32_b64() {             # crc32_b64 FILE -> base64 of the big-endian CRC32
  python3 - "$1" <<'PY'
import base64, sys, zlib
print(base64.b64encode(zlib.crc32(open(sys.argv[1], "rb").read()).to_bytes(4, "big")).decode())
PY
}

crc64nvme_b64() {         # crc64nvme_b64 FILE (small files only: bitwise)
  python3 - "$1" <<'PY'
import base64, sys
crc = (1 << 64) - 1
for byte in open(sys.argv[1], "rb").read():
    crc ^= byte
    for _ in range(8):
        crc = (crc >> 1) ^ 0x9A6C9329AC4BC9B5 if crc & 1 else crc >> 1
print(base64.b64encode((crc ^ ((1 << 64) - 1)).to_bytes(8, "big")).decode())
PY
}

etag() {                  # etag AWS BUCKET KEY -> ETag without quotes
  "$1" s3api head-object --bucket "$2" --key "$3" | it_json 'd["ETag"].strip("\"")'
}

# Everything both cli versions must do; $1 is it_aws1 or it_aws2.
aws_suite() {
  local aws=$1 v=${1#it_aws}
  local bucket=awscli-v$v-$COFFER_MODE
  local out=$IT_WORK/out-$bucket
  mkdir -p "$out"

  it_step "aws v$v: s3 mb, s3 cp up and down, ETag is the MD5"
  $aws s3 mb "s3://$bucket"
  $aws s3 cp --only-show-errors "$data/small.bin" "s3://$bucket/small.bin"
  $aws s3 cp --only-show-errors "s3://$bucket/small.bin" "$out/small.bin"
  it_same_file "$data/small.bin" "$out/small.bin"
  it_expect_eq "ETag" "$(it_md5 "$data/small.bin")" "$(etag "$aws" "$bucket" small.bin)"

  it_step "aws v$v: s3 sync up, s3 ls, s3 sync down, sync --delete"
  $aws s3 sync --only-show-errors "$data/tree" "s3://$bucket/tree"
  it_expect_eq "objects listed" 60 "$($aws s3 ls --recursive "s3://$bucket/tree/" | wc -l)"
  $aws s3 sync --only-show-errors "s3://$bucket/tree" "$out/tree"
  it_same_tree "$data/tree" "$out/tree"
  cp -a "$data/tree" "$out/tree2"
  rm -r "$out/tree2/d0"
  $aws s3 sync --only-show-errors --delete "$out/tree2" "s3://$bucket/tree"
  it_expect_eq "objects after sync --delete" "$(find "$out/tree2" -type f | wc -l)" \
    "$($aws s3 ls --recursive "s3://$bucket/tree/" | wc -l)"

  it_step "aws v$v: $(($(stat -c %s "$data/big.bin") / MiB)) MiB multipart upload, download"
  it_multipart $aws s3 cp --only-show-errors "$data/big.bin" "s3://$bucket/big.bin"
  case $(etag "$aws" "$bucket" big.bin) in
    *-[0-9]*) ;;
    *) echo "multipart ETag has no part count" >&2; return 1 ;;
  esac
  $aws s3 cp --only-show-errors "s3://$bucket/big.bin" - | cmp - "$data/big.bin"

  it_step "aws v$v: s3 cp - from a pipe of unknown length"
  it_gen_file "$out/piped.bin" $((21 * MiB))
  it_multipart $aws s3 cp --only-show-errors - "s3://$bucket/piped.bin" \
    < <(cat "$out/piped.bin")
  $aws s3 cp --only-show-errors "s3://$bucket/piped.bin" - | cmp - "$out/piped.bin"

  it_step "aws v$v: s3api put-object with metadata, head-object, ranged get-object"
  $aws s3api put-object --bucket "$bucket" --key "api/one.bin" --body "$data/small.bin" \
    --content-type application/x-coffer --metadata origin=awscli >/dev/null
  local head
  head=$($aws s3api head-object --bucket "$bucket" --key "api/one.bin")
  it_expect_eq "ContentLength" 123457 "$(it_json 'd["ContentLength"]' <<<"$head")"
  it_expect_eq "ContentType" application/x-coffer "$(it_json 'd["ContentType"]' <<<"$head")"
  it_expect_eq "Metadata" awscli "$(it_json 'd["Metadata"]["origin"]' <<<"$head")"
  $aws s3api get-object --bucket "$bucket" --key "api/one.bin" --range bytes=1000-1999 \
    "$out/range.bin" >/dev/null
  head -c 2000 "$data/small.bin" | tail -c 1000 | cmp "$out/range.bin" -

  it_step "aws v$v: s3api copy-object, list-objects (V1) and list-objects-v2"
  $aws s3api copy-object --bucket "$bucket" --key "api/two.bin" \
    --copy-source "$bucket/api/one.bin" >/dev/null
  $aws s3 cp --only-show-errors "s3://$bucket/api/two.bin" - | cmp - "$data/small.bin"
  it_expect_eq "list-objects-v2 KeyCount" 2 \
    "$($aws s3api list-objects-v2 --no-paginate --bucket "$bucket" --prefix api/ | it_json 'd["KeyCount"]')"
  it_expect_eq "list-objects keys" "['api/one.bin', 'api/two.bin']" \
    "$($aws s3api list-objects --bucket "$bucket" --prefix api/ |
       it_json '[o["Key"] for o in d["Contents"]]')"
  it_expect_eq "list-buckets has the bucket" True \
    "$($aws s3api list-buckets | it_json "'$bucket' in [b['Name'] for b in d['Buckets']]")"

  it_step "aws v$v: s3api delete-objects"
  $aws s3api delete-objects --bucket "$bucket" \
    --delete '{"Objects":[{"Key":"api/one.bin"},{"Key":"api/two.bin"}],"Quiet":true}' >/dev/null
  it_expect_eq "keys under api/ after delete-objects" 0 \
    "$($aws s3api list-objects-v2 --no-paginate --bucket "$bucket" --prefix api/ | it_json 'd["KeyCount"]')"

  it_step "aws v$v: presigned GET with curl"
  local url
  url=$($aws s3 presign "s3://$bucket/small.bin" --expires-in 300)
  case $v:$url in
    1:*AWSAccessKeyId=*Signature=*) ;;      # v1 presigns with SigV2
    2:*X-Amz-Signature=*) ;;
    *) echo "unexpected presigned URL for aws v$v: $url" >&2; return 1 ;;
  esac
  it_curl -o "$out/presigned.bin" "$url"
  it_same_file "$data/small.bin" "$out/presigned.bin"

  it_step "aws v$v: s3 rm, s3 rm --recursive, s3 rb"
  $aws s3 rm --only-show-errors "s3://$bucket/small.bin"
  $aws s3 rm --only-show-errors --recursive "s3://$bucket/"
  it_expect_eq "objects left" 0 "$($aws s3 ls --recursive "s3://$bucket/" | wc -l)"
  $aws s3 rb "s3://$bucket"
  it_must_fail $aws s3 ls "s3://$bucket/" 2>/dev/null
  rm -rf "$out"
}

# What only the newest botocore sends: default CRC32 checksums (a trailer
# over HTTPS, a header over HTTP) and CRC64NVME when given a value.
aws1_checksums() {
  local bucket=awscli-crc-$COFFER_MODE debug=$IT_WORK/aws-debug.log
  it_aws1 s3 mb "s3://$bucket"

  it_step "aws v1: default CRC32 sent ($([ "$COFFER_MODE" = https ] &&
    echo 'aws-chunked trailer' || echo header)), stored and returned"
  it_aws1 --debug s3api put-object --bucket "$bucket" --key crc.bin \
    --body "$data/small.bin" >/dev/null 2>"$debug"
  if [ "$COFFER_MODE" = https ]; then
    grep -q "STREAMING-UNSIGNED-PAYLOAD-TRAILER" "$debug"
  else
    grep -qi "'x-amz-checksum-crc32'" "$debug"
  fi
  it_expect_eq "ChecksumCRC32" "$(crc32_b64 "$data/small.bin")" \
    "$(it_aws1 s3api head-object --bucket "$bucket" --key crc.bin --checksum-mode ENABLED |
       it_json 'd["ChecksumCRC32"]')"
  it_aws1 s3 cp --only-show-errors "s3://$bucket/crc.bin" - | cmp - "$data/small.bin"

  it_step "aws v1: CRC64NVME given by the test is verified and stored; a wrong one is refused"
  head -c 4096 "$data/small.bin" >"$IT_WORK/4k.bin"
  local good
  good=$(crc64nvme_b64 "$IT_WORK/4k.bin")
  it_aws1 s3api put-object --bucket "$bucket" --key crc64.bin --body "$IT_WORK/4k.bin" \
    --checksum-crc64-nvme "$good" >/dev/null
  it_expect_eq "ChecksumCRC64NVME" "$good" \
    "$(it_aws1 s3api head-object --bucket "$bucket" --key crc64.bin --checksum-mode ENABLED |
       it_json 'd["ChecksumCRC64NVME"]')"
  it_must_fail it_aws1 s3api put-object --bucket "$bucket" --key bad.bin \
    --body "$IT_WORK/4k.bin" --checksum-crc64-nvme AAAAAAAAAAA= 2>"$debug" >/dev/null
  grep -q BadDigest "$debug"
  it_must_fail it_aws1 s3api head-object --bucket "$bucket" --key bad.bin 2>/dev/null

  it_aws1 s3 rm --only-show-errors --recursive "s3://$bucket/"
  it_aws1 s3 rb "s3://$bucket"
}

it_server "$AWSCLI_MODE"
for aws in "${aws_clients[@]}"; do
  aws_suite "$aws"
done
[ "${aws_clients[0]}" != it_aws1 ] || aws1_checksums
it_server_stop
it_done
