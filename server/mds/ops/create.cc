// mknod, mkdir, symlink, link: operations that add a name.
#include <algorithm>

#include "server/mds/ops/common.h"

namespace amlfs::mds {

Status ValidateName(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name.find('\0') != std::string::npos)
    return Error(Code::kInvalid, "invalid name");
  if (name.size() > kMaxName) return Error(Code::kNameTooLong, "name longer than 255 bytes");
  return Status::Ok();
}

Result<InodeRec> UsableDir(Txn& txn, const Caller& c, InodeId ino, uint32_t mask) {
  AMLFS_ASSIGN_OR_RETURN(InodeRec dir, txn.Inode(ino));
  if (!dir.is_dir()) return Error(Code::kNotDir, "not a directory");
  if (dir.attr.nlink == 0) return Error(Code::kNotFound, "directory was removed");
  AMLFS_RETURN_IF_ERROR(CheckAccess(c, dir, mask));
  return dir;
}

void KillSuid(InodeRec& rec) {
  rec.attr.mode &= ~kSuid;
  if (rec.attr.mode & 0010) rec.attr.mode &= ~kSgid;
}

Result<InodeRec> NewChild(Mds& mds, Txn& txn, const Caller& c, InodeId parent,
                          const std::string& name, uint32_t mode, uint64_t rdev,
                          const LayoutTemplate& layout) {
  if (name == "." || name == "..") return Error(Code::kExists, "'" + name + "' exists");
  AMLFS_RETURN_IF_ERROR(ValidateName(name));
  AMLFS_ASSIGN_OR_RETURN(InodeRec dir, UsableDir(txn, c, parent, kMayWrite | kMayExec));
  AMLFS_ASSIGN_OR_RETURN(auto existing, txn.Dentry(parent, name));
  if (existing) return Error(Code::kExists, "'" + name + "' exists");

  InodeRec child;
  uint64_t ino = txn.Counter(kSuperNextIno);
  txn.SetCounter(kSuperNextIno, ino + 1);
  txn.SetCounter(kSuperUsedInodes, txn.Counter(kSuperUsedInodes) + 1);
  child.attr.ino = InodeId(ino);
  child.attr.mode = mode;
  child.attr.uid = c.uid;
  child.attr.gid = c.gid;
  if (dir.attr.mode & kSgid) {
    child.attr.gid = dir.attr.gid;
    if ((mode & kIfMt) == kIfDir) child.attr.mode |= kSgid;
  }
  if ((child.attr.mode & kIfMt) != kIfDir && (child.attr.mode & kSgid) && c.uid != 0 &&
      !InGroup(c, child.attr.gid))
    child.attr.mode &= ~kSgid;
  child.attr.nlink = (mode & kIfMt) == kIfDir ? 2 : 1;
  child.attr.rdev = rdev;
  child.attr.atime = child.attr.mtime = child.attr.ctime = txn.now();
  child.attr.generation = 1;
  child.attr.blksize = 4096;
  child.parent = parent;  // directories: ".."; files: where fid2path starts
  if (child.is_dir()) {
    ++dir.attr.nlink;
  } else if (child.is_reg()) {
    AMLFS_ASSIGN_OR_RETURN(child.layout,
                           mds.NewLayout(layout.IsDefault() ? mds.InheritedTemplate(dir) : layout));
    child.attr.blksize = BlockSizeOf(child.layout);
  }
  dir.attr.mtime = dir.attr.ctime = txn.now();
  txn.PutInode(dir);
  txn.PutDentry(parent, name, child);
  return child;
}

Committed<EntryRsp> Mds::Mknod(const MknodReq& r) {
  uint32_t type = r.mode & kIfMt;
  if (type == 0) type = kIfReg;
  if (type == kIfDir || type == kIfLnk) return Error(Code::kInvalid, "mknod of a dir or symlink");
  if ((type == 0020000 || type == 0060000) && r.caller.uid != 0)
    return Error(Code::kNotPermitted, "device nodes need root");
  return Run<EntryRsp>(r.caller, [&](Txn& txn) -> Result<EntryRsp> {
    AMLFS_ASSIGN_OR_RETURN(InodeRec child, NewChild(*this, txn, r.caller, r.parent, r.name,
                                                    type | (r.mode & 07777), r.rdev, r.layout));
    txn.PutInode(child);
    return EntryRsp{child.attr};
  });
}

Committed<EntryRsp> Mds::Mkdir(const MkdirReq& r) {
  return Run<EntryRsp>(r.caller, [&](Txn& txn) -> Result<EntryRsp> {
    AMLFS_ASSIGN_OR_RETURN(InodeRec child, NewChild(*this, txn, r.caller, r.parent, r.name,
                                                    kIfDir | (r.mode & 07777), 0));
    txn.PutInode(child);
    return EntryRsp{child.attr};
  });
}

Committed<EntryRsp> Mds::Symlink(const SymlinkReq& r) {
  if (r.target.empty()) return Error(Code::kNotFound, "empty symlink target");
  if (r.target.size() > 4095) return Error(Code::kNameTooLong, "symlink target too long");
  return Run<EntryRsp>(r.caller, [&](Txn& txn) -> Result<EntryRsp> {
    AMLFS_ASSIGN_OR_RETURN(InodeRec child,
                           NewChild(*this, txn, r.caller, r.parent, r.name, kIfLnk | 0777, 0));
    child.symlink = r.target;
    child.attr.size = r.target.size();
    txn.PutInode(child);
    return EntryRsp{child.attr};
  });
}

Committed<EntryRsp> Mds::Link(const LinkReq& r) {
  return Run<EntryRsp>(r.caller, [&](Txn& txn) -> Result<EntryRsp> {
    if (r.new_name == "." || r.new_name == "..") return Error(Code::kExists, "exists");
    AMLFS_RETURN_IF_ERROR(ValidateName(r.new_name));
    AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(r.ino));
    if (rec.is_dir()) return Error(Code::kNotPermitted, "hard link to a directory");
    if (rec.attr.nlink == 0) return Error(Code::kNotFound, "file was removed");
    if (rec.attr.nlink >= 65000) return Error(Code::kTooManyLinks, "too many links");
    AMLFS_ASSIGN_OR_RETURN(InodeRec dir,
                           UsableDir(txn, r.caller, r.new_parent, kMayWrite | kMayExec));
    AMLFS_ASSIGN_OR_RETURN(auto existing, txn.Dentry(r.new_parent, r.new_name));
    if (existing) return Error(Code::kExists, "'" + r.new_name + "' exists");
    ++rec.attr.nlink;
    rec.attr.ctime = txn.now();
    txn.PutInode(rec);
    txn.PutDentry(r.new_parent, r.new_name, rec);
    dir.attr.mtime = dir.attr.ctime = txn.now();
    txn.PutInode(dir);
    return EntryRsp{rec.attr};
  });
}

}  // namespace amlfs::mds
