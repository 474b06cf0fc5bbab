// StripedIo: file data I/O over a layout's objects, each request split by
// the stripe math (common/layout.h) and the per-object RPCs run in parallel.
// Shared by the FUSE client (reads, writes, fsync, SEEK_DATA) and the MDS
// (truncate, destroy). Thread-safe; holds no per-file state.
//
// Every data block carries Checksum64 computed by the writer; reads verify
// the checksum of what the OST sent and fail with kCorrupt naming the OST,
// object and offset on a mismatch. Errors from any stripe fail the whole
// call (the first error is returned).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/layout.h"
#include "common/protocol.h"
#include "common/status.h"

namespace amlfs {

class OstPool;

class StripedIo {
 public:
  StripedIo(OstPool& pool, std::chrono::milliseconds timeout);

  // Writes `len` bytes at file `offset`. With `sync`, each OST fsyncs the
  // object before answering. `job` tags the requests for the OSTs' job
  // statistics.
  Status Write(InodeId ino, const Layout& layout, uint64_t offset, const char* data, uint64_t len,
               bool sync = false, std::string_view job = {});

  // Reads [offset, offset+len) clipped to `file_size`; missing objects and
  // holes read as zeros. Returns the bytes (shorter than len only at EOF).
  Result<std::string> Read(InodeId ino, const Layout& layout, uint64_t offset, uint64_t len,
                           uint64_t file_size, std::string_view job = {});

  // Makes every object of the file durable on its OST's disk.
  Status Sync(InodeId ino, const Layout& layout);

  // Cuts or extends every object so the file is `new_size` bytes long.
  Status Truncate(InodeId ino, const Layout& layout, uint64_t new_size);

  // Reserves space for file bytes [offset, offset+len) (fallocate mode 0).
  Status Fallocate(InodeId ino, const Layout& layout, uint64_t offset, uint64_t len);

  // Removes the file's objects on every OST of the layout. Missing objects
  // are not an error; an unreachable OST is.
  Status Destroy(InodeId ino, const Layout& layout);
  // Removes the given objects on one OST.
  Status DestroyOn(OstIndex ost, const std::vector<ObjectId>& objects);

  // lseek(SEEK_DATA / SEEK_HOLE) over the file's objects. `whence` is
  // SEEK_DATA (3) or SEEK_HOLE (4). kNoDevice when offset >= file_size or
  // there is no data after it.
  Result<uint64_t> Seek(InodeId ino, const Layout& layout, uint64_t file_size, uint64_t offset,
                        int whence);

 private:
  OstPool& pool_;
  std::chrono::milliseconds timeout_;
};

}  // namespace amlfs
