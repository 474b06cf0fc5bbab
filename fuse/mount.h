// Mount: the state of one amlfs mount, shared by every FUSE callback.
//
// It owns the connection to the cluster (Cluster: the MDS client, the OST
// clients and StripedIo), the write-behind buffers, the InodeTable of what
// the kernel was shown, and the per-node caches the kernel asks about on
// every write (security.capability) and listing (xattr-less files). The
// open files (OpenFile) are tracked here so that a layout change or a lock
// grant reaches every handle of a file.
//
// Thread-safe: FUSE worker threads and the network threads (MdsAsync
// replies) call it at once. A background thread refreshes the OST map and
// renews the lock lease. Errors come back as Status; the reply helpers
// (reply.h) are the only place they become errno.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/client/cluster.h"
#include "common/client/mds_client.h"
#include "common/client/ost_pool.h"
#include "common/client/striped_io.h"
#include "fuse/fuse_version.h"
#include "fuse/guard.h"
#include "fuse/inode_table.h"
#include "fuse/jobid.h"
#include "fuse/open_file.h"
#include "fuse/reply.h"
#include "fuse/write_behind.h"

namespace amlfs::fuse {

struct MountOptions {
  std::vector<std::string> mds;
  double io_timeout = 30;
  double mds_timeout = 30;
  double attr_timeout = 1.0;
  double entry_timeout = 1.0;
  // Seconds a "no such entry" answer is cached: 0, so that a file another
  // node has just created is found at once (MPI ranks open what rank 0 made).
  double negative_timeout = 0.0;
  int threads = 16;
  uint64_t write_behind_mb = 256;  // 0: every write() goes to the OSTs before it returns
  // Where a request's job id comes from (fuse/jobid.h).
  std::string jobid_var = "SLURM_JOB_ID";
  // How servers name this mount in per-client statistics (default: host
  // name and mount point).
  std::string client_name;
};

// An open directory: a snapshot of its entries taken at opendir.
struct DirHandle {
  std::vector<DirEntry> entries;
};

class Mount {
 public:
  explicit Mount(const MountOptions& o);
  ~Mount();

  MdsClient& mds() { return cluster_->mds(); }
  OstPool& pool() { return cluster_->pool(); }
  StripedIo& io() { return cluster_->io(); }
  InodeTable& inodes() { return inodes_; }
  WriteBehind* write_behind() { return wb_.get(); }
  const MountOptions& options() const { return options_; }

  // Reloads the OST map from the MDS.
  void RefreshOsts();
  // The OST table as the MDS last gave it, and when (steady clock; zero
  // before the first answer), for /healthz.
  std::vector<OstInfo> KnownOsts(std::chrono::steady_clock::time_point* when);
  // The job id of the process that made `req` (fuse/jobid.h).
  std::string JobOf(fuse_req_t req);
  // Sends this node's unreported size for `ino` to the MDS, if any (none
  // when SizeKeptByMdt).
  Status ReportSize(InodeId ino, const Creds& creds);
  // True when every open handle of `ino` on this node writes by a layout
  // whose Data-on-MDT component covers [0, size): the MDS moved the size
  // and mtime with each write of those bytes (Mds::ObjWrite).
  bool SizeKeptByMdt(InodeId ino, uint64_t size);

  // The open files of this node, so a layout change reaches their handles.
  void TrackOpen(OpenFile* fh);
  void UntrackOpen(OpenFile* fh);
  void SetLayoutOfOpenFiles(InodeId ino, const Layout& l);
  // Data-on-MDT heads (OpenFile::ReadHead): how many handles hold one, and
  // drops those of `ino`'s handles (this node changes the file).
  void HeadsGiven(int n) { heads_ += n; }
  bool IsOpenHere(uint64_t ino);
  void DropHeads(uint64_t ino);
  // The write-behind buffer of `ino` on this node, one for all its handles,
  // so that writes through different descriptors stay in order.
  std::shared_ptr<WriteBehind::File> BufferFor(InodeId ino);
  // Sends the data this node buffered for `ino` to the OSTs and waits for
  // it; the first write error, if any.
  Status FlushInode(InodeId ino);

  // This node took an fcntl or flock lock on `ino` (from then on it renews
  // its lock lease, and closes of `ino` release their owner's locks).
  void NoteLocked(uint64_t ino);
  bool MayHoldLocks(uint64_t ino);
  // Drops the kernel's cached pages and attributes of `ino` on this node.
  void DropCache(uint64_t ino);
  // Drops the kernel's cached attributes of `ino` (not its pages): its next
  // stat or read asks again.
  void DropAttrs(uint64_t ino);
  // True when this node knows the address of every OST `layout` names: an
  // OST that registered since the last map refresh (every 10 s) makes it
  // ask the MDS for the map, waiting for the answer. Blocks; for the FUSE
  // threads (OpenFile::UsableLayout calls it once per layout).
  bool KnowsOstsOf(const Layout& layout);
  void set_session(fuse_session* se) { session_ = se; }

  // The kernel asks for "security.capability" before every write(2) (to
  // drop file capabilities): answers are cached for the attribute timeout.
  // nullopt: not cached; a value, or kNoData.
  std::optional<Result<std::string>> CachedCapability(uint64_t ino);
  void CacheCapability(uint64_t ino, const Result<std::string>& r);
  // The MDS said whether `ino` has stored extended attributes. Without any,
  // getxattr of a security.* or system.* name (ls asks for
  // "security.selinux" on every entry, cp -a for the ACLs) is answered
  // here, with ENODATA, for the attribute timeout.
  void NoteXattrs(uint64_t ino, bool none);
  bool KnownWithoutXattrs(uint64_t ino);
  // This node changes `ino`'s extended attributes: forgets what it cached.
  void ForgetXattrs(uint64_t ino);

 private:
  MountOptions options_;
  JobIds jobs_;
  std::mutex osts_mu_;
  std::vector<OstInfo> osts_;
  std::chrono::steady_clock::time_point osts_at_{};
  std::unique_ptr<Cluster> cluster_;  // the MDS and the OSTs
  std::unique_ptr<WriteBehind> wb_;
  InodeTable inodes_;
  struct CapEntry {
    std::chrono::steady_clock::time_point expires;
    Result<std::string> value = std::string();
  };
  std::mutex cap_mu_;
  std::unordered_map<uint64_t, CapEntry> caps_;
  std::unordered_map<uint64_t, std::chrono::steady_clock::time_point> bare_;  // no xattrs until
  std::mutex open_mu_;
  std::multimap<uint64_t, OpenFile*> open_files_;
  std::unordered_map<uint64_t, std::weak_ptr<WriteBehind::File>> buffers_;
  std::unordered_set<uint64_t> locked_;  // inodes this node has locked (open_mu_)
  std::atomic<bool> took_locks_{false};
  std::atomic<int64_t> heads_{0};  // handles that hold a head
  fuse_session* session_ = nullptr;
  std::thread refresher_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

// The session's userdata is a std::unique_ptr<Mount>*, filled in after the
// mount (and the fork into the background).
Mount& MountOf(fuse_req_t req);
Creds CredsOf(fuse_req_t req);

// Sends `r` to the MDS and returns at once, so that this FUSE thread can take
// the next request; `reply(Result<Req::Response>)` answers `req` on a network
// thread when the MDS does (one thread wake-up fewer per request than a
// blocking call). `reply` must not block; an exception in it is an EIO reply.
template <typename Req, typename Fn>
void MdsAsync(fuse_req_t req, const char* op, Req r, Fn reply,
              std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
  MountOf(req).mds().CallAsync(
      std::move(r), CredsOf(req),
      [req, op, reply = std::move(reply)](Result<typename Req::Response> rsp) mutable {
        Guard(req, op, [&] { reply(std::move(rsp)); });
      },
      timeout);
}

// The op tables, split by family.
void FillDirOps(fuse_lowlevel_ops& ops);
void FillAttrOps(fuse_lowlevel_ops& ops);
void FillFileOps(fuse_lowlevel_ops& ops);

}  // namespace amlfs::fuse
