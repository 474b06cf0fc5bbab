#!/usr/bin/env bash
# The POSIX conformance program (posix_check) over a real mount, with its
# whole run as an unprivileged user (uid 65534, gid 65534, supplementary
# group 65533): root-only checks are skipped, every other check must pass.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ -x "$AMLFS_BIN/posix_check" ]] || fail "$AMLFS_BIN/posix_check is not built"
start_cluster --osts 2 --stripe-count 2

D="$MNT/posix-user"
mkdir "$D"
chmod 1777 "$D"
check "posix_check --run-as 65534:65534:65533 $D (every check as an unprivileged user)"
"$AMLFS_BIN/posix_check" --run-as 65534:65534:65533 "$D" ||
  fail "posix_check --run-as reported failures (exit $?)"
