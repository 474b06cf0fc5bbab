#!/usr/bin/env bash
# Two builds of amlfs, measured the same way in one run: Release binaries of
# git revision REV and of this tree, each on a cluster of its own
# (127.0.0.1, 1 MDS, 4 OSTs, files striped 4 x 1 MiB) started by its own
# scripts/local-cluster.sh. Each is measured BENCH_ROUNDS times (default 3),
# in turns that swap which goes first every round (the second run of a pair
# tends to find the disk warmer), and the median of its runs is kept:
# sequential write (with fsync) and cold read of one file and of 4 files in
# parallel, 4 KiB random reads, and file creates, stats and unlinks. Prints
# a table with the ratios; not a test.
#
#   scripts/bench-builds.sh REV [--write-doc]
#
# --write-doc puts the table in docs/PERFORMANCE.md (the builds block).
# Environment: BENCH_SIZE (1-job file, default 1G), BENCH_SIZE4 (per job of
# the 4-job runs, default 256M), BENCH_RUNTIME (s of random reads, default
# 10), BENCH_FILES (creates, stats, unlinks, default 2000), BENCH_ROUNDS.
# REV is checked out in .bench-rev/ (removed at the end) and built in
# .bench-rev/build-release/; this tree is built in build-release/.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
script_help "$@"

cd "$(dirname "$0")/.."
SRC=$(pwd)
REV="" WRITE_DOC=0
for a in "$@"; do
  case "$a" in
    --write-doc) WRITE_DOC=1 ;;
    -*) echo "bench-builds.sh: unknown option $a" >&2; exit 2 ;;
    *) [[ -z "$REV" ]] || { echo "bench-builds.sh: one revision only" >&2; exit 2; }; REV=$a ;;
  esac
done
[[ -n "$REV" ]] || { echo "bench-builds.sh: usage: scripts/bench-builds.sh REV [--write-doc]" >&2; exit 2; }
git rev-parse --verify -q "$REV^{commit}" >/dev/null ||
  { echo "bench-builds.sh: no revision $REV" >&2; exit 1; }
ROUNDS=${BENCH_ROUNDS:-3}
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench-builds.sh: BENCH_ROUNDS must be a positive number" >&2; exit 2; }
source scripts/bench-lib.sh
io_bench_setup "bench-builds.sh"

REV_TREE=$SRC/.bench-rev
ROOT="" TABLE=""
cleanup() {
  down_root
  git worktree remove --force "$REV_TREE" >/dev/null 2>&1 || true
  [[ -n "$TABLE" ]] && rm -f "$TABLE"
}
trap cleanup EXIT
SHORT=$(git rev-parse --short "$REV")
HEAD_NAME=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- . 2>/dev/null || HEAD_NAME+="+changes"
echo "-- building Release binaries of $SHORT" >&2
release_build_of "$REV" "$REV_TREE" >&2 || exit 1
echo "-- building Release binaries of this tree ($HEAD_NAME)" >&2
release_build >&2 || exit 1

# measure TREE -> "sw1 sr1 sw4 sr4 rr creates stats unlinks" (MiB/s, IOPS,
# files/s) of TREE's binaries, on a cluster started by TREE's scripts.
measure() {
  ROOT=$(mktemp -d /var/tmp/amlfs-bench-builds.XXXXXX)
  AMLFS_BIN=$1/build-release/bin bash "$1/scripts/local-cluster.sh" up --root "$ROOT" --osts 4 \
    --stripe-count 4 --stripe-size 1048576 >/dev/null ||
    { echo "bench-builds.sh: the cluster of $1 did not start" >&2; exit 1; }
  echo "$(io_figures "$ROOT/mnt") $(md_figures "$ROOT/mnt")"
  (down_root)
  ROOT=""
}

runs_rev=() runs_head=()
for ((round = 1; round <= ROUNDS; round++)); do
  if ((round % 2)); then
    echo "-- round $round/$ROUNDS: $SHORT, then $HEAD_NAME" >&2
    runs_rev+=("$(measure "$REV_TREE")") || exit 1
    runs_head+=("$(measure "$SRC")") || exit 1
  else
    echo "-- round $round/$ROUNDS: $HEAD_NAME, then $SHORT" >&2
    runs_head+=("$(measure "$SRC")") || exit 1
    runs_rev+=("$(measure "$REV_TREE")") || exit 1
  fi
done
read -r -a rev < <(median "${runs_rev[@]}")
read -r -a head < <(median "${runs_head[@]}")

TABLE=$(mktemp)
names=("${IO_NAMES[@]}" "stat, files/s" "unlink, files/s")
{
  echo "| | $SHORT | $HEAD_NAME | $HEAD_NAME / $SHORT |"
  echo "|---|---:|---:|---:|"
  for i in "${!names[@]}"; do
    printf '| %s | %s | %s | %s |\n' "${names[i]}" "${rev[i]}" "${head[i]}" "$(ratio "${head[i]}" "${rev[i]}")"
  done
  echo
  echo "Each figure is the median of $ROUNDS runs; every run, in the rows' order:"
  echo
  for i in "${!runs_rev[@]}"; do
    echo "- round $((i + 1)): $SHORT ${runs_rev[i]}; $HEAD_NAME ${runs_head[i]}"
  done
} >"$TABLE"
cat "$TABLE"
if ((WRITE_DOC)); then
  write_doc_block builds "$TABLE" "scripts/bench-builds.sh $SHORT" \
    "fio $(fio --version), $HEAD_NAME against $SHORT"
fi
