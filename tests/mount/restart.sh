#!/usr/bin/env bash
# kill -9 of an OST and of the MDS loses nothing acknowledged: fsynced data
# and completed metadata operations survive a restart. While an OST is down,
# I/O to it fails with EIO after io_timeout (3 s here) and works again once
# it is back.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

IO_TIMEOUT=3
start_cluster --osts 4 --stripe-count 4 --stripe-size 1048576 -- -o io_timeout=$IO_TIMEOUT

REF="$ROOT/ref"
mkdir -p "$REF"

# Namespace + content snapshot of the mount (type, path, size, mode, link
# target), leaving out ./scratch, whose files the EIO checks may half-write.
snapshot() {
  (cd "$MNT" && find . -mindepth 1 -path ./scratch -prune -o -printf '%y %p %s %m %l\n' | sort)
}
checksums() {
  (cd "$MNT" && find . -path ./scratch -prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

check "write and fsync files of several sizes; acknowledged mkdir/rename/link/symlink/unlink"
mkdir -p "$MNT/a/b/c" "$MNT/keep" "$MNT/gone" "$MNT/scratch"
# Striped over all 4 OSTs before any is killed (a file created while an OST is
# down may get a layout without it).
head -c $((8 << 20)) /dev/urandom >"$MNT/scratch/target"
sync "$MNT/scratch/target"
for s in 1 4095 65536 1048577 5000000 9437184; do
  head -c "$s" /dev/urandom >"$REF/f$s"
  dd if="$REF/f$s" of="$MNT/a/f$s" bs=1M conv=fsync status=none || fail "write f$s failed"
done
echo "renamed-content" >"$MNT/a/b/c/old"
sync "$MNT/a/b/c/old"
mv "$MNT/a/b/c/old" "$MNT/keep/new"
mv "$MNT/gone" "$MNT/keep/moved-dir"
ln "$MNT/a/f4095" "$MNT/keep/hardlink"
ln -s ../a/f1 "$MNT/keep/symlink"
echo bye >"$MNT/a/unlinked"
rm "$MNT/a/unlinked"
chmod 640 "$MNT/a/f65536"
sync -f "$MNT/a/f1"
snap_before=$(snapshot)
sums_before=$(checksums)
log "$(wc -l <<<"$snap_before") names, $(wc -l <<<"$sums_before") files"

verify_all() {  # verify_all WHEN
  drop_caches
  local snap sums
  snap=$(snapshot) || fail "$1: listing the mount failed"
  [[ "$snap" == "$snap_before" ]] ||
    fail "$1: namespace differs:"$'\n'"$(diff <(echo "$snap_before") <(echo "$snap"))"
  sums=$(checksums) || fail "$1: reading the files failed"
  [[ "$sums" == "$sums_before" ]] ||
    fail "$1: data differs:"$'\n'"$(diff <(echo "$sums_before") <(echo "$sums"))"
}

check "kill -9 of ost2, then I/O that needs ost2 fails with EIO within io_timeout + slack"
kill9 ost2
drop_caches
t0=$SECONDS
err=$(timeout 60 cat "$MNT/a/f9437184" 2>&1 >/dev/null) && fail "reading a file striped over a dead OST succeeded"
elapsed=$((SECONDS - t0))
log "read failed after ${elapsed}s: $err"
[[ "$err" == *"Input/output error"* ]] || fail "read error is not EIO: $err"
((elapsed <= IO_TIMEOUT + 12)) || fail "EIO took ${elapsed}s with io_timeout=$IO_TIMEOUT"
t0=$SECONDS
if err=$(timeout 60 dd if=/dev/zero of="$MNT/scratch/target" bs=1M count=8 conv=notrunc,fsync 2>&1); then
  fail "an fsynced 8 MiB overwrite of a file striped over a dead OST succeeded"
fi
elapsed=$((SECONDS - t0))
log "write+fsync failed after ${elapsed}s: $(head -n1 <<<"$err")"
[[ "$err" == *"Input/output error"* ]] || fail "write error is not EIO: $err"
((elapsed <= 2 * IO_TIMEOUT + 12)) || fail "write EIO took ${elapsed}s with io_timeout=$IO_TIMEOUT"

check "ost2 restarts on its old data, address and port (local-cluster.sh up), data intact"
addr_before=$CL_OST_ADDR_2
cluster up >/dev/null || fail "local-cluster.sh up failed"
load_cluster_env
assert_eq "$addr_before" "$CL_OST_ADDR_2" "ost2 address after restart"
verify_all "after the OST restart"

check "I/O to ost2 works again (overwrite of the file that failed, new file)"
head -c $((8 << 20)) /dev/urandom >"$REF/target"
dd if="$REF/target" of="$MNT/scratch/target" bs=1M conv=notrunc,fsync status=none ||
  fail "overwrite after the OST restart failed"
head -c 8000000 /dev/urandom >"$REF/after-ost"
dd if="$REF/after-ost" of="$MNT/a/after-ost" bs=1M conv=fsync status=none || fail "write after OST restart failed"
drop_caches
assert_file_eq "$REF/target" "$MNT/scratch/target"
assert_file_eq "$REF/after-ost" "$MNT/a/after-ost"
snap_before=$(snapshot)
sums_before=$(checksums)

check "kill -9 of the MDS right after acknowledged operations; restart; namespace and data intact"
mkdir "$MNT/last-dir"
mv "$MNT/keep/new" "$MNT/last-dir/newer"
echo last >"$MNT/last-dir/file"
sync "$MNT/last-dir/file"
snap_before=$(snapshot)
sums_before=$(checksums)
kill9 mds
addr_before=$CL_MDS_ADDR
cluster up >/dev/null || fail "local-cluster.sh up failed"
load_cluster_env
assert_eq "$addr_before" "$CL_MDS_ADDR" "MDS address after restart"
verify_all "after the MDS restart"

check "the existing mount works after the MDS restart (create, write, rename, unlink)"
echo post >"$MNT/last-dir/post" || fail "create after MDS restart failed"
mv "$MNT/last-dir/post" "$MNT/last-dir/post2" || fail "rename after MDS restart failed"
assert_eq post "$(cat "$MNT/last-dir/post2")" "content after MDS restart"
rm "$MNT/last-dir/post2" || fail "unlink after MDS restart failed"

check "kill -9 of every server at once, restart, everything intact"
snap_before=$(snapshot)
sums_before=$(checksums)
for d in ost0 ost1 ost2 ost3 mds; do kill9 "$d"; done
cluster up >/dev/null || fail "local-cluster.sh up failed"
verify_all "after restarting every server"
