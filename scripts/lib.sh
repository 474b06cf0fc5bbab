# Helpers shared by the scripts in this folder (sourced, not run).
# shellcheck shell=bash

# script_help "$@": for -h or --help, prints the calling script's header
# comment (its lines 2 up to `set -euo pipefail`) and exits 0.
script_help() {
  case "${1:-}" in
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
  esac
}

# release_build [UNITY]: amlfs-mds, amlfs-ost, amlfs-fuse and amlfs, built
# Release into $SRC/build-release (log: build-release/build.log); as unity
# builds unless UNITY is OFF.
release_build() {
  cmake_build Release "$SRC/build-release" "$SRC/build-release/build.log" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD="${1:-ON}" -DBUILD_TESTING=OFF \
    -- --target amlfs-mds amlfs-ost amlfs-fuse amlfs
}

# cmake_build NAME DIR LOG CONFIGURE-ARGS... [-- BUILD-ARGS...]
#   Configures DIR from the source tree ($SRC) and builds it, the compiler's
#   output going to LOG. Prints one line per stage; on a terminal, the build
#   shows as one line that counts up. On failure, prints the last lines of
#   LOG and where it is, and returns 1. Warnings are counted and named.
cmake_build() {
  local name=$1 dir=$2 log=$3 t0=$SECONDS rc=0 line warnings
  shift 3
  local configure=() build=()
  while (($#)) && [[ $1 != -- ]]; do configure+=("$1"); shift; done
  (($#)) && shift
  build=("$@")
  mkdir -p "$dir"
  : >"$log"
  echo "   configure $name ($dir)"
  if ! cmake -S "$SRC" -B "$dir" "${configure[@]}" >>"$log" 2>&1 &&
    ! { grep -q "Does not match the generator used previously" "$log" &&
      echo "   $dir was made by another generator: configuring it afresh" &&
      rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles" &&
      cmake -S "$SRC" -B "$dir" "${configure[@]}" >>"$log" 2>&1; }; then
    tail -n 30 "$log" >&2
    echo "cmake of $name failed; the whole log is $log" >&2
    return 1
  fi
  echo "   build $name with ${AMLFS_JOBS:-$(nproc)} jobs (log: $log)"
  cmake --build "$dir" -j "${AMLFS_JOBS:-$(nproc)}" "${build[@]}" >>"$log" 2>&1 &
  local pid=$!
  if [[ -t 1 ]]; then
    # Ninja prints [N/M] per step, make [ NN%]: show the latest.
    while kill -0 "$pid" 2>/dev/null; do
      line=$(grep -aoE '^\[([0-9]+/[0-9]+|[ 0-9]+%)\] .*' "$log" | tail -n 1)
      printf '\r\033[K   %s' "${line:0:100}"
      sleep 1
    done
    printf '\r\033[K'
  fi
  wait "$pid" || rc=$?
  if ((rc != 0)); then
    grep -E 'error|Error|FAILED' "$log" | head -n 20 >&2 || true
    echo "--- last lines of $log:" >&2
    tail -n 30 "$log" >&2
    echo "the build of $name failed (exit $rc); the whole log is $log" >&2
    return 1
  fi
  warnings=$(grep -c 'warning:' "$log" || true)
  if ((warnings > 0)); then
    echo "   $warnings compiler warning(s), in $log:"
    grep 'warning:' "$log" | sort -u | head -n 10 | sed 's/^/     /'
  fi
  echo "   built $name in $((SECONDS - t0)) s"
}
