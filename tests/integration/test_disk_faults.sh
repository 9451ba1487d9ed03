#!/usr/bin/env bash
# tests/integration/test_disk_faults.sh - disks that fill up or turn
# read-only under a running cofferd, made so by real file systems (issue 12
# point 8): disk 1 is a loop-mounted ext4 image (errors=remount-ro), disks
# 2..4 are 16 MiB tmpfs mounts, disks 5 and 6 plain directories (4+2).
#   - disk 2 fills up mid-PUT: the PUT completes on the other five, reads
#     back; coffer disks shows disk 2 "full" with its shards pending heal;
#     a PUT whose shards fit in what is left puts it back in the write
#     set; space freed, coffer heal writes its shards and it is "online"
#     again, scrub clean, heal --all finds nothing lost;
#   - disks 2, 3 and 4 fill up mid-PUT (more than m): 507
#     InsufficientStorage, nothing of the object visible or left on disk;
#     a PUT right after is refused the same way; once space is back the
#     next PUT uses them again;
#   - ext4 turns read-only mid-PUT (an ext4 error with errors=remount-ro,
#     as a failing device causes): the PUT completes, reads back; disk 1 is
#     "readonly" with its shards pending heal; after fsck and a fresh mount
#     coffer heal fills it and scrub --deep is clean;
#   - disk 6's directory swapped while cofferd runs: coffer disks says
#     "missing" (empty directory), then "foreign" (another set's
#     format.json); neither PUT nor heal writes a shard into it; put back,
#     heal fills it.
# Needs root and mount; says so and skips (77) when they are not there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
it_init disk_faults
it_skip_unless python3 mkfs.ext4 e2fsck losetup

root=$IT_WORK/srv
var=$root/var
mounts=()
unmount_all() {
  local m
  for m in "${mounts[@]}"; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  mounts=()
}
# the disks are unmounted before it_cleanup removes the work directory
trap 'rc=$?; set +e; coffer_stop_server >/dev/null 2>&1 || true; unmount_all; (exit $rc); it_cleanup' EXIT

it_step "mount an ext4 image and three 16 MiB tmpfs as disks 1..4"
mkdir -p "$var"/disk{1,2,3,4,5,6}
img=$IT_WORK/disk1.img
truncate -s 64M "$img"
mkfs.ext4 -q -F "$img"
if [ "$(id -u)" -ne 0 ] ||
   ! timeout 30 mount -o loop,errors=remount-ro "$img" "$var/disk1" 2>"$IT_WORK/mount.err"; then
  echo "SKIP: $IT_NAME: cannot loop-mount an ext4 image here (needs root and loop" \
    "devices): $(cat "$IT_WORK/mount.err" 2>/dev/null)"
  exit 77
fi
mounts+=("$var/disk1")
for d in 2 3 4; do
  timeout 30 mount -t tmpfs -o size=16m "coffer-disk$d" "$var/disk$d"
  mounts+=("$var/disk$d")
done
loopdev=$(basename "$(findmnt -n -o SOURCE "$var/disk1")")

export IT_MODES=http
export COFFER_CONFIG_EXTRA='{"jobs": {"heal": {"interval_seconds": 0}}}'
coffer_start http "$root"
export AWS_ACCESS_KEY_ID=$COFFER_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$COFFER_SECRET_KEY

disk_field() {            # disk_field N FIELD -> the field of disk N (1-based)
  coffer_cli --json disks | it_json "d['disks'][$1 - 1]['$2']"
}
s3() {                    # s3 ARGS...: tests/integration's boto3 one-liners
  python3 - "$COFFER_ENDPOINT" "$@" <<'PY'
import sys, time, http.client, urllib.parse, boto3
from botocore.config import Config
from botocore.exceptions import ClientError
ep, op, *a = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                  config=Config(retries={"max_attempts": 1, "mode": "standard"}))
try:
    if op == "mb":
        s3.create_bucket(Bucket=a[0])
    elif op == "put":             # put BUCKET KEY FILE
        with open(a[2], "rb") as f:
            s3.put_object(Bucket=a[0], Key=a[1], Body=f)
    elif op == "get":             # get BUCKET KEY FILE
        with open(a[2], "wb") as f:
            f.write(s3.get_object(Bucket=a[0], Key=a[1])["Body"].read())
    elif op == "head":
        s3.head_object(Bucket=a[0], Key=a[1])
    elif op == "keys":
        r = s3.list_objects_v2(Bucket=a[0])
        print(" ".join(o["Key"] for o in r.get("Contents", [])))
    elif op == "put-then":        # put-then BUCKET KEY FILE CMD: CMD runs mid-body
        url = urllib.parse.urlsplit(s3.generate_presigned_url(
            "put_object", Params={"Bucket": a[0], "Key": a[1]}, ExpiresIn=600))
        body = open(a[2], "rb").read()
        c = http.client.HTTPConnection(url.netloc, timeout=120)
        c.putrequest("PUT", url.path + "?" + url.query)
        c.putheader("Content-Length", str(len(body)))
        c.endheaders()
        half = len(body) // 2
        c.send(body[:half])
        time.sleep(1)                 # the first half reaches the shard files
        open(a[3].split("=", 1)[0], "w").write(a[3].split("=", 1)[1] + "\n")
        c.send(body[half:])
        r = c.getresponse()
        r.read()
        print(r.status)
        sys.exit(0 if r.status == 200 else 1)
except ClientError as e:
    print(e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"])
    sys.exit(1)
PY
}
ballast() {               # ballast N LEFT_KIB: fill disk N until LEFT_KIB is free
  local avail
  avail=$(df -B1024 --output=avail "$var/disk$1" | tail -1)
  dd if=/dev/zero of="$var/disk$1/ballast" bs=1024 count=$((avail - $2)) status=none
}
shard_tmp_files() {
  find "$var"/disk*/tmp -type f | wc -l
}

s3 mb faults
it_gen_file "$IT_WORK/big" $((16 * MiB))
it_gen_file "$IT_WORK/small" $((2 * MiB))

it_step "disk 2 fills up mid-PUT: the PUT completes on the other five"
ballast 2 2048
s3 put faults full1 "$IT_WORK/big"
s3 get faults full1 "$IT_WORK/back"
it_same_file "$IT_WORK/big" "$IT_WORK/back"
coffer_cli disks
it_expect_eq "disk 2's state" full "$(disk_field 2 state)"
it_expect_eq "disk 2's shards pending heal" 1 "$(disk_field 2 heal_pending)"
werr=$(disk_field 2 write_errors)
[ "$werr" -ge 1 ]

it_step "a PUT whose shard fits in what disk 2 has left: disk 2 is back in the write set"
# on 4+2 a disk out of the write set is still tried (storage/ds.h)
s3 put faults full2 "$IT_WORK/small"
it_expect_eq "disk 2's state" online "$(disk_field 2 state)"
it_expect_eq "disk 2's write errors" "$werr" "$(disk_field 2 write_errors)"
it_expect_eq "disk 2's shards pending heal" 1 "$(disk_field 2 heal_pending)"
it_expect_eq "disk 1's shards pending heal" 0 "$(disk_field 1 heal_pending)"

it_step "space freed: coffer heal fills disk 2, it is online again"
rm "$var/disk2/ballast"
coffer_cli heal
coffer_cli disks
it_expect_eq "disk 2's state" online "$(disk_field 2 state)"
it_expect_eq "the heal queue" 0 "$(coffer_cli --json disks | it_json "d['heal_pending']")"
coffer_cli --json scrub >"$IT_WORK/scrub.json"
it_expect_eq "scrub findings" 0 "$(it_json "len(d['findings'])" <"$IT_WORK/scrub.json")"
coffer_cli heal --all             # a full pass: exits 0 only if nothing is lost or failed

it_step "disks 2, 3 and 4 fill up mid-PUT: 507 InsufficientStorage, nothing left"
for d in 2 3 4; do ballast $d 2048; done
it_expect_eq "the PUT's answer" "507 InsufficientStorage" \
  "$(s3 put faults nospace "$IT_WORK/big" || true)"
it_expect_eq "HEAD of the refused object" "404 404" "$(s3 head faults nospace || true)"
it_expect_eq "the bucket's keys" "full1 full2" "$(s3 keys faults)"
it_expect_eq "shard files left in tmp/" 0 "$(shard_tmp_files)"
coffer_cli disks
for d in 2 3 4; do it_expect_eq "disk $d's state" full "$(disk_field $d state)"; done
it_expect_eq "a PUT right after" "507 InsufficientStorage" \
  "$(s3 put faults nospace "$IT_WORK/big" || true)"
it_expect_eq "shard files left in tmp/" 0 "$(shard_tmp_files)"
grep -q "ENOSPC: only 3 shards writable, 5 needed" "$COFFER_LOG"

it_step "space back: the next PUT finds disks 2..4 writable again"
for d in 2 3 4; do rm "$var/disk$d/ballast"; done
s3 put faults back1 "$IT_WORK/small"
for d in 2 3 4; do it_expect_eq "disk $d's state" online "$(disk_field $d state)"; done
it_expect_eq "the heal queue" 0 "$(coffer_cli --json disks | it_json "d['heal_pending']")"

# /sys/fs/ext4/DEV/trigger_fs_error (Linux 5.x and later) turns ext4
# read-only with files open, as an ext4 error does
if [ -w "/sys/fs/ext4/$loopdev/trigger_fs_error" ]; then
  it_step "disk 1's ext4 turns read-only mid-PUT: the PUT completes"
  s3 put-then faults ro1 "$IT_WORK/big" "/sys/fs/ext4/$loopdev/trigger_fs_error=coffer-test"
  findmnt -n -o OPTIONS "$var/disk1" | grep -q emergency_ro
  s3 get faults ro1 "$IT_WORK/back"
  it_same_file "$IT_WORK/big" "$IT_WORK/back"
  coffer_cli disks
  it_expect_eq "disk 1's state" readonly "$(disk_field 1 state)"
  it_expect_eq "disk 1's shards pending heal" 1 "$(disk_field 1 heal_pending)"
  # its journal file is let go, or it could not be unmounted
  grep -q "journal on .*/disk1: the disk is out of the write set" "$COFFER_LOG"

  it_step "fsck and a fresh mount: coffer heal fills disk 1, scrub --deep is clean"
  for i in $(seq 1 50); do                 # up to ~10 s for cofferd to let go
    umount "$var/disk1" 2>/dev/null && break
    sleep 0.2
  done
  ! findmnt -n "$var/disk1" >/dev/null || { ls -l "/proc/$COFFER_PID/fd" | grep disk1 >&2; exit 1; }
  rc=0; e2fsck -fy "$img" >"$IT_WORK/fsck.out" 2>&1 || rc=$?
  [ "$rc" -le 1 ] || { cat "$IT_WORK/fsck.out"; exit 1; }
  timeout 30 mount -o loop,errors=remount-ro "$img" "$var/disk1"
  coffer_cli heal
  coffer_cli disks
  it_expect_eq "disk 1's state" online "$(disk_field 1 state)"
  it_expect_eq "the heal queue" 0 "$(coffer_cli --json disks | it_json "d['heal_pending']")"
  coffer_cli --json scrub --deep >"$IT_WORK/scrub.json"
  it_expect_eq "scrub --deep findings" 0 "$(it_json "len(d['findings'])" <"$IT_WORK/scrub.json")"
  for k in full1 ro1; do
    s3 get faults $k "$IT_WORK/back"
    it_same_file "$IT_WORK/big" "$IT_WORK/back"
  done
else
  echo "SKIP (part): no /sys/fs/ext4/$loopdev/trigger_fs_error: ext4 is not made read-only"
fi

it_step "disk 6's directory swapped while cofferd runs: missing, then foreign"
mv "$var/disk6" "$IT_WORK/disk6.away"
mkdir "$var/disk6"
it_expect_eq "disk 6's state" missing "$(disk_field 6 state)"
s3 put faults gone1 "$IT_WORK/small"
it_expect_eq "files written into the empty directory" 0 "$(find "$var/disk6" -type f | wc -l)"
python3 - "$IT_WORK/disk6.away/format.json" "$var/disk6/format.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
f["set_id"] = "0" * 32                   # a disk of another set
json.dump(f, open(sys.argv[2], "w"))
PY
it_expect_eq "disk 6's state" foreign "$(disk_field 6 state)"
coffer_cli heal
it_expect_eq "files written into the foreign disk" 1 "$(find "$var/disk6" -type f | wc -l)"
it_expect_eq "disk 6's shards pending heal" 1 "$(disk_field 6 heal_pending)"
it_step "disk 6 put back: coffer heal fills it, it is online again"
rm -rf "$var/disk6"
mv "$IT_WORK/disk6.away" "$var/disk6"
coffer_cli heal
it_expect_eq "disk 6's state" online "$(disk_field 6 state)"
it_expect_eq "the heal queue" 0 "$(coffer_cli --json disks | it_json "d['heal_pending']")"
s3 get faults gone1 "$IT_WORK/back"
it_same_file "$IT_WORK/small" "$IT_WORK/back"
coffer_stop_server
it_done
