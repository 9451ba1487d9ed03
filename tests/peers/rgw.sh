#!/usr/bin/env bash
# tests/peers/rgw.sh - a throw-away single-node Ceph cluster with a radosgw
# on loopback: the real S3 server that coffer's tier tests and `make bench`
# compare against (../shared/PEERS.md has the facts it is built on).
#
# Source it and call the functions, or run it:
#
#   rgw.sh start DIR [options]   start, print the environment (export lines)
#   rgw.sh env DIR               print it again
#   rgw.sh pids DIR              radosgw, OSD and mon pids, one line
#   rgw.sh stop DIR              stop the daemons (DIR stays: rm -rf it)
#
#   . tests/peers/rgw.sh
#   trap 'rgw_stop "$dir"' EXIT      # before rgw_start: nothing left behind
#   rgw_start DIR [options]          # exports the RGW_* variables below
#
# Options: --objectstore memstore|bluestore (memstore: data in RAM, for
# functional tests; bluestore: a sparse file DIR/osd.0.block, for
# benchmarks), --size BYTES (memstore's RAM cap or the block file's size;
# 2 GiB and 32 GiB by default), --keys ACCESS SECRET (the S3 user's; made
# up when absent), --https CERT KEY (a second, TLS endpoint with that PEM
# certificate and key: tests/integration/lib.sh's coffer_make_cert makes
# one for 127.0.0.1).
#
# Exported after rgw_start: RGW_ENDPOINT (http://127.0.0.1:PORT),
# RGW_HTTPS_ENDPOINT (with --https; RGW_CA is the certificate), RGW_ACCESS_KEY,
# RGW_SECRET_KEY, RGW_REGION (us-east-1: radosgw takes any signing region),
# RGW_PIDS (radosgw, OSD, mon: every process of the peer, for CPU and memory
# figures), RGW_DIR, RGW_CONF (pass as `-c` to ceph, rados, radosgw-admin),
# RGW_STARTUP_S (seconds from nothing to a user that can sign requests).
#
# Everything lives under DIR: ceph.conf, one keyring, the mon and OSD data,
# logs, sockets, pid and crash files; /etc/ceph and /var/lib/ceph are never
# read or written. Daemons run as the caller (no --setuser: root in CI),
# talk msgr2 on 127.0.0.1 only, with one replica and 8 PGs per pool. Every
# wait is bounded; a start that fails stops what it started and shows the
# end of the logs. rgw_stop stops radosgw, then the OSD, then the mon
# (SIGTERM, SIGKILL after RGW_STOP_SECONDS, 20), works from any process
# (the pids are in DIR/pids) and is safe to call twice. The functions'
# locals are prefixed (r_), so that a caller's EXIT trap that fires while
# one runs sees the caller's own variables ($dir, $pid, ...).

. "$(dirname "${BASH_SOURCE[0]}")/peer.sh"

rgw__say() { echo "rgw: $*" >&2; }

# rgw__wait SECONDS CMD...: run CMD every 0.2 s until it succeeds; 1 after
# SECONDS. Stops early (2) when a daemon in DIR/pids has died.
rgw__wait() {
  local r_n=$(($1 * 5)) r_i
  shift
  for ((r_i = 0; r_i < r_n; r_i++)); do
    "$@" >/dev/null 2>&1 && return 0
    rgw__all_alive || return 2
    sleep 0.2
  done
  return 1
}

rgw__all_alive() {
  local r_name r_pid
  while read -r r_name r_pid; do
    peer_alive "$r_pid" || { rgw__say "$r_name (pid $r_pid) exited"; return 1; }
  done <"$RGW_DIR/pids"
}

rgw__ceph() {             # the ceph CLI on this cluster, bounded
  timeout -k 5 30 ceph -c "$RGW_CONF" --connect-timeout 20 "$@"
}

# rgw__daemon NAME CMD...: start a daemon in the foreground mode (-f) as a
# background job, its stderr in DIR/log/NAME.stderr, its pid in DIR/pids.
rgw__daemon() {
  local r_name=$1
  shift
  "$@" -f >>"$RGW_DIR/log/$r_name.stderr" 2>&1 &
  echo "$r_name $!" >>"$RGW_DIR/pids"
}

# The configuration; radosgw's ports are set by rgw__launch_rgw.
rgw__write_conf() {       # rgw__write_conf OBJECTSTORE SIZE MON_PORT
  local r_d=$RGW_DIR r_store=$1 r_size=$2
  cat >"$RGW_CONF" <<EOF
# written by tests/peers/rgw.sh: a throw-away cluster, everything under $r_d
[global]
fsid = $(uuidgen)
mon host = [v2:127.0.0.1:$3]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind msgr2 = true
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $r_d/keyring
run dir = $r_d/run
admin socket = $r_d/run/\$name.asok
pid file = $r_d/run/\$name.pid
crash dir = $r_d/crash
log file = $r_d/log/\$name.log
mon cluster log file = $r_d/log/cluster.log
log to stderr = false
err to stderr = true
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon data avail warn = 5
mon data avail crit = 1
paxos propose interval = 0.05

[mon]
mon data = $r_d/mon.\$id

[osd]
osd data = $r_d/osd.\$id
osd objectstore = $r_store
memstore device bytes = $r_size
bluestore block path = $r_d/osd.\$id.block
bluestore block create = true
bluestore block size = $r_size
bluestore block db create = false
bluestore block wal create = false
bluestore fsck on mkfs = false
osd memory target = 1073741824

[client.rgw.peer]
rgw data = $r_d/rgw
rgw frontends = (set by rgw__launch_rgw)
# a lifecycle "day" of 10 s; one worker: with more, a worker that finds a
# shard locked by another sleeps and retries without looking for shutdown,
# and SIGTERM could take a minute
rgw lc debug interval = 10
rgw lc max worker = 1
# deleted data is freed in about a minute, not hours
rgw gc obj min wait = 30
rgw gc processor period = 30
EOF
}

rgw__mkkeys() {           # one keyring: mon., client.admin, osd.0, client.rgw.peer
  local r_k=$RGW_DIR/keyring
  ceph-authtool --create-keyring "$r_k" --gen-key -n mon. --cap mon 'allow *' &&
    ceph-authtool "$r_k" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
      --cap mds 'allow *' --cap mgr 'allow *' &&
    ceph-authtool "$r_k" --gen-key -n osd.0 --cap mon 'allow profile osd' \
      --cap osd 'allow *' --cap mgr 'allow profile osd' &&
    ceph-authtool "$r_k" --gen-key -n client.rgw.peer --cap mon 'allow rw' --cap osd 'allow rwx'
}

# radosgw on free ports (and the TLS one with CERT KEY). 3 if a port was
# taken before it bound it: the caller starts over with a new cluster, as a
# second radosgw would wait for the dead one's watches to time out.
rgw__launch_rgw() {       # rgw__launch_rgw [CERT KEY]
  local r_port r_ssl_port r_front
  r_port=$(peer_free_port) || return 1
  RGW_ENDPOINT=http://127.0.0.1:$r_port
  # tcp_nodelay: without it every small GET waits out Nagle and the
  # client's delayed ACK (44 ms a 4 KiB GET here, 256/s instead of 22/s)
  r_front="beast endpoint=127.0.0.1:$r_port tcp_nodelay=1"
  RGW_HTTPS_ENDPOINT=
  if [ -n "${1:-}" ]; then
    r_ssl_port=$(peer_free_port) || return 1
    RGW_HTTPS_ENDPOINT=https://127.0.0.1:$r_ssl_port
    r_front="$r_front ssl_endpoint=127.0.0.1:$r_ssl_port ssl_certificate=$1 ssl_private_key=$2"
  fi
  sed -i "s|^rgw frontends = .*|rgw frontends = $r_front|" "$RGW_CONF" || return 1
  rgw__daemon radosgw radosgw -c "$RGW_CONF" -n client.rgw.peer
  # radosgw makes its pools and zone first: up to a minute on a busy machine
  rgw__wait 90 rgw__answers && return 0
  grep -q 'failed to bind' "$RGW_DIR/log/radosgw.stderr" && return 3
  return 1
}

rgw__osd_up() {
  rgw__ceph osd stat -f json | grep -q '"num_up_osds":1[,}]'
}

rgw__answers() {          # radosgw answers an anonymous GET / with XML
  curl -s -m 2 -o /dev/null -w '%{http_code}' "$RGW_ENDPOINT/" | grep -q '^[24]'
}

rgw_start() {             # rgw_start DIR [--objectstore S] [--size B] [--keys AK SK] [--https C K]
  local r_dir=$1 r_store=memstore r_size= r_ak= r_sk= r_cert= r_key= r_t0=$SECONDS
  shift
  while [ $# -gt 0 ]; do
    case $1 in
      --objectstore) r_store=$2; shift 2 ;;
      --size) r_size=$2; shift 2 ;;
      --keys) r_ak=$2; r_sk=$3; shift 3 ;;
      --https) r_cert=$2; r_key=$3; shift 3 ;;
      *) rgw__say "unknown option $1"; return 1 ;;
    esac
  done
  case $r_store in
    memstore) r_size=${r_size:-2147483648} ;;
    bluestore) r_size=${r_size:-34359738368} ;;
    *) rgw__say "--objectstore is memstore or bluestore, not $r_store"; return 1 ;;
  esac
  local r_p r_try r_rc
  for r_p in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool uuidgen curl; do
    command -v "$r_p" >/dev/null || { rgw__say "$r_p is not installed (contrib/deps.sh)"; return 1; }
  done
  [ -n "$r_ak" ] || r_ak=RGW$(uuidgen | tr -d - | tr a-f A-F | cut -c1-17)
  [ -n "$r_sk" ] || r_sk=$(uuidgen | tr -d -)$(uuidgen | tr -d - | cut -c1-8)
  mkdir -p "$r_dir" || return 1
  RGW_DIR=$(cd "$r_dir" && pwd)
  RGW_CONF=$RGW_DIR/ceph.conf
  [ ! -e "$RGW_DIR/pids" ] || { rgw__say "$RGW_DIR already has a cluster (pids)"; return 1; }
  for r_try in 1 2 3; do
    rgw__start_once "$r_store" "$r_size" "$r_ak" "$r_sk" "$r_cert" "$r_key"
    r_rc=$?
    [ $r_rc = 3 ] || break
    rgw__say "a port was taken before radosgw bound it; starting over"
    rgw_stop "$RGW_DIR"
    rgw__clear
  done
  [ $r_rc = 0 ] || { rgw__fail "$(cat "$RGW_DIR/failed" 2>/dev/null)"; return 1; }

  local r_pids
  r_pids=$(rgw_pids "$RGW_DIR")
  {
    echo "RGW_DIR=$RGW_DIR"
    echo "RGW_CONF=$RGW_CONF"
    echo "RGW_ENDPOINT=$RGW_ENDPOINT"
    echo "RGW_HTTPS_ENDPOINT=$RGW_HTTPS_ENDPOINT"
    echo "RGW_CA=$r_cert"
    echo "RGW_ACCESS_KEY=$r_ak"
    echo "RGW_SECRET_KEY=$r_sk"
    echo "RGW_REGION=us-east-1"
    echo "RGW_PIDS=$r_pids"
    echo "RGW_OBJECTSTORE=$r_store"
    echo "RGW_STARTUP_S=$((SECONDS - r_t0))"
  } >"$RGW_DIR/env"
  peer_load_env "$RGW_DIR"
  rgw__say "$r_store cluster up in $RGW_STARTUP_S s: $RGW_ENDPOINT${RGW_HTTPS_ENDPOINT:+ and $RGW_HTTPS_ENDPOINT} (pids $r_pids; $RGW_DIR)"
}

rgw__clear() {            # remove what a start made in RGW_DIR
  local r_e
  for r_e in ceph.conf keyring monmap pids env failed run log crash rgw mon.a osd.0 osd.0.block; do
    rm -rf "${RGW_DIR:?}/$r_e"
  done
}

# One try: mon, OSD, radosgw, user. 0 when up; 3 when radosgw found its
# port taken; else 1, with the reason in DIR/failed (rgw_start shows it).
rgw__start_once() {       # rgw__start_once STORE SIZE AK SK CERT KEY
  local r_store=$1 r_size=$2 r_ak=$3 r_sk=$4 r_cert=$5 r_key=$6 r_rc
  mkdir -p "$RGW_DIR"/{run,log,crash,rgw,mon.a,osd.0} && : >"$RGW_DIR/pids" || return 1
  local r_mon_port
  r_mon_port=$(peer_free_port) || return 1
  rgw__write_conf "$r_store" "$r_size" "$r_mon_port" || return 1
  rgw__mkkeys >/dev/null || { echo "ceph-authtool failed" >"$RGW_DIR/failed"; return 1; }

  local r_fsid r_osd_uuid
  r_fsid=$(sed -n 's/^fsid = //p' "$RGW_CONF")
  r_osd_uuid=$(uuidgen)
  monmaptool --create --fsid "$r_fsid" --addv a "[v2:127.0.0.1:$r_mon_port]" \
    "$RGW_DIR/monmap" >/dev/null &&
    ceph-mon -c "$RGW_CONF" --mkfs -i a --monmap "$RGW_DIR/monmap" \
      --keyring "$RGW_DIR/keyring" 2>>"$RGW_DIR/log/mkfs.stderr" ||
    { echo "mon mkfs failed" >"$RGW_DIR/failed"; return 1; }
  rgw__daemon mon ceph-mon -c "$RGW_CONF" -i a
  # `osd new` answers once the mon has formed its quorum of one
  local r_id
  r_id=$(rgw__ceph osd new "$r_osd_uuid" 2>>"$RGW_DIR/log/mkfs.stderr") && [ "$r_id" = 0 ] ||
    { echo "the mon did not answer \`ceph osd new\` (got '$r_id')" >"$RGW_DIR/failed"; return 1; }
  ceph-osd -c "$RGW_CONF" -i 0 --mkfs --osd-uuid "$r_osd_uuid" \
    >>"$RGW_DIR/log/mkfs.stderr" 2>&1 || { echo "osd mkfs ($r_store) failed" >"$RGW_DIR/failed"; return 1; }
  rgw__daemon osd ceph-osd -c "$RGW_CONF" -i 0
  rgw__wait 60 rgw__osd_up || { echo "the OSD did not come up" >"$RGW_DIR/failed"; return 1; }
  rgw__launch_rgw ${r_cert:+"$r_cert" "$r_key"}
  r_rc=$?
  [ $r_rc = 0 ] || { echo "radosgw did not answer at $RGW_ENDPOINT" >"$RGW_DIR/failed"; return $r_rc; }
  timeout -k 5 60 radosgw-admin -c "$RGW_CONF" user create --uid=coffer \
    --display-name="coffer tests" --access-key="$r_ak" --secret-key="$r_sk" \
    >/dev/null 2>>"$RGW_DIR/log/mkfs.stderr" ||
    { echo "radosgw-admin user create failed" >"$RGW_DIR/failed"; return 1; }
}

rgw__fail() {             # a start failed: say why, show the logs, stop
  rgw__say "$1; the end of the logs in $RGW_DIR/log:"
  local r_f
  for r_f in "$RGW_DIR"/log/*; do
    [ -s "$r_f" ] || continue
    echo "=== $r_f" >&2
    tail -15 "$r_f" >&2
  done
  rgw_stop "$RGW_DIR"
}

rgw_pids() {              # rgw_pids DIR: the running daemons' pids, one line
  [ -f "$1/pids" ] || return 0
  awk '{ print $2 }' "$1/pids" | tac | tr '\n' ' ' | sed 's/ $//'
}

# Stop the daemons in the reverse order of their start: radosgw, the OSD,
# the mon. Returns 1 if one had to be killed.
rgw_stop() {              # rgw_stop DIR
  local r_dir=$1 r_rc=0 r_name r_pid
  [ -f "$r_dir/pids" ] || return 0
  while read -r r_name r_pid; do
    peer_stop_pid "rgw: $r_name" "$r_pid" "${RGW_STOP_SECONDS:-20}" || r_rc=1
  done < <(tac "$r_dir/pids")
  rm -f "$r_dir/pids"
  return $r_rc
}

# ---- run as a command ----------------------------------------------------
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -u
  cmd=${1:-}; dir=${2:-}
  [ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '6,11p' "$0" >&2; exit 2; }
  shift 2
  case $cmd in
    start) rgw_start "$dir" "$@" && peer_print_env "$dir" ;;
    env) peer_print_env "$dir" ;;
    pids) rgw_pids "$dir"; echo ;;
    stop) rgw_stop "$dir" ;;
    *) sed -n '6,11p' "$0" >&2; exit 2 ;;
  esac
fi
