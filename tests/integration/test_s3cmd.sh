#!/usr/bin/env bash
# tests/integration/test_s3cmd.sh - s3cmd 2.3 (path style, SigV4) against
# cofferd over HTTP and HTTPS: mb, put, get, ls, la, sync up and down,
# sync --delete-removed, a 40 MiB multipart put (15 MiB parts, seen in the
# access log), the same calls signed with SigV2 (--signature-v2) and signed
# for region US (s3cmd's default: it must re-sign for the <Region> of the
# error), del, del --recursive, rb. Every download is compared byte for byte.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
it_init s3cmd
it_skip_unless s3cmd python3

data=$IT_WORK/data
mkdir -p "$data"
it_step "generate test data"
it_gen_file "$data/small.bin" 54321
it_gen_file "$data/big.bin" $((40 * MiB))
it_gen_tree "$data/tree" 80 $((4 * MiB)) 4

remote_count() {          # remote_count S3URL -> number of objects under it
  it_s3cmd ls -r "$1" | wc -l
}

for mode in $(it_modes); do
  it_server "$mode"
  bucket=s3cmd-$mode
  out=$IT_WORK/out-$mode
  mkdir -p "$out"

  it_step "s3cmd mb, put, get, ls, la"
  it_s3cmd mb "s3://$bucket"
  it_s3cmd put --no-progress "$data/small.bin" "s3://$bucket/small.bin"
  it_s3cmd get --no-progress "s3://$bucket/small.bin" "$out/small.bin"
  it_same_file "$data/small.bin" "$out/small.bin"
  it_s3cmd ls "s3://$bucket" | grep -e " s3://$bucket/small.bin$" >/dev/null
  it_s3cmd ls | grep -e " s3://$bucket$" >/dev/null
  it_s3cmd la | grep -e " s3://$bucket/small.bin$" >/dev/null

  it_step "s3cmd sync up, down, and --delete-removed"
  it_s3cmd sync --quiet "$data/tree/" "s3://$bucket/tree/"
  it_expect_eq "objects after sync" 80 "$(remote_count "s3://$bucket/tree/")"
  it_s3cmd sync --quiet "s3://$bucket/tree/" "$out/tree/"
  it_same_tree "$data/tree" "$out/tree"
  rm -r "$out/tree/d1"
  it_s3cmd sync --quiet --delete-removed "$out/tree/" "s3://$bucket/tree/"
  it_expect_eq "objects after sync --delete-removed" "$(find "$out/tree" -type f | wc -l)" \
    "$(remote_count "s3://$bucket/tree/")"

  it_step "s3cmd multipart put (15 MiB parts) and get"
  it_multipart it_s3cmd put --no-progress "$data/big.bin" "s3://$bucket/big.bin"
  it_s3cmd get --no-progress "s3://$bucket/big.bin" "$out/big.bin"
  it_same_file "$data/big.bin" "$out/big.bin"

  it_step "s3cmd with SigV2: put, get, ls, del"
  it_s3cmd --signature-v2 put --no-progress "$data/small.bin" "s3://$bucket/v2/small.bin"
  it_s3cmd --signature-v2 get --no-progress "s3://$bucket/v2/small.bin" "$out/v2.bin"
  it_same_file "$data/small.bin" "$out/v2.bin"
  it_expect_eq "SigV2 listing" 1 "$(it_s3cmd --signature-v2 ls -r "s3://$bucket/v2/" | wc -l)"
  it_s3cmd --signature-v2 del "s3://$bucket/v2/small.bin"

  it_step "s3cmd signing for region US (its default) follows the <Region> in the error"
  it_s3cmd --region=US put --no-progress "$data/small.bin" "s3://$bucket/us.bin"
  it_s3cmd --region=US get --no-progress "s3://$bucket/us.bin" "$out/us.bin"
  it_same_file "$data/small.bin" "$out/us.bin"
  it_s3cmd --region=US del "s3://$bucket/us.bin"

  it_step "s3cmd del, del --recursive, rb"
  it_s3cmd del "s3://$bucket/small.bin"
  it_must_fail it_s3cmd get --no-progress "s3://$bucket/small.bin" "$out/gone.bin" 2>/dev/null
  it_s3cmd del --quiet --recursive --force "s3://$bucket/"
  it_expect_eq "objects left" 0 "$(remote_count "s3://$bucket/")"
  it_s3cmd rb "s3://$bucket"
  it_must_fail it_s3cmd ls "s3://$bucket" 2>/dev/null

  rm -rf "$out"
  it_server_stop
done
it_done
