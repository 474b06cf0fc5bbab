#!/usr/bin/env bash
# Fuzzes every decoder with libFuzzer (clang, AddressSanitizer, UBSan).
#
#   scripts/fuzz.sh [MINUTES] [--seconds S] [--target NAME]...
#
# Runs each fuzz target (tests/fuzz/fuzz_*.cc: frame, message, parse,
# config) for MINUTES minutes (default 1), or S seconds, one after another.
# Each starts from its seed corpus (tests/fuzz/corpus/NAME), the inputs
# that once failed (tests/fuzz/regressions/NAME) and what earlier runs
# found (BUILD/corpus/NAME, kept between runs). The build lives in
# build-fuzz/ or $AMLFS_FUZZ_BUILD_DIR.
#
# A crash, a hang (over 10 s on one input) or a leak stops that target: the
# input is saved under BUILD/artifacts/ and the script exits 1 after the
# other targets ran. Keep such an input as a regression test:
#   cp BUILD/artifacts/NAME-crash-... tests/fuzz/regressions/NAME/what-it-broke
# The last line sums up: executions, inputs in the corpora, crashes.
set -euo pipefail

cd "$(dirname "$0")/.."
SRC=$(pwd)
# shellcheck source=lib.sh
source scripts/lib.sh
BUILD=${AMLFS_FUZZ_BUILD_DIR:-$SRC/build-fuzz}
ALL_TARGETS=(frame message parse config)
seconds=60
targets=()

die() { echo "fuzz.sh: $*" >&2; exit 2; }

while (($#)); do
  case $1 in
    --seconds) [[ ${2:-} =~ ^[0-9]+$ && $2 -gt 0 ]] || die "--seconds takes a positive number"
      seconds=$2; shift 2 ;;
    --target) [[ " ${ALL_TARGETS[*]} " == *" ${2:-} "* ]] ||
        die "--target takes one of: ${ALL_TARGETS[*]}"
      targets+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) [[ $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || die "unknown argument '$1' (MINUTES, --seconds S, --target NAME)"
      seconds=$(($1 * 60)); shift ;;
  esac
done
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")

scripts/install-deps.sh
command -v clang++ >/dev/null || die "clang++ is not installed (scripts/install-deps.sh installs it)"

echo "== build the fuzz targets ($BUILD, clang, libFuzzer + ASan + UBSan)"
cmake_build fuzz "$BUILD" "$BUILD/build.log" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_UNITY_BUILD=ON -DAMLFS_FUZZ=ON \
  -- --target fuzz_all || die "the fuzz build failed (log: $BUILD/build.log)"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$BUILD/artifacts"
total_runs=0 total_crashes=0 total_corpus=0
for t in "${targets[@]}"; do
  corpus="$BUILD/corpus/$t"
  mkdir -p "$corpus"
  inputs=("$corpus" "$SRC/tests/fuzz/corpus/$t")
  [[ -d "$SRC/tests/fuzz/regressions/$t" ]] && inputs+=("$SRC/tests/fuzz/regressions/$t")
  log="$BUILD/fuzz_$t.log"
  echo "== fuzz_$t for ${seconds}s (log: $log)"
  rc=0
  # -close_fd_mask=2: the config parser's error lines would flood the log;
  # libFuzzer and the sanitizers still report through their own descriptor.
  "$BUILD/bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -close_fd_mask=2 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" \
    "${inputs[@]}" >"$log" 2>&1 &
  pid=$!
  if [[ -t 1 ]]; then
    while kill -0 "$pid" 2>/dev/null; do
      printf '\r   %s' "$(grep -a '^#[0-9]' "$log" | tail -n 1 | cut -c1-100)"
      sleep 2
    done
    printf '\n'
  fi
  wait "$pid" || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  size=$(find "$corpus" -type f | wc -l)
  total_runs=$((total_runs + ${runs:-0}))
  total_corpus=$((total_corpus + size))
  if ((rc != 0)); then
    total_crashes=$((total_crashes + 1))
    grep -a -m1 -E 'ERROR|runtime error|deadly signal|timeout' "$log" >&2 || true
    grep -a 'Test unit written to' "$log" >&2 || true
    echo "fuzz_$t: FAILED after ${runs:-?} runs (exit $rc); see $log" >&2
  else
    echo "fuzz_$t: ${runs:-?} runs, no crash; corpus $size inputs"
  fi
done
echo "fuzz.sh: ${#targets[@]} targets, $total_runs runs, $total_corpus inputs in the corpora, $total_crashes crashed"
((total_crashes == 0))
