// InodeTable: what this client node knows about inodes the kernel holds.
//
// Tracks the kernel's lookup counts (forget drops entries), the size this
// node's writers reached but have not reported to the MDS yet, and the
// (mtime, size) this node last cached pages for, which decides keep_cache
// on open, and the (mtime, size) last shown to the kernel, which an open
// that learns newer ones from the MDS makes the kernel forget (close-to-open
// coherence). Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "common/protocol.h"

namespace amlfs::fuse {

class InodeTable {
 public:
  void Lookup(uint64_t ino, uint64_t n = 1);
  void Forget(uint64_t ino, uint64_t n);

  // A write reached `end`: remembered until reported.
  void Wrote(uint64_t ino, uint64_t end);
  // Unreported write state: (size, time of the last write), if any.
  struct Pending {
    uint64_t size = 0;
    Timespec mtime;
  };
  std::optional<Pending> TakePending(uint64_t ino);
  // Puts back a report that could not be sent.
  void RestorePending(uint64_t ino, const Pending& p);
  // Truncate: the size is now exactly `size`.
  void Truncated(uint64_t ino, uint64_t size);

  // The attributes to show the kernel: the MDS's, with a larger local size.
  Attr Merge(const Attr& from_mds);
  // The kernel was given this size and mtime of `ino` (an inode it holds).
  void Shown(uint64_t ino, uint64_t size, Timespec mtime);
  // Whether the kernel may hold a size or mtime other than those of `a`,
  // the MDS's attributes at an open: then its cached attributes must go,
  // or it would read the file to a stale end.
  bool KernelAttrsStale(const Attr& a);
  // The size this node believes the file has (MDS size merged with writes).
  uint64_t KnownSize(uint64_t ino, uint64_t mds_size);

  // Decides keep_cache for an open of a file whose MDS attributes are `a`.
  bool KeepCache(const Attr& a);

 private:
  Attr MergedLocked(const Attr& a) const;  // REQUIRES: mu_ held

  struct Entry {
    uint64_t nlookup = 0;
    uint64_t local_size = 0;  // max end written by this node
    bool dirty = false;       // written since the last size report
    Timespec last_write;
    bool cached = false;  // pages cached for (cached_mtime, cached_size)
    Timespec cached_mtime;
    uint64_t cached_size = 0;
    bool shown = false;  // the kernel was given (shown_mtime, shown_size)
    Timespec shown_mtime;
    uint64_t shown_size = 0;
  };
  std::mutex mu_;
  std::unordered_map<uint64_t, Entry> map_;
};

}  // namespace amlfs::fuse
