#!/usr/bin/env bash
# Striping through the mount: a 64 MiB file striped 4 × 1 MiB puts 16 MiB on
# each of 4 OSTs; a sparse file reads back zeros and takes no OST space; df of
# the mount shows the summed OST capacity.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

start_cluster --osts 4

check "setfattr user.amlfs.layout on a directory sets its default layout"
mkdir "$MNT/s4"
setfattr -n user.amlfs.layout -v "stripe_count=4 stripe_size=1M" "$MNT/s4" ||
  fail "setfattr of the layout failed"
layout=$(getfattr --absolute-names --only-values -n user.amlfs.layout "$MNT/s4") || fail "getfattr of the dir failed"
log "s4 layout: $layout"
[[ "$layout" == *stripe_count=4* ]] || fail "directory layout reads back as '$layout'"

check "a 64 MiB file in it has stripe_count=4, stripe_size=1048576 and 4 distinct OSTs"
head -c $((64 << 20)) /dev/urandom >"$ROOT/big"
dd if="$ROOT/big" of="$MNT/s4/big" bs=1M conv=fsync status=none || fail "writing the 64 MiB file failed"
layout=$(getfattr --absolute-names --only-values -n user.amlfs.layout "$MNT/s4/big") || fail "getfattr of the file failed"
log "big layout: $layout"
[[ "$layout" == *stripe_count=4* ]] || fail "file layout: '$layout'"
[[ "$layout" == *stripe_size=1048576* ]] || fail "file layout: '$layout'"
osts=$(sed -n 's/.*osts=\([0-9,]*\).*/\1/p' <<<"$layout")
assert_eq 4 "$(tr ',' '\n' <<<"$osts" | sort -u | grep -c .)" "distinct OSTs in '$osts'"

check "each of the 4 OSTs holds exactly 16 MiB of it"
for i in 0 1 2 3; do
  bytes=$(object_bytes "$ROOT/ost$i")
  log "ost$i: $bytes bytes in objects ($(du -sh "$ROOT/ost$i" | cut -f1) on disk)"
  assert_eq $((16 << 20)) "$bytes" "object bytes on ost$i"
done

check "the file reads back identical from the OSTs after dropping caches"
cat "$MNT/s4/big" "$MNT/s4/big" >/dev/null  # the second open keeps the first one's pages
from_osts $((64 << 20)) assert_file_eq "$ROOT/big" "$MNT/s4/big"

check "a stat of the file shows 64 MiB"
assert_eq $((64 << 20)) "$(stat -c %s "$MNT/s4/big")" "size"

check "a sparse file (1 byte at 1 GiB) reads zeros in the hole and takes almost no OST space"
du_before=0
for i in 0 1 2 3; do du_before=$((du_before + $(du -sk "$ROOT/ost$i" | cut -f1))); done
printf 'x' | dd of="$MNT/s4/sparse" bs=1 seek=$((1 << 30)) conv=notrunc,fsync status=none ||
  fail "writing 1 byte at 1 GiB failed"
printf 'x' | dd of="$ROOT/sparse" bs=1 seek=$((1 << 30)) conv=notrunc status=none
assert_eq $(((1 << 30) + 1)) "$(stat -c %s "$MNT/s4/sparse")" "sparse file size"
du_after=0
for i in 0 1 2 3; do du_after=$((du_after + $(du -sk "$ROOT/ost$i" | cut -f1))); done
log "OST space used by the sparse file: $((du_after - du_before)) KiB"
((du_after - du_before < 1024)) || fail "sparse file takes $((du_after - du_before)) KiB on the OSTs"
drop_caches
assert_file_eq "$ROOT/sparse" "$MNT/s4/sparse"
rm -f "$ROOT/sparse"

check "a file at the 4 GiB edge (write straddling 2^32) reads back"
head -c $((3 << 20)) /dev/urandom >"$ROOT/edge"
dd if="$ROOT/edge" of="$MNT/s4/edge" bs=1M seek=$(((4 << 10) - 1)) conv=fsync status=none
edge_same() { cmp <(tail -c $((3 << 20)) "$MNT/s4/edge") "$ROOT/edge" || fail "data across 2^32 differs"; }
from_osts $((3 << 20)) edge_same
assert_eq $(((4 << 30) + (2 << 20))) "$(stat -c %s "$MNT/s4/edge")" "size of the 4 GiB file"

check "a new file in the root gets the cluster default layout"
echo x >"$MNT/plain"
getfattr --absolute-names --only-values -n user.amlfs.layout "$MNT/plain" >/dev/null || fail "no layout on a plain file"

check "df of the mount shows the OSTs' summed capacity (±10%)"
want=0
for i in 0 1 2 3; do want=$((want + $(stat -f -c '%b*%S' "$ROOT/ost$i"))); done
have=$(($(stat -f -c '%b*%S' "$MNT")))
log "mount: $((have >> 20)) MiB; 4 OST file systems: $((want >> 20)) MiB"
df -h "$MNT" | sed "s/^/[$TEST_NAME]   /"
((have * 10 >= want * 9 && have * 10 <= want * 11)) ||
  fail "df of the mount shows $((have >> 20)) MiB, expected about $((want >> 20)) MiB"
free_have=$(($(stat -f -c '%a*%S' "$MNT")))
((free_have > 0)) || fail "df of the mount shows no free space"

check "an OST added to the running file system takes a new file's data at once"
# The mount learns the new OST when it first writes to a layout naming it,
# not at its periodic map refresh (every 10 s): the first close succeeds.
cluster up --osts 5 >/dev/null || fail "starting OST4 failed"
load_cluster_env
mkdir "$MNT/on4"
"$AMLFS_BIN/lfs" setstripe -c 1 -i 4 "$MNT/on4" >/dev/null || fail "setstripe -i 4 failed"
head -c $((1 << 20)) /dev/urandom >"$ROOT/on4.src"
python3 - "$ROOT/on4.src" "$MNT/on4/f" <<'PY' || fail "the first file on OST4 could not be written"
import os, sys
data = open(sys.argv[1], "rb").read()
fd = os.open(sys.argv[2], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
os.write(fd, data)
os.close(fd)
PY
assert_eq $((1 << 20)) "$(object_bytes "$ROOT/ost4")" "object bytes on ost4"
from_osts $((1 << 20)) assert_file_eq "$ROOT/on4.src" "$MNT/on4/f"
