#!/usr/bin/env bash
# Failure and bad-input behaviour: unreachable MDS, bad config files, a bad
# stripe size, allow lists, the cluster key, object removal after unlink (also with an OST down), and
# names over 255 bytes.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $EUID -eq 0 ]] || cannot_run "mount tests run as root"
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/amlfs-$TEST_NAME.XXXXXX")
chmod 755 "$ROOT"
# A mount point of our own; unmounted in cleanup should a bad client mount it.
M="$ROOT/m"
mkdir -p "$M"
EXTRA_MOUNTS+=("$M")

one_line() {  # one_line TEXT WHAT: TEXT is exactly one non-empty line
  [[ -n "$1" && "$(wc -l <<<"$1")" -eq 1 ]] || fail "$2: expected one line on stderr, got:"$'\n'"$1"
}

check "amlfs-fuse with an unreachable MDS fails, non-zero, one line on stderr"
port=$(free_port)
t0=$(date +%s.%N)
rc=0
err=$(timeout 30 "$AMLFS_BIN/amlfs-fuse" --mds "127.0.0.1:$port" "$M" 2>&1 >/dev/null) || rc=$?
elapsed=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
log "exit $rc after ${elapsed}s: $err"
((rc != 0)) || fail "amlfs-fuse exited 0 with an unreachable MDS"
((rc != 124)) || fail "amlfs-fuse still running after 30 s with an unreachable MDS"
one_line "$err" "unreachable MDS"
is_mounted "$M" && fail "$M is mounted after the failure"

check "the same in the foreground (-f)"
rc=0
err=$(timeout 30 "$AMLFS_BIN/amlfs-fuse" -f --mds "127.0.0.1:$port" "$M" 2>&1 >/dev/null) || rc=$?
((rc != 0 && rc != 124)) || fail "amlfs-fuse -f exited $rc with an unreachable MDS"
one_line "$err" "unreachable MDS (-f)"

check "a client config file with an unknown key: non-zero exit naming the file and the key"
conf="$ROOT/bad-key.conf"
printf 'mds = 127.0.0.1:%s\nno_such_key = 1\n' "$port" >"$conf"
rc=0
err=$(timeout 30 "$AMLFS_BIN/amlfs-fuse" --config "$conf" "$M" 2>&1 >/dev/null) || rc=$?
log "exit $rc: $err"
((rc != 0 && rc != 124)) || fail "amlfs-fuse accepted an unknown config key (exit $rc)"
[[ "$err" == *"$conf"* ]] || fail "the error does not name $conf: $err"
[[ "$err" == *no_such_key* ]] || fail "the error does not name the key: $err"
one_line "$err" "unknown key"

check "a client config file with a bad value: non-zero exit naming the file and the key"
conf="$ROOT/bad-value.conf"
printf 'mds = 127.0.0.1:%s\nio_timeout = soon\n' "$port" >"$conf"
rc=0
err=$(timeout 30 "$AMLFS_BIN/amlfs-fuse" --config "$conf" "$M" 2>&1 >/dev/null) || rc=$?
log "exit $rc: $err"
((rc != 0 && rc != 124)) || fail "amlfs-fuse accepted io_timeout = soon (exit $rc)"
[[ "$err" == *"$conf"* ]] || fail "the error does not name $conf: $err"
# The key may be named as in the file (io_timeout) or as its flag (--io-timeout).
[[ "$err" == *io_timeout* || "$err" == *io-timeout* ]] || fail "the error does not name the key: $err"
one_line "$err" "bad value"

check "amlfs-mds and amlfs-ost configs with an unknown key are refused the same way"
printf 'bogus_mds_key = 3\n' >"$ROOT/mds.conf"
expect_fail_with bogus_mds_key timeout 20 "$AMLFS_BIN/amlfs-mds" --config "$ROOT/mds.conf" \
  --data "$ROOT/mds-bad" --listen 127.0.0.1:0
printf 'bogus_ost_key = 3\n' >"$ROOT/ost.conf"
expect_fail_with bogus_ost_key timeout 20 "$AMLFS_BIN/amlfs-ost" --config "$ROOT/ost.conf" \
  --data "$ROOT/ost-bad" --listen 127.0.0.1:0 --mds "127.0.0.1:$port" --index 0

check "amlfs-mds with a bad --peers, or an --id not among them, refuses to start and creates nothing"
expect_fail_with "peers: '1=nohost'" timeout 20 "$AMLFS_BIN/amlfs-mds" --data "$ROOT/mds-peers" \
  --listen 127.0.0.1:0 --peers 1=nohost --id 1
expect_fail_with "id: 3 is not one of the --peers IDs" timeout 20 "$AMLFS_BIN/amlfs-mds" \
  --data "$ROOT/mds-peers" --listen 127.0.0.1:0 --peers 1=127.0.0.1:1,2=127.0.0.1:2 --id 3
[[ ! -e "$ROOT/mds-peers" ]] || fail "a refused start created $ROOT/mds-peers"

check "amlfs-mds --default-stripe-size 100000 (not a multiple of 64 KiB) refuses to start"
rc=0
err=$(timeout 20 "$AMLFS_BIN/amlfs-mds" --data "$ROOT/mds-bad" --listen 127.0.0.1:0 \
  --default-stripe-size 100000 2>&1 >/dev/null) || rc=$?
log "exit $rc: $err"
((rc != 0 && rc != 124)) || fail "amlfs-mds started with stripe size 100000 (exit $rc)"
one_line "$err" "bad stripe size"
[[ "$err" == *stripe* ]] || fail "the error does not mention the stripe size: $err"

check "bad command-line values: --listen without a port, --index not a number"
expect_fail_with listen timeout 20 "$AMLFS_BIN/amlfs-mds" --data "$ROOT/mds-bad" --listen nohost
expect_fail_with index timeout 20 "$AMLFS_BIN/amlfs-ost" --data "$ROOT/ost-bad" \
  --listen 127.0.0.1:0 --mds "127.0.0.1:$port" --index x

check "allow lists: a bad one stops a server in one line; a mount from elsewhere is dropped and logged"
expect_fail_with "allow: '10.0.0.0/33'" timeout 20 "$AMLFS_BIN/amlfs-mds" --data "$ROOT/mds-allow" \
  --listen 127.0.0.1:0 --allow "10.0.0.0/33"
expect_fail_with "allow: 'nowhere'" timeout 20 "$AMLFS_BIN/amlfs-ost" --data "$ROOT/ost-allow" \
  --listen 127.0.0.1:0 --mds "127.0.0.1:$port" --index 0 --allow nowhere
[[ ! -e "$ROOT/mds-allow" && ! -e "$ROOT/ost-allow" ]] || fail "a refused start created its data directory"
aport=$(free_port)
"$AMLFS_BIN/amlfs-mds" --data "$ROOT/mds-allow" --listen "127.0.0.1:$aport" --allow "10.0.0.0/8" \
  --key-file none >"$ROOT/mds-allow.log" 2>&1 &
apid=$!
# Expanded at cleanup: empty once it is reaped below, so that a PID reused
# since by another process is never signalled.
CLEANUPS+=('[[ -z "${apid:-}" ]] || kill "$apid" 2>/dev/null || true')
for _ in $(seq 100); do grep -q "listening on" "$ROOT/mds-allow.log" && break; sleep 0.1; done
grep -q "accepting connections only from 10.0.0.0/8" "$ROOT/mds-allow.log" || fail "no allow-list line in the MDS log"
rc=0
err=$(timeout 30 "$AMLFS_BIN/amlfs-fuse" --key-file none --mds "127.0.0.1:$aport" "$M" 2>&1 >/dev/null) || rc=$?
log "exit $rc: $err"
((rc != 0 && rc != 124)) || fail "amlfs-fuse from outside the allow list: exit $rc"
one_line "$err" "mount from outside the allow list"
! mountpoint -q "$M" || fail "mounted from outside the allow list"
grep -q "dropped a connection from 127.0.0.1: not in the allow list (10.0.0.0/8)" "$ROOT/mds-allow.log" ||
  fail "the MDS did not log the dropped connection: $(tail -3 "$ROOT/mds-allow.log")"
kill "$apid"
wait "$apid" 2>/dev/null || true
apid=""

check "an MDS whose database is damaged or not a directory refuses to start in one line"
mport=$(free_port)
"$AMLFS_BIN/amlfs-mds" --data "$ROOT/mds-damaged" --listen "127.0.0.1:$mport" --key-file none \
  >"$ROOT/mds-damaged.log" 2>&1 &
mpid=$!
CLEANUPS+=('[[ -z "${mpid:-}" ]] || kill "$mpid" 2>/dev/null || true')
for _ in $(seq 100); do grep -q "listening on" "$ROOT/mds-damaged.log" && break; sleep 0.1; done
kill "$mpid"
wait "$mpid" 2>/dev/null || true
mpid=""
echo garbage >"$ROOT/mds-damaged/db/CURRENT"
rm -rf "$ROOT/mds-notdir"
mkdir -p "$ROOT/mds-notdir"
echo x >"$ROOT/mds-notdir/db"
for d in mds-damaged mds-notdir; do
  rc=0
  err=$(timeout 20 "$AMLFS_BIN/amlfs-mds" --data "$ROOT/$d" --listen "127.0.0.1:$mport" \
    --key-file none 2>&1 >/dev/null) || rc=$?
  log "$d: exit $rc: $err"
  ((rc != 0 && rc != 124)) || fail "amlfs-mds started on $d (exit $rc)"
  one_line "$err" "amlfs-mds on $d"
  [[ "$err" == *"cannot open metadata database"* ]] || fail "amlfs-mds on $d: $err"
done

check "--help and --version of every binary exit 0; --version names the binary and the project's version"
version=$(sed -n 's/^project(amlfs VERSION \([0-9.]*\).*/\1/p' "$AMLFS_SRC/CMakeLists.txt")
[[ -n $version ]] || fail "no version in $AMLFS_SRC/CMakeLists.txt"
for b in amlfs-mds amlfs-ost amlfs-fuse; do
  h=$(timeout 10 "$AMLFS_BIN/$b" --help) || fail "$b --help failed"
  [[ $h == *--config* ]] || fail "$b --help does not list --config: $h"
  v=$(timeout 10 "$AMLFS_BIN/$b" --version) || fail "$b --version failed"
  assert_eq "$b $version" "$v" "$b --version"
done
unmount_extra "$M"
rm -rf "$ROOT"

# --- with a cluster ----------------------------------------------------------
start_cluster --osts 4

check "the cluster key: a mount with no key or another key is refused in one line, and the MDS logs who"
M2="$ROOT/m2"
mkdir -p "$M2"
EXTRA_MOUNTS+=("$M2")
other="$ROOT/other.key"
(umask 077 && "$AMLFS_BIN/amlfs" keygen >"$other")
for k in none "$other"; do
  rc=0
  err=$(timeout 30 "$AMLFS_BIN/amlfs-fuse" --key-file "$k" --mds "$MDS_ADDR" "$M2" 2>&1 >/dev/null) || rc=$?
  log "--key-file $k: exit $rc: $err"
  ((rc != 0 && rc != 124)) || fail "amlfs-fuse --key-file $k: exit $rc"
  one_line "$err" "amlfs-fuse --key-file $k"
  [[ "$err" == *"authentication failed"* ]] || fail "amlfs-fuse --key-file $k: $err"
  ! mountpoint -q "$M2" || fail "mounted with --key-file $k"
done
grep -Eq "refused connection from 127\.0\.0\.1:[0-9]+: it has no cluster key" "$ROOT/log/mds.log" ||
  fail "the MDS did not log the connection without a key"
grep -Eq "refused connection from 127\.0\.0\.1:[0-9]+: it left without proving the cluster key" "$ROOT/log/mds.log" ||
  fail "the MDS did not log the connection with another key"

check "a key file others may read: amlfs-mds, amlfs-ost and amlfs-fuse refuse to start, in one line"
chmod 644 "$other"
for cmd in "amlfs-mds --data $ROOT/never" "amlfs-ost --data $ROOT/never --mds $MDS_ADDR --index 9" \
           "amlfs-fuse --mds $MDS_ADDR $M2"; do
  rc=0
  # shellcheck disable=SC2086
  err=$(timeout 30 "$AMLFS_BIN"/$cmd --key-file "$other" 2>&1 >/dev/null) || rc=$?
  ((rc != 0 && rc != 124)) || fail "$cmd: exit $rc"
  one_line "$err" "$cmd"
  [[ "$err" == *"chmod 600"* ]] || fail "$cmd: $err"
done
[[ ! -e "$ROOT/never" ]] || fail "a refused server created its data directory"

check "lfs on a mount uses the mount's key when it is given none"
touch "$MNT/keyed"
(unset AMLFS_KEY_FILE && "$AMLFS_BIN/lfs" getstripe -c "$MNT/keyed") >/dev/null || fail "lfs getstripe without a key"

check "a name of 256 bytes: File name too long; 255 bytes work"
long=$(printf 'n%.0s' $(seq 1 256))
expect_fail_with "File name too long" touch "$MNT/$long"
expect_fail_with "File name too long" mkdir "$MNT/$long"
touch "$MNT/${long:1}" || fail "a 255-byte name was refused"
rm "$MNT/${long:1}"

mkdir "$MNT/s"
setfattr -n user.amlfs.layout -v "stripe_count=4 stripe_size=1M" "$MNT/s"
new_objects() {  # new_objects BEFORE_LIST: object files not in BEFORE_LIST
  comm -13 "$1" <(list_objects)
}
all_gone() {  # all_gone LIST: none of the files in LIST exists
  local f
  while read -r f; do [[ -e "$f" ]] && return 1; done <"$1"
  return 0
}

check "a deleted file's objects are removed from the OSTs within a few seconds"
list_objects >"$ROOT/objs.0"
head -c $((6 << 20)) /dev/urandom | dd of="$MNT/s/victim" bs=1M conv=fsync status=none
new_objects "$ROOT/objs.0" >"$ROOT/objs.victim"
log "the file has $(grep -vc '\.sum$' "$ROOT/objs.victim") object files"
(($(grep -vc '\.sum$' "$ROOT/objs.victim") >= 4)) || fail "expected objects on 4 OSTs: $(cat "$ROOT/objs.victim")"
rm "$MNT/s/victim"
retry 5 all_gone "$ROOT/objs.victim" || fail "objects still there 5 s after unlink: $(cat "$ROOT/objs.victim")"

check "an open-unlinked file keeps its objects until the last close"
list_objects >"$ROOT/objs.1"
head -c $((3 << 20)) /dev/urandom >"$ROOT/held"
cp "$ROOT/held" "$MNT/s/held"
sync "$MNT/s/held"
new_objects "$ROOT/objs.1" >"$ROOT/objs.held"
exec {fd}<"$MNT/s/held"
rm "$MNT/s/held"
sleep 2
cmp <(cat <&"$fd") "$ROOT/held" || fail "reading an open-unlinked file failed"
exec {fd}<&-
retry 5 all_gone "$ROOT/objs.held" || fail "objects of the closed unlinked file still there after 5 s"

check "objects of a file unlinked while an OST is down are removed once it returns"
list_objects >"$ROOT/objs.2"
head -c $((6 << 20)) /dev/urandom | dd of="$MNT/s/victim2" bs=1M conv=fsync status=none
new_objects "$ROOT/objs.2" >"$ROOT/objs.victim2"
grep -q "/ost1/" "$ROOT/objs.victim2" || fail "victim2 has no object on ost1"
kill -TERM "$(pid_of ost1)"
retry 10 bash -c "! kill -0 $(pid_of ost1) 2>/dev/null" || fail "ost1 did not stop"
rm "$MNT/s/victim2" || fail "unlink with an OST down failed"
grep -v "/ost1/" "$ROOT/objs.victim2" >"$ROOT/objs.victim2.up" || true
# The destroy queue is kept per OST: the running ones are not held up.
retry 10 all_gone "$ROOT/objs.victim2.up" ||
  fail "objects on the running OSTs still there 10 s after unlink (ost1 down): $(cat "$ROOT/objs.victim2.up")"
grep -q "/ost1/" <(while read -r f; do [[ -e $f ]] && echo "$f"; done <"$ROOT/objs.victim2") ||
  fail "the objects on ost1 went while it was down"
cluster up >/dev/null || fail "restarting ost1 failed"
t0=$SECONDS
retry 12 all_gone "$ROOT/objs.victim2" ||
  fail "objects still there 12 s after ost1 returned: $(cat "$ROOT/objs.victim2")"
log "all objects gone $((SECONDS - t0)) s after ost1 returned"
