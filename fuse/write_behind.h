// Write-behind: a write() is copied into memory and answered at once; the
// data goes to the OSTs in the background, contiguous writes merged into
// runs of up to `run_bytes`. Memory is bounded by `budget_bytes` over the
// whole mount (a writer waits for room).
//
// Sending: each run is sent with StripedIo::WriteAsync, which copies it into
// its requests, so a run's buffer is freed as soon as it is sent; its budget
// is given back when the OSTs have answered. At most `max_in_flight` runs of
// the mount are sent at a time, so that requests do not queue at the OSTs
// toward their deadlines; a run past that waits in a queue, oldest first,
// and is sent by the completion of a run before it (on a network thread;
// WriteAsync does not block there). No thread of its own.
//
// Durability and coherence points wait for the data: Flush() (close, fsync,
// truncate, reads and size reports of the file through this node). An error
// from a background write is returned by the next Write() or Flush() of
// that file, as close(2) and fsync(2) report it.
//
// Runs that overlap a run still in flight (sent or queued) wait for it, so
// the OSTs see overlapping writes in the order they were made. A writer
// waits with the file's lock released, then looks at its write again
// against the run open by then (other writers may have started one).
//
// Ownership: borrows the StripedIo, which must outlive it; the destructor
// waits until every run has been answered. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
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

  WriteBehind(StripedIo& io, uint64_t budget_bytes, uint64_t run_bytes, size_t max_in_flight);
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
  struct Send {  // a run dispatched, and the file it belongs to
    std::shared_ptr<File> file;
    std::shared_ptr<Run> run;
  };
  void SendOpen(const std::shared_ptr<File>& f, std::unique_lock<std::mutex>& lk);
  void Start(Send s);
  void Sent(const std::shared_ptr<File>& f, uint64_t start, uint64_t end, const Status& st);
  void Reserve(uint64_t n);
  void Release(uint64_t n);

  StripedIo& io_;
  const uint64_t budget_;
  const uint64_t run_bytes_;
  const size_t max_in_flight_;
  std::mutex budget_mu_;
  std::condition_variable budget_cv_;
  uint64_t used_ = 0;
  std::mutex send_mu_;  // guards sending_ and queued_
  std::condition_variable idle_cv_;
  size_t sending_ = 0;       // runs given to WriteAsync and not yet answered
  std::deque<Send> queued_;  // dispatched runs waiting for one of those to end
};

}  // namespace amlfs::fuse
