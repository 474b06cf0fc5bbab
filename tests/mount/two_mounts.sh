#!/usr/bin/env bash
# Two amlfs-fuse mounts of one cluster see each other's creates, renames,
# unlinks and writes after close. What the documentation promises at once is
# checked once, with no retry: a new name (no negative entry is cached), a
# listing, and the data and size of a file opened after the writer closed it
# (close-to-open). Only what a mount may trust from its caches for
# attr_timeout/entry_timeout (1 s), a name it has seen removed or replaced,
# is waited for.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

start_cluster --osts 2
A=$MNT
B="$ROOT/mnt2"
mkdir -p "$B"
EXTRA_MOUNTS+=("$B")
check "a second client (amlfs-fuse --mds $MDS_ADDR DIR, daemonizing) mounts the same cluster"
"$AMLFS_BIN/amlfs-fuse" --mds "$MDS_ADDR" --key-file "$CL_KEY_FILE" "$B" || fail "second amlfs-fuse exited $?"
is_mounted "$B" || fail "amlfs-fuse returned but $B is not mounted"

WAIT=4  # seconds: attr/entry caches are 1 s; leave room for a slow machine
at_once() {  # at_once WHAT CMD...: CMD succeeds the first time
  local what=$1
  shift
  "$@" || fail "$what"
}
same_content() { cmp -s "$1" "$2"; }
absent() { [[ ! -e "$1" ]]; }
present() { [[ -e "$1" ]]; }

check "create on A is seen by B"
echo hello >"$A/created"
at_once "B does not see A's new file at once" present "$B/created"
assert_eq hello "$(cat "$B/created")" "content read on B"

check "mkdir on B is seen by A, and a file created in it"
mkdir "$B/dir"
echo in-dir >"$B/dir/f"
at_once "A does not see B's dir/f at once" present "$A/dir/f"
assert_eq in-dir "$(cat "$A/dir/f")" "content read on A"

check "write after close on A is seen by B (same size, new bytes: close-to-open)"
head -c 3000000 /dev/urandom >"$ROOT/v1"
head -c 3000000 /dev/urandom >"$ROOT/v2"
cp "$ROOT/v1" "$A/data"
at_once "B does not read A's first version at its first open" same_content "$ROOT/v1" "$B/data"
stat "$B/data" >/dev/null  # B's attributes are fresh, so still trusted at its next open
cp "$ROOT/v2" "$A/data"   # overwrite in place (O_TRUNC), same size
at_once "B's next open after A closed reads stale data" same_content "$ROOT/v2" "$B/data"

check "append on B after close is seen by A (size and content)"
stat "$A/data" >/dev/null  # A trusts its cached size, 3000000, for attr_timeout
cat "$ROOT/v1" >>"$B/data"
cat "$ROOT/v2" "$ROOT/v1" >"$ROOT/v21"
at_once "A's next open after B's append reads other bytes" same_content "$ROOT/v21" "$A/data"
assert_eq 6000000 "$(stat -c %s "$A/data")" "size on A"

check "rename on A is seen by B (new name present, old name gone)"
mv "$A/created" "$A/dir/renamed"
retry $WAIT absent "$B/created" || fail "B still sees the old name"  # cached for entry_timeout
at_once "B does not see the new name at once" present "$B/dir/renamed"
assert_eq hello "$(cat "$B/dir/renamed")" "renamed content on B"

check "rename over an existing file on B is seen by A"
echo target >"$B/target"
at_once "A does not see target at once" present "$A/target"
mv "$B/dir/renamed" "$B/target"
echo hello >"$ROOT/hello"
# A's entry for target names the replaced inode for up to entry_timeout.
retry $WAIT same_content "$ROOT/hello" "$A/target" || fail "A does not see the replaced target"

check "unlink on B is seen by A"
rm "$B/target"
retry $WAIT absent "$A/target" || fail "A still sees the unlinked file"

check "rmdir on A is seen by B"
rm "$A/dir/f"
rmdir "$A/dir"
retry $WAIT absent "$B/dir" || fail "B still sees the removed directory"

check "readdir on both mounts lists the same names"
for i in $(seq 1 50); do echo "$i" >"$A/many.$i"; done
list() { find "$1" -mindepth 1 -maxdepth 1 -printf "%f\n" | sort; }
same_list() { [[ "$(list "$A")" == "$(list "$B")" ]]; }
same_list || fail "listings differ at once: A=$(list "$A" | wc -l) B=$(list "$B" | wc -l) names"

check "an xattr set on A after ls -l cached 'no xattrs' on both is seen by A at once and by B"
echo x >"$A/xa"
ls -l "$A" "$B" >/dev/null   # both mounts now know xa has no stored xattrs
getfattr -n security.selinux "$B/xa" >/dev/null 2>&1 && fail "security.selinux exists on a new file"
setfattr -n security.amlfs -v one "$A/xa"
assert_eq one "$(getfattr --only-values -n security.amlfs "$A/xa")" "security.amlfs read on A"
xattr_on_b() { [[ "$(getfattr --only-values -n security.amlfs "$B/xa" 2>/dev/null)" == one ]]; }
retry $WAIT xattr_on_b || fail "B does not see A's security.amlfs"
setfattr -x security.amlfs "$A/xa"
getfattr -n security.amlfs "$A/xa" >/dev/null 2>&1 && fail "A still reads the removed xattr"

check "unmounting B leaves A working"
unmount_extra "$B"
is_mounted "$B" && fail "B still mounted"
assert_eq 6000000 "$(stat -c %s "$A/data")" "size on A"
