#!/usr/bin/env bash
# A replicated MDS (local-cluster.sh --mds 3, two client nodes): the leader
# is killed with kill -9 again and again while both nodes run a loop of
# create / write / rename / unlink / mkdir / chmod. Each time a new leader
# serves, the programs see a pause and never an error; afterwards every
# operation they saw succeed is there (a retried create is never run twice:
# O_EXCL would fail), and the three replicas' namespaces are identical.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

KILLS=${AMLFS_FAILOVER_KILLS:-5}
start_cluster --mds 3 --osts 2 --nodes 2
A=$CL_NODE_MOUNT_0
B=$CL_NODE_MOUNT_1

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

check "a leader is elected and serves both nodes"
retry 10 test -n "$(leader)" || fail "no replica leads"
echo hello >"$A/hello"
assert_eq hello "$(cat "$B/hello")" "a file written on node 0, read on node 1"

check "kill -9 of the leader, $KILLS times, under a metadata loop on both nodes"
for n in 0 1; do
  m=CL_NODE_MOUNT_$n
  python3 "$AMLFS_SRC/tests/mount/meta_churn.py" "${!m}/churn$n" "$ROOT/journal$n" "$ROOT/stop" \
    >"$ROOT/churn$n.out" 2>&1 &
  EXTRA_PIDS+=($!)
done
CHURN=("${EXTRA_PIDS[@]}")
sleep 2
for ((k = 1; k <= KILLS; k++)); do
  old=$(leader)
  [[ -n "$old" ]] || fail "no leader before kill $k"
  kill9 "mds$old"
  t0=$(date +%s.%N)
  new=""
  for ((w = 0; w < 150; w++)); do
    new=$(leader)
    [[ -n "$new" && "$new" != "$old" ]] && break
    sleep 0.1
  done
  [[ -n "$new" && "$new" != "$old" ]] || fail "no new leader within 15 s of killing mds$old"
  # Both loops moving again under the new leader.
  lines=$(cat "$ROOT"/journal* | wc -l)
  retry 15 bash -c "[[ \$(cat $ROOT/journal* | wc -l) -gt $((lines + 20)) ]]" ||
    fail "the loops made no progress after kill $k of mds$old"
  log "kill $k: mds$old -> mds$new, loops moving again after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s"
  cluster up >/dev/null || fail "cannot restart mds$old"
  sleep 1
done
touch "$ROOT/stop"
for n in 0 1; do
  wait "${CHURN[$n]}" || fail "the loop on node $n failed: $(cat "$ROOT/churn$n.out")"
  log "node $n: $(cat "$ROOT/churn$n.out")"
done
EXTRA_PIDS=()

check "every operation the loops saw succeed is there, as they left it"
python3 - "$A" "$ROOT/journal0" churn0 "$B" "$ROOT/journal1" churn1 <<'PY' || fail "the namespace lost or changed acknowledged operations"
import os, sys
args = sys.argv[1:]
bad = 0
for mnt, journal, sub in zip(args[0::3], args[1::3], args[2::3]):
    d = os.path.join(mnt, sub)
    files, dirs = {}, {}
    for line in open(journal):
        w = line.split()
        if w[0] == "file": files[w[1]] = (int(w[2]), int(w[3]))
        elif w[0] == "rename": files[w[2]] = files.pop(w[1])
        elif w[0] == "unlink": files.pop(w[1])
        elif w[0] == "dir": dirs[w[1]] = w[2]
    have = set(os.listdir(d))
    want = set(files) | set(dirs)
    # The last operation may have been cut by the stop: at most a file in flight.
    extra, missing = have - want, want - have
    for name in sorted(missing)[:5]: print(f"{sub}/{name}: acknowledged, missing"); bad += 1
    if len(extra) > 2: print(f"{sub}: unexpected entries {sorted(extra)[:5]}"); bad += 1
    for name, (size, i) in files.items():
        data = open(os.path.join(d, name), "rb").read()
        name0 = name[1:] if name.startswith("r") else name
        if data != f"{d}/{name0} {i}\n".encode() * (1 + i % 7) or len(data) != size:
            print(f"{sub}/{name}: wrong content"); bad += 1
    for name, mode in dirs.items():
        if oct(os.stat(os.path.join(d, name)).st_mode & 0o777)[2:] != mode:
            print(f"{sub}/{name}: mode not {mode}"); bad += 1
    print(f"{sub}: {len(files)} files, {len(dirs)} directories verified")
sys.exit(1 if bad else 0)
PY

check "the three replicas hold the same namespace"
sleep 2  # followers apply the last commits
cluster down >/dev/null
digests=()
for i in 1 2 3; do
  digests+=("$("$AMLFS_BIN/amlfs-mds" --digest --data "$ROOT/mds$i" | cut -d' ' -f1-3)")
  log "mds$i: $("$AMLFS_BIN/amlfs-mds" --digest --data "$ROOT/mds$i")"
done
assert_eq "${digests[0]}" "${digests[1]}" "digest of mds2 against mds1"
assert_eq "${digests[0]}" "${digests[2]}" "digest of mds3 against mds1"
