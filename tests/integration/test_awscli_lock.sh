#!/usr/bin/env bash
# tests/integration/test_awscli_lock.sh - versioning and object lock through
# both aws cli generations (v1 first on PATH: newest botocore, CRC32 in an
# aws-chunked trailer over HTTPS; Debian's v2.9 at /usr/bin/aws), one
# cofferd over HTTPS, small objects; about 30 cli calls per cli (each
# ~0.8 s of CPU: most of the test's time).
#   - the null version: an unversioned bucket's PUT answers no version id,
#     put/get-bucket-versioning, Enabled PUTs get ids while the old object
#     stays as version `null`, an Enabled DELETE adds a marker with an id
#     (head-object fails until the marker is deleted by its id),
#     Suspended PUTs and DELETEs answer `null` (x-amz-version-id: null) and
#     replace the null version; get-object/delete-object --version-id,
#     list-object-versions;
#   - object lock: create-bucket --object-lock-enabled-for-bucket,
#     get-object-lock-configuration, put/get-object-retention and
#     put/get-object-legal-hold, delete-object --version-id of the locked
#     version refused with AccessDenied (with and without
#     --bypass-governance-retention from a key that may not bypass), the
#     version still reads back (test_object_lock.py shows the delete
#     allowed once the retention has passed);
#   - a default retention (put-object-lock-configuration): what the cli
#     sends for put-object and for the parts of `s3 cp` (multipart) meets
#     S3's digest rule for locked data, and the retention is applied.
# test_awscli.sh has the rest of the aws cli coverage.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
it_init awscli-lock
it_skip_unless python3 "$IT_AWS2"

it_aws_clients

data=$IT_WORK/data
mkdir -p "$data"
it_gen_file "$data/a.bin" 3000
it_gen_file "$data/b.bin" 4000
it_gen_file "$data/c.bin" 5000
it_gen_file "$data/mp.bin" $((9 * MiB))     # above the cli's 8 MiB multipart threshold

version_of() {            # version_of < put/delete answer -> VersionId or None
  it_json 'd.get("VersionId")'
}

versions() {              # versions AWS BUCKET -> [[versions], [markers]], newest first
  "$1" s3api list-object-versions --bucket "$2" |
    it_json '[[x["VersionId"] for x in d.get("Versions", [])],
              [x["VersionId"] for x in d.get("DeleteMarkers", [])]]'
}

fetch() {                 # fetch AWS BUCKET KEY VERSION OUT
  "$1" s3api get-object --bucket "$2" --key "$3" --version-id "$4" "$5" >/dev/null
}

# The null version, Enabled and Suspended; $1 is it_aws1 or it_aws2.
null_versions() {
  local aws=$1 v=${1#it_aws}
  local b=awsnull-v$v id
  $aws s3api create-bucket --bucket "$b" >/dev/null

  it_step "aws v$v: unversioned PUT answers no version id; Enabled keeps it as null"
  it_expect_eq "version id (unversioned)" None \
    "$($aws s3api put-object --bucket "$b" --key k --body "$data/a.bin" | version_of)"
  $aws s3api put-bucket-versioning --bucket "$b" --versioning-configuration Status=Enabled
  it_expect_eq "get-bucket-versioning" Enabled \
    "$($aws s3api get-bucket-versioning --bucket "$b" | it_json 'd["Status"]')"
  id=$($aws s3api put-object --bucket "$b" --key k --body "$data/b.bin" | version_of)
  [[ $id =~ ^[0-9a-f]{32}$ ]] || { echo "version id $id" >&2; return 1; }
  it_expect_eq "list-object-versions (Enabled)" "[['$id', 'null'], []]" "$(versions "$aws" "$b")"
  fetch "$aws" "$b" k null "$IT_WORK/null-v$v.bin"
  it_same_file "$data/a.bin" "$IT_WORK/null-v$v.bin"

  it_step "aws v$v: an Enabled DELETE adds a marker with an id; deleting the marker brings k back"
  local vm
  vm=$($aws s3api delete-object --bucket "$b" --key k | version_of)
  [[ $vm =~ ^[0-9a-f]{32}$ ]] || { echo "marker version id $vm" >&2; return 1; }
  it_must_fail $aws s3api head-object --bucket "$b" --key k 2>/dev/null
  it_expect_eq "delete-object --version-id (the marker)" "[True, '$vm']" \
    "$($aws s3api delete-object --bucket "$b" --key k --version-id "$vm" |
       it_json '[d.get("DeleteMarker"), d.get("VersionId")]')"
  fetch "$aws" "$b" k "$id" "$IT_WORK/id-v$v.bin"
  it_same_file "$data/b.bin" "$IT_WORK/id-v$v.bin"

  it_step "aws v$v: Suspended PUT and DELETE answer null and replace the null version"
  $aws s3api put-bucket-versioning --bucket "$b" --versioning-configuration Status=Suspended
  it_expect_eq "version id (Suspended PUT)" null \
    "$($aws s3api put-object --bucket "$b" --key k --body "$data/c.bin" | version_of)"
  it_expect_eq "DELETE (Suspended): a null marker" "[True, 'null']" \
    "$($aws s3api delete-object --bucket "$b" --key k |
       it_json '[d.get("DeleteMarker"), d.get("VersionId")]')"
  it_expect_eq "list-object-versions (the null marker replaced the null version)" \
    "[['$id'], ['null']]" "$(versions "$aws" "$b")"

  it_step "aws v$v: delete-object --version-id removes each version"
  it_expect_eq "delete-object --version-id $id" "$id" \
    "$($aws s3api delete-object --bucket "$b" --key k --version-id "$id" | version_of)"
  it_expect_eq "delete-object --version-id null (the marker)" "[True, 'null']" \
    "$($aws s3api delete-object --bucket "$b" --key k --version-id null |
       it_json '[d.get("DeleteMarker"), d.get("VersionId")]')"
  $aws s3api delete-bucket --bucket "$b"        # refused while any version is left
}

until_in() {              # until_in SECONDS -> ISO 8601 UTC
  date -u -d "+$1 seconds" +%Y-%m-%dT%H:%M:%SZ
}

# Object lock; $1 is it_aws1 or it_aws2.
object_lock() {
  local aws=$1 v=${1#it_aws}
  local b=awslock-v$v err=$IT_WORK/lock-v$v.err id until
  it_step "aws v$v: a bucket with object lock; retention and legal hold on a version"
  $aws s3api create-bucket --bucket "$b" --object-lock-enabled-for-bucket >/dev/null
  it_expect_eq "get-object-lock-configuration" "{'ObjectLockEnabled': 'Enabled'}" \
    "$($aws s3api get-object-lock-configuration --bucket "$b" |
       it_json 'd["ObjectLockConfiguration"]')"
  id=$($aws s3api put-object --bucket "$b" --key k --body "$data/a.bin" | version_of)
  until=$(until_in 3600)          # outlives the test: the refusals below are the lock's
  $aws s3api put-object-retention --bucket "$b" --key k --version-id "$id" \
    --retention "Mode=GOVERNANCE,RetainUntilDate=$until"
  it_expect_eq "get-object-retention" "['GOVERNANCE', True]" \
    "$($aws s3api get-object-retention --bucket "$b" --key k --version-id "$id" |
       it_json '[d["Retention"]["Mode"], d["Retention"]["RetainUntilDate"].startswith("'"${until%Z}"'")]')"
  $aws s3api put-object-legal-hold --bucket "$b" --key k --version-id "$id" \
    --legal-hold Status=ON
  it_expect_eq "get-object-legal-hold" ON \
    "$($aws s3api get-object-legal-hold --bucket "$b" --key k --version-id "$id" |
       it_json 'd["LegalHold"]["Status"]')"

  it_step "aws v$v: deleting the locked version is refused with AccessDenied"
  it_must_fail $aws s3api delete-object --bucket "$b" --key k --version-id "$id" 2>"$err"
  grep -q "(AccessDenied) when calling the DeleteObject operation" "$err"
  $aws s3api put-object-legal-hold --bucket "$b" --key k --version-id "$id" \
    --legal-hold Status=OFF
  it_must_fail $aws s3api delete-object --bucket "$b" --key k --version-id "$id" \
    --bypass-governance-retention 2>"$err"
  grep -q "(AccessDenied) when calling the DeleteObject operation" "$err"

  it_step "aws v$v: a default retention: put-object and s3 cp (multipart) get it"
  $aws s3api put-object-lock-configuration --bucket "$b" --object-lock-configuration \
    '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1}}}'
  $aws s3api put-object --bucket "$b" --key d --body "$data/b.bin" >/dev/null
  it_multipart $aws s3 cp --only-show-errors "$data/mp.bin" "s3://$b/mp.bin"
  for k in d mp.bin; do
    it_expect_eq "retention of $k" GOVERNANCE \
      "$($aws s3api get-object-retention --bucket "$b" --key "$k" |
         it_json 'd["Retention"]["Mode"]')"
  done

  fetch "$aws" "$b" k "$id" "$IT_WORK/kept-v$v.bin"
  it_same_file "$data/a.bin" "$IT_WORK/kept-v$v.bin"
}

it_server https
for aws in "${IT_AWS_CLIENTS[@]}"; do
  null_versions "$aws"
  object_lock "$aws"
done
it_server_stop
it_done
