// lookup, getattr, setattr, access, update_size, readlink, readdir.
#include <leveldb/db.h>

#include "common/client/striped_io.h"
#include "server/mds/keys.h"
#include "server/mds/ops/common.h"

namespace amlfs::mds {

Result<EntryRsp> Mds::Lookup(const LookupReq& r) {
  if (r.name.size() > kMaxName) return Error(Code::kNameTooLong, "name longer than 255 bytes");
  Txn txn(db(), Timespec{});
  AMLFS_ASSIGN_OR_RETURN(InodeRec dir, UsableDir(txn, r.caller, r.parent, kMayExec));
  if (r.name == ".") return EntryRsp{dir.attr};
  if (r.name == "..") {
    AMLFS_ASSIGN_OR_RETURN(InodeRec p, txn.Inode(dir.parent));
    return EntryRsp{p.attr};
  }
  AMLFS_ASSIGN_OR_RETURN(auto d, txn.Dentry(r.parent, r.name));
  if (!d) return Error(Code::kNotFound, "no such entry");
  AMLFS_ASSIGN_OR_RETURN(InodeRec child, txn.Inode(d->ino));
  return EntryRsp{child.attr, !HasXattrs(d->ino)};
}

Result<AttrRsp> Mds::GetAttr(const GetAttrReq& r) {
  AMLFS_ASSIGN_OR_RETURN(InodeRec rec, ReadInode(r.ino));
  return AttrRsp{rec.attr, !HasXattrs(r.ino)};
}

bool Mds::HasXattrs(InodeId ino, leveldb::Iterator* it) {
  std::unique_ptr<leveldb::Iterator> own;
  if (!it) {
    own.reset(db()->NewIterator(leveldb::ReadOptions()));
    it = own.get();
  }
  std::string prefix = XattrPrefix(ino.value());
  it->Seek(prefix);
  return it->Valid() && it->key().starts_with(prefix);
}

Result<EmptyRsp> Mds::Access(const AccessReq& r) {
  AMLFS_ASSIGN_OR_RETURN(InodeRec rec, ReadInode(r.ino));
  AMLFS_RETURN_IF_ERROR(CheckAccess(r.caller, rec, r.mask & 7));
  return EmptyRsp{};
}

Result<ReadlinkRsp> Mds::Readlink(const ReadlinkReq& r) {
  AMLFS_ASSIGN_OR_RETURN(InodeRec rec, ReadInode(r.ino));
  if (!rec.is_symlink()) return Error(Code::kInvalid, "not a symlink");
  return ReadlinkRsp{rec.symlink};
}

Result<ReadDirRsp> Mds::ReadDir(const ReadDirReq& r) {
  Txn txn(db(), Timespec{});
  AMLFS_ASSIGN_OR_RETURN(InodeRec dir, UsableDir(txn, r.caller, r.ino, kMayRead));
  (void)dir;
  uint32_t max = r.max_entries == 0 ? 1024 : std::min<uint32_t>(r.max_entries, 4096);
  std::string prefix = DirPrefix(r.ino.value());
  std::unique_ptr<leveldb::Iterator> it(db()->NewIterator(leveldb::ReadOptions()));
  std::unique_ptr<leveldb::Iterator> xit;
  if (r.plus) xit.reset(db()->NewIterator(leveldb::ReadOptions()));
  ReadDirRsp rsp;
  it->Seek(prefix + r.after);
  if (!r.after.empty() && it->Valid() && it->key() == leveldb::Slice(prefix + r.after)) it->Next();
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (rsp.entries.size() >= max) return rsp;
    DirEntry e;
    e.name = it->key().ToString().substr(prefix.size());
    DentryRec d;
    if (!Decode(it->value().ToString(), &d).ok()) continue;
    e.ino = d.ino;
    e.mode = d.type;
    if (r.plus || r.layouts) {
      auto child = txn.Inode(d.ino);
      if (!child.ok()) continue;
      e.attr = child->attr;
      if (r.layouts) e.layout = child->layout;
      if (r.plus) e.no_xattrs = !HasXattrs(d.ino, xit.get());
    }
    rsp.entries.push_back(std::move(e));
  }
  rsp.eof = true;
  return rsp;
}

Status Mds::TruncateObjects(const Caller& c, InodeId ino, uint64_t size, bool check_write) {
  if (!io_) return Status::Ok();
  // A retry of a request that already ran must not cut data written since.
  if (c.seq != 0) {
    std::string ignored;
    if (db()->Get(leveldb::ReadOptions(), ReplyKey(c.client.value(), c.seq), &ignored).ok())
      return Status::Ok();
  }
  AMLFS_ASSIGN_OR_RETURN(InodeRec rec, ReadInode(ino));
  if (!rec.is_reg() || rec.layout.empty() || size >= rec.attr.size) return Status::Ok();
  if (check_write) AMLFS_RETURN_IF_ERROR(CheckAccess(c, rec, kMayWrite));
  return io_->Truncate(ino, rec.layout, size);
}

Committed<AttrRsp> Mds::SetAttr(const SetAttrReq& r) {
  // Objects are cut before the new size is committed (a crash in between
  // leaves no stale bytes past EOF), and outside the mutation lock, so an
  // OST that is slow to answer holds back only this request.
  if (r.valid & kSetSize)
    AMLFS_RETURN_IF_ERROR(TruncateObjects(r.caller, r.ino, r.size, !r.has_open_handle));
  return Run<AttrRsp>(r.caller, [&](Txn& txn) -> Result<AttrRsp> {
    const Caller& c = r.caller;
    AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(r.ino));
    const bool owner = IsOwnerOrRoot(c, rec);
    if (r.valid & kSetMode) {
      // A non-owner may only drop S_ISUID/S_ISGID: that is the kernel
      // clearing them on a write by another user.
      const uint32_t kept = rec.attr.mode & 07777, wanted = r.mode & 07777;
      const bool only_kills =
          (wanted & ~(kSuid | kSgid)) == (kept & ~(kSuid | kSgid)) && (wanted & ~kept) == 0;
      if (!owner && !only_kills) return Error(Code::kNotPermitted, "chmod: not the owner");
      uint32_t mode = r.mode & 07777;
      if (c.uid != 0 && !rec.is_dir() && (mode & kSgid) && !InGroup(c, rec.attr.gid))
        mode &= ~kSgid;
      rec.attr.mode = (rec.attr.mode & kIfMt) | mode;
    }
    if (r.valid & (kSetUid | kSetGid)) {
      uint32_t uid = (r.valid & kSetUid) ? r.uid : rec.attr.uid;
      uint32_t gid = (r.valid & kSetGid) ? r.gid : rec.attr.gid;
      if (c.uid != 0) {
        if (uid != rec.attr.uid) return Error(Code::kNotPermitted, "chown: only root may");
        if (c.uid != rec.attr.uid && (gid != rec.attr.gid || uid != rec.attr.uid))
          return Error(Code::kNotPermitted, "chgrp: not the owner");
        if (gid != rec.attr.gid && !InGroup(c, gid))
          return Error(Code::kNotPermitted, "chgrp: not a member of that group");
        if (c.uid != rec.attr.uid) return Error(Code::kNotPermitted, "chown: not the owner");
      }
      rec.attr.uid = uid;
      rec.attr.gid = gid;
      if (!rec.is_dir()) KillSuid(rec);
    }
    if (r.valid & kSetSize) {
      if (rec.is_dir()) return Error(Code::kIsDir, "is a directory");
      if (!rec.is_reg()) return Error(Code::kInvalid, "not a regular file");
      if (!r.has_open_handle) AMLFS_RETURN_IF_ERROR(CheckAccess(c, rec, kMayWrite));
      if (r.size > (1ull << 62)) return Error(Code::kTooBig, "size too large");
      rec.attr.size = r.size;
      rec.attr.mtime = txn.now();
    }
    if (r.valid & (kSetAtime | kSetMtime)) {
      if (!owner) return Error(Code::kNotPermitted, "utimes: not the owner");
    } else if (r.valid & (kSetAtimeNow | kSetMtimeNow)) {
      if (!owner && !MayAccess(c, rec, kMayWrite)) return Error(Code::kAccess, "utimes: denied");
    }
    if (r.valid & kSetAtime) rec.attr.atime = r.atime;
    if (r.valid & kSetMtime) rec.attr.mtime = r.mtime;
    if (r.valid & kSetAtimeNow) rec.attr.atime = txn.now();
    if (r.valid & kSetMtimeNow) rec.attr.mtime = txn.now();
    if (r.valid & kSetKillSuid) KillSuid(rec);
    rec.attr.ctime = txn.now();
    txn.PutInode(rec);
    return AttrRsp{rec.attr};
  });
}

Committed<AttrRsp> Mds::UpdateSize(const UpdateSizeReq& r) {
  return Run<AttrRsp>(r.caller, [&](Txn& txn) -> Result<AttrRsp> {
    AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(r.ino));
    if (!rec.is_reg()) return Error(Code::kInvalid, "not a regular file");
    rec.attr.size = std::max(rec.attr.size, r.size);
    if (r.set_mtime) {
      rec.attr.mtime = r.mtime;
      rec.attr.ctime = txn.now();
    }
    txn.PutInode(rec);
    return AttrRsp{rec.attr};
  });
}

Committed<AppendRsp> Mds::Append(const AppendReq& r) {
  return Run<AppendRsp>(r.caller, [&](Txn& txn) -> Result<AppendRsp> {
    AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(r.ino));
    if (!rec.is_reg()) return Error(Code::kInvalid, "not a regular file");
    if (rec.attr.size + r.len > (1ull << 62)) return Error(Code::kTooBig, "file too large");
    AppendRsp rsp{rec.attr.size};
    rec.attr.size += r.len;
    rec.attr.mtime = rec.attr.ctime = txn.now();
    txn.PutInode(rec);
    return rsp;
  });
}

}  // namespace amlfs::mds
