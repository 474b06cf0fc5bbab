#!/usr/bin/env bash
# Installs the Debian 12 packages amlfs needs to build, test and benchmark.
# Idempotent and quiet: does nothing (and asks nothing of the network) when
# every package is already installed. Run as root.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
script_help "$@"

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config
  fuse3 libfuse3-dev libboost1.81-dev libleveldb-dev libsnappy-dev
  libxxhash-dev libcli11-dev catch2 libssl-dev
  # scripts, tests and benchmarks
  fio attr python3 iproute2 psmisc util-linux coreutils diffutils findutils
  procps rsync tar
  # workloads: MPI-IO programs, a PyTorch training job
  openmpi-bin libopenmpi-dev python3-torch
  # fuzzing (scripts/fuzz.sh): clang's libFuzzer and sanitizer runtimes
  clang libclang-rt-14-dev
  # style: scripts/check-format.sh (ctest style.format)
  clang-format-14
  # monitoring: promtool checks the alert rules and Prometheus config
  # (tests/conf); tmux runs `amlfs top` in a terminal test
  prometheus tmux curl
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == installed ]] || missing+=("$pkg")
done
((${#missing[@]} == 0)) && exit 0

if ((EUID != 0)); then
  echo "install-deps.sh: missing packages: ${missing[*]}; run as root:" >&2
  echo "  sudo $0" >&2
  exit 1
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# libboost1.81-dev replaces the default libboost-dev (1.74); apt removes the
# conflicting 1.74 headers if present.
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
  >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-deps.sh: apt-get failed" >&2
  exit 1
fi
# The prometheus package (wanted for promtool) enables a Prometheus server
# on :9090; amlfs's tests need none.
if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null; then
  systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
echo "install-deps.sh: done"
