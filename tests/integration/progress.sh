#!/usr/bin/env bash
# tests/integration/progress.sh - long admin work is followed with a
# progress line and ends with a report (issue 13.5): `coffer lifecycle
# run`, and the bytes on the lines of `coffer drill`, `coffer gc` and
# `coffer rebuild-index`.
#
#   - lifecycle run: a pass of a bucket's rules (transition old/ to a tier,
#     a second cofferd; expire tmp/), slowed by lifecycle.objects_per_s = 2
#     so that it is still running when coffer looks: the progress line
#     ("coffer: lifecycle: N examined; T transitioned, E expired, B bytes
#     moved") is on stderr, coffer jobs shows the same while it runs, the
#     report counts exactly what the rules did
#     (and what the tier holds after); --tenant/--bucket narrow the pass;
#     with the tier's remote down the transition fails and coffer exits 1;
#   - drill, paced by jobs.drill.bytes_per_second (3 objects of 1 MiB at
#     2 MiB/s), on a terminal (every look rewrites the line): "coffer:
#     drill: N/3 (P%) read back from tenant dev, N.0 MiB", the bytes being
#     exactly those of the N objects read; the report and the job's last
#     run count 3 MiB;
#   - gc, paced by jobs.gc.bytes_per_second (each directory and file its
#     scan reads counts 4 KiB), on a terminal: the progress line ("coffer:
#     gc: D/T (P%) directories scanned (bytes: the files seen), B") and the
#     report; its bytes_scanned and the job's last run are the sizes of
#     the files on the disks;
#   - rebuild-index --dry-run (cofferd stopped) on a terminal: its last
#     line of the shard-header scan shows the bytes of the files it read,
#     which --json reports as bytes_scanned: the sizes of the shard files
#     and pack files on the disks; into a file, plain lines.
# Days are lifecycle.day_seconds = 1 s long; small objects: seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/tierlib.sh"
it_init progress
it_skip_unless python3
trap 'rc=$?; set +e; tier_remote_stop; (exit $rc); it_cleanup' EXIT

s3() {                    # s3 PYTHON: with s3 (boto3, the dev key) and sys.argv
  python3 -c "import sys, boto3
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url='$COFFER_ENDPOINT', region_name='us-east-1',
                  aws_access_key_id='$COFFER_ACCESS_KEY',
                  aws_secret_access_key='$COFFER_SECRET_KEY',
                  config=Config(s3={'addressing_style': 'path'}))
$1" "${@:2}"
}

put() {                   # put KEY...: 64 KiB objects into bucket lcrun
  s3 "for k in sys.argv[1:]: s3.put_object(Bucket='lcrun', Key=k, Body=b'x' * 65536)" "$@"
}

report() {                # report FIELD < the plain report: its value
  awk -v f="$1" '$1 == f {print $2}'
}

# The progress line of job $1 in file $2 (written while the job ran,
# before its final "coffer: NAME: SUMMARY" line), whose count part matches $3.
has_progress() {          # has_progress NAME FILE REGEX
  grep -Eq "^coffer: $1: $3\$" "$2" || {
    echo "no progress line of $1 in:" >&2; cat "$2" >&2; return 1; }
}

# coffer_cli ARGS with a terminal as its standard error, so that the
# progress line is rewritten at every look: what it wrote there goes to
# OUT.tty, one line per rewrite (the "\r" and erase-to-end taken out),
# its standard output to OUT. Returns coffer's exit status.
export -f coffer_cli
on_tty() {                # on_tty OUT ARGS...
  python3 - "$@" <<'PY'
import os, pty, subprocess, sys
out, args = sys.argv[1], sys.argv[2:]
master, slave = pty.openpty()
with open(out, "wb") as so:
    p = subprocess.Popen(["bash", "-c", 'coffer_cli "$@"', "coffer_cli"] + args,
                         stdin=subprocess.DEVNULL, stdout=so, stderr=slave)
os.close(slave)
seen = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:                                # EIO: coffer has closed it
        break
    if not chunk:
        break
    seen += chunk
rc = p.wait()
text = seen.decode(errors="replace").replace("\x1b[K", "").replace("\r\n", "\n")
with open(out + ".tty", "w") as f:
    f.writelines(line + "\n" for line in text.replace("\r", "\n").split("\n") if line)
sys.exit(rc)
PY
}

# The sizes of the files in the disks' directories $@ (objects/*, tmp, packs).
disk_bytes() {            # disk_bytes SUBDIR...
  local sub dirs=()
  for sub in "$@"; do dirs+=("$COFFER_TMP"/var/disk*/$sub); done
  { find "${dirs[@]}" -maxdepth 1 -type f -printf '%s\n' 2>/dev/null || true; } |
    awk '{n += $1} END {print n + 0}'
}

# "1.5 MiB": N bytes as coffer prints them (cli/progress.c, progress_bytes).
shown_bytes() {           # shown_bytes N
  python3 -c 'import sys
b, u = float(sys.argv[1]), 0
while b >= 1024 and u < 4:
    b, u = b / 1024, u + 1
print("%.1f %s" % (b, ["B", "KiB", "MiB", "GiB", "TiB"][u]))' "$1"
}

it_step "a second cofferd as the tier; cofferd with 1-second days, 2 actions/s"
tier_remote_start "$IT_WORK/remote"
tier_bucket "$REMOTE_ENDPOINT" "$REMOTE_AK" "$REMOTE_SK" tier
export COFFER_CONFIG_EXTRA='{"lifecycle": {"day_seconds": 1, "interval_seconds": 3600,
  "objects_per_s": 2}, "jobs": {"gc": {"bytes_per_second": 4194304},
  "drill": {"bytes_per_second": 2097152}}}'
coffer_start http
coffer_cli tier add COLD --endpoint "$REMOTE_ENDPOINT" --bucket tier --access-key "$REMOTE_AK" \
  --secret-key "$REMOTE_SK"
s3 "s3.create_bucket(Bucket='lcrun')
s3.put_bucket_lifecycle_configuration(Bucket='lcrun', LifecycleConfiguration={'Rules': [
    {'ID': 'move', 'Status': 'Enabled', 'Filter': {'Prefix': 'old/'},
     'Transitions': [{'Days': 1, 'StorageClass': 'COLD'}]},
    {'ID': 'drop', 'Status': 'Enabled', 'Filter': {'Prefix': 'tmp/'},
     'Expiration': {'Days': 1}}]})"

it_step "lifecycle run after the pass the configuration woke: nothing to do yet"
coffer_cli lifecycle run >"$IT_WORK/lc0.out" 2>"$IT_WORK/lc0.err" ||
  { cat "$IT_WORK/lc0.err"; exit 1; }
it_expect_eq "expired on an empty bucket" 0 "$(report expired <"$IT_WORK/lc0.out")"

it_step "lifecycle run: 3 transitions and 2 expirations, with a progress line"
put old/a old/b old/c tmp/x tmp/y keep/z
sleep 1.5                                          # one day old: every rule is due
coffer_cli lifecycle run >"$IT_WORK/lc.out" 2>"$IT_WORK/lc.err" &
lc_pid=$!
seen=0
for i in $(seq 1 100); do                          # the pass takes >= 1.5 s
  coffer_cli jobs lifecycle >"$IT_WORK/jobs.out"
  grep -Eq "^lifecycle +running +[0-9]+ examined; [0-9]+ transitioned" "$IT_WORK/jobs.out" &&
    { seen=1; break; }
  sleep 0.1
done
rc=0
wait "$lc_pid" || rc=$?
cat "$IT_WORK/lc.out" "$IT_WORK/lc.err" "$IT_WORK/jobs.out"
it_expect_eq "coffer lifecycle run's exit status" 0 "$rc"
it_expect_eq "coffer jobs showed the pass running, with its counts" 1 "$seen"
has_progress lifecycle "$IT_WORK/lc.err" \
  "[0-9]+ examined; [0-3] transitioned, [0-2] expired, [0-9]+ bytes moved"
grep -q "^coffer: lifecycle: 6 objects examined, 3 transitioned, 2 expired" "$IT_WORK/lc.err"
it_expect_eq "examined" 6 "$(report examined <"$IT_WORK/lc.out")"
it_expect_eq "transitioned" 3 "$(report transitioned <"$IT_WORK/lc.out")"
it_expect_eq "expired" 2 "$(report expired <"$IT_WORK/lc.out")"
it_expect_eq "bytes moved" $((3 * 65536)) "$(report bytes_moved <"$IT_WORK/lc.out")"
it_expect_eq "failures" 0 "$(report failures <"$IT_WORK/lc.out")"
it_expect_eq "objects the tier holds" 3 "$(coffer_cli --json tier status COLD | it_json 'd["objects"]')"
it_expect_eq "keys left" "keep/z old/a old/b old/c" \
  "$(s3 "print(' '.join(o['Key'] for o in s3.list_objects_v2(Bucket='lcrun')['Contents']))")"

it_step "lifecycle run --tenant/--bucket: only that bucket's rules; --json"
coffer_cli --json lifecycle run --tenant dev --bucket lcrun >"$IT_WORK/lc2.json"
it_expect_eq "examined, moved again" "4 0 0" \
  "$(it_json '"%d %d %d" % (d["examined"], d["transitioned"], d["expired"])' \
     <"$IT_WORK/lc2.json")"
coffer_cli --json lifecycle run --tenant dev --bucket other >"$IT_WORK/lc3.json"
it_expect_eq "examined in a bucket without rules" 0 "$(it_json 'd["examined"]' <"$IT_WORK/lc3.json")"
it_must_fail coffer_cli lifecycle run --bucket lcrun 2>"$IT_WORK/usage.err"
grep -q "needs --tenant" "$IT_WORK/usage.err"

it_step "lifecycle run with the tier's remote down: the transition fails, exit 1"
tier_remote_stop
put old/d
sleep 1.5
rc=0
coffer_cli lifecycle run >"$IT_WORK/lc4.out" 2>"$IT_WORK/lc4.err" || rc=$?
cat "$IT_WORK/lc4.out" "$IT_WORK/lc4.err"
it_expect_eq "exit status with a failed action" 1 "$rc"
it_expect_eq "failures" 1 "$(report failures <"$IT_WORK/lc4.out")"
grep -q "actions failed" "$IT_WORK/lc4.err"

it_step "drill on a terminal: the bytes read back on the progress line, in the report"
s3 "s3.create_bucket(Bucket='plain')
for k in ('d1', 'd2', 'd3'): s3.put_object(Bucket='plain', Key=k, Body=b'y' * 1048576)"
on_tty "$IT_WORK/drill.json" --json drill --tenant dev --bucket plain --all ||
  { cat "$IT_WORK/drill.json.tty"; exit 1; }
cat "$IT_WORK/drill.json.tty"
# N objects read, N MiB: the line's bytes are the objects' (one look may
# fall between the two counts: some line, not every line)
has_progress drill "$IT_WORK/drill.json.tty" \
  "([1-3])/3 \([0-9]+%\) read back from tenant dev, \1\.0 MiB(, .*)?"
it_expect_eq "drill report: objects, bytes" "3 3145728" \
  "$(it_json '"%d %d" % (d["objects"], d["bytes"])' <"$IT_WORK/drill.json")"
it_expect_eq "the drill's last run: bytes" 3145728 \
  "$(coffer_cli --json jobs drill | it_json 'd["last_run"]["bytes"]')"

it_step "gc on a terminal: directories scanned and the bytes of their files, then the report"
on_tty "$IT_WORK/gc.out" gc 60 || { cat "$IT_WORK/gc.out.tty"; exit 1; }
cat "$IT_WORK/gc.out" "$IT_WORK/gc.out.tty"
has_progress gc "$IT_WORK/gc.out.tty" \
  "[0-9]+/1536 \([0-9]+%\) directories scanned \(bytes: the files seen\), [1-9][0-9.]* (B|KiB|MiB)(, .*)?"
grep -q "^coffer: gc: [0-9]* deletions finished, 0 orphan files removed" "$IT_WORK/gc.out.tty"
[ "$(report files_scanned <"$IT_WORK/gc.out")" -gt 0 ]
it_expect_eq "orphans removed" 0 "$(report orphan_files <"$IT_WORK/gc.out")"
scanned=$(disk_bytes 'objects/*' tmp packs)
[ "$scanned" -gt $((3 * 1048576)) ]                # 3 MiB of objects, and parity
it_expect_eq "gc: bytes scanned, the files' sizes" "$scanned" \
  "$(report bytes_scanned <"$IT_WORK/gc.out")"
it_expect_eq "gc's last run: bytes" "$scanned" \
  "$(coffer_cli --json jobs gc | it_json 'd["last_run"]["bytes"]')"

it_step "rebuild-index --dry-run (cofferd stopped) on a terminal: the bytes of the files read"
KEEP_TMP=1 it_server_stop                          # its directory stays, for the rebuild
read_bytes=$(disk_bytes 'objects/*' packs)
on_tty "$IT_WORK/rebuild.json" --json rebuild-index -c "$COFFER_TMP/coffer.json" --dry-run ||
  { cat "$IT_WORK/rebuild.json.tty"; exit 1; }
cat "$IT_WORK/rebuild.json.tty"
it_expect_eq "rebuild-index: bytes_scanned, the files' sizes" "$read_bytes" \
  "$(it_json 'd["bytes_scanned"]' <"$IT_WORK/rebuild.json")"
has_progress rebuild-index "$IT_WORK/rebuild.json.tty" "1536/1536 \(100%\) reading shard \
headers \(bytes: the files read\), $(shown_bytes "$read_bytes")(, .*)?"
timeout -k 5 300 "$(dirname "$COFFERD")/../cli/coffer" rebuild-index \
  -c "$COFFER_TMP/coffer.json" --dry-run >"$IT_WORK/rebuild.out" 2>"$IT_WORK/rebuild.err"
has_progress rebuild-index "$IT_WORK/rebuild.err" "0 reading the journal"
if grep -q $'[\r\033]' "$IT_WORK/rebuild.err"; then
  echo "not plain lines into a file:" >&2; cat -A "$IT_WORK/rebuild.err" >&2; exit 1
fi
grep -q "^disks .* ($read_bytes bytes scanned)" "$IT_WORK/rebuild.out"

coffer_stop                                        # now its directory goes
it_done
