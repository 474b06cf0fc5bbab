#!/usr/bin/env bash
# Runs a whole amlfs cluster on this machine: 1 MDS + N OSTs on 127.0.0.1, and
# one amlfs-fuse mount.
#
#   local-cluster.sh up     [--root DIR] [--osts N] [--mount DIR] [--nodes K] [--mds N]
#                           [--stripe-count N] [--stripe-size S] [--lock-lease SECONDS]
#                           [--snapshot-entries N] [--sync-writes] [--tls] [--mds-option OPT]...
#                           [-- amlfs-fuse options]
#   local-cluster.sh add-mds --id I [--root DIR]
#   local-cluster.sh down   [--root DIR] [--purge]
#   local-cluster.sh status [--root DIR]
#
# --nodes K: several nodes on this one machine. The MDS, each OST and each
# of K client nodes get their own network namespace, joined by veth pairs to
# a bridge in one more namespace (the switch), with addresses in 10.77.0.0/24
# that exist only inside those namespaces: MDS .1, OST i .(10+i), node k
# .(100+k). Node k's amlfs-fuse is mounted at ROOT/node<k> (visible from the
# host) and reaches the servers over that network. `down` deletes the
# namespaces; nothing else on the host is touched.
#
# --mds N (1, 3 or 5): a replicated MDS of N replicas (mds1 … mdsN, Raft),
# each with its own data directory; the OSTs and clients are given them all.
# add-mds --id I: starts replica I of a running replicated MDS if it is not
# running: a new one (I > N, at most 9 with --nodes) gets an empty data
# directory ROOT/mdsI, its own namespace and address; a known one restarts
# on its data. It is given every recorded replica as --peers, its initial
# configuration until its log holds one: `amlfs mds add I=ADDRESS` then
# makes a new replica a member (and `amlfs mds remove` takes one out).
# --snapshot-entries N: the replicas snapshot and compact their log every N
# entries (amlfs-mds --snapshot-entries; N/10 are kept behind).
# --mds-option OPT (repeatable): one more amlfs-mds argument, e.g.
# --mds-option --root-squash=65534:65534; given to `up` again, the list
# replaces the recorded one for the MDSs it (re)starts.
# --sync-writes: a single MDS fsyncs each change before answering
# (amlfs-mds --sync-writes; a replicated MDS always syncs its log).
# --tls: every daemon and the mount encrypt their connections (--tls: TLS
# 1.3 keyed by the cluster key); the lfs tools learn it from the mount.
#
# Everything lives under ROOT (default /var/tmp/amlfs):
#   cluster.env         addresses, ports and options of this cluster (reused by `up`)
#   cluster.key         the cluster key (amlfs keygen, mode 0600): every daemon,
#                       mount and command of this cluster gets it as $AMLFS_KEY_FILE
#   mds/ ost0/ ost1/ …  the daemons' data directories
#   log/*.log           the daemons' and the client's output
#   run/*.pid           PIDs of what `up` started; `down` stops exactly these
#   mnt/                the default mount point (node0/ node1/ … with --nodes)
#
# The daemons listen on port 0 the first time (so the kernel picks free ports,
# race-free); the ports they got are recorded in cluster.env, and a daemon
# restarted by a later `up` comes back on its old data, address and port.
# Binaries come from $AMLFS_BIN if set, else from PATH, else from build/bin.
set -euo pipefail

PROG=local-cluster.sh
HOST=127.0.0.1
STOP_GRACE_S=${AMLFS_STOP_GRACE_S:-5}
READY_TIMEOUT_S=${AMLFS_READY_TIMEOUT_S:-30}

die() { echo "$PROG: $*" >&2; exit 1; }
note() { echo "$PROG: $*"; }

usage() {
  sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'
}

# --- binaries ---------------------------------------------------------------
find_bin() {  # find_bin NAME -> path
  local name=$1 script_dir
  if [[ -n "${AMLFS_BIN:-}" ]]; then
    [[ -x "$AMLFS_BIN/$name" ]] || die "$AMLFS_BIN/$name not found (AMLFS_BIN=$AMLFS_BIN)"
    echo "$AMLFS_BIN/$name"
    return
  fi
  if command -v "$name" >/dev/null 2>&1; then
    command -v "$name"
    return
  fi
  script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  if [[ -x "$script_dir/../build/bin/$name" ]]; then
    echo "$script_dir/../build/bin/$name"
    return
  fi
  die "$name not found: set AMLFS_BIN, put it on PATH, or build into build/"
}

# --- processes --------------------------------------------------------------
# start_time PID: the process's start time (clock ticks since boot), which
# tells a process from a later one that reused its PID.
start_time() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }  # fields after "(comm) "
  awk '{ print $20 }' <<<"$stat"
}

# pid_alive PIDFILE: true if the process recorded in PIDFILE (PID, and its
# start time in PIDFILE's .start twin) still runs and is not a zombie.
pid_alive() {
  local pidfile=$1 pid state
  [[ -s "$pidfile" ]] || return 1
  pid=$(<"$pidfile")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/stat" ]] || return 1
  if [[ -s "${pidfile%.pid}.start" ]]; then
    [[ "$(start_time "$pid")" == "$(<"${pidfile%.pid}.start")" ]] || return 1
  fi
  state=$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
  [[ -n "$state" && "$state" != Z ]]
}

# stop_pid PIDFILE NAME: TERM, then KILL after STOP_GRACE_S; removes PIDFILE.
stop_pid() {
  local pidfile=$1 name=$2 pid i
  if ! pid_alive "$pidfile"; then
    rm -f "$pidfile" "${pidfile%.pid}.start"
    return 0
  fi
  pid=$(<"$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_GRACE_S * 10; i++)); do
    pid_alive "$pidfile" || break
    sleep 0.1
  done
  if pid_alive "$pidfile"; then
    note "$name (pid $pid) did not stop on TERM; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      pid_alive "$pidfile" || break
      sleep 0.1
    done
  fi
  rm -f "$pidfile" "${pidfile%.pid}.start"
  note "stopped $name (pid $pid)"
}

# start_daemon NAME READYFILE CMD...: starts CMD detached, records its PID.
start_daemon() {
  local name=$1 ready=$2
  shift 2
  rm -f "$ready"
  # setsid: the daemon leaves our session, so it outlives this shell and a
  # terminal's signals. It does not fork here (we are not a group leader), so
  # $! is the daemon's own PID.
  setsid nohup "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
  start_time $! >"$RUN_DIR/$name.start" || true
}

# wait_ready NAME READYFILE: waits for the ready file; prints its HOST:PORT.
wait_ready() {
  local name=$1 ready=$2 i
  for ((i = 0; i < READY_TIMEOUT_S * 10; i++)); do
    # Complete once its line ends with a newline.
    if [[ -s "$ready" && -z "$(tail -c1 "$ready")" ]]; then
      head -n1 "$ready"
      return 0
    fi
    if ! pid_alive "$RUN_DIR/$name.pid"; then
      echo "$PROG: $name exited during start-up; last lines of $LOG_DIR/$name.log:" >&2
      tail -n 20 "$LOG_DIR/$name.log" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  echo "$PROG: $name not ready after ${READY_TIMEOUT_S}s; see $LOG_DIR/$name.log" >&2
  return 1
}

# --- mounts -----------------------------------------------------------------
# is_mounted DIR: DIR appears in the mount table (stale or not). Reads
# /proc/self/mountinfo so that it never touches DIR itself.
is_mounted() {
  local dir=$1
  awk -v d="$dir" '{ m = $5; gsub(/\\040/, " ", m); if (m == d) { found = 1 } } END { exit !found }' \
    /proc/self/mountinfo
}

# mount_healthy DIR: the mount answers stat (not "transport endpoint is not
# connected") and its client process is ours and alive.
mount_healthy() {  # mount_healthy DIR [NAME]
  local dir=$1
  pid_alive "$RUN_DIR/${2:-fuse}.pid" || return 1
  timeout 10 stat -f "$dir" >/dev/null 2>&1
}

unmount_dir() {  # unmount_dir DIR: normal unmount, lazy as the fallback.
  local dir=$1 i
  is_mounted "$dir" || return 0
  fusermount3 -u "$dir" 2>/dev/null || umount "$dir" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do
    is_mounted "$dir" || return 0
    sleep 0.1
  done
  fusermount3 -uz "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null || true
  is_mounted "$dir" && die "cannot unmount $dir"
  note "unmounted $dir (lazily)"
}

# --- network namespaces (--nodes) ---------------------------------------------
NET_PREFIX=10.77.0
# ns_name ROLE -> this cluster's namespace for ROLE (sw, mds, ost<i>, node<k>),
# unique per ROOT so that several clusters can coexist.
ns_name() { echo "amlfs-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)-$1"; }
ns_exists() { [[ -e "/run/netns/$1" ]]; }

# in_ns ROLE: the command prefix that runs a program in ROLE's namespace,
# keeping the host's mount namespace (so that mounts are visible here).
in_ns() {
  if ((CL_NODES > 0)); then echo nsenter "--net=/run/netns/$(ns_name "$1")"; fi
}

# host_of ROLE -> the address ROLE listens on
host_of() {
  if ((CL_NODES == 0)); then echo "$HOST"; return; fi
  case $1 in
    mds) echo "$NET_PREFIX.1" ;;
    mds*) echo "$NET_PREFIX.${1#mds}" ;;  # replica i of a replicated MDS
    ost*) echo "$NET_PREFIX.$((10 + ${1#ost}))" ;;
    node*) echo "$NET_PREFIX.$((100 + ${1#node}))" ;;
  esac
}

# net_member ROLE: ROLE's namespace, joined to the switch (idempotent).
net_member() {
  local role=$1 ns sw port
  ns=$(ns_name "$role") sw=$(ns_name sw)
  ns_exists "$ns" && return 0
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  port="p-$role"
  # Made inside the switch namespace, with its peer sent straight into the
  # member's: no interface ever appears in the host's namespace.
  ip -n "$sw" link add "$port" type veth peer name eth0 netns "$ns"
  ip -n "$sw" link set "$port" master br0 up
  ip -n "$ns" addr add "$(host_of "$role")/24" dev eth0
  ip -n "$ns" link set eth0 up
}

net_up() {
  local sw i
  command -v ip >/dev/null && command -v nsenter >/dev/null || die "--nodes needs ip (iproute2) and nsenter"
  sw=$(ns_name sw)
  if ! ns_exists "$sw"; then
    ip netns add "$sw"
    ip -n "$sw" link set lo up
    ip -n "$sw" link add br0 type bridge
    ip -n "$sw" link set br0 up
  fi
  if ((CL_MDS > 1)); then
    for ((i = 1; i <= CL_MDS; i++)); do net_member "mds$i"; done
  else
    net_member mds
  fi
  for ((i = 0; i < CL_OSTS; i++)); do net_member "ost$i"; done
  for ((i = 0; i < CL_NODES; i++)); do net_member "node$i"; done
}

net_down() {
  local n
  ((${CL_NODES:-0} > 0)) || return 0
  for n in /run/netns/"$(ns_name '')"*; do
    [[ -e "$n" ]] || continue
    ip netns del "$(basename "$n")" 2>/dev/null || true
  done
  note "removed the network namespaces"
}

# --- state ------------------------------------------------------------------
load_env() {
  ENV_FILE="$ROOT/cluster.env"
  LOG_DIR="$ROOT/log"
  RUN_DIR="$ROOT/run"
  if [[ -f "$ENV_FILE" ]]; then
    # shellcheck source=/dev/null
    source "$ENV_FILE"
  fi
  # The daemons, mounts and commands started from here use this cluster's key.
  if [[ -n "${CL_KEY_FILE:-}" ]]; then export AMLFS_KEY_FILE=$CL_KEY_FILE; fi
  if ! declare -p CL_MDS_OPTIONS >/dev/null 2>&1; then CL_MDS_OPTIONS=(); fi
}

# make_key: the cluster's key file, made on the first `up`.
make_key() {
  CL_KEY_FILE=${CL_KEY_FILE:-$ROOT/cluster.key}
  if [[ ! -s "$CL_KEY_FILE" ]]; then
    local tmp="$CL_KEY_FILE.tmp.$$"
    (umask 077 && "$(find_bin amlfs)" keygen >"$tmp") || die "amlfs keygen failed"
    mv "$tmp" "$CL_KEY_FILE"
  fi
  export AMLFS_KEY_FILE=$CL_KEY_FILE
}

save_env() {
  local tmp="$ENV_FILE.tmp.$$" i
  {
    echo "# Written by local-cluster.sh; sourced by it and by tests."
    printf 'CL_ROOT=%q\n' "$ROOT"
    printf 'CL_MDS_ADDR=%q\n' "${CL_MDS_ADDR:-}"
    printf 'CL_MDS=%q\n' "$CL_MDS"
    for ((i = 1; i <= CL_MDS && CL_MDS > 1; i++)); do
      local m="CL_MDS_ADDR_$i"
      printf 'CL_MDS_ADDR_%d=%q\n' "$i" "${!m:-}"
    done
    printf 'CL_MDS_EXTRA=%q\n' "${CL_MDS_EXTRA:-}"  # replicas started by add-mds
    for i in ${CL_MDS_EXTRA:-}; do
      local x="CL_MDS_ADDR_$i"
      printf 'CL_MDS_ADDR_%d=%q\n' "$i" "${!x:-}"
    done
    printf 'CL_OSTS=%q\n' "$CL_OSTS"
    for ((i = 0; i < CL_OSTS; i++)); do
      local v="CL_OST_ADDR_$i"
      printf 'CL_OST_ADDR_%d=%q\n' "$i" "${!v:-}"
    done
    printf 'CL_MOUNT=%q\n' "$CL_MOUNT"
    printf 'CL_NODES=%q\n' "$CL_NODES"
    ((CL_NODES == 0)) || printf 'CL_NETNS_PREFIX=%q\n' "$(ns_name '')"  # + sw, mds, ost<i>, node<k>
    for ((i = 0; i < CL_NODES; i++)); do printf 'CL_NODE_MOUNT_%d=%q\n' "$i" "$ROOT/node$i"; done
    printf 'CL_STRIPE_COUNT=%q\n' "${CL_STRIPE_COUNT:-}"
    printf 'CL_STRIPE_SIZE=%q\n' "${CL_STRIPE_SIZE:-}"
    printf 'CL_LOCK_LEASE=%q\n' "${CL_LOCK_LEASE:-}"
    printf 'CL_SNAPSHOT_ENTRIES=%q\n' "${CL_SNAPSHOT_ENTRIES:-}"
    printf 'CL_SYNC_WRITES=%q\n' "${CL_SYNC_WRITES:-}"
    printf 'CL_TLS=%q\n' "${CL_TLS:-}"
    printf 'CL_KEY_FILE=%q\n' "${CL_KEY_FILE:-}"
    printf 'CL_FUSE_ARGS=('
    if ((${#CL_FUSE_ARGS[@]} > 0)); then printf '%q ' "${CL_FUSE_ARGS[@]}"; fi
    printf ')\n'
    printf 'CL_MDS_OPTIONS=('
    if ((${#CL_MDS_OPTIONS[@]} > 0)); then printf '%q ' "${CL_MDS_OPTIONS[@]}"; fi
    printf ')\n'
  } >"$tmp"
  mv -f "$tmp" "$ENV_FILE"
}

# --- commands ---------------------------------------------------------------
# mount_client NAME DIR ROLE: mounts DIR with an amlfs-fuse recorded as NAME,
# in ROLE's network namespace (none: ROLE empty), unless it is mounted and
# healthy already.
mount_client() {
  local name=$1 dir=$2 role=$3 i fuse_bin
  fuse_bin=$(find_bin amlfs-fuse)
  if is_mounted "$dir" && ! mount_healthy "$dir" "$name"; then
    note "$dir is a stale mount; cleaning it up"
    stop_pid "$RUN_DIR/$name.pid" amlfs-fuse
    unmount_dir "$dir"
  fi
  if ! is_mounted "$dir"; then
    stop_pid "$RUN_DIR/$name.pid" amlfs-fuse  # a client left without its mount
    # shellcheck disable=SC2046
    start_daemon "$name" "" $(in_ns "$role") "$fuse_bin" --mds "$CL_MDS_ADDR" --key-file "$CL_KEY_FILE" \
      $(tls_flag) -o "metrics_listen=$(host_of "$role"):0" -f "${CL_FUSE_ARGS[@]}" "$dir"
    for ((i = 0; i < READY_TIMEOUT_S * 10; i++)); do
      is_mounted "$dir" && break
      if ! pid_alive "$RUN_DIR/$name.pid"; then
        echo "$PROG: amlfs-fuse exited; last lines of $LOG_DIR/$name.log:" >&2
        tail -n 20 "$LOG_DIR/$name.log" >&2 || true
        exit 1
      fi
      sleep 0.1
    done
    is_mounted "$dir" || die "amlfs-fuse did not mount $dir in ${READY_TIMEOUT_S}s"
    note "mounted $dir (amlfs-fuse pid $(<"$RUN_DIR/$name.pid"))"
  fi
}

# start_mds_replicas MDS_BIN MDS_OPTIONS...: the replicas of a replicated
# MDS. Each must know every address before it starts, so the ports are
# chosen first (fixed: 9400 in its own namespace; else a free one) and kept.
start_mds_replicas() {
  local bin=$1 i v peers="" addrs=()
  shift
  for ((i = 1; i <= CL_MDS; i++)); do
    v="CL_MDS_ADDR_$i"
    if [[ -z "${!v:-}" ]]; then
      if ((CL_NODES > 0)); then
        printf -v "$v" '%s' "$(host_of "mds$i"):9400"
      else
        printf -v "$v" '%s' "$HOST:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
      fi
    fi
    addrs+=("${!v}")
    peers+="${peers:+,}$i=${!v}"
  done
  CL_MDS_ADDR=$(IFS=,; echo "${addrs[*]}")
  save_env
  for ((i = 1; i <= CL_MDS; i++)); do
    pid_alive "$RUN_DIR/mds$i.pid" && continue
    mkdir -p "$ROOT/mds$i"
    # shellcheck disable=SC2046
    start_daemon "mds$i" "$RUN_DIR/mds$i.ready" $(in_ns "mds$i") "$bin" "$@" --data "$ROOT/mds$i" \
      --listen "${addrs[i - 1]}" --id "$i" --peers "$peers" --ready-file "$RUN_DIR/mds$i.ready" \
      --metrics-listen "${addrs[i - 1]%:*}:0"
    wait_ready "mds$i" "$RUN_DIR/mds$i.ready" >/dev/null || die "mds$i did not start"
    note "MDS$i pid $(<"$RUN_DIR/mds$i.pid") at ${addrs[i - 1]} (data $ROOT/mds$i)"
  done
}

# tls_flag: --tls when the cluster uses TLS.
tls_flag() { [[ -z "${CL_TLS:-}" ]] || echo --tls; }

# mds_options: the recorded MDS options, into the caller's mds_args.
mds_options() {
  # Given explicitly, so that no key_file of a config file in /etc wins.
  mds_args+=(--key-file "$CL_KEY_FILE")
  [[ -n "${CL_TLS:-}" ]] && mds_args+=(--tls)
  if ((${#CL_MDS_OPTIONS[@]} > 0)); then mds_args+=("${CL_MDS_OPTIONS[@]}"); fi
  [[ -n "${CL_STRIPE_COUNT:-}" ]] && mds_args+=(--default-stripe-count "$CL_STRIPE_COUNT")
  [[ -n "${CL_STRIPE_SIZE:-}" ]] && mds_args+=(--default-stripe-size "$CL_STRIPE_SIZE")
  [[ -n "${CL_LOCK_LEASE:-}" ]] && mds_args+=(--lock-lease "$CL_LOCK_LEASE")
  if [[ -n "${CL_SYNC_WRITES:-}" ]]; then
    ((CL_MDS <= 1)) || die "--sync-writes is for a single MDS (a replicated one always syncs its log)"
    mds_args+=(--sync-writes)
  fi
  if [[ -n "${CL_SNAPSHOT_ENTRIES:-}" ]]; then
    [[ "$CL_SNAPSHOT_ENTRIES" =~ ^[0-9]+$ ]] || die "--snapshot-entries needs a number"
    ((CL_MDS > 1)) || die "--snapshot-entries needs a replicated MDS (--mds 3 or 5)"
    mds_args+=(--snapshot-entries "$CL_SNAPSHOT_ENTRIES" --snapshot-keep $((CL_SNAPSHOT_ENTRIES / 10)))
  fi
  return 0
}

cmd_add_mds() {
  local bin id=$OPT_ID i v a peers="" mds_args=()
  [[ "$id" =~ ^[1-9][0-9]*$ ]] && ((id <= 255)) || die "add-mds needs --id from 1 to 255"
  [[ -f "$ENV_FILE" ]] && ((CL_MDS > 1)) || die "add-mds needs a running replicated MDS (up --mds 3 or 5)"
  ((CL_NODES == 0 || id <= 9)) || die "with --nodes, replica IDs run up to 9"
  bin=$(find_bin amlfs-mds)
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  pid_alive "$RUN_DIR/mds$id.pid" && die "mds$id runs already"
  if ((id > CL_MDS)) && [[ " ${CL_MDS_EXTRA:-} " != *" $id "* ]]; then
    CL_MDS_EXTRA="${CL_MDS_EXTRA:+$CL_MDS_EXTRA }$id"
  fi
  v="CL_MDS_ADDR_$id"
  if [[ -z "${!v:-}" ]]; then
    if ((CL_NODES > 0)); then
      printf -v "$v" '%s' "$(host_of "mds$id"):9400"
    else
      printf -v "$v" '%s' "$HOST:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    fi
  fi
  ((CL_NODES == 0)) || net_member "mds$id"
  save_env
  for ((i = 1; i <= CL_MDS; i++)); do
    a="CL_MDS_ADDR_$i"
    peers+="${peers:+,}$i=${!a}"
  done
  for i in ${CL_MDS_EXTRA:-}; do
    a="CL_MDS_ADDR_$i"
    peers+="${peers:+,}$i=${!a}"
  done
  mds_options
  mkdir -p "$ROOT/mds$id"
  # shellcheck disable=SC2046
  start_daemon "mds$id" "$RUN_DIR/mds$id.ready" $(in_ns "mds$id") "$bin" "${mds_args[@]}" \
    --data "$ROOT/mds$id" --listen "${!v}" --id "$id" --peers "$peers" \
    --ready-file "$RUN_DIR/mds$id.ready" --metrics-listen "${!v%:*}:0"
  wait_ready "mds$id" "$RUN_DIR/mds$id.ready" >/dev/null || die "mds$id did not start"
  note "MDS$id pid $(<"$RUN_DIR/mds$id.pid") at ${!v} (data $ROOT/mds$id)"
}

cmd_up() {
  local mds_bin ost_bin fuse_bin i addr name ready
  mds_bin=$(find_bin amlfs-mds)
  ost_bin=$(find_bin amlfs-ost)
  fuse_bin=$(find_bin amlfs-fuse)
  mkdir -p "$ROOT" "$LOG_DIR" "$RUN_DIR"

  # Options given now win over the recorded ones.
  CL_OSTS=${OPT_OSTS:-${CL_OSTS:-4}}
  CL_NODES=${OPT_NODES:-${CL_NODES:-0}}
  CL_MDS=${OPT_MDS:-${CL_MDS:-1}}
  [[ "$CL_MDS" =~ ^[135]$ ]] || die "--mds must be 1, 3 or 5"
  [[ "$CL_NODES" =~ ^[0-9]+$ && "$CL_NODES" -le 100 ]] || die "--nodes must be a number from 1 to 100"
  if ((CL_NODES > 0)); then
    [[ -z "$OPT_MOUNT" ]] || die "--mount does not go with --nodes (node k mounts at ROOT/node<k>)"
    CL_MOUNT=$ROOT/node0
  fi
  CL_MOUNT=${OPT_MOUNT:-${CL_MOUNT:-$ROOT/mnt}}
  CL_STRIPE_COUNT=${OPT_STRIPE_COUNT:-${CL_STRIPE_COUNT:-}}
  CL_STRIPE_SIZE=${OPT_STRIPE_SIZE:-${CL_STRIPE_SIZE:-}}
  CL_LOCK_LEASE=${OPT_LOCK_LEASE:-${CL_LOCK_LEASE:-}}
  CL_SNAPSHOT_ENTRIES=${OPT_SNAPSHOT_ENTRIES:-${CL_SNAPSHOT_ENTRIES:-}}
  CL_SYNC_WRITES=${OPT_SYNC_WRITES:-${CL_SYNC_WRITES:-}}
  CL_TLS=${OPT_TLS:-${CL_TLS:-}}
  if ((OPT_FUSE_ARGS_SET)); then CL_FUSE_ARGS=("${OPT_FUSE_ARGS[@]}"); fi
  if ((OPT_MDS_OPTIONS_SET)); then CL_MDS_OPTIONS=("${OPT_MDS_OPTIONS[@]}"); fi
  if ! declare -p CL_MDS_OPTIONS >/dev/null 2>&1; then CL_MDS_OPTIONS=(); fi
  if ! declare -p CL_FUSE_ARGS >/dev/null 2>&1; then CL_FUSE_ARGS=(); fi
  [[ "$CL_OSTS" =~ ^[0-9]+$ && "$CL_OSTS" -ge 1 ]] || die "--osts must be a positive number"
  # Canonical path, without touching the mount point itself (it may be stale).
  mkdir -p "$(dirname "$CL_MOUNT")"
  CL_MOUNT="$(cd "$(dirname "$CL_MOUNT")" && pwd -P)/$(basename "$CL_MOUNT")"
  is_mounted "$CL_MOUNT" || mkdir -p "$CL_MOUNT"
  make_key
  save_env
  ((CL_NODES == 0)) || net_up

  # MDS.
  local mds_args=()
  mds_options
  if ((CL_MDS > 1)); then
    start_mds_replicas "$mds_bin" "${mds_args[@]}"
  elif pid_alive "$RUN_DIR/mds.pid"; then
    [[ -n "${CL_MDS_ADDR:-}" ]] || die "MDS runs but its address is not recorded in $ENV_FILE"
  else
    mds_args+=(--data "$ROOT/mds" --listen "${CL_MDS_ADDR:-$(host_of mds):0}"
      --ready-file "$RUN_DIR/mds.ready" --metrics-listen "$(host_of mds):0")
    # shellcheck disable=SC2046
    start_daemon mds "$RUN_DIR/mds.ready" $(in_ns mds) "$mds_bin" "${mds_args[@]}"
    addr=$(wait_ready mds "$RUN_DIR/mds.ready") || die "the MDS did not start"
    [[ "$addr" =~ ^[^:]+:[1-9][0-9]*$ ]] || die "the MDS wrote a bad ready file: '$addr'"
    CL_MDS_ADDR=$addr
    save_env
    note "MDS  pid $(<"$RUN_DIR/mds.pid") at $CL_MDS_ADDR (data $ROOT/mds)"
  fi

  # OSTs: start all the missing ones, then wait for them together.
  local started=()
  for ((i = 0; i < CL_OSTS; i++)); do
    name=ost$i
    pid_alive "$RUN_DIR/$name.pid" && continue
    local v="CL_OST_ADDR_$i"
    mkdir -p "$ROOT/$name"
    # shellcheck disable=SC2046
    start_daemon "$name" "$RUN_DIR/$name.ready" $(in_ns "$name") "$ost_bin" --data "$ROOT/$name" \
      --listen "${!v:-$(host_of "$name"):0}" --mds "$CL_MDS_ADDR" --index "$i" --key-file "$CL_KEY_FILE" \
      $(tls_flag) --ready-file "$RUN_DIR/$name.ready" --metrics-listen "$(host_of "$name"):0"
    started+=("$i")
  done
  for i in "${started[@]}"; do
    name=ost$i
    addr=$(wait_ready "$name" "$RUN_DIR/$name.ready") || die "$name did not start"
    [[ "$addr" =~ ^[^:]+:[1-9][0-9]*$ ]] || die "$name wrote a bad ready file: '$addr'"
    printf -v "CL_OST_ADDR_$i" '%s' "$addr"
    note "OST$i pid $(<"$RUN_DIR/$name.pid") at $addr (data $ROOT/$name)"
  done
  save_env

  # Mounts: one, or one per node.
  if ((CL_NODES == 0)); then
    mount_client fuse "$CL_MOUNT" ""
  else
    for ((i = 0; i < CL_NODES; i++)); do
      mkdir -p "$ROOT/node$i"
      mount_client "fuse$i" "$ROOT/node$i" "node$i"
    done
  fi

  wait_osts_registered
}

# Waits (a few seconds at most) until the mount's statfs covers every OST:
# the OSTs share this machine's disks, so the cluster's capacity must reach
# the sum of their data directories' file systems.
wait_osts_registered() {
  local want=0 have i
  for ((i = 0; i < CL_OSTS; i++)); do
    want=$((want + $(stat -f -c '%b*%S' "$ROOT/ost$i")))
  done
  want=$((want * 9 / 10))
  for ((i = 0; i < 100; i++)); do
    have=$(timeout 10 stat -f -c '%b*%S' "$CL_MOUNT" 2>/dev/null || echo 0)
    have=$((have))
    ((have >= want)) && return 0
    sleep 0.1
  done
  note "warning: the mount reports $((have >> 20)) MiB, expected about $((want * 10 / 9 >> 20)) MiB from $CL_OSTS OSTs"
}

cmd_down() {
  local i
  local mounts=() d
  [[ -n "${CL_MOUNT:-}" ]] && mounts+=("$CL_MOUNT")
  for ((i = 0; i < ${CL_NODES:-0}; i++)); do mounts+=("$ROOT/node$i"); done
  for d in "${mounts[@]}"; do
    if is_mounted "$d"; then
      unmount_dir "$d"
      note "unmounted $d"
    fi
  done
  if [[ -d "$RUN_DIR" ]]; then
    local pidfile
    for pidfile in "$RUN_DIR"/fuse*.pid; do
      [[ -e "$pidfile" ]] || continue
      stop_pid "$pidfile" "amlfs-fuse ($(basename "$pidfile" .pid))"
    done
    # OSTs first (any index that has a PID file), then the MDS.
    for pidfile in "$RUN_DIR"/ost*.pid; do
      [[ -e "$pidfile" ]] || continue
      stop_pid "$pidfile" "$(basename "$pidfile" .pid)"
    done
    for pidfile in "$RUN_DIR"/mds*.pid; do
      [[ -e "$pidfile" ]] || continue
      stop_pid "$pidfile" "$(basename "$pidfile" .pid)"
    done
    rm -f "$RUN_DIR"/*.ready "$RUN_DIR"/*.start
  fi
  net_down
  if ((OPT_PURGE)); then
    [[ -f "$ROOT/cluster.env" ]] || die "$ROOT has no cluster.env; not purging it"
    rm -rf "$ROOT"
    note "removed $ROOT"
  fi
}

cmd_status() {
  local i name v state pid
  if [[ ! -f "$ENV_FILE" ]]; then
    echo "no cluster under $ROOT"
    return 1
  fi
  local all_up=1
  show() {  # show NAME ADDR DATA
    if pid_alive "$RUN_DIR/$1.pid"; then
      state=running pid=$(<"$RUN_DIR/$1.pid")
    else
      state=stopped pid=- all_up=0
    fi
    local metrics=""
    [[ -f "$RUN_DIR/$1.ready" ]] && metrics=$(sed -n 's/^metrics //p' "$RUN_DIR/$1.ready")
    printf '%-6s %-8s pid %-8s %-22s %s%s\n' "$1" "$state" "$pid" "${2:--}" "$3" \
      "${metrics:+  metrics http://$metrics/metrics}"
  }
  echo "cluster $ROOT"
  if ((${CL_MDS:-1} > 1)); then
    for ((i = 1; i <= CL_MDS; i++)); do
      v="CL_MDS_ADDR_$i"
      show "mds$i" "${!v:-}" "$ROOT/mds$i"
    done
  else
    show mds "${CL_MDS_ADDR:-}" "$ROOT/mds"
  fi
  for ((i = 0; i < CL_OSTS; i++)); do
    v="CL_OST_ADDR_$i"
    show "ost$i" "${!v:-}" "$ROOT/ost$i"
  done
  show_mount() {  # show_mount NAME DIR
    if is_mounted "$2"; then
      if mount_healthy "$2" "$1"; then
        state=mounted
      else
        state="mounted (STALE)" all_up=0
      fi
    else
      state="not mounted" all_up=0
    fi
    pid=-
    pid_alive "$RUN_DIR/$1.pid" && pid=$(<"$RUN_DIR/$1.pid")
    printf '%-6s %-8s pid %-8s %-22s %s\n' "$1" "$([[ $pid != - ]] && echo running || echo stopped)" \
      "$pid" "$2" "$state"
  }
  if ((CL_NODES == 0)); then
    show_mount fuse "$CL_MOUNT"
  else
    for ((i = 0; i < CL_NODES; i++)); do show_mount "fuse$i" "$ROOT/node$i"; done
  fi
  ((all_up))
}

# --- main -------------------------------------------------------------------
(($# >= 1)) || { usage >&2; exit 2; }
CMD=$1
shift
case $CMD in -h | --help | help) usage; exit 0 ;; esac
ROOT=/var/tmp/amlfs
OPT_OSTS="" OPT_NODES="" OPT_MDS="" OPT_LOCK_LEASE="" OPT_SNAPSHOT_ENTRIES="" OPT_SYNC_WRITES="" OPT_TLS="" OPT_MOUNT="" OPT_STRIPE_COUNT="" OPT_STRIPE_SIZE="" OPT_PURGE=0
OPT_FUSE_ARGS=() OPT_FUSE_ARGS_SET=0 OPT_ID="" OPT_MDS_OPTIONS=() OPT_MDS_OPTIONS_SET=0
while (($#)); do
  case $1 in
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    --osts) OPT_OSTS=${2:?--osts needs a number}; shift 2 ;;
    --nodes) OPT_NODES=${2:?--nodes needs a number}; shift 2 ;;
    --mds) OPT_MDS=${2:?--mds needs a number}; shift 2 ;;
    --lock-lease) OPT_LOCK_LEASE=${2:?--lock-lease needs seconds}; shift 2 ;;
    --snapshot-entries) OPT_SNAPSHOT_ENTRIES=${2:?--snapshot-entries needs a number}; shift 2 ;;
    --mount) OPT_MOUNT=${2:?--mount needs a directory}; shift 2 ;;
    --stripe-count) OPT_STRIPE_COUNT=${2:?}; shift 2 ;;
    --stripe-size) OPT_STRIPE_SIZE=${2:?}; shift 2 ;;
    --sync-writes) OPT_SYNC_WRITES=1; shift ;;
    --tls) OPT_TLS=1; shift ;;
    --mds-option) OPT_MDS_OPTIONS+=("${2:?--mds-option needs an amlfs-mds argument}"); OPT_MDS_OPTIONS_SET=1; shift 2 ;;
    --purge) OPT_PURGE=1; shift ;;
    --id) OPT_ID=${2:?--id needs a number}; shift 2 ;;
    --) shift; OPT_FUSE_ARGS=("$@"); OPT_FUSE_ARGS_SET=1; break ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
if [[ $CMD == up ]]; then mkdir -p "$ROOT"; fi
if [[ ! -d "$ROOT" ]]; then
  [[ $CMD == status ]] && { echo "no cluster under $ROOT"; exit 1; }
  [[ $CMD == down ]] && { note "no cluster under $ROOT"; exit 0; }
fi
ROOT=$(cd "$ROOT" && pwd -P)
load_env
CL_NODES=${CL_NODES:-0}
CL_MDS=${CL_MDS:-1}
case $CMD in
  up) cmd_up ;;
  add-mds) cmd_add_mds ;;
  down) cmd_down ;;
  status) cmd_status ;;
  -h|--help|help) usage ;;
  *) die "unknown command '$CMD' (up, add-mds, down or status)" ;;
esac
