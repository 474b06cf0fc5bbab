// RpcClient: one persistent, multiplexed connection to one server.
//
// Many calls may be in flight at once; responses are matched by request id.
// When the connection fails, the client reconnects with backoff and resends
// the calls that have not been answered, until each call's own deadline
// (servers make retried metadata mutations at-most-once, see Caller in
// protocol.h; object writes are idempotent). A call that reaches its
// deadline fails with kTimeout, or kUnavailable when the server could not be
// reached at all; the message names the server.
//
// Thread-safe: every method may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/codec.h"
#include "common/net/auth.h"
#include "common/net/tls.h"
#include "common/protocol.h"
#include "common/status.h"

namespace amlfs {

class NetContext;

class RpcClient {
 public:
  struct Options {
    std::string role = "client";  // sent in the handshake
    std::string name;             // sent in the handshake, for logs
    std::chrono::milliseconds connect_timeout{3000};
    // When a connection attempt fails, fail the waiting calls at once
    // (kUnavailable) instead of retrying until their deadlines: for callers
    // with other servers to turn to (the replicas of an MDS).
    bool fail_fast = false;
    // The cluster key it proves it holds, and asks the server to prove
    // (common/net/auth.h); null: none. A refused proof fails the waiting
    // calls with kNotPermitted ("authentication failed: ...").
    std::shared_ptr<const ClusterKey> key = ProcessKey();
    // Run the connection inside TLS keyed by `key` (common/net/tls.h).
    bool tls = ProcessTls();
  };
  using Callback = std::function<void(Result<std::string>)>;

  // `address` is "host:port". Does not connect until the first call.
  RpcClient(NetContext& net, std::string address, Options options);
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  const std::string& address() const;

  // Sends a request; `done` gets the response body (after the status, see
  // protocol.h) or the error, exactly once, on a network thread. `done` must
  // not block.
  void CallAsync(Opcode op, std::string payload, std::chrono::milliseconds timeout, Callback done);

  // CallAsync for a request built in place: `frame` is kFrameHeaderSize
  // bytes (filled in here) followed by the payload, so the payload is never
  // copied. With `raw_response`, `done` gets the whole response payload
  // (status first, see DecodeResponse) instead of the decoded body.
  void CallAsyncFrame(Opcode op, std::string frame, std::chrono::milliseconds timeout,
                      Callback done, bool raw_response);

  // Blocking form of CallAsync.
  Result<std::string> Call(Opcode op, std::string payload, std::chrono::milliseconds timeout);

  // Typed call: encodes `req`, decodes Req::Response.
  template <typename Req>
  Result<typename Req::Response> Call(const Req& req, std::chrono::milliseconds timeout) {
    AMLFS_ASSIGN_OR_RETURN(std::string body, Call(Req::kOp, Encode(req), timeout));
    typename Req::Response rsp;
    AMLFS_RETURN_IF_ERROR(Decode(body, &rsp));
    return rsp;
  }

  // True when a connection is established right now.
  bool connected() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace amlfs
