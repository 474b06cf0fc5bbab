// The OST table: registrations and heartbeats, the map clients are given,
// the OSTs that stop heartbeating, and the space statfs reports.
#include <sys/statvfs.h>

#include "common/client/ost_pool.h"
#include "common/log.h"
#include "server/mds/keys.h"
#include "server/mds/mds.h"
#include "server/mds/txn.h"

namespace amlfs::mds {

void Mds::NoteDownOsts() {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lk(state_mu_);
  for (auto& [index, s] : osts_) {
    if (s.down_logged || s.last_seen.time_since_epoch().count() == 0 ||
        now - s.last_seen < config_.ost_timeout)
      continue;
    s.down_logged = true;
    AMLFS_LOG(kWarn) << "OST" << index << " down: no heartbeat from " << s.info.address << " for "
                     << std::chrono::duration_cast<std::chrono::seconds>(now - s.last_seen).count()
                     << " s";
  }
}

Committed<OstRegisterRsp> Mds::OstRegister(const OstRegisterReq& r) {
  std::lock_guard mlk(mutate_mu_);
  bool persist = false;
  {
    std::lock_guard lk(state_mu_);
    auto it = osts_.find(r.index.value());
    if (it != osts_.end() && !it->second.uuid.empty() && it->second.uuid != r.ost_uuid)
      return Error(Code::kExists, "OST index " + std::to_string(r.index.value()) +
                                      " belongs to another data directory");
    OstState& s = osts_[r.index.value()];
    persist = s.info.address != r.address || s.uuid != r.ost_uuid;
    bool was_up = s.last_seen.time_since_epoch().count() != 0 &&
                  std::chrono::steady_clock::now() - s.last_seen < config_.ost_timeout;
    s.info.index = r.index;
    s.info.address = r.address;
    s.info.capacity_bytes = r.capacity_bytes;
    s.info.free_bytes = r.free_bytes;
    s.info.avail_bytes = r.avail_bytes;
    s.info.total_inodes = r.total_inodes;
    s.info.free_inodes = r.free_inodes;
    s.uuid = r.ost_uuid;
    s.last_seen = std::chrono::steady_clock::now();
    s.down_logged = false;
    if (!was_up) AMLFS_LOG(kInfo) << "OST" << r.index.value() << " up at " << r.address;
    if (pool_) pool_->Update(OstsLocked());
  }
  OstRegisterRsp rsp;
  rsp.fs_uuid = fs_uuid_;
  uint64_t wait = 0;
  if (persist) {
    Txn txn = MutationTxn(Timespec::Now());
    OstRec rec{r.address, r.ost_uuid};
    txn.Put(OstKey(r.index.value()), Encode(rec));
    AMLFS_RETURN_IF_ERROR(CommitAsync(txn, &wait));
  }
  return {std::move(rsp), wait};
}

Result<OstMapRsp> Mds::OstMap(const OstMapReq&) {
  std::lock_guard lk(state_mu_);
  OstMapRsp rsp;
  rsp.osts = OstsLocked();
  return rsp;
}

Result<FsInfoRsp> Mds::FsInfo(const FsInfoReq&) {
  FsInfoRsp rsp;
  rsp.fs_name = config_.fs_name;
  rsp.fs_uuid = fs_uuid_;
  rsp.root = kRootInode;
  std::lock_guard lk(state_mu_);
  rsp.osts = OstsLocked();
  return rsp;
}

Result<StatFsRsp> Mds::StatFs(const StatFsReq&) {
  StatFsRsp rsp;
  {
    std::lock_guard lk(state_mu_);
    for (const auto& o : OstsLocked()) {
      ++rsp.osts_total;
      if (!o.up) continue;
      ++rsp.osts_up;
      rsp.total_bytes += o.capacity_bytes;
      rsp.free_bytes += o.free_bytes;
      rsp.avail_bytes += o.avail_bytes;
    }
  }
  Txn txn(db_.get(), Timespec{});
  uint64_t used = txn.Counter(kSuperUsedInodes);
  rsp.total_inodes = 1ull << 32;
  rsp.free_inodes = rsp.total_inodes - std::min(used, rsp.total_inodes);
  struct statvfs vfs {};
  if (statvfs(dir_.c_str(), &vfs) == 0) {
    rsp.mdt_total_bytes = uint64_t{vfs.f_blocks} * vfs.f_frsize;
    rsp.mdt_free_bytes = uint64_t{vfs.f_bfree} * vfs.f_frsize;
    rsp.mdt_avail_bytes = uint64_t{vfs.f_bavail} * vfs.f_frsize;
  }
  return rsp;
}

}  // namespace amlfs::mds
