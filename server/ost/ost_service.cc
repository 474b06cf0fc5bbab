#include "server/ost/ost_service.h"

#include <algorithm>

#include "common/checksum.h"

namespace amlfs {
namespace {

Result<EmptyRsp> Done(const Status& st) {
  if (!st.ok()) return st;
  return EmptyRsp{};
}

// What the store answers to each request but the in-place ones.
Result<EmptyRsp> Run(ObjectStore& s, const ObjTruncateReq& r) {
  return Done(s.Truncate(r.object, r.size));
}
Result<EmptyRsp> Run(ObjectStore& s, const ObjSyncReq& r) {
  for (const auto& o : r.objects) AMLFS_RETURN_IF_ERROR(s.Sync(o));
  return EmptyRsp{};
}
Result<EmptyRsp> Run(ObjectStore& s, const ObjDestroyReq& r) {
  for (const auto& o : r.objects) AMLFS_RETURN_IF_ERROR(s.Destroy(o));
  return EmptyRsp{};
}
Result<ObjExtentsRsp> Run(ObjectStore& s, const ObjExtentsReq& r) { return s.Extents(r.object); }
Result<EmptyRsp> Run(ObjectStore& s, const ObjFallocateReq& r) {
  return Done(s.Fallocate(r.object, r.offset, r.length));
}
Result<OstStatFsRsp> Run(ObjectStore& s, const OstStatFsReq&) { return s.StatFs(); }
Result<ObjListRsp> Run(ObjectStore& s, const ObjListReq& r) {
  return s.List(r.has_after ? &r.after : nullptr, std::clamp<uint32_t>(r.max, 1, 10000));
}
Result<ObjVerifyRsp> Run(ObjectStore& s, const ObjVerifyReq& r) {
  return s.Verify(r.object, r.offset, std::min<uint64_t>(r.length, 1ull << 30));
}

}  // namespace

OstService::OstService(ObjectStore* store)
    : store_(store),
      read_bytes_(
          metrics::Default().GetCounter("amlfs_ost_read_bytes_total", "Object bytes read.")),
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

void OstService::Serve(RpcCall& call, std::type_identity<ObjWriteReq>) {
  // The data is used where it arrived, not copied out of the payload.
  ObjWriteView w;
  Status st = DecodeObjWrite(call.payload(), &w);
  if (st.ok()) st = store_->Write(w.object, w.offset, w.data, w.checksum, w.sync);
  if (st.ok()) Account(call, w.job, 0, w.data.size());
  call.Reply(st, st.ok() ? Encode(EmptyRsp{}) : std::string());
}

void OstService::Serve(RpcCall& call, std::type_identity<ObjReadReq>) {
  ObjReadReq r;
  Status st = call.DecodeRequest(&r);
  if (!st.ok()) return call.Reply(st, {});
  // Read straight into the response frame.
  ObjReadReplyFrame reply;
  st = store_->ReadAppend(r.object, r.offset, r.length, reply.data());
  if (!st.ok()) return call.Reply(st, {});
  Account(call, r.job, reply.data_size(), 0);
  call.ReplyFrame(reply.Finish());
}

template <typename Req>
void OstService::Serve(RpcCall& call, std::type_identity<Req>) {
  Req req;
  Status st = call.DecodeRequest(&req);
  if (!st.ok()) return call.Reply(st, {});
  call.ReplyWith(Run(*store_, req));
}

void OstService::Handle(std::shared_ptr<RpcCall> call) {
  switch (call->op()) {
#define AMLFS_OST_SERVE(Name, number, label, Req, Rsp, flags) \
  case Opcode::k##Name: return Serve(*call, std::type_identity<Req>{});
    AMLFS_OST_METHODS(AMLFS_OST_SERVE)
#undef AMLFS_OST_SERVE
    default:
      call->Reply(Error(Code::kNotSupported,
                        std::string("opcode ") + OpcodeName(call->op()) + " not served by an OST"),
                  {});
  }
}

}  // namespace amlfs
