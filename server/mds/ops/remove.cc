// unlink and rmdir.
#include "server/mds/keys.h"
#include "server/mds/ops/common.h"

namespace amlfs::mds {

namespace {
// Drops one link of a non-directory; keeps it as an orphan while open.
void DropLink(Mds& mds, Txn& txn, InodeRec rec) {
  if (rec.attr.nlink > 0) --rec.attr.nlink;
  rec.attr.ctime = txn.now();
  if (rec.attr.nlink > 0) {
    txn.PutInode(rec);
  } else if (mds.IsOpen(rec.attr.ino)) {
    txn.PutInode(rec);
    txn.Put(OrphanKey(rec.attr.ino.value()), "");
  } else {
    mds.DestroyInode(txn, rec);
  }
}
}  // namespace

void DropLinkForRename(Mds& mds, Txn& txn, const InodeRec& rec) { DropLink(mds, txn, rec); }

Committed<EmptyRsp> Mds::Unlink(const UnlinkReq& r) {
  return Run<EmptyRsp>(r.caller, [&](Txn& txn) -> Result<EmptyRsp> {
    AMLFS_RETURN_IF_ERROR(ValidateName(r.name));
    if (r.name == "." || r.name == "..") return Error(Code::kIsDir, "is a directory");
    AMLFS_ASSIGN_OR_RETURN(InodeRec dir, UsableDir(txn, r.caller, r.parent, kMayWrite | kMayExec));
    AMLFS_ASSIGN_OR_RETURN(auto d, txn.Dentry(r.parent, r.name));
    if (!d) return Error(Code::kNotFound, "no such entry '" + r.name + "'");
    AMLFS_ASSIGN_OR_RETURN(InodeRec child, txn.Inode(d->ino));
    if (child.is_dir()) return Error(Code::kIsDir, "is a directory");
    AMLFS_RETURN_IF_ERROR(CheckSticky(r.caller, dir, child));
    txn.DeleteDentry(r.parent, r.name);
    dir.attr.mtime = dir.attr.ctime = txn.now();
    txn.PutInode(dir);
    DropLink(*this, txn, child);
    return EmptyRsp{};
  });
}

Committed<EmptyRsp> Mds::Rmdir(const RmdirReq& r) {
  return Run<EmptyRsp>(r.caller, [&](Txn& txn) -> Result<EmptyRsp> {
    if (r.name == ".") return Error(Code::kInvalid, "cannot remove '.'");
    if (r.name == "..") return Error(Code::kNotEmpty, "cannot remove '..'");
    AMLFS_RETURN_IF_ERROR(ValidateName(r.name));
    AMLFS_ASSIGN_OR_RETURN(InodeRec dir, UsableDir(txn, r.caller, r.parent, kMayWrite | kMayExec));
    AMLFS_ASSIGN_OR_RETURN(auto d, txn.Dentry(r.parent, r.name));
    if (!d) return Error(Code::kNotFound, "no such entry '" + r.name + "'");
    AMLFS_ASSIGN_OR_RETURN(InodeRec child, txn.Inode(d->ino));
    if (!child.is_dir()) return Error(Code::kNotDir, "not a directory");
    AMLFS_RETURN_IF_ERROR(CheckSticky(r.caller, dir, child));
    AMLFS_ASSIGN_OR_RETURN(bool empty, txn.DirEmpty(child.attr.ino));
    if (!empty) return Error(Code::kNotEmpty, "directory not empty");
    txn.DeleteDentry(r.parent, r.name);
    if (dir.attr.nlink > 2) --dir.attr.nlink;
    dir.attr.mtime = dir.attr.ctime = txn.now();
    txn.PutInode(dir);
    DestroyInode(txn, child);
    return EmptyRsp{};
  });
}

}  // namespace amlfs::mds
