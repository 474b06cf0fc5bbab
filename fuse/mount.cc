#include "fuse/mount.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "common/log.h"

namespace amlfs::fuse {

using std::chrono::milliseconds;

namespace {
// Write-behind sends runs of up to 4 MiB, at most 8 of them at a time over
// the mount, so that a burst of small runs queues here rather than at the
// OSTs, where their requests' deadlines would be running.
constexpr uint64_t kWriteBehindRunBytes = 4u << 20;
constexpr size_t kWriteBehindRunsInFlight = 8;
}  // namespace

Mount::Mount(const MountOptions& o) : options_(o), jobs_(o.jobid_var) {
  char hostname[256] = "client";
  gethostname(hostname, sizeof(hostname) - 1);
  ClusterOptions co;
  co.mds = o.mds;
  co.name = o.client_name.empty() ? hostname : o.client_name;
  co.net_threads = 2;
  co.mds_timeout = milliseconds(static_cast<int64_t>(o.mds_timeout * 1000));
  co.io_timeout = milliseconds(static_cast<int64_t>(o.io_timeout * 1000));
  cluster_ = std::make_unique<Cluster>(co);
  if (o.write_behind_mb > 0)
    wb_ = std::make_unique<WriteBehind>(io(), o.write_behind_mb << 20, kWriteBehindRunBytes,
                                        kWriteBehindRunsInFlight);
  RefreshOsts();
  // Refreshes the OST map every 10 s and, once this node has taken a lock,
  // renews its lock lease three times per lease.
  refresher_ = std::thread([this] {
    auto next_osts = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    milliseconds renew_every{1000};
    std::unique_lock lk(mu_);
    while (!cv_.wait_for(lk, renew_every, [this] { return stopping_; })) {
      lk.unlock();
      if (took_locks_) {
        auto r = mds().Call(LockRenewReq{}, Creds{});
        if (r.ok() && r->lease_ms > 0)
          renew_every =
              std::clamp(milliseconds(r->lease_ms / 3), milliseconds(200), milliseconds(5000));
      }
      if (std::chrono::steady_clock::now() >= next_osts) {
        RefreshOsts();
        next_osts = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      }
      lk.lock();
    }
  });
}

void Mount::NoteLocked(uint64_t ino) {
  took_locks_ = true;
  std::lock_guard lk(open_mu_);
  locked_.insert(ino);
}

void Mount::DropCache(uint64_t ino) {
  if (session_) fuse_lowlevel_notify_inval_inode(session_, ino, 0, 0);
  std::lock_guard lk(open_mu_);
  auto [first, last] = open_files_.equal_range(ino);
  for (auto it = first; it != last; ++it) it->second->LockGranted();
}

void Mount::DropAttrs(uint64_t ino) {
  // A negative offset invalidates the attributes only; no page is touched,
  // so this is safe from inside a request on the same inode (an open).
  if (session_) fuse_lowlevel_notify_inval_inode(session_, ino, -1, 0);
}

bool Mount::MayHoldLocks(uint64_t ino) {
  std::lock_guard lk(open_mu_);
  return locked_.count(ino) != 0;
}

void Mount::TrackOpen(OpenFile* fh) {
  std::lock_guard lk(open_mu_);
  open_files_.emplace(fh->ino.value(), fh);
}

void Mount::UntrackOpen(OpenFile* fh) {
  std::lock_guard lk(open_mu_);
  auto [b, e] = open_files_.equal_range(fh->ino.value());
  for (auto it = b; it != e; ++it)
    if (it->second == fh) {
      open_files_.erase(it);
      return;
    }
}

std::optional<Result<std::string>> Mount::CachedCapability(uint64_t ino) {
  std::lock_guard lk(cap_mu_);
  auto it = caps_.find(ino);
  if (it == caps_.end()) return std::nullopt;
  if (std::chrono::steady_clock::now() >= it->second.expires) {
    caps_.erase(it);
    return std::nullopt;
  }
  return it->second.value;
}

void Mount::CacheCapability(uint64_t ino, const Result<std::string>& r) {
  if (options_.attr_timeout <= 0) return;
  if (!r.ok() && r.status().code() != Code::kNoData) return;
  std::lock_guard lk(cap_mu_);
  if (caps_.size() > 65536) caps_.clear();
  caps_[ino] =
      CapEntry{std::chrono::steady_clock::now() +
                   std::chrono::microseconds(static_cast<int64_t>(options_.attr_timeout * 1e6)),
               r};
}

void Mount::NoteXattrs(uint64_t ino, bool none) {
  if (options_.attr_timeout <= 0) return;
  std::lock_guard lk(cap_mu_);
  if (!none) {
    bare_.erase(ino);
    return;
  }
  if (bare_.size() > 262144) {
    auto now = std::chrono::steady_clock::now();
    std::erase_if(bare_, [now](const auto& kv) { return kv.second <= now; });
    if (bare_.size() > 262144) bare_.clear();
  }
  bare_[ino] = std::chrono::steady_clock::now() +
               std::chrono::microseconds(static_cast<int64_t>(options_.attr_timeout * 1e6));
}

bool Mount::KnownWithoutXattrs(uint64_t ino) {
  std::lock_guard lk(cap_mu_);
  auto it = bare_.find(ino);
  return it != bare_.end() && std::chrono::steady_clock::now() < it->second;
}

void Mount::ForgetXattrs(uint64_t ino) {
  std::lock_guard lk(cap_mu_);
  caps_.erase(ino);
  bare_.erase(ino);
}

std::shared_ptr<WriteBehind::File> Mount::BufferFor(InodeId ino) {
  if (!wb_) return nullptr;
  std::lock_guard lk(open_mu_);
  auto& slot = buffers_[ino.value()];
  auto f = slot.lock();
  if (!f) {
    f = wb_->NewFile(ino);
    slot = f;
  }
  if (buffers_.size() > 4096)  // drop entries of files no longer open
    std::erase_if(buffers_, [](const auto& kv) { return kv.second.expired(); });
  return f;
}

Status Mount::FlushInode(InodeId ino) {
  if (!wb_) return Status::Ok();
  std::shared_ptr<WriteBehind::File> f;
  {
    std::lock_guard lk(open_mu_);
    auto it = buffers_.find(ino.value());
    if (it != buffers_.end()) f = it->second.lock();
  }
  return f ? wb_->Flush(f) : Status::Ok();
}

bool Mount::SizeKeptByMdt(InodeId ino, uint64_t size) {
  std::lock_guard lk(open_mu_);
  auto [b, e] = open_files_.equal_range(ino.value());
  if (b == e) return false;
  for (auto it = b; it != e; ++it) {
    const std::shared_ptr<const Layout> l = it->second->layout();
    if (l->empty() || !l->comps[0].on_mdt() || size > l->comps[0].end) return false;
  }
  return true;
}

bool Mount::IsOpenHere(uint64_t ino) {
  std::lock_guard lk(open_mu_);
  return open_files_.count(ino) != 0;
}

void Mount::DropHeads(uint64_t ino) {
  if (heads_.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard lk(open_mu_);
  auto [b, e] = open_files_.equal_range(ino);
  for (auto it = b; it != e; ++it) it->second->DropHead();
}

void Mount::SetLayoutOfOpenFiles(InodeId ino, const Layout& l) {
  std::lock_guard lk(open_mu_);
  auto [b, e] = open_files_.equal_range(ino.value());
  for (auto it = b; it != e; ++it) it->second->set_layout(l);
}

Mount::~Mount() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  refresher_.join();
  // A clean unmount frees this node's locks at once, not after the lease.
  if (took_locks_) {
    LockRenewReq bye;
    bye.bye = true;
    (void)mds().Call(bye, Creds{});
  }
  cluster_.reset();
}

void Mount::RefreshOsts() {
  auto r = mds().Call(OstMapReq{}, Creds{});
  if (r.ok()) {
    pool().Update(r->osts);
    std::lock_guard lk(osts_mu_);
    osts_ = r->osts;
    osts_at_ = std::chrono::steady_clock::now();
  } else {
    AMLFS_LOG(kDebug) << "OST map refresh: " << r.status().ToString();
  }
}

std::vector<OstInfo> Mount::KnownOsts(std::chrono::steady_clock::time_point* when) {
  std::lock_guard lk(osts_mu_);
  *when = osts_at_;
  return osts_;
}

std::string Mount::JobOf(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  return jobs_.Of(ctx->pid, ctx->uid);
}

namespace {
bool KnowsAll(OstPool& pool, const Layout& layout) {
  for (const LayoutComponent& c : layout.comps)
    for (OstIndex o : c.osts)
      if (o != kMdtTarget && !pool.Get(o).ok()) return false;
  return true;
}
}  // namespace

bool Mount::KnowsOstsOf(const Layout& layout) {
  if (KnowsAll(pool(), layout)) return true;
  // An OST registered since the last map refresh: ask now, or the I/O
  // would fail. Still unknown: the I/O names the OST in its error.
  RefreshOsts();
  return KnowsAll(pool(), layout);
}

Status Mount::ReportSize(InodeId ino, const Creds& creds) {
  // The size is reported only once the data up to it is on the OSTs. If
  // buffered data could not be written, the size that covered it is dropped
  // with the error: reported later, it would show zeros.
  if (Status st = FlushInode(ino); !st.ok()) {
    inodes_.TakePending(ino.value());
    return st;
  }
  auto p = inodes_.TakePending(ino.value());
  if (!p) return Status::Ok();
  // Bytes that all went to the MDT (Data-on-MDT) moved the size and mtime
  // there with them: nothing is left to report.
  if (SizeKeptByMdt(ino, p->size)) return Status::Ok();
  UpdateSizeReq req;
  req.ino = ino;
  req.size = p->size;
  req.mtime = p->mtime;
  auto r = mds().Call(req, creds);
  if (!r.ok()) {
    if (r.status().code() == Code::kNotFound) return Status::Ok();  // removed meanwhile
    inodes_.RestorePending(ino.value(), *p);
    return r.status();
  }
  return Status::Ok();
}

Mount& MountOf(fuse_req_t req) {
  return **static_cast<std::unique_ptr<Mount>*>(fuse_req_userdata(req));
}

Creds CredsOf(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  Creds c;
  c.uid = ctx->uid;
  c.gid = ctx->gid;
  c.job = MountOf(req).JobOf(req);
  if (c.uid != 0) {
    gid_t groups[64];
    int n = fuse_req_getgroups(req, 64, groups);
    for (int i = 0; i < n && i < 64; ++i) c.groups.push_back(groups[i]);
  }
  return c;
}

}  // namespace amlfs::fuse
