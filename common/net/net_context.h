// NetContext: the io_context and threads that run amlfs's network I/O.
// Owned by main() (or a test) and shared by every RpcClient of a process.
// Thread-safe. Keeps Asio out of this header.
#pragma once

#include <memory>

namespace boost {
namespace asio {
class io_context;
}
}  // namespace boost

namespace amlfs {

class NetContext {
 public:
  // Starts `threads` threads, each running its own io_context.
  explicit NetContext(int threads = 2);
  // Stops the io_context and joins its threads.
  ~NetContext();
  NetContext(const NetContext&) = delete;
  NetContext& operator=(const NetContext&) = delete;

  // An io_context for a new connection: the threads' in turn.
  boost::asio::io_context& io();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace amlfs
