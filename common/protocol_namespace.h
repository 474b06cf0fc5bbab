// The amlfs wire protocol, the metadata server's namespace: the requests a
// mount sends the MDS for lookups, attributes, directories, files, xattrs
// and layouts. See protocol_base.h for the conventions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/layout.h"
#include "common/protocol_base.h"

namespace amlfs {

struct FsInfoRsp {
  std::string fs_name;
  std::string fs_uuid;
  InodeId root;
  std::vector<OstInfo> osts;
  AMLFS_FIELDS(fs_name, fs_uuid, root, osts)
};
struct FsInfoReq {
  static constexpr Opcode kOp = Opcode::kFsInfo;
  using Response = FsInfoRsp;
  Caller caller;
  AMLFS_FIELDS(caller)
};

// `no_xattrs`: the inode has no stored extended attributes (filled by

// lookup, getattr and readdir plus), so a client can answer a probe such as
// ls's getxattr("security.selinux") itself for the attribute timeout.
struct EntryRsp {
  Attr attr;
  bool no_xattrs = false;
  AMLFS_FIELDS(attr, no_xattrs)
};
struct AttrRsp {
  Attr attr;
  bool no_xattrs = false;
  AMLFS_FIELDS(attr, no_xattrs)
};

struct LookupReq {
  static constexpr Opcode kOp = Opcode::kLookup;
  using Response = EntryRsp;
  Caller caller;
  InodeId parent;
  std::string name;
  AMLFS_FIELDS(caller, parent, name)
};

struct GetAttrReq {
  static constexpr Opcode kOp = Opcode::kGetAttr;
  using Response = AttrRsp;
  Caller caller;
  InodeId ino;
  AMLFS_FIELDS(caller, ino)
};

// SetAttr valid bits.
enum SetAttrBits : uint32_t {
  kSetMode = 1u << 0,
  kSetUid = 1u << 1,
  kSetGid = 1u << 2,
  kSetSize = 1u << 3,
  kSetAtime = 1u << 4,     // to `atime`
  kSetMtime = 1u << 5,     // to `mtime`
  kSetAtimeNow = 1u << 6,  // to the MDS's clock
  kSetMtimeNow = 1u << 7,
  kSetCtime = 1u << 8,
  kSetKillSuid = 1u << 9,  // clear S_ISUID/S_ISGID (a write by a non-owner)
};
struct SetAttrReq {
  static constexpr Opcode kOp = Opcode::kSetAttr;
  using Response = AttrRsp;
  Caller caller;
  InodeId ino;
  uint32_t valid = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  Timespec atime, mtime;
  bool has_open_handle = false;  // truncate through an open fd: no write check
  AMLFS_FIELDS(caller, ino, valid, mode, uid, gid, size, atime, mtime, has_open_handle)
};

// Regular files (without open), FIFOs, sockets, devices.
struct MknodReq {
  static constexpr Opcode kOp = Opcode::kMknod;
  using Response = EntryRsp;
  Caller caller;
  InodeId parent;
  std::string name;
  uint32_t mode = 0;  // includes S_IFMT; umask already applied by the kernel
  uint64_t rdev = 0;
  LayoutTemplate layout;  // regular files: the layout asked for (empty: inherit)
  AMLFS_FIELDS(caller, parent, name, mode, rdev, layout)
};

struct MkdirReq {
  static constexpr Opcode kOp = Opcode::kMkdir;
  using Response = EntryRsp;
  Caller caller;
  InodeId parent;
  std::string name;
  uint32_t mode = 0;  // permission bits (S_ISVTX allowed); umask applied
  AMLFS_FIELDS(caller, parent, name, mode)
};

struct UnlinkReq {
  static constexpr Opcode kOp = Opcode::kUnlink;
  using Response = EmptyRsp;
  Caller caller;
  InodeId parent;
  std::string name;
  AMLFS_FIELDS(caller, parent, name)
};

struct RmdirReq {
  static constexpr Opcode kOp = Opcode::kRmdir;
  using Response = EmptyRsp;
  Caller caller;
  InodeId parent;
  std::string name;
  AMLFS_FIELDS(caller, parent, name)
};

// flags: RENAME_NOREPLACE (1), RENAME_EXCHANGE (2) as in renameat2(2).
inline constexpr uint32_t kRenameNoReplace = 1;
inline constexpr uint32_t kRenameExchange = 2;
struct RenameReq {
  static constexpr Opcode kOp = Opcode::kRename;
  using Response = EmptyRsp;
  Caller caller;
  InodeId parent;
  std::string name;
  InodeId new_parent;
  std::string new_name;
  uint32_t flags = 0;
  AMLFS_FIELDS(caller, parent, name, new_parent, new_name, flags)
};

struct LinkReq {
  static constexpr Opcode kOp = Opcode::kLink;
  using Response = EntryRsp;
  Caller caller;
  InodeId ino;
  InodeId new_parent;
  std::string new_name;
  AMLFS_FIELDS(caller, ino, new_parent, new_name)
};

struct SymlinkReq {
  static constexpr Opcode kOp = Opcode::kSymlink;
  using Response = EntryRsp;
  Caller caller;
  InodeId parent;
  std::string name;
  std::string target;
  AMLFS_FIELDS(caller, parent, name, target)
};

struct ReadlinkRsp {
  std::string target;
  AMLFS_FIELDS(target)
};
struct ReadlinkReq {
  static constexpr Opcode kOp = Opcode::kReadlink;
  using Response = ReadlinkRsp;
  Caller caller;
  InodeId ino;
  AMLFS_FIELDS(caller, ino)
};

// Open and Create register an open handle on the MDS (so an unlinked file
// lives until its last close) and return the layout the client stripes by.
// `head`: for an open for reading of a file whose first component is on
// the MDT (Data-on-MDT), the first bytes of that component as they were
// when the open was answered (at most kOpenHeadBytes; fewer when the
// object ends sooner or its newest writes are still committing), so that
// a small file is read with its open. Not part of the recorded reply: a
// retried open gets it read anew.
inline constexpr uint64_t kOpenHeadBytes = 64 * 1024;
struct OpenRsp {
  Attr attr;
  Layout layout;  // empty for non-regular files
  uint64_t handle = 0;
  bool no_xattrs = false;  // see EntryRsp
  std::string head;
  AMLFS_FIELDS(attr, layout, handle, no_xattrs, head)
};
struct OpenReq {
  static constexpr Opcode kOp = Opcode::kOpen;
  using Response = OpenRsp;
  Caller caller;
  InodeId ino;
  uint32_t flags = 0;  // open(2) flags (O_ACCMODE, O_TRUNC, ...)
  AMLFS_FIELDS(caller, ino, flags)
};
struct CreateReq {
  static constexpr Opcode kOp = Opcode::kCreate;
  using Response = OpenRsp;
  Caller caller;
  InodeId parent;
  std::string name;
  uint32_t mode = 0;
  uint32_t flags = 0;  // O_EXCL honoured
  AMLFS_FIELDS(caller, parent, name, mode, flags)
};
struct ReleaseReq {
  static constexpr Opcode kOp = Opcode::kRelease;
  using Response = EmptyRsp;
  Caller caller;
  InodeId ino;
  uint64_t handle = 0;
  AMLFS_FIELDS(caller, ino, handle)
};

struct DirEntry {
  std::string name;
  InodeId ino;
  uint32_t mode = 0;       // S_IFMT bits always; full attr only with `plus`
  Attr attr;               // filled when ReadDirReq.plus
  Layout layout;           // regular files, when ReadDirReq.layouts
  bool no_xattrs = false;  // with `plus`, see EntryRsp
  AMLFS_FIELDS(name, ino, mode, attr, layout, no_xattrs)
};
struct ReadDirRsp {
  std::vector<DirEntry> entries;
  bool eof = false;
  AMLFS_FIELDS(entries, eof)
};
// Entries in name order strictly after `after` ("" = from the start);
// "." and ".." are not included.
struct ReadDirReq {
  static constexpr Opcode kOp = Opcode::kReadDir;
  using Response = ReadDirRsp;
  Caller caller;
  InodeId ino;
  std::string after;
  uint32_t max_entries = 0;
  bool plus = false;
  bool layouts = false;  // also each regular file's layout (lfs find)
  AMLFS_FIELDS(caller, ino, after, max_entries, plus, layouts)
};

struct StatFsRsp {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t avail_bytes = 0;
  uint64_t total_inodes = 0;
  uint64_t free_inodes = 0;
  uint32_t osts_up = 0;
  uint32_t osts_total = 0;
  // The metadata target's own device (lfs df).
  uint64_t mdt_total_bytes = 0;
  uint64_t mdt_free_bytes = 0;
  uint64_t mdt_avail_bytes = 0;
  AMLFS_FIELDS(total_bytes, free_bytes, avail_bytes, total_inodes, free_inodes, osts_up, osts_total,
               mdt_total_bytes, mdt_free_bytes, mdt_avail_bytes)
};
struct StatFsReq {
  static constexpr Opcode kOp = Opcode::kStatFs;
  using Response = StatFsRsp;
  Caller caller;
  AMLFS_FIELDS(caller)
};

// flags: XATTR_CREATE (1), XATTR_REPLACE (2) as setxattr(2).
struct SetXattrReq {
  static constexpr Opcode kOp = Opcode::kSetXattr;
  using Response = EmptyRsp;
  Caller caller;
  InodeId ino;
  std::string name;
  std::string value;
  uint32_t flags = 0;
  AMLFS_FIELDS(caller, ino, name, value, flags)
};
struct XattrValueRsp {
  std::string value;
  AMLFS_FIELDS(value)
};
struct GetXattrReq {
  static constexpr Opcode kOp = Opcode::kGetXattr;
  using Response = XattrValueRsp;
  Caller caller;
  InodeId ino;
  std::string name;
  AMLFS_FIELDS(caller, ino, name)
};
struct XattrListRsp {
  std::vector<std::string> names;
  AMLFS_FIELDS(names)
};
struct ListXattrReq {
  static constexpr Opcode kOp = Opcode::kListXattr;
  using Response = XattrListRsp;
  Caller caller;
  InodeId ino;
  AMLFS_FIELDS(caller, ino)
};
struct RemoveXattrReq {
  static constexpr Opcode kOp = Opcode::kRemoveXattr;
  using Response = EmptyRsp;
  Caller caller;
  InodeId ino;
  std::string name;
  AMLFS_FIELDS(caller, ino, name)
};

// mask: R_OK (4) | W_OK (2) | X_OK (1), or F_OK (0).
struct AccessReq {
  static constexpr Opcode kOp = Opcode::kAccess;
  using Response = EmptyRsp;
  Caller caller;
  InodeId ino;
  uint32_t mask = 0;
  AMLFS_FIELDS(caller, ino, mask)
};

// An O_APPEND write of `len` bytes: the MDS hands out the offset (the end
// of the file) and grows the file past it, so that appends from several
// nodes at once never overwrite each other.
struct AppendRsp {
  uint64_t offset = 0;
  AMLFS_FIELDS(offset)
};
struct AppendReq {
  static constexpr Opcode kOp = Opcode::kAppend;
  using Response = AppendRsp;
  Caller caller;
  InodeId ino;
  uint64_t len = 0;
  AMLFS_FIELDS(caller, ino, len)
};

// A writer reports the size it reached (merged as a monotonic max) and the
// time of its last write (sets mtime and ctime).
struct UpdateSizeReq {
  static constexpr Opcode kOp = Opcode::kUpdateSize;
  using Response = AttrRsp;
  Caller caller;
  InodeId ino;
  uint64_t size = 0;
  Timespec mtime;
  bool set_mtime = true;
  AMLFS_FIELDS(caller, ino, size, mtime, set_mtime)
};

// A file's layout, or a directory's default layouts: its own (empty when
// it has none) and the one its new files get (its own, else the nearest
// ancestor's, else the file system default).
struct GetLayoutRsp {
  Attr attr;
  Layout layout;
  LayoutTemplate own;
  LayoutTemplate effective;
  AMLFS_FIELDS(attr, layout, own, effective)
};
struct GetLayoutReq {
  static constexpr Opcode kOp = Opcode::kGetLayout;
  using Response = GetLayoutRsp;
  Caller caller;
  InodeId ino;
  AMLFS_FIELDS(caller, ino)
};

// On a directory, sets its default layout (an empty template removes it);
// on a regular file that holds no data, chooses its layout anew. A file
// with data answers kBusy: it needs a migration.
struct SetLayoutReq {
  static constexpr Opcode kOp = Opcode::kSetLayout;
  using Response = AttrRsp;
  Caller caller;
  InodeId ino;
  LayoutTemplate layout;
  AMLFS_FIELDS(caller, ino, layout)
};

// Restriping a file: Begin allocates the new layout (its components get
// fresh ids, so its objects are new) and answers the current one; the
// caller copies the data, then Commit swaps the layouts in one step, if no
// one opened the file for writing meanwhile and its size and mtime are
// unchanged. The old objects are destroyed once the file is not open.
struct MigrateBeginRsp {
  Attr attr;
  Layout old_layout;
  Layout new_layout;
  uint64_t token = 0;  // names this migration at commit
  AMLFS_FIELDS(attr, old_layout, new_layout, token)
};
struct MigrateBeginReq {
  static constexpr Opcode kOp = Opcode::kMigrateBegin;
  using Response = MigrateBeginRsp;
  Caller caller;
  InodeId ino;
  LayoutTemplate layout;
  bool ignore_own_opens = false;  // the caller's own write handles do not count
  AMLFS_FIELDS(caller, ino, layout, ignore_own_opens)
};
struct MigrateCommitReq {
  static constexpr Opcode kOp = Opcode::kMigrateCommit;
  using Response = AttrRsp;
  Caller caller;
  InodeId ino;
  Layout new_layout;
  uint64_t token = 0;
  uint64_t size = 0;  // the file as Begin saw it
  Timespec mtime;
  bool ignore_own_opens = false;
  AMLFS_FIELDS(caller, ino, new_layout, token, size, mtime, ignore_own_opens)
};

// One path of an inode, relative to the root ("" for the root).
struct Fid2PathRsp {
  std::string path;
  AMLFS_FIELDS(path)
};
struct Fid2PathReq {
  static constexpr Opcode kOp = Opcode::kFid2Path;
  using Response = Fid2PathRsp;
  Caller caller;
  InodeId ino;
  AMLFS_FIELDS(caller, ino)
};

}  // namespace amlfs
