#!/usr/bin/env bash
# A replicated MDS that snapshots and compacts its Raft log
# (local-cluster.sh --mds 3 --snapshot-entries 500): a follower is killed
# with kill -9, a few thousand files are created through the mount, the
# leader snapshots and drops the log the follower would need; the follower
# restarts, catches up by receiving the leader's snapshot, and in the end
# the three replicas hold the same namespace and every file is there.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=mds_lib.sh
source "$(dirname "$0")/mds_lib.sh"

FILES=${AMLFS_SNAPSHOT_FILES:-3000}
start_cluster --mds 3 --osts 2 --snapshot-entries 500

# The replica that leads now: the highest term among the running replicas' "leads" lines.
leader() {
  local i t best=0 who=""
  for i in 1 2 3; do
    kill -0 "$(pid_of "mds$i")" 2>/dev/null || continue
    t=$(grep -h "leads, term" "$ROOT/log/mds$i.log" | tail -n1 | sed 's/.*term //')
    [[ -n "$t" ]] && ((t > best)) && best=$t who=$i
  done
  echo "$who"
}

check "a leader is elected and serves"
retry 10 test -n "$(leader)" || fail "no replica leads"
mkdir "$MNT/d" || fail "mkdir through the mount"
L=$(leader)
F=$((L % 3 + 1))
log "leader mds$L, follower mds$F"

check "kill -9 of follower mds$F, then $FILES files created"
kill9 "mds$F"
python3 - "$MNT/d" "$FILES" <<'PY' || fail "creating files through the mount"
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, f"f{i}"), "x") as f:
        pass
PY
[[ "$(leader)" == "$L" ]] || fail "the leadership moved during the creates"

check "the leader snapshotted and compacted its log past the follower"
grep -q "log compacted up to" "$ROOT/log/mds$L.log" || fail "mds$L never compacted its log"
log "mds$L: $(grep -h "log compacted up to" "$ROOT/log/mds$L.log" | tail -n1)"
compgen -G "$ROOT/mds$L/raft/snapshot-*" >/dev/null || fail "no snapshot file in mds$L/raft"

check "the restarted follower catches up by the leader's snapshot"
cluster up >/dev/null || fail "cannot restart mds$F"
retry 30 grep -q "installed snapshot" "$ROOT/log/mds$F.log" ||
  fail "mds$F did not install a snapshot: $(tail -n 5 "$ROOT/log/mds$F.log")"
log "mds$F: $(grep -h "installed snapshot" "$ROOT/log/mds$F.log" | tail -n1)"
echo after >"$MNT/d/after" || fail "a create after the catch-up"
sleep 2  # followers apply the last commits

check "every file is there"
assert_eq "$((FILES + 1))" "$(find "$MNT/d" -type f | wc -l)" "files in d/"

check "the three replicas hold the same namespace"
offline_digests_identical 3
