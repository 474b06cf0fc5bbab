#include "common/net/rpc_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <future>
#include <map>

#include "common/config.h"
#include "common/frame.h"
#include "common/log.h"
#include "common/net/net_context.h"

namespace amlfs {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct RpcClient::Impl : std::enable_shared_from_this<Impl> {
  struct Pending {
    std::shared_ptr<const std::string> frame;  // shared: a reconnect may resend it
    Callback done;
    std::chrono::steady_clock::time_point deadline;
    bool queued = false;  // in write_queue for the current connection
    bool raw = false;     // `done` gets the whole response payload
  };

  Impl(NetContext& net, std::string addr, Options opts)
      : strand(asio::make_strand(net.io())), address(std::move(addr)), options(std::move(opts)),
        wake(strand), sweeper(strand) {
    wake.expires_at(asio::steady_timer::time_point::max());
  }

  asio::strand<asio::io_context::executor_type> strand;
  std::string address;
  Options options;

  // Everything below is touched only on `strand`.
  std::map<uint64_t, Pending> pending;
  std::deque<uint64_t> write_queue;
  std::shared_ptr<tcp::socket> socket;
  bool connecting = false;
  bool is_connected = false;
  bool stopped = false;
  uint64_t generation = 0;
  uint64_t next_id = 1;
  std::string last_error = "not connected yet";
  asio::steady_timer wake;
  std::atomic<bool> connected_flag{false};
  // Call deadlines, earliest first, and one timer for the earliest: arming
  // a timer per call cost two timerfd syscalls per request.
  std::multimap<std::chrono::steady_clock::time_point, uint64_t> deadlines;
  asio::steady_timer sweeper;
  std::chrono::steady_clock::time_point armed = std::chrono::steady_clock::time_point::max();

  void Arm(std::chrono::steady_clock::time_point t) {
    armed = t;
    sweeper.expires_at(t);
    sweeper.async_wait([self = shared_from_this(), t](boost::system::error_code ec) {
      if (ec || self->armed != t) return;
      self->armed = std::chrono::steady_clock::time_point::max();
      self->Sweep();
    });
  }

  // Fails every call whose deadline has passed, then re-arms.
  void Sweep() {
    auto now = std::chrono::steady_clock::now();
    while (!deadlines.empty() && deadlines.begin()->first <= now) {
      uint64_t id = deadlines.begin()->second;
      deadlines.erase(deadlines.begin());
      std::string what = is_connected ? "no answer from " + address + " in time"
                                      : "cannot reach " + address + ": " + last_error;
      Finish(id, Error(is_connected ? Code::kTimeout : Code::kUnavailable, what));
    }
    if (!deadlines.empty() && deadlines.begin()->first < armed) Arm(deadlines.begin()->first);
  }

  void Finish(uint64_t id, Result<std::string> r) {
    auto it = pending.find(id);
    if (it == pending.end()) return;
    Callback done = std::move(it->second.done);
    const bool raw = it->second.raw;
    auto [b, e] = deadlines.equal_range(it->second.deadline);
    for (auto d = b; d != e; ++d)
      if (d->second == id) {
        deadlines.erase(d);
        break;
      }
    pending.erase(it);
    if (r.ok() && !raw) r = DecodeResponse(r.value());
    done(std::move(r));
  }

  // `frame` starts with kFrameHeaderSize bytes for the header, filled here.
  void Submit(Opcode op, std::string frame, std::chrono::milliseconds timeout, Callback done,
              bool raw) {
    uint64_t id = next_id++;
    Pending p;
    FrameHeader h;
    h.opcode = static_cast<uint16_t>(op);
    h.request_id = id;
    h.payload_len = static_cast<uint32_t>(frame.size() - kFrameHeaderSize);
    EncodeFrameHeader(h, frame.data());
    p.frame = std::make_shared<const std::string>(std::move(frame));
    p.raw = raw;
    p.done = std::move(done);
    p.deadline = std::chrono::steady_clock::now() + timeout;
    deadlines.emplace(p.deadline, id);
    if (p.deadline < armed) Arm(p.deadline);
    auto& ref = pending.emplace(id, std::move(p)).first->second;
    if (is_connected) {
      ref.queued = true;
      write_queue.push_back(id);
      wake.cancel();
    } else if (!connecting && !stopped) {
      StartConnect();
    }
  }

  void StartConnect() {
    connecting = true;
    auto self = shared_from_this();
    asio::co_spawn(strand, Connect(self), [](std::exception_ptr e) {
      if (e) {
        try { std::rethrow_exception(e); } catch (const std::exception& ex) {
          AMLFS_LOG(kError) << "rpc client connect: " << ex.what();
        }
      }
    });
  }

  void Disconnect(uint64_t gen, const std::string& why) {
    if (gen != generation || !is_connected) return;
    AMLFS_LOG(kDebug) << "connection to " << address << " lost: " << why;
    last_error = why;
    is_connected = false;
    connected_flag = false;
    ++generation;
    boost::system::error_code ignored;
    if (socket) socket->close(ignored);
    socket.reset();
    write_queue.clear();
    for (auto& [id, p] : pending) p.queued = false;
    wake.cancel();
    if (!pending.empty() && !stopped) StartConnect();
  }

  static awaitable<void> Connect(std::shared_ptr<Impl> self) {
    auto ex = self->strand;
    std::chrono::milliseconds backoff{50};
    while (!self->stopped && !self->pending.empty()) {
      auto hp = ParseHostPort(self->address);
      if (!hp.ok()) {
        self->last_error = hp.status().message();
        // Fail everything now: the address will not get better.
        std::vector<uint64_t> ids;
        for (auto& [id, p] : self->pending) ids.push_back(id);
        for (auto id : ids) self->Finish(id, Error(Code::kInvalid, self->last_error));
        break;
      }
      auto sock = std::make_shared<tcp::socket>(ex);
      tcp::resolver resolver(ex);
      auto [rec, results] = co_await resolver.async_resolve(hp->host, std::to_string(hp->port), kTuple);
      boost::system::error_code cec = rec;
      if (!rec) {
        asio::steady_timer t(ex, self->options.connect_timeout);
        auto r = co_await (asio::async_connect(*sock, results, kTuple) || t.async_wait(kTuple));
        if (r.index() == 1) cec = asio::error::timed_out;
        else cec = std::get<0>(std::get<0>(r));
      }
      if (!cec) {
        Status hs = co_await Handshake(self, *sock);
        if (hs.ok()) {
          sock->set_option(tcp::no_delay(true));
          self->socket = sock;
          self->connecting = false;
          self->is_connected = true;
          self->connected_flag = true;
          uint64_t gen = ++self->generation;
          for (auto& [id, p] : self->pending) {
            p.queued = true;
            self->write_queue.push_back(id);
          }
          asio::co_spawn(ex, Reader(self, sock, gen), asio::detached);
          asio::co_spawn(ex, Writer(self, sock, gen), asio::detached);
          co_return;
        }
        self->last_error = hs.message();
      } else {
        self->last_error = cec.message();
      }
      asio::steady_timer t(ex, backoff);
      co_await t.async_wait(kTuple);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
    self->connecting = false;
  }

  static awaitable<Status> ReadFrame(tcp::socket& sock, FrameHeader* h, std::string* payload) {
    char hdr[kFrameHeaderSize];
    auto [ec, n] = co_await asio::async_read(sock, asio::buffer(hdr), kTuple);
    if (ec) co_return Error(Code::kUnavailable, ec.message());
    Status hs = DecodeFrameHeader(std::string_view(hdr, sizeof(hdr)), h);
    if (!hs.ok()) co_return hs;
    payload->resize(h->payload_len);
    auto [ec2, n2] = co_await asio::async_read(sock, asio::buffer(*payload), kTuple);
    if (ec2) co_return Error(Code::kUnavailable, ec2.message());
    co_return Status::Ok();
  }

  static awaitable<Status> Handshake(std::shared_ptr<Impl> self, tcp::socket& sock) {
    HelloReq hello;
    hello.version = kProtocolVersion;
    hello.role = self->options.role;
    hello.name = self->options.name;
    std::string frame = MakeFrame(static_cast<uint16_t>(Opcode::kHello), 0, 0, Encode(hello));
    asio::steady_timer t(sock.get_executor(), self->options.connect_timeout);
    t.async_wait([&sock](boost::system::error_code ec) {
      if (!ec) {
        boost::system::error_code ignored;
        sock.cancel(ignored);
      }
    });
    auto [ec, n] = co_await asio::async_write(sock, asio::buffer(frame), kTuple);
    if (ec) co_return Error(Code::kUnavailable, "handshake: " + ec.message());
    FrameHeader h;
    std::string payload;
    Status st = co_await ReadFrame(sock, &h, &payload);
    t.cancel();
    if (!st.ok()) co_return Error(st.code(), "handshake: " + st.message());
    auto rsp = DecodeResponseAs<HelloReq>(payload);
    if (!rsp.ok()) co_return Error(rsp.status().code(), "handshake refused: " + rsp.status().message());
    co_return Status::Ok();
  }

  static awaitable<void> Reader(std::shared_ptr<Impl> self, std::shared_ptr<tcp::socket> sock,
                                uint64_t gen) {
    for (;;) {
      FrameHeader h;
      std::string payload;
      Status st = co_await ReadFrame(*sock, &h, &payload);
      if (!st.ok()) {
        self->Disconnect(gen, st.message());
        co_return;
      }
      if (!(h.flags & kFlagResponse)) {
        self->Disconnect(gen, "unexpected request from server");
        co_return;
      }
      self->Finish(h.request_id, std::move(payload));
    }
  }

  static awaitable<void> Writer(std::shared_ptr<Impl> self, std::shared_ptr<tcp::socket> sock,
                                uint64_t gen) {
    std::vector<std::shared_ptr<const std::string>> batch;
    std::vector<asio::const_buffer> bufs;
    while (gen == self->generation) {
      if (self->write_queue.empty()) {
        self->wake.expires_at(asio::steady_timer::time_point::max());
        co_await self->wake.async_wait(kTuple);
        continue;
      }
      batch.clear();
      bufs.clear();
      size_t bytes = 0;
      while (!self->write_queue.empty() && batch.size() < 64 && bytes < (8u << 20)) {
        uint64_t id = self->write_queue.front();
        self->write_queue.pop_front();
        auto it = self->pending.find(id);
        if (it == self->pending.end()) continue;
        batch.push_back(it->second.frame);
        bytes += batch.back()->size();
      }
      for (auto& b : batch) bufs.push_back(asio::buffer(*b));
      auto [ec, n] = co_await asio::async_write(*sock, bufs, kTuple);
      if (ec) {
        self->Disconnect(gen, ec.message());
        co_return;
      }
    }
  }
};

RpcClient::RpcClient(NetContext& net, std::string address, Options options)
    : impl_(std::make_shared<Impl>(net, std::move(address), std::move(options))) {}

RpcClient::~RpcClient() {
  auto impl = impl_;
  std::promise<void> done;
  asio::post(impl->strand, [impl, &done] {
    impl->stopped = true;
    std::vector<uint64_t> ids;
    for (auto& [id, p] : impl->pending) ids.push_back(id);
    for (auto id : ids) impl->Finish(id, Error(Code::kUnavailable, "client shut down"));
    ++impl->generation;
    boost::system::error_code ignored;
    if (impl->socket) impl->socket->close(ignored);
    impl->wake.cancel();
    impl->armed = std::chrono::steady_clock::time_point::min();
    impl->sweeper.cancel();
    done.set_value();
  });
  done.get_future().wait();
}

const std::string& RpcClient::address() const { return impl_->address; }

bool RpcClient::connected() const { return impl_->connected_flag.load(); }

void RpcClient::CallAsync(Opcode op, std::string payload, std::chrono::milliseconds timeout,
                          Callback done) {
  std::string frame;
  frame.reserve(kFrameHeaderSize + payload.size());
  frame.resize(kFrameHeaderSize);
  frame.append(payload);
  CallAsyncFrame(op, std::move(frame), timeout, std::move(done), false);
}

void RpcClient::CallAsyncFrame(Opcode op, std::string frame, std::chrono::milliseconds timeout,
                               Callback done, bool raw_response) {
  auto impl = impl_;
  asio::post(impl->strand, [impl, op, frame = std::move(frame), timeout, done = std::move(done),
                            raw_response]() mutable {
    if (impl->stopped) {
      done(Error(Code::kUnavailable, "client shut down"));
      return;
    }
    impl->Submit(op, std::move(frame), timeout, std::move(done), raw_response);
  });
}

Result<std::string> RpcClient::Call(Opcode op, std::string payload,
                                    std::chrono::milliseconds timeout) {
  auto prom = std::make_shared<std::promise<Result<std::string>>>();
  auto fut = prom->get_future();
  CallAsync(op, std::move(payload), timeout,
            [prom](Result<std::string> r) { prom->set_value(std::move(r)); });
  return fut.get();
}

}  // namespace amlfs
