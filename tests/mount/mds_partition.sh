#!/usr/bin/env bash
# A replicated MDS split by the network (local-cluster.sh --mds 3, two client
# nodes, every daemon in its own network namespace): the leader is cut off
# from the other two replicas (blackhole routes both ways) while it still
# reaches, and is reached by, the clients. It must stop answering before
# another replica serves (never two leaders at once), commit nothing more, and the two others must elect a leader that the
# clients follow without an error. After healing, the old leader rejoins as
# a follower and catches up: the three namespaces are identical and every
# acknowledged operation is there.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=mds_lib.sh
source "$(dirname "$0")/mds_lib.sh"

start_cluster --mds 3 --osts 2 --nodes 2

# cut I J / heal I J: drop (or restore) all traffic between replicas I and J.
route_between() {
  ip -n "$(mds_ns "$2")" route "$1" blackhole "10.77.0.$3/32"
  ip -n "$(mds_ns "$3")" route "$1" blackhole "10.77.0.$2/32"
}
CUT=()
cut_link() { route_between add "$1" "$2"; CUT+=("$1 $2"); }
heal_all() {
  local pair
  for pair in "${CUT[@]}"; do
    # shellcheck disable=SC2086
    route_between del $pair 2>/dev/null || true
  done
  CUT=()
}
CLEANUPS+=("heal_all")

# healthz I -> "CODE FIRST-CHECK" of replica I's /healthz, asked from inside
# its own network namespace (where its metrics address lives).
healthz() {
  local addr
  addr=$(sed -n 's/^metrics //p' "$ROOT/run/mds$1.ready")
  ip netns exec "$(mds_ns "$1")" curl -s -m 5 -w '\n%{http_code}' "http://$addr/healthz" |
    awk 'NR == 2 { first = $0 } { last = $0 } END { print last, first }'
}
healthz_is() { [[ "$(healthz "$1")" == "$2"* ]]; }  # healthz_is I PREFIX

check "a leader serves"
retry 10 has_leader || fail "no replica serves: $(amlfs_mds status 2>&1)"
old=$(leader)
others=()
for i in 1 2 3; do [[ $i != "$old" ]] && others+=("$i"); done
log_lines "$(amlfs_mds status)"

check "the leader mds$old is cut off from mds${others[0]} and mds${others[1]} under a metadata loop"
start_churn
wait_progress "before the partition"
cut_link "$old" "${others[0]}"
cut_link "$old" "${others[1]}"
t0=$(date +%s.%N)

check "the old leader stops serving before a new leader serves, and the clients follow the new one"
# No timing is asserted (this machine is shared): the order is. Each sample
# asks every replica at once; two serving in one sample would be two leaders.
since() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
new="" old_stopped=""
end=$((SECONDS + 60))
while ((SECONDS < end)); do
  st=$({ amlfs_mds status 2>/dev/null || true; })
  serving=$(awk 'NR > 1 && $NF == "yes" { print $1 }' <<<"$st")
  n=$(awk 'NR > 1 && $NF == "yes" { n++ } END { print n + 0 }' <<<"$st")
  ((n <= 1)) || fail "two replicas serve at once:"$'\n'"$st"
  [[ -z $old_stopped && $serving != "$old" ]] && old_stopped=$(since)
  if [[ -n $serving && $serving != "$old" ]]; then
    new=$serving
    break
  fi
  sleep 0.1
done
[[ -n $new ]] || fail "no new leader 60 s after the partition: $(amlfs_mds status 2>&1)"
log "mds$old stopped serving within ${old_stopped} s of the partition; mds$new serves after $(since) s"
retry 60 role_is_not "$old" leader ||
  fail "mds$old still calls itself leader 60 s after the partition: $(amlfs_mds status 2>&1)"
wait_progress "under the new leader"

check "the cut-off replica commits nothing while the majority goes on"
c1=$(status_of "$old" commit)
m1=$(status_of "$new" commit)
sleep 3
c2=$(status_of "$old" commit)
m2=$(status_of "$new" commit)
log "mds$old commit $c1 -> $c2; mds$new commit $m1 -> $m2"
assert_eq "$c1" "$c2" "commit index of the cut-off mds$old"
((m2 > m1)) || fail "the majority's commit index did not move ($m1 -> $m2)"
[[ "$(status_of "$old" serving)" == no ]] ||
  fail "the cut-off mds$old claims to serve: $(amlfs_mds status 2>&1)"

check "/healthz: the cut-off replica fails it, the new leader passes it"
log "mds$old: $(healthz "$old"); mds$new: $(healthz "$new")"
healthz_is "$old" "503 " || fail "the cut-off mds$old's /healthz does not fail: $(healthz "$old")"
healthz_is "$new" "200 ok: raft: replica $new leads" ||
  fail "the new leader's /healthz: $(healthz "$new")"

check "healed: the old leader rejoins as a follower and catches up"
heal_all
retry 15 role_is "$old" follower ||
  fail "mds$old did not rejoin as a follower: $(amlfs_mds status 2>&1)"
retry 10 healthz_is "$old" "200 ok: raft: replica $old follows replica $new" ||
  fail "the rejoined mds$old's /healthz: $(healthz "$old")"
wait_progress "after healing"
stop_churn
verify_journals
digests_identical
log_lines "$(amlfs_mds status)"
