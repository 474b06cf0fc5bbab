#!/usr/bin/env bash
# Metadata throughput of a replicated MDS (3 replicas) against a single MDS,
# measured in the same run on clusters this script starts (127.0.0.1, 2
# OSTs, one mount): P processes (1 and 8 by default) each create, stat and
# unlink BENCH_MDS_FILES files (default 2,000) in their own directory. The
# kernel's caches are dropped before the stats, so that each reaches the MDS.
# A single MDS runs twice: as by default (its LevelDB writes are not
# synced) and with --sync-writes (each change fsynced before the answer, as
# each replica's log is). Prints a table with the 3 / 1 ratios; not a test.
#
#   scripts/bench-mds.sh [--write-doc]
#
# --write-doc puts the table in docs/PERFORMANCE.md (the mds-replication
# block). Binaries: $AMLFS_BIN, else a Release build in build-release/.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
script_help "$@"

cd "$(dirname "$0")/.."
SRC=$(pwd)
WRITE_DOC=0
[[ "${1:-}" == --write-doc ]] && WRITE_DOC=1
NFILES=${BENCH_MDS_FILES:-2000}
PROCS=${BENCH_MDS_PROCS:-"1 8"}
((EUID == 0)) || { echo "bench-mds.sh: run as root (FUSE mounts)" >&2; exit 1; }
source scripts/bench-lib.sh
build_release
BIN=$AMLFS_BIN

ROOT=""
trap down_root EXIT

# run MDS_COUNT PROCS [local-cluster.sh options] -> "create/s stat/s unlink/s"
run() {
  local mds=$1 procs=$2
  shift 2
  ROOT=$(mktemp -d /var/tmp/amlfs-bench-mds.XXXXXX)
  bash scripts/local-cluster.sh up --root "$ROOT" --osts 2 --mds "$mds" "$@" >/dev/null
  python3 - "$ROOT/mnt" "$procs" "$NFILES" <<'PY'
import os, sys, time
from multiprocessing import Barrier, Process, Queue
mnt, procs, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = f"{mnt}/bench.{os.getpid()}"
os.mkdir(base)
phases = ("create", "stat", "unlink")
def work(rank, barrier, out):
    d = f"{base}/p{rank}"
    os.mkdir(d)
    names = [f"{d}/f{i:06d}" for i in range(n)]
    for phase in phases:
        barrier.wait()
        if phase == "stat" and rank == 0:  # stats go to the MDS, not the kernel's cache
            os.sync()
            open("/proc/sys/vm/drop_caches", "w").write("3\n")
        barrier.wait()
        t = time.monotonic()
        for p in names:
            if phase == "create":
                os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            elif phase == "stat":
                os.stat(p)
            else:
                os.unlink(p)
        out.put((phase, t, time.monotonic()))
barrier, out = Barrier(procs), Queue()
ps = [Process(target=work, args=(r, barrier, out)) for r in range(procs)]
for p in ps: p.start()
spans = {ph: [] for ph in phases}
for _ in range(procs * len(phases)):
    ph, a, b = out.get()
    spans[ph].append((a, b))
for p in ps:
    p.join()
    if p.exitcode: sys.exit(f"bench-mds: a worker failed ({p.exitcode})")
# Aggregate rate: all operations over the span from the first start to the last end.
print(" ".join(f"{procs * n / (max(b for _, b in spans[ph]) - min(a for a, _ in spans[ph])):.0f}"
               for ph in phases))
PY
  (down_root)
  ROOT=""
}

TABLE=$(mktemp)
{
  echo "| processes | operation | 1 MDS | 1 MDS, synced | 3 replicas | 3 / 1 | 3 / 1 synced |"
  echo "|---:|---|---:|---:|---:|---:|---:|"
} >"$TABLE"
for p in $PROCS; do
  echo "-- $p process(es), $NFILES files each: 1 MDS" >&2
  read -r c1 s1 u1 < <(run 1 "$p")
  echo "-- $p process(es), $NFILES files each: 1 MDS, --sync-writes" >&2
  read -r cs ss us < <(run 1 "$p" --sync-writes)
  echo "-- $p process(es), $NFILES files each: 3 replicas" >&2
  read -r c3 s3 u3 < <(run 3 "$p")
  for row in "create $c1 $cs $c3" "stat $s1 $ss $s3" "unlink $u1 $us $u3"; do
    read -r op a s b <<<"$row"
    printf '| %s | %s | %s/s | %s/s | %s/s | %s | %s |\n' "$p" "$op" "$a" "$s" "$b" \
      "$(ratio "$b" "$a")" "$(ratio "$b" "$s")" >>"$TABLE"
  done
done
cat "$TABLE"
if ((WRITE_DOC)); then
  write_doc_block mds-replication "$TABLE" "scripts/bench-mds.sh --write-doc" \
    "$NFILES files per process, 2 OSTs, 127.0.0.1"
fi
rm -f "$TABLE"
