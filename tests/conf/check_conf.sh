#!/usr/bin/env bash
# Checks the monitoring files: the Prometheus config and alert rules
# (conf/prometheus/) with promtool, the rules' unit tests
# (tests/conf/alerts_test.yml), and the Grafana dashboard
# (conf/grafana/amlfs-dashboard.json: it parses, every panel queries only
# metrics docs/OBSERVABILITY.md lists, every expression is valid PromQL).
#
#   tests/conf/check_conf.sh [SRC_DIR]      (default: this repository)
#
# Needs promtool (Debian package prometheus; scripts/install-deps.sh) and
# python3. Exits 1, naming what failed, if any check fails or promtool is
# missing.
set -euo pipefail

SRC=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
if ! command -v promtool >/dev/null; then
  echo "check_conf.sh: promtool not found: install the Debian package prometheus (scripts/install-deps.sh)" >&2
  exit 1
fi
command -v python3 >/dev/null || { echo "check_conf.sh: python3 not found" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/amlfs-check-conf.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

failed=()
step() {  # step NAME COMMAND...: runs it; its output is shown only if it fails
  local name=$1
  shift
  if "$@" >"$TMP/out" 2>&1; then
    echo "ok      $name"
  else
    echo "FAILED  $name:"
    sed 's/^/  /' "$TMP/out"
    failed+=("$name")
  fi
}

# promtool resolves rule_files relative to the file naming them, so these
# run from any directory.
step "promtool check rules conf/prometheus/amlfs-alerts.yml" \
  promtool check rules "$SRC/conf/prometheus/amlfs-alerts.yml"
step "promtool check config conf/prometheus/prometheus.yml" \
  promtool check config "$SRC/conf/prometheus/prometheus.yml"
step "promtool test rules tests/conf/alerts_test.yml" \
  promtool test rules "$SRC/tests/conf/alerts_test.yml"
step "dashboard and alert metric names, dashboard PromQL" \
  python3 "$SRC/tests/conf/check_dashboard.py" "$SRC" "$TMP"

if ((${#failed[@]})); then
  echo "check_conf.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "check_conf.sh: all monitoring files check out"
