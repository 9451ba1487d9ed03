#!/usr/bin/env bash
# tests/integration/test_rclone.sh - rclone 1.60 (provider Other, path
# style) against cofferd over HTTP and HTTPS, through two remotes: `coffer`
# lists with ListObjects V1 (rclone's default for Other: NextMarker paging)
# and `coffer2` with list_version 2. A tree of 1,100 files (more than one
# listing page) goes through copy, check (sizes and MD5s: single-part ETags
# must be the plaintext MD5), md5sum, lsf, sync after changes, delete and
# purge; a 300 MiB file (40 MiB under sanitizers) goes through multipart
# upload (seen in the access log), md5sum and cat, byte for byte.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
it_init rclone
it_skip_unless rclone python3

tree=$IT_WORK/tree
big=$IT_WORK/big.bin
it_step "generate a tree of 1,100 files and a big file"
it_gen_tree "$tree" 1100 $((12 * MiB)) 2
it_gen_file "$big" "$(it_size 300 40)"
echo "tree: $(it_tree_stats "$tree") (files, bytes); big file: $(stat -c %s "$big") bytes"

# Under sanitizers the big file is below rclone's 200 MiB cutoff: lower it
# so that the file still goes through multipart.
multipart_opts=()
it_sanitized && multipart_opts=(--s3-upload-cutoff 16M --s3-chunk-size 5M)

local_listing() {         # local_listing DIR -> sorted relative file paths
  (cd "$1" && find . -type f -printf '%P\n' | LC_ALL=C sort)
}

local_md5s() {            # local_md5s DIR -> "md5  path" sorted by path
  (cd "$1" && find . -type f -printf '%P\0' | xargs -0 md5sum | LC_ALL=C sort -k2)
}

expect_listing() {        # expect_listing LOCAL_DIR REMOTE:PATH
  local want got
  want=$(local_listing "$1")
  got=$(it_rclone lsf -R --fast-list --files-only "$2" | LC_ALL=C sort)
  it_expect_eq "lsf $2" "$want" "$got"
}

# One flat listing of the whole tree (--fast-list) through REMOTE must
# take at least two pages of OPERATION (1,000 keys a page).
expect_paged_listing() {  # expect_paged_listing LOCAL_DIR REMOTE:PATH OPERATION
  local before after
  before=$(it_op_count "$3")
  expect_listing "$1" "$2"
  after=$(it_wait_ops "$3" $((before + 2)))
  echo "$2: $((after - before)) $3 requests"
  [ $((after - before)) -ge 2 ]
}

expect_md5s() {           # expect_md5s LOCAL_DIR REMOTE:PATH
  local want got
  want=$(local_md5s "$1")
  got=$(it_rclone md5sum "$2" | LC_ALL=C sort -k2)
  it_expect_eq "md5sum $2" "$want" "$got"
}

for mode in $(it_modes); do
  it_server "$mode"
  bucket=rclone-$mode
  work=$IT_WORK/work-$mode
  cp -a "$tree" "$work"

  it_step "rclone mkdir, copy 1,100 files"
  it_rclone mkdir "coffer:$bucket"
  it_rclone copy --transfers 8 "$work" "coffer:$bucket/tree"

  it_step "rclone check (sizes and MD5s) through ListObjects V1 and V2"
  it_rclone check "$work" "coffer:$bucket/tree"
  it_rclone check "$work" "coffer2:$bucket/tree"

  it_step "rclone md5sum: every ETag is the MD5 of the plaintext"
  expect_md5s "$work" "coffer:$bucket/tree"

  it_step "rclone lsf -R lists exactly the tree, in pages of ListObjects V1 and V2"
  expect_paged_listing "$work" "coffer:$bucket/tree" ListObjects
  expect_paged_listing "$work" "coffer2:$bucket/tree" ListObjectsV2

  it_step "change the tree (remove, rewrite, add), rclone sync through V2"
  find "$work/d2/e1" "$work/d3" -name 'file-*' -delete
  for f in "$work"/d4/e*/file-*[05].bin; do head -c 1000 /dev/urandom >"$f"; done
  mkdir -p "$work/new"
  for i in $(seq 1 30); do head -c $((i * 777)) /dev/urandom >"$work/new/n$i.bin"; done
  it_rclone sync --transfers 8 "$work" "coffer2:$bucket/tree"
  it_rclone check "$work" "coffer:$bucket/tree"
  it_rclone check "$work" "coffer2:$bucket/tree"
  expect_listing "$work" "coffer:$bucket/tree"
  expect_md5s "$work" "coffer2:$bucket/tree"

  it_step "rclone delete of a subtree, then purge"
  it_rclone delete "coffer:$bucket/tree/d0"
  rm -rf "$work/d0"
  expect_listing "$work" "coffer2:$bucket/tree"
  it_rclone check "$work" "coffer:$bucket/tree"
  it_rclone purge "coffer:$bucket/tree"
  it_expect_eq "listing after purge" "" "$(it_rclone lsf -R "coffer2:$bucket")"

  it_step "a $(($(stat -c %s "$big") / MiB)) MiB file through multipart upload"
  it_multipart it_rclone copyto "${multipart_opts[@]}" "$big" "coffer:$bucket/big.bin"
  it_rclone check "$IT_WORK" "coffer:$bucket" --include big.bin
  it_expect_eq "md5sum big.bin" "$(it_md5 "$big")" \
    "$(it_rclone md5sum "coffer2:$bucket/big.bin" | cut -d' ' -f1)"
  it_rclone cat "coffer:$bucket/big.bin" | cmp - "$big"

  it_step "rclone deletefile, rmdir: the bucket is gone"
  it_rclone deletefile "coffer:$bucket/big.bin"
  it_rclone rmdir "coffer:$bucket"
  it_must_fail it_rclone lsf "coffer2:$bucket" 2>/dev/null

  rm -rf "$work"
  it_server_stop
done
it_done
