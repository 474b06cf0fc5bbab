# Helpers shared by the benchmark scripts (bench.sh, bench-find.sh,
# bench-scale.sh, bench-metrics.sh, bench-builds.sh, ...). Sourced, not run.
# Expects SRC (the source tree).

# shellcheck source=lib.sh
source "$SRC/scripts/lib.sh"

# build_release: sets and exports AMLFS_BIN; builds Release binaries into
# build-release/ unless AMLFS_BIN is already set.
build_release() {
  if [[ -z "${AMLFS_BIN:-}" ]]; then
    echo "-- building Release binaries in build-release/" >&2
    release_build >&2 || exit 1
    AMLFS_BIN=$SRC/build-release/bin
  fi
  export AMLFS_BIN
}

# release_build_of REV TREE: Release binaries of git revision REV, checked
# out as a detached worktree at TREE (replaced if there), built into
# TREE/build-release/bin (log: TREE/build-release/build.log). The caller
# removes the worktree (git worktree remove --force TREE). Not a unity
# build: older revisions do not all compile as one unit.
release_build_of() {
  local rev=$1 tree=$2
  git -C "$SRC" worktree remove --force "$tree" >/dev/null 2>&1 || rm -rf "$tree"
  git -C "$SRC" worktree add --detach "$tree" "$rev" >/dev/null 2>&1 ||
    { echo "cannot check out $rev into $tree" >&2; return 1; }
  (SRC=$tree && release_build OFF)
}

# ratio A B -> A / B to two decimals ("-" when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# median "a b c ..." "d e f ..." ... -> the median of each column.
median() {
  python3 -c 'import statistics, sys
rows = [list(map(float, r.split())) for r in sys.argv[1:]]
print(" ".join("%.0f" % statistics.median(col) for col in zip(*rows)))' "$@"
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# down_root: stops and removes the cluster under $ROOT, if any (the EXIT
# trap of the scripts that run one cluster at a time there).
down_root() {
  set +e
  [[ -n "${ROOT:-}" ]] && bash "$SRC/scripts/local-cluster.sh" down --root "$ROOT" --purge >/dev/null 2>&1
  ROOT=""
}

# seconds_since T0 -> elapsed seconds since T0 (from `date +%s.%N`)
seconds_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }

# fio_run DIR NAME ARGS... -> "<MiB/s> <IOPS>" (read + write, all jobs)
fio_run() {
  local dir=$1 name=$2 out
  shift 2
  out=$(fio --name="$name" --directory="$dir" --ioengine=psync --group_reporting \
    --output-format=json "$@" 2>/dev/null) || { echo "0 0"; echo "fio $name failed in $dir" >&2; return 0; }
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

# io_bench_setup PROG: the sizes io_figures uses (BENCH_SIZE, BENCH_SIZE4,
# BENCH_RUNTIME, BENCH_FILES, or their defaults) and the names of its
# figures (IO_NAMES); exits unless run as root with fio installed.
io_bench_setup() {
  SIZE=${BENCH_SIZE:-1G}
  SIZE4=${BENCH_SIZE4:-256M}
  RUNTIME=${BENCH_RUNTIME:-10}
  NFILES=${BENCH_FILES:-2000}
  ((EUID == 0)) || { echo "$1: run as root (FUSE mounts, dropping caches)" >&2; exit 1; }
  command -v fio >/dev/null || { echo "$1: fio missing (scripts/install-deps.sh)" >&2; exit 1; }
  # The rows of io_figures' figures, in its order.
  IO_NAMES=("write 1 x $SIZE, MiB/s" "cold read 1 x $SIZE, MiB/s" "write 4 x $SIZE4, MiB/s"
    "cold read 4 x $SIZE4, MiB/s" "4 KiB random read, IOPS" "create, files/s")
}

# io_figures DIR -> "sw1 sr1 sw4 sr4 rr creates": sequential write (with
# fsync) and cold read of one $SIZE file and of 4 $SIZE4 files in parallel
# (MiB/s), 4 KiB random reads for $RUNTIME s (IOPS), $NFILES creates (files/s).
io_figures() {
  local d=$1 v sw1 sr1 sw4 sr4 rr t0 creates
  v=$(fio_run "$d" seq1 --rw=write --bs=1M --size="$SIZE" --end_fsync=1); sw1=${v% *}
  drop_caches
  v=$(fio_run "$d" seq1 --rw=read --bs=1M --size="$SIZE"); sr1=${v% *}
  v=$(fio_run "$d" seq4 --rw=write --bs=1M --size="$SIZE4" --numjobs=4 --end_fsync=1); sw4=${v% *}
  drop_caches
  v=$(fio_run "$d" seq4 --rw=read --bs=1M --size="$SIZE4" --numjobs=4); sr4=${v% *}
  drop_caches
  v=$(fio_run "$d" seq1 --rw=randread --bs=4k --size="$SIZE" --time_based --runtime="$RUNTIME")
  rr=${v#* }
  mkdir "$d/creates"
  t0=$(date +%s.%N)
  python3 -c 'import os, sys
for i in range(int(sys.argv[2])): os.close(os.open(f"{sys.argv[1]}/f{i}", os.O_CREAT | os.O_WRONLY, 0o644))' \
    "$d/creates" "$NFILES"
  creates=$(awk -v n="$NFILES" -v s="$(seconds_since "$t0")" 'BEGIN { printf "%.0f", n / s }')
  echo "$sw1 $sr1 $sw4 $sr4 $rr $creates"
}

# md_figures DIR -> "stats unlinks": a stat, then an unlink, of every file
# io_figures created in DIR/creates (files/s), after the client's attribute
# cache has expired, so that each stat reaches the server. The names are
# known, not listed: a listing would fill the cache again (readdirplus).
md_figures() {
  sleep 2
  python3 - "$1/creates" "$NFILES" <<'PY'
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
names = [f"{d}/f{i}" for i in range(n)]
t = time.monotonic()
for p in names: os.stat(p)
stats = len(names) / (time.monotonic() - t)
t = time.monotonic()
for p in names: os.unlink(p)
unlinks = len(names) / (time.monotonic() - t)
print(f"{stats:.0f} {unlinks:.0f}")
PY
}

# small_file_figures DIR FILES BYTES -> "writes/s cold-reads/s": FILES files
# of BYTES bytes in 50 directories under DIR, each created, written and
# closed, then (caches dropped) opened, read whole and closed; DIR is
# removed afterwards.
small_file_figures() {
  local d=$1 n=$2 size=$3 w r
  mkdir -p "$d"
  w=$(python3 - "$d" "$n" "$size" <<'PY'
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
  r=$(python3 - "$d" "$n" "$size" <<'PY'
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

# write_doc_block TAG TABLE_FILE COMMAND VERSIONS: puts TABLE_FILE between the
# <!-- TAG:begin --> and <!-- TAG:end --> marks of docs/PERFORMANCE.md (added at
# the end if absent), under a line naming COMMAND, the date, the machine and
# VERSIONS.
write_doc_block() {
  python3 - "$SRC/docs/PERFORMANCE.md" "$@" <<'PY'
import datetime, os, platform, re, sys
doc, tag, table, command, versions = sys.argv[1:6]
meta = (f"Generated by `{command.strip()}` on {datetime.date.today()}: {os.cpu_count()} cores, "
        f"kernel {platform.release()}, {versions}.\n\n")
begin, end = f"<!-- {tag}:begin -->", f"<!-- {tag}:end -->"
block = begin + "\n" + meta + open(table).read() + end
text = open(doc).read()
if begin in text:
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: block, text, flags=re.S)
else:
    text += f"\n## {tag} (generated)\n\n" + block + "\n"
open(doc, "w").write(text)
PY
}
