// fcntl and flock locks: the MDS's LockTable behind the lock RPCs.
#include "server/mds/mds.h"

namespace amlfs::mds {

Result<LockRsp> Mds::GetLk(const GetLkReq& r) {
  AMLFS_RETURN_IF_ERROR(ReadInode(r.ino).status());
  LockSpec want = r.lock;
  want.client = r.caller.client;
  LockRsp rsp;
  if (auto c = locks_.Test(r.ino.value(), want))
    rsp.lock = *c;
  else
    rsp.lock.type = kLockUnlock;
  return rsp;
}

void Mds::SetLk(const SetLkReq& r, std::function<void(Status)> done) {
  if (r.lock.type > kLockUnlock) return done(Error(Code::kInvalid, "bad lock type"));
  if (auto rec = ReadInode(r.ino); !rec.ok()) return done(rec.status());
  LockSpec want = r.lock;
  want.client = r.caller.client;
  if (want.type == kLockUnlock) want.wait = false;
  locks_.Renew(want.client);
  locks_.Set(r.ino.value(), want, std::move(done));
}

Result<EmptyRsp> Mds::LockCancel(const LockCancelReq& r) {
  locks_.Cancel(r.ino.value(), r.caller.client, r.owner);
  return EmptyRsp{};
}

Result<EmptyRsp> Mds::LockRelease(const LockReleaseReq& r) {
  locks_.ReleaseOwner(r.ino.value(), r.caller.client, r.owner, r.flock);
  return EmptyRsp{};
}

Result<LockRenewRsp> Mds::LockRenew(const LockRenewReq& r) {
  if (r.bye)
    locks_.DropClient(r.caller.client);
  else
    locks_.Renew(r.caller.client);
  return LockRenewRsp{static_cast<uint32_t>(config_.lock_lease.count())};
}

}  // namespace amlfs::mds
