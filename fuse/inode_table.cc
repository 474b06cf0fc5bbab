#include "fuse/inode_table.h"

#include <algorithm>

namespace amlfs::fuse {

void InodeTable::Lookup(uint64_t ino, uint64_t n) {
  std::lock_guard lk(mu_);
  map_[ino].nlookup += n;
}

void InodeTable::Forget(uint64_t ino, uint64_t n) {
  std::lock_guard lk(mu_);
  auto it = map_.find(ino);
  if (it == map_.end()) return;
  it->second.nlookup = it->second.nlookup > n ? it->second.nlookup - n : 0;
  if (it->second.nlookup == 0 && !it->second.dirty) map_.erase(it);
}

void InodeTable::Wrote(uint64_t ino, uint64_t end) {
  std::lock_guard lk(mu_);
  Entry& e = map_[ino];
  e.local_size = std::max(e.local_size, end);
  e.dirty = true;
  e.last_write = Timespec::Now();
}

std::optional<InodeTable::Pending> InodeTable::TakePending(uint64_t ino) {
  std::lock_guard lk(mu_);
  auto it = map_.find(ino);
  if (it == map_.end() || !it->second.dirty) return std::nullopt;
  it->second.dirty = false;
  return Pending{it->second.local_size, it->second.last_write};
}

void InodeTable::RestorePending(uint64_t ino, const Pending& p) {
  std::lock_guard lk(mu_);
  Entry& e = map_[ino];
  e.dirty = true;
  e.local_size = std::max(e.local_size, p.size);
  if (e.last_write < p.mtime) e.last_write = p.mtime;
}

void InodeTable::Truncated(uint64_t ino, uint64_t size) {
  std::lock_guard lk(mu_);
  auto it = map_.find(ino);
  if (it == map_.end()) return;
  it->second.local_size = size;
  it->second.cached = false;
}

Attr InodeTable::Merge(const Attr& a) {
  std::lock_guard lk(mu_);
  return MergedLocked(a);
}

Attr InodeTable::MergedLocked(const Attr& a) const {
  Attr out = a;
  auto it = map_.find(a.ino.value());
  if (it != map_.end() && it->second.dirty) {
    out.size = std::max(out.size, it->second.local_size);
    if (out.mtime < it->second.last_write) out.mtime = it->second.last_write;
  }
  return out;
}

void InodeTable::Shown(uint64_t ino, uint64_t size, Timespec mtime) {
  std::lock_guard lk(mu_);
  auto it = map_.find(ino);
  if (it == map_.end()) return;
  it->second.shown = true;
  it->second.shown_size = size;
  it->second.shown_mtime = mtime;
}

bool InodeTable::KernelAttrsStale(const Attr& a) {
  std::lock_guard lk(mu_);
  auto it = map_.find(a.ino.value());
  if (it == map_.end() || !it->second.shown) return true;  // unknown: assume so
  const Attr now = MergedLocked(a);
  Entry& e = it->second;
  const bool stale = e.shown_mtime != now.mtime || e.shown_size != now.size;
  if (stale) e.shown = false;  // forgotten by the kernel until the next reply
  return stale;
}

uint64_t InodeTable::KnownSize(uint64_t ino, uint64_t mds_size) {
  std::lock_guard lk(mu_);
  auto it = map_.find(ino);
  if (it == map_.end()) return mds_size;
  return std::max(mds_size, it->second.local_size);
}

bool InodeTable::KeepCache(const Attr& a) {
  std::lock_guard lk(mu_);
  Entry& e = map_[a.ino.value()];
  bool keep = e.cached && e.cached_mtime == a.mtime && e.cached_size == a.size;
  e.cached = true;
  e.cached_mtime = a.mtime;
  e.cached_size = a.size;
  if (!e.dirty) e.local_size = a.size;
  return keep;
}

}  // namespace amlfs::fuse
