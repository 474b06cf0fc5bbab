#!/usr/bin/env bash
# Checks that every C++ source follows .clang-format and that none is longer
# than 600 lines; names the files that do not, and exits 1.
#
#   scripts/check-format.sh [--fix]
#
# --fix   rewrites the unformatted files in place (the length is left to you).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
source scripts/lib.sh
script_help "$@"

FIX=0
[[ ${1:-} == --fix ]] && FIX=1
CF=$(command -v clang-format-14 || command -v clang-format || true)
if [[ -z $CF ]]; then
  echo "check-format.sh: clang-format is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
MAX_LINES=600

mapfile -t files < <(git ls-files --cached --others --exclude-standard -- 'common/*.cc' 'common/*.h' 'server/*.cc' 'server/*.h' \
  'fuse/*.cc' 'fuse/*.h' 'tools/*.cc' 'tools/*.h' 'tests/*.cc' 'tests/*.h' 2>/dev/null ||
  find common server fuse tools tests -name '*.cc' -o -name '*.h')
((${#files[@]})) || { echo "check-format.sh: no sources found" >&2; exit 1; }

if ((FIX)); then
  "$CF" -i --style=file "${files[@]}"
fi
bad=()
for f in "${files[@]}"; do
  [[ -f $f ]] || continue
  if ! "$CF" --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
long=()
for f in "${files[@]}"; do
  [[ -f $f ]] || continue
  n=$(wc -l <"$f")
  ((n <= MAX_LINES)) || long+=("$f ($n lines)")
done
rc=0
if ((${#bad[@]})); then
  echo "check-format.sh: ${#bad[@]} file(s) not formatted (scripts/check-format.sh --fix):" >&2
  printf '  %s\n' "${bad[@]:0:20}" >&2
  ((${#bad[@]} > 20)) && echo "  ... and $((${#bad[@]} - 20)) more" >&2
  rc=1
fi
if ((${#long[@]})); then
  echo "check-format.sh: ${#long[@]} file(s) over $MAX_LINES lines; split them by role:" >&2
  printf '  %s\n' "${long[@]}" >&2
  rc=1
fi
((rc == 0)) && echo "check-format.sh: ${#files[@]} sources formatted, none over $MAX_LINES lines"
exit $rc
