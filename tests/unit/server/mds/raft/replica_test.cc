// raft::Replica over real TCP on 127.0.0.1: three members in this process,
// each with its own RpcServer and log directory. A leader is elected, takes
// proposals, every member applies the same sequence; the leader is stopped,
// another takes over; the stopped member restarts from its disk and
// catches up.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "common/net/rpc_server.h"
#include "server/mds/raft/log_store.h"
#include "server/mds/raft/replica.h"
#include "server/mds/raft/snapshot_transfer.h"

// Names are built with append, not "f" + std::to_string(i): at -O3, GCC 12
// warns (-Wrestrict) about the insert that operator+(const char*, string&&)
// inlines, a false positive (GCC bug 105329).
namespace amlfs::raft {
namespace {

using namespace std::chrono_literals;

struct Member {
  NodeId id = 0;
  std::string dir;
  std::unique_ptr<RpcServer> server;
  std::atomic<Replica*> replica{nullptr};
  std::unique_ptr<Replica> owned;
  std::mutex mu;
  std::vector<std::string> applied;  // the state machine: what was applied, in order
  Index applied_index = 0;
  int installs = 0;
  std::vector<Term> leads;             // StateMachine::lead's calls, in order
  std::atomic<int> lead_disagrees{0};  // calls that info() did not agree with
};

class Group {
 public:
  // `voters` replicas start as the group; `pool` - `voters` more get a
  // server and an address but are not started (candidates to add).
  explicit Group(NodeId voters = 3, NodeId pool = 3) {
    root_ = std::filesystem::temp_directory_path() /
            ("raft-replica-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(root_);
    for (NodeId id = 1; id <= pool; ++id) {
      auto m = std::make_unique<Member>();
      m->id = id;
      m->dir = (root_ / (std::string("r").append(std::to_string(id)))).string();
      Member* raw = m.get();
      m->server = std::make_unique<RpcServer>(
          RpcServer::Options{"mds", 1, 1, {}}, [raw](std::shared_ptr<RpcCall> call) {
            Replica* r = raw->replica.load();
            if (call->op() != Opcode::kRaft || !r) return call->Reply(Status::Ok(), {});
            r->Receive(std::string(call->payload()),
                       [call](std::string rsp) { call->Reply(Status::Ok(), rsp); });
          });
      REQUIRE(m->server->Listen(HostPort{"127.0.0.1", 0}).ok());
      m->server->Start();
      addresses_[id] = "127.0.0.1:" + std::to_string(m->server->port());
      if (id <= voters) members_[id] = addresses_[id];
      m_.push_back(std::move(m));
    }
    for (auto& m : m_)
      if (m->id <= voters) StartReplica(*m);
  }
  ~Group() {
    for (auto& m : m_) StopReplica(*m);
    for (auto& m : m_) m->server->Stop();
    std::filesystem::remove_all(root_);
  }

  // Snapshots every `snapshot_entries` entries (0: none), sent in chunks
  // of `chunk` bytes.
  void EnableSnapshots(uint64_t snapshot_entries, uint64_t keep, size_t chunk) {
    snapshot_entries_ = snapshot_entries;
    keep_ = keep;
    chunk_ = chunk;
  }

  void StartReplica(Member& m) {
    Replica::Options o;
    o.id = m.id;
    o.members = members_;  // a replica outside the group knows it, and itself
    o.members[m.id] = addresses_[m.id];
    o.dir = m.dir;
    o.tick = 20ms;
    o.snapshot_entries = snapshot_entries_;
    o.keep_entries = keep_;
    o.snapshot_chunk = chunk_;
    {
      std::lock_guard lk(m.mu);
      m.applied.clear();  // the state machine is in memory: rebuilt from the log
      m.applied_index = 0;
      m.leads.clear();
    }
    Replica::StateMachine sm;
    sm.apply = [&m](const Entry& e) {
      std::lock_guard lk(m.mu);
      m.applied_index = e.index;
      if (e.type == EntryType::kCommand) m.applied.push_back(e.data);
    };
    // A snapshot file: the applied index, then one command per line.
    sm.save = [&m](Index index, const std::string& path) -> Status {
      std::lock_guard lk(m.mu);
      if (index != m.applied_index) return Error(Code::kInternal, "not at the applied index");
      std::ofstream f(path);
      f << index << "\n";
      for (const std::string& v : m.applied) f << v << "\n";
      return f.good() ? Status::Ok() : Error(Code::kIo, "cannot write " + path);
    };
    sm.install = [&m](Index index, const std::string& path) -> Status {
      std::ifstream f(path);
      Index at = 0;
      std::vector<std::string> state;
      std::string line;
      if (!(f >> at) || at != index)
        return Error(Code::kCorrupt, path + ": not snapshot " + std::to_string(index));
      std::getline(f, line);
      while (std::getline(f, line)) state.push_back(line);
      std::lock_guard lk(m.mu);
      m.applied = std::move(state);
      m.applied_index = index;
      ++m.installs;
      return Status::Ok();
    };
    // info() already shows what the callback reports.
    sm.lead = [&m](Term t) {
      Replica* r = m.replica.load();
      if (r && ((t != 0) != r->info().ready || (t != 0 && t != r->info().term))) ++m.lead_disagrees;
      std::lock_guard lk(m.mu);
      m.leads.push_back(t);
    };
    auto r = Replica::Open(o, 0, std::move(sm));
    REQUIRE(r.ok());
    m.owned = std::move(*r);
    m.owned->Start();
    m.replica = m.owned.get();
  }
  void StopReplica(Member& m) {
    m.replica = nullptr;
    if (m.owned) m.owned->Stop();
    m.owned.reset();
  }

  // The member that leads, once one does (within `limit`), or nullptr.
  Member* Leader(std::chrono::milliseconds limit = 5000ms) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      for (auto& m : m_)
        if (m->owned && m->owned->info().role == Role::kLeader) return m.get();
      std::this_thread::sleep_for(10ms);
    }
    return nullptr;
  }

  Result<Index> Propose(Member& m, std::string v) {
    std::promise<Result<Index>> p;
    m.owned->Propose(std::move(v), [&p](Result<Index> r) { p.set_value(std::move(r)); });
    auto f = p.get_future();
    if (f.wait_for(5s) != std::future_status::ready) return Error(Code::kTimeout, "no answer");
    return f.get();
  }

  Result<Index> ChangeMembers(Member& m, NodeId id, std::string address) {
    std::promise<Result<Index>> p;
    m.owned->ChangeMembers(id, std::move(address),
                           [&p](Result<Index> r) { p.set_value(std::move(r)); });
    auto f = p.get_future();
    if (f.wait_for(5s) != std::future_status::ready) return Error(Code::kTimeout, "no answer");
    return f.get();
  }
  const std::string& address(NodeId id) { return addresses_[id]; }

  // Waits until every running member applied `n` commands; returns them.
  std::vector<std::vector<std::string>> WaitApplied(size_t n) {
    auto end = std::chrono::steady_clock::now() + 10s;
    std::vector<std::vector<std::string>> out;
    while (std::chrono::steady_clock::now() < end) {
      out.clear();
      bool all = true;
      for (auto& m : m_) {
        if (!m->owned) continue;
        std::lock_guard lk(m->mu);
        out.push_back(m->applied);
        all = all && m->applied.size() >= n;
      }
      if (all) break;
      std::this_thread::sleep_for(10ms);
    }
    return out;
  }

  std::vector<std::unique_ptr<Member>> m_;

 private:
  uint64_t snapshot_entries_ = 0, keep_ = 0;
  size_t chunk_ = 1 << 20;
  static inline int counter_ = 0;
  std::filesystem::path root_;
  std::map<NodeId, std::string> members_;    // the initial configuration
  std::map<NodeId, std::string> addresses_;  // of every replica of the pool
};

TEST_CASE("raft replica: a group over TCP elects, replicates, fails over and catches up") {
  Group g;
  Member* leader = g.Leader();
  REQUIRE(leader != nullptr);
  std::vector<std::string> expect;
  for (int i = 0; i < 50; ++i) {
    expect.push_back(std::string("a").append(std::to_string(i)));
    auto r = g.Propose(*leader, expect.back());
    REQUIRE(r.ok());
  }
  // A follower refuses proposals and names the leader.
  for (auto& m : g.m_) {
    if (m.get() == leader) continue;
    auto r = g.Propose(*m, "nope");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kUnavailable);
    CHECK_THAT(r.status().message(), Catch::Contains("try 127.0.0.1:"));
    break;
  }
  for (auto& seq : g.WaitApplied(expect.size())) CHECK(seq == expect);

  // A read barrier on the leader passes; on a follower it fails.
  std::promise<Status> rb;
  leader->owned->ReadBarrier([&rb](Status s) { rb.set_value(s); });
  CHECK(rb.get_future().get().ok());

  // The leader goes away: another is elected, and takes proposals.
  Member* old = leader;
  auto t0 = std::chrono::steady_clock::now();
  g.StopReplica(*old);
  Member* next = g.Leader();
  REQUIRE(next != nullptr);
  REQUIRE(next != old);
  auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  WARN("new leader after " << took.count() << " ms");
  for (int i = 0; i < 20; ++i) {
    expect.push_back(std::string("b").append(std::to_string(i)));
    REQUIRE(g.Propose(*next, expect.back()).ok());
  }
  // The old leader restarts from its log on disk and catches up.
  g.StartReplica(*old);
  auto all = g.WaitApplied(expect.size());
  REQUIRE(all.size() == 3);
  for (auto& seq : all) CHECK(seq == expect);
  CHECK(old->owned->info().role != Role::kLeader);
}

TEST_CASE(
    "raft replica: a leader cut off from the others loses its lease, then fails what it was "
    "given") {
  Group g;
  Member* leader = g.Leader();
  REQUIRE(leader != nullptr);
  REQUIRE(g.Propose(*leader, "x").ok());
  auto serves = [&] { return leader->owned->info().Serves(std::chrono::steady_clock::now()); };
  auto until = std::chrono::steady_clock::now() + 2s;
  while (!serves() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
  REQUIRE(serves());  // a majority answers its heartbeats: it may answer reads
  for (auto& m : g.m_)
    if (m.get() != leader) g.StopReplica(*m);
  auto t0 = std::chrono::steady_clock::now();
  std::promise<Result<Index>> p;
  leader->owned->Propose("lost", [&p](Result<Index> r) { p.set_value(std::move(r)); });
  auto f = p.get_future();
  // The lease ends before anyone else could be elected: it rests on the
  // last heartbeat round a majority answered, which began before t0, and a
  // follower votes only (election_ticks - 1) ticks after it last heard from
  // the leader. That is checked on the lease's end, not timed: how soon this
  // thread sees it end depends on the machine. The step-down (check-quorum,
  // 10-20 ticks) then fails the proposal.
  // The latest end of the lease the leader announces while it serves (a
  // replica that stopped leading announces none).
  auto lease_until = leader->owned->info().lease_until;
  while (serves() && std::chrono::steady_clock::now() < t0 + 10s) {
    lease_until = std::max(lease_until, leader->owned->info().lease_until);
    std::this_thread::sleep_for(5ms);
  }
  CHECK_FALSE(serves());
  const auto vote_after = 20ms * (Replica::Options{}.election_ticks - 1);
  REQUIRE(lease_until > t0 - 10s);  // it had a lease when the followers stopped
  CHECK(lease_until <= t0 + vote_after);
  auto lease_left = std::chrono::duration_cast<std::chrono::milliseconds>(lease_until - t0);
  REQUIRE(f.wait_for(3s) == std::future_status::ready);
  auto r = f.get();
  CHECK_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);
  std::this_thread::sleep_for(50ms);  // info() is refreshed after the callbacks run
  CHECK(leader->owned->info().role != Role::kLeader);
  WARN("lease ended " << lease_left.count() << " ms after the followers stopped (votes after "
                      << vote_after.count() << " ms)");
}

TEST_CASE("raft replica: the lead callback reports each term it is the ready leader in, then 0") {
  Group g;
  Member* leader = g.Leader();
  REQUIRE(leader != nullptr);
  REQUIRE(g.Propose(*leader, "x").ok());  // committed in its term: it is ready
  auto leads = [](Member& m) {
    std::lock_guard lk(m.mu);
    return m.leads;
  };
  // Every member's calls alternate: a term, greater than any before, then 0.
  auto well_formed = [](const std::vector<Term>& v) {
    Term last = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      if (i % 2 == 1 && v[i] != 0) return false;
      if (i % 2 == 0 && v[i] <= last) return false;
      if (i % 2 == 0) last = v[i];
    }
    return true;
  };
  // The callback comes at the end of the Process that applied it.
  auto until = std::chrono::steady_clock::now() + 5s;
  while (leads(*leader).empty() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  std::vector<Term> got = leads(*leader);
  REQUIRE(!got.empty());
  CHECK(got.back() == leader->owned->info().term);
  for (auto& m : g.m_) {
    CHECK(well_formed(leads(*m)));
    if (m.get() != leader && !leads(*m).empty()) CHECK(leads(*m).back() == 0);
  }
  // Cut off, the leader steps down (check-quorum) and says so.
  for (auto& m : g.m_)
    if (m.get() != leader) g.StopReplica(*m);
  until = std::chrono::steady_clock::now() + 10s;
  while (leads(*leader).back() != 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  got = leads(*leader);
  CHECK(got.back() == 0);
  CHECK(well_formed(got));
  CHECK(leader->owned->info().role != Role::kLeader);
  for (auto& m : g.m_) CHECK(m->lead_disagrees == 0);
}

TEST_CASE("raft replica: a follower behind the leader's compacted log catches up by snapshot") {
  Group g;
  // Snapshots every 40 entries, 10 kept behind, sent 100 bytes at a time.
  g.EnableSnapshots(40, 10, 100);
  for (auto& m : g.m_) {
    g.StopReplica(*m);
    g.StartReplica(*m);
  }
  Member* leader = g.Leader();
  REQUIRE(leader != nullptr);
  std::vector<std::string> expect;
  for (int i = 0; i < 10; ++i) {
    expect.push_back(std::string("a").append(std::to_string(i)));
    REQUIRE(g.Propose(*leader, expect.back()).ok());
  }
  g.WaitApplied(expect.size());
  Member* lagging = nullptr;
  for (auto& m : g.m_)
    if (m.get() != leader) lagging = m.get();
  g.StopReplica(*lagging);
  for (int i = 0; i < 150; ++i) {
    expect.push_back(std::string("b").append(std::to_string(i)));
    REQUIRE(g.Propose(*leader, expect.back()).ok());
  }
  // The leader compacted past everything the stopped follower holds.
  Replica::Info li = leader->owned->info();
  CHECK(li.snapshot_index >= 120);
  CHECK(li.first > 100);

  g.StartReplica(*lagging);
  auto all = g.WaitApplied(expect.size());
  REQUIRE(all.size() == 3);
  for (auto& seq : all) CHECK(seq == expect);
  {
    std::lock_guard lk(lagging->mu);
    CHECK(lagging->installs >= 1);
  }
  CHECK(lagging->owned->info().first > 100);
  CHECK(std::filesystem::exists(lagging->dir + "/snapshot-" +
                                std::to_string(lagging->owned->info().snapshot_index) + "-" +
                                std::to_string(lagging->owned->info().term)) ==
        (lagging->owned->info().snapshot_index > 0));

  // New entries reach it through the log again; then it restarts from its
  // snapshot and compacted log.
  for (int i = 0; i < 5; ++i) {
    expect.push_back(std::string("c").append(std::to_string(i)));
    REQUIRE(g.Propose(*leader, expect.back()).ok());
  }
  g.StopReplica(*lagging);
  g.StartReplica(*lagging);
  all = g.WaitApplied(expect.size());
  for (auto& seq : all) CHECK(seq == expect);
}

TEST_CASE("raft replica: a dead member is replaced by a new empty one, which then counts") {
  Group g(3, 4);
  g.EnableSnapshots(40, 10, 100);
  for (auto& m : g.m_) {
    if (!m->owned) continue;
    g.StopReplica(*m);
    g.StartReplica(*m);
  }
  Member* leader = g.Leader();
  REQUIRE(leader != nullptr);
  std::vector<std::string> expect;
  auto propose = [&](const std::string& prefix, int n, Member& at) {
    for (int i = 0; i < n; ++i) {
      expect.push_back(prefix + std::to_string(i));
      REQUIRE(g.Propose(at, expect.back()).ok());
    }
  };
  propose("a", 80, *leader);
  // A follower dies with its disk.
  Member* dead = nullptr;
  for (auto& m : g.m_)
    if (m.get() != leader && m->owned) dead = m.get();
  g.StopReplica(*dead);
  std::filesystem::remove_all(dead->dir);
  REQUIRE(g.ChangeMembers(*leader, dead->id, "").ok());
  auto again = g.ChangeMembers(*leader, dead->id, "");
  CHECK(again.status().code() == Code::kInvalid);
  propose("b", 5, *leader);

  // A new, empty replica 4 is started, then added; it catches up by snapshot.
  Member* fresh = g.m_[3].get();
  g.StartReplica(*fresh);
  REQUIRE(g.ChangeMembers(*leader, 4, g.address(4)).ok());
  CHECK(g.ChangeMembers(*leader, 4, g.address(4)).status().code() == Code::kInvalid);
  propose("c", 5, *leader);
  for (auto& seq : g.WaitApplied(expect.size())) CHECK(seq == expect);
  {
    std::lock_guard lk(fresh->mu);
    CHECK(fresh->installs >= 1);
  }
  const Members now = leader->owned->info().members;
  CHECK(now.size() == 3);
  CHECK(now.count(4) == 1);
  CHECK(now.count(dead->id) == 0);

  // The leader goes: the survivor and the new replica elect one of them.
  Member* old = leader;
  g.StopReplica(*old);
  Member* next = g.Leader();
  REQUIRE(next != nullptr);
  CHECK(next != old);
  propose("d", 5, *next);
  for (auto& seq : g.WaitApplied(expect.size())) CHECK(seq == expect);
  // Restarted, the old leader takes the configuration from its compacted
  // log, not the initial one.
  g.StartReplica(*old);
  for (auto& seq : g.WaitApplied(expect.size())) CHECK(seq == expect);
  CHECK(old->owned->info().members == now);

  // A leader that removes itself answers, steps down, and the two others
  // go on without it.
  Member* leaving = g.Leader();
  REQUIRE(leaving != nullptr);
  REQUIRE(g.ChangeMembers(*leaving, leaving->id, "").ok());
  Member* after = nullptr;
  for (int i = 0; i < 300 && (after == nullptr || after == leaving); ++i) {
    after = g.Leader();
    std::this_thread::sleep_for(10ms);
  }
  REQUIRE(after != nullptr);
  REQUIRE(after != leaving);
  CHECK(after->owned->info().members.count(leaving->id) == 0);
  propose("e", 5, *after);
  g.StopReplica(*leaving);
  for (auto& seq : g.WaitApplied(expect.size())) CHECK(seq == expect);
}

}  // namespace
}  // namespace amlfs::raft

namespace amlfs::raft {
namespace {

TEST_CASE("raft replica: a snapshot received just before a crash brings its configuration back") {
  // The crash came after the snapshot was published and before the log was
  // compacted to it: the log still ends before the snapshot and knows
  // nothing of the change to {1, 2, 4} the snapshot covers.
  auto dir = std::filesystem::temp_directory_path() / ("raft-crash-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    auto store = LogStore::Open(dir.string());
    REQUIRE(store.ok());
    REQUIRE((*store)
                ->Append({Entry{1, 1, EntryType::kNoop, {}}, Entry{1, 2, EntryType::kCommand, "a"}})
                .ok());
  }
  const Members after{{1, "127.0.0.1:1"}, {2, "127.0.0.1:2"}, {4, "127.0.0.1:4"}};
  const std::string tmp = (dir / "snapshot.tmp").string();
  { std::ofstream(tmp) << "state"; }
  REQUIRE(PublishSnapshot(dir.string(), tmp, 10, 2, EncodeMembers(after)).ok());
  Replica::Options o;
  o.id = 1;
  o.members = {{1, "127.0.0.1:1"}, {2, "127.0.0.1:2"}, {3, "127.0.0.1:3"}};  // --peers, older
  o.dir = dir.string();
  Replica::StateMachine sm;
  sm.apply = [](const Entry&) {};
  Index installed = 0;
  sm.install = [&](Index i, const std::string&) {
    installed = i;
    return Status::Ok();
  };
  {
    auto r = Replica::Open(o, 0, sm);
    REQUIRE(r.ok());
    CHECK(installed == 10);
    (*r)->Start();
    std::this_thread::sleep_for(100ms);
    CHECK((*r)->info().members == after);
    CHECK((*r)->info().first == 11);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace amlfs::raft
