# Helpers shared by the benchmark scripts (bench.sh, bench-find.sh,
# bench-scale.sh). Sourced, not run. Expects SRC (the source tree).

# build_release: sets and exports AMLFS_BIN; builds Release binaries into
# build-release/ unless AMLFS_BIN is already set.
build_release() {
  if [[ -z "${AMLFS_BIN:-}" ]]; then
    echo "-- building Release binaries in build-release/" >&2
    cmake -S "$SRC" -B "$SRC/build-release" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    cmake --build "$SRC/build-release" -j "$(nproc)" --target amlfs-mds amlfs-ost amlfs-fuse amlfs \
      >/tmp/amlfs-bench-build.log 2>&1 || { cat /tmp/amlfs-bench-build.log >&2; exit 1; }
    AMLFS_BIN=$SRC/build-release/bin
  fi
  export AMLFS_BIN
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

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
