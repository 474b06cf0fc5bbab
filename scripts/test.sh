#!/usr/bin/env bash
# Installs what is missing, builds amlfs (RelWithDebInfo) and runs every test
# through ctest: unit tests, then the mount tests (real servers on
# 127.0.0.1 and real FUSE mounts; they need root and /dev/fuse).
#
#   scripts/test.sh [--sanitize] [ctest arguments...]
#
# --sanitize builds with AddressSanitizer + UBSan (in build-sanitize/ unless
# AMLFS_BUILD_DIR is set). The build directory is build/ or $AMLFS_BUILD_DIR.
# Extra arguments go to ctest, e.g. `scripts/test.sh -R mount.striping`.
set -euo pipefail

cd "$(dirname "$0")/.."
SRC=$(pwd)
SANITIZE=OFF
if [[ "${1:-}" == --sanitize ]]; then
  SANITIZE=ON
  shift
fi
if [[ $SANITIZE == ON ]]; then
  BUILD=${AMLFS_BUILD_DIR:-$SRC/build-sanitize}
else
  BUILD=${AMLFS_BUILD_DIR:-$SRC/build}
fi
JOBS=${AMLFS_JOBS:-2}

bash scripts/install-deps.sh

echo "== configure ($BUILD, RelWithDebInfo, sanitize=$SANITIZE)"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAMLFS_SANITIZE=$SANITIZE >/dev/null
echo "== build (-j$JOBS)"
t0=$SECONDS
cmake --build "$BUILD" -j "$JOBS"
echo "== built in $((SECONDS - t0))s"

if [[ $SANITIZE == ON ]]; then
  # Sanitized daemons run several times slower: fewer leader kills keep
  # mount.mds_failover within its time limit.
  export AMLFS_FAILOVER_KILLS=${AMLFS_FAILOVER_KILLS:-4}
  # A small quarantine of freed memory (default 256 MiB): the tests that
  # bound a daemon's memory measure the program, not the sanitizer.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:quarantine_size_mb=32}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

echo "== test"
# The mount tests each make their own cluster (own temp root, free ports), so
# two run side by side; tests doing heavy I/O share a RESOURCE_LOCK.
cd "$BUILD"
ctest --output-on-failure -j "${AMLFS_TEST_JOBS:-2}" "$@"
