#!/usr/bin/env bash
# The MPI-IO and PyTorch workloads of tests/workloads/ at full size, on amlfs
# over two client nodes (local-cluster.sh --nodes 2: 1 MDS + 4 OSTs, files
# striped 4 x 1 MiB) and on the local disk, in one run; prints one table.
# Not a test: it prints figures, measured on this machine.
#
#   scripts/bench-workloads.sh [--quick] [--write-doc]
#
# MPI: 4 ranks, rank r on node r mod 2; the collective strided file (OMPIO
# and ROMIO), the N-to-N checkpoint and the interleaved 47,008-byte records,
# each written, then read back by ranks on the other node. PyTorch: the
# dataset (20,000 sample files in 100 directories, 8 shards), data loading
# alone from a cold cache, 2 epochs of DDP training (2 ranks, one per node,
# 2 DataLoader workers each), and torch.save / torch.load of a large
# checkpoint written on node 0 and read on node 1 from a cold cache.
# --quick shrinks every size. --write-doc puts the table in
# docs/PERFORMANCE.md. Environment: AMLFS_BIN (binaries; else a Release build
# in build-release/). Run as root.
set -euo pipefail

cd "$(dirname "$0")/.."
SRC=$(pwd)
QUICK=0 WRITE_DOC=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    --write-doc) WRITE_DOC=1 ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench-workloads.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
if ((QUICK)); then
  SAMPLES=4000 DIRS=40 SHARD_MIB=4 MPI_SCALE=4 CKPT_MIB=64
else
  SAMPLES=20000 DIRS=100 SHARD_MIB=32 MPI_SCALE=32 CKPT_MIB=512
fi
((EUID == 0)) || { echo "bench-workloads.sh: run as root (drops caches, makes namespaces)" >&2; exit 1; }
bash scripts/install-deps.sh >/dev/null
source scripts/bench-lib.sh
build_release

WORK=$(mktemp -d /var/tmp/amlfs-bench-wl.XXXXXX)
cleanup() {
  set +e
  bash "$SRC/scripts/local-cluster.sh" down --root "$WORK/amlfs" --purge >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
bash scripts/local-cluster.sh up --root "$WORK/amlfs" --osts 4 --nodes 2 --stripe-count 4 \
  --stripe-size 1048576 >/dev/null
# shellcheck source=/dev/null
source "$WORK/amlfs/cluster.env"
A=$CL_NODE_MOUNT_0 B=$CL_NODE_MOUNT_1 NS=$CL_NETNS_PREFIX
LOCAL=$WORK/local
mkdir -p "$LOCAL"
declare -A R

# --- MPI-IO ------------------------------------------------------------------
mpicc -O2 -o "$WORK/mpi_io" tests/workloads/mpi_io.c
export OMPI_MCA_btl_vader_single_copy_mechanism=none
mpi() {  # mpi KEY PREFIX MPIRUN_ARGS...: fills R[KEY.PREFIX<check>.{w,r}] from mpi_io's lines
  local key=$1 prefix=$2 out line name
  shift 2
  out=$(mpirun --allow-run-as-root --oversubscribe -np 4 "$@" 2>&1) ||
    { echo "$out" >&2; echo "bench-workloads.sh: mpirun failed" >&2; exit 1; }
  while IFS= read -r line; do
    [[ $line == *FAILED* ]] && { echo "bench-workloads.sh: $line" >&2; exit 1; }
    [[ $line == *": ok "* ]] || continue
    name=$prefix${line%%:*}
    R[$key.$name.w]=$(sed -E 's/.* written at ([0-9.]+) MiB\/s.*/\1/' <<<"$line")
    R[$key.$name.r]=$(sed -E 's/.* read at ([0-9.]+) MiB\/s.*/\1/' <<<"$line")
    R[mpi.$name.mib]=$(sed -E 's/.*; ([0-9.]+) MiB written.*/\1/' <<<"$line")
  done <<<"$out"
}
for t in "amlfs $A $B" "local $LOCAL"; do
  read -r key d0 d1 <<<"$t"
  echo "-- MPI-IO on $key" >&2
  dirs=() romio=()
  for d in $d0 ${d1:-}; do
    mkdir -p "$d/mpi" "$d/romio"
    dirs+=("$d/mpi") romio+=("$d/romio")
  done
  for mode in collective checkpoint hard; do mpi "$key" "" "$WORK/mpi_io" -s "$MPI_SCALE" "$mode" "${dirs[@]}"; done
  mpi "$key" "romio " --mca io romio321 "$WORK/mpi_io" -s "$MPI_SCALE" collective "${romio[@]}"
  rm -rf "$d0/mpi" "$d0/romio"
done

# --- PyTorch -----------------------------------------------------------------
JOB=(/usr/bin/python3 tests/workloads/torch_train.py)
get() { python3 -c 'import json, sys; print(round(eval("j" + sys.argv[2], {"j": json.load(open(sys.argv[1]))}), 1))' "$@"; }
for t in "amlfs $A $B" "local $LOCAL $LOCAL"; do
  read -r key d0 d1 <<<"$t"
  echo "-- PyTorch on $key: dataset" >&2
  "${JOB[@]}" --report "$WORK/$key.prep.json" prepare "$d0/ds" --samples "$SAMPLES" --dirs "$DIRS" \
    --shards 8 --shard-mib "$SHARD_MIB" >/dev/null
  drop_caches
  echo "-- PyTorch on $key: loading and training" >&2
  if [[ $key == amlfs ]]; then
    net=(--netns "${NS}node0" --netns "${NS}node1" --master 10.77.0.100:29500)
  else
    net=(--master "127.0.0.1:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')")
  fi
  "${JOB[@]}" --report "$WORK/$key.train.json" train --data "$d0/ds" --data "$d1/ds" "${net[@]}" \
    --epochs 2 --ckpt-every 200 --drop-caches --timeout 3600 >/dev/null
  echo "-- PyTorch on $key: checkpoint of $CKPT_MIB MiB" >&2
  "${JOB[@]}" --report "$WORK/$key.ckpt.json" checkpoint --save "$d0" --load "$d1" --mib "$CKPT_MIB" >/dev/null
  P=$WORK/$key.prep.json T=$WORK/$key.train.json C=$WORK/$key.ckpt.json
  R[$key.files_w]=$(get "$P" '["sample_files_per_s"]')
  R[$key.shards_w]=$(get "$P" '["shard_write_mib_s"]')
  R[$key.load_files]=$(get "$T" '["load"]["files"]["samples_per_s"]')
  R[$key.load_shards]=$(get "$T" '["load"]["shards"]["samples_per_s"]')
  R[$key.load_shards_mib]=$(get "$T" '["load"]["shards"]["mib_s"]')
  for e in 0 1; do
    R[$key.train_files$e]=$(get "$T" "[\"epochs\"][$e][\"files\"][\"samples_per_s\"]")
    R[$key.train_shards$e]=$(get "$T" "[\"epochs\"][$e][\"shards\"][\"samples_per_s\"]")
  done
  R[$key.ckpt_small]=$(get "$T" '["checkpoint_write_mib_s"]')
  R[$key.ckpt_w]=$(get "$C" '["write_mib_s"]')
  R[$key.ckpt_r]=$(get "$C" '["read_mib_s"]')
  R[torch.ckpt_small_mib]=$(get "$T" '["checkpoint_mib"]')
  R[torch.ckpt_mib]=$(get "$C" '["checkpoint_mib"]')
  rm -rf "${d0:?}/ds"
done

# --- the table ---------------------------------------------------------------
OUT=$WORK/table.md
{
  echo "| workload | amlfs, 2 nodes | local disk | amlfs / local |"
  echo "|---|---:|---:|---:|"
  row() { echo "| $1 | ${R[amlfs.$2]:--} | ${R[local.$2]:--} | $(ratio "${R[amlfs.$2]:-0}" "${R[local.$2]:-0}") |"; }
  for name in collective.dat sieved.dat "romio collective.dat" "romio sieved.dat" "checkpoint (N-to-N)" \
    "hard (interleaved 47,008-byte records)"; do
    row "MPI $name, ${R[mpi.$name.mib]:-?} MiB: write (MiB/s)" "$name.w"
    row "MPI $name: read on the other node (MiB/s)" "$name.r"
  done
  row "PyTorch: write sample files (files/s)" files_w
  row "PyTorch: write shards (MiB/s)" shards_w
  row "PyTorch: load sample files, cold (samples/s)" load_files
  row "PyTorch: load shards, cold (samples/s)" load_shards
  row "PyTorch: load shards, cold (MiB/s)" load_shards_mib
  row "PyTorch: train epoch 1 on sample files (samples/s)" train_files0
  row "PyTorch: train epoch 1 on shards (samples/s)" train_shards0
  row "PyTorch: train epoch 2 on sample files (samples/s)" train_files1
  row "PyTorch: train epoch 2 on shards (samples/s)" train_shards1
  row "PyTorch: training checkpoints, ${R[torch.ckpt_small_mib]} MiB: write (MiB/s)" ckpt_small
  row "PyTorch: torch.save ${R[torch.ckpt_mib]} MiB, fsync (MiB/s)" ckpt_w
  row "PyTorch: torch.load it on the other node, cold (MiB/s)" ckpt_r
  echo
  echo "Sizes: MPI scale $MPI_SCALE (4 ranks); $SAMPLES sample files of 3,088 bytes in $DIRS directories," \
    "8 shards x $SHARD_MIB MiB. amlfs: 1 MDS + 4 OSTs + 2 client nodes, each in its own network" \
    "namespace; files striped 4 x 1 MiB. Local disk: the same programs, every rank in one directory."
} >"$OUT"
echo
cat "$OUT"
if ((WRITE_DOC)); then
  write_doc_block workloads "$OUT" "scripts/bench-workloads.sh $*" \
    "$(mpirun --version | head -n1), PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
  echo "wrote the table to docs/PERFORMANCE.md" >&2
fi
