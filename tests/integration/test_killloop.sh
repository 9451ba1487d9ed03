#!/usr/bin/env bash
# tests/integration/test_killloop.sh - kill -9 of cofferd at random moments
# during concurrent restic backups, rclone syncs, boto3 multipart uploads,
# PUTs and DELETEs, KILL_ITERS times (make check-faults and make soak set
# it); after each restart what was acknowledged reads back exactly and
# nothing partial is visible; every KILL_CHECK_EVERY iterations restic
# check --read-data passes and GC leaves no orphan (killloop.py says how).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
# make check runs it only to skip it: make check-faults and make soak set
# KILL_ITERS (tests/local.mk)
[ -n "${KILL_ITERS:-}" ] ||
  { echo "SKIP: the kill loop runs in make check-faults and make soak (KILL_ITERS)"; exit 77; }
it_init killloop
it_skip_unless restic rclone python3
py=$(coffer_python newest boto3) || { echo "SKIP: no python3 with boto3"; exit 77; }
COFFER_CLI=${COFFER_CLI:-$(cd "$(dirname "$COFFERD")/../cli" && pwd)/coffer}
if it_sanitized; then                 # slower: fewer, so the time stays bounded
  export KILL_ITERS=${KILL_ITERS_SANITIZED:-20}
fi
export IT_WORK COFFER_CLI KILL_PORT=$(coffer_free_port)
COFFER_LOG=$IT_WORK/cofferd.log       # it_on_error shows its end
it_step "kill -9 of cofferd under restic, rclone, multipart uploads and deletes"
"$py" "$here/killloop.py"
it_done
