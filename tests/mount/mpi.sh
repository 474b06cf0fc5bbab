#!/usr/bin/env bash
# Unmodified MPI-IO programs (tests/workloads/mpi_io.c) with 4 ranks over two
# client nodes (local-cluster.sh --nodes 2), rank r working through node
# r mod 2's mount: a collective strided shared file (with Open MPI's OMPIO and
# with ROMIO, whose data sieving takes fcntl locks across the nodes), an
# N-to-N checkpoint, and interleaved 47,008-byte records; every byte is
# checked by a rank on the other node.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

command -v mpicc >/dev/null && command -v mpirun >/dev/null || fail "Open MPI missing: run scripts/install-deps.sh"
start_cluster --osts 2 --nodes 2
A=$CL_NODE_MOUNT_0
B=$CL_NODE_MOUNT_1
mpicc -O2 -Wall -o "$ROOT/mpi_io" "$AMLFS_SRC/tests/workloads/mpi_io.c" || fail "mpicc failed"

run() {  # run WHAT DIR MPIRUN_OPTIONS... -- MODE
  local what=$1 dir=$2 out
  shift 2
  mkdir -p "$A/$dir"
  out=$(timeout 300 mpirun --allow-run-as-root --oversubscribe -np 4 "$@" "$A/$dir" "$B/$dir" 2>&1) ||
    { echo "$out" >&2; fail "$what: mpirun failed"; }
  echo "$out" | grep -E ': (ok|FAILED)'
  grep -q FAILED <<<"$out" && fail "$what: data differ"
  return 0
}

export OMPI_MCA_btl_vader_single_copy_mechanism=none  # no cross-process memory access needed
check "collective MPI-IO through a strided view, Open MPI's default (OMPIO)"
run ompio ompio "$ROOT/mpi_io" collective
check "collective MPI-IO through ROMIO (data sieving under fcntl locks across nodes)"
run romio romio --mca io romio321 "$ROOT/mpi_io" collective
check "N-to-N checkpoint, each file read back by a rank on the other node"
run checkpoint ckpt "$ROOT/mpi_io" checkpoint
check "independent interleaved 47,008-byte records into one shared file"
run hard hard "$ROOT/mpi_io" hard
