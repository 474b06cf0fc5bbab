#!/usr/bin/env bash
# Small files with and without Data-on-MDT, in one run: on one cluster
# (127.0.0.1, 1 MDS, 4 OSTs), files of BENCH_DOM_BYTES (default 3 KiB) in
# 50 directories are written (open, write, close), then read back from a
# cold cache, in a directory striped over one OST (lfs setstripe -c 1) and
# in one whose first 64 KiB live on the MDS (lfs setstripe -E 64K -L mdt
# -E -1 -c 1), and on the local disk (/var/tmp). BENCH_ROUNDS rounds
# (default 3), the order of the three turning every round; medians. Prints
# files/s and ratios; not a test.
#
#   scripts/bench-dom.sh [--write-doc]
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
WRITE_DOC=0
[[ "${1:-}" == --write-doc ]] && WRITE_DOC=1
FILES=${BENCH_DOM_FILES:-5000}
BYTES=${BENCH_DOM_BYTES:-3072}
ROUNDS=${BENCH_ROUNDS:-3}
((EUID == 0)) || { echo "bench-dom.sh: run as root (FUSE mounts, dropping caches)" >&2; exit 1; }
source scripts/bench-lib.sh
build_release

ROOT=$(mktemp -d /var/tmp/amlfs-bench-dom.XXXXXX)
LOCAL=$(mktemp -d /var/tmp/amlfs-bench-dom-local.XXXXXX)
TABLE=$(mktemp)
trap 'down_root; rm -rf "$LOCAL" "$TABLE"' EXIT
bash scripts/local-cluster.sh up --root "$ROOT" --osts 4 >/dev/null
MNT=$ROOT/mnt
LFS=$AMLFS_BIN/lfs

# figures DIR -> "writes/s cold-reads/s" for $FILES files of $BYTES bytes.
figures() {
  local d=$1 w r
  mkdir -p "$d"
  w=$(python3 - "$d" "$FILES" "$BYTES" <<'PY'
import os, sys, time
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for k in range(50): os.makedirs(f"{d}/d{k}", exist_ok=True)
data = os.urandom(size)
t = time.monotonic()
for i in range(n):
    fd = os.open(f"{d}/d{i % 50}/f{i}", os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    os.write(fd, data)
    os.close(fd)
print(f"{n / (time.monotonic() - t):.0f}")
PY
  )
  drop_caches
  r=$(python3 - "$d" "$FILES" "$BYTES" <<'PY'
import os, sys, time
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = time.monotonic()
for i in range(n):
    with open(f"{d}/d{i % 50}/f{i}", "rb", buffering=0) as f:
        if len(f.read()) != size: sys.exit(f"short read of f{i}")
print(f"{n / (time.monotonic() - t):.0f}")
PY
  )
  rm -rf "$d"
  echo "$w $r"
}

declare -a OST DOM DISK
for ((round = 0; round < ROUNDS; round++)); do
  echo "-- round $((round + 1)) of $ROUNDS" >&2
  mkdir "$MNT/ost" "$MNT/dom"
  "$LFS" setstripe -c 1 "$MNT/ost"
  "$LFS" setstripe -E 64K -L mdt -E -1 -c 1 "$MNT/dom"
  order=(ost dom disk)
  for ((k = 0; k < round % 3; k++)); do order=("${order[@]:1}" "${order[0]}"); done
  for what in "${order[@]}"; do
    case $what in
      ost) OST+=("$(figures "$MNT/ost/t")") ;;
      dom) DOM+=("$(figures "$MNT/dom/t")") ;;
      disk) DISK+=("$(figures "$LOCAL/t")") ;;
    esac
  done
  rmdir "$MNT/ost" "$MNT/dom"
done
read -r -a ost < <(median "${OST[@]}")
read -r -a dom < <(median "${DOM[@]}")
read -r -a disk < <(median "${DISK[@]}")
NAMES=("write (create, write, close), files/s" "cold read (open, read, close), files/s")
{
  echo "| $FILES files of $BYTES bytes | on an OST | Data-on-MDT | local disk | DoM / OST | DoM / disk |"
  echo "|---|---:|---:|---:|---:|---:|"
  for i in 0 1; do
    printf '| %s | %s | %s | %s | %s | %s |\n' "${NAMES[i]}" "${ost[i]}" "${dom[i]}" "${disk[i]}" \
      "$(ratio "${dom[i]}" "${ost[i]}")" "$(ratio "${dom[i]}" "${disk[i]}")"
  done
} >"$TABLE"
cat "$TABLE"
if ((WRITE_DOC)); then
  write_doc_block dom "$TABLE" "BENCH_ROUNDS=$ROUNDS scripts/bench-dom.sh" \
    "medians of $ROUNDS rounds, local disk $(df --output=fstype /var/tmp | tail -n1)"
fi
