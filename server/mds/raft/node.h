// raft::Node: one replica's Raft state machine (the extended Raft paper,
// Figure 2), with pre-vote, a no-op entry per new leader, check-quorum,
// read-index and log compaction with snapshots (Figure 13). It does no I/O
// and has no clock: a driver (raft::Replica, or the deterministic
// simulation in tests/unit/server/mds/raft/sim_test.cc) feeds it ticks, messages and
// proposals, and carries out what it asks for.
//
// The driver's loop, one Ready at a time:
//   Ready r = node.TakeReady();
//   1. if r.snapshot: replace the state machine with the snapshot received
//      (its file is already on disk) and compact the log to the snapshot
//      point (LogStore::CompactTo(index, term));
//   2. make r.hard_state, r.truncate_from and r.entries durable (fsync),
//      in the order truncate, append, hard state;
//   3. only then send r.messages; start (or go on with) a snapshot
//      transfer to each of r.send_snapshot;
//   4. apply r.committed in order; serve r.reads once applied up to them;
//   5. node.Advance(r).
// Nothing in a Ready's messages leaves before its state is on disk, so a
// vote or an acknowledgement always stands for durable state. (A leader's
// Ready without a hard state may send first and write meanwhile: its
// appends claim nothing about its own disk.) The leader
// counts its own log towards a commit only up to what Advance reported
// durable, and entries are handed out for applying only once durable here.
//
// Snapshots. The node holds no entries up to its snapshot point
// (snapshot(): an index and its term). Between Readys the driver
// may snapshot the state machine at applied() and compact its log up to any
// index I <= applied(); it then calls Compact(I). A leader that must send a
// follower an entry at or below the snapshot point lists that follower in
// Ready::send_snapshot instead (once, until the follower answers or the
// driver calls SnapshotFailed); the driver sends its latest snapshot file
// in chunks (kSnapshot), and the follower's driver, once the whole file is
// on its disk, Step()s the node with one kSnapshot (done set, no data;
// chunks may be stepped without data and done unset: they only show a
// live leader, and are answered by the driver). A
// snapshot at or below the follower's commit index is ignored (answered
// with that index); a newer one is handed out in Ready::snapshot, the log
// kept after it if it holds the snapshot's last entry, else dropped, and
// commit and applied move to the snapshot's index.
//
// Membership (the Raft dissertation, 4.1-4.2: one server at a time). The
// configuration is the latest kConfig entry in the log, committed or not,
// else the snapshot point's, else Config::voters. Only its members count in
// elections, commits, reads and check-quorum; a replica outside it never
// campaigns, but follows whichever leader appends to it (a new replica, from
// the entry that adds it). The snapshot point carries the configuration at
// its index (SnapshotPoint::members; Message::config in kSnapshot), which
// the driver keeps with its compacted log.
//
// Thread safety: none; one owner calls everything. REQUIRES: between
// TakeReady() and Advance() no other call is made.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "server/mds/raft/types.h"

namespace amlfs::raft {

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };
const char* RoleName(Role r);

struct Config {
  NodeId id = 0;
  // The initial configuration, used only when neither the log nor the
  // snapshot point holds one: every replica, this one included, with its
  // address in `addresses` (where known).
  std::vector<NodeId> voters;
  std::map<NodeId, std::string> addresses;
  // A follower that hears no leader for a random number of ticks in
  // [election_ticks, 2 * election_ticks) starts an election; a leader that
  // hears from no majority for election_ticks steps down.
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  size_t max_append_entries = 256;  // per Append message
  uint64_t seed = 0;                // randomizes election timeouts
};

// A linearizable read the leader has confirmed: serve it once the state
// machine has applied `index`. !ok: leadership was lost; retry elsewhere.
struct ReadState {
  uint64_t ctx = 0;
  Index index = 0;
  bool ok = false;
};

// A snapshot point: the last entry a snapshot covers, and the
// configuration as of that entry (empty: none recorded, the initial one).
struct SnapshotPoint {
  Index index = 0;
  Term term = 0;
  Members members;
  bool operator==(const SnapshotPoint&) const = default;
};

struct Ready {
  std::optional<SnapshotPoint> snapshot;  // install first, if set (follower)
  std::optional<HardState> hard_state;    // persist if set
  Index truncate_from = 0;                // if nonzero: drop entries >= it, first
  std::vector<Entry> entries;             // then append these
  std::vector<Message> messages;          // send once the above is durable
  std::vector<Entry> committed;           // apply in order
  std::vector<ReadState> reads;
  std::vector<NodeId> send_snapshot;  // leader: followers to send the snapshot to
  bool empty() const {
    return !snapshot && !hard_state && truncate_from == 0 && entries.empty() && messages.empty() &&
           committed.empty() && reads.empty() && send_snapshot.empty();
  }
};

class Node {
 public:
  // Restarts from what the replica had on disk: its hard state and log, and
  // the index its state machine has applied (entries up to it count as
  // committed and are not handed out again).
  Node(Config cfg, HardState hs, std::vector<Entry> log, Index applied);
  // The same, from a compacted log: `log` starts at snap.index + 1, and the
  // state machine holds at least the snapshot (REQUIRES: applied >=
  // snap.index; a smaller one counts as snap.index).
  Node(Config cfg, HardState hs, SnapshotPoint snap, std::vector<Entry> log, Index applied);

  void Tick();
  void Step(const Message& m);
  // Appends a command to the log. Not the leader: kUnavailable, with the
  // leader's id (if known) in leader().
  Result<Index> Propose(std::string data);
  // Membership changes, one server at a time (Raft dissertation, 4.1). A
  // server uses the latest configuration in its log from the moment the
  // entry is appended, committed or not (falling back to the one before if
  // the entry is cut). Appends a kConfig entry holding `next`. Fails with
  // kUnavailable when not leading; kInvalid unless `next` adds or removes
  // exactly one voter to members() (an address change counts as invalid);
  // kBusy while a configuration entry is uncommitted or no entry of this
  // leader's term is committed yet. A leader that removes itself steps
  // down once the entry commits (its own copy does not count towards it).
  Result<Index> ProposeMembers(const Members& next);
  // Asks for a linearizable read; answered by a ReadState with this ctx.
  void ReadIndex(uint64_t ctx);

  bool HasReady() const;
  Ready TakeReady();
  void Advance(const Ready& r);

  // The driver compacted its log up to `index`: the entries up to it are
  // dropped from memory and (index, term_at(index)) becomes the snapshot
  // point. No-op at or below the current point. REQUIRES: index <=
  // applied() (a larger one is cut to applied()).
  void Compact(Index index);
  // The snapshot transfer to `to` was abandoned (no answer, a disk error):
  // the leader asks for another when `to` still needs one.
  void SnapshotFailed(NodeId to);

  NodeId id() const { return cfg_.id; }
  Role role() const { return role_; }
  Term term() const { return term_; }
  NodeId leader() const { return leader_; }
  Index commit() const { return commit_; }
  Index applied() const { return applied_; }
  Index durable() const { return durable_; }
  SnapshotPoint snapshot() const { return {snap_index_, snap_term_, snap_members_}; }
  // The configuration in use (the latest in the log), and the index of its
  // entry (at or below the snapshot point: the snapshot's).
  const Members& members() const { return members_; }
  Index config_index() const { return config_index_; }
  // The configuration as of entry i. REQUIRES: i >= snapshot().index.
  Members MembersAt(Index i) const;
  Index first_index() const { return snap_index_ + 1; }
  Index last_index() const { return snap_index_ + log_.size(); }
  // 0 outside [snapshot index, last_index()]; the snapshot point's term at it.
  Term term_at(Index i) const {
    if (i == snap_index_) return snap_term_;
    return i < snap_index_ || i > last_index() ? 0 : log_[i - snap_index_ - 1].term;
  }
  // REQUIRES: first_index() <= i <= last_index()
  const Entry& entry(Index i) const { return log_[i - snap_index_ - 1]; }
  // Leader leases. Heartbeat rounds are numbered (round()); QuorumRound() is
  // the latest round a majority, this leader included, has answered (0 when
  // not leading). A follower that answers a message of round r refuses to
  // vote for election_ticks of its ticks after receiving it, so no other
  // leader can be elected until that long after round r began: the driver
  // may serve reads locally until then (minus a margin for clock drift).
  uint64_t round() const { return round_; }
  uint64_t QuorumRound() const;
  // The first safety violation this node refused (e.g. a leader asking it
  // to cut a committed entry), or empty. A refusal is also logged.
  const std::string& violation() const { return violation_; }

 private:
  void BecomeFollower(Term term, NodeId leader);
  void StartPreVote();
  void StartElection();
  void BecomeLeader();
  void Send(Message m);
  void SendAppend(NodeId to, bool heartbeat);
  void BroadcastAppends(bool heartbeat);
  void OnVoteRequest(const Message& m, bool pre);
  void OnVoteResponse(const Message& m);
  void OnAppend(const Message& m);
  void OnAppendResponse(const Message& m);
  void OnSnapshot(const Message& m);
  void OnSnapshotResponse(const Message& m);
  void MaybeCommit();
  void ConfirmReads();
  void FailReads();
  void ResetElectionTimer();
  bool UpToDate(Index index, Term term) const;
  bool LeaderRecentlySeen() const;
  void Truncate(Index from);
  size_t Majority() const { return members_.size() / 2 + 1; }
  bool IsMember(NodeId id) const { return members_.count(id) != 0; }
  size_t CountMembers(const std::set<NodeId>& ids) const;
  // The configuration in force at entry i and the index of its entry: the
  // last configuration entry at or before i, else the snapshot's.
  std::pair<Members, Index> ConfigAt(Index i) const;
  // Recomputes members_ from the log and the snapshot point.
  void ReloadMembers();
  void StepDownIfRemoved();
  void Refuse(const std::string& what);

  Config cfg_;
  std::mt19937_64 rng_;
  Role role_ = Role::kFollower;
  Term term_ = 0;
  NodeId vote_ = 0;
  NodeId leader_ = 0;
  Index snap_index_ = 0;  // the snapshot point: no entries up to it
  Term snap_term_ = 0;
  Members snap_members_;                  // the configuration at the snapshot point
  Members members_;                       // the configuration in use
  Index config_index_ = 0;                // its entry (<= snap_index_: the snapshot's)
  std::vector<Entry> log_;                // log_[i - snap_index_ - 1] holds index i
  std::optional<SnapshotPoint> install_;  // received, not yet handed out
  Index commit_ = 0;
  Index applied_ = 0;   // handed out in Ready::committed
  Index durable_ = 0;   // on this replica's disk (Advance)
  Index unstable_ = 1;  // first entry not yet handed out for persisting
  Index truncate_from_ = 0;
  HardState persisted_;
  std::vector<Message> msgs_;
  bool ready_out_ = false;

  int ticks_since_start_ = 0;  // counts up to election_ticks
  int election_elapsed_ = 0;
  int election_timeout_ = 0;
  int heartbeat_elapsed_ = 0;
  std::set<NodeId> granted_, rejected_;  // (pre-)votes received

  // Leader state.
  std::map<NodeId, Index> next_, match_;
  std::set<NodeId> active_;                // heard from since the last quorum check
  bool broadcast_ = false;                 // new entries to send at TakeReady
  std::set<NodeId> snapshotting_;          // a snapshot is on its way to them
  std::vector<NodeId> snapshot_requests_;  // not yet handed out

  // Read-index: each heartbeat round is numbered; a read waits for a
  // majority to answer a round that started after it was asked.
  uint64_t round_ = 0;
  std::map<NodeId, uint64_t> acked_round_;
  struct PendingRead {
    uint64_t ctx;
    Index index;
    uint64_t round;
  };
  std::vector<PendingRead> pending_reads_;
  std::vector<uint64_t> early_reads_;  // asked before this term's no-op committed
  std::vector<ReadState> reads_;

  std::string violation_;
};

}  // namespace amlfs::raft
