# Helpers shared by the mount tests (sourced, not run).
#
# A test sources this file, then calls start_cluster, which makes a private
# cluster (MDS + OSTs on 127.0.0.1, free ports, a mktemp root) mounted at
# $MNT. `cleanup` runs on EXIT — also after a failure or a watchdog timeout —
# and unmounts every mount, stops every process the test started (by PID)
# and removes the temp root, so a failed test leaves nothing behind.
#
# Environment: AMLFS_BIN (directory of the built binaries, required),
# AMLFS_SRC (repo root; defaults to this file's ../..), AMLFS_KEEP_ROOT=1
# keeps the temp root for inspection, AMLFS_TEST_LIMIT_S overrides the
# watchdog (seconds).
# shellcheck shell=bash disable=SC2034

set -euo pipefail

TEST_NAME=$(basename "$0" .sh)
AMLFS_SRC=${AMLFS_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CLUSTER="$AMLFS_SRC/scripts/local-cluster.sh"
: "${AMLFS_BIN:?AMLFS_BIN must name the directory of the built binaries}"
export AMLFS_BIN
AMLFS_BIN=$(cd "$AMLFS_BIN" && pwd)

# With a sanitized build (scripts/test.sh exports AMLFS_SANITIZER_DIR),
# every process the test starts writes its sanitizer reports under
# AMLFS_SANITIZER_DIR/TEST_NAME, and cleanup fails the test if one exists.
SANITIZER_REPORTS=""
if [[ -n "${AMLFS_SANITIZER_DIR:-}" ]]; then
  SANITIZER_REPORTS=$AMLFS_SANITIZER_DIR/$TEST_NAME
  rm -rf "$SANITIZER_REPORTS"
  mkdir -p "$SANITIZER_REPORTS"
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SANITIZER_REPORTS/asan"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$SANITIZER_REPORTS/ubsan"
fi

ROOT=""         # the test's temp root (cluster data, logs, mounts)
MNT=""          # the cluster's mount point
MDS_ADDR=""     # HOST:PORT of the MDS
EXTRA_MOUNTS=() # mount points to unmount in cleanup
EXTRA_PIDS=()   # PIDs to stop in cleanup
CLEANUPS=()     # extra shell commands run first in cleanup
FAILED=0

log() { echo "[$TEST_NAME] $*"; }
check() { echo "[$TEST_NAME] CHECK: $*"; }

fail() {
  echo "[$TEST_NAME] FAIL: $*" >&2
  FAILED=1
  exit 1
}

# cannot_run WHY: the test cannot run here. That is a failure, never a
# skip: a suite that could not run its mount tests must not pass.
cannot_run() {
  fail "cannot run: $*"
}

# --- assertions -------------------------------------------------------------
assert_eq() {  # assert_eq EXPECTED ACTUAL WHAT
  [[ "$1" == "$2" ]] || fail "$3: expected '$1', got '$2'"
}

assert_file_eq() {  # assert_file_eq LOCAL_FILE FILE_ON_MOUNT
  cmp -s "$1" "$2" || fail "$2 differs from $1 ($(cmp "$1" "$2" 2>&1 | head -n1))"
}

# retry SECONDS CMD...: runs CMD until it succeeds or SECONDS pass.
retry() {
  local limit=$1 end
  shift
  end=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < end)) || return 1
    sleep 0.2
  done
}

# expect_fail_with TEXT CMD...: CMD fails and its stderr contains TEXT.
expect_fail_with() {
  local text=$1 err rc=0
  shift
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  ((rc != 0)) || fail "'$*' succeeded; expected failure with '$text'"
  [[ "$err" == *"$text"* ]] || fail "'$*' failed without '$text' in: $err"
}

# drop_caches: writes back and drops this machine's page cache, the pages
# of every FUSE mount included, so that the next read of a file on a mount
# asks the OSTs. Fails the test when the kernel refuses.
drop_caches() {
  sync
  echo 3 2>/dev/null >/proc/sys/vm/drop_caches ||
    fail "cannot drop the page cache (/proc/sys/vm/drop_caches): reads meant to be cold would come from memory"
}

# ost_read_bytes: bytes the cluster's OSTs have read for clients so far,
# summed from each OST's amlfs_ost_read_bytes_total.
ost_read_bytes() {
  local i addr v sum=0
  for ((i = 0; i < CL_OSTS; i++)); do
    addr=$(sed -n 's/^metrics //p' "$ROOT/run/ost$i.ready")
    v=$(curl -sf -m 10 "http://$addr/metrics" |
      awk '$1 ~ /^amlfs_ost_read_bytes_total([{]|$)/ { s += $2 } END { printf "%.0f", s }') ||
      fail "cannot read the metrics of ost$i at $addr"
    sum=$((sum + v))
  done
  echo "$sum"
}

# from_osts BYTES CMD...: runs CMD after dropping every cache, and fails
# unless the OSTs served at least BYTES meanwhile: CMD's reads came from
# the OSTs, not from a cache.
from_osts() {
  local want=$1 before after
  shift
  drop_caches
  before=$(ost_read_bytes)
  "$@"
  after=$(ost_read_bytes)
  ((after - before >= want)) ||
    fail "'$*' read $((after - before)) bytes from the OSTs, expected at least $want: it read from a cache"
}

# sum of the apparent sizes of object files (checksum sidecars excluded) under
# the OST data dir DIR (objects live in DIR/objects/XX/)
object_bytes() {
  find "$1" -path '*/objects/*' -type f ! -name '*.sum' -printf '%s\n' 2>/dev/null |
    awk '{ s += $1 } END { print s + 0 }'
}

# object files (sidecars included) under the OST data dirs of this cluster
list_objects() {
  local i
  for ((i = 0; i < CL_OSTS; i++)); do
    find "$ROOT/ost$i" -path '*/objects/*' -type f 2>/dev/null || true
  done | sort
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- cluster ----------------------------------------------------------------
# start_cluster [local-cluster.sh up options...]
start_cluster() {
  [[ $EUID -eq 0 ]] || cannot_run "mount tests run as root"
  [[ -c /dev/fuse ]] || cannot_run "no /dev/fuse"
  ROOT=$(mktemp -d "${TMPDIR:-/tmp}/amlfs-$TEST_NAME.XXXXXX")
  chmod 755 "$ROOT"
  log "cluster root $ROOT"
  bash "$CLUSTER" up --root "$ROOT" "$@" || fail "local-cluster.sh up failed"
  load_cluster_env
}

load_cluster_env() {
  # shellcheck source=/dev/null
  source "$ROOT/cluster.env"
  # What the test runs against the cluster (amlfs, lfs, daemons) proves the key.
  export AMLFS_KEY_FILE=$CL_KEY_FILE
  MNT=$CL_MOUNT
  MDS_ADDR=$CL_MDS_ADDR
}

cluster() { bash "$CLUSTER" "$1" --root "$ROOT" "${@:2}"; }

pid_of() { cat "$ROOT/run/$1.pid"; }  # pid_of mds|ost0|…|fuse

kill9() {  # kill9 mds|ostN: kill -9 and wait until it is gone
  local pid
  pid=$(pid_of "$1")
  kill -9 "$pid"
  retry 10 bash -c "! kill -0 $pid 2>/dev/null" || fail "$1 (pid $pid) survived kill -9"
}

# PIDs of amlfs-fuse processes (argv[0] amlfs-fuse or mount.fuse.amlfs) whose
# command line names DIR: clients that daemonized themselves, so we never
# learned their PID.
fuse_pids_for() {
  local dir=$1 p
  for p in /proc/[0-9]*; do
    [[ -r $p/cmdline ]] || continue
    if tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qx -- "$dir" &&
      tr '\0' '\n' <"$p/cmdline" 2>/dev/null | head -n1 | grep -q 'amlfs'; then
      echo "${p#/proc/}"
    fi
  done
}

is_mounted() {
  awk -v d="$1" '{ if ($5 == d) f = 1 } END { exit !f }' /proc/self/mountinfo
}

unmount_extra() {  # unmount_extra DIR: unmount, lazily if need be, stop its client
  local dir=$1 pid
  if is_mounted "$dir"; then
    fusermount3 -u "$dir" 2>/dev/null || umount "$dir" 2>/dev/null ||
      fusermount3 -uz "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null || true
  fi
  for pid in $(fuse_pids_for "$dir"); do
    kill -TERM "$pid" 2>/dev/null || true
    retry 5 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
  done
}

cleanup() {
  local rc=$? c d p f
  trap - EXIT TERM INT
  set +e
  if [[ -n "${WATCHDOG_PID:-}" ]]; then
    # Its `sleep` child holds our stdout open: ctest would wait for it.
    pkill -TERM -P "$WATCHDOG_PID" 2>/dev/null
    kill "$WATCHDOG_PID" 2>/dev/null
  fi
  ((rc != 0)) && FAILED=1
  for c in "${CLEANUPS[@]}"; do eval "$c"; done
  for d in "${EXTRA_MOUNTS[@]}"; do unmount_extra "$d"; done
  for p in "${EXTRA_PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null && sleep 1 && kill -KILL "$p" 2>/dev/null
  done
  if [[ -n "$ROOT" && -d "$ROOT" ]]; then
    if ((FAILED)) && [[ -d "$ROOT/log" ]]; then
      for f in "$ROOT"/log/*.log; do
        [[ -s "$f" ]] || continue
        echo "----- last lines of $f -----"
        tail -n 25 "$f"
      done
    fi
    bash "$CLUSTER" down --root "$ROOT" >/dev/null
    if [[ "${AMLFS_KEEP_ROOT:-0}" == 1 ]]; then
      echo "[$TEST_NAME] kept $ROOT"
    else
      # Never follow into a mount that is somehow still there.
      if ! grep -q " ${ROOT}/" /proc/self/mountinfo; then rm -rf "$ROOT"; fi
    fi
  fi
  if [[ -n $SANITIZER_REPORTS ]] && compgen -G "$SANITIZER_REPORTS/*" >/dev/null; then
    for f in "$SANITIZER_REPORTS"/*; do
      echo "----- sanitizer report $f -----"
      head -n 40 "$f"
    done
    echo "[$TEST_NAME] FAIL: a process this test started wrote a sanitizer report" >&2
    FAILED=1
  fi
  if ((FAILED)); then
    echo "[$TEST_NAME] FAILED"
    exit 1
  fi
  echo "[$TEST_NAME] PASSED"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# Watchdog: fires before ctest's TIMEOUT so that cleanup still runs.
if [[ -n "${AMLFS_TEST_LIMIT_S:-}" ]]; then
  (
    sleep "$AMLFS_TEST_LIMIT_S"
    echo "[$TEST_NAME] FAIL: watchdog: still running after ${AMLFS_TEST_LIMIT_S}s" >&2
    kill -TERM $$
    # The shell runs its trap only once its foreground command returns: stop
    # that command too (children of this test, by parent PID).
    pkill -TERM -P $$
  ) &
  WATCHDOG_PID=$!
fi
