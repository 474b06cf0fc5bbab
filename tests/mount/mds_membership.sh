#!/usr/bin/env bash
# Replacing a dead replica of a replicated MDS (local-cluster.sh --mds 3, two
# client nodes) by a new, empty one, one membership change at a time: under a
# metadata loop on both nodes, a follower is killed with kill -9 and its data
# directory deleted; `amlfs mds remove` takes it out, a new replica 4 starts
# with an empty data directory (local-cluster.sh add-mds) and `amlfs mds add`
# takes it in (it catches up from a snapshot); once it has caught up, the leader is killed too: the two old
# replicas left and the new one elect a leader and the clients go on without
# an error. Every acknowledged operation is there and the running replicas'
# namespaces are identical. Malformed or impossible changes fail with one
# error line and change nothing.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=mds_lib.sh
source "$(dirname "$0")/mds_lib.sh"

# Snapshots every 500 entries: the new replica gets the leader's snapshot
# (and the configuration it carries), and the replicas restart from
# compacted logs.
start_cluster --mds 3 --osts 2 --nodes 2 --snapshot-entries 500
A=$CL_NODE_MOUNT_0
B=$CL_NODE_MOUNT_1

# The replicas `amlfs mds status` lists as answering, by ID.
answering() { amlfs_mds status 2>/dev/null | awk 'NR > 1 && $NF != "" && $3 != "-" { print $1 }' | sort | xargs; }
# caught_up I: replica I has applied what the leader had committed at the call.
caught_up() { (($(status_of "$1" applied) >= $2)); }

# refused WHAT ARGS...: `amlfs mds ARGS` fails with exactly one line, on stderr.
refused() {
  local what=$1 out rc=0
  shift
  out=$(amlfs_mds "$@" 2>&1) || rc=$?
  ((rc != 0)) || fail "amlfs mds $* succeeded ($what): $out"
  [[ $(wc -l <<<"$out") == 1 ]] || fail "amlfs mds $* ($what) printed more than one line: $out"
  log "amlfs mds $* -> $out"
}

check "a leader is elected and serves both nodes"
retry 10 has_leader || fail "no replica serves: $(amlfs_mds status 2>&1)"
echo hello >"$A/hello"
assert_eq hello "$(cat "$B/hello")" "a file written on node 0, read on node 1"
members=$(answering)
assert_eq "1 2 3" "$members" "replicas answering"

check "malformed or impossible membership changes fail with one line and change nothing"
refused "an unknown ID" remove 7
refused "an ID out of range" remove 0
refused "an existing ID" add "2=$CL_MDS_ADDR_2"
refused "no address" add 4
refused "a bad address" add 4=nowhere
refused "a bad ID" add x=10.77.0.4:9400
assert_eq "$members" "$(answering)" "replicas answering after the refused changes"

check "a follower is killed with kill -9, its data deleted, and removed under a metadata loop"
start_churn
wait_progress "before the kill"
lead=$(leader)
[[ -n "$lead" ]] || fail "no leader: $(amlfs_mds status 2>&1)"
dead=""
for i in 1 2 3; do [[ $i != "$lead" ]] && { dead=$i; break; }; done
kill9 "mds$dead"
rm -rf "${ROOT:?}/mds$dead"
out=$(amlfs_mds remove "$dead" 2>&1) || fail "amlfs mds remove $dead: $out"
log "$out"
refused "already removed" remove "$dead"
wait_progress "after removing mds$dead"

check "a new replica 4 starts empty, is added and catches up"
cluster add-mds --id 4 >/dev/null || fail "local-cluster.sh add-mds --id 4 failed"
load_cluster_env
out=$(amlfs_mds add "4=$CL_MDS_ADDR_4" 2>&1) || fail "amlfs mds add 4=$CL_MDS_ADDR_4: $out"
log "$out"
refused "already a member" add "4=$CL_MDS_ADDR_4"
lead=$(leader)
target=$(status_of "$lead" commit)
retry 30 caught_up 4 "$target" || fail "mds4 did not catch up to $target: $(amlfs_mds status 2>&1)"
grep -q "installed snapshot" "$ROOT/log/mds4.log" || fail "mds4 caught up without a snapshot"
wait_progress "with mds4 a member"
log_lines "$(amlfs_mds status 2>&1)"

check "the leader mds$lead is killed: the two others (one of them new) elect a leader"
kill9 "mds$lead"
new=""
for ((w = 0; w < 150; w++)); do
  new=$(leader)
  [[ -n "$new" && "$new" != "$lead" ]] && break
  sleep 0.1
done
[[ -n "$new" && "$new" != "$lead" ]] ||
  fail "no new leader within 15 s of killing mds$lead: $(amlfs_mds status 2>&1)"
log "mds$new serves"
wait_progress "after killing mds$lead"
stop_churn

check "every operation the loops saw succeed is there, as they left it"
verify_journals

check "mds$lead restarts on its data and rejoins; the replicas hold the same namespace"
cluster add-mds --id "$lead" >/dev/null || fail "cannot restart mds$lead"
live=""
for i in 1 2 3 4; do
  [[ $i == "$dead" ]] && continue
  v="CL_MDS_ADDR_$i"
  live+="${live:+,}${!v}"
done
out=$(nsenter --net="$(node_ns 0)" "$AMLFS_BIN/amlfs" mds digest --wait 30 --mds "$live" 2>&1) ||
  fail "amlfs mds digest: $out"
log_lines "$out"
[[ $(grep -c digest <<<"$out") == 3 ]] || fail "expected three replicas in the digest: $out"
echo after >"$A/after"
assert_eq after "$(cat "$B/after")" "a file written after the changes, read on the other node"
