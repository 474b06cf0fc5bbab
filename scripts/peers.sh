#!/usr/bin/env bash
# Starts and stops the file systems scripts/bench.sh --compare measures amlfs
# against, all on this machine and its disk, all from Debian packages:
#
#   peers.sh up moosefs ROOT      1 master + 4 chunkservers, one copy (goal 1)
#   peers.sh up glusterfs ROOT    a distributed volume over 4 bricks
#   peers.sh up passthrough ROOT  libfuse's passthrough_ll over ROOT/data:
#                                 the FUSE ceiling of this machine
#   peers.sh down KIND ROOT
#
# `up` prints the mount point (ROOT/mnt). The MooseFS and GlusterFS daemons
# live in a network namespace this script creates (both refuse loopback
# addresses), with their mounts made from inside it; nothing listens on the
# host's interfaces. Data lives under ROOT. Run as root.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
script_help "$@"

PROG=peers.sh
die() { echo "$PROG: $*" >&2; exit 1; }
(($# == 3)) || die "usage: $PROG up|down moosefs|glusterfs|passthrough ROOT"
ACTION=$1 KIND=$2 ROOT=$3
((EUID == 0)) || die "run as root"

install_pkgs() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
    die "cannot install ${missing[*]}"
}

# netns_up NAME ADDR: a namespace with lo and a veth pair, ADDR on veth0.
netns_up() {
  ip netns add "$1" 2>/dev/null || true
  ip -n "$1" link set lo up
  ip -n "$1" link add veth0 type veth peer name veth1 2>/dev/null || true
  ip -n "$1" addr add "$2/24" dev veth0 2>/dev/null || true
  ip -n "$1" link set veth0 up
  ip -n "$1" link set veth1 up
}

wait_mount() {
  local i
  for i in $(seq 1 60); do mountpoint -q "$1" && return 0; sleep 0.5; done
  die "$KIND did not mount on $1"
}

unmount() {
  mountpoint -q "$1" 2>/dev/null || return 0
  umount "$1" 2>/dev/null || fusermount3 -u "$1" 2>/dev/null || umount -l "$1"
}

MFS_NS=amlfsbench-mfs MFS_IP=10.252.0.1
GL_NS=amlfsbench-gl GL_IP=10.252.1.1

moosefs_up() {
  install_pkgs moosefs-master moosefs-chunkserver moosefs-client
  netns_up $MFS_NS $MFS_IP
  local in="nsenter --net=/run/netns/$MFS_NS" i d
  mkdir -p "$ROOT/master" "$ROOT/mnt"
  cat >"$ROOT/master/mfsmaster.cfg" <<CFG
WORKING_USER = root
WORKING_GROUP = root
DATA_PATH = $ROOT/master
EXPORTS_FILENAME = $ROOT/master/mfsexports.cfg
TOPOLOGY_FILENAME = $ROOT/master/mfstopology.cfg
MATOML_LISTEN_HOST = $MFS_IP
MATOCS_LISTEN_HOST = $MFS_IP
MATOCL_LISTEN_HOST = $MFS_IP
CFG
  echo '* / rw,alldirs,maproot=0' >"$ROOT/master/mfsexports.cfg"
  : >"$ROOT/master/mfstopology.cfg"
  [[ -f "$ROOT/master/metadata.mfs" ]] || printf 'MFSM NEW' >"$ROOT/master/metadata.mfs"
  $in mfsmaster -c "$ROOT/master/mfsmaster.cfg" start >/dev/null 2>&1 || die "mfsmaster did not start"
  for i in 1 2 3 4; do
    d="$ROOT/cs$i"
    mkdir -p "$d/hdd"
    echo "$d/hdd" >"$d/mfshdd.cfg"
    cat >"$d/mfschunkserver.cfg" <<CFG
WORKING_USER = root
WORKING_GROUP = root
DATA_PATH = $d
HDD_CONF_FILENAME = $d/mfshdd.cfg
CSSERV_LISTEN_HOST = $MFS_IP
CSSERV_LISTEN_PORT = $((9522 + i))
MASTER_HOST = $MFS_IP
CFG
    $in mfschunkserver -c "$d/mfschunkserver.cfg" start >/dev/null 2>&1 || die "chunkserver $i did not start"
  done
  sleep 3
  $in mfsmount "$ROOT/mnt" -H $MFS_IP >/dev/null 2>&1 || die "mfsmount failed"
  wait_mount "$ROOT/mnt"
  $in mfssetgoal -r 1 "$ROOT/mnt" >/dev/null
}

moosefs_down() {
  unmount "$ROOT/mnt"
  local c
  for c in "$ROOT"/cs*/mfschunkserver.cfg; do
    [[ -f "$c" ]] && nsenter --net=/run/netns/$MFS_NS mfschunkserver -c "$c" stop >/dev/null 2>&1
  done
  [[ -f "$ROOT/master/mfsmaster.cfg" ]] &&
    nsenter --net=/run/netns/$MFS_NS mfsmaster -c "$ROOT/master/mfsmaster.cfg" stop >/dev/null 2>&1
  ip netns del $MFS_NS 2>/dev/null || true
}

glusterfs_up() {
  install_pkgs glusterfs-server glusterfs-client
  netns_up $GL_NS $GL_IP
  local in="nsenter --net=/run/netns/$GL_NS" bricks="" i
  mkdir -p "$ROOT/mnt" "$ROOT/glusterd"
  # glusterd keeps its state in /var/lib/glusterd: this run's volume is
  # named after ROOT's inode so that it never meets another one.
  local vol
  vol="amlfsbench$(stat -c %i "$ROOT")"
  echo "$vol" >"$ROOT/volume"
  $in glusterd -p "$ROOT/glusterd.pid" --log-file="$ROOT/glusterd.log" || die "glusterd did not start"
  sleep 2
  for i in 1 2 3 4; do
    mkdir -p "$ROOT/b$i"
    bricks="$bricks $GL_IP:$ROOT/b$i"
  done
  # shellcheck disable=SC2086
  $in gluster --mode=script volume create "$vol" transport tcp $bricks force >/dev/null ||
    die "gluster volume create failed"
  $in gluster --mode=script volume start "$vol" >/dev/null || die "gluster volume start failed"
  sleep 2
  $in glusterfs --volfile-server=$GL_IP --volfile-id="$vol" "$ROOT/mnt" || die "glusterfs mount failed"
  wait_mount "$ROOT/mnt"
}

glusterfs_down() {
  unmount "$ROOT/mnt"
  local in="nsenter --net=/run/netns/$GL_NS" vol
  vol=$(cat "$ROOT/volume" 2>/dev/null || true)
  if [[ -n "$vol" ]] && [[ -e /run/netns/$GL_NS ]]; then
    $in gluster --mode=script volume stop "$vol" force >/dev/null 2>&1 || true
    $in gluster --mode=script volume delete "$vol" >/dev/null 2>&1 || true
  fi
  [[ -f "$ROOT/glusterd.pid" ]] && kill "$(cat "$ROOT/glusterd.pid")" 2>/dev/null || true
  ip netns del $GL_NS 2>/dev/null || true
}

passthrough_up() {
  install_pkgs libfuse3-dev gcc pkgconf
  local src=/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c
  [[ -f $src ]] || die "$src is missing (libfuse3-dev)"
  mkdir -p "$ROOT/data" "$ROOT/mnt"
  # shellcheck disable=SC2046  # pkg-config prints several words
  gcc -O2 -Wall -o "$ROOT/passthrough_ll" "$src" $(pkg-config --cflags --libs fuse3) ||
    die "cannot build passthrough_ll"
  "$ROOT/passthrough_ll" -o source="$ROOT/data",allow_other "$ROOT/mnt" || die "passthrough_ll failed"
  wait_mount "$ROOT/mnt"
}

passthrough_down() { unmount "$ROOT/mnt"; }

case "$ACTION:$KIND" in
  up:moosefs | up:glusterfs | up:passthrough)
    mkdir -p "$ROOT"
    "${KIND}_up"
    echo "$ROOT/mnt"
    ;;
  down:moosefs | down:glusterfs | down:passthrough)
    "${KIND}_down"
    rm -rf "$ROOT"
    ;;
  *) die "usage: $PROG up|down moosefs|glusterfs|passthrough ROOT" ;;
esac
