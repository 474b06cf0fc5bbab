# What the replicated-MDS tests share (sourced after lib.sh, with a cluster
# started by `start_cluster --mds 3 --nodes 2`): metadata loops on both
# nodes that journal what succeeded, the check of their journals, and
# `amlfs mds` run from a client node's network.

# node_ns K -> client node K's network namespace (as local-cluster.sh names it)
node_ns() { echo "/run/netns/amlfs-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)-node$1"; }
# mds_ns I -> replica I's network namespace
mds_ns() { echo "amlfs-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)-mds$1"; }

# amlfs_mds ARGS...: `amlfs mds ARGS --mds <every replica>`, from node 0.
amlfs_mds() {
  nsenter --net="$(node_ns 0)" "$AMLFS_BIN/amlfs" mds "$@" --mds "$CL_MDS_ADDR"
}

# The replica serving now, from `amlfs mds status` (empty if none).
leader() {
  # amlfs mds status exits 1 while no replica serves (an election): no leader.
  { amlfs_mds status 2>/dev/null || true; } | awk '$NF == "yes" { print $1 }'
}

# log_lines TEXT: log each line of TEXT.
log_lines() { while IFS= read -r l; do log "$l"; done <<<"$1"; }

has_leader() { [[ -n "$(leader)" ]]; }

# status_of I FIELD: replica I's FIELD (role, term, commit, applied, serving)
# from amlfs mds status.
status_of() {
  amlfs_mds status 2>/dev/null | awk -v id="$1" -v f="$2" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == id { print $(col[toupper(f)]) }'
}
role_is() { [[ "$(status_of "$1" role)" == "$2" ]]; }
role_is_not() { [[ "$(status_of "$1" role)" != "$2" ]]; }

# start_churn: meta_churn.py on both nodes, journaling to $ROOT/journal<n>.
start_churn() {
  local n m
  rm -f "$ROOT/stop"
  CHURN=()
  for n in 0 1; do
    m=CL_NODE_MOUNT_$n
    python3 "$AMLFS_SRC/tests/mount/meta_churn.py" "${!m}/churn$n" "$ROOT/journal$n" "$ROOT/stop" \
      >"$ROOT/churn$n.out" 2>&1 &
    CHURN+=($!)
    EXTRA_PIDS+=($!)
  done
}

# Operations journaled so far by both loops (0 before they start).
journal_lines() { cat "$ROOT"/journal0 "$ROOT"/journal1 2>/dev/null | wc -l || true; }
journal_past() { (($(journal_lines) > $1)); }

# wait_progress WHAT: both loops journal at least 20 more operations within 15 s.
wait_progress() {
  local lines
  lines=$(journal_lines)
  retry 15 journal_past $((lines + 20)) || fail "the loops made no progress $1"
}

stop_churn() {
  local n
  touch "$ROOT/stop"
  for n in 0 1; do
    wait "${CHURN[$n]}" || fail "the loop on node $n failed: $(cat "$ROOT/churn$n.out")"
    log "node $n: $(cat "$ROOT/churn$n.out")"
  done
  EXTRA_PIDS=()
}

# verify_journals: every operation the loops saw succeed is there, as they left it.
verify_journals() {
  python3 - "$CL_NODE_MOUNT_0" "$ROOT/journal0" churn0 "$CL_NODE_MOUNT_1" "$ROOT/journal1" churn1 <<'PY' ||
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
    fail "the namespace lost or changed acknowledged operations"
}

# digests_identical: the running replicas hold the same namespace (amlfs mds digest).
digests_identical() {
  local out
  out=$(amlfs_mds digest --wait 20 2>&1) || fail "amlfs mds digest: $out"
  log_lines "$out"
}

# offline_digests_identical N: stops the cluster; the N replicas' databases
# hold the same namespace (amlfs-mds --digest).
offline_digests_identical() {
  local i digests=()
  cluster down >/dev/null
  for ((i = 1; i <= $1; i++)); do
    digests+=("$("$AMLFS_BIN/amlfs-mds" --digest --data "$ROOT/mds$i" | cut -d' ' -f1-3)")
    log "mds$i: $("$AMLFS_BIN/amlfs-mds" --digest --data "$ROOT/mds$i")"
  done
  for ((i = 2; i <= $1; i++)); do
    assert_eq "${digests[0]}" "${digests[i - 1]}" "digest of mds$i against mds1"
  done
}
