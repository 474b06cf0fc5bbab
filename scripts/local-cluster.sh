#!/usr/bin/env bash
# Runs a whole amlfs cluster on this machine: 1 MDS + N OSTs on 127.0.0.1, and
# one amlfs-fuse mount.
#
#   local-cluster.sh up     [--root DIR] [--osts N] [--mount DIR]
#                           [--stripe-count N] [--stripe-size S] [-- amlfs-fuse options]
#   local-cluster.sh down   [--root DIR] [--purge]
#   local-cluster.sh status [--root DIR]
#
# Everything lives under ROOT (default /var/tmp/amlfs):
#   cluster.env         addresses, ports and options of this cluster (reused by `up`)
#   mds/ ost0/ ost1/ …  the daemons' data directories
#   log/*.log           the daemons' and the client's output
#   run/*.pid           PIDs of what `up` started; `down` stops exactly these
#   mnt/                the default mount point
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
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
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
mount_healthy() {
  local dir=$1
  pid_alive "$RUN_DIR/fuse.pid" || return 1
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

# --- state ------------------------------------------------------------------
load_env() {
  ENV_FILE="$ROOT/cluster.env"
  LOG_DIR="$ROOT/log"
  RUN_DIR="$ROOT/run"
  if [[ -f "$ENV_FILE" ]]; then
    # shellcheck source=/dev/null
    source "$ENV_FILE"
  fi
}

save_env() {
  local tmp="$ENV_FILE.tmp.$$" i
  {
    echo "# Written by local-cluster.sh; sourced by it and by tests."
    printf 'CL_ROOT=%q\n' "$ROOT"
    printf 'CL_MDS_ADDR=%q\n' "${CL_MDS_ADDR:-}"
    printf 'CL_OSTS=%q\n' "$CL_OSTS"
    for ((i = 0; i < CL_OSTS; i++)); do
      local v="CL_OST_ADDR_$i"
      printf 'CL_OST_ADDR_%d=%q\n' "$i" "${!v:-}"
    done
    printf 'CL_MOUNT=%q\n' "$CL_MOUNT"
    printf 'CL_STRIPE_COUNT=%q\n' "${CL_STRIPE_COUNT:-}"
    printf 'CL_STRIPE_SIZE=%q\n' "${CL_STRIPE_SIZE:-}"
    printf 'CL_FUSE_ARGS=('
    if ((${#CL_FUSE_ARGS[@]} > 0)); then printf '%q ' "${CL_FUSE_ARGS[@]}"; fi
    printf ')\n'
  } >"$tmp"
  mv -f "$tmp" "$ENV_FILE"
}

# --- commands ---------------------------------------------------------------
cmd_up() {
  local mds_bin ost_bin fuse_bin i addr name ready
  mds_bin=$(find_bin amlfs-mds)
  ost_bin=$(find_bin amlfs-ost)
  fuse_bin=$(find_bin amlfs-fuse)
  mkdir -p "$ROOT" "$LOG_DIR" "$RUN_DIR" "$ROOT/mds"

  # Options given now win over the recorded ones.
  CL_OSTS=${OPT_OSTS:-${CL_OSTS:-4}}
  CL_MOUNT=${OPT_MOUNT:-${CL_MOUNT:-$ROOT/mnt}}
  CL_STRIPE_COUNT=${OPT_STRIPE_COUNT:-${CL_STRIPE_COUNT:-}}
  CL_STRIPE_SIZE=${OPT_STRIPE_SIZE:-${CL_STRIPE_SIZE:-}}
  if ((OPT_FUSE_ARGS_SET)); then CL_FUSE_ARGS=("${OPT_FUSE_ARGS[@]}"); fi
  if ! declare -p CL_FUSE_ARGS >/dev/null 2>&1; then CL_FUSE_ARGS=(); fi
  [[ "$CL_OSTS" =~ ^[0-9]+$ && "$CL_OSTS" -ge 1 ]] || die "--osts must be a positive number"
  # Canonical path, without touching the mount point itself (it may be stale).
  mkdir -p "$(dirname "$CL_MOUNT")"
  CL_MOUNT="$(cd "$(dirname "$CL_MOUNT")" && pwd -P)/$(basename "$CL_MOUNT")"
  is_mounted "$CL_MOUNT" || mkdir -p "$CL_MOUNT"
  save_env

  # MDS.
  if pid_alive "$RUN_DIR/mds.pid"; then
    [[ -n "${CL_MDS_ADDR:-}" ]] || die "MDS runs but its address is not recorded in $ENV_FILE"
  else
    local mds_args=(--data "$ROOT/mds" --listen "${CL_MDS_ADDR:-$HOST:0}"
      --ready-file "$RUN_DIR/mds.ready")
    [[ -n "$CL_STRIPE_COUNT" ]] && mds_args+=(--default-stripe-count "$CL_STRIPE_COUNT")
    [[ -n "$CL_STRIPE_SIZE" ]] && mds_args+=(--default-stripe-size "$CL_STRIPE_SIZE")
    start_daemon mds "$RUN_DIR/mds.ready" "$mds_bin" "${mds_args[@]}"
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
    start_daemon "$name" "$RUN_DIR/$name.ready" "$ost_bin" --data "$ROOT/$name" \
      --listen "${!v:-$HOST:0}" --mds "$CL_MDS_ADDR" --index "$i" \
      --ready-file "$RUN_DIR/$name.ready"
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

  # Mount.
  if is_mounted "$CL_MOUNT" && ! mount_healthy "$CL_MOUNT"; then
    note "$CL_MOUNT is a stale mount; cleaning it up"
    stop_pid "$RUN_DIR/fuse.pid" amlfs-fuse
    unmount_dir "$CL_MOUNT"
  fi
  if ! is_mounted "$CL_MOUNT"; then
    stop_pid "$RUN_DIR/fuse.pid" amlfs-fuse  # a client left without its mount
    start_daemon fuse "" "$fuse_bin" --mds "$CL_MDS_ADDR" -f "${CL_FUSE_ARGS[@]}" "$CL_MOUNT"
    for ((i = 0; i < READY_TIMEOUT_S * 10; i++)); do
      is_mounted "$CL_MOUNT" && break
      if ! pid_alive "$RUN_DIR/fuse.pid"; then
        echo "$PROG: amlfs-fuse exited; last lines of $LOG_DIR/fuse.log:" >&2
        tail -n 20 "$LOG_DIR/fuse.log" >&2 || true
        exit 1
      fi
      sleep 0.1
    done
    is_mounted "$CL_MOUNT" || die "amlfs-fuse did not mount $CL_MOUNT in ${READY_TIMEOUT_S}s"
    note "mounted $CL_MOUNT (amlfs-fuse pid $(<"$RUN_DIR/fuse.pid"))"
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
  if [[ -n "${CL_MOUNT:-}" ]]; then
    if is_mounted "$CL_MOUNT"; then
      unmount_dir "$CL_MOUNT"
      note "unmounted $CL_MOUNT"
    fi
  fi
  if [[ -d "$RUN_DIR" ]]; then
    stop_pid "$RUN_DIR/fuse.pid" amlfs-fuse
    # OSTs first (any index that has a PID file), then the MDS.
    local pidfile
    for pidfile in "$RUN_DIR"/ost*.pid; do
      [[ -e "$pidfile" ]] || continue
      stop_pid "$pidfile" "$(basename "$pidfile" .pid)"
    done
    stop_pid "$RUN_DIR/mds.pid" mds
    rm -f "$RUN_DIR"/*.ready "$RUN_DIR"/*.start
  fi
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
    printf '%-6s %-8s pid %-8s %-22s %s\n' "$1" "$state" "$pid" "${2:--}" "$3"
  }
  echo "cluster $ROOT"
  show mds "${CL_MDS_ADDR:-}" "$ROOT/mds"
  for ((i = 0; i < CL_OSTS; i++)); do
    v="CL_OST_ADDR_$i"
    show "ost$i" "${!v:-}" "$ROOT/ost$i"
  done
  if is_mounted "$CL_MOUNT"; then
    if mount_healthy "$CL_MOUNT"; then
      state=mounted
    else
      state="mounted (STALE)" all_up=0
    fi
  else
    state="not mounted" all_up=0
  fi
  pid=-
  pid_alive "$RUN_DIR/fuse.pid" && pid=$(<"$RUN_DIR/fuse.pid")
  printf '%-6s %-8s pid %-8s %-22s %s\n' fuse "$([[ $pid != - ]] && echo running || echo stopped)" \
    "$pid" "$CL_MOUNT" "$state"
  ((all_up))
}

# --- main -------------------------------------------------------------------
(($# >= 1)) || { usage >&2; exit 2; }
CMD=$1
shift
ROOT=/var/tmp/amlfs
OPT_OSTS="" OPT_MOUNT="" OPT_STRIPE_COUNT="" OPT_STRIPE_SIZE="" OPT_PURGE=0
OPT_FUSE_ARGS=() OPT_FUSE_ARGS_SET=0
while (($#)); do
  case $1 in
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    --osts) OPT_OSTS=${2:?--osts needs a number}; shift 2 ;;
    --mount) OPT_MOUNT=${2:?--mount needs a directory}; shift 2 ;;
    --stripe-count) OPT_STRIPE_COUNT=${2:?}; shift 2 ;;
    --stripe-size) OPT_STRIPE_SIZE=${2:?}; shift 2 ;;
    --purge) OPT_PURGE=1; shift ;;
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
case $CMD in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  -h|--help|help) usage ;;
  *) die "unknown command '$CMD' (up, down or status)" ;;
esac
