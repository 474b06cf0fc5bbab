// MdsClient against fake MDS replicas in this process (RpcServers on
// 127.0.0.1): it follows the leader a replica names, learns a leader it was
// not given, skips an address that is down, waits out an election, and
// gives up with kUnavailable at its deadline when nothing serves.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "common/client/mds_client.h"
#include "common/log.h"
#include "common/net/net_context.h"
#include "common/net/rpc_server.h"
#include "tests/unit/common/net/net_test_util.h"

using namespace amlfs;
using namespace std::chrono_literals;

namespace {

// How a replica that does not lead answers, naming the leader's address
// ("" while it knows none, as during an election). The only place this test
// spells out the not-the-leader answer.
void ReplyNotLeader(RpcCall& call, const std::string& leader) {
  call.Reply(leader.empty() ? Error(Code::kUnavailable, "not the leader") : NotLeaderError(leader),
             {});
}

// A fake MDS replica: it leads (answers StatFs with its id in total_bytes,
// and Unlink with `unlink_answer`) or it does not (answers with
// ReplyNotLeader and the hint it is given). It records the caller of each
// request it receives.
class FakeReplica {
 public:
  explicit FakeReplica(uint64_t id) : id_(id) {
    RpcServer::Options o;
    o.role = "mds";
    o.io_threads = 1;
    o.worker_threads = 2;
    server_ = std::make_unique<RpcServer>(std::move(o),
                                          [this](std::shared_ptr<RpcCall> call) { Handle(*call); });
    REQUIRE(server_->Listen(HostPort{"127.0.0.1", 0}).ok());
    address_ = "127.0.0.1:" + std::to_string(server_->port());
    server_->Start();
  }
  ~FakeReplica() { server_->Stop(); }

  const std::string& address() const { return address_; }
  void Lead() {
    std::lock_guard lk(mu_);
    leading_ = true;
  }
  void Follow(std::string hint) {
    std::lock_guard lk(mu_);
    leading_ = false;
    hint_ = std::move(hint);
  }
  void AnswerUnlinkWith(Status st) {
    std::lock_guard lk(mu_);
    unlink_answer_ = std::move(st);
  }
  size_t calls() {
    std::lock_guard lk(mu_);
    return callers_.size();
  }
  std::vector<Caller> callers() {
    std::lock_guard lk(mu_);
    return callers_;
  }

 private:
  void Handle(RpcCall& call) {
    Caller caller;
    Status decoded;
    if (call.op() == Opcode::kStatFs) {
      StatFsReq r;
      decoded = call.DecodeRequest(&r);
      caller = r.caller;
    } else if (call.op() == Opcode::kUnlink) {
      UnlinkReq r;
      decoded = call.DecodeRequest(&r);
      caller = r.caller;
    } else {
      return call.Reply(Error(Code::kNotSupported, "fake replica"), {});
    }
    if (!decoded.ok()) return call.Reply(decoded, {});
    std::unique_lock lk(mu_);
    callers_.push_back(caller);
    if (!leading_) {
      const std::string hint = hint_;
      lk.unlock();
      return ReplyNotLeader(call, hint);
    }
    const Status unlink_answer = unlink_answer_;
    lk.unlock();
    if (call.op() == Opcode::kUnlink) {
      if (!unlink_answer.ok()) return call.Reply(unlink_answer, {});
      return call.ReplyWith(Result<EmptyRsp>(EmptyRsp{}));
    }
    StatFsRsp rsp;
    rsp.total_bytes = id_;
    call.ReplyWith(Result<StatFsRsp>(rsp));
  }

  const uint64_t id_;
  std::unique_ptr<RpcServer> server_;
  std::string address_;
  std::mutex mu_;
  bool leading_ = false;
  std::string hint_;
  Status unlink_answer_;
  std::vector<Caller> callers_;
};

// An address nothing listens on.
std::string DeadAddress() { return "127.0.0.1:" + std::to_string(testing::FreeLoopbackPort()); }

// Which replica answered a StatFs (its id), or the error.
Result<uint64_t> WhoAnswers(MdsClient& mds) {
  auto r = mds.Call(StatFsReq{}, Creds{});
  if (!r.ok()) return r.status();
  return r->total_bytes;
}

}  // namespace

TEST_CASE("a replica that does not lead sends the client to the leader it names") {
  SetLogLevel(LogLevel::kWarn);
  FakeReplica a(1), b(2), c(3);
  c.Lead();
  a.Follow(c.address());
  b.Follow(c.address());
  NetContext net(1);
  MdsClient mds(net, {a.address(), b.address(), c.address()}, 5s, "test");

  auto who = WhoAnswers(mds);
  REQUIRE(who.ok());
  CHECK(*who == 3);
  CHECK(a.calls() == 1);
  CHECK(b.calls() == 0);  // the hint is followed, not the next address
  CHECK(mds.address() == c.address());

  // The leader is remembered: the next call goes to it first.
  REQUIRE(WhoAnswers(mds).ok());
  CHECK(a.calls() == 1);
  CHECK(c.calls() == 2);

  SECTION("the leader moves: the old one names the new one") {
    a.Lead();
    c.Follow(a.address());
    who = WhoAnswers(mds);
    REQUIRE(who.ok());
    CHECK(*who == 1);
    CHECK(mds.address() == a.address());
  }
  SECTION("an error that is not about leadership is the answer, from the leader alone") {
    c.AnswerUnlinkWith(Error(Code::kNotFound, "no such entry"));
    auto r = mds.Call(UnlinkReq{{}, InodeId(1), "x"}, Creds{});
    CHECK(r.status().code() == Code::kNotFound);
    CHECK(a.calls() == 1);
    CHECK(b.calls() == 0);
  }
}

TEST_CASE("a leader named by a replica but not given to the client is learned") {
  SetLogLevel(LogLevel::kWarn);
  FakeReplica a(1), b(2), c(3);
  c.Lead();
  a.Follow(c.address());
  b.Follow(c.address());
  NetContext net(1);
  MdsClient mds(net, {a.address(), b.address()}, 5s, "test");
  auto who = WhoAnswers(mds);
  REQUIRE(who.ok());
  CHECK(*who == 3);
  CHECK(mds.address() == c.address());
}

TEST_CASE("a retried mutation carries the same sequence number to the leader") {
  SetLogLevel(LogLevel::kWarn);
  FakeReplica a(1), c(3);
  c.Lead();
  a.Follow(c.address());
  NetContext net(1);
  MdsClient mds(net, {a.address(), c.address()}, 5s, "test");
  Creds creds;
  creds.uid = 1000;
  REQUIRE(mds.Call(UnlinkReq{{}, InodeId(1), "x"}, creds).ok());
  REQUIRE(mds.Call(UnlinkReq{{}, InodeId(1), "y"}, creds).ok());
  REQUIRE(mds.Call(StatFsReq{}, creds).ok());
  const auto at_a = a.callers();
  const auto at_c = c.callers();
  REQUIRE(at_a.size() == 1);
  REQUIRE(at_c.size() == 3);
  CHECK(at_a[0].seq != 0);
  CHECK(at_a[0].seq == at_c[0].seq);  // the same request, retried
  CHECK(at_a[0].client == at_c[0].client);
  CHECK(at_c[1].seq > at_c[0].seq);
  CHECK(at_c[2].seq == 0);  // not a mutation
  CHECK(at_c[0].client == mds.client_id());
  CHECK(at_c[0].uid == 1000);
}

TEST_CASE("an address that is down is skipped for the next one") {
  SetLogLevel(LogLevel::kWarn);
  FakeReplica b(2);
  b.Lead();
  NetContext net(1);
  const auto start = std::chrono::steady_clock::now();
  MdsClient mds(net, {DeadAddress(), b.address()}, 5s, "test");
  auto who = WhoAnswers(mds);
  REQUIRE(who.ok());
  CHECK(*who == 2);
  CHECK(std::chrono::steady_clock::now() - start < 2s);  // not a wait for the deadline
  CHECK(mds.address() == b.address());
}

TEST_CASE("while no replica leads the call waits for an election, up to its deadline") {
  SetLogLevel(LogLevel::kWarn);
  FakeReplica a(1), b(2);
  a.Follow("");
  b.Follow("");
  NetContext net(1);
  MdsClient mds(net, {a.address(), b.address()}, 5s, "test");
  std::thread elect([&] {
    std::this_thread::sleep_for(400ms);
    a.Follow(b.address());
    b.Lead();
  });
  auto who = WhoAnswers(mds);
  elect.join();
  REQUIRE(who.ok());
  CHECK(*who == 2);
  CHECK(a.calls() + b.calls() > 2);  // asked again while the election ran
}

TEST_CASE("when nothing serves, the call fails with Unavailable at its deadline") {
  SetLogLevel(LogLevel::kWarn);
  NetContext net(1);
  std::vector<std::string> addresses;
  std::unique_ptr<FakeReplica> a, b;
  SECTION("every address down") { addresses = {DeadAddress(), DeadAddress()}; }
  SECTION("every replica without a leader") {
    a = std::make_unique<FakeReplica>(1);
    b = std::make_unique<FakeReplica>(2);
    a->Follow("");
    b->Follow("");
    addresses = {a->address(), b->address()};
  }
  SECTION("a single address, down") { addresses = {DeadAddress()}; }
  MdsClient mds(net, addresses, 1s, "test");
  const auto start = std::chrono::steady_clock::now();
  auto who = WhoAnswers(mds);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(who.status().code() == Code::kUnavailable);
  CHECK(took >= 700ms);  // it kept trying, not one round and out
  CHECK(took < 4s);
}
