#!/usr/bin/env bash
# tests/integration/test_readme.sh - the README's "Point your backup tool
# at it" examples work as written: every code block of that section is run
# in order (only the port 9000 is replaced by the test server's; ./var is
# the test server's directory), the aws block once with aws cli v1 and once
# with v2, and what the examples stored is checked afterwards: the restic
# restore equals ~/Documents, s3cmd's download and the aws presigned URL
# return ~/notes.txt, the tarball piped through `aws s3 cp -` lists every
# file of ~/Documents. A README block this script does not know fails it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
it_init readme
it_skip_unless restic rclone s3cmd curl python3 "$IT_AWS2"

readme=$here/../../README.md
blocks=$IT_WORK/blocks
it_server http
port=${COFFER_ENDPOINT##*:}

it_step "extract the examples from README.md"
python3 - "$readme" "$blocks" "$port" <<'PY'
import os, re, sys
readme, out, port = sys.argv[1:]
text = open(readme).read()
start = text.index("\n## Point your backup tool at it\n")
end = text.find("\n## ", start + 1)
lines = text[start:end if end > 0 else len(text)].split("\n")
blocks, cur = [], []
for i, line in enumerate(lines):
    if line.startswith("    "):
        cur.append(line[4:])
    elif line == "" and cur and i + 1 < len(lines) and lines[i + 1].startswith("    "):
        cur.append("")
    elif cur:
        blocks.append(cur)
        cur = []
if cur:
    blocks.append(cur)
os.makedirs(out)
for n, block in enumerate(blocks):
    first = block[0]
    kind = ("creds" if first.startswith("export AWS_ACCESS_KEY_ID") else
            "restic" if first.startswith("export RESTIC_") else
            "rclone" if first.startswith("rclone ") else
            "aws" if first.startswith("aws ") else
            "s3cmd" if first.startswith("cat >~/.s3cfg") else None)
    if kind is None:
        sys.exit(f"README block {n} is not known to test_readme.sh: {first!r}")
    body = "\n".join(block).replace("127.0.0.1:9000", f"127.0.0.1:{port}")
    open(os.path.join(out, kind + ".sh"), "x").write(body + "\n")
PY
for kind in creds restic rclone aws s3cmd; do
  [ -f "$blocks/$kind.sh" ] || { echo "README has no $kind example" >&2; exit 1; }
done

it_step "the files the examples back up: ~/Documents, ~/Pictures, ~/notes.txt"
it_gen_tree "$HOME/Documents" 40 $((2 * MiB)) 5
it_gen_tree "$HOME/Pictures" 25 $((3 * MiB)) 6
it_gen_file "$HOME/notes.txt" 4321
mkdir -p "$IT_WORK/cwd"
ln -s "$COFFER_TMP/var" "$IT_WORK/cwd/var"

run_block() {             # run_block KIND [AWS_BINARY]: in a fresh bash
  local prelude=
  [ -z "${2:-}" ] || prelude="aws() { \"$2\" \"\$@\"; }"
  (cd "$IT_WORK/cwd" &&
    timeout -k 10 "$IT_TIMEOUT" bash -c "set -euo pipefail
$prelude
$(cat "$blocks/creds.sh")
$(cat "$blocks/$1.sh")")
}

it_step "README restic example; the restore equals ~/Documents"
run_block restic
it_same_tree "$HOME/Documents" "$HOME/restored$HOME/Documents"

it_step "README rclone example (its rclone check compares the MD5s)"
run_block rclone

aws_versions=("$IT_AWS2")
case $("$IT_AWS1" --version 2>&1) in aws-cli/1.*) aws_versions=("$IT_AWS1" "$IT_AWS2") ;; esac
for bin in "${aws_versions[@]}"; do
  it_step "README aws example with $("$bin" --version 2>&1 | cut -d' ' -f1)"
  run_block aws "$bin" >"$IT_WORK/aws.out"
  url=$(tail -1 "$IT_WORK/aws.out")
  it_curl -o "$IT_WORK/presigned.txt" "$url"
  it_same_file "$HOME/notes.txt" "$IT_WORK/presigned.txt"
  it_expect_eq "files in the piped tarball" "$(find "$HOME/Documents" -type f | wc -l)" \
    "$("$bin" --endpoint-url "$COFFER_ENDPOINT" s3 cp s3://backups/documents.tar.gz - |
       tar -tz | grep -c -v '/$')"
  "$bin" --endpoint-url "$COFFER_ENDPOINT" s3 rb --force s3://backups >/dev/null
done

it_step "README s3cmd example; the downloaded copy equals ~/notes.txt"
run_block s3cmd
it_same_file "$HOME/notes.txt" "$HOME/notes-back.txt"

it_server_stop
it_done
