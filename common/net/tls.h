// Encryption in transit: TLS 1.3 keyed by the cluster key.
//
// With tls on (`--tls`, `tls = true`), every connection runs inside TLS 1.3
// before its first frame. There are no certificates: both sides prove the
// cluster key through an external pre-shared key derived from it
// (HMAC-SHA256(key, "amlfs-tls-psk")), with an ephemeral (EC)DHE exchange on
// top, so that a recorded session stays secret even if the key later leaks.
// The key handshake of common/net/auth.h still runs inside, unchanged.
// Clients and servers of a cluster must agree: a plain client of a TLS
// server, or the other way round, is refused in one line that says so.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <optional>
#include <string>

#include "common/net/auth.h"

namespace CLI {
class App;
}

namespace amlfs {

// The TLS settings of one side of a cluster's connections.
struct TlsContext {
  boost::asio::ssl::context ssl;
  std::string psk;  // derived from the cluster key
  explicit TlsContext(boost::asio::ssl::context::method m) : ssl(m) {}
};
// A client's or a server's context for `key`.
std::shared_ptr<TlsContext> MakeTlsContext(const ClusterKey& key, bool server);

// Whether this process's connections use TLS (the default of
// RpcClient::Options and RpcServer::Options).
bool ProcessTls();
// Turns TLS on or off for the process. On needs the process key: kInvalid
// "tls needs the cluster key" without one.
Status SetProcessTls(bool on);
// Adds --tls (tls = true in a config file) to `app`, into `*on`.
void AddTlsOption(CLI::App& app, bool* on);

// TLS records begin with a content type and version 3.x; a frame header
// (common/frame.h) never does. Tells a peer speaking TLS from one that does not.
inline bool LooksLikeTls(const char* p) { return (p[0] == 0x15 || p[0] == 0x16) && p[1] == 0x03; }

// A connection's bytes: plain TCP, or TLS over TCP.
class Stream {
 public:
  using tcp = boost::asio::ip::tcp;
  explicit Stream(tcp::socket s) : plain_(std::move(s)) {}
  Stream(tcp::socket s, TlsContext& ctx) : tls_(std::in_place, std::move(s), ctx.ssl) {}

  tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }
  bool tls() const { return tls_.has_value(); }
  boost::asio::ssl::stream<tcp::socket>& tls_stream() { return *tls_; }
  tcp::socket& plain_stream() { return *plain_; }

 private:
  std::optional<tcp::socket> plain_;
  std::optional<boost::asio::ssl::stream<tcp::socket>> tls_;
};

// Runs `op(stream)` on the TLS stream or the plain socket, whichever `s`
// is: async_read and async_write take either.
template <typename Op>
auto OnStream(Stream& s, Op&& op) {
  return s.tls() ? op(s.tls_stream()) : op(s.plain_stream());
}

}  // namespace amlfs
