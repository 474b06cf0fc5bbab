#!/usr/bin/env bash
# An unmodified PyTorch job (tests/workloads/torch_train.py) over two client
# nodes (local-cluster.sh --nodes 2): node 0 writes a dataset of small sample
# files and large shards; two DistributedDataParallel ranks, one per node,
# talking gloo over the nodes' network, train on it through DataLoaders with
# 2 workers each, reading every sample exactly once per epoch; rank 0 writes
# checkpoints; the job then resumes on node 1 from the newest checkpoint,
# checks it tensor by tensor against what was saved, and trains on.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import torch' 2>/dev/null || fail "python3-torch missing: run scripts/install-deps.sh"
start_cluster --osts 2 --nodes 2
A=$CL_NODE_MOUNT_0
B=$CL_NODE_MOUNT_1
NS=$CL_NETNS_PREFIX
JOB=(/usr/bin/python3 "$AMLFS_SRC/tests/workloads/torch_train.py")
field() { python3 -c 'import json, sys; print(eval("j" + sys.argv[2], {"j": json.load(open(sys.argv[1]))}))' "$@"; }

check "node 0 writes the dataset: small sample files in many directories, and 8 shards"
"${JOB[@]}" prepare "$A/ds" --samples 3000 --dirs 30 --shards 8 --shard-mib 3 || fail "prepare failed"
assert_eq 30 "$(find "$B/ds/samples" -mindepth 1 -type d | wc -l)" "sample directories seen from node 1"
assert_eq 3000 "$(find "$B/ds/samples" -type f | wc -l)" "sample files seen from node 1"

check "DDP over gloo, rank 0 on node 0 and rank 1 on node 1, 2 epochs, checkpoints every 40 steps"
"${JOB[@]}" --report "$ROOT/train.json" train --data "$A/ds" --data "$B/ds" \
  --netns "${NS}node0" --netns "${NS}node1" --master 10.77.0.100:29500 \
  --epochs 2 --ckpt-every 40 --timeout 400 || fail "training failed"
log "data loading: $(field "$ROOT/train.json" '["load"]')"
(($(field "$ROOT/train.json" '["checkpoints"]') >= 2)) || fail "fewer than 2 checkpoints written"
field "$ROOT/train.json" '["loss_last"] < j["loss_first"] / 2' | grep -qx True ||
  fail "the loss did not fall: $(field "$ROOT/train.json" '["loss_first"], j["loss_last"]')"
last=$(cd "$B/ds/ckpt" && ls step-*.pt | sort | tail -n1)
[[ -n "$last" ]] || fail "node 1 sees no checkpoint"

check "resume on node 1 from the newest checkpoint ($last), equal tensor by tensor, and train on"
"${JOB[@]}" --report "$ROOT/resume.json" train --data "$B/ds" --data "$A/ds" \
  --netns "${NS}node1" --netns "${NS}node0" --master 10.77.0.101:29500 \
  --resume --epochs 3 --ckpt-every 40 --timeout 400 || fail "resume failed"
assert_eq "$last" "$(field "$ROOT/resume.json" '["resume"]["checkpoint"]')" "checkpoint resumed from"
# A resumed model starts where the saved one was, far below a fresh model's loss.
field "$ROOT/resume.json" "[\"loss_first\"] < $(field "$ROOT/train.json" '["loss_first"]') / 2" |
  grep -qx True || fail "the resumed model does not start trained"

check "a checkpoint changed after it was saved is refused on resume"
newest=$(cd "$A/ds/ckpt" && ls step-*.pt | sort | tail -n1)
python3 - "$A/ds/ckpt/$newest" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(os.path.getsize(sys.argv[1]) // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0xFF]))
PY
if "${JOB[@]}" train --data "$B/ds" --data "$A/ds" --netns "${NS}node1" --netns "${NS}node0" \
  --master 10.77.0.101:29500 --resume --epochs 3 --timeout 400 2>"$ROOT/bad.err"; then
  fail "a corrupted checkpoint was loaded"
fi
grep -q "differs from what was saved\|corrupt\|PytorchStreamReader" "$ROOT/bad.err" ||
  fail "resume failed for another reason: $(cat "$ROOT/bad.err")"
log "refused: $(grep -m1 "differs\|corrupt\|PytorchStreamReader" "$ROOT/bad.err")"
