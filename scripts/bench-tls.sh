#!/usr/bin/env bash
# The cost of encryption in transit: the same cluster (127.0.0.1, 1 MDS,
# 4 OSTs, files striped 4 x 1 MiB) run plain and with --tls, measured in
# one run: sequential write (with fsync) and cold read of one file and of 4
# files in parallel, 4 KiB random reads, and file creates. Prints a table
# with the TLS / plain ratios; not a test.
#
#   scripts/bench-tls.sh [--write-doc]
#
# --write-doc puts the table in docs/PERFORMANCE.md (the tls block).
# Environment: BENCH_SIZE (1-job file, default 1G), BENCH_SIZE4 (per job of
# the 4-job runs, default 256M), BENCH_RUNTIME (s of random reads, default
# 10), BENCH_FILES (creates, default 2000). Binaries: $AMLFS_BIN, else a
# Release build in build-release/.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
script_help "$@"

cd "$(dirname "$0")/.."
SRC=$(pwd)
WRITE_DOC=0
[[ "${1:-}" == --write-doc ]] && WRITE_DOC=1
source scripts/bench-lib.sh
io_bench_setup "bench-tls.sh"
build_release

ROOT=""
trap down_root EXIT

# measure [local-cluster.sh options] -> "sw1 sr1 sw4 sr4 rr creates" (MiB/s, IOPS, files/s)
measure() {
  ROOT=$(mktemp -d /var/tmp/amlfs-bench-tls.XXXXXX)
  bash scripts/local-cluster.sh up --root "$ROOT" --osts 4 --stripe-count 4 --stripe-size 1048576 \
    "$@" >/dev/null
  io_figures "$ROOT/mnt"
  (down_root)
  ROOT=""
}

echo "-- plain" >&2
read -r -a plain < <(measure)
echo "-- tls" >&2
read -r -a tls < <(measure --tls)

TABLE=$(mktemp)
trap 'down_root; rm -f "$TABLE"' EXIT
{
  echo "| | plain | TLS | TLS / plain |"
  echo "|---|---:|---:|---:|"
  for i in "${!IO_NAMES[@]}"; do
    printf '| %s | %s | %s | %s |\n' "${IO_NAMES[i]}" "${plain[i]}" "${tls[i]}" \
      "$(ratio "${tls[i]}" "${plain[i]}")"
  done
} >"$TABLE"
cat "$TABLE"
if ((WRITE_DOC)); then
  write_doc_block tls "$TABLE" "scripts/bench-tls.sh" "OpenSSL $(openssl version | cut -d' ' -f2), fio $(fio --version)"
fi
