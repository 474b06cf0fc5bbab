// The MDT as a data target: the object requests of Data-on-MDT components
// (common/layout.h). Each object is one record, MdtObjectKey, holding its
// bytes from offset 0; a write reads, changes and writes it back inside one
// batch, so it is replicated with the namespace and ordered with it.
#include <leveldb/db.h>
#include <leveldb/write_batch.h>
#include <sys/statvfs.h>

#include <algorithm>

#include "common/checksum.h"
#include "common/codec.h"
#include "server/mds/at_most_once.h"
#include "server/mds/keys.h"
#include "server/mds/mds.h"

namespace amlfs::mds {
namespace {

std::string KeyOf(const ObjectId& o) { return MdtObjectKey(o.ino, o.comp, o.stripe); }

// The component of `l` that names object `o` on the MDT, if any.
const LayoutComponent* MdtComponentOf(const Layout& l, const ObjectId& o) {
  for (const auto& c : l.comps)
    if (c.id == o.comp && c.on_mdt() && o.stripe == 0) return &c;
  return nullptr;
}

}  // namespace

Result<Mds::MdtObject> Mds::FindMdtObject(Txn& txn, const ObjectId& obj) {
  AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(InodeId(obj.ino)));
  MdtObject o;
  if (const LayoutComponent* c = MdtComponentOf(rec.layout, obj)) {
    o.limit = c->end - c->start;
    o.inode = std::move(rec);
    return o;
  }
  std::optional<Layout> next = opens_.MigrationLayout(InodeId(obj.ino));
  const LayoutComponent* c = next ? MdtComponentOf(*next, obj) : nullptr;
  if (!c) return Error(Code::kNotFound, "no such Data-on-MDT object");
  o.limit = c->end - c->start;
  return o;
}

Status Mds::MdtRoomFor(uint64_t bytes) {
  struct statvfs vfs {};
  if (statvfs(store_->dir().c_str(), &vfs) == 0 &&
      uint64_t{vfs.f_bavail} * vfs.f_frsize < config_.mdt_reserve + bytes)
    return Error(Code::kNoSpace, "the MDT is full (amlfs-mds --mdt-reserve)");
  return Status::Ok();
}

namespace {

// A write or allocation up to file byte `end` of the file's own MDT
// object: its size and times change with it, in the same batch, so the
// writer need not report them (a migration's copy changes neither).
void Grew(Txn& txn, std::optional<InodeRec>& rec, uint64_t end) {
  if (!rec) return;
  rec->attr.size = std::max(rec->attr.size, end);
  rec->attr.mtime = rec->attr.ctime = txn.now();
  txn.PutInode(*rec);
}

}  // namespace

Committed<EmptyRsp> Mds::ObjWrite(const ObjWriteReq& r) {
  if (Checksum64(r.data) != r.checksum)
    return Error(Code::kCorrupt, "object write: checksum mismatch");
  // The disk is checked before the mutation lock: the answer is the same.
  if (Status st = MdtRoomFor(r.data.size()); !st.ok()) return st;
  return Run<EmptyRsp>(Caller{}, [&](Txn& txn) -> Result<EmptyRsp> {
    AMLFS_ASSIGN_OR_RETURN(MdtObject o, FindMdtObject(txn, r.object));
    if (r.offset > o.limit || r.data.size() > o.limit - r.offset)
      return Error(Code::kTooBig, "write past the end of the Data-on-MDT component");
    if (r.data.empty()) return EmptyRsp{};
    Grew(txn, o.inode, r.offset + r.data.size());  // the MDT component starts the file
    const std::string key = KeyOf(r.object);
    AMLFS_ASSIGN_OR_RETURN(auto old, txn.Get(key));
    std::string bytes = old ? std::move(*old) : std::string();
    if (bytes.size() < r.offset + r.data.size()) bytes.resize(r.offset + r.data.size(), '\0');
    std::copy(r.data.begin(), r.data.end(), bytes.begin() + static_cast<std::ptrdiff_t>(r.offset));
    txn.Put(key, std::move(bytes));
    return EmptyRsp{};
  });
}

Result<ObjReadRsp> Mds::ObjRead(const ObjReadReq& r) {
  std::string bytes;
  leveldb::Status st = db()->Get(leveldb::ReadOptions(), KeyOf(r.object), &bytes);
  if (!st.ok() && !st.IsNotFound())
    return Error(Code::kIo, "reading an MDT object: " + st.ToString());
  ObjReadRsp rsp;
  if (r.offset < bytes.size())
    rsp.data = bytes.substr(r.offset, std::min<uint64_t>(r.length, bytes.size() - r.offset));
  rsp.checksum = Checksum64(rsp.data);
  return rsp;
}

Committed<EmptyRsp> Mds::ObjTruncate(const ObjTruncateReq& r) {
  return Run<EmptyRsp>(Caller{}, [&](Txn& txn) -> Result<EmptyRsp> {
    const std::string key = KeyOf(r.object);
    AMLFS_ASSIGN_OR_RETURN(auto old, txn.Get(key));
    // Growing needs nothing: bytes past the record read as zeros.
    if (old && old->size() > r.size) {
      old->resize(r.size);
      txn.Put(key, std::move(*old));
    }
    return EmptyRsp{};
  });
}

Result<EmptyRsp> Mds::ObjSync(const ObjSyncReq&) {
  // A replicated MDS's writes are in a synced log before they are answered;
  // a single MDS syncs its database log, and with it every earlier write.
  if (store_->replicated()) return EmptyRsp{};
  leveldb::WriteOptions wo;
  wo.sync = true;
  leveldb::WriteBatch empty;
  if (leveldb::Status st = db()->Write(wo, &empty); !st.ok())
    return Error(Code::kIo, "syncing the MDT: " + st.ToString());
  return EmptyRsp{};
}

Committed<EmptyRsp> Mds::ObjDestroy(const ObjDestroyReq& r) {
  return Run<EmptyRsp>(Caller{}, [&](Txn& txn) -> Result<EmptyRsp> {
    for (const ObjectId& o : r.objects) {
      const std::string key = KeyOf(o);
      AMLFS_ASSIGN_OR_RETURN(auto old, txn.Get(key));
      if (old) txn.Delete(key);
    }
    return EmptyRsp{};
  });
}

Result<ObjExtentsRsp> Mds::ObjExtents(const ObjExtentsReq& r) {
  AMLFS_ASSIGN_OR_RETURN(ObjReadRsp all, ObjRead(ObjReadReq{r.object, 0, kLayoutEof, {}}));
  ObjExtentsRsp rsp;
  rsp.size = all.data.size();
  if (rsp.size) rsp.extents.push_back(Extent{0, rsp.size});
  return rsp;
}

Committed<EmptyRsp> Mds::ObjFallocate(const ObjFallocateReq& r) {
  if (Status st = MdtRoomFor(r.length); !st.ok()) return st;
  return Run<EmptyRsp>(Caller{}, [&](Txn& txn) -> Result<EmptyRsp> {
    AMLFS_ASSIGN_OR_RETURN(MdtObject o, FindMdtObject(txn, r.object));
    if (r.offset > o.limit || r.length > o.limit - r.offset)
      return Error(Code::kTooBig, "fallocate past the end of the Data-on-MDT component");
    Grew(txn, o.inode, r.offset + r.length);
    return EmptyRsp{};
  });
}

void Mds::ServeObject(Opcode op, std::string_view payload,
                      std::function<void(Result<std::string>)> done) {
  // Decodes the request, runs `method` and answers once its batch (if it
  // wrote one) is applied: a Result is a Committed with nothing to wait for.
  auto serve = [&]<typename Rsp, typename Req, typename Ret>(Ret (Mds::*method)(const Req&)) {
    Req req;
    if (Status st = Decode(payload, &req); !st.ok()) return done(st);
    Committed<Rsp> c = (this->*method)(req);
    if (!c.result.ok()) return done(c.result.status());
    WhenCommitted(c.seq, [done = std::move(done), body = Encode(c.result.value())](Status st) {
      done(st.ok() ? Result<std::string>(body) : Result<std::string>(st));
    });
  };
  switch (op) {
    case Opcode::kObjWrite: return serve.operator()<EmptyRsp>(&Mds::ObjWrite);
    case Opcode::kObjRead: return serve.operator()<ObjReadRsp>(&Mds::ObjRead);
    case Opcode::kObjTruncate: return serve.operator()<EmptyRsp>(&Mds::ObjTruncate);
    case Opcode::kObjSync: return serve.operator()<EmptyRsp>(&Mds::ObjSync);
    case Opcode::kObjDestroy: return serve.operator()<EmptyRsp>(&Mds::ObjDestroy);
    case Opcode::kObjExtents: return serve.operator()<ObjExtentsRsp>(&Mds::ObjExtents);
    case Opcode::kObjFallocate: return serve.operator()<EmptyRsp>(&Mds::ObjFallocate);
    default: done(Error(Code::kNotSupported, "not an object request"));
  }
}

}  // namespace amlfs::mds
