#!/usr/bin/env bash
# The POSIX conformance program (posix_check) over a real mount, as root.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ -x "$AMLFS_BIN/posix_check" ]] || fail "$AMLFS_BIN/posix_check is not built"
start_cluster --osts 2 --stripe-count 2

D="$MNT/posix-root"
mkdir "$D"
check "posix_check $D (as root)"
"$AMLFS_BIN/posix_check" "$D" || fail "posix_check reported failures (exit $?)"
