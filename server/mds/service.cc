#include "server/mds/service.h"

#include "common/log.h"

namespace amlfs::mds {
namespace {
constexpr uint64_t kOne[] = {1};  // one request, for the per-key counters
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
void MdsService::Serve(const std::shared_ptr<RpcCall>& call, Result<Rsp> (Mds::*method)(const Req&)) {
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
  if (c.seq == 0) return call->ReplyWith(c.result);
  mds_->WhenCommitted(c.seq, [call, r = std::move(c.result)](Status committed) {
    call->ReplyWith(committed.ok() ? r : Result<Rsp>(committed));
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
    case Opcode::kMdsDigest: return Serve(call, &Mds::DigestNow);
    default:
      break;
  }
  if (repl_.gate) {
    if (Status st = repl_.gate(); !st.ok()) return c.Reply(st, {});
  }
  switch (c.op()) {
    case Opcode::kFsInfo: return Serve(call, &Mds::FsInfo);
    case Opcode::kLookup: return Serve(call, &Mds::Lookup);
    case Opcode::kGetAttr: return Serve(call, &Mds::GetAttr);
    case Opcode::kSetAttr: return Serve(call, &Mds::SetAttr);
    case Opcode::kMknod: return Serve(call, &Mds::Mknod);
    case Opcode::kMkdir: return Serve(call, &Mds::Mkdir);
    case Opcode::kUnlink: return Serve(call, &Mds::Unlink);
    case Opcode::kRmdir: return Serve(call, &Mds::Rmdir);
    case Opcode::kRename: return Serve(call, &Mds::Rename);
    case Opcode::kLink: return Serve(call, &Mds::Link);
    case Opcode::kSymlink: return Serve(call, &Mds::Symlink);
    case Opcode::kReadlink: return Serve(call, &Mds::Readlink);
    case Opcode::kOpen: return Serve(call, &Mds::OpenFile);
    case Opcode::kCreate: return Serve(call, &Mds::Create);
    case Opcode::kRelease: return Serve(call, &Mds::Release);
    case Opcode::kReadDir: return Serve(call, &Mds::ReadDir);
    case Opcode::kStatFs: return Serve(call, &Mds::StatFs);
    case Opcode::kSetXattr: return Serve(call, &Mds::SetXattr);
    case Opcode::kGetXattr: return Serve(call, &Mds::GetXattr);
    case Opcode::kListXattr: return Serve(call, &Mds::ListXattr);
    case Opcode::kRemoveXattr: return Serve(call, &Mds::RemoveXattr);
    case Opcode::kAccess: return Serve(call, &Mds::Access);
    case Opcode::kUpdateSize: return Serve(call, &Mds::UpdateSize);
    case Opcode::kGetLayout: return Serve(call, &Mds::GetLayout);
    case Opcode::kSetLayout: return Serve(call, &Mds::SetLayout);
    case Opcode::kMigrateBegin: return Serve(call, &Mds::MigrateBegin);
    case Opcode::kMigrateCommit: return Serve(call, &Mds::MigrateCommit);
    case Opcode::kFid2Path: return Serve(call, &Mds::Fid2Path);
    case Opcode::kAppend: return Serve(call, &Mds::Append);
    case Opcode::kGetLk: return Serve(call, &Mds::GetLk);
    case Opcode::kSetLk: {
      SetLkReq req;
      if (Status st = c.DecodeRequest(&req); !st.ok()) return c.Reply(st, {});
      // The answer may come later, from whichever thread frees the lock.
      return m->SetLk(req, [call](Status st) {
        call->ReplyWith(st.ok() ? Result<EmptyRsp>(EmptyRsp{}) : Result<EmptyRsp>(st));
      });
    }
    case Opcode::kLockCancel: return Serve(call, &Mds::LockCancel);
    case Opcode::kLockRelease: return Serve(call, &Mds::LockRelease);
    case Opcode::kLockRenew: return Serve(call, &Mds::LockRenew);
    case Opcode::kMdsMembers: {
      MdsMembersReq req;
      if (Status st = c.DecodeRequest(&req); !st.ok()) return c.Reply(st, {});
      if (!repl_.members)
        return c.Reply(Error(Code::kNotSupported, "this MDS is not replicated"), {});
      return repl_.members(req.id, std::move(req.address), [call](Status st) {
        call->ReplyWith(st.ok() ? Result<EmptyRsp>(EmptyRsp{}) : Result<EmptyRsp>(st));
      });
    }
    case Opcode::kOstRegister: return Serve(call, &Mds::OstRegister);
    case Opcode::kOstMap: return Serve(call, &Mds::OstMap);
    default:
      AMLFS_LOG(kWarn) << "unknown opcode " << static_cast<int>(c.op()) << " from " << c.peer();
      c.Reply(Error(Code::kNotSupported, "opcode not served by the MDS"), {});
  }
}

}  // namespace amlfs::mds
