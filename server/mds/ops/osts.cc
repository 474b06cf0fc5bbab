// The OST table's requests (ost_table.h holds the table): registrations and
// heartbeats, the map clients are given, and the space statfs reports.
#include <sys/statvfs.h>

#include "common/client/ost_pool.h"
#include "common/log.h"
#include "server/mds/keys.h"
#include "server/mds/mds.h"
#include "server/mds/txn.h"

namespace amlfs::mds {

Committed<OstRegisterRsp> Mds::OstRegister(const OstRegisterReq& r) {
  // Under the mutation lock: two registrations of one index persist their
  // records in the order the table took them.
  std::lock_guard mlk(store_->mutation_mu());
  bool persist = false;
  AMLFS_RETURN_IF_ERROR(osts_->Register(r, &persist));
  OstRegisterRsp rsp;
  {
    std::lock_guard lk(state_mu_);
    rsp.fs_uuid = fs_uuid_;
  }
  uint64_t wait = 0;
  if (persist) {
    Txn txn = store_->MutationTxn(Timespec::Now());
    OstRec rec{r.address, r.ost_uuid};
    txn.Put(OstKey(r.index.value()), Encode(rec));
    AMLFS_RETURN_IF_ERROR(store_->CommitAsync(txn, &wait));
  }
  return {std::move(rsp), wait};
}

Result<OstMapRsp> Mds::OstMap(const OstMapReq&) {
  OstMapRsp rsp;
  rsp.osts = osts_->Snapshot();
  return rsp;
}

Result<FsInfoRsp> Mds::FsInfo(const FsInfoReq&) {
  FsInfoRsp rsp;
  rsp.fs_name = config_.fs_name;
  {
    std::lock_guard lk(state_mu_);
    rsp.fs_uuid = fs_uuid_;
  }
  rsp.root = kRootInode;
  rsp.osts = osts_->Snapshot();
  return rsp;
}

Result<StatFsRsp> Mds::StatFs(const StatFsReq&) {
  StatFsRsp rsp;
  {
    for (const auto& o : osts_->Snapshot()) {
      ++rsp.osts_total;
      if (!o.up) continue;
      ++rsp.osts_up;
      rsp.total_bytes += o.capacity_bytes;
      rsp.free_bytes += o.free_bytes;
      rsp.avail_bytes += o.avail_bytes;
    }
  }
  Txn txn(db(), Timespec{});
  uint64_t used = txn.Counter(kSuperUsedInodes);
  rsp.total_inodes = 1ull << 32;
  rsp.free_inodes = rsp.total_inodes - std::min(used, rsp.total_inodes);
  struct statvfs vfs {};
  if (statvfs(store_->dir().c_str(), &vfs) == 0) {
    rsp.mdt_total_bytes = uint64_t{vfs.f_blocks} * vfs.f_frsize;
    rsp.mdt_free_bytes = uint64_t{vfs.f_bfree} * vfs.f_frsize;
    rsp.mdt_avail_bytes = uint64_t{vfs.f_bavail} * vfs.f_frsize;
  }
  return rsp;
}

}  // namespace amlfs::mds
