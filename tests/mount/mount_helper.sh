#!/usr/bin/env bash
# `mount -t fuse.amlfs ADDR DIR` works through /sbin/mount.fuse.amlfs (a link
# to amlfs-fuse), `umount DIR` unmounts, and an fstab line mounts too.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

HELPER=/sbin/mount.fuse.amlfs
start_cluster --osts 2

# Point the helper at the binary under test for the duration of the test;
# restore whatever was there before.
if [[ -L "$HELPER" || -e "$HELPER" ]]; then
  saved="$ROOT/saved-helper"
  cp -P "$HELPER" "$saved"
  CLEANUPS+=("rm -f '$HELPER'; cp -P '$saved' '$HELPER'")
else
  CLEANUPS+=("rm -f '$HELPER'")
fi
ln -sfn "$AMLFS_BIN/amlfs-fuse" "$HELPER"

D="$ROOT/helper-mnt"
mkdir -p "$D"
EXTRA_MOUNTS+=("$D")

check "mount -t fuse.amlfs $MDS_ADDR DIR mounts the cluster"
mount -t fuse.amlfs "$MDS_ADDR" "$D" || fail "mount -t fuse.amlfs failed"
is_mounted "$D" || fail "mount returned 0 but $D is not mounted"
grep -E " $D fuse\.amlfs " /proc/self/mounts >/dev/null ||
  fail "$D is not of type fuse.amlfs: /proc/mounts shows: $(grep " $D " /proc/self/mounts)"

check "a file written through the cluster's own mount is visible through the helper mount"
echo via-cluster-mount >"$MNT/hello"
test -e "$D/hello" || fail "$D/hello not visible at once"
assert_eq via-cluster-mount "$(cat "$D/hello")" "content via the helper mount"
echo via-helper >"$D/back"
test -e "$MNT/back" || fail "$MNT/back not visible at once"

check "umount DIR unmounts, and the client process exits"
umount "$D" || fail "umount $D failed"
is_mounted "$D" && fail "$D still mounted after umount"
left=$(fuse_pids_for "$D")
if [[ -n "$left" ]]; then
  retry 5 bash -c "! kill -0 ${left//$'\n'/ } 2>/dev/null" || fail "amlfs-fuse ($left) still runs after umount"
fi

check "mount -t fuse.amlfs -o io_timeout=5,allow_other"
mount -t fuse.amlfs -o io_timeout=5,allow_other "$MDS_ADDR" "$D" || fail "mount with -o failed"
is_mounted "$D" || fail "$D not mounted"
assert_eq via-helper "$(cat "$D/back")" "content via the helper mount (-o)"
umount "$D" || fail "umount failed"

check "an fstab line ($MDS_ADDR $D fuse.amlfs defaults,_netdev 0 0) mounts with mount DIR"
printf '%s %s fuse.amlfs defaults,_netdev 0 0\n' "$MDS_ADDR" "$D" >"$ROOT/fstab"
mount --fstab "$ROOT/fstab" "$D" || fail "mount via the fstab line failed"
is_mounted "$D" || fail "$D not mounted from the fstab line"
assert_eq via-helper "$(cat "$D/back")" "content via the fstab mount"
umount "$D" || fail "umount failed"
is_mounted "$D" && fail "$D still mounted"
true
