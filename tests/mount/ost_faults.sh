#!/usr/bin/env bash
# An OST failing under a writer, and an OST whose disk fills up.
#
# Killed mid-write: with the default io_timeout the client retries, and a
# write whose OST comes back in time completes with every byte right; with
# a short io_timeout (a second mount) the writer gets EIO. Never a
# silently short file; a file on the other OST is untouched either way.
#
# Disk full: OST1 moves to a 64 MiB tmpfs. A writer filling it gets ENOSPC;
# OST0 keeps working; new files avoid the full OST; space comes back after
# the file is removed.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

start_cluster --osts 2
lfs() { "$AMLFS_BIN/lfs" "$@"; }

# slow_copy SRC DST: copies in 1 MiB writes, 20 ms apart, then fsyncs and
# closes; prints "ok" or "error: <strerror>" and exits 0 or 1.
slow_copy() {
  python3 - "$1" "$2" <<'EOF'
import os, sys, time
src, dst = sys.argv[1], sys.argv[2]
try:
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with open(src, "rb") as f:
        while chunk := f.read(1 << 20):
            os.write(fd, chunk)
            time.sleep(0.02)
    os.fsync(fd)
    os.close(fd)
except OSError as e:
    print("error: " + e.strerror)
    sys.exit(1)
print("ok")
EOF
}

# wait_size FILE BYTES: until FILE has grown to BYTES.
wait_size() {
  retry 30 bash -c "(( \$(stat -c %s '$1' 2>/dev/null || echo 0) >= $2 ))" ||
    fail "$1 did not grow to $2 bytes"
}

restart_ost1() {
  cluster up >/dev/null || fail "restarting OST1 failed"
  retry 30 bash -c "'$AMLFS_BIN/lfs' osts '$MNT' | grep -q 'OST0001_UUID ACTIVE'" ||
    fail "OST1 is not active again after its restart"
}

check "a file on OST0 only, to stay untouched"
lfs setstripe -c 1 -i 0 "$MNT/bystander" >/dev/null
head -c $((8 << 20)) /dev/urandom >"$ROOT/bystander.src"
cp "$ROOT/bystander.src" "$MNT/bystander"
head -c $((96 << 20)) /dev/urandom >"$ROOT/big.src"

check "OST1 killed mid-write and back within io_timeout: the write completes, every byte right"
lfs setstripe -c 2 -S 1M "$MNT/big" >/dev/null
slow_copy "$ROOT/big.src" "$MNT/big" >"$ROOT/copy1.out" 2>&1 &
writer=$!
EXTRA_PIDS+=("$writer")
wait_size "$MNT/big" $((24 << 20))
kill9 ost1
sleep 2
restart_ost1
rc=0
wait "$writer" || rc=$?
log "writer: $(cat "$ROOT/copy1.out")"
((rc == 0)) || fail "the writer failed although OST1 came back: $(cat "$ROOT/copy1.out")"
drop_caches
assert_file_eq "$ROOT/big.src" "$MNT/big"
assert_file_eq "$ROOT/bystander.src" "$MNT/bystander"

check "OST1 killed mid-write and kept down past io_timeout (2 s): the writer gets EIO"
M2="$ROOT/m2"
mkdir -p "$M2"
EXTRA_MOUNTS+=("$M2")
"$AMLFS_BIN/amlfs-fuse" --mds "$MDS_ADDR" --key-file "$CL_KEY_FILE" --io-timeout 2 "$M2" ||
  fail "second amlfs-fuse exited $?"
lfs setstripe -c 2 -S 1M "$M2/big2" >/dev/null
slow_copy "$ROOT/big.src" "$M2/big2" >"$ROOT/copy2.out" 2>&1 &
writer=$!
EXTRA_PIDS+=("$writer")
wait_size "$M2/big2" $((24 << 20))
kill9 ost1
rc=0
wait "$writer" || rc=$?
log "writer: $(cat "$ROOT/copy2.out")"
((rc != 0)) || fail "the writer reported success with OST1 down for good"
grep -q "Input/output error" "$ROOT/copy2.out" || fail "expected EIO, got: $(cat "$ROOT/copy2.out")"
restart_ost1
drop_caches
assert_file_eq "$ROOT/bystander.src" "$MNT/bystander"
assert_file_eq "$ROOT/big.src" "$MNT/big"

check "OST1 on a 64 MiB disk"
rm -f "$MNT/big" "$M2/big2"
kill9 ost1
mv "$ROOT/ost1" "$ROOT/ost1.disk"
mkdir "$ROOT/ost1"
mount -t tmpfs -o size=64m amlfs-test-ost1 "$ROOT/ost1" || fail "cannot mount a tmpfs for OST1"
CLEANUPS+=("umount -l '$ROOT/ost1' 2>/dev/null")
# Its identity only: its objects (of files removed above) stay behind.
cp -a "$ROOT/ost1.disk/ost.id" "$ROOT/ost1/"
restart_ost1
# Wait until the MDS has heard OST1's new size (65536 1K-blocks).
retry 30 bash -c "'$AMLFS_BIN/lfs' df '$MNT' | awk '/OST0001/ { exit !(\$2 < 70000) }'" ||
  fail "the MDS did not learn OST1's new capacity: $(lfs df "$MNT")"

check "filling OST1: the writer gets ENOSPC"
lfs setstripe -c 1 -i 1 "$MNT/filler" >/dev/null
rc=0
err=$(dd if=/dev/urandom of="$MNT/filler" bs=1M count=100 conv=fsync 2>&1) || rc=$?
((rc != 0)) || fail "writing 100 MiB to a 64 MiB OST succeeded"
[[ "$err" == *"No space left on device"* ]] || fail "expected ENOSPC, got: $err"
log "dd: $(grep -m1 'No space' <<<"$err")"

check "OST0 keeps working while OST1 is full"
lfs setstripe -c 1 -i 0 "$MNT/on-ost0" >/dev/null
head -c $((16 << 20)) /dev/urandom >"$ROOT/on-ost0.src"
cp "$ROOT/on-ost0.src" "$MNT/on-ost0" || fail "writing to OST0 failed while OST1 is full"
drop_caches
assert_file_eq "$ROOT/on-ost0.src" "$MNT/on-ost0"
assert_file_eq "$ROOT/bystander.src" "$MNT/bystander"

check "new files avoid the full OST"
# The MDS learns OST1's free space from its heartbeat (every 2 s).
retry 30 bash -c "'$AMLFS_BIN/lfs' df '$MNT' | awk '/OST0001/ { exit !(\$4 < 8192) }'" ||
  fail "the MDS does not see OST1 as full: $(lfs df "$MNT")"
for i in 1 2 3 4 5 6; do
  lfs setstripe -c 1 "$MNT/new$i" >/dev/null
  assert_eq 0 "$(lfs getstripe -i "$MNT/new$i" | head -n 1)" "first OST of new$i"
done
echo data >"$MNT/new1" || fail "writing a new file failed while OST1 is full"

check "space comes back after the file is removed"
rm "$MNT/filler"
retry 60 bash -c "'$AMLFS_BIN/lfs' df '$MNT' | awk '/OST0001/ { exit !(\$4 > 50000) }'" ||
  fail "OST1's space did not come back after rm: $(lfs df "$MNT")"
lfs setstripe -c 1 -i 1 "$MNT/after" >/dev/null
head -c $((16 << 20)) /dev/urandom >"$ROOT/after.src"
cp "$ROOT/after.src" "$MNT/after" || fail "writing to OST1 after the rm failed"
drop_caches
assert_file_eq "$ROOT/after.src" "$MNT/after"
