#!/usr/bin/env bash
# The lfs tool (build/bin/lfs, a link to amlfs) against a real 4-OST mount:
# setstripe/getstripe with byte-exact Lustre output, directory default
# inheritance, data landing on the OSTs getstripe names, df/osts/mdts,
# path2fid/fid2path, the lustre.lov xattr through cp/tar/rsync, and every
# error case: one line on stderr, non-zero exit, nothing changed.
# The golden blocks below cite Lustre 2.15.8 (tag 2.15.8, commit ee228420b7fa; 2.15.0 to
# 2.15.8 print these the same), by file:line in lustre-release; liblustreapi.c and lfs.c
# are lustre/utils/. Lustre's objid/group/l_fid values are its OST object ids; amlfs's
# are its own (docs/LFS.md).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

LFS=$AMLFS_BIN/lfs
start_cluster --osts 4
OUT=$ROOT/out
EXP=$ROOT/expected

# same_output WHAT: $OUT and $EXP are byte-identical.
same_output() {
  cmp -s "$EXP" "$OUT" || fail "$1 differs from Lustre's format:
--- expected
$(cat -A "$EXP")
--- got
$(cat -A "$OUT")"
}

check "lfs is the amlfs binary; every subcommand has --help"
[[ "$(readlink "$LFS")" == amlfs ]] || fail "lfs is not a link to amlfs"
for sub in setstripe getstripe df find migrate path2fid fid2path osts mdts; do
  "$LFS" "$sub" --help >"$OUT" 2>&1 || fail "lfs $sub --help failed"
  grep -qi "usage\|options" "$OUT" || fail "lfs $sub --help prints no usage"
done

check "setstripe -c 2 -S 1M -i 1 on a new path creates an empty file with that layout"
"$LFS" setstripe -c 2 -S 1M -i 1 "$MNT/f2" || fail "setstripe failed"
[[ -f "$MNT/f2" ]] || fail "no file created"
assert_eq 0 "$(stat -c %s "$MNT/f2")" "size of the new file"
ino=$(stat -c %i "$MNT/f2")
"$LFS" getstripe "$MNT/f2" >"$OUT" || fail "getstripe failed"
# Lustre: lfs.c:6186-6190 (depth 1, so the path: liblustreapi.c:3019-3021); the lmm_* lines,
# lov_dump_user_lmm_header, liblustreapi.c:3095-3203 (raid0: layout2name, 2972-2979); the
# obdidx header and rows, lov_dump_user_lmm_v1v3, 3260-3262 and 3288-3298 (group 0 is
# printed in decimal); the blank line, 3302.
{
  printf '%s\n' "$MNT/f2"
  printf 'lmm_stripe_count:  2\nlmm_stripe_size:   1048576\nlmm_pattern:       raid0\n'
  printf 'lmm_layout_gen:    0\nlmm_stripe_offset: 1\n'
  printf '\tobdidx\t\t objid\t\t objid\t\t group\n'
  printf '\t%6u\t%14u\t%#13x\t%14u\n' 1 "$ino" "$ino" 0 2 "$ino" "$ino" 0
  printf '\n'
} >"$EXP"
same_output "getstripe of a plain file"

check "single-field flags print the bare value; -q prints the object table"
# Lustre: -c/-S/-i set one VERBOSE_* bit and depth 0 (lfs.c:5846-5851, 6090-6095,
# 6022-6027): no path, no label, the value and "\n" (liblustreapi.c:3095-3127, 3129-3159,
# 3184-3203, 3218-3219), then the blank line (3302).
"$LFS" getstripe -c "$MNT/f2" >"$OUT"; printf '2\n\n' >"$EXP"; same_output "getstripe -c"
"$LFS" getstripe -S "$MNT/f2" >"$OUT"; printf '1048576\n\n' >"$EXP"; same_output "getstripe -S"
"$LFS" getstripe -i "$MNT/f2" >"$OUT"; printf '1\n\n' >"$EXP"; same_output "getstripe -i"
# Lustre: -q makes the fields VERBOSE_OBJID alone (lfs.c:6081-6083, 6135-6136): the path
# (liblustreapi.c:3019-3021), no lmm_* line, the table (3260-3262, 3288-3298), blank (3302).
"$LFS" getstripe -q "$MNT/f2" >"$OUT"
{
  printf '%s\n' "$MNT/f2"
  printf '\tobdidx\t\t objid\t\t objid\t\t group\n'
  printf '\t%6u\t%14u\t%#13x\t%14u\n' 1 "$ino" "$ino" 0 2 "$ino" "$ino" 0
  printf '\n'
} >"$EXP"
same_output "getstripe -q"

check "getstripe -v adds the magic, sequence, object id and FID; -y prints YAML"
# Lustre: -v (lfs.c:6096-6098); lmm_magic, lmm_seq, lmm_object_id at liblustreapi.c:3023-3032,
# lmm_fid at 3034-3041 and 3087-3092 (DFID: lustre/include/uapi/linux/lustre/lustre_user.h:1288-1289).
"$LFS" getstripe -v "$MNT/f2" | sed -n 2,5p >"$OUT"
{
  printf 'lmm_magic:         0x0BD10BD0\nlmm_seq:           0x200000400\n'
  printf 'lmm_object_id:     %#x\nlmm_fid:           [0x200000400:%#x:0x0]\n' "$ino" "$ino"
} >"$EXP"
same_output "getstripe -v"
# Lustre: -y (lfs.c:6099-6101): no path (liblustreapi.c:3019), the lmm_* lines, "lmm_objects:"
# (3258-3259), each object as l_ost_idx and l_fid (3272-3280, DFID_NOBRACE), blank (3302).
"$LFS" getstripe -y "$MNT/f2" >"$OUT"
{
  printf 'lmm_stripe_count:  2\nlmm_stripe_size:   1048576\nlmm_pattern:       raid0\n'
  printf 'lmm_layout_gen:    0\nlmm_stripe_offset: 1\nlmm_objects:\n'
  printf '      - l_ost_idx: 1\n        l_fid:     0x100010000:%#x:0x0\n' "$ino"
  printf '      - l_ost_idx: 2\n        l_fid:     0x100020000:%#x:0x0\n' "$ino"
  printf '\n'
} >"$EXP"
same_output "getstripe -y"

check "data written to the file lands on exactly the OSTs getstripe names (1 and 2)"
head -c $((4 << 20)) /dev/urandom >"$ROOT/f2.src"
dd if="$ROOT/f2.src" of="$MNT/f2" bs=1M conv=fsync,notrunc status=none || fail "write failed"
for i in 0 1 2 3; do
  n=$(find "$ROOT/ost$i/objects" -type f -name "$ino.*" ! -name '*.sum' | wc -l)
  if [[ $i == 1 || $i == 2 ]]; then
    assert_eq 1 "$n" "objects of f2 on ost$i"
    assert_eq $((2 << 20)) "$(object_bytes "$ROOT/ost$i")" "bytes on ost$i"
  else
    assert_eq 0 "$n" "objects of f2 on ost$i"
  fi
done
drop_caches
assert_file_eq "$ROOT/f2.src" "$MNT/f2"

check "a directory default: -d prints one line; new files and subdirectories inherit it"
mkdir -p "$MNT/d/before"
"$LFS" setstripe -c 4 -S 4M "$MNT/d" || fail "setstripe on a directory failed"
# Lustre: -d is depth 0, no path (lfs.c:5969-5971); a directory's fields on one line,
# " "-separated, no layout_gen (liblustreapi.c:3095-3219), then the blank line (3302).
"$LFS" getstripe -d "$MNT/d" >"$OUT"
printf 'stripe_count:  4 stripe_size:   4194304 pattern:       raid0 stripe_offset: -1\n\n' >"$EXP"
same_output "getstripe -d of a directory"
mkdir "$MNT/d/after" "$MNT/d/after/deeper"
for f in "$MNT/d/file" "$MNT/d/before/file" "$MNT/d/after/file" "$MNT/d/after/deeper/file"; do
  : >"$f"
  assert_eq 4 "$("$LFS" getstripe -c "$f" | head -n1)" "stripe count of $f"
  assert_eq 4194304 "$("$LFS" getstripe -S "$f" | head -n1)" "stripe size of $f"
done
# Lustre: a directory without its own default gets a zeroed layout, pattern 0 printed as %x
# (liblustreapi.c:6510-6521, 3166-3170), count and size filled in by sattr_cache_get_defaults
# (3100-3112, 3138-3147). The values are amlfs's (the nearest ancestor's default); Lustre
# shows the root's default (lustre/llite/dir.c:796-826) or the file system's.
"$LFS" getstripe -d "$MNT/d/before" >"$OUT"
printf 'stripe_count:  4 stripe_size:   4194304 pattern:       0 stripe_offset: -1\n\n' >"$EXP"
same_output "getstripe -d of a subdirectory without its own default"
"$LFS" setstripe -c 1 "$MNT/d/after" || fail "setstripe on a subdirectory failed"
: >"$MNT/d/after/one"; : >"$MNT/d/after/deeper/one"
assert_eq 1 "$("$LFS" getstripe -c "$MNT/d/after/one" | head -n1)" "the nearest default wins"
assert_eq 1 "$("$LFS" getstripe -c "$MNT/d/after/deeper/one" | head -n1)" "the nearest default wins, deeper"
"$LFS" setstripe -d "$MNT/d/after" || fail "setstripe -d failed"
: >"$MNT/d/after/back"
assert_eq 4 "$("$LFS" getstripe -c "$MNT/d/after/back" | head -n1)" "after -d the parent's default applies"

check "getstripe DIR lists the directory's default, then each entry"
mkdir "$MNT/g"
"$LFS" setstripe -c 1 -i 3 "$MNT/g/a" || fail "setstripe g/a"
gino=$(stat -c %i "$MNT/g/a")
# Lustre: depth 1 prints the directory (as above, with its path: liblustreapi.c:3019-3021),
# then each entry's block (cb_getstripe, 6423-6563).
"$LFS" getstripe "$MNT/g" >"$OUT"
{
  printf '%s\nstripe_count:  1 stripe_size:   1048576 pattern:       0 stripe_offset: -1\n\n' "$MNT/g"
  printf '%s\nlmm_stripe_count:  1\nlmm_stripe_size:   1048576\nlmm_pattern:       raid0\n' "$MNT/g/a"
  printf 'lmm_layout_gen:    0\nlmm_stripe_offset: 3\n\tobdidx\t\t objid\t\t objid\t\t group\n'
  printf '\t%6u\t%14u\t%#13x\t%14u\n\n' 3 "$gino" "$gino" 0
} >"$EXP"
same_output "getstripe of a directory"

check "a progressive layout prints the lcm_/lcme_ format"
"$LFS" setstripe -E 1M -c 1 -i 0 -E 8M -c 2 -i 2 -E -1 -c -1 -i 1 "$MNT/pfl" || fail "setstripe -E failed"
pino=$(stat -c %i "$MNT/pfl")
# Lustre: lov_dump_comp_v1 (liblustreapi.c:3829-4001): the path and the lcm_* lines,
# lov_dump_comp_v1_header 3483-3525; per component the lcme_* lines, lov_dump_comp_v1_entry
# 3573-3650 and 3662-3664 ("init": lcme_flags2str 3533-3557, lustre/include/lustre/lustreapi.h:1109);
# the indented lmm_* lines and "- N: { l_ost_idx ... }" objects, lov_dump_user_lmm_v1v3
# 3255-3257 and 3281-3287; a blank line each (3302). Lustre prints this once every component
# is instantiated; at create it instantiates only the first (lustre/lod/lod_qos.c:2803-2820).
"$LFS" getstripe "$MNT/pfl" >"$OUT"
{
  printf '%s\n  lcm_layout_gen:    0\n  lcm_mirror_count:  1\n  lcm_entry_count:   3\n' "$MNT/pfl"
  id=1
  for spec in "0 1048576 1 0:0" "1048576 8388608 2 2:0,3:1" "8388608 EOF 4 1:0,2:1,3:2,0:3"; do
    read -r start end count objs <<<"$spec"
    printf '    lcme_id:             %d\n    lcme_mirror_id:      0\n    lcme_flags:          init\n' $id
    printf '    lcme_extent.e_start: %s\n    lcme_extent.e_end:   %s\n' "$start" "$end"
    printf '      lmm_stripe_count:  %d\n      lmm_stripe_size:   1048576\n' "$count"
    printf '      lmm_pattern:       raid0\n      lmm_layout_gen:    0\n'
    printf '      lmm_stripe_offset: %d\n      lmm_objects:\n' "${objs%%:*}"
    IFS=, read -ra list <<<"$objs"
    for o in "${list[@]}"; do
      printf '      - %d: { l_ost_idx: %d, l_fid: [0x1000%d0000:%#x:0x%x] }\n' "${o#*:}" "${o%%:*}" \
        "${o%%:*}" "$pino" $((id - 1))
    done
    printf '\n'
    id=$((id + 1))
  done
} >"$EXP"
same_output "getstripe of a progressive layout"

check "the layout is the lustre.lov xattr: getfattr shows it, cp/tar/rsync carry it"
getfattr -d -m - --absolute-names "$MNT/f2" >"$OUT" || fail "getfattr failed"
grep -q '^lustre.lov="stripe_count=2 stripe_size=1048576 stripe_offset=1 osts=1,2"$' "$OUT" ||
  fail "getfattr -d shows: $(cat "$OUT")"
cp --preserve=xattr "$MNT/f2" "$MNT/f2.cp" || fail "cp --preserve=xattr failed"
mkdir "$MNT/untar"
(cd "$MNT" && tar --xattrs --xattrs-include='lustre.*' -cf "$ROOT/f2.tar" f2) || fail "tar -c failed"
(cd "$MNT/untar" && tar --xattrs --xattrs-include='lustre.*' -xf "$ROOT/f2.tar") || fail "tar -x failed"
rsync -X "$MNT/f2" "$MNT/f2.rsync" || fail "rsync -X failed"
for copy in "$MNT/f2.cp" "$MNT/untar/f2" "$MNT/f2.rsync"; do
  assert_eq "2 1048576 1" "$("$LFS" getstripe -c "$copy" | head -n1) $("$LFS" getstripe -S "$copy" | head -n1) $("$LFS" getstripe -i "$copy" | head -n1)" "layout of $copy"
  assert_file_eq "$ROOT/f2.src" "$copy"
done

check "df: one row per MDT and OST, then the summary, in lfs df's columns"
"$LFS" df "$MNT" >"$OUT" || fail "lfs df failed"
cat "$OUT"
head -n1 "$OUT" >"$EXP.h"
# Lustre: the header, mntdf, lfs.c:6518-6522; the rows, showdf, 6426-6444 (UUF/CSF/RSF/RDF
# at 6312-6317, "[MDT:0]"/"[OST:N]" at 6429-6430); the blank line, filesystem_summary: and
# blank line, 6621-6625; -h sizes (HDF, COOK) 6303-6315 and 6392-6419; -i header 6514-6517.
printf '%-20s %11s %11s %11s %4s %s\n' UUID 1K-blocks Used Available Use% "Mounted on" >"$EXP"
cmp -s "$EXP" "$EXP.h" || fail "df header: $(cat -A "$EXP.h")"
grep -Eq "^amlfs-MDT0000_UUID +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+% $MNT\[MDT:0\]$" "$OUT" || fail "no MDT row"
for i in 0 1 2 3; do
  grep -Eq "^amlfs-OST000${i}_UUID +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+% $MNT\[OST:$i\]$" "$OUT" || fail "no OST$i row"
done
grep -Eq "^filesystem_summary: +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+% $MNT$" "$OUT" || fail "no summary row"
assert_eq 2 "$(grep -c '^$' "$OUT")" "blank lines in df"
"$LFS" df -h "$MNT" | grep -Eq "^amlfs-OST0000_UUID +[0-9.]+[KMGT] " || fail "df -h does not scale sizes"
"$LFS" df -i "$MNT" | head -n1 | grep -q "Inodes       IUsed       IFree IUse% Mounted on" || fail "df -i header"

check "osts, mdts"
# Lustre: lfs_tgts (lfs.c:6148-6184) prints "OBDS:"/"MDTS:" (liblustreapi.c:2703-2705) and
# the lines of lov/lmv target_obd as they are (2721-2724): lustre/lov/lproc_lov.c:232-234,
# lustre/lmv/lproc_lmv.c:247-249.
"$LFS" osts "$MNT" >"$OUT"
printf 'OBDS:\n0: amlfs-OST0000_UUID ACTIVE\n1: amlfs-OST0001_UUID ACTIVE\n2: amlfs-OST0002_UUID ACTIVE\n3: amlfs-OST0003_UUID ACTIVE\n' >"$EXP"
same_output "lfs osts"
"$LFS" mdts "$MNT" >"$OUT"
printf 'MDTS:\n0: amlfs-MDT0000_UUID ACTIVE\n' >"$EXP"
same_output "lfs mdts"

check "path2fid and fid2path invert each other"
# Lustre: path2fid prints DFID (lfs.c:9404-9408); fid2path the mount, "/" and the path
# (lfs.c:9344-9347).
fid=$("$LFS" path2fid "$MNT/d/after/deeper/file") || fail "path2fid failed"
[[ "$fid" =~ ^\[0x200000400:0x[0-9a-f]+:0x0\]$ ]] || fail "FID format: $fid"
assert_eq "$MNT/d/after/deeper/file" "$("$LFS" fid2path "$MNT" "$fid")" "fid2path"
assert_eq "$MNT/g/a" "$("$LFS" fid2path "$MNT" "$("$LFS" path2fid "$MNT/g/a")")" "fid2path of g/a"

check "errors: one line on stderr, non-zero exit, nothing changed"
# Lustre's wording, where it has one: "stripe already set" liblustreapi.c:677-690, "invalid
# stripe count" lfs.c:3676-3681, "invalid OST target(s)" 3930-3935, "invalid stripe size"
# 3957-3962, "invalid FID" 9300-9302; the other messages are amlfs's.
before=$(cd "$MNT" && find . | sort | md5sum)
expect_fail_with "stripe already set" "$LFS" setstripe -c 1 "$MNT/f2"
expect_fail_with "invalid stripe size '100k'" "$LFS" setstripe -S 100k "$MNT/new1"
expect_fail_with "invalid stripe size '4G'" "$LFS" setstripe -S 4G "$MNT/new1"
expect_fail_with "OST index 9 does not exist" "$LFS" setstripe -i 9 "$MNT/new1"
expect_fail_with "OST index 7 does not exist" "$LFS" setstripe -o 1,7 "$MNT/new1"
expect_fail_with "invalid OST target(s) '1,,2'" "$LFS" setstripe -o 1,,2 "$MNT/new1"
expect_fail_with "invalid stripe count '-2'" "$LFS" setstripe -c -2 "$MNT/new1"
expect_fail_with "is not above the previous end" "$LFS" setstripe -E 2M -c 1 -E 1M -c 2 -E -1 "$MNT/new1"
expect_fail_with "must extend to EOF" "$LFS" setstripe -E 1M -c 1 -E 2M -c 2 "$MNT/new1"
expect_fail_with "not an amlfs file system" "$LFS" setstripe -c 1 "$ROOT/notamlfs"
expect_fail_with "not an amlfs file system" "$LFS" getstripe "$ROOT"
expect_fail_with "No such file or directory" "$LFS" getstripe "$MNT/nope"
expect_fail_with "No such file or directory" "$LFS" setstripe -c 1 "$MNT/nodir/x"
expect_fail_with "invalid FID" "$LFS" fid2path "$MNT" "[0x1:0x2]"
for args in "setstripe -S 100k $MNT/new1" "getstripe $MNT/nope" "find $MNT --type x" \
            "df $ROOT" "migrate -c 2 $MNT/nope" "path2fid $MNT/nope"; do
  err=$("$LFS" $args 2>&1 >/dev/null) && fail "lfs $args succeeded"
  assert_eq 1 "$(grep -c . <<<"$err")" "lines of stderr from lfs $args"
done
assert_eq "$before" "$(cd "$MNT" && find . | sort | md5sum)" "namespace after the failed commands"
[[ ! -e "$ROOT/notamlfs" ]] || fail "a failed setstripe created a file outside amlfs"

check "a stripe count above the OST count uses every OST and says so"
"$LFS" setstripe -c 9 "$MNT/wide" 2>"$OUT" || fail "setstripe -c 9 failed"
grep -q "larger than the 4 OSTs" "$OUT" || fail "no warning: $(cat "$OUT")"
assert_eq 4 "$("$LFS" getstripe -c "$MNT/wide" | head -n1)" "stripe count of wide"

check "an OST that is down shows as inactive in df and osts"
kill9 ost3
# Lustre: "INACTIVE" lustre/lov/lproc_lov.c:232-234; the inactive device row lfs.c:6446-6447.
# Lustre prints that row only with -v (6543-6545) and names it OST0003 (6577-6579: the UUID
# is not returned for an inactive OST, lustre/lov/lov_obd.c:975-983); amlfs always prints it,
# with the UUID.
retry 30 bash -c "'$LFS' osts '$MNT' | grep -q '^3: amlfs-OST0003_UUID INACTIVE$'" ||
  fail "OST3 not shown inactive: $("$LFS" osts "$MNT")"
"$LFS" df "$MNT" >"$OUT"
grep -q "^amlfs-OST0003_UUID  : inactive device$" "$OUT" || fail "df: $(cat "$OUT")"

log "PASS"
