// What the raft::Node tests share: configurations, logs, and a driver that
// carries out Ready after Ready with a perfect disk.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "server/mds/raft/node.h"

namespace amlfs::raft::test {

inline Config Cfg(NodeId id, int n = 3) {
  Config c;
  c.id = id;
  for (int i = 1; i <= n; ++i) c.voters.push_back(static_cast<NodeId>(i));
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  c.seed = 42;
  return c;
}

inline Members Ids(std::initializer_list<NodeId> ids) {
  Members m;
  for (NodeId id : ids) m[id] = "";
  return m;
}

inline std::vector<Entry> Log(std::initializer_list<Term> terms) {
  std::vector<Entry> log;
  for (Term t : terms) log.push_back(Entry{t, log.size() + 1, EntryType::kCommand, "e"});
  return log;
}

// Carries out one Ready as a driver would (the disk is perfect here) and
// returns its messages.
inline std::vector<Message> Drive(Node& n) {
  std::vector<Message> out;
  while (n.HasReady()) {
    Ready r = n.TakeReady();
    out.insert(out.end(), r.messages.begin(), r.messages.end());
    n.Advance(r);
  }
  return out;
}

// Ticks `n` until it leads, answering its (pre-)vote requests with grants
// from `voters`.
inline void Elect(Node& n, const std::vector<NodeId>& voters) {
  for (int i = 0; i < 100 && n.role() != Role::kLeader; ++i) {
    n.Tick();
    for (const Message& m : Drive(n)) {
      if (m.type != MsgType::kPreVote && m.type != MsgType::kVote) continue;
      if (std::find(voters.begin(), voters.end(), m.to) == voters.end()) continue;
      Message r;
      r.type = m.type == MsgType::kPreVote ? MsgType::kPreVoteRsp : MsgType::kVoteRsp;
      r.from = m.to;
      r.to = m.from;
      r.term = m.term;
      r.ok = true;
      n.Step(r);
    }
  }
  REQUIRE(n.role() == Role::kLeader);
}

// Ticks a just-started follower through its first election timeout, during
// which it holds back its vote (a leader lease may count on it), and drops
// what it sent meanwhile (its own pre-votes).
inline void PastStartup(Node& n) {
  for (int i = 0; i < 10; ++i) {
    n.Tick();
    Drive(n);
  }
}

inline Message AppendRsp(NodeId from, const Node& leader, Index match, bool ok = true) {
  Message r;
  r.type = MsgType::kAppendRsp;
  r.from = from;
  r.to = leader.id();
  r.term = leader.term();
  r.ok = ok;
  r.match = match;
  return r;
}

}  // namespace amlfs::raft::test
