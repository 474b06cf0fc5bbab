#!/usr/bin/env bash
# `local-cluster.sh up --nodes 2`: the MDS, each OST and each client node in
# its own network namespace, on a private bridge; two mounts, one per node,
# that share one namespace over that network; `down` removes it all.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

command -v nsenter >/dev/null && command -v ip >/dev/null || cannot_run "needs nsenter and ip (scripts/install-deps.sh)"
start_cluster --osts 2 --nodes 2
A=$CL_NODE_MOUNT_0
B=$CL_NODE_MOUNT_1
NS=$CL_NETNS_PREFIX

check "both nodes are mounted at ROOT/node0 and ROOT/node1"
is_mounted "$A" || fail "$A is not mounted"
is_mounted "$B" || fail "$B is not mounted"
[[ $MDS_ADDR == 10.77.0.1:* ]] || fail "the MDS listens on $MDS_ADDR, not in 10.77.0.0/24"

check "every daemon runs in a network namespace of its own, none in the host's"
declare -A seen
for d in mds ost0 ost1 fuse0 fuse1; do
  n=$(readlink "/proc/$(pid_of $d)/ns/net")
  [[ $n != "$(readlink /proc/self/ns/net)" ]] || fail "$d runs in the host's network namespace"
  [[ -z "${seen[$n]:-}" ]] || fail "$d shares its network namespace with ${seen[$n]}"
  seen[$n]=$d
done

check "the private network exists only inside the namespaces"
ip -o addr show | grep -q ' 10\.77\.0\.' && fail "the host has a 10.77.0.x address"
ip -o link show | grep -q 'p-node0\|p-mds' && fail "a switch port appeared in the host's namespace"
if timeout 3 bash -c "exec 3<>/dev/tcp/${MDS_ADDR%:*}/${MDS_ADDR#*:}" 2>/dev/null; then
  fail "the host reaches the MDS at $MDS_ADDR"
fi

check "each node talks to the MDS over the bridge"
for k in 0 1; do
  nsenter --net="/run/netns/${NS}node$k" ss -tn state established | grep -q " $MDS_ADDR" ||
    fail "node$k has no TCP connection to the MDS at $MDS_ADDR"
done

check "a file written and closed on node0 reads back identical on node1"
head -c 5000000 /dev/urandom >"$ROOT/data"
cp "$ROOT/data" "$A/data"
same() { cmp -s "$ROOT/data" "$B/data"; }
same || fail "node1's first open of node0's closed file reads other data"

check "creates and unlinks on node1 show in node0's listing"
mkdir "$B/dir"
for i in 1 2 3; do echo "$i" >"$B/dir/f$i"; done
count() { [[ "$(ls "$A/dir" 2>/dev/null | wc -l)" == "$1" ]]; }
count 3 || fail "node0 lists $(ls "$A/dir" | wc -l) entries at once, expected 3"
rm "$B/dir/f2"
count 2 || fail "node0's listing still has node1's unlinked file"

check "O_APPEND writes from both nodes at once never overwrite each other"
appender() {  # appender MOUNT TAG: 1000 records, one write(2) each, O_APPEND
  python3 - "$1/log" "$2" "$ROOT/go" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
while not os.path.exists(sys.argv[3]):  # both open first, then write together
    time.sleep(0.01)
for i in range(1000):
    os.write(fd, f"{sys.argv[2]} {i:04d} {'x' * 40}\n".encode())
    if i % 50 == 0:
        time.sleep(0.005)
os.close(fd)
PY
}
appender "$A" node0 &
p0=$!
appender "$B" node1 &
p1=$!
sleep 0.5
touch "$ROOT/go"
wait "$p0" || fail "appends on node0 failed"
wait "$p1" || fail "appends on node1 failed"
python3 - "$A/log" <<'PY' || fail "the appended log is damaged"
import sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
assert lines[-1] == b"", "the log does not end with a whole record"
seen = {}
for l in lines[:-1]:
    tag, n, pad = l.split(b" ")
    assert pad == b"x" * 40, f"damaged record {l[:60]!r}"
    seen.setdefault(tag, []).append(int(n))
for tag in (b"node0", b"node1"):
    assert seen.get(tag) == list(range(1000)), f"{tag.decode()}: {len(seen.get(tag, []))} records, out of order or missing"
print("2000 records, in order per node")
PY

check "down unmounts both nodes and deletes every namespace it made"
cluster down
is_mounted "$A" && fail "$A still mounted"
is_mounted "$B" && fail "$B still mounted"
left=$(ls /run/netns 2>/dev/null | grep -c "^$NS" || true)
assert_eq 0 "$left" "namespaces left"
log "PASS"
