#!/usr/bin/env bash
# Observability through the interfaces operators use: every daemon's and the
# mount's /metrics and /healthz over HTTP, counters checked against what fio
# reports moving (within 1%), per-job and per-client attribution, the log
# level changed at run time (signals, PUT /loglevel), `amlfs stats --json`,
# `amlfs top` rendered in a terminal (tmux), and the health of a stopped
# OST's and a stopped MDS's peers. The checks are in metrics.py.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || fail "tmux is not installed (scripts/install-deps.sh)"
command -v fio >/dev/null || fail "fio is not installed (scripts/install-deps.sh)"
start_cluster --osts 2 --stripe-count 2

# A private tmux server for `amlfs top`, stopped however the test ends.
TMUX_SOCKET="amlfs-metrics-$$"
CLEANUPS+=("tmux -L '$TMUX_SOCKET' kill-server 2>/dev/null")

check "bad metrics options: one line naming the option, non-zero exit, nothing started"
bad_start() {  # bad_start WANT CMD...: CMD must fail at once with WANT in its one-line error
  local want=$1 err rc=0
  shift
  err=$(timeout 20 "$@" 2>&1 >/dev/null) || rc=$?
  ((rc != 0 && rc != 124)) || fail "$* was accepted (exit $rc)"
  [[ "$err" == *"$want"* && $(wc -l <<<"$err") -eq 1 ]] || fail "$*: expected one line with '$want', got: $err"
}
mds_metrics=$(sed -n 's/^metrics //p' "$ROOT/run/mds.ready")
bad_start "metrics_listen:" "$AMLFS_BIN/amlfs-ost" --data "$ROOT/bad-ost" --index 7 --mds "$MDS_ADDR" \
  --listen 127.0.0.1:0 --metrics-listen nonsense
bad_start "cannot bind $mds_metrics" "$AMLFS_BIN/amlfs-ost" --data "$ROOT/bad-ost" --index 7 \
  --mds "$MDS_ADDR" --listen 127.0.0.1:0 --metrics-listen "$mds_metrics"
mkdir -p "$ROOT/bad-mnt"
bad_start "jobid_var:" "$AMLFS_BIN/amlfs-fuse" --mds "$MDS_ADDR" -o "jobid_var=NOT VALID" "$ROOT/bad-mnt"
bad_start "cannot bind $mds_metrics" "$AMLFS_BIN/amlfs-fuse" --mds "$MDS_ADDR" \
  -o "metrics_listen=$mds_metrics" "$ROOT/bad-mnt"
is_mounted "$ROOT/bad-mnt" && fail "a refused amlfs-fuse left a mount"
"$AMLFS_BIN/lfs" osts "$MNT" | grep -q OST0007 && fail "a refused OST registered"

python3 "$AMLFS_SRC/tests/mount/metrics.py" --root "$ROOT" --mount "$MNT" --bin "$AMLFS_BIN" \
  --cluster "$CLUSTER" --tmux-socket "$TMUX_SOCKET" || fail "metrics.py failed (see above)"
