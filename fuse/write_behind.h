// Write-behind: a write() is copied into memory and answered at once; the
// data goes to the OSTs in the background, contiguous writes merged into
// runs of up to `run_bytes`, several runs in flight at a time. Memory is
// bounded by `budget_bytes` over the whole mount (a writer waits for room).
//
// Durability and coherence points wait for the data: Flush() (close, fsync,
// truncate, reads and size reports of the file through this node). An error
// from a background write is returned by the next Write() or Flush() of
// that file, as close(2) and fsync(2) report it.
//
// Runs that overlap a run still in flight wait for it, so the OSTs see
// overlapping writes in the order they were made. Thread-safe.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/client/striped_io.h"

namespace amlfs::fuse {

class WriteBehind {
 public:
  // The buffered writes of one open file.
  class File;

  WriteBehind(StripedIo& io, uint64_t budget_bytes, uint64_t run_bytes, int threads);
  ~WriteBehind();

  std::shared_ptr<File> NewFile(InodeId ino);

  // Buffers `n` bytes at `off` for `f`, written with `layout`. `job` (the
  // writer's job id) goes with the data to the OSTs; a run merged from
  // several writers' bytes carries the first one's.
  Status Write(const std::shared_ptr<File>& f, std::shared_ptr<const Layout> layout, uint64_t off,
               const char* data, size_t n, std::string_view job = {});
  // Bytes written and not yet on the OSTs, over the whole mount.
  uint64_t buffered();
  // Sends what `f` has buffered, waits for all of it, and returns (and
  // clears) the first error since the last Flush().
  Status Flush(const std::shared_ptr<File>& f);

 private:
  struct Run;
  void Dispatch(const std::shared_ptr<File>& f, std::unique_lock<std::mutex>& lk);
  void Reserve(uint64_t n);
  void Release(uint64_t n);

  StripedIo& io_;
  const uint64_t budget_;
  const uint64_t run_bytes_;
  boost::asio::thread_pool pool_;
  std::mutex budget_mu_;
  std::condition_variable budget_cv_;
  uint64_t used_ = 0;
};

}  // namespace amlfs::fuse
