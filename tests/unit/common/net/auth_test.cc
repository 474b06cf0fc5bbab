// Who may talk to a server. The cluster key: key files, and the
// handshake's mutual proof over real loopback connections (right key, no
// key on either side, wrong key, and a recorded handshake replayed on a new
// connection). Allow lists: parsing, matching, and a connection from
// elsewhere closed at accept.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>

#include <boost/asio/ip/address.hpp>

#include "common/frame.h"
#include "common/net/allow_list.h"
#include "common/net/auth.h"
#include "common/net/net_context.h"
#include "common/net/rpc_client.h"
#include "common/net/rpc_server.h"

using namespace amlfs;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<const ClusterKey> NewKey() {
  return std::make_shared<const ClusterKey>(ClusterKey::Generate());
}

// Answers every request with OK (an empty body).
std::unique_ptr<RpcServer> StartServer(std::shared_ptr<const ClusterKey> key,
                                       AllowList allow = {}) {
  RpcServer::Options o{"mds", 1, 1, {}};
  o.key = std::move(key);
  o.allow = std::move(allow);
  auto server = std::make_unique<RpcServer>(
      o, [](std::shared_ptr<RpcCall> call) { call->Reply(Status::Ok(), {}); });
  REQUIRE(server->Listen(HostPort{"127.0.0.1", 0}).ok());
  server->Start();
  return server;
}

Result<std::string> CallWith(const RpcServer& server, std::shared_ptr<const ClusterKey> key) {
  NetContext net(1);
  RpcClient::Options o{"client", "auth_test"};
  o.key = std::move(key);
  RpcClient c(net, "127.0.0.1:" + std::to_string(server.port()), o);
  return c.Call(Opcode::kStatFs, Encode(StatFsReq{}), 3s);
}

// A client by hand, to replay what a real one sent.
class RawConn {
 public:
  explicit RawConn(uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    timeval tv{3, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~RawConn() { close(fd_); }
  // Sends a request; returns the response payload, or nullopt if the
  // server closed the connection instead.
  std::optional<std::string> Exchange(Opcode op, const std::string& body) {
    std::string f = MakeFrame(static_cast<uint16_t>(op), 7, 0, body);
    if (send(fd_, f.data(), f.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(f.size()))
      return std::nullopt;
    std::string hdr(kFrameHeaderSize, '\0');
    if (!ReadAll(hdr.data(), hdr.size())) return std::nullopt;
    FrameHeader h;
    REQUIRE(DecodeFrameHeader(hdr, &h).ok());
    std::string payload(h.payload_len, '\0');
    if (!ReadAll(payload.data(), payload.size())) return std::nullopt;
    return payload;
  }
  bool Closed() {
    char c;
    return recv(fd_, &c, 1, 0) == 0;
  }

 private:
  bool ReadAll(char* p, size_t n) {
    while (n > 0) {
      ssize_t r = recv(fd_, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  int fd_;
};

}  // namespace

TEST_CASE("key files: the format amlfs keygen prints, owner-only, and errors that name the file") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("auth_test." + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "cluster.key").string();
  const ClusterKey k = ClusterKey::Generate();
  std::ofstream(path) << k.Hex() << "\n";
  chmod(path.c_str(), 0600);
  auto loaded = ClusterKey::Load(path);
  REQUIRE(loaded.ok());
  CHECK(loaded->Hex() == k.Hex());
  CHECK(k.Hex().size() == 64);
  CHECK(ClusterKey::Generate().Hex() != k.Hex());

  chmod(path.c_str(), 0644);
  auto open = ClusterKey::Load(path);
  CHECK(open.status().code() == Code::kNotPermitted);
  CHECK(open.status().message().find(path) != std::string::npos);
  CHECK(open.status().message().find("644") != std::string::npos);

  std::ofstream(path) << "not a key\n";
  chmod(path.c_str(), 0600);
  CHECK(ClusterKey::Load(path).status().code() == Code::kInvalid);
  CHECK(ClusterKey::Parse(std::string(63, 'a')).status().code() == Code::kInvalid);
  CHECK(ClusterKey::Parse(std::string(64, 'g')).status().code() == Code::kInvalid);
  CHECK(ClusterKey::Load((dir / "missing").string()).status().code() == Code::kIo);
  std::filesystem::remove_all(dir);

  // Proofs depend on the key, the label and both nonces.
  const std::string a = NewNonce(), b = NewNonce();
  CHECK(a.size() == ClusterKey::kNonceBytes);
  CHECK(a != b);
  CHECK(ProofsEqual(k.Proof("x", a, b), k.Proof("x", a, b)));
  CHECK_FALSE(ProofsEqual(k.Proof("x", a, b), k.Proof("y", a, b)));
  CHECK_FALSE(ProofsEqual(k.Proof("x", a, b), k.Proof("x", b, a)));
  CHECK_FALSE(ProofsEqual(k.Proof("x", a, b), ClusterKey::Generate().Proof("x", a, b)));
  CHECK_FALSE(ProofsEqual("", ""));
}

TEST_CASE("a connection works only when both sides hold the same cluster key") {
  auto key = NewKey();
  auto keyed = StartServer(key);
  auto open = StartServer(nullptr);

  CHECK(CallWith(*keyed, key).ok());
  CHECK(CallWith(*open, nullptr).ok());

  auto no_key = CallWith(*keyed, nullptr);
  CHECK(no_key.status().code() == Code::kNotPermitted);
  CHECK(no_key.status().message().find("authentication failed") != std::string::npos);

  auto wrong = CallWith(*keyed, NewKey());
  CHECK(wrong.status().code() == Code::kNotPermitted);
  CHECK(wrong.status().message().find("authentication failed") != std::string::npos);

  // A client with a key does not talk to a server that proves nothing.
  auto unproven = CallWith(*open, key);
  CHECK(unproven.status().code() == Code::kNotPermitted);
  CHECK(unproven.status().message().find("does not use a cluster key") != std::string::npos);
}

TEST_CASE("a recorded handshake replayed on a new connection is refused") {
  auto key = NewKey();
  auto server = StartServer(key);
  HelloReq hello;
  hello.version = kProtocolVersion;
  hello.role = "client";
  hello.nonce = NewNonce();

  // The real exchange, as a client holding the key makes it.
  std::string recorded;
  {
    RawConn c(server->port());
    auto rsp = c.Exchange(Opcode::kHello, Encode(hello));
    REQUIRE(rsp);
    auto h = DecodeResponseAs<HelloReq>(*rsp);
    REQUIRE(h.ok());
    CHECK(ProofsEqual(h->proof, key->Proof("amlfs-server", hello.nonce, h->nonce)));
    AuthReq auth;
    auth.proof = key->Proof("amlfs-client", h->nonce, hello.nonce);
    recorded = Encode(auth);
    auto ok = c.Exchange(Opcode::kAuth, recorded);
    REQUIRE(ok);
    CHECK(DecodeResponseAs<AuthReq>(*ok).ok());
    auto after = c.Exchange(Opcode::kStatFs, Encode(StatFsReq{}));
    REQUIRE(after);
    CHECK(DecodeResponse(*after).ok());
  }
  // The same bytes again: the server drew a new nonce, so the old proof fails.
  RawConn c(server->port());
  auto rsp = c.Exchange(Opcode::kHello, Encode(hello));
  REQUIRE(rsp);
  REQUIRE(DecodeResponseAs<HelloReq>(*rsp).ok());
  auto refused = c.Exchange(Opcode::kAuth, recorded);
  REQUIRE(refused);
  auto st = DecodeResponseAs<AuthReq>(*refused);
  CHECK(st.status().code() == Code::kNotPermitted);
  CHECK(c.Closed());
}

TEST_CASE("before the proof, nothing but the proof is served, and handshake frames are small") {
  auto key = NewKey();
  auto server = StartServer(key);
  {
    HelloReq hello;
    hello.version = kProtocolVersion;
    hello.nonce = NewNonce();
    RawConn c(server->port());
    REQUIRE(c.Exchange(Opcode::kHello, Encode(hello)));
    auto rsp = c.Exchange(Opcode::kStatFs, Encode(StatFsReq{}));
    REQUIRE(rsp);
    CHECK(DecodeResponse(*rsp).status().code() == Code::kNotPermitted);
    CHECK(c.Closed());
  }
  {
    RawConn c(server->port());
    CHECK_FALSE(c.Exchange(Opcode::kHello, std::string(100000, 'x')));
  }
  // The server still serves a client with the key.
  CHECK(CallWith(*server, key).ok());
}

TEST_CASE("allow lists: addresses and networks, IPv4 and IPv6, and what is refused") {
  auto ip = [](const char* a) { return boost::asio::ip::make_address(a); };
  auto l = AllowList::Parse(" 10.1.0.0/16, 127.0.0.1 ,fd00::/8,192.168.7.9/31");
  REQUIRE(l.ok());
  CHECK(l->Allows(ip("10.1.200.3")));
  CHECK_FALSE(l->Allows(ip("10.2.0.1")));
  CHECK(l->Allows(ip("127.0.0.1")));
  CHECK_FALSE(l->Allows(ip("127.0.0.2")));
  CHECK(l->Allows(ip("::ffff:127.0.0.1")));  // IPv4 through an IPv6 socket
  CHECK(l->Allows(ip("fd12::1")));
  CHECK_FALSE(l->Allows(ip("fe80::1")));
  CHECK_FALSE(l->Allows(ip("::1")));
  CHECK(l->Allows(ip("192.168.7.8")));
  CHECK_FALSE(l->Allows(ip("192.168.7.10")));
  CHECK(l->ToString() == "10.1.0.0/16, 127.0.0.1/32, fd00::/8, 192.168.7.9/31");
  auto all = AllowList::Parse("");
  REQUIRE(all.ok());
  CHECK(all->empty());
  CHECK(all->Allows(ip("203.0.113.5")));
  for (const char* bad :
       {"10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "host.example", "::1/129", "1.2.3.4/-1"}) {
    auto r = AllowList::Parse(bad);
    CHECK(r.status().code() == Code::kInvalid);
    CHECK(r.status().message().find(bad) != std::string::npos);
  }
}

TEST_CASE("a server closes connections from addresses outside its allow list at accept") {
  auto far = AllowList::Parse("10.0.0.0/8");
  auto near = AllowList::Parse("10.0.0.0/8, 127.0.0.0/8");
  REQUIRE(far.ok());
  REQUIRE(near.ok());
  auto elsewhere = StartServer(nullptr, *far);
  auto here = StartServer(nullptr, *near);
  CHECK(CallWith(*here, nullptr).ok());
  auto r = CallWith(*elsewhere, nullptr);
  CHECK_FALSE(r.ok());
  CHECK(r.status().code() != Code::kOk);
  // Nothing is read from it: not even a handshake is answered.
  RawConn c(elsewhere->port());
  CHECK_FALSE(c.Exchange(Opcode::kHello, Encode(HelloReq{kProtocolVersion, "client", "t", ""})));
}
