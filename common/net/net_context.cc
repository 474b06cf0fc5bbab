#include "common/net/net_context.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>
#include <vector>

namespace amlfs {

struct NetContext::Impl {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
  std::vector<std::thread> threads;
};

NetContext::NetContext(int threads) : impl_(std::make_unique<Impl>()) {
  for (int i = 0; i < threads; ++i) impl_->threads.emplace_back([this] { impl_->io.run(); });
}

NetContext::~NetContext() {
  impl_->guard.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
}

boost::asio::io_context& NetContext::io() { return impl_->io; }

}  // namespace amlfs
