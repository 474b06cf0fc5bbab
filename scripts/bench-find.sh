#!/usr/bin/env bash
# Times `lfs find` against GNU find over the same amlfs mount, on a tree of
# BENCH_FIND_FILES files (default 100,000) in 100 directories, half of them
# striped over 1 OST and half over 4. Prints a table; not a test.
#
#   scripts/bench-find.sh [MOUNTPOINT]
#
# Without MOUNTPOINT it starts its own cluster (1 MDS + 4 OSTs on 127.0.0.1)
# under /var/tmp and stops it at the end. Run as root (drops caches).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
script_help "$@"

cd "$(dirname "$0")/.."
SRC=$(pwd)
NFILES=${BENCH_FIND_FILES:-100000}
((EUID == 0)) || { echo "bench-find.sh: run as root (drops caches)" >&2; exit 1; }
source scripts/bench-lib.sh
build_release
BIN=$AMLFS_BIN
LFS=$BIN/lfs
[[ -x $LFS ]] || { echo "bench-find.sh: $LFS missing: build first" >&2; exit 1; }

ROOT=""
cleanup() {
  set +e
  [[ -n "$ROOT" ]] && AMLFS_BIN=$BIN bash "$SRC/scripts/local-cluster.sh" down --root "$ROOT" --purge >/dev/null
}
trap cleanup EXIT
if [[ $# -ge 1 ]]; then
  MNT=$1
else
  ROOT=$(mktemp -d /var/tmp/amlfs-bench-find.XXXXXX)
  AMLFS_BIN=$BIN bash scripts/local-cluster.sh up --root "$ROOT" --osts 4 >/dev/null
  MNT="$ROOT/mnt"
fi
T="$MNT/findtree.$$"
mkdir "$T"
echo "-- creating $NFILES files in 100 directories under $T" >&2
for d in $(seq -w 0 99); do
  mkdir "$T/d$d"
  if ((10#$d % 2)); then "$LFS" setstripe -c 4 "$T/d$d"; else "$LFS" setstripe -c 1 "$T/d$d"; fi
done
t0=$(date +%s.%N)
python3 - "$T" "$NFILES" <<'PY'
import os, sys
from concurrent.futures import ThreadPoolExecutor
root, n = sys.argv[1], int(sys.argv[2])
def make(d):
    for i in range(d, n, 100):
        os.close(os.open(f"{root}/d{d:02d}/f{i:06d}", os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))
with ThreadPoolExecutor(4) as ex:
    list(ex.map(make, range(100)))
PY
echo "-- created in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s" >&2

# timed LABEL CMD... -> "<seconds> <lines>", caches dropped first
timed() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
  local t0 t1 n
  t0=$(date +%s.%N)
  n=$("$@" | wc -l)
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "%.2f %d", b - a, n }'
}
read -r gf gn <<<"$(timed find "$T" -name '*7*')"
read -r lf ln <<<"$(timed "$LFS" find "$T" --name '*7*')"
read -r gs gsn <<<"$(timed find "$T" -type f -size +0)"
read -r ls lsn <<<"$(timed "$LFS" find "$T" --type f --stripe-count 4)"
[[ "$gn" == "$ln" ]] || echo "warning: find printed $gn paths, lfs find $ln" >&2

printf '| %-44s | %9s | %9s |\n' "$NFILES files, caches dropped" seconds matches
printf '|%s|%s|%s|\n' "----------------------------------------------" "----------:" "----------:"
printf '| %-44s | %9s | %9s |\n' "find -name '*7*'" "$gf" "$gn"
printf '| %-44s | %9s | %9s |\n' "lfs find --name '*7*'" "$lf" "$ln"
printf '| %-44s | %9s | %9s |\n' "find -type f -size +0 (stats every file)" "$gs" "$gsn"
printf '| %-44s | %9s | %9s |\n' "lfs find --type f --stripe-count 4" "$ls" "$lsn"
echo
awk -v g="$gf" -v l="$lf" 'BEGIN { printf "lfs find --name is %.1fx the speed of find -name\n", g / l }'
rm -rf "$T"
