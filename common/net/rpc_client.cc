#include "common/net/rpc_client.h"

#include <sys/socket.h>
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

#include <cerrno>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>

#include "common/config.h"
#include "common/frame.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/net/as_tuple.h"
#include "common/net/client_handshake.h"
#include "common/net/net_context.h"

namespace amlfs {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {
// What this process's RPC clients do (docs/OBSERVABILITY.md), shared by all.
struct CallMetrics {
  metrics::Registry& r = metrics::Default();
  metrics::OpMetrics calls{r, "amlfs_rpc_calls_total", "", "amlfs_rpc_call_seconds"};
  metrics::Counter& retries = r.GetCounter(
      "amlfs_rpc_retries_total", "RPCs resent on a new connection after the old one failed.");
  metrics::Counter& timeouts =
      r.GetCounter("amlfs_rpc_timeouts_total", "RPCs that reached their deadline unanswered.");
  metrics::Counter& connect_failures =
      r.GetCounter("amlfs_rpc_connect_failures_total", "Failed attempts to connect to a server.");
};
CallMetrics& Metrics() {
  static CallMetrics* m = new CallMetrics;
  return *m;
}
}  // namespace

struct RpcClient::Impl : std::enable_shared_from_this<Impl> {
  struct Pending {
    std::shared_ptr<const std::string> frame;  // shared: a reconnect may resend it
    Callback done;
    std::chrono::steady_clock::time_point deadline;
    std::chrono::steady_clock::time_point sent;  // when it was submitted
    bool raw = false;                            // `done` gets the whole response payload
    uint16_t op = 0;
    bool tried = false;  // sent (or being sent) on some connection
  };

  // Frames up to this size are written by the calling thread itself when the
  // connection is idle, saving a wake-up of a network thread per request.
  static constexpr size_t kDirectSendMax = 256 << 10;

  Impl(NetContext& net, std::string addr, Options opts)
      : strand(asio::make_strand(net.io())),
        address(std::move(addr)),
        options(std::move(opts)),
        wake(strand),
        sweeper(strand) {
    wake.expires_at(asio::steady_timer::time_point::max());
    if (options.tls && options.key) tls = MakeTlsContext(*options.key, /*server=*/false);
  }

  asio::strand<asio::io_context::executor_type> strand;
  std::string address;
  Options options;
  std::shared_ptr<TlsContext> tls;  // with options.tls

  // Guarded by `mu`; `socket` is opened and closed only on `strand`, under
  // `mu`. Only one writer owns the socket's send side at a time: a calling
  // thread sending directly (holding `mu`, while `writer_active` is false and
  // nothing is queued) or the Writer coroutine (while `writer_active`).
  std::mutex mu;
  std::map<uint64_t, Pending> pending;
  std::deque<uint64_t> write_queue;
  // A frame a calling thread sent only in part: its rest goes first, even
  // if its call has ended meanwhile, or the stream would be cut mid-frame.
  std::shared_ptr<const std::string> partial;
  size_t partial_sent = 0;
  bool writer_active = false;  // the Writer coroutine owns the send side
  std::shared_ptr<Stream> socket;
  bool connecting = false;
  bool is_connected = false;
  bool stopped = false;
  uint64_t generation = 0;
  uint64_t next_id = 1;
  std::string last_error = "not connected yet";
  std::atomic<bool> connected_flag{false};
  // When the last response arrived (steady_clock ticks): a connection that
  // let a call time out without answering anything since it was sent is
  // presumed dead (a peer cut off by the network: TCP would keep
  // retransmitting into it for minutes) and is replaced.
  std::atomic<int64_t> last_heard{0};
  // Call deadlines, earliest first, and one timer for the earliest: arming
  // a timer per call cost two timerfd syscalls per request.
  std::multimap<std::chrono::steady_clock::time_point, uint64_t> deadlines;
  std::chrono::steady_clock::time_point armed = std::chrono::steady_clock::time_point::max();

  // Touched only on `strand`.
  asio::steady_timer wake;
  asio::steady_timer sweeper;

  // On strand.
  void Arm(std::chrono::steady_clock::time_point t) {
    sweeper.expires_at(t);
    sweeper.async_wait([self = shared_from_this(), t](boost::system::error_code ec) {
      if (ec) return;
      {
        std::lock_guard lk(self->mu);
        if (self->armed != t) return;
        self->armed = std::chrono::steady_clock::time_point::max();
      }
      self->Sweep();
    });
  }

  // On strand: fails every call whose deadline has passed, then re-arms.
  void Sweep() {
    auto now = std::chrono::steady_clock::now();
    std::vector<std::pair<Callback, Result<std::string>>> failed;
    std::optional<std::chrono::steady_clock::time_point> rearm;
    std::optional<uint64_t> silent;  // the generation of a connection presumed dead
    {
      std::lock_guard lk(mu);
      while (!deadlines.empty() && deadlines.begin()->first <= now) {
        uint64_t id = deadlines.begin()->second;
        std::string what = is_connected ? "no answer from " + address + " in time"
                                        : "cannot reach " + address + ": " + last_error;
        auto p = pending.find(id);
        if (is_connected && p != pending.end() &&
            last_heard.load(std::memory_order_relaxed) < p->second.sent.time_since_epoch().count())
          silent = generation;
        Metrics().timeouts.Add();
        if (auto done = TakeLocked(id))
          failed.emplace_back(std::move(*done),
                              Error(is_connected ? Code::kTimeout : Code::kUnavailable, what));
        else
          deadlines.erase(deadlines.begin());
      }
      if (!deadlines.empty() && deadlines.begin()->first < armed) {
        armed = deadlines.begin()->first;
        rearm = armed;
      }
    }
    if (rearm) Arm(*rearm);
    if (silent) Disconnect(*silent, "no answer from " + address + " since a call timed out");
    for (auto& [done, r] : failed) done(std::move(r));
  }

  // Under `mu`: removes call `id` and returns its callback, which the caller
  // runs after releasing `mu` (with the body decoded unless `raw`).
  std::optional<Callback> TakeLocked(uint64_t id, bool* raw = nullptr) {
    auto it = pending.find(id);
    if (it == pending.end()) return std::nullopt;
    Callback done = std::move(it->second.done);
    if (raw) *raw = it->second.raw;
    const auto& m =
        Metrics().calls.For(it->second.op, OpcodeName(static_cast<Opcode>(it->second.op)));
    m.count->Add();
    m.seconds->ObserveSince(it->second.sent);
    auto [b, e] = deadlines.equal_range(it->second.deadline);
    for (auto d = b; d != e; ++d)
      if (d->second == id) {
        deadlines.erase(d);
        break;
      }
    pending.erase(it);
    return done;
  }

  void Finish(uint64_t id, Result<std::string> r) {
    bool raw = false;
    std::optional<Callback> done;
    {
      std::lock_guard lk(mu);
      done = TakeLocked(id, &raw);
    }
    if (!done) return;
    if (r.ok() && !raw) r = DecodeResponse(r.value());
    (*done)(std::move(r));
  }

  // Under `mu`, connected, nothing queued and no Writer active: writes
  // `frame` with non-blocking sends. Returns the bytes sent, or nullopt
  // when the connection failed (`*error` says why).
  std::optional<size_t> SendNowLocked(const std::string& frame, std::string* error) {
    int fd = socket->socket().native_handle();
    size_t sent = 0;
    while (sent < frame.size()) {
      ssize_t n = ::send(fd, frame.data() + sent, frame.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      *error = n < 0 ? std::strerror(errno) : "connection closed";
      return std::nullopt;
    }
    return sent;
  }

  // On any thread. `frame` starts with kFrameHeaderSize bytes for the
  // header, filled here.
  void Submit(Opcode op, std::string frame, std::chrono::milliseconds timeout, Callback done,
              bool raw) {
    bool need_arm = false, need_wake = false, need_connect = false;
    std::optional<std::string> send_error;
    uint64_t gen = 0;
    std::chrono::steady_clock::time_point deadline;
    {
      std::lock_guard lk(mu);
      if (stopped) {
        asio::post(strand, [done = std::move(done)] {
          done(Error(Code::kUnavailable, "client shut down"));
        });
        return;
      }
      uint64_t id = next_id++;
      FrameHeader h;
      h.opcode = static_cast<uint16_t>(op);
      h.request_id = id;
      h.payload_len = static_cast<uint32_t>(frame.size() - kFrameHeaderSize);
      EncodeFrameHeader(h, frame.data());
      Pending p;
      p.frame = std::make_shared<const std::string>(std::move(frame));
      p.raw = raw;
      p.op = h.opcode;
      p.tried = is_connected;
      p.done = std::move(done);
      p.sent = std::chrono::steady_clock::now();
      p.deadline = deadline = p.sent + timeout;
      deadlines.emplace(p.deadline, id);
      if (p.deadline < armed) {
        armed = p.deadline;
        need_arm = true;
      }
      auto& ref = pending.emplace(id, std::move(p)).first->second;
      if (is_connected) {
        gen = generation;
        // TLS records are written by the Writer only (a TLS stream is not
        // thread-safe).
        if (!tls && !writer_active && write_queue.empty() && ref.frame->size() <= kDirectSendMax) {
          std::string error;
          auto sent = SendNowLocked(*ref.frame, &error);
          if (!sent) {
            send_error = std::move(error);  // the Reader or Disconnect resends it
          } else if (*sent < ref.frame->size()) {
            partial = ref.frame;
            partial_sent = *sent;
            writer_active = need_wake = true;
          }
        } else {
          write_queue.push_back(id);
          if (!writer_active) writer_active = need_wake = true;
        }
      } else if (!connecting) {
        connecting = need_connect = true;
      }
    }
    if (!(need_arm || need_wake || need_connect || send_error)) return;
    asio::post(strand, [self = shared_from_this(), need_arm, need_wake, need_connect, deadline, gen,
                        send_error = std::move(send_error)] {
      if (need_arm) self->Arm(deadline);
      if (need_wake) self->wake.cancel();
      if (need_connect) self->StartConnect();
      if (send_error) self->Disconnect(gen, *send_error);
    });
  }

  // On strand.
  void StartConnect() {
    auto self = shared_from_this();
    asio::co_spawn(strand, Connect(self), [](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          AMLFS_LOG(kError) << "rpc client connect: " << ex.what();
        }
      }
    });
  }

  // On strand.
  void Disconnect(uint64_t gen, const std::string& why) {
    bool reconnect = false;
    {
      std::lock_guard lk(mu);
      if (gen != generation || !is_connected) return;
      AMLFS_LOG(kDebug) << "connection to " << address << " lost: " << why;
      last_error = why;
      is_connected = false;
      connected_flag = false;
      ++generation;
      boost::system::error_code ignored;
      if (socket) socket->socket().close(ignored);
      socket.reset();
      write_queue.clear();
      partial.reset();
      writer_active = false;
      if (!pending.empty() && !stopped && !connecting) connecting = reconnect = true;
    }
    wake.cancel();
    if (reconnect) StartConnect();
  }

  static awaitable<void> Connect(std::shared_ptr<Impl> self) {
    auto ex = self->strand;
    std::chrono::milliseconds backoff{50};
    // Stops (under the same lock Submit checks `connecting` with) only when
    // no call is left waiting for a connection.
    auto keep_trying = [&] {
      std::lock_guard lk(self->mu);
      if (!self->stopped && !self->pending.empty()) return true;
      self->connecting = false;
      return false;
    };
    while (keep_trying()) {
      auto hp = ParseHostPort(self->address);
      if (!hp.ok()) {
        // Fail everything now: the address will not get better.
        std::vector<uint64_t> ids;
        {
          std::lock_guard lk(self->mu);
          self->last_error = hp.status().message();
          for (auto& [id, p] : self->pending) ids.push_back(id);
        }
        for (auto id : ids) self->Finish(id, Error(Code::kInvalid, hp.status().message()));
        continue;
      }
      if (self->options.tls && !self->tls) {
        // Fail everything now: without a key there is no TLS.
        std::vector<uint64_t> ids;
        {
          std::lock_guard lk(self->mu);
          for (auto& [id, p] : self->pending) ids.push_back(id);
        }
        for (auto id : ids)
          self->Finish(id, Error(Code::kNotPermitted, "tls needs the cluster key"));
        continue;
      }
      auto sock = self->tls ? std::make_shared<Stream>(tcp::socket(ex), *self->tls)
                            : std::make_shared<Stream>(tcp::socket(ex));
      tcp::resolver resolver(ex);
      auto [rec, results] =
          co_await resolver.async_resolve(hp->host, std::to_string(hp->port), kTuple);
      boost::system::error_code cec = rec;
      if (!rec) {
        asio::steady_timer t(ex, self->options.connect_timeout);
        auto r =
            co_await (asio::async_connect(sock->socket(), results, kTuple) || t.async_wait(kTuple));
        if (r.index() == 1)
          cec = asio::error::timed_out;
        else
          cec = std::get<0>(std::get<0>(r));
      }
      std::string error;
      bool refused = false;  // authentication failed: retrying will not help the calls waiting
      if (!cec) {
        Status hs = co_await ClientHandshake(*sock, self->address, self->options);
        if (hs.ok()) {
          sock->socket().set_option(tcp::no_delay(true));
          uint64_t gen;
          {
            std::lock_guard lk(self->mu);
            self->socket = sock;
            self->connecting = false;
            self->is_connected = true;
            self->connected_flag = true;
            gen = ++self->generation;
            self->write_queue.clear();
            self->partial.reset();
            for (auto& [id, p] : self->pending) {
              self->write_queue.push_back(id);
              if (p.tried) Metrics().retries.Add();
              p.tried = true;
            }
            self->writer_active = !self->write_queue.empty();
          }
          asio::co_spawn(ex, Reader(self, sock, gen), asio::detached);
          asio::co_spawn(ex, Writer(self, sock, gen), asio::detached);
          co_return;
        }
        error = hs.message();
        refused = hs.code() == Code::kNotPermitted;
      } else {
        error = cec.message();
      }
      Metrics().connect_failures.Add();
      std::vector<uint64_t> failed_ids;
      {
        std::lock_guard lk(self->mu);
        self->last_error = error;
        if (self->options.fail_fast || refused)
          for (auto& [id, p] : self->pending) failed_ids.push_back(id);
      }
      if (!failed_ids.empty()) {
        // The caller has other servers to try, or no retry would succeed:
        // tell it now.
        for (auto id : failed_ids)
          self->Finish(id, refused ? Error(Code::kNotPermitted, error)
                                   : Error(Code::kUnavailable, self->address + ": " + error));
        continue;
      }
      asio::steady_timer t(ex, backoff);
      co_await t.async_wait(kTuple);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
  }

  static awaitable<void> Reader(std::shared_ptr<Impl> self, std::shared_ptr<Stream> sock,
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
      self->last_heard.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                             std::memory_order_relaxed);
      self->Finish(h.request_id, std::move(payload));
    }
  }

  // Writes what the calling threads could not send themselves, in batches.
  static awaitable<void> Writer(std::shared_ptr<Impl> self, std::shared_ptr<Stream> sock,
                                uint64_t gen) {
    std::vector<std::shared_ptr<const std::string>> batch;
    std::vector<asio::const_buffer> bufs;
    for (;;) {
      batch.clear();
      bufs.clear();
      {
        std::lock_guard lk(self->mu);
        if (gen != self->generation) co_return;
        size_t bytes = 0;
        if (self->partial) {
          batch.push_back(std::move(self->partial));
          bufs.push_back(asio::buffer(*batch.back()) + self->partial_sent);
          bytes += batch.back()->size();
          self->partial.reset();
        }
        while (!self->write_queue.empty() && batch.size() < 64 && bytes < (8u << 20)) {
          uint64_t id = self->write_queue.front();
          self->write_queue.pop_front();
          auto it = self->pending.find(id);
          if (it == self->pending.end()) continue;  // answered or failed meanwhile
          batch.push_back(it->second.frame);
          bufs.push_back(asio::buffer(*batch.back()));
          bytes += batch.back()->size();
        }
        if (batch.empty()) self->writer_active = false;
      }
      if (batch.empty()) {
        self->wake.expires_at(asio::steady_timer::time_point::max());
        co_await self->wake.async_wait(kTuple);
        continue;
      }
      auto [ec, n] =
          co_await OnStream(*sock, [&](auto& s) { return asio::async_write(s, bufs, kTuple); });
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
  auto shut = [impl, &done] {
    std::vector<uint64_t> ids;
    {
      std::lock_guard lk(impl->mu);
      impl->stopped = true;
      for (auto& [id, p] : impl->pending) ids.push_back(id);
    }
    for (auto id : ids) impl->Finish(id, Error(Code::kUnavailable, "client shut down"));
    {
      std::lock_guard lk(impl->mu);
      ++impl->generation;
      boost::system::error_code ignored;
      if (impl->socket) impl->socket->socket().close(ignored);
      impl->armed = std::chrono::steady_clock::time_point::min();
    }
    impl->wake.cancel();
    impl->sweeper.cancel();
    done.set_value();
  };
  // On the client's own network thread (a client dropped by a handler of
  // another connection), waiting for that thread would never end; its
  // io_context runs one thread, so nothing of the strand runs meanwhile.
  if (impl->strand.get_inner_executor().running_in_this_thread())
    shut();
  else
    asio::post(impl->strand, shut);
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
  impl_->Submit(op, std::move(frame), timeout, std::move(done), raw_response);
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
