#!/usr/bin/env bash
# Benchmarks amlfs and prints one table (MiB/s, IOPS, ops/s). Not a test: it
# prints figures, measured in one run on this machine.
#
#   scripts/bench.sh [--compare] [--quick] [--write-doc] [--workloads] [MOUNTPOINT]
#
# Targets: amlfs (its own cluster: 1 MDS + 4 OSTs on 127.0.0.1, files striped
# 4 x 1 MiB, unless MOUNTPOINT is given) and the local disk directory the
# OSTs' disk holds. --compare adds MooseFS (1 master, 4 chunkservers, one
# copy), GlusterFS (distributed over 4 bricks) and libfuse's passthrough_ll
# over a local directory (the FUSE ceiling), all started and stopped by
# scripts/peers.sh on this machine and disk. --quick shrinks every size for a
# fast look. --write-doc replaces the generated table in docs/PERFORMANCE.md.
# --workloads then runs scripts/bench-workloads.sh (the MPI-IO and PyTorch
# workloads at full size over two client nodes, beside the local disk).
#
# Environment: BENCH_SIZE (1-job file, default 2G), BENCH_SIZE4 (per job of
# the 4-job runs, default 512M), BENCH_RUNTIME (s per random-I/O run, default
# 20), BENCH_FILES (metadata, default 10000), BENCH_SMALL_FILES (3 KiB files
# written and read cold, on amlfs in a Data-on-MDT directory; default
# 10000), AMLFS_BIN (binaries; else a
# Release build in build-release/, made here). Run as root (cold reads drop
# the page cache).
set -euo pipefail

cd "$(dirname "$0")/.."
SRC=$(pwd)
COMPARE=0 QUICK=0 WRITE_DOC=0 WORKLOADS=0 GIVEN=""
for a in "$@"; do
  case "$a" in
    --compare) COMPARE=1 ;;
    --quick) QUICK=1 ;;
    --write-doc) WRITE_DOC=1 ;;
    --workloads) WORKLOADS=1 ;;
    -h | --help) sed -n '2,25p' "$0"; exit 0 ;;
    -*) echo "bench.sh: unknown option $a" >&2; exit 2 ;;
    *) GIVEN=$a ;;
  esac
done
if ((QUICK)); then
  SIZE=${BENCH_SIZE:-256M} SIZE4=${BENCH_SIZE4:-64M} RUNTIME=${BENCH_RUNTIME:-4}
  NFILES=${BENCH_FILES:-2000} CPSIZE=${BENCH_CP_SIZE:-256}
  SMALL_FILES=${BENCH_SMALL_FILES:-2000}
else
  SIZE=${BENCH_SIZE:-2G} SIZE4=${BENCH_SIZE4:-512M} RUNTIME=${BENCH_RUNTIME:-20}
  NFILES=${BENCH_FILES:-10000} CPSIZE=${BENCH_CP_SIZE:-1024}
  SMALL_FILES=${BENCH_SMALL_FILES:-10000}
fi
((EUID == 0)) || { echo "bench.sh: run as root (drops caches)" >&2; exit 1; }
bash scripts/install-deps.sh >/dev/null
source scripts/bench-lib.sh
build_release
command -v fio >/dev/null || { echo "bench.sh: fio missing" >&2; exit 1; }

WORK=$(mktemp -d /var/tmp/amlfs-bench.XXXXXX)
STARTED=()  # "kind root" of what to stop
cleanup() {
  set +e
  local s
  for s in "${STARTED[@]}"; do
    read -r kind root <<<"$s"
    if [[ $kind == amlfs ]]; then
      bash "$SRC/scripts/local-cluster.sh" down --root "$root" --purge >/dev/null 2>&1
    else
      bash "$SRC/scripts/peers.sh" down "$kind" "$root" >/dev/null 2>&1
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# metadata DIR NDIRS PROCS -> "create stat open readdir unlink" ops/s for NFILES files
# spread over NDIRS directories, done by PROCS processes (each its own share).
metadata() {
  python3 - "$1/md.$$" "$NFILES" "$2" "$3" <<'PY'
import os, sys, time
from multiprocessing import Pool
d, n, ndirs, procs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.mkdir(d)
dirs = [os.path.join(d, f"d{i:03d}") for i in range(ndirs)]
for x in dirs: os.mkdir(x)
names = [os.path.join(dirs[i % ndirs], f"f{i:06d}") for i in range(n)]
def create(ps):
    for p in ps: os.close(os.open(p, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))
def stat(ps):
    for p in ps: os.stat(p)
def openclose(ps):
    for p in ps: os.close(os.open(p, os.O_RDONLY))
def unlink(ps):
    for p in ps: os.unlink(p)
def readdir(ds):  # ls -l: list each directory and stat every entry
    c = 0
    for x in ds:
        with os.scandir(x) as it:
            for e in it: e.stat(follow_symlinks=False); c += 1
    return c
def timed(fn, items):
    shares = [items[i::procs] for i in range(procs)]
    t = time.perf_counter()
    if procs == 1: fn(shares[0])
    else:
        with Pool(procs) as p: p.map(fn, shares)
    return n / (time.perf_counter() - t)
r = [timed(create, names), timed(stat, names), timed(openclose, names)]
t = time.perf_counter(); c = readdir(dirs); r.append(c / (time.perf_counter() - t))
r.append(timed(unlink, names))
for x in dirs: os.rmdir(x)
os.rmdir(d)
print(" ".join(f"{x:.0f}" for x in r))
PY
}

# cpu_of PID... -> user+system seconds of those processes so far
cpu_of() {
  local t=0 p
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] || continue
    t=$((t + $(awk '{ print $14 + $15 }' /proc/$p/stat)))
  done
  awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

declare -A R
run_all() {  # run_all KEY DIR
  local k=$1 d=$2 v t0 t1
  echo "-- $k: $d" >&2
  v=$(fio_run "$d" seq1 --rw=write --bs=1M --size="$SIZE" --end_fsync=1); R[$k.sw1]=${v% *}
  drop_caches
  v=$(fio_run "$d" seq1 --rw=read --bs=1M --size="$SIZE"); R[$k.sr1]=${v% *}
  v=$(fio_run "$d" seq1 --rw=read --bs=1M --size="$SIZE"); R[$k.sr1w]=${v% *}
  v=$(fio_run "$d" seq4 --rw=write --bs=1M --size="$SIZE4" --numjobs=4 --end_fsync=1); R[$k.sw4]=${v% *}
  drop_caches
  v=$(fio_run "$d" seq4 --rw=read --bs=1M --size="$SIZE4" --numjobs=4); R[$k.sr4]=${v% *}
  v=$(fio_run "$d" seq4 --rw=read --bs=1M --size="$SIZE4" --numjobs=4); R[$k.sr4w]=${v% *}
  drop_caches
  v=$(fio_run "$d" seq1 --rw=randread --bs=4k --size="$SIZE" --time_based --runtime="$RUNTIME")
  R[$k.rr]=${v#* }
  drop_caches
  v=$(fio_run "$d" seq1 --rw=randread --bs=4k --size="$SIZE" --time_based --runtime="$RUNTIME" \
    --ioengine=libaio --iodepth=16)
  R[$k.rrq]=${v#* }
  v=$(fio_run "$d" seq1 --rw=randwrite --bs=4k --size="$SIZE" --time_based --runtime="$RUNTIME" \
    --end_fsync=1)
  R[$k.rw]=${v#* }
  v=$(fio_run "$d" seq1 --rw=randwrite --bs=4k --size="$SIZE" --time_based --runtime="$RUNTIME" \
    --ioengine=libaio --iodepth=16 --end_fsync=1)
  R[$k.rwq]=${v#* }
  # cp and dd bs=4k of a CPSIZE MiB file (from the local disk's page cache)
  rm -f "$d"/seq1.* "$d"/seq4.*
  head -c "${CPSIZE}M" /dev/urandom >"$WORK/cp.src" 2>/dev/null
  t0=$(date +%s.%N); cp "$WORK/cp.src" "$d/cp.dst"; sync -f "$d/cp.dst" 2>/dev/null || sync; t1=$(date +%s.%N)
  R[$k.cp]=$(awk -v a="$t0" -v b="$t1" -v s="$CPSIZE" 'BEGIN { printf "%.0f", s / (b - a) }')
  rm -f "$d/cp.dst"
  t0=$(date +%s.%N); dd if="$WORK/cp.src" of="$d/dd.dst" bs=4k conv=fsync status=none; t1=$(date +%s.%N)
  R[$k.dd]=$(awk -v a="$t0" -v b="$t1" -v s="$CPSIZE" 'BEGIN { printf "%.0f", s / (b - a) }')
  rm -f "$d/dd.dst" "$WORK/cp.src"
  # Small files: on amlfs in a directory whose first 64 KiB live on the MDT
  # (Data-on-MDT, the layout for small files).
  local small=$d/small
  if [[ $k == amlfs ]]; then
    mkdir "$small"
    "$AMLFS_BIN/lfs" setstripe -E 64K -L mdt -E -1 -c 1 "$small"
  fi
  read -r "R[$k.smallw]" "R[$k.smallr]" <<<"$(small_file_figures "$small/t" "$SMALL_FILES" 3072)"
  rm -rf "$small"
  read -r "R[$k.create]" "R[$k.stat]" "R[$k.open]" "R[$k.readdir]" "R[$k.unlink]" <<<"$(metadata "$d" 1 1)"
  read -r "R[$k.create100]" "R[$k.stat100]" "R[$k.open100]" "R[$k.readdir100]" "R[$k.unlink100]" \
    <<<"$(metadata "$d" 100 1)"
  read -r "R[$k.create2p]" "R[$k.stat2p]" "R[$k.open2p]" "R[$k.readdir2p]" "R[$k.unlink2p]" \
    <<<"$(metadata "$d" 100 2)"
}

# --- targets -----------------------------------------------------------------
TARGETS=()
if [[ -n "$GIVEN" ]]; then
  mountpoint -q "$GIVEN" || { echo "bench.sh: $GIVEN is not a mount point" >&2; exit 1; }
  AMLFS_MNT=$GIVEN
  AMLFS_WHERE="$GIVEN (given)"
else
  bash scripts/local-cluster.sh up --root "$WORK/amlfs" --osts 4 --stripe-count 4 \
    --stripe-size 1048576 >/dev/null
  STARTED+=("amlfs $WORK/amlfs")
  AMLFS_MNT="$WORK/amlfs/mnt"
  AMLFS_WHERE="own cluster: 1 MDS + 4 OSTs on 127.0.0.1, 4 stripes x 1 MiB"
fi
TARGETS+=("amlfs $AMLFS_MNT")
mkdir -p "$WORK/local"
TARGETS+=("local $WORK/local")
if ((COMPARE)); then
  for kind in passthrough moosefs glusterfs; do
    echo "-- starting $kind" >&2
    STARTED+=("$kind $WORK/$kind")
    mnt=$(bash scripts/peers.sh up "$kind" "$WORK/$kind") || { echo "bench.sh: $kind did not start" >&2; exit 1; }
    TARGETS+=("$kind $mnt")
  done
fi

echo "amlfs bench: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
  "kernel $(uname -r), $(date -u +%Y-%m-%d)" >&2
AMLFS_PIDS=()
if [[ -z "$GIVEN" ]]; then
  for f in "$WORK"/amlfs/run/*.pid; do AMLFS_PIDS+=("$(cat "$f")"); done
fi
for t in "${TARGETS[@]}"; do
  read -r key dir <<<"$t"
  if [[ $key == amlfs && ${#AMLFS_PIDS[@]} -gt 0 ]]; then
    c0=$(cpu_of "${AMLFS_PIDS[@]}")
    run_all "$key" "$dir"
    c1=$(cpu_of "${AMLFS_PIDS[@]}")
    fpid=$(cat "$WORK/amlfs/run/fuse.pid")
    R[amlfs.rss]=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$fpid/status")
    R[amlfs.cpu]=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.1f", b - a }')
  else
    run_all "$key" "$dir"
  fi
done

# --- the table ---------------------------------------------------------------
COLS=(amlfs)
((COMPARE)) && COLS+=(moosefs glusterfs passthrough)
COLS+=(local)
best_peer() {  # best_peer METRIC
  local b=0 p v
  for p in moosefs glusterfs; do
    v=${R[$p.$1]:-0}
    awk -v v="$v" -v b="$b" 'BEGIN { exit !(v > b) }' && b=$v
  done
  echo "$b"
}
table() {
  local head="| metric" sep="|---" c m
  for c in "${COLS[@]}"; do head+=" | $c"; sep+="|---:"; done
  ((COMPARE)) && { head+=" | amlfs / best peer | amlfs / ceiling"; sep+="|---:|---:"; }
  echo "$head |"
  echo "$sep|"
  while IFS='|' read -r label m; do
    local line="| $label"
    for c in "${COLS[@]}"; do line+=" | ${R[$c.$m]:--}"; done
    if ((COMPARE)); then
      line+=" | $(ratio "${R[amlfs.$m]:-0}" "$(best_peer "$m")") | $(ratio "${R[amlfs.$m]:-0}" "${R[passthrough.$m]:-0}")"
    fi
    echo "$line |"
  done <<'ROWS'
seq write 1 job (MiB/s)|sw1
seq write 4 jobs (MiB/s)|sw4
seq read 1 job, cold (MiB/s)|sr1
seq read 1 job, warm (MiB/s)|sr1w
seq read 4 jobs, cold (MiB/s)|sr4
seq read 4 jobs, warm (MiB/s)|sr4w
4 KiB random read, psync (IOPS)|rr
4 KiB random read, libaio QD16 (IOPS)|rrq
4 KiB random write, psync (IOPS)|rw
4 KiB random write, libaio QD16 (IOPS)|rwq
cp of a file (MiB/s)|cp
dd bs=4k (MiB/s)|dd
3 KiB files: create, write, close (files/s)|smallw
3 KiB files: cold open, read, close (files/s)|smallr
create, 1 dir (ops/s)|create
stat, 1 dir (ops/s)|stat
open/close, 1 dir (ops/s)|open
ls -l of the dir (entries/s)|readdir
unlink, 1 dir (ops/s)|unlink
create, 100 dirs (ops/s)|create100
stat, 100 dirs (ops/s)|stat100
unlink, 100 dirs (ops/s)|unlink100
create, 100 dirs, 2 procs (ops/s)|create2p
stat, 100 dirs, 2 procs (ops/s)|stat2p
unlink, 100 dirs, 2 procs (ops/s)|unlink2p
ROWS
}
OUT=$WORK/table.md
{
  table
  echo
  if [[ -n "${R[amlfs.cpu]:-}" ]]; then
    echo "amlfs CPU (client + MDS + OSTs) over its whole run: ${R[amlfs.cpu]} s;" \
      "amlfs-fuse peak RSS: ${R[amlfs.rss]} MiB."
  fi
  echo "Sizes: 1 job $SIZE, 4 jobs x $SIZE4, random I/O ${RUNTIME}s on $SIZE, cp/dd ${CPSIZE} MiB," \
    "metadata $NFILES files, $SMALL_FILES small files. amlfs: $AMLFS_WHERE."
} >"$OUT"
echo
cat "$OUT"

if ((WRITE_DOC)); then
  pkg() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo -; }
  write_doc_block bench "$OUT" "scripts/bench.sh $*" \
    "$(fio --version), libfuse $(pkg libfuse3-3), MooseFS $(pkg moosefs-master), GlusterFS $(pkg glusterfs-server)"
  echo "wrote the table to docs/PERFORMANCE.md" >&2
fi

if ((WORKLOADS)); then
  wl=()
  ((QUICK)) && wl+=(--quick)
  ((WRITE_DOC)) && wl+=(--write-doc)
  bash scripts/bench-workloads.sh "${wl[@]}"
fi
