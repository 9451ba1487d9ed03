#!/usr/bin/env bash
# tests/console/test_console.sh - the web console in a real headless
# Chromium, over HTTP and over HTTPS: console_test.mjs logs in (and is
# refused with a wrong password), creates a tenant and a key, checks the
# secret is shown once and never again, the session cookie's attributes,
# the CSRF and cross-site guards, revoke and logout, and takes
# screenshots. Chromium is Debian's (contrib/deps.sh); playwright-core,
# which drives it, is installed from npm into tests/console/node_modules
# (pinned by package-lock.json) the first time. Screenshots are kept in
# the build tree under tests/console-shots/MODE/.
set -u
here=$(cd "$(dirname "$0")" && pwd)
COFFERD=${COFFERD:-$(pwd)/server/cofferd}
export COFFERD
. "$here/../integration/lib.sh"

for tool in node npm /usr/bin/chromium; do
  command -v "$tool" >/dev/null ||
    { echo "FAIL: $tool is missing (contrib/deps.sh installs it)" >&2; exit 1; }
done
# npm ci once, under a lock, so that two builds never install at once
( flock 9
  [ -f "$here/node_modules/playwright-core/package.json" ] ||
    (cd "$here" && timeout -k 10 600 npm ci --no-audit --no-fund --loglevel=error >&2)
) 9<"$here/package.json" || { echo "FAIL: npm ci of playwright-core failed" >&2; exit 1; }

shots=$(pwd)/tests/console-shots
trap 'coffer_stop >/dev/null 2>&1' EXIT
trap 'exit 1' INT TERM
rc=0
for mode in ${IT_MODES:-http https}; do
  echo "== console over $mode"
  coffer_start "$mode" || exit 1
  mkdir -p "$shots/$mode"
  timeout -k 10 300 node "$here/console_test.mjs" "$COFFER_ENDPOINT" \
    "$COFFER_ADMIN_ACCESS_KEY" "$COFFER_ADMIN_SECRET_KEY" "$shots/$mode" || rc=1
  if grep -F "$COFFER_ADMIN_SECRET_KEY" "$COFFER_LOG" "$COFFER_ACCESS_LOG" >/dev/null; then
    echo "FAIL: the admin secret reached a log" >&2
    rc=1
  fi
  grep -q "console: refused login from 127.0.0.1" "$COFFER_LOG" ||
    { echo "FAIL: the refused login was not logged" >&2; rc=1; }
  [ $rc -eq 0 ] || tail -30 "$COFFER_LOG"
  coffer_stop || rc=1
done
echo "screenshots: $shots"
exit $rc
