#include "common/net/net_context.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>
#include <vector>

namespace amlfs {

namespace asio = boost::asio;

// One io_context per thread: a connection's handlers then always run on the
// thread that owns it, with no hand-offs (and wake-ups) between threads of a
// shared io_context.
struct NetContext::Impl {
  struct Loop {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    std::thread thread;
  };
  std::vector<std::unique_ptr<Loop>> loops;
  std::atomic<size_t> next{0};
};

NetContext::NetContext(int threads) : impl_(std::make_unique<Impl>()) {
  for (int i = 0; i < std::max(threads, 1); ++i)
    impl_->loops.push_back(std::make_unique<Impl::Loop>());
  for (auto& l : impl_->loops) l->thread = std::thread([io = &l->io] { io->run(); });
}

NetContext::~NetContext() {
  for (auto& l : impl_->loops) {
    l->guard.reset();
    l->io.stop();
  }
  for (auto& l : impl_->loops) l->thread.join();
}

boost::asio::io_context& NetContext::io() {
  return impl_->loops[impl_->next.fetch_add(1) % impl_->loops.size()]->io;
}

}  // namespace amlfs
