#!/usr/bin/env bash
# From a fresh Debian 12 machine (as root) to a mounted amlfs:
#   1. installs the missing packages (scripts/install-deps.sh),
#   2. builds Release into build-release/ (the compiler's output goes to
#      build-release/build.log) and installs the binaries to /usr/local/bin,
#   3. links /sbin/mount.fuse.amlfs, so `mount -t fuse.amlfs` and fstab work,
#   4. starts a local cluster (1 MDS + 4 OSTs on 127.0.0.1, data under
#      /var/tmp/amlfs) mounted at MOUNTPOINT (default /mnt/data),
#   5. writes a file striped over all 4 OSTs and shows where its stripes went.
# The file system stays mounted. Running it again is harmless.
#
#   scripts/quickstart.sh [MOUNTPOINT]
set -euo pipefail

cd "$(dirname "$0")/.."
SRC=$(pwd)
source scripts/lib.sh
script_help "$@"
(($# <= 1)) && [[ ${1:-} != -* ]] || { echo "quickstart.sh: usage: scripts/quickstart.sh [MOUNTPOINT]" >&2; exit 2; }
MNT=${1:-/mnt/data}
ROOT=/var/tmp/amlfs
PREFIX=/usr/local
BUILD=$SRC/build-release

say() { printf '\n== %s\n' "$*"; }

if ((EUID != 0)); then
  echo "quickstart.sh: run as root (it installs packages and mounts a file system)" >&2
  exit 1
fi

say "Installing missing packages"
scripts/install-deps.sh

say "Building (Release) in $BUILD"
release_build || exit 1

say "Installing to $PREFIX/bin"
# The running cluster keeps using the old binaries until it is restarted.
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null
for b in amlfs-mds amlfs-ost amlfs-fuse amlfs; do
  [[ -x "$PREFIX/bin/$b" ]] || install -m 755 "$BUILD/bin/$b" "$PREFIX/bin/$b"
done
ln -sfn amlfs "$PREFIX/bin/lfs"
ln -sfn "$PREFIX/bin/amlfs-fuse" /sbin/mount.fuse.amlfs
echo "installed: $PREFIX/bin/amlfs-mds $PREFIX/bin/amlfs-ost $PREFIX/bin/amlfs-fuse $PREFIX/bin/amlfs (and lfs)"
echo "mount helper: /sbin/mount.fuse.amlfs -> $PREFIX/bin/amlfs-fuse"

say "Starting a local cluster (1 MDS + 4 OSTs on 127.0.0.1, data in $ROOT), mounted at $MNT"
AMLFS_BIN="$PREFIX/bin" scripts/local-cluster.sh up --root "$ROOT" --osts 4 --mount "$MNT"
# shellcheck source=/dev/null
source "$ROOT/cluster.env"

# Ours (from an earlier run) is rewritten; someone else's is left alone.
if [[ ! -e /etc/amlfs/amlfs.conf ]] || grep -q "Written by scripts/quickstart.sh" /etc/amlfs/amlfs.conf; then
  mkdir -p /etc/amlfs
  {
    echo "# amlfs-fuse client configuration (see conf/amlfs.conf for every key)."
    echo "# Written by scripts/quickstart.sh for the local cluster in $ROOT."
    echo "mds = $CL_MDS_ADDR"
    echo "key_file = $CL_KEY_FILE"
  } >/etc/amlfs/amlfs.conf
  echo "wrote /etc/amlfs/amlfs.conf (mds = $CL_MDS_ADDR, key_file = $CL_KEY_FILE): 'amlfs-fuse DIR' now mounts this cluster"
fi

say "Writing a 64 MiB file striped over all 4 OSTs (stripe_size 1M)"
mkdir -p "$MNT/striped"
echo "\$ lfs setstripe -c 4 -S 1M $MNT/striped"
"$PREFIX/bin/lfs" setstripe -c 4 -S 1M "$MNT/striped"
F="$MNT/striped/demo.bin"
rm -f "$F"
dd if=/dev/urandom of="$F" bs=1M count=64 conv=fsync status=none
ls -l "$F"
echo "\$ lfs getstripe $F"
"$PREFIX/bin/lfs" getstripe "$F"
echo "\$ lfs df -h $MNT"
"$PREFIX/bin/lfs" df -h "$MNT"

say "Where its stripes went (object files on each OST)"
ino=$(stat -c %i "$F")
# Objects are OSTDATA/objects/XX/<inode>.<component>.<stripe> (+ .sum checksums).
pattern="$ino.*"
if [[ -z "$(find "$ROOT"/ost* -path '*/objects/*' -type f -name "$pattern" -print -quit)" ]]; then
  pattern="*"  # inode numbers differ on the mount: show every object
fi
for ((i = 0; i < CL_OSTS; i++)); do
  v="CL_OST_ADDR_$i"
  bytes=$(find "$ROOT/ost$i" -path '*/objects/*' -type f -name "$pattern" ! -name '*.sum' -printf '%s\n' |
    awk '{ s += $1 } END { print s + 0 }')
  printf 'OST%d (%s, %s): %d MiB\n' "$i" "${!v}" "$ROOT/ost$i" $((bytes >> 20))
  find "$ROOT/ost$i" -path '*/objects/*' -type f -name "$pattern" -printf '    %P  %s bytes\n'
done

say "Capacity (summed over the OSTs)"
df -h "$MNT"

say "Done"
scripts/local-cluster.sh status --root "$ROOT" || true
cat <<EOF

amlfs is mounted at $MNT (MDS at $CL_MDS_ADDR).
  status:  scripts/local-cluster.sh status --root $ROOT
  stop:    scripts/local-cluster.sh down --root $ROOT
  restart: AMLFS_BIN=$PREFIX/bin scripts/local-cluster.sh up --root $ROOT --mount $MNT
EOF
