#!/usr/bin/env bash
# Root squash, enforced by the MDS: with --root-squash a client's root gets
# exactly what the squash uid would get, whatever its own kernel allowed;
# --squash-mode all squashes every caller; callers on --nosquash-nets keep
# their identity. Bad squash options stop the MDS in one line.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

start_cluster --osts 1

# as_user UID CMD...: runs CMD as UID (gid UID, no supplementary groups).
as_user() {
  local id=$1
  shift
  python3 -c 'import os, sys
os.setgroups([]); os.setgid(int(sys.argv[1])); os.setuid(int(sys.argv[1]))
os.execvp(sys.argv[2], sys.argv[2:])' "$id" "$@"
}
# restart_mds OPTIONS...: kill -9 the MDS and start it again with these
# amlfs-mds options (and no others of this kind).
restart_mds() {
  local a=() o
  kill9 mds
  for o in "$@"; do a+=(--mds-option "$o"); done
  cluster up "${a[@]}" >/dev/null || fail "restarting the MDS with '$*' failed"
  retry 20 stat "$MNT" >/dev/null || fail "the mount does not answer after the MDS restart"
}
owner() { stat -c %u:%g "$1"; }

check "set-up as root, unsquashed: a private directory and a sticky world-writable one"
mkdir "$MNT/private" "$MNT/open"
chmod 700 "$MNT/private"
chmod 1777 "$MNT/open"
echo secret >"$MNT/private/secret"
chmod 600 "$MNT/private/secret"
assert_eq "secret" "$(cat "$MNT/private/secret")" "root reads its file"

check "--root-squash 65534:65534: root is refused what uid 65534 may not do, and owns what it makes as 65534"
restart_mds --root-squash=65534:65534
grep -q "squashing root as 65534:65534" "$ROOT/log/mds.log" || fail "no squash line in the MDS log"
expect_fail_with "Permission denied" cat "$MNT/private/secret"
expect_fail_with "Permission denied" touch "$MNT/private/new"
expect_fail_with "Operation not permitted" chmod 777 "$MNT/private"
touch "$MNT/open/by-root" || fail "squashed root cannot create in a world-writable directory"
assert_eq "65534:65534" "$(owner "$MNT/open/by-root")" "owner of a file squashed root made"
expect_fail_with "Operation not permitted" chown 0:0 "$MNT/open/by-root"
as_user 1000 touch "$MNT/open/by-user" || fail "uid 1000 cannot create in a world-writable directory"
assert_eq "1000:1000" "$(owner "$MNT/open/by-user")" "owner of a file uid 1000 made (not squashed)"

check "--squash-mode all: every caller is squashed"
restart_mds --root-squash=65534:65534 --squash-mode=all
# Created with open(2) alone: touch's utimensat would meet the client
# kernel's own check, which still sees uid 1000 and a file owned by 65534.
as_user 1000 sh -c ': >"$1"' sh "$MNT/open/by-user-all" || fail "uid 1000 cannot create when squashed"
assert_eq "65534:65534" "$(owner "$MNT/open/by-user-all")" "owner of a file made under all-squash"
expect_fail_with "Operation not permitted" as_user 1000 rm -f "$MNT/open/by-user"

check "--nosquash-nets 127.0.0.0/8: callers from the trusted network keep their identity"
restart_mds --root-squash=65534:65534 --nosquash-nets=127.0.0.0/8
assert_eq "secret" "$(cat "$MNT/private/secret")" "root on a trusted network reads its file"
touch "$MNT/private/new" || fail "root on a trusted network cannot create in its directory"
assert_eq "0:0" "$(owner "$MNT/private/new")" "owner of a file trusted root made"

check "bad squash options stop the MDS in one line and create nothing"
expect_fail_with "root_squash: 'nobody' is not UID:GID" timeout 20 "$AMLFS_BIN/amlfs-mds" \
  --data "$ROOT/never" --listen 127.0.0.1:0 --root-squash nobody
expect_fail_with "squash_mode: 'some' is not root or all" timeout 20 "$AMLFS_BIN/amlfs-mds" \
  --data "$ROOT/never" --listen 127.0.0.1:0 --root-squash 1:1 --squash-mode some
expect_fail_with "nosquash_nets: '10.0.0.0/40'" timeout 20 "$AMLFS_BIN/amlfs-mds" \
  --data "$ROOT/never" --listen 127.0.0.1:0 --root-squash 1:1 --nosquash-nets 10.0.0.0/40
[[ ! -e "$ROOT/never" ]] || fail "a refused MDS created its data directory"
