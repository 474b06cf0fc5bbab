#!/usr/bin/env bash
# Benchmarks an amlfs mount against a local-disk directory on the same disk
# and prints a table (MiB/s, IOPS, ops/s). Not a test: it prints figures.
#
#   scripts/bench.sh [MOUNTPOINT]
#
# Without MOUNTPOINT it starts its own cluster (1 MDS + 4 OSTs on 127.0.0.1,
# default layout 4 stripes of 1 MiB) in a temp root under /var/tmp and stops
# it at the end. Run as root (cold reads drop the page cache).
#
# Environment: BENCH_SIZE (1-job file, default 2G), BENCH_SIZE4 (per job of
# the 4-job runs, default 512M), BENCH_RUNTIME (s per random-I/O run, default
# 20), BENCH_FILES (metadata test, default 10000), BENCH_LOCAL (local-disk
# directory to compare with; default a temp dir under /var/tmp),
# AMLFS_BIN (binaries; else PATH, else build/bin).
set -euo pipefail

cd "$(dirname "$0")/.."
SRC=$(pwd)
SIZE=${BENCH_SIZE:-2G}
SIZE4=${BENCH_SIZE4:-512M}
RUNTIME=${BENCH_RUNTIME:-20}
NFILES=${BENCH_FILES:-10000}

((EUID == 0)) || { echo "bench.sh: run as root (drops caches)" >&2; exit 1; }
command -v fio >/dev/null || { echo "bench.sh: fio missing: scripts/install-deps.sh" >&2; exit 1; }

ROOT="" LOCAL=""
cleanup() {
  set +e
  [[ -n "$LOCAL" && -z "${BENCH_LOCAL:-}" ]] && rm -rf "$LOCAL"
  if [[ -n "$ROOT" ]]; then
    bash "$SRC/scripts/local-cluster.sh" down --root "$ROOT" --purge >/dev/null
  fi
}
trap cleanup EXIT

if [[ $# -ge 1 ]]; then
  MNT=$1
  WHERE="$MNT (given)"
else
  ROOT=$(mktemp -d /var/tmp/amlfs-bench.XXXXXX)
  bash scripts/local-cluster.sh up --root "$ROOT" --osts 4 --stripe-count 4 \
    --stripe-size 1048576 >/dev/null
  MNT="$ROOT/mnt"
  WHERE="own cluster in $ROOT: 1 MDS + 4 OSTs, 4 stripes x 1 MiB"
fi
mountpoint -q "$MNT" || { echo "bench.sh: $MNT is not a mount point" >&2; exit 1; }
LOCAL=${BENCH_LOCAL:-$(mktemp -d /var/tmp/amlfs-bench-local.XXXXXX)}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# fio_run DIR NAME ARGS... -> prints "<MiB/s> <IOPS>" (read+write summed)
fio_run() {
  local dir=$1 name=$2 out
  shift 2
  out=$(fio --name="$name" --directory="$dir" --ioengine=psync --group_reporting \
    --output-format=json "$@") || { echo "fio $name failed in $dir" >&2; return 1; }
  python3 - "$out" <<'PY'
import json, sys
text = sys.argv[1]
j = json.loads(text[text.find("{"):])
job = j["jobs"][0]
bw = job["read"]["bw_bytes"] + job["write"]["bw_bytes"]
iops = job["read"]["iops"] + job["write"]["iops"]
print(f"{bw / 1048576:.0f} {iops:.0f}")
PY
}

# metadata DIR -> "create stat readdir open unlink" ops/s for NFILES files
metadata() {
  python3 - "$1/md.$$" "$NFILES" <<'PY'
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
os.mkdir(d)
names = [os.path.join(d, f"f{i:06d}") for i in range(n)]
def timed(fn):
    t = time.perf_counter(); fn(); return n / (time.perf_counter() - t)
def create():
    for p in names: os.close(os.open(p, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))
def stat():
    for p in names: os.stat(p)
def readdir():  # ls -l: list the directory and stat every entry
    c = 0
    with os.scandir(d) as it:
        for e in it: e.stat(follow_symlinks=False); c += 1
    assert c == n, c
def openclose():
    for p in names: os.close(os.open(p, os.O_RDONLY))
def unlink():
    for p in names: os.unlink(p)
r = [timed(f) for f in (create, stat, readdir, openclose, unlink)]
os.rmdir(d)
print(" ".join(f"{x:.0f}" for x in r))
PY
}

declare -A R
run_all() {  # run_all KEY DIR
  local k=$1 d=$2 v
  echo "-- $k: $d" >&2
  v=$(fio_run "$d" seq1 --rw=write --bs=1M --size="$SIZE" --end_fsync=1); R[$k.sw1]=${v% *}
  drop_caches
  v=$(fio_run "$d" seq1 --rw=read --bs=1M --size="$SIZE"); R[$k.sr1]=${v% *}
  v=$(fio_run "$d" seq1 --rw=read --bs=1M --size="$SIZE"); R[$k.sr1w]=${v% *}
  v=$(fio_run "$d" seq4 --rw=write --bs=1M --size="$SIZE4" --numjobs=4 --end_fsync=1); R[$k.sw4]=${v% *}
  drop_caches
  v=$(fio_run "$d" seq4 --rw=read --bs=1M --size="$SIZE4" --numjobs=4); R[$k.sr4]=${v% *}
  drop_caches
  v=$(fio_run "$d" seq1 --rw=randread --bs=4k --size="$SIZE" --time_based --runtime="$RUNTIME")
  R[$k.rr]=${v#* }
  v=$(fio_run "$d" seq1 --rw=randwrite --bs=4k --size="$SIZE" --time_based --runtime="$RUNTIME" \
    --end_fsync=1)
  R[$k.rw]=${v#* }
  rm -f "$d"/seq1.* "$d"/seq4.*
  v=$(metadata "$d")
  read -r "R[$k.create]" "R[$k.stat]" "R[$k.readdir]" "R[$k.open]" "R[$k.unlink]" <<<"$v"
}

echo "amlfs bench: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
  "kernel $(uname -r); amlfs: $WHERE; local: $LOCAL"
run_all amlfs "$MNT"
run_all local "$LOCAL"

row() {  # row LABEL KEY
  local a=${R[amlfs.$2]} l=${R[local.$2]}
  printf '| %-30s | %12s | %12s | %6s |\n' "$1" "$a" "$l" \
    "$(awk -v a="$a" -v l="$l" 'BEGIN { if (l > 0) printf "%.2f", a / l; else print "-" }')"
}
echo
printf '| %-30s | %12s | %12s | %6s |\n' metric amlfs "local disk" ratio
printf '|%s|%s|%s|%s|\n' "--------------------------------" "-------------:" "-------------:" "-------:"
row "seq write 1 job (MiB/s)" sw1
row "seq read 1 job, cold (MiB/s)" sr1
row "seq read 1 job, warm (MiB/s)" sr1w
row "seq write 4 jobs (MiB/s)" sw4
row "seq read 4 jobs, cold (MiB/s)" sr4
row "4 KiB random read (IOPS)" rr
row "4 KiB random write (IOPS)" rw
row "file create (ops/s)" create
row "file stat (ops/s)" stat
row "readdir + stat, ls -l (ops/s)" readdir
row "file open/close (ops/s)" open
row "file removal (ops/s)" unlink
echo
echo "sizes: 1 job $SIZE, 4 jobs x $SIZE4, random I/O ${RUNTIME}s on $SIZE, metadata $NFILES files"
