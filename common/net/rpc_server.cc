#include "common/net/rpc_server.h"

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
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <map>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "common/frame.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/net/as_tuple.h"
#include "common/net/server_metrics.h"

namespace amlfs {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;

namespace {

constexpr auto kPayloadDeadline = std::chrono::seconds(30);
// A connection must finish its handshake within this, or it is closed: a
// peer that connects and says nothing, or trickles its Hello a byte at a
// time, holds a socket for no longer than this.
constexpr auto kHandshakeDeadline = std::chrono::seconds(10);
// Requests of one connection being handled at once; past it the reader
// stops reading, so one client cannot queue unbounded work and memory.
constexpr int kMaxInflight = 256;
// Before the handshake is done a peer may send no more than this.
constexpr uint32_t kMaxHandshakePayload = 4096;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Stream stream, RpcServer::Handler* handler, asio::thread_pool* pool,
          const RpcServer::Options* options, ServerMetrics* metrics)
      : metrics_(metrics), stream_(std::move(stream)), sock_(stream_.socket()), strand_(sock_.get_executor()),
        wake_(strand_),
        handshake_deadline_(strand_),
        handler_(handler), pool_(pool), role_(&options->role), run_inline_(&options->run_inline),
        key_(options->key.get()) {
    boost::system::error_code ec;
    auto ep = sock_.remote_endpoint(ec);
    peer_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
    wake_.expires_at(asio::steady_timer::time_point::max());
    metrics_->connections->Add(1);
  }
  ~Session() { metrics_->connections->Add(-1); }

  void Start() {
    auto self = shared_from_this();
    handshake_deadline_.expires_after(kHandshakeDeadline);
    handshake_deadline_.async_wait([self](boost::system::error_code ec) {
      if (ec || self->greeting_ == Greeting::kDone) return;
      LogRefusal("closing connection from " + self->peer_ + ": no handshake within " +
                 std::to_string(kHandshakeDeadline.count()) + " s");
      self->CloseNow();
    });
    asio::co_spawn(strand_, Reader(self), asio::detached);
    asio::co_spawn(strand_, Writer(self), asio::detached);
  }

  // Closes the socket on the session's strand and waits until it is done.
  // REQUIRES: the io_context is running.
  void CloseAndWait() {
    std::promise<void> closed;
    asio::post(strand_, [self = shared_from_this(), &closed] {
      self->CloseNow();
      closed.set_value();
    });
    closed.get_future().wait();
  }

  // Thread-safe: sends a response frame. The calling thread writes it
  // itself when nothing else is being written (a reply from a worker or
  // from the metadata log's thread then wakes no network thread); what
  // does not fit goes to the Writer.
  void Send(std::string frame) {
    std::unique_lock lk(out_mu_);
    if (closed_) return;
    // TLS records are written by the Writer only (a TLS stream is not
    // thread-safe).
    if (!stream_.tls() && !writing_ && out_.empty()) {
      size_t sent = 0;
      while (sent < frame.size()) {
        ssize_t n = ::send(sock_.native_handle(), frame.data() + sent, frame.size() - sent,
                           MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) sent += static_cast<size_t>(n);
        else if (n < 0 && errno == EINTR) continue;
        else break;  // full, or failed: the Writer finds out which
      }
      if (sent == frame.size()) return;
      head_sent_ = sent;
    }
    out_.push_back(std::move(frame));
    if (writing_) return;  // the Writer takes it after its current write
    lk.unlock();
    WakeWriter();
  }

  const std::string& peer() const { return peer_; }
  // The name the peer gave in its Hello, else its address.
  const std::string& client() const { return client_.empty() ? peer_ : client_; }
  ServerMetrics& metrics() { return *metrics_; }
  // A request of this session has been answered.
  void Answered() { inflight_.fetch_sub(1); }

 private:
  void WakeWriter() {
    if (strand_.running_in_this_thread()) {
      wake_.cancel();
      return;
    }
    asio::post(strand_, [self = shared_from_this()] { self->wake_.cancel(); });
  }

  // On strand.
  void CloseNow() {
    {
      std::lock_guard lk(out_mu_);
      if (closed_) return;
      closed_ = true;
      boost::system::error_code ignored;
      sock_.shutdown(tcp::socket::shutdown_both, ignored);
      sock_.close(ignored);
    }
    wake_.cancel();
    handshake_deadline_.cancel();
  }

  static awaitable<void> Reader(std::shared_ptr<Session> self);
  // With TLS: a peer that sends a frame in clear is told, in clear, that it
  // needs TLS, and is closed. Returns true when it did so.
  awaitable<bool> RefusePlainPeer();
  // The handshake's frames (kHello, then kAuth with a key). Returns false
  // when the connection must close (the refusal is queued first).
  bool Greet(const FrameHeader& h, const std::string& payload);

  enum class Greeting { kHello, kAuth, kDone };
  Greeting greeting_ = Greeting::kHello;
  std::string client_nonce_, server_nonce_;
  static awaitable<void> Writer(std::shared_ptr<Session> self);

  ServerMetrics* metrics_;
  std::string client_;
  Stream stream_;
  tcp::socket& sock_;  // stream_'s TCP socket
  asio::strand<asio::any_io_executor> strand_;
  asio::steady_timer wake_;
  asio::steady_timer handshake_deadline_;
  RpcServer::Handler* handler_;
  asio::thread_pool* pool_;
  const std::string* role_;
  const std::function<bool(Opcode)>* run_inline_;
  const ClusterKey* key_;  // null: no authentication
  std::string peer_;
  // The send side. Whoever holds out_mu_ with nothing queued and no write
  // in progress may write to the socket; the socket is closed under it too.
  std::mutex out_mu_;
  std::deque<std::string> out_;
  size_t head_sent_ = 0;  // bytes of out_.front() already sent
  bool writing_ = false;  // the Writer has a write in progress
  std::atomic<bool> closed_{false};
  bool closing_ = false;  // reader is done: close once `out_` drains
  std::atomic<int> inflight_{0};
};

class Call : public RpcCall {
 public:
  Call(std::shared_ptr<Session> s, uint16_t op, uint64_t id, std::string payload)
      : session_(std::move(s)), op_(op), id_(id), payload_(std::move(payload)),
        metrics_(session_->metrics().For(op)), start_(std::chrono::steady_clock::now()) {}
  ~Call() override {
    if (!replied_) Reply(Error(Code::kInternal, "request dropped without an answer"), {});
  }
  Opcode op() const override { return static_cast<Opcode>(op_); }
  std::string_view payload() const override { return payload_; }
  const std::string& peer() const override { return session_->peer(); }
  const std::string& client() const override { return session_->client(); }
  void Reply(const Status& status, const std::string& body) override {
    if (replied_) return;
    replied_ = true;
    Count(status.ok());
    session_->Send(MakeFrame(op_, id_, kFlagResponse, EncodeResponse(status, body)));
    session_->Answered();
  }
  void ReplyFrame(std::string frame) override {
    if (replied_) return;
    replied_ = true;
    Count(true);
    FrameHeader h;
    h.opcode = op_;
    h.request_id = id_;
    h.flags = kFlagResponse;
    h.payload_len = static_cast<uint32_t>(frame.size() - kFrameHeaderSize);
    EncodeFrameHeader(h, frame.data());
    session_->Send(std::move(frame));
    session_->Answered();
  }

 private:
  std::shared_ptr<Session> session_;
  uint16_t op_;
  uint64_t id_;
  std::string payload_;
  const metrics::OpMetrics::Op& metrics_;
  const std::chrono::steady_clock::time_point start_;
  bool replied_ = false;

  void Count(bool ok) {
    metrics_.count->Add();
    if (!ok) metrics_.errors->Add();
    metrics_.seconds->ObserveSince(start_);
  }
};

bool Session::Greet(const FrameHeader& h, const std::string& payload) {
  auto answer = [&](const Status& st, const std::string& body) {
    Send(MakeFrame(h.opcode, h.request_id, kFlagResponse, EncodeResponse(st, body)));
  };
  // `why` is logged here; `told` is what the peer is told.
  auto refuse = [&](const std::string& why, const std::string& told) {
    LogRefusal("refused connection from " + peer_ + ": " + why);
    answer(Error(Code::kNotPermitted, "authentication failed: " + told), {});
    return false;
  };
  if (greeting_ == Greeting::kHello) {
    if (h.opcode != static_cast<uint16_t>(Opcode::kHello)) {
      LogRefusal("closing connection from " + peer_ + ": no handshake");
      return false;
    }
    HelloReq hello;
    Status ds = Decode(payload, &hello);
    if (!ds.ok() || hello.version != kProtocolVersion) {
      answer(ds.ok() ? Error(Code::kProtocol, "protocol version " + std::to_string(hello.version) +
                                                  " not supported")
                     : ds,
             {});
      return false;
    }
    client_ = hello.name.substr(0, 256);
    HelloRsp rsp;
    rsp.version = kProtocolVersion;
    rsp.role = *role_;
    if (key_) {
      if (hello.nonce.size() != ClusterKey::kNonceBytes)
        return refuse("it has no cluster key", "this " + *role_ + " requires the cluster key");
      client_nonce_ = hello.nonce;
      server_nonce_ = NewNonce();
      rsp.nonce = server_nonce_;
      rsp.proof = key_->Proof("amlfs-server", client_nonce_, server_nonce_);
      greeting_ = Greeting::kAuth;
    } else {
      greeting_ = Greeting::kDone;
      handshake_deadline_.cancel();
    }
    answer(Status::Ok(), Encode(rsp));
    return true;
  }
  // Greeting::kAuth
  AuthReq auth;
  if (h.opcode != static_cast<uint16_t>(Opcode::kAuth) || !Decode(payload, &auth).ok())
    return refuse("no proof of the cluster key", "no proof of the cluster key");
  if (!ProofsEqual(auth.proof, key_->Proof("amlfs-client", server_nonce_, client_nonce_)))
    return refuse("wrong cluster key", "the cluster key does not match");
  greeting_ = Greeting::kDone;
  handshake_deadline_.cancel();
  answer(Status::Ok(), Encode(EmptyRsp{}));
  return true;
}

awaitable<bool> Session::RefusePlainPeer() {
  auto [wec] = co_await sock_.async_wait(tcp::socket::wait_read, kTuple);
  if (wec) co_return false;
  uint32_t magic = 0;
  if (::recv(sock_.native_handle(), &magic, sizeof(magic), MSG_PEEK | MSG_DONTWAIT) !=
          static_cast<ssize_t>(sizeof(magic)) ||
      magic != kFrameMagic)
    co_return false;  // a TLS ClientHello, or too little to tell: the handshake decides
  // A frame in clear: answer it in clear, so that the client can say why.
  char hdr[kFrameHeaderSize];
  auto [ec, n] = co_await asio::async_read(sock_, asio::buffer(hdr), kTuple);
  FrameHeader h;
  if (!ec && DecodeFrameHeader(std::string_view(hdr, sizeof(hdr)), &h).ok()) {
    const std::string frame = MakeFrame(
        h.opcode, h.request_id, kFlagResponse,
        EncodeResponse(Error(Code::kNotPermitted, "authentication failed: this " + *role_ +
                                                      " uses TLS: the client needs tls = true (--tls)"),
                       {}));
    co_await asio::async_write(sock_, asio::buffer(frame), kTuple);
  }
  LogRefusal("refused connection from " + peer_ + ": it does not use TLS, which this server requires");
  CloseNow();
  co_return true;
}

awaitable<void> Session::Reader(std::shared_ptr<Session> self) {
  if (self->stream_.tls()) {
    if (co_await self->RefusePlainPeer()) co_return;
    // The handshake deadline covers the TLS handshake too.
    auto [ec] = co_await self->stream_.tls_stream().async_handshake(
        asio::ssl::stream_base::server, kTuple);
    if (ec) {
      LogRefusal("refused connection from " + self->peer_ + ": TLS handshake failed: " +
                 ec.message() + " (a client without tls, or with another cluster key?)");
      self->CloseNow();
      co_return;
    }
  }
  for (;;) {
    char hdr[kFrameHeaderSize];
    auto [ec, n] = co_await OnStream(self->stream_, [&](auto& s) {
      return asio::async_read(s, asio::buffer(hdr), kTuple);
    });
    if (ec) break;
    FrameHeader h;
    Status st = DecodeFrameHeader(std::string_view(hdr, sizeof(hdr)), &h);
    if (!st.ok()) {
      LogRefusal("closing connection from " + self->peer_ + ": " +
                 (self->greeting_ == Greeting::kHello && LooksLikeTls(hdr)
                      ? std::string("it speaks TLS, and this server does not use tls")
                      : st.message()));
      break;
    }
    if (h.flags & kFlagResponse) {
      LogRefusal("closing connection from " + self->peer_ + ": unexpected response frame");
      break;
    }
    if (self->greeting_ != Greeting::kDone && h.payload_len > kMaxHandshakePayload) {
      LogRefusal("closing connection from " + self->peer_ + ": a handshake frame of " +
                 std::to_string(h.payload_len) + " bytes");
      break;
    }
    std::string payload(h.payload_len, '\0');
    // The payload must follow promptly: a peer trickling bytes is cut off.
    asio::steady_timer deadline(self->strand_, kPayloadDeadline);
    deadline.async_wait([self](boost::system::error_code e) {
      if (!e) self->CloseNow();
    });
    auto [ec2, n2] = co_await OnStream(self->stream_, [&](auto& s) {
      return asio::async_read(s, asio::buffer(payload), kTuple);
    });
    deadline.cancel();
    if (ec2) break;
    if (self->greeting_ != Greeting::kDone) {
      if (!self->Greet(h, payload)) break;
      continue;
    }
    while (self->inflight_.load() >= kMaxInflight && !self->closed_) {
      asio::steady_timer pause(self->strand_, std::chrono::milliseconds(1));
      co_await pause.async_wait(kTuple);
    }
    self->inflight_.fetch_add(1);
    auto call = std::make_shared<Call>(self, h.opcode, h.request_id, std::move(payload));
    if (*self->run_inline_ && (*self->run_inline_)(static_cast<Opcode>(h.opcode))) {
      try {
        (*self->handler_)(std::move(call));
      } catch (const std::exception& e) {
        AMLFS_LOG(kError) << "handler failed: " << e.what();
      }
      continue;
    }
    asio::post(*self->pool_, [handler = self->handler_, call]() mutable {
      try {
        (*handler)(std::move(call));
      } catch (const std::exception& e) {
        AMLFS_LOG(kError) << "handler failed: " << e.what();
      }
    });
  }
  if (self->greeting_ == Greeting::kAuth)  // a client with another key gives up here
    LogRefusal("refused connection from " + self->peer_ +
               ": it left without proving the cluster key (another key?)");
  // Let queued replies (e.g. a refused handshake) go out before closing.
  {
    std::lock_guard lk(self->out_mu_);
    self->closing_ = true;
  }
  self->wake_.cancel();
}

awaitable<void> Session::Writer(std::shared_ptr<Session> self) {
  std::vector<std::string> batch;
  std::vector<asio::const_buffer> bufs;
  for (;;) {
    batch.clear();
    bufs.clear();
    {
      std::lock_guard lk(self->out_mu_);
      self->writing_ = false;
      if (self->closed_) break;
      if (self->out_.empty() && self->closing_) break;
      while (!self->out_.empty() && batch.size() < 64) {
        batch.push_back(std::move(self->out_.front()));
        self->out_.pop_front();
      }
      if (!batch.empty()) {
        for (auto& b : batch) bufs.push_back(asio::buffer(b));
        bufs.front() += self->head_sent_;
        self->head_sent_ = 0;
        self->writing_ = true;
      }
    }
    if (batch.empty()) {
      // Woken (on the strand) by whoever queues a frame, or by CloseNow.
      self->wake_.expires_at(asio::steady_timer::time_point::max());
      co_await self->wake_.async_wait(kTuple);
      continue;
    }
    auto [ec, n] = co_await OnStream(self->stream_, [&](auto& s) {
      return asio::async_write(s, bufs, kTuple);
    });
    if (ec) break;
  }
  self->CloseNow();
}

}  // namespace

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
  std::vector<std::weak_ptr<Session>> sessions;
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
      auto s = std::make_shared<Session>(
          self->tls ? Stream(std::move(sock), *self->tls) : Stream(std::move(sock)),
          &self->handler, self->pool.get(), &self->options, self->metrics);
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
  if (ec) return Error(Code::kUnavailable, "cannot listen on " + where.ToString() + ": " + ec.message());
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
  std::vector<std::shared_ptr<Session>> live;
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
