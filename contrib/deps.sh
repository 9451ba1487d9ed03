#!/usr/bin/env bash
# contrib/deps.sh - install what coffer needs to build, test and benchmark,
# from Debian's packages. Run as root (or with sudo available).
set -euo pipefail
PKGS=(
  build-essential autoconf automake libtool pkg-config
  libmicrohttpd-dev libcurl4-openssl-dev libxml2-dev libssl-dev
  libjansson-dev libisal-dev libsqlite3-dev
  python3 python3-boto3 python3-pytest
  awscli s3cmd rclone restic openssl curl
  python3-prometheus-client prometheus chromium clang libclang-rt-14-dev
)
# the console test drives Chromium with playwright-core from npm; a machine
# with another Node.js keeps its own npm
command -v npm >/dev/null || PKGS+=(nodejs npm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
