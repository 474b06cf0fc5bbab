#!/usr/bin/env bash
# Hostile peers against a live cluster: bad_input.py sends the MDS and an
# OST random bytes, truncated frames, huge lengths, unknown opcodes and
# malformed bodies, unauthenticated requests, a one-byte-a-second sender and
# 1,000 idle connections, while a well-behaved client keeps being served.
# Afterwards: nothing on the servers' disks has changed, the files written
# before read back intact through the mount, and the refusals are logged.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

start_cluster --osts 2

check "files written before the attacks"
lfs() { "$AMLFS_BIN/lfs" "$@"; }
lfs setstripe -c 2 -S 1M "$MNT/striped" >/dev/null
head -c $((6 << 20)) /dev/urandom >"$ROOT/striped.src"
cp "$ROOT/striped.src" "$MNT/striped"
mkdir "$MNT/dir"
for i in 1 2 3; do echo "small file $i" >"$MNT/dir/f$i"; done
sync

# Every file under the servers' data directories, with its size and
# content hash. LevelDB's own text log (LOG, LOG.old) is left out: it notes
# when the database was opened, not what it holds.
disk_state() {
  local d
  for d in "$ROOT/mds" "$ROOT"/ost[0-9]*; do
    find "$d" -type f ! -name LOG ! -name LOG.old -printf '%P %s\n' | sort | while read -r f sz; do
      echo "$d/$f $sz $(sha256sum <"$d/$f" | cut -c1-16)"
    done
  done
}
sleep 1
disk_state >"$ROOT/disk.before"
log "$(wc -l <"$ROOT/disk.before") files on the servers' disks"

check "the MDS and OST0 keep serving a well-behaved client through every attack"
# Sanitized servers keep freed memory in quarantine and shadow every byte.
growth=32
[[ -n $SANITIZER_REPORTS ]] && growth=128
attack() {  # attack ROLE ADDR PID
  python3 "$AMLFS_SRC/tests/mount/bad_input.py" --role "$1" --addr "$2" --pid "$3" \
    --key "$CL_KEY_FILE" --src "$AMLFS_SRC" --max-growth-mib "$growth" >"$ROOT/attack-$1.out" 2>&1
}
attack mds "$MDS_ADDR" "$(pid_of mds)" &
mds_attack=$!
EXTRA_PIDS+=("$mds_attack")
attack ost "$CL_OST_ADDR_0" "$(pid_of ost0)" &
ost_attack=$!
EXTRA_PIDS+=("$ost_attack")
rc_mds=0 rc_ost=0
wait "$mds_attack" || rc_mds=$?
wait "$ost_attack" || rc_ost=$?
EXTRA_PIDS=()
cat "$ROOT/attack-mds.out" "$ROOT/attack-ost.out"
((rc_mds == 0)) || fail "the MDS did not withstand the attacks (see above)"
((rc_ost == 0)) || fail "OST0 did not withstand the attacks (see above)"

check "nothing on the servers' disks changed"
disk_state >"$ROOT/disk.after"
diff "$ROOT/disk.before" "$ROOT/disk.after" >&2 || fail "the servers' data directories changed"

check "the files read back intact through the mount; a new file can be written"
drop_caches
assert_file_eq "$ROOT/striped.src" "$MNT/striped"
for i in 1 2 3; do assert_eq "small file $i" "$(cat "$MNT/dir/f$i")" "dir/f$i"; done
head -c $((3 << 20)) /dev/urandom >"$ROOT/after.src"
cp "$ROOT/after.src" "$MNT/after"
drop_caches
assert_file_eq "$ROOT/after.src" "$MNT/after"

check "the refusals are logged with the attacker's address, at most 10 lines a second"
for f in mds ost0; do
  grep -Eq "(refused|closing) connection from 127\.0\.0\.1:" "$ROOT/log/$f.log" ||
    fail "$f.log has no 'refused/closing connection from 127.0.0.1:' line"
  grep -q "no handshake within" "$ROOT/log/$f.log" ||
    fail "$f.log has no 'no handshake within' line"
  lines=$(grep -Ec '(refused|closing) connection from' "$ROOT/log/$f.log")
  busiest=$(grep -E '(refused|closing) connection from' "$ROOT/log/$f.log" | cut -c1-19 |
    sort | uniq -c | sort -rn | awk 'NR == 1 { print $1 }')
  # 10 a second, counted from the first line of a burst: a clock second
  # can overlap two such windows.
  ((busiest <= 20)) || fail "$f.log has $busiest lines about bad connections in one second"
  log "$f: $lines lines about refused or closed connections, at most $busiest in one second"
done
