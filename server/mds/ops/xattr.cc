// Extended attributes, and the layout xattr "user.amlfs.layout":
//   getfattr on a directory: its default layout ("stripe_count=.. stripe_size=..
//   stripe_offset=.."), the file system default for the root;
//   setfattr on a directory: sets the default layout new files and
//   subdirectories inherit ("stripe_count=0 stripe_size=0" removes it);
//   getfattr on a file: its layout, with the OST list;
//   setfattr on an empty regular file: chooses its layout anew.
// It is not listed by listxattr.
#include <leveldb/db.h>

#include "server/mds/keys.h"
#include "server/mds/ops/common.h"

namespace amlfs::mds {

namespace {

constexpr char kLayoutXattr[] = "user.amlfs.layout";
constexpr size_t kMaxXattrValue = 65536;
constexpr uint32_t kXattrCreate = 1, kXattrReplace = 2;

// Which namespace a name is in, and whether the caller may use it.
Status CheckXattrAccess(const Caller& c, const InodeRec& rec, const std::string& name,
                        bool write) {
  if (name.empty()) return Error(Code::kInvalid, "empty xattr name");
  if (name.size() > 255) return Error(Code::kRange, "xattr name too long");
  if (name.rfind("user.", 0) == 0) {
    if (!rec.is_reg() && !rec.is_dir())
      return Error(write ? Code::kNotPermitted : Code::kNoData, "user xattrs only on files and dirs");
    return CheckAccess(c, rec, write ? kMayWrite : kMayRead);
  }
  if (name.rfind("trusted.", 0) == 0) {
    if (c.uid != 0) return Error(Code::kNotPermitted, "trusted xattrs need root");
    return Status::Ok();
  }
  if (name.rfind("security.", 0) == 0) {
    if (write && !IsOwnerOrRoot(c, rec)) return Error(Code::kNotPermitted, "not the owner");
    return Status::Ok();
  }
  if (name.rfind("system.", 0) == 0) return Error(Code::kNotSupported, "no ACL support");
  return Error(Code::kNotSupported, "unknown xattr namespace");
}

}  // namespace

Result<XattrValueRsp> Mds::GetXattr(const GetXattrReq& r) {
  AMLFS_ASSIGN_OR_RETURN(InodeRec rec, ReadInode(r.ino));
  AMLFS_RETURN_IF_ERROR(CheckXattrAccess(r.caller, rec, r.name, false));
  if (r.name == kLayoutXattr) {
    if (rec.is_reg() && !rec.layout.empty()) return XattrValueRsp{FormatLayout(rec.layout)};
    if (rec.is_dir() && (rec.has_template || rec.attr.ino == kRootInode))
      return XattrValueRsp{FormatTemplate(EffectiveTemplate(rec))};
    return Error(Code::kNoData, "no layout");
  }
  std::string value;
  leveldb::Status st = db()->Get(leveldb::ReadOptions(), XattrKey(r.ino.value(), r.name), &value);
  if (st.IsNotFound()) return Error(Code::kNoData, "no such attribute");
  if (!st.ok()) return Error(Code::kIo, st.ToString());
  return XattrValueRsp{value};
}

Result<XattrListRsp> Mds::ListXattr(const ListXattrReq& r) {
  AMLFS_ASSIGN_OR_RETURN(InodeRec rec, ReadInode(r.ino));
  XattrListRsp rsp;
  std::string px = XattrPrefix(r.ino.value());
  std::unique_ptr<leveldb::Iterator> it(db()->NewIterator(leveldb::ReadOptions()));
  for (it->Seek(px); it->Valid() && it->key().starts_with(px); it->Next()) {
    std::string name = it->key().ToString().substr(px.size());
    if (name.rfind("trusted.", 0) == 0 && r.caller.uid != 0) continue;
    rsp.names.push_back(std::move(name));
  }
  (void)rec;
  return rsp;
}

Result<EmptyRsp> Mds::SetXattr(const SetXattrReq& r) {
  return Run<EmptyRsp>(r.caller, [&](Txn& txn) -> Result<EmptyRsp> {
    AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(r.ino));
    AMLFS_RETURN_IF_ERROR(CheckXattrAccess(r.caller, rec, r.name, true));
    if (r.value.size() > kMaxXattrValue) return Error(Code::kNotEmptyXattr, "value too large");
    if (r.name == kLayoutXattr) {
      AMLFS_ASSIGN_OR_RETURN(LayoutTemplate t, ParseTemplate(r.value));
      if (rec.is_dir()) {
        rec.has_template = !t.IsDefault();
        rec.tmpl = t;
      } else if (rec.is_reg()) {
        if (rec.attr.size != 0) return Error(Code::kBusy, "file already has data");
        InodeRec as_dir = rec;
        as_dir.has_template = true;
        as_dir.tmpl = t;
        AMLFS_ASSIGN_OR_RETURN(rec.layout, NewLayout(as_dir));
        rec.attr.blksize = static_cast<uint32_t>(std::min<uint64_t>(rec.layout.comps[0].stripe_size, 1u << 30));
      } else {
        return Error(Code::kNotPermitted, "layouts apply to files and directories");
      }
      rec.attr.ctime = txn.now();
      txn.PutInode(rec);
      return EmptyRsp{};
    }
    std::string key = XattrKey(r.ino.value(), r.name);
    AMLFS_ASSIGN_OR_RETURN(auto old, txn.Get(key));
    if ((r.flags & kXattrCreate) && old) return Error(Code::kExists, "attribute exists");
    if ((r.flags & kXattrReplace) && !old) return Error(Code::kNoData, "no such attribute");
    txn.Put(key, r.value);
    rec.attr.ctime = txn.now();
    txn.PutInode(rec);
    return EmptyRsp{};
  });
}

Result<EmptyRsp> Mds::RemoveXattr(const RemoveXattrReq& r) {
  return Run<EmptyRsp>(r.caller, [&](Txn& txn) -> Result<EmptyRsp> {
    AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(r.ino));
    AMLFS_RETURN_IF_ERROR(CheckXattrAccess(r.caller, rec, r.name, true));
    if (r.name == kLayoutXattr && rec.is_dir()) {
      if (!rec.has_template) return Error(Code::kNoData, "no default layout");
      rec.has_template = false;
      rec.tmpl = LayoutTemplate{};
      txn.PutInode(rec);
      return EmptyRsp{};
    }
    std::string key = XattrKey(r.ino.value(), r.name);
    AMLFS_ASSIGN_OR_RETURN(auto old, txn.Get(key));
    if (!old) return Error(Code::kNoData, "no such attribute");
    txn.Delete(key);
    rec.attr.ctime = txn.now();
    txn.PutInode(rec);
    return EmptyRsp{};
  });
}

}  // namespace amlfs::mds
