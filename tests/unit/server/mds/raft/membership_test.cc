// raft::Node membership changes, one replica at a time (single-server
// changes), with messages delivered by hand.
#include <catch2/catch.hpp>

#include <map>
#include <memory>

#include "server/mds/raft/node.h"
#include "tests/unit/server/mds/raft/raft_test_util.h"

namespace amlfs::raft {
namespace {

using namespace test;

// Node 1 leads {1, 2, 3} in term 1 with its no-op (index 1) committed.
std::unique_ptr<Node> CommittedLeader() {
  auto n = std::make_unique<Node>(Cfg(1), HardState{}, std::vector<Entry>{}, 0);
  Elect(*n, {2});
  Drive(*n);
  n->Step(AppendRsp(2, *n, 1));
  Drive(*n);
  REQUIRE(n->commit() == 1);
  return n;
}

Message Append(NodeId from, NodeId to, Term term, Index prev, Term prev_term,
               std::vector<Entry> entries, Index commit = 0) {
  Message m;
  m.type = MsgType::kAppend;
  m.from = from;
  m.to = to;
  m.term = term;
  m.index = prev;
  m.log_term = prev_term;
  m.entries = std::move(entries);
  m.commit = commit;
  return m;
}

TEST_CASE("raft: a membership change is one replica, alone, after the leader's no-op commits") {
  SECTION("not before an entry of the leader's term is committed") {
    Node n(Cfg(1), HardState{}, {}, 0);
    Elect(n, {2});
    auto r = n.ProposeMembers(Ids({1, 2, 3, 4}));
    CHECK(r.status().code() == Code::kBusy);
    CHECK(n.members() == Ids({1, 2, 3}));
  }
  SECTION("not on a follower") {
    Node n(Cfg(2), HardState{}, {}, 0);
    CHECK(n.ProposeMembers(Ids({1, 2, 3, 4})).status().code() == Code::kUnavailable);
  }
  SECTION("exactly one replica added or removed") {
    auto n = CommittedLeader();
    const Index last = n->last_index();
    CHECK(n->ProposeMembers(Ids({1, 2, 3})).status().code() == Code::kInvalid);
    CHECK(n->ProposeMembers(Ids({1, 2, 3, 4, 5})).status().code() == Code::kInvalid);
    CHECK(n->ProposeMembers(Ids({1, 2, 4})).status().code() == Code::kInvalid);
    CHECK(n->ProposeMembers(Ids({1})).status().code() == Code::kInvalid);
    Members moved = Ids({1, 2, 3});
    moved[3] = "elsewhere:1";
    CHECK(n->ProposeMembers(moved).status().code() == Code::kInvalid);
    CHECK(n->last_index() == last);  // nothing appended
    CHECK(n->members() == Ids({1, 2, 3}));
  }
  SECTION("one at a time: a second change waits for the first to commit") {
    auto n = CommittedLeader();
    auto idx = n->ProposeMembers(Ids({1, 2, 3, 4}));
    REQUIRE(idx.ok());
    // In use from the moment it is appended.
    CHECK(n->members() == Ids({1, 2, 3, 4}));
    CHECK(n->config_index() == *idx);
    CHECK(n->ProposeMembers(Ids({1, 2, 4})).status().code() == Code::kBusy);
    Drive(*n);
    // Four voters: the leader and one follower are no majority.
    n->Step(AppendRsp(2, *n, *idx));
    Drive(*n);
    CHECK(n->commit() < *idx);
    n->Step(AppendRsp(4, *n, *idx));
    Drive(*n);
    CHECK(n->commit() == *idx);
    // Then 3 goes: of {1, 2, 4}, the leader and one follower commit.
    auto idx2 = n->ProposeMembers(Ids({1, 2, 4}));
    REQUIRE(idx2.ok());
    Drive(*n);
    n->Step(AppendRsp(4, *n, *idx2));
    Drive(*n);
    CHECK(n->commit() == *idx2);
    CHECK(n->MembersAt(*idx) == Ids({1, 2, 3, 4}));
    CHECK(n->MembersAt(*idx2) == Ids({1, 2, 4}));
    CHECK(n->MembersAt(1) == Ids({1, 2, 3}));
  }
}

TEST_CASE("raft: a leader reaches a replica it adds, from the entry that adds it") {
  auto n = CommittedLeader();
  auto idx = n->ProposeMembers(Ids({1, 2, 3, 4}));
  REQUIRE(idx.ok());
  bool to_new = false;
  for (const Message& m : Drive(*n))
    if (m.type == MsgType::kAppend && m.to == 4) to_new = true;
  CHECK(to_new);
}

TEST_CASE("raft: a follower uses the latest configuration in its log, the one before once cut") {
  Node n(Cfg(2), HardState{}, {}, 0);
  const std::string four = EncodeMembers(Ids({1, 2, 3, 4}));
  n.Step(Append(1, 2, 1, 0, 0,
                {Entry{1, 1, EntryType::kNoop, {}}, Entry{1, 2, EntryType::kConfig, four}}, 1));
  Drive(n);
  CHECK(n.members() == Ids({1, 2, 3, 4}));  // uncommitted, in use
  CHECK(n.config_index() == 2);
  // A new leader of term 2 never had entry 2: it is cut, and with it the
  // configuration it held.
  n.Step(Append(3, 2, 2, 1, 1, {Entry{2, 2, EntryType::kNoop, {}}}, 1));
  Drive(n);
  CHECK(n.term_at(2) == 2);
  CHECK(n.members() == Ids({1, 2, 3}));
  CHECK(n.config_index() == 0);
}

TEST_CASE("raft: a leader that removes itself steps down once the removal commits") {
  auto n = CommittedLeader();
  auto idx = n->ProposeMembers(Ids({2, 3}));
  REQUIRE(idx.ok());
  Drive(*n);
  CHECK(n->role() == Role::kLeader);
  // Its own durable copy does not count: of {2, 3}, one is no majority.
  n->Step(AppendRsp(2, *n, *idx));
  Drive(*n);
  CHECK(n->commit() < *idx);
  CHECK(n->role() == Role::kLeader);
  n->Step(AppendRsp(3, *n, *idx));
  // The followers hear of the commit before it steps down.
  bool told = false;
  for (const Message& m : Drive(*n))
    if (m.type == MsgType::kAppend && m.commit >= *idx) told = true;
  CHECK(told);
  CHECK(n->commit() == *idx);
  CHECK(n->role() == Role::kFollower);
  // Outside the configuration, it never campaigns.
  for (int i = 0; i < 100; ++i) {
    n->Tick();
    for (const Message& m : Drive(*n)) CHECK(m.type != MsgType::kPreVote);
  }
}

TEST_CASE("raft: a new replica with an empty log does not campaign until it is a member") {
  Config c = Cfg(4);  // the command line's configuration: {1, 2, 3}
  Node n(c, HardState{}, {}, 0);
  for (int i = 0; i < 100; ++i) {
    n.Tick();
    CHECK(Drive(n).empty());
  }
  n.Step(Append(1, 4, 1, 0, 0,
                {Entry{1, 1, EntryType::kNoop, {}},
                 Entry{1, 2, EntryType::kConfig, EncodeMembers(Ids({1, 2, 3, 4}))}},
                2));
  auto out = Drive(n);
  REQUIRE(out.size() == 1);
  CHECK(out[0].ok);
  CHECK(out[0].match == 2);
  CHECK(n.members() == Ids({1, 2, 3, 4}));
}

TEST_CASE("raft: the snapshot point carries the configuration, also across a restart") {
  auto n = CommittedLeader();
  auto idx = n->ProposeMembers(Ids({1, 2}));
  REQUIRE(idx.ok());
  Drive(*n);
  n->Step(AppendRsp(2, *n, *idx));
  Drive(*n);
  REQUIRE(n->applied() == *idx);
  n->Compact(*idx);
  CHECK(n->snapshot().members == Ids({1, 2}));
  CHECK(n->members() == Ids({1, 2}));
  // Restarted from the compacted log, the command line's {1, 2, 3} does not count.
  Node r(Cfg(1), HardState{1, 1}, n->snapshot(), {}, *idx);
  CHECK(r.members() == Ids({1, 2}));
  // A snapshot received from a leader brings its configuration.
  Node f(Cfg(3), HardState{}, {}, 0);
  Message s;
  s.type = MsgType::kSnapshot;
  s.from = 1;
  s.to = 3;
  s.term = 1;
  s.index = 5;
  s.log_term = 1;
  s.done = true;
  s.config = EncodeMembers(Ids({1, 3}));
  f.Step(s);
  Ready rd = f.TakeReady();
  REQUIRE(rd.snapshot);
  CHECK(rd.snapshot->members == Ids({1, 3}));
  f.Advance(rd);
  CHECK(f.members() == Ids({1, 3}));
}

}  // namespace
}  // namespace amlfs::raft
