// RPC layer over real loopback sockets: multiplexing, deadlines, reconnect,
// and a malformed frame closing only its own connection.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/frame.h"
#include "common/net/net_context.h"
#include "common/net/rpc_client.h"
#include "common/net/rpc_server.h"
#include "tests/unit/common/net/net_test_util.h"

using namespace amlfs;
using namespace std::chrono_literals;

namespace {

// Echo service: ObjRead answers with `length` bytes of 'x'; a large length
// is answered late, to show out-of-order completion.
std::unique_ptr<RpcServer> StartEcho(uint16_t port = 0) {
  auto server = std::make_unique<RpcServer>(
      RpcServer::Options{"ost", 1, 4, {}}, [](std::shared_ptr<RpcCall> call) {
        if (call->op() != Opcode::kObjRead) {
          call->Reply(Error(Code::kNotSupported, "unknown opcode"), {});
          return;
        }
        ObjReadReq req;
        Status st = call->DecodeRequest(&req);
        if (!st.ok()) return call->Reply(st, {});
        if (req.length == 999) std::this_thread::sleep_for(300ms);
        ObjReadRsp rsp;
        rsp.data.assign(req.length, 'x');
        call->ReplyWith(Result<ObjReadRsp>(rsp));
      });
  REQUIRE(server->Listen(HostPort{"127.0.0.1", port}).ok());
  server->Start();
  return server;
}

int RawConnect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  return fd;
}

uint16_t FreePort() { return testing::FreeLoopbackPort(); }

}  // namespace

TEST_CASE("calls on one connection complete out of order, matched by request id") {
  auto server = StartEcho();
  NetContext net(2);
  RpcClient client(net, "127.0.0.1:" + std::to_string(server->port()), {});
  std::atomic<int> done{0};
  std::atomic<int> fast_done{0};
  std::atomic<int> fast_done_when_slow_finished{-1};
  ObjReadReq slow;
  slow.length = 999;
  client.CallAsync(Opcode::kObjRead, Encode(slow), 5s, [&](Result<std::string> r) {
    REQUIRE(r.ok());
    ObjReadRsp rsp;
    REQUIRE(Decode(r.value(), &rsp).ok());
    CHECK(rsp.data.size() == 999);
    fast_done_when_slow_finished = fast_done.load();
    ++done;
  });
  for (int i = 0; i < 20; ++i) {
    ObjReadReq q;
    q.length = static_cast<uint64_t>(i);
    auto r = client.Call(q, 5s);
    REQUIRE(r.ok());
    CHECK(r->data == std::string(i, 'x'));
    ++fast_done;
  }
  while (done.load() == 0) std::this_thread::sleep_for(10ms);
  CHECK(done == 1);
  CHECK(fast_done_when_slow_finished > 0);
  CHECK(client.connected());
}

TEST_CASE("a server error comes back with its code and message") {
  auto server = StartEcho();
  NetContext net(1);
  RpcClient client(net, "127.0.0.1:" + std::to_string(server->port()), {});
  ObjSyncReq req;
  auto r = client.Call(req, 5s);
  CHECK(r.status().code() == Code::kNotSupported);
  CHECK(r.status().message() == "unknown opcode");
}

TEST_CASE("an unreachable server fails the call with Unavailable at its deadline") {
  NetContext net(1);
  uint16_t port = FreePort();
  RpcClient client(net, "127.0.0.1:" + std::to_string(port), {});
  auto start = std::chrono::steady_clock::now();
  auto r = client.Call(ObjReadReq{}, 700ms);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK_THAT(r.status().message(), Catch::Contains(std::to_string(port)));
  CHECK(took >= 650ms);
  CHECK(took < 5s);
}

TEST_CASE("the client reconnects when the server comes back on the same port") {
  auto server = StartEcho();
  uint16_t port = server->port();
  NetContext net(1);
  RpcClient client(net, "127.0.0.1:" + std::to_string(port), {});
  ObjReadReq q;
  q.length = 3;
  REQUIRE(client.Call(q, 2s).ok());
  server->Stop();
  server.reset();
  // A call made while the server is down waits, then succeeds once it returns.
  std::thread restart([&] {
    std::this_thread::sleep_for(400ms);
    server = StartEcho(port);
  });
  auto r = client.Call(q, 10s);
  restart.join();
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(r->data == "xxx");
}

TEST_CASE("a malformed frame closes that connection and nothing else") {
  auto server = StartEcho();
  NetContext net(1);
  RpcClient good(net, "127.0.0.1:" + std::to_string(server->port()), {});
  ObjReadReq q;
  q.length = 5;
  REQUIRE(good.Call(q, 2s).ok());

  SECTION("garbage bytes") {
    int fd = RawConnect(server->port());
    std::string junk(64, '\x5a');
    REQUIRE(write(fd, junk.data(), junk.size()) == 64);
    char c;
    CHECK(read(fd, &c, 1) == 0);  // closed by the server
    close(fd);
  }
  SECTION("a valid header announcing a huge payload") {
    int fd = RawConnect(server->port());
    char hdr[kFrameHeaderSize];
    FrameHeader h;
    h.opcode = static_cast<uint16_t>(Opcode::kHello);
    h.payload_len = kMaxPayload + 1;
    EncodeFrameHeader(h, hdr);
    REQUIRE(write(fd, hdr, sizeof(hdr)) == static_cast<ssize_t>(sizeof(hdr)));
    char c;
    CHECK(read(fd, &c, 1) == 0);
    close(fd);
  }
  SECTION("a request before the handshake") {
    int fd = RawConnect(server->port());
    std::string payload = Encode(q);
    char hdr[kFrameHeaderSize];
    FrameHeader h;
    h.opcode = static_cast<uint16_t>(Opcode::kObjRead);
    h.payload_len = static_cast<uint32_t>(payload.size());
    EncodeFrameHeader(h, hdr);
    REQUIRE(write(fd, hdr, sizeof(hdr)) == static_cast<ssize_t>(sizeof(hdr)));
    REQUIRE(write(fd, payload.data(), payload.size()) == static_cast<ssize_t>(payload.size()));
    char c;
    CHECK(read(fd, &c, 1) == 0);
    close(fd);
  }
  auto r = good.Call(q, 2s);
  REQUIRE(r.ok());
  CHECK(r->data == "xxxxx");
}

TEST_CASE("a burst of calls beyond the per-connection in-flight limit all complete") {
  auto server = StartEcho();
  NetContext net(2);
  RpcClient client(net, "127.0.0.1:" + std::to_string(server->port()), {});
  std::atomic<int> ok{0}, done{0};
  const int kCalls = 2000;
  for (int i = 0; i < kCalls; ++i) {
    ObjReadReq q;
    q.length = static_cast<uint64_t>(i % 50);
    client.CallAsync(Opcode::kObjRead, Encode(q), 20s, [&](Result<std::string> r) {
      if (r.ok()) ++ok;
      ++done;
    });
  }
  for (int i = 0; i < 2000 && done.load() < kCalls; ++i) std::this_thread::sleep_for(10ms);
  CHECK(done == kCalls);
  CHECK(ok == kCalls);
}

TEST_CASE("a connection that lets a call time out without answering anything since is replaced") {
  // A peer cut off by the network looks like this: the connection stays
  // open and TCP retransmits into it, for minutes. Calls of length 777 are
  // never answered here; the others say which connection they came on.
  std::mutex mu;
  std::vector<std::string> peers;
  std::vector<std::shared_ptr<RpcCall>>
      unanswered;  // held: a dropped call is answered with an error
  auto server = std::make_unique<RpcServer>(
      RpcServer::Options{"ost", 1, 4, {}}, [&](std::shared_ptr<RpcCall> call) {
        ObjReadReq req;
        if (!call->DecodeRequest(&req).ok() || req.length == 777) {
          std::lock_guard lk(mu);
          unanswered.push_back(std::move(call));
          return;
        }
        {
          std::lock_guard lk(mu);
          peers.push_back(call->peer());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(req.length == 5 ? 100 : 0));
        call->ReplyWith(Result<ObjReadRsp>(ObjReadRsp{}));
      });
  REQUIRE(server->Listen(HostPort{"127.0.0.1", 0}).ok());
  server->Start();
  NetContext net(1);
  RpcClient client(net, "127.0.0.1:" + std::to_string(server->port()), {});
  ObjReadReq ok, silent, slow;
  ok.length = 3;
  silent.length = 777;
  slow.length = 5;
  auto peer = [&](size_t i) {
    std::lock_guard lk(mu);
    return peers.at(i);
  };
  REQUIRE(client.Call(ok, 2s).ok());
  // Answers arrive while the silent call waits: the connection is alive.
  std::thread busy([&] { CHECK(client.Call(slow, 2s).ok()); });
  CHECK(client.Call(silent, 300ms).status().code() == Code::kTimeout);
  busy.join();
  REQUIRE(client.Call(ok, 2s).ok());
  CHECK(peer(2) == peer(0));
  // Nothing at all since the silent call: it is dropped, and the next call
  // goes over a new connection.
  CHECK(client.Call(silent, 300ms).status().code() == Code::kTimeout);
  REQUIRE(client.Call(ok, 2s).ok());
  CHECK(peer(3) != peer(0));
  server->Stop();
  unanswered.clear();
}
