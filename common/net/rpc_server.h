// RpcServer: accepts connections and hands each request to a handler.
//
// The first frame on a connection must be a Hello with our protocol
// version (inside TLS, with tls on); the server answers it itself. With a cluster key, the client
// must then prove it holds the key (kAuth, see common/net/auth.h) before
// anything else; a connection that fails is logged with its address and
// closed. A malformed frame (bad magic,
// version, header checksum, oversized length) closes that connection and
// nothing else. Handlers run on a worker pool (they may block on disk) and
// answer through RpcCall::Reply, from any thread, exactly once; replies may
// complete out of order. The server answers kStats itself (the process's
// metrics, common/metrics.h) and counts every request in
// amlfs_<role>_ops_total, _op_errors_total and _op_seconds.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/net/allow_list.h"
#include "common/net/auth.h"
#include "common/net/tls.h"
#include "common/protocol.h"
#include "common/status.h"

namespace amlfs {

class RpcCall {
 public:
  virtual ~RpcCall() = default;
  virtual Opcode op() const = 0;
  virtual std::string_view payload() const = 0;
  virtual const std::string& peer() const = 0;
  // Who is asking: the name the client gave in its handshake (host name
  // and mount point for a mount), else its address; for per-client stats.
  virtual const std::string& client() const = 0;
  // Sends the response. `body` is ignored unless status is OK.
  virtual void Reply(const Status& status, const std::string& body) = 0;
  // Sends a response built in place: `frame` is kFrameHeaderSize bytes
  // (filled in here) followed by the whole response payload (status first,
  // see EncodeResponse), so a large body is never copied.
  virtual void ReplyFrame(std::string frame) = 0;

  // Typed helpers.
  template <typename Req>
  Status DecodeRequest(Req* req) const {
    return Decode(payload(), req);
  }
  template <typename Rsp>
  void ReplyWith(const Result<Rsp>& r) {
    if (r.ok())
      Reply(Status::Ok(), Encode(r.value()));
    else
      Reply(r.status(), {});
  }
};

class RpcServer {
 public:
  struct Options {
    std::string role;  // answered in the handshake: "mds" | "ost"
    int io_threads = 2;
    int worker_threads = 8;
    // Requests for which this is true run on the connection's network
    // thread, saving two thread hops: for quick, non-blocking handlers only.
    std::function<bool(Opcode)> run_inline;
    // Connections must prove they hold it (null: no authentication).
    std::shared_ptr<const ClusterKey> key = ProcessKey();
    // Connections from elsewhere are closed at accept (empty: any address).
    AllowList allow;
    // Every connection runs inside TLS keyed by `key` (common/net/tls.h).
    bool tls = ProcessTls();
  };
  using Handler = std::function<void(std::shared_ptr<RpcCall>)>;

  RpcServer(Options options, Handler handler);
  ~RpcServer();

  // Binds and listens. Port 0 picks a free port (see port()).
  Status Listen(const HostPort& where);
  uint16_t port() const;
  // Starts serving on background threads.
  void Start();
  // Stops accepting, closes connections, drains the worker pool.
  void Stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace amlfs
