#!/usr/bin/env bash
# Write-behind in the client: writes are answered from memory and reach the
# OSTs in the background. Reads through the same node see them at once;
# close makes them visible to another node; an OST failure during
# background writes is reported by close/fsync, never silently dropped;
# O_SYNC writes stay synchronous; memory stays within the budget.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

start_cluster --osts 4 --stripe-count 4 --stripe-size 1048576 -- -o io_timeout=3,write_behind_mb=64

check "a read through another descriptor sees buffered data before any close"
python3 - "$MNT/rw" <<'PY' || fail "read-after-write through the same node failed"
import os, sys
p = sys.argv[1]
data = os.urandom(6 << 20)
w = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
os.write(w, data)
r = os.open(p, os.O_RDONLY)
got = b""
while len(got) < len(data):
    b = os.pread(r, len(data) - len(got), len(got))
    if not b: break
    got += b
assert got == data, f"read {len(got)} bytes, differing"
os.close(r); os.close(w)
PY

check "two descriptors of one file on this node: the later write wins, as on a local disk"
python3 - "$MNT/two" <<'PY' || fail "writes through two descriptors landed out of order"
import os, sys
p = sys.argv[1]
a = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
b = os.open(p, os.O_WRONLY)
os.pwrite(a, b"A" * 8192, 0)      # buffered by the first descriptor
os.pwrite(b, b"B" * 4096, 2048)   # overlaps it, written later
os.close(b)
os.close(a)
with open(p, "rb") as f:
    got = f.read()
want = b"A" * 2048 + b"B" * 4096 + b"A" * 2048
assert got == want, got[:64]
PY

check "data closed on this node is what a second mount reads"
M2="$ROOT/mnt2"
mkdir -p "$M2"
"$AMLFS_BIN/amlfs-fuse" --mds "$MDS_ADDR" --key-file "$CL_KEY_FILE" "$M2" || fail "second mount failed"
CLEANUPS+=("unmount_extra '$M2'")
head -c $((40 << 20)) /dev/urandom >"$ROOT/src"
dd if="$ROOT/src" of="$MNT/closed" bs=256k status=none || fail "dd failed"
assert_file_eq "$ROOT/src" "$M2/closed"

check "sequential 1 GiB through a 64 MiB budget: data intact, amlfs-fuse's peak RSS bounded"
dd if=/dev/urandom of="$ROOT/chunk" bs=1M count=16 status=none
for i in $(seq 1 64); do cat "$ROOT/chunk"; done | dd of="$MNT/big" bs=1M iflag=fullblock status=none ||
  fail "writing 1 GiB failed"
drop_caches
want=$(for i in $(seq 1 64); do cat "$ROOT/chunk"; done | md5sum | cut -d' ' -f1)
assert_eq "$want" "$(md5sum <"$MNT/big" | cut -d' ' -f1)" "md5 of the 1 GiB file"
fpid=$(fuse_pids_for "$MNT" | head -n1)
rss=$(awk '/VmHWM/ { print int($2 / 1024) }' "/proc/$fpid/status")
log "amlfs-fuse peak RSS: $rss MiB (write_behind_mb=64)"
((rss < 400)) || fail "amlfs-fuse peak RSS $rss MiB with a 64 MiB write-behind budget"

check "data write() accepted, still buffered when its OST is lost: the next fsync reports EIO, also once the OST is back"
: >"$MNT/lost"  # created while every OST is up: striped over all 4
: >"$MNT/sync"
metrics=$(getfattr --absolute-names --only-values -n amlfs.metrics "$MNT") ||
  fail "no amlfs.metrics on the mount"
buffered() {
  curl -sf -m 10 "http://$metrics/metrics" |
    awk '$1 ~ /^amlfs_client_write_behind_bytes([{]|$)/ { v = $2 } END { printf "%.0f", v }'
}
# ost1 stops answering before the writes, so what write() accepts for its
# stripes cannot reach it; it is killed while that data waits in the client,
# and stays away past io_timeout, so the client gives that data up. Then it
# comes back: the fsync that follows finds every OST up, and only the
# client's memory of the lost write can make it fail.
kill -STOP "$(pid_of ost1)"
python3 - "$MNT/lost" "$ROOT/written" "$ROOT/killed" >"$ROOT/lost.out" 2>&1 <<'PY' &
import errno, os, sys, time
p, written, killed = sys.argv[1:]
fd = os.open(p, os.O_WRONLY)
for i in range(8):                   # 8 MiB over 4 stripes: ost1 holds 2 MiB
    n = os.write(fd, os.urandom(1 << 20))   # must not fail: the client buffers it
    assert n == 1 << 20, f"short write {n}"
open(written, "w").close()
while not os.path.exists(killed):
    time.sleep(0.05)
err = None
try:
    os.fsync(fd)
except OSError as e:
    err = e
try:
    os.close(fd)
except OSError as e:
    err = err or e
assert err is not None and err.errno == errno.EIO, f"expected EIO at fsync/close, got {err!r}"
print("reported at fsync/close:", err)
PY
writer=$!
EXTRA_PIDS+=("$writer")
retry 60 test -e "$ROOT/written" || fail "write() of buffered data did not return: $(cat "$ROOT/lost.out")"
held=$(buffered)
log "write-behind holds $held bytes when ost1 is killed"
((held > 0)) || fail "nothing was buffered when ost1 was killed (amlfs_client_write_behind_bytes $held)"
kill -KILL "$(pid_of ost1)"
retry 10 bash -c "! kill -0 $(pid_of ost1) 2>/dev/null" || fail "ost1 survived kill -9"
nothing_buffered() { (($(buffered) == 0)); }
retry 60 nothing_buffered || fail "the client still holds $(buffered) bytes for the lost OST"
cluster up >/dev/null || fail "restarting ost1 failed"
retry 30 bash -c "'$AMLFS_BIN/lfs' osts '$MNT' | grep -q 'OST0001_UUID ACTIVE'" || fail "ost1 is not back"
touch "$ROOT/killed"
wait "$writer" || fail "the lost write was not reported at fsync/close: $(cat "$ROOT/lost.out")"
log "$(cat "$ROOT/lost.out")"

kill9 ost1
check "O_SYNC writes are not buffered: the write itself fails on the dead OST"
python3 - "$MNT/sync" <<'PY' || fail "an O_SYNC write to a dead OST did not fail"
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_SYNC)
try:
    for i in range(4):
        os.write(fd, b"x" * (1 << 20))
except OSError as e:
    assert e.errno == errno.EIO, e
    print("write failed:", e)
    sys.exit(0)
finally:
    try: os.close(fd)
    except OSError: pass
sys.exit("no error from O_SYNC writes")
PY

log "PASS"
