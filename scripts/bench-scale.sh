#!/usr/bin/env bash
# Scaling curves of amlfs on this machine; prints markdown tables, not a test.
#
#   scripts/bench-scale.sh [--quick] [osts|stripes|mounts|dir]...
#
#   osts     sequential throughput with 1, 2 and 4 OSTs (files striped over all)
#   stripes  the same with 4 OSTs and stripe counts 1, 2 and 4
#   mounts   two client mounts of one cluster writing and reading at once,
#            separate files and one shared file (each mount its half)
#   dir      create, stat and negative-lookup rates as one directory grows
#            to BENCH_DIR_FILES entries (default 200,000)
#
# With no section named, runs them all. Each cluster is 1 MDS + N OSTs on
# 127.0.0.1 under /var/tmp, stopped at the end. Environment: BENCH_SIZE
# (1-job file, default 1G), BENCH_SIZE4 (per job of the 4-job runs, default
# 256M), BENCH_DIR_FILES, BENCH_DIR_STEP (default 20,000), AMLFS_BIN. Run as
# root (cold reads drop the page cache).
set -euo pipefail

cd "$(dirname "$0")/.."
SRC=$(pwd)
QUICK=0 SECTIONS=()
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    osts | stripes | mounts | dir) SECTIONS+=("$a") ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-scale.sh: unknown argument $a (see --help)" >&2; exit 2 ;;
  esac
done
((${#SECTIONS[@]})) || SECTIONS=(osts stripes mounts dir)
if ((QUICK)); then
  SIZE=${BENCH_SIZE:-256M} SIZE4=${BENCH_SIZE4:-64M}
  DIR_FILES=${BENCH_DIR_FILES:-20000} DIR_STEP=${BENCH_DIR_STEP:-5000}
else
  SIZE=${BENCH_SIZE:-1G} SIZE4=${BENCH_SIZE4:-256M}
  DIR_FILES=${BENCH_DIR_FILES:-200000} DIR_STEP=${BENCH_DIR_STEP:-20000}
fi
((EUID == 0)) || { echo "bench-scale.sh: run as root (drops caches)" >&2; exit 1; }
bash scripts/install-deps.sh >/dev/null
source scripts/bench-lib.sh
build_release

WORK=$(mktemp -d /var/tmp/amlfs-scale.XXXXXX)
CLUSTERS=() EXTRA_PIDS=() EXTRA_MOUNTS=()
cleanup() {
  set +e
  local m p r
  for m in "${EXTRA_MOUNTS[@]}"; do fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  for p in "${EXTRA_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for r in "${CLUSTERS[@]}"; do bash "$SRC/scripts/local-cluster.sh" down --root "$r" --purge >/dev/null 2>&1; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# cluster_up NAME NOSTS -> the mount point of a fresh cluster, files striped
# over all NOSTS OSTs in 1 MiB stripes
cluster_up() {
  local root=$WORK/$1
  CLUSTERS+=("$root")
  bash scripts/local-cluster.sh up --root "$root" --osts "$2" --stripe-count "$2" \
    --stripe-size 1048576 >/dev/null
  echo "$root/mnt"
}
cluster_down() { bash scripts/local-cluster.sh down --root "$WORK/$1" --purge >/dev/null; }

# seq_row LABEL DIR: one table row of write/read MiB/s, 1 job and 4 jobs
seq_row() {
  local label=$1 d=$2 w1 r1 w4 r4 v
  v=$(fio_run "$d" seq1 --rw=write --bs=1M --size="$SIZE" --end_fsync=1); w1=${v% *}
  drop_caches
  v=$(fio_run "$d" seq1 --rw=read --bs=1M --size="$SIZE"); r1=${v% *}
  v=$(fio_run "$d" seq4 --rw=write --bs=1M --size="$SIZE4" --numjobs=4 --end_fsync=1); w4=${v% *}
  drop_caches
  v=$(fio_run "$d" seq4 --rw=read --bs=1M --size="$SIZE4" --numjobs=4); r4=${v% *}
  rm -f "$d"/seq1.* "$d"/seq4.*
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$w1" "$r1" "$w4" "$r4"
}
seq_header() {
  echo "| $1 | write 1 job (MiB/s) | read 1 job, cold (MiB/s) | write 4 jobs (MiB/s) | read 4 jobs, cold (MiB/s) |"
  echo "|---|---:|---:|---:|---:|"
}

section_osts() {
  echo "### Sequential throughput by number of OSTs (stripe count = OSTs, 1 MiB stripes)"
  echo
  seq_header OSTs
  local n mnt
  for n in 1 2 4; do
    echo "-- $n OST(s)" >&2
    mnt=$(cluster_up "osts$n" "$n")
    seq_row "$n" "$mnt"
    cluster_down "osts$n"
  done
  mkdir -p "$WORK/local"
  seq_row "local disk" "$WORK/local"
  rm -rf "$WORK/local"
  echo
}

section_stripes() {
  echo "### Sequential throughput by stripe count (4 OSTs, 1 MiB stripes)"
  echo
  seq_header "stripe count"
  local c mnt
  mnt=$(cluster_up stripes 4)
  for c in 1 2 4; do
    echo "-- stripe count $c" >&2
    mkdir "$mnt/c$c"
    "$AMLFS_BIN/lfs" setstripe -c "$c" "$mnt/c$c"
    seq_row "$c" "$mnt/c$c"
  done
  cluster_down stripes
  echo
}

# fio_pair DIR_A DIR_B ARGS... -> "<MiB/s of A> <MiB/s of B>", both at once
fio_pair() {
  local a=$1 b=$2
  shift 2
  fio_run "$a" pair "$@" >"$WORK/pair.a" &
  local pa=$!
  fio_run "$b" pair "$@" >"$WORK/pair.b" &
  local pb=$!
  wait "$pa" "$pb"
  echo "$(cut -d' ' -f1 "$WORK/pair.a") $(cut -d' ' -f1 "$WORK/pair.b")"
}

section_mounts() {
  echo "### Two client mounts at once (4 OSTs, files striped over 4)"
  echo
  local mnt m2 addr pid i one_w one_r a b half bytes
  mnt=$(cluster_up mounts 4)
  addr=$(. "$WORK/mounts/cluster.env" && echo "$CL_MDS_ADDR")
  m2=$WORK/mounts/mnt2
  mkdir -p "$m2"
  "$AMLFS_BIN/amlfs-fuse" --mds "$addr" -f "$m2" >"$WORK/fuse2.log" 2>&1 &
  pid=$!
  EXTRA_PIDS+=("$pid")
  EXTRA_MOUNTS+=("$m2")
  for ((i = 0; i < 100; i++)); do mountpoint -q "$m2" && break; sleep 0.1; done
  mountpoint -q "$m2" || { cat "$WORK/fuse2.log" >&2; echo "bench-scale.sh: second mount failed" >&2; exit 1; }
  mkdir "$mnt/a" "$mnt/b" "$mnt/shared"

  echo "-- one mount alone" >&2
  v=$(fio_run "$mnt/a" one --rw=write --bs=1M --size="$SIZE" --end_fsync=1); one_w=${v% *}
  drop_caches
  v=$(fio_run "$mnt/a" one --rw=read --bs=1M --size="$SIZE"); one_r=${v% *}
  rm -f "$mnt"/a/one.*
  echo "| workload | mount 1 (MiB/s) | mount 2 (MiB/s) | both (MiB/s) | one mount alone (MiB/s) |"
  echo "|---|---:|---:|---:|---:|"
  echo "-- two mounts, separate files" >&2
  read -r a b <<<"$(fio_pair "$mnt/a" "$m2/b" --rw=write --bs=1M --size="$SIZE" --end_fsync=1)"
  echo "| write, separate files ($SIZE each) | $a | $b | $((a + b)) | $one_w |"
  drop_caches
  read -r a b <<<"$(fio_pair "$mnt/a" "$m2/b" --rw=read --bs=1M --size="$SIZE")"
  echo "| read, separate files, cold | $a | $b | $((a + b)) | $one_r |"
  rm -f "$mnt"/a/pair.* "$mnt"/b/pair.*

  echo "-- two mounts, one shared file" >&2
  bytes=$(numfmt --from=iec "$SIZE")
  half=$((bytes / 2))
  fio_run "$mnt/shared" sh --filename=shared.dat --rw=write --bs=1M --size="$half" --offset=0 \
    --end_fsync=1 >"$WORK/pair.a" &
  a=$!
  fio_run "$m2/shared" sh --filename=shared.dat --rw=write --bs=1M --size="$half" --offset="$half" \
    --end_fsync=1 >"$WORK/pair.b" &
  b=$!
  wait "$a" "$b"
  read -r a _ <"$WORK/pair.a"
  read -r b _ <"$WORK/pair.b"
  echo "| write, one shared file, each mount its half | $a | $b | $((a + b)) | $one_w |"
  local got
  got=$(stat -c %s "$m2/shared/shared.dat")
  [[ $got == "$bytes" ]] || echo "warning: the shared file has $got bytes, expected $bytes" >&2
  fusermount3 -u "$m2"
  wait "$pid" || true
  EXTRA_MOUNTS=() EXTRA_PIDS=()
  cluster_down mounts
  echo
}

section_dir() {
  echo "### One directory growing to $DIR_FILES entries (2 creating processes)"
  echo
  local mnt
  mnt=$(cluster_up dir 4)
  mkdir "$mnt/big"
  echo "| entries | create (ops/s) | stat, random existing (ops/s) | lookup of a missing name (ops/s) |"
  echo "|---:|---:|---:|---:|"
  python3 - "$mnt/big" "$DIR_FILES" "$DIR_STEP" <<'PY'
import os, random, sys, time
from multiprocessing import Pool
d, total, step = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def create(rng):
    for i in range(*rng):
        os.close(os.open(f"{d}/f{i:07d}", os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))
rnd = random.Random(1)
with Pool(2) as pool:
    for have in range(0, total, step):
        t = time.perf_counter()
        mid = have + step // 2
        pool.map(create, [(have, mid), (mid, have + step)])
        creates = step / (time.perf_counter() - t)
        time.sleep(1.2)  # let the entries the creates cached expire
        sample = [rnd.randrange(have + step) for _ in range(2000)]
        t = time.perf_counter()
        for i in sample: os.stat(f"{d}/f{i:07d}")
        stats = len(sample) / (time.perf_counter() - t)
        t = time.perf_counter()
        for i in sample:
            try: os.stat(f"{d}/missing{i:07d}.{have}")
            except FileNotFoundError: pass
        misses = len(sample) / (time.perf_counter() - t)
        print(f"| {have + step} | {creates:.0f} | {stats:.0f} | {misses:.0f} |", flush=True)
PY
  local t0
  t0=$(date +%s.%N)
  local n
  n=$(ls -l "$mnt/big" | wc -l)
  echo
  echo "\`ls -l\` of the $((n - 1))-entry directory: $(seconds_since "$t0") s."
  cluster_down dir
  echo
}

echo "amlfs scaling: $(nproc) cores, kernel $(uname -r), $(date -u +%Y-%m-%d)," \
  "sizes: 1 job $SIZE, 4 jobs x $SIZE4" >&2
for s in "${SECTIONS[@]}"; do "section_$s"; done
