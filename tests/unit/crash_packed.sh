#!/bin/sh
# tests/unit/crash_packed.sh - the SIGKILL crash test (test_crash.c) with
# pack files on: every one-block PUT and part goes to the disks' packs, so
# kills land between pack appends, their shared fdatasync and the index
# commit. 60 iterations by default (CRASH_ITERS sets more), ~10 s.
COFFER_TEST_PACK_SHARD_MAX=1048576
CRASH_ITERS=${CRASH_ITERS:-60}
export COFFER_TEST_PACK_SHARD_MAX CRASH_ITERS
exec ./tests/unit/test_crash
