#include "server/mds/service.h"

#include <tuple>
#include <type_traits>

#include "common/log.h"

namespace amlfs::mds {
namespace {
constexpr uint64_t kOne[] = {1};  // one request, for the per-key counters

// The Mds methods that answer a request and do nothing else. Handle serves
// each opcode of AMLFS_MDS_METHODS (common/protocol_methods.h) with the one
// that takes its request type; the rest are served in Handle itself.
constexpr auto kMethods = std::make_tuple(
    &Mds::FsInfo, &Mds::Lookup, &Mds::GetAttr, &Mds::SetAttr, &Mds::Mknod, &Mds::Mkdir,
    &Mds::Unlink, &Mds::Rmdir, &Mds::Rename, &Mds::Link, &Mds::Symlink, &Mds::Readlink,
    &Mds::OpenFile, &Mds::Create, &Mds::Release, &Mds::ReadDir, &Mds::StatFs, &Mds::SetXattr,
    &Mds::GetXattr, &Mds::ListXattr, &Mds::RemoveXattr, &Mds::Access, &Mds::UpdateSize,
    &Mds::GetLayout, &Mds::SetLayout, &Mds::MigrateBegin, &Mds::MigrateCommit, &Mds::Fid2Path,
    &Mds::Append, &Mds::GetLk, &Mds::LockCancel, &Mds::LockRelease, &Mds::LockRenew,
    &Mds::OstRegister, &Mds::OstMap, &Mds::DigestNow);
using Methods = std::remove_cv_t<decltype(kMethods)>;

template <typename Method>
struct RequestOf;  // for Result<Rsp> or Committed<Rsp> (Mds::*)(const Req&)
template <typename Rsp, typename Req>
struct RequestOf<Result<Rsp> (Mds::*)(const Req&)> {
  using type = Req;
};
template <typename Rsp, typename Req>
struct RequestOf<Committed<Rsp> (Mds::*)(const Req&)> {
  using type = Req;
};

// The element of kMethods that takes a Req, or nullptr if none does.
template <typename Req, size_t I = 0>
constexpr auto MethodFor() {
  if constexpr (I == std::tuple_size_v<Methods>) {
    return nullptr;
  } else if constexpr (std::is_same_v<typename RequestOf<std::tuple_element_t<I, Methods>>::type,
                                      Req>) {
    return std::get<I>(kMethods);
  } else {
    return MethodFor<Req, I + 1>();
  }
}

// The requests Handle serves itself, not through kMethods.
template <typename Req>
constexpr bool kServedApart = std::is_void_v<Req> || std::is_same_v<Req, MdsStatusReq> ||
                              std::is_same_v<Req, SetLkReq> || std::is_same_v<Req, MdsMembersReq>;
}  // namespace

MdsService::MdsService(Mds* mds)
    : mds_(mds),
      jobs_(metrics::Default(), "jobid", "op",
            {{"amlfs_mds_job_ops_total", "Metadata operations per job id, by operation."}}),
      clients_(metrics::Default(), "client", "",
               {{"amlfs_mds_client_ops_total", "Requests per client."}}) {}

template <typename Req>
bool MdsService::Prepare(const std::shared_ptr<RpcCall>& call, Req* req) {
  if (Status st = call->DecodeRequest(req); !st.ok()) {
    call->Reply(st, {});
    return false;
  }
  if constexpr (requires { req->caller; }) {
    jobs_.AddEach(req->caller.job, OpcodeName(Req::kOp), kOne);
    squash_.Apply(&req->caller, call->peer());
  }
  return true;
}

template <typename Req, typename Rsp>
void MdsService::Serve(const std::shared_ptr<RpcCall>& call,
                       Result<Rsp> (Mds::*method)(const Req&)) {
  Req req;
  if (Prepare(call, &req)) call->ReplyWith((mds_->*method)(req));
}

// A mutation's answer leaves once the log holds its batch (a replicated
// MDS), without this thread waiting for that.
template <typename Req, typename Rsp>
void MdsService::Serve(const std::shared_ptr<RpcCall>& call,
                       Committed<Rsp> (Mds::*method)(const Req&)) {
  Req req;
  if (!Prepare(call, &req)) return;
  Committed<Rsp> c = (mds_->*method)(req);
  if (c.seq == 0) return call->ReplyWith(std::move(c).Finished());
  const uint64_t seq = c.seq;
  mds_->WhenCommitted(seq, [call, c = std::move(c)](Status committed) mutable {
    call->ReplyWith(committed.ok() ? std::move(c).Finished() : Result<Rsp>(committed));
  });
}

void MdsService::Handle(std::shared_ptr<RpcCall> call) {
  RpcCall& c = *call;
  // Replicas and OSTs talk to the MDS too; their traffic is not a client's.
  if (c.op() != Opcode::kRaft && c.op() != Opcode::kOstRegister)
    clients_.AddEach(c.client(), {}, kOne);
  Mds* m = mds_;
  // Answered by every replica: the replicas' own traffic and their state.
  switch (c.op()) {
    case Opcode::kRaft:
      if (!repl_.raft) break;
      // Answered by the replica, with its message back to the sender.
      return repl_.raft(std::string(c.payload()),
                        [call](std::string rsp) { call->Reply(Status::Ok(), rsp); });
    case Opcode::kMdsStatus: {
      MdsStatusReq req;
      if (Status st = c.DecodeRequest(&req); !st.ok()) return c.Reply(st, {});
      MdsStatusRsp rsp;
      if (repl_.status) {
        rsp = repl_.status();
      } else {
        rsp.role = "leader";
        rsp.serving = true;
      }
      return c.ReplyWith(Result<MdsStatusRsp>(std::move(rsp)));
    }
    default: break;
  }
  if (repl_.gate && !(MethodFlagsOf(c.op()) & kAnyReplica)) {
    if (Status st = repl_.gate(); !st.ok()) return c.Reply(st, {});
  }
  switch (c.op()) {
    case Opcode::kSetLk: {
      SetLkReq req;
      if (Status st = c.DecodeRequest(&req); !st.ok()) return c.Reply(st, {});
      // The answer may come later, from whichever thread frees the lock.
      return m->SetLk(req, [call](Status st) {
        call->ReplyWith(st.ok() ? Result<EmptyRsp>(EmptyRsp{}) : Result<EmptyRsp>(st));
      });
    }
    case Opcode::kMdsMembers: {
      MdsMembersReq req;
      if (Status st = c.DecodeRequest(&req); !st.ok()) return c.Reply(st, {});
      if (!repl_.members)
        return c.Reply(Error(Code::kNotSupported, "this MDS is not replicated"), {});
      return repl_.members(req.id, std::move(req.address), [call](Status st) {
        call->ReplyWith(st.ok() ? Result<EmptyRsp>(EmptyRsp{}) : Result<EmptyRsp>(st));
      });
    }
    default: break;
  }
  // Every other request of the MDS: the Mds method that takes its type.
  auto serve = [this, &call]<typename Req>() {
    constexpr auto method = MethodFor<Req>();
    static_assert(kServedApart<Req> || !std::is_null_pointer_v<decltype(method)>,
                  "a request of AMLFS_MDS_METHODS that no Mds method of kMethods takes");
    if constexpr (!std::is_null_pointer_v<decltype(method)>) {
      Serve(call, method);
      return true;
    } else {
      return false;
    }
  };
  switch (c.op()) {
#define AMLFS_MDS_SERVE(Name, number, label, Req, Rsp, flags) \
  case Opcode::k##Name:                                       \
    if (serve.template operator()<Req>()) return;             \
    break;
    AMLFS_MDS_METHODS(AMLFS_MDS_SERVE)
#undef AMLFS_MDS_SERVE
    default: break;
  }
  // The MDT's objects (Data-on-MDT components), requested as of an OST.
  switch (c.op()) {
    case Opcode::kObjWrite: return Serve(call, &Mds::ObjWrite);
    case Opcode::kObjRead: return Serve(call, &Mds::ObjRead);
    case Opcode::kObjTruncate: return Serve(call, &Mds::ObjTruncate);
    case Opcode::kObjSync: return Serve(call, &Mds::ObjSync);
    case Opcode::kObjDestroy: return Serve(call, &Mds::ObjDestroy);
    case Opcode::kObjExtents: return Serve(call, &Mds::ObjExtents);
    case Opcode::kObjFallocate: return Serve(call, &Mds::ObjFallocate);
    default: break;
  }
  AMLFS_LOG(kWarn) << "unknown opcode " << static_cast<int>(c.op()) << " from " << c.peer();
  c.Reply(Error(Code::kNotSupported, "opcode not served by the MDS"), {});
}

}  // namespace amlfs::mds
