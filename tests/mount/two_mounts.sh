#!/usr/bin/env bash
# Two amlfs-fuse mounts of one cluster see each other's creates, renames,
# unlinks and writes after close (allowing for the 1 s attribute/entry cache).
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
same_content() { cmp -s "$1" "$2"; }
absent() { [[ ! -e "$1" ]]; }
present() { [[ -e "$1" ]]; }

check "create on A is seen by B"
echo hello >"$A/created"
retry $WAIT present "$B/created" || fail "B does not see A's new file"
assert_eq hello "$(cat "$B/created")" "content read on B"

check "mkdir on B is seen by A, and a file created in it"
mkdir "$B/dir"
echo in-dir >"$B/dir/f"
retry $WAIT present "$A/dir/f" || fail "A does not see B's dir/f"
assert_eq in-dir "$(cat "$A/dir/f")" "content read on A"

check "write after close on A is seen by B (same size, new bytes: close-to-open)"
head -c 3000000 /dev/urandom >"$ROOT/v1"
head -c 3000000 /dev/urandom >"$ROOT/v2"
cp "$ROOT/v1" "$A/data"
retry $WAIT same_content "$ROOT/v1" "$B/data" || fail "B does not read A's first version"
cp "$ROOT/v2" "$A/data"   # overwrite in place (O_TRUNC), same size
retry $WAIT same_content "$ROOT/v2" "$B/data" || fail "B still reads stale data after A closed"

check "append on B after close is seen by A (size and content)"
cat "$ROOT/v1" >>"$B/data"
cat "$ROOT/v2" "$ROOT/v1" >"$ROOT/v21"
retry $WAIT same_content "$ROOT/v21" "$A/data" || fail "A does not see B's append"
assert_eq 6000000 "$(stat -c %s "$A/data")" "size on A"

check "rename on A is seen by B (new name present, old name gone)"
mv "$A/created" "$A/dir/renamed"
retry $WAIT absent "$B/created" || fail "B still sees the old name"
retry $WAIT present "$B/dir/renamed" || fail "B does not see the new name"
assert_eq hello "$(cat "$B/dir/renamed")" "renamed content on B"

check "rename over an existing file on B is seen by A"
echo target >"$B/target"
retry $WAIT present "$A/target" || fail "A does not see target"
mv "$B/dir/renamed" "$B/target"
echo hello >"$ROOT/hello"
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
retry $WAIT same_list || fail "listings differ: A=$(list "$A" | wc -l) B=$(list "$B" | wc -l) names"

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
