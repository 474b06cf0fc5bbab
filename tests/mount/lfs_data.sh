#!/usr/bin/env bash
# Data under lfs layouts on a real 4-OST mount: progressive layouts with fio
# --verify across every component boundary, and lfs migrate restriping a
# file while readers read it (checksums compared), refused while a writer
# has it open, with progress on a terminal.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

command -v fio >/dev/null || fail "fio is not installed (scripts/install-deps.sh)"
LFS=$AMLFS_BIN/lfs
start_cluster --osts 4

check "a directory with a 4-component progressive default: files get every component"
D="$MNT/pfl"
mkdir "$D"
"$LFS" setstripe -E 1M -c 1 -E 4M -c 2 -S 64K -E 16M -c 3 -S 1M -E -1 -c -1 -S 256K "$D" ||
  fail "setstripe -E on a directory failed"
: >"$D/probe"
# "    lcme_id:" and "    lcme_extent.e_end:   " are Lustre 2.15.8's (tag 2.15.8),
# lustre/utils/liblustreapi.c:3573-3584 and 3639-3650 (lov_dump_comp_v1_entry).
"$LFS" getstripe "$D/probe" | grep -c "lcme_id:" | grep -qx 4 || fail "probe: $("$LFS" getstripe "$D/probe")"

check "fio writes and verifies 24 MiB files across the component boundaries (1M, 4M, 16M)"
JOBS="$ROOT/pfl.fio"
cat >"$JOBS" <<FIO
[global]
directory=$D
ioengine=psync
verify=crc32c
verify_fatal=1
verify_state_save=0
do_verify=1
end_fsync=1
size=24M

[seq192k]
rw=write
bs=192k

[rand]
rw=randwrite
bs=12k
randrepeat=1
FIO
fio --output="$ROOT/fio.out" "$JOBS" || fail "fio verify failed: $(tail -n 20 "$ROOT/fio.out")"
for f in "$D"/seq192k.* "$D"/rand.*; do
  assert_eq $((24 << 20)) "$(stat -c %s "$f")" "size of $f"
  "$LFS" getstripe "$f" | grep -q "lcme_extent.e_end:   16777216" || fail "$f is not progressive"
done

check "after dropping caches, fio re-verifies every block from the OSTs"
sed -i 's/^do_verify=1/verify_only=1/' "$JOBS"
reverify() { fio --output="$ROOT/fio2.out" "$JOBS" || fail "fio verify_only failed: $(tail -n 20 "$ROOT/fio2.out")"; }
from_osts "$(du -cb --apparent-size "$D"/seq192k.* "$D"/rand.* | tail -n1 | cut -f1)" reverify

check "writes straddling each boundary read back exactly (cmp with a local copy)"
head -c $((20 << 20)) /dev/urandom >"$ROOT/local"
: >"$D/straddle"
for off in $(((1 << 20) - 5000)) $(((4 << 20) - 70000)) $(((16 << 20) - 1)) 0 $((19 << 20)); do
  dd if="$ROOT/local" of="$D/straddle" bs=1 count=0 status=none  # keeps the file
  dd if="$ROOT/local" of="$D/straddle" iflag=skip_bytes,count_bytes oflag=seek_bytes conv=notrunc \
    skip="$off" seek="$off" count=$((1 << 20)) status=none || fail "write at $off failed"
done
dd if="$ROOT/local" of="$D/straddle" bs=1M conv=notrunc status=none
drop_caches
assert_file_eq "$ROOT/local" "$D/straddle"
ino=$(stat -c %i "$D/straddle")
for i in 0 1 2 3; do
  n=$(find "$ROOT/ost$i/objects" -type f -name "$ino.*" ! -name '*.sum' | wc -l)
  ((n >= 1)) || fail "no object of the progressive file on ost$i"
done

check "lfs migrate restripes a 96 MiB file while readers read it: same data, same inode"
F="$MNT/mig"
"$LFS" setstripe -c 1 -i 2 "$F" || fail "setstripe failed"
head -c $((96 << 20)) /dev/urandom >"$ROOT/mig.src"
dd if="$ROOT/mig.src" of="$F" bs=4M conv=fsync,notrunc status=none
want=$(md5sum <"$ROOT/mig.src" | cut -d' ' -f1)
ino=$(stat -c %i "$F")
# A slow reader holding the file open from before the migration until after it,
# and readers that reopen it in a loop.
python3 - "$F" "$want" >"$ROOT/slow.out" 2>&1 <<'PY' &
import hashlib, sys, time
path, want = sys.argv[1], sys.argv[2]
h = hashlib.md5()
with open(path, "rb", buffering=0) as f:
    while True:
        b = f.read(1 << 20)
        if not b:
            break
        h.update(b)
        time.sleep(0.05)
print("slow reader", "OK" if h.hexdigest() == want else "MISMATCH " + h.hexdigest())
PY
slow=$!
EXTRA_PIDS+=("$slow")
(
  while [[ ! -e "$ROOT/stop" ]]; do
    got=$(md5sum <"$F" | cut -d' ' -f1)
    [[ "$got" == "$want" ]] && echo ok || echo "MISMATCH $got"
  done
) >"$ROOT/loop.out" 2>&1 &
loop=$!
EXTRA_PIDS+=("$loop")
sleep 1
"$LFS" migrate -c 4 -S 1M "$F" 2>"$ROOT/migrate.err" || fail "migrate failed: $(cat "$ROOT/migrate.err")"
sleep 1
touch "$ROOT/stop"
wait "$loop" || true
wait "$slow" || fail "the slow reader failed: $(cat "$ROOT/slow.out")"
log "$(cat "$ROOT/slow.out"); looping reader: $(grep -c ok "$ROOT/loop.out") reads"
grep -q "slow reader OK" "$ROOT/slow.out" || fail "slow reader: $(cat "$ROOT/slow.out")"
! grep -q MISMATCH "$ROOT/loop.out" || fail "a looping reader read wrong data: $(grep MISMATCH "$ROOT/loop.out" | head -n3)"
grep -q ok "$ROOT/loop.out" || fail "the looping reader never finished a read"
assert_eq "$ino" "$(stat -c %i "$F")" "inode after migrate"
assert_eq 4 "$("$LFS" getstripe -c "$F" | head -n1)" "stripe count after migrate"
assert_eq 1 "$("$LFS" getstripe -g "$F" | head -n1)" "layout generation after migrate"
drop_caches
assert_file_eq "$ROOT/mig.src" "$F"

check "the old object is destroyed once no one has the file open; the 4 new ones hold 24 MiB each"
objects_of_mig() { find "$ROOT"/ost*/objects -type f -name "$ino.*" ! -name '*.sum' | wc -l; }
retry 15 bash -c "[[ \$(find '$ROOT'/ost*/objects -type f -name '$ino.*' ! -name '*.sum' | wc -l) == 4 ]]" ||
  fail "objects of the migrated file: $(find "$ROOT"/ost*/objects -type f -name "$ino.*" ! -name '*.sum')"
for i in 0 1 2 3; do
  f=$(find "$ROOT/ost$i/objects" -type f -name "$ino.*" ! -name '*.sum')
  assert_eq $((24 << 20)) "$(stat -c %s "$f")" "object size on ost$i"
done

check "migrate refuses a file open for writing, and changes nothing"
exec 7>>"$F"
expect_fail_with "open for writing" "$LFS" migrate -c 2 "$F"
exec 7>&-
assert_eq 4 "$("$LFS" getstripe -c "$F" | head -n1)" "stripe count after the refused migrate"
assert_file_eq "$ROOT/mig.src" "$F"

check "migrate shows progress on a terminal"
script -qec "'$LFS' migrate -c 2 '$F'" /dev/null >"$ROOT/tty.out" || fail "migrate under a terminal failed"
grep -q "100% (96.0 MiB of 96.0 MiB)" "$ROOT/tty.out" || fail "no progress shown: $(cat -A "$ROOT/tty.out" | tail -c 300)"
assert_eq 2 "$("$LFS" getstripe -c "$F" | head -n1)" "stripe count after the second migrate"
assert_file_eq "$ROOT/mig.src" "$F"

check "lfs find selects by name, type, size, stripe count, stripe size and OST"
mkdir -p "$MNT/tree/a/b"
"$LFS" setstripe -c 1 -i 0 "$MNT/tree/one"
"$LFS" setstripe -c 3 -S 2M "$MNT/tree/a/three"
"$LFS" setstripe -c 2 -o 2,3 "$MNT/tree/a/b/two"
head -c 3M /dev/zero >"$MNT/tree/a/b/two"
ln -s one "$MNT/tree/link"
sorted() { "$LFS" find "$@" | sort | tr '\n' ' '; }
assert_eq "$MNT/tree/a/b/two $MNT/tree/a/three " "$(sorted "$MNT/tree" --stripe-count +1)" "--stripe-count +1"
assert_eq "$MNT/tree/a/three " "$(sorted "$MNT/tree" --stripe-size 2M)" "--stripe-size 2M"
assert_eq "$MNT/tree/a/b/two " "$(sorted "$MNT/tree" --ost 3 --size +2M)" "--ost 3 --size +2M"
assert_eq "$MNT/tree/link " "$(sorted "$MNT/tree" --type l)" "--type l"
assert_eq "$MNT/tree $MNT/tree/a $MNT/tree/link $MNT/tree/one " \
  "$(sorted "$MNT/tree" --maxdepth 1)" "--maxdepth 1"
assert_eq "$MNT/tree/one " "$(sorted "$MNT/tree" --name 'o*' --mtime -1)" "--name 'o*' --mtime -1"
assert_eq "$(cd "$MNT" && find tree -name 't*' | sed "s|^|$MNT/|" | sort | tr '\n' ' ')" \
  "$(sorted "$MNT/tree" --name 't*')" "--name agrees with find -name"

log "PASS"
