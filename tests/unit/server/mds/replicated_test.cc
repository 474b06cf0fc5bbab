// ReplicatedMds over real TCP on 127.0.0.1: three MDS replicas in this
// process, each an Mds on its own LevelDB with its Raft log, served by an
// MdsService behind its own RpcServer. One takes the lead (its TakeLead
// creates the file system through the log, so it must not run on the
// replica's thread) and its gate opens while the others name it; the leader
// stops or is removed, another takes the lead from the replica's callback,
// and what is committed through either leader reaches every replica left.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/net/rpc_server.h"
#include "common/protocol.h"
#include "server/mds/replicated.h"

namespace amlfs::mds {
namespace {

using namespace std::chrono_literals;

// Polls `f` until it holds or `limit` passes; generous limits, so that a
// loaded machine is slower, not failing.
template <typename F>
bool Eventually(F f, std::chrono::milliseconds limit = 8000ms) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!f()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

struct Replica {
  raft::NodeId id = 0;
  std::string dir, address;
  std::unique_ptr<RpcServer> server;
  std::atomic<MdsService*> service{nullptr};
  std::unique_ptr<ReplicatedMds> repl;
  std::unique_ptr<Mds> mds;
  std::unique_ptr<MdsService> owned_service;
  bool stopped = false;

  void Stop() {
    if (stopped) return;
    stopped = true;
    repl->Stop();
    server->Stop();
  }
};

class Cluster {
 public:
  Cluster() {
    SetLogLevel(LogLevel::kWarn);
    root_ = std::filesystem::temp_directory_path() /
            ("mds-replicated-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(root_);
    std::map<raft::NodeId, std::string> members;
    // The servers first (on any free port): every replica's options name
    // all the addresses.
    for (raft::NodeId id = 1; id <= 3; ++id) {
      auto r = std::make_unique<Replica>();
      r->id = id;
      r->dir = (root_ / std::string("m").append(std::to_string(id))).string();
      std::filesystem::create_directories(r->dir);
      Replica* raw = r.get();
      RpcServer::Options so;
      so.role = "mds";
      so.io_threads = 1;
      so.worker_threads = 2;
      r->server = std::make_unique<RpcServer>(so, [raw](std::shared_ptr<RpcCall> call) {
        MdsService* s = raw->service.load();
        if (!s) return call->Reply(Error(Code::kUnavailable, "starting"), {});
        s->Handle(std::move(call));
      });
      REQUIRE(r->server->Listen(HostPort{"127.0.0.1", 0}).ok());
      r->server->Start();
      r->address = std::string("127.0.0.1:").append(std::to_string(r->server->port()));
      members[id] = r->address;
      r_.push_back(std::move(r));
    }
    for (auto& r : r_) {
      raft::Replica::Options o;
      o.id = r->id;
      o.members = members;
      o.dir = r->dir + "/raft";
      o.tick = 20ms;
      r->repl = std::make_unique<ReplicatedMds>(o);
      auto m = Mds::Open(r->dir, MdsConfig{}, nullptr, nullptr, r->repl->replicator());
      REQUIRE(m.ok());
      r->mds = std::move(*m);
      REQUIRE(r->repl->Open(r->mds.get()).ok());
      r->owned_service = std::make_unique<MdsService>(r->mds.get());
      r->owned_service->SetReplication(r->repl->Hooks());
      r->service = r->owned_service.get();
    }
    for (auto& r : r_) r->repl->Start();
  }
  ~Cluster() {
    for (auto& r : r_) r->Stop();
    for (auto& r : r_) {
      r->service = nullptr;
      r->owned_service.reset();
      r->mds.reset();
      r->repl.reset();
    }
    std::filesystem::remove_all(root_);
  }

  // The one running replica whose gate is open, once exactly one's is.
  Replica* WaitForLeader() {
    Replica* leader = nullptr;
    Eventually([&] {
      leader = nullptr;
      int open = 0;
      for (auto& r : r_)
        if (!r->stopped && r->repl->Gate().ok()) {
          leader = r.get();
          ++open;
        }
      return open == 1;
    });
    return leader;
  }
  std::vector<Replica*> Others(const Replica* than) {
    std::vector<Replica*> out;
    for (auto& r : r_)
      if (r.get() != than && !r->stopped) out.push_back(r.get());
    return out;
  }
  Caller Next() {
    Caller c;
    c.client = ClientId(7);
    c.seq = ++seq_;
    return c;
  }

 private:
  static inline std::atomic<int> counter_{0};
  std::filesystem::path root_;
  std::vector<std::unique_ptr<Replica>> r_;
  uint64_t seq_ = 0;
};

bool Has(Mds& m, const std::string& name) {
  return m.Lookup(LookupReq{Caller{}, kRootInode, name}).ok();
}

// The gate of a replica that does not lead names the leader once it knows
// it (a client moves there).
bool NamesLeader(Replica& r, const Replica& leader) {
  Status st = r.repl->Gate();
  return st.code() == Code::kUnavailable && st.leader() == leader.address &&
         st.message() == NotLeaderError(leader.address).message();
}

TEST_CASE("the ready leader takes the lead and serves, and the others name it") {
  Cluster c;
  Replica* leader = c.WaitForLeader();
  REQUIRE(leader != nullptr);
  CHECK(leader->mds->leading());
  CHECK(leader->repl->leading_term() == leader->repl->info().term);
  MdsStatusRsp s = leader->repl->Describe();
  CHECK(s.serving);
  CHECK(s.role == "leader");
  CHECK(s.members.size() == 3);
  for (Replica* r : c.Others(leader)) {
    CHECK(Eventually([&] { return NamesLeader(*r, *leader); }));
    CHECK_FALSE(r->mds->leading());
    CHECK(r->repl->leading_term() == 0);
    CHECK_FALSE(r->repl->Describe().serving);
  }
  // The first leader created the file system through the log: every
  // replica has the root.
  for (Replica* r : c.Others(nullptr))
    CHECK(Eventually([&] { return r->mds->GetAttr(GetAttrReq{Caller{}, kRootInode}).ok(); }));
}

TEST_CASE("when the leader stops another takes the lead, with what the first committed") {
  Cluster c;
  Replica* first = c.WaitForLeader();
  REQUIRE(first != nullptr);
  const raft::Term first_term = first->repl->leading_term();
  REQUIRE(first->mds->Wait(first->mds->Mkdir(MkdirReq{c.Next(), kRootInode, "before", 0755})).ok());
  first->Stop();

  Replica* second = c.WaitForLeader();
  REQUIRE(second != nullptr);
  REQUIRE(second != first);
  // TakeLead ran, from the replica's callback: nothing else calls it.
  CHECK(Eventually([&] { return second->mds->leading(); }));
  CHECK(second->repl->leading_term() > first_term);
  CHECK(Has(*second->mds, "before"));
  REQUIRE(
      second->mds->Wait(second->mds->Mkdir(MkdirReq{c.Next(), kRootInode, "after", 0755})).ok());
  for (Replica* r : c.Others(second)) {
    CHECK(Eventually([&] { return Has(*r->mds, "after") && Has(*r->mds, "before"); }));
    CHECK(Eventually([&] { return NamesLeader(*r, *second); }));
    CHECK_FALSE(r->mds->leading());
  }
}

TEST_CASE("a leader removed from the group steps down, and the others go on without it") {
  Cluster c;
  Replica* first = c.WaitForLeader();
  REQUIRE(first != nullptr);
  std::promise<Status> removed;
  first->repl->ChangeMembers(first->id, "", [&](Status st) { removed.set_value(st); });
  auto f = removed.get_future();
  REQUIRE(f.wait_for(8s) == std::future_status::ready);
  REQUIRE(f.get().ok());
  // StepDown ran, from the replica's callback, while its replica still runs.
  CHECK(Eventually([&] { return !first->mds->leading() && first->repl->leading_term() == 0; }));
  CHECK_FALSE(first->repl->Gate().ok());

  Replica* second = nullptr;
  CHECK(Eventually([&] {
    for (Replica* r : c.Others(first))
      if (r->repl->Gate().ok()) second = r;
    return second != nullptr;
  }));
  REQUIRE(second != nullptr);
  CHECK(second->repl->Describe().members.size() == 2);
  REQUIRE(second->mds->Wait(second->mds->Mkdir(MkdirReq{c.Next(), kRootInode, "two", 0755})).ok());
  for (Replica* r : c.Others(first)) CHECK(Eventually([&] { return Has(*r->mds, "two"); }));
}

}  // namespace
}  // namespace amlfs::mds
