#!/usr/bin/env bash
# Restarting servers under load loses nothing acknowledged. Two writers
# (checked_writer.py) create files and record the checksum of each one the
# file system acknowledged (fsync and close succeeded), while the servers
# of a cluster with three MDS replicas and two OSTs are restarted one at a
# time, AMLFS_RESTARTS times (default 20), in turn, alternately by SIGTERM
# and SIGKILL. After each restart the writers must make progress. At the
# end every acknowledged file must read back with its checksum, and no
# writer may have seen an error: a restart within io_timeout is invisible
# to programs.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

RESTARTS=${AMLFS_RESTARTS:-20}
start_cluster --mds 3 --osts 2 --stripe-count 2 --stripe-size 1048576

SERVERS=(mds1 ost0 mds2 ost1 mds3)
rm -f "$ROOT/stop"
WRITERS=()
for w in 0 1; do
  python3 "$AMLFS_SRC/tests/mount/checked_writer.py" write "$MNT/w$w" "$ROOT/manifest$w" \
    "$ROOT/stop" "$((w + 1))" >"$ROOT/writer$w.out" 2>&1 &
  WRITERS+=($!)
  EXTRA_PIDS+=($!)
done
acked() { cat "$ROOT"/manifest0 "$ROOT"/manifest1 2>/dev/null | wc -l || true; }
acked_past() { (($(acked) > $1)); }
healthy() {  # healthy NAME: the restarted server is back at work
  case $1 in
    ost*) "$AMLFS_BIN/lfs" osts "$MNT" 2>/dev/null | grep -q "OST000${1#ost}_UUID ACTIVE" ;;
    mds*) "$AMLFS_BIN/amlfs" mds status --mds "$CL_MDS_ADDR" 2>/dev/null |
      awk -v id="${1#mds}" 'NR > 1 && $1 == id && !/unreachable/ && $3 ~ /leader|follower/ { ok = 1 }
        END { exit !ok }' ;;
  esac
}

check "$RESTARTS restarts, one server at a time, while two writers work"
retry 30 acked_past 5 || fail "the writers acknowledged nothing: $(cat "$ROOT"/writer*.out)"
t0=$SECONDS
for ((i = 0; i < RESTARTS; i++)); do
  name=${SERVERS[i % ${#SERVERS[@]}]}
  pid=$(pid_of "$name")
  if ((i % 2)); then sig=KILL; else sig=TERM; fi
  kill -"$sig" "$pid"
  retry 20 bash -c "! kill -0 $pid 2>/dev/null" || fail "$name (pid $pid) survived SIGTERM"
  cluster up >/dev/null || fail "restart $((i + 1)): cannot restart $name"
  retry 30 healthy "$name" || fail "restart $((i + 1)): $name is not back at work"
  before=$(acked)
  retry 60 acked_past $((before + 2)) ||
    fail "restart $((i + 1)) ($name, SIG$sig): the writers made no progress: $(tail -n 3 "$ROOT"/writer*.out)"
  log "restart $((i + 1)): $name (SIG$sig); $(acked) files acknowledged"
done
touch "$ROOT/stop"
for p in "${WRITERS[@]}"; do wait "$p" || fail "a writer failed: $(cat "$ROOT"/writer*.out)"; done
EXTRA_PIDS=()
log "restarts took $((SECONDS - t0)) s"
for w in 0 1; do log "writer $w: $(tail -n 1 "$ROOT/writer$w.out")"; done

check "no writer saw an error while the servers restarted"
for w in 0 1; do
  summary=$(tail -n 1 "$ROOT/writer$w.out")
  [[ $summary =~ errors\ ([0-9]+)$ ]] || fail "writer $w printed no summary: $summary"
  ((BASH_REMATCH[1] == 0)) ||
    fail "writer $w saw ${BASH_REMATCH[1]} errors: $(grep -v '^files ' "$ROOT/writer$w.out" | head -n 5)"
done

check "every acknowledged file reads back with its checksum"
drop_caches
cat "$ROOT/manifest0" "$ROOT/manifest1" >"$ROOT/manifest"
out=$(python3 "$AMLFS_SRC/tests/mount/checked_writer.py" verify "$ROOT/manifest") ||
  fail "acknowledged data was lost: $out"
log "$out"
