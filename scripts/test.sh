#!/usr/bin/env bash
# Installs what is missing, builds amlfs and runs every test through ctest:
# unit tests, fuzz replays, and the mount tests (real servers on 127.0.0.1
# and real FUSE mounts; they need root and /dev/fuse).
#
#   scripts/test.sh [--unit-only] [ctest arguments...]
#   scripts/test.sh --sanitize [--unit-only] [ctest arguments...]
#
# Without arguments (what CI runs) it makes two builds, where warnings are
# errors:
#   build/           RelWithDebInfo (gcc): the daemons, mount and tools, and
#                    every mount test, the docs and config checks on them;
#   build-sanitize/  AddressSanitizer + UBSan (clang, -O1): the unit tests,
#                    the fuzz targets (replays, 15 s of libFuzzer each) and
#                    the mount tests labelled `sanitize`; a sanitizer report
#                    written by any process a test started fails that test.
# The sanitized build is compiled at low priority while build/'s tests run.
#
# --sanitize      every test, on the sanitized build alone.
# --unit-only     leaves out the mount tests (for a machine without root or
#                 FUSE); the last line says so.
# ctest arguments run just those tests on build/ (unit tests built too),
#                 e.g. `scripts/test.sh -R mount.striping`.
# AMLFS_BUILD_DIR overrides the build directory, AMLFS_JOBS the build's
# parallelism (default: the number of cores), AMLFS_TEST_JOBS ctest's (2).
# Build logs: BUILD/build.log. Exits 0 only when every test ran and passed.
set -euo pipefail

cd "$(dirname "$0")/.."
SRC=$(pwd)
source scripts/lib.sh
script_help "$@"

SANITIZE_ONLY=0
UNIT_ONLY=0
while (($#)); do
  case $1 in
    --sanitize) SANITIZE_ONLY=1; shift ;;
    --unit-only) UNIT_ONLY=1; shift ;;
    *) break ;;
  esac
done
CTEST_ARGS=("$@")
TEST_JOBS=${AMLFS_TEST_JOBS:-2}

# The mount tests cannot run without root and FUSE: say so, before building.
if ((!UNIT_ONLY)); then
  why=""
  if ((EUID != 0)); then
    why="they need root (this is uid $EUID)"
  elif [[ ! -c /dev/fuse ]]; then
    why="there is no /dev/fuse"
  elif ! command -v fusermount3 >/dev/null; then
    why="fusermount3 is missing"
  fi
  if [[ -n $why ]]; then
    echo "test.sh: the mount tests cannot run: $why; run as root on a machine with FUSE, or pass --unit-only" >&2
    exit 1
  fi
fi

scripts/install-deps.sh

# The two builds: unity builds (each target's sources compiled as a few
# large units) with Ninja.
NORMAL_ARGS=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_UNITY_BUILD=ON -DAMLFS_WERROR=ON)
# The sanitized build is clang's, with libFuzzer: its fuzz targets run too.
SANITIZE_ARGS=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_UNITY_BUILD=ON -DAMLFS_WERROR=ON
               -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DAMLFS_FUZZ=ON -DAMLFS_UNIT_TESTS=ON)
# What the sanitized build runs: unit tests, the fuzz targets (replays and
# 15 s of fuzzing each), and the mount tests labelled sanitize.
SANITIZED_SUBSET=(-L 'unit|fuzz|sanitize')

# sanitizer_env BUILD: the environment sanitized programs run with. The
# reports of the processes a mount test starts go to files under
# BUILD/sanitizer-reports/TEST, which tests/mount/lib.sh reads.
sanitizer_env() {
  # A small quarantine of freed memory (default 256 MiB): the tests that
  # bound a daemon's memory measure the program, not the sanitizer.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:quarantine_size_mb=32}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  # Sanitized daemons run several times slower: fewer leader kills keep
  # mount.mds_failover within its time limit.
  export AMLFS_FAILOVER_KILLS=${AMLFS_FAILOVER_KILLS:-4}
  export AMLFS_SANITIZER_DIR=$1/sanitizer-reports
  rm -rf "$AMLFS_SANITIZER_DIR"
  mkdir -p "$AMLFS_SANITIZER_DIR"
}

# run_ctest BUILD ARGS...: ctest in BUILD.
run_ctest() {
  local build=$1
  shift
  (cd "$build" && ctest --output-on-failure -j "$TEST_JOBS" "$@")
}

# no_reports: fails when a sanitizer report was left under AMLFS_SANITIZER_DIR.
no_reports() {
  local left
  left=$(find "$AMLFS_SANITIZER_DIR" -type f 2>/dev/null | head -n 20)
  [[ -z $left ]] && return 0
  echo "test.sh: sanitizer reports were written:"$'\n'"$left" >&2
  return 1
}

# kill_tree PID: PID and every process below it.
kill_tree() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}

FILTER=()
((UNIT_ONLY)) && FILTER=(-LE mount)
finish() {  # finish RC WHAT: the last line, and the exit status
  local what=$2
  ((UNIT_ONLY)) && what+="; unit tests only: the mount tests were not run (--unit-only)"
  echo "test.sh: $what"
  exit "$1"
}

if ((SANITIZE_ONLY)); then
  BUILD=${AMLFS_BUILD_DIR:-$SRC/build-sanitize}
  echo "== build (sanitized: AddressSanitizer + UBSan)"
  cmake_build sanitized "$BUILD" "$BUILD/build.log" "${SANITIZE_ARGS[@]}" || exit 1
  sanitizer_env "$BUILD"
  echo "== test ($BUILD)"
  rc=0
  run_ctest "$BUILD" "${FILTER[@]}" "${CTEST_ARGS[@]}" || rc=$?
  no_reports || rc=1
  ((rc == 0)) || finish 1 "FAILED on the sanitized build ($BUILD)"
  finish 0 "every test passed on the sanitized build ($BUILD)"
fi

BUILD=${AMLFS_BUILD_DIR:-$SRC/build}
if ((${#CTEST_ARGS[@]})); then
  echo "== build (RelWithDebInfo, warnings are errors)"
  cmake_build RelWithDebInfo "$BUILD" "$BUILD/build.log" "${NORMAL_ARGS[@]}" -DAMLFS_UNIT_TESTS=ON ||
    exit 1
  echo "== test ($BUILD: ${CTEST_ARGS[*]})"
  run_ctest "$BUILD" "${FILTER[@]}" "${CTEST_ARGS[@]}" || finish 1 "FAILED ($BUILD)"
  finish 0 "the tests asked for passed ($BUILD)"
fi

# build/ has the daemons, the mount and the tools; the unit tests and the
# fuzz targets are built once, sanitized.
echo "== build (RelWithDebInfo, warnings are errors)"
cmake_build RelWithDebInfo "$BUILD" "$BUILD/build.log" "${NORMAL_ARGS[@]}" -DAMLFS_UNIT_TESTS=OFF ||
  exit 1

# The sanitized build compiles at the lowest CPU and disk priority while the
# tests of the first build run, in the time they leave idle.
SBUILD=$SRC/build-sanitize
mkdir -p "$SBUILD"
echo "== build (sanitized, in the background at low priority; log: $SBUILD/build.log)"
(
  renice -n 19 -p "$BASHPID" >/dev/null
  ionice -c 3 -p "$BASHPID" 2>/dev/null || true
  cmake_build sanitized "$SBUILD" "$SBUILD/build.log" "${SANITIZE_ARGS[@]}"
) >"$SBUILD/stages.out" 2>&1 &
sbuild=$!
trap 'kill_tree $sbuild' EXIT

echo "== test ($BUILD)"
rc=0
run_ctest "$BUILD" "${FILTER[@]}" || rc=$?

echo "== waiting for the sanitized build"
src=0
wait "$sbuild" || src=$?
trap - EXIT
cat "$SBUILD/stages.out"
((src == 0)) || finish 1 "FAILED: the sanitized build failed (log: $SBUILD/build.log)"

echo "== test ($SBUILD: unit tests, fuzz targets and the mount tests labelled sanitize)"
sanitizer_env "$SBUILD"
srun=0
run_ctest "$SBUILD" "${SANITIZED_SUBSET[@]}" "${FILTER[@]}" || srun=$?
no_reports || srun=1

failed=()
((rc == 0)) || failed+=("$BUILD")
((srun == 0)) || failed+=("$SBUILD (sanitized)")
((${#failed[@]} == 0)) || finish 1 "FAILED in ${failed[*]}"
finish 0 "every test passed in $BUILD, and the sanitized subset in $SBUILD"
