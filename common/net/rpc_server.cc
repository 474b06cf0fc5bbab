#include "common/net/rpc_server.h"

#include <sys/socket.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <cerrno>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/frame.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/net/as_tuple.h"
#include "common/net/server_metrics.h"
#include "common/net/server_session.h"

namespace amlfs {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;

struct RpcServer::Impl : std::enable_shared_from_this<Impl> {
  Options options;
  Handler handler;
  ServerMetrics* metrics = nullptr;
  std::shared_ptr<TlsContext> tls;  // with options.tls
  // One io_context per network thread (each connection stays on one
  // thread); the first also runs the acceptor.
  std::vector<std::unique_ptr<asio::io_context>> ios;
  asio::io_context& io = *ios.emplace_back(std::make_unique<asio::io_context>(1));
  size_t next_io = 0;
  std::unique_ptr<asio::thread_pool> pool;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::vector<std::shared_ptr<asio::executor_work_guard<asio::io_context::executor_type>>> guards;
  std::mutex mu;
  std::vector<std::weak_ptr<ServerSession>> sessions;
  bool stopped = false;

  void Dropped(const std::string& from) {
    LogRefusal("dropped a connection from " + from + ": not in the allow list (" +
               options.allow.ToString() + ")");
  }

  std::chrono::steady_clock::time_point last_accept_log{};
  void AcceptFailed(const boost::system::error_code& ec) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_accept_log < std::chrono::seconds(10)) return;
    AMLFS_LOG(kWarn) << "cannot accept connections: " << ec.message()
                     << (ec == asio::error::no_descriptors
                             ? " (raise the open-file limit, ulimit -n)"
                             : std::string());
    last_accept_log = now;
  }

  // Takes a raw pointer: the coroutine frame lives in `io`, which Impl owns.
  static awaitable<void> Accept(Impl* self) {
    for (;;) {
      auto& io = *self->ios[self->next_io++ % self->ios.size()];
      auto [ec, sock] = co_await self->acceptor.async_accept(asio::make_strand(io), kTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) co_return;
        // Out of descriptors (or memory): the pending connection stays in
        // the backlog. Pause instead of spinning on it, and log rarely.
        self->AcceptFailed(ec);
        asio::steady_timer pause(self->io, std::chrono::milliseconds(100));
        co_await pause.async_wait(kTuple);
        continue;
      }
      boost::system::error_code rec;
      const auto remote = sock.remote_endpoint(rec);
      if (rec || !self->options.allow.Allows(remote.address())) {
        self->Dropped(rec ? std::string("an unknown address") : remote.address().to_string());
        boost::system::error_code ignored;
        sock.close(ignored);
        continue;
      }
      sock.set_option(tcp::no_delay(true));
      auto s = std::make_shared<ServerSession>(
          self->tls ? Stream(std::move(sock), *self->tls) : Stream(std::move(sock)), &self->handler,
          self->pool.get(), &self->options, self->metrics);
      {
        std::lock_guard lk(self->mu);
        std::erase_if(self->sessions, [](auto& w) { return w.expired(); });
        self->sessions.push_back(s);
      }
      s->Start();
    }
  }
};

RpcServer::RpcServer(Options options, Handler handler) : impl_(std::make_shared<Impl>()) {
  impl_->options = std::move(options);
  impl_->metrics = &ServerMetricsFor(impl_->options.role);
  // Every server answers Stats itself.
  impl_->handler = [h = std::move(handler)](std::shared_ptr<RpcCall> call) {
    if (call->op() != Opcode::kStats) return h(std::move(call));
    StatsReq req;
    if (Status st = call->DecodeRequest(&req); !st.ok()) return call->Reply(st, {});
    call->ReplyWith(Result<StatsRsp>(StatsRsp{metrics::Default().Render()}));
  };
  if (impl_->options.tls && impl_->options.key)
    impl_->tls = MakeTlsContext(*impl_->options.key, /*server=*/true);
  impl_->pool = std::make_unique<asio::thread_pool>(impl_->options.worker_threads);
}

RpcServer::~RpcServer() { Stop(); }

Status RpcServer::Listen(const HostPort& where) {
  if (impl_->options.tls && !impl_->options.key)
    return Error(Code::kInvalid, "tls needs the cluster key (key_file, amlfs keygen)");
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(where.host, ec);
  if (ec) {
    tcp::resolver r(impl_->io);
    auto res = r.resolve(where.host, std::to_string(where.port), ec);
    if (ec || res.empty()) return Error(Code::kInvalid, "cannot resolve '" + where.host + "'");
    addr = res.begin()->endpoint().address();
  }
  tcp::endpoint ep(addr, where.port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Error(Code::kUnavailable, "cannot listen on " + where.ToString() + ": " + ec.message());
  return Status::Ok();
}

uint16_t RpcServer::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void RpcServer::Start() {
  asio::co_spawn(impl_->io, Impl::Accept(impl_.get()), asio::detached);
  for (int i = 1; i < impl_->options.io_threads; ++i)
    impl_->ios.push_back(std::make_unique<asio::io_context>(1));
  for (auto& io : impl_->ios) {
    // Keeps a thread whose io_context has no connection yet from returning.
    auto guard = std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(
        io->get_executor());
    impl_->guards.push_back(guard);
    impl_->threads.emplace_back([impl = impl_, io = io.get()] { io->run(); });
  }
}

void RpcServer::Stop() {
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  if (impl_->threads.empty()) return;  // never started
  std::promise<void> acceptor_closed;
  asio::post(impl_->io, [impl = impl_.get(), &acceptor_closed] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    acceptor_closed.set_value();
  });
  acceptor_closed.get_future().wait();
  std::vector<std::shared_ptr<ServerSession>> live;
  {
    std::lock_guard lk(impl_->mu);
    for (auto& w : impl_->sessions)
      if (auto s = w.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) s->CloseAndWait();
  live.clear();
  impl_->pool->join();
  for (auto& g : impl_->guards) g->reset();
  for (auto& io : impl_->ios) io->stop();
  for (auto& t : impl_->threads) t.join();
}

}  // namespace amlfs
