#include "server/ost/ost_service.h"

#include "common/checksum.h"

namespace amlfs {
namespace {

template <typename Req, typename Fn>
void Serve(RpcCall& call, Fn&& fn) {
  Req req;
  Status st = call.DecodeRequest(&req);
  if (!st.ok()) return call.Reply(st, {});
  call.ReplyWith(fn(req));
}

Result<EmptyRsp> Done(const Status& st) {
  if (!st.ok()) return st;
  return EmptyRsp{};
}

}  // namespace

void OstService::Handle(std::shared_ptr<RpcCall> call) {
  ObjectStore& s = *store_;
  switch (call->op()) {
    case Opcode::kObjWrite:
      return Serve<ObjWriteReq>(*call, [&](const ObjWriteReq& r) {
        return Done(s.Write(r.object, r.offset, r.data, r.checksum, r.sync));
      });
    case Opcode::kObjRead:
      return Serve<ObjReadReq>(*call, [&](const ObjReadReq& r) -> Result<ObjReadRsp> {
        AMLFS_ASSIGN_OR_RETURN(std::string data, s.Read(r.object, r.offset, r.length));
        ObjReadRsp rsp;
        rsp.checksum = Checksum64(data);
        rsp.data = std::move(data);
        return rsp;
      });
    case Opcode::kObjTruncate:
      return Serve<ObjTruncateReq>(*call, [&](const ObjTruncateReq& r) {
        return Done(s.Truncate(r.object, r.size));
      });
    case Opcode::kObjSync:
      return Serve<ObjSyncReq>(*call, [&](const ObjSyncReq& r) -> Result<EmptyRsp> {
        for (const auto& o : r.objects) AMLFS_RETURN_IF_ERROR(s.Sync(o));
        return EmptyRsp{};
      });
    case Opcode::kObjDestroy:
      return Serve<ObjDestroyReq>(*call, [&](const ObjDestroyReq& r) -> Result<EmptyRsp> {
        for (const auto& o : r.objects) AMLFS_RETURN_IF_ERROR(s.Destroy(o));
        return EmptyRsp{};
      });
    case Opcode::kObjExtents:
      return Serve<ObjExtentsReq>(*call, [&](const ObjExtentsReq& r) { return s.Extents(r.object); });
    case Opcode::kObjFallocate:
      return Serve<ObjFallocateReq>(*call, [&](const ObjFallocateReq& r) {
        return Done(s.Fallocate(r.object, r.offset, r.length));
      });
    case Opcode::kOstStatFs:
      return Serve<OstStatFsReq>(*call, [&](const OstStatFsReq&) { return s.StatFs(); });
    default:
      call->Reply(Error(Code::kNotSupported, std::string("opcode ") + OpcodeName(call->op()) +
                                                 " not served by an OST"),
                  {});
  }
}

}  // namespace amlfs
