#!/usr/bin/env bash
# fio --verify=crc32c on striped files: 4 jobs of different file sizes,
# sequential write, random overwrite, re-verification after dropping caches
# (data read back from the OSTs), and a truncate/extend/rewrite pattern
# checked against a local copy.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

command -v fio >/dev/null || fail "fio is not installed (scripts/install-deps.sh)"
start_cluster --osts 4

D="$MNT/fio"
mkdir "$D"
setfattr -n user.amlfs.layout -v "stripe_count=4 stripe_size=1M" "$D" || fail "setfattr failed"
mkdir "$MNT/fio64k"
setfattr -n user.amlfs.layout -v "stripe_count=3 stripe_size=64K" "$MNT/fio64k" ||
  fail "setfattr (stripe_size=64K) failed"

# Four jobs, file sizes not multiples of the stripe size or of each other.
JOBS="$ROOT/jobs.fio"
cat >"$JOBS" <<EOF
[global]
directory=$D
ioengine=psync
verify=crc32c
verify_fatal=1
verify_state_save=0
do_verify=1
randrepeat=1
end_fsync=1
group_reporting=0

[f4m]
size=4M
bs=4k

[f37m]
size=37M
bs=128k

[f128m]
size=128M
bs=1M

[f21m-64k-stripes]
directory=$MNT/fio64k
size=21M
bs=24k
EOF

run_fio() {  # run_fio WHAT FIO-ARGS...
  local what=$1 out
  shift
  out="$ROOT/fio-$what.out"
  if ! fio --output="$out" "$@" "$JOBS"; then
    sed -n '1,60p' "$out" >&2
    fail "fio $what failed"
  fi
  grep -E 'WRITE:|READ:' "$out" | sed "s/^/[$TEST_NAME]   $what /" || true
  if grep -q 'verify:' "$out"; then
    grep 'verify:' "$out" | head >&2
    fail "fio $what reported verification errors"
  fi
}

check "4 jobs (4M, 37M, 128M on 4×1M stripes; 21M on 3×64K stripes) write sequentially and verify"
run_fio seq-write --rw=write

# The four files: 4M + 37M + 128M + 21M.
FIO_BYTES=$(((4 + 37 + 128 + 21) << 20))
check "the same files verify after dropping caches (data from the OSTs)"
from_osts $FIO_BYTES run_fio seq-verify --rw=write --verify_only

check "random overwrite of the same files (block order differs from the layout) verifies"
run_fio rand-overwrite --rw=randwrite --overwrite=1

check "random overwrite verifies after dropping caches (data from the OSTs)"
from_osts $FIO_BYTES run_fio rand-verify --rw=randwrite --overwrite=1 --verify_only

check "mixed block sizes (4k-1M) random overwrite with O_DIRECT verifies"
run_fio direct-mixed --rw=randwrite --overwrite=1 --direct=1 --bsrange=4k-1M --bs_unaligned=0

check "truncate pattern: write, shrink mid-stripe, extend, rewrite, compare"
F="$D/trunc"
L="$ROOT/trunc"
head -c $((24 << 20)) /dev/urandom >"$L"
cp "$L" "$F"
for step in "5000001" "20M" "1048576" "0" "3000000"; do
  truncate -s "$step" "$L"
  truncate -s "$step" "$F" || fail "truncate -s $step failed"
  assert_eq "$(stat -c %s "$L")" "$(stat -c %s "$F")" "size after truncate -s $step"
  # rewrite 300 KiB inside, and 100 KiB straddling the old end
  head -c 307200 /dev/urandom >"$ROOT/patch"
  size=$(stat -c %s "$L")
  for off in $((size / 3)) $((size > 51200 ? size - 51200 : 0)); do
    dd if="$ROOT/patch" of="$L" bs=100K count=1 seek="$off" oflag=seek_bytes conv=notrunc status=none
    dd if="$ROOT/patch" of="$F" bs=100K count=1 seek="$off" oflag=seek_bytes conv=notrunc,fsync \
      status=none || fail "rewrite at $off after truncate -s $step failed"
  done
  assert_file_eq "$L" "$F"
done
drop_caches
assert_file_eq "$L" "$F"

check "O_TRUNC open of a striped file then rewrite of a shorter content"
head -c 7777777 /dev/urandom >"$L"
cp "$L" "$F"
head -c 1234567 /dev/urandom >"$L"
cp "$L" "$F"
drop_caches
assert_file_eq "$L" "$F"

check "fio verifies a file after a truncate (shrink, then fio rewrites and verifies it)"
files=("$D"/f37m*)
truncate -s 10M "${files[0]}" || fail "truncate of ${files[0]} failed"
run_fio after-truncate --rw=write

check "sizes on the mount match what fio wrote"
for f in "$D"/f128m*; do assert_eq $((128 << 20)) "$(stat -c %s "$f")" "size of $f"; done
