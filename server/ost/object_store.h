// ObjectStore: the objects of one OST, as files in its data directory.
//
// On-disk format (never renumbered):
//   DIR/ost.id                      "index=<N>\nuuid=<hex>\n"
//   DIR/objects/<hh>/<ino>.<comp>.<stripe>      object data (sparse file)
//   DIR/objects/<hh>/<ino>.<comp>.<stripe>.sum  checksums: u64 little-endian
//       per 64 KiB block of the object; entry k covers object bytes
//       [k*64Ki, min((k+1)*64Ki, object size)). Entry 0 means "never
//       written": the block must read as zeros. (A block whose Checksum64 is
//       0 would be misread as unwritten; the odds are 2^-64.)
//   <hh> = two hex digits of a hash of the inode number.
//
// Thread-safe: requests on the same object are serialised by a lock striped
// by object; different objects proceed in parallel. Every call blocks on
// disk I/O: run it on a worker pool.
#pragma once

#include <array>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/protocol.h"
#include "common/status.h"
#include "common/types.h"

namespace amlfs {

class ObjectStore {
 public:
  // `dir` must exist; `ost_index` is used in log lines.
  ObjectStore(std::string dir, uint32_t ost_index);

  // Writes after verifying `checksum` == Checksum64(data) (kCorrupt if not,
  // and nothing is written). Creates the object if needed.
  Status Write(const ObjectId& obj, uint64_t offset, std::string_view data, uint64_t checksum,
               bool sync);
  // Reads up to `length` bytes; short at the object's end; a missing object
  // reads as empty. kCorrupt (and an error log line) when a block on disk
  // does not match its checksum.
  Result<std::string> Read(const ObjectId& obj, uint64_t offset, uint64_t length);
  // Read() into the end of `out` (which it grows by the bytes read).
  Status ReadAppend(const ObjectId& obj, uint64_t offset, uint64_t length, std::string* out);
  Status Truncate(const ObjectId& obj, uint64_t size);
  Status Sync(const ObjectId& obj);
  Status Destroy(const ObjectId& obj);
  Result<ObjExtentsRsp> Extents(const ObjectId& obj);
  Status Fallocate(const ObjectId& obj, uint64_t offset, uint64_t length);
  Result<OstStatFsRsp> StatFs();
  // The objects after `after` (all when null) in ObjectId order, at most
  // `max`. Each call reads every directory: for a scrub, not for I/O.
  Result<ObjListRsp> List(const ObjectId* after, uint32_t max);
  // Verifies the checksums of [offset, offset + length) of `obj`.
  Result<ObjVerifyRsp> Verify(const ObjectId& obj, uint64_t offset, uint64_t length);

  std::string DataPath(const ObjectId& obj) const;

 private:
  std::shared_mutex& LockFor(const ObjectId& obj);
  // Recomputes the checksum entries of blocks [first, last] from disk.
  Status RehashBlocks(int fd, int sum_fd, uint64_t size, uint64_t first, uint64_t last);

  std::string dir_;
  uint32_t index_;
  std::array<std::shared_mutex, 256> locks_;
};

}  // namespace amlfs
