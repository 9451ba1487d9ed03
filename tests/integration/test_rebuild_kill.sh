#!/usr/bin/env bash
# tests/integration/test_rebuild_kill.sh - a deleted object never comes
# back from coffer rebuild-index after kills (issue 12.7, issue 14.1;
# doc/design.md, "Commit numbers"), with a real cofferd and boto3, once
# with pack files on and once with them off:
#   - 12 objects of 100 KiB are PUT, then cofferd is killed with SIGKILL
#     (no snapshot since the PUTs); the next run deletes 8 of them and
#     overwrites one, and is killed with SIGKILL too;
#   - the metadata directory and every snapshot are deleted and
#     `coffer rebuild-index -c` rebuilds the index from the disks;
#   - cofferd serves exactly the live set: the 4 objects left, the
#     overwritten one with its new bytes, every one byte for byte, and
#     none of the 8 deleted (their pack records are still on the disks).
. "$(dirname "$0")/lib.sh"
it_init rebuild_kill
COFFER_CLI=$(cd "$(dirname "$COFFERD")/../cli" && pwd)/coffer
py=$(coffer_python newest boto3)
export IT_MODES=http

client() {                 # client put|delete|state: boto3 on bucket "kill"
  "$py" - "$@" <<'PY'
import hashlib, os, sys
import boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["COFFER_ENDPOINT"],
                  aws_access_key_id=os.environ["COFFER_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["COFFER_SECRET_KEY"],
                  region_name="us-east-1",
                  config=Config(retries={"max_attempts": 1}))
def body(name, seed):
    out, block = bytearray(), hashlib.sha256(f"{name}/{seed}".encode()).digest()
    while len(out) < 100 * 1024:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:100 * 1024])
what = sys.argv[1]
if what == "put":
    s3.create_bucket(Bucket="kill")
    for i in range(12):
        s3.put_object(Bucket="kill", Key=f"o{i}", Body=body(f"o{i}", 1))
elif what == "delete":
    for i in range(8):
        s3.delete_object(Bucket="kill", Key=f"o{i}")
    s3.put_object(Bucket="kill", Key="o8", Body=body("o8", 2))
else:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="kill").get("Contents", [])]
    assert sorted(keys) == ["o10", "o11", "o8", "o9"], keys
    for k in keys:
        got = s3.get_object(Bucket="kill", Key=k)["Body"].read()
        assert got == body(k, 2 if k == "o8" else 1), k
    for i in range(8):
        try:
            s3.head_object(Bucket="kill", Key=f"o{i}")
            raise SystemExit(f"o{i} came back")
        except s3.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] in ("404", "NoSuchKey"), e
    print("live set exact")
PY
}

kill9() {                  # kill9: SIGKILL the running cofferd
  kill -KILL "$COFFER_PID"
  wait "$COFFER_PID" 2>/dev/null || true
  COFFER_PID=
}

for pack in 1048576 0; do
  it_step "pack_shard_max_bytes $pack: PUT, kill -9, DELETE and overwrite, kill -9"
  export COFFER_CONFIG_EXTRA="{\"storage\": {\"pack_shard_max_bytes\": $pack}}"
  dir=$IT_WORK/p$pack
  mkdir -p "$dir"
  coffer_start http "$dir"
  client put
  kill9
  coffer_launch http
  client delete
  kill9
  packs=$(find "$dir"/var/disk*/packs -name '*.pack' 2>/dev/null | wc -l)
  if [ "$pack" -gt 0 ]; then [ "$packs" -gt 0 ]; else it_expect_eq "packs" 0 "$packs"; fi

  it_step "pack_shard_max_bytes $pack: metadata and snapshots gone, rebuild-index"
  rm -rf "$dir/var/meta" "$dir"/var/disk*/snapshots
  timeout -k 5 120 "$COFFER_CLI" rebuild-index -c "$dir/coffer.json" \
    >"$dir/rebuild.out" 2>"$dir/rebuild.err" || { cat "$dir/rebuild.out" "$dir/rebuild.err"; false; }
  grep -q "^rebuilt   4 objects" "$dir/rebuild.out" || { cat "$dir/rebuild.out"; false; }

  it_step "pack_shard_max_bytes $pack: exactly the live set comes back"
  coffer_launch http
  client state
  coffer_stop_server
done
it_done
