#!/usr/bin/env bash
# tests/integration/test_bigobject.sh - a 2 GiB object (200 MiB under
# sanitizers) goes up and comes back byte-identical through the aws cli v1
# over HTTPS (multipart, CRC32 in aws-chunked trailers) and through rclone
# over plain HTTP (multipart; the HTTPS pass with storage.direct_io on,
# the HTTP one with the default page cache), while cofferd's peak resident
# set (VmHWM) stays under 128 MiB: the server streams, it never holds an
# object. The
# RSS limit is not asserted under sanitizers (shadow memory and the
# allocator quarantine inflate RSS), only reported.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
it_init bigobject
it_skip_unless rclone python3

RSS_LIMIT_KB=$((128 * 1024))
size=$(it_size 2048 200)
big=$IT_WORK/big.bin
it_step "generate a $((size / MiB)) MiB file"
it_gen_file "$big" "$size"

check_rss() {             # check_rss CLIENT: cofferd's peak RSS so far
  local hwm
  hwm=$(it_vmhwm_kb)
  echo "cofferd peak RSS (VmHWM) after the $1 transfer: $((hwm / 1024)) MiB"
  if it_sanitized; then
    echo "(sanitizer build: the ${RSS_LIMIT_KB} KiB limit is not asserted)"
  else
    [ "$hwm" -lt "$RSS_LIMIT_KB" ]
  fi
}

expect_size() {           # expect_size AWS BUCKET KEY
  it_expect_eq "ContentLength" "$size" \
    "$("$1" s3api head-object --bucket "$2" --key "$3" | it_json 'd["ContentLength"]')"
}

for mode in $(it_modes); do
  # the HTTPS pass writes its shard files with O_DIRECT (storage.direct_io),
  # the HTTP pass through the page cache (the default)
  if [ "$mode" = https ]; then
    export COFFER_CONFIG_EXTRA='{"storage": {"direct_io": true}}'
  else
    unset COFFER_CONFIG_EXTRA
  fi
  it_server "$mode"
  bucket=big-$mode
  if [ "$mode" = https ]; then
    case $("$IT_AWS1" --version 2>&1) in
      aws-cli/1.*) aws=it_aws1 ;;
      *) echo "NOTE: no aws cli v1 first on PATH; using v2"; aws=it_aws2 ;;
    esac
    it_step "${aws#it_} s3 cp up (multipart), size, s3 cp down: byte-identical"
    $aws s3 mb "s3://$bucket"
    it_multipart $aws s3 cp --only-show-errors "$big" "s3://$bucket/big.bin"
    expect_size "$aws" "$bucket" big.bin
    $aws s3 cp --only-show-errors "s3://$bucket/big.bin" - | cmp - "$big"
    check_rss "aws cli"
  else
    it_step "rclone copyto (multipart), size, cat: byte-identical"
    it_rclone mkdir "coffer:$bucket"
    it_multipart it_rclone copyto --s3-upload-cutoff 16M "$big" "coffer:$bucket/big.bin"
    expect_size it_aws2 "$bucket" big.bin
    it_rclone cat "coffer:$bucket/big.bin" | cmp - "$big"
    check_rss rclone
  fi
  it_server_stop
done
it_done
