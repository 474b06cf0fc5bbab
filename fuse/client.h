// The state of one amlfs mount, shared by every FUSE callback.
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

// An open file: its layout and the MDS's open handle. The layout changes
// when this node restripes the file (a layout xattr set through the mount).
struct FileHandle {
  InodeId ino;
  uint64_t mds_handle = 0;
  uint32_t flags = 0;
  // The file's size as the MDS last told this handle (at open, or when a
  // read past it asked again), and until when (steady clock, ns) reads trust
  // it without asking: the attribute timeout, or less if this node is
  // granted a lock on the file (DropCache), after which another node's
  // writes must show at once.
  std::atomic<uint64_t> mds_size{0};
  std::atomic<int64_t> size_trusted_until{0};
  void LearnedSize(uint64_t size, double trust_s) {
    mds_size = size;
    size_trusted_until = SteadyNs() + static_cast<int64_t>(trust_s * 1e9);
  }
  bool SizeTrusted() const { return SteadyNs() < size_trusted_until.load(); }
  static int64_t SteadyNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  std::shared_ptr<WriteBehind::File> buffered;  // shared by the file's handles; null: write-through

  std::shared_ptr<const Layout> layout() const {
    std::lock_guard lk(mu_);
    return layout_;
  }
  void set_layout(Layout l) {
    auto p = std::make_shared<const Layout>(std::move(l));
    std::lock_guard lk(mu_);
    layout_ = std::move(p);
    osts_known = false;
  }
  // Set once this node knows the address of every OST the layout names
  // (Client::LayoutToUse), so the data path checks it once per layout.
  std::atomic<bool> osts_known{false};
  void MarkOstsKnown(const std::shared_ptr<const Layout>& of) {
    std::lock_guard lk(mu_);
    if (layout_ == of) osts_known = true;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Layout> layout_ = std::make_shared<const Layout>();
};

// An open directory: a snapshot of its entries taken at opendir.
struct DirHandle {
  std::vector<DirEntry> entries;
};

class Client {
 public:
  explicit Client(const MountOptions& o);
  ~Client();

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
  // Sends this node's unreported size for `ino` to the MDS, if any.
  Status ReportSize(InodeId ino, const Creds& creds);

  // The open files of this node, so a layout change reaches their handles.
  void TrackOpen(FileHandle* fh);
  void UntrackOpen(FileHandle* fh);
  void SetLayoutOfOpenFiles(InodeId ino, const Layout& l);
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
  // The layout of `fh`, once this node knows the address of each OST it
  // names: an OST that registered since the last map refresh makes it ask
  // the MDS, waiting for the answer. Blocks; for the FUSE threads.
  std::shared_ptr<const Layout> LayoutToUse(FileHandle& fh);
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
  std::multimap<uint64_t, FileHandle*> open_files_;
  std::unordered_map<uint64_t, std::weak_ptr<WriteBehind::File>> buffers_;
  std::unordered_set<uint64_t> locked_;  // inodes this node has locked (open_mu_)
  std::atomic<bool> took_locks_{false};
  fuse_session* session_ = nullptr;
  std::thread refresher_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

// The session's userdata is a std::unique_ptr<Client>*, filled in after the
// mount (and the fork into the background).
Client& ClientOf(fuse_req_t req);
Creds CredsOf(fuse_req_t req);

// Sends `r` to the MDS and returns at once, so that this FUSE thread can take
// the next request; `reply(Result<Req::Response>)` answers `req` on a network
// thread when the MDS does (one thread wake-up fewer per request than a
// blocking call). `reply` must not block; an exception in it is an EIO reply.
template <typename Req, typename Fn>
void MdsAsync(fuse_req_t req, const char* op, Req r, Fn reply,
              std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
  ClientOf(req).mds().CallAsync(
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
