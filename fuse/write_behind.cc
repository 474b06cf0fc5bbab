#include "fuse/write_behind.h"

#include <boost/asio/post.hpp>

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
  explicit File(InodeId i) : ino(i) {}
  const InodeId ino;
  std::mutex mu;
  std::condition_variable cv;
  Run open;                                             // the run being filled
  std::vector<std::pair<uint64_t, uint64_t>> inflight;  // [start, end) being sent
  Status error = Status::Ok();
};

WriteBehind::WriteBehind(StripedIo& io, uint64_t budget_bytes, uint64_t run_bytes, int threads)
    : io_(io), budget_(budget_bytes), run_bytes_(run_bytes), pool_(static_cast<size_t>(threads)) {}

WriteBehind::~WriteBehind() { pool_.join(); }

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

// Sends f->open in the background. Called with f->mu held (as `lk`).
void WriteBehind::Dispatch(const std::shared_ptr<File>& f, std::unique_lock<std::mutex>& lk) {
  if (f->open.data.empty()) return;
  auto run = std::make_shared<Run>(std::move(f->open));
  f->open = Run{};
  // Overlapping data still in flight goes first.
  f->cv.wait(lk, [&] {
    for (auto [s, e] : f->inflight)
      if (s < run->end() && run->start < e) return false;
    return true;
  });
  f->inflight.emplace_back(run->start, run->end());
  boost::asio::post(pool_, [this, f, run] {
    Status st = io_.Write(f->ino, *run->layout, run->start, run->data.data(), run->data.size(),
                          false, run->job);
    {
      std::lock_guard g(f->mu);
      for (auto it = f->inflight.begin(); it != f->inflight.end(); ++it)
        if (it->first == run->start && it->second == run->end()) {
          f->inflight.erase(it);
          break;
        }
      if (!st.ok() && f->error.ok()) f->error = st;
    }
    f->cv.notify_all();
    Release(run->data.size());
  });
}

Status WriteBehind::Write(const std::shared_ptr<File>& f, std::shared_ptr<const Layout> layout,
                          uint64_t off, const char* data, size_t n, std::string_view job) {
  Reserve(n);
  std::unique_lock lk(f->mu);
  if (!f->error.ok()) {
    Status st = f->error;
    f->error = Status::Ok();
    lk.unlock();
    Release(n);
    return st;
  }
  Run& r = f->open;
  const bool extends = !r.data.empty() && off == r.end() && r.layout == layout;
  if (!r.data.empty() && !extends) {
    // Overwriting bytes of the open run in place keeps one run.
    if (r.layout == layout && off >= r.start && off + n <= r.end()) {
      std::copy(data, data + n, r.data.begin() + static_cast<std::ptrdiff_t>(off - r.start));
      lk.unlock();
      Release(n);
      return Status::Ok();
    }
    Dispatch(f, lk);
  }
  if (f->open.data.empty()) {
    f->open.layout = std::move(layout);
    f->open.start = off;
    f->open.job = job;
    f->open.data.reserve(std::min<uint64_t>(run_bytes_, std::max<uint64_t>(n, 1u << 16)));
  }
  f->open.data.append(data, n);
  if (f->open.data.size() >= run_bytes_) Dispatch(f, lk);
  return Status::Ok();
}

uint64_t WriteBehind::buffered() {
  std::lock_guard lk(budget_mu_);
  return used_;
}

Status WriteBehind::Flush(const std::shared_ptr<File>& f) {
  std::unique_lock lk(f->mu);
  Dispatch(f, lk);
  f->cv.wait(lk, [&] { return f->inflight.empty(); });
  Status st = f->error;
  f->error = Status::Ok();
  return st;
}

}  // namespace amlfs::fuse
