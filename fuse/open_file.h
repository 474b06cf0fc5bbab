// OpenFile: one open(2) of a regular file on this node, and the coherence
// rules of its data in one place.
//
// Each rule is a method a FUSE callback calls once:
//   - which data path a write takes (Write): the write-behind buffer the
//     file's handles share on this node, unless the opener asked for
//     synchronous or direct writes or appends;
//   - what a read must see first (ReadableSize): this node's buffered
//     writes reach the OSTs, then the read is clipped to the file's size,
//     which is trusted for the attribute timeout, or asked of the MDS again
//     when the read goes past it (another node may have grown the file);
//   - what a lock grant drops (LockGranted): the trusted size, so that
//     another node's writes before the lock show at once (the Mount drops
//     the kernel's pages);
//   - which layout the data path uses (UsableLayout): the one the MDS gave,
//     or the new one when this node restripes the file, once every OST it
//     names is known to this node.
//
// Made by the open/create reply and freed by release (the kernel keeps
// the pointer in fuse_file_info::fh). Thread-safe: the kernel may send
// reads and writes of one handle at once. Errors are Status codes the
// reply helpers turn into errno.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/client/mds_client.h"
#include "common/layout.h"
#include "common/protocol.h"
#include "common/status.h"
#include "fuse/write_behind.h"

namespace amlfs::fuse {

class Mount;

class OpenFile {
 public:
  // From the MDS's answer to an open or create with open(2) `flags`.
  OpenFile(Mount& mount, const OpenRsp& rsp, uint32_t flags);
  ~OpenFile();
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;

  const InodeId ino;
  const uint64_t mds_handle;
  const uint32_t flags;

  // Writes `size` bytes at `offset` (O_APPEND: where the MDS placed them)
  // through the buffer or straight to the OSTs, and records the size this
  // node reached. `job` tags the requests.
  Status Write(std::shared_ptr<const Layout> layout, uint64_t offset, const char* data,
               uint64_t size, const std::string& job);
  // The size to clip a read of [offset, offset+len) to, after this node's
  // buffered writes of the file are on the OSTs (the first write error if
  // they cannot be). Asks the MDS (blocking) only when the read goes past
  // the size it trusts.
  Result<uint64_t> ReadableSize(uint64_t offset, uint64_t len, const Creds& creds);
  // This node was granted a lock on the file: the size is asked again, and
  // the head from the open is not used.
  void LockGranted() {
    size_trusted_until_ = 0;
    DropHead();
  }
  // Data-on-MDT: the first bytes of the file as the open gave them
  // (OpenRsp::head). Read returns [offset, offset+len) clipped to
  // `file_size` from them when they cover it all, else nullopt (ask the
  // MDT). Any change to the file through this node drops them on every
  // handle (Mount::DropHeads): they then only hold what this handle could
  // also have read into the page cache at open.
  std::optional<std::string> ReadHead(uint64_t offset, uint64_t len, uint64_t file_size) const;
  void DropHead();

  // The file's layout for the data path (see above). Blocks when it must
  // ask the MDS for the OST map; for the FUSE threads.
  std::shared_ptr<const Layout> UsableLayout();
  std::shared_ptr<const Layout> layout() const {
    std::lock_guard lk(mu_);
    return layout_;
  }
  // This node restriped the file: later I/O uses `l`.
  void set_layout(Layout l) {
    auto p = std::make_shared<const Layout>(std::move(l));
    DropHead();
    std::lock_guard lk(mu_);
    layout_ = std::move(p);
    osts_known_ = false;
  }
  bool buffered() const { return buffered_ != nullptr; }

 private:
  void LearnedSize(uint64_t size);
  bool SizeTrusted() const { return SteadyNs() < size_trusted_until_.load(); }
  static int64_t SteadyNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  Mount& mount_;
  // Shared by the file's handles on this node; null: write-through.
  const std::shared_ptr<WriteBehind::File> buffered_;
  // The size the MDS last told this handle (at open, or when a read past
  // it asked again), and until when (steady clock, ns) reads trust it.
  std::atomic<uint64_t> mds_size_{0};
  std::atomic<int64_t> size_trusted_until_{0};

  mutable std::mutex mu_;
  std::shared_ptr<const Layout> layout_;
  std::shared_ptr<const std::string> head_;  // null: none, or dropped
  // Set once this node knows the address of every OST layout_ names, so
  // the data path checks that once per layout.
  std::atomic<bool> osts_known_{false};
};

}  // namespace amlfs::fuse
