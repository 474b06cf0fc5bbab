#include "server/mds/service.h"

#include "common/log.h"

namespace amlfs::mds {
namespace {

template <typename Req, typename Rsp>
void Serve(RpcCall& call, Mds* mds, Result<Rsp> (Mds::*method)(const Req&)) {
  Req req;
  Status st = call.DecodeRequest(&req);
  if (!st.ok()) return call.Reply(st, {});
  call.ReplyWith((mds->*method)(req));
}

}  // namespace

void MdsService::Handle(std::shared_ptr<RpcCall> call) {
  RpcCall& c = *call;
  Mds* m = mds_;
  // Answered by every replica: the replicas' own traffic and their state.
  switch (c.op()) {
    case Opcode::kRaft:
      if (!repl_.raft) break;
      repl_.raft(std::string(c.payload()));
      return c.Reply(Status::Ok(), {});
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
    case Opcode::kMdsDigest: return Serve(c, m, &Mds::DigestNow);
    default:
      break;
  }
  if (repl_.gate) {
    if (Status st = repl_.gate(); !st.ok()) return c.Reply(st, {});
  }
  switch (c.op()) {
    case Opcode::kFsInfo: return Serve(c, m, &Mds::FsInfo);
    case Opcode::kLookup: return Serve(c, m, &Mds::Lookup);
    case Opcode::kGetAttr: return Serve(c, m, &Mds::GetAttr);
    case Opcode::kSetAttr: return Serve(c, m, &Mds::SetAttr);
    case Opcode::kMknod: return Serve(c, m, &Mds::Mknod);
    case Opcode::kMkdir: return Serve(c, m, &Mds::Mkdir);
    case Opcode::kUnlink: return Serve(c, m, &Mds::Unlink);
    case Opcode::kRmdir: return Serve(c, m, &Mds::Rmdir);
    case Opcode::kRename: return Serve(c, m, &Mds::Rename);
    case Opcode::kLink: return Serve(c, m, &Mds::Link);
    case Opcode::kSymlink: return Serve(c, m, &Mds::Symlink);
    case Opcode::kReadlink: return Serve(c, m, &Mds::Readlink);
    case Opcode::kOpen: return Serve(c, m, &Mds::OpenFile);
    case Opcode::kCreate: return Serve(c, m, &Mds::Create);
    case Opcode::kRelease: return Serve(c, m, &Mds::Release);
    case Opcode::kReadDir: return Serve(c, m, &Mds::ReadDir);
    case Opcode::kStatFs: return Serve(c, m, &Mds::StatFs);
    case Opcode::kSetXattr: return Serve(c, m, &Mds::SetXattr);
    case Opcode::kGetXattr: return Serve(c, m, &Mds::GetXattr);
    case Opcode::kListXattr: return Serve(c, m, &Mds::ListXattr);
    case Opcode::kRemoveXattr: return Serve(c, m, &Mds::RemoveXattr);
    case Opcode::kAccess: return Serve(c, m, &Mds::Access);
    case Opcode::kUpdateSize: return Serve(c, m, &Mds::UpdateSize);
    case Opcode::kGetLayout: return Serve(c, m, &Mds::GetLayout);
    case Opcode::kSetLayout: return Serve(c, m, &Mds::SetLayout);
    case Opcode::kMigrateBegin: return Serve(c, m, &Mds::MigrateBegin);
    case Opcode::kMigrateCommit: return Serve(c, m, &Mds::MigrateCommit);
    case Opcode::kFid2Path: return Serve(c, m, &Mds::Fid2Path);
    case Opcode::kAppend: return Serve(c, m, &Mds::Append);
    case Opcode::kGetLk: return Serve(c, m, &Mds::GetLk);
    case Opcode::kSetLk: {
      SetLkReq req;
      if (Status st = c.DecodeRequest(&req); !st.ok()) return c.Reply(st, {});
      // The answer may come later, from whichever thread frees the lock.
      return m->SetLk(req, [call](Status st) {
        call->ReplyWith(st.ok() ? Result<EmptyRsp>(EmptyRsp{}) : Result<EmptyRsp>(st));
      });
    }
    case Opcode::kLockCancel: return Serve(c, m, &Mds::LockCancel);
    case Opcode::kLockRelease: return Serve(c, m, &Mds::LockRelease);
    case Opcode::kLockRenew: return Serve(c, m, &Mds::LockRenew);
    case Opcode::kMdsMembers: {
      MdsMembersReq req;
      if (Status st = c.DecodeRequest(&req); !st.ok()) return c.Reply(st, {});
      if (!repl_.members)
        return c.Reply(Error(Code::kNotSupported, "this MDS is not replicated"), {});
      return repl_.members(req.id, std::move(req.address), [call](Status st) {
        call->ReplyWith(st.ok() ? Result<EmptyRsp>(EmptyRsp{}) : Result<EmptyRsp>(st));
      });
    }
    case Opcode::kOstRegister: return Serve(c, m, &Mds::OstRegister);
    case Opcode::kOstMap: return Serve(c, m, &Mds::OstMap);
    default:
      AMLFS_LOG(kWarn) << "unknown opcode " << static_cast<int>(c.op()) << " from " << c.peer();
      c.Reply(Error(Code::kNotSupported, "opcode not served by the MDS"), {});
  }
}

}  // namespace amlfs::mds
