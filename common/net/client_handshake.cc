#include "common/net/client_handshake.h"

#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "common/net/as_tuple.h"
#include "common/protocol.h"

namespace amlfs {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

// One request and its response, on a connection not yet handed to the
// Reader: the response payload (status first).
awaitable<Result<std::string>> Exchange(Stream& sock, Opcode op, std::string body) {
  std::string frame = MakeFrame(static_cast<uint16_t>(op), 0, 0, body);
  auto [ec, n] = co_await OnStream(
      sock, [&](auto& s) { return asio::async_write(s, asio::buffer(frame), kTuple); });
  if (ec) co_return Error(Code::kUnavailable, "handshake: " + ec.message());
  FrameHeader h;
  std::string payload;
  Status st = co_await ReadFrame(sock, &h, &payload);
  if (!st.ok()) co_return Error(st.code(), "handshake: " + st.message());
  co_return payload;
}

awaitable<Status> Greet(Stream& sock, const std::string& address, const ClusterKey* key,
                        const HelloReq& hello) {
  auto r = co_await Exchange(sock, Opcode::kHello, Encode(hello));
  if (!r.ok()) co_return r.status();
  auto rsp = DecodeResponseAs<HelloReq>(*r);
  if (!rsp.ok()) {
    if (rsp.status().code() == Code::kNotPermitted)
      co_return Error(Code::kNotPermitted, rsp.status().message() + " (" + address + ")");
    co_return Error(rsp.status().code(), "handshake refused: " + rsp.status().message());
  }
  if (!key) co_return Status::Ok();
  if (rsp->proof.empty())
    co_return Error(Code::kNotPermitted,
                    "authentication failed: " + address + " does not use a cluster key");
  // A server that fails its proof gets none from us: it could hand ours
  // on to a real server.
  if (rsp->nonce.size() != ClusterKey::kNonceBytes ||
      !ProofsEqual(rsp->proof, key->Proof("amlfs-server", hello.nonce, rsp->nonce)))
    co_return Error(Code::kNotPermitted,
                    "authentication failed: " + address + " does not hold this cluster key");
  AuthReq auth;
  auth.proof = key->Proof("amlfs-client", rsp->nonce, hello.nonce);
  r = co_await Exchange(sock, Opcode::kAuth, Encode(auth));
  if (!r.ok()) co_return r.status();
  auto ok = DecodeResponseAs<AuthReq>(*r);
  if (!ok.ok()) {
    co_return Error(ok.status().code(), ok.status().message() + " (" + address + ")");
  }
  co_return Status::Ok();
}

}  // namespace

awaitable<Status> ReadFrame(Stream& sock, FrameHeader* h, std::string* payload) {
  char hdr[kFrameHeaderSize];
  auto [ec, n] = co_await OnStream(
      sock, [&](auto& s) { return asio::async_read(s, asio::buffer(hdr), kTuple); });
  if (ec) co_return Error(Code::kUnavailable, ec.message());
  Status hs = DecodeFrameHeader(std::string_view(hdr, sizeof(hdr)), h);
  if (!hs.ok() && !sock.tls() && LooksLikeTls(hdr))
    co_return Error(Code::kNotPermitted,
                    "the server uses TLS: this client needs tls = true (--tls)");
  if (!hs.ok()) co_return hs;
  payload->resize(h->payload_len);
  auto [ec2, n2] = co_await OnStream(
      sock, [&](auto& s) { return asio::async_read(s, asio::buffer(*payload), kTuple); });
  if (ec2) co_return Error(Code::kUnavailable, ec2.message());
  co_return Status::Ok();
}

awaitable<Status> ClientHandshake(Stream& sock, const std::string& address,
                                  const RpcClient::Options& options) {
  const ClusterKey* key = options.key.get();
  HelloReq hello;
  hello.version = kProtocolVersion;
  hello.role = options.role;
  hello.name = options.name;
  if (key) hello.nonce = NewNonce();
  asio::steady_timer t(sock.socket().get_executor(), options.connect_timeout);
  t.async_wait([&sock](boost::system::error_code ec) {
    if (!ec) {
      boost::system::error_code ignored;
      sock.socket().cancel(ignored);
    }
  });
  Status out = Status::Ok();
  if (sock.tls()) {
    auto [ec] = co_await sock.tls_stream().async_handshake(asio::ssl::stream_base::client, kTuple);
    if (ec)
      out = Error(Code::kNotPermitted, "authentication failed: TLS handshake with " + address +
                                           " failed: " + ec.message() +
                                           " (does the server use tls, with this cluster key?)");
  }
  if (out.ok()) out = co_await Greet(sock, address, key, hello);
  t.cancel();
  co_return out;
}

}  // namespace amlfs
