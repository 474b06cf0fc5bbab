// raft::Node, one safety rule at a time, with messages delivered by hand.
#include <catch2/catch.hpp>

#include <map>
#include <memory>

#include "server/mds/raft/node.h"
#include "tests/unit/server/mds/raft/raft_test_util.h"

namespace amlfs::raft {
namespace {

using namespace test;

TEST_CASE("raft: an entry of an earlier term is never committed by counting replicas (Figure 8)") {
  // Node 1 holds an entry of term 2 that never committed; it leads term 4.
  Node n(Cfg(1), HardState{3, 0}, Log({1, 2}), 1);
  Elect(n, {2});
  REQUIRE(n.term() == 4);
  REQUIRE(n.last_index() == 3);  // the new leader's no-op, of term 4
  Drive(n);
  // Node 2 now holds index 2 (term 2), not the no-op: a majority has entry
  // 2, but it is of an earlier term, so it stays uncommitted.
  n.Step(AppendRsp(2, n, 2));
  Drive(n);
  CHECK(n.commit() == 1);
  // Once the no-op of term 4 is on a majority, it and everything before it commit.
  n.Step(AppendRsp(2, n, 3));
  Drive(n);
  CHECK(n.commit() == 3);
}

TEST_CASE("raft: the leader counts its own log only once it is durable") {
  Node n(Cfg(1), HardState{}, {}, 0);
  Elect(n, {2});
  n.Step(AppendRsp(2, n, 1));
  Drive(n);
  REQUIRE(n.commit() == 1);
  auto idx = n.Propose("x");
  REQUIRE(idx.ok());
  // A reply from node 2 for the new entry arrives (say, a duplicate or a
  // driver that sends while it writes) before the leader's own write is
  // done: one durable copy out of three is no majority.
  n.Step(AppendRsp(2, n, *idx));
  CHECK(n.commit() == 1);
  Ready r = n.TakeReady();
  CHECK(r.committed.empty());
  REQUIRE(r.entries.size() == 1);
  n.Advance(r);  // now on the leader's disk too
  CHECK(n.commit() == *idx);
}

TEST_CASE("raft: a vote leaves only together with its durable record") {
  Node n(Cfg(2), HardState{1, 0}, Log({1}), 1);
  PastStartup(n);
  Message v;
  v.type = MsgType::kVote;
  v.from = 1;
  v.to = 2;
  v.term = 2;
  v.index = 1;
  v.log_term = 1;
  n.Step(v);
  Ready r = n.TakeReady();
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0].ok);
  // The grant is in the same Ready as the hard state that records it: the
  // driver writes the vote before the reply can leave.
  REQUIRE(r.hard_state);
  CHECK(*r.hard_state == HardState{2, 1});
  n.Advance(r);
  // Restarted from that record, it will not vote for another candidate in term 2.
  Node again(Cfg(2), *r.hard_state, Log({1}), 1);
  PastStartup(again);
  v.from = 3;
  again.Step(v);
  Ready r2 = again.TakeReady();
  REQUIRE(r2.messages.size() == 1);
  CHECK_FALSE(r2.messages[0].ok);
  // A candidate whose log is behind gets no vote either.
  Node behind(Cfg(2), HardState{1, 0}, Log({1, 1}), 0);
  PastStartup(behind);
  v.from = 1;
  behind.Step(v);
  CHECK_FALSE(behind.TakeReady().messages.at(0).ok);
}

TEST_CASE("raft: a follower cuts its log only at the first conflict, never a committed entry") {
  Node f(Cfg(2), HardState{1, 0}, Log({1, 1, 1, 1, 1}), 0);
  Message a;
  a.type = MsgType::kAppend;
  a.from = 1;
  a.to = 2;
  a.term = 1;
  a.index = 1;
  a.log_term = 1;
  a.entries = {Entry{1, 2, EntryType::kCommand, "e"}, Entry{1, 3, EntryType::kCommand, "e"}};
  a.commit = 3;
  // A late, shorter Append of entries it already has: the tail stays.
  f.Step(a);
  Drive(f);
  CHECK(f.last_index() == 5);
  CHECK(f.commit() == 3);
  // A leader of term 2 whose entry 4 differs: cut from 4, not before.
  a.term = 2;
  a.index = 3;
  a.log_term = 1;
  a.entries = {Entry{2, 4, EntryType::kCommand, "new"}};
  a.commit = 3;
  f.Step(a);
  Ready r = f.TakeReady();
  CHECK(r.truncate_from == 4);
  REQUIRE(r.entries.size() == 1);
  CHECK(r.entries[0].term == 2);
  f.Advance(r);
  CHECK(f.last_index() == 4);
  CHECK(f.term_at(3) == 1);
  // A message that would overwrite committed entry 3 is refused.
  a.term = 3;
  a.index = 2;
  a.log_term = 1;
  a.entries = {Entry{3, 3, EntryType::kCommand, "bad"}};
  f.Step(a);
  Drive(f);
  CHECK(f.term_at(3) == 1);
  CHECK(f.entry(3).data == "e");
  CHECK_FALSE(f.violation().empty());
}

TEST_CASE("raft: a leader cut off from the majority steps down and stops taking proposals") {
  Node n(Cfg(1), HardState{}, {}, 0);
  Elect(n, {2});
  Drive(n);
  REQUIRE(n.Propose("before").ok());
  // Nobody answers for an election timeout.
  for (int i = 0; i < 2 * 10 && n.role() == Role::kLeader; ++i) {
    n.Tick();
    Drive(n);
  }
  CHECK(n.role() != Role::kLeader);
  auto p = n.Propose("after");
  CHECK_FALSE(p.ok());
  CHECK(p.status().code() == Code::kUnavailable);
  // ...and it commits nothing it was given meanwhile.
  CHECK(n.commit() == 0);
}

TEST_CASE("raft: a returning replica's pre-vote does not disturb a working leader") {
  Node follower(Cfg(2), HardState{5, 1}, Log({5}), 1);
  Message hb;
  hb.type = MsgType::kAppend;
  hb.from = 1;
  hb.to = 2;
  hb.term = 5;
  hb.index = 1;
  hb.log_term = 5;
  hb.commit = 1;
  follower.Step(hb);
  Drive(follower);
  // Node 3 was cut off and ran its term up; it asks for a pre-vote.
  Message pv;
  pv.type = MsgType::kPreVote;
  pv.from = 3;
  pv.to = 2;
  pv.term = 9;
  pv.index = 1;
  pv.log_term = 5;
  follower.Step(pv);
  Ready r = follower.TakeReady();
  REQUIRE(r.messages.size() == 1);
  CHECK_FALSE(r.messages[0].ok);
  CHECK(follower.term() == 5);  // no term change, no lost leader
  CHECK(follower.leader() == 1);
  CHECK_FALSE(r.hard_state);
}

TEST_CASE("raft: a read is confirmed only after a majority answers a later heartbeat") {
  Node n(Cfg(1), HardState{}, {}, 0);
  Elect(n, {2});
  n.Step(AppendRsp(2, n, 1));
  Drive(n);
  REQUIRE(n.commit() == 1);
  n.ReadIndex(7);
  std::vector<Message> out;
  {
    Ready r = n.TakeReady();
    CHECK(r.reads.empty());
    out = r.messages;
    n.Advance(r);
  }
  REQUIRE_FALSE(out.empty());
  // An answer to an older round does not confirm it.
  Message old = AppendRsp(2, n, 1);
  old.round = out[0].round - 1;
  n.Step(old);
  CHECK(n.TakeReady().reads.empty());
  n.Advance({});
  Message cur = AppendRsp(2, n, 1);
  cur.round = out[0].round;
  n.Step(cur);
  Ready r = n.TakeReady();
  REQUIRE(r.reads.size() == 1);
  CHECK(r.reads[0].ctx == 7);
  CHECK(r.reads[0].ok);
  CHECK(r.reads[0].index == 1);
}

// A whole snapshot (index, term) from leader `from`, as a follower's driver
// steps it once the file is on its disk.
Message Snapshot(NodeId from, NodeId to, Term term, Index index, Term log_term) {
  Message m;
  m.type = MsgType::kSnapshot;
  m.from = from;
  m.to = to;
  m.term = term;
  m.index = index;
  m.log_term = log_term;
  m.done = true;
  return m;
}

TEST_CASE("raft: a follower that needs a compacted entry gets the snapshot instead") {
  Node n(Cfg(1), HardState{1, 0}, Log({1, 1, 1, 1, 1}), 5);
  Elect(n, {2});
  Drive(n);
  n.Step(AppendRsp(2, n, 6));  // the no-op commits
  Drive(n);
  REQUIRE(n.applied() == 6);
  n.Compact(6);
  CHECK(n.first_index() == 7);
  CHECK(n.snapshot() == (SnapshotPoint{6, 2, Ids({1, 2, 3})}));
  CHECK(n.term_at(6) == 2);
  CHECK(n.term_at(5) == 0);

  // Node 3 has nothing: it rejects, and the leader cannot back up to it.
  n.Step(AppendRsp(3, n, 0, false));
  REQUIRE(n.HasReady());
  Ready r = n.TakeReady();
  CHECK(r.send_snapshot == std::vector<NodeId>{3});
  for (const Message& m : r.messages) CHECK_FALSE((m.to == 3 && !m.entries.empty()));
  n.Advance(r);
  // Asked once, until the follower answers: another rejection asks nothing.
  n.Step(AppendRsp(3, n, 0, false));
  r = n.TakeReady();
  CHECK(r.send_snapshot.empty());
  n.Advance(r);
  // A transfer the driver gave up is asked for again.
  n.SnapshotFailed(3);
  n.Step(AppendRsp(3, n, 0, false));
  r = n.TakeReady();
  CHECK(r.send_snapshot == std::vector<NodeId>{3});
  n.Advance(r);
  // Heartbeats still reach it, from the snapshot point.
  n.Tick();
  r = n.TakeReady();
  bool heartbeat = false;
  for (const Message& m : r.messages)
    if (m.to == 3 && m.type == MsgType::kAppend) heartbeat = m.index == 6 && m.entries.empty();
  CHECK(heartbeat);
  n.Advance(r);

  // It installed the snapshot: replication resumes after it.
  Message done;
  done.type = MsgType::kSnapshotRsp;
  done.from = 3;
  done.to = 1;
  done.term = n.term();
  done.ok = true;
  done.done = true;
  done.match = 6;
  n.Step(done);
  r = n.TakeReady();
  bool resumed = false;
  for (const Message& m : r.messages)
    if (m.to == 3 && m.type == MsgType::kAppend) resumed = m.index == 6 && m.log_term == 2;
  CHECK(resumed);
  n.Advance(r);
}

TEST_CASE("raft: a snapshot at or below the commit index is ignored") {
  Node f(Cfg(2), HardState{2, 0}, Log({1, 1, 2, 2, 2}), 4);
  f.Step(Snapshot(1, 2, 2, 3, 2));
  Ready r = f.TakeReady();
  CHECK_FALSE(r.snapshot);
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0].type == MsgType::kSnapshotRsp);
  CHECK(r.messages[0].ok);
  CHECK(r.messages[0].match == 4);
  f.Advance(r);
  CHECK(f.first_index() == 1);
  CHECK(f.last_index() == 5);
  CHECK(f.applied() == 4);
}

TEST_CASE("raft: a follower keeps the log after a snapshot only if it holds its last entry") {
  Node f(Cfg(2), HardState{2, 0}, Log({1, 1, 2, 2, 2}), 2);

  SECTION("the entry matches: the suffix stays (Figure 13, rule 6)") {
    f.Step(Snapshot(1, 2, 2, 3, 2));
    Ready r = f.TakeReady();
    REQUIRE(r.snapshot);
    CHECK(*r.snapshot == (SnapshotPoint{3, 2, Ids({1, 2, 3})}));
    CHECK(r.truncate_from == 0);  // the disk holds the same entries after it
    CHECK(r.entries.empty());
    CHECK(r.committed.empty());  // the snapshot stands for entries 1..3
    REQUIRE(r.messages.size() == 1);
    CHECK(r.messages[0].match == 3);
    f.Advance(r);
    CHECK(f.first_index() == 4);
    CHECK(f.last_index() == 5);
    CHECK(f.commit() == 3);
    CHECK(f.applied() == 3);
  }
  SECTION("another history: the whole log goes (rule 7)") {
    f.Step(Snapshot(1, 2, 3, 4, 3));
    Ready r = f.TakeReady();
    REQUIRE(r.snapshot);
    CHECK(*r.snapshot == (SnapshotPoint{4, 3, Ids({1, 2, 3})}));
    CHECK(r.truncate_from == 5);  // what the disk holds after the snapshot goes
    f.Advance(r);
    CHECK(f.first_index() == 5);
    CHECK(f.last_index() == 4);
    CHECK(f.term_at(4) == 3);
    CHECK(f.applied() == 4);
    CHECK(f.term() == 3);
  }
  SECTION("beyond the log: it is replaced") {
    f.Step(Snapshot(1, 2, 2, 9, 2));
    Ready r = f.TakeReady();
    REQUIRE(r.snapshot);
    f.Advance(r);
    CHECK(f.last_index() == 9);
    CHECK(f.commit() == 9);
  }
}

TEST_CASE("raft: a replica restarts from a compacted log") {
  std::vector<Entry> tail;
  for (Index i = 11; i <= 12; ++i) tail.push_back(Entry{2, i, EntryType::kCommand, "e"});
  // The state machine may be behind the snapshot point only by mistake: it
  // counts as holding the snapshot.
  Node n(Cfg(1), HardState{2, 0}, SnapshotPoint{10, 2}, tail, 3);
  CHECK(n.first_index() == 11);
  CHECK(n.last_index() == 12);
  CHECK(n.applied() == 10);
  CHECK(n.term_at(10) == 2);
  CHECK(n.term_at(9) == 0);
  Drive(n);
  PastStartup(n);
  // Its log counts for votes: a candidate that has only the snapshot is
  // behind.
  Message v;
  v.type = MsgType::kVote;
  v.from = 2;
  v.to = 1;
  v.term = 3;
  v.index = 10;
  v.log_term = 2;
  n.Step(v);
  Ready r = n.TakeReady();
  REQUIRE(r.messages.size() == 1);
  CHECK_FALSE(r.messages[0].ok);
  n.Advance(r);
  Elect(n, {2});
  CHECK(n.last_index() == 13);  // its no-op
  Drive(n);
  n.Step(AppendRsp(2, n, 13));
  r = n.TakeReady();
  REQUIRE(r.committed.size() == 3);
  CHECK(r.committed.front().index == 11);
  n.Advance(r);
}

}  // namespace
}  // namespace amlfs::raft

namespace amlfs::raft {
namespace {

using namespace test;

TEST_CASE("raft: a leader's lease runs from the latest round a majority answered") {
  Node n(Cfg(1), HardState{}, {}, 0);
  Elect(n, {2});
  const uint64_t first = n.round();
  CHECK(n.QuorumRound() == 0);  // no follower has answered this term yet
  Message a = AppendRsp(2, n, 1);
  a.round = first;
  n.Step(a);
  Drive(n);
  CHECK(n.QuorumRound() == first);
  // Two heartbeats later, only node 3 (not a majority with node 2's old
  // answer) answers the newest round: the lease still rests on `first`...
  n.Tick();
  n.Tick();
  Drive(n);
  REQUIRE(n.round() > first);
  Message b = AppendRsp(3, n, 1);
  b.round = first - 1;  // an answer to an older round changes nothing
  n.Step(b);
  CHECK(n.QuorumRound() == first);
  b.round = n.round();
  n.Step(b);
  // ...until a majority answers a later one.
  CHECK(n.QuorumRound() == n.round());
  // A follower has no lease.
  Node f(Cfg(2), HardState{}, {}, 0);
  CHECK(f.QuorumRound() == 0);
}

TEST_CASE("raft: a restarted replica holds back its vote for an election timeout") {
  // It may have answered a leader just before it crashed: that leader's
  // lease counts on this vote not being given for an election timeout.
  Node n(Cfg(2), HardState{1, 0}, Log({1}), 1);
  Message v;
  v.type = MsgType::kVote;
  v.from = 3;
  v.to = 2;
  v.term = 2;
  v.index = 1;
  v.log_term = 1;
  n.Step(v);
  CHECK(n.TakeReady().messages.empty());
  CHECK(n.term() == 1);
  Node later(Cfg(2), HardState{1, 0}, Log({1}), 1);
  PastStartup(later);
  later.Step(v);
  auto msgs = later.TakeReady().messages;
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].ok);
}

}  // namespace
}  // namespace amlfs::raft
