#!/usr/bin/env bash
# contrib/deps.sh - install what coffer needs to build, test and benchmark,
# from Debian's packages. Run as root (or with sudo available).
set -euo pipefail
PKGS=(
  build-essential autoconf automake libtool pkg-config
  libmicrohttpd-dev libcurl4-openssl-dev libssl-dev
  libjansson-dev libisal-dev libsqlite3-dev
  python3 python3-boto3 python3-pytest
  awscli s3cmd rclone restic openssl curl
  python3-prometheus-client prometheus chromium clang libclang-rt-14-dev
  e2fsprogs util-linux
)
# The peers of tests/peers/ (a Ceph RGW cluster; Azurite runs on node),
# installed without their recommends (Ceph's pull in the mgr's dashboard
# stack and more). nodejs and npm (also for the console test, which drives
# Chromium with playwright-core from npm) only where no npm is on PATH: a
# machine with another Node.js keeps it.
PEER_PKGS=(ceph-mon ceph-osd radosgw ceph-common uuid-runtime)
command -v npm >/dev/null || PEER_PKGS+=(nodejs npm)
missing() {               # missing PKG...: the ones not installed
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
mapfile -t missing < <(missing "${PKGS[@]}")
mapfile -t peer_missing < <(missing "${PEER_PKGS[@]}")
if [ ${#missing[@]} -eq 0 ] && [ ${#peer_missing[@]} -eq 0 ]; then
  echo "deps: all $((${#PKGS[@]} + ${#PEER_PKGS[@]})) packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -q
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi
if [ ${#peer_missing[@]} -gt 0 ]; then
  echo "deps: installing ${peer_missing[*]} (no recommends)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    "${peer_missing[@]}"
fi
