#!/usr/bin/env bash
# What the metrics cost on the I/O path: the same cluster (127.0.0.1, 1 MDS,
# 4 OSTs, files striped 4 x 1 MiB) run with binaries built without metrics
# (the commit before they were added, or BENCH_BASE) and with the current
# ones, not scraped, and scraped: every daemon's and the mount's /metrics
# read once a second over kept-alive connections, as Prometheus does. Each is measured BENCH_ROUNDS times (default 3), alternately, and
# the median of its runs kept:
# sequential write (with fsync) and cold read of one file and of 4 files in
# parallel, 4 KiB random reads, and file creates. Prints a table with the
# ratios; not a test.
#
#   scripts/bench-metrics.sh [--write-doc]
#
# --write-doc puts the table in docs/PERFORMANCE.md (the metrics block).
# Environment: BENCH_SIZE (1-job file, default 1G), BENCH_SIZE4 (per job of
# the 4-job runs, default 256M), BENCH_RUNTIME (s of random reads, default
# 10), BENCH_FILES (creates, default 2000), BENCH_BASE (git revision of the
# binaries without metrics). Release builds go to build-release/ and
# .bench-base/build-release/ (a git worktree, removed at the end).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
script_help "$@"

cd "$(dirname "$0")/.."
SRC=$(pwd)
WRITE_DOC=0
[[ "${1:-}" == --write-doc ]] && WRITE_DOC=1
source scripts/bench-lib.sh
io_bench_setup "bench-metrics.sh"

# The binaries without metrics: the parent of the commit that added them.
BASE=${BENCH_BASE:-$(git log --diff-filter=A --format=%H -- common/metrics.h | tail -n1)^}
git rev-parse --verify -q "$BASE^{commit}" >/dev/null ||
  { echo "bench-metrics.sh: no revision $BASE (set BENCH_BASE)" >&2; exit 1; }
BASE_TREE=$SRC/.bench-base
ROOT="" SCRAPER=""
cleanup() {
  [[ -n "$SCRAPER" ]] && kill "$SCRAPER" 2>/dev/null
  down_root
  git worktree remove --force "$BASE_TREE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
echo "-- building Release binaries of $(git rev-parse --short "$BASE") (no metrics) and of this tree" >&2
release_build_of "$BASE" "$BASE_TREE" >&2 || exit 1
release_build >&2 || exit 1

# scrape_every_second: GETs every /metrics of the cluster under $ROOT once a
# second, one kept-alive connection per endpoint, until killed.
scrape_every_second() {
  local addrs
  addrs=$(sed -n 's/^metrics //p' "$ROOT"/run/*.ready; getfattr -n amlfs.metrics --only-values "$ROOT/mnt" 2>/dev/null)
  exec python3 -c 'import http.client, sys, time
conns = {a: http.client.HTTPConnection(a, timeout=5) for a in sys.argv[1:]}
while True:
    for a, c in conns.items():
        try:
            c.request("GET", "/metrics")
            c.getresponse().read()
        except (OSError, http.client.HTTPException):
            c.close()
    time.sleep(1)' $addrs
}

# measure TREE BIN_DIR SCRAPE -> "sw1 sr1 sw4 sr4 rr creates" (MiB/s, IOPS,
# files/s), the cluster started by TREE's local-cluster.sh (the base
# binaries know no --metrics-listen).
measure() {
  ROOT=$(mktemp -d /var/tmp/amlfs-bench-metrics.XXXXXX)
  AMLFS_BIN=$2 bash "$1/scripts/local-cluster.sh" up --root "$ROOT" --osts 4 --stripe-count 4 \
    --stripe-size 1048576 >/dev/null || { echo "bench-metrics.sh: the cluster did not start" >&2; exit 1; }
  if (($3)); then
    scrape_every_second &
    SCRAPER=$!
  fi
  local figures
  figures=$(io_figures "$ROOT/mnt")
  if [[ -n "$SCRAPER" ]]; then
    kill "$SCRAPER" 2>/dev/null
    wait "$SCRAPER" 2>/dev/null || true
    SCRAPER=""
  fi
  echo "$figures"
  (down_root)
  ROOT=""
}

ROUNDS=${BENCH_ROUNDS:-3}
runs_off=() runs_kept=() runs_on=()
for ((round = 1; round <= ROUNDS; round++)); do
  echo "-- round $round: without metrics" >&2
  runs_off+=("$(measure "$BASE_TREE" "$BASE_TREE/build-release/bin" 0)") || exit 1
  echo "-- round $round: with metrics, not scraped" >&2
  runs_kept+=("$(measure "$SRC" "$SRC/build-release/bin" 0)") || exit 1
  echo "-- round $round: with metrics, scraped every second" >&2
  runs_on+=("$(measure "$SRC" "$SRC/build-release/bin" 1)") || exit 1
done
read -r -a off < <(median "${runs_off[@]}")
read -r -a kept < <(median "${runs_kept[@]}")
read -r -a on < <(median "${runs_on[@]}")

TABLE=$(mktemp)
trap 'cleanup; rm -f "$TABLE"' EXIT
{
  echo "| | without metrics | with, not scraped | with, scraped 1/s | not scraped / without | scraped / without |"
  echo "|---|---:|---:|---:|---:|---:|"
  for i in "${!IO_NAMES[@]}"; do
    printf '| %s | %s | %s | %s | %s | %s |\n' "${IO_NAMES[i]}" "${off[i]}" "${kept[i]}" "${on[i]}" \
      "$(ratio "${kept[i]}" "${off[i]}")" "$(ratio "${on[i]}" "${off[i]}")"
  done
} >"$TABLE"
cat "$TABLE"
{
  echo
  echo "Each figure is the median of $ROUNDS runs; every run, in the columns above:"
  echo
  for i in "${!runs_off[@]}"; do
    echo "- round $((i + 1)): without ${runs_off[i]}; not scraped ${runs_kept[i]}; scraped ${runs_on[i]}"
  done
} >>"$TABLE"
if ((WRITE_DOC)); then
  write_doc_block metrics "$TABLE" "scripts/bench-metrics.sh" "fio $(fio --version), base $(git rev-parse --short "$BASE")"
fi
