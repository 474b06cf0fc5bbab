// The Raft module, unmodified, over a simulated network and disk in one
// process, driven by a seed: message loss, delay, reordering, duplication,
// partitions, crashes at any point (also between writing and syncing, which
// loses the unsynced writes) and restarts. Replicas snapshot their state
// machine and compact their logs at random points; a follower that needs a
// compacted entry gets the leader's snapshot (the transfer may be lost and
// is then asked for again), and a replica restarts from its snapshot and
// compacted log. After every step a checker verifies that no two leaders
// share a term, that a committed entry never changes (every replica's state
// machine applies the same sequence, a snapshot standing for the prefix it
// covers), that a new leader holds every committed entry, and, at the end,
// that every acknowledged proposal is committed exactly once and that the
// healed cluster makes progress. Leaders also change the membership now and
// then, one replica at a time, among a pool one larger than the initial
// configuration (the spare starts with an empty log and outside it).
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
  Sim(uint64_t seed, int n) : seed_(seed), rng_(seed), n_(static_cast<size_t>(n)) {
    for (int i = 1; i <= n; ++i) ids_.push_back(static_cast<NodeId>(i));
    pool_ = ids_;
    pool_.push_back(static_cast<NodeId>(n + 1));
    for (NodeId id : pool_) {
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
  size_t installed() const { return installs_; }
  size_t changes() const { return changes_; }

 private:
  // The state machine: what it applied, as a digest of the sequence.
  struct StateMachine {
    Index applied = 0;
    uint64_t digest = 0;
  };
  static uint64_t Mix(uint64_t h, const Entry& e) {
    h ^= std::hash<std::string>()(e.data) + 0x9e3779b97f4a7c15ull * (e.term + 31 * e.index) +
         (h << 6) + (h >> 2);
    return h;
  }
  // A snapshot file: the state machine as of `index` (of term `term`).
  struct SnapshotFile {
    Index index = 0;
    Term term = 0;
    StateMachine state;
    Members members;  // the configuration at index
  };
  struct Replica {
    std::unique_ptr<Node> node;
    StateMachine sm;  // in memory: restarts from the snapshot
    // On the simulated disk (synced): the hard state, the log after its
    // compacted point, the latest snapshot.
    HardState hs;
    Index start = 0;  // the log's compacted point
    Term start_term = 0;
    Members start_members;
    std::vector<Entry> log;  // log[k] holds index start + 1 + k
    std::optional<SnapshotFile> snap;
    int side = 0;       // partition side
    uint64_t life = 0;  // which run of the replica

    Index last() const { return start + log.size(); }
    Term term_at(Index i) const {
      if (i == start) return start_term;
      return i < start || i > last() ? 0 : log[i - start - 1].term;
    }
    // LogStore::CompactTo
    void CompactTo(Index i, Term t, const Members& m) {
      if (i <= start) return;
      start_members = m;
      if (i <= last() && term_at(i) == t)
        log.erase(log.begin(), log.begin() + static_cast<std::ptrdiff_t>(i - start));
      else
        log.clear();
      start = i;
      start_term = t;
    }
  };
  struct Transfer {  // a snapshot on its way: given up after a while
    uint64_t at;
    NodeId from, to;
    uint64_t life;
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
    r.life = restarts_;
    // The state machine is in memory here: it restarts from the snapshot
    // (or empty) and re-applies the log after it, as raft::Replica::Open.
    r.sm = StateMachine{};
    if (r.snap) {
      r.sm = r.snap->state;
      if (r.term_at(r.snap->index) != r.snap->term)
        r.CompactTo(r.snap->index, r.snap->term, r.snap->members);
    }
    if (r.start > r.sm.applied) Fail("node " + std::to_string(id) + " compacted past its snapshot");
    const SnapshotPoint point{r.start, r.start_term, r.start_members};
    r.node = std::make_unique<Node>(cfg, r.hs, point, r.log, r.sm.applied);
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
    while (!transfers_.empty() && transfers_.front().at <= now_) {
      Transfer t = transfers_.front();
      transfers_.erase(transfers_.begin());
      Replica& from = replicas_[t.from];
      if (from.node && from.life == t.life) from.node->SnapshotFailed(t.to);
    }
    if (faults_ && Chance(0.05)) ProposeSomewhere();
    if (faults_ && Chance(0.004)) ChangeMembers();
    for (auto& [id, r] : replicas_) {
      while (r.node && r.node->HasReady()) Process(id, r);
      if (r.node && Chance(0.01)) TakeSnapshot(r);
      if (r.node) Check(id, *r.node);
    }
  }

  // Between two Readys: snapshot the state machine, then compact the log
  // up to a random point behind it (raft::Replica::MaybeSnapshot).
  void TakeSnapshot(Replica& r) {
    Node& n = *r.node;
    const Index a = n.applied();
    if (a == 0 || (r.snap && r.snap->index >= a)) return;
    r.snap = SnapshotFile{a, n.term_at(a), r.sm, n.MembersAt(a)};
    const Index cut = a - std::min<Index>(a, Uniform(0, 6));
    if (cut < n.first_index()) return;
    r.CompactTo(cut, n.term_at(cut), n.MembersAt(cut));
    n.Compact(cut);
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
      if (m.type == MsgType::kSnapshot && m.term >= to.node->term() &&
          m.index > to.node->commit()) {
        // The whole file arrived: on disk before the node hears of it.
        auto it = sent_.find({m.index, m.log_term});
        if (it == sent_.end()) Fail("a snapshot no one saved");
        to.snap = it->second;
      }
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

  // A leader adds a replica of the pool or removes a member, keeping the
  // configuration within one of its initial size. Refusals (a change in
  // progress, no entry of its term committed yet) are expected.
  void ChangeMembers() {
    for (auto& [id, r] : replicas_) {
      if (!r.node || r.node->role() != Role::kLeader) continue;
      Members next = r.node->members();
      std::vector<NodeId> in, out;
      for (NodeId p : pool_) (next.count(p) ? in : out).push_back(p);
      const bool add = next.size() < n_ || (next.size() == n_ && !out.empty() && Chance(0.5));
      if (add && !out.empty())
        next[out[Uniform(0, out.size() - 1)]] = "";
      else if (!add && in.size() > 1)
        next.erase(in[Uniform(0, in.size() - 1)]);
      else
        continue;
      if (r.node->ProposeMembers(next).ok()) ++changes_;
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
    if (rd.snapshot) Install(id, r, *rd.snapshot);
    if (rd.truncate_from) {
      if (rd.truncate_from <= r.start) Fail("truncation of the compacted log");
      if (rd.truncate_from > r.last() + 1) Fail("truncation past the end of the log");
      r.log.resize(rd.truncate_from - 1 - r.start);
    }
    for (const Entry& e : rd.entries) {
      if (e.index != r.last() + 1) Fail("non-contiguous append on node " + std::to_string(id));
      r.log.push_back(e);
    }
    if (rd.hard_state) r.hs = *rd.hard_state;
    for (Message& m : rd.messages) {
      if (faults_ && Chance(0.02)) continue;  // lost
      const int copies = faults_ && Chance(0.01) ? 2 : 1;
      for (int c = 0; c < copies; ++c) flights_.emplace(now_ + Uniform(1, faults_ ? 25 : 5), m);
    }
    for (NodeId to : rd.send_snapshot) SendSnapshot(id, r, to);
    for (const Entry& e : rd.committed) Apply(id, r, *r.node, e);
    r.node->Advance(rd);
  }

  // The latest snapshot goes whole, as one message that may be lost or
  // late; the leader gives up on it after a while.
  void SendSnapshot(NodeId id, Replica& r, NodeId to) {
    if (!r.snap) Fail("node " + std::to_string(id) + " must send a snapshot and has none");
    sent_[{r.snap->index, r.snap->term}] = *r.snap;
    Message m;
    m.type = MsgType::kSnapshot;
    m.from = id;
    m.to = to;
    m.term = r.node->term();
    m.index = r.snap->index;
    m.log_term = r.snap->term;
    m.config = EncodeMembers(r.snap->members);
    m.done = true;
    if (!(faults_ && Chance(0.1))) flights_.emplace(now_ + Uniform(5, faults_ ? 60 : 10), m);
    transfers_.push_back(Transfer{now_ + 100, id, to, r.life});
  }

  void Install(NodeId id, Replica& r, const SnapshotPoint& p) {
    if (!r.snap || r.snap->index != p.index || r.snap->term != p.term)
      Fail("node " + std::to_string(id) + " installs a snapshot it does not have");
    if (p.index <= r.sm.applied)
      Fail("node " + std::to_string(id) + " installs snapshot " + std::to_string(p.index) +
           " over applied " + std::to_string(r.sm.applied));
    // The snapshot stands for the committed prefix it covers.
    if (p.index > global_.size() || digests_[p.index] != r.snap->state.digest ||
        global_[p.index - 1].term != p.term)
      Fail("node " + std::to_string(id) + " got a snapshot at " + std::to_string(p.index) +
           " that is not the committed prefix");
    if (p.members != r.snap->members)
      Fail("node " + std::to_string(id) + " installs snapshot " + std::to_string(p.index) +
           " with another configuration");
    r.sm = r.snap->state;
    r.CompactTo(p.index, p.term, p.members);
    ++installs_;
  }

  void Apply(NodeId id, Replica& r, const Node& n, const Entry& e) {
    if (e.index != r.sm.applied + 1)
      Fail("node " + std::to_string(id) + " applied " + std::to_string(e.index) + " after " +
           std::to_string(r.sm.applied));
    r.sm.applied = e.index;
    r.sm.digest = Mix(r.sm.digest, e);
    if (e.index <= global_.size()) {
      if (!(global_[e.index - 1] == e))
        Fail("node " + std::to_string(id) + " applied a different entry at " +
             std::to_string(e.index));
    } else if (e.index == global_.size() + 1) {
      global_.push_back(e);
      digests_.push_back(Mix(digests_.back(), e));
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
    // Leader completeness: it holds every entry committed so far (those up
    // to its snapshot point in its snapshot).
    const SnapshotPoint sp = n.snapshot();
    if (sp.index > global_.size() || (sp.index > 0 && global_[sp.index - 1].term != sp.term))
      Fail("new leader " + std::to_string(id) + " has a snapshot point not committed");
    for (Index i = n.first_index(); i <= global_.size(); ++i)
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
    // Every member of the configuration (replicas outside it hear nothing).
    const NodeId l = StableLeader();
    if (!l) return false;
    for (auto& [id, addr] : replicas_[l].node->members()) {
      const Replica& r = replicas_[id];
      if (!r.node || r.node->applied() < final_index_) return false;
    }
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
  size_t n_;                  // the initial configuration's size
  size_t changes_ = 0;        // membership changes proposed
  std::vector<NodeId> ids_;   // the initial configuration
  std::vector<NodeId> pool_;  // every replica: ids_ and a spare
  std::map<NodeId, Replica> replicas_;
  std::multimap<uint64_t, Message> flights_;
  std::vector<Entry> global_;         // committed, in order
  std::vector<uint64_t> digests_{0};  // digests_[i]: of global_'s first i entries
  std::map<std::pair<Index, Term>, SnapshotFile> sent_;  // snapshots sent, by point
  std::vector<Transfer> transfers_;                      // by time
  size_t installs_ = 0;
  std::map<Term, NodeId> leaders_;                          // every leader seen
  std::map<std::string, std::pair<NodeId, Term>> pending_;  // value -> proposer
  std::map<std::string, Index> acked_;                      // value -> index
};

uint64_t EnvOr(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : dflt;
}

TEST_CASE("raft: thousands of seeded fault schedules keep every invariant") {
  const uint64_t only = EnvOr("RAFT_SIM_SEED", 0);
  const uint64_t seeds = EnvOr("RAFT_SIM_SEEDS", 2000);
  uint64_t first = only ? only : 1, last = only ? only : seeds;
  size_t committed = 0, acked = 0, installed = 0, changes = 0;
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
    installed += sim.installed();
    changes += sim.changes();
  }
  // The schedules must not be so hostile that nothing happens.
  CHECK(committed > (last - first + 1) * 5);
  CHECK(acked > (last - first + 1) * 2);
  if (last - first >= 100) CHECK(installed > (last - first + 1) / 10);
  if (last - first >= 100) CHECK(changes > (last - first + 1) / 2);
  WARN("seeds " << first << ".." << last << ": " << committed << " entries committed, " << acked
                << " proposals acknowledged, " << installed << " snapshots installed, " << changes
                << " membership changes");
}

}  // namespace
}  // namespace amlfs::raft
