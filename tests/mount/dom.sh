#!/usr/bin/env bash
# Data-on-MDT through the mount: a directory whose default layout puts the
# first 64 KiB of each file on the metadata server (lfs setstripe -E 64K
# -L mdt -E -1 -c 2). Files below, at and across the boundary read back
# exactly on a second client (cold, and the small ones without one byte
# from an OST); they grow from the MDT onto the OSTs, truncate back, move
# both ways with lfs migrate; lfs getstripe and lfs find print Lustre's
# formats; kill -9 of the MDS after fsync loses nothing; the MDS caps the
# component (--dom-stripesize) and refuses writes with ENOSPC when its disk
# would drop below --mdt-reserve, while OST-backed files still write.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

LFS=$AMLFS_BIN/lfs
start_cluster --osts 2
A=$MNT
B="$ROOT/mnt2"
mkdir -p "$B"
EXTRA_MOUNTS+=("$B")
"$AMLFS_BIN/amlfs-fuse" --mds "$MDS_ADDR" --key-file "$CL_KEY_FILE" "$B" || fail "second amlfs-fuse exited $?"
is_mounted "$B" || fail "$B is not mounted"
REF="$ROOT/ref"
mkdir -p "$REF"
# OST objects of the inode of FILE (named <ino>.<component>.<stripe>).
objects_of() { list_objects | grep -c "/$(stat -c %i "$1")\.[0-9]*\.[0-9]*$" || true; }

check "lfs setstripe -E 64K -L mdt -E -1 -c 2 on a directory; lfs getstripe -d prints pattern mdt"
D="$A/dom"
mkdir "$D"
"$LFS" setstripe -E 64K -L mdt -E -1 -c 2 "$D" || fail "setstripe -L mdt failed"
"$LFS" getstripe -d "$D" >"$ROOT/dir.txt"
grep -q "stripe_count:  0       stripe_size:   65536       pattern:       mdt" "$ROOT/dir.txt" ||
  fail "getstripe -d: $(cat "$ROOT/dir.txt")"

check "files at, below and across the 64 KiB boundary, written on one client, read on the other"
SIZES="0 1 4095 65535 65536 65537 200000 3145728"
for n in $SIZES; do
  head -c "$n" /dev/urandom >"$REF/f$n"
  cp "$REF/f$n" "$D/f$n" || fail "writing f$n"
done
drop_caches
for n in $SIZES; do
  assert_eq "$n" "$(stat -c %s "$B/dom/f$n")" "size of f$n on the second client"
  assert_file_eq "$REF/f$n" "$B/dom/f$n"
done

check "lfs getstripe of a file prints the MDT component as Lustre does"
"$LFS" getstripe "$D/f200000" >"$ROOT/file.txt"
for line in "lmm_stripe_count:  0" "lmm_stripe_size:   65536" "lmm_pattern:       mdt" \
  "lmm_stripe_offset: 0" "lcme_extent.e_end:   65536" "lmm_pattern:       raid0"; do
  grep -q "^ *$line\$" "$ROOT/file.txt" || fail "getstripe lacks '$line': $(cat "$ROOT/file.txt")"
done

check "files within the component have no OST object; larger ones continue on the OSTs"
for n in 1 4095 65535 65536; do
  assert_eq 0 "$(objects_of "$D/f$n")" "OST objects of f$n"
done
(($(objects_of "$D/f3145728") >= 2)) || fail "f3145728 has no objects on both OSTs"

check "a cold read of small files on the second client reads nothing from the OSTs"
drop_caches
before=$(ost_read_bytes)
for n in 1 4095 65535 65536; do cat "$B/dom/f$n" >/dev/null; done
assert_eq 0 $(($(ost_read_bytes) - before)) "bytes the OSTs read for Data-on-MDT files"

check "a small file is read with its open: a cold read costs the MDS 3 requests (lookup, open, release)"
mds_requests() {
  curl -sf -m 10 "http://$(sed -n 's/^metrics //p' "$ROOT/run/mds.ready")/metrics" |
    awk '$1 ~ /^amlfs_mds_client_ops_total/ { s += $2 } END { printf "%.0f", s }'
}
drop_caches
before=$(mds_requests)
for n in 1 4095 65535 65536; do cat "$B/dom/f$n" >/dev/null; done
sleep 0.5  # the releases are sent after close returns
per_file=$(( ($(mds_requests) - before) / 4 ))
((per_file <= 3)) || fail "a cold read of a small Data-on-MDT file cost $per_file MDS requests"
log "$per_file MDS requests per cold small-file read"

check "close-to-open with heads: a file rewritten on one client reads new on the other at once"
for round in 1 2 3; do
  head -c 3000 /dev/urandom >"$REF/c2o"
  cp "$REF/c2o" "$A/dom/c2o"
  assert_file_eq "$REF/c2o" "$B/dom/c2o"
done
exec 7<"$B/dom/c2o"  # an open handle with its head, then a write through this client
printf 'XYZ' | dd of="$B/dom/c2o" bs=1 seek=10 conv=notrunc status=none
printf 'XYZ' | dd of="$REF/c2o" bs=1 seek=10 conv=notrunc status=none
cmp <(cat <&7) "$REF/c2o" || fail "a handle opened before this client's write read its stale head"
exec 7<&-
rm "$A/dom/c2o"

check "writes straddling the boundary, a truncate below it and a grow past it read back exactly"
cp "$REF/f200000" "$REF/edit"
cp "$REF/f200000" "$D/edit"
head -c 20 /dev/urandom >"$REF/patch"
for off in 65530 0 131072; do
  dd if="$REF/patch" of="$REF/edit" bs=1 seek="$off" conv=notrunc status=none
  dd if="$REF/patch" of="$D/edit" bs=1 seek="$off" conv=notrunc status=none
done
drop_caches
assert_file_eq "$REF/edit" "$B/dom/edit"
truncate -s 1000 "$REF/edit" "$D/edit"
truncate -s 70000 "$REF/edit" "$D/edit"
drop_caches
assert_file_eq "$REF/edit" "$B/dom/edit"

check "lfs migrate moves a file from the MDT to the OSTs and back, data unchanged"
"$LFS" migrate -c 2 "$D/f65535" || fail "migrate to OSTs failed"
"$LFS" getstripe "$D/f65535" | grep -q "lmm_pattern:       mdt" && fail "still on the MDT"
(($(objects_of "$D/f65535") >= 1)) || fail "f65535 has no OST object after migrating"
assert_file_eq "$REF/f65535" "$D/f65535"
"$LFS" migrate -E 64K -L mdt -E -1 -c 1 "$D/f65535" || fail "migrate to the MDT failed"
"$LFS" getstripe "$D/f65535" | grep -q "lmm_pattern:       mdt" || fail "not on the MDT"
drop_caches
assert_file_eq "$REF/f65535" "$B/dom/f65535"

check "lfs find -L mdt lists the Data-on-MDT files and nothing else"
mkdir "$A/plain" && "$LFS" setstripe -c 1 "$A/plain"
echo x >"$A/plain-file"
found=$("$LFS" find "$A" --type f -L mdt | sort | tr '\n' ' ')
expected=$({
  for n in $SIZES; do echo "$D/f$n"; done
  echo "$D/edit"
} | sort | tr '\n' ' ')
assert_eq "$expected" "$found" "lfs find -L mdt"

check "posix_check in a directory whose files keep their first 64 KiB on the MDT"
mkdir "$D/posix"
"$AMLFS_BIN/posix_check" "$D/posix" >"$ROOT/posix.out" 2>&1 ||
  fail "posix_check failed on Data-on-MDT files: $(grep "^not ok" "$ROOT/posix.out" | head -n 5)"
rm -rf "$D/posix"

check "kill -9 of the MDS after fsync: the small files' data is intact after the restart"
head -c 3000 /dev/urandom >"$REF/synced"
dd if="$REF/synced" of="$D/synced" conv=fsync status=none || fail "writing synced"
kill9 mds
cluster up --mds-option --dom-stripesize=128K >/dev/null || fail "restarting the MDS failed"
load_cluster_env
drop_caches
assert_file_eq "$REF/synced" "$B/dom/synced"
for n in $SIZES; do assert_file_eq "$REF/f$n" "$A/dom/f$n"; done

check "the MDS caps an MDT component at --dom-stripesize (128K)"
"$LFS" setstripe -E 1M -L mdt -E -1 -c 1 "$A/capped" || fail "setstripe of a 1M MDT component failed"
"$LFS" getstripe "$A/capped" | grep -q "lcme_extent.e_end:   131072" ||
  fail "not capped: $("$LFS" getstripe "$A/capped")"
head -c 300000 /dev/urandom >"$REF/capped"
cp "$REF/capped" "$A/capped" || fail "writing capped"
drop_caches
assert_file_eq "$REF/capped" "$B/capped"

check "an MDS short of disk (--mdt-reserve) refuses MDT writes with ENOSPC; OST files still write"
kill9 mds
cluster up --mds-option --mdt-reserve=1000000T >/dev/null || fail "restarting the MDS failed"
load_cluster_env
if cp "$REF/f4095" "$D/nospace" 2>"$ROOT/nospace.err"; then fail "a write to the full MDT succeeded"; fi
grep -q "No space left on device" "$ROOT/nospace.err" || fail "not ENOSPC: $(cat "$ROOT/nospace.err")"
cp "$REF/f4095" "$A/plain/ok" || fail "a write to the OSTs failed while the MDT is full"
assert_file_eq "$REF/f4095" "$A/plain/ok"
assert_file_eq "$REF/f4095" "$D/f4095"
log "passed"
