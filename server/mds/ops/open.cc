// open, create, release: the open handles that keep unlinked files alive.
#include <fcntl.h>

#include "common/client/striped_io.h"
#include "server/mds/keys.h"
#include "server/mds/ops/common.h"

namespace amlfs::mds {

Result<OpenRsp> Mds::OpenLocked(Txn& txn, const Caller& c, InodeRec rec, uint32_t flags) {
  const uint32_t acc = flags & O_ACCMODE;
  if (rec.is_dir() && (acc != O_RDONLY || (flags & O_TRUNC)))
    return Error(Code::kIsDir, "is a directory");
  uint32_t mask = 0;
  if (acc == O_RDONLY || acc == O_RDWR) mask |= kMayRead;
  if (acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC)) mask |= kMayWrite;
  AMLFS_RETURN_IF_ERROR(CheckAccess(c, rec, mask));
  if ((flags & O_TRUNC) && rec.is_reg() && rec.attr.size > 0) {
    rec.attr.size = 0;
    rec.attr.mtime = rec.attr.ctime = txn.now();
    txn.PutInode(rec);
  }
  return RegisterOpen(txn, rec, c, flags);
}

OpenRsp Mds::RegisterOpen(Txn& txn, const InodeRec& rec, const Caller& c, uint32_t flags) {
  OpenRsp rsp;
  rsp.attr = rec.attr;
  rsp.layout = rec.layout;
  const uint32_t acc = flags & O_ACCMODE;
  const bool writer = acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC);
  // A migration marked dirty stays so even if this open fails: it then
  // only has to be run again.
  rsp.handle = opens_.Add(rec.attr.ino, c.client, writer);
  // Counted at once, as the batch is visible to the next mutations at once
  // (an unlink built on it must keep the file), and forgotten if it fails:
  // the client never learns of the handle, so it would never release it.
  txn.OnFailure([this, handle = rsp.handle] { opens_.Drop(handle); });
  return rsp;
}

// The reply says whether the file has xattrs once its transaction is in
// (a new file may have inherited ACLs), so that the client answers the
// kernel's security.capability probe on the first write itself. A read
// error leaves the hint off (the client then asks).
Result<OpenRsp> Mds::WithXattrHint(Txn& txn, Result<OpenRsp> rsp) {
  if (!rsp.ok()) return rsp;
  auto has = txn.HasXattrs(rsp->attr.ino);
  rsp->no_xattrs = has.ok() && !*has;
  return rsp;
}

Committed<OpenRsp> Mds::OpenFile(const OpenReq& r) {
  if (r.flags & O_TRUNC) AMLFS_RETURN_IF_ERROR(TruncateObjects(r.caller, r.ino, 0, true));
  Committed<OpenRsp> c = Run<OpenRsp>(r.caller, [&](Txn& txn) -> Result<OpenRsp> {
    AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(r.ino));
    return WithXattrHint(txn, OpenLocked(txn, r.caller, rec, r.flags));
  });
  // A reader of a Data-on-MDT file gets its first bytes with the open
  // (direct I/O asks for every byte anew), read once the open's batch and
  // every earlier one are applied: every write acknowledged before the
  // answer is in.
  if ((r.flags & O_ACCMODE) != O_WRONLY && !(r.flags & (O_TRUNC | O_DIRECT)))
    c.then = [this](OpenRsp& rsp) {
      const Layout& l = rsp.layout;
      if (l.empty() || !l.comps[0].on_mdt() || rsp.attr.size == 0) return;
      auto head = ObjRead(ObjReadReq{ObjectOf(rsp.attr.ino, l, 0, 0), 0, kOpenHeadBytes, {}});
      if (head.ok()) rsp.head = std::move(head->data);
    };
  return c;
}

Committed<OpenRsp> Mds::Create(const CreateReq& r) {
  return Run<OpenRsp>(r.caller, [&](Txn& txn) -> Result<OpenRsp> {
    AMLFS_RETURN_IF_ERROR(ValidateName(r.name));
    AMLFS_ASSIGN_OR_RETURN(auto existing, txn.Dentry(r.parent, r.name));
    if (existing) {
      if (r.flags & O_EXCL) return Error(Code::kExists, "'" + r.name + "' exists");
      AMLFS_ASSIGN_OR_RETURN(InodeRec dir, UsableDir(txn, r.caller, r.parent, kMayExec));
      (void)dir;
      AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(existing->ino));
      return WithXattrHint(txn, OpenLocked(txn, r.caller, rec, r.flags & ~O_CREAT));
    }
    AMLFS_ASSIGN_OR_RETURN(InodeRec child, NewChild(*this, txn, r.caller, r.parent, r.name,
                                                    kIfReg | (r.mode & 07777), 0));
    txn.PutInode(child);
    return WithXattrHint(txn, RegisterOpen(txn, child, r.caller, r.flags));
  });
}

Committed<EmptyRsp> Mds::Release(const ReleaseReq& r) {
  // Untracked: a retried release finds its handle gone and does nothing,
  // so it needs no reply record, and most releases write nothing at all.
  Caller untracked = r.caller;
  untracked.seq = 0;
  return Run<EmptyRsp>(untracked, [&](Txn& txn) -> Result<EmptyRsp> {
    // An unknown handle is from before a restart.
    if (!opens_.Drop(r.handle)) return EmptyRsp{};
    auto rec = txn.Inode(r.ino);
    if (rec.ok() && rec->attr.nlink == 0 && !rec->is_dir()) DestroyInode(txn, *rec);
    return EmptyRsp{};
  });
}

}  // namespace amlfs::mds
