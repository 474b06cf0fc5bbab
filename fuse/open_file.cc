#include "fuse/open_file.h"

#include <fcntl.h>

#include <algorithm>

#include "fuse/mount.h"

namespace amlfs::fuse {
namespace {

// Writes are buffered unless the opener asked for them to be synchronous,
// direct, or appends (which land where the MDS puts them).
bool Buffers(uint32_t flags) {
  return (flags & O_ACCMODE) != O_RDONLY && !(flags & (O_DIRECT | O_SYNC | O_DSYNC | O_APPEND));
}

}  // namespace

OpenFile::OpenFile(Mount& mount, const OpenRsp& rsp, uint32_t open_flags)
    : ino(rsp.attr.ino),
      mds_handle(rsp.handle),
      flags(open_flags),
      mount_(mount),
      buffered_(Buffers(open_flags) ? mount.BufferFor(rsp.attr.ino) : nullptr),
      layout_(std::make_shared<const Layout>(rsp.layout)) {
  LearnedSize(rsp.attr.size);
  if (!rsp.head.empty()) {
    head_ = std::make_shared<const std::string>(rsp.head);
    mount.HeadsGiven(1);
  }
}

OpenFile::~OpenFile() { DropHead(); }

void OpenFile::DropHead() {
  std::lock_guard lk(mu_);
  if (!head_) return;
  head_.reset();
  mount_.HeadsGiven(-1);
}

std::optional<std::string> OpenFile::ReadHead(uint64_t offset, uint64_t len,
                                              uint64_t file_size) const {
  std::shared_ptr<const std::string> h;
  {
    std::lock_guard lk(mu_);
    h = head_;
  }
  if (!h) return std::nullopt;
  const uint64_t end = std::min(offset + len, file_size);
  if (offset >= end || end > h->size()) return std::nullopt;
  return h->substr(offset, end - offset);
}

void OpenFile::LearnedSize(uint64_t size) {
  mds_size_ = size;
  size_trusted_until_ = SteadyNs() + static_cast<int64_t>(mount_.options().attr_timeout * 1e9);
}

Status OpenFile::Write(std::shared_ptr<const Layout> layout, uint64_t offset, const char* data,
                       uint64_t size, const std::string& job) {
  mount_.DropHeads(ino.value());
  Status st = buffered_ ? mount_.write_behind()->Write(buffered_, layout, offset, data, size, job)
                        : mount_.io().Write(ino, *layout, offset, data, size, false, job);
  if (st.ok()) mount_.inodes().Wrote(ino.value(), offset + size);
  return st;
}

Result<uint64_t> OpenFile::ReadableSize(uint64_t offset, uint64_t len, const Creds& creds) {
  // Data this node still buffers for the file must be on the OSTs first.
  AMLFS_RETURN_IF_ERROR(mount_.FlushInode(ino));
  uint64_t size = mount_.inodes().KnownSize(ino.value(), mds_size_);
  // Another node may have grown the file since the MDS last said its size.
  if (offset + len > size && !SizeTrusted()) {
    GetAttrReq g;
    g.ino = ino;
    auto a = mount_.mds().Call(g, creds);
    if (a.ok()) {
      LearnedSize(a->attr.size);
      size = mount_.inodes().KnownSize(ino.value(), a->attr.size);
    }
  }
  return size;
}

std::shared_ptr<const Layout> OpenFile::UsableLayout() {
  std::shared_ptr<const Layout> l = layout();
  if (osts_known_) return l;
  if (mount_.KnowsOstsOf(*l)) {
    std::lock_guard lk(mu_);
    if (layout_ == l) osts_known_ = true;
  }
  return l;
}

}  // namespace amlfs::fuse
