// Extended attributes, and the layout xattr "lustre.lov" (also readable as
// "trusted.lov" and "user.amlfs.layout"), in common/layout.h's text form:
//   a directory's: its default layout, if it has one (the root: always);
//   setting it on a directory sets the default new files inherit, below it
//   too ("stripe_count=0 stripe_size=0" removes it);
//   a file's: its layout, with the OST list; setting it on an empty file
//   chooses its layout anew (the same layout again is a no-op), so
//   cp --preserve=xattr, tar --xattrs and rsync -X carry striping.
// Only "lustre.lov" is listed by listxattr.
#include <leveldb/db.h>

#include "server/mds/keys.h"
#include "server/mds/ops/common.h"

namespace amlfs::mds {

namespace {

bool IsLayoutXattr(const std::string& name) {
  return name == "lustre.lov" || name == "trusted.lov" || name == "user.amlfs.layout";
}
constexpr size_t kMaxXattrValue = 65536;
constexpr uint32_t kXattrCreate = 1, kXattrReplace = 2;

// Which namespace a name is in, and whether the caller may use it.
Status CheckXattrAccess(const Caller& c, const InodeRec& rec, const std::string& name, bool write) {
  if (name.empty()) return Error(Code::kInvalid, "empty xattr name");
  if (name.size() > 255) return Error(Code::kRange, "xattr name too long");
  if (name.rfind("user.", 0) == 0) {
    if (!rec.is_reg() && !rec.is_dir())
      return Error(write ? Code::kNotPermitted : Code::kNoData,
                   "user xattrs only on files and dirs");
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
  if (IsLayoutXattr(r.name)) {
    if (r.name == "trusted.lov" && r.caller.uid != 0)
      return Error(Code::kNoData, "trusted xattrs need root");
    if (rec.is_reg() && !rec.layout.empty()) return XattrValueRsp{FormatLayout(rec.layout)};
    if (rec.is_dir() && rec.has_template) return XattrValueRsp{FormatTemplate(rec.tmpl)};
    if (rec.is_dir() && rec.attr.ino == kRootInode) {
      auto t = LayoutTemplate::Plain(config().default_stripe_count, config().default_stripe_size);
      return XattrValueRsp{FormatTemplate(t)};
    }
    return Error(Code::kNoData, "no layout");
  }
  AMLFS_RETURN_IF_ERROR(CheckXattrAccess(r.caller, rec, r.name, false));
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
  if ((rec.is_reg() && !rec.layout.empty()) || (rec.is_dir() && rec.has_template))
    rsp.names.insert(rsp.names.begin(), "lustre.lov");
  return rsp;
}

Committed<EmptyRsp> Mds::SetXattr(const SetXattrReq& r) {
  return Run<EmptyRsp>(r.caller, [&](Txn& txn) -> Result<EmptyRsp> {
    AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(r.ino));
    if (IsLayoutXattr(r.name)) {
      if (r.name == "trusted.lov" && r.caller.uid != 0)
        return Error(Code::kNotPermitted, "trusted xattrs need root");
      AMLFS_ASSIGN_OR_RETURN(LayoutTemplate t, ParseTemplate(r.value));
      AMLFS_RETURN_IF_ERROR(SetLayoutLocked(txn, r.caller, rec, t));
      return EmptyRsp{};
    }
    AMLFS_RETURN_IF_ERROR(CheckXattrAccess(r.caller, rec, r.name, true));
    if (r.value.size() > kMaxXattrValue) return Error(Code::kNotEmptyXattr, "value too large");
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

Committed<EmptyRsp> Mds::RemoveXattr(const RemoveXattrReq& r) {
  return Run<EmptyRsp>(r.caller, [&](Txn& txn) -> Result<EmptyRsp> {
    AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(r.ino));
    if (IsLayoutXattr(r.name)) {
      if (!rec.is_dir()) return Error(Code::kNotPermitted, "a file's layout cannot be removed");
      if (!rec.has_template) return Error(Code::kNoData, "no default layout");
      AMLFS_RETURN_IF_ERROR(SetLayoutLocked(txn, r.caller, rec, LayoutTemplate{}));
      return EmptyRsp{};
    }
    AMLFS_RETURN_IF_ERROR(CheckXattrAccess(r.caller, rec, r.name, true));
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
