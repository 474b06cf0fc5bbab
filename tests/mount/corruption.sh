#!/usr/bin/env bash
# Silent corruption on an OST's disk: a byte flipped in an object file makes
# reads of that block fail with EIO (never return the wrong bytes) and the
# OST log the OST, object and offset. `amlfs scrub` names the damaged file
# by path, finds an orphan object (no inode refers to it) and, with --fix,
# removes it; other files are untouched.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

start_cluster --osts 2
amlfs() { "$AMLFS_BIN/amlfs" "$@"; }

check "a striped file and a bystander file"
amlfs setstripe -c 2 -S 1M "$MNT/victim" >/dev/null
head -c $((4 << 20)) /dev/urandom >"$ROOT/victim.src"
cp "$ROOT/victim.src" "$MNT/victim"
head -c $((2 << 20)) /dev/urandom >"$ROOT/bystander.src"
cp "$ROOT/bystander.src" "$MNT/bystander"
sync
ino=$(stat -c %i "$MNT/victim")
obj=$(find "$ROOT"/ost[01]/objects -name "$ino.0.0" | head -n 1)
[[ -n "$obj" ]] || fail "no object $ino.0.0 on either OST"
ost_dir=${obj%%/objects/*}
ost=${ost_dir##*/}
log "victim is inode $ino; its first stripe object is on $ost"

check "scrub of a healthy file system: exit 0, nothing damaged, no orphans"
out=$(amlfs scrub "$MNT") || fail "scrub of a healthy file system failed: $out"
log "$(tail -n 1 <<<"$out")"
[[ "$out" == *"0 damaged files, 0 orphan objects"* ]] || fail "unexpected scrub summary: $out"

check "a byte flipped in the object: reading that block fails with EIO"
# Byte 70000 of the object lies in its second 64 KiB checksum block.
python3 - "$obj" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(70000)
    b = f.read(1)
    f.seek(70000)
    f.write(bytes([b[0] ^ 0x40]))
EOF
drop_caches
err=$(dd if="$MNT/victim" of=/dev/null bs=64k skip=1 count=1 2>&1) && fail "reading the damaged block succeeded"
[[ "$err" == *"Input/output error"* ]] || fail "reading the damaged block: expected EIO, got: $err"
err=$(cat "$MNT/victim" 2>&1 >/dev/null) && fail "reading the whole damaged file succeeded"
[[ "$err" == *"Input/output error"* ]] || fail "cat of the damaged file: expected EIO, got: $err"
# The block before it is intact and still reads.
cmp <(dd if="$MNT/victim" bs=64k count=1 2>/dev/null) <(head -c 65536 "$ROOT/victim.src") ||
  fail "the intact first block of the damaged object reads wrong"
assert_file_eq "$ROOT/bystander.src" "$MNT/bystander"
index=${ost#ost}
grep -q "checksum mismatch: OST$index object $ino.0.0 offset 65536" "$ROOT/log/$ost.log" ||
  fail "$ost.log does not name the object and offset: $(grep -i checksum "$ROOT/log/$ost.log" | head -n 3)"
log "$(grep -m1 'checksum mismatch' "$ROOT/log/$ost.log")"

check "an orphan object (inode 999999 does not exist) on the bystander's OST"
byst_obj=$(find "$ROOT"/ost[01]/objects -name "$(stat -c %i "$MNT/bystander").0.0" | head -n 1)
orphan=$(python3 -c '
import sys
ino = 999999
hh = "%02x" % (((ino * 0x9E3779B97F4A7C15) % 2**64) >> 56)
print(f"{sys.argv[1]}/objects/{hh}/{ino}.0.0")' "${byst_obj%%/objects/*}")
mkdir -p "$(dirname "$orphan")"
cp "$byst_obj" "$orphan"
cp "$byst_obj.sum" "$orphan.sum"

check "scrub: names the damaged file by path and the orphan, exits 1"
rc=0
out=$(amlfs scrub "$MNT") || rc=$?
echo "$out"
((rc == 1)) || fail "scrub exited $rc with damage present"
grep -q "^damaged: $MNT/victim (OST000$index object $ino.0.0, offset 65536)" <<<"$out" ||
  fail "scrub did not name $MNT/victim with its object and offset"
grep -q "^orphan: OST[0-9]* object 999999.0.0" <<<"$out" || fail "scrub did not find the orphan"
grep -q "bystander" <<<"$out" && fail "scrub listed the intact bystander"
[[ -f "$orphan" ]] || fail "scrub without --fix removed the orphan"

check "scrub --fix removes the orphan, and only it"
rc=0
out=$(amlfs scrub --fix "$MNT") || rc=$?
grep -q "^orphan: .*999999.0.0.* removed" <<<"$out" || fail "scrub --fix did not remove the orphan: $out"
[[ ! -e "$orphan" && ! -e "$orphan.sum" ]] || fail "the orphan object is still on disk"
((rc == 1)) || fail "scrub --fix exited $rc while a file is still damaged"
drop_caches
assert_file_eq "$ROOT/bystander.src" "$MNT/bystander"

check "rewriting the damaged file heals it; scrub is clean again"
cp "$ROOT/victim.src" "$MNT/victim"
sync
drop_caches
assert_file_eq "$ROOT/victim.src" "$MNT/victim"
out=$(amlfs scrub "$MNT") || fail "scrub after the rewrite failed: $out"
log "$(tail -n 1 <<<"$out")"
