# tests/peers/peer.sh - what the peer harnesses (rgw.sh, azurite.sh) share:
# sourced by them, not run. A harness keeps a peer's state in its own
# directory: the daemons' pids and a file DIR/env of NAME=VALUE lines (the
# variables callers use), so that a peer started by one process can be
# found, described and stopped by another.

. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"   # coffer_make_cert, coffer_python

# peer_free_port: a free loopback port below the kernel's ephemeral range,
# so that no test's outgoing connection takes it before a peer that binds
# late (radosgw binds seconds after its port is chosen) gets to it.
peer_free_port() {
  python3 - <<'PY'
import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(100):
    port = random.randrange(10000, max(lo, 10001))
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port")
PY
}

peer_alive() {            # peer_alive PID: a live process, not a zombie
  local p_st
  p_st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$p_st" ] && [ "$p_st" != Z ] && [ "$p_st" != X ]
}

# peer_stop_pid NAME PID SECONDS: SIGTERM, up to SECONDS for it to exit,
# then SIGKILL; reaps it if it is this shell's child. 1 if it was killed.
peer_stop_pid() {
  local p_name=$1 p_pid=$2 p_i p_bound=$(($3 * 5)) p_rc=0
  if peer_alive "$p_pid"; then
    kill -TERM "$p_pid" 2>/dev/null
    for ((p_i = 0; p_i < p_bound; p_i++)); do
      peer_alive "$p_pid" || break
      sleep 0.2
    done
    if peer_alive "$p_pid"; then
      echo "$p_name (pid $p_pid) did not exit $3 s after SIGTERM; killing it" >&2
      kill -KILL "$p_pid" 2>/dev/null
      p_rc=1
      for ((p_i = 0; p_i < 25; p_i++)); do peer_alive "$p_pid" || break; sleep 0.2; done
    fi
  fi
  wait "$p_pid" 2>/dev/null
  return $p_rc
}

peer_load_env() {         # peer_load_env DIR: export DIR/env's variables
  local p_line
  while IFS= read -r p_line; do
    export "${p_line?}"
  done <"$1/env"
}

peer_print_env() {        # peer_print_env DIR: DIR/env as shell, for eval
  local p_k p_v
  while IFS='=' read -r p_k p_v; do
    printf 'export %s=%q\n' "$p_k" "$p_v"
  done <"$1/env"
}
