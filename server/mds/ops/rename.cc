// rename, with RENAME_NOREPLACE and RENAME_EXCHANGE.
#include "server/mds/ops/common.h"

namespace amlfs::mds {

void DropLinkForRename(Mds& mds, Txn& txn, const InodeRec& rec);

namespace {

// kInvalid when `dir` is `moved` or lies below it (a directory moved into
// its own subtree).
Status CheckNoLoop(Txn& txn, InodeId moved, InodeId dir) {
  InodeId cur = dir;
  for (int depth = 0; depth < 4096; ++depth) {
    if (cur == moved) return Error(Code::kInvalid, "cannot move a directory into itself");
    if (cur == kRootInode) return Status::Ok();
    AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(cur));
    cur = rec.parent;
  }
  return Error(Code::kLoop, "directory tree too deep");
}

// Moves directory `ino` from parent `from` to parent `to` (parent pointer and
// the parents' link counts).
Status Reparent(Txn& txn, InodeId ino, InodeId from, InodeId to) {
  if (from == to) return Status::Ok();
  AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(ino));
  rec.parent = to;
  txn.PutInode(rec);
  AMLFS_ASSIGN_OR_RETURN(InodeRec f, txn.Inode(from));
  if (f.attr.nlink > 2) --f.attr.nlink;
  txn.PutInode(f);
  AMLFS_ASSIGN_OR_RETURN(InodeRec t, txn.Inode(to));
  ++t.attr.nlink;
  txn.PutInode(t);
  return Status::Ok();
}

void Touch(Txn& txn, InodeId ino, bool mtime) {
  auto rec = txn.Inode(ino);
  if (!rec.ok()) return;
  rec->attr.ctime = txn.now();
  if (mtime) rec->attr.mtime = txn.now();
  txn.PutInode(*rec);
}

}  // namespace

Committed<EmptyRsp> Mds::Rename(const RenameReq& r) {
  return Run<EmptyRsp>(r.caller, [&](Txn& txn) -> Result<EmptyRsp> {
    if ((r.flags & ~(kRenameNoReplace | kRenameExchange)) ||
        ((r.flags & kRenameNoReplace) && (r.flags & kRenameExchange)))
      return Error(Code::kInvalid, "bad rename flags");
    for (const std::string* n : {&r.name, &r.new_name}) {
      if (*n == "." || *n == "..") return Error(Code::kBusy, "cannot rename '.' or '..'");
      AMLFS_RETURN_IF_ERROR(ValidateName(*n));
    }
    AMLFS_ASSIGN_OR_RETURN(InodeRec sdir, UsableDir(txn, r.caller, r.parent, kMayWrite | kMayExec));
    AMLFS_ASSIGN_OR_RETURN(InodeRec ddir,
                           UsableDir(txn, r.caller, r.new_parent, kMayWrite | kMayExec));
    AMLFS_ASSIGN_OR_RETURN(auto sd, txn.Dentry(r.parent, r.name));
    if (!sd) return Error(Code::kNotFound, "no such entry '" + r.name + "'");
    AMLFS_ASSIGN_OR_RETURN(InodeRec src, txn.Inode(sd->ino));
    AMLFS_ASSIGN_OR_RETURN(auto dd, txn.Dentry(r.new_parent, r.new_name));
    AMLFS_RETURN_IF_ERROR(CheckSticky(r.caller, sdir, src));
    // Moving a directory to another parent rewrites its "..": needs w on it.
    if (src.is_dir() && r.parent != r.new_parent)
      AMLFS_RETURN_IF_ERROR(CheckAccess(r.caller, src, kMayWrite));

    if (r.flags & kRenameExchange) {
      if (!dd) return Error(Code::kNotFound, "no such entry '" + r.new_name + "'");
      AMLFS_ASSIGN_OR_RETURN(InodeRec dst, txn.Inode(dd->ino));
      AMLFS_RETURN_IF_ERROR(CheckSticky(r.caller, ddir, dst));
      if (src.attr.ino == dst.attr.ino) return EmptyRsp{};
      if (src.is_dir()) AMLFS_RETURN_IF_ERROR(CheckNoLoop(txn, src.attr.ino, r.new_parent));
      if (dst.is_dir()) AMLFS_RETURN_IF_ERROR(CheckNoLoop(txn, dst.attr.ino, r.parent));
      txn.PutDentry(r.parent, r.name, dst);
      txn.PutDentry(r.new_parent, r.new_name, src);
      if (src.is_dir()) AMLFS_RETURN_IF_ERROR(Reparent(txn, src.attr.ino, r.parent, r.new_parent));
      if (dst.is_dir()) AMLFS_RETURN_IF_ERROR(Reparent(txn, dst.attr.ino, r.new_parent, r.parent));
      Touch(txn, src.attr.ino, false);
      Touch(txn, dst.attr.ino, false);
      Touch(txn, r.parent, true);
      Touch(txn, r.new_parent, true);
      return EmptyRsp{};
    }

    if (dd) {
      if (r.flags & kRenameNoReplace) return Error(Code::kExists, "'" + r.new_name + "' exists");
      if (dd->ino == src.attr.ino) return EmptyRsp{};  // two links to one inode
      AMLFS_ASSIGN_OR_RETURN(InodeRec dst, txn.Inode(dd->ino));
      AMLFS_RETURN_IF_ERROR(CheckSticky(r.caller, ddir, dst));
      if (src.is_dir()) {
        if (!dst.is_dir()) return Error(Code::kNotDir, "not a directory");
        AMLFS_ASSIGN_OR_RETURN(bool empty, txn.DirEmpty(dst.attr.ino));
        if (!empty) return Error(Code::kNotEmpty, "directory not empty");
      } else if (dst.is_dir()) {
        return Error(Code::kIsDir, "is a directory");
      }
    }
    if (src.is_dir()) AMLFS_RETURN_IF_ERROR(CheckNoLoop(txn, src.attr.ino, r.new_parent));

    // Apply: remove the old target, move the entry, fix parents.
    if (dd) {
      AMLFS_ASSIGN_OR_RETURN(InodeRec dst, txn.Inode(dd->ino));
      if (dst.is_dir()) {
        AMLFS_ASSIGN_OR_RETURN(InodeRec d2, txn.Inode(r.new_parent));
        if (d2.attr.nlink > 2) --d2.attr.nlink;
        txn.PutInode(d2);
        DestroyInode(txn, dst);
      } else {
        DropLinkForRename(*this, txn, dst);
      }
    }
    txn.DeleteDentry(r.parent, r.name);
    txn.PutDentry(r.new_parent, r.new_name, src);
    if (src.is_dir()) AMLFS_RETURN_IF_ERROR(Reparent(txn, src.attr.ino, r.parent, r.new_parent));
    Touch(txn, src.attr.ino, false);
    Touch(txn, r.parent, true);
    Touch(txn, r.new_parent, true);
    return EmptyRsp{};
  });
}

}  // namespace amlfs::mds
