#include "common/net/server_session.h"

#include <sys/socket.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <cerrno>

#include "common/log.h"
#include "common/metrics.h"
#include "common/net/as_tuple.h"

namespace amlfs {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;

namespace {

class Call : public RpcCall {
 public:
  Call(std::shared_ptr<ServerSession> s, uint16_t op, uint64_t id, std::string payload)
      : session_(std::move(s)),
        op_(op),
        id_(id),
        payload_(std::move(payload)),
        metrics_(session_->metrics().For(op)),
        start_(std::chrono::steady_clock::now()) {}
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
  std::shared_ptr<ServerSession> session_;
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

}  // namespace

bool ServerSession::Greet(const FrameHeader& h, const std::string& payload) {
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
      answer(ds.ok() ? Error(Code::kProtocol,
                             "protocol version " + std::to_string(hello.version) + " not supported")
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

awaitable<bool> ServerSession::RefusePlainPeer() {
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
        EncodeResponse(
            Error(Code::kNotPermitted, "authentication failed: this " + *role_ +
                                           " uses TLS: the client needs tls = true (--tls)"),
            {}));
    co_await asio::async_write(sock_, asio::buffer(frame), kTuple);
  }
  LogRefusal("refused connection from " + peer_ +
             ": it does not use TLS, which this server requires");
  CloseNow();
  co_return true;
}

awaitable<void> ServerSession::Reader(std::shared_ptr<ServerSession> self) {
  if (self->stream_.tls()) {
    if (co_await self->RefusePlainPeer()) co_return;
    // The handshake deadline covers the TLS handshake too.
    auto [ec] =
        co_await self->stream_.tls_stream().async_handshake(asio::ssl::stream_base::server, kTuple);
    if (ec) {
      LogRefusal("refused connection from " + self->peer_ + ": TLS handshake failed: " +
                 ec.message() + " (a client without tls, or with another cluster key?)");
      self->CloseNow();
      co_return;
    }
  }
  for (;;) {
    char hdr[kFrameHeaderSize];
    auto [ec, n] = co_await OnStream(
        self->stream_, [&](auto& s) { return asio::async_read(s, asio::buffer(hdr), kTuple); });
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
    auto [ec2, n2] = co_await OnStream(
        self->stream_, [&](auto& s) { return asio::async_read(s, asio::buffer(payload), kTuple); });
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

awaitable<void> ServerSession::Writer(std::shared_ptr<ServerSession> self) {
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
    auto [ec, n] = co_await OnStream(self->stream_,
                                     [&](auto& s) { return asio::async_write(s, bufs, kTuple); });
    if (ec) break;
  }
  self->CloseNow();
}

}  // namespace amlfs
