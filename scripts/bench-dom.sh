#!/usr/bin/env bash
# Small files with and without Data-on-MDT, in one run: on one cluster
# (127.0.0.1, 1 MDS, 4 OSTs), files of BENCH_DOM_BYTES (default 3 KiB) in
# 50 directories are written (open, write, close), then read back from a
# cold cache, in a directory striped over one OST (lfs setstripe -c 1) and
# in one whose first 64 KiB live on the MDS (lfs setstripe -E 64K -L mdt
# -E -1 -c 1), and on the local disk (/var/tmp); with --compare, also on
# MooseFS (1 master, 4 chunkservers: scripts/peers.sh). BENCH_ROUNDS rounds
# (default 3), the order of the targets turning every round; medians.
# Prints files/s and ratios; not a test.
#
#   scripts/bench-dom.sh [--compare] [--write-doc]
#
# --write-doc puts the table in docs/PERFORMANCE.md (the dom block).
# Environment: BENCH_DOM_FILES (files per round, default 5000),
# BENCH_DOM_BYTES, BENCH_ROUNDS. Binaries: $AMLFS_BIN, else a Release build
# in build-release/. Run as root.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
script_help "$@"

cd "$(dirname "$0")/.."
SRC=$(pwd)
WRITE_DOC=0 COMPARE=0
for a in "$@"; do
  case "$a" in
    --write-doc) WRITE_DOC=1 ;;
    --compare) COMPARE=1 ;;
    *) echo "bench-dom.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
FILES=${BENCH_DOM_FILES:-5000}
BYTES=${BENCH_DOM_BYTES:-3072}
ROUNDS=${BENCH_ROUNDS:-3}
((EUID == 0)) || { echo "bench-dom.sh: run as root (FUSE mounts, dropping caches)" >&2; exit 1; }
source scripts/bench-lib.sh
build_release

ROOT=$(mktemp -d /var/tmp/amlfs-bench-dom.XXXXXX)
LOCAL=$(mktemp -d /var/tmp/amlfs-bench-dom-local.XXXXXX)
MFS=$(mktemp -d /var/tmp/amlfs-bench-dom-moosefs.XXXXXX)
TABLE=$(mktemp)
stop_all() {
  ((COMPARE)) && bash scripts/peers.sh down moosefs "$MFS" >/dev/null 2>&1
  down_root
  rm -rf "$LOCAL" "$TABLE" "$MFS"
}
trap stop_all EXIT
bash scripts/local-cluster.sh up --root "$ROOT" --osts 4 >/dev/null
TARGETS=(ost dom disk)
if ((COMPARE)); then
  MFS_MNT=$(bash scripts/peers.sh up moosefs "$MFS") || { echo "bench-dom.sh: MooseFS did not start" >&2; exit 1; }
  TARGETS+=(moosefs)
fi
MNT=$ROOT/mnt
LFS=$AMLFS_BIN/lfs

figures() { small_file_figures "$1" "$FILES" "$BYTES"; }

declare -A RUNS
for ((round = 0; round < ROUNDS; round++)); do
  echo "-- round $((round + 1)) of $ROUNDS" >&2
  mkdir "$MNT/ost" "$MNT/dom"
  "$LFS" setstripe -c 1 "$MNT/ost"
  "$LFS" setstripe -E 64K -L mdt -E -1 -c 1 "$MNT/dom"
  order=("${TARGETS[@]}")
  for ((k = 0; k < round % ${#TARGETS[@]}; k++)); do order=("${order[@]:1}" "${order[0]}"); done
  for what in "${order[@]}"; do
    case $what in
      ost) dir=$MNT/ost/t ;;
      dom) dir=$MNT/dom/t ;;
      disk) dir=$LOCAL/t ;;
      moosefs) dir=$MFS_MNT/t ;;
    esac
    RUNS[$what]+="$(figures "$dir"),"
  done
  rmdir "$MNT/ost" "$MNT/dom"
done
declare -A MED
for what in "${TARGETS[@]}"; do
  IFS=, read -r -a rows <<<"${RUNS[$what]%,}"
  MED[$what]=$(median "${rows[@]}")
done
NAMES=("write (create, write, close), files/s" "cold read (open, read, close), files/s")
{
  head="| $FILES files of $BYTES bytes | on an OST | Data-on-MDT | local disk"
  sep="|---|---:|---:|---:"
  ((COMPARE)) && { head+=" | MooseFS"; sep+="|---:"; }
  head+=" | DoM / OST | DoM / disk"
  sep+="|---:|---:"
  ((COMPARE)) && { head+=" | DoM / MooseFS"; sep+="|---:"; }
  echo "$head |"
  echo "$sep|"
  for i in 0 1; do
    get() { read -r -a v <<<"${MED[$1]}"; echo "${v[i]}"; }
    line="| ${NAMES[i]} | $(get ost) | $(get dom) | $(get disk)"
    ((COMPARE)) && line+=" | $(get moosefs)"
    line+=" | $(ratio "$(get dom)" "$(get ost)") | $(ratio "$(get dom)" "$(get disk)")"
    ((COMPARE)) && line+=" | $(ratio "$(get dom)" "$(get moosefs)")"
    echo "$line |"
  done
} >"$TABLE"
cat "$TABLE"
if ((WRITE_DOC)); then
  write_doc_block dom "$TABLE" "BENCH_ROUNDS=$ROUNDS scripts/bench-dom.sh $*" \
    "medians of $ROUNDS rounds, local disk $(df --output=fstype /var/tmp | tail -n1)"
fi
