#!/usr/bin/env bash
# A replicated MDS (local-cluster.sh --mds 3, two client nodes): the leader
# is killed with kill -9 again and again while both nodes run a loop of
# create / write / rename / unlink / mkdir / chmod. Each time a new leader
# serves, the programs see a pause and never an error; afterwards every
# operation they saw succeed is there (a retried create is never run twice:
# O_EXCL would fail), and the three replicas' namespaces are identical.
# Then all three replicas are killed at once and restarted: nothing
# acknowledged is lost. Node 0's files keep their data on the MDT
# (Data-on-MDT), so their bytes go through the replicated log too.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=mds_lib.sh
source "$(dirname "$0")/mds_lib.sh"

KILLS=${AMLFS_FAILOVER_KILLS:-10}
start_cluster --mds 3 --osts 2 --nodes 2
A=$CL_NODE_MOUNT_0
B=$CL_NODE_MOUNT_1

check "a leader is elected and serves both nodes"
retry 10 has_leader || fail "no replica serves: $(amlfs_mds status 2>&1)"
echo hello >"$A/hello"
assert_eq hello "$(cat "$B/hello")" "a file written on node 0, read on node 1"
log_lines "$(amlfs_mds status)"

check "kill -9 of the leader, $KILLS times, under a metadata loop on both nodes"
# Node 0's loop writes small files whose data lives on the MDT.
mkdir "$A/churn0"
python3 -c 'import os, sys; os.setxattr(sys.argv[1], "lustre.lov", sys.argv[2].encode())' \
  "$A/churn0" "comp_end=64K pattern=mdt comp_end=EOF stripe_count=1" ||
  fail "cannot give churn0 a Data-on-MDT default"
start_churn
wait_progress "before the first kill"
times=()
for ((k = 1; k <= KILLS; k++)); do
  # The restarted replica may have set off an election: wait for its end.
  retry 15 has_leader || fail "no leader before kill $k: $(amlfs_mds status 2>&1)"
  old=$(leader)
  kill9 "mds$old"
  t0=$(date +%s.%N)
  new=""
  for ((w = 0; w < 150; w++)); do
    new=$(leader)
    [[ -n "$new" && "$new" != "$old" ]] && break
    sleep 0.1
  done
  [[ -n "$new" && "$new" != "$old" ]] || fail "no new leader within 15 s of killing mds$old"
  t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  times+=("$t")
  wait_progress "after kill $k of mds$old"
  log "kill $k: mds$old -> mds$new serves after $t s; the loops move on"
  cluster up >/dev/null || fail "cannot restart mds$old"
  sleep 1
done
log "new leader serving after a kill: $(printf '%s\n' "${times[@]}" | sort -n |
  awk '{ v[NR] = $1 } END { printf "median %.2f s, max %.2f s over %d kills", v[int((NR + 1) / 2)], v[NR], NR }')"
stop_churn

check "every operation the loops saw succeed is there, as they left it"
verify_journals
python3 - "$A/churn0" <<'PY' || fail "node 0's files are not on the MDT"
import os, sys
d = sys.argv[1]
files = [e.path for e in os.scandir(d) if e.is_file()]
off = [f for f in files if b"pattern=mdt" not in os.getxattr(f, "lustre.lov")]
print(f"churn0: {len(files) - len(off)} of {len(files)} files on the MDT")
sys.exit(1 if off or not files else 0)
PY

check "the three replicas hold the same namespace (amlfs mds digest)"
digests_identical

check "all three replicas killed at once and restarted: nothing acknowledged is lost"
for i in 1 2 3; do kill -9 "$(pid_of "mds$i")"; done
for i in 1 2 3; do retry 10 bash -c "! kill -0 $(pid_of "mds$i") 2>/dev/null" || fail "mds$i survived kill -9"; done
cluster up >/dev/null || fail "cannot restart the replicas"
retry 15 has_leader || fail "no replica serves after the restart: $(amlfs_mds status 2>&1)"
verify_journals
echo after >"$A/after-restart"
assert_eq after "$(cat "$B/after-restart")" "a file written after the restart, read on the other node"

check "the stopped replicas' databases are identical (amlfs-mds --digest)"
sleep 1  # followers apply the last commit
offline_digests_identical 3
