#!/usr/bin/env bash
# contrib/quickstart.sh - install what coffer needs, build it, and start
# cofferd on the embedded default: 127.0.0.1:9000, six disk directories and
# the index under ./var, a generated master key (back it up), and a tenant
# "dev" whose keys it prints and writes to ./var/dev-credentials.
# Extra arguments go to cofferd (e.g. --listen 127.0.0.1:9100).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/contrib/deps.sh"
cd "$top"
[ -x configure ] || autoreconf -fi
mkdir -p build
( cd build && { [ -f Makefile ] || ../configure; } && make -j"$(nproc)" )
exec "$top/build/server/cofferd" --var "$top/var" "$@"
