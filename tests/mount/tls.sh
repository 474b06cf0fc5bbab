#!/usr/bin/env bash
# Encryption in transit: a cluster started with --tls (TLS 1.3 keyed by the
# cluster key) serves a mount and the lfs tools; what crosses the network
# to the MDS is TLS records, never the names in them (a recording proxy
# checks); a client without tls, and a TLS client with another key, are
# refused in one line.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

start_cluster --osts 2 --tls
lfs() { "$AMLFS_BIN/lfs" "$@"; }

check "the mount works: striped data, metadata, lfs df and getstripe (which learn tls from the mount)"
lfs setstripe -c 2 -S 1M "$MNT/data" >/dev/null || fail "lfs setstripe over TLS failed"
head -c $((8 << 20)) /dev/urandom >"$ROOT/data.src"
cp "$ROOT/data.src" "$MNT/data"
mkdir -p "$MNT/d/e"
mv "$MNT/data" "$MNT/d/e/data"
drop_caches
assert_file_eq "$ROOT/data.src" "$MNT/d/e/data"
assert_eq 2 "$(lfs getstripe -c "$MNT/d/e/data" | head -n 1)" "stripe count over TLS"
lfs df "$MNT" | grep -q OST0001 || fail "lfs df over TLS shows no OST0001"

M2="$ROOT/m2"
mkdir -p "$M2"
EXTRA_MOUNTS+=("$M2")

check "a client without tls is refused in one line, and nothing is mounted"
rc=0
err=$(timeout 30 "$AMLFS_BIN/amlfs-fuse" -f --mds "$MDS_ADDR" --key-file "$CL_KEY_FILE" "$M2" 2>&1 >/dev/null) || rc=$?
log "exit $rc: $err"
((rc != 0 && rc != 124)) || fail "a plain client of a TLS cluster exited $rc"
[[ "$(wc -l <<<"$err")" -eq 1 ]] || fail "expected one line, got: $err"
[[ "$err" == *"uses TLS: the client needs tls = true"* ]] || fail "the error does not say TLS is needed: $err"
is_mounted "$M2" && fail "$M2 is mounted after the refusal"
grep -q "refused connection from 127.0.0.1:.*does not use TLS" "$ROOT/log/mds.log" ||
  fail "mds.log does not log the refused plain client"

check "a TLS client with another cluster key is refused"
(umask 077 && "$AMLFS_BIN/amlfs" keygen >"$ROOT/other.key")
rc=0
err=$(timeout 30 "$AMLFS_BIN/amlfs-fuse" -f --tls --mds "$MDS_ADDR" --key-file "$ROOT/other.key" "$M2" 2>&1 >/dev/null) || rc=$?
log "exit $rc: $err"
((rc != 0 && rc != 124)) || fail "a client with another key exited $rc"
[[ "$err" == *"authentication failed"* ]] || fail "expected 'authentication failed': $err"
is_mounted "$M2" && fail "$M2 is mounted after the refusal"

check "--tls without a key is refused at start"
rc=0
err=$("$AMLFS_BIN/amlfs-mds" --data "$ROOT/nokey" --listen 127.0.0.1:0 --tls --key-file none 2>&1) || rc=$?
((rc != 0)) || fail "amlfs-mds --tls --key-file none started"
[[ "$err" == *"tls needs the cluster key"* ]] || fail "unexpected error: $err"
[[ ! -e "$ROOT/nokey" ]] || fail "amlfs-mds created its data directory before refusing"

check "through a recording proxy in front of the MDS, the wire carries TLS records, not names"
python3 "$AMLFS_SRC/tests/mount/tap_proxy.py" "$MDS_ADDR" "$ROOT/capture" "$ROOT/proxy.port" &
EXTRA_PIDS+=($!)
retry 10 test -s "$ROOT/proxy.port" || fail "the proxy did not start"
"$AMLFS_BIN/amlfs-fuse" --tls --mds "127.0.0.1:$(cat "$ROOT/proxy.port")" --key-file "$CL_KEY_FILE" "$M2" ||
  fail "a TLS mount through the proxy failed"
marker=amlfs-plaintext-marker-7f3a
echo "$marker" >"$M2/$marker" || fail "creating a file through the proxy failed"
assert_eq "$marker" "$(cat "$MNT/$marker")" "the file made through the proxy, read on the first mount"
unmount_extra "$M2"
size=$(stat -c %s "$ROOT/capture")
((size > 1000)) || fail "the proxy recorded only $size bytes"
grep -qa "$marker" "$ROOT/capture" && fail "the file name crossed the network in clear"
# TLS application data records: 0x17 0x03 0x03.
python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.exit(0 if d.count(b"\x17\x03\x03") > 5 else 1)' \
  "$ROOT/capture" || fail "the capture holds no TLS records"
log "the proxy recorded $size bytes of TLS records, no name in clear"
