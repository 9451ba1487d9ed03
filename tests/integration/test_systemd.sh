#!/usr/bin/env bash
# tests/integration/test_systemd.sh - the service files as `make install`
# puts them: installs this build into a DESTDIR, checks what went where
# (the unit with this build's paths, the sysusers.d entry, the example
# coffer.json with mode 0640 and never overwritten), lets systemd-analyze
# verify the unit and rate its hardening, then starts cofferd exactly the
# way the unit does (systemd_notify.py: ExecStart's arguments, the unit's
# environment and umask, a NOTIFY_SOCKET it listens on) and checks that
# READY=1 comes once cofferd serves and STOPPING=1 on SIGTERM.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(pwd)
. "$here/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/coffer-systemd.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest=$work/root

make -s -C "$build" install DESTDIR="$dest" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; echo "FAIL: make install"; exit 1; }
unit=$(find "$dest" -name cofferd.service -path '*systemd/system*')
sysusers=$(find "$dest" -name coffer.conf -path '*sysusers.d*')
config=$(find "$dest" -name coffer.json -path '*/coffer/coffer.json')
for f in "$unit" "$sysusers" "$config"; do
  [ -n "$f" ] && [ -f "$f" ] || { echo "FAIL: make install left out a service file"; exit 1; }
done
[ "$(stat -c %a "$config")" = 640 ] || { echo "FAIL: coffer.json is not mode 0640"; exit 1; }
grep -q '^u coffer ' "$sysusers" || { echo "FAIL: no user coffer in $sysusers"; exit 1; }
exec_bin=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
[ -x "$dest$exec_bin" ] || { echo "FAIL: ExecStart names $exec_bin, not installed"; exit 1; }
echo "ok   make install: $unit, $sysusers, $config (0640)"

# a second install keeps an edited coffer.json
echo '{"edited": true}' >"$config"
make -s -C "$build" install DESTDIR="$dest" >"$work/install.log" 2>&1
grep -q edited "$config" || { echo "FAIL: make install overwrote coffer.json"; exit 1; }
echo "ok   a second make install keeps an existing coffer.json"

if command -v systemd-analyze >/dev/null; then
  sed "s|^ExecStart=$exec_bin|ExecStart=$dest$exec_bin|" "$unit" >"$work/cofferd.service"
  timeout 60 systemd-analyze verify --man=no "$work/cofferd.service" ||
    { echo "FAIL: systemd-analyze verify"; exit 1; }
  timeout 60 systemd-analyze security --offline=yes --threshold=25 \
    "$work/cofferd.service" >"$work/security.txt" 2>&1 ||
    { cat "$work/security.txt"; echo "FAIL: exposure above 2.5"; exit 1; }
  echo "ok   systemd-analyze: verify passes, $(grep -o 'exposure level.*' "$work/security.txt")"
fi

cp "$here/../../contrib/systemd/coffer.json" "$config"    # the shipped example
# as shipped, its placeholder admin credential keeps cofferd from starting
if "$dest$exec_bin" -c "$config" >"$work/example.log" 2>&1; then
  echo "FAIL: cofferd started with the example's placeholder credential"; exit 1
fi
grep -q "admin.access_key" "$work/example.log" ||
  { cat "$work/example.log"; echo "FAIL: no clear message for the placeholder"; exit 1; }
echo "ok   the example as shipped is refused: $(head -1 "$work/example.log")"
python3 "$here/systemd_notify.py" "$unit" "$dest" "$config" "$work/run" \
  "$(coffer_free_port)" "$(coffer_free_port)"
