// ServerSession: one accepted connection of an RpcServer (rpc_server.h):
// the handshake (Hello, then Auth with a cluster key; TLS refusal of a
// peer speaking in clear), a Reader coroutine that decodes request frames
// and hands each to the server's handler as an RpcCall, and a Writer
// coroutine that sends the replies the caller thread could not write
// itself.
//
// Owned by shared_ptr: the two coroutines and every RpcCall in flight hold
// it, so it lives until the last reply is sent or dropped. Everything but
// Send and Answered runs on the session's strand. Internal to
// common/net: only rpc_server.cc creates sessions.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <mutex>
#include <string>

#include "common/frame.h"
#include "common/net/rpc_server.h"
#include "common/net/server_metrics.h"

namespace amlfs {

namespace asio = boost::asio;

class ServerSession : public std::enable_shared_from_this<ServerSession> {
 public:
  static constexpr auto kPayloadDeadline = std::chrono::seconds(30);
  // A connection must finish its handshake within this, or it is closed: a
  // peer that connects and says nothing, or trickles its Hello a byte at a
  // time, holds a socket for no longer than this.
  static constexpr auto kHandshakeDeadline = std::chrono::seconds(10);
  // Requests of one connection being handled at once; past it the reader
  // stops reading, so one client cannot queue unbounded work and memory.
  static constexpr int kMaxInflight = 256;
  // Before the handshake is done a peer may send no more than this.
  static constexpr uint32_t kMaxHandshakePayload = 4096;

  ServerSession(Stream stream, RpcServer::Handler* handler, asio::thread_pool* pool,
                const RpcServer::Options* options, ServerMetrics* metrics)
      : metrics_(metrics),
        stream_(std::move(stream)),
        sock_(stream_.socket()),
        strand_(sock_.get_executor()),
        wake_(strand_),
        handshake_deadline_(strand_),
        handler_(handler),
        pool_(pool),
        role_(&options->role),
        run_inline_(&options->run_inline),
        key_(options->key.get()) {
    boost::system::error_code ec;
    auto ep = sock_.remote_endpoint(ec);
    peer_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
    wake_.expires_at(asio::steady_timer::time_point::max());
    metrics_->connections->Add(1);
  }
  ~ServerSession() { metrics_->connections->Add(-1); }

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
        if (n > 0)
          sent += static_cast<size_t>(n);
        else if (n < 0 && errno == EINTR)
          continue;
        else
          break;  // full, or failed: the Writer finds out which
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
      sock_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      sock_.close(ignored);
    }
    wake_.cancel();
    handshake_deadline_.cancel();
  }

  static asio::awaitable<void> Reader(std::shared_ptr<ServerSession> self);
  // With TLS: a peer that sends a frame in clear is told, in clear, that it
  // needs TLS, and is closed. Returns true when it did so.
  asio::awaitable<bool> RefusePlainPeer();
  // The handshake's frames (kHello, then kAuth with a key). Returns false
  // when the connection must close (the refusal is queued first).
  bool Greet(const FrameHeader& h, const std::string& payload);

  enum class Greeting { kHello, kAuth, kDone };
  Greeting greeting_ = Greeting::kHello;
  std::string client_nonce_, server_nonce_;
  static asio::awaitable<void> Writer(std::shared_ptr<ServerSession> self);

  ServerMetrics* metrics_;
  std::string client_;
  Stream stream_;
  asio::ip::tcp::socket& sock_;  // stream_'s TCP socket
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

}  // namespace amlfs
