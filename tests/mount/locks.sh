#!/usr/bin/env bash
# fcntl and flock locks across nodes: the same sequence of lock calls from two
# processes gives the same answers on the local disk, on one amlfs mount, and
# with the two processes on two nodes; a node that dies holding a lock loses
# it after the lock lease, so the other node's waiting F_SETLKW gets it.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

command -v nsenter >/dev/null && command -v ip >/dev/null || cannot_run "needs nsenter and ip (scripts/install-deps.sh)"
LEASE=3
start_cluster --osts 2 --nodes 2 --lock-lease $LEASE
A=$CL_NODE_MOUNT_0
B=$CL_NODE_MOUNT_1
SEQ="$AMLFS_SRC/tests/mount/locks.py"
mkdir -p "$ROOT/local"

compare() {  # compare WHAT PATH_A PATH_B
  python3 "$SEQ" "$2" "$3" >"$ROOT/got.json" || fail "$1: the lock sequence did not finish"
  diff -u "$ROOT/want.json" "$ROOT/got.json" >&2 || fail "$1: answers differ from the local disk's"
}

check "the lock sequence on the local disk (the reference answers)"
python3 "$SEQ" "$ROOT/local/f" "$ROOT/local/f" >"$ROOT/want.json"
grep -qF '"B: setlkw 1 W 50 100 -> ok (answered after A'"'"'s close)"' "$ROOT/want.json" ||
  fail "reference run: F_SETLKW did not wait for the holder"

check "the same answers with both processes on one amlfs node"
compare "one node" "$A/same" "$A/same"

check "the same answers with the processes on two nodes"
compare "two nodes" "$A/cross" "$B/cross"

check "a node killed while holding a lock loses it after the lease ($LEASE s)"
echo data >"$A/crash"
python3 - "$A/crash" >"$ROOT/holder.out" 2>&1 <<'PY' &
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(600)
PY
HOLDER=$!
EXTRA_PIDS+=("$HOLDER")
retry 10 grep -q locked "$ROOT/holder.out" || fail "the holder on node0 did not get its lock"
python3 -c '
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    sys.exit(0)
sys.exit("node1 got the lock node0 holds")' "$B/crash" || fail "node1 took a lock node0 holds"
kill -9 "$(pid_of fuse0)"
t0=$SECONDS
timeout 60 python3 -c '
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)' "$B/crash" || fail "node1's F_SETLKW did not get the dead node's lock"
waited=$((SECONDS - t0))
log "node1 got the lock ${waited}s after node0 died (lock_lease ${LEASE}s)"
kill -9 "$HOLDER" 2>/dev/null || true
