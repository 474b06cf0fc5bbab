// The Raft module, unmodified, over a simulated network and disk in one
// process, driven by a seed: message loss, delay, reordering, duplication,
// partitions, crashes at any point (also between writing and syncing, which
// loses the unsynced writes) and restarts. After every step a checker
// verifies that no two leaders share a term, that a committed entry never
// changes (every replica applies the same sequence), that a new leader holds
// every committed entry, and, at the end, that every acknowledged proposal
// is committed exactly once and that the healed cluster makes progress.
//
// RAFT_SIM_SEEDS=N runs seeds 1..N (default 2000); RAFT_SIM_SEED=S runs
// only seed S, as a failure message says to reproduce it exactly.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

#include "server/mds/raft/node.h"

namespace amlfs::raft {
namespace {

struct Violation : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Sim {
 public:
  Sim(uint64_t seed, int n) : seed_(seed), rng_(seed) {
    for (int i = 1; i <= n; ++i) ids_.push_back(static_cast<NodeId>(i));
    for (NodeId id : ids_) {
      Replica& r = replicas_[id];
      r.side = 0;
      Start(id);
    }
  }

  // Faults for `chaos` time units, then a healed cluster must converge.
  void Run(uint64_t chaos, uint64_t settle) {
    faults_ = true;
    while (now_ < chaos) Step();
    faults_ = false;
    for (auto& [id, r] : replicas_) {
      r.side = 0;
      if (!r.node) Start(id);
    }
    const uint64_t deadline = now_ + settle;
    Term proposed_in = 0;  // the term of the leader that took the final proposal
    while (now_ < deadline) {
      Step();
      NodeId l = StableLeader();
      const Term t = l ? replicas_[l].node->term() : 0;
      if (l && t != proposed_in) {  // (again, if that leader lost its place)
        auto idx = replicas_[l].node->Propose("final-" + std::to_string(t));
        if (idx.ok()) {
          proposed_in = t;
          final_index_ = *idx;
        }
      }
      if (proposed_in && Converged()) return CheckAcknowledged();
    }
    std::string state;
    for (auto& [id, r] : replicas_) {
      if (!r.node) continue;
      const Node& n = *r.node;
      state += " [" + std::to_string(id) + " " + RoleName(n.role()) + " term " +
               std::to_string(n.term()) + " last " + std::to_string(n.last_index()) + " commit " +
               std::to_string(n.commit()) + " applied " + std::to_string(n.applied()) + "]";
    }
    Fail("no progress after the faults stopped; waiting for " + std::to_string(final_index_) + ":" +
         state);
  }

  size_t committed() const { return global_.size(); }
  size_t acknowledged() const { return acked_.size(); }

 private:
  struct Replica {
    std::unique_ptr<Node> node;
    HardState hs;            // on the simulated disk (synced)
    std::vector<Entry> log;  // on the simulated disk (synced)
    int side = 0;            // partition side
  };
  struct Flight {
    uint64_t at;
    Message m;
  };

  void Start(NodeId id) {
    Replica& r = replicas_[id];
    Config cfg;
    cfg.id = id;
    cfg.voters = ids_;
    cfg.election_ticks = 10;
    cfg.heartbeat_ticks = 2;
    cfg.max_append_entries = 8;
    cfg.seed = seed_ * 7919 + restarts_++;
    // The state machine is in memory here: it restarts empty and re-applies.
    r.node = std::make_unique<Node>(cfg, r.hs, r.log, 0);
  }

  [[noreturn]] void Fail(const std::string& what) {
    std::ostringstream o;
    o << "seed " << seed_ << " at t=" << now_ << ": " << what;
    throw Violation(o.str());
  }

  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  uint64_t Uniform(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }

  void Step() {
    ++now_;
    if (faults_) InjectFaults();
    if (now_ % 10 == 0)
      for (auto& [id, r] : replicas_)
        if (r.node) r.node->Tick();
    Deliver();
    if (faults_ && Chance(0.05)) ProposeSomewhere();
    for (auto& [id, r] : replicas_) {
      while (r.node && r.node->HasReady()) Process(id, r);
      if (r.node) Check(id, *r.node);
    }
  }

  void InjectFaults() {
    if (Chance(0.002)) {  // crash a running replica
      std::vector<NodeId> up;
      for (auto& [id, r] : replicas_)
        if (r.node) up.push_back(id);
      if (!up.empty()) replicas_[up[Uniform(0, up.size() - 1)]].node.reset();
    }
    for (auto& [id, r] : replicas_)
      if (!r.node && Chance(0.004)) Start(id);
    if (Chance(0.001)) {  // a random partition
      for (auto& [id, r] : replicas_) r.side = static_cast<int>(Uniform(0, 1));
    }
    if (Chance(0.002))
      for (auto& [id, r] : replicas_) r.side = 0;
  }

  void Deliver() {
    while (!flights_.empty() && flights_.begin()->first <= now_) {
      Message m = std::move(flights_.begin()->second);
      flights_.erase(flights_.begin());
      Replica& to = replicas_[m.to];
      if (!to.node || to.side != replicas_[m.from].side) continue;
      to.node->Step(m);
    }
  }

  void ProposeSomewhere() {
    for (auto& [id, r] : replicas_) {
      if (!r.node || r.node->role() != Role::kLeader) continue;
      std::string v = "v" + std::to_string(++proposals_);
      auto idx = r.node->Propose(v);
      if (idx.ok()) pending_[v] = {id, r.node->term()};
    }
  }

  void Process(NodeId id, Replica& r) {
    Ready rd = r.node->TakeReady();
    if (faults_ && Chance(0.003)) {
      // Crash after writing, before the sync: the writes are lost, and
      // nothing of this Ready was sent or applied.
      r.node.reset();
      return;
    }
    if (rd.hard_state) r.hs = *rd.hard_state;
    if (rd.truncate_from) {
      if (rd.truncate_from > r.log.size() + 1) Fail("truncation past the end of the log");
      r.log.resize(rd.truncate_from - 1);
    }
    for (const Entry& e : rd.entries) {
      if (e.index != r.log.size() + 1) Fail("non-contiguous append on node " + std::to_string(id));
      r.log.push_back(e);
    }
    for (Message& m : rd.messages) {
      if (faults_ && Chance(0.02)) continue;  // lost
      const int copies = faults_ && Chance(0.01) ? 2 : 1;
      for (int c = 0; c < copies; ++c) flights_.emplace(now_ + Uniform(1, faults_ ? 25 : 5), m);
    }
    for (const Entry& e : rd.committed) Apply(id, *r.node, e);
    r.node->Advance(rd);
  }

  void Apply(NodeId id, const Node& n, const Entry& e) {
    if (e.index <= global_.size()) {
      if (!(global_[e.index - 1] == e))
        Fail("node " + std::to_string(id) + " applied a different entry at " + std::to_string(e.index));
    } else if (e.index == global_.size() + 1) {
      global_.push_back(e);
    } else {
      Fail("node " + std::to_string(id) + " applied " + std::to_string(e.index) + " out of order");
    }
    // The leader that proposed it answers the client now.
    auto p = pending_.find(e.data);
    if (e.type == EntryType::kCommand && p != pending_.end() && p->second.first == id &&
        n.role() == Role::kLeader && e.term == p->second.second) {
      acked_.emplace(e.data, e.index);  // a restarted replica re-applies: answered once
    }
  }

  void Check(NodeId id, const Node& n) {
    if (!n.violation().empty()) Fail("node " + std::to_string(id) + ": " + n.violation());
    if (n.role() != Role::kLeader) return;
    auto [it, fresh] = leaders_.emplace(n.term(), id);
    if (it->second != id)
      Fail("two leaders in term " + std::to_string(n.term()) + ": " + std::to_string(it->second) +
           " and " + std::to_string(id));
    if (!fresh) return;
    // Leader completeness: it holds every entry committed so far.
    for (Index i = 1; i <= global_.size(); ++i)
      if (n.term_at(i) != global_[i - 1].term || n.entry(i).data != global_[i - 1].data)
        Fail("new leader " + std::to_string(id) + " lacks committed entry " + std::to_string(i));
  }

  NodeId StableLeader() {
    NodeId l = 0;
    Term best = 0;
    for (auto& [id, r] : replicas_)
      if (r.node && r.node->role() == Role::kLeader && r.node->term() >= best) {
        l = id;
        best = r.node->term();
      }
    return l;
  }

  bool Converged() {
    if (global_.size() < final_index_ || global_[final_index_ - 1].data.rfind("final-", 0) != 0)
      return false;
    for (auto& [id, r] : replicas_)
      if (!r.node || r.node->applied() < final_index_) return false;
    return true;
  }

  void CheckAcknowledged() {
    std::set<std::string> seen;
    for (const Entry& e : global_)
      if (e.type == EntryType::kCommand && !seen.insert(e.data).second)
        Fail("'" + e.data + "' committed twice");
    for (auto& [v, index] : acked_)
      if (index > global_.size() || global_[index - 1].data != v)
        Fail("acknowledged '" + v + "' is not committed at " + std::to_string(index));
  }

  uint64_t seed_;
  std::mt19937_64 rng_;
  uint64_t now_ = 0;
  bool faults_ = false;
  uint64_t restarts_ = 0, proposals_ = 0;
  Index final_index_ = 0;
  std::vector<NodeId> ids_;
  std::map<NodeId, Replica> replicas_;
  std::multimap<uint64_t, Message> flights_;
  std::vector<Entry> global_;                                   // committed, in order
  std::map<Term, NodeId> leaders_;                              // every leader seen
  std::map<std::string, std::pair<NodeId, Term>> pending_;      // value -> proposer
  std::map<std::string, Index> acked_;                          // value -> index
};

uint64_t EnvOr(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : dflt;
}

TEST_CASE("raft: thousands of seeded fault schedules keep every invariant") {
  const uint64_t only = EnvOr("RAFT_SIM_SEED", 0);
  const uint64_t seeds = EnvOr("RAFT_SIM_SEEDS", 2000);
  uint64_t first = only ? only : 1, last = only ? only : seeds;
  size_t committed = 0, acked = 0;
  for (uint64_t seed = first; seed <= last; ++seed) {
    const int n = seed % 4 == 0 ? 5 : 3;
    Sim sim(seed, n);
    try {
      sim.Run(4000, 6000);
    } catch (const Violation& v) {
      FAIL(v.what() << " (reproduce: RAFT_SIM_SEED=" << seed << ")");
    }
    committed += sim.committed();
    acked += sim.acknowledged();
  }
  // The schedules must not be so hostile that nothing happens.
  CHECK(committed > (last - first + 1) * 5);
  CHECK(acked > (last - first + 1) * 2);
  WARN("seeds " << first << ".." << last << ": " << committed << " entries committed, " << acked
                << " proposals acknowledged");
}

}  // namespace
}  // namespace amlfs::raft
