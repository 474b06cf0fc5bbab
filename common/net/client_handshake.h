// The client's side of a connection's start (common/net/rpc_client.cc):
// the TLS handshake with tls on, then Hello and, with a cluster key, the
// mutual proof of it (common/net/auth.h).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "common/frame.h"
#include "common/net/rpc_client.h"
#include "common/net/tls.h"
#include "common/status.h"

namespace amlfs {

// Reads one frame. A plain client answered in TLS fails with kNotPermitted
// saying the server uses TLS.
boost::asio::awaitable<Status> ReadFrame(Stream& sock, FrameHeader* h, std::string* payload);

// Runs the handshake on a freshly connected `sock`, within
// options.connect_timeout. Fails with kNotPermitted when either side's
// proof (or the TLS handshake) fails: retrying will not help.
boost::asio::awaitable<Status> ClientHandshake(Stream& sock, const std::string& address,
                                               const RpcClient::Options& options);

}  // namespace amlfs
