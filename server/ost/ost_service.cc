#include "server/ost/ost_service.h"

#include <algorithm>

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

OstService::OstService(ObjectStore* store)
    : store_(store),
      read_bytes_(metrics::Default().GetCounter("amlfs_ost_read_bytes_total", "Object bytes read.")),
      write_bytes_(
          metrics::Default().GetCounter("amlfs_ost_write_bytes_total", "Object bytes written.")),
      jobs_(metrics::Default(), "jobid", "",
            {{"amlfs_ost_job_read_bytes_total", "Object bytes read, per job id."},
             {"amlfs_ost_job_write_bytes_total", "Object bytes written, per job id."},
             {"amlfs_ost_job_ops_total", "Object reads and writes, per job id."}}),
      clients_(metrics::Default(), "client", "",
               {{"amlfs_ost_client_read_bytes_total", "Object bytes read, per client."},
                {"amlfs_ost_client_write_bytes_total", "Object bytes written, per client."},
                {"amlfs_ost_client_ops_total", "Object reads and writes, per client."}}) {}

void OstService::Account(const RpcCall& call, std::string_view job, uint64_t read,
                         uint64_t written) {
  read_bytes_.Add(read);
  write_bytes_.Add(written);
  const uint64_t deltas[] = {read, written, 1};
  jobs_.AddEach(job, {}, deltas);
  clients_.AddEach(call.client(), {}, deltas);
}

void OstService::Handle(std::shared_ptr<RpcCall> call) {
  ObjectStore& s = *store_;
  switch (call->op()) {
    case Opcode::kObjWrite: {
      // The data is used where it arrived, not copied out of the payload.
      ObjWriteView w;
      Status st = DecodeObjWrite(call->payload(), &w);
      if (st.ok()) st = s.Write(w.object, w.offset, w.data, w.checksum, w.sync);
      if (st.ok()) Account(*call, w.job, 0, w.data.size());
      return call->Reply(st, st.ok() ? Encode(EmptyRsp{}) : std::string());
    }
    case Opcode::kObjRead: {
      ObjReadReq r;
      Status st = call->DecodeRequest(&r);
      if (!st.ok()) return call->Reply(st, {});
      // Read straight into the response frame.
      std::string frame = StartObjReadReply();
      const size_t before = frame.size();
      st = s.ReadAppend(r.object, r.offset, r.length, &frame);
      if (!st.ok()) return call->Reply(st, {});
      Account(*call, r.job, frame.size() - before, 0);
      FinishObjReadReply(&frame);
      return call->ReplyFrame(std::move(frame));
    }
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
    case Opcode::kObjList:
      return Serve<ObjListReq>(*call, [&](const ObjListReq& r) {
        return s.List(r.has_after ? &r.after : nullptr, std::clamp<uint32_t>(r.max, 1, 10000));
      });
    case Opcode::kObjVerify:
      return Serve<ObjVerifyReq>(*call, [&](const ObjVerifyReq& r) {
        return s.Verify(r.object, r.offset, std::min<uint64_t>(r.length, 1ull << 30));
      });
    default:
      call->Reply(Error(Code::kNotSupported, std::string("opcode ") + OpcodeName(call->op()) +
                                                 " not served by an OST"),
                  {});
  }
}

}  // namespace amlfs
