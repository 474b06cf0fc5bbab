#include "fuse/write_behind.h"

#include <algorithm>
#include <optional>

namespace amlfs::fuse {

struct WriteBehind::Run {
  std::shared_ptr<const Layout> layout;
  uint64_t start = 0;
  std::string data;
  std::string job;
  uint64_t end() const { return start + data.size(); }
};

class WriteBehind::File {
 public:
  // With mu held: whether the run being filled overlaps a run in flight.
  bool OpenOverlapsInflight() const {
    if (open.data.empty()) return false;
    for (auto [s, e] : inflight)
      if (s < open.end() && open.start < e) return true;
    return false;
  }

  explicit File(InodeId i) : ino(i) {}
  const InodeId ino;
  std::mutex mu;
  std::condition_variable cv;
  Run open;                                             // the run being filled
  std::vector<std::pair<uint64_t, uint64_t>> inflight;  // [start, end) being sent
  Status error = Status::Ok();
};

WriteBehind::WriteBehind(StripedIo& io, uint64_t budget_bytes, uint64_t run_bytes,
                         size_t max_in_flight)
    : io_(io),
      budget_(budget_bytes),
      run_bytes_(run_bytes),
      max_in_flight_(std::max<size_t>(max_in_flight, 1)) {}

WriteBehind::~WriteBehind() {
  // Every completion still to run points at this object.
  std::unique_lock lk(send_mu_);
  idle_cv_.wait(lk, [&] { return sending_ == 0; });
}

std::shared_ptr<WriteBehind::File> WriteBehind::NewFile(InodeId ino) {
  return std::make_shared<File>(ino);
}

void WriteBehind::Reserve(uint64_t n) {
  std::unique_lock lk(budget_mu_);
  // Wait for room while runs in flight drain; runs still being filled (at
  // most run_bytes per open file) may hold the rest, so the wait is bounded
  // and the budget is a soft limit by that much.
  budget_cv_.wait_for(lk, std::chrono::milliseconds(50),
                      [&] { return used_ == 0 || used_ + n <= budget_; });
  used_ += n;
}

void WriteBehind::Release(uint64_t n) {
  {
    std::lock_guard lk(budget_mu_);
    used_ -= n;
  }
  budget_cv_.notify_all();
}

// Sends f->open once no run in flight overlaps it (those go first). Called
// with f->mu held (as `lk`); releases it while it waits and while it starts
// the run, so when it returns other writers may have filled f->open again:
// a caller that decided something from f->open decides again.
void WriteBehind::SendOpen(const std::shared_ptr<File>& f, std::unique_lock<std::mutex>& lk) {
  f->cv.wait(lk, [&] { return !f->OpenOverlapsInflight(); });
  if (f->open.data.empty()) return;
  Send send{f, std::make_shared<Run>(std::move(f->open))};
  f->open = Run{};
  f->inflight.emplace_back(send.run->start, send.run->end());
  {
    std::lock_guard g(send_mu_);
    if (sending_ >= max_in_flight_) {  // started by the completion of a run before it
      queued_.push_back(std::move(send));
      return;
    }
    ++sending_;
  }
  lk.unlock();
  Start(std::move(send));
  lk.lock();
}

// Sends a run that holds one of the max_in_flight_ places.
void WriteBehind::Start(Send s) {
  const Run& r = *s.run;
  const InodeId ino = s.file->ino;
  const uint64_t start = r.start, end = r.end();
  // WriteAsync copies the data into its requests: the run's buffer is freed
  // when this returns.
  const std::string data = std::move(s.run->data);
  io_.WriteAsync(ino, *r.layout, start, data.data(), data.size(), false, r.job,
                 [this, f = std::move(s.file), start, end](Status st) { Sent(f, start, end, st); });
}

// On a network thread: the OSTs answered the run [start, end) of `f`.
void WriteBehind::Sent(const std::shared_ptr<File>& f, uint64_t start, uint64_t end,
                       const Status& st) {
  {
    std::lock_guard g(f->mu);
    for (auto it = f->inflight.begin(); it != f->inflight.end(); ++it)
      if (it->first == start && it->second == end) {
        f->inflight.erase(it);
        break;
      }
    if (!st.ok() && f->error.ok()) f->error = st;
  }
  f->cv.notify_all();
  Release(end - start);
  std::optional<Send> next;
  {
    std::lock_guard g(send_mu_);
    if (!queued_.empty()) {  // its place goes to the oldest run waiting
      next = std::move(queued_.front());
      queued_.pop_front();
    } else if (--sending_ == 0) {
      idle_cv_.notify_all();
    }
  }
  if (next) Start(std::move(*next));
}

Status WriteBehind::Write(const std::shared_ptr<File>& f, std::shared_ptr<const Layout> layout,
                          uint64_t off, const char* data, size_t n, std::string_view job) {
  Reserve(n);
  std::unique_lock lk(f->mu);
  for (;;) {
    if (!f->error.ok()) {
      Status st = f->error;
      f->error = Status::Ok();
      lk.unlock();
      Release(n);
      return st;
    }
    const Run& r = f->open;
    if (r.data.empty() || (off == r.end() && r.layout == layout)) break;  // starts or extends it
    // Overwriting bytes of the open run in place keeps one run.
    if (r.layout == layout && off >= r.start && off + n <= r.end()) {
      std::copy(data, data + n, f->open.data.begin() + static_cast<std::ptrdiff_t>(off - r.start));
      lk.unlock();
      Release(n);
      return Status::Ok();
    }
    // Anything else: the open run goes first, then this write is looked at
    // again against whatever is open by then.
    SendOpen(f, lk);
  }
  if (f->open.data.empty()) {
    f->open.layout = std::move(layout);
    f->open.start = off;
    f->open.job = job;
    f->open.data.reserve(std::min<uint64_t>(run_bytes_, std::max<uint64_t>(n, 1u << 16)));
  }
  f->open.data.append(data, n);
  if (f->open.data.size() >= run_bytes_) SendOpen(f, lk);
  return Status::Ok();
}

uint64_t WriteBehind::buffered() {
  std::lock_guard lk(budget_mu_);
  return used_;
}

Status WriteBehind::Flush(const std::shared_ptr<File>& f) {
  std::unique_lock lk(f->mu);
  SendOpen(f, lk);
  f->cv.wait(lk, [&] { return f->inflight.empty(); });
  Status st = f->error;
  f->error = Status::Ok();
  return st;
}

}  // namespace amlfs::fuse
